/*
 * persist.c -- the persistence layer (see persist.h): flush, fence and
 * copy-and-flush over libpmem or msync, with counters and a hook.
 *
 * The counters and the hook are the reason this file exists as a choke
 * point: write amplification and fences per operation are read from here,
 * and the crash simulator learns of every flush and fence from the hook.
 *
 * File backend: a thread's flushes are noted as page ranges in a small
 * thread-local list (merged when they touch) and synced at its next fence
 * with one device flush however many ranges there are (the others are
 * written first, then the last is msynced).  A list that fills up syncs
 * its oldest range early, which is always allowed: durability may come
 * sooner.
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

/* A page range this thread flushed on the file backend, not synced yet. */
struct persist_pending {
	struct persist *p;
	uintptr_t start, end;             /* page aligned */
};

static _Thread_local struct persist_pending persist_pend[PERSIST_PENDING_MAX];
static _Thread_local unsigned persist_npend;
static _Thread_local unsigned persist_tid_plus1;  /* 0: not yet assigned */
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

/* persist_tracks_dirty -- the page cache knows what is dirty. */
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

/* persist_sync -- msync a page range now; remember a failure. */
static void persist_sync(struct persist *p, uintptr_t start, uintptr_t end)
{
	persist_bump(&persist_my_slot(p)->syncs, 1);
	/*
	 * msync is synchronous: the range is durable on return.  A failure
	 * means the kernel may have lost the pages (EIO): remembered, and
	 * reported by every later commit (persist_failed).
	 */
	if (msync((void *)start, end - start, MS_SYNC)) {
		int expected = 0;
		atomic_compare_exchange_strong(&p->failed, &expected,
					       errno ? -errno : -EIO);
	}
}

/*
 * persist_write_range -- start (wait false) or finish (wait true) writing
 * a page range of the mapping to the file, with no device flush.  Why it
 * is enough: the msync that ends a fence writes its own range and then
 * flushes the device's cache, which makes every write completed before it
 * durable; and the fsync it amounts to writes the file's dirty metadata
 * whatever the range (ext4, with or without a journal: the conversions of
 * the other ranges' unwritten extents, which complete before their pages'
 * write-back does, so before the wait here returns).  A failure is
 * remembered as a failed msync is.
 */
static void persist_write_range(struct persist *p, uintptr_t start,
				uintptr_t end, bool wait)
{
	unsigned flags = wait ? SYNC_FILE_RANGE_WAIT_BEFORE |
				SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER :
				SYNC_FILE_RANGE_WRITE;

	if (sync_file_range(p->fd, (off64_t)(start - (uintptr_t)p->base),
			    (off64_t)(end - start), flags)) {
		int expected = 0;
		atomic_compare_exchange_strong(&p->failed, &expected,
					       errno ? -errno : -EIO);
	}
}

/*
 * persist_sync_pending -- make this thread's pending ranges of p durable
 * with one device flush: the others are written first (all started, then
 * each waited for), and the last is msynced, which flushes.  A flush per
 * range made a fence over several scattered pages (a run's bitmap and its
 * header, eight runs made at once) cost a disk flush each.
 */
static void persist_sync_pending(struct persist *p)
{
	unsigned k = 0, last = PERSIST_PENDING_MAX, n = 0;

	for (unsigned i = 0; i < persist_npend; i++)
		if (persist_pend[i].p == p)
			last = i, n++;
	if (n > 1 && p->fd >= 0) {
		for (int wait = 0; wait < 2; wait++)
			for (unsigned i = 0; i < last; i++)
				if (persist_pend[i].p == p)
					persist_write_range(p,
						persist_pend[i].start,
						persist_pend[i].end, wait);
	}
	for (unsigned i = 0; i < persist_npend; i++) {
		struct persist_pending *q = &persist_pend[i];
		if (q->p != p)
			persist_pend[k++] = *q;
		else if (i == last || p->fd < 0)
			persist_sync(p, q->start, q->end);
	}
	persist_npend = k;
}

/* persist_note -- add a page range to this thread's pending list. */
static void persist_note(struct persist *p, const void *addr, size_t len)
{
	uintptr_t start, end;

	persist_pages(addr, len, &start, &end);

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
		/* Full: sync the oldest now (durable early is allowed). */
		persist_sync(persist_pend[0].p, persist_pend[0].start,
			     persist_pend[0].end);
		memmove(persist_pend, persist_pend + 1,
			(PERSIST_PENDING_MAX - 1) * sizeof(persist_pend[0]));
		persist_npend--;
	}
	persist_pend[persist_npend++] = (struct persist_pending){ p, start,
								 end };
}

/* persist_flush -- write back the lines of a range, unordered. */
void persist_flush(struct persist *p, const void *addr, size_t len)
{
	struct persist_slot *s;
	uintptr_t first, end;

	if (len == 0)
		return;
	s = persist_my_slot(p);
	first = (uintptr_t)addr & ~(uintptr_t)63;
	end = (uintptr_t)addr + len;
	persist_bump(&s->lines_flushed, (end - first + 63) / 64);
	persist_bump(&s->bytes_flushed, len);
	if (p->hook)
		p->hook->flush(p->hook->ctx,
			       (uint64_t)((const char *)addr - p->base), len);
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
	if (p->backend == PERSIST_FILE && p->fd >= 0) {
		struct persist_slot *s = persist_my_slot(p);
		uintptr_t first = (uintptr_t)dst & ~(uintptr_t)63;
		struct iovec v = { (void *)src, len };
		off_t off = (off_t)((char *)dst - p->base);
		ssize_t n;

		persist_bump(&s->lines_flushed,
			     ((uintptr_t)dst + len - first + 63) / 64);
		persist_bump(&s->bytes_flushed, len);
		persist_bump(&s->syncs, 1);
		/*
		 * The page cache is shared with the mapping, so readers of
		 * the pool see the bytes at once; RWF_DSYNC makes just this
		 * range durable before the call returns.  A short or failed
		 * write is a sticky failure, as a failed msync is.
		 */
		do
			n = pwritev2(p->fd, &v, 1, off, RWF_DSYNC);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)len) {
			int expected = 0;
			atomic_compare_exchange_strong(&p->failed, &expected,
						       n < 0 && errno ? -errno
						       : -EIO);
			memcpy(dst, src, len);   /* as if written */
		}
		if (p->hook)
			p->hook->flush(p->hook->ctx, (uint64_t)off, len);
		return;
	}
	memcpy(dst, src, len);
	persist_flush(p, dst, len);
}

/* persist_range -- flush and fence one range. */
void persist_range(struct persist *p, const void *addr, size_t len)
{
	persist_flush(p, addr, len);
	persist_fence(p);
}

/* persist_count_only -- account for and show a write-back that the
 * caller does itself (libpmem's non-temporal copies). */
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
