/*
 * resp.c -- the Redis protocol, I/O-free (resp.h): requests, writing,
 * and the resumable value reader.
 *
 * Both readers share the two things every RESP line needs: finding its
 * CRLF and reading its number strictly (num.h).  They differ where Redis
 * itself differs between its two sides: the request parser is the
 * server's, lenient where Redis is (inline commands, the CRLF after a
 * bulk payload is skipped unchecked) and worded as Redis words its
 * protocol errors; the value reader is a client's, strict everywhere
 * (every line and payload must end in CRLF, every type byte must be
 * known), and resumable byte by byte with its state in struct
 * resp_reader, as hiredis's is.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "resp.h"

/* resp_find_crlf -- offset of the first "\r\n" in buf[from..len), or -1
 * (also when the last byte is a '\r' whose '\n' may still come). */
static long resp_find_crlf(const char *buf, size_t from, size_t len)
{
	const char *p = from < len ? memchr(buf + from, '\r', len - from)
				   : NULL;

	while (p) {
		size_t at = (size_t)(p - buf);
		if (at + 1 >= len)
			return -1;     /* \r is the last byte: wait */
		if (p[1] == '\n')
			return (long)at;
		p = memchr(p + 1, '\r', len - at - 1);
	}
	return -1;
}

/* ---- requests ---- */

/* req_room -- argv holds at least n. */
static bool req_room(struct resp_req *req, size_t n)
{
	struct resp_arg *a;
	size_t cap;

	if (n <= req->cap)
		return true;
	cap = req->cap ? req->cap : 8;
	while (cap < n)
		cap *= 2;
	a = realloc(req->argv, cap * sizeof(*a));
	if (!a)
		return false;
	req->argv = a;
	req->cap = cap;
	return true;
}

/* req_hexval -- value of a hex digit. */
static int req_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (tolower((unsigned char)c) - 'a') + 10;
}

/*
 * req_inline -- split one inline line as redis-cli and Redis do
 * (sdssplitargs): blanks separate arguments; "..." takes \n \r \t \b \a
 * \xHH and \c escapes; '...' takes \' only; a closing quote must be
 * followed by a blank or the end.  Unquoted text is copied too, so every
 * argument lives in req->inline_buf.  Returns false on unbalanced quotes.
 */
static bool req_inline(struct resp_req *req, const char *line, size_t n)
{
	size_t i = 0, o = 0, argc = 0;
	char *out;

	if (req->inline_cap < n + 1) {
		char *b = realloc(req->inline_buf, n + 1);
		if (!b)
			return false;
		req->inline_buf = b;
		req->inline_cap = n + 1;
	}
	out = req->inline_buf;
	/* First pass builds the arguments as (start, len) into out. */
	struct { size_t start, len; } *spans = NULL;
	size_t nspans = 0, capspans = 0;

	for (;;) {
		while (i < n && isspace((unsigned char)line[i]))
			i++;
		if (i >= n)
			break;
		size_t start = o;
		int inq = 0, insq = 0, done = 0;
		while (!done) {
			if (inq) {
				if (i >= n)
					goto unbalanced;
				if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' &&
				    isxdigit((unsigned char)line[i + 2]) &&
				    isxdigit((unsigned char)line[i + 3])) {
					out[o++] = (char)(req_hexval(line[i + 2]) * 16 +
							  req_hexval(line[i + 3]));
					i += 4;
				} else if (line[i] == '\\' && i + 1 < n) {
					char c;
					i++;
					switch (line[i]) {
					case 'n': c = '\n'; break;
					case 'r': c = '\r'; break;
					case 't': c = '\t'; break;
					case 'b': c = '\b'; break;
					case 'a': c = '\a'; break;
					default: c = line[i]; break;
					}
					out[o++] = c;
					i++;
				} else if (line[i] == '"') {
					if (i + 1 < n &&
					    !isspace((unsigned char)line[i + 1]))
						goto unbalanced;
					done = 1;
					i++;
				} else {
					out[o++] = line[i++];
				}
			} else if (insq) {
				if (i >= n)
					goto unbalanced;
				if (line[i] == '\\' && i + 1 < n &&
				    line[i + 1] == '\'') {
					out[o++] = '\'';
					i += 2;
				} else if (line[i] == '\'') {
					if (i + 1 < n &&
					    !isspace((unsigned char)line[i + 1]))
						goto unbalanced;
					done = 1;
					i++;
				} else {
					out[o++] = line[i++];
				}
			} else {
				if (i >= n) {
					done = 1;
				} else if (isspace((unsigned char)line[i])) {
					done = 1;
				} else if (line[i] == '"') {
					inq = 1;
					i++;
				} else if (line[i] == '\'') {
					insq = 1;
					i++;
				} else {
					out[o++] = line[i++];
				}
			}
		}
		if (nspans == capspans) {
			size_t cap = capspans ? 2 * capspans : 8;
			void *s = realloc(spans, cap * sizeof(*spans));
			if (!s)
				goto unbalanced;
			spans = s;
			capspans = cap;
		}
		spans[nspans].start = start;
		spans[nspans].len = o - start;
		nspans++;
		argc++;
	}
	if (!req_room(req, argc)) {
		free(spans);
		return false;
	}
	for (size_t k = 0; k < argc; k++) {
		req->argv[k].p = out + spans[k].start;
		req->argv[k].len = spans[k].len;
	}
	req->argc = argc;
	free(spans);
	return true;
unbalanced:
	free(spans);
	return false;
}

/* req_fail -- "Protocol error: <what>" into err; RESP_ERROR. */
static enum resp_status req_fail(char *err, size_t errlen, const char *fmt,
				 ...)
{
	char what[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "Protocol error: %s", what);
	return RESP_ERROR;
}

/* resp_parse -- one request, or need more, or a protocol error. */
enum resp_status resp_parse(struct resp_req *req, const char *buf,
			    size_t len, const struct resp_limits *lim,
			    bool authed, size_t *used, char *err,
			    size_t errlen)
{
	long long n, bl;
	long nl;
	size_t pos;

	req->argc = 0;
	if (len == 0)
		return RESP_NEED_MORE;
	if (buf[0] != '*') {
		/* Inline: up to the newline ("\r\n" or "\n"). */
		const char *lf = memchr(buf, '\n', len);
		size_t end;
		if (!lf) {
			if (len > lim->max_inline)
				return req_fail(err, errlen, "too big inline "
						"request");
			return RESP_NEED_MORE;
		}
		end = (size_t)(lf - buf);
		*used = end + 1;
		if (end > 0 && buf[end - 1] == '\r')
			end--;
		if (!req_inline(req, buf, end))
			return req_fail(err, errlen, "unbalanced quotes in "
					"request");
		return RESP_OK;
	}

	nl = resp_find_crlf(buf, 0, len);
	if (nl < 0) {
		if (len > lim->max_inline)
			return req_fail(err, errlen, "too big mbulk count "
					"string");
		return RESP_NEED_MORE;
	}
	if (!num_parse_ll(buf + 1, (size_t)nl - 1, &n) ||
	    n > (long long)lim->max_args)
		return req_fail(err, errlen, "invalid multibulk length");
	if (!authed && n > 10)
		return req_fail(err, errlen, "unauthenticated multibulk "
				"length");
	pos = (size_t)nl + 2;
	if (n <= 0) {
		*used = pos;
		return RESP_OK;
	}
	if (!req_room(req, (size_t)n))
		return req_fail(err, errlen, "out of memory");
	for (long long i = 0; i < n; i++) {
		if (pos >= len)
			return RESP_NEED_MORE;
		nl = resp_find_crlf(buf, pos, len);
		if (nl < 0) {
			if (len - pos > lim->max_inline)
				return req_fail(err, errlen, "too big bulk "
						"count string");
			return RESP_NEED_MORE;
		}
		if (buf[pos] != '$')
			return req_fail(err, errlen, "expected '$', got '%c'",
					buf[pos]);
		if (!num_parse_ll(buf + pos + 1, (size_t)nl - pos - 1, &bl) ||
		    bl < 0 || (uint64_t)bl > lim->max_bulk)
			return req_fail(err, errlen, "invalid bulk length");
		if (!authed && bl > 16384)
			return req_fail(err, errlen, "unauthenticated bulk "
					"length");
		pos = (size_t)nl + 2;
		if (len - pos < (size_t)bl + 2)
			return RESP_NEED_MORE;
		req->argv[i].p = buf + pos;
		req->argv[i].len = (size_t)bl;
		pos += (size_t)bl + 2;   /* the payload's CRLF is not checked,
					    as in Redis */
	}
	req->argc = (size_t)n;
	*used = pos;
	return RESP_OK;
}

/* resp_req_free -- free the arrays. */
void resp_req_free(struct resp_req *req)
{
	free(req->argv);
	free(req->inline_buf);
	memset(req, 0, sizeof(*req));
}

/* ---- writing ---- */

/* rbuf_append -- append bytes, growing by doubling. */
void rbuf_append(struct rbuf *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *q;
		while (cap < b->len + len)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q) {
			b->nomem = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	if (len)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

/* rbuf_free -- release the buffer. */
void rbuf_free(struct rbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* resp_line -- a type byte, a number and CRLF. */
static void resp_line(struct rbuf *b, char type, int64_t n)
{
	char tmp[NUM_LL_CHARS + 3];
	size_t k;

	tmp[0] = type;
	k = 1 + num_format_ll(tmp + 1, (long long)n);
	tmp[k++] = '\r';
	tmp[k++] = '\n';
	rbuf_append(b, tmp, k);
}

/* resp_simple -- a simple string; s must hold no CR or LF. */
void resp_simple(struct rbuf *b, const char *s)
{
	rbuf_append(b, "+", 1);
	rbuf_append(b, s, strlen(s));
	rbuf_append(b, "\r\n", 2);
}

/* resp_error -- an error line; CR and LF in s become spaces, as Redis
 * does, so the reply stays one line. */
void resp_error(struct rbuf *b, const char *s)
{
	size_t n = strlen(s);
	rbuf_append(b, "-", 1);
	for (size_t i = 0; i < n; i++) {
		char c = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
		rbuf_append(b, &c, 1);
	}
	rbuf_append(b, "\r\n", 2);
}

/* resp_int -- an integer reply. */
void resp_int(struct rbuf *b, int64_t n)
{
	resp_line(b, ':', n);
}

/* resp_bulk -- a bulk string, binary safe. */
void resp_bulk(struct rbuf *b, const void *p, size_t len)
{
	resp_line(b, '$', (int64_t)len);
	rbuf_append(b, p, len);
	rbuf_append(b, "\r\n", 2);
}

/* resp_null -- a missing value: RESP3's null, RESP2's nil bulk. */
void resp_null(struct rbuf *b, int proto)
{
	if (proto >= 3)
		rbuf_append(b, "_\r\n", 3);
	else
		rbuf_append(b, "$-1\r\n", 5);
}

/* resp_null_array -- a missing array: RESP3's null, RESP2's nil array. */
void resp_null_array(struct rbuf *b, int proto)
{
	if (proto >= 3)
		rbuf_append(b, "_\r\n", 3);
	else
		rbuf_append(b, "*-1\r\n", 5);
}

/* resp_array -- the header of an array of n values. */
void resp_array(struct rbuf *b, int64_t n)
{
	resp_line(b, '*', n);
}

/* resp_map -- the header of n pairs: a RESP3 map, a flat RESP2 array. */
void resp_map(struct rbuf *b, int proto, int64_t n)
{
	if (proto >= 3)
		resp_line(b, '%', n);
	else
		resp_line(b, '*', 2 * n);
}

/* resp_set -- the header of a set of n values (an array in RESP2). */
void resp_set(struct rbuf *b, int proto, int64_t n)
{
	resp_line(b, proto >= 3 ? '~' : '*', n);
}

/* resp_push -- the header of an out-of-band push of n values (RESP3), an
 * array in RESP2. */
void resp_push(struct rbuf *b, int proto, int64_t n)
{
	resp_line(b, proto >= 3 ? '>' : '*', n);
}

/* resp_format_double -- as Redis prints doubles. */
int resp_format_double(char *buf, size_t len, double d)
{
	if (isinf(d))
		return snprintf(buf, len, "%s", d > 0 ? "inf" : "-inf");
	return snprintf(buf, len, "%.17g", d);
}

/* resp_double -- a RESP3 double, or its text as a RESP2 bulk string. */
void resp_double(struct rbuf *b, int proto, double d)
{
	char tmp[64];
	int k = resp_format_double(tmp, sizeof(tmp), d);

	if (proto >= 3) {
		rbuf_append(b, ",", 1);
		rbuf_append(b, tmp, (size_t)k);
		rbuf_append(b, "\r\n", 2);
	} else {
		resp_bulk(b, tmp, (size_t)k);
	}
}

/* resp_bool -- a RESP3 boolean, or 1/0 in RESP2. */
void resp_bool(struct rbuf *b, int proto, bool v)
{
	if (proto >= 3)
		rbuf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
	else
		resp_int(b, v);
}

/* resp_verbatim -- RESP3 verbatim string with a 3-letter format. */
void resp_verbatim(struct rbuf *b, int proto, const char *fmt3,
		   const void *p, size_t len)
{
	if (proto < 3) {
		resp_bulk(b, p, len);
		return;
	}
	resp_line(b, '=', (int64_t)len + 4);
	rbuf_append(b, fmt3, 3);
	rbuf_append(b, ":", 1);
	rbuf_append(b, p, len);
	rbuf_append(b, "\r\n", 2);
}

/* resp_command -- "*argc", then "$len" and the bytes of each. */
void resp_command(struct rbuf *b, size_t argc, const struct resp_arg *argv)
{
	resp_array(b, (int64_t)argc);
	for (size_t i = 0; i < argc; i++)
		resp_bulk(b, argv[i].p, argv[i].len);
}

/* ---- reading values ---- */

#define RD_MAX_DEPTH 1024

/* resp_reader_defaults -- hiredis-like limits, Redis's sizes. */
void resp_reader_defaults(struct resp_reader_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_depth = 32;
	lim->max_bulk = 512ull << 20;
	lim->max_elements = 1u << 20;
	lim->max_line = 64u << 10;
}

/* resp_reader_init -- empty, with its stack of open aggregates. */
int resp_reader_init(struct resp_reader *r,
		     const struct resp_reader_limits *lim)
{
	memset(r, 0, sizeof(*r));
	if (lim)
		r->lim = *lim;
	else
		resp_reader_defaults(&r->lim);
	if (r->lim.max_depth == 0)
		r->lim.max_depth = 1;
	if (r->lim.max_depth > RD_MAX_DEPTH)
		r->lim.max_depth = RD_MAX_DEPTH;
	r->left = calloc(r->lim.max_depth, sizeof(*r->left));
	return r->left ? 0 : -ENOMEM;
}

/* resp_reader_free -- the buffers and the stack. */
void resp_reader_free(struct resp_reader *r)
{
	free(r->buf);
	free(r->nodes);
	free(r->offs);
	free(r->left);
	memset(r, 0, sizeof(*r));
}

/* rd_release -- forget the value handed out: its bytes are consumed. */
static void rd_release(struct resp_reader *r)
{
	if (!r->returned)
		return;
	r->returned = false;
	r->start = r->pos;
	r->nnodes = 0;
}

/*
 * rd_room -- room for min more bytes at buf[end]: first drop what was
 * consumed (the value being read keeps its offsets, which count from
 * start), then grow by doubling.
 */
static int rd_room(struct resp_reader *r, size_t min)
{
	rd_release(r);
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->pos -= r->start;
		if (r->scan)
			r->scan -= r->start;
		r->base += r->start;
		r->start = 0;
	}
	if (r->cap - r->end < min) {
		size_t cap = r->cap ? r->cap : 4096;
		char *b;

		while (cap - r->end < min) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		if (!(b = realloc(r->buf, cap)))
			return -ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	return 0;
}

/* resp_reader_feed -- copy input in. */
int resp_reader_feed(struct resp_reader *r, const void *p, size_t len)
{
	int err = rd_room(r, len);

	if (err)
		return err;
	if (len)
		memcpy(r->buf + r->end, p, len);
	r->end += len;
	return 0;
}

/* resp_reader_space -- room to read into. */
void *resp_reader_space(struct resp_reader *r, size_t min, size_t *avail)
{
	if (rd_room(r, min ? min : 1))
		return NULL;
	*avail = r->cap - r->end;
	return r->buf + r->end;
}

/* resp_reader_wrote -- account for bytes read into the space. */
void resp_reader_wrote(struct resp_reader *r, size_t n)
{
	r->end += n;
}

/* resp_reader_want -- the known shortfall of the value being read. */
size_t resp_reader_want(const struct resp_reader *r)
{
	return r->want;
}

/* resp_reader_pending -- bytes after the last value handed out. */
size_t resp_reader_pending(const struct resp_reader *r)
{
	return r->end - (r->returned ? r->pos : r->start);
}

/* rd_fail -- record a protocol error at buf[at]; -EPROTO, sticky. */
static int rd_fail(struct resp_reader *r, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int rd_fail(struct resp_reader *r, size_t at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->err_at = r->base + at;
	r->failed = -EPROTO;
	return -EPROTO;
}

/*
 * rd_line -- find the end of the line whose type byte is at pos: *eol
 * gets the offset of its CR.  Returns 1 found, 0 not yet (the search
 * resumes where it stopped), or -EPROTO: longer than max_line, a lone LF,
 * or a CR not followed by LF.  Lines carry no CR or LF of their own.
 */
static int rd_line(struct resp_reader *r, size_t *eol)
{
	size_t from = r->scan ? r->scan : r->pos + 1;
	size_t stop = r->end, room = r->lim.max_line + 1;
	const char *cr, *lf;

	if (stop - r->pos > room + 1)
		stop = r->pos + room + 1;
	cr = from < stop ? memchr(r->buf + from, '\r', stop - from) : NULL;
	/* Only the bytes not searched before: the search resumes. */
	lf = from < stop ? memchr(r->buf + from, '\n',
				  (cr ? (size_t)(cr - r->buf) : stop) - from)
			 : NULL;
	if (lf)
		return rd_fail(r, (size_t)(lf - r->buf), "LF without CR "
			       "ending a line");
	if (!cr) {
		if (stop - r->pos > room)
			return rd_fail(r, r->pos, "line longer than %zu bytes",
				       r->lim.max_line);
		r->scan = stop;
		return 0;
	}
	*eol = (size_t)(cr - r->buf);
	if (*eol + 1 >= r->end) {
		r->scan = *eol;
		return 0;
	}
	if (r->buf[*eol + 1] != '\n')
		return rd_fail(r, *eol, "CR not followed by LF");
	return 1;
}

/* rd_node -- append a node for the value at pos; NULL on no memory. */
static struct resp_node *rd_node(struct resp_reader *r, int type)
{
	struct resp_node *n;

	if (r->nnodes == r->nodecap) {
		size_t cap = r->nodecap ? 2 * r->nodecap : 16;
		struct resp_node *nn = realloc(r->nodes, cap * sizeof(*nn));
		size_t *no;

		if (!nn)
			return NULL;
		r->nodes = nn;
		if (!(no = realloc(r->offs, cap * sizeof(*no))))
			return NULL;
		r->offs = no;
		r->nodecap = cap;
	}
	n = &r->nodes[r->nnodes];
	memset(n, 0, sizeof(*n));
	n->type = type;
	r->offs[r->nnodes] = 0;
	r->nnodes++;
	return n;
}

/* rd_string -- the node's bytes are buf[at..at+len). */
static void rd_string(struct resp_reader *r, struct resp_node *n, size_t at,
		      size_t len)
{
	r->offs[n - r->nodes] = at - r->start;
	n->len = len;
}

/* rd_double -- RESP3's double syntax: inf, -inf, nan, or a decimal
 * that strtod reads whole (no blanks, no hex, no "infinity"). */
static bool rd_double(const char *s, size_t len, double *d)
{
	char tmp[512];
	char *end;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (!strcmp(tmp, "inf")) {
		*d = INFINITY;
		return true;
	}
	if (!strcmp(tmp, "-inf")) {
		*d = -INFINITY;
		return true;
	}
	if (!strcmp(tmp, "nan") || !strcmp(tmp, "-nan")) {
		*d = NAN;
		return true;
	}
	if (strspn(tmp, "0123456789+-.eE") != len)
		return false;
	*d = strtod(tmp, &end);
	return end == tmp + len;
}

/* rd_bignum -- an optional '-', then at least one digit. */
static bool rd_bignum(const char *s, size_t len)
{
	size_t i = len > 0 && s[0] == '-';

	return i < len && strspn(s + i, "0123456789") >= len - i;
}

/* rd_done -- one more value of the innermost open aggregate is read;
 * close those it completes.  True when the whole reply is read. */
static bool rd_done(struct resp_reader *r)
{
	while (r->depth > 0) {
		if (--r->left[r->depth - 1] > 0)
			return false;
		r->depth--;
	}
	return true;
}

/*
 * rd_skip_blank -- in a command stream, between commands: blank lines
 * and empty arrays are consumed, as Redis consumes them.  Returns 1 if
 * something was skipped, 0 if not, -1 if a CR's LF has not come yet.
 */
static int rd_skip_blank(struct resp_reader *r)
{
	const char *b = r->buf + r->pos;

	if (b[0] == '\n') {
		r->pos += 1;
	} else if (b[0] == '\r') {
		if (r->pos + 1 >= r->end)
			return -1;
		if (b[1] != '\n')
			return 0;
		r->pos += 2;
	} else {
		return 0;
	}
	r->start = r->pos;
	r->consumed = r->base + r->pos;
	return 1;
}

/*
 * rd_one -- read the value whose type byte is at pos.  Returns 1 when it
 * is read (an aggregate: its header), 0 when more input is needed (pos
 * stays on it), or a negative error.
 */
static int rd_one(struct resp_reader *r)
{
	const struct resp_reader_limits *lim = &r->lim;
	unsigned char t = (unsigned char)r->buf[r->pos];
	size_t at = r->pos, eol = 0, body, len;
	struct resp_node *n;
	long long v = 0;
	int got;

	if (lim->commands && r->depth == 0 && t != '*')
		return rd_fail(r, at, "expected '*', got (not a RESP "
			       "multibulk) 0x%02x", t);
	if (lim->commands && r->depth > 0 && t != '$')
		return rd_fail(r, at, "expected '$', got 0x%02x", t);
	if (!strchr("+-:$*_,#(!=%~|>", t) || t == '\0')
		return rd_fail(r, at, "unknown type byte 0x%02x", t);
	if ((got = rd_line(r, &eol)) <= 0)
		return got;
	body = at + 1;
	len = eol - body;
	if (strchr(":$*!=%~|>", t) && !num_parse_ll(r->buf + body, len, &v))
		return rd_fail(r, at, t == '*' ? "invalid multibulk length" :
			       t == '$' ? "invalid bulk length" :
			       t == ':' ? "invalid integer" :
			       "invalid length");
	switch (t) {
	case '$': case '!': case '=':
		if (v == -1 && t == '$' && !lim->commands)
			break;                        /* RESP2's nil */
		if (v < 0 || (uint64_t)v > lim->max_bulk)
			return rd_fail(r, at, "invalid bulk length");
		if (t == '=' && v < 4)
			return rd_fail(r, at, "invalid verbatim length");
		if (r->end - (eol + 2) < (size_t)v + 2) {
			r->want = (size_t)v + 2 - (r->end - (eol + 2));
			r->scan = eol;
			return 0;
		}
		if (r->buf[eol + 2 + v] != '\r' ||
		    r->buf[eol + 2 + v + 1] != '\n')
			return rd_fail(r, eol + 2 + (size_t)v, "bulk string not "
				       "followed by CRLF");
		if (t == '=' && r->buf[eol + 2 + 3] != ':')
			return rd_fail(r, at, "invalid verbatim format");
		break;
	case '*': case '%': case '~': case '|': case '>':
		if (v == -1 && t == '*' && !lim->commands)
			break;                        /* RESP2's nil */
		if (lim->commands && v <= 0)
			break;                        /* an empty command */
		if (v < 0)
			return rd_fail(r, at, t == '*' ? "invalid multibulk "
				       "length" : "invalid length");
		if ((t == '%' || t == '|') && v > LLONG_MAX / 2)
			return rd_fail(r, at, "too many elements");
		if (t == '%' || t == '|')
			v *= 2;                       /* keys and values */
		if ((uint64_t)v > lim->max_elements)
			return rd_fail(r, at, lim->commands ? "too many "
				       "arguments" : "too many elements");
		if (v > 0 && r->depth >= lim->max_depth)
			return rd_fail(r, at, "nested deeper than %u",
				       lim->max_depth);
		break;
	case '#':
		if (len != 1 || (r->buf[body] != 't' && r->buf[body] != 'f'))
			return rd_fail(r, at, "invalid boolean");
		v = r->buf[body] == 't';
		break;
	case '_':
		if (len != 0)
			return rd_fail(r, at, "invalid null");
		break;
	case '(':
		if (!rd_bignum(r->buf + body, len))
			return rd_fail(r, at, "invalid big number");
		break;
	default:
		break;
	}

	/* Well formed: record it. */
	r->want = 0;
	r->scan = 0;
	if (lim->commands && t == '*' && v <= 0) {
		r->pos = eol + 2;                     /* an empty command */
		r->start = r->pos;
		r->consumed = r->base + r->pos;
		return 1;
	}
	if ((t == '$' || t == '*') && v == -1) {
		if (!rd_node(r, RESP_NULL))
			return -ENOMEM;
		r->pos = eol + 2;
		return 1;
	}
	if (!(n = rd_node(r, t)))
		return -ENOMEM;
	switch (t) {
	case '$': case '!': case '=':
		rd_string(r, n, eol + 2, (size_t)v);
		r->pos = eol + 2 + (size_t)v + 2;
		return 1;
	case '*': case '%': case '~': case '|': case '>':
		n->n = v;
		if (v > 0)
			r->left[r->depth++] = (uint64_t)v + 1; /* rd_done
						counts the header too */
		break;
	case ',':
		if (!rd_double(r->buf + body, len, &n->d))
			return rd_fail(r, at, "invalid double");
		rd_string(r, n, body, len);
		break;
	case ':': case '#':
		n->n = v;
		break;
	default:                              /* + - ( */
		rd_string(r, n, body, len);
		break;
	}
	r->pos = eol + 2;
	return 1;
}

/* resp_reader_next -- parse on from where the input stopped last. */
int resp_reader_next(struct resp_reader *r, const struct resp_node **v,
		     size_t *n)
{
	int got;

	if (r->failed)
		return r->failed;
	rd_release(r);
	for (;;) {
		if (r->pos >= r->end)
			return 0;
		if (r->lim.commands && r->nnodes == 0) {
			got = rd_skip_blank(r);
			if (got < 0)
				return 0;
			if (got > 0)
				continue;
		}
		got = rd_one(r);
		if (got <= 0)
			return got;
		if (r->nnodes == 0)
			continue;                     /* skipped */
		if (rd_done(r))
			break;
	}
	for (size_t i = 0; i < r->nnodes; i++)
		if (strchr("+-$,(!=", r->nodes[i].type))
			r->nodes[i].p = r->buf + r->start + r->offs[i];
	r->returned = true;
	r->consumed = r->base + r->pos;
	*v = r->nodes;
	*n = r->nnodes;
	return 1;
}
