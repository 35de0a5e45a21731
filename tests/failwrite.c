/*
 * failwrite.c -- a preload library for server-syncfail.sh and
 * server-ckptfail.sh: a process's writes to its files fail, from the
 * moment a file appears.
 *
 * Loaded with LD_PRELOAD=.../libfailwrite.so into pkv-server, it stands in
 * for the calls lib/persist.c writes a pool on a disk with: pwritev2, the
 * write and sync of a commit's log record, and pwrite, which writes a
 * commit's new blocks and a checkpoint's pages.  While the file named
 * by FAILWRITE_TRIGGER exists, the calls FAILWRITE_CALLS names ("pwritev2"
 * when unset, "pwrite", or both, comma-separated) fail with EIO, as a disk
 * that has gone bad, and if FAILWRITE_THREAD is set, only in the thread
 * of that name (lib/ names its threads: "pkv-ckpt" is the checkpointer);
 * otherwise they call the real ones.  Only the tests need it: it is
 * built, never installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*pwritev2_fn)(int, const struct iovec *, int, off_t, int);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

/* failwrite_now -- whether `call` is to fail now. */
static int failwrite_now(const char *call)
{
	const char *trigger = getenv("FAILWRITE_TRIGGER");
	const char *calls = getenv("FAILWRITE_CALLS");
	const char *thread = getenv("FAILWRITE_THREAD");
	size_t n = strlen(call);
	char name[17] = "";

	if (!trigger || access(trigger, F_OK) != 0)
		return 0;
	if (thread && (prctl(PR_GET_NAME, name) || strcmp(name, thread)))
		return 0;
	if (!calls)
		calls = "pwritev2";
	for (const char *p = calls; (p = strstr(p, call)); p += n)
		if ((p == calls || p[-1] == ',') && (!p[n] || p[n] == ','))
			return 1;
	return 0;
}

/* failwrite_real -- the next definition of `name`, or NULL (ENOSYS). */
static void *failwrite_real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f)
		errno = ENOSYS;
	return f;
}

/* pwritev2 -- EIO while the trigger file exists, else the real call. */
ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off,
		 int flags)
{
	static pwritev2_fn real;

	if (failwrite_now("pwritev2")) {
		errno = EIO;
		return -1;
	}
	if (!real && !(real = (pwritev2_fn)failwrite_real("pwritev2")))
		return -1;
	return real(fd, iov, iovcnt, off, flags);
}

/* pwrite -- likewise (pwrite64 is the same call on 64-bit systems). */
ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static pwrite_fn real;

	if (failwrite_now("pwrite")) {
		errno = EIO;
		return -1;
	}
	if (!real && !(real = (pwrite_fn)failwrite_real("pwrite")))
		return -1;
	return real(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}
