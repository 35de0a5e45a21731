/*
 * num.h -- the strict integer syntax of the Redis protocol (Redis's
 * string2ll), used for every number the protocol carries: multibulk and
 * bulk lengths, integer replies, expiry times, command arguments; and
 * Redis's long double reading and writing for the float increments.
 *
 * Strict means the text is the number's one canonical spelling: an
 * optional '-', then decimal digits with no leading zero (except "0"
 * itself), nothing before or after, no '+', no spaces, no overflow.  A
 * number so read prints back to the same bytes, which is why Redis uses
 * this parser and why pkv must accept and refuse exactly what it does.
 */
#ifndef PKV_PROTO_NUM_H
#define PKV_PROTO_NUM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * num_parse_ll -- s[0..len) as a long long in *out.  Returns false (and
 * leaves *out alone) for anything that is not a canonical decimal in
 * range: empty, over 20 bytes, "-0", "007", "+1", " 1", "1 ", overflow.
 */
bool num_parse_ll(const char *s, size_t len, long long *out);

/* num_add_ll -- *val += incr, unless the sum would overflow a long long
 * (Redis's check in INCRBY and HINCRBY): false then, *val unchanged. */
bool num_add_ll(long long *val, long long incr);

/* Room for any long long in decimal: "-9223372036854775808". */
#define NUM_LL_CHARS 21

/* num_format_ll -- v in decimal, its canonical spelling (what
 * num_parse_ll reads back), into buf (room for NUM_LL_CHARS; no NUL).
 * Returns the length.  What every reply's lengths and integers are
 * written with, so not snprintf (2-3% of pkv-server under INCR). */
size_t num_format_ll(char *buf, long long v);

/* Redis's MAX_LONG_DOUBLE_CHARS: room for any %.17Lf of a long double. */
#define NUM_LD_CHARS (5 * 1024)

/*
 * num_parse_ld -- Redis's string2ld, for INCRBYFLOAT and HINCRBYFLOAT:
 * every byte read by strtold (a NUL inside fails), no leading space, no
 * NaN, no overflow to infinity nor underflow to zero.
 */
bool num_parse_ld(const char *s, size_t len, long double *out);

/* num_format_ld -- Redis's ld2string(LD_STR_HUMAN) into buf (room for
 * NUM_LD_CHARS): %.17Lf without trailing zeros, "-0" as "0".  Returns
 * the length, 0 if it did not fit. */
size_t num_format_ld(char *buf, long double v);

#endif /* PKV_PROTO_NUM_H */
