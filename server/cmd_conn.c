/*
 * cmd_conn.c -- connection commands: PING, ECHO, QUIT, AUTH, HELLO,
 * SELECT, CLIENT, and the HTTP guard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "net.h"
#include "srv.h"

#define PKV_REDIS_COMPAT "7.0.15"   /* the Redis we answer as */

/* PING [message] */
static void cmd_ping(struct client *c)
{
	if (c->argc > 2) {
		reply_err_arity(c, "ping");
		return;
	}
	if (c->proto < 3 && pubsub_count(c)) {   /* subscribed: as Redis */
		reply_array(c, 2);
		reply_cstr(c, "pong");
		reply_bulk(c, c->argc == 2 ? c->argv[1].p : "",
			   c->argc == 2 ? c->argv[1].len : 0);
	} else if (c->argc == 2) {
		reply_bulk(c, c->argv[1].p, c->argv[1].len);
	} else {
		reply_simple(c, "PONG");
	}
}

/* ECHO message */
static void cmd_echo(struct client *c)
{
	reply_bulk(c, c->argv[1].p, c->argv[1].len);
}

/* QUIT -- reply, then close once the reply is out. */
static void cmd_quit(struct client *c)
{
	reply_ok(c);
	c->close_asap = true;
}

/* check_password -- user may be NULL or "default". */
static bool check_password(const struct resp_arg *user,
			   const struct resp_arg *pass)
{
	const char *rp = srv.cfg.requirepass ? srv.cfg.requirepass : "";
	size_t n = strlen(rp);

	if (user && !arg_is(user, "default"))
		return false;
	if (!n)
		return true;   /* the default user has no password */
	return pass->len == n && memcmp(pass->p, rp, n) == 0;
}

/* AUTH [username] password */
static void cmd_auth(struct client *c)
{
	const struct resp_arg *user = c->argc == 3 ? &c->argv[1] : NULL;

	if (c->argc > 3) {
		reply_err_syntax(c);
		return;
	}
	if (!user && (!srv.cfg.requirepass || !srv.cfg.requirepass[0])) {
		reply_error(c, "ERR AUTH <password> called without any password "
			    "configured for the default user. Are you sure "
			    "your configuration is correct?");
		return;
	}
	if (!check_password(user, &c->argv[c->argc - 1])) {
		reply_error(c, "WRONGPASS invalid username-password pair or "
			    "user is disabled.");
		return;
	}
	c->authed = true;
	reply_ok(c);
}

/* valid_name -- CLIENT SETNAME's rule: printable, no spaces. */
static bool valid_name(const struct resp_arg *a)
{
	for (size_t i = 0; i < a->len; i++)
		if (a->p[i] < '!' || a->p[i] > '~')
			return false;
	return true;
}

static void set_name(struct client *c, const struct resp_arg *a)
{
	free(c->name);
	c->name = NULL;
	if (a->len) {
		c->name = malloc(a->len + 1);
		if (c->name) {
			memcpy(c->name, a->p, a->len);
			c->name[a->len] = '\0';
		}
	}
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
static void cmd_hello(struct client *c)
{
	long long ver = c->proto;
	size_t i = 1;
	const struct resp_arg *name = NULL;

	if (c->argc >= 2) {
		if (!arg_ll(&c->argv[1], &ver)) {
			reply_error(c, "ERR Protocol version is not an integer "
				    "or out of range");
			return;
		}
		i = 2;
		if (ver < 2 || ver > 3) {
			reply_error(c, "NOPROTO unsupported protocol version");
			return;
		}
	}
	for (; i < c->argc; i++) {
		if (arg_is(&c->argv[i], "AUTH") && i + 2 < c->argc) {
			if (!check_password(&c->argv[i + 1], &c->argv[i + 2])) {
				reply_error(c, "WRONGPASS invalid username-"
					    "password pair or user is "
					    "disabled.");
				return;
			}
			c->authed = true;
			i += 2;
		} else if (arg_is(&c->argv[i], "SETNAME") && i + 1 < c->argc) {
			name = &c->argv[++i];
			if (!valid_name(name)) {
				reply_error(c, "ERR Client names cannot contain "
					    "spaces, newlines or special "
					    "characters.");
				return;
			}
		} else {
			reply_error(c, "ERR Syntax error in HELLO option '%.*s'",
				    (int)c->argv[i].len, c->argv[i].p);
			return;
		}
	}
	if (!c->authed) {
		reply_error(c, "NOAUTH HELLO must be called with the client "
			    "already authenticated, otherwise the HELLO AUTH "
			    "<user> <pass> option can be used to authenticate "
			    "the client and select the RESP protocol version "
			    "at the same time");
		return;
	}
	if (name)
		set_name(c, name);
	c->proto = (int)ver;
	reply_map(c, 7);
	reply_cstr(c, "server");
	reply_cstr(c, "redis");
	reply_cstr(c, "version");
	reply_cstr(c, PKV_REDIS_COMPAT);
	reply_cstr(c, "proto");
	reply_int(c, c->proto);
	reply_cstr(c, "id");
	reply_int(c, (int64_t)c->id);
	reply_cstr(c, "mode");
	reply_cstr(c, "standalone");
	reply_cstr(c, "role");
	reply_cstr(c, "master");
	reply_cstr(c, "modules");
	reply_array(c, 0);
}

/* SELECT index */
static void cmd_select(struct client *c)
{
	long long db;

	if (!arg_ll(&c->argv[1], &db)) {
		reply_err_int(c);
		return;
	}
	if (db < 0 || db >= (long long)pkv_databases(srv.db)) {
		reply_error(c, "ERR DB index is out of range");
		return;
	}
	c->db = (unsigned)db;
	reply_ok(c);
}

/*
 * client_unblock -- CLIENT UNBLOCK id [TIMEOUT|ERROR]: the client blocked
 * in a BLPOP (or the like) answers now, as on its timeout or with
 * Redis's UNBLOCKED error; 1 if it was blocked, else 0.
 */
static void client_unblock(struct client *c)
{
	bool error = false;
	long long id;

	if (c->argc == 4) {
		if (arg_is(&c->argv[3], "error"))
			error = true;
		else if (!arg_is(&c->argv[3], "timeout")) {
			reply_error(c, "ERR CLIENT UNBLOCK reason should be "
				    "TIMEOUT or ERROR");
			return;
		}
	}
	if (!arg_ll(&c->argv[2], &id)) {
		reply_err_int(c);
		return;
	}
	for (struct client *k = net_clients(); k; k = k->next) {
		if ((long long)k->id != id || !k->block.blocked)
			continue;
		net_client_output(k);
		if (error)
			reply_error(k, "UNBLOCKED client unblocked via CLIENT "
				    "UNBLOCK");
		else if (k->block.null_bulk)
			reply_null(k);
		else
			reply_null_array(k);
		blocking_unblock(k);
		net_client_unblocked(k);
		reply_int(c, 1);
		return;
	}
	reply_int(c, 0);
}

/* client_kill -- CLIENT KILL, old (addr) and new (filters) forms. */
static void client_kill(struct client *c)
{
	long long id = -1;
	const struct resp_arg *addr = NULL, *laddr = NULL;
	bool skipme = true;
	long long killed = 0;

	if (c->argc == 3) {
		addr = &c->argv[2];
	} else if (c->argc % 2 == 0) {
		for (size_t i = 2; i < c->argc; i += 2) {
			const struct resp_arg *v = &c->argv[i + 1];
			if (arg_is(&c->argv[i], "ID")) {
				if (!arg_ll(v, &id) || id <= 0) {
					reply_error(c, "ERR client-id should be "
						    "greater than 0");
					return;
				}
			} else if (arg_is(&c->argv[i], "ADDR")) {
				addr = v;
			} else if (arg_is(&c->argv[i], "LADDR")) {
				laddr = v;
			} else if (arg_is(&c->argv[i], "SKIPME")) {
				if (arg_is(v, "yes"))
					skipme = true;
				else if (arg_is(v, "no"))
					skipme = false;
				else {
					reply_err_syntax(c);
					return;
				}
			} else if (arg_is(&c->argv[i], "USER")) {
				if (!arg_is(v, "default")) {
					reply_error(c, "ERR No such user '%.*s'",
						    (int)v->len, v->p);
					return;
				}
			} else {
				reply_err_syntax(c);
				return;
			}
		}
	} else {
		reply_err_syntax(c);
		return;
	}
	for (struct client *k = net_clients(); k; k = k->next) {
		if (id > 0 && k->id != (uint64_t)id)
			continue;
		if (addr && (strlen(k->addr) != addr->len ||
			     memcmp(k->addr, addr->p, addr->len)))
			continue;
		if (laddr && (strlen(k->laddr) != laddr->len ||
			      memcmp(k->laddr, laddr->p, laddr->len)))
			continue;
		if (k == c && skipme && c->argc != 3)
			continue;
		if (k == c)
			c->close_asap = true;   /* after this reply */
		else
			net_client_kill(k);
		killed++;
	}
	if (c->argc == 3) {
		if (killed)
			reply_ok(c);
		else
			reply_error(c, "ERR No such client");
	} else {
		reply_int(c, killed);
	}
}

/* CLIENT subcommand ... */
static void cmd_client(struct client *c)
{
	const struct resp_arg *sub = &c->argv[1];
	char line[1024];

	if (arg_is(sub, "ID") && c->argc == 2) {
		reply_int(c, (int64_t)c->id);
	} else if (arg_is(sub, "SETNAME") && c->argc == 3) {
		if (!valid_name(&c->argv[2])) {
			reply_error(c, "ERR Client names cannot contain spaces, "
				    "newlines or special characters.");
			return;
		}
		set_name(c, &c->argv[2]);
		reply_ok(c);
	} else if (arg_is(sub, "GETNAME") && c->argc == 2) {
		if (c->name)
			reply_cstr(c, c->name);
		else
			reply_null(c);
	} else if (arg_is(sub, "SETINFO") && c->argc == 4) {
		char **slot = arg_is(&c->argv[2], "LIB-NAME") ? &c->lib_name :
			      arg_is(&c->argv[2], "LIB-VER") ? &c->lib_ver : NULL;
		if (!slot) {
			reply_error(c, "ERR Unrecognized option '%.*s'",
				    (int)c->argv[2].len, c->argv[2].p);
			return;
		}
		if (!valid_name(&c->argv[3]) && c->argv[3].len) {
			reply_error(c, "ERR %.*s cannot contain spaces, "
				    "newlines or special characters.",
				    (int)c->argv[2].len, c->argv[2].p);
			return;
		}
		free(*slot);
		*slot = strndup(c->argv[3].p, c->argv[3].len);
		reply_ok(c);
	} else if ((arg_is(sub, "LIST") && (c->argc == 2 ||
		    (c->argc == 4 && arg_is(&c->argv[2], "TYPE")))) ||
		   (arg_is(sub, "INFO") && c->argc == 2)) {
		struct rbuf all = { 0 };
		for (struct client *k = net_clients(); k; k = k->next) {
			if (arg_is(sub, "INFO") && k != c)
				continue;
			client_info(k, line, sizeof(line) - 1);
			strcat(line, "\n");
			rbuf_append(&all, line, strlen(line));
		}
		reply_verbatim(c, all.p ? all.p : "", all.len);
		rbuf_free(&all);
	} else if (arg_is(sub, "KILL") && c->argc >= 3) {
		client_kill(c);
	} else if (arg_is(sub, "UNBLOCK") && (c->argc == 3 || c->argc == 4)) {
		client_unblock(c);
	} else if (arg_is(sub, "NO-EVICT") || arg_is(sub, "NO-TOUCH")) {
		reply_ok(c);
	} else {
		static const char *const subs[] = { "id", "setname", "getname",
			"setinfo", "list", "info", "kill", "unblock",
			"no-evict", "no-touch", NULL };
		reply_err_subcmd(c, "client", subs);
	}
}

/* POST, Host: -- an HTTP request sent to the Redis port: close at once,
 * as Redis does against cross-protocol scripting. */
static void cmd_http(struct client *c)
{
	srv_log(3, "Possible SECURITY ATTACK detected. It looks like somebody "
		"is sending POST or Host: commands to Redis. This is likely "
		"due to an attacker attempting to use Cross Protocol Scripting "
		"to compromise your Redis instance. Connection from %s "
		"aborted.", c->addr);
	c->closing_now = true;
}

const struct command conn_commands[] = {
	{ "ping", -1, CMD_FAST, 0, 0, 0, cmd_ping, "connection",
	  "1.0.0", "Returns the server's liveliness response." },
	{ "echo", 2, CMD_FAST, 0, 0, 0, cmd_echo, "connection", "1.0.0",
	  "Returns the given string." },
	{ "quit", -1, CMD_FAST | CMD_NOAUTH | CMD_NOMULTI, 0, 0, 0, cmd_quit,
	  "connection", "1.0.0", "Closes the connection." },
	{ "auth", -2, CMD_FAST | CMD_NOAUTH | CMD_NOMULTI, 0, 0, 0, cmd_auth,
	  "connection", "1.0.0", "Authenticates the connection." },
	{ "hello", -1, CMD_FAST | CMD_NOAUTH | CMD_NOMULTI, 0, 0, 0, cmd_hello,
	  "connection", "6.0.0", "Handshakes with the Redis server." },
	{ "select", 2, CMD_FAST, 0, 0, 0, cmd_select, "connection", "1.0.0",
	  "Changes the selected database." },
	{ "client", -2, CMD_ADMIN, 0, 0, 0, cmd_client, "connection", "2.4.0",
	  "A container for client connection commands." },
	{ "post", -1, CMD_NOAUTH | CMD_NOMULTI, 0, 0, 0, cmd_http, "server",
	  "2.8.0", "Refused: an HTTP request." },
	{ "host:", -1, CMD_NOAUTH | CMD_NOMULTI, 0, 0, 0, cmd_http, "server",
	  "2.8.0", "Refused: an HTTP request." },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
