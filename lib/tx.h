/*
 * tx.h -- heap transactions: allocate, free, write words and ranges, and
 * commit all of it atomically.
 *
 * A transaction holds one lane.  Blocks it allocates are reserved at once
 * and the caller writes their contents directly (they are unreachable
 * until the commit publishes them); tx_commit() writes them back, commits
 * the redo record with one fence and applies it.  Blocks the transaction
 * freed become reusable only once a checkpoint has passed the commit (a
 * replay of the record could otherwise write into their new owner).
 * Changes to memory that is already reachable must go through
 * tx_set()/tx_write(), never by plain stores.
 *
 * What a new block may become after its commit decides its cost:
 *   - tx_alloc: any byte may change later (through tx_set/tx_write): on
 *     persistent memory a block of up to 256 bytes (header included) is
 *     carried whole in the record, as every new block is on a disk; a
 *     bigger one is written back and fenced before the commit -- a second
 *     fence, for blocks written rarely (bucket arrays);
 *   - tx_alloc_fixed: only its first `prefix` bytes may change later; the
 *     rest is fixed until it is freed.  The commit checksum covers the
 *     fixed part and the record carries the prefix, so the block costs no
 *     fence of its own: the common path of a put.
 *
 *     struct tx *tx;
 *     tx_begin(heap, &tx);
 *     tx_alloc_fixed(tx, len, TYPE, 16, &off);  memcpy(pool_ptr(pool, off), ...);
 *     tx_set(tx, slot_off, off);              publish it
 *     tx_free(tx, old_off);                   free what it replaces
 *     tx_commit(tx);                          all or nothing, durable
 */
#ifndef PKV_TX_H
#define PKV_TX_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"


struct tx;

/* tx_begin -- start a transaction (takes a lane).  Returns 0 or -ENOMEM. */
int tx_begin(struct heap *h, struct tx **txp);

/*
 * tx_alloc -- reserve a block for size bytes of data with a type tag; its
 * data offset goes to *offp.  The contents are the caller's to write
 * before commit; after it, any of them may change through tx_set or
 * tx_write.  Returns 0, PKV_EFULL, PKV_EINVAL or -ENOMEM; on error
 * the transaction is still usable (and may be aborted).
 */
int tx_alloc(struct tx *tx, size_t size, uint32_t type, uint64_t *offp);

/*
 * tx_alloc_fixed -- tx_alloc for a block whose bytes past the first
 * `prefix` (at most LOG_BLOCK_PREFIX_MAX, a multiple of 8) never change
 * after the commit, until the block is freed.  Cheaper: see above.
 */
int tx_alloc_fixed(struct tx *tx, size_t size, uint32_t type,
		   unsigned prefix, uint64_t *offp);

/*
 * tx_free -- free the block whose data starts at off, at commit.  Returns
 * 0, PKV_EINVAL (not an allocated block) or -ENOMEM.
 */
int tx_free(struct tx *tx, uint64_t off);

/* tx_set -- set the 8-byte word at off (8-byte aligned) at commit.  In the
 * fixed part of a block this transaction allocated (tx_alloc_fixed), the
 * store is made at once instead (the checksum covers it as it is at
 * commit). */
int tx_set(struct tx *tx, uint64_t off, uint64_t value);

/*
 * tx_set_pos -- tx_set, and where its entry is in the record (for
 * tx_reset), or TX_NO_POS when the store was made at once.  tx_reset --
 * the entry at pos, of a word at off, sets value instead: the same word
 * set again, when the order of its stores among the transaction's others
 * does not matter (no reader follows it without the transaction's locks).
 */
#define TX_NO_POS UINT32_MAX
int tx_set_pos(struct tx *tx, uint64_t off, uint64_t value, uint32_t *pos);
void tx_reset(struct tx *tx, uint32_t pos, uint64_t off, uint64_t value);

/*
 * tx_write -- copy len bytes from src to off at commit; off must be 8-byte
 * aligned (the log packs its opcode into the offset's low bits).  Returns
 * 0, PKV_EINVAL or -ENOMEM.
 */
int tx_write(struct tx *tx, uint64_t off, const void *src, size_t len);

/*
 * tx_commit -- commit and end the transaction: durable on return.  A
 * transaction whose step failed should be aborted instead; commit then
 * returns that error and aborts.  Returns 0 or the first step's error.
 */
int tx_commit(struct tx *tx);

/*
 * tx_commit_seq -- tx_commit, and the commit's seq to *seqp (0 when the
 * transaction changed nothing).
 */
int tx_commit_seq(struct tx *tx, uint64_t *seqp);

/* tx_set_async -- the commit returns once applied, its record queued to
 * become durable later (redo_lane_async; a disk only). */
void tx_set_async(struct tx *tx);

/* tx_allocated -- whether the transaction allocated the block whose data
 * is at data_off (and did not free it again). */
bool tx_allocated(const struct tx *tx, uint64_t data_off);

/* tx_log_half_full -- redo_lane_half_full of the transaction's record. */
bool tx_log_half_full(const struct tx *tx);

/*
 * Savepoints.  tx_mark notes how far the transaction has come;
 * tx_rollback undoes everything after it: allocations are given back,
 * frees and logged stores dropped, and a step that failed after the mark
 * is forgotten.  (Stores made at once into the fixed part of a new block
 * are not undone: that block is given back too, if it came after.)
 */
struct tx_mark {
	size_t nact, used;
	int err;
};
void tx_mark(const struct tx *tx, struct tx_mark *m);
void tx_rollback(struct tx *tx, const struct tx_mark *m);

/* tx_abort -- drop every change and reservation; ends the transaction. */
void tx_abort(struct tx *tx);

/* tx_heap -- the heap of the transaction. */
struct heap *tx_heap(const struct tx *tx);

#endif /* PKV_TX_H */
