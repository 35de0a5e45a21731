/*
 * offvec.h -- a growable array of 64-bit values (pool offsets, page
 * numbers): the collector's grey stack and barrier reports, the disk
 * replay's page list; and a set of them (offset_set): the lines a
 * checkpoint wrote back, the blocks a usage walk counted.
 */
#ifndef PKV_OFFVEC_H
#define PKV_OFFVEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct offvec {
	uint64_t *v;
	size_t n, cap;
};

/* offvec_push -- append; false when out of memory (o unchanged). */
static inline bool offvec_push(struct offvec *o, uint64_t x)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 1024;
		uint64_t *v = realloc(o->v, cap * sizeof(*v));
		if (!v)
			return false;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = x;
	return true;
}

/* A set of 64-bit values: open addressing, each stored plus one (0 is an
 * empty slot); cap a power of two, n <= cap / 2. */
struct offset_set {
	uint64_t *v;
	size_t cap, n;
};

/* offset_set_slot -- where x is, or would go. */
static inline size_t offset_set_slot(const struct offset_set *s, uint64_t x)
{
	size_t i = (size_t)((x * 0x9e3779b97f4a7c15ull) >> 20) & (s->cap - 1);

	while (s->v[i] && s->v[i] != x + 1)
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* offset_set_add -- add x: 1 if it was not in the set, 0 if it was, -1
 * without memory to grow the set (x not added). */
static inline int offset_set_add(struct offset_set *s, uint64_t x)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024, oldcap = s->cap;
		uint64_t *v = calloc(cap, sizeof(*v)), *old = s->v;
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
		for (size_t k = 0; k < oldcap; k++)
			if (old[k])
				s->v[offset_set_slot(s, old[k] - 1)] = old[k];
		free(old);
	}
	i = offset_set_slot(s, x);
	if (s->v[i])
		return 0;
	s->v[i] = x + 1;
	s->n++;
	return 1;
}

/* offset_set_clear -- empty the set, keeping its memory. */
static inline void offset_set_clear(struct offset_set *s)
{
	if (s->v)
		memset(s->v, 0, s->cap * sizeof(*s->v));
	s->n = 0;
}

#endif /* PKV_OFFVEC_H */
