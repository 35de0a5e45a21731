/*
 * commitq.c -- the disk mode's pipelined commits (see commitq.h).
 *
 * The queue is a circular array of {seq, range} in seq order.  A drain
 * takes what is queued when it starts, writes each record with one
 * persist_write_mapped (RWF_DSYNC: only those bytes, not a checkpoint's
 * pages written meanwhile) and a fence (the crash simulator's point),
 * settles (no lower seq still in flight) and only then pops and
 * acknowledges them.  One drain at a time: the syncer thread, or a waiter
 * when there is none.  (The server submits its next group only once the
 * last is durable, so a drain rarely holds more than one record.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "commitq.h"
#include "planted.h"

struct commitq_ent {
	uint64_t seq;
	const char *addr;
	size_t len;
};

struct commitq {
	struct persist *p;
	void (*settle)(void *, uint64_t);
	void *settle_arg;
	pthread_mutex_t mtx;
	pthread_cond_t work;          /* the syncer: something queued */
	pthread_cond_t done;          /* waiters: a drain ended */
	struct commitq_ent *e;        /* circular, oldest at first */
	size_t first, len, cap;
	_Atomic uint64_t oldest;      /* e[first].seq, or 0 when empty */
	bool draining;                /* a drain holds the entries it took */
	bool thread_on, stop;
	pthread_t thread;
	int efd;
};

int commitq_new(struct persist *p, void (*settle)(void *arg, uint64_t seq),
		void *arg, struct commitq **qp)
{
	struct commitq *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->p = p;
	q->settle = settle;
	q->settle_arg = arg;
	pthread_mutex_init(&q->mtx, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->done, NULL);
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	*qp = q;
	return 0;
}

void commitq_lock(struct commitq *q)
{
	pthread_mutex_lock(&q->mtx);
}

void commitq_unlock(struct commitq *q)
{
	pthread_mutex_unlock(&q->mtx);
}

bool commitq_queued(const struct commitq *q)
{
	return q->len > 0;
}

int commitq_push(struct commitq *q, uint64_t seq, const void *addr,
		 size_t len)
{
	if (q->len == q->cap) {
		size_t nc = q->cap ? 2 * q->cap : 256;
		struct commitq_ent *e = malloc(nc * sizeof(*e));
		if (!e)
			return -ENOMEM;
		for (size_t i = 0; i < q->len; i++)
			e[i] = q->e[(q->first + i) % q->cap];
		free(q->e);
		q->e = e;
		q->first = 0;
		q->cap = nc;
	}
	q->e[(q->first + q->len) % q->cap] = (struct commitq_ent){ seq, addr,
								   len };
	if (q->len++ == 0)
		atomic_store(&q->oldest, seq);
	if (q->thread_on)
		pthread_cond_signal(&q->work);
	return 0;
}

uint64_t commitq_first(struct commitq *q)
{
	return atomic_load(&q->oldest);
}

/*
 * commitq_drain -- (locked; returns locked) write and acknowledge what is
 * queued now, or wait for the drain in progress to end.
 */
static void commitq_drain(struct commitq *q)
{
	size_t n;
	uint64_t last;

	if (q->draining) {
		pthread_cond_wait(&q->done, &q->mtx);
		return;
	}
	if (!q->len)
		return;
	q->draining = true;
	n = q->len;
	last = q->e[(q->first + n - 1) % q->cap].seq;
	pthread_mutex_unlock(&q->mtx);
	/* The n entries taken stay at the front (only a drain pops, one
	 * at a time), but a push may move the array: each is read under
	 * the lock.  Each record is durable before the next is written: a
	 * later record may depend on an earlier one, and one that reached
	 * the file without it would be replayed without it (or, lying past
	 * where its lane's chain breaks, once a new record takes the lost
	 * one's seq and place). */
	for (size_t i = 0; i < n; i++) {
		const struct commitq_ent *x;
		const char *a;
		size_t len;
		pthread_mutex_lock(&q->mtx);
		x = &q->e[(q->first + i) % q->cap];
		a = x->addr, len = x->len;
		pthread_mutex_unlock(&q->mtx);
		persist_write_mapped(q->p, a, len);
		if (!PLANTED(DISK_QUEUE_FENCE))
			persist_fence(q->p);
	}
	if (PLANTED(DISK_QUEUE_FENCE))
		persist_fence(q->p);
	/* Acknowledged only once no lower seq is still being written. */
	q->settle(q->settle_arg, last);
	pthread_mutex_lock(&q->mtx);
	q->first = (q->first + n) % q->cap;
	q->len -= n;
	atomic_store(&q->oldest, q->len ? q->e[q->first].seq : 0);
	q->draining = false;
	pthread_cond_broadcast(&q->done);
	if (q->efd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(q->efd, &one, sizeof(one));
		(void)w;   /* the counter only saturates */
	}
}

/* commitq_thread -- drain whenever something is queued. */
static void *commitq_thread(void *arg)
{
	struct commitq *q = arg;

	prctl(PR_SET_NAME, "pkv-sync");     /* in top -H, perf, gdb */
	pthread_mutex_lock(&q->mtx);
	for (;;) {
		while (!q->len && !q->stop)
			pthread_cond_wait(&q->work, &q->mtx);
		if (!q->len && q->stop)
			break;
		commitq_drain(q);
	}
	pthread_mutex_unlock(&q->mtx);
	return NULL;
}

int commitq_start(struct commitq *q)
{
	int err;

	pthread_mutex_lock(&q->mtx);
	q->stop = false;
	err = -pthread_create(&q->thread, NULL, commitq_thread, q);
	q->thread_on = err == 0;
	pthread_mutex_unlock(&q->mtx);
	return err;
}

void commitq_stop(struct commitq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mtx);
	if (!q->thread_on) {
		pthread_mutex_unlock(&q->mtx);
		return;
	}
	q->stop = true;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mtx);
	pthread_join(q->thread, NULL);
	pthread_mutex_lock(&q->mtx);
	q->thread_on = false;
	pthread_mutex_unlock(&q->mtx);
}

/* commitq_pending -- (locked) whether a record with seq <= seq is queued
 * (the queue is in seq order: its oldest says). */
static bool commitq_pending(const struct commitq *q, uint64_t seq)
{
	return q->len && q->e[q->first].seq <= seq;
}

int commitq_wait(struct commitq *q, uint64_t seq)
{
	pthread_mutex_lock(&q->mtx);
	while (commitq_pending(q, seq)) {
		if (q->thread_on)
			pthread_cond_wait(&q->done, &q->mtx);
		else
			commitq_drain(q);
	}
	pthread_mutex_unlock(&q->mtx);
	return persist_failed(q->p);
}

int commitq_done(struct commitq *q, uint64_t seq)
{
	int err = persist_failed(q->p);
	bool pending;

	if (err)
		return err;
	pthread_mutex_lock(&q->mtx);
	pending = commitq_pending(q, seq);
	pthread_mutex_unlock(&q->mtx);
	return pending ? 0 : 1;
}

int commitq_fd(const struct commitq *q)
{
	return q ? q->efd : -1;
}

void commitq_free(struct commitq *q)
{
	if (!q)
		return;
	commitq_stop(q);
	commitq_wait(q, UINT64_MAX);
	if (q->efd >= 0)
		close(q->efd);
	pthread_mutex_destroy(&q->mtx);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->done);
	free(q->e);
	free(q);
}
