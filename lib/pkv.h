/*
 * pkv.h -- public interface of libpkv, a persistent key-value store for
 * persistent memory.
 *
 * Error convention (one integer channel, as in LMDB): every function that
 * can fail returns an int, 0 on success, a negative errno value (-ENOMEM,
 * -EACCES, ...) for a failure reported by the system, or one of the PKV_E*
 * codes below, which are negative and live in their own band so they never
 * collide with an errno.  pkv_strerror() turns any of them into text.
 */
#ifndef PKV_H
#define PKV_H

#ifdef __cplusplus
extern "C" {
#endif

#define PKV_VERSION_MAJOR 0
#define PKV_VERSION_MINOR 1
#define PKV_VERSION_PATCH 0

/* Library error codes: negative, in the band [PKV_EFIRST, PKV_ELAST]. */
#define PKV_EFIRST     (-30900)
#define PKV_ENOTFOUND  (-30900) /* no such key / object */
#define PKV_EEXIST     (-30901) /* already exists (create, put-if-absent) */
#define PKV_EFULL      (-30902) /* the pool has no room for this allocation */
#define PKV_ENOTPOOL   (-30903) /* the file is not a pkv pool (bad magic) */
#define PKV_EVERSION   (-30904) /* pool layout version not supported */
#define PKV_ETRUNCATED (-30905) /* the file is shorter than its header says */
#define PKV_ECHECKSUM  (-30906) /* the pool header checksum does not match */
#define PKV_ECORRUPT   (-30907) /* the pool's metadata is inconsistent */
#define PKV_EBUSY      (-30908) /* the pool is open in another process */
#define PKV_ETXTOOBIG  (-30909) /* a transaction exceeds its log capacity */
#define PKV_EINVAL     (-30910) /* an argument is out of range */
#define PKV_ELAST      (-30910)

/*
 * pkv_strerror -- describe an error code returned by any pkv function:
 * 0, a negative errno, or a PKV_E* code.  The string is static and must
 * not be freed; unknown codes get a generic text.
 */
const char *pkv_strerror(int err);

/*
 * pkv_version -- the library's version as "MAJOR.MINOR.PATCH"; static.
 */
const char *pkv_version(void);

#ifdef __cplusplus
}
#endif

#endif /* PKV_H */
