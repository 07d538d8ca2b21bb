#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A daemon of a fleet SIGKILLed while it applies a large generation (SPEC
# §7): each verdict its kernel is left with is the old list's or the new
# one's (an address both lists hold passes, one neither holds is dropped);
# started again while etcd is down, it enforces the copy it kept, one list
# whole; once etcd is back it converges on the new list. Host 1 writes replaces of 100,000 entries; host 2 is killed while
# it reads the new generation, and at several delays after it has read it,
# so that the kill lands while it swaps its kernel's list, while it keeps
# its copy, or after. Verdicts come from host 2's
# kernel (BPF_PROG_TEST_RUN through bpftool).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here" || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}
. scripts/etcd-lab-lib.sh
. tests/integration/common.bash
trap xg_etcd_lab_cleanup EXIT
REPRODUCE="XDPGATE_BUILD=$XG_BUILD bash $0"

# Two lists of 100,000 single addresses, list a in 100.80.0.0/12's first
# part, list b in 100.96.0.0/12's, and 100.90.0.0/24 in both. samples_X:
# three addresses only list X holds, its first, a middle and its last.
write_list() { # FILE SECOND_OCTET_BASE
	awk -v base="$2" 'BEGIN {
		print "ip_address,description"
		for (i = 0; i < 99999; i++)
			printf "100.%d.%d.%d,crash%d\n", base + int(i / 62500),
				int(i / 250) % 250, i % 250 + 1, i
		print "100.90.0.0/24,shared"
	}' >"$1"
}
write_list "$XG_LAB_TMP/a.csv" 80
write_list "$XG_LAB_TMP/b.csv" 96
declare -A samples=([a]="100.80.0.1 100.80.200.1 100.81.149.249"
	[b]="100.96.0.1 100.96.200.1 100.97.149.249")

# Which list host 2's kernel enforces whole ("a" or "b"), or what it mixes.
enforced() {
	local list address verdicts=""
	for list in a b; do
		for address in ${samples[$list]}; do
			verdicts="$verdicts $list:$(xg_fleet_verdict 2 "$address")"
		done
	done
	case $verdicts in
	" a:pass a:pass a:pass b:drop b:drop b:drop") echo a ;;
	" a:drop a:drop a:drop b:pass b:pass b:pass") echo b ;;
	*) echo "mixed:$verdicts" ;;
	esac
}
enforces() { [ "$(enforced)" = "$1" ]; }
# Verdicts both lists agree on: the shared range passes, an address in
# neither is dropped.
agreed() {
	[ "$(xg_fleet_verdict 2 100.90.0.7)" = pass ] &&
		[ "$(xg_fleet_verdict 2 100.91.0.1)" = drop ]
}
# One list whole: a or b.
whole() {
	local got
	got=$(enforced)
	[ "$got" = a ] || [ "$got" = b ] || {
		echo "#   host 2's kernel: $got"
		return 1
	}
}
generation() {
	xg_etcdctl get --print-value-only "${XG_FLEET_PREFIX}list/head" | jq -r .generation
}
head_moved_from() { [ "$(generation)" != "$1" ]; }

xg_etcd_lab_setup 2
check "etcd starts in its own namespace" xg_etcd_start || exit 1
for n in 1 2; do
	check "xdpgated starts on host $n with store = etcd" xg_fleet_start "$n" ||
		exit 1
done
quiet() { "$@" >/dev/null; }
check "host 1 takes list a" quiet xg_fleet_cli 1 replace "$XG_LAB_TMP/a.csv"
check "host 1 activates it" quiet xg_fleet_cli 1 activate --yes
check "host 2 enforces list a (within 30 s)" xg_wait_until 30 enforces a

reads() { grep -c "read generation" "$(xg_fleet_dir 2)/daemon.log"; }
read_more_than() { [ "$(reads)" -gt "$1" ]; }

# Usage: round AFTER DELAY: replaces host 1's list with the other one and
# SIGKILLs host 2 DELAY seconds after AFTER: "head" (etcd's head names the
# new generation: host 2 reads it) or "read" (host 2 has read it: it swaps
# its kernel's list, then keeps its copy).
from=a
round() {
	local after=$1 delay=$2 to before read_before writer got
	to=$([ "$from" = a ] && echo b || echo a)
	echo "# SIGKILL host 2 $delay s after $after, host 1 replacing list $from with $to"
	before=$(generation)
	read_before=$(reads)
	xg_fleet_cli 1 replace "$XG_LAB_TMP/$to.csv" >"$XG_LAB_TMP/replace.out" 2>&1 &
	writer=$!
	if [ "$after" = head ]; then
		check "the head names a new generation (within 60 s)" \
			xg_wait_until 60 head_moved_from "$before"
	else
		check "host 2 has read the new generation (within 60 s)" \
			xg_wait_until 60 read_more_than "$read_before"
	fi
	sleep "$delay"
	xg_fleet_stop 2 KILL
	check "killed, host 2's kernel passes the shared range and drops the rest" agreed
	# Each list's own addresses may pass together until the restart: the
	# kernel's swap lets both lists' hosts through for its moment (README).
	echo "# killed, host 2's kernel holds: $(enforced)"
	wait "$writer"
	check "the replace through host 1 succeeds" [ $? -eq 0 ] ||
		sed 's/^/#   /' "$XG_LAB_TMP/replace.out"

	xg_etcd_stop TERM
	check "host 2 starts again while etcd is down" xg_fleet_start 2
	got=$(enforced)
	check "from the copy it kept, host 2 enforces one list whole ($got)" whole
	check "etcd starts again" xg_etcd_start
	check "host 2 converges on list $to (within 30 s)" xg_wait_until 30 enforces "$to"
	from=$to
}
# Each kill has landed in turn before the swap, between the swap and the
# copy, and after both (the checks name the list each held).
round head 0
round read 0
round read 0.2
round read 0.6

if [ "$failures" -ne 0 ]; then
	echo "# host 2's log (tail):"
	tail -20 "$(xg_fleet_dir 2)/daemon.log" | sed 's/^/#   /'
	echo "# $failures check(s) failed; reproduce: $REPRODUCE"
	exit 1
fi
echo "# all checks passed"
