/*
 * keyspace.h -- how commands read and write keys: through the event loop
 * turn's batch of the library (pkv_batch), which sees its own writes.
 *
 * Group commit.  Every request that arrives in one turn of the loop, from
 * all clients, runs in one batch: a command reads and writes the keys as
 * the commands before it left them (DBSIZE, KEYS and SCAN included), and
 * ks_group_end commits everything in one durable transaction before the
 * replies are sent -- one commit for many writes, and no reply before its
 * write is durable.  EXEC and multi-key commands run inside the same
 * batch; a crash keeps all of the turn's writes or none.
 *
 * One command fails alone.  The loop brackets each command with
 * ks_cmd_begin/ks_cmd_end: a savepoint before it, and after it, if any of
 * its writes failed (the pool is full), a rollback of everything it
 * wrote, so the other clients' commands of the turn commit as if it had
 * not been sent; ks_cmd_end then returns the error for the loop to reply
 * with.
 *
 * Values read with ks_get point into the pool (zero copy) and stay valid
 * until the command's next keyspace call.  Every write also marks the
 * clients WATCHing the key.
 */
#ifndef PKV_KEYSPACE_H
#define PKV_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkv.h"
#include "proto/resp.h"

struct client;

struct ks_val {
	const char *p;                /* the value */
	size_t len;
	int64_t expire_ms;            /* 0: none */
	unsigned type;                /* PKV_TYPE_* */
};

/* ks_get -- the live value of key in db: 0, PKV_ENOTFOUND, or another
 * error.  (ks_release is kept for the commands' symmetry; it does
 * nothing.) */
int ks_get(unsigned db, const struct resp_arg *key, struct ks_val *v);
void ks_release(struct ks_val *v);

/* ks_count_read -- count one key lookup of a reading command in
 * keyspace_hits or keyspace_misses, as Redis's lookupKeyRead does. */
void ks_count_read(bool hit);

#define KS_PREFETCH 16   /* keys a ks_prefetch covers */

/* ks_prefetch -- a hint before a command's loop over keys: at i = 0, 16,
 * 32..., the keys args[i * step], args[(i + 1) * step]... (16 of them, or
 * to the n-th) are about to be used: their lookups' cache misses overlap
 * (pkv_prefetch). */
void ks_prefetch(unsigned db, const struct resp_arg *args, size_t step,
		 size_t i, size_t n);

/* ks_exists -- whether key is live in db. */
bool ks_exists(unsigned db, const struct resp_arg *key);

/* ks_put -- a put, with its condition decided by the library: 0,
 * PKV_EEXIST (PKV_NX), PKV_ENOTFOUND (PKV_XX), or an error (PKV_EFULL...:
 * the command fails). */
int ks_put(unsigned db, const struct resp_arg *key, const void *val,
	   size_t vlen, unsigned flags, int64_t expire_ms);

/* ks_incr -- add incr to key's integer (pkv_batch_incr), the sum to
 * *val: 0, PKV_EWRONGTYPE, PKV_ENOTINT, PKV_EOVERFLOW, or an error. */
int ks_incr(unsigned db, const struct resp_arg *key, long long incr,
	    long long *val);

/* ks_del -- 0 or PKV_ENOTFOUND (or an error). */
int ks_del(unsigned db, const struct resp_arg *key);

/* ks_expire -- set (0: remove) an expiry: 0 or PKV_ENOTFOUND. */
int ks_expire(unsigned db, const struct resp_arg *key, int64_t expire_ms);

/* ks_ttl -- the expiry (0: none): 0 or PKV_ENOTFOUND. */
int ks_ttl(unsigned db, const struct resp_arg *key, int64_t *expire_ms);

/* ks_dbsize, ks_scan, ks_random_key -- pkv_batch_dbsize, pkv_batch_scan
 * and pkv_batch_random_key on the turn's batch. */
int ks_dbsize(unsigned db, uint64_t *keys, uint64_t *expires);
int ks_scan(unsigned db, uint64_t cursor, unsigned count, pkv_scan_fn fn,
	    void *ctx, uint64_t *next);
int ks_random_key(unsigned db, void *buf, size_t bufsize, size_t *klen);

/* ks_hincr -- add incr to a field's integer (pkv_batch_hincr), the sum
 * to *val: 0, PKV_EWRONGTYPE, PKV_ENOTINT, PKV_EOVERFLOW, or an error. */
int ks_hincr(unsigned db, const struct resp_arg *key,
	     const struct resp_arg *field, long long incr, long long *val);

/* Hashes (pkv_batch_hset... on the turn's batch): ks_hset returns 0
 * (new field), PKV_EEXIST (it existed: replaced, or kept with PKV_NX),
 * PKV_EWRONGTYPE or an error; ks_hdel 0, PKV_ENOTFOUND, PKV_EWRONGTYPE;
 * ks_hget a field's value in place, as ks_get; ks_hlen 0 for no key;
 * ks_hrandfield the field r picks and its value, in place. */
int ks_hset(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *field, const struct resp_arg *val,
	    unsigned flags);
int ks_hdel(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *field);
int ks_hget(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *field, struct ks_val *v);
int ks_hlen(unsigned db, const struct resp_arg *key, uint64_t *n);
int ks_hrandfield(unsigned db, const struct resp_arg *key, uint64_t r,
		  struct ks_val *field, struct ks_val *val);
int ks_hscan(unsigned db, const struct resp_arg *key, uint64_t cursor,
	     unsigned count, pkv_scan_fn fn, void *ctx, uint64_t *next);

/* Lists (pkv_batch_lpush... on the turn's batch): results as the
 * library's; elements read (ks_lpop, ks_lindex) are in place until the
 * command's next keyspace call. */
int ks_lpush(unsigned db, const struct resp_arg *key,
	     const struct resp_arg *val, unsigned flags, uint64_t *len);
int ks_lpop(unsigned db, const struct resp_arg *key, unsigned flags,
	    struct ks_val *v);
int ks_llen(unsigned db, const struct resp_arg *key, uint64_t *n);
int ks_lindex(unsigned db, const struct resp_arg *key, int64_t index,
	      struct ks_val *v);
int ks_lrange(unsigned db, const struct resp_arg *key, int64_t start,
	      int64_t stop, unsigned flags, pkv_scan_fn fn, void *ctx);
int ks_lset(unsigned db, const struct resp_arg *key, int64_t index,
	    const struct resp_arg *val);
int ks_linsert(unsigned db, const struct resp_arg *key, unsigned flags,
	       const struct resp_arg *pivot, const struct resp_arg *val,
	       uint64_t *len);
int ks_lrem(unsigned db, const struct resp_arg *key, int64_t count,
	    const struct resp_arg *val, uint64_t *removed);
int ks_ltrim(unsigned db, const struct resp_arg *key, int64_t start,
	     int64_t stop);

/* Sets (pkv_batch_sadd... on the turn's batch): results as the
 * library's; ks_srandmember gives the member r picks, in place. */
int ks_sadd(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *member);
int ks_srem(unsigned db, const struct resp_arg *key, const void *member,
	    size_t mlen);
int ks_sismember(unsigned db, const struct resp_arg *key, const void *member,
		 size_t mlen);
int ks_scard(unsigned db, const struct resp_arg *key, uint64_t *n);
int ks_sscan(unsigned db, const struct resp_arg *key, uint64_t cursor,
	     unsigned count, pkv_scan_fn fn, void *ctx, uint64_t *next);
int ks_srandmember(unsigned db, const struct resp_arg *key, uint64_t r,
		   struct ks_val *v);

/* Sorted sets (pkv_batch_zadd... on the turn's batch): results as the
 * library's. */
int ks_zadd(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *member, double *score, unsigned flags);
int ks_zrem(unsigned db, const struct resp_arg *key, const void *member,
	    size_t mlen);
int ks_zremrange(unsigned db, const struct resp_arg *key,
		 const struct pkv_zrange *q, uint64_t *removed);
int ks_zscore(unsigned db, const struct resp_arg *key, const void *member,
	      size_t mlen, double *score);
int ks_zcard(unsigned db, const struct resp_arg *key, uint64_t *n);
int ks_zrank(unsigned db, const struct resp_arg *key, const void *member,
	     size_t mlen, bool rev, uint64_t *rank);
int ks_zrange(unsigned db, const struct resp_arg *key,
	      const struct pkv_zrange *q, pkv_zfn fn, void *ctx);
int ks_zcount(unsigned db, const struct resp_arg *key,
	      const struct pkv_zrange *q, uint64_t *n);
int ks_zscan(unsigned db, const struct resp_arg *key, uint64_t cursor,
	     unsigned count, pkv_zfn fn, void *ctx, uint64_t *next);

/* Keys of any type: move or copy key to dkey in database ddb (replacing
 * it unless PKV_NX): 0, PKV_ENOTFOUND, PKV_EEXIST, or an error. */
int ks_rename(unsigned db, const struct resp_arg *key, unsigned ddb,
	      const struct resp_arg *dkey, unsigned flags);
int ks_copy(unsigned db, const struct resp_arg *key, unsigned ddb,
	    const struct resp_arg *dkey, unsigned flags);

/* The loop's turn (see above). */
void ks_group_begin(void);
int ks_group_end(void);
/* ks_group_submit -- end the turn without waiting for its sync (on a
 * disk): its replies wait until ks_durable(ticket) says 1 (or an error:
 * they become errors).  ks_durable_fd is readable whenever more is
 * durable (-1: always durable at once). */
int ks_group_submit(uint64_t *ticket);
int ks_durable(uint64_t ticket, bool wait);
int ks_durable_fd(void);

/* One command of the turn (see above): ks_cmd_end returns 0, or the
 * error its writes failed with (they are all undone).  They nest (EXEC
 * brackets each queued command too). */
struct ks_cmd {
	struct pkv_savepoint sp;
	pkv_batch *batch;             /* the batch sp belongs to */
};
void ks_cmd_begin(struct ks_cmd *cmd);
int ks_cmd_end(struct ks_cmd *cmd);

/* ks_group_big -- whether the turn's batch should be committed now,
 * before its next command (pkv_batch_big: a record bigger than a log
 * ring needs heap space to commit, which a full pool does not have, and
 * the whole group would fail). */
bool ks_group_big(void);

/* ks_set_group_flush -- what a database-wide operation calls first, so
 * the writes before it are committed before it runs. */
void ks_set_group_flush(void (*fn)(void));

/* ks_flushdb, ks_flushall, ks_swapdb -- whole databases, as operations
 * of the turn's batch (pkv_batch_flushdb...): committed with the commands
 * around them, so that an EXEC which writes keys and flushes or swaps is
 * kept whole or not at all across a crash. */
int ks_flushdb(unsigned db);
int ks_flushall(void);
int ks_swapdb(unsigned a, unsigned b);

/* ks_gc -- collect the pool's garbage now (pkv_gc), after the turn's
 * writes are committed: the collection waits until no transaction is in
 * flight, and the turn's open batch, in this very thread, would be one
 * forever (one client's "SET a 1\r\nGC\r\n" froze the server).  Not
 * for EXEC, whose commands must commit together (GC refuses MULTI). */
int ks_gc(void);

/* ks_memory_usage -- the pool bytes key takes: after the turn's writes
 * are committed (pkv_memory_usage's walk holds the key's stripe, as the
 * turn's batch may), or, `in_exec`, through the batch
 * (pkv_batch_memory_usage: an EXEC's commands must commit together). */
int ks_memory_usage(unsigned db, const struct resp_arg *key, bool in_exec,
		    uint64_t *bytes);

#endif /* PKV_KEYSPACE_H */
