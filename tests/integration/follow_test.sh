#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `xdpgate denied --follow` on real packets across a veth pair, enforcing:
#
# - one crafted packet from an unlisted source shows, with its verdict and
#   interface, within a second of being sent (`--count 1` then exits);
# - a packet from a listed source shows nothing;
# - during a trafgen flood from an unlisted source (bounded in packets and
#   time), the events delivered stay within the budget
#   (denied_follow_events_per_second) while the counters show the flood
#   went far past it;
# - once nobody follows, the kernel's follow flag is off again, and a
#   daemon killed while someone follows leaves it off once restarted.
#
# Runs from the repository root; XDPGATE_BUILD names the build directory.
set -u
XG_BUILD=${XDPGATE_BUILD:-build}
. scripts/netns-lib.sh
. tests/integration/common.bash
trap xg_cleanup EXIT
trap 'exit 130' INT TERM

FRAMES=tests/integration/xg_frames.py
BUDGET=20
A4=198.18.0.2  # the sender's own address, listed
D4=198.18.0.40 # crafted, unlisted: the one packet
F4=198.18.0.41 # crafted, unlisted: the flood
FLOOD_PACKETS=200000
FOLLOW_S=5
FOLLOW_PID=

setup() {
	xg_setup_pair $A4 || return 1
	xg_quiet_sender || return 1
	printf 'capacity = 1024\ndenied_follow_events_per_second = %s\n' \
		$BUDGET >"$XG_TMP/xdpgate.toml"
	xg_start_daemon --config "$XG_TMP/xdpgate.toml" || return 1
	RECEIVER_MAC=$(xg_mac_of receiver "$XG_RECEIVER_IF")
	xg_cli add $A4 >/dev/null || return 1
	xg_cli activate --yes >/dev/null || return 1
	mode_is enforce
}

# start_follow OUT [ARGS...]: xdpgate denied --follow ARGS in the background,
# its lines in OUT; returns once it says it follows (at most 5 s).
start_follow() {
	local out=$1 i
	shift
	"$XG_BUILD/xdpgate" --socket "$XG_SOCKET" denied --follow "$@" \
		>"$out" 2>"$out.err" &
	FOLLOW_PID=$!
	for i in $(seq 50); do
		grep -q "following denied packets" "$out.err" && return 0
		kill -0 "$FOLLOW_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$out.err" >&2
	return 1
}

# send SOURCE COUNT: crafted TCP frames to port 22 of the host.
send() {
	xg_in_sender timeout 30 "$XG_PYTHON" "$FRAMES" send --ifname "$XG_SENDER_IF" \
		--dst-mac "$RECEIVER_MAC" --src "$1" --dst $XG_HOST4 --proto tcp \
		--dport 22 --count "$2" >/dev/null
}

# flood SOURCE COUNT: COUNT UDP frames from SOURCE to the host's port 22 as
# fast as trafgen sends them (one CPU), at most 60 s.
flood() {
	local mac
	mac=$(xg_mac_of sender "$XG_SENDER_IF")
	"$XG_PYTHON" -c 'import sys
sys.path.insert(0, "scripts/loadtest")
import frames
f = frames.udp_frame(sys.argv[2], sys.argv[3], 4, frames.host_int(sys.argv[4]),
                     frames.host_int(sys.argv[5]), 22, 64)
frames.write_trafgen(sys.argv[1], [f])' "$XG_TMP/flood.cfg" "$RECEIVER_MAC" "$mac" "$1" $XG_HOST4 &&
		xg_in_sender timeout 60 trafgen --no-sock-mem -Q -i "$XG_TMP/flood.cfg" \
			-o "$XG_SENDER_IF" -P 1 -n "$2" >"$XG_TMP/trafgen.log" 2>&1
}

dropped() {
	xg_cli --json status |
		json_get 'd["interfaces"][0]["counters"]["dropped"]["packets"]'
}

# The kernel's follow flag, as the pinned runtime configuration holds it.
kernel_follows() {
	bpftool -j map dump pinned "$XG_PINS/runtime_config" |
		jq -e '.[0].formatted.value.follow_denied == 1' >/dev/null
}

running() { kill -0 "$1" 2>/dev/null; }

test_one_packet_shows_within_a_second() {
	local i sent_at
	start_follow "$XG_TMP/one.out" --count 1 ||
		{ check "denied --follow starts" false; return; }
	check "while following, the kernel's follow flag is on" kernel_follows
	send $A4 1
	send $D4 1
	sent_at=$(date +%s%N)
	# Bounded: --count 1 exits with the first event.
	for i in $(seq 10); do
		running "$FOLLOW_PID" || break
		sleep 0.1
	done
	check "the follower has its event within a second" not running "$FOLLOW_PID"
	echo "# shown within $((($(date +%s%N) - sent_at) / 1000000)) ms (polled every 100 ms)"
	xg_wait_exit "$FOLLOW_PID" 5
	check "denied --follow --count 1 exits 0" [ $? -eq 0 ]
	FOLLOW_PID=
	echo "# one.out: $(cat "$XG_TMP/one.out")"
	check "the event names the source, its verdict and interface" \
		grep -qE "^$D4 +dropped +$XG_RECEIVER_IF " "$XG_TMP/one.out"
	check "the listed source's packet shows nothing" \
		not grep -q "^$A4 " "$XG_TMP/one.out"
	check "nobody follows: the kernel's follow flag is off again" \
		xg_wait_until 3 not kernel_follows
}

test_flood_stays_within_the_budget() {
	local before after events
	before=$(dropped)
	start_follow "$XG_TMP/flood.out" --for $FOLLOW_S ||
		{ check "denied --follow --for starts" false; return; }
	flood $F4 $FLOOD_PACKETS
	check "trafgen sent the flood" [ $? -eq 0 ] ||
		sed 's/^/#   trafgen: /' "$XG_TMP/trafgen.log"
	xg_wait_exit "$FOLLOW_PID" $((FOLLOW_S + 10))
	check "denied --follow --for $FOLLOW_S exits 0 when the time is up" [ $? -eq 0 ]
	FOLLOW_PID=
	after=$(dropped)
	events=$(grep -c "^$F4 " "$XG_TMP/flood.out")
	echo "# flood: $((after - before)) dropped, $events events shown in $FOLLOW_S s, budget $BUDGET/s"
	check "flood: every frame of it dropped ($((after - before)) >= $FLOOD_PACKETS)" \
		[ $((after - before)) -ge $FLOOD_PACKETS ]
	check "flood: events shown ($events)" [ "$events" -ge 1 ]
	# Windows are per CPU and second: at most the budget in each second the
	# follower listened, plus one window begun before it.
	check "flood: events within the budget ($events <= $BUDGET x $((FOLLOW_S + 1)))" \
		[ "$events" -le $((BUDGET * (FOLLOW_S + 1))) ]
	check "flood: far fewer events than drops" \
		[ "$events" -lt $(((after - before) / 10)) ]
	check "nobody follows: the kernel's follow flag is off again" \
		xg_wait_until 3 not kernel_follows
}

test_restart_after_a_crash_while_following() {
	start_follow "$XG_TMP/crash.out" --for 30 ||
		{ check "denied --follow starts before the crash" false; return; }
	check "following before the crash" kernel_follows
	xg_stop_daemon KILL
	xg_wait_exit "$FOLLOW_PID" 10
	check "the follower ends when the daemon is killed" [ $? -ne 124 ]
	FOLLOW_PID=
	xg_start_daemon --config "$XG_TMP/xdpgate.toml" ||
		{ check "the daemon restarts on its pins" false; return; }
	check "restarted, nobody follows: the kernel's follow flag is off" \
		not kernel_follows
	start_follow "$XG_TMP/again.out" --count 1 ||
		{ check "denied --follow starts after the restart" false; return; }
	send $D4 1
	xg_wait_exit "$FOLLOW_PID" 5
	check "after the restart, a denied packet shows again" [ $? -eq 0 ]
	FOLLOW_PID=
	check "  ... naming the source" grep -q "^$D4 " "$XG_TMP/again.out"
}

if ! setup; then
	echo "not ok - setup"
	exit 1
fi
test_one_packet_shows_within_a_second
test_flood_stays_within_the_budget
test_restart_after_a_crash_while_following
[ -z "$FOLLOW_PID" ] || kill "$FOLLOW_PID" 2>/dev/null
echo "# $failures failed"
[ "$failures" -eq 0 ]
