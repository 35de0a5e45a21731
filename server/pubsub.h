/*
 * pubsub.h -- publish/subscribe, as Redis's: SUBSCRIBE, UNSUBSCRIBE,
 * PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB.  Nothing of it is
 * persistent (as in Redis): a message goes to the clients subscribed when
 * it is published, and subscriptions end with their connection.
 *
 * A message is appended to each receiving client's output like a reply
 * (a push in RESP3), within the client's output-buffer limits (the pubsub
 * class once it has a subscription), and leaves with the turn's replies.
 * In RESP2 a subscribed client may only (un)subscribe, PING, QUIT and
 * RESET, as in Redis.
 */
#ifndef PKV_PUBSUB_H
#define PKV_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/resp.h"

struct client;

/* What a client is subscribed to (in struct client). */
struct client_pubsub {
	struct resp_arg *chans;       /* channel names, each malloc'd */
	size_t nchans, capchans;
	struct resp_arg *pats;        /* patterns, each malloc'd */
	size_t npats, cappats;
};

/* pubsub_count -- the client's subscriptions (channels + patterns). */
size_t pubsub_count(const struct client *c);

/* pubsub_allowed -- whether c may run the command `name` now: false when
 * it is subscribed in RESP2 and the command is not one Redis allows
 * there. */
bool pubsub_allowed(const struct client *c, const char *name);

/* pubsub_client_free -- c goes: every subscription ends. */
void pubsub_client_free(struct client *c);

/* pubsub_totals -- channels with a subscriber, and pattern
 * subscriptions, for INFO. */
void pubsub_totals(uint64_t *channels, uint64_t *patterns);

#endif /* PKV_PUBSUB_H */
