# shellcheck shell=bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by scripts/loadtest.sh and the veth benchmark (tests/bench/veth/):
# namespaces joined by veth pairs, the channel count set before any XDP
# program is attached, and the pieces of a cleanup that runs on every exit.
# Every name the caller passes carries its PID, so runs never collide.

# Debian's interpreter when there is one: a version-manager shim in front of
# python3 costs seconds on every start.
if [ -z "${LT_PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then
		LT_PYTHON=/usr/bin/python3
	else
		LT_PYTHON=python3
	fi
fi

# The receiver ends all carry this MAC (one per namespace, so no clash): one
# trafgen configuration then fits every pair.
LT_RECEIVER_MAC=02:78:67:00:00:02
LT_SENDER_MAC=02:78:67:00:00:01

# nsenter keeps the host's /sys and bpffs visible; `ip netns exec` would not.
lt_in() {
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" "$@"
}

# Usage: lt_add_pair SENDER_NS SENDER_IF RECEIVER_NS RECEIVER_IF CHANNELS
# The namespaces must exist. The receiver end gets 198.18.0.1/24 and
# 2001:db8::1/64 and LT_RECEIVER_MAC; the sender end gets no address and no
# IPv6 (so its kernel sends nothing of its own). Both ends get CHANNELS rx
# and tx queues now, before anything is attached: changing them with an XDP
# program attached leaves the new queues unfiltered on this kernel.
lt_add_pair() {
	local sns=$1 sif=$2 rns=$3 rif=$4 channels=$5
	ip link add "$sif" netns "$sns" type veth peer name "$rif" netns "$rns" || return 1
	lt_in "$sns" sysctl -qw "net.ipv6.conf.$sif.disable_ipv6=1" || return 1
	lt_in "$sns" ethtool -L "$sif" rx "$channels" tx "$channels" 2>/dev/null
	lt_in "$rns" ethtool -L "$rif" rx "$channels" tx "$channels" 2>/dev/null
	lt_in "$rns" ip link set dev "$rif" address $LT_RECEIVER_MAC || return 1
	lt_in "$sns" ip link set dev "$sif" address $LT_SENDER_MAC || return 1
	lt_in "$rns" ip addr add 198.18.0.1/24 dev "$rif" || return 1
	lt_in "$rns" ip addr add 2001:db8::1/64 dev "$rif" nodad || return 1
	lt_in "$rns" ip link set lo up
	lt_in "$sns" ip link set lo up
	lt_in "$rns" ip link set "$rif" up || return 1
	lt_in "$sns" ip link set "$sif" up || return 1
	# Both ends report the queues asked for, or the run would measure
	# something else than it says.
	local got
	got=$(lt_in "$rns" ethtool -l "$rif" 2>/dev/null |
		awk '/Current hardware settings/ {c = 1} c && /^RX:/ {print $2; exit}')
	if [ "${got:-1}" != "$channels" ]; then
		echo "veth $rif has ${got:-?} rx queues, wanted $channels" >&2
		return 1
	fi
}

# Usage: lt_kill_group_from PIDFILE: kills the process group whose leader's
# id the file holds (trafgen runs in its own group), and removes the file.
lt_kill_group_from() {
	local pgid
	[ -f "$1" ] || return 0
	pgid=$(cat "$1" 2>/dev/null)
	case $pgid in
	'' | *[!0-9]*) ;;
	*) kill -KILL -- "-$pgid" 2>/dev/null ;;
	esac
	rm -f "$1"
}

# Usage: lt_del_netns NS...: kills what still runs inside, then deletes them
# (which deletes their veth ends too).
lt_del_netns() {
	local ns pid
	for ns in "$@"; do
		[ -e /run/netns/"$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
}

# Usage: lt_wait_daemon CLI SOCKET PID LOG: waits up to 10 s for the API.
lt_wait_daemon() {
	local cli=$1 socket=$2 pid=$3 log=$4 _
	for _ in $(seq 100); do
		"$cli" --socket "$socket" status >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "xdpgated did not come up; its log:" >&2
	cat "$log" >&2
	return 1
}
