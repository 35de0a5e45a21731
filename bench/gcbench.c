/*
 * gcbench.c -- how long the collector takes and how long it holds up
 * writers, on a heap of N live objects.
 *
 * Builds a two-level structure in a fresh pool: the root block points to
 * segments of 4,096 slots (32 KiB blocks), each slot to a 64-byte leaf.
 * Then leaks a tenth as many leaves (garbage), and measures:
 *   1. a collection with nothing else running (mark, sweep, pause);
 *   2. collections while a writer thread replaces random leaves (allocate,
 *      publish, free the old one, one transaction each) and times every
 *      operation: the writer's worst latency with and without the
 *      collector, and the collector's longest hold of every lane.
 *
 * Usage: pkv-gcbench [--objects N] [--dir DIR] [--seconds S]
 * The pool lives in DIR (default /dev/shm); the program sets
 * PMEM_IS_PMEM_FORCE=1 unless it is set, and says so.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pkv.h"
#include "pool.h"
#include "heap.h"
#include "tx.h"
#include "gc.h"

#define SEG_SLOTS 4096
#define LEAF_SIZE 64
#define T_ROOT 1u
#define T_SEG 2u
#define T_LEAF 3u
#define ROOT_OFF (POOL_STATE_OFF + offsetof(struct pool_state, root))

static struct heap *g_heap;
static struct pool *g_pool;
static uint64_t g_root;
static uint64_t g_nsegs;
static uint64_t g_objects;
static atomic_bool g_stop;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "pkv-gcbench: %s: %s\n", what, pkv_strerror(err));
	exit(1);
}

/* trace_words -- root and segments are arrays of offsets. */
static void trace_words(const void *data, uint64_t size, gc_visit_fn visit,
			void *vctx)
{
	const uint64_t *w = data;
	for (uint64_t i = 0; i < size / 8; i++)
		if (w[i])
			visit(vctx, __atomic_load_n(&w[i], __ATOMIC_RELAXED));
}

static uint64_t *seg_of(uint64_t s)
{
	const uint64_t *root = pool_ptr(g_pool, g_root);
	return pool_ptr(g_pool, root[s]);
}

/* build -- root, segments and leaves, a segment's batch per transaction. */
static void build(void)
{
	struct tx *tx;
	int err;

	g_nsegs = (g_objects + SEG_SLOTS - 1) / SEG_SLOTS;
	if ((err = tx_begin(g_heap, &tx)) ||
	    (err = tx_alloc(tx, g_nsegs * 8, T_ROOT, &g_root)))
		die("root", err);
	memset(pool_ptr(g_pool, g_root), 0, g_nsegs * 8);
	if ((err = tx_set(tx, ROOT_OFF, g_root)) || (err = tx_commit(tx)))
		die("root", err);
	for (uint64_t s = 0; s < g_nsegs; s++) {
		uint64_t seg;
		if ((err = tx_begin(g_heap, &tx)) ||
		    (err = tx_alloc(tx, SEG_SLOTS * 8, T_SEG, &seg)))
			die("segment", err);
		memset(pool_ptr(g_pool, seg), 0, SEG_SLOTS * 8);
		if ((err = tx_set(tx, g_root + 8 * s, seg)) ||
		    (err = tx_commit(tx)))
			die("segment", err);
	}
	for (uint64_t i = 0; i < g_objects; i += 32) {
		if ((err = tx_begin(g_heap, &tx)))
			die("tx_begin", err);
		for (uint64_t k = i; k < i + 32 && k < g_objects; k++) {
			uint64_t leaf;
			if ((err = tx_alloc(tx, LEAF_SIZE, T_LEAF, &leaf)))
				die("leaf", err);
			memset(pool_ptr(g_pool, leaf), (int)k, LEAF_SIZE);
			if ((err = tx_set(tx, pool_off(g_pool, &seg_of(k / SEG_SLOTS)[k % SEG_SLOTS]), leaf)))
				die("leaf", err);
		}
		if ((err = tx_commit(tx)))
			die("tx_commit", err);
	}
}

/* leak -- n leaves allocated and never published. */
static void leak(uint64_t n)
{
	struct tx *tx;
	int err;

	for (uint64_t i = 0; i < n; i += 32) {
		if ((err = tx_begin(g_heap, &tx)))
			die("tx_begin", err);
		for (uint64_t k = i; k < i + 32 && k < n; k++) {
			uint64_t leaf;
			if ((err = tx_alloc(tx, LEAF_SIZE, T_LEAF, &leaf)))
				die("leak", err);
		}
		if ((err = tx_commit(tx)))
			die("tx_commit", err);
	}
}

struct wstats {
	uint64_t ops, max_ns, sum_ns;
};

/* writer -- replace random leaves until told to stop. */
static void *writer(void *arg)
{
	struct wstats *ws = arg;
	uint64_t rng = 88172645463325252ull;

	while (!atomic_load(&g_stop)) {
		uint64_t k, leaf, *slot, t0, d;
		struct tx *tx;
		int err;

		rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
		k = rng % g_objects;
		slot = &seg_of(k / SEG_SLOTS)[k % SEG_SLOTS];
		t0 = now_ns();
		if ((err = tx_begin(g_heap, &tx)) ||
		    (err = tx_alloc(tx, LEAF_SIZE, T_LEAF, &leaf)))
			die("writer", err);
		memset(pool_ptr(g_pool, leaf), (int)k, LEAF_SIZE);
		if ((err = tx_set(tx, pool_off(g_pool, slot), leaf)) ||
		    (err = tx_free(tx, *slot)) || (err = tx_commit(tx)))
			die("writer", err);
		d = now_ns() - t0;
		ws->ops++;
		ws->sum_ns += d;
		if (d > ws->max_ns)
			ws->max_ns = d;
	}
	return NULL;
}

/* run_writer -- the writer alone or beside collections, for `secs`. */
static void run_writer(double secs, int with_gc, struct wstats *ws,
		       uint64_t *gc_runs, uint64_t *gc_pause)
{
	pthread_t t;
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
	struct gc_stats st;

	memset(ws, 0, sizeof(*ws));
	atomic_store(&g_stop, false);
	pthread_create(&t, NULL, writer, ws);
	*gc_runs = 0;
	*gc_pause = 0;
	while (now_ns() < end) {
		if (with_gc) {
			int err = gc_run(heap_gc(g_heap));
			if (err)
				die("gc_run", err);
			gc_get_stats(heap_gc(g_heap), &st);
			(*gc_runs)++;
			if (st.last_pause_ns > *gc_pause)
				*gc_pause = st.last_pause_ns;
		} else {
			usleep(10000);
		}
	}
	atomic_store(&g_stop, true);
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	const char *dir = "/dev/shm";
	double secs = 3;
	char path[4096];
	struct errmsg em;
	struct gc_stats st;
	struct wstats alone, busy;
	uint64_t runs, pause, dummy, t0;
	int err;

	g_objects = 100000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--objects") && i + 1 < argc)
			g_objects = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			secs = strtod(argv[++i], NULL);
		else {
			fprintf(stderr, "usage: pkv-gcbench [--objects N] "
				"[--dir DIR] [--seconds S]\n");
			return 2;
		}
	}
	if (!getenv("PMEM_IS_PMEM_FORCE"))
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	snprintf(path, sizeof(path), "%s/pkv-gcbench-%ld.pool", dir,
		 (long)getpid());
	uint64_t size = g_objects * 200 + (64ull << 20);
	err = pool_create(path, size, NULL, NULL, &g_pool, &em);
	if (err)
		die(em.text, err);
	if ((err = heap_open(g_pool, &g_heap, &em)))
		die(em.text, err);
	unlink(path);  /* gone when we exit */
	gc_register(heap_gc(g_heap), T_ROOT, trace_words);
	gc_register(heap_gc(g_heap), T_SEG, trace_words);

	printf("pkv-gcbench: %" PRIu64 " live leaves of %d bytes in %s "
	       "(PMEM_IS_PMEM_FORCE=%s, backend %s)\n", g_objects, LEAF_SIZE,
	       dir, getenv("PMEM_IS_PMEM_FORCE"),
	       persist_backend_name(g_pool->persist.backend));
	t0 = now_ns();
	build();
	leak(g_objects / 10);
	printf("  built in %.2f s, %" PRIu64 " leaked leaves\n",
	       (double)(now_ns() - t0) / 1e9, g_objects / 10);

	if ((err = gc_run(heap_gc(g_heap))))
		die("gc_run", err);
	gc_get_stats(heap_gc(g_heap), &st);
	printf("  collection, idle: mark %.1f ms, sweep %.1f ms, pause %.1f us,"
	       " live %" PRIu64 " blocks, reclaimed %" PRIu64 " (rate %.3f)\n",
	       st.last_mark_ns / 1e6, st.last_sweep_ns / 1e6,
	       st.last_pause_ns / 1e3, st.live_blocks, st.reclaimed_blocks,
	       st.reclaim_rate);
	printf("  mark per million live objects: %.1f ms\n",
	       st.last_mark_ns / 1e6 * 1e6 / (double)st.live_blocks);

	run_writer(secs, 0, &alone, &dummy, &dummy);
	run_writer(secs, 1, &busy, &runs, &pause);
	printf("  writer alone:      %" PRIu64 " ops, mean %.2f us, max %.1f us\n",
	       alone.ops, alone.sum_ns / 1e3 / (double)alone.ops,
	       alone.max_ns / 1e3);
	printf("  writer beside GC:  %" PRIu64 " ops, mean %.2f us, max %.1f us"
	       " (%" PRIu64 " collections, longest lane hold %.1f us)\n",
	       busy.ops, busy.sum_ns / 1e3 / (double)busy.ops,
	       busy.max_ns / 1e3, runs, pause / 1e3);
	gc_get_stats(heap_gc(g_heap), &st);
	printf("  last concurrent run: mark %.1f ms, sweep %.1f ms, "
	       "reclaimed %" PRIu64 ", barrier words %" PRIu64 "\n",
	       st.last_mark_ns / 1e6, st.last_sweep_ns / 1e6,
	       st.reclaimed_blocks, st.barrier_words);
	heap_close(g_heap);
	return 0;
}
