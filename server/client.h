/*
 * client.h -- one connection: its buffers, its protocol and database, its
 * transaction state; and the reply calls commands use.
 *
 * A command reads its arguments from c->argv and appends its reply with
 * the reply_* calls; the event loop (net.c) sends c->out when the command
 * has returned -- so a write's reply leaves only after the write is
 * durable, since every keyspace write call is durable on return.  Every
 * reply call goes through the output-buffer limits (obuf.h): a client
 * over them is closed, and the replies of a closing client are dropped.
 */
#ifndef PKV_CLIENT_H
#define PKV_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "blocking.h"
#include "pubsub.h"
#include "proto/resp.h"

struct queued;          /* a command queued by MULTI (multi.c) */
struct watched;         /* a key under WATCH (multi.c) */

struct client {
	int fd;
	uint64_t id;                  /* CLIENT ID */
	char addr[64];                /* "ip:port" of the peer */
	char laddr[64];               /* our end */
	struct client *prev, *next;   /* all clients (net.c) */

	char *qbuf;                   /* received, not yet parsed */
	size_t qlen, qcap;
	struct resp_req req;          /* the request being run */
	size_t argc;
	struct resp_arg *argv;        /* = req.argv while a command runs */

	struct rbuf out;              /* replies not yet sent */
	size_t sent;                  /* bytes of out already sent */
	bool want_write;              /* EPOLLOUT registered */
	struct client *gnext;         /* in this turn's group (net.c) */
	bool in_group;
	size_t group_mark;            /* out.len before the group's first
					 command of this client */
	size_t group_cmds;            /* commands it ran in the group */
	/* Held (net.c): its replies from hold_at on (where its group's
	 * start) are not sent before the group's sync; pnext links the
	 * submitted group, held_cmds counts its commands (for errors if the
	 * sync fails). */
	struct client *pnext;
	bool held;
	size_t hold_at, held_cmds;
	int64_t obuf_soft_since;      /* second its output was first seen
					 over the soft limit; 0 not (obuf.c) */

	unsigned db;                  /* SELECTed database */
	int proto;                    /* 2 or 3 (HELLO) */
	bool authed;
	bool close_asap;              /* error or QUIT: close after sending */
	bool closing_now;             /* drop without sending */
	char *name;                   /* CLIENT SETNAME */
	char *lib_name, *lib_ver;     /* CLIENT SETINFO */
	int64_t ctime_ms, last_ms;    /* created, last command */
	const char *last_cmd;         /* name of the last command */

	/* MULTI/EXEC (multi.c) */
	bool in_multi;
	bool in_exec;                 /* EXEC runs its queue: blocking
					 commands do not block */
	bool multi_error;             /* a queued command was refused */
	bool watch_dirty;             /* a watched key changed */
	struct queued *queue;
	size_t nqueued, capqueued;
	struct watched *watches;

	/* subscriptions (pubsub.c) */
	struct client_pubsub pubsub;

	/* blocking commands (blocking.c) */
	struct client_block block;
	struct client *resume_next;   /* unblocked with requests waiting
					 in qbuf (net.c) */
	bool resume;
};

/* Replies, in the client's protocol. */
void reply_ok(struct client *c);
void reply_simple(struct client *c, const char *s);
/* reply_help -- a HELP subcommand's answer: n lines, each a status. */
void reply_help(struct client *c, const char *const *lines, size_t n);
void reply_error(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void reply_int(struct client *c, int64_t n);
void reply_bulk(struct client *c, const void *p, size_t len);
void reply_cstr(struct client *c, const char *s);         /* bulk of s */
void reply_null(struct client *c);
void reply_null_array(struct client *c);
void reply_array(struct client *c, int64_t n);
void reply_map(struct client *c, int64_t n);
void reply_set(struct client *c, int64_t n);
void reply_push(struct client *c, int64_t n);   /* RESP3 push, RESP2 array */
void reply_double(struct client *c, double d);
void reply_bool(struct client *c, bool v);
void reply_verbatim(struct client *c, const char *text, size_t len);
/* reply_raw -- bytes already encoded in the client's protocol. */
void reply_raw(struct client *c, const void *p, size_t len);

/* reply_mark -- where the next reply will start, for reply_rewind. */
size_t reply_mark(const struct client *c);
/* reply_rewind -- take back the replies appended since mark (a command
 * that fails as a whole answers its error instead); possible because the
 * loop sends nothing while a command runs.  It only ever shortens the
 * output: a client closed meanwhile has none left. */
void reply_rewind(struct client *c, size_t mark);

/* Common errors, with Redis's exact text. */
void reply_err_arity(struct client *c, const char *cmd);
void reply_err_syntax(struct client *c);
void reply_err_int(struct client *c);     /* not an integer or out of range */
void reply_err_float(struct client *c);   /* not a valid float */
void reply_err_overflow(struct client *c);  /* an increment would overflow */
void reply_err_kv(struct client *c, int err); /* a libpkv failure */
/* reply_err_commit -- a group commit failed with err: the reply that
 * takes the place of each of its commands' (MISCONF for the disk's
 * failure, which is sticky). */
void reply_err_commit(struct client *c, int err);
/* reply_err_subcmd -- a container command (CLIENT, CONFIG...) called with
 * argv[1] not in subs (NULL-terminated, lowercase) or with the wrong
 * number of arguments for it, worded as Redis 7 does. */
void reply_err_subcmd(struct client *c, const char *cmd,
		      const char *const *subs);

/* client_info -- the client's CLIENT LIST line, without the newline
 * (also what the log says of a client it closes). */
void client_info(const struct client *c, char *buf, size_t len);

/* client_mem -- bytes the server holds for the client: the structure,
 * its query and output buffers, its request's arrays (CLIENT LIST's
 * tot-mem; summed in INFO's mem_clients_normal). */
size_t client_mem(const struct client *c);

/* Argument helpers. */
bool arg_is(const struct resp_arg *a, const char *word);  /* case-blind */
bool arg_ll(const struct resp_arg *a, long long *v);      /* strict */
bool arg_double(const struct resp_arg *a, double *v);

#endif /* PKV_CLIENT_H */
