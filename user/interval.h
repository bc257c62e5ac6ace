// One drain's worth of kernel data, in plain C++ types: what the classifier and outputs consume.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "probescope/abi.h"

namespace probescope {

struct TotalsSnapshot {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::array<uint64_t, PS_CLASS_COUNT> classes{};
    std::array<uint64_t, 256> tcp_flags{};
    uint64_t src_inserts = 0;
    uint64_t src_insert_failed = 0;
    uint64_t src_pending = 0;  // first probes that waited in src_pending (no insert)
    uint64_t dst_filtered = 0;  // replay --dst: frames toward others, not in packets

    static TotalsSnapshot from_kernel(const ps_totals& t);
    TotalsSnapshot& operator+=(const TotalsSnapshot& o);
    TotalsSnapshot operator-(const TotalsSnapshot& o) const;
};

// Source records per interval unless --source-records says otherwise (the busiest first).
inline constexpr uint32_t kDefaultSourceRecords = 10000;

struct SourceSample {
    ps_src_key key;
    ps_src_stats stats;
};

struct PortSample {
    unsigned proto;  // enum ps_port_proto
    uint16_t port;
    uint64_t packets;         // in this interval
    uint64_t total_packets;   // since the program was loaded
    double distinct_sources;  // since the program was loaded (HLL)
};

struct MapFill {
    uint64_t capacity = 0;
    uint64_t drained = 0;    // entries drained this interval
    uint64_t evictions = 0;  // since the agent started
    uint64_t pending_slots = 0;    // src_pending's size (0: no pending table)
    uint64_t pending_drained = 0;  // sources drained from a src_pending slot alone (one probe)
};

struct Interval {
    uint64_t seq = 0;
    uint64_t now_ns = 0;        // probescope clock at the drain
    double seconds = 0;         // length of the interval
    TotalsSnapshot delta;       // this interval
    TotalsSnapshot cumulative;  // since the program was loaded
    std::vector<SourceSample> sources;
    std::vector<PortSample> ports;  // the busiest ports of the interval (--top-ports)
    uint64_t ports_active = 0;      // ports probed in the interval, listed or not
    MapFill src_map;
};

}  // namespace probescope
