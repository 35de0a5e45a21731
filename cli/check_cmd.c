/*
 * check_cmd.c -- "pkv check POOL [--json] [--repair]": the report of
 * check.h for people and for scripts, and the repair.
 *
 * The repair does only what is safe without a human: it opens the pool
 * the normal way (redo recovery applies committed transactions, and
 * after an unclean shutdown the recovery audit collects what the crash
 * left behind) and runs a whole collection, which frees every block
 * allocated but unreachable.  It refuses, changing nothing, when the
 * header is damaged (the library would refuse the pool anyway) or when
 * the check found damage to the structure itself: rewriting chains or
 * counts from a guess could lose keys that a backup still has.  For
 * such a pool, export --salvage copies out what is sound.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cmds.h"
#include "json.h"
#include "progress.h"
#include "util.h"

/* What a repair did. */
struct repair {
	bool performed;
	uint64_t logs_replayed;
	uint64_t reclaimed_blocks, reclaimed_bytes;
};

/* check_status -- the one-word verdict. */
static const char *check_status(const struct check_report *r)
{
	return r->damage ? "damaged" : r->repairable ? "repairable" : "ok";
}

/* check_exit -- the exit status for a report. */
static int check_exit(const struct check_report *r)
{
	return r->damage ? EXIT_FAILURE : r->repairable ? EXIT_REPAIRABLE : 0;
}

/* check_print_text -- the report for a human reader. */
static void check_print_text(const char *path, const struct check_report *r)
{
	char a[32], b[32];

	if (r->header_ok && r->reached >= ACCESS_ENGINE) {
		printf("%s: header ok: layout %u, %" PRIu64 " bytes (%s), %"
		       PRIu64 " chunks\n", path, POOL_LAYOUT_VERSION,
		       r->pool_size, cli_human_size(r->pool_size, a, sizeof(a)),
		       r->nchunks);
		if (r->clean_shutdown)
			printf("%s: shutdown: clean\n", path);
		else
			printf("%s: shutdown: unclean; recovery finds %" PRIu64
			       " valid log(s), %" PRIu64 " to replay\n", path,
			       r->recovery.logs_valid,
			       r->recovery.logs_replayed);
		printf("%s: heap: %" PRIu64 " blocks allocated (%s)\n", path,
		       r->blocks, cli_human_size(r->block_bytes, a, sizeof(a)));
		if (r->kv)
			printf("%s: keys: %" PRIu64 " in %u databases (%" PRIu64
			       " with an expiry, %" PRIu64 " expired but not yet "
			       "removed)\n", path, r->keys, r->ndbs, r->expires,
			       r->expired);
		if (r->kv)
			printf("%s: types: %" PRIu64 " strings, %" PRIu64
			       " hashes (%" PRIu64 " fields), %" PRIu64
			       " lists (%" PRIu64 " elements), %" PRIu64
			       " sets (%" PRIu64 " members), %" PRIu64
			       " sorted sets (%" PRIu64 " members)\n", path,
			       r->keys - r->hashes - r->lists - r->sets -
			       r->zsets, r->hashes, r->fields, r->lists,
			       r->elements, r->sets, r->members, r->zsets,
			       r->zmembers);
		if (r->reach_known)
			printf("%s: reachable: %" PRIu64 " blocks (%s); "
			       "unreachable: %" PRIu64 " blocks (%s)\n", path,
			       r->reachable_blocks,
			       cli_human_size(r->reachable_bytes, a, sizeof(a)),
			       r->unreachable_blocks,
			       cli_human_size(r->unreachable_bytes, b, sizeof(b)));
	}
	for (size_t i = 0; i < r->nnotes; i++)
		printf("%s: note: %s\n", path, r->notes[i]);
	for (size_t i = 0; i < r->nmsgs; i++)
		printf("%s: problem: %s\n", path, r->msgs[i]);
	if (r->damage > r->nmsgs)
		printf("%s: ... and %" PRIu64 " more problem(s)\n", path,
		       r->damage - r->nmsgs);
	if (r->damage)
		printf("%s: damaged: %" PRIu64 " problem(s)%s\n", path,
		       r->damage, r->header_ok ? "" : " (the header)");
	else if (r->repairable)
		printf("%s: %" PRIu64 " unreachable block(s) (%s): 'pkv check "
		       "--repair' or 'pkv gc' reclaims them\n", path,
		       r->unreachable_blocks,
		       cli_human_size(r->unreachable_bytes, a, sizeof(a)));
	else
		printf("%s: ok\n", path);
}

/* check_json_list -- an array of strings. */
static void check_json_list(char *const *v, size_t n)
{
	putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", stdout);
		json_string(stdout, v[i]);
	}
	putchar(']');
}

/* check_print_json -- the report as one JSON object. */
static void check_print_json(const char *path, const struct check_report *r,
			     const struct repair *rep)
{
	bool opened = r->header_ok && r->reached >= ACCESS_ENGINE;

	printf("{\n  \"path\": ");
	json_string(stdout, path);
	printf(",\n  \"status\": \"%s\",\n", check_status(r));
	printf("  \"healthy\": %s,\n", check_healthy(r) ? "true" : "false");
	printf("  \"header_ok\": %s,\n", r->header_ok ? "true" : "false");
	printf("  \"opened\": %s,\n", opened ? "true" : "false");
	if (opened) {
		printf("  \"pool_size\": %" PRIu64 ",\n", r->pool_size);
		printf("  \"chunks\": %" PRIu64 ",\n", r->nchunks);
		printf("  \"clean_shutdown\": %s,\n",
		       r->clean_shutdown ? "true" : "false");
		printf("  \"recovery\": {\"logs_valid\": %" PRIu64
		       ", \"logs_replayed\": %" PRIu64 ", \"entries_replayed\": %"
		       PRIu64 "},\n", r->recovery.logs_valid,
		       r->recovery.logs_replayed, r->recovery.entries_replayed);
		printf("  \"blocks\": %" PRIu64 ",\n", r->blocks);
		printf("  \"block_bytes\": %" PRIu64 ",\n", r->block_bytes);
		printf("  \"kv\": %s,\n", r->kv ? "true" : "false");
		if (r->kv) {
			printf("  \"databases\": %u,\n", r->ndbs);
			printf("  \"keys\": %" PRIu64 ",\n", r->keys);
			printf("  \"expires\": %" PRIu64 ",\n", r->expires);
			printf("  \"expired\": %" PRIu64 ",\n", r->expired);
			printf("  \"strings\": %" PRIu64 ",\n",
			       r->keys - r->hashes - r->lists - r->sets -
			       r->zsets);
			printf("  \"hashes\": %" PRIu64 ",\n", r->hashes);
			printf("  \"hash_fields\": %" PRIu64 ",\n", r->fields);
			printf("  \"lists\": %" PRIu64 ",\n", r->lists);
			printf("  \"list_elements\": %" PRIu64 ",\n",
			       r->elements);
			printf("  \"sets\": %" PRIu64 ",\n", r->sets);
			printf("  \"set_members\": %" PRIu64 ",\n",
			       r->members);
			printf("  \"sorted_sets\": %" PRIu64 ",\n", r->zsets);
			printf("  \"sorted_set_members\": %" PRIu64 ",\n",
			       r->zmembers);
			printf("  \"keys_per_db\": [");
			for (unsigned d = 0; d < r->ndbs; d++)
				printf("%s%" PRIu64, d ? ", " : "",
				       r->db_keys[d]);
			printf("],\n");
		}
		printf("  \"reachability_checked\": %s,\n",
		       r->reach_known ? "true" : "false");
		if (r->reach_known)
			printf("  \"reachable_blocks\": %" PRIu64 ",\n"
			       "  \"reachable_bytes\": %" PRIu64 ",\n"
			       "  \"unreachable_blocks\": %" PRIu64 ",\n"
			       "  \"unreachable_bytes\": %" PRIu64 ",\n",
			       r->reachable_blocks, r->reachable_bytes,
			       r->unreachable_blocks, r->unreachable_bytes);
	}
	printf("  \"damage\": %" PRIu64 ",\n", r->damage);
	printf("  \"repairable\": %" PRIu64 ",\n", r->repairable);
	printf("  \"problems\": ");
	check_json_list(r->msgs, r->nmsgs);
	printf(",\n  \"notes\": ");
	check_json_list(r->notes, r->nnotes);
	if (rep)
		printf(",\n  \"repair\": {\"performed\": %s, \"logs_replayed\": %"
		       PRIu64 ", \"reclaimed_blocks\": %" PRIu64
		       ", \"reclaimed_bytes\": %" PRIu64 "}",
		       rep->performed ? "true" : "false", rep->logs_replayed,
		       rep->reclaimed_blocks, rep->reclaimed_bytes);
	printf("\n}\n");
}

/* check_repair -- open normally (recovery, audit), collect, close. */
static int check_repair(const char *path, struct repair *rep)
{
	struct access a;
	struct pkv_options o;
	struct pkv_stats st;
	struct progress prog;
	struct errmsg em;
	int err;

	pkv_options_init(&o);
	o.audit = PKV_AUDIT_NOW;
	err_clear(&em);
	if ((err = access_write(&a, path, &o, &em)))
		return cli_fail_path(path, err, em.text);
	rep->performed = true;
	rep->logs_replayed = heap_recovery_stats(a.heap)->logs_replayed;
	progress_spin(&prog, "collecting garbage");
	err = pkv_gc(a.db);
	progress_end(&prog);
	if (err) {
		cli_fail("%s: %s", path, pkv_errmsg(a.db));
		access_close(&a);
		return EXIT_FAILURE;
	}
	pkv_stats(a.db, &st);
	rep->reclaimed_blocks = st.gc_reclaimed_blocks;
	rep->reclaimed_bytes = st.gc_reclaimed_bytes;
	access_close(&a);
	return 0;
}

/* cmd_check -- "pkv check POOL [--json] [--repair]". */
int cmd_check(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false, repair = false;
	struct check_report r;
	struct repair rep;
	struct errmsg em;
	char hb[32];
	int err, rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0)
			json = true;
		else if (strcmp(a, "--repair") == 0)
			repair = true;
		else if (cli_is_option(a))
			return cli_usage_error("check: unknown option '%s'", a);
		else if (path == NULL)
			path = a;
		else
			return cli_usage_error("check: unexpected argument '%s'",
					       a);
	}
	if (path == NULL)
		return cli_usage_error("check: missing POOL argument");

	err_clear(&em);
	if ((err = check_pool(path, &r, true, &em)))
		return cli_fail_path(path, err, em.text);
	if (!repair) {
		if (json)
			check_print_json(path, &r, NULL);
		else
			check_print_text(path, &r);
		rc = check_exit(&r);
		check_report_free(&r);
		return rc;
	}

	/* --repair: refuse what it cannot mend, before changing anything. */
	memset(&rep, 0, sizeof(rep));
	if (r.damage) {
		if (json)
			check_print_json(path, &r, &rep);
		else
			check_print_text(path, &r);
		if (!r.header_ok)
			cli_fail("%s: cannot repair a damaged header: %s", path,
				 r.nmsgs ? r.msgs[0] : "(no detail)");
		else
			cli_fail("%s: cannot repair: the check found %" PRIu64
				 " problem(s) that --repair does not fix "
				 "(restore the pool from a backup, or salvage "
				 "its sound keys into a new pool with 'pkv "
				 "export --salvage'); the pool was not changed",
				 path, r.damage);
		check_report_free(&r);
		return EXIT_FAILURE;
	}
	if (check_healthy(&r) && r.clean_shutdown) {
		if (json)
			check_print_json(path, &r, &rep);
		else
			printf("%s: ok, nothing to repair\n", path);
		check_report_free(&r);
		return 0;
	}
	if (!json)
		check_print_text(path, &r);
	check_report_free(&r);
	if ((rc = check_repair(path, &rep)) != 0)
		return rc;
	if (!json)
		printf("%s: repaired: %" PRIu64 " transaction(s) replayed, %"
		       PRIu64 " block(s) reclaimed (%s)\n", path,
		       rep.logs_replayed, rep.reclaimed_blocks,
		       cli_human_size(rep.reclaimed_bytes, hb, sizeof(hb)));
	err_clear(&em);
	if ((err = check_pool(path, &r, true, &em)))
		return cli_fail_path(path, err, em.text);
	if (json) {
		check_print_json(path, &r, &rep);
	} else if (check_healthy(&r)) {
		printf("%s: ok\n", path);
	} else {
		check_print_text(path, &r);
	}
	rc = check_exit(&r);
	check_report_free(&r);
	return rc;
}
