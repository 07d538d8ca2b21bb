#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Crafted frames for the integration tests, with exact packet counts.

  send  --ifname IF --dst-mac MAC --src ADDR --dst ADDR --proto tcp|udp|icmp
        [--dport N] [--count N] [--vlan VID]... [--outer-tpid 0x88a8]
      Writes COUNT identical frames (TCP SYN, UDP datagram or ICMP/ICMPv6
      echo request) to IF through an AF_PACKET socket, optionally with one or
      two VLAN tags in the frame itself (the first --vlan is the outer tag).
      Prints the frame length in bytes.
  batch --ifname IF --dst-mac MAC [--end]
      Reads lines "SRC DST PROTO DPORT COUNT VLANS" from stdin (VLANS "-" or
      ids joined by ".", outer first) and sends each as `send` would, in
      order; prints one frame length per line. With --end, then waits 0.2 s
      and writes the end marker.
  end   --ifname IF --dst-mac MAC
      Writes one end-of-test marker frame (ethertype 0x88b5, non-IP: the
      filter passes it) that stops a running `sniff`.
  sniff --ifname IF [--seconds S] [--ready FILE]
      Counts the frames that reach IF's receive taps (after XDP: a frame the
      program drops is never seen) until the end marker arrives or S seconds
      (default 5) pass. Prints JSON {"SRC PROTO DPORT VLANS": count, ...,
      "_end": true|false}; VLANS is "-" or the tag ids outer first, joined by
      ".". Touches FILE once it listens.

Run it inside the namespace that owns IF (nsenter --net=...). Nothing here
loops without a bound: send writes COUNT frames (at most 100000), sniff stops
at the marker or after S seconds (at most 60).
"""
import argparse
import ipaddress
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_P_END = 0x88B5  # IEEE local experimental ethertype
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
PACKET_OUTGOING = 4
PROTOS = {"icmp": None, "tcp": 6, "udp": 17}
PROTO_NAMES = {1: "icmp", 58: "icmp", 6: "tcp", 17: "udp"}


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def if_mac(ifname):
    # Not /sys/class/net: under nsenter it shows the host's interfaces.
    s = raw_socket(ifname)
    try:
        return s.getsockname()[4]
    finally:
        s.close()


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def l4_segment(proto, sport, dport):
    payload = b"xdpgate-test"
    if proto == "tcp":
        # SYN, data offset 5 words, window 64240.
        return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02,
                           64240, 0, 0), 16
    if proto == "udp":
        return struct.pack("!HHHH", sport, dport, 8 + len(payload),
                           0) + payload, 6
    return None, None


def build_frame(args):
    src = ipaddress.ip_address(args.src)
    dst = ipaddress.ip_address(args.dst)
    if src.version != dst.version:
        sys.exit("source and destination families differ")
    payload = b"xdpgate-test"
    if args.proto == "icmp":
        icmp_type = 8 if src.version == 4 else 128
        l4 = struct.pack("!BBHHH", icmp_type, 0, 0, 0x4247, 1) + payload
        l4_proto = 1 if src.version == 4 else 58
        csum_offset = 2
    else:
        l4, csum_offset = l4_segment(args.proto, 40000, args.dport)
        l4_proto = PROTOS[args.proto]
    if src.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, l4_proto,
                                                       len(l4))
        if l4_proto == 1:
            pseudo = b""
        csum = checksum(pseudo + l4)
        l4 = l4[:csum_offset] + struct.pack("!H", csum) + l4[csum_offset + 2:]
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0x4247,
                             0, 64, l4_proto, 0, src.packed, dst.packed)
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        ethertype = ETH_P_IP
    else:
        pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(l4),
                                                       l4_proto)
        csum = checksum(pseudo + l4)
        l4 = l4[:csum_offset] + struct.pack("!H", csum) + l4[csum_offset + 2:]
        header = struct.pack("!IHBB16s16s", 6 << 28, len(l4), l4_proto, 64,
                             src.packed, dst.packed)
        ethertype = ETH_P_IPV6
    tags = b""
    for i, vid in enumerate(args.vlan or []):
        tpid = ETH_P_8021Q
        if i == 0 and len(args.vlan) > 1:
            tpid = int(args.outer_tpid, 0)
        tags += struct.pack("!HH", tpid, vid & 0xFFF)
    return (mac_bytes(args.dst_mac) + if_mac(args.ifname) + tags +
            struct.pack("!H", ethertype) + header + l4)


def raw_socket(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    return s


def send_frames(s, args):
    if not 1 <= args.count <= 100000:
        sys.exit("--count must be within 1..100000")
    frame = build_frame(args)
    for _ in range(args.count):
        s.send(frame)
        # A veth drops what its peer's ring (256 frames under XDP) cannot
        # take: pace the frames so that a burst never fills it.
        time.sleep(0.0002)
    return len(frame)


def cmd_send(args):
    print(send_frames(raw_socket(args.ifname), args))


def send_end(s, args):
    s.send(mac_bytes(args.dst_mac) + if_mac(args.ifname) +
           struct.pack("!H", ETH_P_END) + b"xdpgate-end".ljust(46, b"\0"))


def cmd_end(args):
    send_end(raw_socket(args.ifname), args)


def cmd_batch(args):
    s = raw_socket(args.ifname)
    for line in sys.stdin:
        if not line.strip():
            continue
        src, dst, proto, dport, count, vlans = line.split()
        if proto not in PROTOS:
            sys.exit(f"unknown protocol {proto}")
        spec = argparse.Namespace(
            ifname=args.ifname, dst_mac=args.dst_mac, src=src, dst=dst,
            proto=proto, dport=int(dport), count=int(count),
            vlan=None if vlans == "-" else [int(v) for v in vlans.split(".")],
            outer_tpid=args.outer_tpid)
        print(send_frames(s, spec), flush=True)
    if args.end:
        time.sleep(0.2)
        send_end(s, args)


def describe(frame, vlans):
    """(key or None, is_end) for one received frame."""
    if len(frame) < 14:
        return None, False
    ethertype = struct.unpack("!H", frame[12:14])[0]
    pos = 14
    while ethertype in (ETH_P_8021Q, ETH_P_8021AD) and len(frame) >= pos + 4:
        vlans.append(struct.unpack("!H", frame[pos:pos + 2])[0] & 0xFFF)
        ethertype = struct.unpack("!H", frame[pos + 2:pos + 4])[0]
        pos += 4
    if ethertype == ETH_P_END:
        return None, True
    if ethertype == ETH_P_IP and len(frame) >= pos + 20:
        ihl = (frame[pos] & 0xF) * 4
        proto = frame[pos + 9]
        src = str(ipaddress.ip_address(frame[pos + 12:pos + 16]))
        l4 = pos + ihl
    elif ethertype == ETH_P_IPV6 and len(frame) >= pos + 40:
        proto = frame[pos + 6]
        src = str(ipaddress.ip_address(frame[pos + 8:pos + 24]))
        l4 = pos + 40
    else:
        return None, False
    name = PROTO_NAMES.get(proto, str(proto))
    dport = 0
    if proto in (6, 17) and len(frame) >= l4 + 4:
        dport = struct.unpack("!H", frame[l4 + 2:l4 + 4])[0]
    tags = ".".join(str(v) for v in vlans) or "-"
    return f"{src} {name} {dport} {tags}", False


def cmd_sniff(args):
    deadline = time.monotonic() + min(args.seconds, 60.0)
    s = raw_socket(args.ifname)
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    if args.ready:
        open(args.ready, "w").close()
    counts = {}
    ended = False
    while not ended:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        frame, ancillary, _, address = s.recvmsg(65536, 4096)
        if address[2] == PACKET_OUTGOING:
            continue
        vlans = []
        # A tag the stack already took out of the frame comes as auxdata.
        for level, kind, data in ancillary:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and \
                    len(data) >= 20:
                status, _, _, _, _, tci = struct.unpack("=IIIHHH", data[:18])
                if status & TP_STATUS_VLAN_VALID:
                    vlans.append(tci & 0xFFF)
        key, ended = describe(frame, vlans)
        if key:
            counts[key] = counts.get(key, 0) + 1
    counts["_end"] = ended
    print(json.dumps(counts, sort_keys=True))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send")
    send.add_argument("--ifname", required=True)
    send.add_argument("--dst-mac", required=True)
    send.add_argument("--src", required=True)
    send.add_argument("--dst", required=True)
    send.add_argument("--proto", choices=sorted(PROTOS), required=True)
    send.add_argument("--dport", type=int, default=9)
    send.add_argument("--count", type=int, default=1)
    send.add_argument("--vlan", type=int, action="append")
    send.add_argument("--outer-tpid", default="0x88a8")
    batch = sub.add_parser("batch")
    batch.add_argument("--ifname", required=True)
    batch.add_argument("--dst-mac", required=True)
    batch.add_argument("--outer-tpid", default="0x88a8")
    batch.add_argument("--end", action="store_true")
    end = sub.add_parser("end")
    end.add_argument("--ifname", required=True)
    end.add_argument("--dst-mac", required=True)
    sniff = sub.add_parser("sniff")
    sniff.add_argument("--ifname", required=True)
    sniff.add_argument("--seconds", type=float, default=5.0)
    sniff.add_argument("--ready")
    args = parser.parse_args()
    {"send": cmd_send, "batch": cmd_batch, "end": cmd_end,
     "sniff": cmd_sniff}[args.command](args)


if __name__ == "__main__":
    main()
