/*
 * db.c -- opening and closing a key-value pool, its numbered databases
 * (flush, swap, size), statistics, error details, and the maintenance
 * thread (active expiry, resize help).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kv_int.h"
#include "kv_batch.h"
#include "planted.h"

#define KV_DEFAULT_SIZE (64ull << 20)
#define KV_DEFAULT_DBS 16u
#define KV_INITIAL_LOG2 KV_STRIPE_BITS   /* one bucket per stripe */
/* What table_new takes for one database: table, buckets, stripes. */
#define KV_TABLE_BYTES (sizeof(struct kv_table) + sizeof(struct kv_buckets) + \
			(8ull << KV_INITIAL_LOG2) + \
			KV_STRIPES * sizeof(struct kv_stripe))
#define KV_LOG_SIZE 32768u               /* ring per lane: a record (a
					    batch) takes at most all of it */
#define KV_LOG_SIZE_BIG 131072u          /* ... four times more in pools of
					    256 MiB and up (64 lanes x 128
					    KiB = 8 MiB, 3% or less) */
#define KV_FEW_LANES_BELOW (16ull << 20)  /* pools under this get 4
					    lanes, not 16: an 8 MiB pool's
					    16 rings took 6% of it */
#define ROOT_WORD (POOL_STATE_OFF + offsetof(struct pool_state, root))

/* ---- error details ---- */

static _Thread_local struct {
	const pkv *db;
	char text[ERRMSG_MAX];
} kv_last;

/* kv_err -- remember the detail for this thread and db; return code. */
int kv_err(const pkv *db, int code, const char *fmt, ...)
{
	va_list ap;

	kv_last.db = db;
	va_start(ap, fmt);
	vsnprintf(kv_last.text, sizeof(kv_last.text), fmt, ap);
	va_end(ap);
	return code;
}

/* kv_damage -- count damage and keep the first description. */
void kv_damage(const pkv *cdb, const char *fmt, ...)
{
	pkv *db = (pkv *)cdb;   /* the damage record is the handle's own */
	va_list ap;

	if (atomic_fetch_add(&db->damage_events, 1) != 0)
		return;
	pthread_mutex_lock(&db->damage_mtx);
	va_start(ap, fmt);
	vsnprintf(db->damage, sizeof(db->damage), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&db->damage_mtx);
}

/* pkv_damage -- how much damage was found since open, and the first. */
int pkv_damage(pkv *db, char *buf, size_t len)
{
	uint64_t n = atomic_load(&db->damage_events);

	if (buf && len) {
		pthread_mutex_lock(&db->damage_mtx);
		snprintf(buf, len, "%s", n ? db->damage : "");
		pthread_mutex_unlock(&db->damage_mtx);
	}
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* pkv_errmsg -- the calling thread's last detail for db. */
const char *pkv_errmsg(const pkv *db)
{
	return kv_last.db == db ? kv_last.text : "";
}

/* ---- opening ---- */

/* pkv_options_init -- defaults. */
void pkv_options_init(struct pkv_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = KV_DEFAULT_SIZE;
	o->databases = KV_DEFAULT_DBS;
	o->backend = PKV_BACKEND_AUTO;
	/* Serve first: the collector finds what a crash left behind while
	 * requests are served (nothing reachable is ever handed out). */
	o->audit = PKV_AUDIT_BACKGROUND;
	o->expire_interval_ms = 100;
}

/* kv_root_create -- the root and one empty table per database. */
static int kv_root_create(pkv *db, unsigned ndbs)
{
	struct kvtx t;
	uint64_t roff;
	struct kv_root *r;
	int err;

	if ((err = kvtx_begin(db, &t)))
		return err;
	err = tx_alloc(t.tx, sizeof(*r) + 8ull * ndbs, KV_TYPE_ROOT, &roff);
	if (err)
		goto fail;
	r = kv_ptr(db, roff);
	memset(r, 0, sizeof(*r) + 8ull * ndbs);
	r->magic = KV_MAGIC;
	r->version = KV_LAYOUT_VERSION_STRINGS;
	r->ndbs = ndbs;
	if (getrandom(r->seed, sizeof(r->seed), 0) != sizeof(r->seed)) {
		r->seed[0] = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
		r->seed[1] = (uint64_t)clock() ^ (uint64_t)(uintptr_t)r;
	}
	for (unsigned i = 0; i < ndbs; i++)
		if ((err = table_new(&t, KV_INITIAL_LOG2, &r->table[i])))
			goto fail;
	if ((err = kvtx_set(&t, ROOT_WORD, roff)))
		goto fail;
	return kvtx_commit(&t);
fail:
	kvtx_abort(&t);
	return err;
}

/* kv_buckets_ok -- off is a bucket array as big as it says. */
static bool kv_buckets_ok(pkv *db, uint64_t off)
{
	uint64_t size;
	uint32_t type;
	const struct kv_buckets *b;

	if (!heap_block_valid(db->heap, off, &size, &type) ||
	    type != KV_TYPE_BUCKETS || size < sizeof(*b))
		return false;
	b = kv_ptr(db, off);
	return b->log2 >= KV_STRIPE_BITS && b->log2 < 40 &&
	       size >= sizeof(*b) + (8ull << b->log2) &&
	       !(b->flags & ~(uint64_t)KV_BUCKETS_BY_STRIPE);
}

/* kv_root_check -- the root a pool holds is ours and sane. */
static int kv_root_check(pkv *db, uint64_t roff)
{
	uint64_t size;
	uint32_t type;
	const struct kv_root *r;

	if (!heap_block_valid(db->heap, roff, &size, &type) ||
	    type != KV_TYPE_ROOT || size < sizeof(*r))
		return kv_err(NULL, PKV_ECORRUPT, "%s: the pool root is not a "
			      "key-value root (block type %u)",
			      db->pool->path ? db->pool->path : "pool",
			      (unsigned)type);
	r = kv_ptr(db, roff);
	if (r->magic != KV_MAGIC)
		return kv_err(NULL, PKV_ECORRUPT, "%s: bad key-value root magic",
			      db->pool->path ? db->pool->path : "pool");
	if (r->version < KV_LAYOUT_VERSION_STRINGS ||
	    r->version > KV_LAYOUT_VERSION)
		return kv_err(NULL, PKV_EVERSION, "%s: key-value layout %llu, "
			      "this library reads %u to %u",
			      db->pool->path ? db->pool->path : "pool",
			      (unsigned long long)r->version,
			      KV_LAYOUT_VERSION_STRINGS, KV_LAYOUT_VERSION);
	if (r->ndbs == 0 || r->ndbs > KV_MAX_DBS ||
	    size < sizeof(*r) + 8 * r->ndbs)
		return kv_err(NULL, PKV_ECORRUPT, "%s: %llu databases in the "
			      "root", db->pool->path ? db->pool->path : "pool",
			      (unsigned long long)r->ndbs);
	for (unsigned i = 0; i < r->ndbs; i++) {
		const struct kv_table *tab;
		const char *bad = NULL;
		if (!heap_block_valid(db->heap, r->table[i], NULL, &type) ||
		    type != KV_TYPE_TABLE)
			bad = "no table";
		else if (tab = kv_ptr(db, r->table[i]),
			 !kv_buckets_ok(db, tab->cur) ||
			 (tab->next && !kv_buckets_ok(db, tab->next)))
			bad = "a damaged bucket array";
		else if (!heap_block_valid(db->heap, tab->stripes, &size,
					   &type) ||
			 type != KV_TYPE_STRIPES ||
			 size < KV_STRIPES * sizeof(struct kv_stripe))
			bad = "damaged stripe counters";
		if (bad)
			return kv_err(NULL, PKV_ECORRUPT, "%s: database %u has "
				      "%s", db->pool->path ? db->pool->path :
				      "pool", i, bad);
	}
	return 0;
}

static void *kv_thread(void *arg);

/*
 * kv_attach -- the key-value engine over an open heap: create the root if
 * the pool has none, check it, set up the databases, run the recovery
 * audit and start the threads.  On failure the heap is left to the caller.
 */
int kv_attach(struct heap *h, const struct pkv_options *o, pkv **dbp)
{
	pkv *db = calloc(1, sizeof(*db));
	uint64_t roff;
	int err;

	if (!db)
		return kv_err(NULL, -ENOMEM, "out of memory");
	db->heap = h;
	db->pool = heap_pool(h);
	roff = db->pool->state->root;
	if (!roff) {
		unsigned n = o->databases ? o->databases : KV_DEFAULT_DBS;
		if (n > KV_MAX_DBS) {
			free(db);
			return kv_err(NULL, PKV_EINVAL, "%u databases: at most "
				      "%u", n, KV_MAX_DBS);
		}
		if ((err = kv_root_create(db, n))) {
			free(db);
			return kv_err(NULL, err, "cannot create the key-value "
				      "root: %s", pkv_strerror(err));
		}
		roff = db->pool->state->root;
	}
	if ((err = kv_root_check(db, roff))) {
		free(db);
		return err;
	}
	db->root = kv_ptr(db, roff);
	db->ndbs = (unsigned)db->root->ndbs;
	db->seed[0] = db->root->seed[0];
	db->seed[1] = db->root->seed[1];
	db->dbs = calloc(db->ndbs, sizeof(*db->dbs));
	if (!db->dbs) {
		free(db);
		return kv_err(NULL, -ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < db->ndbs; i++) {
		pthread_rwlockattr_t a;
		uint64_t keys;
		pthread_rwlockattr_init(&a);
		/* FLUSHDB must not starve behind a stream of writers. */
		pthread_rwlockattr_setkind_np(&a,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&db->dbs[i].lock, &a);
		pthread_rwlockattr_destroy(&a);
		for (unsigned s = 0; s < KV_STRIPES; s++)
			pthread_mutex_init(&db->dbs[i].stripe[s], NULL);
		pthread_mutex_init(&db->dbs[i].resize_mtx, NULL);
		table_count(db, NULL, kv_table_of(db, i), &keys, NULL);
		atomic_init(&db->dbs[i].count, (int64_t)keys);
	}
	pthread_mutex_init(&db->thread_mtx, NULL);
	pthread_cond_init(&db->thread_cond, NULL);
	pthread_mutex_init(&db->batch_mtx, NULL);
	pthread_mutex_init(&db->damage_mtx, NULL);
	table_register_types(heap_gc(h));
	heap_set_reserve(h, (uint64_t)db->ndbs * KV_TABLE_BYTES);
	err = gc_audit(heap_gc(h), (enum gc_audit_mode)o->audit);
	if (!err && !(o->flags & PKV_NOTHREADS))
		err = gc_start(heap_gc(h), o->gc_interval_ms);
	if (!err && !(o->flags & PKV_NOTHREADS))
		err = redo_syncer(heap_redo(h), true);
	if (!err && !(o->flags & PKV_NOTHREADS))
		err = persist_tracks_dirty(&db->pool->persist) ?
		      ckpt_start(h, KV_CKPT_PERIOD_DISK_MS, KV_CKPT_NICE_DISK,
				 &db->ckpt) :
		      ckpt_start(h, KV_CKPT_PERIOD_MS, 0, &db->ckpt);
	db->verify = (o->flags & PKV_VERIFY) != 0;
	heap_set_autogrow(h, (o->flags & PKV_AUTOGROW) != 0);
	db->expire_interval_ms = o->flags & PKV_NOTHREADS ? 0 :
				 o->expire_interval_ms;
	if (!err && db->expire_interval_ms) {
		err = -pthread_create(&db->thread, NULL, kv_thread, db);
		db->thread_running = err == 0;
	}
	if (err) {
		gc_stop(heap_gc(h));
		kv_detach(db);
		return kv_err(NULL, err, "cannot start: %s", pkv_strerror(err));
	}
	*dbp = db;
	return 0;
}

/* kv_detach -- stop the threads and free the engine (not the heap). */
void kv_detach(pkv *db)
{
	if (db->thread_running) {
		pthread_mutex_lock(&db->thread_mtx);
		db->thread_stop = true;
		pthread_cond_signal(&db->thread_cond);
		pthread_mutex_unlock(&db->thread_mtx);
		pthread_join(db->thread, NULL);
		db->thread_running = false;
	}
	gc_stop(heap_gc(db->heap));
	ckpt_stop(db->ckpt);          /* the others commit */
	db->ckpt = NULL;
	redo_syncer(heap_redo(db->heap), false);   /* last: it writes the
						      commits of them all */
	for (unsigned i = 0; i < db->ndbs; i++) {
		pthread_rwlock_destroy(&db->dbs[i].lock);
		for (unsigned s = 0; s < KV_STRIPES; s++)
			pthread_mutex_destroy(&db->dbs[i].stripe[s]);
		pthread_mutex_destroy(&db->dbs[i].resize_mtx);
	}
	pthread_mutex_destroy(&db->thread_mtx);
	pthread_cond_destroy(&db->thread_cond);
	pthread_mutex_destroy(&db->batch_mtx);
	pthread_mutex_destroy(&db->damage_mtx);
	free(db->dbs);
	free(db);
}

/*
 * kv_max_size -- the most a new pool of `size` bytes may grow to: what
 * the options ask, or by default its size.  Growth is asked for, not the
 * default: a pool on a disk made with room to grow once measured 25-35%
 * slower under redis-benchmark SET at pipeline 16; since the file backend
 * faults single pages (persist_map_pages) the two measure the same, and
 * the default may change once that holds over full runs.
 */
static uint64_t kv_max_size(uint64_t size, uint64_t asked)
{
	return asked > size ? asked : size;
}

/*
 * kv_disk_log_size -- each lane's log ring in a pool on a disk: a 32nd of
 * the pool (an 8th for the 4 lanes), 256 KiB to 64 MiB.  A disk
 * checkpoint writes back every page the records since the last one
 * dirtied, and random writes dirty about the same pages however many
 * there are: the longer the log between checkpoints, the more updates
 * each page write carries (a 1 GiB pool: 32 MiB, a checkpoint every
 * 16 MiB of records, about 60,000 small writes).
 */
#define KV_DISK_RING_MIN (256u << 10)

static uint32_t kv_disk_log_size(uint64_t pool_size)
{
	uint64_t r = (pool_size / 32) & ~(uint64_t)(CACHELINE - 1);

	if (r < KV_DISK_RING_MIN)
		r = KV_DISK_RING_MIN;
	if (r > (64u << 20))
		r = 64u << 20;
	return (uint32_t)r;
}

/*
 * kv_disk_nlanes -- lanes of a pool on a disk: 4, but in a pool under
 * 16 MiB only as many 256 KiB rings as a 16th of it holds (2 at 8 MiB),
 * so the logs do not take an eighth of a small pool: an 8 MiB pool of
 * values of 1-3000 bytes held 56% of its size in them with 4 rings, 60%
 * or more with 2 (test_small_pool under PKV_PERSIST=file).  Fewer lanes
 * only limit how many embedded threads commit at once, and the log room:
 * the commits made while a checkpoint writes back must fit in the half
 * of it left when the checkpoint is asked for (MSET at pipeline 16 in a
 * 2 GiB pool, ~130 MB of records a second and checkpoints of ~0.55 s,
 * filled two rings of 64 MiB during 11 of 16 checkpoints, not four).
 */
static unsigned kv_disk_nlanes(uint64_t pool_size)
{
	uint64_t n = pool_size / 16 / KV_DISK_RING_MIN;

	return n < 2 ? 2 : n > 4 ? 4 : (unsigned)n;
}

/*
 * kv_precheck -- check the key-value root of a heap that heap_open_begin
 * has recovered but not yet made durable, so a pool refused here can be
 * put back exactly as it was (heap_open_cancel).  Returns 0, or the error
 * the open gives.
 */
static int kv_precheck(struct heap *h)
{
	pkv tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.heap = h;
	tmp.pool = heap_pool(h);
	return tmp.pool->state->root ?
	       kv_root_check(&tmp, tmp.pool->state->root) : 0;
}

/* pkv_open -- open or create a pool file and attach the engine. */
int pkv_open(const char *path, const struct pkv_options *o, pkv **dbp)
{
	static const enum persist_backend backends[] = {
		[PKV_BACKEND_AUTO] = PERSIST_AUTO,
		[PKV_BACKEND_PMEM] = PERSIST_PMEM,
		[PKV_BACKEND_FILE] = PERSIST_FILE,
	};
	struct pkv_options defaults;
	struct pool_open_opts po = { PERSIST_AUTO };
	struct errmsg em;
	struct pool *pool;
	struct heap *h;
	struct stat sb;
	bool created = false;
	int err;

	if (!o) {
		pkv_options_init(&defaults);
		o = &defaults;
	}
	if (!path || !dbp || (unsigned)o->backend > PKV_BACKEND_FILE ||
	    (unsigned)o->audit > PKV_AUDIT_SKIP ||
	    o->flags & ~(PKV_CREATE | PKV_EXCL | PKV_NOTHREADS | PKV_VERIFY |
			 PKV_AUTOGROW))
		return kv_err(NULL, PKV_EINVAL, "bad argument to pkv_open");
	po.backend = backends[o->backend];
	err_clear(&em);
	if ((o->flags & PKV_CREATE) && stat(path, &sb) != 0 && errno == ENOENT) {
		uint64_t size = o->size ? o->size : KV_DEFAULT_SIZE;
		struct pool_params pp = {
			.nlanes = size >= (256ull << 20) ? 64 :
				  size >= KV_FEW_LANES_BELOW ? 16 : 4,
			.log_size = size >= (256ull << 20) ?
				    KV_LOG_SIZE_BIG : KV_LOG_SIZE,
			.disk_nlanes = kv_disk_nlanes(size),
			.disk_log_size = kv_disk_log_size(size),
			.max_size = kv_max_size(size, o->max_size),
		};
		err = pool_create(path, o->size ? o->size : KV_DEFAULT_SIZE,
				  &pp, &po, &pool, &em);
		created = err == 0;
	} else if ((o->flags & (PKV_CREATE | PKV_EXCL)) ==
		   (PKV_CREATE | PKV_EXCL)) {
		return kv_err(NULL, PKV_EEXIST, "%s: already exists", path);
	} else {
		err = pool_open(path, &po, &pool, &em);
	}
	if (err)
		return kv_err(NULL, err, "%s", em.text[0] ? em.text :
			      pkv_strerror(err));
	/*
	 * Whatever makes the open refuse the pool shows up before anything
	 * is made durable or marked: a refused pool is left exactly as it
	 * was (the replay undone).
	 */
	if ((err = heap_open_begin(pool, &h, &em))) {
		pool_release(pool);   /* unlock and unmap, marking nothing */
		if (created)
			unlink(path);
		return kv_err(NULL, err, "%s", em.text);
	}
	if ((err = kv_precheck(h))) {
		heap_open_cancel(h);
		pool_release(pool);
		if (created)
			unlink(path);
		return err;
	}
	if ((err = heap_open_finish(h, &em))) {
		pool_release(pool);
		if (created)
			unlink(path);
		return kv_err(NULL, err, "%s", em.text);
	}
	if ((err = kv_attach(h, o, dbp))) {
		char text[ERRMSG_MAX];
		snprintf(text, sizeof(text), "%s", pkv_errmsg(NULL));
		/* Not heap_close: that would declare a clean shutdown, and the
		 * audit this open could not finish would never run. */
		heap_abandon(h);
		if (created)
			unlink(path);  /* a pool we made and could not set up */
		return kv_err(NULL, err, "%s", text);
	}
	return 0;
}

/* pkv_grow -- see pkv.h. */
int pkv_grow(pkv *db, uint64_t size)
{
	const struct pool_hdr *h = db->pool->hdr;
	uint64_t chunks;
	struct errmsg em;
	int err;

	if (size <= db->pool->size)
		return 0;
	err_clear(&em);
	chunks = size > h->chunks_off ?
		(size - h->chunks_off + h->chunk_size - 1) / h->chunk_size : 0;
	if ((err = heap_grow(db->heap, chunks, &em)))
		return kv_err(db, err, "%s", em.text);
	return 0;
}

/* pkv_set_autogrow -- see pkv.h. */
void pkv_set_autogrow(pkv *db, int on)
{
	heap_set_autogrow(db->heap, on != 0);
}

/* pkv_close -- stop, then close the heap cleanly. */
void pkv_close(pkv *db)
{
	struct heap *h;

	if (!db)
		return;
	h = db->heap;
	kv_detach(db);
	heap_close(h);
}

/* pkv_databases -- the pool's database count. */
unsigned pkv_databases(const pkv *db)
{
	return db->ndbs;
}

/* ---- databases ---- */

/* pkv_dbsize -- keys and keys with an expiry. */
int pkv_dbsize(pkv *db, unsigned dbi, uint64_t *keys, uint64_t *expires)
{
	struct epoch_ticket tk;

	if (dbi >= db->ndbs)
		return kv_err(db, PKV_EINVAL, "database %u out of range", dbi);
	tk = epoch_enter(heap_epoch(db->heap));
	table_count(db, NULL, kv_table_of(db, dbi), keys, expires);
	epoch_exit(tk);
	return 0;
}

/* kv_tables_make -- databases [a, b] get new empty tables in t. */
static int kv_tables_make(struct kvtx *t, unsigned a, unsigned b)
{
	uint64_t toff;
	int err = 0;

	for (unsigned i = a; i <= b && !err; i++)
		if (!(err = table_new(t, KV_INITIAL_LOG2, &toff)))
			err = kvtx_set(t, pool_off(t->db->pool,
						   &t->db->root->table[i]),
				       toff);
	return err;
}

/*
 * kv_tables_new -- kv_tables_make; in a full pool, again with the chunks
 * the heap keeps for this (heap_set_reserve), so that a full pool can
 * still be emptied.  *collect is set when the pool was full (a write
 * found no room since the last flush, or this one took from the
 * reserve): the old tables are then collected once the flush is
 * committed (kv_commit), so the space is back for the next write
 * and for the reserve.  Otherwise the collector's thread takes them in
 * its time.  After an error nothing of it is left in t.
 */
static int kv_tables_new(struct kvtx *t, unsigned a, unsigned b,
			 bool *collect)
{
	struct kvtx_mark m;
	int err;

	kvtx_mark(t, &m);
	if ((err = kv_tables_make(t, a, b)) == PKV_EFULL) {
		kvtx_rollback(t, &m);
		heap_use_reserve(true);
		err = kv_tables_make(t, a, b);
		heap_use_reserve(false);
	}
	if (err)
		kvtx_rollback(t, &m);
	*collect = err == 0 && heap_take_was_full(t->db->heap);
	return err;
}

/* kv_flush_apart -- PLANTED(KV_DBWIDE_APART) only: the new tables of a
 * batch's flush committed at once, in a transaction of their own. */
static int kv_flush_apart(pkv *db, unsigned a, unsigned b, bool *collect)
{
	struct kvtx t;
	int err;

	if ((err = kvtx_begin(db, &t)))
		return err;
	if ((err = kv_tables_new(&t, a, b, collect))) {
		kvtx_abort(&t);
		return err;
	}
	return kvtx_commit(&t);
}

/* ---- whole databases in a batch ---- */

/* kv_batch_flush -- new tables for databases [a, z] in the batch's
 * transaction (kv_tables_new: from the heap's reserve if the pool is
 * full, and then the old tables are collected when the batch
 * commits). */
static int kv_batch_flush(pkv_batch *b, unsigned a, unsigned z)
{
	struct kv_save s;
	bool collect = false;
	int err;

	kv_save(b, &s);
	if (PLANTED(KV_DBWIDE_APART))  /* committed at once, on its own */
		err = kv_flush_apart(b->db, a, z, &collect);
	else
		err = kv_tables_new(&b->t, a, z, &collect);
	for (unsigned i = a; i <= z && !err; i++)
		err = kv_count_change(b, KV_COUNT_ZERO, i, i, 0);
	if (err) {
		kv_restore(b, &s);
		return err;
	}
	b->drops = true;              /* the old tables' blocks */
	b->reclaim |= collect;
	return 0;
}

/* kv_batch_swap -- databases a and c exchange tables in the batch's
 * transaction (their tables as the batch sees them: it may have flushed
 * or swapped them already). */
static int kv_batch_swap(pkv_batch *b, unsigned a, unsigned c)
{
	pkv *db = b->db;
	uint64_t ra = pool_off(db->pool, &db->root->table[a]);
	uint64_t rc = pool_off(db->pool, &db->root->table[c]);
	uint64_t ta = kvtx_get(&b->t, ra), tc = kvtx_get(&b->t, rc);
	struct kv_save s;
	int err;

	kv_save(b, &s);
	if ((err = kvtx_set(&b->t, ra, tc)) || (err = kvtx_set(&b->t, rc, ta)) ||
	    (err = kv_count_change(b, KV_COUNT_SWAP, a, c, 0)))
		kv_restore(b, &s);
	return err;
}

/*
 * kv_dbwide -- see kv_batch.h.  The batch holds every stripe of the
 * databases first: a single write that found a database's table before
 * the batch changed the root word must end before it does (and the
 * count it adds to must be the old table's), and none may start after
 * (it would write to a table the commit unlinks).  Lock-free readers
 * need nothing: they see the old root word or the committed one, and
 * the collector takes an unlinked table only when no reader can be in
 * it.  From here on the batch finds every table through its
 * transaction (b->retabled).
 */
int kv_dbwide(pkv_batch *b, const struct kv_op *op)
{
	pkv *db = b->db;
	unsigned a = op->dbi, z = (unsigned)op->index;
	int err = 0;

	if (op->dbi >= db->ndbs || op->index < 0 ||
	    op->index >= (int64_t)db->ndbs)
		return kv_err(db, PKV_EINVAL, "database %u out of range "
			      "(the pool has %u)", op->dbi >= db->ndbs ?
			      op->dbi : (unsigned)op->index, db->ndbs);
	if (!b->serial)               /* it holds many stripes */
		return kv_err(db, PKV_EINVAL, "a whole database in a "
			      "batch of one operation");
	if (op->op == KV_OP_SWAPDB) {
		if (a == z)
			return 0;
		err = kv_hold_db(b, a < z ? a : z);
		if (!err)
			err = kv_hold_db(b, a < z ? z : a);
	} else {
		if (a > z)
			return kv_err(db, PKV_EINVAL, "no databases to flush");
		for (unsigned i = a; i <= z && !err; i++)
			err = kv_hold_db(b, i);
	}
	if (err || (err = kv_tx(b)))
		return kv_err(db, err, "out of memory");
	b->retabled = true;
	err = op->op == KV_OP_SWAPDB ? kv_batch_swap(b, a, z)
				     : kv_batch_flush(b, a, z);
	if (err == PKV_EFULL)
		return kv_err(db, err, "pool is full: no room for the new "
			      "empty table");
	if (err)
		return kv_err(db, err, "%s failed: %s", op->op == KV_OP_SWAPDB ?
			      "swap" : "flush", pkv_strerror(err));
	return 0;
}

/*
 * pkv_flushdb, pkv_flushall, pkv_swapdb -- see pkv.h: a batch of one
 * operation (kv_apply), the same mechanism as inside a batch.  The batch
 * holds every stripe of the databases and their resize preparation, and
 * runs alone among batches, as these always did.
 */
int pkv_flushdb(pkv *db, unsigned dbi)
{
	struct kv_op op = { .op = KV_OP_FLUSH, .dbi = dbi, .index = dbi };
	return kv_apply(db, &op, 1, NULL);
}

int pkv_flushall(pkv *db)
{
	struct kv_op op = { .op = KV_OP_FLUSH, .dbi = 0,
			    .index = db->ndbs - 1 };
	return kv_apply(db, &op, 1, NULL);
}

int pkv_swapdb(pkv *db, unsigned a, unsigned b)
{
	struct kv_op op = { .op = KV_OP_SWAPDB, .dbi = a, .index = b };
	return kv_apply(db, &op, 1, NULL);
}

/* pkv_batch_flushdb -- see pkv.h. */
int pkv_batch_flushdb(pkv_batch *b, unsigned dbi)
{
	struct kv_op op = { .op = KV_OP_FLUSH, .dbi = dbi, .index = dbi };
	return kv_exec(b, &op);
}

/* pkv_batch_flushall -- see pkv.h. */
int pkv_batch_flushall(pkv_batch *b)
{
	struct kv_op op = { .op = KV_OP_FLUSH, .dbi = 0,
			    .index = b->db->ndbs - 1 };
	return kv_exec(b, &op);
}

/* pkv_batch_swapdb -- see pkv.h. */
int pkv_batch_swapdb(pkv_batch *b, unsigned a, unsigned c)
{
	struct kv_op op = { .op = KV_OP_SWAPDB, .dbi = a, .index = c };
	return kv_exec(b, &op);
}

/* pkv_scan -- one step of a scan, inside a read section. */
int pkv_scan(pkv *db, unsigned dbi, uint64_t cursor, unsigned count,
	     pkv_scan_fn fn, void *ctx, uint64_t *next)
{
	struct epoch_ticket tk;
	int r;

	if (dbi >= db->ndbs || !fn || !next)
		return kv_err(db, PKV_EINVAL, dbi >= db->ndbs ?
			      "database out of range" : "NULL argument");
	tk = epoch_enter(heap_epoch(db->heap));
	r = table_scan(db, NULL, NULL, dbi, cursor, count, fn, ctx, next);
	epoch_exit(tk);
	return r;
}

/* pkv_random_key -- copy out a random key. */
int pkv_random_key(pkv *db, unsigned dbi, void *buf, size_t bufsize,
		   size_t *klen)
{
	return kv_random_key(db, NULL, dbi, buf, bufsize, klen);
}

/* ---- statistics ---- */

/* pkv_open_info -- what the open found and chose. */
void pkv_open_info(const pkv *db, struct pkv_open_info *oi)
{
	memset(oi, 0, sizeof(*oi));
	oi->pool_size = db->pool->size;
	oi->pool_max_size = pool_max_size(db->pool);
	oi->clean_shutdown = db->pool->was_clean;
	oi->recovery_ns = heap_recovery_stats(db->heap)->nsec;
	oi->recovery_records = heap_recovery_stats(db->heap)->logs_replayed;
	oi->recovery_entries =
		heap_recovery_stats(db->heap)->entries_replayed;
	oi->backend = persist_backend_name(db->pool->persist.backend);
	oi->backend_why = db->pool->persist.why;
}

/* pkv_stats -- heap, engine, persistence and collector figures. */
int pkv_stats(pkv *db, struct pkv_stats *st)
{
	struct heap_stats hs;
	struct persist_stats ps;
	struct gc_stats gs;
	struct redo_stats rs;
	struct ckpt_stats cs;
	struct pkv_open_info oi;

	memset(st, 0, sizeof(*st));
	pkv_open_info(db, &oi);      /* what the open found, from one place */
	heap_get_stats(db->heap, &hs);
	persist_get_stats(&db->pool->persist, &ps);
	gc_get_stats(heap_gc(db->heap), &gs);
	st->pool_size = oi.pool_size;
	st->pool_max_size = oi.pool_max_size;
	st->heap_free_bytes = hs.free_bytes;
	st->headroom_bytes = heap_headroom(&hs, oi.pool_size,
					   oi.pool_max_size);
	st->active_bytes = hs.active_bytes;
	st->frag_ratio = hs.frag_ratio;
	st->heap_bytes = hs.heap_bytes;
	st->allocated_bytes = hs.allocated_bytes;
	st->utilization = hs.utilization;
	for (unsigned i = 0; i < db->ndbs; i++) {
		uint64_t k, x;
		pkv_dbsize(db, i, &k, &x);
		st->keys += k;
		st->expires += x;
	}
	st->payload_bytes = atomic_load(&db->payload_bytes);
	st->flushed_bytes = ps.lines_flushed * CACHELINE;
	st->fences = ps.fences;
	st->write_amplification = st->payload_bytes ?
		(double)st->flushed_bytes / (double)st->payload_bytes : 0;
	st->recovery_ns = oi.recovery_ns;
	st->recovery_records = oi.recovery_records;
	st->recovery_entries = oi.recovery_entries;
	st->clean_shutdown = oi.clean_shutdown;
	st->expired_keys = atomic_load(&db->expired_keys);
	st->gc_runs = gs.runs;
	st->gc_last_mark_ns = gs.last_mark_ns;
	st->gc_last_sweep_ns = gs.last_sweep_ns;
	st->gc_live_blocks = gs.live_blocks;
	st->gc_live_bytes = gs.live_bytes;
	st->gc_reclaimed_blocks = gs.total_reclaimed_blocks;
	st->gc_reclaimed_bytes = gs.total_reclaimed_bytes;
	st->gc_reclaim_rate = gs.reclaim_rate;
	st->gc_max_pause_ns = gs.max_pause_ns;
	st->damage_events = atomic_load(&db->damage_events);
	redo_get_stats(heap_redo(db->heap), &rs);
	ckpt_get_stats(db->ckpt, &cs);
	st->backend = oi.backend;
	st->backend_why = oi.backend_why;
	st->commits = rs.commits;
	st->log_bytes = rs.record_bytes;
	st->syncs = ps.syncs;
	st->checkpoints = rs.checkpoints;
	st->checkpoint_ns = rs.checkpoint_ns;
	st->background_checkpoints = cs.runs;
	st->ring_waits = rs.ring_waits;
	st->ring_shares = rs.ring_shares;
	return 0;
}

/* pkv_gc -- collect now. */
int pkv_gc(pkv *db)
{
	int err = gc_run(heap_gc(db->heap));

	if (err == -EDEADLK)   /* it would wait for this thread itself */
		return kv_err(db, PKV_EBUSY, "cannot collect: this thread has "
			      "a batch open or is inside a read (end it "
			      "first)");
	return err ? kv_err(db, err, "collection failed: %s",
			    pkv_strerror(err)) : 0;
}

/* ---- maintenance ---- */

/* kv_thread -- every interval: expire, help resizes. */
static void *kv_thread(void *arg)
{
	pkv *db = arg;
	struct redo *redo = heap_redo(db->heap);
	/* On a disk every commit of the resize help is a sync, which the
	 * writers' commits queue behind, while each write already moves
	 * buckets in its own transaction: help only when writes pause. */
	bool help_idle_only = persist_tracks_dirty(&db->pool->persist);
	uint64_t commits = 0;

	prctl(PR_SET_NAME, "pkv-kv");       /* in top -H, perf, gdb */
	pthread_mutex_lock(&db->thread_mtx);
	while (!db->thread_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(db->expire_interval_ms % 1000) * 1000000L;
		ts.tv_sec += db->expire_interval_ms / 1000 +
			     ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&db->thread_cond, &db->thread_mtx, &ts);
		if (db->thread_stop)
			break;
		pthread_mutex_unlock(&db->thread_mtx);
		struct redo_stats rs;
		redo_get_stats(redo, &rs);
		bool idle = rs.commits == commits;
		for (unsigned i = 0; i < db->ndbs; i++) {
			/* a quarter of the period, shared by the databases */
			kv_expire_cycle(db, i, db->expire_interval_ms *
					250000ull / db->ndbs);
			kv_help_resize(db, i, idle || !help_idle_only);
		}
		redo_get_stats(redo, &rs);
		commits = rs.commits;
		pthread_mutex_lock(&db->thread_mtx);
	}
	pthread_mutex_unlock(&db->thread_mtx);
	return NULL;
}
