/*
 * crash_heap.c -- the crash simulator's heap workload, model and checker.
 *
 * One thread runs a seeded random sequence of heap transactions on an
 * in-memory pool watched by the engine (crashsim.c).  The pool root points
 * to a root block: NSLOTS slot words, each 0 or the data offset of a block
 * whose content is derived from a unique tag, and a DATA_SIZE byte data
 * area.  A model of that logical state is kept before and after the
 * operation in flight; every crash image must recover to one of the two
 * (all or nothing; nothing committed lost), with exactly the root block
 * and the slot blocks allocated (no leak, nothing missing), a consistent
 * heap, fresh allocations that overlap nothing live, and the same state
 * when recovered a second time (a crash right after recovery).
 *
 * Garbage on purpose: some operations leak a block (allocate, never
 * publish) or unlink a slot without freeing it (lazy free), and some run
 * the collector, whose sweep transactions are crashed like any other.
 * After recovery, blocks beyond the live ones are allowed only if they are
 * such garbage; then the recovery audit (gc_audit) runs -- with crashes
 * simulated inside it too, when nested -- and must leave exactly the live
 * blocks, none missing.
 *
 * Usage: crashsim [--states N] [--seed S] [--ops N] [--torn] [--evict]
 *                 [--samples K] [--exhaustive K] [--fence F] [--verbose]
 *                 [--recovery-crashes N]
 * --recovery-crashes N: for one main crash state in N (default 64; 0 off),
 * also simulate crashes at every fence inside its recovery (a nested
 * engine) and check each of those images the same way.
 * Prints "crash-sim: N states, N failures"; exits 1 when failures > 0.
 * Writers are played as three threads on three lanes, the collector as a
 * fourth and checkpoints as a fifth (crashsim_set_actor): a fence orders
 * only its own thread's write-backs.
 * PKV_PLANTED_BUG=<name> plants one of the bugs of lib/planted.h (this
 * program is built with the library compiled with -DPKV_PLANTED_BUGS).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkv.h"
#include "layout.h"
#include "pool.h"
#include "redo.h"
#include "heap.h"
#include "tx.h"
#include "gc.h"
#include "csum.h"
#include "planted.h"
#include "crashsim.h"

#define POOL_SIZE (8u << 20)
#define NSLOTS 32
#define DATA_SIZE 256
#define ROOT_SIZE (NSLOTS * 8 + DATA_SIZE)
#define TYPE_ROOT 1u
#define TYPE_SLOT 2u
#define HUGE_SIZE (300u << 10)
#define MAX_GARBAGE 24
#define MAX_BLOCKS (NSLOTS + 1 + MAX_GARBAGE)
#define WRITERS 3            /* actors 0..2 commit on lanes 0..2 */
#define GC_ACTOR 3           /* the collector, on lane 3 */
#define CKPT_ACTOR 4         /* a checkpointer thread: no lane */

struct slotm {
	uint64_t off;   /* data offset, 0 = empty */
	uint64_t tag;   /* unique; the content derives from it */
	uint64_t size;
};

struct model {
	struct slotm s[NSLOTS];
	uint8_t data[DATA_SIZE];
};

struct blk {
	uint64_t off, size;
	uint32_t type;
};

struct blocklist {
	size_t n;
	int overflow;
	struct blk b[MAX_BLOCKS + 8];
};

/* Workload state. */
static struct heap *g_heap;
static struct pool *g_pool;
static uint64_t g_root;          /* root block data offset */
static uint64_t g_tag;
static uint64_t g_rng;
static struct model g_cur;       /* committed state */
static struct model g_after;     /* state if the commit in flight lands */
static int g_inflight;
static char *g_image2;           /* second recovery */
static char *g_image3;           /* second recovery, nested */
static int g_verbose;
static struct crashsim *g_cs;       /* the main engine */
static struct crashsim *g_nested;   /* crashes inside recovery */
static unsigned g_nested_every;     /* one crash state in this many */
static int g_in_nested;
static char g_nested_label[160];
static uint64_t g_garb[MAX_GARBAGE]; /* blocks made garbage on purpose */
static unsigned g_ngarb;             /* (a superset: some may be swept) */

static bool g_disk;                 /* --disk: the file backend's model */
static uint64_t rnd(void) { return crashsim_rand(&g_rng); }

/* act -- play thread a from now on: its lane, its flushes and fences. */
static void act(unsigned a)
{
	crashsim_set_actor(g_cs, a);
	if (a < CKPT_ACTOR)
		redo_thread_lane(a);
}
static uint64_t rndn(uint64_t n) { return n ? rnd() % n : 0; }

static uint64_t slot_word(unsigned i) { return g_root + 8ull * i; }
static uint64_t data_off(void) { return g_root + 8ull * NSLOTS; }

/* The root block's trace function: its slot words. */
static void trace_root(const void *data, uint64_t size, gc_visit_fn visit,
		       void *vctx)
{
	const uint64_t *w = data;

	for (uint64_t i = 0; i < NSLOTS && (i + 1) * 8 <= size; i++)
		if (w[i])
			visit(vctx, w[i]);
}

/* is_garbage -- whether off was made garbage on purpose. */
static int is_garbage(uint64_t off)
{
	for (unsigned i = 0; i < g_ngarb; i++)
		if (g_garb[i] == off)
			return 1;
	return 0;
}

/* The content of a block: tag, size, then words derived from the tag. */
static void fill_block(char *p, uint64_t tag, uint64_t size)
{
	uint64_t w;

	memcpy(p, &tag, 8);
	memcpy(p + 8, &size, 8);
	for (uint64_t i = 16; i < size; i += 8) {
		w = crashsim_mix(tag * 0x9e3779b97f4a7c15ull + i);
		memcpy(p + i, &w, size - i < 8 ? size - i : 8);
	}
}

/* 0 when p holds the content of (tag, size); else the first bad byte + 1. */
static uint64_t verify_block(const char *p, uint64_t tag, uint64_t size)
{
	uint64_t w;

	if (memcmp(p + 8, &size, 8))
		return 9;
	for (uint64_t i = 16; i < size; i += 8) {
		w = crashsim_mix(tag * 0x9e3779b97f4a7c15ull + i);
		if (memcmp(p + i, &w, size - i < 8 ? size - i : 8))
			return i + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Checker */

struct lstate {
	uint64_t root;
	struct slotm s[NSLOTS];
	uint8_t data[DATA_SIZE];
};

static int collect_fn(void *ctx, uint64_t off, uint64_t size, uint32_t type)
{
	struct blocklist *bl = ctx;

	if (bl->n >= sizeof(bl->b) / sizeof(bl->b[0])) {
		bl->overflow = 1;
		return 1;
	}
	bl->b[bl->n].off = off;
	bl->b[bl->n].size = size;
	bl->b[bl->n].type = type;
	bl->n++;
	return 0;
}

static int cmp_blk(const void *a, const void *b)
{
	const struct blk *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

#define FAIL(...) do { snprintf(why, whylen, __VA_ARGS__); return 1; } while (0)

/* Read the logical state of a recovered heap and validate every block. */
static int extract(struct heap *h, struct lstate *st, char *why, size_t whylen)
{
	struct pool *pool = heap_pool(h);
	uint64_t size;
	uint32_t type;

	memset(st, 0, sizeof(*st));
	st->root = pool->state->root;
	if (st->root != g_root)
		FAIL("root is 0x%" PRIx64 ", expected 0x%" PRIx64, st->root,
		     g_root);
	if (!heap_block_valid(h, g_root, &size, &type))
		FAIL("root block 0x%" PRIx64 " not allocated", g_root);
	if (size != ROOT_SIZE || type != TYPE_ROOT)
		FAIL("root block size %" PRIu64 " type %u", size, type);
	const uint64_t *slots = pool_ptr(pool, g_root);
	for (unsigned i = 0; i < NSLOTS; i++) {
		uint64_t off = slots[i];
		st->s[i].off = off;
		if (!off)
			continue;
		if (!pool_contains(pool, off, 16))
			FAIL("slot %u: offset 0x%" PRIx64 " outside the pool",
			     i, off);
		if (!heap_block_valid(h, off, &size, &type))
			FAIL("slot %u: 0x%" PRIx64 " is not an allocated block"
			     " (pointer into a free block)", i, off);
		if (type != TYPE_SLOT)
			FAIL("slot %u: block 0x%" PRIx64 " has type %u", i,
			     off, type);
		const char *p = pool_ptr(pool, off);
		uint64_t tag, csize;
		memcpy(&tag, p, 8);
		memcpy(&csize, p + 8, 8);
		if (csize != size || size < 16 ||
		    !pool_contains(pool, off, size))
			FAIL("slot %u: block 0x%" PRIx64 " size %" PRIu64
			     " but content says %" PRIu64, i, off, size, csize);
		uint64_t bad = verify_block(p, tag, size);
		if (bad)
			FAIL("slot %u: block 0x%" PRIx64 " (tag %" PRIu64
			     ", size %" PRIu64 ") content wrong at byte %" PRIu64,
			     i, off, tag, size, bad - 1);
		st->s[i].tag = tag;
		st->s[i].size = size;
	}
	memcpy(st->data, pool_ptr(pool, data_off()), DATA_SIZE);
	return 0;
}

static int same_as_model(const struct lstate *st, const struct model *m)
{
	for (unsigned i = 0; i < NSLOTS; i++) {
		if (st->s[i].off != m->s[i].off)
			return 0;
		if (m->s[i].off && (st->s[i].tag != m->s[i].tag ||
				    st->s[i].size != m->s[i].size))
			return 0;
	}
	return memcmp(st->data, m->data, DATA_SIZE) == 0;
}

static void describe_diff(const struct lstate *st, const struct model *m,
			  char *buf, size_t len)
{
	for (unsigned i = 0; i < NSLOTS; i++) {
		if (st->s[i].off != m->s[i].off ||
		    (m->s[i].off && (st->s[i].tag != m->s[i].tag ||
				     st->s[i].size != m->s[i].size))) {
			snprintf(buf, len, "slot %u is 0x%" PRIx64 "/tag %" PRIu64
				 ", model 0x%" PRIx64 "/tag %" PRIu64, i,
				 st->s[i].off, st->s[i].tag, m->s[i].off,
				 m->s[i].tag);
			return;
		}
	}
	for (unsigned i = 0; i < DATA_SIZE; i++) {
		if (st->data[i] != m->data[i]) {
			snprintf(buf, len, "data[%u] is 0x%02x, model 0x%02x", i,
				 st->data[i], m->data[i]);
			return;
		}
	}
	snprintf(buf, len, "same");
}

/*
 * The allocated blocks must be exactly the root and the slot blocks, plus,
 * if allow_garbage, blocks the workload made garbage on purpose.
 */
static int check_blocks(struct heap *h, const struct lstate *st,
			struct blocklist *bl, int allow_garbage, char *why,
			size_t whylen)
{
	struct blk exp[MAX_BLOCKS];
	size_t nexp = 0;
	int err;

	bl->n = 0;
	bl->overflow = 0;
	err = heap_foreach_block(h, collect_fn, bl);
	if (bl->overflow)
		FAIL("heap_foreach_block: more than %zu blocks allocated "
		     "(leak)", sizeof(bl->b) / sizeof(bl->b[0]));
	if (err)
		FAIL("heap_foreach_block returned %d", err);
	exp[nexp++] = (struct blk){ g_root, ROOT_SIZE, TYPE_ROOT };
	for (unsigned i = 0; i < NSLOTS; i++)
		if (st->s[i].off)
			exp[nexp++] = (struct blk){ st->s[i].off, st->s[i].size,
						    TYPE_SLOT };
	qsort(exp, nexp, sizeof(exp[0]), cmp_blk);
	qsort(bl->b, bl->n, sizeof(bl->b[0]), cmp_blk);
	for (size_t i = 1; i < nexp; i++)
		if (exp[i].off == exp[i - 1].off)
			FAIL("block 0x%" PRIx64 " referenced twice", exp[i].off);
	size_t i = 0, j = 0;
	while (i < nexp || j < bl->n) {
		if (j >= bl->n || (i < nexp && exp[i].off < bl->b[j].off))
			FAIL("block 0x%" PRIx64 " (size %" PRIu64 ") is "
			     "referenced but not listed by heap_foreach_block",
			     exp[i].off, exp[i].size);
		if ((i >= nexp || bl->b[j].off < exp[i].off) &&
		    allow_garbage && is_garbage(bl->b[j].off)) {
			j++;
			continue;
		}
		if (i >= nexp || bl->b[j].off < exp[i].off)
			FAIL("LEAK: block 0x%" PRIx64 " (size %" PRIu64
			     ", type %u) allocated but unreachable",
			     bl->b[j].off, bl->b[j].size, bl->b[j].type);
		if (exp[i].size != bl->b[j].size || exp[i].type != bl->b[j].type)
			FAIL("block 0x%" PRIx64 ": heap_foreach_block says size "
			     "%" PRIu64 " type %u, expected %" PRIu64 " type %u",
			     exp[i].off, bl->b[j].size, bl->b[j].type,
			     exp[i].size, exp[i].type);
		i++;
		j++;
	}
	return 0;
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* A few fresh allocations must not overlap anything live. */
static int check_fresh(struct heap *h, const struct blocklist *bl, char *why,
		       size_t whylen)
{
	static const size_t sizes[] = { 16, 100, 1500, 4000, HUGE_SIZE };
	uint64_t got[5], gotlen[5];
	unsigned n = 0;
	struct tx *tx;
	int err = tx_begin(h, &tx);

	if (err)
		FAIL("after recovery: tx_begin: %s", pkv_strerror(err));
	for (unsigned k = 0; k < 5; k++) {
		uint64_t off;
		err = tx_alloc(tx, sizes[k], TYPE_SLOT, &off);
		if (err == PKV_EFULL)
			continue;
		if (err) {
			tx_abort(tx);
			FAIL("after recovery: tx_alloc(%zu): %s", sizes[k],
			     pkv_strerror(err));
		}
		uint64_t start = off - BLOCK_HDR_SIZE;
		uint64_t len = sizes[k] + BLOCK_HDR_SIZE;
		for (size_t i = 0; i < bl->n; i++) {
			if (overlaps(start, len, bl->b[i].off - BLOCK_HDR_SIZE,
				     bl->b[i].size + BLOCK_HDR_SIZE)) {
				tx_abort(tx);
				FAIL("DOUBLE ALLOCATION: fresh block 0x%" PRIx64
				     " (%zu bytes) overlaps live block 0x%" PRIx64
				     " (%" PRIu64 " bytes)", off, sizes[k],
				     bl->b[i].off, bl->b[i].size);
			}
		}
		for (unsigned i = 0; i < n; i++) {
			if (overlaps(start, len, got[i], gotlen[i])) {
				tx_abort(tx);
				FAIL("DOUBLE ALLOCATION: fresh blocks overlap "
				     "at 0x%" PRIx64, off);
			}
		}
		got[n] = start;
		gotlen[n] = len;
		n++;
	}
	tx_abort(tx);
	return 0;
}

static void die(const char *what, int err);

/* Open an image, recovering it.  Returns the heap or NULL with why. */
static struct heap *open_image(void *image, size_t len, char *why,
			       size_t whylen, int nested)
{
	struct errmsg em;
	struct pool *pool;
	struct heap *h;
	int err;

	em.text[0] = '\0';
	err = pool_open_memory(image, len, &pool, &em);
	if (err) {
		snprintf(why, whylen, "pool_open_memory: %s: %s",
			 pkv_strerror(err), em.text);
		return NULL;
	}
	crashsim_disk_model(pool, g_disk);
	if (nested) {
		/* simulate crashes at every fence of this recovery */
		g_in_nested = 1;
		if (crashsim_attach(g_nested, pool))
			die("crashsim_attach (nested)", -ENOMEM);
	}
	em.text[0] = '\0';
	err = heap_open(pool, &h, &em);
	if (err) {
		if (nested) {
			crashsim_detach(g_nested);
			g_in_nested = 0;
		}
		snprintf(why, whylen, "heap_open (recovery): %s: %s",
			 pkv_strerror(err), em.text);
		pool_close(pool); /* heap_open leaves the pool to us */
		return NULL;
	}
	/* Before the audit: nothing allocated but live blocks and garbage
	 * made on purpose (the allocator itself never leaks). */
	static struct lstate st;
	static struct blocklist bl;
	if (extract(h, &st, why, whylen) ||
	    check_blocks(h, &st, &bl, 1, why, whylen))
		goto bad;
	gc_register(heap_gc(h), TYPE_ROOT, trace_root);
	err = gc_audit(heap_gc(h), GC_AUDIT_NOW);
	if (err) {
		snprintf(why, whylen, "gc_audit: %s", pkv_strerror(err));
		goto bad;
	}
	if (nested) {
		crashsim_detach(g_nested);
		g_in_nested = 0;
	}
	return h;
bad:
	if (nested) {
		crashsim_detach(g_nested);
		g_in_nested = 0;
	}
	heap_close(h);
	return NULL;
}

static char *g_pre;              /* --verbose: the image before recovery */

static int check_image_(void *ctx, void *image, size_t len, char *why,
			size_t whylen);

static int check_image(void *ctx, void *image, size_t len, char *why,
		       size_t whylen)
{
	int pre = g_pre && !g_in_nested;
	if (pre)
		memcpy(g_pre, image, len);
	int bad = check_image_(ctx, image, len, why, whylen);
	if (bad && pre)
		crashsim_dump_redo(g_pre);
	return bad;
}

static int check_image_(void *ctx, void *image, size_t len, char *why,
			size_t whylen)
{
	struct errmsg em;
	struct lstate st1, st2;
	static struct blocklist bl1, bl2;
	char diff1[200], diff2[200];
	struct heap *h;
	int err;

	(void)ctx;
	int nested = 0;
	if (g_nested_every && !g_in_nested) {
		uint64_t f, i;
		crashsim_position(g_cs, &f, &i);
		if (crashsim_mix(f * 1000003u + i) % g_nested_every == 0) {
			nested = 1;
			snprintf(g_nested_label, sizeof(g_nested_label),
				 " INSIDE RECOVERY of main fence %llu state %llu",
				 (unsigned long long)f, (unsigned long long)i);
		}
	}
	h = open_image(image, len, why, whylen, nested);
	if (!h)
		return 1;
	if (extract(h, &st1, why, whylen))
		goto bad;
	if (!same_as_model(&st1, &g_cur) &&
	    !(g_inflight && same_as_model(&st1, &g_after))) {
		describe_diff(&st1, &g_cur, diff1, sizeof(diff1));
		if (g_inflight)
			describe_diff(&st1, &g_after, diff2, sizeof(diff2));
		snprintf(why, whylen, "state is neither before (%s) nor "
			 "after (%s) the operation in flight", diff1,
			 g_inflight ? diff2 : "no commit in flight");
		goto bad;
	}
	if (check_blocks(h, &st1, &bl1, 0, why, whylen))
		goto bad;
	em.text[0] = '\0';
	err = heap_check(h, &em);
	if (err) {
		snprintf(why, whylen, "heap_check: %s: %s", pkv_strerror(err),
			 em.text);
		goto bad;
	}
	/* A crash right after recovery: keep the image as it is now. */
	char *image2 = g_in_nested ? g_image3 : g_image2;
	memcpy(image2, image, len);
	if (check_fresh(h, &bl1, why, whylen))
		goto bad;
	heap_close(h);

	/* Recover again: the same state. */
	h = open_image(image2, len, why, whylen, 0);
	if (!h) {
		size_t l = strlen(why);
		snprintf(why + l, whylen - l, " (second recovery)");
		return 1;
	}
	if (extract(h, &st2, why, whylen)) {
		size_t l = strlen(why);
		snprintf(why + l, whylen - l, " (second recovery)");
		goto bad;
	}
	if (memcmp(st1.s, st2.s, sizeof(st1.s)) ||
	    memcmp(st1.data, st2.data, sizeof(st1.data))) {
		snprintf(why, whylen, "second recovery gives another state");
		goto bad;
	}
	if (check_blocks(h, &st2, &bl2, 0, why, whylen)) {
		size_t l = strlen(why);
		snprintf(why + l, whylen - l, " (second recovery)");
		goto bad;
	}
	em.text[0] = '\0';
	err = heap_check(h, &em);
	if (err) {
		snprintf(why, whylen, "heap_check after second recovery: %s: %s",
			 pkv_strerror(err), em.text);
		goto bad;
	}
	heap_close(h);
	return 0;
bad:
	heap_close(h);
	return 1;
}

/* ---------------------------------------------------------------------- */
/* Workload */

static size_t rand_size(void)
{
	uint64_t r = rndn(100);

	if (r < 3)
		return HUGE_SIZE;
	if (r < 6)    /* a fraction of a chunk: the classes past 32 KiB */
		return (32u << 10) + rndn(100u << 10);
	if (r < 70)
		return 16 + rndn(241);
	return 257 + rndn(1744);
}

/* slot_alloc -- a slot block, allocated each of the three ways a block
 * can be: fixed after the commit (covered by the record's checksum), the
 * same with its first 16 bytes (tag, size) carried in the record, or
 * changeable anywhere (made durable before the commit). */
static int slot_alloc(struct tx *tx, size_t size, uint64_t *offp)
{
	switch (rndn(3)) {
	case 0: return tx_alloc_fixed(tx, size, TYPE_SLOT, 0, offp);
	case 1: return tx_alloc_fixed(tx, size, TYPE_SLOT, 16, offp);
	default: return tx_alloc(tx, size, TYPE_SLOT, offp);
	}
}

/* Replace slot i's block with a new one (in tx, on model m). */
static int op_replace(struct tx *tx, struct model *m, unsigned i, size_t size)
{
	uint64_t off, tag = ++g_tag;
	int err = slot_alloc(tx, size, &off);

	if (err)
		return err;
	fill_block(pool_ptr(g_pool, off), tag, size);
	err = tx_set(tx, slot_word(i), off);
	if (err)
		return err;
	if (m->s[i].off) {
		err = tx_free(tx, m->s[i].off);
		if (err)
			return err;
	}
	m->s[i] = (struct slotm){ off, tag, size };
	return 0;
}

static int op_delete(struct tx *tx, struct model *m, unsigned i)
{
	int err;

	if (!m->s[i].off)
		return 0;
	err = tx_free(tx, m->s[i].off);
	if (!err)
		err = tx_set(tx, slot_word(i), 0);
	if (!err)
		m->s[i] = (struct slotm){ 0, 0, 0 };
	return err;
}

static int op_data(struct tx *tx, struct model *m)
{
	/* redo_log_copy wants an 8-byte aligned target; any length */
	unsigned a = (unsigned)rndn(DATA_SIZE / 8) * 8;
	unsigned n = 1 + (unsigned)rndn(DATA_SIZE - a);
	uint8_t buf[DATA_SIZE];
	int err;

	for (unsigned k = 0; k < n; k++)
		buf[k] = (uint8_t)rnd();
	err = tx_write(tx, data_off() + a, buf, n);
	if (!err)
		memcpy(m->data + a, buf, n);
	return err;
}

/* op_scratch -- a block allocated and freed again in the same
 * transaction (often a span of chunks): it never becomes a block. */
static int op_scratch(struct tx *tx)
{
	uint64_t off;
	size_t size = rndn(2) ? HUGE_SIZE : rand_size();
	int err = slot_alloc(tx, size, &off);

	if (err)
		return err;
	/* within the block: a write past its end is the caller's bug */
	memset(pool_ptr(g_pool, off), 0x5c, size < 64 ? size : 64);
	return tx_free(tx, off);
}

static int op_swap(struct tx *tx, struct model *m)
{
	unsigned i = (unsigned)rndn(NSLOTS), j = (unsigned)rndn(NSLOTS);
	int err;

	if (i == j)
		return 0;
	err = tx_set(tx, slot_word(i), m->s[j].off);
	if (!err)
		err = tx_set(tx, slot_word(j), m->s[i].off);
	if (!err) {
		struct slotm t = m->s[i];
		m->s[i] = m->s[j];
		m->s[j] = t;
	}
	return err;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "crashsim: %s: %s\n", what, pkv_strerror(err));
	exit(2);
}

/* Commit tx, the model going from g_cur to next; PKV_EFULL (a record
 * too big for its ring and no heap room for it: the transaction aborted,
 * the model stays) when `full_ok`, else any error is fatal. */
static int commit_full_ok(struct tx *tx, const struct model *next,
			  bool full_ok)
{
	int err;

	g_after = *next;
	g_inflight = 1;
	err = tx_commit(tx);
	g_inflight = 0;
	if (err == PKV_EFULL && full_ok)
		return err;
	if (err)
		die("tx_commit", err);
	g_cur = *next;
	return 0;
}

static void commit(struct tx *tx, const struct model *next)
{
	commit_full_ok(tx, next, false);
}

/* Run a single-transaction operation; kind 0 replace, 1 delete, 2 multi. */
static void single(int kind)
{
	struct model next = g_cur;
	struct tx *tx;
	unsigned i = (unsigned)rndn(NSLOTS);
	int err = tx_begin(g_heap, &tx);

	if (err)
		die("tx_begin", err);
	if (kind == 0)
		err = op_replace(tx, &next, i, rand_size());
	else if (kind == 1)
		err = op_delete(tx, &next, i);
	else {
		err = op_data(tx, &next);
		if (!err)
			err = op_swap(tx, &next);
		if (!err && rndn(3) == 0)
			err = op_scratch(tx);
	}
	if (!err) {
		/* On a disk a huge block goes in its record, which may need
		 * heap room too. */
		if (!commit_full_ok(tx, &next, true))
			return;
		err = PKV_EFULL;
	} else if (err == PKV_EFULL) {
		tx_abort(tx);
	}
	if (err == PKV_EFULL) {
		/* make room: empty a few slots, huge ones first */
		for (unsigned k = 0, done = 0; k < NSLOTS && done < 4; k++) {
			if (g_cur.s[k].size == HUGE_SIZE ||
			    (k % 3 == 0 && g_cur.s[k].off)) {
				struct model n2 = g_cur;
				if ((err = tx_begin(g_heap, &tx)))
					die("tx_begin", err);
				if ((err = op_delete(tx, &n2, k)))
					die("delete", err);
				commit(tx, &n2);
				done++;
			}
		}
		return;
	}
	die("operation", err);
}

/* Fill the pool in one transaction until it is full, then abort. */
static void fill(void)
{
	struct tx *tx;
	uint64_t off;
	int err = tx_begin(g_heap, &tx);

	if (err)
		die("tx_begin", err);
	for (unsigned k = 0; k < 1024; k++) {
		size_t size = (k & 1) ? HUGE_SIZE : (200u << 10);
		err = tx_alloc(tx, size, TYPE_SLOT, &off);
		if (err == PKV_EFULL || err == PKV_ETXTOOBIG)
			break;
		if (err)
			die("tx_alloc (fill)", err);
		/* scribble on it: an aborted block's content must not matter */
		memset(pool_ptr(g_pool, off), 0xa5, 64);
	}
	tx_abort(tx);
	/* then delete some */
	for (unsigned d = 0; d < 3; d++) {
		struct model next = g_cur;
		if ((err = tx_begin(g_heap, &tx)))
			die("tx_begin", err);
		if ((err = op_delete(tx, &next, (unsigned)rndn(NSLOTS))))
			die("delete", err);
		commit(tx, &next);
	}
}

/* Two transactions at once on two lanes, committed in random order. */
static void multilane(void)
{
	struct tx *ta, *tb;
	struct model ma = g_cur, mb = g_cur, mab;
	unsigned a = (unsigned)rndn(NSLOTS);
	unsigned b = (a + 1 + (unsigned)rndn(NSLOTS - 1)) % NSLOTS;
	int err, errb;

	unsigned xa = (unsigned)rndn(WRITERS);
	unsigned xb = (xa + 1 + (unsigned)rndn(WRITERS - 1)) % WRITERS;

	act(xa);
	if ((err = tx_begin(g_heap, &ta)))
		die("tx_begin", err);
	act(xb);
	if ((err = tx_begin(g_heap, &tb)))
		die("tx_begin (second)", err);
	err = op_replace(ta, &ma, a, rand_size());
	switch (rndn(3)) {
	case 0: errb = op_replace(tb, &mb, b, rand_size()); break;
	case 1: errb = op_delete(tb, &mb, b); break;
	default: errb = op_data(tb, &mb); break;
	}
	if (err || errb) {
		if (err && err != PKV_EFULL)
			die("multilane op a", err);
		if (errb && errb != PKV_EFULL)
			die("multilane op b", errb);
		tx_abort(tb);
		tx_abort(ta);
		act(xa);
		single(1);
		return;
	}
	mab = mb;
	mab.s[a] = ma.s[a];
	if (rnd() & 1) {
		act(xa);
		commit(ta, &ma);
		act(xb);
		commit(tb, &mab);
	} else {
		act(xb);
		commit(tb, &mb);
		act(xa);
		commit(ta, &mab);
	}
}

/* Leak a block on purpose: allocated and committed, never published. */
static void leak(void)
{
	struct tx *tx;
	uint64_t off;
	size_t size = rand_size();
	int err = tx_begin(g_heap, &tx);

	if (err)
		die("tx_begin", err);
	err = slot_alloc(tx, size, &off);
	if (err == PKV_EFULL) {
		tx_abort(tx);
		return;
	}
	if (err)
		die("tx_alloc (leak)", err);
	fill_block(pool_ptr(g_pool, off), ++g_tag, size);
	g_garb[g_ngarb++] = off;  /* before the commit: it may land */
	commit(tx, &g_cur);
}

/* Unlink a slot's block without freeing it: lazy free. */
static void unlink_slot(void)
{
	struct model next = g_cur;
	unsigned i = (unsigned)rndn(NSLOTS);
	struct tx *tx;
	int err;

	if (!g_cur.s[i].off)
		return;
	if ((err = tx_begin(g_heap, &tx)))
		die("tx_begin", err);
	if ((err = tx_set(tx, slot_word(i), 0)))
		die("tx_set (unlink)", err);
	g_garb[g_ngarb++] = g_cur.s[i].off;
	next.s[i] = (struct slotm){ 0, 0, 0 };
	commit(tx, &next);
}

/* A checkpoint by a thread of its own: its fences order only its own
 * write-backs, whatever the writers do next. */
static void checkpoint(void)
{
	int err;

	act(CKPT_ACTOR);
	err = heap_checkpoint(g_heap);
	if (err)
		die("heap_checkpoint", err);
}

/* A checkpoint, then the empty runs' chunks back to the free chunks
 * (heap_give_back), by the checkpointing thread. */
static void give_back(void)
{
	act(CKPT_ACTOR);
	heap_give_back(g_heap);
}

/* Collect; every sweep transaction is crashed like any other. */
static void collect(void)
{
	struct gc_stats st;
	int err;

	act(GC_ACTOR);
	err = gc_run(heap_gc(g_heap));

	if (err)
		die("gc_run", err);
	gc_get_stats(heap_gc(g_heap), &st);
	if (st.reclaimed_blocks != st.garbage_blocks ||
	    st.garbage_blocks > g_ngarb) {
		fprintf(stderr, "crashsim: gc_run reclaimed %" PRIu64 " of %"
			PRIu64 " garbage blocks; %u were made\n",
			st.reclaimed_blocks, st.garbage_blocks, g_ngarb);
		exit(2);
	}
	g_ngarb = 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: crashsim [--states N] [--seed S] [--ops N] "
		"[--torn] [--evict] [--samples K] [--exhaustive K] "
		"[--fence F] [--recovery-crashes N] [--verbose]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct crashsim_opts o = {
		.seed = 1, .max_states = 0, .samples = 64,
		.max_exhaustive = 10, .only_fence = -1, .max_print = 5,
	};
	uint64_t max_ops = 0;
	unsigned nested_every = 64;
	struct errmsg em;
	struct pool_params pp = { .nlanes = 4, .log_size = 1024 };
	struct timespec t0, t1;
	char *buf;
	int err;

	for (int i = 1; i < argc; i++) {
		if (crashsim_parse_opt(&o, &max_ops, argc, argv, &i))
			continue;
		if (!strcmp(argv[i], "--list-planted")) {
			for (int b = 1; b < PB_COUNT; b++)
				printf("%s\n", planted_name((enum planted_bug)b));
			return 0;
		}
		if (i + 1 < argc && !strcmp(argv[i], "--recovery-crashes"))
			nested_every = (unsigned)strtoul(argv[++i], NULL, 0);
		else
			usage();
	}
	if (!max_ops && !o.max_states)
		o.max_states = 10000;
	g_verbose = o.verbose;
	if (g_verbose)
		g_pre = aligned_alloc(4096, POOL_SIZE);
	if (planted_from_env())
		return 2;
	if (planted_bug)
		printf("crash-sim: planted bug %s: %s\n",
		       planted_name(planted_bug), planted_what(planted_bug));
	o.program = "tests/crashsim";

	buf = aligned_alloc(4096, POOL_SIZE);
	g_image2 = aligned_alloc(4096, POOL_SIZE);
	g_image3 = aligned_alloc(4096, POOL_SIZE);
	if (!buf || !g_image2 || !g_image3)
		die("aligned_alloc", -ENOMEM);
	memset(buf, 0, POOL_SIZE);
	em.text[0] = '\0';
	if ((err = pool_format_memory(buf, POOL_SIZE, &pp, &em))) {
		fprintf(stderr, "crashsim: pool_format_memory: %s\n", em.text);
		return 2;
	}
	if ((err = pool_open_memory(buf, POOL_SIZE, &g_pool, &em))) {
		fprintf(stderr, "crashsim: pool_open_memory: %s\n", em.text);
		return 2;
	}
	g_disk = o.disk;
	crashsim_disk_model(g_pool, g_disk);
	if ((err = heap_open(g_pool, &g_heap, &em))) {
		fprintf(stderr, "crashsim: heap_open: %s\n", em.text);
		return 2;
	}
	gc_register(heap_gc(g_heap), TYPE_ROOT, trace_root);

	/* The root block, before the simulation starts. */
	g_rng = crashsim_mix(o.seed);
	{
		struct tx *tx;
		if ((err = tx_begin(g_heap, &tx)))
			die("tx_begin", err);
		if ((err = tx_alloc(tx, ROOT_SIZE, TYPE_ROOT, &g_root)))
			die("tx_alloc root", err);
		memset(pool_ptr(g_pool, g_root), 0, ROOT_SIZE);
		if ((err = tx_set(tx, POOL_STATE_OFF +
				  offsetof(struct pool_state, root), g_root)))
			die("tx_set root", err);
		if ((err = tx_commit(tx)))
			die("tx_commit root", err);
	}
	memset(&g_cur, 0, sizeof(g_cur));

	struct crashsim *cs = crashsim_new(&o, check_image, NULL);
	if (!cs)
		die("crashsim_new", -ENOMEM);
	g_cs = cs;
	act(0);
	if (nested_every) {
		struct crashsim_opts no = o;
		no.max_states = 0;
		no.only_fence = -1;
		no.samples = 8;
		no.max_exhaustive = 4;
		no.evict = false;
		no.label = g_nested_label;
		g_nested = crashsim_new(&no, check_image, NULL);
		if (!g_nested)
			die("crashsim_new", -ENOMEM);
		crashsim_share_printed(g_nested, cs);
		g_nested_every = nested_every;
	}
	if (crashsim_attach(cs, g_pool))
		die("crashsim_attach", -ENOMEM);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t op;
	for (op = 0; !max_ops || op < max_ops; op++) {
		if (crashsim_done(cs))
			break;
		uint64_t r = rndn(100);
		const char *what;
		if (g_ngarb + 1 >= MAX_GARBAGE)
			r = 99;  /* the garbage list is full: collect */
		if (r < 36)
			what = "replace";
		else if (r < 50)
			what = "delete";
		else if (r < 68)
			what = "multi-word";
		else if (r < 72)
			what = "fill";
		else if (r < 82)
			what = "multi-lane";
		else if (r < 86)
			what = "leak";
		else if (r < 90)
			what = "lazy unlink";
		else if (r < 93)
			what = "checkpoint";
		else if (r < 95)
			what = "give back";
		else
			what = "gc";
		crashsim_set_op(cs, op, what);
		if (g_nested)
			crashsim_set_op(g_nested, op, what);
		if (g_verbose)
			fprintf(stderr, "op %" PRIu64 ": %s\n", op, what);
		if (r < 90)
			act((unsigned)rndn(WRITERS));
		if (r < 36)
			single(0);
		else if (r < 50)
			single(1);
		else if (r < 68)
			single(2);
		else if (r < 72)
			fill();
		else if (r < 82)
			multilane();
		else if (r < 86)
			leak();
		else if (r < 90)
			unlink_slot();
		else if (r < 93)
			checkpoint();
		else if (r < 95)
			give_back();
		else
			collect();
	}
	crashsim_set_op(cs, op, "close");
	act(0);
	heap_close(g_heap); /* its fences are simulated too */
	crashsim_forget(cs);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	uint64_t states = crashsim_states(cs), failures = crashsim_failures(cs);
	uint64_t nstates = 0, nfail = 0;
	if (g_nested) {
		nstates = crashsim_states(g_nested);
		nfail = crashsim_failures(g_nested);
	}
	if (o.verbose || getenv("CRASHSIM_STATS"))
		fprintf(stderr, "crash-sim: %" PRIu64 " ops, %" PRIu64
			" fences, %.1f s, %.0f states/s; %" PRIu64 " states "
			"(%" PRIu64 " failures) were crashes inside recovery\n",
			op, crashsim_fences(cs), secs,
			secs > 0 ? (double)(states + nstates) / secs : 0.0,
			nstates, nfail);
	states += nstates;
	failures += nfail;
	printf("crash-sim: %" PRIu64 " states, %" PRIu64 " failures\n", states,
	       failures);
	crashsim_free(cs);
	crashsim_free(g_nested);
	free(g_image3);
	free(buf);
	free(g_image2);
	return failures ? 1 : 0;
}
