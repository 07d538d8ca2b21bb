#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs each fuzz target for SECONDS on a scratch copy of its checked-in
# corpus (tests/fuzz/corpus/<target>/), so the repository is never written.
# Crash, leak, UB and timeout inputs land in FUZZ_DIR/artifacts/. Exits
# non-zero if any target failed. Usage: run-fuzzers.sh FUZZ_DIR SECONDS TARGET...
set -u
fuzz_dir=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"

mkdir -p "$fuzz_dir/artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=()
for target in "$@"; do
	extra=()
	case $target in
	verdict_fuzz)
		# Byte 0 picks the configuration; the rest is at most a tagged
		# 1518-byte Ethernet frame.
		extra=(-max_len=1527)
		if [ "$(id -u)" -ne 0 ]; then
			echo "=== $target: SKIPPED (needs root for BPF_PROG_TEST_RUN)"
			continue
		fi
		mountpoint -q /sys/fs/bpf 2>/dev/null || mount -t bpf bpf /sys/fs/bpf
		;;
	http_fuzz)
		extra=(-max_len=8192 -timeout=30)
		;;
	*)
		extra=(-max_len=4096)
		;;
	esac
	[ -f "tests/fuzz/$target.dict" ] && extra+=(-dict="tests/fuzz/$target.dict")
	corpus="$scratch/$target"
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$target" ] && cp -r "tests/fuzz/corpus/$target/." "$corpus/"
	echo "=== $target: ${seconds}s"
	if "$fuzz_dir/$target" "$corpus" -max_total_time="$seconds" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$fuzz_dir/artifacts/$target-" "${extra[@]}" \
		>"$fuzz_dir/$target.log" 2>&1; then
		grep -E '^stat::(number_of_executed_units|new_units_added)|^Done' \
			"$fuzz_dir/$target.log" | tr '\n' ' '
		echo
		echo "--- PASS $target"
	else
		tail -n 60 "$fuzz_dir/$target.log"
		echo "--- FAIL $target (full log: $fuzz_dir/$target.log;" \
			"reproduce: $fuzz_dir/$target ARTIFACT)"
		failed+=("$target")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzzing failed: ${failed[*]}"
	exit 1
fi
echo "fuzzing: every target ran ${seconds}s without a finding"
