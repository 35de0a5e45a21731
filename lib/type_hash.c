/*
 * type_hash.c -- the hash type: a persistent linear hash table of fields
 * per key (layout: layout.h, "Hashes").
 *
 * Why linear hashing.  A hash may hold millions of fields, and a write to
 * it must cost the same whatever its size: no bucket array is ever copied
 * or rehashed whole.  The table grows by one bucket when it holds more
 * than hash_load() fields per bucket: the bucket nbuckets - 2^i is split
 * into itself and the new bucket nbuckets (its chain, of about 1 or 2
 * entries, walked once).  Bucket heads live in segments of fixed size
 * reached through directories, made (zeroed) when the first bucket that
 * needs them is split in, so a split writes a few words and, once in
 * HASH_SEG_BUCKETS splits, one 1 KiB segment.  A hash of up to eight
 * fields is one cache line of header and its fields.  A table that
 * deletes have made sparse merges buckets back the same way, a few at
 * each delete (hash_merge), and the key goes with its last field.
 *
 * Every change is made in the caller's kvtx (read-your-writes), so a
 * batch can set many fields of one hash and see them, and a crash keeps
 * the whole batch or none of it.  Readers hold the key's stripe (kv.c):
 * nothing here is read lock-free, so a split needs no ordering argument
 * beyond the transaction's.
 */
#include <stddef.h>
#include <string.h>

#include "kv_int.h"

/*
 * hash_load -- fields per bucket before a split: 2 while the table has
 * fewer than HASH_BIG_BUCKETS buckets, then 1.  Every field a lookup
 * passes is a cache miss (and a new field passes its whole chain): with
 * 2 per bucket, HSET at pipeline 16 into a hash of 1M fields spent 17%
 * of its time on those misses.  A small hash keeps the denser table (a
 * hash of 10 fields is its header, 4 inline buckets and its fields); a
 * big one pays 4 bytes more per field for half the misses.
 */
#define HASH_BIG_BUCKETS 64u
static inline uint64_t hash_load(uint64_t nbuckets)
{
	return nbuckets < HASH_BIG_BUCKETS ? 2 : 1;
}
#define FIELD_NEXT 0            /* offset of kv_entry.next */
#define HDR_COUNT offsetof(struct kv_hash_hdr, count)
#define HDR_NBUCKETS offsetof(struct kv_hash_hdr, nbuckets)
#define HDR_HEAD offsetof(struct kv_hash_hdr, head)
#define HDR_DIRS offsetof(struct kv_hash_hdr, dirs)

/* hash_word -- the word at off, through t when given. */
static inline uint64_t hash_word(const pkv *db, const struct kvtx *t,
				 uint64_t off)
{
	return t ? kvtx_get(t, off) : kv_load(kv_ptr(db, off));
}

/* hash_of_entry -- the header offset a hash key's entry holds, or 0 if it
 * cannot be a header (damage, reported). */
uint64_t hash_of_entry(const pkv *db, const struct kv_entry *e)
{
	return kv_coll_of_entry(db, e, PKV_TYPE_HASH,
				sizeof(struct kv_hash_hdr));
}

/*
 * hash_new -- an empty hash header in t (written directly), its offset to
 * *offp.  Every word of a header may change later, and the record carries
 * all of it (a prefix of the whole block): a new hash costs no fence of
 * its own, where tx_alloc would write the header back and fence it before
 * the commit.  (Segments and directories, made once per HASH_SEG_BUCKETS
 * splits and bigger, take tx_alloc's fence instead of a bigger record.)
 */
int hash_new(struct kvtx *t, uint64_t *offp)
{
	struct kv_hash_hdr *H;
	int err = tx_alloc_fixed(t->tx, sizeof(*H), KV_TYPE_HASH, sizeof(*H),
				 offp);

	if (err)
		return err;
	H = kv_ptr(t->db, *offp);
	memset(H, 0, sizeof(*H));
	H->nbuckets = HASH_INLINE_BUCKETS;
	return 0;
}

/* hash_count -- fields in the hash at hoff (through t when given). */
uint64_t hash_count(const pkv *db, const struct kvtx *t, uint64_t hoff)
{
	return hash_word(db, t, hoff + HDR_COUNT);
}

/* hash_bucket_of -- the bucket of a field hash among n buckets. */
static uint64_t hash_bucket_of(uint64_t fh, uint64_t n)
{
	uint64_t lo = 1ull << (63 - __builtin_clzll(n));
	uint64_t b = fh & (lo - 1);

	return b < n - lo ? fh & (2 * lo - 1) : b;
}

/* hash_bad -- report damage met in the hash at hoff; PKV_ECORRUPT. */
static int hash_bad(const pkv *db, uint64_t hoff, const char *what,
		    uint64_t at)
{
	kv_damage(db, "hash at offset %llu: %s at offset %llu",
		  (unsigned long long)hoff, what, (unsigned long long)at);
	return PKV_ECORRUPT;
}

/* hash_nbuckets -- the hash's bucket count to *n: 0, or PKV_ECORRUPT
 * (reported) for a count that cannot be right. */
static int hash_nbuckets(const pkv *db, const struct kvtx *t, uint64_t hoff,
			 uint64_t *n)
{
	*n = hash_word(db, t, hoff + HDR_NBUCKETS);
	if (*n < HASH_INLINE_BUCKETS || *n > HASH_MAX_BUCKETS)
		return hash_bad(db, hoff, "a bucket count that cannot be "
				"right", hoff + HDR_NBUCKETS);
	return 0;
}

/*
 * hash_slot -- the offset of bucket b's head word in *slot.  Returns 0,
 * or PKV_ECORRUPT (reported) when a directory or segment pointer cannot
 * be right.
 */
static int hash_slot(const pkv *db, const struct kvtx *t, uint64_t hoff,
		     uint64_t b, uint64_t *slot)
{
	uint64_t seg, dirs, dir, sg;

	if (b < HASH_INLINE_BUCKETS) {
		*slot = hoff + HDR_HEAD + 8 * b;
		return 0;
	}
	b -= HASH_INLINE_BUCKETS;
	seg = b / HASH_SEG_BUCKETS;
	if (seg / HASH_DIR_SEGS >= HASH_DIRS)
		goto bad;
	/* Each array holds at least the word asked for (hash_array). */
	dirs = hash_word(db, t, hoff + HDR_DIRS);
	if (!kv_area_ok(db, dirs, 8 * (seg / HASH_DIR_SEGS + 1)))
		goto bad;
	dir = hash_word(db, t, dirs + 8 * (seg / HASH_DIR_SEGS));
	if (!kv_area_ok(db, dir, 8 * (seg % HASH_DIR_SEGS + 1)))
		goto bad;
	sg = hash_word(db, t, dir + 8 * (seg % HASH_DIR_SEGS));
	if (!kv_area_ok(db, sg, 8 * (b % HASH_SEG_BUCKETS + 1)))
		goto bad;
	*slot = sg + 8 * (b % HASH_SEG_BUCKETS);
	return 0;
bad:
	return hash_bad(db, hoff, "a directory or segment pointer that cannot "
			"be right", hoff);
}

/* hash_find -- where field is in the hash at hoff. */
int hash_find(const pkv *db, const struct kvtx *t, uint64_t hoff,
	      uint64_t fh, const void *field, size_t flen, struct kv_loc *loc)
{
	uint64_t n, link, e;
	unsigned k;
	int err;

	if ((err = hash_nbuckets(db, t, hoff, &n)) ||
	    (err = hash_slot(db, t, hoff, hash_bucket_of(fh, n), &link)))
		return err;
	e = hash_word(db, t, link);
	for (k = 0; e && k < KV_CHAIN_MAX && kv_entry_ok(db, e); k++) {
		const struct kv_entry *E = kv_ptr(db, e);
		if (E->hash == fh && E->klen == flen &&
		    (flen == 0 || memcmp(kv_entry_key(E), field, flen) == 0)) {
			loc->link = link;
			loc->entry = e;
			return 1;
		}
		link = e + FIELD_NEXT;
		e = hash_word(db, t, link);
	}
	if (!e)
		return 0;
	return hash_bad(db, hoff, k >= KV_CHAIN_MAX ? "a field chain with no "
			"end" : "a link that is not a field", link);
}

/* hash_zeroed -- a zeroed block of len bytes (a directory or segment). */
static int hash_zeroed(struct kvtx *t, size_t len, uint32_t type,
		       uint64_t *offp)
{
	int err = tx_alloc(t->tx, len, type, offp);

	if (!err)
		memset(kv_ptr(t->db, *offp), 0, len);
	return err;
}

/*
 * hash_array -- the array (directory block, directory or segment: `type`,
 * at most max words) that the word at pslot points to, made or grown so
 * that it holds word j; its offset to *offp.  grow says whether this split
 * may be the first to need word j (else the array already holds it).
 *
 * Why arrays grow.  Made whole, the first bucket past the inline ones
 * took a directory block, a directory and a segment, 5.6 KiB, so a hash,
 * set or sorted set of ten members took four times what Redis does.  An
 * array is made with HASH_ARRAY_MIN words and doubled when a split first
 * needs a word past its end: the words are copied (at most max / 2, read
 * through t), the parent word moved, the old block freed, all in the
 * split's transaction.  A write still touches a bounded number of blocks.
 * Arrays are never made smaller (hash_merge frees one whose first word
 * goes), and an array's size is its block's: arrays made whole by an
 * older build are simply never grown.
 */
static int hash_array(struct kvtx *t, uint64_t hoff, uint64_t pslot,
		      uint64_t j, uint64_t max, uint32_t type, bool grow,
		      uint64_t *offp)
{
	const pkv *db = t->db;
	uint64_t old = kvtx_get(t, pslot), size = 0, want, nw;
	uint64_t *W;
	int err;

	*offp = old;
	/* Sizes are powers of two and words are needed in order, so only
	 * a power-of-two j can be past the end. */
	if (old && (!grow || j < HASH_ARRAY_MIN || (j & (j - 1))))
		return 0;
	if (old) {
		/* Its header, read directly: the block may be one this
		 * transaction made (reserved, not yet allocated). */
		const struct block_hdr *B = kv_ptr(db, old - BLOCK_HDR_SIZE);
		if (heap_block_of(db->heap, old) != old - BLOCK_HDR_SIZE ||
		    B->type != type || B->size > 8ull * max)
			return hash_bad(db, hoff, "a directory or segment "
					"pointer that cannot be right", pslot);
		size = B->size;
		if (j < size / 8)
			return 0;
	}
	for (want = HASH_ARRAY_MIN; want <= j && want < max; want *= 2)
		;
	if ((err = hash_zeroed(t, 8 * want, type, &nw)))
		return err;
	W = kv_ptr(db, nw);
	for (uint64_t i = 0; i < size / 8 && i < want; i++)
		W[i] = kvtx_get(t, old + 8 * i);  /* new block: direct */
	if ((err = kvtx_set(t, pslot, nw)) ||
	    (old && (err = tx_free(t->tx, old))))
		return err;
	*offp = nw;
	return 0;
}

/*
 * hash_grow_slot -- the head word of bucket b (the bucket a split is
 * about to add), making or growing its directory block, directory and
 * segment as it needs.
 */
static int hash_grow_slot(struct kvtx *t, uint64_t hoff, uint64_t b,
			  uint64_t *slot)
{
	uint64_t i, seg, dirs, dir, sg;
	bool new_seg, new_dir;
	int err;

	if (b < HASH_INLINE_BUCKETS)
		return hash_slot(t->db, t, hoff, b, slot);
	i = b - HASH_INLINE_BUCKETS;
	seg = i / HASH_SEG_BUCKETS;
	if (seg / HASH_DIR_SEGS >= HASH_DIRS)
		return hash_bad(t->db, hoff, "a bucket past the largest table",
				hoff);
	new_seg = i % HASH_SEG_BUCKETS == 0;
	new_dir = new_seg && seg % HASH_DIR_SEGS == 0;
	if ((err = hash_array(t, hoff, hoff + HDR_DIRS, seg / HASH_DIR_SEGS,
			      HASH_DIRS, KV_TYPE_HDIRS, new_dir, &dirs)) ||
	    (err = hash_array(t, hoff, dirs + 8 * (seg / HASH_DIR_SEGS),
			      seg % HASH_DIR_SEGS, HASH_DIR_SEGS, KV_TYPE_HDIR,
			      new_seg, &dir)) ||
	    (err = hash_array(t, hoff, dir + 8 * (seg % HASH_DIR_SEGS),
			      i % HASH_SEG_BUCKETS, HASH_SEG_BUCKETS,
			      KV_TYPE_HSEG, true, &sg)))
		return err;
	*slot = sg + 8 * (i % HASH_SEG_BUCKETS);
	return 0;
}

/* hash_relink -- set the word at link to e unless it already holds it. */
static int hash_relink(struct kvtx *t, uint64_t link, uint64_t e)
{
	return kvtx_get(t, link) == e ? 0 : kvtx_set(t, link, e);
}

/*
 * hash_split -- add bucket n (= nbuckets): the entries of bucket n - 2^i
 * whose hash says so move to it, both chains keeping their order.
 */
static int hash_split(struct kvtx *t, uint64_t hoff, uint64_t n)
{
	const pkv *db = t->db;
	uint64_t lo = 1ull << (63 - __builtin_clzll(n)), s = n - lo;
	uint64_t from, to, keep, move, e;
	unsigned k;
	int err;

	if ((err = hash_grow_slot(t, hoff, n, &to)) ||
	    (err = hash_slot(db, t, hoff, s, &from)))
		return err;
	keep = from;
	move = to;
	e = kvtx_get(t, from);
	for (k = 0; e && k < KV_CHAIN_MAX && kv_entry_ok(db, e); k++) {
		const struct kv_entry *E = kv_ptr(db, e);
		uint64_t nx = kvtx_get(t, e + FIELD_NEXT);
		if ((E->hash & (2 * lo - 1)) == s) {
			err = hash_relink(t, keep, e);
			keep = e + FIELD_NEXT;
		} else {
			err = hash_relink(t, move, e);
			move = e + FIELD_NEXT;
		}
		if (err)
			return err;
		e = nx;
	}
	if (e)
		return hash_bad(db, hoff, "a field chain that cannot be split",
				from);
	if ((err = hash_relink(t, keep, 0)) || (err = hash_relink(t, move, 0)))
		return err;
	return kvtx_set(t, hoff + HDR_NBUCKETS, n + 1);
}

/* hash_insert -- publish a new field entry (filled, not yet linked) at the
 * head of its chain, count it, and split a bucket if the hash is due. */
int hash_insert(struct kvtx *t, uint64_t hoff, uint64_t entry)
{
	const pkv *db = t->db;
	struct kv_entry *E = kv_ptr(db, entry);
	uint64_t c = kvtx_get(t, hoff + HDR_COUNT) + 1;
	uint64_t n, slot;
	int err;

	if ((err = hash_nbuckets(db, t, hoff, &n)) ||
	    (err = hash_slot(db, t, hoff, hash_bucket_of(E->hash, n), &slot)))
		return err;
	E->next = kvtx_get(t, slot);   /* new block: a direct store */
	if ((err = kvtx_set(t, slot, entry)) ||
	    (err = kvtx_set(t, hoff + HDR_COUNT, c)))
		return err;
	if (c > hash_load(n) * n && n < HASH_MAX_BUCKETS)
		return hash_split(t, hoff, n);
	return 0;
}

/* hash_replace -- a new field entry takes old's place; old is freed. */
int hash_replace(struct kvtx *t, const struct kv_loc *old, uint64_t entry)
{
	struct kv_entry *N = kv_ptr(t->db, entry);
	int err;

	N->next = kvtx_get(t, old->entry + FIELD_NEXT);
	if ((err = kvtx_set(t, old->link, entry)))
		return err;
	return tx_free(t->tx, old->entry);
}

/* hash_release -- the word at slot (a directory or segment pointer, or
 * the header's dirs) let go of its block: freed, the word zeroed. */
static int hash_release(struct kvtx *t, uint64_t slot)
{
	uint64_t blk = kvtx_get(t, slot);
	int err;

	if (!blk)
		return 0;
	if ((err = tx_free(t->tx, blk)))
		return err;
	return kvtx_set(t, slot, 0);
}

/*
 * hash_merge -- take back the last bucket m = nbuckets - 1: its chain goes
 * to the end of bucket m - 2^i's (the bucket it was split from), and a
 * segment, directory or the directory block it was the first bucket of
 * is freed, so a hash drained from millions of fields to a few is a small
 * table again, in space and in what a random draw walks.
 */
static int hash_merge(struct kvtx *t, uint64_t hoff, uint64_t n)
{
	const pkv *db = t->db;
	uint64_t m = n - 1, lo = 1ull << (63 - __builtin_clzll(m));
	uint64_t from, to, e, i, dirs, dir;
	unsigned k;
	int err;

	if ((err = hash_slot(db, t, hoff, m, &from)) ||
	    (err = hash_slot(db, t, hoff, m - lo, &to)))
		return err;
	for (k = 0; (e = kvtx_get(t, to)) && k < KV_CHAIN_MAX &&
	     kv_entry_ok(db, e); k++)
		to = e + FIELD_NEXT;
	if (e)
		return hash_bad(db, hoff, "a field chain that cannot be "
				"merged", to);
	if ((e = kvtx_get(t, from)) &&
	    ((err = kvtx_set(t, to, e)) || (err = kvtx_set(t, from, 0))))
		return err;
	if ((err = kvtx_set(t, hoff + HDR_NBUCKETS, m)) ||
	    m < HASH_INLINE_BUCKETS || (m - HASH_INLINE_BUCKETS) %
	    HASH_SEG_BUCKETS)
		return err;
	/* m was the first bucket of its segment: the segment goes, and so
	 * does a directory or the directory block it was the first of. */
	i = (m - HASH_INLINE_BUCKETS) / HASH_SEG_BUCKETS;
	dirs = kvtx_get(t, hoff + HDR_DIRS);
	dir = kvtx_get(t, dirs + 8 * (i / HASH_DIR_SEGS));
	if ((err = hash_release(t, dir + 8 * (i % HASH_DIR_SEGS))) ||
	    i % HASH_DIR_SEGS ||
	    (err = hash_release(t, dirs + 8 * (i / HASH_DIR_SEGS))) || i)
		return err;
	return hash_release(t, hoff + HDR_DIRS);
}

/*
 * HASH_SHRINK_LOAD, HASH_SHRINK_STEPS -- a hash with fewer than one field
 * per HASH_SHRINK_LOAD buckets merges buckets back, up to
 * HASH_SHRINK_STEPS at each delete: more than one, so that a hash being
 * drained keeps up (buckets then stay within HASH_SHRINK_LOAD times its
 * fields), and a bound, so that a delete costs O(1).  Between this load
 * and hash_load() (a split) there is a factor of 4 or 8: a hash that
 * grows and shrinks about one size does not split and merge back and
 * forth.
 */
#define HASH_SHRINK_LOAD 4u
#define HASH_SHRINK_STEPS 8u

/* hash_unlink -- take loc's field out of its chain, uncount, free it,
 * and merge buckets back if the hash has become sparse. */
int hash_unlink(struct kvtx *t, uint64_t hoff, const struct kv_loc *loc)
{
	uint64_t c = kvtx_get(t, hoff + HDR_COUNT) - 1, n;
	int err;

	if ((err = kvtx_set(t, loc->link,
			    kvtx_get(t, loc->entry + FIELD_NEXT))) ||
	    (err = tx_free(t->tx, loc->entry)) ||
	    (err = kvtx_set(t, hoff + HDR_COUNT, c)) ||
	    (err = hash_nbuckets(t->db, t, hoff, &n)))
		return err;
	for (unsigned k = 0; k < HASH_SHRINK_STEPS && n > HASH_INLINE_BUCKETS &&
	     c * HASH_SHRINK_LOAD < n; k++, n--)
		if ((err = hash_merge(t, hoff, n)))
			return err;
	return 0;
}

/* hash_rev -- the bits of v in reverse order. */
static uint64_t hash_rev(uint64_t v)
{
	v = (v >> 1 & 0x5555555555555555ull) | (v & 0x5555555555555555ull) << 1;
	v = (v >> 2 & 0x3333333333333333ull) | (v & 0x3333333333333333ull) << 2;
	v = (v >> 4 & 0x0f0f0f0f0f0f0f0full) | (v & 0x0f0f0f0f0f0f0f0full) << 4;
	return __builtin_bswap64(v);
}

/* hash_scan_chain -- visit the fields of the chain at slot; fn's nonzero
 * answer, PKV_ECORRUPT, or 0 with *emitted counted up. */
static int hash_scan_chain(const pkv *db, const struct kvtx *t,
			   pkv_batch *keep, uint64_t hoff, uint64_t slot,
			   pkv_scan_fn fn, void *ctx, unsigned *emitted)
{
	uint64_t e = hash_word(db, t, slot);
	unsigned k;

	for (k = 0; e && k < KV_CHAIN_MAX && kv_entry_ok(db, e); k++) {
		const struct kv_entry *E = kv_ptr(db, e);
		struct pkv_ref ref;
		int r = kv_ref_kept(db, t, keep, e, &ref);
		if (r)
			return r;
		struct pkv_item it = {
			kv_entry_key(E), E->klen, ref.val, ref.vlen, 0,
			PKV_TYPE_STRING
		};
		if ((r = fn(ctx, &it)))
			return r;
		++*emitted;
		e = hash_word(db, t, e + FIELD_NEXT);
	}
	return e ? hash_bad(db, hoff, "a field chain that cannot be followed",
			    slot) : 0;
}

/*
 * hash_scan -- visit the fields of about `count` buckets from `cursor`;
 * *next is the cursor to go on from, 0 when done.
 *
 * The table grows and shrinks between calls, so the cursor is Redis's
 * (dictScan): with 2^i <= nbuckets < 2^(i+1), a step visits the fields
 * whose hash mod 2^i is the cursor's low i bits -- bucket b, and b + 2^i
 * if b is split -- and the cursor counts up in its bits' reverse order.
 * Whatever splits and merges happen between steps, the hash values a step
 * covers stay covered, so a field present for the whole scan is visited
 * at least once (a field may be visited twice after a shrink).
 */
int hash_scan(const pkv *db, const struct kvtx *t, pkv_batch *keep,
	      uint64_t hoff, uint64_t cursor, unsigned count, pkv_scan_fn fn,
	      void *ctx, uint64_t *next)
{
	uint64_t n, lo, v = cursor, slot;
	unsigned emitted = 0, steps = 0;
	int err;

	if ((err = hash_nbuckets(db, t, hoff, &n)))
		return err;
	if (count == 0)
		count = 10;
	lo = 1ull << (63 - __builtin_clzll(n));
	do {
		uint64_t b = v & (lo - 1);
		if ((err = hash_slot(db, t, hoff, b, &slot)) ||
		    (err = hash_scan_chain(db, t, keep, hoff, slot, fn, ctx,
					   &emitted)))
			return err;
		if (b < n - lo &&
		    ((err = hash_slot(db, t, hoff, b + lo, &slot)) ||
		     (err = hash_scan_chain(db, t, keep, hoff, slot, fn, ctx,
					    &emitted))))
			return err;
		v = hash_rev(hash_rev(v | ~(lo - 1)) + 1);
	} while (v && emitted < count && ++steps < 10 * count);
	*next = v;
	return 0;
}

/* hash_mix -- splitmix64's finalizer: the k-th draw from one number. */
static uint64_t hash_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ x >> 31;
}

/* hash_chain_len -- the entries of the chain at slot (PKV_ECORRUPT if it
 * cannot be followed). */
static int hash_chain_len(const pkv *db, const struct kvtx *t, uint64_t hoff,
			  uint64_t slot, uint64_t *len)
{
	uint64_t e = hash_word(db, t, slot);

	for (*len = 0; e && *len < KV_CHAIN_MAX && kv_entry_ok(db, e);
	     (*len)++)
		e = hash_word(db, t, e + FIELD_NEXT);
	return e ? hash_bad(db, hoff, "a field chain that cannot be "
			    "followed", slot) : 0;
}

/*
 * hash_random -- a field picked by r: up to HASH_RANDOM_TRIES buckets
 * drawn at random, the first non-empty one's entry (r mod its length);
 * if all were empty, the first non-empty bucket after the last draw.
 * Independent draws keep removals of random fields (SPOP) uniform: with
 * "the next non-empty bucket" alone, buckets after long empty runs would
 * be drained first and the runs would grow until each draw walked most
 * of the table.  A table holds at least one field per HASH_SHRINK_LOAD
 * buckets or so (hash_unlink), so even the walk is short.
 */
#define HASH_RANDOM_TRIES 32u
int hash_random(const pkv *db, const struct kvtx *t, uint64_t hoff,
		uint64_t r, struct kv_loc *loc)
{
	uint64_t n, b = 0, slot, len = 0;
	int err;

	if (hash_count(db, t, hoff) == 0)
		return 0;
	if ((err = hash_nbuckets(db, t, hoff, &n)))
		return err;
	for (uint64_t i = 0; i < HASH_RANDOM_TRIES + n && !len; i++) {
		b = i < HASH_RANDOM_TRIES ? hash_mix(r + i) % n : (b + 1) % n;
		if ((err = hash_slot(db, t, hoff, b, &slot)) ||
		    (err = hash_chain_len(db, t, hoff, slot, &len)))
			return err;
	}
	if (!len)
		return hash_bad(db, hoff, "a count of fields its buckets do "
				"not hold", hoff);
	len = hash_mix(~r) % len;
	loc->link = slot;
	loc->entry = hash_word(db, t, slot);
	while (len--) {
		loc->link = loc->entry + FIELD_NEXT;
		loc->entry = hash_word(db, t, loc->link);
	}
	return 1;
}

/* ---- what the collector follows ---- */

/* A header points at its directory block and heads (count and nbuckets
 * are never block starts, and offsets that are not blocks are ignored). */
static void hash_trace_hdr(const void *data, uint64_t size,
			   gc_visit_fn visit, void *vctx)
{
	gc_trace_words(data, size, HDR_DIRS, visit, vctx);
}

/* The directory block, directories and segments are arrays of offsets. */
static void hash_trace_array(const void *data, uint64_t size,
			     gc_visit_fn visit, void *vctx)
{
	gc_trace_words(data, size, 0, visit, vctx);
}

/* A field points at the next field of its chain. */
static void hash_trace_field(const void *data, uint64_t size,
			     gc_visit_fn visit, void *vctx)
{
	gc_trace_words(data, size < 8 ? size : 8, 0, visit, vctx);
}

/* hash_register_types -- tell the collector what a hash points to (the
 * key entry's own trace reports its header). */
void hash_register_types(struct gc *gc)
{
	gc_register(gc, KV_TYPE_HASH, hash_trace_hdr);
	gc_register(gc, KV_TYPE_HDIRS, hash_trace_array);
	gc_register(gc, KV_TYPE_HDIR, hash_trace_array);
	gc_register(gc, KV_TYPE_HSEG, hash_trace_array);
	gc_register(gc, KV_TYPE_FIELD, hash_trace_field);
}
