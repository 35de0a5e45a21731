/*
 * resp.c -- request parsing and reply encoding (see resp.h).
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

/* ---- numbers ---- */

/*
 * resp_strtoll -- Redis's strict string2ll: an optional '-', then digits
 * with no leading zero (except "0"), nothing else, no overflow.
 */
bool resp_strtoll(const char *s, size_t len, long long *out)
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
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (~0ull - (unsigned)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*out = (long long)(0 - v);
	} else {
		if (v > (unsigned long long)LLONG_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
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

/* hexval -- value of a hex digit. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (tolower((unsigned char)c) - 'a') + 10;
}

/*
 * parse_inline -- split one inline line as redis-cli and Redis do
 * (sdssplitargs): blanks separate arguments; "..." takes \n \r \t \b \a
 * \xHH and \c escapes; '...' takes \' only; a closing quote must be
 * followed by a blank or the end.  Unquoted text is copied too, so every
 * argument lives in req->inline_buf.  Returns false on unbalanced quotes.
 */
static bool parse_inline(struct resp_req *req, const char *line, size_t n)
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
					out[o++] = (char)(hexval(line[i + 2]) * 16 +
							  hexval(line[i + 3]));
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

/* find_crlf -- offset of the "\r\n" in buf[from..len), or -1. */
static long find_crlf(const char *buf, size_t from, size_t len)
{
	const char *p = from < len ? memchr(buf + from, '\r', len - from) : NULL;

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
			if (len > lim->max_inline) {
				snprintf(err, errlen, "Protocol error: too big "
					 "inline request");
				return RESP_ERROR;
			}
			return RESP_NEED_MORE;
		}
		end = (size_t)(lf - buf);
		*used = end + 1;
		if (end > 0 && buf[end - 1] == '\r')
			end--;
		if (!parse_inline(req, buf, end)) {
			snprintf(err, errlen, "Protocol error: unbalanced "
				 "quotes in request");
			return RESP_ERROR;
		}
		return RESP_OK;
	}

	nl = find_crlf(buf, 0, len);
	if (nl < 0) {
		if (len > lim->max_inline) {
			snprintf(err, errlen, "Protocol error: too big mbulk "
				 "count string");
			return RESP_ERROR;
		}
		return RESP_NEED_MORE;
	}
	if (!resp_strtoll(buf + 1, (size_t)nl - 1, &n) ||
	    n > (long long)lim->max_args) {
		snprintf(err, errlen, "Protocol error: invalid multibulk "
			 "length");
		return RESP_ERROR;
	}
	if (!authed && n > 10) {
		snprintf(err, errlen, "Protocol error: unauthenticated "
			 "multibulk length");
		return RESP_ERROR;
	}
	pos = (size_t)nl + 2;
	if (n <= 0) {
		*used = pos;
		return RESP_OK;
	}
	if (!req_room(req, (size_t)n)) {
		snprintf(err, errlen, "Protocol error: out of memory");
		return RESP_ERROR;
	}
	for (long long i = 0; i < n; i++) {
		if (pos >= len)
			return RESP_NEED_MORE;
		nl = find_crlf(buf, pos, len);
		if (nl < 0) {
			if (len - pos > lim->max_inline) {
				snprintf(err, errlen, "Protocol error: too big "
					 "bulk count string");
				return RESP_ERROR;
			}
			return RESP_NEED_MORE;
		}
		if (buf[pos] != '$') {
			snprintf(err, errlen, "Protocol error: expected '$', "
				 "got '%c'", buf[pos]);
			return RESP_ERROR;
		}
		if (!resp_strtoll(buf + pos + 1, (size_t)nl - pos - 1, &bl) ||
		    bl < 0 || (uint64_t)bl > lim->max_bulk) {
			snprintf(err, errlen, "Protocol error: invalid bulk "
				 "length");
			return RESP_ERROR;
		}
		if (!authed && bl > 16384) {
			snprintf(err, errlen, "Protocol error: unauthenticated "
				 "bulk length");
			return RESP_ERROR;
		}
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

/* ---- replies ---- */

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
	char tmp[32];
	int k = snprintf(tmp, sizeof(tmp), "%c%lld\r\n", type, (long long)n);
	rbuf_append(b, tmp, (size_t)k);
}

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

void resp_int(struct rbuf *b, int64_t n)
{
	resp_line(b, ':', n);
}

void resp_bulk(struct rbuf *b, const void *p, size_t len)
{
	resp_line(b, '$', (int64_t)len);
	rbuf_append(b, p, len);
	rbuf_append(b, "\r\n", 2);
}

void resp_null(struct rbuf *b, int proto)
{
	if (proto >= 3)
		rbuf_append(b, "_\r\n", 3);
	else
		rbuf_append(b, "$-1\r\n", 5);
}

void resp_null_array(struct rbuf *b, int proto)
{
	if (proto >= 3)
		rbuf_append(b, "_\r\n", 3);
	else
		rbuf_append(b, "*-1\r\n", 5);
}

void resp_array(struct rbuf *b, int64_t n)
{
	resp_line(b, '*', n);
}

void resp_map(struct rbuf *b, int proto, int64_t n)
{
	if (proto >= 3)
		resp_line(b, '%', n);
	else
		resp_line(b, '*', 2 * n);
}

void resp_set(struct rbuf *b, int proto, int64_t n)
{
	resp_line(b, proto >= 3 ? '~' : '*', n);
}

/* resp_format_double -- as Redis prints doubles. */
int resp_format_double(char *buf, size_t len, double d)
{
	if (isinf(d))
		return snprintf(buf, len, "%s", d > 0 ? "inf" : "-inf");
	return snprintf(buf, len, "%.17g", d);
}

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
