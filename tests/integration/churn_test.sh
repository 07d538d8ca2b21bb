#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Links that come and go under a running xdpgated, which protects three
# interfaces named in its configuration file:
#
#   xgrN  - the protected end of the main veth pair (exists at start);
#   xgrNb - a second veth pair into the same receiver namespace (exists);
#   xgrNc - does not exist at start: `waiting` until it is created.
#
# Checks: the states in `status`; each interface filters (allowed source
# passes, denied one is dropped) and counts into its own counters (crafted
# frames with exact counts, tests/integration/xg_frames.py); the waiting
# interface is attached within 2 s of appearing and filters; the main veth
# deleted and created again with the same name (new ifindex), twice,
# is re-attached within 2 s without a restart of the daemon, then filters,
# counts, and still lets in the replies to the host's own outbound
# connections (the TC egress recorder came back too), while the other
# interface keeps filtering throughout; a deleted interface goes back to
# `waiting`.
#
# Runs from the repository root; XDPGATE_BUILD names the build directory.
set -u
XG_BUILD=${XDPGATE_BUILD:-build}
. scripts/netns-lib.sh
. tests/integration/common.bash
trap xg_cleanup EXIT
trap 'exit 130' INT TERM

FRAMES=tests/integration/xg_frames.py

R1=$XG_RECEIVER_IF S1=$XG_SENDER_IF
R2=${XG_RECEIVER_IF}b S2=${XG_SENDER_IF}b
R3=${XG_RECEIVER_IF}c S3=${XG_SENDER_IF}c
HOST2_4=198.18.1.1 HOST2_6=2001:db8:1::1
HOST3_4=198.18.2.1 HOST3_6=2001:db8:2::1
# Real sender addresses per pair: allowed, denied.
A1_4=198.18.0.2 D1_4=198.18.0.3 A1_6=2001:db8::2 D1_6=2001:db8::3
A2_4=198.18.1.2 D2_4=198.18.1.3 A2_6=2001:db8:1::2 D2_6=2001:db8:1::3
A3_4=198.18.2.2 D3_4=198.18.2.3 A3_6=2001:db8:2::2 D3_6=2001:db8:2::3
PAIR1_ADDRS="$A1_4 $D1_4 $A1_6 $D1_6"
# Crafted sources nobody owns (nothing answers them): allowed by a range,
# denied.
a4=198.18.0.20 d4=198.18.0.40 a6=2001:db8::1a d6=2001:db8::3a
TCP_PORT=22 OUT_PORT=9000

# --- status -----------------------------------------------------------------
# iface_field IF FIELD: prints FIELD of IF's status entry ("missing" if none).
iface_field() {
	xg_cli --json status | "$XG_PYTHON" -c '
import json, sys
for i in json.load(sys.stdin)["interfaces"]:
    if i["name"] == sys.argv[1]:
        v = i.get(sys.argv[2])
        print("null" if v is None else v)
        break
else:
    print("missing")
' "$1" "$2"
}

# pinned_link_id IF: the id of the XDP link pinned for IF (empty if none).
pinned_link_id() {
	xg_in_receiver bpftool -j link show pinned "$XG_PINS/$1/link" 2>/dev/null | json_get 'd["id"]' 2>/dev/null
}

differ() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ]; }

# wait_state IF STATE TIMEOUT_S [OLD_IFINDEX]: polls status until IF is in
# STATE (and, for attached, on an ifindex other than OLD_IFINDEX); prints the
# milliseconds it took, exit 1 on timeout.
wait_state() {
	local start now
	start=$(date +%s%N)
	while :; do
		local out
		out=$(xg_cli --json status | "$XG_PYTHON" -c '
import json, sys
for i in json.load(sys.stdin)["interfaces"]:
    if i["name"] == sys.argv[1]:
        print(i["state"], i["ifindex"])
' "$1")
		if [ "${out%% *}" = "$2" ] && { [ -z "${4:-}" ] || [ "${out#* }" != "$4" ]; }; then
			echo $((($(date +%s%N) - start) / 1000000))
			return 0
		fi
		now=$(date +%s%N)
		if [ $(((now - start) / 1000000)) -gt $(($3 * 1000)) ]; then
			echo "timeout (last: $out)"
			return 1
		fi
		sleep 0.05
	done
}

# --- exact counts ------------------------------------------------------------
# count_begin; send_crafted SIF RIF "VERDICT SRC DST PROTO DPORT COUNT"...;
# count_end LABEL RIF...
# Per interface, every verdict but non_ip and ndp (ARP and neighbour
# discovery move those on their own) must move by exactly what was sent.
VERDICTS="allowed exempt_source exempt_port out_of_scope reply would_drop dropped malformed"
declare -A EXP_P EXP_B
count_begin() {
	EXP_P=() EXP_B=()
	sleep 0.3 # let the probes' connections finish
	xg_cli --json status >"$XG_TMP/before.json"
}

# send_crafted SENDER_IF RECEIVER_IF "VERDICT SRC DST PROTO DPORT COUNT"...
send_crafted() {
	local sif=$1 rif=$2 mac spec specs=() verdicts=() lens i
	shift 2
	mac=$(xg_mac_of receiver "$rif")
	for spec in "$@"; do
		verdicts+=("${spec%% *}")
		specs+=("${spec#* } -")
	done
	mapfile -t lens < <(printf '%s\n' "${specs[@]}" | xg_in_sender "$XG_PYTHON" "$FRAMES" batch \
		--ifname "$sif" --dst-mac "$mac")
	for i in "${!specs[@]}"; do
		local count
		count=$(echo "${specs[$i]}" | cut -d' ' -f5)
		EXP_P["$rif ${verdicts[$i]}"]=$((${EXP_P["$rif ${verdicts[$i]}"]:-0} + count))
		EXP_B["$rif ${verdicts[$i]}"]=$((${EXP_B["$rif ${verdicts[$i]}"]:-0} + count * ${lens[$i]:-0}))
	done
}

count_end() { # count_end LABEL IF...: compares the deltas of every IF named
	local label=$1 rif v exp='' i
	shift
	for rif in "$@"; do
		for v in $VERDICTS; do
			exp+="[\"$rif\", \"$v\", ${EXP_P["$rif $v"]:-0}, ${EXP_B["$rif $v"]:-0}],"
		done
	done
	for i in $(seq 20); do # counters settle within a NAPI poll; wait up to 2 s
		sleep 0.1
		xg_cli --json status >"$XG_TMP/after.json"
		compare_counts "[${exp%,}]" >"$XG_TMP/compare.txt" 2>"$XG_TMP/compare.err" &&
			! grep -q '^bad' "$XG_TMP/compare.txt" && break
	done
	local verdict_ok detail
	while IFS=$'\t' read -r verdict_ok detail; do
		check "$label: $detail" [ "$verdict_ok" = ok ]
	done <"$XG_TMP/compare.txt"
	if ! [ -s "$XG_TMP/compare.txt" ]; then
		check "$label: compared counters" false
		sed 's/^/# /' "$XG_TMP/compare.err"
	fi
}

compare_counts() {
	"$XG_PYTHON" - "$XG_TMP/before.json" "$XG_TMP/after.json" "$1" <<'PY'
import json, sys
def counters(path):
    return {i["name"]: i["counters"] for i in json.load(open(path))["interfaces"]}
b, a = counters(sys.argv[1]), counters(sys.argv[2])
by_if = {}
for ifname, verdict, packets, nbytes in json.loads(sys.argv[3]):
    by_if.setdefault(ifname, []).append((verdict, packets, nbytes))
for ifname, wanted in by_if.items():
    if not a.get(ifname):
        print(f"bad\t{ifname}: no counters in status")
        continue
    moved, wrong = [], []
    for verdict, packets, nbytes in wanted:
        before = b.get(ifname, {}).get(verdict, {"packets": 0, "bytes": 0})
        got = (a[ifname][verdict]["packets"] - before["packets"],
               a[ifname][verdict]["bytes"] - before["bytes"])
        if packets:
            moved.append(f"{verdict} {packets}/{nbytes} B")
        if got != (packets, nbytes):
            wrong.append(f"{verdict} expected {packets}/{nbytes} B, got {got[0]}/{got[1]} B")
    what = ", ".join(moved) or "nothing"
    if wrong:
        print(f"bad\t{ifname} counters: " + "; ".join(wrong))
    else:
        print(f"ok\t{ifname} counters moved by exactly what was sent ({what}; other verdicts 0)")
PY
}

# The crafted traffic for one interface: A allowed and D denied per family.
crafted_mix() { # crafted_mix SENDER_IF RECEIVER_IF HOST4 HOST6 A D
	send_crafted "$1" "$2" \
		"allowed $a4 $3 tcp $TCP_PORT $5" "dropped $d4 $3 tcp $TCP_PORT $6" \
		"allowed $a6 $4 udp 7000 $(($5 + 1))" "dropped $d6 $4 icmp 0 $(($6 + 2))"
}

# --- real sockets ------------------------------------------------------------
# plan_filters LABEL A4 D4 HOST4 A6 D6 HOST6: allowed passes, denied dropped.
plan_filters() {
	plan yes "$1: allowed TCP from $2" xg_tcp_probe "$2" "$4" $TCP_PORT
	plan yes "$1: allowed ping from $2" xg_ping "$2" "$4"
	plan no "$1: denied TCP from $3 dropped" xg_tcp_probe "$3" "$4" $TCP_PORT
	plan no "$1: denied ping from $3 dropped" xg_ping "$3" "$4"
	plan yes "$1: allowed TCP from $5" xg_tcp_probe "$5" "$7" $TCP_PORT
	plan no "$1: denied TCP from $6 dropped" xg_tcp_probe "$6" "$7" $TCP_PORT
}
# plan_outbound LABEL: the host's own connection to a denied address on the
# main pair gets its answers (TC egress recorded the flow). 3 s: on a link
# just created, the sender's kernel sometimes leaves the host's first IPv6
# neighbour solicitation unanswered (nothing is dropped by the filter), and
# the retransmission comes 1 s later; a filter that dropped the answers would
# drop the retransmitted ones too.
plan_outbound() {
	plan yes "$1: the host's own TCP connection to denied $D1_4 is answered" \
		xg_receiver_tcp_probe $XG_HOST4 $D1_4 $OUT_PORT 3
	plan yes "$1: the host's own TCP connection to denied $D1_6 is answered" \
		xg_receiver_tcp_probe $XG_HOST6 $D1_6 $OUT_PORT 3
}

setup() {
	xg_setup_pair $PAIR1_ADDRS || return 1
	xg_add_veth "$S2" "$R2" $HOST2_4/24 $HOST2_6/64 $A2_4 $D2_4 $A2_6 $D2_6 || return 1
	xg_quiet_sender || return 1
	xg_tcp_listen $TCP_PORT
	xg_sender_tcp_listen $D1_4 $OUT_PORT
	xg_sender_tcp_listen $D1_6 $OUT_PORT
	cat >"$XG_TMP/xdpgate.toml" <<EOF
interfaces = ["$R1", "$R2", "$R3"]
EOF
	# The listeners start while the daemon loads its programs.
	xg_start_daemon_from_config "$XG_TMP/xdpgate.toml" || return 1
	xg_wait_listening tcp $TCP_PORT || return 1
	xg_wait_listening_in sender tcp $OUT_PORT || return 1
}

test_states_at_start() {
	check "$R1 attached at start" [ "$(iface_field "$R1" state)" = attached ]
	check "$R2 (second pair) attached at start" [ "$(iface_field "$R2" state)" = attached ]
	check "$R3 (named in the config, absent) shown waiting" [ "$(iface_field "$R3" state)" = waiting ]
	check "$R3 waiting: no attach mode" [ "$(iface_field "$R3" attach_mode)" = null ]
	check "$R3 waiting: no program" [ "$(iface_field "$R3" program_id)" = 0 ]
	check "$R1 attach mode native" [ "$(iface_field "$R1" attach_mode)" = native ]
	check "$R2 attach mode native" [ "$(iface_field "$R2" attach_mode)" = native ]
	check "$R1 and $R2 run their own program" \
		[ "$(iface_field "$R1" program_id)" != "$(iface_field "$R2" program_id)" ]
}

test_two_interfaces_filter() {
	local r
	for r in $A1_4 $A1_6 $A2_4 $A2_6 $A3_4 $A3_6 198.18.0.16/28 2001:db8::10/124; do
		xg_cli add "$r" >/dev/null
	done
	xg_cli activate --yes >/dev/null
	plan_filters "enforce, $R1" $A1_4 $D1_4 $XG_HOST4 $A1_6 $D1_6 $XG_HOST6
	plan_filters "enforce, $R2" $A2_4 $D2_4 $HOST2_4 $A2_6 $D2_6 $HOST2_6
	plan_outbound "enforce, $R1"
	plan_run
}

test_own_counters() {
	count_begin
	crafted_mix "$S1" "$R1" $XG_HOST4 $XG_HOST6 5 7
	crafted_mix "$S2" "$R2" $HOST2_4 $HOST2_6 11 13
	count_end "own counters" "$R1" "$R2"
}

test_waiting_interface_attaches() {
	local took
	xg_add_veth "$S3" "$R3" $HOST3_4/24 $HOST3_6/64 $A3_4 $D3_4 $A3_6 $D3_6
	local rc
	took=$(wait_state "$R3" attached 2)
	rc=$?
	check "$R3 attached within 2 s of appearing ($took ms)" [ $rc = 0 ]
	check "$R3 now has a program" [ "$(iface_field "$R3" program_id)" != 0 ]
	check "$R3 ifindex in status is the link's" \
		[ "$(iface_field "$R3" ifindex)" = "$(xg_ifindex_of receiver "$R3")" ]
	plan_filters "late $R3" $A3_4 $D3_4 $HOST3_4 $A3_6 $D3_6 $HOST3_6
	plan_run
	count_begin
	crafted_mix "$S3" "$R3" $HOST3_4 $HOST3_6 3 4
	count_end "late $R3 own counters" "$R1" "$R2" "$R3"
}

test_link_churn() {
	local round old new took rc old_link new_link pid=$XG_DAEMON_PID
	for round in 1 2; do
		old=$(iface_field "$R1" ifindex)
		old_link=$(pinned_link_id "$R1")
		xg_recreate_pair $PAIR1_ADDRS
		took=$(wait_state "$R1" attached 2 "$old")
		rc=$?
		new=$(xg_ifindex_of receiver "$R1")
		check "churn $round: $R1 re-created (ifindex $old -> $new), re-attached within 2 s ($took ms)" [ $rc = 0 ]
		check "churn $round: status ifindex is the new link's" \
			[ "$(iface_field "$R1" ifindex)" = "$(xg_ifindex_of receiver "$R1")" ]
		check "churn $round: same daemon process, still running" kill -0 "$pid"
		new_link=$(pinned_link_id "$R1")
		check "churn $round: the pinned XDP link is the new one (link id $old_link -> $new_link)" \
			differ "$old_link" "$new_link"
		plan_filters "churn $round, $R1" $A1_4 $D1_4 $XG_HOST4 $A1_6 $D1_6 $XG_HOST6
		plan_filters "churn $round, untouched $R2" $A2_4 $D2_4 $HOST2_4 $A2_6 $D2_6 $HOST2_6
		plan_outbound "churn $round, $R1"
		plan_run
		count_begin
		crafted_mix "$S1" "$R1" $XG_HOST4 $XG_HOST6 $((round + 1)) $((round + 4))
		crafted_mix "$S2" "$R2" $HOST2_4 $HOST2_6 2 3
		count_end "churn $round" "$R1" "$R2" "$R3"
	done
	check "no restart: the daemon is the one started ($pid)" [ "$XG_DAEMON_PID" = "$pid" ]
}

test_deleted_interface_waits() {
	local took rc
	xg_in_receiver ip link del "$R3"
	took=$(wait_state "$R3" waiting 2)
	rc=$?
	check "$R3 deleted: shown waiting within 2 s ($took ms)" [ $rc = 0 ]
	plan_filters "$R3 gone, $R1" $A1_4 $D1_4 $XG_HOST4 $A1_6 $D1_6 $XG_HOST6
	plan_filters "$R3 gone, $R2" $A2_4 $D2_4 $HOST2_4 $A2_6 $D2_6 $HOST2_6
	plan_run
	xg_add_veth "$S3" "$R3" $HOST3_4/24 $HOST3_6/64 $A3_4 $D3_4 $A3_6 $D3_6
	took=$(wait_state "$R3" attached 2)
	rc=$?
	check "$R3 back: attached within 2 s ($took ms)" [ $rc = 0 ]
	plan_filters "$R3 back" $A3_4 $D3_4 $HOST3_4 $A3_6 $D3_6 $HOST3_6
	plan_run
}

if ! setup; then
	echo "not ok - setup"
	exit 1
fi
test_states_at_start
test_two_interfaces_filter
test_own_counters
test_waiting_interface_attaches
test_link_churn
test_deleted_interface_waits
if grep -q -E '^[0-9T:.-]+ (error|critical) ' "$XG_TMP/daemon.log"; then
	echo "# daemon log:"
	sed 's/^/# /' "$XG_TMP/daemon.log"
fi
echo "# $failures failed"
[ $failures -eq 0 ]
