#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck disable=SC2001,SC2016,SC2317 # jq programs in single quotes; functions run through check
# The CLI against a real daemon on a real socket: every subcommand's output
# and exit status, the SSH lock-out guard, curl over the socket, and the
# permissions of other uids (setpriv) on the real socket.
#
# xdpgated runs in the receiver namespace of a veth pair (scripts/netns-lib.sh)
# with a config that names two groups created here with unique names and
# removed at exit. Run as root from the repository root; XDPGATE_BUILD names
# the build directory (default build).
set -u
cd "$(dirname "$0")/../.." || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}
# shellcheck source=scripts/netns-lib.sh
. scripts/netns-lib.sh
# shellcheck source=tests/integration/common.bash
. tests/integration/common.bash
# An operator's SSH session would change what `activate` does; the SSH guard
# test sets SSH_CONNECTION itself.
unset SSH_CONNECTION

SENDER_ALLOWED=198.18.0.2
SENDER_DENIED=198.18.0.3
SENDER6=2001:db8::2
WRITE_GROUP=xgw$$
READ_GROUP=xgr$$
NOBODY_UID=65534

OUT=
ERR=
RC=
LAST=

cleanup() {
	xg_cleanup
	xg_remove_test_groups
}
trap cleanup EXIT

# --- helpers -----------------------------------------------------------------

# check DESCRIPTION COMMAND...: common.bash's check, and on failure also
# what the last CLI call printed.
check() {
	local desc=$1
	shift
	if "$@"; then
		echo "ok - $desc"
	else
		echo "not ok - $desc"
		failures=$((failures + 1))
		{
			echo "#   last command: $LAST"
			echo "#   exit status:  $RC"
			sed 's/^/#   stdout: /' <<<"$OUT" | head -20
			sed 's/^/#   stderr: /' <<<"$ERR" | head -20
			[ ${#V[@]} -eq 0 ] || printf '#   jq values: %s\n' "${V[@]}"
		} >&2
		return 1
	fi
}

# slurp VAR FILE: the file's text without its trailing newlines, with no
# subprocess (starting a process costs ~0.1 s on this machine).
slurp() {
	IFS= read -r -d '' "$1" <"$2"
	while [[ ${!1} == *$'\n' ]]; do printf -v "$1" '%s' "${!1%$'\n'}"; done
}

# run COMMAND...: sets OUT, ERR and RC.
run() {
	LAST="$*"
	"$@" >"$XG_TMP/stdout" 2>"$XG_TMP/stderr"
	RC=$?
	slurp OUT "$XG_TMP/stdout"
	slurp ERR "$XG_TMP/stderr"
}
cli() { run xg_cli "$@"; }
# As uid/gid 65534 with the given setpriv group option, on the real socket.
cli_as_nobody() {
	local groups=$1
	shift
	run setpriv --reuid=$NOBODY_UID --regid=$NOBODY_UID "$groups" \
		"$XG_BUILD/xdpgate" --socket "$XG_SOCKET" "$@"
}

rc_is() { [ "$RC" -eq "$1" ]; }
rc_nonzero() { [ "$RC" -ne 0 ]; }
out_has() { [[ $OUT == *"$1"* ]]; }
out_lacks() { [[ $OUT != *"$1"* ]]; }
# matches REGEX TEXT: some line of TEXT matches the ERE, ignoring case.
matches() {
	local line re=$1
	shopt -s nocasematch
	while IFS= read -r line; do
		if [[ $line =~ $re ]]; then
			shopt -u nocasematch
			return 0
		fi
	done <<<"$2"
	shopt -u nocasematch
	return 1
}
out_matches() { matches "$1" "$OUT"; }
err_has() { [[ $ERR == *"$1"* ]]; }
err_lacks() { [[ $ERR != *"$1"* ]]; }
err_matches() { matches "$1" "$ERR"; }
eq() { [ "$1" = "$2" ]; }

# jqv FILTER...: evaluates every filter on OUT in one jq run (jq is slow to
# start here); V[i] is the i-th filter's value: a string as is, anything else
# as compact JSON, "<none>" unless the filter gave exactly one value.
V=()
jqv() {
	local prog='' f
	for f in "$@"; do
		prog+="${prog:+, }([($f)?] | if length == 1 then .[0] else \"<none>\" end)"
	done
	mapfile -t V < <(jq -r "$prog | if type == \"string\" then . else tojson end" \
		<<<"$OUT" 2>/dev/null)
	while [ ${#V[@]} -lt $# ]; do V+=("<none>"); done
}

# json_error_is CODE: the last CLI call printed on stdout exactly one JSON
# value, an object in the API's error shape with code CODE and a message,
# and still told the operator on stderr.
json_error_is() {
	jqv '.error.code' '.error.message | type' '[inputs] | length'
	[ "${V[0]}" = "$1" ] && [ "${V[1]}" = string ] && [ "${V[2]}" = 0 ] &&
		[ -n "$ERR" ]
}

# Queries that tests use to find ids and state (not themselves checks).
id_of() { xg_cli --json list --all | jq -r --arg r "$1" '.items[] | select(.ip_range == $r) | .id'; }
mode_now() {
	local s
	s=$(xg_cli status 2>/dev/null)
	[[ $s =~ ^mode:\ +([a-z]+) ]] && echo "${BASH_REMATCH[1]}"
}
list_snapshot() { xg_cli --json list --all | jq -c '[.items[] | {id, ip_range, description, enabled}]'; }

# Everything a dry run must leave alone: the store's files byte for byte
# (but SQLite's -shm index of its log, which readers write), the ranges in
# the kernel's records and host tables, the kernel's runtime config, the audit
# log's length, the list and the mode.
everything_snapshot() {
	local f
	for f in "$XG_STATE"/*; do
		[[ $f == *-shm ]] || sha256sum "$f"
	done
	"${XG_PYTHON:-python3}" -c 'import sys
sys.path.insert(0, "tests/integration")
import xg_crash
print("kernel:", [sorted(s) for s in xg_crash.kernel_sets(sys.argv[1])])' "$XG_PINS"
	bpftool map dump pinned "$XG_PINS/runtime_config" | sha256sum
	xg_cli --json audit --limit 1 | jq .total
	list_snapshot
	mode_now
}

# --- tests -------------------------------------------------------------------

test_list_of_an_empty_list() {
	cli list
	check "list of an empty list exits 0" rc_is 0
	check "list of an empty list says so" out_has "no entries"
	cli --json list
	check "list --json exits 0" rc_is 0
	jqv .total '.items | length' .restriction_active .mode
	check "list --json: total 0" eq "${V[0]}" 0
	check "list --json: items empty" eq "${V[1]}" 0
	check "list --json: restriction inactive" eq "${V[2]}" false
	check "list --json: mode off" eq "${V[3]}" off
}

test_activate_needs_an_enabled_entry() {
	cli activate
	check "activate with an empty list exits 1" rc_is 1
	check "activate with an empty list explains (no enabled entry / --allow-empty)" \
		err_matches "no enabled entry|allow-empty"
	check "after the refused activation the mode is still off" eq "$(mode_now)" off
	cli --json activate
	check "activate --json with an empty list exits 1" rc_is 1
	check "activate --json prints the API's error object on stdout" json_error_is empty_list
}

test_add_prints_the_entry_and_exits_zero() {
	cli add $SENDER_ALLOWED -d "sender two"
	check "add of a single IPv4 address exits 0" rc_is 0
	check "add prints the entry's range" out_has "$SENDER_ALLOWED"
	check "add shows a single IPv4 address without /32" out_lacks "/32"
	check "add prints the description" out_has "sender two"
	check "add prints created_by root" out_matches "^created_by: +root$"
	cli --json get "$(id_of $SENDER_ALLOWED)"
	jqv .ip_range '.id | test("^ip_[0-9a-z]+$")' .updated_at '.created_at > 0'
	check "the stored range is the bare address" eq "${V[0]}" $SENDER_ALLOWED
	check "the id has the ip_ form" eq "${V[1]}" true
	check "updated_at is null before the first update" eq "${V[2]}" null
	check "created_at is set" eq "${V[3]}" true

	cli --json add ${SENDER6}/128 -d v6
	check "add of an IPv6 /128 exits 0" rc_is 0
	jqv .ip_range .created_by
	check "an IPv6 /128 is shown without /128" eq "${V[0]}" $SENDER6
	check "add --json answers created_by root" eq "${V[1]}" root
}

test_add_with_host_bits_suggests_the_canonical_range() {
	local before
	before=$(list_snapshot)
	cli add 198.18.0.5/24
	check "add with host bits exits 1" rc_is 1
	check "the error suggests the canonical 198.18.0.0/24" err_has "198.18.0.0/24"
	cli add 2001:db8::1/64
	check "add of IPv6 with host bits exits 1" rc_is 1
	check "the error suggests the canonical 2001:db8::/64" err_has "2001:db8::/64"
	cli add 1.2.3
	check "add of a malformed address exits 1" rc_is 1
	check "refused adds change nothing" eq "$(list_snapshot)" "$before"
}

test_add_of_a_listed_range_updates_its_description() {
	local id
	id=$(id_of $SENDER_ALLOWED)
	cli --json add ${SENDER_ALLOWED}/32 -d "sender two, again"
	check "re-adding a listed range exits 0" rc_is 0
	jqv .id .description
	check "re-adding returns the existing entry" eq "${V[0]}" "$id"
	check "re-adding replaces the description" eq "${V[1]}" "sender two, again"
	cli --json list --all
	jqv .total
	check "re-adding creates no second entry" eq "${V[0]}" 2
}

test_list_table_and_json() {
	cli add 2001:db8:1::/48 -d "net6 off" --disabled
	check "add --disabled exits 0" rc_is 0
	cli list
	check "list exits 0" rc_is 0
	check "list has a header row" out_matches "^ID +RANGE +ENABLED"
	check "list shows the IPv4 entry" out_has "$SENDER_ALLOWED"
	check "list shows the IPv6 entry" out_has "$SENDER6"
	check "list hides the disabled entry" out_lacks "2001:db8:1::/48"
	cli list --all
	check "list --all shows the disabled entry" out_has "2001:db8:1::/48"
	cli --json list --all
	check "list --all --json exits 0" rc_is 0
	jqv .total '[.items[] | select(.enabled == false)] | length' \
		'[.items[] | has("id","ip_range","description","enabled","created_by","created_at","updated_at","hits","last_hit_at")] | all'
	check "list --all --json: total 3" eq "${V[0]}" 3
	check "list --all --json: one disabled entry" eq "${V[1]}" 1
	check "list --all --json: every entry has the documented fields" eq "${V[2]}" true
	cli --json list
	jqv .total
	check "list --json: total 2 (enabled only)" eq "${V[0]}" 2
}

test_get_shows_one_entry() {
	local id
	id=$(id_of $SENDER6)
	cli get "$id"
	check "get exits 0" rc_is 0
	check "get shows the id" out_has "$id"
	check "get shows the range" out_has "$SENDER6"
	check "get shows the hits" out_matches "^hits: +[0-9]+"
	cli --json get "$id"
	jqv .ip_range
	check "get --json answers the entry" eq "${V[0]}" "$SENDER6"
	cli get ip_doesnotexist
	check "get of an unknown id exits 1" rc_is 1
	check "get of an unknown id names it" err_has "ip_doesnotexist"
}

test_update_changes_range_and_description() {
	local id
	cli --json add 198.18.5.0/24 -d "to update"
	jqv .id
	id=${V[0]}
	cli update "$id" --range 198.18.6.0/25 -d "updated"
	check "update exits 0" rc_is 0
	check "update prints the new range" out_has "198.18.6.0/25"
	cli --json get "$id"
	jqv .ip_range .description '.updated_at > 0'
	check "update changed the range" eq "${V[0]}" 198.18.6.0/25
	check "update changed the description" eq "${V[1]}" updated
	check "update set updated_at" eq "${V[2]}" true
	cli --json update "$id" --no-description
	check "update --no-description exits 0" rc_is 0
	jqv .description
	check "update --no-description removed it" eq "${V[0]}" null
	cli update "$id" --range 198.18.6.1/25
	check "update to a range with host bits exits 1" rc_is 1
	check "it suggests the canonical range" err_has "198.18.6.0/25"
	cli update ip_doesnotexist -d x
	check "update of an unknown id exits 1" rc_is 1
	cli delete "$id"
	check "delete exits 0" rc_is 0
	check "delete says what it deleted" out_has "$id"
	cli get "$id"
	check "a deleted entry is gone" rc_is 1
	cli delete "$id"
	check "deleting it again exits 1" rc_is 1
}

test_disable_and_enable() {
	local id
	id=$(id_of $SENDER6)
	cli disable "$id"
	check "disable exits 0" rc_is 0
	check "disable says so" out_has "disabled $id"
	cli list
	check "list hides the disabled entry" out_lacks "$SENDER6"
	cli --json enable "$id"
	check "enable exits 0" rc_is 0
	jqv .enabled '.enabled_at > 0'
	check "enable --json answers enabled true" eq "${V[0]}" true
	check "enable --json answers enabled_at" eq "${V[1]}" true
	cli --json disable "$id"
	jqv .enabled '.disabled_at > 0'
	check "disable --json answers enabled false" eq "${V[0]}" false
	check "disable --json answers disabled_at" eq "${V[1]}" true
	cli enable "$id"
	cli --json get "$id"
	jqv .enabled
	check "the entry is enabled again" eq "${V[0]}" true
}

test_check_while_inactive() {
	cli check $SENDER_DENIED
	check "check exits 0" rc_is 0
	check "check while inactive: would_drop, and it passes" \
		out_matches "would_drop .*mode off lets it pass"
	cli --json check $SENDER_DENIED
	jqv .allowed .matched_entry .total_entries .ip_address .mode .verdict
	check "check --json while inactive: allowed true" eq "${V[0]}" true
	check "check --json while inactive: mode off" eq "${V[4]}" off
	check "check --json while inactive: verdict would_drop" eq "${V[5]}" would_drop
	check "check --json while inactive: matched_entry null" eq "${V[1]}" null
	check "check --json: total_entries 3" eq "${V[2]}" 3
	check "check --json: echoes the address" eq "${V[3]}" $SENDER_DENIED
	cli check 1.2.3.999
	check "check of a malformed address exits 1" rc_is 1
}

test_json_failures_print_the_api_error_object() {
	local id before words
	id=$(id_of $SENDER6)
	before=$(list_snapshot)
	cli --json get ip_doesnotexist
	check "get --json of an unknown id exits 1" rc_is 1
	check "get --json: stdout is the API's not_found object" json_error_is not_found
	check "get --json: stderr still names the id" err_has "ip_doesnotexist"
	cli --json add 198.18.0.5/24
	check "add --json with host bits exits 1" rc_is 1
	check "add --json: the invalid_ip_range object" json_error_is invalid_ip_range
	jqv .error.field
	check "add --json: the object names the field ip_range" eq "${V[0]}" ip_range
	for words in "update ip_doesnotexist -d x" "delete ip_doesnotexist" \
		"enable ip_doesnotexist" "disable ip_doesnotexist"; do
		# shellcheck disable=SC2086 # the words are the command line
		cli --json $words
		check "$words --json exits 1" rc_is 1
		check "$words --json: the not_found object" json_error_is not_found
	done
	cli --json check 198.18.0.999
	check "check --json of a malformed address exits 1" rc_is 1
	check "check --json: the invalid_ip_address object" json_error_is invalid_ip_address
	printf 'ip_address,description\n198.18.30.0/24,ok\nnot-an-ip,x\n198.18.31.0/24,ok\n198.18.32.1/24,host bits\n' \
		>"$XG_TMP/json-bad.csv"
	cli --json import "$XG_TMP/json-bad.csv"
	check "import --json with bad lines exits 1" rc_is 1
	check "import --json: the invalid_csv object" json_error_is invalid_csv
	jqv '[.error.lines[].line]'
	check "import --json: the object lists the bad lines as the API sent them" eq "${V[0]}" "[3,5]"
	printf '{"ip_range": "198.18.33.0/24"}\n' >"$XG_TMP/json-object.json"
	cli --json replace "$XG_TMP/json-object.json"
	check "replace --json of a file that is no array exits 1" rc_is 1
	check "replace --json: an invalid_json object of the CLI's own" json_error_is invalid_json
	cli --json replace "$XG_TMP/json-bad.csv.txt"
	check "replace --json of a missing file is a usage error (exit 2)" rc_is 2
	check "replace --json: an invalid_usage object" json_error_is invalid_usage
	cli --json update "$id"
	check "update --json without a change is a usage error (exit 2)" rc_is 2
	check "update --json: an invalid_usage object" json_error_is invalid_usage
	cli --json add
	check "add --json without a range is a usage error (exit 2)" rc_is 2
	check "add --json: CLI11's refusal as an invalid_usage object" json_error_is invalid_usage
	cli --json confirm
	check "confirm --json with nothing pending exits 1" rc_is 1
	check "confirm --json: the not_pending object" json_error_is not_pending
	cli --json audit --limit 0
	check "audit --json --limit 0 exits 1" rc_is 1
	check "audit --json: the invalid_parameter object" json_error_is invalid_parameter
	cli --json denied --top 0
	check "denied --json --top 0 exits 1" rc_is 1
	check "denied --json: the invalid_parameter object" json_error_is invalid_parameter
	check "the refused --json commands changed nothing" eq "$(list_snapshot)" "$before"
}

# Every subcommand, on a socket nobody listens on and on one the caller may
# not reach: the failure is a JSON object all the same.
test_json_failures_when_the_daemon_is_unreachable() {
	local words private=$XG_TMP/private
	printf '[]\n' >"$XG_TMP/empty.json"
	for words in list "get ip_x" "add 198.18.40.0/24" "update ip_x -d x" \
		"delete ip_x" "enable ip_x" "disable ip_x" "check 198.18.0.1" \
		"import $XG_TMP/empty.json" export "replace $XG_TMP/empty.json" \
		"activate --yes" deactivate confirm status stats \
		"stats --watch --count 1 --interval 0.1" audit denied; do
		# shellcheck disable=SC2086 # the words are the command line
		run timeout 20 "$XG_BUILD/xdpgate" --socket "$XG_TMP/no-daemon.sock" --json $words
		check "$words --json, no daemon: exit 3" rc_is 3
		check "$words --json, no daemon: a daemon_unreachable object" \
			json_error_is daemon_unreachable
	done
	# A directory uid 65534 may not enter, holding a link to the real socket.
	mkdir -m 0700 "$private"
	ln -s "$XG_SOCKET" "$private/xdpgate.sock"
	run setpriv --reuid=$NOBODY_UID --regid=$NOBODY_UID --clear-groups \
		"$XG_BUILD/xdpgate" --socket "$private/xdpgate.sock" --json list
	check "a socket behind a closed directory: exit 3" rc_is 3
	check "a socket behind a closed directory: a daemon_unreachable object" \
		json_error_is daemon_unreachable
	check "a socket behind a closed directory: the file system is named, no group" \
		err_has "permission denied by the file system"
	rm -r "$private"
}

test_activate_enforces_and_check_follows() {
	cli activate
	check "activate exits 0" rc_is 0
	check "activate reports enforce" out_has "enforce"
	check "the mode is enforce" eq "$(mode_now)" enforce
	cli --json check $SENDER_ALLOWED
	jqv .allowed '.matched_entry.id // .matched_entry'
	check "check: a listed address is allowed" eq "${V[0]}" true
	check "check: matched_entry is its entry" eq "${V[1]}" "$(id_of $SENDER_ALLOWED)"
	cli check $SENDER_DENIED
	check "check: an unlisted address is dropped (table)" out_matches "dropped"
	cli --json check $SENDER_DENIED
	jqv .allowed .restriction_active .matched_entry .verdict
	check "check: an unlisted address is denied" eq "${V[0]}" false
	check "check: its verdict is dropped" eq "${V[3]}" dropped
	check "check: restriction active" eq "${V[1]}" true
	check "check: no matched entry" eq "${V[2]}" null
	check "the listed sender gets through" xg_ping $SENDER_ALLOWED $XG_HOST4
	check "the unlisted sender is dropped" not xg_ping $SENDER_DENIED $XG_HOST4
}

test_status_shows_the_interface_attached() {
	local prog
	cli status
	check "status exits 0" rc_is 0
	check "status shows the mode" out_matches "^mode: +enforce"
	check "status names the interface" out_has "$XG_RECEIVER_IF"
	check "status shows it attached" out_matches "$XG_RECEIVER_IF +attached +(native|generic)"
	prog=$(xg_in_receiver ip -d link show "$XG_RECEIVER_IF" |
		sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1)
	cli --json status
	jqv ".interfaces[] | select(.name == \"$XG_RECEIVER_IF\") | .state" \
		'.interfaces[0].attach_mode | test("^(native|generic)$")' \
		'.interfaces[0].program_id' .mode .restriction_active
	check "status --json: the interface is attached" eq "${V[0]}" attached
	check "status --json: attach mode native or generic" eq "${V[1]}" true
	check "status --json: program_id is the one on the link ($prog)" eq "${V[2]}" "$prog"
	check "status --json: mode enforce" eq "${V[3]}" enforce
	check "status --json: restriction active" eq "${V[4]}" true
}

test_stats_counts_and_watches() {
	cli stats
	check "stats exits 0" rc_is 0
	check "stats shows the dropped verdict" out_has "dropped"
	check "stats shows the allowed verdict" out_has "allowed"
	check "stats names the interface" out_has "$XG_RECEIVER_IF"
	cli --json stats
	jqv '.interfaces[0].counters.allowed.packets > 0' '.interfaces[0].counters.dropped.packets > 0'
	check "stats --json: the allowed ping was counted as allowed" eq "${V[0]}" true
	check "stats --json: the denied ping was counted as dropped" eq "${V[1]}" true
	run timeout 10 "$XG_BUILD/xdpgate" --socket "$XG_SOCKET" stats --watch --count 1 --interval 0.2
	check "stats --watch --count 1 exits 0 by itself" rc_is 0
	check "stats --watch prints rates" out_has "packets/s"
	check "stats --watch names the interface" out_has "$XG_RECEIVER_IF"
}

# send_denied N: N UDP datagrams from the denied sender to the host.
send_denied() {
	xg_in_sender "${XG_PYTHON:-python3}" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for _ in range(int(sys.argv[3])):
    s.sendto(b"x", (sys.argv[2], 9))
' $SENDER_DENIED $XG_HOST4 "$1"
}

# denied_packets ADDRESS: its count in the sample (0 when absent).
denied_packets() {
	xg_cli --json denied --top 1000 | jq -r --arg a "$1" \
		'[.interfaces[].sources[] | select(.address == $a) | .packets] | add // 0'
}
denied_packets_are() { [ "$(denied_packets "$1")" = "$2" ]; }

test_denied_lists_a_dropped_source() {
	# Exact while few: the sample has each of a few packets within a second.
	local before
	before=$(denied_packets $SENDER_DENIED)
	send_denied 5
	check "denied: 5 datagrams more from the denied sender, counted exactly" \
		xg_wait_until 1 denied_packets_are $SENDER_DENIED $((before + 5))
	cli --json denied --top 1
	jqv '.interfaces[0].sources[0].address' '.interfaces[0].sources[0].estimated'
	check "denied --json: the top source is the dropped one" eq "${V[0]}" $SENDER_DENIED
	check "denied --json: a count of a few packets is no estimate" eq "${V[1]}" false
	cli denied
	check "denied exits 0" rc_is 0
	check "denied lists the dropped source" out_has "$SENDER_DENIED"
	check "denied does not list the allowed source" out_lacks "$SENDER_ALLOWED"
	# Past 1,024 packets the count is sampled, an estimate, and says so.
	send_denied 3000
	cli --json denied --top 1
	jqv '.interfaces[0].sources | length' '.interfaces[0].sources[0].estimated' \
		'.interfaces[0].sources[0].packets > 1024' '.interfaces[0].sources[0].sample_rate'
	check "denied --json --top 1: one source" eq "${V[0]}" 1
	check "denied --json: past 1,024 packets the count is an estimate" eq "${V[1]}" true
	check "denied --json: it has a packet count past the exact ones" eq "${V[2]}" true
	check "denied --json: the sample rate is the default 64" eq "${V[3]}" 64
	cli denied
	check "denied marks the estimate with ~" out_matches "$SENDER_DENIED +~[0-9,]+ "
}

# Enforcing, with the allowed sender's pings counted on its entry and the
# denied sender in the denied-source sample.
test_every_change_previews_what_it_would_drop() {
	local before id cmd real
	id=$(id_of $SENDER_ALLOWED)
	printf 'ip_address,description\n198.18.30.0/24,other\n' >"$XG_TMP/other.csv"
	before=$(everything_snapshot)
	check "the snapshot holds the kernel's list" \
		matches "kernel: .*'$SENDER_ALLOWED'" "$before"
	for cmd in "add 198.18.0.0/24" "update $id -d renamed" \
		"update $id --disable --force" "delete $id --force" "delete --all" \
		"enable $id" "disable $id --force" "import $XG_TMP/other.csv" \
		"import --replace --force $XG_TMP/other.csv" \
		"replace --force $XG_TMP/other.csv" "activate --monitor" "deactivate"; do
		# shellcheck disable=SC2086 # the command's words
		cli $cmd --dry-run
		check "$cmd --dry-run exits 0" rc_is 0
		check "$cmd --dry-run says nothing changed" out_has "dry run, nothing changed"
	done
	check "no dry run changed the store, the kernel maps or the audit log" \
		eq "$(everything_snapshot)" "$before"

	cli --json disable "$id" --force --dry-run
	jqv .dry_run .result.enabled \
		"[.impact.start_dropping[].address] | index(\"$SENDER_ALLOWED\") != null"
	check "disable --dry-run --json: dry_run true" eq "${V[0]}" true
	check "disable --dry-run --json: the result is the disabled entry" eq "${V[1]}" false
	check "disable --dry-run: the pinging sender would start being dropped" \
		eq "${V[2]}" true
	cli disable "$id" --force --dry-run
	check "disable --dry-run prints the sources as a table" out_has "WOULD START DROPPING"
	check "disable --dry-run names the pinging sender" out_has "$SENDER_ALLOWED"
	cli --json add 198.18.0.0/24 --dry-run
	jqv "[.impact.stop_dropping[].address] | index(\"$SENDER_DENIED\") != null"
	check "add --dry-run: the dropped sender would stop being dropped" eq "${V[0]}" true

	cli --json delete ip_nosuchid00 --dry-run
	real=$OUT
	check "a refused dry run exits 1" rc_is 1
	cli --json delete ip_nosuchid00
	check "a refused dry run answers what the real call answers" eq "$OUT" "$real"
	check "still nothing changed" eq "$(everything_snapshot)" "$before"
}

test_deactivate_keeps_the_list() {
	local before
	before=$(list_snapshot)
	cli deactivate
	check "deactivate exits 0" rc_is 0
	check "deactivate reports off" out_has "off"
	check "the mode is off" eq "$(mode_now)" off
	check "deactivate keeps the list" eq "$(list_snapshot)" "$before"
	check "the unlisted sender gets through again" xg_ping $SENDER_DENIED $XG_HOST4
}

test_activate_with_confirm_then_confirm() {
	cli activate --confirm-within 60
	check "activate --confirm-within exits 0" rc_is 0
	check "activate --confirm-within says to confirm" out_has "confirm"
	cli --json status
	jqv '.confirm_deadline > 0' .revert_mode
	check "status shows the confirm deadline" eq "${V[0]}" true
	check "status shows the revert mode" eq "${V[1]}" off
	cli --json confirm
	check "confirm exits 0" rc_is 0
	jqv .confirm_deadline .mode
	check "after confirm: no deadline" eq "${V[0]}" null
	check "after confirm: still enforcing" eq "${V[1]}" enforce
	cli confirm
	check "confirm with nothing pending exits 1" rc_is 1
	cli deactivate
	check "deactivate after confirm exits 0" rc_is 0
}

test_unconfirmed_activation_reverts() {
	cli activate --confirm-within 2
	check "activate --confirm-within 2 exits 0" rc_is 0
	check "right after: enforcing" eq "$(mode_now)" enforce
	sleep 4
	check "4 s later, unconfirmed: back to off" eq "$(mode_now)" off
	cli --json audit --limit 1
	jqv '.items[0].action | test("revert")' '.items[0].actor != "root"'
	check "the audit log records the revert" eq "${V[0]}" true
	check "the revert is by the daemon, not the operator" eq "${V[1]}" true
	cli confirm
	check "confirm after the revert exits 1" rc_is 1
}

test_audit_is_newest_first_and_names_the_actor() {
	local id lines
	cli --json add 198.18.8.0/24 -d "audit probe"
	jqv .id
	id=${V[0]}
	cli audit --limit 5
	check "audit exits 0" rc_is 0
	mapfile -t lines <<<"$OUT"
	check "audit table: a header, then the newest record naming the actor root" \
		matches "^ *[0-9]+ +[^ ]+ +root +add +$id" "${lines[1]-}"
	cli --json audit --limit 5
	jqv '.items[0].entry_id' '.items[0].action' '.items[0].actor' '.items[0].after.ip_range' \
		'[.items[].sequence] as $s | $s == ($s | sort | reverse)' '.items | length'
	check "audit --json: the newest record is first" eq "${V[0]}" "$id"
	check "audit --json: the newest record is the add" eq "${V[1]}" add
	check "audit --json: it names the actor" eq "${V[2]}" root
	check "audit --json: it has the after state" eq "${V[3]}" 198.18.8.0/24
	check "audit --json: sequences descend" eq "${V[4]}" true
	check "audit --json: --limit is honoured" eq "${V[5]}" 5
	cli --json audit --limit 1 --offset 1
	jqv '.items[0].entry_id'
	check "audit --offset 1 skips the newest" not eq "${V[0]}" "$id"
	cli delete "$id"
}

test_replace_makes_the_file_the_whole_list() {
	printf '[{"ip_range":"%s","description":"only"},{"ip_range":"198.18.7.0/24","enabled":false}]\n' \
		$SENDER_ALLOWED >"$XG_TMP/replace.json"
	cli replace "$XG_TMP/replace.json"
	check "replace FILE.json exits 0" rc_is 0
	cli --json list --all
	jqv '[.items[] | [.ip_range, .enabled]] | sort'
	check "after replace: exactly the file's entries" \
		eq "${V[0]}" '[["198.18.0.2",true],["198.18.7.0/24",false]]'
	printf 'ip_address,description\n%s,only\n198.18.7.0/24,seven\n198.18.9.0/24,nine\n' \
		$SENDER_ALLOWED >"$XG_TMP/replace.csv"
	cli replace "$XG_TMP/replace.csv"
	check "replace FILE.csv exits 0" rc_is 0
	check "replace FILE.csv reports the added range" out_has "198.18.9.0/24"
	cli --json list --all
	jqv '[.items[].ip_range] | sort'
	check "after replace FILE.csv: exactly the file's ranges" \
		eq "${V[0]}" '["198.18.0.2","198.18.7.0/24","198.18.9.0/24"]'
	cli audit --limit 1
	check "audit table: the replace in counts, not its entries" \
		out_has "1 added, 1 updated; entries: 2 → 3"
	cli --json audit --limit 1
	jqv '.items[0].after.added[0].ip_range' '.items[0].before.updated[0].description' \
		'.items[0].after.updated[0].description'
	check "audit --json: the replace lists the added range" eq "${V[0]}" 198.18.9.0/24
	check "audit --json: and the updated entry before and after" \
		eq "${V[1]}/${V[2]}" "null/seven"
	echo "$SENDER_ALLOWED" >"$XG_TMP/replace.txt"
	cli replace "$XG_TMP/replace.txt"
	check "replace of a file that is neither .csv nor .json fails" rc_nonzero
	# Leave one enabled entry and one disabled one for the next test.
	cli delete "$(id_of 198.18.9.0/24)"
	cli disable "$(id_of 198.18.7.0/24)"
}

test_delete_refuses_the_last_enabled_entry_while_active() {
	local id before
	id=$(id_of $SENDER_ALLOWED)
	cli activate
	check "activate with one enabled entry exits 0" rc_is 0
	before=$(list_snapshot)
	cli delete "$id"
	check "deleting the last enabled entry while active exits 1" rc_is 1
	check "the refusal mentions force" err_matches "force"
	cli disable "$id"
	check "disabling the last enabled entry while active exits 1" rc_is 1
	check "that refusal mentions force" err_matches "force"
	check "the refusals changed nothing" eq "$(list_snapshot)" "$before"
	cli delete --force "$id"
	check "delete --force of the last enabled entry exits 0" rc_is 0
	cli get "$id"
	check "the entry is gone after delete --force" rc_is 1
	check "deleting the last entry with --force keeps the restriction" \
		eq "$(mode_now)" enforce
	cli deactivate
	cli add $SENDER_ALLOWED -d only
}

test_import_with_a_bad_line_changes_nothing() {
	local before
	before=$(list_snapshot)
	printf 'ip_address,description\n198.18.10.0/24,ten\nnot-an-ip,x\n198.18.11.0/24,eleven\n198.18.12.1/24,host bits\n' \
		>"$XG_TMP/bad.csv"
	cli import "$XG_TMP/bad.csv"
	check "import with bad lines exits 1" rc_is 1
	check "the error names line 3" err_matches "line 3"
	check "the error names line 5" err_matches "line 5"
	check "the error does not blame a good line" not err_matches "line [24]"
	check "the host-bits line gets the canonical suggestion" err_has "198.18.12.0/24"
	check "a rejected import changes nothing" eq "$(list_snapshot)" "$before"
}

test_import_dry_run_changes_nothing() {
	local before
	before=$(list_snapshot)
	printf 'ip_address,description\n198.18.10.0/24,"ten, with a comma"\n198.18.11.0/24,"say ""hi"""\n2001:db8:a::/64,\n%s,only\n' \
		$SENDER_ALLOWED >"$XG_TMP/good.csv"
	cli import --dry-run "$XG_TMP/good.csv"
	check "import --dry-run exits 0" rc_is 0
	check "import --dry-run reports what it would add" out_has "198.18.10.0/24"
	cli --json import --dry-run "$XG_TMP/good.csv"
	jqv .dry_run '.result.added | length' .result.unchanged
	check "import --dry-run --json: dry_run true" eq "${V[0]}" true
	check "import --dry-run --json: 3 would be added" eq "${V[1]}" 3
	check "import --dry-run --json: 1 unchanged" eq "${V[2]}" 1
	check "import --dry-run changed nothing" eq "$(list_snapshot)" "$before"
}

test_import_adds_the_file() {
	cli import "$XG_TMP/good.csv"
	check "import exits 0" rc_is 0
	check "import reports what it added" out_has "2001:db8:a::/64"
	cli --json list --all
	jqv '.items[] | select(.ip_range == "198.18.11.0/24") | .description' \
		'.items[] | select(.ip_range == "198.18.10.0/24") | .description' \
		'.items[] | select(.ip_range == "2001:db8:a::/64") | .description'
	check "import unquoted an RFC 4180 description" eq "${V[0]}" 'say "hi"'
	check "import kept a comma inside quotes" eq "${V[1]}" "ten, with a comma"
	check "import: an empty description is null" eq "${V[2]}" null
	cli --json import "$XG_TMP/good.csv"
	jqv '(.added | length) + (.updated | length) + (.removed | length)'
	check "importing the same file again changes nothing" eq "${V[0]}" 0
	cli import - <"$XG_TMP/good.csv"
	check "import - reads standard input" rc_is 0
}

# The export's order among entries created in the same millisecond is not
# the import's order, so the files are compared as header + sorted lines.
sorted_csv() { head -1 "$1"; tail -n +2 "$1" | LC_ALL=C sort; }

test_export_then_import_is_lossless() {
	local before
	cli add 198.18.13.0/24 -d 'tab	and ünïcode, "quotes"'
	cli export -o "$XG_TMP/export1.csv"
	check "export -o exits 0" rc_is 0
	check "export starts with the header" \
		eq "$(head -1 "$XG_TMP/export1.csv" | tr -d '\r')" \
		"ip_address,description,enabled,expires_at"
	check "export quotes a description with commas and quotes" \
		grep -qF '198.18.13.0/24,"tab	and ünïcode, ""quotes"""' "$XG_TMP/export1.csv"
	cli export
	check "export to stdout exits 0" rc_is 0
	check "export to stdout equals export -o" eq "$OUT" "$(cat "$XG_TMP/export1.csv")"
	before=$(xg_cli --json list --all | jq -c '[.items[] | [.ip_range, .description]] | sort')
	cli delete --all
	check "delete --all exits 0" rc_is 0
	cli --json list --all
	jqv .total
	check "delete --all leaves no entries" eq "${V[0]}" 0
	cli import "$XG_TMP/export1.csv"
	check "importing the export exits 0" rc_is 0
	cli export -o "$XG_TMP/export2.csv"
	check "the export of the re-imported list has the same lines as the first" \
		eq "$(sorted_csv "$XG_TMP/export1.csv")" "$(sorted_csv "$XG_TMP/export2.csv")"
	cli --json list --all
	jqv '[.items[] | [.ip_range, .description]] | sort'
	check "ranges and descriptions survive export and import" eq "${V[0]}" "$before"
}

# The CLI reads the list in pages of 10,000; a longer list comes whole.
# (Disabled entries: the daemon's capacity here is 4,096.)
test_list_pages_through_a_long_list() {
	local total
	"${XG_PYTHON:-python3}" -c 'print("ip_address,description,enabled,expires_at")
for i in range(10050):
    print(f"198.19.{i // 256}.{i % 256},page test,false,")' >"$XG_TMP/long.csv"
	cli import "$XG_TMP/long.csv"
	check "import of 10,050 entries exits 0" rc_is 0
	total=$(xg_cli --json list --all | jq '.total')
	cli --json list --all
	jqv '.items | length' '[.items[].id] | unique | length' '.items[-1].ip_range'
	check "list --json: every entry of a list longer than a page" eq "${V[0]}" "$total"
	check "list --json: each entry once" eq "${V[1]}" "$total"
	check "list --json: the last entry added is last" eq "${V[2]}" 198.19.39.65
	cli list --all
	check "list: the table reaches the last entry" out_has 198.19.39.65
	check "list: the count is the whole list's" out_has "$total entries"
}

test_delete_all_deactivates() {
	cli add 198.18.14.0/24 -d tmp
	cli activate
	check "activate before delete --all" eq "$(mode_now)" enforce
	cli --json delete --all
	check "delete --all while active exits 0" rc_is 0
	jqv .restriction_active '.deleted > 0'
	check "delete --all --json: restriction inactive" eq "${V[0]}" false
	check "delete --all --json: counts the deleted entries" eq "${V[1]}" true
	check "delete --all deactivated" eq "$(mode_now)" off
	# Restore a list for the remaining tests.
	cli import "$XG_TMP/export1.csv"
}

test_curl_over_the_unix_socket() {
	run curl -sS --unix-socket "$XG_SOCKET" http://x/api/admin/ip-allowlist
	check "curl --unix-socket exits 0" rc_is 0
	jqv '.total == (.items | length) and .total > 0'
	check "curl gets the list as JSON" eq "${V[0]}" true
	run curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$XG_SOCKET" \
		http://x/api/admin/ip-allowlist/ip_doesnotexist
	check "curl: an unknown id is 404" eq "$OUT" 404
	# curl -d sends the body as a form (application/x-www-form-urlencoded).
	run curl -sS -w '\n%{http_code}' --unix-socket "$XG_SOCKET" \
		-d '{"ip_range":"198.18.0.1"}' http://x/api/admin/ip-allowlist
	check "curl -d with JSON but no JSON Content-Type: 415" eq "${OUT##*$'\n'}" 415
	OUT=${OUT%$'\n'*}
	jqv .error.code '.error.message | test("application/json")'
	check "curl -d: unsupported_media_type, not a query parameter" \
		eq "${V[0]}" unsupported_media_type
	check "curl -d: the message says to send application/json" eq "${V[1]}" true
	run curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$XG_SOCKET" \
		-H 'Content-Type: application/json' -d '{"ip_range":"198.18.0.1"}' \
		http://x/api/admin/ip-allowlist
	check "curl -d with Content-Type: application/json adds it: 201" eq "$OUT" 201
	cli delete "$(id_of 198.18.0.1)"
}

test_ssh_guard() {
	local ssh="$SENDER_DENIED 50000 $XG_HOST4 22"
	run env SSH_CONNECTION="$ssh" "$XG_BUILD/xdpgate" --socket "$XG_SOCKET" activate </dev/null
	check "ssh guard: activate without --yes, stdin no TTY, refuses" rc_nonzero
	check "ssh guard: the refusal names the SSH client address" err_has "$SENDER_DENIED"
	check "ssh guard: nothing was activated" eq "$(mode_now)" off
	run env SSH_CONNECTION="$ssh" "$XG_BUILD/xdpgate" --socket "$XG_SOCKET" --json activate </dev/null
	check "ssh guard: activate --json refuses with exit 1" rc_is 1
	check "ssh guard: activate --json prints the refusal as a JSON object" \
		json_error_is ssh_session_would_be_dropped
	run env SSH_CONNECTION="::ffff:$SENDER_DENIED 50000 ::ffff:$XG_HOST4 22" \
		"$XG_BUILD/xdpgate" --socket "$XG_SOCKET" activate </dev/null
	check "ssh guard: a v4-mapped client address is refused too" rc_nonzero
	check "ssh guard: still off" eq "$(mode_now)" off
	run env SSH_CONNECTION="$SENDER_ALLOWED 50000 $XG_HOST4 22" \
		"$XG_BUILD/xdpgate" --socket "$XG_SOCKET" activate </dev/null
	check "ssh guard: a listed SSH client activates without --yes" rc_is 0
	check "ssh guard: a listed SSH client gets no warning" err_lacks "$SENDER_ALLOWED"
	cli deactivate
	run env SSH_CONNECTION="$ssh" "$XG_BUILD/xdpgate" --socket "$XG_SOCKET" activate --yes </dev/null
	check "ssh guard: with --yes it activates" rc_is 0
	check "ssh guard: with --yes it still warns about the address" err_has "$SENDER_DENIED"
	check "ssh guard: enforcing after --yes" eq "$(mode_now)" enforce
	cli deactivate
}

# Over SSH every change is previewed, and one that would cut the session off
# is refused without --yes.
test_ssh_guard_covers_every_change() {
	local ssh="$SENDER_ALLOWED 50000 $XG_HOST4 22" id cmd before
	cli export -o "$XG_TMP/before-guard.csv"
	cli add $SENDER_ALLOWED -d admin
	cli add 198.18.40.0/24 -d other
	cli activate --yes
	id=$(id_of $SENDER_ALLOWED)
	printf 'ip_address,description\n198.18.30.0/24,other\n' >"$XG_TMP/other.csv"
	for cmd in "disable $id" "delete $id" "update $id --range 198.18.41.0/24" \
		"replace $XG_TMP/other.csv" "import --replace $XG_TMP/other.csv"; do
		before=$(list_snapshot)
		# shellcheck disable=SC2086 # the command's words
		run env SSH_CONNECTION="$ssh" "$XG_BUILD/xdpgate" --socket "$XG_SOCKET" \
			--json $cmd </dev/null
		check "ssh guard: $cmd, no --yes, no TTY: refused" rc_is 1
		check "ssh guard: $cmd: the refusal object" json_error_is ssh_session_would_be_dropped
		check "ssh guard: $cmd: the warning names the SSH client" err_has "$SENDER_ALLOWED"
		check "ssh guard: $cmd changed nothing" eq "$(list_snapshot)" "$before"
	done
	run env SSH_CONNECTION="$ssh" "$XG_BUILD/xdpgate" --socket "$XG_SOCKET" \
		disable "$(id_of 198.18.40.0/24)" </dev/null
	check "ssh guard: a change that keeps the session passes without --yes" rc_is 0
	check "ssh guard: ... and warns of nothing" err_lacks "$SENDER_ALLOWED"
	run env SSH_CONNECTION="$ssh" "$XG_BUILD/xdpgate" --socket "$XG_SOCKET" \
		delete --all </dev/null
	check "ssh guard: delete --all deactivates, so it cuts nothing off" rc_is 0
	check "ssh guard: the list is empty" eq "$(list_snapshot)" "[]"
	cli import "$XG_TMP/before-guard.csv"
	check "the list as the next tests expect it" rc_is 0
}

test_other_users_are_refused() {
	local before
	before=$(list_snapshot)
	cli_as_nobody --clear-groups list
	check "uid 65534 without groups: list is refused" rc_nonzero
	check "uid 65534: the refusal explains (permission/forbidden/403/may not)" \
		err_matches "permission|forbidden|403|may not"
	cli_as_nobody --clear-groups add 198.18.20.0/24
	check "uid 65534 without groups: add is refused" rc_nonzero
	cli_as_nobody --clear-groups activate --yes
	check "uid 65534 without groups: activate is refused" rc_nonzero
	check "uid 65534: nothing changed" eq "$(list_snapshot)" "$before"
	run setpriv --reuid=$NOBODY_UID --regid=$NOBODY_UID --clear-groups \
		curl -s -o /dev/null -w '%{http_code}' --unix-socket "$XG_SOCKET" \
		http://x/api/admin/ip-allowlist
	check "uid 65534 with curl: 403" eq "$OUT" 403
	cli_as_nobody --clear-groups --json list
	check "uid 65534, list --json: exit 1" rc_is 1
	check "uid 65534, list --json: the forbidden object" json_error_is forbidden
	jqv '.error.message'
	check "uid 65534: the object names the configured read group" \
		matches "join the group $READ_GROUP " "${V[0]}"
	check "uid 65534: the refusal names the configured read group" \
		err_has "join the group $READ_GROUP "
	check "uid 65534: the refusal names the configured write group" \
		err_has "join the group $WRITE_GROUP "
	check "uid 65534: the refusal names no default group" err_lacks "xdpgate-read"
}

test_read_group_reads_but_may_not_write() {
	local g before id
	g=--groups=$(getent group "$READ_GROUP" | cut -d: -f3)
	id=$(id_of $SENDER_ALLOWED)
	before=$(list_snapshot)
	cli_as_nobody "$g" list --all
	check "read group: list exits 0" rc_is 0
	check "read group: list shows the entries" out_has "$SENDER_ALLOWED"
	cli_as_nobody "$g" get "$id"
	check "read group: get exits 0" rc_is 0
	cli_as_nobody "$g" check $SENDER_DENIED
	check "read group: check exits 0" rc_is 0
	cli_as_nobody "$g" status
	check "read group: status exits 0" rc_is 0
	cli_as_nobody "$g" export
	check "read group: export exits 0" rc_is 0
	cli_as_nobody "$g" audit --limit 1
	check "read group: audit exits 0" rc_is 0
	cli_as_nobody "$g" add 198.18.20.0/24
	check "read group: add is refused" rc_nonzero
	check "read group: the refusal says it may not change the list" \
		err_matches "permission|forbidden|403|may not|not change"
	check "read group: the refusal names the configured write group" \
		err_has "sudo usermod -aG $WRITE_GROUP "
	check "read group: the refusal names no default group" \
		not err_matches "xdpgate-read|-aG xdpgate "
	cli_as_nobody "$g" delete "$id"
	check "read group: delete is refused" rc_nonzero
	cli_as_nobody "$g" disable "$id"
	check "read group: disable is refused" rc_nonzero
	cli_as_nobody "$g" activate --yes
	check "read group: activate is refused" rc_nonzero
	check "read group: nothing changed" eq "$(list_snapshot)" "$before"
	check "read group: still off" eq "$(mode_now)" off
}

test_write_group_writes_as_its_user() {
	local g id user
	g=--groups=$(getent group "$WRITE_GROUP" | cut -d: -f3)
	user=$(getent passwd $NOBODY_UID | cut -d: -f1)
	user=${user:-uid:$NOBODY_UID}
	cli_as_nobody "$g" --json add 198.18.21.0/24 -d "by the write group"
	check "write group: add exits 0" rc_is 0
	jqv .created_by .id
	check "write group: created_by is the caller's user ($user)" eq "${V[0]}" "$user"
	id=${V[1]}
	cli --json audit --limit 1
	jqv '.items[0].actor' '.items[0].entry_id'
	check "write group: the audit log names the caller" eq "${V[0]}" "$user"
	check "write group: ... for that entry" eq "${V[1]}" "$id"
	cli_as_nobody "$g" list
	check "write group: list exits 0" rc_is 0
	cli_as_nobody "$g" update "$id" -d "changed"
	check "write group: update exits 0" rc_is 0
	cli_as_nobody "$g" delete "$id"
	check "write group: delete exits 0" rc_is 0
}

# --- main --------------------------------------------------------------------

xg_groups_daemon_config "$WRITE_GROUP" "$READ_GROUP" || exit 1
xg_setup_pair $SENDER_ALLOWED $SENDER_DENIED $SENDER6 || exit 1
if ! xg_start_daemon --config "$XG_TMP/xdpgate.toml"; then
	echo "not ok - xdpgated started"
	exit 1
fi
# uid 65534 must reach the socket (the file is 0666; the directory is 0700).
chmod 0755 "$XG_TMP"

test_list_of_an_empty_list
test_activate_needs_an_enabled_entry
test_add_prints_the_entry_and_exits_zero
test_add_with_host_bits_suggests_the_canonical_range
test_add_of_a_listed_range_updates_its_description
test_list_table_and_json
test_get_shows_one_entry
test_update_changes_range_and_description
test_disable_and_enable
test_check_while_inactive
test_json_failures_print_the_api_error_object
test_json_failures_when_the_daemon_is_unreachable
test_activate_enforces_and_check_follows
test_status_shows_the_interface_attached
test_stats_counts_and_watches
test_denied_lists_a_dropped_source
test_every_change_previews_what_it_would_drop
test_deactivate_keeps_the_list
test_activate_with_confirm_then_confirm
test_unconfirmed_activation_reverts
test_audit_is_newest_first_and_names_the_actor
test_replace_makes_the_file_the_whole_list
test_delete_refuses_the_last_enabled_entry_while_active
test_import_with_a_bad_line_changes_nothing
test_import_dry_run_changes_nothing
test_import_adds_the_file
test_export_then_import_is_lossless
test_list_pages_through_a_long_list
test_delete_all_deactivates
test_curl_over_the_unix_socket
test_ssh_guard
test_ssh_guard_covers_every_change
test_other_users_are_refused
test_read_group_reads_but_may_not_write
test_write_group_writes_as_its_user

if [ "$failures" -ne 0 ]; then
	echo "# $failures check(s) failed; daemon log:" >&2
	sed 's/^/#   /' "$XG_TMP/daemon.log" >&2
	exit 1
fi
echo "# all checks passed"
exit 0
