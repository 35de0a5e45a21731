/*
 * redo.c -- redo-logged transactions: lanes, commit, apply, recovery (see
 * redo.h).
 *
 * Commit.  A transaction's entries are written straight into one of its
 * lane's two log buffers.  The commit checksum covers the log and the
 * bytes of every block the transaction filled directly (COVER entries), so
 * the log is valid only if all of them reached the media: one fence makes
 * the log and the new blocks durable together, and is the commit point.
 * The entries are then applied in place and fenced, and the lane's
 * persistent durable_through word is set to the log's seq and fenced:
 * from then on the log is never replayed, and only then may the blocks the
 * transaction freed be reused.
 *
 * So at any instant each lane has at most one replayable log, that of its
 * in-flight transaction.  In-flight transactions of different lanes never
 * conflict (the layers above serialize conflicting ones through their
 * apply, and allocator bitmap OR/AND entries commute), so recovery may
 * replay them in seq order without clobbering anything newer, and no
 * replay can touch memory that was freed and reused.
 *
 * Cost: three fences per commit.  An earlier design applied lazily with one
 * fence and let other lanes mark logs durable; the crash simulator showed
 * that older replayable logs could then clobber newer changes or reused
 * chunks.  Bringing the fence count down again must pass the simulator.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkv.h"
#include "csum.h"
#include "redo.h"

enum redo_planted_bug redo_planted_bug;

#define LOG_HDR_SIZE ((uint32_t)sizeof(struct log_hdr))

struct redo_lane {
	struct redo *redo;
	unsigned id;
	struct lane_hdr *hdr;         /* persistent: durable_through */
	char *buf[2];                 /* persistent log buffers */
	atomic_int busy;              /* held by a transaction */
	/* Owner-only while busy: */
	int target;                   /* buffer being written */
	uint32_t used;                /* bytes of entries in it */
};

struct redo {
	struct pool *pool;
	unsigned nlanes;
	struct redo_lane *lanes;
	_Atomic uint64_t seq;         /* last seq handed out */
	atomic_uint next_hint;        /* round robin for new threads */
	atomic_int quiesce;           /* redo_quiesce: no new transactions */
};

static _Thread_local unsigned redo_tls_hint = ~0u;

/* redo_buf_hdr -- header of buffer b of a lane. */
static inline struct log_hdr *redo_buf_hdr(const struct redo_lane *l, int b)
{
	return (struct log_hdr *)l->buf[b];
}

/* redo_open -- attach to the lane area of an open pool. */
int redo_open(struct pool *pool, struct redo **rp, struct errmsg *em)
{
	const struct pool_hdr *h = pool->hdr;
	struct redo *r = calloc(1, sizeof(*r));

	if (!r)
		return err_set(em, -ENOMEM, "out of memory");
	r->pool = pool;
	r->nlanes = h->nlanes;
	r->lanes = calloc(r->nlanes, sizeof(*r->lanes));
	if (!r->lanes)
		goto fail;
	for (unsigned i = 0; i < r->nlanes; i++) {
		struct redo_lane *l = &r->lanes[i];
		char *base = pool_ptr(pool, h->lanes_off +
					     i * LANE_STRIDE(h->log_size));
		l->redo = r;
		l->id = i;
		l->hdr = (struct lane_hdr *)base;
		l->buf[0] = base + CACHELINE;
		l->buf[1] = base + CACHELINE + h->log_size;
	}
	*rp = r;
	return 0;
fail:
	free(r);
	return err_set(em, -ENOMEM, "out of memory");
}

/* redo_target_ok -- whether [off, off+len) is memory a log may change:
 * the pool state words, or anything from the chunk headers on. */
static bool redo_target_ok(const struct pool *pool, uint64_t off,
			   uint64_t len)
{
	/* Logs may change the pool state words and anything past the lanes. */
	if (off >= POOL_STATE_OFF && off + len <= POOL_STATE_OFF +
	    sizeof(struct pool_state))
		return true;
	return off >= pool->hdr->chunk_hdr_off && pool_contains(pool, off, len);
}

/*
 * redo_apply -- carry out the entries of a log in place and flush each
 * change.  `atomic` when other threads may touch neighbouring bits of the
 * same words (bitmaps) concurrently.  Returns 0 or PKV_ECORRUPT when an
 * entry is malformed (only possible for a log read at recovery).
 */
static int redo_apply(struct redo *r, const char *log, uint32_t used,
		      bool atomic, uint64_t *nentries)
{
	struct pool *pool = r->pool;
	struct persist *p = &pool->persist;
	const char *e = log + LOG_HDR_SIZE, *end = e + used;

	while (e < end) {
		const struct log_word_entry *w = (const void *)e;
		uint64_t off = LOG_ENTRY_OFF(w->op_off);
		unsigned op = LOG_ENTRY_OP(w->op_off);
		uint64_t *word;

		if (end - e < (ptrdiff_t)sizeof(*w))
			return PKV_ECORRUPT;
		if (op == LOG_OP_COVER) {
			if (!redo_target_ok(pool, off, w->value))
				return PKV_ECORRUPT;
			e += sizeof(*w);
		} else if (op == LOG_OP_COPY) {
			uint64_t len = w->value, padded = (len + 7) & ~7ull;
			if (padded > (uint64_t)(end - e) - sizeof(*w) ||
			    !redo_target_ok(pool, off, len))
				return PKV_ECORRUPT;
			memcpy(pool_ptr(pool, off), e + sizeof(*w), len);
			persist_flush(p, pool_ptr(pool, off), len);
			e += sizeof(*w) + padded;
		} else {
			if (!redo_target_ok(pool, off, 8))
				return PKV_ECORRUPT;
			word = pool_ptr(pool, off);
			switch (op) {
			case LOG_OP_SET:
				__atomic_store_n(word, w->value,
						 __ATOMIC_RELEASE);
				break;
			case LOG_OP_OR:
				if (atomic)
					__atomic_fetch_or(word, w->value,
							  __ATOMIC_ACQ_REL);
				else
					*word |= w->value;
				break;
			case LOG_OP_AND:
				if (atomic)
					__atomic_fetch_and(word, w->value,
							   __ATOMIC_ACQ_REL);
				else
					*word &= w->value;
				break;
			default:
				return PKV_ECORRUPT;
			}
			persist_flush(p, word, 8);
			e += sizeof(*w);
		}
		if (nentries)
			(*nentries)++;
	}
	return 0;
}

/*
 * redo_log_checksum -- the commit checksum of a log: its header (checksum
 * field read as 0) and entries, then the current bytes of every range a
 * COVER entry names.  Returns false when an entry is malformed, so the log
 * cannot be valid.
 */
static bool redo_log_checksum(const struct redo *r, const char *log,
			      uint32_t used, uint64_t *sum)
{
	const char *e = log + LOG_HDR_SIZE, *end = e + used;
	uint64_t h = csum64(log, LOG_HDR_SIZE + used, 0);

	while (e < end) {
		const struct log_word_entry *w = (const void *)e;
		unsigned op = LOG_ENTRY_OP(w->op_off);
		uint64_t off = LOG_ENTRY_OFF(w->op_off);

		if (end - e < (ptrdiff_t)sizeof(*w))
			return false;
		e += sizeof(*w);
		if (op == LOG_OP_COPY) {
			uint64_t padded = (w->value + 7) & ~7ull;
			if (padded > (uint64_t)(end - e))
				return false;
			e += padded;
		} else if (op == LOG_OP_COVER) {
			if (w->value % 8 || !redo_target_ok(r->pool, off,
							    w->value))
				return false;
			h = h * 0x9e3779b97f4a7c15ull ^
			    csum64(pool_ptr(r->pool, off), w->value, ~(size_t)0);
		}
	}
	*sum = h;
	return true;
}

/* redo_log_valid -- whether buffer b of lane l holds a committed log. */
static bool redo_log_valid(const struct redo *r, const struct redo_lane *l,
			   int b)
{
	const struct log_hdr *lh = redo_buf_hdr(l, b);
	uint32_t cap = r->pool->hdr->log_size - LOG_HDR_SIZE;

	if (lh->seq == 0 || lh->used > cap || lh->used % 8 || lh->lane != l->id)
		return false;
	uint64_t sum;

	if (redo_planted_bug == REDO_BUG_NO_CHECKSUM)
		return true;
	return redo_log_checksum(r, (const char *)lh, lh->used, &sum) &&
	       sum == lh->checksum;
}

struct redo_replay {
	uint64_t seq;
	const char *log;
};

/* redo_replay_cmp -- order logs by seq. */
static int redo_replay_cmp(const void *a, const void *b)
{
	const struct redo_replay *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* redo_recover -- replay what may be missing, then raise the watermark. */
int redo_recover(struct redo *r, struct redo_recovery_stats *st,
		 struct errmsg *em)
{
	struct pool *pool = r->pool;
	struct persist *p = &pool->persist;
	uint64_t watermark = pool->state->redo_watermark, maxseq = watermark;
	struct redo_recovery_stats s = {0};
	struct redo_replay *todo;
	struct timespec t0, t1;
	size_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	todo = calloc(2 * (size_t)r->nlanes, sizeof(*todo));
	if (!todo)
		return err_set(em, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < r->nlanes; i++) {
		struct redo_lane *l = &r->lanes[i];
		uint64_t dt = l->hdr->durable_through;
		if (dt > maxseq)
			maxseq = dt;
		for (int b = 0; b < 2; b++) {
			const struct log_hdr *lh = redo_buf_hdr(l, b);
			if (!redo_log_valid(r, l, b))
				continue;
			s.logs_valid++;
			if (lh->seq > maxseq)
				maxseq = lh->seq;
			if (lh->seq <= watermark || lh->seq <= dt)
				continue;
			todo[n].seq = lh->seq;
			todo[n].log = l->buf[b];
			n++;
		}
	}
	qsort(todo, n, sizeof(*todo), redo_replay_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct log_hdr *lh = (const void *)todo[i].log;
		if (redo_apply(r, todo[i].log, lh->used, false,
			       &s.entries_replayed)) {
			int err = err_set(em, PKV_ECORRUPT,
				"redo log at offset %llu (seq %llu) has a "
				"malformed entry",
				(unsigned long long)pool_off(pool, todo[i].log),
				(unsigned long long)lh->seq);
			free(todo);
			return err;
		}
		s.logs_replayed++;
	}
	free(todo);
	/*
	 * The replayed changes must be durable before the watermark says
	 * they need no replay; the watermark is one word, so a crash leaves
	 * either the old one (replay again: idempotent) or the new one.
	 */
	persist_fence(p);
	if (maxseq != pool->state->redo_watermark) {
		persist_store64(p, &pool->state->redo_watermark, maxseq);
		persist_fence(p);
	}
	atomic_store(&r->seq, maxseq);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s.nsec = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull +
		 (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	if (st)
		*st = s;
	return 0;
}

/* redo_close -- nothing to replay any more: raise the watermark. */
void redo_close(struct redo *r)
{
	struct persist *p;

	if (!r)
		return;
	p = &r->pool->persist;
	/* Every transaction ended with its changes fenced and its lane marked;
	 * the watermark only saves the next open from reading the logs. */
	persist_store64(p, &r->pool->state->redo_watermark,
			atomic_load(&r->seq));
	persist_fence(p);
	redo_free(r);
}

/* redo_free -- release the volatile handle only. */
void redo_free(struct redo *r)
{
	if (!r)
		return;
	free(r->lanes);
	free(r);
}

/* redo_lane_try -- take lane l if it is free. */
static bool redo_lane_try(struct redo_lane *l)
{
	int expected = 0;
	return atomic_compare_exchange_strong(&l->busy, &expected, 1);
}

/* redo_lane_acquire -- take a lane: the thread's usual one if free. */
struct redo_lane *redo_lane_acquire(struct redo *r)
{
	unsigned start = redo_tls_hint;
	struct redo_lane *l = NULL;

	if (start >= r->nlanes)
		start = atomic_fetch_add(&r->next_hint, 1) % r->nlanes;
	for (;;) {
		while (atomic_load(&r->quiesce))
			sched_yield();
		for (unsigned k = 0; k < r->nlanes && !l; k++) {
			struct redo_lane *c = &r->lanes[(start + k) % r->nlanes];
			if (redo_lane_try(c))
				l = c;
		}
		if (l)
			break;
		sched_yield();
	}
	redo_tls_hint = l->id;
	l->used = 0;
	return l;
}

/*
 * redo_quiesce -- hold every lane.  The flag stops threads from taking a
 * lane that was just released, so this waits only for transactions already
 * in flight, however busy the other threads are.
 */
void redo_quiesce(struct redo *r)
{
	atomic_store(&r->quiesce, 1);
	for (unsigned i = 0; i < r->nlanes; i++)
		while (!redo_lane_try(&r->lanes[i]))
			sched_yield();
}

/* redo_resume -- release every lane taken by redo_quiesce. */
void redo_resume(struct redo *r)
{
	for (unsigned i = 0; i < r->nlanes; i++)
		atomic_store(&r->lanes[i].busy, 0);
	atomic_store(&r->quiesce, 0);
}

/* redo_lane_release -- give the lane back. */
void redo_lane_release(struct redo *r, struct redo_lane *lane)
{
	(void)r;
	lane->used = 0;
	atomic_store(&lane->busy, 0);
}

/* redo_lane_id -- the lane's index. */
unsigned redo_lane_id(const struct redo_lane *lane)
{
	return lane->id;
}

/* redo_nlanes -- lanes in the pool. */
unsigned redo_nlanes(const struct redo *r)
{
	return r->nlanes;
}

/* redo_pool -- the pool of the lanes. */
struct pool *redo_pool(const struct redo *r)
{
	return r->pool;
}

/* redo_log_room -- whether `need` more bytes fit in the lane's log. */
static bool redo_log_room(const struct redo_lane *l, uint64_t need)
{
	uint32_t cap = l->redo->pool->hdr->log_size - LOG_HDR_SIZE;
	return need <= cap - l->used;
}

/*
 * redo_log_append -- append an entry header (and room for `extra` payload
 * bytes after it) to the lane's log; NULL when it does not fit.
 */
static struct log_word_entry *redo_log_append(struct redo_lane *lane,
					      unsigned op, uint64_t off,
					      uint64_t value, uint64_t extra)
{
	struct log_word_entry *w;

	if (!redo_log_room(lane, sizeof(*w) + extra))
		return NULL;
	w = (void *)(lane->buf[lane->target] + LOG_HDR_SIZE + lane->used);
	w->op_off = off | op;
	w->value = value;
	lane->used += sizeof(*w) + (uint32_t)extra;
	return w;
}

/* redo_log_word -- add a word entry. */
int redo_log_word(struct redo_lane *lane, unsigned op, uint64_t off,
		  uint64_t value)
{
	if ((op != LOG_OP_SET && op != LOG_OP_OR && op != LOG_OP_AND) ||
	    off % 8 || !redo_target_ok(lane->redo->pool, off, 8))
		return PKV_EINVAL;
	return redo_log_append(lane, op, off, value, 0) ? 0 : PKV_ETXTOOBIG;
}

/* redo_log_copy -- add a range entry, bytes included. */
int redo_log_copy(struct redo_lane *lane, uint64_t off, const void *src,
		  size_t len)
{
	uint64_t padded = ((uint64_t)len + 7) & ~7ull;
	struct log_word_entry *w;

	if (off % 8 || len == 0 || !redo_target_ok(lane->redo->pool, off, len))
		return PKV_EINVAL;
	w = redo_log_append(lane, LOG_OP_COPY, off, len, padded);
	if (!w)
		return PKV_ETXTOOBIG;
	memcpy(w + 1, src, len);
	memset((char *)(w + 1) + len, 0, padded - len);
	return 0;
}

/* redo_log_cover -- make a range part of the commit checksum. */
int redo_log_cover(struct redo_lane *lane, uint64_t off, size_t len)
{
	if (off % 8 || len % 8 || len == 0 ||
	    !redo_target_ok(lane->redo->pool, off, len))
		return PKV_EINVAL;
	return redo_log_append(lane, LOG_OP_COVER, off, len, 0) ?
	       0 : PKV_ETXTOOBIG;
}

/* redo_log_empty -- nothing logged yet. */
int redo_log_empty(const struct redo_lane *lane)
{
	return lane->used == 0;
}

/* redo_log_discard -- forget the entries (abort). */
void redo_log_discard(struct redo_lane *lane)
{
	lane->used = 0;
}

/* redo_commit -- commit (one fence), apply (fence), retire (fence). */
int redo_commit(struct redo *r, struct redo_lane *lane)
{
	struct persist *p = &r->pool->persist;
	struct log_hdr *lh = redo_buf_hdr(lane, lane->target);
	int b = lane->target;

	if (lane->used == 0)
		return 0;
	lh->seq = atomic_fetch_add(&r->seq, 1) + 1;
	lh->used = lane->used;
	lh->lane = lane->id;
	lh->reserved = 0;
	lh->checksum = 0;
	redo_log_checksum(r, (const char *)lh, lane->used, &lh->checksum);
	persist_flush(p, lh, LOG_HDR_SIZE + lane->used);
	/*
	 * The commit point: the log, its checksum and the covered new blocks
	 * (flushed by tx.c) are durable before any in-place change.
	 */
	if (redo_planted_bug != REDO_BUG_NO_COMMIT_FENCE)
		persist_fence(p);
	redo_apply(r, lane->buf[b], lane->used, true, NULL);
	/* The changes are durable before the log is declared not needed. */
	persist_fence(p);
	persist_store64(p, &lane->hdr->durable_through, lh->seq);
	/*
	 * Retired for good before the transaction returns: once its frees
	 * are reused, a replay of this log would overwrite the new owners.
	 */
	persist_fence(p);
	lane->used = 0;
	lane->target = b ^ 1;
	/* Applied in memory either way; durable only if no write-back
	 * failed (the caller must not acknowledge it otherwise). */
	return persist_failed(p);
}
