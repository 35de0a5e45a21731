/*
 * popargs.h -- the arguments the multi-key pops share (LMPOP, BLMPOP,
 * ZMPOP, BZMPOP): numkeys, the keys, which end (LEFT|RIGHT or MIN|MAX)
 * and [COUNT n], with Redis 7.0's errors.
 */
#ifndef PKV_POPARGS_H
#define PKV_POPARGS_H

#include <stdbool.h>
#include <stddef.h>

struct client;

struct pop_args {
	size_t first, nkeys;          /* the keys: argv[first...] */
	bool second;                  /* the end named second: RIGHT, MAX */
	long long count;              /* COUNT, 1 if not given */
};

/*
 * pop_args_parse -- numkeys at c->argv[at], then the keys, then `one` or
 * `two` (lowercase: "left"/"right", "min"/"max"), then [COUNT n].
 * Returns false after replying the error.
 */
bool pop_args_parse(struct client *c, size_t at, const char *one,
		    const char *two, struct pop_args *a);

#endif /* PKV_POPARGS_H */
