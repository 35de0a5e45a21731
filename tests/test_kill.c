/*
 * test_kill.c -- SIGKILL a process that is writing; every write it had
 * acknowledged must be in the pool when it is opened again.
 *
 * Each round forks a child that opens the pool and runs two writer
 * threads.  A writer puts key "t<thread>:<n>" for n = 0, 1, 2, ... (every
 * third one later deleted again, every fifth one overwritten with a
 * second value), and after each call returns it reports the call on a
 * pipe: an acknowledgment.  The parent lets it run for a random while,
 * kills it with SIGKILL, reads every acknowledgment that reached the pipe,
 * then opens the pool itself (recovery and the recovery audit run) and
 * checks each acknowledged put, overwrite and delete.  The next round's
 * child continues in the same pool after the parent closes it.
 *
 * A third thread commits batches of BIG_N puts, generation after
 * generation, each setting every key "b:<i>" to "gen <g>": after any kill
 * all BIG_N keys must hold the same generation (a batch is all or
 * nothing), no older than the last one acknowledged.
 *
 * The pool starts small and grows while all this goes on: the child opens
 * it with PKV_AUTOGROW, so writes that find it full grow it, and a fourth
 * thread grows it by one chunk every 3 ms (pkv_grow), reporting
 * each growth: after the kill the pool must be at least as big as the
 * last growth acknowledged, and hold everything above.  The kill moments
 * come from a fixed seed.
 *
 * Usage: test_kill [ROUNDS]   (the pool goes in tests/tmp/)
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pkv.h"

#define THREADS 2
#define MAXN 2000000
#define BIG_N 100000      /* puts in each of the batch thread's batches */
#define START_SIZE (32ull << 20)      /* the pool at create */
#define GROW_STEP (256u << 10)        /* the grower's step: a chunk */

struct ack {
	unsigned char thread, kind;   /* kind: 'P' put, 'O' overwrite, 'D' del */
	uint32_t n;
};

static int g_pipe;
static uint32_t g_start[THREADS];   /* first n of this round, per thread */
static uint32_t g_big_gen;          /* the batch thread's next generation */

static void value_of(char *buf, size_t len, unsigned t, uint32_t n, int v2)
{
	snprintf(buf, len, "value %u:%u%s -- padding to make it longer than "
		 "a cache line, so a torn write would show", t, n,
		 v2 ? " (second)" : "");
}

/* writer -- the child's threads: write, then acknowledge. */
static void *writer(void *arg)
{
	pkv *db = ((void **)arg)[0];
	unsigned t = (unsigned)(uintptr_t)((void **)arg)[1];
	char key[32], val[128];

	for (uint32_t n = g_start[t]; n < MAXN; n++) {
		struct ack a = { (unsigned char)t, 'P', n };
		int kl = snprintf(key, sizeof(key), "t%u:%u", t, n);
		value_of(val, sizeof(val), t, n, 0);
		if (pkv_put(db, 0, key, (size_t)kl, val, strlen(val), 0, 0))
			_exit(3);
		if (write(g_pipe, &a, sizeof(a)) != sizeof(a))
			_exit(4);
		if (n % 5 == 0) {
			value_of(val, sizeof(val), t, n, 1);
			if (pkv_put(db, 0, key, (size_t)kl, val, strlen(val),
				    0, 0))
				_exit(3);
			a.kind = 'O';
			if (write(g_pipe, &a, sizeof(a)) != sizeof(a))
				_exit(4);
		}
		if (n % 3 == 0) {
			if (pkv_del(db, 0, key, (size_t)kl))
				_exit(3);
			a.kind = 'D';
			if (write(g_pipe, &a, sizeof(a)) != sizeof(a))
				_exit(4);
		}
	}
	return NULL;
}

/* batcher -- the child's batch thread: BIG_N puts per commit, then the
 * acknowledgment (thread THREADS, kind 'B', n = the generation). */
static void *batcher(void *arg)
{
	pkv *db = arg;
	char key[32], val[32];

	for (uint32_t g = g_big_gen; g < UINT32_MAX; g++) {
		struct ack a = { THREADS, 'B', g };
		/* A batch holds every stripe while it builds: a pause
		 * first, so the single writers get their share too. */
		nanosleep(&(struct timespec){ 0, 200000000L }, NULL);
		int vl = snprintf(val, sizeof(val), "gen %u", g);
		pkv_batch *b;
		if (pkv_batch_begin(db, &b))
			_exit(3);
		for (unsigned i = 0; i < BIG_N; i++) {
			int kl = snprintf(key, sizeof(key), "b:%u", i);
			if (pkv_batch_put(b, 0, key, (size_t)kl, val,
					  (size_t)vl, 0, 0))
				_exit(3);
		}
		if (pkv_batch_commit(b, NULL))
			_exit(3);
		if (write(g_pipe, &a, sizeof(a)) != sizeof(a))
			_exit(4);
	}
	return NULL;
}

/* grower -- the child's growth thread: the pool one step bigger every
 * 3 ms, acknowledged after each growth (thread THREADS + 1, kind
 * 'G', n = the size in steps), until it reaches its maximum. */
static void *grower(void *arg)
{
	pkv *db = arg;
	struct pkv_open_info oi;

	pkv_open_info(db, &oi);
	for (uint64_t size = oi.pool_size + GROW_STEP;; size += GROW_STEP) {
		struct ack a = { THREADS + 1, 'G',
				 (uint32_t)(size / GROW_STEP) };
		int err = pkv_grow(db, size);
		if (err == PKV_EINVAL)
			break;     /* its maximum */
		if (err)
			_exit(5);
		if (write(g_pipe, &a, sizeof(a)) != sizeof(a))
			_exit(4);
		nanosleep(&(struct timespec){ 0, 3000000L }, NULL);
	}
	return NULL;
}

/* check_big -- every b:<i> holds one generation, >= acked (or, before
 * any batch was acknowledged, none at all or one whole generation).
 * Returns the generation found (0: none), or -1 and a message. */
static long check_big(pkv *db, int round, long acked)
{
	long gen = -2;
	for (unsigned i = 0; i < BIG_N; i++) {
		char key[32], got[32];
		size_t vl;
		int kl = snprintf(key, sizeof(key), "b:%u", i);
		int err = pkv_get(db, 0, key, (size_t)kl, got,
				  sizeof(got) - 1, &vl);
		long g = 0;
		if (err && err != PKV_ENOTFOUND) {
			fprintf(stderr, "round %d: %s: %s\n", round, key,
				pkv_strerror(err));
			return -1;
		}
		if (!err) {
			got[vl < sizeof(got) ? vl : sizeof(got) - 1] = 0;
			if (sscanf(got, "gen %ld", &g) != 1) {
				fprintf(stderr, "round %d: %s: bad value\n",
					round, key);
				return -1;
			}
			g++;   /* generation g is "found g + 1" */
		}
		if (gen == -2)
			gen = g;
		if (g != gen) {
			fprintf(stderr, "round %d: half a batch: %s holds "
				"generation %ld, b:0 %ld (0: none)\n", round,
				key, g - 1, gen - 1);
			return -1;
		}
	}
	if (gen < acked) {
		fprintf(stderr, "round %d: batch %ld was acknowledged, the "
			"pool holds %ld\n", round, acked - 1, gen - 1);
		return -1;
	}
	return gen;
}

static void child(const char *path)
{
	struct pkv_options o;
	pthread_t th[THREADS], big, grow;
	void *args[THREADS][2];
	pkv *db;

	pkv_options_init(&o);
	o.flags = PKV_AUTOGROW;
	if (pkv_open(path, &o, &db)) {
		fprintf(stderr, "child: %s\n", pkv_errmsg(NULL));
		_exit(2);
	}
	for (unsigned t = 0; t < THREADS; t++) {
		args[t][0] = db;
		args[t][1] = (void *)(uintptr_t)t;
		pthread_create(&th[t], NULL, writer, args[t]);
	}
	pthread_create(&big, NULL, batcher, db);
	pthread_create(&grow, NULL, grower, db);
	for (unsigned t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	_exit(0);
}

/* The strongest acknowledged state of each key. */
static unsigned char *g_state[THREADS];   /* 0, 'P', 'O', 'D' */

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 6;
	char path[256];
	unsigned long checked = 0, acked_total = 0, batches = 0, growths = 0;
	uint64_t grown_acked = START_SIZE;   /* the last growth acknowledged */
	long big_acked = 0;   /* generation + 1 of the last acknowledged */
	int fail = 0;

	mkdir("tests", 0755);
	mkdir("tests/tmp", 0755);
	snprintf(path, sizeof(path), "tests/tmp/kill-%ld.pool", (long)getpid());
	unlink(path);
	for (unsigned t = 0; t < THREADS; t++)
		g_state[t] = calloc(MAXN, 1);
	{
		/* Created here, so no kill can land inside pool creation. */
		struct pkv_options o;
		pkv *db;
		pkv_options_init(&o);
		o.flags = PKV_CREATE | PKV_EXCL | PKV_AUTOGROW;
		o.size = START_SIZE;
		o.max_size = 2ull << 30;
		if (pkv_open(path, &o, &db)) {
			fprintf(stderr, "create: %s\n", pkv_errmsg(NULL));
			return 99;
		}
		/* Generation 0 of the batch keys, in batches of 1000, so
		 * the table has grown to them before the first big one. */
		for (unsigned i = 0; i < BIG_N; i += 1000) {
			pkv_batch *b;
			if (pkv_batch_begin(db, &b))
				return 99;
			for (unsigned j = i; j < i + 1000 && j < BIG_N; j++) {
				char key[32];
				int kl = snprintf(key, sizeof(key), "b:%u", j);
				pkv_batch_put(b, 0, key, (size_t)kl, "gen 0", 5,
					      0, 0);
			}
			if (pkv_batch_commit(b, NULL)) {
				fprintf(stderr, "create: %s\n",
					pkv_errmsg(db));
				return 99;
			}
		}
		big_acked = 1;
		g_big_gen = 1;
		pkv_close(db);
	}
	srand(1);   /* the same kill moments every run */

	for (int r = 0; r < rounds && !fail; r++) {
		int fds[2];
		pid_t pid;
		struct ack a;
		long ms = 300 + rand() % 900;
		struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
		unsigned long acks = 0;
		uint64_t pool_now = 0;
		uint32_t hi[THREADS];
		int status;
		pkv *db;

		for (unsigned t = 0; t < THREADS; t++)
			hi[t] = g_start[t];
		if (pipe(fds))
			return 99;
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			g_pipe = fds[1];
			child(path);
		}
		close(fds[1]);
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		while (read(fds[0], &a, sizeof(a)) == sizeof(a)) {
			if (a.thread == THREADS && a.kind == 'B') {
				if ((long)a.n + 1 > big_acked)
					big_acked = (long)a.n + 1;
				batches++;
				acks++;
				continue;
			}
			if (a.thread == THREADS + 1 && a.kind == 'G') {
				uint64_t size = (uint64_t)a.n * GROW_STEP;
				if (size > grown_acked)
					grown_acked = size;
				growths++;
				acks++;
				continue;
			}
			if (a.thread >= THREADS || a.n >= MAXN) {
				fprintf(stderr, "bad acknowledgment\n");
				return 99;
			}
			g_state[a.thread][a.n] = a.kind;
			if (a.n + 1 > hi[a.thread])
				hi[a.thread] = a.n + 1;
			acks++;
		}
		close(fds[0]);
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status)) {
			fprintf(stderr, "round %d: the child exited (status "
				"%d) before it was killed\n", r, status);
			return 99;
		}
		acked_total += acks;

		if (pkv_open(path, NULL, &db)) {
			fprintf(stderr, "round %d: reopen: %s\n", r,
				pkv_errmsg(NULL));
			return 1;
		}
		{
			struct pkv_open_info oi;
			pkv_open_info(db, &oi);
			if (oi.pool_size < grown_acked) {
				fprintf(stderr, "round %d: the pool grew to "
					"%llu bytes (acknowledged), it has "
					"%llu\n", r,
					(unsigned long long)grown_acked,
					(unsigned long long)oi.pool_size);
				fail = 1;
			}
			pool_now = oi.pool_size;
		}
		for (unsigned t = 0; t < THREADS && !fail; t++) {
			for (uint32_t n = 0; n < hi[t]; n++) {
				char key[32], want[128], got[128];
				size_t vl;
				int kl = snprintf(key, sizeof(key), "t%u:%u", t, n);
				unsigned char s = g_state[t][n];
				int err = pkv_get(db, 0, key, (size_t)kl, got,
						  sizeof(got), &vl);
				if (s == 0)
					continue;  /* not acknowledged: either */
				checked++;
				if (s == 'D' && err != PKV_ENOTFOUND) {
					fprintf(stderr, "round %d: %s: delete "
						"was acknowledged, key is "
						"there\n", r, key);
					fail = 1;
					break;
				}
				if (s == 'D')
					continue;
				value_of(want, sizeof(want), t, n, s == 'O');
				if (err || vl != strlen(want) ||
				    memcmp(got, want, vl)) {
					/* a later, unacknowledged delete or
					 * overwrite of the same key may have
					 * landed: n % 3 == 0 keys are deleted
					 * right after, n % 5 overwritten */
					int later_del = n % 3 == 0 &&
							err == PKV_ENOTFOUND;
					char w2[128];
					value_of(w2, sizeof(w2), t, n, 1);
					int later_ow = s == 'P' && n % 5 == 0 &&
						       !err && vl == strlen(w2) &&
						       !memcmp(got, w2, vl);
					if (later_del || later_ow)
						continue;
					fprintf(stderr, "round %d: %s: "
						"acknowledged %c, found %s\n",
						r, key, s, err ?
						pkv_strerror(err) : "another value");
					fail = 1;
					break;
				}
			}
			g_start[t] = hi[t] + 1;  /* the next child goes on */
		}
		if (!fail) {
			long g = check_big(db, r, big_acked);
			if (g < 0)
				fail = 1;
			else
				g_big_gen = (uint32_t)g;  /* found g - 1 */
		}
		pkv_close(db);
		printf("round %d: killed after %ld ms, %lu acknowledged calls, "
		       "all present, batch generation %u whole, pool %llu "
		       "MiB\n", r, ms, acks, g_big_gen - 1,
		       (unsigned long long)(pool_now >> 20));
	}
	unlink(path);
	printf("test_kill: %lu acknowledged calls (%lu batches of %u puts, "
	       "%lu growths), %lu keys checked, %s\n", acked_total, batches,
	       BIG_N, growths, checked, fail ? "FAILED" : "ok");
	return fail;
}
