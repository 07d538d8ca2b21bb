# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by the demo and the integration tests: a sender and a receiver
# namespace joined by a veth pair, xdpgated protecting the receiver end, and
# a cleanup that runs on every exit. Names carry the PID so runs never
# collide. Source with XG_BUILD set to the build directory.

. "$(dirname "${BASH_SOURCE[0]}")/wait-lib.sh"

XG_BUILD=${XG_BUILD:-build}
XG_ID=${XG_ID:-$$}
XG_SENDER=xg-snd-$XG_ID
XG_RECEIVER=xg-rcv-$XG_ID
XG_SENDER_IF=xgs$XG_ID
XG_RECEIVER_IF=xgr$XG_ID
XG_TMP=$(mktemp -d /tmp/xdpgate-$XG_ID.XXXXXX)
XG_SOCKET=$XG_TMP/xdpgate.sock
XG_STATE=$XG_TMP/state
XG_PINS=/sys/fs/bpf/xdpgate-test-$XG_ID
XG_DAEMON_PID=

# The receiver (protected host) and the sender's addresses.
XG_HOST4=198.18.0.1
XG_HOST6=2001:db8::1

xg_in_sender() { nsenter --net=/run/netns/$XG_SENDER "$@"; }
xg_in_receiver() { nsenter --net=/run/netns/$XG_RECEIVER "$@"; }
xg_cli() { "$XG_BUILD/xdpgate" --socket "$XG_SOCKET" "$@"; }

xg_cleanup() {
	xg_stop_daemon KILL
	# Listeners and anything else left in the namespaces.
	local pid
	for pid in $(ip netns pids "$XG_RECEIVER" 2>/dev/null) \
		$(ip netns pids "$XG_SENDER" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null
	done
	# As the daemon: its state directory owns the pins, and its
	# namespace holds the interfaces.
	[ -x "$XG_BUILD/xdpgated" ] && [ -e "/run/netns/$XG_RECEIVER" ] &&
		xg_in_receiver "$XG_BUILD/xdpgated" --uninstall --state-dir "$XG_STATE" \
			--bpf-pin-dir "$XG_PINS" >/dev/null 2>&1
	rm -rf "$XG_PINS"
	ip netns del "$XG_SENDER" 2>/dev/null
	ip netns del "$XG_RECEIVER" 2>/dev/null
	rm -rf "$XG_TMP"
}

# Usage: xg_setup_pair [extra sender IPv4 addresses...]
xg_setup_pair() {
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	ip netns add "$XG_SENDER"
	ip netns add "$XG_RECEIVER"
	ip link add "$XG_SENDER_IF" netns "$XG_SENDER" type veth \
		peer name "$XG_RECEIVER_IF" netns "$XG_RECEIVER"
	xg_in_receiver ip link set lo up
	xg_in_sender ip link set lo up
	xg_in_receiver ip addr add $XG_HOST4/24 dev "$XG_RECEIVER_IF"
	xg_in_receiver ip addr add $XG_HOST6/64 dev "$XG_RECEIVER_IF" nodad
	local a
	for a in "$@"; do
		case $a in
		*:*) xg_in_sender ip addr add "$a/64" dev "$XG_SENDER_IF" nodad ;;
		*) xg_in_sender ip addr add "$a/24" dev "$XG_SENDER_IF" ;;
		esac
	done
	xg_in_receiver ip link set "$XG_RECEIVER_IF" up
	xg_in_sender ip link set "$XG_SENDER_IF" up
}

# Usage: xg_start_daemon [extra xdpgated flags...]
# Waits XG_START_TIMEOUT_S (default 10) for the socket to answer.
xg_start_daemon() {
	# exec: $! must be xdpgated itself, not a subshell, for signals to reach it.
	(exec nsenter --net=/run/netns/"$XG_RECEIVER" "$XG_BUILD/xdpgated" \
		--interface "$XG_RECEIVER_IF" --socket "$XG_SOCKET" \
		--state-dir "$XG_STATE" --bpf-pin-dir "$XG_PINS" "$@") \
		>>"$XG_TMP/daemon.log" 2>&1 &
	XG_DAEMON_PID=$!
	local i
	for i in $(seq $((${XG_START_TIMEOUT_S:-10} * 10))); do
		xg_cli status >/dev/null 2>&1 && return 0
		kill -0 $XG_DAEMON_PID 2>/dev/null || break
		sleep 0.1
	done
	echo "xdpgated did not come up; its log:" >&2
	cat "$XG_TMP/daemon.log" >&2
	return 1
}

# Usage: xg_stop_daemon [TERM|KILL] -> the daemon's exit status
xg_stop_daemon() {
	[ -n "$XG_DAEMON_PID" ] || return 0
	kill -"${1:-TERM}" $XG_DAEMON_PID 2>/dev/null
	local rc=0
	xg_wait_exit "$XG_DAEMON_PID" 30 || rc=$?
	XG_DAEMON_PID=
	return $rc
}

# Usage: xg_ping SOURCE DEST -> exit 0 when a reply came back
xg_ping() {
	xg_in_sender ping -q -c 1 -W 1 -I "$1" "$2" >/dev/null 2>&1
}

# Usage: xg_tcp_listen PORT... : accept-and-close listeners in the receiver
xg_tcp_listen() {
	local port
	for port in "$@"; do
		# exec: no shell left to report "Killed" when cleanup ends it.
		(exec nsenter --net=/run/netns/"$XG_RECEIVER" "$XG_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
s.listen(64)
while True:
    s.accept()[0].close()
' "$port") &
		disown
	done
	sleep 0.3
}

# Usage: xg_tcp_connect SOURCE DEST PORT -> exit 0 when the handshake completed
xg_tcp_connect() {
	xg_in_sender nc -z -w 2 -s "$1" "$2" "$3" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# Additions for the integration tests (traffic_test.sh, churn_test.sh). None of
# the functions above depends on them.

# The interpreter the additions run, resolved once: Debian's own when there is
# one (the scripts need nothing else), else the real binary behind python3
# (a version-manager shim such as pyenv's costs seconds on every start).
if [ -z "${XG_PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then
		XG_PYTHON=/usr/bin/python3
	else
		XG_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
		XG_PYTHON=${XG_PYTHON:-python3}
	fi
fi

# Usage: xg_add_veth SENDER_IF RECEIVER_IF HOST4/LEN HOST6/LEN [sender addrs...]
# Another veth pair between the two namespaces (or the protected one created
# again): the receiver end gets the host addresses, the sender end the extra
# addresses (IPv4 as /LEN of HOST4, IPv6 as /64). Both ends come up.
# Links made here skip IPv6 duplicate address detection (nothing else can be
# on them): while a fresh link-local address is tentative, the first packets
# between the ends can wait a 1 s retransmission, which would blur timings
# taken right after a link appears.
xg_add_veth() {
	local sif=$1 rif=$2 host4=$3 host6=$4 a
	shift 4
	xg_in_sender sysctl -q -w net.ipv6.conf.default.accept_dad=0
	xg_in_receiver sysctl -q -w net.ipv6.conf.default.accept_dad=0
	ip link add "$sif" netns "$XG_SENDER" type veth \
		peer name "$rif" netns "$XG_RECEIVER" || return 1
	xg_in_receiver ip addr add "$host4" dev "$rif"
	xg_in_receiver ip addr add "$host6" dev "$rif" nodad
	for a in "$@"; do
		case $a in
		*:*) xg_in_sender ip addr add "$a/64" dev "$sif" nodad ;;
		*) xg_in_sender ip addr add "$a/${host4#*/}" dev "$sif" ;;
		esac
	done
	xg_in_receiver ip link set "$rif" up
	xg_in_sender ip link set "$sif" up
}

# Usage: xg_recreate_pair [sender addrs...]
# Deletes the protected veth from the receiver side (which removes its peer
# too) and creates it again with the same names and host addresses: same
# name, new ifindex.
xg_recreate_pair() {
	xg_in_receiver ip link del "$XG_RECEIVER_IF" || return 1
	xg_add_veth "$XG_SENDER_IF" "$XG_RECEIVER_IF" $XG_HOST4/24 $XG_HOST6/64 "$@"
}

# Usage: xg_quiet_sender
# Silences the MLD reports the sender's kernel sends by itself (from its
# link-local or the unspecified address, so the receiver's filter judges them
# like any other source and they would move its dropped/would_drop counters),
# so that those counters see only the test's own packets. With nft: a drop
# rule in the sender namespace, for every interface there now and later.
# Without nft: reports are made to go out at once (not spread over a second)
# and this waits until the ones already due have gone.
xg_quiet_sender() {
	if command -v nft >/dev/null 2>&1; then
		xg_in_sender nft -f - <<'NFT'
table ip6 xg_quiet {
	chain out {
		type filter hook output priority 0; policy accept;
		icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } drop
	}
}
NFT
		return
	fi
	local conf
	for conf in all default "$XG_SENDER_IF"; do
		xg_in_sender sysctl -q -w net.ipv6.conf.$conf.mldv1_unsolicited_report_interval=1 \
			net.ipv6.conf.$conf.mldv2_unsolicited_report_interval=1 2>/dev/null
	done
	sleep 2
}

# Usage: xg_mac_of sender|receiver IFNAME -> prints the MAC address
# (nsenter keeps the host's /sys, so ask the namespace's rtnetlink)
xg_mac_of() {
	"xg_in_$1" ip -o link show dev "$2" |
		sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# Usage: xg_ifindex_of sender|receiver IFNAME -> prints the ifindex
xg_ifindex_of() {
	"xg_in_$1" ip -o link show dev "$2" | cut -d: -f1
}

# Usage: xg_wait_listening tcp|udp PORT... -> exit 0 once the receiver has a
# socket on every PORT (waits at most 10 s; python may be slow to start).
xg_wait_listening() { xg_wait_listening_in receiver "$@"; }

# Usage: xg_wait_listening_in sender|receiver tcp|udp PORT...
xg_wait_listening_in() {
	local side=$1 proto=$2 flag=-ltn port i
	shift 2
	[ "$proto" = udp ] && flag=-lun
	for port in "$@"; do
		for i in $(seq 100); do
			"xg_in_$side" ss -H $flag "sport = :$port" | grep -q . && break
			[ "$i" = 100 ] && return 1
			sleep 0.1
		done
	done
}

# Usage: xg_udp_listen PORT... : UDP echo servers in the receiver (IPv4 and
# IPv6), each answering every datagram with the same bytes.
xg_udp_listen() {
	local port
	for port in "$@"; do
		# exec: no shell left to report "Killed" when cleanup ends it.
		(exec nsenter --net=/run/netns/"$XG_RECEIVER" "$XG_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
' "$port") &
		disown
	done
	sleep 0.3
}

# Usage: xg_udp_probe SOURCE DEST PORT [TIMEOUT_S] -> exit 0 when the echo
# came back (one datagram sent, waits TIMEOUT_S, default 1).
xg_udp_probe() {
	xg_in_sender "$XG_PYTHON" -c '
import socket, sys
src, dst, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(timeout)
s.sendto(b"xdpgate-probe", (dst, port))
try:
    data = s.recv(2048)
except OSError:
    sys.exit(1)
sys.exit(0 if data == b"xdpgate-probe" else 1)
' "$1" "$2" "$3" "${4:-1}" >/dev/null 2>&1
}

# Usage: xg_tcp_probe SOURCE DEST PORT [TIMEOUT_S] -> exit 0 when the
# handshake completed within TIMEOUT_S (default 1).
xg_tcp_probe() {
	xg_in_sender "$XG_PYTHON" -c '
import socket, sys
src, dst, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.bind((src, 0))
s.settimeout(timeout)
try:
    s.connect((dst, port))
except OSError:
    sys.exit(1)
' "$1" "$2" "$3" "${4:-1}" >/dev/null 2>&1
}

# Usage: xg_start_daemon_from_config CONFIG [extra xdpgated flags...]
# Like xg_start_daemon, but the protected interfaces come from CONFIG's
# `interfaces` (no --interface flag, which would replace that list).
xg_start_daemon_from_config() {
	local config=$1
	shift
	# exec: $! must be xdpgated itself, not a subshell, for signals to reach it.
	(exec nsenter --net=/run/netns/"$XG_RECEIVER" "$XG_BUILD/xdpgated" \
		--config "$config" --socket "$XG_SOCKET" --state-dir "$XG_STATE" \
		--bpf-pin-dir "$XG_PINS" "$@") >>"$XG_TMP/daemon.log" 2>&1 &
	XG_DAEMON_PID=$!
	local i
	for i in $(seq 100); do
		xg_cli status >/dev/null 2>&1 && return 0
		kill -0 $XG_DAEMON_PID 2>/dev/null || break
		sleep 0.1
	done
	echo "xdpgated did not come up; its log:" >&2
	cat "$XG_TMP/daemon.log" >&2
	return 1
}

# Usage: xg_sender_tcp_listen ADDRESS PORT : an accept-and-close listener on
# the sender side (a server the protected host connects out to).
xg_sender_tcp_listen() {
	(exec nsenter --net=/run/netns/"$XG_SENDER" "$XG_PYTHON" -c '
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(64)
while True:
    s.accept()[0].close()
' "$1" "$2") &
	disown
}

# Usage: xg_receiver_tcp_probe SOURCE DEST PORT [TIMEOUT_S] -> exit 0 when a
# connection the protected host opens completed its handshake (default 1 s).
xg_receiver_tcp_probe() {
	xg_in_receiver "$XG_PYTHON" -c '
import socket, sys
src, dst, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET)
s.bind((src, 0))
s.settimeout(timeout)
try:
    s.connect((dst, port))
except OSError:
    sys.exit(1)
' "$1" "$2" "$3" "${4:-1}" >/dev/null 2>&1
}
