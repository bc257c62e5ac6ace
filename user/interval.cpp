// Arithmetic on totals snapshots (sums across CPUs, deltas across drains) and the storage of
// SourceSamples, the drain's two-array sample buffer.
#include "interval.h"

#include <algorithm>
#include <cstring>

#include "huge_alloc.h"
#include "probescope/track.h"

namespace probescope {

TotalsSnapshot TotalsSnapshot::from_kernel(const ps_totals& kernel) {
    ps_totals t = kernel;
    ps_derive_totals(&t);
    TotalsSnapshot s;
    s.packets = t.packets;
    s.bytes = t.bytes;
    for (unsigned i = 0; i < PS_CLASS_COUNT; ++i) s.classes[i] = t.class_pkts[i];
    for (unsigned i = 0; i < 256; ++i) s.tcp_flags[i] = t.tcp_flags[i];
    s.src_inserts = t.src_inserts;
    s.src_insert_failed = t.src_insert_failed;
    s.src_pending = t.src_pending;
    s.dst_filtered = t.dst_filtered;
    return s;
}

TotalsSnapshot& TotalsSnapshot::operator+=(const TotalsSnapshot& o) {
    packets += o.packets;
    bytes += o.bytes;
    for (unsigned i = 0; i < PS_CLASS_COUNT; ++i) classes[i] += o.classes[i];
    for (unsigned i = 0; i < 256; ++i) tcp_flags[i] += o.tcp_flags[i];
    src_inserts += o.src_inserts;
    src_insert_failed += o.src_insert_failed;
    src_pending += o.src_pending;
    dst_filtered += o.dst_filtered;
    return *this;
}

TotalsSnapshot TotalsSnapshot::operator-(const TotalsSnapshot& o) const {
    TotalsSnapshot d;
    d.packets = packets - o.packets;
    d.bytes = bytes - o.bytes;
    for (unsigned i = 0; i < PS_CLASS_COUNT; ++i) d.classes[i] = classes[i] - o.classes[i];
    for (unsigned i = 0; i < 256; ++i) d.tcp_flags[i] = tcp_flags[i] - o.tcp_flags[i];
    d.src_inserts = src_inserts - o.src_inserts;
    d.src_insert_failed = src_insert_failed - o.src_insert_failed;
    d.src_pending = src_pending - o.src_pending;
    d.dst_filtered = dst_filtered - o.dst_filtered;
    return d;
}

template <typename T, typename D>
static void regrow(std::unique_ptr<T, D>& buf, size_t used, size_t n) {
    std::unique_ptr<T, D> bigger(static_cast<T*>(huge_alloc(n * sizeof(T))));
    if (used) std::memcpy(bigger.get(), buf.get(), used * sizeof(T));
    buf = std::move(bigger);
}

SourceSamples::SourceSamples(const std::vector<SourceSample>& samples) {
    reserve(samples.size());
    for (const auto& s : samples) push_back(s.key, s.stats);
}

SourceSamples& SourceSamples::operator=(const SourceSamples& o) {
    if (this == &o) return *this;
    clear();
    reserve(o.size_);
    if (o.size_) {
        std::memcpy(keys_.get(), o.keys_.get(), o.size_ * sizeof(ps_src_key));
        std::memcpy(stats_.get(), o.stats_.get(), o.size_ * sizeof(ps_src_stats));
    }
    size_ = o.size_;
    return *this;
}

void SourceSamples::reserve(size_t n) {
    if (n <= cap_) return;
    const size_t cap = std::max(n, cap_ + cap_ / 2);
    regrow(keys_, size_, cap);
    regrow(stats_, size_, cap);
    cap_ = cap;
}

ps_src_stats& SourceSamples::push_back(const ps_src_key& key, const ps_src_stats& stats) {
    make_room(1);
    key_tail()[0] = key;
    stats_tail()[0] = stats;
    return stats_.get()[size_++];
}

}  // namespace probescope

// The ABI is shared with the kernel: sizes change only on purpose.
static_assert(sizeof(ps_src_key) == 16);
static_assert(sizeof(ps_probe_facts) == 24);
static_assert(sizeof(ps_src_stats) % 8 == 0 && sizeof(ps_src_stats) == 688);
static_assert(sizeof(ps_port_stats) == PS_HLL_BYTES);
static_assert(sizeof(ps_totals) == 8 * (2 + PS_CLASS_COUNT + 256 + 4));
static_assert(sizeof(ps_probe) == 40 && sizeof(ps_pending) == 64);  // one cache line a slot
