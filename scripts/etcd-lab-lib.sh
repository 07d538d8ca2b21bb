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

. "$(dirname "${BASH_SOURCE[0]}")/wait-lib.sh"

XG_LAB_ID=${XG_LAB_ID:-$$}
XG_ETCD_NS=xg-etcd-$XG_LAB_ID
XG_LAB_TMP=$(mktemp -d "/tmp/xdpgate-lab-$XG_LAB_ID.XXXXXX")
XG_ETCD_DATA=$XG_LAB_TMP/etcd-data
XG_ETCD_LOG=$XG_LAB_TMP/etcd.log
XG_ETCD_PID=
XG_ETCD_ADDRESS=198.19.0.1
XG_ETCD_PORT=2379
XG_ETCD_ENDPOINT=
XG_LAB_HOSTS=0

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

xg_etcd_lab_cleanup() {
	local n pid
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
