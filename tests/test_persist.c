/*
 * test_persist.c -- unit tests of the persistence layer (persist.c) on the
 * memory backend: the counters of lines, bytes and fences, the copy and
 * fill helpers, and the hook the crash simulator relies on; and on the
 * file backend, what a fence syncs.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "persist.h"

#define BUF_LEN (64u << 10)

struct fixture {
	char *buf;
	struct persist p;
};

static int setup(void **state)
{
	/* 64-aligned, as struct persist must be */
	size_t sz = (sizeof(struct fixture) + 63) & ~(size_t)63;
	struct fixture *f = aligned_alloc(64, sz);

	if (f == NULL)
		return -1;
	memset(f, 0, sz);
	/* PKV_PERSIST would override the backend we ask for. */
	unsetenv("PKV_PERSIST");
	f->buf = aligned_alloc(4096, BUF_LEN);
	if (f->buf == NULL)
		return -1;
	memset(f->buf, 0, BUF_LEN);
	persist_init(&f->p, f->buf, BUF_LEN, PERSIST_MEMORY, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->buf);
	free(f);
	return 0;
}

static void stats(struct fixture *f, struct persist_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	persist_get_stats(&f->p, st);
}

/* test_init -- a fresh layer has the memory backend and zero counters. */
static void test_init(void **state)
{
	struct fixture *f = *state;
	struct persist_stats st;

	assert_int_equal(f->p.backend, PERSIST_MEMORY);
	assert_ptr_equal(f->p.base, f->buf);
	assert_int_equal(f->p.len, BUF_LEN);
	assert_null(f->p.hook);
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 0);
	assert_int_equal(st.fences, 0);
	assert_int_equal(st.bytes_flushed, 0);
}

/* test_backend_names -- the three backends have their documented names. */
static void test_backend_names(void **state)
{
	(void)state;
	assert_string_equal(persist_backend_name(PERSIST_PMEM), "pmem");
	assert_string_equal(persist_backend_name(PERSIST_FILE), "file");
	assert_string_equal(persist_backend_name(PERSIST_MEMORY), "memory");
}

/* test_flush_aligned -- 100 bytes from a line start touch 2 lines. */
static void test_flush_aligned(void **state)
{
	struct fixture *f = *state;
	struct persist_stats st;

	persist_flush(&f->p, f->buf + 128, 100);
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 2);
	assert_int_equal(st.bytes_flushed, 100);
	assert_int_equal(st.fences, 0);

	/* exactly one line */
	persist_flush(&f->p, f->buf + 4096, 64);
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 3);
	assert_int_equal(st.bytes_flushed, 164);
	assert_int_equal(st.fences, 0);
}

/* test_flush_unaligned -- every line touched counts, however little. */
static void test_flush_unaligned(void **state)
{
	struct fixture *f = *state;
	struct persist_stats st;

	persist_flush(&f->p, f->buf + 60, 10);     /* lines 0 and 1 */
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 2);
	assert_int_equal(st.bytes_flushed, 10);

	persist_flush(&f->p, f->buf + 1, 1);       /* line 0 */
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 3);
	assert_int_equal(st.bytes_flushed, 11);

	persist_flush(&f->p, f->buf + 63, 130);    /* bytes 63..192: lines 0-3 */
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 7);
	assert_int_equal(st.bytes_flushed, 141);

	persist_flush(&f->p, f->buf + 1000, 100);  /* 1000..1099: lines 15-17 */
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 10);
	assert_int_equal(st.bytes_flushed, 241);
	assert_int_equal(st.fences, 0);
}

/* test_fences -- fences are counted, and persist_range is flush + fence. */
static void test_fences(void **state)
{
	struct fixture *f = *state;
	struct persist_stats st;

	persist_fence(&f->p);
	persist_fence(&f->p);
	persist_fence(&f->p);
	stats(f, &st);
	assert_int_equal(st.fences, 3);
	assert_int_equal(st.lines_flushed, 0);

	persist_range(&f->p, f->buf + 256, 65);    /* lines 4 and 5 */
	stats(f, &st);
	assert_int_equal(st.fences, 4);
	assert_int_equal(st.lines_flushed, 2);
	assert_int_equal(st.bytes_flushed, 65);
}

/* test_memcpy -- persist_memcpy copies, flushes, does not fence. */
static void test_memcpy(void **state)
{
	struct fixture *f = *state;
	struct persist_stats st;
	char src[300];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 7 + 1);
	persist_memcpy(&f->p, f->buf + 640, src, sizeof(src)); /* 640..939 */
	assert_memory_equal(f->buf + 640, src, sizeof(src));
	assert_int_equal(f->buf[639], 0);
	assert_int_equal(f->buf[940], 0);
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 5);     /* lines 10..14 */
	assert_int_equal(st.bytes_flushed, 300);
	assert_int_equal(st.fences, 0);
}

/* test_memset_store64 -- fill and 8-byte store also flush without fence. */
static void test_memset_store64(void **state)
{
	struct fixture *f = *state;
	struct persist_stats st;
	uint64_t *w = (uint64_t *)(f->buf + 2048 + 8);

	persist_memset(&f->p, f->buf + 8192, 0x5a, 129); /* 3 lines */
	for (size_t i = 0; i < 129; i++)
		assert_int_equal((unsigned char)f->buf[8192 + i], 0x5a);
	assert_int_equal(f->buf[8192 + 129], 0);
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 3);
	assert_int_equal(st.bytes_flushed, 129);

	persist_store64(&f->p, w, 0x0123456789abcdefull);
	assert_int_equal(*w, 0x0123456789abcdefull);
	stats(f, &st);
	assert_int_equal(st.lines_flushed, 4);
	assert_int_equal(st.bytes_flushed, 137);
	assert_int_equal(st.fences, 0);
}

/* What the hook saw. */
struct trace {
	int nflush;
	int nfence;
	uint64_t off[16];
	size_t len[16];
	int order[32];      /* 'F' flush, 'S' fence, in sequence */
	int nevents;
};

static void trace_flush(void *ctx, uint64_t off, size_t len)
{
	struct trace *t = ctx;

	if (t->nflush < 16) {
		t->off[t->nflush] = off;
		t->len[t->nflush] = len;
	}
	t->nflush++;
	if (t->nevents < 32)
		t->order[t->nevents++] = 'F';
}

static void trace_fence(void *ctx)
{
	struct trace *t = ctx;

	t->nfence++;
	if (t->nevents < 32)
		t->order[t->nevents++] = 'S';
}

/* The hook may be told the exact range or the whole lines covering it. */
static void assert_range_covers(uint64_t off, size_t len, uint64_t want_off,
				size_t want_len)
{
	uint64_t end = off + len, want_end = want_off + want_len;

	assert_true(off == want_off || off == (want_off & ~(uint64_t)63));
	assert_true(end == want_end ||
		    end == ((want_end + 63) & ~(uint64_t)63));
}

/* test_hook -- the hook sees pool-relative flushes and fences, in order;
 * after removal it sees nothing while the counters go on. */
static void test_hook(void **state)
{
	struct fixture *f = *state;
	struct trace t;
	struct persist_hook hook = { trace_flush, trace_fence, &t };
	struct persist_stats st;
	char src[40] = "persist through the hook";

	memset(&t, 0, sizeof(t));
	persist_set_hook(&f->p, &hook);
	assert_ptr_equal(f->p.hook, &hook);

	persist_flush(&f->p, f->buf + 4096, 100);
	persist_fence(&f->p);
	persist_memcpy(&f->p, f->buf + 12345, src, sizeof(src));
	persist_range(&f->p, f->buf + 64, 8);

	assert_int_equal(t.nflush, 3);
	assert_int_equal(t.nfence, 2);
	assert_range_covers(t.off[0], t.len[0], 4096, 100);
	assert_range_covers(t.off[1], t.len[1], 12345, sizeof(src));
	assert_range_covers(t.off[2], t.len[2], 64, 8);
	assert_int_equal(t.nevents, 5);
	assert_int_equal(t.order[0], 'F');
	assert_int_equal(t.order[1], 'S');
	assert_int_equal(t.order[2], 'F');
	assert_int_equal(t.order[3], 'F');
	assert_int_equal(t.order[4], 'S');
	assert_memory_equal(f->buf + 12345, src, sizeof(src));

	persist_set_hook(&f->p, NULL);
	assert_null(f->p.hook);
	persist_flush(&f->p, f->buf + 512, 64);
	persist_fence(&f->p);
	assert_int_equal(t.nflush, 3);
	assert_int_equal(t.nfence, 2);
	stats(f, &st);
	assert_int_equal(st.fences, 3);
	assert_int_equal(st.bytes_flushed, 100 + sizeof(src) + 8 + 64);
}

/*
 * test_file_fence -- on the file backend (a private mapping, as pool.c
 * makes it) a fence over ranges flushed on scattered pages syncs once,
 * keeps another mapping's ranges for that mapping's fence, and leaves the
 * file holding what was stored: a private mapping's stores reach the
 * file only through the layer's writes.
 */
static void test_file_fence(void **state)
{
	enum { PAGES = 16, PG = 4096 };
	char *dir = tu_scratch_dir("test_persist"), *path;
	struct persist a, b;
	struct persist_stats st;
	char *ma, *mb, back[8];
	int fa, fb;

	(void)state;
	assert_non_null(dir);
	path = tu_join(dir, "a");
	fa = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	free(path);
	path = tu_join(dir, "b");
	fb = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	free(path);
	assert_true(fa >= 0 && fb >= 0);
	assert_int_equal(ftruncate(fa, PAGES * PG), 0);
	assert_int_equal(ftruncate(fb, PAGES * PG), 0);
	ma = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fa, 0);
	mb = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fb, 0);
	assert_true(ma != MAP_FAILED && mb != MAP_FAILED);
	persist_init(&a, ma, PAGES * PG, PERSIST_FILE, 0);
	persist_init(&b, mb, PAGES * PG, PERSIST_FILE, 0);
	assert_int_equal(persist_set_private(&a, PAGES * PG), 0);
	assert_int_equal(persist_set_private(&b, PAGES * PG), 0);
	persist_set_fd(&a, fa);
	persist_set_fd(&b, fb);

	/* Three pages of a, not touching, and one of b. */
	for (int i = 0; i < 3; i++)
		persist_store64(&a, (uint64_t *)(ma + (1 + 5 * i) * PG),
				0x1111111111111111ull * (i + 1));
	persist_store64(&b, (uint64_t *)(mb + 2 * PG), 42);
	persist_fence(&a);
	persist_get_stats(&a, &st);
	assert_int_equal(st.fences, 1);
	assert_int_equal(st.syncs, 1);
	persist_get_stats(&b, &st);
	assert_int_equal(st.syncs, 0);
	/* b's range was kept: its own fence syncs it. */
	persist_fence(&b);
	persist_get_stats(&b, &st);
	assert_int_equal(st.syncs, 1);
	assert_int_equal(persist_failed(&a), 0);
	assert_int_equal(persist_failed(&b), 0);
	/* Nothing is left pending: a fence with no flush syncs nothing. */
	persist_fence(&a);
	persist_get_stats(&a, &st);
	assert_int_equal(st.syncs, 1);
	for (int i = 0; i < 3; i++) {
		uint64_t want = 0x1111111111111111ull * (i + 1);
		assert_int_equal(pread(fa, back, 8, (1 + 5 * i) * PG), 8);
		assert_memory_equal(back, &want, 8);
	}

	persist_release(&a);
	persist_release(&b);
	munmap(ma, PAGES * PG);
	munmap(mb, PAGES * PG);
	close(fa);
	close(fb);
	tu_scratch_done(dir);
}

/*
 * test_file_marked -- on a private file mapping, a page changed and
 * marked reaches the file at the next persist_flush_marked and fence, a
 * page changed but not marked does not, and a page is written once per
 * mark (a second flush_marked writes nothing).
 */
static void test_file_marked(void **state)
{
	enum { PAGES = 200, PG = 4096 };
	char *dir = tu_scratch_dir("test_persist"), *path;
	struct persist a;
	struct persist_stats st;
	uint64_t back;
	char *m;
	int fd;

	(void)state;
	assert_non_null(dir);
	path = tu_join(dir, "m");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	free(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, PAGES * PG), 0);
	m = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(m != MAP_FAILED);
	persist_init(&a, m, PAGES * PG, PERSIST_FILE, 0);
	assert_int_equal(persist_set_private(&a, PAGES * PG), 0);
	persist_set_fd(&a, fd);

	/* Pages 3, 64-66 (across a bitmap word) and 199 marked; 10 not. */
	static const unsigned marked[] = { 3, 63, 64, 65, 199 };
	for (unsigned i = 0; i < 5; i++) {
		*(uint64_t *)(m + marked[i] * PG + 8) = 1000 + marked[i];
		persist_mark(&a, m + marked[i] * PG + 8, 8);
	}
	*(uint64_t *)(m + 10 * PG) = 77;
	persist_flush_marked(&a, m, PAGES * PG);
	persist_fence(&a);
	assert_int_equal(persist_failed(&a), 0);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(pread(fd, &back, 8, marked[i] * PG + 8), 8);
		assert_int_equal(back, 1000 + marked[i]);
	}
	assert_int_equal(pread(fd, &back, 8, 10 * PG), 8);
	assert_int_equal(back, 0);
	persist_get_stats(&a, &st);
	assert_int_equal(st.bytes_flushed, 5 * PG);
	assert_int_equal(st.syncs, 1);
	/* Written once: the marks are taken. */
	persist_flush_marked(&a, m, PAGES * PG);
	persist_fence(&a);
	persist_get_stats(&a, &st);
	assert_int_equal(st.bytes_flushed, 5 * PG);
	assert_int_equal(st.syncs, 1);

	persist_release(&a);
	munmap(m, PAGES * PG);
	close(fd);
	tu_scratch_done(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init, setup, teardown),
		cmocka_unit_test(test_backend_names),
		cmocka_unit_test_setup_teardown(test_flush_aligned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flush_unaligned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memcpy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memset_store64, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hook, setup, teardown),
		cmocka_unit_test(test_file_fence),
		cmocka_unit_test(test_file_marked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
