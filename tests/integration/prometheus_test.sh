#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck disable=SC2317 # functions run through check
# Prometheus, Debian's, as the real client of metrics_address:
# - the shipped alert rules load (`promtool check rules`) and each fires on
#   the series it is for, only after its `for` (`promtool test rules`
#   tests/prometheus/xdpgate-alerts.test.yml);
# - xdpgated with metrics_address = "127.0.0.1:9433" in the receiver's
#   namespace serves GET /metrics there, which `promtool check metrics`
#   accepts, and nothing else;
# - crafted frames with exact counts from a listed and an unlisted source
#   (tests/integration/xg_frames.py) move the daemon's counters by exactly
#   that, and a Prometheus server started here, scraping every second, then
#   answers its query API with xdpgate_packets_total for the interface and
#   each verdict at the daemon's values.
# Everything runs in a namespace pair of its own (scripts/netns-lib.sh);
# Prometheus listens on that namespace's loopback and is stopped by PID.
# Runs from the repository root; XDPGATE_BUILD names the build directory.
set -u
cd "$(dirname "$0")/../.." || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}
. scripts/netns-lib.sh
. tests/integration/common.bash
unset SSH_CONNECTION

PROM_PID=
cleanup() {
	if [ -n "$PROM_PID" ]; then
		kill "$PROM_PID" 2>/dev/null
		xg_wait_exit "$PROM_PID" 20
	fi
	xg_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FRAMES=tests/integration/xg_frames.py
METRICS=127.0.0.1:9433
PROM=127.0.0.1:9090
LISTED=198.18.0.20 UNLISTED=198.18.0.40
ALLOWED_FRAMES=5 DROPPED_FRAMES=7

for tool in promtool prometheus curl; do
	command -v $tool >/dev/null || {
		echo "not ok - $tool is installed (apt-get install prometheus curl)"
		exit 1
	}
done

in_receiver_curl() { xg_in_receiver curl -sS --max-time 5 "$@"; }

# --- the rules ---------------------------------------------------------------

# Quiet unless it fails: then promtool's output says which rule or alert.
quietly() {
	"$@" >"$XG_TMP/promtool.txt" 2>&1 || {
		sed 's/^/#   /' "$XG_TMP/promtool.txt"
		return 1
	}
}
check "the alert rules load" \
	quietly promtool check rules scripts/prometheus/xdpgate-alerts.yml
check "each alert fires on its series, after its 'for', and only there" \
	quietly sh -c 'cd tests/prometheus && promtool test rules xdpgate-alerts.test.yml'

# --- the daemon's /metrics over TCP ----------------------------------------

xg_setup_pair || exit 1
cat >"$XG_TMP/xdpgate.toml" <<TOML
interfaces = ["$XG_RECEIVER_IF"]
metrics_address = "$METRICS"
TOML
xg_start_daemon_from_config "$XG_TMP/xdpgate.toml" || exit 1
xg_quiet_sender
xg_cli add "$LISTED" -d "listed" >/dev/null
xg_cli activate --yes >/dev/null
check "enforcing" mode_is enforce

in_receiver_curl -f "http://$METRICS/metrics" >"$XG_TMP/metrics.txt"
check "GET /metrics answers over TCP" grep -q '^xdpgate_packets_total{' "$XG_TMP/metrics.txt"
promtool check metrics <"$XG_TMP/metrics.txt" >"$XG_TMP/lint.txt" 2>&1
lint=$?
check "promtool check metrics finds nothing to fix" [ $lint -eq 0 ] ||
	sed 's/^/#   /' "$XG_TMP/lint.txt"
status=$(in_receiver_curl -o /dev/null -w '%{http_code}' "http://$METRICS/api/admin/ip-allowlist")
check "nothing but /metrics is served there (the list: $status)" [ "$status" = 404 ]
status=$(in_receiver_curl -o /dev/null -w '%{http_code}' -X DELETE "http://$METRICS/metrics")
check "nothing but GET is served there (DELETE: $status)" [ "$status" = 405 ]

# --- a real Prometheus scraping it -------------------------------------------

mkdir -p "$XG_TMP/prometheus"
cat >"$XG_TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [$PWD/scripts/prometheus/xdpgate-alerts.yml]
scrape_configs:
  - job_name: xdpgate
    static_configs: [{targets: ["$METRICS"]}]
YAML
(exec nsenter --net=/run/netns/"$XG_RECEIVER" prometheus \
	--config.file="$XG_TMP/prometheus.yml" \
	--storage.tsdb.path="$XG_TMP/prometheus" \
	--web.listen-address="$PROM") >"$XG_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
prometheus_ready() { in_receiver_curl -f "http://$PROM/-/ready" >/dev/null 2>&1; }
if ! check "Prometheus starts (within 60 s)" xg_wait_until 60 prometheus_ready; then
	tail -20 "$XG_TMP/prometheus.log" | sed 's/^/#   /'
	exit 1
fi

# Exactly this many frames from each source, then the counters' move.
RECEIVER_MAC=$(xg_mac_of receiver "$XG_RECEIVER_IF")
xg_cli --json status >"$XG_TMP/before.json"
printf '%s\n' "$LISTED $XG_HOST4 icmp 0 $ALLOWED_FRAMES -" \
	"$UNLISTED $XG_HOST4 icmp 0 $DROPPED_FRAMES -" |
	xg_in_sender "$XG_PYTHON" "$FRAMES" batch --ifname "$XG_SENDER_IF" \
		--dst-mac "$RECEIVER_MAC" >/dev/null
sleep 0.5
xg_cli --json status >"$XG_TMP/after.json"
counter() { # counter FILE VERDICT -> the interface's packet counter
	json_get "[i for i in d['interfaces'] if i['name'] == '$XG_RECEIVER_IF'][0]['counters']['$2']['packets']" <"$1"
}
moved() { echo $(($(counter "$XG_TMP/after.json" "$1") - $(counter "$XG_TMP/before.json" "$1"))); }
check "the daemon counted $ALLOWED_FRAMES allowed frames ($(moved allowed))" \
	[ "$(moved allowed)" -eq $ALLOWED_FRAMES ]
check "the daemon counted $DROPPED_FRAMES dropped frames ($(moved dropped))" \
	[ "$(moved dropped)" -eq $DROPPED_FRAMES ]

# What Prometheus answers, per verdict, once a scrape after the frames is in.
query() {
	in_receiver_curl -G "http://$PROM/api/v1/query" \
		--data-urlencode "query=xdpgate_packets_total{job=\"xdpgate\",interface=\"$XG_RECEIVER_IF\"}" |
		json_get '{s["metric"]["verdict"]: int(s["value"][1]) for s in d["data"]["result"]}' 2>/dev/null
}
daemon_values() {
	json_get "{v: c['packets'] for i in d['interfaces'] if i['name'] == '$XG_RECEIVER_IF' for v, c in i['counters'].items()}" \
		<"$XG_TMP/after.json"
}
scraped_after_the_frames() {
	local now
	now=$(query) || return 1
	[ "$(echo "$now" | "$XG_PYTHON" -c 'import ast, sys; d = ast.literal_eval(sys.stdin.read()); print(d.get("dropped"))')" \
		= "$(counter "$XG_TMP/after.json" dropped)" ]
}
check "Prometheus scraped the counters after the frames (within 30 s)" \
	xg_wait_until 30 scraped_after_the_frames
# Frames other than ours (ARP, neighbour discovery) may have moved their own
# verdicts meanwhile; the daemon's view is read again for those.
xg_cli --json status >"$XG_TMP/after.json"
scraped=$(query)
echo "# Prometheus: $scraped"
echo "# the daemon: $(daemon_values)"
for verdict in allowed dropped; do
	check "Prometheus has xdpgate_packets_total{verdict=\"$verdict\"} at the daemon's value" \
		"$XG_PYTHON" -c 'import ast, sys
got = ast.literal_eval(sys.argv[1]); want = ast.literal_eval(sys.argv[2])
sys.exit(0 if got.get(sys.argv[3]) == want.get(sys.argv[3]) else 1)' \
		"$scraped" "$(daemon_values)" "$verdict"
done
check "Prometheus has a series for every verdict the daemon counts" \
	"$XG_PYTHON" -c 'import ast, sys
sys.exit(0 if set(ast.literal_eval(sys.argv[1])) == set(ast.literal_eval(sys.argv[2])) else 1)' \
	"$scraped" "$(daemon_values)"
up=$(in_receiver_curl -G "http://$PROM/api/v1/query" --data-urlencode 'query=up{job="xdpgate"}' |
	json_get 'd["data"]["result"][0]["value"][1]')
check "the scrape target is up ($up)" [ "$up" = 1 ]

[ "$failures" -eq 0 ]
