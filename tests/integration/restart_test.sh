#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck disable=SC2016,SC2317 # jq programs in single quotes; functions run through check
# Restarting xdpgated never interrupts filtering: populate the list and
# enforce, then stop the daemon with SIGTERM (filtering stays: the program
# stays on the link, allowed sources pass, others are dropped), start it
# again (same list, ids, timestamps, check answers, kernel maps, XDP link),
# then the same after SIGKILL. Pings run throughout both restarts: no allowed
# packet may be lost and no denied one answered. Last, --uninstall leaves no
# pin and no program on the interface.
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

ALLOWED4=198.18.0.2
DENIED4=198.18.0.3
ALLOWED6=2001:db8::2
DENIED6=2001:db8::3
# Addresses whose check answers must survive every restart: hosts, inside a
# network, inside a disabled network, outside everything.
CHECKED="$ALLOWED4 $DENIED4 198.18.64.7 198.18.200.1 $ALLOWED6 $DENIED6 2001:db8:1::5 2001:db8:2::1"

RC=
STOPPED_PID=

# --- helpers -----------------------------------------------------------------

# check, check_same and not come from common.bash.
eq() { [ "$1" = "$2" ]; }
alive() { kill -0 "$1" 2>/dev/null; }
# jqt ARGS...: jq -e, output discarded (a test of the input).
jqt() { jq -e "$@" >/dev/null; }
# all_answered SENT RECEIVED / none_answered SENT RECEIVED
all_answered() { [ "$1" -gt 0 ] && [ "$1" -eq "$2" ]; }
none_answered() { [ "$1" -gt 0 ] && [ "$2" -eq 0 ]; }

# netns-lib's xg_start_daemon runs the daemon under a backgrounded shell
# function, so its XG_DAEMON_PID is that subshell's: signals sent by
# xg_stop_daemon never reach xdpgated. Here the subshell execs nsenter, which
# execs xdpgated, so XG_DAEMON_PID is the daemon itself (and xg_stop_daemon /
# xg_cleanup signal the right process).
rt_start_daemon() {
	(exec nsenter --net="/run/netns/$XG_RECEIVER" "$XG_BUILD/xdpgated" \
		--interface "$XG_RECEIVER_IF" --socket "$XG_SOCKET" \
		--state-dir "$XG_STATE" --bpf-pin-dir "$XG_PINS") \
		>>"$XG_TMP/daemon.log" 2>&1 &
	XG_DAEMON_PID=$!
	local i
	for i in $(seq 150); do
		kill -0 "$XG_DAEMON_PID" 2>/dev/null || break
		# (and still alive: not some other daemon answering on the socket)
		xg_cli status >/dev/null 2>&1 && kill -0 "$XG_DAEMON_PID" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# xdpgated did not come up; its log:" >&2
	sed 's/^/#   /' "$XG_TMP/daemon.log" >&2
	return 1
}

# rt_stop_daemon SIGNAL: signals xdpgated and waits for it; RC is its status.
rt_stop_daemon() {
	STOPPED_PID=$XG_DAEMON_PID
	xg_stop_daemon "$1"
	RC=$?
}

cleanup() {
	local pid
	[ -d "$XG_TMP" ] && touch "$XG_TMP/traffic-stop"
	for pid in "${XG_TRAFFIC_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	xg_cleanup
}
trap cleanup EXIT

# --- what must survive a restart ----------------------------------------------

# The list without the per-entry statistics (traffic changes those).
list_state() {
	xg_cli --json list --all | jq -c '[.items[] | del(.hits, .last_hit_at)]'
}
# id → hits, to check the counters are kept (never reset).
list_hits() {
	xg_cli --json list --all | jq -c '[.items[] | {(.id): .hits}] | add'
}
check_answers() {
	local a
	for a in $CHECKED; do
		xg_cli --json check "$a" || echo '{"error": "check failed"}'
	done | jq -c '{ip_address, allowed, restriction_active, matched: (.matched_entry.id // null)}'
}
# The content of the allow-list records and host maps (the pinned outer
# maps are arrays of maps: dump the inner map they point at), and the mode.
# The records have rows free: only their listed rows.
ALLOW_MAPS="allow_v4 allow_v6 allow_v4_hosts allow_v6_hosts"
DUMPED_MAPS="allow_v4_hosts allow_v6_hosts"
map_state() {
	local m ids
	echo "allow_v4: $("$XG_PYTHON" tests/integration/xg_crash.py record "$XG_PINS" v4)"
	echo "allow_v6: $("$XG_PYTHON" tests/integration/xg_crash.py record "$XG_PINS" v6)"
	for m in $DUMPED_MAPS; do
		bpftool -j map dump pinned "$XG_PINS/$m"
	done | jq -r '.[0].value | reverse | map(ltrimstr("0x")) | join("")' >"$XG_TMP/inner-ids"
	mapfile -t ids <"$XG_TMP/inner-ids"
	# shellcheck disable=SC2086 # $DUMPED_MAPS: one name per line
	for m in "${ids[@]}"; do
		bpftool -j map dump id $((16#${m:-0}))
	done | jq -c 'map({key, value}) | sort' | paste -d ' ' <(printf '%s:\n' $DUMPED_MAPS) -
	echo "mode: $(bpftool -j map dump pinned "$XG_PINS/runtime_config" | jq -c '.[0].formatted.value.mode')"
}
# map_counts MAP_STATE: "NAME=ELEMENTS " for each allow map.
map_counts() {
	local line
	while IFS= read -r line; do
		case $line in
		allow_*) printf '%s=%s ' "${line%%:*}" "$(jq length <<<"${line#*: }")" ;;
		esac
	done <<<"$1"
}
# The ids of the pinned maps themselves: re-opened, not re-created.
pinned_map_ids() {
	local m
	for m in $ALLOW_MAPS entry_stats verdict_counters runtime_config host_filter; do
		bpftool -j map show pinned "$XG_PINS/$m"
	done | jq -c '[.id, .name]'
}
link_id() { bpftool -j link show pinned "$XG_PINS/$XG_RECEIVER_IF/link" | jq .id; }
# "prog/xdp id N name xdpgate_xdp tag T": empty when no XDP program is attached.
xdp_on_link() {
	xg_in_receiver ip -d link show "$XG_RECEIVER_IF" |
		sed -n 's/.*\(prog\/xdp id [0-9]* name [^ ]* tag [0-9a-f]*\).*/\1/p'
}
xdp_tag() { sed -n 's/.* tag //p' <<<"$(xdp_on_link)"; }
status_summary() {
	xg_cli --json status |
		jq -c '{mode, restriction_active, entries, ifs: [.interfaces[] | {name, state, attach_mode}]}'
}

# --- tests -------------------------------------------------------------------

test_populate_and_enforce() {
	local a
	for a in "$ALLOWED4 -d v4-host" "198.18.64.0/18 -d v4-net" \
		"198.18.200.0/24 -d v4-disabled --disabled" "$ALLOWED6 -d v6-host" \
		"2001:db8:1::/48 -d v6-net" "2001:db8:2::/64 -d v6-disabled --disabled"; do
		# shellcheck disable=SC2086 # the entry's words are separate arguments
		xg_cli add $a >/dev/null
		check "add $a" eq $? 0
	done
	# One entry with updated_at set, so that timestamp is compared too.
	xg_cli update "$(xg_cli --json list | jq -r '.items[] | select(.ip_range == "198.18.64.0/18") | .id')" \
		-d "v4 net, updated" >/dev/null
	check "update an entry" eq $? 0
	xg_cli activate >/dev/null
	check "activate (enforce)" eq $? 0

	LIST0=$(list_state)
	check "the list holds 6 entries, 2 disabled" eq \
		"$(jq -c '[length, ([.[] | select(.enabled == false)] | length)]' <<<"$LIST0")" "[6,2]"
	CHECKS0=$(check_answers)
	check_same "check answers before any restart are the expected ones" \
		"$ALLOWED4=true $DENIED4=false 198.18.64.7=true 198.18.200.1=false $ALLOWED6=true $DENIED6=false 2001:db8:1::5=true 2001:db8:2::1=false " \
		"$(jq -r '"\(.ip_address)=\(.allowed)"' <<<"$CHECKS0" | tr '\n' ' ')"
	MAPS0=$(map_state)
	# Hosts sit in the records and in the host map; disabled entries
	# nowhere.
	check_same "the kernel maps hold the 4 enabled entries, not the disabled ones" \
		"allow_v4=2 allow_v6=2 allow_v4_hosts=1 allow_v6_hosts=1 " "$(map_counts "$MAPS0")"
	check "the pinned mode is enforce (non-zero)" not grep -q '^mode: 0$' <<<"$MAPS0"
	MAP_IDS0=$(pinned_map_ids)
	LINK0=$(link_id)
	TAG0=$(xdp_tag)
	STATUS0=$(status_summary)
	check "status: enforcing, interface attached" \
		jqt '.mode == "enforce" and .ifs[0].state == "attached"' <<<"$STATUS0"
	check "the XDP program is on the link" [ -n "$TAG0" ]
	check "the XDP link is pinned" [ -n "$LINK0" ]
	check "enforcing: the allowed IPv4 source pings" xg_ping $ALLOWED4 $XG_HOST4
	check "enforcing: the allowed IPv6 source pings" xg_ping $ALLOWED6 $XG_HOST6
	check "enforcing: the unlisted IPv4 source is dropped" not xg_ping $DENIED4 $XG_HOST4
	check "enforcing: the unlisted IPv6 source is dropped" not xg_ping $DENIED6 $XG_HOST6
	HITS0=$(list_hits)
}

# While the daemon is down: program attached, same link, same maps, and the
# data path keeps its verdicts.
while_stopped() {
	local how=$1
	check "$how: xdpgated exited" not alive "$STOPPED_PID"
	xg_cli status >/dev/null 2>&1
	check "$how: the socket no longer answers (CLI exit 3)" eq $? 3
	check "$how: the XDP program is still attached" [ -n "$(xdp_on_link)" ]
	check "$how: it is the same program (tag)" eq "$(xdp_tag)" "$TAG0"
	check "$how: the pinned XDP link is the same" eq "$(link_id)" "$LINK0"
	check_same "$how: the pinned maps are the same maps" "$MAP_IDS0" "$(pinned_map_ids)"
	check_same "$how: the kernel maps are unchanged" "$MAPS0" "$(map_state)"
	check "$how: the allowed IPv4 source still pings" xg_ping $ALLOWED4 $XG_HOST4
	check "$how: the allowed IPv6 source still pings" xg_ping $ALLOWED6 $XG_HOST6
	check "$how: the unlisted IPv4 source is still dropped" not xg_ping $DENIED4 $XG_HOST4
	check "$how: the unlisted IPv6 source is still dropped" not xg_ping $DENIED6 $XG_HOST6
}

# After a start: everything as before the stop.
after_restart() {
	local how=$1 hits
	check_same "$how: list, ids and timestamps are identical" "$LIST0" "$(list_state)"
	hits=$(list_hits)
	check "$how: per-entry hit counters were kept (none went down)" jqt -n \
		--argjson a "$HITS0" --argjson b "$hits" \
		'[$a | to_entries[] | .value <= $b[.key]] | all'
	check "$how: the allowed host entries have hits" jqt -n --argjson b "$hits" \
		'[$b[]] | add > 0'
	check_same "$how: check answers are identical" "$CHECKS0" "$(check_answers)"
	check_same "$how: status (mode, entries, attachment) is identical" "$STATUS0" "$(status_summary)"
	check_same "$how: the kernel maps are identical" "$MAPS0" "$(map_state)"
	check_same "$how: the pinned maps were re-opened, not re-created" "$MAP_IDS0" "$(pinned_map_ids)"
	check "$how: the XDP link is the same pinned link" eq "$(link_id)" "$LINK0"
	check "$how: the XDP program is attached, same code (tag)" eq "$(xdp_tag)" "$TAG0"
	check "$how: the link carries the program on the interface" eq \
		"$(bpftool -j link show pinned "$XG_PINS/$XG_RECEIVER_IF/link" | jq .prog_id)" \
		"$(xdp_on_link | awk '{print $3}')"
}

# No allowed packet lost and no denied packet answered while it restarted.
traffic_verdicts() {
	local how=$1 sent got
	read -r sent got <<<"$(xg_traffic_result $ALLOWED4)"
	check "$how: IPv4 pings from the allowed source throughout: all $sent answered ($got)" \
		all_answered "$sent" "$got"
	read -r sent got <<<"$(xg_traffic_result $ALLOWED6)"
	check "$how: IPv6 pings from the allowed source throughout: all $sent answered ($got)" \
		all_answered "$sent" "$got"
	read -r sent got <<<"$(xg_traffic_result $DENIED4)"
	check "$how: IPv4 pings from the unlisted source throughout: none of $sent answered ($got)" \
		none_answered "$sent" "$got"
}

test_sigterm_then_start() {
	xg_traffic_start $ALLOWED4 $ALLOWED6 $DENIED4
	sleep 0.3
	rt_stop_daemon TERM
	check "SIGTERM: xdpgated exits with status 0" eq "$RC" 0
	while_stopped "stopped by SIGTERM"
	rt_start_daemon
	check "started again after SIGTERM" eq $? 0
	xg_traffic_stop
	traffic_verdicts "SIGTERM restart"
	after_restart "after SIGTERM + start"
}

test_sigkill_then_start() {
	xg_traffic_start $ALLOWED4 $ALLOWED6 $DENIED4
	sleep 0.3
	rt_stop_daemon KILL
	check "SIGKILL: xdpgated was killed" eq "$RC" 137
	while_stopped "killed by SIGKILL"
	rt_start_daemon
	check "started again after SIGKILL" eq $? 0
	xg_traffic_stop
	traffic_verdicts "SIGKILL restart"
	after_restart "after SIGKILL + start"
}

test_uninstall_removes_pins_and_program() {
	rt_stop_daemon TERM
	check "stopped before uninstall" eq "$RC" 0
	xg_in_receiver "$XG_BUILD/xdpgated" --uninstall --state-dir "$XG_STATE" \
		--bpf-pin-dir "$XG_PINS" >>"$XG_TMP/daemon.log" 2>&1
	check "xdpgated --uninstall exits 0" eq $? 0
	check "no pins left under $XG_PINS" eq "$(ls -A "$XG_PINS" 2>/dev/null)" ""
	check "no XDP program on the interface" eq "$(xdp_on_link)" ""
	check "no xdpgate program left on the interface (XDP or TC)" \
		not grep -q xdpgate <<<"$(xg_in_receiver bpftool net show dev "$XG_RECEIVER_IF")"
	check "after uninstall the unlisted source gets through" xg_ping $DENIED4 $XG_HOST4
}

# --- main --------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - needs root (network namespaces, XDP)"
	exit 1
fi
xg_setup_pair $ALLOWED4 $DENIED4 $ALLOWED6 $DENIED6 || exit 1
# Default configuration: the full-size maps are what a restart re-opens.
if ! rt_start_daemon; then
	echo "not ok - xdpgated started"
	exit 1
fi

test_populate_and_enforce
test_sigterm_then_start
test_sigkill_then_start
test_uninstall_removes_pins_and_program

if [ "$failures" -ne 0 ]; then
	echo "# $failures check(s) failed; daemon log:" >&2
	sed 's/^/#   /' "$XG_TMP/daemon.log" >&2
	exit 1
fi
echo "# all checks passed"
exit 0
