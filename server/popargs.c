/*
 * popargs.c -- the arguments of the multi-key pops (see popargs.h).
 */
#include "client.h"
#include "popargs.h"

bool pop_args_parse(struct client *c, size_t at, const char *one,
		    const char *two, struct pop_args *a)
{
	long long numkeys;
	size_t where;

	if (!arg_ll(&c->argv[at], &numkeys) || numkeys <= 0) {
		reply_error(c, "ERR numkeys should be greater than 0");
		return false;
	}
	/* The keys, then MIN/MAX or LEFT/RIGHT after them: both must be
	 * there (argv holds argc arguments, no more). */
	if ((unsigned long long)numkeys >= c->argc - at - 1) {
		reply_err_syntax(c);
		return false;
	}
	a->first = at + 1;
	a->nkeys = (size_t)numkeys;
	where = a->first + a->nkeys;
	a->count = 0;
	if (arg_is(&c->argv[where], one)) {
		a->second = false;
	} else if (arg_is(&c->argv[where], two)) {
		a->second = true;
	} else {
		reply_err_syntax(c);
		return false;
	}
	for (size_t j = where + 1; j < c->argc; j += 2) {
		if (!arg_is(&c->argv[j], "count") || a->count ||
		    j + 1 >= c->argc) {
			reply_err_syntax(c);
			return false;
		}
		if (!arg_ll(&c->argv[j + 1], &a->count) || a->count <= 0) {
			reply_error(c, "ERR count should be greater than 0");
			return false;
		}
	}
	if (!a->count)
		a->count = 1;
	return true;
}
