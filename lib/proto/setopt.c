/*
 * setopt.c -- SET's, GETEX's and EXPIRE's options as Redis 7.0 reads
 * them (setopt.h).
 *
 * The SET parser is a table: each option names the options it conflicts
 * with, and an option is taken only if none of them has been seen --
 * Redis's long chain of `!(*flags & OBJ_...)` tests, written once.  A
 * time option takes the next argument; the same option again replaces
 * it.  Overflow is checked before each multiplication and addition, so
 * no time wraps around (Redis checks the sign after adding, relying on
 * the wrap; the answers are the same).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "num.h"
#include "setopt.h"

/* One option of SET or GETEX. */
struct setopt_word {
	const char *name;
	unsigned flag;
	unsigned excludes;            /* refused if any of these was seen */
	unsigned cmds;                /* 1 << enum setopt_cmd it exists for */
	bool takes_time;
};

#define FOR_SET (1u << SETOPT_FOR_SET)
#define FOR_GETEX (1u << SETOPT_FOR_GETEX)
#define TIME_BUT(f) ((SETOPT_EXPIRY | SETOPT_KEEPTTL | SETOPT_PERSIST) & ~(f))

static const struct setopt_word setopt_words[] = {
	{ "nx", SETOPT_NX, SETOPT_XX, FOR_SET, false },
	{ "xx", SETOPT_XX, SETOPT_NX, FOR_SET, false },
	{ "get", SETOPT_GET, 0, FOR_SET, false },
	{ "keepttl", SETOPT_KEEPTTL, SETOPT_EXPIRY | SETOPT_PERSIST, FOR_SET,
	  false },
	{ "persist", SETOPT_PERSIST, SETOPT_EXPIRY | SETOPT_KEEPTTL,
	  FOR_GETEX, false },
	{ "ex", SETOPT_EX, TIME_BUT(SETOPT_EX), FOR_SET | FOR_GETEX, true },
	{ "px", SETOPT_PX, TIME_BUT(SETOPT_PX), FOR_SET | FOR_GETEX, true },
	{ "exat", SETOPT_EXAT, TIME_BUT(SETOPT_EXAT), FOR_SET | FOR_GETEX,
	  true },
	{ "pxat", SETOPT_PXAT, TIME_BUT(SETOPT_PXAT), FOR_SET | FOR_GETEX,
	  true },
};

/* setopt_is -- whether argument a, read as a C string (up to its first
 * NUL, as Redis reads options), is word, case-blind. */
static bool setopt_is(const struct resp_arg *a, const char *word)
{
	size_t n = strlen(word);

	return a->len >= n && strncasecmp(a->p, word, n) == 0 &&
	       (a->len == n || a->p[n] == '\0');
}

/* setopt_fail -- the reply text into err; -EINVAL. */
static int setopt_fail(char *err, size_t errlen, const char *text)
{
	snprintf(err, errlen, "%s", text);
	return -EINVAL;
}

/* setopt_invalid_time -- Redis's addReplyErrorExpireTime. */
static int setopt_invalid_time(const char *cmd, char *err, size_t errlen)
{
	snprintf(err, errlen, "ERR invalid expire time in '%s' command", cmd);
	return -EINVAL;
}

/* setopt_set -- each argument is an option allowed here and now. */
int setopt_set(enum setopt_cmd cmd, size_t argc, const struct resp_arg *argv,
	       struct setopt *o, char *err, size_t errlen)
{
	size_t first = cmd == SETOPT_FOR_SET ? 3 : 2;

	o->flags = 0;
	o->expire = NULL;
	for (size_t j = first; j < argc; j++) {
		const struct setopt_word *w = NULL;

		for (size_t k = 0; k < sizeof(setopt_words) /
		     sizeof(setopt_words[0]); k++)
			if (setopt_is(&argv[j], setopt_words[k].name)) {
				w = &setopt_words[k];
				break;
			}
		if (!w || !(w->cmds & (1u << cmd)) || (o->flags & w->excludes) ||
		    (w->takes_time && j + 1 >= argc))
			return setopt_fail(err, errlen, "ERR syntax error");
		o->flags |= w->flag;
		if (w->takes_time)
			o->expire = &argv[++j];
	}
	return 0;
}

/* setopt_set_ms -- positive, scaled and made absolute without overflow. */
int setopt_set_ms(const struct resp_arg *arg, unsigned flags, int64_t now_ms,
		  const char *cmd, int64_t *ms, char *err, size_t errlen)
{
	bool seconds = flags & (SETOPT_EX | SETOPT_EXAT);
	long long v;

	if (!num_parse_ll(arg->p, arg->len, &v))
		return setopt_fail(err, errlen, "ERR value is not an integer "
				   "or out of range");
	if (v <= 0 || (seconds && v > LLONG_MAX / 1000))
		return setopt_invalid_time(cmd, err, errlen);
	if (seconds)
		v *= 1000;
	if (flags & (SETOPT_EX | SETOPT_PX)) {
		if (now_ms > 0 && v > LLONG_MAX - now_ms)
			return setopt_invalid_time(cmd, err, errlen);
		v += now_ms;
		if (v <= 0)
			return setopt_invalid_time(cmd, err, errlen);
	}
	*ms = v;
	return 0;
}

/* setopt_expire -- NX XX GT LT in any number, then the compatibility. */
int setopt_expire(size_t argc, const struct resp_arg *argv, unsigned *flags,
		  char *err, size_t errlen)
{
	*flags = 0;
	for (size_t j = 3; j < argc; j++) {
		const struct resp_arg *a = &argv[j];

		if (setopt_is(a, "nx")) {
			*flags |= SETOPT_EXP_NX;
		} else if (setopt_is(a, "xx")) {
			*flags |= SETOPT_EXP_XX;
		} else if (setopt_is(a, "gt")) {
			*flags |= SETOPT_EXP_GT;
		} else if (setopt_is(a, "lt")) {
			*flags |= SETOPT_EXP_LT;
		} else {
			/* Redis prints the word as a C string */
			const char *nul = memchr(a->p, '\0', a->len);
			int n = (int)(nul ? (size_t)(nul - a->p) : a->len);

			snprintf(err, errlen, "ERR Unsupported option %.*s", n,
				 a->p);
			return -EINVAL;
		}
	}
	if ((*flags & SETOPT_EXP_NX) &&
	    (*flags & (SETOPT_EXP_XX | SETOPT_EXP_GT | SETOPT_EXP_LT)))
		return setopt_fail(err, errlen, "ERR NX and XX, GT or LT "
				   "options at the same time are not "
				   "compatible");
	if ((*flags & SETOPT_EXP_GT) && (*flags & SETOPT_EXP_LT))
		return setopt_fail(err, errlen, "ERR GT and LT options at the "
				   "same time are not compatible");
	return 0;
}

/* setopt_expire_when -- scaled and offset, overflow refused. */
int setopt_expire_when(const struct resp_arg *arg, bool seconds,
		       int64_t basetime, const char *cmd, int64_t *when,
		       char *err, size_t errlen)
{
	long long v;

	if (!num_parse_ll(arg->p, arg->len, &v))
		return setopt_fail(err, errlen, "ERR value is not an integer "
				   "or out of range");
	if (seconds) {
		if (v > LLONG_MAX / 1000 || v < LLONG_MIN / 1000)
			return setopt_invalid_time(cmd, err, errlen);
		v *= 1000;
	}
	if (v > LLONG_MAX - basetime)
		return setopt_invalid_time(cmd, err, errlen);
	*when = v + basetime;
	return 0;
}

/* setopt_expire_allows -- Redis's checks in expireGenericCommand. */
bool setopt_expire_allows(unsigned flags, int64_t cur, int64_t when)
{
	if ((flags & SETOPT_EXP_NX) && cur)
		return false;
	if ((flags & SETOPT_EXP_XX) && !cur)
		return false;
	if ((flags & SETOPT_EXP_GT) && (!cur || when <= cur))
		return false;
	if ((flags & SETOPT_EXP_LT) && cur && when >= cur)
		return false;
	return true;
}
