#!/bin/sh
# cli.sh -- tests of the pkv tool on whole pools: create, grow, compact,
# info, check
# (healthy pools are left unchanged; a damaged header, a truncated file, a
# damaged chunk header, a damaged key-value entry and a damaged allocation
# bitmap are each found and reported with a non-zero exit), check --repair
# (mends what it can, refuses the rest without changing the file), gc,
# an unclean shutdown, and usage errors.  The key subcommands are in
# cli-keys.sh, the Redis round trip in cli-redis.sh, a pool held by a
# server in cli-server.sh.  An automake test: exit 0, 1, or 77 to skip.

top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/cli-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/cli-lib.sh
. "$lib" || exit 99
cli_setup cli

POOL=$TMP/a.pool

# --- create ----------------------------------------------------------------
run create "$POOL" --size 16M
expect "create POOL --size 16M" 0 'created pool of 16777216 bytes'

size=$(wc -c <"$POOL" 2>/dev/null | tr -d ' ')
if [ "$size" = 16777216 ]; then
	ok "--size 16M gives a file of 16777216 bytes"
else
	bad "--size 16M gives a file of 16777216 bytes (got '$size')"
fi

run create "$POOL" --size 16M
expect "create on an existing file fails" 1 'exists' "$ERR"

run create "$TMP/b.pool" --size 8192K
if [ $rc -eq 0 ] && [ "$(wc -c <"$TMP/b.pool" | tr -d ' ')" = 8388608 ]; then
	ok "--size 8192K parsed as 8388608 bytes"
else
	bad "--size 8192K parsed as 8388608 bytes (exit $rc)"
fi

run create "$TMP/c.pool" --size=12582912 --databases 4
expect "create --size=BYTES --databases 4" 0 '4 databases'
run create "$TMP/small.pool" --size 1M
expect "create of a pool too small fails" 1 'too small' "$ERR"
[ -e "$TMP/small.pool" ] && bad "a failed create leaves no file" ||
	ok "a failed create leaves no file"

# A pool made by create is a key-value pool with the library's log rings:
# 32 KiB on persistent memory, a 32nd of the pool on a disk.
LOGSIZE=32768
[ "$PKV_PERSIST" = file ] && LOGSIZE=524288
run info "$POOL"
expect "info shows the pool size and a clean shutdown" 0 '16777216'
grep -q '^shutdown: *clean$' "$OUT" && ok "info: shutdown: clean" ||
	bad "info: shutdown: clean"
grep -q "^log size: *$LOGSIZE\$" "$OUT" &&
	ok "created pools have $LOGSIZE-byte logs" ||
	bad "created pools have $LOGSIZE-byte logs"
grep -q '^databases: *16$' "$OUT" && ok "16 databases by default" ||
	bad "16 databases by default"
run info "$TMP/c.pool"
grep -q '^databases: *4$' "$OUT" && ok "--databases 4 gives 4 databases" ||
	bad "--databases 4 gives 4 databases"

# --- grow ------------------------------------------------------------------
run create "$TMP/g.pool" --size 8M --max-size 32M
expect "create --max-size 32M" 0 'may grow to 3[01]'
run set "$TMP/g.pool" before-growth kept
run grow "$TMP/g.pool" 16M
expect "grow POOL 16M" 0 'grown from 8388608 to 16'
gsize=$(wc -c <"$TMP/g.pool" | tr -d ' ')
[ "$gsize" -ge 16777216 ] && [ "$gsize" -lt 17039360 ] &&
	ok "grow 16M gives a file of 16 MiB ($gsize bytes)" ||
	bad "grow 16M gives a file of 16 MiB (got '$gsize')"
run grow "$TMP/g.pool" 8M
expect "grow to a smaller size changes nothing" 0 'do not shrink'
run grow "$TMP/g.pool" 64M
expect "grow past the maximum fails" 1 'at most' "$ERR"
[ "$(wc -c <"$TMP/g.pool" | tr -d ' ')" = "$gsize" ] &&
	ok "a refused growth leaves the file as it was" ||
	bad "a refused growth leaves the file as it was"
run info "$TMP/g.pool"
grep -q "^pool size: *$gsize " "$OUT" && grep -q '^max size: *3[0-9]* ' "$OUT" &&
	grep -q '^headroom: ' "$OUT" &&
	ok "info: the grown size, the maximum and the headroom" ||
	bad "info: the grown size, the maximum and the headroom"
run get "$TMP/g.pool" before-growth --raw
expect "a key from before the growth is there" 0 'kept'
run check "$TMP/g.pool"
expect "check of a grown pool" 0 ': ok'
run grow "$TMP/g.pool"
expect "grow without a size is a usage error" 2 'usage' "$ERR"

# --- compact ---------------------------------------------------------------
# 24000 keys of 1000 bytes in a 64 MiB pool, every other one deleted, and a
# key of each other type, one with an expiry, one in database 3.
awk 'function cmd(n, a,   i, s) { s = "*" n "\r\n"
	for (i = 1; i <= n; i++) s = s "$" length(a[i]) "\r\n" a[i] "\r\n"
	printf "%s", s }
BEGIN { v = sprintf("%1000s", ""); gsub(/ /, "v", v)
	for (i = 0; i < 24000; i++) { a[1] = "SET"; a[2] = "k" i; a[3] = v; cmd(3, a) }
	for (i = 0; i < 24000; i += 2) { a[1] = "DEL"; a[2] = "k" i; cmd(2, a) }
	a[1] = "HSET"; a[2] = "h"; a[3] = "f"; a[4] = "x"; cmd(4, a)
	a[1] = "RPUSH"; a[2] = "l"; a[3] = "e1"; a[4] = "e2"; cmd(4, a)
	a[1] = "SADD"; a[2] = "s"; a[3] = "m"; cmd(3, a)
	a[1] = "ZADD"; a[2] = "z"; a[3] = "1.5"; a[4] = "m"; cmd(4, a)
	a[1] = "SET"; a[2] = "t"; a[3] = "x"; cmd(3, a)
	a[1] = "PEXPIREAT"; a[2] = "t"; a[3] = "4102444800000"; cmd(3, a)
	a[1] = "SELECT"; a[2] = "3"; cmd(2, a)
	a[1] = "SET"; a[2] = "in3"; a[3] = "three"; cmd(3, a) }' \
	>"$TMP/compact.resp"
run create "$TMP/h.pool" --size 64M
runin "$TMP/compact.resp" import "$TMP/h.pool"
expect "compact: the pool to compact is loaded" 0 '' "$ERR"
before=$(wc -c <"$TMP/h.pool" | tr -d ' ')
run compact "$TMP/h.pool"
expect "compact POOL" 0 'compacted from 67108864 bytes .* 12006 keys'
after=$(wc -c <"$TMP/h.pool" | tr -d ' ')
run info "$TMP/h.pool" --json --no-gc
live=$(json_num "$OUT" allocated_bytes)
meta=$(json_num "$OUT" chunks_off)
if [ -n "$live" ] && [ -n "$meta" ] &&
   [ $((after * 10)) -le $(((live + meta) * 11)) ] && [ "$after" -lt "$before" ]; then
	ok "compact: $before -> $after bytes, within 10% of live data $live + metadata $meta"
else
	bad "compact: $before -> $after bytes, live data '$live' + metadata '$meta'"
fi
run check "$TMP/h.pool"
expect "check of a compacted pool" 0 ': ok'
grep -q 'types: 12002 strings, 1 hashes (1 fields), 1 lists (2 elements), 1 sets (1 members), 1 sorted sets (1 members)' "$OUT" &&
	ok "compact: every key and type is there" ||
	bad "compact: every key and type is there"
run ttl "$TMP/h.pool" t --ms
[ "$rc" -eq 0 ] && [ "$(cat "$OUT")" -gt 1000000000 ] &&
	ok "compact keeps an expiry" || bad "compact keeps an expiry ($(cat "$OUT"))"
run get "$TMP/h.pool" in3 --db 3 --raw
expect "compact keeps database 3" 0 '^three$'
run get "$TMP/h.pool" k1 --raw
expect "compact keeps a value" 0 '^v{1000}$'
[ ! -e "$TMP/h.pool.compact" ] && [ ! -e "$TMP/h.pool.compact.resp" ] &&
	ok "compact leaves no temporary file" ||
	bad "compact leaves no temporary file"
: >"$TMP/h.pool.compact"
run compact "$TMP/h.pool"
expect "compact refuses when a temporary file is left" 1 'remove it first' "$ERR"
rm -f "$TMP/h.pool.compact"

# --- info --------------------------------------------------------------------
"$PKV" set "$POOL" k1 v1 >/dev/null && "$PKV" set "$POOL" k2 v2 --db 3 \
	--ex 1000 >/dev/null || bad "set for info"
before=$(fsum "$POOL")
run info "$POOL" --json
expect "info --json" 0 '"pool_size": 16777216'
grep -q '"clean_shutdown": true' "$OUT" && ok "info --json: clean_shutdown" ||
	bad "info --json: clean_shutdown"
if json_valid "$OUT"; then ok "info --json is valid JSON"; else
	bad "info --json is valid JSON"; fi
[ "$(json_num "$OUT" keys)" = 2 ] && ok "info --json counts 2 keys" ||
	bad "info --json counts 2 keys"
grep -q '"db": 3, "keys": 1, "expires": 1' "$OUT" &&
	ok "info --json: keys per database" || bad "info --json: keys per database"
grep -q '"gc": {"live_blocks": [1-9]' "$OUT" && ok "info --json: GC figures" ||
	bad "info --json: GC figures"
run info "$POOL"
grep -q '^  db3: keys=1,expires=1$' "$OUT" && ok "info: keys per database" ||
	bad "info: keys per database"
grep -q '^gc garbage: *0 blocks' "$OUT" && ok "info: no garbage" ||
	bad "info: no garbage"
grep -q 'size classes:' "$OUT" && ok "info: size classes" ||
	bad "info: size classes"
run info "$POOL" --no-gc
grep -q '^gc' "$OUT" && bad "info --no-gc shows no GC figures" ||
	ok "info --no-gc shows no GC figures"
[ "$(fsum "$POOL")" = "$before" ] && ok "info leaves the pool unchanged" ||
	bad "info leaves the pool unchanged"

CHUNK_HDR_OFF=$("$PKV" info "$POOL" --json | sed -n 's/.*"chunk_hdr_off": \([0-9]*\).*/\1/p')
CHUNKS_OFF=$("$PKV" info "$POOL" --json | sed -n 's/.*"chunks_off": \([0-9]*\).*/\1/p')
if [ -z "$CHUNK_HDR_OFF" ] || [ -z "$CHUNKS_OFF" ]; then
	bad "info --json gives chunk_hdr_off and chunks_off"
	cli_finish
fi

# --- check: a healthy pool ---------------------------------------------------
before=$(fsum "$POOL")
touch -d '2001-01-01' "$POOL" 2>/dev/null
mtime=$(ls -l --time-style=+%s "$POOL" 2>/dev/null | awk '{print $6}')
run check "$POOL"
expect "check says ok" 0 ': ok$'
[ -s "$ERR" ] && bad "check prints nothing on stderr when piped" ||
	ok "check prints nothing on stderr when piped"
grep -q 'reachable: .* unreachable: 0 blocks' "$OUT" &&
	ok "check: every block reachable" || bad "check: every block reachable"
[ "$(fsum "$POOL")" = "$before" ] && ok "check leaves the pool unchanged" ||
	bad "check leaves the pool unchanged"
[ "$(ls -l --time-style=+%s "$POOL" 2>/dev/null | awk '{print $6}')" = "$mtime" ] &&
	ok "check does not even touch its mtime" ||
	bad "check does not even touch its mtime"
run check "$POOL" --json
expect "check --json" 0 '"status": "ok"'
if json_valid "$OUT"; then ok "check --json is valid JSON"; else
	bad "check --json is valid JSON"; fi
run check "$POOL" --repair
expect "check --repair on a healthy pool: nothing to do" 0 'nothing to repair'
[ "$(fsum "$POOL")" = "$before" ] &&
	ok "check --repair leaves a healthy pool unchanged" ||
	bad "check --repair leaves a healthy pool unchanged"

# --- a pool in the middle of a table resize ----------------------------------
# Separate writes (no maintenance thread in the tool) leave a resize half
# done: both bucket arrays are live, and the check must follow both.
RES=$TMP/resize.pool
"$PKV" create "$RES" --size 16M >/dev/null
i=0
while [ $i -lt 300 ]; do
	"$PKV" set "$RES" "key:$i" "v$i" >/dev/null || break
	i=$((i + 1))
done
run check "$RES"
expect "check follows a table in the middle of a resize" 0 ': ok$'
grep -q 'being resized' "$OUT" && ok "and says a resize is running" ||
	ok "(the resize had finished: nothing more to see)"
run scan "$RES"
[ "$(sort -u "$OUT" | wc -l | tr -d ' ')" = 300 ] &&
	ok "scan finds the 300 keys across both arrays" ||
	bad "scan finds the 300 keys across both arrays"

# --- a file that is not a pool ---------------------------------------------
RAND=$TMP/random.bin
dd if=/dev/urandom of="$RAND" bs=1M count=1 2>/dev/null || exit 99
cp "$RAND" "$TMP/random.orig"
for cmd in info "get key" export; do
	# shellcheck disable=SC2086
	set -- $cmd
	run "$1" "$RAND" ${2:+"$2"}
	expect "$cmd on random bytes fails with 'not a pkv pool'" 1 \
		'not a pkv pool' "$ERR"
done
run check "$RAND"     # check reports its findings on stdout
expect "check on random bytes fails with 'not a pkv pool'" 1 'not a pkv pool'
if cmp -s "$RAND" "$TMP/random.orig"; then
	ok "the refused file is unchanged"
else
	bad "the refused file is unchanged"
fi

# --- a damaged header --------------------------------------------------------
HDR=$TMP/hdr.pool
cp "$POOL" "$HDR" || exit 99
poke "$HDR" 100 $(( ($(peek "$HDR" 100) + 1) % 256 ))
before=$(fsum "$HDR")
run check "$HDR"
expect "check on a damaged header exits 1" 1 'checksum mismatch'
run check "$HDR" --json
expect "check --json on a damaged header" 1 '"status": "damaged"'
if json_valid "$OUT"; then ok "check --json on a damaged pool is valid JSON"
else bad "check --json on a damaged pool is valid JSON"; fi
run check "$HDR" --repair
expect "check --repair refuses a damaged header" 1 \
	'cannot repair a damaged header' "$ERR"
run info "$HDR"
expect "info refuses a damaged header" 1 'checksum' "$ERR"
[ "$(fsum "$HDR")" = "$before" ] && ok "the damaged header is left as it was" ||
	bad "the damaged header is left as it was"

# --- a truncated pool ------------------------------------------------------
TRUNC=$TMP/trunc.pool
cp "$POOL" "$TRUNC" || exit 99
truncate -s 8M "$TRUNC" || exit 99
run info "$TRUNC"
expect "info on a pool truncated to half fails mentioning truncation" 1 \
	'truncat' "$ERR"
run check "$TRUNC"
expect "check on a pool truncated to half reports truncation" 1 'truncat'

# --- a damaged chunk header (the allocator) --------------------------------
CHK=$TMP/chunk.pool
cp "$POOL" "$CHK" || exit 99
poke "$CHK" $((CHUNK_HDR_OFF + 8 * 20)) 7      # kind 7 does not exist
before=$(fsum "$CHK")
run check "$CHK"
expect "check finds a damaged chunk header" 1 'chunk header at offset [0-9]+ is invalid'
run check "$CHK" --repair
expect "check --repair refuses it" 1 'cannot repair' "$ERR"
[ "$(fsum "$CHK")" = "$before" ] && ok "a refused repair changes nothing" ||
	bad "a refused repair changes nothing"

# heap_offset_of TEXT POOL -- where TEXT is in the pool's heap: its last
# place in the file.  On a disk (PKV_PERSIST=file) a new block also
# travels in its commit's log record, and the rings come before the heap.
heap_offset_of() {
	grep -obUa "$1" "$2" 2>/dev/null | tail -n 1 | cut -d: -f1
}

# --- a damaged key-value entry ---------------------------------------------
ENT=$TMP/entry.pool
"$PKV" set "$POOL" damage-me-please some-value >/dev/null || bad "set"
cp "$POOL" "$ENT" || exit 99
off=$(heap_offset_of damage-me-please "$ENT")
if [ -z "$off" ]; then
	bad "the key is found in the pool file (grep -b)"
else
	poke "$ENT" "$off" 88                       # 'd' -> 'X'
	before=$(fsum "$ENT")
	run check "$ENT"
	expect "check finds an entry whose key was damaged" 1 \
		'stored hash is not that of its key'
	run check "$ENT" --repair
	expect "check --repair refuses structural damage" 1 \
		'the pool was not changed' "$ERR"
	[ "$(fsum "$ENT")" = "$before" ] && ok "and indeed changes nothing" ||
		bad "and indeed changes nothing"
	# What is sound can be salvaged into a new pool.
	"$PKV" export "$ENT" --salvage >"$TMP/salvage.resp" 2>"$ERR"
	rc=$?
	expect "export --salvage of the damaged pool" 0 \
		'salvaged 2 keys; 1 damaged entries skipped' "$ERR"
	"$PKV" create "$TMP/salvaged.pool" --size 8M >/dev/null
	runin "$TMP/salvage.resp" import "$TMP/salvaged.pool"
	expect "the salvage loads into a new pool" 0 '2 keys set' "$ERR"
	run check "$TMP/salvaged.pool"
	expect "which is healthy" 0 ': ok$'
	run get "$TMP/salvaged.pool" k2 --db 3
	expect "with the sound keys" 0 '^v2$'
fi

# --- a damaged chain pointer -------------------------------------------------
# An entry's first word is its next pointer: make it point nowhere.
PTR=$TMP/pointer.pool
cp "$POOL" "$PTR" || exit 99
off=$(heap_offset_of damage-me-please "$PTR")
if [ -n "$off" ]; then
	printf 'AAAAAAAA' | dd of="$PTR" bs=1 seek=$((off - 40)) conv=notrunc \
		2>/dev/null
	run check "$PTR"
	expect "check finds a next pointer into nowhere" 1 \
		'next pointer of entry 0x[0-9a-f]+ .* not an allocated block'
	# The hash key is random per pool: when another key happens to sit
	# behind the damaged entry in its chain, it is lost too, and check
	# says so in its stripe's count ("says 2 keys ...; its chains hold
	# 1").  Every other key is salvaged.
	lost=$(sed -n 's/.*says \([0-9]*\) keys.*chains hold \([0-9]*\).*/\1 \2/p' \
		"$OUT" | awk '{ n += $1 - $2 } END { print n + 0 }')
	"$PKV" export "$PTR" --salvage >"$TMP/ptr.resp" 2>"$ERR"
	rc=$?
	expect "export --salvage does not follow it" 0 \
		"salvaged $((3 - lost)) keys" "$ERR"
fi

# --- a damaged allocation bitmap: an allocated, unreachable block ---------
# Chunk 0 is the run of the root's size class; its bitmap starts the
# chunk.  Setting a free block's bit leaks that block.
LEAK=$TMP/leak.pool
cp "$POOL" "$LEAK" || exit 99
b=$(peek "$LEAK" "$CHUNKS_OFF")
poke "$LEAK" "$CHUNKS_OFF" $((b | 64))
before=$(fsum "$LEAK")
run check "$LEAK"
expect "check finds an unreachable block (exit 3: repairable)" 3 \
	'1 unreachable block'
[ "$(fsum "$LEAK")" = "$before" ] && ok "check leaves the leaky pool unchanged" ||
	bad "check leaves the leaky pool unchanged"
run info "$LEAK"
expect "info shows it as garbage" 0 '^gc garbage: *1 blocks'
cp "$LEAK" "$TMP/leak2.pool"
run check "$LEAK" --repair
expect "check --repair reclaims it" 0 '1 block\(s\) reclaimed'
grep -q ': ok$' "$OUT" && ok "and the pool is then ok" || bad "and the pool is then ok"
run check "$LEAK"
expect "check after the repair" 0 ': ok$'
run gc "$TMP/leak2.pool"
expect "gc reclaims it too" 0 'reclaimed 1 blocks'
run check "$TMP/leak2.pool"
expect "check after gc" 0 ': ok$'
run gc "$TMP/leak2.pool" --json
expect "gc --json" 0 '"reclaimed_blocks": 0'
if json_valid "$OUT"; then ok "gc --json is valid JSON"; else
	bad "gc --json is valid JSON"; fi
run get "$LEAK" damage-me-please
expect "the keys survive the repair" 0 '^some-value$'

# --- an unclean shutdown (the clean flag cleared, as a crash leaves it) ----
UNC=$TMP/unclean.pool
cp "$POOL" "$UNC" || exit 99
poke "$UNC" 1024 0                              # pool_state.clean_shutdown
before=$(fsum "$UNC")
run info "$UNC"
expect "info shows an unclean shutdown" 0 '^shutdown: *unclean$'
run check "$UNC"
expect "check on an unclean pool: consistent, says so" 0 'shutdown: unclean'
[ "$(fsum "$UNC")" = "$before" ] && ok "check does not recover it in place" ||
	bad "check does not recover it in place"
run check "$UNC" --repair
expect "check --repair opens and closes it cleanly" 0 ': ok$'
run info "$UNC"
expect "it is clean afterwards" 0 '^shutdown: *clean$'

# --- usage errors ----------------------------------------------------------
for args in "" "frobnicate" "create" "create $TMP/u.pool" \
	    "create $TMP/u.pool --size 12X" "create $TMP/u.pool --size" \
	    "create $TMP/u.pool --size 16M --databases 0" \
	    "create $TMP/u.pool --size 16M --databases 129" \
	    "info" "info $POOL --bogus" "check $POOL extra" "check" \
	    "check $POOL --frob" "gc" "gc $POOL x" "get $POOL" "set $POOL k" \
	    "set $POOL k v --ex 0" "set $POOL k v --ex 1 --px 1" \
	    "set $POOL k v --nx --xx" "del $POOL" "ttl $POOL" "scan" \
	    "scan $POOL --count 0" "get $POOL k --db 128" "get $POOL k --db x" \
	    "export" "import" "export $POOL --frob"; do
	# shellcheck disable=SC2086
	run $args
	if [ $rc -eq 2 ]; then
		ok "usage error exits 2: pkv $args"
	else
		bad "usage error exits 2: pkv $args (exit $rc)"
	fi
done
if [ -e "$TMP/u.pool" ]; then
	bad "a usage error creates no file"
else
	ok "a usage error creates no file"
fi

run --version
expect "--version prints the version" 0 '^pkv [0-9]'
run --help
expect "--help prints usage" 0 'create'
for c in check export import scan; do
	grep -q "$c" "$OUT" && ok "--help mentions $c" || bad "--help mentions $c"
done

cli_finish
