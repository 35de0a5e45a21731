/*
 * net.c -- a single-threaded epoll loop, as Redis's ae.
 *
 * One thread owns every client and runs every command, so commands never
 * race each other (MULTI, INCR, WATCH need no locks); the library's own
 * threads only expire keys and collect garbage.  Each turn of the loop
 * reads what every ready client sent and runs every whole request in a
 * group commit (keyspace.h): the writes of the turn, from all clients,
 * become durable in one transaction, and only then are the replies
 * written.  So a pipeline costs one read, one commit and one write, and no
 * reply goes out before its write could survive a crash.  If the group's
 * commit fails (the pool is full), nothing of it was written, and every
 * command of the group is answered with that error instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bgdefrag.h"
#include "blocking.h"
#include "client.h"
#include "cmd.h"
#include "keyspace.h"
#include "multi.h"
#include "net.h"
#include "obuf.h"
#include "srv.h"

#define READ_CHUNK (16u * 1024)
#define MAX_EVENTS 128

static struct client *group;   /* clients that ran commands this turn */
/* The previous turn's group, submitted and not yet durable (on a disk):
 * its replies wait for held_ticket (net_held_release). */
static struct client *held;
static uint64_t held_ticket;
static char durable_tag;       /* epoll's mark for the library's fd */
/* When this turn of the loop began (Unix ms): a client's last command
 * time, which only idle times and timeouts read, is the turn's, not a
 * clock read per command. */
static int64_t turn_ms;

/* net_nonblock -- O_NONBLOCK on fd. */
static int net_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* net_listen -- the first address of `bind`, IPv4 or IPv6. */
int net_listen(void)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char addr[256];
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	snprintf(addr, sizeof(addr), "%s", srv.cfg.bind);
	addr[strcspn(addr, " ")] = '\0';
	if (inet_pton(AF_INET, addr,
		      &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)srv.cfg.port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, addr,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)srv.cfg.port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		srv_log(3, "Invalid bind address '%s'", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 511) ||
	    net_nonblock(fd)) {
		srv_log(3, "Could not create server TCP listening socket "
			"%s:%d: %s", addr, srv.cfg.port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	srv.listen_fd = fd;
	return 0;
}

/* net_addr -- "ip:port" of a socket address. */
static void net_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		port = ntohs(s->sin6_port);
	}
	snprintf(buf, len, "%s:%u", ip, port);
}

struct client *net_clients(void)
{
	return srv.clients;
}

/* net_client_free -- unlink, close and free a client. */
static void net_client_free(struct client *c)
{
	if (c->held)
		for (struct client **pp = &held; *pp; pp = &(*pp)->pnext)
			if (*pp == c) {
				*pp = c->pnext;
				break;
			}
	if (c->in_group)     /* the open group outlives a turn */
		for (struct client **pp = &group; *pp; pp = &(*pp)->gnext)
			if (*pp == c) {
				*pp = c->gnext;
				break;
			}
	epoll_ctl(srv.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv.nclients--;
	multi_client_free(c);
	blocking_unblock(c);
	pubsub_client_free(c);
	resp_req_free(&c->req);
	rbuf_free(&c->out);
	free(c->qbuf);
	free(c->name);
	free(c->lib_name);
	free(c->lib_ver);
	free(c);
}

void net_client_kill(struct client *c)
{
	c->closing_now = true;
}

/* net_accept -- take every pending connection. */
static void net_accept(void)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct epoll_event ev;
		struct client *c;
		int one = 1;
		int fd = accept4(srv.listen_fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				srv_log(3, "Accepting client connection: %s",
					strerror(errno));
			return;
		}
		if ((long long)srv.nclients >= srv.cfg.maxclients) {
			static const char msg[] =
				"-ERR max number of clients reached\r\n";
			if (write(fd, msg, sizeof(msg) - 1) < 0) {
				/* closing anyway */
			}
			close(fd);
			srv.rejected_connections++;
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->id = ++srv.next_client_id;
		c->proto = 2;
		c->authed = !srv.cfg.requirepass || !srv.cfg.requirepass[0];
		c->ctime_ms = c->last_ms = pkv_now_ms();
		net_addr(&ss, c->addr, sizeof(c->addr));
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			net_addr(&ss, c->laddr, sizeof(c->laddr));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = srv.clients;
		if (srv.clients)
			srv.clients->prev = c;
		srv.clients = c;
		srv.nclients++;
		srv.total_connections++;
	}
}

/* net_want_write -- watch for writability only while output waits (one
 * epoll_ctl per change, none per request). */
static void net_want_write(struct client *c, bool on)
{
	struct epoll_event ev;

	if (c->want_write == on)
		return;
	c->want_write = on;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(srv.epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* net_write -- send what may be sent; false when the client is gone. */
static bool net_write(struct client *c)
{
	size_t end = c->out.len;

	/* Nothing of a group before its commit (this turn's, if c runs
	 * commands in it), nor of a held one before its sync. */
	if (c->in_group && c->group_mark < end)
		end = c->group_mark;
	if (c->held && c->hold_at < end)
		end = c->hold_at;

	while (c->sent < end) {
		ssize_t n = write(c->fd, c->out.p + c->sent, end - c->sent);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				net_want_write(c, true);
				return true;
			}
			return false;
		}
		c->sent += (size_t)n;
		srv.net_output_bytes += (uint64_t)n;
		obuf_sent(c);
	}
	if (c->sent < c->out.len)     /* the rest waits for a commit or a
					 sync; a client closing (QUIT) goes
					 once it is sent */
		return true;
	c->out.len = c->sent = 0;
	if (c->out.cap > (1u << 20)) {   /* give a big reply's memory back */
		rbuf_free(&c->out);
	}
	net_want_write(c, false);
	return !c->close_asap;
}

/* group_add -- c runs a command in this turn's group; its replies so far
 * (from before the group) start at mark. */
static void group_add(struct client *c, size_t mark)
{
	if (c->in_group)
		return;
	c->in_group = true;
	c->group_mark = mark;
	c->group_cmds = 0;
	c->gnext = group;
	group = c;
}

static void net_commit_failed(int err);

/* net_group_end -- the group's commit returned err: membership ends; on
 * an error each client's replies since its mark become one error per
 * command. */
static void net_group_end(int err)
{
	for (struct client *c = group; c; c = c->gnext) {
		if (err) {
			reply_rewind(c, c->group_mark);
			for (size_t i = 0; i < c->group_cmds; i++)
				reply_err_commit(c, err);
		}
		c->in_group = false;
	}
	if (err)
		net_commit_failed(err);
}

/*
 * net_group_commit -- commit the turn's writes.  A command whose writes
 * did not fit was taken back already (net_process), so the commit fails
 * only for what fails every write (an I/O error): then nothing of the
 * turn is durable, and each client's replies since its mark are replaced
 * by one error per command.  The log line is limited to one a second.
 * Membership ends; replies are sent by the caller.
 */
static void net_group_commit(void)
{
	net_group_end(ks_group_end());
}

/*
 * net_group_submit -- net_group_commit, pipelined on a disk: the turn's
 * writes are applied, and unless they (and what the turn read) are
 * durable already, its clients are held: their replies so far wait for
 * the sync, which runs while the next turns' commands do
 * (net_group_turn).  Only one group waits at a time.
 */
static void net_group_submit(void)
{
	uint64_t ticket;
	int err = ks_group_submit(&ticket);

	if (err || ks_durable(ticket, false) != 0) {
		/* failed at once, or durable already: as a commit */
		net_group_end(err);
		return;
	}
	held_ticket = ticket;
	for (struct client *c = group; c; c = c->gnext) {
		c->held = true;
		c->hold_at = c->group_mark;
		c->held_cmds = c->group_cmds;
		c->pnext = held;
		held = c;
		c->in_group = false;
	}
}

/*
 * net_held_release -- wait until the held group is durable and send its
 * replies.  If its sync failed, nothing since is durable either: each
 * held client's replies from its held group on (this turn's included,
 * which may have read what was lost) become one error per command.
 */
static void net_held_release(void)
{
	int r;

	if (!held)
		return;
	r = ks_durable(held_ticket, true);
	for (struct client *c = held, *n; c; c = n) {
		n = c->pnext;
		c->pnext = NULL;
		if (r < 0) {
			size_t cmds = c->held_cmds +
				      (c->in_group ? c->group_cmds : 0);
			reply_rewind(c, c->hold_at);
			for (size_t i = 0; i < cmds; i++)
				reply_err_commit(c, r);
			if (c->in_group) {
				c->group_mark = reply_mark(c);
				c->group_cmds = 0;
			}
		}
		c->held = false;   /* (this turn's replies still wait) */
		if (!c->closing_now && c->out.len > c->sent && !net_write(c))
			c->closing_now = true;
	}
	held = NULL;
	if (r < 0)
		net_commit_failed(r);
}

/*
 * A group of fewer commands than this is committed in the loop, as
 * Redis's turn: its sync is not worth a hand-off.  Pipelining pays when
 * the next turns have work to do while the sync runs; with a few commands
 * per turn (pipeline 1) they have little, and the loop would spin through
 * many small turns while it waits: measured under SET at pipeline 1 with
 * 50 clients on a disk, 18-23 us of server CPU a request against 14-18
 * committing in the loop, and fewer requests a second.
 */
#define PIPELINE_MIN_CMDS 64

/* net_group_cmds -- commands the open group's clients ran. */
static size_t net_group_cmds(void)
{
	size_t n = 0;

	for (struct client *c = group; c; c = c->gnext)
		n += c->group_cmds;
	return n;
}

/*
 * net_group_turn -- the end of a turn.  While the last group's sync still
 * runs (and `wait` is false), this turn's commands stay in the open group,
 * which goes on gathering the next turns' (one sync for all of them, as
 * Redis's write of its AOF buffer covers every client of a turn; waiting
 * instead would leave each sync the half of the clients a turn has).
 * Otherwise: the last group's replies go, the open group is submitted
 * (or, under PIPELINE_MIN_CMDS commands, committed here), and the
 * replies it need not wait for go too.
 */
static void net_group_turn(bool wait)
{
	if (held && !wait && ks_durable(held_ticket, false) == 0)
		return;
	net_held_release();
	if (net_group_cmds() < PIPELINE_MIN_CMDS)
		net_group_commit();
	else
		net_group_submit();
	for (struct client *c = group; c; c = c->gnext)
		if (!c->closing_now && c->out.len > c->sent && !net_write(c))
			c->closing_now = true;
	group = NULL;
}

/* net_commit_failed -- log a failed group commit, at most once a
 * second. */
static void net_commit_failed(int err)
{
	static int64_t last_log;
	static uint64_t unlogged;
	int64_t now = pkv_now_ms();

	if (now - last_log >= 1000) {
		srv_log(3, "Group commit failed: %s (%llu more such failures "
			"not logged)", pkv_strerror(err),
			(unsigned long long)unlogged);
		last_log = now;
		unlogged = 0;
	} else {
		unlogged++;
	}
}

/* net_client_output -- c is about to get output outside a command of its
 * own (a published message): it leaves with this turn's replies. */
void net_client_output(struct client *c)
{
	group_add(c, reply_mark(c));
}

/* net_group_flush -- commit now and open a new group (before a flush or
 * swap of a database). */
static void net_group_flush(void)
{
	struct client *g = group;

	net_group_commit();
	group = NULL;
	ks_group_begin();
	/* their replies go out at the end of the turn as usual */
	for (struct client *c = g, *n; c; c = n) {
		n = c->gnext;
		group_add(c, reply_mark(c));
	}
}

static void net_process(struct client *c);

/* Clients unblocked with requests waiting in their query buffer: run in
 * this turn, after the client whose command woke them. */
static struct client *resume_head, **resume_tail = &resume_head;

/* net_resume_add -- c was unblocked: run what waits in its buffer. */
static void net_resume_add(struct client *c)
{
	if (c->resume || !c->qlen)
		return;
	c->resume = true;
	c->resume_next = NULL;
	*resume_tail = c;
	resume_tail = &c->resume_next;
}

/* net_client_unblocked -- c answered its blocking command from outside
 * (CLIENT UNBLOCK): count the reply, and run what waits in its buffer. */
void net_client_unblocked(struct client *c)
{
	c->group_cmds++;
	net_resume_add(c);
}

/* net_resume -- run the requests of unblocked clients (which may block
 * again, or wake others: they join the list). */
static void net_resume(void)
{
	while (resume_head) {
		struct client *c = resume_head;
		if (!(resume_head = c->resume_next))
			resume_tail = &resume_head;
		c->resume = false;
		if (!c->closing_now)
			net_process(c);
	}
}

/*
 * net_rerun -- run a blocked client's command again (a key it waits on
 * was written), in the turn's batch.  If it answered, it got what it
 * waited for (or failed): it is unblocked, and its reply leaves after
 * the group commit like every other.  If not, it still waits.
 */
static void net_rerun(struct client *c)
{
	struct client_block *b = &c->block;
	size_t mark = reply_mark(c);
	struct ks_cmd kc;
	int cerr;

	group_add(c, mark);
	c->argc = b->argc;
	c->argv = b->argv;
	b->retrying = true;
	ks_cmd_begin(&kc);
	b->cmd->proc(c);
	if ((cerr = ks_cmd_end(&kc)) != 0) {
		reply_rewind(c, mark);
		reply_err_kv(c, cerr);
	}
	b->retrying = false;
	c->argc = 0;
	c->argv = NULL;
	if (reply_mark(c) != mark || c->closing_now) {
		blocking_unblock(c);
		c->group_cmds++;
		c->last_ms = turn_ms;
		net_resume_add(c);
	}
}

/* net_serve_blocked -- after a command: run again the commands of the
 * clients waiting on keys it wrote, in the order they blocked, until no
 * more keys are touched (a served BLMOVE may push to another waited-on
 * key). */
static void net_serve_blocked(void)
{
	static bool serving;
	struct client **cs = NULL;
	size_t n;

	if (serving)
		return;
	serving = true;
	while ((n = blocking_take(&cs)) > 0) {
		for (size_t i = 0; i < n; i++)
			if (cs[i]->block.blocked)
				net_rerun(cs[i]);
		free(cs);
		cs = NULL;
	}
	free(cs);
	serving = false;
}

/* net_block_timeouts -- answer the blocked clients whose timeout has
 * passed with their command's null reply. */
static void net_block_timeouts(int64_t now)
{
	struct client *c;

	while ((c = blocking_expired(now)) != NULL) {
		group_add(c, reply_mark(c));
		if (c->block.null_bulk)
			reply_null(c);
		else
			reply_null_array(c);
		blocking_unblock(c);
		c->group_cmds++;
		net_resume_add(c);
	}
}

/* net_prefetch's parse of the requests ahead (freed by net_run's end). */
static struct resp_req ahead;

/*
 * net_prefetch -- c's request just parsed is followed by more (a
 * pipeline): start loading the entries of its key and of the next
 * requests' (their second arguments, up to KS_PREFETCH keys), so that
 * their lookups' cache misses overlap (ks_prefetch).  The requests ahead
 * are parsed a first time here, and again when they run: a parse costs
 * less than the misses it hides.  Inline requests are skipped (their
 * arguments live in the parser's own buffer).
 */
static void net_prefetch(struct client *c, size_t pos,
			 const struct resp_limits *lim)
{
	struct resp_arg keys[KS_PREFETCH];
	size_t n = 0;

	if (c->req.argc >= 2)
		keys[n++] = c->req.argv[1];
	while (n < KS_PREFETCH && pos < c->qlen && c->qbuf[pos] == '*') {
		char err[64];
		size_t used = 0;
		if (resp_parse(&ahead, c->qbuf + pos, c->qlen - pos, lim,
			       c->authed, &used, err, sizeof(err)) != RESP_OK)
			break;
		pos += used;
		if (ahead.argc >= 2)
			keys[n++] = ahead.argv[1];
	}
	ks_prefetch(c->db, keys, 1, 0, n);
}

/* net_process -- run every whole request in the query buffer. */
static void net_process(struct client *c)
{
	struct resp_limits lim = {
		.max_bulk = srv.cfg.proto_max_bulk_len,
		.max_args = (uint64_t)srv.cfg.max_args,
		.max_inline = 64 * 1024,
	};
	size_t pos = 0, ran = 0;

	while (pos < c->qlen && !c->close_asap && !c->closing_now &&
	       !c->block.blocked) {
		char err[256];
		size_t used = 0;
		enum resp_status st = resp_parse(&c->req, c->qbuf + pos,
						 c->qlen - pos, &lim, c->authed,
						 &used, err, sizeof(err));
		if (st == RESP_NEED_MORE)
			break;
		if (st == RESP_ERROR) {
			reply_error(c, "ERR %s", err);
			/* sent with the turn's replies, then the close */
			group_add(c, reply_mark(c));
			srv_log(1, "Protocol error (%s) from client: id=%llu "
				"addr=%s", err, (unsigned long long)c->id,
				c->addr);
			c->close_asap = true;
			break;
		}
		pos += used;
		if (ran++ % KS_PREFETCH == 0 && pos < c->qlen)
			net_prefetch(c, pos, &lim);
		c->argc = c->req.argc;
		c->argv = c->req.argv;
		c->last_ms = turn_ms;
		/* A command whose writes fail (the pool is full) is taken
		 * back whole and answers the error; the other commands of
		 * the turn, this client's and everyone's, are unaffected. */
		struct ks_cmd kc;
		size_t mark = reply_mark(c);
		int cerr;
		group_add(c, mark);
		ks_cmd_begin(&kc);
		cmd_call(c);
		if ((cerr = ks_cmd_end(&kc)) != 0) {
			reply_rewind(c, mark);
			reply_err_kv(c, cerr);
		}
		if (!c->in_group)      /* a flush during the command */
			group_add(c, mark);
		if (!c->block.blocked)  /* a blocked one answers later */
			c->group_cmds++;
		c->argc = 0;
		c->argv = NULL;
		net_serve_blocked();
		/* A turn's record past half a log ring: committed now, so
		 * that no group needs heap space to commit (a full pool
		 * has none, and every command of the group would fail). */
		if (ks_group_big())
			net_group_flush();
	}
	if (pos) {
		memmove(c->qbuf, c->qbuf + pos, c->qlen - pos);
		c->qlen -= pos;
	}
}

/*
 * net_read -- read, run, reply; false when the client must go.  Reads
 * until a read comes back short (the socket had no more: epoll is
 * level-triggered, so what arrives after is the next turn's), the socket
 * is dry, or 1 MiB has come, so one busy client cannot hold the loop.
 * Reading on to EAGAIN cost every client a second read per turn that
 * found nothing (pipeline 1: 100 reads per turn of 50 clients, not 50).
 */
static bool net_read(struct client *c)
{
	size_t got = 0;

	while (got < (1u << 20)) {
		ssize_t n;
		if (c->qcap - c->qlen < READ_CHUNK) {
			size_t cap = c->qcap ? c->qcap * 2 : 2 * READ_CHUNK;
			char *q = realloc(c->qbuf, cap);
			if (!q)
				return false;
			c->qbuf = q;
			c->qcap = cap;
		}
		size_t room = c->qcap - c->qlen;
		n = read(c->fd, c->qbuf + c->qlen, room);
		if (n == 0)
			return false;  /* the client closed */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return false;
		}
		c->qlen += (size_t)n;
		got += (size_t)n;
		srv.net_input_bytes += (uint64_t)n;
		if (c->qlen > srv.cfg.client_query_buffer_limit) {
			srv_log(3, "Closing client that reached max query "
				"buffer length: id=%llu addr=%s qbuf=%zu",
				(unsigned long long)c->id, c->addr, c->qlen);
			srv.qbuf_limit_disconnections++;
			return false;
		}
		obuf_note_input(c->qcap);
		net_process(c);
		if (c->closing_now)
			return false;
		if (c->close_asap || (size_t)n < room)
			break;
	}
	return true;   /* replies go out after the group commit */
}

/* net_damage_log -- say once, and again at most every 10 s while more is
 * found, that the library met damage in the pool (pkv_damage). */
static void net_damage_log(int64_t now)
{
	static int seen;
	static int64_t last;
	char what[256];
	int n;

	if (now - last < 10000 || (n = pkv_damage(srv.db, what,
						   sizeof(what))) <= seen)
		return;
	srv_log(3, "Damage found in the pool (%d time%s so far; the first: "
		"%s). The commands that meet it fail; everything else is "
		"served. `pkv check` on a copy of the pool says more.", n,
		n == 1 ? "" : "s", what);
	seen = n;
	last = now;
}

/* net_cron -- periodic work: idle timeouts, killed clients, damage. */
static void net_cron(void)
{
	int64_t now = pkv_now_ms();
	struct client *c = srv.clients, *next;

	net_damage_log(now);
	bgdefrag_cron(now);

	for (; c; c = next) {
		next = c->next;
		if (c->closing_now ||
		    (srv.cfg.timeout > 0 && !c->in_multi &&
		     !c->block.blocked &&
		     now - c->last_ms > srv.cfg.timeout * 1000))
			net_client_free(c);
	}
}

/* net_run -- the loop. */
void net_run(void)
{
	struct epoll_event ev, events[MAX_EVENTS];
	int64_t last_cron = 0;
	int dfd = ks_durable_fd();

	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.listen_fd, &ev);
	if (dfd >= 0) {   /* wakes the loop when a held group is durable */
		ev.events = EPOLLIN;
		ev.data.ptr = &durable_tag;
		epoll_ctl(srv.epfd, EPOLL_CTL_ADD, dfd, &ev);
	}
	ks_set_group_flush(net_group_flush);
	while (!srv.shutdown_asap) {
		int timeout = (int)(1000 / srv.cfg.hz);
		int64_t now, next = blocking_next_deadline();
		int n;

		if (next) {   /* wake for the first blocked client's timeout */
			int64_t wait = next - pkv_now_ms();
			if (wait < timeout)
				timeout = wait < 0 ? 0 : (int)wait;
		}
		n = epoll_wait(srv.epfd, events, MAX_EVENTS, timeout);
		turn_ms = pkv_now_ms();
		ks_group_begin();
		if (next)
			net_block_timeouts(turn_ms);
		for (int i = 0; i < n; i++) {
			struct client *c = events[i].data.ptr;
			if (!c) {
				net_accept();
				continue;
			}
			if ((void *)c == &durable_tag) {
				uint64_t v;
				if (read(dfd, &v, sizeof(v)) < 0)
					v = 0;   /* cleared already */
				continue;
			}
			if (c->closing_now)
				continue;
			if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    !net_read(c))
				c->closing_now = true;
			if ((events[i].events & EPOLLOUT) && !c->closing_now &&
			    !net_write(c))
				c->closing_now = true;
		}
		net_resume();
		net_group_turn(false);
		for (int i = 0; i < n; i++) {
			struct client *c = events[i].data.ptr;
			if (c && (void *)c != &durable_tag && c->closing_now)
				net_client_free(c);
		}
		now = pkv_now_ms();
		if (now - last_cron >= 1000 / srv.cfg.hz) {
			net_cron();
			last_cron = now;
		}
	}
	net_group_turn(true);
	net_held_release();
	while (srv.clients)
		net_client_free(srv.clients);
	resp_req_free(&ahead);
	close(srv.listen_fd);
	close(srv.epfd);
}
