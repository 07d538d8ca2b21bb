#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A bad configuration file refuses the start: for a few keys of SPEC §5,
# `xdpgated --config BAD` exits non-zero with a message naming the file, the
# line and the key, before it pins, loads or listens on anything; files
# that used to crash the TOML parser are refused too. A good file with the
# same flags does start (so the refusals are the file's doing), its
# denied_sample_rate reaches the kernel and a SIGHUP changes it, and a bad
# file given to it on SIGHUP is refused while it keeps running.
# tests/config_test.cpp holds every key to this in the parser; this is the
# daemon's side of it.
#
# Every run is in a network namespace of its own (unshare -n: only lo), so
# even a daemon that wrongly accepted its file could attach to nothing of the
# host's; maps would be pinned under a directory of this run's own, removed
# on exit. Run as root from the repository root; XDPGATE_BUILD names the
# build directory (default build).
set -u
cd "$(dirname "$0")/../.." || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}
DAEMON=$XG_BUILD/xdpgated

TMP=$(mktemp -d /tmp/xdpgate-bad-config.XXXXXX)
PINS=/sys/fs/bpf/xdpgate-bad-config-$$
SOCK=$TMP/run/xdpgate.sock
STATE=$TMP/state
DAEMON_PID=

cleanup() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID"
		xg_wait_exit "$DAEMON_PID" 30
	fi
	if [ -e "$PINS" ]; then
		"$DAEMON" --uninstall --state-dir "$STATE" --bpf-pin-dir "$PINS" >/dev/null 2>&1
		rm -rf "$PINS"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

# check and not: the integration scripts' shared helpers.
. tests/integration/common.bash
. scripts/wait-lib.sh
contains() { grep -qF -- "$2" "$1"; }
eq() { [ "$1" = "$2" ]; }
# The denied-sample shift the kernel holds (runtime_config, byte 3).
sample_shift() {
	bpftool -j map lookup pinned "$PINS/runtime_config" key 0 0 0 0 2>/dev/null |
		jq -r '.value[3] // empty' | xargs -r printf '%d\n'
}
sample_shift_is() { [ "$(sample_shift)" = "$1" ]; }

# xdpgated in a network namespace of its own, pinned, listening and storing
# under this run's directories.
DAEMON_CMD=(unshare --net -- "$DAEMON" --bpf-pin-dir "$PINS" --socket "$SOCK"
	--state-dir "$STATE")
# daemon FLAGS...: runs it, killed if still running after 20 s (a refusal
# takes milliseconds).
daemon() { timeout 20 "${DAEMON_CMD[@]}" "$@"; }

# refused NAME KEY LINE TOML: the daemon given TOML as its file exits
# non-zero within 20 s, saying "<file>:LINE: KEY: ", and leaves nothing
# behind.
refused() {
	local name=$1 key=$2 line=$3 toml=$4
	local file=$TMP/$name.toml
	printf '%s\n' "$toml" >"$file"
	daemon --config "$file" >"$TMP/$name.out" 2>"$TMP/$name.err"
	local rc=$?
	cat "$TMP/$name.out" "$TMP/$name.err" >"$TMP/$name.log"
	check "$name: start refused (exit $rc)" [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
	check "$name: the message names $file:$line and $key" \
		contains "$TMP/$name.log" "$file:$line: $key: "
	check "$name: nothing pinned" not test -e "$PINS"
	check "$name: no socket, no state" not test -e "$SOCK" -o -e "$STATE"
	grep -q . "$TMP/$name.log" && sed 's/^/#   /' "$TMP/$name.log"
}

# --- bad files ---------------------------------------------------------------

refused capacity-zero capacity 3 '# a comment first: lines are counted
interfaces = []
capacity = 0'

refused attach-mode attach_mode 1 'attach_mode = "fast"'

refused interface-twice interfaces 1 'interfaces = ["xgbad0", "xgbad0"]'

refused unknown-key colour 2 'socket = "/run/xdpgate/xdpgate.sock"
colour = "blue"'

refused exempt-source-host-bits exempt.sources 3 '[exempt]
tcp_ports = [10943]
sources = ["10.0.0.1/8"]'

refused scope-port-range scope.protected_udp_ports 2 '[scope]
protected_udp_ports = [70000]'

refused write-group-gid write_group 1 'write_group = 1001'

refused sample-rate-not-a-power-of-two denied_sample_rate 1 'denied_sample_rate = 100'

# A syntax error names the file and line (there may be no key to name).
printf 'capacity = = 2\n' >"$TMP/syntax.toml"
daemon --config "$TMP/syntax.toml" >"$TMP/syntax.log" 2>&1
rc=$?
check "syntax error: start refused (exit $rc)" [ "$rc" -ne 0 ]
check "syntax error: the message names the file and line" \
	contains "$TMP/syntax.log" "$TMP/syntax.toml:1: "

# Files Debian 12's toml++ used to abort on (found by config_fuzz): refused
# with exit status 1 and the line, not killed by SIGABRT.
printf 'capacity = 1\n[\n' >"$TMP/no-name.toml"
daemon --config "$TMP/no-name.toml" >"$TMP/no-name.log" 2>&1
rc=$?
check "header without a name: start refused, no crash (exit $rc)" [ "$rc" -eq 1 ]
check "header without a name: the message names the file and line" \
	contains "$TMP/no-name.log" "$TMP/no-name.toml:2: "
printf 'exempt.tcp_ports = [}\n' >"$TMP/brace.toml"
daemon --config "$TMP/brace.toml" >"$TMP/brace.log" 2>&1
rc=$?
check "brace in an array: start refused, no crash (exit $rc)" [ "$rc" -eq 1 ]

# A file named on the command line must exist.
daemon --config "$TMP/absent.toml" >"$TMP/absent.log" 2>&1
rc=$?
check "missing file: start refused (exit $rc)" [ "$rc" -ne 0 ]
check "missing file: the message names it" \
	contains "$TMP/absent.log" "$TMP/absent.toml does not exist"

# --- the control: a good file with the same flags starts ----------------------

if [ "$(id -u)" -eq 0 ]; then
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	printf '%s\n' 'interfaces = []' 'capacity = 1024' 'denied_sample_rate = 256' \
		'[exempt]' 'sources = ["10.0.0.0/8"]' >"$TMP/good.toml"
	# exec (and unshare execs): $! is the daemon itself.
	(exec "${DAEMON_CMD[@]}" --config "$TMP/good.toml") >"$TMP/good.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && break
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	check "good file: the daemon listens" test -S "$SOCK"
	# denied_sample_rate reaches the data path as a shift (byte 3 of the
	# runtime configuration), and a reload changes it.
	check "denied_sample_rate 256: the kernel samples 1 in 2^8" \
		eq "$(sample_shift)" 8
	printf '%s\n' 'interfaces = []' 'capacity = 1024' 'denied_sample_rate = 16' \
		>"$TMP/good.toml"
	kill -HUP "$DAEMON_PID"
	check "denied_sample_rate 16 on SIGHUP: 1 in 2^4" \
		xg_wait_until 5 sample_shift_is 4
	# A reload with a bad file keeps the daemon and its configuration.
	printf '[\n' >"$TMP/good.toml"
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 50); do
		grep -q 'reload refused' "$TMP/good.log" && break
		sleep 0.1
	done
	check "bad file on SIGHUP: reload refused, naming the line" \
		contains "$TMP/good.log" "$TMP/good.toml:1: "
	check "bad file on SIGHUP: the daemon keeps running" kill -0 "$DAEMON_PID"
	check "bad file on SIGHUP: still listening" test -S "$SOCK"
	kill -TERM "$DAEMON_PID" 2>/dev/null
	xg_wait_exit "$DAEMON_PID" 30
	rc=$?
	DAEMON_PID=
	check "good file: SIGTERM stops it cleanly (exit $rc)" [ "$rc" -eq 0 ]
	"$DAEMON" --uninstall --state-dir "$STATE" --bpf-pin-dir "$PINS" >/dev/null 2>&1
	check "good file: --uninstall leaves no pin" not test -e "$PINS"
	[ "$failures" -eq 0 ] || sed 's/^/#   /' "$TMP/good.log"
else
	echo "# not root: the good-file control is skipped"
fi

echo "# bad_config_test: $failures failure(s)"
[ "$failures" -eq 0 ]
