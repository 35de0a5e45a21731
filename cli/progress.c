/*
 * progress.c -- the terminal progress line (progress.h).
 *
 * The line is rewritten in place with a carriage return and cleared with
 * "erase to end of line", the two control sequences every terminal
 * emulator understands; its width follows the terminal's.  A line that
 * would be drawn less than half a second after the start is not drawn at
 * all, so quick runs on small pools leave no flicker behind.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "util.h"

#define PROGRESS_PERIOD_NS 100000000ull   /* ten redraws a second */
#define PROGRESS_DELAY_NS 500000000ull    /* nothing before half a second */

/* progress_now_ns -- monotonic nanoseconds. */
uint64_t progress_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* progress_columns -- the terminal's width (80 if it will not say). */
static unsigned progress_columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

/* progress_amount -- an amount as text: human units for bytes. */
static const char *progress_amount(const struct progress *p, uint64_t n,
				   char *buf, size_t len)
{
	if (p->bytes)
		return cli_human_size(n, buf, len);
	snprintf(buf, len, "%" PRIu64, n);
	return buf;
}

/* progress_begin -- start a line (drawn only on a terminal). */
void progress_begin(struct progress *p, const char *label, uint64_t total,
		    bool bytes, const char *unit)
{
	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO) == 1;
	p->label = label;
	p->total = total;
	p->bytes = bytes;
	p->unit = unit ? unit : "";
	p->start_ns = progress_now_ns();
	p->next_ns = p->start_ns + PROGRESS_DELAY_NS;
}

/* progress_draw -- one redraw: label, bar or counter, elapsed time. */
void progress_draw(struct progress *p)
{
	uint64_t now = progress_now_ns();
	double secs = (double)(now - p->start_ns) / 1e9;
	unsigned cols = progress_columns();
	char line[512], a[32], b[32];
	int n;

	if (!p->on)
		return;
	p->next_ns = now + PROGRESS_PERIOD_NS;
	if (p->spinning) {
		static const char spin[] = "|/-\\";
		n = snprintf(line, sizeof(line), "%s %c %.1f s", p->label,
			     spin[(now / PROGRESS_PERIOD_NS) % 4], secs);
	} else if (p->total > 0) {
		uint64_t done = p->done < p->total ? p->done : p->total;
		double frac = (double)done / (double)p->total;
		char tail[128];
		int tl = snprintf(tail, sizeof(tail), " %3.0f%% %s/%s%s%s %.1f s",
				  frac * 100.0,
				  progress_amount(p, done, a, sizeof(a)),
				  progress_amount(p, p->total, b, sizeof(b)),
				  p->bytes ? "" : " ", p->bytes ? "" : p->unit,
				  secs);
		int room = (int)cols - 1 - (int)strlen(p->label) - 3 - tl;
		int width = room > 50 ? 50 : room;

		if (width >= 10) {
			int fill = (int)(frac * width);
			char bar[64];
			memset(bar, '#', (size_t)fill);
			memset(bar + fill, '.', (size_t)(width - fill));
			bar[width] = '\0';
			n = snprintf(line, sizeof(line), "%s [%s]%s", p->label,
				     bar, tail);
		} else {
			n = snprintf(line, sizeof(line), "%s%s", p->label, tail);
		}
	} else {
		n = snprintf(line, sizeof(line), "%s %s%s%s %.1f s", p->label,
			     progress_amount(p, p->done, a, sizeof(a)),
			     p->bytes ? "" : " ", p->bytes ? "" : p->unit, secs);
	}
	if (n < 0)
		return;
	if ((unsigned)n >= cols)
		line[cols - 1] = '\0';
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	p->drawn = true;
}

/* progress_spinner -- the spinner's thread: redraw until told to stop. */
static void *progress_spinner(void *arg)
{
	struct progress *p = arg;

	pthread_mutex_lock(&p->mtx);
	while (!p->stop) {
		struct timespec ts;
		uint64_t now = progress_now_ns();

		if (now >= p->next_ns)
			progress_draw(p);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(PROGRESS_PERIOD_NS / 2);
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&p->cond, &p->mtx, &ts);
	}
	pthread_mutex_unlock(&p->mtx);
	return NULL;
}

/* progress_spin -- a spinner for work without intermediate figures. */
void progress_spin(struct progress *p, const char *label)
{
	progress_begin(p, label, 0, false, NULL);
	if (!p->on)
		return;
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->spinning = true;
	if (pthread_create(&p->thread, NULL, progress_spinner, p) != 0) {
		/* No spinner then: the work itself is not affected. */
		p->spinning = false;
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->mtx);
	}
}

/* progress_end -- stop the spinner, erase the line. */
void progress_end(struct progress *p)
{
	if (p->spinning) {
		pthread_mutex_lock(&p->mtx);
		p->stop = true;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->mtx);
		pthread_join(p->thread, NULL);
		p->spinning = false;
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->mtx);
	}
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = false;
	}
}
