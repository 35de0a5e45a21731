#!/bin/sh
# cli-file.sh -- cli.sh on the file backend (PKV_PERSIST=file), where the
# pool tool meets pools on a disk, the default outside persistent memory:
# its log rings are larger and its new blocks travel in their records too.
# An automake test: exit 0 on success, 1 on failure, 77 to skip.
top_srcdir=${top_srcdir:-.}
script=$top_srcdir/tests/cli.sh
[ -f "$script" ] || script=$(dirname "$0")/cli.sh
PKV_PERSIST=file
export PKV_PERSIST
exec sh "$script"
