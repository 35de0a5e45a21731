/*
 * main.c -- pkv-server: options, logging, daemonizing, opening the pool,
 * signals, and the loop.
 *
 *     pkv-server [config-file] [--name value ...] [-v] [-h]
 *
 * The port is bound, then the pool opened (created when absent); an
 * unclean shutdown needs only the redo recovery at open -- the garbage
 * audit runs in the background -- so the server serves at once whatever
 * the number of keys.
 */
#include "config.h"   /* server/config.h */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bgdefrag.h"
#include "net.h"
#include "srv.h"

struct srv srv;
static volatile sig_atomic_t got_signal;

/* srv_rand -- xorshift64, seeded from the clock. */
uint64_t srv_rand(uint64_t n)
{
	static uint64_t s;

	if (!s)
		s = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull | 1;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s % n;
}

/* srv_log -- "pid:M 25 Nov 2026 07:00:00.123 * text", as Redis. */
void srv_log(int level, const char *fmt, ...)
{
	static const char marks[] = ".-*#";
	char msg[1024], when[64];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	FILE *f;

	if (level < srv.cfg.loglevel)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
	f = srv.cfg.logfile && srv.cfg.logfile[0] ?
		fopen(srv.cfg.logfile, "a") : stderr;
	if (!f)
		return;
	fprintf(f, "%ld:M %s.%03ld %c %s\n", (long)getpid(), when,
		ts.tv_nsec / 1000000, marks[level & 3], msg);
	if (f != stderr)
		fclose(f);
	else
		fflush(f);
}

static void on_signal(int sig)
{
	got_signal = sig;
	srv.shutdown_asap = true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: pkv-server [config-file] [--option value ...]\n"
		"       pkv-server -v | --version\n"
		"       pkv-server -h | --help\n\n"
		"Options (also config-file directives): port, bind, "
		"requirepass, pool,\n"
		"pool-size, databases, maxclients, proto-max-bulk-len,\n"
		"client-query-buffer-limit, client-output-buffer-limit,\n"
		"maxmemory-clients, max-args, timeout, logfile, "
		"loglevel,\n"
		"daemonize, pidfile, gc-interval, hz, dir, verify-checksums.\n\n"
		"Examples:\n"
		"       pkv-server --port 7777 --pool /dev/shm/my.pool "
		"--pool-size 1gb\n"
		"       pkv-server /etc/pkv/pkv-server.conf --loglevel "
		"verbose\n\nSee pkv-server(1).\n");
}

/* parse_args -- config file first, then "--name value..." pairs. */
static int parse_args(int argc, char **argv)
{
	char err[512];
	int i = 1;

	if (i < argc && argv[i][0] != '-') {
		char real[PATH_MAX];
		if (config_load_file(&srv.cfg, argv[i], err, sizeof(err))) {
			fprintf(stderr, "pkv-server: %s\n", err);
			return -1;
		}
		srv.config_file = strdup(realpath(argv[i], real) ? real
								 : argv[i]);
		i++;
	}
	while (i < argc) {
		char value[4096] = "";
		const char *name = argv[i];
		size_t vl = 0;

		if (strncmp(name, "--", 2) != 0 || !name[2]) {
			fprintf(stderr, "pkv-server: unexpected argument '%s' "
				"(options look like --port 6380)\n", name);
			return -1;
		}
		name += 2;
		for (i++; i < argc && strncmp(argv[i], "--", 2) != 0; i++) {
			int n = snprintf(value + vl, sizeof(value) - vl, "%s%s",
					 vl ? " " : "", argv[i]);
			if (n > 0)
				vl += (size_t)n;
		}
		if (config_set(&srv.cfg, name, value, false, err,
			       sizeof(err))) {
			fprintf(stderr, "pkv-server: --%s %s: %s\n", name,
				value, err);
			return -1;
		}
	}
	return 0;
}

/* daemonize -- fork into the background, as redis-server does. */
static void daemonize(void)
{
	int fd;

	if (fork() != 0)
		exit(0);
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (srv.cfg.logfile && srv.cfg.logfile[0])
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* open_pool -- open or create the pool; logs how long it took. */
static int open_pool(void)
{
	struct pkv_options o;
	struct timespec t0, t1;
	uint64_t keys = 0;
	int err;

	pkv_options_init(&o);
	o.flags = PKV_CREATE | (srv.cfg.verify_checksums ? PKV_VERIFY : 0) |
		  (srv.cfg.pool_auto_grow ? PKV_AUTOGROW : 0);
	o.size = srv.cfg.pool_size;
	o.max_size = srv.cfg.pool_max_size;
	o.databases = (unsigned)srv.cfg.databases;
	o.audit = PKV_AUDIT_BACKGROUND;   /* serve first, tidy up after */
	o.gc_interval_ms = (unsigned)srv.cfg.gc_interval_ms;
	o.expire_interval_ms = (unsigned)(1000 / srv.cfg.hz);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = pkv_open(srv.cfg.pool, &o, &srv.db);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (err) {
		srv_log(3, "Cannot open pool %s: %s", srv.cfg.pool,
			pkv_errmsg(NULL));
		return -1;
	}
	srv.open_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull +
		      (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	for (unsigned d = 0; d < pkv_databases(srv.db); d++) {
		uint64_t k = 0;
		pkv_dbsize(srv.db, d, &k, NULL);
		keys += k;
	}
	srv.keys_at_start = keys;
	{
		/* Not pkv_stats: it would read the whole heap before the
		 * first request is served. */
		struct pkv_open_info oi;
		pkv_open_info(srv.db, &oi);
		srv_log(2, "Pool %s open in %.3f ms (%s shutdown before; %llu "
			"keys, nothing to load; %llu commits replayed from the "
			"log, %llu changes, in %.3f ms)", srv.cfg.pool,
			srv.open_ns / 1e6, oi.clean_shutdown ? "clean" :
			"unclean", (unsigned long long)keys,
			(unsigned long long)oi.recovery_records,
			(unsigned long long)oi.recovery_entries,
			oi.recovery_ns / 1e6);
		srv_log(2, "Persistence: %s backend, because %s; every write "
			"is durable before its reply", oi.backend,
			oi.backend_why);
		/* pool-size makes new pools; an open pool grows only when
		 * asked (CONFIG SET pool-size, pool-auto-grow), so a
		 * restart never changes its size.  CONFIG GET pool-size
		 * says what it is. */
		if (srv.cfg.pool_size > oi.pool_size)
			srv_log(2, "Pool %s is %llu bytes (pool-size %llu is "
				"for new pools; CONFIG SET pool-size grows "
				"this one, up to %llu)", srv.cfg.pool,
				(unsigned long long)oi.pool_size,
				(unsigned long long)srv.cfg.pool_size,
				(unsigned long long)oi.pool_max_size);
		srv.cfg.pool_size = oi.pool_size;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	FILE *pf;

	if (argc == 2 && (!strcmp(argv[1], "-v") ||
			  !strcmp(argv[1], "--version"))) {
		printf("pkv-server v=%s (Redis protocol %s compatible)\n",
		       pkv_version(), "7.0");
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	config_defaults(&srv.cfg);
	if (parse_args(argc, argv)) {
		usage(stderr);
		return 1;
	}
	if (srv.cfg.dir && chdir(srv.cfg.dir)) {
		fprintf(stderr, "pkv-server: cannot change to directory %s: "
			"%s\n", srv.cfg.dir, strerror(errno));
		return 1;
	}
	if (srv.cfg.daemonize)
		daemonize();
	srv.start_ms = pkv_now_ms();
	srv.lastsave_s = srv.start_ms / 1000;
	srv_log(2, "pkv-server %s starting, pid=%ld", pkv_version(),
		(long)getpid());

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Bind first: a server that cannot listen must not open (and, on
	 * closing, declare cleanly shut down) a pool another start left. */
	if (net_listen())
		return 1;
	if (open_pool())
		return 1;
	if (srv.cfg.pidfile && srv.cfg.pidfile[0]) {
		pf = fopen(srv.cfg.pidfile, "w");
		if (pf) {
			fprintf(pf, "%ld\n", (long)getpid());
			fclose(pf);
		} else {
			srv_log(3, "Failed to write PID file %s: %s",
				srv.cfg.pidfile, strerror(errno));
		}
	}
	srv_log(2, "Ready to accept connections tcp on %s:%d", srv.cfg.bind,
		srv.cfg.port);
	net_run();
	if (got_signal)
		srv_log(3, "Received %s scheduling shutdown...",
			got_signal == SIGINT ? "SIGINT" : "SIGTERM");
	bgdefrag_wait();
	pkv_close(srv.db);
	if (srv.cfg.pidfile && srv.cfg.pidfile[0])
		unlink(srv.cfg.pidfile);
	srv_log(3, "pkv-server is now ready to exit, bye bye...");
	return 0;
}
