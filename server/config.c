/*
 * config.c -- the option table and its three sources (see config.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "proto/glob.h"
#include "proto/num.h"

enum opt_type { OPT_INT, OPT_LL, OPT_SIZE, OPT_BOOL, OPT_STR, OPT_LOGLEVEL,
		OPT_OBUF, OPT_MEMPCT, OPT_IGNORED };

struct opt {
	const char *name;
	enum opt_type type;
	size_t off;                   /* in struct config */
	bool immutable;               /* only at startup */
	long long min, max;           /* for numbers */
	const char *fixed;            /* OPT_IGNORED: what CONFIG GET says */
};

#define O(f) offsetof(struct config, f)
static const struct opt opts[] = {
	{ "port", OPT_INT, O(port), true, 0, 65535, NULL },
	{ "bind", OPT_STR, O(bind), true, 0, 0, NULL },
	{ "requirepass", OPT_STR, O(requirepass), false, 0, 0, NULL },
	{ "pool", OPT_STR, O(pool), true, 0, 0, NULL },
	{ "pool-size", OPT_SIZE, O(pool_size), false, 8 << 20, 1ll << 44,
	  NULL },
	{ "pool-max-size", OPT_SIZE, O(pool_max_size), true, 0, 1ll << 44,
	  NULL },
	{ "pool-auto-grow", OPT_BOOL, O(pool_auto_grow), false, 0, 0, NULL },
	{ "databases", OPT_LL, O(databases), true, 1, 128, NULL },
	{ "maxclients", OPT_LL, O(maxclients), false, 1, 1000000, NULL },
	{ "proto-max-bulk-len", OPT_SIZE, O(proto_max_bulk_len), false,
	  1024 * 1024, 1ll << 32, NULL },
	{ "client-query-buffer-limit", OPT_SIZE, O(client_query_buffer_limit),
	  false, 1024 * 1024, 1ll << 40, NULL },
	{ "client-output-buffer-limit", OPT_OBUF, O(obuf_limits), false, 0, 0,
	  NULL },
	{ "maxmemory-clients", OPT_MEMPCT, O(maxmemory_clients), false, -100,
	  0, NULL },
	{ "max-args", OPT_LL, O(max_args), false, 1, 1ll << 31, NULL },
	{ "timeout", OPT_LL, O(timeout), false, 0, 1ll << 31, NULL },
	{ "logfile", OPT_STR, O(logfile), true, 0, 0, NULL },
	{ "loglevel", OPT_LOGLEVEL, O(loglevel), false, 0, 0, NULL },
	{ "daemonize", OPT_BOOL, O(daemonize), true, 0, 0, NULL },
	{ "verify-checksums", OPT_BOOL, O(verify_checksums), true, 0, 0, NULL },
	{ "pidfile", OPT_STR, O(pidfile), true, 0, 0, NULL },
	{ "gc-interval", OPT_LL, O(gc_interval_ms), true, 0, 1ll << 31, NULL },
	{ "hz", OPT_LL, O(hz), true, 1, 500, NULL },
	{ "activedefrag", OPT_BOOL, O(activedefrag), false, 0, 0, NULL },
	{ "active-defrag-ignore-bytes", OPT_SIZE,
	  O(active_defrag_ignore_bytes), false, 0, 1ll << 44, NULL },
	{ "active-defrag-threshold-lower", OPT_LL,
	  O(active_defrag_threshold_lower), false, 0, 1000, NULL },
	{ "dir", OPT_STR, O(dir), true, 0, 0, NULL },
	/* Accepted so redis.conf files and tools work; persistence is
	 * always on in pkv, so they change nothing. */
	{ "save", OPT_IGNORED, 0, false, 0, 0, "" },
	{ "appendonly", OPT_IGNORED, 0, false, 0, 0, "no" },
	{ "appendfsync", OPT_IGNORED, 0, false, 0, 0, "always" },
	{ "protected-mode", OPT_IGNORED, 0, false, 0, 0, "no" },
	{ "tcp-keepalive", OPT_IGNORED, 0, false, 0, 0, "300" },
};
#undef O

static const char *const levels[] = { "debug", "verbose", "notice",
				      "warning" };

/* config_defaults -- the built-in values. */
void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 6379;
	cfg->bind = strdup("127.0.0.1");
	cfg->requirepass = strdup("");
	cfg->pool = strdup("pkv.pool");
	cfg->pool_size = 1ull << 30;
	cfg->databases = 16;
	cfg->maxclients = 10000;
	cfg->proto_max_bulk_len = 512ull << 20;
	cfg->client_query_buffer_limit = 1ull << 30;
	/* Redis 7's: a normal client may fall behind without limit, a
	 * replica and a subscriber may not. */
	cfg->obuf_limits[OBUF_NORMAL] = (struct obuf_limit){ 0, 0, 0 };
	cfg->obuf_limits[OBUF_REPLICA] =
		(struct obuf_limit){ 256ull << 20, 64ull << 20, 60 };
	cfg->obuf_limits[OBUF_PUBSUB] =
		(struct obuf_limit){ 32ull << 20, 8ull << 20, 60 };
	cfg->max_args = 1048576;
	cfg->logfile = strdup("");
	cfg->loglevel = 2;
	cfg->pidfile = strdup("");
	cfg->hz = 10;
	cfg->active_defrag_ignore_bytes = 100ull << 20;
	cfg->active_defrag_threshold_lower = 10;
	cfg->dir = strdup(".");
}

/* config_parse_size -- a number with an optional k/kb/m/mb/g/gb unit
 * (k = 1000, kb = 1024, as in redis.conf). */
long long config_parse_size(const char *s)
{
	char *end;
	long long v;
	unsigned long long mul = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	if (!strcasecmp(end, ""))
		mul = 1;
	else if (!strcasecmp(end, "k"))
		mul = 1000;
	else if (!strcasecmp(end, "kb"))
		mul = 1024;
	else if (!strcasecmp(end, "m"))
		mul = 1000 * 1000;
	else if (!strcasecmp(end, "mb"))
		mul = 1024 * 1024;
	else if (!strcasecmp(end, "g"))
		mul = 1000ull * 1000 * 1000;
	else if (!strcasecmp(end, "gb"))
		mul = 1024ull * 1024 * 1024;
	else
		return -1;
	if ((unsigned long long)v > (1ull << 62) / mul)
		return -1;
	return (long long)(v * mul);
}

/*
 * config_memtoull -- a size as Redis's memtoull reads one for
 * client-output-buffer-limit and maxmemory-clients, quirks included, so
 * that CONFIG SET takes and refuses what Redis does: digits only (no sign, no space), then
 * nothing or a unit b, k, kb, m, mb, g, gb in any case; "" is 0; a number
 * too large saturates and the unit then wraps it, as in Redis.  False for
 * what Redis refuses.
 */
static bool config_memtoull(const char *s, size_t len, uint64_t *out)
{
	static const struct { const char *u; uint64_t mul; } units[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1000 }, { "kb", 1024 },
		{ "m", 1000 * 1000 }, { "mb", 1024 * 1024 },
		{ "g", 1000ull * 1000 * 1000 }, { "gb", 1024ull * 1024 * 1024 },
	};
	char digits[128], unit[8];
	size_t n = 0;
	uint64_t mul = 0;

	while (n < len && isdigit((unsigned char)s[n]))
		n++;
	if (len - n >= sizeof(unit) || n >= sizeof(digits))
		return false;
	memcpy(unit, s + n, len - n);
	unit[len - n] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcasecmp(unit, units[i].u))
			mul = units[i].mul;
	if (!mul)
		return false;
	memcpy(digits, s, n);
	digits[n] = '\0';
	*out = (uint64_t)strtoull(digits, NULL, 10) * mul;
	return true;
}

/* obuf_class_by_name -- Redis's getClientTypeByName for the classes that
 * take limits ("master" is a class, but has none); -1 when unknown. */
static int obuf_class_by_name(const char *s, size_t len)
{
	static const struct { const char *name; int cls; } names[] = {
		{ "normal", OBUF_NORMAL }, { "slave", OBUF_REPLICA },
		{ "replica", OBUF_REPLICA }, { "pubsub", OBUF_PUBSUB },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len &&
		    !strncasecmp(names[i].name, s, len))
			return names[i].cls;
	return -1;
}

/* obuf_word -- the next word of *p into w/len, advancing *p; false at
 * the end.  Split on each single space (*p is then left past it, and a
 * text ending in a space has a last, empty word), or on runs of blanks;
 * *more is true while a word may follow. */
static bool obuf_word(const char **p, bool *more, bool split_runs,
		      const char **w, size_t *len)
{
	if (split_runs) {
		while (isspace((unsigned char)**p))
			(*p)++;
		if (!**p)
			return false;
		*len = strcspn(*p, " \t\r\n\v\f");
	} else {
		if (!*more)
			return false;
		*len = strcspn(*p, " ");
	}
	*w = *p;
	*p += *len;
	*more = **p != '\0';
	if (*more && !split_runs)
		(*p)++;
	return true;
}

/*
 * obuf_parse -- "class hard soft seconds..." into limits[] as Redis's
 * updateClientOutputBufferLimit: four words per class, any number of
 * classes, classes not named keep their limits, and the whole text is
 * checked before anything changes.  CONFIG SET (split_runs false) splits
 * on each single space, as Redis does there ("a  b" has an empty word,
 * which reads as 0); a file line or flags split on runs of blanks.
 * Returns 0, or -1 with Redis's message in err.
 */
static int obuf_parse(struct obuf_limit *limits, const char *text,
		      bool split_runs, char *err, size_t errlen)
{
	struct obuf_limit val[OBUF_CLASSES];
	bool set[OBUF_CLASSES] = { false };
	const char *p = text, *w[4];
	size_t nw = 0, len[4];
	bool more = *text != '\0';

	while (obuf_word(&p, &more, split_runs, &w[0], &len[0]))
		nw++;
	if (nw % 4) {
		snprintf(err, errlen, "Wrong number of arguments in buffer "
			 "limit configuration.");
		return -1;
	}
	p = text;
	more = *text != '\0';
	for (size_t g = 0; g < nw / 4; g++) {
		char *secs, *end;
		uint64_t hard, soft;
		long long s;
		int cls;
		for (int i = 0; i < 4; i++)
			obuf_word(&p, &more, split_runs, &w[i], &len[i]);
		cls = obuf_class_by_name(w[0], len[0]);
		if (cls < 0) {
			snprintf(err, errlen, "Invalid client class specified "
				 "in buffer limit configuration.");
			return -1;
		}
		if (!config_memtoull(w[1], len[1], &hard) ||
		    !config_memtoull(w[2], len[2], &soft) ||
		    !(secs = strndup(w[3], len[3])))
			goto bad_value;
		/* Redis keeps the seconds in an int: what strtoll reads is
		 * cut to 32 bits before the sign is checked. */
		s = (int)strtoll(secs, &end, 10);
		if (s < 0 || *end) {
			free(secs);
			goto bad_value;
		}
		free(secs);
		val[cls] = (struct obuf_limit){ hard, soft, s };
		set[cls] = true;
	}
	for (int c = 0; c < OBUF_CLASSES; c++)
		if (set[c])
			limits[c] = val[c];
	return 0;
bad_value:
	snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in "
		 "buffer limit configuration.");
	return -1;
}

/* obuf_format -- CONFIG GET's text: every class, named as Redis 7.0
 * names them ("slave", not "replica"). */
static void obuf_format(const struct obuf_limit *limits, char *buf,
			size_t len)
{
	static const char *const names[OBUF_CLASSES] = { "normal", "slave",
							 "pubsub" };
	size_t n = 0;

	buf[0] = '\0';
	for (int c = 0; c < OBUF_CLASSES && n < len; c++) {
		int k = snprintf(buf + n, len - n, "%s%s %llu %llu %lld",
				 c ? " " : "", names[c],
				 (unsigned long long)limits[c].hard,
				 (unsigned long long)limits[c].soft,
				 limits[c].soft_seconds);
		if (k < 0)
			break;
		n += (size_t)k;
	}
}

/*
 * mempct_parse -- a size or a percentage, as Redis's numericParseString
 * and numericBoundaryCheck read maxmemory-clients: a size first (a size
 * of 2^63 or more turns negative and is then judged as a percentage, as
 * in Redis), else "N%" with N a strict integer >= 0, kept as -N.
 * Returns 0, or -1 with Redis's message in err.
 */
static int mempct_parse(const char *s, long long *out, char *err,
			size_t errlen)
{
	size_t len = strlen(s);
	uint64_t u;
	long long v;

	if (config_memtoull(s, len, &u)) {
		v = (long long)u;
	} else if (len > 1 && s[len - 1] == '%' &&
		   num_parse_ll(s, len - 1, &v) && v >= 0) {
		v = -v;
	} else {
		snprintf(err, errlen, "argument must be a memory or percent "
			 "value");
		return -1;
	}
	if (v < -100) {
		snprintf(err, errlen, "percentage argument must be less or "
			 "equal to 100");
		return -1;
	}
	*out = v;
	return 0;
}

/* find -- the option called name. */
static const struct opt *find(const char *name)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strcasecmp(opts[i].name, name))
			return &opts[i];
	return NULL;
}

/* config_set -- one option from text. */
int config_set(struct config *cfg, const char *name, const char *value,
	       bool running, char *err, size_t errlen)
{
	const struct opt *o = find(name);
	char *base = (char *)cfg;
	char msg[128];
	long long v;
	char *end;

	if (!o) {
		snprintf(err, errlen, "Unknown option or number of arguments "
			 "for CONFIG SET - '%s'", name);
		return -1;
	}
	if (running && o->immutable) {
		snprintf(err, errlen, "CONFIG SET failed (possibly related to "
			 "argument '%s') - can't set immutable config",
			 o->name);
		return -1;
	}
	switch (o->type) {
	case OPT_IGNORED:
		return 0;
	case OPT_OBUF:
		if (obuf_parse((struct obuf_limit *)(base + o->off), value,
			       !running, msg, sizeof(msg)))
			goto failed;
		return 0;
	case OPT_MEMPCT:
		if (mempct_parse(value, (long long *)(base + o->off), msg,
				 sizeof(msg)))
			goto failed;
		return 0;
	case OPT_STR: {
		char **p = (char **)(base + o->off);
		char *copy = strdup(value);
		if (!copy) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*p);
		*p = copy;
		return 0;
	}
	case OPT_BOOL:
		if (!strcasecmp(value, "yes"))
			*(bool *)(base + o->off) = true;
		else if (!strcasecmp(value, "no"))
			*(bool *)(base + o->off) = false;
		else
			goto bad;
		return 0;
	case OPT_LOGLEVEL:
		for (int i = 0; i < 4; i++)
			if (!strcasecmp(value, levels[i])) {
				*(int *)(base + o->off) = i;
				return 0;
			}
		goto bad;
	case OPT_SIZE:
		v = config_parse_size(value);
		if (v < 0)
			goto bad;
		break;
	default:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno || end == value || *end)
			goto bad;
		break;
	}
	if (v < o->min || v > o->max) {
		snprintf(err, errlen, "CONFIG SET failed (possibly related to "
			 "argument '%s') - argument must be between %lld and "
			 "%lld inclusive", o->name, o->min, o->max);
		return -1;
	}
	if (o->type == OPT_INT)
		*(int *)(base + o->off) = (int)v;
	else if (o->type == OPT_SIZE)
		*(uint64_t *)(base + o->off) = (uint64_t)v;
	else
		*(long long *)(base + o->off) = v;
	return 0;
failed:
	snprintf(err, errlen, "CONFIG SET failed (possibly related to "
		 "argument '%s') - %s", o->name, msg);
	return -1;
bad:
	snprintf(err, errlen, "CONFIG SET failed (possibly related to "
		 "argument '%s') - argument couldn't be parsed into %s",
		 o->name, o->type == OPT_BOOL || o->type == OPT_LOGLEVEL ?
		 "a value" : "an integer");
	return -1;
}

/* unquote -- strip one level of "..." or '...' around a value. */
static char *unquote(char *s)
{
	size_t n = strlen(s);
	if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') ||
		       (s[0] == '\'' && s[n - 1] == '\''))) {
		s[n - 1] = '\0';
		return s + 1;
	}
	return s;
}

/* config_load_file -- "name value" lines. */
int config_load_file(struct config *cfg, const char *path, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096], msg[256];
	int lineno = 0;

	if (!f) {
		snprintf(err, errlen, "cannot open config file '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *name, *value;
		size_t n;
		lineno++;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		n = strlen(p);
		while (n && isspace((unsigned char)p[n - 1]))
			p[--n] = '\0';
		name = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		value = unquote(p);
		if (config_set(cfg, name, value, false, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%d: %s: %s", path, lineno,
				 name, msg);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/* config_get -- options matching a pattern, as text. */
void config_get(const struct config *cfg, const char *pattern,
		void (*fn)(void *ctx, const char *name, const char *value),
		void *ctx)
{
	const char *base = (const char *)cfg;
	char buf[256];

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];
		const char *val = buf;
		if (!glob_match(pattern, strlen(pattern), o->name,
				strlen(o->name), GLOB_NOCASE))
			continue;
		switch (o->type) {
		case OPT_IGNORED:
			val = o->fixed;
			break;
		case OPT_OBUF:
			obuf_format((const struct obuf_limit *)(base + o->off),
				    buf, sizeof(buf));
			break;
		case OPT_MEMPCT: {
			long long v = *(const long long *)(base + o->off);
			if (v < 0)
				snprintf(buf, sizeof(buf), "%lld%%", -v);
			else
				snprintf(buf, sizeof(buf), "%lld", v);
			break;
		}
		case OPT_STR:
			val = *(char *const *)(base + o->off);
			if (!val)
				val = "";
			break;
		case OPT_BOOL:
			val = *(const bool *)(base + o->off) ? "yes" : "no";
			break;
		case OPT_LOGLEVEL:
			val = levels[*(const int *)(base + o->off)];
			break;
		case OPT_INT:
			snprintf(buf, sizeof(buf), "%d",
				 *(const int *)(base + o->off));
			break;
		case OPT_SIZE:
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)
				 *(const uint64_t *)(base + o->off));
			break;
		default:
			snprintf(buf, sizeof(buf), "%lld",
				 *(const long long *)(base + o->off));
			break;
		}
		fn(ctx, o->name, val);
	}
}
