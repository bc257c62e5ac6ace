// Unit tests for interval.h: TotalsSnapshot conversion from the kernel struct, sums and deltas.
#include "interval.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace probescope {
namespace {

// Every field gets a different value so a field copied into the wrong place shows up.
TotalsSnapshot snapshot(uint64_t base) {
    TotalsSnapshot s;
    s.packets = base + 1;
    s.bytes = base + 2;
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c) s.classes[c] = base + 100 + c;
    for (unsigned f = 0; f < 256; ++f) s.tcp_flags[f] = base + 1000 + f;
    s.src_inserts = base + 3;
    s.src_insert_failed = base + 4;
    s.src_pending = base + 5;
    s.dst_filtered = base + 6;
    return s;
}

void expect_snapshot(const TotalsSnapshot& s, uint64_t base) {
    EXPECT_EQ(s.packets, base + 1);
    EXPECT_EQ(s.bytes, base + 2);
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c) EXPECT_EQ(s.classes[c], base + 100 + c) << c;
    for (unsigned f = 0; f < 256; ++f) EXPECT_EQ(s.tcp_flags[f], base + 1000 + f) << f;
    EXPECT_EQ(s.src_inserts, base + 3);
    EXPECT_EQ(s.src_insert_failed, base + 4);
    EXPECT_EQ(s.src_pending, base + 5);
    EXPECT_EQ(s.dst_filtered, base + 6);
}

// Every counter of a difference of two snapshot(base) values is the difference of the bases.
void expect_every_field(const TotalsSnapshot& s, uint64_t v) {
    EXPECT_EQ(s.packets, v);
    EXPECT_EQ(s.bytes, v);
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c) EXPECT_EQ(s.classes[c], v) << c;
    for (unsigned f = 0; f < 256; ++f) EXPECT_EQ(s.tcp_flags[f], v) << f;
    EXPECT_EQ(s.src_inserts, v);
    EXPECT_EQ(s.src_insert_failed, v);
    EXPECT_EQ(s.src_pending, v);
    EXPECT_EQ(s.dst_filtered, v);
}

// The fields the program counts are copied; the two it leaves to the drain (packets and
// class TCP_OTHER, ps_derive_totals) are derived whatever the kernel struct held in them.
TEST(TotalsFromKernel, CopiesEveryCountedFieldAndDerivesTheRest) {
    ps_totals k{};
    k.packets = 999999;  // never written by the program: not read either
    k.bytes = 12;
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c) k.class_pkts[c] = 110 + c;
    k.class_pkts[PS_CLASS_TCP_OTHER] = 999999;
    for (unsigned f = 0; f < 256; ++f) k.tcp_flags[f] = 1010 + f;
    k.src_inserts = 13;
    k.src_insert_failed = 14;
    k.src_pending = 15;
    k.dst_filtered = 16;
    const TotalsSnapshot s = TotalsSnapshot::from_kernel(k);

    uint64_t other = 0, packets = 0;
    for (unsigned f = 0; f < 256; ++f)
        if ((f & 0x10) && !(f & 0x06)) other += 1010 + f;  // ACK set, neither SYN nor RST
    other -= 110 + PS_CLASS_TCP_ACK_PROBE;
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c)
        packets += c == PS_CLASS_TCP_OTHER ? other : 110 + c;
    EXPECT_EQ(s.packets, packets);
    EXPECT_EQ(s.bytes, 12u);
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c)
        EXPECT_EQ(s.classes[c], c == PS_CLASS_TCP_OTHER ? other : 110 + c) << c;
    for (unsigned f = 0; f < 256; ++f) EXPECT_EQ(s.tcp_flags[f], 1010 + f) << f;
    EXPECT_EQ(s.src_inserts, 13u);
    EXPECT_EQ(s.src_insert_failed, 14u);
    EXPECT_EQ(s.src_pending, 15u);
    EXPECT_EQ(s.dst_filtered, 16u);
}

// A table of what one CPU's slot holds after a mix of frames, and what the drain reports.
TEST(TotalsFromKernel, DerivesPacketsAndEstablishedFromTheFlags) {
    ps_totals k{};
    k.tcp_flags[PS_TCP_ACK] = 5;                            // established, 3 of them probes
    k.tcp_flags[PS_TCP_ACK | PS_TCP_PSH] = 7;               // established
    k.tcp_flags[PS_TCP_ACK | PS_TCP_FIN] = 2;               // 1 established, 1 Maimon probe
    k.tcp_flags[PS_TCP_ACK | PS_TCP_ECE | PS_TCP_CWR] = 1;  // established (ECN bits aside)
    k.tcp_flags[PS_TCP_ACK | PS_TCP_URG | PS_TCP_PSH] = 1;  // established
    k.tcp_flags[PS_TCP_SYN] = 4;                            // SYN scan
    k.tcp_flags[PS_TCP_SYN | PS_TCP_ACK] = 6;               // backscatter, not established
    k.tcp_flags[PS_TCP_RST | PS_TCP_ACK] = 8;               // backscatter, not established
    k.tcp_flags[PS_TCP_FIN | PS_TCP_PSH | PS_TCP_URG] = 9;  // Xmas, no ACK
    k.class_pkts[PS_CLASS_TCP_ACK_PROBE] = 4;
    k.class_pkts[PS_CLASS_TCP_SYN] = 4;
    k.class_pkts[PS_CLASS_TCP_SYNACK] = 6;
    k.class_pkts[PS_CLASS_TCP_RST] = 8;
    k.class_pkts[PS_CLASS_TCP_ODD] = 9;
    k.class_pkts[PS_CLASS_UDP] = 20;
    k.class_pkts[PS_CLASS_MALFORMED] = 3;  // truncated TCP: no flags byte counted
    const TotalsSnapshot s = TotalsSnapshot::from_kernel(k);
    EXPECT_EQ(s.classes[PS_CLASS_TCP_OTHER], 5u - 3 + 7 + 1 + 1 + 1);
    EXPECT_EQ(s.classes[PS_CLASS_TCP_ACK_PROBE], 4u);
    EXPECT_EQ(s.packets, 12u + 4 + 4 + 6 + 8 + 9 + 20 + 3);
}

TEST(TotalsFromKernel, ZeroStructIsZeroSnapshot) {
    expect_every_field(TotalsSnapshot::from_kernel(ps_totals{}), 0);
}

TEST(TotalsSubtract, FieldwiseDelta) { expect_every_field(snapshot(5000) - snapshot(3000), 2000); }

TEST(TotalsSubtract, SameSnapshotGivesAllZero) {
    const TotalsSnapshot s = snapshot(77);
    expect_every_field(s - s, 0);
}

TEST(TotalsSubtract, LeavesOperandsUnchanged) {
    const TotalsSnapshot a = snapshot(500), b = snapshot(200);
    (void)(a - b);
    expect_snapshot(a, 500);
    expect_snapshot(b, 200);
}

TEST(TotalsAdd, FieldwiseSumAndReturnsSelf) {
    TotalsSnapshot a = snapshot(0);
    TotalsSnapshot& r = (a += snapshot(0));
    EXPECT_EQ(&r, &a);
    EXPECT_EQ(a.packets, 2u);
    EXPECT_EQ(a.bytes, 4u);
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c) EXPECT_EQ(a.classes[c], 2 * (100 + c)) << c;
    for (unsigned f = 0; f < 256; ++f) EXPECT_EQ(a.tcp_flags[f], 2 * (1000 + f)) << f;
    EXPECT_EQ(a.src_inserts, 6u);
    EXPECT_EQ(a.src_insert_failed, 8u);
}

// Summing per-CPU copies then diffing two drains must give what happened in between.
TEST(TotalsAdd, SumThenDeltaUndoes) {
    TotalsSnapshot acc = snapshot(1000);
    acc += snapshot(20);
    const TotalsSnapshot back = acc - snapshot(20);
    expect_snapshot(back, 1000);
}

}  // namespace
}  // namespace probescope
