/*
 * export.c -- "pkv export POOL [--db N] [-o FILE] [--salvage]": every key
 * as Redis commands, the stream `redis-cli --pipe` sends and `pkv import` reads.
 *
 * For each database that has keys: SELECT n, then SET key value for each
 * string key, HSET key field value for each field of a hash key, RPUSH
 * key element for each element of a list, in order, SADD key member for
 * each member of a set, and ZADD key score member for each member of a
 * sorted set (one command per field, element or member, so no command
 * grows with the key), and, for a key
 * with an expiry, PEXPIREAT key ms (absolute, so the
 * time a stream waits before it is loaded does not stretch the expiry).
 * SET followed by PEXPIREAT works on every Redis since 2.6, where SET's
 * PXAT option needs 6.2.  A key that expires while the stream travels is
 * deleted by the PEXPIREAT, as it would have been at the source.
 *
 * The pool is read through a private image (access.h): the export is a
 * consistent snapshot, no writer can run meanwhile (the pool is locked
 * shared), and the file is not changed.  Keys already expired are not
 * exported.
 *
 * --salvage reads a damaged pool: the keys come from the checker's walk
 * (check.h), which verifies every pointer before following it, where the
 * library's scan trusts the pool and may crash on a damaged chain.  The
 * sound entries are written; damaged ones, and whatever a damaged
 * pointer cut off, are lost, and a summary says how many.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "check.h"
#include "cmds.h"
#include "progress.h"
#include "proto/resp.h"
#include "util.h"

#define EXPORT_SCAN_COUNT 1000
#define EXPORT_BUFFER (1u << 20)

struct export {
	FILE *f;
	struct rbuf out;              /* the command being written */
	struct progress prog;
	uint64_t keys, expiring, bytes;
};

/* export_cmd -- one command into the stream, encoded by resp_command.
 * 0, -ENOMEM, or -EIO if the stream has failed. */
static int export_cmd(struct export *x, size_t argc,
		      const struct resp_arg *argv)
{
	x->out.len = 0;
	resp_command(&x->out, argc, argv);
	if (x->out.nomem) {
		x->out.nomem = false;
		return -ENOMEM;
	}
	fwrite(x->out.p, 1, x->out.len, x->f);
	return ferror(x->f) ? -EIO : 0;
}

/* export_expiry -- PEXPIREAT for a key that expires. */
static int export_expiry(struct export *x, const void *key, size_t klen,
			 int64_t expire_ms)
{
	char ms[24];
	struct resp_arg pexp[3] = {
		{ "PEXPIREAT", 9 }, { key, klen }, { ms, 0 },
	};

	if (!expire_ms)
		return 0;
	pexp[2].len = (size_t)snprintf(ms, sizeof(ms), "%" PRId64, expire_ms);
	x->expiring++;
	return export_cmd(x, 3, pexp);
}

/* export_done -- a key is written whole. */
static int export_done(struct export *x)
{
	x->keys++;
	progress_update(&x->prog, x->keys);
	return ferror(x->f) ? -EIO : 0;
}

/* export_string -- one string key: SET, and PEXPIREAT if it expires. */
static int export_string(struct export *x, const void *key, size_t klen,
			 const void *val, size_t vlen, int64_t expire_ms)
{
	struct resp_arg set[3] = {
		{ "SET", 3 }, { key, klen }, { val, vlen },
	};
	int err;

	if ((err = export_cmd(x, 3, set)) ||
	    (err = export_expiry(x, key, klen, expire_ms)))
		return err;
	x->bytes += klen + vlen;
	return export_done(x);
}

/* export_field -- one field of a hash: HSET key field value. */
static int export_field(struct export *x, const void *key, size_t klen,
			const void *field, size_t flen, const void *val,
			size_t vlen)
{
	struct resp_arg hset[4] = {
		{ "HSET", 4 }, { key, klen }, { field, flen }, { val, vlen },
	};

	x->bytes += flen + vlen;
	return export_cmd(x, 4, hset);
}

/* export_member -- one member of a set: SADD key member. */
static int export_member(struct export *x, const void *key, size_t klen,
			 const void *member, size_t mlen)
{
	struct resp_arg sadd[3] = {
		{ "SADD", 4 }, { key, klen }, { member, mlen },
	};

	x->bytes += mlen;
	return export_cmd(x, 3, sadd);
}

/* export_zmember -- one member of a sorted set: ZADD key score member. */
static int export_zmember(struct export *x, const void *key, size_t klen,
			  const void *member, size_t mlen, const char *score,
			  size_t slen)
{
	struct resp_arg zadd[4] = {
		{ "ZADD", 4 }, { key, klen }, { score, slen },
		{ member, mlen },
	};

	x->bytes += mlen + 8;
	return export_cmd(x, 4, zadd);
}

/* export_element -- one element of a list, in order: RPUSH key value. */
static int export_element(struct export *x, const void *key, size_t klen,
			  const void *val, size_t vlen)
{
	struct resp_arg rpush[3] = {
		{ "RPUSH", 5 }, { key, klen }, { val, vlen },
	};

	x->bytes += vlen;
	return export_cmd(x, 3, rpush);
}

/* The collection keys a scan step met, written after it (their contents
 * are read with pkv_hscan, pkv_lrange, pkv_sscan or pkv_zrange, which
 * must not run inside the scan's callback). */
struct export_later {
	char *key;
	size_t klen;
	int64_t expire_ms;
	unsigned type;
};

/* What a scan step of one database collects. */
struct export_step {
	struct export *x;
	struct export_later *later;
	size_t nlater, cap;
};

/* export_key -- pkv_scan callback: a string now, a hash or list later. */
static int export_key(void *ctx, const struct pkv_item *it)
{
	struct export_step *st = ctx;
	struct export_later *l;

	if (it->type == PKV_TYPE_STRING)
		return export_string(st->x, it->key, it->klen, it->val,
				     it->vlen, it->expire_ms);
	if (st->nlater == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 64;
		if (!(l = realloc(st->later, cap * sizeof(*l))))
			return -ENOMEM;
		st->later = l;
		st->cap = cap;
	}
	l = &st->later[st->nlater];
	if (!(l->key = malloc(it->klen ? it->klen : 1)))
		return -ENOMEM;
	memcpy(l->key, it->key, it->klen);
	l->klen = it->klen;
	l->expire_ms = it->expire_ms;
	l->type = it->type;
	st->nlater++;
	return 0;
}

/* While a hash or list is written: its key. */
struct export_hash {
	struct export *x;
	const struct export_later *k;
};

/* export_hash_field -- pkv_hscan and pkv_sscan callback. */
static int export_hash_field(void *ctx, const struct pkv_item *it)
{
	struct export_hash *h = ctx;

	if (h->k->type == PKV_TYPE_SET)
		return export_member(h->x, h->k->key, h->k->klen, it->key,
				     it->klen);
	return export_field(h->x, h->k->key, h->k->klen, it->key, it->klen,
			    it->val, it->vlen);
}

/* export_list_element -- pkv_lrange callback. */
static int export_list_element(void *ctx, const struct pkv_item *it)
{
	struct export_hash *h = ctx;

	return export_element(h->x, h->k->key, h->k->klen, it->val,
			      it->vlen);
}

/* export_zset_member -- pkv_zrange callback: the score as Redis prints
 * it (%.17g, inf, -inf), which ZADD reads back exactly. */
static int export_zset_member(void *ctx, const void *m, size_t ml, double s)
{
	struct export_hash *h = ctx;
	char buf[40];
	int k = resp_format_double(buf, sizeof(buf), s);

	return export_zmember(h->x, h->k->key, h->k->klen, m, ml, buf,
			      (size_t)k);
}

/* export_collections -- the hash, list, set and sorted set keys the last
 * scan step met: their contents, then their expiry. */
static int export_collections(pkv *db, unsigned dbi, struct export_step *st)
{
	int err = 0;

	for (size_t i = 0; i < st->nlater; i++) {
		struct export_hash h = { st->x, &st->later[i] };
		uint64_t cur = 0;
		if (!err && h.k->type == PKV_TYPE_LIST) {
			err = pkv_lrange(db, dbi, h.k->key, h.k->klen, 0, -1,
					 0, export_list_element, &h);
		} else if (!err && h.k->type == PKV_TYPE_ZSET) {
			struct pkv_zrange q = { .by = PKV_ZBY_RANK, .start = 0,
						.stop = -1, .count = -1 };
			err = pkv_zrange(db, dbi, h.k->key, h.k->klen, &q,
					 export_zset_member, &h);
		} else do {
			if (!err)
				err = (h.k->type == PKV_TYPE_SET ? pkv_sscan :
				       pkv_hscan)(db, dbi, h.k->key,
						  h.k->klen, cur,
						  EXPORT_SCAN_COUNT,
						  export_hash_field, &h, &cur);
		} while (!err && cur);
		if (!err && !(err = export_expiry(st->x, h.k->key, h.k->klen,
						  h.k->expire_ms))) {
			st->x->bytes += h.k->klen;
			err = export_done(st->x);
		}
		free(st->later[i].key);
	}
	st->nlater = 0;
	return err;
}

/* What --salvage adds to an export. */
struct salvage {
	struct export *x;
	bool one_db;
	unsigned only;                /* with one_db */
	bool selected;
	unsigned db;                  /* SELECTed last */
};

/* export_salvaged -- one sound entry from the checker's walk. */
static int export_salvaged(void *ctx, const struct check_entry *e)
{
	struct salvage *s = ctx;
	unsigned db = e->db;
	int err;

	if (s->one_db && db != s->only)
		return 0;
	if (!s->selected || db != s->db) {
		char num[16];
		struct resp_arg sel[2] = { { "SELECT", 6 }, { num, 0 } };
		sel[1].len = (size_t)snprintf(num, sizeof(num), "%u", db);
		if ((err = export_cmd(s->x, 2, sel)))
			return err;
		s->selected = true;
		s->db = db;
	}
	if (e->type == PKV_TYPE_STRING)
		return export_string(s->x, e->key, e->klen, e->val, e->vlen,
				     e->expire_ms);
	if (e->field && e->type == PKV_TYPE_ZSET)
		return export_zmember(s->x, e->key, e->klen, e->field, e->flen,
				      e->val, e->vlen);
	if (e->field && e->type == PKV_TYPE_SET)
		return export_member(s->x, e->key, e->klen, e->field, e->flen);
	if (e->field)
		return export_field(s->x, e->key, e->klen, e->field, e->flen,
				    e->val, e->vlen);
	if (e->val)
		return export_element(s->x, e->key, e->klen, e->val, e->vlen);
	if ((err = export_expiry(s->x, e->key, e->klen, e->expire_ms)))
		return err;
	s->x->bytes += e->klen;
	return export_done(s->x);
}

/* export_salvage -- the export of a damaged pool, with a summary. */
static int export_salvage(const char *path, struct export *x, bool one_db,
			  unsigned dbi)
{
	struct salvage s = { x, one_db, dbi, false, 0 };
	struct check_report r;
	struct errmsg em;
	int err;

	err_clear(&em);
	err = check_pool_each(path, &r, true, export_salvaged, &s, &em);
	if (err == -EIO) {
		check_report_free(&r);
		return err;
	}
	if (err)
		return cli_fail_path(path, err, em.text);
	if (r.reached < ACCESS_ENGINE || !r.kv) {
		cli_fail("%s: nothing can be salvaged: %s", path,
			 r.nmsgs ? r.msgs[0] : "no key-value data");
		check_report_free(&r);
		return EXIT_FAILURE;
	}
	fprintf(stderr, "%s: %s: salvaged %" PRIu64 " keys; %" PRIu64
		" damaged entries skipped; the check found %" PRIu64
		" problem(s)%s\n", cli_progname, path, r.salvaged,
		r.salvage_skipped, r.damage,
		r.damage ? " (see 'pkv check')" : "");
	check_report_free(&r);
	return 0;
}

/* export_db -- SELECT dbi, then its keys. */
static int export_db(struct access *a, unsigned dbi, struct export *x)
{
	uint64_t cursor = 0, next, keys = 0;
	char num[16];
	struct resp_arg sel[2] = { { "SELECT", 6 }, { num, 0 } };
	struct export_step st = { x, NULL, 0, 0 };
	int err, err2;

	pkv_dbsize(a->db, dbi, &keys, NULL);
	if (keys == 0)
		return 0;
	sel[1].len = (size_t)snprintf(num, sizeof(num), "%u", dbi);
	if ((err = export_cmd(x, 2, sel)))
		return err;
	do {
		err = pkv_scan(a->db, dbi, cursor, EXPORT_SCAN_COUNT,
			       export_key, &st, &next);
		/* the collections it met, also after a failure (to free them) */
		err2 = export_collections(a->db, dbi, &st);
		if (err || (err = err2))
			break;
		cursor = next;
	} while (next != 0);
	free(st.later);
	return err;
}

/* cmd_export -- write the stream. */
int cmd_export(int argc, char **argv)
{
	const char *path = NULL, *out = NULL, *v;
	bool one_db = false, salvage = false;
	unsigned dbi = 0;
	struct export x;
	struct access a;
	uint64_t total = 0, k;
	char hb[32];
	int rc, err = 0, m;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if ((m = cli_optval(argc, argv, &i, "--db", "-n", "export",
				    &v)) != 0) {
			if (m < 0 || cli_parse_db("export", v, &dbi) != 0)
				return EXIT_USAGE;
			one_db = true;
		} else if ((m = cli_optval(argc, argv, &i, "--output", "-o",
					   "export", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			out = v;
		} else if (strcmp(arg, "--salvage") == 0) {
			salvage = true;
		} else if (cli_is_option(arg)) {
			return cli_usage_error("export: unknown option '%s'",
					       arg);
		} else if (path == NULL) {
			path = arg;
		} else {
			return cli_usage_error("export: unexpected argument "
					       "'%s'", arg);
		}
	}
	if (path == NULL)
		return cli_usage_error("export: missing POOL argument");

	if (salvage) {
		memset(&x, 0, sizeof(x));
		x.f = stdout;
		if (out && strcmp(out, "-") != 0 && !(x.f = fopen(out, "wb")))
			return cli_fail("%s: cannot create: %s", out,
					strerror(errno));
		setvbuf(x.f, NULL, _IOFBF, EXPORT_BUFFER);
		err = export_salvage(path, &x, one_db, dbi);
		rc = err > 0 ? err : 0;
		if (fflush(x.f) != 0 || ferror(x.f) || err == -EIO)
			rc = cli_fail("%s: cannot write the export: %s",
				      out ? out : "standard output",
				      strerror(errno ? errno : EIO));
		if (x.f != stdout && fclose(x.f) != 0 && rc == 0)
			rc = cli_fail("%s: cannot write the export: %s", out,
				      strerror(errno));
		rbuf_free(&x.out);
		return rc;
	}
	if ((rc = access_open_cmd(&a, path, false, ACCESS_ENGINE_TOO)) != 0)
		return rc;
	if (one_db && (rc = access_db_check(&a, dbi)) != 0) {
		access_close(&a);
		return rc;
	}
	memset(&x, 0, sizeof(x));
	x.f = stdout;
	if (out && strcmp(out, "-") != 0 && !(x.f = fopen(out, "wb"))) {
		rc = cli_fail("%s: cannot create: %s", out, strerror(errno));
		access_close(&a);
		return rc;
	}
	setvbuf(x.f, NULL, _IOFBF, EXPORT_BUFFER);
	for (unsigned d = 0; d < pkv_databases(a.db); d++)
		if (!one_db || d == dbi) {
			pkv_dbsize(a.db, d, &k, NULL);
			total += k;
		}
	progress_begin(&x.prog, "exporting", total, false, "keys");
	for (unsigned d = 0; d < pkv_databases(a.db) && !err; d++)
		if (!one_db || d == dbi)
			err = export_db(&a, d, &x);
	progress_end(&x.prog);
	access_close(&a);
	if (fflush(x.f) != 0 || ferror(x.f) || err == -EIO)
		rc = cli_fail("%s: cannot write the export: %s",
			      out ? out : "standard output",
			      strerror(errno ? errno : EIO));
	else if (err)
		rc = cli_fail("%s: %s", path, pkv_strerror(err));
	if (x.f != stdout && fclose(x.f) != 0 && rc == 0)
		rc = cli_fail("%s: cannot write the export: %s", out,
			      strerror(errno));
	rbuf_free(&x.out);
	if (rc == 0 && x.prog.on)
		fprintf(stderr, "%s: exported %" PRIu64 " keys (%" PRIu64
			" with an expiry, %s of keys and values)\n", path,
			x.keys, x.expiring,
			cli_human_size(x.bytes, hb, sizeof(hb)));
	return rc;
}
