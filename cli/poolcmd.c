/*
 * poolcmd.c -- the subcommands about a pool as a whole: create, grow,
 * compact, info, gc.
 *
 * create makes a key-value pool through pkv_open, so it gets what every
 * pool the library creates gets (the log geometry of its backend and
 * size, and the key-value root with its databases).  info reads the
 * pool through a private image (access.h) and changes nothing; to report
 * how much garbage a collection would reclaim it runs that collection on
 * the image, where its frees land in private pages only.  gc collects
 * for real.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "access.h"
#include "cmds.h"
#include "json.h"
#include "progress.h"
#include "util.h"

/* cmd_create -- "pkv create POOL --size SIZE [--max-size SIZE]
 * [--databases N]". */
int cmd_create(int argc, char **argv)
{
	const char *path = NULL, *size_arg = NULL, *dbs_arg = NULL, *v;
	const char *max_arg = NULL;
	struct pkv_options o;
	struct access a;
	struct errmsg em;
	uint64_t size, max = 0, ndbs = 16;
	char hbuf[32];
	int err, m;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if ((m = cli_optval(argc, argv, &i, "--size", "-s", "create",
				    &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			size_arg = v;
		} else if ((m = cli_optval(argc, argv, &i, "--max-size", NULL,
					   "create", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			max_arg = v;
		} else if ((m = cli_optval(argc, argv, &i, "--databases", NULL,
					   "create", &v)) != 0) {
			if (m < 0)
				return EXIT_USAGE;
			dbs_arg = v;
		} else if (cli_is_option(arg)) {
			return cli_usage_error("create: unknown option '%s'",
					       arg);
		} else if (path == NULL) {
			path = arg;
		} else {
			return cli_usage_error("create: unexpected argument "
					       "'%s'", arg);
		}
	}
	if (path == NULL)
		return cli_usage_error("create: missing POOL argument");
	if (size_arg == NULL)
		return cli_usage_error("create: missing --size SIZE");
	if (cli_parse_size(size_arg, &size) != 0 || size == 0)
		return cli_usage_error("create: invalid size '%s' (examples: "
				       "64M, 1G, 8388608)", size_arg);
	if (max_arg && (cli_parse_size(max_arg, &max) != 0 || max < size))
		return cli_usage_error("create: invalid --max-size '%s' (at "
				       "least the size)", max_arg);
	if (dbs_arg && (cli_parse_u64(dbs_arg, &ndbs) != 0 || ndbs == 0 ||
			ndbs > KV_MAX_DBS))
		return cli_usage_error("create: invalid --databases '%s' (1 to "
				       "%u)", dbs_arg, KV_MAX_DBS);

	pkv_options_init(&o);
	o.flags = PKV_CREATE | PKV_EXCL;
	o.size = size;
	o.max_size = max;
	o.databases = (unsigned)ndbs;
	err_clear(&em);
	if ((err = access_write(&a, path, &o, &em)))
		return cli_fail_path(path, err, em.text);
	{
		struct pkv_stats st;
		char mbuf[32];
		pkv_stats(a.db, &st);
		printf("%s: created pool of %" PRIu64 " bytes (%s), %u "
		       "databases; it may grow to %s\n", path, size,
		       cli_human_size(size, hbuf, sizeof(hbuf)),
		       pkv_databases(a.db),
		       cli_human_size(st.pool_max_size, mbuf, sizeof(mbuf)));
	}
	access_close(&a);
	return 0;
}

/* cmd_grow -- "pkv grow POOL SIZE": the pool at least SIZE bytes. */
int cmd_grow(int argc, char **argv)
{
	const char *path = NULL, *size_arg = NULL;
	struct pkv_stats before, after;
	struct access a;
	uint64_t size;
	char b1[32], b2[32];
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (cli_is_option(arg))
			return cli_usage_error("grow: unknown option '%s'",
					       arg);
		else if (path == NULL)
			path = arg;
		else if (size_arg == NULL)
			size_arg = arg;
		else
			return cli_usage_error("grow: unexpected argument "
					       "'%s'", arg);
	}
	if (path == NULL || size_arg == NULL)
		return cli_usage_error("grow: usage: grow POOL SIZE");
	if (cli_parse_size(size_arg, &size) != 0 || size == 0)
		return cli_usage_error("grow: invalid size '%s' (examples: "
				       "64M, 1G, 8388608)", size_arg);
	if ((rc = access_open_cmd(&a, path, true, 0)) != 0)
		return rc;
	pkv_stats(a.db, &before);
	if (pkv_grow(a.db, size)) {
		cli_fail("%s", pkv_errmsg(a.db));
		access_close(&a);
		return EXIT_FAILURE;
	}
	pkv_stats(a.db, &after);
	if (after.pool_size == before.pool_size)
		printf("%s: already %" PRIu64 " bytes (%s); pools do not "
		       "shrink\n", path, after.pool_size,
		       cli_human_size(after.pool_size, b1, sizeof(b1)));
	else
		printf("%s: grown from %" PRIu64 " to %" PRIu64 " bytes (%s; "
		       "at most %s)\n", path, before.pool_size,
		       after.pool_size,
		       cli_human_size(after.pool_size, b1, sizeof(b1)),
		       cli_human_size(after.pool_max_size, b2, sizeof(b2)));
	access_close(&a);
	return 0;
}

/* compact_sync_dir -- make a rename in path's directory durable. */
static int compact_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

/* compact_keys -- keys over every database of an open pool. */
static uint64_t compact_keys(pkv *db)
{
	uint64_t total = 0, k;

	for (unsigned d = 0; d < pkv_databases(db); d++)
		if (pkv_dbsize(db, d, &k, NULL) == 0)
			total += k;
	return total;
}

/*
 * cmd_compact -- "pkv compact POOL": the pool rewritten as small as its
 * keys allow.  Every key (all types, expiries, databases) is exported
 * to POOL.compact.resp, imported into a new pool POOL.compact made for
 * what the old one holds (growing as needed, up to the same maximum),
 * whose free chunks at the end are then given back; the new file replaces
 * the old with rename(2) only once it is complete and synced, so a crash
 * or a failure at any point leaves the old pool as it was.  The pool
 * stays locked (shared) throughout: no server can open it meanwhile.
 */
int cmd_compact(int argc, char **argv)
{
	const char *path = NULL;
	char tmp[4096], resp[4096], b1[32], b2[32];
	struct access old, nw;
	struct pkv_options o;
	struct heap_stats hs;
	struct errmsg em;
	uint64_t old_size, old_keys, max, est, new_size, new_keys;
	int rc, fd, err;

	for (int i = 1; i < argc; i++) {
		if (cli_is_option(argv[i]))
			return cli_usage_error("compact: unknown option '%s'",
					       argv[i]);
		if (path != NULL)
			return cli_usage_error("compact: unexpected argument "
					       "'%s'", argv[i]);
		path = argv[i];
	}
	if (path == NULL)
		return cli_usage_error("compact: missing POOL argument");
	if (snprintf(tmp, sizeof(tmp), "%s.compact", path) >=
	    (int)sizeof(tmp) ||
	    snprintf(resp, sizeof(resp), "%s.compact.resp", path) >=
	    (int)sizeof(resp))
		return cli_fail("%s: path too long", path);
	if (access(tmp, F_OK) == 0 || access(resp, F_OK) == 0)
		return cli_fail("%s or %s exists (left by an interrupted "
				"compact?): remove it first", tmp, resp);

	/* The old pool, held shared until the end. */
	if ((rc = access_open_cmd(&old, path, false, ACCESS_ENGINE_TOO)) != 0)
		return rc;
	old_size = old.pool->size;
	max = pool_max_size(old.pool);
	old_keys = compact_keys(old.db);
	heap_get_stats(old.heap, &hs);

	{
		char *eargv[] = { "export", (char *)path, "-o", resp, NULL };
		if ((rc = cmd_export(4, eargv)) != 0)
			goto fail;
	}
	/*
	 * The new pool's size at create is what it holds plus its own
	 * metadata (logs and chunk table, which depend on that size): a
	 * pool never shrinks below its size at create.  Made again, once or
	 * twice, until the metadata is known; the import grows it if the
	 * blocks need more.
	 */
	est = hs.allocated_bytes;
	for (int round = 0;; round++) {
		uint64_t need;
		if (est < POOL_MIN_SIZE)
			est = POOL_MIN_SIZE;
		pkv_options_init(&o);
		o.flags = PKV_CREATE | PKV_EXCL;
		o.size = est;
		o.max_size = max > est ? max : est;
		o.databases = pkv_databases(old.db);
		err_clear(&em);
		if ((err = access_write(&nw, tmp, &o, &em))) {
			rc = cli_fail_path(tmp, err, em.text);
			goto fail;
		}
		need = hs.allocated_bytes + nw.pool->hdr->chunks_off;
		access_close(&nw);
		if (need <= est || round == 2)
			break;
		unlink(tmp);
		est = need;
	}
	if ((fd = open(resp, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = cli_fail("%s: %s", resp, strerror(errno));
		goto fail;
	}
	rc = import_stream(tmp, fd, 0, ACCESS_AUTOGROW);
	close(fd);
	if (rc != 0)
		goto fail;
	if ((rc = access_open_cmd(&nw, tmp, true, 0)) != 0)
		goto fail;
	new_keys = compact_keys(nw.db);
	err_clear(&em);
	if ((err = heap_shrink(nw.heap, &em)) != 0) {
		access_close(&nw);
		rc = cli_fail_path(tmp, err, em.text);
		goto fail;
	}
	new_size = nw.pool->size;
	access_close(&nw);
	/* Keys that expired meanwhile are the only ones allowed to go. */
	if (new_keys > old_keys) {
		rc = cli_fail("%s: the copy has %" PRIu64 " keys, the pool %"
			      PRIu64 ": left as it was", path, new_keys,
			      old_keys);
		goto fail;
	}
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		rc = cli_fail("%s: cannot sync: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		rc = cli_fail("%s: cannot replace it with %s: %s", path, tmp,
			      strerror(errno));
		goto fail;
	}
	if (compact_sync_dir(path) != 0)
		cli_fail("%s: the directory could not be synced: %s", path,
			 strerror(errno));
	unlink(resp);
	access_close(&old);
	printf("%s: compacted from %" PRIu64 " bytes (%s) to %" PRIu64
	       " (%s), %" PRIu64 " keys\n", path, old_size,
	       cli_human_size(old_size, b1, sizeof(b1)), new_size,
	       cli_human_size(new_size, b2, sizeof(b2)), new_keys);
	return 0;
fail:
	unlink(tmp);
	unlink(resp);
	access_close(&old);
	return rc ? rc : EXIT_FAILURE;
}

/* uuid_text -- a 16-byte UUID as 8-4-4-4-12 lower-case hex. */
static const char *uuid_text(const uint8_t uuid[16], char buf[37])
{
	char *p = buf;

	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", uuid[i]);
	}
	*p = '\0';
	return buf;
}

/* The value types info counts, by PKV_TYPE_*, and their names. */
#define INFO_TYPES 5
static const char *const info_type_names[INFO_TYPES] = {
	"strings", "hashes", "lists", "sets", "sorted_sets"
};

/* Everything info shows. */
struct info {
	const char *path;
	const struct pool_hdr *hdr;
	uint64_t size, max_size;      /* in use now, and the most it may
					 grow to */
	bool clean;
	struct redo_recovery_stats rs;
	struct heap_stats hs;
	unsigned ndbs;
	uint64_t keys[KV_MAX_DBS], expires[KV_MAX_DBS];
	uint64_t total_keys, total_expires;
	uint64_t types[INFO_TYPES];   /* keys of each PKV_TYPE_* */
	bool gc_done;                 /* the collection ran on the image */
	struct pkv_stats gc;          /* its figures */
};

/* info_count_type -- pkv_scan callback: count the key's type (live keys
 * only: the scan skips expired ones). */
static int info_count_type(void *ctx, const struct pkv_item *it)
{
	uint64_t *types = ctx;

	if (it->type < INFO_TYPES)
		types[it->type]++;
	return 0;
}

/* info_headroom -- the heap's rule (heap_headroom), for this pool. */
static uint64_t info_headroom(const struct info *in)
{
	return heap_headroom(&in->hs, in->size, in->max_size);
}

/* info_text -- the figures for a human reader. */
static void info_text(const struct info *in)
{
	const struct pool_hdr *hdr = in->hdr;
	const struct heap_stats *st = &in->hs;
	char ubuf[37], hbuf[32], tbuf[64];
	time_t ct = (time_t)hdr->create_time;
	struct tm tm;
	unsigned shown = 0;

	if (gmtime_r(&ct, &tm) == NULL ||
	    strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(tbuf, sizeof(tbuf), "%" PRIu64, hdr->create_time);
	printf("path:            %s\n", in->path);
	printf("layout version:  %" PRIu32 "\n", hdr->layout_version);
	printf("uuid:            %s\n", uuid_text(hdr->uuid, ubuf));
	printf("created:         %s\n", tbuf);
	printf("pool size:       %" PRIu64 " (%s)\n", in->size,
	       cli_human_size(in->size, hbuf, sizeof(hbuf)));
	printf("max size:        %" PRIu64 " (%s; pkv grow)\n",
	       in->max_size, cli_human_size(in->max_size, hbuf,
					    sizeof(hbuf)));
	printf("headroom:        %" PRIu64 " (%s: free chunks, and growth "
	       "up to the max size)\n", info_headroom(in),
	       cli_human_size(info_headroom(in), hbuf, sizeof(hbuf)));
	printf("chunk size:      %" PRIu64 "\n", hdr->chunk_size);
	printf("chunks:          %" PRIu64 "\n", st->chunks_total);
	printf("lanes:           %" PRIu32 "\n", hdr->nlanes);
	printf("log size:        %" PRIu32 "\n", hdr->log_size);
	printf("shutdown:        %s\n", in->clean ? "clean" : "unclean");
	printf("recovery:        %" PRIu64 " valid logs, %" PRIu64
	       " to replay (%" PRIu64 " entries)\n", in->rs.logs_valid,
	       in->rs.logs_replayed, in->rs.entries_replayed);
	printf("heap:            %" PRIu64 " bytes, %" PRIu64 " chunks, %"
	       PRIu64 " free, %" PRIu64 " in huge spans\n", st->heap_bytes,
	       st->chunks_total, st->chunks_free, st->chunks_huge);
	printf("allocated:       %" PRIu64 " bytes in %" PRIu64 " blocks\n",
	       st->allocated_bytes, st->allocated_blocks);
	printf("utilization:     %.2f%%\n", st->utilization * 100.0);
	printf("fragmentation:   %.2f (%" PRIu64 " bytes of runs and spans "
	       "for %" PRIu64 " allocated)\n", st->frag_ratio,
	       st->active_bytes, st->allocated_bytes);
	for (unsigned i = 0; i < st->nclasses && i < HEAP_MAX_CLASSES; i++) {
		const struct heap_class_stats *c = &st->cls[i];

		if (c->runs == 0)
			continue;
		if (shown++ == 0)
			printf("size classes:\n"
			       "  %10s %6s %12s %13s %7s\n",
			       "block size", "runs", "blocks used",
			       "blocks total", "used");
		printf("  %10" PRIu32 " %6" PRIu32 " %12" PRIu64 " %13" PRIu64
		       " %6.1f%%\n", c->block_size, c->runs, c->blocks_used,
		       c->blocks_total,
		       c->blocks_total ? 100.0 * (double)c->blocks_used /
					 (double)c->blocks_total : 0.0);
	}
	if (shown == 0)
		printf("size classes:    none in use\n");
	printf("databases:       %u\n", in->ndbs);
	printf("keys:            %" PRIu64 " (%" PRIu64 " with an expiry)\n",
	       in->total_keys, in->total_expires);
	for (unsigned d = 0; d < in->ndbs; d++)
		if (in->keys[d])
			printf("  db%u: keys=%" PRIu64 ",expires=%" PRIu64 "\n",
			       d, in->keys[d], in->expires[d]);
	printf("types:          ");
	for (unsigned t = 0; t < INFO_TYPES; t++)
		printf("%s%" PRIu64 " %s", t ? ", " : " ", in->types[t],
		       info_type_names[t]);
	printf("\n");
	if (in->gc_done) {
		printf("gc live:         %" PRIu64 " blocks, %" PRIu64 " bytes\n",
		       in->gc.gc_live_blocks, in->gc.gc_live_bytes);
		printf("gc garbage:      %" PRIu64 " blocks, %" PRIu64 " bytes"
		       "%s\n", in->gc.gc_reclaimed_blocks,
		       in->gc.gc_reclaimed_bytes,
		       in->gc.gc_reclaimed_blocks ? " (run 'pkv gc' to reclaim)"
						  : "");
		printf("gc mark/sweep:   %.3f ms / %.3f ms\n",
		       (double)in->gc.gc_last_mark_ns / 1e6,
		       (double)in->gc.gc_last_sweep_ns / 1e6);
	}
}

/* info_json -- the figures as one JSON object. */
static void info_json(const struct info *in)
{
	const struct pool_hdr *hdr = in->hdr;
	const struct heap_stats *st = &in->hs;
	char ubuf[37];
	unsigned shown = 0;

	printf("{\n  \"path\": ");
	json_string(stdout, in->path);
	printf(",\n  \"layout_version\": %" PRIu32 ",\n", hdr->layout_version);
	printf("  \"uuid\": \"%s\",\n", uuid_text(hdr->uuid, ubuf));
	printf("  \"create_time\": %" PRIu64 ",\n", hdr->create_time);
	printf("  \"pool_size\": %" PRIu64 ",\n", in->size);
	printf("  \"max_size\": %" PRIu64 ",\n", in->max_size);
	printf("  \"headroom\": %" PRIu64 ",\n", info_headroom(in));
	printf("  \"chunk_size\": %" PRIu64 ",\n", hdr->chunk_size);
	printf("  \"chunks\": %" PRIu64 ",\n", st->chunks_total);
	printf("  \"lanes\": %" PRIu32 ",\n", hdr->nlanes);
	printf("  \"log_size\": %" PRIu32 ",\n", hdr->log_size);
	printf("  \"lanes_off\": %" PRIu64 ",\n", hdr->lanes_off);
	printf("  \"chunk_hdr_off\": %" PRIu64 ",\n", hdr->chunk_hdr_off);
	printf("  \"chunks_off\": %" PRIu64 ",\n", hdr->chunks_off);
	printf("  \"clean_shutdown\": %s,\n", in->clean ? "true" : "false");
	printf("  \"recovery\": {\"logs_valid\": %" PRIu64
	       ", \"logs_replayed\": %" PRIu64 ", \"entries_replayed\": %"
	       PRIu64 "},\n", in->rs.logs_valid, in->rs.logs_replayed,
	       in->rs.entries_replayed);
	printf("  \"heap_bytes\": %" PRIu64 ",\n", st->heap_bytes);
	printf("  \"chunks_free\": %" PRIu64 ",\n", st->chunks_free);
	printf("  \"chunks_huge\": %" PRIu64 ",\n", st->chunks_huge);
	printf("  \"allocated_bytes\": %" PRIu64 ",\n", st->allocated_bytes);
	printf("  \"allocated_blocks\": %" PRIu64 ",\n", st->allocated_blocks);
	printf("  \"utilization\": %.6f,\n", st->utilization);
	printf("  \"fragmentation_ratio\": %.6f,\n", in->hs.frag_ratio);
	printf("  \"classes\": [");
	for (unsigned i = 0; i < st->nclasses && i < HEAP_MAX_CLASSES; i++) {
		const struct heap_class_stats *c = &st->cls[i];

		if (c->runs == 0)
			continue;
		printf("%s\n    {\"block_size\": %" PRIu32 ", \"runs\": %" PRIu32
		       ", \"blocks_total\": %" PRIu64 ", \"blocks_used\": %"
		       PRIu64 "}", shown++ ? "," : "", c->block_size, c->runs,
		       c->blocks_total, c->blocks_used);
	}
	printf("%s],\n", shown ? "\n  " : "");
	printf("  \"databases\": %u,\n", in->ndbs);
	printf("  \"keys\": %" PRIu64 ",\n", in->total_keys);
	printf("  \"expires\": %" PRIu64 ",\n", in->total_expires);
	printf("  \"types\": {");
	for (unsigned t = 0; t < INFO_TYPES; t++)
		printf("%s\"%s\": %" PRIu64, t ? ", " : "",
		       info_type_names[t], in->types[t]);
	printf("},\n");
	printf("  \"keyspace\": [");
	for (unsigned d = 0; d < in->ndbs; d++)
		printf("%s\n    {\"db\": %u, \"keys\": %" PRIu64 ", \"expires\": %"
		       PRIu64 "}", d ? "," : "", d, in->keys[d],
		       in->expires[d]);
	printf("\n  ]");
	if (in->gc_done)
		printf(",\n  \"gc\": {\"live_blocks\": %" PRIu64
		       ", \"live_bytes\": %" PRIu64 ", \"garbage_blocks\": %"
		       PRIu64 ", \"garbage_bytes\": %" PRIu64
		       ", \"mark_ns\": %" PRIu64 ", \"sweep_ns\": %" PRIu64 "}",
		       in->gc.gc_live_blocks, in->gc.gc_live_bytes,
		       in->gc.gc_reclaimed_blocks, in->gc.gc_reclaimed_bytes,
		       in->gc.gc_last_mark_ns, in->gc.gc_last_sweep_ns);
	printf("\n}\n");
}

/* cmd_info -- "pkv info POOL [--json] [--no-gc]". */
int cmd_info(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false, gc = true;
	struct access a;
	struct info *in;
	struct progress prog;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--json") == 0)
			json = true;
		else if (strcmp(arg, "--no-gc") == 0)
			gc = false;
		else if (cli_is_option(arg))
			return cli_usage_error("info: unknown option '%s'", arg);
		else if (path == NULL)
			path = arg;
		else
			return cli_usage_error("info: unexpected argument '%s'",
					       arg);
	}
	if (path == NULL)
		return cli_usage_error("info: missing POOL argument");

	if ((rc = access_open_cmd(&a, path, false, ACCESS_ENGINE_TOO)) != 0)
		return rc;
	in = calloc(1, sizeof(*in));
	if (!in) {
		access_close(&a);
		return cli_fail("out of memory");
	}
	in->path = path;
	in->hdr = a.pool->hdr;
	in->size = a.pool->size;
	in->max_size = pool_max_size(a.pool);
	in->clean = a.pool->was_clean;
	in->rs = *heap_recovery_stats(a.heap);
	heap_get_stats(a.heap, &in->hs);
	in->ndbs = pkv_databases(a.db);
	for (unsigned d = 0; d < in->ndbs; d++) {
		pkv_dbsize(a.db, d, &in->keys[d], &in->expires[d]);
		in->total_keys += in->keys[d];
		in->total_expires += in->expires[d];
	}
	if (in->total_keys) {
		/* a pass over every key: the types are in the entries */
		progress_spin(&prog, "counting the keys of each type");
		for (unsigned d = 0; d < in->ndbs; d++) {
			uint64_t cur = 0;
			while (in->keys[d] &&
			       !pkv_scan(a.db, d, cur, 4096, info_count_type,
					 in->types, &cur) && cur)
				;
		}
		progress_end(&prog);
	}
	if (gc) {
		/* On the private image: what a collection would find. */
		progress_spin(&prog, "collecting garbage (on a private copy)");
		in->gc_done = pkv_gc(a.db) == 0;
		progress_end(&prog);
		pkv_stats(a.db, &in->gc);
	}
	if (json)
		info_json(in);
	else
		info_text(in);
	free(in);
	access_close(&a);
	return 0;
}

/* gc_ms -- nanoseconds as milliseconds. */
static double gc_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* cmd_gc -- "pkv gc POOL [--json]": collect now. */
int cmd_gc(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false;
	struct access a;
	struct pkv_stats before, after;
	struct progress prog;
	uint64_t t0, t1, blocks, bytes;
	char hb[32], lb[32];
	int rc, err;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--json") == 0)
			json = true;
		else if (cli_is_option(arg))
			return cli_usage_error("gc: unknown option '%s'", arg);
		else if (path == NULL)
			path = arg;
		else
			return cli_usage_error("gc: unexpected argument '%s'",
					       arg);
	}
	if (path == NULL)
		return cli_usage_error("gc: missing POOL argument");

	if ((rc = access_open_cmd(&a, path, true, 0)) != 0)
		return rc;
	/* After an unclean shutdown the open already collected (the
	 * recovery audit): its figures count too. */
	pkv_stats(a.db, &before);
	progress_spin(&prog, "collecting garbage");
	t0 = progress_now_ns();
	err = pkv_gc(a.db);
	t1 = progress_now_ns();
	progress_end(&prog);
	if (err) {
		cli_fail("%s: %s", path, pkv_errmsg(a.db));
		access_close(&a);
		return EXIT_FAILURE;
	}
	pkv_stats(a.db, &after);
	access_close(&a);
	blocks = after.gc_reclaimed_blocks;
	bytes = after.gc_reclaimed_bytes;
	if (json) {
		printf("{\n  \"path\": ");
		json_string(stdout, path);
		printf(",\n  \"clean_shutdown\": %s,\n",
		       after.clean_shutdown ? "true" : "false");
		printf("  \"runs\": %" PRIu64 ",\n", after.gc_runs);
		printf("  \"reclaimed_blocks\": %" PRIu64 ",\n", blocks);
		printf("  \"reclaimed_bytes\": %" PRIu64 ",\n", bytes);
		printf("  \"audit_reclaimed_blocks\": %" PRIu64 ",\n",
		       before.gc_reclaimed_blocks);
		printf("  \"live_blocks\": %" PRIu64 ",\n", after.gc_live_blocks);
		printf("  \"live_bytes\": %" PRIu64 ",\n", after.gc_live_bytes);
		printf("  \"mark_ns\": %" PRIu64 ",\n", after.gc_last_mark_ns);
		printf("  \"sweep_ns\": %" PRIu64 ",\n", after.gc_last_sweep_ns);
		printf("  \"elapsed_ns\": %" PRIu64 ",\n", t1 - t0);
		printf("  \"max_pause_ns\": %" PRIu64 ",\n",
		       after.gc_max_pause_ns);
		printf("  \"utilization_before\": %.6f,\n", before.utilization);
		printf("  \"utilization_after\": %.6f\n}\n", after.utilization);
		return 0;
	}
	printf("%s: reclaimed %" PRIu64 " blocks (%s)%s\n", path, blocks,
	       cli_human_size(bytes, hb, sizeof(hb)),
	       before.gc_reclaimed_blocks ? ", some by the recovery audit "
					    "after an unclean shutdown" : "");
	printf("%s: live: %" PRIu64 " blocks (%s)\n", path,
	       after.gc_live_blocks,
	       cli_human_size(after.gc_live_bytes, lb, sizeof(lb)));
	printf("%s: collection took %.3f ms (mark %.3f ms, sweep %.3f ms)\n",
	       path, gc_ms(t1 - t0), gc_ms(after.gc_last_mark_ns),
	       gc_ms(after.gc_last_sweep_ns));
	printf("%s: utilization %.2f%% -> %.2f%%\n", path,
	       before.utilization * 100.0, after.utilization * 100.0);
	return 0;
}
