/*
 * commitq.h -- the disk mode's pipelined commits: records applied in
 * memory before they are durable, and the thread that makes them durable.
 *
 * On a disk a commit's sync takes a millisecond or more, and the server's
 * event loop would wait for it with nothing to do.  A record submitted
 * here (redo.c, for pkv_batch_submit) is copied into its ring and applied
 * at once, so the next turn's commands can run and read it; the syncer
 * thread writes the queued records to the file, oldest first, each with
 * its own RWF_DSYNC write, and then acknowledges them.
 * Whoever acted on what a queued record changed (the server: every reply
 * of the turns that saw it) waits for that acknowledgement.
 *
 * What keeps a crash consistent (redo.c has the other half):
 *   - A record is acknowledged only once it and every record with a lower
 *     seq are durable (the settle callback waits for commits in flight on
 *     other lanes).
 *   - While anything is queued, every commit is queued too (in seq order:
 *     the seq is taken under the queue's lock), and each queued record is
 *     durable before the next is written, so nothing that may have read
 *     a queued record becomes durable before it.  (A commit that is not
 *     queued read nothing of one: it applies only once durable, and took
 *     its seq while the queue was empty.)
 *   - A checkpoint writes no page content and no watermark that a queued
 *     record not yet acknowledged may have changed (commitq_first, and
 *     the persistence layer's gate before each write-back).
 * Without the thread (PKV_NOTHREADS, the crash simulator), a waiter
 * writes the queue itself.
 */
#ifndef PKV_COMMITQ_H
#define PKV_COMMITQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persist.h"

struct commitq;

/*
 * commitq_new -- an empty queue writing through p.  settle(arg, seq) is
 * called (without the queue's lock) after the records up to seq are
 * durable and before they are acknowledged: it waits until no commit
 * with a lower seq is still in flight.  Returns 0 or -errno.
 */
int commitq_new(struct persist *p, void (*settle)(void *arg, uint64_t seq),
		void *arg, struct commitq **qp);

/* commitq_free -- write what is queued, stop the thread, free (NULL:
 * nothing). */
void commitq_free(struct commitq *q);

/* commitq_start -- the syncer thread; commitq_stop writes what is queued
 * and joins it (waiters then write the queue themselves). */
int commitq_start(struct commitq *q);
void commitq_stop(struct commitq *q);

/*
 * commitq_lock, commitq_unlock -- around taking a seq and pushing it, so
 * the queue is in seq order and a commit sees whether anything older is
 * still queued (commitq_queued).
 */
void commitq_lock(struct commitq *q);
void commitq_unlock(struct commitq *q);
bool commitq_queued(const struct commitq *q);

/* commitq_push -- (locked) seq's record, [addr, addr+len) of the mapping,
 * to be written.  Returns 0 or -ENOMEM. */
int commitq_push(struct commitq *q, uint64_t seq, const void *addr,
		 size_t len);

/* commitq_first -- the oldest seq not yet acknowledged, or 0 when none. */
uint64_t commitq_first(struct commitq *q);

/*
 * commitq_wait -- until no record with a seq <= seq is queued.  Returns 0,
 * or the persistence layer's sticky error (the records may not be
 * durable).
 */
int commitq_wait(struct commitq *q, uint64_t seq);

/* commitq_done -- commitq_wait without waiting: 1 done, 0 not yet, or the
 * error. */
int commitq_done(struct commitq *q, uint64_t seq);

/* commitq_fd -- an eventfd written after every acknowledgement (read it
 * to clear it), or -1. */
int commitq_fd(const struct commitq *q);

#endif /* PKV_COMMITQ_H */
