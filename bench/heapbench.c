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

#define HB_TURN 256u                  /* operations of one arm in a row */

/* One arm of a measure: a store's operation, and what was seen of it. */
struct hb_arm {
	const char *store, *note;
	hb_op op;
	struct persist *ps;           /* fences and flushes from it, or NULL */
	struct persist_stats a, b;
	struct hist h;
};

/*
 * hb_measure_arms -- time n calls of each arm's op and emit one result
 * per arm.  The arms take turns of HB_TURN calls (in the order 0 1, then
 * 1 0, ...).  With per_op each call is timed; without, a turn is timed as
 * a whole and its mean counted for each of its calls (the floors).
 *
 * Why, for the floor (one 100-byte copy and a fence, 60-200 ns here):
 * measured one after the other, its two arms swapped places with their
 * order (whichever ran first took 140-200 ns, the second 60-150 ns), and
 * a clock read around each call moved time between neighbouring calls
 * (the copy's cache misses are paid at whichever fence or clock read
 * comes next): libpmem alone and pkv's layer alone, in the same loop,
 * measured 110 and 240 ns op by op in turn, 156 and 83 ns in turns of
 * 256, and 200 and 200 ns each when a turn was timed whole.  The process
 * figures (faults, kernel time, cache misses) are the loop's, shared out
 * evenly; each arm's throughput is from its own turns.
 */
static void hb_measure_arms(const char *test, uint64_t n, void *ctx,
			    struct hb_arm *arm, unsigned narms, bool per_op,
			    struct result *out)
{
	uint64_t ovh = timer_overhead_ns();
	struct proc_sample pa, pb;

	for (unsigned k = 0; k < narms; k++) {
		hist_reset(&arm[k].h);
		if (arm[k].ps)
			persist_get_stats(arm[k].ps, &arm[k].a);
	}
	proc_sample_take(&pa);
	for (uint64_t i0 = 0; i0 < n; i0 += HB_TURN) {
		for (unsigned j = 0; j < narms; j++) {
			/* turns in the order 0 1, then 1 0, ... */
			unsigned k = (i0 / HB_TURN) & 1 ? narms - 1 - j : j;
			uint64_t i, t0 = now_ns(), t1;
			for (i = i0; i < n && i < i0 + HB_TURN; i++) {
				int err = arm[k].op(ctx, i);
				if (per_op)
					t1 = now_ns();
				if (err)
					die("%s %s: %s", arm[k].store, test,
					    pkv_strerror(err));
				if (per_op) {
					hist_add(&arm[k].h, t1 - t0 > ovh ?
						 t1 - t0 - ovh : 0);
					t0 = now_ns();
				}
			}
			if (!per_op) {
				/* the turn's mean, once per operation */
				uint64_t each = (now_ns() - t0) / (i - i0);
				for (uint64_t m = i0; m < i; m++)
					hist_add(&arm[k].h, each);
			}
		}
		if ((i0 & 4095) == 0)
			progress("  heap %-10s %-14s %3.0f%%", arm[0].store,
				 test, 100.0 * (double)i0 / (double)n);
	}
	proc_sample_take(&pb);
	progress_done();
	for (unsigned k = 0; k < narms; k++) {
		struct result r;
		result_init(&r, "heap", test, arm[k].store);
		r.ref = !strcmp(arm[k].store, "pkv");
		r.threads = 1;
		if (arm[k].note)
			snprintf(r.note, sizeof(r.note), "%s%s", arm[k].note,
				 narms > 1 ? "; timed in turns of 256 with "
					     "the row beside it" :
				 !per_op ? "; timed in turns of 256" : "");
		hist_fill(&arm[k].h, &r);
		proc_sample_fill(&pa, &pb, n * narms, &r);
		if (narms > 1 || !per_op) {
			r.ops = (double)n;
			r.secs = (double)arm[k].h.sum / 1e9;
			r.ops_s = r.secs > 0 ? r.ops / r.secs : NAN;
		}
		if (arm[k].ps) {
			persist_get_stats(arm[k].ps, &arm[k].b);
			r.fences_op = (double)(arm[k].b.fences -
					       arm[k].a.fences) / (double)n;
			r.flushed_op = (double)(arm[k].b.lines_flushed -
						arm[k].a.lines_flushed) *
				       CACHELINE / (double)n;
		}
		child_emit(&r);
		if (out && k == 0)
			*out = r;
	}
}

/* hb_measure -- time n calls of op and emit them as one result; fences
 * and flushes from ps when not NULL. */
static void hb_measure(const char *test, const char *store, const char *note,
		       uint64_t n, hb_op op, void *ctx, struct persist *ps,
		       struct result *out)
{
	struct hb_arm arm = { .store = store, .note = note, .op = op,
			      .ps = ps };

	hb_measure_arms(test, n, ctx, &arm, 1, true, out);
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

	struct hb_arm floor[2] = {
		{ .store = "pkv", .op = hbp_floor, .ps = ps,
		  .note = "persist_memcpy + fence (pkv's persistence layer)" },
		{ .store = "libpmem", .op = hbp_floor_libpmem,
		  .note = "pmem_memcpy_persist into the same pkv pool" },
	};
	hb_measure_arms("floor: 100B+persist", n, &c, floor, 2, false, NULL);
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

	struct hb_arm floor = { .store = "pmemobj", .op = hbo_floor,
				.note = "pmemobj_memcpy_persist" };
	hb_measure_arms("floor: 100B+persist", n, &c, &floor, 1, false, NULL);
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
