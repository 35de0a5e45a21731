/*
 * persist.c -- the persistence layer (see persist.h): flush, fence and
 * copy-and-flush over libpmem or msync, with counters and a hook.
 *
 * The counters and the hook are the reason this file exists as a choke
 * point: write amplification and fences per operation are read from here,
 * and the crash simulator learns of every flush and fence from the hook.
 */
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <libpmem.h>

#include "persist.h"

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

/* persist_init -- set up the layer for one mapping; see persist.h. */
void persist_init(struct persist *p, void *base, size_t len,
		  enum persist_backend backend, int is_pmem)
{
	enum persist_backend env = persist_backend_from_env();

	memset(p, 0, sizeof(*p));
	p->base = base;
	p->len = len;
	/* A memory image has no device behind it: never flush it for real. */
	if (backend != PERSIST_MEMORY && env != PERSIST_AUTO)
		backend = env;
	if (backend == PERSIST_AUTO)
		backend = is_pmem ? PERSIST_PMEM : PERSIST_FILE;
	p->backend = backend;
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

/* persist_count -- account for a flush of [addr, addr+len). */
static inline void persist_count(struct persist *p, const void *addr,
				 size_t len)
{
	uintptr_t first = (uintptr_t)addr & ~(uintptr_t)63;
	uintptr_t end = (uintptr_t)addr + len;
	uint64_t lines = (end - first + 63) / 64;

	atomic_fetch_add_explicit(&p->lines_flushed, lines,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&p->bytes_flushed, len, memory_order_relaxed);
}

/* persist_flush -- write back the lines of a range, unordered. */
void persist_flush(struct persist *p, const void *addr, size_t len)
{
	if (len == 0)
		return;
	persist_count(p, addr, len);
	if (p->hook)
		p->hook->flush(p->hook->ctx,
			       (uint64_t)((const char *)addr - p->base), len);
	switch (p->backend) {
	case PERSIST_PMEM:
		pmem_flush(addr, len);
		break;
	case PERSIST_FILE:
		/*
		 * msync is synchronous: the range is durable on return, so
		 * the fence that follows has nothing to wait for.  pmem_msync
		 * aligns the range to pages.  A failure means the kernel may
		 * have lost the pages (EIO): remembered, and reported by every
		 * later commit (persist_failed).
		 */
		if (pmem_msync(addr, len)) {
			int expected = 0;
			atomic_compare_exchange_strong(&p->failed, &expected,
						       errno ? -errno : -EIO);
		}
		break;
	default:
		break;
	}
}

/* persist_failed -- the sticky write-back error, or 0. */
int persist_failed(const struct persist *p)
{
	return atomic_load((atomic_int *)&p->failed);
}

/* persist_fence -- order every earlier flush of this thread. */
void persist_fence(struct persist *p)
{
	atomic_fetch_add_explicit(&p->fences, 1, memory_order_relaxed);
	if (p->hook)
		p->hook->fence(p->hook->ctx);
	if (p->backend == PERSIST_PMEM)
		pmem_drain();
}

/* persist_range -- flush and fence one range. */
void persist_range(struct persist *p, const void *addr, size_t len)
{
	persist_flush(p, addr, len);
	persist_fence(p);
}

/* persist_memcpy -- copy into the pool, then flush the destination. */
void persist_memcpy(struct persist *p, void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	persist_flush(p, dst, len);
}

/* persist_memset -- fill pool memory, then flush it. */
void persist_memset(struct persist *p, void *dst, int c, size_t len)
{
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

/* persist_get_stats -- read the counters. */
void persist_get_stats(const struct persist *p, struct persist_stats *st)
{
	struct persist *q = (struct persist *)p;
	st->lines_flushed = atomic_load_explicit(&q->lines_flushed,
						 memory_order_relaxed);
	st->fences = atomic_load_explicit(&q->fences, memory_order_relaxed);
	st->bytes_flushed = atomic_load_explicit(&q->bytes_flushed,
						 memory_order_relaxed);
}
