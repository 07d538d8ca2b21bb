// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The xdpgate data path: an IP allow list at the NIC. Every frame is parsed
 * once, judged by the steps of SPEC §1 in order, and leaves through
 * record_verdict(), which counts the verdict and turns it into an action.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "allow_list.h"
#include "maps.h"
#include "parsing.h"

/* How long a UDP request of this host lets answers in. */
#define UDP_REPLY_WINDOW_NS (180ULL * 1000 * 1000 * 1000)
/* A ping's reply comes within seconds; a late one answers nothing. */
#define ECHO_REPLY_WINDOW_NS (30ULL * 1000 * 1000 * 1000)
/* Source ports of UDP requests; servers answer from lower, fixed ports. */
#define EPHEMERAL_PORT_FIRST 32768

static __always_inline int port_in(const __u64 *bitmap, __u16 port)
{
	return (bitmap[port / 64] >> (port % 64)) & 1;
}

static __always_inline int is_exempt_source(const struct xdpgate_config *cfg,
					    const struct packet *pkt)
{
	if (pkt->family == 4) {
		if (!cfg->has_exempt_v4)
			return 0;
		struct xdpgate_lpm_v4_key key = {.prefixlen = 32};

		__builtin_memcpy(key.addr, pkt->source, 4);
		return bpf_map_lookup_elem(&exempt_v4, &key) != NULL;
	}
	struct xdpgate_lpm_v6_key key = {.prefixlen = 128};

	if (!cfg->has_exempt_v6)
		return 0;
	__builtin_memcpy(key.addr, pkt->source, 16);
	return bpf_map_lookup_elem(&exempt_v6, &key) != NULL;
}

static __always_inline int is_exempt_port(const struct xdpgate_config *cfg,
					  const struct packet *pkt)
{
	if (!pkt->has_ports)
		return 0;
	if (pkt->l4_protocol == IPPROTO_TCP)
		return port_in(cfg->exempt_tcp, pkt->dest_port);
	return port_in(cfg->exempt_udp, pkt->dest_port);
}

static __always_inline int is_out_of_scope(const struct xdpgate_config *cfg,
					   const struct packet *pkt)
{
	if (!pkt->has_ports)
		return 0;
	if (pkt->l4_protocol == IPPROTO_TCP)
		return cfg->scope_tcp &&
		       !port_in(cfg->protected_tcp, pkt->dest_port);
	return cfg->scope_udp && !port_in(cfg->protected_udp, pkt->dest_port);
}

static __always_inline void flow_key_of(struct xdpgate_flow_key *key,
					const struct packet *pkt,
					const void *remote, __u16 remote_port,
					__u16 local_port)
{
	key->family = pkt->family;
	key->protocol = pkt->l4_protocol;
	key->remote_port = bpf_htons(remote_port);
	key->local_port = bpf_htons(local_port);
	__builtin_memcpy(key->remote_addr, remote, 16);
}

static __always_inline int is_reply(const struct xdpgate_config *cfg,
				    const struct packet *pkt)
{
	struct xdpgate_flow_key key = {};
	__u64 *opened;

	if (!cfg->track_replies)
		return 0;
	/* An echo reply answers the request this host sent with its id. */
	if (pkt->echo == ECHO_REPLY) {
		flow_key_of(&key, pkt, pkt->source, pkt->echo_id, 0);
		opened = bpf_map_lookup_elem(&own_flows, &key);
		return opened && bpf_ktime_get_coarse_ns() - *opened <
					 ECHO_REPLY_WINDOW_NS;
	}
	if (!pkt->has_ports)
		return 0;
	/*
	 * The egress program records UDP flows from ephemeral ports only, so a
	 * datagram to a lower port answers none of them: it skips the lookup
	 * that every denied datagram to a service port would pay.
	 */
	if (pkt->l4_protocol == IPPROTO_UDP &&
	    pkt->dest_port < EPHEMERAL_PORT_FIRST)
		return 0;
	flow_key_of(&key, pkt, pkt->source, pkt->source_port, pkt->dest_port);
	opened = bpf_map_lookup_elem(&own_flows, &key);
	if (!opened)
		return 0;
	/* UDP has no end: a datagram answers only a recent request. */
	return pkt->l4_protocol == IPPROTO_TCP ||
	       bpf_ktime_get_coarse_ns() - *opened < UDP_REPLY_WINDOW_NS;
}

/* True for 1 call in 2^shift, from the kernel's per-CPU random state. */
static __always_inline int one_in(__u32 shift)
{
	return !(bpf_get_prandom_u32() & ((1u << shift) - 1));
}

/*
 * Whether this CPU may insert one more new source exactly: a flood of
 * spoofed new sources pays a map insert per packet only up to the budget of
 * the window. Per CPU, so no atomics: XDP does not migrate mid-program.
 */
static __always_inline int within_insert_budget(__u64 now)
{
	__u32 zero = 0;
	struct xdpgate_denied_budget *budget =
		bpf_map_lookup_elem(&denied_budget, &zero);

	if (!budget)
		return 0;
	if (now - budget->window_start_ns >= XDPGATE_DENIED_WINDOW_NS) {
		budget->window_start_ns = now;
		budget->inserted = 0;
	}
	if (budget->inserted >= XDPGATE_DENIED_NEW_SOURCES_PER_WINDOW)
		return 0;
	budget->inserted++;
	return 1;
}

/*
 * Counts a packet on an entry: `packets` is 1, or a sampled packet's weight
 * 2^shift, or 0 for a packet that sampling left out, which makes the count
 * an estimate all the same. Stores only on change: other CPUs read the
 * entry's cache line too.
 */
static __always_inline void count_on(struct xdpgate_source_stats *stats,
				     __u64 packets, int estimated, __u64 now)
{
	if (packets)
		__sync_fetch_and_add(&stats->packets, packets);
	if (estimated && !stats->estimated)
		stats->estimated = 1;
	if (stats->last_seen_ns != now)
		stats->last_seen_ns = now;
}

/*
 * The denied-source sample (SPEC §1): every denied packet looks its source
 * up once. A known source counts exactly up to XDPGATE_DENIED_EXACT_PACKETS,
 * then 1 packet in 2^shift with weight 2^shift. A new source is inserted
 * with an exact 1 while this CPU's insert budget lasts, then 1 in 2^shift
 * with weight 2^shift.
 */
static __always_inline void
sample_denied_source(const struct xdpgate_config *cfg, const struct packet *pkt)
{
	struct xdpgate_source_key key = {.family = pkt->family};
	/* Zeroed, then set: an initialiser this size would go to .rodata. */
	struct xdpgate_source_stats fresh = {};
	struct xdpgate_source_stats *stats;
	__u32 shift = cfg->denied_sample_shift & 31;
	__u64 now = bpf_ktime_get_coarse_ns();

	__builtin_memcpy(key.addr, pkt->source, 16);
	stats = bpf_map_lookup_elem(&denied_sources, &key);
	if (stats) {
		if (stats->packets < XDPGATE_DENIED_EXACT_PACKETS || !shift)
			count_on(stats, 1, 0, now);
		else
			count_on(stats, one_in(shift) ? 1ULL << shift : 0, 1,
				 now);
		return;
	}
	fresh.packets = 1;
	if (!within_insert_budget(now)) {
		if (!one_in(shift))
			return;
		fresh.packets = 1ULL << shift;
		fresh.estimated = shift != 0;
	}
	fresh.last_seen_ns = now;
	if (!bpf_map_update_elem(&denied_sources, &key, &fresh, BPF_NOEXIST))
		return;
	/* Another CPU inserted it first: count on its entry. */
	stats = bpf_map_lookup_elem(&denied_sources, &key);
	if (stats)
		count_on(stats, fresh.packets, fresh.estimated, now);
}

#define NSEC_PER_SEC 1000000000ULL

/*
 * The live view of denied packets (xdpgate denied --follow): while someone
 * follows, one event per denied packet, at most the budget per CPU and
 * second. Idle, it costs the one branch on the config; under a flood past
 * the budget, a per-CPU array lookup and a compare.
 */
static __always_inline void follow_denied(struct xdp_md *ctx,
					  const struct xdpgate_config *cfg,
					  const struct packet *pkt,
					  enum xdpgate_verdict verdict)
{
	struct xdpgate_denied_event *event;
	struct xdpgate_follow_window *window;
	__u32 zero = 0;
	__u64 now;

	if (!cfg->follow_denied)
		return;
	window = bpf_map_lookup_elem(&follow_window, &zero);
	if (!window)
		return;
	now = bpf_ktime_get_coarse_ns();
	if (now - window->window_start_ns >= NSEC_PER_SEC) {
		window->window_start_ns = now;
		window->used = 0;
	}
	if (window->used >= window->limit)
		return;
	event = bpf_ringbuf_reserve(&denied_events, sizeof(*event), 0);
	if (!event) {
		window->ring_full++;
		return;
	}
	window->used++;
	event->at_ns = now;
	event->ifindex = ctx->ingress_ifindex;
	event->family = pkt->family;
	event->verdict = verdict;
	event->protocol = pkt->l4_protocol;
	event->has_port = pkt->has_ports;
	__builtin_memcpy(event->addr, pkt->source, 16);
	event->dest_port = pkt->dest_port;
	__builtin_memset(event->pad, 0, sizeof(event->pad));
	bpf_ringbuf_submit(event, 0);
}

/*
 * Steps 4-8 of SPEC §1 for a parsed IP packet. The reply check (step 6) runs
 * after the allow list: both pass, so no verdict changes, and the allowed
 * bulk of the traffic does not pay a flow lookup. A packet that is both
 * counts as allowed.
 */
static __always_inline enum xdpgate_verdict
judge_ip(struct xdp_md *ctx, const struct xdpgate_config *cfg,
	 const struct packet *pkt)
{
	enum xdpgate_verdict denied;

	if (is_exempt_source(cfg, pkt))
		return XDPGATE_VERDICT_EXEMPT_SOURCE;
	if (is_exempt_port(cfg, pkt))
		return XDPGATE_VERDICT_EXEMPT_PORT;
	if (is_out_of_scope(cfg, pkt))
		return XDPGATE_VERDICT_OUT_OF_SCOPE;
	if (is_allowed(pkt))
		return XDPGATE_VERDICT_ALLOWED;
	if (is_reply(cfg, pkt))
		return XDPGATE_VERDICT_REPLY;
	sample_denied_source(cfg, pkt);
	denied = cfg->mode == XDPGATE_MODE_ENFORCE ? XDPGATE_VERDICT_DROPPED
						   : XDPGATE_VERDICT_WOULD_DROP;
	follow_denied(ctx, cfg, pkt, denied);
	return denied;
}

/* The one exit: counts the verdict and turns it into an XDP action. */
static __always_inline int record_verdict(struct xdp_md *ctx,
					  const struct xdpgate_config *cfg,
					  enum xdpgate_verdict verdict)
{
	__u32 index = verdict;
	struct xdpgate_verdict_counter *counter =
		bpf_map_lookup_elem(&verdict_counters, &index);

	if (counter) {
		counter->packets++;
		counter->bytes += ctx->data_end - ctx->data;
	}
	if (verdict == XDPGATE_VERDICT_DROPPED)
		return XDP_DROP;
	if (verdict == XDPGATE_VERDICT_MALFORMED &&
	    cfg->mode == XDPGATE_MODE_ENFORCE)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int xdpgate_xdp(struct xdp_md *ctx)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
		.limit = (void *)(long)ctx->data_end,
	};
	struct packet pkt = {};
	__u32 zero = 0;
	const struct xdpgate_config *cfg =
		bpf_map_lookup_elem(&runtime_config, &zero);
	enum xdpgate_verdict verdict;

	if (!cfg)
		return XDP_ABORTED; /* cannot happen: an array always has slot 0
				     */

	switch (parse_packet(&c, &pkt)) {
	case PARSE_NON_IP:
		verdict = XDPGATE_VERDICT_NON_IP;
		break;
	case PARSE_MALFORMED:
		verdict = XDPGATE_VERDICT_MALFORMED;
		break;
	default:
		verdict = pkt.is_ndp ? XDPGATE_VERDICT_NDP
				     : judge_ip(ctx, cfg, &pkt);
	}
	return record_verdict(ctx, cfg, verdict);
}

/*
 * Egress: records the flows this host opens (TCP SYN without ACK, UDP from an
 * ephemeral port, ICMP and ICMPv6 echo requests), so that step 6 lets their
 * replies in. It never changes a packet's fate.
 */
SEC("tc")
int xdpgate_tc_egress(struct __sk_buff *skb)
{
	struct cursor c = {
		.pos = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
		.limit = (void *)(long)skb->data_end,
	};
	struct packet pkt = {};
	struct xdpgate_flow_key key = {};
	__u64 now;
	__u8 remote[16] = {};

	if (parse_packet(&c, &pkt) != PARSE_OK || !pkt.dest)
		return TC_ACT_OK;
	if (pkt.echo == ECHO_REQUEST) {
		/* The echo id in the port's place; no local port. */
		pkt.source_port = 0;
		pkt.dest_port = pkt.echo_id;
	} else if (!pkt.has_ports) {
		return TC_ACT_OK;
	} else if (pkt.l4_protocol == IPPROTO_TCP) {
		if ((pkt.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) !=
		    TCP_FLAG_SYN)
			return TC_ACT_OK;
	} else if (pkt.source_port < EPHEMERAL_PORT_FIRST) {
		return TC_ACT_OK;
	}
	if (pkt.family == 4) {
		if ((void *)pkt.dest + 4 > c.end)
			return TC_ACT_OK;
		__builtin_memcpy(remote, pkt.dest, 4);
	} else {
		if ((void *)pkt.dest + 16 > c.end)
			return TC_ACT_OK;
		__builtin_memcpy(remote, pkt.dest, 16);
	}
	flow_key_of(&key, &pkt, remote, pkt.dest_port, pkt.source_port);
	now = bpf_ktime_get_coarse_ns();
	bpf_map_update_elem(&own_flows, &key, &now, BPF_ANY);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
