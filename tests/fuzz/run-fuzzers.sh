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

# The inputs a failing target saved, small by construction (max_len), in
# base64 with the commands that rebuild and replay them: the CI output is all
# that survives the deleted clone.
print_artifacts() {
	local target=$1 prefix=$2 artifact
	shift 2
	for artifact in "$prefix"*; do
		[ -f "$artifact" ] || continue
		echo "*** $target saved $(basename "$artifact") ($(stat -c %s "$artifact") bytes), base64:"
		base64 -w 76 "$artifact"
		echo "*** reproduce: save those lines as input.b64, then"
		echo "    base64 -d input.b64 >input && make fuzz-binaries &&" \
			"$fuzz_dir/$target $* input"
	done
}

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
		# One input may wait up to 30 s on the server (http_fuzz.cpp's
		# exchange); the per-input timeout stays above that, so only a
		# hang reaches it, never a slow input on a loaded machine.
		extra=(-max_len=8192 -timeout=60)
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
	flags=(-timeout=10 -rss_limit_mb=2048 "${extra[@]}")
	artifacts="$fuzz_dir/artifacts/$target-"
	rm -f "$artifacts"*
	# libFuzzer stops itself after max_total_time; the outer bound only
	# catches a fuzzer that cannot (a hang outside an input, at exit).
	if timeout --kill-after=30s $((seconds + 300)) \
		"$fuzz_dir/$target" "$corpus" -max_total_time="$seconds" \
		-print_final_stats=1 -artifact_prefix="$artifacts" "${flags[@]}" \
		>"$fuzz_dir/$target.log" 2>&1; then
		grep -E '^stat::(number_of_executed_units|new_units_added)|^Done' \
			"$fuzz_dir/$target.log" | tr '\n' ' '
		echo
		echo "--- PASS $target"
	else
		rc=$?
		echo "--- FAIL $target (exit $rc); last 60 lines of $fuzz_dir/$target.log:"
		tail -n 60 "$fuzz_dir/$target.log"
		print_artifacts "$target" "$artifacts" "${flags[@]}"
		failed+=("$target")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzzing failed: ${failed[*]}"
	exit 1
fi
echo "fuzzing: every target ran ${seconds}s without a finding"
