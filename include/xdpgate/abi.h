/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI between the XDP program (bpf/) and userspace (userspace/): map
 * keys and values, the runtime configuration, the verdict enum that indexes
 * the counters. This is the single definition; both sides include it.
 *
 * Byte order: addresses are stored as they appear on the wire (network
 * order), ports in the bitmaps are indexed by their host-order value.
 */
#ifndef XDPGATE_ABI_H
#define XDPGATE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __cplusplus
#define XDPGATE_STATIC_ASSERT static_assert
#else
#define XDPGATE_STATIC_ASSERT _Static_assert
#endif

/*
 * Why a packet got its verdict, in the order the program decides it. The
 * one list: it makes the C enum here and the names the API, metrics and CLI
 * show (userspace/model/verdicts.hpp). X(ENUM_SUFFIX, wire_name, value).
 */
#define XDPGATE_VERDICTS(X)                                                    \
	X(ALLOWED, allowed, 0)		   /* source matched an entry */       \
	X(EXEMPT_SOURCE, exempt_source, 1) /* source in the exempt ranges */   \
	X(EXEMPT_PORT, exempt_port, 2)	   /* TCP/UDP port is exempt */        \
	X(OUT_OF_SCOPE, out_of_scope, 3)   /* port is not protected */         \
	X(REPLY, reply, 4)	     /* reply to a flow this host opened */    \
	X(NON_IP, non_ip, 5)	     /* ARP, LLDP, ... */                      \
	X(NDP, ndp, 6)		     /* ICMPv6 types 133-137 */                \
	X(WOULD_DROP, would_drop, 7) /* denied, but mode off or monitor */     \
	X(DROPPED, dropped, 8)	     /* denied while enforcing */              \
	X(MALFORMED, malformed, 9)   /* too short or inconsistent */

#define XDPGATE_VERDICT_ENUMERATOR(suffix, name, value)                        \
	XDPGATE_VERDICT_##suffix = value,
enum xdpgate_verdict {
	XDPGATE_VERDICTS(XDPGATE_VERDICT_ENUMERATOR) XDPGATE_VERDICT_COUNT,
};

/*
 * The restriction's mode, the one list for the C enum here and the C++ Mode
 * (userspace/model/mode.hpp). X(ENUM_SUFFIX, CxxName, wire_name, value).
 *   off:     restriction inactive: pass, count would_drop
 *   monitor: restriction active, nothing dropped
 *   enforce: denied sources are dropped
 */
#define XDPGATE_MODES(X)                                                       \
	X(OFF, Off, off, 0)                                                    \
	X(MONITOR, Monitor, monitor, 1)                                        \
	X(ENFORCE, Enforce, enforce, 2)

#define XDPGATE_MODE_ENUMERATOR(suffix, cxx, name, value)                      \
	XDPGATE_MODE_##suffix = value,
enum xdpgate_mode { XDPGATE_MODES(XDPGATE_MODE_ENUMERATOR) };

/* LPM trie keys: prefixlen first, as the kernel's struct bpf_lpm_trie_key. */
struct xdpgate_lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4]; /* network order */
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_lpm_v4_key) == 8, "v4 key layout");

struct xdpgate_lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16]; /* network order */
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_lpm_v6_key) == 20, "v6 key layout");

/* Key of the IPv6 exact-host hash. */
struct xdpgate_v6_address {
	__u8 addr[16]; /* network order */
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_v6_address) == 16, "v6 address");

/*
 * The value of an allow-list trie: the entry's slot in entry_stats. Slots
 * are owned by userspace and stay with an entry across replaces, so its
 * counters survive.
 */
struct xdpgate_allow_value {
	__u32 slot;
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_allow_value) == 4, "allow value");

/*
 * The record of the IPv4 entries, indexed by slot: which range each slot
 * holds. Packets never read it (they read the lookup table); a restarted
 * daemon does, to learn what the kernel holds. 8 bytes a slot instead of
 * an LPM trie's ~140 bytes an entry, written in one batch.
 */
struct xdpgate_v4_record {
	__u8 addr[4]; /* network order */
	__u8 length;  /* prefix length, 0-32 */
	__u8 listed;  /* 1: the slot holds this range; 0: the slot is free */
	__u8 pad[2];
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_v4_record) == 8, "v4 record");

/*
 * The record of the IPv6 entries: a row per entry, in an array sized to the
 * IPv6 list (an eighth more, 1024 rows at least), each row naming its slot.
 * A row per slot, as IPv4 has, would cost every installation 48 MiB at the
 * default capacity, IPv6 or not. Read, like the IPv4 record, only by a
 * restarted daemon: 24 bytes an entry where an LPM trie took ~140, written
 * in one batch, and freed without a walk of its elements.
 */
struct xdpgate_v6_record {
	__u8 addr[16]; /* network order */
	__u32 slot;    /* the entry's slot in entry_stats */
	__u8 length;   /* prefix length, 0-128 */
	__u8 listed;   /* 1: the row holds this range; 0: the row is free */
	__u8 pad[2];
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_v6_record) == 24, "v6 record");

/*
 * The IPv4 lookup table: a multibit trie in one array map, so that a lookup
 * costs at most 1 + XDPGATE_TABLE_MAX_LEVELS dependent accesses whatever the
 * list's size, with exactly the kernel LPM trie's answers.
 *
 * Rows of 16 cells (one 64-byte cache line each). Row 0 is the header: cell
 * XDPGATE_TABLE_ROOT_BITS says how many leading address bits (16 or 24) the
 * root resolves, cell XDPGATE_TABLE_ROWS_USED how many rows are taken. The
 * root, rows 1 to 2^root_bits / 16, has one cell per block of that length
 * (a /24 or a /16), indexed by the block's number. A cell either holds the
 * longest listed range that covers its block (its entry's slot and length)
 * or names a group: a row whose 16 cells split the block 4 bits further.
 *
 * A cell is (depth << 26) | payload. Depth 0-32 with a payload of slot + 1
 * is a match (payload 0: none; an all-zero row matches nothing); depth
 * XDPGATE_CELL_GROUP makes the payload a row number. Userspace reads the
 * depth back to change only the cells a range owns, so every cell is
 * written with one aligned 32-bit store and a packet sees a cell old or new.
 */
#define XDPGATE_TABLE_ROW_CELLS	  16
#define XDPGATE_TABLE_STRIDE_BITS 4
#define XDPGATE_TABLE_MAX_LEVELS  4 /* groups below a 16-bit root */
#define XDPGATE_TABLE_ROOT_BITS	  0 /* header cells */
#define XDPGATE_TABLE_ROWS_USED	  1
#define XDPGATE_CELL_PAYLOAD_BITS 26
#define XDPGATE_CELL_PAYLOAD_MASK ((1u << XDPGATE_CELL_PAYLOAD_BITS) - 1)
#define XDPGATE_CELL_GROUP	  63u

struct xdpgate_table_row {
	__u32 cell[XDPGATE_TABLE_ROW_CELLS];
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_table_row) == 64, "table row");

/*
 * The IPv6 lookup table: rows and root as the IPv4 table's, over 128-bit
 * addresses, with cells of (depth << 24) | payload (depth 0-128) and one
 * kind more. A fixed stride alone would cost a sparse IPv6 list a group for
 * every 4 bits between the root and each range (10 for a lone /64). So a
 * cell whose block holds one range longer than the block names a leaf
 * instead: a row holding that range, its cell, and the cell of the block's
 * other addresses. A lone range then costs the root's cell and its leaf; a
 * second range in the block turns the leaf into a group first.
 */
#define XDPGATE_TABLE6_MAX_LEVELS  28 /* groups below a 16-bit root */
#define XDPGATE_CELL6_PAYLOAD_BITS 24
#define XDPGATE_CELL6_PAYLOAD_MASK ((1u << XDPGATE_CELL6_PAYLOAD_BITS) - 1)
#define XDPGATE_CELL6_GROUP	   255u
#define XDPGATE_CELL6_LEAF	   254u

/* A leaf, in place of a row's cells. Only `outside` changes in place. */
struct xdpgate_table_leaf {
	__u32 inside;  /* the range's cell: what its addresses match */
	__u32 outside; /* the cell of the block's other addresses */
	__u32 length;  /* the range's prefix length */
	__u32 pad;
	__u64 network_high; /* the range's first 64 bits, host order */
	__u64 network_low;  /* its last 64 bits, host order */
	__u64 unused[4];
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_table_leaf) ==
			      sizeof(struct xdpgate_table_row),
		      "table leaf");

/* Per entry slot, shared by all CPUs. */
struct xdpgate_entry_stats {
	__u64 packets;	   /* added to atomically */
	__u64 last_hit_ns; /* bpf_ktime_get_coarse_ns(), CLOCK_MONOTONIC */
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_entry_stats) == 16, "entry stats");

/* Per-CPU, indexed by enum xdpgate_verdict. */
struct xdpgate_verdict_counter {
	__u64 packets;
	__u64 bytes;
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_verdict_counter) == 16,
		      "verdict counter");

/* Key of the denied-source sample (an LRU hash, so it stays bounded). */
struct xdpgate_source_key {
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16]; /* network order; IPv4 uses the first 4 bytes */
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_source_key) == 20, "source key");

/*
 * A denied source's packets: exact (each packet adds 1) until sampling
 * counts for it, 1 packet in 2^shift with weight 2^shift, which happens past
 * XDPGATE_DENIED_EXACT_PACKETS or when it was inserted past the insertion
 * budget; `estimated` then says so. Already weighted: userspace shows
 * `packets` as it is. Shared by the CPUs, so packets grows by atomic adds.
 */
struct xdpgate_source_stats {
	__u64 packets;
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns(), CLOCK_MONOTONIC */
	__u8 estimated;	    /* 1: packets is an estimate (sampled) */
	__u8 pad[7];
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_source_stats) == 24,
		      "source stats");

/*
 * Counts stay exact up to this many packets per source: one atomic add per
 * denied packet costs little while a source is slow, and a source past it
 * is flooding, where an estimate within a few percent serves as well and
 * the writes to its shared entry drop 2^shift-fold.
 */
#define XDPGATE_DENIED_EXACT_PACKETS 1024

/*
 * New sources each CPU inserts exactly per window before insertion is
 * sampled too (1 in 2^shift): enough that every source of a scan or a
 * misconfigured fleet shows within a second, a quarter of the sample so a
 * burst does not flush it on its own, and at most a few hundred us of map
 * inserts per CPU per second under a flood of spoofed sources.
 */
#define XDPGATE_DENIED_NEW_SOURCES_PER_WINDOW 1024
#define XDPGATE_DENIED_WINDOW_NS	      (1000ULL * 1000 * 1000)

/* Per-CPU state of that budget, the one element of a per-CPU array. */
struct xdpgate_denied_budget {
	__u64 window_start_ns; /* bpf_ktime_get_coarse_ns() */
	__u32 inserted;	       /* exact insertions in this window */
	__u32 pad;
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_denied_budget) == 16,
		      "denied budget");

/*
 * Key of a flow this host opened, written by the TC egress program with the
 * remote side as "source", so the XDP program looks it up with the incoming
 * packet's fields unchanged.
 */
struct xdpgate_flow_key {
	__u8 family;   /* 4 or 6 */
	__u8 protocol; /* TCP or UDP; ICMP or ICMPv6 for an echo, whose
			  identifier is then remote_port, local_port 0 */
	__be16 remote_port;
	__be16 local_port;
	__u8 pad[2];
	__u8 remote_addr[16]; /* network order; IPv4 uses the first 4 bytes */
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_flow_key) == 24, "flow key");

#define XDPGATE_PORT_BITMAP_WORDS (65536 / 64)

/*
 * One denied packet, written to the denied_events ring buffer while
 * follow_denied is set (xdpgate denied --follow). 40 bytes, widest field
 * first, so that only the tail needs padding.
 */
struct xdpgate_denied_event {
	__u64 at_ns;	 /* bpf_ktime_get_coarse_ns(), CLOCK_MONOTONIC */
	__u32 ifindex;	 /* the interface the packet came in on */
	__u8 family;	 /* 4 or 6 */
	__u8 verdict;	 /* XDPGATE_VERDICT_DROPPED or _WOULD_DROP */
	__u8 protocol;	 /* IPPROTO_* of the L4 header, as parsed */
	__u8 has_port;	 /* 1: dest_port is set (first TCP/UDP fragment) */
	__u8 addr[16];	 /* source, network order; IPv4 in the first 4 */
	__u16 dest_port; /* host order */
	__u8 pad[6];
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_denied_event) == 40,
		      "denied event");

/*
 * The ring buffer's budget, per CPU and second: the one element of a per-CPU
 * array. The program writes window_start_ns and used; the daemon writes
 * limit (the per-second budget shared out among the CPUs) into every CPU's
 * copy, which also restarts the window. It is not in struct xdpgate_config
 * so that runtime_config keeps its value size and a daemon of this version
 * re-uses the pins of an older one (SPEC §1, upgrades); a denied packet
 * that is followed reads the limit from the cache line it updates anyway.
 */
struct xdpgate_follow_window {
	__u64 window_start_ns; /* bpf_ktime_get_coarse_ns() */
	__u32 used;	       /* events written in this window */
	__u32 limit;	       /* events allowed per window */
	__u64 ring_full;       /* events lost: the ring buffer was full */
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_follow_window) == 24,
		      "follow window");

/*
 * Runtime configuration, the single element of an array map. mode is one
 * byte so that a concurrent update can never be seen half-written; the
 * other fields only widen or narrow exemptions and tolerate a torn read.
 */
struct xdpgate_config {
	__u8 mode;		  /* enum xdpgate_mode */
	__u8 scope_tcp;		  /* 1: only protected_tcp ports are filtered */
	__u8 scope_udp;		  /* 1: only protected_udp ports are filtered */
	__u8 denied_sample_shift; /* past the exact counts: 1 in 2^shift */
	__u8 track_replies;	  /* 1: own_flows is filled on egress */
	__u8 has_exempt_v4;	  /* 0: skip the empty exempt_v4 lookup */
	__u8 has_exempt_v6;	  /* 0: skip the empty exempt_v6 lookup */
	__u8 follow_denied;	  /* 1: someone follows denied packets live */
	__u64 exempt_tcp[XDPGATE_PORT_BITMAP_WORDS];
	__u64 exempt_udp[XDPGATE_PORT_BITMAP_WORDS];
	__u64 protected_tcp[XDPGATE_PORT_BITMAP_WORDS];
	__u64 protected_udp[XDPGATE_PORT_BITMAP_WORDS];
};
XDPGATE_STATIC_ASSERT(sizeof(struct xdpgate_config) == 8 + 4 * 8192,
		      "config layout");

/*
 * Host presence filter: 2^20 bits (one array of u64 words, both families),
 * bit h set while at least one listed full-length entry (/32, /128) hashes to
 * h. The program probes the exact-host tables only when its source's bit is
 * set, so a bit must be set before its first host enters a host table
 * (where alone IPv4 hosts are) and cleared only after its last has left;
 * a bit set in excess costs a hash probe and nothing else.
 *
 * The hashes read the address as the program does: its network-order bytes
 * copied into native integers (4 bytes for IPv4, two 8-byte halves for IPv6).
 */
#define XDPGATE_HOST_FILTER_BITS_LOG2 20
#define XDPGATE_HOST_FILTER_WORDS     (1u << (XDPGATE_HOST_FILTER_BITS_LOG2 - 6))

static inline __attribute__((always_inline)) __u32
xdpgate_host_filter_bit_v4(__u32 addr)
{
	return (__u32)(addr * 0x9E3779B1u) >>
	       (32 - XDPGATE_HOST_FILTER_BITS_LOG2);
}

static inline __attribute__((always_inline)) __u32
xdpgate_host_filter_bit_v6(__u64 low, __u64 high)
{
	return (__u32)(((low ^ (high * 0xC2B2AE3D27D4EB4FULL)) *
			0x9E3779B97F4A7C15ULL) >>
		       (64 - XDPGATE_HOST_FILTER_BITS_LOG2));
}

/*
 * Block filter: one bit per block of addresses sharing their first 20 bits,
 * IPv4 blocks (/20s) in bits 0 to 2^20 - 1, IPv6 blocks (/20s) after them.
 * A bit is set while at least one entry of the allow list intersects
 * its block. Unlike the host filter it decides: a clear bit means no entry
 * can match the source, and the program skips every allow-list lookup. So
 * a bit is set before the first entry of its block enters the tables, and
 * cleared only after the last has left. Computed from the address's bytes
 * in network order, as they sit in the packet.
 */
#define XDPGATE_BLOCK_FILTER_PREFIX 20
#define XDPGATE_BLOCK_FILTER_BITS   (2u << XDPGATE_BLOCK_FILTER_PREFIX)
#define XDPGATE_BLOCK_FILTER_WORDS  (XDPGATE_BLOCK_FILTER_BITS / 64)

static inline __attribute__((always_inline)) __u32
xdpgate_block_filter_bit(const __u8 *addr, int is_v6)
{
	return ((__u32)(is_v6 != 0) << XDPGATE_BLOCK_FILTER_PREFIX) |
	       ((__u32)addr[0] << 12) | ((__u32)addr[1] << 4) |
	       ((__u32)addr[2] >> 4);
}

/* How many IPv6 extension headers the program walks before giving up on L4. */
#define XDPGATE_MAX_IPV6_EXT_HEADERS 6
/* How many 802.1Q/802.1ad tags it accepts; a frame with more is malformed. */
#define XDPGATE_MAX_VLAN_TAGS 2

#endif /* XDPGATE_ABI_H */
