/*
 * test_pool.c -- unit tests of the pool file (pool.c): create, open, the
 * lock, and the refusal of damaged files.  Every damaged file must be
 * refused with its own code and a message naming the file, and must not
 * be modified by the attempt (pool_open validates before it maps).
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
#include "csum.h"

#define POOL_SIZE (16ull << 20)

static const struct pool_open_opts file_opts = { PERSIST_FILE };

struct fixture {
	char *dir;
	char *path;         /* dir/pool */
	char *copy;         /* dir/copy: the bytes before an open attempt */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char name[64];

	if (f == NULL)
		return -1;
	unsetenv("PKV_PERSIST");
	snprintf(name, sizeof(name), "test_pool-%p", (void *)f);
	f->dir = tu_scratch_dir(name);
	f->path = tu_join(f->dir, "pool");
	f->copy = tu_join(f->dir, "copy");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->path);
	free(f->copy);
	tu_scratch_done(f->dir);
	free(f);
	return 0;
}

/* make_pool -- create a default pool at f->path and close it. */
static void make_pool(struct fixture *f)
{
	struct pool *pool = NULL;
	struct errmsg em;

	err_clear(&em);
	int rc = pool_create(f->path, POOL_SIZE, NULL, &file_opts, &pool, &em);
	if (rc != 0)
		fail_msg("pool_create: %s: %s", pkv_strerror(rc), em.text);
	assert_non_null(pool);
	pool_close(pool);
}

/* patch -- overwrite len bytes of the file at off. */
static void patch(const char *path, off_t off, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, off), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/*
 * expect_refused -- pool_open(path) must fail with `code`, name the file
 * in its message, leave the bytes unchanged, and pool_check_header on the
 * first page of the file must give the same code.
 */
static void expect_refused(struct fixture *f, const char *path, int code)
{
	struct pool *pool = NULL;
	struct errmsg em;
	int rc;

	tu_copy_file(path, f->copy);
	err_clear(&em);
	rc = pool_open(path, &file_opts, &pool, &em);
	if (rc != code)
		fail_msg("pool_open(%s) = %d (%s), want %d (%s); msg \"%s\"",
			 path, rc, pkv_strerror(rc), code, pkv_strerror(code),
			 em.text);
	assert_true(strlen(em.text) > 0);
	if (strstr(em.text, path) == NULL)
		fail_msg("message \"%s\" does not name %s", em.text, path);
	assert_true(tu_files_equal(path, f->copy));

	/* the same verdict from the header checker, on a memory copy */
	{
		size_t len;
		char *bytes = tu_read_file(path, &len);
		char *page = calloc(1, POOL_HDR_SIZE);

		assert_non_null(page);
		memcpy(page, bytes, len < POOL_HDR_SIZE ? len : POOL_HDR_SIZE);
		err_clear(&em);
		rc = pool_check_header(page, len, "image", &em);
		if (rc != code)
			fail_msg("pool_check_header = %d (%s), want %d (%s)",
				 rc, pkv_strerror(rc), code,
				 pkv_strerror(code));
		assert_non_null(strstr(em.text, "image"));
		free(page);
		free(bytes);
	}
}

/* test_create_open -- create, close, reopen: a clean, well-formed pool. */
static void test_create_open(void **state)
{
	struct fixture *f = *state;
	struct pool *pool = NULL;
	struct errmsg em;
	int rc;

	make_pool(f);
	assert_int_equal(tu_file_size(f->path), (off_t)POOL_SIZE);

	err_clear(&em);
	rc = pool_open(f->path, &file_opts, &pool, &em);
	if (rc != 0)
		fail_msg("pool_open: %s: %s", pkv_strerror(rc), em.text);
	assert_true(pool->was_clean);
	assert_int_equal(pool->size, POOL_SIZE);
	assert_ptr_equal(pool->hdr, (const void *)pool->base);
	assert_ptr_equal(pool->state, pool->base + POOL_STATE_OFF);
	assert_memory_equal(pool->hdr->magic, POOL_MAGIC, POOL_MAGIC_LEN);
	assert_int_equal(pool->hdr->layout_version, POOL_LAYOUT_VERSION);
	assert_int_equal(pool->hdr->pool_size, POOL_SIZE);
	assert_int_equal(pool->hdr->nlanes, LOG_DEFAULT_LANES);
	assert_int_equal(pool->hdr->log_size, LOG_DEFAULT_SIZE);
	/* a pool under 32 MiB has small chunks */
	assert_int_equal(pool->hdr->chunk_size, CHUNK_SIZE_SMALL);
	assert_true(pool->hdr->nchunks > 0);
	assert_true(pool->hdr->chunks_off + pool_heap_chunks(pool) *
		    CHUNK_SIZE_SMALL <= POOL_SIZE);
	assert_int_equal(pool->persist.backend, PERSIST_FILE);
	assert_int_equal(pool->state->root, 0);
	assert_true(pool_contains(pool, 0, POOL_SIZE));
	assert_false(pool_contains(pool, 1, POOL_SIZE));
	pool_close(pool);

	/* NULL options are accepted too */
	rc = pool_open(f->path, NULL, &pool, NULL);
	assert_int_equal(rc, 0);
	assert_true(pool->was_clean);
	pool_close(pool);
}

/* test_create_exists -- create refuses an existing file and keeps it. */
static void test_create_exists(void **state)
{
	struct fixture *f = *state;
	struct pool *pool = NULL;
	struct errmsg em;

	tu_write_file(f->path, "precious data", 13);
	err_clear(&em);
	assert_int_equal(pool_create(f->path, POOL_SIZE, NULL, &file_opts,
				     &pool, &em), PKV_EEXIST);
	assert_non_null(strstr(em.text, f->path));
	{
		size_t len;
		char *b = tu_read_file(f->path, &len);

		assert_int_equal(len, 13);
		assert_memory_equal(b, "precious data", 13);
		free(b);
	}

	/* and an existing pool is not overwritten either */
	unlink(f->path);
	make_pool(f);
	tu_copy_file(f->path, f->copy);
	assert_int_equal(pool_create(f->path, POOL_SIZE, NULL, &file_opts,
				     &pool, NULL), PKV_EEXIST);
	assert_true(tu_files_equal(f->path, f->copy));
}

/* test_create_too_small -- sizes below POOL_MIN_SIZE are refused. */
static void test_create_too_small(void **state)
{
	struct fixture *f = *state;
	struct pool *pool = NULL;
	struct errmsg em;

	err_clear(&em);
	assert_int_equal(pool_create(f->path, POOL_MIN_SIZE - 1, NULL,
				     &file_opts, &pool, &em), PKV_EINVAL);
	assert_true(strlen(em.text) > 0);
	assert_int_equal(pool_create(f->path, 4096, NULL, &file_opts, &pool,
				     NULL), PKV_EINVAL);
	assert_int_equal(pool_create(f->path, 0, NULL, &file_opts, &pool,
				     NULL), PKV_EINVAL);
	/* the minimum itself works */
	assert_int_equal(pool_create(f->path, POOL_MIN_SIZE, NULL, &file_opts,
				     &pool, NULL), 0);
	pool_close(pool);
}

/* test_busy -- a pool open once cannot be opened again until closed. */
static void test_busy(void **state)
{
	struct fixture *f = *state;
	struct pool *pool = NULL, *p2 = NULL;
	struct errmsg em;

	make_pool(f);
	assert_int_equal(pool_open(f->path, &file_opts, &pool, NULL), 0);
	err_clear(&em);
	assert_int_equal(pool_open(f->path, &file_opts, &p2, &em), PKV_EBUSY);
	assert_non_null(strstr(em.text, f->path));
	pool_close(pool);
	assert_int_equal(pool_open(f->path, &file_opts, &p2, NULL), 0);
	assert_true(p2->was_clean);
	pool_close(p2);
}

/* test_bad_magic -- byte 0 flipped: not a pool. */
static void test_bad_magic(void **state)
{
	struct fixture *f = *state;
	unsigned char b = 'P' ^ 0xff;

	make_pool(f);
	patch(f->path, 0, &b, 1);
	expect_refused(f, f->path, PKV_ENOTPOOL);
}

/* test_bad_magic_and_version -- magic is checked before anything else. */
static void test_bad_magic_and_version(void **state)
{
	struct fixture *f = *state;
	unsigned char b = 'P' ^ 0xff;
	uint32_t v = POOL_LAYOUT_VERSION + 1;

	make_pool(f);
	patch(f->path, 0, &b, 1);
	patch(f->path, offsetof(struct pool_hdr, layout_version), &v,
	      sizeof(v));
	expect_refused(f, f->path, PKV_ENOTPOOL);
}

/* test_bad_version -- a future layout version (checksum not updated):
 * the version is checked before the checksum. */
static void test_bad_version(void **state)
{
	struct fixture *f = *state;
	uint32_t v = POOL_LAYOUT_VERSION + 1;

	make_pool(f);
	patch(f->path, offsetof(struct pool_hdr, layout_version), &v,
	      sizeof(v));
	expect_refused(f, f->path, PKV_EVERSION);
}

/* test_bad_checksum -- one byte of the reserved area flipped. */
static void test_bad_checksum(void **state)
{
	struct fixture *f = *state;
	unsigned char b = 0x40;

	make_pool(f);
	patch(f->path, 200, &b, 1);
	expect_refused(f, f->path, PKV_ECHECKSUM);
}

/* test_truncated -- half the file is gone. */
static void test_truncated(void **state)
{
	struct fixture *f = *state;

	make_pool(f);
	assert_int_equal(truncate(f->path, POOL_SIZE / 2), 0);
	expect_refused(f, f->path, PKV_ETRUNCATED);
}

/* test_tiny -- only the first 100 bytes of a pool header. */
static void test_tiny(void **state)
{
	struct fixture *f = *state;

	make_pool(f);
	assert_int_equal(truncate(f->path, 100), 0);
	expect_refused(f, f->path, PKV_ETRUNCATED);
}

/* test_random -- 1 MiB of random bytes is not a pool. */
static void test_random(void **state)
{
	struct fixture *f = *state;
	size_t len = 1u << 20;
	uint64_t *buf = malloc(len), seed = 0x9e3779b97f4a7c15ull;

	assert_non_null(buf);
	for (size_t i = 0; i < len / 8; i++)
		buf[i] = tu_rand(&seed);
	tu_write_file(f->path, buf, len);
	free(buf);
	expect_refused(f, f->path, PKV_ENOTPOOL);
}

/* test_empty -- an empty file is refused (either code is right). */
static void test_empty(void **state)
{
	struct fixture *f = *state;
	struct pool *pool = NULL;
	struct errmsg em;
	int rc;

	tu_write_file(f->path, "", 0);
	err_clear(&em);
	rc = pool_open(f->path, &file_opts, &pool, &em);
	if (rc != PKV_ENOTPOOL && rc != PKV_ETRUNCATED)
		fail_msg("pool_open(empty) = %d (%s)", rc, pkv_strerror(rc));
	assert_non_null(strstr(em.text, f->path));
	assert_int_equal(tu_file_size(f->path), 0);
}

/* test_missing -- a path that does not exist: -ENOENT, nothing created. */
static void test_missing(void **state)
{
	struct fixture *f = *state;
	struct pool *pool = NULL;
	struct errmsg em;
	struct stat st;

	err_clear(&em);
	assert_int_equal(pool_open(f->path, &file_opts, &pool, &em), -ENOENT);
	assert_non_null(strstr(em.text, f->path));
	assert_int_equal(stat(f->path, &st), -1);
}

/* test_check_header_good -- the header checker accepts a good header and
 * refuses a file size shorter than the header says. */
static void test_check_header_good(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *bytes;

	make_pool(f);
	bytes = tu_read_file(f->path, &len);
	assert_int_equal(pool_check_header(bytes, len, "x", NULL), 0);
	assert_int_equal(pool_check_header(bytes, len - CHUNK_SIZE, "x", NULL),
			 PKV_ETRUNCATED);
	bytes[offsetof(struct pool_hdr, nchunks)] ^= 1;
	assert_int_equal(pool_check_header(bytes, len, "x", NULL),
			 PKV_ECHECKSUM);
	free(bytes);
}

/* test_strerror -- every code has its own text; errno codes get strerror. */
static void test_strerror(void **state)
{
	(void)state;
	for (int c = PKV_EFIRST; c >= PKV_ELAST; c--) {
		const char *s = pkv_strerror(c);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (int d = PKV_EFIRST; d > c; d--)
			if (strcmp(s, pkv_strerror(d)) == 0)
				fail_msg("codes %d and %d share \"%s\"", c, d,
					 s);
	}
	assert_non_null(strstr(pkv_strerror(-ENOENT), strerror(ENOENT)));
	assert_non_null(strstr(pkv_strerror(-EACCES), strerror(EACCES)));
	assert_non_null(pkv_strerror(0));
	assert_non_null(pkv_strerror(-31500));
	assert_true(strlen(pkv_strerror(-31500)) > 0);
	assert_string_equal(pkv_version(), "0.1.0");
}

/* test_csum_format -- csum64 is part of the format: pool headers, redo
 * records, checkpoint slots and entries on the media carry its values,
 * so a faster csum64 must give these same ones (computed by the first
 * version, of bytes i * 37 + 11). */
static void test_csum_format(void **state)
{
#define SKIP_NONE (~(size_t)0)
	static const struct { size_t len, skip; uint64_t sum; } v[] = {
	{ 0, SKIP_NONE, 0x330ba6978c5deb19ull },
	{ 1, SKIP_NONE, 0xf304c972273fd524ull },
	{ 7, SKIP_NONE, 0x4dca497b402fb5f5ull },
	{ 8, SKIP_NONE, 0x897332bdbabebf2cull },
	{ 16, SKIP_NONE, 0x898010f7da4137bcull },
	{ 24, SKIP_NONE, 0x3977ac5c03b211abull },
	{ 31, SKIP_NONE, 0xec890921d71ee43full },
	{ 32, SKIP_NONE, 0x04cf1dca100e5b92ull },
	{ 33, SKIP_NONE, 0x4dd72071794baa32ull },
	{ 63, SKIP_NONE, 0x6b51e99bfcfb4059ull },
	{ 100, SKIP_NONE, 0x5a0382bb435d9947ull },
	{ 128, SKIP_NONE, 0x2865782a867f62deull },
	{ 16, 8, 0x0d3a78904d1da625ull },
	{ 100, 40, 0x914d1b031ddee66full },
	};
	unsigned char buf[128];

	(void)state;
	for (int i = 0; i < 128; i++)
		buf[i] = (unsigned char)(i * 37 + 11);
	for (size_t k = 0; k < sizeof(v) / sizeof(*v); k++)
		assert_int_equal(csum64(buf, v[k].len, v[k].skip), v[k].sum);
#undef SKIP_NONE
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_open),
		T(test_create_exists),
		T(test_create_too_small),
		T(test_busy),
		T(test_bad_magic),
		T(test_bad_magic_and_version),
		T(test_bad_version),
		T(test_bad_checksum),
		T(test_truncated),
		T(test_tiny),
		T(test_random),
		T(test_empty),
		T(test_missing),
		T(test_check_header_good),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_csum_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
