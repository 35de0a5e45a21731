/*
 * fuzz_resp.c -- libFuzzer target: the protocol library's value reader
 * (lib/proto/resp.c), the parser pkv import and pkvbench read with.
 *
 * The input's first byte chooses the mode (bit 7: command stream) and a
 * piece size (1 to 8 bytes); the rest is read twice, once fed whole and
 * once fed in pieces of that size with a read after each.  Both readings
 * must give the same values, byte for byte, and stop the same way (the
 * same error at the same offset, or the same bytes left over): the
 * reader claims to resume at any byte.  It must never crash, hang, or
 * leak, whatever it is fed.
 *
 * Built by tests/fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/resp.h"

#include "fuzz_det.h"       /* fuzz.sh links every target with its wraps */

/* One reading: what the values were and how it stopped. */
struct reading {
	struct rbuf digest;           /* every node of every value */
	int stop;                     /* 0, or the error */
	uint64_t err_at;
	size_t pending;
};

/* digest -- append the nodes of one value. */
static void digest(struct rbuf *d, const struct resp_node *v, size_t n)
{
	rbuf_append(d, &n, sizeof(n));
	for (size_t i = 0; i < n; i++) {
		rbuf_append(d, &v[i].type, sizeof(v[i].type));
		rbuf_append(d, &v[i].n, sizeof(v[i].n));
		rbuf_append(d, &v[i].len, sizeof(v[i].len));
		if (v[i].p)
			rbuf_append(d, v[i].p, v[i].len);
	}
}

/* drain -- read every whole value the reader holds; false once it has
 * stopped on an error. */
static bool drain(struct resp_reader *r, struct reading *out)
{
	const struct resp_node *v;
	size_t n;
	int rc;

	while ((rc = resp_reader_next(r, &v, &n)) == 1)
		digest(&out->digest, v, n);
	if (rc < 0) {
		out->stop = rc;
		out->err_at = r->err_at;
		return false;
	}
	return true;
}

/* read_all -- data fed in pieces of step bytes (all of it if 0). */
static void read_all(const uint8_t *data, size_t size, size_t step,
		     const struct resp_reader_limits *lim, struct reading *out)
{
	struct resp_reader r;

	memset(out, 0, sizeof(*out));
	if (resp_reader_init(&r, lim))
		abort();
	for (size_t at = 0; at < size || size == 0;) {
		size_t k = step && size - at > step ? step : size - at;

		if (resp_reader_feed(&r, data + at, k))
			abort();
		at += k;
		if (!drain(&r, out) || size == 0)
			break;
	}
	out->pending = out->stop ? 0 : resp_reader_pending(&r);
	resp_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_reader_limits lim;
	struct reading whole, pieces;

	if (size < 1)
		return 0;
	resp_reader_defaults(&lim);
	lim.commands = data[0] & 0x80;
	lim.max_depth = 8;
	lim.max_bulk = 4096;
	lim.max_elements = 1024;
	lim.max_line = 256;
	read_all(data + 1, size - 1, 0, &lim, &whole);
	read_all(data + 1, size - 1, (data[0] & 7) + 1, &lim, &pieces);
	if (whole.digest.nomem || pieces.digest.nomem)
		abort();
	if (whole.digest.len != pieces.digest.len ||
	    (whole.digest.len &&
	     memcmp(whole.digest.p, pieces.digest.p, whole.digest.len)) ||
	    whole.stop != pieces.stop || whole.err_at != pieces.err_at ||
	    whole.pending != pieces.pending)
		abort();              /* resuming changed the answer */
	rbuf_free(&whole.digest);
	rbuf_free(&pieces.digest);
	return 0;
}
