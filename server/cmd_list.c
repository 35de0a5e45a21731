/*
 * cmd_list.c -- the list commands of Redis 7.0: LPUSH RPUSH LPUSHX
 * RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE
 * RPOPLPUSH LMPOP, and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP,
 * with Redis's replies and errors.
 *
 * The list itself is the library's (pkv.h, "Lists"): a push or pop is
 * one operation of the turn's batch and costs the same whatever the
 * length.  A command that writes several elements stops at the first
 * failure; the loop then takes back everything the command wrote
 * (keyspace.h), so it fails whole.  Elements popped are read in place:
 * the library frees them at the turn's commit, after the replies are
 * made.
 *
 * A blocking command that finds nothing blocks (blocking.h) and is run
 * again when a key it waits on is written; inside EXEC it answers at once
 * as on a timeout, as in Redis.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "client.h"
#include "cmd.h"
#include "keyspace.h"
#include "popargs.h"
#include "srv.h"

/* list_len -- the length of key in c's database (0: no key), counting
 * the lookup as a read when `stats`.  False after replying an error. */
static bool list_len(struct client *c, const struct resp_arg *key,
		     uint64_t *n, bool stats)
{
	int err = ks_llen(c->db, key, n);

	if (stats)
		ks_count_read(err || *n > 0);
	if (err) {
		reply_err_kv(c, err);
		return false;
	}
	return true;
}

/* list_where -- LEFT or RIGHT: PKV_TAIL for RIGHT; false if neither. */
static bool list_where(const struct resp_arg *a, unsigned *flags)
{
	if (arg_is(a, "left"))
		*flags = 0;
	else if (arg_is(a, "right"))
		*flags = PKV_TAIL;
	else
		return false;
	return true;
}

/* ---- pushes ---- */

/* list_push -- every element of argv[2..], at the head or tail (flags);
 * the length after.  PKV_XX: only onto an existing list (else 0). */
static void list_push(struct client *c, unsigned flags)
{
	uint64_t len = 0;

	for (size_t j = 2; j < c->argc; j++) {
		int r = ks_lpush(c->db, &c->argv[1], &c->argv[j], flags, &len);
		if (r == PKV_ENOTFOUND) {
			reply_int(c, 0);
			return;
		}
		if (r) {
			reply_err_kv(c, r);
			return;
		}
	}
	reply_int(c, (int64_t)len);
}

static void cmd_lpush(struct client *c)
{
	list_push(c, 0);
}

static void cmd_rpush(struct client *c)
{
	list_push(c, PKV_TAIL);
}

static void cmd_lpushx(struct client *c)
{
	list_push(c, PKV_XX);
}

static void cmd_rpushx(struct client *c)
{
	list_push(c, PKV_XX | PKV_TAIL);
}

/* ---- pops ---- */

/* list_pop_some -- pop up to count elements of key (a list of len) and
 * reply them as an array. */
static void list_pop_some(struct client *c, const struct resp_arg *key,
			  unsigned flags, uint64_t count, uint64_t len)
{
	uint64_t n = count < len ? count : len;

	reply_array(c, (int64_t)n);
	for (uint64_t i = 0; i < n; i++) {
		struct ks_val v;
		int r = ks_lpop(c->db, key, flags, &v);
		if (r) {           /* the loop takes the command back */
			reply_err_kv(c, r);
			return;
		}
		reply_bulk(c, v.p, v.len);
	}
}

/* list_pop -- LPOP and RPOP key [count]. */
static void list_pop(struct client *c, unsigned flags)
{
	struct ks_val v;
	long long count;
	uint64_t len;
	int r;

	if (c->argc > 3) {
		reply_err_arity(c, c->last_cmd);
		return;
	}
	if (c->argc == 2) {
		r = ks_lpop(c->db, &c->argv[1], flags, &v);
		if (r == PKV_ENOTFOUND)
			reply_null(c);
		else if (r)
			reply_err_kv(c, r);
		else
			reply_bulk(c, v.p, v.len);
		return;
	}
	if (!arg_ll(&c->argv[2], &count) || count < 0) {
		reply_error(c, "ERR value is out of range, must be positive");
		return;
	}
	if (!list_len(c, &c->argv[1], &len, false))
		return;
	if (len == 0)
		reply_null_array(c);
	else
		list_pop_some(c, &c->argv[1], flags, (uint64_t)count, len);
}

static void cmd_lpop(struct client *c)
{
	list_pop(c, 0);
}

static void cmd_rpop(struct client *c)
{
	list_pop(c, PKV_TAIL);
}

/* ---- reads ---- */

static void cmd_llen(struct client *c)
{
	uint64_t n;

	if (list_len(c, &c->argv[1], &n, true))
		reply_int(c, (int64_t)n);
}

static void cmd_lindex(struct client *c)
{
	struct ks_val v;
	long long i;
	int r;

	if (!arg_ll(&c->argv[2], &i)) {
		reply_err_int(c);
		return;
	}
	r = ks_lindex(c->db, &c->argv[1], i, &v);
	ks_count_read(r != PKV_ENOTFOUND);
	if (r == PKV_ENOTFOUND)
		reply_null(c);
	else if (r)
		reply_err_kv(c, r);
	else
		reply_bulk(c, v.p, v.len);
}

/* Elements a walk collected (in place in the pool for the turn). */
struct list_got {
	struct { const char *p; size_t len; } *v;
	size_t n, cap;
};

/* list_collect -- ks_lrange callback: keep the element. */
static int list_collect(void *ctx, const struct pkv_item *it)
{
	struct list_got *g = ctx;

	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		void *v = realloc(g->v, cap * sizeof(*g->v));
		if (!v)
			return -ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n].p = it->val;
	g->v[g->n].len = it->vlen;
	g->n++;
	return 0;
}

static void cmd_lrange(struct client *c)
{
	struct list_got g = { NULL, 0, 0 };
	long long start, stop;
	uint64_t len;
	int r;

	if (!arg_ll(&c->argv[2], &start) || !arg_ll(&c->argv[3], &stop)) {
		reply_err_int(c);
		return;
	}
	if (!list_len(c, &c->argv[1], &len, true))
		return;
	r = ks_lrange(c->db, &c->argv[1], start, stop, 0, list_collect, &g);
	if (r) {
		reply_err_kv(c, r);
	} else {
		reply_array(c, (int64_t)g.n);
		for (size_t i = 0; i < g.n; i++)
			reply_bulk(c, g.v[i].p, g.v[i].len);
	}
	free(g.v);
}

/* What LPOS looks for, and what it found. */
struct list_pos {
	const struct resp_arg *elem;
	long long skip;               /* matches to pass over (RANK - 1) */
	long long want;               /* matches to report (0: all) */
	long long maxlen;             /* elements to compare (0: all) */
	uint64_t len;                 /* the list's */
	bool back;                    /* from the tail (RANK < 0) */
	uint64_t at;                  /* elements compared */
	long long *found;
	long long nfound, cap;
};

/* list_pos_step -- ks_lrange callback for LPOS: 1 stops the walk. */
static int list_pos_step(void *ctx, const struct pkv_item *it)
{
	struct list_pos *p = ctx;
	uint64_t index = p->back ? p->len - 1 - p->at : p->at;

	if (p->maxlen && p->at >= (uint64_t)p->maxlen)
		return 1;
	p->at++;
	if (it->vlen != p->elem->len ||
	    (it->vlen && memcmp(it->val, p->elem->p, it->vlen) != 0))
		return 0;
	if (p->skip > 0) {
		p->skip--;
		return 0;
	}
	if (p->nfound == p->cap) {
		long long cap = p->cap ? 2 * p->cap : 16;
		long long *f = realloc(p->found, (size_t)cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		p->found = f;
		p->cap = cap;
	}
	p->found[p->nfound++] = (long long)index;
	return p->want && p->nfound >= p->want;
}

/* cmd_lpos -- LPOS key element [RANK rank] [COUNT n] [MAXLEN len]. */
static void cmd_lpos(struct client *c)
{
	struct list_pos p = { &c->argv[2], 0, 1, 0, 0, false, 0, NULL, 0, 0 };
	long long rank = 1;
	bool counted = false;
	int r;

	for (size_t j = 3; j < c->argc; j += 2) {
		const struct resp_arg *opt = &c->argv[j];
		long long v;
		if (j + 1 >= c->argc) {
			reply_err_syntax(c);
			return;
		}
		if (!arg_ll(&c->argv[j + 1], &v)) {
			reply_err_int(c);
			return;
		}
		if (arg_is(opt, "rank")) {
			if (v == 0) {
				reply_error(c, "ERR RANK can't be zero: use 1 "
					    "to start from the first match, "
					    "2 from the second ... or use "
					    "negative to start from the end "
					    "of the list");
				return;
			}
			if (v == LLONG_MIN) {
				reply_error(c, "ERR value is out of range");
				return;
			}
			rank = v;
		} else if (arg_is(opt, "count")) {
			if (v < 0) {
				reply_error(c, "ERR COUNT can't be negative");
				return;
			}
			p.want = v;
			counted = true;
		} else if (arg_is(opt, "maxlen")) {
			if (v < 0) {
				reply_error(c, "ERR MAXLEN can't be negative");
				return;
			}
			p.maxlen = v;
		} else {
			reply_err_syntax(c);
			return;
		}
	}
	if (!list_len(c, &c->argv[1], &p.len, true))
		return;
	p.back = rank < 0;
	p.skip = (rank < 0 ? -rank : rank) - 1;
	r = p.len ? ks_lrange(c->db, &c->argv[1], 0, -1, p.back ? PKV_TAIL : 0,
			      list_pos_step, &p) : 0;
	if (r < 0) {
		reply_err_kv(c, r);
	} else if (counted) {
		reply_array(c, p.nfound);
		for (long long i = 0; i < p.nfound; i++)
			reply_int(c, p.found[i]);
	} else if (p.nfound) {
		reply_int(c, p.found[0]);
	} else {
		reply_null(c);
	}
	free(p.found);
}

/* ---- changes in place ---- */

static void cmd_lset(struct client *c)
{
	long long i;
	int r;

	if (!arg_ll(&c->argv[2], &i)) {
		reply_err_int(c);
		return;
	}
	r = ks_lset(c->db, &c->argv[1], i, &c->argv[3]);
	if (r == 0)
		reply_ok(c);
	else if (r == PKV_ENOTFOUND)
		reply_error(c, "ERR no such key");
	else if (r == PKV_ERANGE)
		reply_error(c, "ERR index out of range");
	else
		reply_err_kv(c, r);
}

/* cmd_linsert -- LINSERT key BEFORE|AFTER pivot element: the length, 0
 * (no key) or -1 (no pivot). */
static void cmd_linsert(struct client *c)
{
	unsigned flags;
	uint64_t len;
	int r;

	if (arg_is(&c->argv[2], "after"))
		flags = PKV_AFTER;
	else if (arg_is(&c->argv[2], "before"))
		flags = 0;
	else {
		reply_err_syntax(c);
		return;
	}
	if (!list_len(c, &c->argv[1], &len, false))
		return;
	if (len == 0) {
		reply_int(c, 0);
		return;
	}
	r = ks_linsert(c->db, &c->argv[1], flags, &c->argv[3], &c->argv[4],
		       &len);
	if (r == PKV_ENOTFOUND)
		reply_int(c, -1);
	else if (r)
		reply_err_kv(c, r);
	else
		reply_int(c, (int64_t)len);
}

static void cmd_lrem(struct client *c)
{
	uint64_t removed = 0;
	long long count;
	int r;

	if (!arg_ll(&c->argv[2], &count)) {
		reply_err_int(c);
		return;
	}
	r = ks_lrem(c->db, &c->argv[1], count, &c->argv[3], &removed);
	if (r == 0 || r == PKV_ENOTFOUND)
		reply_int(c, (int64_t)removed);
	else
		reply_err_kv(c, r);
}

static void cmd_ltrim(struct client *c)
{
	long long start, stop;
	int r;

	if (!arg_ll(&c->argv[2], &start) || !arg_ll(&c->argv[3], &stop)) {
		reply_err_int(c);
		return;
	}
	r = ks_ltrim(c->db, &c->argv[1], start, stop);
	if (r == 0 || r == PKV_ENOTFOUND)
		reply_ok(c);
	else
		reply_err_kv(c, r);
}

/* ---- moves ---- */

/*
 * list_move -- pop from src (PKV_TAIL in from) and push onto dst (in to),
 * replying the element.  Returns 1 moved, 0 src is empty (nothing
 * replied), -1 after replying an error (WRONGTYPE of either key: nothing
 * moved).
 */
static int list_move(struct client *c, const struct resp_arg *src,
		     const struct resp_arg *dst, unsigned from, unsigned to)
{
	struct resp_arg val;
	struct ks_val v;
	uint64_t n;
	int r;

	if (!list_len(c, src, &n, false))
		return -1;
	if (n == 0)
		return 0;
	if (!list_len(c, dst, &n, false))
		return -1;
	if ((r = ks_lpop(c->db, src, from, &v)) == 0) {
		val.p = v.p;          /* in place until the commit */
		val.len = v.len;
		r = ks_lpush(c->db, dst, &val, to, &n);
	}
	if (r) {
		reply_err_kv(c, r);
		return -1;
	}
	reply_bulk(c, v.p, v.len);
	return 1;
}

/* list_move_args -- LMOVE's wherefrom and whereto at argv[i], argv[i+1];
 * false after replying a syntax error. */
static bool list_move_args(struct client *c, size_t i, unsigned *from,
			   unsigned *to)
{
	if (list_where(&c->argv[i], from) && list_where(&c->argv[i + 1], to))
		return true;
	reply_err_syntax(c);
	return false;
}

static void cmd_lmove(struct client *c)
{
	unsigned from, to;

	if (list_move_args(c, 3, &from, &to) &&
	    list_move(c, &c->argv[1], &c->argv[2], from, to) == 0)
		reply_null(c);
}

static void cmd_rpoplpush(struct client *c)
{
	if (list_move(c, &c->argv[1], &c->argv[2], PKV_TAIL, 0) == 0)
		reply_null(c);
}

/* ---- LMPOP ---- */

/* list_mpop -- pop from the first non-empty list of m's keys, replying
 * [key, [elements]]: 1, 0 all empty (nothing replied), -1 after an
 * error. */
static int list_mpop(struct client *c, const struct pop_args *m)
{
	for (size_t i = 0; i < m->nkeys; i++) {
		const struct resp_arg *key = &c->argv[m->first + i];
		uint64_t len;
		if (!list_len(c, key, &len, false))
			return -1;
		if (len == 0)
			continue;
		reply_array(c, 2);
		reply_bulk(c, key->p, key->len);
		list_pop_some(c, key, m->second ? PKV_TAIL : 0,
			      (uint64_t)m->count, len);
		return 1;
	}
	return 0;
}

static void cmd_lmpop(struct client *c)
{
	struct pop_args m;

	if (pop_args_parse(c, 1, "left", "right", &m) && list_mpop(c, &m) == 0)
		reply_null_array(c);
}

/* ---- blocking ---- */

/* list_bpop -- BLPOP and BRPOP key [key ...] timeout. */
static void list_bpop(struct client *c, unsigned flags)
{
	int64_t deadline;

	if (!blocking_timeout_parse(c, &c->argv[c->argc - 1], &deadline))
		return;
	for (size_t i = 1; i + 1 < c->argc; i++) {
		uint64_t len;
		if (!list_len(c, &c->argv[i], &len, false))
			return;
		if (len) {
			struct ks_val v;
			int r = ks_lpop(c->db, &c->argv[i], flags, &v);
			if (r) {
				reply_err_kv(c, r);
				return;
			}
			reply_array(c, 2);
			reply_bulk(c, c->argv[i].p, c->argv[i].len);
			reply_bulk(c, v.p, v.len);
			return;
		}
	}
	blocking_wait(c, 1, c->argc - 2, deadline, false);
}

static void cmd_blpop(struct client *c)
{
	list_bpop(c, 0);
}

static void cmd_brpop(struct client *c)
{
	list_bpop(c, PKV_TAIL);
}

/* cmd_blmove -- BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout. */
static void cmd_blmove(struct client *c)
{
	unsigned from, to;
	int64_t deadline;

	if (!list_move_args(c, 3, &from, &to) ||
	    !blocking_timeout_parse(c, &c->argv[5], &deadline))
		return;
	if (list_move(c, &c->argv[1], &c->argv[2], from, to) == 0)
		blocking_wait(c, 1, 1, deadline, true);
}

/* cmd_brpoplpush -- BRPOPLPUSH source destination timeout. */
static void cmd_brpoplpush(struct client *c)
{
	int64_t deadline;

	if (blocking_timeout_parse(c, &c->argv[3], &deadline) &&
	    list_move(c, &c->argv[1], &c->argv[2], PKV_TAIL, 0) == 0)
		blocking_wait(c, 1, 1, deadline, true);
}

/* cmd_blmpop -- BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT n]. */
static void cmd_blmpop(struct client *c)
{
	struct pop_args m;
	int64_t deadline;

	if (!blocking_timeout_parse(c, &c->argv[1], &deadline) ||
	    !pop_args_parse(c, 2, "left", "right", &m))
		return;
	if (list_mpop(c, &m) == 0)
		blocking_wait(c, m.first, m.first + m.nkeys - 1, deadline,
			      false);
}

#define RO CMD_READONLY
#define WR CMD_WRITE
#define F CMD_FAST
#define OOM CMD_DENYOOM

const struct command list_commands[] = {
	{ "lpush", -3, WR | OOM | F, 1, 1, 1, cmd_lpush, "list", "1.0.0",
	  "Prepend one or multiple elements to a list" },
	{ "rpush", -3, WR | OOM | F, 1, 1, 1, cmd_rpush, "list", "1.0.0",
	  "Append one or multiple elements to a list" },
	{ "lpushx", -3, WR | OOM | F, 1, 1, 1, cmd_lpushx, "list", "2.2.0",
	  "Prepend an element to a list, only if the list exists" },
	{ "rpushx", -3, WR | OOM | F, 1, 1, 1, cmd_rpushx, "list", "2.2.0",
	  "Append an element to a list, only if the list exists" },
	{ "lpop", -2, WR | F, 1, 1, 1, cmd_lpop, "list", "1.0.0",
	  "Remove and get the first elements in a list" },
	{ "rpop", -2, WR | F, 1, 1, 1, cmd_rpop, "list", "1.0.0",
	  "Remove and get the last elements in a list" },
	{ "llen", 2, RO | F, 1, 1, 1, cmd_llen, "list", "1.0.0",
	  "Get the length of a list" },
	{ "lindex", 3, RO, 1, 1, 1, cmd_lindex, "list", "1.0.0",
	  "Get an element from a list by its index" },
	{ "lrange", 4, RO, 1, 1, 1, cmd_lrange, "list", "1.0.0",
	  "Get a range of elements from a list" },
	{ "lpos", -3, RO, 1, 1, 1, cmd_lpos, "list", "6.0.6",
	  "Return the index of matching elements on a list" },
	{ "lset", 4, WR | OOM, 1, 1, 1, cmd_lset, "list", "1.0.0",
	  "Set the value of an element in a list by its index" },
	{ "linsert", 5, WR | OOM, 1, 1, 1, cmd_linsert, "list", "2.2.0",
	  "Insert an element before or after another element in a list" },
	{ "lrem", 4, WR, 1, 1, 1, cmd_lrem, "list", "1.0.0",
	  "Remove elements from a list" },
	{ "ltrim", 4, WR, 1, 1, 1, cmd_ltrim, "list", "1.0.0",
	  "Trim a list to the specified range" },
	{ "lmove", 5, WR | OOM, 1, 2, 1, cmd_lmove, "list", "6.2.0",
	  "Pop an element from a list, push it to another list and return "
	  "it" },
	{ "rpoplpush", 3, WR | OOM, 1, 2, 1, cmd_rpoplpush, "list", "1.2.0",
	  "Remove the last element in a list, prepend it to another list "
	  "and return it" },
	{ "lmpop", -4, WR, 0, 0, 0, cmd_lmpop, "list", "7.0.0",
	  "Pop elements from a list" },
	{ "blpop", -3, WR, 1, -2, 1, cmd_blpop, "list", "2.0.0",
	  "Remove and get the first element in a list, or block until one "
	  "is available" },
	{ "brpop", -3, WR, 1, -2, 1, cmd_brpop, "list", "2.0.0",
	  "Remove and get the last element in a list, or block until one "
	  "is available" },
	{ "blmove", 6, WR | OOM, 1, 2, 1, cmd_blmove, "list", "6.2.0",
	  "Pop an element from a list, push it to another list and return "
	  "it; or block until one is available" },
	{ "brpoplpush", 4, WR | OOM, 1, 2, 1, cmd_brpoplpush, "list", "2.2.0",
	  "Pop an element from a list, push it to another list and return "
	  "it; or block until one is available" },
	{ "blmpop", -5, WR, 0, 0, 0, cmd_blmpop, "list", "7.0.0",
	  "Pop elements from a list, or block until one is available" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
