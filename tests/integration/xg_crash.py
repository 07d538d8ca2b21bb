#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The bookkeeping of tests/integration/crash_test.sh: the lists it imports,
what the list may look like after a daemon was killed mid-change, and what
the kernel's allow-list maps hold.

  xg_crash.py gen DIR
      Writes DIR/base.csv (a few entries, the pinging senders among them),
      DIR/a.csv (100,000 entries: base plus new ones), DIR/b.csv (50,000:
      base, every fourth new entry of a.csv, and as many others) and
      DIR/small.csv (base plus 300 more).
  xg_crash.py classify BEFORE.json NOW.json [import|replace FILE.csv]
      BEFORE and NOW are lists as `xdpgate --json list --all` prints them.
      Prints "before" when NOW is BEFORE exactly (ids, timestamps and all),
      "after" when NOW is what the import (upsert) or replace of FILE makes
      of BEFORE (ranges, descriptions, enabled) and every entry that stayed
      kept its id and creation time; otherwise explains the mix and exits 1.
  xg_crash.py stream BEFORE.json OPS.log NOW.json
      OPS.log holds the single changes sent, one per line: "add RANGE DESC
      RC ID", "disable ID RANGE RC" or "delete ID RANGE RC" (RC: the CLI's
      exit status). NOW must hold every acknowledged change (RC 0), in order,
      plus the first unacknowledged one or not; exits 1 otherwise.
  xg_crash.py gen1m DIR SEED
      Writes DIR/c.csv (1,000,000 entries: base and others) and DIR/d.csv
      (1,000,000: base, a tenth of c's others and new ones), made from SEED,
      in ranges outside the test's networks.
  xg_crash.py after-kill BEFORE.json NOW.json import|replace FILE.csv PIN_DIR
      classify and kernel at once, NOW read once: prints "list: " and
      classify's answer, then "kernel: " and kernel's; exits 1 if either
      fails.
  xg_crash.py dump PIN_DIR
      Prints what the entry maps and host tables hold, sorted (for comparing the
      kernel before and after something that must not touch it).
  xg_crash.py record PIN_DIR v4|v6
      Prints the listed rows of a family's record as JSON [[slot, range]...]
      (the IPv4 record has a row for every entry slot, the IPv6 one free
      rows to grow into; bpftool would print them all).
  xg_crash.py kernel PIN_DIR NOW.json
      Reads the allow-list records and host tables with the bpf(2) system
      call (the pinned outer array-of-maps, then the inner map by id;
      batched lookups, as a million entries need) and checks the records
      hold exactly NOW's enabled ranges and the host tables exactly its
      enabled single addresses. Prints the counts; exits 1 on a difference.
"""
import csv
import ctypes
import errno
import io
import ipaddress
import json
import os
import random
import socket
import sys

BASE = [
    ("198.18.0.2", "pinger"),
    ("198.18.64.0/18", "base net"),
    ("198.18.200.0/24", "kept disabled"),
    ("2001:db8::2", "pinger6"),
    ("2001:db8:ff::/48", "base v6 net"),
]
LIST_SIZE = 100_000
B_SIZE = 50_000


def v4(n):
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


V4_LIST_SPACE = 198 << 24 | 19 << 16  # 198.19.0.0/16: every generated IPv4 range
SHAPES = ("v4 host", "v6 host", "v6 net", "v4 host", "v6 host", "v6 net", "v4 net", "v6 net")


def v6_tail(n):
    """"::n" as RFC 5952 writes it ("::" for 0)."""
    return f"::{n:x}" if n else "::"


def generated(kind, count):
    """Distinct ranges of all four shapes (IPv4/IPv6, host/network), none
    equal to a base entry, a stream entry or one of the other kind, none
    covering the unlisted sender, written canonically (as the daemon shows
    them). IPv4 ones lie in 198.19.0.0/16 (networks may cover hosts)."""
    out = []
    seen = {}
    for i in range(count):
        shape = SHAPES[i % len(SHAPES)]
        n = seen.get(shape, 0)
        seen[shape] = n + 1
        if shape == "v4 host":  # a: 198.19.0.0/17, b: 198.19.128.0/17
            out.append(v4(V4_LIST_SPACE + (0 if kind == "a" else 32768) + n))
        elif shape == "v6 host":
            out.append(f"2001:db8:{kind}1{v6_tail(n)}")
        elif shape == "v6 net":
            out.append(f"2001:db8:{kind}2:{n:x}::/64" if n else f"2001:db8:{kind}2::/64")
        else:  # a: /30s, b: /29s
            length = 30 if kind == "a" else 29
            assert n < 1 << (length - 16), "too many IPv4 networks"
            out.append(f"{v4(V4_LIST_SPACE + (n << (32 - length)))}/{length}")
    return out


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["ip_address", "description"])
        for r in rows:
            w.writerow(r)


def cmd_gen(d):
    new_a = generated("a", LIST_SIZE - len(BASE))
    write_csv(f"{d}/base.csv", BASE)
    rows_a = BASE + [(r, f"a {i}" if i % 3 else "") for i, r in enumerate(new_a)]
    write_csv(f"{d}/a.csv", rows_a)
    # b: a different list of 50,000: every fourth new entry of a stays (some
    # with a new description), as many new ones come in, the rest of a goes.
    kept = [(r, f"b {i}" if i % 10 == 0 else (f"a {i}" if i % 3 else ""))
            for i, r in enumerate(new_a) if i % 4 == 0]
    new_b = generated("b", B_SIZE - len(BASE) - len(kept))
    rows_b = BASE + kept + [(r, f"new b {i}") for i, r in enumerate(new_b)]
    write_csv(f"{d}/b.csv", rows_b)
    write_csv(f"{d}/small.csv", BASE + [(r, "small") for r in generated("b", 300)])
    for name, rows, size in (("a", rows_a, LIST_SIZE), ("b", rows_b, B_SIZE)):
        assert len(rows) == size, (name, len(rows))
        assert len({r for r, _ in rows}) == size, name
        for r, _ in rows[::97]:
            assert shown(ipaddress.ip_network(r)) == r, r


MILLION = 1_000_000


def v6_host(prefix, n):
    """prefix::n (prefix: the first three groups), as RFC 5952 writes it."""
    hi, lo = n >> 16, n & 0xFFFF
    if hi:
        return f"{prefix}::{hi:x}:{lo:x}"
    return f"{prefix}{v6_tail(lo)}"


def v6_net64(group2, n):
    """2001:db8:G:Y::/64, G = group2 + n // 65536, Y = n % 65536."""
    g, y = group2 + (n >> 16), n & 0xFFFF
    return f"2001:db8:{g:x}:{y:x}::/64" if y else f"2001:db8:{g:x}::/64"


def generated_1m(kind, count, offset):
    """Like generated(), for lists of a million: IPv4 hosts in 10.0.0.0/9
    (kind c) or 10.128.0.0/9 (d), IPv4 /30s in 100.64.0.0/11 (c) or /29s in
    100.96.0.0/11 (d), IPv6 hosts in 2001:db8:c1::/48 or 2001:db8:d1::/48,
    IPv6 /64s in 2001:db8:c200::/40 or 2001:db8:d200::/40. Nothing covers a
    test host (these live only in the daemon and the maps). OFFSET (from the
    seed, < 2**16) shifts every numbering."""
    hosts4 = (10 << 24) + (0 if kind == "c" else 1 << 23) + offset
    nets4, length = ((100 << 24 | 64 << 16), 30) if kind == "c" else ((100 << 24 | 96 << 16), 29)
    hosts6 = f"2001:db8:{kind}1"
    nets6 = 0xC200 if kind == "c" else 0xD200
    out = []
    append = out.append
    seen = dict.fromkeys(SHAPES, 0)
    for i in range(count):
        shape = SHAPES[i % len(SHAPES)]
        n = seen[shape]
        seen[shape] = n + 1
        if shape == "v4 host":
            append(v4(hosts4 + n))
        elif shape == "v6 host":
            append(v6_host(hosts6, n + offset))
        elif shape == "v6 net":
            append(v6_net64(nets6, n + offset))
        else:
            n += offset
            assert n < 1 << (length - 11), "too many IPv4 networks"
            append(f"{v4(nets4 + (n << (32 - length)))}/{length}")
    return out


def write_lines(path, lines):
    with open(path, "w") as f:
        f.write("ip_address,description\n")
        f.write("\n".join(lines))
        f.write("\n")


def cmd_gen1m(d, seed):
    """c.csv: BASE and 999,995 more; d.csv: BASE, one in ten of c's others
    (some with a new description) and new ones, a million in all."""
    rng = random.Random(int(seed))
    new_c = generated_1m("c", MILLION - len(BASE), rng.randrange(1 << 12))
    base = [f"{r},{desc}" for r, desc in BASE]
    write_lines(f"{d}/c.csv", base + [f"{r},c {i}" if i % 3 else f"{r}," for i, r in enumerate(new_c)])
    phase = rng.randrange(10)
    kept = [f"{r},d {i}" if i % 7 == 0 else (f"{r},c {i}" if i % 3 else f"{r},")
            for i, r in enumerate(new_c) if i % 10 == phase]
    new_d = generated_1m("d", MILLION - len(BASE) - len(kept), rng.randrange(1 << 12))
    write_lines(f"{d}/d.csv", base + kept + [f"{r},new d {i}" for i, r in enumerate(new_d)])
    for name in ("c", "d"):
        rows = read_csv(f"{d}/{name}.csv")
        assert len(rows) == MILLION, (name, len(rows))
        assert len({r for r, _ in rows}) == MILLION, name
        for r, _ in rows[::997]:
            assert shown(ipaddress.ip_network(r)) == r, r
        assert not any(ipaddress.ip_network(r).overlaps(ipaddress.ip_network("198.18.0.0/15"))
                       for r, _ in rows[len(BASE)::991]), name


def shown(net):
    """A range as the daemon shows it: a single address without a length."""
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["ip_address", "description"], rows[0]
    return [(r[0], r[1] or None) for r in rows[1:]]


def load_list(path):
    """{range: item} from `xdpgate --json list --all` (the daemon writes
    ranges canonically, as the generated files do)."""
    with open(path) as f:
        text = f.read()
    items = json.loads(text)["items"] if text else []
    del text
    out = {it["ip_range"]: it for it in items}
    if len(out) != len(items):
        seen = set()
        for it in items:
            if it["ip_range"] in seen:
                raise SystemExit(f"{path}: {it['ip_range']} listed twice")
            seen.add(it["ip_range"])
    for it in items:  # what traffic changes (the only fields no check uses)
        it.pop("hits", None)
        it.pop("last_hit_at", None)
    return out


def content(listing):
    return {net: (it.get("description"), it["enabled"]) for net, it in listing.items()}


def expected_after(kind, before, csv_path):
    """The content the import (upsert) or replace of CSV makes of BEFORE's."""
    rows = read_csv(csv_path)
    if kind == "import":
        after = dict(before)
        for net, desc in rows:
            after[net] = (desc, before.get(net, (None, True))[1])
        return after
    return {net: (desc, before.get(net, (None, True))[1]) for net, desc in rows}


def describe_difference(want, got, limit=5):
    missing = [n for n in want if n not in got]
    extra = [n for n in got if n not in want]
    changed = [n for n in want if n in got and want[n] != got[n]]
    parts = [f"{len(missing)} missing", f"{len(extra)} unexpected", f"{len(changed)} changed"]
    for name, nets in (("missing", missing), ("unexpected", extra), ("changed", changed)):
        for n in nets[:limit]:
            parts.append(f"{name} {n}: want {want.get(n)} got {got.get(n)}")
    return "; ".join(parts)


def cmd_classify(before_path, now_path, kind=None, csv_path=None):
    rc, text = classify(load_list(before_path), load_list(now_path), kind, csv_path)
    print(text)
    return rc


def classify(before, now, kind=None, csv_path=None):
    """(0, "before" or "after"), or (1, what is wrong)."""
    if now == before:  # every field (but hits: load_list drops them)
        return 0, "before"
    got, was = content(now), content(before)
    if kind is None:
        return 1, "changed: " + describe_difference(was, got)
    after = expected_after(kind, was, csv_path)
    if got == after:
        moved = [n for n in now if n in before and
                 (now[n]["id"], now[n]["created_at"]) !=
                 (before[n]["id"], before[n]["created_at"])]
        if moved:
            return 1, (f"after, but {len(moved)} entries that stayed changed id "
                       f"or created_at: {moved[:5]}")
        return 0, "after"
    return 1, ("neither before nor after; against before: " +
               describe_difference(was, got) + " | against after: " +
               describe_difference(after, got))


def cmd_stream(before_path, ops_path, now_path):
    model = content(load_list(before_path))
    ids = {}  # network -> id the CLI reported
    for net, it in load_list(before_path).items():
        ids[net] = it["id"]
    doubt = None
    with open(ops_path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            op = w[0]
            if op == "add":
                net, desc, rc = w[1], w[2], w[3]
                change = ("add", net, desc, w[4] if len(w) > 4 else None)
            else:
                rc = w[3]
                change = (op, w[2], None, w[1])
            if rc != "0":
                doubt = change
                break
            apply_change(model, ids, change)
    now = load_list(now_path)
    got = content(now)
    acked_ids_ok = all(now[n]["id"] == i for n, i in ids.items() if n in now)
    if got == model and acked_ids_ok:
        print("acknowledged changes all present, the unacknowledged one absent")
        return 0
    if doubt is not None:
        alt = dict(model)
        apply_change(alt, {}, doubt)
        if got == alt and acked_ids_ok:
            print("acknowledged changes all present, the unacknowledged one applied")
            return 0
    print("acknowledged changes not kept: " + describe_difference(model, got) +
          ("" if acked_ids_ok else "; ids differ"))
    return 1


def apply_change(model, ids, change):
    op, net, desc, ident = change
    if op == "add":
        model[net] = (desc, True)
        if ident:
            ids[net] = ident
    elif op == "disable":
        model[net] = (model[net][0], False)
    elif op == "delete":
        del model[net]
        ids.pop(net, None)


# The bpf(2) system call, through ctypes: a million keys come out of a map in
# a few batched calls (bpftool makes two calls per key and prints each one,
# which takes half a minute at a million entries here).
BPF_MAP_LOOKUP_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_OBJ_GET = 1, 4, 7
BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD, BPF_MAP_LOOKUP_BATCH = 14, 15, 24
SYS_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
_libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd, attr):
    """bpf(cmd, attr) -> its result, or -errno."""
    rc = _libc.syscall(SYS_BPF, ctypes.c_int(cmd), ctypes.byref(attr),
                       ctypes.c_uint(ctypes.sizeof(attr)))
    return rc if rc >= 0 else -ctypes.get_errno()


def bpf_ok(cmd, attr, what):
    rc = bpf(cmd, attr)
    if rc < 0:
        raise OSError(-rc, f"bpf: {what}: {os.strerror(-rc)}")
    return rc


def attr(*fields):
    """A bpf_attr of the given (name, ctypes type) fields, zeroed, padded to
    the size the kernel accepts for any command."""
    class Attr(ctypes.Structure):
        _fields_ = list(fields)
    class Padded(ctypes.Union):
        _fields_ = [("a", Attr), ("pad", ctypes.c_char * 144)]
    return Padded()


def map_fd_pinned(path):
    a = attr(("pathname", ctypes.c_uint64), ("bpf_fd", ctypes.c_uint32),
             ("file_flags", ctypes.c_uint32))
    name = ctypes.create_string_buffer(path.encode())
    a.a.pathname = ctypes.addressof(name)
    return bpf_ok(BPF_OBJ_GET, a, path)


def map_fd_by_id(map_id):
    a = attr(("map_id", ctypes.c_uint32))
    a.a.map_id = map_id
    return bpf_ok(BPF_MAP_GET_FD_BY_ID, a, f"map id {map_id}")


def map_sizes(fd):
    """(key_size, value_size, max_entries) of a map."""
    info = (ctypes.c_uint32 * 32)()
    a = attr(("bpf_fd", ctypes.c_uint32), ("info_len", ctypes.c_uint32),
             ("info", ctypes.c_uint64))
    a.a.bpf_fd, a.a.info_len = fd, ctypes.sizeof(info)
    a.a.info = ctypes.addressof(info)
    bpf_ok(BPF_OBJ_GET_INFO_BY_FD, a, "map info")
    return info[2], info[3], info[4]


def map_items(fd):
    """Every (key, value) of a map, as bytes: batched lookups where the map
    has them (arrays, hash tables; tries since Linux 5.15), else one
    get-next-key and one lookup per key."""
    key_size, value_size, max_entries = map_sizes(fd)
    chunk = 65536
    keys = ctypes.create_string_buffer(chunk * key_size)
    values = ctypes.create_string_buffer(chunk * value_size)
    cursor = [ctypes.create_string_buffer(max(key_size, 8)) for _ in range(2)]
    a = attr(("in_batch", ctypes.c_uint64), ("out_batch", ctypes.c_uint64),
             ("keys", ctypes.c_uint64), ("values", ctypes.c_uint64),
             ("count", ctypes.c_uint32), ("map_fd", ctypes.c_uint32),
             ("elem_flags", ctypes.c_uint64), ("flags", ctypes.c_uint64))
    a.a.keys, a.a.values, a.a.map_fd = ctypes.addressof(keys), ctypes.addressof(values), fd
    out = []
    first = True
    while True:
        a.a.in_batch = 0 if first else ctypes.addressof(cursor[0])
        a.a.out_batch = ctypes.addressof(cursor[1])
        a.a.count = chunk
        rc = bpf(BPF_MAP_LOOKUP_BATCH, a)
        if rc < 0 and rc not in (-errno.ENOENT,):
            if first and rc in (-errno.EINVAL, -errno.ENOTSUP, -524):
                return map_items_one_by_one(fd, key_size, value_size)
            raise OSError(-rc, f"bpf: map lookup batch: {os.strerror(-rc)}")
        raw_keys = keys.raw[:a.a.count * key_size]
        raw_values = values.raw[:a.a.count * value_size]
        out.extend((raw_keys[i * key_size:(i + 1) * key_size],
                    raw_values[i * value_size:(i + 1) * value_size])
                   for i in range(a.a.count))
        if rc < 0:  # ENOENT: that was the last of them
            break
        first = False
        ctypes.memmove(cursor[0], cursor[1], max(key_size, 8))
        if len(out) > 4 * max_entries:
            raise SystemExit("map_items: the batch cursor does not move")
    return out


def map_items_one_by_one(fd, key_size, value_size):
    key, nxt = (ctypes.create_string_buffer(key_size) for _ in range(2))
    value = ctypes.create_string_buffer(value_size)
    a = attr(("map_fd", ctypes.c_uint32), ("pad", ctypes.c_uint32),
             ("key", ctypes.c_uint64), ("next_key", ctypes.c_uint64))
    a.a.map_fd, a.a.next_key = fd, ctypes.addressof(nxt)
    get = attr(("map_fd", ctypes.c_uint32), ("pad", ctypes.c_uint32),
               ("key", ctypes.c_uint64), ("value", ctypes.c_uint64),
               ("flags", ctypes.c_uint64))
    get.a.map_fd, get.a.key, get.a.value = fd, ctypes.addressof(key), ctypes.addressof(value)
    out = []
    a.a.key = 0
    while bpf(BPF_MAP_GET_NEXT_KEY, a) == 0:
        ctypes.memmove(key, nxt, key_size)
        a.a.key = ctypes.addressof(key)
        if bpf(BPF_MAP_LOOKUP_ELEM, get) == 0:
            out.append((key.raw, value.raw))
    return out


def inner_map_id(pin):
    """The id of the table in slot 0 of a pinned array of maps (None when
    the slot is empty)."""
    fd = map_fd_pinned(pin)
    try:
        key = ctypes.c_uint32(0)
        value = ctypes.c_uint32(0)
        a = attr(("map_fd", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                 ("key", ctypes.c_uint64), ("value", ctypes.c_uint64),
                 ("flags", ctypes.c_uint64))
        a.a.map_fd, a.a.key, a.a.value = fd, ctypes.addressof(key), ctypes.addressof(value)
        rc = bpf(BPF_MAP_LOOKUP_ELEM, a)
        if rc == -errno.ENOENT:
            return None
        if rc < 0:
            raise OSError(-rc, f"bpf: lookup in {pin}: {os.strerror(-rc)}")
        return value.value
    finally:
        os.close(fd)


def items_of_map(map_id):
    fd = map_fd_by_id(map_id)
    try:
        return map_items(fd)
    finally:
        os.close(fd)


def shown_range(family, addr, plen, size):
    text = socket.inet_ntop(family, addr)
    return text if plen == 8 * size else f"{text}/{plen}"


def record_rows(map_id, family, size):
    """(slot, range) of each listed row of a record (include/xdpgate/abi.h):
    IPv4's is keyed by slot, its value the address, the length and 1 for
    listed; IPv6's value is the address, the slot, the length and listed."""
    out = []
    for k, v in items_of_map(map_id) if map_id else []:
        if family == socket.AF_INET and v[5]:
            out.append((int.from_bytes(k, "little"),
                        shown_range(family, v[:4], v[4], size)))
        elif family == socket.AF_INET6 and v[21]:
            out.append((int.from_bytes(v[16:20], "little"),
                        shown_range(family, v[:16], v[20], size)))
    return out


def entry_ranges(map_id, family, size):
    """The ranges a record holds."""
    return {r for _, r in record_rows(map_id, family, size)}


def kernel_sets(pin_dir):
    """The ranges in the entry maps and in the host tables, as the daemon
    writes them."""
    entries, hosts = set(), set()
    for fam, family, size in (("v4", socket.AF_INET, 4), ("v6", socket.AF_INET6, 16)):
        entries |= entry_ranges(inner_map_id(f"{pin_dir}/allow_{fam}"), family, size)
        hosts_id = inner_map_id(f"{pin_dir}/allow_{fam}_hosts")
        for k, _ in items_of_map(hosts_id) if hosts_id else []:
            hosts.add(socket.inet_ntop(family, k[:size]))
    return entries, hosts


def is_single(text):
    return "/" not in text


def sort_key(text):
    net = ipaddress.ip_network(text)
    return net.version, net


def cmd_dump(pin_dir):
    entries, hosts = kernel_sets(pin_dir)
    for name, nets in (("entries", entries), ("host tables", hosts)):
        print(f"{name} {len(nets)}: {' '.join(sorted(nets, key=sort_key))}")


def cmd_record(pin_dir, fam):
    """The listed rows of a family's record, as JSON [[slot, range], ...]."""
    family, size = (socket.AF_INET, 4) if fam == "v4" else (socket.AF_INET6, 16)
    rows = record_rows(inner_map_id(f"{pin_dir}/allow_{fam}"), family, size)
    print(json.dumps(sorted([list(r) for r in rows]), separators=(",", ":")))


def cmd_kernel(pin_dir, now_path):
    rc, text = kernel_check(pin_dir, load_list(now_path))
    print(text)
    return rc


def kernel_check(pin_dir, now):
    """(0 or 1, the counts and, on a difference, what differs)."""
    enabled = {n for n, it in now.items() if it["enabled"]}
    single = {n for n in enabled if is_single(n)}
    entries, hosts = kernel_sets(pin_dir)
    lines = [f"entries {len(entries)} (store: {len(enabled)} enabled), "
             f"host tables {len(hosts)} (store: {len(single)} single addresses)"]
    for name, want, got in (("entries", enabled, entries), ("host tables", single, hosts)):
        if want != got:
            lost, extra = sorted(want - got), sorted(got - want)
            lines.append(f"{name} differ from the store: {len(lost)} missing "
                         f"{lost[:5]}, {len(extra)} extra {extra[:5]}")
    return (0 if len(lines) == 1 else 1), "\n".join(lines)


def cmd_after_kill(before_path, now_path, kind, csv_path, pin_dir):
    """classify and kernel at once, reading NOW once (a million entries take
    seconds to read): prints classify's line, then kernel's lines, each
    prefixed "list: " and "kernel: "; exits 1 if either fails."""
    now = load_list(now_path)
    rc1, text = classify(load_list(before_path), now, kind, csv_path)
    print("list: " + text)
    rc2, text = kernel_check(pin_dir, now)
    print("kernel: " + text.replace("\n", "\nkernel: "))
    return rc1 or rc2


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "gen":
        return cmd_gen(*args)
    if cmd == "gen1m":
        return cmd_gen1m(*args)
    if cmd == "classify":
        return cmd_classify(*args)
    if cmd == "stream":
        return cmd_stream(*args)
    if cmd == "dump":
        return cmd_dump(*args)
    if cmd == "record":
        return cmd_record(*args)
    if cmd == "after-kill":
        return cmd_after_kill(*args)
    if cmd == "kernel":
        return cmd_kernel(*args)
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main(sys.argv) or 0)
