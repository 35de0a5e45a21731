/*
 * report.c -- the results: kept in order, then shown as a table per
 * section and written as CSV, JSON and an SVG plot (gnuplot); the
 * targets are checked in targets.c.
 *
 * Results are grouped by (section, test); in each group the row marked
 * ref is pkv's and every other row is a peer, whose ratio columns give
 * pkv's figure divided by the peer's (so above 1 is better for
 * throughput, below 1 better for latency and memory).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkvbench.h"

/* ---- the list ---- */

static struct result *g_res;
static size_t g_nres, g_capres;

void result_init(struct result *r, const char *section, const char *test,
		 const char *store)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->section, sizeof(r->section), "%s", section);
	snprintf(r->test, sizeof(r->test), "%s", test);
	snprintf(r->store, sizeof(r->store), "%s", store);
	r->threads = r->ops = r->secs = r->ops_s = NAN;
	r->mean_ns = r->p50_ns = r->p99_ns = r->p999_ns = r->max_ns = NAN;
	r->wa = r->fences_op = r->flushed_op = r->util = r->footprint = NAN;
	r->rss_mib = r->sys_us_op = r->faults_op = r->cmiss_op = NAN;
	r->cpu_us_op = NAN;
	r->misses = r->bytes_key = NAN;
}

void results_add(const struct result *r)
{
	if (g_nres == g_capres) {
		size_t cap = g_capres ? 2 * g_capres : 64;
		struct result *n = realloc(g_res, cap * sizeof(*n));
		if (!n)
			die("out of memory");
		g_res = n;
		g_capres = cap;
	}
	g_res[g_nres++] = *r;
}

const struct result *results_all(size_t *n)
{
	*n = g_nres;
	return g_res;
}

const struct result *find(const char *section, const char *test,
			  const char *store)
{
	for (size_t i = 0; i < g_nres; i++)
		if (!strcmp(g_res[i].section, section) &&
		    !strcmp(g_res[i].test, test) &&
		    !strcmp(g_res[i].store, store))
			return &g_res[i];
	return NULL;
}

const struct result *find_ref(const struct result *r)
{
	for (size_t i = 0; i < g_nres; i++)
		if (g_res[i].ref && !strcmp(g_res[i].section, r->section) &&
		    !strcmp(g_res[i].test, r->test))
			return &g_res[i];
	return NULL;
}

/* ---- formatting ---- */

const char *fmt_ns(char *buf, size_t len, double ns)
{
	if (isnan(ns))
		snprintf(buf, len, "n/a");
	else if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.2fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

enum fmt { F_RATE, F_NS, F_F2, F_PCT, F_MIB, F_F0, F_RATIO };

struct col {
	const char *hdr;
	int width;
	size_t off;                   /* of a double in struct result */
	enum fmt f;
};

#define C(h, w, field, f) { h, w, offsetof(struct result, field), f }

static double field(const struct result *r, size_t off)
{
	return *(const double *)((const char *)r + off);
}

static const char *fmt_val(char *b, size_t len, double v, enum fmt f)
{
	if (isnan(v) || isinf(v))
		return snprintf(b, len, "n/a"), b;
	switch (f) {
	case F_RATE:
		if (v >= 1e6)
			snprintf(b, len, "%.2fM", v / 1e6);
		else if (v >= 1e4)
			snprintf(b, len, "%.1fk", v / 1e3);
		else
			snprintf(b, len, "%.0f", v);
		break;
	case F_NS:
		fmt_ns(b, len, v);
		break;
	case F_F2:
		snprintf(b, len, "%.2f", v);
		break;
	case F_PCT:
		snprintf(b, len, "%.1f%%", v * 100);
		break;
	case F_MIB:
		snprintf(b, len, "%.0f", v);
		break;
	case F_F0:
		snprintf(b, len, "%.0f", v);
		break;
	case F_RATIO:
		snprintf(b, len, "%.2fx", v);
		break;
	}
	return b;
}

static const struct col cols_embedded[] = {
	C("ops/s", 8, ops_s, F_RATE), C("mean", 8, mean_ns, F_NS),
	C("p50", 8, p50_ns, F_NS), C("p99", 8, p99_ns, F_NS),
	C("p99.9", 8, p999_ns, F_NS), C("WA", 5, wa, F_F2),
	C("fnc/op", 6, fences_op, F_F2), C("B/op", 6, flushed_op, F_F0),
	C("util", 6, util, F_PCT), C("space", 5, footprint, F_F2),
	C("RSS", 5, rss_mib, F_MIB), C("sys/op", 6, sys_us_op, F_F2),
	C("flt/op", 6, faults_op, F_F2), C("miss/op", 7, cmiss_op, F_F2),
};
static const struct col ratio_embedded[] = {
	C("ops/s", 6, ops_s, F_RATIO), C("mean", 6, mean_ns, F_RATIO),
	C("p99", 6, p99_ns, F_RATIO), C("p99.9", 6, p999_ns, F_RATIO),
	C("RSS", 6, rss_mib, F_RATIO),
};
static const struct col cols_heap[] = {
	C("ops/s", 8, ops_s, F_RATE), C("mean", 8, mean_ns, F_NS),
	C("p50", 8, p50_ns, F_NS), C("p99", 8, p99_ns, F_NS),
	C("p99.9", 8, p999_ns, F_NS), C("fnc/op", 6, fences_op, F_F2),
	C("B/op", 6, flushed_op, F_F0), C("sys/op", 6, sys_us_op, F_F2),
};
static const struct col ratio_heap[] = {
	C("ops/s", 6, ops_s, F_RATIO), C("mean", 6, mean_ns, F_RATIO),
	C("p99", 6, p99_ns, F_RATIO),
};
static const struct col cols_recovery[] = {
	C("time", 8, mean_ns, F_NS), C("RSS", 5, rss_mib, F_MIB),
	C("B/key", 6, bytes_key, F_F0),
};
static const struct col ratio_recovery[] = {
	C("time", 6, mean_ns, F_RATIO), C("B/key", 6, bytes_key, F_RATIO),
};
static const struct col cols_fill[] = {
	C("keys", 8, ops, F_F0), C("util", 6, util, F_PCT),
	C("RSS", 5, rss_mib, F_MIB),
};
static const struct col ratio_fill[] = {
	C("util", 6, util, F_RATIO),
};
static const struct col cols_flushes[] = {
	C("WA", 5, wa, F_F2), C("fnc/op", 6, fences_op, F_F2),
	C("B/op", 6, flushed_op, F_F0),
};
static const struct col ratio_flushes[] = {
	C("B/op", 6, flushed_op, F_RATIO),
};
static const struct col cols_types[] = {
	C("ops/s", 8, ops_s, F_RATE), C("mean", 8, mean_ns, F_NS),
	C("p50", 8, p50_ns, F_NS), C("p99", 8, p99_ns, F_NS),
	C("max", 8, max_ns, F_NS), C("fnc/op", 6, fences_op, F_F2),
	C("B/op", 6, flushed_op, F_F0),
};
static const struct col cols_disk[] = {
	C("calls/s", 8, ops_s, F_RATE), C("mean", 8, mean_ns, F_NS),
	C("p50", 8, p50_ns, F_NS), C("p99", 8, p99_ns, F_NS),
	C("p99.9", 8, p999_ns, F_NS), C("max", 8, max_ns, F_NS),
	C("RSS", 5, rss_mib, F_MIB), C("sys/op", 6, sys_us_op, F_F2),
};
static const struct col ratio_disk[] = {
	C("calls/s", 7, ops_s, F_RATIO), C("mean", 6, mean_ns, F_RATIO),
	C("p50", 6, p50_ns, F_RATIO), C("p99", 6, p99_ns, F_RATIO),
};
static const struct col cols_server[] = {
	C("req/s", 8, ops_s, F_RATE), C("mean", 8, mean_ns, F_NS),
	C("p50", 8, p50_ns, F_NS), C("p99", 8, p99_ns, F_NS),
	C("max", 8, max_ns, F_NS), C("RSS", 5, rss_mib, F_MIB),
	C("cpu/op", 6, cpu_us_op, F_F2), C("sys/op", 6, sys_us_op, F_F2),
};
static const struct col ratio_server[] = {
	C("req/s", 6, ops_s, F_RATIO), C("p50", 6, p50_ns, F_RATIO),
	C("p99", 6, p99_ns, F_RATIO), C("RSS", 6, rss_mib, F_RATIO),
	C("cpu/op", 6, cpu_us_op, F_RATIO),
};

struct section {
	const char *name;
	const char *title;
	const struct col *cols, *ratio;
	size_t ncols, nratio;
};

#define S(n, t, c, r) { n, t, c, r, sizeof(c) / sizeof(c[0]), \
			 sizeof(r) / sizeof(r[0]) }
static const struct section sections[] = {
	S("embedded", "Embedded stores (one op per call, each durable unless "
	  "said)", cols_embedded, ratio_embedded),
	S("heap", "Heap level (single thread, 100-byte blocks)", cols_heap,
	  ratio_heap),
	S("recovery", "Restart after SIGKILL (open to first read served) "
	  "and collection", cols_recovery, ratio_recovery),
	S("fill", "Pool fill, values 64 B - 4 KiB", cols_fill, ratio_fill),
	S("flushes", "Where pkv's flushed bytes go (untimed, flush observer "
	  "on; log: redo logs, blocks: heap flushes > 16 B, words: <= 16 B)",
	  cols_flushes, ratio_flushes),
	S("types", "Hashes: one field written in a hash of 10 fields (one "
	  "hot hash; as many as the big one has fields, at random) and in "
	  "a big one (no peer has the type: compare the rows)",
	  cols_types, ratio_heap),
	S("server", "Server (redis-benchmark)", cols_server, ratio_server),
	S("disk", "On a disk, embedded (every call durable unless said)",
	  cols_disk, ratio_disk),
	S("disk-server", "On a disk, server (redis-benchmark; durable "
	  "unless said)", cols_server, ratio_server),
};

static void print_section(FILE *f, const struct section *s)
{
	char b[32];
	bool any = false, miss = cmiss_available();
	size_t ncols = s->ncols;

	for (size_t i = 0; i < g_nres; i++)
		any |= !strcmp(g_res[i].section, s->name);
	if (!any)
		return;
	/* The cache-miss column only where a PMU counts them. */
	if (s->cols == cols_embedded && !miss)
		ncols--;
	fprintf(f, "\n== %s\n", s->title);
	fprintf(f, "%-24s %-13s", "test", "store");
	for (size_t c = 0; c < ncols; c++)
		fprintf(f, " %*s", s->cols[c].width, s->cols[c].hdr);
	fprintf(f, " | pkv/peer:");
	for (size_t c = 0; c < s->nratio; c++)
		fprintf(f, " %*s", s->ratio[c].width, s->ratio[c].hdr);
	fprintf(f, "\n");

	/* Groups in order of first appearance; pkv's row first. */
	for (size_t i = 0; i < g_nres; i++) {
		const struct result *g = &g_res[i], *ref;
		bool first = true;

		if (strcmp(g->section, s->name))
			continue;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(g_res[k].section, g->section) &&
			    !strcmp(g_res[k].test, g->test))
				goto next_group;
		ref = find_ref(g);
		for (int pass = 0; pass < 2; pass++) {
			for (size_t j = i; j < g_nres; j++) {
				const struct result *r = &g_res[j];
				if (strcmp(r->section, g->section) ||
				    strcmp(r->test, g->test) ||
				    (pass == 0) != (r == ref))
					continue;
				fprintf(f, "%-24s %-13s", first ? r->test : "",
					r->store);
				first = false;
				for (size_t c = 0; c < ncols; c++)
					fprintf(f, " %*s", s->cols[c].width,
						fmt_val(b, sizeof(b),
							field(r, s->cols[c].off),
							s->cols[c].f));
				fprintf(f, " | %9s", "");
				for (size_t c = 0; c < s->nratio; c++) {
					double v = NAN;
					if (ref && r != ref)
						v = field(ref, s->ratio[c].off) /
						    field(r, s->ratio[c].off);
					fprintf(f, " %*s", s->ratio[c].width,
						r == ref ? "" :
						fmt_val(b, sizeof(b), v, F_RATIO));
				}
				if (r->note[0])
					fprintf(f, "  %s", r->note);
				if (!isnan(r->misses) && r->misses > 0)
					fprintf(f, "  [%.0f keys not found]",
						r->misses);
				fprintf(f, "\n");
			}
		}
next_group:;
	}
}

void report_table(FILE *f)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		print_section(f, &sections[i]);
	fprintf(f, "\nColumns: mean/p50/p99/p99.9 per-operation latency "
		"(timer cost subtracted); WA bytes flushed / key+value bytes "
		"written; fnc/op, B/op fences and bytes flushed per operation; "
		"util allocated/heap; space bytes the store occupies per live "
		"key+value byte; RSS peak MiB (getrusage maxrss, VmHWM for "
		"servers); sys/op kernel CPU us per op; flt/op minor page "
		"faults per op; B/key memory the keys took per key (pool bytes in "
		"blocks, Redis's used_memory).  pkv/peer = pkv's figure / the peer's: above 1 "
		"is better for ops/s and util, below 1 for times and memory.\n");
}

/* ---- files ---- */

static FILE *open_out(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	if (!f)
		fprintf(stderr, "pkvbench: %s: %s\n", path, strerror(errno));
	return f;
}

static void close_out(FILE *f)
{
	if (f != stdout)
		fclose(f);
	else
		fflush(f);
}

static const struct { const char *name; size_t off; } g_fields[] = {
#define FLD(x) { #x, offsetof(struct result, x) }
	FLD(threads), FLD(ops), FLD(secs), FLD(ops_s), FLD(mean_ns),
	FLD(p50_ns), FLD(p99_ns), FLD(p999_ns), FLD(max_ns), FLD(wa),
	FLD(fences_op), FLD(flushed_op), FLD(util), FLD(footprint),
	FLD(rss_mib), FLD(sys_us_op), FLD(cpu_us_op), FLD(faults_op),
	FLD(cmiss_op),
	FLD(misses), FLD(bytes_key),
#undef FLD
};
#define NFIELDS (sizeof(g_fields) / sizeof(g_fields[0]))

/* csv_str -- a field quoted as RFC 4180 wants. */
static void csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int report_csv(const char *path)
{
	FILE *f = open_out(path);

	if (!f)
		return -1;
	fprintf(f, "section,test,store,ref");
	for (size_t k = 0; k < NFIELDS; k++)
		fprintf(f, ",%s", g_fields[k].name);
	fprintf(f, ",ratio_ops_s,ratio_mean,ratio_p99,note\n");
	for (size_t i = 0; i < g_nres; i++) {
		const struct result *r = &g_res[i], *ref = find_ref(r);
		csv_str(f, r->section);
		fputc(',', f);
		csv_str(f, r->test);
		fputc(',', f);
		csv_str(f, r->store);
		fprintf(f, ",%d", r->ref);
		for (size_t k = 0; k < NFIELDS; k++) {
			double v = field(r, g_fields[k].off);
			if (isnan(v))
				fprintf(f, ",");
			else
				fprintf(f, ",%.6g", v);
		}
		for (int k = 0; k < 3; k++) {
			size_t off = k == 0 ? offsetof(struct result, ops_s) :
				     k == 1 ? offsetof(struct result, mean_ns) :
				     offsetof(struct result, p99_ns);
			double v = ref && r != ref ? field(ref, off) /
						       field(r, off) : NAN;
			if (isnan(v) || isinf(v))
				fprintf(f, ",");
			else
				fprintf(f, ",%.4g", v);
		}
		fputc(',', f);
		csv_str(f, r->note);
		fputc('\n', f);
	}
	close_out(f);
	return 0;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fprintf(f, "null");
	else
		fprintf(f, "%.6g", v);
}

int report_json(const char *path)
{
	FILE *f = open_out(path);

	if (!f)
		return -1;
	fprintf(f, "{\n  \"command\": ");
	json_str(f, g_opt.command);
	fprintf(f, ",\n  \"machine\": ");
	report_machine_json(f);
	fprintf(f, ",\n  \"results\": [\n");
	for (size_t i = 0; i < g_nres; i++) {
		const struct result *r = &g_res[i], *ref = find_ref(r);
		fprintf(f, "    {\"section\": ");
		json_str(f, r->section);
		fprintf(f, ", \"test\": ");
		json_str(f, r->test);
		fprintf(f, ", \"store\": ");
		json_str(f, r->store);
		fprintf(f, ", \"ref\": %s", r->ref ? "true" : "false");
		for (size_t k = 0; k < NFIELDS; k++) {
			fprintf(f, ", \"%s\": ", g_fields[k].name);
			json_num(f, field(r, g_fields[k].off));
		}
		fprintf(f, ", \"pkv_over_peer\": ");
		if (ref && r != ref) {
			fprintf(f, "{\"ops_s\": ");
			json_num(f, ref->ops_s / r->ops_s);
			fprintf(f, ", \"mean_ns\": ");
			json_num(f, ref->mean_ns / r->mean_ns);
			fprintf(f, ", \"p99_ns\": ");
			json_num(f, ref->p99_ns / r->p99_ns);
			fprintf(f, ", \"rss_mib\": ");
			json_num(f, ref->rss_mib / r->rss_mib);
			fprintf(f, "}");
		} else {
			fprintf(f, "null");
		}
		fprintf(f, ", \"note\": ");
		json_str(f, r->note);
		fprintf(f, "}%s\n", i + 1 < g_nres ? "," : "");
	}
	fprintf(f, "  ],\n  \"targets\": ");
	targets_json(f);
	fprintf(f, "\n}\n");
	close_out(f);
	return 0;
}

/* ---- the plot ---- */

/* plot_data -- one section's field as a table: a row per test, a column
 * per store ("-" where missing); false if the section has no rows. */
static bool plot_data(const char *path, const char *section, size_t off,
		      const char *stores[], size_t *nstores)
{
	FILE *f;
	size_t ns = 0;

	for (size_t i = 0; i < g_nres; i++) {
		size_t k;
		if (strcmp(g_res[i].section, section))
			continue;
		for (k = 0; k < ns && strcmp(stores[k], g_res[i].store); k++)
			;
		if (k == ns && ns < 8)
			stores[ns++] = g_res[i].store;
	}
	*nstores = ns;
	if (!ns || !(f = fopen(path, "w")))
		return false;
	fprintf(f, "test");
	for (size_t k = 0; k < ns; k++)
		fprintf(f, " \"%s\"", stores[k]);
	fprintf(f, "\n");
	for (size_t i = 0; i < g_nres; i++) {
		bool seen = false;
		if (strcmp(g_res[i].section, section))
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(g_res[j].section, section) &&
				!strcmp(g_res[j].test, g_res[i].test);
		if (seen)
			continue;
		fprintf(f, "\"%s\"", g_res[i].test);
		for (size_t k = 0; k < ns; k++) {
			const struct result *r = find(section, g_res[i].test,
						      stores[k]);
			double v = r ? field(r, off) : NAN;
			if (isnan(v) || v <= 0)
				fprintf(f, " -");
			else
				fprintf(f, " %g", v);
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return true;
}

int report_plot(const char *path)
{
	static const struct {
		const char *section, *title, *file;
		size_t off;
		bool logy;
	} panels[] = {
		{ "embedded", "Embedded: throughput (ops/s, higher is better)",
		  "emb-ops.dat", offsetof(struct result, ops_s), false },
		{ "embedded", "Embedded: mean latency (ns, log scale)",
		  "emb-mean.dat", offsetof(struct result, mean_ns), true },
		{ "embedded", "Embedded: p99 latency (ns, log scale)",
		  "emb-p99.dat", offsetof(struct result, p99_ns), true },
		{ "heap", "Heap level: mean latency (ns, log scale)",
		  "heap-mean.dat", offsetof(struct result, mean_ns), true },
		{ "server", "Server: throughput (requests/s)",
		  "srv-ops.dat", offsetof(struct result, ops_s), false },
		{ "server", "Server: p99 latency (ns, log scale)",
		  "srv-p99.dat", offsetof(struct result, p99_ns), true },
	};
	const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[4096], script[4200], dat[4200];
	const char *stores[8];
	bool have[6];
	int npanels = 0, status;
	size_t ns;
	FILE *f;
	pid_t pid;

	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		printf("plot skipped: gnuplot is not installed (Debian: "
		       "apt-get install gnuplot-nox)\n");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/pkvbench-plot-XXXXXX", tmpdir);
	if (!mkdtemp(dir))
		return -1;
	for (int i = 0; i < 6; i++) {
		snprintf(dat, sizeof(dat), "%s/%s", dir, panels[i].file);
		have[i] = plot_data(dat, panels[i].section, panels[i].off,
				    stores, &ns);
		npanels += have[i];
	}
	snprintf(script, sizeof(script), "%s/plot.gp", dir);
	if (!npanels || !(f = fopen(script, "w")))
		return -1;
	fprintf(f, "set terminal svg size 1200,%d dynamic font 'sans,10' "
		"background rgb 'white'\n", 330 * npanels);
	fprintf(f, "set output '%s'\n", path);
	fprintf(f, "set multiplot layout %d,1\n", npanels);
	fprintf(f, "set style data histograms\n"
		"set style histogram clustered gap 1\n"
		"set style fill solid 0.85 border -1\n"
		"set boxwidth 0.9\nset key outside right top\n"
		"set grid ytics\nset xtics nomirror scale 0 font 'sans,9'\n"
		"set datafile missing '-'\nset yrange [0:*]\n"
		"set format y '%%.1s%%c'\n");
	for (int i = 0; i < 6; i++) {
		if (!have[i])
			continue;
		snprintf(dat, sizeof(dat), "%s/%s", dir, panels[i].file);
		plot_data(dat, panels[i].section, panels[i].off, stores, &ns);
		fprintf(f, "set title \"%s\"\n", panels[i].title);
		if (panels[i].logy)
			fprintf(f, "set logscale y\nset yrange [*:*]\n");
		else
			fprintf(f, "unset logscale y\nset yrange [0:*]\n");
		fprintf(f, "plot for [i=2:%zu] '%s' using i:xtic(1) title "
			"columnheader(i)\n", ns + 1, dat);
	}
	fprintf(f, "unset multiplot\n");
	fclose(f);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	snprintf(script, sizeof(script), "rm -rf '%s'", dir);
	if (system(script) != 0)
		fprintf(stderr, "pkvbench: could not remove %s\n", dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "pkvbench: gnuplot failed; no plot\n");
		return -1;
	}
	printf("plot: %s\n", path);
	return 0;
}
