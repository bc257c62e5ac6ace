// Test scaffolding: one drained src_stats entry (ps_src_stats) built by hand, field by field.
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>

#include "addr.h"
#include "hll_mirror.h"
#include "interval.h"

namespace probescope::test {

inline uint32_t tcp(uint16_t port) { return PS_PORT_SLOT(PS_PORT_PROTO_TCP, port); }
inline uint32_t udp(uint16_t port) { return PS_PORT_SLOT(PS_PORT_PROTO_UDP, port); }
inline uint32_t icmp() { return PS_PORT_SLOT(PS_PORT_SLOT_ICMP, 0); }

// Every setter writes what the kernel would: items go into the HLL and into a slot while one
// is free (else the overflow flag is raised); counters are set, not derived, so a row of a
// table states every number the classifier reads.
class SrcSample {
public:
    explicit SrcSample(std::string_view src) {
        const Addr16 a = parse_addr(src).value();
        std::memcpy(s_.key.addr, a.data(), a.size());
    }
    SrcSample& seen(uint64_t first, uint64_t last) {
        s_.stats.first_seen_ns = first;
        s_.stats.last_seen_ns = last;
        return *this;
    }
    SrcSample& pkts(unsigned cls, uint32_t n) {
        s_.stats.pkts[cls] = n;
        return *this;
    }
    SrcSample& port(uint32_t item, uint32_t packets) {
        mirror_hll_add(s_.stats.port_hll, item);
        for (unsigned i = 0; i < PS_EXACT_PORTS; ++i) {
            if (s_.stats.port_slots[i] == 0 || s_.stats.port_slots[i] == item) {
                s_.stats.port_slots[i] = item;
                s_.stats.port_slot_pkts[i] += packets;
                return *this;
            }
        }
        s_.stats.port_overflow = 1;
        return *this;
    }
    SrcSample& tcp_ports(uint16_t first, unsigned n, uint32_t packets = 1) {
        for (unsigned i = 0; i < n; ++i) port(tcp(static_cast<uint16_t>(first + i)), packets);
        return *this;
    }
    SrcSample& dst(uint32_t folded) {
        mirror_hll_add(s_.stats.dst_hll, folded);
        for (unsigned i = 0; i < PS_EXACT_DSTS; ++i) {
            if (s_.stats.dst_slots[i] == 0 || s_.stats.dst_slots[i] == folded) {
                s_.stats.dst_slots[i] = folded;
                return *this;
            }
        }
        s_.stats.dst_overflow = 1;
        return *this;
    }
    SrcSample& dsts(uint32_t first, unsigned n) {
        for (unsigned i = 0; i < n; ++i) dst(first + i);
        return *this;
    }
    // Hand-made flags, for states the kernel reaches only through races or lost updates.
    SrcSample& raw_port_overflow() {
        s_.stats.port_overflow = 1;
        return *this;
    }
    SrcSample& raw_dst_overflow() {
        s_.stats.dst_overflow = 1;
        return *this;
    }
    // n TCP probes fingerprinted, the first and the last with these sequence numbers.
    SrcSample& probes(uint32_t n, uint32_t first_seq, uint32_t last_seq) {
        s_.stats.tcp_probes = n;
        s_.stats.first.seq = first_seq;
        s_.stats.last.seq = last_seq;
        return *this;
    }
    SrcSample& tcp_probes(uint32_t n) {
        s_.stats.tcp_probes = n;
        return *this;
    }
    SrcSample& fp(unsigned f, uint32_t hits) {
        s_.stats.fp_hits[f] = hits;
        return *this;
    }
    SrcSample& opts(uint8_t shape) {
        s_.stats.first.opts_shape = shape;
        return *this;
    }
    SrcSample& first_probe(const ps_probe_facts& f) {
        s_.stats.first = f;
        return *this;
    }
    SrcSample& tech(unsigned t, uint32_t n) {
        s_.stats.technique[t] = n;
        return *this;
    }
    SrcSample& udp_probe(unsigned kind, uint32_t n) {
        s_.stats.udp_probe[kind] = n;
        return *this;
    }
    operator const SourceSample&() const { return s_; }

private:
    SourceSample s_{};
};

}  // namespace probescope::test
