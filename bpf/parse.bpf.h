/* BPF-only packet parsing: one cursor, one parser per header, each bounds-checked. */
#ifndef PROBESCOPE_PARSE_BPF_H
#define PROBESCOPE_PARSE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "probescope/abi.h" /* PS_MAX_VLAN */

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

#define PS_MAX_IPV6_EXT 8
#define PS_MAX_TCP_OPTS 12

enum {
	NEXTHDR_HOP = 0,
	NEXTHDR_ROUTING = 43,
	NEXTHDR_FRAGMENT = 44,
	NEXTHDR_AUTH = 51,
	NEXTHDR_DEST = 60
};
enum { PS_IPPROTO_ICMP = 1, PS_IPPROTO_TCP = 6, PS_IPPROTO_UDP = 17, PS_IPPROTO_ICMPV6 = 58 };

/* The cursor: where the next header starts. Every parser checks it against data_end. */
struct hdr_cursor {
	void *pos;
	void *end;
	void *l3; /* IP header, once parsed */
	void *l4; /* L4 header, once parsed */
};

/* Returns the inner ethertype (host order) after up to PS_MAX_VLAN tags, or -1 if truncated. */
static __always_inline int parse_ethhdr(struct hdr_cursor *c)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr {
		__be16 tci;
		__be16 proto;
	} * vh;
	__u16 proto;

	if ((void *)(eth + 1) > c->end)
		return -1;
#ifdef PROBESCOPE_BPF_UNSAFE
	/* vmtest self-check only: one byte past the checked header; every verifier must refuse. */
	(void)*(volatile __u8 *)(eth + 1);
#endif
	proto = bpf_ntohs(eth->h_proto);
	c->pos = eth + 1;
#pragma unroll
	for (int i = 0; i < PS_MAX_VLAN; i++) {
		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return -1;
		proto = bpf_ntohs(vh->proto);
		c->pos = vh + 1;
	}
	return proto;
}

#endif /* PROBESCOPE_PARSE_BPF_H */
