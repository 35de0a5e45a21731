/*
 * crashsim.h -- the crash simulator engine (tests only).
 *
 * The engine watches every flush and fence of one pool through a
 * struct persist_hook and keeps a shadow "persisted image": what the media
 * is guaranteed to hold.  Flushes and fences belong to actors -- the
 * threads a workload plays, one at a time, on one real thread
 * (crashsim_set_actor): a flush records a snapshot of each 64-byte line it
 * covers as pending for its actor (the actor's latest snapshot of a line
 * wins); a fence makes durable only its own actor's pending lines, as a
 * CPU's SFENCE orders only that CPU's write-backs.  Before a fence commits
 * them, the engine builds crash images = shadow + a subset of every
 * actor's pending lines (every subset when there are few, random samples
 * otherwise; optionally torn at 8-byte granularity, optionally with
 * evicted dirty lines) and hands each to the workload's checker, which
 * recovers it and judges it.
 *
 * The checker opens its own pools over the images; their persist handles
 * have no hook, so checking never feeds the simulation.
 */
#ifndef PKV_CRASHSIM_H
#define PKV_CRASHSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

struct crashsim_opts {
	uint64_t seed;            /* subset choices derive from (seed, fence) */
	uint64_t max_states;      /* stop generating after this many (0 = no limit) */
	unsigned samples;         /* random subsets per fence when too many lines */
	unsigned max_exhaustive;  /* all 2^k subsets when k <= this */
	bool torn;                /* persist a random subset of each line's words */
	bool evict;               /* also persist random dirty, unflushed lines */
	bool disk;                /* the file backend's model: the library
				     runs its disk paths (persist disk_model);
				     the pool is mapped privately, so only
				     what it wrote (flushed) may reach the
				     file early, and --evict adds nothing */
	bool verbose;
	int64_t only_fence;       /* check only this fence number (-1 = all) */
	unsigned max_print;       /* failures printed in full */
	const char *label;        /* names the engine in reports ("" = main) */
	const char *program;      /* for the reproduce line (tests/crashsim) */
	bool stop_on_failure;     /* done at the first failure */
};

/*
 * The workload's judge.  image is a private copy of the crash image (len
 * bytes, page aligned) that it may modify.  Returns 0 when the image
 * recovers correctly, else non-zero with a reason in why.
 */
typedef int (*crashsim_check_fn)(void *ctx, void *image, size_t len,
				 char *why, size_t whylen);

struct crashsim;

struct crashsim *crashsim_new(const struct crashsim_opts *opts,
			      crashsim_check_fn check, void *ctx);
void crashsim_free(struct crashsim *cs);

/*
 * crashsim_disk_model -- with `on` (--disk), make the pool's persistence
 * layer play the file backend (persist_set_disk_model); exits on failure.
 */
void crashsim_disk_model(struct pool *pool, bool on);

/*
 * crashsim_attach -- start watching `pool`: the current contents of its
 * buffer are taken as durable.  May be called again for another pool of
 * the same size once the previous one is detached or forgotten.
 */
int crashsim_attach(struct crashsim *cs, struct pool *pool);

/* crashsim_detach -- stop watching (the hook is removed). */
void crashsim_detach(struct crashsim *cs);

/* crashsim_forget -- the pool was closed (and freed): stop watching it. */
void crashsim_forget(struct crashsim *cs);

#define CRASHSIM_ACTORS 8

/* crashsim_set_actor -- the flushes and fences from now on are those of
 * actor a (< CRASHSIM_ACTORS); 0 at start. */
void crashsim_set_actor(struct crashsim *cs, unsigned a);

/* crashsim_set_op -- the workload's current operation number (reports). */
void crashsim_set_op(struct crashsim *cs, uint64_t op, const char *what);

uint64_t crashsim_states(const struct crashsim *cs);
uint64_t crashsim_failures(const struct crashsim *cs);
uint64_t crashsim_fences(const struct crashsim *cs);

/* crashsim_first_failure -- the state count when the first failure was
 * found (1-based), 0 if none. */
uint64_t crashsim_first_failure(const struct crashsim *cs);

/* crashsim_position -- the fence and the crash state being checked. */
void crashsim_position(const struct crashsim *cs, uint64_t *fence,
		       uint64_t *state);

/* crashsim_print_budget -- share the outer engine's count of printed
 * failures with a nested one (failures inside recovery). */
void crashsim_share_printed(struct crashsim *nested, struct crashsim *outer);

/* crashsim_done -- whether max_states has been reached. */
bool crashsim_done(const struct crashsim *cs);

/*
 * crashsim_parse_opt -- the options every workload takes: --torn --evict
 * --verbose --states N --seed S --ops N --samples K --exhaustive K
 * --fence F --stop-on-failure --disk.  If argv[*i] is one, apply it (to o, or *max_ops), step *i
 * past its value and return true; otherwise return false.
 */
bool crashsim_parse_opt(struct crashsim_opts *o, uint64_t *max_ops,
			int argc, char **argv, int *i);

/* crashsim_dump_redo -- print a pool image's checkpoint slots and every
 * record-shaped header in its log rings to stderr (--verbose reports). */
void crashsim_dump_redo(const char *img);

/* Deterministic PRNG shared by the engine and workloads. */
static inline uint64_t crashsim_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t crashsim_rand(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return crashsim_mix(*state);
}

#endif /* PKV_CRASHSIM_H */
