/*
 * failwrite.c -- a preload library for server-syncfail.sh: the durable
 * writes of a whole process fail, from the moment a file appears.
 *
 * Loaded with LD_PRELOAD=.../libfailwrite.so into pkv-server, it stands in
 * for pwritev2, the call that writes and syncs a commit's log record on a
 * disk (lib/persist.c).  While the file named by FAILWRITE_TRIGGER exists
 * every call fails with EIO, as a disk that has gone bad; otherwise it
 * calls the real one.  Only the test needs it: it is built, never
 * installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*pwritev2_fn)(int, const struct iovec *, int, off_t, int);

/* pwritev2 -- EIO while the trigger file exists, else the real call. */
ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off,
		 int flags)
{
	static pwritev2_fn real;
	const char *trigger = getenv("FAILWRITE_TRIGGER");

	if (trigger && access(trigger, F_OK) == 0) {
		errno = EIO;
		return -1;
	}
	if (!real)
		real = (pwritev2_fn)dlsym(RTLD_NEXT, "pwritev2");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, iov, iovcnt, off, flags);
}
