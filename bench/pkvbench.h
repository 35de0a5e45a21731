/*
 * pkvbench.h -- what the files of pkvbench share.
 *
 * Map of the program:
 *   pkvbench.c   options, the machine, the order of the sections
 *   hist.c       log-bucket latency histogram (percentiles)
 *   workload.c   keys, values, key choosers, worker threads, phases
 *   store_pkv.c, store_lmdb.c, store_pmemobj.c
 *                the stores under test behind one table of calls
 *   heapbench.c  allocator and commit costs: pkv's heap vs libpmemobj
 *   recovery.c   restart after SIGKILL, collection time
 *   fill.c       pool fill (utilization), load at 1 KiB values
 *   attrib.c     where pkv's flushed bytes go (an observer on flushes)
 *   store_rocksdb.c  RocksDB, the disk peer (when configure found it)
 *   disk.c       on a disk: pkv's file backend vs RocksDB and LMDB
 *   server.c     pkv-server vs redis-server through redis-benchmark (on
 *                pmem, and on a disk against Redis's append-only file)
 *   report.c     the tables, CSV, JSON, the plot
 *   targets.c    the targets of TARGETS.md, and where the time goes
 *
 * Every measurement becomes one struct result.  Each store runs in a
 * child process of its own (fork), so its peak memory (getrusage maxrss)
 * is its own and a crash of one store does not end the run; the child
 * sends its results back through a pipe.  A figure that does not apply
 * or could not be measured is NAN and shows as n/a.
 */
#ifndef PKVBENCH_H
#define PKVBENCH_H

#include <math.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- options ---- */

#define SEC_EMBEDDED 0x01u
#define SEC_HEAP     0x02u
#define SEC_RECOVERY 0x04u
#define SEC_FILL     0x08u
#define SEC_SERVER   0x10u
#define SEC_FLUSHES  0x20u
#define SEC_DISK     0x40u
#define SEC_TYPES    0x80u
#define SEC_ALL      0xffu

#define MAX_COUNTS 8

struct bench_opts {
	uint64_t keys;                /* key space of the embedded runs */
	uint64_t ops;                 /* per timed phase (0: = keys) */
	double duration;              /* seconds per timed phase (0: none) */
	unsigned vmin, vmax;          /* value size, bytes (a range if !=) */
	unsigned threads;
	uint64_t seed;
	const char *dir;              /* pools and LMDB environments */
	unsigned sections;            /* SEC_* */
	unsigned workloads;           /* WL_* bits */
	unsigned stores;              /* STORE_* bits */
	uint64_t heap_ops;            /* per heap-level measure */
	uint64_t rec_counts[MAX_COUNTS];   /* restart key counts */
	unsigned nrec_counts;
	uint64_t fill_mib;            /* pool of the fill test */
	uint64_t hash_fields;         /* the types section's big hash */
	/* set by a section inside its own child process only */
	uint64_t pool_mib;            /* stores: pool of exactly this size */
	int pkv_audit;                /* pkv_open's audit mode, -1: default */
	int pkv_file_backend;         /* pkv_open with PKV_BACKEND_FILE */
	/* disk mode */
	const char *disk_dir;         /* stores, pools and AOF on a disk */
	uint64_t disk_ops;            /* durable single puts per test */
	/* server mode */
	const char *server_bin;
	const char *aof_dir;          /* NULL: a scratch directory in TMPDIR */
	uint64_t srv_requests;        /* per redis-benchmark test */
	unsigned srv_clients;
	uint64_t srv_rec_counts[MAX_COUNTS];
	unsigned nsrv_rec_counts;
	/* output */
	bool quick;
	bool progress;                /* stderr is a tty */
	const char *csv, *json, *plot;   /* file names, "-" = stdout */
	char command[1024];           /* the command line, to reproduce */
};

extern struct bench_opts g_opt;
extern long g_runid;                  /* the main process id: names files */

/* ---- results ---- */

struct result {
	char section[16];             /* embedded, heap, recovery, fill, server */
	char test[40];                /* workload or measure */
	char store[24];               /* backend */
	char note[160];               /* anything the figures need said */
	int ref;                      /* pkv's figure of its group */
	double threads;
	double ops;                   /* operations timed */
	double secs;                  /* wall time of the phase */
	double ops_s;                 /* throughput (ops / wall time) */
	double mean_ns, p50_ns, p99_ns, p999_ns, max_ns;
	double wa;                    /* bytes flushed / payload written */
	double fences_op;             /* persistence fences per operation */
	double flushed_op;            /* bytes flushed per operation */
	double util;                  /* allocated / heap */
	double footprint;             /* store bytes used / live payload */
	double rss_mib;               /* peak resident memory */
	double sys_us_op;             /* kernel CPU time per operation */
	double cpu_us_op;             /* a server's CPU time per request */
	double faults_op;             /* minor page faults per operation */
	double cmiss_op;              /* cache misses per op (needs a PMU) */
	double misses;                /* keys not found that should be */
	double bytes_key;             /* memory the store took per key */
};

/* result_init -- every figure n/a, the names set. */
void result_init(struct result *r, const char *section, const char *test,
		 const char *store);

/* results_add -- keep a copy of r for the report. */
void results_add(const struct result *r);

/* results_all -- every result kept so far, in order. */
const struct result *results_all(size_t *n);

/* ---- histogram (hist.c) ---- */

#define HIST_SUB_BITS 4
#define HIST_BUCKETS (64 << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t sum;                 /* ns */
	uint64_t max;
	uint64_t b[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
/* hist_add -- record one latency in ns (relative error <= 1/16). */
void hist_add(struct hist *h, uint64_t ns);
void hist_merge(struct hist *into, const struct hist *from);
/* hist_pct -- the latency below which fraction q (0..1) of samples are. */
double hist_pct(const struct hist *h, double q);
double hist_mean(const struct hist *h);
/* hist_fill -- mean, percentiles and max into r. */
void hist_fill(const struct hist *h, struct result *r);

/* ---- time and process figures (workload.c) ---- */

uint64_t now_ns(void);
/* timer_overhead_ns -- the cost of one clock_gettime, subtracted from
 * every latency sample; measured once. */
uint64_t timer_overhead_ns(void);

struct proc_sample {
	uint64_t wall_ns;
	double sys_us;                /* kernel CPU time, all threads */
	uint64_t minflt;
	uint64_t cmiss;               /* UINT64_MAX: no counter */
};
void proc_sample_take(struct proc_sample *s);
/* proc_sample_fill -- per-operation figures between a and b into r. */
void proc_sample_fill(const struct proc_sample *a, const struct proc_sample *b,
		      uint64_t ops, struct result *r);
/* cmiss_available -- whether a hardware cache-miss counter works. */
bool cmiss_available(void);
double maxrss_mib(void);

/* progress -- a status line on stderr (a tty only), overwritten. */
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_done(void);

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- keys and values (workload.c) ---- */

#define KEY_LEN 14                    /* "key:%010d" */
/* key_format -- write key i as "key:%010d" (no NUL); KEY_LEN bytes. */
void key_format(char *buf, uint64_t i);
/* value_size -- the size of version `ver` of key i's value. */
size_t value_size(uint64_t i, uint64_t ver);
/* value_fill -- bytes of version ver of key i's value into buf. */
void value_fill(char *buf, size_t len, uint64_t i, uint64_t ver);
uint64_t mix64(uint64_t x);

struct rng {
	uint64_t s[4];
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* rng_below -- uniform in [0, n). */
uint64_t rng_below(struct rng *r, uint64_t n);

/* permutation -- 0..n-1 shuffled by r (Fisher-Yates); malloc'ed. */
uint32_t *permutation(uint64_t n, struct rng *r);

/* A YCSB scrambled zipfian chooser over [0, n), theta 0.99. */
struct zipf {
	uint64_t n;
	double theta, alpha, zetan, eta, half_pow;
};
void zipf_init(struct zipf *z, uint64_t n);
uint64_t zipf_next(struct zipf *z, struct rng *r);

/* ---- stores under test ---- */

#define STORE_PKV         0x1u
#define STORE_LMDB        0x2u
#define STORE_LMDB_NOSYNC 0x4u
#define STORE_PMEMOBJ     0x8u
#define STORE_ROCKSDB     0x10u
#define STORE_PKV_VERIFY  0x20u       /* pkv with PKV_VERIFY: reads only */

#define STORE_NOTFOUND 1              /* get and del: no such key */

struct store;                         /* one open store */

/* One key and value of a batch. */
struct kv_pair {
	const void *k, *v;
	size_t kl, vl;
};

struct store_stats {
	double payload;               /* key + value bytes written */
	double flushed;               /* bytes flushed (cache lines x 64) */
	double fences;
	double util;                  /* allocated / heap */
	double used_bytes;            /* bytes the store occupies */
};

struct store_ops {
	const char *name;
	unsigned bit;                 /* STORE_* */
	const char *note;             /* e.g. "NOT durable" */
	/* open -- create a fresh store in dir sized for `keys` keys of
	 * average value size vavg (create), or open the one left there. */
	int (*open)(struct store **sp, const char *dir, uint64_t keys,
		    double vavg, bool create);
	/* thread_init/thread_fini -- per-thread state (may be NULL). */
	void *(*thread_init)(struct store *s);
	void (*thread_fini)(struct store *s, void *t);
	int (*put)(struct store *s, void *t, const void *k, size_t kl,
		   const void *v, size_t vl);
	/* get -- copy the value to buf; 0, STORE_NOTFOUND or an error. */
	int (*get)(struct store *s, void *t, const void *k, size_t kl,
		   void *buf, size_t bufsize, size_t *vl);
	int (*del)(struct store *s, void *t, const void *k, size_t kl);
	/* put_batch -- n puts, durable together on return, as one
	 * transaction of the store (NULL: the store has no batches). */
	int (*put_batch)(struct store *s, void *t, size_t n,
			 const struct kv_pair *kv);
	/* stats -- counters so far (NAN where the store has none). */
	void (*stats)(struct store *s, struct store_stats *st);
	/* close -- close; remove the files too when `remove`. */
	void (*close)(struct store *s, bool remove);
	/* describe -- what was opened (sizes, recovery time). */
	const char *(*describe)(struct store *s);
	/* gc -- a whole collection now, what it did into note (NULL: the
	 * store has no collector). */
	int (*gc)(struct store *s, char *note, size_t len);
};

extern const struct store_ops store_pkv_ops;
extern const struct store_ops store_pkv_verify_ops;
#ifdef PKVBENCH_PEERS
extern const struct store_ops store_lmdb_ops;
extern const struct store_ops store_lmdb_nosync_ops;
extern const struct store_ops store_pmemobj_ops;
#endif
#ifdef PKVBENCH_ROCKSDB
extern const struct store_ops store_rocksdb_ops;
#endif

/* stores_all -- every store compiled in, pkv first; count in *n. */
const struct store_ops *const *stores_all(size_t *n);
/* store_path -- dir/pkvbench-RUNID-NAME.EXT into buf. */
void store_path(char *buf, size_t len, const char *dir, const char *name,
		const char *ext);

/* ---- workloads (workload.c) ---- */

enum wl {
	WL_LOAD, WL_OVERWRITE, WL_READ_UNIFORM, WL_READ_ZIPF,
	WL_YCSB_A, WL_YCSB_B, WL_YCSB_C, WL_DELETE, WL_COUNT
};
extern const char *const wl_names[WL_COUNT];
#define WL_ALL ((1u << WL_COUNT) - 1)

/* run_phase -- one workload on an open store, all threads; fills r. */
void run_phase(const struct store_ops *so, struct store *st, enum wl wl,
	       struct result *r);

/* run_embedded -- every selected workload on every selected store. */
void run_embedded(void);

/* run_in_child -- fork; fn runs in the child and its results reach the
 * parent's list.  Returns false (and says so) if the child failed. */
bool run_in_child(const char *what, void (*fn)(void *), void *arg);
/* child_emit -- from inside a child: send r to the parent. */
void child_emit(const struct result *r);

/* ---- the other sections ---- */

void run_heap(void);              /* heapbench.c */
void run_recovery(void);          /* recovery.c */
void run_fill(void);              /* recovery.c */
void run_server(void);            /* server.c */
void run_server_disk(void);       /* server.c */
void run_disk(void);              /* disk.c */
void run_attrib(void);            /* attrib.c */
void run_types(void);             /* hashbench.c */

/* ---- report.c ---- */

void report_header(FILE *f);          /* pkvbench.c: machine, build */
void report_machine_json(FILE *f);    /* pkvbench.c */
void report_table(FILE *f);
/* find -- the result of (section, test, store), or NULL. */
const struct result *find(const char *section, const char *test,
			  const char *store);
/* find_ref -- pkv's row of r's group, or NULL. */
const struct result *find_ref(const struct result *r);

/* ---- targets.c ---- */

void report_targets(FILE *f);
void targets_json(FILE *f);
int report_csv(const char *path);
int report_json(const char *path);
int report_plot(const char *path);

/* json_str -- s as a JSON string literal. */
void json_str(FILE *f, const char *s);

/* fmt_ns -- a duration in a short human unit ("850ns", "2.53us"). */
const char *fmt_ns(char *buf, size_t len, double ns);

#endif /* PKVBENCH_H */
