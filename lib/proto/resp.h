/*
 * resp.h -- the Redis protocol (RESP2 and RESP3), I/O-free: bytes in,
 * values out, values in, bytes out.  The server, the pkv tool and the
 * benchmark all speak it through this one module.
 *
 * Three parts:
 *
 *   requests  resp_parse: what a server reads -- multibulk arrays of bulk
 *             strings and inline commands, with Redis 7's limits and its
 *             exact protocol error texts.  Stateless over a buffer: given
 *             the bytes received so far it finds one whole request at
 *             their start (arguments point into the buffer, no copy),
 *             asks for more, or fails.  Bulk payloads are skipped by
 *             length, so parsing again after more bytes arrive costs time
 *             in the number of arguments, not in their size.
 *
 *   writing   struct rbuf and the resp_* encoders: replies in the
 *             client's protocol (2 or 3), and resp_command for a client's
 *             requests.
 *
 *   values    struct resp_reader: what a client reads -- any RESP2/RESP3
 *             value, in hiredis's manner: it keeps the bytes it is fed,
 *             stops wherever the input stops (at any byte, even inside a
 *             CRLF) and resumes there when fed more, and checks every
 *             length, count and depth against explicit limits before it
 *             trusts it.  Numbers are strict (num.h).  In command-stream
 *             mode it reads what `pkv import` takes: arrays of bulk
 *             strings only, checked as strictly.
 *
 * Errors are ints: 0 or a count on success, -EPROTO for input that is
 * not the protocol, -ENOMEM.  Nothing here aborts on bad input.
 */
#ifndef PKV_PROTO_RESP_H
#define PKV_PROTO_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One argument of a request or one string: bytes with a length. */
struct resp_arg {
	const char *p;
	size_t len;
};

/* ---- requests (the server's side) ---- */

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

/* ---- writing ---- */

/* A growable output buffer. */
struct rbuf {
	char *p;
	size_t len, cap;
	bool nomem;                   /* an append failed: the output is lost */
};

/* rbuf_append -- append len bytes; on no memory set b->nomem instead. */
void rbuf_append(struct rbuf *b, const void *p, size_t len);

/* rbuf_free -- release the buffer; b is empty and usable again. */
void rbuf_free(struct rbuf *b);

/* Reply encoders: proto is 2 or 3. */
void resp_simple(struct rbuf *b, const char *s);          /* +s */
void resp_error(struct rbuf *b, const char *s);           /* -s, CR/LF cleaned */
void resp_int(struct rbuf *b, int64_t n);                 /* :n */
void resp_bulk(struct rbuf *b, const void *p, size_t len);/* $len */
void resp_null(struct rbuf *b, int proto);                /* $-1 or _ */
void resp_null_array(struct rbuf *b, int proto);          /* *-1 or _ */
void resp_array(struct rbuf *b, int64_t n);               /* *n */
void resp_map(struct rbuf *b, int proto, int64_t n);      /* %n or *2n */
void resp_set(struct rbuf *b, int proto, int64_t n);      /* ~n or *n */
void resp_push(struct rbuf *b, int proto, int64_t n);     /* >n or *n */
void resp_double(struct rbuf *b, int proto, double d);    /* ,d or bulk */
void resp_bool(struct rbuf *b, int proto, bool v);        /* #t or :1 */
void resp_verbatim(struct rbuf *b, int proto, const char *fmt3,
		   const void *p, size_t len);            /* =len or bulk */

/* resp_command -- a request as a client sends it: a multibulk array of
 * argc bulk strings (binary safe). */
void resp_command(struct rbuf *b, size_t argc, const struct resp_arg *argv);

/* resp_format_double -- Redis's %.17g text of d (inf as "inf"); the
 * length written, as snprintf. */
int resp_format_double(char *buf, size_t len, double d);

/* ---- reading values (the client's side) ---- */

/*
 * Value types: each is its RESP type byte.  A RESP2 nil ($-1 or *-1)
 * reads as RESP_NULL, like RESP3's "_".
 */
enum resp_type {
	RESP_STATUS = '+',            /* p, len */
	RESP_ERR = '-',               /* p, len (without the '-') */
	RESP_INT = ':',               /* n */
	RESP_BULK = '$',              /* p, len */
	RESP_ARRAY = '*',             /* n children follow */
	RESP_NULL = '_',
	RESP_DOUBLE = ',',            /* d, and its text in p, len */
	RESP_BOOL = '#',              /* n: 0 or 1 */
	RESP_BIGNUM = '(',            /* p, len: the digits */
	RESP_BLOBERR = '!',           /* p, len */
	RESP_VERBATIM = '=',          /* p, len: "txt:..." */
	RESP_MAP = '%',               /* n = 2 x pairs children follow */
	RESP_SET = '~',               /* n children follow */
	RESP_ATTR = '|',              /* n = 2 x pairs children follow; read
					 as an ordinary value (Redis sends
					 none), so inside an aggregate it
					 counts as one of its elements */
	RESP_PUSH = '>',              /* n children follow */
};

/*
 * One value of a reply.  A whole reply is an array of nodes in
 * pre-order: an aggregate's node says how many values follow it as its
 * children (each of which may be an aggregate in turn).
 */
struct resp_node {
	int type;                     /* enum resp_type */
	const char *p;                /* a string's bytes, in the reader */
	size_t len;
	long long n;                  /* integer, bool, or children */
	double d;                     /* RESP_DOUBLE */
};

struct resp_reader_limits {
	unsigned max_depth;           /* nested aggregates (32, at most 1024) */
	uint64_t max_bulk;            /* bytes of one string (512 MiB) */
	uint64_t max_elements;        /* values of one aggregate (1M) */
	size_t max_line;              /* bytes of a line (64 KiB) */
	bool commands;                /* a command stream (see resp_reader_next) */
};

/* The reader; its fields are private but for consumed, err and err_at. */
struct resp_reader {
	struct resp_reader_limits lim;
	char *buf;
	size_t cap, end;              /* buf[0..end) holds input */
	size_t start;                 /* where the value being read begins */
	size_t pos;                   /* where reading goes on */
	size_t scan;                  /* where the search for a line's end
					 goes on (0: from the line's start) */
	size_t want;                  /* bytes the value needs past end, when
					 known */
	uint64_t base;                /* stream offset of buf[0] */
	uint64_t consumed;            /* stream bytes in returned values (and
					 the blank lines skipped) */
	struct resp_node *nodes;      /* the value being read */
	size_t *offs;                 /* string offsets, from start */
	size_t nnodes, nodecap;
	uint64_t *left;               /* values still due per open aggregate */
	unsigned depth;
	bool returned;                /* nodes were handed out: drop them first */
	int failed;                   /* 0, or the sticky error */
	uint64_t err_at;              /* stream offset of the error */
	char err[160];                /* what it was */
};

/* resp_reader_defaults -- the limits above, in *lim. */
void resp_reader_defaults(struct resp_reader_limits *lim);

/* resp_reader_init -- an empty reader with limits lim (NULL: defaults).
 * Returns 0 or -ENOMEM. */
int resp_reader_init(struct resp_reader *r,
		     const struct resp_reader_limits *lim);

/* resp_reader_free -- release the reader's memory. */
void resp_reader_free(struct resp_reader *r);

/* resp_reader_feed -- append len bytes of input.  0 or -ENOMEM.  Any
 * value returned before is no longer valid. */
int resp_reader_feed(struct resp_reader *r, const void *p, size_t len);

/*
 * resp_reader_space -- room for at least min more bytes of input at the
 * end of the reader's buffer, to read() into directly; *avail gets its
 * size.  NULL on no memory.  Follow with resp_reader_wrote.  Any value
 * returned before is no longer valid.
 */
void *resp_reader_space(struct resp_reader *r, size_t min, size_t *avail);

/* resp_reader_wrote -- n bytes were written at resp_reader_space. */
void resp_reader_wrote(struct resp_reader *r, size_t n);

/* resp_reader_want -- bytes the value being read still needs at least
 * (a bulk string's payload, once its length is read), 0 if unknown. */
size_t resp_reader_want(const struct resp_reader *r);

/* resp_reader_pending -- input bytes not yet part of a returned value
 * (non-zero at the end of the input: it stops inside a value). */
size_t resp_reader_pending(const struct resp_reader *r);

/*
 * resp_reader_next -- the next whole value: returns 1 with its nodes in
 * *v[0..*n) (valid until the next call on the reader), 0 if the input so
 * far holds no whole value (feed more and call again), -EPROTO on input
 * that is not the protocol or breaks a limit (r->err says what, r->err_at
 * where; the error stays: the stream cannot be resynchronized), or
 * -ENOMEM.
 *
 * With lim.commands, values must be arrays of bulk strings (a command
 * each, as `redis-cli --pipe` sends them); blank lines and empty arrays
 * between them are skipped, as Redis skips them; a nil or a bulk string
 * with a negative length is an error.
 */
int resp_reader_next(struct resp_reader *r, const struct resp_node **v,
		     size_t *n);

#endif /* PKV_PROTO_RESP_H */
