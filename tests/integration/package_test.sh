#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck disable=SC2317 # functions run through check and the EXIT trap
# The Debian package's life cycle on this machine, Debian's way. There is no
# systemd here, so the test starts the installed daemon itself, as an
# operator without systemd would:
#   - `make deb` builds build/xdpgate_<version>_<arch>.deb; lintian reports
#     no error; Depends names the package of every library the binaries need;
#   - dpkg -i installs the programs, the unit, the conffile, manuals,
#     completion, the load-test tool (which runs), creates the groups and
#     /var/lib/xdpgate;
#   - the installed xdpgated, on a veth in a namespace of the test's own with
#     the packaged configuration plus that interface, driven by the installed
#     xdpgate, enforces;
#   - dpkg --remove stops it, and filtering goes on from the pins;
#   - dpkg --purge leaves nothing: no file the package listed, no pin, no
#     program or map of it in the kernel, no process, no /var/lib/xdpgate,
#     /run/xdpgate or /etc/xdpgate;
#   - an upgrade from a package of a lower version of this tree, while pings
#     flow from an allowed and a denied source, with the new daemon started
#     after it: no allowed packet lost, no denied one answered, the same
#     pinned link and maps; then a purge from installed leaves nothing.
# dpkg runs in the daemon's network namespace (for the packaged unit, the
# host's), where purge finds the interfaces to take the egress recorder off.
#
# The test installs and purges the real package with its default paths: it
# refuses to run where xdpgate is installed or its paths exist. Runs of other
# clones on this machine take turns (a lock held for the whole test).
# Run as root from the repository root; XDPGATE_BUILD names the build
# directory (default build). Takes about a minute.
set -u
cd "$(dirname "$0")/../.." || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}
REPRODUCE="XDPGATE_BUILD=$XG_BUILD bash tests/integration/package_test.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - needs root (dpkg, network namespaces, XDP)"
	exit 1
fi
# Two clones' `make test` may run at once: one package test at a time.
LOCK=/var/lock/xdpgate-package-test.lock
exec 9>"$LOCK"
if ! flock --wait 600 9; then
	echo "not ok - another package test held $LOCK for 600 s"
	exit 1
fi

# shellcheck source=scripts/netns-lib.sh
. scripts/netns-lib.sh
# shellcheck source=tests/integration/common.bash
. tests/integration/common.bash
# An operator's SSH session would make `activate` ask for --yes.
unset SSH_CONNECTION

ALLOWED4=198.18.0.2
DENIED4=198.18.0.3
ALLOWED6=2001:db8::2
DENIED6=2001:db8::3
PINS=/sys/fs/bpf/xdpgate
STATE=/var/lib/xdpgate
ETC=/etc/xdpgate
RUNDIR=/run/xdpgate
GROUPS_NEW=()
DAEMON_PID=
DAEMON_PIDS=() # every daemon started, for the cleanup
DAEMON_STATUS=
KERNEL_OBJECTS=
PURGE_ON_EXIT=0

VERSION=$(make --no-print-directory -s deb-version)
OLD_VERSION=${VERSION%-*}~prev-1
ARCH=$(dpkg --print-architecture)
DEB=$XG_BUILD/xdpgate_${VERSION}_$ARCH.deb
OLD_DEB=$XG_TMP/xdpgate_${OLD_VERSION}_$ARCH.deb

# --- helpers -----------------------------------------------------------------

eq() { [ "$1" = "$2" ]; }
all_answered() { [ "$1" -gt 0 ] && [ "$1" -eq "$2" ]; }
none_answered() { [ "$1" -gt 0 ] && [ "$2" -eq 0 ]; }
cli() { /usr/bin/xdpgate "$@"; }
# A zombie has exited: only its reaping is left.
alive() {
	local state
	state=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}
has_group() { getent group "$@" >/dev/null; }
pkg_status() { dpkg-query -W -f='${Status}' xdpgate 2>/dev/null; }
pkg_version() { dpkg-query -W -f='${Version}' xdpgate 2>/dev/null; }
known_to_dpkg() { case $(pkg_status) in '' | *not-installed) return 1 ;; esac; }

# dpkg ARGS... in the daemon's network namespace, taking turns with apt and
# dpkg of other CI runs; its output goes to dpkg.log (shown on failure).
pkg() {
	echo "### dpkg $*" >>"$XG_TMP/dpkg.log"
	nsenter --net=/run/netns/"$XG_RECEIVER" flock --wait 900 /var/lock/xdpgate-ci-apt.lock \
		dpkg "$@" </dev/null >>"$XG_TMP/dpkg.log" 2>&1 9>&-
}
show_dpkg_log() { sed 's/^/#   dpkg: /' "$XG_TMP/dpkg.log" >&2; }

# The installed daemon, on the packaged configuration with the test's
# interface first (top-level keys precede any table). $! is xdpgated itself.
start_daemon() {
	{
		printf 'interfaces = ["%s"]\n' "$XG_RECEIVER_IF"
		cat "$ETC/xdpgate.toml"
	} >"$XG_TMP/xdpgate.toml" || return 1
	nsenter --net=/run/netns/"$XG_RECEIVER" /usr/sbin/xdpgated \
		--config "$XG_TMP/xdpgate.toml" >>"$XG_TMP/daemon.log" 2>&1 9>&- &
	DAEMON_PID=$!
	DAEMON_PIDS+=("$DAEMON_PID")
	local i
	# The default capacity (1M entries per family) takes seconds to create.
	for i in $(seq 300); do
		alive "$DAEMON_PID" || break
		cli status >/dev/null 2>&1 && alive "$DAEMON_PID" && return 0
		sleep 0.1
	done
	echo "# the installed xdpgated did not come up; its log:" >&2
	sed 's/^/#   /' "$XG_TMP/daemon.log" >&2
	return 1
}
# DAEMON_STATUS: the exit status of the daemon that exited (reaped here).
reap_daemon() {
	DAEMON_STATUS=none
	[ -n "$DAEMON_PID" ] || return
	if ! alive "$DAEMON_PID"; then
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_STATUS=$?
		DAEMON_PID=
	fi
}

xdp_prog_id() {
	xg_in_receiver ip -d link show dev "$XG_RECEIVER_IF" |
		sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p'
}
egress_prog_id() {
	xg_in_receiver tc filter show dev "$XG_RECEIVER_IF" egress 2>/dev/null |
		sed -n 's/.*handle 0x7867 .* id \([0-9]*\).*/\1/p'
}
link_id() { bpftool -j link show pinned "$PINS/$XG_RECEIVER_IF/link" 2>/dev/null | jq .id; }
pinned_map_ids() {
	local m
	for m in allow_v4 allow_v6 runtime_config verdict_counters; do
		bpftool -j map show pinned "$PINS/$m" 2>/dev/null | jq -c '[.id, .name]'
	done
}
# Every kernel object of xdpgate on the veth: its two programs and their maps.
kernel_objects() {
	local p
	for p in $(xdp_prog_id) $(egress_prog_id); do
		echo "prog $p"
		bpftool -j prog show id "$p" | jq -r '.map_ids[] | "map \(.)"'
	done | sort -u
}
# gone_from_kernel OBJECTS: none is left (freeing is deferred: waits 10 s).
gone_from_kernel() {
	local i kind id left
	[ -n "$1" ] || return 1
	for i in $(seq 100); do
		left=
		while read -r kind id; do
			[ -n "$kind" ] || continue
			bpftool "$kind" show id "$id" >/dev/null 2>&1 && left="$left $kind $id"
		done <<<"$1"
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "#   still in the kernel:$left" >&2
	return 1
}
no_xdp_on_veth() {
	local i
	for i in $(seq 20); do
		[ -z "$(xdp_prog_id)" ] && return 0
		sleep 0.1
	done
	return 1
}
# Processes running the installed daemon, its file replaced or not.
installed_daemons() {
	local exe
	for exe in /proc/[0-9]*/exe; do
		case $(readlink "$exe" 2>/dev/null) in
		/usr/sbin/xdpgated | "/usr/sbin/xdpgated (deleted)") echo "${exe//[!0-9]/}" ;;
		esac
	done
}
# owner_of LIBRARY_PATH: the package that ships it (dpkg knows /lib paths
# as such before /usr is merged in its database).
owner_of() {
	local p
	for p in "$1" "$(realpath "$1")" "${1#/usr}" "/usr${1#/usr}"; do
		dpkg-query -S "$p" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
	done
	return 1
}
# The packages of the libraries BINARY needs (its NEEDED entries).
needed_packages() {
	local lib path
	for lib in $(objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'); do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x32|AArch64|64bit/ { print $NF; exit }')
		[ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
		owner_of "$path" || echo "unknown:$lib"
	done
}
listed_and_present() { grep -qx "$1" "$XG_TMP/files" && [ -e "$1" ]; }
# covers DEPENDS_NAMES PACKAGE...: each PACKAGE, or a name it provides (as
# libspdlog1.10 provides the libspdlog1.10-fmt9 of its shlibs), is depended on.
covers() {
	local names=$1 p alias found
	shift
	[ $# -gt 0 ] || return 1
	for p in "$@"; do
		found=0
		for alias in $p $(dpkg-query -W -f='${Provides}' "$p" | tr -d ',' | sed 's/([^)]*)//g'); do
			grep -qx -- "$alias" <<<"$names" && found=1
		done
		[ "$found" = 1 ] || { echo "#   no dependency on $p" >&2; return 1; }
	done
}
depends_names() { dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/[ (].*//; s/|.*//'; }

cleanup() {
	local pid group
	[ -d "$XG_TMP" ] && touch "$XG_TMP/traffic-stop"
	for pid in "${XG_TRAFFIC_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${DAEMON_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$PURGE_ON_EXIT" = 1 ]; then
		if known_to_dpkg; then
			if [ -e "/run/netns/$XG_RECEIVER" ]; then
				pkg --purge xdpgate
			else
				flock --wait 900 /var/lock/xdpgate-ci-apt.lock dpkg --purge xdpgate \
					</dev/null >/dev/null 2>&1 9>&-
			fi
		fi
		# None of these existed before the test.
		rm -rf "$PINS" "$STATE" "$RUNDIR"
		for group in "${GROUPS_NEW[@]}"; do
			getent group "$group" >/dev/null && groupdel "$group"
		done
	fi
	xg_cleanup
}

# --- tests -------------------------------------------------------------------

test_build() {
	make --no-print-directory deb BUILD="$XG_BUILD" >"$XG_TMP/make.log" 2>&1
	check "make deb builds $DEB" [ -f "$DEB" ] || sed 's/^/#   /' "$XG_TMP/make.log" >&2
	make --no-print-directory deb BUILD="$XG_BUILD" VERSION="$OLD_VERSION" DEB_DIR="$XG_TMP" \
		>"$XG_TMP/make-old.log" 2>&1
	check "make deb VERSION=$OLD_VERSION builds the previous version" [ -f "$OLD_DEB" ] ||
		sed 's/^/#   /' "$XG_TMP/make-old.log" >&2
	check "$OLD_VERSION is lower than $VERSION" dpkg --compare-versions "$OLD_VERSION" lt "$VERSION"
	check "only one package of xdpgate in $XG_BUILD" eq \
		"$(find "$XG_BUILD" -maxdepth 1 -name "xdpgate_*_$ARCH.deb" | wc -l)" 1

	# lintian warns that it runs as root; the tags are its other lines.
	lintian --fail-on error --no-tag-display-limit "$DEB" >"$XG_TMP/lintian.log" 2>&1
	local rc=$?
	check "lintian reports no error (exit $rc)" eq $rc 0
	grep -E '^[EWI]: ' "$XG_TMP/lintian.log" | sed 's/^/#   lintian: /'
}

test_install() {
	local group
	for group in xdpgate xdpgate-read; do
		getent group "$group" >/dev/null || GROUPS_NEW+=("$group")
	done
	PURGE_ON_EXIT=1
	pkg -i "$DEB"
	check "dpkg -i $DEB" eq $? 0 || show_dpkg_log
	check "installed: status and version $VERSION" eq "$(pkg_status) $(pkg_version)" \
		"install ok installed $VERSION"
	dpkg -L xdpgate >"$XG_TMP/files" 2>/dev/null
	local f want=(/usr/sbin/xdpgated /usr/bin/xdpgate /lib/systemd/system/xdpgated.service
		"$ETC/xdpgate.toml" /usr/share/man/man8/xdpgate.8.gz /usr/share/man/man8/xdpgated.8.gz
		/usr/share/man/man5/xdpgate.toml.5.gz /usr/share/bash-completion/completions/xdpgate
		/usr/share/doc/xdpgate/copyright /usr/share/doc/xdpgate/changelog.Debian.gz
		/usr/sbin/xdpgate-loadtest)
	for f in scripts/prometheus/*.yml; do
		[ -e "$f" ] && want+=("/usr/share/xdpgate/prometheus/${f##*/}")
	done
	for f in "${want[@]}"; do
		check "installed: $f (listed and present)" listed_and_present "$f"
	done
	check "installed: $ETC/xdpgate.toml is a conffile" grep -q "^ $ETC/xdpgate.toml " \
		<<<"$(dpkg-query -W -f='${Conffiles}\n' xdpgate)"
	check "installed: the unit's ExecStart is the installed daemon" eq \
		"$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' /lib/systemd/system/xdpgated.service)" \
		/usr/sbin/xdpgated
	for group in xdpgate xdpgate-read; do
		check "installed: the system group $group exists" has_group "$group"
	done
	check "installed: $STATE exists, mode 750" eq "$(stat -c %a "$STATE" 2>/dev/null)" 750

	local bin needed names
	names=$(depends_names "$DEB")
	for bin in /usr/sbin/xdpgated /usr/bin/xdpgate; do
		needed=$(needed_packages "$bin" | sort -u)
		# shellcheck disable=SC2086,SC2116 # one package a word
		check "Depends names the package of every library $bin needs ($(echo $needed))" \
			covers "$names" $needed || echo "#   Depends: $(dpkg-deb -f "$DEB" Depends)" >&2
	done

	# The load-test tool as installed, in its own namespaces, briefly; its
	# report goes to the current directory.
	(cd "$XG_TMP" && timeout 120 xdpgate-loadtest --seconds 1 --prefixes 50 --sources 64 \
		--stats-seconds 0 >loadtest.log 2>&1)
	check "xdpgate-loadtest (installed) runs and misclassifies nothing" eq $? 0 ||
		sed 's/^/#   /' "$XG_TMP/loadtest.log" >&2
	check "xdpgate-loadtest wrote its report in the current directory" \
		jq -e '.classes' "$XG_TMP/xdpgate-loadtest.json" >/dev/null
}

enforcing() {
	local how=$1
	check "$how: the allowed IPv4 source pings" xg_ping $ALLOWED4 $XG_HOST4
	check "$how: the allowed IPv6 source pings" xg_ping $ALLOWED6 $XG_HOST6
	check "$how: the unlisted IPv4 source is dropped" not xg_ping $DENIED4 $XG_HOST4
	check "$how: the unlisted IPv6 source is dropped" not xg_ping $DENIED6 $XG_HOST6
}

populate_and_enforce() {
	local how=$1
	cli add $ALLOWED4 -d "allowed v4" >/dev/null &&
		cli add $ALLOWED6 -d "allowed v6" >/dev/null && cli activate >/dev/null
	check "$how: the installed CLI adds two entries and activates" eq $? 0
	check "$how: status says enforce, interface attached" eq \
		"$(cli --json status | jq -c '[.mode, .interfaces[0].name, .interfaces[0].state]')" \
		"[\"enforce\",\"$XG_RECEIVER_IF\",\"attached\"]"
	check "$how: check denies the unlisted source" eq \
		"$(cli --json check $DENIED4 | jq .allowed)" false
	enforcing "$how"
}

test_run_installed_daemon() {
	start_daemon
	check "the installed xdpgated starts on the packaged configuration + $XG_RECEIVER_IF" eq $? 0 ||
		return 1
	populate_and_enforce "installed daemon"
	check "its state is in $STATE" [ -s "$STATE/xdpgate.db" ]
	check "its socket is the default one, in $RUNDIR" [ -S "$RUNDIR/xdpgate.sock" ]
	check "its XDP link is pinned in $PINS" [ -n "$(link_id)" ]
}

test_remove() {
	local pid=$DAEMON_PID xdp egress
	xdp=$(xdp_prog_id)
	egress=$(egress_prog_id)
	KERNEL_OBJECTS=$(kernel_objects)
	check "the XDP program ($xdp) and the egress recorder ($egress) are on the veth" \
		[ -n "$xdp" -a -n "$egress" ]
	pkg --remove xdpgate
	check "dpkg --remove xdpgate" eq $? 0 || show_dpkg_log
	check "remove: the daemon (pid $pid) was stopped by prerm" not alive "$pid"
	reap_daemon
	check "remove: it exited cleanly on SIGTERM (status $DAEMON_STATUS)" eq "$DAEMON_STATUS" 0
	check "remove: dpkg keeps only the configuration" eq "$(pkg_status)" "deinstall ok config-files"
	check "remove: the programs are gone" not [ -e /usr/sbin/xdpgated -o -e /usr/bin/xdpgate ]
	check "remove: the conffile stays" [ -f "$ETC/xdpgate.toml" ]
	check "remove: the state stays" [ -s "$STATE/xdpgate.db" ]
	check "remove: the same XDP program stays attached" eq "$(xdp_prog_id)" "$xdp"
	check "remove: the same egress recorder stays" eq "$(egress_prog_id)" "$egress"
	enforcing "removed, not purged"
}

# nothing_left HOW: after a purge.
nothing_left() {
	local how=$1 f left=
	check "$how: dpkg no longer knows xdpgate" not known_to_dpkg
	while read -r f; do
		[ -d "$f" ] && [[ $f != *xdpgate* ]] && continue # shared directories
		[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
	done <"$XG_TMP/files"
	check "$how: no file or directory of the package is left" eq "$left" "" ||
		echo "#   left:$left" >&2
	for f in "$PINS" "$STATE" "$RUNDIR" "$ETC"; do
		check "$how: $f is gone" not [ -e "$f" ]
	done
	check "$how: no process runs /usr/sbin/xdpgated" eq "$(installed_daemons)" ""
	check "$how: no XDP program on the veth (ip link)" no_xdp_on_veth
	check "$how: no egress recorder on the veth (tc)" eq "$(egress_prog_id)" ""
	check "$how: its programs and maps are freed in the kernel" gone_from_kernel "$KERNEL_OBJECTS"
	check "$how: nothing filters: the unlisted source pings" xg_ping $DENIED4 $XG_HOST4
	check "$how: no unit enablement left (deb-systemd-helper)" eq \
		"$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
			/var/lib/systemd/deb-systemd-helper-masked -name '*xdpgated*' 2>/dev/null)" ""
	# Debian's way: files may still belong to them.
	check "$how: the system groups stay" has_group xdpgate xdpgate-read
}

test_purge() {
	pkg --purge xdpgate
	check "dpkg --purge xdpgate" eq $? 0 || show_dpkg_log
	nothing_left "purge"
}

test_upgrade() {
	pkg -i "$OLD_DEB"
	check "dpkg -i the previous version $OLD_VERSION" eq "$? $(pkg_version)" "0 $OLD_VERSION" ||
		show_dpkg_log
	start_daemon
	check "the previous version's daemon starts" eq $? 0 || return 1
	populate_and_enforce "previous version"
	local old_pid=$DAEMON_PID link maps sent got
	link=$(link_id)
	maps=$(pinned_map_ids)

	xg_traffic_start $ALLOWED4 $ALLOWED6 $DENIED4
	sleep 1
	pkg -i "$DEB"
	check "dpkg -i $VERSION over $OLD_VERSION (upgrade)" eq "$? $(pkg_version)" "0 $VERSION" ||
		show_dpkg_log
	check "upgrade: prerm stopped the previous daemon (pid $old_pid)" not alive "$old_pid"
	reap_daemon
	check "upgrade: the XDP program stays attached meanwhile" [ -n "$(xdp_prog_id)" ]
	# Filtering without a daemon for a while, then the new one, as an
	# operator without systemd (with it, postinst restarts the unit).
	sleep 1
	start_daemon
	check "upgrade: the new daemon starts on the pins" eq $? 0
	sleep 1
	xg_traffic_stop

	read -r sent got <<<"$(xg_traffic_result $ALLOWED4)"
	check "upgrade: IPv4 pings from the allowed source: all $sent answered ($got)" \
		all_answered "$sent" "$got"
	echo "# upgrade: allowed IPv4 pings sent $sent, lost $((sent - got))"
	read -r sent got <<<"$(xg_traffic_result $ALLOWED6)"
	check "upgrade: IPv6 pings from the allowed source: all $sent answered ($got)" \
		all_answered "$sent" "$got"
	echo "# upgrade: allowed IPv6 pings sent $sent, lost $((sent - got))"
	read -r sent got <<<"$(xg_traffic_result $DENIED4)"
	check "upgrade: IPv4 pings from the unlisted source: none of $sent answered ($got)" \
		none_answered "$sent" "$got"
	echo "# upgrade: denied IPv4 pings sent $sent, answered $got"

	check "upgrade: the same pinned XDP link" eq "$(link_id)" "$link"
	check_same "upgrade: the same pinned maps" "$maps" "$(pinned_map_ids)"
	check "upgrade: the list and the mode are kept" eq \
		"$(cli --json status | jq -c '[.mode, .entries.total]')" '["enforce",2]'
	enforcing "after the upgrade"

	KERNEL_OBJECTS=$(kernel_objects)
	dpkg -L xdpgate >"$XG_TMP/files" 2>/dev/null
	local pid=$DAEMON_PID
	pkg --purge xdpgate
	check "dpkg --purge xdpgate (installed, daemon running)" eq $? 0 || show_dpkg_log
	check "purge: prerm stopped the daemon (pid $pid)" not alive "$pid"
	reap_daemon
	nothing_left "purge after upgrade"
}

# --- main --------------------------------------------------------------------

echo "# reproduce: $REPRODUCE (as root; holds $LOCK)"
if known_to_dpkg || [ -e "$PINS" ] || [ -e "$STATE" ] || [ -e "$RUNDIR" ] || [ -e "$ETC" ]; then
	echo "not ok - this machine has xdpgate installed or its paths ($PINS, $STATE, $RUNDIR, $ETC)"
	echo "# the test installs and purges the package there; remove them first:" \
		"dpkg --purge xdpgate; xdpgated --uninstall; rm -r $RUNDIR" >&2
	rm -rf "$XG_TMP"
	exit 1
fi
trap cleanup EXIT
xg_setup_pair $ALLOWED4 $DENIED4 $ALLOWED6 $DENIED6 || exit 1

test_build
if [ "$failures" -eq 0 ]; then
	test_install
	test_run_installed_daemon && test_remove
	test_purge
	test_upgrade
fi

if [ "$failures" -ne 0 ]; then
	echo "# $failures check(s) failed; reproduce: $REPRODUCE" >&2
	[ -s "$XG_TMP/daemon.log" ] && sed 's/^/#   daemon: /' "$XG_TMP/daemon.log" >&2
	exit 1
fi
echo "# all checks passed"
exit 0
