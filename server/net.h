/*
 * net.h -- the event loop: the listening socket, client connections,
 * reading requests, running them, writing replies, timers.
 */
#ifndef PKV_NET_H
#define PKV_NET_H

struct client;

/* net_listen -- bind and listen per the configuration; 0 or -1 (logged). */
int net_listen(void);

/* net_run -- serve until srv.shutdown_asap; then close every client. */
void net_run(void);

/* net_client_kill -- close a client at the next loop turn (CLIENT KILL). */
void net_client_kill(struct client *c);

/* net_clients -- the client list head, for CLIENT LIST/KILL. */
struct client *net_clients(void);

/* net_client_output -- c is about to get output outside a command of its
 * own (a published message): send it with the turn's replies. */
void net_client_output(struct client *c);

/* net_client_unblocked -- c, just unblocked from outside its command
 * (CLIENT UNBLOCK, after its reply with net_client_output), runs what
 * waits in its query buffer this turn. */
void net_client_unblocked(struct client *c);

#endif /* PKV_NET_H */
