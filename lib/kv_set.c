/*
 * kv_set.c -- the calls of pkv.h on sets (add, remove, membership, count,
 * scan, a random member), alone or in a batch.
 *
 * A set is a hash's table (type_hash.c) under a key of type PKV_TYPE_SET,
 * its members the fields, each with an empty value: SADD and SREM are the
 * batch's KV_OP_SADD and KV_OP_SREM, written by kv_hset and kv_hdel.
 * Reads hold the key's stripe, as hash reads do.
 */
#include <string.h>

#include "kv_batch.h"

/* kv_set_read -- the table of key's set (kv_coll_read). */
static int kv_set_read(pkv_batch *b, unsigned dbi, const void *key,
		       size_t klen, uint64_t *hoffp)
{
	return kv_coll_read(b, dbi, key, klen, PKV_TYPE_SET,
			    sizeof(struct kv_hash_hdr), hoffp);
}

int pkv_batch_sadd(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *member, size_t mlen)
{
	struct kv_op op = { .op = KV_OP_SADD, .dbi = dbi, .key = key,
			    .klen = klen, .field = member, .flen = mlen };
	return kv_exec(b, &op);
}

int pkv_batch_srem(pkv_batch *b, unsigned dbi, const void *key, size_t klen,
		   const void *member, size_t mlen)
{
	struct kv_op op = { .op = KV_OP_SREM, .dbi = dbi, .key = key,
			    .klen = klen, .field = member, .flen = mlen };
	return kv_exec(b, &op);
}

/* pkv_batch_sismember -- whether member is in the set as the batch left
 * it: 0 or PKV_ENOTFOUND. */
int pkv_batch_sismember(pkv_batch *b, unsigned dbi, const void *key,
			size_t klen, const void *member, size_t mlen)
{
	struct kv_loc loc;
	uint64_t hoff;
	int r;

	if (!member && mlen)
		return kv_err(b->db, PKV_EINVAL, "NULL member");
	if ((r = kv_set_read(b, dbi, key, klen, &hoff)))
		return r;
	if (!hoff)
		return PKV_ENOTFOUND;
	r = hash_find(b->db, kv_view(b), hoff, kv_hash(b->db, member, mlen),
		      member, mlen, &loc);
	return r < 0 ? r : r ? 0 : PKV_ENOTFOUND;
}

/* pkv_batch_scard -- the members as the batch left them. */
int pkv_batch_scard(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t *n)
{
	uint64_t hoff;
	int r = kv_set_read(b, dbi, key, klen, &hoff);

	if (!r && n)
		*n = hoff ? hash_count(b->db, kv_view(b), hoff) : 0;
	return r;
}

/* pkv_batch_sscan -- a step of a scan of the members. */
int pkv_batch_sscan(pkv_batch *b, unsigned dbi, const void *key,
		    size_t klen, uint64_t cursor, unsigned count,
		    pkv_scan_fn fn, void *ctx, uint64_t *next)
{
	uint64_t hoff;
	int r;

	if (!fn || !next)
		return kv_err(b->db, PKV_EINVAL, "NULL argument");
	*next = 0;
	if ((r = kv_set_read(b, dbi, key, klen, &hoff)) || !hoff)
		return r;
	return hash_scan(b->db, kv_view(b), b, hoff, cursor, count, fn, ctx,
			 next);
}

/* pkv_batch_srandmember_ref -- the member r picks. */
int pkv_batch_srandmember_ref(pkv_batch *b, unsigned dbi, const void *key,
			      size_t klen, uint64_t r, struct pkv_item *item)
{
	uint64_t hoff;
	int err;

	if (!item)
		return kv_err(b->db, PKV_EINVAL, "NULL argument");
	if ((err = kv_set_read(b, dbi, key, klen, &hoff)))
		return err;
	err = kv_random_field(b, dbi, hoff, r, item);
	if (!err)
		item->val = "";
	return err;
}

/* ---- single calls ---- */

int pkv_sadd(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *member, size_t mlen)
{
	struct kv_op op = { .op = KV_OP_SADD, .dbi = dbi, .key = key,
			    .klen = klen, .field = member, .flen = mlen };
	return kv_one(db, &op);
}

int pkv_srem(pkv *db, unsigned dbi, const void *key, size_t klen,
	     const void *member, size_t mlen)
{
	struct kv_op op = { .op = KV_OP_SREM, .dbi = dbi, .key = key,
			    .klen = klen, .field = member, .flen = mlen };
	return kv_one(db, &op);
}

int pkv_sismember(pkv *db, unsigned dbi, const void *key, size_t klen,
		  const void *member, size_t mlen)
{
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_sismember(b, dbi, key, klen, member, mlen);
	kv_batch_free(b);
	return err;
}

int pkv_scard(pkv *db, unsigned dbi, const void *key, size_t klen,
	      uint64_t *n)
{
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_scard(b, dbi, key, klen, n);
	kv_batch_free(b);
	return err;
}

int pkv_sscan(pkv *db, unsigned dbi, const void *key, size_t klen,
	      uint64_t cursor, unsigned count, pkv_scan_fn fn, void *ctx,
	      uint64_t *next)
{
	pkv_batch *b;
	int err = kv_batch_new(db, false, &b);

	if (err)
		return err;
	err = pkv_batch_sscan(b, dbi, key, klen, cursor, count, fn, ctx, next);
	kv_batch_free(b);
	return err;
}
