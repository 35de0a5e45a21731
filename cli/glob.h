/*
 * glob.h -- Redis's glob-style patterns (SCAN MATCH, KEYS), binary safe.
 *
 *   *        any run of bytes, empty included
 *   ?        any one byte
 *   [abc]    one of the bytes listed; [^abc] one byte not listed;
 *            [a-z] a range (either order); \ quotes the next byte
 *   \x       x itself, whatever it is
 *
 * Any other byte matches itself.  Pattern and subject are byte strings
 * with lengths, so NULs are ordinary bytes.
 */
#ifndef PKV_CLI_GLOB_H
#define PKV_CLI_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* glob_match -- whether the subject s[0..slen) matches the pattern. */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen);

#endif /* PKV_CLI_GLOB_H */
