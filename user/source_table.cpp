// SourceTable: merges each drained entry into a bounded history per source, in absorb order.
#include "source_table.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>

namespace probescope {

uint64_t SourceState::total_packets() const {
    uint64_t n = 0;
    for (auto v : total) n += v;
    return n;
}

uint64_t SourceState::interval_packets() const {
    uint64_t n = 0;
    for (auto v : interval) n += v;
    return n;
}

static DistinctCount distinct(size_t exact_size, bool exact, const Hll& hll) {
    if (exact) return {exact_size, true};
    auto est = static_cast<uint64_t>(std::llround(hll.estimate()));
    return {std::max<uint64_t>(est, exact_size), false};
}

DistinctCount SourceState::distinct_ports() const {
    return distinct(ports.size(), ports_exact, port_hll);
}

DistinctCount SourceState::distinct_dsts() const {
    return distinct(dsts.size(), dsts_exact, dst_hll);
}

std::vector<PortCount> SourceState::top_ports(size_t n) const {
    std::vector<PortCount> out = ports;
    std::stable_sort(out.begin(), out.end(),
                     [](const PortCount& a, const PortCount& b) { return a.packets > b.packets; });
    if (out.size() > n) out.resize(n);
    return out;
}

static uint64_t port_weight(uint32_t item) {
    // scanlogd: privileged ports weigh 3, the others 1.
    return PS_PORT_SLOT_PORT(item) < 1024 && PS_PORT_SLOT_PROTO(item) != PS_PORT_SLOT_ICMP ? 3 : 1;
}

// A set's HLL is read only once the set stops being exact, so it stays empty until then. At
// that point it is built from the items kept exactly (the kernel adds ps_mix32(item), so does
// this), which gives the registers merging every sample's HLL would have given; from then on
// each sample's HLL is merged.
static void seed_hll(Hll& h, const std::vector<PortCount>& items, size_t n) {
    for (size_t i = 0; i < n; ++i) h.add(ps_mix32(items[i].item));
}

static void merge_ports(SourceState& s, const ps_src_stats& k) {
    const bool was_exact = s.ports_exact;  // then the list holds every earlier port, the HLL none
    const size_t had = s.ports.size();
    uint64_t new_slot_ports = 0;
    for (unsigned i = 0; i < PS_EXACT_PORTS; ++i) {
        uint32_t item = k.port_slots[i];
        if (item == 0) continue;
        auto it = std::find_if(s.ports.begin(), s.ports.end(),
                               [item](const PortCount& p) { return p.item == item; });
        if (it != s.ports.end()) {
            it->packets += k.port_slot_pkts[i];
            continue;
        }
        s.weight += port_weight(item);
        ++new_slot_ports;
        if (s.ports.size() < SourceTable::kExactItems)
            s.ports.push_back({item, k.port_slot_pkts[i]});
        else
            s.ports_exact = false;
    }
    if (k.port_overflow) {
        // Ports beyond the kernel's slots: weigh what the estimate grew by, at 1 each, less
        // the slot ports already weighed above (the kernel's HLL holds them too).
        if (was_exact) seed_hll(s.port_hll, s.ports, had);
        double before = s.port_hll.estimate();
        s.port_hll.merge_packed(k.port_hll);
        double grown = s.port_hll.estimate() - before - static_cast<double>(new_slot_ports);
        if (grown > 0) s.weight += static_cast<uint64_t>(grown + 0.5);
        s.ports_exact = false;
    } else if (!s.ports_exact) {
        if (was_exact) seed_hll(s.port_hll, s.ports, s.ports.size());
        s.port_hll.merge_packed(k.port_hll);
    }
}

static void merge_repeats(SourceState& s, const ps_src_stats& k, uint64_t repeat_ns) {
    // Only a single-destination sample says which host each port's probes went to, and only
    // raw-tool TCP probes count: an OS stack reconnecting to a service is not probing it.
    bool one_dst = k.dst_slots[0] != 0 && k.dst_slots[1] == 0 && !k.dst_overflow;
    bool raw_tcp = k.tcp_probes > 0 && k.first.opts_shape != PS_OPTS_STACK;
    if (!one_dst || !raw_tcp) return;
    if (s.repeat_start_ns == 0 || k.first_seen_ns >= s.repeat_start_ns + repeat_ns ||
        s.repeat_dst != k.dst_slots[0]) {
        s.repeat_start_ns = k.first_seen_ns;
        s.repeat_dst = k.dst_slots[0];
        s.repeat_ports.clear();
    }
    for (unsigned i = 0; i < PS_EXACT_PORTS; ++i) {
        uint32_t item = k.port_slots[i];
        if (item == 0 || PS_PORT_SLOT_PROTO(item) != PS_PORT_PROTO_TCP) continue;
        auto it = std::find_if(s.repeat_ports.begin(), s.repeat_ports.end(),
                               [item](const PortCount& p) { return p.item == item; });
        if (it == s.repeat_ports.end()) {
            if (s.repeat_ports.size() >= SourceTable::kExactItems) continue;
            s.repeat_ports.push_back({item, 0});
            it = std::prev(s.repeat_ports.end());
        }
        it->packets += k.port_slot_pkts[i];
        s.repeat_max = std::max(s.repeat_max, it->packets);
    }
}

static void reset_window(SourceState& s, uint64_t start) {
    s.window_start_ns = start;
    s.window.fill(0);
    s.technique.fill(0);
    s.udp_probe.fill(0);
    s.fp_hits.fill(0);
    s.udp_same_sport = 0;
    s.udp_empty = 0;
    s.tcp_probes = 0;
    s.first_probe = {};
    s.ports.clear();
    s.ports_exact = true;
    s.dsts.clear();
    s.dsts_exact = true;
    s.port_hll = Hll{};
    s.dst_hll = Hll{};
    s.repeat_max = 0;
    s.weight_max = 0;
}

static void merge_dsts(SourceState& s, const ps_src_stats& k) {
    const bool was_exact = s.dsts_exact;
    for (unsigned i = 0; i < PS_EXACT_DSTS; ++i) {
        uint32_t d = k.dst_slots[i];
        if (d == 0 || std::find(s.dsts.begin(), s.dsts.end(), d) != s.dsts.end()) continue;
        if (s.dsts.size() < SourceTable::kExactItems)
            s.dsts.push_back(d);
        else
            s.dsts_exact = false;
    }
    if (k.dst_overflow) s.dsts_exact = false;
    if (s.dsts_exact) return;  // no HLL while exact (see seed_hll)
    // A folded destination of 0 sits in its slot as 1 (0 marks an empty slot); 0.0.0.0 is never
    // probed, so 1 is taken as itself.
    if (was_exact)
        for (uint32_t d : s.dsts) s.dst_hll.add(ps_mix32(d));
    s.dst_hll.merge_packed(k.dst_hll);
}

void SourceTable::ChunkDeleter::operator()(SourceState* p) const {
    std::destroy_n(p, kChunk);
    std::free(p);
}

uint32_t SourceTable::take_slot() {
    if (free_.empty()) {
        const auto base = static_cast<uint32_t>(chunks_.size() * kChunk);
        auto* mem = static_cast<SourceState*>(huge_alloc(kChunk * sizeof(SourceState)));
        std::uninitialized_value_construct_n(mem, kChunk);
        chunks_.emplace_back(mem);
        where_.resize(where_.size() + kChunk);
        for (uint32_t i = kChunk; i-- > 0;) free_.push_back(base + i);
    }
    uint32_t slot = free_.back();
    free_.pop_back();
    return slot;
}

void SourceTable::release(uint32_t slot) {
    Where& w = where_[slot];
    --run_of(w.run).live;
    w = Where{};
    index_.erase(state(slot).addr);
    state(slot) = SourceState{};
    free_.push_back(slot);
}

void SourceTable::append(uint32_t slot, uint64_t interval_seq) {
    if (runs_.empty() || runs_.back().seq != interval_seq) {
        drop_dead_runs();
        for (Run& r : runs_) compact(r);
        runs_.push_back(Run{next_run_id_++, interval_seq, {}, 0, 0});
    }
    Where& w = where_[slot];
    if (w.run != kFree) --run_of(w.run).live;
    Run& r = runs_.back();
    w = Where{r.id, r.slots.size()};
    r.slots.push_back(slot);
    ++r.live;
}

// A run whose entries are mostly stale (their sources moved on to later runs) is rewritten
// with its live ones, so runs hold O(sources) entries in all.
void SourceTable::compact(Run& r) {
    const size_t entries = r.slots.size() - r.head;
    if (entries < 64 || r.live * 2 > entries) return;
    std::vector<uint32_t> kept;
    kept.reserve(r.live);
    for (size_t pos = r.head; pos < r.slots.size(); ++pos) {
        if (!live(r, pos)) continue;
        where_[r.slots[pos]].pos = kept.size();
        kept.push_back(r.slots[pos]);
    }
    r.slots.swap(kept);
    r.head = 0;
}

void SourceTable::drop_dead_runs() {
    while (!runs_.empty() && runs_.front().live == 0) runs_.pop_front();
}

std::optional<uint32_t> SourceTable::least_recent() {
    for (Run& r : runs_) {
        while (r.head < r.slots.size() && !live(r, r.head)) ++r.head;
        if (r.head < r.slots.size()) return r.slots[r.head];
    }
    return std::nullopt;
}

static Addr16 addr_of(const ps_src_key& key) {
    Addr16 addr;
    std::memcpy(addr.data(), key.addr, addr.size());
    return addr;
}

SourceState& SourceTable::absorb(const SourceSample& sample, uint64_t interval_seq,
                                 bool* first_sample) {
    return absorb_at(sample.key, sample.stats, interval_seq, kNoSlot, first_sample);
}

void SourceTable::absorb_all(const SourceSamples& samples, uint64_t interval_seq,
                             const std::vector<bool>& skip, std::vector<SourceState*>& firsts) {
    // A batch's lookups first, then its states prefetched, then the merges: the lookups are
    // independent of each other, so their cache misses overlap instead of following one
    // another, and each merge finds its state on the way in.
    constexpr size_t kAhead = 16;
    std::array<uint32_t, kAhead> hint;
    for (size_t base = 0; base < samples.size(); base += kAhead) {
        const size_t n = std::min(kAhead, samples.size() - base);
        for (size_t j = 0; j < n; ++j) {
            hint[j] = kNoSlot;
            if (skip[base + j]) continue;
            auto it = index_.find(addr_of(samples.key(base + j)));
            if (it != index_.end()) hint[j] = it->second;
        }
        for (size_t j = 0; j < n; ++j)
            if (hint[j] != kNoSlot) prefetch_state(&state(hint[j]));
        for (size_t j = 0; j < n; ++j) {
            if (skip[base + j]) continue;
            bool first = false;
            SourceState& st = absorb_at(samples.key(base + j), samples.stats(base + j),
                                        interval_seq, hint[j], &first);
            if (first) firsts.push_back(&st);
        }
    }
}

// hint: the source's slot as looked up before (kNoSlot: not found then). Checked, since an
// eviction since the lookup may have freed it, or given it to another source.
SourceState& SourceTable::absorb_at(const ps_src_key& key, const ps_src_stats& k,
                                    uint64_t interval_seq, uint32_t hint, bool* first_sample) {
    const Addr16 addr = addr_of(key);

    uint32_t slot = kNoSlot;
    if (hint != kNoSlot && where_[hint].run != kFree && Addr16Equal()(state(hint).addr, addr)) {
        slot = hint;
    } else if (auto found = index_.find(addr); found != index_.end()) {
        slot = found->second;
    }
    const bool created = slot == kNoSlot;
    if (created) {
        // The least recent sources go, but none this interval's drain brought: the caller
        // holds this interval's sources (a drain may bring more than capacity_ of them:
        // src_stats entries and first probes from src_pending), so the table stretches for
        // the interval and shrinks back as later intervals bring new sources.
        while (capacity_ > 0 && index_.size() >= capacity_) {
            std::optional<uint32_t> old = least_recent();
            if (!old || state(*old).interval_seq == interval_seq) break;
            if (state(*old).verdict) evicted_reported_.push_back(state(*old));
            release(*old);
            ++evicted_;
        }
        slot = take_slot();
        state(slot).addr = addr;
        state(slot).first_seen_ns = k.first_seen_ns;
        index_.emplace(addr, slot);
    }
    SourceState& s = state(slot);
    if (first_sample) *first_sample = created || s.interval_seq != interval_seq;
    append(slot, interval_seq);
    if (s.interval_seq != interval_seq) s.interval.fill(0);
    s.interval_seq = interval_seq;
    if (s.window_start_ns == 0 || k.first_seen_ns >= s.window_start_ns + windows_.window_ns)
        reset_window(s, k.first_seen_ns ? k.first_seen_ns : 1);
    if (s.weight_start_ns == 0 || k.first_seen_ns >= s.weight_start_ns + windows_.weight_ns) {
        s.weight_start_ns = k.first_seen_ns ? k.first_seen_ns : 1;
        s.weight = 0;
    }
    for (unsigned c = 0; c < PS_SRC_CLASS_COUNT; ++c) {
        s.total[c] += k.pkts[c];
        s.interval[c] += k.pkts[c];
        s.window[c] += k.pkts[c];
    }
    for (unsigned t = 0; t < PS_TECH_COUNT; ++t) s.technique[t] += k.technique[t];
    for (unsigned u = 0; u < PS_UDP_PROBE_COUNT; ++u) s.udp_probe[u] += k.udp_probe[u];
    s.udp_same_sport += k.udp_same_sport;
    s.udp_empty += k.udp_empty;
    if (k.first_seen_ns && (s.first_seen_ns == 0 || k.first_seen_ns < s.first_seen_ns))
        s.first_seen_ns = k.first_seen_ns;
    s.last_seen_ns = std::max<uint64_t>(s.last_seen_ns, k.last_seen_ns);
    Run& run = runs_.back();  // append put the slot there
    run.min_last_seen = std::min(run.min_last_seen, s.last_seen_ns);
    if (k.tcp_probes && s.tcp_probes == 0) s.first_probe = k.first;
    s.tcp_probes += k.tcp_probes;
    for (unsigned f = 0; f < PS_FP_COUNT; ++f) s.fp_hits[f] += k.fp_hits[f];
    s.last_packet = k.last;
    merge_ports(s, k);
    merge_dsts(s, k);
    merge_repeats(s, k, windows_.repeat_ns);
    s.weight_max = std::max(s.weight_max, s.weight);
    s.peak_ports = std::max(s.peak_ports, s.distinct_ports().value);
    s.peak_dsts = std::max(s.peak_dsts, s.distinct_dsts().value);
    return s;
}

std::vector<SourceState> SourceTable::take_evicted() {
    std::vector<SourceState> out;
    out.swap(evicted_reported_);
    return out;
}

size_t SourceTable::expire(uint64_t now_ns,
                           const std::function<void(const SourceState&)>& on_expire) {
    // Runs are in drain order and each drain empties the kernel map, so last-seen times grow
    // from run to run but not inside one: walk from the oldest and stop only after the run
    // that holds the first source still active.
    size_t n = 0;
    for (Run& r : runs_) {
        // Neither walk below is needed: a run whose sources all moved on to later runs holds
        // none to expire, and one whose sources are all still active would stop the walk.
        if (r.live == 0) continue;
        if (now_ns <= idle_ns_ || r.min_last_seen >= now_ns - idle_ns_) break;
        bool active = false;
        for (size_t pos = r.head; pos < r.slots.size(); ++pos) {
            if (!live(r, pos)) continue;
            uint32_t slot = r.slots[pos];
            if (state(slot).last_seen_ns + idle_ns_ >= now_ns) {
                active = true;
                continue;
            }
            if (on_expire) on_expire(state(slot));
            release(slot);
            ++n;
        }
        if (active) break;
    }
    drop_dead_runs();
    return n;
}

const SourceState* SourceTable::find(const Addr16& addr) const {
    auto it = index_.find(addr);
    return it == index_.end() ? nullptr : &state(it->second);
}

}  // namespace probescope
