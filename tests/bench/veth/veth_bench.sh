#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Group 2 of `make bench`: denied packets dropped per second on a veth pair,
# xdpgate enforcing vs the bare XDP_DROP program vs nftables vs
# iptables+ipset, the same 1k prefixes everywhere; and xdpgate with 1M
# prefixes, and with both lists meeting near misses (denied sources in the
# /20 blocks of entries). One sender namespace, one receiver namespace per
# receiver kind (every rule lives only there), all removed on every exit.
# Writes OUT (JSON) and prints a table.
# Usage: tests/bench/veth/veth_bench.sh BUILD_DIR OUT [veth_bench.py options]
#   e.g. --repeats 5 --warmup 0.5 --window 4 --senders 1,2 (the defaults)
set -u
build=${1:?usage: veth_bench.sh BUILD_DIR OUT [options]}
out=${2:?usage: veth_bench.sh BUILD_DIR OUT [options]}
shift 2
here=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$here" || exit 1
. scripts/loadtest/lib.sh

id=$$
channels=$(($(nproc) < 2 ? 1 : 2))
sender_ns=vb-snd-$id
declare -A receiver_ns=([xdpgate]=vb-x-$id [xdpgate_1m]=vb-m-$id [bare_drop]=vb-b-$id [nftables]=vb-n-$id [iptables_ipset]=vb-i-$id)
declare -A sender_if=([xdpgate]=vbsx$id [xdpgate_1m]=vbsm$id [bare_drop]=vbsb$id [nftables]=vbsn$id [iptables_ipset]=vbsi$id)
declare -A receiver_if=([xdpgate]=vbrx$id [xdpgate_1m]=vbrm$id [bare_drop]=vbrb$id [nftables]=vbrn$id [iptables_ipset]=vbri$id)
kinds=(xdpgate xdpgate_1m bare_drop nftables iptables_ipset)
tmp=$(mktemp -d /tmp/xdpgate-vethbench-$id.XXXXXX)
# Each xdpgate receiver runs a daemon of its own: pins, socket, state.
declare -A pins=([xdpgate]=/sys/fs/bpf/xdpgate-vethbench-$id [xdpgate_1m]=/sys/fs/bpf/xdpgate-vethbench-1m-$id)
declare -A socket=([xdpgate]=$tmp/xdpgate.sock [xdpgate_1m]=$tmp/xdpgate-1m.sock)
declare -A daemon_pid=()
runner_pid=''

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$runner_pid" ] && kill -TERM "$runner_pid" 2>/dev/null && sleep 0.3
	lt_kill_group_from "$tmp/trafgen.pgid"
	[ -n "$runner_pid" ] && kill -KILL "$runner_pid" 2>/dev/null
	local k pid
	for k in "${!daemon_pid[@]}"; do
		pid=${daemon_pid[$k]}
		kill -TERM "$pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for k in "${!pins[@]}"; do
		"$build/xdpgated" --uninstall --bpf-pin-dir "${pins[$k]}" >/dev/null 2>&1
		rm -rf "${pins[$k]}"
	done
	lt_del_netns "$sender_ns" "${receiver_ns[@]}"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() { echo "veth_bench: $*" >&2; exit 1; }
log() { echo "[veth] $*" >&2; }
for tool in trafgen nft iptables ipset ethtool nsenter; do
	command -v $tool >/dev/null || fail "$tool is missing"
done
for f in "$build/xdpgated" "$build/xdpgate" "$build/bench/bare_drop.bpf.o"; do
	[ -e "$f" ] || fail "$f is missing (make, and make -f tests/bench/bench.mk)"
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || fail "cannot mount bpffs"

# The same 1k and 1M IPv4 prefixes as the per-packet group's lists.
"$LT_PYTHON" scripts/loadtest/loadtest.py list --v4 1000 --v6 0 --out "$tmp/list.csv" ||
	fail "cannot generate the list"
"$LT_PYTHON" scripts/loadtest/loadtest.py list --v4 1000000 --v6 0 --out "$tmp/list-1m.csv" ||
	fail "cannot generate the 1M list"
prefixes=$(tail -n +2 "$tmp/list.csv" | cut -d, -f1)

ip netns add "$sender_ns" || fail "cannot create $sender_ns"
for k in "${kinds[@]}"; do
	ip netns add "${receiver_ns[$k]}" || fail "cannot create ${receiver_ns[$k]}"
	lt_add_pair "$sender_ns" "${sender_if[$k]}" "${receiver_ns[$k]}" "${receiver_if[$k]}" "$channels" ||
		fail "cannot set up the pair for $k"
done

# start_xdpgate KIND LIST.csv: a daemon on KIND's receiver end, enforcing
# the list; sets attach[KIND] to its mode, entries and attach mode.
declare -A attach=()
start_xdpgate() {
	local k=$1 list=$2 cli
	cat >"$tmp/$k.toml" <<EOF
interfaces  = ["${receiver_if[$k]}"]
attach_mode = "native"
EOF
	nsenter --net=/run/netns/"${receiver_ns[$k]}" "$build/xdpgated" --config "$tmp/$k.toml" \
		--socket "${socket[$k]}" --state-dir "$tmp/state-$k" --bpf-pin-dir "${pins[$k]}" \
		>>"$tmp/daemon-$k.log" 2>&1 &
	daemon_pid[$k]=$!
	lt_wait_daemon "$build/xdpgate" "${socket[$k]}" "${daemon_pid[$k]}" "$tmp/daemon-$k.log" || exit 1
	cli=("$build/xdpgate" --socket "${socket[$k]}")
	"${cli[@]}" import "$list" >/dev/null || fail "$k: import failed"
	"${cli[@]}" activate --yes >/dev/null || fail "$k: activation failed"
	attach[$k]=$("${cli[@]}" --json status |
		"$LT_PYTHON" -c 'import json, sys; s = json.load(sys.stdin); print(s["mode"], s["entries"]["enabled"], *[i.get("attach_mode") for i in s["interfaces"]])')
	log "  mode, entries, attach mode: ${attach[$k]}"
}
log "xdpgate: daemon on ${receiver_if[xdpgate]}, 1k prefixes, enforce"
start_xdpgate xdpgate "$tmp/list.csv"
log "xdpgate: daemon on ${receiver_if[xdpgate_1m]}, 1M prefixes, enforce"
start_xdpgate xdpgate_1m "$tmp/list-1m.csv"

log "bare XDP_DROP on ${receiver_if[bare_drop]}"
lt_in "${receiver_ns[bare_drop]}" ip link set dev "${receiver_if[bare_drop]}" \
	xdpdrv obj "$build/bench/bare_drop.bpf.o" sec xdp || fail "cannot attach bare_drop"

log "nftables: netdev ingress on ${receiver_if[nftables]}, interval set of the 1k prefixes"
{
	echo "table netdev xg_bench {"
	echo "	counter dropped {}"
	echo "	set allow4 {"
	echo "		type ipv4_addr; flags interval; auto-merge"
	echo "		elements = { $(echo "$prefixes" | paste -sd, -) }"
	echo "	}"
	echo "	chain ingress {"
	echo "		type filter hook ingress device \"${receiver_if[nftables]}\" priority -500; policy accept;"
	echo "		meta protocol ip ip saddr != @allow4 counter name dropped drop"
	echo "	}"
	echo "}"
} >"$tmp/nft.conf"
lt_in "${receiver_ns[nftables]}" nft -f "$tmp/nft.conf" || fail "cannot load the nftables ruleset"

log "iptables + ipset: hash:net of the 1k prefixes, raw PREROUTING on ${receiver_if[iptables_ipset]}"
{
	echo "create xgb-allow hash:net family inet hashsize 1024 maxelem 65536"
	# shellcheck disable=SC2086 # one prefix per word
	printf 'add xgb-allow %s\n' $prefixes
} >"$tmp/ipset.restore"
lt_in "${receiver_ns[iptables_ipset]}" ipset restore -f "$tmp/ipset.restore" || fail "ipset restore failed"
lt_in "${receiver_ns[iptables_ipset]}" iptables -t raw -A PREROUTING -i "${receiver_if[iptables_ipset]}" \
	-m set ! --match-set xgb-allow src -j DROP || fail "cannot add the iptables rule"

# Denied sources: 256 addresses no prefix of the list contains; near misses
# (NAME-near): 256 such addresses in the /20 blocks of the list's entries.
# frames LIST.csv NAME [--denied-near]
frames() {
	"$LT_PYTHON" scripts/loadtest/loadtest.py plan --csv "$1" \
		--allowed-share 0 --denied-share 1 --exempt-share 0 --ipv6-share 0 --sources 256 --size 64 \
		--dst-mac "$LT_RECEIVER_MAC" --src-mac "$LT_SENDER_MAC" "${@:3}" \
		--trafgen "$tmp/$2.cfg" --plan "$tmp/$2.json" || fail "cannot build the frames $2"
}
frames "$tmp/list.csv" frames
frames "$tmp/list.csv" frames-near --denied-near
frames "$tmp/list-1m.csv" frames-1m
frames "$tmp/list-1m.csv" frames-1m-near --denied-near

args=(--sender-ns "$sender_ns" --trafgen "$tmp/frames.cfg" --pgid-file "$tmp/trafgen.pgid" --out "$out"
	--settings "{\"channels\": $channels, \"prefixes\": 1000, \"xdpgate\": \"${attach[xdpgate]}\", \"xdpgate_1m\": \"${attach[xdpgate_1m]}\"}")
receiver() { echo "$1,${receiver_ns[$2]},${sender_if[$2]},${receiver_if[$2]}${3:+,$tmp/$3.cfg}"; }
args+=(--receiver "$(receiver xdpgate xdpgate)"
	--receiver "$(receiver xdpgate_near xdpgate frames-near)"
	--receiver "$(receiver xdpgate_1m xdpgate_1m frames-1m)"
	--receiver "$(receiver xdpgate_1m_near xdpgate_1m frames-1m-near)")
for k in bare_drop nftables iptables_ipset; do
	args+=(--receiver "$(receiver "$k" "$k")")
done
"$LT_PYTHON" tests/bench/veth/veth_bench.py "${args[@]}" "$@" &
runner_pid=$!
wait "$runner_pid"
status=$?
runner_pid=''
exit $status
