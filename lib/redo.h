/*
 * redo.h -- redo-logged transactions over pool words: lanes, commit with
 * one fence, checkpoints, recovery.
 *
 * A transaction collects its changes to pool memory as log entries (set a
 * word, OR or AND a word, copy a range) in its lane's record, and names
 * the blocks it filled directly so the commit checksum covers them.
 * Commit: the record is appended to the lane's log ring, written back
 * together with the new blocks, and one fence makes it durable -- the
 * commit point; then it is applied in place, without any write-back of
 * its own.  The record stays replayable until a checkpoint writes back
 * what the records before it changed and raises the pool's watermark past
 * them.  Recovery replays, in seq order, every valid record above the
 * watermark.  redo.c has the argument.
 *
 * This layer knows nothing of the heap: it changes words.  tx.c combines
 * it with the allocator.
 */
#ifndef PKV_REDO_H
#define PKV_REDO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"
#include "errmsg.h"

struct redo;
struct redo_lane;

/* What recovery found and did. */
struct redo_recovery_stats {
	uint64_t logs_valid;          /* records above the watermark, valid */
	uint64_t logs_replayed;       /* of those, replayed */
	uint64_t entries_replayed;
	uint64_t nsec;                /* wall time of redo_recover */
};

/* What the log has done since open. */
struct redo_stats {
	uint64_t commits;             /* records written */
	uint64_t record_bytes;        /* their bytes, headers included */
	uint64_t checkpoints;         /* watermark raises */
	uint64_t checkpoint_lines;    /* lines written back by checkpoints */
	uint64_t checkpoint_ns;       /* time spent in checkpoints */
	uint64_t ring_waits;          /* commits that waited for ring room */
	uint64_t ring_shares;         /* of them, those that shared the
					 write-back of a checkpoint they
					 waited for (redo_share_write_back) */
	uint64_t seq;                 /* last seq handed out */
	uint64_t watermark;           /* last durable watermark */
};

/*
 * redo_open -- attach to the redo area of an open pool (validates its
 * geometry).  Does not recover: call redo_recover() before any
 * transaction.  Returns 0, -ENOMEM or PKV_ECORRUPT.
 */
int redo_open(struct pool *pool, struct redo **rp, struct errmsg *em);

/*
 * redo_recover -- replay every valid record above the watermark in seq
 * order, ignoring torn and uncommitted ones, keeping the bytes it
 * overwrites.  Then exactly one of: redo_recover_finish, which makes the
 * replay durable and (only if anything was replayed) checkpoints, so
 * none is replayed again; or redo_recover_undo, which puts every byte
 * back (a refused open leaves the pool as it was).  Idempotent: a crash
 * before the finish is recovered by running it again.  Returns 0, -ENOMEM
 * or PKV_ECORRUPT (no valid checkpoint slot, or a valid record names an
 * offset outside the pool); on an error the replay is already undone.
 */
int redo_recover(struct redo *r, struct redo_recovery_stats *st,
		 struct errmsg *em);

/* redo_recover_finish -- see redo_recover.  Durable on return. */
void redo_recover_finish(struct redo *r);

/* redo_recover_undo -- see redo_recover. */
void redo_recover_undo(struct redo *r);

/*
 * redo_close -- checkpoint everything, so a clean reopen replays nothing;
 * then free the handle.  No transaction may be in flight.
 */
void redo_close(struct redo *r);

/* redo_free -- free the handle without touching the pool (failed open). */
void redo_free(struct redo *r);

/*
 * redo_lane_acquire -- take a lane for one transaction (the calling
 * thread's usual lane if it is free, else any free one; waits if none).
 * The lane's record is empty on return.
 */
struct redo_lane *redo_lane_acquire(struct redo *r);

/* redo_lane_release -- give the lane back (after commit or abort). */
void redo_lane_release(struct redo *r, struct redo_lane *lane);

/*
 * redo_thread_lane -- make `lane` the calling thread's usual lane (a
 * thread that always takes the same lane keeps its records in one ring;
 * the crash simulator uses it to play several threads on one).
 */
void redo_thread_lane(unsigned lane);

/*
 * redo_quiesce -- wait until no transaction is in flight and keep it so:
 * takes every lane; new redo_lane_acquire calls wait.  A thread must not
 * call it while it holds a lane, nor begin a second transaction while it
 * holds one if another thread may quiesce.  redo_resume ends it.
 */
void redo_quiesce(struct redo *r);
void redo_resume(struct redo *r);

/* redo_held_here -- whether the calling thread holds a lane for a
 * transaction (its redo_quiesce would wait for itself forever). */
bool redo_held_here(const struct redo *r);

/* redo_lane_id -- index of the lane, 0 .. nlanes-1. */
unsigned redo_lane_id(const struct redo_lane *lane);

/* redo_nlanes -- number of lanes in the pool. */
unsigned redo_nlanes(const struct redo *r);

/* redo_max_entries -- bytes of entries one record holds in its ring
 * (a bigger one is chained). */
size_t redo_max_entries(const struct redo *r);

/*
 * redo_log_word -- add "word at off <op> value" (LOG_OP_SET/OR/AND); off
 * 8-byte aligned and inside the pool.  A record grows as long as memory
 * lasts (one too big for the ring is chained: redo_area_needed).
 * Returns 0, PKV_EINVAL or -ENOMEM (no memory to grow the record: the
 * transaction must abort).
 */
int redo_log_word(struct redo_lane *lane, unsigned op, uint64_t off,
		  uint64_t value);

/*
 * redo_log_reset -- the LOG_OP_SET entry at pos (redo_log_used just
 * before redo_log_word added it) sets value instead: a word set again in
 * the same record, where the order of its stores among the record's
 * others does not matter (tx_reset).
 */
void redo_log_reset(struct redo_lane *lane, size_t pos, uint64_t value);

/*
 * redo_log_copy -- add "copy len bytes from src to off", off 8-byte aligned
 * (the bytes are copied into the record now).  Returns 0, PKV_EINVAL or
 * -ENOMEM.
 */
int redo_log_copy(struct redo_lane *lane, uint64_t off, const void *src,
		  size_t len);

/*
 * redo_log_block -- name a block the transaction allocated and filled
 * directly: its struct block_hdr (just before data_off) and its data bytes
 * [prefix, size) become part of the commit checksum, so if a crash keeps
 * the record but not all of them, the record is invalid and the
 * transaction discarded as a whole.  Those bytes must not change while the
 * record may be replayed (until the block is freed and a checkpoint passes
 * the free).  The first `prefix` bytes (<= LOG_BLOCK_PREFIX_MAX) are words
 * later transactions may change in place: their current values are
 * carried in the record and written back at replay instead.  The caller
 * writes the block back (persist_flush) before redo_commit.
 * Returns 0, PKV_EINVAL or -ENOMEM.
 */
int redo_log_block(struct redo_lane *lane, uint64_t data_off, uint64_t size,
		   unsigned prefix);

/*
 * redo_log_blockcopy -- carry a block the transaction allocated and
 * filled, whole (its struct block_hdr at block_off, len bytes with it),
 * in the record: the disk mode's way to make a new block durable without
 * writing its pages before the commit, and on persistent memory the way
 * for a small block whose bytes may all change later (no fence before
 * the record).  Replay writes it back before the record's other entries;
 * the checkpoint that passes the record writes its lines back.  Returns
 * 0, PKV_EINVAL or -ENOMEM.
 */
int redo_log_blockcopy(struct redo_lane *lane, uint64_t block_off,
		       uint64_t len);

/* redo_log_empty -- whether no entry has been added since acquire. */
int redo_log_empty(const struct redo_lane *lane);

/* redo_log_discard -- drop the entries collected so far (abort). */
void redo_log_discard(struct redo_lane *lane);

/* redo_log_used, redo_log_truncate -- a mark in the record being built,
 * and dropping what was added after it (a savepoint of tx.c). */
size_t redo_log_used(const struct redo_lane *lane);
void redo_log_truncate(struct redo_lane *lane, size_t used);

/*
 * redo_commit -- append the lane's record to its ring, write it back, and
 * fence: the commit point, which also makes durable every flush this
 * thread issued before it (the new blocks).  Then apply it in place.  On
 * return the transaction is durable; *seqp (may be NULL) gets its seq,
 * which a checkpoint passes once its in-place effects are durable too
 * (redo_watermark): blocks it freed may not be reused before that.
 * Waits (checkpointing) when the ring has no room.  Returns 0, or the
 * -errno of a failed write-back (file backend, persist_failed): the
 * changes are applied in memory but may not be durable.  An empty record
 * commits nothing and costs nothing (*seqp = 0).
 */
int redo_commit(struct redo *r, struct redo_lane *lane, uint64_t *seqp);

/*
 * redo_area_needed -- 0 when the lane's record fits its ring, else the
 * bytes of an area of free heap space a commit needs: a record too big
 * for the ring is written there, and the ring gets a small record naming
 * it.  redo_commit_area commits with such an area (8-byte aligned, at
 * least that long; 0 when none is needed); the caller keeps it from being
 * handed out until the watermark passes the commit.  Recovery reads it
 * before anything is allocated.
 */
size_t redo_area_needed(const struct redo_lane *lane);
int redo_commit_area(struct redo *r, struct redo_lane *lane, uint64_t area,
		     uint64_t *seqp);

/* redo_lane_half_full -- whether the lane's record has passed half of
 * what its ring holds (a caller that may commit early does, so that the
 * commit needs no area: none may be left in a full pool). */
bool redo_lane_half_full(const struct redo_lane *lane);

/*
 * Pipelined commits (a disk only; commitq.h).  redo_lane_async asks the
 * lane's next commit to return once applied, before its record is
 * durable (elsewhere it commits as usual).  A ticket (redo_ticket) covers
 * every commit visible at the time it is taken; redo_durable says whether
 * they are all durable (1), not yet (0), or cannot be (-errno), waiting
 * first with `wait`.  redo_durable_fd becomes readable after each step
 * (-1: commits are always durable on return).  redo_syncer starts or
 * stops the thread that writes them (without it, a waiter does).
 */
void redo_lane_async(struct redo_lane *lane);
uint64_t redo_ticket(struct redo *r);
int redo_durable(struct redo *r, uint64_t ticket, bool wait);
int redo_durable_fd(const struct redo *r);
int redo_syncer(struct redo *r, bool on);

/*
 * redo_checkpoint -- write back what every completed transaction changed
 * in place, then raise the watermark past them (two fences), freeing their
 * ring room and letting the blocks they freed be reused.  Transactions in
 * flight are not waited for: the watermark stops below the oldest.  Safe
 * from any thread, inside a transaction or not.  Returns 0, or the -errno
 * of a failed write-back.
 */
int redo_checkpoint(struct redo *r);

/*
 * redo_set_nudge -- fn(arg) is called, from a committing thread, when its
 * lane's ring passes half full (and by redo_nudge), at most once until the
 * next checkpoint begins: a background checkpointer frees ring room before
 * a commit has to wait for it (ckpt.h).  fn NULL: none, and commits
 * checkpoint inline when a ring is full.  Set it while no transaction
 * runs.
 */
void redo_set_nudge(struct redo *r, void (*fn)(void *), void *arg);

/* redo_has_nudge -- whether a background checkpointer is set. */
bool redo_has_nudge(const struct redo *r);

/* redo_nudge -- ask the background checkpointer for a checkpoint soon;
 * false if there is none (the caller checkpoints itself if it must). */
bool redo_nudge(struct redo *r);

/* redo_watermark -- every transaction with seq <= it is durable in place. */
uint64_t redo_watermark(const struct redo *r);

/* redo_pending -- commits not yet passed by the watermark. */
uint64_t redo_pending(const struct redo *r);

/* redo_get_stats -- the figures above. */
void redo_get_stats(const struct redo *r, struct redo_stats *st);

/* redo_pool -- the pool the lanes belong to. */
struct pool *redo_pool(const struct redo *r);

#endif /* PKV_REDO_H */
