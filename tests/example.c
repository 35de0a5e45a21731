/*
 * example.c -- a small program using libpkv, as pkv(3) shows it.
 *
 *     cc example.c $(pkg-config --cflags --libs libpkv) -o example
 *     ./example /dev/shm/example.pool
 *
 * It stores a few keys (one of them with an expiry), reads one back by
 * copying and one in place, changes two keys in one atomic batch, lists
 * the database with a scan, and closes.  Run it twice: the keys from the
 * first run are still there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pkv.h>

static int print_key(void *ctx, const struct pkv_item *it)
{
	const void *key = it->key, *val = it->val;
	size_t klen = it->klen, vlen = it->vlen;
	int64_t expire_ms = it->expire_ms;
	(void)ctx;
	printf("  %.*s = %.*s%s\n", (int)klen, (const char *)key, (int)vlen,
	       (const char *)val, expire_ms ? " (expires)" : "");
	return 0;
}

static int fail(const char *what, int err, pkv *db)
{
	fprintf(stderr, "example: %s: %s: %s\n", what, pkv_strerror(err),
		pkv_errmsg(db));
	return 1;
}

int main(int argc, char **argv)
{
	struct pkv_options opts;
	struct pkv_ref ref;
	pkv_batch *batch;
	char buf[64];
	size_t len;
	uint64_t cursor = 0, runs = 0;
	pkv *db;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: example POOL\n");
		return 2;
	}
	pkv_options_init(&opts);
	opts.flags = PKV_CREATE;          /* create it if it is not there */
	opts.size = 16 << 20;
	if ((err = pkv_open(argv[1], &opts, &db)))
		return fail("open", err, NULL);

	/* Durable when each call returns. */
	if ((err = pkv_put(db, 0, "greeting", 8, "hello", 5, 0, 0)) ||
	    (err = pkv_put(db, 0, "session", 7, "abc123", 6, 0,
			   pkv_now_ms() + 60000)))
		return fail("put", err, db);

	/* A run counter: read, add one, write back. */
	if (pkv_get(db, 0, "runs", 4, buf, sizeof(buf) - 1, &len) == 0) {
		buf[len < sizeof(buf) - 1 ? len : sizeof(buf) - 1] = '\0';
		runs = strtoull(buf, NULL, 10);
	}
	len = (size_t)snprintf(buf, sizeof(buf), "%llu",
			       (unsigned long long)runs + 1);
	if ((err = pkv_put(db, 0, "runs", 4, buf, len, 0, 0)))
		return fail("put", err, db);
	printf("run %llu\n", (unsigned long long)runs + 1);

	/* Read in place: no copy, valid until released. */
	if ((err = pkv_get_ref(db, 0, "greeting", 8, &ref)))
		return fail("get_ref", err, db);
	printf("greeting is %.*s\n", (int)ref.vlen, (const char *)ref.val);
	pkv_ref_release(&ref);

	/* Two changes, all or nothing. */
	if ((err = pkv_batch_begin(db, &batch)))
		return fail("batch", err, db);
	pkv_batch_put(batch, 0, "greeting", 8, "hello again", 11, PKV_XX, 0);
	pkv_batch_del(batch, 0, "session", 7);
	if ((err = pkv_batch_commit(batch, NULL)))
		return fail("batch commit", err, db);

	printf("database 0:\n");
	do {
		if ((err = pkv_scan(db, 0, cursor, 100, print_key, NULL,
				    &cursor)))
			return fail("scan", err, db);
	} while (cursor != 0);

	pkv_close(db);
	return 0;
}
