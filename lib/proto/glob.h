/*
 * glob.h -- Redis's glob-style patterns (KEYS, SCAN MATCH, CONFIG GET,
 * `pkv scan --match`), binary safe, in bounded time.
 *
 *   *        any run of bytes, the empty one included
 *   ?        any one byte
 *   [abc]    one of the bytes listed; [^abc] one byte not listed;
 *            [a-z] a range, either order ([z-a] is the same);
 *            [\]] a quoted byte; an unclosed class runs to the end of
 *            the pattern; [] matches nothing and [^] any byte
 *   \x       x itself, whatever it is; a '\' at the end is itself
 *
 * Any other byte matches itself.  These are the semantics of Redis 7's
 * stringmatchlen, quirks included, so a pattern selects the same keys
 * here as there:
 *   - an empty subject matches only the empty pattern (Redis's KEYS and
 *     SCAN treat the pattern "*" as "no pattern" before matching, and so
 *     must callers here);
 *   - in case-blind mode (GLOB_NOCASE, CONFIG GET) literals and ranges
 *     compare folded to lower case, but a quoted byte inside a class
 *     (`[\a]`) still compares exactly;
 *   - a pattern with more than GLOB_MAX_STARS runs of '*' before its end
 *     matches nothing (Redis's guard against deep recursion, kept so the
 *     answers agree).
 * One difference: bytes from 0x80 up compare as unsigned everywhere,
 * where Redis compares range ends as plain (on x86, signed) chars.
 *
 * Time: O(|pattern| x |subject|) at worst, against exponential for the
 * naive recursion (CVE-2022-36021), and in any case at most a fixed
 * amount of work (glob_limit) so that no pattern can stall an event loop:
 * past it the match is abandoned and counts as no match.
 */
#ifndef PKV_PROTO_GLOB_H
#define PKV_PROTO_GLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GLOB_NOCASE 0x1u              /* fold ASCII case (CONFIG GET) */

#define GLOB_MAX_STARS 1000           /* Redis's nesting limit */
#define GLOB_WORK_FLOOR (1u << 24)    /* steps any match may take */

/* What glob_run found. */
enum glob_result {
	GLOB_NOMATCH = 0,
	GLOB_MATCH = 1,
	GLOB_ELIMIT = -1,             /* gave up after `limit` steps */
};

/*
 * glob_limit -- the work allowed for a pattern of plen bytes against a
 * subject of slen: GLOB_WORK_FLOOR steps, or a few per input byte if
 * that is more (so every match that is linear in its input finishes).
 */
uint64_t glob_limit(size_t plen, size_t slen);

/*
 * glob_run -- match the whole subject s[0..slen) against pat[0..plen)
 * with flags (GLOB_NOCASE), taking at most about `limit` steps (a step
 * examines one pattern byte).  Returns GLOB_MATCH, GLOB_NOMATCH, or
 * GLOB_ELIMIT.  *work, if not NULL, gets the steps taken.
 */
int glob_run(const char *pat, size_t plen, const char *s, size_t slen,
	     unsigned flags, uint64_t limit, uint64_t *work);

/* glob_match -- glob_run within glob_limit; true only on GLOB_MATCH. */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen,
		unsigned flags);

#endif /* PKV_PROTO_GLOB_H */
