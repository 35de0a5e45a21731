/*
 * table.c -- the persistent hash tables of the key-value engine: chains,
 * lookups, incremental resizing, scans (layout: layout.h; locking:
 * kv_int.h).
 *
 * Why lock-free readers stay right.  Every change to a chain is one 8-byte
 * store, applied by the redo log in the order it was logged:
 *   - insert: the new entry (already pointing at the old head) becomes
 *     the head;
 *   - replace: the new entry (pointing at the old one's successor) takes
 *     the old one's place; the old one still points into the chain;
 *   - unlink: the predecessor skips the entry, which still points on;
 *   - resize move, of the LAST entry E of an old chain: E.next = new
 *     chain's head; new head = E; E's predecessor (or the old head) = 0.
 *     After each of the three stores, every entry of the old chain is
 *     reachable from the old head and every entry of the new chain from
 *     the new head.
 * A reader therefore finds a key by searching the old bucket and then the
 * new one, unless its stripe's progress word says the bucket has moved
 * (that word is stored after the moves it counts).  Freed entries are not
 * reused while a reader may be on them (epoch grace periods in the heap).
 * What a reader cannot see coming is a resize starting or ending between
 * its reads of the table; both change the table's version, and a lookup
 * that finds nothing retries when the version moved.  The two ends store
 * in an order that makes this enough: start sets next, then the version;
 * finish sets the version, then cur = next, then next = 0; readers read
 * the version, then next, then cur.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv_int.h"
#include "hash.h"

#define ENTRY_NEXT 0  /* offset of kv_entry.next in the entry */
#define ENTRY_EXPIRE offsetof(struct kv_entry, expire_ms)
#define TABLE_WORD(toff, f) ((toff) + offsetof(struct kv_table, f))

/* table_drop -- an entry leaves its chain: free it (one this transaction
 * made, in a batch that sets a key twice, is given back at commit). */
static int table_drop(struct kvtx *t, uint64_t entry)
{
	return tx_free(t->tx, entry);
}

/* ---- kvtx: a transaction that reads its own writes ---- */

#define KVTX_INSERTED (1u << 31)  /* undo: the word was new */
#define KVTX_REWROTE (1u << 30)   /* undo: its entry in the record was reset */

/* kvtx_begin -- start a transaction with an empty write set. */
int kvtx_begin(pkv *db, struct kvtx *t)
{
	memset(t, 0, sizeof(*t));
	t->db = db;
	return tx_begin(db->heap, &t->tx);
}

/* kvtx_hash -- the hash of a word's offset that places it in the index
 * (its high bits) and the filter (its low bits). */
static inline uint64_t kvtx_hash(uint64_t off)
{
	return (off >> 3) * 0x9e3779b97f4a7c15ull;
}

/* kvtx_filter_pos -- the number of off's bit in the filter. */
static inline uint64_t kvtx_filter_pos(const struct kvtx *t, uint64_t off)
{
	return (kvtx_hash(off) >> 8) & t->filter_mask;
}

/* kvtx_filter_has -- whether off's bit is set (off may be in w). */
static inline bool kvtx_filter_has(const struct kvtx *t, uint64_t off)
{
	uint64_t b = kvtx_filter_pos(t, off);

	return t->filter[b >> 6] >> (b & 63) & 1;
}

/* kvtx_filter_add -- set off's bit in the filter. */
static inline void kvtx_filter_add(struct kvtx *t, uint64_t off)
{
	uint64_t b = kvtx_filter_pos(t, off);

	t->filter[b >> 6] |= 1ull << (b & 63);
}

/* kvtx_slot -- where off is, or would go, in the index. */
static unsigned kvtx_slot(const struct kvtx *t, uint64_t off)
{
	unsigned i = (unsigned)(kvtx_hash(off) >> 40) & t->index_mask;

	while (t->index[i] && t->w[t->index[i] - 1].off != off)
		i = (i + 1) & t->index_mask;
	return i;
}

/*
 * kvtx_get -- the word at off as this transaction will leave it.  Most
 * reads are of words the transaction has not written (a walk down a
 * sorted set's levels, a chain), and in a big batch the index and w are
 * too big for the cache: the filter, a byte per word of w's capacity
 * (the index and w take 24), answers most of those with one probe
 * instead of a walk along the index and w.
 */
uint64_t kvtx_get(const struct kvtx *t, uint64_t off)
{
	if (t->n && kvtx_filter_has(t, off)) {
		unsigned i = kvtx_slot(t, off);
		if (t->index[i])
			return t->w[t->index[i] - 1].val;
	}
	return kv_load(kv_ptr(t->db, off));
}

/* kvtx_grow -- room for one more word; the index stays under half full. */
static int kvtx_grow(struct kvtx *t)
{
	unsigned cap = t->cap ? 2 * t->cap : 16;
	struct kvtx_word *w = realloc(t->w, cap * sizeof(*w));
	uint32_t *index = calloc(2 * cap, sizeof(*index));
	uint64_t *filter = calloc(cap / 8, sizeof(*filter));   /* 8 cap bits */

	if (!w || !index || !filter) {
		if (w)
			t->w = w;
		free(index);
		free(filter);
		return -ENOMEM;
	}
	t->w = w;
	t->cap = cap;
	free(t->index);
	t->index = index;
	t->index_mask = 2 * cap - 1;
	free(t->filter);
	t->filter = filter;
	t->filter_mask = 8 * cap - 1;
	for (unsigned k = 0; k < t->n; k++) {
		t->index[kvtx_slot(t, t->w[k].off)] = k + 1;
		kvtx_filter_add(t, t->w[k].off);
	}
	return 0;
}

/* kvtx_undo_room -- room for one more undo entry. */
static int kvtx_undo_room(struct kvtx *t)
{
	if (t->nundo == t->undocap) {
		size_t cap = t->undocap ? 2 * t->undocap : 16;
		struct kvtx_undo *u = realloc(t->undo, cap * sizeof(*u));
		if (!u)
			return -ENOMEM;
		t->undo = u;
		t->undocap = cap;
	}
	return 0;
}

/*
 * kvtx_store -- set a word at commit, and remember it (and how to take it
 * back).  Memory is found first, so a failure leaves nothing half done.
 *
 * A word set again in the transaction only changes its entry's value in
 * the record (kvtx_set): a group commit that pushes 800 elements to one
 * list logs and applies the list's head and count once, not 800 times.
 * Its final value then lands where its first store was, not after the
 * stores made in between, which only a reader without the transaction's
 * locks could tell, and only by following one word to another:
 * collections are read under their key's stripe, and a counter, an
 * expiry or an integer string's value is one word read alone.  The words
 * lock-free readers follow, the key table's chains and its resize
 * progress (this file's argument at the top), are stored in order
 * (kvtx_set_ordered): each store an entry of its own, applied in the
 * order made.
 */
static int kvtx_store(struct kvtx *t, uint64_t off, uint64_t val,
		      bool ordered)
{
	struct kvtx_undo *u;
	struct kvtx_word *w;
	uint32_t pos, rewrote = 0;
	int err;
	unsigned i;

	if ((t->n == t->cap && (err = kvtx_grow(t))) ||
	    (err = kvtx_undo_room(t)))
		return err;
	i = kvtx_slot(t, off);
	w = t->index[i] ? &t->w[t->index[i] - 1] : NULL;
	if (w && !ordered && w->logpos != TX_NO_POS) {
		pos = w->logpos;
		rewrote = KVTX_REWROTE;
		tx_reset(t->tx, pos, off, val);
	} else if ((err = tx_set_pos(t->tx, off, val, &pos))) {
		return err;
	}
	u = &t->undo[t->nundo++];
	if (w) {
		u->pos = (uint32_t)(w - t->w) | rewrote;
		u->logpos = w->logpos;
		u->old = w->val;
		w->val = val;
		w->logpos = pos;
		return 0;
	}
	u->pos = t->n | KVTX_INSERTED;
	u->logpos = TX_NO_POS;
	u->old = 0;
	t->w[t->n].off = off;
	t->w[t->n].val = val;
	t->w[t->n].logpos = pos;
	t->index[i] = ++t->n;
	kvtx_filter_add(t, off);
	return 0;
}

/* kvtx_set -- a store of a word no reader follows to another without
 * the transaction's locks (kvtx_store). */
int kvtx_set(struct kvtx *t, uint64_t off, uint64_t val)
{
	return kvtx_store(t, off, val, false);
}

/* kvtx_set_ordered -- a store applied in the order made (kvtx_store). */
int kvtx_set_ordered(struct kvtx *t, uint64_t off, uint64_t val)
{
	return kvtx_store(t, off, val, true);
}

/* kvtx_add -- add delta to a counter word at commit. */
int kvtx_add(struct kvtx *t, uint64_t off, int64_t delta)
{
	return kvtx_set(t, off, kvtx_get(t, off) + (uint64_t)delta);
}

/* kvtx_layout_raise -- in t, raise the root's key-value layout version
 * to `version` if it is lower (layout.h: the first use of a newer part of
 * the format tells older libraries, which then refuse the pool). */
int kvtx_layout_raise(struct kvtx *t, uint64_t version)
{
	uint64_t voff = pool_off(t->db->pool, &t->db->root->version);

	if (kvtx_get(t, voff) >= version)
		return 0;
	return kvtx_set(t, voff, version);
}

/* kvtx_mark -- a savepoint of the transaction and its write set. */
void kvtx_mark(const struct kvtx *t, struct kvtx_mark *m)
{
	tx_mark(t->tx, &m->tx);
	m->nundo = t->nundo;
}

/* kvtx_rollback -- undo everything after the mark, newest first. */
void kvtx_rollback(struct kvtx *t, const struct kvtx_mark *m)
{
	while (t->nundo > m->nundo) {
		const struct kvtx_undo *u = &t->undo[--t->nundo];
		if (u->pos & KVTX_INSERTED) {
			/* The newest word: no later one probed past it.
			 * Its filter bit stays (a bit may be shared; a set
			 * bit only costs a probe). */
			t->n--;
			t->index[kvtx_slot(t, t->w[t->n].off)] = 0;
		} else if (u->pos & KVTX_REWROTE) {
			/* Its entry may be before the mark: it gets the
			 * old value back (one after is dropped anyway). */
			struct kvtx_word *w = &t->w[u->pos & ~KVTX_REWROTE];
			w->val = u->old;
			tx_reset(t->tx, w->logpos, w->off, u->old);
		} else {
			t->w[u->pos].val = u->old;
			t->w[u->pos].logpos = u->logpos;
		}
	}
	tx_rollback(t->tx, &m->tx);
}

#define KVTX_KEEP_CAP 64u   /* words of w a kept write set holds on to */

/* kvtx_keep -- see kv_int.h. */
void kvtx_keep(struct kvtx *t)
{
	t->keep = true;
}

/* kvtx_rebegin -- start a transaction on a kvtx that kept its (empty)
 * write set from the one before, or that is all zero (as kvtx_begin would
 * leave it) but for db and keep. */
int kvtx_rebegin(struct kvtx *t)
{
	t->tx = NULL;
	return tx_begin(t->db->heap, &t->tx);
}

/* kvtx_release -- forget the write set and free its arrays. */
void kvtx_release(struct kvtx *t)
{
	free(t->w);
	free(t->index);
	free(t->filter);
	free(t->undo);
	t->w = NULL;
	t->index = NULL;
	t->filter = NULL;
	t->undo = NULL;
	t->n = t->cap = 0;
	t->nundo = t->undocap = 0;
	t->tx = NULL;
}

/* kvtx_free -- forget the write set; a kept one that stayed small keeps
 * its arrays, emptied (kvtx_keep). */
static void kvtx_free(struct kvtx *t)
{
	if (!t->keep || t->cap > KVTX_KEEP_CAP) {
		kvtx_release(t);
		return;
	}
	if (t->n) {
		memset(t->index, 0, (size_t)(t->index_mask + 1) *
		       sizeof(*t->index));
		memset(t->filter, 0, (size_t)(t->filter_mask + 1) / 8);
	}
	t->n = 0;
	t->nundo = 0;
	t->tx = NULL;
}

/* kvtx_commit -- commit (durable on return) and forget the write set. */
int kvtx_commit(struct kvtx *t)
{
	return kvtx_commit_seq(t, NULL);
}

/* kvtx_commit_seq -- the same, and the commit's seq (0: nothing was
 * committed, or there was nothing to commit). */
int kvtx_commit_seq(struct kvtx *t, uint64_t *seqp)
{
	int err = tx_commit_seq(t->tx, seqp);
	kvtx_free(t);
	return err;
}

/* kvtx_abort -- drop everything. */
void kvtx_abort(struct kvtx *t)
{
	tx_abort(t->tx);
	kvtx_free(t);
}

/* ---- geometry ---- */

/* kv_hash -- SipHash of the key under the pool's seed. */
uint64_t kv_hash(const pkv *db, const void *key, size_t klen)
{
	return hash_key(db->seed, key, klen);
}

/* head_off -- the pool offset of bucket b's head word in array arr (its
 * header never changes: read without a lock). */
static inline uint64_t head_off(const pkv *db, uint64_t arr, uint64_t b)
{
	return arr + offsetof(struct kv_buckets, head) +
	       8 * kv_bucket_slot(kv_ptr(db, arr), b);
}

/* stripe_off -- the pool offset of stripe s of a table. */
static inline uint64_t stripe_off(const struct kv_table *tab, unsigned s)
{
	return kv_load(&tab->stripes) + (uint64_t)s * sizeof(struct kv_stripe);
}

static inline unsigned stripe_of(uint64_t hash)
{
	return (unsigned)(hash & (KV_STRIPES - 1));
}

/* migrated -- whether the old bucket of hash has moved, given the
 * stripe's progress word and the table version of the resize. */
static bool migrated(uint64_t migr, uint64_t version, uint64_t hash,
		     const struct kv_buckets *cur)
{
	uint64_t j = (hash & kv_mask(cur)) >> KV_STRIPE_BITS;

	return (version & 1) && (migr >> 32) == (version & 0xffffffffu) &&
	       j < (migr & 0xffffffffu);
}

/* read_word -- through t when given, else from the pool. */
static inline uint64_t read_word(const pkv *db, const struct kvtx *t,
				 uint64_t off)
{
	return t ? kvtx_get(t, off) : kv_load(kv_ptr(db, off));
}

/*
 * chain_find -- search one bucket's chain; fills loc when found.  Returns
 * 1 found, 0 not, or PKV_ECORRUPT when the chain holds a link that cannot
 * be an entry (or never ends): the damage is reported (kv_damage), and
 * the operation fails rather than act on a chain it cannot trust.
 */
static int chain_find(const pkv *db, const struct kvtx *t, uint64_t arr,
		      uint64_t hash, const void *key, size_t klen,
		      struct kv_loc *loc)
{
	const struct kv_buckets *b = kv_ptr(db, arr);
	uint64_t link = head_off(db, arr, hash & kv_mask(b));
	uint64_t e = read_word(db, t, link);
	unsigned n;

	for (n = 0; e && n < KV_CHAIN_MAX && kv_entry_ok(db, e); n++) {
		const struct kv_entry *E = kv_ptr(db, e);
		if (E->hash == hash && E->klen == klen &&
		    (klen == 0 || memcmp(kv_entry_key(E), key, klen) == 0)) {
			if (loc) {
				loc->link = link;
				loc->entry = e;
			}
			return 1;
		}
		link = e + ENTRY_NEXT;
		e = read_word(db, t, link);
	}
	if (!e)
		return 0;
	kv_damage(db, "bucket chain at offset %llu: %s at offset %llu",
		  (unsigned long long)head_off(db, arr, hash & kv_mask(b)),
		  n >= KV_CHAIN_MAX ? "no end (a cycle?)" : "a link that is "
		  "not an entry", (unsigned long long)link);
	return PKV_ECORRUPT;
}

/* table_find -- where key is, for a writer holding its stripe. */
int table_find(const pkv *db, const struct kvtx *t, const struct kv_table *tab,
	       uint64_t hash, const void *key, size_t klen,
	       struct kv_loc *loc)
{
	uint64_t cur = kv_load(&tab->cur), nxt = kv_load(&tab->next);

	if (nxt && nxt != cur) {
		uint64_t migr = read_word(db, t, stripe_off(tab, stripe_of(hash))
					  + offsetof(struct kv_stripe, migr));
		if (!migrated(migr, kv_load(&tab->version), hash,
			      kv_ptr(db, cur))) {
			int r = chain_find(db, t, cur, hash, key, klen, loc);
			if (r)
				return r;
		}
		return chain_find(db, t, nxt, hash, key, klen, loc);
	}
	return chain_find(db, t, cur, hash, key, klen, loc);
}

/* table_lookup -- lock-free lookup; retries across a resize's two ends. */
int table_lookup(const pkv *db, unsigned dbi, uint64_t hash, const void *key,
		 size_t klen, uint64_t *entry)
{
	struct kv_loc loc;

	for (;;) {
		uint64_t toff = kv_load(&db->root->table[dbi]);
		const struct kv_table *tab = kv_ptr(db, toff);
		uint64_t v = kv_load(&tab->version);
		uint64_t nxt = kv_load(&tab->next);
		uint64_t cur = kv_load(&tab->cur);
		int found = 0;

		if (nxt && nxt != cur) {
			uint64_t migr = kv_load(kv_ptr(db, stripe_off(tab,
					stripe_of(hash)) +
					offsetof(struct kv_stripe, migr)));
			if (!migrated(migr, v, hash, kv_ptr(db, cur)))
				found = chain_find(db, NULL, cur, hash, key,
						   klen, &loc);
			if (!found)
				found = chain_find(db, NULL, nxt, hash, key,
						   klen, &loc);
		} else {
			found = chain_find(db, NULL, cur, hash, key, klen,
					   &loc);
		}
		if (found > 0)
			*entry = loc.entry;
		if (found)
			return found;
		if (kv_load(&tab->version) == v &&
		    kv_load(&db->root->table[dbi]) == toff)
			return 0;
	}
}

/* table_prefetch -- see kv_int.h.  Two passes: every bucket's line is
 * asked for before any is read, then each head word (by now arriving
 * together) names the entry to ask for.  A resize's other array is left
 * alone: the hint is for the common case. */
void table_prefetch(const pkv *db, unsigned dbi, const uint64_t *hash,
		    size_t n)
{
	uint64_t cur = kv_load(&kv_table_of(db, dbi)->cur);
	uint64_t mask = kv_mask(kv_ptr(db, cur));

	for (size_t i = 0; i < n; i++)
		__builtin_prefetch(kv_ptr(db, head_off(db, cur, hash[i] & mask)));
	for (size_t i = 0; i < n; i++) {
		uint64_t e = kv_load(kv_ptr(db, head_off(db, cur, hash[i] & mask)));
		if (kv_entry_placed(db, e))
			__builtin_prefetch(kv_ptr(db, e));
	}
}

/* table_insert -- publish a new entry at the head of its chain. */
int table_insert(struct kvtx *t, const struct kv_table *tab,
		 uint64_t entry_off)
{
	pkv *db = t->db;
	struct kv_entry *E = kv_ptr(db, entry_off);
	uint64_t arr = table_resizing(tab) ? kv_load(&tab->next)
					   : kv_load(&tab->cur);
	const struct kv_buckets *b = kv_ptr(db, arr);
	uint64_t head = head_off(db, arr, E->hash & kv_mask(b));
	uint64_t st = stripe_off(tab, stripe_of(E->hash));
	int err;

	E->next = kvtx_get(t, head);   /* new block: a direct store */
	if ((err = kvtx_set_ordered(t, head, entry_off)) ||
	    (err = kvtx_add(t, st + offsetof(struct kv_stripe, count), 1)))
		return err;
	if (E->expire_ms)
		err = kvtx_add(t, st + offsetof(struct kv_stripe, expires), 1);
	return err;
}

/* table_replace -- the new entry takes the old one's place. */
int table_replace(struct kvtx *t, const struct kv_table *tab,
		  const struct kv_loc *old, uint64_t entry_off)
{
	pkv *db = t->db;
	struct kv_entry *N = kv_ptr(db, entry_off);
	uint64_t st = stripe_off(tab, stripe_of(N->hash));
	int64_t dexp = (N->expire_ms != 0) -
		       (kvtx_get(t, old->entry + ENTRY_EXPIRE) != 0);
	int err;

	N->next = kvtx_get(t, old->entry + ENTRY_NEXT);
	if ((err = kvtx_set_ordered(t, old->link, entry_off)) ||
	    (err = table_drop(t, old->entry)))
		return err;
	if (dexp)
		err = kvtx_add(t, st + offsetof(struct kv_stripe, expires),
			       dexp);
	return err;
}

/* table_unlink -- skip the entry in its chain, uncount and free it (or,
 * for an entry this transaction made, give it back). */
int table_unlink(struct kvtx *t, const struct kv_table *tab,
		 const struct kv_loc *loc)
{
	const struct kv_entry *E = kv_ptr(t->db, loc->entry);
	uint64_t st = stripe_off(tab, stripe_of(E->hash));
	bool expiring = kvtx_get(t, loc->entry + ENTRY_EXPIRE) != 0;
	int err;

	if ((err = kvtx_set_ordered(t, loc->link,
			    kvtx_get(t, loc->entry + ENTRY_NEXT))) ||
	    (err = table_drop(t, loc->entry)) ||
	    (err = kvtx_add(t, st + offsetof(struct kv_stripe, count), -1)))
		return err;
	if (expiring)
		err = kvtx_add(t, st + offsetof(struct kv_stripe, expires), -1);
	return err;
}

/* buckets_new -- an empty bucket array of 2^log2 heads, written directly. */
static int buckets_new(struct kvtx *t, unsigned log2, unsigned flags,
		       uint64_t *offp)
{
	size_t size = sizeof(struct kv_buckets) + (8ull << log2);
	int err = tx_alloc(t->tx, size, KV_TYPE_BUCKETS, offp);
	struct kv_buckets *B;

	if (err)
		return err;
	B = kv_ptr(t->db, *offp);
	memset(B, 0, size);
	B->log2 = log2;
	B->flags = flags;
	return 0;
}

/* table_new -- table, bucket array and stripes, all zero but the links. */
int table_new(struct kvtx *t, unsigned log2, uint64_t *offp)
{
	size_t ssize = KV_STRIPES * sizeof(struct kv_stripe);
	uint64_t toff, boff, soff;
	struct kv_table *tab;
	int err;

	if ((err = tx_alloc(t->tx, sizeof(*tab), KV_TYPE_TABLE, &toff)) ||
	    (err = buckets_new(t, log2, 0, &boff)) ||
	    (err = tx_alloc(t->tx, ssize, KV_TYPE_STRIPES, &soff)))
		return err;
	memset(kv_ptr(t->db, soff), 0, ssize);
	tab = kv_ptr(t->db, toff);
	memset(tab, 0, sizeof(*tab));
	tab->cur = boff;
	tab->stripes = soff;
	*offp = toff;
	return 0;
}

/* table_count -- sum the stripes. */
void table_count(const pkv *db, const struct kvtx *t,
		 const struct kv_table *tab, uint64_t *keys,
		 uint64_t *expires)
{
	uint64_t st = kv_load(&tab->stripes);
	uint64_t k = 0, x = 0;

	for (unsigned s = 0; s < KV_STRIPES; s++) {
		uint64_t o = st + (uint64_t)s * sizeof(struct kv_stripe);
		k += read_word(db, t, o + offsetof(struct kv_stripe, count));
		x += read_word(db, t, o + offsetof(struct kv_stripe, expires));
	}
	if (keys)
		*keys = k;
	if (expires)
		*expires = x;
}

/* ---- resizing ---- */

#define MIGRATE_INLINE 16   /* chain entries kept on the stack */

/* table_migrate_tx -- see kv_int.h. */
int table_migrate_tx(struct kvtx *t, const struct kv_table *tab, unsigned s,
		     unsigned max_buckets)
{
	pkv *db = t->db;
	uint64_t v = kv_load(&tab->version), gen = v & 0xffffffffu;
	uint64_t cur = kv_load(&tab->cur), nxt = kv_load(&tab->next);
	uint64_t mword = stripe_off(tab, s) + offsetof(struct kv_stripe, migr);
	uint64_t inline_ent[MIGRATE_INLINE], *ent = inline_ent;
	size_t entcap = MIGRATE_INLINE;
	uint64_t migr, j, nb, done = 0;
	int err = 0;

	if (!(v & 1) || !nxt)
		return 1;
	nb = (kv_mask(kv_ptr(db, cur)) + 1) >> KV_STRIPE_BITS;
	migr = kvtx_get(t, mword);
	j = (migr >> 32) == gen ? (migr & 0xffffffffu) : 0;
	if (j >= nb)
		return 1;
	/* The heads this call moves are 2 KiB apart (one stripe's buckets
	 * are KV_STRIPES apart) and their chains cold: ask for them all
	 * first, then for the first entry of each, so that their misses
	 * overlap instead of coming one after another (as table_prefetch
	 * does for lookups). */
	for (uint64_t k = j; k < nb && k < j + max_buckets; k++)
		__builtin_prefetch(kv_ptr(db, head_off(db, cur, s +
					  (k << KV_STRIPE_BITS))));
	for (uint64_t k = j; k < nb && k < j + max_buckets; k++) {
		uint64_t e = kv_load(kv_ptr(db, head_off(db, cur, s +
					    (k << KV_STRIPE_BITS))));
		if (kv_entry_placed(db, e))
			__builtin_prefetch(kv_ptr(db, e));
	}
	while (j < nb && done < max_buckets) {
		uint64_t head = head_off(db, cur, s + (j << KV_STRIPE_BITS));
		uint64_t e = kvtx_get(t, head);
		size_t n = 0;

		/* Walk the chain once, checking every link (a damaged pool
		 * must not send the move into the weeds). */
		while (e) {
			if (!kv_entry_ok(db, e) || n >= KV_CHAIN_MAX) {
				err = PKV_ECORRUPT;
				goto out;
			}
			if (n == entcap) {
				size_t cap = 2 * entcap;
				uint64_t *x = malloc(cap * sizeof(*x));
				if (!x) {
					err = -ENOMEM;
					goto out;
				}
				memcpy(x, ent, n * sizeof(*x));
				if (ent != inline_ent)
					free(ent);
				ent = x;
				entcap = cap;
			}
			ent[n++] = e;
			e = kvtx_get(t, e + ENTRY_NEXT);
		}
		/* Last first: each move is the three stores of the top of the
		 * file, so readers see both chains whole after each. */
		while (n > 0) {
			uint64_t last = ent[--n];
			uint64_t link = n ? ent[n - 1] + ENTRY_NEXT : head;
			const struct kv_entry *E = kv_ptr(db, last);
			uint64_t h1 = head_off(db, nxt, E->hash &
					       kv_mask(kv_ptr(db, nxt)));
			uint64_t h1v = kvtx_get(t, h1);
			/* E is its chain's last, so its next is 0 now (the
			 * store before cut it off); into an empty new
			 * bucket, the usual case, it stays 0: not logged,
			 * and the checkpoint has no line of E to write. */
			if ((kvtx_get(t, last + ENTRY_NEXT) != h1v &&
			     (err = kvtx_set_ordered(t, last + ENTRY_NEXT,
						     h1v))) ||
			    (err = kvtx_set_ordered(t, h1, last)) ||
			    (err = kvtx_set_ordered(t, link, 0)))
				goto out;
		}
		j++;
		done++;
	}
	/* After the moves it counts, in log order. */
	err = kvtx_set_ordered(t, mword, (gen << 32) | j);
out:
	if (ent != inline_ent)
		free(ent);
	if (err)
		return err;
	return j >= nb ? 1 : 0;
}

/* table_migrate -- move up to max_buckets buckets of stripe s in a
 * transaction of their own. */
int table_migrate(pkv *db, struct kv_table *tab, unsigned s,
		  unsigned max_buckets)
{
	struct kvtx t;
	int r, err;

	if (!table_resizing(tab))
		return 1;
	if ((err = kvtx_begin(db, &t)))
		return err;
	r = table_migrate_tx(&t, tab, s, max_buckets);
	if (r < 0) {
		kvtx_abort(&t);
		return r;
	}
	if ((err = kvtx_commit(&t)))
		return err;
	return r ? 2 : 0;
}

/*
 * table_resize_prepare -- make an empty bucket array twice the size of
 * `cur` ready in tab->prepared (committed, so reachable: the collector
 * keeps it), unless one is there already.  Zeroing and writing back a big
 * array takes milliseconds, so this runs under the database lock shared,
 * beside writers; only publishing it (table_resize_start) excludes them.
 * One thread at a time per database (the caller's resize mutex).
 */
int table_resize_prepare(pkv *db, struct kv_table *tab)
{
	const struct kv_buckets *cur = kv_ptr(db, kv_load(&tab->cur));
	uint64_t toff = pool_off(db->pool, tab), have, boff;
	struct kvtx t;
	int err;

	if (cur->log2 >= 40)
		return 0;
	have = kv_load(&tab->prepared);
	if (have && ((const struct kv_buckets *)kv_ptr(db, have))->log2 ==
		    cur->log2 + 1)
		return 0;
	if ((err = kvtx_begin(db, &t)))
		return err;
	/* By stripe (layout.h), which libraries before it cannot read. */
	if ((err = buckets_new(&t, (unsigned)cur->log2 + 1,
			       KV_BUCKETS_BY_STRIPE, &boff)) ||
	    (err = kvtx_layout_raise(&t, KV_LAYOUT_VERSION_BY_STRIPE)) ||
	    (err = kvtx_set_ordered(&t, TABLE_WORD(toff, prepared), boff)) ||
	    (have && (err = tx_free(t.tx, have)))) {
		kvtx_abort(&t);
		return err;
	}
	return kvtx_commit(&t);
}

/* table_resize_start -- the prepared array becomes `next` (database lock
 * held exclusively).  Returns 0, or PKV_ENOTFOUND with none prepared. */
int table_resize_start(pkv *db, struct kv_table *tab)
{
	const struct kv_buckets *cur = kv_ptr(db, kv_load(&tab->cur));
	uint64_t toff = pool_off(db->pool, tab);
	uint64_t boff = kv_load(&tab->prepared);
	struct kvtx t;
	int err;

	if (kv_load(&tab->next))
		return 0;
	if (!boff || ((const struct kv_buckets *)kv_ptr(db, boff))->log2 !=
		     cur->log2 + 1)
		return PKV_ENOTFOUND;
	if ((err = kvtx_begin(db, &t)))
		return err;
	if ((err = kvtx_set_ordered(&t, TABLE_WORD(toff, next), boff)) ||
	    (err = kvtx_set_ordered(&t, TABLE_WORD(toff, prepared), 0)) ||
	    (err = kvtx_set_ordered(&t, TABLE_WORD(toff, version),
				    kv_load(&tab->version) + 1))) {
		kvtx_abort(&t);
		return err;
	}
	return kvtx_commit(&t);
}

/* table_resize_finish -- when every stripe has moved: next becomes cur. */
int table_resize_finish(pkv *db, struct kv_table *tab)
{
	uint64_t v = kv_load(&tab->version), gen = v & 0xffffffffu;
	uint64_t cur = kv_load(&tab->cur), nxt = kv_load(&tab->next);
	uint64_t toff = pool_off(db->pool, tab);
	const struct kv_stripe *st = kv_ptr(db, kv_load(&tab->stripes));
	uint64_t nb;
	struct kvtx t;
	int err;

	if (!(v & 1) || !nxt)
		return 0;
	nb = (kv_mask(kv_ptr(db, cur)) + 1) >> KV_STRIPE_BITS;
	for (unsigned s = 0; s < KV_STRIPES; s++)
		if (kv_load(&st[s].migr) != ((gen << 32) | nb))
			return 0;
	if ((err = kvtx_begin(db, &t)))
		return err;
	if ((err = kvtx_set_ordered(&t, TABLE_WORD(toff, version), v + 1)) ||
	    (err = kvtx_set_ordered(&t, TABLE_WORD(toff, cur), nxt)) ||
	    (err = kvtx_set_ordered(&t, TABLE_WORD(toff, next), 0)) ||
	    (err = tx_free(t.tx, cur))) {
		kvtx_abort(&t);
		return err;
	}
	return kvtx_commit(&t);
}

/* ---- scanning ---- */

/* rev64 -- the bits of v in reverse order. */
static uint64_t rev64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
	v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
	return __builtin_bswap64(v);
}

/* next_cursor -- Redis's reverse-binary increment under mask m. */
static uint64_t next_cursor(uint64_t v, uint64_t m)
{
	v |= ~m;
	v = rev64(v);
	v++;
	return rev64(v);
}

/* emit_bucket -- call fn for each live (or, with now < 0, each expired
 * as of -now) entry of one chain, read through t when given; with
 * PKV_VERIFY, not for an entry whose checksum fails (reported). */
static int emit_bucket(pkv *db, const struct kvtx *t, pkv_batch *keep,
		       unsigned dbi, uint64_t arr, uint64_t b, int64_t now,
		       pkv_scan_fn fn, void *ctx, unsigned *emitted)
{
	bool want_expired = now < 0;

	if (want_expired)
		now = -now;
	uint64_t e = read_word(db, t, head_off(db, arr, b));

	for (unsigned n = 0; e && n < KV_CHAIN_MAX && kv_entry_ok(db, e); n++) {
		const struct kv_entry *E = kv_ptr(db, e);
		int64_t x = (int64_t)read_word(db, t, e + ENTRY_EXPIRE);
		bool expired = x != 0 && x <= now;
		int r;
		if (expired == want_expired &&
		    !kv_entry_damaged(db, dbi, E)) {
			struct pkv_ref ref;
			if ((r = kv_ref_kept(db, t, keep, e, &ref)))
				return r;
			struct pkv_item it = {
				kv_entry_key(E), E->klen, ref.val, ref.vlen,
				x, E->vtype
			};
			r = fn(ctx, &it);
			if (r)
				return r;
			(*emitted)++;
		}
		e = read_word(db, t, e + ENTRY_NEXT);
	}
	if (e)   /* the walk stopped at a link it cannot follow */
		kv_damage(db, "bucket chain at offset %llu: a link that is not "
			  "an entry, or no end; a scan skipped the rest",
			  (unsigned long long)head_off(db, arr, b));
	return 0;
}

/* scan_walk -- Redis's scan over one or, mid-resize, two arrays; now < 0
 * asks for expired entries (emit_bucket). */
static int scan_walk(pkv *db, const struct kvtx *t, pkv_batch *keep,
		     unsigned dbi, uint64_t cursor, unsigned count, int64_t now,
		     pkv_scan_fn fn, void *ctx, uint64_t *next)
{
	unsigned emitted = 0;
	uint64_t v = cursor, steps = 0;
	int r = 0;

	if (count == 0)
		count = 10;
	do {
		uint64_t start = v;

		steps++;
		for (int attempt = 0;; attempt++) {
			const struct kv_table *tab = kv_table_at(db, t, dbi);
			uint64_t ver = kv_load(&tab->version);
			uint64_t nxt = kv_load(&tab->next);
			uint64_t cur = kv_load(&tab->cur);
			uint64_t m0 = kv_mask(kv_ptr(db, cur));

			v = start;
			if (nxt && nxt != cur) {
				uint64_t m1 = kv_mask(kv_ptr(db, nxt));
				r = emit_bucket(db, t, keep, dbi, cur, v & m0,
						now, fn, ctx, &emitted);
				do {
					if (!r)
						r = emit_bucket(db, t, keep,
								dbi, nxt,
								v & m1, now,
								fn, ctx,
								&emitted);
					v = next_cursor(v, m1);
				} while (v & (m0 ^ m1));
			} else {
				r = emit_bucket(db, t, keep, dbi, cur, v & m0,
						now, fn, ctx, &emitted);
				v = next_cursor(v, m0);
			}
			if (r)
				break;
			/* Entries may have moved under us: do the step again
			 * (keys seen twice are allowed, missed ones not). */
			if ((kv_load(&tab->version) == ver &&
			     kv_table_at(db, t, dbi) == tab) ||
			    attempt == 3)
				break;
		}
		if (r) {
			*next = start;
			return r;
		}
	/* As Redis: about count keys, and at most 10 x count buckets, so an
	 * almost empty table cannot make one call walk all of it -- but at
	 * least the buckets of the smallest table (one per stripe): Redis's
	 * small dicts have a few buckets, and a scan of a few keys ends in
	 * one call there. */
	} while (v && emitted < count &&
		 steps < (10ull * count > KV_STRIPES ? 10ull * count :
			  KV_STRIPES));
	*next = v;
	return 0;
}

/* table_scan -- live entries. */
int table_scan(pkv *db, const struct kvtx *t, pkv_batch *keep, unsigned dbi,
	       uint64_t cursor, unsigned count, pkv_scan_fn fn, void *ctx,
	       uint64_t *next)
{
	return scan_walk(db, t, keep, dbi, cursor, count, pkv_now_ms(), fn,
			 ctx, next);
}

/* table_scan_expired -- expired entries. */
int table_scan_expired(pkv *db, unsigned dbi, uint64_t cursor,
		       unsigned count, pkv_scan_fn fn, void *ctx,
		       uint64_t *next)
{
	return scan_walk(db, NULL, NULL, dbi, cursor, count, -pkv_now_ms(),
			 fn, ctx, next);
}

/* table_random -- a random live entry, or 0 when none is found. */
uint64_t table_random(pkv *db, const struct kvtx *t, unsigned dbi)
{
	static _Thread_local uint64_t rng;
	int64_t now = pkv_now_ms();
	const struct kv_table *tab = kv_table_at(db, t, dbi);
	uint64_t arrs[2] = { kv_load(&tab->cur), kv_load(&tab->next) };

	if (!rng)
		rng = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull | 1;
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned a = 0; a < 2; a++) {
			uint64_t arr = arrs[a], m, tries;
			if (!arr)
				continue;
			m = kv_mask(kv_ptr(db, arr));
			/* A few random buckets, then (second pass) all. */
			tries = pass == 0 ? 64 : m + 1;
			rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
			for (uint64_t k = 0; k < tries; k++) {
				uint64_t b = pass == 0 ? (rng + k * 0x9e3779b97f4a7c15ull) & m
						       : (rng + k) & m;
				uint64_t e = read_word(db, t, head_off(db, arr, b));
				uint64_t pick = 0, n = 0;
				while (e && n < KV_CHAIN_MAX &&
				       kv_entry_ok(db, e)) {
					int64_t x = (int64_t)read_word(db, t,
							e + ENTRY_EXPIRE);
					if (!(x && x <= now) &&
					    (rng >> 7) % ++n == 0)
						pick = e;
					e = read_word(db, t, e + ENTRY_NEXT);
				}
				if (pick)
					return pick;
			}
		}
	}
	return 0;
}

/* ---- what the collector follows ---- */

static void trace_root(const void *data, uint64_t size, gc_visit_fn visit,
		       void *vctx)
{
	gc_trace_words(data, size, sizeof(struct kv_root), visit, vctx);
}

static void trace_table(const void *data, uint64_t size, gc_visit_fn visit,
			void *vctx)
{
	/* cur, next, version (never a block start), stripes, prepared */
	gc_trace_words(data, size < 40 ? size : 40, 0, visit, vctx);
}

static void trace_buckets(const void *data, uint64_t size, gc_visit_fn visit,
			  void *vctx)
{
	gc_trace_words(data, size, sizeof(struct kv_buckets), visit, vctx);
}

/* An entry points at the next one of its chain and, for a collection
 * (hash, list), at its header (its value). */
static void trace_entry(const void *data, uint64_t size, gc_visit_fn visit,
			void *vctx)
{
	const struct kv_entry *E = data;
	uint64_t hoff;

	gc_trace_words(data, size < 8 ? size : 8, 0, visit, vctx);
	if (size >= sizeof(*E) + sizeof(hoff) && E->vtype != PKV_TYPE_STRING &&
	    E->vlen == sizeof(hoff) &&
	    E->klen <= size - sizeof(*E) - sizeof(hoff)) {
		memcpy(&hoff, kv_entry_val(E), sizeof(hoff));
		if (hoff)
			visit(vctx, hoff);
	}
}

/* table_register_types -- tell the collector what points where. */
void table_register_types(struct gc *gc)
{
	gc_register(gc, KV_TYPE_ROOT, trace_root);
	gc_register(gc, KV_TYPE_TABLE, trace_table);
	gc_register(gc, KV_TYPE_BUCKETS, trace_buckets);
	gc_register(gc, KV_TYPE_ENTRY, trace_entry);
	/* KV_TYPE_STRIPES holds counters only */
	hash_register_types(gc);
	list_register_types(gc);
	zset_register_types(gc);
}
