/*
 * redo.c -- redo-logged transactions: lanes, one-fence commit, apply,
 * recovery (see redo.h).
 *
 * Commit.  A transaction's entries are written straight into the lane's
 * free log buffer.  At commit the header (seq, length, checksum) is
 * written, the buffer flushed, and one fence makes the log durable: that
 * is the commit point.  The entries are then applied in place and flushed
 * without a fence.  The lane's next commit fence makes those changes
 * durable, so each lane keeps its last log valid until then: it writes its
 * next log into its *other* buffer.
 *
 * Recovery replays, in global seq order, every valid log whose seq is above
 * both the pool's redo_watermark and its lane's durable_through.  Replaying
 * a log whose effects are already durable is harmless unless a *newer*
 * transaction changed the same words and its log is gone.  A log is gone
 * only when its lane overwrites it, two commits later.  So before lane K
 * commits transaction n (its previous one being p, which n+1 will
 * overwrite), it looks at every other lane M and makes sure that no valid,
 * replayable log of M with seq < p remains:
 *   - M's older buffer is durable already (M's latest commit fenced it):
 *     raising durable_through[M] is enough;
 *   - M's latest log, once M has applied it, may not be durable yet (M has
 *     not fenced since): K flushes its ranges itself (a flush writes back
 *     the line whoever dirtied it) before K's commit fence;
 *   - a log M is still applying cannot conflict with p: anything p read
 *     from it was published after the apply; its bitmap OR/AND entries
 *     commute with p's.
 * After K's commit fence, K stores the new durable_through[M] and fences
 * again -- an extra fence only when another lane needed help, never in a
 * single-threaded program.  Seqs only grow (the watermark is raised at
 * recovery and at clean close), so stale logs never come back.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkv.h"
#include "csum.h"
#include "redo.h"

enum redo_planted_bug redo_planted_bug;

#define LOG_HDR_SIZE ((uint32_t)sizeof(struct log_hdr))

struct redo_help {
	struct redo_lane *lane;       /* lane whose durable_through to raise */
	uint64_t seq;                 /* to this */
};

struct redo_lane {
	struct redo *redo;
	unsigned id;
	struct lane_hdr *hdr;         /* persistent: durable_through */
	char *buf[2];                 /* persistent log buffers */
	atomic_int busy;              /* held by a transaction */
	/* Owner-only while busy: */
	int target;                   /* buffer being written */
	uint32_t used;                /* bytes of entries in it */
	struct redo_help *helps;      /* scratch, nlanes entries */
	/* Guarded by mtx (read by other lanes' commits): */
	pthread_mutex_t mtx;
	uint64_t seq[2];              /* committed seq of each buffer, 0 none */
	bool applied[2];              /* its entries are all applied */
	int latest;                   /* buffer of the newest commit, -1 */
	uint64_t durable;             /* mirror of hdr->durable_through */
};

struct redo {
	struct pool *pool;
	unsigned nlanes;
	struct redo_lane *lanes;
	_Atomic uint64_t seq;         /* last seq handed out */
	atomic_uint nused;            /* lanes [0, nused) were ever used */
	atomic_uint next_hint;        /* round robin for new threads */
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
		l->latest = -1;
		l->helps = calloc(r->nlanes, sizeof(*l->helps));
		if (!l->helps)
			goto fail;
		pthread_mutex_init(&l->mtx, NULL);
	}
	*rp = r;
	return 0;
fail:
	if (r->lanes)
		for (unsigned i = 0; i < r->nlanes; i++)
			free(r->lanes[i].helps);
	free(r->lanes);
	free(r);
	return err_set(em, -ENOMEM, "out of memory");
}

/* redo_entry_valid -- whether an entry's target lies in the pool's data. */
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
		if (op == LOG_OP_COPY) {
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

/* redo_flush_log_targets -- flush every range a log changed (help). */
static void redo_flush_log_targets(struct redo *r, const char *log)
{
	const struct log_hdr *lh = (const void *)log;
	const char *e = log + LOG_HDR_SIZE, *end = e + lh->used;

	while (e < end) {
		const struct log_word_entry *w = (const void *)e;
		uint64_t off = LOG_ENTRY_OFF(w->op_off);
		uint64_t len = 8, step = sizeof(*w);

		if (LOG_ENTRY_OP(w->op_off) == LOG_OP_COPY) {
			len = w->value;
			step += (len + 7) & ~7ull;
		}
		persist_flush(&r->pool->persist, pool_ptr(r->pool, off), len);
		e += step;
	}
}

/* redo_log_valid -- whether buffer b of lane l holds a committed log. */
static bool redo_log_valid(const struct redo *r, const struct redo_lane *l,
			   int b)
{
	const struct log_hdr *lh = redo_buf_hdr(l, b);
	uint32_t cap = r->pool->hdr->log_size - LOG_HDR_SIZE;

	if (lh->seq == 0 || lh->used > cap || lh->used % 8 || lh->lane != l->id)
		return false;
	if (redo_planted_bug == REDO_BUG_NO_CHECKSUM)
		return true;
	return csum64(lh, LOG_HDR_SIZE + lh->used, 0) == lh->checksum;
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
	for (unsigned i = 0; i < r->nlanes; i++)
		r->lanes[i].durable = r->lanes[i].hdr->durable_through;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s.nsec = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull +
		 (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	if (st)
		*st = s;
	return 0;
}

/* redo_close -- everything applied is made durable; nothing to replay. */
void redo_close(struct redo *r)
{
	struct persist *p;

	if (!r)
		return;
	p = &r->pool->persist;
	/*
	 * Each lane's last apply was flushed but may not be fenced by its
	 * own thread; flush them all again from here, fence, and only then
	 * say (with the watermark) that no log needs replay.
	 */
	for (unsigned i = 0; i < r->nlanes; i++) {
		struct redo_lane *l = &r->lanes[i];
		if (l->latest >= 0 && l->seq[l->latest])
			redo_flush_log_targets(r, l->buf[l->latest]);
	}
	persist_fence(p);
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
	for (unsigned i = 0; i < r->nlanes; i++) {
		pthread_mutex_destroy(&r->lanes[i].mtx);
		free(r->lanes[i].helps);
	}
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
	unsigned start = redo_tls_hint, used;
	struct redo_lane *l = NULL;

	if (start >= r->nlanes)
		start = atomic_fetch_add(&r->next_hint, 1) % r->nlanes;
	for (;;) {
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
	used = atomic_load(&r->nused);
	while (used < l->id + 1 &&
	       !atomic_compare_exchange_weak(&r->nused, &used, l->id + 1))
		;
	/* Never write over the latest log: it may still need replay. */
	l->target = l->latest == 0 ? 1 : 0;
	l->used = 0;
	return l;
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

/* redo_log_word -- add a word entry. */
int redo_log_word(struct redo_lane *lane, unsigned op, uint64_t off,
		  uint64_t value)
{
	struct log_word_entry *w;

	if ((op != LOG_OP_SET && op != LOG_OP_OR && op != LOG_OP_AND) ||
	    off % 8 || !redo_target_ok(lane->redo->pool, off, 8))
		return PKV_EINVAL;
	if (!redo_log_room(lane, sizeof(*w)))
		return PKV_ETXTOOBIG;
	w = (void *)(lane->buf[lane->target] + LOG_HDR_SIZE + lane->used);
	w->op_off = off | op;
	w->value = value;
	lane->used += sizeof(*w);
	return 0;
}

/* redo_log_copy -- add a range entry, bytes included. */
int redo_log_copy(struct redo_lane *lane, uint64_t off, const void *src,
		  size_t len)
{
	struct log_word_entry *w;
	uint64_t padded = ((uint64_t)len + 7) & ~7ull;

	if (off % 8 || len == 0 || !redo_target_ok(lane->redo->pool, off, len))
		return PKV_EINVAL;
	if (!redo_log_room(lane, sizeof(*w) + padded))
		return PKV_ETXTOOBIG;
	w = (void *)(lane->buf[lane->target] + LOG_HDR_SIZE + lane->used);
	w->op_off = off | LOG_OP_COPY;
	w->value = len;
	memcpy(w + 1, src, len);
	memset((char *)(w + 1) + len, 0, padded - len);
	lane->used += sizeof(*w) + (uint32_t)padded;
	return 0;
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

/*
 * redo_collect_helps -- find the other lanes whose replayable logs older
 * than `p` must be marked durable before this lane may overwrite log p;
 * flush the ranges of those not yet durable.  Returns how many.
 */
static unsigned redo_collect_helps(struct redo *r, struct redo_lane *self,
				   uint64_t p)
{
	unsigned n = 0, nused = atomic_load(&r->nused);

	for (unsigned i = 0; i < nused; i++) {
		struct redo_lane *m = &r->lanes[i];
		uint64_t to = 0;
		if (m == self)
			continue;
		pthread_mutex_lock(&m->mtx);
		for (int b = 0; b < 2; b++) {
			uint64_t s = m->seq[b];
			if (s == 0 || s <= m->durable || s >= p)
				continue;
			if (b != m->latest) {
				to = s > to ? s : to;  /* fenced by m already */
			} else if (m->applied[b]) {
				redo_flush_log_targets(r, m->buf[b]);
				to = s > to ? s : to;
			}
		}
		pthread_mutex_unlock(&m->mtx);
		if (to) {
			self->helps[n].lane = m;
			self->helps[n].seq = to;
			n++;
		}
	}
	return n;
}

/* redo_commit -- one fence makes the log durable; then apply it. */
int redo_commit(struct redo *r, struct redo_lane *lane)
{
	struct persist *p = &r->pool->persist;
	struct log_hdr *lh = redo_buf_hdr(lane, lane->target);
	uint64_t prev = lane->latest >= 0 ? lane->seq[lane->latest] : 0;
	unsigned nhelps = 0;
	int b = lane->target;

	if (lane->used == 0)
		return 0;
	if (prev)
		nhelps = redo_collect_helps(r, lane, prev);
	lh->seq = atomic_fetch_add(&r->seq, 1) + 1;
	lh->used = lane->used;
	lh->lane = lane->id;
	lh->reserved = 0;
	lh->checksum = 0;
	lh->checksum = csum64(lh, LOG_HDR_SIZE + lane->used, 0);
	persist_flush(p, lh, LOG_HDR_SIZE + lane->used);
	/*
	 * The commit point.  Orders, before any in-place change: this log
	 * and its checksum; the contents of blocks the caller filled (flushed
	 * by tx.c); the lines of other lanes' applies flushed above; and this
	 * lane's previous apply, so its log may be overwritten next time.
	 */
	if (redo_planted_bug != REDO_BUG_NO_COMMIT_FENCE)
		persist_fence(p);
	if (nhelps) {
		for (unsigned i = 0; i < nhelps; i++) {
			struct redo_lane *m = lane->helps[i].lane;
			uint64_t s = lane->helps[i].seq;
			if (s > m->hdr->durable_through)
				persist_store64(p, &m->hdr->durable_through, s);
		}
		/*
		 * The marks must be durable before this lane's next log
		 * overwrites log `prev`, whose loss they make harmless.
		 */
		persist_fence(p);
		for (unsigned i = 0; i < nhelps; i++) {
			struct redo_lane *m = lane->helps[i].lane;
			pthread_mutex_lock(&m->mtx);
			if (lane->helps[i].seq > m->durable)
				m->durable = lane->helps[i].seq;
			pthread_mutex_unlock(&m->mtx);
		}
	}
	pthread_mutex_lock(&lane->mtx);
	lane->seq[b] = lh->seq;
	lane->applied[b] = false;
	lane->latest = b;
	pthread_mutex_unlock(&lane->mtx);
	/* Flushed, not fenced: this lane's next commit fence covers it. */
	redo_apply(r, lane->buf[b], lane->used, true, NULL);
	pthread_mutex_lock(&lane->mtx);
	lane->applied[b] = true;
	pthread_mutex_unlock(&lane->mtx);
	lane->used = 0;
	lane->target = b ^ 1;
	return 0;
}
