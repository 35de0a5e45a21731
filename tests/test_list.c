/*
 * test_list.c -- unit tests of the list type (type_list.c and its calls
 * in pkv.h): a deterministic mix of every write (push and pop at both
 * ends, set, insert, remove, trim) checked against a model and across
 * reopens; missing keys, WRONGTYPE, PKV_XX, out-of-range indexes; batches
 * that read their own list writes and roll them back, copy and rename;
 * the blocks of a trimmed or deleted list reclaimed; and the cost of a
 * push and a pop at the end of a short and a long list.
 *
 * list_check walks a list through the internal layout: block types,
 * prev and next in agreement, head and tail, the count, the checksums.
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

#include "pkv.h"
#include "kv_int.h"

#define KVFIX_NAME "test_list"
#include "kvfixture.h"


/* ---- a model: the list as the test believes it is ---- */

#define MODEL_MAX 4096

struct model {
	char *v[MODEL_MAX];
	size_t n;
};

static void model_insert(struct model *m, size_t at, const char *s)
{
	assert_true(m->n < MODEL_MAX);
	memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof(char *));
	m->v[at] = strdup(s);
	m->n++;
}

static void model_remove(struct model *m, size_t at)
{
	free(m->v[at]);
	memmove(&m->v[at], &m->v[at + 1], (m->n - at - 1) * sizeof(char *));
	m->n--;
}

static void model_free(struct model *m)
{
	while (m->n)
		model_remove(m, m->n - 1);
}

/* list_check -- walk key's list (internal layout): every block of the
 * right type, prev and next agree, head and tail are the ends, count =
 * elements, every checksum right. */
static void list_check(pkv *db, const char *key, uint64_t want)
{
	uint64_t e = 0, loff, seen = 0, prev = 0;
	uint32_t type;
	const struct kv_list_hdr *H;
	int r = table_lookup(db, 0, kv_hash(db, key, strlen(key)), key,
			     strlen(key), &e);

	if (want == 0) {
		assert_int_equal(r, 0);
		return;
	}
	assert_int_equal(r, 1);
	loff = list_of_entry(db, kv_ptr(db, e));
	assert_true(loff != 0);
	assert_true(heap_block_valid(db->heap, loff, NULL, &type));
	assert_int_equal(type, KV_TYPE_LIST);
	H = kv_ptr(db, loff);
	for (uint64_t x = H->head; x; x = ((struct kv_list_elem *)
					   kv_ptr(db, x))->next) {
		const struct kv_list_elem *E = kv_ptr(db, x);
		const char *p;
		size_t len;
		assert_true(heap_block_valid(db->heap, x, NULL, &type));
		assert_int_equal(type, KV_TYPE_LELEM);
		assert_int_equal(E->prev, prev);
		assert_int_equal(list_value(db, loff, x, &p, &len), 0);
		prev = x;
		seen++;
		assert_true(seen <= want);
	}
	assert_int_equal(H->tail, prev);
	assert_int_equal(H->count, want);
	assert_int_equal(seen, want);
}

/* What pkv_lrange visits. */
struct got {
	struct model m;
};

static int collect(void *ctx, const struct pkv_item *it)
{
	struct got *g = ctx;
	char buf[256];

	assert_null(it->key);
	assert_true(it->vlen < sizeof(buf));
	memcpy(buf, it->val, it->vlen);
	buf[it->vlen] = '\0';
	model_insert(&g->m, g->m.n, buf);
	return 0;
}

/* expect -- the list key holds exactly what the model does, read by
 * range (both ways), by index and by length. */
static void expect(pkv *db, const char *key, const struct model *m)
{
	struct got g = { { { 0 }, 0 } };
	uint64_t n = 99;
	char buf[256];
	size_t len;

	assert_int_equal(pkv_llen(db, 0, key, strlen(key), &n), 0);
	assert_int_equal(n, m->n);
	assert_int_equal(pkv_lrange(db, 0, key, strlen(key), 0, -1, 0,
				    collect, &g), 0);
	assert_int_equal(g.m.n, m->n);
	for (size_t i = 0; i < m->n; i++)
		assert_string_equal(g.m.v[i], m->v[i]);
	model_free(&g.m);
	assert_int_equal(pkv_lrange(db, 0, key, strlen(key), 0, -1, PKV_TAIL,
				    collect, &g), 0);
	for (size_t i = 0; i < m->n; i++)
		assert_string_equal(g.m.v[i], m->v[m->n - 1 - i]);
	model_free(&g.m);
	for (size_t i = 0; i < m->n; i += 1 + m->n / 7) {
		assert_int_equal(pkv_lindex(db, 0, key, strlen(key),
					    (int64_t)i, buf, sizeof(buf),
					    &len), 0);
		assert_int_equal(len, strlen(m->v[i]));
		assert_memory_equal(buf, m->v[i], len);
		assert_int_equal(pkv_lindex(db, 0, key, strlen(key),
					    (int64_t)i - (int64_t)m->n, buf,
					    sizeof(buf), &len), 0);
		assert_memory_equal(buf, m->v[i], len);
	}
	assert_int_equal(pkv_lindex(db, 0, key, strlen(key), (int64_t)m->n,
				    buf, sizeof(buf), &len), PKV_ENOTFOUND);
	list_check(db, key, m->n);
}

/* A deterministic sequence (no seed from the clock). */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Every write call against the model, in a deterministic mix, the list
 * checked now and then and after a reopen. */
static void test_list_model(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	struct model m = { { 0 }, 0 };
	const char *key = "l";
	char val[64], buf[256];
	unsigned serial = 0;

	for (unsigned step = 0; step < 6000; step++) {
		unsigned what = (unsigned)(rnd() % 100);
		uint64_t n = 0;
		size_t len;
		int r;
		sprintf(val, "v%u-%u", serial++, (unsigned)(rnd() % 5));
		if (what < 30 || m.n == 0) {
			bool tail = rnd() & 1;
			assert_int_equal(pkv_lpush(db, 0, key, 1, val,
						   strlen(val),
						   tail ? PKV_TAIL : 0, &n), 0);
			model_insert(&m, tail ? m.n : 0, val);
			assert_int_equal(n, m.n);
		} else if (what < 55) {
			bool tail = rnd() & 1;
			size_t at = tail ? m.n - 1 : 0;
			assert_int_equal(pkv_lpop(db, 0, key, 1,
						  tail ? PKV_TAIL : 0, buf,
						  sizeof(buf), &len), 0);
			assert_int_equal(len, strlen(m.v[at]));
			assert_memory_equal(buf, m.v[at], len);
			model_remove(&m, at);
		} else {
			pkv_batch *b;
			size_t at = (size_t)(rnd() % m.n);
			assert_int_equal(pkv_batch_begin(db, &b), 0);
			if (what < 65) {
				assert_int_equal(pkv_batch_lset(b, 0, key, 1,
						 (int64_t)at, val,
						 strlen(val)), 0);
				free(m.v[at]);
				m.v[at] = strdup(val);
			} else if (what < 75) {
				bool after = rnd() & 1;
				const char *piv = m.v[at];
				size_t first = 0;
				while (strcmp(m.v[first], piv))
					first++;
				assert_int_equal(pkv_batch_linsert(b, 0, key,
						 1, after ? PKV_AFTER : 0, piv,
						 strlen(piv), val, strlen(val),
						 &n), 0);
				model_insert(&m, first + after, val);
				assert_int_equal(n, m.n);
			} else if (what < 85) {
				/* remove elements whose value ends -k */
				const char *pat = m.v[at];
				int64_t count = (int64_t)(rnd() % 5) - 2;
				uint64_t want = 0, got = 0;
				char copy[64];
				strcpy(copy, pat);
				if (count >= 0) {
					for (size_t i = 0; i < m.n &&
					     (count == 0 || want < (uint64_t)count);)
						if (!strcmp(m.v[i], copy)) {
							model_remove(&m, i);
							want++;
						} else {
							i++;
						}
				} else {
					for (size_t i = m.n; i-- > 0 &&
					     want < (uint64_t)-count;)
						if (!strcmp(m.v[i], copy)) {
							model_remove(&m, i);
							want++;
						}
				}
				assert_int_equal(pkv_batch_lrem(b, 0, key, 1,
						 count, copy, strlen(copy),
						 &got), 0);
				assert_int_equal(got, want);
			} else {
				int64_t start = (int64_t)(rnd() % 8) - 2;
				int64_t stop = (int64_t)m.n - 1 -
					       (int64_t)(rnd() % 8);
				if (rnd() % 4 == 0)
					stop = -1 - (int64_t)(rnd() % 3);
				assert_int_equal(pkv_batch_ltrim(b, 0, key, 1,
						 start, stop), 0);
				int64_t s = start < 0 ? start + (int64_t)m.n
						      : start;
				int64_t e = stop < 0 ? stop + (int64_t)m.n
						     : stop;
				if (s < 0)
					s = 0;
				if (s > e || s >= (int64_t)m.n) {
					model_free(&m);
				} else {
					if (e >= (int64_t)m.n)
						e = (int64_t)m.n - 1;
					while ((int64_t)m.n > e + 1)
						model_remove(&m, m.n - 1);
					for (int64_t i = 0; i < s; i++)
						model_remove(&m, 0);
				}
			}
			r = pkv_batch_commit(b, NULL);
			assert_int_equal(r, 0);
		}
		if (step % 500 == 0)
			expect(db, key, &m);
		if (step % 1500 == 1499) {
			db = reopen(f);
			expect(db, key, &m);
		}
	}
	expect(db, key, &m);
	model_free(&m);
}

/* Missing keys, WRONGTYPE both ways, PKV_XX, LSET out of range, the key
 * gone with its last element, errors that leave the batch usable. */
static void test_list_edges(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	pkv_batch *b;
	uint64_t n = 99;
	char buf[16];
	size_t len;
	unsigned type;

	assert_int_equal(pkv_llen(db, 0, "x", 1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pkv_lpop(db, 0, "x", 1, 0, buf, sizeof(buf), &len),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_lpush(db, 0, "x", 1, "a", 1, PKV_XX, &n),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_exists(db, 0, "x", 1), PKV_ENOTFOUND);
	assert_int_equal(pkv_ltrim(db, 0, "x", 1, 0, -1), PKV_ENOTFOUND);
	assert_int_equal(pkv_lpush(db, 0, "x", 1, "a", 1, 0, &n), 0);
	assert_int_equal(pkv_type(db, 0, "x", 1, &type), 0);
	assert_int_equal(type, PKV_TYPE_LIST);
	assert_int_equal(pkv_get(db, 0, "x", 1, buf, sizeof(buf), &len),
			 PKV_EWRONGTYPE);
	assert_int_equal(pkv_hset(db, 0, "x", 1, "f", 1, "v", 1, 0),
			 PKV_EWRONGTYPE);
	assert_int_equal(pkv_put(db, 0, "s", 1, "v", 1, 0, 0), 0);
	assert_int_equal(pkv_lpush(db, 0, "s", 1, "a", 1, 0, &n),
			 PKV_EWRONGTYPE);
	assert_int_equal(pkv_llen(db, 0, "s", 1, &n), PKV_EWRONGTYPE);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_lset(b, 0, "x", 1, 1, "b", 1), PKV_ERANGE);
	assert_int_equal(pkv_batch_lset(b, 0, "y", 1, 0, "b", 1),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_linsert(b, 0, "x", 1, 0, "zz", 2, "b", 1,
					   &n), PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_lset(b, 0, "x", 1, -1, "b", 1), 0);
	assert_int_equal(pkv_batch_lpush(b, 0, "x", 1, "c", 1, PKV_TAIL, &n),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(pkv_batch_failed(b), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	assert_int_equal(pkv_lpop(db, 0, "x", 1, PKV_TAIL, buf, sizeof(buf),
				  &len), 0);
	assert_memory_equal(buf, "c", 1);
	assert_int_equal(pkv_lpop(db, 0, "x", 1, 0, buf, sizeof(buf), &len),
			 0);
	assert_memory_equal(buf, "b", 1);
	assert_int_equal(pkv_exists(db, 0, "x", 1), PKV_ENOTFOUND);
	list_check(db, "x", 0);
	/* an expired list is no list: a push makes a new one */
	assert_int_equal(pkv_lpush(db, 0, "x", 1, "a", 1, 0, &n), 0);
	assert_int_equal(pkv_expire(db, 0, "x", 1, 1), 0);
	assert_int_equal(pkv_lpush(db, 0, "x", 1, "b", 1, 0, &n), 0);
	assert_int_equal(n, 1);
}

/* A batch reads its own list writes; a rollback takes them back. */
static void test_list_batch(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	struct pkv_savepoint sp;
	struct pkv_ref ref;
	pkv_batch *b;
	uint64_t n;

	assert_int_equal(pkv_lpush(db, 0, "q", 1, "one", 3, 0, &n), 0);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	pkv_batch_savepoint(b, &sp);
	assert_int_equal(pkv_batch_lpush(b, 0, "q", 1, "two", 3, 0, &n), 0);
	assert_int_equal(pkv_batch_lindex_ref(b, 0, "q", 1, 0, &ref), 0);
	assert_int_equal(ref.vlen, 3);
	assert_memory_equal(ref.val, "two", 3);
	assert_int_equal(pkv_batch_lpop(b, 0, "q", 1, PKV_TAIL, &ref), 0);
	assert_memory_equal(ref.val, "one", 3);
	/* the popped element stays readable while the batch lives */
	assert_int_equal(pkv_batch_lpush(b, 0, "r", 1, ref.val, ref.vlen, 0,
					 &n), 0);
	assert_memory_equal(ref.val, "one", 3);
	pkv_batch_rollback(b, &sp);
	assert_int_equal(pkv_batch_llen(b, 0, "q", 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pkv_batch_llen(b, 0, "r", 1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pkv_batch_lpop(b, 0, "q", 1, 0, &ref), 0);
	assert_int_equal(pkv_batch_lpush(b, 0, "r", 1, ref.val, ref.vlen,
					 PKV_TAIL, &n), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	assert_int_equal(pkv_exists(db, 0, "q", 1), PKV_ENOTFOUND);
	db = reopen(f);
	list_check(db, "r", 1);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_copy(b, 0, "r", 1, 0, "r2", 2, 0), 0);
	assert_int_equal(pkv_batch_rename(b, 0, "r", 1, 0, "r3", 2, 0), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	list_check(db, "r2", 1);
	list_check(db, "r3", 1);
	list_check(db, "r", 0);
}

/* A long list trimmed, deleted or overwritten gives its blocks back
 * (the collector takes what is cut off). */
static void test_list_reclaimed(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	struct pkv_stats s0, s1, s2;
	char v[32];

	assert_int_equal(pkv_gc(db), 0);
	assert_int_equal(pkv_stats(db, &s0), 0);
	for (int way = 0; way < 3; way++) {
		for (unsigned i = 0; i < 20000; i++) {
			sprintf(v, "element-%u", i);
			assert_int_equal(pkv_lpush(db, 0, "l", 1, v, strlen(v),
						   PKV_TAIL, NULL), 0);
		}
		assert_int_equal(pkv_stats(db, &s1), 0);
		assert_true(s1.allocated_bytes > s0.allocated_bytes +
			    20000ull * 32);
		if (way == 0)
			assert_int_equal(pkv_ltrim(db, 0, "l", 1, 100, 102), 0);
		else if (way == 1)
			assert_int_equal(pkv_del(db, 0, "l", 1), 0);
		else
			assert_int_equal(pkv_put(db, 0, "l", 1, "s", 1, 0, 0),
					 0);
		assert_int_equal(pkv_gc(db), 0);
		assert_int_equal(pkv_stats(db, &s2), 0);
		print_message("      way %d: allocated %" PRIu64 " -> %" PRIu64
			      " -> %" PRIu64 "\n", way, s0.allocated_bytes,
			      s1.allocated_bytes, s2.allocated_bytes);
		assert_true(s2.allocated_bytes < s0.allocated_bytes + 4096);
		if (way == 0) {
			list_check(db, "l", 3);
			assert_int_equal(pkv_lindex(db, 0, "l", 1, 0, v,
						    sizeof(v), NULL), 0);
			assert_memory_equal(v, "element-100", 11);
		}
		pkv_del(db, 0, "l", 1);
		assert_int_equal(pkv_gc(db), 0);
	}
}

/* A push and a pop cost the same fences and flushed bytes at the end of
 * a list of 200,000 elements as of 10 (the measure, for lists). */
static void push_pop_cost(pkv *db, const char *key, unsigned n,
			  double *fences, double *bytes)
{
	struct pkv_stats a, b;
	char buf[64];

	assert_int_equal(pkv_stats(db, &a), 0);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(pkv_lpush(db, 0, key, strlen(key), "payload",
					   7, i & 1 ? PKV_TAIL : 0, NULL), 0);
		assert_int_equal(pkv_lpop(db, 0, key, strlen(key),
					  i & 2 ? PKV_TAIL : 0, buf,
					  sizeof(buf), NULL), 0);
	}
	assert_int_equal(pkv_stats(db, &b), 0);
	*fences = (double)(b.fences - a.fences) / n;
	*bytes = (double)(b.flushed_bytes - a.flushed_bytes) / n;
}

static void test_list_cost(void **state)
{
	struct fixture *f = *state;
	const unsigned BIG = 200000, N = 2000;
	double fs, bs, fb, bb;
	pkv *db;

	f->opts.flags |= PKV_NOTHREADS;   /* as test_hash_cost */
	db = open_db(f);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(pkv_lpush(db, 0, "small", 5, "x", 1, 0, NULL),
				 0);
	for (unsigned i = 0; i < BIG; i++)
		assert_int_equal(pkv_lpush(db, 0, "big", 3, "x", 1, 0, NULL),
				 0);
	push_pop_cost(db, "small", N, &fs, &bs);
	push_pop_cost(db, "big", N, &fb, &bb);
	print_message("      push+pop on a list of 10: %.2f fences, %.0f "
		      "flushed bytes; of %u: %.2f, %.0f\n", fs, bs, BIG, fb,
		      bb);
	assert_true(fb <= fs + 0.01);
	assert_true(bb <= bs * 1.10 + 64);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_list_model),
		T(test_list_edges),
		T(test_list_batch),
		T(test_list_reclaimed),
		T(test_list_cost),
	};

	if (getenv("PKV_TEST_FILTER"))
		cmocka_set_test_filter(getenv("PKV_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
