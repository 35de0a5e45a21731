/*
 * num.c -- Redis's string2ll, string2ld and ld2string (see num.h).
 *
 * The value is accumulated as unsigned, checked before every step, and
 * only then given its sign, so LLONG_MIN (whose magnitude no long long
 * holds) is read without overflow.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

/* num_parse_ll -- the canonical decimal s[0..len), or false. */
bool num_parse_ll(const char *s, size_t len, long long *out)
{
	unsigned long long v = 0;
	bool neg = false;
	size_t i = 0;

	if (len == 0 || len > 20)
		return false;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		neg = true;
		if (++i == len)
			return false;
	}
	if (s[i] < '1' || s[i] > '9')
		return false;
	for (; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
							     : -(long long)v;
	} else {
		if (v > (unsigned long long)LLONG_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

/* num_add_ll -- the sum, if it fits. */
bool num_add_ll(long long *val, long long incr)
{
	if ((incr < 0 && *val < 0 && incr < LLONG_MIN - *val) ||
	    (incr > 0 && *val > 0 && incr > LLONG_MAX - *val))
		return false;
	*val += incr;
	return true;
}

/* num_format_ll -- see num.h.  Digits from the right into a scratch
 * buffer; the magnitude as unsigned, so LLONG_MIN has one too. */
size_t num_format_ll(char *buf, long long v)
{
	char tmp[NUM_LL_CHARS];
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v :
			       (unsigned long long)v;
	size_t n = 0, len;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	len = n;
	memcpy(buf, tmp + sizeof(tmp) - len, len);
	return len;
}

/* num_parse_ld -- Redis's string2ld: strtold must read every byte (a NUL
 * inside fails), no leading space, no NaN, no overflow to infinity nor
 * underflow to zero. */
bool num_parse_ld(const char *s, size_t len, long double *out)
{
	char buf[NUM_LD_CHARS];
	char *end;
	long double v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtold(buf, &end);
	if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r') ||
	    *end != '\0' || (size_t)(end - buf) != len ||
	    (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL ||
				 fpclassify(v) == FP_ZERO)) ||
	    errno == EINVAL || isnan(v))
		return false;
	*out = v;
	return true;
}

/* num_format_ld -- Redis's ld2string(LD_STR_HUMAN): %.17Lf without the
 * trailing zeros (and the point if nothing follows it), "-0" as "0".
 * buf holds NUM_LD_CHARS; returns the length, 0 if it did not fit. */
size_t num_format_ld(char *buf, long double v)
{
	int n = snprintf(buf, NUM_LD_CHARS, "%.17Lf", v);
	size_t l;

	if (n < 0 || (size_t)n + 1 > NUM_LD_CHARS)
		return 0;
	l = (size_t)n;
	if (memchr(buf, '.', l)) {
		while (buf[l - 1] == '0')
			l--;
		if (buf[l - 1] == '.')
			l--;
	}
	if (l == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		l = 1;
	}
	buf[l] = '\0';
	return l;
}
