/*
 * heap_snap.c -- snapshots of which blocks are allocated (see heap.h).
 *
 * The collector marks against a snapshot taken while no transaction is in
 * flight: blocks allocated later are not in it and so can never be swept
 * by that cycle (they are "allocated black"), and a word that merely looks
 * like a pointer is checked against the snapshot, never against the live
 * heap, so its answer cannot change under the collector's feet.
 *
 * A snapshot keeps each chunk's header word and, for runs, a copy of the
 * bitmap words in use, at a fixed stride per chunk so a block index maps
 * straight to its bit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap_int.h"

#define SNAP_WORDS (1u << (HEAP_SNAP_SHIFT - 6))  /* bitmap words per chunk */

struct heap_snap {
	const struct heap *heap;
	uint64_t nchunks;
	uint64_t *hdr;                /* chunk header words */
	uint64_t *bits;               /* nchunks x SNAP_WORDS */
};

static_assert((CHUNK_SIZE - CACHELINE) / 32 < (1u << HEAP_SNAP_SHIFT),
	      "a run's blocks fit a snapshot stride");

/* heap_snap_take -- copy headers and run bitmaps. */
int heap_snap_take(struct heap *h, struct heap_snap **sp)
{
	struct heap_snap *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->heap = h;
	s->nchunks = h->nchunks;
	s->hdr = malloc(h->nchunks * sizeof(*s->hdr));
	/* calloc: untouched strides stay shared zero pages */
	s->bits = calloc(h->nchunks * SNAP_WORDS, sizeof(*s->bits));
	if (!s->hdr || !s->bits) {
		heap_snap_free(s);
		return -ENOMEM;
	}
	memcpy(s->hdr, h->chunk_hdr, h->nchunks * sizeof(*s->hdr));
	for (uint64_t i = 0; i < h->nchunks; i++) {
		const struct heap_class *c;
		if (CHUNK_KIND(s->hdr[i]) != CHUNK_RUN)
			continue;
		c = &h->cls[CHUNK_CLASS(s->hdr[i])];
		for (uint32_t w = 0; w < c->nwords; w++)
			s->bits[i * SNAP_WORDS + w] =
				heap_persistent_bits(h, i)[w] &
				heap_tail_mask(c, w);
	}
	*sp = s;
	return 0;
}

/* heap_snap_free -- release the copies. */
void heap_snap_free(struct heap_snap *s)
{
	if (!s)
		return;
	free(s->hdr);
	free(s->bits);
	free(s);
}

/* heap_snap_limit -- indexes are below nchunks << HEAP_SNAP_SHIFT. */
uint64_t heap_snap_limit(const struct heap_snap *s)
{
	return s->nchunks << HEAP_SNAP_SHIFT;
}

/* heap_snap_find -- index of an allocated block's data offset, or -1. */
int64_t heap_snap_find(const struct heap_snap *s, uint64_t data_off,
		       uint64_t *capp)
{
	const struct heap *h = s->heap;
	uint64_t base = h->pool->hdr->chunks_off, chunk, rel, hdr;

	if (data_off < base + BLOCK_HDR_SIZE || (data_off & 7) ||
	    data_off - base >= s->nchunks * h->chunk_size)
		return -1;
	chunk = (data_off - BLOCK_HDR_SIZE - base) / h->chunk_size;
	rel = data_off - BLOCK_HDR_SIZE - heap_chunk_off(h, chunk);
	hdr = s->hdr[chunk];
	if (CHUNK_KIND(hdr) == CHUNK_HUGE) {
		if (rel != 0)
			return -1;
		*capp = (uint64_t)CHUNK_SPAN(hdr) * h->chunk_size -
			BLOCK_HDR_SIZE;
		return (int64_t)(chunk << HEAP_SNAP_SHIFT);
	}
	if (CHUNK_KIND(hdr) == CHUNK_RUN && CHUNK_CLASS(hdr) < h->nclasses) {
		const struct heap_class *c = &h->cls[CHUNK_CLASS(hdr)];
		uint64_t idx;
		if (rel < c->hdr_bytes || (rel - c->hdr_bytes) % c->block_size)
			return -1;
		idx = (rel - c->hdr_bytes) / c->block_size;
		if (idx >= c->nblocks ||
		    !(s->bits[chunk * SNAP_WORDS + idx / 64] &
		      (1ull << (idx % 64))))
			return -1;
		*capp = c->block_size - BLOCK_HDR_SIZE;
		return (int64_t)((chunk << HEAP_SNAP_SHIFT) | idx);
	}
	return -1;
}

/* heap_snap_foreach -- every block allocated in the snapshot. */
int heap_snap_foreach(const struct heap_snap *s,
		      int (*fn)(void *ctx, uint64_t data_off, uint64_t index,
				uint64_t block_len),
		      void *ctx)
{
	const struct heap *h = s->heap;
	int ret;

	for (uint64_t i = 0; i < s->nchunks; i++) {
		uint64_t hdr = s->hdr[i], base = heap_chunk_off(h, i);

		if (CHUNK_KIND(hdr) == CHUNK_HUGE) {
			ret = fn(ctx, base + BLOCK_HDR_SIZE,
				 i << HEAP_SNAP_SHIFT,
				 (uint64_t)CHUNK_SPAN(hdr) * h->chunk_size);
			if (ret)
				return ret;
			i += CHUNK_SPAN(hdr) - 1;
		} else if (CHUNK_KIND(hdr) == CHUNK_RUN &&
			   CHUNK_CLASS(hdr) < h->nclasses) {
			const struct heap_class *c = &h->cls[CHUNK_CLASS(hdr)];
			const uint64_t *bits = &s->bits[i * SNAP_WORDS];
			for (uint32_t w = 0; w < c->nwords; w++) {
				uint64_t v = bits[w];
				while (v) {
					uint32_t b = w * 64 +
						(uint32_t)__builtin_ctzll(v);
					v &= v - 1;
					ret = fn(ctx, base + c->hdr_bytes +
						 (uint64_t)b * c->block_size +
						 BLOCK_HDR_SIZE,
						 (i << HEAP_SNAP_SHIFT) | b,
						 c->block_size);
					if (ret)
						return ret;
				}
			}
		}
	}
	return 0;
}
