# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by the integration scripts (sourced after scripts/netns-lib.sh; not a
# test itself: scripts/run-tests.sh runs only tests/integration/*.sh).

failures=0
# check DESCRIPTION COMMAND...: prints "ok - ..." or "not ok - ..." (and then
# returns 1, for a caller that has more to say about the failure)
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
	else
		echo "not ok - $what"
		failures=$((failures + 1))
		return 1
	fi
}
not() { ! "$@"; }
# check_same DESCRIPTION EXPECTED GOT: check the two texts are equal; prints
# their difference when they are not.
check_same() {
	check "$1" [ "$2" = "$3" ] ||
		diff <(echo "$2") <(echo "$3") | sed 's/^/#   /' >&2
}

# Reachability probes, planned then run all at once: a failing probe costs
# its whole timeout (1 s), so one round costs about that, not the sum.
#   plan yes|no DESCRIPTION COMMAND...
#   plan_run
# xg_tcp_probe SRC DST PORT and xg_udp_probe SRC DST PORT from the sender go
# into one tests/integration/xg_probe.py process; any other command (xg_ping,
# xg_receiver_tcp_probe, ...) runs in its own background process.
PLAN_DESC=() PLAN_EXPECT=() PLAN_CMD=() PLAN_SPEC=()
plan() {
	local i=${#PLAN_DESC[@]}
	PLAN_EXPECT[i]=$1
	PLAN_DESC[i]=$2
	shift 2
	case $1 in
	xg_tcp_probe | xg_udp_probe)
		local proto=${1#xg_}
		PLAN_SPEC[i]="${proto%_probe}:[$2]:[$3]:$4"
		;;
	*) PLAN_CMD[i]="$(printf '%q ' "$@")" ;;
	esac
}
plan_run() {
	local i pids=() specs=() spec_index=()
	for i in "${!PLAN_DESC[@]}"; do
		if [ -n "${PLAN_SPEC[i]:-}" ]; then
			specs+=("${PLAN_SPEC[i]}")
			spec_index+=("$i")
			continue
		fi
		(
			eval "${PLAN_CMD[i]}"
			echo $? >"$XG_TMP/probe.$i"
		) &
		pids+=($!)
	done
	if [ ${#specs[@]} -gt 0 ]; then
		xg_in_sender "$XG_PYTHON" tests/integration/xg_probe.py --timeout 1 \
			"${specs[@]}" >"$XG_TMP/probe.batch" 2>"$XG_TMP/probe.err" &
		pids+=($!)
	fi
	[ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
	if [ ${#specs[@]} -gt 0 ]; then
		local answers=() j
		mapfile -t answers <"$XG_TMP/probe.batch"
		for j in "${!spec_index[@]}"; do
			case ${answers[j]:-} in
			yes) echo 0 ;;
			no) echo 1 ;;
			esac >"$XG_TMP/probe.${spec_index[j]}"
		done
		[ -s "$XG_TMP/probe.err" ] && sed 's/^/# probe: /' "$XG_TMP/probe.err"
	fi
	for i in "${!PLAN_DESC[@]}"; do
		local rc got=no
		rc=$(cat "$XG_TMP/probe.$i" 2>/dev/null)
		rc=${rc:-none}
		[ "$rc" = 0 ] && got=yes
		[ "$rc" = none ] && got="no result"
		check "${PLAN_DESC[i]}" [ "$got" = "${PLAN_EXPECT[i]}" ]
		rm -f "$XG_TMP/probe.$i"
	done
	PLAN_DESC=() PLAN_EXPECT=() PLAN_CMD=() PLAN_SPEC=()
}

# json_get EXPRESSION: evaluates a Python expression over the JSON on stdin
# (bound to d) and prints it.
json_get() {
	"$XG_PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
mode_is() { [ "$(xg_cli --json status | json_get 'd["mode"]')" = "$1" ]; }

# Background pings, as restart_test.sh runs them: each SOURCE pings the
# receiver (the host address of its family) in batches of 20 until
# xg_traffic_stop; a batch waits for its last reply, so stopping never counts
# a packet in flight as lost.
#   xg_traffic_start SOURCE...
#   xg_traffic_stop
#   xg_traffic_result SOURCE -> "transmitted received" over every batch
XG_TRAFFIC_PIDS=()
xg_traffic_start() {
	local src dst
	rm -f "$XG_TMP/traffic-stop" "$XG_TMP"/traffic-*.log
	for src in "$@"; do
		case $src in
		*:*) dst=$XG_HOST6 ;;
		*) dst=$XG_HOST4 ;;
		esac
		(
			while [ ! -e "$XG_TMP/traffic-stop" ] && [ -e "/run/netns/$XG_SENDER" ]; do
				nsenter --net="/run/netns/$XG_SENDER" \
					ping -q -n -c 20 -i 0.01 -W 1 -I "$src" "$dst"
			done
		) >"$XG_TMP/traffic-$src.log" 2>&1 &
		XG_TRAFFIC_PIDS+=($!)
	done
}
xg_traffic_stop() {
	[ -d "$XG_TMP" ] && touch "$XG_TMP/traffic-stop"
	[ ${#XG_TRAFFIC_PIDS[@]} -eq 0 ] || wait "${XG_TRAFFIC_PIDS[@]}"
	XG_TRAFFIC_PIDS=()
}
xg_traffic_result() {
	awk '/packets transmitted/ { t += $1; r += $4 } END { print t + 0, r + 0 }' \
		"$XG_TMP/traffic-$1.log"
}

# Tests of permissions run a daemon whose write and read groups exist only
# for the test. xg_groups_daemon_config WRITE READ (as root) creates both,
# recording them for xg_remove_test_groups (call it from the EXIT trap), and
# writes $XG_TMP/xdpgate.toml naming them, with a small capacity: creating
# the default 1M-entry maps takes seconds here.
XG_TEST_GROUPS=()
xg_groups_daemon_config() {
	local group
	if [ "$(id -u)" -ne 0 ]; then
		echo "not ok - needs root (network namespaces, XDP, setpriv)"
		return 1
	fi
	for group in "$@"; do
		if ! groupadd "$group"; then
			echo "not ok - create the test group $group"
			return 1
		fi
		XG_TEST_GROUPS+=("$group")
	done
	printf 'write_group = "%s"\nread_group = "%s"\ncapacity = 4096\n' \
		"$1" "$2" >"$XG_TMP/xdpgate.toml"
}
xg_remove_test_groups() {
	local group
	for group in "${XG_TEST_GROUPS[@]}"; do
		groupdel "$group"
	done
}
