/*
 * cmds.h -- the subcommands of the pkv tool.  Each takes the arguments
 * after "pkv" (argv[0] is the subcommand's name) and returns the exit
 * status (util.h).
 *
 *   poolcmd.c    create, grow, compact, info, gc  the pool as a whole
 *   check_cmd.c  check [--repair]      consistency (check.c walks)
 *   keys.c       get, set, del, ttl, scan
 *   export.c     export [--salvage]    keys as Redis commands
 *   import.c     import                Redis commands into the pool
 */
#ifndef PKV_CLI_CMDS_H
#define PKV_CLI_CMDS_H

int cmd_create(int argc, char **argv);
int cmd_grow(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_incr(int argc, char **argv);
int cmd_ttl(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_compact(int argc, char **argv);

/*
 * import_stream -- the work of import: the commands read from fd into
 * the pool at path (database dbi until a SELECT), opened for writing with
 * access_open_cmd's `how` (ACCESS_AUTOGROW).  Reports as import does;
 * returns 0, or EXIT_FAILURE when a command failed or the stream broke.
 */
int import_stream(const char *path, int fd, unsigned dbi, unsigned how);

#endif /* PKV_CLI_CMDS_H */
