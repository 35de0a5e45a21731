/*
 * ckpt.c -- the background checkpointer (see ckpt.h).
 *
 * The thread sleeps on a condition variable; redo.c's nudge (a commit
 * whose ring, or the replay budget, passed half full) and the period
 * wake it.  It runs
 * heap_checkpoint, which checkpoints and then releases the freed blocks
 * the new watermark passes.  A nudge that arrives during a checkpoint is
 * kept and runs the next one at once: the commits that raced with it may
 * have filled a ring again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "heap_int.h"
#include "redo.h"

struct ckpt {
	struct heap *h;
	unsigned period_ms;
	int nice;
	pthread_t thread;
	pthread_mutex_t mtx;          /* guards what follows */
	pthread_cond_t cond;
	bool stop, nudged;
	struct ckpt_stats st;
};

/* ckpt_now -- monotonic nanoseconds. */
static uint64_t ckpt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ckpt_nudge -- redo.c's hook: a ring or the replay budget passed half
 * full. */
static void ckpt_nudge(void *arg)
{
	struct ckpt *c = arg;

	pthread_mutex_lock(&c->mtx);
	c->nudged = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mtx);
}

/* ckpt_wait -- sleep until nudged, stopped, or the period ends (mtx
 * held); whether a nudge woke it. */
static bool ckpt_wait(struct ckpt *c)
{
	struct timespec ts;

	if (!c->nudged && !c->stop) {
		if (c->period_ms) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += c->period_ms / 1000;
			ts.tv_nsec += (long)(c->period_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&c->cond, &c->mtx, &ts);
		} else {
			pthread_cond_wait(&c->cond, &c->mtx);
		}
	}
	return c->nudged;
}

/* ckpt_thread -- checkpoint when nudged or every period, until stopped. */
static void *ckpt_thread(void *arg)
{
	struct ckpt *c = arg;

	prctl(PR_SET_NAME, "pkv-ckpt");     /* in top -H, perf, gdb */
	if (c->nice)   /* this thread only (Linux: a tid is a process id) */
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
				  c->nice);
	pthread_mutex_lock(&c->mtx);
	while (!c->stop) {
		bool nudged = ckpt_wait(c);
		uint64_t t0;

		c->nudged = false;
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->mtx);
		t0 = ckpt_now();
		/* Nothing pending: a periodic wake-up costs nothing. */
		bool ran = redo_pending(c->h->redo) > 0;
		if (ran)
			heap_checkpoint(c->h);
		pthread_mutex_lock(&c->mtx);
		if (ran) {
			c->st.runs++;
			c->st.nudges += nudged;
			c->st.ns += ckpt_now() - t0;
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return NULL;
}

/* ckpt_start -- see ckpt.h. */
int ckpt_start(struct heap *h, unsigned period_ms, int nice,
	       struct ckpt **cp)
{
	struct ckpt *c = calloc(1, sizeof(*c));
	pthread_condattr_t a;
	int err;

	*cp = NULL;
	if (!c)
		return -ENOMEM;
	c->h = h;
	c->period_ms = period_ms;
	c->nice = nice;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &a);
	pthread_condattr_destroy(&a);
	err = pthread_create(&c->thread, NULL, ckpt_thread, c);
	if (err) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->mtx);
		free(c);
		return -err;
	}
	redo_set_nudge(h->redo, ckpt_nudge, c);
	*cp = c;
	return 0;
}

/* ckpt_stop -- see ckpt.h. */
void ckpt_stop(struct ckpt *c)
{
	if (!c)
		return;
	redo_set_nudge(c->h->redo, NULL, NULL);
	pthread_mutex_lock(&c->mtx);
	c->stop = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mtx);
	free(c);
}

/* ckpt_get_stats -- see ckpt.h. */
void ckpt_get_stats(struct ckpt *c, struct ckpt_stats *st)
{
	struct ckpt_stats zero = { 0 };

	if (!c) {
		*st = zero;
		return;
	}
	pthread_mutex_lock(&c->mtx);
	*st = c->st;
	pthread_mutex_unlock(&c->mtx);
}
