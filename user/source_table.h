// Per-source history across drains: cumulative counts, merged sketches, bounded memory (pure).
#pragma once
#include <array>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "addr.h"
#include "hll.h"
#include "interval.h"

namespace probescope {

struct PortCount {
    uint32_t item;  // PS_PORT_SLOT(proto, port)
    uint64_t packets;
};

// A distinct count: exact while every item was seen in a slot, else the HLL estimate.
struct DistinctCount {
    uint64_t value;
    bool exact;
};

struct SourceState {
    Addr16 addr{};
    uint64_t first_seen_ns = 0;  // probescope clock
    uint64_t last_seen_ns = 0;
    std::array<uint64_t, PS_SRC_CLASS_COUNT> total{};     // since first seen
    std::array<uint64_t, PS_SRC_CLASS_COUNT> interval{};  // in the last absorbed drain
    uint64_t interval_seq = 0;  // drain that last touched this source
    std::array<uint64_t, PS_FP_COUNT> fp_hits{};
    uint64_t tcp_probes = 0;
    ps_probe_facts first_probe{};
    ps_probe_facts last_packet{};
    std::vector<PortCount> ports;  // exact while ports_exact
    bool ports_exact = true;
    std::vector<uint32_t> dsts;  // 32-bit folded, exact while dsts_exact
    bool dsts_exact = true;
    Hll port_hll;
    Hll dst_hll;

    uint64_t total_packets() const;
    uint64_t interval_packets() const;
    DistinctCount distinct_ports() const;
    DistinctCount distinct_dsts() const;
    std::vector<PortCount> top_ports(size_t n) const;
};

class SourceTable {
public:
    // Exact sets in user space hold this many items before falling back to the HLL.
    static constexpr size_t kExactItems = 64;

    SourceTable(size_t capacity, uint64_t idle_ns) : capacity_(capacity), idle_ns_(idle_ns) {}

    // Folds one drained kernel entry into its source's history and returns it.
    SourceState& absorb(const SourceSample& sample, uint64_t interval_seq);
    // Drops sources quiet for longer than the idle timeout; returns how many.
    size_t expire(uint64_t now_ns);

    const SourceState* find(const Addr16& addr) const;
    size_t size() const { return index_.size(); }
    size_t capacity() const { return capacity_; }
    uint64_t evicted() const { return evicted_; }  // dropped to stay within capacity

    template <typename F>
    void for_each(F&& f) const {
        for (const auto& s : lru_) f(s);
    }

private:
    size_t capacity_;
    uint64_t idle_ns_;
    uint64_t evicted_ = 0;
    std::list<SourceState> lru_;  // most recently seen at the front
    std::unordered_map<Addr16, std::list<SourceState>::iterator, Addr16Hash> index_;
};

}  // namespace probescope
