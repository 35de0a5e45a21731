/*
 * resp.h -- the Redis protocol: parsing requests (RESP multibulk and
 * inline commands) and encoding replies (RESP2 and RESP3).
 *
 * The parser is stateless over a buffer: given the bytes received so far,
 * it either finds one whole request at their start (its arguments point
 * into the buffer, no copy), says it needs more bytes, or reports a
 * protocol error with the text Redis 7 sends.  Bulk payloads are skipped
 * by length, so parsing again after more bytes arrive costs time in the
 * number of arguments, not in their size.  Every length is checked
 * against limits before it is trusted.
 */
#ifndef PKV_RESP_H
#define PKV_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * resp_strtoll -- Redis's string2ll: an optional '-', then decimal digits
 * with no leading zero (except "0"), nothing else, no overflow.
 */
bool resp_strtoll(const char *s, size_t len, long long *out);

/* One argument of a request, inside the query buffer. */
struct resp_arg {
	const char *p;
	size_t len;
};

struct resp_limits {
	uint64_t max_bulk;            /* proto-max-bulk-len (512 MB) */
	uint64_t max_args;            /* arguments per request */
	size_t max_inline;            /* bytes of an inline request or of a
					 length line (64 KiB) */
};

/* A parsed request; argv is owned by the caller between calls. */
struct resp_req {
	size_t argc;
	struct resp_arg *argv;
	size_t cap;                   /* of argv */
	char *inline_buf;             /* unquoted inline arguments live here */
	size_t inline_cap;
};

enum resp_status {
	RESP_NEED_MORE = 0,           /* no whole request yet */
	RESP_OK = 1,                  /* req holds one; *used bytes consumed */
	RESP_ERROR = -1,              /* protocol error; close after reply */
};

/*
 * resp_parse -- parse one request at the start of buf[0..len).  authed
 * false applies Redis's tighter limits for unauthenticated clients
 * (10 arguments, 16 KiB bulks).  An empty line or a multibulk count <= 0
 * is consumed as a request with argc 0.  On RESP_ERROR, err gets the
 * message ("Protocol error: ...").
 */
enum resp_status resp_parse(struct resp_req *req, const char *buf,
			    size_t len, const struct resp_limits *lim,
			    bool authed, size_t *used, char *err,
			    size_t errlen);

/* resp_req_free -- free the request's arrays. */
void resp_req_free(struct resp_req *req);

/* ---- replies ---- */

/* A growable output buffer. */
struct rbuf {
	char *p;
	size_t len, cap;
	bool nomem;                   /* an append failed: the reply is lost */
};

void rbuf_append(struct rbuf *b, const void *p, size_t len);
void rbuf_free(struct rbuf *b);

/* Encoders: proto is 2 or 3. */
void resp_simple(struct rbuf *b, const char *s);          /* +s */
void resp_error(struct rbuf *b, const char *s);           /* -s, CR/LF cleaned */
void resp_int(struct rbuf *b, int64_t n);                 /* :n */
void resp_bulk(struct rbuf *b, const void *p, size_t len);/* $len */
void resp_null(struct rbuf *b, int proto);                /* $-1 or _ */
void resp_null_array(struct rbuf *b, int proto);          /* *-1 or _ */
void resp_array(struct rbuf *b, int64_t n);               /* *n */
void resp_map(struct rbuf *b, int proto, int64_t n);      /* %n or *2n */
void resp_set(struct rbuf *b, int proto, int64_t n);      /* ~n or *n */
void resp_double(struct rbuf *b, int proto, double d);    /* ,d or bulk */
void resp_bool(struct rbuf *b, int proto, bool v);        /* #t or :1 */
void resp_verbatim(struct rbuf *b, int proto, const char *fmt3,
		   const void *p, size_t len);            /* =len or bulk */

/* resp_format_double -- Redis's %.17g text of d (inf as "inf"). */
int resp_format_double(char *buf, size_t len, double d);

#endif /* PKV_RESP_H */
