/*
 * blocking.c -- the registry of blocked clients (see blocking.h): which
 * keys each waits on, which clients wait on each key (in the order they
 * blocked), the keys written since the loop last looked, and deadlines.
 *
 * Keys are found through a chained hash table of the waited-on keys only,
 * so a write to a key nobody waits on costs one test of a counter.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "client.h"
#include "cmd.h"
#include "pkv.h"
#include "proto/num.h"

#define BKEY_BUCKETS 1024u

/* A key some clients wait on. */
struct bkey {
	unsigned db;
	char *key;
	size_t klen;
	uint64_t hash;
	struct client **waiters;      /* in the order they blocked */
	size_t n, cap;
	bool ready;                   /* written since the loop looked */
	struct bkey *next;            /* in its bucket */
	struct bkey *rnext;           /* in the ready list */
};

static struct {
	struct bkey *tab[BKEY_BUCKETS];
	struct bkey *ready;           /* keys touched, newest first */
	bool all_ready;               /* blocking_touch_all */
	struct client *clients;       /* every blocked client */
	uint64_t nblocked;
	uint64_t seq;
} bl;

/* bkey_hash -- FNV-1a of the database and key. */
static uint64_t bkey_hash(unsigned db, const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull ^ db;

	for (size_t i = 0; i < klen; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* bkey_find -- the entry of (db, key), or NULL. */
static struct bkey *bkey_find(unsigned db, const void *key, size_t klen,
			      uint64_t h)
{
	for (struct bkey *k = bl.tab[h % BKEY_BUCKETS]; k; k = k->next)
		if (k->hash == h && k->db == db && k->klen == klen &&
		    (klen == 0 || memcmp(k->key, key, klen) == 0))
			return k;
	return NULL;
}

/* bkey_drop -- take c out of k's waiters; free k when none is left. */
static void bkey_drop(struct bkey *k, struct client *c)
{
	struct bkey **pp;

	for (size_t i = 0; i < k->n; i++)
		if (k->waiters[i] == c) {
			memmove(&k->waiters[i], &k->waiters[i + 1],
				(k->n - i - 1) * sizeof(*k->waiters));
			k->n--;
			break;
		}
	if (k->n)
		return;
	for (pp = &bl.tab[k->hash % BKEY_BUCKETS]; *pp != k; pp = &(*pp)->next)
		;
	*pp = k->next;
	if (k->ready)
		for (pp = &bl.ready; *pp; pp = &(*pp)->rnext)
			if (*pp == k) {
				*pp = k->rnext;
				break;
			}
	free(k->waiters);
	free(k->key);
	free(k);
}

/* bkey_wait -- c waits on (db, key): the key's entry, made if need be;
 * NULL without memory. */
static struct bkey *bkey_wait(unsigned db, const struct resp_arg *key,
			      struct client *c)
{
	uint64_t h = bkey_hash(db, key->p, key->len);
	struct bkey *k = bkey_find(db, key->p, key->len, h);

	if (!k) {
		if (!(k = calloc(1, sizeof(*k))) ||
		    !(k->key = malloc(key->len ? key->len : 1))) {
			free(k);
			return NULL;
		}
		memcpy(k->key, key->p, key->len);
		k->klen = key->len;
		k->db = db;
		k->hash = h;
		k->next = bl.tab[h % BKEY_BUCKETS];
		bl.tab[h % BKEY_BUCKETS] = k;
	}
	for (size_t i = 0; i < k->n; i++)
		if (k->waiters[i] == c)
			return k;     /* the same key twice in one command */
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 4;
		struct client **w = realloc(k->waiters, cap * sizeof(*w));
		if (!w) {
			if (!k->n)
				bkey_drop(k, c);
			return NULL;
		}
		k->waiters = w;
		k->cap = cap;
	}
	k->waiters[k->n++] = c;
	return k;
}

/* blocking_keep -- a copy of c's command (arguments and bytes in one
 * allocation) into b. */
static bool blocking_keep(struct client *c, struct client_block *b)
{
	size_t bytes = c->argc * sizeof(struct resp_arg);
	char *p;

	for (size_t i = 0; i < c->argc; i++)
		bytes += c->argv[i].len + 1;
	if (!(b->argv = malloc(bytes)))
		return false;
	p = (char *)(b->argv + c->argc);
	for (size_t i = 0; i < c->argc; i++) {
		memcpy(p, c->argv[i].p, c->argv[i].len);
		p[c->argv[i].len] = '\0';
		b->argv[i].p = p;
		b->argv[i].len = c->argv[i].len;
		p += c->argv[i].len + 1;
	}
	b->argc = c->argc;
	return true;
}

bool blocking_block(struct client *c, const struct command *cmd,
		    size_t first, size_t last, size_t step, int64_t deadline_ms,
		    bool null_bulk)
{
	struct client_block *b = &c->block;
	size_t n = (last - first) / step + 1;

	if (b->blocked)
		return true;          /* run again and still waiting */
	memset(b, 0, sizeof(*b));
	if (!blocking_keep(c, b) || !(b->keys = calloc(n, sizeof(*b->keys)))) {
		free(b->argv);
		b->argv = NULL;
		return false;
	}
	for (size_t i = first; i <= last; i += step) {
		struct bkey *k = bkey_wait(c->db, &c->argv[i], c);
		size_t j = 0;
		if (!k) {
			b->blocked = true;     /* so unblock undoes it */
			blocking_unblock(c);
			return false;
		}
		/* A key named twice (BLPOP k k 0) is waited on once: c is
		 * among its waiters once, and unblocking drops it once. */
		while (j < b->nkeys && b->keys[j] != k)
			j++;
		if (j == b->nkeys)
			b->keys[b->nkeys++] = k;
	}
	b->blocked = true;
	b->cmd = cmd;
	b->null_bulk = null_bulk;
	b->deadline_ms = deadline_ms;
	b->seq = ++bl.seq;
	b->next = bl.clients;
	if (bl.clients)
		bl.clients->block.prev = c;
	bl.clients = c;
	bl.nblocked++;
	return true;
}

void blocking_unblock(struct client *c)
{
	struct client_block *b = &c->block;

	if (!b->blocked)
		return;
	for (size_t i = 0; i < b->nkeys; i++)
		bkey_drop(b->keys[i], c);
	if (b->cmd) {
		if (b->prev)
			b->prev->block.next = b->next;
		else
			bl.clients = b->next;
		if (b->next)
			b->next->block.prev = b->prev;
		bl.nblocked--;
	}
	free(b->keys);
	free(b->argv);
	memset(b, 0, sizeof(*b));
}

void blocking_touch(unsigned db, const void *key, size_t klen)
{
	struct bkey *k;

	if (!bl.nblocked)
		return;
	k = bkey_find(db, key, klen, bkey_hash(db, key, klen));
	if (k && !k->ready) {
		k->ready = true;
		k->rnext = bl.ready;
		bl.ready = k;
	}
}

void blocking_touch_all(void)
{
	if (bl.nblocked)
		bl.all_ready = true;
}

/* blocking_by_seq -- qsort: the order clients blocked in. */
static int blocking_by_seq(const void *a, const void *b)
{
	uint64_t x = (*(struct client *const *)a)->block.seq;
	uint64_t y = (*(struct client *const *)b)->block.seq;

	return x < y ? -1 : x > y;
}

/* blocking_add -- append c to the growing array *out (n, cap); false
 * without memory. */
static bool blocking_add(struct client ***out, size_t *n, size_t *cap,
			 struct client *c)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		struct client **o = realloc(*out, nc * sizeof(*o));
		if (!o)
			return false;
		*out = o;
		*cap = nc;
	}
	(*out)[(*n)++] = c;
	return true;
}

size_t blocking_take(struct client ***outp)
{
	struct client **out = NULL;
	size_t n = 0, cap = 0, j = 0;

	if (bl.all_ready)
		for (struct client *c = bl.clients; c; c = c->block.next)
			if (!blocking_add(&out, &n, &cap, c))
				break;
	bl.all_ready = false;
	while (bl.ready) {
		struct bkey *k = bl.ready;
		for (size_t i = 0; i < k->n; i++)
			if (!blocking_add(&out, &n, &cap, k->waiters[i]))
				break;
		bl.ready = k->rnext;
		k->ready = false;
	}
	/* in the order they blocked, each once (a client may wait on
	 * several of the keys) */
	if (n)
		qsort(out, n, sizeof(*out), blocking_by_seq);
	for (size_t i = 0; i < n; i++)
		if (j == 0 || out[i] != out[j - 1])
			out[j++] = out[i];
	*outp = out;
	return j;
}

uint64_t blocking_count(void)
{
	return bl.nblocked;
}

int64_t blocking_next_deadline(void)
{
	int64_t best = 0;

	for (struct client *c = bl.clients; c; c = c->block.next)
		if (c->block.deadline_ms &&
		    (!best || c->block.deadline_ms < best))
			best = c->block.deadline_ms;
	return best;
}

struct client *blocking_expired(int64_t now)
{
	for (struct client *c = bl.clients; c; c = c->block.next)
		if (c->block.deadline_ms && c->block.deadline_ms <= now)
			return c;
	return NULL;
}

bool blocking_timeout_parse(struct client *c, const struct resp_arg *a,
			    int64_t *deadline_ms)
{
	long double t;
	long long ms;

	if (!num_parse_ld(a->p, a->len, &t) || isnan(t)) {
		reply_error(c, "ERR timeout is not a float or out of range");
		return false;
	}
	t *= 1000.0L;
	if (t > (long double)LLONG_MAX) {
		reply_error(c, "ERR timeout is out of range");
		return false;
	}
	/* Negative before the cast, which a value below LLONG_MIN (-inf,
	 * -1e30) would overflow: Redis's x86 cast makes those LLONG_MIN,
	 * so it answers the same. */
	t = ceill(t);
	if (t < 0) {
		reply_error(c, "ERR timeout is negative");
		return false;
	}
	ms = (long long)t;
	if (ms > 0) {
		int64_t now = pkv_now_ms();
		if (ms > LLONG_MAX - now) {
			reply_error(c, "ERR timeout is out of range");
			return false;
		}
		ms += now;
	}
	*deadline_ms = ms;
	return true;
}

void blocking_wait(struct client *c, size_t first, size_t last,
		   int64_t deadline_ms, bool null_bulk)
{
	const struct command *cmd = cmd_lookup(c->argv[0].p, c->argv[0].len);

	if (c->block.retrying)
		return;               /* run again and still nothing: wait on */
	if (c->in_exec || !cmd ||
	    !blocking_block(c, cmd, first, last, 1, deadline_ms, null_bulk)) {
		if (null_bulk)
			reply_null(c);
		else
			reply_null_array(c);
	}
}
