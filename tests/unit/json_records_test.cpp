// Unit tests for json_records.h: the field names, types and values of stats/source/port records.
#include "json_records.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "addr.h"
#include "case_print.h"
#include "names.h"

namespace probescope {
namespace {

using nlohmann::json;

constexpr uint64_t kNow = 1700000000123456789;  // 2023-11-14T22:13:20.123Z
const char* const kNowText = "2023-11-14T22:13:20.123Z";

RecordContext context() { return RecordContext{"eth0", Clock::unix_epoch()}; }

Interval interval(double seconds = 2.0) {
    Interval iv;
    iv.seq = 7;
    iv.now_ns = kNow;
    iv.seconds = seconds;
    return iv;
}

uint32_t tcp(uint16_t port) { return PS_PORT_SLOT(PS_PORT_PROTO_TCP, port); }
uint32_t udp(uint16_t port) { return PS_PORT_SLOT(PS_PORT_PROTO_UDP, port); }
uint32_t icmp() { return PS_PORT_SLOT(PS_PORT_SLOT_ICMP, 0); }

// ---- stats ----

Interval stats_interval() {
    Interval iv = interval(2.0);
    iv.delta.packets = 10;
    iv.delta.bytes = 640;
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c) iv.delta.classes[c] = 100 + c;
    iv.delta.tcp_flags[0x00] = 1;
    iv.delta.tcp_flags[0x02] = 5;
    iv.delta.tcp_flags[0x12] = 2;
    iv.delta.tcp_flags[0xff] = 3;
    iv.delta.src_inserts = 7;
    iv.delta.src_insert_failed = 1;
    iv.delta.src_pending = 9;
    iv.cumulative.packets = 1000;
    iv.cumulative.src_inserts = 999;  // deltas, not cumulative values, are reported
    iv.cumulative.src_pending = 998;
    iv.src_map = {1000, 250, 3, 2048, 40};
    iv.ports_active = 4;
    return iv;
}

TEST(StatsRecord, HeaderFields) {
    const json j = stats_record(context(), stats_interval());
    EXPECT_EQ(j.at("type"), "stats");
    EXPECT_EQ(j.at("time"), kNowText);
    EXPECT_EQ(j.at("interface"), "eth0");
}

TEST(StatsRecord, IntervalCounters) {
    const json j = stats_record(context(), stats_interval());
    EXPECT_EQ(j.at("interval_s"), 2.0);
    EXPECT_EQ(j.at("packets"), 10);
    EXPECT_EQ(j.at("bytes"), 640);
    EXPECT_EQ(j.at("pps"), 5.0);
    EXPECT_EQ(j.at("total_packets"), 1000);
    EXPECT_EQ(j.at("ports_active"), 4);
}

TEST(StatsRecord, ZeroLengthIntervalHasZeroRate) {
    Interval iv = stats_interval();
    iv.seconds = 0;
    EXPECT_EQ(stats_record(context(), iv).at("pps"), 0.0);
}

TEST(StatsRecord, EveryClassNameKeyWithItsCount) {
    const json classes = stats_record(context(), stats_interval()).at("classes");
    ASSERT_TRUE(classes.is_object());
    EXPECT_EQ(classes.size(), static_cast<size_t>(PS_CLASS_COUNT));
    const std::pair<const char*, uint64_t> expected[] = {
        {"tcp_syn", 100},       {"tcp_odd", 101},    {"udp", 102},      {"icmp_echo", 103},
        {"tcp_ack_probe", 104}, {"tcp_synack", 105}, {"tcp_rst", 106},  {"icmp_error", 107},
        {"tcp_other", 108},     {"icmp_other", 109}, {"fragment", 110}, {"other_ip", 111},
        {"non_ip", 112},        {"malformed", 113},
    };
    for (const auto& [name, count] : expected) {
        SCOPED_TRACE(name);
        ASSERT_TRUE(classes.contains(name));
        EXPECT_EQ(classes.at(name), count);
    }
}

TEST(StatsRecord, ZeroClassCountsAreStillListed) {
    const json classes = stats_record(context(), interval()).at("classes");
    EXPECT_EQ(classes.size(), static_cast<size_t>(PS_CLASS_COUNT));
    for (const auto& [name, count] : classes.items()) EXPECT_EQ(count, 0) << name;
}

TEST(StatsRecord, TcpFlagsListsOnlyNonzeroEntriesInValueOrder) {
    const json flags = stats_record(context(), stats_interval()).at("tcp_flags");
    const json expected = json::array({
        {{"flags", "none"}, {"value", 0}, {"packets", 1}},
        {{"flags", "SYN"}, {"value", 2}, {"packets", 5}},
        {{"flags", "SYN-ACK"}, {"value", 18}, {"packets", 2}},
        {{"flags", "FIN-SYN-RST-PSH-ACK-URG-ECE-CWR"}, {"value", 255}, {"packets", 3}},
    });
    EXPECT_EQ(flags, expected);
}

TEST(StatsRecord, NoTcpTrafficGivesEmptyFlagsArray) {
    const json flags = stats_record(context(), interval()).at("tcp_flags");
    EXPECT_TRUE(flags.is_array());
    EXPECT_TRUE(flags.empty());
}

TEST(StatsRecord, SrcStatsMapFields) {
    const json m = stats_record(context(), stats_interval()).at("maps").at("src_stats");
    const json expected = {{"capacity", 1000}, {"drained", 250},       {"fill", 0.25},
                           {"inserts", 7},     {"insert_failures", 1}, {"evictions", 3}};
    EXPECT_EQ(m, expected);
}

TEST(StatsRecord, SrcPendingMapFields) {
    const json m = stats_record(context(), stats_interval()).at("maps").at("src_pending");
    const json expected = {{"slots", 2048}, {"first_probes", 9}, {"drained", 40}};
    EXPECT_EQ(m, expected);
}

TEST(StatsRecord, MapsMemlockAndAgentUsage) {
    Interval iv = stats_interval();
    iv.maps_memlock_bytes = 123'456'789;
    iv.agent = {12.5, 3 * 4096};
    const json j = stats_record(context(), iv);
    EXPECT_EQ(j.at("maps").at("memlock_bytes"), 123'456'789);
    EXPECT_EQ(j.at("agent"), (json{{"cpu_ms", 12.5}, {"rss_bytes", 3 * 4096}}));
}

TEST(StatsRecord, UnknownCapacityGivesZeroFill) {
    Interval iv = stats_interval();
    iv.src_map = {0, 250, 0};
    EXPECT_EQ(stats_record(context(), iv).at("maps").at("src_stats").at("fill"), 0.0);
}

// ---- source ----

SourceState source(std::string_view text) {
    SourceState s;
    s.addr = parse_addr(text).value();
    s.first_seen_ns = 1700000000000000000;  // 2023-11-14T22:13:20.000Z
    s.last_seen_ns = 1700000001500000000;   // 2023-11-14T22:13:21.500Z
    s.interval = {};
    s.total = {};
    s.interval[PS_CLASS_TCP_SYN] = 6, s.interval[PS_CLASS_TCP_ODD] = 1;
    s.interval[PS_CLASS_UDP] = 2, s.interval[PS_CLASS_ICMP_ECHO] = 1;
    s.total[PS_CLASS_TCP_SYN] = 60, s.total[PS_CLASS_TCP_ODD] = 1, s.total[PS_CLASS_UDP] = 20;
    s.total[PS_CLASS_ICMP_ECHO] = 3, s.total[PS_CLASS_TCP_SYNACK] = 4;
    s.total[PS_CLASS_TCP_RST] = 5, s.total[PS_CLASS_ICMP_ERROR] = 6;
    s.ports = {{tcp(22), 3}, {icmp(), 1}, {udp(53), 2}};
    s.dsts = {0xC6336401, 0xC6336402};
    return s;
}

struct FamilyCase {
    const char* test_name;
    const char* addr;
    const char* src;
    int family;
};

const FamilyCase kFamilyCases[] = {
    {"Ipv4", "192.0.2.7", "192.0.2.7", 4},
    {"V4MappedTextIsIpv4", "::ffff:192.0.2.7", "192.0.2.7", 4},
    {"Ipv6", "2001:db8::7", "2001:db8::7", 6},
};

class SourceRecordFamily : public ::testing::TestWithParam<FamilyCase> {};

TEST_P(SourceRecordFamily, SrcTextAndFamily) {
    const json j = source_record(context(), interval(), source(GetParam().addr));
    EXPECT_EQ(j.at("src"), GetParam().src);
    EXPECT_EQ(j.at("family"), GetParam().family);
}

INSTANTIATE_TEST_SUITE_P(Table, SourceRecordFamily, ::testing::ValuesIn(kFamilyCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(SourceRecord, HeaderAndTimes) {
    const json j = source_record(context(), interval(), source("192.0.2.7"));
    EXPECT_EQ(j.at("type"), "source");
    EXPECT_EQ(j.at("time"), kNowText);
    EXPECT_EQ(j.at("interface"), "eth0");
    EXPECT_EQ(j.at("first_seen"), "2023-11-14T22:13:20.000Z");
    EXPECT_EQ(j.at("last_seen"), "2023-11-14T22:13:21.500Z");
}

TEST(SourceRecord, PacketsAndTotalPerSourceClass) {
    const json j = source_record(context(), interval(2.0), source("192.0.2.7"));
    const json packets = {{"tcp_syn", 6},   {"tcp_odd", 1},       {"udp", 2},
                          {"icmp_echo", 1}, {"tcp_ack_probe", 0}, {"tcp_synack", 0},
                          {"tcp_rst", 0},   {"icmp_error", 0}};
    const json total = {{"tcp_syn", 60},      {"tcp_odd", 1},    {"udp", 20},    {"icmp_echo", 3},
                        {"tcp_ack_probe", 0}, {"tcp_synack", 4}, {"tcp_rst", 5}, {"icmp_error", 6}};
    EXPECT_EQ(j.at("packets"), packets);
    EXPECT_EQ(j.at("total"), total);
    EXPECT_EQ(j.at("pps"), 5.0);  // 10 interval packets over 2 s
}

TEST(SourceRecord, DistinctCountsCarryExactness) {
    SourceState s = source("192.0.2.7");
    const json exact = source_record(context(), interval(), s);
    EXPECT_EQ(exact.at("distinct_ports"), (json{{"value", 3}, {"exact", true}}));
    EXPECT_EQ(exact.at("distinct_dsts"), (json{{"value", 2}, {"exact", true}}));

    s.ports_exact = false;  // empty HLL: the exact set size is the floor
    s.dsts_exact = false;
    const json inexact = source_record(context(), interval(), s);
    EXPECT_EQ(inexact.at("distinct_ports"), (json{{"value", 3}, {"exact", false}}));
    EXPECT_EQ(inexact.at("distinct_dsts"), (json{{"value", 2}, {"exact", false}}));
}

TEST(SourceRecord, TopPortsByPacketsIcmpHasNoPort) {
    const json j = source_record(context(), interval(), source("192.0.2.7"));
    const json expected = json::array({
        {{"proto", "tcp"}, {"port", 22}, {"packets", 3}},
        {{"proto", "udp"}, {"port", 53}, {"packets", 2}},
        {{"proto", "icmp"}, {"packets", 1}},
    });
    EXPECT_EQ(j.at("top_ports"), expected);
    EXPECT_FALSE(j.at("top_ports").at(2).contains("port"));
}

TEST(SourceRecord, TopPortsListsAtMostFive) {
    SourceState s = source("192.0.2.7");
    s.ports.clear();
    for (uint16_t p = 1; p <= 8; ++p) s.ports.push_back({tcp(p), p});
    const json top = source_record(context(), interval(), s).at("top_ports");
    ASSERT_EQ(top.size(), 5u);
    EXPECT_EQ(top.front(), (json{{"proto", "tcp"}, {"port", 8}, {"packets", 8}}));
    EXPECT_EQ(top.back(), (json{{"proto", "tcp"}, {"port", 4}, {"packets", 4}}));
}

TEST(SourceRecord, NoPortsGivesEmptyTopPorts) {
    SourceState s = source("192.0.2.7");
    s.ports.clear();
    const json top = source_record(context(), interval(), s).at("top_ports");
    EXPECT_TRUE(top.is_array());
    EXPECT_TRUE(top.empty());
}

struct PortItemCase {
    const char* test_name;
    uint32_t item;
    uint64_t packets;
    json expected;
};

const PortItemCase kPortItemCases[] = {
    {"TcpPort",
     PS_PORT_SLOT(PS_PORT_PROTO_TCP, 22),
     3,
     {{"proto", "tcp"}, {"port", 22}, {"packets", 3}}},
    {"UdpHighestPort",
     PS_PORT_SLOT(PS_PORT_PROTO_UDP, 65535),
     1,
     {{"proto", "udp"}, {"port", 65535}, {"packets", 1}}},
    {"TcpPortZero",
     PS_PORT_SLOT(PS_PORT_PROTO_TCP, 0),
     2,
     {{"proto", "tcp"}, {"port", 0}, {"packets", 2}}},
    {"IcmpHasNoPort", PS_PORT_SLOT(PS_PORT_SLOT_ICMP, 0), 9, {{"proto", "icmp"}, {"packets", 9}}},
};

class PortItemJson : public ::testing::TestWithParam<PortItemCase> {};

TEST_P(PortItemJson, Table) {
    EXPECT_EQ(port_item_json(GetParam().item, GetParam().packets), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Table, PortItemJson, ::testing::ValuesIn(kPortItemCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

// ---- port ----

TEST(PortRecord, Fields) {
    const PortSample p{PS_PORT_PROTO_UDP, 53, 12, 3400, 41.6};
    const json j = port_record(context(), interval(), p);
    EXPECT_EQ(j.at("type"), "port");
    EXPECT_EQ(j.at("time"), kNowText);
    EXPECT_EQ(j.at("interface"), "eth0");
    EXPECT_EQ(j.at("proto"), "udp");
    EXPECT_EQ(j.at("port"), 53);
    EXPECT_EQ(j.at("packets"), 12);
    EXPECT_EQ(j.at("total_packets"), 3400);
    EXPECT_EQ(j.at("distinct_sources"), 42);
}

struct DistinctSourcesCase {
    const char* test_name;
    double estimate;
    uint64_t expected;
};

// The HLL estimate is a double; the record carries the nearest whole number of sources.
const DistinctSourcesCase kDistinctSourcesCases[] = {
    {"Zero", 0.0, 0},       {"RoundsDown", 12.4, 12},    {"HalfRoundsUp", 12.5, 13},
    {"RoundsUp", 12.6, 13}, {"JustBelowOne", 0.9999, 1},
};

class PortRecordDistinctSources : public ::testing::TestWithParam<DistinctSourcesCase> {};

TEST_P(PortRecordDistinctSources, RoundsToNearest) {
    const PortSample p{PS_PORT_PROTO_TCP, 443, 1, 1, GetParam().estimate};
    EXPECT_EQ(port_record(context(), interval(), p).at("distinct_sources"), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Table, PortRecordDistinctSources,
                         ::testing::ValuesIn(kDistinctSourcesCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(PortRecord, TcpProtoName) {
    const PortSample p{PS_PORT_PROTO_TCP, 22, 1, 1, 1.0};
    const json j = port_record(context(), interval(), p);
    EXPECT_EQ(j.at("proto"), "tcp");
    EXPECT_EQ(j.at("port"), 22);
}

}  // namespace
}  // namespace probescope
