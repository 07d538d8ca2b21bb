#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Group 3 of `make bench`: the control plane (one add, 1M import and replace,
# PUT replace, GET and export, restart with 1M stored, memory, and ipset and
# nft loading the same 1M prefixes in the same namespace). A namespace
# holding a veth pair gives xdpgated an interface to attach to;
# control_plane_bench.py starts the daemon there and measures.
# Everything is removed on every exit. The generated 1M-entry lists are kept
# in BUILD_DIR/bench/control_plane/ for the next run.
# Usage: tests/bench/control_plane/control_plane_bench.sh BUILD_DIR OUT [options]
set -u
build=${1:?usage: control_plane_bench.sh BUILD_DIR OUT [options]}
out=${2:?usage: control_plane_bench.sh BUILD_DIR OUT [options]}
shift 2
here=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$here" || exit 1
. scripts/loadtest/lib.sh

id=$$
ns=cp-$id
if_a=cpa$id
if_b=cpb$id
tmp=$(mktemp -d /tmp/xdpgate-cpbench-$id.XXXXXX)
pins=/sys/fs/bpf/xdpgate-cpbench-$id
runner_pid=''

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$runner_pid" ] && kill -TERM "$runner_pid" 2>/dev/null
	local pid
	pid=$(cat "$tmp/daemon.pid" 2>/dev/null)
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	[ -n "$runner_pid" ] && kill -KILL "$runner_pid" 2>/dev/null
	"$build/xdpgated" --uninstall --bpf-pin-dir "$pins" >/dev/null 2>&1
	rm -rf "$pins"
	# The peers' sets (control_plane_bench.py destroys them after each load;
	# deleting the namespace would too).
	if [ -e /run/netns/"$ns" ]; then
		lt_in "$ns" ipset destroy xdpgate_bench >/dev/null 2>&1
		lt_in "$ns" nft delete table ip xdpgate_bench >/dev/null 2>&1
	fi
	lt_del_netns "$ns"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() { echo "control_plane_bench: $*" >&2; exit 1; }
for f in "$build/xdpgated" "$build/xdpgate"; do
	[ -x "$f" ] || fail "$f is missing (make)"
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || fail "cannot mount bpffs"

ip netns add "$ns" || fail "cannot create $ns"
ip link add "$if_a" netns "$ns" type veth peer name "$if_b" netns "$ns" || fail "cannot create the veth pair"
lt_in "$ns" ip link set "$if_a" up
lt_in "$ns" ip link set "$if_b" up

cat >"$tmp/xdpgate.toml" <<EOF
interfaces  = ["$if_a"]
attach_mode = "native"
capacity    = 1048576
EOF

"$LT_PYTHON" tests/bench/control_plane/control_plane_bench.py --netns "$ns" \
	--daemon "$build/xdpgated" --cli "$build/xdpgate" --config "$tmp/xdpgate.toml" \
	--socket "$tmp/xdpgate.sock" --pins "$pins" --tmp "$tmp" \
	--cache "$build/bench/control_plane" --out "$out" "$@" &
runner_pid=$!
wait "$runner_pid"
status=$?
runner_pid=''
exit $status
