/*
 * kv.c -- the key-value calls: the write path shared by single writes and
 * batches, the reads of a batch (which see its own writes), the lock-free
 * reads, and active expiry.  The batch and the steps of an operation are
 * shared with kv_hash.c (hashes, rename, copy) through kv_batch.h.
 *
 * Every write is a batch, of one operation or many.  An operation runs at
 * once, inside the batch's open transaction (kvtx: a heap transaction that
 * remembers the words it will set, so later steps read them):
 *   1. lock its (database, stripe), unless the batch holds it already;
 *   2. look its key up once, through the transaction: a key the batch
 *      already wrote is found as the batch left it;
 *   3. decide (NX, XX, KEEPTTL, a missing or expired key) and write: a
 *      new entry replacing or inserted, an unlink, or an expiry word.
 * A write that fails (the pool is full) is taken back to where it began
 * (a savepoint), so the batch stays whole; the failure is remembered and
 * fails the batch at commit, unless the caller rolls back past it with a
 * savepoint of its own.  Commit makes every operation durable in one
 * transaction; then the resize work due on the held stripes is done, the
 * locks are released, and a resize is started or finished if it is due.
 *
 * Locking.  A batch holds every stripe it touched until it ends, so its
 * reads and decisions stay true.  Batches lock stripes in any order, so
 * they run one at a time per pool (batch_mtx); a single write holds one
 * stripe and waits for nothing while it does, so it never deadlocks with
 * them.  Reads of a batch that walk many keys (scan, random key, sizes)
 * lock nothing: they read the tables as lock-free readers do, through the
 * batch's own pending words.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv_int.h"
#include "kv_batch.h"
#include "planted.h"
#include "proto/num.h"

#define KV_BUCKETS_PER_WRITE 8  /* resize work a write does on its stripe,
				   in its own transaction: the table doubles
				   when full, so one bucket per new key
				   would just keep up; eight are a cache
				   line of heads in an array by stripe
				   (layout.h), so the resize ends sooner
				   and writes fewer lines (1M puts of 100
				   bytes: 778 flushed bytes a put with two
				   buckets and the old layout, 701) */
#define KV_HOLD_SCAN 8          /* holds searched linearly; more: a map */

/* pkv_now_ms -- Unix time in milliseconds. */
int64_t pkv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* kv_op_flags -- the flags an operation takes. */
static unsigned kv_op_flags(enum kv_opcode op)
{
	switch (op) {
	case KV_OP_PUT:
		return PKV_NX | PKV_XX | PKV_KEEPTTL;
	case KV_OP_HSET:
		return PKV_NX;
	case KV_OP_LPUSH:
		return PKV_XX | PKV_TAIL;
	case KV_OP_LPOP:
		return PKV_TAIL;
	case KV_OP_LINSERT:
		return PKV_AFTER;
	case KV_OP_ZADD:
		return PKV_NX | PKV_XX | PKV_GT | PKV_LT | PKV_ZINCR;
	default:
		return 0;
	}
}

/* kv_check_op -- validate one operation's arguments. */
static int kv_check_op(const pkv *db, const struct kv_op *op)
{
	if (op->dbi >= db->ndbs)
		return kv_err(db, PKV_EINVAL, "database %u out of range "
			      "(the pool has %u)", op->dbi, db->ndbs);
	if (!op->key && op->klen)
		return kv_err(db, PKV_EINVAL, "NULL key");
	if (op->klen > UINT32_MAX || op->vlen > UINT32_MAX ||
	    (!op->val && op->vlen))
		return kv_err(db, PKV_EINVAL, "key or value too long "
			      "(at most 4 GiB - 1) or NULL value");
	if (op->flags & ~kv_op_flags(op->op) ||
	    (op->flags & PKV_NX && op->flags & PKV_XX))
		return kv_err(db, PKV_EINVAL, "bad flags 0x%x", op->flags);
	if (op->flen > UINT32_MAX || (!op->field && op->flen))
		return kv_err(db, PKV_EINVAL, "field too long (at most 4 GiB "
			      "- 1) or NULL");
	if (op->expire_ms < 0)
		return kv_err(db, PKV_EINVAL, "negative expiry time");
	return 0;
}

/* ---- holding stripes ---- */

/* kv_held -- whether the batch holds (dbi, stripe). */
static bool kv_held(const pkv_batch *b, unsigned dbi, unsigned stripe)
{
	if (b->heldmap) {
		uint64_t bit = (uint64_t)dbi * KV_STRIPES + stripe;
		return b->heldmap[bit / 64] >> (bit % 64) & 1;
	}
	for (size_t i = 0; i < b->nholds; i++)
		if (b->holds[i].dbi == dbi && b->holds[i].stripe == stripe)
			return true;
	return false;
}

/* kv_hold -- lock (dbi, stripe) for the rest of the batch.  Returns 0 or
 * -ENOMEM (nothing locked). */
static int kv_hold(pkv_batch *b, unsigned dbi, unsigned stripe)
{
	pkv *db = b->db;

	if (kv_held(b, dbi, stripe))
		return 0;
	if (b->nholds == b->holdcap) {
		size_t cap = b->holdcap ? 2 * b->holdcap : 8;
		struct kv_hold *h = realloc(b->holds, cap * sizeof(*h));
		if (!h)
			return kv_err(db, -ENOMEM, "out of memory");
		b->holds = h;
		b->holdcap = cap;
	}
	if (b->nholds == KV_HOLD_SCAN && !b->heldmap) {
		b->heldmap = calloc((size_t)db->ndbs * KV_STRIPES / 64,
				    sizeof(uint64_t));
		if (!b->heldmap)
			return kv_err(db, -ENOMEM, "out of memory");
		for (size_t i = 0; i < b->nholds; i++) {
			uint64_t bit = (uint64_t)b->holds[i].dbi * KV_STRIPES +
				       b->holds[i].stripe;
			b->heldmap[bit / 64] |= 1ull << (bit % 64);
		}
	}
	if (!(b->dbheld[dbi] & KV_HELD_SHARED)) {
		pthread_rwlock_rdlock(&db->dbs[dbi].lock);
		b->dbheld[dbi] |= KV_HELD_SHARED;
	}
	pthread_mutex_lock(&db->dbs[dbi].stripe[stripe]);
	b->holds[b->nholds].dbi = dbi;
	b->holds[b->nholds].stripe = stripe;
	b->nholds++;
	if (b->heldmap) {
		uint64_t bit = (uint64_t)dbi * KV_STRIPES + stripe;
		b->heldmap[bit / 64] |= 1ull << (bit % 64);
	}
	return 0;
}

/* kv_hold_db -- see kv_batch.h. */
int kv_hold_db(pkv_batch *b, unsigned dbi)
{
	int err = 0;

	for (unsigned s = 0; s < KV_STRIPES && !err; s++)
		err = kv_hold(b, dbi, s);
	/* A preparer reads the table under the lock shared, holding no
	 * stripe, and writes to it: it must not be at a table the batch
	 * unlinks (the collector could take the table under it).  It holds
	 * the lock shared and waits for nothing the batch holds. */
	if (!err && !(b->dbheld[dbi] & KV_HELD_RESIZE)) {
		pthread_mutex_lock(&b->db->dbs[dbi].resize_mtx);
		b->dbheld[dbi] |= KV_HELD_RESIZE;
	}
	return err;
}

/* kv_release -- unlock everything the batch holds, newest first. */
static void kv_release(pkv_batch *b)
{
	pkv *db = b->db;

	for (size_t i = b->nholds; i-- > 0;)
		pthread_mutex_unlock(&db->dbs[b->holds[i].dbi]
				     .stripe[b->holds[i].stripe]);
	for (unsigned d = 0; d < db->ndbs; d++) {
		if (b->dbheld[d] & KV_HELD_RESIZE)
			pthread_mutex_unlock(&db->dbs[d].resize_mtx);
		if (b->dbheld[d] & KV_HELD_SHARED)
			pthread_rwlock_unlock(&db->dbs[d].lock);
		b->dbheld[d] = 0;
	}
	b->nholds = 0;
}

/* ---- the batch object ---- */

/*
 * A thread keeps its last finished batch, arrays and write set included,
 * for its next one (kv_spare): a single put allocated and freed about ten
 * small arrays, 6% of its time.  Only the memory is kept: nothing of a
 * batch's database or locks outlives kv_batch_free, so the spare serves
 * any database with no more than dbcap numbered databases.  The
 * thread's exit frees it.
 */
#define KV_SPARE_MAX_CAP 1024u  /* results, holds or deltas kept at most */

static pthread_key_t kv_spare_key;
static pthread_once_t kv_spare_once = PTHREAD_ONCE_INIT;
static bool kv_spare_ok;

/* kv_batch_destroy -- free a finished batch and everything it kept. */
static void kv_batch_destroy(void *p)
{
	pkv_batch *b = p;

	kvtx_release(&b->t);
	free(b->holds);
	free(b->dbheld);
	free(b->results);
	free(b->deltas);
	free(b);
}

static void kv_spare_init(void)
{
	kv_spare_ok = pthread_key_create(&kv_spare_key, kv_batch_destroy) == 0;
}

/* kv_spare_fini -- the library is unloaded (dlclose): no thread's exit
 * may call kv_batch_destroy after this (its spare is left). */
__attribute__((destructor)) static void kv_spare_fini(void)
{
	if (kv_spare_ok) {
		kv_spare_ok = false;
		pthread_key_delete(kv_spare_key);
	}
}

/* kv_spare_take -- this thread's spare batch, emptied, if it has one
 * with room for db's databases. */
static pkv_batch *kv_spare_take(const pkv *db)
{
	pkv_batch *b;

	pthread_once(&kv_spare_once, kv_spare_init);
	if (!kv_spare_ok || !(b = pthread_getspecific(kv_spare_key)))
		return NULL;
	pthread_setspecific(kv_spare_key, NULL);
	if (b->dbcap < db->ndbs) {
		kv_batch_destroy(b);
		return NULL;
	}
	/* Zero but the kept memory (kv_batch_free left dbheld all 0). */
	b->open = b->serial = false;
	b->err = 0;
	b->err_at = 0;
	b->nholds = b->nres = b->ndeltas = 0;
	b->payload = 0;
	b->drops = b->retabled = b->reclaim = false;
	return b;
}

/* kv_batch_new -- an empty batch; `serial` for one that may hold more
 * than one stripe (it then runs alone among such batches). */
int kv_batch_new(pkv *db, bool serial, pkv_batch **bp)
{
	pkv_batch *b = kv_spare_take(db);

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b || !(b->dbheld = calloc(db->ndbs,
					      sizeof(*b->dbheld)))) {
			free(b);
			return kv_err(db, -ENOMEM, "out of memory");
		}
		b->dbcap = db->ndbs;
		kvtx_keep(&b->t);     /* its write set outlives each tx */
	}
	b->db = db;
	b->t.db = db;
	if (serial) {
		pthread_mutex_lock(&db->batch_mtx);
		b->serial = true;
	}
	*bp = b;
	return 0;
}

/* kv_batch_free -- end the batch: locks, memory (kept for the thread's
 * next batch while it is small). */
void kv_batch_free(pkv_batch *b)
{
	if (b->open && b->t.tx)       /* never committed: nothing stays */
		kvtx_abort(&b->t);
	kv_release(b);
	if (b->serial)
		pthread_mutex_unlock(&b->db->batch_mtx);
	free(b->heldmap);
	b->heldmap = NULL;
	free(b->finish);
	b->finish = NULL;
	while (b->texts) {
		struct kv_texts *next = b->texts->next;
		free(b->texts);
		b->texts = next;
	}
	if (kv_spare_ok && b->rescap <= KV_SPARE_MAX_CAP &&
	    b->holdcap <= KV_SPARE_MAX_CAP &&
	    b->deltacap <= KV_SPARE_MAX_CAP &&
	    !pthread_getspecific(kv_spare_key) &&
	    pthread_setspecific(kv_spare_key, b) == 0)
		return;
	kv_batch_destroy(b);
}

/* kv_text -- see kv_batch.h. */
char *kv_text(pkv_batch *b)
{
	struct kv_texts *c = b->texts;

	if (!c || c->used == KV_TEXTS) {
		if (!(c = malloc(sizeof(*c))))
			return NULL;
		c->next = b->texts;
		c->used = 0;
		b->texts = c;
	}
	return c->text[c->used++];
}

/* kv_tx -- the batch's transaction, begun on first use. */
int kv_tx(pkv_batch *b)
{
	int err;

	if (b->open)
		return 0;
	if ((err = kvtx_rebegin(&b->t)))
		return kv_err(b->db, err, "out of memory");
	b->open = true;
	return 0;
}

/* kv_result -- record an operation's result. */
int kv_result(pkv_batch *b, int r)
{
	if (b->nres == b->rescap) {
		size_t cap = b->rescap ? 2 * b->rescap : 16;
		int *n = realloc(b->results, cap * sizeof(*n));
		if (!n)
			return kv_err(b->db, -ENOMEM, "out of memory");
		b->results = n;
		b->rescap = cap;
	}
	b->results[b->nres++] = r;
	return 0;
}

/* kv_count_change -- see kv_batch.h. */
int kv_count_change(pkv_batch *b, enum kv_count_kind kind, unsigned dbi,
		    unsigned dbi2, int delta)
{
	if (b->ndeltas == b->deltacap) {
		size_t cap = b->deltacap ? 2 * b->deltacap : 16;
		struct kv_delta *n = realloc(b->deltas, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		b->deltas = n;
		b->deltacap = cap;
	}
	b->deltas[b->ndeltas] = (struct kv_delta){ kind, dbi, dbi2, delta };
	b->ndeltas++;
	return 0;
}

/* kv_delta -- the operation changed dbi's key count by delta. */
int kv_delta(pkv_batch *b, unsigned dbi, int delta)
{
	return kv_count_change(b, KV_COUNT_ADD, dbi, dbi, delta);
}

/* kv_counts_apply -- a committed batch's changes of key counts, in
 * order. */
static void kv_counts_apply(pkv *db, const struct kv_delta *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		_Atomic int64_t *c = &db->dbs[d[i].dbi].count;
		_Atomic int64_t *c2 = &db->dbs[d[i].dbi2].count;
		switch (d[i].kind) {
		case KV_COUNT_ADD:
			atomic_fetch_add(c, d[i].delta);
			break;
		case KV_COUNT_ZERO:
			atomic_store(c, 0);
			break;
		case KV_COUNT_SWAP:
			atomic_store(c, atomic_exchange(c2, atomic_load(c)));
			break;
		}
	}
}

/* kv_save -- a savepoint of the batch. */
void kv_save(const pkv_batch *b, struct kv_save *s)
{
	memset(s, 0, sizeof(*s));
	s->open = b->open;
	if (b->open)
		kvtx_mark(&b->t, &s->m);
	s->nres = b->nres;
	s->ndeltas = b->ndeltas;
	s->payload = b->payload;
	s->err = b->err;
}

/* kv_restore -- take the batch back to a savepoint. */
void kv_restore(pkv_batch *b, const struct kv_save *s)
{
	if (b->open) {
		if (s->open) {
			kvtx_rollback(&b->t, &s->m);
		} else {
			kvtx_abort(&b->t);
			b->open = false;
		}
	}
	b->nres = s->nres;
	b->ndeltas = s->ndeltas;
	b->payload = s->payload;
	b->err = s->err;
}

/* ---- one operation ---- */

/* kv_find -- look an operation's key up once, through the batch
 * (holding its stripe first when `lock`). */
int kv_find(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   bool lock, struct kv_key *k)
{
	pkv *db = b->db;
	const struct kvtx *v;
	int err;

	k->hash = kv_hash(db, key, klen);
	if (lock && (err = kv_hold(b, dbi, (unsigned)(k->hash &
						     (KV_STRIPES - 1)))))
		return err;
	v = kv_view(b);
	k->tab = b->retabled ? kv_table_at(db, v, dbi) : kv_table_of(db, dbi);
	err = table_find(db, v, k->tab, k->hash, key, klen, &k->loc);
	if (err < 0)
		return kv_err(db, err, "database %u: the key's chain is "
			      "damaged (see pkv_damage)", dbi);
	k->found = err == 1;
	k->expire_ms = 0;
	k->present = false;
	if (k->found) {
		k->expire_ms = (int64_t)(v ? kvtx_get(v, k->loc.entry +
					    offsetof(struct kv_entry, expire_ms))
					   : (uint64_t)kv_entry_expire(
						   kv_ptr(db, k->loc.entry)));
		k->present = !(k->expire_ms && k->expire_ms <= pkv_now_ms());
	}
	return 0;
}

/* kv_new_entry -- a new entry (a key's, or a hash field's) in the
 * transaction, written straight into its block; its offset to *offp.  An
 * integer string whose entry would pass KV_INT_MAX_ENTRY (a long key) is
 * made as its text. */
int kv_new_entry(pkv_batch *b, const struct kv_newent *n,
			uint64_t *offp)
{
	pkv *db = b->db;
	struct kv_entry *E;
	char text[KV_INT_TEXT];
	const void *val = n->val;
	size_t vlen = n->vlen, tlen = 0;
	unsigned vtype = n->vtype, prefix = KV_ENTRY_MUTABLE;
	bool is_int = n->is_int &&
		      kv_int_at(n->klen) + 8 <= KV_INT_MAX_ENTRY;
	int err;

	if (n->is_int) {
		tlen = num_format_ll(text, n->ival);
		val = text;
		vlen = tlen;
		vtype = PKV_TYPE_STRING;
	}
	if (is_int) {
		/* The value changes in place too, and only the prefix of a
		 * block may: the whole entry is.  A pool's first one tells
		 * older libraries, which would read the word as text. */
		if ((err = kvtx_layout_raise(&b->t, KV_LAYOUT_VERSION_INTS)))
			return err;
		vlen = kv_int_vlen(n->klen);
		if (!PLANTED(KV_INT_PREFIX))
			prefix = (unsigned)(sizeof(*E) + n->klen + vlen);
	}
	/* Otherwise only next and expire_ms change in place later: the rest
	 * is fixed, so the commit checksum covers it and it needs no
	 * fence. */
	err = tx_alloc_fixed(b->t.tx, sizeof(*E) + n->klen + vlen,
			     n->block_type, prefix, offp);
	if (err)
		return err;
	E = kv_ptr(db, *offp);
	E->next = 0;
	E->expire_ms = n->expire_ms;
	E->hash = n->hash;
	E->klen = (uint32_t)n->klen;
	E->vlen = (uint32_t)vlen;
	E->vtype = (uint16_t)vtype;
	E->flags = is_int ? KV_ENTRY_INT : 0;
	if (n->klen)
		memcpy((char *)(E + 1), n->key, n->klen);
	if (is_int) {
		char *v = (char *)(E + 1) + n->klen;
		memset(v, 0, vlen - 8);
		memcpy(v + vlen - 8, &n->ival, 8);
	} else if (vlen) {
		memcpy((char *)(E + 1) + n->klen, val, vlen);
	}
	E->csum = kv_entry_csum(E);
	/* Payload is what the caller wrote: a collection's value is our
	 * own offset, its contents count as their entries are written. */
	b->payload += n->klen + (n->is_int ? tlen :
				 vtype == PKV_TYPE_STRING ? vlen : 0);
	return 0;
}

/* kv_newent_value -- see kv_batch.h. */
void kv_newent_value(const pkv *db, const struct kvtx *t, uint64_t e,
		     struct kv_newent *n)
{
	const struct kv_entry *E = kv_ptr(db, e);

	n->vtype = E->vtype;
	n->val = kv_entry_val(E);
	n->vlen = E->vlen;
	n->is_int = kv_entry_is_int(E);
	n->ival = n->is_int ? kv_entry_int(db, t, e) : 0;
}

/* kv_new_string -- a string key's new entry. */
static int kv_new_string(pkv_batch *b, const struct kv_op *op, uint64_t hash,
			 int64_t expire_ms, uint64_t *offp)
{
	struct kv_newent n = { KV_TYPE_ENTRY, PKV_TYPE_STRING, op->key,
			       op->val, op->klen, op->vlen, hash, expire_ms,
			       false, 0 };
	return kv_new_entry(b, &n, offp);
}

/* kv_vtype -- the type of a found key's value. */
unsigned kv_vtype(const pkv_batch *b, const struct kv_key *k)
{
	return ((const struct kv_entry *)kv_ptr(b->db, k->loc.entry))->vtype;
}

/* kv_note_drop -- k's entry is about to be replaced or unlinked: if it
 * holds a collection, the collector is asked to reclaim it after the
 * commit (the unlink itself is O(1)). */
void kv_note_drop(pkv_batch *b, const struct kv_key *k)
{
	if (k->found && kv_vtype(b, k) != PKV_TYPE_STRING)
		b->drops = true;
}

/* ---- collections (hashes, lists) ---- */

/* kv_type_name -- a value type (PKV_TYPE_*) in words, for messages. */
static const char *kv_type_name(unsigned vtype)
{
	static const char *const names[] = { "string", "hash", "list", "set",
					     "sorted set" };

	return vtype < sizeof(names) / sizeof(*names) ? names[vtype] : "?";
}

/* kv_coll_of_entry -- the header offset a collection key's entry holds. */
uint64_t kv_coll_of_entry(const pkv *db, const struct kv_entry *e,
			  unsigned vtype, uint64_t hsize)
{
	uint64_t off = 0;

	if (e->vtype == vtype && e->vlen == sizeof(off))
		memcpy(&off, kv_entry_val(e), sizeof(off));
	if (kv_area_ok(db, off, hsize))
		return off;
	kv_damage(db, "a %s key's value (%.*s) does not point at its header",
		  kv_type_name(vtype),
		  (int)(e->klen < 64 ? e->klen : 64), kv_entry_key(e));
	return 0;
}

/* kv_coll_at -- the header of k's collection of type vtype (hsize bytes),
 * or a result: PKV_ENOTFOUND (no key), PKV_EWRONGTYPE, PKV_ECORRUPT. */
int kv_coll_at(pkv_batch *b, const struct kv_key *k, unsigned vtype,
	       uint64_t hsize, uint64_t *offp)
{
	if (!k->present)
		return PKV_ENOTFOUND;
	if (kv_vtype(b, k) != vtype)
		return PKV_EWRONGTYPE;
	*offp = kv_coll_of_entry(b->db, kv_ptr(b->db, k->loc.entry), vtype,
				 hsize);
	return *offp ? 0 : PKV_ECORRUPT;
}

/*
 * kv_coll_read -- the header of key's collection of type vtype as the
 * batch sees it, holding the key's stripe (collection reads are not
 * lock-free): 0 with *offp (0: no such key), PKV_EWRONGTYPE, PKV_EINVAL
 * or PKV_ECORRUPT.
 */
int kv_coll_read(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		 unsigned vtype, uint64_t hsize, uint64_t *offp)
{
	struct kv_key k;
	int err = kv_read_check(b->db, dbi, key, klen);

	if (err || (err = kv_find(b, dbi, key, klen, true, &k)))
		return err;
	err = kv_coll_at(b, &k, vtype, hsize, offp);
	if (err == PKV_ENOTFOUND) {
		*offp = 0;
		return 0;
	}
	if (err == PKV_EWRONGTYPE)
		return kv_err(b->db, err, "the key holds a value of another "
			      "type than %s", kv_type_name(vtype));
	return err;
}

/* kv_set_entry -- the new entry at off becomes op's key: it replaces
 * the entry found as k (whose value goes), or is inserted and counted. */
static int kv_set_entry(pkv_batch *b, const struct kv_op *op,
			struct kv_key *k, uint64_t off)
{
	int err;

	if (k->found) {
		kv_note_drop(b, k);
		return table_replace(&b->t, k->tab, &k->loc, off);
	}
	if ((err = table_insert(&b->t, k->tab, off)))
		return err;
	return kv_delta(b, op->dbi, 1);
}

/*
 * kv_coll_make -- make op's key (found as k) a collection of type vtype
 * whose header the caller made at hdr, replacing an expired entry if one
 * is there.  The pool's first collection of a type raises the root's
 * layout version to `version` (layout.h).
 */
int kv_coll_make(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		 unsigned vtype, uint64_t version, uint64_t hdr)
{
	uint64_t off;
	struct kv_newent n = { KV_TYPE_ENTRY, vtype, op->key, &hdr, op->klen,
			       sizeof(hdr), k->hash, 0, false, 0 };
	int err;

	if ((err = kvtx_layout_raise(&b->t, version)))
		return err;
	if ((err = kv_new_entry(b, &n, &off)))
		return err;
	return kv_set_entry(b, op, k, off);
}

/*
 * kv_move -- KV_OP_MOVE on the key found as k: its entry, if it is still
 * the block at op->index, replaced by a copy in a new block (a block the
 * heap hands out outside the runs being evacuated); a collection's
 * header stays where it is, named by the copy.  Not a write of the
 * user's: no payload counted.
 */
static int kv_move(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		   int *result)
{
	struct kvtx *t = &b->t;
	const struct kv_entry *E = kv_ptr(b->db, k->loc.entry);
	uint64_t payload = b->payload, off;
	int err;

	if (!k->found || k->loc.entry != (uint64_t)op->index) {
		*result = PKV_ENOTFOUND;   /* changed meanwhile: let be */
		return 0;
	}
	struct kv_newent n = {
		KV_TYPE_ENTRY, 0, kv_entry_key(E), NULL, E->klen, 0, k->hash,
		(int64_t)kvtx_get(t, k->loc.entry + offsetof(struct kv_entry,
							     expire_ms)),
		false, 0 };
	kv_newent_value(b->db, t, k->loc.entry, &n);
	if ((err = kv_new_entry(b, &n, &off)))
		return err;
	b->payload = payload;
	return table_replace(t, k->tab, &k->loc, off);
}

/* kv_int_sum -- see kv_batch.h. */
int kv_int_sum(pkv_batch *b, uint64_t e, int64_t delta, long long *v)
{
	const struct kv_entry *E = e ? kv_ptr(b->db, e) : NULL;

	*v = 0;
	if (E && kv_entry_is_int(E))
		*v = kv_entry_int(b->db, &b->t, e);
	else if (E && !num_parse_ll(kv_entry_val(E), E->vlen, v))
		return PKV_ENOTINT;
	return num_add_ll(v, delta) ? 0 : PKV_EOVERFLOW;
}

/*
 * kv_incr -- KV_OP_INCR on the key found as k: an integer string gets the
 * sum in place (one word in the record); a text that reads as an integer
 * (num_parse_ll: Redis's string2ll), or no key, becomes an integer string
 * holding the sum, keeping the expiry.  Results: PKV_EWRONGTYPE, PKV_ENOTINT
 * (not an integer), PKV_EOVERFLOW (the sum would not fit).
 */
static int kv_incr(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		   int *result)
{
	struct kvtx *t = &b->t;
	const struct kv_entry *E = k->present ? kv_ptr(b->db, k->loc.entry)
					      : NULL;
	struct kv_newent n = { KV_TYPE_ENTRY, PKV_TYPE_STRING, op->key, NULL,
			       op->klen, 0, k->hash,
			       k->present ? k->expire_ms : 0, true, 0 };
	long long v;
	uint64_t off;
	int err;

	if (E && E->vtype != PKV_TYPE_STRING) {
		*result = PKV_EWRONGTYPE;
		return 0;
	}
	if ((*result = kv_int_sum(b, E ? k->loc.entry : 0, op->index, &v)))
		return 0;
	*op->num = v;
	if (E && kv_entry_is_int(E))
		return kvtx_set(t, k->loc.entry + kv_int_at(E->klen),
				(uint64_t)v);
	n.ival = v;
	if ((err = kv_new_entry(b, &n, &off)))
		return err;
	return kv_set_entry(b, op, k, off);
}

/* kv_write -- the writes of one decided operation (see kv_exec). */
static int kv_write(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		    int *result)
{
	struct kvtx *t = &b->t;
	uint64_t off;
	int64_t exp;
	int err;

	*result = 0;
	switch (op->op) {
	case KV_OP_PUT:
		if ((op->flags & PKV_NX) && k->present) {
			*result = PKV_EEXIST;
			return 0;
		}
		if ((op->flags & PKV_XX) && !k->present) {
			*result = PKV_ENOTFOUND;
			return 0;
		}
		exp = !(op->flags & PKV_KEEPTTL) ? op->expire_ms :
		      k->present ? k->expire_ms : 0;
		if (exp && exp <= pkv_now_ms())  /* already past: the key
						    goes, as in Redis */
			break;
		if ((err = kv_new_string(b, op, k->hash, exp, &off)))
			return err;
		return kv_set_entry(b, op, k, off);
	case KV_OP_DEL:
		if (!k->present)
			*result = PKV_ENOTFOUND;   /* an expired one goes */
		break;
	case KV_OP_DEL_EXPIRED:
		if (k->present || !k->found) {
			*result = PKV_ENOTFOUND;
			return 0;
		}
		break;
	case KV_OP_EXPIRE:
		if (!k->present) {
			*result = PKV_ENOTFOUND;
			break;
		}
		if (op->expire_ms && op->expire_ms <= pkv_now_ms())
			break;             /* a time already past deletes */
		if (op->expire_ms == k->expire_ms)
			return 0;
		if ((err = kvtx_set(t, k->loc.entry +
				    offsetof(struct kv_entry, expire_ms),
				    (uint64_t)op->expire_ms)))
			return err;
		if ((op->expire_ms != 0) != (k->expire_ms != 0)) {
			uint64_t st = kv_load(&k->tab->stripes) +
				(k->hash & (KV_STRIPES - 1)) *
				sizeof(struct kv_stripe) +
				offsetof(struct kv_stripe, expires);
			return kvtx_add(t, st, op->expire_ms ? 1 : -1);
		}
		return 0;
	case KV_OP_HSET:
		return kv_hset(b, op, k, result);
	case KV_OP_HDEL:
	case KV_OP_SREM:
		return kv_hdel(b, op, k, result);
	case KV_OP_SADD:
		return kv_hset(b, op, k, result);
	case KV_OP_ZADD:
	case KV_OP_ZREM:
	case KV_OP_ZREMRANGE:
		return kv_zset_write(b, op, k, result);
	case KV_OP_LPUSH:
	case KV_OP_LPOP:
	case KV_OP_LSET:
	case KV_OP_LINSERT:
	case KV_OP_LREM:
	case KV_OP_LTRIM:
		return kv_list_write(b, op, k, result);
	case KV_OP_MOVE:
		return kv_move(b, op, k, result);
	case KV_OP_INCR:
		return kv_incr(b, op, k, result);
	case KV_OP_HINCR:
		return kv_hincr(b, op, k, result);
	case KV_OP_FLUSH:
	case KV_OP_SWAPDB:            /* kv_exec gives them to kv_dbwide */
		return PKV_EINVAL;
	}
	/* The key goes (if there is an entry at all). */
	if (!k->found)
		return 0;
	kv_note_drop(b, k);
	if ((err = table_unlink(t, k->tab, &k->loc)))
		return err;
	return kv_delta(b, op->dbi, -1);
}

/*
 * kv_help_resize_tx -- a write's share of a resize in progress: move a
 * few buckets of its stripe in its own transaction (no commit of their
 * own).  A failure only undoes the moves (the write stands); a stripe
 * left with nothing to move marks the resize as perhaps done.
 */
static void kv_help_resize_tx(pkv_batch *b, unsigned dbi,
			      const struct kv_key *k)
{
	struct kvtx_mark m;
	int r;

	kvtx_mark(&b->t, &m);
	r = table_migrate_tx(&b->t, k->tab, (unsigned)(k->hash &
						       (KV_STRIPES - 1)),
			     KV_BUCKETS_PER_WRITE);
	if (r < 0) {
		kvtx_rollback(&b->t, &m);
		if (r == PKV_ECORRUPT)
			kv_damage(b->db, "a chain of database %u cannot be "
				  "right: the resize skips it", dbi);
		return;
	}
	if (r == 1 && (b->finish || (b->finish = calloc(b->db->ndbs,
							  sizeof(bool)))))
		b->finish[dbi] = true;
}

/*
 * kv_exec -- run one write operation in the batch: lock, look up, decide,
 * write.  Returns its result (0, PKV_EEXIST, PKV_ENOTFOUND) or an error;
 * after an error nothing of the operation remains, and the batch is
 * failed (b->err) until rolled back past it.
 */
int kv_exec(pkv_batch *b, const struct kv_op *op)
{
	struct kv_save s;
	struct kv_key k;
	int err, r = 0;

	if (op->op >= KV_OP_FLUSH) {  /* whole databases: no key */
		if ((err = kv_dbwide(b, op)) || (err = kv_result(b, 0)))
			goto fail;
		return 0;
	}
	if ((err = kv_check_op(b->db, op)))
		goto fail;
	if ((err = kv_find(b, op->dbi, op->key, op->klen, true, &k)) ||
	    (err = kv_tx(b)))
		goto fail;
	kv_save(b, &s);
	err = kv_write(b, op, &k, &r);
	if (!err && table_resizing(k.tab))
		kv_help_resize_tx(b, op->dbi, &k);
	if (err) {
		kv_restore(b, &s);
		if (err == PKV_EFULL)
			kv_err(b->db, err, "pool is full: no room for the "
			       "write (existing keys are intact)");
		else if (err > PKV_EFIRST || err < PKV_ELAST)
			kv_err(b->db, err, "write failed: %s",
			       pkv_strerror(err));
		goto fail;
	}
	if ((err = kv_result(b, r)))
		goto fail;
	return r;
fail:
	if (!b->err) {
		b->err = err;
		b->err_at = b->nres;
	}
	return err;
}

/* ---- commit ---- */

/* kv_prepared -- whether tab has the bucket array its next resize takes. */
static bool kv_prepared(const pkv *db, const struct kv_table *tab)
{
	const struct kv_buckets *cur = kv_ptr(db, kv_load(&tab->cur));
	uint64_t p = kv_load(&tab->prepared);

	return p && ((const struct kv_buckets *)kv_ptr(db, p))->log2 ==
		    cur->log2 + 1;
}

/* kv_prepare_resize -- make the next bucket array ready (database lock
 * held shared; skips when another thread is at it). */
static void kv_prepare_resize(pkv *db, unsigned dbi)
{
	struct kv_db *d = &db->dbs[dbi];

	if (pthread_mutex_trylock(&d->resize_mtx))
		return;
	table_resize_prepare(db, kv_table_of(db, dbi)); /* PKV_EFULL: later */
	pthread_mutex_unlock(&d->resize_mtx);
}

/* What a table's size asks for (kv_resize_due). */
#define KV_RESIZE_PREPARE 1u    /* the next bucket array made ready */
#define KV_RESIZE_START 2u      /* the ready array published */

/* kv_resize_due -- what database dbi's table asks for by its size and
 * count.  The caller keeps the table from being unlinked (a flush) and
 * collected while this reads it: a stripe of dbi held, or a read-side
 * section. */
static unsigned kv_resize_due(const pkv *db, unsigned dbi)
{
	const struct kv_table *tab = kv_table_of(db, dbi);
	const struct kv_buckets *cur = kv_ptr(db, kv_load(&tab->cur));
	uint64_t keys = (uint64_t)atomic_load(&db->dbs[dbi].count);
	uint64_t nb = kv_mask(cur) + 1;

	if (table_resizing(tab))
		return 0;
	if (keys <= nb)
		return 0;
	return (kv_prepared(db, tab) ? 0 : KV_RESIZE_PREPARE) |
	       KV_RESIZE_START;
}

/* kv_resize_due_now -- kv_resize_due, from a thread that holds nothing
 * of dbi (in a read-side section). */
static unsigned kv_resize_due_now(pkv *db, unsigned dbi)
{
	struct epoch_ticket tk = epoch_enter(heap_epoch(db->heap));
	unsigned due = kv_resize_due(db, dbi);

	epoch_exit(tk);
	return due;
}

/*
 * kv_maybe_resize -- keep a table at about one key per bucket, given
 * what kv_resize_due found.  Once it holds more keys than buckets, the
 * next, twice bigger bucket array is made ready (zeroed and durable:
 * milliseconds for a big table) beside the writers, by the maintenance
 * thread when there is one (`inline_ok` false: the writer only asks),
 * else by this thread; then it is published under the exclusive lock,
 * which is short.  Not sooner: an array made ready from three quarters
 * full sat empty beside the table until it was full, twice its size in
 * the pool (pkv-server, 1M keys of 100 bytes: 201 pool bytes a key, 184
 * without it), and the writes meanwhile only lengthen the chains a
 * little.  A resize whose stripes have all moved is finished the same
 * way.  No lock held; each step reads the table again under its lock.
 */
static void kv_maybe_resize(pkv *db, unsigned dbi, unsigned due,
			    bool finish, bool inline_ok)
{
	struct kv_db *d = &db->dbs[dbi];
	struct kv_table *tab;
	bool start = due & KV_RESIZE_START;

	if (due & KV_RESIZE_PREPARE) {
		if (!inline_ok) {
			/* Ask the maintenance thread, once. */
			if (!atomic_exchange(&d->resize_wanted, true)) {
				pthread_mutex_lock(&db->thread_mtx);
				pthread_cond_signal(&db->thread_cond);
				pthread_mutex_unlock(&db->thread_mtx);
			}
			start = false;
		} else {
			pthread_rwlock_rdlock(&d->lock);
			kv_prepare_resize(db, dbi);
			pthread_rwlock_unlock(&d->lock);
		}
	}
	if (!start && !finish)
		return;
	pthread_rwlock_wrlock(&d->lock);
	tab = kv_table_of(db, dbi);
	if (start)
		table_resize_start(db, tab);  /* none ready: later */
	else
		table_resize_finish(db, tab);
	pthread_rwlock_unlock(&d->lock);
}

/* kv_commit -- commit the batch, help resizes, unlock, free.  Returns 0
 * or the failure that made nothing of it durable. */
static int kv_commit(pkv_batch *b, int *results, bool async)
{
	pkv *db = b->db;
	bool *finish = NULL, touched[KV_MAX_DBS], drops = false;
	bool reclaim = false, collected;
	unsigned due[KV_MAX_DBS];
	int err = b->err;


	if (err) {
		if (b->open)
			kvtx_abort(&b->t);
		kv_batch_free(b);
		return err;
	}
	if (b->open) {
		uint64_t seq = 0;
		if (async)
			tx_set_async(b->t.tx);
		err = kvtx_commit_seq(&b->t, &seq);
		/* A failed write-back comes after the changes were applied
		 * in memory (the commit has a seq): count them.  Without a
		 * seq nothing was applied. */
		if (seq) {
			kv_counts_apply(db, b->deltas, b->ndeltas);
			atomic_fetch_add_explicit(&db->payload_bytes,
						  b->payload,
						  memory_order_relaxed);
		}
		if (err)
			kv_err(db, err, "commit failed: %s", seq ?
			       "the write is applied but could not be made "
			       "durable (I/O error)" : pkv_strerror(err));
	}
	if (results && b->nres)
		memcpy(results, b->results, b->nres * sizeof(*results));
	drops = !err && b->drops;
	reclaim = !err && b->reclaim;
	memset(touched, 0, db->ndbs * sizeof(bool));
	if (!err && b->nholds) {
		finish = b->finish;
		b->finish = NULL;
		for (size_t i = 0; i < b->nholds; i++)
			touched[b->holds[i].dbi] = true;
	}
	/* Read while the stripes are held: no flush can unlink the tables
	 * (kv_resize_due). */
	for (unsigned d = 0; d < db->ndbs; d++)
		if (touched[d])
			due[d] = kv_resize_due(db, d);
	kv_batch_free(b);
	for (unsigned d = 0; d < db->ndbs; d++)
		if (touched[d])
			kv_maybe_resize(db, d, due[d], finish && finish[d],
					!db->thread_running);
	free(finish);
	/* A flush in a full pool (b->reclaim): its old tables are
	 * collected now, so the space is back for the next write, unless
	 * the collection would wait for this thread itself (gc_run's
	 * -EDEADLK).  Else the collector's thread takes what went. */
	collected = reclaim && gc_run(heap_gc(db->heap)) != -EDEADLK;
	if (drops && !collected)
		gc_request(heap_gc(db->heap));
	/* Resize work after the commit may have hit a failed write-back:
	 * the pool can no longer make writes durable, so say so now. */
	if (!err && (err = persist_failed(&db->pool->persist)))
		kv_err(db, err, "I/O error: the pool can no longer make writes "
		       "durable (%s); reopen it", strerror(-err));
	return err;
}

/* kv_apply -- apply ops in order as one batch (see pkv_batch_commit). */
int kv_apply(pkv *db, const struct kv_op *ops, size_t n, int *results)
{
	pkv_batch *b = NULL;
	int err;

	if (n == 0)
		return 0;
	/* more than one stripe: a batch of several, or a whole database */
	if ((err = kv_batch_new(db, n > 1 || ops[0].op >= KV_OP_FLUSH, &b)))
		return err;
	for (size_t i = 0; i < n; i++)
		kv_exec(b, &ops[i]);
	return kv_commit(b, results, false);
}

/* ---- single writes ---- */

/* kv_one -- apply one operation; its condition result if the write
 * itself succeeded. */
int kv_one(pkv *db, const struct kv_op *op)
{
	int r = 0, err = kv_apply(db, op, 1, &r);
	return err ? err : r;
}

/* pkv_put -- set a key. */
int pkv_put(pkv *db, unsigned dbi, const void *key, size_t klen,
	    const void *val, size_t vlen, unsigned flags, int64_t expire_ms)
{
	struct kv_op op = { .op = KV_OP_PUT, .dbi = dbi, .key = key,
			    .klen = klen, .val = val, .vlen = vlen,
			    .flags = flags, .expire_ms = expire_ms };
	return kv_one(db, &op);
}

/* pkv_del -- remove a key. */
int pkv_del(pkv *db, unsigned dbi, const void *key, size_t klen)
{
	struct kv_op op = { .op = KV_OP_DEL, .dbi = dbi, .key = key,
			    .klen = klen };
	return kv_one(db, &op);
}

/* pkv_expire -- set or clear a key's expiry. */
int pkv_expire(pkv *db, unsigned dbi, const void *key, size_t klen,
	       int64_t expire_ms)
{
	struct kv_op op = { .op = KV_OP_EXPIRE, .dbi = dbi, .key = key,
			    .klen = klen, .expire_ms = expire_ms };
	return kv_one(db, &op);
}

/* ---- lock-free reads ---- */

/* kv_read_check -- the arguments of a read. */
int kv_read_check(const pkv *db, unsigned dbi, const void *key,
			 size_t klen)
{
	if (dbi >= db->ndbs)
		return kv_err(db, PKV_EINVAL, "database %u out of range "
			      "(the pool has %u)", dbi, db->ndbs);
	if (!key && klen)
		return kv_err(db, PKV_EINVAL, "NULL key");
	return 0;
}

/* kv_ref_value -- an entry's value and type into a reference: a
 * string's bytes, or NULL and 0 for another type. */
void kv_ref_value(const struct kv_entry *E, struct pkv_ref *ref)
{
	bool str = E->vtype == PKV_TYPE_STRING;

	ref->val = str ? kv_entry_val(E) : NULL;
	ref->vlen = str ? E->vlen : 0;
	ref->type = E->vtype;
}

/* kv_ref_kept -- see kv_int.h. */
int kv_ref_kept(const pkv *db, const struct kvtx *t, pkv_batch *keep,
		uint64_t e, struct pkv_ref *ref)
{
	const struct kv_entry *E = kv_ptr(db, e);
	char *text;

	kv_ref_value(E, ref);
	if (!kv_entry_is_int(E))
		return 0;
	if (!(text = keep ? kv_text(keep) : ref->text_))
		return kv_err(db, -ENOMEM, "out of memory");
	ref->val = text;
	ref->vlen = num_format_ll(text, kv_entry_int(db, t, e));
	return 0;
}

/* kv_find_live -- inside a section: the live entry of key to *ep (NULL
 * if none); 0 or PKV_ECORRUPT (a damaged chain). */
static int kv_find_live(pkv *db, unsigned dbi, const void *key,
			size_t klen, const struct kv_entry **ep)
{
	uint64_t e = 0;
	int r = table_lookup(db, dbi, kv_hash(db, key, klen), key, klen, &e);
	const struct kv_entry *E = r > 0 ? kv_ptr(db, e) : NULL;

	*ep = E && !kv_expired_now(E) ? E : NULL;
	return r < 0 ? kv_err(db, r, "database %u: the key's chain is "
			      "damaged (see pkv_damage)", dbi) : 0;
}

#define KV_PREFETCH_CHUNK 16   /* hashes pkv_prefetch takes at a time */

/* pkv_prefetch -- see pkv.h. */
void pkv_prefetch(pkv *db, unsigned dbi, size_t n, const void *const *keys,
		  const size_t *klens)
{
	uint64_t hash[KV_PREFETCH_CHUNK];
	struct epoch_ticket tk;

	if (dbi >= db->ndbs)
		return;
	tk = epoch_enter(heap_epoch(db->heap));
	for (size_t i = 0; i < n; i += KV_PREFETCH_CHUNK) {
		size_t m = n - i < KV_PREFETCH_CHUNK ? n - i : KV_PREFETCH_CHUNK;
		for (size_t j = 0; j < m; j++)
			hash[j] = kv_hash(db, keys[i + j], klens[i + j]);
		table_prefetch(db, dbi, hash, m);
	}
	epoch_exit(tk);
}

/* pkv_get_ref -- find a value and hold it in place. */
int pkv_get_ref(pkv *db, unsigned dbi, const void *key, size_t klen,
		struct pkv_ref *ref)
{
	const struct kv_entry *E;
	struct epoch_ticket tk;
	int err = kv_read_check(db, dbi, key, klen);

	if (err)
		return err;
	tk = epoch_enter(heap_epoch(db->heap));
	err = kv_find_live(db, dbi, key, klen, &E);
	if (!err && E && kv_entry_damaged(db, dbi, E))
		err = PKV_ECORRUPT;
	if (err || !E) {
		epoch_exit(tk);
		return err ? err : PKV_ENOTFOUND;
	}
	kv_ref_kept(db, NULL, NULL, pool_off(db->pool, E), ref);
	ref->expire_ms = kv_entry_expire(E);
	ref->priv_[0] = tk.slot;
	ref->priv_[1] = (void *)(uintptr_t)tk.phase;
	return 0;
}

/* kv_entry_damaged -- see kv_int.h. */
bool kv_entry_damaged(const pkv *db, unsigned dbi, const struct kv_entry *e)
{
	if (!db->verify || kv_entry_csum(e) == e->csum)
		return false;
	kv_damage(db, "database %u: the entry at offset %llu does not match "
		  "its checksum (key or value damaged); not served", dbi,
		  (unsigned long long)pool_off(db->pool, e));
	return true;
}

/* pkv_ref_release -- leave the reference's section (nothing for a
 * reference a batch gave: the batch keeps it). */
void pkv_ref_release(struct pkv_ref *ref)
{
	struct epoch_ticket tk = { ref->priv_[0],
				   (unsigned)(uintptr_t)ref->priv_[1] };

	if (!tk.slot)
		return;
	ref->priv_[0] = NULL;
	ref->val = NULL;
	epoch_exit(tk);
}

/* pkv_exists -- whether a live key exists. */
int pkv_exists(pkv *db, unsigned dbi, const void *key, size_t klen)
{
	struct pkv_ref ref;
	int err = pkv_get_ref(db, dbi, key, klen, &ref);

	if (!err)
		pkv_ref_release(&ref);
	return err;
}

/* pkv_get -- copy a value out: a reference, held just for the copy. */
int pkv_get(pkv *db, unsigned dbi, const void *key, size_t klen, void *buf,
	    size_t bufsize, size_t *vlen)
{
	struct pkv_ref ref;
	int err = pkv_get_ref(db, dbi, key, klen, &ref);

	if (err)
		return err;
	if (ref.type != PKV_TYPE_STRING) {
		pkv_ref_release(&ref);
		return kv_err(db, PKV_EWRONGTYPE, "the key holds a value of "
			      "type %u, not a string", ref.type);
	}
	if (buf && bufsize)
		memcpy(buf, ref.val, ref.vlen < bufsize ? ref.vlen : bufsize);
	if (vlen)
		*vlen = ref.vlen;
	pkv_ref_release(&ref);
	return 0;
}

/* pkv_ttl -- a key's expiry, through a reference. */
int pkv_ttl(pkv *db, unsigned dbi, const void *key, size_t klen,
	    int64_t *expire_ms)
{
	struct pkv_ref ref;
	int err = pkv_get_ref(db, dbi, key, klen, &ref);

	if (err)
		return err;
	if (expire_ms)
		*expire_ms = ref.expire_ms;
	pkv_ref_release(&ref);
	return 0;
}

/* pkv_type -- the type of a key's value. */
int pkv_type(pkv *db, unsigned dbi, const void *key, size_t klen,
	     unsigned *type)
{
	struct pkv_ref ref;
	int err = pkv_get_ref(db, dbi, key, klen, &ref);

	if (err)
		return err;
	if (type)
		*type = ref.type;
	pkv_ref_release(&ref);
	return 0;
}

/* kv_view_word, kv_view_owns -- the batch's transaction as gc_usage
 * reads it (struct gc_view). */
static uint64_t kv_view_word(void *ctx, uint64_t off)
{
	return kvtx_get(&((pkv_batch *)ctx)->t, off);
}

static bool kv_view_owns(void *ctx, uint64_t data_off)
{
	return tx_allocated(((pkv_batch *)ctx)->t.tx, data_off);
}

/* pkv_batch_memory_usage -- see pkv.h. */
int pkv_batch_memory_usage(pkv_batch *b, unsigned dbi, const void *key,
			   size_t klen, uint64_t *bytes)
{
	pkv *db = b->db;
	/* what the batch wrote before, as it will be */
	const struct gc_view view = { kv_view_word, kv_view_owns, b };
	struct kv_key k;
	int err = kv_read_check(db, dbi, key, klen);

	if (!err)
		err = kv_find(b, dbi, key, klen, true, &k);
	if (!err && !k.present)
		err = PKV_ENOTFOUND;
	if (!err) {
		const struct kv_entry *E = kv_ptr(db, k.loc.entry);
		uint64_t hoff = 0, more = 0, n = 0;
		/* the entry may be the batch's own, not yet committed */
		*bytes = heap_block_len_reserved(db->heap, k.loc.entry);
		if (E->vtype != PKV_TYPE_STRING && E->vlen == sizeof(hoff))
			memcpy(&hoff, kv_entry_val(E), sizeof(hoff));
		/* the collection: its header and all it holds (not the
		 * entry's chain: it leads to other keys) */
		if (hoff && (err = gc_usage(heap_gc(db->heap), hoff,
					    b->open ? &view : NULL, &more,
					    &n)) == 0)
			*bytes += more;
		if (err)
			err = kv_err(db, err, "out of memory");
	}
	return err;
}

/* pkv_memory_usage -- see pkv.h. */
int pkv_memory_usage(pkv *db, unsigned dbi, const void *key, size_t klen,
		     uint64_t *bytes)
{
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_memory_usage(b, dbi, key, klen, bytes);
	pkv_batch_abort(b);
	return err;
}

/* ---- batches ---- */

/* pkv_batch_begin -- an empty batch (it runs alone among batches). */
int pkv_batch_begin(pkv *db, pkv_batch **bp)
{
	return kv_batch_new(db, true, bp);
}

/* kv_incr_op -- the KV_OP_INCR of pkv_incr and pkv_batch_incr: the sum
 * to *value, or to *spare when value is NULL. */
static struct kv_op kv_incr_op(unsigned dbi, const void *key, size_t klen,
			       int64_t delta, int64_t *value, int64_t *spare)
{
	struct kv_op op = { .op = KV_OP_INCR, .dbi = dbi, .key = key,
			    .klen = klen, .index = delta,
			    .num = value ? value : spare };
	return op;
}

/* pkv_incr -- an increment, durably. */
int pkv_incr(pkv *db, unsigned dbi, const void *key, size_t klen,
	     int64_t delta, int64_t *value)
{
	int64_t v;
	struct kv_op op = kv_incr_op(dbi, key, klen, delta, value, &v);

	return kv_one(db, &op);
}

/* pkv_batch_incr -- an increment, now. */
int pkv_batch_incr(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   int64_t delta, int64_t *value)
{
	int64_t v;
	struct kv_op op = kv_incr_op(dbi, key, klen, delta, value, &v);

	return kv_exec(b, &op);
}

/* pkv_batch_put -- a put, now. */
int pkv_batch_put(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		  const void *val, size_t vlen, unsigned flags,
		  int64_t expire_ms)
{
	struct kv_op op = { .op = KV_OP_PUT, .dbi = dbi, .key = key,
			    .klen = klen, .val = val, .vlen = vlen,
			    .flags = flags, .expire_ms = expire_ms };
	return kv_exec(b, &op);
}

/* pkv_batch_del -- a delete, now. */
int pkv_batch_del(pkv_batch *b, unsigned dbi, const void *key, size_t klen)
{
	struct kv_op op = { .op = KV_OP_DEL, .dbi = dbi, .key = key,
			    .klen = klen };
	return kv_exec(b, &op);
}

/* pkv_batch_expire -- an expiry change, now. */
int pkv_batch_expire(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, int64_t expire_ms)
{
	struct kv_op op = { .op = KV_OP_EXPIRE, .dbi = dbi, .key = key,
			    .klen = klen, .expire_ms = expire_ms };
	return kv_exec(b, &op);
}

/* pkv_batch_get_ref -- a key's value as the batch left it. */
int pkv_batch_get_ref(pkv_batch *b, unsigned dbi, const void *key,
		      size_t klen, struct pkv_ref *ref)
{
	const struct kv_entry *E;
	struct kv_key k;
	int err = kv_read_check(b->db, dbi, key, klen);

	if (err || (err = kv_find(b, dbi, key, klen, true, &k)))
		return err;
	if (!k.present)
		return PKV_ENOTFOUND;
	E = kv_ptr(b->db, k.loc.entry);
	if (kv_entry_damaged(b->db, dbi, E))
		return PKV_ECORRUPT;
	if ((err = kv_ref_kept(b->db, kv_view(b), b, k.loc.entry, ref)))
		return err;
	ref->expire_ms = k.expire_ms;
	ref->priv_[0] = NULL;         /* the batch's lock keeps it */
	ref->priv_[1] = NULL;
	return 0;
}

/* pkv_batch_exists -- 0 if the batch sees the key, else PKV_ENOTFOUND. */
int pkv_batch_exists(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen)
{
	struct pkv_ref ref;
	return pkv_batch_get_ref(b, dbi, key, klen, &ref);
}

/* pkv_batch_dbsize -- keys (and with an expiry) as the batch left them. */
int pkv_batch_dbsize(pkv_batch *b, unsigned dbi, uint64_t *keys,
		     uint64_t *expires)
{
	pkv *db = b->db;
	struct epoch_ticket tk;

	if (dbi >= db->ndbs)
		return kv_err(db, PKV_EINVAL, "database %u out of range", dbi);
	tk = epoch_enter(heap_epoch(db->heap));
	table_count(db, kv_view(b), kv_table_at(db, kv_view(b), dbi), keys,
		    expires);
	epoch_exit(tk);
	return 0;
}

/* pkv_batch_scan -- pkv_scan over the keys as the batch left them. */
int pkv_batch_scan(pkv_batch *b, unsigned dbi, uint64_t cursor,
		   unsigned count, pkv_scan_fn fn, void *ctx, uint64_t *next)
{
	pkv *db = b->db;
	struct epoch_ticket tk;
	int r;

	if (dbi >= db->ndbs || !fn || !next)
		return kv_err(db, PKV_EINVAL, dbi >= db->ndbs ?
			      "database out of range" : "NULL argument");
	tk = epoch_enter(heap_epoch(db->heap));
	r = table_scan(db, kv_view(b), b, dbi, cursor, count, fn, ctx, next);
	epoch_exit(tk);
	return r;
}

/* pkv_batch_random_key -- a random key as the batch sees them. */
int pkv_batch_random_key(pkv_batch *b, unsigned dbi, void *buf,
			 size_t bufsize, size_t *klen)
{
	return kv_random_key(b->db, kv_view(b), dbi, buf, bufsize, klen);
}

/* kv_random_key -- see kv_int.h. */
int kv_random_key(pkv *db, const struct kvtx *t, unsigned dbi, void *buf,
		  size_t bufsize, size_t *klen)
{
	struct epoch_ticket tk;
	uint64_t e;

	if (dbi >= db->ndbs)
		return kv_err(db, PKV_EINVAL, "database %u out of range", dbi);
	tk = epoch_enter(heap_epoch(db->heap));
	e = table_random(db, t, dbi);
	if (e) {
		const struct kv_entry *E = kv_ptr(db, e);
		if (buf)
			memcpy(buf, kv_entry_key(E),
			       E->klen < bufsize ? E->klen : bufsize);
		if (klen)
			*klen = E->klen;
	}
	epoch_exit(tk);
	return e ? 0 : PKV_ENOTFOUND;
}

/* pkv_batch_savepoint -- remember how far the batch has come. */
void pkv_batch_savepoint(pkv_batch *b, struct pkv_savepoint *sp)
{
	struct kv_save s;

	kv_save(b, &s);
	memcpy(sp, &s, sizeof(s));
}

/* pkv_batch_rollback -- undo every operation after the savepoint. */
void pkv_batch_rollback(pkv_batch *b, const struct pkv_savepoint *sp)
{
	struct kv_save s;

	memcpy(&s, sp, sizeof(s));
	kv_restore(b, &s);
}

/* pkv_batch_failed -- the failure that would fail the batch, or 0. */
int pkv_batch_failed(const pkv_batch *b)
{
	return b->err;
}

/* pkv_batch_big -- see pkv.h. */
int pkv_batch_big(const pkv_batch *b)
{
	return b->open && tx_log_half_full(b->t.tx);
}

/* pkv_batch_abort -- drop the batch. */
void pkv_batch_abort(pkv_batch *b)
{
	if (!b)
		return;
	if (b->open)
		kvtx_abort(&b->t);
	kv_batch_free(b);
}

/* pkv_batch_commit -- make it durable, then free it. */
int pkv_batch_commit(pkv_batch *b, int *results)
{
	return kv_commit(b, results, false);
}

/* pkv_batch_submit -- see pkv.h. */
int pkv_batch_submit(pkv_batch *b, uint64_t *ticket)
{
	pkv *db = b->db;
	int err = kv_commit(b, NULL, true);

	if (ticket)
		*ticket = redo_ticket(heap_redo(db->heap));
	return err;
}

/* pkv_ticket -- see pkv.h. */
uint64_t pkv_ticket(pkv *db)
{
	return redo_ticket(heap_redo(db->heap));
}

/* pkv_durable -- see pkv.h. */
int pkv_durable(pkv *db, uint64_t ticket, bool wait)
{
	int r = redo_durable(heap_redo(db->heap), ticket, wait);

	if (r < 0)
		kv_err(db, r, "I/O error: the pool can no longer make writes "
		       "durable (%s); reopen it", strerror(-r));
	return r;
}

/* pkv_durable_fd -- see pkv.h. */
int pkv_durable_fd(pkv *db)
{
	return redo_durable_fd(heap_redo(db->heap));
}

/* ---- active expiry ---- */

#define EXPIRE_BATCH 32

struct expire_ctx {
	struct kv_op ops[EXPIRE_BATCH];
	unsigned n;
	unsigned dbi;
};

/* expire_collect -- table_scan callback (expired entries only): copy the
 * key; stop when the batch is full. */
static int expire_collect(void *vctx, const struct pkv_item *it)
{
	struct expire_ctx *c = vctx;
	void *copy = malloc(it->klen ? it->klen : 1);

	if (!copy)
		return 1;
	memcpy(copy, it->key, it->klen);
	c->ops[c->n] = (struct kv_op){ .op = KV_OP_DEL_EXPIRED,
			    .dbi = c->dbi, .key = copy, .klen = it->klen };
	return ++c->n == EXPIRE_BATCH;
}

/* kv_expire_cycle -- remove expired keys of dbi from the database's
 * expiry cursor on, until the budget is spent or the scan wraps. */
void kv_expire_cycle(pkv *db, unsigned dbi, uint64_t budget_ns)
{
	struct timespec ts;
	struct epoch_ticket rd;
	uint64_t expires, t0, now;

	/* inside a section: a batch's flush may unlink the table */
	rd = epoch_enter(heap_epoch(db->heap));
	table_count(db, NULL, kv_table_of(db, dbi), NULL, &expires);
	epoch_exit(rd);
	if (!expires)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	do {
		struct expire_ctx c = { .n = 0, .dbi = dbi };
		struct epoch_ticket tk = epoch_enter(heap_epoch(db->heap));
		uint64_t next;
		int results[EXPIRE_BATCH];

		table_scan_expired(db, dbi, db->expire_cursor[dbi], 64,
				   expire_collect, &c, &next);
		epoch_exit(tk);
		db->expire_cursor[dbi] = next;
		/* Deletes only what is still expired under the lock: a key
		 * set again meanwhile stays. */
		if (c.n && kv_apply(db, c.ops, c.n, results) == 0)
			for (unsigned i = 0; i < c.n; i++)
				if (results[i] == 0)
					atomic_fetch_add(&db->expired_keys, 1);
		for (unsigned i = 0; i < c.n; i++)
			free((void *)c.ops[i].key);
		if (next == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	} while (now - t0 < budget_ns);
}

/* kv_help_resize -- the maintenance thread's share of a resize: stripes
 * no writer is holding move some buckets; a finished resize is closed,
 * and the next one's bucket array made ready when it is due. */
void kv_help_resize(pkv *db, unsigned dbi, bool move)
{
	struct kv_db *d = &db->dbs[dbi];
	unsigned done = 0;

	if (!move) {
		/* Only what writers ask for: an array prepared, a resize
		 * begun. */
		atomic_store(&d->resize_wanted, false);
		kv_maybe_resize(db, dbi, kv_resize_due_now(db, dbi), false,
				true);
		return;
	}

	/*
	 * The database lock is taken per stripe, not for the whole pass: a
	 * writer finishing or starting a resize waits for it exclusively,
	 * and behind that writer (the lock prefers writers) every other
	 * writer of the database -- the whole server.  One stripe's move
	 * is short; a pass over 256 stripes with a commit each is not.
	 */
	for (unsigned s = 0; s < KV_STRIPES; s++) {
		struct kv_table *tab;
		int r = 0;
		pthread_rwlock_rdlock(&d->lock);
		tab = kv_table_of(db, dbi);
		if (!table_resizing(tab)) {
			pthread_rwlock_unlock(&d->lock);
			break;
		}
		if (pthread_mutex_trylock(&d->stripe[s]) == 0) {
			/* The table again, with the stripe held: a batch's
			 * flush may have unlinked the one read above, and
			 * cannot while the stripe is held. */
			r = table_migrate(db, kv_table_of(db, dbi), s, 64);
			pthread_mutex_unlock(&d->stripe[s]);
		}
		pthread_rwlock_unlock(&d->lock);
		done += r == 1 || r == 2;
	}
	atomic_store(&d->resize_wanted, false);
	kv_maybe_resize(db, dbi, kv_resize_due_now(db, dbi),
			done == KV_STRIPES, true);
}
