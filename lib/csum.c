/*
 * csum.c -- the 64-bit checksum of pool headers and redo logs.
 *
 * Word-wise: each 8-byte word is mixed with its position, multiplied and
 * folded, so swapped, torn, zeroed or stale words all change the result.
 */
#include <string.h>

#include "csum.h"

#define CSUM_K1 0x9e3779b97f4a7c15ull
#define CSUM_K2 0xc2b2ae3d27d4eb4full

/* csum_mix -- finalizer of the running state (from splitmix64). */
static inline uint64_t csum_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* csum64 -- checksum of len bytes, the word at skip_off read as zero. */
uint64_t csum64(const void *buf, size_t len, size_t skip_off)
{
	const unsigned char *p = buf;
	uint64_t h = CSUM_K1 ^ (uint64_t)len;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (i == skip_off)
			w = 0;
		h ^= (w + i) * CSUM_K2;
		h = (h << 27 | h >> 37) * CSUM_K1;
	}
	return csum_mix(h);
}
