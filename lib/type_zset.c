/*
 * type_zset.c -- the sorted set type: a persistent skip list ordered by
 * (score, member), with spans for ranks, beside a member table (layout:
 * layout.h, "Sorted sets").
 *
 * Why a skip list.  It is Redis's structure, so every command keeps
 * Redis's complexity: an insert, a removal or a new score touches the
 * links of the node's levels (O(log n) words), ranks and range starts are
 * O(log n) walks, and a range is then a walk along level 0.  Nothing is
 * ever copied or rebalanced, which suits a heap where every changed word
 * is logged: a write is one commit of a few dozen words.  A member's
 * level comes from its hash, not from a random generator, so the list's
 * shape depends only on its members.
 *
 * Every change is made in the caller's kvtx (read-your-writes); readers
 * hold the key's stripe (kv_zset.c), as for the other collections.  Each
 * pointer read from the pool is checked before it is followed: damage is
 * reported and answered with PKV_ECORRUPT, never followed.
 */
#include <stddef.h>
#include <string.h>

#include "kv_int.h"

#define ZH_COUNT offsetof(struct kv_zset_hdr, count)
#define ZH_LEVEL offsetof(struct kv_zset_hdr, level)
#define ZH_MEMBERS offsetof(struct kv_zset_hdr, members)
#define ZH_TAIL offsetof(struct kv_zset_hdr, tail)
#define ZH_HEAD offsetof(struct kv_zset_hdr, head)
#define ZN_SCORE offsetof(struct kv_zset_node, score)
#define ZN_BACK offsetof(struct kv_zset_node, backward)
#define ZN_FIELD offsetof(struct kv_zset_node, field)
#define ZN_LEVEL offsetof(struct kv_zset_node, level)
#define ZN_LVL offsetof(struct kv_zset_node, lvl)
#define ZL_FWD offsetof(struct kv_zlevel, forward)
#define ZL_SPAN offsetof(struct kv_zlevel, span)

/* zw -- the word at off, through t when given. */
static inline uint64_t zw(const pkv *db, const struct kvtx *t, uint64_t off)
{
	return t ? kvtx_get(t, off) : kv_load(kv_ptr(db, off));
}

/* zbad -- report damage met in the sorted set at zoff; PKV_ECORRUPT. */
static int zbad(const pkv *db, uint64_t zoff, const char *what, uint64_t at)
{
	kv_damage(db, "sorted set at offset %llu: %s at offset %llu",
		  (unsigned long long)zoff, what, (unsigned long long)at);
	return PKV_ECORRUPT;
}

/* zlvl -- the offset of level i's link of x (zoff itself: the head). */
static inline uint64_t zlvl(uint64_t zoff, uint64_t x, unsigned i)
{
	return (x == zoff ? zoff + ZH_HEAD : x + ZN_LVL) +
	       (uint64_t)i * sizeof(struct kv_zlevel);
}

/* zset_score_of -- a node's score. */
double zset_score_of(const pkv *db, const struct kvtx *t, uint64_t node)
{
	uint64_t bits = zw(db, t, node + ZN_SCORE);
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* zset_member_of -- a node's member (its field's key): 0, or
 * PKV_ECORRUPT (reported) if the node does not name a sound field. */
int zset_member_of(const pkv *db, const struct kvtx *t, uint64_t zoff,
		   uint64_t node, const char **p, size_t *len)
{
	uint64_t f = zw(db, t, node + ZN_FIELD);
	const struct kv_entry *F;

	if (!kv_entry_ok(db, f))
		return zbad(db, zoff, "a node whose member cannot be read",
			    node);
	F = kv_ptr(db, f);
	*p = kv_entry_key(F);
	*len = F->klen;
	return 0;
}

/* znode_ok -- off can be a node of the sorted set. */
static bool znode_ok(const pkv *db, const struct kvtx *t, uint64_t off)
{
	uint64_t lv;

	if (!kv_area_ok(db, off, sizeof(struct kv_zset_node)))
		return false;
	lv = zw(db, t, off + ZN_LEVEL);
	return lv >= 1 && lv <= ZSET_MAXLEVEL &&
	       kv_area_ok(db, off, sizeof(struct kv_zset_node) +
			  lv * sizeof(struct kv_zlevel));
}

/* zprefetch -- ask for node's first line (score, level), unchecked: a
 * hint only, so a damaged link costs nothing. */
static inline void zprefetch(const pkv *db, uint64_t node)
{
	if (node && kv_area_ok(db, node, sizeof(struct kv_zset_node)))
		__builtin_prefetch(kv_ptr(db, node));
}

/* znext -- level i's forward link of x (0 past the end), checked. */
static int znext(const pkv *db, const struct kvtx *t, uint64_t zoff,
		 uint64_t x, unsigned i, uint64_t *fwd)
{
	*fwd = zw(db, t, zlvl(zoff, x, i) + ZL_FWD);
	if (*fwd && !znode_ok(db, t, *fwd))
		return zbad(db, zoff, "a link that is not a node", x);
	return 0;
}

/* zlevels -- the levels in use, checked. */
static int zlevels(const pkv *db, const struct kvtx *t, uint64_t zoff,
		   unsigned *n)
{
	uint64_t lv = zw(db, t, zoff + ZH_LEVEL);

	if (lv < 1 || lv > ZSET_MAXLEVEL)
		return zbad(db, zoff, "a level count that cannot be right",
			    zoff);
	*n = (unsigned)lv;
	return 0;
}

uint64_t zset_of_entry(const pkv *db, const struct kv_entry *e)
{
	return kv_coll_of_entry(db, e, PKV_TYPE_ZSET,
				sizeof(struct kv_zset_hdr));
}

uint64_t zset_count(const pkv *db, const struct kvtx *t, uint64_t zoff)
{
	return zw(db, t, zoff + ZH_COUNT);
}

uint64_t zset_members(const pkv *db, const struct kvtx *t, uint64_t zoff)
{
	return zw(db, t, zoff + ZH_MEMBERS);
}

/*
 * zset_new -- an empty sorted set in t (its header written directly and
 * carried whole in the record, and an empty member table); its offset to
 * *offp.
 */
int zset_new(struct kvtx *t, uint64_t *offp)
{
	struct kv_zset_hdr *H;
	uint64_t members;
	int err = hash_new(t, &members);

	if (err || (err = tx_alloc_fixed(t->tx, sizeof(*H), KV_TYPE_ZSET,
					 sizeof(*H), offp)))
		return err;
	H = kv_ptr(t->db, *offp);
	memset(H, 0, sizeof(*H));
	H->level = 1;
	H->members = members;
	return 0;
}

/* zset_level_for -- a member's level from its hash: 1, and one more for
 * each further pair of zero bits (Redis's p = 1/4). */
unsigned zset_level_for(uint64_t hash)
{
	unsigned lv = 1;

	while (lv < ZSET_MAXLEVEL && (hash & 3) == 0) {
		lv++;
		hash >>= 2;
	}
	return lv;
}

/*
 * zset_node_new -- a new node of `level` levels for the member whose field
 * entry is at field, with score; unlinked.  Every word of it may change
 * later (a new score relinks it), so the record carries all of it.
 */
int zset_node_new(struct kvtx *t, unsigned level, double score,
		  uint64_t field, uint64_t *offp)
{
	size_t size = sizeof(struct kv_zset_node) +
		      level * sizeof(struct kv_zlevel);
	struct kv_zset_node *N;
	int err = tx_alloc_fixed(t->tx, size, KV_TYPE_ZNODE, (unsigned)size,
				 offp);

	if (err)
		return err;
	N = kv_ptr(t->db, *offp);
	memset(N, 0, size);
	memcpy(&N->score, &score, sizeof(score));
	N->field = field;
	N->level = level;
	return 0;
}

/* zcmp -- (score a, member a) against (score b, member b). */
static int zcmp(double sa, const char *ma, size_t la, double sb,
		const char *mb, size_t lb)
{
	size_t n = la < lb ? la : lb;
	int r;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	r = n ? memcmp(ma, mb, n) : 0;
	return r ? r : (la > lb) - (la < lb);
}

/* zkey_before -- whether node x sorts before (score, m): 1, 0, or
 * PKV_ECORRUPT.  The member, a block of its own (a cache miss), is read
 * only when the scores tie, as Redis's zslInsert does. */
static int zkey_before(const pkv *db, const struct kvtx *t, uint64_t zoff,
		       uint64_t x, double score, const char *m, size_t ml,
		       bool or_equal)
{
	double xs = zset_score_of(db, t, x);
	const char *xm;
	size_t xl;
	int err, c;

	if (xs != score)
		return xs < score;
	if ((err = zset_member_of(db, t, zoff, x, &xm, &xl)))
		return err;
	c = zcmp(xs, xm, xl, score, m, ml);
	return or_equal ? c <= 0 : c < 0;
}

/*
 * zpath -- the last node before (score, m) at each level (update[]) and
 * the rank of each (rank[], nodes passed), as zslInsert and zslDelete
 * find them.
 */
static int zpath(const pkv *db, const struct kvtx *t, uint64_t zoff,
		 double score, const char *m, size_t ml,
		 uint64_t update[ZSET_MAXLEVEL], uint64_t rank[ZSET_MAXLEVEL],
		 unsigned *levels)
{
	uint64_t x = zoff, fwd, steps = 0, count = zset_count(db, t, zoff);
	int err = zlevels(db, t, zoff, levels);

	for (int i = (int)*levels - 1; !err && i >= 0; i--) {
		rank[i] = i == (int)*levels - 1 ? 0 : rank[i + 1];
		for (;;) {
			int before;
			if ((err = znext(db, t, zoff, x, (unsigned)i, &fwd)) ||
			    !fwd)
				break;
			/* Where the walk goes if fwd is not before: asked for
			 * now, its miss overlaps fwd's. */
			if (i > 0)
				zprefetch(db, zw(db, t, zlvl(zoff, x,
						      (unsigned)i - 1) +
						 ZL_FWD));
			before = zkey_before(db, t, zoff, fwd, score, m, ml,
					     false);
			if (before < 0) {
				err = before;
				break;
			}
			if (!before)
				break;
			rank[i] += zw(db, t, zlvl(zoff, x, (unsigned)i) +
				      ZL_SPAN);
			x = fwd;
			if (++steps > count + ZSET_MAXLEVEL)
				return zbad(db, zoff, "a level with no end",
					    zoff);
		}
		update[i] = x;
	}
	return err;
}

/* zset_insert -- link node (score and field set, not linked) in order,
 * and count it. */
int zset_insert(struct kvtx *t, uint64_t zoff, uint64_t node)
{
	const pkv *db = t->db;
	uint64_t update[ZSET_MAXLEVEL], rank[ZSET_MAXLEVEL];
	unsigned levels, lv = (unsigned)kvtx_get(t, node + ZN_LEVEL);
	uint64_t count = zset_count(db, t, zoff), fwd;
	const char *m;
	size_t ml;
	int err;

	if ((err = zset_member_of(db, t, zoff, node, &m, &ml)) ||
	    (err = zpath(db, t, zoff, zset_score_of(db, t, node), m, ml,
			 update, rank, &levels)))
		return err;
	if (lv > levels) {
		for (unsigned i = levels; i < lv; i++) {
			rank[i] = 0;
			update[i] = zoff;
			if ((err = kvtx_set(t, zlvl(zoff, zoff, i) + ZL_SPAN,
					    count)))
				return err;
		}
		if ((err = kvtx_set(t, zoff + ZH_LEVEL, lv)))
			return err;
		levels = lv;
	}
	for (unsigned i = 0; i < lv; i++) {
		uint64_t ul = zlvl(zoff, update[i], i);
		uint64_t nl = zlvl(zoff, node, i);
		uint64_t span = kvtx_get(t, ul + ZL_SPAN);
		if ((err = kvtx_set(t, nl + ZL_FWD,
				    kvtx_get(t, ul + ZL_FWD))) ||
		    (err = kvtx_set(t, ul + ZL_FWD, node)) ||
		    (err = kvtx_set(t, nl + ZL_SPAN,
				    span - (rank[0] - rank[i]))) ||
		    (err = kvtx_set(t, ul + ZL_SPAN, rank[0] - rank[i] + 1)))
			return err;
	}
	for (unsigned i = lv; i < levels; i++) {
		uint64_t ul = zlvl(zoff, update[i], i) + ZL_SPAN;
		if ((err = kvtx_set(t, ul, kvtx_get(t, ul) + 1)))
			return err;
	}
	if ((err = kvtx_set(t, node + ZN_BACK, update[0] == zoff ? 0 :
			    update[0])))
		return err;
	fwd = kvtx_get(t, zlvl(zoff, node, 0) + ZL_FWD);
	if ((err = kvtx_set(t, fwd ? fwd + ZN_BACK : zoff + ZH_TAIL, node)))
		return err;
	return kvtx_set(t, zoff + ZH_COUNT, count + 1);
}

/* zset_unlink -- take node out of the list and uncount it (its block
 * stays: the caller frees it or links it again). */
int zset_unlink(struct kvtx *t, uint64_t zoff, uint64_t node)
{
	const pkv *db = t->db;
	uint64_t update[ZSET_MAXLEVEL], rank[ZSET_MAXLEVEL], fwd;
	unsigned levels;
	const char *m;
	size_t ml;
	int err;

	if ((err = zset_member_of(db, t, zoff, node, &m, &ml)) ||
	    (err = zpath(db, t, zoff, zset_score_of(db, t, node), m, ml,
			 update, rank, &levels)))
		return err;
	if (kvtx_get(t, zlvl(zoff, update[0], 0) + ZL_FWD) != node)
		return zbad(db, zoff, "a node not where its score puts it",
			    node);
	for (unsigned i = 0; i < levels; i++) {
		uint64_t ul = zlvl(zoff, update[i], i);
		uint64_t span = kvtx_get(t, ul + ZL_SPAN);
		if (kvtx_get(t, ul + ZL_FWD) == node) {
			uint64_t nl = zlvl(zoff, node, i);
			err = kvtx_set(t, ul + ZL_SPAN, span +
				       kvtx_get(t, nl + ZL_SPAN) - 1);
			if (!err)
				err = kvtx_set(t, ul + ZL_FWD,
					       kvtx_get(t, nl + ZL_FWD));
		} else {
			err = kvtx_set(t, ul + ZL_SPAN, span - 1);
		}
		if (err)
			return err;
	}
	fwd = kvtx_get(t, zlvl(zoff, node, 0) + ZL_FWD);
	if ((err = kvtx_set(t, fwd ? fwd + ZN_BACK : zoff + ZH_TAIL,
			    kvtx_get(t, node + ZN_BACK))))
		return err;
	while (levels > 1 && !kvtx_get(t, zlvl(zoff, zoff, levels - 1) +
				       ZL_FWD))
		levels--;
	if ((err = kvtx_set(t, zoff + ZH_LEVEL, levels)))
		return err;
	return kvtx_set(t, zoff + ZH_COUNT, zset_count(db, t, zoff) - 1);
}

/* zset_set_score -- a node's new score: unlinked, rescored, linked
 * again in its new place. */
int zset_set_score(struct kvtx *t, uint64_t zoff, uint64_t node,
		   double score)
{
	uint64_t bits;
	int err = zset_unlink(t, zoff, node);

	memcpy(&bits, &score, sizeof(bits));
	if (err || (err = kvtx_set(t, node + ZN_SCORE, bits)))
		return err;
	return zset_insert(t, zoff, node);
}

/* zset_rank -- node's 0-based rank. */
int zset_rank(const pkv *db, const struct kvtx *t, uint64_t zoff,
	      uint64_t node, uint64_t *rank)
{
	uint64_t update[ZSET_MAXLEVEL], ranks[ZSET_MAXLEVEL];
	unsigned levels;
	const char *m;
	size_t ml;
	int err;

	if ((err = zset_member_of(db, t, zoff, node, &m, &ml)) ||
	    (err = zpath(db, t, zoff, zset_score_of(db, t, node), m, ml,
			 update, ranks, &levels)))
		return err;
	*rank = ranks[0];
	return 0;
}

/* zset_at -- the node of 0-based rank r (< count). */
int zset_at(const pkv *db, const struct kvtx *t, uint64_t zoff, uint64_t r,
	    uint64_t *node)
{
	uint64_t x = zoff, fwd, passed = 0;
	unsigned levels;
	int err = zlevels(db, t, zoff, &levels);

	r++;
	for (int i = (int)levels - 1; !err && i >= 0; i--) {
		for (;;) {
			uint64_t span = zw(db, t, zlvl(zoff, x, (unsigned)i) +
					   ZL_SPAN);
			if ((err = znext(db, t, zoff, x, (unsigned)i, &fwd)) ||
			    !fwd || passed + span > r)
				break;
			passed += span;
			x = fwd;
		}
		if (!err && passed == r) {
			*node = x;
			return 0;
		}
	}
	return err ? err : zbad(db, zoff, "spans that do not add up", zoff);
}

/* zbound_below -- whether node x is below the range's lower end (1),
 * not (0), or PKV_ECORRUPT. */
static int zbound_below(const pkv *db, const struct kvtx *t, uint64_t zoff,
			uint64_t x, const struct pkv_zrange *q)
{
	const char *m;
	size_t ml;
	int err, c;

	if (q->by != PKV_ZBY_LEX) {
		double s = zset_score_of(db, t, x);
		return q->minex ? s <= q->min : s < q->min;
	}
	if (q->lmin_inf)
		return q->lmin_inf > 0;
	if ((err = zset_member_of(db, t, zoff, x, &m, &ml)))
		return err;
	c = zcmp(0, m, ml, 0, q->lmin, q->lminlen);
	return q->minex ? c <= 0 : c < 0;
}

/* zbound_above -- whether node x is above the range's upper end. */
static int zbound_above(const pkv *db, const struct kvtx *t, uint64_t zoff,
			uint64_t x, const struct pkv_zrange *q)
{
	const char *m;
	size_t ml;
	int err, c;

	if (q->by != PKV_ZBY_LEX) {
		double s = zset_score_of(db, t, x);
		return q->maxex ? s >= q->max : s > q->max;
	}
	if (q->lmax_inf)
		return q->lmax_inf < 0;
	if ((err = zset_member_of(db, t, zoff, x, &m, &ml)))
		return err;
	c = zcmp(0, m, ml, 0, q->lmax, q->lmaxlen);
	return q->maxex ? c >= 0 : c > 0;
}

/*
 * zset_first_in, zset_last_in -- the first (last) node inside range q,
 * with its 0-based rank: 0 with *node (0: the range holds none), or
 * PKV_ECORRUPT.
 */
int zset_first_in(const pkv *db, const struct kvtx *t, uint64_t zoff,
		  const struct pkv_zrange *q, uint64_t *node, uint64_t *rank)
{
	uint64_t x = zoff, fwd, passed = 0;
	unsigned levels;
	int err = zlevels(db, t, zoff, &levels), r;

	*node = 0;
	for (int i = (int)levels - 1; !err && i >= 0; i--)
		for (;;) {
			if ((err = znext(db, t, zoff, x, (unsigned)i, &fwd)) ||
			    !fwd)
				break;
			if ((r = zbound_below(db, t, zoff, fwd, q)) < 0)
				return r;
			if (!r)
				break;
			passed += zw(db, t, zlvl(zoff, x, (unsigned)i) +
				     ZL_SPAN);
			x = fwd;
		}
	if (err || (err = znext(db, t, zoff, x, 0, &fwd)) || !fwd)
		return err;
	if ((r = zbound_above(db, t, zoff, fwd, q)) < 0)
		return r;
	if (!r) {
		*node = fwd;
		*rank = passed;
	}
	return 0;
}

int zset_last_in(const pkv *db, const struct kvtx *t, uint64_t zoff,
		 const struct pkv_zrange *q, uint64_t *node, uint64_t *rank)
{
	uint64_t x = zoff, fwd, passed = 0;
	unsigned levels;
	int err = zlevels(db, t, zoff, &levels), r;

	*node = 0;
	for (int i = (int)levels - 1; !err && i >= 0; i--)
		for (;;) {
			if ((err = znext(db, t, zoff, x, (unsigned)i, &fwd)) ||
			    !fwd)
				break;
			if ((r = zbound_above(db, t, zoff, fwd, q)) < 0)
				return r;
			if (r)
				break;
			passed += zw(db, t, zlvl(zoff, x, (unsigned)i) +
				     ZL_SPAN);
			x = fwd;
		}
	if (err || x == zoff)
		return err;
	if ((r = zbound_below(db, t, zoff, x, q)) < 0)
		return r;
	if (!r) {
		*node = x;
		*rank = passed - 1;
	}
	return 0;
}

/* zset_step -- the node after x (back: before it), 0 past the end. */
int zset_step(const pkv *db, const struct kvtx *t, uint64_t zoff, uint64_t x,
	      bool back, uint64_t *nx)
{
	if (!back)
		return znext(db, t, zoff, x, 0, nx);
	*nx = zw(db, t, x + ZN_BACK);
	if (*nx && !znode_ok(db, t, *nx))
		return zbad(db, zoff, "a backward link that is not a node", x);
	return 0;
}

/* ---- what the collector follows ---- */

/* A header points at its member table, its tail and the head's links. */
static void zset_trace_hdr(const void *data, uint64_t size,
			   gc_visit_fn visit, void *vctx)
{
	const struct kv_zset_hdr *H = data;
	uint64_t w;

	if (size < sizeof(*H))
		return;
	if ((w = __atomic_load_n(&H->members, __ATOMIC_RELAXED)))
		visit(vctx, w);
	if ((w = __atomic_load_n(&H->tail, __ATOMIC_RELAXED)))
		visit(vctx, w);
	for (unsigned i = 0; i < ZSET_MAXLEVEL; i++)
		if ((w = __atomic_load_n(&H->head[i].forward,
					 __ATOMIC_RELAXED)))
			visit(vctx, w);
}

/* A node points at its neighbours and its member's field. */
static void zset_trace_node(const void *data, uint64_t size,
			    gc_visit_fn visit, void *vctx)
{
	const struct kv_zset_node *N = data;
	uint64_t w, lv;

	if (size < sizeof(*N))
		return;
	if ((w = __atomic_load_n(&N->backward, __ATOMIC_RELAXED)))
		visit(vctx, w);
	if ((w = __atomic_load_n(&N->field, __ATOMIC_RELAXED)))
		visit(vctx, w);
	lv = __atomic_load_n(&N->level, __ATOMIC_RELAXED);
	for (uint64_t i = 0; i < lv && sizeof(*N) + (i + 1) *
	     sizeof(struct kv_zlevel) <= size; i++)
		if ((w = __atomic_load_n(&N->lvl[i].forward,
					 __ATOMIC_RELAXED)))
			visit(vctx, w);
}

/* zset_register_types -- tell the collector what a sorted set points to
 * (its member table is a hash's: hash_register_types). */
void zset_register_types(struct gc *gc)
{
	gc_register(gc, KV_TYPE_ZSET, zset_trace_hdr);
	gc_register(gc, KV_TYPE_ZNODE, zset_trace_node);
}
