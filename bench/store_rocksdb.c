/*
 * store_rocksdb.c -- RocksDB as the durable store most embedders would
 * pick for key-value data on an SSD (its C API, Debian's librocksdb-dev):
 * one database directory in the pool directory, default options but
 * create_if_missing, the write-ahead log on, and every write with
 * sync=true, so each put, delete or batch is durable on return (RocksDB
 * writes the log record and fsyncs it; concurrent writers share a sync).
 * Reads copy the value out, as pkv_get does.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkvbench.h"

#ifdef PKVBENCH_ROCKSDB
#include <rocksdb/c.h>

struct store {
	rocksdb_t *db;
	rocksdb_options_t *opts;
	rocksdb_writeoptions_t *wo;
	rocksdb_readoptions_t *ro;
	char path[4096];
	char desc[128];
};

/* rdb_err -- report and free RocksDB's error string; -EIO if there was
 * one. */
static int rdb_err(char *err)
{
	if (!err)
		return 0;
	fprintf(stderr, "pkvbench: rocksdb: %s\n", err);
	rocksdb_free(err);
	return -EIO;
}

/* rdb_remove -- the database directory and everything in it. */
static void rdb_remove(const char *path)
{
	char *argv[] = { "rm", "-rf", (char *)path, NULL };
	pid_t pid = fork();

	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int rdb_open(struct store **sp, const char *dir, uint64_t keys,
		    double vavg, bool create)
{
	struct store *s = calloc(1, sizeof(*s));
	char *err = NULL;

	if (!s)
		return -ENOMEM;
	store_path(s->path, sizeof(s->path), dir, "rocksdb", "db");
	if (create)
		rdb_remove(s->path);
	s->opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(s->opts, 1);
	s->db = rocksdb_open(s->opts, s->path, &err);
	if (err) {
		rocksdb_options_destroy(s->opts);
		free(s);
		return rdb_err(err);
	}
	s->wo = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(s->wo, 1);
	s->ro = rocksdb_readoptions_create();
	snprintf(s->desc, sizeof(s->desc), "WAL on, sync=true");
	*sp = s;
	return 0;
}

static int rdb_put(struct store *s, void *t, const void *k, size_t kl,
		   const void *v, size_t vl)
{
	char *err = NULL;

	rocksdb_put(s->db, s->wo, k, kl, v, vl, &err);
	return rdb_err(err);
}

static int rdb_put_batch(struct store *s, void *t, size_t n,
			 const struct kv_pair *kv)
{
	rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
	char *err = NULL;

	for (size_t i = 0; i < n; i++)
		rocksdb_writebatch_put(wb, kv[i].k, kv[i].kl, kv[i].v,
				       kv[i].vl);
	rocksdb_write(s->db, s->wo, wb, &err);
	rocksdb_writebatch_destroy(wb);
	return rdb_err(err);
}

static int rdb_get(struct store *s, void *t, const void *k, size_t kl,
		   void *buf, size_t bufsize, size_t *vl)
{
	char *err = NULL, *v;
	size_t len = 0;

	v = rocksdb_get(s->db, s->ro, k, kl, &len, &err);
	if (err)
		return rdb_err(err);
	if (!v)
		return STORE_NOTFOUND;
	memcpy(buf, v, len < bufsize ? len : bufsize);
	*vl = len;
	rocksdb_free(v);
	return 0;
}

static int rdb_del(struct store *s, void *t, const void *k, size_t kl)
{
	char *err = NULL;

	rocksdb_delete(s->db, s->wo, k, kl, &err);
	return rdb_err(err);
}

/* rdb_stats -- no flush counters; the bytes its files hold. */
static void rdb_stats(struct store *s, struct store_stats *ss)
{
	char *sst = rocksdb_property_value(s->db,
					   "rocksdb.total-sst-files-size");
	char *mem = rocksdb_property_value(s->db,
					   "rocksdb.cur-size-all-mem-tables");

	ss->payload = ss->flushed = ss->fences = ss->util = NAN;
	ss->used_bytes = NAN;
	if (sst && mem)
		ss->used_bytes = strtod(sst, NULL) + strtod(mem, NULL);
	rocksdb_free(sst);
	rocksdb_free(mem);
}

static void rdb_close(struct store *s, bool remove)
{
	rocksdb_close(s->db);
	rocksdb_writeoptions_destroy(s->wo);
	rocksdb_readoptions_destroy(s->ro);
	rocksdb_options_destroy(s->opts);
	if (remove)
		rdb_remove(s->path);
	free(s);
}

static const char *rdb_describe(struct store *s)
{
	return s->desc;
}

const struct store_ops store_rocksdb_ops = {
	.name = "rocksdb",
	.bit = STORE_ROCKSDB,
	.note = "WAL, sync=true",
	.open = rdb_open,
	.put = rdb_put,
	.put_batch = rdb_put_batch,
	.get = rdb_get,
	.del = rdb_del,
	.stats = rdb_stats,
	.close = rdb_close,
	.describe = rdb_describe,
};

#endif /* PKVBENCH_ROCKSDB */
