/*
 * pool.h -- the pool file: create, validate, lock, map, close.
 *
 * A pool is one file holding the layout of layout.h.  pool_open() refuses,
 * with its own error code and a message naming the file and the problem,
 * a file that is not a pool, of another layout version, with unknown
 * incompatible features, with a bad header checksum, shorter than its
 * header says, with inconsistent geometry, or locked by another process;
 * it reads the header with pread() and checks all of this before mapping,
 * so a refused file is never modified.
 *
 * The file is locked with flock(LOCK_EX) for as long as it is open, so two
 * processes (or two handles in one process) never open it at once.  The
 * mapping is placed at the start of a larger PROT_NONE reservation, so a
 * later growth of the pool can map more of the file without moving the
 * base address.  Pointers in the pool are offsets; pool_ptr()/pool_off()
 * convert.
 *
 * This layer knows nothing of the heap inside: it hands the mapping and
 * the persistence layer to heap.c, which recovers and rebuilds.
 */
#ifndef PKV_POOL_H
#define PKV_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "layout.h"
#include "persist.h"
#include "errmsg.h"

struct pool {
	char *base;                   /* mapping of the whole file */
	size_t size;                  /* bytes in use: hdr.pool_size, or
					 more once grown (atomic) */
	size_t map_len;               /* bytes mapped (size, page rounded) */
	bool map_sync;                /* mapped with MAP_SYNC (DAX) */
	int fd;                       /* locked file, or -1 for a memory pool */
	char *path;                   /* as given to create/open, or NULL */
	void *reserve;                /* start of the address space reservation */
	size_t reserve_len;           /* its length, mapping included */
	bool was_clean;               /* state.clean_shutdown when opened */
	struct persist persist;       /* the one way to durability */
	const struct pool_hdr *hdr;   /* == base */
	struct pool_state *state;     /* base + POOL_STATE_OFF */
};

/* Geometry chosen at create; zero fields take the defaults. */
struct pool_params {
	uint32_t nlanes;              /* LOG_DEFAULT_LANES */
	uint32_t log_size;            /* LOG_DEFAULT_SIZE */
	uint32_t disk_nlanes;         /* when the file backend is chosen: */
	uint32_t disk_log_size;       /* these instead (0: the same) */
	uint64_t max_size;            /* the most the pool may grow to
					 (0 or less than its size: it
					 keeps its size) */
	uint64_t initial_size;        /* pool_format_memory: bytes of the
					 image in the heap at first (0:
					 all); the rest is growth room */
};

/* How to open. */
struct pool_open_opts {
	enum persist_backend backend; /* PERSIST_AUTO by default */
};

/*
 * pool_create -- create a new pool file of `size` bytes at path (which must
 * not exist), write and persist its header and empty heap, and open it.
 * Returns 0, -errno, PKV_EEXIST, or PKV_EINVAL (size too small or too big).
 */
int pool_create(const char *path, uint64_t size, const struct pool_params *pp,
		const struct pool_open_opts *opts, struct pool **poolp,
		struct errmsg *em);

/*
 * pool_open -- validate, lock and map an existing pool.  Nothing in the
 * file changes when this fails.  Returns 0, -errno, PKV_ENOTPOOL,
 * PKV_EVERSION, PKV_ECHECKSUM, PKV_ETRUNCATED, PKV_ECORRUPT or PKV_EBUSY.
 */
int pool_open(const char *path, const struct pool_open_opts *opts,
	      struct pool **poolp, struct errmsg *em);

/*
 * pool_open_memory -- treat [buf, buf+len) as a pool image (tests and the
 * crash simulator): validated like a file, never locked or unmapped, and
 * made "durable" by the memory backend.  The caller keeps ownership of buf.
 */
int pool_open_memory(void *buf, size_t len, struct pool **poolp,
		     struct errmsg *em);

/*
 * pool_provide -- make sure the file has space for [off, off+len): pool
 * files are sparse, and a chunk gets its space when the heap first uses
 * it.  Returns 0, or -errno (-ENOSPC: the file system is full, which the
 * heap reports as a full pool, losing nothing).
 */
int pool_provide(struct pool *pool, uint64_t off, uint64_t len);

/*
 * pool_heap_chunks -- chunks in the pool's heap now (hdr.nchunks for a
 * pool made before growth).  pool_max_size -- bytes the pool may grow to.
 */
uint64_t pool_heap_chunks(const struct pool *pool);
uint64_t pool_max_size(const struct pool *pool);

/*
 * pool_grow -- give the heap `heap_chunks` chunks (no-op when it has as
 * many): lengthen the file (sparse), map the new part in place, make the
 * length durable, then the state word.  When it returns 0 the new chunks
 * are durably part of the pool; the caller (the heap) then lets them be
 * used.  Returns 0, PKV_EINVAL (past the pool's maximum, or a pool that
 * cannot grow), PKV_EFULL (the file system refused), or -errno.
 */
int pool_grow(struct pool *pool, uint64_t heap_chunks, struct errmsg *em);

/*
 * pool_shrink -- the heap keeps only its first `heap_chunks` chunks (the
 * caller made sure the others are free, with zero headers): the state
 * word durably first, then the file is shortened (not below its size at
 * create) and the end of the mapping given back.  Returns 0 or -errno.
 */
int pool_shrink(struct pool *pool, uint64_t heap_chunks, struct errmsg *em);

/*
 * pool_image_size -- bytes a pool with this header page uses (its size
 * at create, or more once grown); only after pool_check_header passed.
 */
uint64_t pool_image_size(const void *hdrbuf);

/*
 * pool_format_memory -- write a fresh pool layout into buf (len bytes) as
 * pool_create does into a file; for tests.  len is the pool's maximum;
 * pp->initial_size (if set) what its heap starts with.  Returns 0 or
 * PKV_EINVAL.
 */
int pool_format_memory(void *buf, size_t len, const struct pool_params *pp,
		       struct errmsg *em);

/*
 * pool_check_header -- validate a header image of `file_size` bytes of
 * file (the first min(file_size, POOL_HDR_SIZE) are at hdr); the checks
 * pool_open makes, usable by tools.  Returns 0 or one of pool_open's codes.
 */
int pool_check_header(const void *hdr, uint64_t file_size, const char *name,
		      struct errmsg *em);

/*
 * pool_close -- mark a clean shutdown (durably), unmap and unlock.  The
 * heap above must have been closed first.
 */
void pool_close(struct pool *pool);

/*
 * pool_mark_open -- durably clear the clean-shutdown flag; the heap calls
 * it once recovery succeeded, before it changes anything else.
 */
void pool_mark_open(struct pool *pool);

/*
 * pool_release -- unmap and unlock without writing anything: for a pool
 * whose heap failed to open, so it is not declared cleanly shut down.
 */
void pool_release(struct pool *pool);

/* pool_ptr -- address of pool offset off (off must be inside the pool). */
static inline void *pool_ptr(const struct pool *pool, uint64_t off)
{
	return pool->base + off;
}

/* pool_off -- pool offset of an address inside the pool. */
static inline uint64_t pool_off(const struct pool *pool, const void *p)
{
	return (uint64_t)((const char *)p - pool->base);
}

/* pool_contains -- whether [off, off+len) lies inside the pool. */
static inline bool pool_contains(const struct pool *pool, uint64_t off,
				 uint64_t len)
{
	return off <= pool->size && len <= pool->size - off;
}

#endif /* PKV_POOL_H */
