/*
 * hash.h -- the keyed hash of keys (SipHash-1-3, as Redis and Rust use):
 * a random key per pool, so clients cannot choose keys that all land in
 * one bucket.
 */
#ifndef PKV_HASH_H
#define PKV_HASH_H

#include <stddef.h>
#include <stdint.h>

/* hash_key -- SipHash-1-3 of len bytes at p under the 128-bit key k. */
uint64_t hash_key(const uint64_t k[2], const void *p, size_t len);

#endif /* PKV_HASH_H */
