/*
 * scanargs.c -- the arguments of the scanning commands, and the head of
 * their reply (see scanargs.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "scanargs.h"

/* scan_cursor -- Redis's parseScanCursorOrReply: strtoull over the text
 * (as Redis, a NUL ends it), no leading space, no overflow. */
static bool scan_cursor(struct client *c, const struct resp_arg *a,
			uint64_t *cursor)
{
	char *buf = malloc(a->len + 1), *end;
	bool ok;

	if (!buf) {
		reply_err_kv(c, -ENOMEM);
		return false;
	}
	memcpy(buf, a->p, a->len);
	buf[a->len] = '\0';
	errno = 0;
	*cursor = strtoull(buf, &end, 10);
	ok = !(buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r')) &&
	     *end == '\0' && errno != ERANGE;
	free(buf);
	if (!ok)
		reply_error(c, "ERR invalid cursor");
	return ok;
}

/* scan_args_parse -- see scanargs.h. */
bool scan_args_parse(struct client *c, size_t at, bool with_type,
		     struct scan_args *a)
{
	memset(a, 0, sizeof(*a));
	a->count = 10;
	if (!scan_cursor(c, &c->argv[at], &a->cursor))
		return false;
	for (size_t i = at + 1; i < c->argc; i += 2) {
		const struct resp_arg *o = &c->argv[i];
		bool has = i + 1 < c->argc;

		if (arg_is(o, "count") && has) {
			if (!arg_ll(&c->argv[i + 1], &a->count)) {
				reply_err_int(c);
				return false;
			}
			if (a->count < 1) {
				reply_err_syntax(c);
				return false;
			}
		} else if (arg_is(o, "match") && has) {
			const struct resp_arg *p = &c->argv[i + 1];
			if (p->len == 1 && p->p[0] == '*') {
				a->pat = NULL;
			} else {
				a->pat = p->p;
				a->plen = p->len;
			}
		} else if (with_type && arg_is(o, "type") && has) {
			a->type = &c->argv[i + 1];
		} else {
			reply_err_syntax(c);
			return false;
		}
	}
	return true;
}

void reply_scan_head(struct client *c, uint64_t next)
{
	char cbuf[24];

	reply_array(c, 2);
	snprintf(cbuf, sizeof(cbuf), "%llu", (unsigned long long)next);
	reply_cstr(c, cbuf);
}
