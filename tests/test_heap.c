/*
 * test_heap.c -- unit tests of the persistent heap (heap.c) through heap
 * transactions, on in-memory pool images: block placement and alignment,
 * size classes, huge spans, filling the pool, utilization, reopening, and
 * concurrent allocation.  heap_check runs after every test.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "testutil.h"
#include "pkv.h"
#include "pool.h"
#include "heap.h"
#include "tx.h"
#include "testheap.h"

struct fixture {
	size_t size;        /* bytes of the image */
	char *buf;          /* the pool image, kept across close */
	struct heap *heap;
	struct pool *pool;
};

/* heap_start -- open the image in f->buf as a pool and its heap. */
static void heap_start(struct fixture *f)
{
	struct errmsg em;
	int rc;

	err_clear(&em);
	rc = pool_open_memory(f->buf, f->size, &f->pool, &em);
	if (rc != 0)
		fail_msg("pool_open_memory: %s: %s", pkv_strerror(rc),
			 em.text);
	rc = heap_open(f->pool, &f->heap, &em);
	if (rc != 0)
		fail_msg("heap_open: %s: %s", pkv_strerror(rc), em.text);
	assert_ptr_equal(heap_pool(f->heap), f->pool);
}

/* heap_stop -- close the heap (and with it the pool); the image stays. */
static void heap_stop(struct fixture *f)
{
	heap_close(f->heap);
	f->heap = NULL;
	f->pool = NULL;
}


static int setup_size(void **state, size_t size)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct errmsg em;
	int rc;

	if (f == NULL)
		return -1;
	unsetenv("PKV_PERSIST");
	f->size = size;
	f->buf = aligned_alloc(4096, size);
	if (f->buf == NULL)
		return -1;
	memset(f->buf, 0xee, size);  /* format must not rely on zeroes */
	err_clear(&em);
	rc = pool_format_memory(f->buf, size, NULL, &em);
	if (rc != 0) {
		print_error("pool_format_memory: %s: %s\n", pkv_strerror(rc),
			    em.text);
		return -1;
	}
	heap_start(f);
	*state = f;
	return 0;
}

static int setup8(void **state) { return setup_size(state, 8u << 20); }
static int setup32(void **state) { return setup_size(state, 32u << 20); }
static int setup64(void **state) { return setup_size(state, 64u << 20); }
static int setup256(void **state) { return setup_size(state, 256u << 20); }

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->heap != NULL) {
		check(f->heap);
		heap_stop(f);
	}
	free(f->buf);
	free(f);
	return 0;
}

/* alloc1 -- one transaction with one allocation; returns tx_alloc's code. */
static int alloc1(struct heap *h, size_t size, uint32_t type, uint64_t *offp)
{
	struct tx *tx;
	int rc;

	assert_int_equal(tx_begin(h, &tx), 0);
	rc = tx_alloc(tx, size, type, offp);
	if (rc != 0) {
		tx_abort(tx);
		return rc;
	}
	assert_int_equal(tx_commit(tx), 0);
	return 0;
}

/* free1 -- one transaction freeing one block. */
static void free1(struct heap *h, uint64_t off)
{
	struct tx *tx;

	assert_int_equal(tx_begin(h, &tx), 0);
	assert_int_equal(tx_free(tx, off), 0);
	assert_int_equal(tx_commit(tx), 0);
}

/* fill -- a recognisable pattern for block `off`. */
static void fill(char *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (char)((off >> 4) * 31 + i * 7);
}

static void verify(const char *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (char)((off >> 4) * 31 + i * 7))
			fail_msg("block at %llu: byte %zu overwritten",
				 (unsigned long long)off, i);
}

struct blk {
	uint64_t off;
	uint64_t size;
	uint32_t type;
};

static int blk_cmp(const void *a, const void *b)
{
	const struct blk *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* assert_disjoint -- sorts blocks and checks [off-16, off+size) overlap. */
static void assert_disjoint(struct blk *b, size_t n)
{
	qsort(b, n, sizeof(*b), blk_cmp);
	for (size_t i = 1; i < n; i++)
		if (b[i - 1].off + b[i - 1].size > b[i].off - BLOCK_HDR_SIZE)
			fail_msg("blocks at %llu (+%llu) and %llu overlap",
				 (unsigned long long)b[i - 1].off,
				 (unsigned long long)b[i - 1].size,
				 (unsigned long long)b[i].off);
}

/* test_random_sizes -- sizes 1..5000: distinct, aligned, valid blocks. */
static void test_random_sizes(void **state)
{
	struct fixture *f = *state;
	enum { N = 600 };
	struct blk *b = calloc(N, sizeof(*b));
	uint64_t seed = 42;
	const struct pool_hdr *hdr = f->pool->hdr;

	assert_non_null(b);
	for (size_t i = 0; i < N; i++) {
		uint64_t got;
		uint32_t type;

		b[i].size = 1 + tu_rand(&seed) % 5000;
		b[i].type = (uint32_t)(i * 3 + 1);
		assert_int_equal(alloc1(f->heap, b[i].size, b[i].type,
					&b[i].off), 0);
		assert_int_equal(b[i].off % BLOCK_ALIGN, 0);
		assert_true(b[i].off >= hdr->chunks_off + BLOCK_HDR_SIZE);
		assert_true(b[i].off + b[i].size <= f->size);
		assert_true(heap_block_valid(f->heap, b[i].off, &got, &type));
		assert_int_equal(got, b[i].size);
		assert_int_equal(type, b[i].type);
		fill(pool_ptr(f->pool, b[i].off), b[i].off, b[i].size);
		/* the interior of a block is not a block */
		assert_false(heap_block_valid(f->heap, b[i].off + 16, NULL,
					      NULL));
	}
	for (size_t i = 0; i < N; i++)
		verify(pool_ptr(f->pool, b[i].off), b[i].off, b[i].size);
	assert_disjoint(b, N);
	check(f->heap);
	free(b);
}

/* test_class_sizes -- every class holds its size plus the header, wastes
 * at most 12.5% (plus alignment), and huge sizes have no class. */
static void test_class_sizes(void **state)
{
	(void)state;
	for (size_t size = 1; size <= 16384; size++) {
		size_t cs = heap_class_size(size);
		double max = (double)(size + BLOCK_HDR_SIZE) * 1.125 + 16;

		if (cs < size + BLOCK_HDR_SIZE || (double)cs > max)
			fail_msg("heap_class_size(%zu) = %zu, want %zu..%.0f",
				 size, cs, size + BLOCK_HDR_SIZE, max);
		assert_int_equal(cs % BLOCK_ALIGN, 0);
		assert_true(cs >= heap_class_size(size - (size > 1)));
	}
	assert_int_equal(heap_class_size(1u << 20), 0);
	assert_int_equal(heap_class_size(CHUNK_SIZE), 0);
	/* past 32 KiB, a chunk shared by 7..2 blocks, then a huge span */
	assert_int_equal(heap_class_size(40000), 43680);   /* 6 a chunk */
	assert_int_equal(heap_class_size(131040 - BLOCK_HDR_SIZE), 131040);
	assert_int_equal(heap_class_size(131040 - BLOCK_HDR_SIZE + 1), 0);
	for (size_t size = 16385; size <= 131040 - BLOCK_HDR_SIZE; size += 97)
		assert_true(heap_class_size(size) >= size + BLOCK_HDR_SIZE);
}

/* test_full_takes_bigger -- once every chunk is a run, a size whose
 * runs are full takes a free block of a bigger class: the pool is full
 * only when no free block fits (here: the 3 KiB run is used up too). */
static void test_full_takes_bigger(void **state)
{
	struct fixture *f = *state;
	uint64_t off;
	size_t n = 0;
	int rc;

	assert_int_equal(alloc1(f->heap, 3000, 1, &off), 0);
	while ((rc = alloc1(f->heap, 100, 2, &off)) == 0)
		n++;
	assert_int_equal(rc, PKV_EFULL);
	assert_int_equal(alloc1(f->heap, 3000, 3, &off), PKV_EFULL);
	print_message("%zu blocks of 100 B after one of 3000 B\n", n);
	check(f->heap);
}

/* test_fill_40k -- values of 40,000 bytes fill a 64 MiB pool to more
 * than 80% payload (a whole 256 KiB chunk each, they used to fill 15%). */
static void test_fill_40k(void **state)
{
	struct fixture *f = *state;
	size_t n = 0;
	uint64_t off;
	int rc;

	while ((rc = alloc1(f->heap, 40000, 4, &off)) == 0)
		n++;
	assert_int_equal(rc, PKV_EFULL);
	print_message("%zu blocks of 40,000 B in a %zu MiB pool: %.1f%% "
		      "payload\n", n, f->size >> 20,
		      100.0 * (double)n * 40000 / (double)f->size);
	assert_true((double)n * 40000 >= 0.8 * (double)f->size);
	check(f->heap);
}

/* test_huge -- a 1 MiB block takes whole chunks and can be freed. */
static void test_huge(void **state)
{
	struct fixture *f = *state;
	struct heap_stats st0, st1, st2;
	uint64_t off, size;
	uint32_t type;

	heap_get_stats(f->heap, &st0);
	assert_int_equal(alloc1(f->heap, 1u << 20, 77, &off), 0);
	assert_int_equal(off % BLOCK_ALIGN, 0);
	assert_true(off + (1u << 20) <= f->size);
	assert_true(heap_block_valid(f->heap, off, &size, &type));
	assert_int_equal(size, 1u << 20);
	assert_int_equal(type, 77);
	fill(pool_ptr(f->pool, off), off, 1u << 20);
	heap_get_stats(f->heap, &st1);
	assert_true(st1.chunks_huge >= (1u << 20) / CHUNK_SIZE);
	assert_true(st1.chunks_free <= st0.chunks_free - 4);
	assert_int_equal(st1.allocated_blocks, st0.allocated_blocks + 1);
	check(f->heap);
	verify(pool_ptr(f->pool, off), off, 1u << 20);

	free1(f->heap, off);
	assert_false(heap_block_valid(f->heap, off, NULL, NULL));
	heap_get_stats(f->heap, &st2);
	assert_int_equal(st2.chunks_huge, st0.chunks_huge);
	assert_int_equal(st2.chunks_free, st0.chunks_free);
	assert_int_equal(st2.allocated_blocks, st0.allocated_blocks);
	check(f->heap);
}

/* test_zero_size -- a zero-byte allocation is refused, tx still usable. */
static void test_zero_size(void **state)
{
	struct fixture *f = *state;
	struct tx *tx;
	uint64_t off = 0;
	int rc;

	assert_int_equal(tx_begin(f->heap, &tx), 0);
	assert_int_equal(tx_alloc(tx, 0, 1, &off), PKV_EINVAL);
	tx_abort(tx);
	rc = alloc1(f->heap, (size_t)1 << 40, 1, &off);
	assert_true(rc == PKV_EFULL || rc == PKV_EINVAL);
	check(f->heap);
}

/* test_fill -- 4 KiB blocks until the pool is full: everything intact,
 * and a freed block can be taken again. */
static void test_fill(void **state)
{
	struct fixture *f = *state;
	size_t cap = f->size / 4096, n = 0;
	uint64_t *offs = calloc(cap, sizeof(*offs)), off;
	int rc;

	assert_non_null(offs);
	while ((rc = alloc1(f->heap, 4096, 4, &off)) == 0) {
		assert_true(n < cap);
		fill(pool_ptr(f->pool, off), off, 4096);
		offs[n++] = off;
	}
	assert_int_equal(rc, PKV_EFULL);
	print_message("filled with %zu blocks of 4 KiB (%zu MiB pool)\n", n,
		      f->size >> 20);
	assert_true(n * 4096 >= f->size / 2);
	check(f->heap);
	for (size_t i = 0; i < n; i++)
		verify(pool_ptr(f->pool, offs[i]), offs[i], 4096);
	/* still full */
	assert_int_equal(alloc1(f->heap, 4096, 4, &off), PKV_EFULL);

	free1(f->heap, offs[n / 2]);
	assert_int_equal(alloc1(f->heap, 4096, 5, &off), 0);
	assert_int_equal(off, offs[n / 2]);   /* the only free place */
	check(f->heap);
	for (size_t i = 0; i < n; i++)
		if (i != n / 2)
			verify(pool_ptr(f->pool, offs[i]), offs[i], 4096);
	free(offs);
}

/*
 * test_utilization -- random sizes 64..4096 until the first PKV_EFULL:
 * at least 85% of the heap must then be allocated.  Each size class in use
 * holds at least one run (a whole 256 KiB chunk), a fixed ~11 MiB for the
 * ~44 classes this size range touches, so the figure depends on the pool
 * size: 0.77 at 32 MiB, 0.88 at 64 MiB; checked on 256 MiB.
 */
static void test_utilization(void **state)
{
	struct fixture *f = *state;
	struct heap_stats st;
	uint64_t seed = 7, off, bytes = 0;
	size_t n = 0, misses = 0;
	double first;
	int rc;

	for (;;) {
		size_t size = 64 + tu_rand(&seed) % (4096 - 64 + 1);

		rc = alloc1(f->heap, size, 1, &off);
		if (rc != 0)
			break;
		bytes += size;
		n++;
	}
	assert_int_equal(rc, PKV_EFULL);
	heap_get_stats(f->heap, &st);
	first = st.utilization;
	print_message("%zu MiB pool first full after %zu blocks: "
		      "utilization %.3f (data %.3f of heap)\n", f->size >> 20,
		      n, first,
		      (double)bytes / (double)st.heap_bytes);
	assert_int_equal(st.allocated_blocks, n);
	assert_true(st.allocated_bytes >= bytes);
	assert_true(st.utilization > 0 && st.utilization <= 1.0);

	/* keep trying other sizes: the figure a full pool settles at */
	while (misses < 200) {
		size_t size = 64 + tu_rand(&seed) % (4096 - 64 + 1);

		if (alloc1(f->heap, size, 1, &off) != 0)
			misses++;
	}
	heap_get_stats(f->heap, &st);
	print_message("saturated: utilization %.3f\n", st.utilization);
	check(f->heap);
	assert_true(first >= 0.85);
}

struct collect {
	struct blk *b;
	size_t n, cap;
};

static int collect_fn(void *ctx, uint64_t off, uint64_t size, uint32_t type)
{
	struct collect *c = ctx;

	if (c->n == c->cap)
		return -1;
	c->b[c->n].off = off;
	c->b[c->n].size = size;
	c->b[c->n].type = type;
	c->n++;
	return 0;
}

static int stop_at_3(void *ctx, uint64_t off, uint64_t size, uint32_t type)
{
	int *k = ctx;

	(void)off;
	(void)size;
	(void)type;
	return ++*k == 3 ? 1234 : 0;
}

/* test_reopen -- after close and reopen the same blocks are allocated. */
static void test_reopen(void **state)
{
	struct fixture *f = *state;
	enum { N = 300 };
	struct blk want[N + 1], got[N + 2];
	struct collect c = { got, 0, N + 2 };
	uint64_t seed = 99;
	size_t n = 0;
	int k = 0;

	for (size_t i = 0; i < N; i++) {
		struct blk b;

		b.size = 1 + tu_rand(&seed) % 3000;
		b.type = (uint32_t)i;
		assert_int_equal(alloc1(f->heap, b.size, b.type, &b.off), 0);
		fill(pool_ptr(f->pool, b.off), b.off, b.size);
		want[n++] = b;
		if (i % 3 == 2) {          /* free every third one */
			free1(f->heap, want[n - 2].off);
			want[n - 2] = want[n - 1];
			n--;
		}
	}
	want[n].size = 600000;             /* and a huge one */
	want[n].type = 12345;
	assert_int_equal(alloc1(f->heap, want[n].size, want[n].type,
				&want[n].off), 0);
	fill(pool_ptr(f->pool, want[n].off), want[n].off, want[n].size);
	n++;
	qsort(want, n, sizeof(want[0]), blk_cmp);
	check(f->heap);
	heap_stop(f);

	heap_start(f);
	assert_true(f->pool->was_clean);
	assert_int_equal(f->pool->state->clean_shutdown, 0); /* open now */
	check(f->heap);
	assert_int_equal(heap_foreach_block(f->heap, collect_fn, &c), 0);
	assert_int_equal(c.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(got[i].off, want[i].off);  /* offset order */
		assert_int_equal(got[i].size, want[i].size);
		assert_int_equal(got[i].type, want[i].type);
		verify(pool_ptr(f->pool, got[i].off), got[i].off,
		       got[i].size);
	}
	assert_int_equal(heap_foreach_block(f->heap, stop_at_3, &k), 1234);
	assert_int_equal(k, 3);
	{
		struct heap_stats st;

		heap_get_stats(f->heap, &st);
		assert_int_equal(st.allocated_blocks, n);
	}
	/* the reopened heap allocates around the old blocks */
	{
		uint64_t off;

		assert_int_equal(alloc1(f->heap, 100, 1, &off), 0);
		for (size_t i = 0; i < n; i++)
			assert_true(off + 100 <= want[i].off - BLOCK_HDR_SIZE ||
				    want[i].off + want[i].size <=
				    off - BLOCK_HDR_SIZE);
	}
	check(f->heap);
}

/*
 * test_reopen_free_waits -- a reopened heap reads a run's bitmap only when
 * it needs it; a block freed in a run not read yet still waits for a
 * checkpoint past its free before it is handed out again, and the run's
 * free count stays right (check).
 */
static void test_reopen_free_waits(void **state)
{
	struct fixture *f = *state;
	enum { N = 40 };
	uint64_t off[N], got;

	for (size_t i = 0; i < N; i++)
		assert_int_equal(alloc1(f->heap, 100, 1, &off[i]), 0);
	heap_stop(f);
	heap_start(f);
	free1(f->heap, off[0]);        /* the lowest block of its run */
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(alloc1(f->heap, 100, 2, &got), 0);
		assert_true(got != off[0]);
	}
	check(f->heap);                /* a checkpoint: it may come back */
	for (size_t i = 1; i < N; i++)
		free1(f->heap, off[i]);
	check(f->heap);
}

/* test_unclean -- an image copied while the heap is open is unclean. */
static void test_unclean(void **state)
{
	struct fixture *f = *state;
	char *copy = aligned_alloc(4096, f->size);
	struct pool *pool;
	struct heap *h;
	uint64_t off;

	assert_non_null(copy);
	assert_int_equal(alloc1(f->heap, 100, 1, &off), 0);
	memcpy(copy, f->buf, f->size);
	assert_int_equal(pool_open_memory(copy, f->size, &pool, NULL), 0);
	assert_false(pool->was_clean);
	assert_int_equal(heap_open(pool, &h, NULL), 0);
	assert_true(heap_block_valid(h, off, NULL, NULL));
	check(h);
	heap_close(h);
	assert_int_equal(pool_open_memory(copy, f->size, &pool, NULL), 0);
	assert_true(pool->was_clean);
	pool_close(pool);
	free(copy);
}

/* Concurrent allocation: each thread allocates and frees its own blocks. */
#define NTHREADS 4
#define CYCLES 2000
#define LIVE 48

struct worker {
	struct heap *heap;
	struct pool *pool;
	unsigned id;
	struct blk live[LIVE];
	size_t nlive;
	int failed;
	char why[128];
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = 1000 + w->id;

	for (int i = 0; i < CYCLES && !w->failed; i++) {
		struct tx *tx;
		uint64_t r = tu_rand(&seed);
		int rc;

		if (tx_begin(w->heap, &tx) != 0) {
			w->failed = 1;
			snprintf(w->why, sizeof(w->why), "tx_begin");
			break;
		}
		if (w->nlive == LIVE || (w->nlive > 0 && r % 2)) {
			size_t k = (r >> 8) % w->nlive;
			struct blk *b = &w->live[k];
			const char *p = pool_ptr(w->pool, b->off);

			for (size_t j = 0; j < b->size; j++)
				if (p[j] != (char)(w->id + j)) {
					w->failed = 1;
					snprintf(w->why, sizeof(w->why),
						 "block %llu overwritten",
						 (unsigned long long)b->off);
				}
			rc = tx_free(tx, b->off);
			if (rc == 0)
				rc = tx_commit(tx);
			else
				tx_abort(tx);
			w->live[k] = w->live[--w->nlive];
		} else {
			struct blk b;

			b.size = 16 + (r >> 8) % 2048;
			b.type = w->id;
			rc = tx_alloc(tx, b.size, b.type, &b.off);
			if (rc == 0) {
				for (size_t j = 0; j < b.size; j++)
					((char *)pool_ptr(w->pool, b.off))[j] =
						(char)(w->id + j);
				rc = tx_commit(tx);
				w->live[w->nlive++] = b;
			} else {
				tx_abort(tx);
			}
		}
		if (rc != 0 && !w->failed) {
			w->failed = 1;
			snprintf(w->why, sizeof(w->why), "cycle %d: %s", i,
				 pkv_strerror(rc));
		}
	}
	return NULL;
}

/* test_threads -- 4 threads x 2000 alloc/free transactions at once. */
static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct heap_stats st;
	struct blk all[NTHREADS * LIVE], got[NTHREADS * LIVE + 1];
	struct collect c = { got, 0, NTHREADS * LIVE + 1 };
	size_t n = 0;
	uint64_t bytes = 0;

	memset(w, 0, sizeof(w));
	for (unsigned i = 0; i < NTHREADS; i++) {
		w[i].heap = f->heap;
		w[i].pool = f->pool;
		w[i].id = i + 1;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
				 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (unsigned i = 0; i < NTHREADS; i++) {
		if (w[i].failed)
			fail_msg("thread %u: %s", i, w[i].why);
		for (size_t j = 0; j < w[i].nlive; j++) {
			all[n++] = w[i].live[j];
			bytes += w[i].live[j].size;
		}
	}
	check(f->heap);
	heap_get_stats(f->heap, &st);
	assert_int_equal(st.allocated_blocks, n);
	assert_true(st.allocated_bytes >= bytes);
	assert_int_equal(heap_foreach_block(f->heap, collect_fn, &c), 0);
	assert_int_equal(c.n, n);
	qsort(all, n, sizeof(all[0]), blk_cmp);
	assert_disjoint(all, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t size;
		uint32_t type;

		assert_int_equal(got[i].off, all[i].off);
		assert_true(heap_block_valid(f->heap, all[i].off, &size,
					     &type));
		assert_int_equal(size, all[i].size);
		assert_int_equal(type, all[i].type);
	}
	/* and the survivors are what a reopen finds */
	heap_stop(f);
	heap_start(f);
	check(f->heap);
	heap_get_stats(f->heap, &st);
	assert_int_equal(st.allocated_blocks, n);
}

#define T8(fn) cmocka_unit_test_setup_teardown(fn, setup8, teardown)
#define T32(fn) cmocka_unit_test_setup_teardown(fn, setup32, teardown)
#define T256(fn) cmocka_unit_test_setup_teardown(fn, setup256, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T32(test_random_sizes),
		cmocka_unit_test(test_class_sizes),
		T8(test_huge),
		T8(test_zero_size),
		T8(test_fill),
		T32(test_fill),
		cmocka_unit_test_setup_teardown(test_fill_40k, setup64,
						teardown),
		T8(test_full_takes_bigger),
		T256(test_utilization),
		T32(test_reopen),
		T32(test_reopen_free_waits),
		T8(test_unclean),
		T32(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
