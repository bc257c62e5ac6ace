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

TEST(TotalsFromKernel, CopiesEveryField) {
    ps_totals k{};
    k.packets = 11;
    k.bytes = 12;
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c) k.class_pkts[c] = 110 + c;
    for (unsigned f = 0; f < 256; ++f) k.tcp_flags[f] = 1010 + f;
    k.src_inserts = 13;
    k.src_insert_failed = 14;
    k.src_pending = 15;
    k.dst_filtered = 16;
    expect_snapshot(TotalsSnapshot::from_kernel(k), 10);
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
