/*
 * store_lmdb.c -- LMDB as the durable embedded store a user would pick
 * instead: one environment file (MDB_NOSUBDIR) in the pool directory, the
 * main database, one write transaction per put or delete.
 *
 * Two variants.  "lmdb" keeps LMDB's defaults, so each commit writes its
 * pages and syncs them (fdatasync) before it returns: every write is
 * durable, as pkv's are.  "lmdb-nosync" opens with MDB_NOSYNC and
 * MDB_NOMETASYNC: commits return before anything is synced, so a power
 * failure loses recent writes (a process crash does not); it is shown to
 * say what the sync costs, and is labelled NOT durable everywhere.
 *
 * Reads use one read-only transaction per thread, reset after each get and
 * renewed before the next (MDB_NOTLS, the cheapest way LMDB offers), and
 * copy the value out as pkv_get does.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkvbench.h"

#ifdef PKVBENCH_PEERS
#include <lmdb.h>

struct store {
	MDB_env *env;
	MDB_dbi dbi;
	char path[4096];
	char lock[4200];
	char desc[128];
};

struct lmdb_thread {
	MDB_txn *rtxn;
};

/* lmdb_err -- LMDB's codes as positive errno or its own (negative). */
static int lmdb_err(int rc)
{
	if (rc)
		fprintf(stderr, "pkvbench: lmdb: %s\n", mdb_strerror(rc));
	return rc > 0 ? -rc : rc;
}

static int lmdb_open_flags(struct store **sp, const char *dir, uint64_t keys,
			   double vavg, bool create, unsigned flags,
			   const char *name)
{
	struct store *s = calloc(1, sizeof(*s));
	double per = KEY_LEN + vavg + 64;
	MDB_txn *txn;
	uint64_t map;
	int rc;

	if (!s)
		return -ENOMEM;
	/* LMDB is shared between the two variants: same file name. */
	store_path(s->path, sizeof(s->path), dir, name, "mdb");
	snprintf(s->lock, sizeof(s->lock), "%s-lock", s->path);
	if (create) {
		unlink(s->path);
		unlink(s->lock);
	}
	/* Pages half full after random inserts, overflow pages for large
	 * values, copy-on-write: four times the data, plus slack. */
	map = (uint64_t)((double)(keys ? keys : 1) * per * 4) + (256ull << 20);
	map = (map + 4095) & ~4095ull;
	if ((rc = mdb_env_create(&s->env)))
		goto fail;
	if ((rc = mdb_env_set_mapsize(s->env, map)) ||
	    (rc = mdb_env_set_maxreaders(s->env, g_opt.threads + 16)) ||
	    (rc = mdb_env_open(s->env, s->path,
			       MDB_NOSUBDIR | MDB_NOTLS | flags, 0644)))
		goto fail_env;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)))
		goto fail_env;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &s->dbi))) {
		mdb_txn_abort(txn);
		goto fail_env;
	}
	if ((rc = mdb_txn_commit(txn)))
		goto fail_env;
	snprintf(s->desc, sizeof(s->desc), "map %.0f MiB%s",
		 (double)map / 1048576.0,
		 flags & MDB_NOSYNC ? ", MDB_NOSYNC|MDB_NOMETASYNC" : "");
	*sp = s;
	return 0;
fail_env:
	mdb_env_close(s->env);
fail:
	free(s);
	return lmdb_err(rc);
}

static int lmdb_open(struct store **sp, const char *dir, uint64_t keys,
		     double vavg, bool create)
{
	return lmdb_open_flags(sp, dir, keys, vavg, create, 0, "lmdb");
}

static int lmdb_nosync_open(struct store **sp, const char *dir,
			    uint64_t keys, double vavg, bool create)
{
	return lmdb_open_flags(sp, dir, keys, vavg, create,
			       MDB_NOSYNC | MDB_NOMETASYNC, "lmdb");
}

static void *lmdb_thread_init(struct store *s)
{
	return calloc(1, sizeof(struct lmdb_thread));
}

static void lmdb_thread_fini(struct store *s, void *t)
{
	struct lmdb_thread *lt = t;
	if (lt && lt->rtxn)
		mdb_txn_abort(lt->rtxn);
	free(lt);
}

static int lmdb_put(struct store *s, void *t, const void *k, size_t kl,
		    const void *v, size_t vl)
{
	MDB_val key = { kl, (void *)k }, val = { vl, (void *)v };
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)))
		return lmdb_err(rc);
	if ((rc = mdb_put(txn, s->dbi, &key, &val, 0))) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	return lmdb_err(mdb_txn_commit(txn));
}

static int lmdb_put_batch(struct store *s, void *t, size_t n,
			  const struct kv_pair *kv)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)))
		return lmdb_err(rc);
	for (size_t i = 0; i < n; i++) {
		MDB_val key = { kv[i].kl, (void *)kv[i].k };
		MDB_val val = { kv[i].vl, (void *)kv[i].v };
		if ((rc = mdb_put(txn, s->dbi, &key, &val, 0))) {
			mdb_txn_abort(txn);
			return lmdb_err(rc);
		}
	}
	return lmdb_err(mdb_txn_commit(txn));
}

static int lmdb_get(struct store *s, void *t, const void *k, size_t kl,
		    void *buf, size_t bufsize, size_t *vl)
{
	struct lmdb_thread *lt = t;
	MDB_val key = { kl, (void *)k }, val;
	int rc;

	rc = lt->rtxn ? mdb_txn_renew(lt->rtxn)
		      : mdb_txn_begin(s->env, NULL, MDB_RDONLY, &lt->rtxn);
	if (rc)
		return lmdb_err(rc);
	rc = mdb_get(lt->rtxn, s->dbi, &key, &val);
	if (!rc) {
		memcpy(buf, val.mv_data,
		       val.mv_size < bufsize ? val.mv_size : bufsize);
		*vl = val.mv_size;
	}
	mdb_txn_reset(lt->rtxn);
	if (rc == MDB_NOTFOUND)
		return STORE_NOTFOUND;
	return lmdb_err(rc);
}

static int lmdb_del(struct store *s, void *t, const void *k, size_t kl)
{
	MDB_val key = { kl, (void *)k };
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)))
		return lmdb_err(rc);
	rc = mdb_del(txn, s->dbi, &key, NULL);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return STORE_NOTFOUND;
	}
	if (rc) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	return lmdb_err(mdb_txn_commit(txn));
}

/* lmdb_stats -- LMDB counts no flushes; the file's used pages only. */
static void lmdb_stats(struct store *s, struct store_stats *ss)
{
	MDB_envinfo info;
	MDB_stat st;

	ss->payload = ss->flushed = ss->fences = ss->util = NAN;
	ss->used_bytes = NAN;
	if (!mdb_env_info(s->env, &info) && !mdb_env_stat(s->env, &st))
		ss->used_bytes = (double)(info.me_last_pgno + 1) *
				 (double)st.ms_psize;
}

static void lmdb_close(struct store *s, bool remove)
{
	mdb_env_close(s->env);
	if (remove) {
		unlink(s->path);
		unlink(s->lock);
	}
	free(s);
}

static const char *lmdb_describe(struct store *s)
{
	return s->desc;
}

const struct store_ops store_lmdb_ops = {
	.name = "lmdb",
	.bit = STORE_LMDB,
	.note = "one durable write txn per op",
	.open = lmdb_open,
	.thread_init = lmdb_thread_init,
	.thread_fini = lmdb_thread_fini,
	.put = lmdb_put,
	.put_batch = lmdb_put_batch,
	.get = lmdb_get,
	.del = lmdb_del,
	.stats = lmdb_stats,
	.close = lmdb_close,
	.describe = lmdb_describe,
};

const struct store_ops store_lmdb_nosync_ops = {
	.name = "lmdb-nosync",
	.bit = STORE_LMDB_NOSYNC,
	.note = "NOT durable: MDB_NOSYNC|MDB_NOMETASYNC",
	.open = lmdb_nosync_open,
	.thread_init = lmdb_thread_init,
	.thread_fini = lmdb_thread_fini,
	.put = lmdb_put,
	.put_batch = lmdb_put_batch,
	.get = lmdb_get,
	.del = lmdb_del,
	.stats = lmdb_stats,
	.close = lmdb_close,
	.describe = lmdb_describe,
};

#endif /* PKVBENCH_PEERS */
