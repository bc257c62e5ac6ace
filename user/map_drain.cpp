// MapDrain: batch lookup-and-delete of src_stats (key-walk fallback), claims of the first probes
// waiting in src_pending, and in-place port reads.
#include "map_drain.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "error.h"
#include "hll.h"

namespace probescope {

MapDrain::MapDrain(const MapFds& maps, uint32_t src_capacity)
    : totals_fd_(maps.totals),
      src_fd_(maps.src_stats),
      src_capacity_(src_capacity),
      ports_map_(maps.port_stats, sizeof(ps_port_stats), false, "port_stats"),
      port_pkts_map_(maps.port_pkts, sizeof(uint64_t), false, "port_pkts"),
      ports_(ports_map_.as<const ps_port_stats>()),
      port_pkts_(port_pkts_map_.as<const uint64_t>()),
      port_cpus_(port_pkts_map_.entries() / PS_PORT_TABLE_SIZE) {
    // Read once: the arrays and a preallocated LRU map are charged in full at creation, and
    // replay's on-demand hash map is charged for the entries it holds, none after each drain.
    for (int fd : {maps.totals, maps.src_stats, maps.src_pending, maps.port_stats, maps.port_pkts})
        memlock_bytes_ += map_memlock_bytes(fd);
    if (ports_map_.entries() < PS_PORT_TABLE_SIZE)
        throw Error("port_stats has " + std::to_string(ports_map_.entries()) + " entries, not " +
                    std::to_string(PS_PORT_TABLE_SIZE));
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0 || port_cpus_ < static_cast<uint32_t>(cpus))
        throw Error("port_pkts has " + std::to_string(port_pkts_map_.entries()) +
                    " counters, fewer than " + std::to_string(PS_PORT_TABLE_SIZE) +
                    " for each of this machine's " + std::to_string(cpus) + " possible CPUs");
    port_sum_.assign(PS_PORT_TABLE_SIZE, 0);
    if (maps.src_pending >= 0) {
        pend_map_ = std::make_unique<MappedArray>(maps.src_pending, sizeof(ps_pending), true,
                                                  "src_pending");
        if (pend_map_->entries() > 1) {  // one slot: the program keeps no table
            pend_ = pend_map_->as<ps_pending>();
            pend_slots_ = pend_map_->entries();
            slot_claim_.assign(pend_slots_, -1);
        }
    }
    port_prev_.assign(PS_PORT_TABLE_SIZE, 0);
}

MapDrain::~MapDrain() = default;

TotalsSnapshot MapDrain::read_totals() const { return read_totals_map(totals_fd_); }

TotalsSnapshot read_totals_map(int totals_fd) {
    int ncpu = libbpf_num_possible_cpus();
    std::vector<ps_totals> per_cpu(static_cast<size_t>(ncpu));
    uint32_t key = 0;
    if (bpf_map_lookup_elem(totals_fd, &key, per_cpu.data()) != 0)
        throw Error(errno_text("cannot read the totals map", errno));
    TotalsSnapshot sum;
    for (const auto& t : per_cpu) sum += TotalsSnapshot::from_kernel(t);
    return sum;
}

// Claims every full src_pending slot: a copy taken while the slot's state (generation
// included) stayed the same, then a compare-and-swap to empty. The program claims the same
// way before it promotes a record, so each record is counted exactly once.
void MapDrain::claim_pending() {
    claimed_.clear();
    busy_seen_ = false;
    for (uint32_t i = 0; i < pend_slots_; ++i) {
        ps_pending* e = &pend_[i];
        uint32_t st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
        busy_seen_ |= PS_PENDING_STATE(st) == PS_PENDING_BUSY;
        if (PS_PENDING_STATE(st) != PS_PENDING_FULL) continue;
        ps_pending copy;
        memcpy(&copy, e, sizeof(copy));
        uint32_t expect = st;
        if (!__atomic_compare_exchange_n(&e->state, &expect, st - PS_PENDING_FULL, false,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            // Promoted meanwhile (src_stats has it), or held for a key compare or an insert
            // that may put it back: the next drain scans again.
            busy_seen_ = true;
            continue;
        }
        slot_claim_[i] = static_cast<int32_t>(claimed_.size());
        claimed_.push_back(copy);
    }
}

// A src_stats entry where the kernel wrote it, in out: the first probe of the same source that
// still waited in its src_pending slot (two CPUs raced on the source's first probes) counted
// into it, then the counters the program leaves to be derived (ps_derive_counts).
void MapDrain::finish_entry(const ps_src_key& key, ps_src_stats& stats) {
    if (!claimed_.empty()) {
        int32_t& c = slot_claim_[ps_pending_slot(key.addr, pend_slots_ - 1)];
        if (c >= 0 && memcmp(claimed_[c].key.addr, key.addr, 16) == 0) {
            // The record is the older probe: the entry's last packet stays the last.
            const ps_probe& p = claimed_[c].probe;
            const __u64 first = stats.first_seen_ns, last = stats.last_seen_ns;
            const ps_probe_facts last_facts = stats.last;
            const bool older = p.now_ns < first;
            ps_apply_probe(&stats, &p);
            stats.first_seen_ns = std::min(first, p.now_ns);
            if (p.now_ns <= last) stats.last_seen_ns = last, stats.last = last_facts;
            // What the first probe decides comes from the older one, as a promotion gives it
            // (the fingerprint ratios of this rare race stay counted against the entry's).
            if (older && (p.flags & PS_PROBE_FACTS)) stats.first = p.f;
            if (older && p.cls == PS_CLASS_UDP) stats.udp_first_sport = p.f.sport;
            c = -1;  // merged: not a source of its own
        }
    }
    ps_derive_counts(&stats);
}

size_t MapDrain::drain_sources(SourceSamples& out, bool scan_pending) {
    if (scan_pending)
        claim_pending();
    else
        claimed_.clear();
    size_t n = drain_src_stats(out);
    pending_drained_ = 0;
    for (size_t c = 0; c < claimed_.size(); ++c) {
        const ps_pending& rec = claimed_[c];
        int32_t& claim = slot_claim_[ps_pending_slot(rec.key.addr, pend_slots_ - 1)];
        if (claim != static_cast<int32_t>(c)) continue;  // merged into its src_stats entry
        claim = -1;
        // The same counters the program's insert and first probe would have left.
        ps_src_stats stats{};
        stats.first_seen_ns = rec.probe.now_ns;
        ps_apply_probe(&stats, &rec.probe);
        ps_derive_counts(&out.push_back(rec.key, stats));
        ++pending_drained_;
    }
    return n + pending_drained_;
}

size_t MapDrain::drain_src_stats(SourceSamples& out) {
    if (!batch_ok_) return drain_by_key(out);
    size_t total = 0;
    ps_src_key out_batch{};
    bool first = true;
    for (;;) {
        // The kernel writes the batch in place, past out's last sample.
        out.make_room(kBatch);
        ps_src_key* keys = out.key_tail();
        ps_src_stats* values = out.stats_tail();
        uint32_t count = kBatch;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int err = bpf_map_lookup_and_delete_batch(src_fd_, first ? nullptr : &out_batch, &out_batch,
                                                  keys, values, &count, &opts);
        int e = err ? errno : 0;
        if (err && e != ENOENT) {
            if (first && (e == EINVAL || e == 524 /* ENOTSUPP */ || e == EOPNOTSUPP)) {
                batch_ok_ = false;  // kernels without batch ops on LRU maps
                return drain_by_key(out);
            }
            throw Error(errno_text("cannot drain src_stats", e));
        }
        first = false;
        for (uint32_t i = 0; i < count; ++i) finish_entry(keys[i], values[i]);
        out.commit(count);
        total += count;
        if (e == ENOENT) break;
    }
    return total;
}

size_t MapDrain::drain_by_key(SourceSamples& out) {
    size_t n = 0;
    ps_src_key key{}, next{};
    const void* prev = nullptr;
    std::vector<ps_src_key> keys;
    while (bpf_map_get_next_key(src_fd_, prev, &next) == 0) {
        keys.push_back(next);
        key = next;
        prev = &key;
        if (keys.size() > static_cast<size_t>(src_capacity_) * 2) break;
    }
    for (const auto& k : keys) {
        ps_src_stats v{};
        if (bpf_map_lookup_and_delete_elem(src_fd_, &k, &v) == 0 ||
            (bpf_map_lookup_elem(src_fd_, &k, &v) == 0 && bpf_map_delete_elem(src_fd_, &k) == 0)) {
            finish_entry(k, out.push_back(k, v));  // in place, as a batch is
            ++n;
        }
    }
    return n;
}

uint64_t MapDrain::count_sources() const {
    uint64_t n = 0;
    ps_src_key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(src_fd_, prev, &next) == 0 && n <= src_capacity_ * 2ull) {
        key = next;
        prev = &key;
        ++n;
    }
    return n;
}

void MapDrain::set_baseline(const TotalsSnapshot& totals, uint64_t inserts_base) {
    prev_ = totals;
    inserts_base_ = inserts_base;
}

Interval MapDrain::read_interval(uint64_t now_ns, double seconds) {
    Interval iv;
    iv.seq = ++seq_;
    iv.now_ns = now_ns;
    iv.seconds = seconds;
    iv.cumulative = read_totals();
    before_ = prev_;
    iv.delta = iv.cumulative - prev_;
    prev_ = iv.cumulative;
    iv.sources.swap(spare_);
    iv.sources.clear();
    // As many samples as the interval's inserts and waiting first probes (the map is emptied
    // at each drain), so a growing interval does not copy every sample on each regrowth.
    // kBatch more: each batch asks for room for a whole batch.
    iv.sources.reserve(std::min<uint64_t>(src_capacity_ + pend_slots_,
                                          iv.delta.src_inserts + iv.delta.src_pending + 1024) +
                       kBatch);
    // The slots are scanned only when a first probe waited since the last scan (the program
    // counts it after the slot is full, and the totals are read before the scan), a slot was
    // busy then, or this is the first drain (slots filled before this reader started).
    drain_sources(iv.sources, seq_ == 1 || iv.delta.src_pending > 0 || busy_seen_);
    read_ports(iv.ports);
    const uint64_t entries = iv.sources.size() - pending_drained_;  // src_stats entries
    drained_total_ += entries;
    // Inserts that were neither drained nor still present were evicted by the LRU.
    int64_t ev = static_cast<int64_t>(iv.cumulative.src_inserts - inserts_base_) -
                 static_cast<int64_t>(drained_total_);
    evictions_ = std::max<int64_t>(evictions_, ev);
    iv.src_map = {src_capacity_, entries, static_cast<uint64_t>(evictions_), pend_slots_,
                  pending_drained_};
    iv.maps_memlock_bytes = memlock_bytes_;
    iv.agent = usage_.sample();
    return iv;
}

void MapDrain::recycle(SourceSamples&& sources) {
    if (sources.capacity() > spare_.capacity()) spare_.swap(sources);
}

void MapDrain::read_ports(std::vector<PortSample>& out) {
    // Each CPU's block in turn (sequential reads), summed per port.
    std::fill(port_sum_.begin(), port_sum_.end(), 0);
    for (uint32_t cpu = 0; cpu < port_cpus_; ++cpu) {
        const uint64_t* block = port_pkts_ + static_cast<size_t>(cpu) * PS_PORT_TABLE_SIZE;
        for (uint32_t idx = 0; idx < PS_PORT_TABLE_SIZE; ++idx)
            port_sum_[idx] += __atomic_load_n(&block[idx], __ATOMIC_RELAXED);
    }
    for (uint32_t idx = 0; idx < PS_PORT_TABLE_SIZE; ++idx) {
        const uint64_t now = port_sum_[idx];
        if (now == port_prev_[idx]) continue;
        out.push_back({idx >> 16, static_cast<uint16_t>(idx & 0xffff), now - port_prev_[idx], now,
                       hll_estimate_packed(ports_[idx].src_hll)});
        port_prev_[idx] = now;
    }
}

}  // namespace probescope
