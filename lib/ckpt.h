/*
 * ckpt.h -- the background checkpointer.
 *
 * A commit is durable once its record is in its lane's log ring; a
 * checkpoint writes back what the records changed in place and frees
 * their ring room and the blocks they freed (redo.h).  Without this
 * thread, checkpoints run inline: in the commit that finds its ring full,
 * which then waits for the write-back of everything before it (on a disk,
 * a sync of every dirty page).  With it, a commit that finds its ring past
 * half full, or (on pmem) the log past half the replay budget, wakes the
 * thread (redo_set_nudge), which checkpoints while the other half takes
 * commits, and the inline case is left for a ring, or a budget, that fills
 * faster than the thread empties it.  It also checkpoints every
 * period while commits are pending, so an idle pool's log is short to
 * replay and its freed blocks return to use.
 */
#ifndef PKV_CKPT_H
#define PKV_CKPT_H

#include <stdint.h>

#include "heap.h"

struct ckpt;

/* What the thread has done since it started. */
struct ckpt_stats {
	uint64_t runs;                /* checkpoints it ran */
	uint64_t nudges;              /* of them, asked for by a full ring */
	uint64_t ns;                  /* time spent in them */
};

/*
 * ckpt_start -- start the thread on h, checkpointing when nudged and
 * every period_ms (0: only when nudged) while commits are pending, at
 * scheduling priority `nice` (0: the caller's; a positive value lowers
 * it, which needs no privilege).  Returns 0, -ENOMEM or -errno of
 * pthread_create.
 */
int ckpt_start(struct heap *h, unsigned period_ms, int nice,
	       struct ckpt **cp);

/* ckpt_stop -- stop and join the thread (NULL: nothing); commits then
 * checkpoint inline again. */
void ckpt_stop(struct ckpt *c);

/* ckpt_get_stats -- the figures above (zero for NULL). */
void ckpt_get_stats(struct ckpt *c, struct ckpt_stats *st);

#endif /* PKV_CKPT_H */
