/*
 * util.h -- what every subcommand of the pkv tool shares: the exit codes,
 * error and usage reporting, and strict parsing of numbers, sizes and
 * options.
 *
 * Exit codes (pkv(1), EXIT STATUS):
 *   0  success (check: the pool is healthy)
 *   1  failure: the operation failed, the pool is refused or damaged,
 *      get found no key
 *   2  usage error
 *   3  check: the pool is consistent but holds problems that
 *      "pkv check --repair" fixes (unreachable blocks)
 */
#ifndef PKV_CLI_UTIL_H
#define PKV_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXIT_USAGE 2
#define EXIT_REPAIRABLE 3

/* The program's name in messages. */
extern const char cli_progname[];

/* cli_usage_error -- "pkv: <message>" and a hint; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* cli_fail -- "pkv: <message>" on stderr; returns EXIT_FAILURE. */
int cli_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * cli_fail_path -- report a failure about the file at path: its detail
 * (which names the file itself when it comes from the pool layer) or the
 * generic text of err, as "pkv: PATH: text".  A pool held by another
 * process gets the one message an operator needs.  Returns EXIT_FAILURE.
 */
int cli_fail_path(const char *path, int err, const char *detail);

/* cli_busy -- the message for a pool locked by another process. */
int cli_busy(const char *path);

/*
 * cli_parse_size -- "NUMBER[K|M|G|T]" in binary units (case-insensitive,
 * optionally followed by "B" or "iB"; a bare "B" means bytes) into bytes.
 * Returns 0, or -1 when the text is not a size or overflows 64 bits.
 */
int cli_parse_size(const char *s, uint64_t *out);

/* cli_parse_u64, cli_parse_i64 -- a whole decimal number, nothing else
 * (no spaces, no "+", no overflow).  Return 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_i64(const char *s, int64_t *out);

/* cli_parse_u64n, cli_parse_i64n -- the same over len bytes (not
 * NUL-terminated: protocol arguments). */
int cli_parse_u64n(const char *s, size_t len, uint64_t *out);
int cli_parse_i64n(const char *s, size_t len, int64_t *out);

/* cli_human_size -- bytes as "N B" or "N.N KiB/MiB/GiB/TiB" in buf. */
const char *cli_human_size(uint64_t bytes, char *buf, size_t len);

/*
 * cli_optval -- whether argv[*i] is the option `name` (or `shortname`,
 * which may be NULL) with a value, as "--name VALUE" or "--name=VALUE".
 * Returns 1 with *val set and *i on the value, 0 when it is something
 * else, -1 after reporting a missing value (a usage error for `cmd`).
 */
int cli_optval(int argc, char **argv, int *i, const char *name,
	       const char *shortname, const char *cmd, const char **val);

/* cli_parse_db -- a database number for --db (range checked later
 * against the pool).  Returns 0, or a usage error's exit code. */
int cli_parse_db(const char *cmd, const char *s, unsigned *dbi);

/* cli_is_option -- whether an argument looks like an option ("-x",
 * "--xx"; a lone "-" is an operand). */
static inline bool cli_is_option(const char *a)
{
	return a[0] == '-' && a[1] != '\0';
}

#endif /* PKV_CLI_UTIL_H */
