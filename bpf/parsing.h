/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing for the XDP program. Every helper keeps one contract: it
 * reads only bytes it has bounds-checked against the cursor's end, advances
 * the cursor past what it consumed, and reports a short frame as failure
 * instead of guessing. The caller turns a failure into the verdict
 * "malformed".
 */
#ifndef XDPGATE_PARSING_H
#define XDPGATE_PARSING_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdpgate/abi.h"

#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88A8

#define IPPROTO_HOPOPTS	 0
#define IPPROTO_ICMP	 1
#define IPPROTO_TCP	 6
#define IPPROTO_UDP	 17
#define IPPROTO_ROUTING	 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_ICMPV6	 58
#define IPPROTO_DSTOPTS	 60

#define IP_OFFSET_MASK	0x1FFF
#define IP6_OFFSET_MASK 0xFFF8

/* Echo request and reply: ICMP (RFC 792) and ICMPv6 (RFC 4443). */
#define ICMP_ECHO_REPLY	    0
#define ICMP_ECHO_REQUEST   8
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY   129
#define NDP_FIRST_TYPE	    133 /* router solicitation */
#define NDP_LAST_TYPE	    137 /* redirect */

#define TC_ACT_OK 0

struct cursor {
	void *pos;
	void *end;   /* end of the frame: the bound the verifier checks */
	void *limit; /* end of the IP datagram, once known; else the frame's */
};

/* What the verdict needs to know of a frame. */
struct packet {
	__u8 family; /* 4 or 6 */
	__u8 l4_protocol;
	__u8 has_ports; /* first/unfragmented TCP or UDP with a full header */
	__u8 is_ndp;
	__u8 echo;	   /* an ECHO_* below, with echo_id; 0: none */
	__u8 tcp_flags;	   /* byte 13 of the TCP header */
	__u16 echo_id;	   /* host order */
	__u16 source_port; /* host order */
	__u16 dest_port;   /* host order */
	/* network order; IPv4 uses the first 4 bytes. Aligned so the host
	 * filter's hash reads it as whole words (stack reads must be aligned).
	 */
	__u8 source[16] __attribute__((aligned(8)));
	const void *dest; /* in the frame; 4 or 16 bytes, bounds-checked */
};

#define ECHO_REQUEST 1
#define ECHO_REPLY   2

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

enum parse_result {
	PARSE_OK,
	PARSE_NON_IP,
	PARSE_MALFORMED,
};

/* Returns a pointer to the next len bytes and consumes them, or NULL. */
static __always_inline void *cursor_take(struct cursor *c, __u32 len)
{
	void *start = c->pos;

	if (start + len > c->end || start + len > c->limit)
		return NULL;
	c->pos = start + len;
	return start;
}

/* Ethernet and up to XDPGATE_MAX_VLAN_TAGS tags; stores the inner ethertype. */
static __always_inline enum parse_result parse_ethernet(struct cursor *c,
							__be16 *ethertype)
{
	struct ethhdr *eth = cursor_take(c, sizeof(*eth));
	__be16 proto;

	if (!eth)
		return PARSE_MALFORMED;
	proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < XDPGATE_MAX_VLAN_TAGS; i++) {
		struct vlan_hdr *vlan;

		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		vlan = cursor_take(c, sizeof(*vlan));
		if (!vlan)
			return PARSE_MALFORMED;
		proto = vlan->h_vlan_encapsulated_proto;
	}
	*ethertype = proto;
	return PARSE_OK;
}

/*
 * An echo request or reply whose type is `type` and whose identifier follows
 * at the cursor (after the checksum). A message too short to carry the
 * identifier is no echo: still not malformed, as before echoes were looked at.
 */
static __always_inline void parse_echo(struct cursor *c, struct packet *pkt,
				       __u8 type, __u8 request, __u8 reply)
{
	__be16 *id;

	if (type != request && type != reply)
		return;
	id = cursor_take(c, sizeof(*id));
	if (!id)
		return;
	pkt->echo = type == request ? ECHO_REQUEST : ECHO_REPLY;
	pkt->echo_id = bpf_ntohs(*id);
}

/* Reads the TCP/UDP ports, or the ICMP type and echo identifier, at the
 * cursor. */
static __always_inline enum parse_result parse_l4(struct cursor *c,
						  struct packet *pkt)
{
	if (pkt->l4_protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = cursor_take(c, sizeof(*tcp));

		if (!tcp)
			return PARSE_MALFORMED;
		pkt->source_port = bpf_ntohs(tcp->source);
		pkt->dest_port = bpf_ntohs(tcp->dest);
		pkt->tcp_flags = ((__u8 *)tcp)[13];
		pkt->has_ports = 1;
	} else if (pkt->l4_protocol == IPPROTO_UDP) {
		struct udphdr *udp = cursor_take(c, sizeof(*udp));

		if (!udp)
			return PARSE_MALFORMED;
		pkt->source_port = bpf_ntohs(udp->source);
		pkt->dest_port = bpf_ntohs(udp->dest);
		pkt->has_ports = 1;
	} else if (pkt->l4_protocol == IPPROTO_ICMPV6 && pkt->family == 6) {
		/* Type, code, checksum: all an ICMPv6 message must carry. */
		__u8 *icmp = cursor_take(c, 4);

		if (!icmp)
			return PARSE_MALFORMED;
		pkt->is_ndp =
			icmp[0] >= NDP_FIRST_TYPE && icmp[0] <= NDP_LAST_TYPE;
		parse_echo(c, pkt, icmp[0], ICMPV6_ECHO_REQUEST,
			   ICMPV6_ECHO_REPLY);
	} else if (pkt->l4_protocol == IPPROTO_ICMP && pkt->family == 4) {
		/* Type, code, checksum; an ICMP header is not checked further.
		 */
		__u8 *icmp = cursor_take(c, 4);

		if (icmp)
			parse_echo(c, pkt, icmp[0], ICMP_ECHO_REQUEST,
				   ICMP_ECHO_REPLY);
	}
	return PARSE_OK;
}

static __always_inline enum parse_result parse_ipv4(struct cursor *c,
						    struct packet *pkt)
{
	struct iphdr *ip = cursor_take(c, sizeof(*ip));
	void *l4;

	if (!ip || ip->version != 4 || ip->ihl < 5)
		return PARSE_MALFORMED;
	/* Skip the options from the header start: ihl * 4 is at most 60,
	 * a bound the verifier can see. */
	l4 = (void *)ip + ip->ihl * 4;
	if (l4 > c->end)
		return PARSE_MALFORMED;
	/* A frame shorter than its own total length was cut on the way. */
	if (bpf_ntohs(ip->tot_len) < ip->ihl * 4 ||
	    (void *)ip + bpf_ntohs(ip->tot_len) > c->end)
		return PARSE_MALFORMED;
	c->pos = l4;
	/* Headers past the datagram's own end are not part of it. */
	c->limit = (void *)ip + bpf_ntohs(ip->tot_len);

	pkt->family = 4;
	__builtin_memcpy(pkt->source, &ip->saddr, 4);
	pkt->dest = &ip->daddr;
	pkt->l4_protocol = ip->protocol;
	/* A non-first fragment carries no ports: judge it by source alone. */
	if (ip->frag_off & bpf_htons(IP_OFFSET_MASK))
		return PARSE_OK;
	return parse_l4(c, pkt);
}

static __always_inline int is_ipv6_extension(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT;
}

static __always_inline enum parse_result parse_ipv6(struct cursor *c,
						    struct packet *pkt)
{
	struct ipv6hdr *ip = cursor_take(c, sizeof(*ip));
	__u8 nexthdr;

	if (!ip || ip->version != 6)
		return PARSE_MALFORMED;
	/* Cut short of its payload length. (A jumbogram's 0 cannot occur on
	 * Ethernet; it reads as an empty payload.) */
	if (c->pos + bpf_ntohs(ip->payload_len) > c->end)
		return PARSE_MALFORMED;
	c->limit = c->pos + bpf_ntohs(ip->payload_len);
	pkt->family = 6;
	__builtin_memcpy(pkt->source, &ip->saddr, 16);
	pkt->dest = &ip->daddr;
	nexthdr = ip->nexthdr;

#pragma unroll
	for (int i = 0; i < XDPGATE_MAX_IPV6_EXT_HEADERS; i++) {
		if (!is_ipv6_extension(nexthdr))
			break;
		if (nexthdr == IPPROTO_FRAGMENT) {
			struct frag_hdr *frag = cursor_take(c, sizeof(*frag));

			if (!frag)
				return PARSE_MALFORMED;
			nexthdr = frag->nexthdr;
			if (frag->frag_off & bpf_htons(IP6_OFFSET_MASK)) {
				pkt->l4_protocol = nexthdr;
				return PARSE_OK; /* non-first fragment */
			}
		} else {
			struct ipv6_opt_hdr *opt = cursor_take(c, sizeof(*opt));
			__u32 rest;

			if (!opt)
				return PARSE_MALFORMED;
			/* hdrlen counts 8-octet units beyond the first 8. */
			rest = opt->hdrlen * 8 + 8 - sizeof(*opt);
			if (!cursor_take(c, rest))
				return PARSE_MALFORMED;
			nexthdr = opt->nexthdr;
		}
	}
	pkt->l4_protocol = nexthdr;
	/* Past the bound the L4 header stays unknown: judge by source alone. */
	if (is_ipv6_extension(nexthdr))
		return PARSE_OK;
	return parse_l4(c, pkt);
}

/* Reads the ports of a TCP or UDP header known to be in the frame. */
static __always_inline void read_ports(struct packet *pkt, const __u8 *l4)
{
	const struct udphdr *ports = (const void *)l4; /* TCP's start alike */

	pkt->source_port = bpf_ntohs(ports->source);
	pkt->dest_port = bpf_ntohs(ports->dest);
	if (pkt->l4_protocol == IPPROTO_TCP)
		pkt->tcp_flags = l4[13];
	pkt->has_ports = 1;
}

/*
 * The common frame in one pass: untagged Ethernet, IPv4 without options
 * (first fragment or none) or IPv6 without extension headers, then a whole
 * TCP or UDP header inside the frame and the datagram. Returns 1 with pkt
 * and the cursor as the general parser leaves them for such a frame, or 0
 * with both untouched for any other frame, which the general parser then
 * reads from the start (and may well find malformed).
 */
static __always_inline int parse_common_frame(struct cursor *c,
					      struct packet *pkt)
{
	struct ethhdr *eth = c->pos;
	__u8 *l3 = (__u8 *)(eth + 1);
	__u8 *l4, *datagram_end;
	__u32 l4_size;
	__u8 protocol;

	if ((void *)(eth + 1) > c->end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)l3;

		l4 = (__u8 *)(ip + 1);
		/* Version 4 and a 5-word header: no options. */
		if ((void *)l4 > c->end || l3[0] != 0x45 ||
		    (ip->frag_off & bpf_htons(IP_OFFSET_MASK)))
			return 0;
		datagram_end = l3 + bpf_ntohs(ip->tot_len);
		protocol = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip = (void *)l3;

		l4 = (__u8 *)(ip + 1);
		if ((void *)l4 > c->end || ip->version != 6)
			return 0;
		datagram_end = l4 + bpf_ntohs(ip->payload_len);
		protocol = ip->nexthdr;
	} else {
		return 0;
	}
	if ((void *)datagram_end > c->end)
		return 0;
	/* Constant sizes: the verifier then knows the header is in bounds. */
	if (protocol == IPPROTO_TCP) {
		if ((void *)(l4 + sizeof(struct tcphdr)) > c->end ||
		    l4 + sizeof(struct tcphdr) > datagram_end)
			return 0;
		l4_size = sizeof(struct tcphdr);
	} else if (protocol == IPPROTO_UDP) {
		if ((void *)(l4 + sizeof(struct udphdr)) > c->end ||
		    l4 + sizeof(struct udphdr) > datagram_end)
			return 0;
		l4_size = sizeof(struct udphdr);
	} else {
		return 0;
	}

	pkt->l4_protocol = protocol;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)l3;

		pkt->family = 4;
		__builtin_memcpy(pkt->source, &ip->saddr, 4);
		pkt->dest = &ip->daddr;
	} else {
		struct ipv6hdr *ip = (void *)l3;

		pkt->family = 6;
		__builtin_memcpy(pkt->source, &ip->saddr, 16);
		pkt->dest = &ip->daddr;
	}
	read_ports(pkt, l4);
	c->pos = l4 + l4_size;
	c->limit = datagram_end;
	return 1;
}

static __always_inline enum parse_result parse_packet(struct cursor *c,
						      struct packet *pkt)
{
	__be16 proto = 0;

	if (parse_common_frame(c, pkt))
		return PARSE_OK;

	if (parse_ethernet(c, &proto) != PARSE_OK)
		return PARSE_MALFORMED;
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(c, pkt);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(c, pkt);
	/* More tags than we accept hide the real protocol. */
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return PARSE_MALFORMED;
	return PARSE_NON_IP;
}

#endif /* XDPGATE_PARSING_H */
