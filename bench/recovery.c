/*
 * recovery.c -- restart after SIGKILL, and collection time.
 *
 * For each key count N: a child process creates a store, loads N keys and
 * dies by SIGKILL without closing anything; another child then opens what
 * was left and reads one key.  The figure is the time from the open call
 * to the first read served -- what a restarted service waits before it
 * can answer.  Each measure runs in a fresh process, so nothing is
 * mapped or cached in the process beforehand (the file itself is in the
 * page cache, as on a restart).
 *
 * pkv is measured twice: with the default audit (PKV_AUDIT_BACKGROUND:
 * the collector looks for what the crash left behind while requests are
 * served) and with PKV_AUDIT_NOW (it runs inside pkv_open, so the heap is
 * leak-free before the first request); the process is killed again in
 * between so both open an unclean pool.  After the second, pkv_gc is
 * timed on the N live keys.  LMDB loads with MDB_NOSYNC (a killed process loses nothing of
 * what it wrote) and reopens with its defaults.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkv.h"
#include "pkvbench.h"

struct rec_job {
	const struct store_ops *so;   /* to open with */
	const char *label;            /* store name in the results */
	uint64_t n;                   /* keys */
	int audit;                    /* pkv's audit mode, -1: default */
	bool gc;                      /* then time a collection */
	bool remove;                  /* then remove the files */
};

/* fmt_count -- 100000 as "100k", 2000000 as "2M". */
static const char *fmt_count(char *buf, size_t len, uint64_t n)
{
	if (n >= 1000000 && n % 1000000 == 0)
		snprintf(buf, len, "%" PRIu64 "M", n / 1000000);
	else if (n >= 1000 && n % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "k", n / 1000);
	else
		snprintf(buf, len, "%" PRIu64, n);
	return buf;
}

/* rec_load -- (in the child) create, load n keys, die without closing. */
static void rec_load(const struct rec_job *j)
{
	char key[KEY_LEN], *val = malloc(g_opt.vmax + 16);
	struct store *st;
	void *t;
	int err;

	if (!val)
		die("out of memory");
	memset(val, 'r', g_opt.vmax + 16);
	g_opt.pkv_audit = j->audit;
	err = j->so->open(&st, g_opt.dir, j->n,
			  (g_opt.vmin + g_opt.vmax) / 2.0, true);
	if (err)
		die("%s: cannot create the store (error %d)", j->so->name, err);
	t = j->so->thread_init ? j->so->thread_init(st) : NULL;
	for (uint64_t i = 0; i < j->n; i++) {
		size_t vl = value_size(i, 0);
		key_format(key, i);
		value_fill(val, vl, i, 0);
		if ((err = j->so->put(st, t, key, KEY_LEN, val, vl)))
			die("%s: loading key %" PRIu64 ": error %d",
			    j->so->name, i, err);
		if ((i & 16383) == 0)
			progress("  restart %-12s loading %3.0f%%", j->label,
				 100.0 * (double)i / (double)j->n);
	}
	progress_done();
	raise(SIGKILL);
}

/* rec_dirty -- (in the child) open and die: the pool is unclean again. */
static void rec_dirty(const struct rec_job *j)
{
	struct store *st;

	g_opt.pkv_audit = PKV_AUDIT_SKIP;
	if (j->so->open(&st, g_opt.dir, j->n, 0, false))
		_exit(1);
	raise(SIGKILL);
}

/* rec_killed -- run fn in a child that must end by SIGKILL. */
static bool rec_killed(void (*fn)(const struct rec_job *),
		       const struct rec_job *j)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		fn(j);
		_exit(2);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return true;
	fprintf(stderr, "pkvbench: restart %s: the loader failed\n", j->label);
	return false;
}

/* rec_measure -- (in the child) open what was left, serve one read. */
static void rec_measure(void *arg)
{
	const struct rec_job *j = arg;
	char key[KEY_LEN], buf[8192], cnt[24], b1[16], b2[16];
	uint64_t t0, t1, t2;
	struct store *st;
	struct result r;
	size_t vl;
	void *t;
	int err, rc;

	g_opt.pkv_audit = j->audit;
	key_format(key, j->n / 2);
	t0 = now_ns();
	err = j->so->open(&st, g_opt.dir, j->n, 0, false);
	if (err)
		die("%s: cannot reopen after SIGKILL (error %d)", j->label, err);
	t1 = now_ns();
	t = j->so->thread_init ? j->so->thread_init(st) : NULL;
	rc = j->so->get(st, t, key, KEY_LEN, buf, sizeof(buf), &vl);
	t2 = now_ns();
	if (rc < 0)
		die("%s: first read after restart: error %d", j->label, rc);

	fmt_count(cnt, sizeof(cnt), j->n);
	result_init(&r, "recovery", "", j->label);
	snprintf(r.test, sizeof(r.test), "restart %.12s keys", cnt);
	r.ref = !strcmp(j->label, "pkv");
	r.threads = 1;
	r.ops = 1;
	r.mean_ns = (double)(t2 - t0);
	r.misses = rc == STORE_NOTFOUND;
	snprintf(r.note, sizeof(r.note), "open %s + get %s%s; %s",
		 fmt_ns(b1, sizeof(b1), (double)(t1 - t0)),
		 fmt_ns(b2, sizeof(b2), (double)(t2 - t1)),
		 rc == STORE_NOTFOUND ? " KEY LOST" : "",
		 j->so->describe ? j->so->describe(st) : "");
	r.rss_mib = maxrss_mib();
	child_emit(&r);
	if (j->so->thread_fini)
		j->so->thread_fini(st, t);

	if (j->gc && j->so->gc) {
		result_init(&r, "recovery", "", j->label);
		snprintf(r.test, sizeof(r.test), "gc %.12s live keys", cnt);
		r.ref = 1;
		r.ops = 1;
		t0 = now_ns();
		err = j->so->gc(st, r.note, sizeof(r.note));
		r.mean_ns = (double)(now_ns() - t0);
		if (err)
			die("%s: pkv_gc: %s", j->label, pkv_strerror(err));
		r.rss_mib = maxrss_mib();
		child_emit(&r);
	}
	j->so->close(st, j->remove);
}

/* rec_store -- every key count for one store. */
static void rec_store(const struct store_ops *load, const struct store_ops *so,
		      bool both_audits)
{
	for (unsigned c = 0; c < g_opt.nrec_counts; c++) {
		struct rec_job j = {
			.so = load, .label = so->name, .n = g_opt.rec_counts[c],
			.audit = -1,
		};
		if (!rec_killed(rec_load, &j))
			continue;
		j.so = so;
		j.remove = !both_audits;
		if (!run_in_child(so->name, rec_measure, &j) || !both_audits)
			continue;
		/* pkv again, the collector run before the first request. */
		if (!rec_killed(rec_dirty, &j))
			continue;
		j.label = "pkv audit=now";
		j.audit = PKV_AUDIT_NOW;
		j.gc = true;
		j.remove = true;
		run_in_child("pkv audit=now", rec_measure, &j);
	}
}

void run_recovery(void)
{
	if (g_opt.stores & STORE_PKV)
		rec_store(&store_pkv_ops, &store_pkv_ops, true);
#ifdef PKVBENCH_PEERS
	if (g_opt.stores & STORE_PMEMOBJ)
		rec_store(&store_pmemobj_ops, &store_pmemobj_ops, false);
	if (g_opt.stores & (STORE_LMDB | STORE_LMDB_NOSYNC))
		rec_store(&store_lmdb_nosync_ops, &store_lmdb_ops, false);
#endif
}
