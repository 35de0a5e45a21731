/*
 * cmd.c -- command lookup and dispatch (see cmd.h).
 *
 * The groups' tables are merged into one sorted array at first use, so a
 * lookup is a binary search on the lowercased name.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "multi.h"
#include "srv.h"

static const struct command **table;
static unsigned ntable;

static int cmd_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct command *const *)a)->name,
		      (*(const struct command *const *)b)->name);
}

/* cmd_init -- merge and sort the groups' tables once. */
static void cmd_init(void)
{
	const struct command *groups[] = { string_commands, hash_commands,
					   list_commands, set_commands,
					   zset_commands, pubsub_commands,
					   key_commands,
					   server_commands, conn_commands,
					   multi_commands };
	unsigned n = 0;

	if (table)
		return;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (const struct command *c = groups[g]; c->name; c++)
			n++;
	table = malloc(n * sizeof(*table));
	if (!table)
		abort();  /* at startup: nothing to lose */
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (const struct command *c = groups[g]; c->name; c++)
			table[ntable++] = c;
	qsort(table, ntable, sizeof(*table), cmd_cmp);
}

/* cmd_lookup -- binary search on the lowercased name. */
const struct command *cmd_lookup(const char *name, size_t len)
{
	char low[64];
	unsigned lo = 0, hi;

	cmd_init();
	if (len == 0 || len >= sizeof(low))
		return NULL;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[len] = '\0';
	hi = ntable;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		int r = strcmp(table[mid]->name, low);
		if (r == 0)
			return table[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* cmd_foreach -- visit every command in name order. */
void cmd_foreach(void (*fn)(void *ctx, const struct command *cmd), void *ctx)
{
	cmd_init();
	for (unsigned i = 0; i < ntable; i++)
		fn(ctx, table[i]);
}

unsigned cmd_count(void)
{
	cmd_init();
	return ntable;
}

/* reply_unknown -- Redis's text, with up to 128 bytes of arguments. */
static void reply_unknown(struct client *c)
{
	char args[160] = "";
	size_t n = 0;

	for (size_t i = 1; i < c->argc && n < 128; i++) {
		int k = snprintf(args + n, sizeof(args) - n, "'%.*s' ",
				 (int)(c->argv[i].len < 128 - n ?
				       c->argv[i].len : 128 - n),
				 c->argv[i].p);
		if (k < 0)
			break;
		n += (size_t)k;
		if (n >= sizeof(args))
			n = sizeof(args) - 1;
	}
	reply_error(c, "ERR unknown command '%.*s', with args beginning "
		    "with: %s", (int)(c->argv[0].len < 128 ? c->argv[0].len
						      : 128),
		    c->argv[0].p, args);
}

/* cmd_exec_one -- run a command that passed the checks. */
void cmd_exec_one(struct client *c, const struct command *cmd)
{
	srv.total_commands++;
	c->last_cmd = cmd->name;
	cmd->proc(c);
}

/* cmd_call -- checks, MULTI queueing, then the command. */
void cmd_call(struct client *c)
{
	const struct command *cmd;

	if (c->argc == 0)
		return;
	cmd = cmd_lookup(c->argv[0].p, c->argv[0].len);
	if (!cmd) {
		if (c->in_multi)
			c->multi_error = true;
		reply_unknown(c);
		return;
	}
	if ((cmd->arity > 0 && c->argc != (size_t)cmd->arity) ||
	    (cmd->arity < 0 && c->argc < (size_t)-cmd->arity)) {
		if (c->in_multi)
			c->multi_error = true;
		reply_err_arity(c, cmd->name);
		return;
	}
	if (!c->authed && !(cmd->flags & CMD_NOAUTH)) {
		if (c->in_multi)
			c->multi_error = true;
		reply_error(c, "NOAUTH Authentication required.");
		return;
	}
	if (!pubsub_allowed(c, cmd->name)) {
		if (c->in_multi)
			c->multi_error = true;
		reply_error(c, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / "
			    "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed "
			    "in this context", cmd->name);
		return;
	}
	if (c->in_multi && !(cmd->flags & CMD_NOMULTI)) {
		multi_queue(c, cmd);
		return;
	}
	cmd_exec_one(c, cmd);
}
