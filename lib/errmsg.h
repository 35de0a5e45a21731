/*
 * errmsg.h -- the detail message that goes with an error code.
 *
 * A code says what kind of failure happened; the message says where (which
 * file, which offset, which field).  Functions that can fail for reasons a
 * user must act on take a struct errmsg * (which may be NULL) and fill it
 * with err_set(), which also returns the code so a failure is one line:
 *     return err_set(em, PKV_ENOTPOOL, "%s: not a pkv pool (bad magic)", path);
 */
#ifndef PKV_ERRMSG_H
#define PKV_ERRMSG_H

#define ERRMSG_MAX 512

struct errmsg {
	char text[ERRMSG_MAX];
};

/* err_set -- format the detail message (if em is not NULL); returns code. */
int err_set(struct errmsg *em, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* err_clear -- empty the message. */
void err_clear(struct errmsg *em);

#endif /* PKV_ERRMSG_H */
