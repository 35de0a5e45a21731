/*
 * obuf.h -- a client's pending output: how much it holds, the
 * client-output-buffer-limit that closes a client fallen too far behind,
 * and the recent peaks INFO reports.
 *
 * Replies are appended to c->out while commands run and sent by the loop
 * after the turn's group commit (net.c), so all the replies of a pipeline
 * wait in c->out at once, and a client that never reads keeps them there.
 * The reply calls (client.c) ask obuf_room before they copy a payload and
 * call obuf_check once it is appended, so the limits are checked at every
 * append, as Redis's closeClientOnOutputBufferLimitReached does: at or
 * over the hard limit, or at or over the soft limit at appends more than
 * soft-seconds apart with none under it in between, the client is closed
 * at once -- its pending output dropped unsent, a line logged, a counter
 * raised -- and no other client is touched.  A payload that would reach
 * the hard limit by itself closes the client before it is copied, so a
 * client never holds much more than its hard limit plus one small reply
 * (twice that in allocation, as c->out grows by doubling).
 *
 * What the limits measure (obuf_usage) is the output waiting beyond its
 * first OBUF_FREE_BYTES: Redis keeps that much in a fixed buffer that its
 * limits do not count, so even a tiny limit lets a client have its small
 * replies, as in Redis.
 */
#ifndef PKV_OBUF_H
#define PKV_OBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct client;

#define OBUF_FREE_BYTES (16u * 1024)   /* Redis's PROTO_REPLY_CHUNK_BYTES */

/* obuf_pending -- bytes of replies appended and not yet sent. */
size_t obuf_pending(const struct client *c);

/* obuf_usage -- what the limits are held against: the pending bytes
 * beyond the first OBUF_FREE_BYTES (CLIENT LIST's omem). */
size_t obuf_usage(const struct client *c);

/* obuf_class_of -- the client's limit class; every client is normal
 * until pkv has replicas and subscribers. */
enum obuf_class obuf_class_of(const struct client *c);

/*
 * obuf_room -- whether a reply carrying len payload bytes may be
 * appended: false for a client that is closing (its output is dropped),
 * and false for one the payload alone would take to its hard limit,
 * which is closed now, before anything is copied.
 */
bool obuf_room(struct client *c, size_t len);

/* obuf_check -- after an append: close the client if it is over its
 * limits, as Redis's checkClientOutputBufferLimits decides; note the
 * peak for INFO. */
void obuf_check(struct client *c);

/* obuf_sent -- after a write: a client now under its soft limit starts
 * afresh (the limit wants it over continuously). */
void obuf_sent(struct client *c);

/* obuf_note_input -- a query buffer of this many bytes was seen, for
 * INFO's client_recent_max_input_buffer. */
void obuf_note_input(size_t bytes);

/* obuf_recent_max -- the largest query buffer and output usage seen in
 * the last few seconds (INFO clients), as Redis's
 * client_recent_max_input_buffer and client_recent_max_output_buffer. */
void obuf_recent_max(size_t *in, size_t *out);

#endif /* PKV_OBUF_H */
