/*
 * planted.c -- the switch of planted.h for the crash simulators' build of
 * the library (compiled with -DPKV_PLANTED_BUGS; never into libpkv).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planted.h"

enum planted_bug planted_bug;

static const char *const planted_names[PB_COUNT] = {
	[PB_NONE] = "none",
#define PLANTED_NAME(id, name, what) [PB_##id] = name,
	PLANTED_BUG_LIST(PLANTED_NAME)
#undef PLANTED_NAME
};

static const char *const planted_whats[PB_COUNT] = {
	[PB_NONE] = "no bug",
#define PLANTED_WHAT(id, name, what) [PB_##id] = what,
	PLANTED_BUG_LIST(PLANTED_WHAT)
#undef PLANTED_WHAT
};

/* planted_from_env -- PKV_PLANTED_BUG=<name> selects the bug. */
int planted_from_env(void)
{
	const char *v = getenv("PKV_PLANTED_BUG");

	planted_bug = PB_NONE;
	if (!v || !*v)
		return 0;
	for (int b = 0; b < PB_COUNT; b++)
		if (strcmp(v, planted_names[b]) == 0) {
			planted_bug = (enum planted_bug)b;
			return 0;
		}
	fprintf(stderr, "unknown planted bug '%s'; known:", v);
	for (int b = 1; b < PB_COUNT; b++)
		fprintf(stderr, " %s", planted_names[b]);
	fprintf(stderr, "\n");
	return -1;
}

/* planted_name -- the name PKV_PLANTED_BUG takes. */
const char *planted_name(enum planted_bug b)
{
	return b < PB_COUNT ? planted_names[b] : "?";
}

/* planted_what -- what the bug does. */
const char *planted_what(enum planted_bug b)
{
	return b < PB_COUNT ? planted_whats[b] : "?";
}
