#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# One list for three hosts through etcd (SPEC §7): etcd in a namespace of
# its own, three hosts each running xdpgated with store = "etcd" on a veth
# of its own (scripts/etcd-lab-lib.sh). Verdicts are read from each host's
# kernel, running its attached program on crafted frames
# (BPF_PROG_TEST_RUN through bpftool), never from the API. Every wait is
# bounded; nothing here times a change (make bench measures convergence).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here" || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}
. scripts/etcd-lab-lib.sh
. tests/integration/common.bash
trap xg_etcd_lab_cleanup EXIT
REPRODUCE="XDPGATE_BUILD=$XG_BUILD bash $0"

# Usage: on_hosts "HOSTS" pass|drop SOURCE: checks each host's kernel.
on_hosts() {
	local hosts=$1 want=$2 source=$3 n
	for n in $hosts; do
		check "host $n's kernel: $want $source" \
			xg_fleet_wait_verdict "$n" "$source" "$want"
	done
}

# How many entries host N lists with RANGE.
listed() {
	xg_fleet_cli "$1" --json list --all |
		jq --arg r "$2" '[.items[] | select(.ip_range == $r)] | length'
}

# Usage: wait_listed N RANGE COUNT: host N lists RANGE COUNT times (10 s).
wait_listed() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(listed "$1" "$2")" = "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

# Usage: wait_count N COUNT: host N lists COUNT entries (10 s).
wait_count() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(xg_fleet_cli "$1" --json list --all | jq '.items | length')" = "$2" ] &&
			return 0
		sleep 0.2
	done
	return 1
}

# The command's output is not the test's.
quiet() { "$@" >/dev/null; }

# Usage: stale N true|false: host N's status.store.stale.
stale() { [ "$(xg_fleet_cli "$1" --json status | jq -r .store.stale)" = "$2" ]; }

# Cuts host 3 off from etcd, or joins it again: nftables in host 3's own
# namespace resets its connections to etcd's port.
cut_off_host3() {
	xg_in_host 3 nft -f - <<'NFT'
table inet xg_cut {
	chain output {
		type filter hook output priority 0; policy accept;
		tcp dport 2379 reject with tcp reset
	}
}
NFT
}
join_host3() { xg_in_host 3 nft delete table inet xg_cut; }

xg_etcd_lab_setup 3
check "etcd starts in its own namespace" xg_etcd_start || exit 1
for n in 1 2 3; do
	check "xdpgated starts on host $n with store = etcd" xg_fleet_start "$n" ||
		exit 1
done

echo "# a write through one host is enforced by every host's kernel"
check "add 198.51.100.0/24 through host 1" \
	quiet xg_fleet_cli 1 add 198.51.100.0/24 -d office
check "add 192.0.2.0/24 through host 2" \
	quiet xg_fleet_cli 2 add 192.0.2.0/24 -d vpn
check "activate through host 3" quiet xg_fleet_cli 3 activate --yes
on_hosts "1 2 3" pass 198.51.100.7
on_hosts "1 2 3" pass 192.0.2.1
on_hosts "1 2 3" drop 203.0.113.9

for n in 1 2 3; do
	check "host $n's status names etcd as its store" \
		[ "$(xg_fleet_cli "$n" --json status | jq -r .store.kind)" = etcd ]
done
# Every host registers itself; once each applied the last change, none is
# behind.
fleet_current() {
	xg_fleet_cli 2 --json fleet |
		jq -e '(.hosts | map(.host_name) == ["host1", "host2", "host3"]) and
			(.hosts | all(.behind == false and .revision > 0))' >/dev/null
}
check "xdpgate fleet lists the three hosts, none behind (within 10 s)" \
	xg_wait_until 10 fleet_current ||
	xg_fleet_cli 2 --json fleet | sed 's/^/#   /'
check "xdpgate fleet prints a line per host" \
	[ "$(xg_fleet_cli 3 fleet | grep -c '^host[123] ')" = 3 ]

echo "# a delete through host 2 leaves every kernel"
id=$(xg_fleet_cli 2 --json list | jq -r '.items[] | select(.ip_range == "192.0.2.0/24") | .id')
check "delete 192.0.2.0/24 ($id) through host 2" \
	quiet xg_fleet_cli 2 delete "$id"
on_hosts "1 2 3" drop 192.0.2.1
on_hosts "1 2 3" pass 198.51.100.7

echo "# one range added through two hosts at the same moment is listed once"
for round in 1 2 3; do
	range=203.0.$((112 + round)).0/24
	xg_fleet_cli 1 add "$range" -d "from host 1" >"$XG_LAB_TMP/add1" 2>&1 &
	a=$!
	xg_fleet_cli 3 add "$range" -d "from host 3" >"$XG_LAB_TMP/add3" 2>&1 &
	b=$!
	wait $a
	ra=$?
	wait $b
	rb=$?
	check "round $round: one of the adds of $range succeeds (exits $ra and $rb)" \
		[ $ra -eq 0 ] || [ $rb -eq 0 ] ||
		cat "$XG_LAB_TMP/add1" "$XG_LAB_TMP/add3" | sed 's/^/#   /'
	for n in 1 2 3; do
		check "round $round: host $n lists $range once" wait_listed "$n" "$range" 1 ||
			echo "#   host $n lists it $(listed "$n" "$range") times"
	done
done

echo "# values written by hand under the prefix change nothing"
gen=$(xg_etcdctl get --print-value-only "${XG_FLEET_PREFIX}list/head" | jq -r .generation)
entry='{"id":"notanid","ip_range":"0.0.0.0/0","description":null,"enabled":true,"created_by":"x","created_at":1,"updated_at":null,"expires_at":null}'
xg_etcdctl put "${XG_FLEET_PREFIX}list/gen/$gen/ip_junk1" 'not json' >/dev/null
xg_etcdctl put "${XG_FLEET_PREFIX}list/gen/$gen/notanid" "$entry" >/dev/null
xg_etcdctl put "${XG_FLEET_PREFIX}list/gen/$gen/ip_junk2" "${entry/notanid/ip_junk2}" >/dev/null
xg_etcdctl put "${XG_FLEET_PREFIX}list/gen/$gen/ip_junk3" '{"id":"ip_junk3","ip_range":"10.0.0.1/8"}' >/dev/null
xg_etcdctl put "${XG_FLEET_PREFIX}list/state" 'garbage' >/dev/null
xg_etcdctl put "${XG_FLEET_PREFIX}list/head" '{"format":2}' >/dev/null
xg_etcdctl put "${XG_FLEET_PREFIX}list/gen/$gen/ip_junk4" '{"id":"ip_junk4","deleted":"yes"}' >/dev/null
fields='["id","ip_range","description","enabled","created_by","created_at","updated_at","expires_at","past_hits","past_last_hit_at"]'
xg_etcdctl put "${XG_FLEET_PREFIX}chunks/$gen/000099" \
	"{\"fields\":$fields,\"entries\":[[\"ip_junk5\",\"0.0.0.0/0\",null,true,\"x\",1,null,null,0,null]]}" >/dev/null
xg_etcdctl put "${XG_FLEET_PREFIX}unknown" 'x' >/dev/null
# A real change after the junk: once every host applied it, each has read
# the junk too.
check "add 198.18.200.0/24 through host 2 after the junk" \
	quiet xg_fleet_cli 2 add 198.18.200.0/24 -d after-junk
on_hosts "1 2 3" pass 198.18.200.1
on_hosts "1 2 3" drop 100.64.0.1
on_hosts "1 2 3" pass 198.51.100.7
for n in 1 2 3; do
	check "host $n still enforces" \
		[ "$(xg_fleet_cli "$n" --json status | jq -r .mode)" = enforce ]
done
for n in 1 2 3; do
	check "host $n does not list the hand-written 0.0.0.0/0 (a valid value, a valid id)" \
		[ "$(listed "$n" 0.0.0.0/0)" = 0 ]
done
# A daemon that starts reads every chunk the head names, and no other.
xg_fleet_stop 2
check "host 2 starts again after the junk" xg_fleet_start 2
check "host 2 does not list the hand-written chunk's 0.0.0.0/0" \
	[ "$(listed 2 0.0.0.0/0)" = 0 ]
on_hosts 2 drop 100.64.0.1
on_hosts 2 pass 198.18.200.1
xg_etcdctl del "${XG_FLEET_PREFIX}list/gen/$gen/ip_junk2" >/dev/null

echo "# a replace through host 1 reaches every kernel whole"
{
	echo "ip_address,description"
	for i in $(seq 0 999); do echo "100.70.$((i / 250)).$((i % 250 + 1)),r$i"; done
} >"$XG_LAB_TMP/replace.csv"
check "replace the list with 1000 entries through host 1" \
	quiet xg_fleet_cli 1 replace "$XG_LAB_TMP/replace.csv"
on_hosts "1 2 3" pass 100.70.3.250
on_hosts "1 2 3" drop 198.51.100.7
for n in 1 2 3; do
	check "host $n lists the 1000 entries" wait_count "$n" 1000
done

echo "# a replace of 100,000 entries: while it converges, every verdict is one list's"
# The old list holds 100.70.0.1, the new one 100.80.0.1, both 100.70.0.2,
# neither 100.99.0.1. Every verdict of every kernel is the old list's or the
# new one's: the shared address always passes, the other never does; each
# of the two changes once, and never back. (Not both at one instant: hosts
# of both lists pass for a moment in the kernel's swap, README.)
{
	echo "ip_address,description"
	for i in $(seq 0 99998); do
		echo "100.$((80 + i / 62500)).$((i / 250 % 250)).$((i % 250 + 1)),n$i"
	done
	echo "100.70.0.2,shared"
} >"$XG_LAB_TMP/replace-100k.csv"
xg_fleet_cli 1 replace "$XG_LAB_TMP/replace-100k.csv" >"$XG_LAB_TMP/replace.out" 2>&1 &
writer=$!
wrong=""
for n in 2 3; do
	left="" came=""
	for ((i = 0; i < 600; i++)); do
		old=$(xg_fleet_verdict "$n" 100.70.0.1)
		new=$(xg_fleet_verdict "$n" 100.80.0.1)
		shared=$(xg_fleet_verdict "$n" 100.70.0.2)
		neither=$(xg_fleet_verdict "$n" 100.99.0.1)
		[ "$shared" = pass ] || wrong="$wrong host $n: the shared address $shared;"
		[ "$neither" = drop ] || wrong="$wrong host $n: an unlisted address $neither;"
		[ -n "$left" ] && [ "$old" = pass ] && wrong="$wrong host $n: 100.70.0.1 back;"
		[ -n "$came" ] && [ "$new" = drop ] && wrong="$wrong host $n: 100.80.0.1 gone again;"
		[ "$old" = drop ] && left=yes
		[ "$new" = pass ] && came=yes
		[ -n "$left" ] && [ -n "$came" ] && break
		sleep 0.05
	done
done
wait $writer
check "the replace of 100,000 through host 1 succeeds" [ $? -eq 0 ] ||
	sed 's/^/#   /' "$XG_LAB_TMP/replace.out"
check "every verdict during the replace was the old list's or the new one's" [ -z "$wrong" ] ||
	echo "#  $wrong"
on_hosts "1 2 3" pass 100.81.143.250
on_hosts "1 2 3" drop 100.70.0.1
for n in 1 2 3; do
	check "host $n lists the 100,000 entries" wait_count "$n" 100000
done

echo "# a host stopped while the list changed and etcd compacted catches up"
xg_fleet_stop 3
check "host 3, stopped, is gone from the fleet at once" \
	[ "$(xg_fleet_cli 1 --json fleet | jq -c '[.hosts[].host_name]')" = '["host1","host2"]' ]
check "add 100.71.0.0/16 through host 1 while host 3 is down" \
	quiet xg_fleet_cli 1 add 100.71.0.0/16 -d while-down
rev=$(xg_etcdctl get -w json "${XG_FLEET_PREFIX}list/head" | jq .header.revision)
check "etcd compacts its history up to revision $rev" \
	quiet xg_etcdctl compact "$rev"
check "host 3 starts again" xg_fleet_start 3
on_hosts 3 pass 100.71.2.3

echo "# a running host cut off from etcd while it compacted lists again"
check "host 3 is cut off from etcd (nftables in its namespace)" cut_off_host3
# The watch breaks when host 3 answers the next event etcd sends it.
check "add 100.74.0.0/16 through host 1" \
	quiet xg_fleet_cli 1 add 100.74.0.0/16 -d while-cut-off
check "host 3 reports itself stale (within 20 s)" xg_wait_until 20 stale 3 true
id=$(xg_fleet_cli 1 --json list --all | jq -r '.items[] | select(.ip_range == "100.71.0.0/16") | .id')
check "delete 100.71.0.0/16 ($id) through host 1, which host 3 cannot hear" \
	quiet xg_fleet_cli 1 delete "$id"
rev=$(xg_etcdctl get -w json "${XG_FLEET_PREFIX}list/head" | jq .header.revision)
check "etcd compacts its history up to revision $rev" \
	quiet xg_etcdctl compact "$rev"
on_hosts 3 pass 100.71.2.3
check "host 3 joins etcd again" join_host3
on_hosts 3 pass 100.74.2.3
on_hosts 3 drop 100.71.2.3
check "host 3 says it read the whole list again" \
	grep -q "compacted.*reading the whole list again" "$(xg_fleet_dir 3)/daemon.log"
check "host 3 is no longer stale (within 20 s)" xg_wait_until 20 stale 3 false

echo "# a provisional activation reverts on every host, even without the host that made it"
check "deactivate through host 2" quiet xg_fleet_cli 2 deactivate
on_hosts "1 2 3" pass 100.72.0.1
check "activate through host 1, to be confirmed within 3 s" \
	quiet xg_fleet_cli 1 activate --yes --confirm-within 3
on_hosts "2 3" drop 100.72.0.1
xg_fleet_stop 1 KILL
on_hosts "2 3" pass 100.72.0.1 20
check "host 1 starts again" xg_fleet_start 1
on_hosts 1 pass 100.72.0.1
check "activate again through host 2" quiet xg_fleet_cli 2 activate --yes
on_hosts "1 2 3" drop 100.72.0.1

echo "# while etcd is down every host enforces and refuses writes"
xg_etcd_stop KILL
on_hosts "1 2 3" pass 100.80.0.1
on_hosts "1 2 3" drop 100.72.0.1
for n in 1 2 3; do
	check "host $n reports itself stale" xg_wait_until 20 stale "$n" true
done
out=$(xg_fleet_cli 2 --json add 100.73.0.0/16 2>&1)
check "a write through host 2 is refused with store_unavailable" \
	[ -n "$(grep store_unavailable <<<"$out")" ] || echo "#   got: $out"
out=$(xg_fleet_cli 1 --json audit 2>&1)
check "the audit log through host 1 answers store_unavailable" \
	[ -n "$(grep store_unavailable <<<"$out")" ] || echo "#   got: $out"
xg_fleet_stop 2
check "host 2 starts while etcd is down" xg_fleet_start 2
on_hosts 2 pass 100.80.0.1
on_hosts 2 drop 100.72.0.1
check "host 2 says it started from its own copy" \
	grep -q "enforcing the last list this host applied" "$(xg_fleet_dir 2)/daemon.log"

echo "# etcd back: writes work and every host converges"
check "etcd starts again" xg_etcd_start
check "a write through host 2 works once it has caught up (within 20 s)" \
	xg_wait_until 20 quiet xg_fleet_cli 2 add 100.73.0.0/16 -d back
on_hosts "1 2 3" pass 100.73.1.1
for n in 1 2 3; do
	check "host $n is no longer stale" xg_wait_until 20 stale "$n" false
done
check "every host is current in the fleet again (within 20 s)" \
	xg_wait_until 20 fleet_current ||
	xg_fleet_cli 2 --json fleet | sed 's/^/#   /'

echo "# one audit log for the fleet, in etcd"
# [sequence, host, actor, action] of every record, newest first.
audit_of() {
	xg_fleet_cli "$1" --json audit --limit 1000 |
		jq -c '[.items[] | [.sequence, .host, .actor, .action]]'
}
log1=$(audit_of 1)
for n in 2 3; do
	check "host $n reads the audit log host 1 reads" [ "$(audit_of "$n")" = "$log1" ]
done
check "its sequences decrease, each once" \
	quiet jq -e 'map(.[0]) | . == (sort | reverse) and length == (unique | length) and length > 20' <<<"$log1"
check "it names changes made through host 1 and through host 2" \
	quiet jq -e 'map(.[1]) | index("host1") != null and index("host2") != null' <<<"$log1"
added=$(xg_fleet_cli 3 --json audit --limit 1000 |
	jq '[.items[] | select(.action == "replace" and .host == "host1") | .after.added // [] | length] | add')
# 1,000, then 99,999 (the 100,000th, 100.70.0.2, was listed already).
check "the replaces through host 1 are in it, every added entry (got $added)" \
	[ "$added" = $((1000 + 99999)) ]

if [ "$failures" -ne 0 ]; then
	for n in 1 2 3; do
		echo "# host $n's log (tail):"
		tail -15 "$(xg_fleet_dir "$n")/daemon.log" | sed 's/^/#   /'
	done
	echo "# $failures check(s) failed; reproduce: $REPRODUCE"
	exit 1
fi
