/* The one ABI shared by bpf/ and user/: every map key, map value and enum. */
#ifndef PROBESCOPE_ABI_H
#define PROBESCOPE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Small helpers both sides call on hot paths: always inlined (in BPF, no subprogram call). */
#define PS_ALWAYS_INLINE static inline __attribute__((always_inline))

/*
 * Packet classes. Every frame lands in exactly one. The first PS_SRC_CLASS_COUNT
 * classes are the ones tracked per source (probes and backscatter); the rest only
 * reach the totals. Order matters: user space indexes arrays with these values.
 */
enum ps_class {
	PS_CLASS_TCP_SYN = 0,	/* SYN without ACK (ECE/CWR allowed): scan or connect */
	PS_CLASS_TCP_ODD,	/* flag combination no normal connection sends */
	PS_CLASS_UDP,		/* any UDP datagram */
	PS_CLASS_ICMP_ECHO,	/* ICMP/ICMPv6 echo request */
	PS_CLASS_TCP_ACK_PROBE, /* bare ACK or FIN+ACK shaped like a scanner's (see docs/json.md) */
	PS_CLASS_TCP_SYNACK,	/* SYN+ACK: backscatter when unsolicited */
	PS_CLASS_TCP_RST,	/* RST or RST+ACK: backscatter when unsolicited */
	PS_CLASS_ICMP_ERROR,	/* unreachable, time exceeded, ...: backscatter */
	PS_CLASS_TCP_OTHER,	/* ACK-bearing established traffic: the fast path */
	PS_CLASS_ICMP_OTHER,	/* echo reply, neighbour discovery, ... */
	PS_CLASS_FRAGMENT,	/* non-first IP fragment: no L4 header to read */
	PS_CLASS_OTHER_IP,	/* IP with another L4 protocol (GRE, ESP, SCTP, ...) */
	PS_CLASS_NON_IP,	/* ARP, LLDP, ... */
	PS_CLASS_MALFORMED,	/* truncated or inconsistent headers */
	PS_CLASS_COUNT,
};

/* Classes below this value update the per-source and per-port maps. */
#define PS_SRC_CLASS_COUNT (PS_CLASS_ICMP_ERROR + 1)
/* Classes below this value are probes (they also update the per-port map). */
#define PS_PROBE_CLASS_COUNT (PS_CLASS_TCP_ACK_PROBE + 1)

/* Scan techniques, from the TCP flags of a probe (or its protocol). */
enum ps_technique {
	PS_TECH_SYN = 0,   /* SYN */
	PS_TECH_SYN_ECN,   /* SYN+ECE+CWR: ECN-setup SYN */
	PS_TECH_NULL,	   /* no flags */
	PS_TECH_FIN,	   /* FIN alone */
	PS_TECH_XMAS,	   /* FIN+PSH+URG */
	PS_TECH_MAIMON,	   /* FIN+ACK that opens no flow */
	PS_TECH_ACK,	   /* bare ACK that opens no flow: ACK or window scan */
	PS_TECH_SYN_FIN,   /* SYN+FIN (with anything but all flags) */
	PS_TECH_SYN_RST,   /* SYN+RST */
	PS_TECH_ALL_FLAGS, /* FIN+SYN+RST+PSH+ACK+URG */
	PS_TECH_OTHER_ODD, /* any other illegal combination */
	PS_TECH_UDP,
	PS_TECH_ICMP_ECHO,
	PS_TECH_COUNT,
};

/* The class of a technique's probes. */
static inline __u32 ps_technique_class(__u32 tech)
{
	switch (tech) {
	case PS_TECH_SYN:
	case PS_TECH_SYN_ECN:
		return PS_CLASS_TCP_SYN;
	case PS_TECH_MAIMON:
	case PS_TECH_ACK:
		return PS_CLASS_TCP_ACK_PROBE;
	case PS_TECH_UDP:
		return PS_CLASS_UDP;
	case PS_TECH_ICMP_ECHO:
		return PS_CLASS_ICMP_ECHO;
	default:
		return PS_CLASS_TCP_ODD;
	}
}

/* What a UDP probe asks for, from its destination port and first payload bytes. */
enum ps_udp_probe {
	PS_UDP_OTHER = 0,
	PS_UDP_DNS_VERSION,    /* DNS TXT CH version.bind */
	PS_UDP_NTP_MONLIST,    /* NTP mode 7 MON_GETLIST: 17 00 03 2a */
	PS_UDP_SSDP,	       /* SSDP M-SEARCH */
	PS_UDP_CLDAP,	       /* CLDAP searchRequest (BER SEQUENCE to 389) */
	PS_UDP_MEMCACHED,      /* memcached "stats" or "version" after the UDP frame header */
	PS_UDP_CHARGEN,	       /* anything to chargen (19) */
	PS_UDP_SNMP_PUBLIC,    /* SNMP with community "public" */
	PS_UDP_NETBIOS_NBSTAT, /* NetBIOS NBSTAT query for "*" */
	PS_UDP_DHT_KRPC,       /* BitTorrent DHT KRPC: "d1:ad2:id20:" */
	PS_UDP_PROBE_COUNT,
};

/* TCP flag bits, as in the 13th byte of the TCP header. */
enum ps_tcp_flag {
	PS_TCP_FIN = 0x01,
	PS_TCP_SYN = 0x02,
	PS_TCP_RST = 0x04,
	PS_TCP_PSH = 0x08,
	PS_TCP_ACK = 0x10,
	PS_TCP_URG = 0x20,
	PS_TCP_ECE = 0x40,
	PS_TCP_CWR = 0x80,
};

/*
 * The class of a TCP segment from its flags byte; ECE and CWR never change it. A bare ACK or
 * FIN+ACK of a scanner's shape, TCP_OTHER here, is told apart by the program's header checks
 * (PS_CLASS_TCP_ACK_PROBE).
 */
PS_ALWAYS_INLINE __u32 ps_tcp_class(__u8 flags)
{
	__u8 f = flags & 0x3f;

	if (f & PS_TCP_SYN) {
		if (f == PS_TCP_SYN)
			return PS_CLASS_TCP_SYN;
		if (f == (PS_TCP_SYN | PS_TCP_ACK))
			return PS_CLASS_TCP_SYNACK;
		return PS_CLASS_TCP_ODD; /* SYN+FIN, SYN+RST, SYN+PSH, all flags, ... */
	}
	if (f & PS_TCP_RST) {
		if (f == PS_TCP_RST || f == (PS_TCP_RST | PS_TCP_ACK))
			return PS_CLASS_TCP_RST;
		return PS_CLASS_TCP_ODD;
	}
	if (!(f & PS_TCP_ACK))
		return PS_CLASS_TCP_ODD; /* NULL, FIN, Xmas, PSH or URG without ACK */
	return PS_CLASS_TCP_OTHER;
}

/* Index of a port table: one 64k block per L4 protocol that has ports. */
enum ps_port_proto {
	PS_PORT_PROTO_TCP = 0,
	PS_PORT_PROTO_UDP = 1,
	PS_PORT_PROTO_COUNT,
};
#define PS_PORT_TABLE_SIZE (PS_PORT_PROTO_COUNT * 65536)

/*
 * Global counters: one PERCPU_ARRAY slot, plain ++ under softirq (per-CPU safe). Two fields are
 * left to the drain (ps_derive_totals in track.h), so that the established fast path touches
 * two counters in two cache lines instead of four in three: packets (the sum of class_pkts[])
 * and class_pkts[PS_CLASS_TCP_OTHER] (the TCP_OTHER flag combinations of tcp_flags[], less
 * the ACK probes counted among them). The program leaves both 0.
 */
struct ps_totals {
	__u64 packets; /* every frame seen: sum of class[] (derived) */
	__u64 bytes;   /* frame bytes, data_end - data */
	__u64 class_pkts[PS_CLASS_COUNT];
	__u64 tcp_flags[256];	 /* every TCP packet by its flags byte */
	__u64 src_inserts;	 /* new entries written to src_stats */
	__u64 src_insert_failed; /* could not insert (map refused): counted, not lost silently */
	__u64 src_pending;	 /* first probes that waited in src_pending instead of an insert */
	__u64 dst_filtered; /* IP frames not toward our prefixes (replay --dst): not in packets */
};

/* Key of the dst_prefixes LPM trie: prefixlen counts bits of the v4-mapped address. */
struct ps_prefix_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/*
 * Distinct-count sketches. Small sets are kept exactly in slots; every item also
 * goes into a HyperLogLog of 2^PS_HLL_P 4-bit registers (two per byte) which user
 * space reads once a slot set overflows. Standard error 1.04/sqrt(256) = 6.5%.
 */
#define PS_HLL_P 8
#define PS_HLL_REGS (1u << PS_HLL_P)
#define PS_HLL_BYTES (PS_HLL_REGS / 2)
#define PS_HLL_MAX_RANK 15
#define PS_EXACT_PORTS 16
#define PS_EXACT_DSTS 16

/* Port slot: 0 = empty, else PS_PORT_SLOT(proto, port). */
#define PS_PORT_SLOT(proto, port) ((1u << 24) | ((__u32)(proto) << 16) | (__u32)(port))
#define PS_PORT_SLOT_PROTO(slot) (((slot) >> 16) & 0xff)
#define PS_PORT_SLOT_PORT(slot) ((slot)&0xffff)
/* ICMP echo has no port: it occupies proto slot value 2 with port 0. */
#define PS_PORT_SLOT_ICMP 2

/* Tool fingerprints the XDP program tests on every TCP probe (see docs/fingerprints.md). */
enum ps_fingerprint {
	PS_FP_ZMAP = 0,	  /* IP ID 54321, TTL 255, window 65535 */
	PS_FP_MASSCAN,	  /* ip_id == (dst ^ dport ^ seq) & 0xffff, window 1024 */
	PS_FP_MIRAI,	  /* seq == destination IPv4 address */
	PS_FP_NMAP,	  /* window 1024; on SYN, MSS 1460 as the only option; else no options */
	PS_FP_SAME_SEQ,	  /* seq equal to this source's first probe seq */
	PS_FP_SAME_SPORT, /* source port equal to this source's first probe's */
	PS_FP_UNICORN,	  /* seq ^ dst ^ (dport << 16 | sport) equal to the first probe's */
	PS_FP_COUNT,
};

/*
 * TCP probes per source and interval whose headers are fingerprinted: the fp_hits shares are
 * decided by then, and later probes skip the work (tcp_probes counts only these).
 */
#define PS_FP_SAMPLE 64

/* Shape of the TCP options on a SYN. */
enum ps_tcp_opts_shape {
	PS_OPTS_NONE = 0, /* no options */
	PS_OPTS_MSS_ONLY, /* exactly one option, MSS */
	PS_OPTS_STACK,	  /* MSS plus SACK/timestamps/window scale: an OS stack */
	PS_OPTS_OTHER,
	PS_OPTS_MALFORMED,
};

/* Header facts of the first and the last probe of a source, for fingerprinting. */
struct ps_probe_facts {
	__u32 seq;
	__u32 unicorn_key; /* seq ^ dst32 ^ (dport << 16 | sport) */
	__u16 sport;
	__u16 dport;
	__u16 window;
	__u16 ip_id;
	__u16 mss;
	__u8 ttl;
	__u8 opts_shape; /* enum ps_tcp_opts_shape */
	__u8 tcp_flags;
	__u8 l4proto; /* IPPROTO_* */
	__u8 pad[2];
};

/* Source address: IPv4 is stored v4-mapped (::ffff:a.b.c.d), so one map serves both. */
struct ps_src_key {
	__u8 addr[16];
};

/*
 * Per-source counters, one shared (not per-CPU) LRU_HASH value: per-CPU copies would
 * multiply kernel memory by the CPU count for state that is per source, not per CPU.
 * Counters use atomic adds; slot claims use compare-and-swap; HLL registers only grow,
 * and a lost race there underestimates by one register at most.
 */
struct ps_src_stats {
	__u64 first_seen_ns; /* probescope clock (user/clock.h) */
	__u64 last_seen_ns;
	/*
	 * Packets per class. The program counts a probe once, in technique[]; user space fills the
	 * probe classes here from it (ps_technique_class) when it drains the entry.
	 */
	__u32 pkts[PS_SRC_CLASS_COUNT];
	__u32 fp_hits[PS_FP_COUNT];	  /* TCP probes matching each fingerprint */
	__u32 tcp_probes; /* TCP probes fingerprinted (<= PS_FP_SAMPLE): the fp_hits denominator */
	__u32 port_slots[PS_EXACT_PORTS]; /* first distinct (proto, port) probed */
	__u32 port_slot_pkts[PS_EXACT_PORTS];
	__u32 dst_slots[PS_EXACT_DSTS];	     /* first distinct destinations, 32-bit folded */
	__u32 technique[PS_TECH_COUNT];	     /* probes per technique */
	__u32 udp_probe[PS_UDP_PROBE_COUNT]; /* per payload kind ([PS_UDP_OTHER]: user space) */
	__u32 udp_same_sport; /* UDP probes from this source's first UDP source port */
	__u32 udp_empty;      /* UDP probes with no payload (UDP length 8) */
	__u16 udp_first_sport;
	__u8 pad_udp[2];
	__u8 port_overflow; /* a distinct port did not fit the slots */
	__u8 dst_overflow;
	__u16 port_slot_probed; /* bit i: port_slots[i] was probed (not only hit by backscatter) */
	__u8 pad[4];
	struct ps_probe_facts first;
	struct ps_probe_facts last; /* the last packet, or TCP probe fingerprinted */
	__u8 port_hll[PS_HLL_BYTES];
	__u8 dst_hll[PS_HLL_BYTES];
};

/* Per (protocol, destination port): the sources that probed it, one shared ARRAY slot each. */
struct ps_port_stats {
	__u8 src_hll[PS_HLL_BYTES]; /* distinct sources */
};

/*
 * Probes per (protocol, destination port) and CPU: port_pkts is an mmapped ARRAY of __u64, one
 * block of PS_PORT_TABLE_SIZE counters per possible CPU (CPU-major). A CPU adds to its own block
 * with a plain add, no locked instruction; the agent sums the blocks in place.
 */
#define PS_PORT_PKTS_SLOT(cpu, idx) ((__u32)(cpu)*PS_PORT_TABLE_SIZE + (idx))

/* Leading zeros of a 32-bit word; BPF has no clz instruction. */
PS_ALWAYS_INLINE __u32 ps_clz32(__u32 x)
{
	__u32 n = 0;

	if (!x)
		return 32;
	if (!(x & 0xffff0000u)) {
		n += 16;
		x <<= 16;
	}
	if (!(x & 0xff000000u)) {
		n += 8;
		x <<= 8;
	}
	if (!(x & 0xf0000000u)) {
		n += 4;
		x <<= 4;
	}
	if (!(x & 0xc0000000u)) {
		n += 2;
		x <<= 2;
	}
	if (!(x & 0x80000000u))
		n += 1;
	return n;
}

/* Where an item's hash lands in a HyperLogLog: register index and rank (the kernel and user
 * space must agree, so that user space can rebuild a sketch from the items it kept exactly). */
PS_ALWAYS_INLINE __u32 ps_hll_index(__u32 hash)
{
	return hash >> (32 - PS_HLL_P);
}

PS_ALWAYS_INLINE __u32 ps_hll_rank(__u32 hash)
{
	__u32 rank = ps_clz32(hash << PS_HLL_P) + 1;

	return rank > PS_HLL_MAX_RANK ? PS_HLL_MAX_RANK : rank;
}

/* Clock sources, chosen at load time through rodata. */
enum ps_clock_source {
	PS_CLOCK_JIFFIES = 0, /* live: CLOCK_MONOTONIC ns at the last tick, from jiffies */
	PS_CLOCK_USER = 1,    /* replay: the capture time in front of each frame (below) */
};

/* VLAN tags the program parses through (802.1Q, 802.1ad); a frame with more is not IP to it. */
#define PS_MAX_VLAN 2

/*
 * Under PS_CLOCK_USER every test-run frame carries its capture time (ns, host order) as this
 * many bytes of XDP metadata, xdp_md.data_meta up to xdp_md.data. The time rides with the
 * frame, so frames may run on several CPUs at once (replay's workers).
 */
#define PS_REPLAY_META_BYTES 8

/* 32-bit mixer (murmur3 fmix32): the hash every sketch uses. */
PS_ALWAYS_INLINE __u32 ps_mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Fold a 16-byte address to 32 bits: exact for IPv4 (v4-mapped), a hash for IPv6. */
PS_ALWAYS_INLINE __u32 ps_fold_addr(const __u8 a[16])
{
	__u32 w0 = (__u32)a[0] << 24 | (__u32)a[1] << 16 | (__u32)a[2] << 8 | a[3];
	__u32 w1 = (__u32)a[4] << 24 | (__u32)a[5] << 16 | (__u32)a[6] << 8 | a[7];
	__u32 w2 = (__u32)a[8] << 24 | (__u32)a[9] << 16 | (__u32)a[10] << 8 | a[11];
	__u32 w3 = (__u32)a[12] << 24 | (__u32)a[13] << 16 | (__u32)a[14] << 8 | a[15];

	if (w0 == 0 && w1 == 0 && w2 == 0xffff)
		return w3;
	return ps_mix32(w0 ^ ps_mix32(w1 ^ ps_mix32(w2 ^ ps_mix32(w3))));
}

#endif /* PROBESCOPE_ABI_H */
