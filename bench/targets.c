/*
 * targets.c -- the targets of TARGETS.md, checked against this run.
 *
 * Each target is stated as TARGETS.md states it: a speedup (peer time /
 * pkv time, on the mean per-operation latency, the medians' ratio shown
 * beside it because a busy machine disturbs means most), a bound, or a
 * throughput ratio, with the figures of both sides from the same run.
 * For a target not met, the line below it says where pkv's time goes,
 * from what the run measured: fences and bytes flushed per operation and
 * what the fences cost at the floor's price, the parts of the pool the
 * flushes went to (the flushes section), system time and page faults,
 * cache misses where a PMU counts them, the shape of the latency
 * distribution, and for the server its CPU time per request.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkvbench.h"

struct target {
	char what[64];
	char pkv[32], peer[32];       /* figures as text */
	char ratio[24];               /* on the means (or the figure) */
	char ratio50[24];             /* the same on the medians */
	char goal[40];
	char note[160];               /* said whether met or not */
	int met;                      /* 1, 0, -1: not measured */
	char why[320];                /* where the time goes, if not met */
};

static struct target g_tgt[64];
static size_t g_ntgt;

static struct target *tgt_new(const char *what, const char *goal)
{
	struct target *t = &g_tgt[g_ntgt < 64 ? g_ntgt++ : 63];
	memset(t, 0, sizeof(*t));
	snprintf(t->what, sizeof(t->what), "%s", what);
	snprintf(t->goal, sizeof(t->goal), "%s", goal);
	t->met = -1;
	snprintf(t->pkv, sizeof(t->pkv), "n/a");
	snprintf(t->peer, sizeof(t->peer), "n/a");
	snprintf(t->ratio, sizeof(t->ratio), "n/a");
	snprintf(t->ratio50, sizeof(t->ratio50), "n/a");
	return t;
}

/* why_add -- append a piece to t->why: after ", " (sep 0) or "; " (sep
 * 1), or after a space if it is the first piece after the colon. */
static void why_add(struct target *t, int sep, const char *fmt, ...)
{
	size_t n = strlen(t->why), len = sizeof(t->why);
	va_list ap;

	if (n + 2 >= len)
		return;
	if (t->why[n - 1] == ':')
		t->why[n++] = ' ';
	else
		n += (size_t)snprintf(t->why + n, len - n, sep ? "; " : ", ");
	va_start(ap, fmt);
	vsnprintf(t->why + n, len - n, fmt, ap);
	va_end(ap);
}

/* why_pkv -- where a pkv operation's time goes, from its row: the
 * persistence work per operation (fences and flushed bytes are not
 * counted on a disk), and what its fences cost at the floor's price
 * (medians, which the machine's noise disturbs least). */
static void why_pkv(struct target *t, const struct result *p,
		    const struct result *floor)
{
	char b1[16], b2[16];
	double fl, op;

	if (!p)
		return;
	snprintf(t->why, sizeof(t->why), "pkv %s:", p->test);
	if (!isnan(p->fences_op))
		why_add(t, 0, "%.2f fences/op, %.0f B flushed/op",
			p->fences_op, p->flushed_op);
	if (!isnan(p->wa))
		why_add(t, 0, "WA %.2f", p->wa);
	if (!isnan(p->sys_us_op))
		why_add(t, 0, "%.2f us sys/op (no syscall on the path if ~0), "
			"%.2f page faults/op", p->sys_us_op, p->faults_op);
	if (isnan(p->cmiss_op))
		why_add(t, 0, "cache misses n/a (no PMU)");
	else
		why_add(t, 0, "%.1f cache misses/op", p->cmiss_op);
	fl = floor ? (isnan(floor->p50_ns) ? floor->mean_ns : floor->p50_ns)
		   : NAN;
	op = isnan(p->p50_ns) ? p->mean_ns : p->p50_ns;
	if (!isnan(fl) && !isnan(p->fences_op))
		why_add(t, 1, "fences x floor = %s of %s %s",
			fmt_ns(b1, sizeof(b1), p->fences_op * fl),
			isnan(p->p50_ns) ? "mean" : "p50",
			fmt_ns(b2, sizeof(b2), op));
	if (!isnan(p->p50_ns) && p->mean_ns > 1.5 * p->p50_ns)
		why_add(t, 1, "mean %.1fx the median: rare long operations "
			"(p99.9 %s, max %s)", p->mean_ns / p->p50_ns,
			fmt_ns(b1, sizeof(b1), p->p999_ns),
			fmt_ns(b2, sizeof(b2), p->max_ns));
}

/* floor_row -- the floor of TARGETS.md: libpmem alone if measured. */
static const struct result *floor_row(void)
{
	const struct result *r = find("heap", "floor: 100B+persist", "libpmem");
	return r ? r : find("heap", "floor: 100B+persist", "pkv");
}

/* set_ratios -- peer / pkv on the means and on the medians. */
static void set_ratios(struct target *t, const struct result *p,
		       const struct result *q)
{
	snprintf(t->ratio, sizeof(t->ratio), "%.2fx", q->mean_ns / p->mean_ns);
	if (!isnan(p->p50_ns) && !isnan(q->p50_ns))
		snprintf(t->ratio50, sizeof(t->ratio50), "%.2fx",
			 q->p50_ns / p->p50_ns);
}

/* tgt_speedup -- peer time / pkv time >= goal. */
static void tgt_speedup(const char *what, const char *section,
			const char *test, const char *peer, double goal)
{
	const struct result *p = find(section, test, "pkv"),
			    *q = find(section, test, peer), *fl = floor_row();
	char g[40];
	struct target *t;

	snprintf(g, sizeof(g), ">= %.0fx %s", goal, peer);
	t = tgt_new(what, g);
	if (!p || !q)
		return;
	fmt_ns(t->pkv, sizeof(t->pkv), p->mean_ns);
	fmt_ns(t->peer, sizeof(t->peer), q->mean_ns);
	set_ratios(t, p, q);
	t->met = q->mean_ns / p->mean_ns >= goal;
	if (!t->met)
		why_pkv(t, p, fl);
}

/* tgt_vs_server -- one server row against another: p99 latency (met
 * when no worse) or throughput (met at >= 1.0x). */
static void tgt_vs_server(struct target *t, const struct result *p,
			  const struct result *q, bool p99)
{
	if (p99) {
		fmt_ns(t->pkv, sizeof(t->pkv), p->p99_ns);
		fmt_ns(t->peer, sizeof(t->peer), q->p99_ns);
		snprintf(t->ratio, sizeof(t->ratio), "%.2fx",
			 q->p99_ns / p->p99_ns);
		t->met = p->p99_ns <= q->p99_ns;
	} else {
		snprintf(t->pkv, sizeof(t->pkv), "%.0f/s", p->ops_s);
		snprintf(t->peer, sizeof(t->peer), "%.0f/s", q->ops_s);
		snprintf(t->ratio, sizeof(t->ratio), "%.2fx",
			 p->ops_s / q->ops_s);
		t->met = p->ops_s >= q->ops_s;
	}
}

/* tgt_server -- pkv-server against redis-server without persistence:
 * throughput >= 1.0x, or p99 no worse; when not met, where its CPU
 * goes. */
static void tgt_server(const char *test, bool p99)
{
	const struct result *p = find("server", test, "pkv-server"),
			    *q = find("server", test, "redis");
	char what[64];
	struct target *t;

	snprintf(what, sizeof(what), "server %s %s", test,
		 p99 ? "p99 latency" : "throughput");
	t = tgt_new(what, p99 ? "<= redis, no persist" :
			       ">= 1.0x redis, no persist");
	if (!p || !q)
		return;
	tgt_vs_server(t, p, q, p99);
	if (!t->met) {
		const struct result *e = find("embedded", test[0] == 'S' ?
					      "overwrite" : "read-uniform",
					      "pkv");
		const struct result *a = find("server", test, "redis-aof");
		size_t n = 0, len = sizeof(t->why);

		n += (size_t)snprintf(t->why, len, "server CPU per request: "
				      "pkv-server %.2f us (%.2f in the kernel), "
				      "redis %.2f us (%.2f)", p->cpu_us_op,
				      p->sys_us_op, q->cpu_us_op, q->sys_us_op);
		if (e && n < len)
			n += (size_t)snprintf(t->why + n, len - n, "; the store "
					      "call (embedded %s) %.2f us of "
					      "it", e->test, e->mean_ns / 1e3);
		if (a && n < len)
			snprintf(t->why + n, len - n, "; redis-aof (appendfsync "
				 "always) %.0f/s, p99 %.2f ms", a->ops_s,
				 a->p99_ns / 1e6);
	}
}

/* key_count -- the key count a recovery row's test names after prefix
 * ("100k keys", "10M keys"), or -1 if the test does not start so. */
static double key_count(const struct result *r, const char *prefix)
{
	const char *c = r->test + strlen(prefix);

	if (strcmp(r->section, "recovery") ||
	    strncmp(r->test, prefix, strlen(prefix)))
		return -1;
	return strtod(c, NULL) * (strchr(c, 'M') ? 1e6 : 1e3);
}

/* tgt_memory -- memory per key at the largest count the server restart
 * loaded: pkv-server's pool bytes against redis-server's used_memory. */
static void tgt_memory(void)
{
	const struct result *p = NULL, *all;
	const struct result *q = NULL;
	double np = 0;
	struct target *t;
	size_t nres;

	all = results_all(&nres);
	for (size_t i = 0; i < nres; i++) {
		const struct result *r = &all[i];
		double n = key_count(r, "memory per key, ");
		if (n < 0 || strcmp(r->store, "pkv-server") ||
		    isnan(r->bytes_key))
			continue;
		if (!p || n > np)
			p = r, np = n;
	}
	t = tgt_new("memory per key vs redis", "<= 0.8x redis used_memory");
	if (!p)
		return;
	q = find("recovery", p->test, "redis-aof-1s");
	snprintf(t->pkv, sizeof(t->pkv), "%.0f B", p->bytes_key);
	if (!q || isnan(q->bytes_key))
		return;
	snprintf(t->peer, sizeof(t->peer), "%.0f B", q->bytes_key);
	snprintf(t->ratio, sizeof(t->ratio), "%.2fx",
		 p->bytes_key / q->bytes_key);
	snprintf(t->note, sizeof(t->note), "%s, pkv / redis (lower is "
		 "better)", p->test);
	t->met = p->bytes_key <= 0.8 * q->bytes_key;
	if (!t->met)
		snprintf(t->why, sizeof(t->why), "pkv's entry: a 16-byte "
			 "block header, a 40-byte entry header, key and "
			 "value rounded up to a size class, and 8 bytes of "
			 "bucket per bucket");
}

/* tgt_restart -- every key count under 50 ms and flat in N: at most
 * twice as long at the largest count as at the smallest (when they differ
 * tenfold or more).  The peer's figure is at the largest count. */
static void tgt_restart(const char *what, const char *store,
			const char *prefix, const char *peer)
{
	const struct result *lo = NULL, *hi = NULL, *q = NULL, *all;
	double worst = 0, nlo = 0, nhi = 0, growth;
	struct target *t;
	char b1[16], b2[16];
	size_t nres;

	all = results_all(&nres);
	for (size_t i = 0; i < nres; i++) {
		const struct result *r = &all[i];
		double n = key_count(r, prefix);
		if (n < 0 || strcmp(r->store, store))
			continue;
		if (!lo || n < nlo)
			lo = r, nlo = n;
		if (!hi || n > nhi)
			hi = r, nhi = n;
		if (r->mean_ns > worst)
			worst = r->mean_ns;
	}
	t = tgt_new(what, "< 50 ms, flat in N");
	if (!hi)
		return;
	if (peer)
		q = find("recovery", hi->test, peer);
	growth = hi->mean_ns / lo->mean_ns;
	fmt_ns(t->pkv, sizeof(t->pkv), worst);
	if (q)
		fmt_ns(t->peer, sizeof(t->peer), q->mean_ns);
	if (q)
		snprintf(t->ratio, sizeof(t->ratio), "%.2fx", q->mean_ns /
			 hi->mean_ns);
	snprintf(t->note, sizeof(t->note), "%.16s: %s, %.16s: %s "
		 "(x%.1f for x%.0f the keys)", lo->test + strlen(prefix),
		 fmt_ns(b1, sizeof(b1), lo->mean_ns), hi->test + strlen(prefix),
		 fmt_ns(b2, sizeof(b2), hi->mean_ns), growth, nhi / nlo);
	t->met = worst < 50e6 && (nhi < 10 * nlo || growth <= 2);
	if (!t->met)
		snprintf(t->why, sizeof(t->why), "%s; at %.12s: %s",
			 growth > 2 ? "grows with N" : "over 50 ms",
			 hi->test + strlen(prefix), hi->note);
}

/* tgt_disk_server -- pkv-server on a disk against redis-server with
 * appendfsync always, same disk: throughput >= 1.0x, or p99 no worse. */
static void tgt_disk_server(const char *test, bool p99)
{
	const struct result *p = find("disk-server", test, "pkv-server"),
			    *q = find("disk-server", test, "redis-aof");
	char what[64];
	struct target *t;

	snprintf(what, sizeof(what), "disk: server %s %s", test,
		 p99 ? "p99" : "throughput");
	t = tgt_new(what, p99 ? "<= redis, AOF always" :
			       ">= 1.0x redis, AOF always");
	if (!p || !q)
		return;
	tgt_vs_server(t, p, q, p99);
	if (!p99)
		snprintf(t->ratio50, sizeof(t->ratio50), "%.2fx",
			 q->p50_ns / p->p50_ns);
	if (!t->met)
		snprintf(t->why, sizeof(t->why), "server CPU per request: "
			 "pkv-server %.2f us (%.2f in the kernel), redis %.2f us "
			 "(%.2f); p50 %.2f ms vs %.2f ms", p->cpu_us_op,
			 p->sys_us_op, q->cpu_us_op, q->sys_us_op,
			 p->p50_ns / 1e6, q->p50_ns / 1e6);
}

/* build_disk_targets -- issue 18's: the server against Redis's AOF,
 * embedded against RocksDB and LMDB, all on the same disk. */
static void build_disk_targets(void)
{
	static const char *const tests[] = {
		"SET P1", "INCR P1", "MSET P1",
		"SET P16", "INCR P16", "MSET P16",
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tgt_disk_server(tests[i], false);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tgt_disk_server(tests[i], true);
	tgt_speedup("disk: durable put vs RocksDB", "disk", "durable put",
		    "rocksdb", 1);
	tgt_speedup("disk: durable put vs LMDB", "disk", "durable put",
		    "lmdb", 2);
	tgt_speedup("disk: batch of 100 vs RocksDB", "disk", "batch of 100",
		    "rocksdb", 1);
	tgt_speedup("disk: batch of 100 vs LMDB", "disk", "batch of 100",
		    "lmdb", 2);
}

static void build_targets(void)
{
	const struct result *p, *q, *fl;
	struct target *t;

	g_ntgt = 0;
	tgt_speedup("durable put (load) vs libpmemobj", "embedded", "load",
		    "pmemobj", 5);
	tgt_speedup("durable put (load) vs LMDB", "embedded", "load", "lmdb",
		    15);
	p = find("embedded", "load", "pkv");
	fl = floor_row();
	t = tgt_new("durable put (load) vs floor", "<= 3x floor");
	if (p && fl) {
		fmt_ns(t->pkv, sizeof(t->pkv), p->mean_ns);
		fmt_ns(t->peer, sizeof(t->peer), fl->mean_ns);
		snprintf(t->ratio, sizeof(t->ratio), "%.2fx",
			 p->mean_ns / fl->mean_ns);
		snprintf(t->ratio50, sizeof(t->ratio50), "%.2fx",
			 p->p50_ns / fl->p50_ns);
		t->met = p->mean_ns <= 3 * fl->mean_ns;
		if (!t->met)
			why_pkv(t, p, fl);
	}
	tgt_speedup("get (uniform) vs libpmemobj", "embedded", "read-uniform",
		    "pmemobj", 2);
	tgt_speedup("get (uniform) vs LMDB", "embedded", "read-uniform", "lmdb",
		    4);
	tgt_speedup("alloc+free 100B vs pmemobj", "heap", "alloc+free 100B",
		    "pmemobj", 5);
	p = find("heap", "alloc+free 100B", "pkv");
	q = find("heap", "alloc+free 100B", "pmemobj");
	t = tgt_new("alloc+free 100B vs pmemobj (aim)", ">= 20x pmemobj");
	if (p && q) {
		fmt_ns(t->pkv, sizeof(t->pkv), p->mean_ns);
		fmt_ns(t->peer, sizeof(t->peer), q->mean_ns);
		set_ratios(t, p, q);
		t->met = q->mean_ns / p->mean_ns >= 20;
		if (!t->met)
			why_pkv(t, p, fl);
	}

	tgt_restart("restart embedded pkv", "pkv", "restart ", NULL);
	tgt_restart("restart server vs redis AOF", "pkv-server",
		    "server restart ", "redis-aof-1s");
	tgt_memory();

	/* Write amplification. */
	{
		static const struct {
			const char *test, *what, *attrib;
			double goal;
		} wa[] = {
			{ "load", "write amplification, load 100B", "load",
			  2.0 },
			{ "overwrite", "write amplification, overwrite 100B",
			  "overwrite", 2.0 },
			{ "load 1KiB values", "write amplification, load 1KiB",
			  "load 1KiB", 1.3 },
		};
		for (size_t i = 0; i < 3; i++) {
			char g[24];
			snprintf(g, sizeof(g), "<= %.1f", wa[i].goal);
			t = tgt_new(wa[i].what, g);
			p = find("embedded", wa[i].test, "pkv");
			if (!p || isnan(p->wa))
				continue;
			snprintf(t->pkv, sizeof(t->pkv), "%.2f", p->wa);
			t->met = p->wa <= wa[i].goal;
			q = find("flushes", wa[i].attrib, "pkv");
			if (!t->met)
				snprintf(t->why, sizeof(t->why), "%.0f B flushed "
					 "per op (%.2f fences) for %.0f B of key"
					 "+value%s%s", p->flushed_op,
					 p->fences_op, p->flushed_op / p->wa,
					 q ? "; by part of the pool (flushes "
					 "section): " : "", q ? q->note : "");
		}
	}

	/* Utilization. */
	{
		static const struct { const char *test, *what; double goal; }
		ut[] = {
			{ "fill 64B-4KiB to full", "utilization at first full",
			  0.85 },
			{ "delete half, refill", "utilization after refill",
			  0.80 },
		};
		for (size_t i = 0; i < 2; i++) {
			char g[24];
			snprintf(g, sizeof(g), ">= %.0f%%", ut[i].goal * 100);
			t = tgt_new(ut[i].what, g);
			p = find("fill", ut[i].test, "pkv");
			q = find("fill", ut[i].test, "pmemobj");
			if (!p)
				continue;
			snprintf(t->pkv, sizeof(t->pkv), "%.1f%%", p->util * 100);
			if (q)
				snprintf(t->peer, sizeof(t->peer), "%.1f%%",
					 q->util * 100);
			t->met = p->util >= ut[i].goal;
			if (!t->met)
				snprintf(t->why, sizeof(t->why), "%s", p->note);
		}
	}

	tgt_server("SET P1", false);
	tgt_server("GET P1", false);
	tgt_server("SET P16", false);
	tgt_server("GET P16", false);
	tgt_server("SET P1", true);
	tgt_server("GET P1", true);
	tgt_server("SET P16", true);
	tgt_server("GET P16", true);
	build_disk_targets();
}

void report_targets(FILE *f)
{
	unsigned met = 0, missed = 0, na = 0;

	build_targets();
	fprintf(f, "\n== Targets (TARGETS.md), measured side by side in this "
		"run\n");
	fprintf(f, "%-36s %9s %9s %15s %9s  %-25s %s\n", "target", "pkv",
		"peer", "ratio", "p50 ratio", "goal", "result");
	for (size_t i = 0; i < g_ntgt; i++) {
		const struct target *t = &g_tgt[i];
		fprintf(f, "%-36s %9s %9s %15s %9s  %-25s %s\n", t->what, t->pkv,
			t->peer, t->ratio, t->ratio50, t->goal,
			t->met < 0 ? "not measured" : t->met ? "met" : "NOT MET");
		if (t->note[0])
			fprintf(f, "    %s\n", t->note);
		if (t->met == 0 && t->why[0])
			fprintf(f, "    where the time goes: %s\n", t->why);
		met += t->met == 1;
		missed += t->met == 0;
		na += t->met < 0;
	}
	fprintf(f, "%u met, %u not met, %u not measured.  Ratios are "
		"speedups, peer time / pkv time (throughput: pkv / peer), on the "
		"means; judged on the means, the medians' ratio beside them.\n",
		met, missed, na);
}

/* targets_json -- the targets as a JSON array. */
void targets_json(FILE *f)
{
	build_targets();
	fprintf(f, "[\n");
	for (size_t i = 0; i < g_ntgt; i++) {
		const struct target *t = &g_tgt[i];
		fprintf(f, "    {\"target\": ");
		json_str(f, t->what);
		fprintf(f, ", \"pkv\": ");
		json_str(f, t->pkv);
		fprintf(f, ", \"peer\": ");
		json_str(f, t->peer);
		fprintf(f, ", \"ratio\": ");
		json_str(f, t->ratio);
		fprintf(f, ", \"ratio_p50\": ");
		json_str(f, t->ratio50);
		fprintf(f, ", \"goal\": ");
		json_str(f, t->goal);
		fprintf(f, ", \"note\": ");
		json_str(f, t->note);
		fprintf(f, ", \"met\": %s, \"where_the_time_goes\": ",
			t->met < 0 ? "null" : t->met ? "true" : "false");
		json_str(f, t->why);
		fprintf(f, "}%s\n", i + 1 < g_ntgt ? "," : "");
	}
	fprintf(f, "  ]");
}
