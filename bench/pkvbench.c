/*
 * pkvbench.c -- the benchmark users run to decide whether pkv is worth
 * it, and the project's gauge against TARGETS.md: pkv beside LMDB and a
 * libpmemobj hash table on the same keys, values and order, the heap
 * beside libpmemobj's allocator, restarts after SIGKILL, pool fill, and
 * pkv-server beside redis-server.  See pkvbench(1).
 *
 * This file: options, the machine and build, the order of the sections,
 * and the files a run leaves behind if it is interrupted.  Persistent
 * memory is emulated on /dev/shm by default: unless PMEM_IS_PMEM_FORCE is
 * set, the program sets it to 1 and executes itself again, so every
 * library (libpmem reads it once) sees it from the start.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "pkv.h"
#include "pkvbench.h"

#ifdef PKVBENCH_PEERS
#include <libpmemobj.h>
#include <lmdb.h>
#endif

#ifndef PKVBENCH_CFLAGS
#define PKVBENCH_CFLAGS "unknown"
#endif

struct bench_opts g_opt;
long g_runid;

static void usage(FILE *f)
{
	fprintf(f,
"usage: pkvbench [options]\n"
"  --quick              small sizes: about a minute for everything\n"
"  --keys N             key space of the embedded runs (1000000)\n"
"  --ops N              operations per timed workload (= keys)\n"
"  --duration S         seconds per timed workload instead of --ops\n"
"  --value-size N|A-B   value bytes, fixed or a range (100)\n"
"  --threads N          worker threads, each on its slice of keys (1)\n"
"  --seed N             seed of every random choice (1)\n"
"  --dir DIR            pools and environments (/dev/shm)\n"
"  --stores LIST        pkv,pkv-verify,pmemobj,lmdb,lmdb-nosync,rocksdb\n"
"                       (all built; pkv-verify: reads only)\n"
"  --workloads LIST     load,overwrite,read-uniform,read-zipf,\n"
"                       ycsb-a,ycsb-b,ycsb-c,delete (all)\n"
"  --sections LIST      embedded,heap,recovery,fill,flushes,types,server,\n"
"                       disk\n"
"                       (all)\n"
"  --disk-dir DIR       the disk section's stores, pool and AOF (/var/tmp)\n"
"  --disk-ops N         durable puts per disk test (5000)\n"
"  --server             the server section only\n"
"  --no-server          every section but the server's\n"
"  --heap-ops N         operations per heap-level measure (200000)\n"
"  --restart-keys LIST  key counts of the restart test (100000,1000000,2000000)\n"
"  --fill-mib N         pool of the fill test, MiB (256)\n"
"  --hash-fields N      fields of the types section's big hash (1000000)\n"
"  --server-bin PATH    pkv-server (../server/pkv-server next to pkvbench)\n"
"  --aof-dir DIR        where redis-aof keeps its file (a scratch dir in TMPDIR)\n"
"  --requests N         redis-benchmark requests per test (200000)\n"
"  --clients N          redis-benchmark clients (50)\n"
"  --server-restart-keys LIST  key counts of the server restart (100000,1000000,2000000)\n"
"  --csv FILE, --json FILE     also write the results there (- for stdout)\n"
"  --plot FILE.svg      bar charts of throughput and latency (gnuplot)\n"
"  --help, --version\n");
}

/* parse_u64 -- a count, with k/M/G (x1000) suffixes allowed. */
static uint64_t parse_u64(const char *opt, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		die("%s: not a number: %s", opt, s);
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6, end++;
	else if (*end == 'G' || *end == 'g')
		v *= 1e9, end++;
	if (*end)
		die("%s: not a number: %s", opt, s);
	return (uint64_t)v;
}

static unsigned parse_counts(const char *opt, const char *s, uint64_t *out)
{
	char buf[256], *save, *tok;
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok && n < MAX_COUNTS;
	     tok = strtok_r(NULL, ",", &save))
		if ((out[n++] = parse_u64(opt, tok)) == 0)
			die("%s: counts must be positive", opt);
	return n;
}

/* parse_names -- a comma list of names into bits (names[i] -> bits[i]). */
static unsigned parse_names(const char *opt, const char *s,
			    const char *const *names, const unsigned *bits,
			    size_t n)
{
	char buf[512], *save, *tok;
	unsigned mask = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < n && strcmp(tok, names[i]); i++)
			;
		if (i == n)
			die("%s: unknown name '%s'", opt, tok);
		mask |= bits[i];
	}
	return mask;
}

static const char *const store_names[] = {
	"pkv", "pmemobj", "lmdb", "lmdb-nosync", "rocksdb", "pkv-verify",
};
static const unsigned store_bits[] = {
	STORE_PKV, STORE_PMEMOBJ, STORE_LMDB, STORE_LMDB_NOSYNC,
	STORE_ROCKSDB, STORE_PKV_VERIFY,
};
static const char *const section_names[] = {
	"embedded", "heap", "recovery", "fill", "flushes", "types", "server",
	"disk",
};
static const unsigned section_bits[] = {
	SEC_EMBEDDED, SEC_HEAP, SEC_RECOVERY, SEC_FILL, SEC_FLUSHES,
	SEC_TYPES, SEC_SERVER, SEC_DISK,
};

/* default_server_bin -- ../server/pkv-server beside this program (the
 * build tree), else ./server/pkv-server, else pkv-server on PATH. */
static const char *default_server_bin(void)
{
	static char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 64);
	char *slash;

	if (n > 0) {
		path[n] = 0;
		if ((slash = strrchr(path, '/'))) {
			strcpy(slash, "/../server/pkv-server");
			if (access(path, X_OK) == 0)
				return path;
		}
	}
	if (access("./server/pkv-server", X_OK) == 0)
		return "./server/pkv-server";
	return "pkv-server";
}

static void parse_args(int argc, char **argv)
{
	bool quick = false;
	size_t len = 0;

	for (int i = 1; i < argc; i++)
		quick |= !strcmp(argv[i], "--quick");
	g_opt.quick = quick;
	g_opt.keys = quick ? 100000 : 1000000;
	g_opt.vmin = g_opt.vmax = 100;
	g_opt.threads = 1;
	g_opt.seed = 1;
	g_opt.dir = "/dev/shm";
	g_opt.sections = SEC_ALL;
	g_opt.workloads = WL_ALL;
	g_opt.stores = ~0u;
	g_opt.heap_ops = quick ? 50000 : 200000;
	g_opt.nrec_counts = quick ? 2 : 3;
	g_opt.rec_counts[0] = quick ? 10000 : 100000;
	g_opt.rec_counts[1] = quick ? 100000 : 1000000;
	g_opt.rec_counts[2] = 2000000;
	g_opt.fill_mib = quick ? 64 : 256;
	g_opt.hash_fields = quick ? 100000 : 1000000;
	g_opt.server_bin = default_server_bin();
	g_opt.srv_requests = quick ? 20000 : 200000;
	g_opt.srv_clients = 50;
	g_opt.nsrv_rec_counts = quick ? 1 : 3;
	g_opt.srv_rec_counts[0] = quick ? 50000 : 100000;
	g_opt.srv_rec_counts[1] = 1000000;
	g_opt.srv_rec_counts[2] = 2000000;
	g_opt.pkv_audit = -1;
	g_opt.disk_dir = "/var/tmp";
	g_opt.disk_ops = quick ? 1000 : 5000;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG() do { if (!v) die("%s needs a value", a); i++; } while (0)
		if (!strcmp(a, "--quick")) {
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--version")) {
			printf("pkvbench (pkv) %s\n", pkv_version());
			exit(0);
		} else if (!strcmp(a, "--keys")) {
			ARG(); g_opt.keys = parse_u64(a, v);
		} else if (!strcmp(a, "--ops")) {
			ARG(); g_opt.ops = parse_u64(a, v);
		} else if (!strcmp(a, "--duration")) {
			ARG(); g_opt.duration = strtod(v, NULL);
		} else if (!strcmp(a, "--value-size")) {
			char *dash;
			ARG();
			if ((dash = strchr(v, '-'))) {
				char lo[32];
				snprintf(lo, sizeof(lo), "%.*s",
					 (int)(dash - v), v);
				g_opt.vmin = (unsigned)parse_u64(a, lo);
				g_opt.vmax = (unsigned)parse_u64(a, dash + 1);
			} else {
				g_opt.vmin = g_opt.vmax =
					(unsigned)parse_u64(a, v);
			}
		} else if (!strcmp(a, "--threads")) {
			ARG(); g_opt.threads = (unsigned)parse_u64(a, v);
		} else if (!strcmp(a, "--seed")) {
			ARG(); g_opt.seed = parse_u64(a, v);
		} else if (!strcmp(a, "--dir")) {
			ARG(); g_opt.dir = v;
		} else if (!strcmp(a, "--stores")) {
			ARG();
			g_opt.stores = parse_names(a, v, store_names,
						   store_bits, 6);
		} else if (!strcmp(a, "--workloads")) {
			unsigned bits[WL_COUNT];
			ARG();
			for (int k = 0; k < WL_COUNT; k++)
				bits[k] = 1u << k;
			g_opt.workloads = parse_names(a, v, wl_names, bits,
						      WL_COUNT);
		} else if (!strcmp(a, "--sections")) {
			ARG();
			g_opt.sections = parse_names(a, v, section_names,
						     section_bits,
						     sizeof(section_bits) /
						     sizeof(*section_bits));
		} else if (!strcmp(a, "--server")) {
			g_opt.sections = SEC_SERVER;
		} else if (!strcmp(a, "--no-server")) {
			g_opt.sections &= ~SEC_SERVER;
		} else if (!strcmp(a, "--heap-ops")) {
			ARG(); g_opt.heap_ops = parse_u64(a, v);
		} else if (!strcmp(a, "--restart-keys")) {
			ARG();
			g_opt.nrec_counts = parse_counts(a, v, g_opt.rec_counts);
		} else if (!strcmp(a, "--fill-mib")) {
			ARG(); g_opt.fill_mib = parse_u64(a, v);
		} else if (!strcmp(a, "--disk-dir")) {
			ARG(); g_opt.disk_dir = v;
		} else if (!strcmp(a, "--disk-ops")) {
			ARG(); g_opt.disk_ops = parse_u64(a, v);
		} else if (!strcmp(a, "--server-bin")) {
			ARG(); g_opt.server_bin = v;
		} else if (!strcmp(a, "--aof-dir")) {
			ARG(); g_opt.aof_dir = v;
		} else if (!strcmp(a, "--hash-fields")) {
			ARG(); g_opt.hash_fields = parse_u64(a, v);
			if (g_opt.hash_fields < 10)
				die("--hash-fields: at least 10");
		} else if (!strcmp(a, "--requests")) {
			ARG(); g_opt.srv_requests = parse_u64(a, v);
		} else if (!strcmp(a, "--clients")) {
			ARG(); g_opt.srv_clients = (unsigned)parse_u64(a, v);
		} else if (!strcmp(a, "--server-restart-keys")) {
			ARG();
			g_opt.nsrv_rec_counts = parse_counts(a, v,
							     g_opt.srv_rec_counts);
		} else if (!strcmp(a, "--csv")) {
			ARG(); g_opt.csv = v;
		} else if (!strcmp(a, "--json")) {
			ARG(); g_opt.json = v;
		} else if (!strcmp(a, "--plot")) {
			ARG(); g_opt.plot = v;
		} else {
			usage(stderr);
			die("unknown option %s", a);
		}
#undef ARG
	}
	if (!g_opt.keys || g_opt.keys > 2000000000u)
		die("--keys must be between 1 and 2000000000");
	if (!g_opt.threads || g_opt.threads > 256)
		die("--threads must be between 1 and 256");
	if (g_opt.threads > g_opt.keys)
		die("--threads must not exceed --keys");
	if (!g_opt.vmin || g_opt.vmin > g_opt.vmax || g_opt.vmax > (64u << 20))
		die("--value-size: 1 to 64 MiB, A-B with A <= B");
	if (g_opt.fill_mib < 16)
		die("--fill-mib must be at least 16");
	for (int i = 0; i < argc; i++)
		len += (size_t)snprintf(g_opt.command + len,
					len < sizeof(g_opt.command) ?
					sizeof(g_opt.command) - len : 0,
					i ? " %s" : "%s", argv[i]);
}

/* ---- the machine ---- */

static struct {
	char cpu[128], kernel[256], fs[32], flush[32], load[64], date[32];
	long cores;
	double mem_gib;
} g_mach;

static void machine_collect(void)
{
	struct utsname u;
	struct statfs sf;
	char line[4096];
	time_t now = time(NULL);
	FILE *f;

	snprintf(g_mach.cpu, sizeof(g_mach.cpu), "unknown");
	snprintf(g_mach.flush, sizeof(g_mach.flush), "none");
	if ((f = fopen("/proc/cpuinfo", "r"))) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "model name", 10) && strchr(line, ':'))
				snprintf(g_mach.cpu, sizeof(g_mach.cpu), "%.*s",
					 (int)strcspn(strchr(line, ':') + 2, "\n"),
					 strchr(line, ':') + 2);
			if (!strncmp(line, "flags", 5)) {
				if (strstr(line, " clwb"))
					snprintf(g_mach.flush,
						 sizeof(g_mach.flush), "CLWB");
				else if (strstr(line, " clflushopt"))
					snprintf(g_mach.flush,
						 sizeof(g_mach.flush),
						 "CLFLUSHOPT");
				break;
			}
		}
		fclose(f);
	}
	if ((f = fopen("/proc/loadavg", "r"))) {
		double l1, l5, l15;
		if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
			snprintf(g_mach.load, sizeof(g_mach.load),
				 "%.2f %.2f %.2f", l1, l5, l15);
		fclose(f);
	}
	g_mach.cores = sysconf(_SC_NPROCESSORS_ONLN);
	g_mach.mem_gib = (double)sysconf(_SC_PHYS_PAGES) *
			 (double)sysconf(_SC_PAGESIZE) / (1 << 30);
	if (!uname(&u))
		snprintf(g_mach.kernel, sizeof(g_mach.kernel), "%s %s",
			 u.sysname, u.release);
	snprintf(g_mach.fs, sizeof(g_mach.fs), "?");
	if (!statfs(g_opt.dir, &sf))
		snprintf(g_mach.fs, sizeof(g_mach.fs), "%s",
			 sf.f_type == 0x01021994 ? "tmpfs" :
			 sf.f_type == 0xEF53 ? "ext4" :
			 sf.f_type == 0x58465342 ? "xfs" : "other fs");
	strftime(g_mach.date, sizeof(g_mach.date), "%Y-%m-%d %H:%M:%S",
		 localtime(&now));
}

static void peers_versions(char *buf, size_t len)
{
#ifdef PKVBENCH_PEERS
	snprintf(buf, len, "%s, libpmemobj API %d.%d", mdb_version(NULL,
		 NULL, NULL), PMEMOBJ_MAJOR_VERSION, PMEMOBJ_MINOR_VERSION);
#else
	snprintf(buf, len, "not built in (configure found no liblmdb-dev "
		 "and libpmemobj-dev): pkv alone");
#endif
}

void report_header(FILE *f)
{
	char peers[160], vs[48];

	peers_versions(peers, sizeof(peers));
	fprintf(f, "pkvbench %s, %s\n", pkv_version(), g_mach.date);
	fprintf(f, "command:  %s\n", g_opt.command);
	fprintf(f, "machine:  %s, %ld cores, %.1f GiB, flush %s, %s, "
		"load average %s at start\n", g_mach.cpu, g_mach.cores,
		g_mach.mem_gib, g_mach.flush, g_mach.kernel, g_mach.load);
	fprintf(f, "build:    %s, CFLAGS %s\n", __VERSION__, PKVBENCH_CFLAGS);
	fprintf(f, "pools:    %s (%s), PMEM_IS_PMEM_FORCE=%s%s%s%s\n",
		g_opt.dir, g_mach.fs, getenv("PMEM_IS_PMEM_FORCE") ?
		getenv("PMEM_IS_PMEM_FORCE") : "unset",
		getenv("PKVBENCH_SET_FORCE") ? " (set by pkvbench: persistent "
		"memory emulated, flushed with " : "",
		getenv("PKVBENCH_SET_FORCE") ? g_mach.flush : "",
		getenv("PKVBENCH_SET_FORCE") ? " + SFENCE as on real PM)" : "");
	fprintf(f, "peers:    %s\n", peers);
	if (g_opt.vmin == g_opt.vmax)
		snprintf(vs, sizeof(vs), "%u B", g_opt.vmin);
	else
		snprintf(vs, sizeof(vs), "%u-%u B", g_opt.vmin, g_opt.vmax);
	fprintf(f, "workload: %" PRIu64 " keys key:%%010d, values %s, %u "
		"thread%s, %" PRIu64 " ops per timed workload%s, seed %" PRIu64
		"; timer cost %" PRIu64 " ns subtracted per sample%s\n",
		g_opt.keys, vs, g_opt.threads, g_opt.threads > 1 ? "s" : "",
		g_opt.ops ? g_opt.ops : g_opt.keys,
		g_opt.duration > 0 ? " (or the duration)" : "", g_opt.seed,
		timer_overhead_ns(), cmiss_available() ? "" :
		"; no cache-miss counter (no PMU here)");
}

void report_machine_json(FILE *f)
{
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	const char *const keys[] = {
		"cpu", "flush", "kernel", "load", "date", "compiler", "cflags",
		"pkv", "peers", "dir", "fs", "pmem_is_pmem_force",
	};
	char peers[160];
	const char *vals[12];

	peers_versions(peers, sizeof(peers));
	vals[0] = g_mach.cpu;
	vals[1] = g_mach.flush;
	vals[2] = g_mach.kernel;
	vals[3] = g_mach.load;
	vals[4] = g_mach.date;
	vals[5] = __VERSION__;
	vals[6] = PKVBENCH_CFLAGS;
	vals[7] = pkv_version();
	vals[8] = peers;
	vals[9] = g_opt.dir;
	vals[10] = g_mach.fs;
	vals[11] = force ? force : "";
	fprintf(f, "{");
	for (int i = 0; i < 12; i++) {
		fprintf(f, "\"%s\": ", keys[i]);
		json_str(f, vals[i]);
		fprintf(f, ", ");
	}
	fprintf(f, "\"cores\": %ld, \"mem_gib\": %.1f, \"keys\": %" PRIu64
		", \"vmin\": %u, \"vmax\": %u, \"threads\": %u, \"seed\": %"
		PRIu64 ", \"timer_overhead_ns\": %" PRIu64 "}", g_mach.cores,
		g_mach.mem_gib, g_opt.keys, g_opt.vmin, g_opt.vmax,
		g_opt.threads, g_opt.seed, timer_overhead_ns());
}

/* ---- files left by an interrupted run ---- */

static void cleanup_files(void)
{
	static const char *const files[][2] = {
		{ "pkv", "pool" }, { "pmemobj", "pool" }, { "lmdb", "mdb" },
		{ "lmdb", "mdb-lock" }, { "heap", "pool" },
		{ "heap-pmemobj", "pool" }, { "server", "pool" },
		{ "attrib", "pool" },
	};
	char path[4096];

	if (getpid() != g_runid)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		store_path(path, sizeof(path), g_opt.dir, files[i][0],
			   files[i][1]);
		unlink(path);
	}
}

static void on_signal(int sig)
{
	cleanup_files();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	if (!getenv("PMEM_IS_PMEM_FORCE")) {
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
		setenv("PKVBENCH_SET_FORCE", "1", 1);
		execv("/proc/self/exe", argv);
		/* no /proc: go on; libpmem reads it lazily in practice */
	}
	parse_args(argc, argv);
	g_runid = (long)getpid();
	g_opt.progress = isatty(2);
	if (access(g_opt.dir, W_OK))
		die("%s: %s", g_opt.dir, strerror(errno));
#ifndef PKVBENCH_PEERS
	g_opt.stores &= ~(STORE_PMEMOBJ | STORE_LMDB | STORE_LMDB_NOSYNC);
#endif
#ifndef PKVBENCH_ROCKSDB
	g_opt.stores &= ~STORE_ROCKSDB;
#endif
	machine_collect();
	atexit(cleanup_files);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	report_header(stdout);
	fflush(stdout);
	if (g_opt.sections & SEC_EMBEDDED)
		run_embedded();
	if (g_opt.sections & SEC_HEAP)
		run_heap();
	if (g_opt.sections & SEC_RECOVERY)
		run_recovery();
	if (g_opt.sections & SEC_FILL)
		run_fill();
	if (g_opt.sections & SEC_FLUSHES)
		run_attrib();
	if (g_opt.sections & SEC_TYPES)
		run_types();
	if (g_opt.sections & SEC_SERVER)
		run_server();
	if (g_opt.sections & SEC_DISK) {
		run_disk();
		run_server_disk();
	}

	report_table(stdout);
	report_targets(stdout);
	if (g_opt.csv)
		report_csv(g_opt.csv);
	if (g_opt.json)
		report_json(g_opt.json);
	if (g_opt.plot)
		report_plot(g_opt.plot);
	return 0;
}
