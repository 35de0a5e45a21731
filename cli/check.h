/*
 * check.h -- the read-only consistency check of a pool (pkv check).
 *
 * check_pool() looks at a pool through a private image (access.h), so it
 * never changes the file, and verifies, in order:
 *   1. the header (magic, version, checksum, geometry, file length);
 *   2. the redo logs and the allocator: recovery runs on the image, then
 *      the chunk headers and run bitmaps are rebuilt and cross-checked
 *      (heap_check), and every allocated block's header must fit it;
 *   3. the key-value structure, walked independently of the engine's
 *      code: root, tables, stripes, bucket arrays and every entry (an
 *      allocated block of the right type and size, its stored hash that
 *      of its key, in the right bucket and stripe, not in a bucket a
 *      resize has moved, no key twice), and the stripes' key and expiry
 *      counts against the chains; each hash's header, directories,
 *      segments and fields likewise (every field in the bucket its hash
 *      names, no field twice, the count equal to the walk);
 *   4. reachability: every allocated block must be reached exactly once
 *      from the root.  Blocks allocated but unreachable are garbage (a
 *      flushed database not yet collected, a leak after a crash or a
 *      damaged bitmap): harmless but wasted, and the collector reclaims
 *      them, so they are "repairable" problems, counted apart from
 *      damage that only a backup can mend.
 */
#ifndef PKV_CLI_CHECK_H
#define PKV_CLI_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "access.h"

#define CHECK_MAX_MSGS 20             /* problem messages kept */
#define CHECK_MAX_NOTES 12

struct check_report {
	enum access_stage reached;    /* ACCESS_READY: the heap opened */
	bool header_ok;
	uint64_t pool_size, nchunks;
	bool clean_shutdown;
	struct redo_recovery_stats recovery;
	bool kv;                      /* a key-value root was walked */
	unsigned ndbs;
	uint64_t db_keys[KV_MAX_DBS];
	uint64_t keys, expires;       /* entries found; with an expiry */
	uint64_t hashes, fields;      /* of the keys, hashes; their fields */
	uint64_t lists, elements;     /* lists; their elements */
	uint64_t sets, members;       /* sets; their members */
	uint64_t zsets, zmembers;     /* sorted sets; their members */
	uint64_t expired;             /* of them, past their expiry */
	uint64_t blocks, block_bytes; /* allocated (block lengths) */
	bool reach_known;             /* reachability could be judged */
	uint64_t reachable_blocks, reachable_bytes;
	uint64_t unreachable_blocks, unreachable_bytes;
	uint64_t damage;              /* problems --repair cannot fix */
	uint64_t repairable;          /* problems it fixes */
	uint64_t salvaged;            /* entries handed to check_pool_each's fn */
	uint64_t salvage_skipped;     /* damaged ones it was not given */
	size_t nmsgs, nnotes;
	char *msgs[CHECK_MAX_MSGS];   /* the first damage found */
	char *notes[CHECK_MAX_NOTES]; /* facts worth knowing, not problems */
};

/*
 * check_pool -- check the pool at path into r (see above); with
 * `progress`, show a progress line on a terminal.  Returns 0 when the
 * pool could be looked at (r says what was found, damage included), or
 * an error with em filled when it could not: PKV_EBUSY (in use), -errno
 * (cannot open, read or map), -ENOMEM.
 */
int check_pool(const char *path, struct check_report *r, bool progress,
	       struct errmsg *em);

/*
 * check_pool_each -- check_pool, and also call fn for every sound entry
 * the walk meets (not expired, its stored hash that of its key, not a
 * second copy of a key), database by database: the way to salvage what a
 * damaged pool still holds, since the walk never follows a pointer it
 * has not verified (the library's own scan trusts the pool).  A non-zero
 * return from fn stops the walk and is returned.
 */
struct check_entry {
	unsigned db;
	unsigned type;                /* PKV_TYPE_* of the key's value */
	const void *key;
	size_t klen;
	const void *field;            /* a hash's field, a set's or sorted
					 set's member, or NULL */
	size_t flen;
	const void *val;              /* a string, the field's value, a list
					 element, or a member's score as
					 text */
	size_t vlen;
	int64_t expire_ms;            /* the key's; 0: none */
};
/* For a string, fn gets one call with its value; for a hash, one call per
 * sound field (field set); for a list, one per sound element in order
 * (field NULL, val set); then, for a hash or list, one with field and val
 * NULL: the key is complete. */
typedef int (*check_entry_fn)(void *ctx, const struct check_entry *e);
int check_pool_each(const char *path, struct check_report *r, bool progress,
		    check_entry_fn fn, void *ctx, struct errmsg *em);

/* check_report_free -- free the messages. */
void check_report_free(struct check_report *r);

/* check_healthy -- no problem of either kind. */
static inline bool check_healthy(const struct check_report *r)
{
	return r->damage == 0 && r->repairable == 0;
}

#endif /* PKV_CLI_CHECK_H */
