/*
 * cmd.h -- the command table and dispatch.
 *
 * Each command names its arity (as Redis: n exactly, -n at least n
 * arguments counting the name), flags, key positions and a summary for
 * COMMAND INFO/DOCS.  cmd_call runs one request for a client: lookup,
 * arity, authentication, MULTI queueing, then the command.
 */
#ifndef PKV_CMD_H
#define PKV_CMD_H

#include <stdbool.h>
#include <stddef.h>

struct client;

#define CMD_WRITE    0x01u
#define CMD_READONLY 0x02u
#define CMD_ADMIN    0x04u
#define CMD_NOAUTH   0x08u  /* allowed before AUTH */
#define CMD_FAST     0x10u
#define CMD_NOMULTI  0x20u  /* run at once even inside MULTI */
#define CMD_DENYOOM  0x40u

struct command {
	const char *name;             /* lowercase */
	int arity;
	unsigned flags;
	int first_key, last_key, step;
	void (*proc)(struct client *c);
	const char *group;            /* "string", "generic", "server", ... */
	const char *since;
	const char *summary;
};

/* The tables of each command group (cmd_*.c), NULL-name terminated. */
extern const struct command string_commands[];
extern const struct command hash_commands[];
extern const struct command list_commands[];
extern const struct command set_commands[];
extern const struct command zset_commands[];
extern const struct command pubsub_commands[];
extern const struct command key_commands[];
extern const struct command server_commands[];
extern const struct command conn_commands[];
extern const struct command multi_commands[];

/* cmd_lookup -- a command by name (case-blind), or NULL. */
const struct command *cmd_lookup(const char *name, size_t len);

/* cmd_foreach -- every command, for COMMAND. */
void cmd_foreach(void (*fn)(void *ctx, const struct command *cmd),
		 void *ctx);
unsigned cmd_count(void);

/* cmd_call -- run the request in c->argv (see above). */
void cmd_call(struct client *c);

/* cmd_exec_one -- run an already checked command (EXEC uses it). */
void cmd_exec_one(struct client *c, const struct command *cmd);

#endif /* PKV_CMD_H */
