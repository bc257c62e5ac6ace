// Per-source history across drains: cumulative counts, merged sketches, bounded memory (pure).
#pragma once
#include <tsl/robin_map.h>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "addr.h"
#include "hll.h"
#include "huge_alloc.h"
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

struct Verdict;  // scanner_classifier.h

struct SourceState {
    Addr16 addr{};
    uint64_t first_seen_ns = 0;  // probescope clock
    uint64_t last_seen_ns = 0;
    std::array<uint64_t, PS_SRC_CLASS_COUNT> total{};     // since first seen
    std::array<uint64_t, PS_SRC_CLASS_COUNT> interval{};  // in the last absorbed drain
    uint64_t interval_seq = 0;                            // drain that last touched this source

    // Everything below is for the current window, a tumbling window per source that
    // starts at its first packet (as Zeek's scan epochs do) and lasts Thresholds::window_s.
    uint64_t window_start_ns = 0;
    std::array<uint64_t, PS_SRC_CLASS_COUNT> window{};
    std::array<uint64_t, PS_TECH_COUNT> technique{};
    std::array<uint64_t, PS_UDP_PROBE_COUNT> udp_probe{};
    std::array<uint64_t, PS_FP_COUNT> fp_hits{};
    uint64_t udp_same_sport = 0;  // UDP probes from the first UDP source port of their drain
    uint64_t udp_empty = 0;       // UDP probes without payload
    uint64_t tcp_probes = 0;
    ps_probe_facts first_probe{};
    ps_probe_facts last_packet{};
    std::vector<PortCount> ports;  // exact while ports_exact
    bool ports_exact = true;
    std::vector<uint32_t> dsts;  // 32-bit folded, exact while dsts_exact
    bool dsts_exact = true;
    // Empty while the set beside it is exact (the set says everything); built when it overflows.
    Hll port_hll;
    Hll dst_hll;
    // Repeated probing: probes of one (host, TCP port) within the repeat window.
    uint64_t repeat_start_ns = 0;
    uint32_t repeat_dst = 0;
    std::vector<PortCount> repeat_ports;
    uint64_t repeat_max = 0;  // the most any (host, port) got in one repeat window
    // scanlogd's weight of new ports within its 3-second window.
    uint64_t weight_start_ns = 0;
    uint64_t weight = 0;
    uint64_t weight_max = 0;
    // Across windows, for the scanner_end record.
    uint64_t peak_ports = 0;
    uint64_t peak_dsts = 0;
    // The verdict last reported for this source (null: never classified a scanner).
    std::shared_ptr<const Verdict> verdict;

    uint64_t total_packets() const;
    uint64_t interval_packets() const;
    DistinctCount distinct_ports() const;
    DistinctCount distinct_dsts() const;
    std::vector<PortCount> top_ports(size_t n) const;
};

// Starts loading every cache line of the bytes bytes at p: a pass over many states (absorb,
// ranking, classify) calls it a few states ahead, so their cache misses overlap instead of
// following one another.
inline void prefetch_bytes(const void* p, size_t bytes) {
    const auto* c = static_cast<const char*>(p);
    const uintptr_t first = reinterpret_cast<uintptr_t>(c) & ~uintptr_t{63};
    for (uintptr_t line = first; line < reinterpret_cast<uintptr_t>(c) + bytes; line += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(line));
}
inline void prefetch_state(const SourceState* s) { prefetch_bytes(s, sizeof(*s)); }

// The lengths of the windows a SourceState keeps (defaults: Thresholds).
struct SourceWindows {
    uint64_t window_ns = 300'000'000'000ull;  // Thresholds::window_s
    uint64_t repeat_ns = 15'000'000'000ull;   // Thresholds::repeat_window_s
    uint64_t weight_ns = 3'000'000'000ull;    // Thresholds::scanlogd_window_s
};

// The agent's per-source history, bounded by capacity. Sources are kept in absorb order (the
// least recently absorbed is evicted first, and expire walks from it) without a linked list:
// each drain's absorbs are appended to that drain's run, a vector of slot numbers, and a source
// absorbed again moves to the newest run, leaving a stale entry behind. Stale entries are
// skipped, and a run mostly stale is compacted. The states live in fixed chunks (addresses stay
// valid while a source is in the table: the interval holds pointers to them) found through an
// open-addressing index (tsl::robin_map), so absorbing a known source touches its index bucket
// and its state, not list neighbours or hash-chain nodes.
class SourceTable {
public:
    // Exact sets in user space hold this many items before falling back to the HLL.
    static constexpr size_t kExactItems = 64;

    SourceTable(size_t capacity, uint64_t idle_ns, SourceWindows w = SourceWindows())
        : capacity_(capacity), idle_ns_(idle_ns), windows_(w) {}

    // Folds one drained kernel entry into its source's history and returns it. first_sample,
    // if given, says whether this is the source's first sample of interval_seq.
    SourceState& absorb(const SourceSample& sample, uint64_t interval_seq,
                        bool* first_sample = nullptr);
    // The same for every sample of one drain but those skip marks, in order; appends each
    // source's state to firsts at its first sample of interval_seq. Faster than one absorb at
    // a time over many sources: it looks a batch of them up before merging any.
    void absorb_all(const SourceSamples& samples, uint64_t interval_seq,
                    const std::vector<bool>& skip, std::vector<SourceState*>& firsts);
    // Drops sources quiet for longer than the idle timeout; returns how many. on_expire
    // sees each one first (for scanner_end records).
    size_t expire(uint64_t now_ns,
                  const std::function<void(const SourceState&)>& on_expire = nullptr);
    // Sources the capacity bound dropped since the last call (for scanner_end records).
    std::vector<SourceState> take_evicted();

    const SourceState* find(const Addr16& addr) const;
    size_t size() const { return index_.size(); }
    size_t capacity() const { return capacity_; }
    uint64_t evicted() const { return evicted_; }  // dropped to stay within capacity

    // Every source, the most recently absorbed first.
    template <typename F>
    void for_each(F&& f) const {
        for (auto r = runs_.rbegin(); r != runs_.rend(); ++r)
            for (size_t pos = r->slots.size(); pos-- > r->head;)
                if (live(*r, pos)) f(state(r->slots[pos]));
    }

private:
    // States per allocation: as many as fill 4 MiB, two huge pages (huge_alloc).
    static constexpr size_t kChunk = 2 * kHugePage / sizeof(SourceState);
    struct ChunkDeleter {
        void operator()(SourceState* p) const;
    };
    static constexpr uint64_t kFree = ~0ull;
    static constexpr uint32_t kNoSlot = ~0u;

    // One drain's absorbs, in order; slots[head..] may still hold live entries.
    struct Run {
        uint64_t id;
        uint64_t seq;
        std::vector<uint32_t> slots;
        size_t head = 0;
        size_t live = 0;
        // At most the last-seen time of every source absorbed into the run (so of every live
        // one): expire skips a run whose sources are all still active without reading them.
        uint64_t min_last_seen = UINT64_MAX;
    };
    // Where a slot's latest entry is: its run's id (kFree: the slot holds no source) and index.
    struct Where {
        uint64_t run = kFree;
        size_t pos = 0;
    };

    SourceState& state(uint32_t slot) { return chunks_[slot / kChunk].get()[slot % kChunk]; }
    const SourceState& state(uint32_t slot) const {
        return chunks_[slot / kChunk].get()[slot % kChunk];
    }
    bool live(const Run& r, size_t pos) const {
        const Where& w = where_[r.slots[pos]];
        return w.run == r.id && w.pos == pos;
    }
    Run& run_of(uint64_t id) { return runs_[id - runs_.front().id]; }
    SourceState& absorb_at(const ps_src_key& key, const ps_src_stats& k, uint64_t interval_seq,
                           uint32_t hint, bool* first_sample);
    uint32_t take_slot();
    void release(uint32_t slot);
    void append(uint32_t slot, uint64_t interval_seq);
    std::optional<uint32_t> least_recent();
    void drop_dead_runs();
    void compact(Run& r);

    size_t capacity_;
    uint64_t idle_ns_;
    SourceWindows windows_;
    std::vector<SourceState> evicted_reported_;  // evicted sources that had a verdict
    uint64_t evicted_ = 0;
    std::vector<std::unique_ptr<SourceState, ChunkDeleter>> chunks_;
    std::vector<uint32_t> free_;  // slots of chunks_ holding no source
    std::vector<Where> where_;    // per slot
    std::deque<Run> runs_;        // oldest first; ids consecutive
    uint64_t next_run_id_ = 0;
    tsl::robin_map<Addr16, uint32_t, Addr16Hash, Addr16Equal> index_;
};

}  // namespace probescope
