/*
 * persist.h -- the persistence layer: the one place in pkv that makes
 * stores durable.
 *
 * Every byte that must survive a power failure is made durable through
 * persist_flush() (write the cache lines back, unordered) followed by
 * persist_fence() (wait until every earlier flush of this thread is
 * durable), or persist_memcpy()/persist_memset() (store + flush).  Nothing
 * else in pkv calls libpmem, fdatasync or a flush instruction.  Because
 * this is the only way to durability, the crash simulator (tests/crashsim.c) can
 * see every persistence event through a hook and model what a power
 * failure at any instant would leave behind.
 *
 * Backends:
 *  - PERSIST_PMEM: CPU cache flushes (CLWB/CLFLUSHOPT) and SFENCE through
 *    libpmem; correct on a DAX file system, or on any file (e.g. /dev/shm)
 *    when PMEM_IS_PMEM_FORCE=1 tells us to treat it as persistent memory.
 *    Where the platform puts the CPU caches inside the power-fail domain
 *    (eADR, CXL global persistent flush: libpmem's pmem_has_auto_flush()),
 *    flushes are skipped and only the fences remain, for ordering; the
 *    environment variable PKV_AUTO_FLUSH=0|1 forces either mode.
 *  - PERSIST_FILE: an ordinary file, mapped MAP_PRIVATE, so that only
 *    this layer writes it (pwrite from the mapping, then fdatasync) and a
 *    write-back never write-protects a page.  A flush only notes the
 *    pages of its range; the fence writes the noted pages and syncs once,
 *    so a commit that flushes a few neighbouring ranges costs one sync.
 *    persist_write, for a commit record, is one pwritev2 with RWF_DSYNC
 *    (and a copy into the mapping): one write and one sync of just those
 *    bytes.  Changes made in place after their record is durable are
 *    only marked (persist_mark) and reach the file at the checkpoint
 *    (persist_flush_marked).  The crash simulator's disk model also lets
 *    any changed page reach the disk early, torn at sector size, which a
 *    shared mapping's kernel write-back could do.
 *  - PERSIST_MEMORY: no device at all (in-memory images in tests): flushes
 *    and fences are only counted and shown to the hook.
 * The pool records nothing about the backend: one file opens with either.
 *
 * Counters are kept per thread (a slot per thread, summed when read), so
 * the flush path has no shared atomic: on x86 a locked instruction waits
 * for the flushes before it, which would make every flush a fence.
 */
#ifndef PKV_PERSIST_H
#define PKV_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <sys/types.h>

enum persist_backend {
	PERSIST_AUTO = 0,  /* pmem if the mapping is pmem (or forced), else file */
	PERSIST_PMEM,
	PERSIST_FILE,
	PERSIST_MEMORY,
};

/* What a crash simulator (or a tracer) is told; offsets are pool-relative. */
struct persist_hook {
	void (*flush)(void *ctx, uint64_t off, size_t len);
	void (*fence)(void *ctx);
	void *ctx;
};

struct persist_stats {
	uint64_t lines_flushed;  /* cache lines written back */
	uint64_t fences;         /* ordering points */
	uint64_t bytes_flushed;  /* bytes the callers asked to make durable */
	uint64_t syncs;          /* data syncs (file backend) */
};

#define PERSIST_SLOTS 64       /* counter slots: threads beyond share */

/* One thread's counters, alone on its cache line. */
struct persist_slot {
	uint64_t lines_flushed;
	uint64_t fences;
	uint64_t bytes_flushed;
	uint64_t syncs;
	char pad[64 - 4 * sizeof(uint64_t)];
};

struct persist {
	char *base;                       /* start of the mapped pool */
	size_t len;                       /* bytes mapped */
	enum persist_backend backend;     /* never PERSIST_AUTO once set up */
	const char *why;                  /* a sentence: why this backend */
	bool auto_flush;                  /* pmem: caches are persistent */
	bool disk_model;                  /* memory backend playing a file:
					     persist_tracks_dirty is true
					     (the crash simulator's --disk) */
	int fd;                           /* the mapped file (file backend),
					     or -1 */
	bool private_map;                 /* file backend, mapped MAP_PRIVATE:
					     pages reach the file only by
					     this layer's pwrite */
	_Atomic uint64_t *marks;          /* a bit per page changed in place
					     and not yet written back
					     (persist_mark), or NULL */
	size_t marks_pages;               /* pages the bitmap covers */
	const struct persist_hook *hook;  /* NULL unless a test installs one */
	void (*gate)(void *);             /* persist_set_gate, or NULL */
	void *gate_arg;
	char *bounce;                     /* PERSIST_BOUNCE bytes (gate set,
					     private mapping) */
	char *helper_bounce;              /* the same for a helper of a
					     shared write-back, allocated at
					     its first share */
	atomic_flag helper_busy;          /* a helper holds it */
	atomic_int failed;                /* -errno of the first failed
					     write-back */
	/* a line each (the struct must be allocated 64-aligned: pool.c),
	 * so one thread's counting never writes a line another's does */
	_Alignas(64) struct persist_slot slot[PERSIST_SLOTS];
};

/*
 * persist_failed -- 0, or the -errno of the first write-back that failed
 * (file backend).  Sticky: after an I/O error the kernel may have dropped
 * the data, and later successes do not bring it back, so every durable
 * write of this mapping must from then on report failure.  On the file
 * backend nothing more is written to the file after it: the file stays
 * as a crash at that moment would leave it, which recovery handles.
 */
int persist_failed(const struct persist *p);

/*
 * persist_init -- set up the layer for the mapping [base, base+len).
 * PERSIST_AUTO picks pmem when `is_pmem` is true, file otherwise; the
 * environment variable PKV_PERSIST=pmem|file|memory overrides the choice.
 */
void persist_init(struct persist *p, void *base, size_t len,
		  enum persist_backend backend, int is_pmem);

/*
 * persist_is_pmem -- whether cache flushes alone make [addr, addr+len)
 * durable (a DAX mapping, or PMEM_IS_PMEM_FORCE=1).
 */
int persist_is_pmem(const void *addr, size_t len);

/* persist_backend_name -- "pmem", "file" or "memory". */
const char *persist_backend_name(enum persist_backend b);

/*
 * persist_tracks_dirty -- whether the backend is a disk that keeps track
 * of the pages changed in place (persist_mark): then a checkpoint writes
 * back the marked pages of a whole region (persist_flush_marked) instead
 * of listing the words each record changed, and a commit's cost is its
 * record's write and sync.
 */
bool persist_tracks_dirty(const struct persist *p);

/*
 * persist_mark -- [addr, addr + len) was changed in place by a commit
 * whose record is durable: its pages reach the media at the next
 * persist_flush_marked over them (a checkpoint), not at once.  Where the
 * layer keeps its own record of changed pages (a private file mapping,
 * the crash simulator's disk model) it notes the pages; elsewhere nothing.
 */
void persist_mark(struct persist *p, const void *addr, size_t len);

/*
 * persist_flush_marked -- start writing back every page of [addr, addr +
 * len) marked since it was last written back; durable after the next
 * fence of this thread.  Only on a backend that tracks dirty pages
 * (persist_tracks_dirty); with no bitmap of its own the page cache knows
 * the dirty pages and the whole range is flushed.
 */
void persist_flush_marked(struct persist *p, const void *addr, size_t len);

/*
 * struct persist_share -- a write-back of the marked pages of one range
 * that several threads may take part in: an owner (a checkpoint) and
 * helpers (commits waiting for it, which lend it their CPU).  The range
 * is cut into chunks, each taken by one thread, so a page never has two
 * writers at once: two could land out of order, an older copy over a
 * newer one whose bit the newer one's writer had already cleared.
 */
struct persist_share {
	uintptr_t end;                    /* the range's end (page aligned) */
	_Atomic uintptr_t next;           /* the first byte no thread took */
};

/* persist_share_begin -- the shared write-back of [addr, addr + len)
 * starts; nothing is taken yet. */
void persist_share_begin(struct persist_share *sh, const void *addr,
			 size_t len);

/*
 * persist_share_work -- take chunks of a shared write-back until none is
 * left, writing back each one's marked pages as persist_flush_marked
 * does; durable after the next fence of this thread.  The owner takes
 * part always (with no bitmap of marked pages, it flushes the whole rest
 * of the range); a helper only where the layer has a bitmap and its
 * second bounce buffer is free.  Returns the bytes of the pages taken,
 * or -ENOMEM (a helper's bounce buffer; nothing taken).  All of them are
 * written once every participant has returned.
 */
ssize_t persist_share_work(struct persist *p, struct persist_share *sh,
			   bool owner);

/*
 * persist_set_private -- the file backend's mapping of [base, base +
 * len) was just replaced by a MAP_PRIVATE one of the same file (pool.c):
 * from here on the layer writes pages to the file itself (flushed ranges
 * at a fence, marked pages at a checkpoint, each with pwrite, then one
 * fdatasync), so a write-back never write-protects a page and the next
 * store never faults for it.  `reslen`: the most the mapping may grow
 * to.  Returns 0 or -ENOMEM.
 */
int persist_set_private(struct persist *p, size_t reslen);

/*
 * persist_set_disk_model -- a memory image plays the file backend for the
 * crash simulator (persist_tracks_dirty true, its own bitmap of marked
 * pages, so a change that was not marked is lost as it would be on a
 * private mapping).  Returns 0 or -ENOMEM.
 */
int persist_set_disk_model(struct persist *p);

/*
 * persist_flush -- start writing back the lines covering [addr, addr+len);
 * durable only after the next persist_fence() of the same thread.
 */
void persist_flush(struct persist *p, const void *addr, size_t len);

/*
 * persist_fence -- wait until every flush this thread issued before it is
 * durable.  This is the only ordering point pkv has.
 */
void persist_fence(struct persist *p);

/* persist_range -- flush and fence: [addr, addr+len) is durable on return. */
void persist_range(struct persist *p, const void *addr, size_t len);

/*
 * persist_write -- store len bytes from src at dst (pool memory) and make
 * them durable no later than the next fence of this thread: a memcpy and
 * a flush, or on the file backend one write and one sync of just that
 * range (durable on return).  For commit records.
 */
void persist_write(struct persist *p, void *dst, const void *src, size_t len);

/*
 * persist_write_mapped -- persist_write of bytes already in place: the
 * pipelined commits' syncer writing records the committer copied into
 * their ring (commitq.c).
 */
void persist_write_mapped(struct persist *p, const void *addr, size_t len);

/*
 * persist_set_gate -- a private mapping or the disk model: call gate(arg)
 * before each checkpoint write-back of marked pages, after their content
 * is taken (into a bounce buffer on the file backend, whose copy is what
 * is written): it returns once every commit whose changes the content may
 * hold is durable (pipelined commits apply before they are).  Returns 0
 * or -ENOMEM.
 */
int persist_set_gate(struct persist *p, void (*gate)(void *arg), void *arg);

/* persist_release -- free what the layer allocated (the page bitmap). */
void persist_release(struct persist *p);

/* persist_set_fd -- the file behind the mapping (file backend). */
void persist_set_fd(struct persist *p, int fd);

/*
 * persist_map_pages -- [addr, addr + len) of the file is newly mapped
 * (at open, or a pool grew): on the file backend, faults there bring in
 * single pages, so a store dirties one page for the write-back, not a
 * large folio.  Other backends: nothing.
 */
void persist_map_pages(struct persist *p, void *addr, size_t len);

/* persist_reads_file -- whether the pool is a file read through the page
 * cache (the file backend with its file), where persist_prefetch and
 * persist_populate act: not pmem, not an image in memory. */
bool persist_reads_file(const struct persist *p);

/*
 * persist_prefetch -- [addr, addr + len) will be read or written soon:
 * on the file backend, start reading its pages that are not cached,
 * without waiting.  A hint, not a persistence step: nothing is written.
 * Other backends: nothing (their mapping is the memory itself).
 */
void persist_prefetch(struct persist *p, const void *addr, size_t len);

/* persist_maps_file -- whether the pool is a mapped file (pmem or the
 * file backend), where persist_populate acts: not an image in memory. */
bool persist_maps_file(const struct persist *p);

/*
 * persist_populate -- [addr, addr + len) is about to be written: map its
 * pages writable now, in one call, instead of a fault per page at the
 * first store; on the file backend, reading those not cached (best
 * started with persist_prefetch).  There the pages count as dirty from
 * here on, so give only pages that will be written.  A hint: nothing is
 * written that was not there.  An image in memory: nothing.
 */
void persist_populate(struct persist *p, void *addr, size_t len);

/*
 * persist_sync_file -- the mapping now covers len bytes (a pool grew):
 * make the file's length and allocation durable (fsync of the file
 * behind it; nothing for an image in memory).  Returns 0 or -errno.
 */
int persist_sync_file(struct persist *p, size_t len);

/* persist_memcpy -- copy into the pool and flush, without a fence. */
void persist_memcpy(struct persist *p, void *dst, const void *src, size_t len);

/* persist_memset -- fill pool memory and flush, without a fence. */
void persist_memset(struct persist *p, void *dst, int c, size_t len);

/* persist_store64 -- one 8-byte store (atomic on failure) and its flush. */
void persist_store64(struct persist *p, uint64_t *dst, uint64_t value);

/* persist_set_hook -- install (or, with NULL, remove) an observer. */
void persist_set_hook(struct persist *p, const struct persist_hook *hook);

/* persist_get_stats -- read the counters (the sum over threads). */
void persist_get_stats(const struct persist *p, struct persist_stats *st);

#endif /* PKV_PERSIST_H */
