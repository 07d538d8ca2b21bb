#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs every test: the GoogleTest suite (unit, verdict, API) and the
# integration scripts under tests/integration/. Prints one closing line
# "N passed, N failed". Usage: scripts/run-tests.sh [BUILD_DIR]
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf || echo "warning: could not mount bpffs at /sys/fs/bpf"
fi

passed=0
failed=0
report=$(mktemp)
trap 'rm -f "$report"' EXIT

"$build/xdpgate_tests" --gtest_brief=1 --gtest_output="json:$report"
gtest_rc=$?
if [ -s "$report" ]; then
	read -r t f < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["tests"]-d.get("disabled",0)-d["failures"]-d.get("errors",0), d["failures"]+d.get("errors",0))' "$report")
	passed=$((passed + t))
	failed=$((failed + f))
fi
[ $gtest_rc -eq 0 ] || [ "$failed" -gt 0 ] || failed=$((failed + 1))

for t in tests/integration/*.sh; do
	[ -e "$t" ] || continue
	echo "=== $t"
	if XDPGATE_BUILD="$build" bash "$t"; then
		passed=$((passed + 1))
		echo "--- PASS $t"
	else
		failed=$((failed + 1))
		echo "--- FAIL $t"
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
