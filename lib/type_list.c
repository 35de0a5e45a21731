/*
 * type_list.c -- the list type: a persistent doubly linked chain of
 * elements per key (layout: layout.h, "Lists").
 *
 * Why a chain of single elements.  The commands lists are used for --
 * pushes and pops at the ends (queues, stacks), inserts and removals next
 * to an element found by a walk -- then cost one new or freed block and
 * a few words, in one commit, however long the list is; an element's
 * bytes are written once, when it is made, and covered by the commit's
 * checksum, so a push needs no fence of its own.  Reading by index walks
 * from the nearer end (LINDEX and LRANGE are O(n) in Redis as well).
 * The price is a block per element (24 bytes of header): a packed
 * encoding of small lists is a later step.
 *
 * Every change is made in the caller's kvtx (read-your-writes); readers
 * hold the key's stripe (kv_list.c), as for hashes.
 */
#include <stddef.h>
#include <string.h>

#include "kv_int.h"

#define LHDR_COUNT offsetof(struct kv_list_hdr, count)
#define LHDR_HEAD offsetof(struct kv_list_hdr, head)
#define LHDR_TAIL offsetof(struct kv_list_hdr, tail)
#define LEL_NEXT offsetof(struct kv_list_elem, next)
#define LEL_PREV offsetof(struct kv_list_elem, prev)

/* list_word -- the word at off, through t when given. */
static inline uint64_t list_word(const pkv *db, const struct kvtx *t,
				 uint64_t off)
{
	return t ? kvtx_get(t, off) : kv_load(kv_ptr(db, off));
}

/* list_bad -- report damage met in the list at loff; PKV_ECORRUPT. */
static int list_bad(const pkv *db, uint64_t loff, const char *what,
		    uint64_t at)
{
	kv_damage(db, "list at offset %llu: %s at offset %llu",
		  (unsigned long long)loff, what, (unsigned long long)at);
	return PKV_ECORRUPT;
}

/* list_elem_ok -- e can be an element (its bytes inside the pool). */
static bool list_elem_ok(const pkv *db, uint64_t e)
{
	const struct kv_list_elem *E;

	if (!kv_area_ok(db, e, sizeof(*E)))
		return false;
	E = kv_ptr(db, e);
	return E->len <= db->pool->size - e - sizeof(*E);
}

/* list_of_entry -- the header offset a list key's entry holds. */
uint64_t list_of_entry(const pkv *db, const struct kv_entry *e)
{
	return kv_coll_of_entry(db, e, PKV_TYPE_LIST,
				sizeof(struct kv_list_hdr));
}

/*
 * list_new -- an empty list header in t (written directly), its offset to
 * *offp.  As a hash's header: every word may change later, so the record
 * carries all of it and a new list costs no fence of its own.
 */
int list_new(struct kvtx *t, uint64_t *offp)
{
	struct kv_list_hdr *H;
	int err = tx_alloc_fixed(t->tx, sizeof(*H), KV_TYPE_LIST, sizeof(*H),
				 offp);

	if (!err) {
		H = kv_ptr(t->db, *offp);
		memset(H, 0, sizeof(*H));
	}
	return err;
}

/* list_count -- elements in the list at loff (through t when given). */
uint64_t list_count(const pkv *db, const struct kvtx *t, uint64_t loff)
{
	return list_word(db, t, loff + LHDR_COUNT);
}

/* list_elem_new -- a new, unlinked element holding len bytes of val. */
int list_elem_new(struct kvtx *t, const void *val, size_t len,
		  uint64_t *offp)
{
	struct kv_list_elem *E;
	int err = tx_alloc_fixed(t->tx, sizeof(*E) + len, KV_TYPE_LELEM,
				 LIST_ELEM_MUTABLE, offp);

	if (err)
		return err;
	E = kv_ptr(t->db, *offp);
	E->next = E->prev = 0;
	E->len = (uint32_t)len;
	if (len)
		memcpy(E + 1, val, len);
	E->csum = list_elem_csum(E);
	return 0;
}

/*
 * list_value -- element e's bytes: 0, or PKV_ECORRUPT (reported) when the
 * pool was opened with PKV_VERIFY and they do not match their checksum
 * (as for keys: kv_entry_damaged).
 */
int list_value(const pkv *db, uint64_t loff, uint64_t e, const char **p,
	       size_t *len)
{
	const struct kv_list_elem *E = kv_ptr(db, e);

	if (db->verify && E->csum != list_elem_csum(E))
		return list_bad(db, loff, "an element whose checksum does "
				"not match", e);
	*p = (const char *)(E + 1);
	*len = E->len;
	return 0;
}

/* list_end -- the first (tail false) or last element: 0 with *e, or
 * PKV_ECORRUPT. */
int list_end(const pkv *db, const struct kvtx *t, uint64_t loff, bool tail,
	     uint64_t *e)
{
	*e = list_word(db, t, loff + (tail ? LHDR_TAIL : LHDR_HEAD));
	if (!list_elem_ok(db, *e))
		return list_bad(db, loff, tail ? "a tail that is not an "
				"element" : "a head that is not an element",
				loff);
	return 0;
}

/* list_step -- the element after e (back: before it), 0 past the end:
 * 0 with *nx, or PKV_ECORRUPT. */
int list_step(const pkv *db, const struct kvtx *t, uint64_t loff,
	      uint64_t e, bool back, uint64_t *nx)
{
	*nx = list_word(db, t, e + (back ? LEL_PREV : LEL_NEXT));
	if (*nx && !list_elem_ok(db, *nx))
		return list_bad(db, loff, "a link that is not an element", e);
	return 0;
}

/*
 * list_at -- the element at index i (0 <= i < count), walking from the
 * nearer end.  Returns 0 with *e, or PKV_ECORRUPT (a chain shorter than
 * its count, or a bad link).
 */
int list_at(const pkv *db, const struct kvtx *t, uint64_t loff, uint64_t i,
	    uint64_t *e)
{
	uint64_t n = list_count(db, t, loff);
	bool back = i >= n / 2;
	uint64_t steps = back ? n - 1 - i : i;
	int err = list_end(db, t, loff, back, e);

	while (!err && steps--) {
		err = list_step(db, t, loff, *e, back, e);
		if (!err && !*e)
			return list_bad(db, loff, "a chain shorter than its "
					"count", loff);
	}
	return err;
}

/*
 * list_link -- link the new element e between prev and next (neighbours,
 * either 0 for an end) and count it.
 */
int list_link(struct kvtx *t, uint64_t loff, uint64_t prev, uint64_t next,
	      uint64_t e)
{
	struct kv_list_elem *E = kv_ptr(t->db, e);
	int err;

	E->prev = prev;               /* a new block: direct stores */
	E->next = next;
	if ((err = kvtx_set(t, prev ? prev + LEL_NEXT : loff + LHDR_HEAD, e)) ||
	    (err = kvtx_set(t, next ? next + LEL_PREV : loff + LHDR_TAIL, e)))
		return err;
	return kvtx_set(t, loff + LHDR_COUNT,
			kvtx_get(t, loff + LHDR_COUNT) + 1);
}

/* list_unlink -- take element e out of the chain and uncount it; freed at
 * commit (its bytes stay readable until then). */
int list_unlink(struct kvtx *t, uint64_t loff, uint64_t e)
{
	uint64_t prev = kvtx_get(t, e + LEL_PREV);
	uint64_t next = kvtx_get(t, e + LEL_NEXT);
	int err;

	if ((err = kvtx_set(t, prev ? prev + LEL_NEXT : loff + LHDR_HEAD,
			    next)) ||
	    (err = kvtx_set(t, next ? next + LEL_PREV : loff + LHDR_TAIL,
			    prev)) ||
	    (err = kvtx_set(t, loff + LHDR_COUNT,
			    kvtx_get(t, loff + LHDR_COUNT) - 1)))
		return err;
	return tx_free(t->tx, e);
}

/*
 * list_cut -- keep only the elements from first to last (inclusive,
 * first before last, n of them): those before and after are unlinked
 * from the kept ones and left to the collector (their blocks point only
 * at one another and at the kept ends), so a trim of any length is a few
 * words.
 */
int list_cut(struct kvtx *t, uint64_t loff, uint64_t first, uint64_t last,
	     uint64_t n)
{
	int err = 0;

	if (kvtx_get(t, first + LEL_PREV))
		err = kvtx_set(t, first + LEL_PREV, 0);
	if (!err && kvtx_get(t, last + LEL_NEXT))
		err = kvtx_set(t, last + LEL_NEXT, 0);
	if (err || (err = kvtx_set(t, loff + LHDR_HEAD, first)) ||
	    (err = kvtx_set(t, loff + LHDR_TAIL, last)))
		return err;
	return kvtx_set(t, loff + LHDR_COUNT, n);
}

/* ---- what the collector follows ---- */

/* A header points at its head and tail. */
static void list_trace_hdr(const void *data, uint64_t size,
			   gc_visit_fn visit, void *vctx)
{
	gc_trace_words(data, size < LHDR_TAIL + 8 ? size : LHDR_TAIL + 8,
		       LHDR_HEAD, visit, vctx);
}

/* An element points at its neighbours. */
static void list_trace_elem(const void *data, uint64_t size,
			    gc_visit_fn visit, void *vctx)
{
	gc_trace_words(data, size < LIST_ELEM_MUTABLE ? size :
		       LIST_ELEM_MUTABLE, 0, visit, vctx);
}

/* list_register_types -- tell the collector what a list points to. */
void list_register_types(struct gc *gc)
{
	gc_register(gc, KV_TYPE_LIST, list_trace_hdr);
	gc_register(gc, KV_TYPE_LELEM, list_trace_elem);
}
