/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps of the XDP program. Sizes given here are defaults for tests; the
 * loader sets the real capacities from the configuration before load.
 */
#ifndef XDPGATE_MAPS_H
#define XDPGATE_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "xdpgate/abi.h"

#define DEFAULT_CAPACITY 1024

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpgate_config);
} runtime_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPGATE_VERDICT_COUNT);
	__type(key, __u32);
	__type(value, struct xdpgate_verdict_counter);
} verdict_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DEFAULT_CAPACITY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdpgate_lpm_v4_key);
	__type(value, struct xdpgate_allow_value);
} exempt_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DEFAULT_CAPACITY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdpgate_lpm_v6_key);
	__type(value, struct xdpgate_allow_value);
} exempt_v6 SEC(".maps");

/*
 * The allow list is double-buffered through map-in-map: each outer array
 * holds one table. An atomic replace builds a complete new table in
 * userspace and swaps it in with one update of the outer slot; a packet
 * looks the slot up once, so it is judged entirely by the old table or
 * entirely by the new one, and the kernel frees the old table only after
 * every program that could still hold it has finished (RCU).
 *
 * allow_v4 and allow_v6 hold the records of each family's entries (see
 * xdpgate/abi.h). The program reads neither: they are swapped with the
 * lookup tables, so that a restarted daemon reads back the list packets are
 * judged by. BPF_F_INNER_MAP: the IPv4 record's size follows the configured
 * capacity, the IPv6 record's the IPv6 list.
 */
struct allow_v4_record {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * DEFAULT_CAPACITY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	/* A size, not a type: clang emits only a forward declaration here. */
	__uint(value_size, sizeof(struct xdpgate_v4_record));
};

struct allow_v6_record {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__uint(value_size, sizeof(struct xdpgate_v6_record));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct allow_v4_record);
} allow_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct allow_v6_record);
} allow_v6 SEC(".maps");

/*
 * The lookup tables (see xdpgate/abi.h), what packets consult for every
 * range but full-length ones. Swapped like the others; BPF_F_INNER_MAP lets
 * each table have the size its list needs. Userspace writes them through
 * mmap, a cell at a time.
 */
struct allow_table_rows {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 + (1 << 16) / XDPGATE_TABLE_ROW_CELLS);
	__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	__type(key, __u32);
	/* A size, not a type: clang emits only a forward declaration here. */
	__uint(value_size, sizeof(struct xdpgate_table_row));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct allow_table_rows);
} allow_v4_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct allow_table_rows);
} allow_v6_table SEC(".maps");

/*
 * Full-length entries (/32, /128) in a hash, probed first: a hit there is
 * the longest possible match, at the cost of a hash. Of the tables packets
 * read, hosts are only here (a lookup table would spend groups on each; the
 * records hold them too). A replace swaps in a host table of both lists'
 * hosts before the other tables, and takes the leaving hosts out after them,
 * so a packet that meets the tables of two lists is judged as one of the two
 * would judge it. Their elements are preallocated (userspace sizes each
 * table to its hosts): a table let go is freed in one piece.
 */
struct allow_v4_hosts_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DEFAULT_CAPACITY);
	__type(key, __u32); /* network order */
	__type(value, struct xdpgate_allow_value);
};

struct allow_v6_hosts_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DEFAULT_CAPACITY);
	__uint(key_size, sizeof(struct xdpgate_v6_address));
	__type(value, struct xdpgate_allow_value);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct allow_v4_hosts_table);
} allow_v4_hosts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct allow_v6_hosts_table);
} allow_v6_hosts SEC(".maps");

/*
 * The host presence filter in front of the host tables (see xdpgate/abi.h):
 * one u64 word per element, so a lookup is an inlined array access. A
 * clear bit means no listed host hashes to it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPGATE_HOST_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} host_filter SEC(".maps");

/*
 * The block filter in front of everything the allow list looks up (see
 * xdpgate/abi.h): a clear bit means no entry intersects the source's block.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPGATE_BLOCK_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} block_filter SEC(".maps");

/*
 * Indexed by the slot stored in the allow-list tries (both families). One
 * copy shared by all CPUs, counted with atomic adds: a per-CPU array of
 * 2 x capacity slots would cost 2 GiB on a 64-CPU host at the 1M capacity.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * DEFAULT_CAPACITY);
	__type(key, __u32);
	__type(value, struct xdpgate_entry_stats);
} entry_stats SEC(".maps");

/*
 * The denied sources: a bounded map, where LRU evicts the sources not seen
 * lately. Counts as xdpgate/abi.h says (struct xdpgate_source_stats).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct xdpgate_source_key);
	__type(value, struct xdpgate_source_stats);
} denied_sources SEC(".maps");

/* How many new sources each CPU inserted into denied_sources this window. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpgate_denied_budget);
} denied_budget SEC(".maps");

/* Flows this host opened (filled on egress); their replies always pass. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct xdpgate_flow_key);
	__type(value, __u64);
} own_flows SEC(".maps");

/*
 * The live view of denied packets: one ring buffer and one budget for all
 * interfaces, shared like the list rather than per interface program,
 * because its reader is one thread of one daemon and the budget protects
 * that daemon, not an interface; each event names its ifindex. Pinned with
 * the other shared maps, so a restarted daemon reads the same buffer.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} denied_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpgate_follow_window);
} follow_window SEC(".maps");

#endif /* XDPGATE_MAPS_H */
