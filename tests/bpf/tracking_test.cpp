// Per-source, per-port and tcp_flags accounting across several frames and sources.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "hll.h"
#include "mapped_array.h"
#include "names.h"
#include "xdp_fixture.h"

namespace probescope::test {
namespace {

constexpr uint8_t SYN = PS_TCP_SYN, ACK = PS_TCP_ACK, RST = PS_TCP_RST,
                  XMAS = PS_TCP_FIN | PS_TCP_PSH | PS_TCP_URG;

uint32_t tcp_slot(uint16_t port) { return PS_PORT_SLOT(PS_PORT_PROTO_TCP, port); }
uint32_t udp_slot(uint16_t port) { return PS_PORT_SLOT(PS_PORT_PROTO_UDP, port); }
uint32_t v4_dst_slot(const char* addr) { return dst_slot_value(v4_key(addr)); }

Frame syn_v4(const char* src, const char* dst, uint16_t dport) {
    return PacketBuilder().eth().ipv4(src, dst).tcp(kScannerPort, dport, SYN);
}

TEST_F(XdpProgramTest, TcpFlagsTableCountsEveryParsedTcpHeaderByItsFlagsByte) {
    const Frame syn = v4_frame().tcp(kScannerPort, 80, SYN);
    const Frame xmas = v6_frame().tcp(kScannerPort, 80, XMAS);
    const Frame ack = v4_frame().tcp(kScannerPort, 80, ACK).payload(10);
    // TCP the program cannot or must not parse: none of these reach tcp_flags[].
    const Frame bad_doff = v4_frame().tcp(kScannerPort, 80, SYN).data_offset(4);
    const Frame cut = v6_frame().tcp(kScannerPort, 80, XMAS).truncate(14 + 40 + 12);
    const Frame fragment = v4_frame().fragment(3, false).tcp(kScannerPort, 80, ACK);

    uint64_t clock = 10;
    for (const Frame* f : {&syn, &xmas, &syn, &ack, &bad_doff, &xmas, &cut, &syn, &fragment})
        ASSERT_NO_FATAL_FAILURE(send(*f, clock++));

    const TotalsSnapshot t = totals();
    expect_tcp_flags(t, {{SYN, 3}, {XMAS, 2}, {ACK, 1}});
    EXPECT_EQ(t.packets, 9u);
    EXPECT_EQ(t.classes[PS_CLASS_TCP_SYN], 3u);
    EXPECT_EQ(t.classes[PS_CLASS_TCP_ODD], 2u);
    EXPECT_EQ(t.classes[PS_CLASS_TCP_OTHER], 1u);
    EXPECT_EQ(t.classes[PS_CLASS_MALFORMED], 2u);
    EXPECT_EQ(t.classes[PS_CLASS_FRAGMENT], 1u);
}

TEST_F(XdpProgramTest, TwoSourcesKeepExactSlotsAndFirstLastSeen) {
    const char* t1 = kTarget4;
    const char* t2 = kTarget4b;
    // Source A (IPv4) probes two ports on t1, 22 again on t2, then UDP and ping.
    send(syn_v4(kScanner4, t1, 22), 1'000);
    send(PacketBuilder().eth().ipv6(kScanner6, kTarget6).tcp(kScannerPort, 443, SYN), 1'500);
    send(syn_v4(kScanner4, t1, 80), 2'000);
    send(PacketBuilder().eth().ipv6(kScanner6, kTarget6).tcp(kScannerPort, 443, SYN), 2'500);
    send(syn_v4(kScanner4, t2, 22), 3'000);
    // B's backscatter moves its last_seen, RST count and slots, but no port_stats.
    send(PacketBuilder().eth().ipv6(kScanner6, kTarget6).tcp(443, kScannerPort, RST), 3'500);
    send(PacketBuilder().eth().ipv4(kScanner4, t1).udp(kScannerPort, 53), 4'000);
    send(PacketBuilder().eth().ipv4(kScanner4, t2).icmp(8, 0), 5'000);
    // Established traffic from A afterwards must not touch A's entry (fast path).
    send(PacketBuilder()
             .eth()
             .ipv4(kScanner4, t1)
             .dont_fragment()
             .tcp(kScannerPort, 22, ACK)
             .tcp_options(tcpopt::linux_established()),
         6'000);
    ASSERT_FALSE(HasFatalFailure());

    const TotalsSnapshot t = totals();
    EXPECT_EQ(t.packets, 9u);
    EXPECT_EQ(t.classes[PS_CLASS_TCP_SYN], 5u);
    EXPECT_EQ(t.classes[PS_CLASS_TCP_RST], 1u);
    EXPECT_EQ(t.classes[PS_CLASS_UDP], 1u);
    EXPECT_EQ(t.classes[PS_CLASS_ICMP_ECHO], 1u);
    EXPECT_EQ(t.classes[PS_CLASS_TCP_OTHER], 1u);
    EXPECT_EQ(t.src_inserts, 2u);

    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), 2u);
    {
        SCOPED_TRACE("source A, IPv4");
        ASSERT_TRUE(sources.contains(v4_key(kScanner4)));
        const ps_src_stats& a = sources.at(v4_key(kScanner4));
        EXPECT_EQ(a.first_seen_ns, 1'000u);
        EXPECT_EQ(a.last_seen_ns, 5'000u);
        expect_src_pkts(a, {{PS_CLASS_TCP_SYN, 3}, {PS_CLASS_UDP, 1}, {PS_CLASS_ICMP_ECHO, 1}});
        expect_port_slots(a, {{tcp_slot(22), 2},
                              {tcp_slot(80), 1},
                              {udp_slot(53), 1},
                              {PS_PORT_SLOT(PS_PORT_SLOT_ICMP, 0), 1}});
        expect_dst_slots(a, {v4_dst_slot(t1), v4_dst_slot(t2)});
        EXPECT_EQ(a.port_overflow, 0);
        EXPECT_EQ(a.dst_overflow, 0);
        EXPECT_EQ(a.tcp_probes, 3u);
        EXPECT_EQ(std::lround(hll_estimate_packed(a.port_hll)), 4);
        EXPECT_EQ(std::lround(hll_estimate_packed(a.dst_hll)), 2);
    }
    {
        SCOPED_TRACE("source B, IPv6");
        ASSERT_TRUE(sources.contains(v6_key(kScanner6)));
        const ps_src_stats& b = sources.at(v6_key(kScanner6));
        EXPECT_EQ(b.first_seen_ns, 1'500u);
        EXPECT_EQ(b.last_seen_ns, 3'500u);
        expect_src_pkts(b, {{PS_CLASS_TCP_SYN, 2}, {PS_CLASS_TCP_RST, 1}});
        expect_port_slots(b, {{tcp_slot(443), 2}, {tcp_slot(kScannerPort), 1}});
        expect_dst_slots(b, {dst_slot_value(v6_key(kTarget6))});
        EXPECT_EQ(b.tcp_probes, 2u);
    }

    std::map<uint32_t, uint64_t> port_pkts;
    for (const auto& p : moved_ports()) port_pkts[PS_PORT_SLOT(p.proto, p.port)] = p.packets;
    const std::map<uint32_t, uint64_t> want = {
        {tcp_slot(22), 2}, {tcp_slot(80), 1}, {tcp_slot(443), 2}, {udp_slot(53), 1}};
    EXPECT_EQ(port_pkts, want);
}

// Each CPU counts a port's probes in its own block of port_pkts, with a plain add; the drain
// sums the blocks. Two probes run on CPU 0 and three on CPU 1 must read as five.
TEST_F(XdpProgramTest, PortCountsFromEveryCpuAddUp) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs two online CPUs";
    cpu_set_t before;
    ASSERT_EQ(sched_getaffinity(0, sizeof(before), &before), 0);
    const char* sources[] = {"192.0.2.1", "192.0.2.2", "198.51.100.3", "198.51.100.4",
                             "203.0.113.5"};
    for (int i = 0; i < 5; ++i) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(i < 2 ? 0 : 1, &one);
        ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
        send(syn_v4(sources[i], kTarget4, 8080), 100 + i);
    }
    ASSERT_EQ(sched_setaffinity(0, sizeof(before), &before), 0);

    MappedArray pkts(program_->port_pkts_fd(), sizeof(uint64_t), false, "port_pkts");
    const uint32_t idx = PS_PORT_PROTO_TCP << 16 | 8080;
    EXPECT_EQ(pkts.as<const uint64_t>()[PS_PORT_PKTS_SLOT(0, idx)], 2u);
    EXPECT_EQ(pkts.as<const uint64_t>()[PS_PORT_PKTS_SLOT(1, idx)], 3u);
    const std::vector<PortSample> ports = moved_ports();
    ASSERT_EQ(ports.size(), 1u);
    EXPECT_EQ(ports[0].port, 8080);
    EXPECT_EQ(ports[0].packets, 5u);
    EXPECT_EQ(ports[0].total_packets, 5u);
    EXPECT_NEAR(ports[0].distinct_sources, 5.0, 0.5);
    // Nothing moved since: the next read reports no port.
    EXPECT_TRUE(moved_ports().empty());
}

TEST_F(XdpProgramTest, TwentyPortsOverflowTheExactSlotsIntoTheHll) {
    constexpr uint16_t kFirstPort = 1000, kPorts = 20;
    for (uint16_t i = 0; i < kPorts; ++i)
        ASSERT_NO_FATAL_FAILURE(send(syn_v4(kScanner4, kTarget4, kFirstPort + i), 100 + i));

    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), 1u);
    const ps_src_stats& s = sources.at(v4_key(kScanner4));
    std::vector<std::pair<uint32_t, uint32_t>> slots;
    for (uint16_t i = 0; i < PS_EXACT_PORTS; ++i) slots.push_back({tcp_slot(kFirstPort + i), 1});
    expect_port_slots(s, slots);
    EXPECT_EQ(s.port_overflow, 1);
    EXPECT_EQ(s.dst_overflow, 0);
    expect_dst_slots(s, {v4_dst_slot(kTarget4)});
    EXPECT_EQ(s.pkts[PS_CLASS_TCP_SYN], kPorts);
    EXPECT_EQ(s.first_seen_ns, 100u);
    EXPECT_EQ(s.last_seen_ns, 100u + kPorts - 1);
    std::vector<uint32_t> items;
    for (uint16_t i = 0; i < kPorts; ++i) items.push_back(tcp_slot(kFirstPort + i));
    EXPECT_EQ(std::to_array(s.port_hll), reference_hll(items));
    EXPECT_NEAR(hll_estimate_packed(s.port_hll), kPorts, kPorts * 0.10);
    EXPECT_EQ(moved_ports().size(), kPorts);
}

TEST_F(XdpProgramTest, RepeatedItemsLeaveTheHllsAsTheDistinctSetWould) {
    // The program updates an HLL only for an item new to its slot set (or past it): ports and
    // destinations probed again and again must leave exactly the registers of the distinct set.
    std::vector<uint32_t> ports, dsts;
    uint64_t clock = 1;
    for (int round = 0; round < 3; ++round) {
        for (uint16_t i = 0; i < 24; ++i) {  // 24 ports: 16 in slots, 8 past them
            const std::string dst = "198.51.100." + std::to_string(1 + i % 20);
            ASSERT_NO_FATAL_FAILURE(send(syn_v4(kScanner4, dst.c_str(), 3000 + i), clock++));
            if (round == 0) {
                ports.push_back(tcp_slot(3000 + i));
                if (i < 20) dsts.push_back(v4_dst_slot(dst.c_str()));
            }
        }
    }
    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    EXPECT_EQ(s.pkts[PS_CLASS_TCP_SYN], 72u);
    EXPECT_EQ(std::to_array(s.port_hll), reference_hll(ports));
    EXPECT_EQ(std::to_array(s.dst_hll), reference_hll(dsts));
    EXPECT_EQ(s.port_slot_pkts[0], 3u);  // each slot port was probed three times
    EXPECT_EQ(s.port_overflow, 1);
    EXPECT_EQ(s.dst_overflow, 1);
}

TEST_F(XdpProgramTest, SixteenPortsFitExactlyWithoutOverflow) {
    for (uint16_t i = 0; i < PS_EXACT_PORTS; ++i)
        ASSERT_NO_FATAL_FAILURE(send(syn_v4(kScanner4, kTarget4, 2000 + i), 1 + i));
    // A port already in a slot is counted there, not as an overflow.
    ASSERT_NO_FATAL_FAILURE(send(syn_v4(kScanner4, kTarget4, 2000), 50));

    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    EXPECT_EQ(s.port_overflow, 0);
    EXPECT_EQ(s.port_slots[0], tcp_slot(2000));
    EXPECT_EQ(s.port_slot_pkts[0], 2u);
    EXPECT_EQ(s.port_slots[PS_EXACT_PORTS - 1], tcp_slot(2000 + PS_EXACT_PORTS - 1));
}

TEST_F(XdpProgramTest, SeventeenDestinationsOverflowTheDstSlots) {
    constexpr int kDsts = PS_EXACT_DSTS + 1;
    std::vector<uint32_t> want, all;
    for (int i = 1; i <= kDsts; ++i) {
        const std::string dst = "198.51.100." + std::to_string(i);
        ASSERT_NO_FATAL_FAILURE(send(syn_v4(kScanner4, dst.c_str(), 23), i));
        all.push_back(v4_dst_slot(dst.c_str()));
        if (i <= PS_EXACT_DSTS) want.push_back(all.back());
    }
    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    expect_dst_slots(s, want);
    EXPECT_EQ(s.dst_overflow, 1);
    EXPECT_EQ(s.port_overflow, 0);
    expect_port_slots(s, {{tcp_slot(23), kDsts}});
    EXPECT_EQ(std::to_array(s.dst_hll), reference_hll(all));
    // These 17 addresses happen to share registers three times (estimate 14.4): within
    // three standard errors (3 * 6.5%) of 17, which is all an HLL of 256 registers promises.
    EXPECT_NEAR(hll_estimate_packed(s.dst_hll), kDsts, kDsts * 0.20);
}

TEST_F(XdpProgramTest, PortStatsCountPacketsAndDistinctSources) {
    for (const char* src : {kScanner4, kScanner4b, kScanner4c})
        ASSERT_NO_FATAL_FAILURE(send(syn_v4(src, kTarget4, 22), 1));
    ASSERT_NO_FATAL_FAILURE(send(v4_frame().udp(kScannerPort, 53), 2));
    ASSERT_NO_FATAL_FAILURE(send(v6_frame().udp(kScannerPort, 53), 3));
    // Backscatter from port 22 is not a probe of port 22.
    ASSERT_NO_FATAL_FAILURE(
        send(PacketBuilder().eth().ipv4(kScanner4c, kTarget4).tcp(22, 22, SYN | ACK), 4));

    auto ports = moved_ports();
    ASSERT_EQ(ports.size(), 2u);
    std::sort(ports.begin(), ports.end(),
              [](const auto& a, const auto& b) { return a.proto < b.proto; });
    // Index proto << 16 | port: MapDrain reports it back split as (proto, port).
    EXPECT_EQ(ports[0].proto, unsigned{PS_PORT_PROTO_TCP});
    EXPECT_EQ(ports[0].port, 22);
    EXPECT_EQ(ports[0].packets, 3u);
    EXPECT_EQ(ports[0].total_packets, 3u);
    EXPECT_EQ(std::lround(ports[0].distinct_sources), 3);
    EXPECT_EQ(ports[1].proto, unsigned{PS_PORT_PROTO_UDP});
    EXPECT_EQ(ports[1].port, 53);
    EXPECT_EQ(ports[1].packets, 2u);
    EXPECT_EQ(std::lround(ports[1].distinct_sources), 2);

    // Nothing moved since: nothing to report.
    EXPECT_TRUE(moved_ports().empty());
    ASSERT_NO_FATAL_FAILURE(send(syn_v4(kScanner4, kTarget4, 22), 5));
    ports = moved_ports();
    ASSERT_EQ(ports.size(), 1u);
    EXPECT_EQ(ports[0].packets, 1u);
    EXPECT_EQ(ports[0].total_packets, 4u);
    EXPECT_EQ(std::lround(ports[0].distinct_sources), 3);
}

// Backscatter from a source claims the port's slot in its entry; its later probe of that port
// still makes it one of the port's distinct sources.
TEST_F(XdpProgramTest, ProbeAfterBackscatterOnTheSamePortCountsTheSource) {
    ASSERT_NO_FATAL_FAILURE(
        send(PacketBuilder().eth().ipv4(kScanner4, kTarget4).tcp(22, 22, SYN | ACK), 1));
    ASSERT_NO_FATAL_FAILURE(send(syn_v4(kScanner4, kTarget4, 22), 2));
    ASSERT_NO_FATAL_FAILURE(send(syn_v4(kScanner4, kTarget4, 22), 3));
    auto ports = moved_ports();
    ASSERT_EQ(ports.size(), 1u);
    EXPECT_EQ(ports[0].packets, 2u);
    EXPECT_EQ(std::lround(ports[0].distinct_sources), 1);
}

TEST_F(XdpProgramTest, EstablishedTrafficNeverCreatesSourcesOrPorts) {
    // Many flows, many sources, every ACK-bearing shape: all on the fast path.
    uint64_t clock = 1;
    for (const char* src : {kScanner4, kScanner4b, kScanner4c}) {
        for (uint8_t flags : {ACK, uint8_t(ACK | PS_TCP_PSH), uint8_t(ACK | PS_TCP_FIN),
                              uint8_t(ACK | PS_TCP_URG), uint8_t(ACK | PS_TCP_ECE | PS_TCP_CWR)}) {
            ASSERT_NO_FATAL_FAILURE(send(PacketBuilder()
                                             .eth()
                                             .ipv4(src, kTarget4)
                                             .dont_fragment()
                                             .tcp(kScannerPort, 443, flags)
                                             .tcp_options(tcpopt::linux_established())
                                             .payload(64),
                                         clock++));
        }
    }
    ASSERT_NO_FATAL_FAILURE(send(v6_frame().tcp(kScannerPort, 443, ACK), clock++));
    const TotalsSnapshot t = totals();
    expect_only_class(t, PS_CLASS_TCP_OTHER, 16);
    EXPECT_EQ(t.src_inserts, 0u);
    EXPECT_TRUE(drain_sources().empty());
    EXPECT_TRUE(moved_ports().empty());
}

}  // namespace
}  // namespace probescope::test
