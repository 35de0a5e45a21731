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
 * overwritten.  The big hash is loaded first in batches of 1000 fields
 * (not timed).  There is no peer: libpmemobj and LMDB have no hash type,
 * so the row to compare with is the small hash's.
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

/* hb_load -- key gets fields 0..n-1 with 100-byte values. */
static void hb_load(pkv *db, const char *key, uint64_t n, const char *val)
{
	char f[32];

	for (uint64_t i = 0; i < n; i += HB_LOAD_BATCH) {
		pkv_batch *b;
		int err = pkv_batch_begin(db, &b);
		for (uint64_t j = i; !err && j < n && j < i + HB_LOAD_BATCH;
		     j++)
			err = pkv_batch_hset(b, 0, key, strlen(key), f,
					     hb_field(f, j), val, 100, 0);
		if (err < 0 && err != PKV_EEXIST)
			die("loading %s: %s", key, pkv_errmsg(db));
		if ((err = pkv_batch_commit(b, NULL)))
			die("loading %s: %s", key, pkv_errmsg(db));
		if ((i & 0xffff) == 0)
			progress("  types: loading %s, %" PRIu64 " fields", key,
				 i);
	}
}

/* hb_run -- one row: HB_OPS operations on key (of `size` fields). */
static void hb_run(pkv *db, const char *key, uint64_t size, bool pair,
		   const char *val)
{
	struct pkv_stats a, b;
	struct hist h;
	struct result r;
	struct rng rng;
	uint64_t t0, t1, over = timer_overhead_ns(), start;
	size_t kl = strlen(key);
	char f[32], test[40];

	hist_reset(&h);
	rng_seed(&rng, 7);
	hb_stats(db, &a);
	start = now_ns();
	for (uint64_t i = 0; i < HB_OPS; i++) {
		size_t fl;
		int err;
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
	if (size >= 1000000 && size % 1000000 == 0)
		snprintf(test, sizeof(test), "%s, hash %" PRIu64 "M",
			 pair ? "hset+hdel" : "overwrite", size / 1000000);
	else
		snprintf(test, sizeof(test), "%s, hash %" PRIu64,
			 pair ? "hset+hdel" : "overwrite", size);
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

static void hb_child(void *arg)
{
	struct pkv_options o;
	char path[4096], val[128];
	uint64_t big = g_opt.hash_fields;
	pkv *db;
	int err;

	(void)arg;
	memset(val, 'h', sizeof(val));
	store_path(path, sizeof(path), g_opt.dir, "types", "pool");
	unlink(path);
	pkv_options_init(&o);
	o.flags = PKV_CREATE;
	o.size = (big * 256 + (256ull << 20)) & ~((1ull << 20) - 1);
	if ((err = pkv_open(path, &o, &db)))
		die("pkv_open %s: %s", path, pkv_errmsg(NULL));
	hb_load(db, "small", 10, val);
	hb_load(db, "big", big, val);
	hb_run(db, "small", 10, true, val);
	hb_run(db, "big", big, true, val);
	hb_run(db, "small", 10, false, val);
	hb_run(db, "big", big, false, val);
	pkv_close(db);
	unlink(path);
}

/* run_types -- the section (see above). */
void run_types(void)
{
	run_in_child("types", hb_child, NULL);
}
