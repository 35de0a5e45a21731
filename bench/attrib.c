/*
 * attrib.c -- where pkv's flushed bytes go: a short run of puts and
 * deletes with an observer on the persistence layer (the hook the crash
 * simulator uses) that sorts every flushed cache line by the part of the
 * pool it belongs to:
 *
 *   log      the redo logs of the lanes (entries and commit records)
 *   blocks   heap flushes longer than 16 bytes: entries, bucket arrays
 *   words    heap flushes of at most 16 bytes: links, bitmap words,
 *            counters, block headers written on their own
 *   chunks   the chunk header table
 *   header   the pool header and its state words
 *
 * The observer costs a call per flush, so these runs are not timed; they
 * explain the WA and B/op columns of the timed ones.  pkv is opened with
 * PKV_NOTHREADS so no background thread flushes meanwhile.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv_int.h"
#include "pkvbench.h"

enum { AT_LOG, AT_BLOCKS, AT_WORDS, AT_CHUNKS, AT_HEADER, AT_N };
static const char *const at_names[AT_N] = {
	"log", "blocks", "words", "chunks", "header",
};

struct at_ctx {
	const struct pool_hdr *hdr;
	uint64_t lines[AT_N];
	uint64_t calls;               /* persist_flush calls */
	uint64_t fences;
};

static void at_flush(void *vctx, uint64_t off, size_t len)
{
	struct at_ctx *c = vctx;
	uint64_t lines = ((off + len + 63) & ~63ull) - (off & ~63ull);
	int k;

	lines /= 64;
	c->calls++;
	if (off < c->hdr->lanes_off)
		k = AT_HEADER;
	else if (off < c->hdr->chunk_hdr_off)
		k = AT_LOG;
	else if (off < c->hdr->chunks_off)
		k = AT_CHUNKS;
	else
		k = len > 16 ? AT_BLOCKS : AT_WORDS;
	c->lines[k] += lines;
}

static void at_fence(void *vctx)
{
	((struct at_ctx *)vctx)->fences++;
}

/* at_emit -- one row: bytes per op by part, since the last reset. */
static void at_emit(struct at_ctx *c, const char *test, uint64_t ops,
		    double payload)
{
	struct result r;
	uint64_t total = 0;
	size_t n = 0;

	for (int k = 0; k < AT_N; k++)
		total += c->lines[k];
	result_init(&r, "flushes", test, "pkv");
	r.ref = 1;
	r.threads = 1;
	r.ops = (double)ops;
	r.flushed_op = (double)total * 64 / (double)ops;
	r.fences_op = (double)c->fences / (double)ops;
	r.wa = payload > 0 ? (double)total * 64 / payload : NAN;
	for (int k = 0; k < AT_N && n < sizeof(r.note); k++)
		n += (size_t)snprintf(r.note + n, sizeof(r.note) - n, "%s%s %.0f",
				      k ? ", " : "B/op: ", at_names[k],
				      (double)c->lines[k] * 64 / (double)ops);
	if (n < sizeof(r.note))
		snprintf(r.note + n, sizeof(r.note) - n, "; %.1f flush calls/op",
			 (double)c->calls / (double)ops);
	child_emit(&r);
	memset(c->lines, 0, sizeof(c->lines));
	c->calls = c->fences = 0;
}

/* at_run -- load, overwrite and delete `keys` keys of vsize bytes. */
static void at_run(uint64_t keys, size_t vsize, const char *suffix)
{
	struct pkv_options o;
	struct persist_hook hook;
	struct at_ctx c;
	struct rng r;
	char path[4096], test[40], key[KEY_LEN];
	char *val = malloc(vsize + 16);
	pkv *db;
	int err;

	if (!val)
		die("out of memory");
	memset(val, 'a', vsize + 16);
	store_path(path, sizeof(path), g_opt.dir, "attrib", "pool");
	unlink(path);
	pkv_options_init(&o);
	o.flags = PKV_CREATE | PKV_EXCL | PKV_NOTHREADS;
	o.size = keys * (vsize + 200) * 2 + (96ull << 20);
	if ((err = pkv_open(path, &o, &db)))
		die("attrib: %s", pkv_errmsg(NULL));
	memset(&c, 0, sizeof(c));
	c.hdr = db->pool->hdr;
	hook.flush = at_flush;
	hook.fence = at_fence;
	hook.ctx = &c;
	persist_set_hook(&db->pool->persist, &hook);
	rng_seed(&r, g_opt.seed ^ 0xa77);

	for (uint64_t i = 0; i < keys; i++) {
		key_format(key, i);
		if ((err = pkv_put(db, 0, key, KEY_LEN, val, vsize, 0, 0)))
			die("attrib: put: %s", pkv_strerror(err));
	}
	snprintf(test, sizeof(test), "load%s", suffix);
	at_emit(&c, test, keys, (double)keys * (KEY_LEN + vsize));
	for (uint64_t i = 0; i < keys; i++) {
		key_format(key, rng_below(&r, keys));
		if ((err = pkv_put(db, 0, key, KEY_LEN, val, vsize, 0, 0)))
			die("attrib: put: %s", pkv_strerror(err));
	}
	snprintf(test, sizeof(test), "overwrite%s", suffix);
	at_emit(&c, test, keys, (double)keys * (KEY_LEN + vsize));
	for (uint64_t i = 0; i < keys; i++) {
		key_format(key, i);
		if ((err = pkv_del(db, 0, key, KEY_LEN)))
			die("attrib: del: %s", pkv_strerror(err));
	}
	snprintf(test, sizeof(test), "delete%s", suffix);
	at_emit(&c, test, keys, NAN);
	persist_set_hook(&db->pool->persist, NULL);
	pkv_close(db);
	unlink(path);
	free(val);
}

static void attrib_child(void *arg)
{
	uint64_t keys = g_opt.keys < 50000 ? g_opt.keys : 50000;

	at_run(keys, 100, "");
	at_run(keys / 2 ? keys / 2 : 1, 1024, " 1KiB");
}

void run_attrib(void)
{
	if (g_opt.stores & STORE_PKV)
		run_in_child("flush attribution", attrib_child, NULL);
}
