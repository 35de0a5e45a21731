/*
 * setopt.h -- the options of SET (NX XX GET EX PX EXAT PXAT KEEPTTL), of
 * GETEX (EX PX EXAT PXAT PERSIST) and of the EXPIRE family (NX XX GT
 * LT), and their expiry times, read as Redis 7.0 reads them and refused
 * with its exact error replies.  One parser for pkv-server's commands
 * and for `pkv import`, so a stream is taken or refused the same way by
 * both, and by Redis.
 *
 * What Redis 7.0 does, and so this:
 *   - SET: NX and XX exclude each other; EX, PX, EXAT, PXAT and KEEPTTL
 *     exclude each other, but the same one may be given again (the last
 *     time wins: "SET k v EX 1 EX 2" is fine); GET combines with all;
 *     a time option with nothing after it, an unknown word or a
 *     conflict answers "ERR syntax error".  GETEX the same with PERSIST
 *     in place of KEEPTTL and no NX, XX or GET.
 *   - the time must be a strict integer ("ERR value is not an integer or
 *     out of range"), above zero, and must not overflow when turned into
 *     absolute milliseconds ("ERR invalid expire time in 'set' command",
 *     with the command's name).
 *   - EXPIRE and friends: any of NX XX GT LT, repeats allowed; an unknown
 *     word answers "ERR Unsupported option <word>"; NX with any other,
 *     or GT with LT, are incompatible (two messages); the time may be
 *     zero or negative (the key then goes) but must not overflow.
 *   - option words compare case-blind as C strings, as Redis compares
 *     them: an argument "nx\0junk" is NX.
 *
 * Errors: functions return 0, or -EINVAL with the reply text (without
 * the leading '-') in err.  Nothing here reads the clock: callers pass
 * the time, so tests are exact.
 */
#ifndef PKV_PROTO_SETOPT_H
#define PKV_PROTO_SETOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resp.h"

/* SET's and GETEX's options (Redis's OBJ_* flags). */
#define SETOPT_NX      0x001u
#define SETOPT_XX      0x002u
#define SETOPT_GET     0x004u
#define SETOPT_KEEPTTL 0x008u
#define SETOPT_PERSIST 0x010u         /* GETEX only */
#define SETOPT_EX      0x020u         /* seconds from now */
#define SETOPT_PX      0x040u         /* milliseconds from now */
#define SETOPT_EXAT    0x080u         /* Unix seconds */
#define SETOPT_PXAT    0x100u         /* Unix milliseconds */
#define SETOPT_EXPIRY  (SETOPT_EX | SETOPT_PX | SETOPT_EXAT | SETOPT_PXAT)

/* Whose options: the first option is argv[3] for SET, argv[2] GETEX. */
enum setopt_cmd {
	SETOPT_FOR_SET,
	SETOPT_FOR_GETEX,
};

/* SET's or GETEX's options as read. */
struct setopt {
	unsigned flags;               /* SETOPT_* */
	const struct resp_arg *expire;/* the time argument, or NULL */
};

/*
 * setopt_set -- Redis's parseExtendedStringArgumentsOrReply over the
 * options of a SET or GETEX command argv[0..argc) into *o.  0, or
 * -EINVAL with "ERR syntax error".
 */
int setopt_set(enum setopt_cmd cmd, size_t argc, const struct resp_arg *argv,
	       struct setopt *o, char *err, size_t errlen);

/*
 * setopt_set_ms -- Redis's getExpireMillisecondsOrReply: the absolute
 * expiry in Unix ms of the time argument arg under flags (one of
 * SETOPT_EX PX EXAT PXAT; EX and PX count from now_ms).  cmd names the
 * command in the error ("set", "setex", "getex"...).
 */
int setopt_set_ms(const struct resp_arg *arg, unsigned flags, int64_t now_ms,
		  const char *cmd, int64_t *ms, char *err, size_t errlen);

/* The EXPIRE family's conditions. */
#define SETOPT_EXP_NX 0x1u            /* only if the key has no expiry */
#define SETOPT_EXP_XX 0x2u            /* only if it has one */
#define SETOPT_EXP_GT 0x4u            /* only if later than the current */
#define SETOPT_EXP_LT 0x8u            /* only if earlier */

/*
 * setopt_expire -- Redis's parseExtendedExpireArgumentsOrReply over
 * argv[3..argc) of EXPIRE, PEXPIRE, EXPIREAT or PEXPIREAT: the
 * conditions in *flags.  0, or -EINVAL with Redis's message.
 */
int setopt_expire(size_t argc, const struct resp_arg *argv, unsigned *flags,
		  char *err, size_t errlen);

/*
 * setopt_expire_when -- the absolute expiry in Unix ms of an EXPIRE
 * family time: arg in seconds or ms, plus basetime (now for EXPIRE and
 * PEXPIRE, 0 for the AT forms).  Negative results are allowed (the key
 * goes); overflow answers "ERR invalid expire time in '<cmd>' command".
 */
int setopt_expire_when(const struct resp_arg *arg, bool seconds,
		       int64_t basetime, const char *cmd, int64_t *when,
		       char *err, size_t errlen);

/*
 * setopt_expire_allows -- whether the conditions let a key whose expiry
 * is cur (0: none, an infinite time to live for GT and LT) take the
 * expiry when.
 */
bool setopt_expire_allows(unsigned flags, int64_t cur, int64_t when);

#endif /* PKV_PROTO_SETOPT_H */
