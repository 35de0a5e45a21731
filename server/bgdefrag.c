/*
 * bgdefrag.c -- MEMORY PURGE's pkv_defrag in a thread (see bgdefrag.h).
 * The library serializes the moves with every other write (each key's
 * stripe), so the thread needs nothing from the event loop; the loop
 * only starts it, reads its figures for INFO and joins it at shutdown.
 */
#include <pthread.h>
#include <string.h>

#include "bgdefrag.h"
#include "srv.h"

static pthread_mutex_t bg_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_t bg_thread;
static bool bg_started;               /* a thread to join */
static bool bg_running;
static struct bgdefrag_stats bg_st;
static bool bg_last_idle;             /* the last pass moved nothing */
static uint64_t bg_last_frag;         /* fragmentation bytes the last pass
					 the cron started began at (the
					 loop's own: no lock) */
static int64_t bg_last_ms;            /* when the cron last looked */

/* bgdefrag_main -- one pass, its figures added up. */
static void *bgdefrag_main(void *arg)
{
	struct pkv_defrag_stats d;
	int err;

	(void)arg;
	err = pkv_defrag(srv.db, &d);
	pthread_mutex_lock(&bg_mtx);
	bg_st.moved += d.moved;
	bg_st.skipped += d.skipped;
	bg_last_idle = d.moved == 0;
	bg_running = false;
	pthread_mutex_unlock(&bg_mtx);
	if (err)
		srv_log(3, "defragmentation stopped: %s",
			pkv_errmsg(srv.db));
	else
		srv_log(1, "defragmentation: %llu entries moved out of %llu "
			"sparse runs (%llu blocks left), %llu runs freed",
			(unsigned long long)d.moved,
			(unsigned long long)d.runs,
			(unsigned long long)d.skipped,
			(unsigned long long)d.runs_freed);
	return NULL;
}

/* bgdefrag_start -- see bgdefrag.h. */
bool bgdefrag_start(void)
{
	bool ok = true;

	pthread_mutex_lock(&bg_mtx);
	if (!bg_running) {
		if (bg_started)
			pthread_join(bg_thread, NULL);   /* it has ended */
		bg_started = pthread_create(&bg_thread, NULL, bgdefrag_main,
					    NULL) == 0;
		bg_running = ok = bg_started;
	}
	pthread_mutex_unlock(&bg_mtx);
	return ok;
}

/* bgdefrag_cron -- see bgdefrag.h. */
void bgdefrag_cron(int64_t now_ms)
{
	struct pkv_stats st;
	uint64_t frag;
	bool idle;

	if (!srv.cfg.activedefrag || now_ms - bg_last_ms < 1000)
		return;
	bg_last_ms = now_ms;
	pthread_mutex_lock(&bg_mtx);
	idle = bg_last_idle;
	bool running = bg_running;
	pthread_mutex_unlock(&bg_mtx);
	if (running || pkv_stats(srv.db, &st))
		return;
	frag = st.active_bytes > st.allocated_bytes ?
	       st.active_bytes - st.allocated_bytes : 0;
	if (frag <= srv.cfg.active_defrag_ignore_bytes ||
	    frag * 100 <= st.allocated_bytes *
			  (uint64_t)srv.cfg.active_defrag_threshold_lower)
		return;
	/* Nothing moved last time: only once an eighth more (or less)
	 * fragmentation says the runs have changed. */
	if (idle && frag < bg_last_frag + bg_last_frag / 8 &&
	    frag + bg_last_frag / 8 > bg_last_frag)
		return;
	bg_last_frag = frag;
	bgdefrag_start();
}

/* bgdefrag_wait -- see bgdefrag.h. */
void bgdefrag_wait(void)
{
	pthread_mutex_lock(&bg_mtx);
	bool join = bg_started;
	bg_started = false;
	pthread_mutex_unlock(&bg_mtx);
	if (join)
		pthread_join(bg_thread, NULL);
}

/* bgdefrag_stats -- see bgdefrag.h. */
void bgdefrag_stats(struct bgdefrag_stats *st)
{
	pthread_mutex_lock(&bg_mtx);
	*st = bg_st;
	st->running = bg_running;
	pthread_mutex_unlock(&bg_mtx);
}
