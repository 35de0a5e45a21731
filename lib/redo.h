/*
 * redo.h -- redo-logged transactions over pool words: lanes, commit,
 * apply, recovery.
 *
 * A transaction collects its changes to pool memory as log entries (set a
 * word, OR or AND a word, copy a range) in a lane's log buffer, and names
 * the memory it filled directly (new blocks) so the commit checksum covers
 * it.  Commit: the log is flushed and a fence makes it durable -- the
 * commit point -- then it is applied in place and fenced, and the lane's
 * durable_through word retires it (fenced).  Recovery replays, in seq
 * order, the valid logs not yet retired: at most one per lane, those of
 * transactions in flight at the crash.  redo.c has the argument.
 *
 * This layer knows nothing of the heap: it changes words.  tx.c combines
 * it with the allocator.
 */
#ifndef PKV_REDO_H
#define PKV_REDO_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"
#include "errmsg.h"

struct redo;
struct redo_lane;

/* What recovery found and did. */
struct redo_recovery_stats {
	uint64_t logs_valid;          /* logs with a good checksum */
	uint64_t logs_replayed;       /* of those, replayed */
	uint64_t entries_replayed;
	uint64_t nsec;                /* wall time of redo_recover */
};

/*
 * redo_open -- attach to the lanes of an open pool (validates the lane
 * area's geometry).  Does not recover: call redo_recover() before any
 * transaction.  Returns 0, -ENOMEM or PKV_ECORRUPT.
 */
int redo_open(struct pool *pool, struct redo **rp, struct errmsg *em);

/*
 * redo_recover -- replay committed logs that may not have been applied,
 * ignore torn and uncommitted ones, then raise the pool's redo_watermark
 * past every seq seen, so none is replayed again.  Durable on return;
 * idempotent (a crash inside it is recovered by running it again).
 * Returns 0 or PKV_ECORRUPT (a valid log names an offset outside the pool).
 */
int redo_recover(struct redo *r, struct redo_recovery_stats *st,
		 struct errmsg *em);

/*
 * redo_close -- make every applied transaction durable and raise the
 * watermark past every seq handed out, so a clean reopen replays nothing
 * (the logs still checksum as valid; they are simply all applied); then
 * free the handle.
 */
void redo_close(struct redo *r);

/* redo_free -- free the handle without touching the pool (failed open). */
void redo_free(struct redo *r);

/*
 * redo_lane_acquire -- take a lane for one transaction (the calling
 * thread's usual lane if it is free, else any free one; waits if none).
 * The log of the lane is empty on return.
 */
struct redo_lane *redo_lane_acquire(struct redo *r);

/* redo_lane_release -- give the lane back (after commit or abort). */
void redo_lane_release(struct redo *r, struct redo_lane *lane);

/*
 * redo_quiesce -- wait until no transaction is in flight and keep it so:
 * takes every lane; new redo_lane_acquire calls wait.  A thread must not
 * call it while it holds a lane, nor begin a second transaction while it
 * holds one if another thread may quiesce.  redo_resume ends it.
 */
void redo_quiesce(struct redo *r);
void redo_resume(struct redo *r);

/* redo_lane_id -- index of the lane, 0 .. nlanes-1. */
unsigned redo_lane_id(const struct redo_lane *lane);

/* redo_nlanes -- number of lanes in the pool. */
unsigned redo_nlanes(const struct redo *r);

/*
 * redo_log_word -- add "word at off <op> value" (LOG_OP_SET/OR/AND); off
 * 8-byte aligned and inside the pool.  Returns 0, PKV_EINVAL or
 * PKV_ETXTOOBIG (the log is full; the transaction must abort).
 */
int redo_log_word(struct redo_lane *lane, unsigned op, uint64_t off,
		  uint64_t value);

/*
 * redo_log_copy -- add "copy len bytes from src to off", off 8-byte aligned
 * (the bytes are copied into the log now).  Returns 0, PKV_EINVAL or PKV_ETXTOOBIG.
 */
int redo_log_copy(struct redo_lane *lane, uint64_t off, const void *src,
		  size_t len);

/*
 * redo_log_cover -- make the current bytes of [off, off+len) (8-byte
 * aligned) part of the commit checksum: for memory the caller filled
 * directly and flushed, e.g. a new block.  If a crash keeps the log but
 * not all of those bytes, the log is invalid and the transaction is
 * discarded as a whole.  Returns 0, PKV_EINVAL or PKV_ETXTOOBIG.
 */
int redo_log_cover(struct redo_lane *lane, uint64_t off, size_t len);

/* redo_log_empty -- whether no entry has been added since acquire. */
int redo_log_empty(const struct redo_lane *lane);

/*
 * redo_log_discard -- drop the entries collected so far (abort).
 */
void redo_log_discard(struct redo_lane *lane);

/*
 * redo_commit -- make the lane's log durable (the commit fence, which also
 * orders every flush this thread issued before it, e.g. of freshly written
 * blocks), apply it in place and fence, then retire it (fence).  On return
 * the transaction is durable and its log will never be replayed.  Returns
 * 0, or the -errno of a failed write-back (file backend, persist_failed):
 * the changes are applied in memory but may not be durable.  An empty log
 * commits nothing and costs nothing.
 */
int redo_commit(struct redo *r, struct redo_lane *lane);

/* redo_pool -- the pool the lanes belong to. */
struct pool *redo_pool(const struct redo *r);

/*
 * Planted bugs, for proving that the crash simulator can fail.  Set only
 * by tests (PKV_PLANTED_BUG in the environment of tests/crashsim); never
 * read by anything but redo_commit().
 */
enum redo_planted_bug {
	REDO_BUG_NONE = 0,
	REDO_BUG_NO_COMMIT_FENCE,     /* apply before the log is durable */
	REDO_BUG_NO_CHECKSUM,         /* recovery trusts any non-zero seq */
};
extern enum redo_planted_bug redo_planted_bug;

#endif /* PKV_REDO_H */
