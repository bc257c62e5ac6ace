/* Benchmark traffic source: rewrites a template SYN per frame and redirects it out of a veth. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Run by BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES (tests/tools/probescope_blast.cpp).
 * The page pool recycles frames without resetting them, so every field that varies is written
 * on every run: nothing may depend on what the previous frame left behind. The mode of each
 * frame comes from its position in a 1000-frame cycle, so one test run carries the whole mix
 * (a test run sets up a page pool: short runs cost more than the frames they send).
 */

enum gen_mode {
	GEN_FLOOD_V4 = 0, /* random source in 240.0.0.0/4, random port and seq, to flood_port */
	GEN_SCAN_V4 = 1,  /* scanner sources walk the target's ports, nmap-shaped */
	GEN_FLOOD_V6 = 2, /* random source in 2001:db8::/32, to flood_port */
	GEN_MODE_COUNT,
};

const volatile __u32 out_ifindex;
const volatile __u32 scan_src_base; /* host order, first scanner address */
const volatile __u32 scan_src_count;
const volatile __u32 scan_dst; /* host order, the target */
const volatile __u8 scan_dst6[16];
const volatile __u32 scan_port_lo;
const volatile __u32 scan_port_count;
const volatile __u32 flood_port;
/* The mix, per 1000 frames: the rest is the IPv4 flood. */
const volatile __u32 scan_permille;
const volatile __u32 v6_permille;

/* Read by user space after the runs (mmapped .bss); one generator thread at a time. */
__u64 frames[GEN_MODE_COUNT]; /* frames this program returned XDP_REDIRECT for */
__u64 scan_next;	      /* position in the scanners' (source, port) walk */
__u64 frame_next;	      /* position in the 1000-frame mix cycle */

#define ETH_LEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IP4_LEN 20
#define IP6_LEN 40
#define TCP_LEN 24 /* with the MSS option nmap sends */
/* The template is as long as the IPv6 frame; IPv4 frames carry the rest as Ethernet padding. */
#define FRAME_LEN (ETH_LEN + IP6_LEN + TCP_LEN)

static __always_inline __u16 fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* A SYN with window 1024 and MSS 1460 (nmap's shape); checksummed, so the stack takes it. */
static __always_inline void syn(struct tcphdr *tcp, __u16 sport, __u16 dport, __u32 seq,
				__u64 pseudo)
{
	__u8 *opt = (__u8 *)(tcp + 1);

	tcp->source = bpf_htons(sport);
	tcp->dest = bpf_htons(dport);
	tcp->seq = bpf_htonl(seq);
	tcp->ack_seq = 0;
	((__u16 *)tcp)[6] = bpf_htons(((TCP_LEN / 4) << 12) | 0x02);
	tcp->window = bpf_htons(1024);
	tcp->check = 0;
	tcp->urg_ptr = 0;
	opt[0] = 2;
	opt[1] = 4;
	opt[2] = 1460 >> 8;
	opt[3] = 1460 & 0xff;
	__s64 s = bpf_csum_diff(0, 0, (__be32 *)tcp, TCP_LEN, 0);
	tcp->check = fold(pseudo + (__u32)s);
}

static __always_inline void v4_frame(struct ethhdr *eth, int scan)
{
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)ip + IP4_LEN;
	__u32 src, seq;
	__u16 sport, dport;

	if (scan) {
		/* One source port and seq per scanner, as nmap -sS sends. */
		__u64 n = scan_next++;
		__u32 nsrc = scan_src_count ? scan_src_count : 1;
		__u32 who = n % nsrc;

		src = scan_src_base + who;
		dport = scan_port_lo + (__u32)(n / nsrc) % (scan_port_count ? scan_port_count : 1);
		sport = 40000 + (__u16)who;
		seq = 0x5c0ffee0 + who;
	} else {
		src = 0xf0000000 | (bpf_get_prandom_u32() & 0x0fffffff);
		dport = flood_port;
		sport = 1024 + (__u16)(bpf_get_prandom_u32() % 60000);
		seq = bpf_get_prandom_u32();
	}
	eth->h_proto = bpf_htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(IP4_LEN + TCP_LEN);
	ip->id = (__u16)seq;
	ip->frag_off = 0;
	ip->ttl = 48;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = bpf_htonl(src);
	ip->daddr = bpf_htonl(scan_dst);
	ip->check = 0;
	__u16 *w = (__u16 *)ip;
	__u64 sum = 0;

	for (int i = 0; i < IP4_LEN / 2; i++)
		sum += w[i];
	ip->check = fold(sum);
	sum = (__u64)ip->saddr + ip->daddr + bpf_htons(IPPROTO_TCP) + bpf_htons(TCP_LEN);
	syn(tcp, sport, dport, seq, sum);
}

static __always_inline void v6_frame(struct ethhdr *eth)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)ip6 + IP6_LEN;
	__u32 *src = (__u32 *)&ip6->saddr, *dst = (__u32 *)&ip6->daddr;
	__u64 pseudo = bpf_htonl(TCP_LEN) + bpf_htonl(IPPROTO_TCP);

	eth->h_proto = bpf_htons(ETH_P_IPV6);
	*(__u32 *)ip6 = bpf_htonl(6 << 28);
	ip6->payload_len = bpf_htons(TCP_LEN);
	ip6->nexthdr = IPPROTO_TCP;
	ip6->hop_limit = 48;
	src[0] = bpf_htonl(0x20010db8);
	src[1] = bpf_get_prandom_u32();
	src[2] = bpf_get_prandom_u32();
	src[3] = bpf_get_prandom_u32();
	for (int i = 0; i < 16; i++)
		ip6->daddr.in6_u.u6_addr8[i] = scan_dst6[i];
	for (int i = 0; i < 4; i++)
		pseudo += (__u64)src[i] + dst[i];
	syn(tcp, 1024 + (__u16)(bpf_get_prandom_u32() % 60000), flood_port, bpf_get_prandom_u32(),
	    pseudo);
}

SEC("xdp")
int gen_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 slot = frame_next++ % 1000;
	__u32 m = slot < scan_permille		       ? GEN_SCAN_V4
		  : slot < scan_permille + v6_permille ? GEN_FLOOD_V6
						       : GEN_FLOOD_V4;

	if (data + FRAME_LEN > end)
		return XDP_ABORTED;
	if (m == GEN_FLOOD_V6)
		v6_frame(data);
	else
		v4_frame(data, m == GEN_SCAN_V4);
	frames[m]++;
	return bpf_redirect(out_ifindex, 0);
}
