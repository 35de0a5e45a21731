/*
 * fuzz_det.h -- what makes a fuzz target deterministic: tests/fuzz.sh
 * links the targets with --wrap=getrandom,--wrap=clock_gettime,--wrap=time,
 * so the library's random bytes (pool UUIDs, hash keys) come from a fixed
 * stream and its clocks tick by one microsecond per reading from a fixed
 * date.  The same input then takes the same path in every run, which a
 * fixed-seed fuzz run in CI needs to give the same answer every time.
 * Included by exactly one file of each target.
 */
#ifndef PKV_FUZZ_DET_H
#define PKV_FUZZ_DET_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts);
time_t __wrap_time(time_t *t);

/* fuzz_det_us -- the fake clock: microseconds since the epoch. */
static long long fuzz_det_us = 1767225600000000ll;   /* 2026-01-01 */

ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags)
{
	unsigned char *p = buf;

	(void)flags;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 131 + 7);
	return (ssize_t)len;
}

int __wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
	(void)id;
	fuzz_det_us++;
	ts->tv_sec = (time_t)(fuzz_det_us / 1000000);
	ts->tv_nsec = (long)(fuzz_det_us % 1000000) * 1000;
	return 0;
}

time_t __wrap_time(time_t *t)
{
	time_t now = (time_t)(++fuzz_det_us / 1000000);

	if (t)
		*t = now;
	return now;
}

#endif /* PKV_FUZZ_DET_H */
