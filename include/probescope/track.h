/*
 * How one probe or backscatter packet updates its source's ps_src_stats: the one definition,
 * compiled into the XDP program (for live packets and for first probes promoted from
 * src_pending) and into the agent (for first probes it drains from src_pending). Counters are
 * atomic adds and slot claims compare-and-swap, so the kernel may run it on a shared entry
 * from several CPUs at once; the agent runs it on memory of its own, with plain adds and
 * compares (PS_FETCH_ADD, PS_CMPXCHG: the same results, without a locked instruction each).
 */
#ifndef PROBESCOPE_TRACK_H
#define PROBESCOPE_TRACK_H

#include "probescope/abi.h"

#ifdef __bpf__
#define PS_FETCH_ADD(p, v) __sync_fetch_and_add((p), (v))
#define PS_CMPXCHG(p, old, new) __sync_val_compare_and_swap((p), (old), (new))
#else
/* The agent's copy of an entry is its own: no other thread reads or writes it meanwhile. */
#define PS_FETCH_ADD(p, v)                                                                         \
	({                                                                                         \
		__typeof__(*(p)) ps_fa_old_ = *(p);                                                \
		*(p) = ps_fa_old_ + (v);                                                           \
		ps_fa_old_;                                                                        \
	})
#define PS_CMPXCHG(p, old, new)                                                                    \
	({                                                                                         \
		__typeof__(*(p)) ps_cx_cur_ = *(p);                                                \
		if (ps_cx_cur_ == (old))                                                           \
			*(p) = (new);                                                              \
		ps_cx_cur_;                                                                        \
	})
#endif

/* Keeps clang from merging bound checks the verifier must see (a no-op for the CPU). */
#define PS_BARRIER_VAR(v) asm volatile("" : "+r"(v))

/* Registers only grow; a lost race between CPUs costs one register update at most. */
PS_ALWAYS_INLINE void ps_hll_add(__u8 *regs, __u32 hash)
{
	__u32 idx = ps_hll_index(hash);
	__u32 rank = ps_hll_rank(hash);
	__u32 shift = (idx & 1) * 4;
	__u8 *byte = &regs[(idx >> 1) & (PS_HLL_BYTES - 1)];
	__u8 cur;

	cur = (*byte >> shift) & 0xf;
	if (rank > cur)
		*byte = (__u8)((*byte & ~(0xf << shift)) | (rank << shift));
}

/*
 * Adds item to a slot set; returns the slot index or -1 when the set is full. *fresh is set
 * when this call claimed the slot: the item is new to the set, and so to the HLL beside it.
 * Slots are claimed with compare-and-swap, so two CPUs never take the same one.
 */
PS_ALWAYS_INLINE int ps_slot_add(__u32 *slots, int nslots, __u32 item, int *fresh)
{
	*fresh = 0;
	for (int i = 0; i < nslots; i++) {
		__u32 s = slots[i];

		if (s == item)
			return i;
		if (s == 0) {
			__u32 old = PS_CMPXCHG(&slots[i], 0, item);

			*fresh = old == 0;
			if (old == 0 || old == item)
				return i;
		}
	}
	return -1;
}

/* ps_probe.flags */
enum {
	PS_PROBE_V4 = 1,	/* the packet was IPv4 */
	PS_PROBE_FACTS = 4,	/* f holds the TCP header facts (a TCP probe within PS_FP_SAMPLE) */
	PS_PROBE_UDP_EMPTY = 8, /* a UDP datagram without payload */
};

/* One packet of a tracked class, as its source's counters need it: no packet access left. */
struct ps_probe {
	struct ps_probe_facts f; /* header facts; unicorn_key already computed for TCP probes */
	__u64 now_ns;		 /* probescope clock */
	__u32 dst32;		 /* destination, ps_fold_addr */
	__u8 cls;		 /* enum ps_class, < PS_SRC_CLASS_COUNT */
	__u8 tech;		 /* enum ps_technique; PS_TECH_COUNT for backscatter */
	__u8 udp_kind;		 /* enum ps_udp_probe, for UDP */
	__u8 flags;		 /* PS_PROBE_* */
};

/* What ps_apply_probe leaves to the caller for the per-port map. */
enum {
	PS_APPLY_PORT = 1,     /* a probe to a TCP or UDP port: port_pkts counts it */
	PS_APPLY_PORT_NEW = 2, /* the source's first probe of that port: it joins the port's HLL */
};

/* The TCP probe classes: only TCP parsing yields them, and their header facts feed the
 * fingerprints. */
PS_ALWAYS_INLINE int ps_tcp_probe_class(__u32 cls)
{
	return cls == PS_CLASS_TCP_SYN || cls == PS_CLASS_TCP_ODD || cls == PS_CLASS_TCP_ACK_PROBE;
}

/* Per-port table index of a probe's port, or PS_PORT_TABLE_SIZE when it has none. */
PS_ALWAYS_INLINE __u32 ps_probe_port_idx(const struct ps_probe *p)
{
	if (p->f.l4proto == 6)
		return PS_PORT_PROTO_TCP << 16 | p->f.dport;
	if (p->f.l4proto == 17)
		return PS_PORT_PROTO_UDP << 16 | p->f.dport;
	return PS_PORT_TABLE_SIZE;
}

/* The port maps count probes (not backscatter) to a TCP or UDP port. */
PS_ALWAYS_INLINE int ps_probe_counts_port(const struct ps_probe *p)
{
	return ps_probe_port_idx(p) < PS_PORT_TABLE_SIZE && p->cls < PS_PROBE_CLASS_COUNT;
}

PS_ALWAYS_INLINE void ps_count_fingerprints(struct ps_src_stats *s, const struct ps_probe *p)
{
	const struct ps_probe_facts *f = &p->f;
	__u32 n = PS_FETCH_ADD(&s->tcp_probes, 1);
	int v4 = p->flags & PS_PROBE_V4;

	if (n == 0)
		s->first = *f;
	if (f->ip_id == 54321 && f->ttl == 255 && f->window == 65535)
		PS_FETCH_ADD(&s->fp_hits[PS_FP_ZMAP], 1);
	if (v4 && f->window == 1024 && f->ip_id == ((p->dst32 ^ f->dport ^ f->seq) & 0xffff))
		PS_FETCH_ADD(&s->fp_hits[PS_FP_MASSCAN], 1);
	if (v4 && f->seq == p->dst32)
		PS_FETCH_ADD(&s->fp_hits[PS_FP_MIRAI], 1);
	if (f->window == 1024 &&
	    ((f->opts_shape == PS_OPTS_MSS_ONLY && f->mss == 1460 && (f->tcp_flags & PS_TCP_SYN)) ||
	     (f->opts_shape == PS_OPTS_NONE && !(f->tcp_flags & PS_TCP_SYN))))
		PS_FETCH_ADD(&s->fp_hits[PS_FP_NMAP], 1);
	if (n == 0 || f->seq == s->first.seq)
		PS_FETCH_ADD(&s->fp_hits[PS_FP_SAME_SEQ], 1);
	if (n == 0 || f->sport == s->first.sport)
		PS_FETCH_ADD(&s->fp_hits[PS_FP_SAME_SPORT], 1);
	if (n == 0 || f->unicorn_key == s->first.unicorn_key)
		PS_FETCH_ADD(&s->fp_hits[PS_FP_UNICORN], 1);
}

/*
 * Counts packet p into its source's entry s. Returns PS_APPLY_* bits for the caller's
 * port_stats update (the per-port map is the kernel's alone).
 */
PS_ALWAYS_INLINE int ps_apply_probe(struct ps_src_stats *s, const struct ps_probe *p)
{
	__u32 cls = p->cls, tech = p->tech, n_tech = 0, port_item, proto = p->f.l4proto;
	int slot, fresh, ret = 0;

	s->last_seen_ns = p->now_ns; /* first_seen_ns is the inserter's to set */
	/* Probes are counted once, by technique; user space derives their pkts[] from it. */
	if (cls < PS_SRC_CLASS_COUNT) {
		/*
		 * Two compares kept apart: clang merges them into one range check on a copy
		 * (cls - 5 <= 2), and the 6.1 and 6.12 verifiers never carry that bound to cls.
		 */
		PS_BARRIER_VAR(cls);
		if (cls >= PS_PROBE_CLASS_COUNT)
			PS_FETCH_ADD(&s->pkts[cls], 1);
	}
	/*
	 * Tool fingerprints are ratios over a source's TCP probes: the first PS_FP_SAMPLE of each
	 * interval decide them, and later probes skip the header reads, their atomics and the
	 * facts (the bulk of a long scan).
	 */
	if (ps_tcp_probe_class(cls)) {
		if ((p->flags & PS_PROBE_FACTS) && s->tcp_probes < PS_FP_SAMPLE) {
			ps_count_fingerprints(s, p);
			s->last = p->f;
		}
	} else {
		s->last = p->f;
	}

	PS_BARRIER_VAR(tech);
	if (tech < PS_TECH_COUNT)
		n_tech = PS_FETCH_ADD(&s->technique[tech], 1);
	if (cls == PS_CLASS_UDP) {
		__u32 kind = p->udp_kind;

		/*
		 * PS_UDP_OTHER (most of a UDP scan) is ps_derive_counts': one atomic fewer. The
		 * barrier keeps clang from folding the two compares into one on kind - 1, whose
		 * bound the 6.1 and 6.12 verifiers do not carry back to kind (vmtest refused it).
		 */
		if (kind != PS_UDP_OTHER) {
			PS_BARRIER_VAR(kind);
			if (kind < PS_UDP_PROBE_COUNT)
				PS_FETCH_ADD(&s->udp_probe[kind], 1);
		}
		/* nmap -sU: one source port for the whole scan, no payload for most ports. */
		if (n_tech == 0)
			s->udp_first_sport = p->f.sport;
		if (p->f.sport == s->udp_first_sport)
			PS_FETCH_ADD(&s->udp_same_sport, 1);
		if (p->flags & PS_PROBE_UDP_EMPTY)
			PS_FETCH_ADD(&s->udp_empty, 1);
	}

	/*
	 * Distinct ports and destinations: an item already in its slot set is already in the HLL
	 * beside it (and this source in the port's HLL), so only new or overflowing items pay for
	 * the HLL update. Backscatter hits our ports too, but they were not probed: no port_stats.
	 */
	if (proto == 6)
		port_item = PS_PORT_SLOT(PS_PORT_PROTO_TCP, p->f.dport);
	else if (proto == 17)
		port_item = PS_PORT_SLOT(PS_PORT_PROTO_UDP, p->f.dport);
	else
		port_item = PS_PORT_SLOT(PS_PORT_SLOT_ICMP, 0);
	slot = ps_slot_add(s->port_slots, PS_EXACT_PORTS, port_item, &fresh);
	if (slot >= 0 && slot < PS_EXACT_PORTS)
		PS_FETCH_ADD(&s->port_slot_pkts[slot], 1);
	else
		s->port_overflow = 1;
	if (fresh || slot < 0)
		ps_hll_add(s->port_hll, ps_mix32(port_item));
	if (ps_probe_counts_port(p)) {
		ret = PS_APPLY_PORT;
		/*
		 * The source joins the port's sketch on its first probe of the port: the slot's
		 * probed bit says so, not the slot's freshness (backscatter may have claimed it).
		 * A race adds the source twice, which an HLL does not count.
		 */
		if (slot < 0 || !(s->port_slot_probed & (1u << slot))) {
			if (slot >= 0 && slot < PS_EXACT_PORTS)
				s->port_slot_probed |= 1u << slot;
			ret |= PS_APPLY_PORT_NEW;
		}
	}

	slot = ps_slot_add(s->dst_slots, PS_EXACT_DSTS, p->dst32 ? p->dst32 : 1, &fresh);
	if (slot < 0)
		s->dst_overflow = 1;
	if (fresh || slot < 0)
		ps_hll_add(s->dst_hll, ps_mix32(p->dst32));
	return ret;
}

/*
 * The counters ps_apply_probe leaves to be derived, filled in by user space once it holds the
 * entry: a probe is counted once, in technique[], so its class's pkts[] follow from those, and
 * UDP probes of no known payload kind are the UDP probes not counted under another kind.
 */
PS_ALWAYS_INLINE void ps_derive_counts(struct ps_src_stats *s)
{
	__u32 known = 0;

	for (unsigned c = 0; c < PS_PROBE_CLASS_COUNT; c++)
		s->pkts[c] = 0;
	for (unsigned t = 0; t < PS_TECH_COUNT; t++)
		s->pkts[ps_technique_class(t)] += s->technique[t];
	for (unsigned k = PS_UDP_OTHER + 1; k < PS_UDP_PROBE_COUNT; k++)
		known += s->udp_probe[k];
	s->udp_probe[PS_UDP_OTHER] = s->technique[PS_TECH_UDP] - known;
}

/*
 * The totals the program leaves to be derived (see struct ps_totals): every TCP_OTHER segment
 * and every ACK probe counts once in tcp_flags[] at a TCP_OTHER flag combination, and every
 * frame counted once in class_pkts[]. Linear, so it may run on one CPU's slot or on a sum.
 */
PS_ALWAYS_INLINE void ps_derive_totals(struct ps_totals *t)
{
	__u64 other = 0, packets = 0;

	for (unsigned f = 0; f < 256; f++)
		if (ps_tcp_class((__u8)f) == PS_CLASS_TCP_OTHER)
			other += t->tcp_flags[f];
	t->class_pkts[PS_CLASS_TCP_OTHER] = other - t->class_pkts[PS_CLASS_TCP_ACK_PROBE];
	for (unsigned c = 0; c < PS_CLASS_COUNT; c++)
		packets += t->class_pkts[c];
	t->packets = packets;
}

/*
 * src_pending: a source's first probe waits here, in one slot of an mmapped array picked by
 * its address, instead of costing a src_stats insert. Its second probe moves it to src_stats
 * (both probes counted there); the agent drains what is still waiting at each interval.
 *
 * state: bits 0-1 PS_PENDING_EMPTY/BUSY/FULL, bits 2-31 a generation that each new record
 * bumps, so that a reader's compare-and-swap fails if the slot changed under its copy.
 */
enum { PS_PENDING_EMPTY = 0, PS_PENDING_BUSY = 1, PS_PENDING_FULL = 2 };
#define PS_PENDING_STATE(st) ((st)&3u)

struct ps_pending {
	__u32 state;
	__u32 pad;
	struct ps_src_key key;
	struct ps_probe probe;
};

/* Whether two source keys are the same address: two 8-byte compares. */
PS_ALWAYS_INLINE int ps_same_key(const struct ps_src_key *a, const struct ps_src_key *b)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a->addr, 8);
	__builtin_memcpy(&a1, a->addr + 8, 8);
	__builtin_memcpy(&b0, b->addr, 8);
	__builtin_memcpy(&b1, b->addr + 8, 8);
	return a0 == b0 && a1 == b1;
}

/* The slot of a source address in a table of mask + 1 slots (a power of two). */
PS_ALWAYS_INLINE __u32 ps_pending_slot(const __u8 addr[16], __u32 mask)
{
	return ps_mix32(ps_fold_addr(addr) ^ 0x9e3779b9u) & mask;
}

#endif /* PROBESCOPE_TRACK_H */
