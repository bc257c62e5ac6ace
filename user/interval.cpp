// Arithmetic on totals snapshots: sums across CPUs and deltas across drains.
#include "interval.h"

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

}  // namespace probescope

// The ABI is shared with the kernel: sizes change only on purpose.
static_assert(sizeof(ps_src_key) == 16);
static_assert(sizeof(ps_probe_facts) == 24);
static_assert(sizeof(ps_src_stats) % 8 == 0 && sizeof(ps_src_stats) == 688);
static_assert(sizeof(ps_port_stats) == PS_HLL_BYTES);
static_assert(sizeof(ps_totals) == 8 * (2 + PS_CLASS_COUNT + 256 + 4));
static_assert(sizeof(ps_probe) == 40 && sizeof(ps_pending) == 64);  // one cache line a slot
