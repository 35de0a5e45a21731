/*
 * disk.c -- on an ordinary disk: pkv's file backend against RocksDB
 * (write-ahead log, sync=true) and LMDB (its default durable commits),
 * embedded, every store in the same directory (--disk-dir).  The server
 * half of the disk comparison is run_server_disk (server.c).
 *
 * Each store runs in a child process of its own, on a fresh store:
 *   durable put       one thread, one put per call
 *   durable put 4thr  four threads, one put per call each: what a store
 *                     makes of concurrent commits (RocksDB and pkv's
 *                     lanes each sync; RocksDB groups its writers)
 *   batch of 100      one thread, 100 puts per durable call
 * Keys are fresh ("key:%010d" in a shuffled order, never the same key
 * twice in a run), values the embedded section's (100 bytes by default).
 * Latency is per call; the batch row's ops/s counts calls, its note the
 * keys per second.  Every call is durable on return in all three stores.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkvbench.h"

#define DISK_BATCH 100
#define DISK_THREADS 4

/* One test of one store. */
struct disk_phase {
	const struct store_ops *so;
	struct store *st;
	const uint32_t *order;        /* key numbers, shuffled */
	uint64_t first;               /* this phase's first index in order */
	uint64_t calls;               /* per thread */
	unsigned batch;               /* keys per call */
	pthread_barrier_t go;
};

/* One thread of a phase. */
struct disk_worker {
	struct disk_phase *ph;
	unsigned id;
	struct hist h;
	int err;
};

/* disk_worker_run -- this thread's calls, each timed. */
static void *disk_worker_run(void *arg)
{
	struct disk_worker *w = arg;
	struct disk_phase *ph = w->ph;
	void *t = ph->so->thread_init ? ph->so->thread_init(ph->st) : NULL;
	uint64_t base = ph->first + (uint64_t)w->id * ph->calls * ph->batch;
	uint64_t over = timer_overhead_ns();
	char *keys = malloc((size_t)ph->batch * KEY_LEN);
	char *vals = malloc((size_t)ph->batch * g_opt.vmax);
	struct kv_pair *kv = calloc(ph->batch, sizeof(*kv));

	if (!keys || !vals || !kv)
		die("out of memory");
	hist_reset(&w->h);
	pthread_barrier_wait(&ph->go);
	for (uint64_t c = 0; c < ph->calls && !w->err; c++) {
		uint64_t t0, t1;
		for (unsigned j = 0; j < ph->batch; j++) {
			uint64_t i = ph->order[base + c * ph->batch + j];
			kv[j].k = keys + (size_t)j * KEY_LEN;
			kv[j].v = vals + (size_t)j * g_opt.vmax;
			kv[j].kl = KEY_LEN;
			kv[j].vl = value_size(i, 0);
			key_format(keys + (size_t)j * KEY_LEN, i);
			value_fill(vals + (size_t)j * g_opt.vmax, kv[j].vl, i,
				   0);
		}
		t0 = now_ns();
		w->err = ph->batch == 1 ?
			 ph->so->put(ph->st, t, kv[0].k, kv[0].kl, kv[0].v,
				     kv[0].vl) :
			 ph->so->put_batch(ph->st, t, ph->batch, kv);
		t1 = now_ns();
		hist_add(&w->h, t1 - t0 > over ? t1 - t0 - over : 0);
	}
	if (ph->so->thread_fini)
		ph->so->thread_fini(ph->st, t);
	free(keys);
	free(vals);
	free(kv);
	return NULL;
}

/* disk_run -- one test: nthreads x calls calls of `batch` keys. */
static void disk_run(const struct store_ops *so, struct store *st,
		     const uint32_t *order, uint64_t *next, const char *test,
		     unsigned nthreads, uint64_t calls, unsigned batch)
{
	struct disk_phase ph = {
		.so = so, .st = st, .order = order, .first = *next,
		.calls = calls / nthreads, .batch = batch,
	};
	struct disk_worker w[DISK_THREADS];
	pthread_t tid[DISK_THREADS];
	struct proc_sample a, b;
	struct result r;
	struct hist h;
	uint64_t total;

	progress("  disk %-8s %s ...", so->name, test);
	pthread_barrier_init(&ph.go, NULL, nthreads + 1);
	for (unsigned i = 0; i < nthreads; i++) {
		w[i] = (struct disk_worker){ .ph = &ph, .id = i };
		if (pthread_create(&tid[i], NULL, disk_worker_run, &w[i]))
			die("pthread_create failed");
	}
	proc_sample_take(&a);
	pthread_barrier_wait(&ph.go);
	hist_reset(&h);
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		if (w[i].err)
			die("%s: %s: error %d", so->name, test, w[i].err);
		hist_merge(&h, &w[i].h);
	}
	proc_sample_take(&b);
	pthread_barrier_destroy(&ph.go);
	progress_done();
	total = ph.calls * nthreads;
	*next += total * batch;

	result_init(&r, "disk", test, so->name);
	r.ref = so->bit == STORE_PKV;
	r.threads = nthreads;
	hist_fill(&h, &r);
	proc_sample_fill(&a, &b, total, &r);
	if (batch > 1)
		snprintf(r.note, sizeof(r.note), "%.0f keys/s; %s",
			 r.ops_s * batch, so->note ? so->note : "durable");
	else if (so->note)
		snprintf(r.note, sizeof(r.note), "%s", so->note);
	child_emit(&r);
	if (g_opt.progress) {
		char b1[16], b2[16];
		fprintf(stderr, "  disk %-8s %-16s %9.0f calls/s  mean %s  "
			"p99 %s\n", so->name, test, r.ops_s,
			fmt_ns(b1, sizeof(b1), r.mean_ns),
			fmt_ns(b2, sizeof(b2), r.p99_ns));
	}
}

/* disk_child -- the three tests on one fresh store. */
static void disk_child(void *arg)
{
	const struct store_ops *so = arg;
	uint64_t ops = g_opt.disk_ops, batches = ops / 10;
	uint64_t keys = 2 * ops + batches * DISK_BATCH, next = 0;
	struct store *st;
	struct rng rng;
	uint32_t *order;
	int err;

	/* pkv: the backend a pool on a disk gets, whatever the
	 * environment says about persistent memory. */
	g_opt.pkv_file_backend = 1;
	rng_seed(&rng, g_opt.seed);
	order = permutation(keys, &rng);
	err = so->open(&st, g_opt.disk_dir, keys,
		       (g_opt.vmin + g_opt.vmax) / 2.0, true);
	if (err)
		die("%s: cannot create the store in %s (error %d)", so->name,
		    g_opt.disk_dir, err);
	disk_run(so, st, order, &next, "durable put", 1, ops, 1);
	disk_run(so, st, order, &next, "durable put 4thr", DISK_THREADS, ops,
		 1);
	if (so->put_batch)
		disk_run(so, st, order, &next, "batch of 100", 1, batches,
			 DISK_BATCH);
	so->close(st, true);
	free(order);
}

void run_disk(void)
{
	size_t n;
	const struct store_ops *const *all = stores_all(&n);

	for (size_t i = 0; i < n; i++) {
		/* The durable stores that live on a disk. */
		if (!(all[i]->bit & (STORE_PKV | STORE_ROCKSDB | STORE_LMDB)) ||
		    !(g_opt.stores & all[i]->bit))
			continue;
		run_in_child(all[i]->name, disk_child, (void *)all[i]);
	}
}
