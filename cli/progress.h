/*
 * progress.h -- a progress line on the terminal for long subcommands
 * (check, gc, export, import).
 *
 * It is drawn on stderr, and only when stderr is a terminal: piped or
 * redirected, the tool prints nothing extra, so scripts see the same
 * output whatever the pool's size.  Redraws are limited to ten a second,
 * so progress_update() may be called for every item.  Work whose amount
 * is unknown shows a counter; work the library does in one call (a
 * collection) shows a spinner with the elapsed time, drawn by a thread.
 */
#ifndef PKV_CLI_PROGRESS_H
#define PKV_CLI_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool on;                      /* stderr is a terminal */
	bool bytes;                   /* amounts are bytes (human units) */
	bool drawn;                   /* something is on the line */
	const char *label;            /* what is being done */
	const char *unit;             /* of a counted amount: "keys"... */
	uint64_t total;               /* 0: unknown */
	uint64_t done;
	uint64_t start_ns, next_ns;   /* start, next redraw (monotonic) */
	/* the spinner */
	bool spinning, stop;
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
};

/*
 * progress_begin -- start a progress line: `total` units of work (0 when
 * unknown), counted in bytes if `bytes`, else in `unit` (e.g. "keys").
 */
void progress_begin(struct progress *p, const char *label, uint64_t total,
		    bool bytes, const char *unit);

/* progress_draw -- redraw now (progress_update calls it when due). */
void progress_draw(struct progress *p);

/* progress_now_ns -- the monotonic clock progress lines use. */
uint64_t progress_now_ns(void);

/* progress_update -- `done` units are done; redraws when due. */
static inline void progress_update(struct progress *p, uint64_t done)
{
	p->done = done;
	if (p->on && progress_now_ns() >= p->next_ns)
		progress_draw(p);
}

/* progress_spin -- start a line showing that `label` runs, with its
 * elapsed time, until progress_end. */
void progress_spin(struct progress *p, const char *label);

/* progress_end -- stop and erase the line. */
void progress_end(struct progress *p);

#endif /* PKV_CLI_PROGRESS_H */
