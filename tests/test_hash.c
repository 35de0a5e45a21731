/*
 * test_hash.c -- unit tests of the hash type (type_hash.c and its calls
 * in pkv.h): fields set, replaced, read and deleted, the key's life with
 * its fields, WRONGTYPE both ways, a hash of many fields (its bucket
 * splits into segments and directories) read back, scanned and reopened,
 * batches that read their own field writes and roll them back, rename and
 * copy of a hash, its blocks reclaimed after the key goes, and the cost
 * of a write in a small and a big hash, and of a new hash; a hash drained
 * to a few fields (buckets given back, scans and random draws while it
 * shrinks); and sets, the same table under a type of their own.
 *
 * Every test compares against what it wrote, never the library's own
 * account; hash_check walks a hash through the internal layout and checks
 * its invariants: every field in the bucket its hash names, every block of
 * the right type, the count equal to the walk.
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

#define KVFIX_NAME "test_hash"
#include "kvfixture.h"

/* The field and value of number i, version v. */
static size_t fname(char *buf, unsigned i)
{
	return (size_t)sprintf(buf, "field:%u", i);
}

static size_t fval(char *buf, unsigned i, unsigned v)
{
	size_t n = (size_t)sprintf(buf, "v%u-%u-", v, i);

	for (unsigned k = 0; k < i % 40; k++)
		buf[n++] = (char)('a' + (i + k) % 26);
	return n;
}

static void hset_ok(pkv *db, const char *key, unsigned i, unsigned v,
		    int want)
{
	char f[32], val[96];
	size_t fl = fname(f, i), vl = fval(val, i, v);

	assert_int_equal(pkv_hset(db, 0, key, strlen(key), f, fl, val, vl, 0),
			 want);
}

/* expect_field -- field i has version v (-1: absent). */
static void expect_field(pkv *db, const char *key, unsigned i, int v)
{
	char f[32], want[96], got[96];
	size_t fl = fname(f, i), wl, gl = 0;
	int rc = pkv_hget(db, 0, key, strlen(key), f, fl, got, sizeof(got),
			  &gl);

	if (v < 0) {
		assert_int_equal(rc, PKV_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, 0);
	wl = fval(want, i, (unsigned)v);
	assert_int_equal(gl, wl);
	assert_memory_equal(got, want, wl);
}

static uint64_t hlen(pkv *db, const char *key)
{
	uint64_t n = 99;

	assert_int_equal(pkv_hlen(db, 0, key, strlen(key), &n), 0);
	return n;
}

/* array_words -- the words of a hash's array block (they grow). */
static uint64_t array_words(pkv *db, uint64_t off)
{
	uint64_t size = 0;

	assert_true(heap_block_valid(db->heap, off, &size, NULL));
	return size / 8;
}

/* hash_check -- walk key's hash (internal layout) and check it: each
 * field in its bucket, blocks of the right types, count = fields.  Its
 * bucket count. */
static uint64_t hash_check(pkv *db, const char *key)
{
	uint64_t e = 0, hoff, n, seen = 0, size;
	uint32_t type;
	const struct kv_hash_hdr *H;
	int r = table_lookup(db, 0, kv_hash(db, key, strlen(key)), key,
			     strlen(key), &e);

	assert_int_equal(r, 1);
	hoff = hash_of_entry(db, kv_ptr(db, e));
	assert_true(hoff != 0);
	assert_true(heap_block_valid(db->heap, hoff, &size, &type));
	assert_int_equal(type, KV_TYPE_HASH);
	H = kv_ptr(db, hoff);
	n = H->nbuckets;
	assert_true(n >= HASH_INLINE_BUCKETS && n <= HASH_MAX_BUCKETS);
	for (uint64_t b = 0; b < n; b++) {
		uint64_t head;
		if (b < HASH_INLINE_BUCKETS) {
			head = H->head[b];
		} else {
			uint64_t i = b - HASH_INLINE_BUCKETS;
			uint64_t s = i / HASH_SEG_BUCKETS;
			const uint64_t *dirs, *dir, *seg;
			assert_true(heap_block_valid(db->heap, H->dirs, NULL,
						     &type));
			assert_int_equal(type, KV_TYPE_HDIRS);
			dirs = kv_ptr(db, H->dirs);
			assert_true(s / HASH_DIR_SEGS <
				    array_words(db, H->dirs));
			assert_true(heap_block_valid(db->heap,
				    dirs[s / HASH_DIR_SEGS], NULL, &type));
			assert_int_equal(type, KV_TYPE_HDIR);
			dir = kv_ptr(db, dirs[s / HASH_DIR_SEGS]);
			assert_true(s % HASH_DIR_SEGS <
				    array_words(db, dirs[s / HASH_DIR_SEGS]));
			assert_true(heap_block_valid(db->heap,
				    dir[s % HASH_DIR_SEGS], NULL, &type));
			assert_int_equal(type, KV_TYPE_HSEG);
			seg = kv_ptr(db, dir[s % HASH_DIR_SEGS]);
			assert_true(i % HASH_SEG_BUCKETS <
				    array_words(db, dir[s % HASH_DIR_SEGS]));
			head = seg[i % HASH_SEG_BUCKETS];
		}
		for (uint64_t f = head; f; ) {
			const struct kv_entry *F = kv_ptr(db, f);
			uint64_t lo = 1ull << (63 - __builtin_clzll(n));
			uint64_t want = F->hash & (lo - 1);
			if (want < n - lo)
				want = F->hash & (2 * lo - 1);
			assert_true(heap_block_valid(db->heap, f, NULL,
						     &type));
			assert_int_equal(type, KV_TYPE_FIELD);
			assert_int_equal(want, b);
			assert_int_equal(F->hash, kv_hash(db, kv_entry_key(F),
							  F->klen));
			assert_int_equal(F->csum, kv_entry_csum(F));
			seen++;
			f = F->next;
		}
	}
	assert_int_equal(seen, H->count);
	return n;
}

static void test_hash_basic(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	char buf[16];
	size_t len;
	unsigned type = 99;
	int64_t exp;

	assert_int_equal(hlen(db, "h"), 0);
	expect_field(db, "h", 1, -1);
	hset_ok(db, "h", 1, 1, 0);
	hset_ok(db, "h", 2, 1, 0);
	hset_ok(db, "h", 1, 2, PKV_EEXIST);     /* replaced */
	expect_field(db, "h", 1, 2);
	assert_int_equal(pkv_hset(db, 0, "h", 1, "field:2", 7, "x", 1,
				  PKV_NX), PKV_EEXIST);
	expect_field(db, "h", 2, 1);           /* NX left it */
	assert_int_equal(pkv_hset(db, 0, "h", 1, "", 0, "", 0, PKV_NX), 0);
	assert_int_equal(pkv_hget(db, 0, "h", 1, "", 0, buf, sizeof(buf),
				  &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(hlen(db, "h"), 3);
	assert_int_equal(pkv_type(db, 0, "h", 1, &type), 0);
	assert_int_equal(type, PKV_TYPE_HASH);
	assert_int_equal(pkv_exists(db, 0, "h", 1), 0);

	/* WRONGTYPE both ways; a key's string calls on a hash */
	assert_int_equal(pkv_get(db, 0, "h", 1, buf, sizeof(buf), &len),
			 PKV_EWRONGTYPE);
	assert_int_equal(pkv_put(db, 0, "s", 1, "str", 3, 0, 0), 0);
	assert_int_equal(pkv_hset(db, 0, "s", 1, "f", 1, "v", 1, 0),
			 PKV_EWRONGTYPE);
	assert_int_equal(pkv_hget(db, 0, "s", 1, "f", 1, NULL, 0, NULL),
			 PKV_EWRONGTYPE);
	assert_int_equal(pkv_hdel(db, 0, "s", 1, "f", 1), PKV_EWRONGTYPE);
	assert_int_equal(pkv_hlen(db, 0, "s", 1, NULL), PKV_EWRONGTYPE);
	assert_int_equal(pkv_hset(db, 0, "h", 1, "f", 1, "v", 1, 0x80),
			 PKV_EINVAL);

	/* deletes; the key goes with its last field */
	assert_int_equal(pkv_hdel(db, 0, "h", 1, "nope", 4), PKV_ENOTFOUND);
	assert_int_equal(pkv_hdel(db, 0, "none", 4, "f", 1), PKV_ENOTFOUND);
	assert_int_equal(pkv_hdel(db, 0, "h", 1, "field:1", 7), 0);
	assert_int_equal(pkv_hdel(db, 0, "h", 1, "field:1", 7), PKV_ENOTFOUND);
	assert_int_equal(pkv_hdel(db, 0, "h", 1, "", 0), 0);
	assert_int_equal(hlen(db, "h"), 1);
	hash_check(db, "h");
	assert_int_equal(pkv_hdel(db, 0, "h", 1, "field:2", 7), 0);
	assert_int_equal(pkv_exists(db, 0, "h", 1), PKV_ENOTFOUND);
	assert_int_equal(hlen(db, "h"), 0);

	/* expiry applies to the whole hash; a SET replaces it */
	hset_ok(db, "h", 7, 1, 0);
	assert_int_equal(pkv_expire(db, 0, "h", 1, pkv_now_ms() + 100000), 0);
	assert_int_equal(pkv_ttl(db, 0, "h", 1, &exp), 0);
	assert_true(exp > pkv_now_ms());
	expect_field(db, "h", 7, 1);
	assert_int_equal(pkv_expire(db, 0, "h", 1, 1), 0);   /* past */
	assert_int_equal(hlen(db, "h"), 0);
	hset_ok(db, "h", 7, 2, 0);
	assert_int_equal(pkv_put(db, 0, "h", 1, "str", 3, 0, 0), 0);
	assert_int_equal(pkv_get(db, 0, "h", 1, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);

	/* survives a reopen */
	hset_ok(db, "h2", 3, 5, 0);
	db = reopen(f);
	expect_field(db, "h2", 3, 5);
	hash_check(db, "h2");
}

/* While scanning: how often each field number was seen. */
struct seen {
	unsigned *count;
	unsigned n;
};

static int seen_fn(void *ctx, const struct pkv_item *it)
{
	struct seen *s = ctx;
	unsigned i;

	assert_true(it->klen > 6 && memcmp(it->key, "field:", 6) == 0);
	i = (unsigned)strtoul((const char *)it->key + 6, NULL, 10);
	assert_true(i < s->n);
	s->count[i]++;
	return 0;
}

static void scan_all(pkv *db, const char *key, struct seen *s)
{
	uint64_t cur = 0;

	memset(s->count, 0, s->n * sizeof(*s->count));
	do {
		assert_int_equal(pkv_hscan(db, 0, key, strlen(key), cur, 100,
					   seen_fn, s, &cur), 0);
	} while (cur);
}

static void test_hash_many(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	const unsigned N = 150000;   /* buckets past the first directory */
	struct seen s = { calloc(N, sizeof(unsigned)), N };

	for (unsigned i = 0; i < N; i++)
		hset_ok(db, "big", i, 1, 0);
	assert_int_equal(hlen(db, "big"), N);
	hash_check(db, "big");
	for (unsigned i = 0; i < N; i += 7)
		expect_field(db, "big", i, 1);
	scan_all(db, "big", &s);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(s.count[i], 1);
	/* delete the odd ones, rewrite every third */
	for (unsigned i = 1; i < N; i += 2) {
		char fl[32];
		assert_int_equal(pkv_hdel(db, 0, "big", 3, fl, fname(fl, i)),
				 0);
	}
	for (unsigned i = 0; i < N; i += 6)
		hset_ok(db, "big", i, 2, PKV_EEXIST);
	assert_int_equal(hlen(db, "big"), N / 2);
	db = reopen(f);
	hash_check(db, "big");
	for (unsigned i = 0; i < N; i += 3)
		expect_field(db, "big", i, i % 2 ? -1 : i % 6 ? 1 : 2);
	scan_all(db, "big", &s);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(s.count[i], i % 2 ? 0u : 1u);
	free(s.count);
}

/* hash_arrays -- key's hash's segments to *segs and the words of all its
 * arrays (directory block, directories, segments) to *words (internal
 * layout); its bucket count. */
static uint64_t hash_arrays(pkv *db, const char *key, uint64_t *segs,
			    uint64_t *words)
{
	uint64_t e = 0, hoff;
	const struct kv_hash_hdr *H;

	assert_int_equal(table_lookup(db, 0, kv_hash(db, key, strlen(key)),
				      key, strlen(key), &e), 1);
	hoff = hash_of_entry(db, kv_ptr(db, e));
	H = kv_ptr(db, hoff);
	*segs = *words = 0;
	if (H->dirs) {
		const uint64_t *dirs = kv_ptr(db, H->dirs);
		uint64_t nd = array_words(db, H->dirs);
		*words += nd;
		for (uint64_t d = 0; d < nd; d++) {
			const uint64_t *dir;
			uint64_t ns;
			if (!dirs[d])
				continue;
			dir = kv_ptr(db, dirs[d]);
			ns = array_words(db, dirs[d]);
			*words += ns;
			for (uint64_t i = 0; i < ns; i++)
				if (dir[i]) {
					++*segs;
					*words += array_words(db, dir[i]);
				}
		}
	}
	return H->nbuckets;
}

/* segments -- the segments key's hash holds. */
static uint64_t segments(pkv *db, const char *key)
{
	uint64_t segs, words;

	hash_arrays(db, key, &segs, &words);
	return segs;
}

/* deleting_scan -- a scan of key that, before each step, deletes the
 * next `per_step` fields of those not kept (i % keep != 0), counting
 * what it sees; returns the fields deleted. */
static unsigned deleting_scan(pkv *db, const char *key, struct seen *s,
			      unsigned keep, unsigned per_step)
{
	uint64_t cur = 0;
	unsigned next_del = 0, deleted = 0;

	memset(s->count, 0, s->n * sizeof(*s->count));
	do {
		for (unsigned k = 0; k < per_step && next_del < s->n;
		     next_del++) {
			char fl[32];
			if (next_del % keep == 0)
				continue;
			assert_int_equal(pkv_hdel(db, 0, key, strlen(key), fl,
						  fname(fl, next_del)), 0);
			deleted++;
			k++;
		}
		assert_int_equal(pkv_hscan(db, 0, key, strlen(key), cur, 50,
					   seen_fn, s, &cur), 0);
	} while (cur);
	return deleted;
}

/* A hash drained from many fields to a few merges its buckets back (its
 * segments freed), so it is as small as a hash that only ever held those;
 * a scan running while it shrinks still sees every field present for the
 * whole scan; it grows again afterwards. */
static void test_hash_shrink(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	const unsigned N = 40000, KEEP = 1000;
	struct seen s = { calloc(N, sizeof(unsigned)), N };
	uint64_t n;
	unsigned deleted;

	for (unsigned i = 0; i < N; i++)
		hset_ok(db, "h", i, 1, 0);
	n = hash_check(db, "h");
	assert_true(n >= N / 2);
	deleted = deleting_scan(db, "h", &s, KEEP, 200);
	assert_int_equal(hlen(db, "h"), N - deleted);
	for (unsigned i = 0; i < N; i += KEEP)
		assert_true(s.count[i] >= 1);
	/* what the scan did not reach in time goes now */
	for (unsigned i = 0; i < N; i++) {
		char fl[32];
		if (i % KEEP)
			pkv_hdel(db, 0, "h", 1, fl, fname(fl, i));
	}
	assert_int_equal(hlen(db, "h"), N / KEEP);
	n = hash_check(db, "h");
	print_message("      %u fields: %" PRIu64 " buckets after draining "
		      "to %u\n", N, n, N / KEEP);
	assert_true(n <= 4 * (N / KEEP) + 8);
	db = reopen(f);
	assert_int_equal(hash_check(db, "h"), n);
	for (unsigned i = 0; i < N; i++)
		expect_field(db, "h", i, i % KEEP ? -1 : 1);
	scan_all(db, "h", &s);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(s.count[i], i % KEEP ? 0u : 1u);
	/* a random field is one of those left, with its value; all of them
	 * come up (2,000 draws of 40) */
	{
		unsigned hit[40] = { 0 };
		struct pkv_item it;
		pkv_batch *b;
		assert_int_equal(pkv_batch_begin(db, &b), 0);
		for (uint64_t r = 0; r < 2000; r++) {
			char want[96];
			unsigned i;
			assert_int_equal(pkv_batch_hrandfield_ref(b, 0, "h", 1,
					 r * 0x9e3779b97f4a7c15ull, &it), 0);
			assert_true(sscanf(it.key, "field:%u", &i) == 1);
			assert_true(i < N && i % KEEP == 0);
			assert_int_equal(it.vlen, fval(want, i, 1));
			assert_memory_equal(it.val, want, it.vlen);
			hit[i / KEEP]++;
		}
		assert_int_equal(pkv_batch_hrandfield_ref(b, 0, "x", 1, 1,
							  &it), PKV_ENOTFOUND);
		pkv_batch_abort(b);
		for (unsigned i = 0; i < N / KEEP; i++)
			assert_true(hit[i] > 0);
	}
	/* only the segments its buckets need are left */
	assert_int_equal(segments(db, "h"),
			 (n - HASH_INLINE_BUCKETS + HASH_SEG_BUCKETS - 1) /
			 HASH_SEG_BUCKETS);
	/* and it grows again over the freed segments */
	for (unsigned i = 0; i < N; i++)
		if (i % KEEP)
			hset_ok(db, "h", i, 2, 0);
	assert_true(hash_check(db, "h") >= N / 2);
	for (unsigned i = 0; i < N; i += 7)
		expect_field(db, "h", i, i % KEEP ? 2 : 1);
	free(s.count);
}

static int count_fn(void *ctx, const struct pkv_item *it)
{
	(void)it;
	++*(unsigned *)ctx;
	return 0;
}

static void test_hash_batch(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	struct pkv_savepoint sp;
	struct pkv_ref ref;
	pkv_batch *b;
	uint64_t n, cur;
	unsigned seen = 0;
	int res[8];

	hset_ok(db, "h", 0, 1, 0);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_hset(b, 0, "h", 1, "a", 1, "1", 1, 0), 0);
	assert_int_equal(pkv_batch_hset(b, 0, "h", 1, "a", 1, "2", 1, 0),
			 PKV_EEXIST);
	assert_int_equal(pkv_batch_hget_ref(b, 0, "h", 1, "a", 1, &ref), 0);
	assert_int_equal(ref.vlen, 1);
	assert_memory_equal(ref.val, "2", 1);
	pkv_batch_savepoint(b, &sp);
	assert_int_equal(pkv_batch_hset(b, 0, "h", 1, "b", 1, "3", 1, 0), 0);
	assert_int_equal(pkv_batch_hlen(b, 0, "h", 1, &n), 0);
	assert_int_equal(n, 3);
	pkv_batch_rollback(b, &sp);
	assert_int_equal(pkv_batch_hlen(b, 0, "h", 1, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pkv_batch_hget_ref(b, 0, "h", 1, "b", 1, &ref),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_hdel(b, 0, "h", 1, "field:0", 7), 0);
	assert_int_equal(pkv_batch_hset(b, 0, "new", 3, "x", 1, "y", 1, 0), 0);
	assert_int_equal(pkv_batch_hscan(b, 0, "new", 3, 0, 10, count_fn,
					 &seen, &cur), 0);
	assert_int_equal(seen, 1);
	/* nothing visible outside the batch before its commit */
	assert_int_equal(pkv_exists(db, 0, "new", 3), PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_commit(b, res), 0);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], PKV_EEXIST);
	assert_int_equal(hlen(db, "h"), 1);
	assert_int_equal(hlen(db, "new"), 1);
	expect_field(db, "h", 0, -1);

	/* an aborted batch leaves nothing */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_hset(b, 0, "gone", 4, "x", 1, "y", 1, 0),
			 0);
	pkv_batch_abort(b);
	assert_int_equal(pkv_exists(db, 0, "gone", 4), PKV_ENOTFOUND);
	hash_check(db, "h");
}

static void test_hash_rename_copy(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	pkv_batch *b;

	for (unsigned i = 0; i < 500; i++)
		hset_ok(db, "src", i, 1, 0);
	assert_int_equal(pkv_put(db, 0, "str", 3, "v", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_copy(b, 0, "src", 3, 0, "cp", 2, 0), 0);
	assert_int_equal(pkv_batch_copy(b, 0, "src", 3, 0, "cp", 2, PKV_NX),
			 PKV_EEXIST);
	assert_int_equal(pkv_batch_copy(b, 0, "src", 3, 0, "src", 3, 0),
			 PKV_EINVAL);
	pkv_batch_abort(b);

	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_copy(b, 0, "src", 3, 0, "cp", 2, 0), 0);
	assert_int_equal(pkv_batch_copy(b, 0, "str", 3, 1, "str", 3, 0), 0);
	assert_int_equal(pkv_batch_rename(b, 0, "src", 3, 0, "mv", 2, 0), 0);
	assert_int_equal(pkv_batch_rename(b, 0, "src", 3, 0, "mv", 2, 0),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_rename(b, 0, "mv", 2, 0, "mv", 2, 0), 0);
	assert_int_equal(pkv_batch_rename(b, 0, "cp", 2, 0, "mv", 2, PKV_NX),
			 PKV_EEXIST);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	assert_int_equal(pkv_exists(db, 0, "src", 3), PKV_ENOTFOUND);
	assert_int_equal(hlen(db, "mv"), 500);
	assert_int_equal(hlen(db, "cp"), 500);
	assert_int_equal(pkv_exists(db, 1, "str", 3), 0);
	/* the copy is its own hash */
	hset_ok(db, "cp", 3, 9, PKV_EEXIST);
	assert_int_equal(pkv_hdel(db, 0, "cp", 2, "field:4", 7), 0);
	expect_field(db, "mv", 3, 1);
	expect_field(db, "mv", 4, 1);
	expect_field(db, "cp", 3, 9);
	hash_check(db, "mv");
	hash_check(db, "cp");
	assert_int_equal(pkv_gc(db), 0);
	db = reopen(f);
	assert_int_equal(hlen(db, "mv"), 500);
	assert_int_equal(hlen(db, "cp"), 499);
	hash_check(db, "mv");
}

/* A hash's blocks come back after its key goes, whichever way. */
static void test_hash_reclaimed(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	struct pkv_stats s0, s1, s2;

	assert_int_equal(pkv_gc(db), 0);
	assert_int_equal(pkv_stats(db, &s0), 0);
	for (int way = 0; way < 3; way++) {
		for (unsigned i = 0; i < 20000; i++)
			hset_ok(db, "h", i, 1, 0);
		assert_int_equal(pkv_stats(db, &s1), 0);
		assert_true(s1.allocated_bytes > s0.allocated_bytes +
			    20000ull * 64);
		if (way == 0)
			assert_int_equal(pkv_del(db, 0, "h", 1), 0);
		else if (way == 1)
			assert_int_equal(pkv_put(db, 0, "h", 1, "s", 1, 0, 0),
					 0);
		else
			assert_int_equal(pkv_expire(db, 0, "h", 1, 1), 0);
		assert_int_equal(pkv_gc(db), 0);
		assert_int_equal(pkv_stats(db, &s2), 0);
		print_message("      way %d: allocated %" PRIu64 " -> %" PRIu64
			      " -> %" PRIu64 "\n", way, s0.allocated_bytes,
			      s1.allocated_bytes, s2.allocated_bytes);
		assert_true(s2.allocated_bytes < s0.allocated_bytes + 4096);
		pkv_del(db, 0, "h", 1);
	}
}

/* The cost of one HSET: no more fences nor flushed bytes in a hash of
 * many fields than in a hash of ten (the measure). */
static void hset_cost(pkv *db, const char *key, unsigned from,
		      unsigned n, double *fences, double *bytes)
{
	struct pkv_stats a, b;

	assert_int_equal(pkv_stats(db, &a), 0);
	for (unsigned i = from; i < from + n; i++) {
		hset_ok(db, key, i, 1, 0);
		char fl[32];
		assert_int_equal(pkv_hdel(db, 0, key, strlen(key), fl,
					  fname(fl, i)), 0);
	}
	assert_int_equal(pkv_stats(db, &b), 0);
	*fences = (double)(b.fences - a.fences) / n;
	*bytes = (double)(b.flushed_bytes - a.flushed_bytes) / n;
}

static void test_hash_cost(void **state)
{
	struct fixture *f = *state;
	pkv *db;
	const unsigned BIG = 200000, N = 2000;
	double fs, bs, fb, bb;

	/* No background thread: the checkpointer's timing would add fences
	 * to one run and not the other; inline checkpoints follow the log. */
	f->opts.flags |= PKV_NOTHREADS;
	db = open_db(f);

	for (unsigned i = 0; i < 10; i++)
		hset_ok(db, "small", i, 1, 0);
	for (unsigned i = 0; i < BIG; i++)
		hset_ok(db, "big", i, 1, 0);
	hset_cost(db, "small", 1000000, N, &fs, &bs);
	hset_cost(db, "big", 1000000, N, &fb, &bb);
	print_message("      HSET+HDEL into a hash of 10 fields: %.2f fences, "
		      "%.0f flushed bytes; of %u fields: %.2f, %.0f\n",
		      fs, bs, BIG, fb, bb);
	assert_true(fb <= fs + 0.01);
	assert_true(bb <= bs * 1.10 + 64);
}

/* A new hash (its first field) is one commit with one fence, as a put of
 * a new key is: the header travels in the record.  Both are measured
 * over the same number of new keys (table resizes and checkpoints
 * included), and the hash may not take more fences. */
static void test_hash_new_cost(void **state)
{
	struct fixture *f = *state;
	struct pkv_stats a, b, c;
	const unsigned N = 1000;
	char key[32];
	pkv *db;

	f->opts.flags |= PKV_NOTHREADS;   /* as test_hash_cost */
	db = open_db(f);

	assert_int_equal(pkv_stats(db, &a), 0);
	for (unsigned i = 0; i < N; i++) {
		sprintf(key, "str:%u", i);
		assert_int_equal(pkv_put(db, 0, key, strlen(key), "v", 1, 0,
					 0), 0);
	}
	assert_int_equal(pkv_stats(db, &b), 0);
	for (unsigned i = 0; i < N; i++) {
		sprintf(key, "new:%u", i);
		hset_ok(db, key, i, 1, 0);
	}
	assert_int_equal(pkv_stats(db, &c), 0);
	print_message("      a new string key: %.2f fences, %.0f flushed "
		      "bytes; a new hash: %.2f, %.0f\n",
		      (double)(b.fences - a.fences) / N,
		      (double)(b.flushed_bytes - a.flushed_bytes) / N,
		      (double)(c.fences - b.fences) / N,
		      (double)(c.flushed_bytes - b.flushed_bytes) / N);
	assert_true(c.fences - b.fences <= b.fences - a.fences + N / 20);
	db = reopen(f);
	for (unsigned i = 0; i < N; i += 37) {
		sprintf(key, "new:%u", i);
		expect_field(db, key, i, 1);
		hash_check(db, key);
	}
}

/* pow2_words -- the words an array made to hold `need` words has. */
static uint64_t pow2_words(uint64_t need)
{
	uint64_t w = HASH_ARRAY_MIN;

	while (w < need)
		w *= 2;
	return w;
}

/* A small table takes small arrays: a hash grown field by field (or in
 * one batch) holds exactly the words its buckets need, rounded up to a
 * power of two, and not the whole 4 KiB directory and 1 KiB segment the
 * first bucket past the inline ones used to take. */
static void test_hash_small_arrays(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	pkv_batch *b;
	char fl[32], val[96];
	uint64_t n, segs, words, want, last;

	for (unsigned i = 0; i < 700; i++) {
		hset_ok(db, "h", i, 1, 0);
		n = hash_arrays(db, "h", &segs, &words);
		if (n <= HASH_INLINE_BUCKETS) {
			assert_int_equal(words, 0);
			continue;
		}
		last = n - 1 - HASH_INLINE_BUCKETS;
		want = HASH_ARRAY_MIN +
		       pow2_words(last / HASH_SEG_BUCKETS + 1) +
		       last / HASH_SEG_BUCKETS * HASH_SEG_BUCKETS +
		       pow2_words(last % HASH_SEG_BUCKETS + 1);
		assert_int_equal(words, want);
	}
	/* a hash of ten fields: its header, a few small arrays, fields */
	for (unsigned i = 0; i < 10; i++)
		hset_ok(db, "ten", i, 1, 0);
	n = hash_arrays(db, "ten", &segs, &words);
	assert_true(n > HASH_INLINE_BUCKETS);
	assert_int_equal(words, 3 * HASH_ARRAY_MIN);
	/* grown inside one batch: arrays made and doubled by the same
	 * transaction, and read back through it */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	for (unsigned i = 0; i < 700; i++)
		assert_int_equal(pkv_batch_hset(b, 0, "bt", 2, fl, fname(fl, i),
						val, fval(val, i, 3), 0), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	hash_check(db, "bt");
	assert_int_equal(hlen(db, "bt"), 700);
	db = reopen(f);
	hash_check(db, "h");
	hash_check(db, "bt");
	assert_int_equal(hlen(db, "h"), 700);
	for (unsigned i = 0; i < 700; i += 13) {
		expect_field(db, "h", i, 1);
		expect_field(db, "bt", i, 3);
	}
}

/* Sets: the hash table with empty values under a key of its own type. */
static int count_member(void *ctx, const struct pkv_item *it)
{
	unsigned *seen = ctx, i;

	assert_int_equal(it->vlen, 0);
	assert_true(sscanf(it->key, "m%u", &i) == 1 && i < 3000);
	seen[i]++;
	return 0;
}

/* field_text -- field's value as pkv_hget reads it equals want. */
static void field_is(pkv *db, const char *key, const char *field,
		     const char *want)
{
	char buf[64];
	size_t n = 0;

	assert_int_equal(pkv_hget(db, 0, key, strlen(key), field,
				  strlen(field), buf, sizeof(buf), &n), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
}

/* field_at -- the entry of a field (internal), for in-place checks. */
static uint64_t field_at(pkv *db, const char *key, const char *field)
{
	uint64_t e = 0;
	struct kv_loc loc;

	assert_int_equal(table_lookup(db, 0, kv_hash(db, key, strlen(key)),
				      key, strlen(key), &e), 1);
	assert_int_equal(hash_find(db, NULL, hash_of_entry(db, kv_ptr(db, e)),
				   kv_hash(db, field, strlen(field)), field,
				   strlen(field), &loc), 1);
	return loc.entry;
}

struct hincr_seen {
	char val[32];
	size_t vlen;
	unsigned n;
};

static int hincr_scan(void *ctx, const struct pkv_item *it)
{
	struct hincr_seen *s = ctx;

	if (it->klen == 1 && *(const char *)it->key == 'n' &&
	    it->vlen < sizeof(s->val)) {
		memcpy(s->val, it->val, it->vlen);
		s->vlen = it->vlen;
	}
	s->n++;
	return 0;
}

/*
 * test_hincr -- pkv_hincr as HINCRBY: a missing hash and field count as
 * 0; the sum is an integer string that the next increment changes in
 * place (the same entry); a text field is read, one that is not an
 * integer or a sum out of range fails and changes nothing; a string key
 * is PKV_EWRONGTYPE; the value reads as its text through pkv_hget, a
 * batch's reference and scan (which last as long as the batch), a copy
 * of the hash, and after a reopen.
 */
static void test_hincr(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	struct hincr_seen seen = { "", 0, 0 };
	struct pkv_ref r1, r2;
	pkv_batch *b;
	uint64_t e0, cur;
	int64_t v;

	assert_int_equal(pkv_hincr(db, 0, "h", 1, "n", 1, 7, &v), 0);
	assert_int_equal(v, 7);
	field_is(db, "h", "n", "7");
	e0 = field_at(db, "h", "n");
	for (int i = 0; i < 50; i++)
		assert_int_equal(pkv_hincr(db, 0, "h", 1, "n", 1, -1, &v), 0);
	assert_int_equal(v, -43);
	assert_int_equal(field_at(db, "h", "n"), e0);
	field_is(db, "h", "n", "-43");
	assert_int_equal(pkv_hset(db, 0, "h", 1, "t", 1, "10", 2, 0), 0);
	assert_int_equal(pkv_hincr(db, 0, "h", 1, "t", 1, 5, &v), 0);
	assert_int_equal(v, 15);
	field_is(db, "h", "t", "15");
	assert_int_equal(pkv_hset(db, 0, "h", 1, "x", 1, "1.5", 3, 0), 0);
	assert_int_equal(pkv_hincr(db, 0, "h", 1, "x", 1, 1, &v), PKV_ENOTINT);
	field_is(db, "h", "x", "1.5");
	assert_int_equal(pkv_hincr(db, 0, "h", 1, "n", 1, INT64_MIN, &v),
			 PKV_EOVERFLOW);
	field_is(db, "h", "n", "-43");
	assert_int_equal(pkv_put(db, 0, "s", 1, "1", 1, 0, 0), 0);
	assert_int_equal(pkv_hincr(db, 0, "s", 1, "n", 1, 1, &v),
			 PKV_EWRONGTYPE);
	assert_int_equal(hlen(db, "h"), 3);

	/* a batch: its references and scan items last as long as it */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_hincr(b, 0, "h", 1, "n", 1, 3, &v), 0);
	assert_int_equal(pkv_batch_hget_ref(b, 0, "h", 1, "n", 1, &r1), 0);
	assert_int_equal(pkv_batch_hincr(b, 0, "h", 1, "n", 1, 100, &v), 0);
	assert_int_equal(pkv_batch_hget_ref(b, 0, "h", 1, "n", 1, &r2), 0);
	assert_int_equal(pkv_batch_hscan(b, 0, "h", 1, 0, 100, hincr_scan,
					 &seen, &cur), 0);
	assert_int_equal(r1.vlen, 3);
	assert_memory_equal(r1.val, "-40", 3);
	assert_int_equal(r2.vlen, 2);
	assert_memory_equal(r2.val, "60", 2);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.vlen, 2);
	assert_memory_equal(seen.val, "60", 2);
	assert_int_equal(pkv_batch_copy(b, 0, "h", 1, 0, "h2", 2, 0), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	assert_int_equal(pkv_hincr(db, 0, "h2", 2, "n", 1, 1, &v), 0);
	assert_int_equal(v, 61);
	field_is(db, "h", "n", "60");
	field_is(db, "h2", "n", "61");
	field_is(db, "h2", "t", "15");
	hash_check(db, "h");
	hash_check(db, "h2");

	db = reopen(f);
	field_is(db, "h", "n", "60");
	field_is(db, "h", "t", "15");
	field_is(db, "h2", "n", "61");
	assert_int_equal(pkv_hincr(db, 0, "h", 1, "n", 1, 1, &v), 0);
	field_is(db, "h", "n", "61");
}

static void test_set(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	static unsigned seen[3000];
	struct pkv_item it;
	uint64_t n = 0, cur = 0;
	unsigned type, hits[4] = { 0 };
	char m[16];
	pkv_batch *b;

	for (unsigned i = 0; i < 3000; i++) {
		sprintf(m, "m%u", i);
		assert_int_equal(pkv_sadd(db, 0, "s", 1, m, strlen(m)), 0);
	}
	assert_int_equal(pkv_sadd(db, 0, "s", 1, "m7", 2), PKV_EEXIST);
	assert_int_equal(pkv_scard(db, 0, "s", 1, &n), 0);
	assert_int_equal(n, 3000);
	assert_int_equal(pkv_type(db, 0, "s", 1, &type), 0);
	assert_int_equal(type, PKV_TYPE_SET);
	assert_int_equal(pkv_sismember(db, 0, "s", 1, "m2999", 5), 0);
	assert_int_equal(pkv_sismember(db, 0, "s", 1, "m3000", 5),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_sismember(db, 0, "none", 4, "m1", 2),
			 PKV_ENOTFOUND);
	/* a set is not a hash, and the other way round */
	assert_int_equal(pkv_hset(db, 0, "s", 1, "f", 1, "v", 1, 0),
			 PKV_EWRONGTYPE);
	assert_int_equal(pkv_hlen(db, 0, "s", 1, &n), PKV_EWRONGTYPE);
	hset_ok(db, "h", 1, 1, 0);
	assert_int_equal(pkv_sadd(db, 0, "h", 1, "m", 1), PKV_EWRONGTYPE);
	do {
		assert_int_equal(pkv_sscan(db, 0, "s", 1, cur, 100,
					   count_member, seen, &cur), 0);
	} while (cur);
	for (unsigned i = 0; i < 3000; i++)
		assert_true(seen[i] >= 1);
	/* random members: every quarter of the set is drawn */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	for (uint64_t r = 0; r < 4000; r++) {
		unsigned i;
		assert_int_equal(pkv_batch_srandmember_ref(b, 0, "s", 1,
				 r * 0x9e3779b97f4a7c15ull, &it), 0);
		assert_true(sscanf(it.key, "m%u", &i) == 1 && i < 3000);
		hits[i / 750]++;
	}
	pkv_batch_abort(b);
	print_message("      random members by quarter: %u %u %u %u\n",
		      hits[0], hits[1], hits[2], hits[3]);
	for (int q = 0; q < 4; q++)
		assert_true(hits[q] > 500);
	for (unsigned i = 0; i < 3000; i++) {
		sprintf(m, "m%u", i);
		assert_int_equal(pkv_srem(db, 0, "s", 1, m, strlen(m)), 0);
	}
	assert_int_equal(pkv_srem(db, 0, "s", 1, "m1", 2), PKV_ENOTFOUND);
	assert_int_equal(pkv_exists(db, 0, "s", 1), PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_srandmember_ref(b, 0, "s", 1, 1, &it),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_sadd(b, 0, "t", 1, "x", 1), 0);
	assert_int_equal(pkv_batch_sismember(b, 0, "t", 1, "x", 1), 0);
	assert_int_equal(pkv_batch_copy(b, 0, "t", 1, 0, "u", 1, 0), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	db = reopen(f);
	assert_int_equal(pkv_sismember(db, 0, "u", 1, "x", 1), 0);
	assert_int_equal(pkv_type(db, 0, "u", 1, &type), 0);
	assert_int_equal(type, PKV_TYPE_SET);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_hash_basic),
		T(test_hash_many),
		T(test_hash_shrink),
		T(test_hash_batch),
		T(test_hash_rename_copy),
		T(test_hash_reclaimed),
		T(test_hash_cost),
		T(test_hash_new_cost),
		T(test_hash_small_arrays),
		T(test_hincr),
		T(test_set),
	};

	if (getenv("PKV_TEST_FILTER"))
		cmocka_set_test_filter(getenv("PKV_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
