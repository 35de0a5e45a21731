/*
 * workload.c -- keys, values, key choosers, and the timed phases of the
 * embedded benchmark.
 *
 * Every store sees the same operations in the same order: keys are
 * "key:%010d", values are a pattern stamped with the key and a version
 * (their size fixed, or drawn from the range by a hash of key and
 * version), and every random choice comes from a generator seeded by
 * (seed, workload, thread).  With T threads, thread t owns the slice
 * [t*N/T, (t+1)*N/T) of the key space and only touches its own keys, so
 * threads never disagree about which keys exist.
 *
 * Each operation is timed alone with clock_gettime around the store call
 * only (key and value preparation are outside), less the measured cost of
 * one clock_gettime.  Throughput is operations over the wall time of the
 * whole phase, so it also pays for the benchmark's own loop.
 *
 * Each store runs in a child process (run_in_child): its peak RSS is its
 * own, and its results come back through a pipe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pkvbench.h"

const char *const wl_names[WL_COUNT] = {
	"load", "overwrite", "read-uniform", "read-zipf",
	"ycsb-a", "ycsb-b", "ycsb-c", "delete",
};

/* ---- time, process figures, messages ---- */

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* timer_overhead_ns -- median of back-to-back clock_gettime pairs. */
uint64_t timer_overhead_ns(void)
{
	static uint64_t ovh = UINT64_MAX;
	uint64_t d[2001];

	if (ovh != UINT64_MAX)
		return ovh;
	for (int i = 0; i < 2001; i++) {
		uint64_t a = now_ns();
		d[i] = now_ns() - a;
	}
	qsort(d, 2001, sizeof(d[0]), u64_cmp);
	ovh = d[1000];
	return ovh;
}

static int g_cmiss_fd = -1;

/* cmiss_open -- a cache-miss counter over this process and the threads
 * it creates later (inherit); -1 when there is no PMU. */
static void cmiss_open(void)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_HARDWARE;
	a.config = PERF_COUNT_HW_CACHE_MISSES;
	a.inherit = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	g_cmiss_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

bool cmiss_available(void)
{
	static int avail = -1;
	if (avail < 0) {
		cmiss_open();
		avail = g_cmiss_fd >= 0;
		if (g_cmiss_fd >= 0)
			close(g_cmiss_fd);
		g_cmiss_fd = -1;
	}
	return avail;
}

void proc_sample_take(struct proc_sample *s)
{
	struct rusage ru;
	uint64_t v;

	getrusage(RUSAGE_SELF, &ru);
	s->wall_ns = now_ns();
	s->sys_us = (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
	s->minflt = (uint64_t)ru.ru_minflt;
	s->cmiss = UINT64_MAX;
	if (g_cmiss_fd >= 0 && read(g_cmiss_fd, &v, sizeof(v)) == sizeof(v))
		s->cmiss = v;
}

void proc_sample_fill(const struct proc_sample *a, const struct proc_sample *b,
		      uint64_t ops, struct result *r)
{
	double n = ops ? (double)ops : NAN;

	r->secs = (double)(b->wall_ns - a->wall_ns) / 1e9;
	r->ops = (double)ops;
	r->ops_s = r->secs > 0 ? (double)ops / r->secs : NAN;
	r->sys_us_op = (b->sys_us - a->sys_us) / n;
	r->faults_op = (double)(b->minflt - a->minflt) / n;
	if (a->cmiss != UINT64_MAX && b->cmiss != UINT64_MAX)
		r->cmiss_op = (double)(b->cmiss - a->cmiss) / n;
	r->rss_mib = maxrss_mib();
}

double maxrss_mib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

void progress(const char *fmt, ...)
{
	va_list ap;

	if (!g_opt.progress)
		return;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void progress_done(void)
{
	if (g_opt.progress) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

void die(const char *fmt, ...)
{
	va_list ap;

	progress_done();
	fputs("pkvbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- child processes ---- */

static int g_child_fd = -1;

void child_emit(const struct result *r)
{
	const char *p = (const char *)r;
	size_t left = sizeof(*r);

	if (g_child_fd < 0) {
		results_add(r);
		return;
	}
	while (left) {
		ssize_t w = write(g_child_fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		p += w;
		left -= (size_t)w;
	}
}

bool run_in_child(const char *what, void (*fn)(void *), void *arg)
{
	struct result r;
	int fds[2], status;
	size_t got = 0;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if (pipe(fds))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		g_child_fd = fds[1];
		cmiss_open();
		fn(arg);
		fflush(stdout);
		fflush(stderr);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], (char *)&r + got, sizeof(r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(r)) {
			results_add(&r);
			got = 0;
		}
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	progress_done();
	if (WIFSIGNALED(status))
		fprintf(stderr, "pkvbench: %s: killed by signal %d (%s)\n",
			what, WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		fprintf(stderr, "pkvbench: %s: failed (exit %d)\n", what,
			WEXITSTATUS(status));
	return false;
}

/* ---- keys, values, random numbers ---- */

uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

void key_format(char *buf, uint64_t i)
{
	memcpy(buf, "key:", 4);
	for (int d = 13; d >= 4; d--) {
		buf[d] = (char)('0' + i % 10);
		i /= 10;
	}
}

size_t value_size(uint64_t i, uint64_t ver)
{
	if (g_opt.vmin == g_opt.vmax)
		return g_opt.vmin;
	return g_opt.vmin + mix64(i * 0x9e3779b97f4a7c15ull ^ ver ^ g_opt.seed) %
		(g_opt.vmax - g_opt.vmin + 1);
}

/* value_fill -- the pattern is laid down once per buffer by the caller;
 * the key and version stamp makes each version's bytes its own. */
void value_fill(char *buf, size_t len, uint64_t i, uint64_t ver)
{
	uint64_t w[2] = { i, ver };
	memcpy(buf, w, len < sizeof(w) ? len : sizeof(w));
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++) {
		seed += 0x9e3779b97f4a7c15ull;
		r->s[i] = mix64(seed);
	}
}

/* rng_next -- xoshiro256**. */
uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, res = s[1] * 5, t = s[1] << 17;
	res = ((res << 7) | (res >> 57)) * 9;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return res;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* zipf_init -- YCSB's ZipfianGenerator constants for n items. */
void zipf_init(struct zipf *z, uint64_t n)
{
	double zeta2;

	z->n = n;
	z->theta = 0.99;
	z->zetan = 0;
	for (uint64_t i = 1; i <= n; i++)
		z->zetan += 1.0 / pow((double)i, z->theta);
	zeta2 = 1.0 + pow(0.5, z->theta);
	z->alpha = 1.0 / (1.0 - z->theta);
	z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - z->theta)) /
		 (1.0 - zeta2 / z->zetan);
	z->half_pow = pow(0.5, z->theta);
}

/* zipf_next -- a rank drawn zipfian, scrambled over [0, n) by a hash so
 * the hot keys are spread over the key space (YCSB's scrambled zipfian). */
uint64_t zipf_next(struct zipf *z, struct rng *r)
{
	double u = (double)(rng_next(r) >> 11) * 0x1.0p-53, uz = u * z->zetan;
	uint64_t rank;

	if (z->n < 2)
		return 0;
	if (uz < 1.0)
		rank = 0;
	else if (uz < 1.0 + z->half_pow)
		rank = 1;
	else
		rank = (uint64_t)((double)z->n *
				  pow(z->eta * u - z->eta + 1.0, z->alpha));
	if (rank >= z->n)
		rank = z->n - 1;
	return mix64(rank ^ 0x5bd1e995u) % z->n;
}

/* ---- the phases ---- */

struct phase {
	const struct store_ops *so;
	struct store *st;
	enum wl wl;
	uint64_t ops;                 /* over all threads (0: slice sizes) */
	uint64_t deadline;            /* now_ns() bound, or 0 */
	pthread_barrier_t ready, go;
	atomic_uint_fast64_t done;    /* for progress */
	atomic_int running;
};

struct worker {
	struct phase *ph;
	unsigned id;
	uint64_t lo, n;               /* slice of the key space */
	uint64_t quota;               /* operations to do */
	struct hist h;
	uint64_t misses;
	uint64_t ops;
	int err;
};

uint32_t *permutation(uint64_t n, struct rng *r)
{
	uint32_t *p = malloc((n ? n : 1) * sizeof(*p));
	if (!p)
		die("out of memory for a permutation of %" PRIu64, n);
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = rng_below(r, i);
		uint32_t t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

/* read_pct -- reads per hundred operations of a workload. */
static unsigned read_pct(enum wl wl)
{
	switch (wl) {
	case WL_READ_UNIFORM: case WL_READ_ZIPF: case WL_YCSB_C:
		return 100;
	case WL_YCSB_B:
		return 95;
	case WL_YCSB_A:
		return 50;
	default:
		return 0;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct phase *ph = w->ph;
	const struct store_ops *so = ph->so;
	uint64_t ovh = timer_overhead_ns();
	size_t vmax = g_opt.vmax;
	char key[KEY_LEN], *vbuf, *gbuf;
	uint32_t *perm = NULL;
	struct zipf z;
	struct rng r;
	void *t;

	rng_seed(&r, g_opt.seed ^ mix64((uint64_t)ph->wl << 32 | w->id));
	vbuf = malloc(vmax + 16);
	gbuf = malloc(vmax + 16);
	if (!vbuf || !gbuf)
		die("out of memory");
	for (size_t i = 0; i < vmax + 16; i++)
		vbuf[i] = (char)('a' + mix64(i) % 26);
	if (ph->wl == WL_LOAD || ph->wl == WL_DELETE)
		perm = permutation(w->n, &r);
	if (ph->wl == WL_READ_ZIPF || ph->wl >= WL_YCSB_A)
		zipf_init(&z, w->n);
	t = so->thread_init ? so->thread_init(ph->st) : NULL;
	hist_reset(&w->h);

	pthread_barrier_wait(&ph->ready);
	pthread_barrier_wait(&ph->go);

	for (uint64_t i = 0; i < w->quota; i++) {
		uint64_t k, t0, t1, ver = ((uint64_t)ph->wl << 40) | i;
		bool write;
		size_t vl = 0;
		int rc;

		switch (ph->wl) {
		case WL_LOAD: case WL_DELETE:
			k = perm[i];
			break;
		case WL_OVERWRITE: case WL_READ_UNIFORM:
			k = rng_below(&r, w->n);
			break;
		default:
			k = zipf_next(&z, &r);
			break;
		}
		k += w->lo;
		key_format(key, k);
		write = ph->wl == WL_LOAD || ph->wl == WL_OVERWRITE ||
			(ph->wl != WL_DELETE &&
			 rng_below(&r, 100) >= read_pct(ph->wl));
		if (ph->wl == WL_LOAD)
			ver = 0;
		if (write) {
			vl = value_size(k, ver);
			value_fill(vbuf, vl, k, ver);
		}

		t0 = now_ns();
		if (ph->wl == WL_DELETE)
			rc = so->del(ph->st, t, key, KEY_LEN);
		else if (write)
			rc = so->put(ph->st, t, key, KEY_LEN, vbuf, vl);
		else
			rc = so->get(ph->st, t, key, KEY_LEN, gbuf, vmax + 16,
				     &vl);
		t1 = now_ns();

		if (rc == STORE_NOTFOUND)
			w->misses++;
		else if (rc) {
			w->err = rc;
			break;
		}
		hist_add(&w->h, t1 - t0 > ovh ? t1 - t0 - ovh : 0);
		w->ops++;
		if ((i & 1023) == 1023) {
			atomic_fetch_add_explicit(&ph->done, 1024,
						  memory_order_relaxed);
			if (ph->deadline && t1 >= ph->deadline)
				break;
		}
	}
	if (so->thread_fini)
		so->thread_fini(ph->st, t);
	free(perm);
	free(vbuf);
	free(gbuf);
	return NULL;
}

void run_phase(const struct store_ops *so, struct store *st, enum wl wl,
	       struct result *r)
{
	unsigned nt = g_opt.threads;
	struct worker *w = calloc(nt, sizeof(*w));
	pthread_t *tid = calloc(nt, sizeof(*tid));
	struct phase ph = { .so = so, .st = st, .wl = wl };
	struct store_stats s0, s1;
	struct proc_sample a, b;
	struct hist h;
	uint64_t total = 0, misses = 0, want;
	bool timed = wl != WL_LOAD && wl != WL_DELETE;
	int err = 0;

	if (!w || !tid)
		die("out of memory");
	want = timed ? (g_opt.ops ? g_opt.ops : g_opt.keys) : g_opt.keys;
	pthread_barrier_init(&ph.ready, NULL, nt + 1);
	pthread_barrier_init(&ph.go, NULL, nt + 1);
	for (unsigned i = 0; i < nt; i++) {
		w[i].ph = &ph;
		w[i].id = i;
		w[i].lo = g_opt.keys * i / nt;
		w[i].n = g_opt.keys * (i + 1) / nt - w[i].lo;
		w[i].quota = timed ? want / nt + (i < want % nt) : w[i].n;
		if (timed && g_opt.duration > 0 && !g_opt.ops)
			w[i].quota = UINT64_MAX;   /* the clock ends it */
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]))
			die("pthread_create failed");
	}
	pthread_barrier_wait(&ph.ready);
	so->stats(st, &s0);
	proc_sample_take(&a);
	if (timed && g_opt.duration > 0)
		ph.deadline = a.wall_ns + (uint64_t)(g_opt.duration * 1e9);
	pthread_barrier_wait(&ph.go);

	/* Progress while the workers run; joined in order. */
	for (unsigned i = 0; i < nt; i++) {
		if (g_opt.progress) {
			struct timespec ts;
			for (;;) {
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 250000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				if (!pthread_timedjoin_np(tid[i], NULL, &ts))
					break;
				uint64_t d = atomic_load(&ph.done);
				double el = (double)(now_ns() - a.wall_ns) / 1e9;
				double frac = want == UINT64_MAX || !want ? 0 :
					(double)d / (double)(timed ? want : g_opt.keys);
				if (ph.deadline)
					frac = el / g_opt.duration;
				progress("  %-12s %-14s %3.0f%%  %.0f ops/s",
					 so->name, wl_names[wl],
					 frac > 1 ? 100 : frac * 100,
					 el > 0 ? (double)d / el : 0);
			}
		} else {
			pthread_join(tid[i], NULL);
		}
	}
	proc_sample_take(&b);
	so->stats(st, &s1);
	progress_done();

	hist_reset(&h);
	for (unsigned i = 0; i < nt; i++) {
		hist_merge(&h, &w[i].h);
		total += w[i].ops;
		misses += w[i].misses;
		if (w[i].err)
			err = w[i].err;
	}
	if (err)
		die("%s: %s: error %d", so->name, wl_names[wl], err);

	result_init(r, "embedded", wl_names[wl], so->name);
	r->ref = so->bit == STORE_PKV;
	r->threads = nt;
	if (so->note)
		snprintf(r->note, sizeof(r->note), "%s", so->note);
	hist_fill(&h, r);
	proc_sample_fill(&a, &b, total, r);
	r->misses = (double)misses;
	if (!isnan(s1.payload) && s1.payload > s0.payload)
		r->wa = (s1.flushed - s0.flushed) / (s1.payload - s0.payload);
	if (!isnan(s1.fences))
		r->fences_op = (s1.fences - s0.fences) / (double)total;
	if (!isnan(s1.flushed))
		r->flushed_op = (s1.flushed - s0.flushed) / (double)total;
	r->util = s1.util;
	if (wl != WL_DELETE && !isnan(s1.used_bytes))
		r->footprint = s1.used_bytes / ((double)g_opt.keys *
			(KEY_LEN + (g_opt.vmin + g_opt.vmax) / 2.0));
	pthread_barrier_destroy(&ph.ready);
	pthread_barrier_destroy(&ph.go);
	free(w);
	free(tid);
}

/* embedded_child -- every selected workload on one store, in order. */
static void embedded_child(void *arg)
{
	const struct store_ops *so = arg;
	struct store *st;
	struct result r;
	int err;

	err = so->open(&st, g_opt.dir, g_opt.keys,
		       (g_opt.vmin + g_opt.vmax) / 2.0, true);
	if (err)
		die("%s: cannot create the store in %s (error %d)", so->name,
		    g_opt.dir, err);
	for (int wl = 0; wl < WL_COUNT; wl++) {
		/* The load always runs: the other workloads need the keys. */
		if (wl != WL_LOAD && !(g_opt.workloads & (1u << wl)))
			continue;
		/* What checking checksums costs: the reads only. */
		if (so->bit == STORE_PKV_VERIFY && wl != WL_LOAD &&
		    wl != WL_READ_UNIFORM && wl != WL_READ_ZIPF)
			continue;
		run_phase(so, st, (enum wl)wl, &r);
		if (g_opt.workloads & (1u << wl))
			child_emit(&r);
		if (g_opt.progress) {
			char b1[16], b2[16];
			fprintf(stderr, "  %-12s %-14s %10.0f ops/s  mean %s  "
				"p99 %s\n", so->name, wl_names[wl], r.ops_s,
				fmt_ns(b1, sizeof(b1), r.mean_ns),
				fmt_ns(b2, sizeof(b2), r.p99_ns));
		}
	}
	so->close(st, true);
}

void run_embedded(void)
{
	size_t n;
	const struct store_ops *const *all = stores_all(&n);

	for (size_t i = 0; i < n; i++) {
		if (!(g_opt.stores & all[i]->bit))
			continue;
		run_in_child(all[i]->name, embedded_child, (void *)all[i]);
	}
}
