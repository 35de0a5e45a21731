/*
 * client.c -- the reply calls and argument helpers of client.h.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "proto/num.h"
#include "srv.h"

void reply_ok(struct client *c)
{
	resp_simple(&c->out, "OK");
}

void reply_simple(struct client *c, const char *s)
{
	resp_simple(&c->out, s);
}

/* reply_error -- an error reply; counted for INFO. */
void reply_error(struct client *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp_error(&c->out, msg);
	srv.errors_total++;
}

void reply_int(struct client *c, int64_t n)
{
	resp_int(&c->out, n);
}

void reply_bulk(struct client *c, const void *p, size_t len)
{
	resp_bulk(&c->out, p, len);
}

void reply_cstr(struct client *c, const char *s)
{
	resp_bulk(&c->out, s, strlen(s));
}

void reply_null(struct client *c)
{
	resp_null(&c->out, c->proto);
}

void reply_null_array(struct client *c)
{
	resp_null_array(&c->out, c->proto);
}

void reply_array(struct client *c, int64_t n)
{
	resp_array(&c->out, n);
}

void reply_map(struct client *c, int64_t n)
{
	resp_map(&c->out, c->proto, n);
}

void reply_set(struct client *c, int64_t n)
{
	resp_set(&c->out, c->proto, n);
}

void reply_double(struct client *c, double d)
{
	resp_double(&c->out, c->proto, d);
}

void reply_bool(struct client *c, bool v)
{
	resp_bool(&c->out, c->proto, v);
}

void reply_verbatim(struct client *c, const char *text, size_t len)
{
	resp_verbatim(&c->out, c->proto, "txt", text, len);
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

/* reply_err_kv -- a libpkv failure as Redis would word it. */
void reply_err_kv(struct client *c, int err)
{
	if (err == PKV_EFULL)
		reply_error(c, "OOM command not allowed when used memory > "
			    "'maxmemory'.");
	else if (err == PKV_ETXTOOBIG)
		reply_error(c, "ERR transaction too large for one atomic "
			    "commit (pkv: %s)", pkv_strerror(err));
	else
		reply_error(c, "ERR %s", pkv_strerror(err));
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
