/*
 * client.c -- the reply calls, the description of a client and the
 * argument helpers of client.h.
 *
 * Every reply goes through REPLY: the output-buffer limits (obuf.h) may
 * refuse it -- the client is closing, or the payload alone would take it
 * to its hard limit -- and are checked once it is appended.  Payloads are
 * counted before they are copied, so a huge value for a client that is
 * not reading is never copied at all.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "obuf.h"
#include "proto/num.h"
#include "srv.h"

/* REPLY -- append with `append` a reply carrying `payload` bytes of data
 * (0 for a small reply of fixed form), within c's output limits. */
#define REPLY(c, payload, append)                                       \
	do {                                                            \
		if (obuf_room((c), (payload))) {                        \
			append;                                         \
			obuf_check(c);                                  \
		}                                                       \
	} while (0)

void reply_ok(struct client *c)
{
	REPLY(c, 0, resp_simple(&c->out, "OK"));
}

void reply_simple(struct client *c, const char *s)
{
	REPLY(c, strlen(s), resp_simple(&c->out, s));
}

/* reply_help -- see client.h. */
void reply_help(struct client *c, const char *const *lines, size_t n)
{
	reply_array(c, n);
	for (size_t i = 0; i < n; i++)
		reply_simple(c, lines[i]);
}

/* reply_error -- an error reply; counted for INFO. */
void reply_error(struct client *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	REPLY(c, 0, resp_error(&c->out, msg));
	srv.errors_total++;
}

void reply_int(struct client *c, int64_t n)
{
	REPLY(c, 0, resp_int(&c->out, n));
}

void reply_bulk(struct client *c, const void *p, size_t len)
{
	REPLY(c, len, resp_bulk(&c->out, p, len));
}

void reply_cstr(struct client *c, const char *s)
{
	REPLY(c, strlen(s), resp_bulk(&c->out, s, strlen(s)));
}

void reply_null(struct client *c)
{
	REPLY(c, 0, resp_null(&c->out, c->proto));
}

void reply_null_array(struct client *c)
{
	REPLY(c, 0, resp_null_array(&c->out, c->proto));
}

void reply_push(struct client *c, int64_t n)
{
	REPLY(c, 0, resp_push(&c->out, c->proto, n));
}

void reply_array(struct client *c, int64_t n)
{
	REPLY(c, 0, resp_array(&c->out, n));
}

void reply_map(struct client *c, int64_t n)
{
	REPLY(c, 0, resp_map(&c->out, c->proto, n));
}

void reply_set(struct client *c, int64_t n)
{
	REPLY(c, 0, resp_set(&c->out, c->proto, n));
}

void reply_double(struct client *c, double d)
{
	REPLY(c, 0, resp_double(&c->out, c->proto, d));
}

void reply_bool(struct client *c, bool v)
{
	REPLY(c, 0, resp_bool(&c->out, c->proto, v));
}

void reply_verbatim(struct client *c, const char *text, size_t len)
{
	REPLY(c, len,
	      resp_verbatim(&c->out, c->proto, "txt", text, len));
}

void reply_raw(struct client *c, const void *p, size_t len)
{
	REPLY(c, len, rbuf_append(&c->out, p, len));
}

size_t reply_mark(const struct client *c)
{
	return c->out.len;
}

void reply_rewind(struct client *c, size_t mark)
{
	if (c->out.len > mark)
		c->out.len = mark;
}

/* reply_err_arity -- Redis's wrong-arity text. */
void reply_err_arity(struct client *c, const char *cmd)
{
	reply_error(c, "ERR wrong number of arguments for '%s' command", cmd);
}

void reply_err_syntax(struct client *c)
{
	reply_error(c, "ERR syntax error");
}

void reply_err_int(struct client *c)
{
	reply_error(c, "ERR value is not an integer or out of range");
}

void reply_err_float(struct client *c)
{
	reply_error(c, "ERR value is not a valid float");
}

void reply_err_overflow(struct client *c)
{
	reply_error(c, "ERR increment or decrement would overflow");
}

/* reply_err_kv -- a libpkv failure as Redis would word it. */
void reply_err_kv(struct client *c, int err)
{
	if (err == PKV_EFULL)
		reply_error(c, "OOM command not allowed when used memory > "
			    "'maxmemory'.");
	else if (err == PKV_EWRONGTYPE)
		reply_error(c, "WRONGTYPE Operation against a key holding the "
			    "wrong kind of value");
	else if (err == PKV_ECORRUPT)
		reply_error(c, "ERR damaged data in the pool: not served (the "
			    "server log and `pkv check` say more)");
	else
		reply_error(c, "ERR %s", pkv_strerror(err));
}

/* reply_err_commit -- see client.h.  A commit fails only for what fails
 * every write: a write-back the file refused (the library then refuses
 * every later commit, and every later turn's replies wait for one), or
 * no memory.  Named as Redis names a failed write of its AOF. */
void reply_err_commit(struct client *c, int err)
{
	if (err < 0 && err > PKV_EFIRST && err != -ENOMEM)
		reply_error(c, "MISCONF Errors writing to the pool: %s "
			    "(nothing is durable since, so no command is "
			    "answered; restart the server once the disk is "
			    "fixed)", pkv_strerror(err));
	else
		reply_err_kv(c, err);
}

/* reply_err_subcmd -- unknown subcommand, or its arity. */
void reply_err_subcmd(struct client *c, const char *cmd,
		      const char *const *subs)
{
	const struct resp_arg *sub = &c->argv[1];
	char up[32];
	size_t i;

	for (i = 0; subs[i]; i++)
		if (arg_is(sub, subs[i])) {
			reply_error(c, "ERR wrong number of arguments for "
				    "'%s|%s' command", cmd, subs[i]);
			return;
		}
	for (i = 0; cmd[i] && i + 1 < sizeof(up); i++)
		up[i] = (char)(cmd[i] >= 'a' && cmd[i] <= 'z' ? cmd[i] - 32
							      : cmd[i]);
	up[i] = '\0';
	reply_error(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
		    (int)(sub->len < 128 ? sub->len : 128), sub->p, up);
}

/* client_info -- Redis 7's fields; what pkv does not have reads as
 * Redis's empty value.  One output buffer stands for Redis's two: obl is
 * what waits in the first OBUF_FREE_BYTES (Redis's fixed buffer), oll 1
 * when more waits (Redis's reply list), and omem that excess, which the
 * limits are held against. */
void client_info(const struct client *k, char *buf, size_t len)
{
	int64_t now = pkv_now_ms();
	size_t pending = obuf_pending(k), omem = obuf_usage(k);

	snprintf(buf, len, "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld "
		 "idle=%lld flags=%s db=%u sub=%zu psub=%zu ssub=0 multi=%lld "
		 "qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu "
		 "rbp=0 obl=%zu oll=%d omem=%zu tot-mem=%zu events=r cmd=%s "
		 "user=default redir=-1 resp=%d lib-name=%s lib-ver=%s",
		 (unsigned long long)k->id, k->addr, k->laddr, k->fd,
		 k->name ? k->name : "", (long long)(now - k->ctime_ms) / 1000,
		 (long long)(now - k->last_ms) / 1000,
		 k->in_multi ? "x" : k->block.blocked ? "b" :
		 pubsub_count(k) ? "P" : "N", k->db, k->pubsub.nchans,
		 k->pubsub.npats,
		 k->in_multi ? (long long)k->nqueued : -1ll, k->qlen,
		 k->qcap - k->qlen, k->qcap,
		 pending < OBUF_FREE_BYTES ? pending : OBUF_FREE_BYTES,
		 omem ? 1 : 0, omem, client_mem(k),
		 k->last_cmd ? k->last_cmd : "NULL", k->proto,
		 k->lib_name ? k->lib_name : "", k->lib_ver ? k->lib_ver : "");
}

size_t client_mem(const struct client *c)
{
	return sizeof(*c) + c->qcap + c->out.cap +
	       c->req.cap * sizeof(*c->req.argv) + c->req.inline_cap;
}

/* arg_is -- whether the argument is word, ignoring case. */
bool arg_is(const struct resp_arg *a, const char *word)
{
	size_t n = strlen(word);
	return a->len == n && strncasecmp(a->p, word, n) == 0;
}

/* arg_ll -- strict integer, as Redis's string2ll. */
bool arg_ll(const struct resp_arg *a, long long *v)
{
	return num_parse_ll(a->p, a->len, v);
}

/* arg_double -- a float as Redis's getDoubleFromObject accepts it. */
bool arg_double(const struct resp_arg *a, double *v)
{
	char buf[256];
	char *end;

	if (a->len == 0 || a->len >= sizeof(buf))
		return false;
	memcpy(buf, a->p, a->len);
	buf[a->len] = '\0';
	if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n')
		return false;
	errno = 0;
	*v = strtod(buf, &end);
	return !(errno == ERANGE && (*v == HUGE_VAL || *v == -HUGE_VAL)) &&
	       *end == '\0' && !isnan(*v);
}
