/*
 * csum.c -- the 64-bit checksum of pool headers, redo records, checkpoint
 * slots and key-value entries.
 *
 * Four independent lanes of 8-byte words, each mixed with its position,
 * multiplied and rotated (the shape of xxHash64), so the multiplies of
 * neighbouring words overlap instead of waiting for each other: a commit
 * checksums every new block it covers, and a put's entry is checksummed
 * again for reads to verify, so speed matters.  Swapped, torn, zeroed or
 * stale words all change the result; the tail shorter than a word is read
 * zero-padded, with the length mixed in.
 */
#include <string.h>

#include "csum.h"

#define CSUM_K1 0x9e3779b97f4a7c15ull
#define CSUM_K2 0xc2b2ae3d27d4eb4full
#define CSUM_K3 0x165667b19e3779f9ull

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

/* csum_round -- one word into one lane. */
static inline uint64_t csum_round(uint64_t acc, uint64_t w)
{
	acc += w * CSUM_K2;
	acc = acc << 31 | acc >> 33;
	return acc * CSUM_K1;
}

/* csum_word -- the word at byte i, zero if it is the skipped one. */
static inline uint64_t csum_word(const unsigned char *p, size_t i,
				 size_t skip_off)
{
	uint64_t w;

	memcpy(&w, p + i, 8);
	return i == skip_off ? 0 : w;
}

/* csum64 -- checksum of len bytes, the word at skip_off read as zero. */
uint64_t csum64(const void *buf, size_t len, size_t skip_off)
{
	const unsigned char *p = buf;
	uint64_t a = CSUM_K1 ^ (uint64_t)len, b = CSUM_K2, c = CSUM_K3, d = 0;
	uint64_t tail = 0;
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		a = csum_round(a, csum_word(p, i, skip_off));
		b = csum_round(b, csum_word(p, i + 8, skip_off));
		c = csum_round(c, csum_word(p, i + 16, skip_off));
		d = csum_round(d, csum_word(p, i + 24, skip_off));
	}
	for (; i + 8 <= len; i += 8)
		a = csum_round(a, csum_word(p, i, skip_off) + i);
	if (i < len)
		memcpy(&tail, p + i, len - i);
	a = csum_round(a, tail ^ ((uint64_t)len << 56));
	if (len < 32)     /* b, c and d as they began: their mix is folded
			     at compile time (most sums are of a few words:
			     headers, a record of one put) */
		return csum_mix(a ^ csum_mix(CSUM_K2) ^
				(csum_mix(CSUM_K3) << 1));
	return csum_mix(a ^ csum_mix(b) ^ (csum_mix(c) << 1) ^
			(csum_mix(d) << 2));
}
