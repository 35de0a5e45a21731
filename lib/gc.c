/*
 * gc.c -- mark-sweep collection of unreachable blocks (see gc.h).
 *
 * One cycle:
 *   1. quiesce (hold every lane), snapshot the allocation state, turn the
 *      barrier on, resume;
 *   2. mark from the root, concurrently: a grey stack of offsets, each
 *      checked against the snapshot, traced with its type's function;
 *      the barrier's reports are folded in as more roots;
 *   3. quiesce, fold in the last reports and finish marking, turn the
 *      barrier off, resume;
 *   4. wait for a grace period of the heap's readers;
 *   5. sweep: free every snapshot block left unmarked, a batch of frees
 *      per transaction, so a crash anywhere leaves a consistent heap
 *      whose remaining garbage the next cycle takes.
 *
 * Why the barrier keeps every reachable block: a block reachable at the
 * snapshot has a path from the root.  Either the marker follows the whole
 * path, or some pointer on it is overwritten or its block freed first; the
 * transaction doing that reports the old pointer (tx_set, tx_write) or the
 * freed block and its pointers (tx_free) before the change, and the marker
 * continues from there.  Blocks allocated after the snapshot are not in
 * it: never swept, never traced (what they point to was reachable at the
 * snapshot, or is new as well).
 *
 * Nothing here is persistent: marks and snapshot are volatile, and the
 * sweep frees through ordinary transactions.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "pkv.h"
#include "gc.h"
#include "tx.h"
#include "epoch.h"
#include "offvec.h"

struct gc {
	struct heap *heap;
	gc_trace_fn trace[GC_MAX_TYPES];
	pthread_mutex_t run_mtx;      /* one collection at a time */
	atomic_bool marking;          /* the barrier is on */

	pthread_mutex_t buf_mtx;      /* guards buf, nomem */
	struct offvec buf;            /* barrier reports */
	bool nomem;                   /* a report was lost: do not sweep */

	/* one cycle's state (run_mtx held) */
	struct heap_snap *snap;
	uint64_t *marks;              /* bit per snapshot block index */
	struct offvec grey;
	bool grey_nomem;

	/* background thread */
	pthread_mutex_t bg_mtx;
	pthread_cond_t bg_cond;
	pthread_t thread;
	bool bg_running, bg_stop;
	unsigned interval_ms;
	atomic_bool requested;

	pthread_mutex_t st_mtx;       /* guards st */
	struct gc_stats st;
	_Atomic uint64_t barrier_words;
};

/* gc_now -- monotonic nanoseconds. */
static uint64_t gc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* gc_new -- a collector with no trace functions and no thread. */
int gc_new(struct heap *h, struct gc **gp)
{
	struct gc *gc = calloc(1, sizeof(*gc));

	if (!gc)
		return -ENOMEM;
	gc->heap = h;
	pthread_mutex_init(&gc->run_mtx, NULL);
	pthread_mutex_init(&gc->buf_mtx, NULL);
	pthread_mutex_init(&gc->bg_mtx, NULL);
	pthread_cond_init(&gc->bg_cond, NULL);
	pthread_mutex_init(&gc->st_mtx, NULL);
	atomic_init(&gc->marking, false);
	atomic_init(&gc->requested, false);
	*gp = gc;
	return 0;
}

/* gc_free -- stop the thread, free everything. */
void gc_free(struct gc *gc)
{
	if (!gc)
		return;
	gc_stop(gc);
	pthread_mutex_destroy(&gc->run_mtx);
	pthread_mutex_destroy(&gc->buf_mtx);
	pthread_mutex_destroy(&gc->bg_mtx);
	pthread_cond_destroy(&gc->bg_cond);
	pthread_mutex_destroy(&gc->st_mtx);
	free(gc->buf.v);
	free(gc->grey.v);
	free(gc);
}

/* gc_register -- set a type's trace function. */
int gc_register(struct gc *gc, uint32_t type, gc_trace_fn trace)
{
	if (type >= GC_MAX_TYPES)
		return PKV_EINVAL;
	gc->trace[type] = trace;
	return 0;
}

/* ---- what a collection holds (MEMORY USAGE) ---- */

/* The blocks a usage walk has counted, and those still to trace. */
struct gc_walk {
	struct offset_set seen;
	struct offvec todo;
	bool nomem;
};

/* gc_walk_visit -- a trace function's report: traced later. */
static void gc_walk_visit(void *vctx, uint64_t off)
{
	struct gc_walk *w = vctx;

	if (!offvec_push(&w->todo, off))
		w->nomem = true;
}

/*
 * gc_usage_block -- (gc_usage) whether x is a block, in the pool or, with
 * a view (else NULL), new in the view's transaction: its size, type and
 * heap bytes.
 */
static bool gc_usage_block(struct gc *gc, const struct gc_view *view,
			   uint64_t x, uint64_t *size, uint32_t *type,
			   uint64_t *len)
{
	const struct block_hdr *bh;

	if (heap_block_valid(gc->heap, x, size, type)) {
		*len = heap_block_len(gc->heap, x);
		return true;
	}
	if (!view || !view->owns(view->ctx, x) ||
	    !(*len = heap_block_len_reserved(gc->heap, x)))
		return false;
	/* a new block: its header was written in place at alloc */
	bh = pool_ptr(heap_pool(gc->heap), x - BLOCK_HDR_SIZE);
	if (bh->size > *len - BLOCK_HDR_SIZE)
		return false;
	*size = bh->size;
	*type = bh->type;
	return true;
}

/* gc_view_copy -- the data of the block at x (size bytes) with the view's
 * words over the pool's, into *buf (grown as needed); NULL without
 * memory. */
static const void *gc_view_copy(const struct gc_view *view, uint64_t x,
				uint64_t size, uint64_t **buf, uint64_t *cap)
{
	uint64_t words = (size + 7) / 8;

	if (words > *cap) {
		uint64_t *b = realloc(*buf, words * sizeof(*b));
		if (!b)
			return NULL;
		*buf = b;
		*cap = words;
	}
	for (uint64_t i = 0; i < words; i++)
		(*buf)[i] = view->word(view->ctx, x + 8 * i);
	return *buf;
}

/* gc_usage -- see gc.h. */
int gc_usage(struct gc *gc, uint64_t off, const struct gc_view *view,
	     uint64_t *bytes, uint64_t *blocks)
{
	struct pool *pool = heap_pool(gc->heap);
	struct gc_walk w = { { NULL, 0, 0 }, { NULL, 0, 0 }, false };
	uint64_t *buf = NULL, cap = 0;

	*bytes = *blocks = 0;
	gc_walk_visit(&w, off);
	while (w.todo.n && !w.nomem) {
		uint64_t x = w.todo.v[--w.todo.n], size, len;
		const void *data;
		uint32_t type;
		int added;
		if (!gc_usage_block(gc, view, x, &size, &type, &len))
			continue;
		if ((added = offset_set_add(&w.seen, x)) <= 0) {
			w.nomem |= added < 0;
			continue;
		}
		data = view ? gc_view_copy(view, x, size, &buf, &cap)
			    : pool_ptr(pool, x);
		if (!data) {
			w.nomem = true;
			break;
		}
		*bytes += len;
		(*blocks)++;
		if (type < GC_MAX_TYPES && gc->trace[type])
			gc->trace[type](data, size, gc_walk_visit, &w);
	}
	free(buf);
	free(w.seen.v);
	free(w.todo.v);
	return w.nomem ? -ENOMEM : 0;
}

/* ---- marking ---- */

/* gc_grey -- mark the snapshot block at off, if it is one, and queue it. */
static void gc_grey(struct gc *gc, uint64_t off)
{
	uint64_t cap;
	int64_t idx = heap_snap_find(gc->snap, off, &cap);

	if (idx < 0)
		return;
	if (gc->marks[idx / 64] & (1ull << (idx % 64)))
		return;
	gc->marks[idx / 64] |= 1ull << (idx % 64);
	if (!offvec_push(&gc->grey, off))
		gc->grey_nomem = true;
}

/* gc_visit -- what trace functions call. */
static void gc_visit(void *vctx, uint64_t off)
{
	gc_grey(vctx, off);
}

/* gc_trace_block -- report the offsets held by the block at data_off. */
static void gc_trace_block(struct gc *gc, uint64_t data_off, uint64_t cap,
			   gc_visit_fn visit, void *vctx)
{
	struct pool *pool = heap_pool(gc->heap);
	const struct block_hdr *bh = pool_ptr(pool, data_off - BLOCK_HDR_SIZE);
	/* Another thread may be reusing a block the snapshot still lists:
	 * read the header once, and trust nothing past the block. */
	uint32_t type = __atomic_load_n(&bh->type, __ATOMIC_RELAXED);
	uint64_t size = __atomic_load_n(&bh->size, __ATOMIC_RELAXED);
	gc_trace_fn fn = type < GC_MAX_TYPES ? gc->trace[type] : NULL;

	if (fn)
		fn(pool_ptr(pool, data_off), size < cap ? size : cap, visit,
		   vctx);
}

/* gc_drain_grey -- trace until the grey stack is empty. */
static void gc_drain_grey(struct gc *gc)
{
	while (gc->grey.n) {
		uint64_t off = gc->grey.v[--gc->grey.n], cap;
		if (heap_snap_find(gc->snap, off, &cap) >= 0)
			gc_trace_block(gc, off, cap, gc_visit, gc);
	}
}

/* gc_take_reports -- grey what the barrier reported; how many there were. */
static size_t gc_take_reports(struct gc *gc)
{
	struct offvec got;

	pthread_mutex_lock(&gc->buf_mtx);
	got = gc->buf;
	memset(&gc->buf, 0, sizeof(gc->buf));
	pthread_mutex_unlock(&gc->buf_mtx);
	for (size_t i = 0; i < got.n; i++)
		gc_grey(gc, got.v[i]);
	free(got.v);
	return got.n;
}

/* gc_report -- a barrier report (buf_mtx held). */
static void gc_report(struct gc *gc, uint64_t off)
{
	if (!offvec_push(&gc->buf, off))
		gc->nomem = true;
}

/* gc_marking -- the barrier is on. */
bool gc_marking(const struct gc *gc)
{
	return atomic_load_explicit(&gc->marking, memory_order_relaxed);
}

/* gc_barrier_words -- report every word of a range about to change. */
void gc_barrier_words(struct gc *gc, const void *p, size_t len)
{
	const uint64_t *w = p;

	pthread_mutex_lock(&gc->buf_mtx);
	for (size_t i = 0; i < (len + 7) / 8; i++)
		if (w[i])
			gc_report(gc, w[i]);
	pthread_mutex_unlock(&gc->buf_mtx);
	atomic_fetch_add_explicit(&gc->barrier_words, (len + 7) / 8,
				  memory_order_relaxed);
}

/* gc_barrier_new -- report the words being written (unaligned source). */
void gc_barrier_new(struct gc *gc, const void *src, size_t len)
{
	const unsigned char *p = src;

	pthread_mutex_lock(&gc->buf_mtx);
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w)
			gc_report(gc, w);
	}
	pthread_mutex_unlock(&gc->buf_mtx);
}

/* gc_report_visit -- trace callback that reports under buf_mtx. */
static void gc_report_visit(void *vctx, uint64_t off)
{
	gc_report(vctx, off);
}

/* gc_barrier_free -- report a block about to be freed and its pointers. */
void gc_barrier_free(struct gc *gc, uint64_t data_off)
{
	uint64_t size;

	/* The block is intact until the free is applied: trace it now,
	 * bounded by its own recorded size. */
	if (!heap_block_valid(gc->heap, data_off, &size, NULL))
		return;
	pthread_mutex_lock(&gc->buf_mtx);
	gc_report(gc, data_off);
	gc_trace_block(gc, data_off, size, gc_report_visit, gc);
	pthread_mutex_unlock(&gc->buf_mtx);
}

/* ---- one cycle ---- */

/* gc_pause_end -- resume mutators and account the pause since t0. */
static void gc_pause_end(struct gc *gc, uint64_t t0, uint64_t *longest)
{
	uint64_t d;

	redo_resume(heap_redo(gc->heap));
	d = gc_now() - t0;
	if (d > *longest)
		*longest = d;
}

/* gc_mark -- phases 1 to 3.  Returns 0, or -ENOMEM (sweep nothing). */
static int gc_mark(struct gc *gc, uint64_t *pause)
{
	struct redo *redo = heap_redo(gc->heap);
	struct pool *pool = heap_pool(gc->heap);
	uint64_t t0;
	int err;

	t0 = gc_now();
	redo_quiesce(redo);
	err = heap_snap_take(gc->heap, &gc->snap);
	if (!err) {
		gc->marks = calloc(heap_snap_limit(gc->snap) / 64 + 1, 8);
		if (!gc->marks)
			err = -ENOMEM;
	}
	if (!err) {
		gc->grey.n = 0;
		gc->grey_nomem = false;
		gc->nomem = false;
		gc_grey(gc, pool->state->root);
		atomic_store(&gc->marking, true);
	}
	gc_pause_end(gc, t0, pause);
	if (err)
		return err;

	/* Concurrent marking; fold in reports until there are few. */
	for (int round = 0; round < 64; round++) {
		gc_drain_grey(gc);
		if (gc_take_reports(gc) < 64)
			break;
	}

	/* Finish with mutators held, so nothing is reported unseen. */
	t0 = gc_now();
	redo_quiesce(redo);
	do
		gc_drain_grey(gc);
	while (gc_take_reports(gc));
	atomic_store(&gc->marking, false);
	gc_pause_end(gc, t0, pause);

	pthread_mutex_lock(&gc->buf_mtx);
	if (gc->nomem)
		gc->grey_nomem = true;
	pthread_mutex_unlock(&gc->buf_mtx);
	return gc->grey_nomem ? -ENOMEM : 0;
}

/* Frees per sweep transaction at most: a crash loses little work. */
#define GC_SWEEP_BATCH 1024

/* Sweep state: a transaction collecting up to `batch` frees. */
struct gc_sweep {
	struct gc *gc;
	struct tx *tx;
	unsigned in_tx, batch;
	uint64_t tx_bytes;
	uint64_t live_blocks, live_bytes;
	uint64_t garbage_blocks, garbage_bytes;
	uint64_t freed_blocks, freed_bytes;
	int err;
};

/* gc_sweep_commit -- commit the batch in progress. */
static void gc_sweep_commit(struct gc_sweep *sw)
{
	int err;

	if (!sw->tx)
		return;
	err = tx_commit(sw->tx);
	sw->tx = NULL;
	if (err) {
		if (!sw->err)
			sw->err = err;
	} else {
		sw->freed_blocks += sw->in_tx;
		sw->freed_bytes += sw->tx_bytes;
	}
	sw->in_tx = 0;
	sw->tx_bytes = 0;
}

/* gc_sweep_block -- count a snapshot block; free it if unmarked. */
static int gc_sweep_block(void *ctx, uint64_t data_off, uint64_t index,
			  uint64_t block_len)
{
	struct gc_sweep *sw = ctx;
	struct gc *gc = sw->gc;
	int err;

	if (gc->marks[index / 64] & (1ull << (index % 64))) {
		sw->live_blocks++;
		sw->live_bytes += block_len;
		return 0;
	}
	sw->garbage_blocks++;
	sw->garbage_bytes += block_len;
	if (!sw->tx) {
		err = tx_begin(gc->heap, &sw->tx);
		if (err) {
			sw->err = err;
			return 0;
		}
	}
	err = tx_free(sw->tx, data_off);
	if (err) {
		/* Not allocated any more can only mean a mutator broke the
		 * contract; leave it.  Anything else: stop here. */
		if (err != PKV_EINVAL && !sw->err)
			sw->err = err;
		return 0;
	}
	sw->in_tx++;
	sw->tx_bytes += block_len;
	if (sw->in_tx == sw->batch)
		gc_sweep_commit(sw);
	return 0;
}

/* gc_cycle -- a whole collection (run_mtx held). */
static int gc_cycle(struct gc *gc)
{
	struct gc_sweep sw = { .gc = gc };
	uint64_t t0 = gc_now(), t1, t2, pause = 0;
	int err;

	/* Frees per transaction: what one record holds, 16 bytes each. */
	sw.batch = (unsigned)(redo_max_entries(heap_redo(gc->heap)) / 16);
	if (sw.batch > GC_SWEEP_BATCH)
		sw.batch = GC_SWEEP_BATCH;
	atomic_store(&gc->requested, false);
	err = gc_mark(gc, &pause);
	t1 = gc_now();
	if (!err) {
		/* Readers that reached a block before it was unlinked. */
		epoch_synchronize(heap_epoch(gc->heap));
		heap_snap_foreach(gc->snap, gc_sweep_block, &sw);
		gc_sweep_commit(&sw);
		err = sw.err;
	}
	t2 = gc_now();
	heap_snap_free(gc->snap);
	gc->snap = NULL;
	free(gc->marks);
	gc->marks = NULL;

	pthread_mutex_lock(&gc->st_mtx);
	gc->st.runs++;
	gc->st.last_mark_ns = t1 - t0;
	gc->st.last_sweep_ns = t2 - t1;
	gc->st.total_mark_ns += t1 - t0;
	gc->st.total_sweep_ns += t2 - t1;
	gc->st.live_blocks = sw.live_blocks;
	gc->st.live_bytes = sw.live_bytes;
	gc->st.garbage_blocks = sw.garbage_blocks;
	gc->st.garbage_bytes = sw.garbage_bytes;
	gc->st.reclaimed_blocks = sw.freed_blocks;
	gc->st.reclaimed_bytes = sw.freed_bytes;
	gc->st.reclaim_rate = sw.garbage_blocks ?
		(double)sw.freed_blocks / (double)sw.garbage_blocks : 1.0;
	gc->st.total_reclaimed_blocks += sw.freed_blocks;
	gc->st.total_reclaimed_bytes += sw.freed_bytes;
	gc->st.last_pause_ns = pause;
	if (pause > gc->st.max_pause_ns)
		gc->st.max_pause_ns = pause;
	pthread_mutex_unlock(&gc->st_mtx);
	return err;
}

/* gc_run -- one collection. */
int gc_run(struct gc *gc)
{
	int err;

	if (epoch_thread_inside() || redo_held_here(heap_redo(gc->heap)))
		return -EDEADLK;
	pthread_mutex_lock(&gc->run_mtx);
	err = gc_cycle(gc);
	pthread_mutex_unlock(&gc->run_mtx);
	return err;
}

/* gc_audit -- collect after an unclean shutdown. */
int gc_audit(struct gc *gc, enum gc_audit_mode mode)
{
	if (heap_pool(gc->heap)->was_clean || mode == GC_AUDIT_SKIP)
		return 0;
	if (mode == GC_AUDIT_BACKGROUND) {
		gc_request(gc);
		return 0;
	}
	return gc_run(gc);
}

/* ---- background ---- */

/* gc_thread -- collect when asked or every interval, until stopped. */
static void *gc_thread(void *arg)
{
	struct gc *gc = arg;

	prctl(PR_SET_NAME, "pkv-gc");       /* in top -H, perf, gdb */
	/* The allocator's bitmaps, left unread by the open (heap.h). */
	heap_load_runs(gc->heap);
	pthread_mutex_lock(&gc->bg_mtx);
	while (!gc->bg_stop) {
		if (!atomic_load(&gc->requested)) {
			if (gc->interval_ms) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += gc->interval_ms / 1000;
				ts.tv_nsec += (long)(gc->interval_ms % 1000) *
					      1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				if (pthread_cond_timedwait(&gc->bg_cond,
							   &gc->bg_mtx, &ts) &&
				    !gc->bg_stop)
					atomic_store(&gc->requested, true);
			} else {
				pthread_cond_wait(&gc->bg_cond, &gc->bg_mtx);
			}
			continue;
		}
		pthread_mutex_unlock(&gc->bg_mtx);
		gc_run(gc);
		pthread_mutex_lock(&gc->bg_mtx);
	}
	pthread_mutex_unlock(&gc->bg_mtx);
	return NULL;
}

/* gc_start -- start the background thread. */
int gc_start(struct gc *gc, unsigned interval_ms)
{
	int err = 0;

	pthread_mutex_lock(&gc->bg_mtx);
	if (!gc->bg_running) {
		gc->bg_stop = false;
		gc->interval_ms = interval_ms;
		err = -pthread_create(&gc->thread, NULL, gc_thread, gc);
		gc->bg_running = err == 0;
	}
	pthread_mutex_unlock(&gc->bg_mtx);
	return err;
}

/* gc_stop -- stop and join the background thread. */
void gc_stop(struct gc *gc)
{
	pthread_mutex_lock(&gc->bg_mtx);
	if (!gc->bg_running) {
		pthread_mutex_unlock(&gc->bg_mtx);
		return;
	}
	gc->bg_stop = true;
	pthread_cond_signal(&gc->bg_cond);
	pthread_mutex_unlock(&gc->bg_mtx);
	pthread_join(gc->thread, NULL);
	gc->bg_running = false;
}

/* gc_request -- ask for a collection. */
void gc_request(struct gc *gc)
{
	atomic_store(&gc->requested, true);
	pthread_mutex_lock(&gc->bg_mtx);
	pthread_cond_signal(&gc->bg_cond);
	pthread_mutex_unlock(&gc->bg_mtx);
}

/* gc_get_stats -- copy the figures. */
void gc_get_stats(struct gc *gc, struct gc_stats *st)
{
	pthread_mutex_lock(&gc->st_mtx);
	*st = gc->st;
	pthread_mutex_unlock(&gc->st_mtx);
	st->barrier_words = atomic_load(&gc->barrier_words);
}
