/*
 * srv.h -- the server's process-wide state: configuration, the open
 * pool, the clients, counters.  One instance, `srv`, set up by main.c.
 */
#ifndef PKV_SRV_H
#define PKV_SRV_H

#include <stdbool.h>
#include <stdint.h>

#include "pkv.h"
#include "config.h"

struct client;

struct srv {
	struct config cfg;
	pkv *db;
	char *config_file;            /* absolute path, or NULL */
	int listen_fd;
	int epfd;
	struct client *clients;       /* list head */
	uint64_t nclients;
	uint64_t next_client_id;
	bool shutdown_asap;           /* SIGTERM, SHUTDOWN */
	int64_t start_ms;             /* when the server started */
	uint64_t open_ns;             /* pkv_open, recovery included */
	uint64_t keys_at_start;

	/* counters for INFO */
	uint64_t total_connections;
	uint64_t rejected_connections;
	uint64_t total_commands;
	uint64_t net_input_bytes, net_output_bytes;
	uint64_t keyspace_hits, keyspace_misses;
	uint64_t errors_total;
	uint64_t qbuf_limit_disconnections;  /* client-query-buffer-limit */
	uint64_t obuf_limit_disconnections;  /* client-output-buffer-limit */
	int64_t lastsave_s;           /* every write is saved: start time,
					 then the last write's time */
	uint64_t dirty;               /* writes since start */
};

extern struct srv srv;

/* srv_log -- a line to the log file (or stderr) with Redis's prefix;
 * level: 0 debug, 1 verbose, 2 notice, 3 warning. */
void srv_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* srv_rand -- a pseudo-random number below n (n > 0), for the commands
 * that pick at random (HRANDFIELD, SPOP, SRANDMEMBER); seeded from the
 * clock at the first call. */
uint64_t srv_rand(uint64_t n);

/*
 * SRV_RAND_DRAWS -- the most elements SRANDMEMBER and HRANDFIELD take by
 * single draws, O(1) each on average (distinct ones in at most 8 times
 * as many tries, each compared with those before); more come from one
 * read of the whole set or hash, O(its size): HRANDFIELD used to read a
 * hash of a million fields, 348 ms, to pick one.
 */
#define SRV_RAND_DRAWS 16u

/*
 * SRV_RAND_MAX_REPEATS -- the most elements SRANDMEMBER, HRANDFIELD and
 * ZRANDMEMBER give for a negative count (repeats allowed); a count beyond
 * it answers "ERR value is out of range".  That reply grows with the
 * count, not with the data, and is built in one turn: SRANDMEMBER s
 * -722222222 (the server fuzzer's) took 4 GiB before a byte was sent, and
 * ZRANDMEMBER read the set once per element.  Redis takes up to 2^62 and
 * builds gigabytes; 4 Mi elements are about 0.2 s and tens of MB.
 */
#define SRV_RAND_MAX_REPEATS (1ll << 22)

#endif /* PKV_SRV_H */
