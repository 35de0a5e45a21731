/*
 * keyspace.h -- how commands read and write keys: the pool (libpkv), seen
 * through the pending writes of a MULTI/EXEC being run.
 *
 * Outside EXEC every write call goes straight to the pool and is durable
 * when it returns.  Inside EXEC (ks_exec_begin .. ks_exec_end) writes are
 * collected in one libpkv batch and in an overlay that later reads of the
 * same EXEC see; ks_exec_end commits the batch as one transaction, and
 * only then are the replies sent.  Every write also marks the clients
 * WATCHing the key.
 *
 * Values read with ks_get may point into the pool (zero copy): the
 * command must ks_release them before it writes anything.
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
	struct pkv_ref ref;           /* when read in place */
	bool held;
};

/* ks_get -- the live value of key in db: 0 (release it with
 * ks_release), PKV_ENOTFOUND, or another error. */
int ks_get(unsigned db, const struct resp_arg *key, struct ks_val *v);
void ks_release(struct ks_val *v);

/* ks_exists -- whether key is live in db. */
bool ks_exists(unsigned db, const struct resp_arg *key);

/* ks_put -- pkv_put through the overlay: 0, PKV_EEXIST (PKV_NX),
 * PKV_ENOTFOUND (PKV_XX), or an error (PKV_EFULL...). */
int ks_put(unsigned db, const struct resp_arg *key, const void *val,
	   size_t vlen, unsigned flags, int64_t expire_ms);

/* ks_del -- 0 or PKV_ENOTFOUND (or an error). */
int ks_del(unsigned db, const struct resp_arg *key);

/* ks_expire -- set (0: remove) an expiry: 0 or PKV_ENOTFOUND. */
int ks_expire(unsigned db, const struct resp_arg *key, int64_t expire_ms);

/* ks_ttl -- the expiry (0: none): 0 or PKV_ENOTFOUND. */
int ks_ttl(unsigned db, const struct resp_arg *key, int64_t *expire_ms);

/*
 * ks_batch_begin / ks_batch_end -- group several writes of ONE command
 * (MSET, RENAME, MOVE) into one transaction.  Inside EXEC they are part
 * of the EXEC's batch already.  ks_batch_end returns the commit's error.
 */
void ks_batch_begin(void);
int ks_batch_end(void);

/* ks_exec_begin / ks_exec_end -- the span of an EXEC (see above). */
void ks_exec_begin(void);
int ks_exec_end(void);
bool ks_in_exec(void);

/*
 * Group commit.  The event loop runs every request that arrived in one
 * turn, from all clients, inside a group: their writes gather in one
 * batch (commands see each other's pending writes), ks_group_end commits
 * it, and only then are the replies sent -- one durable commit for many
 * writes, and still no reply before its write is durable.  EXEC and
 * multi-key batches nest inside the group.  ks_group_ops counts the
 * writes pending, so the loop can commit before the batch outgrows one
 * redo log.  A database-wide operation first calls the flush function the
 * loop registered, so writes before it are not applied after it.
 */
void ks_group_begin(void);
int ks_group_end(void);
size_t ks_group_ops(void);
void ks_set_group_flush(void (*fn)(void));

/* Database-wide operations (not allowed inside a ks batch). */
int ks_flushdb(unsigned db);
int ks_flushall(void);
int ks_swapdb(unsigned a, unsigned b);

#endif /* PKV_KEYSPACE_H */
