/*
 * bgdefrag.h -- MEMORY PURGE's defragmentation (pkv_defrag), in a thread
 * of its own so that the event loop goes on serving while entries move
 * (on a disk each batch of moves is a synced commit).
 */
#ifndef PKV_BGDEFRAG_H
#define PKV_BGDEFRAG_H

#include <stdbool.h>
#include <stdint.h>

/* bgdefrag_start -- start a pass unless one is running; false if the
 * thread could not be made. */
bool bgdefrag_start(void);

/*
 * bgdefrag_cron -- with activedefrag on, start a pass when the pool's
 * allocator holds more than active-defrag-ignore-bytes and
 * active-defrag-threshold-lower percent beyond its allocated blocks; at
 * most once a second, and after a pass that moved nothing only once the
 * fragmentation has changed (the same runs would be found again).
 */
void bgdefrag_cron(int64_t now_ms);

/* bgdefrag_wait -- until the pass running (if any) ends (before the pool
 * closes). */
void bgdefrag_wait(void);

/* What the passes did: whether one runs, entries moved, blocks left. */
struct bgdefrag_stats {
	bool running;
	uint64_t moved, skipped;
};
void bgdefrag_stats(struct bgdefrag_stats *st);

#endif /* PKV_BGDEFRAG_H */
