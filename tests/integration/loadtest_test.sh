#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The load-test tool (scripts/loadtest.sh, issue 5) as the README tells an
# operator to run it, shortened to 2 s:
#   - it exits 0 and its report counts no misclassification: every allowed
#     and exempt packet offered was delivered, no denied packet was;
#   - every class was offered traffic over IPv4 and IPv6, and the rates
#     agree with the packet counts;
#   - it read the XDP program's ns/packet from BPF run statistics, turned on
#     for its own process only (BPF_ENABLE_STATS): kernel.bpf_stats_enabled,
#     which another tool or another run may be using, is never written;
#   - --plot drew a PNG;
#   - interrupted (SIGINT) while sending, it exits 130 and leaves none of its
#     namespaces, pins, temporary files or processes behind.
# Run as root from the repository root; XDPGATE_BUILD names the build
# directory (default build). Takes about 20 s.
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${XDPGATE_BUILD:-build}
# shellcheck source=tests/integration/common.bash
. tests/integration/common.bash

out=$(mktemp -d /tmp/xdpgate-loadtest-test.XXXXXX)
trap 'rm -rf "$out"' EXIT
stats_before=$(cat /proc/sys/kernel/bpf_stats_enabled)
run=(scripts/loadtest.sh --build "$build" --seconds 2 --prefixes 300 --sources 256
	--stats-seconds 1)

"${run[@]}" --plot --json-out "$out/report.json" >"$out/stdout" 2>"$out/stderr"
status=$?
check "a short load test exits 0 (no misclassification)" [ "$status" -eq 0 ] ||
	sed 's/^/#   /' "$out/stderr" >&2

# report.json, judged by a few lines of Python: each prints one word.
report() {
	python3 - "$out/report.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
classes = r["classes"]
def rate_agrees(c, what):  # pps = packets / seconds ("seconds" is rounded to ms)
    return abs(c[what + "_pps"] - c[what + "_packets"] / r["seconds"]) <= 1 + c[what + "_pps"] / 1000
checks = {
    "misclassified": r["misclassifications"]["total"],
    "exact": r["misclassifications"]["exact"],
    "both_families": all(c[f]["offered_packets"] > 0 for c in classes.values()
                         for f in ("ipv4", "ipv6")),
    "allowed_delivered": all(classes[k]["delivered_packets"] == classes[k]["offered_packets"]
                             for k in ("allowed", "exempt")),
    "denied_dropped": classes["denied"]["dropped_packets"] == classes["denied"]["offered_packets"]
                      and classes["denied"]["delivered_packets"] == 0,
    "rates_agree": all(rate_agrees(c, w) for c in classes.values()
                       for w in ("offered", "delivered", "dropped")),
    "ns_per_packet": r["xdp_run_stats"]["ns_per_packet"] > 0,
}
print(checks[sys.argv[2]])
PY
}
check "it counts 0 misclassifications" [ "$(report misclassified)" = 0 ]
check "the count is exact (nothing was lost before the filter)" [ "$(report exact)" = True ]
check "every class was offered over IPv4 and IPv6" [ "$(report both_families)" = True ]
check "every allowed and exempt packet was delivered" [ "$(report allowed_delivered)" = True ]
check "every denied packet was dropped" [ "$(report denied_dropped)" = True ]
check "the rates per class agree with the packet counts" [ "$(report rates_agree)" = True ]
check "it read the XDP program's ns/packet" [ "$(report ns_per_packet)" = True ]
check "it printed the table" grep -q '^denied ' "$out/stdout"
check "kernel.bpf_stats_enabled is untouched ($stats_before)" \
	[ "$(cat /proc/sys/kernel/bpf_stats_enabled)" = "$stats_before" ]
check "--plot drew a PNG" sh -c "head -c 4 '$out/report.png' | grep -q PNG"

# Interrupted while sending. Job control gives the background run its own
# process group, where SIGINT is not ignored as it is for plain `&` jobs.
set -m
"${run[@]}" --seconds 30 --json-out "$out/interrupted.json" >/dev/null 2>"$out/interrupted.err" &
pid=$!
set +m
for _ in $(seq 150); do
	grep -q '^== sending' "$out/interrupted.err" && break
	sleep 0.1
done
check "the interrupted run got to sending" grep -q '^== sending' "$out/interrupted.err"
sleep 0.5
kill -INT "$pid"
wait "$pid"
check "interrupted, it exits 130" [ $? -eq 130 ]
check "no namespace of the run is left" not sh -c "ip netns list | grep -q -- '-$pid\\b'"
check "no pin directory of the run is left" not [ -e "/sys/fs/bpf/xdpgate-loadtest-$pid" ]
check "no temporary directory of the run is left" \
	not sh -c "ls -d /tmp/xdpgate-loadtest-$pid.* 2>/dev/null | grep -q ."
check "no trafgen or xdpgated of the run is left" \
	not pgrep -f -- "(lt-snd-$pid|xdpgate-loadtest-$pid)"
check "kernel.bpf_stats_enabled is untouched ($stats_before) after the interrupt" \
	[ "$(cat /proc/sys/kernel/bpf_stats_enabled)" = "$stats_before" ]

[ "$failures" -eq 0 ]
