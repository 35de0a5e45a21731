/*
 * cmd_hash.c -- the hash commands of Redis 7.0: HSET HSETNX HMSET HGET
 * HMGET HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS HGETALL HINCRBY
 * HINCRBYFLOAT HRANDFIELD HSCAN, with Redis's replies and errors.
 *
 * The hash itself is the library's (pkv.h, "Hashes"): a field write is
 * one operation of the turn's batch and costs the same whatever the size
 * of the hash.  A command that writes several fields stops at the first
 * failure; the loop then takes back everything the command wrote
 * (keyspace.h), so it fails whole.  A command on a key of another type
 * answers WRONGTYPE before it writes anything: the library decides it on
 * the first field.
 *
 * Commands that answer with many fields (HKEYS, HVALS, HGETALL,
 * HRANDFIELD) walk the whole hash with the library's scan, as Redis
 * walks its dict: O(fields).  Values they send are read in place.
 *
 * keyspace_hits/misses count the key lookups of the reading commands, as
 * Redis's lookupKeyRead does.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "cmd.h"
#include "keyspace.h"
#include "proto/glob.h"
#include "proto/num.h"
#include "scanargs.h"
#include "srv.h"

#define HASH_SCAN_STEP 1024u   /* buckets per library scan step */

/*
 * hash_len -- the fields of key in c's database (0: no key), counting the
 * lookup as a read when `stats`.  Returns false after replying an error
 * (WRONGTYPE, damage).
 */
static bool hash_len(struct client *c, const struct resp_arg *key,
		     uint64_t *n, bool stats)
{
	int err = ks_hlen(c->db, key, n);

	if (err) {
		if (stats)
			ks_count_read(true);
		reply_err_kv(c, err);
		return false;
	}
	if (stats)
		ks_count_read(*n > 0);
	return true;
}

/* hash_set_pairs -- HSET and HMSET: every field-value pair; the number
 * of new fields to *added.  False after replying an error. */
static bool hash_set_pairs(struct client *c, uint64_t *added)
{
	*added = 0;
	if (c->argc % 2 == 1) {
		reply_err_arity(c, c->last_cmd);
		return false;
	}
	for (size_t j = 2; j + 1 < c->argc; j += 2) {
		int r = ks_hset(c->db, &c->argv[1], &c->argv[j],
				&c->argv[j + 1], 0);
		if (r == 0)
			(*added)++;
		else if (r != PKV_EEXIST) {
			reply_err_kv(c, r);
			return false;
		}
	}
	return true;
}

/* cmd_hset -- HSET key field value [field value ...]: new fields. */
static void cmd_hset(struct client *c)
{
	uint64_t added;

	if (hash_set_pairs(c, &added))
		reply_int(c, (int64_t)added);
}

/* cmd_hmset -- HMSET key field value [field value ...]: OK. */
static void cmd_hmset(struct client *c)
{
	uint64_t added;

	if (hash_set_pairs(c, &added))
		reply_ok(c);
}

/* cmd_hsetnx -- HSETNX key field value: 1 set, 0 the field existed. */
static void cmd_hsetnx(struct client *c)
{
	int r = ks_hset(c->db, &c->argv[1], &c->argv[2], &c->argv[3], PKV_NX);

	if (r == 0)
		reply_int(c, 1);
	else if (r == PKV_EEXIST)
		reply_int(c, 0);
	else
		reply_err_kv(c, r);
}

/*
 * hash_get -- field of key: 1 found (v in place until the next keyspace
 * call), 0 missing (field or key), -1 after replying an error.  The key
 * lookup is counted as a read when `stats`.
 */
static int hash_get(struct client *c, const struct resp_arg *key,
		    const struct resp_arg *field, struct ks_val *v, bool stats)
{
	int err = ks_hget(c->db, key, field, v);
	uint64_t n;

	if (err == PKV_ENOTFOUND) {
		if (stats && !hash_len(c, key, &n, true))
			return -1;
		return 0;
	}
	if (stats)
		ks_count_read(true);
	if (err) {
		reply_err_kv(c, err);
		return -1;
	}
	return 1;
}

/* cmd_hget -- HGET key field: the value or nil. */
static void cmd_hget(struct client *c)
{
	struct ks_val v;
	int r = hash_get(c, &c->argv[1], &c->argv[2], &v, true);

	if (r > 0)
		reply_bulk(c, v.p, v.len);
	else if (r == 0)
		reply_null(c);
}

/* cmd_hmget -- HMGET key field...: a value or nil per field. */
static void cmd_hmget(struct client *c)
{
	uint64_t n;

	if (!hash_len(c, &c->argv[1], &n, true))
		return;
	reply_array(c, (int64_t)(c->argc - 2));
	for (size_t j = 2; j < c->argc; j++) {
		struct ks_val v;
		int err = n ? ks_hget(c->db, &c->argv[1], &c->argv[j], &v)
			    : PKV_ENOTFOUND;
		if (err == PKV_ENOTFOUND)
			reply_null(c);
		else if (err)
			reply_err_kv(c, err);   /* the array is announced */
		else
			reply_bulk(c, v.p, v.len);
	}
}

/* cmd_hdel -- HDEL key field...: fields removed (the key goes with its
 * last field). */
static void cmd_hdel(struct client *c)
{
	int64_t deleted = 0;

	for (size_t j = 2; j < c->argc; j++) {
		int r = ks_hdel(c->db, &c->argv[1], &c->argv[j]);
		if (r == 0)
			deleted++;
		else if (r != PKV_ENOTFOUND) {
			reply_err_kv(c, r);
			return;
		}
	}
	reply_int(c, deleted);
}

/* cmd_hexists -- HEXISTS key field: 1 or 0. */
static void cmd_hexists(struct client *c)
{
	struct ks_val v;
	int r = hash_get(c, &c->argv[1], &c->argv[2], &v, true);

	if (r >= 0)
		reply_int(c, r);
}

/* cmd_hlen -- HLEN key: its fields. */
static void cmd_hlen(struct client *c)
{
	uint64_t n;

	if (hash_len(c, &c->argv[1], &n, true))
		reply_int(c, (int64_t)n);
}

/* cmd_hstrlen -- HSTRLEN key field: the value's length, 0 if none. */
static void cmd_hstrlen(struct client *c)
{
	struct ks_val v;
	int r = hash_get(c, &c->argv[1], &c->argv[2], &v, true);

	if (r >= 0)
		reply_int(c, r ? (int64_t)v.len : 0);
}

/* ---- walking a whole hash ---- */

/* What a walk sends for each field. */
enum hash_emit { EMIT_KEYS = 1, EMIT_VALS = 2, EMIT_BOTH = 3 };

struct hash_walk {
	struct client *c;
	enum hash_emit emit;
	uint64_t sent;                /* fields */
};

/* hash_walk_field -- send one field (scan callback). */
static int hash_walk_field(void *ctx, const struct pkv_item *it)
{
	struct hash_walk *w = ctx;

	if (w->emit & EMIT_KEYS)
		reply_bulk(w->c, it->key, it->klen);
	if (w->emit & EMIT_VALS)
		reply_bulk(w->c, it->val, it->vlen);
	w->sent++;
	return 0;
}

/*
 * hash_walk -- HKEYS, HVALS, HGETALL: the array (or, for HGETALL in RESP3,
 * the map) announced with the hash's count, then every field.  If the
 * walk does not send exactly that many (damage met), the reply is taken
 * back and an error sent instead, so the client never reads a short
 * array.
 */
static void hash_walk(struct client *c, enum hash_emit emit)
{
	struct hash_walk w = { c, emit, 0 };
	uint64_t n, cur = 0;
	size_t mark;
	int err = 0;

	if (!hash_len(c, &c->argv[1], &n, true))
		return;
	mark = reply_mark(c);
	if (emit == EMIT_BOTH && c->proto == 3)
		reply_map(c, (int64_t)n);
	else
		reply_array(c, (int64_t)(emit == EMIT_BOTH ? 2 * n : n));
	if (n)
		do {
			err = ks_hscan(c->db, &c->argv[1], cur, HASH_SCAN_STEP,
				       hash_walk_field, &w, &cur);
		} while (!err && cur);
	if (err || w.sent != n) {
		reply_rewind(c, mark);
		reply_err_kv(c, err ? err : PKV_ECORRUPT);
	}
}

static void cmd_hkeys(struct client *c)
{
	hash_walk(c, EMIT_KEYS);
}

static void cmd_hvals(struct client *c)
{
	hash_walk(c, EMIT_VALS);
}

static void cmd_hgetall(struct client *c)
{
	hash_walk(c, EMIT_BOTH);
}

/* ---- increments ---- */

/* hash_copy_value -- field's current value copied into buf (size bytes,
 * NUL-terminated): 1 found, 0 none, -1 replied (an error, or a value too
 * long to be a number: `what` says which error). */
static int hash_copy_value(struct client *c, char *buf, size_t size,
			   size_t *len, const char *what)
{
	struct ks_val v;
	int r = hash_get(c, &c->argv[1], &c->argv[2], &v, false);

	if (r <= 0)
		return r;
	if (v.len >= size) {
		reply_error(c, "%s", what);
		return -1;
	}
	memcpy(buf, v.p, v.len);
	buf[v.len] = '\0';
	*len = v.len;
	return 1;
}

/* hash_store -- write the new value of field: false after replying. */
static bool hash_store(struct client *c, const char *val, size_t len)
{
	struct resp_arg a = { val, len };
	int r = ks_hset(c->db, &c->argv[1], &c->argv[2], &a, 0);

	if (r && r != PKV_EEXIST) {
		reply_err_kv(c, r);
		return false;
	}
	return true;
}

/* cmd_hincrby -- HINCRBY key field increment: the new value (the
 * library decides, and keeps the number in place: pkv_hincr). */
static void cmd_hincrby(struct client *c)
{
	long long incr, val;
	int r;

	if (!arg_ll(&c->argv[3], &incr)) {
		reply_err_int(c);
		return;
	}
	r = ks_hincr(c->db, &c->argv[1], &c->argv[2], incr, &val);
	if (r == PKV_ENOTINT)
		reply_error(c, "ERR hash value is not an integer");
	else if (r)
		reply_err_kv(c, r);
	else
		reply_int(c, val);
}

/* cmd_hincrbyfloat -- HINCRBYFLOAT key field increment: the new value,
 * in long double, written as Redis writes it. */
static void cmd_hincrbyfloat(struct client *c)
{
	long double val = 0, incr;
	char *buf;
	size_t len = 0;
	int r;

	if (!num_parse_ld(c->argv[3].p, c->argv[3].len, &incr)) {
		reply_err_float(c);
		return;
	}
	if (isnan(incr) || isinf(incr)) {
		reply_error(c, "ERR value is NaN or Infinity");
		return;
	}
	if (!(buf = malloc(NUM_LD_CHARS))) {
		reply_err_kv(c, -ENOMEM);
		return;
	}
	r = hash_copy_value(c, buf, NUM_LD_CHARS, &len,
			    "ERR hash value is not a float");
	if (r < 0)
		goto out;
	if (r && !num_parse_ld(buf, len, &val)) {
		reply_error(c, "ERR hash value is not a float");
		goto out;
	}
	val += incr;
	if (isnan(val) || isinf(val)) {
		reply_error(c, "ERR increment would produce NaN or Infinity");
		goto out;
	}
	len = num_format_ld(buf, val);
	if (hash_store(c, buf, len))
		reply_bulk(c, buf, len);
out:
	free(buf);
}

/* ---- HRANDFIELD ---- */

/* The fields of a hash, in place (valid for the rest of the command: it
 * writes nothing). */
struct hash_pair {
	const char *f, *v;
	size_t flen, vlen;
};

struct hash_all {
	struct hash_pair *p;
	size_t n, cap;
};

static int hash_all_add(void *ctx, const struct pkv_item *it)
{
	struct hash_all *a = ctx;

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		struct hash_pair *p = realloc(a->p, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		a->p = p;
		a->cap = cap;
	}
	a->p[a->n++] = (struct hash_pair){ it->key, it->val, it->klen,
					   it->vlen };
	return 0;
}

static void hash_all_free(struct hash_all *a)
{
	free(a->p);
}

/* hash_rand_one -- send field i (and its value, as a pair in RESP3). */
static void hash_rand_one(struct client *c, const struct hash_all *a,
			  size_t i, bool values)
{
	if (values && c->proto == 3)
		reply_array(c, 2);
	reply_bulk(c, a->p[i].f, a->p[i].flen);
	if (values)
		reply_bulk(c, a->p[i].v, a->p[i].vlen);
}

/* hash_draws -- want fields of key by single draws into a (in place, as
 * hash_all's; distinct ones when `distinct`): 1; 0 when 8 x SRV_RAND_DRAWS
 * draws did not find them; or an error (negative, not replied). */
static int hash_draws(struct client *c, const struct resp_arg *key,
		      uint64_t want, bool distinct, struct hash_all *a)
{
	for (unsigned tries = 0; a->n < want; tries++) {
		struct ks_val fv, vv;
		const struct hash_pair *last;
		int err;
		if (tries == 8 * SRV_RAND_DRAWS)
			return 0;
		if ((err = ks_hrandfield(c->db, key, srv_rand(UINT64_MAX),
					 &fv, &vv)) ||
		    (err = hash_all_add(a, &(struct pkv_item){
				.key = fv.p, .klen = fv.len,
				.val = vv.p, .vlen = vv.len })))
			return err;
		last = &a->p[a->n - 1];
		for (size_t i = 0; distinct && i + 1 < a->n; i++)
			if (a->p[i].flen == last->flen &&
			    !memcmp(a->p[i].f, last->f, last->flen)) {
				a->n--;
				break;
			}
	}
	return 1;
}

/* cmd_hrandfield -- HRANDFIELD key [count [WITHVALUES]]: one random field
 * (nil if none); with a count, that many distinct ones (all if fewer), or
 * with a negative count, that many with repeats.  Few come from draws,
 * many from one read of the hash (SRV_RAND_DRAWS). */
static void cmd_hrandfield(struct client *c)
{
	struct hash_all a = { 0 };
	bool values = false, counted = c->argc >= 3;
	long long count = 1;
	uint64_t n, cur = 0, want;
	int err = 0, drawn = 0;

	if (c->argc > 4 || (c->argc == 4 &&
			    !arg_is(&c->argv[3], "withvalues"))) {
		reply_err_syntax(c);
		return;
	}
	values = c->argc == 4;
	if (counted && !arg_ll(&c->argv[2], &count)) {
		reply_err_int(c);
		return;
	}
	if (counted && count < -SRV_RAND_MAX_REPEATS) {
		reply_error(c, "ERR value is out of range");
		return;
	}
	if (!hash_len(c, &c->argv[1], &n, true))
		return;
	if (n == 0 || (counted && count == 0)) {
		if (counted)
			reply_array(c, 0);
		else
			reply_null(c);
		return;
	}
	want = count < 0 ? (uint64_t)-count : (uint64_t)count;
	if (want <= SRV_RAND_DRAWS && (count < 0 || want * 3 <= n)) {
		drawn = hash_draws(c, &c->argv[1], want, count > 0, &a);
		if (drawn < 0) {
			reply_err_kv(c, drawn);
			goto out;
		}
	}
	if (!drawn) {          /* many, or distinct ones draws missed */
		a.n = 0;
		do {
			err = ks_hscan(c->db, &c->argv[1], cur, HASH_SCAN_STEP,
				       hash_all_add, &a, &cur);
		} while (!err && cur);
		if (err || a.n == 0) {
			reply_err_kv(c, err ? err : PKV_ECORRUPT);
			goto out;
		}
	}
	if (!counted) {
		hash_rand_one(c, &a, drawn ? 0 : (size_t)srv_rand(a.n), false);
		goto out;
	}
	if (count < 0) {             /* repeats allowed */
		reply_array(c, (int64_t)(values && c->proto != 3 ? 2 * want
								 : want));
		for (uint64_t i = 0; i < want; i++)
			hash_rand_one(c, &a, drawn ? (size_t)i :
				      (size_t)srv_rand(a.n), values);
		goto out;
	}
	want = want < a.n ? want : a.n;
	reply_array(c, (int64_t)(values && c->proto != 3 ? 2 * want : want));
	for (uint64_t i = 0; i < want; i++) {   /* partial Fisher-Yates */
		size_t j = (size_t)(i + srv_rand(a.n - i));
		struct hash_pair t = a.p[i];
		a.p[i] = a.p[j];
		a.p[j] = t;
		hash_rand_one(c, &a, (size_t)i, values);
	}
out:
	hash_all_free(&a);
}

/* ---- HSCAN ---- */

struct hash_scan {
	struct client *c;
	const char *pat;              /* NULL: every field */
	size_t plen;
	struct hash_all got;
};

static int hash_scan_one(void *ctx, const struct pkv_item *it)
{
	struct hash_scan *s = ctx;

	if (s->pat && !glob_match(s->pat, s->plen, it->key, it->klen, 0))
		return 0;
	return hash_all_add(&s->got, it);
}

/* cmd_hscan -- HSCAN key cursor [MATCH pattern] [COUNT count]: the next
 * cursor and the field-value pairs of one step. */
static void cmd_hscan(struct client *c)
{
	struct hash_scan s = { c, NULL, 0, { 0 } };
	struct scan_args sa;
	uint64_t n, next = 0;
	int err;

	if (!scan_args_parse(c, 2, false, &sa))
		return;
	s.pat = sa.pat;
	s.plen = sa.plen;
	if (!hash_len(c, &c->argv[1], &n, true))
		return;
	if (n) {
		err = ks_hscan(c->db, &c->argv[1], sa.cursor,
			       sa.count > UINT_MAX ? UINT_MAX
						   : (unsigned)sa.count,
			       hash_scan_one, &s, &next);
		if (err) {
			reply_err_kv(c, err);
			hash_all_free(&s.got);
			return;
		}
	}
	reply_scan_head(c, next);
	reply_array(c, (int64_t)(2 * s.got.n));
	for (size_t i = 0; i < s.got.n; i++) {
		reply_bulk(c, s.got.p[i].f, s.got.p[i].flen);
		reply_bulk(c, s.got.p[i].v, s.got.p[i].vlen);
	}
	hash_all_free(&s.got);
}

#define RO CMD_READONLY
#define WR CMD_WRITE
#define F CMD_FAST
#define OOM CMD_DENYOOM

const struct command hash_commands[] = {
	{ "hset", -4, WR | OOM | F, 1, 1, 1, cmd_hset, "hash", "2.0.0",
	  "Set the string value of a hash field" },
	{ "hsetnx", 4, WR | OOM | F, 1, 1, 1, cmd_hsetnx, "hash", "2.0.0",
	  "Set the value of a hash field, only if the field does not exist" },
	{ "hmset", -4, WR | OOM | F, 1, 1, 1, cmd_hmset, "hash", "2.0.0",
	  "Set multiple hash fields to multiple values" },
	{ "hget", 3, RO | F, 1, 1, 1, cmd_hget, "hash", "2.0.0",
	  "Get the value of a hash field" },
	{ "hmget", -3, RO | F, 1, 1, 1, cmd_hmget, "hash", "2.0.0",
	  "Get the values of all the given hash fields" },
	{ "hdel", -3, WR | F, 1, 1, 1, cmd_hdel, "hash", "2.0.0",
	  "Delete one or more hash fields" },
	{ "hexists", 3, RO | F, 1, 1, 1, cmd_hexists, "hash", "2.0.0",
	  "Determine if a hash field exists" },
	{ "hlen", 2, RO | F, 1, 1, 1, cmd_hlen, "hash", "2.0.0",
	  "Get the number of fields in a hash" },
	{ "hstrlen", 3, RO | F, 1, 1, 1, cmd_hstrlen, "hash", "3.2.0",
	  "Get the length of the value of a hash field" },
	{ "hkeys", 2, RO, 1, 1, 1, cmd_hkeys, "hash", "2.0.0",
	  "Get all the fields in a hash" },
	{ "hvals", 2, RO, 1, 1, 1, cmd_hvals, "hash", "2.0.0",
	  "Get all the values in a hash" },
	{ "hgetall", 2, RO, 1, 1, 1, cmd_hgetall, "hash", "2.0.0",
	  "Get all the fields and values in a hash" },
	{ "hincrby", 4, WR | OOM | F, 1, 1, 1, cmd_hincrby, "hash", "2.0.0",
	  "Increment the integer value of a hash field by the given number" },
	{ "hincrbyfloat", 4, WR | OOM | F, 1, 1, 1, cmd_hincrbyfloat, "hash",
	  "2.6.0", "Increment the float value of a hash field by the given "
	  "amount" },
	{ "hrandfield", -2, RO, 1, 1, 1, cmd_hrandfield, "hash", "6.2.0",
	  "Get one or multiple random fields from a hash" },
	{ "hscan", -3, RO, 1, 1, 1, cmd_hscan, "hash", "2.8.0",
	  "Incrementally iterate hash fields and associated values" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
