#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Real packets across a veth pair: xdpgated protects the receiver's end.
#
# - real sockets (TCP connect, UDP echo, ping; IPv4 and IPv6) from an allowed,
#   a denied and an exempt (health-checker) source, in enforce, monitor and
#   off mode, and the exempt health-check ports from a denied source;
# - crafted frames with exact counts (tests/integration/xg_frames.py) from
#   sources the sender does not own (so nothing answers back), untagged, with
#   one 802.1Q tag (VLAN 42) and with two tags (802.1ad 100 + 802.1Q 42),
#   checked three ways: the per-verdict packet and byte counters of
#   `xdpgate status --json` move by exactly what was sent, a sniffer on the
#   receiver's end sees exactly the frames that should pass (and none of the
#   dropped ones), and the matching entries count their hits.
#
# VLAN sub-interfaces are not used: this kernel is built without 802.1Q
# (CONFIG_VLAN_8021Q unset), so tagged frames are written onto the parent veth
# directly, which is also what a VLAN sub-interface with tag insertion in
# software would put on the wire. The receiver's XDP program sits on the
# parent and judges them there.
#
# Runs from the repository root; XDPGATE_BUILD names the build directory.
set -u
XG_BUILD=${XDPGATE_BUILD:-build}
. scripts/netns-lib.sh
. tests/integration/common.bash
trap xg_cleanup EXIT
trap 'exit 130' INT TERM

FRAMES=tests/integration/xg_frames.py

# Real sender addresses: allowed, denied, health checker (exempt source).
A4=198.18.0.2 D4=198.18.0.3 C4=198.18.0.66
A6=2001:db8::2 D6=2001:db8::3 C6=2001:db8::42
# Crafted sources nobody owns: allowed (by a range), denied, exempt.
a4=198.18.0.20 d4=198.18.0.40 c4=198.18.0.70
a6=2001:db8::1a d6=2001:db8::3a c6=2001:db8::4a

TCP_PORT=22 OTHER_TCP_PORT=4444 UDP_PORT=7000
HEALTH_PORT=8080 TENTACLE_PORT=10943 EXEMPT_UDP_PORT=8125
VERDICTS="allowed exempt_source exempt_port out_of_scope reply would_drop dropped malformed"

# --- counted windows -------------------------------------------------------
# window_begin; send_frames ... / expect ...; window_end LABEL
# compares counter deltas of the protected interface (every verdict except
# non_ip and ndp, which ARP and neighbour discovery move on their own) and
# what a sniffer on the receiver's end saw, against the expectations.
declare -A EXP_P EXP_B EXP_SEEN
window_begin() {
	EXP_P=() EXP_B=() EXP_SEEN=()
	sleep 0.3 # let earlier connections finish their goodbyes
	xg_cli --json status >"$XG_TMP/before.json"
	rm -f "$XG_TMP/sniff.ready"
	xg_in_receiver timeout 40 "$XG_PYTHON" "$FRAMES" sniff --ifname "$XG_RECEIVER_IF" \
		--seconds 30 --ready "$XG_TMP/sniff.ready" >"$XG_TMP/sniff.json" &
	SNIFFER=$!
	local i
	for i in $(seq 50); do
		[ -e "$XG_TMP/sniff.ready" ] && return 0
		sleep 0.1
	done
	echo "# sniffer did not start" >&2
}

# expect VERDICT PACKETS BYTES SNIFF_KEY: account for traffic sent otherwise.
expect() {
	EXP_P[$1]=$((${EXP_P[$1]:-0} + $2))
	EXP_B[$1]=$((${EXP_B[$1]:-0} + $3))
	local seen=$2
	case $1 in dropped) seen=0 ;; esac
	EXP_SEEN[$4]=$((${EXP_SEEN[$4]:-0} + seen))
}

# send_frames VERDICT SRC DST PROTO DPORT COUNT [VLAN...]: queues COUNT
# crafted frames; window_end sends the queue in one go, in order.
QUEUE=() QUEUE_VERDICT=()
send_frames() {
	local verdict=$1 src=$2 dst=$3 proto=$4 dport=$5 count=$6
	shift 6
	local tags=$*
	tags=${tags// /.}
	QUEUE+=("$src $dst $proto $dport $count ${tags:--}")
	QUEUE_VERDICT+=("$verdict")
}

flush_frames() { # sends the queue and the end marker, records expectations
	local lens i src dst proto dport count tags
	mapfile -t lens < <(printf '%s\n' "${QUEUE[@]}" | xg_in_sender "$XG_PYTHON" "$FRAMES" batch \
		--ifname "$XG_SENDER_IF" --dst-mac "$RECEIVER_MAC" --end)
	if [ ${#lens[@]} -ne ${#QUEUE[@]} ]; then
		check "sent every queued frame (${#lens[@]} of ${#QUEUE[@]} specs)" false
	fi
	for i in "${!QUEUE[@]}"; do
		read -r src dst proto dport count tags <<<"${QUEUE[$i]}"
		[ "$proto" = icmp ] && dport=0
		expect "${QUEUE_VERDICT[$i]}" "$count" $((count * ${lens[$i]:-0})) \
			"$src $proto $dport $tags"
	done
	QUEUE=() QUEUE_VERDICT=()
}

window_end() { # window_end LABEL
	local label=$1 k exp_json=
	sleep 0.2
	if [ ${#QUEUE[@]} -gt 0 ]; then
		flush_frames
	else
		xg_in_sender "$XG_PYTHON" "$FRAMES" end --ifname "$XG_SENDER_IF" --dst-mac "$RECEIVER_MAC"
	fi
	wait "$SNIFFER"
	xg_cli --json status >"$XG_TMP/after.json"
	for k in $VERDICTS; do
		exp_json+="\"$k\": [${EXP_P[$k]:-0}, ${EXP_B[$k]:-0}],"
	done
	local seen_json=
	for k in "${!EXP_SEEN[@]}"; do
		seen_json+="\"$k\": ${EXP_SEEN[$k]},"
	done
	"$XG_PYTHON" - "$XG_TMP/before.json" "$XG_TMP/after.json" "$XG_TMP/sniff.json" \
		"$XG_RECEIVER_IF" "{${exp_json%,}}" "{${seen_json%,}}" <<'PY' >"$XG_TMP/compare.txt" 2>"$XG_TMP/compare.err"
import json, sys
before, after, sniff, ifname, expected, seen_expected = sys.argv[1:]
def counters(path):
    for i in json.load(open(path))["interfaces"]:
        if i["name"] == ifname:
            return i["counters"]
    return {}
b, a = counters(before), counters(after)
moved, wrong = [], []
for verdict, (packets, nbytes) in sorted(json.loads(expected).items()):
    got = (a[verdict]["packets"] - b[verdict]["packets"],
           a[verdict]["bytes"] - b[verdict]["bytes"])
    if packets:
        moved.append(f"{verdict} {packets}/{nbytes} B")
    if got != (packets, nbytes):
        wrong.append(f"{verdict} expected {packets}/{nbytes} B, got {got[0]}/{got[1]} B")
if wrong:
    print("bad\tcounters: " + "; ".join(wrong))
else:
    print("ok\tcounters moved by exactly what was sent (" + ", ".join(moved) +
          "; other verdicts 0)")
text = open(sniff).read().strip()
seen = json.loads(text) if text else {}
print("ok" if seen.get("_end") else "bad", "sniffer saw the end marker", sep="\t")
expect = json.loads(seen_expected)
wrong = [f"{k}: expected {n}, saw {seen.get(k, 0)}" for k, n in sorted(expect.items())
         if seen.get(k, 0) != n]
delivered = sum(expect.values())
blocked = sum(1 for n in expect.values() if n == 0)
if wrong:
    print("bad\tdelivered frames: " + "; ".join(wrong))
else:
    print(f"ok\tsniffer on the receiver saw exactly the frames that pass ({delivered}) "
          f"and none of the {blocked} dropped kinds")
PY
	local verdict_ok detail
	while IFS=$'\t' read -r verdict_ok detail; do
		check "$label: $detail" [ "$verdict_ok" = ok ]
	done <"$XG_TMP/compare.txt"
	if ! [ -s "$XG_TMP/compare.txt" ]; then
		check "$label: compared counters" false
		sed 's/^/# /' "$XG_TMP/compare.err" "$XG_TMP/before.json" "$XG_TMP/after.json" "$XG_TMP/sniff.json"
	fi
}

entry_hits() { xg_cli --json get "$1" | json_get 'd["hits"]'; }
add_entry() { xg_cli --json add "$1" | json_get 'd["id"]'; }

# The crafted matrix for one family: per source, TCP/UDP/ICMP, and the exempt
# ports. In enforce mode the verdicts are as named; in monitor and off mode
# "dropped" becomes "would_drop". Extra arguments are VLAN ids.
send_matrix() { # send_matrix DENIED_VERDICT A D C HOST [VLAN...]
	local deny=$1 a=$2 d=$3 c=$4 host=$5
	shift 5
	send_frames allowed "$a" "$host" tcp $TCP_PORT 5 "$@"
	send_frames allowed "$a" "$host" udp $UDP_PORT 6 "$@"
	send_frames allowed "$a" "$host" icmp 0 7 "$@"
	send_frames exempt_port "$a" "$host" tcp $TENTACLE_PORT 2 "$@"
	send_frames "$deny" "$d" "$host" tcp $TCP_PORT 8 "$@"
	send_frames "$deny" "$d" "$host" udp $UDP_PORT 9 "$@"
	send_frames "$deny" "$d" "$host" icmp 0 10 "$@"
	send_frames exempt_port "$d" "$host" tcp $HEALTH_PORT 3 "$@"
	send_frames exempt_port "$d" "$host" tcp $TENTACLE_PORT 4 "$@"
	send_frames exempt_port "$d" "$host" udp $EXEMPT_UDP_PORT 5 "$@"
	send_frames exempt_source "$c" "$host" tcp $TCP_PORT 11 "$@"
	send_frames exempt_source "$c" "$host" udp $UDP_PORT 12 "$@"
	send_frames exempt_source "$c" "$host" icmp 0 13 "$@"
	# The source exemption comes first (SPEC §1 step 4 before 5).
	send_frames exempt_source "$c" "$host" tcp $HEALTH_PORT 2 "$@"
}

# --- real sockets ----------------------------------------------------------
plan_reaches() { # plan_reaches yes|no LABEL SRC DST: TCP, UDP and ICMP
	plan "$1" "$2: TCP $TCP_PORT from $3" xg_tcp_probe "$3" "$4" $TCP_PORT
	plan "$1" "$2: UDP $UDP_PORT from $3" xg_udp_probe "$3" "$4" $UDP_PORT
	plan "$1" "$2: ping from $3" xg_ping "$3" "$4"
}

setup() {
	xg_setup_pair $A4 $D4 $C4 $A6 $D6 $C6 || return 1
	xg_quiet_sender || return 1
	cat >"$XG_TMP/xdpgate.toml" <<EOF
[exempt]
tcp_ports = [$TENTACLE_PORT, $HEALTH_PORT]
udp_ports = [$EXEMPT_UDP_PORT]
sources   = ["198.18.0.64/28", "2001:db8::40/124"]
EOF
	xg_tcp_listen $TCP_PORT $OTHER_TCP_PORT $HEALTH_PORT $TENTACLE_PORT
	xg_udp_listen $UDP_PORT $EXEMPT_UDP_PORT
	# The listeners start while the daemon loads its programs.
	xg_start_daemon --config "$XG_TMP/xdpgate.toml" || return 1
	xg_wait_listening tcp $TCP_PORT $OTHER_TCP_PORT $HEALTH_PORT $TENTACLE_PORT || return 1
	xg_wait_listening udp $UDP_PORT $EXEMPT_UDP_PORT || return 1
	RECEIVER_MAC=$(xg_mac_of receiver "$XG_RECEIVER_IF")
}

test_off_passes_everything_before_activation() {
	check "mode is off at start" mode_is off
	plan_reaches yes "off: gets through" $D4 $XG_HOST4
	plan_reaches yes "off: gets through" $D6 $XG_HOST6
	plan_run
}

test_enforce_real_traffic() {
	ID_A4=$(add_entry $A4) ID_R4=$(add_entry 198.18.0.16/28)
	ID_A6=$(add_entry $A6) ID_R6=$(add_entry 2001:db8::10/124)
	xg_cli activate --yes >/dev/null
	check "activate -> enforce" mode_is enforce
	local f A D C H
	for f in 4 6; do
		eval "A=\$A$f D=\$D$f C=\$C$f H=\$XG_HOST$f"
		plan_reaches yes "enforce: allowed source gets through" $A $H
		plan_reaches no "enforce: denied source dropped" $D $H
		plan no "enforce: denied source dropped: TCP $OTHER_TCP_PORT from $D" xg_tcp_probe $D $H $OTHER_TCP_PORT
		plan yes "enforce: health-check port: TCP $HEALTH_PORT from denied $D" xg_tcp_probe $D $H $HEALTH_PORT
		plan yes "enforce: tentacle port: TCP $TENTACLE_PORT from denied $D" xg_tcp_probe $D $H $TENTACLE_PORT
		plan yes "enforce: exempt UDP port: UDP $EXEMPT_UDP_PORT from denied $D" xg_udp_probe $D $H $EXEMPT_UDP_PORT
		plan_reaches yes "enforce: health checker gets through" $C $H
		plan yes "enforce: health checker, any port: TCP $OTHER_TCP_PORT from $C" xg_tcp_probe $C $H $OTHER_TCP_PORT
		plan yes "enforce: health checker, any port: TCP $HEALTH_PORT from $C" xg_tcp_probe $C $H $HEALTH_PORT
		plan yes "enforce: health checker, any port: UDP $EXEMPT_UDP_PORT from $C" xg_udp_probe $C $H $EXEMPT_UDP_PORT
	done
	plan_run
}

test_enforce_ping_counts() {
	# Real echo requests, counted exactly: 3 allowed and 3 dropped per family
	# (98 bytes each over IPv4, 118 over IPv6). The four pings run together.
	local src pids=() hits4 hits6
	window_begin
	hits4=$(entry_hits "$ID_A4") hits6=$(entry_hits "$ID_A6")
	for src in "$A4 $XG_HOST4" "$D4 $XG_HOST4" "$A6 $XG_HOST6" "$D6 $XG_HOST6"; do
		set -- $src
		xg_in_sender ping -q -c 3 -i 0.2 -W 1 -I "$1" "$2" >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	expect allowed 3 $((3 * 98)) "$A4 icmp 0 -"
	expect dropped 3 $((3 * 98)) "$D4 icmp 0 -"
	expect allowed 3 $((3 * 118)) "$A6 icmp 0 -"
	expect dropped 3 $((3 * 118)) "$D6 icmp 0 -"
	window_end "enforce, real pings"
	check "enforce: entry $A4 counted the 3 echo requests as hits" [ "$(entry_hits "$ID_A4")" = $((hits4 + 3)) ]
	check "enforce: entry $A6 counted the 3 echo requests as hits" [ "$(entry_hits "$ID_A6")" = $((hits6 + 3)) ]
}

test_enforce_host_pings_out() {
	# The protected host pings denied addresses: the echo replies pass as
	# replies to its own requests (3 per family, counted exactly).
	local dst pids=()
	window_begin
	for dst in "$XG_HOST4 $D4" "$XG_HOST6 $D6"; do
		set -- $dst
		xg_in_receiver ping -q -c 3 -i 0.2 -W 1 -I "$1" "$2" >"$XG_TMP/ping-$2.txt" 2>&1 &
		pids+=($!)
	done
	local ok4=0 ok6=0
	wait "${pids[0]}" && ok4=1
	wait "${pids[1]}" && ok6=1
	check "enforce: the host's pings to denied $D4 are answered" [ $ok4 = 1 ]
	check "enforce: the host's pings to denied $D6 are answered" [ $ok6 = 1 ]
	expect reply 3 $((3 * 98)) "$D4 icmp 0 -"
	expect reply 3 $((3 * 118)) "$D6 icmp 0 -"
	window_end "enforce, the host pings out"
}

test_enforce_counts() {
	local hits4 hits6
	window_begin
	hits4=$(entry_hits "$ID_R4") hits6=$(entry_hits "$ID_R6")
	send_matrix dropped $a4 $d4 $c4 $XG_HOST4
	send_matrix dropped $a6 $d6 $c6 $XG_HOST6
	window_end "enforce, untagged"
	# 5 + 6 + 7 allowed per family; the tentacle-port ones are exempt first.
	check "enforce: entry 198.18.0.16/28 counted 18 hits" [ "$(entry_hits "$ID_R4")" = $((hits4 + 18)) ]
	check "enforce: entry 2001:db8::10/124 counted 18 hits" [ "$(entry_hits "$ID_R6")" = $((hits6 + 18)) ]
}

test_enforce_vlan_counts() {
	window_begin
	send_matrix dropped $a4 $d4 $c4 $XG_HOST4 42
	send_matrix dropped $a6 $d6 $c6 $XG_HOST6 42
	window_end "enforce, VLAN 42"
	window_begin
	send_matrix dropped $a4 $d4 $c4 $XG_HOST4 100 42
	send_matrix dropped $a6 $d6 $c6 $XG_HOST6 100 42
	window_end "enforce, QinQ 100.42"
}

test_monitor() {
	xg_cli activate --monitor --yes >/dev/null
	check "activate --monitor -> monitor" mode_is monitor
	plan_reaches yes "monitor: denied source gets through" $D4 $XG_HOST4
	plan_reaches yes "monitor: denied source gets through" $D6 $XG_HOST6
	plan_reaches yes "monitor: allowed source gets through" $A4 $XG_HOST4
	plan_run
	window_begin
	send_matrix would_drop $a4 $d4 $c4 $XG_HOST4
	send_matrix would_drop $a6 $d6 $c6 $XG_HOST6 42
	window_end "monitor"
}

test_deactivate() {
	xg_cli activate --yes >/dev/null
	check "enforce again: denied IPv4 dropped" not xg_ping $D4 $XG_HOST4
	xg_cli deactivate >/dev/null
	check "deactivate -> off" mode_is off
	plan_reaches yes "deactivated: denied source gets through" $D4 $XG_HOST4
	plan_reaches yes "deactivated: denied source gets through" $D6 $XG_HOST6
	plan_reaches yes "deactivated: allowed source gets through" $A6 $XG_HOST6
	plan_run
	check "deactivated: the list is kept (4 entries)" [ "$(xg_cli --json list | json_get 'd["total"]')" = 4 ]
	window_begin
	send_matrix would_drop $a4 $d4 $c4 $XG_HOST4
	send_matrix would_drop $a6 $d6 $c6 $XG_HOST6 100 42
	window_end "off"
}

if ! setup; then
	echo "not ok - setup"
	exit 1
fi
test_off_passes_everything_before_activation
test_enforce_real_traffic
test_enforce_ping_counts
test_enforce_host_pings_out
test_enforce_counts
test_enforce_vlan_counts
test_monitor
test_deactivate
if grep -q -E '^[0-9T:.-]+ (error|critical) ' "$XG_TMP/daemon.log"; then
	echo "# daemon log:"
	sed 's/^/# /' "$XG_TMP/daemon.log"
fi
echo "# $failures failed"
[ $failures -eq 0 ]
