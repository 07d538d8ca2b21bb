#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Group 4 of `make bench`: a fleet's convergence through etcd. Starts the lab
# of scripts/etcd-lab-lib.sh (etcd and hosts 1-3 with store = "etcd", host 4
# with store = "sqlite"), activates each list with one entry, then runs
# fleet_bench.py, which measures and writes OUT. Removes everything on exit.
# Usage: fleet_bench.sh BUILD_DIR OUT [fleet_bench.py options]
set -u
build=${1:?usage: fleet_bench.sh BUILD_DIR OUT [options]}
out=${2:?usage: fleet_bench.sh BUILD_DIR OUT [options]}
shift 2
here=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$here" || exit 1
XG_BUILD=$build
. scripts/etcd-lab-lib.sh
trap xg_etcd_lab_cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() {
	echo "fleet_bench: $*" >&2
	exit 1
}
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || fail "cannot mount bpffs"
xg_etcd_lab_setup 4
xg_etcd_start || fail "etcd did not start"
for n in 1 2 3; do
	xg_fleet_start "$n" || fail "xdpgated did not start on host $n"
done
XG_FLEET_STORE=sqlite xg_fleet_start 4 || fail "xdpgated did not start on host 4"
for n in 1 4; do
	xg_fleet_cli "$n" add 198.51.100.0/24 -d bench >/dev/null &&
		xg_fleet_cli "$n" activate --yes >/dev/null ||
		fail "could not activate host $n's list"
done
for n in 2 3; do
	xg_fleet_wait_verdict "$n" 203.0.113.9 drop || fail "host $n does not enforce"
done
cat >"$XG_LAB_TMP/lab.json" <<JSON
{"fleet": [
  {"socket": "$(xg_fleet_dir 1)/xdpgate.sock", "prog_id": $(xg_fleet_prog_id 1)},
  {"socket": "$(xg_fleet_dir 2)/xdpgate.sock", "prog_id": $(xg_fleet_prog_id 2)},
  {"socket": "$(xg_fleet_dir 3)/xdpgate.sock", "prog_id": $(xg_fleet_prog_id 3)}],
 "single": {"socket": "$(xg_fleet_dir 4)/xdpgate.sock", "prog_id": $(xg_fleet_prog_id 4)}}
JSON
python3 tests/bench/fleet/fleet_bench.py --lab "$XG_LAB_TMP/lab.json" --out "$out" "$@"
