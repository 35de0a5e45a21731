/*
 * fuzz_server.c -- libFuzzer target: the RESP parser and command dispatch
 * of pkv-server, on a real pool.
 *
 * The input is a byte stream as a client would send it.  Every whole
 * request is parsed and run through cmd_call on a fake client, as the
 * event loop does (inside a group commit), until the input is used up or
 * a protocol error closes the "connection".  Replies are discarded.  The
 * server must never crash, hang or leak whatever it is sent.
 *
 * Built by tests/fuzz.sh with clang -fsanitize=fuzzer,address,undefined,
 * with the server's sources minus main.c and net.c (stubbed here).
 */
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "keyspace.h"
#include "multi.h"
#include "net.h"
#include "srv.h"

#include "fuzz_det.h"

struct srv srv;

void srv_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

/* srv_rand -- a fixed sequence here, so every run of an input is the
 * same (the server's is seeded from the clock). */
uint64_t srv_rand(uint64_t n)
{
	static uint64_t s = 0x9e3779b97f4a7c15ull;

	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s % n;
}

struct client *net_clients(void)
{
	return NULL;
}

void net_client_output(struct client *c)
{
	(void)c;
}

void net_client_unblocked(struct client *c)
{
	(void)c;
}

void net_client_kill(struct client *c)
{
	c->closing_now = true;
}

static void no_flush(void)
{
	ks_group_end();
	ks_group_begin();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pkv_options o;
	char path[256];

	(void)argc;
	(void)argv;
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	snprintf(path, sizeof(path), "/dev/shm/pkv-fuzz-server-%ld.pool",
		 (long)getpid());
	unlink(path);
	config_defaults(&srv.cfg);
	srv.cfg.proto_max_bulk_len = 1 << 20;
	pkv_options_init(&o);
	o.flags = PKV_CREATE | PKV_NOTHREADS;
	o.size = 32 << 20;
	if (pkv_open(path, &o, &srv.db)) {
		fprintf(stderr, "fuzz_server: %s\n", pkv_errmsg(NULL));
		abort();
	}
	unlink(path);  /* the mapping stays until exit */
	srv.start_ms = pkv_now_ms();
	ks_set_group_flush(no_flush);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_limits lim = {
		.max_bulk = srv.cfg.proto_max_bulk_len,
		.max_args = 1024,
		.max_inline = 64 * 1024,
	};
	struct client c;
	size_t pos = 0;
	int n = 0;

	memset(&c, 0, sizeof(c));
	c.id = 1;
	c.proto = 2;
	c.authed = size > 0 && (data[0] & 1);   /* both paths */
	snprintf(c.addr, sizeof(c.addr), "127.0.0.1:1");
	ks_group_begin();
	while (pos < size && n++ < 256 && !c.close_asap && !c.closing_now &&
	       !c.block.blocked) {   /* a blocked client runs no more */
		char err[256];
		size_t used = 0;
		enum resp_status st = resp_parse(&c.req, (const char *)data + pos,
						 size - pos, &lim, c.authed,
						 &used, err, sizeof(err));
		if (st != RESP_OK)
			break;
		pos += used;
		c.argc = c.req.argc;
		c.argv = c.req.argv;
		cmd_call(&c);
		c.out.len = 0;   /* replies are not checked here */
	}
	ks_group_end();
	srv.shutdown_asap = false;
	multi_client_free(&c);
	blocking_unblock(&c);
	pubsub_client_free(&c);
	resp_req_free(&c.req);
	rbuf_free(&c.out);
	free(c.name);
	free(c.lib_name);
	free(c.lib_ver);
	return 0;
}
