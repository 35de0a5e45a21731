/*
 * kv_int.h -- the key-value engine's volatile state and the functions its
 * files share (db.c: open, close, databases, statistics, the maintenance
 * thread; table.c: chains, lookups, resizing, scans; kv.c: the write path
 * and the public read and write calls; type_hash.c and kv_hash.c: hashes,
 * and rename and copy of keys of any type).  Layout of the persistent side:
 * layout.h, "Key-value engine".
 *
 * Concurrency:
 *   - readers take no lock: an epoch section (heap_epoch) keeps every
 *     block they reach from being reused, and a lookup that finds nothing
 *     retries if the table's version changed meanwhile (a resize started
 *     or ended);
 *   - a writer holds its database's lock shared and the mutex of each
 *     stripe it touches; flushing, swapping and the two ends of a resize
 *     hold the database lock exclusively.  Lock order: databases by index,
 *     then stripes by (database, stripe).
 *   - every chain change is a single 8-byte store in place, in an order
 *     that keeps every entry reachable (table.c has the argument).
 */
#ifndef PKV_KV_INT_H
#define PKV_KV_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pkv.h"
#include "layout.h"
#include "pool.h"
#include "heap.h"
#include "tx.h"
#include "gc.h"
#include "ckpt.h"
#include "redo.h"
#include "epoch.h"
#include "errmsg.h"
#include "csum.h"

/* Volatile state of one numbered database. */
struct kv_db {
	pthread_rwlock_t lock;        /* see above */
	pthread_mutex_t stripe[KV_STRIPES];
	_Atomic int64_t count;        /* keys: mirror of the stripe counts */
	pthread_mutex_t resize_mtx;   /* one resize preparation at a time */
	atomic_bool resize_wanted;    /* for the maintenance thread */
};

struct pkv {
	struct heap *heap;
	struct pool *pool;
	struct kv_root *root;
	unsigned ndbs;
	uint64_t seed[2];
	struct kv_db *dbs;

	/* maintenance thread: active expiry, resize help */
	pthread_t thread;
	bool thread_running, thread_stop;
	pthread_mutex_t thread_mtx;
	pthread_cond_t thread_cond;
	struct ckpt *ckpt;            /* the background checkpointer, or
					 NULL (PKV_NOTHREADS) */
	bool verify;                  /* PKV_VERIFY: reads check checksums */
	unsigned expire_interval_ms;
	uint64_t expire_cursor[KV_MAX_DBS];

	pthread_mutex_t batch_mtx;    /* batches (which lock stripes in any
					 order) and database-wide changes
					 run one at a time */

	_Atomic uint64_t damage_events;   /* kv_damage calls */
	pthread_mutex_t damage_mtx;       /* guards damage */
	char damage[ERRMSG_MAX];          /* the first, or "" */

	_Atomic uint64_t payload_bytes;   /* key + value bytes written */
	_Atomic uint64_t expired_keys;    /* removed by active expiry */
};

/* ---- pool access ---- */

static inline void *kv_ptr(const pkv *db, uint64_t off)
{
	return pool_ptr(db->pool, off);
}

static inline uint64_t kv_load(const uint64_t *w)
{
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

static inline struct kv_table *kv_table_of(const pkv *db, unsigned dbi)
{
	return kv_ptr(db, kv_load(&db->root->table[dbi]));
}

static inline uint64_t kv_mask(const struct kv_buckets *b)
{
	return (1ull << b->log2) - 1;
}

static inline const char *kv_entry_key(const struct kv_entry *e)
{
	return (const char *)(e + 1);
}

static inline const char *kv_entry_val(const struct kv_entry *e)
{
	return (const char *)(e + 1) + e->klen;
}

/* kv_int_at -- where an integer string's word is, in bytes from its
 * entry's start: 8-byte aligned after a klen-byte key (layout.h).
 * kv_int_vlen -- the vlen of such an entry: padding and word. */
static inline uint64_t kv_int_at(uint64_t klen)
{
	return (sizeof(struct kv_entry) + klen + 7) & ~(uint64_t)7;
}

static inline uint64_t kv_int_vlen(uint64_t klen)
{
	return kv_int_at(klen) + 8 - sizeof(struct kv_entry) - klen;
}

/* KV_INT_TEXT -- room for an integer string's text (num.h's NUM_LL_CHARS,
 * rounded up). */
#define KV_INT_TEXT 24u

/* KV_INT_MAX_ENTRY -- the largest integer string's entry: all of it is
 * its block's prefix, which a record names in 16 bits (a longer key
 * gets a text value). */
#define KV_INT_MAX_ENTRY (LOG_BLOCK_PREFIX_MAX & ~7u)

/* kv_entry_is_int -- whether e is an integer string (flag, type and
 * length agree, so its word is inside it). */
static inline bool kv_entry_is_int(const struct kv_entry *e)
{
	return (e->flags & KV_ENTRY_INT) && e->vtype == PKV_TYPE_STRING &&
	       e->vlen == kv_int_vlen(e->klen);
}

/* The checkpointer's period while commits are pending (it also runs as
 * soon as a log ring passes half full): bounds what a restart replays
 * and how long freed blocks wait. */
#define KV_CKPT_PERIOD_MS 1000
/* On a disk a checkpoint writes back every page dirtied since the last,
 * and random writes dirty about the same pages however many there are:
 * the period is long (as the kernel's own 30 s write-back), and the rings
 * filling up set the pace.  Measured on a warm 1M-key pool under SET at
 * pipeline 16: 1 s wrote 2.9 GB per 2M writes, 30 s 1.4 GB (of which the
 * log's 0.5 GB). */
#define KV_CKPT_PERIOD_DISK_MS 30000
/* On a disk the checkpointer also runs at a lower priority (nice 10, as
 * RocksDB lowers its compaction threads' CPU priority): it copies every
 * dirty page twice (to its bounce buffer, then the page cache), hundreds
 * of MB a checkpoint, and on a busy machine that CPU came out of the
 * event loop's turns.  It still gets a tenth of a contended core, and
 * all of an idle one (a turn waiting for its sync); the rings' other
 * halves give it the time.  pkvbench --sections disk, three runs each
 * way, pkv-server's p99: MSET at pipeline 1 4.55 to 3.94 ms, SET at
 * pipeline 16 4.57 to 3.73, INCR 3.83 to 3.27 (SET and INCR at pipeline
 * 1 the same within noise, 1.2-1.6 ms); MSET at pipeline 16, 400k
 * requests: no commit waited for a full ring either way. */
#define KV_CKPT_NICE_DISK 10

/* Longest chain followed; a damaged pool could hold a cycle. */
#define KV_CHAIN_MAX (1u << 20)

/* kv_entry_placed -- whether an entry's header can be at e: aligned,
 * inside the heap (nothing of it read). */
static inline bool kv_entry_placed(const pkv *db, uint64_t e)
{
	return !(e & 7) && e >= db->pool->hdr->chunks_off + BLOCK_HDR_SIZE &&
	       e <= db->pool->size - sizeof(struct kv_entry);
}

/*
 * kv_entry_ok -- whether e can be an entry: aligned, inside the heap, its
 * key and value inside the pool.  Chains are followed only through
 * offsets that pass, so a damaged pool ends a chain early instead of
 * crashing a reader.
 */
static inline bool kv_entry_ok(const pkv *db, uint64_t e)
{
	uint64_t size = db->pool->size;
	const struct kv_entry *E;

	if (!kv_entry_placed(db, e))
		return false;
	E = kv_ptr(db, e);
	return (uint64_t)E->klen + E->vlen <= size - e - sizeof(*E);
}

/*
 * kv_entry_csum -- the checksum an entry stores: its hash, lengths, type,
 * key and value (not the words that change in place, an integer string's
 * value among them), so damage to the fixed part is found by pkv check
 * and, optionally, by every read.  The caller knows klen and vlen fit the
 * pool (kv_entry_ok).
 */
static inline uint32_t kv_entry_csum(const struct kv_entry *e)
{
	uint64_t h = csum64(&e->hash, offsetof(struct kv_entry, csum) -
			    offsetof(struct kv_entry, hash), ~(size_t)0);
	size_t fixed = (size_t)e->klen + e->vlen -
		       (kv_entry_is_int(e) ? 8 : 0);

	h = h * 0x9e3779b97f4a7c15ull ^ csum64(e + 1, fixed, ~(size_t)0);
	return (uint32_t)(h ^ h >> 32);
}

/* list_elem_csum -- the checksum a list element stores: its length and
 * bytes (the caller knows they fit the pool). */
static inline uint32_t list_elem_csum(const struct kv_list_elem *e)
{
	uint64_t h = csum64(&e->len, sizeof(e->len), ~(size_t)0);

	h = h * 0x9e3779b97f4a7c15ull ^ csum64(e + 1, e->len, ~(size_t)0);
	return (uint32_t)(h ^ h >> 32);
}

/* kv_entry_damaged -- with PKV_VERIFY, whether a read must not return
 * entry e (its checksum does not match; reported as damage). */
bool kv_entry_damaged(const pkv *db, unsigned dbi, const struct kv_entry *e);

/* kv_entry_expire -- an entry's expiry; a writer may change it in place
 * (pkv_expire) while a reader looks. */
static inline int64_t kv_entry_expire(const struct kv_entry *e)
{
	return __atomic_load_n(&e->expire_ms, __ATOMIC_RELAXED);
}

/* kv_expired_now -- whether an entry's expiry has passed; the clock is
 * read only for an entry that has one (most have none, and a read of it
 * was 4% of a get). */
static inline bool kv_expired_now(const struct kv_entry *e)
{
	int64_t x = __atomic_load_n(&e->expire_ms, __ATOMIC_RELAXED);
	return x != 0 && x <= pkv_now_ms();
}

/* ---- attaching (db.c) ---- */

/*
 * kv_attach -- the engine over an open heap (a file pool, or a memory
 * image in the crash simulator): creates the root in an empty pool,
 * checks it, runs the recovery audit, starts the threads.  kv_detach
 * stops and frees it, leaving the heap open.
 */
int kv_attach(struct heap *h, const struct pkv_options *o, pkv **dbp);
void kv_detach(pkv *db);

/* ---- errors (db.c) ---- */

/* kv_err -- record the detail of a failure for pkv_errmsg; return code. */
int kv_err(const pkv *db, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * kv_damage -- damage found while the pool is open (a link that cannot be
 * an entry, a chain with no end): counted, and the first one described,
 * for pkv_damage and pkv_stats.  The operation that met it fails with
 * PKV_ECORRUPT; the rest of the pool goes on serving.
 */
void kv_damage(const pkv *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- transactions with read-your-writes (table.c) ---- */

/*
 * A kvtx is a heap transaction that remembers the words it has set, so
 * later steps of the same transaction read the values they will have
 * (two inserts into one chain, two changes to one stripe's count).
 */
struct kvtx {
	struct tx *tx;
	pkv *db;
	unsigned n, cap;
	struct kvtx_word {
		uint64_t off, val;
		uint32_t logpos;      /* its newest entry in the record (for
					 kvtx_set), or TX_NO_POS */
	} *w;
	uint32_t *index;              /* open addressing over w, by offset:
					 slot = w's position + 1, 0 empty */
	unsigned index_mask;          /* index size - 1 */
	uint64_t *filter;             /* a bit per offset hash, set for
					 every word in w (8 bits a word of
					 w's capacity): a clear bit means
					 not written, without probing */
	unsigned filter_mask;         /* filter bits - 1 */
	struct kvtx_undo {            /* how to take back each kvtx_set */
		uint32_t pos;         /* in w; KVTX_INSERTED: was new;
					 KVTX_REWROTE: its entry was reset */
		uint32_t logpos;      /* the word's logpos before */
		uint64_t old;         /* the value before */
	} *undo;
	size_t nundo, undocap;
	bool keep;                    /* the arrays outlive the transaction
					 (kvtx_keep: a batch reused) */
};

/* A savepoint of a kvtx (kvtx_mark, kvtx_rollback). */
struct kvtx_mark {
	struct tx_mark tx;
	size_t nundo;
};

int kvtx_begin(pkv *db, struct kvtx *t);
/* kvtx_keep -- t (zeroed, or begun) keeps its arrays when a transaction
 * ends (up to a size), so that kvtx_rebegin starts the next one without
 * allocating; kvtx_release frees them. */
void kvtx_keep(struct kvtx *t);
int kvtx_rebegin(struct kvtx *t);
void kvtx_release(struct kvtx *t);
uint64_t kvtx_get(const struct kvtx *t, uint64_t off);
int kvtx_set(struct kvtx *t, uint64_t off, uint64_t val);
int kvtx_set_ordered(struct kvtx *t, uint64_t off, uint64_t val);
int kvtx_add(struct kvtx *t, uint64_t off, int64_t delta);
int kvtx_layout_raise(struct kvtx *t, uint64_t version);
void kvtx_mark(const struct kvtx *t, struct kvtx_mark *m);
void kvtx_rollback(struct kvtx *t, const struct kvtx_mark *m);
int kvtx_commit(struct kvtx *t);
int kvtx_commit_seq(struct kvtx *t, uint64_t *seqp);

/* kv_table_at -- database dbi's table as t sees it (a batch that flushed
 * or swapped databases holds the root's new words), or as stored when t
 * is NULL. */
static inline struct kv_table *kv_table_at(const pkv *db,
					   const struct kvtx *t, unsigned dbi)
{
	return t ? kv_ptr(db, kvtx_get(t, pool_off(db->pool,
						   &db->root->table[dbi])))
		 : kv_table_of(db, dbi);
}

/* kv_entry_int -- the value of the integer string at e, through t when
 * given (a batch reads its own INCRs), else as stored (one aligned word:
 * a lock-free reader sees the old value or the new). */
static inline int64_t kv_entry_int(const pkv *db, const struct kvtx *t,
				   uint64_t e)
{
	const struct kv_entry *E = kv_ptr(db, e);
	uint64_t w = e + kv_int_at(E->klen);

	return (int64_t)(t ? kvtx_get(t, w)
			   : __atomic_load_n((uint64_t *)kv_ptr(db, w),
					     __ATOMIC_RELAXED));
}

/* kv_ref_kept -- the entry at e (a key's or a field's) into a reference,
 * read through t when given: as kv_ref_value (kv_batch.h), an integer
 * string as its text, kept in the batch `keep` (as long as it lasts) or,
 * with keep NULL, in ref->text_.  0, or -ENOMEM (reported). */
int kv_ref_kept(const pkv *db, const struct kvtx *t, pkv_batch *keep,
		uint64_t e, struct pkv_ref *ref);
void kvtx_abort(struct kvtx *t);

/* ---- tables (table.c) ---- */

/* Where a key is: the word that points to its entry, and the entry. */
struct kv_loc {
	uint64_t link;                /* offset of the pointing word */
	uint64_t entry;               /* data offset of the entry */
};

/* kv_hash -- the key's hash under the pool's seed. */
uint64_t kv_hash(const pkv *db, const void *key, size_t klen);

/*
 * table_find -- look key up in a table for a writer holding its stripe
 * (reads through t when given).  Returns 1 with *loc filled, expired or
 * not; 0 if absent; PKV_ECORRUPT if its chain is damaged (reported).
 */
int table_find(const pkv *db, const struct kvtx *t, const struct kv_table *tab,
	       uint64_t hash, const void *key, size_t klen,
	       struct kv_loc *loc);

/*
 * table_lookup -- the lock-free lookup for readers (caller inside an epoch
 * section): 1 with the entry's data offset (expired or not) in *entry, 0
 * if absent, PKV_ECORRUPT if its chain is damaged (reported).
 */
int table_lookup(const pkv *db, unsigned dbi, uint64_t hash, const void *key,
		 size_t klen, uint64_t *entry);

/* table_prefetch -- start loading the buckets of hash[0..n) in dbi's
 * table (its current array), then the entries at their heads (caller
 * inside an epoch section). */
void table_prefetch(const pkv *db, unsigned dbi, const uint64_t *hash,
		    size_t n);

/* table_insert -- link a new entry (filled, not yet published) at the
 * head of its chain and count it.  Stripe held. */
int table_insert(struct kvtx *t, const struct kv_table *tab,
		 uint64_t entry_off);

/* table_replace -- put entry_off in old's place in its chain; free old. */
int table_replace(struct kvtx *t, const struct kv_table *tab,
		  const struct kv_loc *old, uint64_t entry_off);

/* table_unlink -- take loc's entry out of its chain, uncount and free it. */
int table_unlink(struct kvtx *t, const struct kv_table *tab,
		 const struct kv_loc *loc);

/* table_new -- allocate an empty table (2^log2 buckets) in t; its offset
 * to *offp.  Its blocks are written directly. */
int table_new(struct kvtx *t, unsigned log2, uint64_t *offp);

/* table_count -- sum of the stripes' key and expiry counts (through t,
 * when given). */
void table_count(const pkv *db, const struct kvtx *t,
		 const struct kv_table *tab, uint64_t *keys,
		 uint64_t *expires);

/*
 * table_migrate_tx -- in transaction t (stripe s held): move up to
 * max_buckets whole buckets of stripe s from the old bucket array to the
 * new one, each chain walked once and its entries moved last first.
 * Returns 1 when the stripe has nothing left to move (or no resize is in
 * progress), 0 when it has, PKV_ECORRUPT for a chain that cannot be right,
 * or -ENOMEM; after an error t holds part of the moves (roll it back).
 */
int table_migrate_tx(struct kvtx *t, const struct kv_table *tab, unsigned s,
		     unsigned max_buckets);

/*
 * table_migrate -- the same in a transaction of its own (stripe held).
 * Returns 2 when the stripe's last buckets were moved now, 1 when it had
 * none left, 0 when it has more, or an error.
 */
int table_migrate(pkv *db, struct kv_table *tab, unsigned s,
		  unsigned max_buckets);

/* table_resize_prepare -- an empty array of twice the buckets made
 * ready, durably, in tab->prepared (database lock held shared, resize
 * mutex held). */
int table_resize_prepare(pkv *db, struct kv_table *tab);

/* table_resize_start, table_resize_finish -- the two ends of a resize
 * (database lock held exclusively): start publishes the prepared array
 * (PKV_ENOTFOUND if there is none); finish does nothing (returns 0)
 * unless every stripe has moved all its buckets. */
int table_resize_start(pkv *db, struct kv_table *tab);
int table_resize_finish(pkv *db, struct kv_table *tab);

/* table_resizing -- whether a resize is in progress. */
static inline bool table_resizing(const struct kv_table *tab)
{
	return (kv_load(&tab->version) & 1) && kv_load(&tab->next);
}

/* table_scan -- one pkv_scan step (see pkv.h), through t when given;
 * inside a section; an integer's text kept in the batch `keep`, or for
 * the callback only with keep NULL (kv_ref_kept). */
int table_scan(pkv *db, const struct kvtx *t, pkv_batch *keep, unsigned dbi,
	       uint64_t cursor, unsigned count, pkv_scan_fn fn, void *ctx,
	       uint64_t *next);

/* table_scan_expired -- the same walk, visiting only expired entries. */
int table_scan_expired(pkv *db, unsigned dbi, uint64_t cursor,
		       unsigned count, pkv_scan_fn fn, void *ctx,
		       uint64_t *next);

/* kv_random_key -- copy out a random live key of database dbi, read
 * through t (a batch's view) when given: pkv_random_key and
 * pkv_batch_random_key.  Returns 0, PKV_ENOTFOUND or PKV_EINVAL. */
int kv_random_key(pkv *db, const struct kvtx *t, unsigned dbi, void *buf,
		  size_t bufsize, size_t *klen);

/* table_random -- a random live entry's offset, or 0 (through t when
 * given; inside a section). */
uint64_t table_random(pkv *db, const struct kvtx *t, unsigned dbi);

/* ---- trace functions for the collector (table.c) ---- */
void table_register_types(struct gc *gc);

/* ---- hashes (type_hash.c; layout.h, "Hashes") ---- */

/* kv_area_ok -- off can hold len bytes of a block in the heap (a pointer
 * read from the pool that may be damaged). */
static inline bool kv_area_ok(const pkv *db, uint64_t off, uint64_t len)
{
	return !(off & 7) && off >= db->pool->hdr->chunks_off + BLOCK_HDR_SIZE &&
	       off <= db->pool->size && len <= db->pool->size - off;
}

/* kv_coll_of_entry -- the header offset (a header of hsize bytes) a
 * collection key's entry of type vtype holds, or 0 if it cannot be one
 * (damage, reported) (kv.c). */
uint64_t kv_coll_of_entry(const pkv *db, const struct kv_entry *e,
			  unsigned vtype, uint64_t hsize);

/* hash_of_entry -- the header offset a hash key's entry holds; 0 (and
 * damage reported) if it cannot be one. */
uint64_t hash_of_entry(const pkv *db, const struct kv_entry *e);

/* hash_new -- an empty hash header in t; its offset to *offp. */
int hash_new(struct kvtx *t, uint64_t *offp);

/* hash_count -- the hash's fields (through t when given). */
uint64_t hash_count(const pkv *db, const struct kvtx *t, uint64_t hoff);

/* hash_find -- look a field (hash fh) up: 1 with *loc, 0 absent, or
 * PKV_ECORRUPT (reported).  The caller holds the key's stripe. */
int hash_find(const pkv *db, const struct kvtx *t, uint64_t hoff,
	      uint64_t fh, const void *field, size_t flen,
	      struct kv_loc *loc);

/* hash_insert, hash_replace, hash_unlink -- link a new field entry (type
 * KV_TYPE_FIELD, filled), put one in an old one's place (freeing it), or
 * unlink and free one; the count follows, and an insert may split a
 * bucket. */
int hash_insert(struct kvtx *t, uint64_t hoff, uint64_t entry);
int hash_replace(struct kvtx *t, const struct kv_loc *old, uint64_t entry);
int hash_unlink(struct kvtx *t, uint64_t hoff, const struct kv_loc *loc);

/* hash_scan -- visit the fields of about count buckets from cursor (as
 * pkv_hscan); an integer's text kept in the batch `keep` (kv_ref_kept). */
int hash_scan(const pkv *db, const struct kvtx *t, pkv_batch *keep,
	      uint64_t hoff, uint64_t cursor, unsigned count, pkv_scan_fn fn,
	      void *ctx, uint64_t *next);

/* kv_random_field -- the field of the table at hoff (0: none) that r
 * picks, as an item (field, value) valid until the batch's next call;
 * PKV_ENOTFOUND for none (pkv_batch_hrandfield_ref, srandmember). */
int kv_random_field(pkv_batch *b, unsigned dbi, uint64_t hoff, uint64_t r,
		    struct pkv_item *item);

/* hash_random -- the field random number r picks (the first non-empty
 * bucket from r mod nbuckets, then an entry of its chain): 1 with *loc,
 * 0 if the table is empty, or PKV_ECORRUPT. */
int hash_random(const pkv *db, const struct kvtx *t, uint64_t hoff,
		uint64_t r, struct kv_loc *loc);

/* hash_register_types -- the collector's trace functions for hashes. */
void hash_register_types(struct gc *gc);

/* ---- lists (type_list.c) ---- */

/* list_of_entry -- the header offset a list key's entry holds; 0 (and
 * reported) if it cannot be one. */
uint64_t list_of_entry(const pkv *db, const struct kv_entry *e);

/* list_new -- an empty list header in t; list_elem_new -- a new unlinked
 * element; offsets to *offp. */
int list_new(struct kvtx *t, uint64_t *offp);
int list_elem_new(struct kvtx *t, const void *val, size_t len,
		  uint64_t *offp);

/* list_count -- the list's elements (through t when given). */
uint64_t list_count(const pkv *db, const struct kvtx *t, uint64_t loff);

/* list_value -- element e's bytes (0, or PKV_ECORRUPT with PKV_VERIFY). */
int list_value(const pkv *db, uint64_t loff, uint64_t e, const char **p,
	       size_t *len);

/* Walking: list_end -- the head (or tail) element; list_step -- the next
 * (back: previous) element, 0 past the end; list_at -- the element at
 * index i < count, from the nearer end.  0, or PKV_ECORRUPT (reported). */
int list_end(const pkv *db, const struct kvtx *t, uint64_t loff, bool tail,
	     uint64_t *e);
int list_step(const pkv *db, const struct kvtx *t, uint64_t loff,
	      uint64_t e, bool back, uint64_t *nx);
int list_at(const pkv *db, const struct kvtx *t, uint64_t loff, uint64_t i,
	    uint64_t *e);

/* list_link -- link new element e between prev and next (0: an end);
 * list_unlink -- take e out and free it at commit; list_cut -- keep only
 * first..last (n elements), the rest left to the collector. */
int list_link(struct kvtx *t, uint64_t loff, uint64_t prev, uint64_t next,
	      uint64_t e);
int list_unlink(struct kvtx *t, uint64_t loff, uint64_t e);
int list_cut(struct kvtx *t, uint64_t loff, uint64_t first, uint64_t last,
	     uint64_t n);

/* list_register_types -- the collector's trace functions for lists. */
void list_register_types(struct gc *gc);

/* ---- sorted sets (type_zset.c) ---- */

uint64_t zset_of_entry(const pkv *db, const struct kv_entry *e);
int zset_new(struct kvtx *t, uint64_t *offp);
uint64_t zset_count(const pkv *db, const struct kvtx *t, uint64_t zoff);
uint64_t zset_members(const pkv *db, const struct kvtx *t, uint64_t zoff);
unsigned zset_level_for(uint64_t hash);
int zset_node_new(struct kvtx *t, unsigned level, double score,
		  uint64_t field, uint64_t *offp);
double zset_score_of(const pkv *db, const struct kvtx *t, uint64_t node);
int zset_member_of(const pkv *db, const struct kvtx *t, uint64_t zoff,
		   uint64_t node, const char **p, size_t *len);
int zset_insert(struct kvtx *t, uint64_t zoff, uint64_t node);
int zset_unlink(struct kvtx *t, uint64_t zoff, uint64_t node);
int zset_set_score(struct kvtx *t, uint64_t zoff, uint64_t node,
		   double score);
int zset_rank(const pkv *db, const struct kvtx *t, uint64_t zoff,
	      uint64_t node, uint64_t *rank);
int zset_at(const pkv *db, const struct kvtx *t, uint64_t zoff, uint64_t r,
	    uint64_t *node);
int zset_first_in(const pkv *db, const struct kvtx *t, uint64_t zoff,
		  const struct pkv_zrange *q, uint64_t *node, uint64_t *rank);
int zset_last_in(const pkv *db, const struct kvtx *t, uint64_t zoff,
		 const struct pkv_zrange *q, uint64_t *node, uint64_t *rank);
int zset_step(const pkv *db, const struct kvtx *t, uint64_t zoff, uint64_t x,
	      bool back, uint64_t *nx);
void zset_register_types(struct gc *gc);

/* ---- write path (kv.c) ---- */

enum kv_opcode {
	KV_OP_PUT,
	KV_OP_DEL,
	KV_OP_EXPIRE,
	KV_OP_DEL_EXPIRED,            /* delete only if expired (active expiry) */
	KV_OP_HSET,                   /* set field (PKV_NX: if absent) */
	KV_OP_HDEL,                   /* delete field */
	KV_OP_LPUSH,                  /* push val (PKV_TAIL, PKV_XX) */
	KV_OP_LPOP,                   /* pop into *ref (PKV_TAIL) */
	KV_OP_LSET,                   /* element `index` = val */
	KV_OP_LINSERT,                /* val before (PKV_AFTER: after) the
					 first element equal to field */
	KV_OP_LREM,                   /* remove `index` (a count, as LREM)
					 elements equal to val */
	KV_OP_LTRIM,                  /* keep elements index..index2 */
	KV_OP_SADD,                   /* add member `field` */
	KV_OP_SREM,                   /* remove member `field` */
	KV_OP_ZADD,                   /* member `field` at *score (PKV_NX
					 XX GT LT ZINCR) */
	KV_OP_ZREM,                   /* remove member `field` */
	KV_OP_ZREMRANGE,              /* remove the members of *zq */
	KV_OP_MOVE,                   /* the key's entry, if it is still the
					 block at `index`, copied to a new
					 block (pkv_defrag) */
	KV_OP_INCR,                   /* add `index` to an integer string
					 (made 0 if missing); the sum to
					 *num */
	KV_OP_HINCR,                  /* KV_OP_INCR on hash field `field` */
	/* Whole databases (no key; kv_dbwide): */
	KV_OP_FLUSH,                  /* databases dbi..index get new empty
					 tables (pkv_batch_flushdb, _all) */
	KV_OP_SWAPDB,                 /* databases dbi and index exchange
					 tables (pkv_batch_swapdb) */
};

struct kv_op {
	enum kv_opcode op;
	unsigned dbi;
	const void *key;
	size_t klen;
	const void *val;
	size_t vlen;
	unsigned flags;               /* PKV_NX, PKV_XX, PKV_KEEPTTL */
	int64_t expire_ms;
	const void *field;            /* KV_OP_HSET, KV_OP_HDEL; the pivot
					 of KV_OP_LINSERT */
	size_t flen;
	int64_t index, index2;        /* list ops (see enum kv_opcode) */
	struct pkv_ref *ref;          /* KV_OP_LPOP: the element popped */
	int64_t *num;                 /* KV_OP_INCR: the value after */
	uint64_t *n;                  /* list ops: the length after, or
					 KV_OP_LREM's removed count (or
					 NULL); KV_OP_ZREMRANGE's count */
	double *score;                /* KV_OP_ZADD: in and out */
	const struct pkv_zrange *zq;  /* KV_OP_ZREMRANGE */
};

/* kv_apply -- apply ops in order as one transaction (see pkv_batch_commit). */
int kv_apply(pkv *db, const struct kv_op *ops, size_t n, int *results);

/* kv_defrag -- pkv_defrag over the runs at most max_pct percent full
 * (the crash simulator moves entries out of fuller ones too). */
int kv_defrag(pkv *db, unsigned max_pct, struct pkv_defrag_stats *st);

/* kv_expire_cycle -- remove expired keys of dbi for up to budget_ns. */
void kv_expire_cycle(pkv *db, unsigned dbi, uint64_t budget_ns);

/* kv_help_resize -- prepare and start the resizes writers asked for;
 * with `move`, also move buckets of idle stripes and finish resizes. */
void kv_help_resize(pkv *db, unsigned dbi, bool move);

#endif /* PKV_KV_INT_H */
