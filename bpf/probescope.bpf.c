/* probescope's XDP program: classify every inbound frame and count probes per source and port. */
#include "parse.bpf.h"
#include "probescope/abi.h"
#include "probescope/track.h"
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Tunables, set by the agent before load. */
const volatile __u32 clock_source = PS_CLOCK_JIFFIES;

/* Count only IP frames toward the dst_prefixes trie (replay --dst: a capture holds replies too). */
const volatile __u8 filter_dst = 0;

/* src_pending slots - 1 (a power of two minus one); 0: every source goes straight to src_stats. */
const volatile __u32 pending_mask = 0;

/*
 * Live clock (PS_CLOCK_JIFFIES): CLOCK_MONOTONIC ns at the last tick, jiffies * tick_ns +
 * jiffies_base_ns. The agent measures both with ps_clock_sample after the load and before the
 * program is attached (LoadedProgram::calibrate_clock).
 */
volatile __u64 tick_ns;
volatile __u64 jiffies_base_ns;

/* What ps_clock_sample read: the coarse CLOCK_MONOTONIC, jiffies, the coarse clock again. */
volatile __u64 sample_coarse0_ns, sample_jiffies, sample_coarse1_ns;

/* Template for new src_stats entries; never written by the program. */
static const struct ps_src_stats zero_src;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_totals);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the agent sets the real size before load */
	__type(key, struct ps_src_key);
	__type(value, struct ps_src_stats);
} src_stats SEC(".maps");

/* First probes of sources not in src_stats (see track.h); the agent drains it in place. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* the agent sets the real size before load */
	__type(key, __u32);
	__type(value, struct ps_pending);
} src_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE); /* the agent reads it in place, no copy */
	__uint(max_entries, PS_PORT_TABLE_SIZE);
	__type(key, __u32);
	__type(value, struct ps_port_stats);
} port_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PS_PORT_TABLE_SIZE); /* times the possible CPUs: the agent sizes it */
	__type(key, __u32);
	__type(value, __u64);
} port_pkts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 256);
	__type(key, struct ps_prefix_key);
	__type(value, __u8);
} dst_prefixes SEC(".maps");

/* What the parser learned about one frame; filled only as far as the class needs. */
struct pkt_info {
	__u32 cls;
	__u8 l4proto;
	__u8 tcp_flags;
	__u8 ttl;
	__u8 is_v4;
	__u16 sport;
	__u16 dport;
	__u16 ip_id;
	__u32 l4_off; /* byte offset of the L4 header in the frame */
	struct ps_src_key src;
	__u8 dst[16];
};

/*
 * The probescope clock on a probe path. jiffies, not bpf_ktime_get_coarse_ns: both move once a
 * tick, but the x86-64 verifier inlines bpf_jiffies64() into one load where the coarse clock
 * is a helper call (the jiffies_clock and coarse_clock primitives in bench/results.md).
 * Under replay (PS_CLOCK_USER) the frame carries its capture time in front of it, as
 * PS_REPLAY_META_BYTES of XDP metadata: each frame its own time, whichever CPU runs it.
 */
static __always_inline __u64 ps_now(struct xdp_md *ctx)
{
	if (clock_source == PS_CLOCK_USER) {
		void *meta = (void *)(long)ctx->data_meta;
		__u64 t;

		if (meta + PS_REPLAY_META_BYTES > (void *)(long)ctx->data)
			return 0;
		__builtin_memcpy(&t, meta, sizeof(t));
		return t;
	}
	return bpf_jiffies64() * tick_ns + jiffies_base_ns;
}

static __always_inline __u32 icmp_class(__u8 type, int v6)
{
	if (v6) {
		if (type == 128)
			return PS_CLASS_ICMP_ECHO;
		if (type < 128) /* 1 unreachable, 2 too big, 3 time exceeded, 4 parameter */
			return PS_CLASS_ICMP_ERROR;
		return PS_CLASS_ICMP_OTHER;
	}
	if (type == 8)
		return PS_CLASS_ICMP_ECHO;
	if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12)
		return PS_CLASS_ICMP_ERROR;
	return PS_CLASS_ICMP_OTHER;
}

/*
 * An ACK or FIN+ACK probe (nmap -sA/-sW/-sM) is a bare segment: no options, no payload, and on
 * IPv4 no DF bit, which every common stack sets on its own segments. IPv6 has no DF bit, so there
 * the window must also be 1024, as raw-packet scanners send. Established traffic with options,
 * payload or DF leaves on the fast path after these few compares.
 */
static __always_inline int is_ack_probe(struct hdr_cursor *c, struct pkt_info *p, struct tcphdr *th)
{
	__u8 f = p->tcp_flags & 0x3f;

	if ((f != PS_TCP_ACK && f != (PS_TCP_ACK | PS_TCP_FIN)) || th->doff != 5)
		return 0;
	if (p->is_v4) {
		struct iphdr *iph = c->l3;

		if ((void *)(iph + 1) > c->end || (iph->frag_off & bpf_htons(0x4000)))
			return 0;
		return bpf_ntohs(iph->tot_len) == iph->ihl * 4 + sizeof(*th);
	} else {
		struct ipv6hdr *ip6 = c->l3;

		if ((void *)(ip6 + 1) > c->end || bpf_ntohs(th->window) != 1024)
			return 0;
		return bpf_ntohs(ip6->payload_len) == (void *)(th + 1) - (void *)(ip6 + 1);
	}
}

/* Parses L4 at c->pos; fills the class and, for TCP/UDP, the ports. */
static __always_inline void parse_l4(struct hdr_cursor *c, struct pkt_info *p)
{
	c->l4 = c->pos;
	if (p->l4proto == PS_IPPROTO_TCP) {
		struct tcphdr *th = c->pos;

		if ((void *)(th + 1) > c->end || th->doff < 5) {
			p->cls = PS_CLASS_MALFORMED;
			return;
		}
		p->tcp_flags = ((__u8 *)th)[13];
		p->cls = ps_tcp_class(p->tcp_flags);
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		if (p->cls == PS_CLASS_TCP_OTHER && is_ack_probe(c, p, th))
			p->cls = PS_CLASS_TCP_ACK_PROBE;
		return;
	}
	if (p->l4proto == PS_IPPROTO_UDP) {
		struct udphdr *uh = c->pos;

		if ((void *)(uh + 1) > c->end) {
			p->cls = PS_CLASS_MALFORMED;
			return;
		}
		p->cls = PS_CLASS_UDP;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		return;
	}
	if (p->l4proto == PS_IPPROTO_ICMP || p->l4proto == PS_IPPROTO_ICMPV6) {
		__u8 *ih = c->pos;

		if ((void *)(ih + 4) > c->end) {
			p->cls = PS_CLASS_MALFORMED;
			return;
		}
		p->cls = icmp_class(ih[0], p->l4proto == PS_IPPROTO_ICMPV6);
		return;
	}
	p->cls = PS_CLASS_OTHER_IP;
}

static __always_inline void parse_ipv4(struct hdr_cursor *c, struct pkt_info *p)
{
	struct iphdr *iph = c->pos;
	__u32 hlen;

	if ((void *)(iph + 1) > c->end) {
		p->cls = PS_CLASS_MALFORMED;
		return;
	}
	hlen = iph->ihl * 4;
	if (iph->version != 4 || hlen < sizeof(*iph) || bpf_ntohs(iph->tot_len) < hlen ||
	    c->pos + hlen > c->end) {
		p->cls = PS_CLASS_MALFORMED;
		return;
	}
	p->is_v4 = 1;
	c->l3 = iph;
	p->ttl = iph->ttl;
	p->ip_id = bpf_ntohs(iph->id);
	p->l4proto = iph->protocol;
	if (bpf_ntohs(iph->frag_off) & IP_OFFSET) {
		p->cls = PS_CLASS_FRAGMENT;
		return;
	}
	c->pos += hlen;
	parse_l4(c, p);
}

static __always_inline int is_ipv6_ext(__u8 nexthdr)
{
	return nexthdr == NEXTHDR_HOP || nexthdr == NEXTHDR_ROUTING || nexthdr == NEXTHDR_DEST ||
	       nexthdr == NEXTHDR_FRAGMENT || nexthdr == NEXTHDR_AUTH;
}

static __always_inline void parse_ipv6(struct hdr_cursor *c, struct pkt_info *p)
{
	struct ipv6hdr *ip6 = c->pos;
	__u8 *base, nexthdr;
	__u32 off = 0; /* bytes of extension headers after the fixed header */

	if ((void *)(ip6 + 1) > c->end || ip6->version != 6) {
		p->cls = PS_CLASS_MALFORMED;
		return;
	}
	c->l3 = ip6;
	p->ttl = ip6->hop_limit;
	nexthdr = ip6->nexthdr;
	base = (void *)(ip6 + 1);

	/*
	 * Up to PS_MAX_IPV6_EXT extension headers, then the upper layer (parsed once, below). off
	 * is masked to 15 bits as it grows, a no-op (8 headers of at most 2048 bytes): chains of
	 * different lengths then reach the next header, and parse_l4, with off in the same 15-bit
	 * range, not one that grows with each header, and the verifier prunes most of them
	 * against each other instead of walking each chain on its own. (Written as the loop's
	 * condition, the header check keeps clang from entering the loop in its middle: 6.1's
	 * CFG check refuses a loop whose last instruction falls through into its first.)
	 */
	for (int i = 0; i < PS_MAX_IPV6_EXT && is_ipv6_ext(nexthdr); i++) {
		__u8 *eh = base + off;
		__u32 len;

		if ((void *)(eh + 8) > c->end) { /* every extension header is >= 8 bytes */
			p->cls = PS_CLASS_MALFORMED;
			return;
		}
		if (nexthdr == NEXTHDR_FRAGMENT) {
			__u16 frag = (__u16)eh[2] << 8 | eh[3];

			p->ip_id = (__u16)eh[6] << 8 | eh[7]; /* low half of the fragment id */
			if (frag & 0xfff8) {
				p->l4proto = eh[0];
				p->cls = PS_CLASS_FRAGMENT;
				return;
			}
			len = 8;
		} else if (nexthdr == NEXTHDR_AUTH) {
			len = ((__u32)eh[1] + 2) * 4;
		} else {
			len = ((__u32)eh[1] + 1) * 8;
		}
		nexthdr = eh[0];
		if ((void *)(eh + len) > c->end) {
			p->cls = PS_CLASS_MALFORMED;
			return;
		}
		off = (off + len) & 0x7fff;
	}
	if (is_ipv6_ext(nexthdr)) {
		/* Longer extension chains than any sane sender uses: an evasion attempt. */
		p->cls = PS_CLASS_MALFORMED;
		return;
	}
	c->pos = base + off;
	p->l4proto = nexthdr;
	parse_l4(c, p);
}

/*
 * Shape and MSS of the TCP options at byte offset tcp_off, packed as shape << 16 | mss.
 * A global function: the verifier checks it once, not once per parser path.
 */
__noinline int ps_tcp_opts(struct xdp_md *ctx, __u32 tcp_off)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *th, *opt;
	__u32 optlen, off = 0, nopts = 0, mss = 0, mss_seen = 0;

	if (tcp_off > 0x1000)
		return PS_OPTS_MALFORMED << 16;
	th = data + tcp_off;
	if ((void *)(th + 20) > end)
		return PS_OPTS_MALFORMED << 16;
	optlen = th[12] >> 4 > 5 ? (th[12] >> 4) * 4 - 20 : 0; /* at most 40 */
	if ((void *)(th + 20 + optlen) > end)
		return PS_OPTS_MALFORMED << 16;
	/*
	 * off walks the options as a number, not a pointer, masked to 6 bits at the top of each
	 * round (a no-op: off < optlen <= 40). Every option sequence then reaches the next option
	 * with off in the same 6-bit range, not one that grows with each option, and the verifier
	 * prunes them against each other instead of walking each sequence on its own (67,520
	 * instructions walked here before, 6,183 now).
	 */
	for (int i = 0; i < PS_MAX_TCP_OPTS; i++) {
		__u8 kind, len;

		if (off >= optlen)
			break;
		off &= 63;
		opt = th + 20 + off;
		if ((void *)(opt + 1) > end) /* never: optlen was checked; the verifier needs it */
			break;
		kind = opt[0];
		if (kind == 0) /* end of options */
			break;
		if (kind == 1) { /* NOP */
			off++;
			nopts++;
			continue;
		}
		if ((void *)(opt + 2) > end)
			return PS_OPTS_MALFORMED << 16;
		len = opt[1];
		if (len < 2 || off + len > optlen)
			return PS_OPTS_MALFORMED << 16;
		if (kind == 2 && len == 4 && (void *)(opt + 4) <= end) {
			mss = (__u32)opt[2] << 8 | opt[3];
			mss_seen = 1;
		}
		nopts++;
		off += len;
	}
	if (nopts == 0)
		return PS_OPTS_NONE << 16;
	if (nopts == 1 && mss_seen)
		return PS_OPTS_MSS_ONLY << 16 | mss;
	if (mss_seen)
		return PS_OPTS_STACK << 16 | mss;
	return PS_OPTS_OTHER << 16;
}

/* Reads the TCP header facts of a probe at p->l4_off (never on the fast path). */
static __always_inline int read_tcp_facts(struct xdp_md *ctx, struct pkt_info *p,
					  struct ps_probe_facts *f)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct tcphdr *th;
	__u32 opts, off = p->l4_off;

	if (off > 0x1000)
		return -1;
	th = data + off;
	if ((void *)(th + 1) > end)
		return -1;
	f->seq = bpf_ntohl(th->seq);
	f->window = bpf_ntohs(th->window);
	opts = ps_tcp_opts(ctx, off);
	f->opts_shape = opts >> 16;
	f->mss = opts & 0xffff;
	return 0;
}

static __always_inline void copy_addrs(struct pkt_info *p, struct hdr_cursor *c)
{
	void *end = c->end;
	struct ps_src_key *src = &p->src;
	__u8 *dst = p->dst;

	if (p->is_v4) {
		struct iphdr *iph = c->l3;

		if ((void *)(iph + 1) > end)
			return;
		src->addr[10] = 0xff;
		src->addr[11] = 0xff;
		__builtin_memcpy(&src->addr[12], &iph->saddr, 4);
		dst[10] = 0xff;
		dst[11] = 0xff;
		__builtin_memcpy(&dst[12], &iph->daddr, 4);
	} else {
		struct ipv6hdr *ip6 = c->l3;

		if ((void *)(ip6 + 1) > end)
			return;
		__builtin_memcpy(src->addr, &ip6->saddr, 16);
		__builtin_memcpy(dst, &ip6->daddr, 16);
	}
}

/* The facts of a packet its parse already holds (the TCP header's are read_tcp_facts'). */
static __always_inline void header_facts(const struct pkt_info *p, struct ps_probe_facts *f)
{
	f->sport = p->sport;
	f->dport = p->dport;
	f->ttl = p->ttl;
	f->ip_id = p->ip_id;
	f->tcp_flags = p->tcp_flags;
	f->l4proto = p->l4proto;
}

static __always_inline __u32 technique_of(__u32 cls, __u8 flags)
{
	__u8 f = flags & 0x3f;

	switch (cls) {
	case PS_CLASS_TCP_SYN:
		return (flags & (PS_TCP_ECE | PS_TCP_CWR)) == (PS_TCP_ECE | PS_TCP_CWR)
			       ? PS_TECH_SYN_ECN
			       : PS_TECH_SYN;
	case PS_CLASS_TCP_ACK_PROBE:
		return f & PS_TCP_FIN ? PS_TECH_MAIMON : PS_TECH_ACK;
	case PS_CLASS_UDP:
		return PS_TECH_UDP;
	case PS_CLASS_ICMP_ECHO:
		return PS_TECH_ICMP_ECHO;
	case PS_CLASS_TCP_ODD:
		if (f == 0)
			return PS_TECH_NULL;
		if (f == PS_TCP_FIN)
			return PS_TECH_FIN;
		if (f == (PS_TCP_FIN | PS_TCP_PSH | PS_TCP_URG))
			return PS_TECH_XMAS;
		if (f == 0x3f)
			return PS_TECH_ALL_FLAGS;
		if ((f & (PS_TCP_SYN | PS_TCP_FIN)) == (PS_TCP_SYN | PS_TCP_FIN))
			return PS_TECH_SYN_FIN;
		if ((f & (PS_TCP_SYN | PS_TCP_RST)) == (PS_TCP_SYN | PS_TCP_RST))
			return PS_TECH_SYN_RST;
		return PS_TECH_OTHER_ODD;
	default:
		return PS_TECH_COUNT; /* backscatter has no technique */
	}
}

/* True when the len bytes at p equal s; p must already be bounds-checked for len bytes. */
static __always_inline int bytes_eq(const __u8 *p, const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (p[i] != (__u8)s[i])
			return 0;
	return 1;
}

/*
 * What a UDP probe asks for: peeks at most 48 payload bytes, never copies them anywhere.
 * A global function, verified once.
 */
__noinline int ps_udp_probe_kind(struct xdp_md *ctx, __u32 udp_off, __u32 dport)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *pl;

	if (udp_off > 0x1000)
		return PS_UDP_OTHER;
	pl = data + udp_off + 8;
	/* Bit 8 of the result: no payload, by the UDP length (frames may carry padding). */
	if ((void *)pl <= end && pl[-4] == 0 && pl[-3] == 8)
		return (dport == 19 ? PS_UDP_CHARGEN : PS_UDP_OTHER) | 0x100;
	if ((void *)(pl + 12) <= end && bytes_eq(pl, "d1:ad2:id20:", 12))
		return PS_UDP_DHT_KRPC;
	switch (dport) {
	case 19:
		return PS_UDP_CHARGEN;
	case 53:
		/* header (12) then QNAME \7version\4bind\0 */
		if ((void *)(pl + 26) <= end &&
		    bytes_eq(pl + 12,
			     "\x07version\x04"
			     "bind",
			     13) &&
		    pl[25] == 0)
			return PS_UDP_DNS_VERSION;
		break;
	case 123:
		if ((void *)(pl + 4) <= end && pl[0] == 0x17 && pl[1] == 0x00 && pl[2] == 0x03 &&
		    pl[3] == 0x2a)
			return PS_UDP_NTP_MONLIST;
		break;
	case 137:
		/* header (12), then the encoded name "*" (0x20 'C' 'K' ...), then type NBSTAT
		 * (0x21) */
		if ((void *)(pl + 48) <= end && pl[12] == 0x20 && pl[13] == 'C' && pl[14] == 'K' &&
		    pl[46] == 0x00 && pl[47] == 0x21)
			return PS_UDP_NETBIOS_NBSTAT;
		break;
	case 161:
		/* SEQUENCE, INTEGER version, OCTET STRING "public" (short or one-byte long length)
		 */
		if ((void *)(pl + 14) <= end && pl[0] == 0x30 &&
		    ((pl[5] == 0x04 && pl[6] == 6 && bytes_eq(pl + 7, "public", 6)) ||
		     (pl[6] == 0x04 && pl[7] == 6 && bytes_eq(pl + 8, "public", 6))))
			return PS_UDP_SNMP_PUBLIC;
		break;
	case 389:
		if ((void *)(pl + 1) <= end && pl[0] == 0x30)
			return PS_UDP_CLDAP;
		break;
	case 1900:
		if ((void *)(pl + 8) <= end && bytes_eq(pl, "M-SEARCH", 8))
			return PS_UDP_SSDP;
		break;
	case 11211:
		/* 8-byte memcached UDP frame header, then the command */
		if ((void *)(pl + 13) <= end && bytes_eq(pl + 8, "stats", 5))
			return PS_UDP_MEMCACHED;
		if ((void *)(pl + 15) <= end && bytes_eq(pl + 8, "version", 7))
			return PS_UDP_MEMCACHED;
		break;
	}
	return PS_UDP_OTHER;
}

/* What ps_track did, for the caller's totals (it holds them already). */
enum { PS_TRACK_INSERTED = 1, PS_TRACK_FAILED = 2, PS_TRACK_PENDING = 4 };

/* The packet as its source's counters need it (track.h); TCP header facts only if wanted. */
static __always_inline void probe_of(struct xdp_md *ctx, struct pkt_info *p, struct ps_probe *pr,
				     __u64 now, int want_facts)
{
	__u32 cls = p->cls;

	header_facts(p, &pr->f);
	pr->now_ns = now;
	pr->dst32 = ps_fold_addr(p->dst);
	pr->cls = cls;
	pr->tech = technique_of(cls, p->tcp_flags);
	pr->flags = p->is_v4 ? PS_PROBE_V4 : 0;
	if (ps_tcp_probe_class(cls)) {
		if (want_facts && read_tcp_facts(ctx, p, &pr->f) == 0) {
			pr->flags |= PS_PROBE_FACTS;
			pr->f.unicorn_key =
				pr->f.seq ^ pr->dst32 ^ ((__u32)pr->f.dport << 16 | pr->f.sport);
		}
	} else if (cls == PS_CLASS_UDP) {
		__u32 kind = ps_udp_probe_kind(ctx, p->l4_off, p->dport);

		pr->udp_kind = kind & 0xff;
		if (kind >> 8)
			pr->flags |= PS_PROBE_UDP_EMPTY;
	}
}

/*
 * A probe to port idx: this CPU's packet counter for the port (a plain add: no other CPU
 * writes it, and XDP does not nest on a CPU), and the source in the port's HLL when it is new
 * to the port.
 */
static __always_inline void count_port(__u32 idx, int new_src, const struct ps_src_key *key)
{
	__u32 slot = PS_PORT_PKTS_SLOT(bpf_get_smp_processor_id(), idx);
	struct ps_port_stats *ps;
	__u64 *pkts = bpf_map_lookup_elem(&port_pkts, &slot);

	if (pkts)
		*pkts += 1;
	if (!new_src)
		return;
	ps = bpf_map_lookup_elem(&port_stats, &idx);
	/* A race adds the source twice, which an HLL does not count. */
	if (ps)
		ps_hll_add(ps->src_hll, ps_mix32(ps_fold_addr(key->addr)));
}

/*
 * Counts one probe into a src_stats entry, and into port_stats when it is the packet itself
 * (a promoted first probe was counted there when it arrived). ps_track calls it for the
 * promoted probe and for the packet. A global function, so the verifier checks it once, on its
 * own, with every argument unknown: as a static one it was checked again for each state
 * ps_track reached a call with (111,377 of the 280,236 instructions the 6.18 verifier walked;
 * 19,670 as a global). The same call at run time. The pointers it is given are never NULL: the
 * test is the verifier's, which takes a global function's pointer arguments as maybe NULL.
 */
__noinline int count_probe(struct ps_src_stats *s, struct ps_probe *pr,
			   const struct ps_src_key *key, int ports)
{
	int a;

	if (!s || !pr || !key)
		return 0;
	a = ps_apply_probe(s, pr);

	if (ports && (a & PS_APPLY_PORT))
		count_port(ps_probe_port_idx(pr), a & PS_APPLY_PORT_NEW, key);
	return 0;
}

enum { PS_PEND_NONE = 0, PS_PEND_STORED, PS_PEND_PROMOTED };

/*
 * A source not in src_stats: its first probe waits in its src_pending slot (STORED), or its
 * waiting first probe is copied to *first and its slot, still busy, to *held (PROMOTED: the
 * caller inserts the source, then empties the slot, or marks it full again if the insert
 * failed). A slot held by another source, or busy on another CPU, leaves the source to the
 * caller's insert (NONE): nothing is ever overwritten. The key is compared only once the
 * slot is claimed: before, a weakly ordered CPU could see a new record's state beside the
 * previous record's key.
 */
static __always_inline int pending_take(const struct ps_src_key *key, const struct ps_probe *cur,
					struct ps_probe *first, struct ps_pending **held)
{
	__u32 idx = ps_pending_slot(key->addr, pending_mask);
	struct ps_pending *e = bpf_map_lookup_elem(&src_pending, &idx);
	__u32 st, busy;

	if (!e)
		return PS_PEND_NONE;
	st = *(volatile __u32 *)&e->state;
	if (PS_PENDING_STATE(st) == PS_PENDING_FULL) {
		busy = st - PS_PENDING_FULL + PS_PENDING_BUSY;
		if (__sync_val_compare_and_swap(&e->state, st, busy) != st)
			return PS_PEND_NONE;
		if (!ps_same_key(&e->key, key)) {
			__sync_fetch_and_add(&e->state, 1); /* FULL again, same generation */
			return PS_PEND_NONE;
		}
		*first = e->probe;
		*held = e;
		return PS_PEND_PROMOTED;
	}
	if (PS_PENDING_STATE(st) != PS_PENDING_EMPTY)
		return PS_PEND_NONE;
	busy = (st & ~3u) + 4 + PS_PENDING_BUSY; /* a new generation */
	if (__sync_val_compare_and_swap(&e->state, st, busy) != st)
		return PS_PEND_NONE;
	e->key = *key;
	e->probe = *cur;
	__sync_val_compare_and_swap(&e->state, busy, busy + 1); /* FULL, after the record */
	return PS_PEND_STORED;
}

/*
 * The slow path: a probe or backscatter packet updates its source and port. A global
 * function, so the verifier checks it once rather than once per parser path.
 */
__noinline int ps_track(struct xdp_md *ctx, struct pkt_info *p)
{
	struct ps_probe pr = {}, first = {};
	struct ps_pending *held = NULL;
	struct ps_src_stats *s;
	struct ps_src_key key __attribute__((aligned(8)));
	__u64 now = ps_now(ctx);
	int ret = 0;

	if (!p)
		return 0;
	key = p->src; /* 6.1 takes no map key that points into a global function's argument */
	s = bpf_map_lookup_elem(&src_stats, &key);
	probe_of(ctx, p, &pr, now, !s || s->tcp_probes < PS_FP_SAMPLE);
	if (!s) {
		if (pending_mask && pending_take(&key, &pr, &first, &held) == PS_PEND_STORED) {
			/* First probe of the port for this source, by definition. */
			if (ps_probe_counts_port(&pr))
				count_port(ps_probe_port_idx(&pr), 1, &key);
			return PS_TRACK_PENDING;
		}
		if (bpf_map_update_elem(&src_stats, &key, &zero_src, BPF_NOEXIST) == 0)
			ret = PS_TRACK_INSERTED;
		s = bpf_map_lookup_elem(&src_stats, &key);
		if (!s) {
			if (held) /* the first probe waits on; only this packet is lost */
				__sync_fetch_and_add(&held->state, 1);
			return ret | PS_TRACK_FAILED;
		}
		if (held) {
			/* EMPTY: the entry takes the record. */
			__sync_fetch_and_add(&held->state, -1);
			/* Another CPU may have inserted the source first, at a later time. */
			if (s->first_seen_ns == 0 || first.now_ns < s->first_seen_ns)
				s->first_seen_ns = first.now_ns;
			count_probe(s, &first, &key, 0);
		} else {
			/* Not over a promoting CPU's earlier time. */
			__sync_val_compare_and_swap(&s->first_seen_ns, 0, now);
		}
	}
	count_probe(s, &pr, &key, 1);
	return ret;
}

/* Finishes a parse: for tracked classes, where L4 starts and the addresses. */
static __always_inline void finish_parse(struct xdp_md *ctx, struct hdr_cursor *c,
					 struct pkt_info *p)
{
	if (p->cls < PS_SRC_CLASS_COUNT || (filter_dst && c->l3)) {
		p->l4_off = c->l4 ? c->l4 - (void *)(long)ctx->data : 0;
		copy_addrs(p, c);
	}
}

/*
 * The IPv4 and IPv6 parsers are global functions: the verifier checks each once, instead of
 * once per path through the other. Both start at byte offset l3_off of the frame.
 */
__noinline int ps_parse_ipv4(struct xdp_md *ctx, struct pkt_info *p, __u32 l3_off)
{
	struct hdr_cursor c = {.pos = (void *)(long)ctx->data, .end = (void *)(long)ctx->data_end};

	if (!p || l3_off > 64)
		return 0;
	c.pos += l3_off;
	parse_ipv4(&c, p);
	finish_parse(ctx, &c, p);
	return 0;
}

__noinline int ps_parse_ipv6(struct xdp_md *ctx, struct pkt_info *p, __u32 l3_off)
{
	struct hdr_cursor c = {.pos = (void *)(long)ctx->data, .end = (void *)(long)ctx->data_end};

	if (!p || l3_off > 64)
		return 0;
	c.pos += l3_off;
	parse_ipv6(&c, p);
	finish_parse(ctx, &c, p);
	return 0;
}

/*
 * Established TCP, the bulk of an edge host's traffic, leaves here: ACK set, no SYN or RST, and
 * not shaped like an ACK probe (see is_ack_probe). Only the common header shapes qualify (IPv4
 * without options or fragmentation, IPv6 straight to TCP); anything else takes the full parse,
 * which classifies the same segment the same way. Returns the flags byte, or -1.
 */
static __always_inline int established_tcp(void *l3, void *end, int proto)
{
	struct tcphdr *th;
	__u8 flags, off;
	int bare;

	if (proto == ETH_P_IP) {
		struct iphdr *iph = l3;

		th = (void *)(iph + 1);
		if ((void *)(th + 1) > end || ((__u8 *)iph)[0] != 0x45 ||
		    iph->protocol != PS_IPPROTO_TCP || (iph->frag_off & bpf_htons(IP_OFFSET)) ||
		    bpf_ntohs(iph->tot_len) < sizeof(*iph))
			return -1;
		/* A probe is bare: no DF, no options, no payload. */
		bare = !(iph->frag_off & bpf_htons(0x4000)) &&
		       iph->tot_len == bpf_htons(sizeof(*iph) + sizeof(*th));
	} else {
		struct ipv6hdr *ip6 = l3;

		th = (void *)(ip6 + 1);
		if ((void *)(th + 1) > end || (((__u8 *)ip6)[0] >> 4) != 6 ||
		    ip6->nexthdr != PS_IPPROTO_TCP)
			return -1;
		bare = th->window == bpf_htons(1024) && ip6->payload_len == bpf_htons(sizeof(*th));
	}
	off = ((__u8 *)th)[12]; /* data offset in the high nibble */
	flags = ((__u8 *)th)[13];
	if ((flags & (PS_TCP_ACK | PS_TCP_SYN | PS_TCP_RST)) != PS_TCP_ACK || off < 0x50)
		return -1;
	/* ACK or FIN+ACK, 20-byte header, bare: is_ack_probe's shape, for the full parse. */
	if (bare && off < 0x60 && (flags & 0x3e) == PS_TCP_ACK)
		return -1;
	return flags;
}

/*
 * Every frame the fast path did not take: the full parse, the class counters, and for probes
 * and backscatter the per-source and per-port maps. Inlined into the entry, not a function of
 * its own: a BPF-to-BPF call and its return cost about 6.5 ns on the AMD host measured (the
 * return goes through the SRSO return thunk). Inlining it left the verifier's walk nearly as
 * it was (224,590 instructions against 224,414 on 6.18 then), because the parsers and
 * ps_track stay global. The fast path's JITed code is unchanged: struct pkt_info is set up
 * only here.
 */
static __always_inline int ps_slow_path(struct xdp_md *ctx, int proto, __u32 l3_off)
{
	struct pkt_info p = {.cls = PS_CLASS_MALFORMED};
	__u32 zero = 0, cls;
	struct ps_totals *t;
	int tracked;

	t = bpf_map_lookup_elem(&totals, &zero);
	if (!t)
		return XDP_PASS;
	if (proto == ETH_P_IP)
		ps_parse_ipv4(ctx, &p, l3_off);
	else if (proto == ETH_P_IPV6)
		ps_parse_ipv6(ctx, &p, l3_off);
	else if (proto >= 0)
		p.cls = PS_CLASS_NON_IP;
	cls = p.cls;
	if (filter_dst && proto >= 0 && (proto == ETH_P_IP || proto == ETH_P_IPV6)) {
		struct ps_prefix_key k = {.prefixlen = 128};

		__builtin_memcpy(k.addr, p.dst, 16);
		if (cls != PS_CLASS_MALFORMED && !bpf_map_lookup_elem(&dst_prefixes, &k)) {
			t->dst_filtered++;
			return XDP_PASS;
		}
	}

	/*
	 * Plain ++: the totals slot is per-CPU and XDP runs with softirqs off on this CPU. packets
	 * and class_pkts[PS_CLASS_TCP_OTHER] are the drain's (ps_derive_totals).
	 */
	t->bytes += ctx->data_end - ctx->data;
	if (cls < PS_CLASS_COUNT && cls != PS_CLASS_TCP_OTHER)
		t->class_pkts[cls]++;
	if (p.l4proto == PS_IPPROTO_TCP && cls != PS_CLASS_MALFORMED && cls != PS_CLASS_FRAGMENT)
		t->tcp_flags[p.tcp_flags]++;

	/* Established, other-IP, non-IP and malformed frames stop here. */
	if (cls >= PS_SRC_CLASS_COUNT)
		return XDP_PASS;
	tracked = ps_track(ctx, &p);
	if (tracked & PS_TRACK_INSERTED)
		t->src_inserts++;
	if (tracked & PS_TRACK_FAILED)
		t->src_insert_failed++;
	if (tracked & PS_TRACK_PENDING)
		t->src_pending++;
	return XDP_PASS;
}

SEC("xdp")
int probescope_xdp(struct xdp_md *ctx)
{
	struct hdr_cursor c = {.pos = (void *)(long)ctx->data, .end = (void *)(long)ctx->data_end};
	struct ps_totals *t;
	__u32 zero = 0;
	int proto, flags;

	proto = parse_ethhdr(&c);
	if ((proto == ETH_P_IP || proto == ETH_P_IPV6) && !filter_dst) {
		flags = established_tcp(c.pos, c.end, proto);
		/* The slow path looks the totals up itself: only the fast path does it here. */
		if (flags >= 0 && (t = bpf_map_lookup_elem(&totals, &zero))) {
			/* Its packet and class counts follow from tcp_flags[] (ps_derive_totals). */
			t->bytes += ctx->data_end - ctx->data;
			t->tcp_flags[flags & 0xff]++;
			return XDP_PASS;
		}
	}
	ps_slow_path(ctx, proto, c.pos - (void *)(long)ctx->data);
	return XDP_PASS;
}

/*
 * Not attached anywhere: the agent test-runs it to relate jiffies to CLOCK_MONOTONIC (the tick
 * length and the base ps_now adds). The two coarse reads tell it whether a tick fell between.
 */
SEC("xdp")
int ps_clock_sample(struct xdp_md *ctx)
{
	sample_coarse0_ns = bpf_ktime_get_coarse_ns();
	sample_jiffies = bpf_jiffies64();
	sample_coarse1_ns = bpf_ktime_get_coarse_ns();
	return XDP_PASS;
}
