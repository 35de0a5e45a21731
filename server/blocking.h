/*
 * blocking.h -- clients blocked by BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and
 * BLMPOP until a key they wait on gets elements or their timeout passes.
 *
 * A blocking command that finds nothing keeps a copy of itself and calls
 * blocking_block; the client then runs nothing else (its later requests
 * wait in its query buffer).  Every write to a key (keyspace.c) calls
 * blocking_touch: if clients wait on that key it becomes ready, and after
 * the command that wrote it (EXEC included) the loop (net.c) runs the
 * waiting clients' commands again, in the order the clients blocked, in
 * the same turn's batch -- so the pop commits with the push that woke it,
 * and its reply leaves only once both are durable.  A command run again
 * (c->block.retrying) that still finds nothing stays blocked and replies
 * nothing; one that pops calls blocking_unblock.  A timeout answers the
 * command's null reply.
 */
#ifndef PKV_BLOCKING_H
#define PKV_BLOCKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/resp.h"

struct client;
struct command;
struct bkey;

/* What a client blocked with (in struct client). */
struct client_block {
	bool blocked;
	bool retrying;                /* its command is running again */
	bool null_bulk;               /* a timeout answers a null bulk
					 (BLMOVE), not a null array */
	uint64_t seq;                 /* order it blocked in */
	int64_t deadline_ms;          /* 0: none */
	const struct command *cmd;
	size_t argc;
	struct resp_arg *argv;        /* the command, kept (one allocation
					 with its bytes) */
	struct bkey **keys;           /* what it waits on */
	size_t nkeys;
	struct client *prev, *next;   /* every blocked client */
};

/* blocking_block -- block c (running cmd) on the keys argv[first],
 * argv[first+step]... up to argv[last] of its database, until deadline_ms
 * (absolute; 0 forever).  Returns false (nothing done) without memory;
 * the command then answers as if it timed out. */
bool blocking_block(struct client *c, const struct command *cmd,
		    size_t first, size_t last, size_t step, int64_t deadline_ms,
		    bool null_bulk);

/* blocking_wait -- what a blocking command does when it finds nothing to
 * pop: block c (its command, on argv[first..last]) until deadline_ms;
 * or, inside EXEC or without memory, answer the timeout's null reply
 * now (a null bulk when null_bulk, else a null array).  Run again while
 * blocked, it does nothing: the client still waits. */
void blocking_wait(struct client *c, size_t first, size_t last,
		   int64_t deadline_ms, bool null_bulk);

/* blocking_unblock -- c no longer waits (served, timed out, closed). */
void blocking_unblock(struct client *c);

/* blocking_touch -- key of db was written. */
void blocking_touch(unsigned db, const void *key, size_t klen);

/* blocking_touch_all -- every key may have changed (FLUSHALL, SWAPDB...):
 * every waiting client runs again. */
void blocking_touch_all(void);

/* blocking_take -- the clients waiting on keys touched since the last
 * call, in the order they blocked, each once: their number, and an
 * array of them (the caller frees it) to *out.  Running one may unblock
 * others: check each is still blocked before running it. */
size_t blocking_take(struct client ***out);

/* blocking_count -- clients blocked now (INFO's blocked_clients). */
uint64_t blocking_count(void);

/* blocking_next_deadline -- the earliest deadline of a blocked client
 * (ms), or 0 if none has one. */
int64_t blocking_next_deadline(void);

/* blocking_expired -- a blocked client whose deadline is <= now, or NULL. */
struct client *blocking_expired(int64_t now);

/* blocking_timeout_parse -- a blocking command's timeout argument
 * (seconds, a float) as an absolute deadline in ms (0: forever); false
 * after replying Redis's error. */
bool blocking_timeout_parse(struct client *c, const struct resp_arg *a,
			    int64_t *deadline_ms);

#endif /* PKV_BLOCKING_H */
