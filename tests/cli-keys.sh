#!/bin/sh
# cli-keys.sh -- tests of the pkv tool's key subcommands (get, set, del,
# ttl, scan, with --db, binary values and --json) and of export and
# import: the RESP stream of one pool imported into another gives the same
# keys, values and expiry times, and import understands the commands it
# promises (SET and its options, SETEX, MSET, DEL, the EXPIRE family,
# PERSIST, FLUSHDB, FLUSHALL) and reports bad input.  An automake test:
# exit 0, 1, or 77 to skip.

top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/cli-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/cli-lib.sh
. "$lib" || exit 99
cli_setup cli-keys
LC_ALL=C
export LC_ALL

# resp ARGS -- one command as RESP (ASCII arguments).
resp() {
	printf '*%d\r\n' $#
	for _a in "$@"; do
		printf '$%d\r\n%s\r\n' "${#_a}" "$_a"
	done
}

# between LOW HIGH VALUE -- LOW <= VALUE <= HIGH (integers).
between() {
	case $3 in ''|*[!0-9-]*) return 1 ;; esac
	[ "$3" -ge "$1" ] && [ "$3" -le "$2" ]
}

POOL=$TMP/k.pool
"$PKV" create "$POOL" --size 16M >/dev/null || { bad "create"; cli_finish; }

# --- set / get -------------------------------------------------------------
run set "$POOL" greeting "hello world"
expect "set" 0 '^OK$'
run get "$POOL" greeting
expect "get" 0 '^hello world$'
run get "$POOL" greeting --raw
printf 'hello world' >"$TMP/exp"
cmp -s "$OUT" "$TMP/exp" && ok "get --raw writes the exact bytes" ||
	bad "get --raw writes the exact bytes"
run get "$POOL" greeting --json
expect "get --json" 0 '"value": "hello world"'
json_valid "$OUT" && ok "get --json is valid JSON" || bad "get --json is valid JSON"
run get "$POOL" nosuchkey
expect "get of a missing key exits 1" 1
[ -s "$OUT" ] && bad "and prints nothing" || ok "and prints nothing"
run get "$POOL" nosuchkey --json
expect "get --json of a missing key" 1 '"found": false'

# --- databases -------------------------------------------------------------
run set "$POOL" k5 five --db 5
expect "set --db 5" 0 '^OK$'
run get "$POOL" k5
expect "the key is not in database 0" 1
run get "$POOL" k5 --db 5
expect "get --db 5" 0 '^five$'
run get "$POOL" k5 -n 5
expect "get -n 5" 0 '^five$'
run get "$POOL" --db=5 k5
expect "get --db=5 before the key" 0 '^five$'
run get "$POOL" k5 --db 16
expect "a database the pool does not have" 1 'no database 16' "$ERR"

# --- binary values, operands after -- -------------------------------------
printf 'a\000b\r\n\377c' >"$TMP/bin"
runin "$TMP/bin" set "$POOL" binkey -x
expect "set -x reads the value from stdin" 0 '^OK$'
run get "$POOL" binkey --raw
cmp -s "$OUT" "$TMP/bin" && ok "a binary value comes back byte for byte" ||
	bad "a binary value comes back byte for byte"
run get "$POOL" binkey --json
expect "get --json of a binary value uses base64" 0 \
	'"value_base64": "YQBiDQr/Yw=="'
run set "$POOL" dash -- -5
expect "set POOL KEY -- -5" 0 '^OK$'
run get "$POOL" dash
expect "a value starting with '-'" 0 '^-5$'

# --- NX / XX -----------------------------------------------------------------
run set "$POOL" greeting other --nx
expect "set --nx on an existing key is refused" 1 'not set' "$ERR"
run get "$POOL" greeting
expect "and the value is unchanged" 0 '^hello world$'
run set "$POOL" newkey v --xx
expect "set --xx on a missing key is refused" 1 'not set' "$ERR"
run get "$POOL" newkey
expect "and the key is not created" 1
run set "$POOL" greeting hi --xx
expect "set --xx on an existing key" 0 '^OK$'
run set "$POOL" fresh v --nx
expect "set --nx on a missing key" 0 '^OK$'

# --- ttl -------------------------------------------------------------------
run ttl "$POOL" nosuchkey
expect "ttl of a missing key is -2" 0 '^-2$'
run ttl "$POOL" greeting
expect "ttl of a key without expiry is -1" 0 '^-1$'
"$PKV" set "$POOL" t1 v --ex 100 >/dev/null
run ttl "$POOL" t1
between 70 100 "$(cat "$OUT")" && ok "set --ex 100: ttl 100" ||
	bad "set --ex 100: ttl 100"
"$PKV" set "$POOL" t2 v --px 5000 >/dev/null
run ttl "$POOL" t2 --ms
between 100 5000 "$(cat "$OUT")" && ok "set --px 5000: ttl --ms" ||
	bad "set --px 5000: ttl --ms"
now=$(date +%s)
"$PKV" set "$POOL" t3 v --exat $((now + 200)) >/dev/null
run ttl "$POOL" t3
between 171 201 "$(cat "$OUT")" && ok "set --exat" || bad "set --exat"
"$PKV" set "$POOL" t4 v --pxat $(( (now + 300) * 1000 )) >/dev/null
run ttl "$POOL" t4
between 271 301 "$(cat "$OUT")" && ok "set --pxat" || bad "set --pxat"
"$PKV" set "$POOL" t1 new --keepttl >/dev/null
run ttl "$POOL" t1
between 70 100 "$(cat "$OUT")" && ok "set --keepttl keeps the expiry" ||
	bad "set --keepttl keeps the expiry"
run get "$POOL" t1
expect "set --keepttl changes the value" 0 '^new$'
"$PKV" set "$POOL" t1 plain >/dev/null
run ttl "$POOL" t1
expect "a plain set removes the expiry" 0 '^-1$'
run ttl "$POOL" t3 --json
expect "ttl --json" 0 '"ttl": (1[7-9][0-9]|200)'
json_valid "$OUT" && ok "ttl --json is valid JSON" || bad "ttl --json is valid JSON"
"$PKV" set "$POOL" gone v --px 30 >/dev/null
sleep 1
run get "$POOL" gone
expect "an expired key is gone for get" 1
run ttl "$POOL" gone
expect "and for ttl (-2)" 0 '^-2$'

# --- del ---------------------------------------------------------------------
run del "$POOL" greeting t2 nosuchkey
expect "del counts the keys it removed" 0 '^2$'
run get "$POOL" greeting
expect "a deleted key is gone" 1
run del "$POOL" nosuchkey
expect "del of a missing key" 0 '^0$'
run del "$POOL" k5 --db 5
expect "del --db 5" 0 '^1$'

# --- incr --------------------------------------------------------------------
run incr "$POOL" counter
expect "incr of a missing key" 0 '^1$'
run incr "$POOL" counter 41
expect "incr by 41" 0 '^42$'
run incr "$POOL" -- counter -50
expect "incr by a negative delta after --" 0 '^-8$'
run get "$POOL" counter
expect "the sum reads as its text" 0 '^-8$'
run set "$POOL" word abc
run incr "$POOL" word
expect "incr of a value that is not an integer fails" 1
grep -q 'not an integer' "$ERR" && ok "with Redis's message" ||
	bad "with Redis's message"
run get "$POOL" word
expect "and leaves the value" 0 '^abc$'
run incr "$POOL" counter x
expect "a delta that is not an integer is a usage error" 2
run del "$POOL" counter word
expect "incr'd keys delete" 0 '^2$'

# --- scan (keys loaded through import) ---------------------------------------
S=$TMP/scan.resp
{
	resp SELECT 1
	i=1
	while [ $i -le 20 ]; do resp SET "user:$i" "u$i"; i=$((i + 1)); done
	i=1
	while [ $i -le 5 ]; do resp SET "other:$i" "o$i"; i=$((i + 1)); done
} >"$S"
runin "$S" import "$POOL"
expect "import of 25 keys" 0 '25 keys set' "$ERR"
run scan "$POOL" --db 1
[ "$(sort "$OUT" | wc -l | tr -d ' ')" = 25 ] && ok "scan lists 25 keys" ||
	bad "scan lists 25 keys"
[ "$(sort -u "$OUT" | wc -l | tr -d ' ')" = 25 ] && ok "each once" ||
	bad "each once"
run scan "$POOL" --db 1 --match 'user:*'
[ "$(wc -l <"$OUT" | tr -d ' ')" = 20 ] && ok "scan --match 'user:*'" ||
	bad "scan --match 'user:*'"
run scan "$POOL" --db 1 --match 'user:1?'
[ "$(wc -l <"$OUT" | tr -d ' ')" = 10 ] && ok "scan --match 'user:1?'" ||
	bad "scan --match 'user:1?'"
run scan "$POOL" --db 1 --match 'user:[12]'
[ "$(sort "$OUT" | tr '\n' ' ')" = "user:1 user:2 " ] &&
	ok "scan --match 'user:[12]'" || bad "scan --match 'user:[12]'"
run scan "$POOL" --db 1 --match '*:[^0-9]*'
[ -s "$OUT" ] && bad "scan --match with [^...]" || ok "scan --match with [^...]"
run scan "$POOL" --db 1 --count 1
[ "$(sort -u "$OUT" | wc -l | tr -d ' ')" = 25 ] && ok "scan --count 1" ||
	bad "scan --count 1"
# one step at a time, as SCAN: the next cursor first
cursor=0 steps=0
: >"$TMP/keys"
while :; do
	run scan "$POOL" --db 1 --cursor $cursor --count 4
	[ $rc -eq 0 ] || break
	cursor=$(head -n 1 "$OUT")
	sed 1d "$OUT" >>"$TMP/keys"
	steps=$((steps + 1))
	[ "$cursor" = 0 ] || [ $steps -gt 200 ] && break
done
if [ "$cursor" = 0 ] && [ $steps -gt 1 ] &&
   [ "$(sort -u "$TMP/keys" | wc -l | tr -d ' ')" = 25 ]; then
	ok "scan --cursor steps through every key ($steps steps)"
else
	bad "scan --cursor steps through every key (cursor $cursor, $steps steps)"
fi
run scan "$POOL" --db 1 --json
expect "scan --json" 0 '"count": 25'
json_valid "$OUT" && ok "scan --json is valid JSON" || bad "scan --json is valid JSON"
run scan "$POOL" --db 4
[ -s "$OUT" ] && bad "scan of an empty database" || ok "scan of an empty database"

# --- reading never writes ------------------------------------------------------
before=$(fsum "$POOL")
"$PKV" get "$POOL" user:1 --db 1 >/dev/null
"$PKV" ttl "$POOL" t3 >/dev/null
"$PKV" scan "$POOL" --db 1 >/dev/null
"$PKV" export "$POOL" >/dev/null
"$PKV" get "$POOL" gone >/dev/null 2>&1      # expired: not removed by a read
[ "$(fsum "$POOL")" = "$before" ] && ok "get, ttl, scan, export leave the pool unchanged" ||
	bad "get, ttl, scan, export leave the pool unchanged"

# --- export | import round trip -----------------------------------------------
A=$TMP/a.pool B=$TMP/b.pool
"$PKV" create "$A" --size 32M >/dev/null && "$PKV" create "$B" --size 32M \
	>/dev/null || bad "create A and B"
LC_ALL=C awk -v now="$(date +%s)" '
function resp3(a, b, c) {
	printf "*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
		length(a), a, length(b), b, length(c), c
}
BEGIN {
	printf "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
	for (i = 0; i < 600; i++) {
		v = sprintf("value-%d-%0" (i % 300) "d", i, 0)
		resp3("SET", "key:" i, v)
		if (i % 7 == 0)
			resp3("PEXPIREAT", "key:" i,
			      sprintf("%.0f", (now + 3600 + i) * 1000))
	}
	printf "*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n"
	for (i = 0; i < 50; i++)
		resp3("SET", "db12:" i, "twelve " i)
}' >"$TMP/gen.resp"
runin "$TMP/gen.resp" import "$A"
expect "import 650 keys" 0 '650 keys set' "$ERR"
# 600 + 50 SET and 86 PEXPIREAT: 736 operations, 8 batches.
grep -q ' 8 batches' "$ERR" && ok "in batches of at most 100 operations" ||
	bad "in batches of at most 100 operations"
printf 'binary\000value\r\n\377' | "$PKV" set "$A" bin:1 -x --db 3 >/dev/null
"$PKV" export "$A" >"$TMP/a.resp" 2>"$ERR"
rc=$?
expect "export" 0
[ -s "$ERR" ] && bad "export prints nothing on stderr when piped" ||
	ok "export prints nothing on stderr when piped"
runin "$TMP/a.resp" import "$B"
expect "import the export" 0 '651 keys set' "$ERR"
"$PKV" export "$B" >"$TMP/b.resp"
"$PKV" export "$A" -o "$TMP/a2.resp"
cmp -s "$TMP/a.resp" "$TMP/a2.resp" && ok "export -o FILE" || bad "export -o FILE"
if command -v python3 >/dev/null 2>&1; then
	cat >"$TMP/norm.py" <<'EOF'
import sys
def cmds(data):
    i = 0
    while i < len(data):
        assert data[i:i+1] == b"*", i
        j = data.index(b"\r\n", i); n = int(data[i+1:j]); i = j + 2
        args = []
        for _ in range(n):
            j = data.index(b"\r\n", i); ln = int(data[i+1:j]); i = j + 2
            args.append(data[i:i+ln]); i += ln + 2
        yield args
state, db = {}, b"0"
for a in cmds(open(sys.argv[1], "rb").read()):
    c = a[0].upper()
    if c == b"SELECT": db = a[1]
    elif c == b"SET": state[(db, a[1])] = [a[2], None]
    elif c == b"PEXPIREAT": state[(db, a[1])][1] = int(a[2])
for k in sorted(state):
    print(repr(k), repr(state[k]))
EOF
	python3 "$TMP/norm.py" "$TMP/a.resp" >"$TMP/a.norm" 2>&1
	python3 "$TMP/norm.py" "$TMP/b.resp" >"$TMP/b.norm" 2>&1
	if [ "$(wc -l <"$TMP/a.norm" | tr -d ' ')" = 651 ] &&
	   cmp -s "$TMP/a.norm" "$TMP/b.norm"; then
		ok "the round trip keeps every key, value and expiry time"
	else
		bad "the round trip keeps every key, value and expiry time"
		diff "$TMP/a.norm" "$TMP/b.norm" | head -n 5
	fi
else
	echo "skip: no python3 to compare the exports value by value"
fi
for d in 0 3 12; do
	"$PKV" scan "$A" --db $d | sort >"$TMP/sa"
	"$PKV" scan "$B" --db $d | sort >"$TMP/sb"
	cmp -s "$TMP/sa" "$TMP/sb" && ok "database $d has the same keys" ||
		bad "database $d has the same keys"
done
run get "$B" bin:1 --db 3 --raw
printf 'binary\000value\r\n\377' >"$TMP/exp"
cmp -s "$OUT" "$TMP/exp" && ok "a binary value survives the round trip" ||
	bad "a binary value survives the round trip"
ta=$("$PKV" ttl "$A" key:7 --ms) tb=$("$PKV" ttl "$B" key:7 --ms)
between $((ta - 2000)) $((ta + 2000)) "$tb" && ok "expiry times survive ($tb ms)" ||
	bad "expiry times survive ($ta vs $tb ms)"
run check "$B"
expect "the imported pool checks ok" 0 ': ok$'

# --- import: the commands ------------------------------------------------------
C=$TMP/c.pool
"$PKV" create "$C" --size 16M >/dev/null
now=$(date +%s)
{
	resp SELECT 2
	resp SET a 1
	resp SET b 2 EX 100
	resp SET c 3 px 100000
	resp SET d 4 EXAT $((now + 500))
	resp SET e 5 PXAT $(( (now + 600) * 1000 ))
	resp SET a x NX
	resp SET zz 1 XX
	resp SET b 22 KEEPTTL
	resp SETEX f 100 6
	resp PSETEX g 100000 7
	resp MSET h 8 i 9 j 10
	resp DEL h
	resp UNLINK i nosuch
	resp EXPIRE a 100
	resp PEXPIREAT c 1
	resp PERSIST d
	resp PEXPIRE j 200000
	resp PING
	resp FOOBAR x
	resp SET onlykey
	resp SET k v EX notanumber
	resp EXPIREAT e $((now + 700))
	printf '\r\n'
	resp SET last done
} >"$TMP/cmds.resp"
runin "$TMP/cmds.resp" import "$C"
expect "import: bad commands are reported and counted" 1 '3 errors' "$ERR"
grep -q 'FOOBAR' "$ERR" && ok "naming the unknown command" ||
	bad "naming the unknown command"
grep -q '2 not set (NX/XX)' "$ERR" && ok "NX/XX skips counted" ||
	bad "NX/XX skips counted"
chk() {        # chk KEY VALUE TTL-LOW TTL-HIGH
	_v=$("$PKV" get "$C" "$1" --db 2 2>/dev/null)
	_t=$("$PKV" ttl "$C" "$1" --db 2)
	if [ "$_v" = "$2" ] && between "$3" "$4" "$_t"; then
		ok "import: $1 = '$2', ttl $_t"
	else
		bad "import: $1 = '$_v' (want '$2'), ttl $_t (want $3..$4)"
	fi
}
chk a 1 70 100
chk b 22 70 100
chk c "" -2 -2
chk d 4 -1 -1
chk e 5 670 700
chk f 6 70 100
chk g 7 70 100
chk h "" -2 -2
chk i "" -2 -2
chk j 10 170 200
chk zz "" -2 -2
chk last done -1 -1

# SET's and EXPIRE's options as Redis 7.0 (and pkv-server) read them: a
# repeated EX is taken, the last one winning; conflicting options and bad
# times are refused with Redis's reply; EXPIRE's conditions are decided
# on the key's expiry as the commands before left it.
{
	resp SELECT 2
	resp SET r1 v EX 100 EX 200
	resp SET r2 v EX 100 PX 100
	resp SET r3 v EX 0
	resp SET r4 v
	resp EXPIRE r4 100 XX
	resp EXPIRE r4 300 NX
	resp EXPIRE r4 500 gt
	resp EXPIRE r4 100 GT
	resp SET r5 v EX 300
	resp EXPIRE r5 100 LT
	resp EXPIRE r5 1 NX GT
	resp EXPIRE r5 1 BOGUS
} >"$TMP/opts.resp"
runin "$TMP/opts.resp" import "$C"
expect "import: refused options are counted" 1 '4 errors' "$ERR"
for m in "ERR syntax error" "ERR invalid expire time in 'set' command" \
	"ERR NX and XX, GT or LT options at the same time are not compatible" \
	"ERR Unsupported option BOGUS"; do
	grep -qF "$m" "$ERR" && ok "import answers '$m'" ||
		bad "import answers '$m'"
done
chk r1 v 170 200
chk r2 "" -2 -2
chk r3 "" -2 -2
chk r4 v 470 500
chk r5 v 70 100

# FLUSHDB and FLUSHALL, and the garbage they leave is collected
{
	resp SELECT 3
	resp SET x 1
	resp SET y 1
	resp FLUSHDB
	resp SET z 1
	resp SELECT 4
	resp SET w 1
} >"$TMP/flush.resp"
runin "$TMP/flush.resp" import "$C"
expect "import with FLUSHDB" 0 '1 flushes' "$ERR"
[ "$("$PKV" scan "$C" --db 3)" = z ] && ok "FLUSHDB emptied the database first" ||
	bad "FLUSHDB emptied the database first"
run check "$C"
expect "no garbage is left after a flush" 0 ': ok$'
{ resp FLUSHALL ASYNC; resp SET after 1; } >"$TMP/flushall.resp"
runin "$TMP/flushall.resp" import "$C"
expect "import with FLUSHALL" 0 '1 flushes' "$ERR"
run info "$C" --json
[ "$(json_num "$OUT" keys)" = 1 ] && ok "FLUSHALL emptied every database" ||
	bad "FLUSHALL emptied every database"

# --- import: bad streams ---------------------------------------------------------
{ resp SET before 1; resp SELECT 99; resp SET after99 1; } >"$TMP/sel.resp"
runin "$TMP/sel.resp" import "$C"
expect "SELECT of a missing database stops the import" 1 'does not exist' "$ERR"
run get "$C" before
expect "what came before it is applied" 0 '^1$'
run get "$C" after99
expect "what came after it is not" 1
printf '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab' >"$TMP/trunc.resp"
runin "$TMP/trunc.resp" import "$C"
expect "a stream cut in the middle of a command" 1 'middle of command 1' "$ERR"
printf 'SET a b\r\n' >"$TMP/inline.resp"
runin "$TMP/inline.resp" import "$C"
expect "input that is not RESP multibulk" 1 'not a RESP multibulk' "$ERR"
printf '*1\r\n$-5\r\n' >"$TMP/neg.resp"
runin "$TMP/neg.resp" import "$C"
expect "a negative bulk length" 1 'invalid bulk length' "$ERR"
printf '*1\r\n$999999999999\r\n' >"$TMP/huge.resp"
runin "$TMP/huge.resp" import "$C"
expect "a bulk longer than 512 MiB" 1 'invalid bulk length' "$ERR"
: >"$TMP/empty.resp"
runin "$TMP/empty.resp" import "$C"
expect "an empty stream" 0 '0 commands' "$ERR"
run import "$TMP/nonexistent.pool"
expect "import into a missing pool" 1 'nonexistent.pool' "$ERR"

# A pool that fills up: the import stops exactly at the first command
# that does not fit, with everything before it applied.
F=$TMP/full.pool
"$PKV" create "$F" --size 8M >/dev/null
v=$(head -c 100000 /dev/zero | tr '\000' x)
i=1
while [ $i -le 100 ]; do resp SET "big$i" "$v"; i=$((i + 1)); done >"$TMP/full.resp"
runin "$TMP/full.resp" import "$F"
expect "import into a pool too small stops when it is full" 1 \
	'stopped at command [0-9]+: pool is full' "$ERR"
stop=$(sed -n 's/.*stopped at command \([0-9]*\).*/\1/p' "$ERR")
run info "$F" --json --no-gc
[ -n "$stop" ] && [ "$(json_num "$OUT" keys)" = $((stop - 1)) ] &&
	ok "every command before it is applied ($((stop - 1)) keys)" ||
	bad "every command before it is applied (stop '$stop')"
run check "$F"
expect "the full pool checks ok" 0 ': ok$'

# Many overwrites of large values: batches that may exceed the redo log
# are split, and the result is the same.
LC_ALL=C awk 'BEGIN {
	v = sprintf("%03000d", 0)
	for (r = 0; r < 2; r++)
		for (i = 0; i < 300; i++)
			printf "*3\r\n$3\r\nSET\r\n$%d\r\nbig:%d\r\n$%d\r\n%s\r\n",
				length("big:" i), i, length(v r), v r
}' >"$TMP/big.resp"
runin "$TMP/big.resp" import "$C"
expect "600 sets of 3 KB values" 0 '600 keys set' "$ERR"
run get "$C" big:299
[ "$(tail -c 2 "$OUT" | head -c 1)" = 1 ] && ok "the last write wins" ||
	bad "the last write wins"
run check "$C"
expect "the pool checks ok after it all" 0 ': ok$'

cli_finish
