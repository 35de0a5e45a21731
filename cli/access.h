/*
 * access.h -- how the pkv tool gets at a pool: for reading, a private
 * copy-on-write image that never changes the file; for writing, the
 * library's own pkv_open.
 *
 * Reading (info, check, get, ttl, scan, export) must not change a pool:
 * opening one the usual way runs redo recovery, marks it in use and may
 * collect garbage, all of which write.  So the file is opened read-only,
 * locked shared (a running server holds the exclusive lock, so it is
 * refused, and no server can start while the tool reads), its header read
 * with pread() and validated, and the file mapped MAP_PRIVATE: the heap
 * and the key-value engine then run on that mapping through the memory
 * persistence backend, and whatever they write (recovery, the in-use
 * flag) lands in private copies of the pages, never in the file.  What
 * the tool shows is what the next real open will see.
 */
#ifndef PKV_CLI_ACCESS_H
#define PKV_CLI_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv_int.h"

/* Where opening a pool for reading stopped. */
enum access_stage {
	ACCESS_FILE,                  /* open, lock, stat, read, map */
	ACCESS_HEADER,                /* the header's checks */
	ACCESS_HEAP,                  /* redo recovery, allocator rebuild */
	ACCESS_ENGINE,                /* the key-value root */
	ACCESS_READY,
};

struct access {
	const char *path;
	pkv *db;                      /* the engine (NULL: heap only) */
	struct heap *heap;
	struct pool *pool;
	bool image;                   /* a private image, not pkv_open */
	int fd;                       /* of the image: locked shared */
	void *map;                    /* the private mapping */
	size_t map_len;
	uint64_t file_size;
	enum access_stage stage;      /* reached, or where it failed */
};

/* What access_read attaches. */
#define ACCESS_ENGINE_TOO 0x1u    /* the key-value engine, not just the heap */
#define ACCESS_AUTOGROW 0x2u      /* access_open_cmd for writing: the pool
				     grows when full (PKV_AUTOGROW) */

/*
 * access_read -- open the pool at path as a private image (see above).
 * Returns 0, or an error code with em saying why (naming the file) and
 * a->stage where it failed; PKV_EBUSY when another process holds it.
 */
int access_read(struct access *a, const char *path, unsigned how,
		struct errmsg *em);

/*
 * access_write -- open the pool with pkv_open (no background threads;
 * collections are run by the tool when it wants them) and flags (e.g.
 * PKV_CREATE | PKV_EXCL with size and databases).  Returns 0 or an error
 * code with em filled.
 */
int access_write(struct access *a, const char *path,
		 const struct pkv_options *o, struct errmsg *em);

/* access_close -- close either kind; a private image is just dropped. */
void access_close(struct access *a);

/*
 * access_open_cmd -- for subcommands: access_read (how) or, if `write`,
 * access_write with default options; reports a failure itself.  Returns
 * 0 or EXIT_FAILURE.
 */
int access_open_cmd(struct access *a, const char *path, bool write,
		    unsigned how);

/* access_db_check -- a usage-level check that dbi exists in the pool;
 * returns 0 or EXIT_FAILURE after a message. */
int access_db_check(const struct access *a, unsigned dbi);

#endif /* PKV_CLI_ACCESS_H */
