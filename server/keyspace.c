/*
 * keyspace.c -- commands' view of the keys (see keyspace.h).
 *
 * In batch mode (an EXEC, or one multi-key command) the conditions of
 * each write (NX, XX, KEEPTTL, "exists") are decided here against the
 * overlay and the pool -- the server is the only writer, so nothing
 * changes underneath -- and the batch receives unconditional operations.
 */
#include <stdlib.h>
#include <string.h>

#include "keyspace.h"
#include "multi.h"
#include "srv.h"

/* A pending write seen by later reads of the same batch. */
struct ovl {
	uint64_t hash;                /* of the key, to skip most compares */
	unsigned db;
	char *key;
	size_t klen;
	bool present;
	char *val;
	size_t vlen;
	int64_t exp;
};

static struct {
	bool group;                   /* a group commit is open */
	size_t nops;                  /* writes added to the batch */
	void (*group_flush)(void);
	bool in_exec;
	int depth;                    /* ks_batch_begin nesting */
	pkv_batch *batch;
	int err;                      /* first failure adding to the batch */
	struct ovl *ov;
	size_t n, cap;
} ks;

static bool ks_batching(void)
{
	return ks.group || ks.in_exec || ks.depth > 0;
}

/* key_hash -- FNV-1a of a key. */
static uint64_t key_hash(const struct resp_arg *key)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < key->len; i++)
		h = (h ^ (unsigned char)key->p[i]) * 0x100000001b3ull;
	return h;
}

/* ovl_find -- the overlay entry of (db, key), or NULL. */
static struct ovl *ovl_find(unsigned db, const struct resp_arg *key)
{
	uint64_t h;

	if (!ks.n)
		return NULL;
	h = key_hash(key);
	for (size_t i = ks.n; i-- > 0;)
		if (ks.ov[i].hash == h && ks.ov[i].db == db &&
		    ks.ov[i].klen == key->len &&
		    memcmp(ks.ov[i].key, key->p, key->len) == 0)
			return &ks.ov[i];
	return NULL;
}

/* ovl_set -- record the new state of a key. */
static void ovl_set(unsigned db, const struct resp_arg *key, bool present,
		    const void *val, size_t vlen, int64_t exp)
{
	struct ovl *o = ovl_find(db, key);
	char *copy = NULL;

	if (present) {
		copy = malloc(vlen ? vlen : 1);
		if (!copy) {
			ks.err = -12;
			return;
		}
		memcpy(copy, val, vlen);
	}
	if (!o) {
		if (ks.n == ks.cap) {
			size_t cap = ks.cap ? 2 * ks.cap : 16;
			struct ovl *n = realloc(ks.ov, cap * sizeof(*n));
			if (!n) {
				free(copy);
				ks.err = -12;
				return;
			}
			ks.ov = n;
			ks.cap = cap;
		}
		o = &ks.ov[ks.n++];
		o->hash = key_hash(key);
		o->db = db;
		o->klen = key->len;
		o->key = malloc(key->len ? key->len : 1);
		if (o->key)
			memcpy(o->key, key->p, key->len);
		else
			ks.err = -12;
	} else {
		free(o->val);
	}
	o->present = present;
	o->val = copy;
	o->vlen = vlen;
	o->exp = exp;
}

/* ks_get -- overlay first, then the pool (in place). */
int ks_get(unsigned db, const struct resp_arg *key, struct ks_val *v)
{
	int err;

	memset(v, 0, sizeof(*v));
	if (ks_batching()) {
		struct ovl *o = ovl_find(db, key);
		if (o) {
			if (!o->present)
				return PKV_ENOTFOUND;
			v->p = o->val;
			v->len = o->vlen;
			v->expire_ms = o->exp;
			return 0;
		}
	}
	err = pkv_get_ref(srv.db, db, key->p, key->len, &v->ref);
	if (err)
		return err;
	v->p = v->ref.val;
	v->len = v->ref.vlen;
	v->expire_ms = v->ref.expire_ms;
	v->held = true;
	return 0;
}

/* ks_release -- end an in-place read. */
void ks_release(struct ks_val *v)
{
	if (v->held)
		pkv_ref_release(&v->ref);
	v->held = false;
}

/* ks_exists -- a live key? */
bool ks_exists(unsigned db, const struct resp_arg *key)
{
	struct ks_val v;
	if (ks_get(db, key, &v))
		return false;
	ks_release(&v);
	return true;
}

/* ks_ttl -- a key's expiry. */
int ks_ttl(unsigned db, const struct resp_arg *key, int64_t *expire_ms)
{
	struct ks_val v;
	int err = ks_get(db, key, &v);

	if (err)
		return err;
	*expire_ms = v.expire_ms;
	ks_release(&v);
	return 0;
}

/* ks_wrote -- bookkeeping after a successful write. */
static void ks_wrote(unsigned db, const struct resp_arg *key)
{
	multi_touch(db, key->p, key->len);
	srv.dirty++;
}

/* ks_batch_ok -- the batch exists (created on first use). */
static bool ks_batch_ok(void)
{
	if (!ks.batch && !ks.err)
		ks.err = pkv_batch_begin(srv.db, &ks.batch);
	return ks.batch != NULL;
}

/* ks_put -- a put, direct or into the batch. */
int ks_put(unsigned db, const struct resp_arg *key, const void *val,
	   size_t vlen, unsigned flags, int64_t expire_ms)
{
	int err;

	if (!ks_batching()) {
		err = pkv_put(srv.db, db, key->p, key->len, val, vlen, flags,
			      expire_ms);
		if (!err)
			ks_wrote(db, key);
		return err;
	}
	struct ks_val cur;
	bool present = ks_get(db, key, &cur) == 0;
	int64_t exp = expire_ms;
	if (present) {
		if (flags & PKV_KEEPTTL)
			exp = cur.expire_ms;
		ks_release(&cur);
	} else if (flags & PKV_KEEPTTL) {
		exp = 0;
	}
	if ((flags & PKV_NX) && present)
		return PKV_EEXIST;
	if ((flags & PKV_XX) && !present)
		return PKV_ENOTFOUND;
	if (!ks_batch_ok())
		return ks.err;
	if ((err = pkv_batch_put(ks.batch, db, key->p, key->len, val, vlen, 0,
				 exp)))
		return ks.err = err;   /* the whole batch fails */
	ks.nops++;
	ovl_set(db, key, !(exp && exp <= pkv_now_ms()), val, vlen, exp);
	ks_wrote(db, key);
	return 0;
}

/* ks_del -- a delete, direct or into the batch. */
int ks_del(unsigned db, const struct resp_arg *key)
{
	int err;

	if (!ks_batching()) {
		err = pkv_del(srv.db, db, key->p, key->len);
		if (!err)
			ks_wrote(db, key);
		return err;
	}
	if (!ks_exists(db, key))
		return PKV_ENOTFOUND;
	if (!ks_batch_ok())
		return ks.err;
	if ((err = pkv_batch_del(ks.batch, db, key->p, key->len)))
		return ks.err = err;
	ks.nops++;
	ovl_set(db, key, false, NULL, 0, 0);
	ks_wrote(db, key);
	return 0;
}

/* ks_expire -- an expiry change, direct or into the batch. */
int ks_expire(unsigned db, const struct resp_arg *key, int64_t expire_ms)
{
	struct ks_val cur;
	int err;

	if (!ks_batching()) {
		err = pkv_expire(srv.db, db, key->p, key->len, expire_ms);
		if (!err)
			ks_wrote(db, key);
		return err;
	}
	if (ks_get(db, key, &cur))
		return PKV_ENOTFOUND;
	if (!ks_batch_ok()) {
		ks_release(&cur);
		return ks.err;
	}
	err = pkv_batch_expire(ks.batch, db, key->p, key->len, expire_ms);
	if (err)
		ks.err = err;
	if (!err) {
		ks.nops++;
		/* the overlay keeps the value: copy it before releasing */
		ovl_set(db, key, !(expire_ms && expire_ms <= pkv_now_ms()),
			cur.p, cur.len, expire_ms);
		ks_wrote(db, key);
	}
	ks_release(&cur);
	return err;
}

/* ks_commit -- commit the batch and forget the overlay. */
static int ks_commit(void)
{
	int err = ks.err;

	if (ks.batch) {
		if (err)
			pkv_batch_abort(ks.batch);
		else
			err = pkv_batch_commit(ks.batch, NULL);
	}
	ks.batch = NULL;
	ks.err = 0;
	ks.nops = 0;
	for (size_t i = 0; i < ks.n; i++) {
		free(ks.ov[i].key);
		free(ks.ov[i].val);
	}
	ks.n = 0;
	return err;
}

void ks_batch_begin(void)
{
	ks.depth++;
}

int ks_batch_end(void)
{
	if (--ks.depth > 0 || ks.in_exec || ks.group)
		return ks.err;
	return ks_commit();
}

void ks_exec_begin(void)
{
	ks.in_exec = true;
}

int ks_exec_end(void)
{
	ks.in_exec = false;
	return ks.group ? ks.err : ks_commit();
}

void ks_group_begin(void)
{
	ks.group = true;
}

/* ks_group_end -- commit everything the group gathered. */
int ks_group_end(void)
{
	ks.group = false;
	return ks_commit();
}

size_t ks_group_ops(void)
{
	return ks.nops;
}

void ks_set_group_flush(void (*fn)(void))
{
	ks.group_flush = fn;
}

/* ks_before_dbwide -- commit pending writes before a flush or swap. */
static void ks_before_dbwide(void)
{
	if (ks.group && (ks.nops || ks.batch) && ks.group_flush)
		ks.group_flush();
}

bool ks_in_exec(void)
{
	return ks.in_exec;
}

/* ks_flushdb -- empty one database. */
int ks_flushdb(unsigned db)
{
	int err;

	ks_before_dbwide();
	multi_touch_db(db, db);
	err = pkv_flushdb(srv.db, db);
	if (!err)
		srv.dirty++;
	return err;
}

/* ks_flushall -- empty every database. */
int ks_flushall(void)
{
	int err;

	ks_before_dbwide();
	for (unsigned d = 0; d < pkv_databases(srv.db); d++)
		multi_touch_db(d, d);
	err = pkv_flushall(srv.db);
	if (!err)
		srv.dirty++;
	return err;
}

/* ks_swapdb -- exchange two databases. */
int ks_swapdb(unsigned a, unsigned b)
{
	int err;

	ks_before_dbwide();
	multi_touch_db(a, b);
	err = pkv_swapdb(srv.db, a, b);
	if (!err)
		srv.dirty++;
	return err;
}
