/*
 * offvec.h -- a growable array of 64-bit values (pool offsets, page
 * numbers): the collector's grey stack and barrier reports, the disk
 * replay's page list.
 */
#ifndef PKV_OFFVEC_H
#define PKV_OFFVEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

#endif /* PKV_OFFVEC_H */
