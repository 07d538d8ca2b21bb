# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Group 3 of `make bench`: the control plane. control_plane_bench.sh makes
a namespace with a veth pair and calls this, which starts xdpgated on it
(capacity = 1,048,576) and measures:

  - one add: the latency from POST /api/admin/ip-allowlist (a new
    connection per call, as curl --unix-socket or the CLI make) to the first
    pass of a frame from the added address by the XDP program, which another
    process runs through BPF_PROG_TEST_RUN without pause from just before the
    call (the issue's "API call to kernel-map visibility"); and the call's
    own latency until it returns, which adds the durable commit (an fsync);
    p50/p99 over 1,000 adds on a 1k list, and over as many of 1,000 as fit
    in 20 s on the 1M list; after each call returns, the XDP
    program itself is run on a frame from the added address through
    BPF_PROG_TEST_RUN (the maps the NIC path reads) and must pass it, where
    it dropped it before the call: visibility is checked in the kernel, not
    in the daemon (`xdpgate check` answers from the daemon's own list);
  - CSV import end to end, `xdpgate import FILE` wall time into an empty
    list: 10k, 20k and 40k entries (how it scales), then 1M;
  - atomic replace of the 1M entries by 1M others: `xdpgate replace
    FILE.csv` (POST /import?replace=true), with the XDP program run
    throughout on frames from addresses that both lists allow, that neither
    allows, and that only one allows: a wrong verdict is a drop of the first
    kind, a pass of the second, or a verdict of the third kind that goes
    back once it has changed (before the call each must be judged as list A
    judges it, after the return as list B does);
  - the same replace through the API: PUT /api/admin/ip-allowlist?force=true
    with a JSON array of {"ip_range"} (list B by list A again), timed from
    the connect to the last byte of the answer (which lists every entry),
    watched for wrong verdicts as above;
  - GET of the whole 1M list (/api/admin/ip-allowlist, and with
    ?include_disabled=true) and GET /export (CSV): the time from the connect
    to the last byte, the bytes received;
  - a restart with 1M entries stored: SIGTERM (the daemon leaves the pinned
    program attached), then the time from the exec of xdpgated to the first
    answer to GET /status, to READY=1 on its NOTIFY_SOCKET and to its
    last_sync_at (the daemon writes the whole stored list to the kernel
    maps before its API starts, so an answer means the kernel is
    reconciled); meanwhile the pinned program runs on probes the list
    allows and probes it does not, and every drop of the first or pass of
    the second is a wrong verdict;
  - the peers loading the same 1M prefixes (list A) in the bench's
    namespace, each timed end to end (the wall clock of the command):
    `ipset restore` of one hash:net set (every prefix: hash:net takes
    overlapping prefixes, each as an element), and `nft -f` of one table
    with one ipv4_addr set, flags interval, holding the prefixes no other
    prefix of the list contains (an interval set refuses overlaps; the
    addresses allowed are the same; --nft-auto-merge loads every prefix
    into a set with auto-merge instead); ipset's element count is read back
    after the load, nft's is the file's (nft -f is one transaction; listing
    the set to count it takes ~60 s here: --nft-read-back); the sets are
    destroyed after each load; the ratio ours/theirs is the
    1M import's median over the peer's time (ours also commits to disk and
    writes the audit);
  - the 1M import and the replace again (delete --all, import, replace), up
    to --repeats runs in all, as the budget allows: the median and every
    run are reported;
  - the daemon's RSS (VmRSS, and the peak VmHWM) at 1M entries, the peak of
    each import, replace, PUT and GET alone (VmHWM reset before each by
    writing 5 to /proc/PID/clear_refs), and kernel memory: the growth of
    Slab in /proc/meminfo across the 1M import (plus VmallocUsed, Percpu,
    and the kmalloc-cg-* caches BPF maps allocate from).

The group has a time budget (--budget, default 330 s, from when the lists
exist, so that the group stays under ~6 minutes): a step that does not
finish within its share is stopped and reported as not finished after that
many seconds, and the steps that needed its result are reported as not
measured; a repeat that does not fit is not run (reported). Nothing is
retried.
--chunked N (not used by `make bench`) reaches 1M entries by imports of N
entries instead, so that the figures at 1M can be taken when one import of
1M does not finish; the import target is then reported as not measured.
"""
import argparse
import ctypes
import json
import multiprocessing
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "scripts", "loadtest"))

import frames  # noqa: E402
import measure  # noqa: E402
import prefixes  # noqa: E402

API = "/api/admin/ip-allowlist"
MILLION = 1_000_000
SCALING_SIZES = (10_000, 20_000, 40_000)

# The issue's targets, never tuned to pass.
MAX_ADD_P99_MS = 1.0
MAX_IMPORT_S = 5.0
MAX_RSS_BYTES = 150_000_000  # "150 MB" read as 10^6 bytes (143 MiB): the stricter reading
MAX_REPLACE_S = 10.0
MAX_PUT_REPLACE_S = 10.0
MAX_HWM_BYTES = 400_000_000  # "400 MB", 10^6 bytes as above
MAX_START_S = 5.0
MAX_GET_S = 3.0

# What the steps after each keep of the budget (seconds): the peers (ipset
# restore ~15 s, nft -f ~20-40 s here), the restart, the GETs, the PUT, the
# first replace, the adds on the 1M list. What is left after them goes to
# the repeats of the import and the replace.
RESERVE_NFT = 45
RESERVE_AFTER_RESTART = 75
RESERVE_AFTER_GET = RESERVE_AFTER_RESTART + 20
RESERVE_AFTER_PUT = RESERVE_AFTER_GET + 15
RESERVE_AFTER_REPLACE = RESERVE_AFTER_PUT + 30
RESERVE_AFTER_IMPORT = RESERVE_AFTER_REPLACE + 30 + 20

# The peers' names inside the bench's namespace.
PEER_IPSET = "xdpgate_bench"
PEER_NFT_TABLE = "xdpgate_bench"


def log(msg):
    print(f"[control_plane] {msg}", file=sys.stderr, flush=True)


class Budget:
    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds

    def left(self):
        return self.deadline - time.monotonic()


class StepTimeout(Exception):
    pass


# ------------------------------------------------------------ HTTP client

def request_bytes(method, target, body, content_type, version):
    """A request's bytes; HTTP/1.1 ones ask for the connection's close."""
    payload = b"" if body is None else body
    head = f"{method} {target} {version}\r\nHost: localhost\r\n"
    if version == "HTTP/1.1":
        head += "Connection: close\r\n"
    head += f"Content-Length: {len(payload)}\r\n"
    if body is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + payload


def read_head(recv):
    """Reads an answer's head with `recv`; returns (status, its headers with
    lower-case names, the body bytes read with it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = recv()
        if not chunk:
            raise ConnectionError("connection closed before the headers")
        data += chunk
    header, rest = data.split(b"\r\n\r\n", 1)
    lines = header.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, rest


def request(path_socket, method, target, body=None, content_type="application/json"):
    """One request on a new connection; returns (status, body bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    try:
        s.connect(path_socket)
        s.sendall(request_bytes(method, target, body, content_type, "HTTP/1.1"))
        status, headers, rest = read_head(lambda: s.recv(65536))
        length = int(headers["content-length"]) if "content-length" in headers else None
        while length is not None and len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, rest
    finally:
        s.close()


def timed_request(path_socket, method, target, body=None, content_type="application/json",
                  timeout=120.0, keep=4096):
    """One request on a new connection, its answer read to the last byte and
    counted, not kept (only its first and last `keep` bytes). The time runs
    from just before the connect to the last byte. Raises StepTimeout when
    the answer is not complete within `timeout`. Asked in HTTP/1.0, so that
    a streamed answer comes bare to the close and its bytes and lines are
    the body's own, not counted with a chunked framing."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    t0 = time.monotonic()
    deadline = t0 + timeout

    def recv():
        left = deadline - time.monotonic()
        if left <= 0:
            raise StepTimeout(time.monotonic() - t0)
        s.settimeout(left)
        try:
            return s.recv(1 << 20)
        except socket.timeout:
            raise StepTimeout(time.monotonic() - t0) from None

    try:
        s.settimeout(timeout)
        s.connect(path_socket)
        try:
            s.sendall(request_bytes(method, target, body, content_type, "HTTP/1.0"))
        except socket.timeout:
            raise StepTimeout(time.monotonic() - t0) from None
        status, headers, rest = read_head(recv)
        length, framing = None, "close"
        if "content-length" in headers:
            length, framing = int(headers["content-length"]), "content-length"
        elif "transfer-encoding" in headers:
            framing = "chunked (counted with its framing)"
        got, newlines = len(rest), rest.count(b"\n")
        first, last = rest[:keep], rest[-keep:]
        while length is None or got < length:
            chunk = recv()
            if not chunk:
                break
            got += len(chunk)
            newlines += chunk.count(b"\n")
            if len(first) < keep:
                first += chunk[:keep - len(first)]
            last = (last + chunk)[-keep:]
        seconds = time.monotonic() - t0
    finally:
        s.close()
    return {"status": status, "seconds": seconds, "bytes": got, "framing": framing,
            "complete": length is None or got >= length, "first": first, "last": last,
            "newlines": newlines}


def total_of(answer):
    """The `total` member of a JSON answer, from its last bytes (the
    daemon's JSON objects list their keys in order: total comes last)."""
    m = re.search(rb'"total":\s*(\d+)', answer["last"])
    return int(m.group(1)) if m else None


# ---------------------------------------------- BPF_PROG_TEST_RUN, by hand

class XdpProgram:
    """Runs the attached XDP program on a frame, through the bpf() syscall."""
    BPF_PROG_TEST_RUN = 10
    BPF_PROG_GET_FD_BY_ID = 13
    NR_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())

    def __init__(self, prog_id):
        if self.NR_BPF is None:
            raise RuntimeError(f"bpf() syscall number unknown on {platform.machine()}")
        self.libc = ctypes.CDLL(None, use_errno=True)
        attr = ctypes.create_string_buffer(128)
        ctypes.c_uint32.from_buffer(attr, 0).value = prog_id
        fd = self.libc.syscall(self.NR_BPF, self.BPF_PROG_GET_FD_BY_ID, attr, 12)
        if fd < 0:
            raise OSError(ctypes.get_errno(), f"BPF_PROG_GET_FD_BY_ID {prog_id}")
        self.fd = fd
        self.prog_id = prog_id

    def run(self, frame):
        data = ctypes.create_string_buffer(frame, len(frame))
        attr = ctypes.create_string_buffer(128)
        ctypes.c_uint32.from_buffer(attr, 0).value = self.fd
        ctypes.c_uint32.from_buffer(attr, 8).value = len(frame)
        ctypes.c_uint64.from_buffer(attr, 16).value = ctypes.addressof(data)
        ctypes.c_uint32.from_buffer(attr, 32).value = 1  # repeat
        if self.libc.syscall(self.NR_BPF, self.BPF_PROG_TEST_RUN, attr, 80) != 0:
            raise OSError(ctypes.get_errno(), "BPF_PROG_TEST_RUN")
        return ctypes.c_uint32.from_buffer(attr, 4).value

    def close(self):
        os.close(self.fd)


XDP_DROP, XDP_PASS = 1, 2


class VisibilityWatch:
    """Runs the XDP program on a frame over and over from just before an API
    call until the frame passes: the time from the call to that first pass
    is when the kernel's maps began to allow the address (resolution: one
    BPF_PROG_TEST_RUN, a few microseconds). It spins in a process of its
    own: as a thread it would hold the GIL between runs, and the caller's
    request would wait for it up to the interpreter's 5 ms switch interval,
    which is then measured as latency."""

    def __init__(self, prog_id):
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=self._serve, args=(prog_id, child), daemon=True)
        self.proc.start()
        child.close()

    @staticmethod
    def _serve(prog_id, conn):
        prog = XdpProgram(prog_id)
        while True:
            frame = conn.recv()
            if frame is None:
                return
            conn.send("spinning")
            seen = None
            while not conn.poll():
                if prog.run(frame) == XDP_PASS:
                    seen = time.perf_counter()  # CLOCK_MONOTONIC: the caller's clock
                    break
            conn.recv()  # the caller's "finish"
            conn.send(seen)

    def start(self, frame):
        """Returns once the program runs on `frame` without pause."""
        self.conn.send(frame)
        self.conn.recv()

    def finish(self, t0):
        """Seconds from t0 to the first pass, or None."""
        self.conn.send("finish")
        seen = self.conn.recv()
        return None if seen is None else max(0.0, seen - t0)

    def close(self):
        self.conn.send(None)
        self.proc.join(timeout=5)


def probe_frame(address):
    return frames.udp_frame("02:00:00:00:00:02", "02:00:00:00:00:01", 4, address,
                            frames.host_int("198.18.0.1"), 5002, 64)


class ReplaceWatch:
    """Runs the XDP program on probe frames, in its own thread, while a
    replace of list A by list B runs, and counts the wrong verdicts (see the
    module's doc). A pause between runs keeps the thread to a few percent of
    a vCPU, so that it does not slow the replace it watches."""
    PAUSE_S = 0.0002

    def __init__(self, prog, index_a, index_b, candidates):
        self.prog = prog
        self.probes = []  # (kind, frame)
        counts = {}
        for address in candidates:
            in_a, in_b = index_a.covers(address), index_b.covers(address)
            kind = {(True, True): "both", (False, False): "neither",
                    (True, False): "a_only", (False, True): "b_only"}[(in_a, in_b)]
            if counts.get(kind, 0) < 64:
                counts[kind] = counts.get(kind, 0) + 1
                self.probes.append((kind, probe_frame(address)))
        self.counts = counts
        self.flipped = [False] * len(self.probes)
        self.runs = self.wrong = 0
        self.wrong_by_kind = {}
        self.stop = False
        self.thread = None

    def _judge(self, i, verdict, phase):
        """phase: "before", "during" or "after" the replace."""
        kind = self.probes[i][0]
        passed = verdict == XDP_PASS
        if kind == "both":
            ok = passed
        elif kind == "neither":
            ok = not passed
        else:
            allowed_first = kind == "a_only"  # what list A says
            if phase == "before":
                ok = passed == allowed_first
            elif phase == "after":
                ok = passed != allowed_first
            else:
                if passed != allowed_first:
                    self.flipped[i] = True
                ok = passed != allowed_first or not self.flipped[i]
        self.runs += 1
        if not ok:
            self.wrong += 1
            key = f"{kind} {phase}"
            self.wrong_by_kind[key] = self.wrong_by_kind.get(key, 0) + 1

    def _sweep(self, phase):
        for i, (_, frame) in enumerate(self.probes):
            self._judge(i, self.prog.run(frame), phase)

    def start(self):
        self._sweep("before")
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        while not self.stop:
            for i, (_, frame) in enumerate(self.probes):
                if self.stop:
                    return
                self._judge(i, self.prog.run(frame), "during")
                time.sleep(self.PAUSE_S)

    def finish(self, replaced):
        """The figures; `replaced`: whether the replace returned (only then
        must every probe be judged as list B judges it)."""
        self.stop = True
        self.thread.join()
        if replaced:
            self._sweep("after")
        return {"probe_runs": self.runs, "wrong_verdicts": self.wrong,
                "wrong_by_kind": self.wrong_by_kind, "probes": self.counts,
                "pause_between_runs_s": self.PAUSE_S}


def probe_candidates(lists, rng):
    """Addresses inside some entries of each list, and random ones."""
    out = []
    for lst in lists:
        for _ in range(200):
            address, length = lst[rng.below(len(lst))]
            out.append(address | rng.below(1 << (32 - length)))
    for _ in range(400):
        address = prefixes.random_address(4, rng)
        if not prefixes.reserved(4, address):
            out.append(address)
    return out


# ----------------------------------------------------------------- memory

def meminfo():
    values = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            if k in ("Slab", "SUnreclaim", "VmallocUsed", "Percpu"):
                values[k] = int(v.split()[0]) * 1024
    try:
        cg = 0
        with open("/proc/slabinfo") as f:
            for line in f:
                if line.startswith("kmalloc-cg-"):
                    fields = line.split()
                    cg += int(fields[1]) * int(fields[3])  # active objects x size
        values["kmalloc_cg"] = cg
    except OSError:
        pass
    return values


def settled_meminfo(samples=5):
    """Median of a few readings, after RCU has had time to free."""
    time.sleep(1.0)
    readings = []
    for _ in range(samples):
        readings.append(meminfo())
        time.sleep(0.1)
    return {k: int(statistics.median(r[k] for r in readings)) for k in readings[0]}


def process_memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def reset_hwm(pid):
    """Resets the process's peak RSS (VmHWM) to its current RSS (writing 5
    to clear_refs, Linux 4.0 and later), so that the next reading is the
    peak of what runs in between. Returns whether the reset took: VmHWM
    then reads within 1 MiB of VmRSS."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    m = process_memory(pid)
    return m["VmHWM"] - m["VmRSS"] < 1048576


def mib(x):
    return round(x / 1048576, 1)


# ----------------------------------------------------------------- daemon

def cached_list(path, seed):
    if not os.path.exists(path):
        log(f"generating {path}")
        lst = prefixes.generate_list(4, MILLION, seed)
        tmp = path + ".tmp"
        prefixes.write_csv(tmp, {4: lst}, description="bench")
        os.replace(tmp, path)
    return path


class Daemon:
    def __init__(self, a):
        self.a = a
        self.proc = None

    def spawn(self, env=None):
        """Starts xdpgated (through nsenter, into the namespace) and returns
        at once."""
        a = self.a
        self.log = open(os.path.join(a.tmp, "daemon.log"), "ab")
        self.proc = subprocess.Popen(
            measure.in_netns(a.netns, [a.daemon, "--config", a.config, "--socket", a.socket,
                                       "--state-dir", os.path.join(a.tmp, "state"),
                                       "--bpf-pin-dir", a.pins]),
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        with open(os.path.join(a.tmp, "daemon.pid"), "w") as f:
            f.write(f"{self.proc.pid}\n")

    def start(self):
        a = self.a
        self.spawn()
        for _ in range(100):
            if subprocess.run([a.cli, "--socket", a.socket, "status"],
                              capture_output=True).returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("xdpgated did not come up; see " + self.log.name)

    def cli(self, *args, timeout=120):
        """Runs the CLI; returns (seconds, stdout). Raises StepTimeout when it
        has not answered within `timeout` (the CLI is killed)."""
        t0 = time.monotonic()
        try:
            r = subprocess.run([self.a.cli, "--socket", self.a.socket, *args],
                               capture_output=True, text=True, timeout=max(1.0, timeout))
        except subprocess.TimeoutExpired:
            raise StepTimeout(time.monotonic() - t0) from None
        dt = time.monotonic() - t0
        if r.returncode != 0:
            raise RuntimeError(f"xdpgate {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return dt, r.stdout

    def status(self):
        return json.loads(self.cli("--json", "status")[1])

    def stop(self, grace=3.0):
        """SIGTERM, then SIGKILL after `grace` seconds. Returns the seconds to
        the exit and whether it had to be killed (None: it was not running)."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        t0 = time.monotonic()
        self.proc.terminate()
        killed = False
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            killed = True
        self.log.close()
        return {"seconds": round(time.monotonic() - t0, 3), "killed": killed,
                "exit_status": self.proc.returncode}

    def rss(self):
        return process_memory(self.proc.pid)


def fresh_addresses(count, rng, index):
    """Addresses no entry of the list covers."""
    out, seen = [], set()
    while len(out) < count:
        a = prefixes.random_address(4, rng)
        if a in seen or prefixes.reserved(4, a) or index.covers(a):
            continue
        seen.add(a)
        out.append(a)
    return out


def add_latencies(a, prog, visibility, addresses, label, seconds):
    """POSTs one /32 per address, for at most `seconds`; latencies in ms and
    what the XDP program answered before and after each call."""
    lat, vis = [], []  # call to return; call to the first pass
    visible = dropped_before = 0
    failures = []
    deadline = time.monotonic() + seconds
    for i, address in enumerate(addresses):
        if time.monotonic() > deadline:
            break
        frame = probe_frame(address)
        if prog.run(frame) == XDP_DROP:
            dropped_before += 1
        body = json.dumps({"ip_range": str(prefixes.ipaddress.ip_address(address)),
                           "description": "bench add"}).encode()
        visibility.start(frame)
        t0 = time.perf_counter()
        status, answer = request(a.socket, "POST", API, body)
        t1 = time.perf_counter()
        seen_after = visibility.finish(t0)
        verdict = prog.run(frame)
        if status != 201:
            failures.append(f"{status} {answer[:200]!r}")
            continue
        lat.append((t1 - t0) * 1000)
        if seen_after is not None:
            vis.append(seen_after * 1000)
        if verdict == XDP_PASS:
            visible += 1
        if (i + 1) % 250 == 0:
            log(f"  {label}: {i + 1}/{len(addresses)} adds")
    if failures:
        raise RuntimeError(f"{len(failures)} adds failed, first: {failures[0]}")
    if not lat:
        return {"adds": 0, "asked": len(addresses), "not_finished_after_s": seconds}
    def pct(values, p):  # nearest rank
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, max(0, -(-p * len(ordered) // 100) - 1))], 3)
    out = {"adds": len(lat), "asked": len(addresses),
           "visible_p50_ms": pct(vis, 50) if vis else None,
           "visible_p99_ms": pct(vis, 99) if vis else None,
           "visible_max_ms": round(max(vis), 3) if vis else None,
           "seen_during_call": len(vis),
           "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": round(max(lat), 3),
           "mean_ms": round(statistics.mean(lat), 3),
           "dropped_before_add": dropped_before, "passed_after_return": visible}
    if len(lat) < len(addresses):
        out["stopped_after_s"] = seconds
    return out


def chunked_import(d, path, chunk, tmp, seconds):
    """The 1M list as successive imports of `chunk` entries each (the
    --chunked fallback: not the target's figure, which is one import)."""
    log(f"importing 1M entries in imports of {chunk}, at most {seconds:.0f} s")
    deadline = time.monotonic() + seconds
    total = 0.0
    part = os.path.join(tmp, "chunk.csv")
    with open(path) as f:
        header = f.readline()
        done = False
        while not done:
            lines = []
            for line in f:
                lines.append(line)
                if len(lines) == chunk:
                    break
            done = len(lines) < chunk
            if not lines:
                break
            with open(part, "w") as g:
                g.write(header)
                g.writelines(lines)
            left = deadline - time.monotonic()
            if left <= 0:
                raise StepTimeout(total)
            try:
                secs, _ = d.cli("import", part, timeout=left)
            except StepTimeout as t:
                raise StepTimeout(total + t.args[0]) from None
            total += secs
    return total


def head_csv(src, n, dst):
    with open(src) as f, open(dst, "w") as g:
        for i, line in enumerate(f):
            if i > n:
                break
            g.write(line)
    return dst


# ------------------------------------------------------------------ peers

def outermost(entries):
    """The prefixes no other prefix of the list contains (an nft interval
    set refuses overlapping intervals): sorted by address, then length, a
    prefix that starts before the end of the last kept one lies inside it
    (two prefixes either nest or are disjoint)."""
    out, end = [], -1
    for address, length in sorted(entries):
        if address < end:
            continue
        out.append((address, length))
        end = address + (1 << (32 - length))
    return out


def peer_files(cache, name, entries):
    """The ipset restore file and the nft file loading the prefixes of the
    list `name`, kept in the cache beside the list (written once, not
    timed). Returns the files and what each loads."""
    info_path = os.path.join(cache, f"peer-{name}.json")
    if os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
        if all(k in info and os.path.exists(info[k]["file"])
               for k in ("ipset", "nft", "nft_auto_merge")):
            return info
    log(f"writing the peers' files for {name}")
    # hash:net holds /1 to /32, overlapping prefixes included (each is an
    # element of its own): every prefix but a /0, and the lists have none.
    loadable = [p for p in entries if p[1] > 0]
    ipset_file = os.path.join(cache, f"peer-{name}.ipset")
    hashsize = 1 << max(10, (len(loadable) - 1).bit_length())
    with open(ipset_file + ".tmp", "w") as f:
        f.write(f"create {PEER_IPSET} hash:net family inet hashsize {hashsize} "
                f"maxelem {2 * hashsize}\n")
        for p in loadable:
            f.write(f"add {PEER_IPSET} {prefixes.to_text(4, p)}\n")
    os.replace(ipset_file + ".tmp", ipset_file)
    disjoint = outermost(entries)
    nft_file = os.path.join(cache, f"peer-{name}.nft")
    write_nft_set(nft_file, disjoint, auto_merge=False)
    merged_file = os.path.join(cache, f"peer-{name}-auto-merge.nft")
    write_nft_set(merged_file, entries, auto_merge=True)
    info = {"nft_auto_merge": {
                "file": merged_file, "elements": len(entries),
                "what": f"nft -f of one table holding one ipv4_addr set with flags interval "
                        f"and auto-merge: all {len(entries):,} prefixes of the list, which nft "
                        f"merges (overlapping and adjacent ones) into fewer intervals"},
            "ipset": {"file": ipset_file, "elements": len(loadable), "hashsize": hashsize,
                      "maxelem": 2 * hashsize,
                      "what": f"ipset restore of one hash:net set (hashsize {hashsize}, "
                              f"maxelem {2 * hashsize}): every prefix of the list, "
                              f"{len(loadable):,} elements"},
            "nft": {"file": nft_file, "elements": len(disjoint),
                    "what": f"nft -f of one table holding one ipv4_addr set with flags "
                            f"interval: the {len(disjoint):,} prefixes of the list that no "
                            f"other contains ({len(entries) - len(disjoint):,} prefixes lie "
                            f"inside another and are left out: an interval set refuses "
                            f"overlaps without auto-merge); the same addresses allowed"}}
    with open(info_path + ".tmp", "w") as f:
        json.dump(info, f, indent=2)
    os.replace(info_path + ".tmp", info_path)
    return info


def write_nft_set(path, elements, auto_merge):
    """An nft file creating the peer's table with one ipv4_addr interval set
    holding `elements`, auto-merged by nft or not."""
    flags = "\t\tflags interval\n" + ("\t\tauto-merge\n" if auto_merge else "")
    with open(path + ".tmp", "w") as f:
        f.write(f"table ip {PEER_NFT_TABLE} {{\n\tset allow {{\n\t\ttype ipv4_addr\n"
                f"{flags}\t\telements = {{\n")
        f.write(",\n".join("\t\t\t" + prefixes.to_text(4, p) for p in elements))
        f.write("\n\t\t}\n\t}\n}\n")
    os.replace(path + ".tmp", path)


def in_ns(a, argv, timeout):
    """Runs argv in the bench's namespace; (seconds, CompletedProcess)."""
    t0 = time.monotonic()
    try:
        r = subprocess.run(measure.in_netns(a.netns, argv), capture_output=True, text=True,
                           timeout=max(1.0, timeout))
    except subprocess.TimeoutExpired:
        raise StepTimeout(time.monotonic() - t0) from None
    return time.monotonic() - t0, r


def destroy_peers(a):
    """Removes both peers' sets from the namespace (also after a failure;
    deleting the namespace, as the shell script does on exit, would too)."""
    in_ns(a, ["ipset", "destroy", PEER_IPSET], 60)
    in_ns(a, ["nft", "delete", "table", "ip", PEER_NFT_TABLE], 60)


def load_peer(a, kind, info, cap, read_back=False):
    """Loads one peer's file inside the namespace, timed end to end (the
    wall clock of the command), checks what the kernel holds and destroys
    it. ipset counts its elements at once. nft takes ~60 s here to list a
    large interval set, and as long to get one element of it (it reads the
    whole set first), so by default its count is the file's: `nft -f` is
    one transaction, all of the file or nothing; read_back lists and counts
    them all."""
    if kind == "ipset":
        load = ["ipset", "restore", "-f", info["file"]]
        count = ["ipset", "list", "-terse", PEER_IPSET]
        destroy = ["ipset", "destroy", PEER_IPSET]
    else:
        load = ["nft", "-f", info["file"]]
        count = ["nft", "-j", "list", "set", "ip", PEER_NFT_TABLE, "allow"] if read_back else None
        destroy = ["nft", "delete", "table", "ip", PEER_NFT_TABLE]
    out = {"command": " ".join(load), "what": info["what"], "elements_in_file": info["elements"]}
    try:
        secs, r = in_ns(a, load, cap)
        if r.returncode != 0:
            out["failed"] = (r.stderr or r.stdout)[-500:]
            return out
        out["seconds"] = round(secs, 3)
        if count:
            secs, r = in_ns(a, count, 120)
            out["check_seconds"] = round(secs, 3)  # not part of the load's time
        if kind == "ipset":
            m = re.search(r"Number of entries: (\d+)", r.stdout)
            out["elements_loaded"] = int(m.group(1)) if m else None
            m = re.search(r"Size in memory: (\d+)", r.stdout)
            out["kernel_size_in_memory_bytes"] = int(m.group(1)) if m else None
        elif read_back:
            try:
                sets = [x["set"] for x in json.loads(r.stdout)["nftables"] if "set" in x]
                out["elements_loaded"] = len(sets[0].get("elem", []))
            except (ValueError, KeyError, IndexError):
                out["elements_loaded"] = None
        else:
            out["elements_loaded"] = info["elements"]
            out["elements_loaded_how"] = ("the file's: nft -f succeeded, one transaction (not "
                                          "read back: listing the set takes ~60 s here; "
                                          "--nft-read-back does)")
    except StepTimeout as t:
        out["not_finished_after_s"] = round(t.args[0], 1)
    finally:
        secs, r = in_ns(a, destroy, 120)
        out["destroy_seconds"] = round(secs, 3)
    return out


# ----------------------------------------------------- PUT, GET, restart

def json_array_of(csv_path):
    """The list of a CSV file as the body of PUT: a JSON array of
    {"ip_range": ...} (no description: the body stays under the 64 MiB
    limit with room to spare)."""
    with open(csv_path) as f:
        next(f)
        items = [f'{{"ip_range":"{line.split(",", 1)[0]}"}}' for line in f if line.strip()]
    return ("[" + ",".join(items) + "]").encode()


def put_replace(a, d, body, cap):
    """PUT /api/admin/ip-allowlist?force=true of a JSON array, timed from the
    connect to the answer's last byte, with the daemon's peak RSS of that
    request alone."""
    hwm_reset = reset_hwm(d.proc.pid)
    before = d.rss()
    ans = timed_request(a.socket, "PUT", API + "?force=true", body, timeout=cap)
    after = d.rss()
    out = {"status": ans["status"], "seconds": round(ans["seconds"], 3),
           "request_bytes": len(body), "answer_bytes": ans["bytes"],
           "total_in_answer": total_of(ans), "rss_before_bytes": before["VmRSS"],
           "rss_after_bytes": after["VmRSS"], "hwm_bytes": after["VmHWM"],
           "hwm_reset_before": hwm_reset}
    if ans["status"] != 200:
        out["failed"] = ans["first"][:500].decode("utf-8", "replace")
    return out


def timed_gets(a, d, cap_each):
    """The whole list three ways, each timed to the last byte, with the
    daemon's VmHWM before the request (after a reset) and after it."""
    out = {}
    for key, target in (("list", API), ("list_include_disabled", API + "?include_disabled=true"),
                        ("export_csv", API + "/export")):
        hwm_reset = reset_hwm(d.proc.pid)
        before = d.rss()
        try:
            ans = timed_request(a.socket, "GET", target, timeout=cap_each)
        except StepTimeout as t:
            out[key] = {"target": target, "not_finished_after_s": round(t.args[0], 1)}
            continue
        after = d.rss()
        x = {"target": target, "status": ans["status"], "seconds": round(ans["seconds"], 3),
             "bytes": ans["bytes"], "framing": ans["framing"], "complete": ans["complete"],
             "rss_before_bytes": before["VmRSS"], "hwm_before_bytes": before["VmHWM"],
             "hwm_after_bytes": after["VmHWM"], "rss_after_bytes": after["VmRSS"],
             "hwm_reset_before": hwm_reset}
        if key == "export_csv":
            x["lines"] = max(0, ans["newlines"] - 1)  # less the header
        else:
            x["total_in_answer"] = total_of(ans)
        out[key] = x
        log(f"  GET {target}: {x['seconds']:.2f} s, {x['bytes'] / 1e6:.1f} MB, VmHWM "
            f"{mib(x['hwm_after_bytes'])} MiB")
    return out


class Notify:
    """The daemon's sd_notify socket (NOTIFY_SOCKET): the time READY=1
    arrives."""

    def __init__(self, path):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.ready_at = None
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop and self.ready_at is None:
            try:
                msg = self.sock.recv(4096)
            except socket.timeout:
                continue
            if b"READY=1" in msg.split(b"\n"):
                self.ready_at = time.monotonic()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
        os.unlink(self.path)


def restart(a, d, prog, index, entries, rng, cap):
    """Stops the daemon (SIGTERM) with the list stored and the pins in
    place, starts it again and times, from the exec: the first answer to
    GET /status, READY=1 on NOTIFY_SOCKET, and last_sync_at (the daemon's
    clock when the whole list had been written to the kernel maps:
    ListService::open does it before the API starts). Meanwhile the pinned
    program runs on probes the list allows and probes it does not."""
    candidates = probe_candidates([entries], rng)
    watch = ReplaceWatch(prog, index, index, candidates)
    notify = Notify(os.path.join(a.tmp, "notify.sock"))
    out = {}
    watch.start()
    try:
        out["stop"] = d.stop(grace=30)
        env = dict(os.environ, NOTIFY_SOCKET=notify.path)
        wall0, t0 = time.time(), time.monotonic()
        d.spawn(env)
        body = None
        while time.monotonic() - t0 < cap:
            try:
                sent = time.monotonic()
                status, answer = request(a.socket, "GET", API + "/status")
                if status == 200:
                    out["api_answering_s"] = round(time.monotonic() - t0, 3)
                    out["status_request_s"] = round(time.monotonic() - sent, 3)
                    body = json.loads(answer)
                    break
            except OSError:
                pass
            if d.proc.poll() is not None:
                raise RuntimeError(f"xdpgated exited ({d.proc.returncode}) while starting; "
                                   f"see {d.log.name}")
            time.sleep(0.005)
        else:
            out["not_answering_after_s"] = round(time.monotonic() - t0, 1)
        if "api_answering_s" in out:
            # Is the first answer slow, or every GET /status on this list?
            sent = time.monotonic()
            request(a.socket, "GET", API + "/status")
            out["status_again_s"] = round(time.monotonic() - sent, 3)
        time.sleep(0.5)  # the probes go on a little after the start
    finally:
        out["verdicts"] = watch.finish(replaced="api_answering_s" in out)
        notify.close()
    if notify.ready_at is not None:
        out["ready_notified_s"] = round(notify.ready_at - t0, 3)
    if body is not None:
        # The probes ran the program attached before the restart (whose
        # maps the new daemon reuses through the pins); if the new daemon
        # attached another, every probe must be judged right by it too.
        new_id = body["interfaces"][0]["program_id"]
        if new_id != prog.prog_id:
            new_prog = XdpProgram(new_id)
            check = ReplaceWatch(new_prog, index, index, candidates)
            check._sweep("after")
            new_prog.close()
            out["new_program_after_sweep"] = {"probe_runs": check.runs,
                                              "wrong_verdicts": check.wrong,
                                              "wrong_by_kind": check.wrong_by_kind}
        synced = body.get("last_sync_at")
        out["kernel_synced_s"] = None if synced is None else round(synced / 1000 - wall0, 3)
        out["entries"] = body["entries"]["total"]
        out["program_id_after"] = body["interfaces"][0]["program_id"]
        out["rss_bytes"] = d.rss()["VmRSS"]
        out["hwm_bytes"] = d.rss()["VmHWM"]
    return out


def watched_replace(d, prog, index_from, index_to, entries_from, entries_to, csv_to, rng, cap):
    """`xdpgate replace FILE.csv --force`, watched for wrong verdicts, with
    the daemon's peak RSS of the replace alone."""
    watch = ReplaceWatch(prog, index_from, index_to,
                         probe_candidates([entries_from, entries_to], rng))
    hwm_before = d.rss()["VmHWM"]
    hwm_reset = reset_hwm(d.proc.pid)
    watch.start()
    try:
        secs, _ = d.cli("replace", csv_to, "--force", timeout=cap)
    except StepTimeout as t:
        return {"not_finished_after_s": round(t.args[0], 1),
                "verdicts": watch.finish(replaced=False), "hwm_before_bytes": hwm_before}
    m = d.rss()
    return {"seconds": round(secs, 3), "entries_after": d.status()["entries"]["total"],
            "verdicts": watch.finish(replaced=True), "rss_after_bytes": m["VmRSS"],
            "hwm_bytes": m["VmHWM"], "hwm_before_bytes": hwm_before, "hwm_reset_before": hwm_reset}


# ------------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--netns", required=True)
    p.add_argument("--daemon", required=True)
    p.add_argument("--cli", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--socket", required=True)
    p.add_argument("--pins", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--cache", required=True, help="directory for the generated 1M lists")
    p.add_argument("--adds", type=int, default=1000)
    p.add_argument("--budget", type=float, default=330)
    p.add_argument("--repeats", type=int, default=3,
                   help="runs of the 1M import and replace (delete --all between), as many "
                        "as the budget allows")
    p.add_argument("--chunked", type=int, default=0,
                   help="reach 1M entries by imports of this many entries (a fallback "
                        "for daemons whose single 1M import does not finish)")
    p.add_argument("--nft-auto-merge", action="store_true",
                   help="nft loads every prefix into a set with auto-merge "
                        "instead of the prefixes no other contains")
    p.add_argument("--nft-read-back", action="store_true",
                   help="count the elements of the nft set by listing it all (~60 s here) "
                        "instead of taking the file's count")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    os.makedirs(a.cache, exist_ok=True)
    seed = prefixes.seed_for(4, MILLION)
    list_a = cached_list(os.path.join(a.cache, "list-1M-a.csv"), seed)
    list_b = cached_list(os.path.join(a.cache, "list-1M-b.csv"), seed + 1)
    small = os.path.join(a.tmp, "list-1k.csv")
    small_list = prefixes.generate_list(4, 1000)
    prefixes.write_csv(small, {4: small_list}, description="bench")
    machine = measure.machine()
    rng = prefixes.Rng(0x636F6E74)
    entries_a = prefixes.read_csv(list_a)[4]
    entries_b = prefixes.read_csv(list_b)[4]
    index_a = prefixes.PrefixIndex(4, entries_a)
    index_b = prefixes.PrefixIndex(4, entries_b)
    peer_info = peer_files(a.cache, "list-1M-a", entries_a)
    # The budget starts once the lists and the peers' files exist (writing
    # them the first time takes ~10-40 s here, and they are kept for the next
    # run).
    budget = Budget(a.budget)

    stats_before = measure.bpf_stats_sysctl()
    d = Daemon(a)
    r = {"budget_s": a.budget}
    not_measured = {}
    try:
        mem_before_daemon = settled_meminfo()
        d.start()
        status = d.status()
        r["attach_mode"] = status["interfaces"][0].get("attach_mode")
        prog = XdpProgram(status["interfaces"][0]["program_id"])
        visibility = VisibilityWatch(status["interfaces"][0]["program_id"])

        # One add on a 1k list.
        d.cli("import", small)
        d.cli("activate", "--yes")
        log(f"{a.adds} adds on a 1k list")
        r["add_1k"] = add_latencies(a, prog, visibility, fresh_addresses(a.adds, rng, prefixes.PrefixIndex(4, small_list)),
                                    "1k list", min(60, budget.left() - 30))
        d.cli("delete", "--all")

        # How the import scales, into an empty list each time.
        r["import_scaling"] = []
        for n in SCALING_SIZES:
            mem0 = settled_meminfo(3)
            try:
                secs, _ = d.cli("import", head_csv(list_a, n, os.path.join(a.tmp, "part.csv")),
                                timeout=min(60, budget.left() - 150))
            except StepTimeout as t:
                r["import_scaling"].append({"entries": n, "not_finished_after_s": round(t.args[0], 1)})
                break
            mem1 = settled_meminfo(3)
            r["import_scaling"].append({"entries": n, "seconds": round(secs, 3),
                                        "rss_bytes": d.rss()["VmRSS"],
                                        "slab_growth_bytes": mem1["Slab"] - mem0["Slab"]})
            log(f"  import of {n} entries: {secs:.2f} s")
            d.cli("delete", "--all")

        # 1M import into an empty list.
        mem_empty = settled_meminfo()
        rss_empty = d.rss()
        hwm_seen = [rss_empty["VmHWM"]]  # every VmHWM read before a reset: the peak since start
        hwm_reset = reset_hwm(d.proc.pid)
        r["vmhwm_reset_works"] = hwm_reset
        cap = max(5.0, budget.left() - RESERVE_AFTER_IMPORT)
        try:
            if a.chunked:
                import_s = chunked_import(d, list_a, a.chunked, a.tmp, cap)
            else:
                log(f"importing 1M entries (xdpgate import), at most {cap:.0f} s")
                import_s, _ = d.cli("import", list_a, timeout=cap)
        except StepTimeout as t:
            r["import_1m"] = {"not_finished_after_s": round(t.args[0], 1)}
            log(f"  not finished after {t.args[0]:.0f} s: stopped")
            why = "the 1M import did not finish within the group's time budget"
            not_measured = {k: why for k in ("add_1m", "replace_1m", "memory_1m", "put_replace_1m",
                                             "get_1m", "restart_1m", "repeats")}
            import_s = None
        if import_s is not None:
            import_hwm = d.rss()["VmHWM"]
            hwm_seen.append(import_hwm)
            mem_1m = settled_meminfo()
            rss_1m = d.rss()
            entries = d.status()["entries"]["total"]
            r["import_1m"] = {"seconds": round(import_s, 3), "entries_after": entries,
                              "hwm_bytes": import_hwm, "hwm_reset_before": hwm_reset}
            if a.chunked:
                r["import_1m"]["chunked"] = a.chunked
            log(f"  {import_s:.2f} s, {entries} entries, RSS {mib(rss_1m['VmRSS'])} MiB, "
                f"VmHWM during it {mib(import_hwm)} MiB")
            r["memory_1m"] = {
                "rss_empty_list_bytes": rss_empty["VmRSS"], "rss_1m_bytes": rss_1m["VmRSS"],
                "kernel_growth_import_1m_bytes": {k: mem_1m[k] - mem_empty[k] for k in mem_1m},
                "kernel_growth_daemon_start_to_1m_bytes":
                    {k: mem_1m[k] - mem_before_daemon[k] for k in mem_1m},
                "note": "system-wide /proc/meminfo and /proc/slabinfo: other work on the machine "
                        "moves them too (median of 5 readings, 1 s after each step)"}

            # One add on the 1M list.
            d.cli("activate", "--yes")
            addresses = fresh_addresses(a.adds, rng, index_a)
            log(f"{a.adds} adds on the 1M list")
            # At most 20 s, so that the replace keeps most of what is left.
            r["add_1m"] = add_latencies(a, prog, visibility, addresses, "1M list",
                                        min(20, max(1, budget.left() - 60)))

            # Atomic replace by another 1M list, watched for wrong verdicts.
            cap = max(5.0, min(300.0, budget.left() - RESERVE_AFTER_REPLACE))
            log(f"replacing by another 1M entries (xdpgate replace FILE.csv), at most {cap:.0f} s")
            rep = watched_replace(d, prog, index_a, index_b, entries_a, entries_b, list_b, rng, cap)
            hwm_seen += [rep["hwm_before_bytes"], rep.get("hwm_bytes", d.rss()["VmHWM"])]
            r["replace_1m"] = rep
            if "seconds" in rep:
                r["memory_1m"]["rss_after_replace_bytes"] = rep["rss_after_bytes"]
                log(f"  {rep['seconds']:.2f} s, RSS {mib(rep['rss_after_bytes'])} MiB, VmHWM during "
                    f"it {mib(rep['hwm_bytes'])} MiB, {rep['verdicts']['wrong_verdicts']} wrong "
                    f"verdicts (probes {rep['verdicts']['probes']})")
            r["memory_1m"]["hwm_bytes"] = max(hwm_seen)
            r["replace_1m"]["how"] = ("POST /import?replace=true (the CLI's replace FILE.csv "
                                      "--force): list A (1M) by list B (1M, another seed: nearly "
                                      "every entry removed and another added)")
            replaced = "seconds" in rep
            if not replaced:
                why = "the 1M replace did not finish within the group's time budget"
                not_measured.update({k: why for k in ("put_replace_1m", "get_1m", "restart_1m",
                                                      "repeats")})

            # The same replace through the API's PUT: list B by list A again.
            if replaced:
                cap = max(5.0, min(300.0, budget.left() - RESERVE_AFTER_PUT))
                body = json_array_of(list_a)
                log(f"replacing by PUT {API}?force=true ({len(body) / 1e6:.1f} MB of JSON), "
                    f"at most {cap:.0f} s")
                watch = ReplaceWatch(prog, index_b, index_a,
                                     probe_candidates([entries_b, entries_a], rng))
                watch.start()
                try:
                    put = put_replace(a, d, body, cap)
                    put["verdicts"] = watch.finish(replaced="failed" not in put)
                    put["entries_after"] = d.status()["entries"]["total"]
                    hwm_seen.append(put["hwm_bytes"])
                    log(f"  {put['seconds']:.2f} s, answer {put['answer_bytes'] / 1e6:.1f} MB, VmHWM "
                        f"during it {mib(put['hwm_bytes'])} MiB, {put['verdicts']['wrong_verdicts']} "
                        f"wrong verdicts")
                except StepTimeout as t:
                    put = {"not_finished_after_s": round(t.args[0], 1),
                           "verdicts": watch.finish(replaced=False)}
                    why = "the PUT replace did not finish within the group's time budget"
                    not_measured.update({k: why for k in ("get_1m", "restart_1m", "repeats")})
                del body
                put["how"] = ("PUT /api/admin/ip-allowlist?force=true, body a JSON array of "
                              "{\"ip_range\"} (no description), list B by list A; timed from the "
                              "connect to the answer's last byte (the answer lists every entry)")
                r["put_replace_1m"] = put

            # GET of the whole list, and its export.
            if "get_1m" not in not_measured:
                log("GET of the 1M list (JSON, JSON with disabled entries, CSV export)")
                r["get_1m"] = timed_gets(a, d, max(5.0, min(60.0, (budget.left() - RESERVE_AFTER_GET) / 3)))
                hwm_seen += [x["hwm_after_bytes"] for x in r["get_1m"].values() if "hwm_after_bytes" in x]

            # A restart with the 1M list stored and the pins in place.
            if "restart_1m" not in not_measured:
                cap = max(10.0, min(120.0, budget.left() - RESERVE_AFTER_RESTART))
                log(f"restarting xdpgated with 1M entries stored, at most {cap:.0f} s to answer")
                prog_before = d.status()["interfaces"][0]["program_id"]
                hwm_seen.append(d.rss()["VmHWM"])
                # The list is A again, unless the PUT failed (then B).
                now = (index_b, entries_b) if "failed" in r.get("put_replace_1m", {}) else (
                    index_a, entries_a)
                rs = restart(a, d, prog, now[0], now[1], rng, cap)
                rs["program_id_before"] = prog_before
                r["restart_1m"] = rs
                if rs.get("program_id_after") not in (None, prog_before):
                    prog.close()  # the probes of later steps run the program now attached
                    prog = XdpProgram(rs["program_id_after"])
                log(f"  stopped in {rs['stop']['seconds'] if rs.get('stop') else '?'} s; from the "
                    f"exec: API answering {rs.get('api_answering_s')} s, READY=1 "
                    f"{rs.get('ready_notified_s')} s, kernel synced (last_sync_at) "
                    f"{rs.get('kernel_synced_s')} s; {rs['verdicts']['wrong_verdicts']} wrong "
                    f"verdicts in {rs['verdicts']['probe_runs']} probe runs")
                if "api_answering_s" not in rs:
                    not_measured["repeats"] = "the daemon did not answer after the restart"
        visibility.close()

        # The peers load list A inside the same namespace (the daemon idles).
        r["peers_1m"] = {}
        for kind in ("ipset", "nft"):
            if budget.left() < 10:
                r["peers_1m"][kind] = {"not_measured": "the group's time budget was spent"}
                continue
            cap = max(5.0, min(120.0, budget.left() - (RESERVE_NFT if kind == "ipset" else 5)))
            info = peer_info["nft_auto_merge" if kind == "nft" and a.nft_auto_merge else kind]
            log(f"peer: {info['what']}, at most {cap:.0f} s")
            try:
                x = load_peer(a, kind, info, cap, read_back=a.nft_read_back)
            finally:
                destroy_peers(a)
            r["peers_1m"][kind] = x
            log(f"  {x.get('seconds', x.get('failed', 'not finished'))} s, "
                f"{x.get('elements_loaded')} elements"
                + (" (the file's)" if "elements_loaded_how" in x else " (read back)"))

        # Repeats of the 1M import and replace, as the budget allows.
        if import_s is not None and not a.chunked and "repeats" not in not_measured:
            imports = [r["import_1m"]]
            replaces = [r["replace_1m"]]
            deletes = []
            r["repeats"] = {"asked": a.repeats}
            for n in range(2, a.repeats + 1):
                need = 1.3 * (import_s + r["replace_1m"]["seconds"]
                              + (deletes[-1]["seconds"] if deletes else import_s)) + 10
                if budget.left() < need:
                    r["repeats"]["stopped"] = (f"run {n} not done: it needs ~{need:.0f} s (1.3 x "
                                               f"the first run's), {budget.left():.0f} s of the "
                                               f"budget left")
                    log(f"  {r['repeats']['stopped']}")
                    break
                log(f"repeat {n}/{a.repeats}: delete --all, import 1M, replace by 1M")
                secs, _ = d.cli("delete", "--all", timeout=max(5.0, budget.left() - 10))
                deletes.append({"seconds": round(secs, 3)})
                hwm_seen.append(d.rss()["VmHWM"])
                hwm_reset = reset_hwm(d.proc.pid)
                try:
                    secs, _ = d.cli("import", list_a, timeout=max(5.0, budget.left() - 10))
                except StepTimeout as t:
                    imports.append({"not_finished_after_s": round(t.args[0], 1)})
                    break
                imp_hwm = d.rss()["VmHWM"]
                hwm_seen.append(imp_hwm)
                # delete --all ended the restriction: on again, as after the first import
                d.cli("activate", "--yes")
                imports.append({"seconds": round(secs, 3), "hwm_bytes": imp_hwm,
                                "hwm_reset_before": hwm_reset,
                                "entries_after": d.status()["entries"]["total"]})
                rep = watched_replace(d, prog, index_a, index_b, entries_a, entries_b, list_b, rng,
                                      max(5.0, budget.left() - 5))
                hwm_seen += [rep["hwm_before_bytes"], rep.get("hwm_bytes", 0)]
                replaces.append(rep)
                log(f"  delete --all {deletes[-1]['seconds']:.2f} s, import {secs:.2f} s, replace "
                    f"{rep.get('seconds', 'not finished')} s, "
                    f"{rep['verdicts']['wrong_verdicts']} wrong verdicts")
                if "seconds" not in rep:
                    break
            r["repeats"]["delete_all_1m"] = deletes
            r["repeats"]["import_1m"] = imports[1:]
            r["repeats"]["replace_1m"] = replaces[1:]
            for key, runs in (("import_1m", imports), ("replace_1m", replaces)):
                values = [x["seconds"] for x in runs if "seconds" in x]
                r[key]["runs_s"] = values
                r[key]["median_s"] = round(statistics.median(values), 3) if values else None
            r["replace_1m"]["wrong_verdicts_all_runs"] = sum(
                x["verdicts"]["wrong_verdicts"] for x in replaces)
            r["replace_1m"]["probe_runs_all_runs"] = sum(x["verdicts"]["probe_runs"] for x in replaces)
            r["memory_1m"]["hwm_bytes"] = max(hwm_seen)
        if "seconds" in r["import_1m"] and not a.chunked:
            ours = r["import_1m"].get("median_s") or r["import_1m"]["seconds"]
            r["peers_1m"]["ours"] = {
                "seconds": ours, "runs_s": r["import_1m"].get("runs_s", [r["import_1m"]["seconds"]]),
                "what": "xdpgate import of the same list A into an empty list (the median of the "
                        "runs): 1,000,000 entries",
                "note": "ours also commits the list to disk (SQLite, a durable commit) and writes "
                        "the audit log, and answers with a summary; the peers only fill a kernel set"}
            for kind in ("ipset", "nft"):
                x = r["peers_1m"][kind]
                if x.get("seconds"):
                    x["ratio_ours_over_theirs"] = round(ours / x["seconds"], 2)
        prog.close()
    finally:
        d.stop()
    r["not_measured"] = not_measured

    targets = []

    def target(name, goal, measured, unit, met, **detail):
        t = {"group": "control_plane", "name": name, "target": goal, "measured": measured,
             "unit": unit, "met": met}
        if detail:
            t["detail"] = detail
        targets.append(t)

    for key, label in (("add_1k", "1k"), ("add_1m", "1M")):
        x = r.get(key)
        if not x or not x.get("adds"):
            why = not_measured.get(key, "no add finished")
            target(f"one add on a {label} list: API call to kernel visibility, p99",
                   f"< {MAX_ADD_P99_MS:g} ms",
                   "not measured", "", False, why=why)
            continue
        vis_p99 = x["visible_p99_ms"]
        target(f"one add on a {label} list: API call to kernel visibility, p99",
               f"< {MAX_ADD_P99_MS:g} ms", vis_p99 if vis_p99 is not None else "not seen", "ms",
               vis_p99 is not None and vis_p99 < MAX_ADD_P99_MS
               and x["seen_during_call"] == x["adds"],
               p50_ms=x["visible_p50_ms"], max_ms=x["visible_max_ms"], adds=x["adds"],
               seen_during_call=x["seen_during_call"])
        target(f"adds on a {label} list passed by the XDP program on return",
               f"{x['adds']}/{x['adds']}", f"{x['passed_after_return']}/{x['adds']}", "",
               x["passed_after_return"] == x["adds"] and x["dropped_before_add"] == x["adds"])
    def runs_detail(x):
        """The median and every run, where there were repeats."""
        if x.get("runs_s") and len(x["runs_s"]) > 1:
            return {"median_of": len(x["runs_s"]), "runs_s": x["runs_s"]}
        return {"runs": 1, "note": "a single run (the repeats did not fit in the budget)"
                if "runs_s" in x else "a single run"}

    def seconds_of(x):
        return x.get("median_s") or x["seconds"]

    imp = r["import_1m"]
    if "seconds" in imp and "chunked" in imp:
        target("CSV import of 1M entries, end to end", f"< {MAX_IMPORT_S:g} s",
               "not measured (chunked run)", "", False,
               chunked_total_s=imp["seconds"], chunk=imp["chunked"])
    elif "seconds" in imp:
        target("CSV import of 1M entries, end to end", f"< {MAX_IMPORT_S:g} s", seconds_of(imp),
               "s", seconds_of(imp) < MAX_IMPORT_S, **runs_detail(imp))
    else:
        target("CSV import of 1M entries, end to end", f"< {MAX_IMPORT_S:g} s",
               f"> {imp['not_finished_after_s']:g} s (stopped)", "", False)
    rep = r.get("replace_1m")
    if rep:
        v = rep["verdicts"]
        if "seconds" in rep:
            target("replace of 1M entries by 1M (CSV), end to end", f"< {MAX_REPLACE_S:g} s",
                   seconds_of(rep), "s", seconds_of(rep) < MAX_REPLACE_S, **runs_detail(rep))
        else:
            target("replace of 1M entries by 1M (CSV), end to end", f"< {MAX_REPLACE_S:g} s",
                   f"> {rep['not_finished_after_s']:g} s (stopped)", "", False)
        wrong = rep.get("wrong_verdicts_all_runs", v["wrong_verdicts"])
        runs = rep.get("probe_runs_all_runs", v["probe_runs"])
        target("replace of 1M entries: wrong verdicts while it runs", "0",
               f"{wrong} in {runs} runs", "", wrong == 0 and runs > 0,
               wrong_verdicts=wrong, probes=v["probes"],
               replaces_watched=1 + len(r.get("repeats", {}).get("replace_1m", [])),
               replace_s=rep.get("seconds", rep.get("not_finished_after_s")))
    else:
        for name in ("replace of 1M entries by 1M (CSV), end to end",
                     "replace of 1M entries: wrong verdicts while it runs"):
            target(name, "0" if "wrong" in name else f"< {MAX_REPLACE_S:g} s", "not measured", "",
                   False, why=not_measured.get("replace_1m"))
    put = r.get("put_replace_1m")
    name = "replace of 1M entries by 1M (PUT, JSON array), end to end"
    if put and "failed" in put:
        target(name, f"< {MAX_PUT_REPLACE_S:g} s", f"failed ({put['status']})", "", False,
               answer=put["failed"])
    elif put and "seconds" in put:
        target(name, f"< {MAX_PUT_REPLACE_S:g} s", put["seconds"], "s",
               put["seconds"] < MAX_PUT_REPLACE_S, wrong_verdicts=put["verdicts"]["wrong_verdicts"],
               VmHWM_MiB=mib(put["hwm_bytes"]))
    elif put:
        target(name, f"< {MAX_PUT_REPLACE_S:g} s", f"> {put['not_finished_after_s']:g} s (stopped)",
               "", False)
    else:
        target(name, f"< {MAX_PUT_REPLACE_S:g} s", "not measured", "", False,
               why=not_measured.get("put_replace_1m"))
    mem = r.get("memory_1m")
    if mem:
        steady = max(mem["rss_1m_bytes"], mem.get("rss_after_replace_bytes", 0))
        target("daemon RSS at 1M entries (VmRSS)", "< 150 MB", round(steady / 1e6, 1), "MB",
               steady < MAX_RSS_BYTES, MiB=mib(steady),
               peak_VmHWM_MiB=mib(mem.get("hwm_bytes", 0)))
        peaks = {"import": [x.get("hwm_bytes") for x in
                            [r["import_1m"]] + r.get("repeats", {}).get("import_1m", [])],
                 "replace": [x.get("hwm_bytes") for x in
                             [r.get("replace_1m", {})] + r.get("repeats", {}).get("replace_1m", [])]}
        peaks = {k: [p for p in v if p] for k, v in peaks.items()}
        peak = max(peaks["import"] + peaks["replace"], default=None)
        if peak and r.get("vmhwm_reset_works"):
            target("daemon peak RSS (VmHWM) during a 1M import or replace", "< 400 MB",
                   round(peak / 1e6, 1), "MB", peak < MAX_HWM_BYTES, MiB=mib(peak),
                   import_MiB=[mib(p) for p in peaks["import"]],
                   replace_MiB=[mib(p) for p in peaks["replace"]])
        else:
            target("daemon peak RSS (VmHWM) during a 1M import or replace", "< 400 MB",
                   round(mem.get("hwm_bytes", 0) / 1e6, 1), "MB",
                   mem.get("hwm_bytes", 0) < MAX_HWM_BYTES,
                   note="the peak since the daemon started: VmHWM could not be reset per step")
    else:
        for name, goal in (("daemon RSS at 1M entries (VmRSS)", "< 150 MB"),
                           ("daemon peak RSS (VmHWM) during a 1M import or replace", "< 400 MB")):
            target(name, goal, "not measured", "", False, why=not_measured.get("memory_1m"))
    rs = r.get("restart_1m")
    name = "daemon start with 1M entries stored: exec to the API answering (kernel synced)"
    if rs and "api_answering_s" in rs:
        started = max(rs["api_answering_s"], rs.get("kernel_synced_s") or 0)
        target(name, f"< {MAX_START_S:g} s", started, "s", started < MAX_START_S,
               api_answering_s=rs["api_answering_s"], kernel_synced_s=rs.get("kernel_synced_s"),
               ready_notified_s=rs.get("ready_notified_s"))
        v = rs["verdicts"]
        swept = rs.get("new_program_after_sweep", {"wrong_verdicts": 0, "probe_runs": 0})
        wrong = v["wrong_verdicts"] + swept["wrong_verdicts"]
        runs = v["probe_runs"] + swept["probe_runs"]
        target("restart with 1M entries: wrong verdicts of the pinned program", "0",
               f"{wrong} in {runs} runs", "", wrong == 0 and v["probe_runs"] > 0,
               probes=v["probes"], new_program_swept="new_program_after_sweep" in rs)
    else:
        target(name, f"< {MAX_START_S:g} s",
               f"> {rs['not_answering_after_s']:g} s" if rs else "not measured", "", False,
               why=not_measured.get("restart_1m"))
    gets = r.get("get_1m", {})
    for key, label in (("list", "GET of the 1M list (JSON)"),
                       ("list_include_disabled", "GET of the 1M list, include_disabled=true"),
                       ("export_csv", "GET /export of the 1M list (CSV)")):
        x = gets.get(key)
        if x and "seconds" in x:
            target(f"{label}, to the last byte", f"< {MAX_GET_S:g} s", x["seconds"], "s",
                   x["seconds"] < MAX_GET_S and x["status"] == 200 and x["complete"],
                   MB=round(x["bytes"] / 1e6, 1), VmHWM_MiB=mib(x["hwm_after_bytes"]))
        else:
            target(f"{label}, to the last byte", f"< {MAX_GET_S:g} s",
                   f"> {x['not_finished_after_s']:g} s" if x else "not measured", "", False,
                   why=not_measured.get("get_1m"))

    out = {
        "group": "control_plane",
        "title": "control plane: one add, import and replace at 1M, memory",
        "machine": machine,
        "settings": {"capacity": 1048576, "adds": a.adds, "budget_s": a.budget,
                     "bpf_stats_enabled_before": int(stats_before),
                     "lists": "1M: the per-packet group's IPv4 mix (the N=1M seed, and that seed "
                              "+ 1 for the replacement); 10k-40k: the first lines of the 1M "
                              "list; 1k: the N=1k list"},
        "method": __doc__.strip(),
        "results": r,
        "targets": targets,
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print_summary(r, a.out)


def print_summary(r, path):
    print("\ncontrol plane")
    for key, label in (("add_1k", "1k"), ("add_1m", "1M")):
        x = r.get(key)
        if x and x.get("adds"):
            print(f"  one add, {label} list, call to kernel visibility: p50 "
                  f"{x['visible_p50_ms']} ms, p99 {x['visible_p99_ms']} ms, max "
                  f"{x['visible_max_ms']} ms (seen during {x['seen_during_call']}/{x['adds']} calls)")
            print(f"  one add, {label} list, call to return: p50 {x['p50_ms']:.3f} ms, p99 "
                  f"{x['p99_ms']:.3f} ms, max {x['max_ms']:.3f} ms over {x['adds']} adds; XDP passed "
                  f"{x['passed_after_return']}/{x['adds']} on return (dropped "
                  f"{x['dropped_before_add']} before)")
        else:
            print(f"  one add, {label} list: not measured ({r['not_measured'].get(key, 'none finished')})")
    for s in r.get("import_scaling", []):
        if "seconds" in s:
            print(f"  CSV import of {s['entries']:,} entries: {s['seconds']:.2f} s, "
                  f"RSS {mib(s['rss_bytes'])} MiB")
        else:
            print(f"  CSV import of {s['entries']:,} entries: not finished after "
                  f"{s['not_finished_after_s']} s")
    imp = r["import_1m"]
    chunked = f" (as imports of {imp['chunked']:,})" if "chunked" in imp else ""
    print(f"  CSV import of 1M entries{chunked}: " + (
        f"{imp['seconds']:.2f} s" + (f", VmHWM during it {mib(imp['hwm_bytes'])} MiB"
                                      if imp.get("hwm_bytes") else "") if "seconds" in imp else
        f"not finished after {imp['not_finished_after_s']} s"))
    rep = r.get("replace_1m")
    if rep:
        print("  replace of 1M entries by 1M others: " + (
            f"{rep['seconds']:.2f} s, VmHWM during it {mib(rep['hwm_bytes'])} MiB"
            if "seconds" in rep else f"not finished after {rep['not_finished_after_s']} s"))
        v = rep["verdicts"]
        print(f"  wrong verdicts during the replace: {v['wrong_verdicts']} of {v['probe_runs']} "
              f"runs of the XDP program on probes {v['probes']}"
              + (f" ({v['wrong_by_kind']})" if v["wrong_by_kind"] else ""))
    put = r.get("put_replace_1m")
    if put:
        print("  replace of 1M by 1M through PUT (JSON array): " + (
            f"{put['seconds']:.2f} s, {put['request_bytes'] / 1e6:.1f} MB sent, "
            f"{put['answer_bytes'] / 1e6:.1f} MB answer, VmHWM during it {mib(put['hwm_bytes'])} MiB, "
            f"{put['verdicts']['wrong_verdicts']} wrong verdicts in {put['verdicts']['probe_runs']} runs"
            + (f"; FAILED: {put['status']} {put['failed']}" if "failed" in put else "")
            if "seconds" in put else f"not finished after {put['not_finished_after_s']} s"))
    for key, x in r.get("get_1m", {}).items():
        if "seconds" in x:
            count = (f"{x['lines']:,} lines" if "lines" in x else f"total {x['total_in_answer']}")
            print(f"  GET {x['target']}: {x['seconds']:.2f} s to the last byte, "
                  f"{x['bytes'] / 1e6:.1f} MB ({count}), VmHWM {mib(x['hwm_before_bytes'])} -> "
                  f"{mib(x['hwm_after_bytes'])} MiB (reset before), VmRSS right after "
                  f"{mib(x['rss_after_bytes'])} MiB")
        else:
            print(f"  GET {x['target']}: not finished after {x['not_finished_after_s']} s")
    rs = r.get("restart_1m")
    if rs:
        v = rs["verdicts"]
        stop = rs.get("stop") or {}
        print(f"  restart with 1M stored: SIGTERM to exit {stop.get('seconds')} s"
              + (" (killed)" if stop.get("killed") else "")
              + f"; from the exec: /status answered {rs.get('api_answering_s', 'never')} s, "
              f"kernel synced (last_sync_at) {rs.get('kernel_synced_s')} s, READY=1 "
              f"{rs.get('ready_notified_s')} s; pinned program id {rs.get('program_id_before')} -> "
              f"{rs.get('program_id_after')}: {v['wrong_verdicts']} wrong verdicts in "
              f"{v['probe_runs']} runs on probes {v['probes']}"
              + (f" (then the new program: {rs['new_program_after_sweep']['wrong_verdicts']} wrong "
                 f"in {rs['new_program_after_sweep']['probe_runs']})"
                 if "new_program_after_sweep" in rs else "")
              + (f"; the first /status itself took {rs['status_request_s']} s, the next "
                 f"{rs.get('status_again_s')} s" if "status_request_s" in rs else "")
              + (f"; VmHWM of the start {mib(rs['hwm_bytes'])} MiB, VmRSS {mib(rs['rss_bytes'])} MiB"
                 if "hwm_bytes" in rs else ""))
    rep = r.get("repeats")
    if rep:
        for key, label in (("import_1m", "import"), ("replace_1m", "replace")):
            x = r[key]
            if x.get("runs_s"):
                print(f"  1M {label}, all runs: {x['runs_s']} s, median {x['median_s']} s")
        if rep.get("delete_all_1m"):
            print(f"  delete --all of 1M (between the runs): "
                  f"{[x['seconds'] for x in rep['delete_all_1m']]} s")
        if rep.get("stopped"):
            print(f"  repeats: {rep['stopped']}")
    peers = r.get("peers_1m")
    if peers:
        print("  the peers, loading the same 1M IPv4 prefixes (list A) in the bench's namespace:")
        ours = peers.get("ours")
        if ours:
            print(f"    xdpgate import        {ours['seconds']:7.2f} s  1,000,000 entries "
                  f"(median of {len(ours['runs_s'])})")
        for kind, label in (("ipset", "ipset restore hash:net"), ("nft", "nft -f interval set")):
            x = peers.get(kind, {})
            if "seconds" in x:
                ratio = x.get("ratio_ours_over_theirs")
                loaded = x.get("elements_loaded")
                print(f"    {label:<21} {x['seconds']:7.2f} s  "
                      + (f"{loaded:,}" if loaded is not None else "?")
                      + (" elements (the file's: one transaction)" if "elements_loaded_how" in x
                         else " elements in the kernel")
                      + (f", ours/theirs {ratio:.2f}x" if ratio else ""))
            else:
                print(f"    {label:<21} " + (x.get("failed") or x.get("not_measured")
                                              or f"not finished after {x.get('not_finished_after_s')} s"))
            if x.get("what"):
                print(f"      ({x['what']})")
        if ours:
            print(f"    note: {ours['note']}")
    m = r.get("memory_1m")
    if m:
        print(f"  daemon RSS: empty {mib(m['rss_empty_list_bytes'])} MiB, 1M {mib(m['rss_1m_bytes'])} MiB"
              + (f", after replace {mib(m['rss_after_replace_bytes'])} MiB"
                 if "rss_after_replace_bytes" in m else "")
              + f", peak {mib(m.get('hwm_bytes', 0))} MiB")
        g = m["kernel_growth_import_1m_bytes"]
        print(f"  kernel memory, growth across the 1M import: Slab {mib(g['Slab'])} MiB, "
              f"VmallocUsed {mib(g['VmallocUsed'])} MiB, Percpu {mib(g['Percpu'])} MiB"
              + (f", kmalloc-cg-* {mib(g['kmalloc_cg'])} MiB" if "kmalloc_cg" in g else ""))
    for k, why in r.get("not_measured", {}).items():
        print(f"  {k}: not measured: {why}")
    print(f"  JSON: {path}")


if __name__ == "__main__":
    main()
