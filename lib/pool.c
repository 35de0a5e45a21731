/*
 * pool.c -- pool files: create, validate, lock, map and close (pool.h).
 *
 * Validation happens on a copy of the header read with pread(), before
 * anything is mapped writable, so a file that is refused is never
 * modified.  The order of the checks decides which error a damaged file
 * gets: magic (is it ours at all), length (can the header be read), layout
 * version, checksum, features, geometry, and finally the file length
 * against the size the header records.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE          /* fallocate */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "pkv.h"
#include "csum.h"
#include "pool.h"
#include "planted.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

#define POOL_ALIGN 4096u

/* pool_align_up -- round x up to a multiple of POOL_ALIGN. */
static uint64_t pool_align_up(uint64_t x)
{
	return (x + POOL_ALIGN - 1) & ~(uint64_t)(POOL_ALIGN - 1);
}

/*
 * pool_layout -- compute the geometry of a pool of `size` bytes that may
 * grow to pp->max_size (0: it keeps its size); the chunks its heap starts
 * with to *heapp.  The chunk header table is sized for the maximum, so
 * growing never moves a chunk.
 */
static int pool_layout(struct pool_hdr *h, uint64_t *heapp, uint64_t size,
		       const struct pool_params *pp, struct errmsg *em)
{
	uint32_t nlanes = pp && pp->nlanes ? pp->nlanes : LOG_DEFAULT_LANES;
	uint32_t log_size = pp && pp->log_size ? pp->log_size
					       : LOG_DEFAULT_SIZE;
	uint64_t max = pp && pp->max_size > size ? pp->max_size : size;
	uint64_t heap;

	if (nlanes == 0 || nlanes > LOG_MAX_LANES || log_size < LOG_MIN_SIZE ||
	    log_size % CACHELINE || log_size > LOG_MAX_SIZE)
		return err_set(em, PKV_EINVAL,
			       "bad log geometry: %u lanes of %u bytes",
			       nlanes, log_size);
	if (max > POOL_MAX_CAPACITY)
		return err_set(em, PKV_EINVAL,
			       "pool maximum size %llu is too big (at most "
			       "%llu bytes)", (unsigned long long)max,
			       (unsigned long long)POOL_MAX_CAPACITY);
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, POOL_MAGIC, sizeof(POOL_MAGIC));
	h->layout_version = POOL_LAYOUT_VERSION;
	h->hdr_size = POOL_HDR_SIZE;
	h->pool_size = size;
	h->incompat_features = POOL_FEAT_GROW;
	/* Every size class in use takes a chunk at least: small pools get
	 * small chunks, so that they hold what they can. */
	h->chunk_size = size < POOL_SMALL_BELOW ? CHUNK_SIZE_SMALL : CHUNK_SIZE;
	h->lanes_off = POOL_HDR_SIZE;
	h->nlanes = nlanes;
	h->log_size = log_size;
	h->chunk_hdr_off = pool_align_up(h->lanes_off +
					 LANES_AREA_SIZE(nlanes, log_size));
	if (size < h->chunk_hdr_off + POOL_ALIGN + h->chunk_size)
		goto too_small;
	h->nchunks = (max - h->chunk_hdr_off - POOL_ALIGN) /
		     (h->chunk_size + sizeof(uint64_t));
	h->chunks_off = pool_align_up(h->chunk_hdr_off +
				      h->nchunks * sizeof(uint64_t));
	while (h->nchunks &&
	       h->chunks_off + h->nchunks * h->chunk_size > max)
		h->nchunks--;
	heap = size > h->chunks_off ? (size - h->chunks_off) / h->chunk_size
				    : 0;
	if (heap > h->nchunks)
		heap = h->nchunks;
	/* A pool is 8 MiB at least; an image in memory may start smaller
	 * and grow into its maximum (the crash simulator's). */
	if (heap == 0 || max < POOL_MIN_SIZE ||
	    (size < POOL_MIN_SIZE && !(pp && pp->initial_size)))
		goto too_small;
	*heapp = heap;
	if (getrandom(h->uuid, sizeof(h->uuid), 0) != sizeof(h->uuid))
		for (size_t i = 0; i < sizeof(h->uuid); i++)
			h->uuid[i] = (uint8_t)rand();
	h->create_time = (uint64_t)time(NULL);
	h->checksum = csum64(h, POOL_HDR_CSUM_LEN,
			     offsetof(struct pool_hdr, checksum));
	return 0;
too_small:
	return err_set(em, PKV_EINVAL,
		       "pool size %llu is too small (minimum %u bytes, and "
		       "room for a chunk after the metadata of a pool of "
		       "%llu bytes at most)", (unsigned long long)size,
		       POOL_MIN_SIZE, (unsigned long long)max);
}

/* pool_heap_end -- bytes a pool uses with `heap` chunks in its heap. */
static uint64_t pool_heap_end(const struct pool_hdr *h, uint64_t heap)
{
	uint64_t end = h->chunks_off + heap * h->chunk_size;
	return end > h->pool_size ? end : h->pool_size;
}

/* pool_image_size -- see pool.h. */
uint64_t pool_image_size(const void *hdrbuf)
{
	const struct pool_hdr *h = hdrbuf;
	const struct pool_state *st = (const struct pool_state *)
		((const char *)hdrbuf + POOL_STATE_OFF);

	if (!(h->incompat_features & POOL_FEAT_GROW))
		return h->pool_size;
	return pool_heap_end(h, st->heap_chunks);
}

/* pool_check_header -- the checks of pool_open on a header image. */
int pool_check_header(const void *buf, uint64_t file_size, const char *name,
		      struct errmsg *em)
{
	struct pool_hdr h;
	uint64_t have = file_size < sizeof(h) ? file_size : sizeof(h);
	uint64_t cap, size;

	memset(&h, 0, sizeof(h));
	memcpy(&h, buf, have);
	if (file_size == 0)
		return err_set(em, PKV_ENOTPOOL,
			       "%s: not a pkv pool (empty file)", name);
	if (memcmp(h.magic, POOL_MAGIC,
		   have < POOL_MAGIC_LEN ? have : POOL_MAGIC_LEN) != 0)
		return err_set(em, PKV_ENOTPOOL,
			       "%s: not a pkv pool (bad magic)", name);
	if (file_size < POOL_HDR_SIZE)
		return err_set(em, PKV_ETRUNCATED,
			       "%s: pool file truncated: %llu bytes, the header "
			       "alone takes %u", name,
			       (unsigned long long)file_size, POOL_HDR_SIZE);
	if (h.layout_version != POOL_LAYOUT_VERSION)
		return err_set(em, PKV_EVERSION,
			       "%s: pool layout version %u, this library "
			       "supports version %u", name, h.layout_version,
			       POOL_LAYOUT_VERSION);
	if (csum64(&h, POOL_HDR_CSUM_LEN, offsetof(struct pool_hdr, checksum))
	    != h.checksum)
		return err_set(em, PKV_ECHECKSUM,
			       "%s: pool header checksum mismatch (header "
			       "damaged)", name);
	if (h.incompat_features & ~POOL_FEAT_INCOMPAT_KNOWN)
		return err_set(em, PKV_EVERSION,
			       "%s: pool uses unknown features 0x%llx", name,
			       (unsigned long long)h.incompat_features);
	/* The capacity of a growable pool bounds its chunks instead of the
	 * size at create. */
	cap = h.incompat_features & POOL_FEAT_GROW ? POOL_MAX_CAPACITY
						   : h.pool_size;
	if (h.hdr_size != POOL_HDR_SIZE ||
	    (h.chunk_size != CHUNK_SIZE && h.chunk_size != CHUNK_SIZE_SMALL) ||
	    h.lanes_off != POOL_HDR_SIZE || h.nlanes == 0 ||
	    h.nlanes > LOG_MAX_LANES || h.log_size < LOG_MIN_SIZE ||
	    h.log_size > LOG_MAX_SIZE ||
	    h.log_size % CACHELINE || h.nchunks == 0 ||
	    h.nchunks > cap / h.chunk_size ||
	    h.chunk_hdr_off < h.lanes_off +
				LANES_AREA_SIZE(h.nlanes, h.log_size) ||
	    h.chunks_off < h.chunk_hdr_off + h.nchunks * 8 ||
	    h.chunks_off % POOL_ALIGN ||
	    h.chunks_off + h.nchunks * h.chunk_size > cap)
		return err_set(em, PKV_ECORRUPT,
			       "%s: pool header geometry is inconsistent", name);
	if (h.incompat_features & POOL_FEAT_GROW) {
		const struct pool_state *st = (const struct pool_state *)
			((const char *)buf + POOL_STATE_OFF);
		if (st->heap_chunks == 0 || st->heap_chunks > h.nchunks)
			return err_set(em, PKV_ECORRUPT,
				       "%s: pool state says the heap has %llu "
				       "chunks, of at most %llu", name,
				       (unsigned long long)st->heap_chunks,
				       (unsigned long long)h.nchunks);
	}
	size = pool_image_size(buf);
	if (file_size < size)
		return err_set(em, PKV_ETRUNCATED,
			       "%s: pool file truncated: %llu bytes, the header "
			       "says %llu", name, (unsigned long long)file_size,
			       (unsigned long long)size);
	return 0;
}

/* pool_new_handle -- allocate a handle for a mapped pool image. */
static struct pool *pool_new_handle(char *base, size_t size)
{
	/* 64-aligned, as its persistence layer's counters are (persist.h) */
	size_t sz = (sizeof(struct pool) + 63) & ~(size_t)63;
	struct pool *pool = aligned_alloc(64, sz);
	if (!pool)
		return NULL;
	memset(pool, 0, sz);
	pool->base = base;
	pool->size = size;
	pool->fd = -1;
	pool->hdr = (const struct pool_hdr *)base;
	pool->state = (struct pool_state *)(base + POOL_STATE_OFF);
	pool->was_clean = pool->state->clean_shutdown == 1;
	return pool;
}

/* pool_format_image -- write an empty pool, its heap `heap` chunks,
 * into a writable mapping. */
static void pool_format_image(struct persist *p, char *base,
			      const struct pool_hdr *h, uint64_t heap)
{
	struct pool_state *st = (struct pool_state *)(base + POOL_STATE_OFF);

	/* The redo area (zero checkpoint slots: nothing to replay; rings of
	 * no valid record) and chunk headers (all free, those the heap may
	 * grow into too) start zeroed. */
	persist_memset(p, base + h->lanes_off, 0,
		       h->chunks_off - h->lanes_off);
	memset(st, 0, sizeof(*st));
	st->clean_shutdown = 1;
	st->heap_chunks = heap;
	persist_flush(p, st, sizeof(*st));
	/*
	 * Everything but the header must be durable before the header: a
	 * file whose header is valid is a pool, so the header is the
	 * create's commit mark.
	 */
	persist_fence(p);
	persist_memcpy(p, base, h, sizeof(*h));
	persist_fence(p);
}

/* pool_map_len -- bytes of mapping that cover `size` bytes of file. */
static size_t pool_map_len(uint64_t size)
{
	return (size_t)pool_align_up(size);
}

/* pool_reserve_len -- address space a pool keeps: its size, or the most
 * it may grow to. */
static size_t pool_reserve_len(const struct pool_hdr *h, uint64_t size)
{
	uint64_t end = size;

	if (h->incompat_features & POOL_FEAT_GROW)
		end = pool_heap_end(h, h->nchunks);
	return pool_map_len(end > size ? end : size);
}

/* pool_map -- reserve address space (reslen bytes) and map the file's
 * first `size` bytes at its start. */
static int pool_map(int fd, size_t size, size_t reslen, char **basep,
		    void **resp, int *is_pmemp)
{
	void *res = mmap(NULL, reslen, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	void *base;

	if (res == MAP_FAILED)
		return -errno;
	/* MAP_SYNC succeeds only on DAX: then cache flushes are enough. */
	base = mmap(res, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED, fd, 0);
	if (base != MAP_FAILED) {
		*is_pmemp = 2;   /* DAX: grow maps with MAP_SYNC too */
	} else {
		base = mmap(res, size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_FIXED, fd, 0);
		if (base == MAP_FAILED) {
			int err = -errno;
			munmap(res, reslen);
			return err;
		}
		*is_pmemp = persist_is_pmem(base, size);
	}
	*basep = base;
	*resp = res;
	return 0;
}

/*
 * pool_map_private -- on the file backend, replace the shared mapping by
 * a private one of the same file, and let the persistence layer write
 * the pages back itself (persist_set_private).  Why: a shared mapping's
 * write-back (msync) write-protects every page it writes, and the next
 * store faults to make it writable again; under SET at pipeline 16 on a
 * disk that page-table work was about a third of the server's CPU.  A
 * private page, once copied at its first store, stays writable.  The
 * page cache's copy of a written page is dropped after the checkpoint's
 * sync (persist_pay_sync), so it is not held twice.
 */
static int pool_map_private(struct pool *pool)
{
	void *got = mmap(pool->base, pool->map_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED, pool->fd, 0);

	if (got != pool->base)
		return -errno;
	return persist_set_private(&pool->persist, pool->reserve_len);
}

/* pool_lock -- take the exclusive lock that keeps other processes out. */
static int pool_lock(int fd, const char *path, struct errmsg *em)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return err_set(em, PKV_EBUSY,
			       "%s: pool is already open (locked by another "
			       "process or handle)", path);
	return err_set(em, -errno, "%s: cannot lock: %s", path,
		       strerror(errno));
}

/* pool_attach -- map a validated, locked file and build the handle:
 * `size` bytes of it, in `reslen` bytes of address space. */
static int pool_attach(int fd, const char *path, uint64_t size,
		       size_t reslen, const struct pool_open_opts *opts,
		       struct pool **poolp, struct errmsg *em)
{
	char *base = NULL;
	void *res = NULL;
	int is_pmem = 0;
	int err = pool_map(fd, size, reslen, &base, &res, &is_pmem);
	struct pool *pool;

	if (err)
		return err_set(em, err, "%s: cannot map %llu bytes: %s", path,
			       (unsigned long long)size, strerror(-err));
	pool = pool_new_handle(base, size);
	if (!pool || !(pool->path = strdup(path))) {
		free(pool);
		munmap(res, reslen);
		return err_set(em, -ENOMEM, "%s: out of memory", path);
	}
	pool->fd = fd;
	pool->reserve = res;
	pool->reserve_len = reslen;
	pool->map_len = pool_map_len(size);
	pool->map_sync = is_pmem == 2;
	persist_init(&pool->persist, base, size,
		     opts ? opts->backend : PERSIST_AUTO, is_pmem);
	if (pool->persist.backend == PERSIST_FILE &&
	    (err = pool_map_private(pool))) {
		persist_release(&pool->persist);
		munmap(res, reslen);
		free(pool->path);
		free(pool);
		return err_set(em, err, "%s: cannot map %llu bytes privately: "
			       "%s", path, (unsigned long long)size,
			       strerror(-err));
	}
	persist_set_fd(&pool->persist, fd);
	*poolp = pool;
	return 0;
}

/* pool_create -- create, format and open a new pool file. */
int pool_create(const char *path, uint64_t size, const struct pool_params *pp,
		const struct pool_open_opts *opts, struct pool **poolp,
		struct errmsg *em)
{
	struct pool_hdr h;
	struct pool *pool;
	uint64_t heap;
	int fd, err;

	err = pool_layout(&h, &heap, size, pp, em);
	if (err)
		return err;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return err_set(em, PKV_EEXIST, "%s: file exists", path);
		return err_set(em, -errno, "%s: cannot create: %s", path,
			       strerror(errno));
	}
	err = pool_lock(fd, path, em);
	if (err)
		goto fail_file;
	err = ftruncate(fd, (off_t)size) ? errno : 0;
	if (err) {
		err = err_set(em, -err, "%s: cannot size to %llu bytes: %s",
			      path, (unsigned long long)size, strerror(err));
		goto fail_file;
	}
	err = pool_attach(fd, path, size, pool_reserve_len(&h, size), opts,
			  &pool, em);
	if (err)
		goto fail_file;
	/* A pool that will live on a disk gets the disk's geometry. */
	if (pp && pp->disk_nlanes && pool->persist.backend == PERSIST_FILE) {
		struct pool_params dp = *pp;
		dp.nlanes = pp->disk_nlanes;
		dp.log_size = pp->disk_log_size;
		if ((err = pool_layout(&h, &heap, size, &dp, em)))
			goto fail_pool;
	}
	/*
	 * Sparse: only the header, the redo area and the chunk headers take
	 * space now; a chunk gets its space when the heap first uses it
	 * (pool_provide), so a pool takes what it holds, not its size.
	 */
	err = posix_fallocate(fd, 0, (off_t)h.chunks_off);
	if (err == EOPNOTSUPP || err == EINVAL)
		err = 0;   /* no allocation to ask for: written later */
	if (err) {
		err = err_set(em, -err, "%s: no room for %llu bytes of pool "
			      "metadata: %s", path,
			      (unsigned long long)h.chunks_off, strerror(err));
		goto fail_pool;
	}
	pool_format_image(&pool->persist, pool->base, &h, heap);
	err = persist_failed(&pool->persist);
	if (err) {
		err_set(em, err, "%s: writing the new pool failed: %s", path,
			strerror(-err));
		pool_release(pool);  /* closes fd */
		unlink(path);
		return err;
	}
	pool->was_clean = true;
	*poolp = pool;
	return 0;
fail_pool:
	pool_release(pool);  /* closes fd */
	unlink(path);
	return err;
fail_file:
	close(fd);
	unlink(path);
	return err;
}

/* pool_open -- validate, lock and map an existing pool file. */
int pool_open(const char *path, const struct pool_open_opts *opts,
	      struct pool **poolp, struct errmsg *em)
{
	char hdrbuf[POOL_HDR_SIZE];
	struct pool_hdr h;
	struct stat stbuf;
	uint64_t size;
	ssize_t got;
	int fd, err;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_set(em, -errno, "%s: cannot open: %s", path,
			       strerror(errno));
	err = pool_lock(fd, path, em);
	if (err)
		goto fail;
	if (fstat(fd, &stbuf) < 0) {
		err = err_set(em, -errno, "%s: cannot stat: %s", path,
			      strerror(errno));
		goto fail;
	}
	memset(hdrbuf, 0, sizeof(hdrbuf));
	got = pread(fd, hdrbuf, sizeof(hdrbuf), 0);
	if (got < 0) {
		err = err_set(em, -errno, "%s: cannot read: %s", path,
			      strerror(errno));
		goto fail;
	}
	err = pool_check_header(hdrbuf, (uint64_t)stbuf.st_size, path, em);
	if (err)
		goto fail;
	memcpy(&h, hdrbuf, sizeof(h));
	size = pool_image_size(hdrbuf);
	err = pool_attach(fd, path, size, pool_reserve_len(&h, size), opts,
			  poolp, em);
	if (err)
		goto fail;
	return 0;
fail:
	close(fd);
	return err;
}

/* pool_format_memory -- format an in-memory pool image. */
int pool_format_memory(void *buf, size_t len, const struct pool_params *pp,
		       struct errmsg *em)
{
	struct pool_hdr h;
	struct persist p;
	struct pool_params mp = { 0 };
	uint64_t heap;
	int err;

	/* The image is the pool's maximum; its heap starts with
	 * pp->initial_size bytes of it (all when 0). */
	if (pp)
		mp = *pp;
	mp.max_size = len;
	err = pool_layout(&h, &heap, mp.initial_size && mp.initial_size < len ?
			  mp.initial_size : len,
			  &mp, em);
	if (err)
		return err;
	persist_init(&p, buf, len, PERSIST_MEMORY, 0);
	pool_format_image(&p, buf, &h, heap);
	return 0;
}

/* pool_open_memory -- validate and wrap an in-memory pool image. */
int pool_open_memory(void *buf, size_t len, struct pool **poolp,
		     struct errmsg *em)
{
	int err = pool_check_header(buf, len, "memory pool", em);
	struct pool *pool;

	if (err)
		return err;
	pool = pool_new_handle(buf, pool_image_size(buf));
	if (!pool)
		return err_set(em, -ENOMEM, "out of memory");
	pool->map_len = len;
	persist_init(&pool->persist, buf, len, PERSIST_MEMORY, 0);
	*poolp = pool;
	return 0;
}

/* pool_provide -- make sure the file has space for a range. */
int pool_provide(struct pool *pool, uint64_t off, uint64_t len)
{
	if (pool->fd < 0)
		return 0;
	if (fallocate(pool->fd, 0, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno == EOPNOTSUPP || errno == ENOSYS)
		return 0;   /* the file system allocates on write (a store
			       into a hole can then fail: SIGBUS) */
	return -errno;
}

/* pool_heap_chunks -- see pool.h. */
uint64_t pool_heap_chunks(const struct pool *pool)
{
	if (!(pool->hdr->incompat_features & POOL_FEAT_GROW))
		return pool->hdr->nchunks;
	return __atomic_load_n(&pool->state->heap_chunks, __ATOMIC_ACQUIRE);
}

/* pool_max_size -- see pool.h. */
uint64_t pool_max_size(const struct pool *pool)
{
	if (!(pool->hdr->incompat_features & POOL_FEAT_GROW))
		return pool->hdr->pool_size;
	return pool_heap_end(pool->hdr, pool->hdr->nchunks);
}

/*
 * pool_grow -- see pool.h.  The order is what makes it crash-safe: the
 * file's new length is durable (persist_sync_file) before the state word
 * that lets the heap use it, and that word is durable (its own fence)
 * before pool_grow returns, so before any transaction can put a block in
 * a new chunk.  A crash before the word leaves a longer file whose end the
 * heap does not use, which the next growth takes over.
 */
int pool_grow(struct pool *pool, uint64_t heap, struct errmsg *em)
{
	const struct pool_hdr *h = pool->hdr;
	uint64_t size = pool_heap_end(h, heap);
	size_t map_len = pool_map_len(size);
	int err;

	if (!(h->incompat_features & POOL_FEAT_GROW))
		return err_set(em, PKV_EINVAL, "%s: this pool was made before "
			       "pools could grow; it keeps its size",
			       pool->path ? pool->path : "memory pool");
	if (heap > h->nchunks)
		return err_set(em, PKV_EINVAL, "%s: a pool of %llu bytes at "
			       "most (its maximum, set when it was made) "
			       "cannot grow to %llu",
			       pool->path ? pool->path : "memory pool",
			       (unsigned long long)pool_max_size(pool),
			       (unsigned long long)size);
	if (heap <= pool_heap_chunks(pool))
		return 0;
	if (pool->fd < 0 && map_len > pool->map_len)
		return err_set(em, PKV_EINVAL, "memory pool: an image of %zu "
			       "bytes cannot grow to %llu", pool->map_len,
			       (unsigned long long)size);
	if (pool->fd >= 0) {
		struct stat sb;
		if (fstat(pool->fd, &sb) != 0)
			return err_set(em, -errno, "%s: cannot stat: %s",
				       pool->path, strerror(errno));
		/* Sparse: the new chunks get their space when the heap
		 * first uses them (pool_provide). */
		if ((uint64_t)sb.st_size < size &&
		    ftruncate(pool->fd, (off_t)size) != 0)
			return err_set(em, errno == ENOSPC || errno == EFBIG ?
				       PKV_EFULL : -errno,
				       "%s: cannot grow the file to %llu "
				       "bytes: %s", pool->path,
				       (unsigned long long)size,
				       strerror(errno));
		if (map_len > pool->map_len) {
			void *want = pool->base + pool->map_len;
			int flags = MAP_FIXED | (pool->map_sync ?
				MAP_SHARED_VALIDATE | MAP_SYNC :
				pool->persist.private_map ? MAP_PRIVATE :
				MAP_SHARED);
			void *got = mmap(want, map_len - pool->map_len,
					 PROT_READ | PROT_WRITE, flags,
					 pool->fd, (off_t)pool->map_len);
			if (got != want)
				return err_set(em, -errno, "%s: cannot map the "
					       "grown pool: %s", pool->path,
					       strerror(errno));
			persist_map_pages(&pool->persist, want,
					  map_len - pool->map_len);
			pool->map_len = map_len;
		}
	}
	if ((err = persist_sync_file(&pool->persist, map_len)))
		return err_set(em, err, "%s: cannot make the grown file "
			       "durable: %s", pool->path ? pool->path :
			       "memory pool", strerror(-err));
	/* The growth's commit: from here on the heap may use the chunks. */
	if (!PLANTED(GROW_PERSIST)) {
		persist_store64(&pool->persist, &pool->state->heap_chunks,
				heap);
		persist_fence(&pool->persist);
	} else {
		__atomic_store_n(&pool->state->heap_chunks, heap,
				 __ATOMIC_RELEASE);
	}
	__atomic_store_n(&pool->size, (size_t)size, __ATOMIC_RELEASE);
	return persist_failed(&pool->persist);
}

/*
 * pool_shrink -- see pool.h.  The reverse order of pool_grow: the state
 * word first, durable, then the file; a crash between leaves a file
 * longer than its heap, which is harmless.
 */
int pool_shrink(struct pool *pool, uint64_t heap, struct errmsg *em)
{
	const struct pool_hdr *h = pool->hdr;
	uint64_t size = pool_heap_end(h, heap);
	size_t map_len = pool_map_len(size);

	if (!(h->incompat_features & POOL_FEAT_GROW) || heap == 0 ||
	    heap >= pool_heap_chunks(pool))
		return 0;
	persist_store64(&pool->persist, &pool->state->heap_chunks, heap);
	persist_fence(&pool->persist);
	if (persist_failed(&pool->persist))
		return persist_failed(&pool->persist);
	__atomic_store_n(&pool->size, (size_t)size, __ATOMIC_RELEASE);
	if (pool->fd < 0 || map_len >= pool->map_len)
		return 0;
	/* The tail goes back to the reservation, then out of the file. */
	if (mmap(pool->base + map_len, pool->map_len - map_len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		 0) == MAP_FAILED)
		return err_set(em, -errno, "%s: cannot unmap the pool's end: "
			       "%s", pool->path, strerror(errno));
	pool->map_len = map_len;
	if (ftruncate(pool->fd, (off_t)size) != 0 || fsync(pool->fd) != 0)
		return err_set(em, -errno, "%s: cannot shorten the file to "
			       "%llu bytes: %s", pool->path,
			       (unsigned long long)size, strerror(errno));
	return 0;
}

/* pool_mark_open -- record durably that the pool is in use (unclean). */
void pool_mark_open(struct pool *pool)
{
	/* Persisted before any change, so a crash is seen as unclean. */
	persist_store64(&pool->persist, &pool->state->clean_shutdown, 0);
	persist_fence(&pool->persist);
}

/* pool_close -- durably mark a clean shutdown, unmap, unlock, free. */
void pool_close(struct pool *pool)
{
	if (!pool)
		return;
	/*
	 * The heap made every change durable before calling us; the flag is
	 * the last store, so a crash before it is seen as unclean.
	 */
	persist_store64(&pool->persist, &pool->state->clean_shutdown, 1);
	persist_fence(&pool->persist);
	pool_release(pool);
}

/* pool_release -- unmap, unlock and free, writing nothing. */
void pool_release(struct pool *pool)
{
	if (!pool)
		return;
	if (pool->fd >= 0) {
		munmap(pool->reserve, pool->reserve_len);
		close(pool->fd);
	}
	persist_release(&pool->persist);
	free(pool->path);
	free(pool);
}
