/*
 * multi.c -- transactions (MULTI/EXEC/DISCARD) and optimistic locking
 * (WATCH/UNWATCH).
 *
 * EXEC runs the queued commands in the keyspace's exec mode: their writes
 * gather in one libpkv batch that commits as one durable transaction
 * before any reply leaves.  If the commit fails (the pool is full, or the
 * batch is larger than one redo log), none of the writes happened and the
 * replies gathered are replaced by one error.  FLUSHDB, FLUSHALL and
 * SWAPDB inside MULTI are applied when they are reached, not as part of
 * the batch.
 *
 * Watched keys live in one list; a write scans it (it is empty unless some
 * client uses WATCH).
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "keyspace.h"
#include "multi.h"
#include "srv.h"

struct queued {
	const struct command *cmd;
	size_t argc;
	struct resp_arg *argv;        /* each p malloc'd */
};

struct watched {
	struct client *c;
	int64_t exp;                  /* its expiry when watched (0: none) */
	unsigned db;
	char *key;
	size_t klen;
	struct watched *next;         /* in the global list */
	struct watched *cnext;        /* in the client's list */
};

static struct watched *watch_list;

/* queue_free -- drop every queued command. */
static void queue_free(struct client *c)
{
	for (size_t i = 0; i < c->nqueued; i++) {
		for (size_t k = 0; k < c->queue[i].argc; k++)
			free((void *)c->queue[i].argv[k].p);
		free(c->queue[i].argv);
	}
	free(c->queue);
	c->queue = NULL;
	c->nqueued = c->capqueued = 0;
	c->in_multi = false;
	c->multi_error = false;
}

/* multi_queue -- copy the request into the client's queue. */
void multi_queue(struct client *c, const struct command *cmd)
{
	struct queued *q;

	if (c->nqueued == c->capqueued) {
		size_t cap = c->capqueued ? 2 * c->capqueued : 8;
		struct queued *n = realloc(c->queue, cap * sizeof(*n));
		if (!n)
			goto nomem;
		c->queue = n;
		c->capqueued = cap;
	}
	q = &c->queue[c->nqueued];
	q->cmd = cmd;
	q->argc = c->argc;
	q->argv = calloc(c->argc, sizeof(*q->argv));
	if (!q->argv)
		goto nomem;
	for (size_t k = 0; k < c->argc; k++) {
		char *p = malloc(c->argv[k].len + 1);
		if (!p) {
			for (size_t j = 0; j < k; j++)
				free((void *)q->argv[j].p);
			free(q->argv);
			goto nomem;
		}
		memcpy(p, c->argv[k].p, c->argv[k].len);
		p[c->argv[k].len] = '\0';
		q->argv[k].p = p;
		q->argv[k].len = c->argv[k].len;
	}
	c->nqueued++;
	reply_simple(c, "QUEUED");
	return;
nomem:
	c->multi_error = true;
	reply_error(c, "ERR out of memory queueing the command");
}

/* unwatch_all -- forget the client's watched keys. */
static void unwatch_all(struct client *c)
{
	struct watched **pp = &watch_list;

	while (*pp) {
		struct watched *w = *pp;
		if (w->c == c) {
			*pp = w->next;
			free(w->key);
			free(w);
		} else {
			pp = &w->next;
		}
	}
	c->watches = NULL;
	c->watch_dirty = false;
}

/* multi_touch -- mark the watchers of one key. */
void multi_touch(unsigned db, const void *key, size_t klen)
{
	for (struct watched *w = watch_list; w; w = w->next)
		if (w->db == db && w->klen == klen &&
		    memcmp(w->key, key, klen) == 0)
			w->c->watch_dirty = true;
}

/* multi_touch_db -- before a flush or swap of db (with other, or db
 * itself): mark the watchers of keys that exist in either, as Redis 7.0
 * does (a watched key that does not exist is not changed by a flush). */
void multi_touch_db(unsigned db, unsigned other)
{
	for (struct watched *w = watch_list; w; w = w->next)
		if ((w->db == db || w->db == other) &&
		    (pkv_exists(srv.db, db, w->key, w->klen) == 0 ||
		     pkv_exists(srv.db, other, w->key, w->klen) == 0))
			w->c->watch_dirty = true;
}

/* watch_expired -- whether one of c's watched keys has expired since it
 * was watched (Redis 7 aborts the EXEC then). */
static bool watch_expired(struct client *c)
{
	int64_t now = pkv_now_ms();

	for (struct watched *w = c->watches; w; w = w->cnext)
		if (w->exp > 0 && w->exp <= now)
			return true;
	return false;
}

/* multi_client_free -- a client goes away. */
void multi_client_free(struct client *c)
{
	queue_free(c);
	unwatch_all(c);
}

/* MULTI */
static void cmd_multi(struct client *c)
{
	if (c->in_multi) {
		reply_error(c, "ERR MULTI calls can not be nested");
		return;
	}
	c->in_multi = true;
	c->multi_error = false;
	reply_ok(c);
}

/* DISCARD */
static void cmd_discard(struct client *c)
{
	if (!c->in_multi) {
		reply_error(c, "ERR DISCARD without MULTI");
		return;
	}
	queue_free(c);
	unwatch_all(c);
	reply_ok(c);
}

/* EXEC -- run the queue as one transaction. */
static void cmd_exec(struct client *c)
{
	size_t saved_argc = c->argc;
	struct resp_arg *saved_argv = c->argv;

	if (!c->in_multi) {
		reply_error(c, "ERR EXEC without MULTI");
		return;
	}
	if (c->multi_error) {
		queue_free(c);
		unwatch_all(c);
		reply_error(c, "EXECABORT Transaction discarded because of "
			    "previous errors.");
		return;
	}
	if (c->watch_dirty || watch_expired(c)) {
		queue_free(c);
		unwatch_all(c);
		reply_null_array(c);
		return;
	}
	unwatch_all(c);
	reply_array(c, (int64_t)c->nqueued);
	c->in_multi = false;   /* the queued commands run for real */
	c->in_exec = true;     /* ...and do not block */
	/*
	 * Each queued command runs in the turn's batch, so all of them
	 * commit together (a crash keeps all or none); one whose writes do
	 * not fit fails alone and answers the error, as in Redis, where a
	 * command of EXEC that fails does not stop the others.
	 */
	for (size_t i = 0; i < c->nqueued; i++) {
		struct ks_cmd kc;
		size_t mark = reply_mark(c);
		int err;
		c->argc = c->queue[i].argc;
		c->argv = c->queue[i].argv;
		ks_cmd_begin(&kc);
		cmd_exec_one(c, c->queue[i].cmd);
		if ((err = ks_cmd_end(&kc)) != 0) {
			reply_rewind(c, mark);
			reply_err_kv(c, err);
		}
	}
	c->in_exec = false;
	c->argc = saved_argc;
	c->argv = saved_argv;
	queue_free(c);
}

/* WATCH key... */
static void cmd_watch(struct client *c)
{
	if (c->in_multi) {
		reply_error(c, "ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (size_t i = 1; i < c->argc; i++) {
		struct watched *w = calloc(1, sizeof(*w));
		if (!w || !(w->key = malloc(c->argv[i].len + 1))) {
			free(w);
			reply_error(c, "ERR out of memory");
			return;
		}
		memcpy(w->key, c->argv[i].p, c->argv[i].len);
		w->klen = c->argv[i].len;
		w->db = c->db;
		if (ks_ttl(c->db, &c->argv[i], &w->exp))
			w->exp = 0;       /* missing: nothing to expire */
		w->c = c;
		w->next = watch_list;
		watch_list = w;
		w->cnext = c->watches;
		c->watches = w;
	}
	reply_ok(c);
}

/* UNWATCH */
static void cmd_unwatch(struct client *c)
{
	unwatch_all(c);
	reply_ok(c);
}

const struct command multi_commands[] = {
	{ "multi", 1, CMD_FAST | CMD_NOMULTI, 0, 0, 0, cmd_multi,
	  "transactions", "1.2.0", "Starts a transaction." },
	{ "exec", 1, CMD_NOMULTI, 0, 0, 0, cmd_exec, "transactions", "1.2.0",
	  "Executes all commands in a transaction." },
	{ "discard", 1, CMD_FAST | CMD_NOMULTI, 0, 0, 0, cmd_discard,
	  "transactions", "2.0.0", "Discards a transaction." },
	{ "watch", -2, CMD_FAST | CMD_NOMULTI, 1, -1, 1, cmd_watch,
	  "transactions", "2.2.0",
	  "Monitors changes to keys to determine the execution of a "
	  "transaction." },
	{ "unwatch", 1, CMD_FAST, 0, 0, 0, cmd_unwatch, "transactions",
	  "2.2.0", "Forgets about watched keys of a transaction." },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
