#!/bin/sh
# server-damage.sh -- no damaged pool crashes or hangs pkv-server.  Runs
# tests/server_damage.py: DAMAGE_IMAGES (24) copies of an unclean pool
# caught in the middle of a resize, each with one to three pointer words
# replaced (DAMAGE_SEED, 1: the same images every run); the server on
# each must refuse it with a message or serve every command of a script
# and shut down cleanly -- never die of a signal, hang, or (in a
# sanitizer build) report an error.  `make fuzz` runs 1,000 images
# against a server built with AddressSanitizer.  An automake test: exit 0
# on success, 1 on failure, 77 to skip.

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/server-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/server-lib.sh
. "$lib" || exit 99

srv_need_python server-damage.sh
test_py=$(srv_test_py server_damage.py)
srv_setup server-damage

N=${DAMAGE_IMAGES:-24}
SEED=${DAMAGE_SEED:-1}
if $SRV_TIMEOUT_CMD "$PY" "$test_py" "$PKV_SERVER" "$TMP" "$N" "$SEED" \
	"$top_builddir/cli/pkv" \
	>"$TMP/out" 2>&1; then
	sed 's/^/      /' "$TMP/out"
	ok "$N damaged pools: each refused with a message or served, no crash"
else
	sed 's/^/      /' "$TMP/out"
	bad "damaged pools: see above"
fi
srv_finish
