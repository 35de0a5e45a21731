/*
 * testutil.h -- small helpers shared by the cmocka unit tests: scratch
 * directories under the build directory, path joining, whole-file read,
 * write and compare, and removal of a tree.
 *
 * Tests write only below the current working directory (the build
 * directory under `make check` and `make distcheck`), in
 * tests/tmp/<name>-<pid>, so parallel runs never collide.  Every helper
 * fails the current test (through cmocka) instead of returning an error,
 * so a test reads as a list of steps.
 */
#ifndef PKV_TESTUTIL_H
#define PKV_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define TU_PATH_MAX 4096

/* tu_mkdir_p -- create dir and its missing parents; 0 or -errno. */
static inline int tu_mkdir_p(const char *dir)
{
	char tmp[TU_PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* tu_scratch_dir -- make tests/tmp/<name>-<pid> (parents included) and
 * return its malloc'd path; tu_scratch_done removes and frees it. */
static inline char *tu_scratch_dir(const char *name)
{
	char *dir = malloc(TU_PATH_MAX);

	if (dir == NULL) {
		fail_msg("out of memory");
		return NULL;
	}
	snprintf(dir, TU_PATH_MAX, "tests/tmp/%s-%ld", name, (long)getpid());
	if (tu_mkdir_p(dir) != 0)
		fail_msg("cannot create scratch directory %s: %s", dir,
			 strerror(errno));
	return dir;
}

/* tu_join -- dir "/" name, malloc'd. */
static inline char *tu_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *p = malloc(n);

	if (p == NULL) {
		fail_msg("out of memory");
		return NULL;
	}
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static inline int tu_rm_one(const char *path, const struct stat *sb,
			    int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* tu_rm_tree -- remove path and everything below it; 0 or -1. */
static inline int tu_rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* tu_scratch_done -- remove the scratch directory and free its name. */
static inline void tu_scratch_done(char *dir)
{
	if (dir == NULL)
		return;
	assert_int_equal(tu_rm_tree(dir), 0);
	free(dir);
	/* tests/tmp stays: removed between another test's mkdir of it and
	 * of its own directory in it, it failed that test (make clean
	 * removes it) */
}

/* tu_read_file -- read a whole file into a malloc'd buffer (never NULL,
 * even for an empty file); its length goes to *lenp. */
static inline void *tu_read_file(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf;
	size_t done = 0;

	if (fd < 0) {
		fail_msg("open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		fail_msg("fstat %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fail_msg("out of memory");
		return NULL;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n <= 0) {
			fail_msg("read %s: %s", path,
				 n < 0 ? strerror(errno) : "short file");
			return NULL;
		}
		done += (size_t)n;
	}
	close(fd);
	*lenp = done;
	return buf;
}

/* tu_write_file -- create or replace path with len bytes of buf. */
static inline void tu_write_file(const char *path, const void *buf,
				 size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t done = 0;

	if (fd < 0) {
		fail_msg("create %s: %s", path, strerror(errno));
		return;
	}
	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n <= 0) {
			fail_msg("write %s: %s", path, strerror(errno));
			return;
		}
		done += (size_t)n;
	}
	if (close(fd) != 0)
		fail_msg("close %s: %s", path, strerror(errno));
}

/* tu_copy_file -- byte copy of src at dst. */
static inline void tu_copy_file(const char *src, const char *dst)
{
	size_t len;
	void *buf = tu_read_file(src, &len);

	tu_write_file(dst, buf, len);
	free(buf);
}

/* tu_files_equal -- whether two files have the same bytes. */
static inline int tu_files_equal(const char *a, const char *b)
{
	size_t la, lb;
	void *ba = tu_read_file(a, &la);
	void *bb = tu_read_file(b, &lb);
	int eq = la == lb && memcmp(ba, bb, la) == 0;

	free(ba);
	free(bb);
	return eq;
}

/* tu_file_size -- size of path in bytes (fails the test if absent). */
static inline off_t tu_file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	return st.st_size;
}

/* tu_rand -- a small deterministic PRNG (xorshift64*), so failures repeat. */
static inline uint64_t tu_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* PKV_TESTUTIL_H */
