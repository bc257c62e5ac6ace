/*
 * The benchmark generator's frames, one definition for both of its senders: the XDP program
 * bpf/gen_redirect.bpf.c (live frames, BPF_F_TEST_XDP_LIVE_FRAMES) and probescope-blast's
 * AF_PACKET sender (tests/tools/probescope_blast.cpp), used where a kernel refuses live frames.
 * Plain C on bytes, in network order whatever the host's: no helper, no libc.
 *
 * The mix is laid out in cycles of 1000 frames: scan_permille scan frames first (the scanners
 * round robin), then v6_permille IPv6 flood frames, then the IPv4 flood. Every frame is a SYN of
 * nmap's shape (window 1024, MSS 1460 alone) with valid checksums, GEN_FRAME_LEN bytes long
 * (an IPv4 frame carries the rest as Ethernet padding); the MAC addresses are the sender's.
 */
#ifndef PROBESCOPE_GEN_FRAME_H
#define PROBESCOPE_GEN_FRAME_H

#include "probescope/abi.h" /* PS_ALWAYS_INLINE, and the kernel types either side */

enum gen_mode {
	GEN_FLOOD_V4 = 0, /* random source in 240.0.0.0/4, random port and seq, to flood_port */
	GEN_SCAN_V4 = 1,  /* scanner sources walk the target's ports, nmap-shaped */
	GEN_FLOOD_V6 = 2, /* random source in 2001:db8::/32, to flood_port */
	GEN_MODE_COUNT,
};

#define GEN_ETH_LEN 14
#define GEN_IP4_LEN 20
#define GEN_IP6_LEN 40
#define GEN_TCP_LEN 24 /* with the MSS option nmap sends */
#define GEN_FRAME_LEN (GEN_ETH_LEN + GEN_IP6_LEN + GEN_TCP_LEN)
#define GEN_RANDOM_WORDS 5 /* random 32-bit words a flood frame uses (a scan frame none) */

/*
 * What a run generates; addresses and ports in host order. Read through a volatile pointer:
 * the program's copy is a const volatile global that the loader sets, which the compiler must
 * not fold to its zero initializer.
 */
struct gen_config {
	__u32 scan_src_base; /* first scanner address */
	__u32 scan_src_count;
	__u32 scan_dst; /* the target */
	__u32 scan_port_lo;
	__u32 scan_port_count;
	__u32 flood_port;
	__u32 scan_permille; /* per 1000 frames; the rest after v6_permille is the IPv4 flood */
	__u32 v6_permille;
	__u8 scan_dst6[16];
};

/* Whether a frame of mode m reads the random words gen_frame takes (a scan frame does not). */
PS_ALWAYS_INLINE int gen_takes_random(__u32 m)
{
	return m != GEN_SCAN_V4;
}

/* The mode of frame number frame_no of a run. */
PS_ALWAYS_INLINE __u32 gen_mode_of(const volatile struct gen_config *c, __u64 frame_no)
{
	__u32 slot = frame_no % 1000;

	if (slot < c->scan_permille)
		return GEN_SCAN_V4;
	if (slot < c->scan_permille + c->v6_permille)
		return GEN_FLOOD_V6;
	return GEN_FLOOD_V4;
}

PS_ALWAYS_INLINE void gen_put16(__u8 *p, __u32 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

PS_ALWAYS_INLINE void gen_put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* The ones' complement sum of len (even) bytes as big-endian words, not folded. */
PS_ALWAYS_INLINE __u32 gen_sum(const __u8 *p, int len)
{
	__u32 s = 0;

	for (int i = 0; i < len; i += 2)
		s += (__u32)p[i] << 8 | p[i + 1];
	return s;
}

PS_ALWAYS_INLINE __u32 gen_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

/* A SYN with window 1024 and MSS 1460 (nmap's shape), checksummed over pseudo, its header sum. */
PS_ALWAYS_INLINE void gen_syn(__u8 *tcp, __u32 sport, __u32 dport, __u32 seq, __u32 pseudo)
{
	gen_put16(tcp, sport);
	gen_put16(tcp + 2, dport);
	gen_put32(tcp + 4, seq);
	gen_put32(tcp + 8, 0);
	tcp[12] = (GEN_TCP_LEN / 4) << 4;
	tcp[13] = 0x02;
	gen_put16(tcp + 14, 1024);
	gen_put16(tcp + 16, 0);
	gen_put16(tcp + 18, 0);
	tcp[20] = 2;
	tcp[21] = 4;
	gen_put16(tcp + 22, 1460);
	gen_put16(tcp + 16, gen_fold(pseudo + gen_sum(tcp, GEN_TCP_LEN)));
}

/* scan_n: the frame's place in the scanners' (source, port) walk; rnd: the flood's randomness. */
PS_ALWAYS_INLINE void gen_v4(__u8 *f, const volatile struct gen_config *c, int scan, __u64 scan_n,
		       const __u32 *rnd)
{
	__u8 *ip = f + GEN_ETH_LEN, *tcp = ip + GEN_IP4_LEN;
	__u32 src, seq, sport, dport;

	if (scan) {
		/* One source port and seq per scanner, as nmap -sS sends. */
		__u32 nsrc = c->scan_src_count ? c->scan_src_count : 1;
		__u32 who = scan_n % nsrc;

		src = c->scan_src_base + who;
		dport = c->scan_port_lo +
			(__u32)(scan_n / nsrc) % (c->scan_port_count ? c->scan_port_count : 1);
		sport = 40000 + (who & 0xffff);
		seq = 0x5c0ffee0 + who;
	} else {
		src = 0xf0000000 | (rnd[0] & 0x0fffffff);
		dport = c->flood_port;
		sport = 1024 + rnd[1] % 60000;
		seq = rnd[2];
	}
	gen_put16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0;
	gen_put16(ip + 2, GEN_IP4_LEN + GEN_TCP_LEN);
	gen_put16(ip + 4, seq & 0xffff);
	gen_put16(ip + 6, 0);
	ip[8] = 48;
	ip[9] = 6; /* TCP */
	gen_put16(ip + 10, 0);
	gen_put32(ip + 12, src);
	gen_put32(ip + 16, c->scan_dst);
	gen_put16(ip + 10, gen_fold(gen_sum(ip, GEN_IP4_LEN)));
	gen_syn(tcp, sport, dport, seq, gen_sum(ip + 12, 8) + 6 + GEN_TCP_LEN);
}

PS_ALWAYS_INLINE void gen_v6(__u8 *f, const volatile struct gen_config *c, const __u32 *rnd)
{
	__u8 *ip6 = f + GEN_ETH_LEN, *tcp = ip6 + GEN_IP6_LEN;

	gen_put16(f + 12, 0x86dd);
	gen_put32(ip6, 6u << 28);
	gen_put16(ip6 + 4, GEN_TCP_LEN);
	ip6[6] = 6; /* TCP */
	ip6[7] = 48;
	gen_put32(ip6 + 8, 0x20010db8);
	gen_put32(ip6 + 12, rnd[0]);
	gen_put32(ip6 + 16, rnd[1]);
	gen_put32(ip6 + 20, rnd[2]);
	for (int i = 0; i < 16; i++)
		ip6[24 + i] = c->scan_dst6[i];
	gen_syn(tcp, 1024 + rnd[3] % 60000, c->flood_port, rnd[4],
		gen_sum(ip6 + 8, 32) + 6 + GEN_TCP_LEN);
}

/*
 * Writes a frame of mode m (gen_mode_of) into the GEN_FRAME_LEN bytes at f, from its EtherType
 * on. *scan_next, the scanners' walk, moves on for a scan frame; rnd is read only when
 * gen_takes_random(m), so a sender draws its random words only then.
 */
PS_ALWAYS_INLINE void gen_frame(__u8 *f, const volatile struct gen_config *c, __u32 m,
				__u64 *scan_next, const __u32 *rnd)
{
	if (m == GEN_FLOOD_V6)
		gen_v6(f, c, rnd);
	else if (m == GEN_SCAN_V4)
		gen_v4(f, c, 1, (*scan_next)++, rnd);
	else
		gen_v4(f, c, 0, 0, rnd);
}

#endif /* PROBESCOPE_GEN_FRAME_H */
