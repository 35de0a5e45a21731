/*
 * cmd_zset.c -- the sorted set commands of Redis 7.0: ZADD (NX XX GT LT
 * CH INCR) ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT
 * ZLEXCOUNT ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZRANGESTORE
 * ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
 * ZREMRANGEBYRANK/SCORE/LEX ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZMPOP BZMPOP
 * ZRANDMEMBER ZUNION ZINTER ZDIFF and their STORE forms (WEIGHTS,
 * AGGREGATE) ZINTERCARD ZSCAN, with Redis's replies and errors.
 *
 * The sorted set is the library's (pkv.h, "Sorted sets"): every write is
 * O(log n) words in the turn's batch, ranks and range starts O(log n).
 * The algebra works on copies of its inputs (sorted sets, or sets with
 * score 1): all of them sorted by member, then merged.  A STORE form
 * computes before it replaces its destination.  A command that fails
 * after writing is taken back whole by the loop (keyspace.h).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "client.h"
#include "cmd.h"
#include "keyspace.h"
#include "popargs.h"
#include "proto/glob.h"
#include "scanargs.h"
#include "srv.h"

#define ZSCAN_STEP 1024u

/* ---- parsing ---- */

/* zparse_double -- a score as Redis reads one (strtod, whole string, no
 * NaN): false if it is not one. */
static bool zparse_double(const struct resp_arg *a, double *d)
{
	char buf[128], *end;

	if (a->len == 0 || a->len >= sizeof(buf) ||
	    (a->p[0] == ' ' || a->p[0] == '\t'))
		return false;
	memcpy(buf, a->p, a->len);
	buf[a->len] = '\0';
	errno = 0;
	*d = strtod(buf, &end);
	return end == buf + a->len && !isnan(*d) &&
	       !(errno == ERANGE && !isinf(*d) && *d != 0);
}

/* zparse_score_bound -- "(x", "x", "-inf", "+inf" into a range's end. */
static bool zparse_score_bound(const struct resp_arg *a, double *d,
			       bool *excl)
{
	struct resp_arg rest = *a;

	*excl = a->len > 0 && a->p[0] == '(';
	if (*excl) {
		rest.p++;
		rest.len--;
	}
	return zparse_double(&rest, d);
}

/* zparse_lex_bound -- "[m", "(m", "-", "+" into a range's end. */
static bool zparse_lex_bound(const struct resp_arg *a, const void **m,
			     size_t *ml, bool *excl, int *inf)
{
	*inf = 0;
	*excl = false;
	if (a->len == 1 && (a->p[0] == '-' || a->p[0] == '+')) {
		*inf = a->p[0] == '-' ? -1 : 1;
		*m = "";
		*ml = 0;
		return true;
	}
	if (a->len == 0 || (a->p[0] != '[' && a->p[0] != '('))
		return false;
	*excl = a->p[0] == '(';
	*m = a->p + 1;
	*ml = a->len - 1;
	return true;
}

/* zrange_bounds -- min and max of a BYSCORE or BYLEX range into q;
 * false after replying Redis's error. */
static bool zrange_bounds(struct client *c, const struct resp_arg *min,
			  const struct resp_arg *max, struct pkv_zrange *q)
{
	if (q->by == PKV_ZBY_SCORE) {
		if (zparse_score_bound(min, &q->min, &q->minex) &&
		    zparse_score_bound(max, &q->max, &q->maxex))
			return true;
		reply_error(c, "ERR min or max is not a float");
		return false;
	}
	if (zparse_lex_bound(min, &q->lmin, &q->lminlen, &q->minex,
			     &q->lmin_inf) &&
	    zparse_lex_bound(max, &q->lmax, &q->lmaxlen, &q->maxex,
			     &q->lmax_inf))
		return true;
	reply_error(c, "ERR min or max not valid string range item");
	return false;
}

/* ---- members and scores, copied ---- */

struct zpair {
	char *m;
	size_t len;
	double s;
	unsigned src;                 /* the algebra: which input */
};

struct zpairs {
	struct zpair *v;
	size_t n, cap;
	const char *pat;              /* ZSCAN's MATCH, or NULL */
	size_t plen;
	unsigned src;
	double weight;
};

static bool zpairs_push(struct zpairs *z, const void *m, size_t len,
			double s)
{
	char *p;

	if (z->n == z->cap) {
		size_t cap = z->cap ? 2 * z->cap : 64;
		struct zpair *v = realloc(z->v, cap * sizeof(*v));
		if (!v)
			return false;
		z->v = v;
		z->cap = cap;
	}
	if (!(p = malloc(len ? len : 1)))
		return false;
	memcpy(p, m, len);
	z->v[z->n++] = (struct zpair){ p, len, s, z->src };
	return true;
}

/* zpairs_add -- a pkv_zfn: keep the member and its score (times the
 * input's weight; NaN from 0 * inf counts as 0, as in Redis). */
static int zpairs_add(void *ctx, const void *m, size_t len, double s)
{
	struct zpairs *z = ctx;

	if (z->pat && !glob_match(z->pat, z->plen, m, len, 0))
		return 0;
	s *= z->weight;
	if (isnan(s))
		s = 0;
	return zpairs_push(z, m, len, s) ? 0 : -ENOMEM;
}

/* zpairs_add_member -- a pkv_scan_fn for a set's members: score 1, as
 * Redis gives a set's members in the algebra. */
static int zpairs_add_member(void *ctx, const struct pkv_item *it)
{
	return zpairs_add(ctx, it->key, it->klen, 1.0);
}

static void zpairs_free(struct zpairs *z)
{
	for (size_t i = 0; i < z->n; i++)
		free(z->v[i].m);
	free(z->v);
	memset(z, 0, sizeof(*z));
}

static int zpair_by_member(const void *a, const void *b)
{
	const struct zpair *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = n ? memcmp(x->m, y->m, n) : 0;

	if (r)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->src > y->src) - (x->src < y->src);
}

static int zpair_by_score(const void *a, const void *b)
{
	const struct zpair *x = a, *y = b;

	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	return zpair_by_member(a, b);
}

/* zset_card -- the members of key (0: no key); false after an error. */
static bool zset_card(struct client *c, const struct resp_arg *key,
		      uint64_t *n, bool stats)
{
	int err = ks_zcard(c->db, key, n);

	if (stats)
		ks_count_read(err || *n > 0);
	if (err) {
		reply_err_kv(c, err);
		return false;
	}
	return true;
}

/* zset_collect -- the members of q's range of key, copied into z. */
static bool zset_collect(struct client *c, const struct resp_arg *key,
			 const struct pkv_zrange *q, struct zpairs *z)
{
	int err = ks_zrange(c->db, key, q, zpairs_add, z);

	if (err)
		reply_err_kv(c, err);
	return !err;
}

/* reply_pair -- one pair as ZRANGE answers it (WITHSCORES: RESP2 member,
 * score; RESP3 a [member, score] pair). */
static void reply_pair(struct client *c, const struct zpair *p,
		       bool scores)
{
	if (scores && c->proto >= 3)
		reply_array(c, 2);
	reply_bulk(c, p->m, p->len);
	if (scores)
		reply_double(c, p->s);
}

/* reply_pairs_len -- the array header of n pairs (reply_pair's). */
static void reply_pairs_len(struct client *c, size_t n, bool scores)
{
	reply_array(c, (int64_t)(scores && c->proto < 3 ? 2 * n : n));
}

/* reply_pairs -- z's pairs as ZRANGE answers them. */
static void reply_pairs(struct client *c, const struct zpairs *z,
			bool scores)
{
	reply_pairs_len(c, z->n, scores);
	for (size_t i = 0; i < z->n; i++)
		reply_pair(c, &z->v[i], scores);
}

/* ---- ZADD, ZINCRBY, ZREM ---- */

/* cmd_zadd -- ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ... */
static void cmd_zadd(struct client *c)
{
	unsigned flags = 0;
	bool ch = false, incr = false;
	size_t j = 2, npairs;
	int64_t added = 0, changed = 0;
	double *scores;

	for (; j < c->argc; j++) {
		const struct resp_arg *a = &c->argv[j];
		if (arg_is(a, "nx"))
			flags |= PKV_NX;
		else if (arg_is(a, "xx"))
			flags |= PKV_XX;
		else if (arg_is(a, "gt"))
			flags |= PKV_GT;
		else if (arg_is(a, "lt"))
			flags |= PKV_LT;
		else if (arg_is(a, "ch"))
			ch = true;
		else if (arg_is(a, "incr"))
			incr = true;
		else
			break;
	}
	npairs = (c->argc - j) / 2;
	if ((c->argc - j) % 2 || npairs == 0) {
		reply_err_syntax(c);
		return;
	}
	if ((flags & PKV_NX) && (flags & PKV_XX)) {
		reply_error(c, "ERR XX and NX options at the same time are not "
			    "compatible");
		return;
	}
	if (((flags & PKV_GT) && (flags & PKV_LT)) ||
	    ((flags & (PKV_GT | PKV_LT)) && (flags & PKV_NX))) {
		reply_error(c, "ERR GT, LT, and/or NX options at the same time "
			    "are not compatible");
		return;
	}
	if (incr && npairs > 1) {
		reply_error(c, "ERR INCR option supports a single "
			    "increment-element pair");
		return;
	}
	if (!(scores = malloc(npairs * sizeof(*scores)))) {
		reply_err_kv(c, -ENOMEM);
		return;
	}
	for (size_t i = 0; i < npairs; i++)
		if (!zparse_double(&c->argv[j + 2 * i], &scores[i])) {
			reply_err_float(c);
			goto out;
		}
	for (size_t i = 0; i < npairs; i++) {
		const struct resp_arg *m = &c->argv[j + 2 * i + 1];
		double before = 0, s = scores[i];
		/* the score before: only CH and INCR answer with it */
		int had = ch || incr ? ks_zscore(c->db, &c->argv[1], m->p,
						 m->len, &before)
				     : PKV_ENOTFOUND;
		int r;
		if (had && had != PKV_ENOTFOUND) {
			reply_err_kv(c, had);
			goto out;
		}
		r = ks_zadd(c->db, &c->argv[1], m, &s,
			    flags | (incr ? PKV_ZINCR : 0));
		if (r == PKV_ERANGE) {
			reply_error(c, "ERR resulting score is not a number "
				    "(NaN)");
			goto out;
		}
		if (r && r != PKV_EEXIST && r != PKV_ENOTFOUND) {
			reply_err_kv(c, r);
			goto out;
		}
		if (incr) {
			double want = before + scores[i];
			bool blocked = (flags & PKV_NX) ||
				       ((flags & PKV_GT) && !(want > before)) ||
				       ((flags & PKV_LT) && !(want < before));
			bool done = r == 0 || (r == PKV_EEXIST && !blocked);
			if (done)
				reply_double(c, s);
			else
				reply_null(c);
			goto out;
		}
		added += r == 0;
		changed += r == 0 || (r == PKV_EEXIST && s != before);
	}
	reply_int(c, ch ? changed : added);
out:
	free(scores);
}

/* cmd_zincrby -- ZINCRBY key increment member: the new score. */
static void cmd_zincrby(struct client *c)
{
	double d;
	int r;

	if (!zparse_double(&c->argv[2], &d)) {
		reply_err_float(c);
		return;
	}
	r = ks_zadd(c->db, &c->argv[1], &c->argv[3], &d, PKV_ZINCR);
	if (r == PKV_ERANGE)
		reply_error(c, "ERR resulting score is not a number (NaN)");
	else if (r && r != PKV_EEXIST)
		reply_err_kv(c, r);
	else
		reply_double(c, d);
}

static void cmd_zrem(struct client *c)
{
	int64_t n = 0;

	for (size_t j = 2; j < c->argc; j++) {
		int r = ks_zrem(c->db, &c->argv[1], c->argv[j].p,
				c->argv[j].len);
		if (r == 0)
			n++;
		else if (r != PKV_ENOTFOUND) {
			reply_err_kv(c, r);
			return;
		}
	}
	reply_int(c, n);
}

/* ---- reads of members ---- */

static void cmd_zcard(struct client *c)
{
	uint64_t n;

	if (zset_card(c, &c->argv[1], &n, true))
		reply_int(c, (int64_t)n);
}

static void cmd_zscore(struct client *c)
{
	double s;
	int r = ks_zscore(c->db, &c->argv[1], c->argv[2].p, c->argv[2].len,
			  &s);

	ks_count_read(r != PKV_ENOTFOUND);
	if (r == PKV_ENOTFOUND)
		reply_null(c);
	else if (r)
		reply_err_kv(c, r);
	else
		reply_double(c, s);
}

static void cmd_zmscore(struct client *c)
{
	uint64_t n;

	if (!zset_card(c, &c->argv[1], &n, true))
		return;
	reply_array(c, (int64_t)c->argc - 2);
	for (size_t j = 2; j < c->argc; j++) {
		double s;
		if (n && !ks_zscore(c->db, &c->argv[1], c->argv[j].p,
				    c->argv[j].len, &s))
			reply_double(c, s);
		else
			reply_null(c);
	}
}

static void zrank(struct client *c, bool rev)
{
	uint64_t rank;
	int r = ks_zrank(c->db, &c->argv[1], c->argv[2].p, c->argv[2].len,
			 rev, &rank);

	ks_count_read(r != PKV_ENOTFOUND);
	if (r == PKV_ENOTFOUND)
		reply_null(c);
	else if (r)
		reply_err_kv(c, r);
	else
		reply_int(c, (int64_t)rank);
}

static void cmd_zrank(struct client *c)
{
	zrank(c, false);
}

static void cmd_zrevrank(struct client *c)
{
	zrank(c, true);
}

/* zcount -- ZCOUNT and ZLEXCOUNT key min max. */
static void zcount(struct client *c, unsigned by)
{
	struct pkv_zrange q = { .by = by, .count = -1 };
	uint64_t n = 0;
	int r;

	if (!zrange_bounds(c, &c->argv[2], &c->argv[3], &q))
		return;
	r = ks_zcount(c->db, &c->argv[1], &q, &n);
	ks_count_read(r || n);
	if (r)
		reply_err_kv(c, r);
	else
		reply_int(c, (int64_t)n);
}

static void cmd_zcount(struct client *c)
{
	zcount(c, PKV_ZBY_SCORE);
}

static void cmd_zlexcount(struct client *c)
{
	zcount(c, PKV_ZBY_LEX);
}

/* ---- ranges ---- */

/*
 * zrange_parse -- ZRANGE's arguments from argv[at] (start stop, or min
 * max) with options from argv[at + 2]: into q and *scores.  `fixed_by`
 * and `fixed_rev` are the old commands' (ZREVRANGEBYSCORE...): they take
 * no BY/REV option, and WITHSCORES/LIMIT only where Redis takes them.
 * False after replying an error.
 */
static bool zrange_parse(struct client *c, size_t at, int fixed_by,
			 bool fixed_rev, bool allow_scores,
			 struct pkv_zrange *q, bool *scores)
{
	bool limit = false;
	long long v;

	memset(q, 0, sizeof(*q));
	q->count = -1;
	q->by = fixed_by >= 0 ? (unsigned)fixed_by : PKV_ZBY_RANK;
	q->rev = fixed_rev;
	*scores = false;
	for (size_t j = at + 2; j < c->argc; j++) {
		const struct resp_arg *a = &c->argv[j];
		if (allow_scores && arg_is(a, "withscores")) {
			*scores = true;
		} else if (arg_is(a, "limit") && j + 2 < c->argc &&
			   (fixed_by < 0 || fixed_by != PKV_ZBY_RANK)) {
			long long off, cnt;
			if (!arg_ll(&c->argv[j + 1], &off) ||
			    !arg_ll(&c->argv[j + 2], &cnt)) {
				reply_err_int(c);
				return false;
			}
			limit = true;
			if (off < 0) {
				q->offset = UINT64_MAX;   /* nothing */
			} else {
				q->offset = (uint64_t)off;
			}
			q->count = cnt;
			j += 2;
		} else if (fixed_by < 0 && arg_is(a, "byscore")) {
			q->by = PKV_ZBY_SCORE;
		} else if (fixed_by < 0 && arg_is(a, "bylex")) {
			q->by = PKV_ZBY_LEX;
		} else if (fixed_by < 0 && arg_is(a, "rev")) {
			q->rev = true;
		} else {
			reply_err_syntax(c);
			return false;
		}
	}
	if (limit && q->by == PKV_ZBY_RANK) {
		reply_error(c, "ERR syntax error, LIMIT is only supported in "
			    "combination with either BYSCORE or BYLEX");
		return false;
	}
	if (*scores && q->by == PKV_ZBY_LEX) {
		reply_error(c, "ERR syntax error, WITHSCORES not supported in "
			    "combination with BYLEX");
		return false;
	}
	if (q->by == PKV_ZBY_RANK) {
		if (!arg_ll(&c->argv[at], &v)) {
			reply_err_int(c);
			return false;
		}
		q->start = v;
		if (!arg_ll(&c->argv[at + 1], &v)) {
			reply_err_int(c);
			return false;
		}
		q->stop = v;
		return true;
	}
	/* with REV the first argument is the top end */
	return q->rev ? zrange_bounds(c, &c->argv[at + 1], &c->argv[at], q)
		      : zrange_bounds(c, &c->argv[at], &c->argv[at + 1], q);
}

/* zrange_reply -- run q on key and reply its members. */
static void zrange_reply(struct client *c, const struct resp_arg *key,
			 const struct pkv_zrange *q, bool scores)
{
	struct zpairs z = { .weight = 1 };
	uint64_t n;

	if (zset_card(c, key, &n, true) && zset_collect(c, key, q, &z))
		reply_pairs(c, &z, scores);
	zpairs_free(&z);
}

static void cmd_zrange(struct client *c)
{
	struct pkv_zrange q;
	bool scores;

	if (zrange_parse(c, 2, -1, false, true, &q, &scores))
		zrange_reply(c, &c->argv[1], &q, scores);
}

static void zrange_old(struct client *c, unsigned by, bool rev)
{
	struct pkv_zrange q;
	bool scores;

	if (zrange_parse(c, 2, (int)by, rev, by != PKV_ZBY_LEX, &q, &scores))
		zrange_reply(c, &c->argv[1], &q, scores);
}

static void cmd_zrevrange(struct client *c)
{
	zrange_old(c, PKV_ZBY_RANK, true);
}

static void cmd_zrangebyscore(struct client *c)
{
	zrange_old(c, PKV_ZBY_SCORE, false);
}

static void cmd_zrevrangebyscore(struct client *c)
{
	zrange_old(c, PKV_ZBY_SCORE, true);
}

static void cmd_zrangebylex(struct client *c)
{
	zrange_old(c, PKV_ZBY_LEX, false);
}

static void cmd_zrevrangebylex(struct client *c)
{
	zrange_old(c, PKV_ZBY_LEX, true);
}

/* zstore -- replace key dst with the pairs of z (deleted if none): the
 * number stored, or -1 after replying an error. */
static int64_t zstore(struct client *c, const struct resp_arg *dst,
		      const struct zpairs *z)
{
	int r = ks_del(c->db, dst);

	for (size_t i = 0; i < z->n && (r == 0 || r == PKV_ENOTFOUND); i++) {
		struct resp_arg m = { z->v[i].m, z->v[i].len };
		double s = z->v[i].s;
		r = ks_zadd(c->db, dst, &m, &s, 0);
		if (r == PKV_EEXIST)
			r = 0;
	}
	if (r && r != PKV_ENOTFOUND) {
		reply_err_kv(c, r);
		return -1;
	}
	return (int64_t)z->n;
}

/* cmd_zrangestore -- ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV]
 * [LIMIT offset count]. */
static void cmd_zrangestore(struct client *c)
{
	struct zpairs z = { .weight = 1 };
	struct pkv_zrange q;
	bool scores;
	uint64_t n;
	int64_t stored;

	if (zrange_parse(c, 3, -1, false, false, &q, &scores) &&
	    zset_card(c, &c->argv[2], &n, true) &&
	    zset_collect(c, &c->argv[2], &q, &z) &&
	    (stored = zstore(c, &c->argv[1], &z)) >= 0)
		reply_int(c, stored);
	zpairs_free(&z);
}

/* zremrange -- ZREMRANGEBYRANK / BYSCORE / BYLEX key a b. */
static void zremrange(struct client *c, unsigned by)
{
	struct pkv_zrange q = { .by = by, .count = -1 };
	uint64_t removed;
	long long a, b;
	int r;

	if (by == PKV_ZBY_RANK) {
		if (!arg_ll(&c->argv[2], &a) || !arg_ll(&c->argv[3], &b)) {
			reply_err_int(c);
			return;
		}
		q.start = a;
		q.stop = b;
	} else if (!zrange_bounds(c, &c->argv[2], &c->argv[3], &q)) {
		return;
	}
	r = ks_zremrange(c->db, &c->argv[1], &q, &removed);
	if (r && r != PKV_ENOTFOUND)
		reply_err_kv(c, r);
	else
		reply_int(c, (int64_t)removed);
}

static void cmd_zremrangebyrank(struct client *c)
{
	zremrange(c, PKV_ZBY_RANK);
}

static void cmd_zremrangebyscore(struct client *c)
{
	zremrange(c, PKV_ZBY_SCORE);
}

static void cmd_zremrangebylex(struct client *c)
{
	zremrange(c, PKV_ZBY_LEX);
}

/* ---- pops ---- */

/* zpop_some -- pop up to count of key's lowest (max: highest) members
 * into z (the set has some).  False after replying an error. */
static bool zpop_some(struct client *c, const struct resp_arg *key,
		      bool max, uint64_t count, struct zpairs *z)
{
	struct pkv_zrange q = { .by = PKV_ZBY_RANK, .rev = max, .start = 0,
				.count = -1 };

	if (count == 0)
		return true;
	q.stop = count > INT64_MAX ? INT64_MAX : (int64_t)count - 1;
	if (!zset_collect(c, key, &q, z))
		return false;
	for (size_t i = 0; i < z->n; i++) {
		int r = ks_zrem(c->db, key, z->v[i].m, z->v[i].len);
		if (r) {
			reply_err_kv(c, r);
			return false;
		}
	}
	return true;
}

/* zpop -- ZPOPMIN and ZPOPMAX key [count]. */
static void zpop(struct client *c, bool max)
{
	struct zpairs z = { .weight = 1 };
	long long count = 1;
	uint64_t n;

	if (c->argc > 3) {
		reply_err_syntax(c);
		return;
	}
	if (c->argc == 3 && (!arg_ll(&c->argv[2], &count) || count < 0)) {
		reply_error(c, "ERR value is out of range, must be positive");
		return;
	}
	if (!zset_card(c, &c->argv[1], &n, false))
		return;
	if (zpop_some(c, &c->argv[1], max, n ? (uint64_t)count : 0, &z)) {
		if (c->argc == 3 && c->proto >= 3) {
			reply_pairs(c, &z, true);
		} else {
			reply_array(c, (int64_t)(2 * z.n));
			for (size_t i = 0; i < z.n; i++) {
				reply_bulk(c, z.v[i].m, z.v[i].len);
				reply_double(c, z.v[i].s);
			}
		}
	}
	zpairs_free(&z);
}

static void cmd_zpopmin(struct client *c)
{
	zpop(c, false);
}

static void cmd_zpopmax(struct client *c)
{
	zpop(c, true);
}

/* zmpop -- pop from the first non-empty sorted set of m's keys, replying
 * [key, [[member, score] ...]]: 1, 0 all empty (nothing replied), -1
 * after an error. */
static int zmpop(struct client *c, const struct pop_args *m)
{
	for (size_t i = 0; i < m->nkeys; i++) {
		const struct resp_arg *key = &c->argv[m->first + i];
		struct zpairs z = { .weight = 1 };
		uint64_t n;
		if (!zset_card(c, key, &n, false))
			return -1;
		if (!n)
			continue;
		if (!zpop_some(c, key, m->second, (uint64_t)m->count, &z)) {
			zpairs_free(&z);
			return -1;
		}
		reply_array(c, 2);
		reply_bulk(c, key->p, key->len);
		reply_array(c, (int64_t)z.n);
		for (size_t k = 0; k < z.n; k++) {
			reply_array(c, 2);
			reply_bulk(c, z.v[k].m, z.v[k].len);
			reply_double(c, z.v[k].s);
		}
		zpairs_free(&z);
		return 1;
	}
	return 0;
}

static void cmd_zmpop(struct client *c)
{
	struct pop_args m;

	if (pop_args_parse(c, 1, "min", "max", &m) && zmpop(c, &m) == 0)
		reply_null_array(c);
}

/* bzpop -- BZPOPMIN and BZPOPMAX key [key ...] timeout: [key, member,
 * score]. */
static void bzpop(struct client *c, bool max)
{
	int64_t deadline;

	if (!blocking_timeout_parse(c, &c->argv[c->argc - 1], &deadline))
		return;
	for (size_t i = 1; i + 1 < c->argc; i++) {
		struct zpairs z = { .weight = 1 };
		uint64_t n;
		if (!zset_card(c, &c->argv[i], &n, false))
			return;
		if (!n)
			continue;
		if (zpop_some(c, &c->argv[i], max, 1, &z)) {
			reply_array(c, 3);
			reply_bulk(c, c->argv[i].p, c->argv[i].len);
			reply_bulk(c, z.v[0].m, z.v[0].len);
			reply_double(c, z.v[0].s);
		}
		zpairs_free(&z);
		return;
	}
	blocking_wait(c, 1, c->argc - 2, deadline, false);
}

static void cmd_bzpopmin(struct client *c)
{
	bzpop(c, false);
}

static void cmd_bzpopmax(struct client *c)
{
	bzpop(c, true);
}

static void cmd_bzmpop(struct client *c)
{
	struct pop_args m;
	int64_t deadline;

	if (!blocking_timeout_parse(c, &c->argv[1], &deadline) ||
	    !pop_args_parse(c, 2, "min", "max", &m))
		return;
	if (zmpop(c, &m) == 0)
		blocking_wait(c, m.first, m.first + m.nkeys - 1, deadline,
			      false);
}

/* ---- ZRANDMEMBER ---- */

/* cmd_zrandmember -- ZRANDMEMBER key [count [WITHSCORES]]. */
static void cmd_zrandmember(struct client *c)
{
	struct zpairs z = { .weight = 1 };
	bool scores = false;
	long long count = 1;
	uint64_t n, want;

	if (c->argc > 4 || (c->argc == 4 && !arg_is(&c->argv[3],
						     "withscores"))) {
		reply_err_syntax(c);
		return;
	}
	scores = c->argc == 4;
	if (c->argc >= 3) {
		if (!arg_ll(&c->argv[2], &count)) {
			reply_err_int(c);
			return;
		}
		if (count < -SRV_RAND_MAX_REPEATS ||
		    (scores && count > LLONG_MAX / 2)) {
			reply_error(c, "ERR value is out of range");
			return;
		}
	}
	if (!zset_card(c, &c->argv[1], &n, true))
		return;
	if (c->argc == 2) {
		struct pkv_zrange q = { .by = PKV_ZBY_RANK, .count = -1 };
		if (n == 0) {
			reply_null(c);
			return;
		}
		q.start = q.stop = (int64_t)srv_rand(n);
		if (zset_collect(c, &c->argv[1], &q, &z))
			reply_bulk(c, z.v[0].m, z.v[0].len);
		zpairs_free(&z);
		return;
	}
	want = count < 0 ? (uint64_t)-count : (uint64_t)count;
	if (n == 0 || want == 0) {
		reply_array(c, 0);
		return;
	}
	if (count < 0 && want > SRV_RAND_DRAWS) {
		/* Many with repeats: one read of the set, each pick replied
		 * at once (a read per element took the set's walk each). */
		struct pkv_zrange q = { .by = PKV_ZBY_RANK, .start = 0,
					.stop = -1, .count = -1 };
		if (zset_collect(c, &c->argv[1], &q, &z)) {
			reply_pairs_len(c, z.n ? want : 0, scores);
			for (uint64_t i = 0; z.n && i < want; i++)
				reply_pair(c, &z.v[srv_rand(z.n)], scores);
		}
		zpairs_free(&z);
		return;
	} else if (count < 0) {
		for (uint64_t i = 0; i < want; i++) {
			struct pkv_zrange q = { .by = PKV_ZBY_RANK,
						.count = -1 };
			q.start = q.stop = (int64_t)srv_rand(n);
			if (!zset_collect(c, &c->argv[1], &q, &z)) {
				zpairs_free(&z);
				return;
			}
		}
	} else {
		struct pkv_zrange q = { .by = PKV_ZBY_RANK, .start = 0,
					.stop = -1, .count = -1 };
		if (!zset_collect(c, &c->argv[1], &q, &z)) {
			zpairs_free(&z);
			return;
		}
		/* a random subset of want (all if fewer), in random order */
		for (size_t i = 0; i < z.n && i < want; i++) {
			size_t k = i + (size_t)srv_rand(z.n - i);
			struct zpair t = z.v[i];
			z.v[i] = z.v[k];
			z.v[k] = t;
		}
		while (z.n > want)
			free(z.v[--z.n].m);
	}
	reply_pairs(c, &z, scores);
	zpairs_free(&z);
}

/* ---- algebra ---- */

enum zop { Z_UNION, Z_INTER, Z_DIFF };
enum zagg { Z_SUM, Z_MIN, Z_MAX };

/*
 * zalgebra -- op over the numkeys inputs at argv[at + 1...] (sorted sets,
 * or sets with score 1) with WEIGHTS and AGGREGATE (not for Z_DIFF) and,
 * when `scores_ok`, WITHSCORES; the result, sorted by score, into out.
 * limit (ZINTERCARD) stops early.  False after replying an error.
 */
static bool zalgebra(struct client *c, enum zop op, size_t at,
		     bool scores_ok, bool limit_ok, struct zpairs *out,
		     bool *scores, uint64_t *limit)
{
	struct zpairs all = { 0 };
	enum zagg agg = Z_SUM;
	double *weights = NULL;
	long long numkeys;
	size_t j, nk;
	bool ok = false;

	*scores = false;
	*limit = 0;
	if (!arg_ll(&c->argv[at], &numkeys)) {
		reply_err_int(c);
		return false;
	}
	if (numkeys < 1) {
		reply_error(c, "ERR at least 1 input key is needed for '%s' "
			    "command", c->last_cmd);
		return false;
	}
	if ((unsigned long long)numkeys > c->argc - at - 1) {
		reply_err_syntax(c);
		return false;
	}
	nk = (size_t)numkeys;
	if (!(weights = malloc(nk * sizeof(*weights)))) {
		reply_err_kv(c, -ENOMEM);
		return false;
	}
	for (size_t i = 0; i < nk; i++)
		weights[i] = 1;
	for (j = at + 1 + nk; j < c->argc; j++) {
		const struct resp_arg *a = &c->argv[j];
		if (op != Z_DIFF && !limit_ok && arg_is(a, "weights") &&
		    j + nk < c->argc) {
			for (size_t i = 0; i < nk; i++)
				if (!zparse_double(&c->argv[j + 1 + i],
						   &weights[i])) {
					reply_error(c, "ERR weight value is not "
						    "a float");
					goto out;
				}
			j += nk;
		} else if (op != Z_DIFF && !limit_ok &&
			   arg_is(a, "aggregate") && j + 1 < c->argc) {
			const struct resp_arg *w = &c->argv[++j];
			if (arg_is(w, "sum"))
				agg = Z_SUM;
			else if (arg_is(w, "min"))
				agg = Z_MIN;
			else if (arg_is(w, "max"))
				agg = Z_MAX;
			else {
				reply_err_syntax(c);
				goto out;
			}
		} else if (scores_ok && arg_is(a, "withscores")) {
			*scores = true;
		} else if (limit_ok && arg_is(a, "limit") &&
			   j + 1 < c->argc) {
			long long l;
			if (!arg_ll(&c->argv[++j], &l)) {
				reply_err_int(c);
				goto out;
			}
			if (l < 0) {
				reply_error(c, "ERR LIMIT can't be negative");
				goto out;
			}
			*limit = (uint64_t)l;
		} else {
			reply_err_syntax(c);
			goto out;
		}
	}
	/* every input's members, copied, marked with their input */
	for (size_t i = 0; i < nk; i++) {
		const struct resp_arg *key = &c->argv[at + 1 + i];
		struct ks_val v;
		int r = ks_get(c->db, key, &v);
		ks_count_read(r == 0);
		all.src = (unsigned)i;
		all.weight = weights[i];
		if (r == PKV_ENOTFOUND)
			continue;
		if (r) {
			reply_err_kv(c, r);
			goto out;
		}
		if (v.type == PKV_TYPE_ZSET) {
			struct pkv_zrange q = { .by = PKV_ZBY_RANK, .start = 0,
						.stop = -1, .count = -1 };
			if ((r = ks_zrange(c->db, key, &q, zpairs_add,
					   &all))) {
				reply_err_kv(c, r);
				goto out;
			}
		} else if (v.type == PKV_TYPE_SET) {
			uint64_t cur = 0;
			do {
				r = ks_sscan(c->db, key, cur, ZSCAN_STEP,
					     zpairs_add_member, &all, &cur);
			} while (!r && cur);
			if (r) {
				reply_err_kv(c, r);
				goto out;
			}
		} else {
			reply_err_kv(c, PKV_EWRONGTYPE);
			goto out;
		}
	}
	if (all.n)
		qsort(all.v, all.n, sizeof(*all.v), zpair_by_member);
	for (size_t i = 0; i < all.n; ) {
		size_t e = i + 1;
		double s = all.v[i].s;
		while (e < all.n && all.v[e].len == all.v[i].len &&
		       !memcmp(all.v[e].m, all.v[i].m, all.v[i].len))
			e++;
		for (size_t k = i + 1; k < e; k++) {
			double x = all.v[k].s;
			if (agg == Z_SUM)
				s += x;
			else if (agg == Z_MIN ? x < s : x > s)
				s = x;
			if (isnan(s))
				s = 0;
		}
		if ((op == Z_UNION) ||
		    (op == Z_INTER && e - i == nk) ||
		    (op == Z_DIFF && all.v[i].src == 0 && e - i == 1)) {
			out->src = 0;
			if (!zpairs_push(out, all.v[i].m, all.v[i].len,
					 op == Z_DIFF ? all.v[i].s : s)) {
				reply_err_kv(c, -ENOMEM);
				goto out;
			}
			if (*limit && out->n >= *limit)
				break;
		}
		i = e;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), zpair_by_score);
	ok = true;
out:
	zpairs_free(&all);
	free(weights);
	return ok;
}

/* zalgebra_cmd -- ZUNION, ZINTER, ZDIFF numkeys key ... [options]. */
static void zalgebra_cmd(struct client *c, enum zop op)
{
	struct zpairs z = { .weight = 1 };
	uint64_t limit;
	bool scores;

	if (zalgebra(c, op, 1, true, false, &z, &scores, &limit))
		reply_pairs(c, &z, scores);
	zpairs_free(&z);
}

static void cmd_zunion(struct client *c)
{
	zalgebra_cmd(c, Z_UNION);
}

static void cmd_zinter(struct client *c)
{
	zalgebra_cmd(c, Z_INTER);
}

static void cmd_zdiff(struct client *c)
{
	zalgebra_cmd(c, Z_DIFF);
}

/* zalgebra_store -- the STORE forms: destination numkeys key ... */
static void zalgebra_store(struct client *c, enum zop op)
{
	struct zpairs z = { .weight = 1 };
	uint64_t limit;
	bool scores;
	int64_t stored;

	if (zalgebra(c, op, 2, false, false, &z, &scores, &limit) &&
	    (stored = zstore(c, &c->argv[1], &z)) >= 0)
		reply_int(c, stored);
	zpairs_free(&z);
}

static void cmd_zunionstore(struct client *c)
{
	zalgebra_store(c, Z_UNION);
}

static void cmd_zinterstore(struct client *c)
{
	zalgebra_store(c, Z_INTER);
}

static void cmd_zdiffstore(struct client *c)
{
	zalgebra_store(c, Z_DIFF);
}

/* cmd_zintercard -- ZINTERCARD numkeys key [key ...] [LIMIT limit]. */
static void cmd_zintercard(struct client *c)
{
	struct zpairs z = { .weight = 1 };
	uint64_t limit;
	bool scores;

	if (zalgebra(c, Z_INTER, 1, false, true, &z, &scores, &limit))
		reply_int(c, (int64_t)z.n);
	zpairs_free(&z);
}

/* cmd_zscan -- ZSCAN key cursor [MATCH pattern] [COUNT count]. */
static void cmd_zscan(struct client *c)
{
	struct zpairs z = { .weight = 1 };
	struct scan_args sa;
	uint64_t n, next = 0;
	int err;

	if (!scan_args_parse(c, 2, false, &sa) ||
	    !zset_card(c, &c->argv[1], &n, true))
		return;
	z.pat = sa.pat;
	z.plen = sa.plen;
	if (n && (err = ks_zscan(c->db, &c->argv[1], sa.cursor,
				 sa.count > UINT_MAX ? UINT_MAX
						     : (unsigned)sa.count,
				 zpairs_add, &z, &next))) {
		reply_err_kv(c, err);
		zpairs_free(&z);
		return;
	}
	reply_scan_head(c, next);
	reply_array(c, (int64_t)(2 * z.n));
	for (size_t i = 0; i < z.n; i++) {
		char d[64];
		int k = resp_format_double(d, sizeof(d), z.v[i].s);
		reply_bulk(c, z.v[i].m, z.v[i].len);
		reply_bulk(c, d, (size_t)k);
	}
	zpairs_free(&z);
}

#define RO CMD_READONLY
#define WR CMD_WRITE
#define F CMD_FAST
#define OOM CMD_DENYOOM

const struct command zset_commands[] = {
	{ "zadd", -4, WR | OOM | F, 1, 1, 1, cmd_zadd, "sorted-set", "1.2.0",
	  "Add one or more members to a sorted set, or update its score if it "
	  "already exists" },
	{ "zincrby", 4, WR | OOM | F, 1, 1, 1, cmd_zincrby, "sorted-set",
	  "1.2.0", "Increment the score of a member in a sorted set" },
	{ "zrem", -3, WR | F, 1, 1, 1, cmd_zrem, "sorted-set", "1.2.0",
	  "Remove one or more members from a sorted set" },
	{ "zcard", 2, RO | F, 1, 1, 1, cmd_zcard, "sorted-set", "1.2.0",
	  "Get the number of members in a sorted set" },
	{ "zscore", 3, RO | F, 1, 1, 1, cmd_zscore, "sorted-set", "1.2.0",
	  "Get the score associated with the given member in a sorted set" },
	{ "zmscore", -3, RO | F, 1, 1, 1, cmd_zmscore, "sorted-set", "6.2.0",
	  "Get the score associated with the given members in a sorted set" },
	{ "zrank", 3, RO | F, 1, 1, 1, cmd_zrank, "sorted-set", "2.0.0",
	  "Determine the index of a member in a sorted set" },
	{ "zrevrank", 3, RO | F, 1, 1, 1, cmd_zrevrank, "sorted-set",
	  "2.0.0", "Determine the index of a member in a sorted set, with "
	  "scores ordered from high to low" },
	{ "zcount", 4, RO | F, 1, 1, 1, cmd_zcount, "sorted-set", "2.0.0",
	  "Count the members in a sorted set with scores within the given "
	  "values" },
	{ "zlexcount", 4, RO | F, 1, 1, 1, cmd_zlexcount, "sorted-set",
	  "2.8.9", "Count the number of members in a sorted set between a "
	  "given lexicographical range" },
	{ "zrange", -4, RO, 1, 1, 1, cmd_zrange, "sorted-set", "1.2.0",
	  "Return a range of members in a sorted set" },
	{ "zrangestore", -5, WR | OOM, 1, 2, 1, cmd_zrangestore,
	  "sorted-set", "6.2.0", "Store a range of members from sorted set "
	  "into another key" },
	{ "zrevrange", -4, RO, 1, 1, 1, cmd_zrevrange, "sorted-set", "1.2.0",
	  "Return a range of members in a sorted set, by index, with scores "
	  "ordered from high to low" },
	{ "zrangebyscore", -4, RO, 1, 1, 1, cmd_zrangebyscore, "sorted-set",
	  "1.0.5", "Return a range of members in a sorted set, by score" },
	{ "zrevrangebyscore", -4, RO, 1, 1, 1, cmd_zrevrangebyscore,
	  "sorted-set", "2.2.0", "Return a range of members in a sorted set, "
	  "by score, with scores ordered from high to low" },
	{ "zrangebylex", -4, RO, 1, 1, 1, cmd_zrangebylex, "sorted-set",
	  "2.8.9", "Return a range of members in a sorted set, by "
	  "lexicographical range" },
	{ "zrevrangebylex", -4, RO, 1, 1, 1, cmd_zrevrangebylex,
	  "sorted-set", "2.8.9", "Return a range of members in a sorted set, "
	  "by lexicographical range, ordered from higher to lower strings" },
	{ "zremrangebyrank", 4, WR, 1, 1, 1, cmd_zremrangebyrank,
	  "sorted-set", "2.0.0", "Remove all members in a sorted set within "
	  "the given indexes" },
	{ "zremrangebyscore", 4, WR, 1, 1, 1, cmd_zremrangebyscore,
	  "sorted-set", "1.2.0", "Remove all members in a sorted set within "
	  "the given scores" },
	{ "zremrangebylex", 4, WR, 1, 1, 1, cmd_zremrangebylex, "sorted-set",
	  "2.8.9", "Remove all members in a sorted set between the given "
	  "lexicographical range" },
	{ "zpopmin", -2, WR | F, 1, 1, 1, cmd_zpopmin, "sorted-set", "5.0.0",
	  "Remove and return members with the lowest scores in a sorted set" },
	{ "zpopmax", -2, WR | F, 1, 1, 1, cmd_zpopmax, "sorted-set", "5.0.0",
	  "Remove and return members with the highest scores in a sorted "
	  "set" },
	{ "bzpopmin", -3, WR, 1, -2, 1, cmd_bzpopmin, "sorted-set", "5.0.0",
	  "Remove and return the member with the lowest score from one or "
	  "more sorted sets, or block until one is available" },
	{ "bzpopmax", -3, WR, 1, -2, 1, cmd_bzpopmax, "sorted-set", "5.0.0",
	  "Remove and return the member with the highest score from one or "
	  "more sorted sets, or block until one is available" },
	{ "zmpop", -4, WR, 0, 0, 0, cmd_zmpop, "sorted-set", "7.0.0",
	  "Remove and return members with scores in a sorted set" },
	{ "bzmpop", -5, WR, 0, 0, 0, cmd_bzmpop, "sorted-set", "7.0.0",
	  "Remove and return members with scores in a sorted set or block "
	  "until one is available" },
	{ "zrandmember", -2, RO, 1, 1, 1, cmd_zrandmember, "sorted-set",
	  "6.2.0", "Get one or multiple random elements from a sorted set" },
	{ "zunion", -3, RO, 0, 0, 0, cmd_zunion, "sorted-set", "6.2.0",
	  "Add multiple sorted sets" },
	{ "zinter", -3, RO, 0, 0, 0, cmd_zinter, "sorted-set", "6.2.0",
	  "Intersect multiple sorted sets" },
	{ "zdiff", -3, RO, 0, 0, 0, cmd_zdiff, "sorted-set", "6.2.0",
	  "Subtract multiple sorted sets" },
	{ "zunionstore", -4, WR | OOM, 1, 1, 1, cmd_zunionstore,
	  "sorted-set", "2.0.0", "Add multiple sorted sets and store the "
	  "resulting sorted set in a new key" },
	{ "zinterstore", -4, WR | OOM, 1, 1, 1, cmd_zinterstore,
	  "sorted-set", "2.0.0", "Intersect multiple sorted sets and store "
	  "the resulting sorted set in a new key" },
	{ "zdiffstore", -4, WR | OOM, 1, 1, 1, cmd_zdiffstore, "sorted-set",
	  "6.2.0", "Subtract multiple sorted sets and store the resulting "
	  "sorted set in a new key" },
	{ "zintercard", -3, RO, 0, 0, 0, cmd_zintercard, "sorted-set",
	  "7.0.0", "Intersect multiple sorted sets and return the "
	  "cardinality of the result" },
	{ "zscan", -3, RO, 1, 1, 1, cmd_zscan, "sorted-set", "2.8.0",
	  "Incrementally iterate sorted sets elements and associated scores" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
