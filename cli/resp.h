/*
 * resp.h -- the Redis protocol as a stream of commands: writing commands
 * (pkv export) and reading them back from a file descriptor (pkv import).
 *
 * Commands are RESP multibulk arrays of bulk strings, the form redis-cli
 * --pipe sends and every Redis accepts:
 *
 *     *3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n
 *
 * Arguments are byte strings with lengths, so keys and values may hold
 * any bytes.  The reader is strict: every length is checked against a
 * limit before it is trusted (Redis's own: 512 MiB per argument, 1M
 * arguments, 64 KiB per length line), numbers are decimal digits only,
 * and every line ends in CRLF.  Empty lines between commands are
 * skipped, as Redis skips them.
 */
#ifndef PKV_CLI_RESP_H
#define PKV_CLI_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RESP_MAX_BULK (512ull << 20)
#define RESP_MAX_ARGS (1u << 20)
#define RESP_MAX_LINE (64u << 10)

/* One argument, inside the reader's buffer. */
struct resp_arg {
	const char *p;
	size_t len;
};

/* resp_write_cmd -- write one command of argc arguments to f. */
void resp_write_cmd(FILE *f, size_t argc, const struct resp_arg *argv);

struct resp_reader {
	int fd;
	char *buf;                    /* bytes read, not yet consumed: */
	size_t cap, start, end;       /* buf[start..end) */
	uint64_t consumed;            /* stream offset of buf[start] */
	uint64_t bytes_read;          /* from fd so far */
	uint64_t commands;            /* returned so far */
	struct resp_arg *argv;        /* the current command */
	size_t argcap;
	char err[256];                /* why resp_read returned -1 */
};

/* resp_reader_init -- read commands from fd (not closed at the end). */
void resp_reader_init(struct resp_reader *r, int fd);

/* resp_reader_free -- free the buffers. */
void resp_reader_free(struct resp_reader *r);

/*
 * resp_read -- the next command: returns 1 with *argc >= 1 arguments in
 * *argv (valid until the next call), 0 at the end of the input (between
 * commands), -1 on a protocol error, a read error or input that ends in
 * the middle of a command, with r->err saying which and where.
 */
int resp_read(struct resp_reader *r, size_t *argc, struct resp_arg **argv);

#endif /* PKV_CLI_RESP_H */
