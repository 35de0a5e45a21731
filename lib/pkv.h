/*
 * pkv.h -- public interface of libpkv, a persistent key-value store for
 * persistent memory.
 *
 * Error convention (one integer channel, as in LMDB): every function that
 * can fail returns an int, 0 on success, a negative errno value (-ENOMEM,
 * -EACCES, ...) for a failure reported by the system, or one of the PKV_E*
 * codes below, which are negative and live in their own band so they never
 * collide with an errno.  pkv_strerror() turns any of them into text.
 */
#ifndef PKV_H
#define PKV_H

#ifdef __cplusplus
extern "C" {
#endif

#define PKV_VERSION_MAJOR 0
#define PKV_VERSION_MINOR 1
#define PKV_VERSION_PATCH 0

/* Library error codes: negative, in the band [PKV_EFIRST, PKV_ELAST]. */
#define PKV_EFIRST     (-30900)
#define PKV_ENOTFOUND  (-30900) /* no such key / object */
#define PKV_EEXIST     (-30901) /* already exists (create, put-if-absent) */
#define PKV_EFULL      (-30902) /* the pool has no room for this allocation */
#define PKV_ENOTPOOL   (-30903) /* the file is not a pkv pool (bad magic) */
#define PKV_EVERSION   (-30904) /* pool layout version not supported */
#define PKV_ETRUNCATED (-30905) /* the file is shorter than its header says */
#define PKV_ECHECKSUM  (-30906) /* the pool header checksum does not match */
#define PKV_ECORRUPT   (-30907) /* the pool's metadata is inconsistent */
#define PKV_EBUSY      (-30908) /* the pool is open in another process (or
				   pkv_gc with this thread's batch or read
				   open) */
#define PKV_ETXTOOBIG  (-30909) /* (no longer returned: a transaction has
				   no size limit but the pool's room) */
#define PKV_EINVAL     (-30910) /* an argument is out of range */
#define PKV_EWRONGTYPE (-30911) /* the key holds a value of another type */
#define PKV_ERANGE     (-30912) /* an index out of range (pkv_batch_lset) */
#define PKV_ENOTINT    (-30913) /* the value is not an integer (pkv_incr) */
#define PKV_EOVERFLOW  (-30914) /* the sum would overflow (pkv_incr) */
#define PKV_ELAST      (-30914)

/*
 * pkv_strerror -- describe an error code returned by any pkv function:
 * 0, a negative errno, or a PKV_E* code.  The string is static and must
 * not be freed; unknown codes get a generic text.
 */
const char *pkv_strerror(int err);

/*
 * pkv_version -- the library's version as "MAJOR.MINOR.PATCH"; static.
 */
const char *pkv_version(void);

/* ------------------------------------------------------------------ */
/* The key-value store                                                 */
/* ------------------------------------------------------------------ */

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* An open pool.  One handle may be shared by any number of threads. */
typedef struct pkv pkv;

/* Where persistence goes; the pool file records nothing about it. */
enum pkv_backend {
	PKV_BACKEND_AUTO = 0,         /* pmem if the mapping is, else file */
	PKV_BACKEND_PMEM,             /* CPU cache flushes (DAX, or emulated
					 with PMEM_IS_PMEM_FORCE=1) */
	PKV_BACKEND_FILE,             /* any file system: a commit is one
					 write of its log record with
					 RWF_DSYNC; checkpoints write the
					 changed pages and fdatasync */
};

/* What pkv_open does after an unclean shutdown (a crash, SIGKILL). */
enum pkv_audit {
	PKV_AUDIT_NOW = 0,            /* collect garbage before returning
					 (time grows with the heap) */
	PKV_AUDIT_BACKGROUND,         /* collect in the background while
					 serving (pkv_options_init's) */
	PKV_AUDIT_SKIP,               /* leave it to a later pkv_gc */
};

#define PKV_CREATE 0x1u   /* create the pool file if it does not exist */
#define PKV_EXCL   0x2u   /* with PKV_CREATE: PKV_EEXIST if it exists
			      (a pool open elsewhere, even in this
			      process, is PKV_EBUSY) */
#define PKV_NOTHREADS 0x4u /* start no background thread: expiry is lazy
			      only, resizes advance with writes, flushed
			      databases are reclaimed by pkv_gc, and a
			      commit that finds its log ring full
			      checkpoints inline */
#define PKV_VERIFY 0x8u   /* check each entry's checksum (its key, value,
			      lengths and type) whenever a read returns it:
			      a mismatch is reported (pkv_damage) and a get
			      or batch read of it fails with PKV_ECORRUPT,
			      a scan skips it, instead of serving damaged
			      bytes */
#define PKV_AUTOGROW 0x10u /* a write that finds the pool full grows it
			      (by a quarter, up to its max_size) instead
			      of failing with PKV_EFULL */

struct pkv_options {
	unsigned flags;               /* PKV_CREATE, PKV_EXCL, PKV_NOTHREADS,
					 PKV_VERIFY */
	uint64_t size;                /* bytes of a new pool (64 MiB) */
	unsigned databases;           /* numbered databases of a new pool
					 (16; at most 128) */
	enum pkv_backend backend;
	enum pkv_audit audit;
	unsigned gc_interval_ms;      /* background collection period; 0:
					 only when a flush asks for one */
	unsigned expire_interval_ms;  /* active expiry and resize help
					 period (100); 0: off */
	uint64_t max_size;            /* the most a new pool may grow to
					 (pkv_grow, PKV_AUTOGROW), at most
					 16 TiB; 0: it keeps its size;
					 fixed when the pool is made */
};

/* pkv_options_init -- the defaults above. */
void pkv_options_init(struct pkv_options *o);

/*
 * pkv_open -- open the pool file at path (creating it if o->flags says
 * so), recover it, and start the background threads.  o may be NULL
 * (open an existing pool with defaults).  Returns 0, -errno, PKV_EEXIST,
 * PKV_ENOTPOOL, PKV_EVERSION, PKV_ETRUNCATED, PKV_ECHECKSUM, PKV_ECORRUPT,
 * PKV_EBUSY or PKV_EINVAL; pkv_errmsg(NULL) then says why.
 */
int pkv_open(const char *path, const struct pkv_options *o, pkv **dbp);

/* pkv_close -- stop the threads, close the pool cleanly, free db. */
void pkv_close(pkv *db);

/*
 * pkv_errmsg -- a sentence about the calling thread's last failed call on
 * db (NULL: its last failed pkv_open), naming the file or key involved;
 * "" if there is none.  Valid until the thread's next call.
 */
const char *pkv_errmsg(const pkv *db);

/* pkv_databases -- how many numbered databases the pool has. */
unsigned pkv_databases(const pkv *db);

/* Flags of pkv_put. */
#define PKV_NX      0x1u  /* only if the key does not exist */
#define PKV_XX      0x2u  /* only if the key exists */
#define PKV_KEEPTTL 0x4u  /* keep the key's expiry (ignore expire_ms) */

/*
 * pkv_put -- set key to val in database dbi, durably, with an absolute
 * expiry time in Unix milliseconds (0: none).  Returns 0, PKV_EEXIST
 * (PKV_NX and the key exists), PKV_ENOTFOUND (PKV_XX and it does not),
 * PKV_EFULL (no room; nothing changed), PKV_EINVAL (bad dbi, flags, or a
 * key or value longer than 4 GiB - 1), PKV_ECORRUPT (the key's chain is
 * damaged: nothing changed), -ENOMEM, or the -errno of a failed
 * write-back (applied in memory, not durable; every later write fails
 * too).
 */
int pkv_put(pkv *db, unsigned dbi, const void *key, size_t klen,
	    const void *val, size_t vlen, unsigned flags, int64_t expire_ms);

/*
 * pkv_get -- copy up to bufsize bytes of key's value to buf and its full
 * length to *vlen (so a short buffer can be retried).  Returns 0,
 * PKV_ENOTFOUND, PKV_EINVAL or PKV_ECORRUPT (damage met on the way to the
 * key, or with PKV_VERIFY in the entry itself; reported by pkv_damage).
 */
int pkv_get(pkv *db, unsigned dbi, const void *key, size_t klen, void *buf,
	    size_t bufsize, size_t *vlen);

/*
 * pkv_incr -- add delta to the integer that key's value spells, durably,
 * as Redis's INCRBY: a missing key counts as 0; the value must be a
 * canonical decimal in int64_t range ("12", "-3"; not "012", "+1", " 1"
 * or "1.0"); the expiry stays.  The sum goes to *value (may be NULL)
 * and is stored as an integer string: the key reads as its decimal text
 * everywhere, and the next pkv_incr changes it in place (one word logged,
 * no new block), as Redis's "int" encoding.  Returns 0, PKV_EWRONGTYPE,
 * PKV_ENOTINT (a value that is not such an integer), PKV_EOVERFLOW (the
 * sum would not fit; nothing changed), or an error as pkv_put.
 */
int pkv_incr(pkv *db, unsigned dbi, const void *key, size_t klen,
	     int64_t delta, int64_t *value);

/* Value types: what an entry holds.  A read of a key as a string
 * (pkv_get) fails with PKV_EWRONGTYPE on any other type; references and
 * scans give a non-string value as NULL, length 0, with its type. */
#define PKV_TYPE_STRING 0u
#define PKV_TYPE_HASH 1u      /* fields and their values (pkv_hset...) */
#define PKV_TYPE_LIST 2u      /* a sequence of strings (pkv_lpush...) */
#define PKV_TYPE_SET 3u       /* distinct strings (pkv_sadd...) */
#define PKV_TYPE_ZSET 4u      /* members ordered by score (pkv_zadd...) */

/*
 * Zero-copy reads.  pkv_get_ref points ref->val at the value in the pool
 * and keeps it valid -- a concurrent delete or overwrite does not reuse
 * its memory -- until pkv_ref_release.  Hold references briefly, and make
 * no write call on any pool while holding one (writers may wait for it).
 */
struct pkv_ref {
	const void *val;              /* the value, in place (an integer
					 string's text: in text_) */
	size_t vlen;
	int64_t expire_ms;            /* 0: none */
	unsigned type;                /* PKV_TYPE_* */
	void *priv_[2];               /* the library's */
	char text_[24];               /* the library's */
};

/* pkv_get_ref -- find key; on 0 the reference is held.  Returns 0,
 * PKV_ENOTFOUND (nothing held), PKV_EINVAL or PKV_ECORRUPT (as pkv_get). */
int pkv_get_ref(pkv *db, unsigned dbi, const void *key, size_t klen,
		struct pkv_ref *ref);

/* pkv_ref_release -- end a reference from pkv_get_ref. */
void pkv_ref_release(struct pkv_ref *ref);

/* pkv_exists -- 0 if key exists (and has not expired), else
 * PKV_ENOTFOUND; PKV_EINVAL for a bad dbi, PKV_ECORRUPT as pkv_get. */
int pkv_exists(pkv *db, unsigned dbi, const void *key, size_t klen);

/*
 * pkv_prefetch -- a hint that keys[0..n) (klens[i] bytes each) of
 * database dbi are about to be read or written, inside a batch or not:
 * their buckets and the entries at the heads of their chains start
 * loading into the CPU's cache together, so that the cache misses of n
 * lookups overlap instead of following one another.  Nothing is read
 * for the caller and nothing changes; a bad dbi is ignored.  Worth it
 * for a handful of keys known in advance (MSET, MGET); more than about
 * 16 at a time may evict each other.
 */
void pkv_prefetch(pkv *db, unsigned dbi, size_t n, const void *const *keys,
		  const size_t *klens);

/* pkv_del -- remove key, durably.  Returns 0, PKV_ENOTFOUND, PKV_EINVAL,
 * PKV_ECORRUPT or a write-back's -errno (as pkv_put). */
int pkv_del(pkv *db, unsigned dbi, const void *key, size_t klen);

/*
 * pkv_expire -- set key's expiry to expire_ms (absolute Unix ms; 0 removes
 * it), durably.  A time in the past deletes the key.  Returns 0,
 * PKV_ENOTFOUND, PKV_EINVAL, PKV_ECORRUPT or a write-back's -errno (as
 * pkv_put).
 */
int pkv_expire(pkv *db, unsigned dbi, const void *key, size_t klen,
	       int64_t expire_ms);

/* pkv_ttl -- key's expiry in *expire_ms (0: none).  Returns 0,
 * PKV_ENOTFOUND, PKV_EINVAL or PKV_ECORRUPT. */
int pkv_ttl(pkv *db, unsigned dbi, const void *key, size_t klen,
	    int64_t *expire_ms);

/* pkv_type -- the type (PKV_TYPE_*) of key's value to *type.  Returns 0,
 * PKV_ENOTFOUND, PKV_EINVAL or PKV_ECORRUPT. */
int pkv_type(pkv *db, unsigned dbi, const void *key, size_t klen,
	     unsigned *type);

/* pkv_now_ms -- the clock expiry is measured against (Unix ms). */
int64_t pkv_now_ms(void);

/* pkv_dbsize -- keys in dbi (expired ones not yet removed included, as
 * Redis counts them) and of them, with an expiry.  expires may be NULL. */
int pkv_dbsize(pkv *db, unsigned dbi, uint64_t *keys, uint64_t *expires);

/*
 * pkv_flushdb -- empty dbi at once: the old table is unlinked in one
 * transaction and its blocks reclaimed by the collector in the
 * background.  pkv_flushall does every database in one transaction.
 */
int pkv_flushdb(pkv *db, unsigned dbi);
int pkv_flushall(pkv *db);

/* pkv_swapdb -- exchange the contents of two databases atomically. */
int pkv_swapdb(pkv *db, unsigned a, unsigned b);

/*
 * pkv_scan -- visit about `count` keys of dbi from cursor (0 to start);
 * *next gets the cursor to continue with, 0 when the scan is complete.
 * Every key present for the whole scan is visited at least once, even
 * across a resize; some may be visited twice.  fn runs inside a read
 * section (no write calls from it) and gets each key as a struct
 * pkv_item, valid during the call; a non-zero return stops the scan
 * early and is returned.
 */
struct pkv_item {
	const void *key;
	size_t klen;
	const void *val;              /* the value, in place */
	size_t vlen;
	int64_t expire_ms;            /* 0: none */
	unsigned type;                /* PKV_TYPE_* */
};
typedef int (*pkv_scan_fn)(void *ctx, const struct pkv_item *item);
int pkv_scan(pkv *db, unsigned dbi, uint64_t cursor, unsigned count,
	     pkv_scan_fn fn, void *ctx, uint64_t *next);

/* pkv_random_key -- copy a random key of dbi (as pkv_get copies values).
 * Returns 0, PKV_ENOTFOUND (empty) or PKV_EINVAL. */
int pkv_random_key(pkv *db, unsigned dbi, void *buf, size_t bufsize,
		   size_t *klen);

/*
 * Batches: transactions that read their own writes.  A batch runs each
 * operation at once -- a put, delete or expiry change on any database,
 * with its condition (PKV_NX, PKV_XX, PKV_KEEPTTL, a missing key) decided
 * against the keys as the batch left them -- and its reads (a value, a
 * size, a scan, a random key) see its own pending writes.  Nothing of it
 * is visible to other readers, or durable, until pkv_batch_commit makes
 * all of it durable in one transaction (all or nothing, even across a
 * crash).  There is no limit on its size but the pool's room.
 *
 * A batch holds the stripes of the keys it touched until it ends, and
 * batches run one at a time per pool (single writes and readers go on
 * beside them): keep them short.  One thread uses a batch at a time.
 *
 * Each write returns its result at once: 0, PKV_EEXIST (PKV_NX and the
 * key exists), PKV_ENOTFOUND (PKV_XX, or a delete or expiry change of a
 * missing key) -- or an error (PKV_EFULL, PKV_EINVAL, -ENOMEM), after
 * which nothing of that operation remains and the batch is failed: its
 * commit returns the error and applies nothing, unless the caller rolls
 * it back (pkv_batch_rollback) to a savepoint taken before the operation,
 * which forgets the failure.  That is how one command of many can fail
 * alone: take a savepoint before it, roll back if it fails.
 */
typedef struct pkv_batch pkv_batch;

int pkv_batch_begin(pkv *db, pkv_batch **bp);
int pkv_batch_put(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		  const void *val, size_t vlen, unsigned flags,
		  int64_t expire_ms);
int pkv_batch_del(pkv_batch *b, unsigned dbi, const void *key, size_t klen);
int pkv_batch_expire(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, int64_t expire_ms);
int pkv_batch_incr(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   int64_t delta, int64_t *value);

/*
 * Whole databases in a batch: pkv_flushdb, pkv_flushall and pkv_swapdb
 * as operations of the batch, committed with the rest of it (all or
 * nothing, even across a crash: a transaction that writes keys and
 * flushes or swaps a database is never seen half done).  Each holds the
 * database's every stripe until the batch ends, so single writes to it
 * wait; the batch's later operations and reads see the empty or swapped
 * databases.  Each is one write operation (result 0).
 */
int pkv_batch_flushdb(pkv_batch *b, unsigned dbi);
int pkv_batch_flushall(pkv_batch *b);
int pkv_batch_swapdb(pkv_batch *b, unsigned a, unsigned c);

/*
 * Reads of a batch: as pkv_get_ref, pkv_exists, pkv_dbsize, pkv_scan and
 * pkv_random_key, over the keys as the batch left them.  A reference from
 * pkv_batch_get_ref stays valid until the batch's next call (releasing it
 * is allowed and does nothing).
 */
int pkv_batch_get_ref(pkv_batch *b, unsigned dbi, const void *key,
		      size_t klen, struct pkv_ref *ref);
int pkv_batch_exists(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen);
int pkv_batch_dbsize(pkv_batch *b, unsigned dbi, uint64_t *keys,
		     uint64_t *expires);
int pkv_batch_scan(pkv_batch *b, unsigned dbi, uint64_t cursor,
		   unsigned count, pkv_scan_fn fn, void *ctx, uint64_t *next);
int pkv_batch_random_key(pkv_batch *b, unsigned dbi, void *buf,
			 size_t bufsize, size_t *klen);

/* Savepoints: pkv_batch_rollback undoes every operation after sp (and a
 * failure that came after it). */
struct pkv_savepoint {
	uint64_t priv_[8];
};
void pkv_batch_savepoint(pkv_batch *b, struct pkv_savepoint *sp);
void pkv_batch_rollback(pkv_batch *b, const struct pkv_savepoint *sp);

/* pkv_batch_failed -- the error that would fail the batch, or 0. */
int pkv_batch_failed(const pkv_batch *b);

/*
 * pkv_batch_big -- 1 when the batch's log record has passed half of what
 * a log ring holds, else 0.  A record bigger than a ring is committed
 * through an area of free space in the heap, which a full pool does not
 * have: the commit then fails whole with PKV_EFULL, even if it only
 * deletes.  A caller that gathers independent writes in one batch (as
 * pkv-server gathers a turn's commands) commits it when this says so.
 */
int pkv_batch_big(const pkv_batch *b);

/*
 * pkv_batch_commit -- make the batch durable and free it.  results, if
 * not NULL, gets each write's result again, in order (those no rollback
 * took back).  Returns 0; or the error that made the whole batch fail,
 * nothing applied: the first failed operation's not rolled back,
 * PKV_EFULL (no heap room for a record too big for its log ring),
 * -ENOMEM; or the -errno of a failed write-back, after which the batch is
 * applied in memory but not durable (and every later write fails).
 */
int pkv_batch_commit(pkv_batch *b, int *results);

/*
 * Pipelined commits, for a loop that has other work while a disk syncs
 * (pkv-server's group commit).  pkv_batch_submit commits the batch as
 * pkv_batch_commit does, with the same errors, but on a pool on a disk
 * (the file backend) it returns once the batch is applied and visible,
 * before it is durable: its record is written by a background thread (or
 * by the next call that waits, with PKV_NOTHREADS).  *ticket (may be
 * NULL) then covers this batch and every write visible to the caller
 * (pkv_ticket takes one without committing): do not acknowledge anything
 * that read or wrote them until pkv_durable says they are durable.  On
 * persistent memory every commit is durable on return and tickets are
 * durable at once.
 *
 * pkv_durable -- 1 when everything the ticket covers is durable, 0 not
 * yet, or the -errno of a failed write-back (then it never will be, and
 * every later write fails); with `wait`, 0 is never returned.
 * pkv_durable_fd -- a descriptor (an eventfd) that becomes readable each
 * time more commits are durable, for poll or epoll (read 8 bytes to clear
 * it); -1 when commits are always durable on return.  A commit that does
 * not use pkv_batch_submit (pkv_put, pkv_batch_commit) still returns
 * durable, after every submitted batch before it.
 */
int pkv_batch_submit(pkv_batch *b, uint64_t *ticket);
uint64_t pkv_ticket(pkv *db);
int pkv_durable(pkv *db, uint64_t ticket, bool wait);
int pkv_durable_fd(pkv *db);

/* pkv_batch_abort -- drop the batch; nothing is applied. */
void pkv_batch_abort(pkv_batch *b);

/*
 * Hashes: a key whose value is a set of fields, each with a string value,
 * kept as a persistent hash table of its own, so a write to one field
 * costs the same in a hash of ten fields or of millions.  The calls on a
 * key of another type return PKV_EWRONGTYPE; a missing key is an empty
 * hash (reads find nothing, the first pkv_hset makes it).  The key goes
 * with its last field.  Deleting, overwriting or expiring a hash key is
 * O(1): the collector reclaims its fields in the background.
 *
 * pkv_hset -- set field to val, durably.  flags: 0 or PKV_NX (only if the
 * field is absent).  Returns 0 (the field is new), PKV_EEXIST (it existed:
 * replaced, or with PKV_NX left as it was), PKV_EWRONGTYPE, or an error
 * as pkv_put.
 */
int pkv_hset(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *field, size_t flen, const void *val, size_t vlen,
	     unsigned flags);

/* pkv_hdel -- delete field, durably: 0, PKV_ENOTFOUND (no such field or
 * key), PKV_EWRONGTYPE, or an error as pkv_put. */
int pkv_hdel(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *field, size_t flen);

/* pkv_hincr -- pkv_incr on field (Redis's HINCRBY): the hash is made if
 * missing, the field counts as 0 if missing, and keeps its number in
 * place for the next increment.  Returns as pkv_incr. */
int pkv_hincr(pkv *db, unsigned dbi, const void *key, size_t klen,
	      const void *field, size_t flen, int64_t delta, int64_t *value);

/* pkv_hget -- copy up to bufsize bytes of field's value to buf and its
 * length to *vlen: 0, PKV_ENOTFOUND, PKV_EWRONGTYPE, PKV_EINVAL or
 * PKV_ECORRUPT. */
int pkv_hget(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *field, size_t flen, void *buf, size_t bufsize,
	     size_t *vlen);

/* pkv_hlen -- the fields of key to *n (0 for a missing key): 0,
 * PKV_EWRONGTYPE, PKV_EINVAL or PKV_ECORRUPT. */
int pkv_hlen(pkv *db, unsigned dbi, const void *key, size_t klen,
	     uint64_t *n);

/*
 * pkv_hscan -- visit the fields of about `count` buckets of key's hash
 * from cursor (0 to start); *next gets the cursor to go on with, 0 when
 * done.  Every field present for the whole scan is visited at least once.
 * fn gets each field as a pkv_item (key = the field, val = its value),
 * valid during the call, while the key is locked: it must make no write
 * call.  A non-zero return from fn stops the scan and is returned.
 * Returns 0 (a missing key: nothing visited, *next 0), PKV_EWRONGTYPE,
 * PKV_EINVAL or PKV_ECORRUPT.
 */
int pkv_hscan(pkv *db, unsigned dbi, const void *key, size_t klen,
	      uint64_t cursor, unsigned count, pkv_scan_fn fn, void *ctx,
	      uint64_t *next);

/* The same inside a batch, which sees its own writes; a reference from
 * pkv_batch_hget_ref is valid until the batch's next call.
 * pkv_batch_hrandfield_ref: the field that the random number r picks
 * (about uniformly: pass a fresh random number each time), in O(1) on
 * average, as a pkv_item (key = the field, val = its value) valid until
 * the batch's next call; PKV_ENOTFOUND for a missing hash. */
int pkv_batch_hset(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *field, size_t flen, const void *val,
		   size_t vlen, unsigned flags);
int pkv_batch_hdel(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *field, size_t flen);
int pkv_batch_hincr(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, const void *field, size_t flen,
		    int64_t delta, int64_t *value);
int pkv_batch_hget_ref(pkv_batch *b, unsigned dbi, const void *key,
		       size_t klen, const void *field, size_t flen,
		       struct pkv_ref *ref);
int pkv_batch_hlen(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   uint64_t *n);
int pkv_batch_hrandfield_ref(pkv_batch *b, unsigned dbi, const void *key,
			     size_t klen, uint64_t r, struct pkv_item *item);
int pkv_batch_hscan(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t cursor, unsigned count,
		    pkv_scan_fn fn, void *ctx, uint64_t *next);

/*
 * Lists: a key whose value is a sequence of strings, kept as a persistent
 * chain of its own, so a push or pop at either end, or an insert or
 * removal next to an element found on the way, costs the same whatever
 * the list's length.  Index 0 is the head (the left end), 1 the next,
 * -1 the tail, -2 the one before; reading by index walks from the nearer
 * end.  The calls on a key of another type return PKV_EWRONGTYPE; a
 * missing key is an empty list, and the key goes with its last element.
 * Deleting, overwriting, expiring or trimming a list is O(1) writes: the
 * collector reclaims what is cut off.
 */
#define PKV_TAIL  0x8u   /* lists: at the tail (right end), not the head */
#define PKV_AFTER 0x10u  /* pkv_batch_linsert: after the pivot, not before */

/* pkv_lpush -- push val at the head (flags PKV_TAIL: the tail), durably;
 * with PKV_XX only onto an existing list.  The list's length after goes
 * to *len (if not NULL).  Returns 0, PKV_ENOTFOUND (PKV_XX and no list),
 * PKV_EWRONGTYPE, or an error as pkv_put. */
int pkv_lpush(pkv *db, unsigned dbi, const void *key, size_t klen,
	      const void *val, size_t vlen, unsigned flags, uint64_t *len);

/* pkv_lpop -- remove the head (PKV_TAIL: the tail) element durably,
 * copying up to bufsize bytes of it to buf and its length to *vlen: 0,
 * PKV_ENOTFOUND (no list), PKV_EWRONGTYPE, or an error as pkv_put. */
int pkv_lpop(pkv *db, unsigned dbi, const void *key, size_t klen,
	     unsigned flags, void *buf, size_t bufsize, size_t *vlen);

/* pkv_llen -- the list's elements to *n (0 for a missing key): 0,
 * PKV_EWRONGTYPE, PKV_EINVAL or PKV_ECORRUPT. */
int pkv_llen(pkv *db, unsigned dbi, const void *key, size_t klen,
	     uint64_t *n);

/* pkv_lindex -- copy the element at index as pkv_lpop does: 0,
 * PKV_ENOTFOUND (no such index or key), PKV_EWRONGTYPE, PKV_EINVAL or
 * PKV_ECORRUPT. */
int pkv_lindex(pkv *db, unsigned dbi, const void *key, size_t klen,
	       int64_t index, void *buf, size_t bufsize, size_t *vlen);

/*
 * pkv_lrange -- visit the elements from index start to stop (inclusive,
 * clamped to the list as LRANGE does), in order, or with PKV_TAIL from
 * stop back to start.  fn gets each as a pkv_item (val = the element,
 * key NULL), valid during the call, while the key is locked: it must make
 * no write call.  A non-zero return from fn stops the walk and is
 * returned.  Returns 0 (a missing key visits nothing), PKV_EWRONGTYPE,
 * PKV_EINVAL or PKV_ECORRUPT.
 */
int pkv_lrange(pkv *db, unsigned dbi, const void *key, size_t klen,
	       int64_t start, int64_t stop, unsigned flags, pkv_scan_fn fn,
	       void *ctx);

/* pkv_ltrim -- keep only the elements from start to stop (as LTRIM: an
 * empty range deletes the key), durably: 0, PKV_ENOTFOUND (no list),
 * PKV_EWRONGTYPE, or an error as pkv_put. */
int pkv_ltrim(pkv *db, unsigned dbi, const void *key, size_t klen,
	      int64_t start, int64_t stop);

/*
 * The same inside a batch, which sees its own writes, and more:
 * pkv_batch_lpop's reference stays valid until the batch ends (the
 * element is freed at its commit); pkv_batch_lindex_ref's until the
 * batch's next call.  pkv_batch_lset replaces the element at index (0,
 * PKV_ENOTFOUND: no list, PKV_ERANGE: no such index).
 * pkv_batch_linsert puts val before (PKV_AFTER: after) the first element
 * equal to pivot, the length after to *len (0, or PKV_ENOTFOUND: no
 * list or no such pivot).  pkv_batch_lrem removes up to count elements
 * equal to val from the head (count < 0: |count| from the tail; 0: all),
 * how many to *removed (0, or PKV_ENOTFOUND: no list).
 */
int pkv_batch_lpush(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, const void *val, size_t vlen, unsigned flags,
		    uint64_t *len);
int pkv_batch_lpop(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   unsigned flags, struct pkv_ref *ref);
int pkv_batch_llen(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   uint64_t *n);
int pkv_batch_lindex_ref(pkv_batch *b, unsigned dbi, const void *key,
			 size_t klen, int64_t index, struct pkv_ref *ref);
int pkv_batch_lrange(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, int64_t start, int64_t stop, unsigned flags,
		     pkv_scan_fn fn, void *ctx);
int pkv_batch_ltrim(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, int64_t start, int64_t stop);
int pkv_batch_lset(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   int64_t index, const void *val, size_t vlen);
int pkv_batch_linsert(pkv_batch *b, unsigned dbi, const void *key,
		      size_t klen, unsigned flags, const void *pivot,
		      size_t plen, const void *val, size_t vlen,
		      uint64_t *len);
int pkv_batch_lrem(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   int64_t count, const void *val, size_t vlen,
		   uint64_t *removed);

/*
 * Sets: a key whose value is a set of distinct strings (members), kept as
 * a hash's table (its members the fields, with empty values), so adding or
 * removing one costs the same in a set of ten or of millions.  The calls
 * on a key of another type return PKV_EWRONGTYPE; a missing key is an
 * empty set, and the key goes with its last member.
 *
 * pkv_sadd -- add member, durably: 0 (added) or PKV_EEXIST (it was there;
 * nothing written), PKV_EWRONGTYPE, or an error as pkv_put.  pkv_srem --
 * remove it: 0 or PKV_ENOTFOUND.  pkv_sismember -- 0 (a member) or
 * PKV_ENOTFOUND.  pkv_scard -- the members to *n (0 for a missing key).
 * pkv_sscan -- as pkv_hscan; each pkv_item's key is a member (val empty).
 */
int pkv_sadd(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *member, size_t mlen);
int pkv_srem(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *member, size_t mlen);
int pkv_sismember(pkv *db, unsigned dbi, const void *key, size_t klen,
		  const void *member, size_t mlen);
int pkv_scard(pkv *db, unsigned dbi, const void *key, size_t klen,
	      uint64_t *n);
int pkv_sscan(pkv *db, unsigned dbi, const void *key, size_t klen,
	      uint64_t cursor, unsigned count, pkv_scan_fn fn, void *ctx,
	      uint64_t *next);

/* The same inside a batch, and pkv_batch_srandmember_ref: the member that
 * the random number r picks (about uniformly: pass a fresh random number
 * each time) as a pkv_item (key = the member) valid until the batch's
 * next call; PKV_ENOTFOUND for an empty set. */
int pkv_batch_sadd(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *member, size_t mlen);
int pkv_batch_srem(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *member, size_t mlen);
int pkv_batch_sismember(pkv_batch *b, unsigned dbi, const void *key,
			size_t klen, const void *member, size_t mlen);
int pkv_batch_scard(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t *n);
int pkv_batch_sscan(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t cursor, unsigned count,
		    pkv_scan_fn fn, void *ctx, uint64_t *next);
int pkv_batch_srandmember_ref(pkv_batch *b, unsigned dbi, const void *key,
			      size_t klen, uint64_t r, struct pkv_item *item);

/*
 * Sorted sets: a key whose value is a set of distinct members, each with
 * a score (a double, never NaN), ordered by (score, member), kept as a
 * persistent skip list beside a member table: adding, removing or
 * rescoring a member is O(log n) words in one commit, a rank or a range
 * start O(log n), a score O(1).  The calls on a key of another type
 * return PKV_EWRONGTYPE; a missing key is an empty sorted set, and the
 * key goes with its last member.
 *
 * pkv_batch_zadd -- set member's score to *score (with PKV_ZINCR: add
 * *score to it, from 0 for a new member); *score gets the member's score
 * after the call.  flags: PKV_NX (only add), PKV_XX (only update),
 * PKV_GT / PKV_LT (update only to a greater / lesser score), PKV_ZINCR.
 * Returns 0 (added), PKV_EEXIST (it was there: updated if the flags
 * allowed), PKV_ENOTFOUND (PKV_XX, or an increment with PKV_NX on an
 * existing member... : nothing done), PKV_ERANGE (the increment gives
 * NaN: nothing done), PKV_EWRONGTYPE, or an error as pkv_put.
 */
#define PKV_GT    0x20u  /* pkv_batch_zadd: only to a greater score */
#define PKV_LT    0x40u  /* pkv_batch_zadd: only to a lesser score */
#define PKV_ZINCR 0x80u  /* pkv_batch_zadd: add to the score */

int pkv_batch_zadd(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *member, size_t mlen, double *score,
		   unsigned flags);

/* pkv_batch_zrem -- remove member: 0 or PKV_ENOTFOUND.  pkv_batch_zscore
 * -- its score: 0 or PKV_ENOTFOUND.  pkv_batch_zcard -- the members (0:
 * no key).  pkv_batch_zrank -- its 0-based rank from the lowest (rev:
 * from the highest): 0 or PKV_ENOTFOUND. */
int pkv_batch_zrem(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *member, size_t mlen);
int pkv_batch_zscore(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, const void *member, size_t mlen,
		     double *score);
int pkv_batch_zcard(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t *n);
int pkv_batch_zrank(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, const void *member, size_t mlen, bool rev,
		    uint64_t *rank);

/* A range of a sorted set, as ZRANGE takes it. */
#define PKV_ZBY_RANK 0u
#define PKV_ZBY_SCORE 1u
#define PKV_ZBY_LEX 2u
struct pkv_zrange {
	unsigned by;                  /* PKV_ZBY_* */
	bool rev;                     /* from the highest; BY_RANK ranks
					 count from the highest too */
	int64_t start, stop;          /* BY_RANK: inclusive, < 0 from the
					 end, clamped as ZRANGE does */
	double min, max;              /* BY_SCORE */
	bool minex, maxex;            /* BY_SCORE, BY_LEX: exclusive ends */
	const void *lmin, *lmax;      /* BY_LEX: members... */
	size_t lminlen, lmaxlen;
	int lmin_inf, lmax_inf;       /* BY_LEX: -1 "-", +1 "+", 0 as given */
	uint64_t offset;              /* BY_SCORE, BY_LEX: LIMIT's offset */
	int64_t count;                /* ...and count (< 0: all) */
};
typedef int (*pkv_zfn)(void *ctx, const void *member, size_t mlen,
		       double score);

/*
 * pkv_batch_zrange -- visit the members of range q in order (q->rev: from
 * the highest), each valid during the call, which must make no write
 * call; a non-zero return from fn stops the walk and is returned.
 * pkv_batch_zcount -- how many members q's range holds (LIMIT aside), in
 * O(log n).  pkv_batch_zremrange -- remove them (how many to *removed).
 * pkv_batch_zscan -- as pkv_hscan, with each member's score.
 */
int pkv_batch_zrange(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, const struct pkv_zrange *q, pkv_zfn fn,
		     void *ctx);
int pkv_batch_zcount(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, const struct pkv_zrange *q, uint64_t *n);
int pkv_batch_zremrange(pkv_batch *b, unsigned dbi, const void *key,
			size_t klen, const struct pkv_zrange *q,
			uint64_t *removed);
int pkv_batch_zscan(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t cursor, unsigned count, pkv_zfn fn,
		    void *ctx, uint64_t *next);

/* Single calls for embedders: each a batch of its own. */
int pkv_zadd(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *member, size_t mlen, double score, unsigned flags);
int pkv_zrem(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *member, size_t mlen);
int pkv_zscore(pkv *db, unsigned dbi, const void *key, size_t klen,
	       const void *member, size_t mlen, double *score);
int pkv_zcard(pkv *db, unsigned dbi, const void *key, size_t klen,
	      uint64_t *n);
int pkv_zrange(pkv *db, unsigned dbi, const void *key, size_t klen,
	       const struct pkv_zrange *q, pkv_zfn fn, void *ctx);

/*
 * Keys of any type.  pkv_batch_rename moves key (its value of whatever
 * type, and its expiry) to dkey in database ddbi, replacing what is there
 * unless flags has PKV_NX: 0, PKV_ENOTFOUND (no such key), PKV_EEXIST
 * (PKV_NX and dkey exists), or an error.  Renaming a key to itself does
 * nothing and returns 0.  pkv_batch_copy does the same but leaves key in
 * place; a hash is copied field by field (O(fields)).
 */
int pkv_batch_rename(pkv_batch *b, unsigned dbi, const void *key,
		     size_t klen, unsigned ddbi, const void *dkey,
		     size_t dklen, unsigned flags);
int pkv_batch_copy(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   unsigned ddbi, const void *dkey, size_t dklen,
		   unsigned flags);

struct pkv_stats {
	uint64_t pool_size;           /* bytes of the pool file in use (it
					 grows with pkv_grow) */
	uint64_t heap_bytes;          /* of it, for blocks */
	uint64_t allocated_bytes;     /* in allocated blocks */
	double utilization;           /* allocated / heap */
	uint64_t keys, expires;       /* over every database */
	uint64_t payload_bytes;       /* key and value bytes written */
	uint64_t flushed_bytes;       /* cache lines flushed x 64 */
	uint64_t fences;
	double write_amplification;   /* flushed / payload */
	uint64_t recovery_ns;         /* redo recovery at open */
	int clean_shutdown;           /* whether the last close was clean */
	uint64_t expired_keys;        /* removed by active expiry */
	uint64_t gc_runs;
	uint64_t gc_last_mark_ns, gc_last_sweep_ns;
	uint64_t gc_live_blocks, gc_live_bytes;
	uint64_t gc_reclaimed_blocks, gc_reclaimed_bytes;  /* all runs */
	double gc_reclaim_rate;       /* last run */
	uint64_t gc_max_pause_ns;
	uint64_t damage_events;       /* damage found since open (pkv_damage) */
	/* the commit path since open */
	const char *backend;          /* "pmem", "file" or "memory" (static) */
	const char *backend_why;      /* a sentence: why that one */
	uint64_t commits;             /* durable commits (log records) */
	uint64_t log_bytes;           /* bytes of those records */
	uint64_t syncs;               /* data syncs issued (file backend) */
	uint64_t checkpoints;         /* write-backs that shortened the log */
	uint64_t checkpoint_ns;       /* time they took */
	uint64_t background_checkpoints;  /* of them, by the checkpointer
					 thread */
	uint64_t ring_waits;          /* commits that waited for a
					 checkpoint (log full) */
	uint64_t pool_max_size;       /* the most the pool may grow to */
	uint64_t heap_free_bytes;     /* in free chunks (room for new runs
					 and big values) */
	uint64_t headroom_bytes;      /* free chunks, and the growth up to
					 pool_max_size */
	uint64_t active_bytes;        /* in the chunks runs and spans hold */
	double frag_ratio;            /* active / allocated (Redis's
					 allocator_frag_ratio; 0 when
					 nothing is allocated) */
	uint64_t recovery_records;    /* redo records replayed at open */
	uint64_t recovery_entries;    /* the word and block changes in them */
	uint64_t ring_shares;         /* of ring_waits, the commits that
					 wrote back pages beside the
					 checkpoint they waited for */
};

/* pkv_stats -- the figures above (walks the heap's chunk table). */
int pkv_stats(pkv *db, struct pkv_stats *st);

/*
 * pkv_grow -- make the pool at least `size` bytes, online: the file is
 * lengthened (sparse: the new space is taken as it is used) and mapped
 * where the pool is, so nothing moves and readers and writers go on.  A
 * crash at any moment leaves the pool at its old size or its new one.
 * Returns 0 (also when it is that big already), PKV_EINVAL (beyond the
 * pool's max_size, or a pool made before pools could grow), PKV_EFULL
 * (the file system has no room), or -errno; pkv_errmsg says which.
 */
int pkv_grow(pkv *db, uint64_t size);

/* pkv_set_autogrow -- turn PKV_AUTOGROW on (nonzero) or off while open. */
void pkv_set_autogrow(pkv *db, int on);

/* What pkv_open found and chose: the same fields as in pkv_stats. */
struct pkv_open_info {
	uint64_t pool_size;           /* bytes in use now */
	uint64_t pool_max_size;       /* the most it may grow to */
	int clean_shutdown;
	uint64_t recovery_ns;
	const char *backend, *backend_why;
	uint64_t recovery_records, recovery_entries;
};

/* pkv_open_info -- those, in constant time (pkv_stats walks the heap,
 * which at first touches every run's bitmap). */
void pkv_open_info(const pkv *db, struct pkv_open_info *oi);

/*
 * pkv_damage -- damage found while the pool is open (a chain link that
 * cannot be an entry, a chain with no end): how many times, and the
 * first one's description copied to buf (len bytes; "" if none).  The
 * operations that meet damage fail with PKV_ECORRUPT; everything else is
 * served.  `pkv check` says more, and `pkv check --repair` or an export
 * salvages what is sound.
 */
int pkv_damage(pkv *db, char *buf, size_t len);

/*
 * pkv_memory_usage -- the pool bytes a key takes: its entry's block (key
 * and value, or a collection's header offset), and for a hash, set,
 * list or sorted set every block of the collection (fields, elements,
 * nodes, tables), each in its size class's block or whole chunks.  Walks
 * the whole collection, holding the key's stripe.  Returns 0 with
 * *bytes, PKV_ENOTFOUND, or an error.
 */
int pkv_memory_usage(pkv *db, unsigned dbi, const void *key, size_t klen,
		     uint64_t *bytes);

/* pkv_batch_memory_usage -- pkv_memory_usage inside a batch, holding the
 * key's stripe until the batch ends: the key as the batch left it (a
 * value it wrote, the elements it added to a collection and not those it
 * removed). */
int pkv_batch_memory_usage(pkv_batch *b, unsigned dbi, const void *key,
			   size_t klen, uint64_t *bytes);

/* pkv_gc -- run a whole collection now; 0 or an error (PKV_EBUSY if
 * the calling thread has a batch open or is inside a read, a scan's
 * callback: the collection waits until no transaction or read is in
 * flight). */
int pkv_gc(pkv *db);

/* What pkv_defrag did. */
struct pkv_defrag_stats {
	uint64_t runs;                /* sparse runs it emptied out */
	uint64_t moved;               /* keys' entries moved out of them */
	uint64_t skipped;             /* blocks left there: a collection's
					 fields, elements or nodes, or an
					 entry changed meanwhile */
	uint64_t runs_freed;          /* runs whose chunk went back to the
					 free chunks */
};

/*
 * pkv_defrag -- online defragmentation: in each size class the runs at
 * most half full, as many as the class's fuller runs have room for, stop
 * taking new blocks; each key's entry in them moves to a new block (one
 * durable transaction per 32 keys, beside readers and writers); the runs
 * left empty go back to the free chunks, for any size.  After deleting
 * keys at random, this is what lets values of another size use the room
 * (pkv compact does it offline, shrinking the file).  Blocks inside
 * collections do not move.  st (may be NULL) says what it did.  Returns
 * 0, PKV_EFULL (no room to move to: what moved stays moved) or an error.
 */
int pkv_defrag(pkv *db, struct pkv_defrag_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* PKV_H */
