/*
 * check.c -- the read-only consistency check (check.h).
 *
 * The walk trusts nothing it reads: every offset is looked up in the
 * allocator before it is followed (an allocated block of the expected
 * type, big enough for what will be read from it), every length is
 * checked against its block, and every block reached is marked in a
 * bitmap over the allocator's snapshot indexes, so a cycle or a block
 * shared by two parents is reported once and never followed twice.
 * Memory: the snapshot and the bitmap take about 2 KiB per 256 KiB chunk
 * of heap (under 1% of the pool), touched only where blocks are.
 *
 * The walk repeats, on purpose, what the engine knows about its layout
 * (layout.h, table.c) rather than calling the engine: a checker that
 * shares the code it checks shares its bugs.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hash.h"
#include "progress.h"
#include "proto/num.h"
#include "proto/resp.h"

#define CHECK_MAX_LOG2 40u            /* larger bucket arrays are damage */
#define CHECK_DUP_WINDOW 4096u        /* chain entries compared for twins */
#define CHECK_SHOW_GARBAGE 5u         /* unreachable blocks named */

/* The state of one walk. */
struct walk {
	struct check_report *r;
	struct heap *heap;
	struct pool *pool;
	struct heap_snap *snap;
	uint64_t *marks;              /* one bit per snapshot index */
	uint64_t seed[2];             /* the pool's hash key */
	int64_t now;                  /* for "expired" */
	struct progress prog;
	uint64_t entries_seen;        /* progress */
	uint64_t *chain;              /* entries of the current chain */
	size_t chain_cap;
	check_entry_fn emit;          /* salvage: sound entries go here */
	void *emit_ctx;
	int emit_err;                 /* what stopped it, or 0 */
};

/* check_add -- keep a formatted message in list (bounded). */
static void check_add(char **list, size_t *n, size_t max, const char *fmt,
		      va_list ap)
{
	char buf[ERRMSG_MAX];

	if (*n >= max)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	list[*n] = strdup(buf);
	if (list[*n])
		(*n)++;
}

/* check_damage -- record a problem --repair cannot fix. */
static void check_damage(struct check_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_damage(struct check_report *r, const char *fmt, ...)
{
	va_list ap;

	r->damage++;
	va_start(ap, fmt);
	check_add(r->msgs, &r->nmsgs, CHECK_MAX_MSGS, fmt, ap);
	va_end(ap);
}

/* check_note -- record a fact that is not a problem. */
static void check_note(struct check_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_note(struct check_report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_add(r->notes, &r->nnotes, CHECK_MAX_NOTES, fmt, ap);
	va_end(ap);
}

/* check_report_free -- free the kept messages. */
void check_report_free(struct check_report *r)
{
	for (size_t i = 0; i < r->nmsgs; i++)
		free(r->msgs[i]);
	for (size_t i = 0; i < r->nnotes; i++)
		free(r->notes[i]);
	r->nmsgs = r->nnotes = 0;
}

/*
 * walk_block -- whether off is an allocated block of `type` holding at
 * least min bytes (its size, as its header records it, in *sizep).  Looks
 * only; reports nothing.
 */
static bool walk_block(const struct walk *w, uint64_t off, uint32_t type,
		       uint64_t min, uint64_t *sizep)
{
	uint64_t size, cap;
	uint32_t t;

	if (!heap_block_valid(w->heap, off, &size, &t) || t != type)
		return false;
	/* The header's size must fit the block (a damaged header could
	 * claim nearly 2^64 bytes). */
	if (heap_snap_find(w->snap, off, &cap) < 0 || size > cap || size < min)
		return false;
	*sizep = size;
	return true;
}

/* walk_where -- name the pointer that led to a block: `what`, or the
 * next pointer of entry `via` in it. */
static const char *walk_where(char *buf, size_t len, const char *what,
			      uint64_t via)
{
	if (via)
		snprintf(buf, len, "the next pointer of entry 0x%" PRIx64
			 " (%s)", via, what);
	else
		snprintf(buf, len, "%s", what);
	return buf;
}

/*
 * walk_reach -- the block at off is reached through `what` (through the
 * next pointer of entry `via` in it, if not 0): it must be an allocated
 * block of `type` with at least min bytes, reached for the first time.
 * Marks it and returns true, or reports the damage and returns false
 * (the caller does not follow it).
 */
static bool walk_reach(struct walk *w, uint64_t off, uint32_t type,
		       uint64_t min, uint64_t *sizep, const char *what,
		       uint64_t via)
{
	struct check_report *r = w->r;
	uint64_t size, cap;
	uint32_t t;
	int64_t idx;
	char where[160];

	if (!heap_block_valid(w->heap, off, &size, &t) ||
	    (idx = heap_snap_find(w->snap, off, &cap)) < 0) {
		check_damage(r, "%s points to offset 0x%" PRIx64 ", which is "
			     "not an allocated block",
			     walk_where(where, sizeof(where), what, via), off);
		return false;
	}
	if (t != type) {
		check_damage(r, "%s points to 0x%" PRIx64 ", a block of type %"
			     PRIu32 ", not %" PRIu32,
			     walk_where(where, sizeof(where), what, via), off, t,
			     type);
		return false;
	}
	if (size > cap || size < min) {
		check_damage(r, "%s points to 0x%" PRIx64 ": its block header "
			     "says %" PRIu64 " bytes (the block holds %" PRIu64
			     ", at least %" PRIu64 " are needed)",
			     walk_where(where, sizeof(where), what, via), off,
			     size, cap, min);
		return false;
	}
	if (w->marks[idx / 64] & (1ull << (idx % 64))) {
		check_damage(r, "%s points to 0x%" PRIx64 ", which is reached "
			     "twice (a cycle or a block with two parents)",
			     walk_where(where, sizeof(where), what, via), off);
		return false;
	}
	w->marks[idx / 64] |= 1ull << (idx % 64);
	r->reachable_blocks++;
	r->reachable_bytes += cap + BLOCK_HDR_SIZE;
	*sizep = size;
	return true;
}

/* walk_migrated -- whether old bucket b has moved to the new array, for
 * a resize of table version `version` and its stripe's progress word. */
static bool walk_migrated(uint64_t migr, uint64_t version, uint64_t b)
{
	return (version & 1) && (migr >> 32) == (version & 0xffffffffu) &&
	       (b >> KV_STRIPE_BITS) < (migr & 0xffffffffu);
}

/* walk_entry_at -- the entry at off if it is a sound one, else NULL
 * (looks only: for searching a chain walked elsewhere). */
static const struct kv_entry *walk_entry_at(const struct walk *w,
					    uint64_t off)
{
	const struct kv_entry *E;
	uint64_t size;

	if (!walk_block(w, off, KV_TYPE_ENTRY, sizeof(*E), &size))
		return NULL;
	E = pool_ptr(w->pool, off);
	if (size != sizeof(*E) + (uint64_t)E->klen + E->vlen)
		return NULL;
	return E;
}

/* walk_chain_has -- whether the chain of bucket b of array arr holds the
 * key (another entry than `self`). */
static bool walk_chain_has(const struct walk *w, uint64_t arr, uint64_t b,
			   uint64_t self, const struct kv_entry *K)
{
	const struct kv_buckets *B = pool_ptr(w->pool, arr);
	uint64_t e = B->head[kv_bucket_slot(B, b)];

	/* The chain is walked and judged on its own; here it is only
	 * searched, with a bound in case it loops. */
	for (uint64_t steps = 0; e && steps <= w->r->blocks; steps++) {
		const struct kv_entry *E = walk_entry_at(w, e);
		if (!E)
			return false;
		if (e != self && E->klen == K->klen && E->hash == K->hash &&
		    memcmp(kv_entry_key(E), kv_entry_key(K), K->klen) == 0)
			return true;
		e = E->next;
	}
	return false;
}

/* entry_value -- a string's value as pkv_get reads it: its bytes, or an
 * integer string's text (written to text). */
static void entry_value(const struct kv_entry *E, char text[KV_INT_TEXT],
			const void **val, size_t *vlen)
{
	int64_t v;

	*val = kv_entry_val(E);
	*vlen = E->vlen;
	if (!kv_entry_is_int(E))
		return;
	memcpy(&v, (const char *)E + kv_int_at(E->klen), sizeof(v));
	*vlen = num_format_ll(text, v);
	*val = text;
}

/*
 * walk_hash_chain -- the fields of bucket b of the hash at hoff (n
 * buckets): each a sound field block, in this bucket, not twice.  Sound
 * fields go to the salvager as key's.  Returns the fields counted.
 */
static uint64_t walk_hash_chain(struct walk *w, unsigned db,
				const struct kv_entry *K, uint64_t hoff,
				uint64_t n, uint64_t b, uint64_t head)
{
	struct check_report *r = w->r;
	uint64_t lo = 1ull << (63 - __builtin_clzll(n));
	uint64_t f = head, via = 0, count = 0;
	char what[96];

	snprintf(what, sizeof(what), "hash 0x%" PRIx64 ", bucket %" PRIu64,
		 hoff, b);
	while (f && !w->emit_err) {
		const struct kv_entry *F;
		uint64_t size, fh, want;
		bool sound = true;

		if (!walk_reach(w, f, KV_TYPE_FIELD, sizeof(*F), &size, what,
				via))
			break;
		F = pool_ptr(w->pool, f);
		if (size != sizeof(*F) + (uint64_t)F->klen + F->vlen) {
			check_damage(r, "field 0x%" PRIx64 " (%s): a block of %"
				     PRIu64 " bytes for a field of %" PRIu32
				     " and a value of %" PRIu32 " bytes", f,
				     what, size, F->klen, F->vlen);
			break;
		}
		fh = hash_key(w->seed, kv_entry_key(F), F->klen);
		want = fh & (lo - 1);
		if (want < n - lo)
			want = fh & (2 * lo - 1);
		if (fh != F->hash || want != b || F->vtype ||
		    (F->flags && !kv_entry_is_int(F)) ||
		    F->expire_ms || kv_entry_csum(F) != F->csum) {
			check_damage(r, "field 0x%" PRIx64 " (%s): %s", f, what,
				     fh != F->hash ? "its stored hash is not "
				     "that of its name" : want != b ?
				     "in the wrong bucket" :
				     kv_entry_csum(F) != F->csum ? "checksum "
				     "mismatch (its name or value is damaged)"
				     : "unknown type, flags or an expiry");
			sound = false;
		}
		for (size_t i = 0; sound && i < count && i < w->chain_cap;
		     i++) {
			const struct kv_entry *P = pool_ptr(w->pool,
							    w->chain[i]);
			if (P->hash == F->hash && P->klen == F->klen &&
			    memcmp(kv_entry_key(P), kv_entry_key(F),
				   F->klen) == 0) {
				check_damage(r, "fields 0x%" PRIx64 " and 0x%"
					     PRIx64 " (%s) hold the same name",
					     w->chain[i], f, what);
				sound = false;
			}
		}
		if (w->emit && sound &&
		    !(K->expire_ms && K->expire_ms <= w->now)) {
			char text[KV_INT_TEXT];
			struct check_entry ce = {
				db, K->vtype, kv_entry_key(K), K->klen,
				kv_entry_key(F), F->klen, NULL, 0,
				K->expire_ms
			};
			entry_value(F, text, &ce.val, &ce.vlen);
			w->emit_err = w->emit(w->emit_ctx, &ce);
		} else if (w->emit && !sound) {
			r->salvage_skipped++;
		}
		if (count == w->chain_cap) {
			size_t cap = w->chain_cap ? 2 * w->chain_cap : 64;
			uint64_t *c = realloc(w->chain, cap * sizeof(*c));
			if (c) {
				w->chain = c;
				w->chain_cap = cap;
			}
		}
		if (count < w->chain_cap)
			w->chain[count] = f;
		count++;
		via = f;
		f = F->next;
	}
	return count;
}

/*
 * walk_zset -- the sorted set of key entry K (at e): its header, its
 * member table (walk_hash), and level 0 of its skip list: node blocks in
 * (score, member) order, backward links, each node's field naming it,
 * spans of 1, the tail and the count.  Sound members go to the salvager
 * with their scores (as text), in order.
 */
static void walk_hash(struct walk *w, unsigned db, const struct kv_entry *K,
		      uint64_t e, uint64_t hoff);

static void walk_zset(struct walk *w, unsigned db, const struct kv_entry *K,
		      uint64_t e)
{
	struct check_report *r = w->r;
	bool live = !(K->expire_ms && K->expire_ms <= w->now);
	const struct kv_zset_hdr *H;
	const struct kv_zset_node *P = NULL;
	uint64_t zoff, size, x, via = 0, n = 0;
	char what[64];

	memcpy(&zoff, kv_entry_val(K), sizeof(zoff));
	snprintf(what, sizeof(what), "sorted set key entry 0x%" PRIx64, e);
	if (!walk_reach(w, zoff, KV_TYPE_ZSET, sizeof(*H), &size, what, 0))
		return;
	H = pool_ptr(w->pool, zoff);
	r->zsets++;
	walk_hash(w, db, K, e, H->members);
	snprintf(what, sizeof(what), "sorted set 0x%" PRIx64, zoff);
	for (x = H->head[0].forward; x && !w->emit_err; ) {
		const struct kv_zset_node *N;
		const struct kv_entry *F;
		uint64_t self = 0, want;
		if (n > H->count) {
			check_damage(r, "sorted set 0x%" PRIx64 ": longer than "
				     "its count %" PRIu64, zoff, H->count);
			break;
		}
		if (!walk_reach(w, x, KV_TYPE_ZNODE, sizeof(*N), &size, what,
				via))
			break;
		N = pool_ptr(w->pool, x);
		want = sizeof(*N) + N->level * sizeof(struct kv_zlevel);
		if (N->level < 1 || N->level > ZSET_MAXLEVEL || size != want ||
		    N->backward != via || (n && N->lvl[0].span != 1 &&
					    N->lvl[0].forward)) {
			check_damage(r, "node 0x%" PRIx64 " (%s): a wrong "
				     "level, size, backward link or span", x,
				     what);
			break;
		}
		if (!heap_block_valid(w->heap, N->field, NULL, NULL) ||
		    (F = pool_ptr(w->pool, N->field))->vlen != sizeof(self)) {
			check_damage(r, "node 0x%" PRIx64 " (%s): its member's "
				     "field cannot be read", x, what);
			break;
		}
		memcpy(&self, kv_entry_val(F), sizeof(self));
		if (self != x)
			check_damage(r, "node 0x%" PRIx64 " (%s): its member's "
				     "field names another node", x, what);
		if (P) {
			const struct kv_entry *PF = pool_ptr(w->pool, P->field);
			double a, b;
			size_t m = PF->klen < F->klen ? PF->klen : F->klen;
			int c;
			memcpy(&a, &P->score, sizeof(a));
			memcpy(&b, &N->score, sizeof(b));
			c = m ? memcmp(kv_entry_key(PF), kv_entry_key(F), m)
			      : 0;
			if (!c)
				c = (PF->klen > F->klen) - (PF->klen < F->klen);
			if (a > b || (a == b && c >= 0))
				check_damage(r, "node 0x%" PRIx64 " (%s): out "
					     "of order", x, what);
		}
		if (w->emit && live) {
			double sc;
			char sbuf[40];
			int k;
			memcpy(&sc, &N->score, sizeof(sc));
			k = resp_format_double(sbuf, sizeof(sbuf), sc);
			struct check_entry ce = {
				db, PKV_TYPE_ZSET, kv_entry_key(K), K->klen,
				kv_entry_key(F), F->klen, sbuf, (size_t)k,
				K->expire_ms
			};
			w->emit_err = w->emit(w->emit_ctx, &ce);
		}
		P = N;
		via = x;
		n++;
		x = N->lvl[0].forward;
	}
	r->zmembers += n;
	if (!w->emit_err && (n != H->count || H->tail != via))
		check_damage(r, "sorted set 0x%" PRIx64 " says %" PRIu64
			     " members; %" PRIu64 " were found%s", zoff,
			     H->count, n, H->tail != via ? ", and its tail is "
			     "not the last" : "");
	if (w->emit && !w->emit_err && live) {
		struct check_entry ce = {
			db, PKV_TYPE_ZSET, kv_entry_key(K), K->klen, NULL, 0,
			NULL, 0, K->expire_ms
		};
		w->emit_err = w->emit(w->emit_ctx, &ce);
		r->salvaged += w->emit_err == 0;
	}
}

/*
 * walk_list -- the list of key entry K (at e): its header and every
 * element from the head, each a sound element block whose prev is the
 * one before, the tail the last one, the count the number walked.  Sound
 * elements go to the salvager in order.
 */
static void walk_list(struct walk *w, unsigned db, const struct kv_entry *K,
		      uint64_t e)
{
	struct check_report *r = w->r;
	bool live = !(K->expire_ms && K->expire_ms <= w->now);
	const struct kv_list_hdr *H;
	uint64_t loff, size, x, via = 0, n = 0;
	char what[64];

	memcpy(&loff, kv_entry_val(K), sizeof(loff));
	snprintf(what, sizeof(what), "list key entry 0x%" PRIx64, e);
	if (!walk_reach(w, loff, KV_TYPE_LIST, sizeof(*H), &size, what, 0))
		return;
	H = pool_ptr(w->pool, loff);
	r->lists++;
	snprintf(what, sizeof(what), "list 0x%" PRIx64, loff);
	for (x = H->head; x && !w->emit_err; x = ((const struct kv_list_elem *)
					      pool_ptr(w->pool, x))->next) {
		const struct kv_list_elem *E;
		if (n > H->count) {
			check_damage(r, "list 0x%" PRIx64 ": longer than its "
				     "count %" PRIu64, loff, H->count);
			break;
		}
		if (!walk_reach(w, x, KV_TYPE_LELEM, sizeof(*E), &size, what,
				via))
			break;
		E = pool_ptr(w->pool, x);
		if (size != sizeof(*E) + (uint64_t)E->len) {
			check_damage(r, "element 0x%" PRIx64 " (%s): a block "
				     "of %" PRIu64 " bytes for %" PRIu32
				     " bytes", x, what, size, E->len);
			break;
		}
		if (E->prev != via)
			check_damage(r, "element 0x%" PRIx64 " (%s): its prev "
				     "is not the element before it", x, what);
		if (list_elem_csum(E) != E->csum) {
			check_damage(r, "element 0x%" PRIx64 " (%s): checksum "
				     "mismatch (its bytes are damaged)", x,
				     what);
			if (w->emit)
				r->salvage_skipped++;
		} else if (w->emit && live) {
			struct check_entry ce = {
				db, PKV_TYPE_LIST, kv_entry_key(K), K->klen,
				NULL, 0, E + 1, E->len, K->expire_ms
			};
			w->emit_err = w->emit(w->emit_ctx, &ce);
		}
		via = x;
		n++;
	}
	r->elements += n;
	if (!w->emit_err && (n != H->count || H->tail != via))
		check_damage(r, "list 0x%" PRIx64 " says %" PRIu64 " elements"
			     "; %" PRIu64 " were found%s", loff, H->count, n,
			     H->tail != via ? ", and its tail is not the last"
			     : "");
	if (w->emit && !w->emit_err && live) {
		struct check_entry ce = {
			db, PKV_TYPE_LIST, kv_entry_key(K), K->klen, NULL, 0,
			NULL, 0, K->expire_ms
		};
		w->emit_err = w->emit(w->emit_ctx, &ce);
		r->salvaged += w->emit_err == 0;
	}
}

/* array_words -- the words a hash array of `size` bytes holds, at most
 * max (type_hash.c grows arrays up to their most). */
static uint64_t array_words(uint64_t size, uint64_t max)
{
	return size / 8 < max ? size / 8 : max;
}

/*
 * walk_hash -- the table at hoff of key entry K (at e): a hash's or a
 * set's (the entry's value), or a sorted set's member table: its header,
 * directories, segments and every field, and its count against them.
 * The key chain's list of entries (w->chain) is borrowed for each
 * bucket's fields, so it is saved and put back.  A sorted set's member
 * table is walked without salvaging (its nodes give the members and
 * scores) and counts as neither a hash nor a set.
 */
static void walk_hash(struct walk *w, unsigned db, const struct kv_entry *K,
		      uint64_t e, uint64_t hoff)
{
	struct check_report *r = w->r;
	const struct kv_hash_hdr *H;
	const uint64_t *dirs = NULL;
	uint64_t size, n, fields = 0, ndirs = 0;
	uint64_t *saved = w->chain;
	size_t saved_cap = w->chain_cap;
	check_entry_fn emit = w->emit;
	bool zset = K->vtype == PKV_TYPE_ZSET;
	char what[64];

	snprintf(what, sizeof(what), "%s key entry 0x%" PRIx64,
		 zset ? "sorted set" : "hash", e);
	if (!walk_reach(w, hoff, KV_TYPE_HASH, sizeof(*H), &size, what, 0))
		return;
	H = pool_ptr(w->pool, hoff);
	n = H->nbuckets;
	if (n < HASH_INLINE_BUCKETS || n > HASH_MAX_BUCKETS) {
		check_damage(r, "hash 0x%" PRIx64 ": %" PRIu64 " buckets",
			     hoff, n);
		return;
	}
	if (K->vtype == PKV_TYPE_SET)
		r->sets++;
	else if (!zset)
		r->hashes++;
	if (zset)
		w->emit = NULL;
	w->chain = NULL;
	w->chain_cap = 0;
	for (uint64_t b = 0; b < HASH_INLINE_BUCKETS && !w->emit_err; b++)
		if (b < n)
			fields += walk_hash_chain(w, db, K, hoff, n, b,
						  H->head[b]);
		else if (H->head[b])
			check_damage(r, "hash 0x%" PRIx64 ": bucket %" PRIu64
				     " is past its %" PRIu64 " buckets but "
				     "not empty", hoff, b, n);
	snprintf(what, sizeof(what), "hash 0x%" PRIx64 "'s directories",
		 hoff);
	/* Arrays hold HASH_ARRAY_MIN words or more, up to their most
	 * (type_hash.c grows them): their blocks' sizes say how many. */
	if (H->dirs && walk_reach(w, H->dirs, KV_TYPE_HDIRS,
				  8ull * HASH_ARRAY_MIN, &size, what, 0)) {
		dirs = pool_ptr(w->pool, H->dirs);
		ndirs = array_words(size, HASH_DIRS);
	}
	for (unsigned d = 0; dirs && d < ndirs && !w->emit_err; d++) {
		const uint64_t *dir;
		uint64_t nsegs;
		if (!dirs[d])
			continue;
		snprintf(what, sizeof(what), "hash 0x%" PRIx64 ", directory "
			 "%u", hoff, d);
		if (!walk_reach(w, dirs[d], KV_TYPE_HDIR,
				8ull * HASH_ARRAY_MIN, &size, what, 0))
			continue;
		dir = pool_ptr(w->pool, dirs[d]);
		nsegs = array_words(size, HASH_DIR_SEGS);
		for (unsigned s = 0; s < nsegs && !w->emit_err; s++) {
			uint64_t first = HASH_INLINE_BUCKETS + ((uint64_t)d *
					 HASH_DIR_SEGS + s) * HASH_SEG_BUCKETS;
			const uint64_t *seg;
			uint64_t nheads;
			if (!dir[s])
				continue;
			snprintf(what, sizeof(what), "hash 0x%" PRIx64 ", "
				 "segment %u.%u", hoff, d, s);
			if (!walk_reach(w, dir[s], KV_TYPE_HSEG,
					8ull * HASH_ARRAY_MIN, &size, what,
					0))
				continue;
			seg = pool_ptr(w->pool, dir[s]);
			nheads = array_words(size, HASH_SEG_BUCKETS);
			for (unsigned i = 0; i < nheads &&
			     !w->emit_err; i++) {
				if (first + i < n)
					fields += walk_hash_chain(w, db, K,
						hoff, n, first + i, seg[i]);
				else if (seg[i])
					check_damage(r, "hash 0x%" PRIx64 ": "
						     "bucket %" PRIu64 " is past"
						     " its buckets but not "
						     "empty", hoff, first + i);
			}
		}
	}
	free(w->chain);
	w->chain = saved;
	w->chain_cap = saved_cap;
	w->emit = emit;
	if (K->vtype == PKV_TYPE_SET)
		r->members += fields;
	else if (!zset)
		r->fields += fields;
	if (fields != H->count && !w->emit_err)
		check_damage(r, "hash 0x%" PRIx64 " says %" PRIu64 " fields; "
			     "%" PRIu64 " were found", hoff, H->count, fields);
	if (!zset && w->emit && !w->emit_err &&
	    !(K->expire_ms && K->expire_ms <= w->now)) {
		struct check_entry ce = {
			db, K->vtype, kv_entry_key(K), K->klen, NULL, 0,
			NULL, 0, K->expire_ms
		};
		w->emit_err = w->emit(w->emit_ctx, &ce);
		r->salvaged += w->emit_err == 0;
	}
}

/* The table being walked. */
struct walk_table {
	unsigned db;
	const struct kv_table *tab;
	const struct kv_stripe *stripes;  /* NULL if unusable */
	uint64_t cur, next;               /* valid bucket arrays, or 0 */
	uint64_t scount[KV_STRIPES], sexp[KV_STRIPES];
};

/* walk_chain -- check the chain of bucket b of array arr (the old array
 * when `old`). */
static void walk_chain(struct walk *w, struct walk_table *t, uint64_t arr,
		       uint64_t b, bool old)
{
	struct check_report *r = w->r;
	const struct kv_buckets *B = pool_ptr(w->pool, arr);
	uint64_t mask = (1ull << B->log2) - 1;
	uint64_t e = B->head[kv_bucket_slot(B, b)], via = 0;
	size_t n = 0;
	char what[96];

	snprintf(what, sizeof(what), "database %u, %sbucket %" PRIu64,
		 t->db, old ? "" : "new-array ", b);
	while (e && !w->emit_err) {
		const struct kv_entry *E;
		uint64_t size, hash;
		unsigned s;
		bool sound = true;            /* worth salvaging */

		if (!walk_reach(w, e, KV_TYPE_ENTRY, sizeof(*E), &size, what,
				via))
			return;
		E = pool_ptr(w->pool, e);
		progress_update(&w->prog, ++w->entries_seen);
		if (size != sizeof(*E) + (uint64_t)E->klen + E->vlen) {
			check_damage(r, "entry 0x%" PRIx64 " (%s): a block of %"
				     PRIu64 " bytes for a key of %" PRIu32
				     " and a value of %" PRIu32 " bytes", e,
				     what, size, E->klen, E->vlen);
			return;   /* nothing in it can be trusted */
		}
		hash = hash_key(w->seed, kv_entry_key(E), E->klen);
		if (hash != E->hash) {
			check_damage(r, "entry 0x%" PRIx64 " (%s): its stored "
				     "hash is not that of its key (the key or "
				     "the entry header is damaged)", e, what);
			/* The engine placed and counted it by the stored
			 * hash: judge the rest by that, not twice.  Which
			 * key it holds is uncertain: not salvaged. */
			hash = E->hash;
			sound = false;
		}
		if ((hash & mask) != b)
			check_damage(r, "entry 0x%" PRIx64 " (%s) belongs in "
				     "bucket %" PRIu64, e, what, hash & mask);
		s = (unsigned)(hash & (KV_STRIPES - 1));
		if (old && t->next && t->stripes &&
		    walk_migrated(t->stripes[s].migr, t->tab->version, b))
			check_damage(r, "entry 0x%" PRIx64 " (%s) was left in "
				     "a bucket its resize has already moved",
				     e, what);
		if (E->expire_ms < 0) {
			check_damage(r, "entry 0x%" PRIx64 " (%s): negative "
				     "expiry time %" PRId64, e, what,
				     E->expire_ms);
			sound = false;
		}
		if (E->vtype > PKV_TYPE_ZSET ||
		    (E->flags != 0 && !kv_entry_is_int(E)) ||
		    (E->vtype != PKV_TYPE_STRING && E->vlen != 8)) {
			check_damage(r, "entry 0x%" PRIx64 " (%s): unknown "
				     "value type %u or flags 0x%x", e, what,
				     (unsigned)E->vtype, (unsigned)E->flags);
			sound = false;
		} else if (kv_entry_csum(E) != E->csum) {
			check_damage(r, "entry 0x%" PRIx64 " (%s): checksum "
				     "mismatch (its key or value is damaged)",
				     e, what);
			sound = false;
		}
		t->scount[s]++;
		r->keys++;
		r->db_keys[t->db]++;
		if (E->expire_ms) {
			t->sexp[s]++;
			r->expires++;
			if (E->expire_ms <= w->now)
				r->expired++;
		}
		/* No key twice: twins share a hash, so a chain. */
		for (size_t i = n > CHECK_DUP_WINDOW ? n - CHECK_DUP_WINDOW : 0;
		     i < n; i++) {
			const struct kv_entry *P = pool_ptr(w->pool, w->chain[i]);
			if (P->hash == E->hash && P->klen == E->klen &&
			    memcmp(kv_entry_key(P), kv_entry_key(E),
				   E->klen) == 0) {
				check_damage(r, "entries 0x%" PRIx64 " and 0x%"
					     PRIx64 " (%s) hold the same key",
					     w->chain[i], e, what);
				sound = false;    /* the first one was */
				break;
			}
		}
		/* ...or in an old bucket not yet moved, mid-resize. */
		if (!old && t->cur) {
			const struct kv_buckets *C = pool_ptr(w->pool, t->cur);
			uint64_t ob = hash & ((1ull << C->log2) - 1);
			if (!(t->stripes && walk_migrated(t->stripes[s].migr,
							  t->tab->version, ob)) &&
			    walk_chain_has(w, t->cur, ob, e, E)) {
				check_damage(r, "entry 0x%" PRIx64 " (%s): its "
					     "key is also in old bucket %" PRIu64,
					     e, what, ob);
				sound = false;
			}
		}
		if (sound && (E->vtype == PKV_TYPE_HASH ||
			      E->vtype == PKV_TYPE_SET)) {
			uint64_t hoff;
			memcpy(&hoff, kv_entry_val(E), sizeof(hoff));
			walk_hash(w, t->db, E, e, hoff);
		} else if (sound && E->vtype == PKV_TYPE_ZSET)
			walk_zset(w, t->db, E, e);
		else if (sound && E->vtype == PKV_TYPE_LIST)
			walk_list(w, t->db, E, e);
		else if (w->emit) {
			char text[KV_INT_TEXT];
			struct check_entry ce = {
				t->db, E->vtype, kv_entry_key(E), E->klen,
				NULL, 0, NULL, 0, E->expire_ms
			};
			entry_value(E, text, &ce.val, &ce.vlen);
			if (!sound)
				r->salvage_skipped++;
			else if (!(E->expire_ms && E->expire_ms <= w->now)) {
				w->emit_err = w->emit(w->emit_ctx, &ce);
				r->salvaged += w->emit_err == 0;
			}
		}
		if (n == w->chain_cap) {
			size_t cap = w->chain_cap ? 2 * w->chain_cap : 64;
			uint64_t *c = realloc(w->chain, cap * sizeof(*c));
			if (c) {
				w->chain = c;
				w->chain_cap = cap;
			}
		}
		if (n < w->chain_cap)
			w->chain[n++] = e;
		via = e;
		e = E->next;
	}
}

/* walk_buckets -- a bucket array of table t: a sound block whose size
 * fits its 2^log2 heads.  Returns arr, or 0 after reporting damage. */
static uint64_t walk_buckets(struct walk *w, const struct walk_table *t,
			     uint64_t arr, const char *which)
{
	const struct kv_buckets *B;
	uint64_t size;
	char what[64];

	snprintf(what, sizeof(what), "database %u's %s bucket array", t->db,
		 which);
	if (!walk_reach(w, arr, KV_TYPE_BUCKETS, sizeof(*B), &size, what, 0))
		return 0;
	B = pool_ptr(w->pool, arr);
	if (B->log2 < KV_STRIPE_BITS || B->log2 > CHECK_MAX_LOG2 ||
	    size < sizeof(*B) + (8ull << B->log2)) {
		check_damage(w->r, "%s at 0x%" PRIx64 ": 2^%" PRIu64 " buckets "
			     "in a block of %" PRIu64 " bytes", what, arr,
			     B->log2, size);
		return 0;
	}
	if (B->flags & ~(uint64_t)KV_BUCKETS_BY_STRIPE) {
		check_damage(w->r, "%s at 0x%" PRIx64 ": unknown flags 0x%"
			     PRIx64, what, arr, B->flags);
		return 0;
	}
	return arr;
}

/* walk_db -- check database d, whose table is at toff. */
static void walk_db(struct walk *w, unsigned d, uint64_t toff)
{
	struct check_report *r = w->r;
	struct walk_table *t = calloc(1, sizeof(*t));
	uint64_t size;
	char what[64];

	if (!t) {
		check_damage(r, "out of memory while checking database %u", d);
		return;
	}
	t->db = d;
	snprintf(what, sizeof(what), "database %u's table", d);
	if (!walk_reach(w, toff, KV_TYPE_TABLE, sizeof(struct kv_table), &size,
			what, 0))
		goto out;
	t->tab = pool_ptr(w->pool, toff);
	snprintf(what, sizeof(what), "database %u's stripe counts", d);
	if (walk_reach(w, t->tab->stripes, KV_TYPE_STRIPES,
		       KV_STRIPES * sizeof(struct kv_stripe), &size, what, 0))
		t->stripes = pool_ptr(w->pool, t->tab->stripes);
	if ((t->tab->version & 1) != (t->tab->next != 0))
		check_damage(r, "database %u: table version %" PRIu64 " says "
			     "a resize is %s, but the new bucket array is %s",
			     d, t->tab->version,
			     t->tab->version & 1 ? "running" : "not running",
			     t->tab->next ? "set" : "not set");
	if (t->tab->cur == 0)
		check_damage(r, "database %u has no bucket array", d);
	else
		t->cur = walk_buckets(w, t, t->tab->cur, "current");
	if (t->tab->next != 0 && t->tab->next != t->tab->cur)
		t->next = walk_buckets(w, t, t->tab->next, "new");
	if (t->tab->prepared != 0)   /* empty, ready for the next resize */
		walk_buckets(w, t, t->tab->prepared, "prepared");
	if (t->cur && t->next)
		check_note(r, "database %u is being resized, from 2^%" PRIu64
			   " to 2^%" PRIu64 " buckets (writes carry it on)", d,
			   ((const struct kv_buckets *)pool_ptr(w->pool,
							       t->cur))->log2,
			   ((const struct kv_buckets *)pool_ptr(w->pool,
							       t->next))->log2);
	if (t->cur) {
		const struct kv_buckets *B = pool_ptr(w->pool, t->cur);
		for (uint64_t b = 0; b < (1ull << B->log2) && !w->emit_err; b++)
			walk_chain(w, t, t->cur, b, true);
	}
	if (t->next) {
		const struct kv_buckets *B = pool_ptr(w->pool, t->next);
		for (uint64_t b = 0; b < (1ull << B->log2) && !w->emit_err; b++)
			walk_chain(w, t, t->next, b, false);
	}
	/* The counts must be those of the chains, if the chains could be
	 * walked (all of them): a damaged array leaves its counts unjudged. */
	if (t->stripes && t->cur && (t->next || !t->tab->next) &&
	    !w->emit_err) {
		uint64_t bad = 0, first = 0;
		for (unsigned s = 0; s < KV_STRIPES; s++)
			if (t->stripes[s].count != t->scount[s] ||
			    t->stripes[s].expires != t->sexp[s]) {
				if (bad++ == 0)
					first = s;
			}
		if (bad)
			check_damage(r, "database %u: %" PRIu64 " stripe(s) count "
				     "keys wrongly (stripe %" PRIu64 " says %"
				     PRIu64 " keys, %" PRIu64 " expiring; its "
				     "chains hold %" PRIu64 " and %" PRIu64 ")",
				     d, bad, first, t->stripes[first].count,
				     t->stripes[first].expires, t->scount[first],
				     t->sexp[first]);
	}
out:
	free(t);
}

/* walk_expected_keys -- the keys the stripes announce (for progress):
 * looks only at sound blocks. */
static uint64_t walk_expected_keys(const struct walk *w,
				   const struct kv_root *R)
{
	uint64_t total = 0, size;

	for (unsigned d = 0; d < R->ndbs; d++) {
		const struct kv_table *T;
		const struct kv_stripe *S;
		if (!walk_block(w, R->table[d], KV_TYPE_TABLE, sizeof(*T), &size))
			continue;
		T = pool_ptr(w->pool, R->table[d]);
		if (!walk_block(w, T->stripes, KV_TYPE_STRIPES,
				KV_STRIPES * sizeof(*S), &size))
			continue;
		S = pool_ptr(w->pool, T->stripes);
		for (unsigned s = 0; s < KV_STRIPES; s++)
			total += S[s].count;
	}
	return total;
}

/*
 * walk_root -- check the key-value root and everything under it.
 * Returns whether reachability can be judged (the root is a key-value
 * root and sound enough to walk).
 */
static bool walk_root(struct walk *w, bool show_progress)
{
	struct check_report *r = w->r;
	uint64_t roff = w->pool->state->root, size;
	const struct kv_root *R;
	uint32_t type;

	if (roff == 0) {
		check_note(r, "no key-value root: an empty heap (every block "
			   "allocated in it is unreachable)");
		return true;
	}
	if (heap_block_valid(w->heap, roff, NULL, &type) &&
	    type != KV_TYPE_ROOT) {
		check_note(r, "the root block has type %" PRIu32 ": not a "
			   "key-value pool, so key-value and reachability "
			   "checks are skipped", type);
		return false;
	}
	if (!walk_reach(w, roff, KV_TYPE_ROOT, sizeof(*R), &size,
			"the pool root", 0))
		return false;
	R = pool_ptr(w->pool, roff);
	if (R->magic != KV_MAGIC) {
		check_damage(r, "the key-value root at 0x%" PRIx64 " has a bad "
			     "magic number", roff);
		return false;
	}
	if (R->version < KV_LAYOUT_VERSION_STRINGS ||
	    R->version > KV_LAYOUT_VERSION) {
		check_damage(r, "the key-value root says layout version %" PRIu64
			     "; this tool reads versions %u to %u", R->version,
			     KV_LAYOUT_VERSION_STRINGS, KV_LAYOUT_VERSION);
		return false;
	}
	if (R->ndbs == 0 || R->ndbs > KV_MAX_DBS ||
	    size < sizeof(*R) + 8 * R->ndbs) {
		check_damage(r, "the key-value root says %" PRIu64 " databases "
			     "(1 to %u, in a block of %" PRIu64 " bytes)",
			     R->ndbs, KV_MAX_DBS, size);
		return false;
	}
	r->kv = true;
	r->ndbs = (unsigned)R->ndbs;
	w->seed[0] = R->seed[0];
	w->seed[1] = R->seed[1];
	if (show_progress)
		progress_begin(&w->prog, "checking keys",
			       walk_expected_keys(w, R), false, "keys");
	for (unsigned d = 0; d < r->ndbs && !w->emit_err; d++)
		walk_db(w, d, R->table[d]);
	progress_end(&w->prog);
	return true;
}

/* The sweep over every allocated block. */
struct walk_sweep {
	struct walk *w;
	uint64_t chunks_off;
	uint64_t shown;
};

/* walk_sweep_block -- one allocated block: a sound header, reached? */
static int walk_sweep_block(void *ctx, uint64_t off, uint64_t idx,
			    uint64_t block_len)
{
	struct walk_sweep *s = ctx;
	struct walk *w = s->w;
	struct check_report *r = w->r;
	uint64_t size;
	uint32_t type;

	r->blocks++;
	r->block_bytes += block_len;
	progress_update(&w->prog, (off - s->chunks_off) /
			w->pool->hdr->chunk_size);
	if (!heap_block_valid(w->heap, off, &size, &type) ||
	    size > block_len - BLOCK_HDR_SIZE) {
		const struct block_hdr *bh =
			pool_ptr(w->pool, off - BLOCK_HDR_SIZE);
		check_damage(r, "block 0x%" PRIx64 ": its header says %" PRIu64
			     " bytes, the block holds %" PRIu64, off, bh->size,
			     block_len - BLOCK_HDR_SIZE);
		return 0;
	}
	if (!r->reach_known || (w->marks[idx / 64] & (1ull << (idx % 64))))
		return 0;
	r->unreachable_blocks++;
	r->unreachable_bytes += block_len;
	if (s->shown++ < CHECK_SHOW_GARBAGE)
		check_note(r, "unreachable block at 0x%" PRIx64 " (type %" PRIu32
			   ", %" PRIu64 " bytes)", off, type, size);
	return 0;
}

/* check_walk -- everything after the heap opened. */
static int check_walk(struct walk *w, bool show_progress)
{
	struct check_report *r = w->r;
	struct walk_sweep sweep = { w, w->pool->hdr->chunks_off, 0 };
	struct errmsg em;
	uint64_t limit;

	err_clear(&em);
	if (heap_check(w->heap, &em) != 0)
		check_damage(r, "allocator: %s", em.text);
	if (heap_snap_take(w->heap, &w->snap) != 0)
		return -ENOMEM;
	limit = heap_snap_limit(w->snap);
	w->marks = calloc(limit / 64 + 1, sizeof(*w->marks));
	if (!w->marks)
		return -ENOMEM;
	w->now = pkv_now_ms();
	/* The block count bounds every search loop of the walk. */
	{
		struct heap_stats *st = malloc(sizeof(*st));
		if (!st)
			return -ENOMEM;
		heap_get_stats(w->heap, st);
		r->blocks = st->allocated_blocks;
		free(st);
	}
	r->reach_known = walk_root(w, show_progress);
	r->blocks = r->block_bytes = 0;
	if (show_progress)
		progress_begin(&w->prog, "checking blocks", r->nchunks, false,
			       "chunks");
	heap_snap_foreach(w->snap, walk_sweep_block, &sweep);
	progress_end(&w->prog);
	if (r->unreachable_blocks)
		r->repairable++;
	return 0;
}

/* check_pool -- the whole check on a private image. */
int check_pool(const char *path, struct check_report *r, bool progress,
	       struct errmsg *em)
{
	return check_pool_each(path, r, progress, NULL, NULL, em);
}

/* check_pool_each -- the check, handing each sound entry to fn. */
int check_pool_each(const char *path, struct check_report *r, bool progress,
		    check_entry_fn fn, void *ctx, struct errmsg *em)
{
	struct access a;
	struct walk w;
	int err;

	memset(r, 0, sizeof(*r));
	err = access_read(&a, path, 0, em);
	r->reached = a.stage;
	if (err) {
		if (a.stage == ACCESS_HEADER ||
		    (a.stage == ACCESS_HEAP && err == PKV_ECORRUPT)) {
			/* The pool is damaged: that is the finding. */
			size_t n = strlen(path);
			const char *text = em->text;

			/* The report names the file already. */
			if (strncmp(text, path, n) == 0 && text[n] == ':' &&
			    text[n + 1] == ' ')
				text += n + 2;
			r->header_ok = a.stage != ACCESS_HEADER;
			check_damage(r, "%s", text);
			return 0;
		}
		return err;
	}
	r->header_ok = true;
	r->pool_size = a.pool->size;
	r->nchunks = pool_heap_chunks(a.pool);
	r->clean_shutdown = a.pool->was_clean;
	r->recovery = *heap_recovery_stats(a.heap);
	if (r->recovery.logs_replayed)
		check_note(r, "%" PRIu64 " committed transaction(s) were not "
			   "yet applied; the next open applies them",
			   r->recovery.logs_replayed);
	memset(&w, 0, sizeof(w));
	w.r = r;
	w.heap = a.heap;
	w.pool = a.pool;
	w.emit = fn;
	w.emit_ctx = ctx;
	err = check_walk(&w, progress);
	free(w.chain);
	free(w.marks);
	heap_snap_free(w.snap);
	access_close(&a);
	if (err)
		return err_set(em, err, "%s: out of memory for the check", path);
	if (w.emit_err)
		return err_set(em, w.emit_err, "%s: stopped: %s", path,
			       pkv_strerror(w.emit_err));
	return 0;
}
