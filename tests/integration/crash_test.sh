#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck disable=SC2016,SC2317 # checks eval single-quoted tests; functions run through check
# Crash consistency (issue 6): xdpgated loses nothing and never half-applies.
#
# 1. SIGKILL at random points during a 100,000-entry import, replaces of the
#    whole list (those 100,000 by a list of 50,000, half of them new, and
#    that by a few entries) and a stream of single changes (add, disable,
#    delete), each repeated; kills built with bpftool cover the moments
#    between the two kernel writes of one host change; then the same at a
#    million entries: a kill during the import of 1,000,000 entries into the
#    small base list, and one during the replace of those by another
#    1,000,000, mostly different (XG_1M_ROUNDS=N for more rounds, which go on
#    with a replace back to base, then again). After each restart
#    the list is exactly the state before or after the interrupted change
#    (after, if it was acknowledged), every acknowledged single change is
#    there, the kernel's entry maps and host tables hold exactly the enabled
#    entries (read with bpftool, independently of the daemon), the XDP link
#    is the same pinned link carrying the same program, and pings from the
#    allowed senders got through throughout while an unlisted one stayed
#    dropped.
# 2. A full disk (the state dir on a 3 MB tmpfs, filled up): writes fail with
#    a clear error and status 503, the kernel keeps the list, reads work; once
#    space is freed, writes work again.
# 3. A state dir that turns read-only under the daemon (ext4 on a loop device
#    remounted read-only by an injected file-system error, as errors=
#    remount-ro does): the same; a start on the read-only dir is refused and
#    leaves the pins alone; after fsck and a read-write mount everything is
#    back.
# 4. A corrupted database (damaged header, damaged pages, a foreign SQLite
#    file): the daemon refuses to start, names the file and what to do, and
#    leaves the file and everything pinned in the kernel untouched.
#
# Run as root from the repository root; XDPGATE_BUILD names the build
# directory (default build). XG_SEED repeats a run's random kill points.
set -u
cd "$(dirname "$0")/../.." || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}
# shellcheck source=scripts/netns-lib.sh
. scripts/netns-lib.sh
# shellcheck source=tests/integration/common.bash
. tests/integration/common.bash
# An operator's SSH session would make `activate` ask for --yes.
unset SSH_CONNECTION

ALLOWED4=198.18.0.2 # on every list the test uses (xg_crash.py's BASE)
ALLOWED6=2001:db8::2
DENIED4=198.18.0.3 # on none
SEED=${XG_SEED:-$$}
RANDOM=$SEED
# Kill rounds: import, replace and back in turn (each round ends one step
# on). At least BIG_ROUNDS_MIN, more while the script is younger than
# BIG_UNTIL_S seconds, at most BIG_ROUNDS_MAX.
BIG_ROUNDS_MIN=${XG_BIG_ROUNDS_MIN:-3}
BIG_ROUNDS_MAX=${XG_BIG_ROUNDS_MAX:-9}
BIG_UNTIL_S=${XG_BIG_UNTIL_S:-85}
STREAM_ROUNDS=${XG_STREAM_ROUNDS:-3}
# Kill rounds at a million entries (import, replace, replace back, in turn):
# the two that make the first import and the first replace are the
# default; each costs one to two minutes here (see 1e).
M_ROUNDS=${XG_1M_ROUNDS:-2}
read -ra M_KILL_MS <<<"${XG_1M_KILL_MS:-}"
# A start re-reads 100,000 entries and may rebuild the kernel maps.
XG_START_TIMEOUT_S=30
STREAM_OPS=30 # single changes per stream (the kill usually ends it sooner)

SMALL_MNT='' RO_MNT='' RO_LOOP='' GEN1M_PID=''

cleanup() {
	local pid
	[ -d "$XG_TMP" ] && touch "$XG_TMP/traffic-stop"
	for pid in "${XG_TRAFFIC_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	xg_stop_daemon KILL
	[ -n "$GEN1M_PID" ] && kill "$GEN1M_PID" 2>/dev/null && wait "$GEN1M_PID"
	[ -n "$SMALL_MNT" ] && umount "$SMALL_MNT" 2>/dev/null
	[ -n "$RO_MNT" ] && umount "$RO_MNT" 2>/dev/null
	[ -n "$RO_LOOP" ] && losetup -d "$RO_LOOP" 2>/dev/null
	xg_cleanup
}
trap cleanup EXIT

# --- helpers -------------------------------------------------------------------

crash() { "$XG_PYTHON" tests/integration/xg_crash.py "$@"; }
phase() { echo "# --- $* (at ${SECONDS}s)"; }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
alive() { kill -0 "$1" 2>/dev/null; }
contains() { grep -qF -- "$2" <<<"$1"; }

# list_to FILE: the whole list (disabled entries too) as JSON, from the API
# (what `xdpgate --json list --all` prints, without its pretty-printing).
list_to() {
	curl -sf --unix-socket "$XG_SOCKET" -o "$1" \
		'http://localhost/api/admin/ip-allowlist?include_disabled=true'
}
id_of() { jq -r --arg r "$2" '.items[] | select(.ip_range == $r) | .id' "$1"; }

# restart LABEL: starts the daemon again (pins and state dir as before).
restart() {
	local t0
	t0=$(now_ms)
	check "$1: xdpgated starts again" xg_start_daemon || return 1
	echo "#   (up after $(($(now_ms) - t0)) ms)"
}

# The XDP side: the pinned link, and the program on the interface.
link_id() { bpftool -j link show pinned "$XG_PINS/$XG_RECEIVER_IF/link" 2>/dev/null | jq .id; }
link_prog_id() { bpftool -j link show pinned "$XG_PINS/$XG_RECEIVER_IF/link" 2>/dev/null | jq .prog_id; }
# "ID TAG" of the XDP program on the interface, empty when none is attached.
xdp_on_link() {
	xg_in_receiver ip -d link show "$XG_RECEIVER_IF" |
		sed -n 's/.*prog\/xdp id \([0-9]*\) name [^ ]* tag \([0-9a-f]*\).*/\1 \2/p'
}
attachment_ok() {
	local on
	on=$(xdp_on_link)
	[ "$(link_id)" = "$LINK0" ] && [ "${on#* }" = "$TAG0" ] &&
		[ "${on%% *}" = "$(link_prog_id)" ]
}
# Everything pinned, for "untouched" comparisons: the ids of the pinned maps
# and link, the program on the link, the allow-list contents and the mode.
pinned_state() {
	local m
	for m in allow_v4 allow_v6 allow_v4_hosts allow_v6_hosts entry_stats runtime_config; do
		echo "$m $(bpftool -j map show pinned "$XG_PINS/$m" | jq -c '[.id, .name]')"
	done
	echo "link $(link_id) prog $(link_prog_id) on interface $(xdp_on_link)"
	echo "mode $(bpftool -j map dump pinned "$XG_PINS/runtime_config" | jq -c '.[0].formatted.value.mode')"
	crash dump "$XG_PINS"
}

# check_kernel LABEL LIST.json: the kernel maps hold exactly LIST's enabled entries.
check_kernel() {
	local out
	out=$(crash kernel "$XG_PINS" "$2")
	check "$1: kernel maps equal the store: ${out%%$'\n'*}" [ $? -eq 0 ] ||
		echo "#   ${out//$'\n'/$'\n'#   }" >&2
}

# check_list_unchanged LABEL: the list is $XG_TMP/before.json exactly.
check_list_unchanged() {
	local out
	list_to "$XG_TMP/now.json"
	out=$(crash classify "$XG_TMP/before.json" "$XG_TMP/now.json")
	check "$1 ($out)" [ "$out" = before ]
}

# check_filtering LABEL: the allowed sender pings, the unlisted one is
# dropped (probed at once).
check_filtering() {
	plan yes "$1: the allowed sender pings" xg_ping $ALLOWED4 $XG_HOST4
	plan no "$1: the unlisted sender is dropped" xg_ping $DENIED4 $XG_HOST4
	plan_run
}

# check_attached LABEL
check_attached() {
	check "$1: same pinned XDP link, carrying the program on the interface (tag $TAG0)" attachment_ok ||
		echo "#   link $(link_id) prog $(link_prog_id), on interface: $(xdp_on_link)" >&2
}

# --- 1a/1b: import and replace, killed ---------------------------------------------

# The changes, in turn: base -> base+a (100,000) -> b (50,000) -> base.
BIG_OPS=("import a.csv" "replace b.csv" "replace base.csv")

# run_big KIND FILE [KILL_AFTER_MS]: import or replace FILE through the CLI;
# with KILL_AFTER_MS, SIGKILL the daemon that long after the CLI started.
# Sets OP_RC (the CLI's status) and OP_MS (its run time).
run_big() {
	local kind=$1 file=$2 args=() op t0
	[ "$kind" = replace ] && args=(--replace)
	t0=$(now_ms)
	xg_cli import "${args[@]}" "$XG_TMP/$file" >"$XG_TMP/op.out" 2>&1 &
	op=$!
	if [ -n "${3:-}" ]; then
		sleep "$(ms_to_s "$3")"
		xg_stop_daemon KILL
	fi
	wait "$op"
	OP_RC=$?
	OP_MS=$(($(now_ms) - t0))
}

declare -A OP_TIME
KILLS_BEFORE=0 KILLS_AFTER=0 KILLS_ACKED=0 RETRIES=0

# One uninterrupted run of each operation: it must work, and it gives the
# operation's duration, within which the kill rounds pick their points. (What
# a whole run leaves is checked in the kill rounds, each of which ends with
# its change done.) From here on, before.json is always the list as it is.
test_big_changes_measured() {
	local op kind file
	for op in "${BIG_OPS[@]}"; do
		read -r kind file <<<"$op"
		run_big "$kind" "$file"
		check "$kind $file (uninterrupted) is acknowledged, in $OP_MS ms" [ "$OP_RC" -eq 0 ] ||
			sed 's/^/#   /' "$XG_TMP/op.out" >&2
		OP_TIME[$kind-$file]=$OP_MS
	done
	list_to "$XG_TMP/before.json"
}

# Each round kills the next change of BIG_OPS, whatever list it starts from.
test_big_changes_killed() {
	local round kind file delay outcome label
	for ((round = 1; round <= BIG_ROUNDS_MAX; round++)); do
		[ "$round" -gt "$BIG_ROUNDS_MIN" ] && [ "$SECONDS" -ge "$BIG_UNTIL_S" ] && break
		read -r kind file <<<"${BIG_OPS[(round - 1) % ${#BIG_OPS[@]}]}"
		label="kill round $round ($kind $file)"
		# Anywhere in the measured run, and a little past its end.
		delay=$((RANDOM * OP_TIME[$kind-$file] * 21 / 20 / 32768))
		run_big "$kind" "$file" "$delay"
		restart "$label" || return 1
		list_to "$XG_TMP/now.json"
		outcome=$(crash classify "$XG_TMP/before.json" "$XG_TMP/now.json" "$kind" "$XG_TMP/$file")
		check "$label, killed after $delay of ~${OP_TIME[$kind-$file]} ms (CLI status $OP_RC): the list is the state before or after, never a mix ($outcome)" \
			eval '[ "$outcome" = before ] || [ "$outcome" = after ]'
		if [ "$OP_RC" -eq 0 ]; then
			KILLS_ACKED=$((KILLS_ACKED + 1))
			check "$label: it was acknowledged, so the list is the state after" [ "$outcome" = after ]
		fi
		check_kernel "$label" "$XG_TMP/now.json"
		check_attached "$label"
		if [ "$outcome" = after ]; then
			KILLS_AFTER=$((KILLS_AFTER + 1))
		else
			KILLS_BEFORE=$((KILLS_BEFORE + 1))
		fi
		# Finish an interrupted change (it must not block its retry), time
		# permitting: the next round starts from the list after it, as in an
		# uninterrupted cycle.
		if [ "$outcome" = before ] && [ "$SECONDS" -lt "$BIG_UNTIL_S" ]; then
			RETRIES=$((RETRIES + 1))
			run_big "$kind" "$file"
			check "$label: the retry is acknowledged" [ "$OP_RC" -eq 0 ] ||
				sed 's/^/#   /' "$XG_TMP/op.out" >&2
			list_to "$XG_TMP/now.json"
			outcome=$(crash classify "$XG_TMP/before.json" "$XG_TMP/now.json" "$kind" "$XG_TMP/$file")
			check "$label: after the retry the list is the state after ($outcome)" [ "$outcome" = after ]
		fi
		mv "$XG_TMP/now.json" "$XG_TMP/before.json"
	done
	echo "# $((round - 1)) kill rounds: $KILLS_BEFORE left the state before, $KILLS_AFTER the state after ($KILLS_ACKED acknowledged before the kill); $RETRIES retried"
}

# --- 1c: a stream of single changes, killed ---------------------------------------

# stream_run OPS FIRST: single changes through the CLI, one after another,
# until one fails; each line of $XG_TMP/ops.log says what was sent and the
# CLI's status. Adds new IPv4 hosts and IPv6 /64s (numbered from FIRST, so
# every stream adds ranges never listed before), disables and deletes added
# ones.
stream_run() {
	local i rc out id range enabled=() disabled=() pick n=$2
	: >"$XG_TMP/ops.log"
	for ((i = 0; i < $1; i++)); do
		case $((i % 5)) in
		0 | 3)
			range=198.18.$((32 + n / 250)).$((1 + n % 250))
			[ $((i % 5)) = 3 ] && range=2001:db8:5:$((n + 1))::/64
			n=$((n + 1))
			out=$(xg_cli --json add "$range" -d "s$n" 2>&1)
			rc=$?
			id=$(sed -n 's/^  "id": "\(ip_[0-9a-z]*\)".*/\1/p' <<<"$out")
			echo "add $range s$n $rc $id" >>"$XG_TMP/ops.log"
			[ "$rc" -eq 0 ] && enabled+=("$id $range")
			;;
		1 | 2)
			[ ${#enabled[@]} -gt 0 ] || continue
			pick=$((RANDOM % ${#enabled[@]}))
			read -r id range <<<"${enabled[pick]}"
			xg_cli disable "$id" >/dev/null 2>&1
			rc=$?
			echo "disable $id $range $rc" >>"$XG_TMP/ops.log"
			[ "$rc" -eq 0 ] && disabled+=("$id $range") &&
				enabled=("${enabled[@]:0:pick}" "${enabled[@]:pick+1}")
			;;
		4)
			if [ ${#disabled[@]} -gt 0 ]; then
				read -r id range <<<"${disabled[0]}"
			elif [ ${#enabled[@]} -gt 0 ]; then
				read -r id range <<<"${enabled[0]}"
			else
				continue
			fi
			xg_cli delete "$id" >/dev/null 2>&1
			rc=$?
			echo "delete $id $range $rc" >>"$XG_TMP/ops.log"
			if [ "$rc" -eq 0 ]; then
				if [ "${disabled[0]:-}" = "$id $range" ]; then
					disabled=("${disabled[@]:1}")
				else
					enabled=("${enabled[@]:1}")
				fi
			fi
			;;
		esac
		[ "$rc" -eq 0 ] || return
	done
}

test_stream_killed() {
	local round t0 stream_ms delay acked outcome label
	list_to "$XG_TMP/before.json"
	t0=$(now_ms)
	stream_run $STREAM_OPS 0
	stream_ms=$(($(now_ms) - t0))
	check "a stream of $STREAM_OPS single changes (uninterrupted) is acknowledged, in $stream_ms ms" \
		not grep -qv ' 0 \| 0$' "$XG_TMP/ops.log"
	list_to "$XG_TMP/now.json"
	outcome=$(crash stream "$XG_TMP/before.json" "$XG_TMP/ops.log" "$XG_TMP/now.json")
	check "uninterrupted stream: every change is in the list ($outcome)" [ $? -eq 0 ]
	check_kernel "uninterrupted stream" "$XG_TMP/now.json"
	for ((round = 1; round <= STREAM_ROUNDS; round++)); do
		label="stream kill round $round"
		list_to "$XG_TMP/before.json"
		delay=$((RANDOM * stream_ms / 32768))
		stream_run $STREAM_OPS $((round * STREAM_OPS)) &
		local stream=$!
		sleep "$(ms_to_s "$delay")"
		xg_stop_daemon KILL
		wait "$stream"
		acked=$(grep -c ' 0 ip_\| 0$' "$XG_TMP/ops.log")
		restart "$label" || return 1
		list_to "$XG_TMP/now.json"
		outcome=$(crash stream "$XG_TMP/before.json" "$XG_TMP/ops.log" "$XG_TMP/now.json")
		check "$label, killed after $delay ms, $acked changes acknowledged: $outcome" [ $? -eq 0 ] ||
			sed 's/^/#   ops: /' "$XG_TMP/ops.log" >&2
		check_kernel "$label" "$XG_TMP/now.json"
		check_attached "$label"
	done
}

# --- 1d: kills between the two kernel writes of a single host change -------------

# A host entry lives in the IPv4 record (the list a restart reads back) and
# in the host table, written one after the other (add: record first; delete:
# host table first), and the store commits after both. A random kill rarely
# lands between the two writes, so these build the state such a kill
# leaves, with bpftool, while the daemon is down.

# inner_id OUTER: the id of the table in the pinned outer map's slot 0.
inner_id() {
	local hex
	hex=$(bpftool -j map dump pinned "$XG_PINS/$1" | jq -r '.[0].value | reverse | map(ltrimstr("0x")) | join("")')
	echo $((16#$hex))
}

test_kill_between_kernel_writes() {
	local out id
	# An add of 198.18.33.250 killed after the record write: in the record
	# only (in the last slot, which nothing uses), not in the store. A
	# record is the address, the length and 1 for listed.
	list_to "$XG_TMP/before.json"
	xg_stop_daemon KILL
	bpftool map update id "$(inner_id allow_v4)" key hex ff ff 1f 00 \
		value hex c6 12 21 fa 20 01 00 00
	restart "add killed between the record and the host table" || return 1
	check_list_unchanged "add killed between the two writes: the list is the one before"
	check_kernel "add killed between the two writes" "$XG_TMP/now.json"

	# A delete of 198.18.33.251 killed after the host-table write: in the
	# record and the store, not in the host table.
	id=$(xg_cli --json add 198.18.33.251 -d between | jq -r .id)
	list_to "$XG_TMP/before.json"
	xg_stop_daemon KILL
	bpftool map delete id "$(inner_id allow_v4_hosts)" key hex c6 12 21 fb
	restart "delete killed between the host table and the record" || return 1
	check_list_unchanged "delete killed between the two writes: the list is the one before"
	check "delete killed between the two writes: 198.18.33.251 is still allowed" \
		eval '[ "$(xg_cli --json check 198.18.33.251 | jq -r .matched_entry.id)" = "$id" ]'
	out=$(xg_cli delete "$id" 2>&1)
	check "delete killed between the two writes: deleting it again works ($out)" [ $? -eq 0 ]
	list_to "$XG_TMP/now.json"
	check_kernel "delete killed between the two writes, deleted again" "$XG_TMP/now.json"
	check_attached "kills between kernel writes"
}

# --- 1e: a million entries: import and replace, killed -----------------------------

# The changes at a million entries, in turn: base -> c (1,000,000: base and
# others) -> d (1,000,000: base, a tenth of c's others, 900,000 new) -> base.
# xg_crash.py gen1m writes c.csv and d.csv in the background from the start.
M_OPS=("import c.csv" "replace d.csv" "replace base.csv")
# Kill points: in [10%, 90%] of an estimate of the change's duration (an
# uninterrupted run of each would cost a minute more): the 100,000-entry
# import's measured time times 10 for the import of c, the import of c's
# (measured when it was retried, else estimated) times 2 for the replace by d
# (the benchmarks' ratio), times 1 for the replace by base.
declare -A M_EST

# million_round ROUND: kills the next change of M_OPS, restarts, checks.
million_round() {
	local round=$1 kind file est delay outcome out t0 label
	read -r kind file <<<"${M_OPS[(round - 1) % ${#M_OPS[@]}]}"
	label="1M kill round $round ($kind $file)"
	est=${M_EST[$kind-$file]}
	delay=$((est / 10 + RANDOM * (est * 8 / 10) / 32768))
	# XG_1M_KILL_MS="MS MS ...": the kill points of a failed run (they
	# depend on the measured times, which XG_SEED does not repeat).
	[ -n "${M_KILL_MS[round - 1]:-}" ] && delay=${M_KILL_MS[round - 1]}
	run_big "$kind" "$file" "$delay"
	echo "#   $label: killed after $delay ms of an estimated $est (the CLI ran $OP_MS ms, status $OP_RC)"
	restart "$label" || return 1
	t0=$(now_ms)
	list_to "$XG_TMP/now.json"
	echo "#   (list read in $(($(now_ms) - t0)) ms)"
	t0=$(now_ms)
	out=$(crash after-kill "$XG_TMP/before.json" "$XG_TMP/now.json" "$kind" "$XG_TMP/$file" "$XG_PINS")
	echo "#   (list classified and kernel maps compared in $(($(now_ms) - t0)) ms)"
	outcome=$(sed -n 's/^list: //p' <<<"$out")
	check "$label, killed after $delay ms (CLI status $OP_RC): the list is the state before or after, never a mix ($outcome)" \
		eval '[ "$outcome" = before ] || [ "$outcome" = after ]'
	if [ "$OP_RC" -eq 0 ]; then
		KILLS_ACKED=$((KILLS_ACKED + 1))
		check "$label: it was acknowledged, so the list is the state after" [ "$outcome" = after ]
	fi
	check "$label: kernel maps equal the store: $(sed -n '0,/^kernel: /s/^kernel: //p' <<<"$out")" \
		eval 'grep -q "^kernel: entries" <<<"$out" && ! grep -q "differ from the store" <<<"$out"' ||
		echo "#   ${out//$'\n'/$'\n'#   }" >&2
	check_attached "$label"
	[ "$outcome" = before ] && KILLS_BEFORE=$((KILLS_BEFORE + 1))
	[ "$outcome" = after ] && KILLS_AFTER=$((KILLS_AFTER + 1))
	# The next round starts from the state after: retry an interrupted change
	# (not after the last round: at a million entries that costs a minute).
	if [ "$outcome" = before ] && [ "$round" -lt "$M_ROUNDS" ]; then
		RETRIES=$((RETRIES + 1))
		run_big "$kind" "$file"
		check "$label: the retry is acknowledged, in $OP_MS ms" [ "$OP_RC" -eq 0 ] ||
			sed 's/^/#   /' "$XG_TMP/op.out" >&2
		[ "$kind $file" = "import c.csv" ] && M_EST[replace-d.csv]=$((2 * OP_MS))
		list_to "$XG_TMP/now.json"
		outcome=$(crash classify "$XG_TMP/before.json" "$XG_TMP/now.json" "$kind" "$XG_TMP/$file")
		check "$label: after the retry the list is the state after ($outcome)" [ "$outcome" = after ]
	fi
	mv "$XG_TMP/now.json" "$XG_TMP/before.json"
}

test_million_killed() {
	local round XG_START_TIMEOUT_S=240 # a start re-reads a million entries
	KILLS_BEFORE=0 KILLS_AFTER=0 KILLS_ACKED=0 RETRIES=0
	check "the million-entry lists were written (xg_crash.py gen1m, seed $SEED)" wait "$GEN1M_PID" || return 1
	# From the base list, wherever the rounds above stopped.
	run_big replace base.csv
	check "replace base.csv before the 1M rounds is acknowledged, in $OP_MS ms" [ "$OP_RC" -eq 0 ] ||
		return 1
	list_to "$XG_TMP/before.json"
	M_EST[import-c.csv]=$((10 * ${OP_TIME[import-a.csv]}))
	M_EST[replace-d.csv]=$((2 * ${M_EST[import-c.csv]}))
	M_EST[replace-base.csv]=${M_EST[import-c.csv]}
	for ((round = 1; round <= M_ROUNDS; round++)); do
		phase "1M kill round $round"
		million_round "$round" || return 1
	done
	echo "# $M_ROUNDS kill rounds at 1M: $KILLS_BEFORE left the state before, $KILLS_AFTER the state after ($KILLS_ACKED acknowledged before the kill); $RETRIES retried"
}

# --- 2/3: full disk, read-only state dir -------------------------------------------

# refused_writes LABEL WHAT_THE_MESSAGE_SAYS: writes through the CLI (add,
# replace, delete) and the API fail with store_write_failed and change
# nothing; reads and the data path go on.
refused_writes() {
	local label=$1 says=$2 out rc code
	out=$(xg_cli add 198.18.9.9 -d refused 2>&1)
	rc=$?
	check "$label: add fails, CLI status 1" [ "$rc" -eq 1 ]
	check "$label: the CLI says $says and names the state dir ($out)" \
		eval 'contains "$out" "$says" && contains "$out" "$XG_STATE"'
	out=$(xg_cli import --replace "$XG_TMP/base.csv" 2>&1)
	check "$label: replace fails, CLI status 1" [ $? -eq 1 ]
	out=$(xg_cli delete "$(id_of "$XG_TMP/before.json" 198.18.64.0/18)" 2>&1)
	check "$label: delete fails, CLI status 1" [ $? -eq 1 ]
	code=$(curl -s --unix-socket "$XG_SOCKET" -o "$XG_TMP/api.out" -w '%{http_code}' \
		-H 'Content-Type: application/json' -d '{"ip_range": "198.18.9.10"}' \
		http://localhost/api/admin/ip-allowlist)
	check "$label: POST through the API gets 503 store_write_failed ($code $(jq -c .error.code "$XG_TMP/api.out"))" \
		eval '[ "$code" = 503 ] && [ "$(jq -r .error.code "$XG_TMP/api.out")" = store_write_failed ]'
	check "$label: xdpgated is still running" alive "$XG_DAEMON_PID"
	check_list_unchanged "$label: list still works and is unchanged"
	check "$label: status still works" eval 'xg_cli status >/dev/null'
	check "$label: check still works (allowed sender allowed)" \
		eval '[ "$(xg_cli --json check $ALLOWED4 | jq .allowed)" = true ]'
	check_same "$label: what is pinned in the kernel is unchanged" "$PINNED0" "$(pinned_state)"
	check_filtering "$label"
}

# use_state_dir DIR: restarts the daemon on DIR with the small list, enforcing.
# The pins belong to the old state directory: that daemon's --uninstall
# removes them first, and the one on DIR pins its own.
use_state_dir() {
	xg_stop_daemon TERM
	xg_in_receiver "$XG_BUILD/xdpgated" --uninstall --state-dir "$XG_STATE" \
		--bpf-pin-dir "$XG_PINS" >>"$XG_TMP/daemon.log" 2>&1
	check "the pins of $XG_STATE are removed" [ $? -eq 0 ] || return 1
	XG_STATE=$1
	check "xdpgated starts on $1" xg_start_daemon || return 1
	xg_cli import "$XG_TMP/small.csv" >/dev/null &&
		xg_cli disable "$(xg_cli --json list | jq -r '.items[] | select(.ip_range == "198.18.200.0/24") | .id')" >/dev/null &&
		xg_cli activate >/dev/null
	check "small list imported and enforced on $1" [ $? -eq 0 ]
	list_to "$XG_TMP/before.json"
	PINNED0=$(pinned_state)
}

test_full_disk() {
	SMALL_MNT=$XG_TMP/small
	mkdir -p "$SMALL_MNT"
	mount -t tmpfs -o size=3m "xg-crash-$XG_ID" "$SMALL_MNT" || {
		check "a 3 MB tmpfs mounted" false
		return 1
	}
	use_state_dir "$SMALL_MNT/state" || return 1
	# Fill it to the last block.
	dd if=/dev/zero of="$SMALL_MNT/filler" bs=64k status=none 2>/dev/null
	dd if=/dev/zero of="$SMALL_MNT/filler2" bs=1k status=none 2>/dev/null
	check "the state dir's file system is full" \
		[ "$(df --output=avail -B1 "$SMALL_MNT" | tail -1)" -lt 4096 ]
	refused_writes "disk full" "disk is full"
	rm -f "$SMALL_MNT/filler" "$SMALL_MNT/filler2"
	check "space freed: add works again" eval 'xg_cli add 198.18.9.9 -d after-full >/dev/null'
	list_to "$XG_TMP/now.json"
	check "space freed: the new entry is listed" \
		eval '[ -n "$(id_of "$XG_TMP/now.json" 198.18.9.9)" ]'
	check_kernel "space freed" "$XG_TMP/now.json"
	check "space freed: the daemon's entry and the kernel agree on 198.18.9.9" \
		eval '[ "$(xg_cli --json check 198.18.9.9 | jq -r .matched_entry.ip_range)" = 198.18.9.9 ]'
}

test_read_only() {
	local out rc loop_name
	RO_MNT=$XG_TMP/ro
	mkdir -p "$RO_MNT"
	truncate -s 32M "$XG_TMP/ro.img"
	mkfs.ext4 -q -F -m 0 "$XG_TMP/ro.img" &&
		RO_LOOP=$(losetup -f --show "$XG_TMP/ro.img") &&
		mount -o errors=remount-ro "$RO_LOOP" "$RO_MNT"
	check "an ext4 file system on a loop device mounted" [ $? -eq 0 ] || return 1
	loop_name=${RO_LOOP##*/}
	use_state_dir "$RO_MNT/state" || return 1
	# What ext4 does on a metadata error with errors=remount-ro.
	echo 1 >"/sys/fs/ext4/$loop_name/trigger_fs_error"
	check "the state dir's file system went read-only under the daemon" \
		eval 'touch "$RO_MNT/probe" 2>/dev/null; [ ! -e "$RO_MNT/probe" ]'
	refused_writes "read-only state dir" "read-only"

	# Restarting on it: refused, and the pins stay as they are.
	xg_stop_daemon TERM
	out=$(timeout 20 nsenter --net="/run/netns/$XG_RECEIVER" "$XG_BUILD/xdpgated" \
		--interface "$XG_RECEIVER_IF" --socket "$XG_SOCKET" \
		--state-dir "$XG_STATE" --bpf-pin-dir "$XG_PINS" 2>&1)
	rc=$?
	check "start on the read-only state dir is refused (status $rc)" \
		eval '[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]'
	check "the refusal names the state dir and says it is read-only: $out" \
		eval 'contains "$out" "$XG_STATE" && contains "$out" "read-only"'
	check_same "refused start: what is pinned in the kernel is unchanged" "$PINNED0" "$(pinned_state)"
	check_filtering "refused start"

	# Repaired: fsck, mount read-write, start; nothing acknowledged was lost.
	umount "$RO_MNT" && e2fsck -fy "$RO_LOOP" >/dev/null 2>&1
	mount "$RO_LOOP" "$RO_MNT"
	check "after fsck the file system mounts read-write" [ $? -eq 0 ]
	check "xdpgated starts on the repaired state dir" xg_start_daemon || return 1
	check_list_unchanged "repaired: the list is the one before the file system went read-only"
	check "repaired: add works again" eval 'xg_cli add 198.18.9.9 -d after-ro >/dev/null'
	list_to "$XG_TMP/now.json"
	check_kernel "repaired" "$XG_TMP/now.json"
}

# --- 4: corrupted database ------------------------------------------------------------

# refused_start LABEL: the daemon must refuse the damaged file, say so, and
# touch neither the file nor the pins.
refused_start() {
	local label=$1 out rc sum
	sum=$(sha256sum <"$DB")
	out=$(timeout 20 nsenter --net="/run/netns/$XG_RECEIVER" "$XG_BUILD/xdpgated" \
		--interface "$XG_RECEIVER_IF" --socket "$XG_SOCKET" \
		--state-dir "$XG_STATE" --bpf-pin-dir "$XG_PINS" 2>&1)
	rc=$?
	check "$label: start refused (status $rc)" eval '[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]'
	check "$label: the message names the file and what to do: $out" \
		eval 'contains "$out" "$DB" && contains "$out" "backup" && contains "$out" "move it aside"'
	check "$label: the file was left untouched" [ "$(sha256sum <"$DB")" = "$sum" ]
	check_same "$label: what is pinned in the kernel is unchanged" "$PINNED0" "$(pinned_state)"
	check_filtering "$label"
}

test_corrupt_database() {
	local pages
	DB=$XG_STATE/xdpgate.db
	list_to "$XG_TMP/before.json"
	xg_stop_daemon TERM
	check "stopped cleanly: everything is in $DB (no -wal left)" [ ! -e "$DB-wal" ]
	cp "$DB" "$XG_TMP/good.db"
	PINNED0=$(pinned_state)

	printf 'this is not a database, it was overwritten' |
		dd of="$DB" bs=1 seek=0 conv=notrunc status=none
	refused_start "damaged header"

	cp "$XG_TMP/good.db" "$DB"
	pages=$(($(stat -c %s "$DB") / 4096))
	# Every page but the first (the schema) and the last: table and index
	# pages of the entries and the audit log.
	head -c $(((pages - 2) * 4096)) /dev/urandom |
		dd of="$DB" bs=4096 seek=1 conv=notrunc status=none
	refused_start "damaged pages ($((pages - 2)) of $pages)"

	rm -f "$DB"
	sqlite3 "$DB" 'CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ("x");'
	refused_start "a foreign SQLite file"

	cp "$XG_TMP/good.db" "$DB"
	check "restored from the copy: xdpgated starts" xg_start_daemon || return 1
	check_list_unchanged "restored: the list is the one before"
	check_kernel "restored" "$XG_TMP/now.json"
}

# --- main ------------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - needs root (network namespaces, XDP, mounts)"
	exit 1
fi
echo "# seed $SEED (XG_SEED=$SEED repeats the kill points, and the 1M lists; XG_1M_KILL_MS=\"MS MS\" the 1M rounds' kill points, printed there)"
xg_setup_pair $ALLOWED4 $DENIED4 $ALLOWED6 || exit 1
crash gen "$XG_TMP" || exit 1
crash gen1m "$XG_TMP" "$SEED" &
GEN1M_PID=$!
check "xdpgated started" xg_start_daemon || exit 1
xg_cli import "$XG_TMP/base.csv" >/dev/null &&
	xg_cli disable "$(xg_cli --json list | jq -r '.items[] | select(.ip_range == "198.18.200.0/24") | .id')" >/dev/null &&
	xg_cli activate >/dev/null
check "base list imported (one entry disabled) and enforced" [ $? -eq 0 ] || exit 1
LINK0=$(link_id)
TAG0=$(xdp_on_link)
TAG0=${TAG0#* }
check "the XDP link is pinned and carries the program" attachment_ok || exit 1
check "enforcing: the allowed sender pings" xg_ping $ALLOWED4 $XG_HOST4
check "enforcing: the allowed IPv6 sender pings" xg_ping $ALLOWED6 $XG_HOST6 || {
	xg_in_sender ip -6 neigh show >&2
	xg_in_sender ip -6 addr show >&2
	xg_cli --json status | jq -c '.interfaces[0].counters' >&2
}
check "enforcing: the unlisted sender is dropped" not xg_ping $DENIED4 $XG_HOST4

xg_traffic_start $ALLOWED4 $ALLOWED6 $DENIED4
phase stream killed
test_stream_killed
phase kill between kernel writes
test_kill_between_kernel_writes
phase big changes measured
test_big_changes_measured
phase big changes killed
test_big_changes_killed
phase 1M changes killed
test_million_killed
xg_traffic_stop
for src in $ALLOWED4 $ALLOWED6; do
	read -r sent got <<<"$(xg_traffic_result "$src")"
	check "pings from the allowed sender $src throughout every kill: all $sent answered ($got)" \
		eval '[ "$sent" -gt 0 ] && [ "$sent" -eq "$got" ]' ||
		grep -v '^$' "$XG_TMP/traffic-$src.log" | tail -6 | sed 's/^/#   /' >&2
done
read -r sent got <<<"$(xg_traffic_result $DENIED4)"
check "pings from the unlisted sender throughout: none of $sent answered ($got)" \
	eval '[ "$sent" -gt 0 ] && [ "$got" -eq 0 ]'

phase full disk
test_full_disk
phase corrupt database
test_corrupt_database
phase read only
test_read_only

echo "# runtime ${SECONDS}s"
if [ "$failures" -ne 0 ]; then
	echo "# $failures check(s) failed; daemon log (last 40 lines):" >&2
	tail -40 "$XG_TMP/daemon.log" | sed 's/^/#   /' >&2
	exit 1
fi
echo "# all checks passed"
exit 0
