/*
 * heap.h -- the persistent heap: chunks, runs of fixed-size blocks in size
 * classes, huge spans, volatile free lists rebuilt at open, statistics.
 *
 * Allocation is two-phase.  heap_reserve() takes a block in volatile state
 * only (no other thread can get it) and says which persistent word must
 * change to record it; the transaction logs that change and applies it at
 * commit, together with whatever publishes the block.  heap_cancel() gives
 * an uncommitted reservation back.  Frees are the mirror image:
 * heap_prepare_free() says which word to change, and heap_free_applied()
 * makes the block reusable only after the change is committed and applied,
 * so a block is never handed out while a committed free of it could still
 * be lost.
 *
 * Small sizes come from runs: a chunk whose header names a size class,
 * with an allocation bitmap at its start.  Classes are spaced so internal
 * fragmentation stays under 12.5%.  Bigger sizes take spans of whole
 * chunks.  Each lane keeps a current run per class and takes blocks from it
 * with a compare-and-swap on the volatile bitmap, so threads allocate
 * without a global lock; a class mutex is taken only to change runs, and
 * the chunk mutex only to carve a new run or a huge span.
 *
 * Offsets handed to callers are of the caller's data, just past the
 * block's struct block_hdr.
 */
#ifndef PKV_HEAP_H
#define PKV_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "offvec.h"
#include "pool.h"
#include "redo.h"
#include "errmsg.h"

#define HEAP_MAX_CLASSES 96

struct heap;

/* The persistent change that records one reservation or free. */
struct heap_action {
	unsigned op;                  /* LOG_OP_OR, LOG_OP_AND or LOG_OP_SET */
	uint64_t word_off;            /* bitmap word or chunk header */
	uint64_t value;               /* operand for op */
	uint64_t block_off;           /* block start (its block_hdr) */
	uint64_t block_len;           /* bytes of the block, header included */
	uint32_t chunk;               /* chunk index of the run or span */
	uint32_t bit;                 /* block index in its run */
	bool is_free;                 /* a free, not a reservation */
	bool huge;                    /* a span of chunks, not a run block */
};

/* Per size class figures. */
struct heap_class_stats {
	uint32_t block_size;          /* bytes per block, header included */
	uint32_t runs;                /* chunks used as runs of this class */
	uint64_t blocks_total;        /* blocks in those runs */
	uint64_t blocks_used;         /* allocated or reserved */
};

struct heap_stats {
	uint64_t heap_bytes;          /* nchunks * hdr.chunk_size */
	uint64_t chunks_total;
	uint64_t chunks_free;
	uint64_t chunks_huge;         /* chunks in allocated spans */
	uint64_t allocated_bytes;     /* sum of allocated block sizes */
	uint64_t allocated_blocks;    /* run blocks + spans */
	double utilization;           /* allocated_bytes / heap_bytes */
	uint64_t free_bytes;          /* in free chunks */
	uint64_t active_bytes;        /* in the chunks runs and spans hold */
	double frag_ratio;            /* active / allocated (Redis's
					 allocator_frag_ratio); 0 when
					 nothing is allocated */
	unsigned nclasses;
	struct heap_class_stats cls[HEAP_MAX_CLASSES];
};

/*
 * heap_grow -- give the heap nchunks chunks (no-op when it has as many):
 * the pool grows durably first (pool_grow), then the new chunks are free
 * for allocations.  Returns 0 or pool_grow's codes (message in *em).
 */
int heap_grow(struct heap *h, uint64_t nchunks, struct errmsg *em);

/*
 * heap_give_back -- a checkpoint, the limbo's drain, then every empty
 * run's chunk back to the free chunks (allocations do this themselves
 * when they find no room).  Returns how many runs gave their chunk.
 */
size_t heap_give_back(struct heap *h);

/*
 * heap_evacuate_begin -- in each size class, the sparsest runs, at most
 * max_pct percent full, whose blocks the class's other runs have room
 * for, stop handing out blocks, so that once their live blocks are moved
 * (a new block elsewhere, the old one freed) they can go back to the
 * free chunks (heap_give_back).  max_pct 100: every run, room or not
 * (the moves then make new runs; for the crash simulator).  Their chunks
 * to *chunks; returns 0 or -ENOMEM.  One evacuation at a time: the next
 * waits for heap_evacuate_end, which lets them hand out blocks again (if
 * they are still runs) and frees the list.
 */
int heap_evacuate_begin(struct heap *h, unsigned max_pct,
			struct offvec *chunks);
void heap_evacuate_end(struct heap *h, struct offvec *chunks);

/*
 * heap_shrink -- give back the free chunks at the end of the heap: the
 * pool file shrinks to its last chunk in use (pool_shrink).  For a pool
 * nothing else uses (pkv compact); every block in those chunks is free
 * and past its grace period, so no reader can be there.  0 or -errno.
 */
int heap_shrink(struct heap *h, struct errmsg *em);

/*
 * heap_set_autogrow -- whether an allocation that finds no room grows the
 * heap (by a quarter, up to the pool's maximum) instead of failing.
 */
void heap_set_autogrow(struct heap *h, bool on);

/*
 * heap_set_reserve -- keep chunks for `bytes` of allocations (and a run
 * for each of three classes) that ordinary allocations may not take: a
 * full pool then still has room for what frees space, as new empty
 * tables for FLUSHDB.  At most an eighth of the heap.
 */
void heap_set_reserve(struct heap *h, uint64_t bytes);

/*
 * heap_use_reserve -- whether this thread's allocations may take the
 * reserved chunks (off by default; on only around an operation that
 * frees far more than it takes).
 */
void heap_use_reserve(bool on);

/* heap_take_was_full -- whether an allocation found no room since the
 * last call (and forget it). */
bool heap_take_was_full(struct heap *h);

/*
 * heap_open -- recover the pool's redo logs and rebuild the volatile
 * allocator state from the chunk headers (the run bitmaps are read
 * later, see heap_load_runs).  The heap takes over `pool` (heap_close
 * closes it); on failure the pool is left to the caller.  Returns 0,
 * -ENOMEM or PKV_ECORRUPT (a chunk header that cannot be right, with its
 * offset).  The same as heap_open_begin then heap_open_finish.
 */
int heap_open(struct pool *pool, struct heap **hp, struct errmsg *em);

/*
 * heap_open_begin -- the first half of heap_open: replay the logs in
 * place, keeping what they overwrite, and rebuild the allocator, writing
 * back and marking nothing.  Then the caller checks what it needs to (the
 * key-value root) and calls heap_open_finish, or heap_open_cancel, which
 * puts every replayed byte back: a pool refused there is left as it was.
 * On failure nothing is changed and the pool is left to the caller.
 */
int heap_open_begin(struct pool *pool, struct heap **hp, struct errmsg *em);

/* heap_open_finish -- the replay made durable, the pool marked in use.
 * Returns 0, or an I/O error (the heap freed, the pool left to the
 * caller). */
int heap_open_finish(struct heap *h, struct errmsg *em);

/* heap_open_cancel -- undo heap_open_begin: the replayed bytes put back,
 * the heap freed, the pool left to the caller. */
void heap_open_cancel(struct heap *h);

/* heap_close -- make everything durable, close the pool, free the heap. */
void heap_close(struct heap *h);

/*
 * heap_abandon -- close without marking a clean shutdown (a failed open
 * above the heap): the next open still sees an unclean pool and runs its
 * recovery audit.
 */
void heap_abandon(struct heap *h);

/* heap_pool, heap_redo -- the layers below. */
struct pool *heap_pool(const struct heap *h);
struct redo *heap_redo(const struct heap *h);

/*
 * heap_reserve -- reserve a block for `size` bytes of data for the lane
 * `lane_id`, and write its block_hdr (size, type) unflushed.  Fills act.
 * Returns 0, PKV_EINVAL (size 0 or too large for any pool) or PKV_EFULL.
 */
int heap_reserve(struct heap *h, unsigned lane_id, size_t size, uint32_t type,
		 struct heap_action *act);

/* heap_cancel -- give back a reservation that was not committed. */
void heap_cancel(struct heap *h, const struct heap_action *act);

/*
 * heap_prepare_free -- describe the free of the block whose data starts at
 * data_off.  Returns 0 or PKV_EINVAL (not the start of an allocated block).
 */
int heap_prepare_free(struct heap *h, uint64_t data_off,
		      struct heap_action *act);

/*
 * heap_free_applied -- a free committed with seq `seq` has been applied in
 * place: the block may be handed out again once no reader can still hold
 * it and a checkpoint has passed seq (before, a replay of an older record
 * could write into its new owner).  It waits in a limbo list; once
 * HEAP_LIMBO_BATCH frees have gathered, heap_limbo_maybe_drain (called by
 * a committing thread after it has given its lane back, so a collector
 * waiting for lanes is never waiting for it) waits for a grace period of
 * the heap's epoch and releases those the watermark has passed -- not
 * when the thread is itself inside a read-side section -- and checkpoints
 * first when the limbo has grown large (with a background checkpointer,
 * which runs every period anyway, only asks it to, and later).  An allocation that finds the
 * heap full checkpoints, drains the limbo and tries again.  A thread
 * inside a read-side section must not begin a transaction.
 */
#define HEAP_LIMBO_BATCH 128
#define HEAP_LIMBO_CHECKPOINT 4096  /* frees that make a drain checkpoint */
#define HEAP_LIMBO_NUDGE 65536      /* ... or ask the checkpointer for one
				       (at least; more in a big pool) */
#define HEAP_LIMBO_NUDGE_MAX (1u << 20)
void heap_free_applied(struct heap *h, const struct heap_action *act,
		       uint64_t seq);
void heap_limbo_maybe_drain(struct heap *h);

/*
 * heap_checkpoint -- write back what committed transactions changed,
 * raise the watermark (redo_checkpoint), and make the freed blocks it
 * passes reusable.  For a maintenance thread, and before a long idle
 * period.  Not from inside a read-side section.  Returns 0 or -errno.
 */
int heap_checkpoint(struct heap *h);

/* heap_lane_tx -- per lane, a pointer the transaction layer keeps its
 * handle in (freed with the heap). */
void **heap_lane_tx(struct heap *h);

/*
 * heap_block_valid -- whether data_off is the data of an allocated block
 * (persistent state); fills its size and type when it is.
 */
bool heap_block_valid(const struct heap *h, uint64_t data_off,
		      uint64_t *sizep, uint32_t *typep);

/*
 * heap_block_of -- the offset (of its struct block_hdr) of the block of
 * a run or huge span that holds pool offset off, or 0, read from the
 * volatile state without a lock: right for a block the caller has
 * reserved or allocated; for any other offset, some block or 0.
 */
uint64_t heap_block_of(const struct heap *h, uint64_t off);

/* heap_block_len -- the heap bytes the allocated block whose data is at
 * data_off takes (its run's block, or its span's chunks), header
 * included; 0 if it is no such block (persistent state). */
uint64_t heap_block_len(const struct heap *h, uint64_t data_off);

/* heap_block_len_reserved -- heap_block_len from the volatile state: right
 * also for a block the caller has reserved and not yet committed (a
 * batch's new entry); for any other offset, some length or 0. */
uint64_t heap_block_len_reserved(const struct heap *h, uint64_t data_off);

/*
 * heap_foreach_block -- call fn for every allocated block (persistent
 * state), in offset order; stops and returns fn's value when it is not 0.
 */
int heap_foreach_block(const struct heap *h,
		       int (*fn)(void *ctx, uint64_t data_off, uint64_t size,
				 uint32_t type),
		       void *ctx);

/*
 * heap_run_foreach_block -- heap_foreach_block over the run in one chunk
 * (nothing if it is not a run).  Safe beside writers: what it reads may
 * be stale by the time fn looks (the caller checks under its locks).
 */
int heap_run_foreach_block(const struct heap *h, uint32_t chunk,
			   int (*fn)(void *ctx, uint64_t data_off,
				     uint64_t size, uint32_t type),
			   void *ctx);

/*
 * heap_check -- verify that the volatile state agrees with the persistent
 * state (same blocks allocated, counts consistent, no reserved block
 * marked free).  Only meaningful when no transaction is in flight.
 * Returns 0 or PKV_ECORRUPT with the first difference in em.
 */
int heap_check(struct heap *h, struct errmsg *em);

/*
 * heap_load_runs -- read the bitmap of every run not read yet.  Opening
 * reads only the chunk headers; a run's bitmap is read when a free or a
 * reservation first needs it, or here (the collector's thread calls this
 * when it starts, so the first allocation in a class after a restart
 * does not read them).  Safe at any time, from any thread.
 */
void heap_load_runs(struct heap *h);

/* heap_limbo_drain -- wait for a grace period and make every block in the
 * limbo that the watermark has passed reusable; how many.  Not from inside
 * a read section. */
size_t heap_limbo_drain(struct heap *h);

/* heap_get_stats -- utilization and per-class figures. */
void heap_get_stats(const struct heap *h, struct heap_stats *st);

/* heap_headroom -- bytes the heap can still give to new runs and big
 * values: its free chunks, and the growth a pool of size bytes may take
 * up to max_size. */
uint64_t heap_headroom(const struct heap_stats *st, uint64_t size,
		       uint64_t max_size);

/* heap_recovery_stats -- what redo recovery did when the heap opened. */
const struct redo_recovery_stats *heap_recovery_stats(const struct heap *h);

/* heap_epoch -- grace periods for readers of this heap's blocks. */
struct epoch *heap_epoch(struct heap *h);

/* heap_gc -- the heap's collector (gc.h). */
struct gc *heap_gc(const struct heap *h);

/*
 * Snapshots of the allocation state, for the collector.  Each block that
 * can exist has an index below heap_snap_limit(): its chunk shifted left
 * by HEAP_SNAP_SHIFT, plus its number in the run (0 for a huge span).
 */
#define HEAP_SNAP_SHIFT 13          /* a run holds fewer than 8192 blocks */

struct heap_snap;

/*
 * heap_snap_take -- copy which blocks are allocated.  The caller makes
 * sure no transaction is in flight (redo_quiesce), so the persistent
 * state is the whole truth.  Returns 0 or -ENOMEM.
 */
int heap_snap_take(struct heap *h, struct heap_snap **sp);

/* heap_snap_free -- release a snapshot. */
void heap_snap_free(struct heap_snap *s);

/* heap_snap_limit -- one past the largest block index. */
uint64_t heap_snap_limit(const struct heap_snap *s);

/*
 * heap_snap_find -- the index of the block whose data starts at data_off
 * if it was allocated in the snapshot, else -1 (any value is accepted: a
 * collector feeds it words it is not sure are pointers).  *capp gets the
 * bytes of data the block can hold.
 */
int64_t heap_snap_find(const struct heap_snap *s, uint64_t data_off,
		       uint64_t *capp);

/*
 * heap_snap_foreach -- call fn for every block allocated in the snapshot,
 * in offset order, with its data offset, index and block length (header
 * included); stops and returns fn's value when it is not 0.
 */
int heap_snap_foreach(const struct heap_snap *s,
		      int (*fn)(void *ctx, uint64_t data_off, uint64_t index,
				uint64_t block_len),
		      void *ctx);

/* heap_class_size -- block size (header included) serving `size` bytes of
 * data, or 0 when it takes a huge span. */
size_t heap_class_size(size_t size);

#endif /* PKV_HEAP_H */
