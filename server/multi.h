/*
 * multi.h -- MULTI/EXEC/DISCARD/WATCH/UNWATCH: queued commands per client
 * and the watched-key registry.
 */
#ifndef PKV_MULTI_H
#define PKV_MULTI_H

#include <stddef.h>

struct client;
struct command;

/* multi_queue -- inside MULTI: keep a copy of the request, reply QUEUED. */
void multi_queue(struct client *c, const struct command *cmd);

/* multi_touch -- key of db was written: mark the clients watching it. */
void multi_touch(unsigned db, const void *key, size_t klen);

/* multi_touch_db -- db is about to be flushed or swapped with other
 * (other == db for a flush): mark the watchers of existing keys. */
void multi_touch_db(unsigned db, unsigned other);

/* multi_client_free -- drop a closing client's queue and watches. */
void multi_client_free(struct client *c);

#endif /* PKV_MULTI_H */
