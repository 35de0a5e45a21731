/*
 * heap_int.h -- the heap's volatile structures, shared by the files that
 * make up the heap (heap.c: allocation and rebuild; heap_snap.c: snapshots
 * for the collector).  Nothing outside the heap includes this.
 */
#ifndef PKV_HEAP_INT_H
#define PKV_HEAP_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "heap.h"
#include "epoch.h"

#define RUN_MAX_BLOCK (32u << 10)  /* the classes in powers of two end
					here; then fractions of a chunk (up
					to a half), then huge spans */

enum chunk_state {
	CS_FREE = 0,
	CS_RUN,
	CS_HUGE,          /* first chunk of an allocated or reserved span */
	CS_HUGE_INNER,    /* other chunks of that span */
};

struct heap_run {
	uint32_t chunk;               /* chunk index */
	uint32_t cls;                 /* size class */
	_Atomic uint64_t *vbits;      /* volatile bitmap: 1 = taken (NULL
					 until loaded) */
	atomic_uint nfree;            /* zero bits among the blocks (0
					 until loaded) */
	atomic_bool loaded;           /* vbits and nfree read from the
					 persistent bitmap (heap_run_load) */
	atomic_bool evacuating;       /* no new block here: its live ones
					 are being moved out
					 (heap_evacuate_begin) */
	struct heap_run *retired_next; /* once its chunk went back to the
					 free chunks (heap_run_retire): kept,
					 every block taken, until close */
};

struct heap_class {
	uint32_t block_size;          /* header included */
	uint32_t nblocks;             /* per run */
	uint32_t nwords;              /* bitmap words */
	uint32_t hdr_bytes;           /* bitmap area, cache-line rounded */
	pthread_mutex_t mtx;          /* guards runs/nruns/cursor */
	struct heap_run **runs;       /* every run of the class */
	size_t nruns, cap;
	size_t cursor;                /* where the next search starts */
};

/* A freed block waiting to be reusable, and the commit that freed it. */
struct heap_limbo {
	struct heap_action act;
	uint64_t seq;
};

struct heap {
	struct pool *pool;
	struct redo *redo;
	uint64_t nchunks;             /* chunks in the heap now (raised by
					 heap_grow under chunk_mtx; read
					 unlocked with heap_nchunks) */
	uint64_t cap_chunks;          /* the most it can have (the volatile
					 arrays' length) */
	uint64_t chunk_size;          /* hdr.chunk_size */
	atomic_bool autogrow;         /* grow instead of answering full */
	uint64_t reserve_chunks;      /* free chunks only heap_use_reserve
					 allocations may take */
	atomic_bool was_full;         /* an allocation found no room since
					 heap_take_was_full */
	uint64_t *chunk_hdr;          /* persistent header words */
	pthread_mutex_t chunk_mtx;    /* guards cstate, span */
	uint8_t *cstate;              /* enum chunk_state per chunk */
	uint32_t *span;               /* span length at CS_HUGE chunks */
	struct heap_run **run_of;     /* run descriptor per CS_RUN chunk
					 (atomic: set once a run is made) */
	pthread_mutex_t load_mtx;     /* one heap_run_load at a time */
	unsigned nclasses;
	struct heap_class cls[HEAP_MAX_CLASSES];
	_Atomic(struct heap_run *) *lane_run; /* nlanes x nclasses */
	unsigned nlanes;
	struct redo_recovery_stats rstats;
	struct epoch epoch;           /* readers of blocks in place */
	pthread_mutex_t limbo_mtx;    /* guards limbo */
	pthread_mutex_t evac_mtx;     /* held from heap_evacuate_begin to
					 heap_evacuate_end: one at a time */
	struct heap_limbo *limbo;     /* freed, not reusable until a grace
					 period and a checkpoint have passed */
	size_t nlimbo, limbo_cap;
	uint64_t limbo_oldest;        /* lowest seq in the limbo, or
					 UINT64_MAX when it is empty */
	size_t limbo_nudge;           /* frees held that ask the background
					 checkpointer for a checkpoint */
	void **lane_tx;               /* per lane: the transaction layer's
					 handle (tx.c) */
	struct gc *gc;                /* the collector (gc.c) */
	struct heap_run *retired;     /* runs whose chunks went back
					 (chunk_mtx); a lane may still hold
					 one, which gives nothing */
	atomic_bool empty_runs;       /* a release left a run empty since
					 heap_retire_empty last looked */
};

/* heap_nchunks -- chunks in the heap, read without chunk_mtx: a chunk
 * counted here is durably part of the pool (heap_grow). */
static inline uint64_t heap_nchunks(const struct heap *h)
{
	return __atomic_load_n(&h->nchunks, __ATOMIC_ACQUIRE);
}

/* heap_chunk_off -- pool offset of chunk i. */
static inline uint64_t heap_chunk_off(const struct heap *h, uint64_t i)
{
	return h->pool->hdr->chunks_off + i * h->chunk_size;
}

/* heap_persistent_bits -- the persistent bitmap of a run chunk. */
static inline uint64_t *heap_persistent_bits(const struct heap *h,
					     uint64_t chunk)
{
	return pool_ptr(h->pool, heap_chunk_off(h, chunk));
}

/* heap_tail_mask -- bits of bitmap word w that name real blocks. */
static inline uint64_t heap_tail_mask(const struct heap_class *c, uint32_t w)
{
	uint32_t left = c->nblocks - w * 64;
	return left >= 64 ? ~0ull : ((1ull << left) - 1);
}

#endif /* PKV_HEAP_INT_H */
