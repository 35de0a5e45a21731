/*
 * scanargs.h -- the arguments of the scanning commands (SCAN, HSCAN,
 * SSCAN, ZSCAN): the cursor, read as Redis's parseScanCursorOrReply reads
 * it, then MATCH, COUNT and, for SCAN, TYPE, with Redis's errors; and the
 * head of their reply.
 */
#ifndef PKV_SCANARGS_H
#define PKV_SCANARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/resp.h"

struct client;

struct scan_args {
	uint64_t cursor;
	long long count;              /* COUNT, 10 if not given */
	const char *pat;              /* MATCH, or NULL (none, or "*") */
	size_t plen;
	const struct resp_arg *type;  /* SCAN's TYPE, or NULL */
};

/*
 * scan_args_parse -- the cursor at c->argv[at], then the options after
 * it (TYPE only when with_type).  Returns false after replying the error
 * (invalid cursor, syntax error, a COUNT that is not a positive integer).
 */
bool scan_args_parse(struct client *c, size_t at, bool with_type,
		     struct scan_args *a);

/* reply_scan_head -- the start of a scan's reply: a 2-element array and
 * the next cursor (as a bulk string, as Redis sends it); the caller then
 * sends the step's array. */
void reply_scan_head(struct client *c, uint64_t next);

#endif /* PKV_SCANARGS_H */
