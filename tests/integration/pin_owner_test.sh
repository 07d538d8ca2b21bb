#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck disable=SC2016,SC2317 # checks eval single-quoted tests; functions run through check
# A pin directory belongs to one daemon (SPEC §1). Daemon A protects two
# interfaces in its network namespace and enforces its list. Daemon B, in a
# namespace of its own with its own state directory and socket but the SAME
# pin directory (as two containers on one host with the default one would
# have), is refused with a message naming --bpf-pin-dir, and A's list, kernel
# maps, pins and verdicts on real traffic stay as they were; given its own
# --bpf-pin-dir, B runs. A second daemon on A's state directory while A runs
# is refused too. --uninstall refuses, removing nothing, while A runs, for
# another state directory, and from another network namespace (where an
# interface of the same name carries another daemon's egress recorder);
# --uninstall --interface IF removes IF's program and pins only, the other
# interface stays attached and filtering; without --interface it removes all
# of A's pins and nothing of B's.
#
# Run as root from the repository root; XDPGATE_BUILD names the build
# directory (default build).
set -u
cd "$(dirname "$0")/../.." || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}
# shellcheck source=scripts/netns-lib.sh
. scripts/netns-lib.sh
# shellcheck source=tests/integration/common.bash
. tests/integration/common.bash
# An operator's SSH session would make `activate` ask for --yes.
unset SSH_CONNECTION

# The shared pin directory: this run's own, standing for the default
# /sys/fs/bpf/xdpgate that two daemons on one host would both use.
XG_PINS=/sys/fs/bpf/xg-pinown-$XG_ID
PINS_B=/sys/fs/bpf/xg-pinown-b-$XG_ID
# A is netns-lib's daemon (its state dir, socket, receiver namespace); its
# second interface is R2. B's namespace holds an interface with the name of
# A's first (containers all have an eth0).
R1=$XG_RECEIVER_IF
R2=xgq$XG_ID
S2=xgp$XG_ID
NS_B=xg-pob-$XG_ID
SB_IF=xgo$XG_ID
STATE_B=$XG_TMP/state-b
SOCK_B=$XG_TMP/b.sock
CONFIG=$XG_TMP/xdpgate.toml

ALLOWED4=198.18.0.2
DENIED4=198.18.0.3
ALLOWED6=2001:db8::2
DENIED6=2001:db8::3
ALLOWED4_R2=198.18.1.2
DENIED4_R2=198.18.1.3
HOST4_R2=198.18.1.1
CHECKED="$ALLOWED4 $DENIED4 $ALLOWED6 $DENIED6 $ALLOWED4_R2 $DENIED4_R2"

B_PID=

# --- helpers -------------------------------------------------------------------

eq() { [ "$1" = "$2" ]; }
contains() { grep -qF -- "$2" <<<"$1"; }
in_b() { nsenter --net="/run/netns/$NS_B" "$@"; }

# start_b SOCKET STATE PINS: xdpgated in B's namespace, protecting its
# interface; B_PID is xdpgated itself (nsenter execs it).
start_b() {
	nsenter --net="/run/netns/$NS_B" "$XG_BUILD/xdpgated" --config "$CONFIG" \
		--interface "$R1" --socket "$1" --state-dir "$2" --bpf-pin-dir "$3" \
		>"$XG_TMP/b.log" 2>&1 &
	B_PID=$!
}
# up SOCKET PID: 0 once the daemon answers on SOCKET (within 15 s), 1 once
# it has exited or never answered.
up() {
	local i
	for i in $(seq 150); do
		kill -0 "$2" 2>/dev/null || return 1
		"$XG_BUILD/xdpgate" --socket "$1" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# stop_b: SIGTERM, then a bounded wait; the status is B's.
stop_b() {
	[ -n "$B_PID" ] || return 0
	kill -TERM "$B_PID" 2>/dev/null
	xg_wait_exit "$B_PID" 30
	local rc=$?
	B_PID=
	return $rc
}

# uninstall NS [FLAGS...]: xdpgated --uninstall in namespace NS; its output
# in OUT, its status returned.
uninstall() {
	local ns=$1
	shift
	OUT=$(timeout 30 nsenter --net="/run/netns/$ns" "$XG_BUILD/xdpgated" \
		--uninstall --config "$CONFIG" "$@" 2>&1)
}

# Everything A has in the kernel: what is pinned (names, map and link
# ids, the owner record), the allow lists as the kernel holds them and the
# mode. The outer allow maps are arrays of maps: dump the inner map.
pins_listing() {
	local f
	(cd "$1" 2>/dev/null && find . -mindepth 1 | sort) | while read -r f; do
		echo "$f $(pinned_object "$1/$f")"
	done
}
# pinned_object PATH: "map ID NAME", "link ID PROG_ID", or "dir".
pinned_object() {
	[ -d "$1" ] && echo dir && return
	bpftool -j map show pinned "$1" 2>/dev/null | jq -er 'select(.id) | "map \(.id) \(.name)"' ||
		bpftool -j link show pinned "$1" 2>/dev/null | jq -r 'select(.id) | "link \(.id) \(.prog_id)"'
}
kernel_lists() {
	local m inner
	for m in allow_v4 allow_v6 allow_v4_hosts allow_v6_hosts; do
		inner=$(bpftool -j map dump pinned "$XG_PINS/$m" |
			jq -r '.[0].value | reverse | map(ltrimstr("0x")) | join("")')
		echo "$m: $(bpftool -j map dump id $((16#${inner:-0})) | jq -c 'map(.key) | sort')"
	done
	echo "mode: $(bpftool -j map dump pinned "$XG_PINS/runtime_config" | jq -c '.[0].formatted.value.mode')"
}
kernel_state() { pins_listing "$XG_PINS" && kernel_lists; }
# A's list without the per-entry statistics (traffic changes those), and
# its check answers.
list_state() { xg_cli --json list --all | jq -c '[.items[] | del(.hits, .last_hit_at)]'; }
check_answers() {
	local a
	for a in $CHECKED; do
		xg_cli --json check "$a" || echo '{"error": "check failed"}'
	done | jq -c '{ip_address, allowed, matched: (.matched_entry.ip_range // null)}'
}

# programs_on NS_CMD IF: what is attached to IF, from rtnetlink in its
# namespace: "xdp PROGRAM" and "tc PROGRAM" lines.
programs_on() {
	local kind id
	"$1" bpftool -j net show dev "$2" |
		jq -r '.[0] | ((.xdp // [])[] | "xdp \(.id)"), ((.tc // [])[] | "tc \(.id)")' |
		while read -r kind id; do
			echo "$kind $(bpftool -j prog show id "$id" | jq -r .name)"
		done
}
# Probes A's two interfaces at once: allowed sources answered, unlisted
# ones dropped, on R2 as R2_EXPECTS (yes: filtering, no: not filtered).
check_filtering() {
	local label=$1 r2_filtering=${2:-yes} r2_denied=no
	[ "$r2_filtering" = no ] && r2_denied=yes
	plan yes "$label: $R1: the allowed IPv4 source pings" xg_ping $ALLOWED4 $XG_HOST4
	plan yes "$label: $R1: the allowed IPv6 source pings" xg_ping $ALLOWED6 $XG_HOST6
	plan no "$label: $R1: the unlisted IPv4 source is dropped" xg_ping $DENIED4 $XG_HOST4
	plan no "$label: $R1: the unlisted IPv6 source is dropped" xg_ping $DENIED6 $XG_HOST6
	plan yes "$label: $R2: the allowed source pings" xg_ping $ALLOWED4_R2 $HOST4_R2
	plan $r2_denied "$label: $R2: the unlisted source is $([ $r2_denied = no ] && echo dropped || echo answered)" \
		xg_ping $DENIED4_R2 $HOST4_R2
	plan_run
}
# A_* are taken once A enforces; a_unchanged LABEL compares with them.
a_unchanged() {
	check_same "$1: A's list is unchanged" "$A_LIST" "$(list_state)"
	check_same "$1: A's check answers are unchanged" "$A_CHECKS" "$(check_answers)"
	check_same "$1: A's pins, kernel lists and mode are unchanged" "$A_KERNEL" "$(kernel_state)"
	check "$1: A still enforces" mode_is enforce
	check_filtering "$1"
}

cleanup() {
	[ -n "$B_PID" ] && kill -KILL "$B_PID" 2>/dev/null && xg_wait_exit "$B_PID" 30
	for pid in $(ip netns pids "$NS_B" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null
	done
	in_b "$XG_BUILD/xdpgated" --uninstall --config "$CONFIG" --state-dir "$STATE_B" \
		--bpf-pin-dir "$PINS_B" >/dev/null 2>&1
	rm -rf "$PINS_B"
	ip netns del "$NS_B" 2>/dev/null
	xg_cleanup
}
trap cleanup EXIT

# --- tests -----------------------------------------------------------------------

test_a_enforces() {
	local a
	for a in $ALLOWED4 $ALLOWED6 $ALLOWED4_R2; do
		xg_cli add "$a" -d "A's" >/dev/null
		check "A: add $a" eq $? 0
	done
	xg_cli activate >/dev/null
	check "A: activate (enforce)" eq $? 0
	A_LIST=$(list_state)
	A_CHECKS=$(check_answers)
	check_same "A: check answers are the expected ones" \
		"$ALLOWED4=true $DENIED4=false $ALLOWED6=true $DENIED6=false $ALLOWED4_R2=true $DENIED4_R2=false " \
		"$(jq -r '"\(.ip_address)=\(.allowed)"' <<<"$A_CHECKS" | tr '\n' ' ')"
	A_KERNEL=$(kernel_state)
	check "A: the owner record is pinned" contains "$A_KERNEL" "./owner map "
	check "A: both interfaces' links are pinned" \
		eval 'contains "$A_KERNEL" "./$R1/link link " && contains "$A_KERNEL" "./$R2/link link "'
	check_same "A: XDP and the egress recorder on $R1" "xdp xdpgate_xdp
tc xdpgate_tc_egress" "$(programs_on xg_in_receiver "$R1")"
	check_filtering "A enforcing"
}

test_b_on_the_same_pins_is_refused() {
	local rc log
	start_b "$SOCK_B" "$STATE_B" "$XG_PINS"
	xg_wait_exit "$B_PID" 15
	rc=$?
	B_PID=
	log=$(cat "$XG_TMP/b.log")
	check "B on A's pin directory: refused (exit $rc)" \
		eval '[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]'
	check "B's message names --bpf-pin-dir $XG_PINS and A's state directory: $log" \
		eval 'contains "$log" "--bpf-pin-dir $XG_PINS" && contains "$log" "$XG_STATE"'
	check "B's message says what to do (a pin directory of its own)" \
		contains "$log" "pin directory of its own"
	check "B never answered on its socket" not test -S "$SOCK_B"
	check "nothing is attached to B's interface" eq "$(programs_on in_b "$R1")" ""
	a_unchanged "after B was refused"
}

test_b_in_its_own_directory() {
	start_b "$SOCK_B" "$STATE_B" "$PINS_B"
	check "B with --bpf-pin-dir $PINS_B of its own: runs" up "$SOCK_B" "$B_PID" ||
		sed 's/^/#   /' "$XG_TMP/b.log" >&2
	check "B: its interface is attached" eval \
		'[ "$("$XG_BUILD/xdpgate" --socket "$SOCK_B" --json status | jq -r ".interfaces[0].state")" = attached ]'
	check "B: its link is pinned in its own directory" test -e "$PINS_B/$R1/link"
	stop_b
	check "B stopped (exit $?)" eq $? 0
	a_unchanged "with B in its own directory"
}

test_a_twice_is_refused() {
	local out rc
	out=$(timeout 20 nsenter --net="/run/netns/$NS_B" "$XG_BUILD/xdpgated" \
		--config "$CONFIG" --interface "$R1" --socket "$XG_TMP/a2.sock" \
		--state-dir "$XG_STATE" --bpf-pin-dir "$XG_PINS" 2>&1)
	rc=$?
	check "a second daemon on A's state and pin directories while A runs: refused (exit $rc)" \
		eval '[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]'
	check "its message names --bpf-pin-dir and says another xdpgated runs there: $out" \
		eval 'contains "$out" "another xdpgated is running on --bpf-pin-dir $XG_PINS"'
	a_unchanged "after a second daemon on A's directories was refused"
}

test_uninstall_while_running_is_refused() {
	uninstall "$XG_RECEIVER" --state-dir "$XG_STATE" --bpf-pin-dir "$XG_PINS" --interface "$R2"
	check "--uninstall --interface $R2 while A runs: refused (exit $?)" not eq $? 0
	check "its message says xdpgated runs there: $OUT" \
		contains "$OUT" "xdpgated is running on --bpf-pin-dir $XG_PINS"
	a_unchanged "after --uninstall was refused while A runs"
}

test_uninstall_of_another_state_dir_is_refused() {
	local flags
	for flags in "" "--interface $R2"; do
		# shellcheck disable=SC2086 # $flags: separate words
		uninstall "$XG_RECEIVER" --state-dir "$STATE_B" --bpf-pin-dir "$XG_PINS" $flags
		check "--uninstall $flags with B's --state-dir on A's pins: refused (exit $?)" not eq $? 0
		check "its message names --bpf-pin-dir, --state-dir and A's state directory: $OUT" \
			eval 'contains "$OUT" "--bpf-pin-dir $XG_PINS" && contains "$OUT" "--state-dir" && contains "$OUT" "$XG_STATE"'
		check_same "--uninstall $flags of another state directory removed nothing" \
			"$A_KERNEL" "$(kernel_state)"
	done
	check_same "still on $R1: XDP and the egress recorder" "xdp xdpgate_xdp
tc xdpgate_tc_egress" "$(programs_on xg_in_receiver "$R1")"
	check_filtering "A stopped, foreign --uninstall refused"
}

test_uninstall_from_another_namespace_is_refused() {
	local b_pins
	b_pins=$(pins_listing "$PINS_B")
	# B's interface has the name of A's R1: from A's namespace, B's pins
	# would point at A's interface.
	uninstall "$XG_RECEIVER" --state-dir "$STATE_B" --bpf-pin-dir "$PINS_B"
	check "--uninstall of B's pins from A's namespace: refused (exit $?)" not eq $? 0
	check "its message says to run it in the interface's namespace: $OUT" \
		contains "$OUT" "network namespace"
	check_same "B's pins are all still there" "$b_pins" "$(pins_listing "$PINS_B")"
	check_same "A's $R1 keeps its XDP program and its egress recorder" "xdp xdpgate_xdp
tc xdpgate_tc_egress" "$(programs_on xg_in_receiver "$R1")"
	uninstall "$NS_B" --state-dir "$STATE_B" --bpf-pin-dir "$PINS_B"
	check "--uninstall of B's pins in B's namespace: done (exit $?)" eq $? 0
	check "B's pin directory is gone" not test -e "$PINS_B"
	check "nothing left on B's interface" eq "$(programs_on in_b "$R1")" ""
	check_same "A's pins, kernel lists and mode are unchanged" "$A_KERNEL" "$(kernel_state)"
	check_filtering "after B's uninstall"
}

test_uninstall_one_interface() {
	local before
	before=$(pins_listing "$XG_PINS" | grep -v "^\./$R2")
	uninstall "$XG_RECEIVER" --state-dir "$XG_STATE" --bpf-pin-dir "$XG_PINS" --interface "$R2"
	check "--uninstall --interface $R2: done (exit $?)" eq $? 0 || echo "#   $OUT" >&2
	check "$R2's pins are gone" not test -e "$XG_PINS/$R2"
	check_same "every other pin is still there, the same objects" "$before" "$(pins_listing "$XG_PINS")"
	check "nothing left on $R2 (XDP, egress recorder)" eq "$(programs_on xg_in_receiver "$R2")" ""
	check_same "$R1 keeps its XDP program and its egress recorder" "xdp xdpgate_xdp
tc xdpgate_tc_egress" "$(programs_on xg_in_receiver "$R1")"
	check_filtering "after --uninstall --interface $R2" no
}

test_uninstall_everything() {
	uninstall "$XG_RECEIVER" --state-dir "$XG_STATE" --bpf-pin-dir "$XG_PINS"
	check "--uninstall with A's --state-dir: done (exit $?)" eq $? 0 || echo "#   $OUT" >&2
	check "A's pin directory is gone" not test -e "$XG_PINS"
	check "nothing left on $R1" eq "$(programs_on xg_in_receiver "$R1")" ""
	check "the unlisted source on $R1 gets through" xg_ping $DENIED4 $XG_HOST4
}

# --- main ------------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - needs root (network namespaces, XDP)"
	exit 1
fi
xg_setup_pair $ALLOWED4 $DENIED4 $ALLOWED6 $DENIED6 || exit 1
xg_add_veth "$S2" "$R2" $HOST4_R2/24 2001:db8:1::1/64 $ALLOWED4_R2 $DENIED4_R2 || exit 1
ip netns add "$NS_B" &&
	ip link add "$R1" netns "$NS_B" type veth peer name "$SB_IF" netns "$XG_SENDER" &&
	in_b ip link set "$R1" up && xg_in_sender ip link set "$SB_IF" up || exit 1
# Small maps: the default capacity takes seconds to create here.
printf 'capacity = 4096\n' >"$CONFIG"
# A: netns-lib's daemon, on both interfaces.
if ! xg_start_daemon_from_config "$CONFIG" --interface "$R1" --interface "$R2"; then
	echo "not ok - daemon A started"
	exit 1
fi

test_a_enforces
test_b_on_the_same_pins_is_refused
test_b_in_its_own_directory
test_a_twice_is_refused
test_uninstall_while_running_is_refused
xg_stop_daemon TERM
check "A stopped (exit $?)" eq $? 0
test_uninstall_of_another_state_dir_is_refused
test_uninstall_from_another_namespace_is_refused
test_uninstall_one_interface
test_uninstall_everything

if [ "$failures" -ne 0 ]; then
	echo "# $failures check(s) failed; A's log:" >&2
	sed 's/^/#   /' "$XG_TMP/daemon.log" >&2
	echo "# B's last log:" >&2
	sed 's/^/#   /' "$XG_TMP/b.log" >&2
	exit 1
fi
echo "# all checks passed"
exit 0
