/*
 * csum.h -- the checksum pkv stores in its pool header, redo records,
 * checkpoints and key-value entries.
 *
 * A 64-bit multiply-mix hash over four word lanes: fast enough to run over
 * every record and new block at commit, and any torn or stale byte changes
 * it with overwhelming probability.  It is not cryptographic.
 */
#ifndef PKV_CSUM_H
#define PKV_CSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * csum64 -- checksum of len bytes at buf (any length), computed as if the
 * 8-byte word at byte offset skip_off were zero (pass a value >= len to
 * skip nothing; it must be a multiple of 8 to take effect): the field that
 * stores the checksum itself.
 */
uint64_t csum64(const void *buf, size_t len, size_t skip_off);

#endif /* PKV_CSUM_H */
