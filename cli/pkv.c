/*
 * pkv.c -- the pkv tool: look into and repair pool files without writing
 * C, as mdb_stat/mdb_dump and pmempool do for LMDB and PMDK.
 *
 * This file only dispatches; each subcommand lives with its mechanism
 * (cmds.h has the map).  The tool is a thin layer over the library and
 * holds no state of its own.  Two rules run through it:
 *
 *   - what only reads never writes: info, check, get, ttl, scan and
 *     export look at a private copy-on-write image of the pool (access.h),
 *     so even recovery after a crash happens in memory only, and a pool
 *     damaged or not is left exactly as it was;
 *   - what writes goes through pkv_open, so the tool accepts and refuses
 *     exactly what the library does, and a pool held by a running server
 *     is refused (the library's lock).
 *
 * Exit status: util.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pkv.h"
#include "cmds.h"
#include "util.h"

/* usage_text -- the synopsis of every subcommand. */
static void usage_text(FILE *f)
{
	fprintf(f,
		"Usage: %s COMMAND POOL [ARGS]\n"
		"\n"
		"Pools:\n"
		"  create POOL --size SIZE [--max-size SIZE] [--databases N]\n"
		"                          create a key-value pool (SIZE: 64M, 1G...)\n"
		"                          that may grow to --max-size (SIZE)\n"
		"  grow POOL SIZE          grow the pool to SIZE (online safe)\n"
		"  compact POOL            rewrite the pool as small as its keys\n"
		"                          allow (crash safe: the old pool stays\n"
		"                          until the new one is complete)\n"
		"  info POOL [--json] [--no-gc]\n"
		"                          header, state, utilization, keys, garbage\n"
		"  check POOL [--json] [--repair]\n"
		"                          verify header, logs, allocator and keys\n"
		"                          without changing anything; --repair\n"
		"                          recovers and reclaims unreachable blocks\n"
		"  gc POOL [--json]        collect garbage now\n"
		"\n"
		"Keys (--db N selects a database, default 0):\n"
		"  get POOL KEY [--raw] [--json]\n"
		"  set POOL KEY VALUE|-x [--ex S|--px MS|--exat T|--pxat T|--keepttl]\n"
		"                        [--nx|--xx]    (-x: the value from stdin)\n"
		"  del POOL KEY...\n"
		"  incr POOL KEY [DELTA]                (INCRBY: prints the sum)\n"
		"  ttl POOL KEY [--ms] [--json]         (-2: no key, -1: no expiry)\n"
		"  scan POOL [--match GLOB] [--count N] [--cursor C] [--json]\n"
		"\n"
		"Redis streams:\n"
		"  export POOL [--db N] [-o FILE] [--salvage]\n"
		"                          keys as Redis commands (RESP), e.g.\n"
		"                          pkv export POOL | redis-cli --pipe;\n"
		"                          --salvage: the sound keys of a damaged pool\n"
		"  import POOL [--db N]    apply Redis commands read from stdin\n"
		"\n"
		"Options:\n"
		"  -h, --help              show this help and exit\n"
		"  -V, --version           show the version and exit\n"
		"\n"
		"Exit status: 0 success, 1 failure (or damage, or no such key),\n"
		"2 usage error, 3 check found only what --repair fixes.\n"
		"Environment: PKV_PERSIST=pmem|file forces a persistence backend;\n"
		"PMEM_IS_PMEM_FORCE=1 treats any file as persistent memory.\n",
		cli_progname);
}

/* The subcommands. */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "create", cmd_create },
	{ "grow", cmd_grow },
	{ "compact", cmd_compact },
	{ "info", cmd_info },
	{ "check", cmd_check },
	{ "gc", cmd_gc },
	{ "get", cmd_get },
	{ "set", cmd_set },
	{ "del", cmd_del },
	{ "incr", cmd_incr },
	{ "ttl", cmd_ttl },
	{ "scan", cmd_scan },
	{ "export", cmd_export },
	{ "import", cmd_import },
};

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
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage_text(stdout);
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	return cli_usage_error("unknown command '%s'", cmd);
}
