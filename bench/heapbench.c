/*
 * heapbench.c -- the heap level: what pkv's allocator and transactions
 * cost against libpmemobj's, shape for shape, single thread.
 *
 *   floor          copy 100 bytes into the pool and persist them (one
 *                  fence): the least any durable write can cost; through
 *                  pkv's persistence layer, through libpmem alone in the
 *                  same pool (the floor of TARGETS.md), and libpmemobj's
 *                  pmemobj_memcpy_persist;
 *   alloc 100B     allocate a block and publish it durably in a
 *                  persistent slot (pkv: tx_alloc + tx_set + commit;
 *                  pmemobj_alloc with the slot in the pool);
 *   free 100B      free it and clear the slot (pkv: tx_free + tx_set +
 *                  commit; pmemobj_free), slots in random order;
 *   alloc+free     the sum of the two means (the TARGETS.md figure);
 *   tx replace     one transaction: allocate 100 bytes, fill them, publish
 *                  them in a slot and free the block the slot held (pkv:
 *                  tx_*; pmemobj: TX_BEGIN, add_range(slot), tx_alloc,
 *                  tx_free, TX_END);
 *   tx set word    one transaction changing one 8-byte word in place: the
 *                  fixed cost of a commit.
 *
 * pkv's side uses the internal heap directly (pool.h, heap.h, tx.h), as
 * the key-value engine does, and counts fences and flushed bytes per
 * operation from the persistence layer.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkv.h"
#include "pool.h"
#include "heap.h"
#include "tx.h"
#include "pkvbench.h"

#include <libpmem.h>

#ifdef PKVBENCH_PEERS
#include <libpmemobj.h>
#endif

#define HB_TYPE_SLOTS 1u
#define HB_TYPE_LEAF 2u
#define HB_TYPE_AREA 3u
#define HB_AREA (64u << 20)
#define HB_ROOT_OFF (POOL_STATE_OFF + offsetof(struct pool_state, root))

/* One measure: n operations, each timed; op(ctx, i) does the i-th. */
typedef int (*hb_op)(void *ctx, uint64_t i);

/* hb_measure -- time n calls of op and emit them as one result; fences
 * and flushes from ps when not NULL. */
static void hb_measure(const char *test, const char *store, const char *note,
		       uint64_t n, hb_op op, void *ctx, struct persist *ps,
		       struct result *out)
{
	uint64_t ovh = timer_overhead_ns();
	struct persist_stats a, b;
	struct proc_sample pa, pb;
	struct hist h;
	struct result r;

	hist_reset(&h);
	if (ps)
		persist_get_stats(ps, &a);
	proc_sample_take(&pa);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns(), t1;
		int err = op(ctx, i);
		t1 = now_ns();
		if (err)
			die("%s %s: %s", store, test, pkv_strerror(err));
		hist_add(&h, t1 - t0 > ovh ? t1 - t0 - ovh : 0);
		if ((i & 4095) == 0)
			progress("  heap %-10s %-14s %3.0f%%", store, test,
				 100.0 * (double)i / (double)n);
	}
	proc_sample_take(&pb);
	progress_done();
	result_init(&r, "heap", test, store);
	r.ref = !strcmp(store, "pkv");
	r.threads = 1;
	if (note)
		snprintf(r.note, sizeof(r.note), "%s", note);
	hist_fill(&h, &r);
	proc_sample_fill(&pa, &pb, n, &r);
	if (ps) {
		persist_get_stats(ps, &b);
		r.fences_op = (double)(b.fences - a.fences) / (double)n;
		r.flushed_op = (double)(b.lines_flushed - a.lines_flushed) *
			       CACHELINE / (double)n;
	}
	child_emit(&r);
	if (out)
		*out = r;
}

/* hb_sum -- the alloc+free row: the two means added. */
static void hb_sum(const struct result *a, const struct result *f,
		   const char *store, const char *note)
{
	struct result r;

	result_init(&r, "heap", "alloc+free 100B", store);
	r.ref = !strcmp(store, "pkv");
	r.threads = 1;
	snprintf(r.note, sizeof(r.note), "%s", note);
	r.mean_ns = a->mean_ns + f->mean_ns;
	r.ops = a->ops;
	r.ops_s = 1e9 / r.mean_ns;
	r.fences_op = a->fences_op + f->fences_op;
	r.flushed_op = a->flushed_op + f->flushed_op;
	r.rss_mib = maxrss_mib();
	child_emit(&r);
}

/* ---- pkv's heap ---- */

struct hb_pkv {
	struct pool *pool;
	struct heap *heap;
	uint64_t slots;               /* data offset of n words */
	uint64_t word;                /* a word for the set-word commits */
	uint64_t area;                /* HB_AREA bytes for the floor */
	uint32_t *order;
	char src[128];
	struct rng r;
};

static int hbp_floor(void *ctx, uint64_t i)
{
	struct hb_pkv *c = ctx;
	uint64_t off = c->area + rng_below(&c->r, HB_AREA / 128) * 128;

	persist_memcpy(&c->pool->persist, pool_ptr(c->pool, off), c->src, 100);
	/* the one fence: the 100 bytes are durable */
	persist_fence(&c->pool->persist);
	return 0;
}

/* hbp_floor_libpmem -- the same copy with libpmem alone: the hardware
 * floor, without the persistence layer's counters. */
static int hbp_floor_libpmem(void *ctx, uint64_t i)
{
	struct hb_pkv *c = ctx;
	uint64_t off = c->area + rng_below(&c->r, HB_AREA / 128) * 128;

	pmem_memcpy_persist(pool_ptr(c->pool, off), c->src, 100);
	return 0;
}

static int hbp_alloc(void *ctx, uint64_t i)
{
	struct hb_pkv *c = ctx;
	uint64_t off;
	struct tx *tx;
	int err;

	if ((err = tx_begin(c->heap, &tx)))
		return err;
	if ((err = tx_alloc(tx, 100, HB_TYPE_LEAF, &off)) ||
	    (err = tx_set(tx, c->slots + 8 * i, off))) {
		tx_abort(tx);
		return err;
	}
	return tx_commit(tx);
}

static int hbp_free(void *ctx, uint64_t i)
{
	struct hb_pkv *c = ctx;
	uint64_t slot = c->slots + 8 * c->order[i];
	uint64_t *p = pool_ptr(c->pool, slot);
	struct tx *tx;
	int err;

	if ((err = tx_begin(c->heap, &tx)))
		return err;
	if ((err = tx_free(tx, *p)) || (err = tx_set(tx, slot, 0))) {
		tx_abort(tx);
		return err;
	}
	return tx_commit(tx);
}

static int hbp_replace(void *ctx, uint64_t i)
{
	struct hb_pkv *c = ctx;
	uint64_t slot = c->slots + 8 * c->order[i], off;
	uint64_t *p = pool_ptr(c->pool, slot);
	struct tx *tx;
	int err;

	if ((err = tx_begin(c->heap, &tx)))
		return err;
	if ((err = tx_alloc(tx, 100, HB_TYPE_LEAF, &off))) {
		tx_abort(tx);
		return err;
	}
	memcpy(pool_ptr(c->pool, off), c->src, 100);
	if ((err = tx_set(tx, slot, off)) || (err = tx_free(tx, *p))) {
		tx_abort(tx);
		return err;
	}
	return tx_commit(tx);
}

static int hbp_setword(void *ctx, uint64_t i)
{
	struct hb_pkv *c = ctx;
	struct tx *tx;
	int err;

	if ((err = tx_begin(c->heap, &tx)))
		return err;
	if ((err = tx_set(tx, c->word, i + 1))) {
		tx_abort(tx);
		return err;
	}
	return tx_commit(tx);
}

/* hbp_setup -- a pool with a slot array, a word and the floor's area,
 * all reachable from the root so the heap's state is a plausible one. */
static void hbp_setup(struct hb_pkv *c, uint64_t n, char *path, size_t len)
{
	uint64_t size = n * 256 + HB_AREA + (128ull << 20), arr;
	struct errmsg em;
	struct tx *tx;
	int err;

	store_path(path, len, g_opt.dir, "heap", "pool");
	unlink(path);
	if ((err = pool_create(path, size, NULL, NULL, &c->pool, &em)))
		die("%s", em.text);
	if ((err = heap_open(c->pool, &c->heap, &em)))
		die("%s", em.text);
	if ((err = tx_begin(c->heap, &tx)) ||
	    (err = tx_alloc(tx, 3 * 8, HB_TYPE_SLOTS, &arr)) ||
	    (err = tx_alloc(tx, n * 8, HB_TYPE_SLOTS, &c->slots)) ||
	    (err = tx_alloc(tx, 64, HB_TYPE_LEAF, &c->word)) ||
	    (err = tx_alloc(tx, HB_AREA, HB_TYPE_AREA, &c->area)))
		die("heap setup: %s", pkv_strerror(err));
	memset(pool_ptr(c->pool, c->slots), 0, n * 8);
	memset(pool_ptr(c->pool, c->word), 0, 64);
	((uint64_t *)pool_ptr(c->pool, arr))[0] = c->slots;
	((uint64_t *)pool_ptr(c->pool, arr))[1] = c->word;
	((uint64_t *)pool_ptr(c->pool, arr))[2] = c->area;
	if ((err = tx_set(tx, HB_ROOT_OFF, arr)) || (err = tx_commit(tx)))
		die("heap setup: %s", pkv_strerror(err));
	/* Touch the area once so the floor measures flushes, not faults. */
	memset(pool_ptr(c->pool, c->area), 0, HB_AREA);
}

/* hb_order -- the order in which slots are freed and replaced. */
static uint32_t *hb_order(uint64_t n, uint64_t seed)
{
	struct rng r;

	rng_seed(&r, seed);
	return permutation(n, &r);
}

static void heap_pkv_child(void *arg)
{
	uint64_t n = g_opt.heap_ops;
	struct persist *ps;
	struct hb_pkv c;
	struct result ra, rf;
	char path[4096];

	memset(&c, 0, sizeof(c));
	memset(c.src, 'v', sizeof(c.src));
	rng_seed(&c.r, g_opt.seed);
	hbp_setup(&c, n, path, sizeof(path));
	ps = &c.pool->persist;
	c.order = hb_order(n, g_opt.seed ^ 0xf7ee);

	hb_measure("floor: 100B+persist", "pkv", "persist_memcpy + fence "
		   "(pkv's persistence layer)", n, hbp_floor, &c, ps, NULL);
	hb_measure("floor: 100B+persist", "libpmem", "pmem_memcpy_persist "
		   "into the same pkv pool", n, hbp_floor_libpmem, &c, NULL,
		   NULL);
	hb_measure("alloc 100B", "pkv", "tx_alloc+tx_set+commit", n,
		   hbp_alloc, &c, ps, &ra);
	hb_measure("tx replace 100B", "pkv", "alloc+fill+publish+free", n,
		   hbp_replace, &c, ps, NULL);
	hb_measure("free 100B", "pkv", "tx_free+tx_set+commit", n, hbp_free,
		   &c, ps, &rf);
	hb_sum(&ra, &rf, "pkv", "sum of the two means");
	hb_measure("tx set word", "pkv", "tx_set+commit", n, hbp_setword,
		   &c, ps, NULL);
	heap_close(c.heap);
	unlink(path);
	free(c.order);
}

/* ---- libpmemobj ---- */

#ifdef PKVBENCH_PEERS
struct hb_root {
	uint64_t word;
	PMEMoid area;
	PMEMoid slots[];
};

struct hb_obj {
	PMEMobjpool *pop;
	struct hb_root *root;
	char *area;
	uint32_t *order;
	char src[128];
	struct rng r;
};

static int hbo_floor(void *ctx, uint64_t i)
{
	struct hb_obj *c = ctx;
	char *dst = c->area + rng_below(&c->r, HB_AREA / 128) * 128;

	pmemobj_memcpy_persist(c->pop, dst, c->src, 100);
	return 0;
}

static int hbo_alloc(void *ctx, uint64_t i)
{
	struct hb_obj *c = ctx;

	return pmemobj_alloc(c->pop, &c->root->slots[i], 100, HB_TYPE_LEAF,
			     NULL, NULL) ? -errno : 0;
}

static int hbo_free(void *ctx, uint64_t i)
{
	struct hb_obj *c = ctx;

	pmemobj_free(&c->root->slots[c->order[i]]);
	return 0;
}

static int hbo_replace(void *ctx, uint64_t i)
{
	struct hb_obj *c = ctx;
	PMEMoid *slot = &c->root->slots[c->order[i]];
	volatile int rc = 0;

	TX_BEGIN(c->pop) {
		PMEMoid n = pmemobj_tx_alloc(100, HB_TYPE_LEAF);

		memcpy(pmemobj_direct(n), c->src, 100);
		pmemobj_tx_add_range_direct(slot, sizeof(*slot));
		pmemobj_tx_free(*slot);
		*slot = n;
	} TX_ONABORT {
		rc = errno ? -errno : -EIO;
	} TX_END
	return rc;
}

static int hbo_setword(void *ctx, uint64_t i)
{
	struct hb_obj *c = ctx;
	volatile int rc = 0;

	TX_BEGIN(c->pop) {
		pmemobj_tx_add_range_direct(&c->root->word, 8);
		c->root->word = i + 1;
	} TX_ONABORT {
		rc = errno ? -errno : -EIO;
	} TX_END
	return rc;
}

static void heap_pmemobj_child(void *arg)
{
	uint64_t n = g_opt.heap_ops;
	uint64_t size = n * 512 + HB_AREA + (128ull << 20);
	struct result ra, rf;
	struct hb_obj c;
	char path[4096];

	memset(&c, 0, sizeof(c));
	memset(c.src, 'v', sizeof(c.src));
	rng_seed(&c.r, g_opt.seed);
	store_path(path, sizeof(path), g_opt.dir, "heap-pmemobj", "pool");
	unlink(path);
	c.pop = pmemobj_create(path, "pkvbench-heap", size, 0644);
	if (!c.pop)
		die("pmemobj_create %s: %s", path, pmemobj_errormsg());
	c.root = pmemobj_direct(pmemobj_root(c.pop, sizeof(struct hb_root) +
					     n * sizeof(PMEMoid)));
	if (pmemobj_zalloc(c.pop, &c.root->area, HB_AREA, HB_TYPE_AREA))
		die("pmemobj_zalloc: %s", pmemobj_errormsg());
	c.area = pmemobj_direct(c.root->area);
	c.order = hb_order(n, g_opt.seed ^ 0xf7ee);

	hb_measure("floor: 100B+persist", "pmemobj", "pmemobj_memcpy_persist",
		   n, hbo_floor, &c, NULL, NULL);
	hb_measure("alloc 100B", "pmemobj", "pmemobj_alloc into a slot", n,
		   hbo_alloc, &c, NULL, &ra);
	hb_measure("tx replace 100B", "pmemobj", "TX: alloc+fill+publish+free",
		   n, hbo_replace, &c, NULL, NULL);
	hb_measure("free 100B", "pmemobj", "pmemobj_free of the slot", n,
		   hbo_free, &c, NULL, &rf);
	hb_sum(&ra, &rf, "pmemobj", "sum of the two means");
	hb_measure("tx set word", "pmemobj", "TX: add_range 8B + store", n,
		   hbo_setword, &c, NULL, NULL);
	pmemobj_close(c.pop);
	unlink(path);
	free(c.order);
}
#endif

void run_heap(void)
{
	if (g_opt.stores & STORE_PKV)
		run_in_child("heap: pkv", heap_pkv_child, NULL);
#ifdef PKVBENCH_PEERS
	if (g_opt.stores & STORE_PMEMOBJ)
		run_in_child("heap: pmemobj", heap_pmemobj_child, NULL);
#endif
}
