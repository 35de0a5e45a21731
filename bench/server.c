/*
 * server.c -- server mode: pkv-server against redis-server with the same
 * load generator (redis-benchmark), both started here on 127.0.0.1.
 *
 * Servers, one at a time so they never share the CPUs:
 *   pkv-server   pool in the pool directory (PMEM_IS_PMEM_FORCE=1): every
 *                write durable before its reply;
 *   redis        --save '' --appendonly no: persistence off;
 *   redis-aof    --appendonly yes --appendfsync always, its directory on
 *                disk (--aof-dir, default a scratch directory in TMPDIR):
 *                every write durable before its reply, as pkv's.
 * Each gets redis-benchmark -t TEST -c CLIENTS -r 1000000 -d 100 for
 * TEST in set, get, incr, mset (TARGETS.md's workload), hset, lpush, lpop
 * (a list the lpush run filled), lrange_100, sadd, spop and zadd, at
 * pipeline 1 and 16
 * (four times the requests when pipelined, half for MSET, so
 * every run lasts about as long); throughput and latency are
 * redis-benchmark's own figures, peak memory the server's VmHWM, CPU
 * per request the server's own over the run.
 *
 * Restart: a fresh server takes N keys (pipelined SETs), is killed with
 * SIGKILL, and is started again; the figure is the time from the new
 * process's start to the first GET answered with the value (Redis answers
 * -LOADING while it replays its append-only file).  Redis runs with
 * appendfsync everysec for this one (how it replays does not depend on it)
 * and no AOF rewrite, so its log holds every write.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkvbench.h"
#include "proto/resp.h"

#define SRV_ARGS 32
#define HSET_FIELDS_MAX 16    /* fields a key gets from srv_load */
#define HMEM_KEYS 10000u      /* hashes of srv_hash_mem */
#define HMEM_FIELDS 10u

struct srv {
	const char *name;             /* in the results */
	const char *note;
	char *argv[SRV_ARGS];
	int argc;
	int port;
	pid_t pid;
	char log[4096];
};

static char g_tmp[3072];          /* scratch directory */
static const char *g_section = "server";   /* of the results */

/* ---- processes ---- */

/* find_in_path -- whether an executable `name` is on PATH. */
static bool find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, name);
		if (access(buf, X_OK) == 0)
			return true;
		path = end ? end + 1 : NULL;
	}
	return false;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	if (!port)
		die("no free port on 127.0.0.1");
	return port;
}

static void srv_arg(struct srv *s, const char *a)
{
	if (s->argc + 1 >= SRV_ARGS)
		die("too many server arguments");
	s->argv[s->argc++] = strdup(a);
	s->argv[s->argc] = NULL;
}

static void srv_free(struct srv *s)
{
	for (int i = 0; i < s->argc; i++)
		free(s->argv[i]);
	s->argc = 0;
}

/* spawn -- start argv with stdout and stderr to log; its pid. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(log ? log : "/dev/null",
			       O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* ---- a minimal RESP client ---- */

static int resp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static bool send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

/* A reader of replies over one connection: the protocol library's. */
struct rdr {
	int fd;
	struct resp_reader r;
};

/* rdr_open -- connect to port; false if there is no server. */
static bool rdr_open(struct rdr *r, int port)
{
	if (resp_reader_init(&r->r, NULL))
		die("out of memory");
	r->fd = resp_connect(port);
	return r->fd >= 0;
}

/* rdr_close -- the connection and the reader. */
static void rdr_close(struct rdr *r)
{
	if (r->fd >= 0)
		close(r->fd);
	resp_reader_free(&r->r);
}

/* rdr_reply -- read one reply: its type byte ('+', '-', ':', '$'...), 'n'
 * for a nil, 0 on a broken connection or a protocol error.  *errline
 * gets an error's or a bulk string's text (cut to len). */
static int rdr_reply(struct rdr *r, char *errline, size_t len)
{
	for (;;) {
		const struct resp_node *v;
		size_t n, avail;
		ssize_t k;
		char *room;
		int rc = resp_reader_next(&r->r, &v, &n);

		if (rc == 1) {
			if (v[0].type == RESP_NULL)
				return 'n';
			if ((v[0].type == RESP_ERR ||
			     v[0].type == RESP_BULK) && errline)
				snprintf(errline, len, "%.*s", (int)v[0].len,
					 v[0].p);
			return v[0].type;
		}
		if (rc < 0 || !(room = resp_reader_space(&r->r, 65536, &avail)))
			return 0;
		k = read(r->fd, room, avail);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return 0;
		resp_reader_wrote(&r->r, (size_t)k);
	}
}

/* srv_query -- send one inline command on a new connection; the type of
 * the reply (rdr_reply), 0 if there is no server or no reply. */
static int srv_query(int port, const char *cmd, char *err, size_t len)
{
	struct rdr r;
	int type = 0;

	if (rdr_open(&r, port) && send_all(r.fd, cmd, strlen(cmd)))
		type = rdr_reply(&r, err, len);
	rdr_close(&r);
	return type;
}

/* srv_info -- the number after "field:" in INFO section, or -1. */
static double srv_info(int port, const char *section, const char *field)
{
	char cmd[64], text[16384], *at;
	size_t fl = strlen(field);

	snprintf(cmd, sizeof(cmd), "INFO %s\r\n", section);
	if (srv_query(port, cmd, text, sizeof(text)) != '$')
		return -1;
	for (at = text; (at = strstr(at, field)); at += fl)
		if ((at == text || at[-1] == '\n') && at[fl] == ':')
			return strtod(at + fl + 1, NULL);
	return -1;
}

/* srv_start -- start s, wait until it answers PING (10 s at most). */
static bool srv_start(struct srv *s)
{
	uint64_t end = now_ns() + 10000000000ull;

	s->pid = spawn(s->argv, s->log);
	while (now_ns() < end) {
		int status;
		if (srv_query(s->port, "PING\r\n", NULL, 0) == '+')
			return true;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fprintf(stderr, "pkvbench: %s exited at start; its "
				"log: %s\n", s->name, s->log);
			s->pid = 0;
			return false;
		}
		usleep(20000);
	}
	fprintf(stderr, "pkvbench: %s did not answer within 10 s\n", s->name);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
	return false;
}

/* srv_hwm -- the server's peak resident memory (VmHWM), MiB. */
static double srv_hwm(pid_t pid)
{
	char path[64], line[256];
	double kb = NAN;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (!(f = fopen(path, "r")))
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtod(line + 6, NULL);
	fclose(f);
	return kb / 1024.0;
}

static void srv_stop(struct srv *s, int sig)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, sig);
	for (int i = 0; i < 500; i++) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

/* ---- the servers ---- */

static void srv_pkv(struct srv *s, const char *pool, const char *size)
{
	char port[16];

	memset(s, 0, sizeof(*s));
	s->name = "pkv-server";
	s->note = "durable: pool on pmem (emulated)";
	s->port = free_port();
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(s->log, sizeof(s->log), "%s/pkv-server.log", g_tmp);
	srv_arg(s, g_opt.server_bin);
	srv_arg(s, "--port"); srv_arg(s, port);
	srv_arg(s, "--pool"); srv_arg(s, pool);
	srv_arg(s, "--pool-size"); srv_arg(s, size);
	srv_arg(s, "--loglevel"); srv_arg(s, "warning");
}

/* srv_redis -- persistence off (dir NULL), or an append-only file in dir
 * with the given appendfsync policy. */
static void srv_redis(struct srv *s, const char *dir, const char *fsync)
{
	char port[16];

	memset(s, 0, sizeof(*s));
	s->name = !dir ? "redis" : !strcmp(fsync, "always") ? "redis-aof" :
		  "redis-aof-1s";
	s->note = !dir ? "persistence off" :
		  !strcmp(fsync, "always") ? "appendfsync always, AOF on disk" :
		  "appendfsync everysec: NOT durable (loses up to 1 s)";
	s->port = free_port();
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(s->log, sizeof(s->log), "%s/%s.log", g_tmp, s->name);
	srv_arg(s, "redis-server");
	srv_arg(s, "--port"); srv_arg(s, port);
	srv_arg(s, "--bind"); srv_arg(s, "127.0.0.1");
	srv_arg(s, "--save"); srv_arg(s, "");
	srv_arg(s, "--loglevel"); srv_arg(s, "warning");
	srv_arg(s, "--daemonize"); srv_arg(s, "no");
	if (dir) {
		srv_arg(s, "--dir"); srv_arg(s, dir);
		srv_arg(s, "--appendonly"); srv_arg(s, "yes");
		srv_arg(s, "--appendfsync"); srv_arg(s, fsync);
		srv_arg(s, "--auto-aof-rewrite-percentage"); srv_arg(s, "0");
	} else {
		srv_arg(s, "--dir"); srv_arg(s, g_tmp);
		srv_arg(s, "--appendonly"); srv_arg(s, "no");
	}
}

/* ms_field -- a CSV field of milliseconds as ns. */
static double ms_field(char **f, int i, int n)
{
	return i < n ? strtod(f[i], NULL) * 1e6 : NAN;
}

/* srv_cpu -- the server's CPU time so far in us: its main thread's,
 * where the event loop runs (schedstat, in ns), and the whole process's
 * kernel share (stat, in clock ticks: coarse on short runs). */
static void srv_cpu(pid_t pid, double *cpu, double *sys)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	unsigned long long ns;
	double tick = (double)sysconf(_SC_CLK_TCK);
	FILE *f;

	*cpu = *sys = NAN;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r"))) {
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			   "%*u %lu %lu", &ut, &st) == 2) {
			*cpu = (double)(ut + st) / tick * 1e6;
			*sys = (double)st / tick * 1e6;
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)pid);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%llu", &ns) == 1)
			*cpu = (double)ns / 1e3;
		fclose(f);
	}
}

/* srv_bench -- redis-benchmark of one test at pipeline p; its row as a
 * result, with the server's CPU time per request over the run. */
static void srv_bench(struct srv *s, const char *t, unsigned p)
{
	char port[16], n[32], c[16], pp[16], line[1024];
	char *argv[] = {
		"redis-benchmark", "-h", "127.0.0.1", "-p", port,
		"-t", (char *)t, "-n", n, "-c", c, "-P", pp,
		"-r", "1000000", "-d", "100", "--csv", NULL,
	};
	double u0, s0, u1, s1;
	uint64_t nreq;
	int fds[2];
	pid_t pid;
	FILE *f;

	/* Pipelined runs get four times the requests, MSET (ten keys a
	 * request) half: each run lasts about as long as the others. */
	nreq = g_opt.srv_requests * (p > 1 ? 4 : 1) / (strcmp(t, "mset") ? 1 : 2);
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(n, sizeof(n), "%" PRIu64, nreq);
	snprintf(c, sizeof(c), "%u", g_opt.srv_clients);
	snprintf(pp, sizeof(pp), "%u", p);
	progress("  server %-11s redis-benchmark -t %s -P %u ...", s->name, t,
		 p);
	srv_cpu(s->pid, &u0, &s0);
	if (pipe(fds))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(fds[1], 1);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 2);
		}
		close(fds[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *fld[16], *q = line, test[40];
		int nf = 0;
		struct result r;

		/* "SET","85034.01","0.310","0.064","0.295","0.455","0.615",.. */
		while (nf < 16 && (q = strchr(q, '"'))) {
			char *e = strchr(q + 1, '"');
			if (!e)
				break;
			*e = 0;
			fld[nf++] = q + 1;
			q = e + 1;
		}
		/* (LRANGE's own filling LPUSH is not a result) */
		if (nf < 2 || !strcmp(fld[0], "test") ||
		    strstr(fld[0], "needed to benchmark"))
			continue;
		snprintf(test, sizeof(test), "%.*s P%u",
			 (int)strcspn(fld[0], " "), fld[0], p);
		result_init(&r, g_section, test, s->name);
		r.ref = !strcmp(s->name, "pkv-server");
		snprintf(r.note, sizeof(r.note), "%s", s->note);
		r.threads = g_opt.srv_clients;
		r.ops = (double)nreq;
		r.ops_s = strtod(fld[1], NULL);
		r.secs = r.ops / r.ops_s;
		r.mean_ns = ms_field(fld, 2, nf);
		r.p50_ns = ms_field(fld, 4, nf);
		r.p99_ns = ms_field(fld, 6, nf);
		r.max_ns = ms_field(fld, 7, nf);
		r.rss_mib = srv_hwm(s->pid);
		srv_cpu(s->pid, &u1, &s1);
		r.sys_us_op = (s1 - s0) / r.ops;
		r.cpu_us_op = (u1 - u0) / r.ops;
		results_add(&r);
		progress("  server %-11s %-10s %10.0f req/s", s->name, test,
			 r.ops_s);
	}
	if (f)
		fclose(f);
	waitpid(pid, NULL, 0);
	progress_done();
}

/*
 * srv_load -- n keys key:%010d, pipelined: with fields 0, SETs of
 * 100-byte values; else HSETs of that many fields f0, f1, ... of 100-byte
 * values each (a hash per key).
 */
static bool srv_load(int port, uint64_t n, unsigned fields)
{
	struct rbuf out = { 0 };
	struct rdr r;
	char val[100], key[KEY_LEN], names[HSET_FIELDS_MAX][8];
	struct resp_arg args[2 + 2 * HSET_FIELDS_MAX];
	size_t argc = 2;
	bool ok = rdr_open(&r, port);

	if (fields > HSET_FIELDS_MAX)
		die("srv_load: %u fields, at most %d", fields,
		    HSET_FIELDS_MAX);
	memset(val, 'x', sizeof(val));
	args[0] = fields ? (struct resp_arg){ "HSET", 4 } :
			   (struct resp_arg){ "SET", 3 };
	args[1] = (struct resp_arg){ key, KEY_LEN };
	for (unsigned f = 0; f < fields; f++) {
		args[argc++] = (struct resp_arg){
			names[f], (size_t)sprintf(names[f], "f%u", f) };
		args[argc++] = (struct resp_arg){ val, sizeof(val) };
	}
	if (!fields)
		args[argc++] = (struct resp_arg){ val, sizeof(val) };
	for (uint64_t i = 0; ok && i < n; i += 1000) {
		uint64_t m = n - i < 1000 ? n - i : 1000;

		out.len = 0;
		for (uint64_t k = i; k < i + m; k++) {
			key_format(key, k);
			resp_command(&out, argc, args);
		}
		if (out.nomem)
			die("out of memory");
		if (!send_all(r.fd, out.p, out.len))
			ok = false;
		for (uint64_t k = 0; ok && k < m; k++)
			if (rdr_reply(&r, NULL, 0) != (fields ? ':' : '+'))
				ok = false;
		if ((i & 65535) == 0)
			progress("  loading %3.0f%%",
				 100.0 * (double)i / (double)n);
	}
	progress_done();
	rdr_close(&r);
	rbuf_free(&out);
	return ok;
}

/*
 * srv_warm -- a million pipelined SETs over redis-benchmark's key space
 * (-r 1000000), untimed, so the timed runs that follow write into a store
 * already holding ~630,000 keys whose log has filled and been
 * checkpointed, as a server that has been up a while, not a fresh one.
 */
static void srv_warm(struct srv *s)
{
	char port[16], c[16];
	char *argv[] = {
		"redis-benchmark", "-h", "127.0.0.1", "-p", port,
		"-t", "set", "-n", "1000000", "-c", c, "-P", "16",
		"-r", "1000000", "-d", "100", "-q", NULL,
	};
	int st;
	pid_t pid;

	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(c, sizeof(c), "%u", g_opt.srv_clients);
	progress("  server %-11s 1M SETs first (untimed) ...", s->name);
	pid = spawn(argv, NULL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	progress_done();
}

/* srv_mem -- bytes the server holds for its keys now: pkv-server's pool
 * bytes in blocks, redis-server's used_memory; -1 if unknown. */
static double srv_mem(const struct srv *s)
{
	return !strcmp(s->name, "pkv-server") ?
	       srv_info(s->port, "pkv", "heap_allocated_bytes") :
	       srv_info(s->port, "memory", "used_memory");
}

/* srv_restart -- load n keys, SIGKILL, start again: time to first GET;
 * and the memory the keys took. */
static void srv_restart(struct srv *s, uint64_t n)
{
	double mem0, mem1;
	char get[128], key[KEY_LEN + 1], err[256], cnt[24];
	uint64_t t0, t1, answered = 0, loading = 0;
	int type = 0;
	struct result r;

	if (!srv_start(s))
		return;
	mem0 = srv_mem(s);
	if (!srv_load(s->port, n, 0)) {
		fprintf(stderr, "pkvbench: %s: loading %" PRIu64 " keys "
			"failed\n", s->name, n);
		srv_stop(s, SIGKILL);
		return;
	}
	mem1 = srv_mem(s);
	srv_stop(s, SIGKILL);
	key_format(key, n / 2);
	key[KEY_LEN] = 0;
	snprintf(get, sizeof(get), "GET %s\r\n", key);
	t0 = now_ns();
	s->pid = spawn(s->argv, s->log);
	for (;;) {
		err[0] = 0;
		type = srv_query(s->port, get, err, sizeof(err));
		if (type == '$' || type == 'n')
			break;
		if (type == '-' && !strncmp(err, "LOADING", 7))
			loading++;
		else if (type)
			answered++;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			fprintf(stderr, "pkvbench: %s exited after restart "
				"(%s); its log: %s\n", s->name, err, s->log);
			s->pid = 0;
			return;
		}
		if (now_ns() - t0 > 600000000000ull) {
			fprintf(stderr, "pkvbench: %s: no value within 600 s "
				"of a restart (%s)\n", s->name, err);
			srv_stop(s, SIGKILL);
			return;
		}
		usleep(500);
	}
	t1 = now_ns();
	if (n >= 1000000 && n % 1000000 == 0)
		snprintf(cnt, sizeof(cnt), "%" PRIu64 "M", n / 1000000);
	else
		snprintf(cnt, sizeof(cnt), "%" PRIu64 "k", n / 1000);
	result_init(&r, "recovery", "", s->name);
	snprintf(r.test, sizeof(r.test), "server restart %.12s keys", cnt);
	r.ref = !strcmp(s->name, "pkv-server");
	r.ops = 1;
	r.mean_ns = (double)(t1 - t0);
	snprintf(r.note, sizeof(r.note), "process start to first GET value"
		 "%s%s", loading ? "; answered LOADING meanwhile" : "",
		 type == 'n' ? "; KEY LOST" : "");
	r.misses = type == 'n';
	r.rss_mib = srv_hwm(s->pid);
	results_add(&r);
	srv_stop(s, SIGTERM);
	if (mem0 >= 0 && mem1 > mem0) {
		/* What the keys took: pkv's pool bytes in blocks (entries,
		 * their headers and the bucket array), Redis's used_memory
		 * (its allocator's view, dictionaries included). */
		result_init(&r, "recovery", "", s->name);
		snprintf(r.test, sizeof(r.test), "memory per key, %.12s keys",
			 cnt);
		r.ref = !strcmp(s->name, "pkv-server");
		r.ops = 1;
		r.bytes_key = (mem1 - mem0) / (double)n;
		snprintf(r.note, sizeof(r.note), "%s per %u-byte key and "
			 "100-byte value", r.ref ? "pool bytes allocated" :
			 "used_memory", KEY_LEN);
		results_add(&r);
	}
}

/*
 * srv_hash_mem -- what a hash of HMEM_FIELDS fields of 100 bytes takes in
 * a fresh server: HMEM_KEYS of them loaded, pkv-server's pool bytes in
 * blocks (the key's entry, the hash's header, bucket arrays and fields)
 * or redis-server's used_memory, per hash.
 */
static void srv_hash_mem(struct srv *s)
{
	struct result r;
	double mem0, mem1;
	bool ok;

	if (!srv_start(s))
		return;
	mem0 = srv_mem(s);
	ok = srv_load(s->port, HMEM_KEYS, HMEM_FIELDS);
	mem1 = srv_mem(s);
	srv_stop(s, SIGTERM);
	if (!ok || mem0 < 0 || mem1 <= mem0) {
		fprintf(stderr, "pkvbench: %s: loading %u hashes failed\n",
			s->name, HMEM_KEYS);
		return;
	}
	result_init(&r, "recovery", "", s->name);
	snprintf(r.test, sizeof(r.test), "memory per %u-field hash",
		 HMEM_FIELDS);
	r.ref = !strcmp(s->name, "pkv-server");
	r.ops = 1;
	r.bytes_key = (mem1 - mem0) / HMEM_KEYS;
	snprintf(r.note, sizeof(r.note), "%s per hash of %u fields f0..f%u "
		 "with 100-byte values, %u hashes", r.ref ?
		 "pool bytes allocated" : "used_memory (hashtable: values "
		 "past listpack's 64 B)", HMEM_FIELDS, HMEM_FIELDS - 1,
		 HMEM_KEYS);
	results_add(&r);
}

static void rm_rf(const char *dir)
{
	char *argv[] = { "rm", "-rf", (char *)dir, NULL };
	pid_t pid = spawn(argv, NULL);
	waitpid(pid, NULL, 0);
}

void run_server(void)
{
	const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char pool[4096], aof[4096], size[32];
	uint64_t maxn = 0;
	struct srv s;

	if (!find_in_path(g_opt.server_bin)) {
		printf("server mode skipped: %s not found (build it, or give "
		       "--server-bin)\n", g_opt.server_bin);
		return;
	}
	if (!find_in_path("redis-server") || !find_in_path("redis-benchmark")) {
		printf("server mode skipped: redis-server or redis-benchmark "
		       "not on PATH (Debian: redis-server, redis-tools)\n");
		return;
	}
	snprintf(g_tmp, sizeof(g_tmp), "%s/pkvbench-XXXXXX", tmpdir);
	if (!mkdtemp(g_tmp))
		die("mkdtemp %s: %s", g_tmp, strerror(errno));
	if (g_opt.aof_dir) {
		snprintf(aof, sizeof(aof), "%s/pkvbench-aof-%ld", g_opt.aof_dir,
			 g_runid);
		if (mkdir(aof, 0755) && errno != EEXIST)
			die("mkdir %s: %s", aof, strerror(errno));
	} else {
		snprintf(aof, sizeof(aof), "%s/aof", g_tmp);
		mkdir(aof, 0755);
	}
	store_path(pool, sizeof(pool), g_opt.dir, "server", "pool");
	for (unsigned i = 0; i < g_opt.nsrv_rec_counts; i++)
		if (g_opt.srv_rec_counts[i] > maxn)
			maxn = g_opt.srv_rec_counts[i];
	/* 2 GiB, or room for the largest restart load. */
	snprintf(size, sizeof(size), "%" PRIu64 "mb",
		 maxn * 400 / 1048576 + 2048);

	/* Throughput and latency. */
	for (int k = 0; k < 3; k++) {
		if (k == 0)
			srv_pkv(&s, pool, size);
		else
			srv_redis(&s, k == 2 ? aof : NULL, "always");
		unlink(pool);
		if (srv_start(&s)) {
			static const char *const tests[] = {
				"set", "get", "incr", "mset", "hset",
				"lpush", "lpop", "lrange_100", "sadd",
				"spop", "zadd",
			};
			for (unsigned p = 1; p <= 16; p += 15)
				for (size_t i = 0; i < sizeof(tests) /
				     sizeof(*tests); i++)
					srv_bench(&s, tests[i], p);
			srv_stop(&s, SIGTERM);
		}
		srv_free(&s);
		unlink(pool);
	}
	rm_rf(aof);
	mkdir(aof, 0755);

	/* Memory of small hashes, each server fresh. */
	for (int k = 0; k < 2; k++) {
		if (k == 0)
			srv_pkv(&s, pool, size);
		else
			srv_redis(&s, NULL, "always");
		unlink(pool);
		srv_hash_mem(&s);
		srv_free(&s);
		unlink(pool);
	}

	/* Restart after SIGKILL. */
	for (unsigned i = 0; i < g_opt.nsrv_rec_counts; i++) {
		uint64_t n = g_opt.srv_rec_counts[i];
		unlink(pool);
		srv_pkv(&s, pool, size);
		srv_restart(&s, n);
		srv_free(&s);
		unlink(pool);
		rm_rf(aof);
		mkdir(aof, 0755);
		srv_redis(&s, aof, "everysec");
		s.note = "appendfsync everysec, no rewrite";
		srv_restart(&s, n);
		srv_free(&s);
	}
	rm_rf(aof);
	rm_rf(g_tmp);
}

/*
 * run_server_disk -- the servers with their data on a disk (--disk-dir):
 * pkv-server's pool there (the file backend, whatever the environment
 * says about persistent memory), redis-server's append-only file there
 * with appendfsync always (every write durable before its reply, as
 * pkv's) and everysec (Redis's default, which may lose the last second).
 * Each server first takes a million SETs (srv_warm), then SET, INCR and
 * MSET at pipeline 1 and 16.
 */
void run_server_disk(void)
{
	const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char pool[4096], aof[4096], force[64] = "";
	struct srv s;

	if (getenv("PMEM_IS_PMEM_FORCE"))
		snprintf(force, sizeof(force), "%s",
			 getenv("PMEM_IS_PMEM_FORCE"));
	if (!find_in_path(g_opt.server_bin) || !find_in_path("redis-server") ||
	    !find_in_path("redis-benchmark")) {
		printf("disk server mode skipped: pkv-server, redis-server or "
		       "redis-benchmark not found\n");
		return;
	}
	snprintf(g_tmp, sizeof(g_tmp), "%s/pkvbench-XXXXXX", tmpdir);
	if (!mkdtemp(g_tmp))
		die("mkdtemp %s: %s", g_tmp, strerror(errno));
	snprintf(aof, sizeof(aof), "%s/pkvbench-aof-%ld", g_opt.disk_dir,
		 g_runid);
	store_path(pool, sizeof(pool), g_opt.disk_dir, "server", "pool");
	g_section = "disk-server";
	for (int k = 0; k < 3; k++) {
		static const char *const tests[] = { "set", "incr", "mset" };
		rm_rf(aof);
		if (mkdir(aof, 0755))
			die("mkdir %s: %s", aof, strerror(errno));
		unlink(pool);
		if (k == 0) {
			srv_pkv(&s, pool, "2gb");
			s.note = "durable: pool file on disk (file backend)";
			/* Not persistent memory, whatever pkvbench's own
			 * PMEM_IS_PMEM_FORCE says. */
			setenv("PMEM_IS_PMEM_FORCE", "0", 1);
		} else {
			srv_redis(&s, aof, k == 1 ? "always" : "everysec");
		}
		if (srv_start(&s)) {
			srv_warm(&s);
			for (unsigned p = 1; p <= 16; p += 15)
				for (int i = 0; i < 3; i++)
					srv_bench(&s, tests[i], p);
			srv_stop(&s, SIGTERM);
		}
		if (force[0])
			setenv("PMEM_IS_PMEM_FORCE", force, 1);
		else
			unsetenv("PMEM_IS_PMEM_FORCE");
		srv_free(&s);
		unlink(pool);
	}
	g_section = "server";
	rm_rf(aof);
	rm_rf(g_tmp);
}
