/*
 * tx.c -- heap transactions: a lane's redo log plus the allocator actions
 * it records (see tx.h).
 *
 * The order at commit is what makes it all-or-nothing: blocks allocated by
 * the transaction are flushed and named in the log (its checksum covers
 * them: they become reachable only through this commit), the redo log
 * commits, is applied and retired, and only then do freed blocks become
 * reusable -- a block is never handed out again while a committed free of
 * it could be lost or replayed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pkv.h"
#include "tx.h"
#include "gc.h"

#define TX_INLINE_ACTIONS 8  /* a put needs 2; batches grow the array */

struct tx {
	struct heap *heap;
	struct redo_lane *lane;
	int err;                      /* first failed step, or 0 */
	unsigned nact, cap;
	struct heap_action *act;      /* inline until it outgrows it */
	struct heap_action inline_act[TX_INLINE_ACTIONS];
};

/* tx_begin -- take a lane and start an empty transaction. */
int tx_begin(struct heap *h, struct tx **txp)
{
	struct tx *tx = malloc(sizeof(*tx));

	if (!tx)
		return -ENOMEM;
	tx->heap = h;
	tx->lane = redo_lane_acquire(heap_redo(h));
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
	struct heap_action *a;
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

/* tx_alloc -- reserve a block and log the bit that records it. */
int tx_alloc(struct tx *tx, size_t size, uint32_t type, uint64_t *offp)
{
	struct heap_action *act;
	int err;

	if ((err = tx_room(tx)))
		return err;
	act = &tx->act[tx->nact];
	err = heap_reserve(tx->heap, redo_lane_id(tx->lane), size, type, act);
	if (err)
		return err;
	err = redo_log_word(tx->lane, act->op, act->word_off, act->value);
	if (err) {
		heap_cancel(tx->heap, act);
		return tx_fail(tx, err);
	}
	tx->nact++;
	*offp = act->block_off + BLOCK_HDR_SIZE;
	return 0;
}

/* tx_free -- log the free of an allocated block. */
int tx_free(struct tx *tx, uint64_t off)
{
	struct heap_action *act;
	int err;

	if ((err = tx_room(tx)))
		return tx_fail(tx, err);
	act = &tx->act[tx->nact];
	err = heap_prepare_free(tx->heap, off, act);
	if (err)
		return err;
	for (unsigned i = 0; i < tx->nact; i++)
		if (tx->act[i].is_free && tx->act[i].block_off == act->block_off)
			return PKV_EINVAL;  /* freed twice in one transaction */
	err = redo_log_word(tx->lane, act->op, act->word_off, act->value);
	if (err)
		return tx_fail(tx, err);
	tx->nact++;
	tx_barrier_free(tx, off);
	return 0;
}

/*
 * tx_own_block -- whether [off, off+len) lies in a block this transaction
 * allocated.  Such memory is unreachable until the commit and its bytes are
 * covered by the commit checksum as they are at commit time, so it must be
 * written directly: a logged store applied into it after the commit would
 * change covered bytes and make the log fail its checksum in recovery.
 */
static bool tx_own_block(const struct tx *tx, uint64_t off, size_t len)
{
	for (unsigned i = 0; i < tx->nact; i++) {
		const struct heap_action *a = &tx->act[i];
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

/* tx_end -- give the lane back and free the handle. */
static void tx_end(struct tx *tx)
{
	redo_lane_release(heap_redo(tx->heap), tx->lane);
	if (tx->act != tx->inline_act)
		free(tx->act);
	free(tx);
}

/* tx_abort -- undo every reservation, drop the log. */
void tx_abort(struct tx *tx)
{
	for (unsigned i = 0; i < tx->nact; i++)
		if (!tx->act[i].is_free)
			heap_cancel(tx->heap, &tx->act[i]);
	redo_log_discard(tx->lane);
	tx_end(tx);
}

/* tx_commit -- flush new blocks, commit the log, apply, release frees. */
int tx_commit(struct tx *tx)
{
	struct heap *h = tx->heap;
	struct pool *pool = heap_pool(h);
	int err = tx->err;

	if (err) {
		tx_abort(tx);
		return err;
	}
	for (unsigned i = 0; i < tx->nact; i++) {
		const struct heap_action *a = &tx->act[i];
		const struct block_hdr *bh = pool_ptr(pool, a->block_off);
		uint64_t len;
		if (a->is_free)
			continue;
		/* Header and data, whole words: the commit checksum covers
		 * them, so the log is valid only if they reached the media. */
		len = (BLOCK_HDR_SIZE + bh->size + 7) & ~7ull;
		persist_flush(&pool->persist, bh, len);
		err = redo_log_cover(tx->lane, a->block_off, len);
		if (err) {
			tx_abort(tx);
			return err;
		}
	}
	err = redo_commit(heap_redo(h), tx->lane);
	for (unsigned i = 0; i < tx->nact; i++)
		if (tx->act[i].is_free)
			heap_free_applied(h, &tx->act[i]);
	tx_end(tx);
	heap_limbo_maybe_drain(h);   /* lane given back first: see heap.h */
	return err;
}

/* tx_heap -- the transaction's heap. */
struct heap *tx_heap(const struct tx *tx)
{
	return tx->heap;
}
