/*
 * access.c -- opening pools for the tool: private read-only images and
 * pkv_open (access.h).
 *
 * The private image is mapped with MAP_NORESERVE: a writable private
 * mapping of a large pool would otherwise be charged in full against the
 * commit limit, though only the few pages recovery touches are ever
 * copied.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access.h"
#include "util.h"

/* access_pread -- read up to len bytes at 0; how many in *got. */
static int access_pread(int fd, char *buf, size_t len, size_t *got)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = pread(fd, buf + n, len - n, (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

/* access_read -- validate, lock shared, map privately, recover. */
int access_read(struct access *a, const char *path, unsigned how,
		struct errmsg *em)
{
	static char hdrbuf[POOL_HDR_SIZE];
	struct pool_hdr hdr;
	struct pkv_options o;
	struct stat sb;
	size_t got;
	int err;

	memset(a, 0, sizeof(*a));
	a->path = path;
	a->image = true;
	a->fd = -1;
	a->stage = ACCESS_FILE;
	a->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (a->fd < 0)
		return err_set(em, -errno, "%s: cannot open: %s", path,
			       strerror(errno));
	/* Shared: other readers may look too, no writer may open it. */
	if (flock(a->fd, LOCK_SH | LOCK_NB) != 0) {
		err = errno == EWOULDBLOCK ?
			err_set(em, PKV_EBUSY, "%s is in use by another "
				"process (a running pkv-server?)", path) :
			err_set(em, -errno, "%s: cannot lock: %s", path,
				strerror(errno));
		goto fail_fd;
	}
	if (fstat(a->fd, &sb) != 0) {
		err = err_set(em, -errno, "%s: cannot stat: %s", path,
			      strerror(errno));
		goto fail_fd;
	}
	a->file_size = (uint64_t)sb.st_size;
	memset(hdrbuf, 0, sizeof(hdrbuf));
	if ((err = access_pread(a->fd, hdrbuf, sizeof(hdrbuf), &got))) {
		err_set(em, err, "%s: cannot read: %s", path, strerror(-err));
		goto fail_fd;
	}
	a->stage = ACCESS_HEADER;
	err = pool_check_header(hdrbuf, a->file_size, path, em);
	if (err)
		goto fail_fd;
	memcpy(&hdr, hdrbuf, sizeof(hdr));

	a->stage = ACCESS_FILE;
	a->map_len = (size_t)pool_image_size(hdrbuf);
	a->map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_NORESERVE, a->fd, 0);
	if (a->map == MAP_FAILED) {
		a->map = NULL;
		err = err_set(em, -errno, "%s: cannot map %zu bytes: %s", path,
			      a->map_len, strerror(errno));
		goto fail_fd;
	}
	a->stage = ACCESS_HEAP;
	if ((err = pool_open_memory(a->map, a->map_len, &a->pool, em)))
		goto fail_map;
	a->pool->path = strdup(path);   /* so messages name the file */
	if (!a->pool->path) {
		pool_release(a->pool);
		err = err_set(em, -ENOMEM, "out of memory");
		goto fail_map;
	}
	if ((err = heap_open(a->pool, &a->heap, em))) {
		pool_release(a->pool);
		goto fail_map;
	}
	a->stage = ACCESS_ENGINE;
	if (how & ACCESS_ENGINE_TOO) {
		pkv_options_init(&o);
		o.flags = PKV_NOTHREADS;
		o.audit = PKV_AUDIT_SKIP;     /* garbage is reported, not taken */
		o.expire_interval_ms = 0;
		if ((err = kv_attach(a->heap, &o, &a->db))) {
			err_set(em, err, "%s", pkv_errmsg(NULL));
			heap_close(a->heap);
			goto fail_map;
		}
	}
	a->stage = ACCESS_READY;
	return 0;
fail_map:
	munmap(a->map, a->map_len);
	a->map = NULL;
	a->heap = NULL;
	a->pool = NULL;
fail_fd:
	close(a->fd);
	a->fd = -1;
	return err;
}

/* access_write -- pkv_open without background threads. */
int access_write(struct access *a, const char *path,
		 const struct pkv_options *o, struct errmsg *em)
{
	struct pkv_options opts;
	int err;

	memset(a, 0, sizeof(*a));
	a->path = path;
	a->fd = -1;
	if (o)
		opts = *o;
	else
		pkv_options_init(&opts);
	opts.flags |= PKV_NOTHREADS;
	opts.expire_interval_ms = 0;
	opts.gc_interval_ms = 0;
	if ((err = pkv_open(path, &opts, &a->db)))
		return err_set(em, err, "%s", pkv_errmsg(NULL));
	a->heap = a->db->heap;
	a->pool = a->db->pool;
	a->stage = ACCESS_READY;
	return 0;
}

/* access_close -- close a pool opened either way. */
void access_close(struct access *a)
{
	if (!a->image) {
		pkv_close(a->db);
	} else {
		if (a->db)
			kv_detach(a->db);
		/* Its writes go to the private pages, which are dropped. */
		if (a->heap)
			heap_close(a->heap);
		if (a->map)
			munmap(a->map, a->map_len);
		if (a->fd >= 0)
			close(a->fd);
	}
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}

/* access_open_cmd -- open for a subcommand, reporting failures. */
int access_open_cmd(struct access *a, const char *path, bool write,
		    unsigned how)
{
	struct errmsg em;
	int err;

	err_clear(&em);
	if (write) {
		struct pkv_options o;
		pkv_options_init(&o);
		if (how & ACCESS_AUTOGROW)
			o.flags |= PKV_AUTOGROW;
		err = access_write(a, path, &o, &em);
	} else {
		err = access_read(a, path, how, &em);
	}
	if (err)
		return cli_fail_path(path, err, em.text);
	return 0;
}

/* access_db_check -- dbi must be one of the pool's databases. */
int access_db_check(const struct access *a, unsigned dbi)
{
	unsigned n = pkv_databases(a->db);

	if (dbi >= n)
		return cli_fail("%s: no database %u (the pool has %u: 0 to %u)",
				a->path, dbi, n, n - 1);
	return 0;
}
