# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Allow lists for the load test and the veth benchmark, and the source
addresses that hit or miss them.

generate_list() is the same deterministic mix as the per-packet benchmark
(tests/bench/per_packet/prefix_mix.cpp, same splitmix64 and seeds), so every
benchmark group judges the same prefixes:
  IPv4: 40% /32, 40% /24, 20% /8-/31 weighted 2^((len-8)/2), first octet 1-223
  IPv6: 40% /128, 40% /64, 20% /16-/127 uniform, inside 2000::/3
"""
import bisect
import csv
import ipaddress
import math

MASK64 = (1 << 64) - 1


class Rng:
    """splitmix64, as in prefix_mix.cpp."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, bound):
        return self.next() % bound


def seed_for(family, n):
    return 0x7864706761746531 ^ ((4 if family == 4 else 6) << 56) ^ n


def bits_of(family):
    return 32 if family == 4 else 128


def random_address(family, rng):
    """An integer address: IPv4 first octet 1-223, IPv6 inside 2000::/3."""
    if family == 4:
        bits = rng.next()
        first = 1 + rng.below(223)
        rest = [(bits >> (8 * i)) & 0xFF for i in range(1, 4)]
        return (first << 24) | (rest[0] << 16) | (rest[1] << 8) | rest[2]
    raw = []
    for _ in range(2):
        bits = rng.next()
        raw += [(bits >> (8 * i)) & 0xFF for i in range(8)]
    raw[0] = 0x20 | (raw[0] & 0x1F)
    return int.from_bytes(bytes(raw), "big")


_V4_REST = []
_total = 0.0
for _len in range(8, 32):
    _total += math.pow(2.0, (_len - 8) / 2.0)
    _V4_REST.append(_total)
_V4_REST = [x / _total for x in _V4_REST]


def rest_length(family, rng):
    if family == 6:
        return 16 + rng.below(112)
    u = (rng.next() >> 11) / 9007199254740992.0
    return 8 + min(bisect.bisect_left(_V4_REST, u), 23)


def mask(family, address, length):
    width = bits_of(family)
    return address & (((1 << length) - 1) << (width - length)) if length else 0


def generate_list(family, size, seed=None):
    """[(address_int, length)] of `size` distinct prefixes, list order random."""
    rng = Rng(seed_for(family, size) if seed is None else seed)
    width = bits_of(family)
    seen = set()
    out = []
    while len(out) < size:
        kind = rng.below(10)  # 0-3 host, 4-7 network, 8-9 rest
        if kind < 4:
            p = (random_address(family, rng), width)
        elif kind < 8:
            length = 24 if family == 4 else 64
            p = (mask(family, random_address(family, rng), length), length)
        else:
            # g++ evaluates mask_prefix(random_address(), rest_length())
            # right to left: the length is drawn first.
            length = rest_length(family, rng)
            p = (mask(family, random_address(family, rng), length), length)
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def to_text(family, prefix):
    address, length = prefix
    ip = ipaddress.ip_address(address) if family == 4 else ipaddress.IPv6Address(address)
    return str(ip) if length == bits_of(family) else f"{ip}/{length}"


def write_csv(path, lists, description="loadtest"):
    """lists: {4: [...], 6: [...]} -> CSV with the import header."""
    with open(path, "w", newline="") as f:
        f.write("ip_address,description\n")
        for family in (4, 6):
            for p in lists.get(family, []):
                f.write(f"{to_text(family, p)},{description}\n")


def read_csv(path):
    """The prefixes of an import CSV, {4: [...], 6: [...]}; the daemon
    validates it again when it is imported."""
    lists = {4: [], 6: []}
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:2]] != ["ip_address", "description"]:
            raise ValueError(f"{path}: the first line must be the header ip_address,description")
        for number, row in enumerate(rows, start=2):
            if not row or not row[0].strip():
                continue
            try:
                net = ipaddress.ip_network(row[0].strip(), strict=True)
            except ValueError as e:
                raise ValueError(f"{path}:{number}: {e}") from None
            lists[net.version].append((int(net.network_address), net.prefixlen))
    return lists


class PrefixIndex:
    """Longest-prefix match in userspace: does any entry contain an address?"""

    def __init__(self, family, prefixes):
        self.family = family
        self.by_length = {}
        for address, length in prefixes:
            self.by_length.setdefault(length, set()).add(address)
        self.lengths = sorted(self.by_length, reverse=True)

    def covers(self, address):
        for length in self.lengths:
            if mask(self.family, address, length) in self.by_length[length]:
                return True
        return False


# Never used as a source: the receiver's own addresses, and addresses the
# stack drops before its first hook (IPv6 multicast, loopback and
# v4-mapped sources) or that are special (so a delivered packet always
# reaches the counter).
_RESERVED = {
    4: [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "198.18.0.1/32",
                                          "224.0.0.0/3", "169.254.0.0/16")],
    6: [ipaddress.ip_network(n) for n in ("::/8", "2001:db8::1/128", "fe80::/10", "ff00::/8")],
}


def reserved(family, address):
    ip = ipaddress.ip_address(address) if family == 4 else ipaddress.IPv6Address(address)
    return any(ip in net for net in _RESERVED[family])


def allowed_sources(family, prefixes, count, rng):
    """`count` distinct addresses, each inside a random entry of the list."""
    width = bits_of(family)
    out, seen = [], set()
    usable = [p for p in prefixes if not (p[1] == width and reserved(family, p[0]))]
    tries = 0
    while usable and len(out) < count and tries < 50 * count + 1000:
        tries += 1
        address, length = usable[rng.below(len(usable))]
        host_bits = width - length
        noise = rng.next() if host_bits <= 64 else (rng.next() << 64) | rng.next()
        a = address | (noise & ((1 << host_bits) - 1))
        if a in seen or reserved(family, a):
            continue
        seen.add(a)
        out.append(a)
    return out


# The block filter's blocks (include/xdpgate/abi.h): a source in a block
# that holds an entry passes the filter and takes the lookup.
BLOCK_BITS = 20


def near_denied_sources(family, prefixes, index, count, rng, avoid=()):
    """`count` distinct addresses that no entry contains, each in the /20
    block of an entry (near misses: the block filter lets them through)."""
    host_bits = bits_of(family) - BLOCK_BITS
    out, seen = [], set(avoid)
    usable = [p for p in prefixes if p[1] > BLOCK_BITS]  # room left in the block
    tries = 0
    while usable and len(out) < count and tries < 200 * count + 1000:
        tries += 1
        address, _ = usable[rng.below(len(usable))]
        noise = rng.next() if host_bits <= 64 else (rng.next() << 64) | rng.next()
        a = (address >> host_bits << host_bits) | (noise & ((1 << host_bits) - 1))
        if a in seen or reserved(family, a) or index.covers(a):
            continue
        seen.add(a)
        out.append(a)
    return out


def denied_sources(family, index, count, rng, avoid=()):
    """`count` distinct addresses that no entry of the list contains."""
    out, seen = [], set(avoid)
    tries = 0
    while len(out) < count and tries < 200 * count + 1000:
        tries += 1
        a = random_address(family, rng)
        if a in seen or reserved(family, a) or index.covers(a):
            continue
        seen.add(a)
        out.append(a)
    return out
