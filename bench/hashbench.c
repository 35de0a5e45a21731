/*
 * hashbench.c -- the types section: what one HSET costs in a hash of ten
 * fields and in a hash of a million (--hash-fields), embedded, on the
 * persistent-memory path.
 *
 * The promise under test (pkv.h, "Hashes") is that a write to one field
 * costs the same whatever the size of its hash: fences, flushed bytes and
 * time per operation, side by side for the two sizes.  Two workloads on
 * each hash, so its size stays put while they run: a new field set then
 * deleted (HSET + HDEL, counted per pair), and an existing field
 * overwritten.  The hashes are loaded first in batches of 1000 fields
 * (not timed).  There is no peer: libpmemobj and LMDB have no hash type,
 * so the rows to compare with are the small hashes'.
 *
 * Hashes of ten fields come in two rows.  "hot": one hash written 20,000
 * times over, so its few lines stay in the cache and a checkpoint writes
 * each of them back once for thousands of writes -- cheaper by sharing,
 * not by size.  "x N": as many hashes of ten as make the big hash's field
 * count, each write to one of them chosen at random, so the two rows
 * differ only in the size of the hash written and not in how many lines
 * the writes are spread over.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkv.h"
#include "pkvbench.h"

#define HB_OPS 20000u                 /* timed operations per row */
#define HB_LOAD_BATCH 1000u

/* hb_field -- field i's name into buf; its length. */
static size_t hb_field(char *buf, uint64_t i)
{
	return (size_t)sprintf(buf, "field:%010" PRIu64, i);
}

static void hb_stats(pkv *db, struct pkv_stats *st)
{
	if (pkv_stats(db, st))
		die("pkv_stats: %s", pkv_errmsg(db));
}

/*
 * struct hb_set -- the hashes one row writes: nhash hashes of `size`
 * fields each, named prefix (one hash) or prefix:N (several).
 */
struct hb_set {
	const char *prefix;
	uint64_t nhash;
	uint64_t size;
};

/* hb_key -- the name of hash i of set s into buf; its length. */
static size_t hb_key(char *buf, const struct hb_set *s, uint64_t i)
{
	if (s->nhash == 1)
		return (size_t)sprintf(buf, "%s", s->prefix);
	return (size_t)sprintf(buf, "%s:%08" PRIu64, s->prefix, i);
}

/* hb_load_set -- every hash of s gets fields 0..size-1 with 100-byte
 * values, in batches of HB_LOAD_BATCH fields. */
static void hb_load_set(pkv *db, const struct hb_set *s, const char *val)
{
	uint64_t total = s->nhash * s->size;
	char k[64], f[32];

	for (uint64_t i = 0; i < total; i += HB_LOAD_BATCH) {
		pkv_batch *b;
		int err = pkv_batch_begin(db, &b);
		for (uint64_t x = i; !err && x < total &&
		     x < i + HB_LOAD_BATCH; x++)
			err = pkv_batch_hset(b, 0, k, hb_key(k, s, x / s->size),
					     f, hb_field(f, x % s->size), val,
					     100, 0);
		if (err < 0 && err != PKV_EEXIST)
			die("loading %s: %s", s->prefix, pkv_errmsg(db));
		if ((err = pkv_batch_commit(b, NULL)))
			die("loading %s: %s", s->prefix, pkv_errmsg(db));
		if ((i & 0xffff) == 0)
			progress("  types: loading %s, %" PRIu64 " fields",
				 s->prefix, i);
	}
}

/* hb_name -- the row's test name for set s into buf. */
static void hb_name(char *buf, size_t n, const struct hb_set *s, bool pair)
{
	const char *w = pair ? "hset+hdel" : "overwrite";

	if (s->size >= 1000000 && s->size % 1000000 == 0)
		snprintf(buf, n, "%s, hash %" PRIu64 "M", w,
			 s->size / 1000000);
	else if (s->nhash == 1)
		snprintf(buf, n, "%s, hash %" PRIu64 "%s", w, s->size,
			 strcmp(s->prefix, "hot") ? "" : " hot");
	else if (s->nhash % 1000 == 0)
		snprintf(buf, n, "%s, hash %" PRIu64 " x%" PRIu64 "k", w,
			 s->size, s->nhash / 1000);
	else
		snprintf(buf, n, "%s, hash %" PRIu64 " x%" PRIu64, w, s->size,
			 s->nhash);
}

/* hb_run -- one row: HB_OPS operations on the hashes of s. */
static void hb_run(pkv *db, const struct hb_set *s, bool pair,
		   const char *val)
{
	struct pkv_stats a, b;
	struct hist h;
	struct result r;
	struct rng rng;
	uint64_t t0, t1, over = timer_overhead_ns(), start;
	uint64_t size = s->size;
	char key[64], f[32], test[48];

	hist_reset(&h);
	rng_seed(&rng, 7);
	hb_stats(db, &a);
	start = now_ns();
	for (uint64_t i = 0; i < HB_OPS; i++) {
		size_t fl, kl;
		int err;
		kl = hb_key(key, s, rng_below(&rng, s->nhash));
		t0 = now_ns();
		if (pair) {
			fl = hb_field(f, size + i);     /* a new field */
			err = pkv_hset(db, 0, key, kl, f, fl, val, 100, 0);
			if (!err)
				err = pkv_hdel(db, 0, key, kl, f, fl);
		} else {
			fl = hb_field(f, rng_below(&rng, size));
			err = pkv_hset(db, 0, key, kl, f, fl, val, 100, 0);
			if (err == PKV_EEXIST)
				err = 0;
		}
		if (err)
			die("hset %s: %s", key, pkv_errmsg(db));
		t1 = now_ns();
		hist_add(&h, t1 - t0 > over ? t1 - t0 - over : 0);
	}
	hb_stats(db, &b);
	hb_name(test, sizeof(test), s, pair);
	result_init(&r, "types", test, "pkv");
	r.ref = 1;
	r.threads = 1;
	r.ops = HB_OPS;
	r.secs = (double)(now_ns() - start) / 1e9;
	r.ops_s = r.ops / r.secs;
	hist_fill(&h, &r);
	r.fences_op = (double)(b.fences - a.fences) / HB_OPS;
	r.flushed_op = (double)(b.flushed_bytes - a.flushed_bytes) / HB_OPS;
	snprintf(r.note, sizeof(r.note), "%s; 100-byte values; durable "
		 "each", pair ? "per pair: one new field set, then deleted"
			      : "an existing field, chosen at random");
	child_emit(&r);
}

/* hb_set_run -- set s in a pool of its own: loaded, then both rows. */
static void hb_set_run(const struct hb_set *s, const char *val)
{
	struct pkv_options o;
	char path[4096];
	uint64_t fields = s->nhash * s->size;
	pkv *db;

	store_path(path, sizeof(path), g_opt.dir, "types", "pool");
	unlink(path);
	pkv_options_init(&o);
	o.flags = PKV_CREATE;
	o.size = (fields * 512 + s->nhash * 4096 + (256ull << 20)) &
		 ~((1ull << 20) - 1);
	if (pkv_open(path, &o, &db))
		die("pkv_open %s: %s", path, pkv_errmsg(NULL));
	hb_load_set(db, s, val);
	hb_run(db, s, true, val);
	hb_run(db, s, false, val);
	pkv_close(db);
	unlink(path);
}

static void hb_child(void *arg)
{
	uint64_t big = g_opt.hash_fields;
	const struct hb_set sets[] = {
		{ "hot", 1, 10 },
		{ "small", big >= 20 ? big / 10 : 0, 10 },  /* 0: skipped */
		{ "big", 1, big },
	};
	char val[128];

	(void)arg;
	memset(val, 'h', sizeof(val));
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (sets[i].nhash)
			hb_set_run(&sets[i], val);
}

/* run_types -- the section (see above). */
void run_types(void)
{
	run_in_child("types", hb_child, NULL);
}
