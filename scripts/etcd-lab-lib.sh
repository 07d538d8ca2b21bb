# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A fleet lab: etcd (Debian's etcd-server) in a network namespace of its
# own, holding a bridge, and host namespaces joined to it by veth pairs.
# Nothing touches the machine's own interfaces; every name carries the PID,
# so labs never collide, and xg_etcd_lab_cleanup (run it from an EXIT trap)
# removes everything. Source it, then:
#   xg_etcd_lab_setup HOSTS     namespaces, bridge, addresses
#   xg_etcd_start [tls]         etcd over http://, or https:// with a CA
#                               and client certificates (xg_etcd_tls_files)
#   xg_in_host N COMMAND...     run a command in host N's namespace
#   xg_etcd_stop [SIGNAL]       stop etcd (its data stays for a restart)
#   xg_fleet_start N [FLAGS]    xdpgated on host N (store = "etcd"),
#                               protecting a veth pair of its own
#   xg_fleet_stop N [SIGNAL]    stop it (its state and pins stay)
#   xg_fleet_cli N ARGS...      the CLI against host N's daemon
#   xg_fleet_verdict N SOURCE   pass or drop: host N's attached program,
#                               run (BPF_PROG_TEST_RUN) on a TCP SYN from
#                               SOURCE to port 22

. "$(dirname "${BASH_SOURCE[0]}")/wait-lib.sh"

XG_LAB_ID=${XG_LAB_ID:-$$}
XG_BUILD=${XG_BUILD:-build}
XG_ETCD_NS=xg-etcd-$XG_LAB_ID
XG_LAB_TMP=$(mktemp -d "/tmp/xdpgate-lab-$XG_LAB_ID.XXXXXX")
XG_ETCD_DATA=$XG_LAB_TMP/etcd-data
XG_ETCD_LOG=$XG_LAB_TMP/etcd.log
XG_ETCD_PID=
XG_ETCD_ADDRESS=198.19.0.1
XG_ETCD_PORT=2379
XG_ETCD_ENDPOINT=
XG_LAB_HOSTS=0
XG_FLEET_PREFIX=/xdpgate/lab/
declare -A XG_FLEET_PID=()

xg_in_etcd() { nsenter --net="/run/netns/$XG_ETCD_NS" "$@"; }
xg_host_ns() { echo "xg-host$1-$XG_LAB_ID"; }
xg_host_address() { echo "198.19.0.$((10 + $1))"; }
xg_in_host() {
	local n=$1
	shift
	nsenter --net="/run/netns/$(xg_host_ns "$n")" "$@"
}

# Usage: xg_etcd_lab_setup HOSTS
xg_etcd_lab_setup() {
	local n
	ip netns add "$XG_ETCD_NS"
	xg_in_etcd ip link set lo up
	xg_in_etcd ip link add br0 type bridge
	xg_in_etcd ip addr add "$XG_ETCD_ADDRESS/24" dev br0
	xg_in_etcd ip link set br0 up
	for ((n = 1; n <= $1; n++)); do
		ip netns add "$(xg_host_ns "$n")"
		xg_in_host "$n" ip link set lo up
		ip link add "xgh$n-$XG_LAB_ID" netns "$(xg_host_ns "$n")" type veth \
			peer name "h$n" netns "$XG_ETCD_NS"
		xg_in_etcd ip link set "h$n" master br0 up
		xg_in_host "$n" ip addr add "$(xg_host_address "$n")/24" \
			dev "xgh$n-$XG_LAB_ID"
		xg_in_host "$n" ip link set "xgh$n-$XG_LAB_ID" up
		XG_LAB_HOSTS=$n
	done
}

# A CA, etcd's server certificate (for its lab address) and a client
# certificate, made with openssl: $XG_LAB_TMP/tls/{ca,server,client}{,-key}.pem
xg_etcd_tls_files() {
	local dir=$XG_LAB_TMP/tls
	[ -e "$dir/ca.pem" ] && return 0
	mkdir -p "$dir"
	(
		cd "$dir" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=xdpgate-lab-ca \
			-keyout ca-key.pem -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=etcd \
			-keyout server-key.pem -out server.csr
		# clientAuth too: etcd's JSON gateway connects to etcd's own
		# gRPC port with this certificate, and with --client-cert-auth
		# etcd refuses it otherwise ("use of closed network connection").
		printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
			"$XG_ETCD_ADDRESS" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem \
			-CAcreateserial -days 2 -extfile server.ext -out server.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=xdpgated \
			-keyout client-key.pem -out client.csr
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem \
			-CAcreateserial -days 2 -extfile client.ext -out client.pem
	) >"$XG_LAB_TMP/openssl.log" 2>&1 || {
		echo "# openssl failed to make the lab's certificates:" >&2
		sed 's/^/#   /' "$XG_LAB_TMP/openssl.log" >&2
		return 1
	}
}

# Usage: xg_etcd_start [tls] -> 0 once etcd answers (within 20 s)
xg_etcd_start() {
	local scheme=http tls=()
	if [ "${1:-}" = tls ]; then
		xg_etcd_tls_files || return 1
		scheme=https
		local dir=$XG_LAB_TMP/tls
		tls=(--cert-file "$dir/server.pem" --key-file "$dir/server-key.pem"
			--client-cert-auth --trusted-ca-file "$dir/ca.pem")
	fi
	XG_ETCD_ENDPOINT=$scheme://$XG_ETCD_ADDRESS:$XG_ETCD_PORT
	# nsenter execs etcd in place, so $! is etcd itself.
	nsenter --net="/run/netns/$XG_ETCD_NS" etcd --name lab \
		--data-dir "$XG_ETCD_DATA" \
		--listen-client-urls "$XG_ETCD_ENDPOINT" \
		--advertise-client-urls "$XG_ETCD_ENDPOINT" \
		--listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster lab=http://127.0.0.1:2380 \
		"${tls[@]}" >>"$XG_ETCD_LOG" 2>&1 &
	XG_ETCD_PID=$!
	if ! xg_wait_until 20 xg_etcdctl endpoint health >/dev/null 2>&1; then
		echo "# etcd did not answer at $XG_ETCD_ENDPOINT within 20 s; its log:" >&2
		tail -20 "$XG_ETCD_LOG" | sed 's/^/#   /' >&2
		return 1
	fi
}

# etcdctl against the lab's etcd (from etcd's own namespace), with the
# client certificate when etcd serves TLS.
xg_etcdctl() {
	local tls=()
	if [[ $XG_ETCD_ENDPOINT == https://* ]]; then
		local dir=$XG_LAB_TMP/tls
		tls=(--cacert "$dir/ca.pem" --cert "$dir/client.pem"
			--key "$dir/client-key.pem")
	fi
	ETCDCTL_API=3 timeout 10 nsenter --net="/run/netns/$XG_ETCD_NS" \
		etcdctl --endpoints "$XG_ETCD_ENDPOINT" --dial-timeout 2s \
		--command-timeout 5s "${tls[@]}" "$@"
}

# Usage: xg_etcd_stop [SIGNAL] (default TERM)
xg_etcd_stop() {
	[ -n "$XG_ETCD_PID" ] || return 0
	kill "-${1:-TERM}" "$XG_ETCD_PID" 2>/dev/null
	xg_wait_exit "$XG_ETCD_PID" 20
	XG_ETCD_PID=
}

xg_fleet_dir() { echo "$XG_LAB_TMP/host$1"; }
xg_fleet_pins() { echo "/sys/fs/bpf/xdpgate-lab-$XG_LAB_ID-h$1"; }
xg_fleet_cli() {
	local n=$1
	shift
	timeout 60 "$XG_BUILD/xdpgate" --socket "$(xg_fleet_dir "$n")/xdpgate.sock" "$@"
}

# Usage: xg_fleet_start N [extra xdpgated flags...] -> 0 once its socket
# answers (within 20 s)
xg_fleet_start() {
	local n=$1 dir
	shift
	dir=$(xg_fleet_dir "$n")
	mkdir -p "$dir"
	if ! xg_in_host "$n" ip link show p0 >/dev/null 2>&1; then
		xg_in_host "$n" ip link add p0 type veth peer name q0
		xg_in_host "$n" ip link set p0 up
		xg_in_host "$n" ip link set q0 up
	fi
	# With https://: the CA, and the client certificate unless
	# XG_FLEET_NO_CERT is set (to see etcd refuse a daemon without one).
	local tls=""
	if [[ $XG_ETCD_ENDPOINT == https://* ]]; then
		tls="cacert = \"$XG_LAB_TMP/tls/ca.pem\""
		[ -n "${XG_FLEET_NO_CERT:-}" ] || tls="$tls
cert = \"$XG_LAB_TMP/tls/client.pem\"
key = \"$XG_LAB_TMP/tls/client-key.pem\""
	fi
	# XG_FLEET_STORE=sqlite: a host with a list of its own (a reference).
	if [ "${XG_FLEET_STORE:-etcd}" = sqlite ]; then
		echo 'store = "sqlite"' >"$dir/xdpgate.toml"
	else
		cat >"$dir/xdpgate.toml" <<TOML
store = "etcd"
[etcd]
endpoints = ["$XG_ETCD_ENDPOINT"]
prefix = "$XG_FLEET_PREFIX"
host_name = "host$n"
$tls
TOML
	fi
	(exec nsenter --net="/run/netns/$(xg_host_ns "$n")" "$XG_BUILD/xdpgated" \
		--config "$dir/xdpgate.toml" --interface p0 \
		--socket "$dir/xdpgate.sock" --state-dir "$dir/state" \
		--bpf-pin-dir "$(xg_fleet_pins "$n")" "$@") >>"$dir/daemon.log" 2>&1 &
	XG_FLEET_PID[$n]=$!
	local i
	for ((i = 0; i < 200; i++)); do
		xg_fleet_cli "$n" status >/dev/null 2>&1 && return 0
		kill -0 "${XG_FLEET_PID[$n]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "# xdpgated on host $n did not come up; its log:" >&2
	tail -20 "$dir/daemon.log" | sed 's/^/#   /' >&2
	return 1
}

# Usage: xg_fleet_stop N [TERM|KILL]
xg_fleet_stop() {
	local n=$1 pid=${XG_FLEET_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	xg_wait_exit "$pid" 30
	XG_FLEET_PID[$n]=
}

# The frame of a TCP SYN from SOURCE (IPv4) to 198.18.0.1:22, in a file.
xg_fleet_frame() {
	local file=$XG_LAB_TMP/frame-$1.bin
	[ -s "$file" ] || python3 - "$1" "$file" <<'PY'
import socket, struct, sys
src, out = sys.argv[1], sys.argv[2]
tcp = struct.pack("!HHIIBBHHH", 40000, 22, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6,
                 0, socket.inet_aton(src), socket.inet_aton("198.18.0.1"))
eth = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
frame = eth + ip + tcp
open(out, "wb").write(frame + b"\x00" * (64 - len(frame)))
PY
	echo "$file"
}

# The id of the XDP program attached to host N's p0 (empty: none).
xg_fleet_prog_id() {
	xg_in_host "$1" bpftool -j net show dev p0 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"][0]["id"])' 2>/dev/null
}

# Usage: xg_fleet_verdict N SOURCE -> prints pass, drop or "error: ..."
xg_fleet_verdict() {
	local n=$1 id frame out
	id=$(xg_fleet_prog_id "$n")
	if [ -z "$id" ]; then
		echo "error: no XDP program on host $n's p0"
		return
	fi
	frame=$(xg_fleet_frame "$2")
	out=$(bpftool prog run id "$id" data_in "$frame" repeat 1 2>&1)
	case $out in
	*"Return value: 1,"*) echo drop ;;
	*"Return value: 2,"*) echo pass ;;
	*) echo "error: $out" ;;
	esac
}

# Usage: xg_fleet_wait_verdict N SOURCE pass|drop [SECONDS] -> 0 once host
# N's kernel gives that verdict (tried every 0.2 s, 10 s by default)
xg_fleet_wait_verdict() {
	local n=$1 source=$2 want=$3 seconds=${4:-10} i
	for ((i = 0; i < seconds * 5; i++)); do
		[ "$(xg_fleet_verdict "$n" "$source")" = "$want" ] && return 0
		sleep 0.2
	done
	echo "# host $n still gives '$(xg_fleet_verdict "$n" "$source")' for $source after $seconds s (wanted $want)" >&2
	return 1
}

xg_etcd_lab_cleanup() {
	local n pid
	for n in "${!XG_FLEET_PID[@]}"; do
		xg_fleet_stop "$n"
		[ -e "/run/netns/$(xg_host_ns "$n")" ] &&
			xg_in_host "$n" "$XG_BUILD/xdpgated" --uninstall \
				--state-dir "$(xg_fleet_dir "$n")/state" \
				--bpf-pin-dir "$(xg_fleet_pins "$n")" >/dev/null 2>&1
		rm -rf "$(xg_fleet_pins "$n")"
	done
	xg_etcd_stop
	for ((n = 1; n <= XG_LAB_HOSTS; n++)); do
		for pid in $(ip netns pids "$(xg_host_ns "$n")" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		ip netns del "$(xg_host_ns "$n")" 2>/dev/null
	done
	for pid in $(ip netns pids "$XG_ETCD_NS" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null
	done
	ip netns del "$XG_ETCD_NS" 2>/dev/null
	rm -rf "$XG_LAB_TMP"
}
