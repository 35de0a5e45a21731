/*
 * pkv.c -- the pkv tool: create, inspect and check pool files.
 *
 * The tool is a thin layer over the heap (lib/heap.h) and the pool file
 * (lib/pool.h); it holds no state of its own.  Every subcommand opens the
 * pool the way the library does, so what the tool accepts or refuses is
 * exactly what libpkv accepts or refuses.  Note that opening a pool runs
 * redo recovery and marks the pool in use, so "info" and "check" write to
 * the pool file (as any library user would); "check" validates the header
 * with pread() first, so a file that is not a valid pool is never touched.
 *
 * Exit status: 0 on success, 1 when the operation failed (the pool is
 * refused, corrupt, or the system said no), 2 on a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pkv.h"
#include "layout.h"
#include "errmsg.h"
#include "persist.h"
#include "pool.h"
#include "redo.h"
#include "heap.h"

#define EXIT_USAGE 2

static const char *progname = "pkv";

/* usage_text -- print the synopsis of every subcommand to f. */
static void usage_text(FILE *f)
{
	fprintf(f,
		"Usage: %s COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  create POOL --size SIZE  create a new pool file of SIZE bytes\n"
		"                           (suffix K, M or G: e.g. 64M)\n"
		"  info POOL [--json]       show the pool's geometry, state and\n"
		"                           heap utilization\n"
		"  check POOL               validate the header, recover and\n"
		"                           check the heap's consistency\n"
		"\n"
		"Options:\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n"
		"\n"
		"Environment: PMEM_IS_PMEM_FORCE=1 treats any file (e.g. on /dev/shm)\n"
		"as persistent memory; PKV_PERSIST=pmem|file|memory forces a backend.\n",
		progname);
}

/* usage_error -- report a usage mistake and return the usage exit code. */
static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", progname);
	return EXIT_USAGE;
}

/*
 * fail -- report a library failure: the detail message if the library
 * left one, else the generic text for the code.  Returns EXIT_FAILURE.
 */
static int fail(int err, const struct errmsg *em)
{
	if (em != NULL && em->text[0] != '\0')
		fprintf(stderr, "%s: %s\n", progname, em->text);
	else
		fprintf(stderr, "%s: %s\n", progname, pkv_strerror(err));
	return EXIT_FAILURE;
}

/*
 * fail_path -- report a failure about a file as "pkv: PATH: text", the
 * text being the detail message (which names the file itself when it comes
 * from the pool layer) or the generic text for the code.
 * Returns EXIT_FAILURE.
 */
static int fail_path(const char *path, int err, const struct errmsg *em)
{
	size_t n = strlen(path);

	if (em != NULL && em->text[0] != '\0') {
		if (strncmp(em->text, path, n) == 0 && em->text[n] == ':')
			return fail(err, em);
		fprintf(stderr, "%s: %s: %s\n", progname, path, em->text);
		return EXIT_FAILURE;
	}
	fprintf(stderr, "%s: %s: %s\n", progname, path, pkv_strerror(err));
	return EXIT_FAILURE;
}

/*
 * parse_size -- parse "NUMBER[K|M|G|T]" (binary units, case-insensitive,
 * an optional trailing "B" or "iB") into bytes.  Returns 0 or -1 when the
 * text is not a size or overflows 64 bits.
 */
static int parse_size(const char *s, uint64_t *out)
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

/* human_size -- format bytes as "N.N UNIT" into buf (binary units). */
static const char *human_size(uint64_t bytes, char *buf, size_t len)
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

/* uuid_text -- format a 16-byte UUID as 8-4-4-4-12 lower-case hex. */
static const char *uuid_text(const uint8_t uuid[16], char buf[37])
{
	char *p = buf;

	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", uuid[i]);
	}
	*p = '\0';
	return buf;
}

/* json_string -- print s as a JSON string literal, escaped, to f. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/*
 * open_heap -- open the pool at path and its heap (which runs recovery).
 * On failure reports the error and returns EXIT_FAILURE, else 0.
 */
static int open_heap(const char *path, struct heap **hp)
{
	struct errmsg em;
	struct pool *pool = NULL;
	int err;

	err_clear(&em);
	err = pool_open(path, NULL, &pool, &em);
	if (err != 0)
		return fail_path(path, err, &em);
	err_clear(&em);
	err = heap_open(pool, hp, &em);
	if (err != 0) {
		pool_release(pool);
		return fail_path(path, err, &em);
	}
	return 0;
}

/* cmd_create -- "pkv create POOL --size SIZE". */
static int cmd_create(int argc, char **argv)
{
	const char *path = NULL;
	const char *size_arg = NULL;
	struct errmsg em;
	struct pool *pool = NULL;
	struct heap *heap = NULL;
	uint64_t size;
	char hbuf[32];
	int err;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--size") == 0 || strcmp(a, "-s") == 0) {
			if (i + 1 >= argc)
				return usage_error("create: %s needs a value", a);
			size_arg = argv[++i];
		} else if (strncmp(a, "--size=", 7) == 0) {
			size_arg = a + 7;
		} else if (a[0] == '-' && a[1] != '\0') {
			return usage_error("create: unknown option '%s'", a);
		} else if (path == NULL) {
			path = a;
		} else {
			return usage_error("create: unexpected argument '%s'", a);
		}
	}
	if (path == NULL)
		return usage_error("create: missing POOL argument");
	if (size_arg == NULL)
		return usage_error("create: missing --size SIZE");
	if (parse_size(size_arg, &size) != 0)
		return usage_error("create: invalid size '%s' (examples: 8M, 64M, 1G)",
				   size_arg);

	err_clear(&em);
	err = pool_create(path, size, NULL, NULL, &pool, &em);
	if (err != 0)
		return fail_path(path, err, &em);
	err_clear(&em);
	err = heap_open(pool, &heap, &em);
	if (err != 0) {
		pool_release(pool);
		return fail_path(path, err, &em);
	}
	heap_close(heap);
	printf("%s: created pool of %" PRIu64 " bytes (%s)\n", path, size,
	       human_size(size, hbuf, sizeof(hbuf)));
	return 0;
}

/* info_text -- print the pool's figures for a human reader. */
static void info_text(const char *path, const struct pool *pool,
		      const struct redo_recovery_stats *rs,
		      const struct heap_stats *st)
{
	const struct pool_hdr *hdr = pool->hdr;
	char ubuf[37], hbuf[32], tbuf[64];
	time_t ct = (time_t)hdr->create_time;
	struct tm tm;

	if (gmtime_r(&ct, &tm) == NULL ||
	    strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(tbuf, sizeof(tbuf), "%" PRIu64, hdr->create_time);

	printf("path:            %s\n", path);
	printf("layout version:  %" PRIu32 "\n", hdr->layout_version);
	printf("uuid:            %s\n", uuid_text(hdr->uuid, ubuf));
	printf("created:         %s\n", tbuf);
	printf("pool size:       %" PRIu64 " (%s)\n", hdr->pool_size,
	       human_size(hdr->pool_size, hbuf, sizeof(hbuf)));
	printf("chunk size:      %" PRIu64 "\n", hdr->chunk_size);
	printf("chunks:          %" PRIu64 "\n", hdr->nchunks);
	printf("lanes:           %" PRIu32 "\n", hdr->nlanes);
	printf("log size:        %" PRIu32 "\n", hdr->log_size);
	printf("shutdown:        %s\n", pool->was_clean ? "clean" : "unclean");
	printf("backend:         %s\n",
	       persist_backend_name(pool->persist.backend));
	printf("recovery:        %" PRIu64 " valid logs, %" PRIu64
	       " replayed, %" PRIu64 " entries, %.3f ms\n",
	       rs->logs_valid, rs->logs_replayed, rs->entries_replayed,
	       (double)rs->nsec / 1e6);
	printf("heap:            %" PRIu64 " bytes, %" PRIu64 " chunks, %"
	       PRIu64 " free, %" PRIu64 " in huge spans\n",
	       st->heap_bytes, st->chunks_total, st->chunks_free,
	       st->chunks_huge);
	printf("allocated:       %" PRIu64 " bytes in %" PRIu64 " blocks\n",
	       st->allocated_bytes, st->allocated_blocks);
	printf("utilization:     %.2f%%\n", st->utilization * 100.0);

	unsigned shown = 0;
	for (unsigned i = 0; i < st->nclasses && i < HEAP_MAX_CLASSES; i++) {
		const struct heap_class_stats *c = &st->cls[i];

		if (c->runs == 0)
			continue;
		if (shown++ == 0)
			printf("size classes:\n"
			       "  %10s %6s %12s %13s %7s\n",
			       "block size", "runs", "blocks used",
			       "blocks total", "used");
		printf("  %10" PRIu32 " %6" PRIu32 " %12" PRIu64 " %13" PRIu64
		       " %6.1f%%\n", c->block_size, c->runs, c->blocks_used,
		       c->blocks_total,
		       c->blocks_total ? 100.0 * (double)c->blocks_used /
					 (double)c->blocks_total : 0.0);
	}
	if (shown == 0)
		printf("size classes:    none in use\n");
}

/* info_json -- print the pool's figures as one JSON object. */
static void info_json(const char *path, const struct pool *pool,
		      const struct redo_recovery_stats *rs,
		      const struct heap_stats *st)
{
	const struct pool_hdr *hdr = pool->hdr;
	char ubuf[37];

	printf("{\n  \"path\": ");
	json_string(stdout, path);
	printf(",\n  \"layout_version\": %" PRIu32 ",\n", hdr->layout_version);
	printf("  \"uuid\": \"%s\",\n", uuid_text(hdr->uuid, ubuf));
	printf("  \"create_time\": %" PRIu64 ",\n", hdr->create_time);
	printf("  \"pool_size\": %" PRIu64 ",\n", hdr->pool_size);
	printf("  \"chunk_size\": %" PRIu64 ",\n", hdr->chunk_size);
	printf("  \"chunks\": %" PRIu64 ",\n", hdr->nchunks);
	printf("  \"lanes\": %" PRIu32 ",\n", hdr->nlanes);
	printf("  \"log_size\": %" PRIu32 ",\n", hdr->log_size);
	printf("  \"clean_shutdown\": %s,\n", pool->was_clean ? "true" : "false");
	printf("  \"backend\": \"%s\",\n",
	       persist_backend_name(pool->persist.backend));
	printf("  \"recovery\": {\"logs_valid\": %" PRIu64
	       ", \"logs_replayed\": %" PRIu64 ", \"entries_replayed\": %"
	       PRIu64 ", \"nsec\": %" PRIu64 "},\n",
	       rs->logs_valid, rs->logs_replayed, rs->entries_replayed,
	       rs->nsec);
	printf("  \"heap_bytes\": %" PRIu64 ",\n", st->heap_bytes);
	printf("  \"chunks_free\": %" PRIu64 ",\n", st->chunks_free);
	printf("  \"chunks_huge\": %" PRIu64 ",\n", st->chunks_huge);
	printf("  \"allocated_bytes\": %" PRIu64 ",\n", st->allocated_bytes);
	printf("  \"allocated_blocks\": %" PRIu64 ",\n", st->allocated_blocks);
	printf("  \"utilization\": %.6f,\n", st->utilization);
	printf("  \"classes\": [");
	unsigned shown = 0;
	for (unsigned i = 0; i < st->nclasses && i < HEAP_MAX_CLASSES; i++) {
		const struct heap_class_stats *c = &st->cls[i];

		if (c->runs == 0)
			continue;
		printf("%s\n    {\"block_size\": %" PRIu32 ", \"runs\": %" PRIu32
		       ", \"blocks_total\": %" PRIu64 ", \"blocks_used\": %"
		       PRIu64 "}", shown++ ? "," : "", c->block_size, c->runs,
		       c->blocks_total, c->blocks_used);
	}
	printf("%s]\n}\n", shown ? "\n  " : "");
}

/* cmd_info -- "pkv info POOL [--json]". */
static int cmd_info(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false;
	struct heap *heap = NULL;
	struct heap_stats st;
	struct redo_recovery_stats rs;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0)
			json = true;
		else if (a[0] == '-' && a[1] != '\0')
			return usage_error("info: unknown option '%s'", a);
		else if (path == NULL)
			path = a;
		else
			return usage_error("info: unexpected argument '%s'", a);
	}
	if (path == NULL)
		return usage_error("info: missing POOL argument");

	rc = open_heap(path, &heap);
	if (rc != 0)
		return rc;
	memset(&st, 0, sizeof(st));
	heap_get_stats(heap, &st);
	memset(&rs, 0, sizeof(rs));
	const struct redo_recovery_stats *rsp = heap_recovery_stats(heap);
	if (rsp != NULL)
		rs = *rsp;
	if (json)
		info_json(path, heap_pool(heap), &rs, &st);
	else
		info_text(path, heap_pool(heap), &rs, &st);
	heap_close(heap);
	return 0;
}

/*
 * check_header -- read the file's header with pread() and validate it
 * without mapping or locking, so a damaged file is reported, not touched.
 */
static int check_header(const char *path)
{
	static char buf[POOL_HDR_SIZE];
	struct errmsg em;
	struct stat sb;
	size_t want, got = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_path(path, -errno, NULL);
	if (fstat(fd, &sb) != 0) {
		err = -errno;
		close(fd);
		return fail_path(path, err, NULL);
	}
	memset(buf, 0, sizeof(buf));
	want = (uint64_t)sb.st_size < sizeof(buf) ? (size_t)sb.st_size
						 : sizeof(buf);
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			close(fd);
			return fail_path(path, err, NULL);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);

	err_clear(&em);
	err = pool_check_header(buf, (uint64_t)got < want ? got
							  : (uint64_t)sb.st_size,
				path, &em);
	if (err != 0)
		return fail_path(path, err, &em);
	return 0;
}

/* cmd_check -- "pkv check POOL": header, then recovery and heap_check. */
static int cmd_check(int argc, char **argv)
{
	const char *path = NULL;
	struct heap *heap = NULL;
	struct errmsg em;
	int rc, err;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1] != '\0')
			return usage_error("check: unknown option '%s'", a);
		else if (path == NULL)
			path = a;
		else
			return usage_error("check: unexpected argument '%s'", a);
	}
	if (path == NULL)
		return usage_error("check: missing POOL argument");

	rc = check_header(path);
	if (rc != 0)
		return rc;
	rc = open_heap(path, &heap);
	if (rc != 0)
		return rc;
	if (!heap_pool(heap)->was_clean) {
		const struct redo_recovery_stats *rs = heap_recovery_stats(heap);

		printf("%s: was not shut down cleanly; recovery replayed %"
		       PRIu64 " of %" PRIu64 " valid logs\n", path,
		       rs ? rs->logs_replayed : 0, rs ? rs->logs_valid : 0);
	}
	err_clear(&em);
	err = heap_check(heap, &em);
	heap_close(heap);
	if (err != 0)
		return fail_path(path, err, &em);
	printf("%s: ok\n", path);
	return 0;
}

/* main -- dispatch on the subcommand. */
int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage_text(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage_text(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("pkv %s\n", pkv_version());
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage_text(stdout);
			return 0;
		}
	}
	if (strcmp(cmd, "create") == 0)
		return cmd_create(argc - 1, argv + 1);
	if (strcmp(cmd, "info") == 0)
		return cmd_info(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", cmd);
}
