/*
 * util.c -- error reporting and strict parsing for the pkv tool (util.h).
 *
 * Numbers from the command line and from a protocol stream are parsed
 * the same strict way: decimal digits only, an optional leading '-' for
 * signed ones, and overflow is an error, never a wrap (strtoull would
 * accept " 12", "+12" and "-1").
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkv.h"
#include "layout.h"
#include "util.h"

const char cli_progname[] = "pkv";

/* cli_usage_error -- report a usage mistake; EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n",
		cli_progname);
	return EXIT_USAGE;
}

/* cli_fail -- report a failure; EXIT_FAILURE. */
int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

/* cli_busy -- a pool locked by another process. */
int cli_busy(const char *path)
{
	return cli_fail("%s is in use by another process (a running "
			"pkv-server?)", path);
}

/* cli_fail_path -- "pkv: PATH: detail", without naming PATH twice. */
int cli_fail_path(const char *path, int err, const char *detail)
{
	size_t n = strlen(path);

	if (err == PKV_EBUSY)
		return cli_busy(path);
	if (detail == NULL || detail[0] == '\0')
		return cli_fail("%s: %s", path, pkv_strerror(err));
	if (strncmp(detail, path, n) == 0 && detail[n] == ':')
		return cli_fail("%s", detail);
	return cli_fail("%s: %s", path, detail);
}

/* cli_parse_u64n -- strict unsigned decimal over len bytes. */
int cli_parse_u64n(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint64_t d;
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* cli_parse_i64n -- strict signed decimal over len bytes. */
int cli_parse_i64n(const char *s, size_t len, int64_t *out)
{
	bool neg = len > 0 && s[0] == '-';
	uint64_t v;

	if (cli_parse_u64n(s + neg, len - neg, &v) != 0)
		return -1;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

/* cli_parse_u64 -- strict unsigned decimal. */
int cli_parse_u64(const char *s, uint64_t *out)
{
	return cli_parse_u64n(s, strlen(s), out);
}

/* cli_parse_i64 -- strict signed decimal. */
int cli_parse_i64(const char *s, int64_t *out)
{
	return cli_parse_i64n(s, strlen(s), out);
}

/* cli_parse_size -- a size with an optional binary unit. */
int cli_parse_size(const char *s, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0;
	unsigned shift = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	switch (*p) {
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	case 't': case 'T': shift = 40; p++; break;
	default: break;
	}
	if (shift != 0 && *p == 'i')
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0')
		return -1;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

/* cli_human_size -- binary units, one decimal. */
const char *cli_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

/* cli_optval -- "--name VALUE", "--name=VALUE" or "-s VALUE". */
int cli_optval(int argc, char **argv, int *i, const char *name,
	       const char *shortname, const char *cmd, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) == 0 && a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (strcmp(a, name) != 0 &&
	    (shortname == NULL || strcmp(a, shortname) != 0))
		return 0;
	if (*i + 1 >= argc) {
		cli_usage_error("%s: %s needs a value", cmd, a);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

/* cli_parse_db -- a database number. */
int cli_parse_db(const char *cmd, const char *s, unsigned *dbi)
{
	uint64_t v;

	if (cli_parse_u64(s, &v) != 0 || v >= KV_MAX_DBS)
		return cli_usage_error("%s: invalid database number '%s' "
				       "(0 to %u)", cmd, s, KV_MAX_DBS - 1);
	*dbi = (unsigned)v;
	return 0;
}
