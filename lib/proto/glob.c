/*
 * glob.c -- one glob matcher, Redis's semantics in bounded time (glob.h).
 *
 * Every token but '*' consumes exactly one byte of the subject: '?', a
 * literal, a quoted byte, or a whole [...] class.  That makes the classic
 * two-cursor algorithm exact: walk pattern and subject together; at a
 * star, remember where it stands and let it match nothing; on a mismatch,
 * go back to the last star seen and let it swallow one more byte.  Going
 * back only to the *last* star is enough, because whatever an earlier
 * star would take instead, the last one can take as well.  Each restart
 * moves the star's position one byte on, and between restarts at most
 * |pattern| bytes of pattern are examined: O(|pattern| x |subject|).
 * Redis's recursion tried every split for every star: exponential in the
 * number of stars.
 *
 * The work is counted in pattern bytes examined (a class costs its
 * length), and the match gives up past a limit: a 512 MB key against a
 * long pattern is still quadratic, and the event loop must not wait for
 * it.
 *
 * Redis's quirks are kept where they change an answer (glob.h): the
 * empty subject, the case-exact quoted byte in a class, the limit on
 * stars.  That limit costs nothing here: the matcher meets star runs in
 * order, and every successful match passes through all of them, so the
 * first time it reaches run number GLOB_MAX_STARS + 1 with more pattern
 * after it, Redis would have refused every way on, and so can we.
 */
#include "glob.h"

/* glob_lower -- ASCII case folding, whatever the locale. */
static unsigned char glob_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* glob_same -- whether pattern byte p matches subject byte c. */
static bool glob_same(unsigned char p, unsigned char c, unsigned flags)
{
	if (flags & GLOB_NOCASE)
		return glob_lower(p) == glob_lower(c);
	return p == c;
}

/*
 * glob_class -- whether byte c is in the class whose '[' is at pat[at];
 * *end gets the offset just past it (past its ']', or plen when it is
 * not closed, which Redis allows).  The order of the tests is Redis's: a
 * quote first, then the closing bracket, then a range a-b (which may
 * end in ']' or '\': "[+-]]" is the range '+' to ']', then a ']').
 */
static bool glob_class(const unsigned char *pat, size_t plen, size_t at,
		       unsigned char c, unsigned flags, size_t *end)
{
	size_t q = at + 1;
	bool neg = false, in = false;

	if (q < plen && pat[q] == '^') {
		neg = true;
		q++;
	}
	for (;;) {
		if (q >= plen) {
			*end = plen;                 /* unclosed */
			break;
		}
		if (pat[q] == '\\' && q + 1 < plen) {
			if (pat[q + 1] == c)         /* exact, even NOCASE */
				in = true;
			q += 2;
		} else if (pat[q] == ']') {
			*end = q + 1;
			break;
		} else if (q + 2 < plen && pat[q + 1] == '-') {
			unsigned char lo = pat[q], hi = pat[q + 2], x = c;

			if (lo > hi) {
				unsigned char t = lo;
				lo = hi;
				hi = t;
			}
			if (flags & GLOB_NOCASE) {
				lo = glob_lower(lo);
				hi = glob_lower(hi);
				x = glob_lower(x);
			}
			if (x >= lo && x <= hi)
				in = true;
			q += 3;
		} else {
			if (glob_same(pat[q], c, flags))
				in = true;
			q++;
		}
	}
	return neg ? !in : in;
}

/* glob_limit -- the floor, or four steps per byte of input. */
uint64_t glob_limit(size_t plen, size_t slen)
{
	uint64_t linear = 4 * ((uint64_t)plen + (uint64_t)slen);

	return linear > GLOB_WORK_FLOOR ? linear : GLOB_WORK_FLOOR;
}

/* glob_run -- the two-cursor match, counted and bounded. */
int glob_run(const char *pattern, size_t plen, const char *subject,
	     size_t slen, unsigned flags, uint64_t limit, uint64_t *work)
{
	const unsigned char *pat = (const unsigned char *)pattern;
	const unsigned char *s = (const unsigned char *)subject;
	size_t p = 0, i = 0;
	size_t star_p = SIZE_MAX;     /* pattern just past the last star run */
	size_t star_i = 0;            /* subject where that star's match ends */
	size_t stars = 0;             /* star runs met so far */
	uint64_t steps = 0;
	int res;

	if (slen == 0) {              /* Redis: only "" matches "" */
		res = plen == 0 ? GLOB_MATCH : GLOB_NOMATCH;
		goto out;
	}
	while (i < slen) {
		if (steps > limit) {
			res = GLOB_ELIMIT;
			goto out;
		}
		if (p < plen) {
			size_t next = p + 1;
			bool hit;

			steps++;
			switch (pat[p]) {
			case '*':
				while (p < plen && pat[p] == '*')
					p++;
				steps += p - next;
				if (p == plen) {     /* a final star: the rest */
					res = GLOB_MATCH;
					goto out;
				}
				if (p > star_p || star_p == SIZE_MAX) {
					if (++stars > GLOB_MAX_STARS) {
						res = GLOB_NOMATCH;
						goto out;
					}
				}
				star_p = p;
				star_i = i;
				continue;
			case '?':
				hit = true;
				break;
			case '[':
				hit = glob_class(pat, plen, p, s[i], flags, &next);
				steps += next - p - 1;
				break;
			case '\\':
				if (p + 1 < plen)
					next = p + 2;
				hit = glob_same(pat[next - 1], s[i], flags);
				break;
			default:
				hit = glob_same(pat[p], s[i], flags);
				break;
			}
			if (hit) {
				p = next;
				i++;
				continue;
			}
		}
		/* A mismatch, or pattern left over: the last star takes one
		 * more byte, or there is no way on. */
		if (star_p == SIZE_MAX) {
			res = GLOB_NOMATCH;
			goto out;
		}
		p = star_p;
		i = ++star_i;
	}
	while (p < plen && pat[p] == '*') {
		p++;
		steps++;
	}
	res = p == plen ? GLOB_MATCH : GLOB_NOMATCH;
out:
	if (work)
		*work = steps;
	return res;
}

/* glob_match -- a match within the default limit. */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen,
		unsigned flags)
{
	return glob_run(pat, plen, s, slen, flags, glob_limit(plen, slen),
			NULL) == GLOB_MATCH;
}
