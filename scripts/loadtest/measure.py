# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Running trafgen bounded in packets and time, and reading the counters
that judge the result: kernel counters of the veth pair, nftables counters
in a namespace, BPF run statistics. Nothing here reads xdpgate's own
verdict counters except xdpgate_counters(), kept apart as a cross-check."""
import ctypes
import json
import os
import platform
import re
import signal
import subprocess
import time


def in_netns(netns, argv):
    # nsenter keeps the host's /sys (and its bpffs) visible; ip netns exec
    # would remount /sys.
    return ["nsenter", f"--net=/run/netns/{netns}"] + list(argv)


def run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout


class Trafgen:
    """trafgen in its own process group, stopped with SIGINT at the deadline
    (it then prints what it sent) and killed if it lingers."""

    def __init__(self, netns, dev, config, cpus, max_packets, rate_pps=None, pgid_file=None):
        self.argv = in_netns(netns, [
            "trafgen", "--no-sock-mem", "-Q", "-i", config, "-o", dev,
            "-P", str(cpus), "-n", str(max_packets)])
        if rate_pps:
            # -b is per process.
            self.argv += ["-b", f"{max(1, int(rate_pps // cpus))}pps"]
        self.pgid_file = pgid_file
        self.proc = None
        self.output = ""
        self.started = self.stopped = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.started = time.monotonic()
        if self.pgid_file:
            with open(self.pgid_file, "w") as f:
                f.write(f"{self.proc.pid}\n")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=3.0):
        """Ends the group (if still running) and returns the parsed counts."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            out, _ = self.proc.communicate()
        self._signal(signal.SIGKILL)  # any child left behind
        self.stopped = time.monotonic()
        if self.pgid_file:
            try:
                os.unlink(self.pgid_file)
            except FileNotFoundError:
                pass
        self.output = out or ""
        return parse_trafgen(self.output)

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass


_CPU_LINE = re.compile(r"(\d+) sec, (\d+) usec on CPU(\d+) \((\d+) packets\)")
_TOTAL = re.compile(r"(\d+) packets outgoing")


def parse_trafgen(text):
    """{'packets': N, 'cpus': [{'cpu', 'packets', 'seconds'}]} from trafgen's
    closing statistics; None when it printed none."""
    cpus = [{"cpu": int(m[2]), "packets": int(m[3]), "seconds": int(m[0]) + int(m[1]) / 1e6}
            for m in _CPU_LINE.findall(text)]
    total = _TOTAL.search(text)
    if not cpus and not total:
        return None
    packets = int(total[1]) if total else sum(c["packets"] for c in cpus)
    return {"packets": packets, "cpus": sorted(cpus, key=lambda c: c["cpu"])}


def veth_xdp_stats(netns, dev):
    """Sum over queues of the receiver veth's XDP statistics (ethtool -S)."""
    out = run(in_netns(netns, ["ethtool", "-S", dev]))
    stats = {"xdp_packets": 0, "xdp_drops": 0, "drops": 0}
    for line in out.splitlines():
        m = re.match(r"\s*rx_queue_\d+_(xdp_packets|xdp_drops|drops):\s*(\d+)", line)
        if m:
            stats[m[1]] += int(m[2])
    return stats


def link_stats(netns, dev):
    data = json.loads(run(in_netns(netns, ["ip", "-s", "-j", "link", "show", "dev", dev])))
    s = data[0]["stats64"]
    return {"rx_packets": s["rx"]["packets"], "rx_dropped": s["rx"]["dropped"],
            "tx_packets": s["tx"]["packets"], "tx_dropped": s["tx"]["dropped"]}


def nft_counters(netns, family, table):
    data = json.loads(run(in_netns(netns, ["nft", "-j", "list", "counters", "table", family, table])))
    return {c["counter"]["name"]: c["counter"]["packets"]
            for c in data.get("nftables", []) if "counter" in c}


def prog_run_stats(prog_id):
    data = json.loads(run(["bpftool", "-j", "prog", "show", "id", str(prog_id)]))
    return {"run_time_ns": data.get("run_time_ns", 0), "run_cnt": data.get("run_cnt", 0)}


# bpf(2) numbers: the command BPF_ENABLE_STATS and its only stats type.
BPF_SYSCALL = {"x86_64": 321, "aarch64": 280}
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0


class RunTimeStats:
    """BPF run-time statistics on for the life of the context, through
    BPF_ENABLE_STATS: the kernel counts the file descriptor it returns as one
    more user of the statistics, next to kernel.bpf_stats_enabled, and stops
    counting it when the descriptor is closed, also when this process dies.
    The sysctl, which other tools (or another load test) may be using, is
    never written, so there is nothing to restore."""

    def __enter__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        attr = ctypes.c_uint32(BPF_STATS_RUN_TIME)
        self.fd = libc.syscall(BPF_SYSCALL[platform.machine()], BPF_ENABLE_STATS,
                               ctypes.byref(attr), ctypes.sizeof(attr))
        if self.fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, "BPF_ENABLE_STATS: " + os.strerror(err))
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def bpf_stats_sysctl():
    """kernel.bpf_stats_enabled as found (read, never written: other tools
    and other runs may be using it). While it is 1, every BPF run also
    pays for the statistics, which benchmarks report beside their times."""
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        return int(f.read().strip())


def xdpgate_counters(cli, socket):
    """xdpgate's own verdict counters, summed over interfaces (cross-check only)."""
    status = json.loads(run([cli, "--socket", socket, "--json", "status"]))
    total = {}
    for interface in status.get("interfaces", []):
        for verdict, c in interface.get("counters", {}).items():
            total[verdict] = total.get(verdict, 0) + c.get("packets", 0)
    return total


def xdpgate_program_id(cli, socket):
    status = json.loads(run([cli, "--socket", socket, "--json", "status"]))
    for interface in status.get("interfaces", []):
        if interface.get("program_id"):
            return interface["program_id"], interface.get("attach_mode")
    return None, None


def delta(after, before):
    return {k: after[k] - before.get(k, 0) for k in after}


def machine():
    uname = os.uname()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "kernel": f"{uname.release} {uname.version}",
            "arch": uname.machine, "cpu": cpu,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "loadavg_at_start": [float(x) for x in load]}
