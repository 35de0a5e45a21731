/*
 * cmd_keys.c -- the keyspace commands: DEL, EXISTS, TYPE, KEYS, SCAN,
 * RENAME, RANDOMKEY, the expiry commands, COPY, MOVE, OBJECT and the
 * database-wide ones (DBSIZE, SWAPDB, FLUSHDB, FLUSHALL), with Redis
 * 7.0's replies.
 *
 * Commands that write two keys (RENAME, RENAMENX, MOVE, COPY) are one
 * operation of the library (pkv_batch_rename, pkv_batch_copy), which
 * moves or copies a value of any type with its expiry: a hash moves
 * whole in O(1), a copy of one costs O(fields), as in Redis.
 *
 * KEYS, SCAN, RANDOMKEY and DBSIZE read the keys as the turn's batch
 * left them (EXEC's own writes included).
 * SCAN's cursor is libpkv's cursor, which follows Redis's reverse-binary
 * order, so the usual guarantees (every key present for the whole scan
 * is returned) hold.  KEYS walks the whole table with the same scan and
 * drops the duplicates a concurrent resize can cause.
 *
 * keyspace_hits/misses count the lookups Redis counts as reads: EXISTS,
 * TYPE, TTL and its variants, and COPY's source; srv.dirty is counted by
 * keyspace.c on every successful write.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "config.h"
#include "proto/glob.h"
#include "proto/setopt.h"
#include "keyspace.h"
#include "proto/num.h"
#include "scanargs.h"
#include "srv.h"

/* Buckets of libpkv's smallest table (one per lock stripe). */
#define KEYS_MIN_BUCKETS 256u

/* keys_same -- whether two arguments hold the same bytes. */
static bool keys_same(const struct resp_arg *a, const struct resp_arg *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/*
 * keys_int_arg -- Redis's getIntFromObjectOrReply: an integer in int
 * range, or a reply (msg if given, else Redis's own texts) and false.
 */
static bool keys_int_arg(struct client *c, const struct resp_arg *a,
			 long long *v, const char *msg)
{
	if (!arg_ll(a, v)) {
		if (msg)
			reply_error(c, "%s", msg);
		else
			reply_err_int(c);
		return false;
	}
	if (*v < INT_MIN || *v > INT_MAX) {
		if (msg)
			reply_error(c, "%s", msg);
		else
			reply_error(c, "ERR value is out of range, value must "
				    "between %d and %d", INT_MIN, INT_MAX);
		return false;
	}
	return true;
}

/* keys_db_ok -- whether id names one of the pool's databases. */
static bool keys_db_ok(long long id)
{
	return id >= 0 && id < (long long)pkv_databases(srv.db);
}

/* ---- collected key lists (KEYS, SCAN) ---- */

/* Keys copied out of a scan: bytes in buf, each at off[i], len[i]. */
struct keylist {
	char *buf;
	size_t used, cap;
	size_t *off, *len;
	size_t n, ncap;
	const char *pat;              /* NULL: every key */
	size_t plen;
	bool typed;                   /* a TYPE filter was given */
	int type;                     /* its PKV_TYPE_*, or -1: a name no
					 value of pkv has (matches nothing) */
	bool nomem;
};

/* keylist_add -- pkv_scan callback: copy the key if it passes the
 * filters; a non-zero return (no memory) stops the scan. */
static int keylist_add(void *ctx, const struct pkv_item *it)
{
	struct keylist *l = ctx;
	const void *key = it->key;
	size_t klen = it->klen;      /* pkv_scan visits live keys only */

	if (l->pat && !glob_match(l->pat, l->plen, key, klen, 0))
		return 0;
	if (l->typed) {
		srv.keyspace_hits++;  /* Redis looks the type up as a read */
		if ((int)it->type != l->type)
			return 0;
	}
	if (l->used + klen > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		while (cap < l->used + klen)
			cap *= 2;
		char *nb = realloc(l->buf, cap);
		if (!nb)
			goto nomem;
		l->buf = nb;
		l->cap = cap;
	}
	if (l->n == l->ncap) {
		size_t ncap = l->ncap ? 2 * l->ncap : 64;
		size_t *no = realloc(l->off, ncap * sizeof(*no));
		if (!no)
			goto nomem;
		l->off = no;
		size_t *nl = realloc(l->len, ncap * sizeof(*nl));
		if (!nl)
			goto nomem;
		l->len = nl;
		l->ncap = ncap;
	}
	if (klen)   /* an empty key with no buffer yet: no pointer sums */
		memcpy(l->buf + l->used, key, klen);
	l->off[l->n] = l->used;
	l->len[l->n] = klen;
	l->n++;
	l->used += klen;
	return 0;
nomem:
	l->nomem = true;
	return -ENOMEM;
}

/* keylist_free -- free the list's arrays (not the struct). */
static void keylist_free(struct keylist *l)
{
	free(l->buf);
	free(l->off);
	free(l->len);
}

/* keylist_hash -- FNV-1a of one collected key. */
static uint64_t keylist_hash(const struct keylist *l, size_t i)
{
	const unsigned char *p = (const unsigned char *)l->buf + l->off[i];
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t k = 0; k < l->len[i]; k++)
		h = (h ^ p[k]) * 0x100000001b3ull;
	return h;
}

/*
 * keylist_dedup -- drop repeated keys, keeping first occurrences in
 * order: an open-addressing set of indexes, O(n).  Returns false if
 * there was no memory for the set.
 */
static bool keylist_dedup(struct keylist *l)
{
	size_t size = 16, w = 0;
	size_t *set;

	if (l->n < 2)
		return true;
	while (size < 2 * l->n)
		size *= 2;
	set = malloc(size * sizeof(*set));
	if (!set)
		return false;
	memset(set, 0xff, size * sizeof(*set));       /* SIZE_MAX: empty */
	for (size_t i = 0; i < l->n; i++) {
		size_t h = (size_t)keylist_hash(l, i) & (size - 1);
		bool dup = false;

		while (set[h] != SIZE_MAX) {
			size_t j = set[h];
			if (l->len[j] == l->len[i] &&
			    memcmp(l->buf + l->off[j], l->buf + l->off[i],
				   l->len[i]) == 0) {
				dup = true;
				break;
			}
			h = (h + 1) & (size - 1);
		}
		if (dup)
			continue;
		/* kept entries move down to w; the set holds new indexes */
		l->off[w] = l->off[i];
		l->len[w] = l->len[i];
		set[h] = w++;
	}
	l->n = w;
	free(set);
	return true;
}

/* keylist_reply -- the keys as an array of bulks. */
static void keylist_reply(struct client *c, const struct keylist *l)
{
	reply_array(c, (int64_t)l->n);
	for (size_t i = 0; i < l->n; i++)
		reply_bulk(c, l->buf + l->off[i], l->len[i]);
}

/* ---- commands ---- */

/* cmd_del -- DEL / UNLINK key...: how many existed.  Either way the
 * pool only unlinks; the collector reclaims big values later. */
static void cmd_del(struct client *c)
{
	int64_t n = 0;

	for (size_t j = 1; j < c->argc; j++) {
		int err;

		ks_prefetch(c->db, &c->argv[1], 1, j - 1, c->argc - 1);
		err = ks_del(c->db, &c->argv[j]);
		if (err == 0) {
			n++;
		} else if (err != PKV_ENOTFOUND) {
			reply_err_kv(c, err);
			return;
		}
	}
	reply_int(c, n);
}

/* cmd_exists -- EXISTS key...: how many exist, repeats counted. */
static void cmd_exists(struct client *c)
{
	int64_t n = 0;

	for (size_t j = 1; j < c->argc; j++) {
		bool hit;

		ks_prefetch(c->db, &c->argv[1], 1, j - 1, c->argc - 1);
		hit = ks_exists(c->db, &c->argv[j]);
		ks_count_read(hit);
		n += hit;
	}
	reply_int(c, n);
}

/* The Redis name of each engine type (PKV_TYPE_*), in order. */
static const char *const type_names[] = { "string", "hash", "list",
					   "set", "zset" };

/* type_of_name -- the PKV_TYPE_* Redis calls name, or -1. */
static int type_of_name(const struct resp_arg *name)
{
	for (size_t t = 0; t < sizeof(type_names) / sizeof(*type_names); t++)
		if (arg_is(name, type_names[t]))
			return (int)t;
	return -1;
}

/* cmd_type -- TYPE key: the engine's type of its value, or "none" when
 * missing. */
static void cmd_type(struct client *c)
{
	struct ks_val v;
	int err = ks_get(c->db, &c->argv[1], &v);

	if (err && err != PKV_ENOTFOUND) {
		reply_err_kv(c, err);
		return;
	}
	ks_count_read(!err);
	reply_simple(c, err ? "none" :
		     v.type < sizeof(type_names) / sizeof(*type_names) ?
		     type_names[v.type] : "unknown");
	ks_release(&v);
}

/* cmd_keys -- KEYS pattern: every live key of the database matching it,
 * in one pass over the whole table. */
static void cmd_keys(struct client *c)
{
	struct keylist l = { 0 };
	const struct resp_arg *pat = &c->argv[1];
	uint64_t cursor = 0, next;
	int err = 0;

	if (!(pat->len == 1 && pat->p[0] == '*')) {
		l.pat = pat->p;
		l.plen = pat->len;
	}
	do {
		err = ks_scan(c->db, cursor, 1024, keylist_add, &l,
			       &next);
		cursor = next;
	} while (!err && cursor);
	if (!err && !keylist_dedup(&l))
		err = -ENOMEM;
	if (err)
		reply_err_kv(c, l.nomem ? -ENOMEM : err);
	else
		keylist_reply(c, &l);
	keylist_free(&l);
}

/* cmd_scan -- SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]:
 * [next cursor, [keys...]]. */
static void cmd_scan(struct client *c)
{
	struct keylist l = { 0 };
	struct scan_args sa;
	long long count;
	uint64_t cursor, next = 0;
	int err;

	if (!scan_args_parse(c, 1, true, &sa))
		return;
	cursor = sa.cursor;
	count = sa.count;
	l.pat = sa.pat;
	l.plen = sa.plen;
	if (sa.type) {
		/* Redis 7.0 accepts any name; one that is no type matches
		 * nothing */
		l.typed = true;
		l.type = type_of_name(sa.type);
	}
	/* One pkv_scan walks at most 10 x count buckets, as Redis does;
	 * since libpkv's smallest table has KEYS_MIN_BUCKETS buckets (Redis's
	 * has 4), keep going while the page is short, up to one smallest
	 * table's worth of buckets, so a small database is done in one
	 * call as in Redis. */
	unsigned calls = 1 + KEYS_MIN_BUCKETS / (10 * (unsigned)(
		count > KEYS_MIN_BUCKETS ? KEYS_MIN_BUCKETS : count));
	do {
		err = ks_scan(c->db, cursor,
			       count > UINT_MAX ? UINT_MAX : (unsigned)count,
			       keylist_add, &l, &next);
		cursor = next;
	} while (!err && next && l.n < (unsigned long long)count &&
		 --calls > 0);
	if (err) {
		reply_err_kv(c, l.nomem ? -ENOMEM : err);
		keylist_free(&l);
		return;
	}
	reply_scan_head(c, next);
	keylist_reply(c, &l);
	keylist_free(&l);
}

/*
 * keys_rename -- RENAME / RENAMENX: the value (of any type) and its expiry
 * move to the new name, in one operation of the library.
 */
static void keys_rename(struct client *c, bool nx)
{
	int err = ks_rename(c->db, &c->argv[1], c->db, &c->argv[2],
			    nx ? PKV_NX : 0);

	if (err == PKV_ENOTFOUND)
		reply_error(c, "ERR no such key");
	else if (err == PKV_EEXIST)
		reply_int(c, 0);
	else if (err)
		reply_err_kv(c, err);
	else if (nx)
		reply_int(c, 1);
	else
		reply_ok(c);
}

/* cmd_rename -- RENAME key newkey. */
static void cmd_rename(struct client *c)
{
	keys_rename(c, false);
}

/* cmd_renamenx -- RENAMENX key newkey: 1 renamed, 0 newkey exists. */
static void cmd_renamenx(struct client *c)
{
	keys_rename(c, true);
}

/* cmd_randomkey -- RANDOMKEY: a random live key, or nil. */
static void cmd_randomkey(struct client *c)
{
	char sbuf[256], *buf = sbuf;
	size_t cap = sizeof(sbuf), klen;
	int err;

	/* A key longer than the buffer: grow it and draw again (any key
	 * will do, so the next draw need not be the same one). */
	for (;;) {
		err = ks_random_key(c->db, buf, cap, &klen);
		if (err || klen <= cap)
			break;
		if (buf != sbuf)
			free(buf);
		cap = klen;
		buf = malloc(cap);
		if (!buf) {
			reply_err_kv(c, -ENOMEM);
			return;
		}
	}
	if (err == PKV_ENOTFOUND)
		reply_null(c);
	else if (err)
		reply_err_kv(c, err);
	else
		reply_bulk(c, buf, klen);
	if (buf != sbuf)
		free(buf);
}

/* cmd_dbsize -- DBSIZE: keys in the database (as Redis, expired keys
 * not yet removed included). */
static void cmd_dbsize(struct client *c)
{
	uint64_t n = 0;
	int err = ks_dbsize(c->db, &n, NULL);

	if (err)
		reply_err_kv(c, err);
	else
		reply_int(c, (int64_t)n);
}

/*
 * keys_expire -- Redis's expireGenericCommand: set key's expiry to
 * argv[2] (seconds unless ms) after basetime.  A key without expiry
 * counts as an infinite TTL for GT and LT; a time already past deletes
 * the key (and answers 1).
 */
static void keys_expire(struct client *c, const char *cmd,
			long long basetime, bool ms)
{
	const struct resp_arg *key = &c->argv[1];
	char msg[128];
	unsigned flags;
	int64_t when, cur;
	int err;

	if (setopt_expire(c->argc, c->argv, &flags, msg, sizeof(msg)) ||
	    setopt_expire_when(&c->argv[2], !ms, basetime, cmd, &when, msg,
			       sizeof(msg))) {
		reply_error(c, "%s", msg);
		return;
	}

	err = ks_ttl(c->db, key, &cur);
	if (err == PKV_ENOTFOUND) {
		reply_int(c, 0);
		return;
	}
	if (err) {
		reply_err_kv(c, err);
		return;
	}
	/* cur == 0: no expiry (Redis's -1), an infinite TTL */
	if (!setopt_expire_allows(flags, cur, when)) {
		reply_int(c, 0);
		return;
	}
	if (when <= pkv_now_ms())
		err = ks_del(c->db, key);
	else
		err = ks_expire(c->db, key, when);
	if (err == PKV_ENOTFOUND)
		reply_int(c, 0);        /* it expired in between */
	else if (err)
		reply_err_kv(c, err);
	else
		reply_int(c, 1);
}

/* cmd_expire -- EXPIRE key seconds [NX|XX|GT|LT]. */
static void cmd_expire(struct client *c)
{
	keys_expire(c, "expire", pkv_now_ms(), false);
}

/* cmd_pexpire -- PEXPIRE key milliseconds [NX|XX|GT|LT]. */
static void cmd_pexpire(struct client *c)
{
	keys_expire(c, "pexpire", pkv_now_ms(), true);
}

/* cmd_expireat -- EXPIREAT key unix-seconds [NX|XX|GT|LT]. */
static void cmd_expireat(struct client *c)
{
	keys_expire(c, "expireat", 0, false);
}

/* cmd_pexpireat -- PEXPIREAT key unix-ms [NX|XX|GT|LT]. */
static void cmd_pexpireat(struct client *c)
{
	keys_expire(c, "pexpireat", 0, true);
}

/* keys_ttl -- Redis's ttlGenericCommand: -2 missing, -1 no expiry,
 * else the time left (or the expiry itself, abs), seconds rounded. */
static void keys_ttl(struct client *c, bool ms, bool abs)
{
	int64_t exp, ttl;
	int err = ks_ttl(c->db, &c->argv[1], &exp);

	ks_count_read(err == 0);
	if (err == PKV_ENOTFOUND) {
		reply_int(c, -2);
		return;
	}
	if (err) {
		reply_err_kv(c, err);
		return;
	}
	if (!exp) {
		reply_int(c, -1);
		return;
	}
	ttl = abs ? exp : exp - pkv_now_ms();
	if (ttl < 0)
		ttl = 0;
	reply_int(c, ms ? ttl : (ttl + 500) / 1000);
}

/* cmd_ttl -- TTL key: seconds left. */
static void cmd_ttl(struct client *c)
{
	keys_ttl(c, false, false);
}

/* cmd_pttl -- PTTL key: milliseconds left. */
static void cmd_pttl(struct client *c)
{
	keys_ttl(c, true, false);
}

/* cmd_expiretime -- EXPIRETIME key: the Unix time (s) it expires at. */
static void cmd_expiretime(struct client *c)
{
	keys_ttl(c, false, true);
}

/* cmd_pexpiretime -- PEXPIRETIME key: the Unix time (ms). */
static void cmd_pexpiretime(struct client *c)
{
	keys_ttl(c, true, true);
}

/* cmd_persist -- PERSIST key: 1 if an expiry was removed. */
static void cmd_persist(struct client *c)
{
	int64_t exp;
	int err = ks_ttl(c->db, &c->argv[1], &exp);

	if (err == PKV_ENOTFOUND || (!err && !exp)) {
		reply_int(c, 0);
		return;
	}
	if (!err)
		err = ks_expire(c->db, &c->argv[1], 0);
	if (err == PKV_ENOTFOUND)
		reply_int(c, 0);
	else if (err)
		reply_err_kv(c, err);
	else
		reply_int(c, 1);
}

/* cmd_copy -- COPY source destination [DB n] [REPLACE]: 1 copied, 0
 * source missing or destination present; the expiry is copied too. */
static void cmd_copy(struct client *c)
{
	const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2];
	long long dbid = c->db;
	bool replace = false;
	int err;

	for (size_t j = 3; j < c->argc; j++) {
		if (arg_is(&c->argv[j], "replace")) {
			replace = true;
		} else if (arg_is(&c->argv[j], "db") && j + 1 < c->argc) {
			if (!keys_int_arg(c, &c->argv[j + 1], &dbid, NULL))
				return;
			if (!keys_db_ok(dbid)) {
				reply_error(c, "ERR DB index is out of range");
				return;
			}
			j++;
		} else {
			reply_err_syntax(c);
			return;
		}
	}
	if (dbid == (long long)c->db && keys_same(src, dst)) {
		reply_error(c, "ERR source and destination objects are the "
			    "same");
		return;
	}
	/* Redis's COPY looks the source up as a read (hit or miss). */
	ks_count_read(ks_exists(c->db, src));
	err = ks_copy(c->db, src, (unsigned)dbid, dst, replace ? 0 : PKV_NX);
	if (err == PKV_ENOTFOUND || err == PKV_EEXIST)
		reply_int(c, 0);
	else if (err)
		reply_err_kv(c, err);
	else
		reply_int(c, 1);
}

/* cmd_move -- MOVE key db: 1 moved, 0 missing here or present there;
 * the put there and the delete here are one batch. */
static void cmd_move(struct client *c)
{
	const struct resp_arg *key = &c->argv[1];
	long long dbid;
	int err;

	if (!keys_int_arg(c, &c->argv[2], &dbid, NULL))
		return;
	if (!keys_db_ok(dbid)) {
		reply_error(c, "ERR DB index is out of range");
		return;
	}
	if (dbid == (long long)c->db) {
		reply_error(c, "ERR source and destination objects are the "
			    "same");
		return;
	}
	err = ks_rename(c->db, key, (unsigned)dbid, key, PKV_NX);
	if (err == PKV_ENOTFOUND || err == PKV_EEXIST)
		reply_int(c, 0);
	else if (err)
		reply_err_kv(c, err);
	else
		reply_int(c, 1);
}

/*
 * keys_encoding -- what OBJECT ENCODING answers for a value: a string as
 * Redis encodes one fresh from SET (int, embstr up to 44 bytes, raw), a
 * hash or set as "hashtable", a list as "linkedlist", a sorted set as
 * "skiplist" (a chain of elements, as
 * Redis's lists were before quicklist) -- pkv has no compact encoding,
 * so it never says Redis's "listpack".
 */
static const char *keys_encoding(const struct ks_val *v)
{
	long long ll;

	if (v->type == PKV_TYPE_HASH || v->type == PKV_TYPE_SET)
		return "hashtable";
	if (v->type == PKV_TYPE_LIST)
		return "linkedlist";
	if (v->type == PKV_TYPE_ZSET)
		return "skiplist";
	if (v->len <= 20 && num_parse_ll(v->p, v->len, &ll))
		return "int";
	return v->len <= 44 ? "embstr" : "raw";
}

/* cmd_object -- OBJECT ENCODING|REFCOUNT|FREQ key: nil for a missing key.
 * REFCOUNT is 1 (pkv shares no values); FREQ answers Redis's error for a
 * policy that is not LFU (pkv evicts nothing).  IDLETIME is not offered:
 * pkv does not track access times. */
static void cmd_object(struct client *c)
{
	const struct resp_arg *sub = &c->argv[1];
	bool enc = arg_is(sub, "encoding"), ref = arg_is(sub, "refcount");
	bool freq = arg_is(sub, "freq");
	struct ks_val v;
	int err;

	if (!(enc || ref || freq) || c->argc != 3) {
		static const char *const subs[] = { "encoding", "refcount",
						    "freq", NULL };
		reply_err_subcmd(c, "object", subs);
		return;
	}
	err = ks_get(c->db, &c->argv[2], &v);
	ks_count_read(err == 0);
	if (err == PKV_ENOTFOUND)
		reply_null(c);
	else if (err)
		reply_err_kv(c, err);
	else if (enc)
		reply_cstr(c, keys_encoding(&v));
	else if (ref)
		reply_int(c, 1);
	else
		reply_error(c, "ERR An LFU maxmemory policy is not selected, "
			    "access frequency not tracked. Please note that "
			    "when switching between policies at runtime LRU "
			    "and LFU data will take some time to adjust.");
}

/* cmd_swapdb -- SWAPDB index1 index2. */
static void cmd_swapdb(struct client *c)
{
	long long a, b;
	int err;

	if (!keys_int_arg(c, &c->argv[1], &a, "ERR invalid first DB index") ||
	    !keys_int_arg(c, &c->argv[2], &b, "ERR invalid second DB index"))
		return;
	if (!keys_db_ok(a) || !keys_db_ok(b)) {
		reply_error(c, "ERR DB index is out of range");
		return;
	}
	err = ks_swapdb((unsigned)a, (unsigned)b);
	if (err)
		reply_err_kv(c, err);
	else
		reply_ok(c);
}

/* keys_flush_mode -- Redis's getFlushCommandFlags: nothing, ASYNC or
 * SYNC.  Both return at once in pkv: the tables are unlinked in one
 * transaction and the collector reclaims their blocks lazily. */
static bool keys_flush_mode(struct client *c)
{
	if (c->argc == 1 || (c->argc == 2 && (arg_is(&c->argv[1], "async") ||
					      arg_is(&c->argv[1], "sync"))))
		return true;
	reply_err_syntax(c);
	return false;
}

/* cmd_flushdb -- FLUSHDB [ASYNC|SYNC]. */
static void cmd_flushdb(struct client *c)
{
	int err;

	if (!keys_flush_mode(c))
		return;
	err = ks_flushdb(c->db);
	if (err)
		reply_err_kv(c, err);
	else
		reply_ok(c);
}

/* cmd_flushall -- FLUSHALL [ASYNC|SYNC]. */
static void cmd_flushall(struct client *c)
{
	int err;

	if (!keys_flush_mode(c))
		return;
	err = ks_flushall();
	if (err)
		reply_err_kv(c, err);
	else
		reply_ok(c);
}

#define RO  CMD_READONLY
#define WR  CMD_WRITE
#define F   CMD_FAST
#define OOM CMD_DENYOOM

const struct command key_commands[] = {
	{ "del", -2, WR, 1, -1, 1, cmd_del, "generic", "1.0.0",
	  "Delete a key" },
	{ "unlink", -2, WR | F, 1, -1, 1, cmd_del, "generic", "4.0.0",
	  "Delete a key asynchronously in another thread. Otherwise it is "
	  "just as DEL, but non blocking." },
	{ "exists", -2, RO | F, 1, -1, 1, cmd_exists, "generic", "1.0.0",
	  "Determine if a key exists" },
	{ "type", 2, RO | F, 1, 1, 1, cmd_type, "generic", "1.0.0",
	  "Determine the type stored at key" },
	{ "keys", 2, RO, 0, 0, 0, cmd_keys, "generic", "1.0.0",
	  "Find all keys matching the given pattern" },
	{ "scan", -2, RO, 0, 0, 0, cmd_scan, "generic", "2.8.0",
	  "Incrementally iterate the keys space" },
	{ "rename", 3, WR, 1, 2, 1, cmd_rename, "generic", "1.0.0",
	  "Rename a key" },
	{ "renamenx", 3, WR | F, 1, 2, 1, cmd_renamenx, "generic", "1.0.0",
	  "Rename a key, only if the new key does not exist" },
	{ "randomkey", 1, RO, 0, 0, 0, cmd_randomkey, "generic", "1.0.0",
	  "Return a random key from the keyspace" },
	{ "dbsize", 1, RO | F, 0, 0, 0, cmd_dbsize, "server", "1.0.0",
	  "Return the number of keys in the selected database" },
	{ "expire", -3, WR | F, 1, 1, 1, cmd_expire, "generic", "1.0.0",
	  "Set a key's time to live in seconds" },
	{ "pexpire", -3, WR | F, 1, 1, 1, cmd_pexpire, "generic", "2.6.0",
	  "Set a key's time to live in milliseconds" },
	{ "expireat", -3, WR | F, 1, 1, 1, cmd_expireat, "generic", "1.2.0",
	  "Set the expiration for a key as a UNIX timestamp" },
	{ "pexpireat", -3, WR | F, 1, 1, 1, cmd_pexpireat, "generic",
	  "2.6.0", "Set the expiration for a key as a UNIX timestamp "
	  "specified in milliseconds" },
	{ "ttl", 2, RO | F, 1, 1, 1, cmd_ttl, "generic", "1.0.0",
	  "Get the time to live for a key in seconds" },
	{ "pttl", 2, RO | F, 1, 1, 1, cmd_pttl, "generic", "2.6.0",
	  "Get the time to live for a key in milliseconds" },
	{ "expiretime", 2, RO | F, 1, 1, 1, cmd_expiretime, "generic",
	  "7.0.0", "Get the expiration Unix timestamp for a key" },
	{ "pexpiretime", 2, RO | F, 1, 1, 1, cmd_pexpiretime, "generic",
	  "7.0.0", "Get the expiration Unix timestamp for a key in "
	  "milliseconds" },
	{ "persist", 2, WR | F, 1, 1, 1, cmd_persist, "generic", "2.2.0",
	  "Remove the expiration from a key" },
	{ "copy", -3, WR | OOM, 1, 2, 1, cmd_copy, "generic", "6.2.0",
	  "Copy a key" },
	{ "object", -2, RO, 2, 2, 1, cmd_object, "generic", "2.2.3",
	  "A container for object introspection commands" },
	{ "move", 3, WR | F, 1, 1, 1, cmd_move, "generic", "1.0.0",
	  "Move a key to another database" },
	{ "swapdb", 3, WR | F, 0, 0, 0, cmd_swapdb, "server", "4.0.0",
	  "Swaps two Redis databases" },
	{ "flushdb", -1, WR, 0, 0, 0, cmd_flushdb, "server", "1.0.0",
	  "Remove all keys from the current database" },
	{ "flushall", -1, WR, 0, 0, 0, cmd_flushall, "server", "1.0.0",
	  "Remove all keys from all databases" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
