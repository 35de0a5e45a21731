/*
 * hist.c -- a log-bucket latency histogram in the manner of HdrHistogram.
 *
 * A sample v lands in the bucket named by its highest set bit and the
 * HIST_SUB_BITS bits below it, so every bucket spans at most 1/16 of its
 * lower bound: a percentile read back is within 6.25% of the true value,
 * whatever the range (nanoseconds to seconds), with a fixed 8 KiB table
 * and O(1) recording.  Values below 2^HIST_SUB_BITS get a bucket each.
 */
#include "config.h"

#include <string.h>

#include "pkvbench.h"

/* hist_index -- the bucket of v. */
static unsigned hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < (1u << HIST_SUB_BITS))
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return ((shift + 1) << HIST_SUB_BITS) |
	       (unsigned)((v >> shift) & ((1u << HIST_SUB_BITS) - 1));
}

/* hist_low -- the smallest value of bucket i. */
static double hist_low(unsigned i)
{
	unsigned hi = i >> HIST_SUB_BITS, sub = i & ((1u << HIST_SUB_BITS) - 1);

	if (hi == 0)
		return sub;
	return ldexp((double)((1u << HIST_SUB_BITS) | sub), (int)hi - 1);
}

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist_add(struct hist *h, uint64_t ns)
{
	h->b[hist_index(ns)]++;
	h->count++;
	h->sum += ns;
	if (ns > h->max)
		h->max = ns;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->count += from->count;
	into->sum += from->sum;
	if (from->max > into->max)
		into->max = from->max;
}

/* hist_pct -- the middle of the bucket holding the q-th sample. */
double hist_pct(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return NAN;
	want = (uint64_t)ceil(q * (double)h->count);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			double lo = hist_low(i), hi = hist_low(i + 1);
			double mid = (lo + hi) / 2;
			return mid > (double)h->max ? (double)h->max : mid;
		}
	}
	return (double)h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : NAN;
}

void hist_fill(const struct hist *h, struct result *r)
{
	r->mean_ns = hist_mean(h);
	r->p50_ns = hist_pct(h, 0.50);
	r->p99_ns = hist_pct(h, 0.99);
	r->p999_ns = hist_pct(h, 0.999);
	r->max_ns = h->count ? (double)h->max : NAN;
}
