/*
 * cmd_server.c -- server commands: INFO, CONFIG, COMMAND, TIME, SHUTDOWN,
 * LASTSAVE, SAVE/BGSAVE (nothing to do: every write is already durable)
 * and GC (run the pool's garbage collector now).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bgdefrag.h"
#include "blocking.h"
#include "client.h"
#include "cmd.h"
#include "config.h"
#include "keyspace.h"
#include "net.h"
#include "obuf.h"
#include "srv.h"

/* ---- INFO ---- */

static void info_add(struct rbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void info_add(struct rbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		rbuf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n
							      : sizeof(line) - 1);
}

/* human -- bytes as Redis's bytesToHuman. */
static void human(char *buf, size_t len, double n)
{
	if (n < 1024)
		snprintf(buf, len, "%.0fB", n);
	else if (n < 1024.0 * 1024)
		snprintf(buf, len, "%.2fK", n / 1024);
	else if (n < 1024.0 * 1024 * 1024)
		snprintf(buf, len, "%.2fM", n / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.2fG", n / (1024.0 * 1024 * 1024));
}

/* want -- whether section s is asked for. */
static bool want(struct client *c, const char *s, bool in_default)
{
	if (c->argc == 1)
		return in_default;
	for (size_t i = 1; i < c->argc; i++)
		if (arg_is(&c->argv[i], s) || arg_is(&c->argv[i], "all") ||
		    arg_is(&c->argv[i], "everything") ||
		    (in_default && arg_is(&c->argv[i], "default")))
			return true;
	return false;
}

/* INFO [section ...] */
static void cmd_info(struct client *c)
{
	struct rbuf b = { 0 };
	struct bgdefrag_stats dg;
	struct pkv_stats st;
	int64_t now = pkv_now_ms();
	int64_t up = (now - srv.start_ms) / 1000;
	char h1[32], h2[32];

	pkv_stats(srv.db, &st);
	bgdefrag_stats(&dg);
	if (want(c, "server", true)) {
		struct utsname u;
		uname(&u);
		info_add(&b, "# Server\r\nredis_version:7.0.15\r\n"
			 "pkv_version:%s\r\nredis_mode:standalone\r\n"
			 "os:%s %s %s\r\narch_bits:%d\r\nmultiplexing_api:epoll\r\n"
			 "process_id:%ld\r\ntcp_port:%d\r\n"
			 "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\n"
			 "uptime_in_days:%lld\r\nhz:%lld\r\n"
			 "executable:pkv-server\r\nconfig_file:%s\r\n\r\n",
			 pkv_version(), u.sysname, u.release, u.machine,
			 (int)sizeof(void *) * 8, (long)getpid(), srv.cfg.port,
			 (long long)now * 1000, (long long)up,
			 (long long)up / 86400, srv.cfg.hz,
			 srv.config_file ? srv.config_file : "");
	}
	if (want(c, "clients", true)) {
		size_t in, out;
		obuf_recent_max(&in, &out);
		info_add(&b, "# Clients\r\nconnected_clients:%llu\r\n"
			 "maxclients:%lld\r\n"
			 "client_recent_max_input_buffer:%zu\r\n"
			 "client_recent_max_output_buffer:%zu\r\n"
			 "blocked_clients:%llu\r\ntracking_clients:0\r\n\r\n",
			 (unsigned long long)srv.nclients, srv.cfg.maxclients,
			 in, out, (unsigned long long)blocking_count());
	}
	if (want(c, "memory", true)) {
		size_t clients = 0;
		/* every client is normal (obuf.h); O(clients), as INFO is */
		for (struct client *k = net_clients(); k; k = k->next)
			clients += client_mem(k);
		/* As Redis's: the allocator's view (the chunks its runs
		 * and spans hold, against the blocks allocated in them), and
		 * the space the pool file takes on its file system against
		 * the blocks allocated (the file is sparse). */
		uint64_t used = st.allocated_bytes ? st.allocated_bytes : 1;
		uint64_t file = 0;
		struct stat sb;
		if (stat(srv.cfg.pool, &sb) == 0)
			file = (uint64_t)sb.st_blocks * 512;
		human(h1, sizeof(h1), (double)st.allocated_bytes);
		human(h2, sizeof(h2), (double)st.heap_bytes);
		info_add(&b, "# Memory\r\nused_memory:%llu\r\n"
			 "used_memory_human:%s\r\nmaxmemory:%llu\r\n"
			 "maxmemory_human:%s\r\nmaxmemory_policy:noeviction\r\n"
			 "allocator_allocated:%llu\r\nallocator_active:%llu\r\n"
			 "allocator_frag_ratio:%.2f\r\n"
			 "allocator_frag_bytes:%lld\r\n"
			 "used_memory_rss:%llu\r\n"
			 "mem_fragmentation_ratio:%.2f\r\n"
			 "mem_fragmentation_bytes:%lld\r\n"
			 "mem_clients_slaves:0\r\nmem_clients_normal:%zu\r\n"
			 "active_defrag_running:%d\r\n"
			 "\r\n",
			 (unsigned long long)st.allocated_bytes, h1,
			 (unsigned long long)st.heap_bytes, h2,
			 (unsigned long long)st.allocated_bytes,
			 (unsigned long long)st.active_bytes, st.frag_ratio,
			 (long long)st.active_bytes -
			 (long long)st.allocated_bytes,
			 (unsigned long long)file, (double)file / used,
			 (long long)file - (long long)st.allocated_bytes,
			 clients, dg.running);
	}
	if (want(c, "persistence", true))
		info_add(&b, "# Persistence\r\nloading:0\r\n"
			 "async_loading:0\r\nrdb_changes_since_last_save:0\r\n"
			 "rdb_bgsave_in_progress:0\r\nrdb_last_save_time:%lld\r\n"
			 "rdb_last_bgsave_status:ok\r\naof_enabled:0\r\n"
			 "aof_rewrite_in_progress:0\r\n"
			 "pkv_every_write_durable:1\r\n\r\n",
			 (long long)srv.lastsave_s);
	if (want(c, "stats", true)) {
		uint64_t chans, pats;
		pubsub_totals(&chans, &pats);
		info_add(&b, "# Stats\r\ntotal_connections_received:%llu\r\n"
			 "total_commands_processed:%llu\r\n"
			 "total_net_input_bytes:%llu\r\n"
			 "total_net_output_bytes:%llu\r\n"
			 "rejected_connections:%llu\r\nexpired_keys:%llu\r\n"
			 "evicted_keys:0\r\nevicted_clients:0\r\n"
			 "keyspace_hits:%llu\r\n"
			 "keyspace_misses:%llu\r\ntotal_error_replies:%llu\r\n"
			 "client_query_buffer_limit_disconnections:%llu\r\n"
			 "client_output_buffer_limit_disconnections:%llu\r\n"
			 "pubsub_channels:%llu\r\npubsub_patterns:%llu\r\n"
			 "active_defrag_hits:%llu\r\n"
			 "active_defrag_misses:%llu\r\n"
			 "active_defrag_key_hits:%llu\r\n"
			 "active_defrag_key_misses:%llu\r\n"
			 "\r\n",
			 (unsigned long long)srv.total_connections,
			 (unsigned long long)srv.total_commands,
			 (unsigned long long)srv.net_input_bytes,
			 (unsigned long long)srv.net_output_bytes,
			 (unsigned long long)srv.rejected_connections,
			 (unsigned long long)st.expired_keys,
			 (unsigned long long)srv.keyspace_hits,
			 (unsigned long long)srv.keyspace_misses,
			 (unsigned long long)srv.errors_total,
			 (unsigned long long)srv.qbuf_limit_disconnections,
			 (unsigned long long)srv.obuf_limit_disconnections,
			 (unsigned long long)chans, (unsigned long long)pats,
			 (unsigned long long)dg.moved,
			 (unsigned long long)dg.skipped,
			 (unsigned long long)dg.moved,
			 (unsigned long long)dg.skipped);
	}
	if (want(c, "replication", true))
		info_add(&b, "# Replication\r\nrole:master\r\n"
			 "connected_slaves:0\r\n\r\n");
	if (want(c, "cpu", true)) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		info_add(&b, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\n"
			 "used_cpu_user:%ld.%06ld\r\n\r\n",
			 (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
			 (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
	}
	if (want(c, "keyspace", true)) {
		info_add(&b, "# Keyspace\r\n");
		for (unsigned d = 0; d < pkv_databases(srv.db); d++) {
			uint64_t k, x;
			pkv_dbsize(srv.db, d, &k, &x);
			if (k)
				info_add(&b, "db%u:keys=%llu,expires=%llu,"
					 "avg_ttl=0\r\n", d,
					 (unsigned long long)k,
					 (unsigned long long)x);
		}
		info_add(&b, "\r\n");
	}
	if (want(c, "pkv", true)) {
		info_add(&b, "# Pkv\r\npool_file:%s\r\npool_size:%llu\r\n"
			 "heap_bytes:%llu\r\nheap_allocated_bytes:%llu\r\n"
			 "heap_utilization:%.4f\r\npayload_bytes:%llu\r\n"
			 "flushed_bytes:%llu\r\nfences:%llu\r\n"
			 "write_amplification:%.2f\r\n"
			 "clean_shutdown_before_start:%d\r\n"
			 "recovery_time_ms:%.3f\r\n"
			 "recovery_records_replayed:%llu\r\n"
			 "recovery_entries_replayed:%llu\r\n"
			 "open_time_ms:%.3f\r\n",
			 srv.cfg.pool, (unsigned long long)st.pool_size,
			 (unsigned long long)st.heap_bytes,
			 (unsigned long long)st.allocated_bytes,
			 st.utilization, (unsigned long long)st.payload_bytes,
			 (unsigned long long)st.flushed_bytes,
			 (unsigned long long)st.fences,
			 st.write_amplification, st.clean_shutdown,
			 st.recovery_ns / 1e6,
			 (unsigned long long)st.recovery_records,
			 (unsigned long long)st.recovery_entries,
			 srv.open_ns / 1e6);
		info_add(&b, "pool_max_size:%llu\r\npool_headroom:%llu\r\n"
			 "pool_auto_grow:%d\r\n",
			 (unsigned long long)st.pool_max_size,
			 (unsigned long long)st.headroom_bytes,
			 srv.cfg.pool_auto_grow);
		info_add(&b, "backend:%s\r\nbackend_reason:%s\r\n"
			 "commits:%llu\r\nlog_bytes:%llu\r\nsyncs:%llu\r\n"
			 "checkpoints:%llu\r\ncheckpoint_time_ms:%.3f\r\n"
			 "background_checkpoints:%llu\r\n"
			 "log_full_waits:%llu\r\nlog_full_shares:%llu\r\n"
			 "damage_events:%llu\r\n",
			 st.backend, st.backend_why,
			 (unsigned long long)st.commits,
			 (unsigned long long)st.log_bytes,
			 (unsigned long long)st.syncs,
			 (unsigned long long)st.checkpoints,
			 st.checkpoint_ns / 1e6,
			 (unsigned long long)st.background_checkpoints,
			 (unsigned long long)st.ring_waits,
			 (unsigned long long)st.ring_shares,
			 (unsigned long long)st.damage_events);
		if (st.damage_events) {
			char what[256];
			pkv_damage(srv.db, what, sizeof(what));
			info_add(&b, "damage_first:%s\r\n", what);
		}
		info_add(&b, "gc_runs:%llu\r\ngc_last_mark_ms:%.3f\r\n"
			 "gc_last_sweep_ms:%.3f\r\ngc_live_blocks:%llu\r\n"
			 "gc_live_bytes:%llu\r\ngc_reclaimed_blocks:%llu\r\n"
			 "gc_reclaimed_bytes:%llu\r\ngc_reclaim_rate:%.3f\r\n"
			 "gc_max_pause_us:%.1f\r\n\r\n",
			 (unsigned long long)st.gc_runs,
			 st.gc_last_mark_ns / 1e6, st.gc_last_sweep_ns / 1e6,
			 (unsigned long long)st.gc_live_blocks,
			 (unsigned long long)st.gc_live_bytes,
			 (unsigned long long)st.gc_reclaimed_blocks,
			 (unsigned long long)st.gc_reclaimed_bytes,
			 st.gc_reclaim_rate, st.gc_max_pause_ns / 1e3);
	}
	/* drop the last blank line, as Redis does */
	if (b.len >= 2)
		b.len -= 2;
	reply_verbatim(c, b.p ? b.p : "", b.len);
	rbuf_free(&b);
}

/* ---- CONFIG ---- */

struct cfg_out {
	struct client *c;
	struct rbuf pairs;
	unsigned n;
	const char *seen[64];
};

static void cfg_collect(void *ctx, const char *name, const char *value)
{
	struct cfg_out *o = ctx;

	for (unsigned i = 0; i < o->n; i++)
		if (o->seen[i] == name)
			return;   /* matched by two patterns */
	if (o->n < 64)
		o->seen[o->n] = name;
	o->n++;
	resp_bulk(&o->pairs, name, strlen(name));
	resp_bulk(&o->pairs, value, strlen(value));
}

/*
 * config_apply -- what a running server does when CONFIG SET changed an
 * option that acts on the pool: pool-size grows it (it never shrinks: a
 * smaller value is refused and the old one kept), pool-auto-grow turns
 * growth on a full pool on or off.  0, or -1 and a message in err.
 */
static int config_apply(const char *name, char *err, size_t errlen)
{
	struct pkv_open_info oi;

	if (!strcasecmp(name, "pool-auto-grow")) {
		pkv_set_autogrow(srv.db, srv.cfg.pool_auto_grow);
		return 0;
	}
	if (strcasecmp(name, "pool-size"))
		return 0;
	pkv_open_info(srv.db, &oi);
	if (srv.cfg.pool_size < oi.pool_size) {
		snprintf(err, errlen, "CONFIG SET failed (possibly related to "
			 "argument 'pool-size') - the pool is %llu bytes and "
			 "cannot shrink", (unsigned long long)oi.pool_size);
		srv.cfg.pool_size = oi.pool_size;
		return -1;
	}
	if (pkv_grow(srv.db, srv.cfg.pool_size)) {
		snprintf(err, errlen, "CONFIG SET failed (possibly related to "
			 "argument 'pool-size') - %s", pkv_errmsg(srv.db));
		srv.cfg.pool_size = oi.pool_size;
		return -1;
	}
	pkv_open_info(srv.db, &oi);
	srv_log(2, "Pool %s grown to %llu bytes (CONFIG SET pool-size)",
		srv.cfg.pool, (unsigned long long)oi.pool_size);
	srv.cfg.pool_size = oi.pool_size;
	return 0;
}

/* CONFIG GET pattern... | SET name value... | RESETSTAT | REWRITE */
static void cmd_config(struct client *c)
{
	const struct resp_arg *sub = &c->argv[1];
	char err[256], name[128], *value;

	if (arg_is(sub, "GET") && c->argc >= 3) {
		struct cfg_out o = { .c = c };
		struct pkv_open_info oi;
		/* The pool may have grown by itself (pool-auto-grow). */
		pkv_open_info(srv.db, &oi);
		srv.cfg.pool_size = oi.pool_size;
		for (size_t i = 2; i < c->argc; i++) {
			char *pat = strndup(c->argv[i].p, c->argv[i].len);
			if (!pat)
				continue;
			config_get(&srv.cfg, pat, cfg_collect, &o);
			free(pat);
		}
		reply_map(c, o.n);
		reply_raw(c, o.pairs.p ? o.pairs.p : "", o.pairs.len);
		rbuf_free(&o.pairs);
	} else if (arg_is(sub, "SET") && c->argc >= 4 && c->argc % 2 == 0) {
		for (size_t i = 2; i < c->argc; i += 2) {
			snprintf(name, sizeof(name), "%.*s",
				 (int)c->argv[i].len, c->argv[i].p);
			value = strndup(c->argv[i + 1].p, c->argv[i + 1].len);
			if (!value ||
			    config_set(&srv.cfg, name, value, true, err,
				       sizeof(err)) ||
			    config_apply(name, err, sizeof(err))) {
				free(value);
				reply_error(c, "ERR %s", value ? err :
					    "out of memory");
				return;
			}
			free(value);
		}
		reply_ok(c);
	} else if (arg_is(sub, "RESETSTAT") && c->argc == 2) {
		srv.total_commands = srv.total_connections = 0;
		srv.net_input_bytes = srv.net_output_bytes = 0;
		srv.keyspace_hits = srv.keyspace_misses = 0;
		srv.errors_total = srv.rejected_connections = 0;
		srv.qbuf_limit_disconnections = 0;
		srv.obuf_limit_disconnections = 0;
		reply_ok(c);
	} else if (arg_is(sub, "REWRITE") && c->argc == 2) {
		reply_error(c, "ERR CONFIG REWRITE is not supported by "
			    "pkv-server; edit %s instead",
			    srv.config_file ? srv.config_file :
			    "a config file");
	} else {
		static const char *const subs[] = { "get", "set", "resetstat",
						    "rewrite", NULL };
		reply_err_subcmd(c, "config", subs);
	}
}

/* ---- COMMAND ---- */

/* flag_words -- a command's flags as Redis names them. */
static void reply_flags(struct client *c, const struct command *cmd)
{
	const char *w[8];
	int n = 0;

	if (cmd->flags & CMD_WRITE)
		w[n++] = "write";
	if (cmd->flags & CMD_READONLY)
		w[n++] = "readonly";
	if (cmd->flags & CMD_DENYOOM)
		w[n++] = "denyoom";
	if (cmd->flags & CMD_ADMIN)
		w[n++] = "admin";
	if (cmd->flags & CMD_NOAUTH)
		w[n++] = "no_auth";
	if (cmd->flags & CMD_FAST)
		w[n++] = "fast";
	reply_set(c, n);
	for (int i = 0; i < n; i++)
		reply_simple(c, w[i]);
}

/* reply_cmd_info -- Redis 7's ten-element command description. */
static void reply_cmd_info(struct client *c, const struct command *cmd)
{
	reply_array(c, 10);
	reply_cstr(c, cmd->name);
	reply_int(c, cmd->arity);
	reply_flags(c, cmd);
	reply_int(c, cmd->first_key);
	reply_int(c, cmd->last_key);
	reply_int(c, cmd->step);
	reply_set(c, 0);          /* ACL categories */
	reply_set(c, 0);          /* tips */
	reply_array(c, 0);        /* key specs */
	reply_array(c, 0);        /* subcommands */
}

static void all_info(void *ctx, const struct command *cmd)
{
	reply_cmd_info(ctx, cmd);
}

static void all_docs(void *ctx, const struct command *cmd);

/* reply_cmd_docs -- name, then the map of its documentation. */
static void reply_cmd_docs(struct client *c, const struct command *cmd)
{
	reply_cstr(c, cmd->name);
	reply_map(c, 3);
	reply_cstr(c, "summary");
	reply_cstr(c, cmd->summary ? cmd->summary : "");
	reply_cstr(c, "since");
	reply_cstr(c, cmd->since ? cmd->since : "1.0.0");
	reply_cstr(c, "group");
	reply_cstr(c, cmd->group ? cmd->group : "generic");
}

static void all_docs(void *ctx, const struct command *cmd)
{
	reply_cmd_docs(ctx, cmd);
}

static void all_names(void *ctx, const struct command *cmd)
{
	reply_cstr(ctx, cmd->name);
}

/* COMMAND [COUNT | INFO name... | DOCS [name...] | LIST] */
static void cmd_command(struct client *c)
{
	if (c->argc == 1) {
		reply_array(c, cmd_count());
		cmd_foreach(all_info, c);
	} else if (arg_is(&c->argv[1], "COUNT") && c->argc == 2) {
		reply_int(c, cmd_count());
	} else if (arg_is(&c->argv[1], "LIST") && c->argc == 2) {
		reply_array(c, cmd_count());
		cmd_foreach(all_names, c);
	} else if (arg_is(&c->argv[1], "INFO")) {
		if (c->argc == 2) {
			reply_array(c, cmd_count());
			cmd_foreach(all_info, c);
			return;
		}
		reply_array(c, (int64_t)c->argc - 2);
		for (size_t i = 2; i < c->argc; i++) {
			const struct command *cmd = cmd_lookup(c->argv[i].p,
							       c->argv[i].len);
			if (cmd)
				reply_cmd_info(c, cmd);
			else
				reply_null_array(c);
		}
	} else if (arg_is(&c->argv[1], "DOCS")) {
		if (c->argc == 2) {
			reply_map(c, cmd_count());
			cmd_foreach(all_docs, c);
			return;
		}
		unsigned n = 0;
		for (size_t i = 2; i < c->argc; i++)
			n += cmd_lookup(c->argv[i].p, c->argv[i].len) != NULL;
		reply_map(c, n);
		for (size_t i = 2; i < c->argc; i++) {
			const struct command *cmd = cmd_lookup(c->argv[i].p,
							       c->argv[i].len);
			if (cmd)
				reply_cmd_docs(c, cmd);
		}
	} else {
		static const char *const subs[] = { "count", "list", "info",
						    "docs", NULL };
		reply_err_subcmd(c, "command", subs);
	}
}

/* ---- the rest ---- */

/* TIME */
static void cmd_time(struct client *c)
{
	struct timeval tv;
	char a[32], b[32];

	gettimeofday(&tv, NULL);
	snprintf(a, sizeof(a), "%ld", (long)tv.tv_sec);
	snprintf(b, sizeof(b), "%ld", (long)tv.tv_usec);
	reply_array(c, 2);
	reply_cstr(c, a);
	reply_cstr(c, b);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] -- stop cleanly; there is
 * nothing to save. */
static void cmd_shutdown(struct client *c)
{
	if (c->in_multi) {
		c->multi_error = true;   /* EXEC will abort, as in Redis */
		reply_error(c, "ERR Command not allowed inside a transaction");
		return;
	}
	for (size_t i = 1; i < c->argc; i++) {
		if (arg_is(&c->argv[i], "ABORT")) {
			reply_error(c, "ERR No shutdown in progress.");
			return;
		}
		if (!arg_is(&c->argv[i], "NOSAVE") &&
		    !arg_is(&c->argv[i], "SAVE") &&
		    !arg_is(&c->argv[i], "NOW") &&
		    !arg_is(&c->argv[i], "FORCE")) {
			reply_err_syntax(c);
			return;
		}
	}
	srv_log(3, "User requested shutdown...");
	srv.shutdown_asap = true;
	c->closing_now = true;    /* Redis sends no reply */
}

/* LASTSAVE -- every write is saved as it happens. */
static void cmd_lastsave(struct client *c)
{
	reply_int(c, srv.lastsave_s);
}

/* SAVE, BGSAVE -- nothing to do. */
static void cmd_save(struct client *c)
{
	reply_ok(c);
}

static void cmd_bgsave(struct client *c)
{
	reply_simple(c, "Background saving started");
}

/* GC -- collect the pool's garbage now; replies with what it did. */
static void cmd_gc(struct client *c)
{
	struct pkv_stats st;
	char buf[256];
	int err;

	if (c->in_multi) {
		/* it would commit the commands of EXEC before it apart from
		 * those after it */
		c->multi_error = true;   /* EXEC will abort */
		reply_error(c, "ERR Command not allowed inside a transaction");
		return;
	}
	if ((err = ks_gc())) {
		reply_err_kv(c, err);
		return;
	}
	pkv_stats(srv.db, &st);
	snprintf(buf, sizeof(buf), "live_blocks=%llu reclaimed_total=%llu "
		 "mark_ms=%.3f sweep_ms=%.3f",
		 (unsigned long long)st.gc_live_blocks,
		 (unsigned long long)st.gc_reclaimed_blocks,
		 st.gc_last_mark_ns / 1e6, st.gc_last_sweep_ns / 1e6);
	reply_simple(c, buf);
}

/*
 * MEMORY USAGE|PURGE|HELP -- USAGE answers pkv_memory_usage (nil for a
 * missing key).  PURGE starts a defragmentation of the pool in the
 * background (pkv_defrag: keys move out of sparse runs, which go back to
 * the free chunks for values of any size) and answers OK at once, as
 * Redis's purge of its allocator's pages; INFO memory says while it runs
 * and INFO stats what it moved.
 */
static void cmd_memory(struct client *c)
{
	const struct resp_arg *sub = &c->argv[1];

	if (arg_is(sub, "purge") && c->argc == 2) {
		if (bgdefrag_start())
			reply_ok(c);
		else
			reply_error(c, "ERR could not start the "
				    "defragmentation (no thread)");
	} else if (arg_is(sub, "usage") && (c->argc == 3 || c->argc == 5)) {
		long long samples;
		uint64_t bytes;
		int err;
		if (c->argc == 5 && !arg_is(&c->argv[3], "samples")) {
			reply_error(c, "ERR syntax error");
			return;
		}
		if (c->argc == 5 && !arg_ll(&c->argv[4], &samples)) {
			reply_error(c, "ERR value is not an integer or out of "
				    "range");
			return;
		}
		/* every element is counted: SAMPLES changes nothing */
		err = ks_memory_usage(c->db, &c->argv[2], c->in_exec,
				      &bytes);
		if (err == PKV_ENOTFOUND)
			reply_null(c);
		else if (err)
			reply_err_kv(c, err);
		else
			reply_int(c, (int64_t)bytes);
	} else if (arg_is(sub, "help") && c->argc == 2) {
		static const char *const help[] = {
			"MEMORY <subcommand> [<arg> [value] [opt] ...]. "
			"Subcommands are:",
			"USAGE <key> [SAMPLES <count>]",
			"    Return the pool bytes a key and its value take (every",
			"    element of a collection counted: SAMPLES is accepted",
			"    and changes nothing).",
			"PURGE",
			"    Move keys out of sparse runs of the pool, in the "
			"background, so that",
			"    their space serves values of any size.",
			"HELP",
			"    Prints this help.",
		};
		reply_help(c, help, sizeof(help) / sizeof(*help));
	} else {
		static const char *const subs[] = { "purge", "usage", "help",
						    NULL };
		reply_err_subcmd(c, "memory", subs);
	}
}

const struct command server_commands[] = {
	{ "info", -1, 0, 0, 0, 0, cmd_info, "server", "1.0.0",
	  "Returns information and statistics about the server." },
	{ "config", -2, CMD_ADMIN, 0, 0, 0, cmd_config, "server", "2.0.0",
	  "A container for server configuration commands." },
	{ "command", -1, 0, 0, 0, 0, cmd_command, "server", "2.8.13",
	  "Returns detailed information about all commands." },
	{ "time", 1, CMD_FAST, 0, 0, 0, cmd_time, "server", "2.6.0",
	  "Returns the server time." },
	{ "shutdown", -1, CMD_ADMIN | CMD_NOMULTI, 0, 0, 0, cmd_shutdown,
	  "server", "1.0.0", "Stops the server (every write is already "
	  "durable)." },
	{ "lastsave", 1, CMD_FAST, 0, 0, 0, cmd_lastsave, "server", "1.0.0",
	  "Returns the Unix timestamp of the last save to disk." },
	{ "save", 1, CMD_ADMIN, 0, 0, 0, cmd_save, "server", "1.0.0",
	  "Does nothing: every write is already durable." },
	{ "bgsave", -1, CMD_ADMIN, 0, 0, 0, cmd_bgsave, "server", "1.0.0",
	  "Does nothing: every write is already durable." },
	{ "memory", -2, 0, 0, 0, 0, cmd_memory, "server", "4.0.0",
	  "A container for memory diagnostics commands." },
	{ "gc", 1, CMD_ADMIN | CMD_NOMULTI, 0, 0, 0, cmd_gc, "server", "0.1.0",
	  "Runs the pool's garbage collector now (pkv)." },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};
