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

/* An allocation or free, and what may change of a new block later. */
struct tx_action {
	struct heap_action h;
	uint32_t prefix;              /* TX_PREFIX_ALL, or bytes that may */
};

struct tx {
	struct heap *heap;
	struct redo_lane *lane;
	int err;                      /* first failed step, or 0 */
	unsigned nact, cap;
	struct tx_action *act;        /* inline until it outgrows it */
	struct tx_action inline_act[TX_INLINE_ACTIONS];
};

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

/* tx_room -- make room for one more action; 0 or an error. */
static int tx_room(struct tx *tx)
{
	struct tx_action *a;
	unsigned cap;

	if (tx->nact < tx->cap)
		return 0;
	if (tx->nact == TX_MAX_ACTIONS)
		return PKV_ETXTOOBIG;
	cap = tx->cap * 4 < TX_MAX_ACTIONS ? tx->cap * 4 : TX_MAX_ACTIONS;
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
	tx->nact++;
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

/* tx_free -- log the free of an allocated block. */
int tx_free(struct tx *tx, uint64_t off)
{
	struct tx_action *act;
	int err;

	if ((err = tx_room(tx)))
		return tx_fail(tx, err);
	act = &tx->act[tx->nact];
	err = heap_prepare_free(tx->heap, off, &act->h);
	if (err)
		return err;
	for (unsigned i = 0; i < tx->nact; i++)
		if (tx->act[i].h.is_free &&
		    tx->act[i].h.block_off == act->h.block_off)
			return PKV_EINVAL;  /* freed twice in one transaction */
	err = redo_log_word(tx->lane, act->h.op, act->h.word_off,
			    act->h.value);
	if (err)
		return tx_fail(tx, err);
	act->prefix = 0;
	tx->nact++;
	tx_barrier_free(tx, off);
	return 0;
}

/*
 * tx_own_block -- whether [off, off+len) lies in a block this transaction
 * allocated.  Such memory is unreachable until the commit and its bytes are
 * covered by the commit checksum as they are at commit time, so it must be
 * written directly: a logged store applied into it after the commit would
 * change covered bytes and make the record fail its checksum in recovery.
 */
static bool tx_own_block(const struct tx *tx, uint64_t off, size_t len)
{
	for (unsigned i = 0; i < tx->nact; i++) {
		const struct heap_action *a = &tx->act[i].h;
		if (!a->is_free && off >= a->block_off + BLOCK_HDR_SIZE &&
		    off + len <= a->block_off + a->block_len)
			return true;
	}
	return false;
}

/* tx_set -- log a word store (or make it, in the transaction's own block). */
int tx_set(struct tx *tx, uint64_t off, uint64_t value)
{
	int err;

	if (tx_own_block(tx, off, 8)) {
		*(uint64_t *)pool_ptr(heap_pool(tx->heap), off) = value;
		return 0;
	}
	err = redo_log_word(tx->lane, LOG_OP_SET, off, value);
	if (err)
		return tx_fail(tx, err);
	tx_barrier_words(tx, off, &value, 8);
	return 0;
}

/* tx_write -- log a range store (or make it, in the transaction's own block). */
int tx_write(struct tx *tx, uint64_t off, const void *src, size_t len)
{
	int err;

	if (tx_own_block(tx, off, len)) {
		memcpy(pool_ptr(heap_pool(tx->heap), off), src, len);
		return 0;
	}
	err = redo_log_copy(tx->lane, off, src, len);
	if (err)
		return tx_fail(tx, err);
	tx_barrier_words(tx, off, src, len);
	return 0;
}

/* tx_end -- give the lane back; the handle stays with it. */
static void tx_end(struct tx *tx)
{
	if (tx->act != tx->inline_act)
		free(tx->act);
	tx->act = tx->inline_act;
	redo_lane_release(heap_redo(tx->heap), tx->lane);
}

/* tx_abort -- undo every reservation, drop the log. */
void tx_abort(struct tx *tx)
{
	for (unsigned i = 0; i < tx->nact; i++)
		if (!tx->act[i].h.is_free)
			heap_cancel(tx->heap, &tx->act[i].h);
	redo_log_discard(tx->lane);
	tx_end(tx);
}

/*
 * tx_name_blocks -- write back every new block and name it in the record;
 * the blocks that may change anywhere are fenced here, before the record
 * can publish them.  Returns 0 or the record's error (abort then).
 */
static int tx_name_blocks(struct tx *tx)
{
	struct pool *pool = heap_pool(tx->heap);
	struct persist *p = &pool->persist;
	bool fence = false;

	for (unsigned i = 0; i < tx->nact; i++) {
		const struct tx_action *a = &tx->act[i];
		const struct block_hdr *bh = pool_ptr(pool, a->h.block_off);
		int err;
		if (a->h.is_free)
			continue;
		if (!PLANTED(TX_FLUSH_BLOCK))
			persist_flush(p, bh, BLOCK_HDR_SIZE + bh->size);
		if (a->prefix == TX_PREFIX_ALL) {
			fence = true;
			continue;
		}
		/* Fixed bytes in the checksum, changeable ones carried: the
		 * record is valid only if the block reached the media. */
		err = redo_log_block(tx->lane, a->h.block_off + BLOCK_HDR_SIZE,
				     bh->size, a->prefix);
		if (err)
			return err;
	}
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
	if (err || (err = tx_name_blocks(tx))) {
		tx_abort(tx);
		return err;
	}
	err = redo_commit(heap_redo(h), tx->lane, &seq);
	for (unsigned i = 0; i < tx->nact; i++)
		if (tx->act[i].h.is_free)
			heap_free_applied(h, &tx->act[i].h, seq);
	tx_end(tx);
	heap_limbo_maybe_drain(h);   /* lane given back first: see heap.h */
	if (seqp)
		*seqp = seq;
	return err;
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
