/*
 * epoch.c -- two-phase reader counts and their grace period (see epoch.h).
 *
 * Why it is safe: all operations are sequentially consistent.  A reader
 * that increments a count after synchronize's first scan saw it zero
 * performs its loads after that scan, hence after the unlink that preceded
 * the call: it cannot reach the unlinked block.  A reader that loaded the
 * phase before a flip but incremented after is counted in the phase that
 * the second flip-and-drain waits for.
 */
#include <sched.h>

#include "epoch.h"

static _Thread_local unsigned epoch_tls_slot = ~0u;
static atomic_uint epoch_next_slot;
static _Thread_local unsigned epoch_tls_depth;

/* epoch_init -- zero counts, phase 0. */
void epoch_init(struct epoch *e)
{
	for (unsigned i = 0; i < EPOCH_SLOTS; i++) {
		atomic_init(&e->slot[i].count[0], 0);
		atomic_init(&e->slot[i].count[1], 0);
	}
	atomic_init(&e->phase, 0);
	pthread_mutex_init(&e->sync_mtx, NULL);
}

/* epoch_destroy -- release the mutex. */
void epoch_destroy(struct epoch *e)
{
	pthread_mutex_destroy(&e->sync_mtx);
}

/* epoch_enter -- count this thread into the current phase of its slot. */
struct epoch_ticket epoch_enter(struct epoch *e)
{
	struct epoch_ticket t;

	if (epoch_tls_slot == ~0u)
		epoch_tls_slot = atomic_fetch_add(&epoch_next_slot, 1) %
				 EPOCH_SLOTS;
	t.slot = &e->slot[epoch_tls_slot];
	t.phase = atomic_load(&e->phase);
	atomic_fetch_add(&t.slot->count[t.phase], 1);
	epoch_tls_depth++;
	return t;
}

/* epoch_exit -- count this thread out again. */
void epoch_exit(struct epoch_ticket t)
{
	atomic_fetch_sub(&t.slot->count[t.phase], 1);
	epoch_tls_depth--;
}

/* epoch_thread_inside -- the calling thread's nesting depth is not 0. */
bool epoch_thread_inside(void)
{
	return epoch_tls_depth != 0;
}

/* epoch_drain -- wait until no slot counts a reader in phase p. */
static void epoch_drain(struct epoch *e, unsigned p)
{
	for (unsigned i = 0; i < EPOCH_SLOTS; i++)
		while (atomic_load(&e->slot[i].count[p]) != 0)
			sched_yield();
}

/* epoch_synchronize -- flip and drain twice. */
void epoch_synchronize(struct epoch *e)
{
	pthread_mutex_lock(&e->sync_mtx);
	for (int k = 0; k < 2; k++) {
		unsigned old = atomic_load(&e->phase);
		atomic_store(&e->phase, old ^ 1);
		epoch_drain(e, old);
	}
	pthread_mutex_unlock(&e->sync_mtx);
}
