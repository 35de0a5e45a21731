/*
 * tx.c -- heap transactions: a lane's redo record plus the allocator
 * actions it records (see tx.h).
 *
 * The order at commit is what makes it all-or-nothing: blocks allocated by
 * the transaction are written back and named in the record (its checksum
 * covers their fixed bytes and it carries their changeable ones, so they
 * become reachable only through this commit), blocks any of whose bytes
 * may change later are made durable first, then the record commits with
 * one fence and is applied.  Freed blocks go to the heap's limbo with the
 * commit's seq: they are reused only after a checkpoint passes it, so a
 * block is never handed out while a committed free of it could be lost or
 * replayed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pkv.h"
#include "planted.h"
#include "tx.h"
#include "gc.h"

#define TX_INLINE_ACTIONS 8  /* a put needs 2; batches grow the array */
#define TX_PREFIX_ALL UINT32_MAX  /* every byte may change: fence first */
#define TX_INDEX_FROM 16     /* actions from which new blocks are hashed */
#define TX_CARRY_MAX (64u << 10)  /* disk mode: blocks up to this are
				     carried in the record */
#define TX_CARRY_MUTABLE_MAX 256u /* persistent memory: a block any of
				     whose bytes may change, of up to this
				     (header included), is carried in the
				     record rather than fenced */

/* An allocation or free, and what may change of a new block later. */
struct tx_action {
	struct heap_action h;
	uint32_t prefix;              /* TX_PREFIX_ALL, or bytes that may */
	bool unalloc;                 /* a free of a block this transaction
					 allocated: it never becomes one (no
					 collector barrier) */
	bool flush;                   /* tx_name_blocks: write it back, */
	uint64_t flush_len;           /* these bytes from its header */
};

struct tx {
	struct heap *heap;
	struct redo_lane *lane;
	int err;                      /* first failed step, or 0 */
	size_t nact, cap;
	struct tx_action *act;        /* inline until it outgrows it */
	struct tx_action inline_act[TX_INLINE_ACTIONS];
	/* From TX_INDEX_FROM actions on: the new blocks by offset, so a
	 * store can tell at once whether it lands in one (open addressing:
	 * action index + 1, 0 empty; under half full). */
	uint32_t *index;
	size_t index_mask;            /* size - 1, or 0 without an index */
	uint64_t regions;             /* tx_region_bit of every 64 KiB of
					 the pool a new block lies in (some
					 bits may be stale: a hint) */
};

/* tx_region_bit -- the bit of the 64 KiB of the pool that hold off in
 * struct tx's regions: a store that lands in none of the transaction's
 * new blocks is told so without looking the block up (a group commit's
 * skip-list or chain words: 4% of its profile was that lookup). */
static inline uint64_t tx_region_bit(uint64_t off)
{
	return 1ull << ((off >> 16) * 0x9e3779b97f4a7c15ull >> 58);
}

/* tx_regions_add -- note the regions of a new block. */
static void tx_regions_add(struct tx *tx, const struct heap_action *h)
{
	uint64_t r = h->block_off >> 16;
	uint64_t last = (h->block_off + h->block_len - 1) >> 16;

	if (last - r >= 64) {
		tx->regions = ~0ull;
		return;
	}
	for (; r <= last; r++)
		tx->regions |= tx_region_bit(r << 16);
}

/* tx_begin -- take a lane and start an empty transaction; the handle is
 * the lane's, kept from one transaction to the next (no malloc). */
int tx_begin(struct heap *h, struct tx **txp)
{
	struct redo_lane *lane = redo_lane_acquire(heap_redo(h));
	void **slot = &heap_lane_tx(h)[redo_lane_id(lane)];
	struct tx *tx = *slot;

	if (!tx) {
		tx = malloc(sizeof(*tx));
		if (!tx) {
			redo_lane_release(heap_redo(h), lane);
			return -ENOMEM;
		}
		*slot = tx;
	}
	tx->heap = h;
	tx->lane = lane;
	tx->err = 0;
	tx->nact = 0;
	tx->cap = TX_INLINE_ACTIONS;
	tx->act = tx->inline_act;
	tx->index = NULL;
	tx->index_mask = 0;
	tx->regions = 0;
	*txp = tx;
	return 0;
}

/*
 * The collector's barrier.  While it marks, the words a transaction will
 * overwrite and the blocks it will free are reported first, so it never
 * loses track of a block that was reachable when it started (gc.c); the
 * words it writes are reported too, for a block allocated before the
 * collection but published only now.  The transaction holds its lane from
 * begin to commit, and the collector turns marking on and off only while
 * it holds every lane, so one transaction sees one answer throughout.
 * The offset was validated by the log.
 */
static void tx_barrier_words(struct tx *tx, uint64_t off, const void *src,
			     size_t len)
{
	struct gc *gc = heap_gc(tx->heap);

	if (gc_marking(gc)) {
		gc_barrier_words(gc, pool_ptr(heap_pool(tx->heap), off), len);
		gc_barrier_new(gc, src, len);
	}
}

static void tx_barrier_free(struct tx *tx, uint64_t off)
{
	struct gc *gc = heap_gc(tx->heap);

	if (gc_marking(gc))
		gc_barrier_free(gc, off);
}

/* tx_fail -- remember the first failure; return it. */
static int tx_fail(struct tx *tx, int err)
{
	if (!tx->err)
		tx->err = err;
	return err;
}

/* tx_room -- make room for one more action; 0 or -ENOMEM. */
static int tx_room(struct tx *tx)
{
	struct tx_action *a;
	size_t cap;

	if (tx->nact < tx->cap)
		return 0;
	cap = tx->cap * 4;
	a = malloc(cap * sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(a, tx->act, tx->nact * sizeof(*a));
	if (tx->act != tx->inline_act)
		free(tx->act);
	tx->act = a;
	tx->cap = cap;
	return 0;
}

/* tx_index_slot -- where the new block at block_off is, or would go. */
static size_t tx_index_slot(const struct tx *tx, uint64_t block_off)
{
	size_t i = (size_t)((block_off >> 4) * 0x9e3779b97f4a7c15ull >> 24) &
		   tx->index_mask;

	while (tx->index[i] &&
	       tx->act[tx->index[i] - 1].h.block_off != block_off)
		i = (i + 1) & tx->index_mask;
	return i;
}

/* tx_last -- the newest action on the block at block_off, or NULL. */
static const struct tx_action *tx_last(const struct tx *tx,
				       uint64_t block_off)
{
	if (tx->index) {
		uint32_t k = tx->index[tx_index_slot(tx, block_off)];
		return k ? &tx->act[k - 1] : NULL;
	}
	for (size_t i = tx->nact; i-- > 0;)
		if (tx->act[i].h.block_off == block_off)
			return &tx->act[i];
	return NULL;
}

/* tx_find -- the newest action on the block if it is a free (is_free)
 * or an allocation (!is_free), else NULL. */
static const struct tx_action *tx_find(const struct tx *tx,
				       uint64_t block_off, bool is_free)
{
	const struct tx_action *a = tx_last(tx, block_off);
	return a && a->h.is_free == is_free ? a : NULL;
}

/* tx_index_build -- (re)hash every new block into an index for about
 * 2 x nact entries; without memory, the index is dropped (the linear
 * search stays right). */
static void tx_index_build(struct tx *tx)
{
	size_t size = 64;

	free(tx->index);
	tx->index = NULL;
	tx->index_mask = 0;
	if (tx->nact < TX_INDEX_FROM)
		return;
	while (size < 4 * tx->nact)
		size *= 2;
	tx->index = calloc(size, sizeof(*tx->index));
	if (!tx->index)
		return;
	tx->index_mask = size - 1;
	for (size_t k = 0; k < tx->nact; k++)
		tx->index[tx_index_slot(tx, tx->act[k].h.block_off)] =
			(uint32_t)k + 1;
}

/* tx_index_add -- index the newest action by its block. */
static void tx_index_add(struct tx *tx)
{
	size_t k = tx->nact - 1;

	if (tx->nact < TX_INDEX_FROM)
		return;
	if (!tx->index || 2 * tx->nact > tx->index_mask) {
		tx_index_build(tx);
		return;
	}
	tx->index[tx_index_slot(tx, tx->act[k].h.block_off)] = (uint32_t)k + 1;
}

/* tx_alloc_prefix -- reserve a block and log the bit that records it. */
static int tx_alloc_prefix(struct tx *tx, size_t size, uint32_t type,
			   uint32_t prefix, uint64_t *offp)
{
	struct tx_action *act;
	int err;

	if (prefix != TX_PREFIX_ALL &&
	    (prefix > LOG_BLOCK_PREFIX_MAX || prefix % 8 || prefix > size))
		return PKV_EINVAL;
	if ((err = tx_room(tx)))
		return err;
	act = &tx->act[tx->nact];
	err = heap_reserve(tx->heap, redo_lane_id(tx->lane), size, type,
			   &act->h);
	if (err)
		return err;
	err = redo_log_word(tx->lane, act->h.op, act->h.word_off,
			    act->h.value);
	if (err) {
		heap_cancel(tx->heap, &act->h);
		return tx_fail(tx, err);
	}
	act->prefix = prefix;
	act->unalloc = false;
	tx->nact++;
	tx_index_add(tx);
	tx_regions_add(tx, &act->h);
	*offp = act->h.block_off + BLOCK_HDR_SIZE;
	return 0;
}

/* tx_alloc -- a block any of whose bytes may change after the commit. */
int tx_alloc(struct tx *tx, size_t size, uint32_t type, uint64_t *offp)
{
	return tx_alloc_prefix(tx, size, type, TX_PREFIX_ALL, offp);
}

/* tx_alloc_fixed -- a block fixed past its first `prefix` bytes. */
int tx_alloc_fixed(struct tx *tx, size_t size, uint32_t type,
		   unsigned prefix, uint64_t *offp)
{
	return tx_alloc_prefix(tx, size, type, prefix, offp);
}

/*
 * tx_unalloc -- free a block this transaction allocated: the record undoes
 * the allocation's bit or chunk header (it never becomes a block on the
 * media) and the block is given back as a freed one is, once the
 * watermark passes the commit.
 */
static int tx_unalloc(struct tx *tx, const struct tx_action *alloc)
{
	struct tx_action *act = &tx->act[tx->nact];
	int err;

	act->h = alloc->h;
	act->h.is_free = true;
	if (act->h.huge) {
		act->h.value = CHUNK_FREE;              /* op stays SET */
	} else {
		act->h.op = LOG_OP_AND;
		act->h.value = ~alloc->h.value;
	}
	err = redo_log_word(tx->lane, act->h.op, act->h.word_off,
			    act->h.value);
	if (err)
		return tx_fail(tx, err);
	act->prefix = 0;
	act->unalloc = true;
	tx->nact++;
	tx_index_add(tx);
	return 0;
}

/* tx_free -- log the free of an allocated block (or of one this
 * transaction allocated). */
int tx_free(struct tx *tx, uint64_t off)
{
	const struct tx_action *mine;
	struct tx_action *act;
	int err;

	if ((err = tx_room(tx)))
		return tx_fail(tx, err);
	if (off >= BLOCK_HDR_SIZE && (tx->regions & tx_region_bit(off)) &&
	    (mine = tx_last(tx, off - BLOCK_HDR_SIZE)) != NULL) {
		if (mine->h.is_free)
			return PKV_EINVAL;  /* freed twice in one transaction */
		return tx_unalloc(tx, mine);
	}
	act = &tx->act[tx->nact];
	err = heap_prepare_free(tx->heap, off, &act->h);
	if (err)
		return err;
	err = redo_log_word(tx->lane, act->h.op, act->h.word_off,
			    act->h.value);
	if (err)
		return tx_fail(tx, err);
	act->prefix = 0;
	act->unalloc = false;
	tx->nact++;
	tx_index_add(tx);
	tx_barrier_free(tx, off);
	return 0;
}

/*
 * tx_own_fixed -- whether [off, off+len) lies in the fixed part of a block
 * this transaction allocated with tx_alloc_fixed.  Such memory is
 * unreachable until the commit and covered by the commit checksum as it
 * is at commit time, so it must be written directly: a logged store
 * applied after the commit would change covered bytes and make the record
 * fail its checksum in recovery.  Any other word of a new block (its
 * changeable prefix, or a block that may change anywhere) is logged like
 * any other: replay applies it after the block's carried prefix, and a
 * rollback to a savepoint drops it.
 */
static bool tx_own_fixed(const struct tx *tx, uint64_t off, size_t len)
{
	const struct tx_action *a = NULL;

	if (!(tx->regions & tx_region_bit(off)))
		return false;
	if (tx->index) {
		uint64_t start = heap_block_of(tx->heap, off);
		a = start ? tx_find(tx, start, false) : NULL;
	} else {
		for (size_t i = tx->nact; i-- > 0 && !a;) {
			const struct heap_action *h = &tx->act[i].h;
			if (off >= h->block_off &&
			    off < h->block_off + h->block_len)
				a = &tx->act[i];
		}
	}
	return a && !a->h.is_free && a->prefix != TX_PREFIX_ALL &&
	       off >= a->h.block_off + BLOCK_HDR_SIZE + a->prefix &&
	       off + len <= a->h.block_off + a->h.block_len;
}

/* tx_set -- log a word store (or make it, in the transaction's own block). */
int tx_set(struct tx *tx, uint64_t off, uint64_t value)
{
	uint32_t pos;

	return tx_set_pos(tx, off, value, &pos);
}

/* tx_set_pos -- see tx.h. */
int tx_set_pos(struct tx *tx, uint64_t off, uint64_t value, uint32_t *pos)
{
	size_t at = redo_log_used(tx->lane);
	int err;

	*pos = TX_NO_POS;
	if (tx_own_fixed(tx, off, 8)) {
		*(uint64_t *)pool_ptr(heap_pool(tx->heap), off) = value;
		return 0;
	}
	err = redo_log_word(tx->lane, LOG_OP_SET, off, value);
	if (err)
		return tx_fail(tx, err);
	tx_barrier_words(tx, off, &value, 8);
	*pos = (uint32_t)at;
	return 0;
}

/* tx_reset -- see tx.h.  The collector is told of the new value as of
 * any store. */
void tx_reset(struct tx *tx, uint32_t pos, uint64_t off, uint64_t value)
{
	redo_log_reset(tx->lane, pos, value);
	tx_barrier_words(tx, off, &value, 8);
}

/* tx_write -- log a range store (or make it, in the transaction's own block). */
int tx_write(struct tx *tx, uint64_t off, const void *src, size_t len)
{
	int err;

	if (tx_own_fixed(tx, off, len)) {
		memcpy(pool_ptr(heap_pool(tx->heap), off), src, len);
		return 0;
	}
	err = redo_log_copy(tx->lane, off, src, len);
	if (err)
		return tx_fail(tx, err);
	tx_barrier_words(tx, off, src, len);
	return 0;
}

/* tx_mark -- a savepoint: what the transaction has done so far. */
void tx_mark(const struct tx *tx, struct tx_mark *m)
{
	m->nact = tx->nact;
	m->used = redo_log_used(tx->lane);
	m->err = tx->err;
}

/* tx_rollback -- undo everything done after the mark. */
void tx_rollback(struct tx *tx, const struct tx_mark *m)
{
	if (m->nact > tx->nact)
		return;
	for (size_t i = tx->nact; i-- > m->nact;)
		if (!tx->act[i].h.is_free)
			heap_cancel(tx->heap, &tx->act[i].h);
	tx->nact = m->nact;
	redo_log_truncate(tx->lane, m->used);
	tx->err = m->err;
	if (tx->index)
		tx_index_build(tx);
}

/* tx_end -- give the lane back; the handle stays with it. */
static void tx_end(struct tx *tx)
{
	if (tx->act != tx->inline_act)
		free(tx->act);
	tx->act = tx->inline_act;
	free(tx->index);
	tx->index = NULL;
	tx->index_mask = 0;
	redo_lane_release(heap_redo(tx->heap), tx->lane);
}

/* tx_abort -- undo every reservation, drop the log. */
void tx_abort(struct tx *tx)
{
	for (size_t i = 0; i < tx->nact; i++)
		if (!tx->act[i].h.is_free)
			heap_cancel(tx->heap, &tx->act[i].h);
	redo_log_discard(tx->lane);
	tx_end(tx);
}

/*
 * tx_name_blocks -- make every new block part of the commit.  On
 * persistent memory a block is written back and named in the record (its
 * fixed bytes in the checksum, its changeable ones carried), and one that
 * may change anywhere is fenced here, before the record can publish it,
 * unless it is small: then it is carried whole in the record, as on a
 * disk, which costs a few of the record's lines instead of a second
 * fence (a durable tx_alloc of 100 bytes: 2 fences before, 1 after), and
 * the checkpoint that passes the record writes its lines back.
 * On a disk (a backend that tracks dirty pages) a block of up to
 * TX_CARRY_MAX is carried whole in the record instead, so the commit
 * writes one sequential record and syncs once; its pages reach the disk
 * with the next checkpoint.  Returns 0 or the record's error (abort then).
 */
static int tx_name_blocks(struct tx *tx)
{
	struct pool *pool = heap_pool(tx->heap);
	struct persist *p = &pool->persist;
	bool carry = persist_tracks_dirty(p), fence = false;

	/*
	 * Two passes: every block is read (logged, its bytes summed) before
	 * any is written back.  A load from a line whose write-back is in
	 * flight waits for it (~500 cycles on this machine's CPU), and
	 * neighbouring blocks share lines: reading each block after
	 * flushing the one before it stalled a group commit of hundreds of
	 * new blocks (INCR or LPUSH at pipeline 16) on nearly every one.
	 */
	for (size_t i = 0; i < tx->nact; i++) {
		struct tx_action *a = &tx->act[i];
		const struct block_hdr *bh;
		uint64_t len;
		int err;
		a->flush = false;
		/* A freed block's header is not read: nothing else of the
		 * free touches it, and in a random free it is a cache miss. */
		if (a->h.is_free || tx_find(tx, a->h.block_off, true))
			continue;   /* a free, or a block freed again */
		bh = pool_ptr(pool, a->h.block_off);
		len = BLOCK_HDR_SIZE + bh->size;
		if ((carry && len <= TX_CARRY_MAX) ||
		    (a->prefix == TX_PREFIX_ALL &&
		     len <= TX_CARRY_MUTABLE_MAX)) {
			if (PLANTED(TX_CARRY_MUTABLE) && !carry)
				continue;
			if ((err = redo_log_blockcopy(tx->lane, a->h.block_off,
						      len)))
				return err;
			continue;
		}
		a->flush = true;
		a->flush_len = len;
		if (a->prefix == TX_PREFIX_ALL) {
			fence = true;
			continue;
		}
		/* Fixed bytes in the checksum, changeable ones carried: the
		 * record is valid only if the block reached the media. */
		if ((err = redo_log_block(tx->lane, a->h.block_off +
					  BLOCK_HDR_SIZE, len - BLOCK_HDR_SIZE,
					  a->prefix)))
			return err;
	}
	for (size_t i = 0; i < tx->nact && !PLANTED(TX_FLUSH_BLOCK); i++)
		if (tx->act[i].flush)
			persist_flush(p, pool_ptr(pool, tx->act[i].h.block_off),
				      tx->act[i].flush_len);
	/*
	 * A block whose bytes later transactions change in place cannot be
	 * checked by the record (a change would fail its checksum), so it is
	 * durable before the record that publishes it.
	 */
	if (fence && !PLANTED(TX_MUTABLE_FENCE))
		persist_fence(p);
	return 0;
}

/* tx_commit_seq -- name new blocks, commit, hand frees to the limbo. */
int tx_commit_seq(struct tx *tx, uint64_t *seqp)
{
	struct heap *h = tx->heap;
	uint64_t seq = 0;
	int err = tx->err;

	if (seqp)
		*seqp = 0;
	struct heap_action area = { 0 };
	size_t need;

	if (err || (err = tx_name_blocks(tx))) {
		tx_abort(tx);
		return err;
	}
	/*
	 * A record too big for the ring goes to an area of free space,
	 * reserved in memory only (it never becomes a block on the media)
	 * and kept from reuse until the watermark passes the commit, as a
	 * freed block is.
	 */
	need = redo_area_needed(tx->lane);
	if (need && (err = heap_reserve(h, redo_lane_id(tx->lane), need, 0,
					&area))) {
		tx_abort(tx);
		return err;
	}
	err = redo_commit_area(heap_redo(h), tx->lane,
			       need ? area.block_off + BLOCK_HDR_SIZE : 0,
			       &seq);
	if (need) {
		if (seq)
			heap_free_applied(h, &area, seq);
		else
			heap_cancel(h, &area);
	}
	if (!seq && err) {            /* nothing was committed */
		tx_abort(tx);
		return err;
	}
	/*
	 * Frees, and blocks allocated and freed again here, wait in the
	 * limbo for the watermark: the record still sets and clears their
	 * bits or chunk headers when replayed, and a chunk can become a run
	 * by direct stores that no replay orders after it.
	 */
	for (size_t i = 0; i < tx->nact; i++) {
		const struct tx_action *a = &tx->act[i];
		if (a->unalloc && PLANTED(TX_UNALLOC_AT_ONCE))
			heap_cancel(h, &a->h);
		else if (a->h.is_free)
			heap_free_applied(h, &a->h, seq);
	}
	tx_end(tx);
	heap_limbo_maybe_drain(h);   /* lane given back first: see heap.h */
	if (seqp)
		*seqp = seq;
	return err;
}

/* tx_set_async -- see tx.h. */
void tx_set_async(struct tx *tx)
{
	redo_lane_async(tx->lane);
}

/* tx_allocated -- see tx.h. */
bool tx_allocated(const struct tx *tx, uint64_t data_off)
{
	return data_off >= BLOCK_HDR_SIZE &&
	       tx_find(tx, data_off - BLOCK_HDR_SIZE, false) != NULL;
}

/* tx_log_half_full -- see tx.h. */
bool tx_log_half_full(const struct tx *tx)
{
	return redo_lane_half_full(tx->lane);
}

/* tx_commit -- commit, without asking for the seq. */
int tx_commit(struct tx *tx)
{
	return tx_commit_seq(tx, NULL);
}

/* tx_heap -- the transaction's heap. */
struct heap *tx_heap(const struct tx *tx)
{
	return tx->heap;
}
