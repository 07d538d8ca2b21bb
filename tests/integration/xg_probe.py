#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Many TCP/UDP reachability probes at once, from one process.

  xg_probe.py [--timeout S] SPEC...
    SPEC is tcp:SRC:DST:PORT or udp:SRC:DST:PORT (IPv6 addresses in
    brackets: tcp:[2001:db8::2]:[2001:db8::1]:22).
    tcp: the handshake completes within S seconds (default 1).
    udp: one datagram is echoed back within S seconds (xg_udp_listen).
    Prints one line per SPEC, in order: "yes" or "no".

Run it inside the namespace that owns the sources (nsenter --net=...). Every
probe sends one connection attempt or one datagram; the whole run ends after
S seconds at most.
"""
import argparse
import errno
import re
import select
import socket
import time

PAYLOAD = b"xdpgate-probe"


def parse(spec):
    m = re.fullmatch(r"(tcp|udp):(\[[^\]]+\]|[^:]+):(\[[^\]]+\]|[^:]+):(\d+)",
                     spec)
    if not m:
        raise SystemExit(f"bad probe spec {spec!r}")
    proto, src, dst, port = m.groups()
    return proto, src.strip("[]"), dst.strip("[]"), int(port)


def start(proto, src, dst, port):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family, kind)
    s.setblocking(False)
    s.bind((src, 0))
    if proto == "tcp":
        rc = s.connect_ex((dst, port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            return None
    else:
        s.sendto(PAYLOAD, (dst, port))
    return s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("specs", nargs="+")
    args = parser.parse_args()
    probes = [parse(spec) for spec in args.specs]
    sockets = [start(*p) for p in probes]
    result = ["no"] * len(probes)
    pending = {s: i for i, s in enumerate(sockets) if s is not None}
    deadline = time.monotonic() + min(args.timeout, 10.0)
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        tcp = [s for s, i in pending.items() if probes[i][0] == "tcp"]
        udp = [s for s, i in pending.items() if probes[i][0] == "udp"]
        readable, writable, _ = select.select(udp, tcp, [], left)
        for s in writable:
            i = pending.pop(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                result[i] = "yes"
        for s in readable:
            i = pending.pop(s)
            try:
                if s.recv(2048) == PAYLOAD:
                    result[i] = "yes"
            except OSError:
                pass
    for s in sockets:
        if s is not None:
            s.close()
    print("\n".join(result))


if __name__ == "__main__":
    main()
