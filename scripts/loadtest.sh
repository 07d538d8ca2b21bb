#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# xdpgate load test: packet-drop rates under load, with misclassifications
# counted independently of xdpgate. See --help. Everything it creates carries
# its PID and is removed on every exit, Ctrl-C included.
set -u

usage() {
	cat <<'EOF'
Usage: scripts/loadtest.sh [OPTIONS]          (as root, after `make`)

Creates a sender and a receiver network namespace joined by a veth pair,
starts xdpgated protecting the receiver end with an allow list (generated,
or your CSV), activates enforce mode, and blasts a mix of allowed, denied
and exempt-port UDP traffic from many source addresses with trafgen. Then
it reports, per class of traffic, offered / delivered / dropped packets per
second, the drop rate and the misclassifications (allowed or exempt packets
dropped, denied packets delivered), counted without xdpgate's own counters:
  offered    trafgen's per-process counts (frames are sent round robin, so
             each class's share is exact)
  delivered  nftables counters per class (UDP destination port) and family
             in the receiver namespace's prerouting hook, which every frame
             the XDP program passes reaches (the frames end there)
plus the XDP program's ns/packet from the kernel's BPF run statistics (read
in a short extra run, the only time BPF run-time statistics are on; the
kernel.bpf_stats_enabled sysctl is never written).

The list:
  --prefixes N          generated IPv4 prefixes (default 1000): 40% /32,
                        40% /24, 20% /8-/31, the per-packet benchmark's mix
  --prefixes6 M         generated IPv6 prefixes (default N/4; 0 with
                        --ipv6-share 0)
  --csv FILE            use this list instead (header ip_address,description);
                        allowed sources are drawn from its ranges, denied and
                        exempt-port sources from outside all of them
The traffic:
  --allowed-share X     weight of sources on the list (default 0.45)
  --denied-share X      weight of sources off the list (default 0.45)
  --exempt-share X      weight of off-list sources to the exempt UDP port
                        (default 0.10)
  --ipv6-share X        fraction of each class sent over IPv6 (default 0.2)
  --sources K           distinct source addresses = frames in the rotation
                        (default 1024)
  --frame-size BYTES    Ethernet frame without FCS, 64-1514 (default 64)
  --seconds S           how long to send, 1-120 (default 10)
  --senders P           trafgen processes = veth queues, 1-nproc (default 1)
  --rate PPS            cap the total send rate (default: as fast as it goes)
  --max-packets N       stop after N packets even if time is left
                        (default 10,000,000 per second of --seconds)
  --ports A,D,E         UDP destination ports of allowed, denied and exempt
                        traffic (default 5001,5002,5003; E is configured as
                        an exempt port)
  --stats-seconds S     length of the extra run that reads BPF run stats,
                        0 to skip (default 2)
Output:
  --json-out FILE       JSON report (default build/loadtest/result.json)
  --plot                draw packets/s per class over time (gnuplot PNG)
  --plot-out FILE       where (default: the JSON's name with .png)
  --build DIR           where xdpgated and xdpgate are (default build)
  -h, --help            this text

Exit status: 0 no misclassification, 1 misclassifications found, 2 usage
error, 3 setup failed, 130 interrupted.

Examples:
  scripts/loadtest.sh
  scripts/loadtest.sh --prefixes 100000 --seconds 20 --senders 2 --plot
  scripts/loadtest.sh --csv allowlist.csv --denied-share 0.9 --allowed-share 0.1
EOF
}

die_usage() {
	echo "loadtest: $*" >&2
	echo "Try: scripts/loadtest.sh --help" >&2
	exit 2
}

here=$(cd "$(dirname "$0")/.." && pwd)
# Paths given on the command line are the caller's; the defaults are the
# source tree's.
caller=$PWD
from_caller() { case $1 in /*) echo "$1" ;; *) echo "$caller/$1" ;; esac; }
cd "$here" || exit 3
. scripts/loadtest/lib.sh

prefixes=1000 prefixes6='' csv='' allowed=0.45 denied=0.45 exempt=0.10 ipv6=0.2
sources=1024 size=64 seconds=10 senders=1 rate='' max_packets='' ports=5001,5002,5003
stats_seconds=2 json_out=build/loadtest/result.json plot=0 plot_out='' build=build

need_value() { [ $# -ge 2 ] || die_usage "$1 needs a value"; }
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--plot) plot=1; shift; continue ;;
	--prefixes | --prefixes6 | --csv | --allowed-share | --denied-share | --exempt-share | \
		--ipv6-share | --sources | --frame-size | --seconds | --senders | --rate | \
		--max-packets | --ports | --stats-seconds | --json-out | --plot-out | --build)
		need_value "$@" ;;
	*) die_usage "unknown option $1" ;;
	esac
	case $1 in
	--prefixes) prefixes=$2 ;;
	--prefixes6) prefixes6=$2 ;;
	--csv) csv=$(from_caller "$2") ;;
	--allowed-share) allowed=$2 ;;
	--denied-share) denied=$2 ;;
	--exempt-share) exempt=$2 ;;
	--ipv6-share) ipv6=$2 ;;
	--sources) sources=$2 ;;
	--frame-size) size=$2 ;;
	--seconds) seconds=$2 ;;
	--senders) senders=$2 ;;
	--rate) rate=$2 ;;
	--max-packets) max_packets=$2 ;;
	--ports) ports=$2 ;;
	--stats-seconds) stats_seconds=$2 ;;
	--json-out) json_out=$(from_caller "$2") ;;
	--plot-out) plot_out=$(from_caller "$2"); plot=1 ;;
	--build) build=$(from_caller "$2") ;;
	esac
	shift 2
done

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
is_share() { "$LT_PYTHON" -c 'import sys; v = float(sys.argv[1]); sys.exit(not (0 <= v <= 1e6))' "$1" 2>/dev/null; }
in_range() { is_uint "$1" && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

in_range "$prefixes" 0 16777216 || die_usage "--prefixes: a count up to 16777216"
if [ -z "$prefixes6" ]; then
	prefixes6=$((prefixes / 4))
	[ "$ipv6" != 0 ] || prefixes6=0
fi
in_range "$prefixes6" 0 16777216 || die_usage "--prefixes6: a count up to 16777216"
for v in "$allowed" "$denied" "$exempt"; do is_share "$v" || die_usage "shares are numbers >= 0: $v"; done
"$LT_PYTHON" -c 'import sys; sys.exit(not (0 <= float(sys.argv[1]) <= 1))' "$ipv6" 2>/dev/null ||
	die_usage "--ipv6-share: a fraction from 0 to 1"
"$LT_PYTHON" -c 'import sys; sys.exit(not sum(map(float, sys.argv[1:])) > 0)' "$allowed" "$denied" "$exempt" ||
	die_usage "the shares add up to 0"
in_range "$sources" 1 65536 || die_usage "--sources: 1 to 65536"
in_range "$size" 64 1514 || die_usage "--frame-size: 64 to 1514"
in_range "$seconds" 1 120 || die_usage "--seconds: a whole number from 1 to 120"
in_range "$senders" 1 "$(nproc)" || die_usage "--senders: 1 to $(nproc) (nproc)"
[ -z "$rate" ] || in_range "$rate" 1 1000000000 || die_usage "--rate: packets per second"
[ -n "$max_packets" ] || max_packets=$((seconds * 10000000))
in_range "$max_packets" 1 10000000000 || die_usage "--max-packets: a count"
in_range "$stats_seconds" 0 10 || die_usage "--stats-seconds: 0 to 10"
IFS=, read -r port_allowed port_denied port_exempt extra <<<"$ports"
for p in "$port_allowed" "$port_denied" "$port_exempt"; do
	in_range "$p" 1 65535 || die_usage "--ports: three UDP ports A,D,E"
done
[ -z "${extra:-}" ] || die_usage "--ports: three UDP ports A,D,E"
if [ "$port_allowed" = "$port_denied" ] || [ "$port_allowed" = "$port_exempt" ] ||
	[ "$port_denied" = "$port_exempt" ]; then
	die_usage "--ports: three different ports"
fi
if [ -n "$csv" ]; then
	[ -r "$csv" ] || die_usage "--csv: cannot read $csv"
	csv=$(cd "$(dirname "$csv")" && pwd)/$(basename "$csv")
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "loadtest: needs root (namespaces, XDP, nftables)" >&2
	exit 2
fi
for tool in trafgen nft ethtool bpftool nsenter ip; do
	command -v $tool >/dev/null || { echo "loadtest: $tool is missing (apt-get install netsniff-ng nftables ethtool bpftool iproute2 util-linux)" >&2; exit 3; }
done
[ "$plot" = 0 ] || command -v gnuplot >/dev/null ||
	{ echo "loadtest: --plot needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 3; }
for bin in xdpgated xdpgate; do
	[ -x "$build/$bin" ] || { echo "loadtest: $build/$bin not found: run make first" >&2; exit 3; }
done
build=$(cd "$build" && pwd)
mkdir -p "$(dirname "$json_out")"
json_out=$(cd "$(dirname "$json_out")" && pwd)/$(basename "$json_out")
if [ "$plot" = 1 ] && [ -z "$plot_out" ]; then plot_out=${json_out%.json}.png; fi
if [ -n "$plot_out" ]; then
	mkdir -p "$(dirname "$plot_out")"
	plot_out=$(cd "$(dirname "$plot_out")" && pwd)/$(basename "$plot_out")
fi

id=$$
sender_ns=lt-snd-$id
receiver_ns=lt-rcv-$id
sender_if=lts$id
receiver_if=ltr$id
tmp=$(mktemp -d /tmp/xdpgate-loadtest-$id.XXXXXX)
pins=/sys/fs/bpf/xdpgate-loadtest-$id
socket=$tmp/xdpgate.sock
daemon_pid=
runner_pid=

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$runner_pid" ] && kill -TERM "$runner_pid" 2>/dev/null && sleep 0.5
	lt_kill_group_from "$tmp/trafgen.pgid"
	[ -n "$runner_pid" ] && kill -KILL "$runner_pid" 2>/dev/null
	if [ -n "$daemon_pid" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	# As the daemon: its state directory owns the pins, its namespace holds
	# the interface.
	[ -e "/run/netns/$receiver_ns" ] &&
		nsenter --net=/run/netns/"$receiver_ns" "$build/xdpgated" --uninstall \
			--state-dir "$tmp/state" --bpf-pin-dir "$pins" >/dev/null 2>&1
	rm -rf "$pins"
	lt_del_netns "$sender_ns" "$receiver_ns"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "loadtest: interrupted, cleaning up" >&2; exit 130' INT TERM HUP

step() { printf '== %s\n' "$*" >&2; }
cli() { "$build/xdpgate" --socket "$socket" "$@"; }
fail() { echo "loadtest: $*" >&2; exit 3; }

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || fail "cannot mount bpffs"

step "namespaces $sender_ns -> $receiver_ns, veth $sender_if -> $receiver_if, $senders queue(s)"
{ ip netns add "$sender_ns" && ip netns add "$receiver_ns"; } || fail "cannot create the namespaces"
lt_add_pair "$sender_ns" "$sender_if" "$receiver_ns" "$receiver_if" "$senders" ||
	fail "cannot set up the veth pair"

list_csv=$tmp/list.csv
if [ -n "$csv" ]; then
	cp "$csv" "$list_csv"
	step "list from $csv"
else
	[ "$prefixes" -gt 0 ] || [ "$prefixes6" -gt 0 ] || die_usage "an empty list: give --prefixes or --csv"
	step "generating $prefixes IPv4 + $prefixes6 IPv6 prefixes"
	"$LT_PYTHON" scripts/loadtest/loadtest.py list --v4 "$prefixes" --v6 "$prefixes6" --out "$list_csv" ||
		fail "cannot generate the list"
fi
entries=$(($(wc -l <"$list_csv") - 1))
capacity=1048576
[ "$entries" -le "$capacity" ] || capacity=$entries

cat >"$tmp/xdpgate.toml" <<EOF
interfaces  = ["$receiver_if"]
attach_mode = "native"
capacity    = $capacity

[exempt]
tcp_ports = [10943]
udp_ports = [$port_exempt]
sources   = []
EOF

step "starting xdpgated on $receiver_if (exempt UDP port $port_exempt)"
# nsenter itself, not lt_in in a subshell: $! is then the daemon.
nsenter --net=/run/netns/"$receiver_ns" "$build/xdpgated" --config "$tmp/xdpgate.toml" --socket "$socket" \
	--state-dir "$tmp/state" --bpf-pin-dir "$pins" >>"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
lt_wait_daemon "$build/xdpgate" "$socket" "$daemon_pid" "$tmp/daemon.log" || exit 3

step "importing $entries entries through the CLI"
start=$(date +%s%N)
cli import "$list_csv" >"$tmp/import.log" 2>&1 || { cat "$tmp/import.log" >&2; fail "the import failed"; }
ms=$((($(date +%s%N) - start) / 1000000))
step "  imported in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
cli activate --yes >/dev/null || fail "activation failed"
mode=$(cli --json status | "$LT_PYTHON" -c 'import json, sys; s = json.load(sys.stdin); print(s["mode"], *[i.get("attach_mode") for i in s["interfaces"]])')
step "mode and attach: $mode"

step "counters in $receiver_ns: nftables inet prerouting, one per class and family"
lt_in "$receiver_ns" nft -f - <<EOF || fail "cannot install the nftables counters"
table inet xg_loadtest {
	counter allowed4 {}
	counter allowed6 {}
	counter denied4 {}
	counter denied6 {}
	counter exempt4 {}
	counter exempt6 {}
	chain count {
		type filter hook prerouting priority raw; policy accept;
		meta nfproto ipv4 udp dport $port_allowed counter name allowed4 drop
		meta nfproto ipv6 udp dport $port_allowed counter name allowed6 drop
		meta nfproto ipv4 udp dport $port_denied counter name denied4 drop
		meta nfproto ipv6 udp dport $port_denied counter name denied6 drop
		meta nfproto ipv4 udp dport $port_exempt counter name exempt4 drop
		meta nfproto ipv6 udp dport $port_exempt counter name exempt6 drop
	}
}
EOF

step "planning $sources sources (allowed $allowed, denied $denied, exempt $exempt; IPv6 $ipv6)"
"$LT_PYTHON" scripts/loadtest/loadtest.py plan --csv "$list_csv" \
	--allowed-share "$allowed" --denied-share "$denied" --exempt-share "$exempt" \
	--ipv6-share "$ipv6" --sources "$sources" --size "$size" \
	--dst-mac $LT_RECEIVER_MAC --src-mac $LT_SENDER_MAC \
	--allowed-port "$port_allowed" --denied-port "$port_denied" --exempt-port "$port_exempt" \
	--trafgen "$tmp/frames.cfg" --plan "$tmp/plan.json" || exit 3

step "sending for $seconds s (at most $max_packets packets) with $senders trafgen process(es)"
run_args=(run --plan "$tmp/plan.json" --trafgen "$tmp/frames.cfg"
	--sender-ns "$sender_ns" --sender-if "$sender_if"
	--receiver-ns "$receiver_ns" --receiver-if "$receiver_if" --nft-table xg_loadtest
	--cli "$build/xdpgate" --socket "$socket" --seconds "$seconds" --senders "$senders"
	--max-packets "$max_packets" --stats-seconds "$stats_seconds"
	--pgid-file "$tmp/trafgen.pgid" --json-out "$json_out")
[ -z "$rate" ] || run_args+=(--rate "$rate")
[ -z "$plot_out" ] || run_args+=(--plot-out "$plot_out")
"$LT_PYTHON" scripts/loadtest/loadtest.py "${run_args[@]}" &
runner_pid=$!
wait "$runner_pid"
status=$?
runner_pid=
exit $status
