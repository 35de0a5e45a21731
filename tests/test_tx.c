/*
 * test_tx.c -- unit tests of heap transactions (tx.c over redo.c): what a
 * commit makes visible, what an abort leaves alone, the log's capacity,
 * the cost of a commit in fences, recovery of an image copied right after
 * a commit (a crash), and the pool's root word.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "pkv.h"
#include "pool.h"
#include "heap.h"
#include "tx.h"
#include "redo.h"
#include "testheap.h"

#define POOL_BYTES (8u << 20)
#define ROOT_OFF (POOL_STATE_OFF + offsetof(struct pool_state, root))

struct fixture {
	size_t size;
	char *buf;
	struct heap *heap;
	struct pool *pool;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->size = POOL_BYTES;
	f->buf = new_image(f->size);
	if (f->buf == NULL)
		return -1;
	open_image(f->buf, f->size, &f->pool, &f->heap);
	*state = f;
	return 0;
}

static void reopen(struct fixture *f)
{
	heap_close(f->heap);
	open_image(f->buf, f->size, &f->pool, &f->heap);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->heap != NULL) {
		check(f->heap);
		heap_close(f->heap);
	}
	free(f->buf);
	free(f);
	return 0;
}

/* alloc1 -- commit one allocation of size bytes, filled with byte c. */
static uint64_t alloc1(struct fixture *f, size_t size, int c)
{
	struct tx *tx;
	uint64_t off;

	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_alloc(tx, size, 1, &off), 0);
	memset(pool_ptr(f->pool, off), c, size);
	assert_int_equal(tx_commit(tx), 0);
	return off;
}

static uint64_t fences(struct fixture *f)
{
	struct persist_stats st;

	persist_get_stats(&heap_pool(f->heap)->persist, &st);
	return st.fences;
}

static uint64_t word(struct fixture *f, uint64_t off)
{
	return *(uint64_t *)pool_ptr(f->pool, off);
}

/* test_set_write -- changes appear at commit, not before. */
static void test_set_write(void **state)
{
	struct fixture *f = *state;
	uint64_t a = alloc1(f, 256, 0x11);
	char msg[40] = "written through the redo log";
	char before[256];
	struct tx *tx;

	memcpy(before, pool_ptr(f->pool, a), sizeof(before));
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_ptr_equal(tx_heap(tx), f->heap);
	assert_int_equal(tx_set(tx, a, 0x0102030405060708ull), 0);
	assert_int_equal(tx_write(tx, a + 16, msg, sizeof(msg)), 0);
	assert_int_equal(tx_set(tx, a + 248, 42), 0);
	/* redo: nothing in place until the commit */
	assert_memory_equal(pool_ptr(f->pool, a), before, sizeof(before));
	assert_int_equal(tx_commit(tx), 0);

	assert_int_equal(word(f, a), 0x0102030405060708ull);
	assert_memory_equal((char *)pool_ptr(f->pool, a) + 16, msg,
			    sizeof(msg));
	assert_int_equal(word(f, a + 248), 42);
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[8], 0x11);
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[56], 0x11);
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[240], 0x11);
	check(f->heap);

	/* and it survives a reopen */
	reopen(f);
	assert_int_equal(word(f, a), 0x0102030405060708ull);
	assert_memory_equal((char *)pool_ptr(f->pool, a) + 16, msg,
			    sizeof(msg));
	assert_int_equal(word(f, a + 248), 42);
}

/* test_odd_offsets -- words at offsets that are 8 but not 16 mod 16 (the
 * log keeps its opcode in the low bits of the offset word); byte ranges of
 * any length at 8-byte aligned offsets, and unaligned ones refused. */
static void test_odd_offsets(void **state)
{
	struct fixture *f = *state;
	uint64_t a = alloc1(f, 256, 0x11);
	char msg[13] = "odd and short";
	struct tx *tx;
	int rc;

	assert_int_equal(a % 16, 0);
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_set(tx, a + 8, 0xaaaaaaaaaaaaaaaaull), 0);
	assert_int_equal(tx_set(tx, a + 24, 0xbbbbbbbbbbbbbbbbull), 0);
	assert_int_equal(tx_commit(tx), 0);
	assert_int_equal(word(f, a), 0x1111111111111111ull);
	assert_int_equal(word(f, a + 8), 0xaaaaaaaaaaaaaaaaull);
	assert_int_equal(word(f, a + 16), 0x1111111111111111ull);
	assert_int_equal(word(f, a + 24), 0xbbbbbbbbbbbbbbbbull);

	/* ranges must start 8-byte aligned (tx.h); any length is fine */
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	rc = tx_write(tx, a + 13, msg, sizeof(msg));
	assert_int_equal(rc, PKV_EINVAL);
	tx_abort(tx);
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[13], 0xaa);
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_write(tx, a + 16, msg, sizeof(msg)), 0);
	assert_int_equal(tx_commit(tx), 0);
	assert_memory_equal((char *)pool_ptr(f->pool, a) + 16, msg,
			    sizeof(msg));
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[15], 0xaa);
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[29], 0xbb);
	check(f->heap);
}

/* test_set_invalid -- unaligned or outside offsets are refused. */
static void test_set_invalid(void **state)
{
	struct fixture *f = *state;
	uint64_t a = alloc1(f, 64, 0x22);
	struct tx *tx;
	char b[16] = { 0 };

	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_set(tx, a + 4, 1), PKV_EINVAL);
	assert_int_equal(tx_set(tx, f->size, 1), PKV_EINVAL);
	assert_int_equal(tx_write(tx, f->size - 8, b, sizeof(b)), PKV_EINVAL);
	tx_abort(tx);
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[4], 0x22);
}

static void assert_stats_equal(const struct heap_stats *a,
			       const struct heap_stats *b)
{
	assert_int_equal(a->allocated_bytes, b->allocated_bytes);
	assert_int_equal(a->allocated_blocks, b->allocated_blocks);
	assert_int_equal(a->chunks_free, b->chunks_free);
	assert_int_equal(a->chunks_huge, b->chunks_huge);
	assert_int_equal(a->nclasses, b->nclasses);
	for (unsigned i = 0; i < a->nclasses && i < HEAP_MAX_CLASSES; i++)
		assert_int_equal(a->cls[i].blocks_used, b->cls[i].blocks_used);
}

/* test_abort -- an aborted transaction changes nothing. */
static void test_abort(void **state)
{
	struct fixture *f = *state;
	uint64_t e = alloc1(f, 200, 0x33), off;
	struct heap_stats st0, st1;
	char before[200], junk[64];
	struct tx *tx;

	/* runs for the sizes below exist, so no chunk needs carving */
	alloc1(f, 100, 0);
	alloc1(f, 5000, 0);
	memcpy(before, pool_ptr(f->pool, e), sizeof(before));
	memset(junk, 0x77, sizeof(junk));
	heap_get_stats(f->heap, &st0);

	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_alloc(tx, 100, 2, &off), 0);
	assert_int_equal(tx_alloc(tx, 5000, 2, &off), 0);
	assert_int_equal(tx_alloc(tx, 300000, 2, &off), 0);   /* huge */
	assert_int_equal(tx_set(tx, e, 1), 0);
	assert_int_equal(tx_write(tx, e + 16, junk, sizeof(junk)), 0);
	assert_int_equal(tx_free(tx, e), 0);
	tx_abort(tx);

	assert_memory_equal(pool_ptr(f->pool, e), before, sizeof(before));
	assert_true(heap_block_valid(f->heap, e, NULL, NULL));
	heap_get_stats(f->heap, &st1);
	assert_stats_equal(&st0, &st1);
	check(f->heap);

	/* the returned reservations can be taken again */
	alloc1(f, 100, 1);
	alloc1(f, 5000, 1);
	alloc1(f, 300000, 1);
	check(f->heap);
}

static void still_replayable(const char *img);
static void assert_stats_equal(const struct heap_stats *a,
			       const struct heap_stats *b);

/* test_big -- a transaction bigger than its lane's ring commits all the
 * same (its record goes to an area of free space, named by a small
 * record in the ring), survives a crash right after the commit, and
 * gives its area back once a checkpoint passes it; abort drops a big one
 * entirely. */
static void test_big(void **state)
{
	struct fixture *f = *state;
	size_t big = 100u << 10;
	uint64_t a = alloc1(f, big, 0x44);
	uint64_t *slots = NULL;
	char *src = malloc(big), *img = aligned_alloc(4096, f->size);
	struct heap_stats st0, st1;
	struct pool *pool;
	struct heap *h;
	struct tx *tx;
	int n = 1000;   /* they fit the run the class has (64 KiB chunks) */

	assert_non_null(src);
	assert_non_null(img);
	memset(src, 0x55, big);
	alloc1(f, 32, 0);     /* the class of 32 has a run already */
	heap_get_stats(f->heap, &st0);

	/* one big write and thousands of small allocations, aborted */
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_write(tx, a, src, big), 0);
	for (int i = 0; i < n; i++) {
		uint64_t off;
		assert_int_equal(tx_alloc_fixed(tx, 32, 3, 0, &off), 0);
	}
	tx_abort(tx);
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[0], 0x44);
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[big - 1],
			 0x44);
	heap_get_stats(f->heap, &st1);
	assert_stats_equal(&st0, &st1);
	check(f->heap);

	/* the same, committed: 100 KiB of copy and 1000 new blocks, each
	 * published in a word of a */
	slots = calloc((size_t)n, sizeof(*slots));
	assert_non_null(slots);
	assert_int_equal(redo_checkpoint(heap_redo(f->heap)), 0);
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_write(tx, a, src, big), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(tx_alloc_fixed(tx, 32, 3, 0, &slots[i]), 0);
		memset(pool_ptr(f->pool, slots[i]), i & 0xff, 32);
		assert_int_equal(tx_set(tx, a + 8 * (uint64_t)i, slots[i]), 0);
	}
	assert_int_equal(tx_commit(tx), 0);
	assert_int_equal(*(uint64_t *)pool_ptr(f->pool, a + 8), slots[1]);

	/* a crash now, nothing in place on the media: the chained record
	 * brings it all back */
	memcpy(img, f->buf, f->size);
	memset(img + a, 0x44, big);
	still_replayable(img);
	open_image(img, f->size, &pool, &h);
	assert_int_equal(heap_recovery_stats(h)->logs_replayed, 1);
	assert_true(heap_recovery_stats(h)->entries_replayed >=
		    (uint64_t)n * 2);
	for (int i = 0; i < n; i++) {
		assert_int_equal(*(uint64_t *)pool_ptr(pool, a + 8 * (uint64_t)i),
				 slots[i]);
		assert_true(heap_block_valid(h, slots[i], NULL, NULL));
	}
	assert_int_equal(((unsigned char *)pool_ptr(pool, a))[big - 1], 0x55);
	check(h);
	heap_close(h);

	/* the area is free again after a checkpoint (check() drains) */
	check(f->heap);
	free(slots);
	free(img);
	free(src);
}

/* test_free_invalid -- tx_free of anything but a block start fails. */
static void test_free_invalid(void **state)
{
	struct fixture *f = *state;
	uint64_t a = alloc1(f, 500, 0x66), b = alloc1(f, 64, 0x67);
	uint64_t bad[] = {
		a + 16, a - BLOCK_HDR_SIZE, a + 8, 0, POOL_STATE_OFF,
		ROOT_OFF, f->pool->hdr->chunks_off, f->size - 16,
		f->size + 4096,
	};
	struct tx *tx;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		assert_int_equal(tx_begin(f->heap, &tx), 0);
		rc = tx_free(tx, bad[i]);
		if (rc != PKV_EINVAL)
			fail_msg("tx_free(%llu) = %d, want PKV_EINVAL",
				 (unsigned long long)bad[i], rc);
		tx_abort(tx);
	}
	/* a freed block is no longer a block */
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_free(tx, b), 0);
	assert_int_equal(tx_commit(tx), 0);
	assert_false(heap_block_valid(f->heap, b, NULL, NULL));
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_free(tx, b), PKV_EINVAL);
	tx_abort(tx);
	assert_true(heap_block_valid(f->heap, a, NULL, NULL));
	check(f->heap);
}

static uint64_t newest_log(const char *img);

/* image_watermark -- the watermark of an image's current checkpoint. */
static uint64_t image_watermark(const char *img)
{
	const struct pool_hdr *hdr = (const void *)img;
	const struct ckpt_hdr *c0 = (const void *)(img + hdr->lanes_off);
	const struct ckpt_hdr *c1 = (const void *)(img + hdr->lanes_off +
						   CKPT_SLOT_SIZE(hdr->nlanes));

	return c1->gen > c0->gen ? c1->watermark : c0->watermark;
}

/* still_replayable -- the newest record of an image is above its
 * watermark: a crash now replays it (no checkpoint passed it). */
static void still_replayable(const char *img)
{
	uint64_t off = newest_log(img);

	assert_true(off != 0);
	assert_true(((const struct log_rec *)(img + off))->seq >
		    image_watermark(img));
}

/* fixed1 -- commit one block fixed past a 16-byte prefix, published in
 * the word at slot (freeing what was there). */
static uint64_t fixed1(struct fixture *f, uint64_t slot, size_t size,
		       int c)
{
	struct tx *tx;
	uint64_t off, old = word(f, slot);

	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_alloc_fixed(tx, size, 1, 16, &off), 0);
	memset(pool_ptr(f->pool, off), c, size);
	assert_int_equal(tx_set(tx, slot, off), 0);
	if (old)
		assert_int_equal(tx_free(tx, old), 0);
	assert_int_equal(tx_commit(tx), 0);
	return off;
}

/* mutable1 -- commit one block any of whose bytes may change later,
 * filled with c, published in the word at slot. */
static uint64_t mutable1(struct fixture *f, uint64_t slot, size_t size,
			 int c)
{
	struct tx *tx;
	uint64_t off;

	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_alloc(tx, size, 1, &off), 0);
	memset(pool_ptr(f->pool, off), c, size);
	assert_int_equal(tx_set(tx, slot, off), 0);
	assert_int_equal(tx_commit(tx), 0);
	return off;
}

/* test_fences -- a commit costs one fence (the commit point; see
 * lib/redo.c), plus one when it publishes a block whose every byte may
 * change later and that is too big to carry in the record (a small one
 * is carried: lib/tx.c); an empty one costs none. */
static void test_fences(void **state)
{
	struct fixture *f = *state;
	struct tx *tx;
	uint64_t f0, off, slot = alloc1(f, 64, 0);
	char buf[48];

	memset(pool_ptr(f->pool, slot), 0, 64);
	for (int i = 0; i < 5; i++)     /* warm up: runs exist */
		alloc1(f, 48, 0);
	alloc1(f, 1000, 0);
	fixed1(f, slot, 48, 0);
	for (int i = 0; i < 10; i++) {
		f0 = fences(f);
		off = fixed1(f, slot, 48, i);
		assert_int_equal(fences(f) - f0, 1);
		assert_int_equal(word(f, slot), off);
	}
	for (int i = 0; i < 10; i++) {
		f0 = fences(f);
		off = mutable1(f, slot + 8, 48, i);
		assert_int_equal(fences(f) - f0, 1);
		assert_memory_equal(pool_ptr(f->pool, off), memset(buf, i, 48),
				    48);
	}
	for (int i = 0; i < 10; i++) {   /* 1,000 bytes: not carried */
		f0 = fences(f);
		mutable1(f, slot + 16, 1000, i);
		assert_int_equal(fences(f) - f0, 2);
	}
	f0 = fences(f);
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_commit(tx), 0);
	assert_int_equal(fences(f) - f0, 0);

	/* a free and a write together: one */
	f0 = fences(f);
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_free(tx, word(f, slot)), 0);
	assert_int_equal(tx_set(tx, slot, 0), 0);
	assert_int_equal(tx_commit(tx), 0);
	assert_int_equal(fences(f) - f0, 1);
}

/* test_checkpoint -- a checkpoint costs two fences for any number of
 * commits before it, raises the watermark to the last commit, and a
 * crash after it replays nothing; the blocks freed before it are
 * reusable after it, not before. */
static void test_checkpoint(void **state)
{
	struct fixture *f = *state;
	struct redo *r = heap_redo(f->heap);
	uint64_t slot = alloc1(f, 64, 0), f0, seq, first;
	char *img = aligned_alloc(4096, f->size);
	struct pool *pool;
	struct heap *h;
	struct tx *tx;

	assert_non_null(img);
	memset(pool_ptr(f->pool, slot), 0, 64);
	assert_int_equal(redo_checkpoint(r), 0);
	first = fixed1(f, slot, 100, 1);
	for (int i = 0; i < 50; i++)
		fixed1(f, slot, 100, i);
	/* 50 blocks were freed, the first by the second commit: they wait
	 * in the limbo, and no checkpoint has passed their frees */
	assert_false(heap_block_valid(f->heap, first, NULL, NULL));
	assert_int_equal(heap_limbo_drain(f->heap), 0);
	assert_true(redo_pending(r) >= 51);
	/* an empty commit takes no seq */
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_commit_seq(tx, &seq), 0);
	assert_int_equal(seq, 0);
	f0 = fences(f);
	assert_int_equal(redo_checkpoint(r), 0);
	assert_int_equal(fences(f) - f0, 2);
	assert_int_equal(redo_pending(r), 0);
	/* nothing is left to replay after a crash */
	memcpy(img, f->buf, f->size);
	open_image(img, f->size, &pool, &h);
	assert_int_equal(heap_recovery_stats(h)->logs_valid, 0);
	assert_int_equal(*(uint64_t *)pool_ptr(pool, slot), word(f, slot));
	check(h);
	heap_close(h);
	/* now the frees are passed: the limbo lets all 50 go */
	assert_int_equal(heap_limbo_drain(f->heap), 50);
	free(img);
}

/* test_crash_after_commit -- an image copied right after a commit (no
 * close: a crash) recovers with the committed data. */
static void test_crash_after_commit(void **state)
{
	struct fixture *f = *state;
	char *img = aligned_alloc(4096, f->size);
	uint64_t a = alloc1(f, 1000, 0x12), b, c;
	char msg[64] = "committed, then the power went out";
	struct pool *pool;
	struct heap *h;
	struct tx *tx;
	uint64_t sz;
	uint32_t type;

	assert_non_null(img);
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_alloc(tx, 300, 9, &b), 0);
	memset(pool_ptr(f->pool, b), 0x34, 300);
	/* small, and may change anywhere: carried in the record */
	assert_int_equal(tx_alloc(tx, 100, 9, &c), 0);
	memset(pool_ptr(f->pool, c), 0x56, 100);
	assert_int_equal(tx_set(tx, a + 8, c), 0);
	assert_int_equal(tx_set(tx, a, b), 0);
	assert_int_equal(tx_write(tx, a + 64, msg, sizeof(msg)), 0);
	assert_int_equal(tx_set(tx, ROOT_OFF, a), 0);
	assert_int_equal(tx_commit(tx), 0);
	memcpy(img, f->buf, f->size);

	/* 1: the image as it is */
	open_image(img, f->size, &pool, &h);
	assert_false(pool->was_clean);
	assert_true(heap_recovery_stats(h)->logs_valid >= 1);
	check(h);
	assert_int_equal(*(uint64_t *)pool_ptr(pool, a), b);
	assert_memory_equal((char *)pool_ptr(pool, a) + 64, msg, sizeof(msg));
	assert_int_equal(pool->state->root, a);
	assert_true(heap_block_valid(h, b, &sz, &type));
	assert_int_equal(sz, 300);
	assert_int_equal(type, 9);
	assert_int_equal(((unsigned char *)pool_ptr(pool, b))[299], 0x34);
	heap_close(h);

	/* 2: a crash right after the commit fence: the record is durable,
	 * no checkpoint has passed it, and the in-place writes never reached
	 * the media, nor any of the carried block: the record must bring
	 * them back */
	memcpy(img, f->buf, f->size);
	memset((char *)img + a, 0x12, 1000);
	memset((char *)img + ROOT_OFF, 0, 8);
	memset((char *)img + c - BLOCK_HDR_SIZE, 0, BLOCK_HDR_SIZE + 100);
	still_replayable(img);
	open_image(img, f->size, &pool, &h);
	assert_true(heap_recovery_stats(h)->logs_replayed >= 1);
	check(h);
	assert_int_equal(*(uint64_t *)pool_ptr(pool, a + 8), c);
	assert_true(heap_block_valid(h, c, &sz, &type));
	assert_int_equal(sz, 100);
	assert_int_equal(type, 9);
	assert_int_equal(((unsigned char *)pool_ptr(pool, c))[99], 0x56);
	assert_int_equal(*(uint64_t *)pool_ptr(pool, a), b);
	assert_memory_equal((char *)pool_ptr(pool, a) + 64, msg, sizeof(msg));
	assert_int_equal(pool->state->root, a);
	assert_true(heap_block_valid(h, b, NULL, NULL));
	heap_close(h);

	/* 3: the same crash, the recovery begun and then cancelled (the
	 * open refused the pool): every byte the replay wrote is back */
	{
		char *before = aligned_alloc(4096, f->size);
		struct errmsg em;
		assert_non_null(before);
		memcpy(img, f->buf, f->size);
		memset((char *)img + a, 0x12, 1000);
		memset((char *)img + ROOT_OFF, 0, 8);
		memcpy(before, img, f->size);
		assert_int_equal(pool_open_memory(img, f->size, &pool, &em), 0);
		assert_int_equal(heap_open_begin(pool, &h, &em), 0);
		assert_int_equal(*(uint64_t *)pool_ptr(pool, a), b);
		assert_int_equal(pool->state->root, a);
		heap_open_cancel(h);
		pool_release(pool);
		assert_memory_equal(img, before, f->size);
		free(before);
	}

	/* a clean close leaves no log to replay */
	reopen(f);
	assert_int_equal(heap_recovery_stats(f->heap)->logs_replayed, 0);
	assert_int_equal(heap_recovery_stats(f->heap)->entries_replayed, 0);
	free(img);
}

/* test_big_backlog -- chained records (each a small stub in the ring and
 * its entries in the heap) are checkpointed by their entries' bytes, not
 * their stubs': after 20 of 256 KB with no background checkpointer, a
 * crash leaves at most 1 MiB and a ring's worth to replay, not all 20. */
static void test_big_backlog(void **state)
{
	struct fixture *f = *state;
	enum { SETS = 16000, COMMITS = 20 };
	uint64_t a = alloc1(f, SETS * 8, 0x11);
	char *img = aligned_alloc(4096, f->size);
	struct pool *pool;
	struct heap *h;
	uint64_t replayed;

	assert_non_null(img);
	for (unsigned c = 0; c < COMMITS; c++) {
		struct tx *tx;
		assert_int_equal(tx_begin(f->heap, &tx), 0);
		for (unsigned i = 0; i < SETS; i++)   /* 256 KB of entries */
			assert_int_equal(tx_set(tx, a + 8 * i, c + i), 0);
		assert_int_equal(tx_commit(tx), 0);
	}
	memcpy(img, f->buf, f->size);
	open_image(img, f->size, &pool, &h);
	replayed = heap_recovery_stats(h)->entries_replayed;
	print_message("%llu entries replayed after %u commits of %u\n",
		      (unsigned long long)replayed, COMMITS, SETS);
	assert_true(replayed <= 6 * SETS);
	for (unsigned i = 0; i < SETS; i++)
		assert_int_equal(((uint64_t *)pool_ptr(pool, a))[i],
				 COMMITS - 1 + i);
	heap_close(h);
	free(img);
}

/* test_set_in_own_block -- a word set inside the fixed part of a block
 * the same transaction allocated is stored at once, not logged: applied
 * after the commit it would change bytes the commit checksum covers, and
 * a crash before a checkpoint would then lose the whole transaction.  A
 * word of its changeable prefix is logged like any other, and after a
 * crash the record's store wins over the prefix it carries (the prefix
 * is the block as it was made, the store came later). */
static void test_set_in_own_block(void **state)
{
	struct fixture *f = *state;
	char *img = aligned_alloc(4096, f->size);
	struct pool *pool;
	struct heap *h;
	struct tx *tx;
	uint64_t b;
	char msg[24] = "written through the tx";

	assert_non_null(img);
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_alloc_fixed(tx, 256, 9, 8, &b), 0);
	memset(pool_ptr(f->pool, b), 0, 256);
	*(uint64_t *)pool_ptr(f->pool, b) = 5;  /* the prefix, as made */
	assert_int_equal(tx_set(tx, b + 8, 77), 0);
	assert_int_equal(word(f, b + 8), 77);   /* at once */
	assert_int_equal(tx_write(tx, b + 16, msg, sizeof(msg)), 0);
	assert_int_equal(tx_set(tx, b, 6), 0);   /* the prefix: logged */
	assert_int_equal(word(f, b), 5);
	assert_int_equal(tx_set(tx, ROOT_OFF, b), 0);
	assert_int_equal(tx_commit(tx), 0);
	assert_int_equal(word(f, b), 6);

	/* a crash after apply, before a checkpoint, with nothing of the
	 * block's prefix store on the media: the record must still be valid,
	 * and its store must win over its carried prefix */
	memcpy(img, f->buf, f->size);
	*(uint64_t *)(img + b) = 5;
	still_replayable(img);
	open_image(img, f->size, &pool, &h);
	assert_int_equal(heap_recovery_stats(h)->logs_replayed, 1);
	assert_int_equal(pool->state->root, b);
	assert_int_equal(*(uint64_t *)pool_ptr(pool, b), 6);
	assert_int_equal(*(uint64_t *)pool_ptr(pool, b + 8), 77);
	assert_memory_equal(pool_ptr(pool, b + 16), msg, sizeof(msg));
	assert_true(heap_block_valid(h, b, NULL, NULL));
	check(h);
	heap_close(h);
	free(img);
}

/* newest_log -- the image offset of the record with the highest seq (a
 * header at a cache-line start of some lane's ring). */
static uint64_t newest_log(const char *img)
{
	const struct pool_hdr *hdr = (const void *)img;
	uint64_t rings = hdr->lanes_off + 2 * CKPT_SLOT_SIZE(hdr->nlanes);
	uint64_t best = 0, best_seq = 0;

	for (uint64_t off = rings;
	     off < rings + (uint64_t)hdr->nlanes * hdr->log_size;
	     off += CACHELINE) {
		const struct log_rec *lh = (const void *)(img + off);
		uint64_t lane = (off - rings) / hdr->log_size;
		if (lh->lane == lane && lh->used && lh->used % 8 == 0 &&
		    lh->seq > best_seq) {
			best_seq = lh->seq;
			best = off;
		}
	}
	return best;
}

/* test_torn_log -- a crash that tore the commit's log: recovery must
 * ignore it (the transaction never happened) and leave a sound heap. */
static void test_torn_log(void **state)
{
	struct fixture *f = *state;
	char *img = aligned_alloc(4096, f->size);
	uint64_t a = alloc1(f, 512, 0x21), log;
	char msg[64];
	struct pool *pool;
	struct heap *h;
	struct tx *tx;

	assert_non_null(img);
	memset(msg, 0x99, sizeof(msg));
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_write(tx, a + 128, msg, sizeof(msg)), 0);
	assert_int_equal(tx_commit(tx), 0);
	memcpy(img, f->buf, f->size);

	/* the log of that commit holds the message */
	log = newest_log(img);
	assert_true(log != 0);
	assert_true(((const struct log_rec *)(img + log))->used >=
		    sizeof(msg));
	/* the record is torn (its last entry bytes never made it) and so
	 * are the in-place writes it covered */
	img[log + sizeof(struct log_rec) +
	    ((const struct log_rec *)(img + log))->used - 1] ^= 0x5a;
	memset(img + a + 128, 0x21, sizeof(msg));

	open_image(img, f->size, &pool, &h);
	check(h);
	for (size_t i = 0; i < sizeof(msg); i++)
		assert_int_equal(((unsigned char *)pool_ptr(pool, a))[128 + i],
				 0x21);
	assert_true(heap_block_valid(h, a, NULL, NULL));
	heap_close(h);
	free(img);
}

/* test_root -- the pool's root word, set by a transaction, persists. */
static void test_root(void **state)
{
	struct fixture *f = *state;
	uint64_t a = alloc1(f, 128, 0x5a);
	struct tx *tx;

	assert_int_equal(f->pool->state->root, 0);
	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_set(tx, ROOT_OFF, a), 0);
	assert_int_equal(f->pool->state->root, 0);
	assert_int_equal(tx_commit(tx), 0);
	assert_int_equal(f->pool->state->root, a);

	reopen(f);
	assert_int_equal(f->pool->state->root, a);
	assert_true(heap_block_valid(f->heap, f->pool->state->root, NULL,
				     NULL));
	assert_int_equal(((unsigned char *)pool_ptr(f->pool, a))[127], 0x5a);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_set_write),
		T(test_odd_offsets),
		T(test_set_invalid),
		T(test_abort),
		T(test_big),
		T(test_big_backlog),
		T(test_free_invalid),
		T(test_fences),
		T(test_checkpoint),
		T(test_crash_after_commit),
		T(test_torn_log),
		T(test_root),
		T(test_set_in_own_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
