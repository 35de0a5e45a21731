/*
 * store_pkv.c -- pkv through its public API (pkv.h), as a user embeds it:
 * one pool, database 0, every put and delete durable on return.
 *
 * The pool is sized from the key count with room for the entries, their
 * block headers, the bucket arrays of a resize and the overwrites still
 * waiting for their grace period.  Counters come from pkv_stats: payload
 * and flushed bytes, fences, utilization.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkv.h"
#include "pkvbench.h"

struct store {
	pkv *db;
	char path[4096];
	char desc[256];
};

void store_path(char *buf, size_t len, const char *dir, const char *name,
		const char *ext)
{
	snprintf(buf, len, "%s/pkvbench-%ld-%s.%s", dir, g_runid, name, ext);
}

/* pkv_pool_size -- bytes for `keys` entries of average value vavg. */
static uint64_t pkv_pool_size(uint64_t keys, double vavg)
{
	/* entry: block header 16 + kv_entry 40 + key + value, rounded up to
	 * its size class (< 12.5%); buckets: 8 bytes a key, twice during a
	 * resize. */
	double per = (56.0 + KEY_LEN + vavg) * 1.25 + 32;
	return (uint64_t)((double)keys * per * 1.5) + (96ull << 20);
}

static int spkv_open_flags(struct store **sp, const char *dir,
			   uint64_t keys, double vavg, bool create,
			   unsigned flags, const char *name);

static int spkv_open(struct store **sp, const char *dir, uint64_t keys,
		     double vavg, bool create)
{
	return spkv_open_flags(sp, dir, keys, vavg, create, 0, "pkv");
}

/* spkv_verify_open -- reads check every entry's checksum (PKV_VERIFY). */
static int spkv_verify_open(struct store **sp, const char *dir,
			    uint64_t keys, double vavg, bool create)
{
	return spkv_open_flags(sp, dir, keys, vavg, create, PKV_VERIFY,
			       "pkv-verify");
}

static int spkv_open_flags(struct store **sp, const char *dir,
			   uint64_t keys, double vavg, bool create,
			   unsigned flags, const char *name)
{
	struct store *s = calloc(1, sizeof(*s));
	struct pkv_options o;
	int err;

	if (!s)
		return -ENOMEM;
	store_path(s->path, sizeof(s->path), dir, name, "pool");
	pkv_options_init(&o);
	o.flags = flags;
	if (create) {
		o.flags |= PKV_CREATE | PKV_EXCL;
		o.size = g_opt.pool_mib ? g_opt.pool_mib << 20
				       : pkv_pool_size(keys, vavg);
	}
	if (g_opt.pkv_audit >= 0)
		o.audit = (enum pkv_audit)g_opt.pkv_audit;
	if (g_opt.pkv_file_backend)
		o.backend = PKV_BACKEND_FILE;
	err = pkv_open(s->path, &o, &s->db);
	if (err) {
		fprintf(stderr, "pkvbench: pkv: %s\n", pkv_errmsg(NULL));
		free(s);
		return err;
	}
	*sp = s;
	return 0;
}

static int spkv_put(struct store *s, void *t, const void *k, size_t kl,
		    const void *v, size_t vl)
{
	return pkv_put(s->db, 0, k, kl, v, vl, 0, 0);
}

static int spkv_put_batch(struct store *s, void *t, size_t n,
			  const struct kv_pair *kv)
{
	pkv_batch *b;
	int err = pkv_batch_begin(s->db, &b);

	for (size_t i = 0; !err && i < n; i++)
		err = pkv_batch_put(b, 0, kv[i].k, kv[i].kl, kv[i].v,
				    kv[i].vl, 0, 0);
	if (err) {
		pkv_batch_abort(b);
		return err;
	}
	return pkv_batch_commit(b, NULL);
}

static int spkv_get(struct store *s, void *t, const void *k, size_t kl,
		    void *buf, size_t bufsize, size_t *vl)
{
	int err = pkv_get(s->db, 0, k, kl, buf, bufsize, vl);
	return err == PKV_ENOTFOUND ? STORE_NOTFOUND : err;
}

static int spkv_del(struct store *s, void *t, const void *k, size_t kl)
{
	int err = pkv_del(s->db, 0, k, kl);
	return err == PKV_ENOTFOUND ? STORE_NOTFOUND : err;
}

static void spkv_stats(struct store *s, struct store_stats *ss)
{
	struct pkv_stats st;

	pkv_stats(s->db, &st);
	ss->payload = (double)st.payload_bytes;
	ss->flushed = (double)st.flushed_bytes;
	ss->fences = (double)st.fences;
	ss->util = st.utilization;
	ss->used_bytes = (double)st.allocated_bytes;
}

static void spkv_close(struct store *s, bool remove)
{
	pkv_close(s->db);
	if (remove)
		unlink(s->path);
	free(s);
}

/* spkv_describe -- the pool, and what its opening recovered (read after
 * the timed part: pkv_stats walks the chunk table). */
static const char *spkv_describe(struct store *s)
{
	struct pkv_stats st;

	pkv_stats(s->db, &st);
	snprintf(s->desc, sizeof(s->desc), "pool %.0f MiB, %s, redo %.2f ms "
		 "(%" PRIu64 " changes)", (double)st.pool_size / 1048576.0,
		 st.clean_shutdown ? "clean" : "unclean", st.recovery_ns / 1e6,
		 st.recovery_entries);
	if (st.gc_runs)
		snprintf(s->desc + strlen(s->desc),
			 sizeof(s->desc) - strlen(s->desc),
			 ", audit mark %.1f ms sweep %.1f ms",
			 st.gc_last_mark_ns / 1e6, st.gc_last_sweep_ns / 1e6);
	return s->desc;
}

/* spkv_gc -- a collection; its mark and sweep times go to the note. */
static int spkv_gc(struct store *s, char *note, size_t len)
{
	struct pkv_stats st;
	int err = pkv_gc(s->db);

	if (!err) {
		pkv_stats(s->db, &st);
		snprintf(note, len, "mark %.1f ms, sweep %.1f ms,"
			 " %llu live blocks", st.gc_last_mark_ns / 1e6,
			 st.gc_last_sweep_ns / 1e6,
			 (unsigned long long)st.gc_live_blocks);
	}
	return err;
}

const struct store_ops store_pkv_ops = {
	.name = "pkv",
	.bit = STORE_PKV,
	.note = NULL,
	.open = spkv_open,
	.put = spkv_put,
	.put_batch = spkv_put_batch,
	.get = spkv_get,
	.del = spkv_del,
	.stats = spkv_stats,
	.close = spkv_close,
	.describe = spkv_describe,
	.gc = spkv_gc,
};

const struct store_ops store_pkv_verify_ops = {
	.name = "pkv-verify",
	.bit = STORE_PKV_VERIFY,
	.note = "reads check checksums (PKV_VERIFY)",
	.open = spkv_verify_open,
	.put = spkv_put,
	.put_batch = spkv_put_batch,
	.get = spkv_get,
	.del = spkv_del,
	.stats = spkv_stats,
	.close = spkv_close,
	.describe = spkv_describe,
	.gc = spkv_gc,
};

const struct store_ops *const *stores_all(size_t *n)
{
	static const struct store_ops *const all[] = {
		&store_pkv_ops,
		&store_pkv_verify_ops,
#ifdef PKVBENCH_PEERS
		&store_pmemobj_ops,
		&store_lmdb_ops,
		&store_lmdb_nosync_ops,
#endif
#ifdef PKVBENCH_ROCKSDB
		&store_rocksdb_ops,
#endif
	};
	*n = sizeof(all) / sizeof(all[0]);
	return all;
}
