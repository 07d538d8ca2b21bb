#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs a GoogleTest binary with a bound on the whole run, its full output in
# LOG and only the verdict on the console. When the suite fails or runs past
# MINUTES it prints what a reader of the CI output needs to act without the
# (deleted) build tree: the test that was running when it hung or crashed,
# each failed test's own output, the log's tail, and the command that
# reproduces it.
# Usage: run-gtest.sh MINUTES LOG BINARY [gtest arguments...]
set -u
minutes=$1
log=$2
binary=$3
shift 3

# TERM first so a sanitizer or gtest can still flush; KILL if that hangs too.
timeout --kill-after=30s "${minutes}m" "$binary" "$@" >"$log" 2>&1
rc=$?

grep -E '^\[==========\] .* ran\.|^\[  PASSED  \]|^\[  SKIPPED \] [0-9]+ test' "$log"
[ $rc -eq 0 ] && exit 0

echo "*** $binary failed (exit $rc); full output: $log"
# A test started and never finished hung (at a timeout) or took the
# process down (a sanitizer's abort, a crash).
running=$(awk '/^\[ RUN      \]/ { t = $4 }
	/^\[       OK \]|^\[  FAILED  \]|^\[  SKIPPED \]/ { if ($4 == t) t = "" }
	END { print t }' "$log")
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "*** timed out after $minutes min while running: ${running:-(between tests)}"
elif [ -n "$running" ]; then
	echo "*** the process ended while running: $running"
fi
# Each failed test's output, from its RUN line to its verdict.
failed=$(awk '/^\[  FAILED  \] [^ ]+ \(/ { print $4 }' "$log" | sort -u)
for test in $failed; do
	echo "--- output of $test"
	awk -v t="$test" '$0 ~ /^\[ RUN      \]/ && $4 == t { on = 1 }
		on { print } on && /^\[  FAILED  \]/ && $4 == t { exit }' "$log" |
		tail -n 80
done
echo "--- last 40 lines of $log"
tail -n 40 "$log"
filter=$(echo $running $failed | tr ' ' ':')
kept=()
for arg in "$@"; do
	case $arg in --gtest_filter=* | --gtest_output=*) ;; *) kept+=("$arg") ;; esac
done
echo "*** reproduce: $binary ${kept[*]} --gtest_filter='${filter:-*}'"
exit $rc
