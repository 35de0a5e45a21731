/*
 * test_proto.c -- unit tests of the protocol library (lib/proto): strict
 * numbers, the glob matcher, the request parser, the reply encoders, the
 * resumable value reader, and the SET/EXPIRE option parser.
 *
 * No test here reads a clock or depends on the machine's speed: the glob
 * matcher's bound is checked on its own count of work, and the option
 * parser is given the time.  The glob answers in the table were taken
 * from a real Redis 7.0.15 (KEYS against one key), the case-blind ones
 * by Redis 7.0's rules (CONFIG GET); where Valkey 8 has since changed an
 * answer, the comment says so.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "proto/glob.h"
#include "proto/num.h"
#include "proto/resp.h"
#include "proto/setopt.h"

/* ---- numbers ---- */

static void test_num(void **state)
{
	static const struct { const char *s; bool ok; long long v; } t[] = {
		{ "0", true, 0 }, { "1", true, 1 }, { "-1", true, -1 },
		{ "99", true, 99 }, { "-99", true, -99 },
		{ "9223372036854775807", true, LLONG_MAX },
		{ "-9223372036854775808", true, LLONG_MIN },
		{ "9223372036854775808", false, 0 },
		{ "-9223372036854775809", false, 0 },
		{ "18446744073709551615", false, 0 },
		{ "+1", false, 0 }, { " 1", false, 0 }, { "1 ", false, 0 },
		{ "01", false, 0 }, { "-0", false, 0 }, { "-", false, 0 },
		{ "", false, 0 }, { "1a", false, 0 }, { "00", false, 0 },
		{ "123456789012345678901", false, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long long v = 12345;
		bool ok = num_parse_ll(t[i].s, strlen(t[i].s), &v);

		if (ok != t[i].ok)
			fail_msg("num_parse_ll(\"%s\") gave %d", t[i].s, ok);
		assert_int_equal(v, ok ? t[i].v : 12345);
	}
	/* a NUL is a byte like any other: not a digit */
	long long v;
	assert_false(num_parse_ll("1\0" "2", 3, &v));
}

/* num_format_ll writes what printf's %lld does, and reads back: the
 * edges, each power of ten and its neighbours, and a fixed walk. */
static void check_format_ll(long long v)
{
	char got[NUM_LL_CHARS + 1], want[32];
	size_t n = num_format_ll(got, v);
	long long back;

	assert_true(n <= NUM_LL_CHARS);
	got[n] = '\0';
	snprintf(want, sizeof(want), "%lld", v);
	assert_string_equal(got, want);
	assert_true(num_parse_ll(got, n, &back));
	assert_true(back == v);
}

static void test_num_format(void **state)
{
	unsigned long long x = 0x9e3779b97f4a7c15ull;

	(void)state;
	check_format_ll(0);
	check_format_ll(LLONG_MAX);
	check_format_ll(LLONG_MIN);
	check_format_ll(LLONG_MIN + 1);
	for (long long p = 1; p <= LLONG_MAX / 10; p *= 10)
		for (long long d = -1; d <= 1; d++) {
			check_format_ll(p + d);
			check_format_ll(-(p + d));
		}
	for (int i = 0; i < 10000; i++) {   /* xorshift, fixed seed */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_format_ll((long long)(x >> (i % 64)));
		check_format_ll(-(long long)(x >> (1 + i % 63)));
	}
}

/* ---- glob ---- */

/* Redis 7.0's answers: pattern, subject, exact, case-blind. */
static const struct glob_case {
	const char *pat, *s;
	int exact, nocase;
} glob_cases[] = {
	{ "a", "a", 1, 1 },
	{ "a", "A", 0, 1 },
	{ "A", "A", 1, 1 },
	{ "A", "a", 0, 1 },
	{ "\\a", "a", 1, 1 },
	{ "\\a", "A", 0, 1 },
	{ "\\A", "A", 1, 1 },
	{ "\\A", "a", 0, 1 },
	{ "[\\a]", "a", 1, 1 },
	{ "[\\a]", "A", 0, 0 }, /* Valkey 8: 0, 1 */
	{ "[\\A]", "A", 1, 1 },
	{ "[\\A]", "a", 0, 0 }, /* Valkey 8: 0, 1 */
	{ "\\*", "*", 1, 1 },
	{ "\\?", "?", 1, 1 },
	{ "\\\\", "\\", 1, 1 },
	{ "\\[", "[", 1, 1 },
	{ "\\]", "]", 1, 1 },
	{ "\\^", "^", 1, 1 },
	{ "\\-", "-", 1, 1 },
	{ "[\\*]", "*", 1, 1 },
	{ "[\\?]", "?", 1, 1 },
	{ "[\\\\]", "\\", 1, 1 },
	{ "[\\[]", "[", 1, 1 },
	{ "[\\]]", "]", 1, 1 },
	{ "[\\^]", "^", 1, 1 },
	{ "[\\-]", "-", 1, 1 },
	{ "]", "]", 1, 1 },
	{ "^", "^", 1, 1 },
	{ "-", "-", 1, 1 },
	{ "[*]", "*", 1, 1 },
	{ "[?]", "?", 1, 1 },
	{ "[[]", "[", 1, 1 },
	{ "[-]", "-", 1, 1 },
	{ "[+-]]", ",", 1, 1 },
	{ "[+-]]", "*", 0, 0 },
	{ "[+-]]", "^", 0, 0 },
	{ "[+--]", ",", 1, 1 },
	{ "[+--]", "*", 0, 0 },
	{ "[+--]", ".", 0, 0 },
	{ "[+-]", ",", 1, 1 },
	{ "[+-]", "*", 0, 0 },
	{ "[+-]", "^", 0, 0 },
	{ "[+--", ",", 1, 1 },
	{ "[+--", "*", 0, 0 },
	{ "[+--", ".", 0, 0 },
	{ "[\\]a]", "]", 1, 1 },
	{ "[\\]a]", "a", 1, 1 },
	{ "[\\]-_]", "^", 0, 0 }, /* Valkey 8: 1, 1 */
	{ "[\\]-_]", "-", 1, 1 }, /* Valkey 8: 0, 0 */
	{ "[+-\\\\]", ",", 1, 1 },
	{ "[+-\\\\]", "*", 0, 0 },
	{ "[+-\\\\]", "]", 1, 1 }, /* Valkey 8: 0, 0 */
	{ "[+-\\]]", ",", 0, 0 }, /* Valkey 8: 1, 1 */
	{ "[+-\\]]", "*", 0, 0 },
	{ "[+-\\]]", "^", 0, 0 },
	{ "[+-\\\\", ",", 1, 1 },
	{ "[+-\\\\", "*", 0, 0 },
	{ "[+-\\\\", "]", 0, 0 },
	{ "[+-\\]", ",", 1, 1 },
	{ "[+-\\]", "*", 0, 0 },
	{ "[+-\\]", "^", 0, 0 },
	{ "[+-\\", ",", 1, 1 },
	{ "[+-\\", "*", 0, 0 },
	{ "[+-\\", "]", 0, 0 },
	{ "[+-\\\\]]", "\\]", 0, 0 }, /* Valkey 8: 1, 1 */
	{ "[+-\\\\]", "]", 1, 1 }, /* Valkey 8: 0, 0 */
	{ "[+-\\]]", "\\]", 1, 1 }, /* Valkey 8: 0, 0 */
	{ "[]", "", 0, 0 },
	{ "[]", "a", 0, 0 },
	{ "[", "", 0, 0 },
	{ "[", "a", 0, 0 },
	{ "[^]", "", 0, 0 },
	{ "[^]", "a", 1, 1 },
	{ "[^]", "ab", 0, 0 },
	{ "[^", "", 0, 0 },
	{ "[^", "a", 1, 1 },
	{ "[^", "ab", 0, 0 },
	{ "[A-", "B", 0, 0 },
	{ "**", "", 0, 0 },
	{ "", "", 1, 1 },
	{ "a*", "a", 1, 1 },
	{ "*a", "a", 1, 1 },
	{ "h?llo", "hello", 1, 1 },
	{ "h*llo", "hllo", 1, 1 },
	{ "h[^e]llo", "hallo", 1, 1 },
	{ "h[a-e]llo", "hello", 1, 1 },
	{ "h[e-a]llo", "hello", 1, 1 },
	{ "a\\", "a\\", 1, 1 },
	/* Redis's KEYS tests (tests/unit/keyspace.tcl) */
	{ "foo*", "foo_a", 1, 1 },
	{ "foo*", "key_x", 0, 0 },
	{ "h?llo", "hllo", 0, 0 },
	{ "h[^e]llo", "hello", 0, 0 },
	{ "*", "", 0, 0 },        /* KEYS treats "*" as no pattern */
};

static void test_glob_redis_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(glob_cases) / sizeof(glob_cases[0]);
	     i++) {
		const struct glob_case *c = &glob_cases[i];
		bool e = glob_match(c->pat, strlen(c->pat), c->s, strlen(c->s),
				    0);
		bool n = glob_match(c->pat, strlen(c->pat), c->s, strlen(c->s),
				    GLOB_NOCASE);

		if (e != (c->exact != 0) || n != (c->nocase != 0))
			fail_msg("glob \"%s\" on \"%s\": %d %d, Redis %d %d",
				 c->pat, c->s, e, n, c->exact, c->nocase);
	}
}

/*
 * ref_match -- a reference matcher, the naive recursion (exponential,
 * fine on short strings): each star tries every split.  Written apart
 * from glob.c, with the same token rules, to check the two-cursor
 * algorithm against.
 */
static bool ref_lower_eq(unsigned char a, unsigned char b, bool nocase)
{
	if (nocase) {
		if (a >= 'A' && a <= 'Z')
			a += 32;
		if (b >= 'A' && b <= 'Z')
			b += 32;
	}
	return a == b;
}

static bool ref_match(const unsigned char *p, size_t plen,
		      const unsigned char *s, size_t slen, bool nocase)
{
	if (slen == 0)                   /* Redis: "" matches only "" */
		return plen == 0;
	if (plen == 0)
		return false;
	if (p[0] == '*') {
		for (size_t k = 0; k <= slen; k++) {
			if (k == slen) {
				size_t q = 1;
				while (q < plen && p[q] == '*')
					q++;
				return q == plen;
			}
			if (ref_match(p + 1, plen - 1, s + k, slen - k, nocase))
				return true;
		}
		return false;
	}
	size_t tl = 1;
	bool hit;
	if (p[0] == '?') {
		hit = true;
	} else if (p[0] == '[') {
		size_t q = 1;
		bool neg = false, in = false;
		if (q < plen && p[q] == '^') {
			neg = true;
			q++;
		}
		while (q < plen && p[q] != ']') {
			if (p[q] == '\\' && q + 1 < plen) {
				in |= p[q + 1] == s[0];
				q += 2;
			} else if (q + 2 < plen && p[q + 1] == '-') {
				unsigned char lo = p[q], hi = p[q + 2], c = s[0];
				if (lo > hi) {
					unsigned char t = lo;
					lo = hi;
					hi = t;
				}
				if (nocase) {
					lo = (lo >= 'A' && lo <= 'Z') ? lo + 32 : lo;
					hi = (hi >= 'A' && hi <= 'Z') ? hi + 32 : hi;
					c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
				}
				in |= c >= lo && c <= hi;
				q += 3;
			} else {
				in |= ref_lower_eq(p[q], s[0], nocase);
				q++;
			}
		}
		tl = q < plen ? q + 1 : plen;
		hit = neg ? !in : in;
	} else if (p[0] == '\\' && plen >= 2) {
		tl = 2;
		hit = ref_lower_eq(p[1], s[0], nocase);
	} else {
		hit = ref_lower_eq(p[0], s[0], nocase);
	}
	if (!hit)
		return false;
	if (slen == 1) {                 /* Redis: trailing stars go */
		size_t q = tl;
		while (q < plen && p[q] == '*')
			q++;
		return q == plen;
	}
	return ref_match(p + tl, plen - tl, s + 1, slen - 1, nocase);
}

/* A fixed pseudo-random stream, the same every run. */
static uint64_t rng_state = 88172645463325252ull;
static unsigned rng(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static void test_glob_against_reference(void **state)
{
	static const char pchars[] = "ab*?[]^-\\A";
	static const char schars[] = "abAB-]^\\*";
	unsigned char p[12], s[10];

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		size_t plen = rng(sizeof(p) + 1), slen = rng(sizeof(s) + 1);
		bool nocase = rng(2);
		for (size_t i = 0; i < plen; i++)
			p[i] = (unsigned char)pchars[rng(sizeof(pchars) - 1)];
		for (size_t i = 0; i < slen; i++)
			s[i] = (unsigned char)schars[rng(sizeof(schars) - 1)];
		bool want = ref_match(p, plen, s, slen, nocase);
		uint64_t work = 0;
		int got = glob_run((const char *)p, plen, (const char *)s, slen,
				   nocase ? GLOB_NOCASE : 0, UINT64_MAX, &work);
		if (got != (want ? GLOB_MATCH : GLOB_NOMATCH))
			fail_msg("glob \"%.*s\" on \"%.*s\" (nocase %d): %d, "
				 "reference %d", (int)plen, p, (int)slen, s,
				 nocase, got, want);
		/* O(|p| x |s|): a pattern byte per subject byte per restart */
		assert_true(work <= (plen + 1) * (slen + 1) + plen);
	}
}

/* repeat -- unit n times, then tail, in a new string. */
static char *repeat(const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail);
	char *b = malloc(ul * n + tl + 1);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		memcpy(b + i * ul, unit, ul);
	memcpy(b + ul * n, tail, tl + 1);
	return b;
}

static void test_glob_pathological(void **state)
{
	char *a40 = repeat("a", 40, ""), *a90 = repeat("a", 90, "");
	char *a50k = repeat("a", 50000, "");
	char *p;
	uint64_t work;

	(void)state;
	/* The pattern: 9 s and more with the naive recursion. */
	p = repeat("*a", 9, "*ab");
	assert_int_equal(glob_run(p, strlen(p), a40, 40, 0, UINT64_MAX, &work),
			 GLOB_NOMATCH);
	assert_true(work <= (strlen(p) + 1) * 41);
	free(p);
	p = repeat("*a", 20, "b");
	assert_int_equal(glob_run(p, strlen(p), a40, 40, 0, UINT64_MAX, &work),
			 GLOB_NOMATCH);
	assert_true(work <= (strlen(p) + 1) * 41);
	free(p);
	/* keyspace.tcl: "Regression for pattern matching long nested
	 * loops" -- "a*" 50 times, then b, against 90 a's. */
	p = repeat("a*", 50, "b");
	assert_int_equal(glob_run(p, strlen(p), a90, 90, 0, UINT64_MAX, &work),
			 GLOB_NOMATCH);
	assert_true(work <= (strlen(p) + 1) * 91);
	free(p);
	/* And the same with a b at the end of the key: a match. */
	a90[89] = 'b';
	p = repeat("*a", 20, "*b");
	assert_int_equal(glob_run(p, strlen(p), a90, 90, 0, UINT64_MAX, &work),
			 GLOB_MATCH);
	free(p);
	/* "Regression for pattern matching very long nested loops":
	 * *? 50000 times against 50000 a's -- no match in Redis, whose
	 * recursion gives up past 1000 stars; here with little work. */
	p = repeat("*?", 50000, "");
	assert_int_equal(glob_run(p, strlen(p), a50k, 50000, 0, UINT64_MAX,
				  &work), GLOB_NOMATCH);
	assert_true(work <= 4 * (GLOB_MAX_STARS + 1));
	free(p);
	/* The limit itself: 1000 inner stars match, 1001 do not. */
	p = repeat("*?", GLOB_MAX_STARS, "");
	assert_true(glob_match(p, strlen(p), a50k, 50000, 0));
	free(p);
	p = repeat("*?", GLOB_MAX_STARS + 1, "");
	assert_false(glob_match(p, strlen(p), a50k, 50000, 0));
	free(p);
	p = repeat("*?", GLOB_MAX_STARS, "*");      /* a final star is free */
	assert_true(glob_match(p, strlen(p), a50k, 50000, 0));
	free(p);
	/* Quadratic work is cut off at the limit, never past it. */
	p = repeat("a", 1000, "b");
	p[0] = '*';
	assert_int_equal(glob_run(p, strlen(p), a50k, 50000, 0, 100000, &work),
			 GLOB_ELIMIT);
	assert_true(work <= 100000 + strlen(p));
	assert_true(glob_limit(strlen(p), 50000) >= GLOB_WORK_FLOOR);
	assert_int_equal(glob_run(p, strlen(p), a50k, 50000, 0,
				  glob_limit(strlen(p), 50000), &work),
			 GLOB_ELIMIT);
	assert_true(work <= glob_limit(strlen(p), 50000) + strlen(p));
	assert_false(glob_match(p, strlen(p), a50k, 50000, 0));
	free(p);
	/* Linear patterns on a long subject finish within the limit. */
	a50k[49999] = 'b';
	assert_true(glob_match("*b", 2, a50k, 50000, 0));
	assert_true(glob_match("a*a?[ab]", 8, a50k, 50000, 0));
	free(a40);
	free(a90);
	free(a50k);
}

static void test_glob_binary(void **state)
{
	(void)state;
	assert_true(glob_match("a\0*", 3, "a\0bc", 4, 0));
	assert_false(glob_match("a\0*", 3, "a\1bc", 4, 0));
	assert_true(glob_match("[\x80-\xff]", 5, "\xc3", 1, 0));
	assert_true(glob_match("?", 1, "\0", 1, 0));
	assert_true(glob_match("*", 1, "x", 1, 0));
	assert_false(glob_match("*", 1, "", 0, 0));
	assert_true(glob_match("MAX*", 4, "maxclients", 10, GLOB_NOCASE));
	assert_true(glob_match("[L-N]ax*", 8, "maxclients", 10,
			       GLOB_NOCASE));
}

/* ---- requests ---- */

static const struct resp_limits req_lim = {
	.max_bulk = 1 << 20, .max_args = 1024, .max_inline = 64 * 1024,
};

/* req_expect_error -- buf is refused with exactly msg. */
static void req_expect_error(const char *buf, size_t len, bool authed,
			     const char *msg)
{
	struct resp_req req = { 0 };
	char err[256] = "";
	size_t used = 0;

	if (resp_parse(&req, buf, len, &req_lim, authed, &used, err,
		       sizeof(err)) != RESP_ERROR || strcmp(err, msg))
		fail_msg("request %.*s: \"%s\", not \"%s\"", (int)len, buf, err,
			 msg);
	resp_req_free(&req);
}

static void test_request_split(void **state)
{
	static const char in[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nal\r\n"
				 "GET \"k\\x41\" 'x y'\r\n\r\n*0\r\n";
	size_t first = strlen("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nal\r\n");
	struct resp_req req = { 0 };
	char err[256];
	size_t used;

	(void)state;
	for (size_t n = 0; n < first; n++)
		assert_int_equal(resp_parse(&req, in, n, &req_lim, true, &used,
					    err, sizeof(err)), RESP_NEED_MORE);
	assert_int_equal(resp_parse(&req, in, sizeof(in) - 1, &req_lim, true,
				    &used, err, sizeof(err)), RESP_OK);
	assert_int_equal(used, first);
	assert_int_equal(req.argc, 3);
	assert_memory_equal(req.argv[2].p, "v\r\nal", 5);
	/* inline, with quotes and escapes */
	size_t off = first;
	assert_int_equal(resp_parse(&req, in + off, sizeof(in) - 1 - off,
				    &req_lim, true, &used, err, sizeof(err)),
			 RESP_OK);
	assert_int_equal(req.argc, 3);
	assert_memory_equal(req.argv[1].p, "kA", 2);
	assert_memory_equal(req.argv[2].p, "x y", 3);
	off += used;
	/* an empty line and an empty multibulk: requests of no argument */
	assert_int_equal(resp_parse(&req, in + off, sizeof(in) - 1 - off,
				    &req_lim, true, &used, err, sizeof(err)),
			 RESP_OK);
	assert_int_equal(req.argc, 0);
	off += used;
	assert_int_equal(resp_parse(&req, in + off, sizeof(in) - 1 - off,
				    &req_lim, true, &used, err, sizeof(err)),
			 RESP_OK);
	assert_int_equal(req.argc, 0);
	assert_int_equal(off + used, sizeof(in) - 1);
	resp_req_free(&req);
}

static void test_request_errors(void **state)
{
	char big[70000];

	(void)state;
	req_expect_error("*abc\r\n", 6, true,
			 "Protocol error: invalid multibulk length");
	req_expect_error("*01\r\n", 5, true,
			 "Protocol error: invalid multibulk length");
	req_expect_error("*2000\r\n", 7, true,
			 "Protocol error: invalid multibulk length");
	req_expect_error("*11\r\n", 5, false,
			 "Protocol error: unauthenticated multibulk length");
	req_expect_error("*1\r\n+x\r\n", 8, true,
			 "Protocol error: expected '$', got '+'");
	req_expect_error("*1\r\n$-1\r\n", 9, true,
			 "Protocol error: invalid bulk length");
	req_expect_error("*1\r\n$2000000\r\n", 14, true,
			 "Protocol error: invalid bulk length");
	req_expect_error("*1\r\n$16385\r\n", 12, false,
			 "Protocol error: unauthenticated bulk length");
	req_expect_error("GET \"k\r\n", 8, true,
			 "Protocol error: unbalanced quotes in request");
	memset(big, 'x', sizeof(big));
	req_expect_error(big, sizeof(big), true,
			 "Protocol error: too big inline request");
	big[0] = '*';
	req_expect_error(big, sizeof(big), true,
			 "Protocol error: too big mbulk count string");
	memcpy(big, "*1\r\n$", 5);
	req_expect_error(big, sizeof(big), true,
			 "Protocol error: too big bulk count string");
}

/* ---- writing ---- */

/* out_is -- b holds exactly text; then empty it. */
static void out_is(struct rbuf *b, const char *text)
{
	if (b->len != strlen(text) || memcmp(b->p, text, b->len))
		fail_msg("wrote \"%.*s\", not \"%s\"", (int)b->len, b->p, text);
	b->len = 0;
}

static void test_write(void **state)
{
	struct rbuf b = { 0 };
	struct resp_arg cmd[2] = { { "GET", 3 }, { "a\0b", 3 } };

	(void)state;
	resp_simple(&b, "OK");
	out_is(&b, "+OK\r\n");
	resp_error(&b, "ERR bad\r\nthing");
	out_is(&b, "-ERR bad  thing\r\n");
	resp_int(&b, INT64_MIN);
	out_is(&b, ":-9223372036854775808\r\n");
	resp_bulk(&b, "a\r\nb", 4);
	out_is(&b, "$4\r\na\r\nb\r\n");
	resp_bulk(&b, "", 0);
	out_is(&b, "$0\r\n\r\n");
	resp_null(&b, 2);
	out_is(&b, "$-1\r\n");
	resp_null(&b, 3);
	out_is(&b, "_\r\n");
	resp_null_array(&b, 2);
	out_is(&b, "*-1\r\n");
	resp_null_array(&b, 3);
	out_is(&b, "_\r\n");
	resp_array(&b, 2);
	out_is(&b, "*2\r\n");
	resp_map(&b, 2, 3);
	out_is(&b, "*6\r\n");
	resp_map(&b, 3, 3);
	out_is(&b, "%3\r\n");
	resp_set(&b, 2, 1);
	out_is(&b, "*1\r\n");
	resp_set(&b, 3, 1);
	out_is(&b, "~1\r\n");
	resp_double(&b, 3, 1.5);
	out_is(&b, ",1.5\r\n");
	resp_double(&b, 2, -1.0 / 0.0);
	out_is(&b, "$4\r\n-inf\r\n");
	resp_bool(&b, 3, true);
	out_is(&b, "#t\r\n");
	resp_bool(&b, 2, false);
	out_is(&b, ":0\r\n");
	resp_verbatim(&b, 3, "txt", "hi", 2);
	out_is(&b, "=6\r\ntxt:hi\r\n");
	resp_verbatim(&b, 2, "txt", "hi", 2);
	out_is(&b, "$2\r\nhi\r\n");
	resp_command(&b, 2, cmd);
	assert_int_equal(b.len, 22);
	assert_memory_equal(b.p, "*2\r\n$3\r\nGET\r\n$3\r\na\0b\r\n", 22);
	assert_false(b.nomem);
	rbuf_free(&b);
}

/* ---- reading values ---- */

/* A RESP3 reply with every type, nested, and what it reads as. */
static const char reply3[] =
	"*10\r\n+OK\r\n-ERR x\r\n:-42\r\n$5\r\nhe\r\nl\r\n$-1\r\n"
	"%1\r\n$1\r\nk\r\n~2\r\n#t\r\n_\r\n,3.5\r\n(-12345678901234567890\r\n"
	"=8\r\ntxt:abcd\r\n>1\r\n!3\r\nbad\r\n";
static const struct resp_node reply3_nodes[] = {
	{ RESP_ARRAY, NULL, 0, 10, 0 },
	{ RESP_STATUS, "OK", 2, 0, 0 },
	{ RESP_ERR, "ERR x", 5, 0, 0 },
	{ RESP_INT, NULL, 0, -42, 0 },
	{ RESP_BULK, "he\r\nl", 5, 0, 0 },
	{ RESP_NULL, NULL, 0, 0, 0 },
	{ RESP_MAP, NULL, 0, 2, 0 },
	{ RESP_BULK, "k", 1, 0, 0 },
	{ RESP_SET, NULL, 0, 2, 0 },
	{ RESP_BOOL, NULL, 0, 1, 0 },
	{ RESP_NULL, NULL, 0, 0, 0 },
	{ RESP_DOUBLE, "3.5", 3, 0, 3.5 },
	{ RESP_BIGNUM, "-12345678901234567890", 21, 0, 0 },
	{ RESP_VERBATIM, "txt:abcd", 8, 0, 0 },
	{ RESP_PUSH, NULL, 0, 1, 0 },
	{ RESP_BLOBERR, "bad", 3, 0, 0 },
};

/* nodes_are -- v[0..n) is what reply3 reads as. */
static void nodes_are(const struct resp_node *v, size_t n)
{
	assert_int_equal(n, sizeof(reply3_nodes) / sizeof(reply3_nodes[0]));
	for (size_t i = 0; i < n; i++) {
		const struct resp_node *w = &reply3_nodes[i];

		assert_int_equal(v[i].type, w->type);
		assert_int_equal(v[i].n, w->n);
		assert_int_equal(v[i].len, w->len);
		if (w->p)
			assert_memory_equal(v[i].p, w->p, w->len);
		if (w->type == RESP_DOUBLE)
			assert_true(v[i].d == w->d);
	}
}

static void test_reader_split_everywhere(void **state)
{
	size_t len = sizeof(reply3) - 1;
	const struct resp_node *v;
	size_t n;

	(void)state;
	/* one byte at a time */
	struct resp_reader r;
	assert_int_equal(resp_reader_init(&r, NULL), 0);
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(resp_reader_next(&r, &v, &n), 0);
		assert_int_equal(resp_reader_feed(&r, reply3 + i, 1), 0);
	}
	assert_int_equal(resp_reader_next(&r, &v, &n), 1);
	nodes_are(v, n);
	assert_int_equal(resp_reader_next(&r, &v, &n), 0);
	assert_int_equal(resp_reader_pending(&r), 0);
	assert_int_equal(r.consumed, len);
	resp_reader_free(&r);
	/* two pieces, cut at every byte, and two replies in a row */
	for (size_t cut = 0; cut <= len; cut++) {
		assert_int_equal(resp_reader_init(&r, NULL), 0);
		assert_int_equal(resp_reader_feed(&r, reply3, cut), 0);
		if (cut < len)
			assert_int_equal(resp_reader_next(&r, &v, &n), 0);
		assert_int_equal(resp_reader_feed(&r, reply3 + cut, len - cut),
				 0);
		assert_int_equal(resp_reader_feed(&r, reply3, cut), 0);
		assert_int_equal(resp_reader_next(&r, &v, &n), 1);
		nodes_are(v, n);
		assert_int_equal(resp_reader_pending(&r), cut);
		size_t avail;
		char *room = resp_reader_space(&r, len - cut, &avail);
		assert_non_null(room);
		assert_true(avail >= len - cut);
		memcpy(room, reply3 + cut, len - cut);
		resp_reader_wrote(&r, len - cut);
		assert_int_equal(resp_reader_next(&r, &v, &n), 1);
		nodes_are(v, n);
		assert_int_equal(resp_reader_pending(&r), 0);
		resp_reader_free(&r);
	}
}

/* rd_error -- input (fed whole) is refused with a message holding what,
 * using limits lim (NULL: defaults). */
static void rd_error(const char *in, size_t len,
		     const struct resp_reader_limits *lim, const char *what)
{
	struct resp_reader r;
	const struct resp_node *v;
	size_t n;

	assert_int_equal(resp_reader_init(&r, lim), 0);
	assert_int_equal(resp_reader_feed(&r, in, len), 0);
	int got = resp_reader_next(&r, &v, &n);
	if (got != -EPROTO || !strstr(r.err, what))
		fail_msg("reading \"%.*s\": %d \"%s\", not \"%s\"", (int)len, in,
			 got, r.err, what);
	/* the error stays */
	assert_int_equal(resp_reader_next(&r, &v, &n), -EPROTO);
	resp_reader_free(&r);
}

#define RD_ERROR(in, lim, what) rd_error(in, sizeof(in) - 1, lim, what)

/* rd_ok -- input reads as one value of type t; its first node. */
static struct resp_node rd_ok(const char *in, int t)
{
	struct resp_reader r;
	const struct resp_node *v;
	struct resp_node first;
	size_t n;

	assert_int_equal(resp_reader_init(&r, NULL), 0);
	assert_int_equal(resp_reader_feed(&r, in, strlen(in)), 0);
	if (resp_reader_next(&r, &v, &n) != 1)
		fail_msg("reading \"%s\": %s", in, r.err);
	assert_int_equal(v[0].type, t);
	first = v[0];
	first.p = NULL;
	resp_reader_free(&r);
	return first;
}

static void test_reader_strict(void **state)
{
	(void)state;
	RD_ERROR("?x\r\n", NULL, "unknown type byte 0x3f");
	RD_ERROR(":+1\r\n", NULL, "invalid integer");
	RD_ERROR(":01\r\n", NULL, "invalid integer");
	RD_ERROR(": 1\r\n", NULL, "invalid integer");
	RD_ERROR(":-0\r\n", NULL, "invalid integer");
	RD_ERROR(":99999999999999999999\r\n", NULL, "invalid integer");
	RD_ERROR("$01\r\nx\r\n", NULL, "invalid bulk length");
	RD_ERROR("$-2\r\n", NULL, "invalid bulk length");
	RD_ERROR("*-2\r\n", NULL, "invalid multibulk length");
	RD_ERROR("%-1\r\n", NULL, "invalid length");
	RD_ERROR("$1\r\nab\r\n", NULL, "not followed by CRLF");
	RD_ERROR("+OK\rX", NULL, "CR not followed by LF");
	RD_ERROR("+OK\n", NULL, "LF without CR");
	RD_ERROR("#x\r\n", NULL, "invalid boolean");
	RD_ERROR("_x\r\n", NULL, "invalid null");
	RD_ERROR(",abc\r\n", NULL, "invalid double");
	RD_ERROR(",0x10\r\n", NULL, "invalid double");
	RD_ERROR(", 1\r\n", NULL, "invalid double");
	RD_ERROR("(1a\r\n", NULL, "invalid big number");
	RD_ERROR("=3\r\ntxt\r\n", NULL, "invalid verbatim length");
	RD_ERROR("=4\r\ntxtx\r\n", NULL, "invalid verbatim format");
	assert_int_equal(rd_ok(":-9223372036854775808\r\n", RESP_INT).n,
			 LLONG_MIN);
	assert_true(rd_ok(",1e3\r\n", RESP_DOUBLE).d == 1000);
	assert_true(rd_ok(",-inf\r\n", RESP_DOUBLE).d < -1e308);
	assert_int_equal(rd_ok("*-1\r\n", RESP_NULL).n, 0);
	assert_int_equal(rd_ok("*0\r\n", RESP_ARRAY).n, 0);
	assert_int_equal(rd_ok("$0\r\n\r\n", RESP_BULK).len, 0);
	assert_int_equal(rd_ok("#f\r\n", RESP_BOOL).n, 0);
}

static void test_reader_limits(void **state)
{
	struct resp_reader_limits lim;
	struct resp_reader r;
	const struct resp_node *v;
	size_t n;

	(void)state;
	resp_reader_defaults(&lim);
	lim.max_depth = 2;
	RD_ERROR("*1\r\n*1\r\n*1\r\n:1\r\n", &lim, "nested deeper than 2");
	lim.max_depth = 3;
	assert_int_equal(resp_reader_init(&r, &lim), 0);
	assert_int_equal(resp_reader_feed(&r, "*1\r\n*1\r\n*1\r\n:1\r\n", 16),
			 0);
	assert_int_equal(resp_reader_next(&r, &v, &n), 1);
	assert_int_equal(n, 4);
	resp_reader_free(&r);
	/* a length beyond a limit fails before its payload arrives */
	resp_reader_defaults(&lim);
	lim.max_bulk = 10;
	RD_ERROR("$11\r\n", &lim, "invalid bulk length");
	lim.max_elements = 3;
	RD_ERROR("*4\r\n", &lim, "too many elements");
	RD_ERROR("%2\r\n", &lim, "too many elements");
	lim.max_line = 8;
	RD_ERROR("+123456789", &lim, "line longer than 8 bytes");
	assert_int_equal(resp_reader_init(&r, &lim), 0);
	assert_int_equal(resp_reader_feed(&r, "+12345678", 9), 0);
	assert_int_equal(resp_reader_next(&r, &v, &n), 0);   /* may end */
	assert_int_equal(resp_reader_feed(&r, "\r\n", 2), 0);
	assert_int_equal(resp_reader_next(&r, &v, &n), 1);
	resp_reader_free(&r);
	/* a payload still to come: how much is known */
	assert_int_equal(resp_reader_init(&r, NULL), 0);
	assert_int_equal(resp_reader_feed(&r, "$10\r\nab", 7), 0);
	assert_int_equal(resp_reader_next(&r, &v, &n), 0);
	assert_int_equal(resp_reader_want(&r), 10);
	assert_int_equal(resp_reader_pending(&r), 7);
	resp_reader_free(&r);
}

static void test_reader_commands(void **state)
{
	static const char in[] = "\r\n\n*0\r\n*-1\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
				 "\r\n*1\r\n$4\r\nPING\r\n*1\r\n$1";
	struct resp_reader_limits lim;
	struct resp_reader r;
	const struct resp_node *v;
	size_t n;

	(void)state;
	resp_reader_defaults(&lim);
	lim.commands = true;
	assert_int_equal(resp_reader_init(&r, &lim), 0);
	for (size_t i = 0; i < sizeof(in) - 1; i++) {
		/* byte by byte: the blank lines and empty arrays go */
		assert_int_equal(resp_reader_feed(&r, in + i, 1), 0);
		int got = resp_reader_next(&r, &v, &n);
		assert_true(got >= 0);
		if (got == 1) {
			assert_int_equal(v[0].type, RESP_ARRAY);
			assert_int_equal(n, v[0].n + 1);
			assert_true(n == 3 || n == 2);
		}
	}
	assert_int_equal(resp_reader_pending(&r), 6);   /* cut short */
	resp_reader_free(&r);
	RD_ERROR("SET a b\r\n", &lim, "not a RESP multibulk");
	RD_ERROR("*1\r\n:1\r\n", &lim, "expected '$', got 0x3a");
	RD_ERROR("*1\r\n*1\r\n", &lim, "expected '$'");
	RD_ERROR("*1\r\n$-1\r\n", &lim, "invalid bulk length");
	lim.max_elements = 2;
	RD_ERROR("*3\r\n", &lim, "too many arguments");
}

/* ---- SET and EXPIRE options ---- */

/* args -- a command from words (up to 16). */
static size_t args(struct resp_arg *a, const char *words)
{
	static char buf[512];
	size_t n = 0;
	char *w;

	snprintf(buf, sizeof(buf), "%s", words);
	for (w = strtok(buf, " "); w && n < 16; w = strtok(NULL, " ")) {
		a[n].p = w;
		a[n].len = strlen(w);
		n++;
	}
	return n;
}

/* set_err -- the SET (or GETEX) command words is refused with msg. */
static void set_err(enum setopt_cmd cmd, const char *words, const char *msg)
{
	struct resp_arg a[16];
	size_t n = args(a, words);
	struct setopt o;
	char err[128] = "";

	if (setopt_set(cmd, n, a, &o, err, sizeof(err)) != -EINVAL ||
	    strcmp(err, msg))
		fail_msg("%s: \"%s\", not \"%s\"", words, err, msg);
}

/* set_ok -- the command is taken: its flags, and its time if any. */
static unsigned set_ok(enum setopt_cmd cmd, const char *words,
		       const char *time)
{
	struct resp_arg a[16];
	size_t n = args(a, words);
	struct setopt o;
	char err[128] = "";

	if (setopt_set(cmd, n, a, &o, err, sizeof(err)))
		fail_msg("%s: refused: %s", words, err);
	if (time) {
		assert_non_null(o.expire);
		assert_int_equal(o.expire->len, strlen(time));
		assert_memory_equal(o.expire->p, time, strlen(time));
	} else {
		assert_null(o.expire);
	}
	return o.flags;
}

static void test_setopt_set(void **state)
{
	const char *syn = "ERR syntax error";
	enum setopt_cmd S = SETOPT_FOR_SET, G = SETOPT_FOR_GETEX;

	(void)state;
	assert_int_equal(set_ok(S, "SET k v", NULL), 0);
	assert_int_equal(set_ok(S, "SET k v nx GET Ex 10", "10"),
			 SETOPT_NX | SETOPT_GET | SETOPT_EX);
	/* the same option again: taken, the last time wins (what the
	 * server did and `pkv import` refused) */
	assert_int_equal(set_ok(S, "SET k v EX 1 EX 2", "2"), SETOPT_EX);
	assert_int_equal(set_ok(S, "SET k v PXAT 5 PXAT 6", "6"), SETOPT_PXAT);
	assert_int_equal(set_ok(S, "SET k v NX NX GET GET", NULL),
			 SETOPT_NX | SETOPT_GET);
	assert_int_equal(set_ok(S, "SET k v XX KEEPTTL KEEPTTL", NULL),
			 SETOPT_XX | SETOPT_KEEPTTL);
	set_err(S, "SET k v NX XX", syn);
	set_err(S, "SET k v XX NX", syn);
	set_err(S, "SET k v EX 1 PX 2", syn);
	set_err(S, "SET k v PX 1 EX 2", syn);
	set_err(S, "SET k v EX 1 EXAT 2", syn);
	set_err(S, "SET k v EXAT 1 PXAT 2", syn);
	set_err(S, "SET k v PXAT 1 EX 2", syn);
	set_err(S, "SET k v KEEPTTL EX 1", syn);
	set_err(S, "SET k v EX 1 KEEPTTL", syn);
	set_err(S, "SET k v PXAT 1 KEEPTTL", syn);
	set_err(S, "SET k v EX", syn);               /* no time */
	set_err(S, "SET k v PERSIST", syn);          /* GETEX's */
	set_err(S, "SET k v EXPIRE 1", syn);
	set_err(S, "SET k v NXX", syn);
	/* GETEX */
	assert_int_equal(set_ok(G, "GETEX k", NULL), 0);
	assert_int_equal(set_ok(G, "GETEX k PERSIST", NULL), SETOPT_PERSIST);
	assert_int_equal(set_ok(G, "GETEX k pxat 7", "7"), SETOPT_PXAT);
	set_err(G, "GETEX k NX", syn);
	set_err(G, "GETEX k GET", syn);
	set_err(G, "GETEX k KEEPTTL", syn);
	set_err(G, "GETEX k PERSIST EX 1", syn);
	set_err(G, "GETEX k EX 1 PERSIST", syn);
	set_err(G, "GETEX k EX 1 PX 1", syn);
	/* options compare as C strings, as in Redis */
	struct resp_arg a[5] = { { "SET", 3 }, { "k", 1 }, { "v", 1 },
				 { "nx\0junk", 7 }, { "E\0", 2 } };
	struct setopt o;
	char err[64];
	assert_int_equal(setopt_set(S, 4, a, &o, err, sizeof(err)), 0);
	assert_int_equal(o.flags, SETOPT_NX);
	assert_int_equal(setopt_set(S, 5, a, &o, err, sizeof(err)), -EINVAL);
}

/* ms_is -- setopt_set_ms of text under flags at now: ms, or the error
 * msg (ms ignored). */
static void ms_is(const char *text, unsigned flags, int64_t now, long long ms,
		  const char *msg)
{
	struct resp_arg a = { text, strlen(text) };
	char err[128] = "";
	int64_t got = -7;
	int rc = setopt_set_ms(&a, flags, now, "set", &got, err, sizeof(err));

	if (msg ? (rc != -EINVAL || strcmp(err, msg)) : (rc || got != ms))
		fail_msg("%s (flags %#x): %d %lld \"%s\"", text, flags, rc,
			 (long long)got, err);
}

static void test_setopt_set_ms(void **state)
{
	const char *nint = "ERR value is not an integer or out of range";
	const char *inv = "ERR invalid expire time in 'set' command";
	char big[32];

	(void)state;
	ms_is("10", SETOPT_EX, 1000, 11000, NULL);
	ms_is("10", SETOPT_PX, 1000, 1010, NULL);
	ms_is("10", SETOPT_EXAT, 1000, 10000, NULL);
	ms_is("10", SETOPT_PXAT, 1000, 10, NULL);
	ms_is("9223372036854775807", SETOPT_PXAT, 1000, LLONG_MAX, NULL);
	ms_is("abc", SETOPT_EX, 0, 0, nint);
	ms_is("01", SETOPT_EX, 0, 0, nint);
	ms_is("1.5", SETOPT_PX, 0, 0, nint);
	ms_is("", SETOPT_PX, 0, 0, nint);
	ms_is("0", SETOPT_EX, 1000, 0, inv);
	ms_is("-1", SETOPT_PX, 1000, 0, inv);
	ms_is("-5", SETOPT_PXAT, 1000, 0, inv);
	snprintf(big, sizeof(big), "%lld", LLONG_MAX / 1000 + 1);
	ms_is(big, SETOPT_EXAT, 0, 0, inv);               /* x 1000 overflows */
	snprintf(big, sizeof(big), "%lld", LLONG_MAX / 1000);
	ms_is(big, SETOPT_EXAT, 0, LLONG_MAX / 1000 * 1000, NULL);
	ms_is(big, SETOPT_EX, 1000000, 0, inv);           /* + now overflows */
	ms_is("9223372036854775807", SETOPT_PX, 1, 0, inv);
	ms_is("9223372036854775806", SETOPT_PX, 1, LLONG_MAX, NULL);
	/* the command's name is in the message */
	struct resp_arg a = { "0", 1 };
	char err[128];
	int64_t ms;
	assert_int_equal(setopt_set_ms(&a, SETOPT_EX, 1, "setex", &ms, err,
				       sizeof(err)), -EINVAL);
	assert_string_equal(err, "ERR invalid expire time in 'setex' command");
}

/* exp_is -- EXPIRE k 1 <words>: the flags, or the error msg. */
static void exp_is(const char *words, unsigned flags, const char *msg)
{
	struct resp_arg a[16];
	char cmd[256];
	unsigned got = 99;
	char err[128] = "";

	snprintf(cmd, sizeof(cmd), "EXPIRE k 1 %s", words);
	size_t n = args(a, cmd);
	int rc = setopt_expire(n, a, &got, err, sizeof(err));
	if (msg ? (rc != -EINVAL || strcmp(err, msg)) : (rc || got != flags))
		fail_msg("EXPIRE k 1 %s: %d %#x \"%s\"", words, rc, got, err);
}

static void test_setopt_expire(void **state)
{
	const char *nx = "ERR NX and XX, GT or LT options at the same time "
			 "are not compatible";
	const char *gl = "ERR GT and LT options at the same time are not "
			 "compatible";
	const char *nint = "ERR value is not an integer or out of range";
	char err[128];
	int64_t when;
	unsigned flags;

	(void)state;
	exp_is("", 0, NULL);
	exp_is("nx", SETOPT_EXP_NX, NULL);
	exp_is("XX gt", SETOPT_EXP_XX | SETOPT_EXP_GT, NULL);
	exp_is("xx LT lt", SETOPT_EXP_XX | SETOPT_EXP_LT, NULL);
	exp_is("NX NX", SETOPT_EXP_NX, NULL);
	exp_is("NX XX", 0, nx);
	exp_is("GT NX", 0, nx);
	exp_is("NX LT", 0, nx);
	exp_is("GT LT", 0, gl);
	exp_is("XX GT LT", 0, gl);
	exp_is("FOO", 0, "ERR Unsupported option FOO");
	exp_is("NX FOO GT LT", 0, "ERR Unsupported option FOO");
	/* the word is printed as a C string */
	struct resp_arg a[4] = { { "EXPIRE", 6 }, { "k", 1 }, { "1", 1 },
				 { "fo\0o", 4 } };
	assert_int_equal(setopt_expire(4, a, &flags, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "ERR Unsupported option fo");

	/* times: negative allowed, overflow not */
	struct resp_arg t = { "-5", 2 };
	assert_int_equal(setopt_expire_when(&t, true, 10000, "expire", &when,
					    err, sizeof(err)), 0);
	assert_int_equal(when, 5000);
	t.p = "abc";
	t.len = 3;
	assert_int_equal(setopt_expire_when(&t, false, 0, "pexpire", &when,
					    err, sizeof(err)), -EINVAL);
	assert_string_equal(err, nint);
	t.p = "9223372036854776";                     /* LLONG_MAX/1000 + 1 */
	t.len = strlen(t.p);
	assert_int_equal(setopt_expire_when(&t, true, 0, "expireat", &when,
					    err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ERR invalid expire time in 'expireat' "
			    "command");
	t.p = "-9223372036854776";
	t.len = strlen(t.p);
	assert_int_equal(setopt_expire_when(&t, true, 0, "expire", &when,
					    err, sizeof(err)), -EINVAL);
	t.p = "9223372036854775807";
	t.len = strlen(t.p);
	assert_int_equal(setopt_expire_when(&t, false, 1, "pexpire", &when,
					    err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ERR invalid expire time in 'pexpire' "
			    "command");
	assert_int_equal(setopt_expire_when(&t, false, 0, "pexpireat", &when,
					    err, sizeof(err)), 0);
	assert_int_equal(when, LLONG_MAX);

	/* the conditions: cur 0 is "no expiry", an infinite TTL */
	assert_true(setopt_expire_allows(0, 0, 5));
	assert_true(setopt_expire_allows(SETOPT_EXP_NX, 0, 5));
	assert_false(setopt_expire_allows(SETOPT_EXP_NX, 7, 5));
	assert_false(setopt_expire_allows(SETOPT_EXP_XX, 0, 5));
	assert_true(setopt_expire_allows(SETOPT_EXP_XX, 7, 5));
	assert_false(setopt_expire_allows(SETOPT_EXP_GT, 0, 5));
	assert_false(setopt_expire_allows(SETOPT_EXP_GT, 7, 5));
	assert_false(setopt_expire_allows(SETOPT_EXP_GT, 7, 7));
	assert_true(setopt_expire_allows(SETOPT_EXP_GT, 7, 8));
	assert_true(setopt_expire_allows(SETOPT_EXP_LT, 0, 5));
	assert_true(setopt_expire_allows(SETOPT_EXP_LT, 7, 5));
	assert_false(setopt_expire_allows(SETOPT_EXP_LT, 7, 7));
	assert_false(setopt_expire_allows(SETOPT_EXP_XX | SETOPT_EXP_LT, 0, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_num),
		cmocka_unit_test(test_num_format),
		cmocka_unit_test(test_glob_redis_cases),
		cmocka_unit_test(test_glob_against_reference),
		cmocka_unit_test(test_glob_pathological),
		cmocka_unit_test(test_glob_binary),
		cmocka_unit_test(test_request_split),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_reader_split_everywhere),
		cmocka_unit_test(test_reader_strict),
		cmocka_unit_test(test_reader_limits),
		cmocka_unit_test(test_reader_commands),
		cmocka_unit_test(test_setopt_set),
		cmocka_unit_test(test_setopt_set_ms),
		cmocka_unit_test(test_setopt_expire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
