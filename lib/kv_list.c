/*
 * kv_list.c -- the calls of pkv.h on lists (push, pop, set, insert,
 * remove, trim; length, index, range), alone or in a batch, over the
 * chain of type_list.c and the batch of kv.c.
 *
 * A list write is an operation of the batch like a put: kv_exec locks
 * the key's stripe, looks the key up once, and calls kv_list_write to
 * decide and write.  List reads hold the key's stripe too (as hash
 * reads do): a single read is a batch of one stripe that writes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "kv_batch.h"

/* Removing up to this many elements frees each; more are cut off and
 * left to the collector (a trim of any length is then a few words). */
#define LIST_FREE_MAX 16u

/* kv_list_at -- the header of k's list, or a result (kv_coll_at). */
static int kv_list_at(pkv_batch *b, const struct kv_key *k, uint64_t *loffp)
{
	return kv_coll_at(b, k, PKV_TYPE_LIST, sizeof(struct kv_list_hdr),
			  loffp);
}

/* kv_list_norm -- Redis's index: i < 0 counts from the end; 1 with the
 * index in [0, n) to *at, 0 if outside. */
static bool kv_list_norm(int64_t i, uint64_t n, uint64_t *at)
{
	if (i < 0)
		i += (int64_t)n;
	if (i < 0 || (uint64_t)i >= n)
		return false;
	*at = (uint64_t)i;
	return true;
}

/* kv_list_span -- LRANGE's and LTRIM's clamping of start..stop to a list
 * of n: false if empty, else the inclusive range to *from, *to. */
static bool kv_list_span(int64_t start, int64_t stop, uint64_t n,
			 uint64_t *from, uint64_t *to)
{
	int64_t len = (int64_t)n;

	if (start < 0)
		start += len;
	if (stop < 0)
		stop += len;
	if (start < 0)
		start = 0;
	if (start > stop || start >= len)
		return false;
	if (stop >= len)
		stop = len - 1;
	*from = (uint64_t)start;
	*to = (uint64_t)stop;
	return true;
}

/* kv_list_len -- report the list's length after the operation. */
static void kv_list_len(const pkv_batch *b, const struct kv_op *op,
			uint64_t loff)
{
	if (op->n)
		*op->n = loff ? list_count(b->db, &b->t, loff) : 0;
}

/*
 * kv_list_drop -- the list at loff goes with its key.  A short one's
 * elements and header are freed now; a long one is left to the collector
 * (unlinking its key is O(1)).
 */
static int kv_list_drop(pkv_batch *b, const struct kv_op *op,
			struct kv_key *k, uint64_t loff)
{
	struct kvtx *t = &b->t;
	uint64_t n = list_count(b->db, t, loff), e = 0;
	int err = 0;

	if (n > LIST_FREE_MAX) {
		kv_note_drop(b, k);
	} else {
		if (n)
			err = list_end(b->db, t, loff, false, &e);
		while (!err && e) {
			uint64_t nx;
			if (!(err = list_step(b->db, t, loff, e, false, &nx)))
				err = tx_free(t->tx, e);
			e = nx;
		}
		if (!err)
			err = tx_free(t->tx, loff);
	}
	if (err || (err = table_unlink(t, k->tab, &k->loc)))
		return err;
	return kv_delta(b, op->dbi, -1);
}

/* kv_list_emptied -- after a removal: the key goes if nothing is left. */
static int kv_list_emptied(pkv_batch *b, const struct kv_op *op,
			   struct kv_key *k, uint64_t loff)
{
	if (list_count(b->db, &b->t, loff) > 0)
		return 0;
	return kv_list_drop(b, op, k, loff);
}

/* kv_lpush -- KV_OP_LPUSH. */
static int kv_lpush(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		    int *result)
{
	struct kvtx *t = &b->t;
	bool tail = op->flags & PKV_TAIL;
	uint64_t loff = 0, e, end;
	int r = kv_list_at(b, k, &loff);

	if (r == PKV_ENOTFOUND && !(op->flags & PKV_XX) &&
	    !(r = list_new(t, &loff)))
		r = kv_coll_make(b, op, k, PKV_TYPE_LIST,
				 KV_LAYOUT_VERSION_LISTS, loff);
	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		kv_list_len(b, op, 0);
		return 0;
	}
	if (r || (r = list_elem_new(t, op->val, op->vlen, &e)))
		return r;
	b->payload += op->vlen;
	end = kvtx_get(t, loff + (tail ? offsetof(struct kv_list_hdr, tail)
					: offsetof(struct kv_list_hdr, head)));
	if ((r = tail ? list_link(t, loff, end, 0, e)
		      : list_link(t, loff, 0, end, e)))
		return r;
	kv_list_len(b, op, loff);
	return 0;
}

/* kv_lpop -- KV_OP_LPOP: the element to *op->ref, freed at commit. */
static int kv_lpop(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		   int *result)
{
	struct kvtx *t = &b->t;
	const char *p;
	size_t len;
	uint64_t loff, e;
	int r = kv_list_at(b, k, &loff);

	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r || (r = list_end(b->db, t, loff, op->flags & PKV_TAIL, &e)) ||
	    (r = list_value(b->db, loff, e, &p, &len)))
		return r;
	if (op->ref) {
		memset(op->ref, 0, sizeof(*op->ref));
		op->ref->val = p;
		op->ref->vlen = len;
		op->ref->type = PKV_TYPE_STRING;
	}
	if ((r = list_unlink(t, loff, e)))
		return r;
	kv_list_len(b, op, loff);
	return kv_list_emptied(b, op, k, loff);
}

/* kv_lset -- KV_OP_LSET: a new element takes the old one's place. */
static int kv_lset(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		   int *result)
{
	struct kvtx *t = &b->t;
	uint64_t loff, at, old, e;
	int r = kv_list_at(b, k, &loff);

	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r)
		return r;
	if (!kv_list_norm(op->index, list_count(b->db, t, loff), &at)) {
		*result = PKV_ERANGE;
		return 0;
	}
	if ((r = list_at(b->db, t, loff, at, &old)) ||
	    (r = list_elem_new(t, op->val, op->vlen, &e)))
		return r;
	b->payload += op->vlen;
	if ((r = list_link(t, loff, old, kvtx_get(t, old +
			   offsetof(struct kv_list_elem, next)), e)))
		return r;
	return list_unlink(t, loff, old);
}

/* kv_list_equal -- whether element e holds len bytes equal to p. */
static int kv_list_equal(const pkv_batch *b, uint64_t loff, uint64_t e,
			 const void *p, size_t len)
{
	const char *q;
	size_t qlen;
	int r = list_value(b->db, loff, e, &q, &qlen);

	if (r)
		return r;
	return qlen == len && (len == 0 || memcmp(q, p, len) == 0);
}

/* kv_linsert -- KV_OP_LINSERT: next to the first element equal to the
 * pivot (op->field). */
static int kv_linsert(pkv_batch *b, const struct kv_op *op,
		      struct kv_key *k, int *result)
{
	struct kvtx *t = &b->t;
	uint64_t loff, e, nb, ne;
	int r = kv_list_at(b, k, &loff);

	kv_list_len(b, op, 0);
	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r || (r = list_end(b->db, t, loff, false, &e)))
		return r;
	while (e && !(r = kv_list_equal(b, loff, e, op->field, op->flen)))
		if ((r = list_step(b->db, t, loff, e, false, &e)))
			return r;
	if (r < 0)
		return r;
	if (!e) {
		*result = PKV_ENOTFOUND;
		kv_list_len(b, op, loff);
		return 0;
	}
	if ((r = list_elem_new(t, op->val, op->vlen, &ne)))
		return r;
	b->payload += op->vlen;
	if (op->flags & PKV_AFTER) {
		nb = kvtx_get(t, e + offsetof(struct kv_list_elem, next));
		r = list_link(t, loff, e, nb, ne);
	} else {
		nb = kvtx_get(t, e + offsetof(struct kv_list_elem, prev));
		r = list_link(t, loff, nb, e, ne);
	}
	kv_list_len(b, op, loff);
	return r;
}

/* kv_lrem -- KV_OP_LREM: op->index is LREM's count. */
static int kv_lrem(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		   int *result)
{
	struct kvtx *t = &b->t;
	bool back = op->index < 0;
	uint64_t want = back ? -(uint64_t)op->index : (uint64_t)op->index;
	uint64_t loff, e, removed = 0;
	int r = kv_list_at(b, k, &loff);

	if (op->n)
		*op->n = 0;
	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r || (r = list_end(b->db, t, loff, back, &e)))
		return r;
	while (e && (want == 0 || removed < want)) {
		uint64_t nx;
		int eq = kv_list_equal(b, loff, e, op->val, op->vlen);
		if (eq < 0 || (r = list_step(b->db, t, loff, e, back, &nx)))
			return eq < 0 ? eq : r;
		if (eq) {
			if ((r = list_unlink(t, loff, e)))
				return r;
			removed++;
		}
		e = nx;
	}
	if (op->n)
		*op->n = removed;
	return kv_list_emptied(b, op, k, loff);
}

/* kv_ltrim -- KV_OP_LTRIM: keep op->index..op->index2. */
static int kv_ltrim(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		    int *result)
{
	struct kvtx *t = &b->t;
	uint64_t loff, n, from, to, first, last;
	int r = kv_list_at(b, k, &loff);

	if (r == PKV_ENOTFOUND || r == PKV_EWRONGTYPE) {
		*result = r;
		return 0;
	}
	if (r)
		return r;
	n = list_count(b->db, t, loff);
	if (!kv_list_span(op->index, op->index2, n, &from, &to))
		return kv_list_drop(b, op, k, loff);
	if (from == 0 && to == n - 1)
		return 0;
	if (n - (to - from + 1) <= LIST_FREE_MAX) {
		/* a few: free them one by one */
		for (uint64_t i = 0; i < from; i++) {
			if ((r = list_end(b->db, t, loff, false, &first)) ||
			    (r = list_unlink(t, loff, first)))
				return r;
		}
		for (uint64_t i = to + 1; i < n; i++) {
			if ((r = list_end(b->db, t, loff, true, &last)) ||
			    (r = list_unlink(t, loff, last)))
				return r;
		}
		return 0;
	}
	if ((r = list_at(b->db, t, loff, from, &first)) ||
	    (r = list_at(b->db, t, loff, to, &last)))
		return r;
	b->drops = true;
	return list_cut(t, loff, first, last, to - from + 1);
}

/* kv_list_write -- a list operation, decided and written (see kv_write):
 * its result (0, PKV_ENOTFOUND, PKV_EWRONGTYPE, PKV_ERANGE) to *result,
 * or an error. */
int kv_list_write(pkv_batch *b, const struct kv_op *op, struct kv_key *k,
		  int *result)
{
	switch (op->op) {
	case KV_OP_LPUSH:
		return kv_lpush(b, op, k, result);
	case KV_OP_LPOP:
		return kv_lpop(b, op, k, result);
	case KV_OP_LSET:
		return kv_lset(b, op, k, result);
	case KV_OP_LINSERT:
		return kv_linsert(b, op, k, result);
	case KV_OP_LREM:
		return kv_lrem(b, op, k, result);
	case KV_OP_LTRIM:
		return kv_ltrim(b, op, k, result);
	default:
		return PKV_EINVAL;
	}
}

/* ---- the calls ---- */

/* kv_list_read -- the header of key's list (kv_coll_read). */
static int kv_list_read(pkv_batch *b, unsigned dbi, const void *key,
			size_t klen, uint64_t *loffp)
{
	return kv_coll_read(b, dbi, key, klen, PKV_TYPE_LIST,
			    sizeof(struct kv_list_hdr), loffp);
}

int pkv_batch_lpush(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, const void *val, size_t vlen, unsigned flags,
		    uint64_t *len)
{
	struct kv_op op = { .op = KV_OP_LPUSH, .dbi = dbi, .key = key,
			    .klen = klen, .val = val, .vlen = vlen,
			    .flags = flags, .n = len };
	return kv_exec(b, &op);
}

int pkv_batch_lpop(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   unsigned flags, struct pkv_ref *ref)
{
	struct kv_op op = { .op = KV_OP_LPOP, .dbi = dbi, .key = key,
			    .klen = klen, .flags = flags, .ref = ref };
	return kv_exec(b, &op);
}

int pkv_batch_lset(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   int64_t index, const void *val, size_t vlen)
{
	struct kv_op op = { .op = KV_OP_LSET, .dbi = dbi, .key = key,
			    .klen = klen, .val = val, .vlen = vlen,
			    .index = index };
	return kv_exec(b, &op);
}

int pkv_batch_linsert(pkv_batch *b, unsigned dbi, const void *key,
		      size_t klen, unsigned flags, const void *pivot,
		      size_t plen, const void *val, size_t vlen,
		      uint64_t *len)
{
	struct kv_op op = { .op = KV_OP_LINSERT, .dbi = dbi, .key = key,
			    .klen = klen, .val = val, .vlen = vlen,
			    .flags = flags, .field = pivot, .flen = plen,
			    .n = len };
	return kv_exec(b, &op);
}

int pkv_batch_lrem(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   int64_t count, const void *val, size_t vlen,
		   uint64_t *removed)
{
	struct kv_op op = { .op = KV_OP_LREM, .dbi = dbi, .key = key,
			    .klen = klen, .val = val, .vlen = vlen,
			    .index = count, .n = removed };
	return kv_exec(b, &op);
}

int pkv_batch_ltrim(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, int64_t start, int64_t stop)
{
	struct kv_op op = { .op = KV_OP_LTRIM, .dbi = dbi, .key = key,
			    .klen = klen, .index = start, .index2 = stop };
	return kv_exec(b, &op);
}

/* pkv_batch_llen -- a list's length as the batch left it. */
int pkv_batch_llen(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   uint64_t *n)
{
	uint64_t loff;
	int r = kv_list_read(b, dbi, key, klen, &loff);

	if (!r && n)
		*n = loff ? list_count(b->db, kv_view(b), loff) : 0;
	return r;
}

/* pkv_batch_lindex_ref -- the element at index as the batch left it. */
int pkv_batch_lindex_ref(pkv_batch *b, unsigned dbi, const void *key,
			 size_t klen, int64_t index, struct pkv_ref *ref)
{
	const struct kvtx *v;
	const char *p;
	size_t len;
	uint64_t loff, at, e;
	int r;

	if (!ref)
		return kv_err(b->db, PKV_EINVAL, "NULL argument");
	if ((r = kv_list_read(b, dbi, key, klen, &loff)))
		return r;
	v = kv_view(b);
	if (!loff || !kv_list_norm(index, list_count(b->db, v, loff), &at))
		return PKV_ENOTFOUND;
	if ((r = list_at(b->db, v, loff, at, &e)) ||
	    (r = list_value(b->db, loff, e, &p, &len)))
		return r;
	memset(ref, 0, sizeof(*ref));
	ref->val = p;
	ref->vlen = len;
	ref->type = PKV_TYPE_STRING;
	return 0;
}

/* pkv_batch_lrange -- visit start..stop as the batch left them. */
int pkv_batch_lrange(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, int64_t start, int64_t stop, unsigned flags,
		     pkv_scan_fn fn, void *ctx)
{
	const struct kvtx *v;
	bool back = flags & PKV_TAIL;
	uint64_t loff, from, to, e, n;
	int r;

	if (!fn || (flags & ~PKV_TAIL))
		return kv_err(b->db, PKV_EINVAL, "NULL function or bad flags");
	if ((r = kv_list_read(b, dbi, key, klen, &loff)) || !loff)
		return r;
	v = kv_view(b);
	if (!kv_list_span(start, stop, list_count(b->db, v, loff), &from, &to))
		return 0;
	if ((r = list_at(b->db, v, loff, back ? to : from, &e)))
		return r;
	for (n = to - from + 1; n && e; n--) {
		struct pkv_item it = { NULL, 0, NULL, 0, 0, PKV_TYPE_STRING };
		const char *p;
		if ((r = list_value(b->db, loff, e, &p, &it.vlen)))
			return r;
		it.val = p;
		if ((r = fn(ctx, &it)) ||
		    (r = list_step(b->db, v, loff, e, back, &e)))
			return r;
	}
	return n ? kv_err(b->db, PKV_ECORRUPT, "a list shorter than its "
			  "count") : 0;
}

/* ---- single calls ---- */

/* kv_list_one -- run op in a batch of its own and commit it (the popped
 * element is copied out first, while it still exists). */
static int kv_list_one(pkv *db, struct kv_op *op, void *buf, size_t bufsize,
		       size_t *vlen)
{
	struct pkv_ref ref;
	pkv_batch *b;
	int r, err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	op->ref = &ref;
	r = kv_exec(b, op);
	if (r == 0 && op->op == KV_OP_LPOP) {
		if (buf && bufsize)
			memcpy(buf, ref.val, ref.vlen < bufsize ? ref.vlen
								: bufsize);
		if (vlen)
			*vlen = ref.vlen;
	}
	err = pkv_batch_commit(b, NULL);
	return err ? err : r;
}

int pkv_lpush(pkv *db, unsigned dbi, const void *key, size_t klen,
	      const void *val, size_t vlen, unsigned flags, uint64_t *len)
{
	struct kv_op op = { .op = KV_OP_LPUSH, .dbi = dbi, .key = key,
			    .klen = klen, .val = val, .vlen = vlen,
			    .flags = flags, .n = len };
	return kv_list_one(db, &op, NULL, 0, NULL);
}

int pkv_lpop(pkv *db, unsigned dbi, const void *key, size_t klen,
	     unsigned flags, void *buf, size_t bufsize, size_t *vlen)
{
	struct kv_op op = { .op = KV_OP_LPOP, .dbi = dbi, .key = key,
			    .klen = klen, .flags = flags };
	return kv_list_one(db, &op, buf, bufsize, vlen);
}

int pkv_ltrim(pkv *db, unsigned dbi, const void *key, size_t klen,
	      int64_t start, int64_t stop)
{
	struct kv_op op = { .op = KV_OP_LTRIM, .dbi = dbi, .key = key,
			    .klen = klen, .index = start, .index2 = stop };
	return kv_list_one(db, &op, NULL, 0, NULL);
}

int pkv_llen(pkv *db, unsigned dbi, const void *key, size_t klen,
	     uint64_t *n)
{
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_llen(b, dbi, key, klen, n);
	kv_batch_free(b);
	return err;
}

int pkv_lindex(pkv *db, unsigned dbi, const void *key, size_t klen,
	       int64_t index, void *buf, size_t bufsize, size_t *vlen)
{
	struct pkv_ref ref;
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_lindex_ref(b, dbi, key, klen, index, &ref);
	if (!err) {
		if (buf && bufsize)
			memcpy(buf, ref.val, ref.vlen < bufsize ? ref.vlen
								: bufsize);
		if (vlen)
			*vlen = ref.vlen;
	}
	kv_batch_free(b);
	return err;
}

int pkv_lrange(pkv *db, unsigned dbi, const void *key, size_t klen,
	       int64_t start, int64_t stop, unsigned flags, pkv_scan_fn fn,
	       void *ctx)
{
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_lrange(b, dbi, key, klen, start, stop, flags, fn,
			       ctx);
	kv_batch_free(b);
	return err;
}
