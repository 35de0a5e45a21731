/*
 * epoch.h -- grace periods for memory read in place by concurrent readers.
 *
 * A reader brackets every access to pool blocks it reached through shared
 * structures with epoch_enter()/epoch_exit().  A thread that has made a
 * block unreachable calls epoch_synchronize() before the block may be
 * reused: it returns once every reader that could still hold the block's
 * offset has left.  Readers that enter later cannot find it any more.
 *
 * The scheme is the two-phase counter of userspace RCU: a reader counts
 * itself into the current phase of one of EPOCH_SLOTS padded slots (chosen
 * per thread, so readers rarely share a cache line); synchronize flips the
 * phase and waits for the old phase's counts to drain, twice, so a reader
 * that read the phase just before a flip is still waited for.  Entering
 * and leaving cost one atomic add each; nothing here touches the pool.
 */
#ifndef PKV_EPOCH_H
#define PKV_EPOCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define EPOCH_SLOTS 64

struct epoch_slot {
	_Atomic uint64_t count[2];    /* readers inside, per phase */
	char pad[64 - 2 * sizeof(uint64_t)];
};

struct epoch {
	struct epoch_slot slot[EPOCH_SLOTS];
	atomic_uint phase;            /* 0 or 1 */
	pthread_mutex_t sync_mtx;     /* one synchronize at a time */
};

/* What epoch_exit needs to know about its epoch_enter. */
struct epoch_ticket {
	struct epoch_slot *slot;
	unsigned phase;
};

/* epoch_init, epoch_destroy -- set up and tear down (no reader inside). */
void epoch_init(struct epoch *e);
void epoch_destroy(struct epoch *e);

/* epoch_enter -- start a read-side section; nests freely. */
struct epoch_ticket epoch_enter(struct epoch *e);

/* epoch_exit -- end the section epoch_enter started. */
void epoch_exit(struct epoch_ticket t);

/* epoch_thread_inside -- whether this thread is in any read-side section
 * (of any epoch): it must not wait for a grace period then. */
bool epoch_thread_inside(void);

/*
 * epoch_synchronize -- wait until every read-side section that began
 * before this call has ended.  Must not be called from inside a section.
 */
void epoch_synchronize(struct epoch *e);

#endif /* PKV_EPOCH_H */
