// Reads the kernel maps once per interval: per-CPU totals, drained sources, mmapped ports.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "interval.h"
#include "mapped_array.h"
#include "probescope/track.h"
#include "process_usage.h"
#include "xdp_session.h"

namespace probescope {

// The totals map (one per-CPU slot) summed over every CPU.
TotalsSnapshot read_totals_map(int totals_fd);

class MapDrain {
public:
    // Entries per lookup-and-delete batch: 512 values (352 KiB) fit a 1 MiB L2 cache for
    // finish_entry to derive their counters, where 4096 (2.8 MiB) did not. Interleaved A/B,
    // `taskset -c 0 probescope-agent-bench --sources 1000000`, 7 pairs: steady drain CPU median
    // 1,309 ms against 1,473 with 4096, lower in 6 of 7.
    static constexpr uint32_t kBatch = 512;

    // maps.src_pending < 0: no src_pending table to drain.
    MapDrain(const MapFds& maps, uint32_t src_capacity);
    ~MapDrain();
    MapDrain(const MapDrain&) = delete;
    MapDrain& operator=(const MapDrain&) = delete;

    // Sum of every CPU's slot.
    TotalsSnapshot read_totals() const;
    // Moves every source into out: each src_stats entry (lookup-and-delete, batched where the
    // kernel can) with the first probe that may still wait for it in src_pending, and each
    // source whose first probe alone waits there. Returns the sources.
    // scan_pending false skips the src_pending scan (read_interval: nothing can wait there).
    size_t drain_sources(SourceSamples& out, bool scan_pending = true);
    // Sources of the last drain that came from src_pending alone (no src_stats entry).
    size_t pending_drained() const { return pending_drained_; }
    uint32_t pending_slots() const { return pend_slots_; }
    // Entries in src_stats now (a key walk; for start-up accounting only).
    uint64_t count_sources() const;
    // Ports whose packet counter moved since the last call.
    void read_ports(std::vector<PortSample>& out);
    bool batch_supported() const { return batch_ok_; }
    uint32_t src_map_capacity() const { return src_capacity_; }

    // Where counting starts: totals already reported (a restarted agent reusing pins) and
    // the inserts that are not this reader's to drain or call evicted.
    void set_baseline(const TotalsSnapshot& totals, uint64_t inserts_base);
    // One drain as an Interval: totals and their delta, the drained sources, the ports that
    // moved, and the src_stats fill with evictions since the baseline. Every front end (run,
    // top, replay) reads its intervals here.
    Interval read_interval(uint64_t now_ns, double seconds);
    // Hands an interval's source buffer back once it is processed: the next read_interval
    // drains into it, so a steady stream of intervals allocates (and page-faults) nothing.
    void recycle(SourceSamples&& sources);
    // The last interval's stats record was not written (output full): fold its counts into
    // the next interval's, so that summing the written stats records still gives every packet.
    void carry_over() {
        prev_ = before_;
        usage_.carry_over();
    }
    // The totals the last read_interval reported up to.
    const TotalsSnapshot& reported() const { return prev_; }

private:
    size_t drain_src_stats(SourceSamples& out);
    size_t drain_by_key(SourceSamples& out);
    void claim_pending();
    void finish_entry(const ps_src_key& key, ps_src_stats& stats);
    int totals_fd_, src_fd_;
    uint64_t memlock_bytes_ = 0;  // the kernel's charge for the maps above (fixed: see the ctor)
    UsageMeter usage_;
    uint32_t src_capacity_;
    MappedArray ports_map_, port_pkts_map_;
    const ps_port_stats* ports_;
    const uint64_t* port_pkts_;  // one block of PS_PORT_TABLE_SIZE counters per CPU
    uint32_t port_cpus_;
    std::vector<uint64_t> port_sum_;
    std::unique_ptr<MappedArray> pend_map_;  // src_pending, read-write (the claims are CAS)
    ps_pending* pend_ = nullptr;
    uint32_t pend_slots_ = 0;
    std::vector<ps_pending> claimed_;  // records claimed this drain
    std::vector<int32_t> slot_claim_;  // slot -> index in claimed_; -1 once merged or drained
    size_t pending_drained_ = 0;
    bool busy_seen_ = false;  // the last scan found a slot being written
    std::vector<uint64_t> port_prev_;
    SourceSamples spare_;  // the last interval's buffer, cleared, capacity kept
    bool batch_ok_ = true;
    TotalsSnapshot prev_, before_;
    uint64_t inserts_base_ = 0;
    uint64_t seq_ = 0;
    uint64_t drained_total_ = 0;
    int64_t evictions_ = 0;
};

}  // namespace probescope
