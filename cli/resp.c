/*
 * resp.c -- writing and reading streams of RESP commands (resp.h).
 *
 * The reader keeps the unconsumed input in one buffer and parses a whole
 * command at its start; when the command is incomplete it reads more and
 * parses again.  Bulk payloads are skipped by length, so a parse costs
 * time in the number of arguments, not in their size; and once a bulk
 * length is known the buffer grows to hold the whole command at once, so
 * a large value is read with a few large reads, not copied again and
 * again.  Arguments point into the buffer (no copy).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resp.h"
#include "util.h"

#define RESP_READ_CHUNK (1u << 20)

/* resp_write_cmd -- "*argc", then "$len" and the bytes of each. */
void resp_write_cmd(FILE *f, size_t argc, const struct resp_arg *argv)
{
	fprintf(f, "*%zu\r\n", argc);
	for (size_t i = 0; i < argc; i++) {
		fprintf(f, "$%zu\r\n", argv[i].len);
		fwrite(argv[i].p, 1, argv[i].len, f);
		fputs("\r\n", f);
	}
}

/* resp_reader_init -- an empty reader over fd. */
void resp_reader_init(struct resp_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

/* resp_reader_free -- release the buffers. */
void resp_reader_free(struct resp_reader *r)
{
	free(r->buf);
	free(r->argv);
	memset(r, 0, sizeof(*r));
}

/* Outcomes of one parse attempt. */
enum resp_parse {
	RESP_PARSED,
	RESP_PARTIAL,                 /* need more bytes */
	RESP_SKIPPED,                 /* an empty line or array: consumed */
	RESP_BAD,
};

/* resp_error -- format r->err about stream offset off; RESP_BAD. */
static enum resp_parse resp_error(struct resp_reader *r, uint64_t off,
				  const char *what)
{
	snprintf(r->err, sizeof(r->err), "protocol error at byte %" PRIu64
		 " (command %" PRIu64 "): %s", off, r->commands + 1, what);
	return RESP_BAD;
}

/*
 * resp_line -- the length line starting at buf[*pos] with its type byte
 * `type`: its number in *num, *pos past its CRLF.  *need gets the bytes
 * (from start) needed when the line is incomplete.
 */
static enum resp_parse resp_line(struct resp_reader *r, size_t *pos,
				 char type, int64_t *num)
{
	const char *b = r->buf;
	size_t p = *pos, lim = r->end, eol;
	const char *cr;

	if (p >= r->end)
		return RESP_PARTIAL;
	if (b[p] != type) {
		char what[80];
		snprintf(what, sizeof(what), "expected '%c', got %s0x%02x",
			 type, type == '*' ? "(not a RESP multibulk) " : "",
			 (unsigned char)b[p]);
		return resp_error(r, r->consumed + (p - r->start), what);
	}
	if (lim - p > RESP_MAX_LINE)
		lim = p + RESP_MAX_LINE;
	cr = memchr(b + p, '\r', lim - p);
	if (cr == NULL) {
		if (lim - p >= RESP_MAX_LINE)
			return resp_error(r, r->consumed + (p - r->start),
					  "length line too long");
		return RESP_PARTIAL;
	}
	eol = (size_t)(cr - b);
	if (eol + 1 >= r->end)
		return RESP_PARTIAL;
	if (b[eol + 1] != '\n')
		return resp_error(r, r->consumed + (eol - r->start),
				  "CR not followed by LF");
	if (cli_parse_i64n(b + p + 1, eol - p - 1, num) != 0)
		return resp_error(r, r->consumed + (p - r->start),
				  type == '*' ? "invalid multibulk length"
					      : "invalid bulk length");
	*pos = eol + 2;
	return RESP_PARSED;
}

/* resp_argv_room -- room for n arguments. */
static int resp_argv_room(struct resp_reader *r, size_t n)
{
	if (n <= r->argcap)
		return 0;
	size_t cap = r->argcap ? r->argcap : 16;
	while (cap < n)
		cap *= 2;
	struct resp_arg *a = realloc(r->argv, cap * sizeof(*a));
	if (!a)
		return -1;
	r->argv = a;
	r->argcap = cap;
	return 0;
}

/*
 * resp_parse_one -- parse the command at buf[start..end).  On
 * RESP_PARTIAL, *need is the number of bytes from start the command
 * needs at least (0 if unknown yet).
 */
static enum resp_parse resp_parse_one(struct resp_reader *r, size_t *argc,
				      size_t *used, size_t *need)
{
	size_t pos = r->start;
	int64_t n, len;
	enum resp_parse st;

	*need = 0;
	/* Empty lines between commands, as Redis allows. */
	if (r->buf[pos] == '\n') {
		*used = 1;
		return RESP_SKIPPED;
	}
	if (r->buf[pos] == '\r') {
		if (pos + 1 >= r->end)
			return RESP_PARTIAL;
		if (r->buf[pos + 1] == '\n') {
			*used = 2;
			return RESP_SKIPPED;
		}
	}
	if ((st = resp_line(r, &pos, '*', &n)) != RESP_PARSED)
		return st;
	if (n <= 0) {
		*used = pos - r->start;
		return RESP_SKIPPED;
	}
	if ((uint64_t)n > RESP_MAX_ARGS)
		return resp_error(r, r->consumed, "too many arguments");
	if (resp_argv_room(r, (size_t)n) != 0)
		return resp_error(r, r->consumed, "out of memory");
	for (int64_t i = 0; i < n; i++) {
		size_t at = pos;
		if ((st = resp_line(r, &pos, '$', &len)) != RESP_PARSED)
			return st;
		if (len < 0 || (uint64_t)len > RESP_MAX_BULK)
			return resp_error(r, r->consumed + (at - r->start),
					  "invalid bulk length");
		if (r->end - pos < (size_t)len + 2) {
			*need = pos - r->start + (size_t)len + 2;
			return RESP_PARTIAL;
		}
		if (r->buf[pos + len] != '\r' || r->buf[pos + len + 1] != '\n')
			return resp_error(r, r->consumed + (pos + (size_t)len -
							    r->start),
					  "bulk string not followed by CRLF");
		r->argv[i].p = r->buf + pos;
		r->argv[i].len = (size_t)len;
		pos += (size_t)len + 2;
	}
	*argc = (size_t)n;
	*used = pos - r->start;
	return RESP_PARSED;
}

/* resp_fill -- make room for `need` bytes from start and read some;
 * returns bytes read, 0 at the end of input, -1 with r->err set. */
static ssize_t resp_fill(struct resp_reader *r, size_t need)
{
	ssize_t got;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (need < r->end + RESP_READ_CHUNK / 4)
		need = r->end + RESP_READ_CHUNK / 4;
	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : RESP_READ_CHUNK;
		char *b;
		while (cap < need)
			cap *= 2;
		b = realloc(r->buf, cap);
		if (!b) {
			snprintf(r->err, sizeof(r->err), "out of memory for a "
				 "command of %zu bytes", need);
			return -1;
		}
		r->buf = b;
		r->cap = cap;
	}
	do
		got = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		snprintf(r->err, sizeof(r->err), "cannot read the input: %s",
			 strerror(errno));
		return -1;
	}
	r->end += (size_t)got;
	r->bytes_read += (uint64_t)got;
	return got;
}

/* resp_read -- the next whole command. */
int resp_read(struct resp_reader *r, size_t *argc, struct resp_arg **argv)
{
	for (;;) {
		size_t used = 0, need = 0;
		enum resp_parse st = RESP_PARTIAL;
		ssize_t got;

		if (r->start < r->end)
			st = resp_parse_one(r, argc, &used, &need);
		switch (st) {
		case RESP_PARSED:
			r->start += used;
			r->consumed += used;
			r->commands++;
			*argv = r->argv;
			return 1;
		case RESP_SKIPPED:
			r->start += used;
			r->consumed += used;
			continue;
		case RESP_BAD:
			return -1;
		case RESP_PARTIAL:
			break;
		}
		got = resp_fill(r, need);
		if (got < 0)
			return -1;
		if (got == 0) {
			if (r->start == r->end)
				return 0;
			snprintf(r->err, sizeof(r->err), "the input ends in the "
				 "middle of command %" PRIu64 " (byte %" PRIu64
				 ")", r->commands + 1, r->consumed);
			return -1;
		}
	}
}
