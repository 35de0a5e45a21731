#!/bin/sh
# cli-server.sh -- the pkv tool and a running pkv-server: every subcommand
# refuses a pool the server holds, with a message that says so; after the
# server is killed (SIGKILL, an unclean shutdown) the tool sees what it
# acknowledged, check reports the unclean shutdown without changing the
# file, and check --repair closes the pool cleanly; hashes the server
# wrote are walked by check, exported as HSET and imported back into a
# new pool that exports the same.  Skipped (exit 77)
# without the server binary.  An automake test: exit 0, 1, or 77.

top_srcdir=${top_srcdir:-.}
for f in cli-lib.sh server-lib.sh; do
	lib=$top_srcdir/tests/$f
	[ -f "$lib" ] || lib=$(dirname "$0")/$f
	if [ ! -f "$lib" ]; then
		echo "cli-server: tests/$f not found; skipping"
		exit 77
	fi
	. "$lib" || exit 99
done
if [ ! -x "$PKV" ]; then
	echo "cli-server: $PKV not built; skipping"
	exit 77
fi
srv_setup cli-server                 # exits 77 without the server
OUT=$TMP/out
ERR=$TMP/err
PKV_PERSIST=${PKV_PERSIST:-pmem}     # see cli-lib.sh
export PKV_PERSIST
have_cli=false
command -v redis-cli >/dev/null 2>&1 && have_cli=true

POOL=$TMP/s.pool
if ! srv_start A "$POOL"; then
	bad "start pkv-server"
	srv_finish
fi
ok "pkv-server runs on $POOL"
if $have_cli; then
	redis-cli -p "$A_port" set a 1 >/dev/null
	redis-cli -p "$A_port" set b 2 ex 1000 >/dev/null
	redis-cli -p "$A_port" -n 2 set c 3 >/dev/null
fi

# --- a held pool is refused, by every subcommand -------------------------------
busy='is in use by another process \(a running pkv-server\?\)'
before=$(fsum "$POOL")
for args in "info" "info --json" "check" "check --repair" "gc" "get a" \
	    "set a 2" "del a" "ttl a" "scan" "export"; do
	# shellcheck disable=SC2086
	set -- $args
	cmd=$1
	shift
	"$PKV" "$cmd" "$POOL" "$@" >"$OUT" 2>"$ERR" </dev/null
	rc=$?
	if [ $rc -eq 1 ] && grep -Eq "^pkv: $TMP/s.pool $busy\$" "$ERR"; then
		ok "pkv $args refuses the server's pool"
	else
		bad "pkv $args refuses the server's pool (exit $rc)"
		sed 's/^/    stderr: /' "$ERR"
	fi
done
"$PKV" import "$POOL" </dev/null >"$OUT" 2>"$ERR"
rc=$?
grep -Eq "$busy" "$ERR" && [ $rc -eq 1 ] &&
	ok "pkv import refuses the server's pool" ||
	bad "pkv import refuses the server's pool (exit $rc)"
srv_alive A && ok "the server is unaffected" || bad "the server is unaffected"
if $have_cli; then
	[ "$(redis-cli -p "$A_port" get a)" = 1 ] &&
		ok "and its data too" || bad "and its data too"
fi

# --- after SIGKILL: an unclean shutdown ---------------------------------------
srv_kill9 A
run info "$POOL"
if [ $rc -eq 0 ] && grep -q '^shutdown: *unclean$' "$OUT"; then
	ok "info sees the unclean shutdown"
else
	bad "info sees the unclean shutdown (exit $rc)"
fi
before=$(fsum "$POOL")
run check "$POOL"
if { [ $rc -eq 0 ] || [ $rc -eq 3 ]; } && grep -q 'shutdown: unclean' "$OUT"; then
	ok "check reports it (exit $rc)"
else
	bad "check reports it (exit $rc)"
	sed 's/^/    stdout: /' "$OUT"
fi
[ "$(fsum "$POOL")" = "$before" ] && ok "check changes nothing" ||
	bad "check changes nothing"
if $have_cli; then
	run get "$POOL" a
	[ $rc -eq 0 ] && [ "$(cat "$OUT")" = 1 ] &&
		ok "what the server acknowledged is there" ||
		bad "what the server acknowledged is there"
	run get "$POOL" c --db 2
	[ "$(cat "$OUT")" = 3 ] && ok "in database 2 too" || bad "in database 2 too"
	run ttl "$POOL" b
	case $(cat "$OUT") in
	99[0-9]|1000) ok "with its expiry" ;;
	*) bad "with its expiry ($(cat "$OUT"))" ;;
	esac
fi
run check "$POOL" --repair
[ $rc -eq 0 ] && ok "check --repair" || bad "check --repair (exit $rc)"
run info "$POOL"
grep -q '^shutdown: *clean$' "$OUT" && ok "the pool is clean afterwards" ||
	bad "the pool is clean afterwards"

# --- after a clean stop ---------------------------------------------------------
if srv_start A "$POOL"; then
	if $have_cli; then
		# hashes, for check, export and import below
		redis-cli -p "$A_port" hset h f1 v1 f2 v2 f3 "" >/dev/null
		i=0
		while [ $i -lt 50 ]; do
			echo "HSET big field:$i value-$i"
			i=$((i + 1))
		done | redis-cli -p "$A_port" >/dev/null
		redis-cli -p "$A_port" pexpire big 86400000 >/dev/null
		# a list, whose order the export must keep
		redis-cli -p "$A_port" rpush l e1 e2 "" e4 >/dev/null
		redis-cli -p "$A_port" lpush l e0 >/dev/null
		redis-cli -p "$A_port" sadd s m1 m2 "" >/dev/null
		redis-cli -p "$A_port" zadd z 1.5 a -inf b 1e300 c 0.1 d \
			>/dev/null
	fi
	srv_stop A
	run check "$POOL"
	[ $rc -eq 0 ] && grep -q 'shutdown: clean' "$OUT" &&
		ok "check after a clean stop: ok" ||
		bad "check after a clean stop: ok (exit $rc)"
else
	bad "restart pkv-server"
fi
if $have_cli; then
	grep -q 'types: [0-9]* strings, 2 hashes (53 fields), 1 lists (5 elements), 1 sets (3 members), 1 sorted sets (4 members)$' \
		"$OUT" && ok "check walks every type" ||
		{ bad "check walks every type";
		  sed 's/^/    /' "$OUT"; }
	# export, import into a new pool, export again: the same commands
	run info "$POOL"
	grep -q '^types: *[0-9]* strings, 2 hashes, 1 lists, 1 sets, 1 sorted_sets$' \
		"$OUT" && ok "info counts the keys of each type" ||
		{ bad "info counts the keys of each type";
		  sed 's/^/    /' "$OUT"; }
	run export "$POOL"
	cp "$OUT" "$TMP/exp1"
	grep -c 'HSET' "$TMP/exp1" >/dev/null &&
		ok "export writes HSET" || bad "export writes HSET"
	[ "$(tr -d '\r' <"$TMP/exp1" |
	     awk '/^RPUSH$/ { n = NR } n && NR == n + 4 { printf "%s,", $0 }')" \
	  = 'e0,e1,e2,,e4,' ] &&
		ok "export writes the list as RPUSH, in order" ||
		bad "export writes the list as RPUSH, in order"
	"$PKV" create "$TMP/copy.pool" --size 16mb >/dev/null 2>&1
	"$PKV" import "$TMP/copy.pool" <"$TMP/exp1" >"$OUT" 2>"$ERR"
	rc=$?
	[ $rc -eq 0 ] &&
	grep -q ' 53 hash fields set, 5 list elements pushed, 3 set members added, 4 sorted set members' \
		"$ERR" && ok "import reads every type back" ||
		{ bad "import reads every type back (exit $rc)";
		  sed 's/^/    /' "$ERR"; }
	run export "$TMP/copy.pool"
	# the same lines, whatever the order (the copy's hash key differs)
	tr '\r' ' ' <"$TMP/exp1" | sort >"$TMP/s1"
	tr '\r' ' ' <"$OUT" | sort >"$TMP/s2"
	cmp -s "$TMP/s1" "$TMP/s2" && ok "and exports them alike" ||
		bad "and exports them alike"
	if srv_start B "$TMP/copy.pool"; then
		[ "$(redis-cli -p "$B_port" lrange l 0 -1 | tr '\n' ' ')" = \
		  'e0 e1 e2  e4 ' ] && ok "the list keeps its order" ||
			bad "the list keeps its order"
		[ "$(redis-cli -p "$B_port" zrange z 0 -1 withscores |
		     tr '\n' ' ')" = 'b -inf d 0.10000000000000001 a 1.5 c 1.0000000000000001e+300 ' ] &&
			ok "the sorted set keeps its scores" ||
			bad "the sorted set keeps its scores"
		srv_stop B
	fi
	run check "$TMP/copy.pool"
	[ $rc -eq 0 ] && grep -q '1 sets (3 members), 1 sorted sets (4 members)' "$OUT" &&
		ok "the copy checks ok" || bad "the copy checks ok (exit $rc)"
fi

srv_finish
