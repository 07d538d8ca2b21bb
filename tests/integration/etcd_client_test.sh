#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The etcd client (userspace/etcd/) against Debian's etcd: the lab starts
# etcd in a namespace of its own, and the client's GoogleTest cases
# (tests/etcd_client_test.cpp) run in a host namespace joined to it, first
# over http://, then over https:// with a CA and client certificate; then
# xdpgated itself over https://, with the client certificate and without.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
build=${XDPGATE_BUILD:-build}
XG_BUILD=$build
. scripts/etcd-lab-lib.sh
. tests/integration/common.bash
trap xg_etcd_lab_cleanup EXIT

# Usage: run_cases FILTER [VAR=VALUE...]: the cases, from host 1.
run_cases() {
	local filter=$1
	shift
	xg_in_host 1 env "$@" "$build/xdpgate_tests" --gtest_filter="$filter" \
		>"$XG_LAB_TMP/cases.log" 2>&1
	local rc=$?
	# A filter that matches nothing passes too: count what ran.
	grep -q '^\[  PASSED  \] [1-9]' "$XG_LAB_TMP/cases.log" || rc=1
	grep -E '^\[ +(OK|FAILED|SKIPPED) +\]' "$XG_LAB_TMP/cases.log" | sed 's/^/# /'
	if [ $rc -ne 0 ] || grep -q '^\[  SKIPPED' "$XG_LAB_TMP/cases.log"; then
		sed 's/^/#   /' "$XG_LAB_TMP/cases.log" | tail -60
		echo "# reproduce: XDPGATE_BUILD=$build bash $0"
		return 1
	fi
}

xg_etcd_lab_setup 2
check "etcd starts over http" xg_etcd_start &&
	check "the client's cases pass over http" \
		run_cases 'EtcdClient*' XDPGATE_TEST_ETCD="$XG_ETCD_ENDPOINT"
xg_etcd_stop
rm -rf "$XG_ETCD_DATA"

tls=$XG_LAB_TMP/tls
check "etcd starts over https with client certificates" xg_etcd_start tls &&
	check "the client's TLS cases pass" run_cases 'EtcdTls*' \
		XDPGATE_TEST_ETCD_TLS="$XG_ETCD_ENDPOINT" \
		XDPGATE_TEST_ETCD_CACERT="$tls/ca.pem" \
		XDPGATE_TEST_ETCD_CERT="$tls/client.pem" \
		XDPGATE_TEST_ETCD_KEY="$tls/client-key.pem"

store_of() { xg_fleet_cli "$1" --json status | jq -r ".store.$2"; }
check "xdpgated with the client certificate starts" xg_fleet_start 1 &&
	check "it follows etcd (not stale)" [ "$(store_of 1 stale)" = false ] &&
	check "a write through it works" \
		eval 'xg_fleet_cli 1 add 198.51.100.0/24 >/dev/null'
XG_FLEET_NO_CERT=1 xg_fleet_start 2
check "xdpgated without one starts on its own copy, stale" \
	[ "$(store_of 2 stale)" = true ]
check "its log says etcd may want a client certificate, and which keys" \
	grep -q "set \[etcd\] cert and key" "$(xg_fleet_dir 2)/daemon.log" ||
	tail -5 "$(xg_fleet_dir 2)/daemon.log" | sed 's/^/#   /'
out=$(xg_fleet_cli 2 --json add 192.0.2.0/24 2>&1)
check "a write through it is refused with store_unavailable" \
	[ -n "$(grep store_unavailable <<<"$out")" ] || echo "#   got: $out"

[ "$failures" -eq 0 ]
