/*
 * test_kv.c -- unit tests of the key-value calls of pkv.h (db.c, kv.c,
 * table.c): opening and its refusals, puts and reads with their flags and
 * limits, expiry (set, read back, hidden from readers, removed by the
 * maintenance thread), a full pool, zero-copy references under concurrent
 * writers, scans across inserts, deletes and resizes, random keys, flush
 * and swap of databases, batches, statistics, and several threads at once.
 *
 * Every test keeps its own model of what the store should hold (the
 * version of each key's value, or nothing) and compares what the library
 * returns against it, never against the library's own account.  Values
 * are derived from (key number, version), so a value can be checked from
 * its key alone.  Before every close, kv_check walks every chain of every
 * database under the database's lock and checks the engine's invariants
 * (through the internal header kv_int.h): each reachable entry is an
 * allocated block of the entry type, reachable once, in the bucket its
 * hash names (and not in a bucket that a resize has already moved), and
 * the stripes' key and expiry counts and the volatile key count equal what
 * the walk finds.
 *
 * Pools live in tests/tmp/test_kv-<fixture>-<pid> under the current
 * directory.  PMEM_IS_PMEM_FORCE=1 is set unless the environment says
 * otherwise; with PKV_PERSIST=file (an msync per commit) the tests that
 * make thousands of writes make far fewer.  PKV_TEST_FILTER=<pattern>
 * runs only the matching tests; PKV_TEST_THREADS_MS sets how long
 * test_threads runs (1500 ms).
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"
#include "pkv.h"
#include "kv_int.h"
#include "testheap.h"

#define KEYMAX 32
#define VALMAX 256

/*
 * With the file backend every commit is an msync (milliseconds): the
 * tests that make thousands of writes make a twentieth of them then.
 * open_db sets the divisor from the backend the pool got.
 */
static unsigned scale_div = 1;
#define SC(n) ((n) / scale_div)

/* The shared fixture: a 32 MiB pool; each clean close checks the
 * engine's invariants first. */
#define KVFIX_NAME "test_kv"
#define KVFIX_POOL_SIZE (32 * (1ull << 20))
#define KVFIX_OPENED(f) (scale_div = \
	(f)->db->pool->persist.backend == PERSIST_FILE ? 20 : 1)
#define KVFIX_CLOSING(f) kv_check((f)->db)
static void kv_check(pkv *db);
#include "kvfixture.h"
#include "proto/num.h"

/* ---- time ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* ---- keys and values ---- */

/* mkkey -- the key of number i: "key:%08u" (12 bytes). */
static size_t mkkey(char *buf, unsigned i)
{
	return (size_t)snprintf(buf, KEYMAX, "key:%08u", i);
}

/* keyno -- the number of a key made by mkkey, or -1. */
static long keyno(const void *key, size_t klen)
{
	char tmp[KEYMAX];
	unsigned n;

	if (klen != 12 || memcmp(key, "key:", 4) != 0)
		return -1;
	memcpy(tmp, key, klen);
	tmp[klen] = '\0';
	if (sscanf(tmp + 4, "%8u", &n) != 1)
		return -1;
	return (long)n;
}

/* vlen_of -- the length of version ver of key i's value (8..127). */
static size_t vlen_of(unsigned i, unsigned ver)
{
	return 8 + (i * 31u + ver * 17u) % 120;
}

/* mkval -- version ver of key i's value; its length. */
static size_t mkval(char *buf, unsigned i, unsigned ver)
{
	size_t n = vlen_of(i, ver);

	for (size_t k = 0; k < n; k++)
		buf[k] = (char)((i * 131u + ver * 31u + k * 7u) & 0xff);
	return n;
}

/* val_ok -- whether (val, vlen) is version ver of key i's value. */
static bool val_ok(const void *val, size_t vlen, unsigned i, unsigned ver)
{
	char buf[VALMAX];
	size_t n = mkval(buf, i, ver);

	return vlen == n && memcmp(val, buf, n) == 0;
}

/* put_kv -- set key i of dbi to version ver (no expiry); must succeed. */
static void put_kv(pkv *db, unsigned dbi, unsigned i, unsigned ver)
{
	char k[KEYMAX], v[VALMAX];
	size_t kl = mkkey(k, i), vl = mkval(v, i, ver);
	int rc = pkv_put(db, dbi, k, kl, v, vl, 0, 0);

	if (rc != 0)
		fail_msg("put %s in db %u: %s (%s)", k, dbi, pkv_strerror(rc),
			 pkv_errmsg(db));
}

/* expect_kv -- key i of dbi holds version ver (ver < 0: is absent). */
static void expect_kv(pkv *db, unsigned dbi, unsigned i, int ver)
{
	char k[KEYMAX], v[VALMAX];
	size_t kl = mkkey(k, i), vl = 0;
	int rc = pkv_get(db, dbi, k, kl, v, sizeof(v), &vl);

	if (ver < 0) {
		if (rc != PKV_ENOTFOUND)
			fail_msg("%s in db %u: expected absent, got %s (vlen "
				 "%zu)", k, dbi, pkv_strerror(rc), vl);
		return;
	}
	if (rc != 0)
		fail_msg("%s in db %u: expected version %d, got %s", k, dbi,
			 ver, pkv_strerror(rc));
	if (!val_ok(v, vl, i, (unsigned)ver))
		fail_msg("%s in db %u: wrong value (vlen %zu, expected "
			 "version %d of length %zu)", k, dbi, vl, ver,
			 vlen_of(i, (unsigned)ver));
}

/* A model of one database: the version of each key's value, or -1. */
struct model {
	int *ver;
	unsigned n;
	uint64_t live;
};

static void model_init(struct model *m, unsigned n)
{
	m->ver = malloc(n * sizeof(*m->ver));
	assert_non_null(m->ver);
	for (unsigned i = 0; i < n; i++)
		m->ver[i] = -1;
	m->n = n;
	m->live = 0;
}

static void model_put(struct model *m, pkv *db, unsigned dbi, unsigned i,
		      unsigned ver)
{
	put_kv(db, dbi, i, ver);
	if (m->ver[i] < 0)
		m->live++;
	m->ver[i] = (int)ver;
}

static void model_del(struct model *m, pkv *db, unsigned dbi, unsigned i)
{
	char k[KEYMAX];
	size_t kl = mkkey(k, i);

	assert_int_equal(pkv_del(db, dbi, k, kl),
			 m->ver[i] < 0 ? PKV_ENOTFOUND : 0);
	if (m->ver[i] >= 0)
		m->live--;
	m->ver[i] = -1;
}

/* model_verify -- every key of the model as it says, and dbsize. */
static void model_verify(const struct model *m, pkv *db, unsigned dbi)
{
	uint64_t keys = ~0ull;

	for (unsigned i = 0; i < m->n; i++)
		expect_kv(db, dbi, i, m->ver[i]);
	assert_int_equal(pkv_dbsize(db, dbi, &keys, NULL), 0);
	assert_int_equal(keys, m->live);
}

static uint64_t dbsize(pkv *db, unsigned dbi)
{
	uint64_t keys = ~0ull;

	assert_int_equal(pkv_dbsize(db, dbi, &keys, NULL), 0);
	return keys;
}

/* wait_dbsize -- poll until dbi has `want` keys or deadline_ms passes;
 * whether it got there. */
static bool wait_dbsize(pkv *db, unsigned dbi, uint64_t want,
			unsigned deadline_ms)
{
	uint64_t end = mono_ms() + deadline_ms;

	for (;;) {
		if (dbsize(db, dbi) == want)
			return true;
		if (mono_ms() > end)
			return false;
		sleep_ms(10);
	}
}

/* expire_keys -- set the expiry of keys `first`, first+step, ... (n of
 * them) to t in batches of 100 expiry changes (one commit each, so even
 * the file backend is done in milliseconds). */
static void expire_keys(pkv *db, unsigned dbi, unsigned first, unsigned step,
			unsigned n, int64_t t)
{
	for (unsigned done = 0; done < n;) {
		pkv_batch *b;
		int r[100];

		assert_int_equal(pkv_batch_begin(db, &b), 0);
		for (unsigned j = 0; j < 100 && done < n; j++, done++) {
			char k[KEYMAX];
			size_t kl = mkkey(k, first + done * step);
			assert_int_equal(pkv_batch_expire(b, dbi, k, kl, t), 0);
		}
		assert_int_equal(pkv_batch_commit(b, r), 0);
	}
}

/* ---- the engine's invariants ---- */

/*
 * kv_check_db -- walk every chain of dbi with its lock held exclusively
 * (no writer, no resize step, no maintenance work on it meanwhile); the
 * first broken invariant into msg (empty if none).  Never fails the test
 * itself, so no lock is left held.
 */
static void kv_check_db(pkv *db, unsigned dbi, char *msg, size_t msgsize)
{
	struct kv_db *d = &db->dbs[dbi];
	uint64_t cnt[KV_STRIPES] = { 0 }, exp[KV_STRIPES] = { 0 };
	uint64_t total = 0, tab_off, arrs[2], nent;
	const struct kv_table *tab;
	const struct kv_stripe *st;
	struct offset_set seen = { NULL, 0, 0 };  /* entries reached */
	uint64_t version, gen;
	uint32_t type;

	msg[0] = '\0';
	pthread_rwlock_wrlock(&d->lock);

	tab_off = kv_load(&db->root->table[dbi]);
	if (!heap_block_valid(db->heap, tab_off, NULL, &type) ||
	    type != KV_TYPE_TABLE) {
		snprintf(msg, msgsize, "db %u: table %llu is not a table block",
			 dbi, (unsigned long long)tab_off);
		goto out;
	}
	tab = kv_ptr(db, tab_off);
	st = kv_ptr(db, kv_load(&tab->stripes));
	version = kv_load(&tab->version);
	gen = version & 0xffffffffu;
	arrs[0] = kv_load(&tab->cur);
	arrs[1] = kv_load(&tab->next);
	if (arrs[1] == arrs[0])
		arrs[1] = 0;
	if (!!(version & 1) != !!arrs[1]) {
		snprintf(msg, msgsize, "db %u: version %llu but next %llu", dbi,
			 (unsigned long long)version,
			 (unsigned long long)arrs[1]);
		goto out;
	}
	nent = 0;
	for (unsigned s = 0; s < KV_STRIPES; s++)
		nent += kv_load(&st[s].count);
	for (unsigned a = 0; a < 2; a++) {
		const struct kv_buckets *b;
		uint64_t mask;

		if (!arrs[a])
			continue;
		if (!heap_block_valid(db->heap, arrs[a], NULL, &type) ||
		    type != KV_TYPE_BUCKETS) {
			snprintf(msg, msgsize, "db %u: bucket array %llu is "
				 "not a bucket block", dbi,
				 (unsigned long long)arrs[a]);
			goto out;
		}
		b = kv_ptr(db, arrs[a]);
		mask = kv_mask(b);
		for (uint64_t bk = 0; bk <= mask; bk++) {
			uint64_t e = kv_load(&b->head[kv_bucket_slot(b, bk)]);
			uint64_t steps = 0;
			unsigned s = (unsigned)(bk & (KV_STRIPES - 1));
			uint64_t migr = kv_load(&st[s].migr);

			if (a == 0 && arrs[1] && e && (migr >> 32) == gen &&
			    (bk >> KV_STRIPE_BITS) < (migr & 0xffffffffu)) {
				snprintf(msg, msgsize, "db %u: bucket %llu of "
					 "the old array was moved but is not "
					 "empty", dbi, (unsigned long long)bk);
				goto out;
			}
			while (e) {
				const struct kv_entry *E = kv_ptr(db, e);
				uint64_t size;

				if (!heap_block_valid(db->heap, e, &size,
						      &type) ||
				    type != KV_TYPE_ENTRY) {
					snprintf(msg, msgsize, "db %u: bucket "
						 "%llu (array %u) reaches %llu,"
						 " which is not an allocated "
						 "entry block", dbi,
						 (unsigned long long)bk, a,
						 (unsigned long long)e);
					goto out;
				}
				if (size != sizeof(*E) + E->klen + E->vlen ||
				    E->hash != kv_hash(db, kv_entry_key(E),
						       E->klen) ||
				    (E->hash & mask) != bk) {
					snprintf(msg, msgsize, "db %u: entry "
						 "%llu: size, hash or bucket "
						 "wrong", dbi,
						 (unsigned long long)e);
					goto out;
				}
				int added = offset_set_add(&seen, e);
				if (added < 0) {
					snprintf(msg, msgsize, "out of memory");
					goto out;
				}
				if (!added || ++steps > nent + 1 ||
				    ++total > nent + 1) {
					snprintf(msg, msgsize, "db %u: entry "
						 "%llu reached twice (cycle or "
						 "shared tail) or more entries "
						 "than counted (%llu)", dbi,
						 (unsigned long long)e,
						 (unsigned long long)nent);
					goto out;
				}
				cnt[E->hash & (KV_STRIPES - 1)]++;
				if (E->expire_ms)
					exp[E->hash & (KV_STRIPES - 1)]++;
				e = kv_load(&E->next);
			}
		}
	}
	for (unsigned s = 0; s < KV_STRIPES; s++) {
		if (kv_load(&st[s].count) != cnt[s] ||
		    kv_load(&st[s].expires) != exp[s]) {
			snprintf(msg, msgsize, "db %u stripe %u: counts "
				 "%llu/%llu but chains hold %llu keys, %llu "
				 "with an expiry", dbi, s,
				 (unsigned long long)kv_load(&st[s].count),
				 (unsigned long long)kv_load(&st[s].expires),
				 (unsigned long long)cnt[s],
				 (unsigned long long)exp[s]);
			goto out;
		}
	}
	if ((uint64_t)atomic_load(&d->count) != total)
		snprintf(msg, msgsize, "db %u: volatile count %lld, chains "
			 "hold %llu", dbi, (long long)atomic_load(&d->count),
			 (unsigned long long)total);
out:
	free(seen.v);
	pthread_rwlock_unlock(&d->lock);
}

/* kv_check -- the invariants of every database, and of the heap. */
static void kv_check(pkv *db)
{
	char msg[512];

	for (unsigned i = 0; i < pkv_databases(db); i++) {
		kv_check_db(db, i, msg, sizeof(msg));
		if (msg[0])
			fail_msg("kv_check: %s", msg);
	}
}

/* ---- helpers ---- */

/* same_bucket_keys -- n keys "c:<j>" that fall in one bucket of dbi's
 * current bucket array (no resize in progress); their lengths to lens. */
static void same_bucket_keys(pkv *db, unsigned dbi, unsigned n,
			     char keys[][KEYMAX], size_t *lens)
{
	const struct kv_table *tab = kv_table_of(db, dbi);
	const struct kv_buckets *b = kv_ptr(db, kv_load(&tab->cur));
	uint64_t mask = kv_mask(b), want = 0;
	unsigned got = 0;

	assert_false(table_resizing(tab));
	for (unsigned j = 0; got < n && j < 10000000; j++) {
		char k[KEYMAX];
		size_t kl = (size_t)snprintf(k, sizeof(k), "c:%u", j);
		uint64_t bk = kv_hash(db, k, kl) & mask;

		if (got == 0)
			want = bk;
		if (bk != want)
			continue;
		memcpy(keys[got], k, kl);
		lens[got++] = kl;
	}
	assert_int_equal(got, n);
}

/* ================================================================== */
/* open                                                                */
/* ================================================================== */

/* heap_chunks_of -- the chunks in the heap of the pool file open at fd
 * (its state word: pools grow). */
static uint64_t heap_chunks_of(int fd)
{
	uint64_t n = 0;

	assert_int_equal(pread(fd, &n, 8, POOL_STATE_OFF +
			       offsetof(struct pool_state, heap_chunks)), 8);
	assert_true(n > 0);
	return n;
}

/* test_open_create_reopen -- a new pool is empty; what is put survives a
 * clean close and an open with default options. */
static void test_open_create_reopen(void **state)
{
	struct fixture *f = *state;
	struct pkv_stats st;
	pkv *db = open_db(f);

	assert_int_equal(pkv_databases(db), 16);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(dbsize(db, i), 0);
	assert_int_equal(tu_file_size(f->path), KVFIX_POOL_SIZE);
	put_kv(db, 0, 1, 1);
	put_kv(db, 15, 2, 7);
	close_db(f);

	/* o == NULL: open an existing pool with the defaults */
	assert_int_equal(pkv_open(f->path, NULL, &f->db), 0);
	db = f->db;
	assert_int_equal(pkv_databases(db), 16);
	expect_kv(db, 0, 1, 1);
	expect_kv(db, 15, 2, 7);
	expect_kv(db, 0, 2, -1);
	expect_kv(db, 15, 1, -1);
	assert_int_equal(dbsize(db, 0), 1);
	assert_int_equal(dbsize(db, 15), 1);
	assert_int_equal(pkv_stats(db, &st), 0);
	assert_int_equal(st.pool_size, KVFIX_POOL_SIZE);
	assert_true(st.clean_shutdown);
	close_db(f);

	/* PKV_CREATE on an existing pool opens it; size and databases of
	 * the options are those of a new pool only */
	f->opts.size = 64 * MiB;
	f->opts.databases = 4;
	db = open_db(f);
	assert_int_equal(pkv_databases(db), 16);
	expect_kv(db, 15, 2, 7);
	assert_int_equal(tu_file_size(f->path), KVFIX_POOL_SIZE);
	close_db(f);
	pkv_close(NULL);
}

/* test_open_excl -- PKV_CREATE|PKV_EXCL refuses an existing file and
 * leaves it alone. */
static void test_open_excl(void **state)
{
	struct fixture *f = *state;
	pkv *db2 = NULL;
	char *copy = tu_join(f->dir, "copy");

	f->opts.flags = PKV_CREATE | PKV_EXCL;
	open_db(f);
	put_kv(f->db, 0, 5, 5);
	close_db(f);
	tu_copy_file(f->path, copy);

	assert_int_equal(pkv_open(f->path, &f->opts, &db2), PKV_EEXIST);
	assert_null(db2);
	assert_non_null(strstr(pkv_errmsg(NULL), f->path));
	assert_true(tu_files_equal(f->path, copy));

	/* any existing file, pool or not */
	tu_write_file(copy, "x", 1);
	assert_int_equal(pkv_open(copy, &f->opts, &db2), PKV_EEXIST);
	assert_null(db2);

	f->opts.flags = 0;
	open_db(f);
	expect_kv(f->db, 0, 5, 5);
	close_db(f);
	free(copy);
}

/* test_open_missing -- without PKV_CREATE a missing file is -ENOENT and
 * is not created. */
static void test_open_missing(void **state)
{
	struct fixture *f = *state;
	pkv *db = NULL;
	struct stat sb;

	f->opts.flags = 0;
	assert_int_equal(pkv_open(f->path, &f->opts, &db), -ENOENT);
	assert_null(db);
	assert_non_null(strstr(pkv_errmsg(NULL), f->path));
	assert_int_equal(pkv_open(f->path, NULL, &db), -ENOENT);
	assert_null(db);
	assert_int_not_equal(stat(f->path, &sb), 0);
	/* a missing directory too */
	char *deep = tu_join(f->dir, "no/such/pool");
	f->opts.flags = PKV_CREATE;
	assert_int_equal(pkv_open(deep, &f->opts, &db), -ENOENT);
	assert_null(db);
	free(deep);
}

/* test_open_not_pool -- a file that is not a pool is refused with
 * PKV_ENOTPOOL, a message naming it, and is not modified. */
static void test_open_not_pool(void **state)
{
	struct fixture *f = *state;
	size_t n = 1 * MiB;
	char *junk = malloc(n);
	char *copy = tu_join(f->dir, "copy");
	char *empty = tu_join(f->dir, "empty");
	pkv *db = NULL;

	assert_non_null(junk);
	for (size_t i = 0; i < n; i++)
		junk[i] = (char)("not a pool\n"[i % 11]);
	tu_write_file(f->path, junk, n);
	tu_copy_file(f->path, copy);

	assert_int_equal(pkv_open(f->path, NULL, &db), PKV_ENOTPOOL);
	assert_null(db);
	assert_non_null(strstr(pkv_errmsg(NULL), f->path));
	/* PKV_CREATE does not overwrite an existing file either */
	assert_int_equal(pkv_open(f->path, &f->opts, &db), PKV_ENOTPOOL);
	assert_null(db);
	assert_non_null(strstr(pkv_errmsg(NULL), f->path));
	assert_true(tu_files_equal(f->path, copy));

	tu_write_file(empty, "", 0);
	assert_int_equal(pkv_open(empty, &f->opts, &db), PKV_ENOTPOOL);
	assert_non_null(strstr(pkv_errmsg(NULL), empty));
	assert_int_equal(tu_file_size(empty), 0);
	free(junk);
	free(copy);
	free(empty);
}

/* test_open_busy -- a pool open through one handle is PKV_EBUSY for a
 * second open; the first handle keeps working; after close it opens. */
static void test_open_busy(void **state)
{
	struct fixture *f = *state;
	pkv *db2 = NULL;

	open_db(f);
	put_kv(f->db, 0, 1, 1);
	assert_int_equal(pkv_open(f->path, &f->opts, &db2), PKV_EBUSY);
	assert_null(db2);
	assert_non_null(strstr(pkv_errmsg(NULL), f->path));
	f->opts.flags = 0;
	assert_int_equal(pkv_open(f->path, &f->opts, &db2), PKV_EBUSY);
	assert_null(db2);
	expect_kv(f->db, 0, 1, 1);
	put_kv(f->db, 0, 2, 2);
	close_db(f);
	assert_int_equal(pkv_open(f->path, &f->opts, &db2), 0);
	expect_kv(db2, 0, 2, 2);
	pkv_close(db2);
}

/* test_open_databases -- the databases option of a new pool, its bounds,
 * and the range checks of every call that takes a database index. */
static void test_open_databases(void **state)
{
	struct fixture *f = *state;
	struct pkv_ref ref;
	uint64_t next, keys;
	int64_t x;
	size_t n;
	char buf[8];
	pkv_batch *b;
	pkv *db;

	f->opts.databases = 4;
	db = open_db(f);
	assert_int_equal(pkv_databases(db), 4);
	assert_int_equal(pkv_put(db, 3, "k", 1, "v", 1, 0, 0), 0);
	assert_int_equal(pkv_put(db, 4, "k", 1, "v", 1, 0, 0), PKV_EINVAL);
	assert_true(pkv_errmsg(db)[0] != '\0');
	assert_int_equal(pkv_get(db, 4, "k", 1, buf, sizeof(buf), &n),
			 PKV_EINVAL);
	assert_int_equal(pkv_get_ref(db, 4, "k", 1, &ref), PKV_EINVAL);
	assert_int_equal(pkv_exists(db, 4, "k", 1), PKV_EINVAL);
	assert_int_equal(pkv_del(db, 4, "k", 1), PKV_EINVAL);
	assert_int_equal(pkv_expire(db, 4, "k", 1, 0), PKV_EINVAL);
	assert_int_equal(pkv_ttl(db, 4, "k", 1, &x), PKV_EINVAL);
	assert_int_equal(pkv_dbsize(db, 4, &keys, NULL), PKV_EINVAL);
	assert_int_equal(pkv_flushdb(db, 4), PKV_EINVAL);
	assert_int_equal(pkv_swapdb(db, 0, 4), PKV_EINVAL);
	assert_int_equal(pkv_swapdb(db, 4, 0), PKV_EINVAL);
	assert_int_equal(pkv_swapdb(db, 4, 4), PKV_EINVAL);
	assert_int_equal(pkv_scan(db, 4, 0, 10,
				  (pkv_scan_fn)(uintptr_t)1, NULL, &next),
			 PKV_EINVAL);
	assert_int_equal(pkv_random_key(db, 4, buf, sizeof(buf), &n),
			 PKV_EINVAL);
	assert_int_equal(pkv_random_key(db, UINT32_MAX, buf, sizeof(buf), &n),
			 PKV_EINVAL);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 4, "k", 1, "v", 1, 0, 0),
			 PKV_EINVAL);
	pkv_batch_abort(b);
	/* nothing of the above touched database 3 */
	assert_int_equal(pkv_get(db, 3, "k", 1, buf, sizeof(buf), &n), 0);
	assert_int_equal(dbsize(db, 3), 1);

	/* reopening does not change the count */
	f->opts.databases = 8;
	db = reopen(f);
	assert_int_equal(pkv_databases(db), 4);
	assert_int_equal(pkv_get(db, 3, "k", 1, buf, sizeof(buf), &n), 0);
	close_db(f);

	/* 0 is the default */
	char *p128 = tu_join(f->dir, "p128"), *p0 = tu_join(f->dir, "p0");
	int rc;
	f->opts.databases = 0;
	assert_int_equal(pkv_open(p0, &f->opts, &db), 0);
	assert_int_equal(pkv_databases(db), 16);
	pkv_close(db);

	/* 128 is the most (pkv.h) */
	f->opts.databases = 128;
	rc = pkv_open(p128, &f->opts, &db);
	if (rc != 0)
		fail_msg("a pool of 128 databases: %s (%s)", pkv_strerror(rc),
			 pkv_errmsg(NULL));
	assert_int_equal(pkv_databases(db), 128);
	assert_int_equal(pkv_put(db, 127, "k", 1, "v", 1, 0, 0), 0);
	assert_int_equal(pkv_put(db, 128, "k", 1, "v", 1, 0, 0), PKV_EINVAL);
	assert_int_equal(pkv_flushall(db), 0);
	assert_int_equal(dbsize(db, 127), 0);
	kv_check(db);
	pkv_close(db);
	free(p128);
	free(p0);
}

/* test_open_too_many_databases -- 300 (or 129) databases: PKV_EINVAL. */
static void test_open_too_many_databases(void **state)
{
	struct fixture *f = *state;
	pkv *db = NULL;

	f->opts.databases = 300;
	assert_int_equal(pkv_open(f->path, &f->opts, &db), PKV_EINVAL);
	assert_null(db);
	assert_true(pkv_errmsg(NULL)[0] != '\0');
	f->opts.databases = 129;
	assert_int_equal(pkv_open(f->path, &f->opts, &db), PKV_EINVAL);
	assert_null(db);
	f->opts.databases = 256;
	assert_int_equal(pkv_open(f->path, &f->opts, &db), PKV_EINVAL);
	assert_null(db);
}

/*
 * test_open_refused_leaves_no_file -- a create refused for a bad argument
 * (300 databases) leaves no file behind: a later create with PKV_EXCL
 * succeeds and gets the databases it asks for.
 */
static void test_open_refused_leaves_no_file(void **state)
{
	struct fixture *f = *state;
	struct stat sb;
	pkv *db = NULL;

	f->opts.databases = 300;
	assert_int_equal(pkv_open(f->path, &f->opts, &db), PKV_EINVAL);
	if (stat(f->path, &sb) == 0)
		fail_msg("a refused create left %s behind (%lld bytes)",
			 f->path, (long long)sb.st_size);
	f->opts.flags = PKV_CREATE | PKV_EXCL;
	f->opts.databases = 4;
	open_db(f);
	assert_int_equal(pkv_databases(f->db), 4);
	close_db(f);
}

/* test_open_bad_args -- NULL path or handle, unknown flags, backend or
 * audit mode, a pool too small: PKV_EINVAL, and no file created. */
static void test_open_bad_args(void **state)
{
	struct fixture *f = *state;
	struct pkv_options o = f->opts;
	struct stat sb;
	pkv *db = NULL;

	assert_int_equal(pkv_open(NULL, &f->opts, &db), PKV_EINVAL);
	assert_null(db);
	assert_true(pkv_errmsg(NULL)[0] != '\0');
	assert_int_equal(pkv_open(f->path, &f->opts, NULL), PKV_EINVAL);
	o.flags = PKV_CREATE | 0x100;
	assert_int_equal(pkv_open(f->path, &o, &db), PKV_EINVAL);
	o = f->opts;
	o.backend = (enum pkv_backend)7;
	assert_int_equal(pkv_open(f->path, &o, &db), PKV_EINVAL);
	o = f->opts;
	o.audit = (enum pkv_audit)7;
	assert_int_equal(pkv_open(f->path, &o, &db), PKV_EINVAL);
	o = f->opts;
	o.size = 1 * MiB;
	assert_int_equal(pkv_open(f->path, &o, &db), PKV_EINVAL);
	assert_null(db);
	assert_int_not_equal(stat(f->path, &sb), 0);
}

/*
 * test_open_corrupt_releases_lock -- a pool whose heap is damaged (a
 * chunk header word with an unknown kind) is refused with PKV_ECORRUPT;
 * the refusal must not leave the file locked or mapped: the next open
 * gives the same answer, not PKV_EBUSY, and once repaired the pool opens.
 */
static void test_open_corrupt_releases_lock(void **state)
{
	struct fixture *f = *state;
	struct pool_hdr h;
	uint64_t word, bad = 0x7, off;
	pkv *db = NULL;
	int fd, rc;

	open_db(f);
	put_kv(f->db, 0, 1, 1);
	close_db(f);

	fd = open(f->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	off = h.chunk_hdr_off + 8 * (heap_chunks_of(fd) - 1);
	assert_int_equal(pread(fd, &word, 8, (off_t)off), 8);
	assert_int_equal(word, 0);   /* the last chunk is free */
	assert_int_equal(pwrite(fd, &bad, 8, (off_t)off), 8);

	f->opts.flags = 0;
	assert_int_equal(pkv_open(f->path, &f->opts, &db), PKV_ECORRUPT);
	assert_null(db);
	assert_non_null(strstr(pkv_errmsg(NULL), f->path));
	rc = pkv_open(f->path, &f->opts, &db);
	if (rc != PKV_ECORRUPT)
		fail_msg("second open of the damaged pool: %s (%s); a failed "
			 "open left the pool locked", pkv_strerror(rc),
			 pkv_errmsg(NULL));

	assert_int_equal(pwrite(fd, &word, 8, (off_t)off), 8);
	close(fd);
	rc = pkv_open(f->path, &f->opts, &f->db);
	if (rc != 0)
		fail_msg("open of the repaired pool: %s (%s)", pkv_strerror(rc),
			 pkv_errmsg(NULL));
	expect_kv(f->db, 0, 1, 1);
	close_db(f);
}

/* same_file -- whether the file at path holds exactly len bytes of buf. */
static bool same_file(const char *path, const void *buf, size_t len)
{
	size_t n;
	void *now = tu_read_file(path, &n);
	bool same = now && n == len && memcmp(now, buf, len) == 0;

	free(now);
	return same;
}

/* damage_word -- write an 8-byte word at off of the file at path; its
 * old value to *old. */
static void damage_word(const char *path, uint64_t off, uint64_t word,
			uint64_t *old)
{
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, old, 8, (off_t)off), 8);
	assert_int_equal(pwrite(fd, &word, 8, (off_t)off), 8);
	close(fd);
}

/*
 * test_open_refused_unmodified -- a pool refused at open is left byte for
 * byte as it was, whatever made the refusal: a clean pool whose key-value
 * root is damaged (the open used to clear its clean-shutdown word first),
 * and a pool copied while open (unclean, logs to replay) with a damaged
 * chunk header (the open used to replay the logs and raise the watermark
 * first) or a damaged root (refused after the replay, which is undone).
 */
static void test_open_refused_unmodified(void **state)
{
	struct fixture *f = *state;
	char copy[4096];
	struct pool_hdr h;
	uint64_t root, old, last;
	size_t len;
	void *before;
	pkv *db = NULL;
	int fd;

	/* Made and closed first: a clean close checkpoints, so the root's
	 * own creation is not among the records the copy replays (on a
	 * disk, where checkpoints are rare, its replay would rewrite the
	 * damaged magic). */
	open_db(f);
	close_db(f);
	open_db(f);
	for (unsigned i = 0; i < 50; i++)
		put_kv(f->db, i % 3, i, 1);
	/* a copy while open: unclean, with records above the watermark */
	snprintf(copy, sizeof(copy), "%s.copy", f->path);
	before = tu_read_file(f->path, &len);
	assert_non_null(before);
	fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, before, len), (ssize_t)len);
	close(fd);
	free(before);
	close_db(f);

	/* 1: clean, the root's magic damaged */
	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	assert_int_equal(pread(fd, &root, 8, POOL_STATE_OFF +
			       offsetof(struct pool_state, root)), 8);
	last = heap_chunks_of(fd) - 1;
	close(fd);
	damage_word(f->path, root + offsetof(struct kv_root, magic), 0x55,
		    &old);
	before = tu_read_file(f->path, &len);
	assert_non_null(before);
	f->opts.flags = 0;
	assert_int_equal(pkv_open(f->path, &f->opts, &db), PKV_ECORRUPT);
	assert_null(db);
	if (!same_file(f->path, before, len))
		fail_msg("a refused clean pool was modified");
	free(before);
	damage_word(f->path, root + offsetof(struct kv_root, magic), old,
		    &old);

	/* 2: unclean, a chunk header damaged */
	damage_word(copy, h.chunk_hdr_off + 8 * last, 0x7, &old);
	before = tu_read_file(copy, &len);
	assert_non_null(before);
	assert_int_equal(pkv_open(copy, &f->opts, &db), PKV_ECORRUPT);
	if (!same_file(copy, before, len))
		fail_msg("a refused unclean pool was modified");
	free(before);
	damage_word(copy, h.chunk_hdr_off + 8 * last, old, &old);

	/* 3: unclean, the root's magic damaged: refused after the replay,
	 * which is undone */
	damage_word(copy, root + offsetof(struct kv_root, magic), 0x55, &old);
	before = tu_read_file(copy, &len);
	assert_non_null(before);
	assert_int_equal(pkv_open(copy, &f->opts, &db), PKV_ECORRUPT);
	if (!same_file(copy, before, len))
		fail_msg("a refused unclean pool was modified by its replay");
	free(before);
	damage_word(copy, root + offsetof(struct kv_root, magic), old, &old);

	/* repaired, it opens and recovers what was acknowledged */
	assert_int_equal(pkv_open(copy, &f->opts, &db), 0);
	for (unsigned i = 0; i < 50; i++)
		expect_kv(db, i % 3, i, 1);
	pkv_close(db);
	unlink(copy);
	open_db(f);
	expect_kv(f->db, 0, 0, 1);
	close_db(f);
}

/*
 * test_open_nothreads -- PKV_NOTHREADS: no active expiry (expired keys
 * stay counted but are hidden), resizes advance with writes alone, a
 * flushed database is reclaimed by pkv_gc.
 */
static void test_open_nothreads(void **state)
{
	struct fixture *f = *state;
	struct pkv_stats st0, st1;
	struct model m;
	int64_t t;
	pkv *db;

	f->opts.flags = PKV_CREATE | PKV_NOTHREADS;
	db = open_db(f);
	model_init(&m, 3000);
	for (unsigned i = 0; i < SC(3000); i++)
		model_put(&m, db, 0, i, 1);
	model_verify(&m, db, 0);
	kv_check(db);
	for (unsigned i = 0; i < 20; i++)
		put_kv(db, 1, i, 1);
	t = pkv_now_ms() + 50;
	expire_keys(db, 1, 0, 1, 10, t);
	while (pkv_now_ms() <= t + 150)
		sleep_ms(10);
	for (unsigned i = 0; i < 20; i++)
		expect_kv(db, 1, i, i < 10 ? -1 : 1);
	assert_int_equal(dbsize(db, 1), 20);   /* nobody removed them */
	assert_int_equal(pkv_stats(db, &st0), 0);
	assert_int_equal(st0.expired_keys, 0);
	assert_int_equal(pkv_flushdb(db, 0), 0);
	assert_int_equal(pkv_gc(db), 0);
	assert_int_equal(pkv_stats(db, &st1), 0);
	assert_true(st1.allocated_bytes < st0.allocated_bytes);
	assert_true(st1.gc_reclaimed_blocks >= SC(3000));
	kv_check(db);
	close_db(f);
	free(m.ver);
}

/* child_writes -- in a child process: open f->path with the pkv_open
 * flags given, put version ver of keys [from, to), delete keys [dfrom,
 * dto), exit without pkv_close. */
static void child_writes(struct fixture *f, unsigned flags, unsigned from,
			 unsigned to, unsigned ver, unsigned dfrom,
			 unsigned dto)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct pkv_options o;
		pkv *db;
		pkv_options_init(&o);
		o.flags = flags;
		if (pkv_open(f->path, &o, &db) != 0)
			_exit(2);
		for (unsigned i = from; i < to; i++) {
			char k[KEYMAX], v[VALMAX];
			size_t kl = mkkey(k, i), vl = mkval(v, i, ver);
			if (pkv_put(db, 0, k, kl, v, vl, 0, 0) != 0)
				_exit(3);
		}
		for (unsigned i = dfrom; i < dto; i++) {
			char k[KEYMAX];
			size_t kl = mkkey(k, i);
			if (pkv_del(db, 0, k, kl) != 0)
				_exit(4);
		}
		_exit(0);     /* no pkv_close */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * test_recovery_counts -- pkv_stats and pkv_open_info say how much of the
 * log an open replayed: a child without the background checkpointer
 * commits ten puts (each its own record) and exits without pkv_close, so
 * the next open replays exactly those ten; an open after a clean close
 * replays nothing.
 */
static void test_recovery_counts(void **state)
{
	struct fixture *f = *state;
	struct pkv_stats st;
	struct pkv_open_info oi;

	open_db(f);
	close_db(f);
	child_writes(f, PKV_NOTHREADS, 0, 10, 1, 0, 0);   /* no checkpoint */

	open_db(f);
	assert_int_equal(pkv_stats(f->db, &st), 0);
	assert_false(st.clean_shutdown);
	assert_int_equal(st.recovery_records, 10);
	/* Each put links its entry and sets its block's bit, at least. */
	assert_true(st.recovery_entries >= 20);
	pkv_open_info(f->db, &oi);
	assert_int_equal(oi.recovery_records, st.recovery_records);
	assert_int_equal(oi.recovery_entries, st.recovery_entries);
	for (unsigned i = 0; i < 10; i++) {
		char k[KEYMAX], v[VALMAX], got[VALMAX];
		size_t kl = mkkey(k, i), vl = mkval(v, i, 1), gl = 0;
		assert_int_equal(pkv_get(f->db, 0, k, kl, got, sizeof(got),
					 &gl), 0);
		assert_int_equal(gl, vl);
		assert_memory_equal(got, v, vl);
	}
	reopen(f);
	assert_int_equal(pkv_stats(f->db, &st), 0);
	assert_true(st.clean_shutdown);
	assert_int_equal(st.recovery_records, 0);
	assert_int_equal(st.recovery_entries, 0);
	close_db(f);
}

/*
 * test_recovery_bounded -- what a crash leaves to replay is bounded on
 * pmem by the replay budget, not by the log rings: a child commits puts
 * and exits without pkv_close, at twelve points of the rings' cycle; each
 * next open replays at most 16 KiB of records and the one past them
 * (records are whole cache lines, these puts' 128 bytes and up: at most
 * 129 of them, checked with some slack; a change is 16 bytes and up: at
 * most about 1,090 changes), and every put is there.  By the rings alone (32 KiB a lane in this pool) 251
 * records were left.  No background thread anywhere, so every run
 * replays the same.  On the file backend the rings are the bound, sized
 * for the disk's checkpoints: only the data is checked.
 */
static void test_recovery_bounded(void **state)
{
	struct fixture *f = *state;
	uint64_t most_records = 0, most_entries = 0;
	struct pkv_stats st;
	bool pmem;

	f->opts.flags = PKV_CREATE | PKV_NOTHREADS;
	open_db(f);
	pmem = f->db->pool->persist.backend != PERSIST_FILE;
	close_db(f);
	for (unsigned round = 0; round < 12; round++) {
		const unsigned n = SC(2000 + 97 * round);

		child_writes(f, PKV_NOTHREADS, 0, n, round, 0, 0);
		open_db(f);
		assert_int_equal(pkv_stats(f->db, &st), 0);
		assert_false(st.clean_shutdown);
		if (st.recovery_records > most_records)
			most_records = st.recovery_records;
		if (st.recovery_entries > most_entries)
			most_entries = st.recovery_entries;
		for (unsigned i = 0; i < n; i++) {
			char k[KEYMAX], v[VALMAX], got[VALMAX];
			size_t kl = mkkey(k, i), vl = mkval(v, i, round);
			size_t gl = 0;
			assert_int_equal(pkv_get(f->db, 0, k, kl, got,
						 sizeof(got), &gl), 0);
			assert_int_equal(gl, vl);
			assert_memory_equal(got, v, vl);
		}
		close_db(f);
	}
	assert_true(most_records > 0);
	print_message("      at most %llu records, %llu changes replayed\n",
		      (unsigned long long)most_records,
		      (unsigned long long)most_entries);
	if (pmem) {
		assert_true(most_records <= 16384 / 96 + 1);
		assert_true(most_entries <= 16384 / 16 + 64);
	}
}

/* test_unclean_reopen -- a process that exits without pkv_close: every
 * committed write is there after the next open, which reports the
 * unclean shutdown, whatever the audit mode; the open after a clean close
 * reports a clean one. */
static void test_unclean_reopen(void **state)
{
	struct fixture *f = *state;
	struct model m;
	struct pkv_stats st;

	model_init(&m, 300);
	open_db(f);
	for (unsigned i = 0; i < 100; i++)
		model_put(&m, f->db, 0, i, 1);
	close_db(f);

	child_writes(f, 0, 50, 300, 2, 0, 20);
	for (unsigned i = 0; i < 300; i++)
		m.ver[i] = i < 20 ? -1 : i < 50 ? 1 : 2;
	m.live = 280;
	f->opts.audit = PKV_AUDIT_NOW;
	open_db(f);
	assert_int_equal(pkv_stats(f->db, &st), 0);
	assert_false(st.clean_shutdown);
	{
		struct pkv_open_info oi;
		pkv_open_info(f->db, &oi);   /* the same, in constant time */
		assert_false(oi.clean_shutdown);
		assert_int_equal(oi.pool_size, st.pool_size);
		assert_int_equal(oi.recovery_ns, st.recovery_ns);
		assert_string_equal(oi.backend, st.backend);
		assert_string_equal(oi.backend_why, st.backend_why);
	}
	model_verify(&m, f->db, 0);
	reopen(f);
	assert_int_equal(pkv_stats(f->db, &st), 0);
	assert_true(st.clean_shutdown);
	model_verify(&m, f->db, 0);
	close_db(f);

	/* the audit in the background, then none at all */
	child_writes(f, 0, 100, 150, 3, 20, 40);
	for (unsigned i = 100; i < 150; i++)
		m.ver[i] = 3;
	for (unsigned i = 20; i < 40; i++)
		m.ver[i] = -1;
	m.live = 260;
	f->opts.audit = PKV_AUDIT_BACKGROUND;
	open_db(f);
	assert_int_equal(pkv_stats(f->db, &st), 0);
	assert_false(st.clean_shutdown);
	model_verify(&m, f->db, 0);
	close_db(f);
	child_writes(f, 0, 0, 10, 4, 290, 300);
	for (unsigned i = 0; i < 10; i++)
		m.ver[i] = 4;
	for (unsigned i = 290; i < 300; i++)
		m.ver[i] = -1;
	m.live = 260;
	f->opts.audit = PKV_AUDIT_SKIP;
	open_db(f);
	assert_int_equal(pkv_stats(f->db, &st), 0);
	assert_false(st.clean_shutdown);
	model_verify(&m, f->db, 0);
	assert_int_equal(pkv_gc(f->db), 0);
	model_verify(&m, f->db, 0);
	close_db(f);
	free(m.ver);
}

/* ================================================================== */
/* put and get                                                         */
/* ================================================================== */

/* test_put_get_basic -- empty keys and values, binary keys, overwrite,
 * get with a short or no buffer. */
static void test_put_get_basic(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	char buf[64];
	size_t n;
	const char k1[] = "a\0b", k2[] = "a\0c";

	/* the empty key, with a value */
	assert_int_equal(pkv_put(db, 0, "", 0, "empty-key", 9, 0, 0), 0);
	n = 0;
	assert_int_equal(pkv_get(db, 0, "", 0, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 9);
	assert_memory_equal(buf, "empty-key", 9);
	assert_int_equal(pkv_get(db, 0, NULL, 0, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 9);
	/* an empty value */
	assert_int_equal(pkv_put(db, 0, "ev", 2, "", 0, 0, 0), 0);
	assert_int_equal(pkv_put(db, 0, "ev2", 3, NULL, 0, 0, 0), 0);
	n = 99;
	assert_int_equal(pkv_get(db, 0, "ev", 2, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(pkv_get(db, 0, "ev2", 3, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pkv_exists(db, 0, "ev", 2), 0);
	/* binary keys that differ after a NUL, and a prefix */
	assert_int_equal(pkv_put(db, 0, k1, 3, "one", 3, 0, 0), 0);
	assert_int_equal(pkv_put(db, 0, k2, 3, "two", 3, 0, 0), 0);
	assert_int_equal(pkv_put(db, 0, "a", 1, "three", 5, 0, 0), 0);
	assert_int_equal(pkv_get(db, 0, k1, 3, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(pkv_get(db, 0, k2, 3, buf, sizeof(buf), &n), 0);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(pkv_get(db, 0, "a", 1, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(pkv_get(db, 0, "a\0", 2, buf, sizeof(buf), &n),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_get(db, 1, k1, 3, buf, sizeof(buf), &n),
			 PKV_ENOTFOUND);
	assert_int_equal(dbsize(db, 0), 6);

	/* overwrite: new value, same count */
	assert_int_equal(pkv_put(db, 0, k1, 3, "uno-bis", 7, 0, 0), 0);
	assert_int_equal(pkv_get(db, 0, k1, 3, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "uno-bis", 7);
	assert_int_equal(dbsize(db, 0), 6);

	/* short buffer: 0, bufsize bytes, the full length; the rest of the
	 * buffer untouched */
	memset(buf, '#', sizeof(buf));
	n = 0;
	assert_int_equal(pkv_get(db, 0, k1, 3, buf, 3, &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "uno", 3);
	for (size_t i = 3; i < sizeof(buf); i++)
		assert_int_equal(buf[i], '#');
	n = 0;
	assert_int_equal(pkv_get(db, 0, k1, 3, buf, 0, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(buf[0], 'u');
	assert_int_equal(pkv_get(db, 0, k1, 3, NULL, 0, NULL), 0);
	assert_int_equal(pkv_get(db, 0, "zz", 2, NULL, 0, NULL),
			 PKV_ENOTFOUND);

	/* all of it after a reopen */
	db = reopen(f);
	assert_int_equal(pkv_get(db, 0, k1, 3, buf, sizeof(buf), &n), 0);
	assert_memory_equal(buf, "uno-bis", 7);
	assert_int_equal(pkv_get(db, 0, "", 0, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(pkv_get(db, 0, "ev", 2, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dbsize(db, 0), 6);
	close_db(f);
}

/* test_put_large_value -- values of 1 MiB and 3 MiB (huge spans) go in,
 * come out and survive a reopen; overwritten by small ones, their room
 * comes back. */
static void test_put_large_value(void **state)
{
	struct fixture *f = *state;
	size_t big1 = 1 * MiB, big3 = 3 * MiB + 17, n;
	char *v1 = malloc(big1), *v3 = malloc(big3), *out = malloc(big3);
	struct pkv_stats st0, st1, st2;
	struct pkv_ref ref;
	pkv *db;

	assert_non_null(v1);
	assert_non_null(v3);
	assert_non_null(out);
	for (size_t i = 0; i < big1; i++)
		v1[i] = (char)(i * 7 + (i >> 12));
	for (size_t i = 0; i < big3; i++)
		v3[i] = (char)(i * 13 + (i >> 10));
	f->opts.size = 16 * MiB;
	db = open_db(f);
	assert_int_equal(pkv_stats(db, &st0), 0);
	assert_int_equal(pkv_put(db, 0, "big1", 4, v1, big1, 0, 0), 0);
	assert_int_equal(pkv_put(db, 0, "big3", 4, v3, big3, 0, 0), 0);
	assert_int_equal(pkv_get(db, 0, "big1", 4, out, big3, &n), 0);
	assert_int_equal(n, big1);
	assert_memory_equal(out, v1, big1);
	assert_int_equal(pkv_get(db, 0, "big3", 4, out, big3, &n), 0);
	assert_int_equal(n, big3);
	assert_memory_equal(out, v3, big3);
	assert_int_equal(pkv_get_ref(db, 0, "big3", 4, &ref), 0);
	assert_int_equal(ref.vlen, big3);
	assert_memory_equal(ref.val, v3, big3);
	pkv_ref_release(&ref);
	assert_int_equal(pkv_stats(db, &st1), 0);
	assert_true(st1.allocated_bytes >= st0.allocated_bytes + big1 + big3);

	db = reopen(f);
	assert_int_equal(pkv_get(db, 0, "big3", 4, out, big3, &n), 0);
	assert_int_equal(n, big3);
	assert_memory_equal(out, v3, big3);
	assert_int_equal(pkv_get(db, 0, "big1", 4, out, big3, &n), 0);
	assert_memory_equal(out, v1, big1);

	/* overwriting with small values frees the spans */
	assert_int_equal(pkv_put(db, 0, "big1", 4, "s", 1, 0, 0), 0);
	assert_int_equal(pkv_put(db, 0, "big3", 4, "t", 1, 0, 0), 0);
	assert_int_equal(pkv_stats(db, &st2), 0);
	assert_true(st2.allocated_bytes < st0.allocated_bytes + 64 * 1024);
	assert_int_equal(pkv_get(db, 0, "big3", 4, out, big3, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 't');
	/* and the room is usable again, several times over */
	for (int r = 0; r < 6; r++) {
		assert_int_equal(pkv_put(db, 0, "big3", 4, v3, big3, 0, 0), 0);
		assert_int_equal(pkv_del(db, 0, "big3", 4), 0);
	}
	close_db(f);
	free(v1);
	free(v3);
	free(out);
}

/* test_put_flags -- PKV_NX and PKV_XX, alone and together, and unknown
 * flags; a refused put changes nothing. */
static void test_put_flags(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	char buf[16];
	size_t n;

	assert_int_equal(pkv_put(db, 0, "k", 1, "v1", 2, PKV_XX, 0),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_exists(db, 0, "k", 1), PKV_ENOTFOUND);
	assert_int_equal(dbsize(db, 0), 0);
	assert_int_equal(pkv_put(db, 0, "k", 1, "v1", 2, PKV_NX, 0), 0);
	assert_int_equal(pkv_put(db, 0, "k", 1, "v2", 2, PKV_NX, 0),
			 PKV_EEXIST);
	assert_int_equal(pkv_get(db, 0, "k", 1, buf, sizeof(buf), &n), 0);
	assert_memory_equal(buf, "v1", 2);
	assert_int_equal(pkv_put(db, 0, "k", 1, "v3", 2, PKV_XX, 0), 0);
	assert_int_equal(pkv_get(db, 0, "k", 1, buf, sizeof(buf), &n), 0);
	assert_memory_equal(buf, "v3", 2);
	assert_int_equal(pkv_put(db, 0, "k", 1, "v4", 2, PKV_NX | PKV_XX, 0),
			 PKV_EINVAL);
	assert_true(pkv_errmsg(db)[0] != '\0');
	assert_int_equal(pkv_put(db, 0, "k", 1, "v5", 2, 0x80, 0),
			 PKV_EINVAL);
	assert_int_equal(pkv_put(db, 0, "k", 1, "v6", 2,
				 PKV_NX | PKV_XX | PKV_KEEPTTL, 0),
			 PKV_EINVAL);
	assert_int_equal(pkv_get(db, 0, "k", 1, buf, sizeof(buf), &n), 0);
	assert_memory_equal(buf, "v3", 2);
	assert_int_equal(dbsize(db, 0), 1);
	/* in another database the key does not exist */
	assert_int_equal(pkv_put(db, 1, "k", 1, "w", 1, PKV_XX, 0),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_put(db, 1, "k", 1, "w", 1, PKV_NX, 0), 0);
	assert_int_equal(dbsize(db, 1), 1);
	/* a deleted key is absent for NX and XX */
	assert_int_equal(pkv_del(db, 0, "k", 1), 0);
	assert_int_equal(pkv_put(db, 0, "k", 1, "v7", 2, PKV_XX, 0),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_put(db, 0, "k", 1, "v8", 2, PKV_NX, 0), 0);
	assert_int_equal(pkv_get(db, 0, "k", 1, buf, sizeof(buf), &n), 0);
	assert_memory_equal(buf, "v8", 2);
	close_db(f);
}

/* test_put_bad_args -- bad database, negative expiry, NULL key or value
 * with a length, lengths over 4 GiB - 1: PKV_EINVAL, nothing written. */
static void test_put_bad_args(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	char small[8] = "1234567";
	size_t n;

	assert_int_equal(pkv_put(db, 16, "k", 1, "v", 1, 0, 0), PKV_EINVAL);
	assert_int_equal(pkv_put(db, UINT32_MAX, "k", 1, "v", 1, 0, 0),
			 PKV_EINVAL);
	assert_int_equal(pkv_put(db, 0, "k", 1, "v", 1, 0, -1), PKV_EINVAL);
	assert_true(pkv_errmsg(db)[0] != '\0');
	assert_int_equal(pkv_put(db, 0, "k", 1, "v", 1, 0, INT64_MIN),
			 PKV_EINVAL);
	assert_int_equal(pkv_put(db, 0, NULL, 1, "v", 1, 0, 0), PKV_EINVAL);
	assert_int_equal(pkv_put(db, 0, "k", 1, NULL, 1, 0, 0), PKV_EINVAL);
	/* the lengths are refused before anything is read */
	assert_int_equal(pkv_put(db, 0, small, 1ull << 32, "v", 1, 0, 0),
			 PKV_EINVAL);
	assert_int_equal(pkv_put(db, 0, "k", 1, small, 1ull << 32, 0, 0),
			 PKV_EINVAL);
	assert_int_equal(pkv_get(db, 0, NULL, 1, small, sizeof(small), &n),
			 PKV_EINVAL);
	assert_int_equal(pkv_del(db, 0, NULL, 1), PKV_EINVAL);
	assert_int_equal(pkv_exists(db, 0, NULL, 1), PKV_EINVAL);
	assert_int_equal(pkv_expire(db, 0, "k", 1, -5), PKV_EINVAL);
	assert_int_equal(dbsize(db, 0), 0);
	assert_int_equal(pkv_exists(db, 0, "k", 1), PKV_ENOTFOUND);
	close_db(f);
}

/* test_keepttl -- PKV_KEEPTTL keeps a key's expiry (and ignores
 * expire_ms); a plain put sets or clears it; the expiry count follows. */
static void test_keepttl(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	int64_t t = pkv_now_ms() + 3600 * 1000, x = -1;
	uint64_t keys, exp;
	char buf[8];
	size_t n;

	assert_int_equal(pkv_put(db, 0, "k", 1, "a", 1, 0, t), 0);
	assert_int_equal(pkv_ttl(db, 0, "k", 1, &x), 0);
	assert_int_equal(x, t);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, 1);
	assert_int_equal(exp, 1);

	assert_int_equal(pkv_put(db, 0, "k", 1, "b", 1, PKV_KEEPTTL, 0), 0);
	assert_int_equal(pkv_ttl(db, 0, "k", 1, &x), 0);
	assert_int_equal(x, t);
	assert_int_equal(pkv_get(db, 0, "k", 1, buf, sizeof(buf), &n), 0);
	assert_int_equal(buf[0], 'b');
	assert_int_equal(pkv_put(db, 0, "k", 1, "c", 1, PKV_KEEPTTL | PKV_XX,
				 t + 5000), 0);
	assert_int_equal(pkv_ttl(db, 0, "k", 1, &x), 0);
	assert_int_equal(x, t);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(exp, 1);

	/* a put without the flag and with expire_ms 0 clears it */
	assert_int_equal(pkv_put(db, 0, "k", 1, "d", 1, 0, 0), 0);
	assert_int_equal(pkv_ttl(db, 0, "k", 1, &x), 0);
	assert_int_equal(x, 0);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, 1);
	assert_int_equal(exp, 0);
	/* with another time it sets it */
	assert_int_equal(pkv_put(db, 0, "k", 1, "e", 1, 0, t + 1), 0);
	assert_int_equal(pkv_ttl(db, 0, "k", 1, &x), 0);
	assert_int_equal(x, t + 1);

	/* KEEPTTL on a new key: no expiry, whatever expire_ms says */
	assert_int_equal(pkv_put(db, 0, "n", 1, "f", 1, PKV_KEEPTTL, t), 0);
	assert_int_equal(pkv_ttl(db, 0, "n", 1, &x), 0);
	assert_int_equal(x, 0);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, 2);
	assert_int_equal(exp, 1);

	db = reopen(f);
	assert_int_equal(pkv_ttl(db, 0, "k", 1, &x), 0);
	assert_int_equal(x, t + 1);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, 2);
	assert_int_equal(exp, 1);
	close_db(f);
}

/* test_many_keys -- 50,000 keys (several resizes): all readable, counted,
 * and after overwrites, deletes and a reopen still exactly the model. */
static void test_many_keys(void **state)
{
	struct fixture *f = *state;
	struct model m;
	unsigned N;
	uint64_t t0 = mono_ms();
	pkv *db;

	f->opts.size = 64 * MiB;
	db = open_db(f);
	N = scale_div > 1 ? 600 : 50000;
	model_init(&m, N);
	for (unsigned i = 0; i < N; i++)
		model_put(&m, db, 0, i, 1);
	model_verify(&m, db, 0);
	for (unsigned i = 0; i < N; i += 7)
		model_del(&m, db, 0, i);
	for (unsigned i = 3; i < N; i += 11)
		model_put(&m, db, 0, i, 2);
	model_verify(&m, db, 0);
	kv_check(db);
	db = reopen(f);
	model_verify(&m, db, 0);
	assert_int_equal(dbsize(db, 1), 0);
	close_db(f);
	free(m.ver);
	print_message("      %u keys: %llu ms\n", N,
		      (unsigned long long)(mono_ms() - t0));
}

/* test_del_exists -- pkv_del and pkv_exists against a model. */
static void test_del_exists(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	struct model m0, m1;
	char k[KEYMAX];
	size_t kl;

	model_init(&m0, 200);
	model_init(&m1, 200);
	for (unsigned i = 0; i < 200; i++) {
		model_put(&m0, db, 0, i, 1);
		if (i % 2)
			model_put(&m1, db, 1, i, 3);
	}
	for (unsigned i = 0; i < 200; i += 3)
		model_del(&m0, db, 0, i);
	for (unsigned i = 0; i < 200; i += 3)
		model_del(&m0, db, 0, i);     /* again: PKV_ENOTFOUND */
	for (unsigned i = 0; i < 200; i++) {
		kl = mkkey(k, i);
		assert_int_equal(pkv_exists(db, 0, k, kl),
				 m0.ver[i] >= 0 ? 0 : PKV_ENOTFOUND);
		assert_int_equal(pkv_exists(db, 1, k, kl),
				 m1.ver[i] >= 0 ? 0 : PKV_ENOTFOUND);
	}
	assert_int_equal(pkv_del(db, 0, "nope", 4), PKV_ENOTFOUND);
	assert_int_equal(pkv_del(db, 2, "nope", 4), PKV_ENOTFOUND);
	model_verify(&m0, db, 0);
	model_verify(&m1, db, 1);
	db = reopen(f);
	model_verify(&m0, db, 0);
	model_verify(&m1, db, 1);
	close_db(f);
	free(m0.ver);
	free(m1.ver);
}

/* ================================================================== */
/* expiry                                                              */
/* ================================================================== */

/* test_expire_basic -- pkv_expire sets, reads back, clears; a time in
 * the past deletes; missing keys and negative times are refused. */
static void test_expire_basic(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	int64_t t = pkv_now_ms() + 600000, x = -1;
	uint64_t keys, exp;

	put_kv(db, 0, 1, 1);
	put_kv(db, 0, 2, 1);
	put_kv(db, 0, 3, 1);
	char k1[KEYMAX], k2[KEYMAX], k3[KEYMAX];
	size_t l1 = mkkey(k1, 1), l2 = mkkey(k2, 2), l3 = mkkey(k3, 3);

	assert_int_equal(pkv_ttl(db, 0, k1, l1, &x), 0);
	assert_int_equal(x, 0);
	assert_int_equal(pkv_ttl(db, 0, k1, l1, NULL), 0);
	assert_int_equal(pkv_expire(db, 0, k1, l1, t), 0);
	assert_int_equal(pkv_ttl(db, 0, k1, l1, &x), 0);
	assert_int_equal(x, t);
	expect_kv(db, 0, 1, 1);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, 3);
	assert_int_equal(exp, 1);
	/* the same time again, then none */
	assert_int_equal(pkv_expire(db, 0, k1, l1, t), 0);
	assert_int_equal(pkv_expire(db, 0, k1, l1, 0), 0);
	assert_int_equal(pkv_ttl(db, 0, k1, l1, &x), 0);
	assert_int_equal(x, 0);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(exp, 0);
	assert_int_equal(pkv_expire(db, 0, k2, l2, t), 0);

	/* in the past: the key is gone */
	assert_int_equal(pkv_expire(db, 0, k3, l3, pkv_now_ms() - 1000), 0);
	expect_kv(db, 0, 3, -1);
	assert_int_equal(pkv_exists(db, 0, k3, l3), PKV_ENOTFOUND);
	assert_int_equal(pkv_ttl(db, 0, k3, l3, &x), PKV_ENOTFOUND);
	assert_int_equal(pkv_expire(db, 0, k3, l3, t), PKV_ENOTFOUND);
	assert_true(wait_dbsize(db, 0, 2, 3000));
	assert_int_equal(pkv_expire(db, 0, k1, l1, 1), 0);   /* 1 ms: 1970 */
	expect_kv(db, 0, 1, -1);
	assert_true(wait_dbsize(db, 0, 1, 3000));

	/* missing keys, bad arguments */
	assert_int_equal(pkv_expire(db, 0, "nope", 4, t), PKV_ENOTFOUND);
	assert_int_equal(pkv_ttl(db, 0, "nope", 4, &x), PKV_ENOTFOUND);
	assert_int_equal(pkv_expire(db, 0, k2, l2, -1), PKV_EINVAL);
	assert_int_equal(pkv_ttl(db, 0, k2, l2, &x), 0);
	assert_int_equal(x, t);

	db = reopen(f);
	assert_int_equal(pkv_ttl(db, 0, k2, l2, &x), 0);
	assert_int_equal(x, t);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, 1);
	assert_int_equal(exp, 1);
	close_db(f);
}

/* test_put_expired -- a put whose expiry is already past leaves the key
 * absent, whether it existed or not. */
static void test_put_expired(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	int64_t past = pkv_now_ms() - 10;
	char k[KEYMAX], v[VALMAX];
	size_t kl = mkkey(k, 1), vl = mkval(v, 1, 1);
	int rc;

	rc = pkv_put(db, 0, k, kl, v, vl, 0, past);
	assert_true(rc == 0);
	assert_int_equal(pkv_exists(db, 0, k, kl), PKV_ENOTFOUND);
	assert_true(wait_dbsize(db, 0, 0, 3000));
	put_kv(db, 0, 1, 2);
	assert_int_equal(pkv_put(db, 0, k, kl, v, vl, 0, 1), 0);
	expect_kv(db, 0, 1, -1);
	assert_true(wait_dbsize(db, 0, 0, 3000));
	/* NX on the expired key: it is absent, so the put happens */
	assert_int_equal(pkv_put(db, 0, k, kl, v, vl, PKV_NX, past), 0);
	expect_kv(db, 0, 1, -1);
	db = reopen(f);
	expect_kv(db, 0, 1, -1);
	assert_int_equal(dbsize(db, 0), 0);
	close_db(f);
}

/* seen_scan -- pkv_scan callback: count each key number (keyno). */
struct seen {
	unsigned *count;     /* per key number */
	unsigned n;
	unsigned total;      /* calls */
	unsigned foreign;    /* keys not made by mkkey, or out of range */
	unsigned badval;     /* values that do not match ver[] */
	const int *ver;      /* expected version per key, or NULL */
	unsigned exp_mod;    /* if not 0: keys i % exp_mod == 0 expire at */
	int64_t exp_at;      /* exp_at, the others never */
	unsigned badexp;     /* expiry times that do not match */
};

static int seen_fn(void *ctx, const struct pkv_item *it)
{
	const void *key = it->key, *val = it->val;
	size_t klen = it->klen, vlen = it->vlen;
	int64_t expire_ms = it->expire_ms;
	struct seen *s = ctx;
	long i = keyno(key, klen);

	s->total++;
	if (i < 0 || (unsigned long)i >= s->n) {
		s->foreign++;
		return 0;
	}
	s->count[i]++;
	if (s->ver && s->ver[i] >= 0 &&
	    !val_ok(val, vlen, (unsigned)i, (unsigned)s->ver[i]))
		s->badval++;
	if (s->exp_mod &&
	    expire_ms != (i % s->exp_mod == 0 ? s->exp_at : 0))
		s->badexp++;
	return 0;
}

static void seen_init(struct seen *s, unsigned n, const int *ver)
{
	memset(s, 0, sizeof(*s));
	s->count = calloc(n, sizeof(unsigned));
	assert_non_null(s->count);
	s->n = n;
	s->ver = ver;
}

/* scan_all -- a whole scan of dbi with count per step into s; steps. */
static unsigned scan_all(pkv *db, unsigned dbi, unsigned count,
			 struct seen *s)
{
	uint64_t cur = 0, next;
	unsigned steps = 0;

	do {
		assert_int_equal(pkv_scan(db, dbi, cur, count, seen_fn, s,
					  &next), 0);
		cur = next;
		assert_true(++steps < 10000000);
	} while (cur != 0);
	return steps;
}

/* test_expire_active -- keys given now + 200 ms disappear for readers
 * after 300 ms, and the maintenance thread removes them from the counts;
 * the others are untouched. */
static void test_expire_active(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	const unsigned N = scale_div > 1 ? 150 : 600;  /* 2/3 expiring */
	const unsigned NX = N - (N + 2) / 3;
	int64_t t, x;
	uint64_t keys, exp;
	struct pkv_stats st;
	struct pkv_ref ref;
	struct seen s;
	int ver[600];
	char k[KEYMAX];

	for (unsigned i = 0; i < N; i++) {
		put_kv(db, 0, i, 1);
		ver[i] = i % 3 ? -1 : 1;
	}
	/* a few one by one, the rest in batches */
	t = pkv_now_ms() + 200;
	for (unsigned i = 1; i < 12; i++) {
		size_t kl = mkkey(k, i);
		if (i % 3)
			assert_int_equal(pkv_expire(db, 0, k, kl, t), 0);
	}
	expire_keys(db, 0, 13, 3, (N - 13 + 2) / 3, t);
	expire_keys(db, 0, 14, 3, (N - 14 + 2) / 3, t);
	if (pkv_now_ms() >= t - 20)
		fail_msg("setting the expiries took more than 180 ms");
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, N);
	assert_int_equal(exp, NX);
	for (unsigned i = 0; i < N; i++) {
		size_t kl = mkkey(k, i);
		assert_int_equal(pkv_ttl(db, 0, k, kl, &x), 0);
		assert_int_equal(x, i % 3 ? t : 0);
	}
	while (pkv_now_ms() < t + 100)
		sleep_ms(10);
	for (unsigned i = 0; i < N; i++) {
		size_t kl = mkkey(k, i);
		expect_kv(db, 0, i, ver[i]);
		if (ver[i] >= 0)
			continue;
		assert_int_equal(pkv_exists(db, 0, k, kl), PKV_ENOTFOUND);
		assert_int_equal(pkv_ttl(db, 0, k, kl, &x), PKV_ENOTFOUND);
		assert_int_equal(pkv_get_ref(db, 0, k, kl, &ref),
				 PKV_ENOTFOUND);
	}
	/* a scan returns none of them */
	seen_init(&s, N, ver);
	scan_all(db, 0, 10, &s);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(s.count[i] > 0, ver[i] >= 0);
	assert_int_equal(s.badval, 0);
	free(s.count);

	/* the maintenance thread removes them */
	if (!wait_dbsize(db, 0, N - NX, 5000)) {
		char msg[512];
		kv_check_db(db, 0, msg, sizeof(msg));
		fail_msg("active expiry: dbsize still %llu after 5 s (want "
			 "%u); kv_check: %s", (unsigned long long)dbsize(db, 0),
			 N - NX, msg[0] ? msg : "fine");
	}
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(exp, 0);
	assert_int_equal(pkv_stats(db, &st), 0);
	assert_int_equal(st.expired_keys, NX);
	assert_int_equal(st.expires, 0);
	for (unsigned i = 0; i < N; i++)
		expect_kv(db, 0, i, ver[i]);
	kv_check(db);
	/* the room they took is reused and nothing else is disturbed */
	for (unsigned i = N; i < N + NX; i++)
		put_kv(db, 0, i, 1);
	for (unsigned i = 0; i < N; i++)
		expect_kv(db, 0, i, ver[i]);
	for (unsigned i = N; i < N + NX; i++)
		expect_kv(db, 0, i, 1);
	db = reopen(f);
	for (unsigned i = 0; i < N; i++)
		expect_kv(db, 0, i, ver[i]);
	assert_int_equal(dbsize(db, 0), N);
	close_db(f);
}

/*
 * test_expire_active_same_chain -- the maintenance thread removes two
 * expired keys that share a chain, in front of a key that stays: the
 * staying key must remain reachable, and no freed entry may stay linked
 * (the expiry batch unlinks both in one transaction).
 */
static void test_expire_active_same_chain(void **state)
{
	struct fixture *f = *state;
	char keys[4][KEYMAX];
	size_t lens[4];
	char v[VALMAX];
	int64_t t;
	pkv *db = open_db(f);

	memset(keys, 0, sizeof(keys));
	same_bucket_keys(db, 0, 4, keys, lens);
	/* chain: head -> keys[3] -> keys[2] -> keys[1] -> keys[0] */
	assert_int_equal(pkv_put(db, 0, keys[0], lens[0], "stay0", 5, 0, 0),
			 0);
	assert_int_equal(pkv_put(db, 0, keys[1], lens[1], "stay1", 5, 0, 0),
			 0);
	t = pkv_now_ms() + 150;
	assert_int_equal(pkv_put(db, 0, keys[2], lens[2], "gone2", 5, 0, t),
			 0);
	assert_int_equal(pkv_put(db, 0, keys[3], lens[3], "gone3", 5, 0, t),
			 0);
	if (!wait_dbsize(db, 0, 2, 5000))
		fail_msg("active expiry: dbsize %llu after 5 s (want 2)",
			 (unsigned long long)dbsize(db, 0));
	/* churn the heap so freed entries of this size get reused */
	const unsigned churn = scale_div > 1 ? 150 : 300;
	for (unsigned r = 0; r < (scale_div > 1 ? 1u : 3u); r++) {
		for (unsigned i = 0; i < churn; i++) {
			char k[KEYMAX];
			size_t kl = (size_t)snprintf(k, sizeof(k), "z:%u", i);
			memset(v, 'a' + (int)r, 5);
			assert_int_equal(pkv_put(db, 1, k, kl, v, 5, 0, 0), 0);
		}
		for (unsigned i = 0; i < churn; i++) {
			char k[KEYMAX];
			size_t kl = (size_t)snprintf(k, sizeof(k), "z:%u", i);
			assert_int_equal(pkv_del(db, 1, k, kl), 0);
		}
	}
	for (unsigned j = 0; j < 2; j++) {
		size_t n = 0;
		int rc = pkv_get(db, 0, keys[j], lens[j], v, sizeof(v), &n);
		if (rc != 0 || n != 5 || memcmp(v, j ? "stay1" : "stay0", 5))
			fail_msg("key %s (sharing a chain with two keys removed"
				 " by active expiry): %s, vlen %zu", keys[j],
				 pkv_strerror(rc), n);
	}
	for (unsigned j = 2; j < 4; j++)
		assert_int_equal(pkv_exists(db, 0, keys[j], lens[j]),
				 PKV_ENOTFOUND);
	kv_check(db);
	close_db(f);
}

/* ================================================================== */
/* a full pool                                                         */
/* ================================================================== */

/* grow_fill -- put keys from *n on (4000-byte values, byte i % 251)
 * until the pool is full; the keys' count to *n.  Returns how many fit. */
static unsigned grow_fill(pkv *db, unsigned *n, unsigned maxk)
{
	static char v[4000];
	unsigned first = *n;
	int rc = 0;

	for (; *n < maxk; (*n)++) {
		char k[KEYMAX];
		size_t kl = mkkey(k, *n);
		memset(v, (int)(*n % 251), sizeof(v));
		if ((rc = pkv_put(db, 0, k, kl, v, sizeof(v), 0, 0)) != 0)
			break;
	}
	if (rc != PKV_EFULL)
		fail_msg("after %u puts: %s, expected PKV_EFULL", *n,
			 pkv_strerror(rc));
	return *n - first;
}

/* grow_verify -- keys 0..n-1 hold what grow_fill put. */
static void grow_verify(pkv *db, unsigned n)
{
	char out[4000];
	size_t vl;

	assert_int_equal(dbsize(db, 0), n);
	for (unsigned i = 0; i < n; i++) {
		char k[KEYMAX];
		size_t kl = mkkey(k, i);
		assert_int_equal(pkv_get(db, 0, k, kl, out, sizeof(out), &vl),
				 0);
		assert_int_equal(vl, sizeof(out));
		if ((unsigned char)out[0] != i % 251 ||
		    (unsigned char)out[vl - 1] != i % 251)
			fail_msg("key %u changed", i);
	}
}

/*
 * test_grow -- a full 8 MiB pool (maximum 32 MiB) grows online: the pool
 * file and the figures follow, the writes that did not fit fit, nothing
 * already there moves or changes, and the new size survives a reopen; a
 * smaller size changes nothing, one past the maximum is refused with a
 * message.  Then with PKV_AUTOGROW the writes grow it themselves, up to
 * the maximum, where the pool is full as any other: every key intact.
 */
static void test_grow(void **state)
{
	struct fixture *f = *state;
	const unsigned MAXK = 20000;
	struct pkv_stats st;
	unsigned n = 0, first, more, auto_n;
	pkv *db;

	f->opts.size = 8 * MiB;
	f->opts.max_size = 32 * MiB;
	db = open_db(f);
	assert_int_equal(pkv_stats(db, &st), 0);
	assert_int_equal(st.pool_size, 8 * MiB);
	assert_true(st.pool_max_size <= 32 * MiB);
	assert_true(st.pool_max_size > 31 * MiB);
	/* the headroom counts the growth the maximum allows */
	assert_int_equal(st.headroom_bytes, st.heap_free_bytes +
			 st.pool_max_size - st.pool_size);
	first = grow_fill(db, &n, MAXK);
	/* full: the fragmentation is the chunks held per allocated byte */
	assert_int_equal(pkv_stats(db, &st), 0);
	assert_int_equal(st.active_bytes, st.heap_bytes - st.heap_free_bytes);
	assert_true(st.frag_ratio >= 1.0);
	assert_true(st.frag_ratio * (double)st.allocated_bytes >
		    (double)st.active_bytes - 1.0);
	assert_true(st.frag_ratio * (double)st.allocated_bytes <
		    (double)st.active_bytes + 1.0);

	assert_int_equal(pkv_grow(db, 16 * MiB), 0);
	assert_int_equal(pkv_stats(db, &st), 0);
	assert_true(st.pool_size >= 16 * MiB);
	assert_true(st.pool_size < 16 * MiB + 256 * 1024);
	assert_int_equal(tu_file_size(f->path), (off_t)st.pool_size);
	more = grow_fill(db, &n, MAXK);
	print_message("      8 MiB held %u values of 4000 B; grown to 16 MiB, "
		      "%u more\n", first, more);
	assert_true(more > first * 3 / 4);
	grow_verify(db, n);

	/* smaller: nothing changes; past the maximum: refused, kept */
	assert_int_equal(pkv_grow(db, 1 * MiB), 0);
	assert_int_equal(pkv_grow(db, 64 * MiB), PKV_EINVAL);
	assert_non_null(strstr(pkv_errmsg(db), "at most"));
	db = reopen(f);
	assert_int_equal(pkv_stats(db, &st), 0);
	assert_true(st.pool_size >= 16 * MiB);
	assert_true(st.pool_size < 16 * MiB + 256 * 1024);
	grow_verify(db, n);

	/* PKV_AUTOGROW: the writes grow the pool up to its maximum */
	f->opts.flags |= PKV_AUTOGROW;
	db = reopen(f);
	auto_n = grow_fill(db, &n, MAXK);
	assert_int_equal(pkv_stats(db, &st), 0);
	print_message("      PKV_AUTOGROW: %u more, the pool at %.1f of %.1f "
		      "MiB, %.1f%% payload\n", auto_n,
		      (double)st.pool_size / MiB,
		      (double)st.pool_max_size / MiB,
		      100.0 * n * 4000 / (double)st.pool_size);
	assert_int_equal(st.pool_size, st.pool_max_size);
	assert_true(auto_n > more);
	assert_int_equal(tu_file_size(f->path), (off_t)st.pool_size);
	db = reopen(f);
	grow_verify(db, n);
	f->opts.flags &= ~PKV_AUTOGROW;
	close_db(f);
}

/* mapped_random -- bytes of path's mappings in this process, and of
 * them those whose VmFlags say random access ("rr"), from smaps. */
static void mapped_random(const char *path, uint64_t *mapped,
			  uint64_t *random)
{
	FILE *fp = fopen("/proc/self/smaps", "r");
	char line[512];
	bool ours = false;
	uint64_t len = 0;

	*mapped = *random = 0;
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		unsigned long a, b;
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 &&
		    strchr(line, '/')) {
			ours = strcmp(strchr(line, '/'), path) == 0;
			len = b - a;
			if (ours)
				*mapped += len;
		} else if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
			ours = false;
		} else if (ours && !strncmp(line, "VmFlags:", 8) &&
			   strstr(line, " rr")) {
			*random += len;
		}
	}
	fclose(fp);
}

/*
 * test_file_pages -- on the file backend the pool's mapping asks for
 * random access (no fault readahead), also over the part a growth maps:
 * with readahead a file system with large folios tracks dirtiness per
 * folio of up to 2 MiB, and one store makes its whole folio written back
 * (on ext4 487 KiB per randomly dirtied page, against 4 KiB).
 */
static void test_file_pages(void **state)
{
	struct fixture *f = *state;
	uint64_t mapped, random;
	char *real;
	pkv *db;

	f->opts.size = 8 * MiB;
	f->opts.max_size = 32 * MiB;
	f->opts.backend = PKV_BACKEND_FILE;
	db = open_db(f);
	assert_int_equal(pkv_put(db, 0, "k", 1, "v", 1, 0, 0), 0);
	real = realpath(f->path, NULL);
	assert_non_null(real);
	mapped_random(real, &mapped, &random);
	assert_true(mapped >= 8 * MiB);
	assert_int_equal(random, mapped);
	assert_int_equal(pkv_grow(db, 24 * MiB), 0);
	mapped_random(real, &mapped, &random);
	assert_true(mapped >= 24 * MiB);
	assert_int_equal(random, mapped);
	free(real);
	close_db(f);
}

/* thread_nice -- the nice value of this process's thread named `name`,
 * or INT_MIN if it has none (yet). */
static int thread_nice(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int nice = INT_MIN;

	assert_non_null(d);
	while (nice == INT_MIN && (e = readdir(d))) {
		char path[300], buf[1024], *p;
		FILE *fp;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		if (!(fp = fopen(path, "r")))
			continue;   /* the thread ended */
		if (!fgets(buf, sizeof(buf), fp))
			buf[0] = 0;
		fclose(fp);
		buf[strcspn(buf, "\n")] = 0;
		if (strcmp(buf, name))
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat",
			 e->d_name);
		if (!(fp = fopen(path, "r")))
			continue;
		if (!fgets(buf, sizeof(buf), fp))
			buf[0] = 0;
		fclose(fp);
		/* after "(comm) ": state is field 3, nice field 19 */
		p = strrchr(buf, ')');
		assert_non_null(p);
		p += 2;
		for (int field = 3; field < 19 && p; field++)
			if ((p = strchr(p, ' ')))
				p++;
		assert_non_null(p);
		nice = atoi(p);
	}
	closedir(d);
	return nice;
}

/*
 * test_ckpt_priority -- on a disk the checkpointer runs 10 nice levels
 * below the process (KV_CKPT_NICE_DISK), and only that thread: the
 * caller's own priority is unchanged.  (The thread names itself, then
 * lowers its priority: waited for, at most 10 s.)
 */
static void test_ckpt_priority(void **state)
{
	struct fixture *f = *state;
	int before = getpriority(PRIO_PROCESS, 0), want, nice = INT_MIN;

	f->opts.backend = PKV_BACKEND_FILE;
	open_db(f);
	want = before + KV_CKPT_NICE_DISK > 19 ? 19 :
	       before + KV_CKPT_NICE_DISK;
	for (int i = 0; i < 1000 && (nice = thread_nice("pkv-ckpt")) != want;
	     i++)
		usleep(10000);
	assert_int_equal(nice, want);
	assert_int_equal(getpriority(PRIO_PROCESS, 0), before);
	close_db(f);
}

/* sizes_fill -- keys "s<phase>:<i>" with vlen-byte values until the pool
 * is full; how many fit. */
static unsigned sizes_fill(pkv *db, unsigned phase, size_t vlen)
{
	static char v[4096];
	unsigned n = 0;
	int rc;

	memset(v, (int)('a' + phase), sizeof(v));
	for (;; n++) {
		char k[32];
		size_t kl = (size_t)snprintf(k, sizeof(k), "s%u:%u", phase, n);
		if ((rc = pkv_put(db, 0, k, kl, v, vlen, 0, 0)) != 0)
			break;
	}
	if (rc != PKV_EFULL)
		fail_msg("phase %u: %s after %u puts, expected PKV_EFULL",
			 phase, pkv_strerror(rc), n);
	return n;
}

/*
 * test_sizes_change -- a 32 MiB pool filled with 64-byte values, emptied
 * (every key deleted), filled with 4 KiB values, emptied, three times over: the runs a size
 * leaves empty go back to the free chunks, so each fill finds the pool
 * as usable as the first (at least 85% of the heap allocated when it is
 * full, and at least 90% as many values of that size as the first time),
 * where the chunks used to stay with the first size for good.
 */
static void test_sizes_change(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[2] = { 64, 4096 };
	struct pkv_stats st;
	unsigned first[2] = { 0, 0 };
	pkv *db;

	f->opts.size = 32 * MiB;
	db = open_db(f);
	for (unsigned phase = 0; phase < 6; phase++) {
		size_t vlen = sizes[phase % 2];
		unsigned n = sizes_fill(db, phase, vlen);

		assert_int_equal(pkv_stats(db, &st), 0);
		print_message("      %4zu B values: %u fit, %.1f%% of the heap "
			      "allocated, %.1f%% payload\n", vlen, n,
			      100 * st.utilization,
			      100.0 * (double)n * vlen / (double)st.heap_bytes);
		if (st.utilization < 0.85)
			fail_msg("phase %u (%zu B): utilization %.3f at the "
				 "first full, under 0.85", phase, vlen,
				 st.utilization);
		/* and the values in their own size, not in blocks of the
		 * other's: as many as the first time */
		if (phase < 2)
			first[phase] = n;
		else if (n < first[phase % 2] * 9 / 10)
			fail_msg("phase %u (%zu B): %u values, %u the first "
				 "time", phase, vlen, n, first[phase % 2]);
		for (unsigned i = 0; i < n; i++) {
			char k[32];
			size_t kl = (size_t)snprintf(k, sizeof(k), "s%u:%u",
						     phase, i);
			assert_int_equal(pkv_del(db, 0, k, kl), 0);
		}
	}
	close_db(f);
}

/* defrag_expect -- keys s0:i of a 64-byte fill: every fourth there with
 * its value, the others gone. */
static void defrag_expect(pkv *db, unsigned n)
{
	char v[64], want[64];

	memset(want, 'a', sizeof(want));
	for (unsigned i = 0; i < n; i++) {
		char k[32];
		size_t kl = (size_t)snprintf(k, sizeof(k), "s0:%u", i), vl = 0;
		int rc = pkv_get(db, 0, k, kl, v, sizeof(v), &vl);
		if (i % 4) {
			assert_int_equal(rc, PKV_ENOTFOUND);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(vl, sizeof(v));
		assert_memory_equal(v, want, sizeof(v));
	}
}

/*
 * test_defrag -- a 32 MiB pool filled with 64-byte values, three of every
 * four deleted: every run of the class is a quarter full and 4 KiB values
 * find almost no room.  pkv_defrag moves the keys out of the sparsest
 * runs, which go back to the free chunks: many more 4 KiB values fit, the
 * allocator's fragmentation falls, and every key kept has its value, also
 * after a reopen.
 */
static void test_defrag(void **state)
{
	struct fixture *f = *state;
	struct pkv_defrag_stats ds;
	struct pkv_stats s0, s1;
	unsigned n, before, after;
	pkv *db;

	f->opts.size = 32 * MiB;
	/* No background threads: with them, how many keys fit and how
	 * many runs pkv_defrag said it gave back varied with their timing
	 * (210,448 to 219,538 keys; 14 to 85 runs of 80 to 84, so the bar
	 * below failed two runs in four).  pkv_defrag counts only the runs
	 * it gives back itself; the threads may give some back first. */
	f->opts.flags |= PKV_NOTHREADS;
	db = open_db(f);
	n = sizes_fill(db, 0, 64);
	for (unsigned i = 0; i < n; i++) {
		char k[32];
		size_t kl = (size_t)snprintf(k, sizeof(k), "s0:%u", i);
		if (i % 4)
			assert_int_equal(pkv_del(db, 0, k, kl), 0);
	}
	before = sizes_fill(db, 1, 4096);
	for (unsigned i = 0; i < before; i++) {
		char k[32];
		size_t kl = (size_t)snprintf(k, sizeof(k), "s1:%u", i);
		assert_int_equal(pkv_del(db, 0, k, kl), 0);
	}
	assert_int_equal(pkv_stats(db, &s0), 0);
	assert_int_equal(pkv_defrag(db, &ds), 0);
	assert_int_equal(pkv_stats(db, &s1), 0);
	print_message("      %u keys of 64 B, 3/4 deleted: %u of 4 KiB fit; "
		      "defrag: %" PRIu64 " runs, %" PRIu64 " moved, %" PRIu64
		      " left, %" PRIu64 " runs freed; frag %.2f -> %.2f\n",
		      n, before, ds.runs, ds.moved, ds.skipped, ds.runs_freed,
		      s0.frag_ratio, s1.frag_ratio);
	assert_true(ds.runs > 0);
	assert_true(ds.moved > 0);
	assert_true(ds.runs_freed >= ds.runs / 2);
	assert_true(s1.frag_ratio < s0.frag_ratio);
	assert_int_equal(s1.keys, (n + 3) / 4);
	defrag_expect(db, n);
	after = sizes_fill(db, 2, 4096);
	print_message("      after: %u of 4 KiB fit\n", after);
	assert_true(after > before + (unsigned)(ds.runs_freed / 2));
	db = reopen(f);
	defrag_expect(db, n);
	close_db(f);
}

/* usage_delta -- allocated bytes now, after a checkpoint has let the
 * blocks freed meanwhile go. */
static uint64_t usage_allocated(pkv *db)
{
	struct pkv_stats st;

	assert_int_equal(heap_checkpoint(db->heap), 0);
	assert_int_equal(pkv_stats(db, &st), 0);
	return st.allocated_bytes;
}

/*
 * memory_usage_batch -- (test_memory_usage) inside a batch,
 * pkv_batch_memory_usage counts a hash as the batch leaves it: a new one
 * with its fields, an old one with the fields added and without those
 * deleted, the same bytes pkv_memory_usage gives after the commit.
 */
static void memory_usage_batch(pkv *db)
{
	static char v[100];
	uint64_t in_new, in_old, out;
	pkv_batch *b;

	assert_int_equal(pkv_batch_begin(db, &b), 0);
	for (unsigned i = 0; i < 300; i++) {
		char m[16];
		size_t ml = (size_t)snprintf(m, sizeof(m), "n%u", i);
		assert_int_equal(pkv_batch_hset(b, 0, "newh", 4, m, ml, v, 50,
						0), 0);
		if (i < 200) {
			ml = (size_t)snprintf(m, sizeof(m), "x%u", i);
			assert_int_equal(pkv_batch_hset(b, 0, "hash", 4, m, ml,
							v, 50, 0), 0);
			ml = (size_t)snprintf(m, sizeof(m), "m%u", i);
			assert_int_equal(pkv_batch_hdel(b, 0, "hash", 4, m, ml),
					 0);
		}
	}
	assert_int_equal(pkv_batch_memory_usage(b, 0, "newh", 4, &in_new), 0);
	assert_int_equal(pkv_batch_memory_usage(b, 0, "hash", 4, &in_old), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	assert_int_equal(pkv_memory_usage(db, 0, "newh", 4, &out), 0);
	print_message("      new hash of 300 in a batch: %" PRIu64 " bytes, "
		      "%" PRIu64 " after\n", in_new, out);
	assert_true(out > 300 * 50);
	assert_int_equal(in_new, out);
	assert_int_equal(pkv_memory_usage(db, 0, "hash", 4, &out), 0);
	print_message("      hash of 1000, 200 changed in a batch: %" PRIu64
		      " bytes, %" PRIu64 " after\n", in_old, out);
	assert_int_equal(in_old, out);
}

/*
 * test_memory_usage -- pkv_memory_usage of a string is its entry's
 * block; of a hash, set, list and sorted set of 1000 members, exactly
 * the bytes the pool's allocation grew by when it was made; a missing
 * key is PKV_ENOTFOUND; inside a batch, what the batch made of a hash
 * (memory_usage_batch).
 */
static void test_memory_usage(void **state)
{
	struct fixture *f = *state;
	static char v[100];
	uint64_t a0, a1, u;
	pkv *db = open_db(f);

	assert_int_equal(pkv_memory_usage(db, 0, "none", 4, &u),
			 PKV_ENOTFOUND);
	a0 = usage_allocated(db);
	assert_int_equal(pkv_put(db, 0, "str", 3, v, sizeof(v), 0, 0), 0);
	a1 = usage_allocated(db);
	assert_int_equal(pkv_memory_usage(db, 0, "str", 3, &u), 0);
	assert_int_equal(u, a1 - a0);
	assert_true(u >= 16 + 40 + 3 + sizeof(v));
	for (unsigned t = 0; t < 4; t++) {
		static const char *const names[] = { "hash", "set", "list",
						     "zset" };
		const char *key = names[t];
		a0 = usage_allocated(db);
		for (unsigned i = 0; i < 1000; i++) {
			char m[16];
			size_t ml = (size_t)snprintf(m, sizeof(m), "m%u", i);
			int rc = t == 0 ? pkv_hset(db, 0, key, 4, m, ml, v, 20,
						   0) :
				 t == 1 ? pkv_sadd(db, 0, key, 3, m, ml) :
				 t == 2 ? pkv_lpush(db, 0, key, 4, m, ml, 0,
						    NULL) :
				 pkv_zadd(db, 0, key, 4, m, ml, i, 0);
			assert_int_equal(rc, 0);
		}
		a1 = usage_allocated(db);
		assert_int_equal(pkv_memory_usage(db, 0, key, strlen(key), &u),
				 0);
		print_message("      %s of 1000: %" PRIu64 " bytes\n", key, u);
		assert_int_equal(u, a1 - a0);
	}
	memory_usage_batch(db);
	close_db(f);
}

/* incr_expect -- key's value reads as the text of want: pkv_get, a
 * reference, and a scan's item. */
struct incr_find {
	const char *key;
	size_t klen;
	char val[32];
	size_t vlen;
	bool seen;
};

static int incr_scan(void *ctx, const struct pkv_item *it)
{
	struct incr_find *fi = ctx;

	if (it->klen == fi->klen && !memcmp(it->key, fi->key, it->klen) &&
	    it->vlen < sizeof(fi->val)) {
		memcpy(fi->val, it->val, it->vlen);
		fi->vlen = it->vlen;
		fi->seen = true;
	}
	return 0;
}

static void incr_expect(pkv *db, const char *key, long long want)
{
	char buf[32], text[32];
	size_t n = 0, tl = (size_t)snprintf(text, sizeof(text), "%lld", want);
	struct incr_find fi = { key, strlen(key), "", 0, false };
	struct pkv_ref ref;
	uint64_t cur = 0;

	assert_int_equal(pkv_get(db, 0, key, strlen(key), buf, sizeof(buf),
				 &n), 0);
	assert_int_equal(n, tl);
	assert_memory_equal(buf, text, tl);
	assert_int_equal(pkv_get_ref(db, 0, key, strlen(key), &ref), 0);
	assert_int_equal(ref.type, PKV_TYPE_STRING);
	assert_int_equal(ref.vlen, tl);
	assert_memory_equal(ref.val, text, tl);
	pkv_ref_release(&ref);
	do {
		assert_int_equal(pkv_scan(db, 0, cur, 100, incr_scan, &fi,
					  &cur), 0);
	} while (cur);
	assert_true(fi.seen);
	assert_int_equal(fi.vlen, tl);
	assert_memory_equal(fi.val, text, tl);
}

/*
 * test_incr -- pkv_incr as Redis's INCRBY: a missing key counts as 0, a
 * canonical decimal text is read, anything else is PKV_ENOTINT, a sum
 * out of range PKV_EOVERFLOW, another type PKV_EWRONGTYPE (each leaving
 * the value as it was); the expiry stays; the value reads as its text
 * everywhere; an integer string's next increment allocates nothing (it
 * changes the word in place); a batch reads its own increments; rename,
 * copy, a put over it, a key too long for the integer form, a move by the
 * defragmenter, and a reopen.
 */
static void test_incr(void **state)
{
	static const char *const bad[] = { " 1", "01", "1 ", "+1", "-0", "",
					   "1.0", "abc",
					   "9223372036854775808" };
	struct fixture *f = *state;
	pkv *db = open_db(f);
	pkv_batch *b;
	struct pkv_ref r1, r2;
	int64_t v = 0, exp;
	uint64_t a0, a1, e0, e1;
	struct pkv_defrag_stats ds;
	char *longkey;
	const size_t longlen = 70000;

	assert_int_equal(pkv_incr(db, 0, "n", 1, 5, &v), 0);
	assert_int_equal(v, 5);
	incr_expect(db, "n", 5);
	assert_int_equal(db->root->version, KV_LAYOUT_VERSION_INTS);
	assert_int_equal(pkv_incr(db, 0, "n", 1, -7, &v), 0);
	assert_int_equal(v, -2);
	incr_expect(db, "n", -2);
	/* in place: the same entry, no block allocated or freed */
	assert_int_equal(table_lookup(db, 0, kv_hash(db, "n", 1), "n", 1,
				      &e0), 1);
	a0 = usage_allocated(db);
	for (int i = 0; i < 100; i++)
		assert_int_equal(pkv_incr(db, 0, "n", 1, 1, NULL), 0);
	a1 = usage_allocated(db);
	assert_int_equal(table_lookup(db, 0, kv_hash(db, "n", 1), "n", 1,
				      &e1), 1);
	assert_int_equal(e0, e1);
	assert_int_equal(a0, a1);
	incr_expect(db, "n", 98);

	/* a text that reads as an integer; ones that do not */
	assert_int_equal(pkv_put(db, 0, "t", 1, "41", 2, 0, 0), 0);
	assert_int_equal(pkv_incr(db, 0, "t", 1, 1, &v), 0);
	assert_int_equal(v, 42);
	incr_expect(db, "t", 42);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[32];
		size_t n = 0;
		assert_int_equal(pkv_put(db, 0, "x", 1, bad[i], strlen(bad[i]),
					 0, 0), 0);
		assert_int_equal(pkv_incr(db, 0, "x", 1, 1, &v), PKV_ENOTINT);
		assert_int_equal(pkv_get(db, 0, "x", 1, buf, sizeof(buf), &n),
				 0);
		assert_int_equal(n, strlen(bad[i]));
		assert_memory_equal(buf, bad[i], n);
	}
	/* overflow both ways, from the integer form and from text */
	assert_int_equal(pkv_incr(db, 0, "max", 3, INT64_MAX, &v), 0);
	assert_int_equal(pkv_incr(db, 0, "max", 3, 1, &v), PKV_EOVERFLOW);
	incr_expect(db, "max", INT64_MAX);
	assert_int_equal(pkv_put(db, 0, "min", 3, "-9223372036854775808", 20,
				 0, 0), 0);
	assert_int_equal(pkv_incr(db, 0, "min", 3, -1, &v), PKV_EOVERFLOW);
	assert_int_equal(pkv_incr(db, 0, "min", 3, 0, &v), 0);
	assert_int_equal(v, INT64_MIN);
	incr_expect(db, "min", INT64_MIN);
	assert_int_equal(pkv_incr(db, 0, "min", 3, -1, &v), PKV_EOVERFLOW);
	/* another type */
	assert_int_equal(pkv_hset(db, 0, "h", 1, "f", 1, "1", 1, 0), 0);
	assert_int_equal(pkv_incr(db, 0, "h", 1, 1, &v), PKV_EWRONGTYPE);
	/* the expiry stays, through the text form and the integer form */
	exp = pkv_now_ms() + 3600000;
	assert_int_equal(pkv_put(db, 0, "e", 1, "7", 1, 0, exp), 0);
	assert_int_equal(pkv_incr(db, 0, "e", 1, 1, &v), 0);
	assert_int_equal(pkv_incr(db, 0, "e", 1, 1, &v), 0);
	assert_int_equal(pkv_ttl(db, 0, "e", 1, &v), 0);
	assert_int_equal(v, exp);
	incr_expect(db, "e", 9);

	/* a batch reads its own increments; each reference lasts as long
	 * as the batch */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_incr(b, 0, "b", 1, 1, &v), 0);
	assert_int_equal(pkv_batch_incr(b, 0, "b", 1, 1, &v), 0);
	assert_int_equal(pkv_batch_get_ref(b, 0, "b", 1, &r1), 0);
	assert_int_equal(pkv_batch_incr(b, 0, "b", 1, 10, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(pkv_batch_get_ref(b, 0, "b", 1, &r2), 0);
	assert_int_equal(r1.vlen, 1);
	assert_memory_equal(r1.val, "2", 1);
	assert_int_equal(r2.vlen, 2);
	assert_memory_equal(r2.val, "12", 2);
	assert_int_equal(pkv_batch_incr(b, 0, "n", 1, 2, &v), 0);
	assert_int_equal(pkv_batch_get_ref(b, 0, "n", 1, &r1), 0);
	assert_memory_equal(r1.val, "100", 3);
	/* rename and copy carry the value as the batch left it */
	assert_int_equal(pkv_batch_copy(b, 0, "b", 1, 0, "c", 1, 0), 0);
	assert_int_equal(pkv_batch_rename(b, 0, "n", 1, 0, "m", 1, 0), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	incr_expect(db, "b", 12);
	incr_expect(db, "c", 12);
	incr_expect(db, "m", 100);
	assert_int_equal(pkv_exists(db, 0, "n", 1), PKV_ENOTFOUND);
	assert_int_equal(pkv_incr(db, 0, "c", 1, 1, &v), 0);
	incr_expect(db, "b", 12);
	incr_expect(db, "c", 13);
	/* a put over an integer string */
	assert_int_equal(pkv_put(db, 0, "c", 1, "zz", 2, 0, 0), 0);
	assert_int_equal(pkv_incr(db, 0, "c", 1, 1, &v), PKV_ENOTINT);
	/* a key too long for the integer form: its text, read back */
	longkey = malloc(longlen + 1);
	assert_non_null(longkey);
	memset(longkey, 'k', longlen);
	longkey[longlen] = 0;
	assert_int_equal(pkv_incr(db, 0, longkey, longlen, 3, &v), 0);
	assert_int_equal(pkv_incr(db, 0, longkey, longlen, 4, &v), 0);
	assert_int_equal(v, 7);
	incr_expect(db, longkey, 7);
	/* moved by the defragmenter (every run): the number moves along,
	 * and changes in place at its new place */
	assert_int_equal(kv_defrag(db, 100, &ds), 0);
	assert_true(ds.moved > 0);
	incr_expect(db, "m", 100);
	assert_int_equal(pkv_incr(db, 0, "b", 1, 1, &v), 0);
	assert_int_equal(pkv_incr(db, 0, "b", 1, -1, &v), 0);
	incr_expect(db, "b", 12);

	db = reopen(f);
	incr_expect(db, "m", 100);
	incr_expect(db, "b", 12);
	incr_expect(db, "e", 9);
	incr_expect(db, "max", INT64_MAX);
	incr_expect(db, longkey, 7);
	assert_int_equal(pkv_incr(db, 0, "m", 1, 1, &v), 0);
	assert_int_equal(v, 101);
	free(longkey);
	close_db(f);
}

/* Threads incrementing one counter (test_incr_concurrent). */
struct incr_thread {
	pkv *db;
	unsigned n;
	int err;
	atomic_uint *finished;
};

static void *incr_thread_main(void *arg)
{
	struct incr_thread *t = arg;

	for (unsigned i = 0; i < t->n && !t->err; i++)
		t->err = pkv_incr(t->db, 0, "ctr", 3, 1, NULL);
	atomic_fetch_add(t->finished, 1);
	return NULL;
}

/*
 * test_incr_concurrent -- three threads increment one counter in place
 * while the main thread reads it without locks: every read is the text
 * of a whole number no smaller than the one before (a reader never sees
 * a word half written), and no increment is lost.
 */
static void test_incr_concurrent(void **state)
{
	struct fixture *f = *state;
	struct incr_thread t[3];
	pthread_t th[3];
	unsigned n = scale_div > 1 ? 2000 : 10000, reads = 0;
	long long last = 0, v;
	int64_t final;
	atomic_uint finished = 0;
	bool running = true;
	pkv *db = open_db(f);

	assert_int_equal(pkv_incr(db, 0, "ctr", 3, 0, NULL), 0);
	for (unsigned i = 0; i < 3; i++) {
		t[i] = (struct incr_thread){ db, n, 0, &finished };
		assert_int_equal(pthread_create(&th[i], NULL, incr_thread_main,
						&t[i]), 0);
	}
	while (running) {
		char buf[32];
		size_t len = 0;
		assert_int_equal(pkv_get(db, 0, "ctr", 3, buf, sizeof(buf),
					 &len), 0);
		assert_true(len > 0 && len < sizeof(buf));
		assert_true(num_parse_ll(buf, len, &v));
		assert_true(v >= last && v <= 3 * (long long)n);
		last = v;
		reads++;
		running = v < 3 * (long long)n && atomic_load(&finished) < 3;
	}
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].err, 0);
	}
	assert_int_equal(pkv_incr(db, 0, "ctr", 3, 0, &final), 0);
	assert_int_equal(final, 3 * (int64_t)n);
	print_message("      %u reads while 3 threads made %u increments\n",
		      reads, 3 * n);
	close_db(f);
}

/*
 * test_flush_full -- FLUSHDB and FLUSHALL empty a full pool (their new
 * tables come from chunks the heap keeps for them), and the space is back
 * for the next write at once; in a pool of 64 KiB chunks and in one of
 * 256 KiB chunks, values of 1000 and of 40 B.
 */
static void test_flush_full(void **state)
{
	static const uint64_t sizes[] = { 8 * MiB, 48 * MiB };
	static const size_t vlens[] = { 1000, 40 };
	static char big[1000];
	struct fixture *f = *state;

	for (unsigned i = 0; i < 2; i++) {
		uint64_t keys, exp;
		unsigned n, again;
		pkv *db;

		f->opts.size = sizes[i];
		f->opts.max_size = 0;
		/* No maintenance thread: whether it had made the next
		 * bucket array ready (8 MiB at 48 MiB) when the pool filled
		 * decided how many keys fit the first time (363,603 or, once
		 * in a busy run, 403,332). */
		f->opts.flags |= PKV_NOTHREADS;
		db = open_db(f);
		n = sizes_fill(db, 1, vlens[i]);
		assert_true(n > 0);
		assert_int_equal(pkv_put(db, 0, "one", 3, big, vlens[i], 0, 0),
				 PKV_EFULL);
		assert_int_equal(pkv_flushdb(db, 0), 0);
		assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
		assert_int_equal(keys, 0);
		assert_int_equal(pkv_put(db, 0, "one", 3, big, vlens[i], 0, 0),
				 0);
		again = sizes_fill(db, 2, vlens[i]);
		print_message("      %llu MiB pool, %zu-byte values: %u fit, "
			      "%u again after FLUSHDB\n",
			      (unsigned long long)(sizes[i] / MiB), vlens[i], n,
			      again);
		assert_true(again >= n * 9 / 10);
		/* the batch's flush takes the reserve too, and its commit
		 * collects the old tables before the next write */
		{
			pkv_batch *b;
			assert_int_equal(pkv_batch_begin(db, &b), 0);
			assert_int_equal(pkv_batch_flushall(b), 0);
			assert_int_equal(pkv_batch_commit(b, NULL), 0);
		}
		assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
		assert_int_equal(keys, 0);
		assert_int_equal(pkv_put(db, 0, "two", 3, "y", 1, 0, 0), 0);
		db = reopen(f);
		assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
		assert_int_equal(keys, 1);
		close_db(f);
		unlink(f->path);
	}
}

/*
 * test_small_pool -- an 8 MiB pool of values of 1 to 3000 bytes holds at
 * least 60% of its size in keys and values before it is full.  A size
 * class in use takes a chunk at least, and these sizes touch some forty
 * classes: a pool under 32 MiB has 64 KiB chunks for that (with 256 KiB
 * chunks the pool was full at 20%), and one under 16 MiB 4 log rings, not
 * 16 (65.4% in three runs; 59.5-60.9% with 16, as the pool's random hash
 * seed decides how far the last table resize has moved when it fills).
 */
static void test_small_pool(void **state)
{
	struct fixture *f = *state;
	static char v[3000];
	struct pkv_stats st;
	uint64_t rng = 5, payload = 0;
	unsigned n;
	int rc;
	pkv *db;

	f->opts.size = 8 * MiB;
	/* No checkpointer: when its watermark passed the old bucket arrays
	 * of a resize decided how much was free at the end (59.5-60.9%). */
	f->opts.flags |= PKV_NOTHREADS;
	db = open_db(f);
	for (n = 0;; n++) {
		char k[KEYMAX];
		size_t kl = mkkey(k, n), vl = 1 + tu_rand(&rng) % 3000;
		if ((rc = pkv_put(db, 0, k, kl, v, vl, 0, 0)) != 0)
			break;
		payload += kl + vl;
	}
	assert_int_equal(rc, PKV_EFULL);
	assert_int_equal(pkv_stats(db, &st), 0);
	print_message("      8 MiB pool: %u values of 1-3000 B, %.1f%% of it "
		      "payload, %.1f%% of the heap allocated\n", n,
		      100.0 * (double)payload / (double)st.pool_size,
		      100 * st.utilization);
	assert_true((double)payload >= 0.60 * (double)st.pool_size);
	close_db(f);
}

/* test_full_pool -- put values into an 8 MiB pool until PKV_EFULL: the
 * failed put changed nothing, every earlier key is intact, the message
 * says why; after deletes, puts succeed again. */
static void test_full_pool(void **state)
{
	struct fixture *f = *state;
	const unsigned MAXK = 4000;
	size_t *len = calloc(MAXK, sizeof(size_t));
	char *v = malloc(65536), *out = malloc(65536);
	unsigned n = 0, i;
	uint64_t rng = 42;
	int rc = 0;
	size_t vl;
	pkv *db;

	assert_non_null(len);
	assert_non_null(v);
	assert_non_null(out);
	f->opts.size = 8 * MiB;
	db = open_db(f);

	/* value of key i: byte i % 251 repeated, len[i] bytes */
	for (n = 0; n < MAXK; n++) {
		char k[KEYMAX];
		size_t kl = mkkey(k, n);
		len[n] = 500 + tu_rand(&rng) % 12000;
		memset(v, (int)(n % 251), len[n]);
		rc = pkv_put(db, 0, k, kl, v, len[n], 0, 0);
		if (rc != 0)
			break;
	}
	if (rc != PKV_EFULL)
		fail_msg("after %u puts: %s, expected PKV_EFULL", n,
			 pkv_strerror(rc));
	assert_true(n > 100);
	assert_true(pkv_errmsg(db)[0] != '\0');
	print_message("      full after %u values (%s)\n", n, pkv_errmsg(db));
	{
		char k[KEYMAX];
		size_t kl = mkkey(k, n);
		assert_int_equal(pkv_exists(db, 0, k, kl), PKV_ENOTFOUND);
	}
	assert_int_equal(dbsize(db, 0), n);
	for (i = 0; i < n; i++) {
		char k[KEYMAX];
		size_t kl = mkkey(k, i);
		assert_int_equal(pkv_get(db, 0, k, kl, out, 65536, &vl), 0);
		assert_int_equal(vl, len[i]);
		for (size_t b = 0; b < vl; b++)
			if ((unsigned char)out[b] != i % 251)
				fail_msg("key %u byte %zu changed", i, b);
	}
	/* a batch with a write that does not fit applies nothing: the
	 * write fails at once, and the batch at its commit */
	{
		struct pkv_stats a, z;
		size_t big = 4 * MiB;
		char *huge = calloc(1, big);
		pkv_batch *b;
		int r[11];

		assert_non_null(huge);
		assert_int_equal(pkv_stats(db, &a), 0);
		assert_int_equal(pkv_batch_begin(db, &b), 0);
		for (unsigned j = 0; j < 10; j++) {
			char k[KEYMAX];
			size_t kl = (size_t)snprintf(k, sizeof(k), "b:%u", j);
			int r1 = pkv_batch_put(b, 0, k, kl, v, 100, 0, 0);
			/* the pool is full: a small one may still fit */
			assert_true(r1 == 0 || r1 == PKV_EFULL);
		}
		assert_int_equal(pkv_batch_put(b, 0, "b:big", 5, huge, big, 0,
					       0), PKV_EFULL);
		assert_int_equal(pkv_batch_failed(b), PKV_EFULL);
		free(huge);
		assert_int_equal(pkv_batch_commit(b, r), PKV_EFULL);
		for (unsigned j = 0; j < 10; j++) {
			char k[KEYMAX];
			size_t kl = (size_t)snprintf(k, sizeof(k), "b:%u", j);
			assert_int_equal(pkv_exists(db, 0, k, kl),
					 PKV_ENOTFOUND);
		}
		assert_int_equal(dbsize(db, 0), n);
		assert_int_equal(pkv_stats(db, &z), 0);
		assert_int_equal(z.allocated_bytes, a.allocated_bytes);
	}
	/* an overwrite that does not fit leaves the old value */
	{
		char k[KEYMAX];
		size_t kl = mkkey(k, 0), big = 4 * MiB;
		char *huge = calloc(1, big);
		struct pkv_stats st;
		assert_non_null(huge);
		assert_int_equal(pkv_put(db, 0, k, kl, huge, big, 0, 0),
				 PKV_EFULL);
		free(huge);
		assert_int_equal(pkv_get(db, 0, k, kl, out, 65536, &vl), 0);
		assert_int_equal(vl, len[0]);
		assert_int_equal((unsigned char)out[0], 0);
		assert_int_equal(pkv_stats(db, &st), 0);
		print_message("      utilization when full: %.3f\n",
			      st.utilization);
	}
	/* free some room: puts work again */
	for (i = 0; i < 40; i++) {
		char k[KEYMAX];
		size_t kl = mkkey(k, i * 2 + 1);
		assert_int_equal(pkv_del(db, 0, k, kl), 0);
		len[i * 2 + 1] = 0;
	}
	for (i = 0; i < 10; i++) {
		char k[KEYMAX];
		size_t kl = mkkey(k, n + i);
		memset(v, (int)((n + i) % 251), 2000);
		rc = pkv_put(db, 0, k, kl, v, 2000, 0, 0);
		if (rc != 0)
			fail_msg("put %u after deleting 40 keys: %s (%s)", i,
				 pkv_strerror(rc), pkv_errmsg(db));
		len[n + i] = 2000;
	}
	n += 10;
	db = reopen(f);
	for (i = 0; i < n; i++) {
		char k[KEYMAX];
		size_t kl = mkkey(k, i);
		if (len[i] == 0) {
			assert_int_equal(pkv_exists(db, 0, k, kl),
					 PKV_ENOTFOUND);
			continue;
		}
		assert_int_equal(pkv_get(db, 0, k, kl, out, 65536, &vl), 0);
		assert_int_equal(vl, len[i]);
		assert_int_equal((unsigned char)out[vl - 1], i % 251);
	}
	free(len);
	free(v);
	free(out);
	/* a value bigger than the whole heap (but far under 4 GiB) does not
	 * fit either: PKV_EFULL, as pkv.h says, not PKV_EINVAL */
	{
		size_t big = 8 * MiB;
		char *huge = calloc(1, big);
		assert_non_null(huge);
		rc = pkv_put(db, 0, "huge", 4, huge, big, 0, 0);
		free(huge);
		if (rc != PKV_EFULL)
			fail_msg("an 8 MiB value in an 8 MiB pool: %s (%s), "
				 "expected PKV_EFULL", pkv_strerror(rc),
				 pkv_errmsg(db));
	}
	close_db(f);
}

/* ================================================================== */
/* zero-copy references                                                */
/* ================================================================== */

/* test_get_ref_basic -- a reference shows the value, its length and
 * expiry in place; release clears it; misses hold nothing. */
static void test_get_ref_basic(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	int64_t t = pkv_now_ms() + 100000;
	struct pkv_ref r1, r2, r3;
	char v[VALMAX];
	size_t vl = mkval(v, 9, 4);

	assert_int_equal(pkv_put(db, 0, "k", 1, v, vl, 0, t), 0);
	assert_int_equal(pkv_put(db, 0, "e", 1, "", 0, 0, 0), 0);
	assert_int_equal(pkv_get_ref(db, 0, "k", 1, &r1), 0);
	assert_int_equal(r1.vlen, vl);
	assert_memory_equal(r1.val, v, vl);
	assert_int_equal(r1.expire_ms, t);
	assert_int_equal(pkv_get_ref(db, 0, "e", 1, &r2), 0);   /* nested */
	assert_int_equal(r2.vlen, 0);
	assert_int_equal(r2.expire_ms, 0);
	assert_int_equal(pkv_get_ref(db, 0, "x", 1, &r3), PKV_ENOTFOUND);
	assert_int_equal(pkv_get_ref(db, 1, "k", 1, &r3), PKV_ENOTFOUND);
	assert_int_equal(pkv_get_ref(db, 0, NULL, 1, &r3), PKV_EINVAL);
	pkv_ref_release(&r2);
	assert_null(r2.val);
	pkv_ref_release(&r2);         /* twice: harmless */
	pkv_ref_release(&r1);
	assert_null(r1.val);
	/* with every reference released, writes do not wait */
	assert_int_equal(pkv_del(db, 0, "k", 1), 0);
	for (unsigned i = 0; i < SC(300); i++)
		put_kv(db, 0, i, 1);
	for (unsigned i = 0; i < SC(300); i++)
		assert_int_equal(pkv_del(db, 0, "x", 1), PKV_ENOTFOUND);
	close_db(f);
}

struct ref_writer {
	pkv *db;
	const char *key;
	size_t klen, vlen;
	unsigned iterations;
	atomic_uint done;             /* iterations completed */
	atomic_bool flushed;          /* flushdb and gc returned */
	atomic_bool started_gc;
	int err;                      /* first failure */
	char where[64];
};

/* ref_writer_main -- delete and rewrite the key with other bytes, put
 * other keys, then flush the database and collect: everything that could
 * reuse the referenced block. */
static void *ref_writer_main(void *arg)
{
	struct ref_writer *w = arg;
	char *v = malloc(w->vlen);
	int rc;

	for (unsigned i = 0; i < w->iterations && !w->err; i++) {
		char k[KEYMAX];
		size_t kl = (size_t)snprintf(k, sizeof(k), "other:%u", i);

		memset(v, 'a' + (int)(i % 26), w->vlen);
		rc = pkv_del(w->db, 0, w->key, w->klen);
		if (rc != 0 && rc != PKV_ENOTFOUND) {
			w->err = rc;
			snprintf(w->where, sizeof(w->where), "del %u", i);
		}
		if (!w->err && (rc = pkv_put(w->db, 0, w->key, w->klen, v,
					     w->vlen, 0, 0))) {
			w->err = rc;
			snprintf(w->where, sizeof(w->where), "put %u", i);
		}
		if (!w->err && (rc = pkv_put(w->db, 0, w->key, w->klen, v,
					     w->vlen / 2, 0, 0))) {
			w->err = rc;
			snprintf(w->where, sizeof(w->where), "overwrite %u", i);
		}
		if (!w->err && (rc = pkv_put(w->db, 0, k, kl, v, w->vlen, 0,
					     0))) {
			w->err = rc;
			snprintf(w->where, sizeof(w->where), "put other %u", i);
		}
		atomic_fetch_add(&w->done, 1);
	}
	atomic_store(&w->started_gc, true);
	if (!w->err && (rc = pkv_flushdb(w->db, 0))) {
		w->err = rc;
		snprintf(w->where, sizeof(w->where), "flushdb");
	}
	if (!w->err && (rc = pkv_gc(w->db))) {
		w->err = rc;
		snprintf(w->where, sizeof(w->where), "gc");
	}
	atomic_store(&w->flushed, true);
	free(v);
	return NULL;
}

/*
 * test_get_ref_stable -- while the main thread holds a reference, another
 * thread deletes, rewrites and overwrites the key hundreds of times, puts
 * other keys of the same size, flushes the database and collects; the
 * referenced bytes must not change until the release.  The writer is
 * expected to block in a grace period at some point: the main thread
 * only waits for progress with a deadline, then releases.
 */
static void test_get_ref_stable(void **state)
{
	struct fixture *f = *state;
	const size_t VL = 3000;
	char *orig = malloc(VL), *now = malloc(VL);
	struct ref_writer w;
	struct pkv_ref ref;
	pthread_t th;
	uint64_t end;
	unsigned checks = 0, progress;
	size_t n;
	pkv *db = open_db(f);

	assert_non_null(orig);
	assert_non_null(now);
	for (size_t i = 0; i < VL; i++)
		orig[i] = (char)('A' + i % 23);
	assert_int_equal(pkv_put(db, 0, "ref", 3, orig, VL, 0, 0), 0);
	assert_int_equal(pkv_get_ref(db, 0, "ref", 3, &ref), 0);
	assert_int_equal(ref.vlen, VL);

	memset(&w, 0, sizeof(w));
	w.db = db;
	w.key = "ref";
	w.klen = 3;
	w.vlen = VL;
	w.iterations = scale_div > 1 ? 150 : 400;
	assert_int_equal(pthread_create(&th, NULL, ref_writer_main, &w), 0);

	/* wait for the writer to make progress or to block */
	end = mono_ms() + 2000;
	progress = 0;
	for (;;) {
		unsigned d = atomic_load(&w.done);
		if (memcmp(ref.val, orig, VL) != 0)
			fail_msg("referenced value changed after %u writer "
				 "iterations", d);
		checks++;
		if (atomic_load(&w.flushed) || mono_ms() > end)
			break;
		if (d > progress) {
			progress = d;
			end = mono_ms() + 300;   /* blocked: 300 ms, no news */
		}
		sleep_ms(5);
	}
	progress = atomic_load(&w.done);
	/* the key was deleted or overwritten meanwhile: readers do not see
	 * the referenced value any more */
	if (progress > 0) {
		int rc = pkv_get(db, 0, "ref", 3, now, VL, &n);
		assert_true(rc == PKV_ENOTFOUND ||
			    (rc == 0 && (n != VL || memcmp(now, orig, VL))));
	}
	assert_memory_equal(ref.val, orig, VL);
	pkv_ref_release(&ref);
	pthread_join(th, NULL);
	if (w.err)
		fail_msg("writer: %s at %s", pkv_strerror(w.err), w.where);
	print_message("      writer did %u iterations before the release "
		      "(%u checks)\n", progress, checks);
	assert_true(progress > 0);
	assert_int_equal(atomic_load(&w.done), w.iterations);
	assert_int_equal(dbsize(db, 0), 0);
	close_db(f);
	free(orig);
	free(now);
}

/* ================================================================== */
/* scans                                                               */
/* ================================================================== */

/* test_scan_full -- a whole scan returns every key of its database (and
 * only those) with their values, with any count; bad arguments. */
static void test_scan_full(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	const unsigned N = scale_div > 1 ? 600 : 3000;
	struct model m;
	struct seen s;
	uint64_t next = 77;

	model_init(&m, N);
	for (unsigned i = 0; i < N; i++)
		if (i % 5 != 2)
			model_put(&m, db, 0, i, i % 4);
	for (unsigned i = 0; i < 20; i++)
		put_kv(db, 1, N + i, 1);     /* another database */
	put_kv(db, 0, N + 5000, 1);      /* a key outside the model... */
	model_del(&m, db, 0, 0);
	{
		char k[KEYMAX];
		size_t kl = mkkey(k, N + 5000);
		assert_int_equal(pkv_del(db, 0, k, kl), 0);   /* ...gone */
	}
	/* every 7th key (the deleted ones too: PKV_ENOTFOUND) expires far
	 * away; the scan reports it */
	int64_t t = pkv_now_ms() + 3600000;
	for (unsigned i = 7; i < N; i += 7) {
		char k[KEYMAX];
		size_t kl = mkkey(k, i);
		assert_int_equal(pkv_expire(db, 0, k, kl, t),
				 m.ver[i] >= 0 ? 0 : PKV_ENOTFOUND);
	}
	unsigned counts[] = { 1, 10, 0, 1000, 100000 };
	for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		unsigned steps;
		seen_init(&s, N, m.ver);
		s.exp_mod = 7;
		s.exp_at = t;
		steps = scan_all(db, 0, counts[c], &s);
		for (unsigned i = 0; i < N; i++)
			if ((s.count[i] > 0) != (m.ver[i] >= 0))
				fail_msg("count %u: key %u seen %u times, "
					 "version %d", counts[c], i,
					 s.count[i], m.ver[i]);
		assert_int_equal(s.foreign, 0);
		assert_int_equal(s.badval, 0);
		assert_int_equal(s.badexp, 0);
		assert_true(s.total >= m.live);
		if (counts[c] >= 1000)
			assert_true(steps <= 5);
		free(s.count);
	}
	/* an empty database: one call, cursor 0, nothing visited */
	seen_init(&s, N, NULL);
	assert_int_equal(pkv_scan(db, 2, 0, 10, seen_fn, &s, &next), 0);
	assert_int_equal(s.total, 0);
	while (next != 0)
		assert_int_equal(pkv_scan(db, 2, next, 10, seen_fn, &s, &next),
				 0);
	assert_int_equal(s.total, 0);
	free(s.count);
	assert_int_equal(pkv_scan(db, 0, 0, 10, NULL, NULL, &next),
			 PKV_EINVAL);
	assert_int_equal(pkv_scan(db, 0, 0, 10, seen_fn, &s, NULL),
			 PKV_EINVAL);
	assert_int_equal(pkv_scan(db, 16, 0, 10, seen_fn, &s, &next),
			 PKV_EINVAL);
	close_db(f);
	free(m.ver);
}

struct stop_ctx {
	struct seen seen;
	unsigned calls, stop_at;
};

static int stop_fn(void *ctx, const struct pkv_item *it)
{
	struct stop_ctx *c = ctx;

	if (++c->calls == c->stop_at)
		return 7;
	return seen_fn(&c->seen, it);
}

/* test_scan_stop -- a non-zero return of fn stops the scan at once and is
 * returned; going on from *next, the keys returned before the stop and
 * after it cover every key. */
static void test_scan_stop(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	struct stop_ctx c;
	uint64_t next = 0, cur;
	int rc;

	for (unsigned i = 0; i < 500; i++)
		put_kv(db, 0, i, 1);
	memset(&c, 0, sizeof(c));
	seen_init(&c.seen, 500, NULL);
	c.stop_at = 40;
	rc = pkv_scan(db, 0, 0, 1000, stop_fn, &c, &next);
	assert_int_equal(rc, 7);
	assert_int_equal(c.calls, 40);
	assert_int_equal(c.seen.total, 39);
	assert_true(next != 0);
	cur = next;
	while (cur != 0) {
		assert_int_equal(pkv_scan(db, 0, cur, 10, seen_fn, &c.seen,
					  &next), 0);
		cur = next;
	}
	for (unsigned i = 0; i < 500; i++)
		if (c.seen.count[i] == 0)
			fail_msg("key %u missed by a scan stopped and resumed",
				 i);
	/* stopping at the first key */
	c.calls = 0;
	c.stop_at = 1;
	assert_int_equal(pkv_scan(db, 0, 0, 10, stop_fn, &c, &next), 7);
	assert_int_equal(c.calls, 1);
	close_db(f);
	free(c.seen.count);
}

/* test_scan_changes -- keys inserted and deleted between the steps of a
 * scan: every key present for the whole scan is returned, and nothing
 * that never existed. */
static void test_scan_changes(void **state)
{
	struct fixture *f = *state;
	pkv *db = open_db(f);
	const unsigned M = scale_div > 1 ? 200 : 1000;
	/* 0..M-1 stay, M..2M-1 are deleted during the scan, 2M..3M-1
	 * inserted */
	struct seen s;
	uint64_t cur = 0, next;
	unsigned del = M, ins = 2 * M;

	for (unsigned i = 0; i < 2 * M; i++)
		put_kv(db, 0, i, 1);
	seen_init(&s, 3 * M, NULL);
	do {
		assert_int_equal(pkv_scan(db, 0, cur, 7, seen_fn, &s, &next),
				 0);
		cur = next;
		for (unsigned j = 0; j < 8 && del < 2 * M; j++) {
			char k[KEYMAX];
			size_t kl = mkkey(k, del++);
			assert_int_equal(pkv_del(db, 0, k, kl), 0);
		}
		for (unsigned j = 0; j < 8 && ins < 3 * M; j++)
			put_kv(db, 0, ins++, 1);
	} while (cur != 0);
	for (unsigned i = 0; i < M; i++)
		if (s.count[i] == 0)
			fail_msg("key %u, present for the whole scan, was not "
				 "returned", i);
	assert_int_equal(s.foreign, 0);
	free(s.count);
	close_db(f);
}

/*
 * scan_during_growth -- start with `initial` keys, scan with count 10 and
 * insert `per_step` new keys between steps until `added` are in: every
 * initial key is returned.  Returns in how many steps a resize was in
 * progress.
 */
static unsigned scan_during_growth(pkv *db, unsigned initial, unsigned added,
				   unsigned per_step, unsigned *stepsp)
{
	struct seen s;
	uint64_t cur = 0, next;
	unsigned ins = initial, resizing = 0, steps = 0;

	for (unsigned i = 0; i < initial; i++)
		put_kv(db, 0, i, 1);
	seen_init(&s, initial + added, NULL);
	do {
		assert_int_equal(pkv_scan(db, 0, cur, 10, seen_fn, &s, &next),
				 0);
		cur = next;
		steps++;
		for (unsigned j = 0; j < per_step && ins < initial + added; j++)
			put_kv(db, 0, ins++, 1);
		if (table_resizing(kv_table_of(db, 0)))
			resizing++;
	} while (cur != 0);
	for (unsigned i = 0; i < initial; i++)
		if (s.count[i] == 0)
			fail_msg("key %u, present for the whole scan, was not "
				 "returned (%u of %u steps during a resize)",
				 i, resizing, steps);
	assert_int_equal(s.foreign, 0);
	free(s.count);
	*stepsp = steps;
	return resizing;
}

/* test_scan_resize -- a scan while the table grows from 256 buckets to
 * 4096: resizes driven by the writers only (maintenance off), then with
 * the maintenance thread helping. */
static void test_scan_resize(void **state)
{
	struct fixture *f = *state;
	unsigned r, steps;
	pkv *db;

	f->opts.expire_interval_ms = 0;
	db = open_db(f);
	r = scan_during_growth(db, 200, SC(2000) < 400 ? 400 : 2000,
			       SC(60) < 20 ? 20 : 60, &steps);
	print_message("      writers only: %u of %u steps mid-resize\n", r,
		      steps);
	assert_true(r > 0);
	kv_check(db);
	close_db(f);
	assert_int_equal(unlink(f->path), 0);
	if (scale_div > 1)
		return;

	f->opts.expire_interval_ms = 1;
	db = open_db(f);
	r = scan_during_growth(db, 200, 2000, 60, &steps);
	print_message("      with maintenance: %u of %u steps mid-resize\n",
		      r, steps);
	kv_check(db);
	/* and a bigger one: 5,000 keys, 20,000 more */
	assert_int_equal(pkv_flushdb(db, 0), 0);
	r = scan_during_growth(db, 5000, 20000, 400, &steps);
	print_message("      5,000 + 20,000: %u of %u steps mid-resize\n", r,
		      steps);
	kv_check(db);
	close_db(f);
}

struct churn {
	pkv *db;
	atomic_bool stop;
	unsigned base, n;             /* keys base..base+n-1 churn */
	unsigned rounds;
	atomic_int err;
};

/* churn_main -- insert and delete the churn keys until told to stop. */
static void *churn_main(void *arg)
{
	struct churn *c = arg;
	uint64_t rng = 7;

	while (!atomic_load(&c->stop) && !c->err) {
		for (unsigned j = 0; j < 200 && !c->err; j++) {
			unsigned i = c->base + (unsigned)(tu_rand(&rng) % c->n);
			char k[KEYMAX], v[VALMAX];
			size_t kl = mkkey(k, i), vl = mkval(v, i, 1);
			int rc = tu_rand(&rng) % 2 ?
				pkv_put(c->db, 0, k, kl, v, vl, 0, 0) :
				pkv_del(c->db, 0, k, kl);
			if (rc != 0 && rc != PKV_ENOTFOUND)
				c->err = rc;
		}
		c->rounds++;
	}
	return NULL;
}

/* test_scan_concurrent -- whole scans while another thread inserts and
 * deletes other keys (and makes the table grow and shrink... grow): the
 * stable keys are all returned by every scan. */
static void test_scan_concurrent(void **state)
{
	struct fixture *f = *state;
	struct churn c;
	pthread_t th;
	unsigned scans = 0;
	uint64_t end;
	pkv *db = open_db(f);
	const unsigned STABLE = scale_div > 1 ? 200 : 1000;

	for (unsigned i = 0; i < STABLE; i++)
		put_kv(db, 0, i, 1);
	memset(&c, 0, sizeof(c));
	c.db = db;
	c.base = STABLE;
	c.n = 6000;
	assert_int_equal(pthread_create(&th, NULL, churn_main, &c), 0);
	end = mono_ms() + 700;
	while (mono_ms() < end || scans < 3) {
		struct seen s;
		seen_init(&s, STABLE + c.n, NULL);
		scan_all(db, 0, 50, &s);
		scans++;
		for (unsigned i = 0; i < STABLE; i++)
			if (s.count[i] == 0) {
				atomic_store(&c.stop, true);
				pthread_join(th, NULL);
				fail_msg("scan %u: stable key %u not returned",
					 scans, i);
			}
		assert_int_equal(s.foreign, 0);
		free(s.count);
	}
	atomic_store(&c.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(c.err, 0);
	print_message("      %u scans, %u churn rounds\n", scans, c.rounds);
	kv_check(db);
	close_db(f);
}

/* A thread reading stable keys by reference until told to stop. */
struct defrag_reader {
	pkv *db;
	unsigned n;                   /* keys 0..n-1, generation 1 */
	atomic_bool stop;
	atomic_int bad;               /* a key not found as it was put */
	unsigned reads;
};

/* defrag_reader_main -- references taken, checked and released. */
static void *defrag_reader_main(void *arg)
{
	struct defrag_reader *r = arg;
	uint64_t rng = 11;

	while (!atomic_load(&r->stop) && !r->bad) {
		unsigned i = (unsigned)(tu_rand(&rng) % r->n);
		char k[KEYMAX];
		size_t kl = mkkey(k, i);
		struct pkv_ref ref;
		if (pkv_get_ref(r->db, 0, k, kl, &ref) != 0) {
			r->bad = (int)i + 1;
			break;
		}
		if (!val_ok(ref.val, ref.vlen, i, 1))
			r->bad = (int)i + 1;
		pkv_ref_release(&ref);
		r->reads++;
	}
	return NULL;
}

/*
 * test_defrag_concurrent -- entries moved out of every run (kv_defrag at
 * 100%, as the crash simulator does) twenty times, while one thread
 * inserts and deletes other keys and another reads the stable keys by
 * reference: every read and every check after a pass finds each stable
 * key with its value, and the table checks out at the end.
 */
static void test_defrag_concurrent(void **state)
{
	struct fixture *f = *state;
	struct churn c;
	struct defrag_reader rd;
	uint64_t moved = 0;
	pthread_t th, rt;
	pkv *db = open_db(f);
	const unsigned STABLE = scale_div > 1 ? 500 : 3000;
	int rc = 0;

	for (unsigned j = 0; j < STABLE; j++)
		put_kv(db, 0, j, 1);
	memset(&c, 0, sizeof(c));
	c.db = db;
	c.base = STABLE;
	c.n = 5000;
	memset(&rd, 0, sizeof(rd));
	rd.db = db;
	rd.n = STABLE;
	assert_int_equal(pthread_create(&th, NULL, churn_main, &c), 0);
	assert_int_equal(pthread_create(&rt, NULL, defrag_reader_main, &rd),
			 0);
	for (unsigned pass = 0; pass < 20 && !rc && !c.err && !rd.bad;
	     pass++) {
		struct pkv_defrag_stats ds;
		if ((rc = kv_defrag(db, 100, &ds)))
			break;
		moved += ds.moved;
		for (unsigned j = 0; j < STABLE && !rc; j++) {
			char k[KEYMAX], v[VALMAX];
			size_t kl = mkkey(k, j), n = 0;
			rc = pkv_get(db, 0, k, kl, v, sizeof(v), &n);
			if (!rc && !val_ok(v, n, j, 1))
				rc = PKV_ECORRUPT;
		}
	}
	atomic_store(&c.stop, true);
	atomic_store(&rd.stop, true);
	pthread_join(th, NULL);
	pthread_join(rt, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(c.err, 0);
	assert_int_equal(rd.bad, 0);
	print_message("      20 passes: %" PRIu64 " entries moved, %u churn "
		      "rounds, %u reads\n", moved, c.rounds, rd.reads);
	assert_true(moved >= STABLE);
	kv_check(db);
	close_db(f);
}

/*
 * test_get_during_resize -- lock-free gets, references and exists of
 * keys nobody touches, while another thread inserts and deletes other
 * keys of the same database so that the table grows several times:
 * every read finds its key with its value.
 */
static void test_get_during_resize(void **state)
{
	struct fixture *f = *state;
	struct churn c;
	pthread_t th;
	pkv *db = open_db(f);
	const unsigned STABLE = scale_div > 1 ? 100 : 500;
	unsigned mid = 0, reads = 0, i = 0;
	uint64_t end;

	for (unsigned j = 0; j < STABLE; j++)
		put_kv(db, 0, j, 1);
	memset(&c, 0, sizeof(c));
	c.db = db;
	c.base = STABLE;
	c.n = 30000;
	assert_int_equal(pthread_create(&th, NULL, churn_main, &c), 0);
	end = mono_ms() + 800;
	while (mono_ms() < end && !c.err) {
		char k[KEYMAX], v[VALMAX];
		size_t kl = mkkey(k, i), n = 0;
		struct pkv_ref ref;
		bool resizing = table_resizing(kv_table_of(db, 0));
		int rc = pkv_get(db, 0, k, kl, v, sizeof(v), &n);

		if (rc != 0 || !val_ok(v, n, i, 1)) {
			atomic_store(&c.stop, true);
			pthread_join(th, NULL);
			fail_msg("get %s during churn (resizing: %d): %s", k,
				 resizing, pkv_strerror(rc));
		}
		rc = pkv_get_ref(db, 0, k, kl, &ref);
		if (rc == 0) {
			bool ok = val_ok(ref.val, ref.vlen, i, 1);
			pkv_ref_release(&ref);
			rc = ok ? 0 : -1;
		}
		if (rc == 0)
			rc = pkv_exists(db, 0, k, kl);
		if (rc != 0) {
			atomic_store(&c.stop, true);
			pthread_join(th, NULL);
			fail_msg("get_ref/exists %s during churn: %d", k, rc);
		}
		mid += resizing;
		reads++;
		i = (i + 1) % STABLE;
	}
	atomic_store(&c.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(c.err, 0);
	print_message("      %u reads, %u during a resize; %u churn rounds, "
		      "%llu keys\n", reads, mid, c.rounds,
		      (unsigned long long)dbsize(db, 0));
	kv_check(db);
	close_db(f);
}

/* test_scan_expired -- keys past their expiry but not yet removed (the
 * maintenance thread is off) are counted by dbsize, not returned. */
static void test_scan_expired(void **state)
{
	struct fixture *f = *state;
	int64_t t;
	int ver[400];
	struct seen s;
	uint64_t keys, exp;
	pkv *db;

	f->opts.expire_interval_ms = 0;
	db = open_db(f);
	for (unsigned i = 0; i < 400; i++) {
		put_kv(db, 0, i, 1);
		ver[i] = i % 2 ? -1 : 1;
	}
	/* (a batch commit is an msync per page touched with the file
	 * backend: give it time) */
	t = pkv_now_ms() + (scale_div > 1 ? 1000 : 100);
	expire_keys(db, 0, 1, 2, 200, t);
	assert_true(pkv_now_ms() < t);
	while (pkv_now_ms() <= t + 20)
		sleep_ms(10);
	seen_init(&s, 400, ver);
	scan_all(db, 0, 10, &s);
	for (unsigned i = 0; i < 400; i++)
		assert_int_equal(s.count[i] > 0, ver[i] >= 0);
	assert_int_equal(s.badval, 0);
	free(s.count);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, 400);     /* counted until removed */
	assert_int_equal(exp, 200);
	/* deleting an expired key: PKV_ENOTFOUND, but it is removed */
	{
		char k[KEYMAX];
		size_t kl = mkkey(k, 1);
		assert_int_equal(pkv_del(db, 0, k, kl), PKV_ENOTFOUND);
		assert_int_equal(dbsize(db, 0), 399);
	}
	close_db(f);
}

/* ================================================================== */
/* random keys                                                         */
/* ================================================================== */

/* test_random_key -- empty: PKV_ENOTFOUND; otherwise one of the keys,
 * copied as pkv_get copies values; over many calls, many of them; keys
 * that have expired never. */
static void test_random_key(void **state)
{
	struct fixture *f = *state;
	unsigned hits[100] = { 0 }, distinct = 0;
	char buf[KEYMAX];
	size_t kl;
	pkv *db;
	int64_t t;

	f->opts.expire_interval_ms = 0;
	db = open_db(f);
	assert_int_equal(pkv_random_key(db, 0, buf, sizeof(buf), &kl),
			 PKV_ENOTFOUND);
	put_kv(db, 0, 42, 1);
	for (int r = 0; r < 10; r++) {
		memset(buf, 0, sizeof(buf));
		assert_int_equal(pkv_random_key(db, 0, buf, sizeof(buf), &kl),
				 0);
		assert_int_equal(kl, 12);
		assert_int_equal(keyno(buf, kl), 42);
	}
	/* short buffer */
	memset(buf, '#', sizeof(buf));
	assert_int_equal(pkv_random_key(db, 0, buf, 4, &kl), 0);
	assert_int_equal(kl, 12);
	assert_memory_equal(buf, "key:", 4);
	assert_int_equal(buf[4], '#');
	assert_int_equal(pkv_random_key(db, 0, NULL, 0, &kl), 0);
	assert_int_equal(pkv_random_key(db, 0, NULL, 0, NULL), 0);

	for (unsigned i = 0; i < 100; i++)
		if (i != 42)
			put_kv(db, 0, i, 1);
	for (int r = 0; r < 2000; r++) {
		long i;
		assert_int_equal(pkv_random_key(db, 0, buf, sizeof(buf), &kl),
				 0);
		i = keyno(buf, kl);
		assert_true(i >= 0 && i < 100);
		if (hits[i]++ == 0)
			distinct++;
	}
	print_message("      %u distinct keys in 2000 draws of 100\n",
		      distinct);
	assert_true(distinct >= 30);
	/* deleted and expired keys are never drawn */
	for (unsigned i = 0; i < 100; i++) {
		char k[KEYMAX];
		size_t l = mkkey(k, i);
		if (i % 10 == 0)
			continue;
		if (i % 2)
			assert_int_equal(pkv_del(db, 0, k, l), 0);
		else
			assert_int_equal(pkv_expire(db, 0, k, l,
						    pkv_now_ms() + 50), 0);
	}
	t = pkv_now_ms() + 80;
	while (pkv_now_ms() < t)
		sleep_ms(10);
	for (int r = 0; r < 300; r++) {
		long i;
		assert_int_equal(pkv_random_key(db, 0, buf, sizeof(buf), &kl),
				 0);
		i = keyno(buf, kl);
		if (i % 10 != 0)
			fail_msg("drew key %ld, deleted or expired", i);
	}
	/* only expired keys left: nothing to draw */
	t = pkv_now_ms() + 50;
	expire_keys(db, 0, 0, 10, 10, t);
	while (pkv_now_ms() <= t)
		sleep_ms(10);
	assert_true(dbsize(db, 0) > 0);
	assert_int_equal(pkv_random_key(db, 0, buf, sizeof(buf), &kl),
			 PKV_ENOTFOUND);
	close_db(f);
}

/* ================================================================== */
/* flush and swap                                                      */
/* ================================================================== */

/* test_flushdb -- empties one database at once, leaves the others; the
 * collector gives the room back; it holds after a reopen. */
static void test_flushdb(void **state)
{
	struct fixture *f = *state;
	struct model m1;
	struct pkv_stats st0, st1, st2;
	uint64_t t0, dt;
	pkv *db = open_db(f);
	const unsigned NF = SC(10000);

	model_init(&m1, 300);
	assert_int_equal(pkv_gc(db), 0);
	assert_int_equal(pkv_stats(db, &st0), 0);
	for (unsigned i = 0; i < NF; i++)
		put_kv(db, 0, i, 1);
	for (unsigned i = 0; i < 300; i++)
		model_put(&m1, db, 1, i, 2);
	assert_int_equal(pkv_stats(db, &st1), 0);
	assert_true(st1.utilization > st0.utilization);

	t0 = mono_ms();
	assert_int_equal(pkv_flushdb(db, 0), 0);
	dt = mono_ms() - t0;
	print_message("      flushdb of %u keys: %llu ms\n", NF,
		      (unsigned long long)dt);
	assert_true(dt < 500);
	assert_int_equal(dbsize(db, 0), 0);
	for (unsigned i = 0; i < NF; i += 97)
		expect_kv(db, 0, i, -1);
	model_verify(&m1, db, 1);
	assert_int_equal(pkv_random_key(db, 0, NULL, 0, NULL), PKV_ENOTFOUND);
	/* the database works after it */
	put_kv(db, 0, 5, 9);
	expect_kv(db, 0, 5, 9);
	assert_int_equal(dbsize(db, 0), 1);

	assert_int_equal(pkv_gc(db), 0);
	assert_int_equal(pkv_stats(db, &st2), 0);
	print_message("      utilization %.4f -> %.4f -> %.4f\n",
		      st0.utilization, st1.utilization, st2.utilization);
	/* back to the start, plus db 1's keys and one key in db 0 */
	assert_true(st1.allocated_bytes - st2.allocated_bytes >= 64ull * NF);
	assert_true(st2.allocated_bytes <= st0.allocated_bytes + 128 * 1024 +
		    (st1.allocated_bytes - st0.allocated_bytes) / 5);
	assert_true(st2.gc_reclaimed_blocks >= NF);
	assert_int_equal(st2.keys, 301);

	db = reopen(f);
	assert_int_equal(dbsize(db, 0), 1);
	expect_kv(db, 0, 5, 9);
	for (unsigned i = 0; i < NF; i += 97)
		if (i != 5)
			expect_kv(db, 0, i, -1);
	model_verify(&m1, db, 1);
	assert_int_equal(pkv_flushdb(db, 0), 0);
	assert_int_equal(pkv_flushdb(db, 0), 0);    /* empty: fine */
	db = reopen(f);
	assert_int_equal(dbsize(db, 0), 0);
	model_verify(&m1, db, 1);
	close_db(f);
	free(m1.ver);
}

/* test_flushall -- every database empty, at once and after a reopen. */
static void test_flushall(void **state)
{
	struct fixture *f = *state;
	struct pkv_stats st;
	pkv *db = open_db(f);

	for (unsigned d = 0; d < 16; d += 5)
		for (unsigned i = 0; i < SC(500); i++)
			put_kv(db, d, i, d);
	assert_int_equal(pkv_flushall(db), 0);
	for (unsigned d = 0; d < 16; d++)
		assert_int_equal(dbsize(db, d), 0);
	expect_kv(db, 5, 7, -1);
	assert_int_equal(pkv_stats(db, &st), 0);
	assert_int_equal(st.keys, 0);
	put_kv(db, 10, 1, 1);
	db = reopen(f);
	for (unsigned d = 0; d < 16; d++)
		assert_int_equal(dbsize(db, d), d == 10 ? 1 : 0);
	expect_kv(db, 10, 1, 1);
	expect_kv(db, 0, 1, -1);
	close_db(f);
}

/* test_swapdb -- contents and counts exchanged, durably; the swapped
 * tables keep working (growing, expiring); bad indexes refused. */
static void test_swapdb(void **state)
{
	struct fixture *f = *state;
	struct model a, b;
	int64_t t = pkv_now_ms() + 3600000;
	uint64_t keys, exp;
	pkv *db = open_db(f);

	model_init(&a, 3000);
	model_init(&b, 3000);
	for (unsigned i = 0; i < 300; i++)
		model_put(&a, db, 0, i, 1);
	for (unsigned i = 1000; i < 1050; i++)
		model_put(&b, db, 1, i, 2);
	for (unsigned i = 0; i < 10; i++) {
		char k[KEYMAX];
		size_t kl = mkkey(k, i);
		assert_int_equal(pkv_expire(db, 0, k, kl, t), 0);
	}
	assert_int_equal(pkv_swapdb(db, 0, 1), 0);
	model_verify(&a, db, 1);
	model_verify(&b, db, 0);
	assert_int_equal(pkv_dbsize(db, 1, &keys, &exp), 0);
	assert_int_equal(keys, 300);
	assert_int_equal(exp, 10);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, 50);
	assert_int_equal(exp, 0);

	assert_int_equal(pkv_swapdb(db, 1, 1), 0);
	assert_int_equal(pkv_swapdb(db, 0, 16), PKV_EINVAL);
	assert_int_equal(pkv_swapdb(db, 16, 0), PKV_EINVAL);
	assert_int_equal(pkv_swapdb(db, 99, 99), PKV_EINVAL);
	model_verify(&a, db, 1);

	/* the tables keep working where they went: db 0 (50 keys) grows
	 * past its buckets, db 1 shrinks */
	kv_check(db);
	for (unsigned i = 1050; i < (scale_div > 1 ? 1300u : 1600u); i++)
		model_put(&b, db, 0, i, 3);
	for (unsigned i = 100; i < 300; i++)
		model_del(&a, db, 1, i);
	kv_check(db);

	db = reopen(f);
	model_verify(&a, db, 1);
	model_verify(&b, db, 0);
	assert_int_equal(pkv_swapdb(db, 1, 0), 0);
	model_verify(&a, db, 0);
	model_verify(&b, db, 1);
	db = reopen(f);
	model_verify(&a, db, 0);
	model_verify(&b, db, 1);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(exp, 10);
	close_db(f);
	free(a.ver);
	free(b.ver);
}

/* ================================================================== */
/* batches                                                             */
/* ================================================================== */

/* test_batch_atomic -- puts, deletes and expiry changes over two
 * databases: nothing visible before the commit, everything after, and
 * after a reopen. */
static void test_batch_atomic(void **state)
{
	struct fixture *f = *state;
	struct model m0, m1;
	int results[64];
	int64_t t = pkv_now_ms() + 3600000, x;
	pkv_batch *b;
	pkv *db = open_db(f);
	char k[KEYMAX], v[VALMAX];
	size_t kl, vl;

	model_init(&m0, 100);
	model_init(&m1, 100);
	for (unsigned i = 0; i < 20; i++)
		model_put(&m0, db, 0, i, 1);
	{
		/* how many keys of db 0 this batch touches share a chain with
		 * another (test_batch_same_chain tests that on purpose) */
		const struct kv_table *tab = kv_table_of(db, 0);
		uint64_t mask = kv_mask(kv_ptr(db, kv_load(&tab->cur)));
		unsigned pairs = 0;
		for (unsigned i = 0; i < 30; i++)
			for (unsigned j = i + 1; j < 30; j++) {
				char a[KEYMAX], c[KEYMAX];
				size_t al = mkkey(a, i), cl = mkkey(c, j);
				pairs += (kv_hash(db, a, al) & mask) ==
					 (kv_hash(db, c, cl) & mask);
			}
		print_message("      %u pairs of keys of the batch share a "
			      "chain\n", pairs);
	}
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	for (unsigned i = 10; i < 30; i++) {        /* 10 overwrites, 10 new */
		kl = mkkey(k, i);
		vl = mkval(v, i, 2);
		assert_int_equal(pkv_batch_put(b, 0, k, kl, v, vl, 0, 0), 0);
	}
	for (unsigned i = 0; i < 5; i++) {          /* 5 deletes */
		kl = mkkey(k, i);
		assert_int_equal(pkv_batch_del(b, 0, k, kl), 0);
	}
	for (unsigned i = 50; i < 60; i++) {        /* 10 new in db 1 */
		kl = mkkey(k, i);
		vl = mkval(v, i, 5);
		assert_int_equal(pkv_batch_put(b, 1, k, kl, v, vl, 0, 0), 0);
	}
	kl = mkkey(k, 7);
	assert_int_equal(pkv_batch_expire(b, 0, k, kl, t), 0);
	/* the batch has copied its arguments: scribble on them */
	memset(k, 0, sizeof(k));
	memset(v, 0, sizeof(v));
	model_verify(&m0, db, 0);                    /* nothing yet */
	model_verify(&m1, db, 1);
	for (unsigned i = 0; i < 64; i++)
		results[i] = 12345;
	assert_int_equal(pkv_batch_commit(b, results), 0);
	for (unsigned i = 0; i < 36; i++)
		assert_int_equal(results[i], 0);
	assert_int_equal(results[36], 12345);
	for (unsigned i = 10; i < 30; i++) {
		if (m0.ver[i] < 0)
			m0.live++;
		m0.ver[i] = 2;
	}
	for (unsigned i = 0; i < 5; i++)
		m0.ver[i] = -1;
	m0.live -= 5;
	for (unsigned i = 50; i < 60; i++)
		m1.ver[i] = 5;
	m1.live = 10;
	model_verify(&m0, db, 0);
	model_verify(&m1, db, 1);
	kl = mkkey(k, 7);
	assert_int_equal(pkv_ttl(db, 0, k, kl, &x), 0);
	assert_int_equal(x, t);
	db = reopen(f);
	model_verify(&m0, db, 0);
	model_verify(&m1, db, 1);
	assert_int_equal(pkv_ttl(db, 0, k, kl, &x), 0);
	assert_int_equal(x, t);
	/* an empty batch commits nothing, successfully */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	close_db(f);
	free(m0.ver);
	free(m1.ver);
}

/* test_batch_results -- conditions that fail skip their operation only,
 * are returned at once and again in results[], and see earlier
 * operations of the batch. */
static void test_batch_results(void **state)
{
	struct fixture *f = *state;
	int r[16];
	pkv_batch *b;
	char buf[16];
	size_t n;
	pkv *db = open_db(f);

	assert_int_equal(pkv_put(db, 0, "old", 3, "o", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, "old", 3, "X", 1, PKV_NX, 0),
			 PKV_EEXIST);
	assert_int_equal(pkv_batch_put(b, 0, "new", 3, "X", 1, PKV_XX, 0),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_del(b, 0, "none", 4), PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_expire(b, 0, "none", 4, 5), PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_put(b, 0, "a", 1, "1", 1, PKV_NX, 0), 0);
	assert_int_equal(pkv_batch_put(b, 0, "a", 1, "2", 1, PKV_NX, 0),
			 PKV_EEXIST);
	assert_int_equal(pkv_batch_put(b, 0, "a", 1, "3", 1, PKV_XX, 0), 0);
	assert_int_equal(pkv_batch_del(b, 0, "old", 3), 0);
	assert_int_equal(pkv_batch_put(b, 0, "old", 3, "Y", 1, PKV_XX, 0),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_put(b, 1, "old", 3, "Z", 1, PKV_XX, 0),
			 PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_commit(b, r), 0);
	assert_int_equal(r[0], PKV_EEXIST);
	assert_int_equal(r[1], PKV_ENOTFOUND);
	assert_int_equal(r[2], PKV_ENOTFOUND);
	assert_int_equal(r[3], PKV_ENOTFOUND);
	assert_int_equal(r[4], 0);
	assert_int_equal(r[5], PKV_EEXIST);
	assert_int_equal(r[6], 0);
	assert_int_equal(r[7], 0);
	assert_int_equal(r[8], PKV_ENOTFOUND);
	assert_int_equal(r[9], PKV_ENOTFOUND);
	assert_int_equal(pkv_exists(db, 0, "old", 3), PKV_ENOTFOUND);
	assert_int_equal(pkv_exists(db, 0, "new", 3), PKV_ENOTFOUND);
	assert_int_equal(pkv_exists(db, 1, "old", 3), PKV_ENOTFOUND);
	assert_int_equal(pkv_get(db, 0, "a", 1, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], '3');
	assert_int_equal(dbsize(db, 0), 1);
	assert_int_equal(dbsize(db, 1), 0);
	close_db(f);
}

/* test_batch_duplicates -- one key several times in a batch: the last
 * state wins, counted once. */
static void test_batch_duplicates(void **state)
{
	struct fixture *f = *state;
	int r[8];
	pkv_batch *b;
	char buf[16];
	size_t n;
	int64_t t = pkv_now_ms() + 3600000, x;
	uint64_t keys, exp;
	pkv *db = open_db(f);

	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, "k", 1, "a", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_put(b, 0, "k", 1, "b", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_del(b, 0, "k", 1), 0);
	assert_int_equal(pkv_batch_put(b, 0, "k", 1, "c", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_commit(b, r), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(pkv_get(db, 0, "k", 1, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], 'c');
	assert_int_equal(dbsize(db, 0), 1);

	/* on an existing key: del, put NX, expire */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_del(b, 0, "k", 1), 0);
	assert_int_equal(pkv_batch_put(b, 0, "k", 1, "d", 1, PKV_NX, 0), 0);
	assert_int_equal(pkv_batch_expire(b, 0, "k", 1, t), 0);
	assert_int_equal(pkv_batch_put(b, 0, "k", 1, "e", 1, PKV_KEEPTTL, 0),
			 0);
	assert_int_equal(pkv_batch_commit(b, r), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(pkv_get(db, 0, "k", 1, buf, sizeof(buf), &n), 0);
	assert_int_equal(buf[0], 'e');
	assert_int_equal(pkv_ttl(db, 0, "k", 1, &x), 0);
	assert_int_equal(x, t);
	assert_int_equal(pkv_dbsize(db, 0, &keys, &exp), 0);
	assert_int_equal(keys, 1);
	assert_int_equal(exp, 1);

	/* put then delete: nothing */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, "j", 1, "a", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_del(b, 0, "j", 1), 0);
	assert_int_equal(pkv_batch_del(b, 0, "j", 1), PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_commit(b, r), 0);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 0);
	assert_int_equal(r[2], PKV_ENOTFOUND);
	assert_int_equal(pkv_exists(db, 0, "j", 1), PKV_ENOTFOUND);
	assert_int_equal(dbsize(db, 0), 1);
	db = reopen(f);
	assert_int_equal(pkv_get(db, 0, "k", 1, buf, sizeof(buf), &n), 0);
	assert_int_equal(buf[0], 'e');
	assert_int_equal(dbsize(db, 0), 1);
	close_db(f);
}

/*
 * test_batch_same_chain -- a batch changing several keys of one chain
 * (found by hashing with the pool's seed): deletes and overwrites of a
 * key and of its successor, and an insert in front of a key that is then
 * overwritten.  Each later step must see the chain as the earlier steps
 * of the same transaction left it.
 */
static void test_batch_same_chain(void **state)
{
	struct fixture *f = *state;
	char keys[5][KEYMAX];
	size_t lens[5], n;
	char buf[16];
	pkv_batch *b;
	int r[8];
	pkv *db = open_db(f);

	memset(keys, 0, sizeof(keys));
	same_bucket_keys(db, 0, 5, keys, lens);
	for (unsigned j = 0; j < 3; j++)
		assert_int_equal(pkv_put(db, 0, keys[j], lens[j], "0", 1, 0, 0),
				 0);
	/* chain: head -> k2 -> k1 -> k0.  Delete k2, then k1. */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_del(b, 0, keys[2], lens[2]), 0);
	assert_int_equal(pkv_batch_del(b, 0, keys[1], lens[1]), 0);
	assert_int_equal(pkv_batch_commit(b, r), 0);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 0);
	assert_int_equal(dbsize(db, 0), 1);
	if (pkv_exists(db, 0, keys[1], lens[1]) != PKV_ENOTFOUND ||
	    pkv_exists(db, 0, keys[2], lens[2]) != PKV_ENOTFOUND)
		fail_msg("batch del of two keys of one chain (head first): a "
			 "deleted key is still found");
	assert_int_equal(pkv_get(db, 0, keys[0], lens[0], buf, sizeof(buf),
				 &n), 0);
	kv_check(db);

	/* head -> k2 -> k1 -> k0 again; overwrite k2, then k1 */
	assert_int_equal(pkv_put(db, 0, keys[1], lens[1], "0", 1, 0, 0), 0);
	assert_int_equal(pkv_put(db, 0, keys[2], lens[2], "0", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, keys[2], lens[2], "2", 1, 0, 0),
			 0);
	assert_int_equal(pkv_batch_put(b, 0, keys[1], lens[1], "1", 1, 0, 0),
			 0);
	assert_int_equal(pkv_batch_commit(b, r), 0);
	for (unsigned j = 0; j < 3; j++) {
		int rc = pkv_get(db, 0, keys[j], lens[j], buf, sizeof(buf),
				 &n);
		if (rc != 0 || n != 1 || buf[0] != (j ? '0' + (char)j : '0'))
			fail_msg("batch overwrite of two keys of one chain: "
				 "key %u reads %s '%c'", j, pkv_strerror(rc),
				 rc ? '?' : buf[0]);
	}
	kv_check(db);

	/* insert k3 (new, in front), then overwrite the old head k2 */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, keys[3], lens[3], "3", 1, 0, 0),
			 0);
	assert_int_equal(pkv_batch_put(b, 0, keys[2], lens[2], "X", 1, 0, 0),
			 0);
	assert_int_equal(pkv_batch_commit(b, r), 0);
	if (pkv_get(db, 0, keys[3], lens[3], buf, sizeof(buf), &n) != 0 ||
	    buf[0] != '3')
		fail_msg("batch: a key inserted into a chain whose head the "
			 "same batch overwrites is lost");
	assert_int_equal(pkv_get(db, 0, keys[2], lens[2], buf, sizeof(buf),
				 &n), 0);
	assert_int_equal(buf[0], 'X');
	assert_int_equal(dbsize(db, 0), 4);
	kv_check(db);

	/* expire (past) two neighbours in one batch */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_expire(b, 0, keys[3], lens[3], 1), 0);
	assert_int_equal(pkv_batch_expire(b, 0, keys[2], lens[2], 1), 0);
	assert_int_equal(pkv_batch_commit(b, r), 0);
	assert_int_equal(pkv_exists(db, 0, keys[3], lens[3]), PKV_ENOTFOUND);
	assert_int_equal(pkv_exists(db, 0, keys[2], lens[2]), PKV_ENOTFOUND);
	assert_int_equal(pkv_get(db, 0, keys[1], lens[1], buf, sizeof(buf),
				 &n), 0);
	assert_int_equal(dbsize(db, 0), 2);
	kv_check(db);
	db = reopen(f);
	assert_int_equal(dbsize(db, 0), 2);
	close_db(f);
}

/* test_batch_big -- 20,000 new keys, far more than a lane's log ring
 * holds, commit as one transaction (its record is chained to free space)
 * and are all there after a reopen; as many aborted leave nothing, not
 * even an allocation. */
static void test_batch_big(void **state)
{
	struct fixture *f = *state;
	struct pkv_stats st0, st1;
	unsigned n = 20000;
	pkv_batch *b;
	int rc;
	pkv *db = open_db(f);

	put_kv(db, 0, 0, 1);
	assert_int_equal(pkv_stats(db, &st0), 0);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	for (unsigned i = 1; i <= n; i++) {
		char k[KEYMAX], v[VALMAX];
		size_t kl = mkkey(k, i), vl = mkval(v, i, 1);
		assert_int_equal(pkv_batch_put(b, i % 2, k, kl, v, vl, 0, 0),
				 0);
	}
	pkv_batch_abort(b);
	assert_int_equal(dbsize(db, 0), 1);
	assert_int_equal(dbsize(db, 1), 0);
	assert_int_equal(pkv_stats(db, &st1), 0);
	assert_int_equal(st1.allocated_bytes, st0.allocated_bytes);

	assert_int_equal(pkv_batch_begin(db, &b), 0);
	for (unsigned i = 1; i <= n; i++) {
		char k[KEYMAX], v[VALMAX];
		size_t kl = mkkey(k, i), vl = mkval(v, i, 1);
		assert_int_equal(pkv_batch_put(b, i % 2, k, kl, v, vl, 0, 0),
				 0);
	}
	rc = pkv_batch_commit(b, NULL);
	if (rc != 0)
		fail_msg("a batch of %u new keys: %s (%s)", n,
			 pkv_strerror(rc), pkv_errmsg(db));
	assert_int_equal(dbsize(db, 0), n / 2 + 1);
	assert_int_equal(dbsize(db, 1), n / 2);
	db = reopen(f);
	assert_int_equal(dbsize(db, 0), n / 2 + 1);
	assert_int_equal(dbsize(db, 1), n / 2);
	for (unsigned i = 1; i <= n; i += 97)
		expect_kv(db, i % 2, i, 1);
	close_db(f);
}

/* test_batch_reads -- a batch's reads see its own writes: a value, an
 * expiry, sizes, a scan and a random key; other readers do not, until
 * the commit. */
static int collect_fn(void *ctx, const struct pkv_item *it)
{
	unsigned *seen = ctx;
	long i = keyno(it->key, it->klen);

	if (i >= 0 && i < 64)
		seen[i]++;
	return 0;
}

static void test_batch_reads(void **state)
{
	struct fixture *f = *state;
	struct pkv_ref ref;
	unsigned seen[64] = { 0 };
	uint64_t keys, exp, cur = 0;
	int64_t t = pkv_now_ms() + 3600000;
	char k[KEYMAX], buf[64];
	size_t kl, n;
	pkv_batch *b;
	pkv *db = open_db(f);

	for (unsigned i = 0; i < 10; i++)
		put_kv(db, 0, i, 1);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	kl = mkkey(k, 3);
	assert_int_equal(pkv_batch_del(b, 0, k, kl), 0);
	assert_int_equal(pkv_batch_exists(b, 0, k, kl), PKV_ENOTFOUND);
	assert_int_equal(pkv_exists(db, 0, k, kl), 0);   /* not yet */
	kl = mkkey(k, 20);
	assert_int_equal(pkv_batch_put(b, 0, k, kl, "new", 3, 0, t), 0);
	assert_int_equal(pkv_batch_get_ref(b, 0, k, kl, &ref), 0);
	assert_int_equal(ref.vlen, 3);
	assert_memory_equal(ref.val, "new", 3);
	assert_int_equal(ref.expire_ms, t);
	assert_int_equal(ref.type, PKV_TYPE_STRING);
	pkv_ref_release(&ref);
	assert_int_equal(pkv_exists(db, 0, k, kl), PKV_ENOTFOUND);
	kl = mkkey(k, 5);
	assert_int_equal(pkv_batch_expire(b, 0, k, kl, t), 0);
	assert_int_equal(pkv_batch_get_ref(b, 0, k, kl, &ref), 0);
	assert_int_equal(ref.expire_ms, t);
	assert_int_equal(pkv_batch_dbsize(b, 0, &keys, &exp), 0);
	assert_int_equal(keys, 10);
	assert_int_equal(exp, 2);
	do
		assert_int_equal(pkv_batch_scan(b, 0, cur, 16, collect_fn,
						seen, &cur), 0);
	while (cur);
	for (unsigned i = 0; i < 64; i++)
		if ((i < 10 && i != 3) || i == 20)
			assert_true(seen[i] >= 1);
		else
			assert_int_equal(seen[i], 0);
	assert_int_equal(pkv_batch_random_key(b, 0, buf, sizeof(buf), &n), 0);
	assert_true(keyno(buf, n) != 3);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	assert_int_equal(dbsize(db, 0), 10);
	kl = mkkey(k, 20);
	assert_int_equal(pkv_exists(db, 0, k, kl), 0);
	close_db(f);
}

/* test_prefetch -- a hint: over present and absent keys, more than one
 * chunk of them, inside a batch or not, with a bad dbi or none at all, it
 * neither changes nor writes anything. */
static void test_prefetch(void **state)
{
	struct fixture *f = *state;
	char k[40][KEYMAX];
	const void *keys[40];
	size_t klens[40];
	struct pkv_stats st0, st1;
	pkv_batch *b;
	pkv *db = open_db(f);

	for (unsigned i = 0; i < 40; i += 2)
		put_kv(db, 0, i, 1);
	for (unsigned i = 0; i < 40; i++) {
		klens[i] = mkkey(k[i], i);
		keys[i] = k[i];
	}
	assert_int_equal(pkv_stats(db, &st0), 0);
	pkv_prefetch(db, 0, 40, keys, klens);
	pkv_prefetch(db, 0, 0, NULL, NULL);
	pkv_prefetch(db, 99, 40, keys, klens);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_del(b, 0, k[0], klens[0]), 0);
	pkv_prefetch(db, 0, 40, keys, klens);
	assert_int_equal(pkv_batch_exists(b, 0, k[0], klens[0]),
			 PKV_ENOTFOUND);
	pkv_batch_abort(b);
	assert_int_equal(pkv_stats(db, &st1), 0);
	assert_int_equal(st1.flushed_bytes, st0.flushed_bytes);
	assert_int_equal(st1.fences, st0.fences);
	assert_int_equal(dbsize(db, 0), 20);
	for (unsigned i = 0; i < 40; i++)
		expect_kv(db, 0, i, i % 2 ? -1 : 1);
	close_db(f);
}

/* test_batch_savepoint -- a rollback undoes what came after its
 * savepoint, and a failure that came after it: the rest commits. */
static void test_batch_savepoint(void **state)
{
	struct fixture *f = *state;
	struct pkv_savepoint sp;
	char k[KEYMAX];
	size_t kl;
	pkv_batch *b;
	pkv *db = open_db(f);

	put_kv(db, 0, 1, 1);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, "a", 1, "1", 1, 0, 0), 0);
	pkv_batch_savepoint(b, &sp);
	assert_int_equal(pkv_batch_put(b, 0, "b", 1, "2", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_put(b, 0, "a", 1, "3", 1, 0, 0), 0);
	kl = mkkey(k, 1);
	assert_int_equal(pkv_batch_del(b, 0, k, kl), 0);
	assert_int_equal(pkv_batch_put(b, 999, "x", 1, "y", 1, 0, 0),
			 PKV_EINVAL);
	assert_int_equal(pkv_batch_failed(b), PKV_EINVAL);
	pkv_batch_rollback(b, &sp);
	assert_int_equal(pkv_batch_failed(b), 0);
	assert_int_equal(pkv_batch_exists(b, 0, "b", 1), PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_exists(b, 0, k, kl), 0);
	assert_int_equal(pkv_batch_put(b, 0, "c", 1, "4", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	expect_kv(db, 0, 1, 1);
	assert_int_equal(pkv_exists(db, 0, "b", 1), PKV_ENOTFOUND);
	assert_int_equal(pkv_get(db, 0, "a", 1, k, sizeof(k), &kl), 0);
	assert_int_equal(k[0], '1');
	assert_int_equal(pkv_exists(db, 0, "c", 1), 0);
	assert_int_equal(dbsize(db, 0), 3);
	db = reopen(f);
	assert_int_equal(dbsize(db, 0), 3);
	close_db(f);
}

/* gc_from_scan -- a scan callback that calls pkv_gc (which pkv.3 forbids)
 * and keeps its answer. */
static int gc_from_scan(void *ctx, const struct pkv_item *it)
{
	void **a = ctx;

	(void)it;
	*(int *)a[1] = pkv_gc(a[0]);
	return 1;
}

/*
 * test_gc_in_batch -- pkv_gc from a thread whose batch is open answers
 * PKV_EBUSY at once: the collection waits until no transaction is in
 * flight, and waited for this thread's own, forever (pkv-server's GC
 * after a write in the same turn froze the server).  The batch is then
 * committed whole, and a collection runs.  Likewise from inside a read
 * (a scan's callback): the collection waits for every reader.
 */
static void test_gc_in_batch(void **state)
{
	struct fixture *f = *state;
	pkv_batch *b;
	pkv *db = open_db(f);

	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, "x", 1, "y", 1, 0, 0), 0);
	assert_int_equal(pkv_gc(db), PKV_EBUSY);
	assert_non_null(strstr(pkv_errmsg(db), "batch open"));
	assert_int_equal(pkv_batch_put(b, 0, "z", 1, "w", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	assert_int_equal(pkv_gc(db), 0);
	assert_int_equal(pkv_exists(db, 0, "x", 1), 0);
	assert_int_equal(pkv_exists(db, 0, "z", 1), 0);
	{
		int r = 0;
		uint64_t next;
		void *a[2] = { db, &r };
		assert_int_equal(pkv_scan(db, 0, 0, 10, gc_from_scan, a,
					  &next), 1);
		assert_int_equal(r, PKV_EBUSY);
	}
	assert_int_equal(pkv_gc(db), 0);
	close_db(f);
}

/* batch_dbwide_put -- a single put of key 900 in database 0, from a
 * thread: it waits while a batch that flushed the database holds it. */
static void *batch_dbwide_put(void *arg)
{
	put_kv(arg, 0, 900, 9);
	return NULL;
}

/* batch_scan_count -- pkv_scan_fn: count the keys. */
static int batch_scan_count(void *ctx, const struct pkv_item *item)
{
	(void)item;
	++*(unsigned *)ctx;
	return 0;
}

/*
 * test_batch_dbwide -- flushes and swaps inside a batch: its later
 * operations and reads see the databases as it left them (a get, a size,
 * a scan, a random key), other readers see nothing of it until the
 * commit, a savepoint takes one back, the commit applies all of it and
 * the counts follow, durably; an aborted batch leaves the databases as
 * they were; a single put to a database the batch flushed waits for the
 * commit and lands in the new table (not in the old one, unlinked by the
 * commit); pkv_batch_memory_usage sees a key the batch wrote.
 */
static void test_batch_dbwide(void **state)
{
	struct fixture *f = *state;
	struct pkv_savepoint sp;
	struct pkv_ref ref;
	uint64_t keys, next, bytes = 0;
	unsigned seen = 0;
	char kbuf[KEYMAX];
	size_t kl;
	pkv_batch *b;
	pthread_t th;
	pkv *db = open_db(f);

	for (unsigned i = 0; i < 300; i++)
		put_kv(db, 0, i, 1);
	for (unsigned i = 500; i < 510; i++)
		put_kv(db, 1, i, 2);

	/* aborted: nothing changes */
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_flushall(b), 0);
	assert_int_equal(pkv_batch_swapdb(b, 0, 1), 0);
	pkv_batch_abort(b);
	assert_int_equal(dbsize(db, 0), 300);
	assert_int_equal(dbsize(db, 1), 10);

	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, "x", 1, "1", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_flushdb(b, 0), 0);
	assert_int_equal(pkv_batch_get_ref(b, 0, "x", 1, &ref), PKV_ENOTFOUND);
	kl = (size_t)mkkey(kbuf, 7);
	assert_int_equal(pkv_batch_exists(b, 0, kbuf, kl), PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_dbsize(b, 0, &keys, NULL), 0);
	assert_int_equal(keys, 0);
	assert_int_equal(pkv_batch_put(b, 0, "y", 1, "2", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_memory_usage(b, 0, "y", 1, &bytes), 0);
	assert_true(bytes > 0);
	/* a single put to database 0 waits for the batch */
	assert_int_equal(pthread_create(&th, NULL, batch_dbwide_put, db), 0);
	assert_int_equal(pkv_batch_swapdb(b, 0, 1), 0);
	assert_int_equal(pkv_batch_dbsize(b, 0, &keys, NULL), 0);
	assert_int_equal(keys, 10);
	assert_int_equal(pkv_batch_dbsize(b, 1, &keys, NULL), 0);
	assert_int_equal(keys, 1);
	assert_int_equal(pkv_batch_get_ref(b, 1, "y", 1, &ref), 0);
	assert_int_equal(pkv_batch_scan(b, 1, 0, 1000, batch_scan_count, &seen,
					&next), 0);
	assert_int_equal(seen, 1);
	assert_int_equal(pkv_batch_random_key(b, 1, kbuf, sizeof(kbuf), &kl),
			 0);
	assert_true(kl == 1 && kbuf[0] == 'y');
	pkv_batch_savepoint(b, &sp);
	assert_int_equal(pkv_batch_flushall(b), 0);
	assert_int_equal(pkv_batch_dbsize(b, 0, &keys, NULL), 0);
	assert_int_equal(keys, 0);
	pkv_batch_rollback(b, &sp);
	assert_int_equal(pkv_batch_dbsize(b, 0, &keys, NULL), 0);
	assert_int_equal(keys, 10);
	/* others see none of it yet */
	assert_int_equal(dbsize(db, 0), 300);
	expect_kv(db, 0, 7, 1);
	assert_int_equal(pkv_exists(db, 1, "y", 1), PKV_ENOTFOUND);
	assert_int_equal(pkv_batch_swapdb(b, 1, 1), 0);
	assert_int_equal(pkv_batch_swapdb(b, 0, 16), PKV_EINVAL);
	pkv_batch_rollback(b, &sp);   /* forget the failure */
	assert_int_equal(pkv_batch_commit(b, NULL), 0);
	assert_int_equal(pthread_join(th, NULL), 0);

	for (unsigned round = 0; round < 2; round++) {
		assert_int_equal(dbsize(db, 0), 11);   /* 500..509 and 900 */
		assert_int_equal(dbsize(db, 1), 1);
		expect_kv(db, 0, 500, 2);
		expect_kv(db, 0, 900, 9);
		expect_kv(db, 0, 7, -1);
		expect_kv(db, 1, 7, -1);
		assert_int_equal(pkv_exists(db, 1, "y", 1), 0);
		assert_int_equal(pkv_exists(db, 0, "x", 1), PKV_ENOTFOUND);
		db = reopen(f);
	}
	assert_int_equal(pkv_gc(db), 0);
	close_db(f);
}

/* test_batch_abort -- an aborted batch applies nothing; so does a batch
 * with an invalid operation, whose commit reports it. */
static void test_batch_abort(void **state)
{
	struct fixture *f = *state;
	pkv_batch *b;
	int r[4];
	pkv *db = open_db(f);

	put_kv(db, 0, 1, 1);
	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, "x", 1, "y", 1, 0, 0), 0);
	{
		char k[KEYMAX];
		size_t kl = mkkey(k, 1);
		assert_int_equal(pkv_batch_del(b, 0, k, kl), 0);
	}
	pkv_batch_abort(b);
	pkv_batch_abort(NULL);
	assert_int_equal(pkv_exists(db, 0, "x", 1), PKV_ENOTFOUND);
	expect_kv(db, 0, 1, 1);

	assert_int_equal(pkv_batch_begin(db, &b), 0);
	assert_int_equal(pkv_batch_put(b, 0, "x", 1, "y", 1, 0, 0), 0);
	assert_int_equal(pkv_batch_put(b, 0, "z", 1, "y", 1, PKV_NX | PKV_XX,
				       0), PKV_EINVAL);
	assert_int_equal(pkv_batch_expire(b, 0, "x", 1, -1), PKV_EINVAL);
	assert_int_equal(pkv_batch_del(b, 99, "x", 1), PKV_EINVAL);
	assert_int_equal(pkv_batch_commit(b, r), PKV_EINVAL);
	assert_int_equal(pkv_exists(db, 0, "x", 1), PKV_ENOTFOUND);
	assert_int_equal(dbsize(db, 0), 1);
	close_db(f);
}

/*
 * submit_puts -- n pipelined batches of one put each (keys from..from+n
 * of database 0, value generation g); the last ticket.
 */
static uint64_t submit_puts(pkv *db, unsigned from, unsigned n, unsigned g)
{
	uint64_t t = 0;

	for (unsigned i = from; i < from + n; i++) {
		char k[KEYMAX], v[VALMAX];
		size_t kl = mkkey(k, i), vl = mkval(v, i, g);
		pkv_batch *b;
		assert_int_equal(pkv_batch_begin(db, &b), 0);
		assert_int_equal(pkv_batch_put(b, 0, k, kl, v, vl, 0, 0), 0);
		assert_int_equal(pkv_batch_submit(b, &t), 0);
		expect_kv(db, 0, i, g);          /* visible at once */
	}
	return t;
}

/* env_save -- a copy of the environment variable `name` (NULL: unset),
 * for env_restore after a test changed it. */
static char *env_save(const char *name)
{
	const char *v = getenv(name);

	return v ? strdup(v) : NULL;
}

/* env_restore -- put back (and free) what env_save saved. */
static void env_restore(const char *name, char *saved)
{
	if (saved)
		setenv(name, saved, 1);
	else
		unsetenv(name);
	free(saved);
}

/*
 * test_batch_submit -- pipelined commits: on a disk (the file backend) a
 * submitted batch is visible at once and durable once its ticket says so,
 * with the syncer thread or (PKV_NOTHREADS) by the call that waits; the
 * descriptor wakes a poll; a plain commit returns durable after them;
 * everything is there after a reopen.  On persistent memory a ticket is
 * durable at once and there is no descriptor.
 */
static void test_batch_submit(void **state)
{
	struct fixture *f = *state;
	char *saved = env_save("PKV_PERSIST");
	struct pollfd pfd;
	struct pkv_stats st;
	uint64_t t;
	pkv *db;

	setenv("PKV_PERSIST", "pmem", 1);
	db = open_db(f);                /* persistent memory (emulated) */
	assert_int_equal(pkv_durable_fd(db), -1);
	t = submit_puts(db, 0, 3, 1);
	assert_int_equal(pkv_durable(db, t, false), 1);
	close_db(f);

	setenv("PKV_PERSIST", "file", 1);
	db = open_db(f);
	pfd.fd = pkv_durable_fd(db);
	assert_true(pfd.fd >= 0);
	pfd.events = POLLIN;
	t = submit_puts(db, 0, 200, 2);
	assert_int_equal(pkv_durable(db, t, true), 1);
	assert_int_equal(poll(&pfd, 1, 0), 1);  /* a drain wrote it */
	/* a plain commit behind submitted ones: all durable on return */
	t = submit_puts(db, 200, 50, 2);
	put_kv(db, 0, 250, 2);
	assert_int_equal(pkv_durable(db, t, false), 1);
	assert_int_equal(pkv_durable(db, pkv_ticket(db), false), 1);
	db = reopen(f);
	for (unsigned i = 0; i <= 250; i++)
		expect_kv(db, 0, i, 2);
	close_db(f);

	/* No syncer: the waiter writes.  On a new pool: in the one above,
	 * the maintenance thread may have left a table resize under way
	 * (when depends on timing), and a resize step that commits and
	 * waits behind the submitted put wrote it (3 runs in 40 with the
	 * machine's two cores kept busy). */
	assert_int_equal(unlink(f->path), 0);
	f->opts.flags |= PKV_NOTHREADS;
	db = open_db(f);
	put_kv(db, 0, 0, 2);
	t = submit_puts(db, 0, 1, 3);    /* an overwrite: no resize step
					    commits (and waits) behind it */
	assert_int_equal(pkv_durable(db, t, false), 0);
	assert_int_equal(pkv_durable(db, t, true), 1);
	assert_int_equal(pkv_durable(db, t, false), 1);
	t = submit_puts(db, 1, 24, 3);   /* written by the close */
	db = reopen(f);
	for (unsigned i = 0; i < 25; i++)
		expect_kv(db, 0, i, 3);
	/* More submitted than a ring holds, none waited for: the commit
	 * that finds its ring full writes the queue before checkpointing
	 * (it spun for ever on queued records it could not pass). */
	alarm(120);
	t = submit_puts(db, 0, 30000, 4);
	alarm(0);
	assert_int_equal(pkv_stats(db, &st), 0);
	assert_true(st.ring_waits > 0);  /* the case this is about */
	assert_int_equal(pkv_durable(db, t, true), 1);
	db = reopen(f);
	for (unsigned i = 0; i < 30000; i++)
		expect_kv(db, 0, i, 4);
	close_db(f);
	env_restore("PKV_PERSIST", saved);
}

/*
 * The checkpointer held inside its write-back (test_checkpoint_shared):
 * its first write of heap pages waits until a commit has shared the
 * write-back, or 60 s.
 */
struct hold_hook {
	struct redo *redo;
	uint64_t heap_from;           /* pool offset where the heap starts */
	atomic_int armed;             /* hold the next heap write-back */
	atomic_int held;              /* times the checkpointer was held */
};

static void hold_flush(void *ctx, uint64_t off, size_t len)
{
	struct hold_hook *hh = ctx;
	struct redo_stats rs;
	char name[16] = "";
	int one = 1;

	(void)len;
	if (off < hh->heap_from ||
	    pthread_getname_np(pthread_self(), name, sizeof(name)) ||
	    strcmp(name, "pkv-ckpt") != 0 ||
	    !atomic_compare_exchange_strong(&hh->armed, &one, 0))
		return;
	atomic_fetch_add(&hh->held, 1);
	for (unsigned ms = 0; ms < 60000; ms++) {
		struct timespec ts = { 0, 1000000 };
		redo_get_stats(hh->redo, &rs);
		if (rs.ring_shares)
			return;
		nanosleep(&ts, NULL);
	}
}

static void hold_fence(void *ctx)
{
	(void)ctx;
}

/*
 * test_checkpoint_shared -- on a disk, a commit that finds its ring full
 * while the checkpointer writes back (here held inside its write-back,
 * as a starved one would be) takes a share of the write-back instead of
 * only waiting: the checkpoint ends, every write is there after a
 * reopen, and the pages written by either thread hold the last version.
 */
static void test_checkpoint_shared(void **state)
{
	enum { NKEYS = 10000, VLEN = 8000 };
	struct fixture *f = *state;
	char *saved = env_save("PKV_PERSIST");
	/* static: a failed assertion leaves them installed until the
	 * teardown's close */
	static struct persist_hook hook = { hold_flush, hold_fence, NULL };
	static struct hold_hook hh;
	struct redo_stats rs;
	static char v[VLEN];
	char k[KEYMAX];
	pkv *db;

	setenv("PKV_PERSIST", "file", 1);
	f->opts.size = 256ull << 20;   /* heap pages past the first chunk */
	db = open_db(f);
	for (unsigned i = 0; i < NKEYS; i++) {
		size_t kl = mkkey(k, i);
		memset(v, (int)(i % 251), VLEN);
		assert_int_equal(pkv_put(db, 0, k, kl, v, VLEN, 0, 0), 0);
	}
	memset(&hh, 0, sizeof(hh));
	hh.redo = heap_redo(db->heap);
	hh.heap_from = db->pool->hdr->chunk_hdr_off;
	hook.ctx = &hh;
	persist_set_hook(&db->pool->persist, &hook);
	atomic_store(&hh.armed, 1);
	alarm(300);
	for (unsigned j = 0; j < NKEYS; j++) {
		unsigned i = (unsigned)((j * 7919ull) % NKEYS);
		size_t kl = mkkey(k, i);
		memset(v, (int)((i + 1) % 251), VLEN);
		assert_int_equal(pkv_put(db, 0, k, kl, v, VLEN, 0, 0), 0);
	}
	alarm(0);
	redo_get_stats(hh.redo, &rs);
	assert_int_equal(atomic_load(&hh.held), 1);
	assert_true(rs.ring_shares > 0);      /* the case this is about */
	assert_true(rs.ring_shares <= rs.ring_waits);
	persist_set_hook(&db->pool->persist, NULL);
	db = reopen(f);
	for (unsigned i = 0; i < NKEYS; i++) {
		char got[VLEN];
		size_t kl = mkkey(k, i), vl = 0;
		assert_int_equal(pkv_get(db, 0, k, kl, got, sizeof(got), &vl),
				 0);
		assert_int_equal(vl, VLEN);
		memset(v, (int)((i + 1) % 251), VLEN);
		if (memcmp(got, v, VLEN) != 0)
			fail_msg("key %u: not its last version", i);
	}
	close_db(f);
	env_restore("PKV_PERSIST", saved);
}

/* ================================================================== */
/* statistics, misc                                                    */
/* ================================================================== */

/* test_stats -- the figures follow the writes. */
static void test_stats(void **state)
{
	struct fixture *f = *state;
	struct pkv_stats s0, s1;
	int64_t t = pkv_now_ms() + 3600000;
	pkv *db = open_db(f);
	uint64_t payload = 0;

	assert_int_equal(pkv_stats(db, &s0), 0);
	assert_int_equal(s0.keys, 0);
	assert_int_equal(s0.pool_size, KVFIX_POOL_SIZE);
	assert_true(s0.heap_bytes > 0 && s0.heap_bytes <= s0.pool_size);
	assert_true(s0.utilization > 0 && s0.utilization <= 1);
	for (unsigned i = 0; i < 500; i++) {
		char k[KEYMAX], v[VALMAX];
		size_t kl = mkkey(k, i), vl = mkval(v, i, 1);
		assert_int_equal(pkv_put(db, i % 3, k, kl, v, vl, 0,
					 i % 4 ? 0 : t), 0);
		payload += kl + vl;
	}
	assert_int_equal(pkv_stats(db, &s1), 0);
	assert_int_equal(s1.keys, 500);
	assert_int_equal(s1.expires, 125);
	assert_true(s1.utilization > s0.utilization && s1.utilization <= 1);
	assert_true(s1.allocated_bytes > s0.allocated_bytes);
	assert_true(s1.allocated_bytes <= s1.heap_bytes);
	assert_true(s1.fences > s0.fences);
	assert_true(s1.fences >= 500);
	assert_true(s1.payload_bytes >= s0.payload_bytes + payload);
	assert_true(s1.flushed_bytes > s0.flushed_bytes);
	assert_true(s1.write_amplification > 0);
	assert_true(s1.clean_shutdown);
	assert_int_equal(pkv_gc(db), 0);
	assert_int_equal(pkv_stats(db, &s1), 0);
	assert_true(s1.gc_runs >= 1);
	assert_true(s1.gc_live_blocks >= 500);
	db = reopen(f);
	assert_int_equal(pkv_stats(db, &s1), 0);
	assert_true(s1.clean_shutdown);
	assert_int_equal(s1.keys, 500);
	assert_int_equal(s1.expires, 125);
	close_db(f);
}

/* test_misc -- strerror, version, the clock. */
static void test_misc(void **state)
{
	int64_t a, b;

	(void)state;
	for (int e = PKV_ELAST; e <= PKV_EFIRST; e++) {
		assert_non_null(pkv_strerror(e));
		assert_true(pkv_strerror(e)[0] != '\0');
	}
	assert_string_not_equal(pkv_strerror(PKV_EFULL),
				pkv_strerror(PKV_ENOTFOUND));
	assert_non_null(pkv_strerror(-ENOENT));
	assert_non_null(pkv_strerror(0));
	assert_non_null(pkv_strerror(-29999));
	assert_string_equal(pkv_version(), "0.1.0");
	a = pkv_now_ms();
	b = (int64_t)time(NULL) * 1000;
	assert_true(a > b - 2000 && a < b + 2000);
}

/* ================================================================== */
/* threads                                                             */
/* ================================================================== */

#define TH_KEYS 3000
#define TH_WORKERS 4

struct th_shared {
	pkv *db;
	atomic_bool stop;
	atomic_uint errors;
	char first_error[256];
	pthread_mutex_t mtx;
	atomic_ullong ops, scans;
};

struct th_worker {
	struct th_shared *sh;
	unsigned id;
	uint64_t rng;
};

static void th_error(struct th_shared *sh, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void th_error(struct th_shared *sh, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&sh->errors, 1) != 0)
		return;
	pthread_mutex_lock(&sh->mtx);
	va_start(ap, fmt);
	vsnprintf(sh->first_error, sizeof(sh->first_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&sh->mtx);
}

/* th_val -- the value thread tid writes as its seq-th write of key i:
 * "<key>|<tid>|<seq>|" then filler that depends on all three; length. */
static size_t th_val(char *buf, unsigned i, unsigned tid, uint64_t seq)
{
	int h = snprintf(buf, VALMAX, "%08u|%u|%llu|", i, tid,
			 (unsigned long long)seq);
	size_t n = (size_t)h + (i + tid * 7 + seq) % 150;

	for (size_t k = (size_t)h; k < n; k++)
		buf[k] = (char)('a' + (i + tid + seq + k) % 26);
	return n;
}

/* th_check -- whether val is a value some thread wrote for key i. */
static bool th_check(const char *val, size_t vlen, unsigned i)
{
	char tmp[VALMAX], want[VALMAX];
	unsigned ki, tid;
	unsigned long long seq;

	if (vlen == 0 || vlen >= VALMAX)
		return false;
	memcpy(tmp, val, vlen);
	tmp[vlen] = '\0';
	if (sscanf(tmp, "%8u|%u|%llu|", &ki, &tid, &seq) != 3 || ki != i ||
	    tid >= TH_WORKERS)
		return false;
	return th_val(want, i, tid, seq) == vlen &&
	       memcmp(want, val, vlen) == 0;
}

static void *th_worker_main(void *arg)
{
	struct th_worker *w = arg;
	struct th_shared *sh = w->sh;
	uint64_t seq = 0;
	char k[KEYMAX], v[VALMAX], out[VALMAX];

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		unsigned i = (unsigned)(tu_rand(&w->rng) % TH_KEYS);
		unsigned dbi = i % 2, op = (unsigned)(tu_rand(&w->rng) % 100);
		size_t kl = mkkey(k, i), vl, n = 0;
		struct pkv_ref ref;
		int rc;

		if (op < 35) {
			vl = th_val(v, i, w->id, ++seq);
			rc = pkv_put(sh->db, dbi, k, kl, v, vl,
				     op < 5 ? PKV_NX : op < 10 ? PKV_XX : 0,
				     0);
			if (rc != 0 && !(op < 5 && rc == PKV_EEXIST) &&
			    !(op >= 5 && op < 10 && rc == PKV_ENOTFOUND))
				th_error(sh, "put %s: %s", k,
					 pkv_strerror(rc));
		} else if (op < 50) {
			rc = pkv_del(sh->db, dbi, k, kl);
			if (rc != 0 && rc != PKV_ENOTFOUND)
				th_error(sh, "del %s: %s", k,
					 pkv_strerror(rc));
		} else if (op < 80) {
			rc = pkv_get(sh->db, dbi, k, kl, out, sizeof(out), &n);
			if (rc == 0 && !th_check(out, n, i))
				th_error(sh, "get %s: a value nobody wrote "
					 "(%zu bytes: %.40s)", k, n, out);
			else if (rc != 0 && rc != PKV_ENOTFOUND)
				th_error(sh, "get %s: %s", k,
					 pkv_strerror(rc));
		} else if (op < 90) {
			rc = pkv_get_ref(sh->db, dbi, k, kl, &ref);
			if (rc == 0) {
				if (!th_check(ref.val, ref.vlen, i))
					th_error(sh, "get_ref %s: a value "
						 "nobody wrote", k);
				pkv_ref_release(&ref);
			} else if (rc != PKV_ENOTFOUND) {
				th_error(sh, "get_ref %s: %s", k,
					 pkv_strerror(rc));
			}
		} else if (op < 95) {
			rc = pkv_exists(sh->db, dbi, k, kl);
			if (rc != 0 && rc != PKV_ENOTFOUND)
				th_error(sh, "exists %s: %s", k,
					 pkv_strerror(rc));
		} else {
			/* an expiry far away, or none */
			rc = pkv_expire(sh->db, dbi, k, kl, op % 2 ? 0 :
					pkv_now_ms() + 3600000);
			if (rc != 0 && rc != PKV_ENOTFOUND)
				th_error(sh, "expire %s: %s", k,
					 pkv_strerror(rc));
		}
		atomic_fetch_add_explicit(&sh->ops, 1, memory_order_relaxed);
	}
	return NULL;
}

static int th_scan_fn(void *ctx, const struct pkv_item *it)
{
	const void *key = it->key, *val = it->val;
	size_t klen = it->klen, vlen = it->vlen;
	int64_t expire_ms = it->expire_ms;
	struct th_shared *sh = ctx;
	long i = keyno(key, klen);

	(void)expire_ms;
	if (i < 0 || i >= TH_KEYS || !th_check(val, vlen, (unsigned)i))
		th_error(sh, "scan: bad key or value (%zu, %zu bytes)", klen,
			 vlen);
	return 0;
}

/* th_scanner_main -- whole scans of both databases, checking every
 * key and value they return. */
static void *th_scanner_main(void *arg)
{
	struct th_shared *sh = arg;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		for (unsigned dbi = 0; dbi < 2; dbi++) {
			uint64_t cur = 0, next;
			do {
				int rc = pkv_scan(sh->db, dbi, cur, 20,
						  th_scan_fn, sh, &next);
				if (rc != 0) {
					th_error(sh, "scan: %s",
						 pkv_strerror(rc));
					break;
				}
				cur = next;
			} while (cur != 0);
		}
		atomic_fetch_add(&sh->scans, 1);
	}
	return NULL;
}

/* count_fn -- scan callback: mark keys seen (keys may come twice). */
static int count_fn(void *ctx, const struct pkv_item *it)
{
	const void *key = it->key, *val = it->val;
	size_t klen = it->klen, vlen = it->vlen;
	int64_t expire_ms = it->expire_ms;
	unsigned char *seen = ctx;
	long i = keyno(key, klen);

	(void)val;
	(void)vlen;
	(void)expire_ms;
	if (i >= 0 && i < TH_KEYS)
		seen[i] = 1;
	return 0;
}

/* th_final -- quiesced: for each database, dbsize equals the keys a get
 * finds and the distinct keys a scan returns; the count of those. */
static uint64_t th_final(pkv *db)
{
	uint64_t total = 0;

	for (unsigned dbi = 0; dbi < 2; dbi++) {
		unsigned char seen[TH_KEYS] = { 0 };
		uint64_t found = 0, scanned = 0, cur = 0, next;
		char k[KEYMAX], out[VALMAX];

		for (unsigned i = dbi; i < TH_KEYS; i += 2) {
			size_t kl = mkkey(k, i), n;
			int rc = pkv_get(db, dbi, k, kl, out, sizeof(out), &n);
			if (rc == 0) {
				found++;
				if (!th_check(out, n, i))
					fail_msg("final get %s: a value nobody "
						 "wrote", k);
			} else {
				assert_int_equal(rc, PKV_ENOTFOUND);
			}
		}
		do {
			assert_int_equal(pkv_scan(db, dbi, cur, 100, count_fn,
						  seen, &next), 0);
			cur = next;
		} while (cur != 0);
		for (unsigned i = 0; i < TH_KEYS; i++)
			scanned += seen[i];
		if (dbsize(db, dbi) != found || scanned != found)
			fail_msg("db %u: dbsize %llu, get finds %llu, scan "
				 "finds %llu", dbi,
				 (unsigned long long)dbsize(db, dbi),
				 (unsigned long long)found,
				 (unsigned long long)scanned);
		total += found;
	}
	return total;
}

/* test_threads -- 4 threads of random puts, gets, references, deletes and
 * expiry changes on 3,000 shared keys in two databases, plus a thread
 * scanning, for 1.5 s; every value read is one some thread wrote for that
 * key; quiesced, counts, gets and scans agree, also after a reopen. */
static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct th_shared sh;
	struct th_worker w[TH_WORKERS];
	pthread_t th[TH_WORKERS], scanner;
	const char *ms = getenv("PKV_TEST_THREADS_MS");
	unsigned run_ms = ms ? (unsigned)atoi(ms) : 1500;
	uint64_t total;
	pkv *db = open_db(f);

	memset(&sh, 0, sizeof(sh));
	sh.db = db;
	pthread_mutex_init(&sh.mtx, NULL);
	for (unsigned t = 0; t < TH_WORKERS; t++) {
		w[t].sh = &sh;
		w[t].id = t;
		w[t].rng = 0x1234567ull * (t + 1);
		assert_int_equal(pthread_create(&th[t], NULL, th_worker_main,
						&w[t]), 0);
	}
	assert_int_equal(pthread_create(&scanner, NULL, th_scanner_main, &sh),
			 0);
	sleep_ms(run_ms);
	atomic_store(&sh.stop, true);
	for (unsigned t = 0; t < TH_WORKERS; t++)
		pthread_join(th[t], NULL);
	pthread_join(scanner, NULL);
	print_message("      %llu operations, %llu whole scans in %u ms\n",
		      (unsigned long long)atomic_load(&sh.ops),
		      (unsigned long long)atomic_load(&sh.scans), run_ms);
	if (atomic_load(&sh.errors))
		fail_msg("%u errors; first: %s", atomic_load(&sh.errors),
			 sh.first_error);
	total = th_final(db);
	kv_check(db);
	db = reopen(f);
	assert_int_equal(th_final(db), total);
	close_db(f);
	pthread_mutex_destroy(&sh.mtx);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_create_reopen),
		T(test_open_excl),
		T(test_open_missing),
		T(test_open_not_pool),
		T(test_open_busy),
		T(test_open_databases),
		T(test_open_too_many_databases),
		T(test_open_refused_leaves_no_file),
		T(test_open_bad_args),
		T(test_open_corrupt_releases_lock),
		T(test_open_refused_unmodified),
		T(test_open_nothreads),
		T(test_recovery_counts),
		T(test_recovery_bounded),
		T(test_unclean_reopen),
		T(test_put_get_basic),
		T(test_put_large_value),
		T(test_put_flags),
		T(test_put_bad_args),
		T(test_keepttl),
		T(test_many_keys),
		T(test_del_exists),
		T(test_expire_basic),
		T(test_put_expired),
		T(test_expire_active),
		T(test_expire_active_same_chain),
		T(test_full_pool),
		T(test_grow),
		T(test_file_pages),
		T(test_ckpt_priority),
		T(test_sizes_change),
		T(test_defrag),
		T(test_defrag_concurrent),
		T(test_memory_usage),
		T(test_incr),
		T(test_incr_concurrent),
		T(test_small_pool),
		T(test_flush_full),
		T(test_get_ref_basic),
		T(test_get_ref_stable),
		T(test_scan_full),
		T(test_scan_stop),
		T(test_scan_changes),
		T(test_scan_resize),
		T(test_scan_concurrent),
		T(test_get_during_resize),
		T(test_scan_expired),
		T(test_random_key),
		T(test_flushdb),
		T(test_flushall),
		T(test_swapdb),
		T(test_batch_atomic),
		T(test_batch_results),
		T(test_batch_duplicates),
		T(test_batch_same_chain),
		T(test_batch_big),
		T(test_batch_reads),
		T(test_batch_savepoint),
		T(test_batch_abort),
		T(test_gc_in_batch),
		T(test_batch_dbwide),
		T(test_batch_submit),
		T(test_checkpoint_shared),
		T(test_prefetch),
		T(test_stats),
		T(test_misc),
		T(test_threads),
	};

	/* PKV_TEST_FILTER=test_threads runs only the tests it matches */
	if (getenv("PKV_TEST_FILTER"))
		cmocka_set_test_filter(getenv("PKV_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
