#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Abusive clients of the xdpgate API socket, for socket_abuse_test.sh.

Standard library only. Every subcommand prints one JSON object on stdout.

  probe --socket S --stop FILE [--max-seconds N] [--interval S] [--timeout S]
      A normal client: GET .../status on a fresh connection, again and
      again, until FILE exists. Reports each request's latency (median and
      max, in ms) and how many failed (no 200 with a JSON body within the
      timeout, default 5 s).
  concurrent --socket S --clients N
      Opens N connections first, then sends one request on each and reads
      every answer. Counts correct answers (200, JSON), clean refusals (the
      connection closed with nothing sent back) and anything else (wrong).
  slow --socket S --clients N --seconds T
      N clients start a request and then send one more header byte per
      second, for T seconds; then they all close.
  disconnect --socket S --clients N
      N clients (in waves) that go away part way: right after connecting,
      in the request line, in the headers, in the body, and after a whole
      request without reading the answer.
  routes --socket S --id ID --expect none|read
      One request per route of docs/API.md, each on its own connection.
      none: every answer must be 403 forbidden. read: reads must not be
      403 and every write must be 403 forbidden. Lists each mismatch.
  per-user --socket S --clients N
      Opens N connections first, then sends one request on each: counts
      answers and unanswered closes (the per-user connection limit).
"""
import argparse
import json
import os
import resource
import selectors
import socket
import statistics
import sys
import time

LIST = "/api/admin/ip-allowlist"
STATUS_REQUEST = (f"GET {LIST}/status HTTP/1.1\r\nHost: xdpgate\r\n"
                  "Connection: close\r\n\r\n").encode()


def connect(path, timeout=3.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def parse_answer(data):
    """(status, json body or None) of one HTTP response, or (0, None)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.1 "):
        return 0, None
    try:
        status = int(head[9:12])
    except ValueError:
        return 0, None
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None or len(body) < length:
        return 0, None
    try:
        return status, json.loads(body[:length])
    except ValueError:
        return status, None


def read_all(s, deadline):
    """Everything until the server closes, or None past the deadline."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return None
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(path, request, timeout=3.0):
    """(status, body) of one request on a fresh connection; (0, None) on
    any failure, including no answer within `timeout`."""
    deadline = time.monotonic() + timeout
    try:
        with connect(path, timeout) as s:
            s.sendall(request)
            data = read_all(s, deadline)
    except OSError:
        return 0, None
    if data is None:
        return 0, None
    return parse_answer(data)


def summary(values_ms):
    if not values_ms:
        return {"count": 0, "median_ms": None, "max_ms": None}
    return {"count": len(values_ms),
            "median_ms": round(statistics.median(values_ms), 2),
            "max_ms": round(max(values_ms), 2)}


def cmd_probe(args):
    latencies, failures = [], 0
    end = time.monotonic() + args.max_seconds
    while not os.path.exists(args.stop) and time.monotonic() < end:
        start = time.monotonic()
        status, body = exchange(args.socket, STATUS_REQUEST,
                                timeout=args.timeout)
        took = (time.monotonic() - start) * 1000
        if status == 200 and isinstance(body, dict) and "mode" in body:
            latencies.append(took)
        else:
            failures += 1
        time.sleep(args.interval)
    out = summary(latencies)
    out["failures"] = failures
    return out


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def open_all(path, count):
    """`count` connected sockets (blocking connect: a full listen backlog
    makes it wait, not fail); connections the server refused at once are
    None."""
    sockets = []
    for _ in range(count):
        try:
            sockets.append(connect(path, timeout=10.0))
        except OSError:
            sockets.append(None)
    return sockets


def send_and_collect(sockets, request, seconds):
    """Sends `request` on every socket, then reads every answer until the
    server closes each. Returns (answers, refused, wrong, unfinished)."""
    sel = selectors.DefaultSelector()
    buffers = {}
    refused = 0
    for s in sockets:
        if s is None:
            refused += 1
            continue
        try:
            s.settimeout(3.0)
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused: the answer, if any, is read below
        s.setblocking(False)
        buffers[s] = bytearray()
        sel.register(s, selectors.EVENT_READ)
    answers, wrong = 0, 0
    deadline = time.monotonic() + seconds
    while buffers and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if chunk:
                buffers[s] += chunk
                continue
            data = bytes(buffers.pop(s))
            sel.unregister(s)
            s.close()
            if not data:
                refused += 1
                continue
            status, body = parse_answer(data)
            if status == 200 and isinstance(body, dict):
                answers += 1
            else:
                wrong += 1
    unfinished = len(buffers)
    for s in list(buffers):
        s.close()
    return answers, refused, wrong, unfinished


def cmd_concurrent(args):
    raise_fd_limit(args.clients + 64)
    start = time.monotonic()
    sockets = open_all(args.socket, args.clients)
    opened = time.monotonic()
    answers, refused, wrong, unfinished = send_and_collect(
        sockets, STATUS_REQUEST, seconds=60)
    return {"clients": args.clients, "answered": answers,
            "refused": refused, "wrong": wrong, "unfinished": unfinished,
            "open_s": round(opened - start, 2),
            "total_s": round(time.monotonic() - start, 2)}


def cmd_per_user(args):
    sockets = open_all(args.socket, args.clients)
    time.sleep(0.5)  # the server seats or closes each one meanwhile
    answers, refused, wrong, unfinished = send_and_collect(
        sockets, STATUS_REQUEST, seconds=20)
    return {"clients": args.clients, "answered": answers,
            "refused": refused, "wrong": wrong, "unfinished": unfinished}


def cmd_slow(args):
    sockets = []
    for _ in range(args.clients):
        s = connect(args.socket)
        s.sendall(f"GET {LIST}/status HTTP/1.1\r\nX-Slow: ".encode())
        s.setblocking(False)
        sockets.append(s)
    sent, cut = 0, 0
    for _ in range(int(args.seconds)):
        time.sleep(1)
        for i, s in enumerate(sockets):
            if s is None:
                continue
            try:
                s.send(b"a")
                sent += 1
            except OSError:
                sockets[i] = None
                cut += 1
    for s in sockets:
        if s is not None:
            s.close()
    return {"clients": args.clients, "bytes_sent": sent, "cut_off": cut}


def cmd_disconnect(args):
    # A write that must never apply, as it never arrives whole; and a whole
    # read whose answer is never read.
    body = b'{"ip_range": "198.18.99.0/24", "description": "' + \
        b"x" * 200 + b'"}'
    write = (f"POST {LIST} HTTP/1.1\r\nHost: x\r\nContent-Type: "
             f"application/json\r\nContent-Length: {len(body)}\r\n\r\n"
             ).encode() + body
    read = (f"POST {LIST}/check HTTP/1.1\r\nHost: x\r\nContent-Type: "
            "application/json\r\nContent-Length: 29\r\n\r\n"
            '{"ip_address": "198.18.0.99"}').encode()
    # Each kind sends this much and closes.
    kinds = {
        "at_once": b"",
        "request_line": write[:12],
        "headers": write[:write.index(b"Content-Type") + 5],
        "body": write[:len(write) - len(body) // 2],
        "unread_answer": read,
    }
    counts = {k: 0 for k in kinds}
    errors = 0
    names = list(kinds)
    wave = 50
    for start in range(0, args.clients, wave):
        batch = []
        for i in range(start, min(start + wave, args.clients)):
            kind = names[i % len(names)]
            try:
                s = connect(args.socket)
                if kinds[kind]:
                    s.sendall(kinds[kind])
                batch.append(s)
                counts[kind] += 1
            except OSError:
                errors += 1
        time.sleep(0.05)  # let some answers be written to a closing peer
        for s in batch:
            s.close()
    return {"clients": args.clients, "kinds": counts, "connect_errors": errors}


def routes(entry_id):
    """(name, method, path, body, content type, is_write) per route."""
    one = f"{LIST}/{entry_id}"
    j = "application/json"
    return [
        ("list", "GET", LIST, b"", None, False),
        ("get", "GET", one, b"", None, False),
        ("check", "POST", f"{LIST}/check", b'{"ip_address":"198.18.0.9"}', j,
         False),
        ("export", "GET", f"{LIST}/export", b"", None, False),
        ("status", "GET", f"{LIST}/status", b"", None, False),
        ("audit", "GET", f"{LIST}/audit", b"", None, False),
        ("denied", "GET", f"{LIST}/denied", b"", None, False),
        ("metrics", "GET", "/metrics", b"", None, False),
        ("add", "POST", LIST, b'{"ip_range":"198.18.77.0/24"}', j, True),
        ("replace", "PUT", LIST, b'[{"ip_range":"198.18.77.0/24"}]', j, True),
        ("update", "PATCH", one, b'{"description":"x"}', j, True),
        ("delete", "DELETE", one, b"", None, True),
        ("delete all", "DELETE", LIST, b"", None, True),
        ("enable", "POST", f"{one}/enable", b"", None, True),
        ("disable", "POST", f"{one}/disable", b"", None, True),
        ("import", "POST", f"{LIST}/import",
         b"ip_address,description\n198.18.77.0/24,x\n", "text/csv", True),
        ("activate", "POST", f"{LIST}/activate", b'{"mode":"monitor"}', j,
         True),
        ("deactivate", "POST", f"{LIST}/deactivate", b"", None, True),
        ("confirm", "POST", f"{LIST}/confirm", b"", None, True),
    ]


def cmd_routes(args):
    mismatches, answered = [], {}
    for name, method, path, body, ctype, is_write in routes(args.id):
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        status, reply = exchange(args.socket, head.encode() + b"\r\n" + body)
        code = None
        if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
            code = reply["error"].get("code")
        answered[name] = status
        forbidden = status == 403 and code == "forbidden"
        must_forbid = args.expect == "none" or is_write
        if must_forbid and not forbidden:
            mismatches.append(f"{method} {path}: {status} {code}, "
                              "expected 403 forbidden")
        if not must_forbid and (status == 403 or status == 0):
            mismatches.append(f"{method} {path}: {status} {code}, "
                              "expected an answer other than 403")
    return {"routes": len(answered), "statuses": answered,
            "mismatches": mismatches}


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--stop", required=True)
    p.add_argument("--max-seconds", type=float, default=60)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--timeout", type=float, default=5.0)
    p = sub.add_parser("concurrent")
    p.add_argument("--clients", type=int, default=1000)
    p = sub.add_parser("slow")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=6)
    p = sub.add_parser("disconnect")
    p.add_argument("--clients", type=int, default=300)
    p = sub.add_parser("routes")
    p.add_argument("--id", required=True)
    p.add_argument("--expect", choices=["none", "read"], required=True)
    p = sub.add_parser("per-user")
    p.add_argument("--clients", type=int, default=40)
    for p in sub.choices.values():
        p.add_argument("--socket", required=True)
    args = parser.parse_args()
    out = globals()["cmd_" + args.command.replace("-", "_")](args)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
