// One drain's worth of kernel data, in plain C++ types: what the classifier and outputs consume.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "huge_alloc.h"
#include "probescope/abi.h"
#include "process_usage.h"

namespace probescope {

struct TotalsSnapshot {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::array<uint64_t, PS_CLASS_COUNT> classes{};
    std::array<uint64_t, 256> tcp_flags{};
    uint64_t src_inserts = 0;
    uint64_t src_insert_failed = 0;
    uint64_t src_pending = 0;   // first probes that waited in src_pending (no insert)
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

// One drain's sources in two parallel arrays, keys and values: the layout
// bpf_map_lookup_and_delete_batch writes. The drain hands the kernel the room past the end
// (make_room, key_tail, stats_tail, then commit), so a value is written once, by the kernel,
// and never copied after. New room is not zeroed: every sample in it is written before it is
// read. The arrays come from huge_alloc (transparent huge pages).
class SourceSamples {
public:
    struct Ref {
        const ps_src_key& key;
        const ps_src_stats& stats;
    };

    SourceSamples() = default;
    SourceSamples(const std::vector<SourceSample>& samples);  // NOLINT: tests and tools
    SourceSamples(const SourceSamples& o) { *this = o; }
    SourceSamples& operator=(const SourceSamples& o);
    // A moved-from buffer is empty, with no room.
    SourceSamples(SourceSamples&& o) noexcept { swap(o); }
    SourceSamples& operator=(SourceSamples&& o) noexcept {
        SourceSamples(std::move(o)).swap(*this);
        return *this;
    }

    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    size_t capacity() const { return cap_; }
    Ref operator[](size_t i) const { return {keys_.get()[i], stats_.get()[i]}; }
    const ps_src_key& key(size_t i) const { return keys_.get()[i]; }
    const ps_src_stats& stats(size_t i) const { return stats_.get()[i]; }
    ps_src_stats& stats(size_t i) { return stats_.get()[i]; }

    void clear() { size_ = 0; }
    void swap(SourceSamples& o) noexcept {
        std::swap(keys_, o.keys_);
        std::swap(stats_, o.stats_);
        std::swap(size_, o.size_);
        std::swap(cap_, o.cap_);
    }
    // Capacity for n samples in all; the samples held are kept.
    void reserve(size_t n);
    ps_src_stats& push_back(const ps_src_key& key, const ps_src_stats& stats);
    // Room for n more samples past the end, written through key_tail() and stats_tail();
    // commit(k) then makes the first k of them samples.
    void make_room(size_t n) { reserve(size_ + n); }
    ps_src_key* key_tail() { return keys_.get() + size_; }
    ps_src_stats* stats_tail() { return stats_.get() + size_; }
    void commit(size_t n) { size_ += n; }

private:
    std::unique_ptr<ps_src_key, FreeDeleter> keys_;
    std::unique_ptr<ps_src_stats, FreeDeleter> stats_;
    size_t size_ = 0, cap_ = 0;
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
    uint64_t drained = 0;          // entries drained this interval
    uint64_t evictions = 0;        // since the agent started
    uint64_t pending_slots = 0;    // src_pending's size (0: no pending table)
    uint64_t pending_drained = 0;  // sources drained from a src_pending slot alone (one probe)
};

struct Interval {
    uint64_t seq = 0;
    uint64_t now_ns = 0;        // probescope clock at the drain
    double seconds = 0;         // length of the interval
    TotalsSnapshot delta;       // this interval
    TotalsSnapshot cumulative;  // since the program was loaded
    SourceSamples sources;
    std::vector<PortSample> ports;  // the busiest ports of the interval (--top-ports)
    uint64_t ports_active = 0;      // ports probed in the interval, listed or not
    MapFill src_map;
    uint64_t maps_memlock_bytes = 0;  // the kernel's charge for the program's counting maps
    AgentUsage agent;                 // the process since the previous interval (UsageMeter)
};

}  // namespace probescope
