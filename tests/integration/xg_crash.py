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
  xg_crash.py dump PIN_DIR
      Prints what the tries and host tables hold, sorted (for comparing the
      kernel before and after something that must not touch it).
  xg_crash.py kernel PIN_DIR NOW.json
      Reads the allow-list tries and host tables through bpftool (the pinned
      outer array-of-maps, then the inner map by id) and checks the tries
      hold exactly NOW's enabled ranges and the host tables exactly its
      enabled single addresses. Prints the counts; exits 1 on a difference.
"""
import csv
import io
import ipaddress
import json
import socket
import subprocess
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
    out = {}
    for it in items:
        net = it["ip_range"]
        if net in out:
            raise SystemExit(f"{path}: {it['ip_range']} listed twice")
        out[net] = it
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


def stable_fields(it):
    return {k: v for k, v in it.items() if k not in ("hits", "last_hit_at")}


def cmd_classify(before_path, now_path, kind=None, csv_path=None):
    before = load_list(before_path)
    now = load_list(now_path)
    if {n: stable_fields(i) for n, i in now.items()} == \
            {n: stable_fields(i) for n, i in before.items()}:
        print("before")
        return 0
    got = content(now)
    if kind is None:
        print("changed: " + describe_difference(content(before), got))
        return 1
    after = expected_after(kind, content(before), csv_path)
    if got == after:
        moved = [n for n in now if n in before and
                 (now[n]["id"], now[n]["created_at"]) !=
                 (before[n]["id"], before[n]["created_at"])]
        if moved:
            print(f"after, but {len(moved)} entries that stayed changed id or "
                  f"created_at: {moved[:5]}")
            return 1
        print("after")
        return 0
    print("neither before nor after; against before: " +
          describe_difference(content(before), got) + " | against after: " +
          describe_difference(after, got))
    return 1


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


def bpftool_keys(*where):
    """The keys of a map, as bytes, from bpftool's plain dump ("key: 20 00
    ...  value: ..."; wide keys wrap onto the next lines)."""
    out = subprocess.run(["bpftool", "map", "dump", *where], check=True,
                         capture_output=True, text=True).stdout
    keys = []
    for record in out.split("key:")[1:]:
        hexes = record.split("value:")[0].split()
        keys.append(bytes.fromhex("".join(hexes)))
    return keys


def inner_map_id(pin):
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", pin],
                         check=True, capture_output=True, text=True).stdout
    outer = json.loads(out)
    if not outer:
        return None
    value = bytes(int(b, 16) for b in outer[0]["value"])
    return int.from_bytes(value[:4], "little")


def kernel_sets(pin_dir):
    """The ranges in the tries and in the host tables, as the daemon
    writes them."""
    tries, hosts = set(), set()
    for fam, family, size in (("v4", socket.AF_INET, 4), ("v6", socket.AF_INET6, 16)):
        trie_id = inner_map_id(f"{pin_dir}/allow_{fam}")
        for k in bpftool_keys("id", str(trie_id)) if trie_id else []:
            plen = int.from_bytes(k[:4], "little")
            addr = socket.inet_ntop(family, k[4:4 + size])
            tries.add(addr if plen == 8 * size else f"{addr}/{plen}")
        hosts_id = inner_map_id(f"{pin_dir}/allow_{fam}_hosts")
        for k in bpftool_keys("id", str(hosts_id)) if hosts_id else []:
            hosts.add(socket.inet_ntop(family, k[:size]))
    return tries, hosts


def is_single(text):
    return "/" not in text


def sort_key(text):
    net = ipaddress.ip_network(text)
    return net.version, net


def cmd_dump(pin_dir):
    tries, hosts = kernel_sets(pin_dir)
    for name, nets in (("tries", tries), ("host tables", hosts)):
        print(f"{name} {len(nets)}: {' '.join(sorted(nets, key=sort_key))}")


def cmd_kernel(pin_dir, now_path):
    enabled = {n for n, (_, on) in content(load_list(now_path)).items() if on}
    single = {n for n in enabled if is_single(n)}
    tries, hosts = kernel_sets(pin_dir)
    print(f"tries {len(tries)} (store: {len(enabled)} enabled), "
          f"host tables {len(hosts)} (store: {len(single)} single addresses)")
    ok = True
    for name, want, got in (("tries", enabled, tries), ("host tables", single, hosts)):
        if want != got:
            ok = False
            lost, extra = sorted(want - got), sorted(got - want)
            print(f"{name} differ from the store: {len(lost)} missing "
                  f"{lost[:5]}, {len(extra)} extra {extra[:5]}")
    return 0 if ok else 1


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "gen":
        return cmd_gen(*args)
    if cmd == "classify":
        return cmd_classify(*args)
    if cmd == "stream":
        return cmd_stream(*args)
    if cmd == "dump":
        return cmd_dump(*args)
    if cmd == "kernel":
        return cmd_kernel(*args)
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main(sys.argv) or 0)
