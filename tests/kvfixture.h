/*
 * kvfixture.h -- the cmocka fixture the key-value tests share (test_kv,
 * test_hash, test_list, test_zset): a scratch directory per test, a pool
 * on emulated persistent memory, and the calls to open, close and reopen
 * it.  Include after cmocka.h, with KVFIX_NAME naming the test program
 * (its scratch directories' prefix).  A program may also define, before
 * including it:
 *   KVFIX_POOL_SIZE         the pool's size (128 MiB);
 *   KVFIX_OPENED(f)         a statement run after each open;
 *   KVFIX_CLOSING(f)        a statement run before close_db closes.
 */
#ifndef PKV_TESTS_KVFIXTURE_H
#define PKV_TESTS_KVFIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "pkv.h"
#include "testutil.h"

#define MiB (1ull << 20)

#ifndef KVFIX_POOL_SIZE
#define KVFIX_POOL_SIZE (128 * MiB)
#endif
#ifndef KVFIX_OPENED
#define KVFIX_OPENED(f) ((void)(f))
#endif
#ifndef KVFIX_CLOSING
#define KVFIX_CLOSING(f) ((void)(f))
#endif

struct fixture {
	char *dir;
	char *path;
	struct pkv_options opts;
	pkv *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char name[64];

	if (f == NULL)
		return -1;
	setenv("PMEM_IS_PMEM_FORCE", "1", 0);
	snprintf(name, sizeof(name), KVFIX_NAME "-%p", (void *)f);
	f->dir = tu_scratch_dir(name);
	f->path = tu_join(f->dir, "pool");
	pkv_options_init(&f->opts);
	f->opts.flags = PKV_CREATE;
	f->opts.size = KVFIX_POOL_SIZE;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pkv_close(f->db);
	free(f->path);
	tu_scratch_done(f->dir);
	free(f);
	return 0;
}

/* open_db -- open (create) f->path with f->opts; must succeed. */
static pkv *open_db(struct fixture *f)
{
	int rc = pkv_open(f->path, &f->opts, &f->db);

	if (rc != 0)
		fail_msg("pkv_open %s: %s (%s)", f->path, pkv_strerror(rc),
			 pkv_errmsg(NULL));
	KVFIX_OPENED(f);
	return f->db;
}

/* close_db -- close cleanly (after KVFIX_CLOSING), if open. */
static void close_db(struct fixture *f)
{
	if (f->db == NULL)
		return;
	KVFIX_CLOSING(f);
	pkv_close(f->db);
	f->db = NULL;
}

/* reopen -- close cleanly and open again with the same options. */
static pkv *reopen(struct fixture *f)
{
	close_db(f);
	return open_db(f);
}

#endif /* PKV_TESTS_KVFIXTURE_H */
