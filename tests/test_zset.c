/*
 * test_zset.c -- unit tests of the sorted set type (type_zset.c and its
 * calls in pkv.h): a deterministic mix of adds (NX XX GT LT INCR),
 * removals and range removals against a sorted model, with scores, ranks
 * and ranges by rank, score (exclusive ends, LIMIT) and lex, both ways,
 * across reopens; lex ranges, NaN, infinities, WRONGTYPE, copy; the
 * blocks of a dropped set reclaimed, and what an add and a remove cost.
 *
 * zset_check walks a sorted set through the internal layout: level 0 in
 * order with its backward links, every level's spans against the ranks,
 * the tail, the count, each node's field naming it.
 */
#include "config.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "pkv.h"
#include "kv_int.h"

#define KVFIX_NAME "test_zset"
#include "kvfixture.h"



/* ---- a model: members and scores, sorted as the set must be ---- */

#define MAXM 600

struct zm {
	char m[16];
	double s;
};

struct model {
	struct zm v[MAXM];
	size_t n;
};

static int zm_cmp(const void *a, const void *b)
{
	const struct zm *x = a, *y = b;
	size_t lx = strlen(x->m), ly = strlen(y->m), n = lx < ly ? lx : ly;
	int r;

	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	r = memcmp(x->m, y->m, n);
	return r ? r : (lx > ly) - (lx < ly);
}

static int model_find(const struct model *md, const char *m)
{
	for (size_t i = 0; i < md->n; i++)
		if (!strcmp(md->v[i].m, m))
			return (int)i;
	return -1;
}

static void model_set(struct model *md, const char *m, double s)
{
	int i = model_find(md, m);

	if (i < 0) {
		assert_true(md->n < MAXM);
		i = (int)md->n++;
		strcpy(md->v[i].m, m);
	}
	md->v[i].s = s;
	qsort(md->v, md->n, sizeof(*md->v), zm_cmp);
}

static void model_del(struct model *md, size_t i)
{
	memmove(&md->v[i], &md->v[i + 1], (md->n - i - 1) * sizeof(*md->v));
	md->n--;
}

/* zset_check -- walk key's sorted set (internal layout): level 0 in
 * order, backward links, every level's spans adding up to ranks, the
 * tail, the count, each node's field naming it. */
static void zset_check(pkv *db, const char *key, size_t want)
{
	uint64_t e = 0, zoff, x, prev = 0, n = 0;
	const struct kv_zset_hdr *H;
	uint64_t rank_of[MAXM + 1], nodes[MAXM + 1];
	int r = table_lookup(db, 0, kv_hash(db, key, strlen(key)), key,
			     strlen(key), &e);
	uint32_t type;

	if (want == 0) {
		assert_int_equal(r, 0);
		return;
	}
	assert_int_equal(r, 1);
	zoff = zset_of_entry(db, kv_ptr(db, e));
	assert_true(zoff != 0);
	assert_true(heap_block_valid(db->heap, zoff, NULL, &type));
	assert_int_equal(type, KV_TYPE_ZSET);
	H = kv_ptr(db, zoff);
	assert_int_equal(H->count, want);
	for (x = H->head[0].forward; x; x = ((const struct kv_zset_node *)
					     kv_ptr(db, x))->lvl[0].forward) {
		const struct kv_zset_node *N = kv_ptr(db, x);
		const struct kv_entry *F = kv_ptr(db, N->field);
		uint64_t self;
		assert_true(heap_block_valid(db->heap, x, NULL, &type));
		assert_int_equal(type, KV_TYPE_ZNODE);
		assert_int_equal(N->backward, prev);
		assert_true(heap_block_valid(db->heap, N->field, NULL, &type));
		assert_int_equal(type, KV_TYPE_FIELD);
		memcpy(&self, kv_entry_val(F), 8);
		assert_int_equal(self, x);
		assert_true(n < MAXM);
		nodes[n] = x;
		rank_of[n] = n + 1;
		n++;
		prev = x;
	}
	assert_int_equal(n, want);
	assert_int_equal(H->tail, prev);
	/* every level: the span from each node to the next equals the
	 * difference of their ranks */
	for (unsigned i = 0; i < H->level; i++) {
		uint64_t at = 0, y = H->head[i].forward, span = H->head[i].span;
		while (y) {
			const struct kv_zset_node *N = kv_ptr(db, y);
			size_t k = 0;
			while (k < n && nodes[k] != y)
				k++;
			assert_true(k < n);
			assert_int_equal(at + span, rank_of[k]);
			at = rank_of[k];
			span = N->lvl[i].span;
			y = N->lvl[i].forward;
		}
	}
}

/* What pkv_zrange visits. */
struct got {
	struct zm v[MAXM];
	size_t n;
};

static int collect(void *ctx, const void *m, size_t ml, double s)
{
	struct got *g = ctx;

	assert_true(ml < 16 && g->n < MAXM);
	memcpy(g->v[g->n].m, m, ml);
	g->v[g->n].m[ml] = '\0';
	g->v[g->n].s = s;
	g->n++;
	return 0;
}

/* expect_range -- pkv_zrange of q gives the model's members from index
 * lo to hi (in reverse when q->rev). */
static void expect_range(pkv *db, const struct model *md,
			 const struct pkv_zrange *q, long lo, long hi)
{
	static struct got g;
	uint64_t cnt = 0;

	g.n = 0;
	assert_int_equal(pkv_zrange(db, 0, "z", 1, q, collect, &g), 0);
	if (lo > hi) {
		assert_int_equal(g.n, 0);
		return;
	}
	assert_int_equal(g.n, (size_t)(hi - lo + 1));
	for (long i = 0; i <= hi - lo; i++) {
		const struct zm *w = &md->v[q->rev ? hi - i : lo + i];
		assert_string_equal(g.v[i].m, w->m);
		assert_true(g.v[i].s == w->s);
	}
	(void)cnt;
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* check_all -- ranks, scores and ranges of every kind against the model. */
static void check_all(pkv *db, const struct model *md)
{
	uint64_t n = 99, rank;
	pkv_batch *b;

	assert_int_equal(pkv_zcard(db, 0, "z", 1, &n), 0);
	assert_int_equal(n, md->n);
	zset_check(db, "z", md->n);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	for (size_t i = 0; i < md->n; i += 1 + md->n / 17) {
		double s;
		assert_int_equal(pkv_batch_zscore(b, 0, "z", 1, md->v[i].m,
						  strlen(md->v[i].m), &s), 0);
		assert_true(s == md->v[i].s);
		assert_int_equal(pkv_batch_zrank(b, 0, "z", 1, md->v[i].m,
						 strlen(md->v[i].m), false,
						 &rank), 0);
		assert_int_equal(rank, i);
		assert_int_equal(pkv_batch_zrank(b, 0, "z", 1, md->v[i].m,
						 strlen(md->v[i].m), true,
						 &rank), 0);
		assert_int_equal(rank, md->n - 1 - i);
	}
	pkv_batch_abort(b);
	/* by rank, both ways */
	for (int k = 0; k < 6; k++) {
		struct pkv_zrange q = { .by = PKV_ZBY_RANK, .rev = k & 1,
					.count = -1 };
		long nn = (long)md->n, a, z;
		q.start = (int64_t)(rnd() % (md->n + 3)) - 2;
		q.stop = (int64_t)(rnd() % (md->n + 3)) - 2;
		a = q.start < 0 ? q.start + nn : q.start;
		z = q.stop < 0 ? q.stop + nn : q.stop;
		if (a < 0)
			a = 0;
		if (z >= nn)
			z = nn - 1;
		if (q.rev) {
			long t = nn - 1 - z;
			z = nn - 1 - a;
			a = t;
		}
		expect_range(db, md, &q, a, z);
	}
	/* by score, with exclusive ends and a limit */
	for (int k = 0; k < 8; k++) {
		struct pkv_zrange q = { .by = PKV_ZBY_SCORE, .rev = k & 1,
					.count = -1 };
		long a = 0, z;
		uint64_t cnt;
		q.min = (double)(rnd() % 40) - 5;
		q.max = q.min + (double)(rnd() % 30);
		q.minex = rnd() & 1;
		q.maxex = rnd() & 1;
		if (k >= 4) {
			q.offset = rnd() % 4;
			q.count = (int64_t)(rnd() % 6);
		}
		while (a < (long)md->n && (q.minex ? md->v[a].s <= q.min :
					   md->v[a].s < q.min))
			a++;
		z = a - 1;
		while (z + 1 < (long)md->n && (q.maxex ? md->v[z + 1].s < q.max
					       : md->v[z + 1].s <= q.max))
			z++;
		assert_int_equal(pkv_batch_begin(db, &b), 0);
		assert_int_equal(pkv_batch_zcount(b, 0, "z", 1, &q, &cnt), 0);
		pkv_batch_abort(b);
		assert_int_equal(cnt, a <= z ? (uint64_t)(z - a + 1) : 0);
		if (a <= z && k >= 4) {
			long left = z - a + 1 - (long)q.offset;
			if (left > q.count)
				left = q.count;
			if (q.rev) {
				z -= (long)q.offset;
				a = z - left + 1;
			} else {
				a += (long)q.offset;
				z = a + left - 1;
			}
		}
		expect_range(db, md, &q, a, z);
	}
}

/* A deterministic mix of adds, increments, rescorings, removals and range
 * removals, against the model, across reopens. */
static void test_zset_model(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	struct model md = { .n = 0 };

	for (unsigned i = 0; i < 400; i++) {     /* levels to walk */
		char m[16];
		sprintf(m, "m%u", i);
		assert_int_equal(pkv_zadd(db, 0, "z", 1, m, strlen(m),
					  (double)(i % 30), 0), 0);
		model_set(&md, m, (double)(i % 30));
	}
	check_all(db, &md);
	for (unsigned step = 0; step < 4000; step++) {
		unsigned what = (unsigned)(rnd() % 100);
		char m[16];
		double s = (double)(rnd() % 30);
		int r;
		sprintf(m, "m%u", (unsigned)(rnd() % 500));
		if (what < 65) {
			unsigned fl = (unsigned[]){ 0, 0, 0, PKV_NX, PKV_XX,
						    PKV_GT, PKV_LT,
						    PKV_ZINCR }[rnd() % 8];
			int i = model_find(&md, m);
			double want = s, got = s;
			pkv_batch *b;
			assert_int_equal(pkv_batch_begin(db, &b), 0);
			r = pkv_batch_zadd(b, 0, "z", 1, m, strlen(m), &got,
					   fl);
			assert_int_equal(pkv_batch_commit(b, NULL), 0);
			if (i < 0) {
				if (fl == PKV_XX) {
					assert_int_equal(r, PKV_ENOTFOUND);
					continue;
				}
				assert_int_equal(r, 0);
				model_set(&md, m, want);
			} else {
				double old = md.v[i].s;
				assert_int_equal(r, PKV_EEXIST);
				if (fl == PKV_ZINCR)
					want = old + s;
				if (fl == PKV_NX || (fl == PKV_GT && !(want > old)) ||
				    (fl == PKV_LT && !(want < old)))
					want = old;
				model_set(&md, m, want);
			}
			assert_true(got == want);
		} else if (what < 82) {
			int i = model_find(&md, m);
			r = pkv_zrem(db, 0, "z", 1, m, strlen(m));
			assert_int_equal(r, i < 0 ? PKV_ENOTFOUND : 0);
			if (i >= 0)
				model_del(&md, (size_t)i);
		} else if (what < 96 && md.n) {
			/* remove a rank range */
			struct pkv_zrange q = { .by = PKV_ZBY_RANK,
						.count = -1 };
			uint64_t removed = 99;
			pkv_batch *b;
			size_t a = (size_t)(rnd() % md.n);
			size_t z = a + (size_t)(rnd() % 4);
			if (z >= md.n)
				z = md.n - 1;
			q.start = (int64_t)a;
			q.stop = (int64_t)z;
			assert_int_equal(pkv_batch_begin(db, &b), 0);
			assert_int_equal(pkv_batch_zremrange(b, 0, "z", 1, &q,
							     &removed), 0);
			assert_int_equal(pkv_batch_commit(b, NULL), 0);
			assert_int_equal(removed, z - a + 1);
			for (size_t k = a; k <= z; k++)
				model_del(&md, a);
		} else {
			/* remove a score range */
			struct pkv_zrange q = { .by = PKV_ZBY_SCORE,
						.count = -1 };
			uint64_t removed = 99, want = 0;
			pkv_batch *b;
			q.min = s;
			q.max = s + 1;
			assert_int_equal(pkv_batch_begin(db, &b), 0);
			assert_int_equal(pkv_batch_zremrange(b, 0, "z", 1, &q,
							     &removed), 0);
			assert_int_equal(pkv_batch_commit(b, NULL), 0);
			for (size_t k = 0; k < md.n; )
				if (md.v[k].s >= s && md.v[k].s <= s + 1) {
					model_del(&md, k);
					want++;
				} else {
					k++;
				}
			assert_int_equal(removed, want);
		}
		if (step % 400 == 0)
			check_all(db, &md);
		if (step % 1000 == 999) {
			db = reopen(f);
			check_all(db, &md);
		}
	}
	check_all(db, &md);
	print_message("      %zu members at the end\n", md.n);
}

/* Lex ranges (all scores equal), WRONGTYPE, NaN, copy and the key's
 * life. */
static void test_zset_lex_edges(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	const char *ms[] = { "a", "b", "c", "d", "e", "f", "g" };
	static struct got g;
	struct pkv_zrange q = { .by = PKV_ZBY_LEX, .count = -1 };
	double s = NAN, got;
	unsigned type;
	pkv_batch *b;

	for (int i = 0; i < 7; i++)
		assert_int_equal(pkv_zadd(db, 0, "z", 1, ms[i], 1, 0, 0), 0);
	q.lmin = "b";
	q.lminlen = 1;
	q.lmax = "e";
	q.lmaxlen = 1;
	q.maxex = true;
	g.n = 0;
	assert_int_equal(pkv_zrange(db, 0, "z", 1, &q, collect, &g), 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.v[0].m, "b");
	assert_string_equal(g.v[2].m, "d");
	q.lmin_inf = -1;
	q.lmax_inf = 1;
	q.rev = true;
	g.n = 0;
	assert_int_equal(pkv_zrange(db, 0, "z", 1, &q, collect, &g), 0);
	assert_int_equal(g.n, 7);
	assert_string_equal(g.v[0].m, "g");
	assert_int_equal(pkv_zadd(db, 0, "z", 1, "x", 1, s, 0), PKV_EINVAL);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	got = INFINITY;
	assert_int_equal(pkv_batch_zadd(b, 0, "z", 1, "inf", 3, &got, 0), 0);
	got = -INFINITY;
	assert_int_equal(pkv_batch_zadd(b, 0, "z", 1, "inf", 3, &got,
					PKV_ZINCR), PKV_ERANGE);
	assert_int_equal(pkv_batch_copy(b, 0, "z", 1, 0, "y", 1, 0), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	db = reopen(f);
	zset_check(db, "z", 8);
	assert_int_equal(pkv_type(db, 0, "y", 1, &type), 0);
	assert_int_equal(type, PKV_TYPE_ZSET);
	assert_int_equal(pkv_zscore(db, 0, "y", 1, "inf", 3, &got), 0);
	assert_true(isinf(got) && got > 0);
	assert_int_equal(pkv_hset(db, 0, "z", 1, "f", 1, "v", 1, 0),
			 PKV_EWRONGTYPE);
	assert_int_equal(pkv_put(db, 0, "s", 1, "v", 1, 0, 0), 0);
	assert_int_equal(pkv_zadd(db, 0, "s", 1, "a", 1, 1, 0),
			 PKV_EWRONGTYPE);
	for (int i = 0; i < 7; i++)
		assert_int_equal(pkv_zrem(db, 0, "z", 1, ms[i], 1), 0);
	assert_int_equal(pkv_zrem(db, 0, "z", 1, "inf", 3), 0);
	assert_int_equal(pkv_exists(db, 0, "z", 1), PKV_ENOTFOUND);
}

/* A sorted set dropped gives its blocks back; the cost of an add+remove
 * grows with log n only (printed: the measure). */
static void test_zset_reclaimed_cost(void **state)
{
	struct fixture *f = *state;
	struct pkv_stats s0, s1, s2, a, c;
	char m[32];
	pkv *db;

	f->opts.flags |= PKV_NOTHREADS;
	db = open_db(f);
	assert_int_equal(pkv_gc(db), 0);
	assert_int_equal(pkv_stats(db, &s0), 0);
	for (unsigned i = 0; i < 20000; i++) {
		sprintf(m, "member-%u", i);
		assert_int_equal(pkv_zadd(db, 0, "big", 3, m, strlen(m),
					  (double)(i * 7919 % 20000), 0), 0);
	}
	for (unsigned i = 0; i < 10; i++) {
		sprintf(m, "member-%u", i);
		assert_int_equal(pkv_zadd(db, 0, "small", 5, m, strlen(m), i,
					  0), 0);
	}
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "big" : "small";
		assert_int_equal(pkv_stats(db, &a), 0);
		for (unsigned i = 0; i < 1000; i++) {
			sprintf(m, "new-%u", i);
			assert_int_equal(pkv_zadd(db, 0, key, strlen(key), m,
						  strlen(m), 12345.5, 0), 0);
			assert_int_equal(pkv_zrem(db, 0, key, strlen(key), m,
						  strlen(m)), 0);
		}
		assert_int_equal(pkv_stats(db, &c), 0);
		print_message("      ZADD+ZREM in a set of %s: %.2f fences, "
			      "%.0f flushed bytes\n", k ? "20000" : "10",
			      (double)(c.fences - a.fences) / 1000,
			      (double)(c.flushed_bytes - a.flushed_bytes) /
			      1000);
	}
	assert_int_equal(pkv_stats(db, &s1), 0);
	assert_true(s1.allocated_bytes > s0.allocated_bytes + 20000ull * 64);
	assert_int_equal(pkv_del(db, 0, "big", 3), 0);
	assert_int_equal(pkv_del(db, 0, "small", 5), 0);
	assert_int_equal(pkv_gc(db), 0);
	assert_int_equal(pkv_stats(db, &s2), 0);
	print_message("      allocated %" PRIu64 " -> %" PRIu64 " -> %" PRIu64
		      "\n", s0.allocated_bytes, s1.allocated_bytes,
		      s2.allocated_bytes);
	assert_true(s2.allocated_bytes < s0.allocated_bytes + 4096);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_zset_model),
		T(test_zset_lex_edges),
		T(test_zset_reclaimed_cost),
	};

	if (getenv("PKV_TEST_FILTER"))
		cmocka_set_test_filter(getenv("PKV_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
