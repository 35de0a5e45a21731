/*
 * kv_zset.c -- the calls of pkv.h on sorted sets (add, rescore, remove,
 * remove a range; score, count, rank, range, scan), alone or in a batch,
 * over the skip list of type_zset.c, the member table of type_hash.c and
 * the batch of kv.c.
 *
 * A write is an operation of the batch (KV_OP_ZADD, KV_OP_ZREM,
 * KV_OP_ZREMRANGE): kv_exec locks the key's stripe, looks the key up once
 * and calls kv_zset_write.  Reads hold the key's stripe, as for the other
 * collections.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kv_batch.h"

/* kv_zset_at -- the header of k's sorted set, or a result (kv_coll_at). */
static int kv_zset_at(pkv_batch *b, const struct kv_key *k, uint64_t *zoffp)
{
	return kv_coll_at(b, k, PKV_TYPE_ZSET, sizeof(struct kv_zset_hdr),
			  zoffp);
}

/* kv_zset_read -- the header of key's sorted set (kv_coll_read). */
static int kv_zset_read(pkv_batch *b, unsigned dbi, const void *key,
			size_t klen, uint64_t *zoffp)
{
	return kv_coll_read(b, dbi, key, klen, PKV_TYPE_ZSET,
			    sizeof(struct kv_zset_hdr), zoffp);
}

/* kv_zset_find -- member's field and node: 1, 0 absent, or an error. */
static int kv_zset_find(const pkv *db, const struct kvtx *t, uint64_t zoff,
			const void *m, size_t ml, struct kv_loc *floc,
			uint64_t *node)
{
	const struct kv_entry *F;
	int r = hash_find(db, t, zset_members(db, t, zoff),
			  kv_hash(db, m, ml), m, ml, floc);

	if (r <= 0)
		return r;
	F = kv_ptr(db, floc->entry);
	if (F->vlen != sizeof(*node))
		return kv_err(db, PKV_ECORRUPT, "a sorted set's member does "
			      "not name its node");
	memcpy(node, kv_entry_val(F), sizeof(*node));
	return 1;
}

/*
 * kv_zset_gone -- the sorted set at zoff lost its last member: its key
 * goes, the header and a small member table now (their nodes and fields
 * were freed one by one), a big table's directories and segments left to
 * the collector.
 */
static int kv_zset_gone(pkv_batch *b, const struct kv_op *op,
			struct kv_key *k, uint64_t zoff)
{
	struct kvtx *t = &b->t;
	uint64_t mt = zset_members(b->db, t, zoff);
	int err;

	if (kvtx_get(t, mt + offsetof(struct kv_hash_hdr, dirs)))
		kv_note_drop(b, k);
	else if ((err = tx_free(t->tx, mt)))
		return err;
	if ((err = tx_free(t->tx, zoff)) ||
	    (err = table_unlink(t, k->tab, &k->loc)))
		return err;
	return kv_delta(b, op->dbi, -1);
}

/* kv_zset_remove -- member (field at floc, node) leaves the set. */
static int kv_zset_remove(pkv_batch *b, uint64_t zoff,
			  const struct kv_loc *floc, uint64_t node)
{
	struct kvtx *t = &b->t;
	int err;

	if ((err = zset_unlink(t, zoff, node)) ||
	    (err = hash_unlink(t, zset_members(b->db, t, zoff), floc)))
		return err;
	return tx_free(t->tx, node);
}

/*
 * kv_zset_add_new -- a member not in the set at zoff, with score: its
 * node, then its field naming the node (a field's value never changes),
 * then the node naming its field (every node word may change).
 */
static int kv_zset_add_new(pkv_batch *b, uint64_t zoff, const void *m,
			   size_t ml, double score)
{
	struct kvtx *t = &b->t;
	uint64_t h = kv_hash(b->db, m, ml), node, field;
	struct kv_newent n = { KV_TYPE_FIELD, PKV_TYPE_STRING, m, &node, ml,
			       sizeof(node), h, 0, false, 0 };
	int r;

	if ((r = zset_node_new(t, zset_level_for(h), score, 0, &node)) ||
	    (r = kv_new_entry(b, &n, &field)) ||
	    (r = kvtx_set(t, node + offsetof(struct kv_zset_node, field),
			  field)) ||
	    (r = hash_insert(t, zset_members(b->db, t, zoff), field)))
		return r;
	return zset_insert(t, zoff, node);
}

/*
 * kv_zset_copy -- a new sorted set with the members and scores of key
 * entry S (O(n log n)); its header's offset to *zoffp.
 */
int kv_zset_copy(pkv_batch *b, const struct kv_entry *S, uint64_t *zoffp)
{
	struct kvtx *t = &b->t;
	uint64_t src = zset_of_entry(b->db, S), x;
	int err;

	if (!src)
		return PKV_ECORRUPT;
	if ((err = zset_new(t, zoffp)) ||
	    (err = zset_at(b->db, t, src, 0, &x)))
		return err;
	while (x) {
		const char *m;
		size_t ml;
		if ((err = zset_member_of(b->db, t, src, x, &m, &ml)) ||
		    (err = kv_zset_add_new(b, *zoffp, m, ml,
					   zset_score_of(b->db, t, x))) ||
		    (err = zset_step(b->db, t, src, x, false, &x)))
			return err;
	}
	return 0;
}

/* kv_zadd -- KV_OP_ZADD, decided and written. */
static int kv_zadd(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		   int *result)
{
	struct kvtx *t = &b->t;
	struct kv_loc floc;
	uint64_t zoff, node;
	double old, score = *op->score;
	int r = kv_zset_at(b, k, &zoff);

	if (r == PKV_ENOTFOUND && !(op->flags & PKV_XX) &&
	    !(r = zset_new(t, &zoff)))
		r = kv_coll_make(b, op, k, PKV_TYPE_ZSET,
				 KV_LAYOUT_VERSION_ZSETS, zoff);
	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r)
		return r;
	if ((r = kv_zset_find(b->db, t, zoff, op->field, op->flen, &floc,
			      &node)) < 0)
		return r;
	if (r) {                                   /* it is there */
		*result = PKV_EEXIST;
		old = zset_score_of(b->db, t, node);
		if (op->flags & PKV_ZINCR)
			score += old;
		if (isnan(score)) {
			*result = PKV_ERANGE;
			return 0;
		}
		if ((op->flags & PKV_NX) ||
		    ((op->flags & PKV_GT) && !(score > old)) ||
		    ((op->flags & PKV_LT) && !(score < old))) {
			*op->score = old;
			return 0;
		}
		*op->score = score;
		return score == old ? 0 : zset_set_score(t, zoff, node, score);
	}
	if (op->flags & PKV_XX) {
		*result = PKV_ENOTFOUND;
		return 0;
	}
	if (isnan(score)) {
		*result = PKV_ERANGE;
		return 0;
	}
	*result = 0;
	*op->score = score;
	return kv_zset_add_new(b, zoff, op->field, op->flen, score);
}

/* kv_zrem -- KV_OP_ZREM. */
static int kv_zrem(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		   int *result)
{
	struct kvtx *t = &b->t;
	struct kv_loc floc;
	uint64_t zoff, node;
	int r = kv_zset_at(b, k, &zoff);

	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r || (r = kv_zset_find(b->db, t, zoff, op->field, op->flen,
				   &floc, &node)) < 0)
		return r;
	if (!r) {
		*result = PKV_ENOTFOUND;
		return 0;
	}
	if ((r = kv_zset_remove(b, zoff, &floc, node)))
		return r;
	return zset_count(b->db, t, zoff) ? 0 : kv_zset_gone(b, op, k, zoff);
}

/*
 * kv_zspan -- the 0-based ranks [*lo, *hi] range q covers in the set at
 * zoff (LIMIT aside): false if none.  By rank, q's start and stop are
 * clamped as ZRANGE does (and mirrored for rev); by score or lex, the
 * first and last members inside are found in O(log n).
 */
static int kv_zspan(const pkv *db, const struct kvtx *t, uint64_t zoff,
		    const struct pkv_zrange *q, uint64_t *lo, uint64_t *hi)
{
	int64_t n = (int64_t)zset_count(db, t, zoff), a = q->start,
		z = q->stop;
	uint64_t first, last;
	int err;

	if (q->by == PKV_ZBY_RANK) {
		if (a < 0)
			a += n;
		if (z < 0)
			z += n;
		if (a < 0)
			a = 0;
		if (a > z || a >= n)
			return 0;
		if (z >= n)
			z = n - 1;
		*lo = q->rev ? (uint64_t)(n - 1 - z) : (uint64_t)a;
		*hi = q->rev ? (uint64_t)(n - 1 - a) : (uint64_t)z;
		return 1;
	}
	if ((err = zset_first_in(db, t, zoff, q, &first, lo)))
		return err;
	if (!first)
		return 0;
	if ((err = zset_last_in(db, t, zoff, q, &last, hi)))
		return err;
	return last && *hi >= *lo;
}

/* kv_zlimit -- q's LIMIT applied to [lo, hi] (from the top when rev):
 * false if nothing is left. */
static bool kv_zlimit(const struct pkv_zrange *q, uint64_t *lo,
		      uint64_t *hi)
{
	uint64_t n = *hi - *lo + 1;

	if (q->by == PKV_ZBY_RANK)
		return true;
	if (q->offset >= n)
		return false;
	n -= q->offset;
	if (q->count >= 0 && (uint64_t)q->count < n)
		n = (uint64_t)q->count;
	if (n == 0)
		return false;
	if (q->rev) {
		*hi -= q->offset;
		*lo = *hi - n + 1;
	} else {
		*lo += q->offset;
		*hi = *lo + n - 1;
	}
	return true;
}

/* kv_zremrange -- KV_OP_ZREMRANGE: every member of *op->zq goes. */
static int kv_zremrange(pkv_batch *b, const struct kv_op *op,
			struct kv_key *k, int *result)
{
	struct kvtx *t = &b->t;
	uint64_t zoff, lo, hi, node, removed = 0;
	int r = kv_zset_at(b, k, &zoff);

	if (op->n)
		*op->n = 0;
	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r || (r = kv_zspan(b->db, t, zoff, op->zq, &lo, &hi)) <= 0)
		return r;
	if ((r = zset_at(b->db, t, zoff, lo, &node)))
		return r;
	for (uint64_t i = lo; i <= hi; i++) {
		uint64_t next;
		struct kv_loc floc;
		const char *m;
		size_t ml;
		uint64_t again;
		if ((r = zset_step(b->db, t, zoff, node, false, &next)) ||
		    (r = zset_member_of(b->db, t, zoff, node, &m, &ml)))
			return r;
		if ((r = kv_zset_find(b->db, t, zoff, m, ml, &floc,
				      &again)) <= 0)
			return r ? r : PKV_ECORRUPT;
		if ((r = kv_zset_remove(b, zoff, &floc, node)))
			return r;
		removed++;
		node = next;
	}
	if (op->n)
		*op->n = removed;
	return zset_count(b->db, t, zoff) ? 0 : kv_zset_gone(b, op, k, zoff);
}

/* kv_zset_write -- a sorted set operation, decided and written. */
int kv_zset_write(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		  int *result)
{
	switch (op->op) {
	case KV_OP_ZADD:
		return kv_zadd(b, op, k, result);
	case KV_OP_ZREM:
		return kv_zrem(b, op, k, result);
	case KV_OP_ZREMRANGE:
		return kv_zremrange(b, op, k, result);
	default:
		return PKV_EINVAL;
	}
}

/* ---- the calls ---- */

int pkv_batch_zadd(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *member, size_t mlen, double *score,
		   unsigned flags)
{
	struct kv_op op = { .op = KV_OP_ZADD, .dbi = dbi, .key = key,
			    .klen = klen, .field = member, .flen = mlen,
			    .flags = flags, .score = score };
	if (!score || isnan(*score))
		return kv_err(b->db, PKV_EINVAL, "NULL or NaN score");
	return kv_exec(b, &op);
}

int pkv_batch_zrem(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *member, size_t mlen)
{
	struct kv_op op = { .op = KV_OP_ZREM, .dbi = dbi, .key = key,
			    .klen = klen, .field = member, .flen = mlen };
	return kv_exec(b, &op);
}

int pkv_batch_zremrange(pkv_batch *b, unsigned dbi, const void *key,
			size_t klen, const struct pkv_zrange *q,
			uint64_t *removed)
{
	struct kv_op op = { .op = KV_OP_ZREMRANGE, .dbi = dbi, .key = key,
			    .klen = klen, .zq = q, .n = removed };
	if (!q)
		return kv_err(b->db, PKV_EINVAL, "NULL range");
	return kv_exec(b, &op);
}

/* pkv_batch_zscore -- a member's score as the batch left it. */
int pkv_batch_zscore(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, const void *member, size_t mlen,
		     double *score)
{
	struct kv_loc floc;
	uint64_t zoff, node;
	int r;

	if (!member && mlen)
		return kv_err(b->db, PKV_EINVAL, "NULL member");
	if ((r = kv_zset_read(b, dbi, key, klen, &zoff)))
		return r;
	if (!zoff)
		return PKV_ENOTFOUND;
	r = kv_zset_find(b->db, kv_view(b), zoff, member, mlen, &floc, &node);
	if (r <= 0)
		return r ? r : PKV_ENOTFOUND;
	if (score)
		*score = zset_score_of(b->db, kv_view(b), node);
	return 0;
}

int pkv_batch_zcard(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t *n)
{
	uint64_t zoff;
	int r = kv_zset_read(b, dbi, key, klen, &zoff);

	if (!r && n)
		*n = zoff ? zset_count(b->db, kv_view(b), zoff) : 0;
	return r;
}

int pkv_batch_zrank(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, const void *member, size_t mlen, bool rev,
		    uint64_t *rank)
{
	const struct kvtx *v;
	struct kv_loc floc;
	uint64_t zoff, node, rk;
	int r;

	if ((r = kv_zset_read(b, dbi, key, klen, &zoff)))
		return r;
	if (!zoff)
		return PKV_ENOTFOUND;
	v = kv_view(b);
	r = kv_zset_find(b->db, v, zoff, member, mlen, &floc, &node);
	if (r <= 0)
		return r ? r : PKV_ENOTFOUND;
	if ((r = zset_rank(b->db, v, zoff, node, &rk)))
		return r;
	if (rank)
		*rank = rev ? zset_count(b->db, v, zoff) - 1 - rk : rk;
	return 0;
}

int pkv_batch_zcount(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, const struct pkv_zrange *q, uint64_t *n)
{
	uint64_t zoff, lo, hi;
	int r;

	*n = 0;
	if ((r = kv_zset_read(b, dbi, key, klen, &zoff)) || !zoff)
		return r;
	if ((r = kv_zspan(b->db, kv_view(b), zoff, q, &lo, &hi)) <= 0)
		return r;
	*n = hi - lo + 1;
	return 0;
}

int pkv_batch_zrange(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, const struct pkv_zrange *q, pkv_zfn fn,
		     void *ctx)
{
	const struct kvtx *v;
	uint64_t zoff, lo, hi, node;
	int r;

	if (!q || !fn)
		return kv_err(b->db, PKV_EINVAL, "NULL argument");
	if ((r = kv_zset_read(b, dbi, key, klen, &zoff)) || !zoff)
		return r;
	v = kv_view(b);
	if ((r = kv_zspan(b->db, v, zoff, q, &lo, &hi)) <= 0 ||
	    !kv_zlimit(q, &lo, &hi))
		return r < 0 ? r : 0;
	if ((r = zset_at(b->db, v, zoff, q->rev ? hi : lo, &node)))
		return r;
	for (uint64_t i = lo; i <= hi && node; i++) {
		const char *m;
		size_t ml;
		if ((r = zset_member_of(b->db, v, zoff, node, &m, &ml)) ||
		    (r = fn(ctx, m, ml, zset_score_of(b->db, v, node))) ||
		    (r = zset_step(b->db, v, zoff, node, q->rev, &node)))
			return r;
	}
	return 0;
}

/* While a sorted set's member table is scanned: the caller's function. */
struct kv_zscan {
	const pkv *db;
	const struct kvtx *t;
	pkv_zfn fn;
	void *ctx;
};

/* kv_zscan_one -- hash_scan callback: the member and its node's score. */
static int kv_zscan_one(void *vctx, const struct pkv_item *it)
{
	struct kv_zscan *z = vctx;
	uint64_t node;

	if (it->vlen != sizeof(node))
		return PKV_ECORRUPT;
	memcpy(&node, it->val, sizeof(node));
	return z->fn(z->ctx, it->key, it->klen,
		     zset_score_of(z->db, z->t, node));
}

int pkv_batch_zscan(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t cursor, unsigned count, pkv_zfn fn,
		    void *ctx, uint64_t *next)
{
	struct kv_zscan z = { b->db, NULL, fn, ctx };
	uint64_t zoff;
	int r;

	if (!fn || !next)
		return kv_err(b->db, PKV_EINVAL, "NULL argument");
	*next = 0;
	if ((r = kv_zset_read(b, dbi, key, klen, &zoff)) || !zoff)
		return r;
	z.t = kv_view(b);
	return hash_scan(b->db, z.t, b, zset_members(b->db, z.t, zoff),
			 cursor, count, kv_zscan_one, &z, next);
}

/* ---- single calls ---- */

int pkv_zadd(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *member, size_t mlen, double score, unsigned flags)
{
	struct kv_op op = { .op = KV_OP_ZADD, .dbi = dbi, .key = key,
			    .klen = klen, .field = member, .flen = mlen,
			    .flags = flags, .score = &score };
	if (isnan(score))
		return kv_err(db, PKV_EINVAL, "NaN score");
	return kv_one(db, &op);
}

int pkv_zrem(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *member, size_t mlen)
{
	struct kv_op op = { .op = KV_OP_ZREM, .dbi = dbi, .key = key,
			    .klen = klen, .field = member, .flen = mlen };
	return kv_one(db, &op);
}

int pkv_zscore(pkv *db, unsigned dbi, const void *key, size_t klen,
	       const void *member, size_t mlen, double *score)
{
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_zscore(b, dbi, key, klen, member, mlen, score);
	kv_batch_free(b);
	return err;
}

int pkv_zcard(pkv *db, unsigned dbi, const void *key, size_t klen,
	      uint64_t *n)
{
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_zcard(b, dbi, key, klen, n);
	kv_batch_free(b);
	return err;
}

int pkv_zrange(pkv *db, unsigned dbi, const void *key, size_t klen,
	       const struct pkv_zrange *q, pkv_zfn fn, void *ctx)
{
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_zrange(b, dbi, key, klen, q, fn, ctx);
	kv_batch_free(b);
	return err;
}
