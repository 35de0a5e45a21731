/*
 * cmd_set.c -- the set commands of Redis 7.0: SADD SREM SISMEMBER
 * SMISMEMBER SMEMBERS SCARD SPOP SRANDMEMBER SMOVE SINTER SINTERCARD
 * SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN, with Redis's
 * replies and errors.
 *
 * The set itself is the library's (pkv.h, "Sets"): adding or removing a
 * member is one operation of the turn's batch and costs the same whatever
 * the set's size; a random member is drawn in O(1) on average.  The
 * algebra (SINTER, SUNION, SDIFF and their STORE forms) works on copies of
 * the members: SINTER walks the smallest set and asks the others, SDIFF
 * walks the first, SUNION sorts them all.  A STORE form computes first,
 * then replaces the destination, so a destination that is also a source
 * is read before it is written.  A command that fails after writing is
 * taken back whole by the loop (keyspace.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "keyspace.h"
#include "proto/glob.h"
#include "scanargs.h"
#include "srv.h"

#define SET_SCAN_STEP 1024u   /* buckets per library scan step */

/* Members, copied. */
struct member {
	char *p;
	size_t len;
};

struct members {
	struct member *v;
	size_t n, cap;
	const char *pat;              /* SSCAN's MATCH, or NULL */
	size_t plen;
};

/* members_push -- a copy of p[0..len) at the end of m; false without
 * memory. */
static bool members_push(struct members *m, const void *p, size_t len)
{
	char *q;

	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		struct member *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return false;
		m->v = v;
		m->cap = cap;
	}
	if (!(q = malloc(len ? len : 1)))
		return false;
	memcpy(q, p, len);
	m->v[m->n].p = q;
	m->v[m->n].len = len;
	m->n++;
	return true;
}

/* members_add -- scan callback: keep the member (if it matches). */
static int members_add(void *ctx, const struct pkv_item *it)
{
	struct members *m = ctx;

	if (m->pat && !glob_match(m->pat, m->plen, it->key, it->klen, 0))
		return 0;
	return members_push(m, it->key, it->klen) ? 0 : -ENOMEM;
}

static void members_free(struct members *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].p);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* members_drop -- remove member i (order not kept). */
static void members_drop(struct members *m, size_t i)
{
	free(m->v[i].p);
	m->v[i] = m->v[--m->n];
}

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = n ? memcmp(x->p, y->p, n) : 0;

	return r ? r : (x->len > y->len) - (x->len < y->len);
}

/* members_unique -- sort and drop duplicates. */
static void members_unique(struct members *m)
{
	size_t j = 0;

	if (m->n)
		qsort(m->v, m->n, sizeof(*m->v), member_cmp);
	for (size_t i = 0; i < m->n; i++) {
		if (j && !member_cmp(&m->v[j - 1], &m->v[i]))
			free(m->v[i].p);
		else
			m->v[j++] = m->v[i];
	}
	m->n = j;
}

/* set_card -- the members of key (0: no key), counting the lookup as a
 * read when `stats`.  False after replying an error (WRONGTYPE...). */
static bool set_card(struct client *c, const struct resp_arg *key,
		     uint64_t *n, bool stats)
{
	int err = ks_scard(c->db, key, n);

	if (stats)
		ks_count_read(err || *n > 0);
	if (err) {
		reply_err_kv(c, err);
		return false;
	}
	return true;
}

/* set_all -- every member of key, copied, appended to m.  False after
 * replying an error. */
static bool set_all(struct client *c, const struct resp_arg *key,
		    struct members *m)
{
	uint64_t cur = 0;
	int err;

	do {
		err = ks_sscan(c->db, key, cur, SET_SCAN_STEP, members_add, m,
			       &cur);
	} while (!err && cur);
	if (err)
		reply_err_kv(c, err);
	return !err;
}

/* reply_members -- m as a set (RESP3) or array. */
static void reply_members(struct client *c, const struct members *m,
			  bool as_set)
{
	if (as_set)
		reply_set(c, (int64_t)m->n);
	else
		reply_array(c, (int64_t)m->n);
	for (size_t i = 0; i < m->n; i++)
		reply_bulk(c, m->v[i].p, m->v[i].len);
}

/* ---- members one by one ---- */

static void cmd_sadd(struct client *c)
{
	int64_t added = 0;

	for (size_t j = 2; j < c->argc; j++) {
		int r = ks_sadd(c->db, &c->argv[1], &c->argv[j]);
		if (r == 0)
			added++;
		else if (r != PKV_EEXIST) {
			reply_err_kv(c, r);
			return;
		}
	}
	reply_int(c, added);
}

static void cmd_srem(struct client *c)
{
	int64_t removed = 0;

	for (size_t j = 2; j < c->argc; j++) {
		int r = ks_srem(c->db, &c->argv[1], c->argv[j].p,
				c->argv[j].len);
		if (r == 0)
			removed++;
		else if (r != PKV_ENOTFOUND) {
			reply_err_kv(c, r);
			return;
		}
	}
	reply_int(c, removed);
}

/* set_is -- 1 member, 0 not, -1 after replying an error. */
static int set_is(struct client *c, const struct resp_arg *key,
		  const void *member, size_t mlen)
{
	int r = ks_sismember(c->db, key, member, mlen);

	if (r == 0)
		return 1;
	if (r == PKV_ENOTFOUND)
		return 0;
	reply_err_kv(c, r);
	return -1;
}

static void cmd_sismember(struct client *c)
{
	int r = set_is(c, &c->argv[1], c->argv[2].p, c->argv[2].len);

	ks_count_read(r != 0);
	if (r >= 0)
		reply_int(c, r);
}

static void cmd_smismember(struct client *c)
{
	uint64_t n;

	if (!set_card(c, &c->argv[1], &n, true))
		return;
	reply_array(c, (int64_t)c->argc - 2);
	for (size_t j = 2; j < c->argc; j++)
		reply_int(c, n && set_is(c, &c->argv[1], c->argv[j].p,
					 c->argv[j].len) == 1);
}

static void cmd_scard(struct client *c)
{
	uint64_t n;

	if (set_card(c, &c->argv[1], &n, true))
		reply_int(c, (int64_t)n);
}

static void cmd_smembers(struct client *c)
{
	struct members m = { 0 };
	uint64_t n;

	if (set_card(c, &c->argv[1], &n, true) && set_all(c, &c->argv[1], &m))
		reply_members(c, &m, true);
	members_free(&m);
}

/* ---- random members ---- */

/* set_random -- a random member of key (non-empty), copied into m.  False
 * after replying an error. */
static bool set_random(struct client *c, const struct resp_arg *key,
		       struct members *m)
{
	struct ks_val v;
	int err = ks_srandmember(c->db, key, srv_rand(UINT64_MAX), &v);

	if (!err && !members_push(m, v.p, v.len))
		err = -ENOMEM;
	if (err)
		reply_err_kv(c, err);
	return !err;
}

/* cmd_spop -- SPOP key [count]: one random member removed (nil if none);
 * with a count, up to that many distinct ones, as a set. */
static void cmd_spop(struct client *c)
{
	struct members m = { 0 };
	long long count;
	uint64_t n;

	if (c->argc > 3) {
		reply_err_syntax(c);
		return;
	}
	if (c->argc == 3 && (!arg_ll(&c->argv[2], &count) || count < 0)) {
		reply_error(c, "ERR value is out of range, must be positive");
		return;
	}
	if (!set_card(c, &c->argv[1], &n, false))
		return;
	if (c->argc == 2) {
		if (n == 0) {
			reply_null(c);
		} else if (set_random(c, &c->argv[1], &m)) {
			int r = ks_srem(c->db, &c->argv[1], m.v[0].p,
					m.v[0].len);
			if (r)
				reply_err_kv(c, r);
			else
				reply_bulk(c, m.v[0].p, m.v[0].len);
		}
		members_free(&m);
		return;
	}
	if ((uint64_t)count >= n) {           /* all of them: the key goes */
		int r = 0;
		if (n && (!set_all(c, &c->argv[1], &m) ||
			  (r = ks_del(c->db, &c->argv[1])) != 0)) {
			if (r)
				reply_err_kv(c, r);
			members_free(&m);
			return;
		}
	} else {
		for (long long i = 0; i < count; i++) {
			int r;
			if (!set_random(c, &c->argv[1], &m)) {
				members_free(&m);
				return;
			}
			r = ks_srem(c->db, &c->argv[1], m.v[m.n - 1].p,
				    m.v[m.n - 1].len);
			if (r) {
				reply_err_kv(c, r);
				members_free(&m);
				return;
			}
		}
	}
	reply_members(c, &m, true);
	members_free(&m);
}

/* set_distinct_draws -- want distinct members of key by single draws,
 * into m: 1; 0 when 8 x SRV_RAND_DRAWS draws did not find them (m is then
 * to be discarded); -1 after replying an error. */
static int set_distinct_draws(struct client *c, const struct resp_arg *key,
			      uint64_t want, struct members *m)
{
	for (unsigned tries = 0; m->n < want; tries++) {
		bool dup = false;
		if (tries == 8 * SRV_RAND_DRAWS)
			return 0;
		if (!set_random(c, key, m))
			return -1;
		for (size_t i = 0; i + 1 < m->n && !dup; i++)
			dup = !member_cmp(&m->v[i], &m->v[m->n - 1]);
		if (dup)
			members_drop(m, m->n - 1);
	}
	return 1;
}

/* cmd_srandmember -- SRANDMEMBER key [count]: one random member (nil if
 * none); with a count, that many distinct ones (all if fewer), or with a
 * negative count, that many with repeats. */
static void cmd_srandmember(struct client *c)
{
	struct members m = { 0 };
	long long count;
	uint64_t n, want;
	int drawn = 1;

	if (c->argc > 3) {
		reply_err_syntax(c);
		return;
	}
	if (c->argc == 3) {
		if (!arg_ll(&c->argv[2], &count)) {
			reply_err_int(c);
			return;
		}
		if (count < -SRV_RAND_MAX_REPEATS) {
			reply_error(c, "ERR value is out of range");
			return;
		}
	}
	if (!set_card(c, &c->argv[1], &n, true))
		return;
	if (c->argc == 2) {
		if (n == 0)
			reply_null(c);
		else if (set_random(c, &c->argv[1], &m))
			reply_bulk(c, m.v[0].p, m.v[0].len);
		members_free(&m);
		return;
	}
	want = count < 0 ? (uint64_t)-count : (uint64_t)count;
	if (n == 0 || want == 0) {
		reply_array(c, 0);
		return;
	}
	if (count < 0 && want <= SRV_RAND_DRAWS) {   /* with repeats */
		for (uint64_t i = 0; i < want; i++)
			if (!set_random(c, &c->argv[1], &m)) {
				members_free(&m);
				return;
			}
	} else if (count < 0) {
		/* Many with repeats: from one read of the set, not a draw
		 * each (a draw walks empty buckets in a sparse table), each
		 * pick replied at once, not copied first. */
		if (set_all(c, &c->argv[1], &m)) {
			reply_array(c, m.n ? (int64_t)want : 0);
			for (uint64_t i = 0; m.n && i < want; i++) {
				const struct member *x = &m.v[srv_rand(m.n)];
				reply_bulk(c, x->p, x->len);
			}
		}
		members_free(&m);
		return;
	} else if (want > SRV_RAND_DRAWS || want * 3 > n ||
		   (drawn = set_distinct_draws(c, &c->argv[1], want, &m)) <= 0) {
		/* all, less a random few */
		members_free(&m);
		if (drawn < 0 || !set_all(c, &c->argv[1], &m)) {
			members_free(&m);
			return;
		}
		while (m.n > want)
			members_drop(&m, (size_t)srv_rand(m.n));
	}
	reply_members(c, &m, false);
	members_free(&m);
}

/* cmd_smove -- SMOVE source destination member: 1 moved, 0 not there. */
static void cmd_smove(struct client *c)
{
	const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2];
	const struct resp_arg *mem = &c->argv[3];
	uint64_t n;
	int r;

	if (!set_card(c, src, &n, false) || !set_card(c, dst, &n, false))
		return;
	if (src->len == dst->len && !memcmp(src->p, dst->p, src->len)) {
		if ((r = set_is(c, src, mem->p, mem->len)) >= 0)
			reply_int(c, r);
		return;
	}
	r = ks_srem(c->db, src, mem->p, mem->len);
	if (r == PKV_ENOTFOUND) {
		reply_int(c, 0);
		return;
	}
	if (r == 0 && (r = ks_sadd(c->db, dst, mem)) == PKV_EEXIST)
		r = 0;
	if (r)
		reply_err_kv(c, r);
	else
		reply_int(c, 1);
}

/* ---- algebra ---- */

enum set_op { SET_INTER, SET_UNION, SET_DIFF };

/*
 * set_compute -- op over the sets keys[0..nkeys), into m (copies), at
 * most limit members for SET_INTER (0: no limit).  Every key is checked
 * to be a set (or missing) first, as Redis does.  False after replying
 * an error.
 */
static bool set_compute(struct client *c, enum set_op op,
			const struct resp_arg *keys, size_t nkeys,
			uint64_t limit, struct members *m)
{
	uint64_t *card = calloc(nkeys, sizeof(*card));
	size_t small = 0;
	bool ok = card != NULL;

	if (!ok)
		reply_err_kv(c, -ENOMEM);
	for (size_t i = 0; ok && i < nkeys; i++) {
		ok = set_card(c, &keys[i], &card[i], true);
		if (ok && card[i] < card[small])
			small = i;
	}
	if (!ok)
		goto out;
	switch (op) {
	case SET_UNION:
		for (size_t i = 0; ok && i < nkeys; i++)
			if (card[i])
				ok = set_all(c, &keys[i], m);
		if (ok)
			members_unique(m);
		break;
	case SET_INTER:
	case SET_DIFF:
		if (op == SET_DIFF)
			small = 0;
		if (!card[small] || !(ok = set_all(c, &keys[small], m)))
			break;
		for (size_t j = 0; j < m->n; ) {
			bool keep = true;
			for (size_t i = 0; i < nkeys && keep; i++) {
				int r;
				if (i == small || (op == SET_DIFF && !card[i]))
					continue;
				r = card[i] ? set_is(c, &keys[i], m->v[j].p,
						     m->v[j].len) : 0;
				if (r < 0) {
					ok = false;
					goto out;
				}
				keep = op == SET_INTER ? r == 1 : r == 0;
			}
			if (keep)
				j++;
			else
				members_drop(m, j);
			if (limit && op == SET_INTER && j >= limit) {
				while (m->n > j)
					members_drop(m, m->n - 1);
				break;
			}
		}
		break;
	}
out:
	free(card);
	return ok;
}

/* set_algebra -- SINTER, SUNION, SDIFF key [key ...]. */
static void set_algebra(struct client *c, enum set_op op)
{
	struct members m = { 0 };

	if (set_compute(c, op, &c->argv[1], c->argc - 1, 0, &m))
		reply_members(c, &m, true);
	members_free(&m);
}

static void cmd_sinter(struct client *c)
{
	set_algebra(c, SET_INTER);
}

static void cmd_sunion(struct client *c)
{
	set_algebra(c, SET_UNION);
}

static void cmd_sdiff(struct client *c)
{
	set_algebra(c, SET_DIFF);
}

/* set_store -- SINTERSTORE, SUNIONSTORE, SDIFFSTORE destination key...:
 * the result replaces destination (deleted if empty); its size. */
static void set_store(struct client *c, enum set_op op)
{
	struct members m = { 0 };
	int r;

	if (!set_compute(c, op, &c->argv[2], c->argc - 2, 0, &m))
		goto out;
	r = ks_del(c->db, &c->argv[1]);
	for (size_t i = 0; i < m.n && (r == 0 || r == PKV_ENOTFOUND); i++) {
		struct resp_arg a = { m.v[i].p, m.v[i].len };
		r = ks_sadd(c->db, &c->argv[1], &a);
	}
	if (r && r != PKV_ENOTFOUND)
		reply_err_kv(c, r);
	else
		reply_int(c, (int64_t)m.n);
out:
	members_free(&m);
}

static void cmd_sinterstore(struct client *c)
{
	set_store(c, SET_INTER);
}

static void cmd_sunionstore(struct client *c)
{
	set_store(c, SET_UNION);
}

static void cmd_sdiffstore(struct client *c)
{
	set_store(c, SET_DIFF);
}

/* cmd_sintercard -- SINTERCARD numkeys key [key ...] [LIMIT limit]. */
static void cmd_sintercard(struct client *c)
{
	struct members m = { 0 };
	long long numkeys, limit = 0;
	size_t j;

	if (!arg_ll(&c->argv[1], &numkeys) || numkeys <= 0) {
		reply_error(c, "ERR numkeys should be greater than 0");
		return;
	}
	if ((unsigned long long)numkeys > c->argc - 2) {
		reply_error(c, "ERR Number of keys can't be greater than "
			    "number of args");
		return;
	}
	for (j = 2 + (size_t)numkeys; j < c->argc; j += 2) {
		if (!arg_is(&c->argv[j], "limit") || j + 1 >= c->argc) {
			reply_err_syntax(c);
			return;
		}
		if (!arg_ll(&c->argv[j + 1], &limit)) {
			reply_err_int(c);
			return;
		}
		if (limit < 0) {
			reply_error(c, "ERR LIMIT can't be negative");
			return;
		}
	}
	if (set_compute(c, SET_INTER, &c->argv[2], (size_t)numkeys,
			(uint64_t)limit, &m))
		reply_int(c, (int64_t)m.n);
	members_free(&m);
}

/* cmd_sscan -- SSCAN key cursor [MATCH pattern] [COUNT count]. */
static void cmd_sscan(struct client *c)
{
	struct members m = { 0 };
	struct scan_args sa;
	uint64_t n, next = 0;
	int err;

	if (!scan_args_parse(c, 2, false, &sa) ||
	    !set_card(c, &c->argv[1], &n, true))
		return;
	m.pat = sa.pat;
	m.plen = sa.plen;
	if (n && (err = ks_sscan(c->db, &c->argv[1], sa.cursor,
				 sa.count > UINT_MAX ? UINT_MAX
						     : (unsigned)sa.count,
				 members_add, &m, &next))) {
		reply_err_kv(c, err);
		members_free(&m);
		return;
	}
	reply_scan_head(c, next);
	reply_members(c, &m, false);
	members_free(&m);
}

#define RO CMD_READONLY
#define WR CMD_WRITE
#define F CMD_FAST
#define OOM CMD_DENYOOM

const struct command set_commands[] = {
	{ "sadd", -3, WR | OOM | F, 1, 1, 1, cmd_sadd, "set", "1.0.0",
	  "Add one or more members to a set" },
	{ "srem", -3, WR | F, 1, 1, 1, cmd_srem, "set", "1.0.0",
	  "Remove one or more members from a set" },
	{ "sismember", 3, RO | F, 1, 1, 1, cmd_sismember, "set", "1.0.0",
	  "Determine if a given value is a member of a set" },
	{ "smismember", -3, RO | F, 1, 1, 1, cmd_smismember, "set", "6.2.0",
	  "Returns the membership associated with the given elements for a "
	  "set" },
	{ "scard", 2, RO | F, 1, 1, 1, cmd_scard, "set", "1.0.0",
	  "Get the number of members in a set" },
	{ "smembers", 2, RO, 1, 1, 1, cmd_smembers, "set", "1.0.0",
	  "Get all the members in a set" },
	{ "spop", -2, WR | F, 1, 1, 1, cmd_spop, "set", "1.0.0",
	  "Remove and return one or multiple random members from a set" },
	{ "srandmember", -2, RO, 1, 1, 1, cmd_srandmember, "set", "1.0.0",
	  "Get one or multiple random members from a set" },
	{ "smove", 4, WR | F, 1, 2, 1, cmd_smove, "set", "1.0.0",
	  "Move a member from one set to another" },
	{ "sinter", -2, RO, 1, -1, 1, cmd_sinter, "set", "1.0.0",
	  "Intersect multiple sets" },
	{ "sintercard", -3, RO, 0, 0, 0, cmd_sintercard, "set", "7.0.0",
	  "Intersect multiple sets and return the cardinality of the result" },
	{ "sunion", -2, RO, 1, -1, 1, cmd_sunion, "set", "1.0.0",
	  "Add multiple sets" },
	{ "sdiff", -2, RO, 1, -1, 1, cmd_sdiff, "set", "1.0.0",
	  "Subtract multiple sets" },
	{ "sinterstore", -3, WR | OOM, 1, -1, 1, cmd_sinterstore, "set",
	  "1.0.0", "Intersect multiple sets and store the resulting set in a "
	  "key" },
	{ "sunionstore", -3, WR | OOM, 1, -1, 1, cmd_sunionstore, "set",
	  "1.0.0", "Add multiple sets and store the resulting set in a key" },
	{ "sdiffstore", -3, WR | OOM, 1, -1, 1, cmd_sdiffstore, "set",
	  "1.0.0", "Subtract multiple sets and store the resulting set in a "
	  "key" },
	{ "sscan", -3, RO, 1, 1, 1, cmd_sscan, "set", "2.8.0",
	  "Incrementally iterate Set elements" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
