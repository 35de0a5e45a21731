/*
 * kvfixture.h -- the cmocka fixture the key-value type tests share
 * (test_hash, test_list, test_zset): a scratch directory per test, a
 * 128 MiB pool on emulated persistent memory, and the calls to open and
 * reopen it.  Include after cmocka.h, with KVFIX_NAME naming the test
 * program (its scratch directories' prefix).
 */
#ifndef PKV_TESTS_KVFIXTURE_H
#define PKV_TESTS_KVFIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "pkv.h"
#include "testutil.h"

#define MiB (1ull << 20)

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
	f->opts.size = 128 * MiB;
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

static pkv *open_db(struct fixture *f)
{
	int rc = pkv_open(f->path, &f->opts, &f->db);

	if (rc != 0)
		fail_msg("pkv_open %s: %s (%s)", f->path, pkv_strerror(rc),
			 pkv_errmsg(NULL));
	return f->db;
}

static pkv *reopen(struct fixture *f)
{
	pkv_close(f->db);
	f->db = NULL;
	return open_db(f);
}

#endif /* PKV_TESTS_KVFIXTURE_H */
