/*
 * crashsim.c -- the crash simulator engine; see crashsim.h.
 *
 * Model of the media: a line is durable once a fence of the actor that
 * flushed it follows the flush; the content that becomes durable is the
 * content at the time of the flush (a later store to the line needs a
 * later flush).  Before that fence, any subset of the flushed-but-unfenced
 * lines of every actor may already have reached the media, and (--evict)
 * so may any line whose content differs from the media, written back by
 * the cache on its own; (--torn) a line may reach the media only in part,
 * in 8-byte words, which are the unit of atomicity.  When a fence makes a
 * line durable, another actor's older pending write-back of it is dropped:
 * it cannot land over the newer content.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crashsim.h"
#include "csum.h"
#include "persist.h"

/* crashsim_disk_model -- see crashsim.h. */
void crashsim_disk_model(struct pool *pool, bool on)
{
	if (on && persist_set_disk_model(&pool->persist)) {
		fprintf(stderr, "crash-sim: out of memory\n");
		exit(2);
	}
}

/* A line flushed by an actor and not yet fenced by it. */
struct pend {
	uint32_t line;
	uint8_t actor;
	uint64_t order;              /* flush sequence: later lands later */
};

struct crashsim {
	struct crashsim_opts o;
	crashsim_check_fn check;
	void *ctx;
	struct persist_hook hook;
	struct pool *pool;           /* watched pool */
	char *live;                  /* its buffer */
	size_t len;
	size_t nlines;
	char *shadow;                /* persisted image */
	char *image;                 /* scratch crash image */
	struct pend *pend;           /* pending write-backs */
	char *pdata;                 /* their snapshots, CACHELINE each */
	size_t npend, pcap;
	uint32_t *lidx;              /* nlines x CRASHSIM_ACTORS: index+1 */
	uint64_t order;
	unsigned actor;
	uint32_t *dirty;             /* --evict: lines differing from media */
	uint32_t *chosen;            /* entries put in the current image */
	uint64_t states;
	uint64_t failures;
	uint64_t first_failure;      /* states when the first one was seen */
	uint64_t fences;
	uint64_t op;
	const char *op_what;
	int in_check;
	uint64_t printed_own;
	uint64_t cur_idx;
	uint64_t *printed;           /* failures printed (maybe shared) */
};

struct crashsim *crashsim_new(const struct crashsim_opts *opts,
			      crashsim_check_fn check, void *ctx)
{
	struct crashsim *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	cs->o = *opts;
	if (cs->o.samples == 0)
		cs->o.samples = 64;
	if (cs->o.max_exhaustive > 16)
		cs->o.max_exhaustive = 16;
	if (cs->o.max_print == 0)
		cs->o.max_print = 5;
	cs->check = check;
	cs->ctx = ctx;
	cs->op_what = "";
	if (!cs->o.label)
		cs->o.label = "";
	cs->printed = &cs->printed_own;
	return cs;
}

void crashsim_free(struct crashsim *cs)
{
	if (!cs)
		return;
	crashsim_detach(cs);
	free(cs->shadow);
	free(cs->image);
	free(cs->pend);
	free(cs->pdata);
	free(cs->lidx);
	free(cs->dirty);
	free(cs->chosen);
	free(cs);
}

static void hook_flush(void *ctx, uint64_t off, size_t len);
static void hook_fence(void *ctx);

int crashsim_attach(struct crashsim *cs, struct pool *pool)
{
	size_t len = pool->map_len;   /* the whole image: pools grow */

	cs->pool = pool;
	cs->live = pool->base;
	if (cs->shadow) {
		if (len != cs->len)
			return -1;
		goto ready;
	}
	cs->len = len;
	cs->nlines = (len + CACHELINE - 1) / CACHELINE;
	cs->shadow = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);
	cs->image = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);
	cs->lidx = calloc(cs->nlines * CRASHSIM_ACTORS, sizeof(uint32_t));
	cs->dirty = malloc(cs->nlines * sizeof(uint32_t));
	if (!cs->shadow || !cs->image || !cs->lidx || !cs->dirty)
		return -1;
ready:
	memcpy(cs->shadow, cs->live, len);
	for (size_t i = 0; i < cs->npend; i++)
		cs->lidx[cs->pend[i].line * CRASHSIM_ACTORS +
			 cs->pend[i].actor] = 0;
	cs->npend = 0;
	if (cs->o.label[0])
		cs->fences = 0; /* nested: fences counted per attach */
	cs->hook.flush = hook_flush;
	cs->hook.fence = hook_fence;
	cs->hook.ctx = cs;
	persist_set_hook(&pool->persist, &cs->hook);
	return 0;
}

void crashsim_set_actor(struct crashsim *cs, unsigned a)
{
	cs->actor = a % CRASHSIM_ACTORS;
}

void crashsim_detach(struct crashsim *cs)
{
	if (cs->pool)
		persist_set_hook(&cs->pool->persist, NULL);
	cs->pool = NULL;
}

void crashsim_forget(struct crashsim *cs)
{
	cs->pool = NULL;
}

void crashsim_set_op(struct crashsim *cs, uint64_t op, const char *what)
{
	cs->op = op;
	cs->op_what = what ? what : "";
}

uint64_t crashsim_states(const struct crashsim *cs) { return cs->states; }
uint64_t crashsim_failures(const struct crashsim *cs) { return cs->failures; }
uint64_t crashsim_fences(const struct crashsim *cs) { return cs->fences; }
uint64_t crashsim_first_failure(const struct crashsim *cs)
{
	return cs->first_failure;
}

void crashsim_position(const struct crashsim *cs, uint64_t *fence,
		       uint64_t *state)
{
	*fence = cs->fences;
	*state = cs->cur_idx;
}

void crashsim_share_printed(struct crashsim *nested, struct crashsim *outer)
{
	nested->printed = outer->printed;
}

bool crashsim_done(const struct crashsim *cs)
{
	return (cs->o.max_states && cs->states >= cs->o.max_states) ||
	       (cs->o.stop_on_failure && *cs->printed > 0);
}

/* pend_grow -- room for one more pending entry; false without memory. */
static bool pend_grow(struct crashsim *cs)
{
	if (cs->npend < cs->pcap)
		return true;
	size_t cap = cs->pcap ? 2 * cs->pcap : 1024;
	struct pend *p = realloc(cs->pend, cap * sizeof(*p));
	if (!p)
		return false;
	cs->pend = p;
	char *d = realloc(cs->pdata, cap * CACHELINE);
	if (!d)
		return false;
	cs->pdata = d;
	uint32_t *c = realloc(cs->chosen, cap * sizeof(*c));
	if (!c)
		return false;
	cs->chosen = c;
	cs->pcap = cap;
	return true;
}

static void hook_flush(void *ctx, uint64_t off, size_t len)
{
	struct crashsim *cs = ctx;
	uint64_t first, last;

	if (len == 0 || off >= cs->len)
		return;
	if (len > cs->len - off)
		len = cs->len - off;
	first = off / CACHELINE;
	last = (off + len - 1) / CACHELINE;
	for (uint64_t l = first; l <= last; l++) {
		uint32_t *slot = &cs->lidx[l * CRASHSIM_ACTORS + cs->actor];
		size_t i;
		/* Writing back a line the media already holds changes
		 * nothing (a disk-mode checkpoint flushes the whole heap). */
		if (!*slot && !memcmp(cs->live + l * CACHELINE,
				      cs->shadow + l * CACHELINE, CACHELINE))
			continue;
		if (*slot) {
			i = *slot - 1;
		} else {
			if (!pend_grow(cs)) {
				fprintf(stderr, "crash-sim: out of memory\n");
				exit(2);
			}
			i = cs->npend++;
			cs->pend[i].line = (uint32_t)l;
			cs->pend[i].actor = (uint8_t)cs->actor;
			*slot = (uint32_t)i + 1;
		}
		cs->pend[i].order = ++cs->order;
		memcpy(cs->pdata + i * CACHELINE, cs->live + l * CACHELINE,
		       CACHELINE);
	}
}

/* Put line l's content src into the image, whole or (torn) in part. */
static void put_line(struct crashsim *cs, uint32_t l, const char *src,
		     uint64_t *rng)
{
	char *dst = cs->image + (size_t)l * CACHELINE;

	if (!cs->o.torn) {
		memcpy(dst, src, CACHELINE);
		return;
	}
	unsigned words = (unsigned)crashsim_rand(rng) & 0xffu;
	for (unsigned w = 0; w < CACHELINE / 8; w++)
		if (words & (1u << w))
			memcpy(dst + 8 * w, src + 8 * w, 8);
}

/* order_cmp -- chosen entries in flush order (qsort over indices). */
static const struct pend *sort_pend;
static int order_cmp(const void *a, const void *b)
{
	uint64_t x = sort_pend[*(const uint32_t *)a].order;
	uint64_t y = sort_pend[*(const uint32_t *)b].order;
	return x < y ? -1 : x > y;
}

/* Build one crash image and check it.  exhaustive: idx is the subset of
 * pending entries; else a random sample (idx 0: none, 1: all). */
static void one_state(struct crashsim *cs, uint64_t idx, uint64_t ntotal,
		      bool exhaustive, size_t ndirty, uint64_t *rng)
{
	char why[1024];
	size_t nchosen = 0;
	uint64_t chosen_mask = 0;

	memcpy(cs->image, cs->shadow, cs->len);
	for (size_t i = 0; i < cs->npend; i++) {
		bool take;
		if (exhaustive)
			take = (idx >> i) & 1;
		else if (idx == 0)
			take = false;
		else if (idx == 1)
			take = true;
		else
			take = crashsim_rand(rng) & 1;
		if (!take)
			continue;
		if (i < 64)
			chosen_mask |= 1ull << i;
		cs->chosen[nchosen++] = (uint32_t)i;
	}
	sort_pend = cs->pend;
	if (nchosen)      /* chosen may be unallocated (nothing pending) */
		qsort(cs->chosen, nchosen, sizeof(cs->chosen[0]), order_cmp);
	for (size_t k = 0; k < nchosen; k++) {
		uint32_t i = cs->chosen[k];
		put_line(cs, cs->pend[i].line, cs->pdata + (size_t)i * CACHELINE,
			 rng);
	}
	size_t nevicted = 0;
	for (size_t i = 0; i < ndirty; i++) {
		uint32_t l = cs->dirty[i];
		if (!(crashsim_rand(rng) & 1))
			continue;
		put_line(cs, l, cs->live + (size_t)l * CACHELINE, rng);
		nevicted++;
	}
	cs->states++;
	cs->cur_idx = idx;
	why[0] = '\0';
	cs->in_check = 1;
	int bad = cs->check(cs->ctx, cs->image, cs->len, why, sizeof(why));
	cs->in_check = 0;
	if (!bad)
		return;
	if (!cs->failures++)
		cs->first_failure = cs->states;
	if (++*cs->printed > cs->o.max_print)
		return;
	printf("crash-sim: FAILURE%s seed=%llu op=%llu (%s) fence=%llu "
	       "actor=%u subset=%llu/%llu%s mask=0x%llx pending=%zu "
	       "chosen=%zu evicted=%zu mode=%s%s%s: %s\n", cs->o.label,
	       (unsigned long long)cs->o.seed, (unsigned long long)cs->op,
	       cs->op_what, (unsigned long long)cs->fences, cs->actor,
	       (unsigned long long)idx, (unsigned long long)ntotal,
	       exhaustive ? " (exhaustive)" : " (sampled)",
	       (unsigned long long)chosen_mask, cs->npend, nchosen,
	       nevicted, cs->o.torn ? "torn" : "lines",
	       cs->o.evict ? "+evict" : "", cs->o.disk ? "+disk" : "", why);
	if (!cs->o.label[0])
	printf("crash-sim:   reproduce: %s --seed %llu --ops %llu "
	       "--fence %llu%s%s%s%s --samples %u --exhaustive %u\n",
	       cs->o.program ? cs->o.program : "tests/crashsim",
	       (unsigned long long)cs->o.seed,
	       (unsigned long long)cs->op + 1,
	       (unsigned long long)cs->fences, cs->o.torn ? " --torn" : "",
	       cs->o.evict ? " --evict" : "", cs->o.disk ? " --disk" : "",
	       cs->o.verbose ? " --verbose" : "",
	       cs->o.samples, cs->o.max_exhaustive);
	if (cs->o.verbose) {
		printf("crash-sim:   pending lines (actor):");
		for (size_t i = 0; i < cs->npend; i++)
			printf(" %llu(%u)%s",
			       (unsigned long long)cs->pend[i].line * CACHELINE,
			       cs->pend[i].actor,
			       (i < 64 && (chosen_mask >> i & 1)) ? "*" : "");
		printf("\n");
	}
	fflush(stdout);
}

static void hook_fence(void *ctx)
{
	struct crashsim *cs = ctx;
	uint64_t rng;
	size_t ndirty = 0;

	if (cs->in_check)
		return; /* cannot happen: checked pools have no hook */
	cs->fences++;
	rng = crashsim_mix(cs->o.seed * 0x100000001b3ull ^ cs->fences);

	bool want = !crashsim_done(cs) &&
		(cs->o.only_fence < 0 || (uint64_t)cs->o.only_fence == cs->fences);
	/* On a disk the pool is mapped privately: a page reaches the file
	 * only through the layer's writes, which are the flushes already
	 * pending, so there is nothing else to evict (and pipelined commits
	 * change pages in memory before their records are durable). */
	if (want && cs->o.evict && !cs->o.disk) {
		for (size_t l = 0; l < cs->nlines; l++)
			if (memcmp(cs->live + l * CACHELINE,
				   cs->shadow + l * CACHELINE, CACHELINE))
				cs->dirty[ndirty++] = (uint32_t)l;
	}
	if (want && (cs->npend > 0 || ndirty > 0)) {
		if (cs->npend <= cs->o.max_exhaustive) {
			/* every subset (with random torn words/evictions) */
			uint64_t n = 1ull << cs->npend;
			for (uint64_t m = 0; m < n; m++)
				one_state(cs, m, n, true, ndirty, &rng);
		} else {
			for (uint64_t s = 0; s < cs->o.samples; s++)
				one_state(cs, s, cs->o.samples, false, ndirty,
					  &rng);
		}
		if (cs->o.verbose && cs->fences % 1000 == 0)
			fprintf(stderr, "crash-sim: fence %llu op %llu: %llu "
				"states, %llu failures\n",
				(unsigned long long)cs->fences,
				(unsigned long long)cs->op,
				(unsigned long long)cs->states,
				(unsigned long long)cs->failures);
	}
	/*
	 * The fence: this actor's pending lines become durable, in flush
	 * order; another actor's older pending write-back of such a line can
	 * no longer land over it.  The others stay pending.
	 */
	uint32_t *drop = cs->chosen;     /* free between states: scratch */
	size_t k = 0;
	for (size_t i = 0; i < cs->npend; i++) {
		const struct pend *e = &cs->pend[i];
		uint32_t mine = cs->lidx[(size_t)e->line * CRASHSIM_ACTORS +
					 cs->actor];
		drop[i] = e->actor == cs->actor ||
			  (mine && cs->pend[mine - 1].order > e->order);
		if (e->actor == cs->actor)
			memcpy(cs->shadow + (size_t)e->line * CACHELINE,
			       cs->pdata + i * CACHELINE, CACHELINE);
	}
	for (size_t i = 0; i < cs->npend; i++)
		cs->lidx[(size_t)cs->pend[i].line * CRASHSIM_ACTORS +
			 cs->pend[i].actor] = 0;
	for (size_t i = 0; i < cs->npend; i++) {
		if (drop[i])
			continue;
		if (k != i) {
			cs->pend[k] = cs->pend[i];
			memcpy(cs->pdata + k * CACHELINE,
			       cs->pdata + i * CACHELINE, CACHELINE);
		}
		cs->lidx[(size_t)cs->pend[k].line * CRASHSIM_ACTORS +
			 cs->pend[k].actor] = (uint32_t)k + 1;
		k++;
	}
	cs->npend = k;
}

/* crashsim_dump_redo -- see crashsim.h. */
void crashsim_dump_redo(const char *img)
{
	const struct pool_hdr *H = (const void *)img;
	const struct pool_state *S = (const void *)(img + POOL_STATE_OFF);
	uint64_t slot = CKPT_SLOT_SIZE(H->nlanes);
	uint64_t rings = H->lanes_off + 2 * slot;

	fprintf(stderr, "  pool state: root 0x%" PRIx64 "\n", S->root);
	for (int k = 0; k < 2; k++) {
		const struct ckpt_hdr *c = (const void *)(img + H->lanes_off +
							  k * slot);
		const uint64_t *tail = (const void *)(c + 1);
		fprintf(stderr, "  slot %d: gen %" PRIu64 " watermark %" PRIu64
			" csum %s tails", k, c->gen, c->watermark,
			csum64(c, slot, 0) == c->checksum ? "ok" : "BAD");
		for (unsigned i = 0; i < H->nlanes; i++)
			fprintf(stderr, " %" PRIu64, tail[i]);
		fprintf(stderr, "\n");
	}
	for (unsigned i = 0; i < H->nlanes; i++) {
		for (uint64_t o = 0; o < H->log_size; o += CACHELINE) {
			const struct log_rec *g = (const void *)(img + rings +
						  i * H->log_size + o);
			if (!g->seq || g->lane != i || g->used % 8 ||
			    g->used > H->log_size - o - sizeof(*g))
				continue;
			fprintf(stderr, "  lane %u @%" PRIu64 ": seq %" PRIu64
				" used %u:", i, o, g->seq, g->used);
			const uint64_t *w = (const void *)(g + 1);
			for (uint32_t k = 0; k + 16 <= g->used && k < 1024;) {
				unsigned op = LOG_ENTRY_OP(w[k / 8]);
				uint64_t off = LOG_ENTRY_OFF(w[k / 8]);
				uint64_t v = w[k / 8 + 1];
				fprintf(stderr, " %s@0x%" PRIx64 "=0x%" PRIx64,
					op == 1 ? "SET" : op == 2 ? "OR" :
					op == 3 ? "AND" : op == 4 ? "COPY" :
					op == 5 ? "BLOCK" : "?", off, v);
				k += 16;
				if (op == LOG_OP_COPY)
					k += (uint32_t)((v + 7) & ~7ull);
				else if (op == LOG_OP_BLOCK)
					k += (uint32_t)((LOG_BLOCK_PREFIX(v) + 7) &
							~7ull);
			}
			fprintf(stderr, "\n");
		}
	}
}

/* crashsim_parse_opt -- the common options (see crashsim.h). */
bool crashsim_parse_opt(struct crashsim_opts *o, uint64_t *max_ops,
			int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (!strcmp(a, "--torn"))
		o->torn = true;
	else if (!strcmp(a, "--evict"))
		o->evict = true;
	else if (!strcmp(a, "--verbose"))
		o->verbose = true;
	else if (!strcmp(a, "--stop-on-failure"))
		o->stop_on_failure = true;
	else if (!strcmp(a, "--disk"))
		o->disk = true;
	else if (v && !strcmp(a, "--states"))
		o->max_states = strtoull(argv[++*i], NULL, 0);
	else if (v && !strcmp(a, "--seed"))
		o->seed = strtoull(argv[++*i], NULL, 0);
	else if (v && !strcmp(a, "--ops"))
		*max_ops = strtoull(argv[++*i], NULL, 0);
	else if (v && !strcmp(a, "--samples"))
		o->samples = (unsigned)strtoul(argv[++*i], NULL, 0);
	else if (v && !strcmp(a, "--exhaustive"))
		o->max_exhaustive = (unsigned)strtoul(argv[++*i], NULL, 0);
	else if (v && !strcmp(a, "--fence"))
		o->only_fence = strtoll(argv[++*i], NULL, 0);
	else
		return false;
	return true;
}
