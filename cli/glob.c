/*
 * glob.c -- glob-style matching as Redis does it (glob.h).
 *
 * Every token but '*' consumes exactly one byte of the subject, so the
 * classic two-cursor algorithm applies: on a mismatch, go back to the
 * last '*' seen and let it swallow one more byte.  That is O(|pattern| x
 * |subject|) at worst, where a naive recursion is exponential in the
 * number of stars (a pattern like "*a*a*a*a*b" over a long key).
 */
#include "config.h"

#include <stdint.h>

#include "glob.h"

/*
 * glob_class -- match byte c against the class whose body starts at
 * pat[*q] (just past '['); leaves *q past the closing ']' (or at the end
 * of the pattern if there is none, which Redis allows).
 */
static bool glob_class(const char *pat, size_t plen, size_t *q,
		       unsigned char c)
{
	size_t i = *q;
	bool neg = false, match = false;

	if (i < plen && pat[i] == '^') {
		neg = true;
		i++;
	}
	while (i < plen && pat[i] != ']') {
		if (pat[i] == '\\' && i + 1 < plen) {
			if ((unsigned char)pat[i + 1] == c)
				match = true;
			i += 2;
		} else if (i + 2 < plen && pat[i + 1] == '-') {
			unsigned char lo = (unsigned char)pat[i];
			unsigned char hi = (unsigned char)pat[i + 2];
			if (lo > hi) {
				unsigned char t = lo;
				lo = hi;
				hi = t;
			}
			if (c >= lo && c <= hi)
				match = true;
			i += 3;
		} else {
			if ((unsigned char)pat[i] == c)
				match = true;
			i++;
		}
	}
	if (i < plen)
		i++;                      /* the ']' */
	*q = i;
	return neg ? !match : match;
}

/* glob_match -- the pattern matches the whole subject. */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	size_t p = 0, i = 0, star_p = SIZE_MAX, star_i = 0;

	while (i < slen) {
		if (p < plen) {
			char c = pat[p];

			if (c == '*') {
				while (p < plen && pat[p] == '*')
					p++;
				if (p == plen)
					return true;
				star_p = p;
				star_i = i;
				continue;
			}
			if (c == '?') {
				p++;
				i++;
				continue;
			}
			if (c == '[') {
				size_t q = p + 1;
				if (glob_class(pat, plen, &q,
					       (unsigned char)s[i])) {
					p = q;
					i++;
					continue;
				}
			} else if (c == '\\' && p + 1 < plen) {
				if (pat[p + 1] == s[i]) {
					p += 2;
					i++;
					continue;
				}
			} else if (c == s[i]) {
				p++;
				i++;
				continue;
			}
		}
		/* Mismatch: the last star takes one more byte. */
		if (star_p == SIZE_MAX)
			return false;
		p = star_p;
		i = ++star_i;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}
