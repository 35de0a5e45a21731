/*
 * keyspace.c -- commands' view of the keys (see keyspace.h): a thin
 * layer over the turn's library batch.  The library looks each key up
 * once, decides NX/XX/KEEPTTL and sees the batch's own writes; this file
 * adds only the group's boundaries, the per-command savepoint, and the
 * bookkeeping of a write (WATCH, dirty).
 */
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "keyspace.h"
#include "multi.h"
#include "srv.h"

static struct {
	pkv_batch *batch;             /* the turn's, begun by its first
					 command */
	int err;                      /* beginning it failed */
	void (*group_flush)(void);
} ks;

/* ks_batch -- the turn's batch, begun on first use; NULL (ks.err set)
 * without memory. */
static pkv_batch *ks_batch(void)
{
	if (!ks.batch) {
		ks.err = pkv_batch_begin(srv.db, &ks.batch);
		if (ks.err)
			ks.batch = NULL;
	}
	return ks.batch;
}

/* ks_prefetch -- see keyspace.h. */
void ks_prefetch(unsigned db, const struct resp_arg *args, size_t step,
		 size_t i, size_t n)
{
	const void *keys[KS_PREFETCH];
	size_t klens[KS_PREFETCH], m = 0;

	if (i % KS_PREFETCH)
		return;
	for (; i < n && m < KS_PREFETCH; i++, m++) {
		keys[m] = args[i * step].p;
		klens[m] = args[i * step].len;
	}
	if (m > 1)   /* one key alone: nothing to overlap */
		pkv_prefetch(srv.db, db, m, keys, klens);
}

/* ks_get -- through the batch (in place). */
int ks_get(unsigned db, const struct resp_arg *key, struct ks_val *v)
{
	struct pkv_ref ref;
	int err;

	memset(v, 0, sizeof(*v));
	if (!ks_batch())
		return ks.err;
	err = pkv_batch_get_ref(ks.batch, db, key->p, key->len, &ref);
	if (err)
		return err;
	v->p = ref.val;
	v->len = ref.vlen;
	v->expire_ms = ref.expire_ms;
	v->type = ref.type;
	return 0;
}

/* ks_release -- nothing to end: the batch keeps the value. */
void ks_release(struct ks_val *v)
{
	(void)v;
}

/* ks_count_read -- a read lookup, in INFO's stats. */
void ks_count_read(bool hit)
{
	if (hit)
		srv.keyspace_hits++;
	else
		srv.keyspace_misses++;
}

/* ks_exists -- a live key? */
bool ks_exists(unsigned db, const struct resp_arg *key)
{
	return ks_batch() &&
	       pkv_batch_exists(ks.batch, db, key->p, key->len) == 0;
}

/* ks_ttl -- a key's expiry. */
int ks_ttl(unsigned db, const struct resp_arg *key, int64_t *expire_ms)
{
	struct ks_val v;
	int err = ks_get(db, key, &v);

	if (!err)
		*expire_ms = v.expire_ms;
	return err;
}

/* ks_wrote -- bookkeeping after a successful write: WATCH, and clients
 * blocked on the key (it may now be a list with elements). */
static void ks_wrote(unsigned db, const struct resp_arg *key)
{
	multi_touch(db, key->p, key->len);
	blocking_touch(db, key->p, key->len);
	srv.dirty++;
}

/* ks_put -- a put into the batch. */
int ks_put(unsigned db, const struct resp_arg *key, const void *val,
	   size_t vlen, unsigned flags, int64_t expire_ms)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_put(ks.batch, db, key->p, key->len, val, vlen, flags,
			  expire_ms);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_incr -- an increment in the batch. */
int ks_incr(unsigned db, const struct resp_arg *key, long long incr,
	    long long *val)
{
	int64_t v;
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_incr(ks.batch, db, key->p, key->len, incr, &v);
	if (r == 0) {
		*val = v;
		ks_wrote(db, key);
	}
	return r;
}

/* ks_del -- a delete in the batch. */
int ks_del(unsigned db, const struct resp_arg *key)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_del(ks.batch, db, key->p, key->len);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_expire -- an expiry change in the batch. */
int ks_expire(unsigned db, const struct resp_arg *key, int64_t expire_ms)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_expire(ks.batch, db, key->p, key->len, expire_ms);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_dbsize -- keys as the turn left them. */
int ks_dbsize(unsigned db, uint64_t *keys, uint64_t *expires)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_dbsize(ks.batch, db, keys, expires);
}

/* ks_scan -- a scan step over the keys as the turn left them. */
int ks_scan(unsigned db, uint64_t cursor, unsigned count, pkv_scan_fn fn,
	    void *ctx, uint64_t *next)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_scan(ks.batch, db, cursor, count, fn, ctx, next);
}

/* ks_random_key -- a random key as the turn sees them. */
int ks_random_key(unsigned db, void *buf, size_t bufsize, size_t *klen)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_random_key(ks.batch, db, buf, bufsize, klen);
}

/* ---- hashes ---- */

/* ks_hset -- set a field: 0 new, PKV_EEXIST existed (replaced, or kept
 * with PKV_NX), PKV_EWRONGTYPE, or an error. */
int ks_hset(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *field, const struct resp_arg *val,
	    unsigned flags)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_hset(ks.batch, db, key->p, key->len, field->p,
			   field->len, val->p, val->len, flags);
	if (r == 0 || (r == PKV_EEXIST && !(flags & PKV_NX)))
		ks_wrote(db, key);
	return r;
}

/* ks_hincr -- add incr to a field's integer (pkv_batch_hincr). */
int ks_hincr(unsigned db, const struct resp_arg *key,
	     const struct resp_arg *field, long long incr, long long *val)
{
	int64_t v;
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_hincr(ks.batch, db, key->p, key->len, field->p,
			    field->len, incr, &v);
	if (r == 0) {
		*val = v;
		ks_wrote(db, key);
	}
	return r;
}

/* ks_hdel -- delete a field: 0, PKV_ENOTFOUND, PKV_EWRONGTYPE, or an
 * error. */
int ks_hdel(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *field)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_hdel(ks.batch, db, key->p, key->len, field->p,
			   field->len);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_hget -- a field's value in place (valid until the command's next
 * keyspace call). */
int ks_hget(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *field, struct ks_val *v)
{
	struct pkv_ref ref;
	int err;

	memset(v, 0, sizeof(*v));
	if (!ks_batch())
		return ks.err;
	err = pkv_batch_hget_ref(ks.batch, db, key->p, key->len, field->p,
				 field->len, &ref);
	if (err)
		return err;
	v->p = ref.val;
	v->len = ref.vlen;
	v->type = ref.type;
	return 0;
}

/* ks_hlen -- a hash's fields (0: no key). */
int ks_hlen(unsigned db, const struct resp_arg *key, uint64_t *n)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_hlen(ks.batch, db, key->p, key->len, n);
}

/* ks_hrandfield -- the field r picks and its value, in place: 0,
 * PKV_ENOTFOUND, or an error. */
int ks_hrandfield(unsigned db, const struct resp_arg *key, uint64_t r,
		  struct ks_val *field, struct ks_val *val)
{
	struct pkv_item it;
	int err;

	memset(field, 0, sizeof(*field));
	memset(val, 0, sizeof(*val));
	if (!ks_batch())
		return ks.err;
	err = pkv_batch_hrandfield_ref(ks.batch, db, key->p, key->len, r,
				       &it);
	if (!err) {
		field->p = it.key;
		field->len = it.klen;
		val->p = it.val;
		val->len = it.vlen;
	}
	return err;
}

/* ks_hscan -- a step of a scan of a hash's fields. */
int ks_hscan(unsigned db, const struct resp_arg *key, uint64_t cursor,
	     unsigned count, pkv_scan_fn fn, void *ctx, uint64_t *next)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_hscan(ks.batch, db, key->p, key->len, cursor, count,
			       fn, ctx, next);
}

/* ---- lists ---- */

/* ks_lpush -- push one element: 0 (length to *len), PKV_ENOTFOUND (PKV_XX
 * and no list), PKV_EWRONGTYPE, or an error. */
int ks_lpush(unsigned db, const struct resp_arg *key,
	     const struct resp_arg *val, unsigned flags, uint64_t *len)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_lpush(ks.batch, db, key->p, key->len, val->p, val->len,
			    flags, len);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_lpop -- pop one element into v (in place until the turn's commit):
 * 0, PKV_ENOTFOUND, PKV_EWRONGTYPE, or an error. */
int ks_lpop(unsigned db, const struct resp_arg *key, unsigned flags,
	    struct ks_val *v)
{
	struct pkv_ref ref;
	int r;

	memset(v, 0, sizeof(*v));
	if (!ks_batch())
		return ks.err;
	r = pkv_batch_lpop(ks.batch, db, key->p, key->len, flags, &ref);
	if (r == 0) {
		v->p = ref.val;
		v->len = ref.vlen;
		ks_wrote(db, key);
	}
	return r;
}

/* ks_llen -- a list's length (0: no key). */
int ks_llen(unsigned db, const struct resp_arg *key, uint64_t *n)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_llen(ks.batch, db, key->p, key->len, n);
}

/* ks_lindex -- the element at index in place: 0, PKV_ENOTFOUND, or an
 * error. */
int ks_lindex(unsigned db, const struct resp_arg *key, int64_t index,
	      struct ks_val *v)
{
	struct pkv_ref ref;
	int r;

	memset(v, 0, sizeof(*v));
	if (!ks_batch())
		return ks.err;
	r = pkv_batch_lindex_ref(ks.batch, db, key->p, key->len, index, &ref);
	if (r == 0) {
		v->p = ref.val;
		v->len = ref.vlen;
	}
	return r;
}

/* ks_lrange -- visit start..stop (PKV_TAIL: backwards). */
int ks_lrange(unsigned db, const struct resp_arg *key, int64_t start,
	      int64_t stop, unsigned flags, pkv_scan_fn fn, void *ctx)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_lrange(ks.batch, db, key->p, key->len, start, stop,
				flags, fn, ctx);
}

/* ks_lset -- replace the element at index: 0, PKV_ENOTFOUND, PKV_ERANGE,
 * PKV_EWRONGTYPE, or an error. */
int ks_lset(unsigned db, const struct resp_arg *key, int64_t index,
	    const struct resp_arg *val)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_lset(ks.batch, db, key->p, key->len, index, val->p,
			   val->len);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_linsert -- insert next to a pivot: 0 (length to *len),
 * PKV_ENOTFOUND (no list or pivot), PKV_EWRONGTYPE, or an error. */
int ks_linsert(unsigned db, const struct resp_arg *key, unsigned flags,
	       const struct resp_arg *pivot, const struct resp_arg *val,
	       uint64_t *len)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_linsert(ks.batch, db, key->p, key->len, flags, pivot->p,
			      pivot->len, val->p, val->len, len);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_lrem -- remove elements equal to val: 0 (how many to *removed),
 * PKV_ENOTFOUND, PKV_EWRONGTYPE, or an error. */
int ks_lrem(unsigned db, const struct resp_arg *key, int64_t count,
	    const struct resp_arg *val, uint64_t *removed)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_lrem(ks.batch, db, key->p, key->len, count, val->p,
			   val->len, removed);
	if (r == 0 && *removed)
		ks_wrote(db, key);
	return r;
}

/* ks_ltrim -- keep start..stop: 0, PKV_ENOTFOUND, PKV_EWRONGTYPE, or an
 * error. */
int ks_ltrim(unsigned db, const struct resp_arg *key, int64_t start,
	     int64_t stop)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_ltrim(ks.batch, db, key->p, key->len, start, stop);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ---- sets ---- */

/* ks_sadd -- add a member: 0 added, PKV_EEXIST, PKV_EWRONGTYPE, or an
 * error. */
int ks_sadd(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *member)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_sadd(ks.batch, db, key->p, key->len, member->p,
			   member->len);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_srem -- remove a member: 0, PKV_ENOTFOUND, PKV_EWRONGTYPE, or an
 * error. */
int ks_srem(unsigned db, const struct resp_arg *key, const void *member,
	    size_t mlen)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_srem(ks.batch, db, key->p, key->len, member, mlen);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_sismember -- 0 a member, PKV_ENOTFOUND, or an error. */
int ks_sismember(unsigned db, const struct resp_arg *key, const void *member,
		 size_t mlen)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_sismember(ks.batch, db, key->p, key->len, member,
				   mlen);
}

/* ks_scard -- the members (0: no key). */
int ks_scard(unsigned db, const struct resp_arg *key, uint64_t *n)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_scard(ks.batch, db, key->p, key->len, n);
}

/* ks_sscan -- a step of a scan of the members. */
int ks_sscan(unsigned db, const struct resp_arg *key, uint64_t cursor,
	     unsigned count, pkv_scan_fn fn, void *ctx, uint64_t *next)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_sscan(ks.batch, db, key->p, key->len, cursor, count,
			       fn, ctx, next);
}

/* ks_srandmember -- the member r picks, in place: 0, PKV_ENOTFOUND, or an
 * error. */
int ks_srandmember(unsigned db, const struct resp_arg *key, uint64_t r,
		   struct ks_val *v)
{
	struct pkv_item it;
	int err;

	memset(v, 0, sizeof(*v));
	if (!ks_batch())
		return ks.err;
	err = pkv_batch_srandmember_ref(ks.batch, db, key->p, key->len, r,
					&it);
	if (!err) {
		v->p = it.key;
		v->len = it.klen;
	}
	return err;
}

/* ---- sorted sets ---- */

/* ks_zadd -- add or rescore a member (pkv_batch_zadd's results). */
int ks_zadd(unsigned db, const struct resp_arg *key,
	    const struct resp_arg *member, double *score, unsigned flags)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_zadd(ks.batch, db, key->p, key->len, member->p,
			   member->len, score, flags);
	if (r == 0 || r == PKV_EEXIST)
		ks_wrote(db, key);
	return r;
}

/* ks_zrem -- remove a member: 0, PKV_ENOTFOUND, or an error. */
int ks_zrem(unsigned db, const struct resp_arg *key, const void *member,
	    size_t mlen)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_zrem(ks.batch, db, key->p, key->len, member, mlen);
	if (r == 0)
		ks_wrote(db, key);
	return r;
}

/* ks_zremrange -- remove a range; how many to *removed. */
int ks_zremrange(unsigned db, const struct resp_arg *key,
		 const struct pkv_zrange *q, uint64_t *removed)
{
	int r;

	*removed = 0;
	if (!ks_batch())
		return ks.err;
	r = pkv_batch_zremrange(ks.batch, db, key->p, key->len, q, removed);
	if (r == 0 && *removed)
		ks_wrote(db, key);
	return r;
}

int ks_zscore(unsigned db, const struct resp_arg *key, const void *member,
	      size_t mlen, double *score)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_zscore(ks.batch, db, key->p, key->len, member, mlen,
				score);
}

int ks_zcard(unsigned db, const struct resp_arg *key, uint64_t *n)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_zcard(ks.batch, db, key->p, key->len, n);
}

int ks_zrank(unsigned db, const struct resp_arg *key, const void *member,
	     size_t mlen, bool rev, uint64_t *rank)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_zrank(ks.batch, db, key->p, key->len, member, mlen,
			       rev, rank);
}

int ks_zrange(unsigned db, const struct resp_arg *key,
	      const struct pkv_zrange *q, pkv_zfn fn, void *ctx)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_zrange(ks.batch, db, key->p, key->len, q, fn, ctx);
}

int ks_zcount(unsigned db, const struct resp_arg *key,
	      const struct pkv_zrange *q, uint64_t *n)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_zcount(ks.batch, db, key->p, key->len, q, n);
}

int ks_zscan(unsigned db, const struct resp_arg *key, uint64_t cursor,
	     unsigned count, pkv_zfn fn, void *ctx, uint64_t *next)
{
	if (!ks_batch())
		return ks.err;
	return pkv_batch_zscan(ks.batch, db, key->p, key->len, cursor, count,
			       fn, ctx, next);
}

/* ---- keys of any type ---- */

/* ks_rename -- move key (any type, with its expiry) to dkey in ddb: 0,
 * PKV_ENOTFOUND, PKV_EEXIST (PKV_NX), or an error. */
int ks_rename(unsigned db, const struct resp_arg *key, unsigned ddb,
	      const struct resp_arg *dkey, unsigned flags)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_rename(ks.batch, db, key->p, key->len, ddb, dkey->p,
			     dkey->len, flags);
	if (r == 0) {
		ks_wrote(db, key);
		ks_wrote(ddb, dkey);
	}
	return r;
}

/* ks_copy -- copy key (any type) to dkey in ddb, as ks_rename. */
int ks_copy(unsigned db, const struct resp_arg *key, unsigned ddb,
	    const struct resp_arg *dkey, unsigned flags)
{
	int r;

	if (!ks_batch())
		return ks.err;
	r = pkv_batch_copy(ks.batch, db, key->p, key->len, ddb, dkey->p,
			   dkey->len, flags);
	if (r == 0)
		ks_wrote(ddb, dkey);
	return r;
}

/* ks_group_begin -- a turn starts: its first command begins the batch. */
void ks_group_begin(void)
{
}

/* ks_group_end -- commit everything the turn wrote. */
int ks_group_end(void)
{
	int err = 0;

	if (ks.batch)
		err = pkv_batch_commit(ks.batch, NULL);
	ks.batch = NULL;
	ks.err = 0;
	return err;
}

/* ks_group_submit -- ks_group_end, pipelined: the turn's writes are
 * applied and visible on return, durable once *ticket is (ks_durable);
 * the ticket also covers whatever the turn's reads saw. */
int ks_group_submit(uint64_t *ticket)
{
	int err = 0;

	if (ks.batch)
		err = pkv_batch_submit(ks.batch, NULL);
	ks.batch = NULL;
	ks.err = 0;
	*ticket = pkv_ticket(srv.db);
	return err;
}

/* ks_durable -- see keyspace.h. */
int ks_durable(uint64_t ticket, bool wait)
{
	return pkv_durable(srv.db, ticket, wait);
}

/* ks_durable_fd -- see keyspace.h. */
int ks_durable_fd(void)
{
	return pkv_durable_fd(srv.db);
}

/* ks_cmd_begin -- a savepoint before one command. */
void ks_cmd_begin(struct ks_cmd *cmd)
{
	cmd->batch = ks_batch();
	if (cmd->batch)
		pkv_batch_savepoint(cmd->batch, &cmd->sp);
}

/* ks_cmd_end -- undo the command if one of its writes failed; a database-
 * wide operation inside it may have committed the batch already. */
int ks_cmd_end(struct ks_cmd *cmd)
{
	int err;

	if (!ks.batch) {
		err = ks.err;
		ks.err = 0;           /* the next command tries again */
		return err;
	}
	err = pkv_batch_failed(ks.batch);
	if (err && cmd->batch == ks.batch)
		pkv_batch_rollback(ks.batch, &cmd->sp);
	return err;
}

/* ks_group_big -- see keyspace.h. */
bool ks_group_big(void)
{
	return ks.batch && pkv_batch_big(ks.batch);
}

void ks_set_group_flush(void (*fn)(void))
{
	ks.group_flush = fn;
}

/* ks_before_dbwide -- commit the turn's writes before an operation that
 * runs outside batches (GC, MEMORY USAGE). */
static void ks_before_dbwide(void)
{
	if (ks.batch && ks.group_flush)
		ks.group_flush();
	if (ks.batch) {               /* no loop to flush: commit here */
		pkv_batch_commit(ks.batch, NULL);
		ks.batch = NULL;
	}
}

/* ks_gc -- see keyspace.h. */
int ks_gc(void)
{
	ks_before_dbwide();
	return pkv_gc(srv.db);
}

/* ks_memory_usage -- see keyspace.h. */
int ks_memory_usage(unsigned db, const struct resp_arg *key, bool in_exec,
		    uint64_t *bytes)
{
	if (!in_exec) {
		ks_before_dbwide();
		return pkv_memory_usage(srv.db, db, key->p, key->len, bytes);
	}
	if (!ks_batch())
		return ks.err;
	return pkv_batch_memory_usage(ks.batch, db, key->p, key->len, bytes);
}

/* ks_flushdb -- see keyspace.h. */
int ks_flushdb(unsigned db)
{
	int err;

	if (!ks_batch())
		return ks.err;
	multi_touch_db(db, db);
	if (!(err = pkv_batch_flushdb(ks.batch, db)))
		srv.dirty++;
	return err;
}

/* ks_flushall -- see keyspace.h. */
int ks_flushall(void)
{
	int err;

	if (!ks_batch())
		return ks.err;
	for (unsigned d = 0; d < pkv_databases(srv.db); d++)
		multi_touch_db(d, d);
	if (!(err = pkv_batch_flushall(ks.batch)))
		srv.dirty++;
	return err;
}

/* ks_swapdb -- see keyspace.h. */
int ks_swapdb(unsigned a, unsigned b)
{
	int err;

	if (!ks_batch())
		return ks.err;
	multi_touch_db(a, b);
	if (!(err = pkv_batch_swapdb(ks.batch, a, b))) {
		srv.dirty++;
		/* any waited-on key may now be a list or sorted set */
		blocking_touch_all();
	}
	return err;
}
