/*
 * What a probe path is made of, one XDP program per primitive, for bench/xdp.sh: each costs
 * its ns over the empty XDP_PASS program. The source map has probescope's key and value sizes.
 */
#include "vmlinux.h" /* first: abi.h takes its types from it in BPF builds */

#include "probescope/abi.h"
#include "probescope/track.h"
#include "table_design.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, struct ps_src_key);
	__type(value, struct ps_src_stats);
} sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[8]);
} counters SEC(".maps");

static const struct ps_src_stats zero_stats;

/* The same known source every run: inserted on the first run, found on every later one. */
static __always_inline struct ps_src_stats *known_source(void)
{
	struct ps_src_key k = {
		.addr = {[10] = 0xff, [11] = 0xff, [12] = 198, [13] = 51, [14] = 100, [15] = 1}};
	struct ps_src_stats *s = bpf_map_lookup_elem(&sources, &k);

	if (!s)
		bpf_map_update_elem(&sources, &k, &zero_stats, BPF_NOEXIST);
	return s;
}

SEC("xdp")
int lru_lookup(struct xdp_md *ctx)
{
	struct ps_src_stats *s = known_source();

	return s && s->tcp_probes == 7 ? XDP_DROP : XDP_PASS;
}

/* The least a probe from a known source does: find it, count the probe in its shared entry. */
SEC("xdp")
int lru_lookup_1_atomic(struct xdp_md *ctx)
{
	struct ps_src_stats *s = known_source();

	if (s)
		__sync_fetch_and_add(&s->technique[0], 1);
	return XDP_PASS;
}

SEC("xdp")
int lru_lookup_4_atomics(struct xdp_md *ctx)
{
	struct ps_src_stats *s = known_source();

	if (s) {
		__sync_fetch_and_add(&s->technique[0], 1);
		__sync_fetch_and_add(&s->port_slot_pkts[0], 1);
		__sync_fetch_and_add(&s->udp_empty, 1);
		__sync_fetch_and_add(&s->tcp_probes, 1);
	}
	return XDP_PASS;
}

SEC("xdp")
int lru_lookup_4_plain_adds(struct xdp_md *ctx)
{
	struct ps_src_stats *s = known_source();

	if (s) {
		s->technique[0]++;
		s->port_slot_pkts[0]++;
		s->udp_empty++;
		s->tcp_probes++;
	}
	return XDP_PASS;
}

/* One counter for every CPU: each insert's key is new, whichever CPU a round runs on. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} insert_seq SEC(".maps");

/* A new source every run: the key comes from the shared run counter. 0: no counter. */
static __always_inline int new_source_key(struct ps_src_key *k)
{
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&insert_seq, &zero), n;

	if (!seq)
		return 0;
	n = __sync_fetch_and_add(seq, 1) + 1;
	__builtin_memcpy(&k->addr[8], &n, sizeof(n));
	return 1;
}

SEC("xdp")
int lru_insert(struct xdp_md *ctx)
{
	struct ps_src_key k __attribute__((aligned(8))) = {};

	if (new_source_key(&k))
		bpf_map_update_elem(&sources, &k, &zero_stats, BPF_NOEXIST);
	return XDP_PASS;
}

/*
 * The design src_stats could move to (bench/table_design.h): linear probing over TABLE_PROBES
 * slots, the key compared in place. No hash-map helper, no lock, no element allocation; the
 * agent would read it in place (bench/agent_bench.cpp times that read, the table floor).
 */
#define TABLE_SLOTS (1u << 19)
#define TABLE_PROBES 4

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TABLE_SLOTS);
	__type(key, __u32);
	__type(value, struct ps_table_entry);
} table SEC(".maps");

/* The source's entry, claimed for it if its probe slots hold an empty one before its own. */
static __always_inline struct ps_src_stats *table_find(const struct ps_src_key *k)
{
	__u32 slot = ps_pending_slot(k->addr, TABLE_SLOTS - 1);

	for (int i = 0; i < TABLE_PROBES; i++) {
		__u32 idx = (slot + i) & (TABLE_SLOTS - 1);
		struct ps_table_entry *e = bpf_map_lookup_elem(&table, &idx);
		__u64 st;

		if (!e)
			return NULL;
		st = *(volatile __u64 *)&e->state;
		if (st == PS_TABLE_FULL && ps_same_key(&e->key, k))
			return &e->stats;
		if (st != PS_TABLE_EMPTY)
			continue;
		if (__sync_val_compare_and_swap(&e->state, PS_TABLE_EMPTY, PS_TABLE_BUSY) !=
		    PS_TABLE_EMPTY)
			continue;
		e->key = *k;
		__sync_val_compare_and_swap(&e->state, PS_TABLE_BUSY, PS_TABLE_FULL);
		return &e->stats;
	}
	return NULL;
}

/* lru_lookup_1_atomic's job on the table: the same known source, one shared atomic. */
SEC("xdp")
int table_lookup_1_atomic(struct xdp_md *ctx)
{
	struct ps_src_key k __attribute__((aligned(8))) = {
		.addr = {[10] = 0xff, [11] = 0xff, [12] = 198, [13] = 51, [14] = 100, [15] = 1}};
	struct ps_src_stats *s = table_find(&k);

	if (s)
		__sync_fetch_and_add(&s->technique[0], 1);
	return XDP_PASS;
}

/* lru_insert's job on the table: a new source every run claims an empty entry (and counts). */
SEC("xdp")
int table_claim(struct xdp_md *ctx)
{
	struct ps_src_key k __attribute__((aligned(8))) = {};
	struct ps_src_stats *s;

	if (!new_source_key(&k))
		return XDP_PASS;
	s = table_find(&k);
	if (s)
		__sync_fetch_and_add(&s->technique[0], 1);
	return XDP_PASS;
}

/* Keeps a clock reading where the program would keep a timestamp (a per-CPU slot). */
static __always_inline int keep_time(__u64 t)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&counters, &zero);

	if (c)
		c[1] = t;
	return XDP_PASS;
}

SEC("xdp")
int coarse_clock(struct xdp_md *ctx) { return keep_time(bpf_ktime_get_coarse_ns()); }

/* jiffies (1-4 ms a tick): the x86-64 verifier inlines this helper into one load. */
SEC("xdp")
int jiffies_clock(struct xdp_md *ctx) { return keep_time(bpf_jiffies64()); }

/* The precise clock the program does not use, against coarse_clock. */
SEC("xdp")
int precise_clock(struct xdp_md *ctx) { return keep_time(bpf_ktime_get_ns()); }

SEC("xdp")
int percpu_4_adds(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&counters, &zero);

	if (c) {
		c[2]++;
		c[3] += ctx->data_end - ctx->data;
		c[4]++;
		c[5]++;
	}
	return XDP_PASS;
}

/*
 * The least any fast path does: reach the TCP flags of an IPv4 frame (no VLAN, no IP options,
 * no IPv6) and count it in per-CPU slots (packets, bytes, the class, the flags byte). Run on an
 * established ACK, its cost over the floor is what the 1.15x target has to hold.
 */
SEC("xdp")
int parse_and_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct tcphdr *th = (void *)(iph + 1);
	__u32 zero = 0;
	__u64 *c;
	__u8 flags;

	if ((void *)(th + 1) > end || eth->h_proto != bpf_htons(0x0800) ||
	    ((__u8 *)iph)[0] != 0x45 || iph->protocol != 6)
		return XDP_PASS;
	flags = ((__u8 *)th)[13];
	c = bpf_map_lookup_elem(&counters, &zero);
	if (c) {
		c[2]++;
		c[3] += end - data;
		c[4]++;
		c[5 + (flags & 1)]++;
	}
	return XDP_PASS;
}
