#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The xdpgate demo: a protected host and a client in two network namespaces
# joined by a veth pair. xdpgated protects the host's end; the client has one
# allowed and one denied address. Everything is removed on exit.
set -u
cd "$(dirname "$0")/.."
XG_BUILD=${XG_BUILD:-build}
. scripts/netns-lib.sh
trap xg_cleanup EXIT
trap 'exit 130' INT TERM

ALLOWED=198.18.0.2
DENIED=198.18.0.3
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '   %-52s %s\n' "$1" "$2"; }
try_ping() { if xg_ping "$1" $XG_HOST4; then show "ping from $1" "reply"; else show "ping from $1" "no reply (dropped)"; fi; }
try_tcp() { if xg_tcp_connect "$1" $XG_HOST4 "$2"; then show "TCP $1 -> port $2" "connected"; else show "TCP $1 -> port $2" "no answer (dropped)"; fi; }

say "Setting up two namespaces and a veth pair"
xg_setup_pair $ALLOWED $DENIED
xg_tcp_listen 22 10943
xg_start_daemon || exit 1
xg_cli status

say "Before activation everything gets through"
try_ping $ALLOWED
try_ping $DENIED

say "Allow the office range and activate (with a 60 s confirmation window)"
xg_cli add $ALLOWED --description "office"
xg_cli activate --confirm-within 60 --yes
xg_cli confirm
xg_cli list

say "Now only the allowed source gets through; the tentacle port is exempt"
try_ping $ALLOWED
try_ping $DENIED
try_tcp $ALLOWED 22
try_tcp $DENIED 22
try_tcp $DENIED 10943

say "What the data path counted"
xg_cli status
xg_cli check $DENIED
