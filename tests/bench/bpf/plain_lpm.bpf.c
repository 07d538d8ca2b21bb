// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The plain allow list the per-packet benchmark compares xdpgate with:
 * parse Ethernet and the IP header, one longest-prefix lookup of the source
 * in a trie, pass on a hit, drop on a miss. No VLANs, exemptions, counters
 * or entry statistics; non-IP frames pass. The benchmark sizes and fills
 * the tries before and after load.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86DD

/* The layout of the kernel's struct bpf_lpm_trie_key, as in xdpgate. */
struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
} allow_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6_key);
	__type(value, __u32);
} allow_v6 SEC(".maps");

static __always_inline int verdict(void *trie, void *key)
{
	return bpf_map_lookup_elem(trie, key) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int plain_lpm(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		struct lpm_v4_key key = {.prefixlen = 32};

		if ((void *)(ip + 1) > end)
			return XDP_DROP;
		__builtin_memcpy(key.addr, &ip->saddr, sizeof(key.addr));
		return verdict(&allow_v4, &key);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct lpm_v6_key key = {.prefixlen = 128};

		if ((void *)(ip6 + 1) > end)
			return XDP_DROP;
		__builtin_memcpy(key.addr, &ip6->saddr, sizeof(key.addr));
		return verdict(&allow_v6, &key);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
