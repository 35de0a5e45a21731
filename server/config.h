/*
 * config.h -- the server's options: defaults, a redis.conf-style file,
 * "--name value" flags, and CONFIG GET/SET, all from one table.
 */
#ifndef PKV_CONFIG_H
#define PKV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The client classes of client-output-buffer-limit, in Redis's order
 * (CONFIG GET lists them so).  pkv has neither replicas nor pub/sub yet:
 * every client is normal, and the other two are kept for CONFIG. */
enum obuf_class { OBUF_NORMAL, OBUF_REPLICA, OBUF_PUBSUB, OBUF_CLASSES };

/* One class's output-buffer limits; 0 turns a limit off. */
struct obuf_limit {
	uint64_t hard;                /* bytes: closed as soon as reached */
	uint64_t soft;                /* bytes: closed when reached for more
					 than soft_seconds */
	long long soft_seconds;
};

struct config {
	int port;                     /* 6379 */
	char *bind;                   /* "127.0.0.1" (space-separated list
					 accepted; the first is used) */
	char *requirepass;            /* NULL or "": none */
	char *pool;                   /* pool file ("pkv.pool") */
	uint64_t pool_size;           /* for a new pool (1gb); a bigger
					 value grows the pool (at start,
					 or CONFIG SET) */
	uint64_t pool_max_size;       /* the most a new pool may grow to
					 (0: it keeps pool-size) */
	bool pool_auto_grow;          /* a write that finds the pool full
					 grows it (PKV_AUTOGROW) */
	long long databases;          /* for a new pool (16) */
	long long maxclients;         /* 10000 */
	uint64_t proto_max_bulk_len;  /* 512mb */
	uint64_t client_query_buffer_limit; /* 1gb */
	struct obuf_limit obuf_limits[OBUF_CLASSES]; /* normal 0 0 0,
					 replica 256mb 64mb 60, pubsub 32mb 8mb
					 60 (obuf.h) */
	long long maxmemory_clients;  /* bytes, or minus a percentage of
					 maxmemory, as Redis keeps it; 0 off.
					 Accepted; pkv does not evict clients */
	long long max_args;           /* per request (1048576) */
	long long timeout;            /* idle seconds before closing; 0 off */
	char *logfile;                /* "" = stderr */
	int loglevel;                 /* 0 debug .. 3 warning (notice) */
	bool daemonize;
	bool verify_checksums;        /* PKV_VERIFY: reads check checksums */
	char *pidfile;                /* "" = none */
	long long gc_interval_ms;     /* background collection (0: on demand) */
	bool activedefrag;            /* MEMORY PURGE's defragmentation by
					 itself when fragmented (no) */
	uint64_t active_defrag_ignore_bytes;  /* not below this much
					 fragmentation (100mb) */
	long long active_defrag_threshold_lower;  /* nor below this percent
					 (10) */
	long long hz;                 /* expiry sweeps per second (10) */
	char *dir;                    /* working directory (".") */
};

/* config_defaults -- fill cfg with the defaults. */
void config_defaults(struct config *cfg);

/*
 * config_set -- set option name (case-blind) from text; immutable
 * options only when !running.  Returns 0, or -1 with a message in err
 * (Redis's wording where Redis has one).
 */
int config_set(struct config *cfg, const char *name, const char *value,
	       bool running, char *err, size_t errlen);

/*
 * config_load_file -- read a redis.conf-style file: one "name value..."
 * per line, '#' comments, quoted values.  Returns 0 or -1 with err
 * naming the file and line.
 */
int config_load_file(struct config *cfg, const char *path, char *err,
		     size_t errlen);

/*
 * config_get -- call fn for each option whose name matches the glob
 * pattern, case-blind (proto/glob.h), with its current value as text.
 */
void config_get(const struct config *cfg, const char *pattern,
		void (*fn)(void *ctx, const char *name, const char *value),
		void *ctx);

/* config_parse_size -- "1gb", "512mb", "64k", "100" -> bytes; -1 bad. */
long long config_parse_size(const char *s);

#endif /* PKV_CONFIG_H */
