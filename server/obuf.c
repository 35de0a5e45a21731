/*
 * obuf.c -- output-buffer accounting and limits (see obuf.h).
 *
 * Time is in whole seconds (time(2)), as Redis's server.unixtime, so a
 * soft limit of N seconds closes a client seen over it at two appends
 * more than N seconds apart.  The clock is read only when a client holds
 * more than OBUF_FREE_BYTES, so the replies of a client that keeps up
 * cost two comparisons.
 */
#include <stdio.h>
#include <time.h>

#include "client.h"
#include "obuf.h"
#include "srv.h"

/* Recent peaks, one slot a second over the last OBUF_PEAK_SLOTS seconds
 * (Redis's CLIENTS_PEAK_MEM_USAGE_SLOTS).  Redis samples every client
 * from its cron; pkv sends each turn's replies at once, so a sample would
 * nearly always find the buffers empty -- the peak is noted as it
 * happens instead. */
#define OBUF_PEAK_SLOTS 8
struct obuf_peak {
	int64_t sec;                  /* the second this slot holds */
	size_t in, out;               /* largest query buffer, output usage */
};
static struct obuf_peak peaks[OBUF_PEAK_SLOTS];

/* obuf_peak_slot -- the slot of second now, emptied if it held an older
 * second. */
static struct obuf_peak *obuf_peak_slot(int64_t now)
{
	size_t i = (size_t)(now % OBUF_PEAK_SLOTS);

	if (peaks[i].sec != now) {
		peaks[i].sec = now;
		peaks[i].in = peaks[i].out = 0;
	}
	return &peaks[i];
}

size_t obuf_pending(const struct client *c)
{
	return c->out.len > c->sent ? c->out.len - c->sent : 0;
}

size_t obuf_usage(const struct client *c)
{
	size_t n = obuf_pending(c);

	return n > OBUF_FREE_BYTES ? n - OBUF_FREE_BYTES : 0;
}

enum obuf_class obuf_class_of(const struct client *c)
{
	return pubsub_count(c) ? OBUF_PUBSUB : OBUF_NORMAL;
}

/* obuf_close -- close c now for its limits: log it with its CLIENT LIST
 * line (as it stood), drop its output unsent, count it.  The loop frees
 * it at the end of the turn (net.c); its commands stop at once. */
static void obuf_close(struct client *c)
{
	char info[768];

	client_info(c, info, sizeof(info));
	srv_log(3, "Client %s scheduled to be closed ASAP for overcoming of "
		"output buffer limits.", info);
	rbuf_free(&c->out);
	c->sent = 0;
	c->closing_now = true;
	srv.obuf_limit_disconnections++;
}

bool obuf_room(struct client *c, size_t len)
{
	const struct obuf_limit *l;
	size_t after;

	if (c->closing_now)
		return false;
	l = &srv.cfg.obuf_limits[obuf_class_of(c)];
	after = obuf_pending(c) + len;
	if (l->hard && after > OBUF_FREE_BYTES &&
	    after - OBUF_FREE_BYTES >= l->hard) {
		obuf_close(c);
		return false;
	}
	return true;
}

void obuf_check(struct client *c)
{
	const struct obuf_limit *l = &srv.cfg.obuf_limits[obuf_class_of(c)];
	size_t used = obuf_usage(c);
	struct obuf_peak *pk;
	int64_t now;

	if (!used || c->closing_now) {
		c->obuf_soft_since = 0;
		return;
	}
	now = (int64_t)time(NULL);
	pk = obuf_peak_slot(now);
	if (used > pk->out)
		pk->out = used;
	if (l->hard && used >= l->hard) {
		obuf_close(c);
		return;
	}
	if (!l->soft || used < l->soft) {
		c->obuf_soft_since = 0;
	} else if (!c->obuf_soft_since) {
		c->obuf_soft_since = now;   /* first seen over: timing starts */
	} else if (now - c->obuf_soft_since > l->soft_seconds) {
		obuf_close(c);
	}
}

void obuf_sent(struct client *c)
{
	const struct obuf_limit *l = &srv.cfg.obuf_limits[obuf_class_of(c)];

	if (!l->soft || obuf_usage(c) < l->soft)
		c->obuf_soft_since = 0;
}

void obuf_note_input(size_t bytes)
{
	struct obuf_peak *pk = obuf_peak_slot((int64_t)time(NULL));

	if (bytes > pk->in)
		pk->in = bytes;
}

void obuf_recent_max(size_t *in, size_t *out)
{
	int64_t now = (int64_t)time(NULL);

	*in = *out = 0;
	for (size_t i = 0; i < OBUF_PEAK_SLOTS; i++) {
		if (peaks[i].sec <= now - OBUF_PEAK_SLOTS)
			continue;
		if (peaks[i].in > *in)
			*in = peaks[i].in;
		if (peaks[i].out > *out)
			*out = peaks[i].out;
	}
}
