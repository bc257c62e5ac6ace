// Unit tests for source_table.h: how drained kernel entries fold into per-source history.
#include "source_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "addr.h"
#include "case_print.h"
#include "hll_mirror.h"
#include "src_sample.h"

namespace probescope {
namespace {

constexpr uint64_t kNoIdle = ~0ull / 2;  // idle timeout no test reaches

Addr16 addr(std::string_view text) { return parse_addr(text).value(); }

using test::icmp;
using test::tcp;
using test::udp;
using Sample = test::SrcSample;

uint64_t rounded_estimate(uint32_t first, uint32_t n) {
    uint8_t packed[PS_HLL_BYTES] = {};
    test::mirror_hll_add_range(packed, first, n);
    return static_cast<uint64_t>(std::llround(hll_estimate_packed(packed)));
}

std::vector<std::pair<uint32_t, uint64_t>> as_pairs(const std::vector<PortCount>& v) {
    std::vector<std::pair<uint32_t, uint64_t>> out;
    for (const auto& p : v) out.emplace_back(p.item, p.packets);
    return out;
}

using Counts = std::array<uint64_t, PS_SRC_CLASS_COUNT>;

// Counts by class name, so that adding a class does not shift every expectation.
Counts counts(std::initializer_list<std::pair<ps_class, uint64_t>> by_class) {
    Counts c{};
    for (auto [cls, n] : by_class) c[cls] = n;
    return c;
}

TEST(SourceTableAbsorb, NewSourceCopiesKernelCounters) {
    SourceTable t(100, kNoIdle);
    const SourceState& s = t.absorb(Sample("192.0.2.1")
                                        .seen(1000, 2000)
                                        .pkts(PS_CLASS_TCP_SYN, 7)
                                        .pkts(PS_CLASS_UDP, 3)
                                        .pkts(PS_CLASS_ICMP_ERROR, 2),
                                    1);
    EXPECT_EQ(s.addr, addr("192.0.2.1"));
    EXPECT_EQ(s.total,
              (counts({{PS_CLASS_TCP_SYN, 7}, {PS_CLASS_UDP, 3}, {PS_CLASS_ICMP_ERROR, 2}})));
    EXPECT_EQ(s.interval,
              (counts({{PS_CLASS_TCP_SYN, 7}, {PS_CLASS_UDP, 3}, {PS_CLASS_ICMP_ERROR, 2}})));
    EXPECT_EQ(s.total_packets(), 12u);
    EXPECT_EQ(s.interval_packets(), 12u);
    EXPECT_EQ(s.interval_seq, 1u);
    EXPECT_EQ(s.first_seen_ns, 1000u);
    EXPECT_EQ(s.last_seen_ns, 2000u);
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.find(addr("192.0.2.1")), &s);
    EXPECT_EQ(t.find(addr("192.0.2.2")), nullptr);
}

TEST(SourceTableAbsorb, LaterDrainAddsTotalsAndRestartsInterval) {
    SourceTable t(100, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).pkts(PS_CLASS_TCP_SYN, 7).pkts(PS_CLASS_UDP, 3), 1);
    const SourceState& s = t.absorb(
        Sample("192.0.2.1").seen(3, 4).pkts(PS_CLASS_TCP_SYN, 5).pkts(PS_CLASS_TCP_RST, 1), 2);
    EXPECT_EQ(s.total,
              (counts({{PS_CLASS_TCP_SYN, 12}, {PS_CLASS_UDP, 3}, {PS_CLASS_TCP_RST, 1}})));
    EXPECT_EQ(s.interval, (counts({{PS_CLASS_TCP_SYN, 5}, {PS_CLASS_TCP_RST, 1}})));
    EXPECT_EQ(s.interval_seq, 2u);
    EXPECT_EQ(t.size(), 1u);
}

// Two samples of one source within one drain are both part of that drain's interval.
TEST(SourceTableAbsorb, SameDrainAddsToInterval) {
    SourceTable t(100, kNoIdle);
    t.absorb(Sample("2001:db8::5").seen(1, 2).pkts(PS_CLASS_ICMP_ECHO, 4), 9);
    const SourceState& s = t.absorb(
        Sample("2001:db8::5").seen(3, 4).pkts(PS_CLASS_ICMP_ECHO, 6).pkts(PS_CLASS_TCP_ODD, 1), 9);
    EXPECT_EQ(s.total, (counts({{PS_CLASS_TCP_ODD, 1}, {PS_CLASS_ICMP_ECHO, 10}})));
    EXPECT_EQ(s.interval, (counts({{PS_CLASS_TCP_ODD, 1}, {PS_CLASS_ICMP_ECHO, 10}})));
}

TEST(SourceTableAbsorb, SkippedDrainStillRestartsInterval) {
    SourceTable t(100, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).pkts(PS_CLASS_UDP, 3), 1);
    const SourceState& s = t.absorb(Sample("192.0.2.1").seen(5, 6).pkts(PS_CLASS_UDP, 1), 4);
    EXPECT_EQ(s.total[PS_CLASS_UDP], 4u);
    EXPECT_EQ(s.interval[PS_CLASS_UDP], 1u);
}

TEST(SourceTableAbsorb, V4AndV6SourcesAreSeparate) {
    SourceTable t(100, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).pkts(PS_CLASS_UDP, 1), 1);
    t.absorb(Sample("::ffff:192.0.2.1").seen(1, 2).pkts(PS_CLASS_UDP, 1), 1);  // same source
    t.absorb(Sample("2001:db8::c000:201").seen(1, 2).pkts(PS_CLASS_UDP, 1), 1);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.find(addr("192.0.2.1"))->total[PS_CLASS_UDP], 2u);
}

TEST(SourceTableAbsorb, FingerprintHitsAndProbesSumFirstProbeStaysLastPacketMoves) {
    SourceTable t(100, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).pkts(PS_CLASS_UDP, 1), 1);  // no TCP probe yet
    t.absorb(Sample("192.0.2.1").seen(3, 4).probes(2, 111, 112).fp(PS_FP_ZMAP, 2), 2);
    const SourceState& s = t.absorb(
        Sample("192.0.2.1").seen(5, 6).probes(3, 222, 223).fp(PS_FP_ZMAP, 1).fp(PS_FP_MIRAI, 3), 3);
    EXPECT_EQ(s.tcp_probes, 5u);
    EXPECT_EQ(s.fp_hits[PS_FP_ZMAP], 3u);
    EXPECT_EQ(s.fp_hits[PS_FP_MIRAI], 3u);
    EXPECT_EQ(s.first_probe.seq, 111u);
    EXPECT_EQ(s.last_packet.seq, 223u);
}

struct SeenCase {
    const char* test_name;
    std::vector<std::pair<uint64_t, uint64_t>> samples;  // (first_seen, last_seen) in absorb order
    uint64_t first;
    uint64_t last;
};

// Drains may deliver samples out of time order; the history must still span all of them.
const SeenCase kSeenCases[] = {
    {"InOrder", {{100, 200}, {300, 400}}, 100, 400},
    {"EarlierSampleSecond", {{300, 400}, {100, 200}}, 100, 400},
    {"MiddleSampleWidest", {{500, 600}, {200, 900}, {300, 700}}, 200, 900},
    {"ZeroFirstSeenIsUnset", {{0, 50}, {40, 60}}, 40, 60},
    {"LaterZeroFirstSeenIgnored", {{40, 60}, {0, 70}}, 40, 70},
};

class SourceTableSeen : public ::testing::TestWithParam<SeenCase> {};

TEST_P(SourceTableSeen, FirstSeenIsMinimumLastSeenIsMaximum) {
    SourceTable t(100, kNoIdle);
    uint64_t seq = 0;
    for (const auto& [first, last] : GetParam().samples)
        t.absorb(Sample("198.51.100.1").seen(first, last).pkts(PS_CLASS_TCP_SYN, 1), ++seq);
    const SourceState* s = t.find(addr("198.51.100.1"));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->first_seen_ns, GetParam().first);
    EXPECT_EQ(s->last_seen_ns, GetParam().last);
}

INSTANTIATE_TEST_SUITE_P(Table, SourceTableSeen, ::testing::ValuesIn(kSeenCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(SourceTablePorts, ExactPortsMergeAcrossSamplesSummingPackets) {
    SourceTable t(100, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).port(tcp(22), 3).port(tcp(80), 1), 1);
    const SourceState& s = t.absorb(
        Sample("192.0.2.1").seen(3, 4).port(tcp(22), 2).port(udp(53), 4).port(icmp(), 1), 2);
    EXPECT_EQ(as_pairs(s.ports), (std::vector<std::pair<uint32_t, uint64_t>>{
                                     {tcp(22), 5}, {tcp(80), 1}, {udp(53), 4}, {icmp(), 1}}));
    const DistinctCount d = s.distinct_ports();
    EXPECT_EQ(d.value, 4u);
    EXPECT_TRUE(d.exact);
}

TEST(SourceTablePorts, SameNumberDifferentProtocolIsTwoPorts) {
    SourceTable t(100, kNoIdle);
    const SourceState& s =
        t.absorb(Sample("192.0.2.1").seen(1, 2).port(tcp(53), 1).port(udp(53), 1), 1);
    EXPECT_EQ(s.distinct_ports().value, 2u);
    EXPECT_TRUE(s.distinct_ports().exact);
}

TEST(SourceTablePorts, KernelOverflowMakesInexactWithHllValue) {
    SourceTable t(100, kNoIdle);
    // 40 distinct ports: 16 fit the kernel slots, all 40 reach the HLL.
    const SourceState& s = t.absorb(Sample("192.0.2.1").seen(1, 2).tcp_ports(1000, 40), 1);
    ASSERT_EQ(s.ports.size(), 16u);
    const DistinctCount d = s.distinct_ports();
    EXPECT_FALSE(d.exact);
    EXPECT_EQ(d.value, rounded_estimate(tcp(1000), 40));
    EXPECT_NEAR(static_cast<double>(d.value), 40.0, 4.0);
}

TEST(SourceTablePorts, InexactValueIsNeverBelowExactSetSize) {
    SourceTable t(100, kNoIdle);
    Sample s("192.0.2.1");
    s.seen(1, 2).tcp_ports(1000, 3).raw_port_overflow();
    SourceSample raw = s;
    std::memset(raw.stats.port_hll, 0, sizeof(raw.stats.port_hll));  // HLL says 0
    const DistinctCount d = t.absorb(raw, 1).distinct_ports();
    EXPECT_FALSE(d.exact);
    EXPECT_EQ(d.value, 3u);
}

TEST(SourceTablePorts, OverflowIsSticky) {
    SourceTable t(100, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).tcp_ports(1000, 20), 1);
    const SourceState& s = t.absorb(Sample("192.0.2.1").seen(3, 4).port(tcp(1000), 1), 2);
    EXPECT_FALSE(s.distinct_ports().exact);
}

// User space widens the kernel's 16 slots to 64 by merging drains; item 65 ends exactness.
TEST(SourceTablePorts, SixtyFourPortsAcrossSamplesStayExact) {
    SourceTable t(100, kNoIdle);
    for (unsigned i = 0; i < 4; ++i)
        t.absorb(Sample("192.0.2.1").seen(1, 2).tcp_ports(static_cast<uint16_t>(1000 + 16 * i), 16),
                 i + 1);
    const DistinctCount d = t.find(addr("192.0.2.1"))->distinct_ports();
    EXPECT_TRUE(d.exact);
    EXPECT_EQ(d.value, 64u);
}

TEST(SourceTablePorts, MoreThanSixtyFourPortsAcrossSamplesBecomeInexact) {
    SourceTable t(100, kNoIdle);
    for (unsigned i = 0; i < 5; ++i)
        t.absorb(
            Sample("192.0.2.1").seen(1, 2).tcp_ports(static_cast<uint16_t>(1000 + 16 * i), 16, 2),
            i + 1);
    const SourceState& s = *t.find(addr("192.0.2.1"));
    EXPECT_EQ(s.ports.size(), SourceTable::kExactItems);
    const DistinctCount d = s.distinct_ports();
    EXPECT_FALSE(d.exact);
    EXPECT_EQ(d.value, std::max<uint64_t>(64, rounded_estimate(tcp(1000), 80)));
    EXPECT_NEAR(static_cast<double>(d.value), 80.0, 8.0);
}

// The agent builds a source's HLLs only once an exact set overflows, from the items it kept
// plus the samples from then on; the registers must be the ones merging every sample's
// kernel HLL would have given.
using PackedHll = uint8_t[PS_HLL_BYTES];
Hll merged(const std::vector<Sample>& samples, PackedHll ps_src_stats::*which) {
    Hll h;
    for (const auto& smp : samples)
        h.merge_packed(static_cast<const SourceSample&>(smp).stats.*which);
    return h;
}

TEST(SourceTableLazyHll, PortsHllBuiltLateEqualsEverySampleMerged) {
    SourceTable t(100, kNoIdle);
    std::vector<Sample> samples;
    // 4 x 16 ports: 64, still exact; the 5th sample passes 64; the 6th overflows the kernel's
    // slots (20 ports in one drain); the 7th repeats known ports.
    for (unsigned i = 0; i < 5; ++i)
        samples.push_back(
            Sample("192.0.2.1").seen(1, 2).tcp_ports(static_cast<uint16_t>(1000 + 16 * i), 16));
    samples.push_back(Sample("192.0.2.1").seen(3, 4).tcp_ports(5000, 20));
    samples.push_back(Sample("192.0.2.1").seen(5, 6).tcp_ports(1000, 8));
    for (size_t i = 0; i < samples.size(); ++i) {
        const SourceState& s = t.absorb(samples[i], i + 1);
        if (i == 3) {
            EXPECT_TRUE(s.ports_exact);
            EXPECT_TRUE(s.port_hll.empty()) << "an exact set needs no sketch";
        }
    }
    const SourceState& s = *t.find(addr("192.0.2.1"));
    EXPECT_FALSE(s.ports_exact);
    EXPECT_EQ(s.port_hll.registers(), merged(samples, &ps_src_stats::port_hll).registers());
    EXPECT_NEAR(static_cast<double>(s.distinct_ports().value), 100.0, 10.0);
}

TEST(SourceTableLazyHll, FirstSampleOverflowingBuildsTheHllAtOnce) {
    SourceTable t(100, kNoIdle);
    std::vector<Sample> samples{Sample("192.0.2.1").seen(1, 2).tcp_ports(1000, 40).dsts(7, 30)};
    const SourceState& s = t.absorb(samples[0], 1);
    EXPECT_FALSE(s.ports_exact);
    EXPECT_FALSE(s.dsts_exact);
    EXPECT_EQ(s.port_hll.registers(), merged(samples, &ps_src_stats::port_hll).registers());
    EXPECT_EQ(s.dst_hll.registers(), merged(samples, &ps_src_stats::dst_hll).registers());
}

TEST(SourceTableLazyHll, DstHllBuiltLateEqualsEverySampleMerged) {
    SourceTable t(100, kNoIdle);
    std::vector<Sample> samples;
    for (unsigned i = 0; i < 5; ++i)
        samples.push_back(Sample("192.0.2.1").seen(1, 2).dsts(100 + 16 * i, 16));
    samples.push_back(Sample("192.0.2.1").seen(3, 4).dsts(9000, 20));
    for (size_t i = 0; i < samples.size(); ++i) {
        const SourceState& s = t.absorb(samples[i], i + 1);
        if (i == 3) {
            EXPECT_TRUE(s.dst_hll.empty());
        }
    }
    const SourceState& s = *t.find(addr("192.0.2.1"));
    EXPECT_FALSE(s.dsts_exact);
    EXPECT_EQ(s.dst_hll.registers(), merged(samples, &ps_src_stats::dst_hll).registers());
}

TEST(SourceTableLazyHll, NewWindowStartsWithoutASketch) {
    SourceTable t(100, kNoIdle, SourceWindows{1000, 1000, 1000});
    t.absorb(Sample("192.0.2.1").seen(1, 2).tcp_ports(1000, 40), 1);
    const SourceState& s = t.absorb(Sample("192.0.2.1").seen(5000, 5001).tcp_ports(1, 3), 2);
    EXPECT_TRUE(s.ports_exact);
    EXPECT_EQ(s.distinct_ports().value, 3u);
    EXPECT_TRUE(s.port_hll.empty());
}

TEST(SourceTablePorts, KeptPortsStillCountPacketsAfterInexact) {
    SourceTable t(100, kNoIdle);
    for (unsigned i = 0; i < 5; ++i)
        t.absorb(Sample("192.0.2.1").seen(1, 2).tcp_ports(static_cast<uint16_t>(1000 + 16 * i), 16),
                 i + 1);
    const SourceState& s = t.absorb(Sample("192.0.2.1").seen(3, 4).port(tcp(1000), 10), 6);
    EXPECT_EQ(s.ports.front().item, tcp(1000));
    EXPECT_EQ(s.ports.front().packets, 11u);
}

TEST(SourceTableDsts, ExactDstsMergeWithoutDuplicates) {
    SourceTable t(100, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).dst(0xC6336401).dst(0xC6336402), 1);
    const SourceState& s =
        t.absorb(Sample("192.0.2.1").seen(3, 4).dst(0xC6336402).dst(0xC6336403), 2);
    EXPECT_EQ(s.dsts, (std::vector<uint32_t>{0xC6336401, 0xC6336402, 0xC6336403}));
    const DistinctCount d = s.distinct_dsts();
    EXPECT_EQ(d.value, 3u);
    EXPECT_TRUE(d.exact);
}

TEST(SourceTableDsts, KernelOverflowMakesInexactWithHllValue) {
    SourceTable t(100, kNoIdle);
    const SourceState& s = t.absorb(Sample("192.0.2.1").seen(1, 2).dsts(0xC6336400, 50), 1);
    ASSERT_EQ(s.dsts.size(), 16u);
    const DistinctCount d = s.distinct_dsts();
    EXPECT_FALSE(d.exact);
    EXPECT_EQ(d.value, rounded_estimate(0xC6336400, 50));
    EXPECT_NEAR(static_cast<double>(d.value), 50.0, 5.0);
}

TEST(SourceTableDsts, InexactValueIsNeverBelowExactSetSize) {
    SourceTable t(100, kNoIdle);
    Sample s("192.0.2.1");
    s.seen(1, 2).dsts(0xC6336400, 5).raw_dst_overflow();
    SourceSample raw = s;
    std::memset(raw.stats.dst_hll, 0, sizeof(raw.stats.dst_hll));
    const DistinctCount d = t.absorb(raw, 1).distinct_dsts();
    EXPECT_FALSE(d.exact);
    EXPECT_EQ(d.value, 5u);
}

TEST(SourceTableDsts, SixtyFourDstsAcrossSamplesStayExact) {
    SourceTable t(100, kNoIdle);
    for (unsigned i = 0; i < 4; ++i)
        t.absorb(Sample("192.0.2.1").seen(1, 2).dsts(0x0A000000 + 16 * i, 16), i + 1);
    const DistinctCount d = t.find(addr("192.0.2.1"))->distinct_dsts();
    EXPECT_TRUE(d.exact);
    EXPECT_EQ(d.value, 64u);
}

TEST(SourceTableDsts, MoreThanSixtyFourDstsAcrossSamplesBecomeInexact) {
    SourceTable t(100, kNoIdle);
    for (unsigned i = 0; i < 5; ++i)
        t.absorb(Sample("192.0.2.1").seen(1, 2).dsts(0x0A000000 + 16 * i, 16), i + 1);
    const SourceState& s = *t.find(addr("192.0.2.1"));
    EXPECT_EQ(s.dsts.size(), SourceTable::kExactItems);
    const DistinctCount d = s.distinct_dsts();
    EXPECT_FALSE(d.exact);
    EXPECT_EQ(d.value, std::max<uint64_t>(64, rounded_estimate(0x0A000000, 80)));
    EXPECT_NEAR(static_cast<double>(d.value), 80.0, 8.0);
}

struct TopCase {
    const char* test_name;
    size_t n;
    std::vector<std::pair<uint32_t, uint64_t>> expected;
};

// Ports as first seen: 22:5, 80:9, 53/udp:1, 443:9, icmp:3. Ties keep first-seen order.
const TopCase kTopCases[] = {
    {"AllSortedByPacketsDescending",
     10,
     {{tcp(80), 9}, {tcp(443), 9}, {tcp(22), 5}, {icmp(), 3}, {udp(53), 1}}},
    {"TruncatedToN", 2, {{tcp(80), 9}, {tcp(443), 9}}},
    {"ExactlyN", 5, {{tcp(80), 9}, {tcp(443), 9}, {tcp(22), 5}, {icmp(), 3}, {udp(53), 1}}},
    {"ZeroGivesNone", 0, {}},
};

class SourceTableTopPorts : public ::testing::TestWithParam<TopCase> {};

TEST_P(SourceTableTopPorts, Table) {
    SourceTable t(100, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).port(tcp(22), 5).port(tcp(80), 4).port(udp(53), 1), 1);
    const SourceState& s = t.absorb(
        Sample("192.0.2.1").seen(3, 4).port(tcp(80), 5).port(tcp(443), 9).port(icmp(), 3), 2);
    EXPECT_EQ(as_pairs(s.top_ports(GetParam().n)), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Table, SourceTableTopPorts, ::testing::ValuesIn(kTopCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(SourceTableCapacity, EvictsLeastRecentlyAbsorbedSource) {
    SourceTable t(2, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).pkts(PS_CLASS_UDP, 1), 1);
    t.absorb(Sample("192.0.2.2").seen(1, 2).pkts(PS_CLASS_UDP, 1), 1);
    t.absorb(Sample("192.0.2.1").seen(3, 4).pkts(PS_CLASS_UDP, 1), 2);  // .1 is now the newest
    t.absorb(Sample("192.0.2.3").seen(3, 4).pkts(PS_CLASS_UDP, 1), 2);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.evicted(), 1u);
    EXPECT_NE(t.find(addr("192.0.2.1")), nullptr);
    EXPECT_EQ(t.find(addr("192.0.2.2")), nullptr);
    EXPECT_NE(t.find(addr("192.0.2.3")), nullptr);
}

TEST(SourceTableCapacity, EvictedSourceComesBackFresh) {
    SourceTable t(1, kNoIdle);
    t.absorb(Sample("192.0.2.1").seen(1, 2).pkts(PS_CLASS_UDP, 5), 1);
    t.absorb(Sample("192.0.2.2").seen(3, 4).pkts(PS_CLASS_UDP, 1), 2);
    const SourceState& s = t.absorb(Sample("192.0.2.1").seen(7, 8).pkts(PS_CLASS_UDP, 2), 3);
    EXPECT_EQ(s.total[PS_CLASS_UDP], 2u);
    EXPECT_EQ(s.first_seen_ns, 7u);
    EXPECT_EQ(t.evicted(), 2u);
}

// A drain can bring more sources than the capacity (src_stats entries plus first probes from
// src_pending): the caller holds references to all of them while it classifies the interval,
// so none of the interval's sources is evicted; the next interval's new sources shrink it back.
TEST(SourceTableCapacity, NeverEvictsASourceOfTheCurrentInterval) {
    SourceTable t(2, kNoIdle);
    std::vector<const SourceState*> held;
    for (unsigned i = 1; i <= 3; ++i)
        held.push_back(
            &t.absorb(Sample("192.0.2." + std::to_string(i)).seen(1, 2).pkts(PS_CLASS_UDP, i), 1));
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.evicted(), 0u);
    for (unsigned i = 1; i <= 3; ++i) {
        EXPECT_EQ(held[i - 1], t.find(addr("192.0.2." + std::to_string(i))));
        EXPECT_EQ(held[i - 1]->total[PS_CLASS_UDP], i);
    }
    t.absorb(Sample("192.0.2.4").seen(3, 4).pkts(PS_CLASS_UDP, 1), 2);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.evicted(), 2u);
    EXPECT_NE(t.find(addr("192.0.2.3")), nullptr);
    EXPECT_NE(t.find(addr("192.0.2.4")), nullptr);
}

TEST(SourceTableCapacity, UpdatingKnownSourcesNeverEvicts) {
    SourceTable t(2, kNoIdle);
    for (uint64_t seq = 1; seq <= 5; ++seq) {
        t.absorb(Sample("192.0.2.1").seen(seq, seq).pkts(PS_CLASS_UDP, 1), seq);
        t.absorb(Sample("192.0.2.2").seen(seq, seq).pkts(PS_CLASS_UDP, 1), seq);
    }
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.evicted(), 0u);
}

TEST(SourceTableCapacity, ZeroCapacityIsUnbounded) {
    SourceTable t(0, kNoIdle);
    for (unsigned i = 1; i <= 200; ++i)
        t.absorb(Sample("10.0.0." + std::to_string(i)).seen(1, 2).pkts(PS_CLASS_UDP, 1), 1);
    EXPECT_EQ(t.size(), 200u);
    EXPECT_EQ(t.evicted(), 0u);
}

// More sources than one chunk of states holds, through absorb_all as the agent drains them:
// each lands in its own state (states in later chunks included), keeps its address while the
// table grows, and a second drain finds every one again; the capacity bound then evicts
// across chunks and reuses the freed states.
TEST(SourceTableCapacity, ManyChunksThroughAbsorbAll) {
    // More than three chunks (a chunk is 4 MiB of states).
    const auto n = static_cast<unsigned>(3 * (size_t{4} << 20) / sizeof(SourceState) + 17);
    SourceTable t(n, kNoIdle);
    auto name = [](unsigned i) {
        return "2001:db8::" + std::to_string(i / 1000) + ":" + std::to_string(i % 1000);
    };
    std::vector<SourceSample> drain;
    for (unsigned i = 0; i < n; ++i)
        drain.push_back(Sample(name(i)).seen(10, 20).pkts(PS_CLASS_UDP, i % 7 + 1));
    const SourceSamples samples = drain;
    std::vector<bool> skip(n, false);
    skip[5] = skip[n - 1] = true;  // flood members: not absorbed
    std::vector<SourceState*> firsts;
    t.absorb_all(samples, 1, skip, firsts);
    ASSERT_EQ(firsts.size(), n - 2);
    EXPECT_EQ(t.size(), n - 2);
    std::vector<const SourceState*> where(n, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        where[i] = t.find(addr(name(i)));
        if (skip[i]) {
            EXPECT_EQ(where[i], nullptr) << name(i);
            continue;
        }
        ASSERT_NE(where[i], nullptr) << name(i);
        EXPECT_EQ(where[i]->total[PS_CLASS_UDP], i % 7 + 1) << name(i);
    }
    firsts.clear();
    t.absorb_all(samples, 2, std::vector<bool>(n, false), firsts);  // all again, skips too
    EXPECT_EQ(firsts.size(), n);
    EXPECT_EQ(t.size(), n);
    for (unsigned i = 0; i < n; ++i) {
        const SourceState* s = t.find(addr(name(i)));
        ASSERT_NE(s, nullptr) << name(i);
        if (!skip[i]) {
            EXPECT_EQ(s, where[i]) << "a state moved: " << name(i);
        }
        EXPECT_EQ(s->total[PS_CLASS_UDP], (skip[i] ? 1 : 2) * (i % 7 + 1)) << name(i);
    }
    // A third drain of 6000 new sources: the 6000 least recent go (the first absorbed), and
    // the new ones take their states.
    std::vector<SourceSample> fresh;
    for (unsigned i = 0; i < 6000; ++i)
        fresh.push_back(Sample("192.0." + std::to_string(i / 250) + "." + std::to_string(i % 250))
                            .seen(30, 40)
                            .pkts(PS_CLASS_TCP_SYN, 1));
    firsts.clear();
    t.absorb_all(SourceSamples(fresh), 3, std::vector<bool>(6000, false), firsts);
    EXPECT_EQ(t.size(), n);
    EXPECT_EQ(t.evicted(), 6000u);
    EXPECT_EQ(t.find(addr(name(0))), nullptr);
    EXPECT_EQ(t.find(addr(name(5999))), nullptr);
    ASSERT_NE(t.find(addr(name(6000))), nullptr);
    const SourceState* last = t.find(addr("192.0.23.249"));
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->total, counts({{PS_CLASS_TCP_SYN, 1}}));
}

TEST(SourceTableForEach, VisitsMostRecentlyAbsorbedFirst) {
    SourceTable t(10, kNoIdle);
    for (const char* a : {"192.0.2.1", "192.0.2.2", "192.0.2.3"})
        t.absorb(Sample(a).seen(1, 2).pkts(PS_CLASS_UDP, 1), 1);
    t.absorb(Sample("192.0.2.1").seen(3, 4).pkts(PS_CLASS_UDP, 1), 2);
    std::vector<std::string> order;
    t.for_each([&](const SourceState& s) { order.push_back(format_addr(s.addr.data())); });
    EXPECT_EQ(order, (std::vector<std::string>{"192.0.2.1", "192.0.2.3", "192.0.2.2"}));
}

struct ExpireCase {
    const char* test_name;
    uint64_t last_seen;
    uint64_t now;
    bool kept;
};

// Idle timeout 500: a source goes only once it has been quiet for strictly longer.
const ExpireCase kExpireCases[] = {
    {"JustSeenIsKept", 1000, 1000, true},
    {"IdleLessThanTimeoutIsKept", 1000, 1499, true},
    {"IdleExactlyTimeoutIsKept", 1000, 1500, true},
    {"IdleLongerThanTimeoutIsDropped", 1000, 1501, false},
    {"LongIdleIsDropped", 1000, 1000000, false},
    {"ClockBehindLastSeenIsKept", 1000, 10, true},
};

class SourceTableExpireOne : public ::testing::TestWithParam<ExpireCase> {};

TEST_P(SourceTableExpireOne, Table) {
    SourceTable t(10, 500);
    t.absorb(Sample("192.0.2.1")
                 .seen(GetParam().last_seen - 1, GetParam().last_seen)
                 .pkts(PS_CLASS_UDP, 1),
             1);
    EXPECT_EQ(t.expire(GetParam().now), GetParam().kept ? 0u : 1u);
    EXPECT_EQ(t.find(addr("192.0.2.1")) != nullptr, GetParam().kept);
    EXPECT_EQ(t.size(), GetParam().kept ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(Table, SourceTableExpireOne, ::testing::ValuesIn(kExpireCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(SourceTableExpire, DropsIdleSourcesKeepsActiveOnes) {
    SourceTable t(10, 500);
    t.absorb(Sample("192.0.2.1").seen(50, 100).pkts(PS_CLASS_UDP, 1), 1);
    t.absorb(Sample("192.0.2.2").seen(50, 200).pkts(PS_CLASS_UDP, 1), 2);
    t.absorb(Sample("192.0.2.3").seen(50, 900).pkts(PS_CLASS_UDP, 1), 3);
    EXPECT_EQ(t.expire(1000), 2u);
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.find(addr("192.0.2.1")), nullptr);
    EXPECT_EQ(t.find(addr("192.0.2.2")), nullptr);
    EXPECT_NE(t.find(addr("192.0.2.3")), nullptr);
    EXPECT_EQ(t.evicted(), 0u);  // expiry is not a capacity eviction
}

// One drain absorbs sources in map (hash) order, not last-seen order, so a source absorbed
// later can be the quieter one. It must expire all the same.
TEST(SourceTableExpire, DropsIdleSourceAbsorbedAfterAnActiveOne) {
    SourceTable t(10, 500);
    t.absorb(Sample("192.0.2.1").seen(50, 1000).pkts(PS_CLASS_UDP, 1), 1);  // active
    t.absorb(Sample("192.0.2.2").seen(50, 100).pkts(PS_CLASS_UDP, 1), 1);   // idle 1100 at 1200
    EXPECT_EQ(t.expire(1200), 1u);
    EXPECT_NE(t.find(addr("192.0.2.1")), nullptr);
    EXPECT_EQ(t.find(addr("192.0.2.2")), nullptr);
    EXPECT_EQ(t.size(), 1u);
}

// A run whose sources all moved on to a later run holds none to expire, however recent its
// sources were: expire passes over it and still finds the idle source of the next run (a
// replay's clock can bring a sample older than earlier drains').
TEST(SourceTableExpire, PassesOverARunWhoseSourcesMovedOn) {
    SourceTable t(10, 500);
    t.absorb(Sample("192.0.2.1").seen(50, 1000).pkts(PS_CLASS_UDP, 1), 1);
    t.absorb(Sample("192.0.2.1").seen(1050, 1100).pkts(PS_CLASS_UDP, 1), 2);  // run 1 now empty
    t.absorb(Sample("192.0.2.2").seen(50, 100).pkts(PS_CLASS_UDP, 1), 2);     // idle at 1200
    EXPECT_EQ(t.expire(1200), 1u);
    EXPECT_NE(t.find(addr("192.0.2.1")), nullptr);
    EXPECT_EQ(t.find(addr("192.0.2.2")), nullptr);
}

// A run every source of which is still active is left whole, and the walk stops there.
TEST(SourceTableExpire, KeepsARunOfActiveSources) {
    SourceTable t(10, 500);
    t.absorb(Sample("192.0.2.1").seen(50, 900).pkts(PS_CLASS_UDP, 1), 1);
    t.absorb(Sample("192.0.2.2").seen(50, 800).pkts(PS_CLASS_UDP, 1), 1);
    t.absorb(Sample("192.0.2.3").seen(50, 100).pkts(PS_CLASS_UDP, 1), 2);  // after the stop
    EXPECT_EQ(t.expire(1200), 0u);
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.expire(1301), 1u);  // 192.0.2.2 idle now: the first run is walked
    EXPECT_EQ(t.find(addr("192.0.2.2")), nullptr);
    EXPECT_EQ(t.size(), 2u);
}

}  // namespace
}  // namespace probescope

namespace probescope {
namespace {

// The table's order as a linked list keeps it (what SourceTable did before it kept runs): the
// most recently absorbed at the front; a new source evicts from the back while the table is
// full and the back is not of the interval being absorbed; expire walks from the back and
// stops after the run holding the first active source.
class ListModel {
public:
    ListModel(size_t capacity, uint64_t idle) : capacity_(capacity), idle_(idle) {}
    void absorb(const std::string& a, uint64_t last_seen, uint64_t seq) {
        auto it = std::find_if(l_.begin(), l_.end(), [&](const Entry& e) { return e.addr == a; });
        if (it == l_.end()) {
            while (capacity_ > 0 && l_.size() >= capacity_ && l_.back().seq != seq) {
                evicted.push_back(l_.back().addr);
                l_.pop_back();
            }
            l_.push_front({a, last_seen, seq});
        } else {
            it->last_seen = std::max(it->last_seen, last_seen);
            it->seq = seq;
            l_.splice(l_.begin(), l_, it);
        }
    }
    std::vector<std::string> expire(uint64_t now) {
        std::vector<std::string> out;
        std::optional<uint64_t> active_run;
        for (auto it = l_.end(); it != l_.begin();) {
            --it;
            if (active_run && it->seq != *active_run) break;
            if (it->last_seen + idle_ >= now) {
                active_run = it->seq;
                continue;
            }
            out.push_back(it->addr);
            it = l_.erase(it);
        }
        return out;
    }
    std::vector<std::string> order() const {
        std::vector<std::string> out;
        for (const auto& e : l_) out.push_back(e.addr);
        return out;
    }
    std::vector<std::string> evicted;

private:
    struct Entry {
        std::string addr;
        uint64_t last_seen;
        uint64_t seq;
    };
    size_t capacity_;
    uint64_t idle_;
    std::list<Entry> l_;
};

// Random drains (sources from a small pool, several absorbs of one source in a drain, quiet
// sources, samples older than earlier drains') with a small capacity and idle timeout: the runs,
// their stale entries and their compaction must keep exactly the list's order, evictions and
// expiries, and each state must keep its own counts through slot reuse.
TEST(SourceTableOrder, SameOrderEvictionsAndExpiriesAsAList) {
    for (size_t capacity : {0u, 7u, 40u, 150u}) {
        SCOPED_TRACE("capacity " + std::to_string(capacity));
        std::mt19937 rng(static_cast<unsigned>(capacity) + 1);
        SourceTable t(capacity, 300);
        // The same drains through absorb_all, which looks a batch up before merging (and
        // whose lookups an eviction in the batch can outdate): the same table must come out.
        SourceTable batched(capacity, 300);
        ListModel model(capacity, 300);
        std::map<std::string, uint64_t> packets;  // per source since it last (re)entered
        uint64_t evicted_seen = 0;
        auto table_of = [](const SourceTable& table) {
            std::vector<std::pair<std::string, uint64_t>> out;
            table.for_each([&](const SourceState& s) {
                out.emplace_back(format_addr(s.addr.data()), s.total[PS_CLASS_UDP]);
            });
            return out;
        };
        for (uint64_t seq = 1; seq <= 400; ++seq) {
            const uint64_t now = 5000 + seq * 100;
            const unsigned absorbs = rng() % 120;
            const unsigned pool = 20 + rng() % 200;
            std::vector<SourceSample> drain;
            std::vector<bool> skip;
            std::vector<std::string> firsts;
            for (unsigned i = 0; i < absorbs; ++i) {
                const std::string a = "198.51.100." + std::to_string(rng() % pool);
                // Now and then a sample older than earlier drains' (a replay's clock): expire
                // must stop where the list stopped, not walk on to it.
                const uint64_t last = now - (rng() % 10 == 0 ? rng() % 2000 : rng() % 50);
                drain.push_back(Sample(a).seen(last - 1, last).pkts(PS_CLASS_UDP, 1));
                skip.push_back(rng() % 8 == 0);  // a flood's member: not absorbed
                if (skip.back()) continue;
                bool first = false;
                t.absorb(drain.back(), seq, &first);
                if (first) firsts.push_back(a);
                model.absorb(a, last, seq);
                for (size_t e = evicted_seen; e < model.evicted.size(); ++e)
                    packets.erase(model.evicted[e]);
                evicted_seen = model.evicted.size();
                ++packets[a];
            }
            std::vector<SourceState*> batched_firsts;
            batched.absorb_all(drain, seq, skip, batched_firsts);
            std::vector<std::string> batched_first_addrs;
            for (const SourceState* s : batched_firsts)
                batched_first_addrs.push_back(format_addr(s->addr.data()));
            ASSERT_EQ(batched_first_addrs, firsts) << "seq " << seq;
            if (rng() % 3 == 0) {
                std::vector<std::string> got, got_batched;
                t.expire(now,
                         [&](const SourceState& s) { got.push_back(format_addr(s.addr.data())); });
                batched.expire(now, [&](const SourceState& s) {
                    got_batched.push_back(format_addr(s.addr.data()));
                });
                const std::vector<std::string> want = model.expire(now);
                ASSERT_EQ(got, want) << "seq " << seq;
                ASSERT_EQ(got_batched, want) << "seq " << seq;
                for (const auto& a : want) packets.erase(a);
            }
            const auto rows = table_of(t);
            std::vector<std::string> order;
            for (const auto& [a, n] : rows) {
                order.push_back(a);
                EXPECT_EQ(n, packets[a]) << a;
            }
            ASSERT_EQ(order, model.order()) << "seq " << seq;
            ASSERT_EQ(table_of(batched), rows) << "seq " << seq;
            ASSERT_EQ(t.size(), order.size());
            ASSERT_EQ(batched.size(), order.size());
            ASSERT_EQ(t.evicted(), model.evicted.size());
            ASSERT_EQ(batched.evicted(), model.evicted.size());
        }
    }
}

}  // namespace
}  // namespace probescope
