/*
 * gc.h -- the heap's mark-sweep collector.
 *
 * Blocks record a type (heap_reserve); each type that holds pool offsets
 * registers a trace function listing them.  A collection marks every block
 * reachable from the pool root and frees, through ordinary transactions,
 * the blocks that were allocated but unreachable.  Its uses:
 *   - recovery audit: after an unclean shutdown, whatever the crash left
 *     allocated but unreachable is reclaimed (gc_audit);
 *   - lazy free: a caller unlinks a whole structure with one store and
 *     leaves its blocks to the collector (gc_request);
 *   - on demand (gc_run) and in the background (gc_start).
 *
 * It runs while other threads read and write.  It snapshots the allocation
 * state while no transaction is in flight (blocks allocated later are
 * never swept by that cycle), and while it marks, transactions report
 * what they overwrite and free (the "snapshot at the beginning" barrier in
 * tx.c), so every block reachable at the snapshot is marked however the
 * graph changes meanwhile.  Before sweeping it waits for a grace period
 * (epoch.h), so a reader still holding a block it reached before the
 * block was unlinked is never left with freed memory.  Mutators wait for
 * it only while it holds every lane: to take the snapshot, and to finish
 * marking (gc_stats.max_pause_ns).
 *
 * Contract for mutators: pointer words in reachable blocks change only
 * through tx_set/tx_write.  A block that becomes unreachable is either
 * freed by the transaction that unlinks it or left to the collector --
 * never published again, never freed later (a collection may already
 * have chosen it, and would free whatever reused its memory).  Do not
 * call gc_run from inside a read-side section (it waits for readers).
 */
#ifndef PKV_GC_H
#define PKV_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

struct gc;

/*
 * A trace function calls visit(vctx, off) for every pool offset the block
 * (data, size bytes) may point to.  It must cope with any bytes (a block
 * being freed and reused under a concurrent collection may hold anything):
 * offsets it reports are checked, so a wrong one only keeps garbage alive
 * until the next cycle.  It must not call into the heap.
 */
typedef void (*gc_visit_fn)(void *vctx, uint64_t off);
typedef void (*gc_trace_fn)(const void *data, uint64_t size,
			    gc_visit_fn visit, void *vctx);

/* gc_trace_words -- for trace functions: visit every nonzero 8-byte
 * word of data from byte `from` to `size` (read once each, as a
 * concurrent writer may change them). */
static inline void gc_trace_words(const void *data, uint64_t size,
				  uint64_t from, gc_visit_fn visit, void *vctx)
{
	const uint64_t *w = data;

	for (uint64_t i = from / 8; i < size / 8; i++) {
		uint64_t x = __atomic_load_n(&w[i], __ATOMIC_RELAXED);
		if (x)
			visit(vctx, x);
	}
}

/* What to do at open when the pool was not shut down cleanly. */
enum gc_audit_mode {
	GC_AUDIT_NOW = 0,             /* collect before returning */
	GC_AUDIT_BACKGROUND,          /* ask the background collector */
	GC_AUDIT_SKIP,                /* leave it (a leak stays until a run) */
};

struct gc_stats {
	uint64_t runs;                /* completed collections */
	uint64_t last_mark_ns;        /* of the last run */
	uint64_t last_sweep_ns;
	uint64_t live_blocks;         /* marked in the last run */
	uint64_t live_bytes;          /* their block sizes */
	uint64_t garbage_blocks;      /* unmarked in the last run's snapshot */
	uint64_t garbage_bytes;
	uint64_t reclaimed_blocks;    /* freed by the last run */
	uint64_t reclaimed_bytes;
	double reclaim_rate;          /* reclaimed / garbage, last run (1 if
					 there was none) */
	uint64_t total_reclaimed_blocks;
	uint64_t total_reclaimed_bytes;
	uint64_t total_mark_ns;
	uint64_t total_sweep_ns;
	uint64_t last_pause_ns;       /* longest hold of every lane, last run */
	uint64_t max_pause_ns;        /* longest over all runs */
	uint64_t barrier_words;       /* words reported by tx while marking */
};

/* gc_new, gc_free -- the heap creates and frees its collector. */
int gc_new(struct heap *h, struct gc **gp);
void gc_free(struct gc *gc);

/*
 * gc_register -- set the trace function of a block type (NULL: the type
 * holds no offsets, the default for every type).  Call before collecting.
 * Returns 0 or PKV_EINVAL (type >= GC_MAX_TYPES).
 */
#define GC_MAX_TYPES 256
int gc_register(struct gc *gc, uint32_t type, gc_trace_fn trace);

/*
 * struct gc_view -- the heap as a transaction not yet committed leaves
 * it: word(ctx, off) is the 8-byte word at pool offset off as the
 * transaction wrote it (or as it is), owns(ctx, data_off) whether the
 * transaction allocated the block whose data is at data_off.
 */
struct gc_view {
	uint64_t (*word)(void *ctx, uint64_t off);
	bool (*owns)(void *ctx, uint64_t data_off);
	void *ctx;
};

/*
 * gc_usage -- the blocks reachable from the block whose data is at off
 * (it included), each counted once, by the registered trace functions:
 * their heap bytes (heap_block_len) to *bytes and their number to
 * *blocks.  With a view (else NULL), what the view's transaction made
 * and changed: its words are traced, and its new blocks counted.  The
 * caller keeps them from changing meanwhile (a key's collection: its
 * stripe held).  Returns 0 or -ENOMEM.
 */
int gc_usage(struct gc *gc, uint64_t off, const struct gc_view *view,
	     uint64_t *bytes, uint64_t *blocks);

/*
 * gc_run -- one whole collection; concurrent calls run one after another.
 * Returns 0, -ENOMEM, the error of a sweep transaction (the blocks not
 * freed stay allocated for the next run), or -EDEADLK at once if the
 * calling thread is in a read-side section or holds a transaction's lane:
 * the collection waits for every reader and every transaction in flight,
 * and would wait for its own caller forever.
 */
int gc_run(struct gc *gc);

/*
 * gc_audit -- the recovery audit: if the pool was not shut down cleanly,
 * collect according to mode.  Returns what gc_run returns, or 0.
 */
int gc_audit(struct gc *gc, enum gc_audit_mode mode);

/*
 * gc_start -- start the background collector thread: it runs a collection
 * when asked (gc_request) and, if interval_ms > 0, that often.  Returns 0
 * or -errno.  gc_stop stops it (gc_free does too).
 */
int gc_start(struct gc *gc, unsigned interval_ms);
void gc_stop(struct gc *gc);

/*
 * gc_request -- ask for a collection soon (lazy free); returns without
 * waiting for it.  Without a background thread, the next gc_run does it.
 */
void gc_request(struct gc *gc);

/* gc_get_stats -- the figures above. */
void gc_get_stats(struct gc *gc, struct gc_stats *st);

/* ---- the barrier, for tx.c ---- */

/* gc_marking -- whether transactions must report what they overwrite. */
bool gc_marking(const struct gc *gc);

/* gc_barrier_words -- the current contents of [p, p+len): words that may
 * be offsets about to be overwritten. */
void gc_barrier_words(struct gc *gc, const void *p, size_t len);

/* gc_barrier_new -- words about to be written at len bytes from src
 * (any alignment; only whole 8-byte words count). */
void gc_barrier_new(struct gc *gc, const void *src, size_t len);

/* gc_barrier_free -- the block at data_off is about to be freed: keep it
 * and what it points to. */
void gc_barrier_free(struct gc *gc, uint64_t data_off);

#endif /* PKV_GC_H */
