/*
 * import.c -- "pkv import POOL [--db N] < STREAM": apply a stream of
 * Redis commands (RESP multibulk, as `pkv export` writes and `redis-cli
 * --pipe` sends) to a pool, replying nothing and reporting counts on
 * stderr.
 *
 * Commands: SELECT; SET with EX/PX/EXAT/PXAT/KEEPTTL, NX/XX (and GET,
 * whose reply is not sent); SETEX, PSETEX, MSET; DEL, UNLINK; EXPIRE,
 * PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT, PERSIST; FLUSHDB,
 * FLUSHALL; PING, ECHO, MULTI and EXEC are accepted and ignored.  The
 * options and times of SET and the EXPIRE family are read by the
 * server's own parser (proto/setopt.h), so a command is taken or refused
 * here as pkv-server and Redis 7.0 take or refuse it, with their error
 * texts.  The stream is read by the protocol library's value reader in
 * its command-stream mode (proto/resp.h): strict, and resumable wherever
 * a read() stops.  A command that is unknown or
 * malformed is reported (the first ten), counted, and skipped, as Redis
 * answers it with an error and goes on; a protocol error stops the import
 * after what came before it has been applied, since the stream cannot be
 * resynchronized.  A SELECT of a database the pool does not have stops it
 * too: going on would put keys in the wrong database.
 *
 * Speed: writes are grouped into atomic batches (pkv_batch_*) of at most
 * IMPORT_BATCH operations, one durable commit each instead of one per
 * key.  A batch applies its operations in order, each seeing the ones
 * before it, so the result is that of running the commands one by one.
 * A batch that does not fit the pool as a whole (PKV_EFULL) is split in
 * halves and retried, so a full pool stops the import at the exact
 * command that does not fit.  Relative expiry times are turned into
 * absolute ones when the command is read.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access.h"
#include "cmds.h"
#include "progress.h"
#include "proto/num.h"
#include "proto/resp.h"
#include "proto/setopt.h"
#include "util.h"

#define IMPORT_BATCH 100              /* operations per batch (< 250) */
#define IMPORT_ARENA_MAX (16u << 20)  /* key and value bytes per batch */
#define IMPORT_SHOW_ERRORS 10
#define IMPORT_RESIZE_STEPS 4096      /* of kv_help_resize, per database */
#define IMPORT_READ (1u << 20)        /* bytes asked of read() at least */

enum import_kind { IMPORT_PUT, IMPORT_DEL, IMPORT_EXPIRE, IMPORT_HSET,
		   IMPORT_PUSH, IMPORT_SADD, IMPORT_ZADD };

/* One operation waiting for its batch; key and value in the arena. */
struct import_op {
	enum import_kind kind;
	unsigned dbi;
	unsigned flags;               /* PKV_NX, PKV_XX, PKV_KEEPTTL;
					 IMPORT_PUSH: PKV_TAIL */
	int64_t expire_ms;
	double score;                 /* IMPORT_ZADD */
	size_t koff, klen, voff, vlen;
	size_t foff, flen;            /* IMPORT_HSET: the field */
	uint64_t cmd;                 /* the command's number in the stream */
};

struct import {
	struct access a;
	const char *path;
	unsigned dbi, ndbs;           /* SELECTed; the pool's count */
	double score_next;            /* the score of the next IMPORT_ZADD */
	struct import_op ops[IMPORT_BATCH];
	size_t nops;
	char *arena;
	size_t arena_len, arena_cap;
	int results[IMPORT_BATCH];
	bool fatal;                   /* stop reading */
	bool broken;                  /* a commit failed: commit no more */
	bool flushed;                 /* a flush left garbage behind */
	/* what the stream did */
	uint64_t commands, sets, set_skipped, deleted, del_missing;
	uint64_t expires, expire_missing, flushes, ignored, errors, batches;
	uint64_t fields;              /* hash fields set */
	uint64_t elements;            /* list elements pushed */
	uint64_t members;             /* set members added */
	uint64_t zmembers;            /* sorted set members added */
	uint64_t cmd_no;              /* of the command being handled */
	uint64_t failed_cmd;          /* whose operation could not be done */
	const char *cmd_name;
	size_t cmd_name_len;
};

/* import_error -- report a problem with the current command. */
static void import_error(struct import *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void import_error(struct import *x, const char *fmt, ...)
{
	va_list ap;

	if (x->errors++ >= IMPORT_SHOW_ERRORS)
		return;
	fprintf(stderr, "%s: import: command %" PRIu64 " (%.*s): ",
		cli_progname, x->cmd_no,
		(int)(x->cmd_name_len > 32 ? 32 : x->cmd_name_len), x->cmd_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (x->errors == IMPORT_SHOW_ERRORS)
		fprintf(stderr, "%s: import: (further errors are counted, "
			"not shown)\n", cli_progname);
}

/* import_is -- whether argument a is the word w (case-insensitive). */
static bool import_is(const struct resp_arg *a, const char *w)
{
	size_t n = strlen(w);

	return a->len == n && strncasecmp(a->p, w, n) == 0;
}

/* import_count -- account for an operation's outcome. */
static void import_count(struct import *x, const struct import_op *op,
			 int res)
{
	switch (op->kind) {
	case IMPORT_PUT:
		if (res == 0)
			x->sets++;
		else
			x->set_skipped++;     /* NX or XX not met */
		break;
	case IMPORT_DEL:
		if (res == 0)
			x->deleted++;
		else
			x->del_missing++;
		break;
	case IMPORT_EXPIRE:
		if (res == 0)
			x->expires++;
		else
			x->expire_missing++;
		break;
	case IMPORT_HSET:
		if (res == 0 || res == PKV_EEXIST)
			x->fields++;
		else
			import_error(x, "command %" PRIu64 ": WRONGTYPE: the key "
				     "holds another type than hash", op->cmd);
		break;
	case IMPORT_ZADD:
		if (res == 0 || res == PKV_EEXIST)
			x->zmembers++;
		else
			import_error(x, "command %" PRIu64 ": WRONGTYPE: the key "
				     "holds another type than sorted set",
				     op->cmd);
		break;
	case IMPORT_SADD:
		if (res == 0 || res == PKV_EEXIST)
			x->members++;
		else
			import_error(x, "command %" PRIu64 ": WRONGTYPE: the key "
				     "holds another type than set", op->cmd);
		break;
	case IMPORT_PUSH:
		if (res == 0)
			x->elements++;
		else
			import_error(x, "command %" PRIu64 ": WRONGTYPE: the key "
				     "holds another type than list", op->cmd);
		break;
	}
}

/*
 * import_commit_range -- commit ops[from, from+n) as one batch.  A batch
 * the redo log cannot hold, or that does not fit the pool as a whole, is
 * split in halves and retried, in order, so a full pool stops the import
 * exactly at the first operation that does not fit.  Returns 0 or the
 * error that stopped it, with x->failed_cmd set.
 */
static int import_commit_range(struct import *x, size_t from, size_t n)
{
	pkv_batch *b;
	int err;

	if (n == 0)
		return 0;
	if ((err = pkv_batch_begin(x->a.db, &b)))
		return err;
	for (size_t i = from; i < from + n; i++) {
		const struct import_op *op = &x->ops[i];
		const char *k = x->arena + op->koff;

		switch (op->kind) {
		case IMPORT_PUT:
			pkv_batch_put(b, op->dbi, k, op->klen,
				      x->arena + op->voff, op->vlen,
				      op->flags, op->expire_ms);
			break;
		case IMPORT_DEL:
			pkv_batch_del(b, op->dbi, k, op->klen);
			break;
		case IMPORT_EXPIRE:
			pkv_batch_expire(b, op->dbi, k, op->klen,
					 op->expire_ms);
			break;
		case IMPORT_HSET:
			pkv_batch_hset(b, op->dbi, k, op->klen,
				       x->arena + op->foff, op->flen,
				       x->arena + op->voff, op->vlen, 0);
			break;
		case IMPORT_SADD:
			pkv_batch_sadd(b, op->dbi, k, op->klen,
				       x->arena + op->voff, op->vlen);
			break;
		case IMPORT_ZADD: {
			double sc = op->score;
			pkv_batch_zadd(b, op->dbi, k, op->klen,
				       x->arena + op->voff, op->vlen, &sc, 0);
			break;
		}
		case IMPORT_PUSH:
			pkv_batch_lpush(b, op->dbi, k, op->klen,
					x->arena + op->voff, op->vlen,
					op->flags, NULL);
			break;
		}
	}
	/* A failed add is remembered by the batch and returned here. */
	err = pkv_batch_commit(b, x->results + from);
	if (err == PKV_EFULL && n > 1) {
		size_t half = n / 2;
		if ((err = import_commit_range(x, from, half)))
			return err;
		return import_commit_range(x, from + half, n - half);
	}
	if (err) {
		x->failed_cmd = x->ops[from].cmd;
		return err;
	}
	x->batches++;
	for (size_t i = from; i < from + n; i++)
		import_count(x, &x->ops[i], x->results[i]);
	return 0;
}

/* import_flush -- commit the waiting operations; on failure the import
 * stops (the pool has what was committed before). */
static int import_flush(struct import *x)
{
	int err = import_commit_range(x, 0, x->nops);

	if (err) {
		cli_fail("%s: import stopped at command %" PRIu64 ": %s; the "
			 "pool holds every command before it", x->path,
			 x->failed_cmd, pkv_errmsg(x->a.db)[0] ?
			 pkv_errmsg(x->a.db) : pkv_strerror(err));
		x->fatal = x->broken = true;
		x->errors++;
	}
	x->nops = 0;
	x->arena_len = 0;
	return err;
}

/* import_save -- copy bytes into the arena; their offset in *offp. */
static int import_save(struct import *x, const struct resp_arg *a,
		       size_t *offp)
{
	if (x->arena_cap - x->arena_len < a->len) {
		size_t cap = x->arena_cap ? x->arena_cap : 1 << 16;
		char *p;
		while (cap - x->arena_len < a->len)
			cap *= 2;
		if (!(p = realloc(x->arena, cap)))
			return -ENOMEM;
		x->arena = p;
		x->arena_cap = cap;
	}
	memcpy(x->arena + x->arena_len, a->p, a->len);
	*offp = x->arena_len;
	x->arena_len += a->len;
	return 0;
}

/* import_queue_field -- add an operation (key, the field of an HSET,
 * and the value of a put or HSET). */
static void import_queue_field(struct import *x, enum import_kind kind,
			       const struct resp_arg *key,
			       const struct resp_arg *field,
			       const struct resp_arg *val, unsigned flags,
			       int64_t expire_ms)
{
	struct import_op *op;
	static const struct resp_arg none = { "", 0 };

	if (x->nops == IMPORT_BATCH ||
	    (x->nops > 0 && x->arena_len + key->len + (val ? val->len : 0) +
	     (field ? field->len : 0) > IMPORT_ARENA_MAX))
		if (import_flush(x))
			return;
	if (key->len > UINT32_MAX || (val && val->len > UINT32_MAX) ||
	    (field && field->len > UINT32_MAX)) {
		import_error(x, "key or value longer than 4 GiB - 1");
		return;
	}
	op = &x->ops[x->nops];
	op->cmd = x->cmd_no;
	op->kind = kind;
	op->dbi = x->dbi;
	op->flags = flags;
	op->expire_ms = expire_ms;
	op->score = x->score_next;
	op->klen = key->len;
	op->vlen = val ? val->len : 0;
	op->flen = field ? field->len : 0;
	if (import_save(x, key, &op->koff) ||
	    import_save(x, val ? val : &none, &op->voff) ||
	    import_save(x, field ? field : &none, &op->foff)) {
		cli_fail("out of memory");
		x->fatal = true;
		return;
	}
	x->nops++;
}

/* import_zadd -- ZADD key score member [score member ...] (no options:
 * what pkv export writes). */
static void import_zadd(struct import *x, size_t argc,
			const struct resp_arg *argv)
{
	if (argc < 4 || argc % 2) {
		import_error(x, "wrong number of arguments (ZADD options are "
			     "not read)");
		return;
	}
	for (size_t i = 2; i + 1 < argc && !x->fatal; i += 2) {
		char buf[64], *end;
		double sc;
		if (argv[i].len == 0 || argv[i].len >= sizeof(buf)) {
			import_error(x, "a score that is not a float");
			return;
		}
		memcpy(buf, argv[i].p, argv[i].len);
		buf[argv[i].len] = '\0';
		sc = strtod(buf, &end);
		if (end != buf + argv[i].len || isnan(sc)) {
			import_error(x, "a score that is not a float");
			return;
		}
		x->score_next = sc;
		import_queue_field(x, IMPORT_ZADD, &argv[1], NULL, &argv[i + 1],
				   0, 0);
	}
}

/* import_queue -- add an operation (key, and value for a put). */
static void import_queue(struct import *x, enum import_kind kind,
			 const struct resp_arg *key, const struct resp_arg *val,
			 unsigned flags, int64_t expire_ms)
{
	import_queue_field(x, kind, key, NULL, val, flags, expire_ms);
}

/* import_opt_error -- a command refused by the option parser: its
 * message is Redis's reply. */
static void import_opt_error(struct import *x, const char *msg)
{
	import_error(x, "%s", msg);
}

/* import_set -- SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT n|KEEPTTL],
 * read as the server reads it. */
static void import_set(struct import *x, size_t argc,
		       const struct resp_arg *argv)
{
	struct setopt o;
	unsigned flags = 0;
	int64_t expire_ms = 0;
	char err[128];

	if (argc < 3) {
		import_error(x, "ERR wrong number of arguments for 'set' "
			     "command");
		return;
	}
	if (setopt_set(SETOPT_FOR_SET, argc, argv, &o, err, sizeof(err)) ||
	    (o.expire && setopt_set_ms(o.expire, o.flags, pkv_now_ms(), "set",
				       &expire_ms, err, sizeof(err)))) {
		import_opt_error(x, err);
		return;
	}
	/* GET: the old value would be the reply, and none is sent.  A time
	 * already past is stored and gone at once, as in Redis (setopt
	 * never gives 0, which would mean "none"). */
	if (o.flags & SETOPT_NX)
		flags |= PKV_NX;
	if (o.flags & SETOPT_XX)
		flags |= PKV_XX;
	if (o.flags & SETOPT_KEEPTTL)
		flags |= PKV_KEEPTTL;
	import_queue(x, IMPORT_PUT, &argv[1], &argv[2], flags, expire_ms);
}

/* import_setex -- SETEX key seconds value, PSETEX key ms value. */
static void import_setex(struct import *x, size_t argc,
			 const struct resp_arg *argv, bool seconds)
{
	const char *name = seconds ? "setex" : "psetex";
	int64_t when;
	char err[128];

	if (argc != 4) {
		import_error(x, "ERR wrong number of arguments for '%s' "
			     "command", name);
		return;
	}
	if (setopt_set_ms(&argv[2], seconds ? SETOPT_EX : SETOPT_PX,
			  pkv_now_ms(), name, &when, err, sizeof(err))) {
		import_opt_error(x, err);
		return;
	}
	import_queue(x, IMPORT_PUT, &argv[1], &argv[3], 0, when);
}

/*
 * import_expire -- EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key n [NX|XX|GT|LT]
 * (name is the command's, lower case), or PERSIST key.  A condition is
 * decided on the key's expiry as the commands before it left it: those
 * are committed first, then the expiry read -- the tool is the pool's
 * only writer, so nothing changes in between.
 */
static void import_expire(struct import *x, size_t argc,
			  const struct resp_arg *argv, const char *name,
			  bool seconds, bool relative, bool persist)
{
	unsigned flags = 0;
	int64_t when = 0, cur = 0;
	char err[128];
	int rc;

	if (persist ? argc != 2 : argc < 3) {
		import_error(x, "ERR wrong number of arguments for '%s' "
			     "command", name);
		return;
	}
	if (!persist &&
	    (setopt_expire(argc, argv, &flags, err, sizeof(err)) ||
	     setopt_expire_when(&argv[2], seconds, relative ? pkv_now_ms() : 0,
				name, &when, err, sizeof(err)))) {
		import_opt_error(x, err);
		return;
	}
	if (flags) {
		if (import_flush(x))
			return;
		rc = pkv_ttl(x->a.db, x->dbi, argv[1].p, argv[1].len, &cur);
		if (rc && rc != PKV_ENOTFOUND) {
			import_error(x, "%s", pkv_errmsg(x->a.db));
			return;
		}
		if (rc == PKV_ENOTFOUND || !setopt_expire_allows(flags, cur,
								 when)) {
			x->expire_missing++;      /* Redis answers 0 */
			return;
		}
	}
	if (!persist && when < 1)
		when = 1;                         /* in the past: the key goes */
	import_queue(x, IMPORT_EXPIRE, &argv[1], NULL, 0, when);
}

/* import_flushdb -- FLUSHDB / FLUSHALL [ASYNC|SYNC]. */
static void import_flushdb(struct import *x, size_t argc,
			   const struct resp_arg *argv, bool all)
{
	int err;

	if (argc > 2 || (argc == 2 && !import_is(&argv[1], "ASYNC") &&
			 !import_is(&argv[1], "SYNC"))) {
		import_error(x, "syntax error");
		return;
	}
	if (import_flush(x))
		return;
	err = all ? pkv_flushall(x->a.db) : pkv_flushdb(x->a.db, x->dbi);
	if (err) {
		import_error(x, "%s", pkv_errmsg(x->a.db));
		return;
	}
	x->flushes++;
	x->flushed = true;
}

/* import_command -- one command of the stream. */
static void import_command(struct import *x, size_t argc,
			   const struct resp_arg *argv)
{
	const struct resp_arg *c = &argv[0];
	long long n;

	x->commands++;
	x->cmd_no = x->commands;
	x->cmd_name = c->p;
	x->cmd_name_len = c->len;
	if (import_is(c, "SET")) {
		import_set(x, argc, argv);
	} else if (import_is(c, "SELECT")) {
		if (argc != 2 || !num_parse_ll(argv[1].p, argv[1].len, &n) ||
		    n < 0) {
			import_error(x, "invalid database index");
			x->fatal = true;
		} else if ((uint64_t)n >= x->ndbs) {
			import_error(x, "database %lld does not exist "
				     "(the pool has %u); stopping, so that "
				     "no key goes to the wrong database", n,
				     x->ndbs);
			x->fatal = true;
		} else {
			x->dbi = (unsigned)n;
		}
	} else if (import_is(c, "SETEX") || import_is(c, "PSETEX")) {
		import_setex(x, argc, argv, import_is(c, "SETEX"));
	} else if (import_is(c, "MSET")) {
		if (argc < 3 || argc % 2 == 0)
			import_error(x, "wrong number of arguments");
		else
			for (size_t i = 1; i + 1 < argc && !x->fatal; i += 2)
				import_queue(x, IMPORT_PUT, &argv[i],
					     &argv[i + 1], 0, 0);
	} else if (import_is(c, "HSET") || import_is(c, "HMSET")) {
		if (argc < 4 || argc % 2 == 1)
			import_error(x, "wrong number of arguments");
		else
			for (size_t i = 2; i + 1 < argc && !x->fatal; i += 2)
				import_queue_field(x, IMPORT_HSET, &argv[1],
						   &argv[i], &argv[i + 1], 0,
						   0);
	} else if (import_is(c, "RPUSH") || import_is(c, "LPUSH")) {
		if (argc < 3)
			import_error(x, "wrong number of arguments");
		for (size_t i = 2; i < argc && !x->fatal; i++)
			import_queue(x, IMPORT_PUSH, &argv[1], &argv[i],
				     import_is(c, "RPUSH") ? PKV_TAIL : 0, 0);
	} else if (import_is(c, "ZADD")) {
		import_zadd(x, argc, argv);
	} else if (import_is(c, "SADD")) {
		if (argc < 3)
			import_error(x, "wrong number of arguments");
		for (size_t i = 2; i < argc && !x->fatal; i++)
			import_queue(x, IMPORT_SADD, &argv[1], &argv[i], 0, 0);
	} else if (import_is(c, "DEL") || import_is(c, "UNLINK")) {
		if (argc < 2)
			import_error(x, "wrong number of arguments");
		for (size_t i = 1; i < argc && !x->fatal; i++)
			import_queue(x, IMPORT_DEL, &argv[i], NULL, 0, 0);
	} else if (import_is(c, "PEXPIREAT")) {
		import_expire(x, argc, argv, "pexpireat", false, false, false);
	} else if (import_is(c, "EXPIREAT")) {
		import_expire(x, argc, argv, "expireat", true, false, false);
	} else if (import_is(c, "PEXPIRE")) {
		import_expire(x, argc, argv, "pexpire", false, true, false);
	} else if (import_is(c, "EXPIRE")) {
		import_expire(x, argc, argv, "expire", true, true, false);
	} else if (import_is(c, "PERSIST")) {
		import_expire(x, argc, argv, "persist", false, false, true);
	} else if (import_is(c, "FLUSHDB")) {
		import_flushdb(x, argc, argv, false);
	} else if (import_is(c, "FLUSHALL")) {
		import_flushdb(x, argc, argv, true);
	} else if (import_is(c, "PING") || import_is(c, "ECHO") ||
		   import_is(c, "MULTI") || import_is(c, "EXEC")) {
		x->ignored++;
	} else {
		import_error(x, "unknown or unsupported command");
	}
}

/*
 * import_finish_resizes -- without the library's maintenance thread
 * (access_write opens without threads), a resize the import started
 * advances only as later writes touch its stripes, and may be left half
 * done with long chains in the old buckets; do the thread's share now,
 * so the pool is left with every table at its size.
 */
static void import_finish_resizes(struct import *x)
{
	for (unsigned d = 0; d < x->ndbs; d++)
		for (unsigned n = 0; n < IMPORT_RESIZE_STEPS &&
		     table_resizing(kv_table_of(x->a.db, d)); n++)
			kv_help_resize(x->a.db, d, true);
}

/* import_report -- the counts, on stderr. */
static void import_report(const struct import *x, uint64_t ns,
			  uint64_t bytes)
{
	char hb[32];

	fprintf(stderr, "%s: import: %" PRIu64 " commands (%s) in %.3f s, %"
		PRIu64 " batches: %" PRIu64 " keys set, %" PRIu64 " not set "
		"(NX/XX), %" PRIu64 " hash fields set, %" PRIu64 " list "
		"elements pushed, %" PRIu64 " set members added, %" PRIu64
		" sorted set members added, %" PRIu64 " deleted, %"
		PRIu64 " expiries set, %" PRIu64 " flushes, %" PRIu64
		" ignored, %" PRIu64 " errors\n",
		cli_progname, x->commands, cli_human_size(bytes, hb, sizeof(hb)),
		(double)ns / 1e9, x->batches, x->sets, x->set_skipped,
		x->fields, x->elements, x->members, x->zmembers, x->deleted, x->expires, x->flushes, x->ignored,
		x->errors);
}

/* The stream being read: the reader and its command's arguments. */
struct import_in {
	struct resp_reader r;
	int fd;
	uint64_t bytes_read;
	struct resp_arg *args;
	size_t argcap;
	char err[256];
};

/*
 * import_next -- the next command of the stream: 1 with its *argc
 * arguments in in->args (valid until the next call), 0 at the end of the
 * input between commands, -1 with in->err on a protocol error, a read
 * error, no memory, or input that ends inside a command.  cmd is the
 * number the command will have, for the messages.
 */
static int import_next(struct import_in *in, uint64_t cmd, size_t *argc)
{
	for (;;) {
		const struct resp_node *v;
		size_t n, avail, want;
		ssize_t got;
		char *room;
		int rc = resp_reader_next(&in->r, &v, &n);

		if (rc == 1) {
			if (n - 1 > in->argcap) {
				struct resp_arg *a = realloc(in->args,
							     n * sizeof(*a));
				if (!a)
					goto nomem;
				in->args = a;
				in->argcap = n;
			}
			for (size_t i = 1; i < n; i++) {
				in->args[i - 1].p = v[i].p;
				in->args[i - 1].len = v[i].len;
			}
			*argc = n - 1;
			return 1;
		}
		if (rc == -EPROTO) {
			snprintf(in->err, sizeof(in->err), "protocol error at "
				 "byte %" PRIu64 " (command %" PRIu64 "): %s",
				 in->r.err_at, cmd, in->r.err);
			return -1;
		}
		if (rc < 0)
			goto nomem;
		/* Room for the rest of a long value at once, not in steps. */
		want = resp_reader_want(&in->r);
		room = resp_reader_space(&in->r, want > IMPORT_READ ? want
						 : IMPORT_READ, &avail);
		if (!room)
			goto nomem;
		do
			got = read(in->fd, room, avail);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			snprintf(in->err, sizeof(in->err), "cannot read the "
				 "input: %s", strerror(errno));
			return -1;
		}
		if (got == 0) {
			if (resp_reader_pending(&in->r) == 0)
				return 0;
			snprintf(in->err, sizeof(in->err), "the input ends in "
				 "the middle of command %" PRIu64 " (byte %"
				 PRIu64 ")", cmd, in->r.consumed);
			return -1;
		}
		resp_reader_wrote(&in->r, (size_t)got);
		in->bytes_read += (uint64_t)got;
	}
nomem:
	snprintf(in->err, sizeof(in->err), "out of memory reading command %"
		 PRIu64, cmd);
	return -1;
}

/* cmd_import -- read the stream from stdin into the pool. */
int cmd_import(int argc, char **argv)
{
	const char *path = NULL, *v;
	unsigned dbi = 0;
	int m;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if ((m = cli_optval(argc, argv, &i, "--db", "-n", "import",
				    &v)) != 0) {
			if (m < 0 || cli_parse_db("import", v, &dbi) != 0)
				return EXIT_USAGE;
		} else if (cli_is_option(arg)) {
			return cli_usage_error("import: unknown option '%s'",
					       arg);
		} else if (path == NULL) {
			path = arg;
		} else {
			return cli_usage_error("import: unexpected argument "
					       "'%s'", arg);
		}
	}
	if (path == NULL)
		return cli_usage_error("import: missing POOL argument");
	return import_stream(path, STDIN_FILENO, dbi, 0);
}

/* import_stream -- see cmds.h. */
int import_stream(const char *path, int fd, unsigned dbi, unsigned how)
{
	struct import *x;
	struct import_in in = { .fd = fd };
	struct resp_reader_limits lim;
	struct progress prog;
	struct stat sb;
	uint64_t total = 0, t0;
	size_t n;
	int rc, got;

	if (!(x = calloc(1, sizeof(*x))))
		return cli_fail("out of memory");
	x->path = path;
	if ((rc = access_open_cmd(&x->a, path, true, how)) != 0) {
		free(x);
		return rc;
	}
	x->ndbs = pkv_databases(x->a.db);
	x->dbi = dbi;
	if ((rc = access_db_check(&x->a, dbi)) != 0)
		goto out;

	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		off_t at = lseek(fd, 0, SEEK_CUR);
		total = (uint64_t)sb.st_size - (at > 0 ? (uint64_t)at : 0);
	}
	/* Redis's limits: 512 MiB an argument, 1M arguments. */
	resp_reader_defaults(&lim);
	lim.commands = true;
	if (resp_reader_init(&in.r, &lim)) {
		rc = cli_fail("out of memory");
		goto out;
	}
	progress_begin(&prog, "importing", total, true, NULL);
	t0 = progress_now_ns();
	while (!x->fatal &&
	       (got = import_next(&in, x->commands + 1, &n)) != 0) {
		if (got < 0) {
			progress_end(&prog);
			cli_fail("%s: import: %s", path, in.err);
			x->errors++;
			x->fatal = true;
			break;
		}
		import_command(x, n, in.args);
		progress_update(&prog, in.bytes_read);
	}
	/* What came before a stop is applied, as Redis would have. */
	if (!x->broken)
		import_flush(x);
	if (!x->broken)
		import_finish_resizes(x);
	if (x->flushed && !x->broken) {
		/* The flushed tables are garbage now: take it back. */
		progress_end(&prog);
		progress_spin(&prog, "collecting garbage");
		if (pkv_gc(x->a.db) != 0)
			cli_fail("%s: collection after a flush failed: %s",
				 path, pkv_errmsg(x->a.db));
	}
	progress_end(&prog);
	import_report(x, progress_now_ns() - t0, in.r.consumed);
	resp_reader_free(&in.r);
	free(in.args);
	rc = x->errors ? EXIT_FAILURE : 0;
out:
	access_close(&x->a);
	free(x->arena);
	free(x);
	return rc;
}
