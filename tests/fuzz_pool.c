/*
 * fuzz_pool.c -- libFuzzer target: opening and recovering damaged pools.
 *
 * A valid 8 MiB pool image is built once: keys in two databases, some
 * with an expiry, overwrites and deletes, a lazily flushed database, and
 * the image copied while open (an unclean shutdown).  Each input is a
 * list of patches -- 4 bytes of offset (modulo the image size), 1 byte of
 * length, then that many bytes -- applied to a copy of it.  The library
 * must then either refuse the pool with an error or open it, recover it,
 * collect its garbage and serve scans, gets and a put, without crashing.
 */
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include "kv_int.h"

#include "fuzz_det.h"

#define IMAGE_SIZE (8u << 20)

static char *template_img;
static char *work;

static int count_fn(void *ctx, const struct pkv_item *it)
{
	const void *key = it->key, *val = it->val;
	size_t klen = it->klen, vlen = it->vlen;
	int64_t expire_ms = it->expire_ms;
	(void)key;
	(void)val;
	(void)expire_ms;
	*(size_t *)ctx += klen + vlen;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pkv_options o;
	struct pool_params pp = { .nlanes = 4, .log_size = 16384 };
	struct errmsg em;
	struct pool *pool;
	struct heap *h;
	pkv *db;
	char key[32], val[300];

	(void)argc;
	(void)argv;
	template_img = aligned_alloc(4096, IMAGE_SIZE);
	work = aligned_alloc(4096, IMAGE_SIZE);
	memset(template_img, 0, IMAGE_SIZE);
	if (pool_format_memory(template_img, IMAGE_SIZE, &pp, &em) ||
	    pool_open_memory(template_img, IMAGE_SIZE, &pool, &em) ||
	    heap_open(pool, &h, &em))
		abort();
	pkv_options_init(&o);
	o.flags = PKV_NOTHREADS;
	o.databases = 3;
	if (kv_attach(h, &o, &db))
		abort();
	for (int i = 0; i < 400; i++) {
		int kl = snprintf(key, sizeof(key), "key:%d", i);
		memset(val, 'a' + i % 26, sizeof(val));
		pkv_put(db, (unsigned)i % 3, key, (size_t)kl, val,
			(size_t)(i * 7) % sizeof(val), 0,
			i % 5 ? 0 : 4102444800000ll);
	}
	for (int i = 0; i < 400; i += 3) {
		int kl = snprintf(key, sizeof(key), "key:%d", i);
		pkv_del(db, (unsigned)i % 3, key, (size_t)kl);
	}
	pkv_flushdb(db, 2);          /* garbage for the audit */
	memcpy(work, template_img, IMAGE_SIZE);  /* while open: unclean */
	memcpy(template_img, work, IMAGE_SIZE);
	kv_detach(db);
	heap_close(h);
	memcpy(template_img, work, IMAGE_SIZE);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkv_options o;
	struct errmsg em;
	struct pool *pool;
	struct heap *h;
	pkv *db;
	size_t pos = 0, sum = 0;

	memcpy(work, template_img, IMAGE_SIZE);
	while (pos + 5 <= size) {
		uint32_t off;
		size_t len;
		memcpy(&off, data + pos, 4);
		len = data[pos + 4];
		pos += 5;
		if (len > size - pos)
			len = size - pos;
		off %= IMAGE_SIZE;
		if (len > IMAGE_SIZE - off)
			len = IMAGE_SIZE - off;
		memcpy(work + off, data + pos, len);
		pos += len;
	}
	err_clear(&em);
	if (pool_open_memory(work, IMAGE_SIZE, &pool, &em))
		return 0;            /* refused: fine */
	if (heap_open(pool, &h, &em)) {
		pool_close(pool);
		return 0;
	}
	pkv_options_init(&o);
	o.flags = PKV_NOTHREADS;
	o.audit = PKV_AUDIT_NOW;      /* the collector over damaged data too */
	if (kv_attach(h, &o, &db) == 0) {
		for (unsigned d = 0; d < pkv_databases(db); d++) {
			uint64_t cur = 0, keys;
			int steps = 0;
			pkv_dbsize(db, d, &keys, NULL);
			do {
				if (pkv_scan(db, d, cur, 64, count_fn, &sum,
					     &cur))
					break;
			} while (cur && ++steps < 10000);
			pkv_get(db, d, "key:1", 5, NULL, 0, NULL);
		}
		pkv_put(db, 0, "fuzz", 4, "v", 1, 0, 0);
		pkv_del(db, 0, "key:2", 5);
		kv_detach(db);
	}
	heap_close(h);
	return 0;
}
