/*
 * keys.c -- the subcommands on single keys and key listings: get, set,
 * del, incr, ttl, scan, with the semantics of the Redis commands of the
 * same names.
 *
 * Reads (get, ttl, scan) go through a private image (access.h), so they
 * never write the pool, not even to remove a key that has expired; writes
 * (set, del, incr) open it with pkv_open and are durable when the tool exits 0.
 * Keys and values are byte strings: a key is an argument (any bytes but
 * NUL), a value an argument or, with -x, all of standard input; get
 * --raw writes a value's exact bytes.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "cmds.h"
#include "proto/glob.h"
#include "proto/num.h"
#include "json.h"
#include "util.h"

/* Options the key subcommands share, and their operands. */
struct keyopts {
	const char *cmd;              /* for messages */
	unsigned dbi;                 /* --db */
	bool json;                    /* --json */
	const char *pos[3];           /* POOL, KEY, VALUE */
	unsigned npos, maxpos;
	char **rest;                  /* del: every key after POOL */
	int nrest;
};

/* What keys_opt made of an argument. */
enum keys_arg {
	KEYS_TAKEN,                   /* a shared option or an operand */
	KEYS_USAGE,                   /* a usage error, already reported */
};

/*
 * keys_opt -- take argv[*i] if it is --db N, --json, "--" (after which
 * everything is an operand) or an operand; anything else is a usage
 * error (subcommands look for their own options first).
 */
static enum keys_arg keys_opt(struct keyopts *k, int argc, char **argv,
			      int *i, bool *only_operands)
{
	const char *a = argv[*i], *v;
	int m;

	if (!*only_operands && strcmp(a, "--") == 0) {
		*only_operands = true;
		return KEYS_TAKEN;
	}
	if (!*only_operands && cli_is_option(a)) {
		if ((m = cli_optval(argc, argv, i, "--db", "-n", k->cmd,
				    &v)) != 0) {
			if (m < 0 || cli_parse_db(k->cmd, v, &k->dbi) != 0)
				return KEYS_USAGE;
			return KEYS_TAKEN;
		}
		if (strcmp(a, "--json") == 0) {
			k->json = true;
			return KEYS_TAKEN;
		}
		cli_usage_error("%s: unknown option '%s'", k->cmd, a);
		return KEYS_USAGE;
	}
	if (k->npos < k->maxpos) {
		k->pos[k->npos++] = a;
		return KEYS_TAKEN;
	}
	if (k->rest) {
		k->rest[k->nrest++] = argv[*i];
		return KEYS_TAKEN;
	}
	cli_usage_error("%s: unexpected argument '%s'", k->cmd, a);
	return KEYS_USAGE;
}

/* keys_ttl_ms -- milliseconds left until expire_ms (0 if past). */
static int64_t keys_ttl_ms(int64_t expire_ms)
{
	int64_t left = expire_ms - pkv_now_ms();

	return left < 0 ? 0 : left;
}

/* cmd_get -- "pkv get POOL KEY [--db N] [--json] [--raw]". */
int cmd_get(int argc, char **argv)
{
	struct keyopts k = { .cmd = "get", .maxpos = 2 };
	bool raw = false, operands = false;
	struct pkv_ref ref;
	struct access a;
	int rc, err;

	for (int i = 1; i < argc; i++) {
		if (!operands && strcmp(argv[i], "--raw") == 0) {
			raw = true;
			continue;
		}
		if (keys_opt(&k, argc, argv, &i, &operands) != KEYS_TAKEN)
			return EXIT_USAGE;
	}
	if (k.npos < 2)
		return cli_usage_error("get: usage: pkv get POOL KEY");
	if ((rc = access_open_cmd(&a, k.pos[0], false, ACCESS_ENGINE_TOO)))
		return rc;
	if ((rc = access_db_check(&a, k.dbi))) {
		access_close(&a);
		return rc;
	}
	err = pkv_get_ref(a.db, k.dbi, k.pos[1], strlen(k.pos[1]), &ref);
	if (err && err != PKV_ENOTFOUND) {
		rc = cli_fail("%s: %s", k.pos[0], pkv_errmsg(a.db));
		access_close(&a);
		return rc;
	}
	if (k.json) {
		printf("{\"db\": %u, ", k.dbi);
		json_bytes_field(stdout, "key", k.pos[1], strlen(k.pos[1]));
		printf(", \"found\": %s", err ? "false" : "true");
		if (!err) {
			fputs(", ", stdout);
			json_bytes_field(stdout, "value", ref.val, ref.vlen);
			printf(", \"expire_ms\": %" PRId64 ", \"ttl_ms\": %" PRId64,
			       ref.expire_ms, ref.expire_ms ?
			       keys_ttl_ms(ref.expire_ms) : -1);
		}
		printf("}\n");
	} else if (!err) {
		fwrite(ref.val, 1, ref.vlen, stdout);
		if (!raw)
			putchar('\n');
	}
	if (!err)
		pkv_ref_release(&ref);
	access_close(&a);
	if (fflush(stdout) != 0)
		return cli_fail("cannot write the value: %s", strerror(errno));
	return err ? EXIT_FAILURE : 0;
}

/* keys_read_stdin -- all of standard input into a new buffer. */
static int keys_read_stdin(char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		if (len == cap) {
			char *b = cap >= UINT32_MAX ? NULL : realloc(buf, 2 * cap);
			if (!b) {
				free(buf);
				return cap >= UINT32_MAX ? PKV_EINVAL : -ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;
			free(buf);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* cmd_set -- "pkv set POOL KEY VALUE|-x [--db N] [--ex S|--px MS|
 * --exat T|--pxat T|--keepttl] [--nx|--xx]". */
int cmd_set(int argc, char **argv)
{
	struct keyopts k = { .cmd = "set", .maxpos = 3 };
	const char *v, *exp_opt = NULL;
	bool from_stdin = false, operands = false;
	unsigned flags = 0;
	int64_t expire_ms = 0, n;
	struct access a;
	char *val = NULL;
	size_t vlen = 0;
	int rc, err, m;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		static const char *const exps[] = { "--ex", "--px", "--exat",
						    "--pxat" };
		bool done = false;

		if (operands) {
			/* past "--": operands only */
		} else if (strcmp(arg, "--nx") == 0) {
			flags |= PKV_NX;
			continue;
		} else if (strcmp(arg, "--xx") == 0) {
			flags |= PKV_XX;
			continue;
		} else if (strcmp(arg, "--keepttl") == 0) {
			flags |= PKV_KEEPTTL;
			continue;
		} else if (strcmp(arg, "-x") == 0 ||
			   strcmp(arg, "--stdin") == 0) {
			from_stdin = true;
			continue;
		}
		for (unsigned e = 0; e < 4 && !operands && !done; e++) {
			m = cli_optval(argc, argv, &i, exps[e], NULL, "set", &v);
			if (m < 0)
				return EXIT_USAGE;
			if (m == 0)
				continue;
			if (exp_opt)
				return cli_usage_error("set: %s and %s cannot "
						       "be combined", exp_opt,
						       exps[e]);
			exp_opt = exps[e];
			if (cli_parse_i64(v, &n) != 0 || n <= 0)
				return cli_usage_error("set: invalid expire "
						       "time '%s' for %s", v,
						       exps[e]);
			if (e == 0 || e == 2) {      /* seconds */
				if (n > INT64_MAX / 1000 / 2)
					return cli_usage_error("set: expire "
						"time '%s' is out of range", v);
				n *= 1000;
			}
			if (e < 2) {                  /* relative */
				if (n > INT64_MAX / 2)
					return cli_usage_error("set: expire "
						"time '%s' is out of range", v);
				n += pkv_now_ms();
			}
			expire_ms = n;
			done = true;
		}
		if (done)
			continue;
		if (keys_opt(&k, argc, argv, &i, &operands) != KEYS_TAKEN)
			return EXIT_USAGE;
	}
	if ((flags & PKV_NX) && (flags & PKV_XX))
		return cli_usage_error("set: --nx and --xx cannot be combined");
	if ((flags & PKV_KEEPTTL) && exp_opt)
		return cli_usage_error("set: --keepttl and %s cannot be "
				       "combined", exp_opt);
	if (k.npos < 2 || (k.npos < 3 && !from_stdin) ||
	    (k.npos == 3 && from_stdin))
		return cli_usage_error("set: usage: pkv set POOL KEY VALUE, or "
				       "pkv set POOL KEY -x < FILE");

	if (from_stdin) {
		if ((err = keys_read_stdin(&val, &vlen)))
			return cli_fail("set: cannot read the value from "
					"standard input: %s", pkv_strerror(err));
	} else {
		vlen = strlen(k.pos[2]);
	}
	if ((rc = access_open_cmd(&a, k.pos[0], true, 0)) != 0)
		goto out;
	if ((rc = access_db_check(&a, k.dbi)) != 0)
		goto out_close;
	err = pkv_put(a.db, k.dbi, k.pos[1], strlen(k.pos[1]),
		      from_stdin ? val : k.pos[2], vlen, flags, expire_ms);
	if (err == PKV_EEXIST || err == PKV_ENOTFOUND) {
		rc = cli_fail("%s: not set: the key %s (%s)", k.pos[1],
			      err == PKV_EEXIST ? "exists" : "does not exist",
			      err == PKV_EEXIST ? "--nx" : "--xx");
	} else if (err) {
		rc = cli_fail("%s: %s", k.pos[0], pkv_errmsg(a.db));
	} else {
		printf("OK\n");
		rc = 0;
	}
out_close:
	access_close(&a);
out:
	free(val);
	return rc;
}

/* cmd_del -- "pkv del POOL KEY... [--db N]": prints how many went. */
int cmd_del(int argc, char **argv)
{
	struct keyopts k = { .cmd = "del", .maxpos = 1 };
	bool operands = false;
	uint64_t deleted = 0;
	struct access a;
	int rc, err;

	k.rest = calloc((size_t)argc, sizeof(*k.rest));
	if (!k.rest)
		return cli_fail("out of memory");
	for (int i = 1; i < argc; i++) {
		if (keys_opt(&k, argc, argv, &i, &operands) != KEYS_TAKEN) {
			free(k.rest);
			return EXIT_USAGE;
		}
	}
	if (k.npos < 1 || k.nrest < 1) {
		free(k.rest);
		return cli_usage_error("del: usage: pkv del POOL KEY...");
	}
	if ((rc = access_open_cmd(&a, k.pos[0], true, 0)) != 0)
		goto out;
	if ((rc = access_db_check(&a, k.dbi)) != 0)
		goto out_close;
	for (int i = 0; i < k.nrest; i++) {
		err = pkv_del(a.db, k.dbi, k.rest[i], strlen(k.rest[i]));
		if (err == 0) {
			deleted++;
		} else if (err != PKV_ENOTFOUND) {
			rc = cli_fail("%s: %s", k.pos[0], pkv_errmsg(a.db));
			goto out_close;
		}
	}
	printf("%" PRIu64 "\n", deleted);
out_close:
	access_close(&a);
out:
	free(k.rest);
	return rc;
}

/* cmd_incr -- "pkv incr POOL KEY [DELTA] [--db N]": Redis's INCRBY (1 by
 * default; a negative DELTA after "--"), durably; prints the new value. */
int cmd_incr(int argc, char **argv)
{
	struct keyopts k = { .cmd = "incr", .maxpos = 3 };
	bool operands = false;
	long long delta = 1;
	int64_t v = 0;
	struct access a;
	int rc, err;

	for (int i = 1; i < argc; i++)
		if (keys_opt(&k, argc, argv, &i, &operands) != KEYS_TAKEN)
			return EXIT_USAGE;
	if (k.npos < 2)
		return cli_usage_error("incr: usage: pkv incr POOL KEY [DELTA]");
	if (k.npos == 3 &&
	    !num_parse_ll(k.pos[2], strlen(k.pos[2]), &delta))
		return cli_usage_error("incr: '%s' is not an integer",
				       k.pos[2]);
	if ((rc = access_open_cmd(&a, k.pos[0], true, 0)) != 0)
		return rc;
	if ((rc = access_db_check(&a, k.dbi)) != 0) {
		access_close(&a);
		return rc;
	}
	err = pkv_incr(a.db, k.dbi, k.pos[1], strlen(k.pos[1]), delta, &v);
	if (err)
		rc = cli_fail("%s: %s", k.pos[0], err == PKV_ENOTINT ||
			      err == PKV_EOVERFLOW || err == PKV_EWRONGTYPE ?
			      pkv_strerror(err) : pkv_errmsg(a.db));
	else
		printf("%" PRId64 "\n", v);
	access_close(&a);
	return rc;
}

/* cmd_ttl -- "pkv ttl POOL KEY [--db N] [--ms] [--json]": Redis's TTL
 * (PTTL with --ms): -2 no such key, -1 no expiry. */
int cmd_ttl(int argc, char **argv)
{
	struct keyopts k = { .cmd = "ttl", .maxpos = 2 };
	bool ms = false, operands = false;
	int64_t expire_ms = 0, ttl_ms, ttl;
	struct access a;
	int rc, err;

	for (int i = 1; i < argc; i++) {
		if (!operands && strcmp(argv[i], "--ms") == 0) {
			ms = true;
			continue;
		}
		if (keys_opt(&k, argc, argv, &i, &operands) != KEYS_TAKEN)
			return EXIT_USAGE;
	}
	if (k.npos < 2)
		return cli_usage_error("ttl: usage: pkv ttl POOL KEY");
	if ((rc = access_open_cmd(&a, k.pos[0], false, ACCESS_ENGINE_TOO)))
		return rc;
	if ((rc = access_db_check(&a, k.dbi))) {
		access_close(&a);
		return rc;
	}
	err = pkv_ttl(a.db, k.dbi, k.pos[1], strlen(k.pos[1]), &expire_ms);
	if (err && err != PKV_ENOTFOUND) {
		rc = cli_fail("%s: %s", k.pos[0], pkv_errmsg(a.db));
		access_close(&a);
		return rc;
	}
	access_close(&a);
	if (err)
		ttl_ms = ttl = -2;
	else if (expire_ms == 0)
		ttl_ms = ttl = -1;
	else {
		ttl_ms = keys_ttl_ms(expire_ms);
		ttl = (ttl_ms + 500) / 1000;     /* as Redis rounds */
	}
	if (k.json) {
		printf("{\"db\": %u, ", k.dbi);
		json_bytes_field(stdout, "key", k.pos[1], strlen(k.pos[1]));
		printf(", \"ttl\": %" PRId64 ", \"ttl_ms\": %" PRId64
		       ", \"expire_ms\": %" PRId64 "}\n", ttl, ttl_ms,
		       err ? 0 : expire_ms);
	} else {
		printf("%" PRId64 "\n", ms ? ttl_ms : ttl);
	}
	return 0;
}

/* What a scan prints. */
struct scan_out {
	FILE *f;                      /* where keys go */
	const char *match;            /* --match, or NULL */
	size_t match_len;
	bool json;
	uint64_t n;                   /* keys printed */
};

/* scan_key -- print one key if it matches (inside a read section). */
static int scan_key(void *ctx, const struct pkv_item *it)
{
	const void *key = it->key, *val = it->val;
	size_t klen = it->klen, vlen = it->vlen;
	int64_t expire_ms = it->expire_ms;
	struct scan_out *o = ctx;

	(void)val;
	(void)vlen;
	if (o->match && !glob_match(o->match, o->match_len, key, klen, 0))
		return 0;
	if (o->json) {
		fputs(o->n ? ",\n    {" : "\n    {", o->f);
		json_bytes_field(o->f, "key", key, klen);
		fprintf(o->f, ", \"expire_ms\": %" PRId64 "}", expire_ms);
	} else {
		fwrite(key, 1, klen, o->f);
		fputc('\n', o->f);
	}
	o->n++;
	return 0;
}

/* cmd_scan -- "pkv scan POOL [--db N] [--match GLOB] [--count N]
 * [--cursor C] [--json]": every key, or with --cursor one SCAN step. */
int cmd_scan(int argc, char **argv)
{
	struct keyopts k = { .cmd = "scan", .maxpos = 1 };
	struct scan_out o = { 0 };
	const char *v, *cursor_arg = NULL;
	bool operands = false;
	uint64_t count = 100, cursor = 0, next = 0;
	struct access a;
	char *held = NULL;
	size_t held_len = 0;
	int rc = 0, err, m;

	for (int i = 1; i < argc; i++) {
		if (!operands) {
			if ((m = cli_optval(argc, argv, &i, "--match", NULL,
					    "scan", &v)) != 0) {
				if (m < 0)
					return EXIT_USAGE;
				/* "*" is no pattern, as in Redis's SCAN (the
				 * matcher would pass over an empty key) */
				o.match = strcmp(v, "*") ? v : NULL;
				o.match_len = strlen(v);
				continue;
			}
			if ((m = cli_optval(argc, argv, &i, "--count", NULL,
					    "scan", &v)) != 0) {
				if (m < 0)
					return EXIT_USAGE;
				if (cli_parse_u64(v, &count) || count == 0 ||
				    count > UINT32_MAX)
					return cli_usage_error("scan: invalid "
							       "--count '%s'", v);
				continue;
			}
			if ((m = cli_optval(argc, argv, &i, "--cursor", NULL,
					    "scan", &v)) != 0) {
				if (m < 0)
					return EXIT_USAGE;
				if (cli_parse_u64(v, &cursor))
					return cli_usage_error("scan: invalid "
							       "--cursor '%s'", v);
				cursor_arg = v;
				continue;
			}
		}
		if (keys_opt(&k, argc, argv, &i, &operands) != KEYS_TAKEN)
			return EXIT_USAGE;
	}
	if (k.npos < 1)
		return cli_usage_error("scan: missing POOL argument");
	o.json = k.json;
	o.f = stdout;
	if (cursor_arg && !o.json) {
		/* One step prints its next cursor first, as SCAN replies:
		 * the keys wait in memory until it is known. */
		o.f = open_memstream(&held, &held_len);
		if (!o.f)
			return cli_fail("out of memory");
	}
	if ((rc = access_open_cmd(&a, k.pos[0], false, ACCESS_ENGINE_TOO)))
		goto out;
	if ((rc = access_db_check(&a, k.dbi))) {
		access_close(&a);
		goto out;
	}
	if (o.json)
		printf("{\"db\": %u, \"keys\": [", k.dbi);
	do {
		err = pkv_scan(a.db, k.dbi, cursor, (unsigned)count, scan_key,
			       &o, &next);
		if (err) {
			rc = cli_fail("%s: %s", k.pos[0], pkv_errmsg(a.db));
			break;
		}
		cursor = next;
	} while (next != 0 && !cursor_arg);
	access_close(&a);
	if (rc)
		goto out;
	if (o.json) {
		printf("%s]", o.n ? "\n  " : "");
		if (cursor_arg)
			printf(", \"cursor\": %" PRIu64, next);
		printf(", \"count\": %" PRIu64 "}\n", o.n);
	} else if (cursor_arg) {
		fclose(o.f);
		o.f = NULL;
		printf("%" PRIu64 "\n", next);
		fwrite(held, 1, held_len, stdout);
	}
out:
	if (o.f && o.f != stdout)
		fclose(o.f);
	free(held);
	if (rc)
		return rc;
	if (fflush(stdout) != 0)
		return cli_fail("cannot write the keys: %s", strerror(errno));
	return 0;
}
