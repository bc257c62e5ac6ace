// Unit tests for hll.h: unpacking the kernel's 4-bit registers, merging, and the estimate.
#include "hll.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "hll_mirror.h"

namespace probescope {
namespace {

using Packed = std::array<uint8_t, PS_HLL_BYTES>;
using test::mirror_hll_add_range;

Packed packed_of_range(uint32_t first, uint32_t n) {
    Packed p{};
    mirror_hll_add_range(p.data(), first, n);
    return p;
}

Hll hll_of_range(uint32_t first, uint32_t n) {
    Hll h;
    h.merge_packed(packed_of_range(first, n).data());
    return h;
}

TEST(HllRegisters, EvenIndexIsLowNibbleOddIndexIsHighNibble) {
    Packed p{};
    p[0] = 0x21;    // reg 0 = 1, reg 1 = 2
    p[127] = 0xf3;  // reg 254 = 3, reg 255 = 15
    Hll h;
    h.merge_packed(p.data());
    EXPECT_EQ(h.registers()[0], 1);
    EXPECT_EQ(h.registers()[1], 2);
    EXPECT_EQ(h.registers()[2], 0);
    EXPECT_EQ(h.registers()[254], 3);
    EXPECT_EQ(h.registers()[255], 15);
}

TEST(HllRegisters, MergePackedKeepsPerRegisterMax) {
    Packed a{}, b{};
    a[0] = 0x51;  // reg 0 = 1, reg 1 = 5
    b[0] = 0x24;  // reg 0 = 4, reg 1 = 2
    Hll h;
    h.merge_packed(a.data());
    h.merge_packed(b.data());
    EXPECT_EQ(h.registers()[0], 4);
    EXPECT_EQ(h.registers()[1], 5);
}

TEST(HllRegisters, EmptyUntilAnyRegisterIsSet) {
    Hll h;
    EXPECT_TRUE(h.empty());
    h.merge_packed(Packed{}.data());
    EXPECT_TRUE(h.empty());
    Packed p{};
    p[64] = 0x10;
    h.merge_packed(p.data());
    EXPECT_FALSE(h.empty());
}

TEST(HllEstimate, EmptySketchIsZero) {
    EXPECT_EQ(Hll{}.estimate(), 0.0);
    EXPECT_EQ(hll_estimate_packed(Packed{}.data()), 0.0);
}

// Linear counting: a handful of items in distinct registers comes out exact after rounding.
class HllSmallCounts : public ::testing::TestWithParam<uint32_t> {};

TEST_P(HllSmallCounts, ExactAfterRounding) {
    EXPECT_EQ(std::llround(hll_of_range(1, GetParam()).estimate()), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Table, HllSmallCounts, ::testing::Values(1u, 2u, 5u),
                         [](const auto& info) { return "n" + std::to_string(info.param); });

// Standard error at 2^8 registers is 6.5%; 10% is the bound the agent's output promises.
class HllLargeCounts : public ::testing::TestWithParam<uint32_t> {};

TEST_P(HllLargeCounts, WithinTenPercent) {
    const uint32_t n = GetParam();
    const double est = hll_of_range(1, n).estimate();
    EXPECT_NEAR(est, n, 0.10 * n) << "n=" << n << " estimate=" << est;
}

INSTANTIATE_TEST_SUITE_P(Table, HllLargeCounts, ::testing::Values(100u, 1000u, 10000u, 65536u),
                         [](const auto& info) { return "n" + std::to_string(info.param); });

TEST(HllEstimate, PackedShortcutMatchesUnpacked) {
    const Packed p = packed_of_range(7, 3000);
    Hll h;
    h.merge_packed(p.data());
    EXPECT_EQ(hll_estimate_packed(p.data()), h.estimate());
}

TEST(HllMerge, DisjointSetsEstimateTheirUnionWithinTenPercent) {
    Hll a = hll_of_range(1, 5000);
    const Hll b = hll_of_range(1000000, 7000);
    a.merge(b);
    EXPECT_NEAR(a.estimate(), 12000, 0.10 * 12000) << "estimate=" << a.estimate();
}

// Registers only keep maxima, so merged sketches must equal one sketch of the union.
TEST(HllMerge, EqualsSketchOfTheUnion) {
    Hll a = hll_of_range(1, 5000);
    a.merge(hll_of_range(1000000, 7000));
    Packed both{};
    mirror_hll_add_range(both.data(), 1, 5000);
    mirror_hll_add_range(both.data(), 1000000, 7000);
    Hll u;
    u.merge_packed(both.data());
    EXPECT_EQ(a.registers(), u.registers());
}

TEST(HllMerge, OverlappingSetsCountSharedItemsOnce) {
    Hll a = hll_of_range(1, 3000);
    a.merge(hll_of_range(2001, 3000));  // 1000 shared: union is 1..5000
    EXPECT_EQ(a.registers(), hll_of_range(1, 5000).registers());
}

TEST(HllMerge, MergingWithItselfChangesNothing) {
    Hll a = hll_of_range(1, 2000);
    const auto before = a.registers();
    a.merge(a);
    EXPECT_EQ(a.registers(), before);
}

TEST(HllMerge, MergingTheSameSketchTwiceEqualsOnce) {
    const Hll b = hll_of_range(50000, 800);
    Hll once = hll_of_range(1, 2000), twice = hll_of_range(1, 2000);
    once.merge(b);
    twice.merge(b);
    twice.merge(b);
    EXPECT_EQ(twice.registers(), once.registers());
    EXPECT_EQ(twice.estimate(), once.estimate());
}

TEST(HllMerge, MergingAnEmptySketchChangesNothing) {
    Hll a = hll_of_range(1, 2000);
    const auto before = a.registers();
    a.merge(Hll{});
    EXPECT_EQ(a.registers(), before);
}

// The registers are allocated on first use: a copy must own its own (a source's state is copied
// into the evicted list and into records while the original lives on), and merging a sketch
// that never had any changes nothing.
TEST(HllCopy, CopiesAreIndependentAndAnUnusedSketchMergesAsEmpty) {
    Hll a = hll_of_range(1, 300);
    const Hll::Registers before = a.registers();
    Hll b = a;
    b.merge(hll_of_range(1000, 300));
    EXPECT_EQ(a.registers(), before);
    EXPECT_NE(b.registers(), before);
    Hll c;
    c = a;
    a = Hll{};
    EXPECT_EQ(c.registers(), before);
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(a.registers(), Hll::Registers{});
    c.merge(Hll{});
    EXPECT_EQ(c.registers(), before);
    Hll d;
    d.merge(Hll{});
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(d.estimate(), 0.0);
}

}  // namespace
}  // namespace probescope
