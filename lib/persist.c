/*
 * persist.c -- the persistence layer (see persist.h): flush, fence and
 * copy-and-flush over libpmem or write and fdatasync, with counters and a
 * hook.
 *
 * The counters and the hook are the reason this file exists as a choke
 * point: write amplification and fences per operation are read from here,
 * and the crash simulator learns of every flush and fence from the hook.
 *
 * File backend: the pool is mapped MAP_PRIVATE, and only this layer
 * writes the file (pwrite from the mapping).  A thread's flushes are
 * noted as line ranges in a small thread-local list (merged when they
 * touch); its next fence writes them and makes them durable with one
 * fdatasync however many there are.  A list that fills up writes its
 * oldest range early, which is always allowed: durability may come
 * sooner.  Pages that commits changed in place are marked in a bitmap
 * (persist_mark) and written at the checkpoint (persist_flush_marked).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE          /* pwritev2, RWF_DSYNC */
#endif
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <libpmem.h>

#include "persist.h"

#define PERSIST_PAGE 4096u
#define PERSIST_PENDING_MAX 16
#define PERSIST_PACE (1u << 20)   /* checkpoint bytes queued at once */
#define PERSIST_PIECE (256u << 10) /* checkpoint bytes per write call */
/* Checkpoint bytes copied per gate: each gate may wait for a sync of the
 * pipelined commits (MSET at pipeline 16: ~2 MB records, 10+ ms), and
 * with 4 MiB a checkpoint of ~200 MB took long enough that the log rings
 * filled and commits waited for it (twice in 200k MSETs; max 255 ms);
 * with 16 MiB none did (max 79-128 ms). */
#define PERSIST_BOUNCE (16u << 20)

/* A range of lines this thread flushed on the file backend, not synced yet. */
struct persist_pending {
	struct persist *p;
	uintptr_t start, end;             /* line aligned */
};

static _Thread_local struct persist_pending persist_pend[PERSIST_PENDING_MAX];
static _Thread_local unsigned persist_npend;
static _Thread_local unsigned persist_tid_plus1;  /* 0: not yet assigned */
/* A private mapping whose pages this thread wrote to the file (page
 * cache) and did not sync yet: its next fence owes an fdatasync. */
static _Thread_local struct persist *persist_owed;
/* This thread's owed sync covers a checkpoint's pages, in [lo, hi) of
 * the mapping (hi 0: none): once they are durable, the page cache's
 * copies may go (persist_pay_sync). */
static _Thread_local uintptr_t persist_bulk_lo, persist_bulk_hi;
static atomic_uint persist_next_tid;

/* persist_backend_from_env -- PKV_PERSIST override, or PERSIST_AUTO. */
static enum persist_backend persist_backend_from_env(void)
{
	const char *v = getenv("PKV_PERSIST");
	if (!v)
		return PERSIST_AUTO;
	if (strcmp(v, "pmem") == 0)
		return PERSIST_PMEM;
	if (strcmp(v, "file") == 0)
		return PERSIST_FILE;
	if (strcmp(v, "memory") == 0)
		return PERSIST_MEMORY;
	return PERSIST_AUTO;
}

/* persist_auto_flush -- whether flushes can be skipped on this mapping:
 * the platform says so, unless PKV_AUTO_FLUSH forces a mode. */
static bool persist_auto_flush(void)
{
	const char *v = getenv("PKV_AUTO_FLUSH");

	if (v && (v[0] == '0' || v[0] == '1'))
		return v[0] == '1';
	return pmem_has_auto_flush() == 1;
}

/* persist_init -- set up the layer for one mapping; see persist.h. */
void persist_init(struct persist *p, void *base, size_t len,
		  enum persist_backend backend, int is_pmem)
{
	enum persist_backend env = persist_backend_from_env();

	memset(p, 0, sizeof(*p));
	p->base = base;
	p->len = len;
	p->fd = -1;
	/* A memory image has no device behind it: never flush it for real. */
	if (backend == PERSIST_MEMORY)
		p->why = "an image in memory, not a file";
	else if (env != PERSIST_AUTO) {
		backend = env;
		p->why = "chosen by PKV_PERSIST in the environment";
	} else if (backend != PERSIST_AUTO)
		p->why = "chosen by the program that opened the pool";
	else if (is_pmem) {
		const char *force = getenv("PMEM_IS_PMEM_FORCE");
		backend = PERSIST_PMEM;
		p->why = force && force[0] == '1' ?
			"PMEM_IS_PMEM_FORCE=1 in the environment declares "
			"the mapping persistent memory" :
			"the file is on persistent memory (a DAX mapping)";
	} else {
		backend = PERSIST_FILE;
		p->why = "the file is not on persistent memory (no DAX "
			 "mapping): commits are written and synced to it";
	}
	p->backend = backend;
	p->auto_flush = backend == PERSIST_PMEM && persist_auto_flush();
}

/* persist_is_pmem -- ask libpmem (which honours PMEM_IS_PMEM_FORCE). */
int persist_is_pmem(const void *addr, size_t len)
{
	return pmem_is_pmem(addr, len);
}

/* persist_backend_name -- printable backend name. */
const char *persist_backend_name(enum persist_backend b)
{
	switch (b) {
	case PERSIST_PMEM: return "pmem";
	case PERSIST_FILE: return "file";
	case PERSIST_MEMORY: return "memory";
	default: return "auto";
	}
}

/* persist_tracks_dirty -- a disk: changed pages are marked (persist.h). */
bool persist_tracks_dirty(const struct persist *p)
{
	return p->backend == PERSIST_FILE || p->disk_model;
}

/* persist_set_fd -- remember the mapped file; on the file backend, make
 * its cached pages page-sized (persist_map_pages). */
void persist_set_fd(struct persist *p, int fd)
{
	p->fd = fd;
	if (p->backend == PERSIST_FILE && fd >= 0) {
		/* Clean cached pages go (mapped ones stay), so folios that
		 * earlier readers made (cp, a backup, a library before this
		 * one) are not written back whole.  The price: a restart
		 * reads its pages from the disk again (1M keys: the first
		 * 300k GETs at 51-54k/s, not 318-388k/s), a few seconds,
		 * against every write costing a large folio until the
		 * kernel evicts it. */
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		persist_map_pages(p, p->base, p->len);
	}
}

/* persist_pages -- the whole pages around [addr, addr + len). */
static inline void persist_pages(const void *addr, size_t len,
				 uintptr_t *start, uintptr_t *end)
{
	*start = (uintptr_t)addr & ~(uintptr_t)(PERSIST_PAGE - 1);
	*end = ((uintptr_t)addr + len + PERSIST_PAGE - 1) &
	       ~(uintptr_t)(PERSIST_PAGE - 1);
}

/* persist_marks_new -- a zeroed bitmap for npages pages (calloc: a big
 * one is mapped lazily, so a reservation far beyond the pool costs
 * address space only). */
static int persist_marks_new(struct persist *p, size_t npages)
{
	size_t words = (npages + 63) / 64;

	p->marks = calloc(words ? words : 1, sizeof(uint64_t));
	if (!p->marks)
		return -ENOMEM;
	p->marks_pages = npages;
	return 0;
}

/* persist_set_private -- see persist.h. */
int persist_set_private(struct persist *p, size_t reslen)
{
	int err = persist_marks_new(p, reslen / PERSIST_PAGE);

	if (!err)
		p->private_map = true;
	return err;
}

/* persist_set_disk_model -- see persist.h. */
int persist_set_disk_model(struct persist *p)
{
	int err = p->marks ? 0 : persist_marks_new(p,
				(p->len + PERSIST_PAGE - 1) / PERSIST_PAGE);

	if (!err)
		p->disk_model = true;
	return err;
}

/* persist_release -- see persist.h. */
void persist_release(struct persist *p)
{
	free((void *)p->marks);
	p->marks = NULL;
	p->marks_pages = 0;
	free(p->bounce);
	p->bounce = NULL;
	free(p->helper_bounce);
	p->helper_bounce = NULL;
	p->gate = NULL;
}

/* persist_set_gate -- see persist.h. */
int persist_set_gate(struct persist *p, void (*gate)(void *arg), void *arg)
{
	if (p->private_map && !p->bounce &&
	    !(p->bounce = malloc(PERSIST_BOUNCE)))
		return -ENOMEM;
	p->gate_arg = arg;
	p->gate = gate;
	return 0;
}

/*
 * persist_mark -- see persist.h.  Always the locked OR, even on a bit
 * already set: a write-back may be clearing it at this moment, and the
 * release here pairs with its acquire, so either it sees this change or
 * the bit stays set for the next one (a plain load that skipped a set
 * bit could lose the change to a concurrent clear).
 */
void persist_mark(struct persist *p, const void *addr, size_t len)
{
	uintptr_t start, end;

	if (!p->marks || !len)
		return;
	persist_pages(addr, len, &start, &end);
	for (size_t pg = (start - (uintptr_t)p->base) / PERSIST_PAGE,
	     last = (end - (uintptr_t)p->base) / PERSIST_PAGE;
	     pg < last && pg < p->marks_pages; pg++) {
		_Atomic uint64_t *w = &p->marks[pg / 64];
		atomic_fetch_or_explicit(w, 1ull << (pg % 64),
					 memory_order_release);
	}
}

/*
 * persist_map_pages -- see persist.h.  Why: the page cache tracks dirty
 * memory per folio, and on file systems with large folios (ext4 since
 * Linux 6.16, XFS) a fault's readahead brings in folios of up to 2 MiB,
 * so one 8-byte store makes the whole folio written back at the next
 * sync: measured on this ext4, 487 KiB written per randomly dirtied
 * page, and a warm 1M-key pool under SET wrote ~4 KiB per write.  With
 * MADV_RANDOM a fault reads one page and makes a page-sized folio: 4 KiB
 * written per dirty page.
 */
void persist_map_pages(struct persist *p, void *addr, size_t len)
{
	if (p->backend == PERSIST_FILE && len)
		madvise(addr, len, MADV_RANDOM);
}

/* persist_reads_file -- see persist.h. */
bool persist_reads_file(const struct persist *p)
{
	return p->backend == PERSIST_FILE && p->fd >= 0;
}

/* persist_prefetch -- see persist.h.  MADV_WILLNEED on a file mapping
 * queues the reads of the range's uncached pages and returns (the
 * mapping's MADV_RANDOM stops only the read-around of faults). */
void persist_prefetch(struct persist *p, const void *addr, size_t len)
{
	uintptr_t start, end;

	if (!persist_reads_file(p) || !len)
		return;
	persist_pages(addr, len, &start, &end);
	(void)madvise((void *)start, end - start, MADV_WILLNEED);
}

/* persist_maps_file -- see persist.h. */
bool persist_maps_file(const struct persist *p)
{
	return p->backend == PERSIST_PMEM || persist_reads_file(p);
}

/* persist_populate -- see persist.h.  Kernels before 5.14 refuse the
 * advice (EINVAL): the stores then fault the pages in as before. */
void persist_populate(struct persist *p, void *addr, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t start, end;

	if (!persist_maps_file(p) || !len)
		return;
	persist_pages(addr, len, &start, &end);
	(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
	(void)p, (void)addr, (void)len;
#endif
}

/* persist_slot -- this thread's counters in p. */
static inline struct persist_slot *persist_my_slot(struct persist *p)
{
	if (!persist_tid_plus1)
		persist_tid_plus1 = atomic_fetch_add(&persist_next_tid, 1) + 1;
	return &p->slot[(persist_tid_plus1 - 1) % PERSIST_SLOTS];
}

/*
 * persist_bump -- add to a counter of this thread's slot.  A plain load
 * and store, not a locked add: the slot is this thread's alone (beyond
 * PERSIST_SLOTS threads a shared slot may lose a count, never order a
 * flush).
 */
static inline void persist_bump(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* persist_fail -- remember the first write-back failure (sticky). */
static void persist_fail(struct persist *p, int err)
{
	int expected = 0;

	atomic_compare_exchange_strong(&p->failed, &expected,
				       err < 0 ? err : -EIO);
}

static void persist_pay_sync(struct persist *p);

/* persist_pwrite_from -- persist_pwrite of a copy of the range (src). */
static void persist_pwrite_from(struct persist *p, const char *src, off_t off,
				size_t len)
{
	if (persist_owed && persist_owed != p)
		persist_pay_sync(persist_owed);
	/* After a failed write the file stays as a crash at that moment
	 * would leave it: nothing later (a watermark past pages that did not
	 * reach it, a clean-shutdown flag) may land. */
	if (persist_failed(p))
		return;
	persist_owed = p;
	while (len) {
		ssize_t n = pwrite(p->fd, src, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			persist_fail(p, n < 0 ? -errno : -EIO);
			return;
		}
		src += n, off += n, len -= (size_t)n;
	}
}

/*
 * persist_pwrite -- a private mapping: copy a range of it (lines) to the
 * file (the page cache), with no sync; this thread's next fence owes the
 * fdatasync that makes it durable.  A store racing with the copy is
 * covered as a racing write-back is on a shared mapping: the change's own
 * record stays replayable until a later write-back (the checkpoint that
 * passes it) finishes.
 */
static void persist_pwrite(struct persist *p, uintptr_t start, uintptr_t end)
{
	persist_pwrite_from(p, (const char *)start,
			    (off_t)(start - (uintptr_t)p->base), end - start);
}

/* persist_pay_sync -- a private mapping: the fdatasync this thread owes
 * for p, if any (it makes every page it wrote durable, with one device
 * flush however many there were). */
static void persist_pay_sync(struct persist *p)
{
	if (persist_owed != p)
		return;
	persist_owed = NULL;
	if (persist_failed(p))
		return;
	persist_bump(&persist_my_slot(p)->syncs, 1);
	if (fdatasync(p->fd))
		persist_fail(p, -errno);
	else if (persist_bulk_hi)
		/* A written page is the mapping's own copy, so the page
		 * cache's is never read again before a restart: dropped
		 * (clean ones only; the kernel keeps any still dirty), a
		 * changed page is held once, not twice.  Only the span the
		 * pages were in: dropping the whole file took the log
		 * rings' pages too, and then each record written into a
		 * page of them, never whole, had the kernel read the page
		 * from the disk first, on the commit's path (SET at
		 * pipeline 16: 8 MB read by the syncer in 4 s, about a
		 * page a sync). */
		(void)posix_fadvise(p->fd,
				    (off_t)(persist_bulk_lo - (uintptr_t)p->base),
				    (off_t)(persist_bulk_hi - persist_bulk_lo),
				    POSIX_FADV_DONTNEED);
	persist_bulk_lo = persist_bulk_hi = 0;
}

/*
 * persist_sync_pending -- make this thread's pending ranges of p durable:
 * each written to the file, then one fdatasync for all of them (a device
 * flush per range made a fence over several scattered pages, a run's
 * bitmap and its header, eight runs made at once, cost a disk flush
 * each).
 */
static void persist_sync_pending(struct persist *p)
{
	unsigned k = 0;

	for (unsigned i = 0; i < persist_npend; i++) {
		struct persist_pending *q = &persist_pend[i];
		if (q->p != p)
			persist_pend[k++] = *q;
		else
			persist_pwrite(p, q->start, q->end);
	}
	persist_npend = k;
	persist_pay_sync(p);
}

/*
 * persist_note -- add the lines of a range to this thread's pending list.
 * Lines, not pages: the rest of a page in the mapping may hold changes
 * that must not reach the file yet (a pipelined commit's, applied before
 * its record is durable); the file's own copy of it is what the layer
 * wrote before.  The crash simulator's disk model flushes lines too.
 */
static void persist_note(struct persist *p, const void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr & ~(uintptr_t)63;
	uintptr_t end = ((uintptr_t)addr + len + 63) & ~(uintptr_t)63;

	for (unsigned i = 0; i < persist_npend; i++) {
		struct persist_pending *q = &persist_pend[i];
		if (q->p == p && start <= q->end && end >= q->start) {
			if (start < q->start)
				q->start = start;
			if (end > q->end)
				q->end = end;
			return;
		}
	}
	if (persist_npend == PERSIST_PENDING_MAX) {
		/* Full: write the oldest to the file now (early is
		 * allowed); its sync is owed to the next fence. */
		persist_pwrite(persist_pend[0].p, persist_pend[0].start,
			       persist_pend[0].end);
		memmove(persist_pend, persist_pend + 1,
			(PERSIST_PENDING_MAX - 1) * sizeof(persist_pend[0]));
		persist_npend--;
	}
	persist_pend[persist_npend++] = (struct persist_pending){ p, start,
								 end };
}

/* persist_count_only -- account for a write-back and show it to the
 * hook: the flush's own, or one the caller does itself (libpmem's
 * non-temporal copies, a private mapping's pwrite). */
static void persist_count_only(struct persist *p, const void *addr,
			       size_t len)
{
	struct persist_slot *s = persist_my_slot(p);
	uintptr_t first = (uintptr_t)addr & ~(uintptr_t)63;
	uintptr_t end = (uintptr_t)addr + len;

	persist_bump(&s->lines_flushed, (end - first + 63) / 64);
	persist_bump(&s->bytes_flushed, len);
	if (p->hook)
		p->hook->flush(p->hook->ctx,
			       (uint64_t)((const char *)addr - p->base), len);
}

/* persist_flush -- write back the lines of a range, unordered. */
void persist_flush(struct persist *p, const void *addr, size_t len)
{
	if (len == 0)
		return;
	persist_count_only(p, addr, len);
	switch (p->backend) {
	case PERSIST_PMEM:
		if (!p->auto_flush)
			pmem_flush(addr, len);
		break;
	case PERSIST_FILE:
		persist_note(p, addr, len);
		break;
	default:
		break;
	}
}

/*
 * persist_pace -- a private mapping's write-back of many pages: write
 * [start, end) of the file out now and wait for it, so that no more than
 * PERSIST_PACE bytes of it are queued at the device at once.  Why: a
 * checkpoint's pages, all queued by its final fdatasync, sat ahead of
 * every commit's synced record write (a device cache flush waits for the
 * writes queued before it): under MSET at pipeline 16 a checkpoint wrote
 * ~200 MB and commits waited up to 400 ms.  With 4 MiB paces and 1 MiB
 * writes SET at pipeline 16 had p99 23-24 ms, with 1 MiB and 256 KiB
 * 13-18 ms, the checkpoints taking 1.0-1.4 s for four either way.  Not a
 * persistence step (the final fdatasync still makes the pages durable):
 * a pace of its timing.
 */
static void persist_pace(struct persist *p, uintptr_t start, uintptr_t end)
{
	if (persist_failed(p))
		return;
	if (sync_file_range(p->fd, (off64_t)(start - (uintptr_t)p->base),
			    (off64_t)(end - start),
			    SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE |
			    SYNC_FILE_RANGE_WAIT_AFTER))
		persist_fail(p, -errno);
}

/* A write-back of many pages: its bounce buffer (what it copies the
 * pages to before the gate), and what it wrote since its last pace. */
struct persist_paced {
	char *bounce;
	size_t bounce_len;
	uintptr_t from;               /* first byte written, or 0 */
	size_t bytes;
};

/*
 * persist_write_run -- a private mapping: write a run of marked pages
 * [rs, re) to the file, in pieces (a write holds the file's lock, which
 * a commit's record write needs too), pacing every PERSIST_PACE bytes.
 */
static void persist_write_run(struct persist *p, uintptr_t rs, uintptr_t re,
			      struct persist_paced *pc)
{
	persist_count_only(p, (const void *)rs, re - rs);
	for (uintptr_t c = rs, ce; c < re; c = ce) {
		const char *src = (const char *)c;
		ce = re - c > pc->bounce_len ? c + pc->bounce_len : re;
		if (p->gate) {
			/* What is written is this copy, once every commit
			 * it may hold a change of is durable. */
			memcpy(pc->bounce, src, ce - c);
			src = pc->bounce;
			p->gate(p->gate_arg);
		}
		for (uintptr_t a = c, b; a < ce; a = b) {
			b = ce - a > PERSIST_PIECE ? a + PERSIST_PIECE : ce;
			persist_pwrite_from(p, src + (a - c),
					    (off_t)(a - (uintptr_t)p->base),
					    b - a);
			if (!persist_bulk_hi || a < persist_bulk_lo)
				persist_bulk_lo = a;
			if (b > persist_bulk_hi)
				persist_bulk_hi = b;
			if (!pc->from)
				pc->from = a;
			pc->bytes += b - a;
			if (pc->bytes >= PERSIST_PACE) {
				persist_pace(p, pc->from, b);
				pc->from = 0, pc->bytes = 0;
			}
		}
	}
}

/*
 * persist_flush_marked_via -- persist_flush_marked (p->marks set), with
 * pc's bounce buffer as the copy a gated write-back writes; the bytes of
 * the pages it took.  The bits are taken (exchanged
 * for zero, acquire: paired with persist_mark's release) before their
 * pages are copied, so a change marked meanwhile is either in the copy or
 * still marked.  A private mapping writes each run of marked pages to the
 * page cache now and owes one fdatasync to the next fence; the disk model
 * shows them to the hook as flushes.
 */
static size_t persist_flush_marked_via(struct persist *p, const void *addr,
				       size_t len, struct persist_paced *pc)
{
	uintptr_t start, end, base = (uintptr_t)p->base;
	size_t pg, last, run = 0, taken = 0;

	if (!len)
		return 0;
	persist_pages(addr, len, &start, &end);
	pg = (start - base) / PERSIST_PAGE;
	last = (end - base) / PERSIST_PAGE;
	if (last > p->marks_pages)
		last = p->marks_pages;
	for (; pg <= last; pg++) {
		bool marked = false;
		if (pg < last) {
			_Atomic uint64_t *w = &p->marks[pg / 64];
			uint64_t bit = 1ull << (pg % 64);
			if (!atomic_load_explicit(w, memory_order_relaxed)) {
				/* a clean word: skip to its end */
				if (run == 0 && pg % 64 == 0 && pg + 64 <= last) {
					pg += 63;
					continue;
				}
			} else {
				marked = atomic_fetch_and_explicit(w, ~bit,
						memory_order_acquire) & bit;
			}
		}
		if (marked) {
			run++;
			continue;
		}
		if (run) {
			uintptr_t rs = base + (pg - run) * PERSIST_PAGE;
			uintptr_t re = base + pg * PERSIST_PAGE;
			taken += re - rs;
			if (p->private_map) {
				persist_write_run(p, rs, re, pc);
			} else {
				if (p->gate)
					p->gate(p->gate_arg);
				persist_flush(p, (void *)rs, re - rs);
			}
			run = 0;
		}
	}
	return taken;
}

/* persist_flush_marked -- see persist.h. */
void persist_flush_marked(struct persist *p, const void *addr, size_t len)
{
	struct persist_paced pc = { p->bounce, PERSIST_BOUNCE, 0, 0 };

	if (!p->marks) {
		persist_flush(p, addr, len);
		return;
	}
	(void)persist_flush_marked_via(p, addr, len, &pc);
}

/* persist_share_begin -- see persist.h. */
void persist_share_begin(struct persist_share *sh, const void *addr,
			 size_t len)
{
	uintptr_t start, end;

	persist_pages(addr, len, &start, &end);
	sh->end = end;
	atomic_store(&sh->next, start);
}

/*
 * persist_share_work -- see persist.h.  A chunk is the owner's bounce
 * buffer's size, so the owner writes (and gates) as it did alone; the
 * helper's bounce buffer is the layer's second one, lent to one helper at
 * a time (others take no share: they only wait, as before).
 */
ssize_t persist_share_work(struct persist *p, struct persist_share *sh,
			   bool owner)
{
	struct persist_paced pc = { p->bounce, PERSIST_BOUNCE, 0, 0 };
	bool lent = false;
	size_t taken = 0;
	uintptr_t c;

	if (!p->marks) {
		/* the page cache's dirty pages: the owner's alone */
		if (owner) {
			c = atomic_exchange(&sh->next, sh->end);
			if (c < sh->end)
				persist_flush(p, (void *)c, sh->end - c);
		}
		return 0;
	}
	if (!owner && p->private_map && p->gate) {
		if (atomic_flag_test_and_set(&p->helper_busy))
			return 0;
		if (!p->helper_bounce &&
		    !(p->helper_bounce = malloc(PERSIST_BOUNCE))) {
			atomic_flag_clear(&p->helper_busy);
			return -ENOMEM;
		}
		pc.bounce = p->helper_bounce;
		lent = true;
	}
	while ((c = atomic_fetch_add(&sh->next, PERSIST_BOUNCE)) < sh->end)
		taken += persist_flush_marked_via(p, (void *)c,
						  sh->end - c < PERSIST_BOUNCE ?
						  sh->end - c : PERSIST_BOUNCE,
						  &pc);
	if (lent)
		atomic_flag_clear(&p->helper_busy);
	return (ssize_t)taken;
}

/*
 * persist_sync_file -- see persist.h.  fsync, not fdatasync: the length
 * is the point.  The crash simulator is not told: lengths are not
 * modelled (an image is its pool's maximum), and a sync here makes
 * nothing else durable that a fence of the caller must not also order.
 */
int persist_sync_file(struct persist *p, size_t len)
{
	if (len > p->len)
		__atomic_store_n(&p->len, len, __ATOMIC_RELEASE);
	if (p->fd < 0 || p->backend == PERSIST_MEMORY)
		return 0;
	persist_bump(&persist_my_slot(p)->syncs, 1);
	if (fsync(p->fd) != 0)
		return errno ? -errno : -EIO;
	return 0;
}

/* persist_failed -- the sticky write-back error, or 0. */
int persist_failed(const struct persist *p)
{
	return atomic_load((atomic_int *)&p->failed);
}

/* persist_fence -- order every earlier flush of this thread. */
void persist_fence(struct persist *p)
{
	persist_bump(&persist_my_slot(p)->fences, 1);
	if (p->hook)
		p->hook->fence(p->hook->ctx);
	switch (p->backend) {
	case PERSIST_PMEM:
		/* With auto flush the stores are persistent once visible;
		 * the fence still orders them (and non-temporal stores). */
		pmem_drain();
		break;
	case PERSIST_FILE:
		persist_sync_pending(p);
		break;
	default:
		break;
	}
}

/* persist_write -- bytes into the pool, durable by the next fence. */
void persist_write(struct persist *p, void *dst, const void *src, size_t len)
{
	if (len == 0)
		return;
	memcpy(dst, src, len);
	persist_write_mapped(p, dst, len);
}

/* persist_write_mapped -- see persist.h. */
void persist_write_mapped(struct persist *p, const void *addr, size_t len)
{
	if (len == 0)
		return;
	if (p->backend == PERSIST_FILE && p->fd >= 0) {
		struct persist_slot *s = persist_my_slot(p);
		struct iovec v = { (void *)addr, len };
		off_t off = (off_t)((const char *)addr - p->base);
		ssize_t n;

		persist_bump(&s->syncs, 1);
		/*
		 * The private mapping does not see the file's page cache
		 * once a page is its own: the bytes are written from it.
		 * RWF_DSYNC makes just this range durable before the call
		 * returns (not the checkpoint's pages written meanwhile).  A
		 * short or failed write is a sticky failure.
		 */
		n = (ssize_t)len;
		if (!persist_failed(p))   /* frozen: see persist_pwrite */
			do
				n = pwritev2(p->fd, &v, 1, off, RWF_DSYNC);
			while (n < 0 && errno == EINTR);
		if (n != (ssize_t)len)
			persist_fail(p, n < 0 ? -errno : -EIO);
		persist_count_only(p, addr, len);
		return;
	}
	persist_flush(p, addr, len);
}

/* persist_range -- flush and fence one range. */
void persist_range(struct persist *p, const void *addr, size_t len)
{
	persist_flush(p, addr, len);
	persist_fence(p);
}

/*
 * persist_memcpy -- copy into the pool, then flush the destination.  On
 * persistent memory libpmem copies big ranges with non-temporal stores,
 * which need no flush afterwards (the next fence orders them as well).
 */
void persist_memcpy(struct persist *p, void *dst, const void *src, size_t len)
{
	if (len && p->backend == PERSIST_PMEM && !p->auto_flush) {
		pmem_memcpy_nodrain(dst, src, len);
		persist_count_only(p, dst, len);
		return;
	}
	memcpy(dst, src, len);
	persist_flush(p, dst, len);
}

/* persist_memset -- fill pool memory, then flush it (as memcpy). */
void persist_memset(struct persist *p, void *dst, int c, size_t len)
{
	if (len && p->backend == PERSIST_PMEM && !p->auto_flush) {
		pmem_memset_nodrain(dst, c, len);
		persist_count_only(p, dst, len);
		return;
	}
	memset(dst, c, len);
	persist_flush(p, dst, len);
}

/* persist_store64 -- an 8-byte store, atomic on failure, then its flush. */
void persist_store64(struct persist *p, uint64_t *dst, uint64_t value)
{
	__atomic_store_n(dst, value, __ATOMIC_RELEASE);
	persist_flush(p, dst, sizeof(*dst));
}

/* persist_set_hook -- install or remove the observer. */
void persist_set_hook(struct persist *p, const struct persist_hook *hook)
{
	p->hook = hook;
}

/* persist_get_stats -- sum the threads' counters. */
void persist_get_stats(const struct persist *p, struct persist_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < PERSIST_SLOTS; i++) {
		const struct persist_slot *s = &p->slot[i];
		st->lines_flushed += __atomic_load_n(&s->lines_flushed,
						     __ATOMIC_RELAXED);
		st->fences += __atomic_load_n(&s->fences, __ATOMIC_RELAXED);
		st->bytes_flushed += __atomic_load_n(&s->bytes_flushed,
						     __ATOMIC_RELAXED);
		st->syncs += __atomic_load_n(&s->syncs, __ATOMIC_RELAXED);
	}
}
