/*
 * fill.c -- space: how full a pool gets, and write amplification at
 * 1 KiB values.
 *
 * Fill: a pool of --fill-mib MiB takes keys with values of random sizes
 * from 64 B to 4 KiB until a put fails for want of room; the store's
 * utilization (allocated / heap) then is the first figure.  A random half
 * of the keys is deleted and new keys are put until it is full again: the
 * second figure.  Both pkv and the libpmemobj hash table, which differ
 * only in their allocators and tables (LMDB grows a B+tree in pages and
 * reports no utilization).
 *
 * Load at 1 KiB: the load workload with 1,024-byte values on every store,
 * for the write amplification target at that size.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkv.h"
#include "pkvbench.h"

#define FILL_VMIN 64u
#define FILL_VMAX 4096u

/* fill_until_full -- put keys from *next on until a put fails; the number
 * put and the error that stopped it. */
static uint64_t fill_until_full(const struct store_ops *so, struct store *st,
				struct rng *r, char *val, uint64_t *next,
				bool *live, uint64_t cap, int *errp)
{
	char key[KEY_LEN];
	uint64_t put = 0;

	for (;; (*next)++) {
		size_t vl = FILL_VMIN + rng_below(r, FILL_VMAX - FILL_VMIN + 1);
		int err;

		if (*next >= cap)
			die("%s: the fill did not end after %" PRIu64 " keys",
			    so->name, cap);
		key_format(key, *next);
		value_fill(val, vl, *next, 1);
		err = so->put(st, NULL, key, KEY_LEN, val, vl);
		if (err) {
			*errp = err;
			return put;
		}
		live[*next] = true;
		put++;
		if ((put & 1023) == 0)
			progress("  fill %-12s %" PRIu64 " keys", so->name, put);
	}
}

static void fill_emit(const struct store_ops *so, struct store *st,
		      const char *test, uint64_t keys, uint64_t put, int err)
{
	struct store_stats ss;
	struct result r;

	so->stats(st, &ss);
	result_init(&r, "fill", test, so->name);
	r.ref = so->bit == STORE_PKV;
	r.threads = 1;
	r.ops = (double)put;
	r.util = ss.util;
	r.rss_mib = maxrss_mib();
	snprintf(r.note, sizeof(r.note), "%" PRIu64 " keys live; full at "
		 "error %d (%s)", keys, err,
		 so->bit == STORE_PKV ? pkv_strerror(err) : strerror(-err));
	child_emit(&r);
}

static void fill_child(void *arg)
{
	const struct store_ops *so = arg;
	uint64_t cap = (g_opt.fill_mib << 20) / FILL_VMIN, next = 0, nlive;
	uint64_t put;
	char *val = malloc(FILL_VMAX + 16);
	bool *live = calloc(cap, sizeof(bool));
	struct store *st;
	struct rng r;
	int err;

	if (!val || !live)
		die("out of memory");
	memset(val, 'f', FILL_VMAX + 16);
	rng_seed(&r, g_opt.seed ^ 0xf111);
	g_opt.pool_mib = g_opt.fill_mib;
	g_opt.threads = 1;
	err = so->open(&st, g_opt.dir, (g_opt.fill_mib << 20) / 2200,
		       (FILL_VMIN + FILL_VMAX) / 2.0, true);
	if (err)
		die("%s: cannot create a %" PRIu64 " MiB store (error %d)",
		    so->name, g_opt.fill_mib, err);

	put = fill_until_full(so, st, &r, val, &next, live, cap, &err);
	fill_emit(so, st, "fill 64B-4KiB to full", put, put, err);

	nlive = put;
	for (uint64_t i = 0; i < next; i++) {
		char key[KEY_LEN];
		if (!live[i] || !(rng_next(&r) & 1))
			continue;
		key_format(key, i);
		if (so->del(st, NULL, key, KEY_LEN))
			die("%s: delete during the fill test failed", so->name);
		live[i] = false;
		nlive--;
	}
	put = fill_until_full(so, st, &r, val, &next, live, cap, &err);
	progress_done();
	fill_emit(so, st, "delete half, refill", nlive + put, put, err);
	so->close(st, true);
	free(val);
	free(live);
}

/* load1k_child -- the load workload with 1 KiB values. */
static void load1k_child(void *arg)
{
	const struct store_ops *so = arg;
	struct store *st;
	struct result r;
	int err;

	g_opt.vmin = g_opt.vmax = 1024;
	if (g_opt.keys > 100000)
		g_opt.keys = 100000;
	err = so->open(&st, g_opt.dir, g_opt.keys, 1024, true);
	if (err)
		die("%s: cannot create the store (error %d)", so->name, err);
	run_phase(so, st, WL_LOAD, &r);
	snprintf(r.test, sizeof(r.test), "load 1KiB values");
	child_emit(&r);
	so->close(st, true);
}

void run_fill(void)
{
	size_t n;
	const struct store_ops *const *all = stores_all(&n);

	for (size_t i = 0; i < n; i++) {
		if (!(g_opt.stores & all[i]->bit))
			continue;
		if (all[i]->bit == STORE_PKV || all[i]->bit == STORE_PMEMOBJ)
			run_in_child(all[i]->name, fill_child, (void *)all[i]);
	}
	for (size_t i = 0; i < n; i++)
		if (g_opt.stores & all[i]->bit)
			run_in_child(all[i]->name, load1k_child,
				     (void *)all[i]);
}
