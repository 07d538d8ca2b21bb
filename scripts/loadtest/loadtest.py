# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The measuring half of scripts/loadtest.sh (which sets up the namespaces,
the daemon and the counters, and cleans up). Subcommands:

  list  --v4 N --v6 M --out FILE.csv        the generated allow list
  plan  --csv FILE ... --trafgen OUT --plan OUT.json
                                            sources per class and the frames
  run   --plan PLAN.json ...                blast, sample, report

Counting is independent of xdpgate: offered packets come from trafgen's own
per-process counts (it sends the frames round robin, so each class's share
is exact), delivered packets from nftables counters per class (UDP
destination port) and family in the receiver namespace's prerouting hook,
which every frame the XDP program passes reaches. xdpgate's own verdict
counters are reported beside them as a cross-check only.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import frames  # noqa: E402
import measure  # noqa: E402
import prefixes  # noqa: E402

CLASSES = ("allowed", "denied", "exempt")
FAMILIES = (4, 6)


def counter_name(kind, family):
    return f"{kind}{family}"


# --------------------------------------------------------------------- list

def cmd_list(a):
    lists = {4: prefixes.generate_list(4, a.v4) if a.v4 else [],
             6: prefixes.generate_list(6, a.v6) if a.v6 else []}
    prefixes.write_csv(a.out, lists)


# --------------------------------------------------------------------- plan

def split(total, weights):
    """Integers proportional to weights that add up to total (largest
    remainder), every positive weight getting at least one when possible."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True):
        if sum(out) >= total:
            break
        out[i] += 1
    for i, w in enumerate(weights):
        if w > 0 and out[i] == 0:
            j = max(range(len(out)), key=lambda j: out[j])
            if out[j] > 1:
                out[j] -= 1
                out[i] = 1
    return out


def interleave(groups, rng):
    """One sequence holding every group's items, each group spread evenly
    (so any stretch of the sequence has about the mix's proportions)."""
    keyed = []
    for g in groups:
        n = len(g)
        for i, item in enumerate(g):
            keyed.append(((i + 0.5) / n, rng.below(1 << 30), item))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [k[2] for k in keyed]


def cmd_plan(a):
    lists = prefixes.read_csv(a.csv)
    rng = prefixes.Rng(a.seed)
    weights = [a.allowed_share, a.denied_share, a.exempt_share]
    per_class = split(a.sources, weights)
    ports = dict(zip(CLASSES, (a.allowed_port, a.denied_port, a.exempt_port)))
    hosts = {4: frames.host_int(a.host4), 6: frames.host_int(a.host6)}
    groups = []
    plan_sources = {}
    for kind, count in zip(CLASSES, per_class):
        if count == 0:
            continue
        v6 = round(count * a.ipv6_share)
        by_family = {4: count - v6, 6: v6}
        for family in FAMILIES:
            n = by_family[family]
            if n == 0:
                continue
            if kind == "allowed":
                if not lists[family]:
                    sys.exit(f"loadtest: allowed IPv{family} traffic asked for, "
                             f"but the list has no IPv{family} entry (--ipv6-share 0?)")
                sources = prefixes.allowed_sources(family, lists[family], n, rng)
            else:
                index = prefixes.PrefixIndex(family, lists[family])
                taken = plan_sources.get(("denied", family), []) + plan_sources.get(("exempt", family), [])
                if kind == "denied" and a.denied_near:
                    sources = prefixes.near_denied_sources(family, lists[family], index, n,
                                                           rng, avoid=taken)
                else:
                    sources = prefixes.denied_sources(family, index, n, rng, avoid=taken)
            if len(sources) < n:
                sys.exit(f"loadtest: found only {len(sources)} of {n} {kind} IPv{family} "
                         f"sources for this list")
            plan_sources[(kind, family)] = sources
            groups.append([(kind, family, s) for s in sources])
    sequence = interleave(groups, rng)
    out_frames = [frames.udp_frame(a.dst_mac, a.src_mac, family, source, hosts[family],
                                   ports[kind], a.size)
                  for kind, family, source in sequence]
    frames.write_trafgen(a.trafgen, out_frames)
    plan = {
        "frames": [[kind, family] for kind, family, _ in sequence],
        "ports": ports,
        "frame_bytes": a.size,
        "shares": dict(zip(CLASSES, weights)),
        "ipv6_share": a.ipv6_share,
        "denied_near": a.denied_near,
        "list": {"csv": a.csv, "ipv4": len(lists[4]), "ipv6": len(lists[6])},
        "sources": {f"{kind}{family}": len(v) for (kind, family), v in plan_sources.items()},
        "examples": {f"{kind}{family}": [str(prefixes.ipaddress.ip_address(s)) for s in v[:3]]
                     for (kind, family), v in plan_sources.items()},
    }
    with open(a.plan, "w") as f:
        json.dump(plan, f, indent=1)


# ---------------------------------------------------------------------- run

class Receiver:
    """Every counter the run reads, in one sample."""

    def __init__(self, a):
        self.a = a

    def sample(self):
        a = self.a
        return {
            "t": time.monotonic(),
            "nft": measure.nft_counters(a.receiver_ns, "inet", a.nft_table),
            "xdp": measure.veth_xdp_stats(a.receiver_ns, a.receiver_if),
            "sender": measure.link_stats(a.sender_ns, a.sender_if),
        }


def offered_by_class(plan, trafgen):
    """Exact packets per (class, family) from trafgen's per-process counts:
    every process sends the frames round robin from the first."""
    seq = plan["frames"]
    n = len(seq)
    per_list = {}
    for kind, family in seq:
        per_list[(kind, family)] = per_list.get((kind, family), 0) + 1
    counts = {k: 0 for k in per_list}
    cpus = trafgen["cpus"] or [{"packets": trafgen["packets"]}]
    for cpu in cpus:
        full, rest = divmod(cpu["packets"], n)
        for k, v in per_list.items():
            counts[k] += full * v
        for kind, family in seq[:rest]:
            counts[(kind, family)] += 1
    return counts


def run_phase(a, plan, receiver, seconds, max_packets, sample_every, on_sample=None):
    gen = measure.Trafgen(a.sender_ns, a.sender_if, a.trafgen, a.senders, max_packets,
                          a.rate, a.pgid_file)
    samples = [receiver.sample()]
    gen.start()
    deadline = gen.started + seconds
    try:
        next_sample = gen.started + sample_every
        while gen.running() and time.monotonic() < deadline:
            time.sleep(max(0.0, min(next_sample, deadline) - time.monotonic()))
            if time.monotonic() >= next_sample - 0.001:
                samples.append(receiver.sample())
                if on_sample:
                    on_sample(samples)
                next_sample += sample_every
    finally:
        result = gen.stop()
    wall = gen.stopped - gen.started
    time.sleep(0.3)  # let the last frames in flight reach the counters
    samples.append(dict(receiver.sample(), after_stop=True))
    if result is None:
        raise RuntimeError("trafgen printed no statistics:\n" + gen.output)
    result["wall_seconds"] = wall
    result["output"] = gen.output.strip().splitlines()[-8:]
    return result, samples


def bpf_ns_per_packet(a, plan, receiver, prog_id):
    """The XDP program's ns/packet from BPF run statistics, read in a short
    run of its own: the statistics cost ~45 ns per run, so they are on only
    here (measure.RunTimeStats)."""
    with measure.RunTimeStats():
        before = measure.prog_run_stats(prog_id)
        result, _ = run_phase(a, plan, receiver, a.stats_seconds,
                              min(a.max_packets, int(a.stats_seconds * 20_000_000)), 3600)
        after = measure.prog_run_stats(prog_id)
    runs = after["run_cnt"] - before["run_cnt"]
    ns = after["run_time_ns"] - before["run_time_ns"]
    return {"program_id": prog_id, "runs": runs, "run_time_ns": ns,
            "ns_per_packet": round(ns / runs, 1) if runs else None,
            "seconds": a.stats_seconds, "packets_sent": result["packets"]}


def rates(samples, plan):
    """Per-interval rates for the plot: offered by class estimated from the
    sender's total and the mix; delivered by class from the counters."""
    seq = plan["frames"]
    share = {k: sum(1 for f in seq if f[0] == k) / len(seq) for k in CLASSES}
    rows = []
    t0 = samples[0]["t"]
    for prev, cur in zip(samples, samples[1:]):
        dt = cur["t"] - prev["t"]
        if dt <= 0.05 or cur.get("after_stop"):
            continue
        sent = ((cur["sender"]["tx_packets"] + cur["sender"]["tx_dropped"])
                - (prev["sender"]["tx_packets"] + prev["sender"]["tx_dropped"]))
        row = {"t": round(cur["t"] - t0, 3), "offered_pps": sent / dt,
               "filter_drops_pps": (cur["xdp"]["xdp_drops"] - prev["xdp"]["xdp_drops"]) / dt}
        for kind in CLASSES:
            row[f"{kind}_offered_pps"] = sent * share[kind] / dt
            row[f"{kind}_delivered_pps"] = sum(
                cur["nft"].get(counter_name(kind, f), 0) - prev["nft"].get(counter_name(kind, f), 0)
                for f in FAMILIES) / dt
        rows.append(row)
    return rows


def summarize(a, plan, trafgen, samples, xdpgate_before, xdpgate_after):
    first, last = samples[0], samples[-1]
    delivered = {k: v for k, v in measure.delta(last["nft"], first["nft"]).items()}
    xdp = measure.delta(last["xdp"], first["xdp"])
    sender = measure.delta(last["sender"], first["sender"])
    offered = offered_by_class(plan, trafgen)
    seconds = max([c["seconds"] for c in trafgen["cpus"]] or [0]) or trafgen["wall_seconds"]
    sent = trafgen["packets"]
    sender_counted = sender["tx_packets"] + sender["tx_dropped"]
    lost = max(0, sent - xdp["xdp_packets"])  # never reached the XDP program
    exact = lost == 0 and sender_counted == sent

    classes = {}
    totals = {"offered_packets": 0, "delivered_packets": 0}
    for kind in CLASSES:
        c = {"expected": "dropped" if kind == "denied" else "delivered",
             "destination_port": plan["ports"][kind]}
        for family in FAMILIES:
            off = offered.get((kind, family), 0)
            dlv = delivered.get(counter_name(kind, family), 0)
            c[f"ipv{family}"] = {"offered_packets": off, "delivered_packets": dlv,
                                 "dropped_packets": max(0, off - dlv)}
        off = sum(c[f"ipv{f}"]["offered_packets"] for f in FAMILIES)
        dlv = sum(c[f"ipv{f}"]["delivered_packets"] for f in FAMILIES)
        dropped = max(0, off - dlv)
        c.update({
            "offered_packets": off, "delivered_packets": dlv, "dropped_packets": dropped,
            "offered_pps": round(off / seconds) if seconds else 0,
            "delivered_pps": round(dlv / seconds) if seconds else 0,
            "dropped_pps": round(dropped / seconds) if seconds else 0,
            "drop_rate": round(dropped / off, 6) if off else None,
        })
        if kind == "denied":
            c["misclassified"] = dlv  # any delivered denied packet is one
            c["misclassified_what"] = "denied packets delivered"
            c["misclassified_exact"] = True
        else:
            c["misclassified"] = dropped if exact else max(0, dropped - lost)
            c["misclassified_what"] = f"{kind} packets dropped"
            c["misclassified_exact"] = exact
        classes[kind] = c
        totals["offered_packets"] += off
        totals["delivered_packets"] += dlv

    mis = {"allowed_dropped": classes["allowed"]["misclassified"],
           "denied_delivered": classes["denied"]["misclassified"],
           "exempt_dropped": classes["exempt"]["misclassified"]}
    mis["total"] = sum(mis.values())
    mis["exact"] = exact
    if not exact:
        mis["note"] = (f"{lost} packets never reached the XDP program (the veth queue "
                       "overflowed) and cannot be assigned to a class: allowed/exempt "
                       "dropped are lower bounds. Lower --rate or use fewer --senders.")
    own = measure.delta(xdpgate_after, xdpgate_before) if xdpgate_before else {}
    return {
        "seconds": round(seconds, 3),
        "wall_seconds": round(trafgen["wall_seconds"], 3),
        "trafgen": {"packets": sent, "cpus": trafgen["cpus"], "tail": trafgen["output"]},
        "offered_pps": round(sent / seconds) if seconds else 0,
        "classes": classes,
        "totals": totals,
        "misclassifications": mis,
        "kernel_counters": {
            "sender_tx_packets": sender["tx_packets"], "sender_tx_dropped": sender["tx_dropped"],
            "receiver_xdp_packets": xdp["xdp_packets"], "receiver_xdp_drops": xdp["xdp_drops"],
            "receiver_queue_drops": xdp["drops"], "lost_before_filter": lost,
        },
        "xdpgate_counters_crosscheck": own,
    }


def print_table(report):
    def n(x):
        return f"{x:,}"
    rows = [("class", "offered pps", "delivered pps", "dropped pps", "drop rate",
             "misclassified")]
    for kind in CLASSES:
        c = report["classes"][kind]
        if not c["offered_packets"]:
            continue
        rate = f"{100 * c['drop_rate']:.2f}%"
        mis = f"{n(c['misclassified'])}{'' if c['misclassified_exact'] else '+'} " \
              f"({c['misclassified_what']})"
        rows.append((kind, n(c["offered_pps"]), n(c["delivered_pps"]), n(c["dropped_pps"]),
                     rate, mis))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  ".join(cell.rjust(w) if 0 < j < 5 else cell.ljust(w)
                        for j, (cell, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    m = report["misclassifications"]
    k = report["kernel_counters"]
    print(f"\nmisclassifications: {m['total']}{'' if m['exact'] else ' (lower bound)'} "
          f"(allowed dropped {m['allowed_dropped']}, denied delivered {m['denied_delivered']}, "
          f"exempt dropped {m['exempt_dropped']})")
    print(f"sent {n(report['trafgen']['packets'])} packets in {report['seconds']} s "
          f"({n(report['offered_pps'])} pps); XDP saw {n(k['receiver_xdp_packets'])}, "
          f"dropped {n(k['receiver_xdp_drops'])}; lost before the filter "
          f"{n(k['lost_before_filter'])}")
    s = report.get("xdp_run_stats")
    if s and s.get("ns_per_packet") is not None:
        print(f"XDP program: {s['ns_per_packet']} ns/packet over {n(s['runs'])} runs "
              f"(BPF run statistics, {s['seconds']} s extra run)")
    if "note" in m:
        print("note: " + m["note"])


def plot(rows, png, title):
    data = png + ".dat"
    cols = ["t", "offered_pps"] + [f"{k}_{w}_pps" for k in CLASSES
                                   for w in ("offered", "delivered")] + ["filter_drops_pps"]
    with open(data, "w") as f:
        f.write("# " + " ".join(cols) + "\n")
        for r in rows:
            f.write(" ".join(f"{r[c]:.3f}" for c in cols) + "\n")
    colour = {"allowed": "#1b9e77", "denied": "#d95f02", "exempt": "#7570b3"}
    lines = [f"'{data}' using 1:($2/1e3) with lines lw 2 lc rgb '#444444' title 'offered, all'"]
    for i, kind in enumerate(CLASSES):
        off_col, del_col = 3 + 2 * i, 4 + 2 * i
        lines.append(f"'{data}' using 1:(${off_col}/1e3) with lines dt 2 lc rgb '{colour[kind]}' "
                     f"title '{kind} offered'")
        lines.append(f"'{data}' using 1:(${del_col}/1e3) with linespoints pt 7 ps 0.5 lw 2 "
                     f"lc rgb '{colour[kind]}' title '{kind} delivered'")
    lines.append(f"'{data}' using 1:($9/1e3) with lines dt 3 lw 3 lc rgb '#e7298a' "
                 "title 'dropped by XDP, all classes'")
    script = "\n".join([
        "set terminal pngcairo size 1100,560 noenhanced",
        f"set output '{png}'",
        f"set title '{title}'",
        "set xlabel 'seconds'", "set ylabel 'thousand packets/s'",
        "set key outside right top", "set grid", "set yrange [0:*]", "set xrange [0:*]",
        "plot " + ", \\\n     ".join(lines), ""])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def cmd_run(a):
    with open(a.plan) as f:
        plan = json.load(f)
    receiver = Receiver(a)

    def stop(signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)

    xdpgate_before = measure.xdpgate_counters(a.cli, a.socket)
    result, samples = run_phase(a, plan, receiver, a.seconds, a.max_packets, 1.0)
    xdpgate_after = measure.xdpgate_counters(a.cli, a.socket)
    report = summarize(a, plan, result, samples, xdpgate_before, xdpgate_after)
    prog_id, attach_mode = measure.xdpgate_program_id(a.cli, a.socket)
    if a.stats_seconds > 0 and prog_id:
        report["xdp_run_stats"] = bpf_ns_per_packet(a, plan, receiver, prog_id)
    timeline = rates(samples, plan)
    out = {
        "tool": "scripts/loadtest.sh",
        "machine": measure.machine(),
        "settings": {"seconds": a.seconds, "senders": a.senders, "max_packets": a.max_packets,
                     "rate_pps": a.rate, "frame_bytes": plan["frame_bytes"],
                     "shares": plan["shares"], "ipv6_share": plan["ipv6_share"],
                     "sources": plan["sources"], "ports": plan["ports"],
                     "list": plan["list"], "attach_mode": attach_mode,
                     "source_examples": plan["examples"]},
        "method": {
            "offered": "trafgen's own per-process packet counts; it sends the frame list round "
                       "robin from the first frame, so each class's count is exact; pps over "
                       "trafgen's own elapsed time",
            "delivered": "nftables named counters per class (UDP destination port) and family, "
                         "inet prerouting hook at priority raw in the receiver namespace: every "
                         "frame the XDP program passes reaches it; the frames are discarded "
                         "there",
            "dropped": "offered - delivered per class",
            "misclassified": "allowed or exempt packets dropped, denied packets delivered; exact "
                             "when every sent frame reached the XDP program (the receiver "
                             "veth's XDP packet count equals trafgen's count)",
            "xdp_ns_per_packet": "bpftool prog show run_time_ns/run_cnt over an extra short run "
                                 "with BPF run-time statistics on (BPF_ENABLE_STATS)",
        },
        **report,
        "timeline": timeline,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.json_out)), exist_ok=True)
    with open(a.json_out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print_table(out)
    print(f"\nJSON: {a.json_out}")
    if a.plot_out:
        title = (f"xdpgate load test: {plan['list']['ipv4']} IPv4 + {plan['list']['ipv6']} IPv6 "
                 f"prefixes, {a.senders} sender(s), {plan['frame_bytes']}-byte frames")
        plot(timeline, a.plot_out, title)
        print(f"plot: {a.plot_out}")
    return 1 if out["misclassifications"]["total"] else 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("list")
    s.add_argument("--v4", type=int, default=1000)
    s.add_argument("--v6", type=int, default=0)
    s.add_argument("--out", required=True)

    s = sub.add_parser("plan")
    s.add_argument("--csv", required=True)
    s.add_argument("--allowed-share", type=float, default=0.45)
    s.add_argument("--denied-share", type=float, default=0.45)
    s.add_argument("--exempt-share", type=float, default=0.10)
    s.add_argument("--ipv6-share", type=float, default=0.2)
    s.add_argument("--sources", type=int, default=1024)
    s.add_argument("--denied-near", action="store_true",
                   help="denied sources in the /20 blocks of entries (near misses)")
    s.add_argument("--size", type=int, default=64)
    s.add_argument("--dst-mac", required=True)
    s.add_argument("--src-mac", required=True)
    s.add_argument("--host4", default="198.18.0.1")
    s.add_argument("--host6", default="2001:db8::1")
    s.add_argument("--allowed-port", type=int, default=5001)
    s.add_argument("--denied-port", type=int, default=5002)
    s.add_argument("--exempt-port", type=int, default=5003)
    s.add_argument("--seed", type=int, default=0x6C6F6164)
    s.add_argument("--trafgen", required=True)
    s.add_argument("--plan", required=True)

    s = sub.add_parser("run")
    s.add_argument("--plan", required=True)
    s.add_argument("--trafgen", required=True)
    s.add_argument("--sender-ns", required=True)
    s.add_argument("--sender-if", required=True)
    s.add_argument("--receiver-ns", required=True)
    s.add_argument("--receiver-if", required=True)
    s.add_argument("--nft-table", required=True)
    s.add_argument("--cli", required=True)
    s.add_argument("--socket", required=True)
    s.add_argument("--seconds", type=float, default=10)
    s.add_argument("--senders", type=int, default=1)
    s.add_argument("--max-packets", type=int, required=True)
    s.add_argument("--rate", type=float, default=None)
    s.add_argument("--stats-seconds", type=float, default=2)
    s.add_argument("--pgid-file")
    s.add_argument("--json-out", required=True)
    s.add_argument("--plot-out")

    a = p.parse_args()
    if a.cmd == "list":
        return cmd_list(a)
    if a.cmd == "plan":
        return cmd_plan(a)
    try:
        return cmd_run(a)
    except KeyboardInterrupt:
        print("loadtest: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main() or 0)
