#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The manuals in scripts/man/ against the programs: each renders with
# `MANWIDTH=80 man --warnings -l` without a warning and within 80 columns;
# xdpgate(8) documents every subcommand, option and operand of `xdpgate
# --help` and its subcommands' --help, and nothing they lack; xdpgated(8)
# every option of `xdpgated --help` (tests/integration/xg_manuals.py).
# xdpgate.toml(5) against the configuration parser is tests/
# config_manual_test.cpp. Needs man-db and groff-base (scripts/packages.txt),
# nothing of the network. Run from anywhere; XDPGATE_BUILD names the build
# directory (default build).
set -u
cd "$(dirname "$0")/../.." || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}

TMP=$(mktemp -d /tmp/xdpgate-manuals.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

. tests/integration/common.bash

if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
	echo "not ok - man and groff are installed (apt-get install man-db groff-base)"
	exit 1
fi

manuals=(scripts/man/xdpgate.8 scripts/man/xdpgated.8 scripts/man/xdpgate.toml.5)
for manual in "${manuals[@]}"; do
	name=$(basename "$manual")
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$manual" \
		>"$TMP/$name.txt" 2>"$TMP/$name.err"
	rc=$?
	check "$name renders (man -l exits 0)" [ $rc -eq 0 ]
	check "$name renders without warnings" not [ -s "$TMP/$name.err" ] ||
		sed 's/^/#   /' "$TMP/$name.err"
	check "$name renders to text" grep -q NAME "$TMP/$name.txt"
	width=$(wc -L <"$TMP/$name.txt")
	check "$name fits 80 columns (widest line: $width)" [ "$width" -le 80 ] ||
		awk 'length > 80 { print "#   " FILENAME ":" FNR ": " $0 }' \
			"$TMP/$name.txt"
done

check "each manual documents its program's --help" \
	python3 tests/integration/xg_manuals.py "$XG_BUILD" scripts/man

[ "$failures" -eq 0 ]
