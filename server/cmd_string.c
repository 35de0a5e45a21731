/*
 * cmd_string.c -- the string commands: GET, SET and its variants, the
 * counters, APPEND and the range commands, with Redis 7.0's replies.
 *
 * A key of another type (a hash) answers WRONGTYPE to every command here
 * that reads it (str_read), as in Redis; SET and the other plain writes
 * replace it whatever its type, and MGET gives nil for it.  A command
 * that reads a value and then writes (APPEND, INCR, SETRANGE...)
 * copies what it needs out of the pool and ks_release's the read before
 * the write, as keyspace.h requires.  Commands that answer with the old
 * value (GETSET, GETDEL, GETEX, SET ... GET) append that reply first,
 * then write, and take the reply back if the write fails: the client
 * then sees only the error, never the old value of a write that did not
 * happen.  This costs one copy of the value (into the reply) instead of
 * two (a private copy, then the reply).
 *
 * keyspace_hits/misses count the lookups Redis counts: those of reading
 * commands (GET, MGET, STRLEN, GETRANGE, and the read half of GETSET,
 * GETDEL, GETEX, SET ... GET), never the lookups of writing commands.
 * srv.dirty is counted by keyspace.c on every successful write.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "proto/num.h"
#include "proto/setopt.h"
#include "cmd.h"
#include "keyspace.h"
#include "srv.h"

/*
 * str_read -- look key up in c's database: 1 found (the caller must
 * ks_release v), 0 missing, -1 a library error, already replied.  stats
 * counts the lookup as a read.
 */
static int str_read(struct client *c, const struct resp_arg *key,
		    struct ks_val *v, bool stats)
{
	int err = ks_get(c->db, key, v);

	if (err == PKV_ENOTFOUND) {
		if (stats)
			ks_count_read(false);
		return 0;
	}
	if (err) {
		reply_err_kv(c, err);
		return -1;
	}
	if (stats)
		ks_count_read(true);
	if (v->type != PKV_TYPE_STRING) {
		reply_err_kv(c, PKV_EWRONGTYPE);
		return -1;
	}
	return 1;
}

/* str_check_len -- Redis's checkStringLength: a value of size + append
 * bytes must not exceed proto-max-bulk-len (nor overflow). */
static bool str_check_len(struct client *c, unsigned long long size,
			  unsigned long long append)
{
	unsigned long long total = size + append;

	if (total < size || total > srv.cfg.proto_max_bulk_len) {
		reply_error(c, "ERR string exceeds maximum allowed size "
			    "(proto-max-bulk-len)");
		return false;
	}
	return true;
}

/*
 * str_opts -- SET's or GETEX's options (proto/setopt.h), or the syntax
 * error answered.
 */
static bool str_opts(struct client *c, enum setopt_cmd cmd, struct setopt *o)
{
	char err[128];

	if (setopt_set(cmd, c->argc, c->argv, o, err, sizeof(err))) {
		reply_error(c, "%s", err);
		return false;
	}
	return true;
}

/*
 * str_expire_ms -- the absolute expiry in ms of arg under flags
 * (proto/setopt.h), or Redis's error answered.
 */
static bool str_expire_ms(struct client *c, const char *cmd,
			  const struct resp_arg *arg, unsigned flags,
			  int64_t *ms)
{
	char err[128];

	if (setopt_set_ms(arg, flags, pkv_now_ms(), cmd, ms, err,
			  sizeof(err))) {
		reply_error(c, "%s", err);
		return false;
	}
	return true;
}

/*
 * str_set -- Redis's setGenericCommand: set key to val with the options
 * in flags.  int_reply answers 1/0 (SETNX) instead of OK/nil; with GET
 * the reply is the old value whatever happens.
 */
static void str_set(struct client *c, unsigned flags,
		    const struct resp_arg *key, const struct resp_arg *val,
		    const struct resp_arg *expire, const char *cmd,
		    bool int_reply)
{
	size_t mark = reply_mark(c);
	unsigned pflags = 0;
	int64_t ms = 0;
	int err;

	if (expire && !str_expire_ms(c, cmd, expire, flags, &ms))
		return;
	if (flags & SETOPT_GET) {
		struct ks_val v;
		int r = str_read(c, key, &v, true);
		if (r < 0)
			return;
		if (r) {
			reply_bulk(c, v.p, v.len);
			ks_release(&v);
		} else {
			reply_null(c);
		}
	}
	if (flags & SETOPT_NX)
		pflags |= PKV_NX;
	if (flags & SETOPT_XX)
		pflags |= PKV_XX;
	if (flags & SETOPT_KEEPTTL)
		pflags |= PKV_KEEPTTL;
	err = ks_put(c->db, key, val->p, val->len, pflags, ms);
	if (err == PKV_EEXIST || err == PKV_ENOTFOUND) {
		if (flags & SETOPT_GET)
			return;
		if (int_reply)
			reply_int(c, 0);
		else
			reply_null(c);
		return;
	}
	if (err) {
		reply_rewind(c, mark);
		reply_err_kv(c, err);
		return;
	}
	if (flags & SETOPT_GET)
		return;
	if (int_reply)
		reply_int(c, 1);
	else
		reply_ok(c);
}

/* cmd_get -- GET key. */
static void cmd_get(struct client *c)
{
	struct ks_val v;
	int r = str_read(c, &c->argv[1], &v, true);

	if (r < 0)
		return;
	if (!r) {
		reply_null(c);
		return;
	}
	reply_bulk(c, v.p, v.len);
	ks_release(&v);
}

/* cmd_set -- SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT t|KEEPTTL]. */
static void cmd_set(struct client *c)
{
	struct setopt o;

	if (!str_opts(c, SETOPT_FOR_SET, &o))
		return;
	str_set(c, o.flags, &c->argv[1], &c->argv[2], o.expire, "set", false);
}

/* cmd_setnx -- SETNX key value: 1 set, 0 it existed. */
static void cmd_setnx(struct client *c)
{
	str_set(c, SETOPT_NX, &c->argv[1], &c->argv[2], NULL, "setnx", true);
}

/* cmd_setex -- SETEX key seconds value. */
static void cmd_setex(struct client *c)
{
	str_set(c, SETOPT_EX, &c->argv[1], &c->argv[3], &c->argv[2], "setex",
		false);
}

/* cmd_psetex -- PSETEX key milliseconds value. */
static void cmd_psetex(struct client *c)
{
	str_set(c, SETOPT_PX, &c->argv[1], &c->argv[3], &c->argv[2], "psetex",
		false);
}

/* cmd_getset -- GETSET key value: the old value; the expiry is dropped
 * as by a plain SET. */
static void cmd_getset(struct client *c)
{
	str_set(c, SETOPT_GET, &c->argv[1], &c->argv[2], NULL, "getset", false);
}

/* cmd_getdel -- GETDEL key: the value, and the key deleted. */
static void cmd_getdel(struct client *c)
{
	size_t mark = reply_mark(c);
	struct ks_val v;
	int r = str_read(c, &c->argv[1], &v, true);
	int err;

	if (r < 0)
		return;
	if (!r) {
		reply_null(c);
		return;
	}
	reply_bulk(c, v.p, v.len);
	ks_release(&v);
	/* PKV_ENOTFOUND: it expired in between; it is gone either way */
	err = ks_del(c->db, &c->argv[1]);
	if (err && err != PKV_ENOTFOUND) {
		reply_rewind(c, mark);
		reply_err_kv(c, err);
	}
}

/* cmd_getex -- GETEX key [EX|PX|EXAT|PXAT t|PERSIST]. */
static void cmd_getex(struct client *c)
{
	struct setopt o;
	size_t mark = reply_mark(c);
	struct ks_val v;
	int64_t ms = 0, old;
	int r, err = 0;

	if (!str_opts(c, SETOPT_FOR_GETEX, &o))
		return;
	r = str_read(c, &c->argv[1], &v, true);
	if (r < 0)
		return;
	if (!r) {
		reply_null(c);
		return;
	}
	/* Redis checks the time only once the key is found. */
	if (o.expire && !str_expire_ms(c, "getex", o.expire, o.flags, &ms)) {
		ks_release(&v);
		return;
	}
	reply_bulk(c, v.p, v.len);
	old = v.expire_ms;
	ks_release(&v);
	if ((o.flags & (SETOPT_EXAT | SETOPT_PXAT)) && ms <= pkv_now_ms())
		err = ks_del(c->db, &c->argv[1]);
	else if (o.expire)
		err = ks_expire(c->db, &c->argv[1], ms);
	else if ((o.flags & SETOPT_PERSIST) && old)
		err = ks_expire(c->db, &c->argv[1], 0);
	if (err && err != PKV_ENOTFOUND) {
		reply_rewind(c, mark);
		reply_err_kv(c, err);
	}
}

/* cmd_mget -- MGET key...: one value or nil per key. */
static void cmd_mget(struct client *c)
{
	reply_array(c, (int64_t)(c->argc - 1));
	for (size_t j = 1; j < c->argc; j++) {
		struct ks_val v;
		int err;

		ks_prefetch(c->db, &c->argv[1], 1, j - 1, c->argc - 1);
		err = ks_get(c->db, &c->argv[j], &v);

		ks_count_read(err == 0);
		if (err) {
			/* the array is announced: an error takes its slot */
			if (err == PKV_ENOTFOUND)
				reply_null(c);
			else
				reply_err_kv(c, err);
			continue;
		}
		if (v.type != PKV_TYPE_STRING)
			reply_null(c);   /* as Redis: nil, not WRONGTYPE */
		else
			reply_bulk(c, v.p, v.len);
		ks_release(&v);
	}
}

/*
 * str_mset -- MSET / MSETNX: every pair written in one transaction (or,
 * beyond what one transaction can hold, one put at a time).  For MSETNX
 * nothing is written if any key exists (checked first; the server is the
 * only writer, so nothing changes before the writes).
 */
static void str_mset(struct client *c, bool nx)
{
	int err = 0;

	if (c->argc % 2 == 0) {
		reply_err_arity(c, nx ? "msetnx" : "mset");
		return;
	}
	if (nx) {
		for (size_t j = 1; j < c->argc; j += 2) {
			ks_prefetch(c->db, &c->argv[1], 2, j / 2,
				    c->argc / 2);
			if (ks_exists(c->db, &c->argv[j])) {
				reply_int(c, 0);
				return;
			}
		}
	}
	for (size_t j = 1; j < c->argc && !err; j += 2) {
		if (!nx)     /* (MSETNX's checks brought the keys' lines) */
			ks_prefetch(c->db, &c->argv[1], 2, j / 2,
				    c->argc / 2);
		err = ks_put(c->db, &c->argv[j], c->argv[j + 1].p,
			     c->argv[j + 1].len, 0, 0);
	}
	/* A key that does not fit fails the command, and the loop takes
	 * its other writes back: never half an MSET. */
	if (err) {
		reply_err_kv(c, err);
		return;
	}
	if (nx)
		reply_int(c, 1);
	else
		reply_ok(c);
}

/* cmd_mset -- MSET key value [key value...]. */
static void cmd_mset(struct client *c)
{
	str_mset(c, false);
}

/* cmd_msetnx -- MSETNX key value [key value...]: 1 set, 0 none set. */
static void cmd_msetnx(struct client *c)
{
	str_mset(c, true);
}

/* str_incr -- Redis's incrDecrCommand: add incr to the integer at key
 * (0 if missing), keeping its expiry; the library decides (pkv_incr). */
static void str_incr(struct client *c, long long incr)
{
	long long val;
	int err = ks_incr(c->db, &c->argv[1], incr, &val);

	if (err) {
		reply_err_kv(c, err);
		return;
	}
	reply_int(c, val);
}

/* cmd_incr -- INCR key. */
static void cmd_incr(struct client *c)
{
	str_incr(c, 1);
}

/* cmd_decr -- DECR key. */
static void cmd_decr(struct client *c)
{
	str_incr(c, -1);
}

/* cmd_incrby -- INCRBY key increment. */
static void cmd_incrby(struct client *c)
{
	long long incr;

	if (!arg_ll(&c->argv[2], &incr)) {
		reply_err_int(c);
		return;
	}
	str_incr(c, incr);
}

/* cmd_decrby -- DECRBY key decrement (LLONG_MIN cannot be negated). */
static void cmd_decrby(struct client *c)
{
	long long decr;

	if (!arg_ll(&c->argv[2], &decr)) {
		reply_err_int(c);
		return;
	}
	if (decr == LLONG_MIN) {
		reply_error(c, "ERR decrement would overflow");
		return;
	}
	str_incr(c, -decr);
}

/* cmd_incrbyfloat -- INCRBYFLOAT key increment, in long double, the
 * result stored and answered as Redis writes it ("3000", "10.5"). */
static void cmd_incrbyfloat(struct client *c)
{
	const struct resp_arg *key = &c->argv[1];
	long double val = 0, incr;
	struct ks_val v;
	char *buf;
	size_t len;
	int r, err;

	r = str_read(c, key, &v, false);
	if (r < 0)
		return;
	if (r) {
		bool ok = num_parse_ld(v.p, v.len, &val);
		ks_release(&v);
		if (!ok) {
			reply_err_float(c);
			return;
		}
	}
	if (!num_parse_ld(c->argv[2].p, c->argv[2].len, &incr)) {
		reply_err_float(c);
		return;
	}
	val += incr;
	if (isnan(val) || isinf(val)) {
		reply_error(c, "ERR increment would produce NaN or Infinity");
		return;
	}
	buf = malloc(NUM_LD_CHARS);
	if (!buf) {
		reply_err_kv(c, -ENOMEM);
		return;
	}
	len = num_format_ld(buf, val);
	err = ks_put(c->db, key, buf, len, PKV_KEEPTTL, 0);
	if (err)
		reply_err_kv(c, err);
	else
		reply_bulk(c, buf, len);
	free(buf);
}

/* cmd_append -- APPEND key value: the new length; the expiry is kept. */
static void cmd_append(struct client *c)
{
	const struct resp_arg *key = &c->argv[1], *add = &c->argv[2];
	struct ks_val v;
	char *buf;
	size_t olen;
	int r, err;

	r = str_read(c, key, &v, false);
	if (r < 0)
		return;
	if (!r) {
		err = ks_put(c->db, key, add->p, add->len, 0, 0);
		if (err)
			reply_err_kv(c, err);
		else
			reply_int(c, (int64_t)add->len);
		return;
	}
	olen = v.len;
	if (!str_check_len(c, olen, add->len)) {
		ks_release(&v);
		return;
	}
	buf = malloc(olen + add->len ? olen + add->len : 1);
	if (!buf) {
		ks_release(&v);
		reply_err_kv(c, -ENOMEM);
		return;
	}
	memcpy(buf, v.p, olen);
	ks_release(&v);
	memcpy(buf + olen, add->p, add->len);
	err = ks_put(c->db, key, buf, olen + add->len, PKV_KEEPTTL, 0);
	free(buf);
	if (err)
		reply_err_kv(c, err);
	else
		reply_int(c, (int64_t)(olen + add->len));
}

/* cmd_strlen -- STRLEN key: 0 if missing. */
static void cmd_strlen(struct client *c)
{
	struct ks_val v;
	int r = str_read(c, &c->argv[1], &v, true);

	if (r < 0)
		return;
	if (!r) {
		reply_int(c, 0);
		return;
	}
	reply_int(c, (int64_t)v.len);
	ks_release(&v);
}

/* cmd_getrange -- GETRANGE key start end (and SUBSTR): inclusive,
 * negative counts from the end, clamped to the string. */
static void cmd_getrange(struct client *c)
{
	long long start, end, slen;
	struct ks_val v;
	int r;

	if (!arg_ll(&c->argv[2], &start) || !arg_ll(&c->argv[3], &end)) {
		reply_err_int(c);
		return;
	}
	r = str_read(c, &c->argv[1], &v, true);
	if (r < 0)
		return;
	if (!r) {
		reply_bulk(c, "", 0);
		return;
	}
	slen = (long long)v.len;
	if (start < 0 && end < 0 && start > end) {
		reply_bulk(c, "", 0);
		ks_release(&v);
		return;
	}
	if (start < 0)
		start += slen;
	if (end < 0)
		end += slen;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= slen)
		end = slen - 1;
	if (start > end || slen == 0)
		reply_bulk(c, "", 0);
	else
		reply_bulk(c, v.p + start, (size_t)(end - start + 1));
	ks_release(&v);
}

/* cmd_setrange -- SETRANGE key offset value: the new length; a gap is
 * filled with zero bytes; the expiry is kept. */
static void cmd_setrange(struct client *c)
{
	const struct resp_arg *key = &c->argv[1], *val = &c->argv[3];
	long long offset;
	struct ks_val v;
	size_t olen = 0, nlen;
	char *buf;
	int r, err;

	if (!arg_ll(&c->argv[2], &offset)) {
		reply_err_int(c);
		return;
	}
	if (offset < 0) {
		reply_error(c, "ERR offset is out of range");
		return;
	}
	r = str_read(c, key, &v, false);
	if (r < 0)
		return;
	if (r)
		olen = v.len;
	if (val->len == 0) {
		/* nothing to write: the current length, 0 when missing */
		if (r)
			ks_release(&v);
		reply_int(c, (int64_t)olen);
		return;
	}
	if (!str_check_len(c, (unsigned long long)offset, val->len)) {
		if (r)
			ks_release(&v);
		return;
	}
	nlen = (size_t)offset + val->len;
	if (nlen < olen)
		nlen = olen;
	buf = malloc(nlen);
	if (!buf) {
		if (r)
			ks_release(&v);
		reply_err_kv(c, -ENOMEM);
		return;
	}
	if (r) {
		memcpy(buf, v.p, olen);
		ks_release(&v);
	}
	if ((size_t)offset > olen)
		memset(buf + olen, 0, (size_t)offset - olen);
	memcpy(buf + offset, val->p, val->len);
	err = ks_put(c->db, key, buf, nlen, r ? PKV_KEEPTTL : 0, 0);
	free(buf);
	if (err)
		reply_err_kv(c, err);
	else
		reply_int(c, (int64_t)nlen);
}

#define RO  CMD_READONLY
#define WR  CMD_WRITE
#define F   CMD_FAST
#define OOM CMD_DENYOOM

const struct command string_commands[] = {
	{ "get", 2, RO | F, 1, 1, 1, cmd_get, "string", "1.0.0",
	  "Get the value of a key" },
	{ "set", -3, WR | OOM, 1, 1, 1, cmd_set, "string", "1.0.0",
	  "Set the string value of a key" },
	{ "setnx", 3, WR | OOM | F, 1, 1, 1, cmd_setnx, "string", "1.0.0",
	  "Set the value of a key, only if the key does not exist" },
	{ "setex", 4, WR | OOM, 1, 1, 1, cmd_setex, "string", "2.0.0",
	  "Set the value and expiration of a key" },
	{ "psetex", 4, WR | OOM, 1, 1, 1, cmd_psetex, "string", "2.6.0",
	  "Set the value and expiration in milliseconds of a key" },
	{ "getset", 3, WR | OOM | F, 1, 1, 1, cmd_getset, "string", "1.0.0",
	  "Set the string value of a key and return its old value" },
	{ "getdel", 2, WR | F, 1, 1, 1, cmd_getdel, "string", "6.2.0",
	  "Get the value of a key and delete the key" },
	{ "getex", -2, WR | F, 1, 1, 1, cmd_getex, "string", "6.2.0",
	  "Get the value of a key and optionally set its expiration" },
	{ "mget", -2, RO | F, 1, -1, 1, cmd_mget, "string", "1.0.0",
	  "Get the values of all the given keys" },
	{ "mset", -3, WR | OOM, 1, -1, 2, cmd_mset, "string", "1.0.1",
	  "Set multiple keys to multiple values" },
	{ "msetnx", -3, WR | OOM, 1, -1, 2, cmd_msetnx, "string", "1.0.1",
	  "Set multiple keys to multiple values, only if none of the keys "
	  "exist" },
	{ "incr", 2, WR | OOM | F, 1, 1, 1, cmd_incr, "string", "1.0.0",
	  "Increment the integer value of a key by one" },
	{ "decr", 2, WR | OOM | F, 1, 1, 1, cmd_decr, "string", "1.0.0",
	  "Decrement the integer value of a key by one" },
	{ "incrby", 3, WR | OOM | F, 1, 1, 1, cmd_incrby, "string", "1.0.0",
	  "Increment the integer value of a key by the given amount" },
	{ "decrby", 3, WR | OOM | F, 1, 1, 1, cmd_decrby, "string", "1.0.0",
	  "Decrement the integer value of a key by the given number" },
	{ "incrbyfloat", 3, WR | OOM | F, 1, 1, 1, cmd_incrbyfloat, "string",
	  "2.6.0", "Increment the float value of a key by the given amount" },
	{ "append", 3, WR | OOM | F, 1, 1, 1, cmd_append, "string", "2.0.0",
	  "Append a value to a key" },
	{ "strlen", 2, RO | F, 1, 1, 1, cmd_strlen, "string", "2.2.0",
	  "Get the length of the value stored in a key" },
	{ "getrange", 4, RO, 1, 1, 1, cmd_getrange, "string", "2.4.0",
	  "Get a substring of the string stored at a key" },
	{ "substr", 4, RO, 1, 1, 1, cmd_getrange, "string", "1.0.0",
	  "Get a substring of the string stored at a key" },
	{ "setrange", 4, WR | OOM, 1, 1, 1, cmd_setrange, "string", "2.2.0",
	  "Overwrite part of a string at key starting at the specified "
	  "offset" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
