/*
 * test_fault.c -- fault injection: failing allocations, open, flock,
 * fstat, pread, posix_fallocate, ftruncate, mmap, getrandom,
 * pthread_create and the file backend's writes and syncs (pwrite,
 * pwritev2, sync_file_range, fdatasync) inside the library must give
 * errors,
 * never crashes, aborts or leaks, and lose nothing.
 *
 * The program is linked with GNU ld's --wrap for each of those names (see
 * Makefile.am): a reference to malloc in lib/heap.o resolves to
 * __wrap_malloc below, which either fails or calls __real_malloc.  A
 * wrapper counts and fails calls only while the calling thread is armed,
 * that is inside the one library call under test, so the test's own
 * allocations, stdio's and other threads' are never touched.  Calls made
 * inside libc or libpmem (the malloc behind strdup) are not references
 * of our objects: strdup is wrapped itself.  Calls fall into three
 * classes, injected separately: allocations (malloc, calloc, realloc,
 * strdup), system calls (the rest but the file backend's) and the file
 * backend's writes and syncs, its whole durability.
 *
 * Every scenario runs one operation with the Nth call of its class
 * failing (or, "sticky", the Nth and every later one), for N = 1, 2, 3
 * ... until a run sees no injected failure: by then every injection point
 * of the operation has failed once.  After each run, disarmed, it checks:
 *   - pkv_open: an error code and no leak (allocations made during the
 *     call and not freed, file descriptors, mappings of the pool, address
 *     space reservations); the lock is not held (a later open is not
 *     PKV_EBUSY); a create leaves either no file or one that opens; an
 *     existing pool opens again with every key, and a pool that was not
 *     shut down cleanly still gets its recovery collection;
 *   - writes (put, overwrite, delete, a batch): every key holds the value
 *     the model says, the operation under test is applied entirely or not
 *     at all, the heap's volatile state agrees with the pool (heap_check)
 *     and the key counts are right, before and after a close and reopen;
 *   - pkv_gc and pkv_scan: the same, and garbage that a failed collection
 *     left is taken by the next one.
 * A call that succeeds although a write or sync under it failed has told its
 * caller that unflushed data is durable: that is a failure too.
 *
 * The file backend (PKV_PERSIST=file) and the pmem one (PKV_PERSIST=pmem,
 * cache flushes, which cannot fail) are both run.  A sync that is not
 * failed returns 0 without syncing: see __wrap_fdatasync.
 *
 * Each scenario runs in a child process, so a crash or an abort is
 * reported with the scenario and the N that caused it, and the other
 * scenarios still run.  A failure names the call that was failed and its
 * address in the program: `addr2line -f -i -e tests/test_fault ADDRESS`
 * gives the library's line.  Pools live in tests/tmp/test_fault-<pid>
 * under the current directory, removed when every scenario passed.
 *
 * Usage: test_fault [SUBSTRING]   (only the scenarios whose name has it)
 * Environment: PKV_FAULT_VERBOSE=1 prints every message, notes on calls
 * that succeeded over an injected failure, and the callers of each failed
 * call; PKV_FAULT_REAL_SYNC=1 makes the syncs not failed real.
 * Exit status: 0 pass, 1 fail, 77 skip.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpmem.h>

#include "kv_int.h"

#define MiB (1ull << 20)
#define N_CAP 2000              /* injection points per operation, at most */
#define MODEL_MAX 4096          /* keys one scenario may use */
#define VAL_MAX (40u << 10)     /* longest value */
#define BATCH_MAX 16            /* changes of one operation */

/* ------------------------------------------------------------------ */
/* Injection                                                           */
/* ------------------------------------------------------------------ */

enum fault_kind {
	FK_MALLOC, FK_CALLOC, FK_REALLOC, FK_STRDUP,
	FK_OPEN, FK_FLOCK, FK_FSTAT, FK_PREAD, FK_FALLOCATE, FK_FTRUNCATE,
	FK_MMAP, FK_GETRANDOM, FK_THREAD,
	FK_PWRITE, FK_PWRITEV2, FK_SYNC_RANGE, FK_FDATASYNC,
	FK_COUNT
};

#define FC_ALLOC 1u
#define FC_SYS 2u
#define FC_SYNC 4u

static const struct {
	const char *name;
	unsigned cls;
} fault_kinds[FK_COUNT] = {
	[FK_MALLOC] = { "malloc", FC_ALLOC },
	[FK_CALLOC] = { "calloc", FC_ALLOC },
	[FK_REALLOC] = { "realloc", FC_ALLOC },
	[FK_STRDUP] = { "strdup", FC_ALLOC },
	[FK_OPEN] = { "open", FC_SYS },
	[FK_FLOCK] = { "flock", FC_SYS },
	[FK_FSTAT] = { "fstat", FC_SYS },
	[FK_PREAD] = { "pread", FC_SYS },
	[FK_FALLOCATE] = { "posix_fallocate", FC_SYS },
	[FK_FTRUNCATE] = { "ftruncate", FC_SYS },
	[FK_MMAP] = { "mmap", FC_SYS },
	[FK_GETRANDOM] = { "getrandom", FC_SYS },
	[FK_THREAD] = { "pthread_create", FC_SYS },
	[FK_PWRITE] = { "pwrite", FC_SYNC },
	[FK_PWRITEV2] = { "pwritev2", FC_SYNC },
	[FK_SYNC_RANGE] = { "sync_file_range", FC_SYNC },
	[FK_FDATASYNC] = { "fdatasync", FC_SYNC },
};

/* What the armed thread's wrappers do; written only while disarmed. */
static struct {
	unsigned classes;             /* FC_* eligible for failure */
	unsigned long nth;            /* fail the nth eligible call (1-based) */
	bool sticky;                  /* ... and every later one */
	bool no_fallocate;            /* posix_fallocate says EOPNOTSUPP */
	unsigned long count;          /* eligible calls so far */
	unsigned long calls[FK_COUNT];
	unsigned long fired;          /* failures injected */
	enum fault_kind fired_kind;   /* the first one's call ... */
	unsigned long fired_index;    /* ... and its number among its kind */
	uintptr_t fired_from;         /* ... and where it was called from */
	void *fired_stack[8];         /* (PKV_FAULT_VERBOSE=1) its callers */
	int fired_depth;
} fault;

static _Thread_local bool fault_armed;
static bool g_verbose;          /* PKV_FAULT_VERBOSE=1: tell more */

/* fault_arm -- count (and fail the nth of) calls of classes from now. */
static void fault_arm(unsigned classes, unsigned long nth, bool sticky)
{
	fault.classes = classes;
	fault.nth = nth;
	fault.sticky = sticky;
	fault.count = 0;
	memset(fault.calls, 0, sizeof(fault.calls));
	fault.fired = 0;
	fault_armed = true;
}

/* fault_disarm -- stop counting and failing. */
static void fault_disarm(void)
{
	fault_armed = false;
}

/* fault_hit -- count a call of kind k made from the return address
 * from; whether it must fail. */
static bool fault_hit(enum fault_kind k, void *from)
{
	if (!fault_armed || !(fault.classes & fault_kinds[k].cls))
		return false;
	fault.calls[k]++;
	fault.count++;
	if (fault.nth && (fault.count == fault.nth ||
			  (fault.sticky && fault.count > fault.nth))) {
		if (fault.fired++ == 0) {
			fault.fired_kind = k;
			fault.fired_index = fault.calls[k];
			fault.fired_from = (uintptr_t)from;
			fault.fired_depth = g_verbose ? backtrace(
				fault.fired_stack, 8) : 0;
		}
		return true;
	}
	return false;
}

/*
 * Allocations made by the armed thread, minus those freed since (by any
 * thread): what a failed pkv_open must leave empty.  A plain array: a
 * failed call allocates a few hundred blocks at most.
 */
#define TRACK_MAX 8192
static struct {
	pthread_mutex_t mtx;
	atomic_bool on;
	bool overflow;
	size_t n;
	void *p[TRACK_MAX];
} track = { .mtx = PTHREAD_MUTEX_INITIALIZER };

/* track_add -- remember a block the armed thread got. */
static void track_add(void *p)
{
	if (!p || !fault_armed || !atomic_load(&track.on))
		return;
	pthread_mutex_lock(&track.mtx);
	if (track.n < TRACK_MAX)
		track.p[track.n++] = p;
	else
		track.overflow = true;
	pthread_mutex_unlock(&track.mtx);
}

/* track_del -- forget a block being freed. */
static void track_del(void *p)
{
	if (!p || !atomic_load(&track.on))
		return;
	pthread_mutex_lock(&track.mtx);
	for (size_t i = track.n; i-- > 0;)
		if (track.p[i] == p) {
			track.p[i] = track.p[--track.n];
			break;
		}
	pthread_mutex_unlock(&track.mtx);
}

/* track_begin -- start with nothing tracked. */
static void track_begin(void)
{
	pthread_mutex_lock(&track.mtx);
	track.n = 0;
	track.overflow = false;
	pthread_mutex_unlock(&track.mtx);
	atomic_store(&track.on, true);
}

/* track_end -- stop; how many tracked blocks are still allocated
 * (-1 if there were too many to know). */
static long track_end(void)
{
	long n;

	atomic_store(&track.on, false);
	pthread_mutex_lock(&track.mtx);
	n = track.overflow ? -1 : (long)track.n;
	track.n = 0;
	pthread_mutex_unlock(&track.mtx);
	return n;
}

/* The wrappers: ld --wrap=NAME sends the program's references to NAME
 * here, and __real_NAME to the real one. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void __real_free(void *p);
int __real_open(const char *path, int flags, ...);
int __real_flock(int fd, int op);
int __real_fstat(int fd, struct stat *st);
ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
int __real_posix_fallocate(int fd, off_t off, off_t len);
int __real_ftruncate(int fd, off_t len);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
ssize_t __real_getrandom(void *buf, size_t n, unsigned flags);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg);
ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __real_pwritev2(int fd, const struct iovec *v, int cnt, off_t off,
			int flags);
int __real_sync_file_range(int fd, off64_t off, off64_t n, unsigned flags);
int __real_fdatasync(int fd);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
void __wrap_free(void *p);
int __wrap_open(const char *path, int flags, ...);
int __wrap_flock(int fd, int op);
int __wrap_fstat(int fd, struct stat *st);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off);
int __wrap_posix_fallocate(int fd, off_t off, off_t len);
int __wrap_ftruncate(int fd, off_t len);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
ssize_t __wrap_getrandom(void *buf, size_t n, unsigned flags);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __wrap_pwritev2(int fd, const struct iovec *v, int cnt, off_t off,
			int flags);
int __wrap_sync_file_range(int fd, off64_t off, off64_t n, unsigned flags);
int __wrap_fdatasync(int fd);

void *__wrap_malloc(size_t n)
{
	void *p;

	if (fault_hit(FK_MALLOC, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_malloc(n);
	track_add(p);
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p;

	if (fault_hit(FK_CALLOC, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_calloc(n, size);
	track_add(p);
	return p;
}

void *__wrap_realloc(void *old, size_t n)
{
	void *p;

	if (fault_hit(FK_REALLOC, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_realloc(old, n);
	if (p || n == 0)
		track_del(old);
	track_add(p);
	return p;
}

char *__wrap_strdup(const char *s)
{
	char *p;

	if (fault_hit(FK_STRDUP, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	p = __real_strdup(s);
	track_add(p);
	return p;
}

void __wrap_free(void *p)
{
	track_del(p);
	__real_free(p);
}

int __wrap_open(const char *path, int flags, ...)
{
	int mode = 0;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	if (fault_hit(FK_OPEN, __builtin_return_address(0))) {
		errno = EMFILE;
		return -1;
	}
	return __real_open(path, flags, mode);
}

int __wrap_flock(int fd, int op)
{
	if (fault_hit(FK_FLOCK, __builtin_return_address(0))) {
		errno = ENOLCK;
		return -1;
	}
	return __real_flock(fd, op);
}

int __wrap_fstat(int fd, struct stat *st)
{
	if (fault_hit(FK_FSTAT, __builtin_return_address(0))) {
		errno = EIO;
		return -1;
	}
	return __real_fstat(fd, st);
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
	if (fault_hit(FK_PREAD, __builtin_return_address(0))) {
		errno = EIO;
		return -1;
	}
	return __real_pread(fd, buf, n, off);
}

int __wrap_posix_fallocate(int fd, off_t off, off_t len)
{
	/* A file system without fallocate: the caller falls back to
	 * ftruncate.  Not an injected failure: the call is not counted. */
	if (fault_armed && fault.no_fallocate)
		return EOPNOTSUPP;
	if (fault_hit(FK_FALLOCATE, __builtin_return_address(0)))
		return ENOSPC;
	return __real_posix_fallocate(fd, off, len);
}

int __wrap_ftruncate(int fd, off_t len)
{
	if (fault_hit(FK_FTRUNCATE, __builtin_return_address(0))) {
		errno = EIO;
		return -1;
	}
	return __real_ftruncate(fd, len);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	if (fault_hit(FK_MMAP, __builtin_return_address(0))) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

ssize_t __wrap_getrandom(void *buf, size_t n, unsigned flags)
{
	if (fault_hit(FK_GETRANDOM, __builtin_return_address(0))) {
		errno = ENOSYS;
		return -1;
	}
	return __real_getrandom(buf, n, flags);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a,
			  void *(*fn)(void *), void *arg)
{
	if (fault_hit(FK_THREAD, __builtin_return_address(0)))
		return EAGAIN;
	return __real_pthread_create(t, a, fn, arg);
}

/*
 * A real sync writes the pages to the disk: thousands of them make the
 * file-backend runs fifty times slower, and whether they reached the disk
 * is nothing this process can observe (it never loses its page cache).
 * So a sync that is not failed succeeds without syncing (a record's
 * pwritev2 is written without RWF_DSYNC), unless PKV_FAULT_REAL_SYNC=1;
 * the writes themselves are real: the pool file gets its pages only
 * through them.
 */
static bool fault_real_sync;

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fault_hit(FK_PWRITE, __builtin_return_address(0))) {
		errno = EIO;
		return -1;
	}
	return __real_pwrite(fd, buf, n, off);
}

ssize_t __wrap_pwritev2(int fd, const struct iovec *v, int cnt, off_t off,
			int flags)
{
	if (fault_hit(FK_PWRITEV2, __builtin_return_address(0))) {
		errno = EIO;
		return -1;
	}
	return __real_pwritev2(fd, v, cnt, off,
			       fault_real_sync ? flags : flags & ~RWF_DSYNC);
}

int __wrap_sync_file_range(int fd, off64_t off, off64_t n, unsigned flags)
{
	if (fault_hit(FK_SYNC_RANGE, __builtin_return_address(0))) {
		errno = EIO;
		return -1;
	}
	return fault_real_sync ? __real_sync_file_range(fd, off, n, flags) : 0;
}

int __wrap_fdatasync(int fd)
{
	if (fault_hit(FK_FDATASYNC, __builtin_return_address(0))) {
		errno = EIO;
		return -1;
	}
	return fault_real_sync ? __real_fdatasync(fd) : 0;
}

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

/* Shared with the parent, so it can say where a child died. */
static char *g_where;
#define WHERE_LEN 512

/* Failures and notes of the running scenario, by category. */
#define CAT_MAX 48
#define CAT_SHOWN 3             /* messages printed per category ... */
static struct {
	char name[128];
	bool fatal;
	unsigned count;
} g_cat[CAT_MAX];
static unsigned g_ncat;
static unsigned g_failures;

/* set_where -- say what the scenario is doing (before each armed call). */
static void set_where(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void set_where(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g_where, WHERE_LEN, fmt, ap);
	va_end(ap);
}

/* report -- a failure (fatal) or a note in category cat, with details. */
static void report(bool fatal, const char *cat, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report(bool fatal, const char *cat, const char *fmt, ...)
{
	unsigned i;
	va_list ap;

	for (i = 0; i < g_ncat; i++)
		if (strcmp(g_cat[i].name, cat) == 0)
			break;
	if (i == g_ncat && g_ncat < CAT_MAX) {
		snprintf(g_cat[i].name, sizeof(g_cat[i].name), "%s", cat);
		g_cat[i].fatal = fatal;
		g_ncat++;
	}
	if (i < CAT_MAX && g_cat[i].count++ >= CAT_SHOWN && !g_verbose)
		goto count;
	printf("  %s [%s] %s: ", fatal ? "FAIL" : "note", g_where, cat);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
count:
	if (fatal)
		g_failures++;
}

/* exe_off -- an address in the program as an offset for addr2line. */
static unsigned long exe_off(uintptr_t at)
{
	Dl_info info;

	if (dladdr((void *)at, &info) && info.dli_fbase)
		at -= (uintptr_t)info.dli_fbase;
	return (unsigned long)at;
}

/* fired_text -- which call the run failed, for messages: its kind,
 * number, and address in the program (of the call instruction: addr2line
 * -f -i -e tests/test_fault ADDRESS names the line), with its callers
 * when verbose. */
static const char *fired_text(void)
{
	static char buf[512];
	int len;

	if (!fault.fired)
		return "no injected failure";
	len = snprintf(buf, sizeof(buf), "%s call #%lu failed%s, called at "
		       "0x%lx", fault_kinds[fault.fired_kind].name,
		       fault.fired_index,
		       fault.sticky ? " (and every later one)" : "",
		       exe_off(fault.fired_from) - 1);
	/* frame 0 is fault_hit, 1 the wrapper, 2 the call above */
	for (int i = 3; i < fault.fired_depth && len < (int)sizeof(buf) - 24;
	     i++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
				" < 0x%lx",
				exe_off((uintptr_t)fault.fired_stack[i]) - 1);
	return buf;
}

/* Injection points: the eligible calls of the run without a failure. */
struct points {
	unsigned long total;
	unsigned long calls[FK_COUNT];
};

/* points_note -- remember the calls of a clean run (the last of a loop). */
static void points_note(struct points *pt)
{
	pt->total += fault.count;
	for (int k = 0; k < FK_COUNT; k++)
		pt->calls[k] += fault.calls[k];
}

/* points_print -- "57 (calloc 40, realloc 14, ...)". */
static void points_print(const char *what, const struct points *pt)
{
	printf("  %s: %lu injection point%s", what, pt->total,
	       pt->total == 1 ? "" : "s");
	if (pt->total) {
		const char *sep = " (";
		for (int k = 0; k < FK_COUNT; k++)
			if (pt->calls[k]) {
				printf("%s%s %lu", sep, fault_kinds[k].name,
				       pt->calls[k]);
				sep = ", ";
			}
		printf(")");
	}
	putchar('\n');
}

/* ------------------------------------------------------------------ */
/* Files and process state                                             */
/* ------------------------------------------------------------------ */

static char g_dir[256];          /* tests/tmp/test_fault-<pid> */
static char g_dir_abs[PATH_MAX]; /* the same, absolute (for maps) */

/* path_of -- g_dir/name into buf. */
static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", g_dir, name);
}

/* file_exists -- whether path names anything. */
static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* copy_file -- dst becomes a copy of src, with holes where src has
 * zeros (a pool is mostly zeros: this keeps each run cheap); 0 or -1. */
static int copy_file(const char *src, const char *dst)
{
	static char buf[1 << 16];
	static const char zero[1 << 16];
	int in = open(src, O_RDONLY), out;
	off_t size = 0;
	ssize_t got;

	if (in < 0)
		return -1;
	unlink(dst);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((got = read(in, buf, sizeof(buf))) > 0) {
		if (memcmp(buf, zero, (size_t)got) == 0) {
			if (lseek(out, got, SEEK_CUR) < 0)
				break;
		} else if (write(out, buf, (size_t)got) != got) {
			got = -1;
			break;
		}
		size += got;
	}
	if (got == 0 && ftruncate(out, size) != 0)
		got = -1;
	close(in);
	close(out);
	return got < 0 ? -1 : 0;
}

/* What a failed open must leave as it found it. */
struct proc_state {
	int fds;                      /* open file descriptors */
	int pool_maps;                /* mappings of files in g_dir */
	int reserves;                 /* PROT_NONE areas of 1 GiB and more */
};

/* proc_state_get -- count descriptors and mappings. */
static void proc_state_get(struct proc_state *ps)
{
	DIR *d = opendir("/proc/self/fd");
	FILE *f = fopen("/proc/self/maps", "r");
	char line[PATH_MAX + 128];

	memset(ps, 0, sizeof(*ps));
	if (d) {
		for (struct dirent *e; (e = readdir(d));)
			if (e->d_name[0] != '.')
				ps->fds++;
		closedir(d);
		ps->fds--;   /* opendir's own */
	}
	if (!f)
		return;
	ps->fds--;           /* fopen's */
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (strstr(line, g_dir_abs))
			ps->pool_maps++;
		else if (strcmp(perms, "---p") == 0 && hi - lo >= (1ul << 30))
			ps->reserves++;
	}
	fclose(f);
}

/* check_no_leak -- after a failed call: nothing left behind. */
static void check_no_leak(const struct proc_state *before, long allocs)
{
	struct proc_state now;

	proc_state_get(&now);
	if (allocs > 0)
		report(true, "memory leaked by a failed pkv_open",
		       "%ld block(s) allocated during the call are still "
		       "allocated (%s)", allocs, fired_text());
	if (now.fds != before->fds)
		report(true, "file descriptor leaked by a failed pkv_open",
		       "%d descriptors before, %d after (%s)", before->fds,
		       now.fds, fired_text());
	if (now.pool_maps != before->pool_maps)
		report(true, "pool mapping leaked by a failed pkv_open",
		       "%d mappings of the pool before, %d after (%s)",
		       before->pool_maps, now.pool_maps, fired_text());
	/* AddressSanitizer maps large PROT_NONE regions of its own as its
	 * allocator grows, so the count means nothing there; the pool's own
	 * mappings and descriptors are still checked above. */
#if !defined(__SANITIZE_ADDRESS__)
	if (now.reserves != before->reserves)
		report(true, "address space reservation leaked by a failed "
		       "pkv_open", "%d reservations before, %d after (%s)",
		       before->reserves, now.reserves, fired_text());
#endif
}

/* rm_one -- nftw callback of rm_tree. */
static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm_tree -- remove dir and everything in it. */
static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ */
/* The model: what database 0 must hold                                */
/* ------------------------------------------------------------------ */

struct ent {
	bool present;
	unsigned gen;                 /* value version */
	unsigned vlen;
};

struct model {
	unsigned n;                   /* keys 0..n-1 exist in the model */
	unsigned present;
	struct ent e[MODEL_MAX];
};

static char g_got[VAL_MAX], g_exp[VAL_MAX];

/* key_of -- the key of model index idx; its length. */
static size_t key_of(unsigned idx, char *buf)
{
	return (size_t)sprintf(buf, "key:%u", idx);
}

/* value_of -- the value of (idx, gen), vlen bytes, into buf. */
static void value_of(unsigned idx, unsigned gen, unsigned vlen, char *buf)
{
	for (unsigned i = 0; i < vlen; i++)
		buf[i] = (char)('a' + (idx * 7u + gen * 13u + i) % 26u);
}

/* vlen_small -- a value length for (idx, gen): 1..300 bytes. */
static unsigned vlen_small(unsigned idx, unsigned gen)
{
	return 1 + (idx * 2654435761u + gen * 97u) % 300u;
}

/* model_set -- record the state of key idx. */
static void model_set(struct model *m, unsigned idx, bool present,
		      unsigned gen, unsigned vlen)
{
	struct ent *e = &m->e[idx];

	if (idx >= m->n)
		m->n = idx + 1;
	m->present += (unsigned)present - (unsigned)e->present;
	e->present = present;
	e->gen = gen;
	e->vlen = vlen;
}

/* put_plain -- disarmed put of (idx, gen, vlen); 0 or the error. */
static int put_plain(pkv *db, struct model *m, unsigned idx, unsigned gen,
		     unsigned vlen)
{
	char key[32];
	size_t kl = key_of(idx, key);
	int r;

	value_of(idx, gen, vlen, g_exp);
	r = pkv_put(db, 0, key, kl, g_exp, vlen, 0, 0);
	if (r == 0)
		model_set(m, idx, true, gen, vlen);
	else
		report(true, "setup put failed", "key %u: %s", idx,
		       pkv_strerror(r));
	return r;
}

/* observe -- the state of key idx in db (gen is found by comparing
 * against the candidates old and new). */
enum obs { OBS_ABSENT, OBS_OLD, OBS_NEW, OBS_OTHER };

static enum obs observe(pkv *db, unsigned idx, const struct ent *old,
			const struct ent *nw)
{
	char key[32];
	size_t kl = key_of(idx, key), vlen = 0;
	int r = pkv_get(db, 0, key, kl, g_got, sizeof(g_got), &vlen);
	const struct ent *cand[2] = { old, nw };

	if (r == PKV_ENOTFOUND)
		return !old->present ? OBS_OLD : !nw->present ? OBS_NEW
							      : OBS_ABSENT;
	if (r != 0)
		return OBS_OTHER;
	for (int c = 0; c < 2; c++) {
		if (!cand[c]->present || cand[c]->vlen != vlen)
			continue;
		value_of(idx, cand[c]->gen, cand[c]->vlen, g_exp);
		if (memcmp(g_got, g_exp, vlen) == 0)
			return c == 0 ? OBS_OLD : OBS_NEW;
	}
	return OBS_OTHER;
}

/* check_db -- every key of the model in database 0, the key counts, and
 * the heap's volatile state against the pool; when says when. */
static void check_db(pkv *db, const struct model *m, const char *when)
{
	unsigned bad = 0;
	uint64_t keys = 0;
	int64_t vcount;
	struct errmsg em;
	int r;

	for (unsigned idx = 0; idx < m->n; idx++) {
		const struct ent *e = &m->e[idx];
		char key[32];
		size_t kl = key_of(idx, key), vlen = 0;

		r = pkv_get(db, 0, key, kl, g_got, sizeof(g_got), &vlen);
		if (!e->present) {
			if (r != PKV_ENOTFOUND && bad++ < 3)
				report(true, "deleted key is back",
				       "%s: key %u: pkv_get gives %s", when,
				       idx, pkv_strerror(r));
			continue;
		}
		value_of(idx, e->gen, e->vlen, g_exp);
		if (r != 0 || vlen != e->vlen ||
		    memcmp(g_got, g_exp, vlen) != 0) {
			if (bad++ < 3)
				report(true, "lost data",
				       "%s: key %u (version %u, %u bytes): "
				       "pkv_get gives %s, %zu bytes%s", when,
				       idx, e->gen, e->vlen, pkv_strerror(r),
				       vlen, r == 0 ? ", different bytes" : "");
		}
	}
	if (pkv_dbsize(db, 0, &keys, NULL) != 0 || keys != m->present)
		report(true, "wrong key count", "%s: pkv_dbsize says %llu "
		       "keys, the model %u", when, (unsigned long long)keys,
		       m->present);
	vcount = atomic_load(&db->dbs[0].count);
	if (vcount != (int64_t)m->present)
		report(true, "wrong volatile key count", "%s: the volatile "
		       "count of database 0 is %lld, the model %u", when,
		       (long long)vcount, m->present);
	err_clear(&em);
	if ((r = heap_check(db->heap, &em)) != 0)
		report(true, "heap state inconsistent (heap_check)",
		       "%s: %s", when, em.text);
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

struct scen {
	const char *name;
	int (*fn)(const struct scen *);
	const char *backend;          /* PKV_PERSIST */
	unsigned cls;                 /* FC_* to inject */
	bool sticky;
	bool threads;                 /* open without PKV_NOTHREADS */
	bool no_fallocate;
};

/* opts_for -- options of the scenario's opens. */
static void opts_for(const struct scen *s, struct pkv_options *o,
		     unsigned flags, uint64_t size)
{
	pkv_options_init(o);
	o->flags = flags | (s->threads ? 0 : PKV_NOTHREADS);
	o->size = size;
	o->databases = 4;
	o->audit = PKV_AUDIT_NOW;
}

/* arm -- arm for run n of scenario s, tracking allocations. */
static void arm(const struct scen *s, unsigned long n)
{
	fault.no_fallocate = s->no_fallocate;
	track_begin();
	fault_arm(s->cls, n, s->sticky);
}

/* check_code -- the error a failed call returned is one it may return
 * for the failure injected; what the call was. */
static void check_code(const struct scen *s, const char *call, int r)
{
	if (r >= 0) {
		report(true, "bad return value", "%s returned %d", call, r);
		return;
	}
	if (s->cls == FC_ALLOC && r == PKV_EFULL)
		report(false, "out of memory reported as PKV_EFULL",
		       "%s returned PKV_EFULL (\"%s\") when %s", call,
		       pkv_strerror(r), fired_text());
	else if (r == PKV_ECORRUPT || r == PKV_ENOTPOOL ||
		 r == PKV_ECHECKSUM || r == PKV_ETRUNCATED ||
		 r == PKV_EVERSION || r == PKV_EINVAL || r == PKV_EEXIST)
		report(true, "misleading error code",
		       "%s returned %s when %s", call, pkv_strerror(r),
		       fired_text());
}

/*
 * succeeded_over -- a call succeeded although a call under it failed:
 * fine for an allocation it could do without, a failure for a write or sync
 * (the caller is told that data is durable which may not be).
 */
static void succeeded_over(const struct scen *s, const char *call,
			   unsigned long *succeeded)
{
	(*succeeded)++;
	if (s->cls == FC_SYNC)
		report(true, "write or sync failure ignored",
		       "%s returned success although %s (EIO)", call,
		       fired_text());
	else if (g_verbose)
		report(false, "succeeded over an injected failure", "%s (%s)",
		       call, fired_text());
}

/* open_plain -- disarmed open of an existing pool; 0 or the error. */
static int open_plain(const struct scen *s, const char *path, pkv **dbp,
		      const char *why)
{
	struct pkv_options o;
	int r;

	opts_for(s, &o, 0, 0);
	r = pkv_open(path, &o, dbp);
	if (r == PKV_EBUSY)
		report(true, "lock leaked", "%s: pkv_open gives PKV_EBUSY "
		       "(%s)", why, pkv_errmsg(NULL));
	else if (r)
		report(true, "pool does not open", "%s: pkv_open: %s (%s)",
		       why, pkv_strerror(r), pkv_errmsg(NULL));
	return r;
}

/* reopen -- close db and open path again; the new handle or NULL. */
static pkv *reopen(const struct scen *s, pkv *db, const char *path,
		   const char *why)
{
	pkv *ndb = NULL;

	pkv_close(db);
	if (open_plain(s, path, &ndb, why))
		return NULL;
	return ndb;
}

/* fill_base -- put keys 0..n-1 (small values) into an open pool. */
static int fill_base(pkv *db, struct model *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (put_plain(db, m, i, 1, vlen_small(i, 1)))
			return -1;
	return 0;
}

/* loop_end -- shared end of one run of an injection loop: whether the
 * loop is over (no injected failure). */
static bool loop_end(unsigned long n, struct points *pt, const char *what)
{
	if (!fault.fired) {
		points_note(pt);
		return true;
	}
	if (n == N_CAP)
		report(true, "injection loop did not converge",
		       "%s: still failing at N = %d", what, N_CAP);
	return false;
}

/*
 * scen_create -- pkv_open(PKV_CREATE) of a new pool, failing the Nth
 * call: an error, no leak, and a later open of the path works.
 */
static int scen_create(const struct scen *s)
{
	char path[PATH_MAX];
	struct points pt = { 0 };
	unsigned long n, failed = 0, succeeded = 0;

	path_of(path, sizeof(path), "create.pool");
	for (n = 1; n <= N_CAP; n++) {
		struct pkv_options o;
		struct proc_state before;
		pkv *db = NULL;
		long allocs;
		int r;

		unlink(path);
		opts_for(s, &o, PKV_CREATE, 8 * MiB);
		proc_state_get(&before);
		set_where("%s N=%lu", s->name, n);
		arm(s, n);
		r = pkv_open(path, &o, &db);
		fault_disarm();
		allocs = track_end();
		if (r == 0) {
			static const struct model empty;
			if (fault.fired)
				succeeded_over(s, "pkv_open(PKV_CREATE)",
					       &succeeded);
			check_db(db, &empty, "the pool created");
			pkv_close(db);
		} else {
			failed++;
			if (!fault.fired)
				report(true, "spurious failure", "pkv_open: "
				       "%s with no injected failure",
				       pkv_strerror(r));
			check_code(s, "pkv_open(PKV_CREATE)", r);
			if (!pkv_errmsg(NULL)[0])
				report(false, "no error message",
				       "pkv_open failed with %s but "
				       "pkv_errmsg(NULL) is empty",
				       pkv_strerror(r));
			check_no_leak(&before, allocs);
			if (file_exists(path)) {
				/* What was left must be a pool. */
				static const struct model empty;
				report(false, "file left by a failed create",
				       "%s (%s)", path, fired_text());
				if (open_plain(s, path, &db, "the file a "
					       "failed create left") == 0) {
					check_db(db, &empty, "the file a "
						 "failed create left");
					pkv_close(db);
				}
			} else {
				opts_for(s, &o, PKV_CREATE, 8 * MiB);
				r = pkv_open(path, &o, &db);
				if (r)
					report(true, "create fails after a "
					       "failed create", "%s (%s)",
					       pkv_strerror(r),
					       pkv_errmsg(NULL));
				else
					pkv_close(db);
			}
		}
		if (loop_end(n, &pt, "pkv_open(PKV_CREATE)"))
			break;
	}
	unlink(path);
	points_print("pkv_open(PKV_CREATE)", &pt);
	printf("  %lu runs failed with an error, %lu succeeded with an "
	       "injected failure\n", failed, succeeded);
	return 0;
}

/* make_pool -- create path with keys 0..nkeys-1 in database 0 (and,
 * for garbage, keys in database 1 flushed away); closed cleanly unless
 * crash, which leaves it as a killed process would. */
static int make_pool(const struct scen *s, const char *path,
		     struct model *m, unsigned nkeys, bool garbage,
		     bool crash)
{
	struct pkv_options o;
	pid_t pid;
	int status;

	unlink(path);
	memset(m, 0, sizeof(*m));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		pkv *db;
		char key[32];
		opts_for(s, &o, PKV_CREATE, 8 * MiB);
		o.flags |= PKV_NOTHREADS;
		if (pkv_open(path, &o, &db)) {
			fprintf(stderr, "make_pool: %s\n", pkv_errmsg(NULL));
			_exit(1);
		}
		if (fill_base(db, m, nkeys)) {
			fflush(stdout);
			_exit(1);
		}
		for (unsigned i = 0; garbage && i < 200; i++) {
			size_t kl = key_of(i, key);
			value_of(i, 9, 100, g_exp);
			if (pkv_put(db, 1, key, kl, g_exp, 100, 0, 0))
				_exit(1);
		}
		if (garbage && pkv_flushdb(db, 1))
			_exit(1);
		if (crash)
			_exit(0);   /* no close: the pool stays unclean */
		pkv_close(db);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	for (unsigned i = 0; i < nkeys; i++)
		model_set(m, i, true, 1, vlen_small(i, 1));
	return 0;
}

/* stats_allocated -- allocated heap bytes of an open pool. */
static uint64_t stats_allocated(pkv *db)
{
	struct pkv_stats st;

	pkv_stats(db, &st);
	return st.allocated_bytes;
}

/*
 * scen_open -- pkv_open of an existing pool, failing the Nth call: an
 * error, no leak, and the next open finds every key.  With s->... the
 * pool was not shut down cleanly (garbage in it): the open that follows
 * a failed one must still collect it.
 */
static int scen_open_common(const struct scen *s, bool unclean)
{
	static struct model m;
	char base[PATH_MAX], path[PATH_MAX];
	struct points pt = { 0 };
	unsigned long n, failed = 0, succeeded = 0;
	uint64_t ref_alloc = 0;
	pkv *db;

	path_of(base, sizeof(base), "base.pool");
	path_of(path, sizeof(path), "open.pool");
	set_where("%s setup", s->name);
	if (make_pool(s, base, &m, 100, unclean, unclean)) {
		report(true, "setup failed", "cannot make %s", base);
		return 1;
	}
	if (unclean) {
		/* What the recovery collection leaves. */
		if (copy_file(base, path) || open_plain(s, path, &db,
							"reference open"))
			return 1;
		ref_alloc = stats_allocated(db);
		check_db(db, &m, "reference open");
		pkv_close(db);
	}
	for (n = 1; n <= N_CAP; n++) {
		struct pkv_options o;
		struct proc_state before;
		long allocs;
		int r;

		if (copy_file(base, path)) {
			report(true, "setup failed", "cannot copy %s", base);
			return 1;
		}
		opts_for(s, &o, 0, 0);
		proc_state_get(&before);
		set_where("%s N=%lu", s->name, n);
		db = NULL;
		arm(s, n);
		r = pkv_open(path, &o, &db);
		fault_disarm();
		allocs = track_end();
		if (r == 0) {
			if (fault.fired)
				succeeded_over(s, "pkv_open", &succeeded);
		} else {
			failed++;
			if (!fault.fired)
				report(true, "spurious failure", "pkv_open: "
				       "%s with no injected failure",
				       pkv_strerror(r));
			check_code(s, "pkv_open", r);
			check_no_leak(&before, allocs);
			if (open_plain(s, path, &db, "open after a failed "
				       "open"))
				db = NULL;
		}
		if (db) {
			check_db(db, &m, r ? "open after a failed open"
					   : "open with an injected failure");
			if (unclean && stats_allocated(db) != ref_alloc)
				report(true, "garbage of an unclean pool "
				       "never collected",
				       "%s: %llu bytes allocated after the "
				       "next open, %llu after a normal "
				       "recovery: the failed open marked the "
				       "pool clean, so no recovery collection "
				       "ran (%s)",
				       r ? "pkv_open failed" : "pkv_open "
				       "succeeded",
				       (unsigned long long)stats_allocated(db),
				       (unsigned long long)ref_alloc,
				       fired_text());
			pkv_close(db);
		}
		if (loop_end(n, &pt, "pkv_open"))
			break;
	}
	unlink(path);
	unlink(base);
	points_print(unclean ? "pkv_open of an unclean pool" : "pkv_open",
		     &pt);
	printf("  %lu runs failed with an error, %lu succeeded with an "
	       "injected failure\n", failed, succeeded);
	return 0;
}

static int scen_open(const struct scen *s)
{
	return scen_open_common(s, false);
}

static int scen_unclean(const struct scen *s)
{
	return scen_open_common(s, true);
}

/* ---- writes ---- */

enum op_kind { OP_PUT_NEW, OP_PUT_RUN, OP_PUT_OVER, OP_DEL, OP_BATCH,
	       OP_COUNT };
static const char *const op_names[OP_COUNT] = {
	"pkv_put (new key)", "pkv_put (new key, new size class)",
	"pkv_put (overwrite)", "pkv_del", "batch commit (16 operations)",
};

struct change {
	unsigned idx;
	struct ent old, nw;
};

struct opdesc {
	enum op_kind kind;
	unsigned nch;
	struct change ch[BATCH_MAX];
};

static char g_vals[BATCH_MAX][VAL_MAX];

#define BASE_KEYS 250    /* a resize starts at 257 keys in database 0 */
#define OVER_KEYS 100    /* keys 0..99 are overwritten, never deleted */

/* run_class_vlen -- a value length whose entry falls in the kth size
 * class from 4.5 KiB up, none of which the other writes use. */
static unsigned run_class_vlen(unsigned k, unsigned idx)
{
	static size_t classes[64];
	static unsigned nclasses;
	char key[32];

	if (!nclasses)
		for (size_t sz = 4096; sz < 32768 && nclasses < 64;) {
			size_t c = heap_class_size(sz + 1);
			if (c == 0)
				break;
			classes[nclasses++] = c;
			sz = c;
		}
	/* the class's block holds header, entry, key and value */
	return (unsigned)(classes[k % nclasses] - BLOCK_HDR_SIZE -
			  sizeof(struct kv_entry) - key_of(idx, key));
}

/* op_prepare -- choose (and, for deletes, first create) the keys of run
 * n of an operation; disarmed. */
static int op_prepare(pkv *db, struct model *m, enum op_kind kind,
		      unsigned long n, struct opdesc *d)
{
	unsigned puts = 0, overs = 0, dels = 0;

	d->kind = kind;
	d->nch = 0;
	switch (kind) {
	case OP_PUT_NEW:
	case OP_PUT_RUN:
		puts = 1;
		break;
	case OP_PUT_OVER:
		overs = 1;
		break;
	case OP_DEL:
		dels = 1;
		break;
	case OP_BATCH:
		puts = 11;
		overs = 3;
		dels = 2;
		break;
	default:
		break;
	}
	if (m->n + puts + dels >= MODEL_MAX) {
		report(true, "model full", "too many keys");
		return -1;
	}
	for (unsigned i = 0; i < dels; i++) {
		unsigned idx = m->n;
		if (put_plain(db, m, idx, 1, vlen_small(idx, 1)))
			return -1;
		d->ch[d->nch].idx = idx;
		d->ch[d->nch].old = m->e[idx];
		d->ch[d->nch].nw = (struct ent){ false, 0, 0 };
		d->nch++;
	}
	for (unsigned i = 0; i < puts; i++) {
		unsigned idx = m->n + i, vlen;
		vlen = kind == OP_PUT_RUN ? run_class_vlen((unsigned)n, idx)
					  : vlen_small(idx, 1);
		d->ch[d->nch].idx = idx;
		d->ch[d->nch].old = m->e[idx];
		d->ch[d->nch].nw = (struct ent){ true, 1, vlen };
		d->nch++;
	}
	m->n += puts;
	for (unsigned i = 0; i < overs; i++) {
		unsigned idx = (unsigned)((n * 3 + i) % OVER_KEYS);
		unsigned gen = m->e[idx].gen + 1;
		d->ch[d->nch].idx = idx;
		d->ch[d->nch].old = m->e[idx];
		d->ch[d->nch].nw = (struct ent){ true, gen,
						 vlen_small(idx, gen) };
		d->nch++;
	}
	for (unsigned i = 0; i < d->nch; i++)
		if (d->ch[i].nw.present)
			value_of(d->ch[i].idx, d->ch[i].nw.gen,
				 d->ch[i].nw.vlen, g_vals[i]);
	return 0;
}

/* op_run -- carry out the operation (armed); 0 or the error. */
static int op_run(pkv *db, const struct opdesc *d, unsigned long n)
{
	char keys[BATCH_MAX][32];
	size_t kl[BATCH_MAX];
	pkv_batch *b;
	int r = 0;

	/* Keys formatted before: sprintf is no library call, but cheap. */
	for (unsigned i = 0; i < d->nch; i++)
		kl[i] = key_of(d->ch[i].idx, keys[i]);
	if (d->kind != OP_BATCH) {
		const struct change *c = &d->ch[0];
		if (!c->nw.present)
			return pkv_del(db, 0, keys[0], kl[0]);
		return pkv_put(db, 0, keys[0], kl[0], g_vals[0], c->nw.vlen,
			       0, 0);
	}
	if ((r = pkv_batch_begin(db, &b)))
		return r;
	for (unsigned i = 0; i < d->nch; i++) {
		const struct change *c = &d->ch[i];
		r = c->nw.present ? pkv_batch_put(b, 0, keys[i], kl[i],
						  g_vals[i], c->nw.vlen, 0, 0)
				  : pkv_batch_del(b, 0, keys[i], kl[i]);
		/* Half the runs give up at the first error, half commit
		 * anyway (commit must then fail and apply nothing). */
		if (r && n % 2) {
			pkv_batch_abort(b);
			return r;
		}
	}
	return pkv_batch_commit(b, NULL);
}

/* op_check -- after run n: the operation is applied wholly or not at
 * all (wholly if it succeeded); the model follows what happened. */
static void op_check(pkv *db, struct model *m, const struct opdesc *d,
		     int r, unsigned long *applied_on_error)
{
	unsigned nold = 0, nnew = 0, nother = 0;
	enum obs o[BATCH_MAX];

	for (unsigned i = 0; i < d->nch; i++) {
		o[i] = observe(db, d->ch[i].idx, &d->ch[i].old, &d->ch[i].nw);
		nold += o[i] == OBS_OLD;
		nnew += o[i] == OBS_NEW;
		nother += o[i] == OBS_ABSENT || o[i] == OBS_OTHER;
	}
	if (nother)
		report(true, "lost data", "%s %s: %u key(s) hold neither "
		       "their old nor their new value (%s)",
		       op_names[d->kind], r ? "failed" : "succeeded", nother,
		       fired_text());
	else if (r == 0 && nnew != d->nch)
		report(true, "acknowledged write not applied",
		       "%s returned 0 but %u of %u changes are missing (%s)",
		       op_names[d->kind], d->nch - nnew, d->nch,
		       fired_text());
	else if (nold && nnew)
		report(true, "operation half applied",
		       "%s returned %s: %u changes applied, %u not (%s)",
		       op_names[d->kind], pkv_strerror(r), nnew, nold,
		       fired_text());
	else if (r && nnew)
		(*applied_on_error)++;
	/* The model follows what is there now. */
	for (unsigned i = 0; i < d->nch; i++) {
		const struct ent *e = o[i] == OBS_NEW ? &d->ch[i].nw
						      : &d->ch[i].old;
		if (o[i] == OBS_NEW || o[i] == OBS_OLD)
			model_set(m, d->ch[i].idx, e->present, e->gen,
				  e->vlen);
		else
			model_set(m, d->ch[i].idx, false, 0, 0);
	}
}

/*
 * scen_ops -- each write operation with its Nth call failing, on a pool
 * of BASE_KEYS keys; checks after every run and after reopening.
 */
static int scen_ops(const struct scen *s)
{
	static struct model m;
	char path[PATH_MAX];
	struct pkv_options o;
	pkv *db;
	int r;

	path_of(path, sizeof(path), "ops.pool");
	unlink(path);
	memset(&m, 0, sizeof(m));
	opts_for(s, &o, PKV_CREATE, 32 * MiB);
	set_where("%s setup", s->name);
	if ((r = pkv_open(path, &o, &db))) {
		report(true, "setup failed", "pkv_open: %s", pkv_strerror(r));
		return 1;
	}
	if (fill_base(db, &m, BASE_KEYS))
		return 1;
	for (int kind = 0; kind < OP_COUNT; kind++) {
		struct points pt = { 0 };
		unsigned long n, failed = 0, succeeded = 0, applied = 0;
		for (n = 1; n <= N_CAP; n++) {
			static struct opdesc d;
			char when[128];
			if (op_prepare(db, &m, (enum op_kind)kind, n, &d))
				return 1;
			set_where("%s %s N=%lu", s->name, op_names[kind], n);
			arm(s, n);
			r = op_run(db, &d, n);
			fault_disarm();
			track_end();
			if (r) {
				failed++;
				if (!fault.fired)
					report(true, "spurious failure",
					       "%s: %s with no injected "
					       "failure", op_names[kind],
					       pkv_strerror(r));
				check_code(s, op_names[kind], r);
			} else if (fault.fired) {
				succeeded_over(s, op_names[kind], &succeeded);
			}
			op_check(db, &m, &d, r, &applied);
			snprintf(when, sizeof(when), "after %s (%s)",
				 op_names[kind], fired_text());
			check_db(db, &m, when);
			snprintf(when, sizeof(when), "reopened after %s (%s)",
				 op_names[kind], fired_text());
			if (!(db = reopen(s, db, path, when)))
				return 1;
			/* A failed write or sync: from there the library wrote
			 * nothing more (persist_failed), so the file is as a
			 * crash at that moment leaves it, and the reopen may
			 * undo the failed call, wholly, never in part. */
			if (r && s->cls == FC_SYNC) {
				unsigned long undone = 0;
				op_check(db, &m, &d, r, &undone);
			}
			check_db(db, &m, when);
			if (loop_end(n, &pt, op_names[kind]))
				break;
		}
		points_print(op_names[kind], &pt);
		printf("  %lu runs failed with an error (%lu of them applied "
		       "in full), %lu succeeded with an injected failure\n",
		       failed, applied, succeeded);
	}
	pkv_close(db);
	set_where("%s final reopen", s->name);
	if (open_plain(s, path, &db, "final reopen") == 0) {
		check_db(db, &m, "final reopen");
		pkv_close(db);
	}
	unlink(path);
	return 0;
}

/* ---- collection and scans ---- */

struct scan_ctx {
	const struct model *m;
	unsigned char seen[MODEL_MAX];
	unsigned bad;
};

/* scan_visit -- pkv_scan callback: the key is in the model, its value
 * right. */
static int scan_visit(void *vctx, const struct pkv_item *it)
{
	const void *key = it->key, *val = it->val;
	size_t klen = it->klen, vlen = it->vlen;
	int64_t expire_ms = it->expire_ms;
	struct scan_ctx *c = vctx;
	char buf[32];
	unsigned idx;

	(void)expire_ms;
	if (klen >= sizeof(buf)) {
		c->bad++;
		return 0;
	}
	memcpy(buf, key, klen);
	buf[klen] = '\0';
	if (sscanf(buf, "key:%u", &idx) != 1 || idx >= c->m->n ||
	    !c->m->e[idx].present || c->m->e[idx].vlen != vlen) {
		c->bad++;
		return 0;
	}
	value_of(idx, c->m->e[idx].gen, (unsigned)vlen, g_exp);
	if (memcmp(val, g_exp, vlen) != 0)
		c->bad++;
	c->seen[idx] = 1;
	return 0;
}

/* check_scan -- a whole armed scan of database 0 against the model. */
static void check_scan(const struct scen *s, pkv *db, const struct model *m,
		       unsigned long n)
{
	static struct scan_ctx c;
	uint64_t cursor = 0;
	unsigned missing = 0;
	int r = 0;

	memset(&c, 0, sizeof(c));
	c.m = m;
	arm(s, n);
	do {
		r = pkv_scan(db, 0, cursor, 50, scan_visit, &c, &cursor);
	} while (r == 0 && cursor != 0);
	fault_disarm();
	track_end();
	if (r) {
		check_code(s, "pkv_scan", r);
		return;
	}
	for (unsigned i = 0; i < m->n; i++)
		missing += m->e[i].present && !c.seen[i];
	if (missing || c.bad)
		report(true, "scan wrong", "%u keys missed, %u wrong (%s)",
		       missing, c.bad, fired_text());
}

/*
 * scen_gc -- pkv_gc with its Nth call failing, each run with fresh
 * garbage (a flushed database 1); then pkv_scan the same way.
 */
static int scen_gc(const struct scen *s)
{
	static struct model m;
	char path[PATH_MAX], key[32];
	struct pkv_options o;
	struct points pt = { 0 }, spt = { 0 };
	struct pkv_stats st0, st1;
	unsigned long n, failed = 0, succeeded = 0;
	pkv *db;
	int r;

	path_of(path, sizeof(path), "gc.pool");
	unlink(path);
	memset(&m, 0, sizeof(m));
	opts_for(s, &o, PKV_CREATE, 16 * MiB);
	set_where("%s setup", s->name);
	if ((r = pkv_open(path, &o, &db))) {
		report(true, "setup failed", "pkv_open: %s", pkv_strerror(r));
		return 1;
	}
	if (fill_base(db, &m, 300))
		return 1;
	for (n = 1; n <= N_CAP; n++) {
		uint64_t keys1 = 1;
		/* Fresh garbage: 60 keys of database 1, flushed. */
		for (unsigned i = 0; i < 60; i++) {
			size_t kl = key_of(i, key);
			value_of(i, 3, 200, g_exp);
			if ((r = pkv_put(db, 1, key, kl, g_exp, 200, 0, 0)))
				break;
		}
		if (r || (r = pkv_flushdb(db, 1))) {
			report(true, "setup failed", "garbage: %s",
			       pkv_strerror(r));
			return 1;
		}
		set_where("%s pkv_gc N=%lu", s->name, n);
		arm(s, n);
		r = pkv_gc(db);
		fault_disarm();
		track_end();
		if (r) {
			failed++;
			if (!fault.fired)
				report(true, "spurious failure", "pkv_gc: %s "
				       "with no injected failure",
				       pkv_strerror(r));
			check_code(s, "pkv_gc", r);
		} else if (fault.fired) {
			succeeded_over(s, "pkv_gc", &succeeded);
		}
		check_db(db, &m, "after pkv_gc");
		if (pkv_dbsize(db, 1, &keys1, NULL) || keys1)
			report(true, "flushed database not empty",
			       "%llu keys (%s)", (unsigned long long)keys1,
			       fired_text());
		if (fault.fired) {
			/* A failed write-back is sticky (persist_failed):
			 * this handle refuses every later write; reopen. */
			pkv_close(db);
			opts_for(s, &o, 0, 16 * MiB);
			if ((r = pkv_open(path, &o, &db))) {
				report(true, "reopen failed", "pkv_open: %s",
				       pkv_strerror(r));
				return 1;
			}
		}
		if (loop_end(n, &pt, "pkv_gc"))
			break;
	}
	points_print("pkv_gc", &pt);
	printf("  %lu runs failed with an error, %lu succeeded with an "
	       "injected failure\n", failed, succeeded);

	/* The last run succeeded: nothing may be left for another one. */
	pkv_stats(db, &st0);
	set_where("%s second pkv_gc", s->name);
	if ((r = pkv_gc(db)))
		report(true, "pkv_gc fails", "%s", pkv_strerror(r));
	pkv_stats(db, &st1);
	if (st1.gc_reclaimed_blocks != st0.gc_reclaimed_blocks)
		report(true, "garbage left behind by a failed collection",
		       "a second clean pkv_gc still reclaimed %llu blocks",
		       (unsigned long long)(st1.gc_reclaimed_blocks -
					    st0.gc_reclaimed_blocks));

	for (n = 1; n <= N_CAP; n++) {
		set_where("%s pkv_scan N=%lu", s->name, n);
		check_scan(s, db, &m, n);
		if (loop_end(n, &spt, "pkv_scan"))
			break;
	}
	points_print("pkv_scan (a whole scan)", &spt);

	if ((db = reopen(s, db, path, "reopen after pkv_gc"))) {
		check_db(db, &m, "reopen after pkv_gc");
		pkv_close(db);
	}
	unlink(path);
	return 0;
}

/* ------------------------------------------------------------------ */

static const struct scen g_scens[] = {
	{ "create/file/alloc", scen_create, "file", FC_ALLOC, false, false, false },
	{ "create/file/alloc-sticky", scen_create, "file", FC_ALLOC, true, false, false },
	{ "create/file/sys", scen_create, "file", FC_SYS, false, true, false },
	{ "create/file/sys-nofallocate", scen_create, "file", FC_SYS, false, false, true },
	{ "create/file/sync", scen_create, "file", FC_SYNC, false, false, false },
	{ "create/pmem/alloc", scen_create, "pmem", FC_ALLOC, false, false, false },
	{ "create/pmem/sys", scen_create, "pmem", FC_SYS, false, true, false },
	{ "open/file/alloc", scen_open, "file", FC_ALLOC, false, false, false },
	{ "open/file/alloc-sticky", scen_open, "file", FC_ALLOC, true, false, false },
	{ "open/file/sys", scen_open, "file", FC_SYS, false, true, false },
	{ "open/file/sync", scen_open, "file", FC_SYNC, false, false, false },
	{ "open/pmem/alloc", scen_open, "pmem", FC_ALLOC, false, false, false },
	{ "open/pmem/sys", scen_open, "pmem", FC_SYS, false, true, false },
	{ "unclean/file/alloc", scen_unclean, "file", FC_ALLOC, false, false, false },
	{ "unclean/file/sys", scen_unclean, "file", FC_SYS, false, true, false },
	{ "unclean/file/sync", scen_unclean, "file", FC_SYNC, false, false, false },
	{ "unclean/pmem/alloc", scen_unclean, "pmem", FC_ALLOC, false, false, false },
	{ "ops/file/alloc", scen_ops, "file", FC_ALLOC, false, false, false },
	{ "ops/file/alloc-sticky", scen_ops, "file", FC_ALLOC, true, false, false },
	{ "ops/file/sync", scen_ops, "file", FC_SYNC, false, false, false },
	{ "ops/pmem/alloc", scen_ops, "pmem", FC_ALLOC, false, false, false },
	{ "gc-scan/file/alloc", scen_gc, "file", FC_ALLOC, false, false, false },
	{ "gc-scan/file/sync", scen_gc, "file", FC_SYNC, false, false, false },
	{ "gc-scan/pmem/alloc", scen_gc, "pmem", FC_ALLOC, false, false, false },
};

/* run_child -- one scenario in this (child) process; exit status. */
static int run_child(const struct scen *s)
{
	const char *real = getenv("PKV_FAULT_REAL_SYNC");
	const char *verbose = getenv("PKV_FAULT_VERBOSE");
	int rc;

	fault_real_sync = real && strcmp(real, "1") == 0;
	g_verbose = verbose && strcmp(verbose, "1") == 0;
	setenv("PKV_PERSIST", s->backend, 1);
	rc = s->fn(s);
	for (unsigned i = 0; i < g_ncat; i++)
		if (g_cat[i].count > CAT_SHOWN && !g_verbose)
			printf("  %s %s: %u times in all\n",
			       g_cat[i].fatal ? "FAIL" : "note", g_cat[i].name,
			       g_cat[i].count);
	return rc || g_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	unsigned failed = 0, ran = 0;

	g_where = mmap(NULL, WHERE_LEN, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_where == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	snprintf(g_dir, sizeof(g_dir), "tests/tmp/test_fault-%ld",
		 (long)getpid());
	mkdir("tests", 0755);
	mkdir("tests/tmp", 0755);
	if (mkdir(g_dir, 0755) != 0 || !realpath(g_dir, g_dir_abs)) {
		fprintf(stderr, "cannot create %s: %s\n", g_dir,
			strerror(errno));
		return 77;
	}
	for (size_t i = 0; i < sizeof(g_scens) / sizeof(g_scens[0]); i++) {
		const struct scen *s = &g_scens[i];
		int status;
		pid_t pid;

		struct timespec t0, t1;

		if (filter && !strstr(s->name, filter))
			continue;
		ran++;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		printf("%s\n", s->name);
		snprintf(g_where, WHERE_LEN, "%s (start)", s->name);
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			int rc = run_child(s);
			fflush(stdout);
			exit(rc);   /* exit, not _exit: LeakSanitizer runs */
		}
		if (waitpid(pid, &status, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("  (%.1f s)\n", (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		if (WIFSIGNALED(status)) {
			printf("  FAIL CRASH: killed by signal %d (%s) at %s\n",
			       WTERMSIG(status), strsignal(WTERMSIG(status)),
			       g_where);
			failed++;
		} else if (WEXITSTATUS(status) != 0) {
			if (WEXITSTATUS(status) != 1)
				printf("  FAIL: exit status %d at %s\n",
				       WEXITSTATUS(status), g_where);
			printf("  => FAIL\n");
			failed++;
		} else {
			printf("  => ok\n");
		}
		fflush(stdout);
	}
	if (!ran) {
		printf("no scenario matches \"%s\"\n", filter);
		return 77;
	}
	printf("%u of %u scenarios failed\n", failed, ran);
	if (!failed)
		rm_tree(g_dir);
	return failed ? 1 : 0;
}
