/*
 * redo.c -- redo-logged transactions: lanes, commit with one fence,
 * checkpoints, recovery (see redo.h; the layout is in layout.h).
 *
 * Commit.  A transaction builds its record in a volatile buffer of its
 * lane.  At commit the record takes room at the head of the lane's ring
 * and a global sequence number (taken while the transaction still holds
 * the locks of everything it changes, so seq order is conflict order),
 * gets its checksum -- over the record and the bytes of every new block
 * it names -- and is copied into the ring and written back.  One fence
 * makes the record and the new blocks (written back by tx.c before)
 * durable together: the commit point.  Then the entries are applied in
 * place with plain (atomic) stores and nothing is written back: a later
 * checkpoint does that, once for many commits, so a bucket head, a bitmap
 * word or a counter changed by a thousand commits costs one write-back.
 *
 * Why replaying every valid record above the watermark, in seq order, is
 * right (the earlier one-fence design failed on each point; each has a
 * planted bug in planted.h that the crash simulator catches):
 *   1. A record is valid only if the new blocks it names reached the media
 *      (their bytes are in its checksum), so no replay publishes a block
 *      that was lost.  Words of a new block that later transactions change
 *      in place are not in the checksum (that would invalidate a committed
 *      record): their values at commit travel in the record instead.
 *   2. Changes are applied in place only after their record is durable, so
 *      anything a crash keeps in place belongs to a durable record; and a
 *      transaction holds its locks until it has applied, so records that
 *      conflict are in seq order and never depend on a lost one.  Replaying
 *      them in seq order over any mixture of their effects gives the
 *      newest value of every word (entries are idempotent: SET, OR/AND of
 *      bitmap bits, COPY).
 *   3. There is one watermark for the whole pool, in a checkpoint slot
 *      that is written only after every record it covers has its effects
 *      written back and fenced, so no older record is ever replayed over a
 *      newer change once it stops being replayed: per-lane marks made
 *      durable by one fence could persist in any order.
 *   4. Ring room and the blocks a record freed are reused only after the
 *      slot with a watermark past the record is durable (tx.c and heap.c
 *      keep freed blocks until redo_watermark passes their free), so no
 *      replay can write into memory that has a new owner.
 *   5. A record's checksum includes its seq, and a checkpoint slot names
 *      where each lane's records above the watermark start; recovery
 *      follows each lane's chain from there (the next record starts right
 *      after, or at offset 0 when it did not fit), accepting only rising
 *      seqs above the watermark, so a stale record of an earlier pass
 *      around the ring, or a record-shaped value inside another record,
 *      is never replayed.
 *
 * Checkpoint.  It finds the highest seq T below every commit still in
 * flight, writes back the target words of every record up to T (or, on a
 * backend that tracks dirty pages, the whole heap), fences, writes the
 * other checkpoint slot with watermark T and each lane's first record
 * after T, fences, and only then frees the ring room and lets the blocks
 * freed up to T be reused.  Two fences, for however many commits.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkv.h"
#include "commitq.h"
#include "csum.h"
#include "planted.h"
#include "offvec.h"
#include "redo.h"

#define REC_HDR ((uint32_t)sizeof(struct log_rec))
#define REDO_PENDING UINT64_MAX       /* inflight: taking a seq */
#define REDO_BUF_START 4096u          /* a lane's record buffer, at first */

/*
 * REDO_REPLAY_BUDGET -- on pmem, the most record bytes (over all lanes,
 * chained areas included) that a crash may leave to replay: past half of
 * it a commit asks for a checkpoint, past all of it a commit checkpoints
 * first.  A replayed change costs a page mapped, on a fresh mapping
 * nearly every target is a fault, and just after a kill on this virtual
 * machine a fault took 25-35 us: an entry is 16 bytes or more, so 16 KiB
 * is at most about 1,000 changes.  By the rings alone (a lane's 128 KiB),
 * 10M keys killed during a table resize left 2,953-11,649 changes, 64-116
 * ms to replay; asking at 8 KiB without the limit still left 10,400 once
 * in three runs (during the resize a checkpoint of 16 KiB of records took
 * 2.5-20 ms, and the writer did not wait for it); with both, 251-362
 * changes, restart 17-25 ms.  The price: a checkpoint every ~30 puts
 * instead of ~500 (1M puts: 1.09 fences and ~860 flushed bytes a put
 * instead of 1.02 and ~790; the throughput within the noise).  Not on a
 * disk, where a checkpoint writes back every dirty page and the rings are
 * sized for that.
 */
#define REDO_REPLAY_BUDGET (16u << 10)

/* A record in a lane's ring, from its commit to the checkpoint past it. */
struct redo_desc {
	uint64_t seq;
	uint64_t start, end;          /* absolute ring positions */
	uint64_t area;                /* bytes of a chained record's
					 entries in the heap, or 0 */
};

/* redo_desc_bytes -- what record d leaves to replay until a checkpoint
 * passes it: its bytes in the ring and its chained area's. */
static inline uint64_t redo_desc_bytes(const struct redo_desc *d)
{
	return d->end - d->start + d->area;
}

struct redo_lane {
	struct redo *redo;
	unsigned id;
	char *ring;                   /* persistent: log_size bytes */
	atomic_int busy;              /* held by a transaction */
	_Atomic(const void *) owner;  /* &redo_me of the thread that took it
					 for a transaction, or NULL */
	bool async;                   /* owner: commit pipelined
					 (redo_lane_async) */
	atomic_bool half;             /* its ring is past half full (set by
					 a commit, cleared by a checkpoint) */
	_Atomic uint64_t fill;        /* redo_backlog as of its last change,
					 read unlocked to choose a lane */
	_Atomic uint64_t inflight;    /* seq being committed, REDO_PENDING,
					 or 0 */
	/* Owner-only while busy: the record being built. */
	char *buf;                    /* REC_HDR + entries */
	size_t used;                  /* bytes of entries */
	size_t cap;                   /* bytes of entries buf can hold */
	struct redo_bsum *bsum;       /* the BLOCK entries' checksum parts,
					 in entry order (redo_log_block) */
	size_t nbsum, bsumcap;
	/* Ring state (absolute byte positions; offset = pos % ring size),
	 * guarded by mtx: the owner and a checkpointer share it. */
	pthread_mutex_t mtx;
	uint64_t head;                /* where the next record may start */
	uint64_t tail;                /* start of the oldest live record */
	uint64_t reserved;            /* start of a record being committed,
					 or UINT64_MAX */
	struct redo_desc *q;          /* committed records not yet passed by
					 the watermark, oldest first */
	size_t qfirst, qlen, qcap;    /* a circular array */
	uint64_t area_bytes;          /* the sum of their `area` */
};

/*
 * struct redo_bsum -- a BLOCK entry's share of its record's checksum (the
 * block's header and covered bytes), taken when the entry is logged.
 *
 * Why.  tx.c writes a new block back right after naming it, and the
 * commit's checksum read the block again: on this machine's CPU (AMD
 * EPYC) a load from a line whose CLWB is still in flight waits ~500
 * cycles for the write-back.  A server's group commit names hundreds of
 * blocks (a turn of pipelined LPUSHes), and these waits were 11% of its
 * profile.  So the bytes are summed before the write-back, and the
 * commit reads the sums.  A replay still reads the pool (redo_checksum
 * with no lane).
 */
struct redo_bsum {
	uint64_t pos;                 /* the entry's offset among the entries */
	uint64_t off;                 /* the block's data offset */
	uint64_t hdr, body;           /* csum64 of the header, covered bytes */
};

struct redo {
	struct pool *pool;
	unsigned nlanes;
	uint32_t ring_size;
	size_t max_entries;           /* bytes of entries per record */
	struct redo_lane *lanes;
	_Atomic uint64_t seq;         /* last seq handed out */
	_Atomic uint64_t watermark;   /* the durable watermark */
	atomic_uint next_hint;        /* round robin for new threads */
	atomic_uint nhalf;            /* lanes past half full */
	bool even_fill;               /* on a disk: fill every ring before
					 asking for a checkpoint */
	uint64_t replay_budget;       /* backlog bytes that ask for a
					 checkpoint whatever the rings */
	_Atomic uint64_t backlog;     /* bytes of the records (and areas)
					 not yet passed by the watermark */
	atomic_int quiesce;           /* redo_quiesce: no new transactions */
	pthread_mutex_t ckpt_mtx;     /* one checkpoint at a time; guards
					 what follows */
	char *slot[2];                /* the checkpoint slots (persistent) */
	int cur_slot;                 /* the current one */
	uint64_t gen;                 /* its generation */
	uint64_t *tails;              /* scratch: nlanes new tails */
	struct offset_set lines;      /* scratch: lines written back by a
					 checkpoint */
	_Atomic uint64_t commits, record_bytes, ring_waits;
	_Atomic uint64_t checkpoints, checkpoint_lines, checkpoint_ns;
	/* redo_recover's replay, until redo_recover_finish or _undo */
	struct redo_found *found;     /* the records replayed, seq order */
	size_t nfound;
	uint64_t found_maxseq;        /* the watermark they raise it to */
	struct redo_undo {            /* the bytes the replay overwrote */
		char *buf;            /* records: bytes (padded to 8), then
					 a trailer {offset, length} */
		size_t len, cap;
		bool on;              /* replaying: save before each store */
		bool failed;          /* out of memory while saving */
	} undo;
	/* redo_set_nudge: who checkpoints in the background, and whether
	 * it was asked since its last checkpoint began */
	void (*_Atomic nudge)(void *);
	void *nudge_arg;
	atomic_bool nudged;
	/* a checkpoint is under way: what it frees is not asked for again
	 * (redo_nudge); its end looks at the room left (redo_room_low) */
	atomic_bool ckpt_running;
	/* On a disk: commits applied before they are durable (commitq.h),
	 * and whether the checkpoint's gate is set (from the first one on,
	 * under ckpt_mtx) */
	struct commitq *cq;
	atomic_bool gated;
	/* On a disk: a checkpoint's write-back of marked pages is under way
	 * and open to commits waiting for it (redo_share_write_back);
	 * `sharers` of them are inside it */
	struct persist_share share;
	atomic_bool share_open;
	atomic_uint sharers;
	_Atomic uint64_t ring_shares;
};

static _Thread_local unsigned redo_tls_hint = ~0u;

/* redo_now -- monotonic nanoseconds. */
static uint64_t redo_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* redo_nap -- sleep 50 us: waiting for another thread's data sync,
 * which takes that long at least, without spinning on a core. */
static void redo_nap(void)
{
	struct timespec ts = { 0, 50000 };
	nanosleep(&ts, NULL);
}

/* redo_align -- round a record length up to a cache line. */
static inline uint64_t redo_align(uint64_t x)
{
	return (x + CACHELINE - 1) & ~(uint64_t)(CACHELINE - 1);
}

/* redo_slot_size -- bytes of one checkpoint slot. */
static inline uint64_t redo_slot_size(const struct redo *r)
{
	return CKPT_SLOT_SIZE(r->nlanes);
}

/* ---- opening and the lanes ---- */

static void redo_settle(void *arg, uint64_t seq);
static void redo_gate(void *arg);

/* redo_open -- attach to the redo area of an open pool. */
int redo_open(struct pool *pool, struct redo **rp, struct errmsg *em)
{
	const struct pool_hdr *h = pool->hdr;
	struct redo *r = calloc(1, sizeof(*r));
	char *area;

	if (!r)
		return err_set(em, -ENOMEM, "out of memory");
	r->pool = pool;
	r->even_fill = persist_tracks_dirty(&pool->persist);
	r->replay_budget = r->even_fill ? UINT64_MAX : REDO_REPLAY_BUDGET;
	r->nlanes = h->nlanes;
	r->ring_size = h->log_size;
	r->max_entries = h->log_size - CACHELINE - REC_HDR;
	area = pool_ptr(pool, h->lanes_off);
	r->slot[0] = area;
	r->slot[1] = area + redo_slot_size(r);
	r->lanes = calloc(r->nlanes, sizeof(*r->lanes));
	r->tails = calloc(r->nlanes, sizeof(*r->tails));
	pthread_mutex_init(&r->ckpt_mtx, NULL);
	if (!r->lanes || !r->tails)
		goto fail;
	for (unsigned i = 0; i < r->nlanes; i++) {
		struct redo_lane *l = &r->lanes[i];
		l->redo = r;
		l->id = i;
		l->ring = area + 2 * redo_slot_size(r) +
			  (uint64_t)i * r->ring_size;
		l->cap = REDO_BUF_START;
		l->buf = malloc(REC_HDR + l->cap);
		l->reserved = UINT64_MAX;
		pthread_mutex_init(&l->mtx, NULL);
		if (!l->buf)
			goto fail;
	}
	if (persist_tracks_dirty(&pool->persist) &&
	    commitq_new(&pool->persist, redo_settle, r, &r->cq))
		goto fail;
	*rp = r;
	return 0;
fail:
	redo_free(r);
	return err_set(em, -ENOMEM, "out of memory");
}

/* redo_free -- release the volatile handle only. */
void redo_free(struct redo *r)
{
	if (!r)
		return;
	commitq_free(r->cq);          /* writes what is still queued */
	for (unsigned i = 0; r->lanes && i < r->nlanes; i++) {
		free(r->lanes[i].buf);
		free(r->lanes[i].bsum);
		free(r->lanes[i].q);
		pthread_mutex_destroy(&r->lanes[i].mtx);
	}
	pthread_mutex_destroy(&r->ckpt_mtx);
	free(r->lanes);
	free(r->tails);
	free(r->lines.v);
	free(r->found);
	free(r->undo.buf);
	free(r);
}

/* redo_target_ok -- whether [off, off+len) is memory a record may change:
 * the pool state words, or anything from the chunk headers on. */
static bool redo_target_ok(const struct pool *pool, uint64_t off,
			   uint64_t len)
{
	if (off >= POOL_STATE_OFF && off + len <= POOL_STATE_OFF +
	    sizeof(struct pool_state))
		return true;
	return off >= pool->hdr->chunk_hdr_off && pool_contains(pool, off, len);
}

/* redo_block_ok -- whether a BLOCK entry's block lies in the heap. */
static bool redo_block_ok(const struct pool *pool, uint64_t data_off,
			  uint64_t size, uint64_t prefix)
{
	return data_off % 8 == 0 && prefix <= size &&
	       data_off >= pool->hdr->chunks_off + BLOCK_HDR_SIZE &&
	       pool_contains(pool, data_off - BLOCK_HDR_SIZE,
			     size + BLOCK_HDR_SIZE);
}

/* ---- walking the entries of a record ---- */

/* One entry, as redo_next_entry finds it. */
struct redo_entry {
	unsigned op;
	uint64_t off;                 /* target (BLOCK: the block's data) */
	uint64_t value;               /* SET/OR/AND operand; COPY length;
					 BLOCK size */
	uint64_t prefix;              /* BLOCK: bytes carried */
	const char *bytes;            /* COPY and BLOCK: the carried bytes */
};

/* redo_entry_len -- the bytes at en->off that replaying the entry writes
 * in place: a word, a copy's bytes, a carried block's prefix or whole
 * bytes (0 for a block that carries none). */
static inline uint64_t redo_entry_len(const struct redo_entry *en)
{
	switch (en->op) {
	case LOG_OP_COPY:
	case LOG_OP_BLOCKCOPY:
		return en->value;
	case LOG_OP_BLOCK:
		return en->prefix;
	default:
		return 8;
	}
}

/* A record's entries: in the record, or (a chained record) in an area
 * of the heap. */
struct redo_body {
	const char *e;
	uint64_t used;
};

/*
 * redo_next_entry -- parse the entry at *pos of a record's entries into
 * *out and step past it.  Returns 1, 0 at the end, or -1 when the entry
 * is malformed or names memory a record may not touch (only possible for
 * a damaged record, read at recovery).
 */
static int redo_next_entry(const struct pool *pool,
			   const struct redo_body *b, uint64_t *pos,
			   struct redo_entry *out)
{
	const struct log_word_entry *w;
	uint64_t left = b->used - *pos, padded;

	if (*pos == b->used)
		return 0;
	if (left < sizeof(*w))
		return -1;
	w = (const void *)(b->e + *pos);
	out->op = LOG_ENTRY_OP(w->op_off);
	out->off = LOG_ENTRY_OFF(w->op_off);
	out->value = w->value;
	out->prefix = 0;
	out->bytes = (const char *)(w + 1);
	left -= sizeof(*w);
	switch (out->op) {
	case LOG_OP_SET:
	case LOG_OP_OR:
	case LOG_OP_AND:
		if (!redo_target_ok(pool, out->off, 8))
			return -1;
		padded = 0;
		break;
	case LOG_OP_COPY:
		padded = (out->value + 7) & ~7ull;
		if (out->value == 0 || padded > left ||
		    !redo_target_ok(pool, out->off, out->value))
			return -1;
		break;
	case LOG_OP_BLOCK:
		out->prefix = LOG_BLOCK_PREFIX(out->value);
		out->value = LOG_BLOCK_SIZE(out->value);
		padded = (out->prefix + 7) & ~7ull;
		if (padded > left ||
		    !redo_block_ok(pool, out->off, out->value, out->prefix))
			return -1;
		break;
	case LOG_OP_BLOCKCOPY:
		padded = (out->value + 7) & ~7ull;
		if (out->value < BLOCK_HDR_SIZE || padded > left ||
		    !redo_block_ok(pool, out->off + BLOCK_HDR_SIZE,
				   out->value - BLOCK_HDR_SIZE, 0))
			return -1;
		break;
	default:                      /* CHAIN is never among the entries */
		return -1;
	}
	*pos += sizeof(*w) + padded;
	return 1;
}

/*
 * redo_body_of -- the entries of the record at rec (REC_HDR + `used`
 * bytes): the record's own, or the area its CHAIN entry names.  False
 * when a CHAIN entry is malformed.
 */
static bool redo_body_of(const struct pool *pool, const char *rec,
			 uint64_t used, struct redo_body *b)
{
	const struct log_word_entry *w = (const void *)(rec + REC_HDR);

	b->e = rec + REC_HDR;
	b->used = used;
	if (used < sizeof(*w) || LOG_ENTRY_OP(w->op_off) != LOG_OP_CHAIN)
		return true;
	if (used != sizeof(*w) || w->value % 8 || w->value == 0 ||
	    LOG_ENTRY_OFF(w->op_off) < pool->hdr->chunks_off ||
	    !pool_contains(pool, LOG_ENTRY_OFF(w->op_off), w->value))
		return false;
	b->e = pool_ptr(pool, LOG_ENTRY_OFF(w->op_off));
	b->used = w->value;
	return true;
}

/* redo_block_sums -- a BLOCK entry's two checksum parts, from the pool. */
static void redo_block_sums(const struct pool *pool, uint64_t data_off,
			    uint64_t size, uint64_t prefix, uint64_t *hdr,
			    uint64_t *body)
{
	const char *data = pool_ptr(pool, data_off);

	*hdr = csum64(data - BLOCK_HDR_SIZE, BLOCK_HDR_SIZE, ~(size_t)0);
	*body = csum64(data + prefix, size - prefix, ~(size_t)0);
}

/*
 * redo_checksum -- the commit checksum of a record: its header (checksum
 * field read as 0) and its own entries, the area of a chained record,
 * then the covered bytes of every block its entries name.  With a lane
 * (the record it is building), a block's bytes are summed as
 * redo_log_block found them (struct redo_bsum), else read from the pool.
 * False when an entry is malformed: the record cannot be valid.
 */
static bool redo_checksum(const struct pool *pool, const char *rec,
			  uint64_t used, const struct redo_lane *lane,
			  uint64_t *sum)
{
	uint64_t h = csum64(rec, REC_HDR + used, 0), pos = 0, start;
	struct redo_body b;
	struct redo_entry en;
	size_t k = 0;
	int got;

	if (!redo_body_of(pool, rec, used, &b))
		return false;
	if (b.e != rec + REC_HDR)
		h = h * 0x9e3779b97f4a7c15ull ^ csum64(b.e, b.used, ~(size_t)0);
	while (start = pos, (got = redo_next_entry(pool, &b, &pos, &en)) > 0) {
		uint64_t hs, bs;
		if (en.op != LOG_OP_BLOCK)
			continue;
		if (lane && k < lane->nbsum && lane->bsum[k].pos == start &&
		    lane->bsum[k].off == en.off) {
			hs = lane->bsum[k].hdr;
			bs = lane->bsum[k].body;
			k++;
		} else {
			redo_block_sums(pool, en.off, en.value, en.prefix, &hs,
					&bs);
		}
		h = h * 0x9e3779b97f4a7c15ull ^ hs;
		h = h * 0x9e3779b97f4a7c15ull ^ bs;
	}
	if (got < 0)
		return false;
	*sum = h;
	return true;
}

/*
 * redo_undo_save -- while recovery replays, keep the len bytes at dst
 * before they are overwritten, so a refused open can put them back
 * (redo_recover_undo).  Out of memory marks the undo failed.
 */
static void redo_undo_save(struct redo *r, const void *dst, uint64_t len)
{
	struct redo_undo *u = &r->undo;
	uint64_t padded = (len + 7) & ~7ull, trailer[2];
	size_t need;

	if (!u->on || u->failed)
		return;
	need = u->len + padded + sizeof(trailer);
	if (need > u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 65536;
		char *b;
		while (cap < need)
			cap *= 2;
		if (!(b = realloc(u->buf, cap))) {
			u->failed = true;
			return;
		}
		u->buf = b;
		u->cap = cap;
	}
	memcpy(u->buf + u->len, dst, len);
	trailer[0] = pool_off(r->pool, dst);
	trailer[1] = len;
	memcpy(u->buf + u->len + padded, trailer, sizeof(trailer));
	u->len = need;
}

/*
 * redo_apply -- carry out a record's entries in place.  `atomic` when
 * other threads may touch neighbouring bits of the same words (bitmaps)
 * concurrently; `replay` at recovery, where the carried prefixes of new
 * blocks are written back too (at commit the block already holds them),
 * before anything else: a block's prefix is what it held when it was
 * made, and the record's stores into it came later.  Nothing is written
 * back here; the changed pages are marked for the checkpoint
 * (persist_mark).  Returns 0 or PKV_ECORRUPT.
 */
static int redo_apply(struct redo *r, const struct redo_body *b,
		      bool atomic, bool replay, uint64_t *nentries)
{
	struct pool *pool = r->pool;
	struct redo_entry en;
	uint64_t pos = 0;
	int got;

	if (replay) {
		while ((got = redo_next_entry(pool, b, &pos, &en)) > 0)
			if ((en.op == LOG_OP_BLOCK && en.prefix) ||
			    en.op == LOG_OP_BLOCKCOPY) {
				uint64_t len = redo_entry_len(&en);
				redo_undo_save(r, pool_ptr(pool, en.off), len);
				memcpy(pool_ptr(pool, en.off), en.bytes, len);
			}
		if (got < 0)
			return PKV_ECORRUPT;
		pos = 0;
	}
	while ((got = redo_next_entry(pool, b, &pos, &en)) > 0) {
		uint64_t *word = pool_ptr(pool, en.off);
		if (replay && en.op != LOG_OP_BLOCK &&
		    en.op != LOG_OP_BLOCKCOPY)
			redo_undo_save(r, word, redo_entry_len(&en));
		switch (en.op) {
		case LOG_OP_SET:
			__atomic_store_n(word, en.value, __ATOMIC_RELEASE);
			break;
		case LOG_OP_OR:
			if (atomic)
				__atomic_fetch_or(word, en.value,
						  __ATOMIC_ACQ_REL);
			else
				*word |= en.value;
			break;
		case LOG_OP_AND:
			if (atomic)
				__atomic_fetch_and(word, en.value,
						   __ATOMIC_ACQ_REL);
			else
				*word &= en.value;
			break;
		case LOG_OP_COPY:
			memcpy(word, en.bytes, en.value);
			break;
		case LOG_OP_BLOCK:
		case LOG_OP_BLOCKCOPY:
			break;
		}
		/* Written back at the checkpoint that passes the record; a
		 * BLOCK was written back at commit, but not its replayed
		 * prefix. */
		if ((en.op != LOG_OP_BLOCK || replay) &&
		    !PLANTED(DISK_APPLY_MARK))
			persist_mark(&pool->persist, word,
				     redo_entry_len(&en));
		if (nentries)
			(*nentries)++;
	}
	return got < 0 ? PKV_ECORRUPT : 0;
}

/*
 * redo_flush_marked -- on a backend that tracks dirty pages: write back
 * every page of the state words and the heap that a record's apply (or a
 * replay, or its undo) marked, instead of listing the words each record
 * changed.  The heap's pages are a shared write-back (persist_share_*):
 * commits that wait for this checkpoint meanwhile take chunks of it
 * (redo_share_write_back).  Durable at the caller's next fence, and the
 * helpers' chunks at theirs, which the checkpoint waits for.
 */
static void redo_flush_marked(struct redo *r)
{
	struct persist *p = &r->pool->persist;
	uint64_t from = r->pool->hdr->chunk_hdr_off;

	persist_flush_marked(p, r->pool->state, sizeof(*r->pool->state));
	persist_share_begin(&r->share, pool_ptr(r->pool, from),
			    r->pool->size - from);
	atomic_store(&r->share_open, true);
	(void)persist_share_work(p, &r->share, true);
	atomic_store(&r->share_open, false);
	/* A page a helper took is durable (its own fence) before the slot
	 * says the records that changed it need no replay. */
	while (atomic_load(&r->sharers))
		redo_nap();
}

/*
 * redo_share_write_back -- a commit waiting for the running checkpoint
 * to free room in its ring: take a share of its write-back of marked
 * pages, if that is what it is doing, and make the pages taken durable.
 * Why: on a disk the checkpointer runs at a low priority (nice 10), and
 * on a machine whose cores other programs kept busy it got so little CPU
 * that commits waited for it for 130-160 ms (MSET at pipeline 16 beside
 * a spinning process); a thread's priority cannot be raised back without
 * privilege, so the waiting thread lends its own CPU instead (there, p99
 * 174-208 ms before, 133-155 ms with it: what is left is the disk's time
 * to write the rest).
 *
 * Against the checkpoint's close (redo_flush_marked): a helper counts
 * itself in, then looks at share_open; the checkpoint closes, then waits
 * for the count to fall to zero (both sequentially consistent).  So
 * either the helper sees the write-back closed and takes nothing, or the
 * checkpoint sees it counted and writes its slot only after the pages it
 * took are durable.  Whether it took any.
 */
static bool redo_share_write_back(struct redo *r)
{
	struct persist *p = &r->pool->persist;
	bool took = false;

	atomic_fetch_add(&r->sharers, 1);
	if (atomic_load(&r->share_open) &&
	    persist_share_work(p, &r->share, false) > 0) {
		/* The pages this thread took are durable before the
		 * checkpoint that waits for it raises the watermark past
		 * the records that changed them. */
		if (!PLANTED(CKPT_TARGET_FENCE))
			persist_fence(p);
		took = true;
	}
	atomic_fetch_sub(&r->sharers, 1);
	return took;
}

/*
 * redo_flush_targets -- write back what a record changed in place, each
 * line once per checkpoint (lines already in `set` are skipped).  With
 * `prefixes`, the carried prefixes of new blocks too (after a replay).
 */
static void redo_flush_targets(struct redo *r, const struct redo_body *b,
			       bool prefixes, uint64_t *nlines)
{
	struct persist *p = &r->pool->persist;
	struct redo_entry en;
	uint64_t pos = 0;

	while (redo_next_entry(r->pool, b, &pos, &en) > 0) {
		uint64_t first, last, len = redo_entry_len(&en);
		/* A BLOCK was written back at commit, the prefix included
		 * (a replay wrote the prefix again); a BLOCKCOPY's pages
		 * were never written. */
		if (en.op == LOG_OP_BLOCK && (!prefixes || !len))
			continue;
		first = en.off / CACHELINE;
		last = (en.off + len - 1) / CACHELINE;
		for (uint64_t l = first; l <= last; l++) {
			/* Without memory to grow the set, every line counts
			 * as new (written back twice at worst). */
			if (offset_set_add(&r->lines, l) == 0)
				continue;
			persist_flush(p, pool_ptr(r->pool, l * CACHELINE),
				      CACHELINE);
			(*nlines)++;
		}
	}
}

/* ---- checkpoint slots ---- */

/* redo_slot_tail -- the tail array of a slot. */
static inline uint64_t *redo_slot_tail(char *slot)
{
	return (uint64_t *)(slot + sizeof(struct ckpt_hdr));
}

/* redo_slot_zero -- whether a slot was never written (a new pool). */
static bool redo_slot_zero(const struct redo *r, const char *slot)
{
	for (uint64_t i = 0; i < redo_slot_size(r); i++)
		if (slot[i])
			return false;
	return true;
}

/* redo_slot_valid -- a slot that can be trusted: zero, or checksummed
 * and of this geometry. */
static bool redo_slot_valid(const struct redo *r, char *slot)
{
	const struct ckpt_hdr *c = (const void *)slot;
	const uint64_t *tail = redo_slot_tail(slot);

	if (redo_slot_zero(r, slot))
		return true;
	if (c->nlanes != r->nlanes || c->reserved0 ||
	    csum64(slot, redo_slot_size(r), 0) != c->checksum)
		return false;
	for (unsigned i = 0; i < r->nlanes; i++)
		if (tail[i] >= r->ring_size || tail[i] % CACHELINE)
			return false;
	return true;
}

/*
 * redo_slot_write -- write the other slot: generation gen+1, watermark w,
 * tails r->tails; write it back and fence.  It is current from the fence
 * on (its gen is the higher).
 */
static void redo_slot_write(struct redo *r, uint64_t w)
{
	struct persist *p = &r->pool->persist;
	int next = r->cur_slot ^ 1;
	char *slot = r->slot[next];
	struct ckpt_hdr *c = (void *)slot;

	memset(slot, 0, redo_slot_size(r));
	c->gen = r->gen + 1;
	c->watermark = w;
	c->nlanes = r->nlanes;
	for (unsigned i = 0; i < r->nlanes; i++)
		redo_slot_tail(slot)[i] = r->tails[i] % r->ring_size;
	c->checksum = csum64(slot, redo_slot_size(r), 0);
	if (!PLANTED(CKPT_FLUSH_SLOT))
		persist_flush(p, slot, redo_slot_size(r));
	/*
	 * The new watermark is durable before anything it allows: reusing
	 * the ring room of the records it passes, and the blocks they freed
	 * (other threads' fences do not order this thread's flushes).
	 */
	if (!PLANTED(CKPT_SLOT_FENCE))
		persist_fence(p);
	r->cur_slot = next;
	r->gen++;
}

/* ---- the ring ---- */

/* redo_q_push -- remember a committed record (lane mtx held; room made
 * by redo_q_room). */
static void redo_q_push(struct redo_lane *l, const struct redo_desc *d)
{
	l->q[(l->qfirst + l->qlen) % l->qcap] = *d;
	l->qlen++;
}

/* redo_q_at -- the i-th oldest committed record (lane mtx held). */
static inline struct redo_desc *redo_q_at(struct redo_lane *l, size_t i)
{
	return &l->q[(l->qfirst + i) % l->qcap];
}

/*
 * redo_backlog -- what a crash now would leave to replay from this lane,
 * as checkpoints are asked for by it (lane mtx held): its ring's records,
 * and past REDO_AREA_ALLOWANCE, the heap areas of the chained ones, which
 * the ring holds only a stub of.  By the ring alone, group commits of a
 * thousand writes (all chained) piled up hundreds of MiB to replay at the
 * next open; counting every area byte asked for a checkpoint after each
 * such commit (pkv-server SET at pipeline 16: 13% slower on pmem).
 */
#define REDO_AREA_ALLOWANCE (1u << 20)

static inline uint64_t redo_backlog(const struct redo_lane *l)
{
	return l->head - l->tail + (l->area_bytes > REDO_AREA_ALLOWANCE ?
				    l->area_bytes - REDO_AREA_ALLOWANCE : 0);
}

/*
 * redo_reserve -- take room for a record of len bytes at the lane's head,
 * checkpointing (and waiting for slower transactions) while the ring is
 * full.  Returns the record's absolute position.
 */
static int redo_checkpoint_to(struct redo *r, bool force);

/* redo_q_room -- room for one more descriptor (lane mtx held). */
static int redo_q_room(struct redo_lane *l)
{
	struct redo_desc *q;
	size_t cap;

	if (l->qlen < l->qcap)
		return 0;
	cap = l->qcap ? 2 * l->qcap : 64;
	q = malloc(cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (size_t i = 0; i < l->qlen; i++)
		q[i] = l->q[(l->qfirst + i) % l->qcap];
	free(l->q);
	l->q = q;
	l->qfirst = 0;
	l->qcap = cap;
	return 0;
}

/*
 * redo_room_low -- whether a replay backlog of `backlog` bytes (all
 * lanes), or a lane's ring `used` bytes full (half: past half), asks for
 * a checkpoint.  Past half the replay budget, or past half full, the
 * background checkpointer is asked to free room while the other half
 * takes commits, so none waits for a write-back.  On a disk, where a
 * checkpoint writes back every page dirtied since the last and its writes
 * slow the commits' syncs (SET at pipeline 16: commits of 30-120 ms during
 * one), it is asked only once every lane is past half full (new
 * transactions take the least full lane: redo_lane_pick) or this one is
 * past three quarters: a single writer fills every ring first.
 */
static bool redo_room_low(struct redo *r, uint64_t backlog, bool half,
			  uint64_t used)
{
	return backlog > r->replay_budget / 2 ||
	       (half && (!r->even_fill ||
			 atomic_load(&r->nhalf) >= r->nlanes ||
			 used > r->ring_size / 4 * 3));
}

/*
 * redo_reserve -- take room for a record of len bytes at the lane's head
 * (and for its descriptor), checkpointing (and waiting for slower
 * transactions) while the ring is full.  Its absolute position to *posp.
 * Returns 0 or -ENOMEM.
 */
static int redo_reserve(struct redo *r, struct redo_lane *l, uint64_t len,
			uint64_t *posp)
{
	/* counted once per commit, whatever its attempts: ring_shares
	 * stays a part of ring_waits */
	bool waited = false, shared = false;

	for (unsigned attempt = 0;; attempt++) {
		uint64_t pos;
		bool restart = false;
		pthread_mutex_lock(&l->mtx);
		if (redo_q_room(l)) {
			pthread_mutex_unlock(&l->mtx);
			return -ENOMEM;
		}
		pos = l->head;
		if (pos % r->ring_size + len > r->ring_size)
			pos += r->ring_size - pos % r->ring_size;  /* wrap */
		if (pos + len - l->tail <= r->ring_size) {
			l->head = pos + len;
			l->reserved = pos;
			pthread_mutex_unlock(&l->mtx);
			*posp = pos;
			return 0;
		}
		if (pos != l->head && l->qlen == 0 &&
		    l->reserved == UINT64_MAX) {
			/*
			 * The ring is empty but the record fits only from its
			 * start, over the room the checkpoint slot still names
			 * as where this lane's records begin: move that mark to
			 * the start first (a slot written now), or recovery
			 * could begin inside a later record.
			 */
			l->head = l->tail = pos;
			restart = true;
		}
		pthread_mutex_unlock(&l->mtx);
		if (restart) {
			redo_checkpoint_to(r, true);
			continue;
		}
		if (!waited) {
			waited = true;
			atomic_fetch_add(&r->ring_waits, 1);
		}
		if (attempt > 0)
			sched_yield();
		/* A checkpoint running (the background one) frees room when
		 * it ends: wait for it and look again, rather than run
		 * another after it (on a disk each writes back every page
		 * dirtied since the last: two back to back stalled MSET at
		 * pipeline 16 for twice as long). */
		if (pthread_mutex_trylock(&r->ckpt_mtx) != 0) {
			if (redo_share_write_back(r) && !shared) {
				shared = true;
				atomic_fetch_add(&r->ring_shares, 1);
			}
			pthread_mutex_lock(&r->ckpt_mtx);
			pthread_mutex_unlock(&r->ckpt_mtx);
			continue;
		}
		pthread_mutex_unlock(&r->ckpt_mtx);
		/* A pipelined record still queued is applied but not durable,
		 * so no checkpoint may pass it (redo_safe_point): write the
		 * queue first.  Without a syncer thread (PKV_NOTHREADS) no
		 * one else would, and this loop spun for ever on a ring
		 * filled by pipelined commits (crashkv --disk, seed 23). */
		if (r->cq && commitq_first(r->cq))
			commitq_wait(r->cq, atomic_load(&r->seq));
		/* Records of this lane are all complete: a checkpoint frees
		 * them, unless a slower transaction holds the watermark
		 * back, which never takes long (it is past taking locks). */
		redo_checkpoint(r);
	}
}

/* ---- commit ---- */

/* redo_lane_half_full -- see redo.h. */
bool redo_lane_half_full(const struct redo_lane *lane)
{
	return lane->used > lane->redo->max_entries / 2;
}

/* redo_area_needed -- bytes of heap a chained commit of the lane's
 * record needs, or 0 when it fits its ring. */
size_t redo_area_needed(const struct redo_lane *lane)
{
	return lane->used > lane->redo->max_entries ? lane->used : 0;
}

/* redo_commit -- a record that fits its ring. */
int redo_commit(struct redo *r, struct redo_lane *lane, uint64_t *seqp)
{
	return redo_commit_area(r, lane, 0, seqp);
}

/*
 * redo_ckpt_inline -- whether a backlog past half the replay budget is
 * checkpointed by the next commit, in its own thread, rather than by the
 * background checkpointer woken for it: on persistent memory (a replay
 * budget), with a checkpointer.  Why: such a checkpoint is a few
 * microseconds of write-backs every few dozen commits, and waking the
 * thread for it cost the committer a futex wake each time and the
 * machine two context switches.  pkv-server under SET at pipeline 1 (50
 * clients, fresh pool, 200,000 requests, five rounds alternated): p99
 * 0.90-1.13 ms woken, 0.66-0.98 ms inline; pkvbench's 1M puts: 0.41 us
 * of kernel time a put woken, 0.12-0.17 inline, overwrites 0.12-0.17 and
 * 0.  Without a checkpointer (PKV_NOTHREADS) the commit checkpoints at
 * the whole budget, as before.
 */
static bool redo_ckpt_inline(struct redo *r, uint64_t backlog)
{
	return r->replay_budget != UINT64_MAX && redo_has_nudge(r) &&
	       backlog > r->replay_budget / 2;
}

/* redo_commit_area -- the record durable with one fence, then applied. */
int redo_commit_area(struct redo *r, struct redo_lane *lane, uint64_t area,
		     uint64_t *seqp)
{
	struct persist *p = &r->pool->persist;
	struct redo_body body = { lane->buf + REC_HDR, lane->used };
	char chain[REC_HDR + sizeof(struct log_word_entry)];
	char *rec = lane->buf;
	struct log_rec *lh;
	uint64_t len, pos, seq, rec_used = lane->used;
	char *dst;
	struct redo_desc d;
	uint64_t used, backlog;
	bool half, queued;

	if (seqp)
		*seqp = 0;
	if (lane->used == 0) {
		lane->async = false;
		return 0;
	}
	if (!redo_has_nudge(r)) {
		/* No one checkpoints in the background, and chained areas
		 * have piled up past the allowance and a ring's worth:
		 * checkpoint first, as a full ring makes a commit do. */
		pthread_mutex_lock(&lane->mtx);
		used = redo_backlog(lane);
		pthread_mutex_unlock(&lane->mtx);
		if (used > r->ring_size)
			redo_checkpoint(r);
	}
	/* The checkpointer is a whole replay budget behind: catch up
	 * first, so that what a crash leaves to replay stays bounded; past
	 * half of it, unless one is running, as redo_ckpt_inline says. */
	backlog = atomic_load_explicit(&r->backlog, memory_order_relaxed);
	if (backlog > r->replay_budget ||
	    (redo_ckpt_inline(r, backlog) && !atomic_load(&r->ckpt_running)))
		redo_checkpoint(r);
	if (redo_area_needed(lane)) {
		/* Too big for the ring: the entries go to the area, and the
		 * ring gets a record that names it (in its checksum). */
		struct log_word_entry *w = (void *)(chain + REC_HDR);
		if (!area || area % 8)
			return PKV_EINVAL;
		if (PLANTED(REDO_FLUSH_RECORD))
			memcpy(pool_ptr(r->pool, area), body.e, body.used);
		else
			persist_write(p, pool_ptr(r->pool, area), body.e,
				      body.used);
		w->op_off = area | LOG_OP_CHAIN;
		w->value = body.used;
		rec = chain;
		rec_used = sizeof(*w);
	}
	lh = (struct log_rec *)rec;
	len = redo_align(REC_HDR + rec_used);
	if (redo_reserve(r, lane, len, &pos))
		return -ENOMEM;

	if (lane->async && !atomic_load(&r->gated)) {
		/* Before the first pipelined commit is applied, every
		 * checkpoint from now on gates its write-backs on them. */
		pthread_mutex_lock(&r->ckpt_mtx);
		if (!PLANTED(DISK_QUEUE_GATE) &&
		    persist_set_gate(p, redo_gate, r))
			lane->async = false;      /* no memory: commit now */
		else
			atomic_store(&r->gated, true);
		pthread_mutex_unlock(&r->ckpt_mtx);
	}
	/* The seq is taken last, under the caller's locks: conflict order;
	 * on a disk also under the queue's lock, so that the queue is in
	 * seq order.  A checkpointer reading the pending mark waits for the
	 * seq. */
	if (r->cq)
		commitq_lock(r->cq);
	atomic_store(&lane->inflight, REDO_PENDING);
	seq = atomic_fetch_add(&r->seq, 1) + 1;
	atomic_store(&lane->inflight, seq);
	/* Behind a queued commit, this one may have read what it changed:
	 * queued too, durable only after it (commitq.h). */
	queued = r->cq && (lane->async || commitq_queued(r->cq));

	lh->seq = seq;
	lh->used = (uint32_t)rec_used;
	lh->lane = (uint16_t)lane->id;
	lh->flags = 0;
	lh->checksum = 0;
	redo_checksum(r->pool, rec, rec_used, lane, &lh->checksum);
	dst = lane->ring + pos % r->ring_size;
	if (queued) {
		/* Applied now, written by the syncer (or the next waiter),
		 * which fences only its own writes: what this thread wrote
		 * for the record (a chained record's area, new blocks) is
		 * made durable first. */
		persist_fence(p);
		memcpy(dst, rec, REC_HDR + rec_used);
		if (commitq_push(r->cq, seq, dst, REC_HDR + rec_used)) {
			/* No memory to queue it: once everything before it
			 * is written, write it here. */
			commitq_unlock(r->cq);
			commitq_wait(r->cq, seq - 1);
			persist_write_mapped(p, dst, REC_HDR + rec_used);
			persist_fence(p);
			queued = false;
		} else {
			commitq_unlock(r->cq);
		}
	} else {
		if (r->cq)
			commitq_unlock(r->cq);
		if (PLANTED(REDO_FLUSH_RECORD))
			memcpy(dst, rec, REC_HDR + rec_used);
		else
			persist_write(p, dst, rec, REC_HDR + rec_used);
		/*
		 * The commit point: the record, its checksum, a chained
		 * record's area and the new blocks (written back by tx.c)
		 * are durable before any in-place change.
		 */
		if (!PLANTED(REDO_COMMIT_FENCE))
			persist_fence(p);
	}
	redo_apply(r, &body, true, false, NULL);

	d.seq = seq;
	d.start = pos;
	d.end = pos + len;
	d.area = rec == chain ? body.used : 0;
	pthread_mutex_lock(&lane->mtx);
	lane->reserved = UINT64_MAX;
	redo_q_push(lane, &d);        /* room was made by redo_reserve */
	lane->area_bytes += d.area;
	used = redo_backlog(lane);
	atomic_store_explicit(&lane->fill, used, memory_order_relaxed);
	half = used > r->ring_size / 2;
	backlog = atomic_fetch_add_explicit(&r->backlog, redo_desc_bytes(&d),
					    memory_order_relaxed) +
		  redo_desc_bytes(&d);
	if (half && !atomic_load_explicit(&lane->half, memory_order_relaxed)) {
		atomic_store(&lane->half, true);
		atomic_fetch_add(&r->nhalf, 1);
	}
	pthread_mutex_unlock(&lane->mtx);
	/* Past half the replay budget or the ring: redo_room_low (on
	 * persistent memory the budget is the next commit's to pass:
	 * redo_ckpt_inline). */
	if (redo_room_low(r, backlog, half, used) &&
	    !redo_ckpt_inline(r, backlog) &&
	    !atomic_load_explicit(&r->nudged, memory_order_relaxed))
		redo_nudge(r);
	atomic_store_explicit(&lane->inflight, 0, memory_order_release);
	atomic_fetch_add_explicit(&r->commits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->record_bytes, len + (rec == chain ?
				  body.used : 0), memory_order_relaxed);
	lane->used = 0;
	lane->nbsum = 0;
	if (seqp)
		*seqp = seq;
	/* Queued without being asked to: durable on return all the same. */
	if (queued && !lane->async)
		commitq_wait(r->cq, seq);
	lane->async = false;
	/* Applied in memory either way; durable only if no write-back
	 * failed (the caller must not acknowledge it otherwise). */
	return persist_failed(p);
}

/* ---- pipelined commits (the disk mode; commitq.h) ---- */

/*
 * redo_settle -- the queue's records up to seq are durable: wait until no
 * commit with a lower seq is still in flight on another lane (its record
 * being written; it applies only once durable), so that acknowledging
 * seq means every seq below it is durable too.  A lane taking a seq
 * (REDO_PENDING) takes one above seq.
 */
static void redo_settle(void *arg, uint64_t seq)
{
	struct redo *r = arg;

	for (unsigned i = 0; i < r->nlanes; i++) {
		uint64_t v;
		while ((v = atomic_load(&r->lanes[i].inflight)) &&
		       v != REDO_PENDING && v < seq)
			sched_yield();
	}
}

/*
 * redo_gate -- the persistence layer's gate before a checkpoint writes
 * back content it has just taken: every change in it comes from a seq
 * already handed out (the seq is taken before a commit applies), so once
 * the queue holds none of them the content is durable-safe.
 */
static void redo_gate(void *arg)
{
	struct redo *r = arg;

	atomic_thread_fence(memory_order_seq_cst);
	commitq_wait(r->cq, atomic_load(&r->seq));
}

/* redo_lane_async -- see redo.h. */
void redo_lane_async(struct redo_lane *lane)
{
	lane->async = lane->redo->cq != NULL;
}

/* redo_ticket -- see redo.h. */
uint64_t redo_ticket(struct redo *r)
{
	return atomic_load(&r->seq);
}

/* redo_durable -- see redo.h. */
int redo_durable(struct redo *r, uint64_t ticket, bool wait)
{
	int err;

	if (!r->cq) {
		err = persist_failed(&r->pool->persist);
		return err ? err : 1;
	}
	if (!wait)
		return commitq_done(r->cq, ticket);
	err = commitq_wait(r->cq, ticket);
	return err ? err : 1;
}

/* redo_durable_fd -- see redo.h. */
int redo_durable_fd(const struct redo *r)
{
	return commitq_fd(r->cq);
}

/* redo_syncer -- see redo.h. */
int redo_syncer(struct redo *r, bool on)
{
	if (!r->cq)
		return 0;
	if (on)
		return commitq_start(r->cq);
	commitq_stop(r->cq);
	return 0;
}

/* ---- checkpoint ---- */

/* redo_safe_point -- the highest seq T such that every seq <= T has been
 * applied in place (ckpt_mtx held). */
static uint64_t redo_safe_point(struct redo *r)
{
	uint64_t t = atomic_load(&r->seq), q;

	/* not past a queued commit: it is applied but not durable */
	if (r->cq && (q = commitq_first(r->cq)) && q - 1 < t)
		t = q - 1;

	for (unsigned i = 0; i < r->nlanes; i++) {
		uint64_t v;
		while ((v = atomic_load(&r->lanes[i].inflight)) == REDO_PENDING)
			sched_yield();
		if (v && v - 1 < t)
			t = v - 1;
	}
	return t;
}

/*
 * redo_checkpoint_end -- (ckpt_mtx held; released) a checkpoint is over:
 * ask for the next one if the room it left is low already.  Why here and
 * not in the commits made meanwhile: they see their rings as full as
 * before it began (it frees their room only at its end) and asked for a
 * second one at once, which wrote back the pages changed during the first
 * for a few seconds of log: SET at pipeline 1 on a disk ran every
 * checkpoint twice, the second 120-220 ms.
 */
static void redo_checkpoint_end(struct redo *r)
{
	bool low = false;
	uint64_t backlog;

	atomic_store(&r->ckpt_running, false);
	backlog = atomic_load(&r->backlog);
	for (unsigned i = 0; i < r->nlanes && !low; i++) {
		struct redo_lane *l = &r->lanes[i];
		pthread_mutex_lock(&l->mtx);
		low = redo_room_low(r, backlog, atomic_load(&l->half),
				    redo_backlog(l));
		pthread_mutex_unlock(&l->mtx);
	}
	pthread_mutex_unlock(&r->ckpt_mtx);
	if (low)
		redo_nudge(r);
}

/* redo_checkpoint -- write back, then raise the watermark. */
int redo_checkpoint(struct redo *r)
{
	return redo_checkpoint_to(r, false);
}

/*
 * REDO_CKPT_BATCH -- descriptors the checkpoint copies per hold of a
 * lane's lock.
 *
 * redo_flush_lane -- write back what lane l's records up to seq t changed
 * in place (ckpt_mtx held).  The records up to t stay where they are
 * until the new slot is durable, and only the checkpoint takes them off
 * the queue: reading them needs no lock but the queue's (it may grow).
 * Why a batch: one lock per record, taken while the lane's committer
 * takes it for every commit, bounced the lock's line between the cores
 * a hundred thousand times a checkpoint (a single-threaded load spent
 * 12% of its time in pthread_mutex_lock and unlock).
 */
#define REDO_CKPT_BATCH 64u

static void redo_flush_lane(struct redo *r, struct redo_lane *l, uint64_t t,
			    uint64_t *lines)
{
	struct redo_desc d[REDO_CKPT_BATCH];
	size_t n, k = 0;

	pthread_mutex_lock(&l->mtx);
	n = l->qlen;
	pthread_mutex_unlock(&l->mtx);
	while (k < n) {
		size_t m = n - k < REDO_CKPT_BATCH ? n - k : REDO_CKPT_BATCH;
		pthread_mutex_lock(&l->mtx);
		for (size_t j = 0; j < m; j++)
			d[j] = *redo_q_at(l, k + j);
		pthread_mutex_unlock(&l->mtx);
		for (size_t j = 0; j < m; j++) {
			const struct log_rec *lh;
			struct redo_body b;
			if (d[j].seq > t)
				return;
			lh = (const void *)(l->ring +
					    d[j].start % r->ring_size);
			if (redo_body_of(r->pool, (const char *)lh, lh->used,
					 &b))
				redo_flush_targets(r, &b, false, lines);
		}
		k += m;
	}
}

/*
 * redo_checkpoint_to -- the checkpoint; with `force`, a new slot is
 * written even when the watermark cannot move (a lane moved where its
 * records begin).
 */
static int redo_checkpoint_to(struct redo *r, bool force)
{
	struct persist *p = &r->pool->persist;
	uint64_t t, w, t0 = redo_now(), lines = 0;

	pthread_mutex_lock(&r->ckpt_mtx);
	/* Commits from here on may ask for the next one, but not for the
	 * room this one frees (redo_nudge, redo_checkpoint_end). */
	atomic_store(&r->ckpt_running, true);
	atomic_store(&r->nudged, false);
	w = atomic_load(&r->watermark);
	t = redo_safe_point(r);
	if (t < w)
		t = w;
	if (t == w && !force) {
		/* Nothing to pass: the next commit asks again (asking here
		 * would spin while what holds t back is in flight). */
		atomic_store(&r->ckpt_running, false);
		pthread_mutex_unlock(&r->ckpt_mtx);
		return persist_failed(p);
	}

	/* 1. Write back what the records up to t changed in place. */
	if (PLANTED(CKPT_FLUSH_TARGETS)) {
		/* nothing written back */
	} else if (persist_tracks_dirty(p)) {
		/* The pages the records changed are marked: written back
		 * at the cost of those pages only. */
		redo_flush_marked(r);
	} else {
		offset_set_clear(&r->lines);
		for (unsigned i = 0; i < r->nlanes; i++)
			redo_flush_lane(r, &r->lanes[i], t, &lines);
	}
	/* What the records changed is durable before the watermark says
	 * they need no replay. */
	if (!PLANTED(CKPT_TARGET_FENCE))
		persist_fence(p);

	/* 2. The new slot: each lane's first record after t. */
	for (unsigned i = 0; i < r->nlanes; i++) {
		struct redo_lane *l = &r->lanes[i];
		size_t k = 0;
		pthread_mutex_lock(&l->mtx);
		while (k < l->qlen && redo_q_at(l, k)->seq <= t)
			k++;
		r->tails[i] = k < l->qlen ? redo_q_at(l, k)->start :
			      l->reserved != UINT64_MAX ? l->reserved : l->head;
		pthread_mutex_unlock(&l->mtx);
	}
	redo_slot_write(r, t);

	/* 3. Only now: the room and the frees up to t are reusable. */
	atomic_store(&r->watermark, t);
	for (unsigned i = 0; i < r->nlanes; i++) {
		struct redo_lane *l = &r->lanes[i];
		uint64_t passed = 0, used;
		pthread_mutex_lock(&l->mtx);
		while (l->qlen && redo_q_at(l, 0)->seq <= t) {
			const struct redo_desc *d = redo_q_at(l, 0);
			l->area_bytes -= d->area;
			passed += redo_desc_bytes(d);
			l->qfirst = (l->qfirst + 1) % l->qcap;
			l->qlen--;
		}
		atomic_fetch_sub_explicit(&r->backlog, passed,
					  memory_order_relaxed);
		if (r->tails[i] > l->tail)
			l->tail = r->tails[i];
		used = redo_backlog(l);
		atomic_store_explicit(&l->fill, used, memory_order_relaxed);
		if (atomic_load(&l->half) && used <= r->ring_size / 2) {
			atomic_store(&l->half, false);
			atomic_fetch_sub(&r->nhalf, 1);
		}
		pthread_mutex_unlock(&l->mtx);
	}
	atomic_fetch_add(&r->checkpoints, 1);
	atomic_fetch_add(&r->checkpoint_lines, lines);
	atomic_fetch_add(&r->checkpoint_ns, redo_now() - t0);
	redo_checkpoint_end(r);
	return persist_failed(p);
}

/* redo_set_nudge -- the background checkpointer's hook. */
void redo_set_nudge(struct redo *r, void (*fn)(void *), void *arg)
{
	atomic_store(&r->nudge, NULL);
	r->nudge_arg = arg;
	atomic_store(&r->nudge, fn);
	atomic_store(&r->nudged, false);
}

/* redo_has_nudge -- whether there is a background checkpointer. */
bool redo_has_nudge(const struct redo *r)
{
	return atomic_load(&((struct redo *)r)->nudge) != NULL;
}

/* redo_nudge -- ask the background checkpointer for a checkpoint. */
bool redo_nudge(struct redo *r)
{
	void (*fn)(void *) = atomic_load(&r->nudge);

	if (!fn)
		return false;
	/* One under way: its end asks again if its room is not enough
	 * (seq_cst, paired with redo_checkpoint_end's clear before it
	 * reads the rings: a commit either is seen there or sees it
	 * over). */
	if (atomic_load(&r->ckpt_running))
		return true;
	if (!atomic_exchange(&r->nudged, true))
		fn(r->nudge_arg);
	return true;
}

/* redo_watermark -- the durable watermark. */
uint64_t redo_watermark(const struct redo *r)
{
	return atomic_load((_Atomic uint64_t *)&r->watermark);
}

/* redo_pending -- commits not yet checkpointed. */
uint64_t redo_pending(const struct redo *r)
{
	struct redo *q = (struct redo *)r;
	return atomic_load(&q->seq) - atomic_load(&q->watermark);
}

/* redo_get_stats -- copy the figures. */
void redo_get_stats(const struct redo *r, struct redo_stats *st)
{
	struct redo *q = (struct redo *)r;

	/* Counters only: a checkpoint in progress is not waited for. */
	memset(st, 0, sizeof(*st));
	st->checkpoints = atomic_load(&q->checkpoints);
	st->checkpoint_lines = atomic_load(&q->checkpoint_lines);
	st->checkpoint_ns = atomic_load(&q->checkpoint_ns);
	st->commits = atomic_load(&q->commits);
	st->record_bytes = atomic_load(&q->record_bytes);
	st->ring_waits = atomic_load(&q->ring_waits);
	st->ring_shares = atomic_load(&q->ring_shares);
	st->seq = atomic_load(&q->seq);
	st->watermark = atomic_load(&q->watermark);
}

/* ---- recovery ---- */

/* A record found by recovery. */
struct redo_found {
	uint64_t seq;
	const char *rec;
};

/* redo_found_cmp -- order found records by seq. */
static int redo_found_cmp(const void *a, const void *b)
{
	const struct redo_found *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * redo_record_at -- the valid record of lane l at ring offset off whose
 * seq is above `after`, or NULL.
 */
static const struct log_rec *redo_record_at(const struct redo *r,
					    const struct redo_lane *l,
					    uint64_t off, uint64_t after)
{
	const struct log_rec *lh = (const void *)(l->ring + off);
	uint64_t sum;

	if (off + REC_HDR > r->ring_size)
		return NULL;
	if (lh->seq <= after || lh->lane != l->id || lh->flags ||
	    lh->used % 8 || lh->used > r->ring_size - off - REC_HDR)
		return NULL;
	if (PLANTED(REDO_NO_CHECKSUM))
		return lh;
	if (!redo_checksum(r->pool, (const char *)lh, lh->used, NULL, &sum) ||
	    sum != lh->checksum)
		return NULL;
	return lh;
}

/* redo_u64_cmp -- order page numbers. */
static int redo_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * redo_prefetch_targets -- before a replay, ask for every page the found
 * records change: on a disk the reads of all of them started (runs of
 * neighbouring pages at once), then each run mapped writable in one call.
 * Without, the replay's stores fault the pages in one at a time, each a
 * random read the next waits for (after a power failure none is cached)
 * and a trap: pkv-server on a disk, 1.26M keys, killed under SET at
 * pipeline 16, caches dropped, replayed 355,632-906,958 changes in
 * 4.4-7.0 s (7.7-12.2 us each); with, 440,240-1,024,269 in 2.7-4.6 s
 * (4.2-6.1 us).  What is left is mostly the mapping of the pages (about
 * 20 us a page on this virtual machine) and reading them.  On pmem only
 * the mapping is saved: 10M keys killed during a table resize, 11,649
 * changes on 10,500 pages, replayed in 65-79 ms without, 48-58 ms with.
 * Best effort: without memory for the list, the replay faults them in as
 * before.
 */
#define REDO_PAGE 4096u
#define REDO_PREFETCH_GAP 8u   /* pages: a smaller hole is read too */

static void redo_prefetch_targets(struct redo *r, const struct redo_found *todo,
				  size_t n)
{
	struct persist *p = &r->pool->persist;
	struct offvec pages = { 0 };
	uint64_t *pg, first, last;
	size_t np;

	for (size_t i = 0; i < n; i++) {
		const struct log_rec *lh = (const void *)todo[i].rec;
		struct redo_body b;
		struct redo_entry en;
		uint64_t pos = 0;
		if (!redo_body_of(r->pool, todo[i].rec, lh->used, &b))
			continue;   /* the replay reports it */
		while (redo_next_entry(r->pool, &b, &pos, &en) > 0) {
			uint64_t len = redo_entry_len(&en);
			if (!len)
				continue;
			first = en.off / REDO_PAGE;
			last = (en.off + len - 1) / REDO_PAGE;
			for (uint64_t g = first; g <= last; g++)
				if (!offvec_push(&pages, g)) {
					free(pages.v);
					return;
				}
		}
	}
	pg = pages.v;
	np = pages.n;
	if (np)
		qsort(pg, np, sizeof(*pg), redo_u64_cmp);
	/* All the reads in flight (a file's), then each run of pages
	 * mapped. */
	for (int populate = !persist_reads_file(p); populate < 2; populate++) {
		unsigned gap = populate ? 1 : REDO_PREFETCH_GAP;
		for (size_t i = 0; i < np;) {
			first = last = pg[i];
			while (++i < np && pg[i] <= last + gap)
				last = pg[i];
			if (populate)
				persist_populate(p, pool_ptr(r->pool,
						 first * REDO_PAGE),
						 (last - first + 1) *
						 REDO_PAGE);
			else
				persist_prefetch(p, pool_ptr(r->pool,
						 first * REDO_PAGE),
						 (last - first + 1) *
						 REDO_PAGE);
		}
	}
	free(pg);
}

/* redo_recover -- replay the valid records above the watermark. */
int redo_recover(struct redo *r, struct redo_recovery_stats *st,
		 struct errmsg *em)
{
	struct pool *pool = r->pool;
	struct redo_recovery_stats s = {0};
	struct redo_found *todo = NULL;
	size_t n = 0, cap = 0;
	uint64_t w, maxseq, t0 = redo_now();
	const struct ckpt_hdr *c;
	bool v0, v1;
	int err = 0;

	v0 = redo_slot_valid(r, r->slot[0]);
	v1 = redo_slot_valid(r, r->slot[1]);
	if (!v0 && !v1)
		return err_set(em, PKV_ECORRUPT, "both checkpoint slots of the "
			       "redo log are damaged (offset %llu)",
			       (unsigned long long)pool->hdr->lanes_off);
	r->cur_slot = !v0 ? 1 : !v1 ? 0 :
		((const struct ckpt_hdr *)r->slot[1])->gen >
		((const struct ckpt_hdr *)r->slot[0])->gen ? 1 : 0;
	c = (const void *)r->slot[r->cur_slot];
	r->gen = c->gen;
	w = maxseq = c->watermark;

	/* Each lane's chain of records above the watermark. */
	for (unsigned i = 0; i < r->nlanes; i++) {
		struct redo_lane *l = &r->lanes[i];
		uint64_t off = redo_slot_tail(r->slot[r->cur_slot])[i];
		uint64_t last = w;
		for (;;) {
			const struct log_rec *lh = redo_record_at(r, l, off,
								  last);
			if (!lh && off != 0) {
				lh = redo_record_at(r, l, 0, last);
				if (lh)
					off = 0;
			}
			if (!lh)
				break;
			if (n == cap) {
				size_t nc = cap ? 2 * cap : 64;
				struct redo_found *t = realloc(todo,
							nc * sizeof(*t));
				if (!t) {
					free(todo);
					return err_set(em, -ENOMEM,
						       "out of memory");
				}
				todo = t;
				cap = nc;
			}
			todo[n].seq = lh->seq;
			todo[n].rec = (const char *)lh;
			n++;
			last = lh->seq;
			off = (off + redo_align(REC_HDR + lh->used)) %
			      r->ring_size;
		}
		/* Where this lane's next record goes. */
		r->tails[i] = off;
		l->head = l->tail = off;
		if (last > maxseq)
			maxseq = last;
	}
	s.logs_valid = n;
	if (n)   /* qsort(NULL, 0) is undefined */
		qsort(todo, n, sizeof(*todo), redo_found_cmp);
	if (n && persist_maps_file(&pool->persist))
		redo_prefetch_targets(r, todo, n);
	r->undo.on = true;
	for (size_t i = 0; i < n; i++) {
		const struct log_rec *lh = (const void *)todo[i].rec;
		struct redo_body b;
		if (!redo_body_of(pool, todo[i].rec, lh->used, &b) ||
		    redo_apply(r, &b, false, true, &s.entries_replayed)) {
			err = err_set(em, PKV_ECORRUPT,
				"redo record at offset %llu (seq %llu) has a "
				"malformed entry",
				(unsigned long long)pool_off(pool, lh),
				(unsigned long long)lh->seq);
			break;
		}
		s.logs_replayed++;
	}
	r->undo.on = false;
	if (!err && r->undo.failed)
		err = err_set(em, -ENOMEM, "out of memory");
	r->found = todo;
	r->nfound = n;
	r->found_maxseq = maxseq;
	if (err)
		redo_recover_undo(r);
	s.nsec = redo_now() - t0;
	if (st)
		*st = s;
	return err;
}

/* redo_recover_forget -- drop what redo_recover kept for its finish or
 * undo (both end with it). */
static void redo_recover_forget(struct redo *r)
{
	free(r->found);
	r->found = NULL;
	r->nfound = 0;
	free(r->undo.buf);
	memset(&r->undo, 0, sizeof(r->undo));
}

/* redo_recover_finish -- make the replay durable, then pass it. */
void redo_recover_finish(struct redo *r)
{
	struct pool *pool = r->pool;
	struct persist *p = &pool->persist;

	if (r->nfound) {
		/* The replayed changes are durable before the watermark says
		 * they need no replay; a crash before leaves the old slot,
		 * and replaying again is harmless. */
		uint64_t lines = 0;
		if (persist_tracks_dirty(p)) {
			redo_flush_marked(r);
		} else {
			offset_set_clear(&r->lines);
			for (size_t i = 0; i < r->nfound; i++) {
				const struct log_rec *lh =
					(const void *)r->found[i].rec;
				struct redo_body b;
				if (redo_body_of(pool, r->found[i].rec,
						 lh->used, &b))
					redo_flush_targets(r, &b, true,
							   &lines);
			}
		}
		if (!PLANTED(RECOVER_FENCE))
			persist_fence(p);
		redo_slot_write(r, r->found_maxseq);
	}
	atomic_store(&r->seq, r->found_maxseq);
	atomic_store(&r->watermark, r->found_maxseq);
	redo_recover_forget(r);
}

/* redo_recover_undo -- put back what the replay overwrote, newest first. */
void redo_recover_undo(struct redo *r)
{
	struct persist *p = &r->pool->persist;
	struct redo_undo *u = &r->undo;
	size_t end = u->len;
	/* On a file, one sync of the pages the replay dirtied, as
	 * redo_recover_finish does: a sync per scattered page made a
	 * refused pool take seconds to refuse. */
	bool whole = persist_tracks_dirty(p);

	while (end) {
		uint64_t trailer[2], padded;
		char *dst;
		memcpy(trailer, u->buf + end - sizeof(trailer),
		       sizeof(trailer));
		padded = (trailer[1] + 7) & ~7ull;
		end -= sizeof(trailer) + padded;
		dst = pool_ptr(r->pool, trailer[0]);
		memcpy(dst, u->buf + end, trailer[1]);
		/* The media gets the old bytes too, in case a replayed line
		 * was written back meanwhile. */
		if (!whole)
			persist_flush(p, dst, trailer[1]);
		else
			persist_mark(p, dst, trailer[1]);
	}
	if (u->len && whole)
		redo_flush_marked(r);
	if (u->len)
		persist_fence(p);
	redo_recover_forget(r);
}

/* redo_close -- nothing left to replay: checkpoint everything. */
void redo_close(struct redo *r)
{
	if (!r)
		return;
	redo_checkpoint(r);
	redo_free(r);
}

/* ---- lanes ---- */

/* redo_lane_try -- take lane l if it is free. */
static bool redo_lane_try(struct redo_lane *l)
{
	int expected = 0;
	return atomic_compare_exchange_strong(&l->busy, &expected, 1);
}

/* redo_thread_lane -- the calling thread's usual lane. */
void redo_thread_lane(unsigned lane)
{
	redo_tls_hint = lane;
}

/*
 * REDO_FILL_STEPS -- the steps redo_lane_pick tells fill levels apart
 * by.  Why so fine: in eighths, a ring 99% full and one 88% full were a
 * tie, and a single writer kept to its own, full one while the others
 * had room; MSET at pipeline 16 (records of about 1 MB, 64 MiB rings)
 * waited for the checkpoint with the rings at 0.99, 0.88, 0.88, 0.88.
 * Beside a spinning process (rounds of 200k, eight each way) its p99 was
 * 130-186 ms, mean 149, in eighths and 121-150 ms, mean 132, in 64ths.
 *
 * redo_lane_fill_level -- how full lane l's ring is, in REDO_FILL_STEPS
 * (read unlocked: a hint).
 */
#define REDO_FILL_STEPS 64u

static unsigned redo_lane_fill_level(const struct redo *r,
				     const struct redo_lane *l)
{
	uint64_t f = atomic_load_explicit(&l->fill, memory_order_relaxed);

	return f >= r->ring_size ? REDO_FILL_STEPS :
	       (unsigned)(f * REDO_FILL_STEPS / r->ring_size);
}

/*
 * redo_lane_pick -- the lane to try first: the thread's usual one, but on
 * a disk the free one whose ring is the least full (in REDO_FILL_STEPS,
 * the usual one on a tie), so rings fill evenly whatever the number of
 * threads.
 * Why: the checkpointer is asked for once every ring is past half full,
 * and the commits made while it writes back must fit in what is left of
 * all of them.  Filling each ring to half in turn left a single writer
 * the rest of the last one only, a quarter of that room: MSET at
 * pipeline 16 (2 GiB pool, four rings) filled it 4 times in 400k
 * commands, none with the least full ring.
 */
static unsigned redo_lane_pick(struct redo *r, unsigned start)
{
	unsigned best = start, best_level = REDO_FILL_STEPS + 1;

	if (!r->even_fill)
		return start;
	for (unsigned k = 0; k < r->nlanes; k++) {
		unsigned i = (start + k) % r->nlanes;
		unsigned level;
		if (atomic_load_explicit(&r->lanes[i].busy,
					 memory_order_relaxed))
			continue;
		level = redo_lane_fill_level(r, &r->lanes[i]);
		if (level < best_level) {
			best = i;
			best_level = level;
		}
	}
	return best;
}

/* This thread's token: its address names the thread in a lane's owner. */
static _Thread_local char redo_me;

/* redo_lane_acquire -- take a lane: redo_lane_pick's, else any free one. */
struct redo_lane *redo_lane_acquire(struct redo *r)
{
	unsigned start = redo_tls_hint;
	struct redo_lane *l = NULL;

	if (start >= r->nlanes)
		start = atomic_fetch_add(&r->next_hint, 1) % r->nlanes;
	for (;;) {
		while (atomic_load(&r->quiesce))
			sched_yield();
		start = redo_lane_pick(r, start);
		for (unsigned k = 0; k < r->nlanes && !l; k++) {
			struct redo_lane *c =
				&r->lanes[(start + k) % r->nlanes];
			if (redo_lane_try(c))
				l = c;
		}
		if (l)
			break;
		sched_yield();
	}
	redo_tls_hint = l->id;
	l->used = 0;
	l->nbsum = 0;
	l->async = false;
	atomic_store_explicit(&l->owner, &redo_me, memory_order_relaxed);
	return l;
}

/* redo_held_here -- see redo.h. */
bool redo_held_here(const struct redo *r)
{
	for (unsigned i = 0; i < r->nlanes; i++)
		if (atomic_load_explicit(&r->lanes[i].owner,
					 memory_order_relaxed) == &redo_me)
			return true;
	return false;
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
	lane->nbsum = 0;
	atomic_store_explicit(&lane->owner, NULL, memory_order_relaxed);
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

/* redo_max_entries -- room for entries in one record. */
size_t redo_max_entries(const struct redo *r)
{
	return r->max_entries;
}

/* redo_pool -- the pool of the lanes. */
struct pool *redo_pool(const struct redo *r)
{
	return r->pool;
}

/* ---- building a record ---- */

/*
 * redo_log_append -- append an entry header (and room for `extra` payload
 * bytes after it) to the lane's record; NULL when it does not fit.
 */
static struct log_word_entry *redo_log_append(struct redo_lane *lane,
					      unsigned op, uint64_t off,
					      uint64_t value, uint64_t extra)
{
	struct log_word_entry *w;
	uint64_t need = sizeof(*w) + extra;

	/* No limit but memory: a record too big for the ring is chained. */
	if (need > lane->cap - lane->used) {
		uint64_t cap = 2 * (uint64_t)lane->cap;
		char *b;
		while (cap < lane->used + need)
			cap *= 2;
		b = realloc(lane->buf, REC_HDR + cap);
		if (!b)
			return NULL;
		lane->buf = b;
		lane->cap = cap;
	}
	w = (void *)(lane->buf + REC_HDR + lane->used);
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
	return redo_log_append(lane, op, off, value, 0) ? 0 : -ENOMEM;
}

/* redo_log_reset -- see redo.h. */
void redo_log_reset(struct redo_lane *lane, size_t pos, uint64_t value)
{
	struct log_word_entry *w = (void *)(lane->buf + REC_HDR + pos);

	if (pos + sizeof(*w) <= lane->used &&
	    LOG_ENTRY_OP(w->op_off) == LOG_OP_SET)
		w->value = value;
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
		return -ENOMEM;
	memcpy(w + 1, src, len);
	memset((char *)(w + 1) + len, 0, padded - len);
	return 0;
}

/* redo_log_block -- name a new block; carry its mutable prefix. */
int redo_log_block(struct redo_lane *lane, uint64_t data_off, uint64_t size,
		   unsigned prefix)
{
	const struct pool *pool = lane->redo->pool;
	uint64_t padded = ((uint64_t)prefix + 7) & ~7ull;
	struct log_word_entry *w;
	struct redo_bsum *bs;

	if (prefix > LOG_BLOCK_PREFIX_MAX || size >> 48 ||
	    !redo_block_ok(pool, data_off, size, prefix))
		return PKV_EINVAL;
	w = redo_log_append(lane, LOG_OP_BLOCK, data_off,
			    size | (uint64_t)prefix << 48, padded);
	if (!w)
		return -ENOMEM;
	memcpy(w + 1, pool_ptr(pool, data_off), prefix);
	memset((char *)(w + 1) + prefix, 0, padded - prefix);
	/* Its share of the checksum now, before the caller writes the
	 * block back (struct redo_bsum); without memory for it, the
	 * commit reads the pool. */
	if (lane->nbsum == lane->bsumcap) {
		size_t cap = lane->bsumcap ? 2 * lane->bsumcap : 16;
		struct redo_bsum *nb = realloc(lane->bsum, cap * sizeof(*nb));
		if (!nb)
			return 0;
		lane->bsum = nb;
		lane->bsumcap = cap;
	}
	bs = &lane->bsum[lane->nbsum++];
	bs->pos = (uint64_t)((char *)w - (lane->buf + REC_HDR));
	bs->off = data_off;
	redo_block_sums(pool, data_off, size, prefix, &bs->hdr, &bs->body);
	return 0;
}

/* redo_log_blockcopy -- carry a new block whole (disk mode). */
int redo_log_blockcopy(struct redo_lane *lane, uint64_t block_off,
		       uint64_t len)
{
	const struct pool *pool = lane->redo->pool;
	uint64_t padded = (len + 7) & ~7ull;
	struct log_word_entry *w;

	if (block_off % 8 || len < BLOCK_HDR_SIZE ||
	    !redo_block_ok(pool, block_off + BLOCK_HDR_SIZE,
			   len - BLOCK_HDR_SIZE, 0))
		return PKV_EINVAL;
	w = redo_log_append(lane, LOG_OP_BLOCKCOPY, block_off, len, padded);
	if (!w)
		return -ENOMEM;
	memcpy(w + 1, pool_ptr(pool, block_off), len);
	memset((char *)(w + 1) + len, 0, padded - len);
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
	lane->nbsum = 0;
}

/* redo_log_used -- bytes of entries so far: a mark to truncate back to. */
size_t redo_log_used(const struct redo_lane *lane)
{
	return lane->used;
}

/* redo_log_truncate -- drop the entries added after the mark. */
void redo_log_truncate(struct redo_lane *lane, size_t used)
{
	if (used < lane->used)
		lane->used = (uint32_t)used;
	while (lane->nbsum && lane->bsum[lane->nbsum - 1].pos >= used)
		lane->nbsum--;
}
