/*
 * pubsub.c -- publish/subscribe (see pubsub.h): the registry of channels
 * and patterns, and the commands SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE
 * PUNSUBSCRIBE PUBLISH PUBSUB (CHANNELS NUMSUB NUMPAT), with Redis 7.0's
 * replies.
 *
 * Channels with subscribers are found through a chained hash table, so a
 * PUBLISH costs its receivers plus one pass over the pattern
 * subscriptions, as in Redis.  Each client keeps its own lists too, for
 * the counts the replies carry and for the cleanup when it goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "net.h"
#include "proto/glob.h"
#include "pubsub.h"
#include "srv.h"

#define CHAN_BUCKETS 1024u

/* A channel with subscribers. */
struct chan {
	char *name;
	size_t len;
	uint64_t hash;
	struct client **subs;         /* in the order they subscribed */
	size_t n, cap;
	struct chan *next;            /* in its bucket */
};

/* A pattern subscription. */
struct psub {
	struct client *c;
	char *pat;
	size_t len;
};

static struct {
	struct chan *tab[CHAN_BUCKETS];
	uint64_t nchans;
	struct psub *pats;            /* in the order they were made */
	size_t npats, cappats;
} ps;

static uint64_t chan_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static struct chan *chan_find(const void *name, size_t len)
{
	uint64_t h = chan_hash(name, len);

	for (struct chan *ch = ps.tab[h % CHAN_BUCKETS]; ch; ch = ch->next)
		if (ch->hash == h && ch->len == len &&
		    (len == 0 || memcmp(ch->name, name, len) == 0))
			return ch;
	return NULL;
}

/* grow -- room for one more element of size sz in *v (n used, *cap). */
static bool grow(void *vp, size_t n, size_t *cap, size_t sz)
{
	void **v = vp;
	void *nv;
	size_t nc;

	if (n < *cap)
		return true;
	nc = *cap ? 2 * *cap : 4;
	if (!(nv = realloc(*v, nc * sz)))
		return false;
	*v = nv;
	*cap = nc;
	return true;
}

/* arg_dup -- a malloc'd copy of a (NUL-terminated for printing). */
static bool arg_dup(const struct resp_arg *a, struct resp_arg *out)
{
	char *p = malloc(a->len + 1);

	if (!p)
		return false;
	memcpy(p, a->p, a->len);
	p[a->len] = '\0';
	out->p = p;
	out->len = a->len;
	return true;
}

static bool arg_same(const struct resp_arg *a, const void *p, size_t len)
{
	return a->len == len && (len == 0 || memcmp(a->p, p, len) == 0);
}

size_t pubsub_count(const struct client *c)
{
	return c->pubsub.nchans + c->pubsub.npats;
}

/* pubsub_reply -- [kind, name (NULL: nil), count] as a push (an array in
 * RESP2). */
static void pubsub_reply(struct client *c, const char *kind,
			 const struct resp_arg *name)
{
	reply_push(c, 3);
	reply_cstr(c, kind);
	if (name)
		reply_bulk(c, name->p, name->len);
	else
		reply_null(c);
	reply_int(c, (int64_t)pubsub_count(c));
}

/* ---- channels ---- */

/* chan_sub -- c subscribes to name; false if it already was (or without
 * memory, which leaves it unsubscribed). */
static bool chan_sub(struct client *c, const struct resp_arg *name)
{
	struct client_pubsub *p = &c->pubsub;
	struct chan *ch;
	uint64_t h;

	for (size_t i = 0; i < p->nchans; i++)
		if (arg_same(&p->chans[i], name->p, name->len))
			return false;
	if (!grow(&p->chans, p->nchans, &p->capchans, sizeof(*p->chans)))
		return false;
	if (!(ch = chan_find(name->p, name->len))) {
		struct resp_arg copy;
		if (!(ch = calloc(1, sizeof(*ch))) || !arg_dup(name, &copy)) {
			free(ch);
			return false;
		}
		ch->name = (char *)copy.p;
		ch->len = copy.len;
		h = ch->hash = chan_hash(name->p, name->len);
		ch->next = ps.tab[h % CHAN_BUCKETS];
		ps.tab[h % CHAN_BUCKETS] = ch;
		ps.nchans++;
	}
	if (!grow(&ch->subs, ch->n, &ch->cap, sizeof(*ch->subs)) ||
	    !arg_dup(name, &p->chans[p->nchans]))
		return false;
	ch->subs[ch->n++] = c;
	p->nchans++;
	return true;
}

/* chan_unsub -- c leaves channel i of its list. */
static void chan_unsub(struct client *c, size_t i)
{
	struct client_pubsub *p = &c->pubsub;
	struct resp_arg *name = &p->chans[i];
	struct chan *ch = chan_find(name->p, name->len), **pp;

	for (size_t j = 0; ch && j < ch->n; j++)
		if (ch->subs[j] == c) {
			memmove(&ch->subs[j], &ch->subs[j + 1],
				(ch->n - j - 1) * sizeof(*ch->subs));
			ch->n--;
			break;
		}
	if (ch && !ch->n) {
		for (pp = &ps.tab[ch->hash % CHAN_BUCKETS]; *pp != ch;
		     pp = &(*pp)->next)
			;
		*pp = ch->next;
		free(ch->subs);
		free(ch->name);
		free(ch);
		ps.nchans--;
	}
	free((char *)name->p);
	memmove(&p->chans[i], &p->chans[i + 1],
		(p->nchans - i - 1) * sizeof(*p->chans));
	p->nchans--;
}

/* ---- patterns ---- */

static bool pat_sub(struct client *c, const struct resp_arg *pat)
{
	struct client_pubsub *p = &c->pubsub;
	struct resp_arg copy;

	for (size_t i = 0; i < p->npats; i++)
		if (arg_same(&p->pats[i], pat->p, pat->len))
			return false;
	if (!grow(&p->pats, p->npats, &p->cappats, sizeof(*p->pats)) ||
	    !grow(&ps.pats, ps.npats, &ps.cappats, sizeof(*ps.pats)) ||
	    !arg_dup(pat, &copy))
		return false;
	p->pats[p->npats++] = copy;
	ps.pats[ps.npats++] = (struct psub){ c, (char *)copy.p, copy.len };
	return true;
}

static void pat_unsub(struct client *c, size_t i)
{
	struct client_pubsub *p = &c->pubsub;

	for (size_t j = 0; j < ps.npats; j++)
		if (ps.pats[j].c == c && ps.pats[j].pat == p->pats[i].p) {
			memmove(&ps.pats[j], &ps.pats[j + 1],
				(ps.npats - j - 1) * sizeof(*ps.pats));
			ps.npats--;
			break;
		}
	free((char *)p->pats[i].p);
	memmove(&p->pats[i], &p->pats[i + 1],
		(p->npats - i - 1) * sizeof(*p->pats));
	p->npats--;
}

void pubsub_client_free(struct client *c)
{
	struct client_pubsub *p = &c->pubsub;

	while (p->nchans)
		chan_unsub(c, p->nchans - 1);
	while (p->npats)
		pat_unsub(c, p->npats - 1);
	free(p->chans);
	free(p->pats);
	memset(p, 0, sizeof(*p));
}

void pubsub_totals(uint64_t *channels, uint64_t *patterns)
{
	*channels = ps.nchans;
	*patterns = ps.npats;
}

bool pubsub_allowed(const struct client *c, const char *name)
{
	static const char *const ok[] = {
		"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
		"ssubscribe", "sunsubscribe", "ping", "quit", "reset", NULL
	};

	if (c->proto >= 3 || !pubsub_count(c))
		return true;
	for (size_t i = 0; ok[i]; i++)
		if (!strcmp(name, ok[i]))
			return true;
	return false;
}

/* ---- commands ---- */

static void cmd_subscribe(struct client *c)
{
	for (size_t i = 1; i < c->argc; i++) {
		chan_sub(c, &c->argv[i]);
		pubsub_reply(c, "subscribe", &c->argv[i]);
	}
}

static void cmd_psubscribe(struct client *c)
{
	for (size_t i = 1; i < c->argc; i++) {
		pat_sub(c, &c->argv[i]);
		pubsub_reply(c, "psubscribe", &c->argv[i]);
	}
}

/* unsub_one -- leave the channel or pattern name (in list, n of them). */
static void unsub_one(struct client *c, bool pattern,
		      const struct resp_arg *name)
{
	struct client_pubsub *p = &c->pubsub;
	struct resp_arg *list = pattern ? p->pats : p->chans;
	size_t n = pattern ? p->npats : p->nchans;

	for (size_t i = 0; i < n; i++)
		if (arg_same(&list[i], name->p, name->len)) {
			if (pattern)
				pat_unsub(c, i);
			else
				chan_unsub(c, i);
			break;
		}
	pubsub_reply(c, pattern ? "punsubscribe" : "unsubscribe", name);
}

/* unsub -- UNSUBSCRIBE and PUNSUBSCRIBE [name ...]: the named, or all. */
static void unsub(struct client *c, bool pattern)
{
	struct client_pubsub *p = &c->pubsub;
	const char *kind = pattern ? "punsubscribe" : "unsubscribe";

	if (c->argc > 1) {
		for (size_t i = 1; i < c->argc; i++)
			unsub_one(c, pattern, &c->argv[i]);
		return;
	}
	if (!(pattern ? p->npats : p->nchans)) {
		pubsub_reply(c, kind, NULL);
		return;
	}
	while (pattern ? p->npats : p->nchans) {
		struct resp_arg *list = pattern ? p->pats : p->chans;
		struct resp_arg name;
		if (!arg_dup(&list[0], &name))
			break;
		unsub_one(c, pattern, &name);
		free((char *)name.p);
	}
}

static void cmd_unsubscribe(struct client *c)
{
	unsub(c, false);
}

static void cmd_punsubscribe(struct client *c)
{
	unsub(c, true);
}

/* deliver -- a message to s: [message, channel, msg] or, for a pattern,
 * [pmessage, pattern, channel, msg]. */
static void deliver(struct client *s, const struct psub *pat,
		    const struct resp_arg *ch, const struct resp_arg *msg)
{
	if (s->closing_now)
		return;
	net_client_output(s);
	reply_push(s, pat ? 4 : 3);
	reply_cstr(s, pat ? "pmessage" : "message");
	if (pat)
		reply_bulk(s, pat->pat, pat->len);
	reply_bulk(s, ch->p, ch->len);
	reply_bulk(s, msg->p, msg->len);
}

/* cmd_publish -- PUBLISH channel message: the clients that got it. */
static void cmd_publish(struct client *c)
{
	const struct resp_arg *ch = &c->argv[1], *msg = &c->argv[2];
	struct chan *chan = chan_find(ch->p, ch->len);
	int64_t n = 0;

	for (size_t i = 0; chan && i < chan->n; i++, n++)
		deliver(chan->subs[i], NULL, ch, msg);
	for (size_t i = 0; i < ps.npats; i++)
		if (glob_match(ps.pats[i].pat, ps.pats[i].len, ch->p, ch->len,
			       0)) {
			deliver(ps.pats[i].c, &ps.pats[i], ch, msg);
			n++;
		}
	reply_int(c, n);
}

/* cmd_pubsub -- PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT
 * | SHARDCHANNELS [pattern] | SHARDNUMSUB [channel ...] | HELP. */
static void cmd_pubsub(struct client *c)
{
	static const char *const subs[] = { "channels", "numsub", "numpat",
					    "shardchannels", "shardnumsub",
					    "help", NULL };
	const struct resp_arg *sub = &c->argv[1];

	if (arg_is(sub, "channels") && c->argc <= 3) {
		int64_t n = 0;
		for (int pass = 0; pass < 2; pass++) {
			if (pass)
				reply_array(c, n);
			for (size_t b = 0; b < CHAN_BUCKETS; b++)
				for (struct chan *ch = ps.tab[b]; ch;
				     ch = ch->next) {
					if (c->argc == 3 &&
					    !glob_match(c->argv[2].p,
							c->argv[2].len,
							ch->name, ch->len, 0))
						continue;
					if (pass)
						reply_bulk(c, ch->name,
							   ch->len);
					else
						n++;
				}
		}
	} else if (arg_is(sub, "numsub")) {
		reply_map(c, (int64_t)c->argc - 2);
		for (size_t i = 2; i < c->argc; i++) {
			struct chan *ch = chan_find(c->argv[i].p,
						    c->argv[i].len);
			reply_bulk(c, c->argv[i].p, c->argv[i].len);
			reply_int(c, ch ? (int64_t)ch->n : 0);
		}
	} else if (arg_is(sub, "numpat") && c->argc == 2) {
		/* distinct patterns, as Redis counts them */
		int64_t n = 0;
		for (size_t i = 0; i < ps.npats; i++) {
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = ps.pats[j].len == ps.pats[i].len &&
				       !memcmp(ps.pats[j].pat, ps.pats[i].pat,
					       ps.pats[i].len);
			n += !seen;
		}
		reply_int(c, n);
	} else if (arg_is(sub, "shardchannels") && c->argc <= 3) {
		reply_array(c, 0);            /* no sharded channels */
	} else if (arg_is(sub, "shardnumsub")) {
		reply_map(c, (int64_t)c->argc - 2);
		for (size_t i = 2; i < c->argc; i++) {
			reply_bulk(c, c->argv[i].p, c->argv[i].len);
			reply_int(c, 0);
		}
	} else if (arg_is(sub, "help") && c->argc == 2) {
		static const char *const help[] = {
			"PUBSUB <subcommand> [<arg> [value] [opt] ...]. "
			"Subcommands are:",
			"CHANNELS [<pattern>]",
			"    Return the currently active channels matching a "
			"<pattern> (default: '*').",
			"NUMPAT",
			"    Return number of subscriptions to patterns.",
			"NUMSUB [<channel> ...]",
			"    Return the number of subscribers for the specified "
			"channels, excluding",
			"    pattern subscriptions(default: no channels).",
			"SHARDCHANNELS [<pattern>]",
			"    Return the currently active shard level channels "
			"matching a <pattern> (default: '*').",
			"SHARDNUMSUB [<shardchannel> ...]",
			"    Return the number of subscribers for the specified "
			"shard level channel(s)",
			"HELP",
			"    Prints this help.",
		};
		reply_help(c, help, sizeof(help) / sizeof(*help));
	} else {
		reply_err_subcmd(c, "pubsub", subs);
	}
}

const struct command pubsub_commands[] = {
	{ "subscribe", -2, 0, 0, 0, 0, cmd_subscribe, "pubsub", "2.0.0",
	  "Listen for messages published to the given channels" },
	{ "unsubscribe", -1, 0, 0, 0, 0, cmd_unsubscribe, "pubsub", "2.0.0",
	  "Stop listening for messages posted to the given channels" },
	{ "psubscribe", -2, 0, 0, 0, 0, cmd_psubscribe, "pubsub", "2.0.0",
	  "Listen for messages published to channels matching the given "
	  "patterns" },
	{ "punsubscribe", -1, 0, 0, 0, 0, cmd_punsubscribe, "pubsub",
	  "2.0.0", "Stop listening for messages posted to channels matching "
	  "the given patterns" },
	{ "publish", 3, CMD_FAST, 0, 0, 0, cmd_publish, "pubsub", "2.0.0",
	  "Post a message to a channel" },
	{ "pubsub", -2, 0, 0, 0, 0, cmd_pubsub, "pubsub", "2.8.0",
	  "A container for Pub/Sub commands" },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
