// Unit tests for interval.h: TotalsSnapshot conversion from the kernel struct, sums and deltas;
// SourceSamples, the drain's two-array sample buffer.
#include "interval.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

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

// Small buffers come from malloc; from a huge page up, huge-page aligned and writable over
// whole huge pages (the rounding is the caller's to use).
TEST(HugeAlloc, AlignsLargeBuffersToHugePages) {
    std::unique_ptr<char, FreeDeleter> small(static_cast<char*>(huge_alloc(100)));
    ASSERT_NE(small, nullptr);
    std::memset(small.get(), 1, 100);
    for (size_t bytes : {kHugePage, kHugePage + 1, 3 * kHugePage - 5}) {
        std::unique_ptr<char, FreeDeleter> big(static_cast<char*>(huge_alloc(bytes)));
        ASSERT_NE(big, nullptr);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(big.get()) % kHugePage, 0u) << bytes;
        const size_t whole = (bytes + kHugePage - 1) / kHugePage * kHugePage;
        std::memset(big.get(), 0x5a, whole);
        EXPECT_EQ(big.get()[whole - 1], 0x5a);
    }
    EXPECT_THROW(huge_alloc(~size_t{0} - kHugePage), std::bad_alloc);
}

// A sample whose key and every counted field tell which one it is.
SourceSample numbered(uint32_t i) {
    SourceSample s{};
    std::memcpy(s.key.addr, &i, sizeof(i));
    s.key.addr[15] = 0x5a;
    s.stats.first_seen_ns = 1000 + i;
    s.stats.last_seen_ns = 2000 + i;
    s.stats.technique[PS_TECH_SYN] = i;
    s.stats.dst_hll[PS_HLL_BYTES - 1] = static_cast<uint8_t>(i);  // the value's last byte
    return s;
}

void expect_numbered(const SourceSamples& ss, size_t at, uint32_t i) {
    const SourceSample want = numbered(i);
    EXPECT_EQ(std::memcmp(&ss.key(at), &want.key, sizeof(want.key)), 0) << "key at " << at;
    EXPECT_EQ(std::memcmp(&ss.stats(at), &want.stats, sizeof(want.stats)), 0) << "value at " << at;
    EXPECT_EQ(&ss[at].key, &ss.key(at));
    EXPECT_EQ(&ss[at].stats, &ss.stats(at));
}

TEST(SourceSamples, PushBackKeepsOrderAcrossRegrowth) {
    SourceSamples ss;
    EXPECT_TRUE(ss.empty());
    for (uint32_t i = 0; i < 5000; ++i) {  // many regrowths from empty
        const SourceSample s = numbered(i);
        ps_src_stats& stored = ss.push_back(s.key, s.stats);
        EXPECT_EQ(&stored, &ss.stats(i));
    }
    ASSERT_EQ(ss.size(), 5000u);
    EXPECT_GE(ss.capacity(), 5000u);
    for (uint32_t i = 0; i < 5000; ++i) expect_numbered(ss, i, i);
}

// The drain's way: room past the end, written in place (as the kernel's batch lookup writes
// it), then committed; the samples held before stay, and only what was committed counts.
TEST(SourceSamples, RoomWrittenInPlaceThenCommitted) {
    SourceSamples ss;
    for (uint32_t i = 0; i < 3; ++i) ss.push_back(numbered(i).key, numbered(i).stats);
    ss.make_room(4096);
    ASSERT_GE(ss.capacity(), 3u + 4096u);
    EXPECT_EQ(ss.size(), 3u);
    const size_t cap = ss.capacity();
    for (uint32_t j = 0; j < 4096; ++j) {
        const SourceSample s = numbered(3 + j);
        ss.key_tail()[j] = s.key;
        ss.stats_tail()[j] = s.stats;
    }
    ss.commit(100);  // the kernel returned 100 of the 4096
    ASSERT_EQ(ss.size(), 103u);
    for (uint32_t i = 0; i < 103; ++i) expect_numbered(ss, i, i);
    ss.make_room(10);  // fits: no regrowth, nothing moves
    EXPECT_EQ(ss.capacity(), cap);
    EXPECT_EQ(ss.key_tail(), &ss.key(102) + 1);
}

TEST(SourceSamples, ReserveKeepsSamplesAndClearKeepsCapacity) {
    SourceSamples ss;
    ss.push_back(numbered(7).key, numbered(7).stats);
    ss.reserve(1 << 20);  // a huge-page-sized buffer
    ASSERT_EQ(ss.size(), 1u);
    EXPECT_GE(ss.capacity(), size_t{1} << 20);
    expect_numbered(ss, 0, 7);
    const size_t cap = ss.capacity();
    ss.clear();
    EXPECT_TRUE(ss.empty());
    EXPECT_EQ(ss.capacity(), cap);
    ss.reserve(10);  // smaller than held: no change
    EXPECT_EQ(ss.capacity(), cap);
}

TEST(SourceSamples, FromVectorCopyAndSwap) {
    std::vector<SourceSample> v;
    for (uint32_t i = 0; i < 40; ++i) v.push_back(numbered(i));
    SourceSamples a = v;
    ASSERT_EQ(a.size(), 40u);
    for (uint32_t i = 0; i < 40; ++i) expect_numbered(a, i, i);

    SourceSamples b = a;  // a deep copy: changing b leaves a alone
    b.stats(0).technique[PS_TECH_SYN] = 99;
    EXPECT_EQ(a.stats(0).technique[PS_TECH_SYN], 0u);
    ASSERT_EQ(b.size(), 40u);
    for (uint32_t i = 1; i < 40; ++i) expect_numbered(b, i, i);

    SourceSamples c;
    c.push_back(numbered(500).key, numbered(500).stats);
    c.swap(a);
    ASSERT_EQ(c.size(), 40u);
    ASSERT_EQ(a.size(), 1u);
    expect_numbered(a, 0, 500);
    expect_numbered(c, 39, 39);

    SourceSamples moved = std::move(c);
    ASSERT_EQ(moved.size(), 40u);
    expect_numbered(moved, 20, 20);
    EXPECT_EQ(c.size(), 0u);  // NOLINT(bugprone-use-after-move): what a move leaves
    EXPECT_EQ(c.capacity(), 0u);
    c.push_back(numbered(3).key, numbered(3).stats);  // and it takes samples again
    expect_numbered(c, 0, 3);
    moved = std::move(c);
    ASSERT_EQ(moved.size(), 1u);
    expect_numbered(moved, 0, 3);
    EXPECT_EQ(c.capacity(), 0u);  // NOLINT(bugprone-use-after-move)
    a = b;
    ASSERT_EQ(a.size(), 40u);
    expect_numbered(a, 39, 39);
}

}  // namespace
}  // namespace probescope
