/*
 * crash_kv.c -- the crash simulator's key-value workload, model and
 * checker (the engine is crashsim.c).
 *
 * One thread runs a seeded random sequence of key-value calls on an
 * in-memory pool watched by the engine: puts of new keys and overwrites
 * (some with NX/XX), deletes, expiry changes, batches across two
 * databases, flushes, swaps, collections, and enough keys that the hash
 * table of database 0 resizes (writes move buckets; an explicit step
 * helps idle stripes, as the maintenance thread would); and hashes:
 * fields set (some NX), replaced and deleted, alone and in batches, the
 * key deleted or expired whole, with enough fields that a hash's buckets
 * split into a segment; the pool starts at an eighth of its image and
 * grows, by a call now and then and whenever a write finds it full
 * (PKV_AUTOGROW).  A model keeps every key's value and expiry, and every
 * hash's fields, before and after the call in flight.
 *
 * Every crash image must recover (redo recovery, then the recovery audit)
 * to the state before or after that call, exactly; and, walking the
 * tables independently of the engine: every entry is an allocated block
 * in the right bucket and stripe, no key twice, the stripes' key and
 * expiry counts match the chains, every hash's header, directories,
 * segments and fields are blocks of their types, each field in the
 * bucket its hash names, its count that of the walk; the engine's own
 * reads agree with the walk; and the allocated blocks are exactly
 * the reachable ones (no leak, nothing missing).  A second recovery gives
 * the same state, and the recovered pool accepts a new write.
 *
 * Writers are played as three threads on three lanes, the collector as a
 * fourth and checkpoints as a fifth: a fence orders only its own
 * thread's write-backs.  PKV_PLANTED_BUG=<name> plants a bug of
 * lib/planted.h.
 *
 * Usage: crashkv [--states N] [--seed S] [--ops N] [--torn] [--evict]
 *                [--samples K] [--exhaustive K] [--fence F] [--verbose]
 * Prints "crash-sim-kv: N states, N failures"; exits 1 on failures.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv_int.h"
#include "kv_batch.h"
#include "hash.h"
#include "planted.h"
#include "crashsim.h"
#include "proto/num.h"

#define POOL_SIZE (16u << 20)
#define NDBS 2
#define NKEYS 640                 /* key space of database 0 */
#define NKEYS_SMALL 32            /* of database 1 */
#define PRELOAD 250               /* keys before the simulation starts */
#define FAR_FUTURE 4102444800000ll /* 2100-01-01: never expires here */
#define MAX_BLOCKS 16384

struct mkey {
	bool present;
	uint64_t tag;                 /* the value derives from it */
	uint32_t vlen;
	int64_t exp;
	bool is_num;                  /* an integer string (pkv_incr's) */
	int64_t num;                  /* its value */
};

/* Increments go to the first keys (and fields) only, as counters do: one
 * is incremented again, in place, soon after the one that made it. */
#define NCOUNTERS 8

#define NHASH 6                   /* hash keys "hash:<i>" per database */
#define NFIELDS 160               /* fields "f:<j>" per hash: enough to
				     split buckets into a segment */

struct mfield {
	bool present;
	uint64_t tag;
	uint32_t vlen;
	bool is_num;                  /* an integer string (pkv_hincr's) */
	int64_t num;
};

struct mhash {
	bool present;                 /* has at least one field */
	int64_t exp;
	struct mfield f[NFIELDS];
};

#define NLIST 3                   /* list keys "list:<i>" per database */
#define NELEMS 40                 /* elements per list at most: enough
				     that a trim cuts more than the
				     library frees one by one */

struct mlist {
	bool present;                 /* has at least one element */
	int64_t exp;
	unsigned n;
	uint64_t tag[NELEMS];         /* element values derive from them */
	uint32_t vlen[NELEMS];        /* >= 8, so values never collide */
};

#define NZSET 2                   /* sorted set keys "zset:<i>" per db */
#define NZM 24                    /* members "zm:<j>" per sorted set */

struct mzset {
	bool present;                 /* has at least one member */
	int64_t exp;
	bool has[NZM];
	double score[NZM];
};

struct model {
	struct mkey k[NDBS][NKEYS];
	struct mhash h[NDBS][NHASH];
	struct mlist l[NDBS][NLIST];
	struct mzset z[NDBS][NZSET];
};

static struct heap *g_heap;
static struct pool *g_pool;
static pkv *g_db;
static uint64_t g_rng, g_tag;
static struct model g_cur, g_after, g_after2;
static int g_inflight, g_inflight2;  /* g_after2: a second pipelined call */
static char *g_image2;
static int g_verbose;
static uint64_t g_full;             /* writes refused: pool full */
static uint64_t g_list_ops;         /* list operations made */
static uint64_t g_grown;            /* explicit growths */
static uint64_t g_defrag_moved;     /* entries pkv_defrag moved */

static bool g_disk;                 /* --disk: the file backend's model */
static uint64_t rnd(void) { return crashsim_rand(&g_rng); }
static uint64_t rndn(uint64_t n) { return n ? rnd() % n : 0; }

#define WRITERS 3            /* actors 0..2 write on lanes 0..2 */
#define GC_ACTOR 3           /* the collector, on lane 3 */
#define CKPT_ACTOR 4         /* a checkpointer thread: no lane */
static struct crashsim *g_cs;

/* act -- play thread a from now on: its lane, its flushes and fences. */
static void act(unsigned a)
{
	crashsim_set_actor(g_cs, a);
	if (a < CKPT_ACTOR)
		redo_thread_lane(a);
}

static size_t key_name(char *buf, unsigned i)
{
	return (size_t)sprintf(buf, "key:%u", i);
}

/* value_byte -- byte i of the value of tag. */
static uint8_t value_byte(uint64_t tag, size_t i)
{
	return (uint8_t)(crashsim_mix(tag * 1000003u + i / 8) >> (8 * (i % 8)));
}

static void fill_value(uint8_t *p, uint64_t tag, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = value_byte(tag, i);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "crashkv: %s: %s (%s)\n", what, pkv_strerror(err),
		pkv_errmsg(g_db));
	exit(2);
}

#define FAIL(...) do { snprintf(why, whylen, __VA_ARGS__); return 1; } while (0)

/* ---------------------------------------------------------------------- */
/* Checker */

/* What a recovered image holds for one key. */
struct lkey {
	bool present;
	const uint8_t *val;
	uint32_t vlen;
	int64_t exp;
	bool is_int;                  /* an integer string of value num */
	int64_t num;
};

struct lfield {
	bool present;
	const uint8_t *val;
	uint32_t vlen;
	bool is_int;                  /* an integer string of value num */
	int64_t num;
};

struct lhash {
	bool present;
	int64_t exp;
	struct lfield f[NFIELDS];
};

struct llist {
	bool present;
	int64_t exp;
	unsigned n;
	const uint8_t *val[NELEMS];
	uint32_t vlen[NELEMS];
};

struct lzset {
	bool present;
	int64_t exp;
	bool has[NZM];
	double score[NZM];
	unsigned n;
};

struct lstate {
	struct lkey k[NDBS][NKEYS];
	struct lhash h[NDBS][NHASH];
	struct llist l[NDBS][NLIST];
	struct lzset z[NDBS][NZSET];
};

/* matches -- whether a key's recovered state is the model's. */
static bool matches(const struct lkey *l, const struct mkey *m)
{
	if (l->present != m->present)
		return false;
	if (!m->present)
		return true;
	if (l->exp != m->exp || l->is_int != m->is_num)
		return false;
	if (m->is_num)
		return l->num == m->num;
	if (l->vlen != m->vlen)
		return false;
	for (uint32_t i = 0; i < l->vlen; i++)
		if (l->val[i] != value_byte(m->tag, i))
			return false;
	return true;
}

/* hash_matches -- a hash's recovered fields are the model's; the first
 * field that differs to *bad (-1: presence or expiry). */
static bool hash_matches(const struct lhash *l, const struct mhash *m,
			 int *bad)
{
	*bad = -1;
	if (l->present != m->present || (m->present && l->exp != m->exp))
		return false;
	for (unsigned j = 0; m->present && j < NFIELDS; j++) {
		const struct lfield *lf = &l->f[j];
		const struct mfield *mf = &m->f[j];
		*bad = (int)j;
		if (lf->present != mf->present ||
		    (mf->present && lf->is_int != mf->is_num))
			return false;
		if (mf->present && mf->is_num) {
			if (lf->num != mf->num)
				return false;
			continue;
		}
		if (mf->present && lf->vlen != mf->vlen)
			return false;
		for (uint32_t i = 0; mf->present && i < mf->vlen; i++)
			if (lf->val[i] != value_byte(mf->tag, i))
				return false;
	}
	return true;
}

/* list_matches -- a list's recovered elements are the model's, in order;
 * the first that differs to *bad (-1: presence, expiry or length). */
static bool list_matches(const struct llist *l, const struct mlist *m,
			 int *bad)
{
	*bad = -1;
	if (l->present != m->present ||
	    (m->present && (l->exp != m->exp || l->n != m->n)))
		return false;
	for (unsigned j = 0; m->present && j < m->n; j++) {
		*bad = (int)j;
		if (l->vlen[j] != m->vlen[j])
			return false;
		for (uint32_t i = 0; i < m->vlen[j]; i++)
			if (l->val[j][i] != value_byte(m->tag[j], i))
				return false;
	}
	return true;
}

/* same_lists -- two recovered states hold the same lists. */
static bool same_lists(const struct llist *a, const struct llist *b)
{
	if (a->present != b->present || a->exp != b->exp || a->n != b->n)
		return false;
	for (unsigned j = 0; a->present && j < a->n; j++)
		if (a->vlen[j] != b->vlen[j] ||
		    memcmp(a->val[j], b->val[j], a->vlen[j]))
			return false;
	return true;
}

/* zset_matches -- a sorted set's recovered members and scores are the
 * model's. */
static bool zset_matches(const struct lzset *l, const struct mzset *m)
{
	if (l->present != m->present || (m->present && l->exp != m->exp))
		return false;
	for (unsigned j = 0; m->present && j < NZM; j++)
		if (l->has[j] != m->has[j] ||
		    (m->has[j] && l->score[j] != m->score[j]))
			return false;
	return true;
}

/* same_as -- the whole recovered state is model m. */
static int same_as(const struct lstate *st, const struct model *m,
		   char *buf, size_t len)
{
	int bad;

	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NZSET; i++)
			if (!zset_matches(&st->z[d][i], &m->z[d][i])) {
				snprintf(buf, len, "db %u zset:%u is %s/%u, "
					 "model %s", d, i, st->z[d][i].present ?
					 "set" : "absent", st->z[d][i].n,
					 m->z[d][i].present ? "set" :
					 "absent");
				return 0;
			}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NLIST; i++)
			if (!list_matches(&st->l[d][i], &m->l[d][i], &bad)) {
				snprintf(buf, len, "db %u list:%u is %s/%u, "
					 "model %s/%u; element %d differs", d,
					 i, st->l[d][i].present ? "set" :
					 "absent", st->l[d][i].n,
					 m->l[d][i].present ? "set" : "absent",
					 m->l[d][i].n, bad);
				return 0;
			}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NHASH; i++)
			if (!hash_matches(&st->h[d][i], &m->h[d][i], &bad)) {
				snprintf(buf, len, "db %u hash:%u is %s, model "
					 "%s; field %d differs", d, i,
					 st->h[d][i].present ? "set" : "absent",
					 m->h[d][i].present ? "set" : "absent",
					 bad);
				return 0;
			}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NKEYS; i++)
			if (!matches(&st->k[d][i], &m->k[d][i])) {
				snprintf(buf, len, "db %u key:%u is %s/len %u"
					 "/exp %" PRId64 ", model %s/len %u/exp "
					 "%" PRId64, d, i,
					 st->k[d][i].present ? "set" : "absent",
					 st->k[d][i].vlen, st->k[d][i].exp,
					 m->k[d][i].present ? "set" : "absent",
					 m->k[d][i].vlen, m->k[d][i].exp);
				return 0;
			}
	return 1;
}

/* A set of block offsets (sorted array). */
struct offs {
	size_t n;
	uint64_t v[MAX_BLOCKS];
};

static int add_off(struct offs *o, uint64_t off)
{
	if (o->n == MAX_BLOCKS)
		return -1;
	o->v[o->n++] = off;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int all_blocks(void *ctx, uint64_t off, uint64_t size, uint32_t type)
{
	(void)size;
	(void)type;
	return add_off(ctx, off);
}

/* want_block -- off must be an allocated block of the given type. */
static int want_block(struct heap *h, uint64_t off, uint32_t type,
		      struct offs *reach, const char *what, char *why,
		      size_t whylen)
{
	uint32_t t;
	if (!heap_block_valid(h, off, NULL, &t))
		FAIL("%s 0x%" PRIx64 " is not an allocated block", what, off);
	if (t != type)
		FAIL("%s 0x%" PRIx64 " has type %u, not %u", what, off, t, type);
	if (add_off(reach, off))
		FAIL("more than %d reachable blocks", MAX_BLOCKS);
	return 0;
}

/* walk_fields -- the fields of bucket b of a hash with n buckets (lh
 * NULL: a sorted set's member table, whose names are not parsed). */
static int walk_fields(pkv *db, struct heap *h, uint64_t head, uint64_t b,
		       uint64_t n, struct offs *reach, struct lhash *lh,
		       uint64_t *count, char *why, size_t whylen)
{
	uint64_t lo = 1ull << (63 - __builtin_clzll(n));

	for (uint64_t f = head; f; f = ((const struct kv_entry *)
					kv_ptr(db, f))->next) {
		const struct kv_entry *F = kv_ptr(db, f);
		uint64_t size, fh, want;
		unsigned j;
		char name[32], fbuf[32];

		if (want_block(h, f, KV_TYPE_FIELD, reach, "field", why,
			       whylen))
			return 1;
		heap_block_valid(h, f, &size, NULL);
		if (size != sizeof(*F) + F->klen + F->vlen)
			FAIL("field 0x%" PRIx64 ": block of %" PRIu64 " bytes "
			     "for %u + %u", f, size, F->klen, F->vlen);
		fh = hash_key(db->seed, kv_entry_key(F), F->klen);
		want = fh & (lo - 1);
		if (want < n - lo)
			want = fh & (2 * lo - 1);
		if (fh != F->hash || want != b)
			FAIL("field 0x%" PRIx64 ": wrong hash, or in bucket %"
			     PRIu64 " not %" PRIu64, f, b, want);
		(*count)++;
		if (!lh)
			continue;
		if (F->klen >= sizeof(fbuf))
			FAIL("field 0x%" PRIx64 ": a name never written", f);
		memcpy(fbuf, kv_entry_key(F), F->klen);
		fbuf[F->klen] = '\0';
		if (sscanf(fbuf, "f:%u", &j) != 1 || j >= NFIELDS ||
		    (size_t)sprintf(name, "f:%u", j) != F->klen ||
		    memcmp(name, fbuf, F->klen))
			FAIL("field 0x%" PRIx64 ": a name never written", f);
		if (lh->f[j].present)
			FAIL("field f:%u is in its hash twice", j);
		if (kv_entry_csum(F) != F->csum)
			FAIL("field 0x%" PRIx64 " (f:%u): checksum mismatch", f,
			     j);
		lh->f[j].present = true;
		lh->f[j].val = (const uint8_t *)kv_entry_val(F);
		lh->f[j].vlen = F->vlen;
		lh->f[j].is_int = kv_entry_is_int(F);
		if (lh->f[j].is_int)
			memcpy(&lh->f[j].num, (const char *)F +
			       kv_int_at(F->klen), sizeof(int64_t));
	}
	return 0;
}

/* array_words -- the words a hash's array block at off holds (its
 * block's size; type_hash.c grows arrays), at most max. */
static uint64_t array_words(struct heap *h, uint64_t off, uint64_t max)
{
	uint64_t size = 0;

	heap_block_valid(h, off, &size, NULL);
	return size / 8 < max ? size / 8 : max;
}

/* walk_table -- a hash table's structure (a hash's, or with lh NULL a
 * sorted set's member table), independently of type_hash.c; its fields
 * to *count. */
static int walk_table(pkv *db, struct heap *h, uint64_t hoff,
		      struct offs *reach, struct lhash *lh, uint64_t *countp,
		      char *why, size_t whylen)
{
	const struct kv_hash_hdr *H;
	uint64_t n, count = 0;

	if (want_block(h, hoff, KV_TYPE_HASH, reach, "hash header", why,
		       whylen))
		return 1;
	H = kv_ptr(db, hoff);
	n = H->nbuckets;
	if (n < HASH_INLINE_BUCKETS || n > HASH_MAX_BUCKETS)
		FAIL("hash 0x%" PRIx64 ": %" PRIu64 " buckets", hoff, n);
	for (uint64_t b = 0; b < HASH_INLINE_BUCKETS; b++) {
		if (b >= n && H->head[b])
			FAIL("hash 0x%" PRIx64 ": bucket %" PRIu64 " past the "
			     "buckets, not empty", hoff, b);
		if (b < n && walk_fields(db, h, H->head[b], b, n, reach, lh,
					 &count, why, whylen))
			return 1;
	}
	if (H->dirs && want_block(h, H->dirs, KV_TYPE_HDIRS, reach,
				  "directory block", why, whylen))
		return 1;
	for (unsigned d = 0; H->dirs && d < array_words(h, H->dirs, HASH_DIRS);
	     d++) {
		const uint64_t *dirs = kv_ptr(db, H->dirs), *dir;
		if (!dirs[d])
			continue;
		if (want_block(h, dirs[d], KV_TYPE_HDIR, reach, "directory",
			       why, whylen))
			return 1;
		dir = kv_ptr(db, dirs[d]);
		for (unsigned sg = 0;
		     sg < array_words(h, dirs[d], HASH_DIR_SEGS); sg++) {
			uint64_t first = HASH_INLINE_BUCKETS + ((uint64_t)d *
					 HASH_DIR_SEGS + sg) * HASH_SEG_BUCKETS;
			const uint64_t *seg;
			if (!dir[sg])
				continue;
			if (want_block(h, dir[sg], KV_TYPE_HSEG, reach,
				       "segment", why, whylen))
				return 1;
			seg = kv_ptr(db, dir[sg]);
			for (unsigned i = 0;
			     i < array_words(h, dir[sg], HASH_SEG_BUCKETS);
			     i++) {
				if (first + i >= n) {
					if (seg[i])
						FAIL("hash 0x%" PRIx64 ": bucket "
						     "%" PRIu64 " past the "
						     "buckets, not empty", hoff,
						     first + i);
					continue;
				}
				if (walk_fields(db, h, seg[i], first + i, n,
						reach, lh, &count, why, whylen))
					return 1;
			}
		}
	}
	if (count != H->count || count == 0)
		FAIL("hash 0x%" PRIx64 " counts %" PRIu64 " fields, the walk "
		     "finds %" PRIu64, hoff, H->count, count);
	*countp = count;
	return 0;
}

/* walk_hash -- a hash key's structure, independently of type_hash.c. */
static int walk_hash(pkv *db, struct heap *h, const struct kv_entry *E,
		     struct offs *reach, struct lhash *lh, char *why,
		     size_t whylen)
{
	uint64_t hoff, count;

	if (E->vtype != PKV_TYPE_HASH || E->vlen != 8)
		FAIL("a hash key's entry has type %u, %u value bytes",
		     E->vtype, E->vlen);
	memcpy(&hoff, kv_entry_val(E), 8);
	if (walk_table(db, h, hoff, reach, lh, &count, why, whylen))
		return 1;
	lh->present = true;
	lh->exp = E->expire_ms;
	return 0;
}

/* walk_list -- a list key's structure, independently of type_list.c:
 * header and element blocks, prev links, tail, count, checksums. */
static int walk_list(pkv *db, struct heap *h, const struct kv_entry *E,
		     struct offs *reach, struct llist *ll, char *why,
		     size_t whylen)
{
	const struct kv_list_hdr *H;
	uint64_t loff, x, prev = 0, size;

	if (E->vtype != PKV_TYPE_LIST || E->vlen != 8)
		FAIL("a list key's entry has type %u, %u value bytes",
		     E->vtype, E->vlen);
	memcpy(&loff, kv_entry_val(E), 8);
	if (want_block(h, loff, KV_TYPE_LIST, reach, "list header", why,
		       whylen))
		return 1;
	H = kv_ptr(db, loff);
	for (x = H->head; x; x = ((const struct kv_list_elem *)
				  kv_ptr(db, x))->next) {
		const struct kv_list_elem *L = kv_ptr(db, x);
		if (ll->n == NELEMS)
			FAIL("list 0x%" PRIx64 ": more than %d elements", loff,
			     NELEMS);
		if (want_block(h, x, KV_TYPE_LELEM, reach, "list element",
			       why, whylen))
			return 1;
		heap_block_valid(h, x, &size, NULL);
		if (size != sizeof(*L) + L->len || L->prev != prev ||
		    L->csum != list_elem_csum(L))
			FAIL("list element 0x%" PRIx64 ": wrong size, prev "
			     "link or checksum", x);
		ll->val[ll->n] = (const uint8_t *)(L + 1);
		ll->vlen[ll->n] = L->len;
		ll->n++;
		prev = x;
	}
	if (H->tail != prev || H->count != ll->n || ll->n == 0)
		FAIL("list 0x%" PRIx64 " counts %" PRIu64 " elements, the "
		     "walk finds %u (or its tail is not the last)", loff,
		     H->count, ll->n);
	ll->present = true;
	ll->exp = E->expire_ms;
	return 0;
}

/* walk_zset -- a sorted set key's structure, independently of
 * type_zset.c: header, member table (walk_table), and every level of the
 * skip list: node blocks, order by (score, member), backward links at
 * level 0, each level's spans against the ranks, tail, count. */
static int walk_zset(pkv *db, struct heap *h, const struct kv_entry *E,
		     struct offs *reach, struct lzset *lz, char *why,
		     size_t whylen)
{
	const struct kv_zset_hdr *H;
	uint64_t zoff, x, prev = 0, size, n = 0, count = 0;
	uint64_t node_at[NZM];
	double last = -INFINITY;
	char lastm[16] = "";

	if (E->vtype != PKV_TYPE_ZSET || E->vlen != 8)
		FAIL("a sorted set key's entry has type %u, %u value bytes",
		     E->vtype, E->vlen);
	memcpy(&zoff, kv_entry_val(E), 8);
	if (want_block(h, zoff, KV_TYPE_ZSET, reach, "zset header", why,
		       whylen))
		return 1;
	H = kv_ptr(db, zoff);
	if (H->level < 1 || H->level > ZSET_MAXLEVEL)
		FAIL("zset 0x%" PRIx64 ": %" PRIu64 " levels", zoff, H->level);
	if (walk_table(db, h, H->members, reach, NULL, &count, why, whylen))
		return 1;
	for (x = H->head[0].forward; x; x = ((const struct kv_zset_node *)
					     kv_ptr(db, x))->lvl[0].forward) {
		const struct kv_zset_node *N = kv_ptr(db, x);
		const struct kv_entry *F;
		char mb[16];
		unsigned j;
		uint64_t self;
		double sc;
		if (n == NZM)
			FAIL("zset 0x%" PRIx64 ": more than %u nodes", zoff,
			     NZM);
		if (want_block(h, x, KV_TYPE_ZNODE, reach, "zset node", why,
			       whylen))
			return 1;
		heap_block_valid(h, x, &size, NULL);
		if (N->level < 1 || N->level > ZSET_MAXLEVEL ||
		    size != sizeof(*N) + N->level * sizeof(N->lvl[0]) ||
		    N->backward != prev)
			FAIL("zset node 0x%" PRIx64 ": wrong level, size or "
			     "backward link", x);
		if (!heap_block_valid(h, N->field, NULL, NULL))
			FAIL("zset node 0x%" PRIx64 ": no field", x);
		F = kv_ptr(db, N->field);
		memcpy(&self, kv_entry_val(F), 8);
		if (F->vlen != 8 || self != x || F->klen >= sizeof(mb))
			FAIL("zset node 0x%" PRIx64 ": its field does not name "
			     "it", x);
		memcpy(mb, kv_entry_key(F), F->klen);
		mb[F->klen] = '\0';
		if (sscanf(mb, "zm:%u", &j) != 1 || j >= NZM || lz->has[j])
			FAIL("zset node 0x%" PRIx64 ": member %s", x, mb);
		memcpy(&sc, &N->score, 8);
		if (sc < last || (sc == last && strcmp(mb, lastm) <= 0))
			FAIL("zset node 0x%" PRIx64 ": out of order", x);
		last = sc;
		strcpy(lastm, mb);
		lz->has[j] = true;
		lz->score[j] = sc;
		node_at[n++] = x;
		prev = x;
	}
	if (H->count != n || H->tail != prev || n == 0 || count != n)
		FAIL("zset 0x%" PRIx64 " counts %" PRIu64 ", walks %" PRIu64
		     " nodes and %" PRIu64 " members (or a wrong tail)", zoff,
		     H->count, n, count);
	for (unsigned i = 0; i < H->level; i++) {
		uint64_t at = 0, span = H->head[i].span, y = H->head[i].forward;
		while (y) {
			const struct kv_zset_node *N = kv_ptr(db, y);
			uint64_t k = 0;
			while (k < n && node_at[k] != y)
				k++;
			if (k == n || i >= N->level || at + span != k + 1)
				FAIL("zset 0x%" PRIx64 ": level %u's link or "
				     "span to 0x%" PRIx64 " is wrong", zoff, i,
				     y);
			at = k + 1;
			span = N->lvl[i].span;
			y = N->lvl[i].forward;
		}
	}
	lz->n = (unsigned)n;
	lz->present = true;
	lz->exp = E->expire_ms;
	return 0;
}

/* walk_chain -- check one chain of array arr (bucket b, old or new). */
static int walk_chain(pkv *db, struct heap *h, const struct kv_table *tab,
		      uint64_t arr, uint64_t b, bool old, uint64_t *scount,
		      uint64_t *sexp, struct offs *reach, struct lstate *st,
		      unsigned d, char *why, size_t whylen)
{
	const struct kv_buckets *B = kv_ptr(db, arr);
	uint64_t mask = (1ull << B->log2) - 1;
	uint64_t e = B->head[kv_bucket_slot(B, b)];
	const struct kv_stripe *S = kv_ptr(db, tab->stripes);

	while (e) {
		const struct kv_entry *E = kv_ptr(db, e);
		uint64_t size, hash;
		unsigned s, idx;
		char name[32];

		if (want_block(h, e, KV_TYPE_ENTRY, reach, "entry", why,
			       whylen))
			return 1;
		heap_block_valid(h, e, &size, NULL);
		if (size != sizeof(*E) + E->klen + E->vlen)
			FAIL("entry 0x%" PRIx64 ": block of %" PRIu64 " bytes "
			     "for key %u + value %u", e, size, E->klen, E->vlen);
		hash = hash_key(db->seed, kv_entry_key(E), E->klen);
		if (hash != E->hash)
			FAIL("entry 0x%" PRIx64 ": stored hash is wrong", e);
		if ((hash & mask) != b)
			FAIL("entry 0x%" PRIx64 " in bucket %" PRIu64 " of the "
			     "%s array, belongs in %" PRIu64, e, b,
			     old ? "old" : "new", hash & mask);
		s = (unsigned)(hash & (KV_STRIPES - 1));
		if (old && table_resizing(tab)) {
			uint64_t migr = S[s].migr, j = b >> KV_STRIPE_BITS;
			if ((migr >> 32) == (tab->version & 0xffffffffu) &&
			    j < (migr & 0xffffffffu))
				FAIL("entry 0x%" PRIx64 " left in a moved old "
				     "bucket %" PRIu64, e, b);
		}
		scount[s]++;
		if (E->expire_ms)
			sexp[s]++;
		char kbuf[32];
		if (E->klen < sizeof(kbuf)) {
			memcpy(kbuf, kv_entry_key(E), E->klen);
			kbuf[E->klen] = '\0';
		}
		if (E->klen < sizeof(kbuf) &&
		    sscanf(kbuf, "hash:%u", &idx) == 1 && idx < NHASH &&
		    (size_t)sprintf(name, "hash:%u", idx) == E->klen &&
		    !memcmp(name, kbuf, E->klen)) {
			if (st->h[d][idx].present)
				FAIL("db %u: hash:%u is in the table twice", d,
				     idx);
			if (walk_hash(db, h, E, reach, &st->h[d][idx], why,
				      whylen))
				return 1;
			e = E->next;
			continue;
		}
		if (E->klen < sizeof(kbuf) &&
		    sscanf(kbuf, "zset:%u", &idx) == 1 && idx < NZSET &&
		    (size_t)sprintf(name, "zset:%u", idx) == E->klen &&
		    !memcmp(name, kbuf, E->klen)) {
			if (st->z[d][idx].present)
				FAIL("db %u: zset:%u is in the table twice", d,
				     idx);
			if (walk_zset(db, h, E, reach, &st->z[d][idx], why,
				      whylen))
				return 1;
			e = E->next;
			continue;
		}
		if (E->klen < sizeof(kbuf) &&
		    sscanf(kbuf, "list:%u", &idx) == 1 && idx < NLIST &&
		    (size_t)sprintf(name, "list:%u", idx) == E->klen &&
		    !memcmp(name, kbuf, E->klen)) {
			if (st->l[d][idx].present)
				FAIL("db %u: list:%u is in the table twice", d,
				     idx);
			if (walk_list(db, h, E, reach, &st->l[d][idx], why,
				      whylen))
				return 1;
			e = E->next;
			continue;
		}
		if (E->vtype != PKV_TYPE_STRING)
			FAIL("entry 0x%" PRIx64 ": a string key of type %u", e,
			     E->vtype);
		if (E->klen >= sizeof(kbuf) ||
		    sscanf(kbuf, "key:%u", &idx) != 1 || idx >= NKEYS ||
		    key_name(name, idx) != E->klen ||
		    memcmp(name, kbuf, E->klen))
			FAIL("entry 0x%" PRIx64 ": a key the workload never "
			     "wrote", e);
		if (st->k[d][idx].present)
			FAIL("db %u: key:%u is in the table twice", d, idx);
		if (kv_entry_csum(E) != E->csum)
			FAIL("entry 0x%" PRIx64 " (key:%u): checksum mismatch",
			     e, idx);
		st->k[d][idx].present = true;
		st->k[d][idx].val = (const uint8_t *)kv_entry_val(E);
		st->k[d][idx].vlen = E->vlen;
		st->k[d][idx].exp = E->expire_ms;
		st->k[d][idx].is_int = kv_entry_is_int(E);
		if (st->k[d][idx].is_int)
			memcpy(&st->k[d][idx].num, (const char *)E +
			       kv_int_at(E->klen), sizeof(int64_t));
		e = E->next;
	}
	return 0;
}

/* extract -- walk every table independently of the engine's code. */
static int extract(pkv *db, struct heap *h, struct lstate *st, char *why,
		   size_t whylen)
{
	static struct offs reach, alloc;
	struct pool *pool = heap_pool(h);
	const struct kv_root *R;

	memset(st, 0, sizeof(*st));
	reach.n = alloc.n = 0;
	if (want_block(h, pool->state->root, KV_TYPE_ROOT, &reach, "root",
		       why, whylen))
		return 1;
	R = kv_ptr(db, pool->state->root);
	if (R->ndbs != NDBS)
		FAIL("root says %" PRIu64 " databases", R->ndbs);
	for (unsigned d = 0; d < NDBS; d++) {
		const struct kv_table *tab;
		uint64_t scount[KV_STRIPES] = { 0 }, sexp[KV_STRIPES] = { 0 };
		uint64_t arrs[2];

		if (want_block(h, R->table[d], KV_TYPE_TABLE, &reach, "table",
			       why, whylen))
			return 1;
		tab = kv_ptr(db, R->table[d]);
		if (want_block(h, tab->stripes, KV_TYPE_STRIPES, &reach,
			       "stripes", why, whylen))
			return 1;
		if (tab->prepared &&
		    want_block(h, tab->prepared, KV_TYPE_BUCKETS, &reach,
			       "prepared bucket array", why, whylen))
			return 1;
		arrs[0] = tab->cur;
		arrs[1] = tab->next;
		if ((tab->version & 1) != (tab->next != 0))
			FAIL("db %u: table version %" PRIu64 " but next 0x%"
			     PRIx64, d, tab->version, tab->next);
		for (int a = 0; a < 2; a++) {
			const struct kv_buckets *B;
			if (!arrs[a])
				continue;
			if (want_block(h, arrs[a], KV_TYPE_BUCKETS, &reach,
				       "bucket array", why, whylen))
				return 1;
			B = kv_ptr(db, arrs[a]);
			for (uint64_t b = 0; b < (1ull << B->log2); b++)
				if (walk_chain(db, h, tab, arrs[a], b, a == 0,
					       scount, sexp, &reach, st, d,
					       why, whylen))
					return 1;
		}
		const struct kv_stripe *S = kv_ptr(db, tab->stripes);
		for (unsigned s = 0; s < KV_STRIPES; s++)
			if (S[s].count != scount[s] || S[s].expires != sexp[s])
				FAIL("db %u stripe %u counts %" PRIu64 " keys/%"
				     PRIu64 " expiring, chains hold %" PRIu64
				     "/%" PRIu64, d, s, S[s].count,
				     S[s].expires, scount[s], sexp[s]);
	}
	/* exactly the reachable blocks are allocated */
	if (heap_foreach_block(h, all_blocks, &alloc))
		FAIL("more than %d blocks allocated", MAX_BLOCKS);
	qsort(reach.v, reach.n, 8, cmp_u64);
	for (size_t i = 1; i < reach.n; i++)
		if (reach.v[i] == reach.v[i - 1])
			FAIL("block 0x%" PRIx64 " reachable twice", reach.v[i]);
	for (size_t i = 0, j = 0; i < reach.n || j < alloc.n; i++, j++) {
		if (j >= alloc.n || (i < reach.n && reach.v[i] < alloc.v[j]))
			FAIL("reachable block 0x%" PRIx64 " not allocated",
			     reach.v[i]);
		if (i >= reach.n || alloc.v[j] < reach.v[i])
			FAIL("LEAK: block 0x%" PRIx64 " allocated but "
			     "unreachable after the recovery audit", alloc.v[j]);
	}
	return 0;
}

/* open_image -- recover an image and attach the engine (audit included). */
static pkv *open_image(void *image, size_t len, struct heap **hp, char *why,
		       size_t whylen)
{
	struct pkv_options o;
	struct errmsg em;
	struct pool *pool;
	pkv *db;
	int err;

	err_clear(&em);
	if ((err = pool_open_memory(image, len, &pool, &em))) {
		snprintf(why, whylen, "pool_open_memory: %s", em.text);
		return NULL;
	}
	crashsim_disk_model(pool, g_disk);
	if ((err = heap_open(pool, hp, &em))) {
		snprintf(why, whylen, "heap_open: %s", em.text);
		pool_close(pool);
		return NULL;
	}
	pkv_options_init(&o);
	o.flags = PKV_NOTHREADS;
	o.audit = PKV_AUDIT_NOW;      /* the images are checked for leaks */
	if ((err = kv_attach(*hp, &o, &db))) {
		snprintf(why, whylen, "kv_attach: %s: %s", pkv_strerror(err),
			 pkv_errmsg(NULL));
		heap_close(*hp);
		return NULL;
	}
	return db;
}

static void close_image(pkv *db, struct heap *h)
{
	kv_detach(db);
	heap_close(h);
}

static int check_image_(void *ctx, void *image, size_t len, char *why,
			size_t whylen);
static char *g_pre;              /* --verbose: the image before recovery */

static int check_image(void *ctx, void *image, size_t len, char *why,
		       size_t whylen)
{
	int bad;

	if (g_pre)
		memcpy(g_pre, image, len);
	bad = check_image_(ctx, image, len, why, whylen);
	if (bad && g_pre) {
		const char *save = getenv("CRASHSIM_SAVE");
		crashsim_dump_redo(g_pre);
		if (save) {
			FILE *f = fopen(save, "wb");
			if (f) {
				fwrite(g_pre, 1, len, f);
				fclose(f);
			}
		}
	}
	return bad;
}

/* What pkv_lrange reads of a list, against the walk's. */
struct lread {
	const struct llist *walk;
	unsigned at;
	bool bad;
};

static int lread_one(void *ctx, const struct pkv_item *it)
{
	struct lread *r = ctx;

	if (r->at >= r->walk->n || it->vlen != r->walk->vlen[r->at] ||
	    memcmp(it->val, r->walk->val[r->at], it->vlen))
		r->bad = true;
	r->at++;
	return 0;
}

static int check_image_(void *ctx, void *image, size_t len, char *why,
			size_t whylen)
{
	static struct lstate st1, st2;
	char d1[200], d2[200];
	struct errmsg em;
	struct heap *h;
	pkv *db;
	int err;

	(void)ctx;
	db = open_image(image, len, &h, why, whylen);
	if (!db)
		return 1;
	if (extract(db, h, &st1, why, whylen))
		goto bad;
	if (!same_as(&st1, &g_cur, d1, sizeof(d1)) &&
	    !(g_inflight && same_as(&st1, &g_after, d2, sizeof(d2))) &&
	    !(g_inflight2 && same_as(&st1, &g_after2, d2, sizeof(d2)))) {
		snprintf(why, whylen, "state is neither before (%s) nor after "
			 "(%s) the call in flight", d1,
			 g_inflight ? d2 : "no call in flight");
		goto bad;
	}
	/* the engine's own reads agree with the walk */
	for (unsigned d = 0; d < NDBS; d++) {
		for (unsigned i = 0; i < NKEYS; i++) {
			const struct lkey *lk = &st1.k[d][i];
			char name[32], text[KV_INT_TEXT], got[KV_INT_TEXT];
			size_t kl = key_name(name, i), vl = 0,
			       want = lk->vlen;
			if (lk->is_int)    /* read as its text */
				want = num_format_ll(text, lk->num);
			err = pkv_get(db, d, name, kl, got, sizeof(got), &vl);
			if ((err == 0) != lk->present ||
			    (err == 0 && (vl != want || (lk->is_int &&
				memcmp(got, text, want))))) {
				snprintf(why, whylen, "pkv_get(db %u, key:%u) "
					 "says %s, the table walk says %s", d,
					 i, pkv_strerror(err),
					 lk->present ? "present" : "absent");
				goto bad;
			}
		}
	}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NHASH; i++) {
			const struct lhash *lh = &st1.h[d][i];
			char name[32], f[32];
			size_t kl = (size_t)sprintf(name, "hash:%u", i), vl;
			uint64_t n = 0, want = 0;
			err = pkv_hlen(db, d, name, kl, &n);
			for (unsigned j = 0; j < NFIELDS; j++)
				want += lh->f[j].present;
			if (err || n != want) {
				snprintf(why, whylen, "pkv_hlen(db %u, hash:%u) "
					 "says %s/%" PRIu64 ", the walk %" PRIu64,
					 d, i, pkv_strerror(err), n, want);
				goto bad;
			}
			for (unsigned j = 0; lh->present && j < NFIELDS; j++) {
				const struct lfield *lf = &lh->f[j];
				size_t fl = (size_t)sprintf(f, "f:%u", j),
				       wl = lf->vlen;
				char text[KV_INT_TEXT], got[KV_INT_TEXT];
				if (lf->is_int)    /* read as its text */
					wl = num_format_ll(text, lf->num);
				vl = 0;
				err = pkv_hget(db, d, name, kl, f, fl, got,
					       sizeof(got), &vl);
				if ((err == 0) != lf->present ||
				    (!err && (vl != wl || (lf->is_int &&
					memcmp(got, text, wl))))) {
					snprintf(why, whylen, "pkv_hget(db %u, "
						 "hash:%u, f:%u) says %s, the "
						 "walk %s", d, i, j,
						 pkv_strerror(err),
						 lh->f[j].present ? "present" :
						 "absent");
					goto bad;
				}
			}
		}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NLIST; i++) {
			struct lread r = { &st1.l[d][i], 0, false };
			char name[32];
			size_t kl = (size_t)sprintf(name, "list:%u", i);
			uint64_t n = 99;
			err = pkv_llen(db, d, name, kl, &n);
			if (!err)
				err = pkv_lrange(db, d, name, kl, 0, -1, 0,
						 lread_one, &r);
			if (err || n != st1.l[d][i].n || r.at != n || r.bad) {
				snprintf(why, whylen, "pkv_llen/pkv_lrange(db "
					 "%u, list:%u) say %s/%" PRIu64 ", the "
					 "walk %u", d, i, pkv_strerror(err), n,
					 st1.l[d][i].n);
				goto bad;
			}
		}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NZSET; i++) {
			const struct lzset *lz = &st1.z[d][i];
			char name[32], mb[16];
			size_t kl = (size_t)sprintf(name, "zset:%u", i);
			uint64_t n = 99;
			err = pkv_zcard(db, d, name, kl, &n);
			if (err || n != lz->n) {
				snprintf(why, whylen, "pkv_zcard(db %u, zset:%u)"
					 " says %s/%" PRIu64 ", the walk %u", d,
					 i, pkv_strerror(err), n, lz->n);
				goto bad;
			}
			for (unsigned j = 0; lz->present && j < NZM; j++) {
				double sc = 0;
				err = pkv_zscore(db, d, name, kl, mb,
						 (size_t)sprintf(mb, "zm:%u", j),
						 &sc);
				if ((err == 0) != lz->has[j] ||
				    (!err && sc != lz->score[j])) {
					snprintf(why, whylen, "pkv_zscore(db %u,"
						 " zset:%u, zm:%u) disagrees "
						 "with the walk", d, i, j);
					goto bad;
				}
			}
		}
	err_clear(&em);
	if ((err = heap_check(h, &em))) {
		snprintf(why, whylen, "heap_check: %s", em.text);
		goto bad;
	}
	memcpy(g_image2, image, len);
	/* the recovered pool takes a write */
	err = pkv_put(db, 1, "fresh", 5, "v", 1, 0, 0);
	if ((err && err != PKV_EFULL) ||
	    (!err && pkv_exists(db, 1, "fresh", 5))) {
		snprintf(why, whylen, "a put after recovery failed: %s",
			 pkv_strerror(err));
		goto bad;
	}
	close_image(db, h);

	/* recover again: the same state */
	db = open_image(g_image2, len, &h, why, whylen);
	if (!db)
		return 1;
	if (extract(db, h, &st2, why, whylen)) {
		size_t l = strlen(why);
		snprintf(why + l, whylen - l, " (second recovery)");
		goto bad;
	}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NHASH; i++) {
			const struct lhash *a = &st1.h[d][i], *b = &st2.h[d][i];
			bool same = a->present == b->present && a->exp == b->exp;
			for (unsigned j = 0; same && j < NFIELDS; j++)
				same = a->f[j].present == b->f[j].present &&
				       (!a->f[j].present ||
					(a->f[j].vlen == b->f[j].vlen &&
					 !memcmp(a->f[j].val, b->f[j].val,
						 a->f[j].vlen)));
			if (!same) {
				snprintf(why, whylen, "second recovery gives "
					 "another state (db %u hash:%u)", d, i);
				goto bad;
			}
		}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NZSET; i++) {
			const struct lzset *a = &st1.z[d][i], *b = &st2.z[d][i];
			bool same = a->present == b->present &&
				    a->exp == b->exp && a->n == b->n;
			for (unsigned j = 0; same && j < NZM; j++)
				same = a->has[j] == b->has[j] &&
				       (!a->has[j] || a->score[j] == b->score[j]);
			if (!same) {
				snprintf(why, whylen, "second recovery gives "
					 "another state (db %u zset:%u)", d, i);
				goto bad;
			}
		}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NLIST; i++)
			if (!same_lists(&st1.l[d][i], &st2.l[d][i])) {
				snprintf(why, whylen, "second recovery gives "
					 "another state (db %u list:%u)", d, i);
				goto bad;
			}
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NKEYS; i++) {
			const struct lkey *a = &st1.k[d][i], *b = &st2.k[d][i];
			if (a->present != b->present || a->vlen != b->vlen ||
			    a->exp != b->exp ||
			    (a->present && memcmp(a->val, b->val, a->vlen))) {
				snprintf(why, whylen, "second recovery gives "
					 "another state (db %u key:%u)", d, i);
				goto bad;
			}
		}
	close_image(db, h);
	return 0;
bad:
	close_image(db, h);
	return 1;
}

/* ---------------------------------------------------------------------- */
/* Workload */

/* The call in flight goes from g_cur to next. */
static void begin_call(const struct model *next)
{
	g_after = *next;
	g_inflight = 1;
}

static void end_call(const struct model *next)
{
	g_inflight = 0;
	g_cur = *next;
}

static uint32_t rand_vlen(void)
{
	uint64_t r = rndn(100);
	if (r < 70)
		return (uint32_t)rndn(120);
	if (r < 98)
		return 120 + (uint32_t)rndn(1500);
	if (rndn(8))
		return 8000 + (uint32_t)rndn(20000);   /* big run blocks */
	return 40000 + (uint32_t)rndn(10000);     /* a span of chunks */
}


/* A put of key i of database d with a fresh value: as an op for a batch
 * (buf holds key and value) and on the model. */
struct pending {
	struct kv_op op;
	char key[32];
	char field[32];
	uint8_t *val;
};

static void make_put(struct pending *p, struct model *m, unsigned d,
		     unsigned i, unsigned flags)
{
	struct mkey *k = &m->k[d][i];
	uint64_t tag = ++g_tag;
	uint32_t vlen = rand_vlen();
	int64_t exp = 0;
	size_t kl = key_name(p->key, i);

	if (rndn(4) == 0)
		exp = FAR_FUTURE - (int64_t)rndn(1000);
	p->val = malloc(vlen ? vlen : 1);
	fill_value(p->val, tag, vlen);
	p->op = (struct kv_op){ .op = KV_OP_PUT, .dbi = d, .key = p->key,
				.klen = kl, .val = p->val, .vlen = vlen,
				.flags = flags, .expire_ms = exp };
	if ((flags & PKV_NX) && k->present)
		return;
	if ((flags & PKV_XX) && !k->present)
		return;
	if ((flags & PKV_KEEPTTL) && k->present)
		exp = k->exp;
	else if (flags & PKV_KEEPTTL)
		exp = 0;
	*k = (struct mkey){ true, tag, vlen, exp, false, 0 };
}

/* model_number -- the number a present value of the model holds (an
 * increment's, or a value of tag that reads as one): false if none. */
static bool model_number(bool is_num, int64_t num, uint64_t tag,
			 uint32_t vlen, long long *v)
{
	uint8_t *buf;
	bool ok;

	if (is_num) {
		*v = num;
		return true;
	}
	buf = malloc(vlen ? vlen : 1);
	fill_value(buf, tag, vlen);
	ok = num_parse_ll((const char *)buf, vlen, v);
	free(buf);
	return ok;
}

/* make_incr -- KV_OP_INCR of key i by a small delta: the model's number
 * changes (a missing key counts as 0), or, on a value that is not an
 * integer, nothing does. */
static void make_incr(struct pending *p, struct model *m, unsigned d,
		      unsigned i)
{
	static int64_t out;
	struct mkey *k = &m->k[d][i];
	int64_t delta = (int64_t)rndn(2001) - 1000;
	size_t kl = key_name(p->key, i);
	long long v = 0;

	p->val = NULL;
	p->op = (struct kv_op){ .op = KV_OP_INCR, .dbi = d, .key = p->key,
				.klen = kl, .index = delta, .num = &out };
	if (k->present && !model_number(k->is_num, k->num, k->tag, k->vlen,
					&v))
		return;                    /* PKV_ENOTINT: unchanged */
	if (!k->present)
		k->exp = 0;
	k->present = true;
	k->is_num = true;
	k->num = v + delta;
}

static void make_del(struct pending *p, struct model *m, unsigned d,
		     unsigned i)
{
	size_t kl = key_name(p->key, i);
	p->val = NULL;
	p->op = (struct kv_op){ .op = KV_OP_DEL, .dbi = d, .key = p->key,
				.klen = kl };
	m->k[d][i].present = false;
}

static void make_expire(struct pending *p, struct model *m, unsigned d,
			unsigned i)
{
	size_t kl = key_name(p->key, i);
	uint64_t r = rndn(3);
	int64_t exp = r == 0 ? 0 : r == 1 ? FAR_FUTURE - (int64_t)rndn(1000)
					 : 1000;  /* long past: deletes */
	struct mkey *k = &m->k[d][i];

	p->val = NULL;
	p->op = (struct kv_op){ .op = KV_OP_EXPIRE, .dbi = d, .key = p->key,
				.klen = kl, .expire_ms = exp };
	if (!k->present)
		return;
	if (exp == 1000)
		k->present = false;
	else
		k->exp = exp;
}

/* Hash operations: on key hash:<i> of database d, field f:<j>. */
static void make_hset(struct pending *p, struct model *m, unsigned d,
		      unsigned i, unsigned j, unsigned flags)
{
	struct mhash *hh = &m->h[d][i];
	uint64_t tag = ++g_tag;
	uint32_t vlen = rndn(10) ? (uint32_t)rndn(60) : 200 + (uint32_t)rndn(800);
	size_t kl = (size_t)sprintf(p->key, "hash:%u", i);
	size_t fl = (size_t)sprintf(p->field, "f:%u", j);

	p->val = malloc(vlen ? vlen : 1);
	fill_value(p->val, tag, vlen);
	p->op = (struct kv_op){ .op = KV_OP_HSET, .dbi = d, .key = p->key,
				.klen = kl, .val = p->val, .vlen = vlen,
				.flags = flags, .field = p->field,
				.flen = fl };
	if ((flags & PKV_NX) && hh->present && hh->f[j].present)
		return;
	if (!hh->present)
		*hh = (struct mhash){ .present = true };
	hh->f[j] = (struct mfield){ true, tag, vlen, false, 0 };
}

/* make_hincr -- KV_OP_HINCR of field j of hash:<i>: as make_incr. */
static void make_hincr(struct pending *p, struct model *m, unsigned d,
		       unsigned i, unsigned j)
{
	static int64_t out;
	struct mhash *hh = &m->h[d][i];
	struct mfield *mf = &hh->f[j];
	int64_t delta = (int64_t)rndn(2001) - 1000;
	size_t kl = (size_t)sprintf(p->key, "hash:%u", i);
	size_t fl = (size_t)sprintf(p->field, "f:%u", j);
	long long v = 0;

	p->val = NULL;
	p->op = (struct kv_op){ .op = KV_OP_HINCR, .dbi = d, .key = p->key,
				.klen = kl, .field = p->field, .flen = fl,
				.index = delta, .num = &out };
	if (hh->present && mf->present &&
	    !model_number(mf->is_num, mf->num, mf->tag, mf->vlen, &v))
		return;                    /* PKV_ENOTINT: unchanged */
	if (!hh->present)
		*hh = (struct mhash){ .present = true };
	*mf = (struct mfield){ true, 0, 0, true, v + delta };
}

static void make_hdel(struct pending *p, struct model *m, unsigned d,
		      unsigned i, unsigned j)
{
	struct mhash *hh = &m->h[d][i];
	size_t kl = (size_t)sprintf(p->key, "hash:%u", i);
	size_t fl = (size_t)sprintf(p->field, "f:%u", j);
	bool any = false;

	p->val = NULL;
	p->op = (struct kv_op){ .op = KV_OP_HDEL, .dbi = d, .key = p->key,
				.klen = kl, .field = p->field, .flen = fl };
	if (!hh->present)
		return;
	hh->f[j].present = false;
	for (unsigned k = 0; k < NFIELDS; k++)
		any |= hh->f[k].present;
	if (!any)
		memset(hh, 0, sizeof(*hh));   /* the key goes with it */
}

/* make_hkey -- delete or expire a whole hash key. */
static void make_hkey(struct pending *p, struct model *m, unsigned d,
		      unsigned i)
{
	struct mhash *hh = &m->h[d][i];
	size_t kl = (size_t)sprintf(p->key, "hash:%u", i);
	uint64_t r = rndn(4);
	int64_t exp = r == 1 ? 0 : r == 2 ? FAR_FUTURE - (int64_t)rndn(1000)
					 : 1000;

	p->val = NULL;
	if (r == 0) {
		p->op = (struct kv_op){ .op = KV_OP_DEL, .dbi = d,
					.key = p->key, .klen = kl };
		memset(hh, 0, sizeof(*hh));
		return;
	}
	p->op = (struct kv_op){ .op = KV_OP_EXPIRE, .dbi = d, .key = p->key,
				.klen = kl, .expire_ms = exp };
	if (!hh->present)
		return;
	if (exp == 1000)
		memset(hh, 0, sizeof(*hh));
	else
		hh->exp = exp;
}

/* make_hash_op -- a random hash operation: mostly sets, to grow. */
static void make_hash_op(struct pending *p, struct model *m, unsigned d)
{
	/* hash:0 gets most of them, so it grows past its inline buckets */
	unsigned i = rndn(3) ? 0 : (unsigned)rndn(NHASH);
	unsigned j = (unsigned)rndn(NFIELDS);
	uint64_t r = rndn(100);

	if (r < 60)
		make_hset(p, m, d, i, j, rndn(6) == 0 ? PKV_NX : 0);
	else if (r < 72)
		make_hincr(p, m, d, i, j % NCOUNTERS);
	else if (r < 96)
		make_hdel(p, m, d, i, j);
	else   /* not hash:0, which keeps growing */
		make_hkey(p, m, d, 1 + (unsigned)rndn(NHASH - 1));
}

/* List operations: on key list:<i> of database d.  Element values are
 * 8..31 bytes (a pivot fits p->field), now and then 300..999. */
static uint32_t list_vlen(void)
{
	return rndn(10) ? 8 + (uint32_t)rndn(24) : 300 + (uint32_t)rndn(700);
}

/* list_norm -- Redis's index into n elements: false if outside. */
static bool list_norm(int64_t i, unsigned n, unsigned *at)
{
	if (i < 0)
		i += n;
	if (i < 0 || i >= (int64_t)n)
		return false;
	*at = (unsigned)i;
	return true;
}

/* list_fresh -- a fresh element value: its tag and length, its bytes in
 * p->val. */
static void list_fresh(struct pending *p, uint64_t *tag, uint32_t *vlen)
{
	*tag = ++g_tag;
	*vlen = list_vlen();
	p->val = malloc(*vlen);
	fill_value(p->val, *tag, *vlen);
}

/* list_drop -- remove element at of l; the key goes with the last. */
static void list_drop(struct mlist *l, unsigned at)
{
	memmove(&l->tag[at], &l->tag[at + 1], (l->n - at - 1) * 8);
	memmove(&l->vlen[at], &l->vlen[at + 1], (l->n - at - 1) * 4);
	if (--l->n == 0)
		memset(l, 0, sizeof(*l));
}

/* list_insert -- a new element (tag, vlen) at position at of l. */
static void list_insert(struct mlist *l, unsigned at, uint64_t tag,
			uint32_t vlen)
{
	if (!l->present)
		*l = (struct mlist){ .present = true };
	memmove(&l->tag[at + 1], &l->tag[at], (l->n - at) * 8);
	memmove(&l->vlen[at + 1], &l->vlen[at], (l->n - at) * 4);
	l->tag[at] = tag;
	l->vlen[at] = vlen;
	l->n++;
}

/* make_list_op -- a random list operation on database d. */
static void make_list_op(struct pending *p, struct model *m, unsigned d)
{
	unsigned i = (unsigned)rndn(NLIST), at;
	struct mlist *l = &m->l[d][i];
	size_t kl = (size_t)sprintf(p->key, "list:%u", i);
	bool tail = rndn(2);
	uint64_t r = rndn(100), tag;
	uint32_t vlen;

	g_list_ops++;
	p->val = NULL;
	p->op = (struct kv_op){ .dbi = d, .key = p->key, .klen = kl };
	if (r < 45 && l->n < NELEMS) {               /* push */
		list_fresh(p, &tag, &vlen);
		p->op.op = KV_OP_LPUSH;
		p->op.val = p->val;
		p->op.vlen = vlen;
		p->op.flags = (tail ? PKV_TAIL : 0) |
			      (rndn(8) == 0 ? PKV_XX : 0);
		if (l->present || !(p->op.flags & PKV_XX))
			list_insert(l, tail ? l->n : 0, tag, vlen);
	} else if (r < 68) {                         /* pop */
		p->op.op = KV_OP_LPOP;
		p->op.flags = tail ? PKV_TAIL : 0;
		if (l->present)
			list_drop(l, tail ? l->n - 1 : 0);
	} else if (r < 76) {                         /* LSET */
		int64_t idx = (int64_t)rndn(l->n + 2) - (rndn(2) ? 0 :
						       (int64_t)l->n + 1);
		list_fresh(p, &tag, &vlen);
		p->op.op = KV_OP_LSET;
		p->op.val = p->val;
		p->op.vlen = vlen;
		p->op.index = idx;
		if (l->present && list_norm(idx, l->n, &at)) {
			l->tag[at] = tag;
			l->vlen[at] = vlen;
		}
	} else if (r < 84 && l->present && l->n < NELEMS) {   /* LINSERT */
		unsigned piv = (unsigned)rndn(l->n);
		bool after = rndn(2);
		if (l->vlen[piv] > sizeof(p->field))
			piv = 0;
		if (l->vlen[piv] > sizeof(p->field))
			return make_list_op(p, m, d);
		fill_value((uint8_t *)p->field, l->tag[piv], l->vlen[piv]);
		p->op.field = p->field;
		p->op.flen = l->vlen[piv];
		list_fresh(p, &tag, &vlen);
		p->op.op = KV_OP_LINSERT;
		p->op.val = p->val;
		p->op.vlen = vlen;
		p->op.flags = after ? PKV_AFTER : 0;
		list_insert(l, piv + after, tag, vlen);
	} else if (r < 88 && l->present) {          /* LREM of one value */
		unsigned j = (unsigned)rndn(l->n);
		p->val = malloc(l->vlen[j]);
		fill_value(p->val, l->tag[j], l->vlen[j]);
		p->op.op = KV_OP_LREM;
		p->op.val = p->val;
		p->op.vlen = l->vlen[j];
		p->op.index = (int64_t)rndn(3) - 1;
		list_drop(l, j);
	} else if (r < 97) {                         /* LTRIM */
		int64_t start = (int64_t)rndn(l->n / 2 + 2) - 1;
		int64_t stop = rndn(3) ? -1 - (int64_t)rndn(l->n / 2 + 1)
				       : (int64_t)rndn(l->n + 1);
		int64_t n = l->n, a = start < 0 ? start + n : start;
		int64_t b = stop < 0 ? stop + n : stop;
		p->op.op = KV_OP_LTRIM;
		p->op.index = start;
		p->op.index2 = stop;
		if (!l->present)
			return;
		if (a < 0)
			a = 0;
		if (a > b || a >= n) {
			memset(l, 0, sizeof(*l));
			return;
		}
		if (b >= n)
			b = n - 1;
		while ((int64_t)l->n > b + 1)
			list_drop(l, l->n - 1);
		for (int64_t k = 0; k < a; k++)
			list_drop(l, 0);
	} else {                                     /* the whole key */
		uint64_t w = rndn(3);
		int64_t exp = w == 1 ? FAR_FUTURE - (int64_t)rndn(1000) : 1000;
		if (w == 0) {
			p->op.op = KV_OP_DEL;
			memset(l, 0, sizeof(*l));
			return;
		}
		p->op.op = KV_OP_EXPIRE;
		p->op.expire_ms = exp;
		if (!l->present)
			return;
		if (exp == 1000)
			memset(l, 0, sizeof(*l));
		else
			l->exp = exp;
	}
}

/* make_zset_op -- a random sorted set operation on database d: adds with
 * every flag, increments, removals, a rank-range removal, the whole key.
 * Scores are small halves, so ties and reorderings are frequent. */
static void make_zset_op(struct pending *p, struct model *m, unsigned d)
{
	/* zset:0 (preloaded) gets most of them */
	unsigned i = rndn(3) ? 0 : (unsigned)rndn(NZSET);
	unsigned j = (unsigned)rndn(NZM);
	struct mzset *z = &m->z[d][i];
	size_t kl = (size_t)sprintf(p->key, "zset:%u", i);
	size_t fl = (size_t)sprintf(p->field, "zm:%u", j);
	uint64_t r = rndn(100);

	p->val = NULL;
	p->op = (struct kv_op){ .dbi = d, .key = p->key, .klen = kl,
				.field = p->field, .flen = fl };
	if (r < 60) {
		static const unsigned fls[] = { 0, 0, PKV_NX, PKV_XX, PKV_GT,
						PKV_LT, PKV_ZINCR };
		unsigned f = fls[rndn(7)];
		double s = (double)rndn(16) / 2, want = s;
		p->val = malloc(sizeof(double));
		memcpy(p->val, &s, sizeof(s));
		p->op.op = KV_OP_ZADD;
		p->op.flags = f;
		p->op.score = (double *)p->val;
		if (!z->present || !z->has[j]) {
			if (f == PKV_XX)
				return;
			if (!z->present)
				*z = (struct mzset){ .present = true };
			z->has[j] = true;
			z->score[j] = want;
			return;
		}
		if (f == PKV_ZINCR)
			want = z->score[j] + s;
		if (f == PKV_NX || (f == PKV_GT && !(want > z->score[j])) ||
		    (f == PKV_LT && !(want < z->score[j])))
			return;
		z->score[j] = want;
	} else if (r < 85) {
		bool any = false;
		p->op.op = KV_OP_ZREM;
		if (!z->present)
			return;
		z->has[j] = false;
		for (unsigned k = 0; k < NZM; k++)
			any |= z->has[k];
		if (!any)
			memset(z, 0, sizeof(*z));
	} else if (r < 95) {
		/* remove ranks a..b of the model's order */
		static struct pkv_zrange q[64];
		static unsigned qn;
		struct pkv_zrange *qq = &q[qn++ % 64];
		unsigned order[NZM], n = 0;
		int64_t a = (int64_t)rndn(6), b = a + (int64_t)rndn(4);
		for (unsigned k = 0; k < NZM; k++)
			if (z->present && z->has[k])
				order[n++] = k;
		for (unsigned x = 1; x < n; x++)       /* by (score, member) */
			for (unsigned y = x; y > 0; y--) {
				unsigned u = order[y - 1], v = order[y];
				char mu[16], mv[16];
				sprintf(mu, "zm:%u", u);
				sprintf(mv, "zm:%u", v);
				if (z->score[u] < z->score[v] ||
				    (z->score[u] == z->score[v] &&
				     strcmp(mu, mv) < 0))
					break;
				order[y - 1] = v;
				order[y] = u;
			}
		*qq = (struct pkv_zrange){ .by = PKV_ZBY_RANK, .start = a,
					   .stop = b, .count = -1 };
		p->op.op = KV_OP_ZREMRANGE;
		p->op.zq = qq;
		p->op.field = NULL;
		p->op.flen = 0;
		for (int64_t k = a; k <= b && k < (int64_t)n; k++)
			z->has[order[k]] = false;
		if (z->present && a < (int64_t)n && b >= a) {
			bool any = false;
			for (unsigned k = 0; k < NZM; k++)
				any |= z->has[k];
			if (!any)
				memset(z, 0, sizeof(*z));
		}
	} else {
		int64_t exp = rndn(2) ? FAR_FUTURE - (int64_t)rndn(1000) : 1000;
		p->op.field = NULL;
		p->op.flen = 0;
		if (rndn(2)) {
			p->op.op = KV_OP_DEL;
			memset(z, 0, sizeof(*z));
			return;
		}
		p->op.op = KV_OP_EXPIRE;
		p->op.expire_ms = exp;
		if (!z->present)
			return;
		if (exp == 1000)
			memset(z, 0, sizeof(*z));
		else
			z->exp = exp;
	}
}

/* run -- apply pending ops as one call; full pool or too big: undo. */
#define BIG_BATCH 320             /* ops: a record bigger than a ring */

static void run(struct pending *p, size_t n, struct model *next)
{
	struct kv_op ops[BIG_BATCH];
	int results[BIG_BATCH], err;

	for (size_t i = 0; i < n; i++)
		ops[i] = p[i].op;
	begin_call(next);
	err = kv_apply(g_db, ops, n, results);
	if (err == PKV_EFULL) {
		/* nothing applied: the model stays */
		g_full++;
		g_inflight = 0;
		*next = g_cur;
	} else if (err) {
		die("kv_apply", err);
	} else {
		end_call(next);
	}
	for (size_t i = 0; i < n; i++)
		free(p[i].val);
}

/* count -- keys of database d in the model. */
static unsigned count(unsigned d)
{
	unsigned n = 0;
	for (unsigned i = 0; i < NKEYS; i++)
		n += g_cur.k[d][i].present;
	return n;
}

/* model_flush, model_swap -- what a flush of database d, and a swap of
 * the two, make of a model. */
static void model_flush(struct model *m, unsigned d)
{
	memset(m->k[d], 0, sizeof(m->k[d]));
	memset(m->h[d], 0, sizeof(m->h[d]));
	memset(m->l[d], 0, sizeof(m->l[d]));
	memset(m->z[d], 0, sizeof(m->z[d]));
}

static void model_swap(struct model *m)
{
	struct model *was = malloc(sizeof(*was));

	if (!was)
		die("malloc", -ENOMEM);
	*was = *m;
	memcpy(m->k[0], was->k[1], sizeof(m->k[0]));
	memcpy(m->k[1], was->k[0], sizeof(m->k[1]));
	memcpy(m->h[0], was->h[1], sizeof(m->h[0]));
	memcpy(m->h[1], was->h[0], sizeof(m->h[1]));
	memcpy(m->l[0], was->l[1], sizeof(m->l[0]));
	memcpy(m->l[1], was->l[0], sizeof(m->l[1]));
	memcpy(m->z[0], was->z[1], sizeof(m->z[0]));
	memcpy(m->z[1], was->z[0], sizeof(m->z[1]));
	free(was);
}

/* make_dbwide -- a flush of the smaller database, or a swap, as an
 * operation of a batch: the batch's later operations see it, and the
 * commit keeps all or none of it. */
static void make_dbwide(struct pending *p, struct model *m)
{
	unsigned d = count(0) < count(1) ? 0 : 1;

	p->val = NULL;
	p->key[0] = 0;
	if (rndn(2)) {
		p->op = (struct kv_op){ .op = KV_OP_FLUSH, .dbi = d,
					.index = d };
		model_flush(m, d);
	} else {
		p->op = (struct kv_op){ .op = KV_OP_SWAPDB, .dbi = 0,
					.index = 1 };
		model_swap(m);
	}
}

static void op_single(void)
{
	struct model next = g_cur;
	struct pending p;
	unsigned big = count(0) >= count(1) ? 0 : 1;
	unsigned d = rndn(5) == 0 ? 1 - big : big, i;
	uint64_t r = rndn(100);

	i = (unsigned)rndn(d == big ? NKEYS : NKEYS_SMALL);
	if (rndn(4) == 0) {
		uint64_t w = rndn(3);
		if (w == 0)
			make_hash_op(&p, &next, (unsigned)rndn(NDBS));
		else if (w == 1)
			make_list_op(&p, &next, (unsigned)rndn(NDBS));
		else
			make_zset_op(&p, &next, (unsigned)rndn(NDBS));
	} else if (r < 47) {
		static const unsigned fl[] = { 0, 0, 0, 0, PKV_NX, PKV_XX,
					       PKV_KEEPTTL };
		make_put(&p, &next, d, i, fl[rndn(7)]);
	} else if (r < 57) {
		make_incr(&p, &next, d, i % NCOUNTERS);
	} else if (r < 80) {
		make_del(&p, &next, d, i);
	} else {
		make_expire(&p, &next, d, i);
	}
	run(&p, 1, &next);
}

static void op_batch(void)
{
	struct model next = g_cur;
	struct pending p[16];
	size_t n = 2 + rndn(8);

	for (size_t k = 0; k < n; k++) {
		unsigned d = (unsigned)rndn(NDBS);
		unsigned i = (unsigned)rndn(rndn(2) ? NKEYS_SMALL : NKEYS);
		/* repeat a key now and then: the batch must resolve it */
		if (k && rndn(5) == 0) {
			d = p[k - 1].op.dbi;
			sscanf(p[k - 1].key, "key:%u", &i);
		}
		uint64_t r = rndn(10);
		if (k && rndn(40) == 0) {
			make_dbwide(&p[k], &next);
			continue;
		}
		if (rndn(4) == 0) {
			uint64_t w = rndn(3);
			if (w == 0)
				make_hash_op(&p[k], &next, d);
			else if (w == 1)
				make_list_op(&p[k], &next, d);
			else
				make_zset_op(&p[k], &next, d);
		} else if (r < 5)
			make_put(&p[k], &next, d, i, rndn(6) == 0 ? PKV_NX : 0);
		else if (r < 7)
			make_incr(&p[k], &next, d, i % NCOUNTERS);
		else if (r < 9)
			make_del(&p[k], &next, d, i);
		else
			make_expire(&p[k], &next, d, i);
	}
	if (g_verbose)
		for (size_t k = 0; k < n; k++)
			fprintf(stderr, "  batch op %zu: %s db %u %s\n", k,
				p[k].op.op == KV_OP_PUT ? "put" :
				p[k].op.op == KV_OP_INCR ? "incr" :
				p[k].op.op == KV_OP_DEL ? "del" :
				p[k].op.op == KV_OP_HSET ? "hset" :
				p[k].op.op == KV_OP_HDEL ? "hdel" :
				p[k].op.op == KV_OP_FLUSH ? "flush" :
				p[k].op.op == KV_OP_SWAPDB ? "swap" :
				p[k].op.op >= KV_OP_LPUSH ? "list op" :
				"expire",
				p[k].op.dbi, p[k].key);
	run(p, n, &next);
}

/* op_flush -- flush the smaller database (the other one keeps growing
 * through resizes). */
/* op_big_batch -- a batch of small puts and deletes whose record does
 * not fit its lane's ring: it is chained to free space. */
static void op_big_batch(void)
{
	static struct pending p[BIG_BATCH];
	struct model next = g_cur;

	for (size_t k = 0; k < BIG_BATCH; k++) {
		unsigned d = (unsigned)rndn(NDBS);
		unsigned i = (unsigned)rndn(NKEYS);
		if (rndn(4))
			make_put(&p[k], &next, d, i, 0);
		else
			make_del(&p[k], &next, d, i);
	}
	run(p, BIG_BATCH, &next);
}

static void op_flush(void)
{
	struct model next = g_cur;
	unsigned d = count(0) < count(1) ? 0 : 1;
	int err;

	model_flush(&next, d);
	begin_call(&next);
	if ((err = pkv_flushdb(g_db, d)))
		die("pkv_flushdb", err);
	end_call(&next);
}

static void op_swap(void)
{
	struct model next = g_cur;
	int err;

	model_swap(&next);
	begin_call(&next);
	if ((err = pkv_swapdb(g_db, 0, 1)))
		die("pkv_swapdb", err);
	end_call(&next);
}

static void op_gc(void)
{
	int err;

	act(GC_ACTOR);
	if ((err = pkv_gc(g_db)))
		die("pkv_gc", err);
}

/* op_defrag -- keys' entries moved out of sparse runs, each batch of
 * moves a transaction: what a key holds never changes, so a crash at any
 * point must show the model as it is. */
static void op_defrag(void)
{
	struct pkv_defrag_stats ds;
	int err;

	act(GC_ACTOR);
	err = kv_defrag(g_db, 100, &ds);  /* not only the sparse runs */
	if (err && err != PKV_EFULL)
		die("pkv_defrag", err);
	g_defrag_moved += ds.moved;
}

/* op_grow -- the pool grows by one to three chunks, while it may: the
 * keys stay as they are (writes that found it full grew it too:
 * PKV_AUTOGROW). */
static void op_grow(void)
{
	struct pkv_stats st;
	int err;

	if ((err = pkv_stats(g_db, &st)))
		die("pkv_stats", err);
	if (st.pool_size >= st.pool_max_size)
		return;
	g_grown++;
	err = pkv_grow(g_db, st.pool_size + (1 + rndn(3)) * CHUNK_SIZE);
	if (err && err != PKV_EINVAL)
		die("pkv_grow", err);
}

/* op_checkpoint -- a checkpoint by a thread of its own. */
static void op_checkpoint(void)
{
	int err;

	act(CKPT_ACTOR);
	if ((err = heap_checkpoint(g_heap)))
		die("heap_checkpoint", err);
}

/* submit -- the ops as one pipelined batch (pkv_batch_submit: applied,
 * durable later); 0, PKV_EFULL (nothing applied) or dies. */
static int submit(struct pending *p, size_t n)
{
	pkv_batch *b;
	int err = kv_batch_new(g_db, n > 1, &b);

	if (err)
		die("kv_batch_new", err);
	for (size_t i = 0; i < n; i++)
		kv_exec(b, &p[i].op);
	err = pkv_batch_submit(b, NULL);
	for (size_t i = 0; i < n; i++)
		free(p[i].val);
	if (err && err != PKV_EFULL)
		die("pkv_batch_submit", err);
	return err;
}

/*
 * op_pipelined -- two puts submitted one after the other, each applied
 * before it is durable (on a disk; elsewhere they commit as usual), a
 * checkpoint now and then while they wait, then both made durable.  A
 * crash may keep neither, the first, or both, never the second alone.
 */
static void op_pipelined(void)
{
	struct model a = g_cur, ab;
	struct pending p1, p2;
	unsigned d = (unsigned)rndn(NDBS);
	int err;

	make_put(&p1, &a, d, (unsigned)rndn(NKEYS_SMALL), 0);
	ab = a;
	make_put(&p2, &ab, d, (unsigned)rndn(NKEYS_SMALL), 0);
	g_after = a;
	g_after2 = ab;
	g_inflight = g_inflight2 = 1;
	if (submit(&p1, 1)) {
		g_full++;
		g_inflight = g_inflight2 = 0;
		free(p2.val);
		return;
	}
	if (submit(&p2, 1)) {
		g_full++;
		g_inflight2 = 0;
		ab = a;
	}
	if (rndn(2))
		op_checkpoint();
	if ((err = pkv_durable(g_db, pkv_ticket(g_db), true)) < 0)
		die("pkv_durable", err);
	g_inflight2 = 0;
	end_call(&ab);
}

static void usage(void)
{
	fprintf(stderr, "usage: crashkv [--states N] [--seed S] [--ops N] "
		"[--torn] [--evict] [--samples K] [--exhaustive K] "
		"[--fence F] [--verbose]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct crashsim_opts o = {
		.seed = 1, .max_states = 0, .samples = 32,
		.max_exhaustive = 8, .only_fence = -1, .max_print = 5,
	};
	/* The heap starts with an eighth of the image, and grows (op_grow,
	 * and PKV_AUTOGROW when a write finds it full). */
	struct pool_params pp = { .nlanes = 4, .log_size = 16384,
				  .initial_size = POOL_SIZE / 8 };
	struct pkv_options po;
	struct errmsg em;
	struct timespec t0, t1;
	uint64_t max_ops = 0, op;
	char *buf;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--list-planted")) {
			for (int b = 1; b < PB_COUNT; b++)
				printf("%s\n", planted_name((enum planted_bug)b));
			return 0;
		}
		if (!crashsim_parse_opt(&o, &max_ops, argc, argv, &i))
			usage();
	}
	if (planted_from_env())
		return 2;
	if (planted_bug)
		printf("crash-sim-kv: planted bug %s: %s\n",
		       planted_name(planted_bug), planted_what(planted_bug));
	o.program = "tests/crashkv";
	g_verbose = o.verbose;
	if (g_verbose)
		g_pre = aligned_alloc(4096, POOL_SIZE);
	if (!max_ops && !o.max_states)
		o.max_states = 10000;

	buf = aligned_alloc(4096, POOL_SIZE);
	g_image2 = aligned_alloc(4096, POOL_SIZE);
	if (!buf || !g_image2)
		die("aligned_alloc", -ENOMEM);
	memset(buf, 0, POOL_SIZE);
	err_clear(&em);
	g_disk = o.disk;
	if ((err = pool_format_memory(buf, POOL_SIZE, &pp, &em)) ||
	    (err = pool_open_memory(buf, POOL_SIZE, &g_pool, &em)) ||
	    (crashsim_disk_model(g_pool, g_disk),
	     (err = heap_open(g_pool, &g_heap, &em)))) {
		fprintf(stderr, "crashkv: %s\n", em.text);
		return 2;
	}
	pkv_options_init(&po);
	po.flags = PKV_NOTHREADS | PKV_AUTOGROW;
	po.databases = NDBS;
	if ((err = kv_attach(g_heap, &po, &g_db)))
		die("kv_attach", err);
	/* The hash key is random at create; fix it (the tables are still
	 * empty) so a seed reproduces a run exactly. */
	g_db->seed[0] = g_db->root->seed[0] = crashsim_mix(o.seed);
	g_db->seed[1] = g_db->root->seed[1] = crashsim_mix(o.seed + 1);

	/* Database 0 starts just short of its first resize. */
	g_rng = crashsim_mix(o.seed);
	memset(&g_cur, 0, sizeof(g_cur));
	for (unsigned i = 0; i < PRELOAD; i++) {
		struct model next = g_cur;
		struct pending p;
		make_put(&p, &next, 0, i * 2, 0);
		run(&p, 1, &next);
	}

	/* hash:0 of database 0 starts with 100 fields: the watched writes
	 * go on splitting its buckets in a segment */
	for (unsigned j = 0; j < 100; j++) {
		struct model next = g_cur;
		struct pending p;
		make_hset(&p, &next, 0, 0, j, 0);
		run(&p, 1, &next);
	}
	/* zset:0 of both databases with 20 members, so the skip list has
	 * levels to relink */
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned j = 0; j < 20; j++) {
			struct model next = g_cur;
			struct pending p = { .val = NULL };
			double sc = (double)(j % 7) / 2;
			size_t kl = (size_t)sprintf(p.key, "zset:0");
			size_t fl = (size_t)sprintf(p.field, "zm:%u", j);
			p.val = malloc(sizeof(sc));
			memcpy(p.val, &sc, sizeof(sc));
			p.op = (struct kv_op){ .op = KV_OP_ZADD, .dbi = d,
				.key = p.key, .klen = kl, .field = p.field,
				.flen = fl, .score = (double *)p.val };
			if (!next.z[d][0].present)
				next.z[d][0] = (struct mzset){ .present = true };
			next.z[d][0].has[j] = true;
			next.z[d][0].score[j] = sc;
			run(&p, 1, &next);
		}
	/* and every list of both databases with 30 elements: trims cut
	 * more than the library frees one by one, pops empty them slowly */
	for (unsigned d = 0; d < NDBS; d++)
		for (unsigned i = 0; i < NLIST; i++)
			for (unsigned j = 0; j < 30; j++) {
				struct model next = g_cur;
				struct pending p = { .val = NULL };
				uint64_t tag;
				uint32_t vlen;
				size_t kl = (size_t)sprintf(p.key, "list:%u",
							    i);
				list_fresh(&p, &tag, &vlen);
				p.op = (struct kv_op){ .op = KV_OP_LPUSH,
					.dbi = d, .key = p.key, .klen = kl,
					.val = p.val, .vlen = vlen,
					.flags = PKV_TAIL };
				list_insert(&next.l[d][i], next.l[d][i].n, tag,
					    vlen);
				run(&p, 1, &next);
			}

	struct crashsim *cs = crashsim_new(&o, check_image, NULL);
	if (!cs || crashsim_attach(cs, g_pool))
		die("crashsim", -ENOMEM);
	g_cs = cs;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (op = 0; !max_ops || op < max_ops; op++) {
		uint64_t r = rndn(100);
		const char *what = r < 57 ? "single" : r < 75 ? "batch" :
				   r < 76 ? "big batch" :
				   r < 84 ? "resize step" : r < 87 ? "flush" :
				   r < 90 ? "swap" : r < 94 ? "checkpoint" :
				   r < 95 ? "grow" : r < 99 ? "gc" : "defrag";
		if (crashsim_done(cs))
			break;
		crashsim_set_op(cs, op, what);
		if (g_verbose)
			fprintf(stderr, "op %" PRIu64 ": %s\n", op, what);
		if (r < 90 || (r >= 94 && r < 95))
			act((unsigned)rndn(WRITERS));
		if (r < 57 && g_disk && rndn(4) == 0)
			op_pipelined();
		else if (r < 57)
			op_single();
		else if (r < 75)
			op_batch();
		else if (r < 76)
			op_big_batch();
		else if (r < 84)
			kv_help_resize(g_db, (unsigned)rndn(NDBS), true);
		else if (r < 87)
			op_flush();
		else if (r < 90)
			op_swap();
		else if (r < 94)
			op_checkpoint();
		else if (r < 95)
			op_grow();
		else if (r < 99)
			op_gc();
		else
			op_defrag();
	}
	if (o.verbose || getenv("CRASHSIM_STATS"))
		fprintf(stderr, "crash-sim-kv: %u and %u keys, %" PRIu64
			" writes refused for a full pool, %" PRIu64
			" growths asked, %" PRIu64 " entries moved by defrag, "
			"pool %zu of %u bytes\n", count(0), count(1), g_full,
			g_grown, g_defrag_moved, g_pool->size, POOL_SIZE);
	if (o.verbose || getenv("CRASHSIM_STATS"))
		for (unsigned d = 0; d < NDBS; d++) {
			uint64_t n = 0;
			pkv_hlen(g_db, d, "hash:0", 6, &n);
			fprintf(stderr, "crash-sim-kv: db %u: hash:0 has %"
				PRIu64 " fields\n", d, n);
			for (unsigned i = 0; i < NLIST; i++) {
				char name[16];
				n = 0;
				pkv_llen(g_db, d, name, (size_t)sprintf(name,
					 "list:%u", i), &n);
				fprintf(stderr, "crash-sim-kv: db %u: list:%u "
					"has %" PRIu64 " elements (%" PRIu64
					" list ops)\n", d, i, n, g_list_ops);
			}
			for (unsigned i = 0; i < NZSET; i++) {
				char name[16];
				n = 0;
				pkv_zcard(g_db, d, name, (size_t)sprintf(name,
					  "zset:%u", i), &n);
				fprintf(stderr, "crash-sim-kv: db %u: zset:%u "
					"has %" PRIu64 " members\n", d, i, n);
			}
		}
	if (o.verbose || getenv("CRASHSIM_STATS"))
		for (unsigned d = 0; d < NDBS; d++) {
			const struct kv_table *tab = kv_table_of(g_db, d);
			const struct kv_buckets *B = kv_ptr(g_db, tab->cur);
			fprintf(stderr, "crash-sim-kv: db %u: 2^%" PRIu64
				" buckets, table version %" PRIu64 " (%" PRIu64
				" resizes started)\n", d, B->log2,
				tab->version, (tab->version + 1) / 2);
		}
	crashsim_set_op(cs, op, "close");
	act(0);
	kv_detach(g_db);
	heap_close(g_heap);
	crashsim_forget(cs);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	uint64_t states = crashsim_states(cs), failures = crashsim_failures(cs);
	if (o.verbose || getenv("CRASHSIM_STATS"))
		fprintf(stderr, "crash-sim-kv: %" PRIu64 " ops, %" PRIu64
			" fences, %.1f s\n", op, crashsim_fences(cs), secs);
	printf("crash-sim-kv: %" PRIu64 " states, %" PRIu64 " failures\n",
	       states, failures);
	crashsim_free(cs);
	free(g_image2);
	free(buf);
	return failures ? 1 : 0;
}
