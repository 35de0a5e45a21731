/*
 * heap.c -- chunks, runs of fixed-size blocks, huge spans, and the
 * volatile state rebuilt from them at open (see heap.h).
 *
 * Persistent state is minimal: one header word per chunk and one bit per
 * run block, changed only through redo logs (allocations and frees) or,
 * for a chunk becoming an empty run, by two ordered direct stores.  The
 * volatile state mirrors it with one more meaning per bit: a block taken
 * by an uncommitted reservation, or freed by a transaction that has not
 * been applied yet, is "taken" in the volatile bitmap, so no one else can
 * get it, while its persistent bit says what a crash would leave.
 *
 * A run's volatile bitmap is read from the persistent one lazily
 * (heap_run_load), so an open reads only the chunk headers.
 *
 * Invariant (checked by heap_check when no transaction is in flight):
 * for every loaded run, volatile bits == persistent bits over its blocks, and
 * nfree == nblocks - popcount; for every chunk, the volatile kind matches
 * the header word.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkv.h"
#include "heap_int.h"
#include "gc.h"
#include "planted.h"

static uint32_t class_sizes[HEAP_MAX_CLASSES];
static unsigned class_count;
static pthread_once_t class_once = PTHREAD_ONCE_INIT;

/*
 * heap_classes_init -- block sizes 32..128 by 16, then 8 steps per power
 * of two up to RUN_MAX_BLOCK, so a block wastes under 12.5% of itself;
 * then a chunk shared by 7, 6, 5, 4, 3 and 2 blocks, so that a value of
 * 32-128 KiB takes a fraction of a chunk, not a whole one (a 40,000-byte
 * value: 6 to a chunk, 91% of it payload, where a chunk of its own was
 * 15%).  New classes only ever go at the end: a run's chunk header names
 * its class by index.
 */
static void heap_classes_init(void)
{
	unsigned n = 0;
	for (uint32_t s = 32; s <= 128; s += 16)
		class_sizes[n++] = s;
	for (uint32_t base = 128; base < RUN_MAX_BLOCK; base *= 2)
		for (uint32_t k = 1; k <= 8; k++)
			class_sizes[n++] = base + k * (base / 8);
	for (uint32_t k = 7; k >= 2; k--)   /* after the bitmap's line */
		class_sizes[n++] = (CHUNK_SIZE - CACHELINE) / k & ~15u;
	class_count = n;
}

/* class_of -- smallest of the first `count` classes whose blocks hold
 * `total` bytes, or -1. */
static int class_of(size_t total, unsigned count)
{
	unsigned lo = 0, hi = count;

	if (total > class_sizes[count - 1])
		return -1;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (class_sizes[mid] < total)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int)lo;
}

/* heap_class_of -- the heap's class for `total` bytes, or -1 (a huge
 * span): a heap of small chunks has fewer classes. */
static int heap_class_of(const struct heap *h, size_t total)
{
	return class_of(total, h->nclasses);
}

/* heap_class_size -- block size serving size bytes (in a heap of
 * CHUNK_SIZE chunks), 0 for a huge span. */
size_t heap_class_size(size_t size)
{
	int c;

	pthread_once(&class_once, heap_classes_init);
	c = class_of(size + BLOCK_HDR_SIZE, class_count);
	return c < 0 ? 0 : class_sizes[c];
}

/*
 * heap_run_new -- describe a run chunk, its bitmap not read yet: the
 * run has no free block until heap_run_load.  Opening reads only the
 * chunk headers, so it costs the same whatever the heap holds.
 */
static struct heap_run *heap_run_new(uint32_t chunk, uint32_t cls)
{
	struct heap_run *run = calloc(1, sizeof(*run));

	if (!run)
		return NULL;
	run->chunk = chunk;
	run->cls = cls;
	return run;
}

/*
 * heap_run_load -- the volatile bitmap from the persistent one, once.
 * Every path that changes a run's persistent bits loads it first: a
 * reservation takes from a loaded run, and a free loads its run when it
 * is prepared (heap_prepare_free), before its commit clears the bit -- so
 * a load never reads a free that is still in the limbo as free.
 * Returns 0 or -ENOMEM.
 */
static int heap_run_load(struct heap *h, struct heap_run *run)
{
	const struct heap_class *c = &h->cls[run->cls];
	const uint64_t *pbits = heap_persistent_bits(h, run->chunk);
	_Atomic uint64_t *vbits;
	unsigned used = 0;
	int err = 0;

	if (atomic_load_explicit(&run->loaded, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&h->load_mtx);
	if (run->loaded)
		goto out;
	vbits = calloc(c->nwords, sizeof(*vbits));
	if (!vbits) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t w = 0; w < c->nwords; w++) {
		uint64_t mask = heap_tail_mask(c, w);
		uint64_t bits = __atomic_load_n(&pbits[w], __ATOMIC_ACQUIRE) &
				mask;
		used += (unsigned)__builtin_popcountll(bits);
		/* Bits past the last block are never free. */
		atomic_init(&vbits[w], bits | ~mask);
	}
	run->vbits = vbits;
	atomic_store(&run->nfree, c->nblocks - used);
	atomic_store_explicit(&run->loaded, true, memory_order_release);
out:
	pthread_mutex_unlock(&h->load_mtx);
	return err;
}

/* heap_load_runs -- load every run not loaded yet (see heap.h). */
void heap_load_runs(struct heap *h)
{
	for (uint64_t i = 0; i < h->nchunks; i++) {
		struct heap_run *run;
		if (__atomic_load_n(&h->cstate[i], __ATOMIC_ACQUIRE) != CS_RUN)
			continue;
		run = __atomic_load_n(&h->run_of[i], __ATOMIC_ACQUIRE);
		if (run && heap_run_load(h, run))
			return;       /* no memory: later, on demand */
	}
}

/* heap_class_add_run -- append a run to its class (class mutex held). */
static int heap_class_add_run(struct heap_class *c, struct heap_run *run)
{
	if (c->nruns == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		struct heap_run **r = realloc(c->runs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		c->runs = r;
		c->cap = cap;
	}
	c->runs[c->nruns++] = run;
	return 0;
}

/* heap_run_take -- take a free block of a run; its index, or -1. */
static int64_t heap_run_take(const struct heap *h, struct heap_run *run)
{
	const struct heap_class *c = &h->cls[run->cls];

	if (!atomic_load_explicit(&run->loaded, memory_order_acquire) ||
	    atomic_load_explicit(&run->nfree, memory_order_relaxed) == 0 ||
	    atomic_load_explicit(&run->evacuating, memory_order_relaxed))
		return -1;
	for (uint32_t w = 0; w < c->nwords; w++) {
		uint64_t v = atomic_load_explicit(&run->vbits[w],
						  memory_order_relaxed);
		while (~v) {
			int bit = __builtin_ctzll(~v);
			if (atomic_compare_exchange_weak(&run->vbits[w], &v,
							 v | (1ull << bit))) {
				atomic_fetch_sub(&run->nfree, 1);
				return (int64_t)w * 64 + bit;
			}
		}
	}
	return -1;
}

/* heap_run_give -- make block idx of a run free in volatile state. */
static void heap_run_give(struct heap_run *run, uint32_t idx)
{
	atomic_fetch_and(&run->vbits[idx / 64], ~(1ull << (idx % 64)));
	atomic_fetch_add(&run->nfree, 1);
}

/* heap_chunks_free_at_least -- whether k chunks are free (chunk mutex
 * held). */
static bool heap_chunks_free_at_least(const struct heap *h, uint64_t k)
{
	for (uint64_t i = 0; i < h->nchunks && k; i++)
		k -= h->cstate[i] == CS_FREE;
	return k == 0;
}

/* heap_chunks_find -- first fit of n free chunks (chunk mutex held). */
static int64_t heap_chunks_find(const struct heap *h, uint64_t n)
{
	uint64_t start = 0, len = 0;

	for (uint64_t i = 0; i < h->nchunks; i++) {
		if (h->cstate[i] != CS_FREE) {
			len = 0;
			continue;
		}
		if (len++ == 0)
			start = i;
		if (len == n)
			return (int64_t)start;
	}
	return -1;
}

/* heap_grow -- see heap.h.  Under chunk_mtx, so the chunks appear in
 * the volatile state only once the pool has them durably. */
int heap_grow(struct heap *h, uint64_t nchunks, struct errmsg *em)
{
	int err = 0;

	pthread_mutex_lock(&h->chunk_mtx);
	if (nchunks > h->nchunks) {
		err = pool_grow(h->pool, nchunks, em);
		if (!err)
			__atomic_store_n(&h->nchunks, nchunks,
					 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&h->chunk_mtx);
	return err;
}

/* heap_shrink -- see heap.h. */
int heap_shrink(struct heap *h, struct errmsg *em)
{
	uint64_t n, was;
	int err = 0;

	heap_load_runs(h);    /* so that every empty run is known */
	heap_give_back(h);
	pthread_mutex_lock(&h->chunk_mtx);
	was = n = h->nchunks;
	while (n > 1 && h->cstate[n - 1] == CS_FREE &&
	       __atomic_load_n(&h->chunk_hdr[n - 1], __ATOMIC_RELAXED) ==
	       CHUNK_FREE)
		n--;
	if (n < was) {
		/* No allocation goes there from now on. */
		__atomic_store_n(&h->nchunks, n, __ATOMIC_RELEASE);
		err = pool_shrink(h->pool, n, em);
		/* Failed before its state word: the heap keeps its size. */
		if (pool_heap_chunks(h->pool) != n)
			__atomic_store_n(&h->nchunks, was, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&h->chunk_mtx);
	return err;
}

#define HEAP_GROW_MIN 8u   /* chunks an automatic growth adds at least */

/*
 * heap_autogrow -- when the heap may grow by itself and has no `need`
 * free chunks in a row: grow by a quarter (at least `need`, at least
 * HEAP_GROW_MIN chunks), up to the pool's maximum.  0 when it grew (the
 * caller looks again), PKV_EFULL otherwise.
 */
static int heap_autogrow(struct heap *h, uint64_t need)
{
	uint64_t cur = heap_nchunks(h), add = cur / 4;

	if (!atomic_load_explicit(&h->autogrow, memory_order_relaxed) ||
	    cur >= h->cap_chunks)
		return PKV_EFULL;
	if (add < need)
		add = need;
	if (add < HEAP_GROW_MIN)
		add = HEAP_GROW_MIN;
	if (add > h->cap_chunks - cur)
		add = h->cap_chunks - cur;
	return heap_grow(h, cur + add, NULL) ? PKV_EFULL : 0;
}

/* Set by heap_use_reserve: this thread may take the reserved chunks. */
static __thread bool heap_reserve_ok;

/* heap_set_reserve -- see heap.h. */
void heap_set_reserve(struct heap *h, uint64_t bytes)
{
	uint64_t n = 3 + (bytes + h->chunk_size - 1) / h->chunk_size;

	pthread_mutex_lock(&h->chunk_mtx);
	if (n > h->nchunks / 8)
		n = h->nchunks / 8;
	h->reserve_chunks = n;
	pthread_mutex_unlock(&h->chunk_mtx);
}

/* heap_use_reserve -- see heap.h. */
void heap_use_reserve(bool on)
{
	heap_reserve_ok = on;
}

/* heap_take_was_full -- see heap.h. */
bool heap_take_was_full(struct heap *h)
{
	return atomic_exchange(&h->was_full, false);
}

/* heap_chunks_may_take -- whether n free chunks may be taken now, the
 * reserve left to those allowed it (chunk mutex held). */
static bool heap_chunks_may_take(const struct heap *h, uint64_t n)
{
	return heap_reserve_ok || !h->reserve_chunks ||
	       heap_chunks_free_at_least(h, n + h->reserve_chunks);
}

/* heap_set_autogrow -- see heap.h. */
void heap_set_autogrow(struct heap *h, bool on)
{
	atomic_store_explicit(&h->autogrow, on, memory_order_relaxed);
}

/*
 * Runs made at once when a class needs one on a disk, where each of the
 * two fences of a run's creation is a sync of its own: a 64th of the
 * heap's chunks, from HEAP_RUN_BATCH_DISK_MIN (a heap smaller than 64
 * times that makes one at a time) to HEAP_RUN_BATCH_DISK.  Why so many: each of those
 * syncs waits in the device queue behind a running checkpoint's writes
 * (30-50 ms each under MSET at pipeline 16, where 8 at a time made 72
 * pairs of syncs in the event loop for 500k new keys).
 */
#define HEAP_RUN_BATCH_DISK_MIN 8
#define HEAP_RUN_BATCH_DISK 32

/* heap_chunk_give_back -- a chunk taken for a run returns to free
 * (volatile state only). */
static void heap_chunk_give_back(struct heap *h, int64_t chunk)
{
	pthread_mutex_lock(&h->chunk_mtx);
	h->cstate[chunk] = CS_FREE;
	pthread_mutex_unlock(&h->chunk_mtx);
}

/*
 * heap_run_create -- turn free chunks into empty runs of class cls (class
 * mutex held): one, or on a disk with room to spare HEAP_RUN_BATCH_DISK,
 * so their fences are shared.  Returns the first (the others join the class), or
 * NULL with *errp PKV_EFULL (no chunk is free) or -ENOMEM (the chunks are
 * given back).
 */
static struct heap_run *heap_run_create(struct heap *h, unsigned cls,
					int *errp)
{
	struct persist *p = &h->pool->persist;
	struct heap_class *c = &h->cls[cls];
	unsigned want = 1, n;
	uint64_t ahead;
	int64_t chunk[HEAP_RUN_BATCH_DISK];
	struct heap_run *first = NULL;

	/* Empty runs keep chunks from other classes and huge blocks: made
	 * ahead only in a big heap (128 MiB), while a quarter of it is
	 * free, and a 64th of it at most. */
	pthread_mutex_lock(&h->chunk_mtx);
	ahead = h->nchunks / 64;
	if (persist_tracks_dirty(p) && ahead >= HEAP_RUN_BATCH_DISK_MIN &&
	    heap_chunks_free_at_least(h, h->nchunks / 4))
		want = ahead < HEAP_RUN_BATCH_DISK ? (unsigned)ahead
						   : HEAP_RUN_BATCH_DISK;
	pthread_mutex_unlock(&h->chunk_mtx);
	*errp = PKV_EFULL;
	for (n = 0; n < want; n++) {
		pthread_mutex_lock(&h->chunk_mtx);
		chunk[n] = heap_chunks_may_take(h, 1) ?
			   heap_chunks_find(h, 1) : -1;
		if (chunk[n] >= 0)
			h->cstate[chunk[n]] = CS_RUN;
		pthread_mutex_unlock(&h->chunk_mtx);
		if (chunk[n] < 0)
			break;
		/* A sparse pool file: the chunk's space first (a full
		 * file system is a full pool). */
		if (pool_provide(h->pool, heap_chunk_off(h, (uint64_t)chunk[n]),
				 h->chunk_size)) {
			heap_chunk_give_back(h, chunk[n]);
			break;
		}
	}
	if (n == 0)
		return NULL;
	/*
	 * An empty run is harmless whatever happens next, so it is made
	 * directly, not logged: the zeroed bitmap must be durable before the
	 * header says "run" (else stale bytes would read as allocations), and
	 * the header must be durable before any thread commits a block in it
	 * (another thread's commit fence does not order our flush).
	 */
	for (unsigned i = 0; i < n; i++)
		persist_memset(p, heap_persistent_bits(h, (uint64_t)chunk[i]),
			       0, c->hdr_bytes);
	if (!PLANTED(HEAP_RUN_FENCE))
		persist_fence(p);
	for (unsigned i = 0; i < n; i++)
		persist_store64(p, &h->chunk_hdr[chunk[i]], CHUNK_HDR_RUN(cls));
	persist_fence(p);
	for (unsigned i = 0; i < n; i++) {
		struct heap_run *run = heap_run_new((uint32_t)chunk[i], cls);
		if (!run || heap_run_load(h, run) ||
		    heap_class_add_run(c, run)) {
			free(run ? run->vbits : NULL);
			free(run);
			/* Back to free, on media first (an empty run and a
			 * free chunk are both valid there), so no chunk is
			 * lost until reopen. */
			for (unsigned k = i; k < n; k++)
				persist_store64(p, &h->chunk_hdr[chunk[k]],
						CHUNK_FREE);
			persist_fence(p);
			for (unsigned k = i; k < n; k++)
				heap_chunk_give_back(h, chunk[k]);
			if (!first)
				*errp = -ENOMEM;
			return first;
		}
		__atomic_store_n(&h->run_of[chunk[i]], run, __ATOMIC_RELEASE);
		if (!first)
			first = run;
	}
	return first;
}

/* heap_reserve_run -- reserve a block of class cls for a lane. */
static int heap_reserve_run(struct heap *h, unsigned lane, unsigned cls,
			    bool may_create, struct heap_action *act)
{
	struct heap_class *c = &h->cls[cls];
	_Atomic(struct heap_run *) *slot = &h->lane_run[lane * h->nclasses + cls];
	struct heap_run *run = atomic_load_explicit(slot, memory_order_relaxed);
	int64_t idx = run ? heap_run_take(h, run) : -1;
	int err = PKV_EFULL;

	if (idx < 0) {
		/* The lane's run is full: look for room in the class. */
		pthread_mutex_lock(&c->mtx);
		/* Runs read since open first; then, only if some were not
		 * read yet, those, read now (the collector's thread reads
		 * them all soon after open).  A full pool -- where
		 * heap_reserve_fit asks every bigger class -- scans once. */
		bool unread = false;
		for (int pass = 0; pass < 1 + unread && idx < 0; pass++)
			for (size_t k = 0; k < c->nruns && idx < 0; k++) {
				run = c->runs[(c->cursor + k) % c->nruns];
				if (!pass && !atomic_load_explicit(&run->loaded,
						memory_order_acquire))
					unread = true;
				if (pass && heap_run_load(h, run))
					continue;
				idx = heap_run_take(h, run);
				if (idx >= 0)
					c->cursor = (c->cursor + k) % c->nruns;
			}
		if (idx < 0 && may_create) {
			run = heap_run_create(h, cls, &err);
			if (run)
				idx = heap_run_take(h, run);
		}
		pthread_mutex_unlock(&c->mtx);
		if (idx < 0)
			return err;
		atomic_store_explicit(slot, run, memory_order_relaxed);
	}
	act->huge = false;
	act->chunk = run->chunk;
	act->bit = (uint32_t)idx;
	act->op = LOG_OP_OR;
	act->word_off = heap_chunk_off(h, run->chunk) + (uint64_t)(idx / 64) * 8;
	act->value = 1ull << (idx % 64);
	act->block_off = heap_chunk_off(h, run->chunk) + c->hdr_bytes +
			 (uint64_t)idx * c->block_size;
	act->block_len = c->block_size;
	return 0;
}

static void heap_release_volatile(struct heap *h,
				  const struct heap_action *act);
static size_t heap_retire_empty(struct heap *h);

/* heap_reserve_huge -- reserve a span of chunks. */
static int heap_reserve_huge(struct heap *h, size_t total,
			     struct heap_action *act)
{
	uint64_t n = (total + h->chunk_size - 1) / h->chunk_size;
	int64_t first;

	if (n > h->cap_chunks)
		return PKV_EFULL;
	pthread_mutex_lock(&h->chunk_mtx);
	first = heap_chunks_may_take(h, n) ? heap_chunks_find(h, n) : -1;
	if (first >= 0) {
		h->cstate[first] = CS_HUGE;
		for (uint64_t i = 1; i < n; i++)
			h->cstate[first + i] = CS_HUGE_INNER;
		h->span[first] = (uint32_t)n;
	}
	pthread_mutex_unlock(&h->chunk_mtx);
	if (first < 0)
		return PKV_EFULL;
	if (pool_provide(h->pool, heap_chunk_off(h, (uint64_t)first),
			 n * h->chunk_size)) {
		struct heap_action back = { .huge = true,
					    .chunk = (uint32_t)first };
		heap_release_volatile(h, &back);
		return PKV_EFULL;     /* the file system is full */
	}
	act->huge = true;
	act->chunk = (uint32_t)first;
	act->bit = 0;
	act->op = LOG_OP_SET;
	act->word_off = pool_off(h->pool, &h->chunk_hdr[first]);
	act->value = CHUNK_HDR_HUGE(n);
	act->block_off = heap_chunk_off(h, (uint64_t)first);
	act->block_len = n * h->chunk_size;
	return 0;
}

/*
 * heap_reserve_fit -- a block for `total` bytes: of its class c, or a
 * huge span (c < 0).  When no chunk is left for a new run of c, a free
 * block of the nearest bigger class that has one: it wastes more of
 * itself, but otherwise a pool would be full as soon as every chunk is a
 * run, with room left in runs of other sizes (an 8 MiB pool of 1-3000
 * byte values held 94 of them).
 */
static int heap_reserve_fit(struct heap *h, unsigned lane, int c,
			    size_t total, struct heap_action *act)
{
	int err;

	if (c < 0) {
		err = heap_reserve_huge(h, total, act);
		if (err == PKV_EFULL && heap_retire_empty(h))
			err = heap_reserve_huge(h, total, act);
		return err;
	}
	err = heap_reserve_run(h, lane, (unsigned)c, true, act);
	/* Empty runs of other classes give their chunks first: a block of
	 * a bigger class wastes more of itself. */
	if (err == PKV_EFULL && heap_retire_empty(h))
		err = heap_reserve_run(h, lane, (unsigned)c, true, act);
	for (unsigned k = (unsigned)c + 1; err == PKV_EFULL && k < h->nclasses;
	     k++)
		err = heap_reserve_run(h, lane, k, false, act);
	return err;
}

/* heap_reserve -- reserve a block and write its header (unflushed). */
int heap_reserve(struct heap *h, unsigned lane_id, size_t size, uint32_t type,
		 struct heap_action *act)
{
	struct block_hdr *bh;
	size_t total = size + BLOCK_HDR_SIZE;
	int c, err;

	if (size == 0 || lane_id >= h->nlanes)
		return PKV_EINVAL;
	if (size > h->cap_chunks * h->chunk_size)
		return PKV_EFULL;   /* more than the heap can ever hold */
	c = heap_class_of(h, total);
	err = heap_reserve_fit(h, lane_id, c, total, act);
	if (err == PKV_EFULL && !epoch_thread_inside()) {
		/* Freed blocks wait for a checkpoint to pass their free;
		 * runs that are empty then give their chunks back. */
		redo_checkpoint(h->redo);
		size_t back = heap_limbo_drain(h);
		back += heap_retire_empty(h);
		if (back)
			err = heap_reserve_fit(h, lane_id, c, total, act);
	}
	/* Still no room: a heap that may grow takes what it lacks (after
	 * the space it had, so that growth comes last). */
	if (err == PKV_EFULL &&
	    heap_autogrow(h, c < 0 ? (total + h->chunk_size - 1) /
				     h->chunk_size : 1) == 0)
		err = heap_reserve_fit(h, lane_id, c, total, act);
	if (err == PKV_EFULL)
		atomic_store_explicit(&h->was_full, true, memory_order_relaxed);
	if (err)
		return err;
	act->is_free = false;
	bh = pool_ptr(h->pool, act->block_off);
	/* A collector may read a reused block's header concurrently. */
	__atomic_store_n(&bh->size, size, __ATOMIC_RELAXED);
	__atomic_store_n(&bh->type, type, __ATOMIC_RELAXED);
	bh->reserved = 0;
	return 0;
}

/* heap_release_volatile -- a block becomes free in volatile state. */
static void heap_release_volatile(struct heap *h, const struct heap_action *act)
{
	if (!act->huge) {
		struct heap_run *run = h->run_of[act->chunk];
		heap_run_give(run, act->bit);
		/* A hint for heap_retire_empty: some run may be empty. */
		if (atomic_load(&run->nfree) == h->cls[run->cls].nblocks)
			atomic_store(&h->empty_runs, true);
		return;
	}
	pthread_mutex_lock(&h->chunk_mtx);
	for (uint32_t i = 0; i < h->span[act->chunk]; i++)
		h->cstate[act->chunk + i] = CS_FREE;
	h->span[act->chunk] = 0;
	pthread_mutex_unlock(&h->chunk_mtx);
}

/*
 * heap_run_take_all -- an empty, loaded run takes every block for itself
 * and leaves its class and the lanes (class mutex held): true, or false
 * when it is not empty (a thread took a block, even meanwhile: the words
 * already taken are given back).  The run is never freed while open: a
 * lane or a reader may still hold it, and finds every block taken.
 */
static bool heap_run_take_all(struct heap *h, struct heap_class *c,
			      size_t k)
{
	struct heap_run *run = c->runs[k];
	uint32_t w;

	if (!atomic_load_explicit(&run->loaded, memory_order_acquire) ||
	    atomic_load(&run->nfree) != c->nblocks)
		return false;
	for (w = 0; w < c->nwords; w++) {
		uint64_t free_bits = ~heap_tail_mask(c, w);
		if (!atomic_compare_exchange_strong(&run->vbits[w], &free_bits,
						    ~0ull))
			break;
	}
	if (w < c->nwords) {
		while (w-- > 0)
			atomic_store(&run->vbits[w], ~heap_tail_mask(c, w));
		return false;
	}
	atomic_store(&run->nfree, 0);
	c->runs[k] = c->runs[--c->nruns];
	c->cursor = 0;
	for (unsigned l = 0; l < h->nlanes; l++) {
		struct heap_run *mine = run;
		atomic_compare_exchange_strong(
			&h->lane_run[l * h->nclasses + run->cls], &mine, NULL);
	}
	return true;
}

/*
 * heap_retire_empty -- every empty run's chunk goes back to the free
 * chunks, so space freed in one size class serves any other, and big
 * values; returns how many.  Called when an allocation finds no room
 * (after the limbo's drain): a run that empties and fills again while
 * there is room is kept, since retiring one and making another costs
 * fences (a sync each on a disk).
 *
 * A run is empty only once the limbo released its last block: every free
 * of it is past the watermark, so no record a recovery could replay
 * touches its bitmap, and the persistent bitmap is all zero.  Its header
 * is stored FREE and made durable before the chunk can be taken again: a
 * huge span made of it needs its header FREE on the media (only a span's
 * first header says what it is), and that span's commit may be fenced by
 * another thread, whose fence does not order this store.  One fence for
 * all of them.
 */
static size_t heap_retire_empty(struct heap *h)
{
	struct persist *p = &h->pool->persist;
	struct heap_run *list = NULL;
	size_t n = 0;

	/* Only when a release left some run empty since the last look. */
	if (!atomic_exchange(&h->empty_runs, false))
		return 0;
	for (unsigned cls = 0; cls < h->nclasses; cls++) {
		struct heap_class *c = &h->cls[cls];
		pthread_mutex_lock(&c->mtx);
		for (size_t k = c->nruns; k-- > 0;) {
			struct heap_run *run = c->runs[k];
			if (!heap_run_take_all(h, c, k))
				continue;
			persist_store64(p, &h->chunk_hdr[run->chunk],
					CHUNK_FREE);
			run->retired_next = list;
			list = run;
			n++;
		}
		pthread_mutex_unlock(&c->mtx);
	}
	if (!n)
		return 0;
	if (!PLANTED(RUN_RETIRE_FENCE))
		persist_fence(p);
	pthread_mutex_lock(&h->chunk_mtx);
	while (list) {
		struct heap_run *run = list;
		list = run->retired_next;
		run->retired_next = h->retired;
		h->retired = run;
		__atomic_store_n(&h->cstate[run->chunk], CS_FREE,
				 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&h->chunk_mtx);
	return n;
}

/* heap_cancel -- give back an uncommitted reservation. */
void heap_cancel(struct heap *h, const struct heap_action *act)
{
	heap_release_volatile(h, act);
}

/*
 * heap_release_now -- no memory to let these freed blocks wait: wait here
 * instead, for the readers (the caller has) and for a checkpoint past the
 * newest free, then release them all.
 */
static void heap_release_now(struct heap *h, const struct heap_limbo *l,
			     size_t n)
{
	uint64_t newest = 0;

	for (size_t i = 0; i < n; i++)
		if (l[i].seq > newest)
			newest = l[i].seq;
	/* Only slower transactions in flight hold the watermark back, and
	 * they are past taking locks. */
	while (redo_checkpoint(h->redo) == 0 && redo_watermark(h->redo) < newest)
		sched_yield();
	if (redo_watermark(h->redo) < newest)
		return;   /* an I/O error: they stay taken until reopen */
	for (size_t i = 0; i < n; i++)
		heap_release_volatile(h, &l[i].act);
}

/* heap_free_applied -- a committed free is applied: into the limbo. */
void heap_free_applied(struct heap *h, const struct heap_action *act,
		       uint64_t seq)
{
	if (PLANTED(RUN_RETIRE_EARLY) && !act->huge &&
	    atomic_load(&h->run_of[act->chunk]->nfree) + 1 ==
	    h->cls[h->run_of[act->chunk]->cls].nblocks) {
		/* the bug: the run's last block skips the limbo, and the
		 * run is retired at once */
		heap_release_volatile(h, act);
		heap_retire_empty(h);
		return;
	}
	pthread_mutex_lock(&h->limbo_mtx);
	if (h->nlimbo == h->limbo_cap) {
		size_t cap = h->limbo_cap ? 2 * h->limbo_cap : HEAP_LIMBO_BATCH;
		struct heap_limbo *l = realloc(h->limbo, cap * sizeof(*l));
		if (!l) {
			struct heap_limbo one = { *act, seq };
			pthread_mutex_unlock(&h->limbo_mtx);
			if (!epoch_thread_inside()) {
				epoch_synchronize(&h->epoch);
				heap_release_now(h, &one, 1);
			}
			/* else the block stays taken until reopen */
			return;
		}
		h->limbo = l;
		h->limbo_cap = cap;
	}
	h->limbo[h->nlimbo].act = *act;
	h->limbo[h->nlimbo].seq = seq;
	h->nlimbo++;
	if (seq < h->limbo_oldest)
		h->limbo_oldest = seq;
	pthread_mutex_unlock(&h->limbo_mtx);
}

/* heap_limbo_maybe_drain -- drain when a batch has gathered and the
 * watermark lets some of it go (asking for a checkpoint first when it is
 * large). */
void heap_limbo_maybe_drain(struct heap *h)
{
	size_t n;
	uint64_t oldest;

	pthread_mutex_lock(&h->limbo_mtx);
	n = h->nlimbo;
	oldest = h->limbo_oldest;
	pthread_mutex_unlock(&h->limbo_mtx);
	if (n < HEAP_LIMBO_BATCH || epoch_thread_inside())
		return;
	/* Many waiting: a checkpoint lets them go (the background one,
	 * if there is a checkpointer). */
	if (redo_has_nudge(h->redo)) {
		/* On a disk each checkpoint writes back every dirty page:
		 * not one per few thousand overwrites.  Nor one for frees a
		 * checkpoint has passed already (the drain below releases
		 * them): after each, until the drain, every commit saw the
		 * limbo as large as before it and asked for another. */
		if (n >= h->limbo_nudge && oldest > redo_watermark(h->redo))
			redo_nudge(h->redo);
	} else if (n >= HEAP_LIMBO_CHECKPOINT) {
		redo_checkpoint(h->redo);
	}
	if (oldest > redo_watermark(h->redo))
		return;   /* nothing could go yet: no grace period for it */
	heap_limbo_drain(h);
}

/* heap_limbo_drain -- a grace period, then release what the watermark
 * has passed. */
size_t heap_limbo_drain(struct heap *h)
{
	struct heap_limbo *l;
	size_t n, k = 0, released = 0;
	uint64_t w;

	pthread_mutex_lock(&h->limbo_mtx);
	l = h->limbo;
	n = h->nlimbo;
	h->limbo = NULL;
	h->nlimbo = h->limbo_cap = 0;
	h->limbo_oldest = UINT64_MAX;
	pthread_mutex_unlock(&h->limbo_mtx);
	if (!n)
		return 0;
	/* Readers that found these blocks before they were unlinked have
	 * left once this returns. */
	epoch_synchronize(&h->epoch);
	w = redo_watermark(h->redo);
	for (size_t i = 0; i < n; i++) {
		if (l[i].seq <= w) {
			heap_release_volatile(h, &l[i].act);
			released++;
		} else {
			l[k++] = l[i];
		}
	}
	if (k) {
		/* Put back what must wait for a checkpoint, with what was
		 * freed meanwhile. */
		uint64_t kept_oldest = UINT64_MAX;
		for (size_t i = 0; i < k; i++)
			if (l[i].seq < kept_oldest)
				kept_oldest = l[i].seq;
		pthread_mutex_lock(&h->limbo_mtx);
		if (kept_oldest < h->limbo_oldest)
			h->limbo_oldest = kept_oldest;
		if (k + h->nlimbo <= n) {
			if (h->nlimbo)	/* memcpy from NULL is undefined */
				memcpy(l + k, h->limbo,
				       h->nlimbo * sizeof(*l));
			free(h->limbo);
			h->limbo = l;
			h->nlimbo += k;
			h->limbo_cap = n;
			l = NULL;
			k = 0;
		} else {
			size_t cap = h->nlimbo + k;
			struct heap_limbo *m = realloc(h->limbo,
						       cap * sizeof(*m));
			if (m) {
				memcpy(m + h->nlimbo, l, k * sizeof(*m));
				h->limbo = m;
				h->limbo_cap = cap;
				h->nlimbo = cap;
				k = 0;
			}
		}
		pthread_mutex_unlock(&h->limbo_mtx);
		if (k) { /* no memory to put them back: wait for them here */
			heap_release_now(h, l, k);
			released += k;
		}
	}
	free(l);
	return released;
}

/* heap_checkpoint -- raise the watermark and release what it passes. */
int heap_checkpoint(struct heap *h)
{
	int err = redo_checkpoint(h->redo);

	if (!epoch_thread_inside())
		heap_limbo_drain(h);
	return err;
}

/* heap_give_back -- see heap.h. */
size_t heap_give_back(struct heap *h)
{
	size_t n = 0;

	if (heap_checkpoint(h) == 0 && !epoch_thread_inside()) {
		atomic_store(&h->empty_runs, true);   /* look at every run */
		n = heap_retire_empty(h);
	}
	return n;
}

/* heap_run_taken -- blocks of a loaded run that are taken (reserved,
 * allocated or waiting in the limbo). */
static uint32_t heap_run_taken(const struct heap *h, struct heap_run *run)
{
	return h->cls[run->cls].nblocks -
	       atomic_load_explicit(&run->nfree, memory_order_relaxed);
}

/* A run and its blocks taken when the evacuation looked. */
struct heap_evac {
	struct heap_run *run;
	uint32_t taken;
};

/* heap_evac_cmp -- qsort: fewest blocks taken first. */
static int heap_evac_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct heap_evac *)a)->taken;
	uint32_t y = ((const struct heap_evac *)b)->taken;

	return x < y ? -1 : x > y;
}

/*
 * heap_evacuate_class -- (evac_mtx and the class's lock held) mark the
 * sparsest runs of class c (at most max_pct full) evacuating, while the
 * blocks they hold fit in the free blocks of the class's other runs (so
 * that moving them makes no new run); their chunks appended to chunks.
 * Returns 0 or -ENOMEM.
 */
static int heap_evacuate_class(struct heap *h, struct heap_class *c,
			       unsigned max_pct, struct offvec *chunks)
{
	struct heap_evac *e;
	uint64_t free_out = 0, need = 0;
	size_t k, m = 0;

	if (c->nruns < 2 && max_pct < 100)
		return 0;
	e = malloc(c->nruns * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (k = 0; k < c->nruns; k++) {
		struct heap_run *run = c->runs[k];
		if (!atomic_load_explicit(&run->loaded, memory_order_acquire))
			continue;
		e[m].run = run;
		e[m].taken = heap_run_taken(h, run);
		free_out += c->nblocks - e[m].taken;
		m++;
	}
	qsort(e, m, sizeof(*e), heap_evac_cmp);
	for (k = 0; k < m; k++) {
		uint32_t taken = e[k].taken, nfree = c->nblocks - taken;
		/* An empty run has nothing to move, and is where the moves
		 * can go (on a disk runs are made ahead, dozens at once). */
		if (!taken)
			continue;
		/* At most max_pct full, and room for its blocks in the
		 * runs left (with an eighth of a run to spare for the
		 * writes made meanwhile); at 100, every run, even if the
		 * moves make new ones (the crash simulator's churn). */
		if (max_pct < 100 &&
		    ((uint64_t)taken * 100 > (uint64_t)c->nblocks * max_pct ||
		     need + taken + c->nblocks / 8 > free_out - nfree))
			break;
		if (!offvec_push(chunks, e[k].run->chunk))
			break;
		need += taken;
		free_out -= nfree;
		atomic_store(&e[k].run->evacuating, true);
	}
	free(e);
	return 0;
}

/* heap_evacuate_begin -- see heap.h. */
int heap_evacuate_begin(struct heap *h, unsigned max_pct,
			struct offvec *chunks)
{
	*chunks = (struct offvec){ NULL, 0, 0 };
	pthread_mutex_lock(&h->evac_mtx);
	for (unsigned cls = 0; cls < h->nclasses; cls++) {
		struct heap_class *c = &h->cls[cls];
		int r;
		pthread_mutex_lock(&c->mtx);
		r = heap_evacuate_class(h, c, max_pct, chunks);
		pthread_mutex_unlock(&c->mtx);
		if (r < 0) {
			heap_evacuate_end(h, chunks);
			return r;
		}
	}
	return 0;
}

/* heap_evacuate_end -- see heap.h. */
void heap_evacuate_end(struct heap *h, struct offvec *chunks)
{
	for (size_t i = 0; i < chunks->n; i++) {
		struct heap_run *run = __atomic_load_n(
			&h->run_of[chunks->v[i]], __ATOMIC_ACQUIRE);
		if (run)
			atomic_store(&run->evacuating, false);
	}
	free(chunks->v);
	*chunks = (struct offvec){ NULL, 0, 0 };
	pthread_mutex_unlock(&h->evac_mtx);
}

/* heap_lane_tx -- the transaction layer's per-lane handles. */
void **heap_lane_tx(struct heap *h)
{
	return h->lane_tx;
}

/*
 * heap_locate -- find the block whose data starts at data_off in the
 * persistent state; fills act with what freeing it takes.  Returns 0 or
 * PKV_EINVAL.
 */
static int heap_locate(const struct heap *h, uint64_t data_off,
		       struct heap_action *act)
{
	const struct pool_hdr *ph = h->pool->hdr;
	uint64_t block_off = data_off - BLOCK_HDR_SIZE, chunk, hdr, rel;

	if (data_off < ph->chunks_off + BLOCK_HDR_SIZE ||
	    data_off >= ph->chunks_off + heap_nchunks(h) * h->chunk_size)
		return PKV_EINVAL;
	chunk = (block_off - ph->chunks_off) / h->chunk_size;
	hdr = __atomic_load_n(&h->chunk_hdr[chunk], __ATOMIC_ACQUIRE);
	rel = block_off - heap_chunk_off(h, chunk);
	act->chunk = (uint32_t)chunk;
	act->block_off = block_off;
	act->is_free = true;
	if (CHUNK_KIND(hdr) == CHUNK_HUGE) {
		if (rel != 0)
			return PKV_EINVAL;
		act->huge = true;
		act->bit = 0;
		act->op = LOG_OP_SET;
		act->word_off = pool_off(h->pool, &h->chunk_hdr[chunk]);
		act->value = CHUNK_FREE;
		act->block_len = (uint64_t)CHUNK_SPAN(hdr) * h->chunk_size;
		return 0;
	}
	if (CHUNK_KIND(hdr) == CHUNK_RUN && CHUNK_CLASS(hdr) < h->nclasses) {
		const struct heap_class *c = &h->cls[CHUNK_CLASS(hdr)];
		uint64_t idx, word;
		if (rel < c->hdr_bytes || (rel - c->hdr_bytes) % c->block_size)
			return PKV_EINVAL;
		idx = (rel - c->hdr_bytes) / c->block_size;
		if (idx >= c->nblocks)
			return PKV_EINVAL;
		word = __atomic_load_n(&heap_persistent_bits(h, chunk)[idx / 64],
				       __ATOMIC_ACQUIRE);
		if (!(word & (1ull << (idx % 64))))
			return PKV_EINVAL;
		act->huge = false;
		act->bit = (uint32_t)idx;
		act->op = LOG_OP_AND;
		act->word_off = heap_chunk_off(h, chunk) + (idx / 64) * 8;
		act->value = ~(1ull << (idx % 64));
		act->block_len = c->block_size;
		return 0;
	}
	return PKV_EINVAL;
}

/* heap_prepare_free -- describe the free of an allocated block. */
int heap_prepare_free(struct heap *h, uint64_t data_off,
		      struct heap_action *act)
{
	int err = heap_locate(h, data_off, act);
	struct heap_run *run;

	if (err || act->huge)
		return err;
	/* Its run loaded before the commit clears the bit (heap_run_load). */
	run = __atomic_load_n(&h->run_of[act->chunk], __ATOMIC_ACQUIRE);
	return run ? heap_run_load(h, run) : PKV_EINVAL;
}

/* heap_block_of -- the start of the block that holds off, by the
 * volatile state (see heap.h). */
uint64_t heap_block_of(const struct heap *h, uint64_t off)
{
	const struct pool_hdr *ph = h->pool->hdr;
	uint64_t chunk, rel;

	if (off < ph->chunks_off ||
	    off >= ph->chunks_off + heap_nchunks(h) * h->chunk_size)
		return 0;
	chunk = (off - ph->chunks_off) / h->chunk_size;
	switch (__atomic_load_n(&h->cstate[chunk], __ATOMIC_ACQUIRE)) {
	case CS_RUN: {
		const struct heap_run *run = h->run_of[chunk];
		const struct heap_class *c;
		uint64_t idx;
		if (!run)
			return 0;
		c = &h->cls[run->cls];
		rel = off - heap_chunk_off(h, chunk);
		if (rel < c->hdr_bytes)
			return 0;
		idx = (rel - c->hdr_bytes) / c->block_size;
		if (idx >= c->nblocks)
			return 0;
		return heap_chunk_off(h, chunk) + c->hdr_bytes +
		       idx * c->block_size;
	}
	case CS_HUGE_INNER:
		while (chunk > 0 && __atomic_load_n(&h->cstate[chunk],
						    __ATOMIC_ACQUIRE) ==
				    CS_HUGE_INNER)
			chunk--;
		if (__atomic_load_n(&h->cstate[chunk], __ATOMIC_ACQUIRE) !=
		    CS_HUGE)
			return 0;
		/* fall through */
	case CS_HUGE:
		return heap_chunk_off(h, chunk);
	default:
		return 0;
	}
}

/* heap_block_valid -- whether data_off names an allocated block. */
bool heap_block_valid(const struct heap *h, uint64_t data_off,
		      uint64_t *sizep, uint32_t *typep)
{
	struct heap_action act;
	const struct block_hdr *bh;

	if (heap_locate(h, data_off, &act))
		return false;
	bh = pool_ptr(h->pool, act.block_off);
	if (bh->size > act.block_len - BLOCK_HDR_SIZE)   /* no wrap */
		return false;
	if (sizep)
		*sizep = bh->size;
	if (typep)
		*typep = bh->type;
	return true;
}

/* heap_block_len -- see heap.h. */
uint64_t heap_block_len(const struct heap *h, uint64_t data_off)
{
	struct heap_action act;

	return heap_locate(h, data_off, &act) ? 0 : act.block_len;
}

/* heap_block_len_reserved -- see heap.h. */
uint64_t heap_block_len_reserved(const struct heap *h, uint64_t data_off)
{
	uint64_t blk = heap_block_of(h, data_off), chunk, n = 1;

	if (!blk || blk + BLOCK_HDR_SIZE != data_off)
		return 0;
	chunk = (blk - h->pool->hdr->chunks_off) / h->chunk_size;
	if (__atomic_load_n(&h->cstate[chunk], __ATOMIC_ACQUIRE) == CS_RUN)
		return h->cls[h->run_of[chunk]->cls].block_size;
	while (chunk + n < heap_nchunks(h) &&
	       __atomic_load_n(&h->cstate[chunk + n], __ATOMIC_ACQUIRE) ==
	       CS_HUGE_INNER)
		n++;
	return n * h->chunk_size;
}

/* heap_foreach_block -- visit allocated blocks in offset order. */
int heap_foreach_block(const struct heap *h,
		       int (*fn)(void *ctx, uint64_t data_off, uint64_t size,
				 uint32_t type),
		       void *ctx)
{
	for (uint64_t i = 0; i < h->nchunks; i++) {
		uint64_t hdr = h->chunk_hdr[i];
		uint64_t base = heap_chunk_off(h, i);
		const struct block_hdr *bh;
		int ret;

		if (CHUNK_KIND(hdr) == CHUNK_HUGE) {
			bh = pool_ptr(h->pool, base);
			ret = fn(ctx, base + BLOCK_HDR_SIZE, bh->size, bh->type);
			if (ret)
				return ret;
			i += CHUNK_SPAN(hdr) - 1;
		} else if (CHUNK_KIND(hdr) == CHUNK_RUN) {
			ret = heap_run_foreach_block(h, (uint32_t)i, fn, ctx);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* heap_run_foreach_block -- see heap.h. */
int heap_run_foreach_block(const struct heap *h, uint32_t chunk,
			   int (*fn)(void *ctx, uint64_t data_off,
				     uint64_t size, uint32_t type),
			   void *ctx)
{
	uint64_t hdr = h->chunk_hdr[chunk], base = heap_chunk_off(h, chunk);
	const struct heap_class *c;
	const uint64_t *bits;

	if (CHUNK_KIND(hdr) != CHUNK_RUN || CHUNK_CLASS(hdr) >= h->nclasses)
		return 0;
	c = &h->cls[CHUNK_CLASS(hdr)];
	bits = heap_persistent_bits(h, chunk);
	for (uint32_t b = 0; b < c->nblocks; b++) {
		uint64_t off = base + c->hdr_bytes + (uint64_t)b * c->block_size;
		const struct block_hdr *bh = pool_ptr(h->pool, off);
		int ret;
		if (!(__atomic_load_n(&bits[b / 64], __ATOMIC_RELAXED) &
		      (1ull << (b % 64))))
			continue;
		ret = fn(ctx, off + BLOCK_HDR_SIZE, bh->size, bh->type);
		if (ret)
			return ret;
	}
	return 0;
}

/* heap_rebuild -- volatile state from chunk headers and run bitmaps. */
static int heap_rebuild(struct heap *h, struct errmsg *em)
{
	for (uint64_t i = 0; i < h->nchunks; i++) {
		uint64_t hdr = h->chunk_hdr[i];
		uint64_t hoff = pool_off(h->pool, &h->chunk_hdr[i]);

		switch (CHUNK_KIND(hdr)) {
		case CHUNK_FREE:
			if (hdr != 0)
				goto bad;
			break;
		case CHUNK_RUN: {
			unsigned cls = CHUNK_CLASS(hdr);
			struct heap_run *run;
			if (cls >= h->nclasses || hdr >> 16)
				goto bad;
			run = heap_run_new((uint32_t)i, cls);
			if (!run || heap_class_add_run(&h->cls[cls], run)) {
				free(run ? run->vbits : NULL);
				free(run);
				return err_set(em, -ENOMEM, "out of memory");
			}
			h->cstate[i] = CS_RUN;
			h->run_of[i] = run;
			break;
		}
		case CHUNK_HUGE: {
			uint64_t n = CHUNK_SPAN(hdr);
			if (n == 0 || n > h->nchunks - i || (hdr & 0xffffff00u))
				goto bad;
			for (uint64_t k = 1; k < n; k++)
				if (h->chunk_hdr[i + k] != 0)
					return err_set(em, PKV_ECORRUPT,
						"chunk header at offset %llu: "
						"inside a huge span but not free",
						(unsigned long long)(hoff + 8 * k));
			h->cstate[i] = CS_HUGE;
			h->span[i] = (uint32_t)n;
			for (uint64_t k = 1; k < n; k++)
				h->cstate[i + k] = CS_HUGE_INNER;
			i += n - 1;
			break;
		}
		default:
			goto bad;
		}
		continue;
bad:
		return err_set(em, PKV_ECORRUPT,
			       "chunk header at offset %llu is invalid (0x%llx)",
			       (unsigned long long)hoff,
			       (unsigned long long)hdr);
	}
	return 0;
}

/* heap_free_volatile -- free the volatile structures. */
static void heap_free_volatile(struct heap *h)
{
	for (unsigned c = 0; c < h->nclasses; c++) {
		for (size_t k = 0; k < h->cls[c].nruns; k++) {
			free(h->cls[c].runs[k]->vbits);
			free(h->cls[c].runs[k]);
		}
		free(h->cls[c].runs);
		pthread_mutex_destroy(&h->cls[c].mtx);
	}
	while (h->retired) {
		struct heap_run *next = h->retired->retired_next;
		free(h->retired->vbits);
		free(h->retired);
		h->retired = next;
	}
	pthread_mutex_destroy(&h->chunk_mtx);
	pthread_mutex_destroy(&h->load_mtx);
	gc_free(h->gc);
	epoch_destroy(&h->epoch);
	pthread_mutex_destroy(&h->limbo_mtx);
	pthread_mutex_destroy(&h->evac_mtx);
	free(h->limbo);
	for (unsigned i = 0; h->lane_tx && i < h->nlanes; i++)
		free(h->lane_tx[i]);
	free(h->lane_tx);
	free(h->cstate);
	free(h->span);
	free(h->run_of);
	free(h->lane_run);
	free(h);
}

/* heap_open -- heap_open_begin, then heap_open_finish. */
int heap_open(struct pool *pool, struct heap **hp, struct errmsg *em)
{
	int err = heap_open_begin(pool, hp, em);

	return err ? err : heap_open_finish(*hp, em);
}

/* heap_open_path -- prefix em with the pool's file name. */
static void heap_open_path(const struct pool *pool, struct errmsg *em,
			   int err)
{
	char detail[ERRMSG_MAX];

	if (!em || !pool->path)
		return;
	snprintf(detail, sizeof(detail), "%s", em->text);
	err_set(em, err, "%s: %s", pool->path, detail);
}

/* heap_open_begin -- replay the logs (undoably), rebuild the allocator. */
int heap_open_begin(struct pool *pool, struct heap **hp, struct errmsg *em)
{
	struct heap *h = calloc(1, sizeof(*h));
	int err;

	pthread_once(&class_once, heap_classes_init);
	if (!h)
		return err_set(em, -ENOMEM, "out of memory");
	h->pool = pool;
	h->nchunks = pool_heap_chunks(pool);
	h->cap_chunks = pool->hdr->nchunks;
	h->chunk_size = pool->hdr->chunk_size;
	h->chunk_hdr = pool_ptr(pool, pool->hdr->chunk_hdr_off);
	h->nclasses = class_count;
	h->nlanes = pool->hdr->nlanes;
	/* A pool's 4096th in frees (1 GiB: 262,144, 16 MiB of list): a
	 * bigger pool can hold more, and checkpoints get rarer. */
	h->limbo_nudge = pool->size >> 12;
	if (h->limbo_nudge < HEAP_LIMBO_NUDGE)
		h->limbo_nudge = HEAP_LIMBO_NUDGE;
	if (h->limbo_nudge > HEAP_LIMBO_NUDGE_MAX)
		h->limbo_nudge = HEAP_LIMBO_NUDGE_MAX;
	pthread_mutex_init(&h->chunk_mtx, NULL);
	pthread_mutex_init(&h->load_mtx, NULL);
	epoch_init(&h->epoch);
	pthread_mutex_init(&h->limbo_mtx, NULL);
	pthread_mutex_init(&h->evac_mtx, NULL);
	for (unsigned c = 0; c < h->nclasses; c++) {
		struct heap_class *k = &h->cls[c];
		k->block_size = class_sizes[c];
		k->nblocks = (uint32_t)((h->chunk_size - CACHELINE) /
					k->block_size);
		if (k->nblocks == 0) {
			/* past what a chunk holds: huge spans from here */
			h->nclasses = c;
			break;
		}
		for (;;) {
			k->nwords = (k->nblocks + 63) / 64;
			k->hdr_bytes = (k->nwords * 8 + CACHELINE - 1) &
				       ~(CACHELINE - 1);
			if (k->hdr_bytes + k->nblocks * k->block_size <=
			    h->chunk_size)
				break;
			k->nblocks--;
		}
		if (k->nblocks == 0) {
			h->nclasses = c;
			break;
		}
		pthread_mutex_init(&k->mtx, NULL);
	}
	/* For the most the heap can grow to: pages never touched cost no
	 * memory. */
	h->cstate = calloc(h->cap_chunks, 1);
	h->span = calloc(h->cap_chunks, sizeof(*h->span));
	h->run_of = calloc(h->cap_chunks, sizeof(*h->run_of));
	h->lane_run = calloc((size_t)h->nlanes * h->nclasses,
			     sizeof(*h->lane_run));
	h->lane_tx = calloc(h->nlanes, sizeof(*h->lane_tx));
	h->limbo_oldest = UINT64_MAX;
	if (!h->cstate || !h->span || !h->run_of || !h->lane_run ||
	    !h->lane_tx) {
		err = err_set(em, -ENOMEM, "out of memory");
		goto fail;
	}
	if (gc_new(h, &h->gc)) {
		err = err_set(em, -ENOMEM, "out of memory");
		goto fail;
	}
	err = redo_open(pool, &h->redo, em);
	if (err)
		goto fail;
	err = redo_recover(h->redo, &h->rstats, em);
	if (err)
		goto fail_redo;
	err = heap_rebuild(h, em);
	if (err) {
		redo_recover_undo(h->redo);
		goto fail_redo;
	}
	*hp = h;
	return 0;
fail_redo:
	/* Not redo_close: it would mark the logs applied. */
	redo_free(h->redo);
fail:
	heap_free_volatile(h);
	heap_open_path(pool, em, err);
	return err;
}

/* heap_open_finish -- the replay durable, the pool marked in use. */
int heap_open_finish(struct heap *h, struct errmsg *em)
{
	struct pool *pool = h->pool;
	int err;

	redo_recover_finish(h->redo);
	pool_mark_open(pool);
	err = persist_failed(&pool->persist);
	if (!err)
		return 0;
	err_set(em, err, "marking the pool open failed: %s", strerror(-err));
	redo_free(h->redo);
	heap_free_volatile(h);
	heap_open_path(pool, em, err);
	return err;
}

/* heap_open_cancel -- undo heap_open_begin's replay; free the heap. */
void heap_open_cancel(struct heap *h)
{
	redo_recover_undo(h->redo);
	redo_free(h->redo);
	heap_free_volatile(h);
}

/* heap_close -- make everything durable, close the pool, free the heap. */
void heap_close(struct heap *h)
{
	if (!h)
		return;
	gc_stop(h->gc);  /* no collection may run past here */
	redo_close(h->redo);
	pool_close(h->pool);
	heap_free_volatile(h);
}

/* heap_abandon -- stop and free without declaring a clean shutdown. */
void heap_abandon(struct heap *h)
{
	if (!h)
		return;
	gc_stop(h->gc);
	redo_free(h->redo);    /* committed work is durable already */
	pool_release(h->pool);
	heap_free_volatile(h);
}

/* heap_pool -- the pool under the heap. */
struct pool *heap_pool(const struct heap *h)
{
	return h->pool;
}

/* heap_epoch -- the heap's reader grace periods. */
struct epoch *heap_epoch(struct heap *h)
{
	return &h->epoch;
}

/* heap_gc -- the heap's collector. */
struct gc *heap_gc(const struct heap *h)
{
	return h->gc;
}

/* heap_redo -- the lanes of the heap. */
struct redo *heap_redo(const struct heap *h)
{
	return h->redo;
}

/* heap_recovery_stats -- what recovery did at open. */
const struct redo_recovery_stats *heap_recovery_stats(const struct heap *h)
{
	return &h->rstats;
}

/* heap_check -- volatile and persistent state agree. */
int heap_check(struct heap *h, struct errmsg *em)
{
	/* Blocks in the limbo are free on media but taken in memory: a
	 * checkpoint lets all of them go. */
	redo_checkpoint(h->redo);
	heap_limbo_drain(h);
	for (uint64_t i = 0; i < h->nchunks; i++) {
		uint64_t hdr = h->chunk_hdr[i];
		unsigned kind = CHUNK_KIND(hdr);
		uint8_t cs = h->cstate[i];

		if ((kind == CHUNK_FREE && cs != CS_FREE && cs != CS_HUGE_INNER) ||
		    (kind == CHUNK_RUN && cs != CS_RUN) ||
		    (kind == CHUNK_HUGE && cs != CS_HUGE))
			return err_set(em, PKV_ECORRUPT,
				       "chunk %llu: header 0x%llx but volatile "
				       "state %u", (unsigned long long)i,
				       (unsigned long long)hdr, cs);
		if (kind == CHUNK_HUGE) {
			if (h->span[i] != CHUNK_SPAN(hdr))
				return err_set(em, PKV_ECORRUPT,
					       "chunk %llu: span %u, header "
					       "says %u", (unsigned long long)i,
					       h->span[i], CHUNK_SPAN(hdr));
			for (uint32_t k = 1; k < h->span[i]; k++)
				if (h->cstate[i + k] != CS_HUGE_INNER)
					return err_set(em, PKV_ECORRUPT,
						"chunk %llu: not part of its "
						"span", (unsigned long long)(i + k));
			i += h->span[i] - 1;
		} else if (kind == CHUNK_RUN) {
			const struct heap_run *run = h->run_of[i];
			const struct heap_class *c = &h->cls[CHUNK_CLASS(hdr)];
			const uint64_t *pbits = heap_persistent_bits(h, i);
			unsigned used = 0;
			if (!run || run->cls != CHUNK_CLASS(hdr))
				return err_set(em, PKV_ECORRUPT,
					       "chunk %llu: run descriptor "
					       "missing", (unsigned long long)i);
			if (!atomic_load(&run->loaded))
				continue;     /* it is the persistent bitmap */
			for (uint32_t w = 0; w < c->nwords; w++) {
				uint64_t mask = heap_tail_mask(c, w);
				uint64_t v = atomic_load(&run->vbits[w]);
				if ((v & mask) != (pbits[w] & mask))
					return err_set(em, PKV_ECORRUPT,
						"chunk %llu word %u: volatile "
						"0x%llx, persistent 0x%llx",
						(unsigned long long)i, w,
						(unsigned long long)(v & mask),
						(unsigned long long)(pbits[w] & mask));
				used += (unsigned)__builtin_popcountll(v & mask);
			}
			if (atomic_load(&run->nfree) != c->nblocks - used)
				return err_set(em, PKV_ECORRUPT,
					       "chunk %llu: %u free counted, %u "
					       "free in bitmap",
					       (unsigned long long)i,
					       atomic_load(&run->nfree),
					       c->nblocks - used);
		}
	}
	return 0;
}

/* heap_get_stats -- utilization and per-class figures (walks the heap). */
void heap_get_stats(const struct heap *h, struct heap_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->heap_bytes = h->nchunks * h->chunk_size;
	st->chunks_total = h->nchunks;
	st->nclasses = h->nclasses;
	for (unsigned c = 0; c < h->nclasses; c++) {
		st->cls[c].block_size = h->cls[c].block_size;
	}
	for (uint64_t i = 0; i < h->nchunks; i++) {
		uint64_t hdr = h->chunk_hdr[i];
		if (CHUNK_KIND(hdr) == CHUNK_HUGE) {
			uint32_t n = CHUNK_SPAN(hdr);
			st->chunks_huge += n;
			st->allocated_bytes += (uint64_t)n * h->chunk_size;
			st->allocated_blocks++;
			i += n - 1;
		} else if (CHUNK_KIND(hdr) == CHUNK_RUN) {
			unsigned cls = CHUNK_CLASS(hdr);
			const struct heap_class *c = &h->cls[cls];
			const uint64_t *bits = heap_persistent_bits(h, i);
			uint64_t used = 0;
			for (uint32_t w = 0; w < c->nwords; w++)
				used += (uint64_t)__builtin_popcountll(
					bits[w] & heap_tail_mask(c, w));
			st->cls[cls].runs++;
			st->cls[cls].blocks_total += c->nblocks;
			st->cls[cls].blocks_used += used;
			st->allocated_bytes += used * c->block_size;
			st->allocated_blocks += used;
		} else {
			st->chunks_free++;
		}
	}
	st->utilization = st->heap_bytes ?
		(double)st->allocated_bytes / (double)st->heap_bytes : 0;
	st->free_bytes = st->chunks_free * h->chunk_size;
	st->active_bytes = st->heap_bytes - st->free_bytes;
	st->frag_ratio = st->allocated_bytes ?
		(double)st->active_bytes / (double)st->allocated_bytes : 0;
}

/* heap_headroom -- see heap.h. */
uint64_t heap_headroom(const struct heap_stats *st, uint64_t size,
		       uint64_t max_size)
{
	return st->free_bytes + (max_size > size ? max_size - size : 0);
}
