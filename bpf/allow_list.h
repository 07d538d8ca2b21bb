/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The allow-list step of the XDP program (SPEC §1): the block filter, the
 * exact-host hash behind its presence filter, then the longest-prefix
 * match in the family's lookup table, and the hit counted on the entry that
 * matched.
 */
#ifndef XDPGATE_ALLOW_LIST_H
#define XDPGATE_ALLOW_LIST_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "parsing.h"

static __always_inline void count_entry_hit(__u32 slot)
{
	struct xdpgate_entry_stats *stats =
		bpf_map_lookup_elem(&entry_stats, &slot);

	if (!stats)
		return;
	__sync_fetch_and_add(&stats->packets, 1);
	/*
	 * The coarse clock is a tick old at worst and far cheaper per packet.
	 * CPUs racing here store times a tick apart at most, so last_hit_ns
	 * may step back by that much; a lock would cost every packet.
	 */
	stats->last_hit_ns = bpf_ktime_get_coarse_ns();
}

static __always_inline int bit_is_set(void *filter, __u32 bit)
{
	__u32 word = bit / 64;
	__u64 *bits = bpf_map_lookup_elem(filter, &word);

	return bits && ((*bits >> (bit % 64)) & 1);
}

/*
 * Whether a listed host may hash to this bit. A clear bit skips the host
 * table: no listed host is there (xdpgate/abi.h).
 */
static __always_inline int host_may_be_listed(__u32 bit)
{
	return bit_is_set(&host_filter, bit);
}

/*
 * Whether an entry may contain an address of this block. A clear bit is a
 * miss, decided without a lookup: most denied sources end here.
 */
static __always_inline int block_may_be_listed(const void *addr, int is_v6)
{
	return bit_is_set(&block_filter, xdpgate_block_filter_bit(addr, is_v6));
}

/*
 * The lookup table in an outer map's slot, and in *cell the root's cell for
 * an address whose first 32 bits are `top` (host order), in *root_bits how
 * many of them the root resolves. NULL before the table is written.
 */
static __always_inline void *table_root(void *outer, __u32 top, __u32 *cell,
					__u32 *root_bits)
{
	struct xdpgate_table_row *row;
	__u32 zero = 0, index, row_number;
	void *table = bpf_map_lookup_elem(outer, &zero);

	if (!table)
		return NULL;
	row = bpf_map_lookup_elem(table, &zero);
	if (!row)
		return NULL;
	*root_bits = row->cell[XDPGATE_TABLE_ROOT_BITS];
	if (*root_bits != 16 && *root_bits != 24)
		return NULL; /* not written yet */
	index = top >> (32 - *root_bits);
	row_number = 1 + index / XDPGATE_TABLE_ROW_CELLS;
	row = bpf_map_lookup_elem(table, &row_number);
	if (!row)
		return NULL;
	*cell = row->cell[index % XDPGATE_TABLE_ROW_CELLS];
	return table;
}

/*
 * The slot of the longest listed range that holds a big-endian IPv4 address,
 * from the lookup table: the root's cell, then at most
 * XDPGATE_TABLE_MAX_LEVELS groups, each 4 bits further. Returns 0 for none,
 * else slot + 1.
 */
static __always_inline __u32 table_lookup_v4(__u32 addr)
{
	struct xdpgate_table_row *row;
	__u32 root_bits = 0, row_number, cell = 0, shift;
	void *table = table_root(&allow_v4_table, addr, &cell, &root_bits);

	if (!table)
		return 0;
	shift = 32 - root_bits;
	for (int level = 0; level < XDPGATE_TABLE_MAX_LEVELS; level++) {
		if (cell >> XDPGATE_CELL_PAYLOAD_BITS != XDPGATE_CELL_GROUP ||
		    shift < XDPGATE_TABLE_STRIDE_BITS)
			break;
		shift -= XDPGATE_TABLE_STRIDE_BITS;
		row_number = cell & XDPGATE_CELL_PAYLOAD_MASK;
		row = bpf_map_lookup_elem(table, &row_number);
		if (!row)
			return 0;
		cell = row->cell[(addr >> shift) % XDPGATE_TABLE_ROW_CELLS];
	}
	if (cell >> XDPGATE_CELL_PAYLOAD_BITS == XDPGATE_CELL_GROUP)
		return 0; /* a group deeper than an address: never written */
	return cell & XDPGATE_CELL_PAYLOAD_MASK;
}

/*
 * An exact-host hit is the longest match there can be; then the table,
 * which holds every other IPv4 range.
 */
static __always_inline __u32 lookup_v4(const struct packet *pkt)
{
	struct xdpgate_allow_value *hit;
	__u32 zero = 0, addr;
	void *table;

	__builtin_memcpy(&addr, pkt->source, 4);
	if (!block_may_be_listed(&addr, 0))
		return 0;
	table = host_may_be_listed(xdpgate_host_filter_bit_v4(addr))
			? bpf_map_lookup_elem(&allow_v4_hosts, &zero)
			: NULL;
	if (table) {
		hit = bpf_map_lookup_elem(table, pkt->source);
		if (hit)
			return hit->slot + 1;
	}
	return table_lookup_v4(bpf_ntohl(addr));
}

/* Whether a leaf's range holds the address (host-order halves). */
static __always_inline int leaf_holds(const struct xdpgate_table_leaf *leaf,
				      __u64 high, __u64 low)
{
	__u32 length = leaf->length;

	if (length == 0)
		return 1;
	if (length <= 64)
		return !((high ^ leaf->network_high) >> (64 - length));
	return high == leaf->network_high &&
	       !((low ^ leaf->network_low) >> (128 - length));
}

/*
 * As table_lookup_v4, for an IPv6 address in host-order halves: the root's
 * cell, at most XDPGATE_TABLE6_MAX_LEVELS groups, then perhaps a leaf. A
 * range alone in its root block costs the root's cell and its leaf.
 */
static __always_inline __u32 table_lookup_v6(__u64 high, __u64 low)
{
	struct xdpgate_table_leaf *leaf;
	struct xdpgate_table_row *row;
	__u32 root_bits = 0, index, row_number, cell = 0, kind, width;
	void *table =
		table_root(&allow_v6_table, high >> 32, &cell, &root_bits);

	if (!table)
		return 0;
	width = root_bits;
	for (int level = 0; level < XDPGATE_TABLE6_MAX_LEVELS; level++) {
		if (cell >> XDPGATE_CELL6_PAYLOAD_BITS != XDPGATE_CELL6_GROUP ||
		    width >= 128)
			break;
		width += XDPGATE_TABLE_STRIDE_BITS;
		index = width <= 64 ? high >> (64 - width)
				    : low >> (128 - width);
		row_number = cell & XDPGATE_CELL6_PAYLOAD_MASK;
		row = bpf_map_lookup_elem(table, &row_number);
		if (!row)
			return 0;
		cell = row->cell[index % XDPGATE_TABLE_ROW_CELLS];
	}
	kind = cell >> XDPGATE_CELL6_PAYLOAD_BITS;
	if (kind == XDPGATE_CELL6_LEAF) {
		row_number = cell & XDPGATE_CELL6_PAYLOAD_MASK;
		leaf = bpf_map_lookup_elem(table, &row_number);
		if (!leaf)
			return 0;
		cell = leaf_holds(leaf, high, low) ? leaf->inside
						   : leaf->outside;
		kind = cell >> XDPGATE_CELL6_PAYLOAD_BITS;
	}
	if (kind == XDPGATE_CELL6_GROUP || kind == XDPGATE_CELL6_LEAF)
		return 0; /* deeper than an address: never written */
	return cell & XDPGATE_CELL6_PAYLOAD_MASK;
}

/* As lookup_v4, for IPv6. */
static __always_inline __u32 lookup_v6(const struct packet *pkt)
{
	struct xdpgate_allow_value *hit;
	__u64 head, tail; /* the address's first and last 8 bytes, as read */
	__u32 zero = 0;
	void *table;

	__builtin_memcpy(&head, pkt->source, 8);
	__builtin_memcpy(&tail, pkt->source + 8, 8);
	if (!block_may_be_listed(&head, 1))
		return 0;
	table = host_may_be_listed(xdpgate_host_filter_bit_v6(head, tail))
			? bpf_map_lookup_elem(&allow_v6_hosts, &zero)
			: NULL;
	if (table) {
		hit = bpf_map_lookup_elem(table, pkt->source);
		if (hit)
			return hit->slot + 1;
	}
	return table_lookup_v6(bpf_be64_to_cpu(head), bpf_be64_to_cpu(tail));
}

static __always_inline int is_allowed(const struct packet *pkt)
{
	__u32 slot_plus_one =
		pkt->family == 4 ? lookup_v4(pkt) : lookup_v6(pkt);

	if (!slot_plus_one)
		return 0;
	count_entry_hit(slot_plus_one - 1);
	return 1;
}

#endif /* XDPGATE_ALLOW_LIST_H */
