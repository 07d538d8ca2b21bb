#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs the benchmark groups of `make bench` and merges what they write into
# BUILD/bench/summary.json, closing with one table of every target.
# Usage: scripts/run-bench.sh [BUILD_DIR] [GROUP...]   (default: all groups)
#
# A group is a function bench_<name> below, listed in GROUPS. It builds what
# it needs (through tests/bench/bench.mk, so a daemon that does not build yet
# does not stop it) and writes BUILD/bench/<name>.json holding at least
#   {"group": "<name>", "title": "...", "machine": {...},
#    "targets": [{"name", "target", "measured", "unit", "met"}, ...]}
# A group that fails leaves no JSON and makes the script exit non-zero; a
# missed target is a result, not a failure.
# shellcheck disable=SC2317 # the bench_* functions are called by name
set -u
build=${1:-build}
shift || true
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
out="$build/bench"
mkdir -p "$out"

GROUPS_ALL=(per_packet veth control_plane fleet)

# kernel.bpf_stats_enabled adds ~45 ns to every BPF run here: the groups
# turn it off while timing and restore it; this restores it once more on
# any exit, in case a group was killed before it could.
stats_sysctl=/proc/sys/kernel/bpf_stats_enabled
stats_before=$(cat "$stats_sysctl" 2>/dev/null || true)
restore_stats() {
	if [ -n "$stats_before" ]; then
		echo "$stats_before" >"$stats_sysctl" 2>/dev/null || true
	fi
}
trap restore_stats EXIT
trap 'exit 130' INT TERM HUP

build_bench() {
	"${MAKE:-make}" --no-print-directory -f tests/bench/bench.mk BUILD="$build" "$@"
}

# Group 1: per-packet cost through BPF_PROG_TEST_RUN, xdpgate vs bare
# XDP_DROP, a plain LPM program and xdp-filter. PER_PACKET_ARGS adds
# options (e.g. --quick while developing).
bench_per_packet() {
	build_bench "$build/bench/per_packet_bench" || return 1
	# shellcheck disable=SC2086
	"$build/bench/per_packet_bench" --out "$out/per_packet.json" ${PER_PACKET_ARGS:-}
}

# The daemon and the CLI, for the groups that run them (through the
# top-level Makefile: `make bench` has built them already).
build_daemon() {
	"${MAKE:-make}" --no-print-directory BUILD="$build" "$build/xdpgated" "$build/xdpgate"
}

# Group 2: denied packets dropped per second on a veth pair, one sender
# process and two: xdpgate enforcing 1k prefixes vs the bare XDP_DROP
# program vs nftables vs iptables+ipset, each in its own namespace.
# VETH_ARGS adds options (e.g. --repeats 1 --window 2 while developing).
bench_veth() {
	build_bench "$build/bench/bare_drop.bpf.o" || return 1
	build_daemon || return 1
	# shellcheck disable=SC2086
	tests/bench/veth/veth_bench.sh "$build" "$out/veth.json" ${VETH_ARGS:-}
}

# Group 3: the control plane: one add (p50/p99 over 1,000, visibility
# checked in the kernel), CSV import and replace of 1M entries (repeated as
# the budget allows), PUT replace, GET and export of 1M, a restart with 1M
# stored, ipset and nft loading the same 1M prefixes, daemon RSS and kernel
# memory. A time budget (--budget, default 330 s) bounds it.
# CONTROL_PLANE_ARGS adds options (e.g. --adds 100 --budget 60 --repeats 1).
bench_control_plane() {
	build_daemon || return 1
	# shellcheck disable=SC2086
	tests/bench/control_plane/control_plane_bench.sh "$build" "$out/control_plane.json" \
		${CONTROL_PLANE_ARGS:-}
}

# Group 4: a fleet through etcd: a change through one host to the verdict
# in two others' kernels (p50/p99 over 1,000), against one host with SQLite;
# replaces of 100k and 1M. FLEET_ARGS adds options (e.g. --changes 100
# --replaces 100000).
bench_fleet() {
	build_daemon || return 1
	# shellcheck disable=SC2086
	tests/bench/fleet/fleet_bench.sh "$build" "$out/fleet.json" ${FLEET_ARGS:-}
}

summarize() {
	python3 - "$out" "$@" <<'PY'
import json, os, sys

out, groups = sys.argv[1], sys.argv[2:]
summary = {"groups": {}, "failed": [], "targets": []}
for g in groups:
    path = os.path.join(out, g + ".json")
    if not os.path.exists(path):
        summary["failed"].append(g)
        continue
    with open(path) as f:
        data = json.load(f)
    summary["groups"][g] = data
    summary.setdefault("machine", data.get("machine"))
    summary["targets"] += data.get("targets", [])

with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")

def measured(t):
    v = t.get("measured")
    if isinstance(v, (int, float)):
        unit = t.get("unit", "")
        return f"{v:.2f}x" if unit == "x" else f"{v:.1f} {unit}".strip()
    return str(v)

print("\nSummary of targets (" + os.path.join(out, "summary.json") + ")")
for t in summary["targets"]:
    print(f"  {'MET ' if t.get('met') else 'MISS'} {t.get('group', ''):<12} "
          f"{t.get('name', ''):<62} {t.get('target', ''):<10} "
          f"measured {measured(t)}")
for g in summary["failed"]:
    print(f"  FAILED group {g}: no results")
PY
}

if [ "$(id -u)" -ne 0 ]; then
	echo "run-bench: the benchmarks load BPF programs: run as root" >&2
	exit 1
fi

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=("${GROUPS_ALL[@]}")
failed=0
for g in "${groups[@]}"; do
	if ! declare -F "bench_$g" >/dev/null; then
		echo "run-bench: unknown group '$g' (groups: ${GROUPS_ALL[*]})" >&2
		failed=1
		continue
	fi
	rm -f "$out/$g.json"
	echo "=== bench group $g" >&2
	start=$(date +%s)
	if "bench_$g"; then
		echo "--- $g done in $(($(date +%s) - start)) s" >&2
	else
		echo "--- $g FAILED after $(($(date +%s) - start)) s" >&2
		rm -f "$out/$g.json"
		failed=1
	fi
done
summarize "${groups[@]}"
exit $failed
