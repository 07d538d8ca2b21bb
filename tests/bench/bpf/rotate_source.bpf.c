// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Makes the source address change on every run of a BPF_PROG_TEST_RUN
 * with repeat: writes the next address of `sources` into the frame, then
 * tail-calls the program under test (slot 0 of `target`). The runs follow
 * each other in the kernel's loop as packets do in NAPI, with no syscall in
 * between, while the lookups meet caches that the other sources have
 * filled. The benchmark measures this program in front of the bare
 * XDP_DROP program too, and subtracts what it costs by itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define ETH_HLEN 14

struct source {
	__u8 addr[16]; /* network order; IPv4 uses the first 4 bytes */
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set before load */
	__type(key, __u32);
	__type(value, struct source);
} sources SEC(".maps");

/* 4: untagged IPv4 frames, 6: untagged IPv6 frames. */
const volatile __u8 family = 4;

/* Written by the benchmark between measurements. */
__u32 source_count = 1;
__u32 next_source;

SEC("xdp")
int rotate_source(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	__u32 i = next_source;
	struct source *s;

	next_source = i + 1 < source_count ? i + 1 : 0;
	s = bpf_map_lookup_elem(&sources, &i);
	if (!s)
		return XDP_ABORTED;
	if (family == 4) {
		if (data + ETH_HLEN + 20 > end)
			return XDP_ABORTED;
		__builtin_memcpy(data + ETH_HLEN + 12, s->addr, 4);
	} else {
		if (data + ETH_HLEN + 40 > end)
			return XDP_ABORTED;
		__builtin_memcpy(data + ETH_HLEN + 8, s->addr, 16);
	}
	bpf_tail_call(ctx, &target, 0);
	return XDP_ABORTED; /* the slot was empty */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
