// Unit tests for interval_processor.h: which records one interval's drained data produces, in
// which order, and their exact fields. Kernel entries are built by hand; emitted JSON is
// collected by a lambda; the clock is Unix time, so times print as given.
#include "interval_processor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "src_sample.h"
#include "temp_dir.h"

namespace probescope {
namespace {

using nlohmann::json;
using test::SrcSample;
using test::tcp;
using test::TempDir;
using test::udp;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;  // 2023-11-14T22:13:20.000Z
constexpr uint64_t ms(uint64_t m) { return kT0 + m * 1'000'000ull; }

constexpr const char* kScanner = "198.51.100.7";
constexpr uint32_t kHost = 0xCB007101;  // 203.0.113.1

const char* const kBackscatterNote =
    "SYN-ACK, RST and ICMP errors nobody here asked for: someone spoofs our addresses at these "
    "victims";

using Samples = std::vector<SourceSample>;
using Records = std::vector<json>;

RecordContext context() { return RecordContext{"eth0", Clock::unix_epoch()}; }

Interval interval(uint64_t seq, uint64_t now_ms, Samples sources = {},
                  std::vector<PortSample> ports = {}) {
    Interval iv;
    iv.seq = seq;
    iv.now_ns = ms(now_ms);
    iv.seconds = 10;
    iv.sources = std::move(sources);
    iv.ports = std::move(ports);
    return iv;
}

Records run(IntervalProcessor& p, Interval iv) {
    Records out;
    p.process(iv, [&](const json& j) { out.push_back(j); });
    return out;
}

Records finish(IntervalProcessor& p, uint64_t now_ms) {
    Records out;
    p.finish(ms(now_ms), [&](const json& j) { out.push_back(j); });
    return out;
}

std::vector<std::string> types(const Records& r) {
    std::vector<std::string> out;
    for (const auto& j : r) out.push_back(j.at("type").get<std::string>());
    return out;
}

Records of_type(const Records& r, const std::string& type) {
    Records out;
    std::copy_if(r.begin(), r.end(), std::back_inserter(out),
                 [&](const json& j) { return j.at("type") == type; });
    return out;
}

size_t count_type(const Records& r, const std::string& type) { return of_type(r, type).size(); }

using Strings = std::vector<std::string>;

// Per-class counts as source and scanner_end records print them, zero unless given.
json classes(std::initializer_list<std::pair<const char*, uint64_t>> given = {}) {
    json j = {{"tcp_syn", 0},       {"tcp_odd", 0},    {"udp", 0},     {"icmp_echo", 0},
              {"tcp_ack_probe", 0}, {"tcp_synack", 0}, {"tcp_rst", 0}, {"icmp_error", 0}};
    for (auto [name, n] : given) j[name] = n;
    return j;
}

// A zmap SYN scan of n ports from first_port on kHost: port first_port gets `extra` more probes.
SrcSample zmap_scan(const char* src, uint64_t first_ms, uint64_t last_ms, uint16_t first_port,
                    unsigned n, unsigned extra = 0) {
    ps_probe_facts facts{};
    facts.seq = 12345;
    facts.sport = 40000;
    facts.window = 65535;
    facts.ip_id = 54321;
    facts.ttl = 255;
    facts.opts_shape = PS_OPTS_NONE;
    facts.tcp_flags = PS_TCP_SYN;
    facts.l4proto = 6;
    SrcSample s(src);
    s.seen(ms(first_ms), ms(last_ms))
        .pkts(PS_CLASS_TCP_SYN, n + extra)
        .tech(PS_TECH_SYN, n + extra)
        .tcp_probes(n + extra)
        .fp(PS_FP_ZMAP, n + extra)
        .first_probe(facts)
        .port(tcp(first_port), 1 + extra)
        .tcp_ports(static_cast<uint16_t>(first_port + 1), n - 1)
        .dst(kHost);
    return s;
}

// The vertical scan most tests use: 15 ports 2000-2014 (2000 twice), 16 SYNs in [1 s, 5 s].
SrcSample scanner_sample(const char* src = kScanner) {
    return zmap_scan(src, 1000, 5000, 2000, 15, 1);
}

// An OS-stack client: n SYNs to one port on one host.
SrcSample client(const char* src, uint64_t first_ms, uint64_t last_ms, uint16_t port, uint32_t n) {
    SrcSample s(src);
    s.seen(ms(first_ms), ms(last_ms))
        .pkts(PS_CLASS_TCP_SYN, n)
        .tech(PS_TECH_SYN, n)
        .tcp_probes(n)
        .opts(PS_OPTS_STACK)
        .port(tcp(port), n)
        .dst(kHost);
    return s;
}

// A backscatter victim: only replies of class cls, n of them spread over `ports` of our ports.
SrcSample victim(const char* src, unsigned cls, uint32_t n, unsigned ports = 3) {
    SrcSample s(src);
    s.seen(ms(2000), ms(3000)).pkts(cls, n).dst(kHost);
    for (unsigned i = 0; i < ports; ++i)
        s.port(tcp(static_cast<uint16_t>(80 + i)), i == 0 ? n - (ports - 1) : 1);
    return s;
}

// ---- stats and source records ----

TEST(ProcessorStats, StatsRecordComesFirst) {
    IntervalProcessor p(ProcessorConfig(), context());
    Interval iv = interval(1, 10'000, {client("192.0.2.10", 2000, 3000, 443, 2)},
                           {{PS_PORT_PROTO_TCP, 443, 2, 2, 1.0}});
    iv.delta.packets = 7;
    iv.cumulative.packets = 70;
    const Records r = run(p, iv);
    ASSERT_EQ(types(r), (Strings{"stats", "source", "port"}));
    const json& stats = r[0];
    EXPECT_EQ(stats.at("time"), "2023-11-14T22:13:30.000Z");
    EXPECT_EQ(stats.at("interface"), "eth0");
    EXPECT_EQ(stats.at("interval_s"), 10.0);
    EXPECT_EQ(stats.at("packets"), 7);
    EXPECT_EQ(stats.at("pps"), 0.7);
    EXPECT_EQ(stats.at("total_packets"), 70);
    EXPECT_EQ(stats.at("ports_active"), 1);
}

TEST(ProcessorStats, EmptyIntervalIsOneStatsRecord) {
    IntervalProcessor p(ProcessorConfig(), context());
    EXPECT_EQ(types(run(p, interval(1, 10'000))), Strings{"stats"});
}

TEST(ProcessorSource, SourceRecordFields) {
    IntervalProcessor p(ProcessorConfig(), context());
    const Records r = run(p, interval(1, 10'000, {client("192.0.2.10", 2000, 3000, 443, 2)}));
    ASSERT_EQ(types(r), (Strings{"stats", "source"}));
    const json expected = {
        {"type", "source"},
        {"time", "2023-11-14T22:13:30.000Z"},
        {"interface", "eth0"},
        {"src", "192.0.2.10"},
        {"family", 4},
        {"first_seen", "2023-11-14T22:13:22.000Z"},
        {"last_seen", "2023-11-14T22:13:23.000Z"},
        {"packets", classes({{"tcp_syn", 2}})},
        {"total", classes({{"tcp_syn", 2}})},
        {"pps", 0.2},
        {"distinct_ports", {{"value", 1}, {"exact", true}}},
        {"distinct_dsts", {{"value", 1}, {"exact", true}}},
        {"top_ports", json::array({{{"proto", "tcp"}, {"port", 443}, {"packets", 2}}})},
    };
    EXPECT_EQ(r[1], expected) << r[1].dump();
}

TEST(ProcessorSource, OneSourceRecordPerActiveSourceEachInterval) {
    IntervalProcessor p(ProcessorConfig(), context());
    run(p, interval(1, 10'000,
                    {client("192.0.2.10", 2000, 3000, 443, 2),
                     client("192.0.2.11", 2000, 3000, 443, 1)}));
    const Records r = run(p, interval(2, 20'000, {client("192.0.2.10", 12000, 13000, 443, 1)}));
    ASSERT_EQ(types(r), (Strings{"stats", "source"}));
    EXPECT_EQ(r[1].at("src"), "192.0.2.10");
    EXPECT_EQ(r[1].at("packets"), classes({{"tcp_syn", 1}}));
    EXPECT_EQ(r[1].at("total"), classes({{"tcp_syn", 3}}));
}

TEST(ProcessorSource, SourceRecordsCanBeTurnedOff) {
    ProcessorConfig cfg;
    cfg.source_records = false;
    IntervalProcessor p(cfg, context());
    const Records r =
        run(p, interval(1, 10'000, {client("192.0.2.10", 2000, 3000, 443, 2), scanner_sample()}));
    EXPECT_EQ(types(r), (Strings{"stats", "scanner"}));
}

// --source-records N: the N busiest sources of the interval get a record, busiest first; the
// stats record says how many were active and how many records were left out.
TEST(ProcessorSource, CappedSourceRecordsAreTheBusiestFirst) {
    ProcessorConfig cfg;
    cfg.source_records = 2;
    IntervalProcessor p(cfg, context());
    const Records r = run(p, interval(1, 10'000,
                                      {client("192.0.2.10", 2000, 3000, 443, 1),
                                       client("192.0.2.11", 2000, 3000, 443, 5),
                                       client("192.0.2.12", 2000, 3000, 443, 3),
                                       client("192.0.2.13", 2000, 3000, 443, 2)}));
    ASSERT_EQ(types(r), (Strings{"stats", "source", "source"}));
    EXPECT_EQ(r[1].at("src"), "192.0.2.11");
    EXPECT_EQ(r[2].at("src"), "192.0.2.12");
    EXPECT_EQ(r[0].at("sources"), (json{{"active", 4}, {"records", 2}, {"records_omitted", 2}}));
    EXPECT_EQ(r[0].at("agent").at("sources"), 4);  // the agent tracks all four, records or not
}

TEST(ProcessorSource, UncappedSourceRecordsKeepDrainOrderAndOmitNone) {
    IntervalProcessor p(ProcessorConfig(), context());
    const Records r = run(p, interval(1, 10'000,
                                      {client("192.0.2.10", 2000, 3000, 443, 1),
                                       client("192.0.2.11", 2000, 3000, 443, 5),
                                       client("192.0.2.10", 4000, 5000, 443, 1)}));
    ASSERT_EQ(types(r), (Strings{"stats", "source", "source"}));
    EXPECT_EQ(r[1].at("src"), "192.0.2.10");
    EXPECT_EQ(r[2].at("src"), "192.0.2.11");
    EXPECT_EQ(r[0].at("sources"), (json{{"active", 2}, {"records", 2}, {"records_omitted", 0}}));
    EXPECT_EQ(r[0].at("agent").at("sources"), 2);
    // The next interval's sources join those two in the agent's table.
    const Records r2 = run(p, interval(2, 11'000, {client("192.0.2.12", 2000, 3000, 443, 1)}));
    EXPECT_EQ(r2[0].at("sources").at("active"), 1);
    EXPECT_EQ(r2[0].at("agent").at("sources"), 3);
}

// A drain can hold one source twice: the kernel re-creates an entry the drain already took
// (source_table_test's SameDrainAddsToInterval folds both into one interval). docs/json.md
// promises one source record per active source per interval, and source.packets that sum
// over a run to the run's totals: one record with both samples' packets, not a record per
// sample (which would say 2, then 5, and sum to 7 SYNs, not 5).
TEST(ProcessorSource, SourceTwiceInOneDrainIsOneRecord) {
    IntervalProcessor p(ProcessorConfig(), context());
    const Records r = run(p, interval(1, 10'000,
                                      {client("192.0.2.10", 2000, 3000, 443, 2),
                                       client("192.0.2.10", 4000, 5000, 443, 3)}));
    const Records sources = of_type(r, "source");
    ASSERT_EQ(sources.size(), 1u);
    EXPECT_EQ(sources[0].at("packets"), classes({{"tcp_syn", 5}}));
}

// ---- scanner records ----

TEST(ProcessorScanner, ScannerRecordFields) {
    IntervalProcessor p(ProcessorConfig(), context());
    const Records r = run(p, interval(1, 10'000, {scanner_sample()}));
    ASSERT_EQ(types(r), (Strings{"stats", "source", "scanner"}));
    json top = json::array({{{"proto", "tcp"}, {"port", 2000}, {"packets", 2}}});
    for (int port = 2001; port <= 2004; ++port)
        top.push_back({{"proto", "tcp"}, {"port", port}, {"packets", 1}});
    const json expected = {
        {"type", "scanner"},
        {"time", "2023-11-14T22:13:30.000Z"},
        {"interface", "eth0"},
        {"src", "198.51.100.7"},
        {"first_seen", "2023-11-14T22:13:21.000Z"},
        {"last_seen", "2023-11-14T22:13:25.000Z"},
        {"packets", 16},
        {"rate_pps", 4.0},  // 16 packets in the 4 s of its window
        {"techniques", json::array({"syn"})},
        {"pattern", "vertical"},
        {"repeated", false},
        {"tool",
         {{"name", "zmap"},
          {"confidence", 1.0},
          {"evidence", "IP ID 54321, TTL 255, window 65535 in 16 of 16 TCP probes"}}},
        {"labels", json::array()},
        {"rdns", nullptr},
        {"distinct_ports", {{"value", 15}, {"exact", true}}},
        {"distinct_dsts", {{"value", 1}, {"exact", true}}},
        {"top_ports", top},
        {"rule", "distinct ports >= 15 in 300 s (Zeek)"},
        {"numbers",
         {{"distinct_ports", 15},
          {"distinct_dsts", 1},
          {"probes", 16},
          {"window_s", 4.0},
          {"threshold_ports", 15}}},
        {"fingerprint",
         {{"tcp_probes", 16},
          {"udp_same_sport", 0},
          {"udp_empty", 0},
          {"hits",
           {{"zmap", 16},
            {"masscan", 0},
            {"mirai", 0},
            {"nmap", 0},
            {"same_seq", 0},
            {"same_sport", 0},
            {"unicorn", 0}}},
          {"first_probe",
           {{"ttl", 255},
            {"window", 65535},
            {"ip_id", 54321},
            {"options", "none"},
            {"mss", 0},
            {"sport", 40000},
            {"seq", 12345}}}}},
        {"detect_s", 9.0},  // first packet at 1 s, drained at 10 s
    };
    EXPECT_EQ(r[2], expected) << r[2].dump();
}

// Per interval: what the scanner sends, and whether a scanner record follows its source record.
struct VerdictStep {
    const char* what;
    SrcSample sample;
    bool scanner_record;
};

TEST(ProcessorScanner, RecordOnFirstVerdictThenOnlyWhenItChanges) {
    IntervalProcessor p(ProcessorConfig(), context());
    SrcSample fins(kScanner);
    fins.seen(ms(32000), ms(35000))
        .pkts(PS_CLASS_TCP_ODD, 16)
        .tech(PS_TECH_FIN, 16)
        .tcp_probes(16)
        .fp(PS_FP_ZMAP, 16)
        .tcp_ports(2020, 16)
        .dst(kHost);
    const VerdictStep steps[] = {
        {"ten ports: not yet a scanner", zmap_scan(kScanner, 1000, 5000, 2000, 10), false},
        {"five more: vertical, first verdict", zmap_scan(kScanner, 12000, 15000, 2010, 5), true},
        {"five more SYNs: same verdict", zmap_scan(kScanner, 22000, 25000, 2015, 5), false},
        {"FIN probes: techniques change", fins, true},
        {"one more SYN: same verdict", zmap_scan(kScanner, 42000, 42000, 2040, 1), false},
        {"one more SYN: same verdict", zmap_scan(kScanner, 52000, 52000, 2041, 1), false},
    };
    uint64_t seq = 0;
    for (const auto& step : steps) {
        SCOPED_TRACE(step.what);
        ++seq;
        const Records r = run(p, interval(seq, seq * 10'000, {step.sample}));
        EXPECT_EQ(types(r), step.scanner_record ? (Strings{"stats", "source", "scanner"})
                                                : (Strings{"stats", "source"}));
        if (!step.scanner_record || r.size() < 3) continue;
        if (seq == 2) {
            EXPECT_EQ(r[2].at("techniques"), json::array({"syn"}));
            EXPECT_EQ(r[2].at("detect_s"), 19.0);  // first packet at 1 s, verdict at 20 s
            EXPECT_EQ(r[2].at("numbers").at("distinct_ports"), 15);
        } else {
            EXPECT_EQ(r[2].at("techniques"), json::array({"syn", "fin"}));
            EXPECT_EQ(r[2].at("numbers").at("distinct_ports"), 36);
            EXPECT_EQ(r[2].at("tool").at("name"), "zmap");
        }
    }
}

TEST(ProcessorScanner, NonScannersAndBackscatterGetNoScannerRecord) {
    IntervalProcessor p(ProcessorConfig(), context());
    const Records r = run(p, interval(1, 10'000,
                                      {client("192.0.2.10", 2000, 3000, 443, 2),
                                       zmap_scan("192.0.2.11", 1000, 5000, 2000, 14),
                                       victim("192.0.2.12", PS_CLASS_TCP_SYNACK, 5)}));
    EXPECT_EQ(count_type(r, "scanner"), 0u);
    EXPECT_EQ(count_type(r, "source"), 3u);
}

TEST(ProcessorScanner, ResearchLabelFromLoadedList) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    lists.load_string("# research scanners\n198.51.100.0/24\n", "shodan.txt", "Shodan");
    IntervalProcessor p(ProcessorConfig(), context(), &lists);
    SrcSample listed = scanner_sample("198.51.100.7");
    listed.pkts(PS_CLASS_UDP, 1)
        .tech(PS_TECH_UDP, 1)
        .udp_probe(PS_UDP_NTP_MONLIST, 1)
        .port(udp(123), 1);
    const Records r = run(p, interval(1, 10'000, {listed, scanner_sample("203.0.113.200")}));
    const Records scanners = of_type(r, "scanner");
    ASSERT_EQ(scanners.size(), 2u);
    EXPECT_EQ(scanners[0].at("src"), "198.51.100.7");
    EXPECT_EQ(scanners[0].at("labels"), json::array({"reflector:ntp_monlist", "research:Shodan"}));
    EXPECT_EQ(scanners[1].at("src"), "203.0.113.200");
    EXPECT_EQ(scanners[1].at("labels"), json::array());
    // The label is part of the verdict, and it does not change: no new record.
    const Records again =
        run(p, interval(2, 20'000, {zmap_scan("198.51.100.7", 12000, 13000, 2020, 1)}));
    EXPECT_EQ(types(again), (Strings{"stats", "source"}));
}

// The research label is looked up once a source is a scanner (not for every active source): a
// listed source that was a plain client first still carries it when it starts to scan.
TEST(ProcessorScanner, ResearchLabelWhenAListedClientStartsToScan) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    lists.load_string("198.51.100.0/24\n", "censys.txt", "Censys");
    IntervalProcessor p(ProcessorConfig(), context(), &lists);
    EXPECT_EQ(types(run(p, interval(1, 10'000, {client("198.51.100.9", 2000, 3000, 443, 2)}))),
              (Strings{"stats", "source"}));
    const Records scanners =
        of_type(run(p, interval(2, 20'000, {zmap_scan("198.51.100.9", 12000, 15000, 2000, 15)})),
                "scanner");
    ASSERT_EQ(scanners.size(), 1u);
    EXPECT_EQ(scanners[0].at("src"), "198.51.100.9");
    EXPECT_EQ(scanners[0].at("labels"), json::array({"research:Censys"}));
}

// ---- scanner_end ----

TEST(ProcessorScannerEnd, WhenQuietPastIdleTimeout) {
    IntervalProcessor p(ProcessorConfig(), context());  // idle timeout 300 s
    ASSERT_EQ(
        count_type(run(p, interval(1, 10'000,
                                   {scanner_sample(), client("192.0.2.10", 2000, 5000, 443, 2)})),
                   "scanner"),
        1u);
    // Last packet at 5 s: quiet exactly 300 s at 305 s is not yet past the timeout.
    EXPECT_EQ(types(run(p, interval(2, 305'000))), Strings{"stats"});
    EXPECT_EQ(p.sources().size(), 2u);
    const Records r = run(p, interval(3, 305'001));
    ASSERT_EQ(types(r), (Strings{"stats", "scanner_end"}));  // the client ends silently
    const json expected = {
        {"type", "scanner_end"},
        {"time", "2023-11-14T22:18:25.001Z"},
        {"interface", "eth0"},
        {"src", "198.51.100.7"},
        {"first_seen", "2023-11-14T22:13:21.000Z"},
        {"last_seen", "2023-11-14T22:13:25.000Z"},
        {"duration_s", 4.0},
        {"packets", 16},
        {"total", classes({{"tcp_syn", 16}})},
        {"peak_distinct_ports", 15},
        {"peak_distinct_dsts", 1},
        {"pattern", "vertical"},
        {"tool", "zmap"},
    };
    EXPECT_EQ(r[1], expected) << r[1].dump();
    EXPECT_EQ(p.sources().size(), 0u);
    EXPECT_EQ(types(run(p, interval(4, 400'000))), Strings{"stats"});
    EXPECT_TRUE(finish(p, 500'000).empty());
}

TEST(ProcessorScannerEnd, ActivityKeepsAScannerOpen) {
    IntervalProcessor p(ProcessorConfig(), context());
    run(p, interval(1, 10'000, {scanner_sample()}));
    const Records r =
        run(p, interval(2, 305'001, {zmap_scan(kScanner, 300'000, 305'000, 2000, 1)}));
    EXPECT_EQ(types(r), (Strings{"stats", "source"}));
}

TEST(ProcessorScannerEnd, FinishEndsOpenScannersOnly) {
    IntervalProcessor p(ProcessorConfig(), context());
    run(p, interval(1, 10'000,
                    {scanner_sample(), client("192.0.2.10", 2000, 3000, 443, 2),
                     victim("192.0.2.12", PS_CLASS_TCP_SYNACK, 5)}));
    const Records r = finish(p, 60'000);
    ASSERT_EQ(types(r), Strings{"scanner_end"});
    EXPECT_EQ(r[0].at("time"), "2023-11-14T22:14:20.000Z");
    EXPECT_EQ(r[0].at("src"), "198.51.100.7");
    EXPECT_EQ(r[0].at("pattern"), "vertical");
    EXPECT_EQ(r[0].at("tool"), "zmap");
}

TEST(ProcessorScannerEnd, CapacityEvictionEndsTheScanner) {
    ProcessorConfig cfg;
    cfg.max_sources = 1;
    IntervalProcessor p(cfg, context());
    run(p, interval(1, 10'000, {scanner_sample()}));
    const Records r = run(p, interval(2, 20'000, {client("192.0.2.10", 12000, 13000, 443, 1)}));
    ASSERT_EQ(types(r), (Strings{"stats", "source", "scanner_end"}));
    EXPECT_EQ(r[2].at("src"), "198.51.100.7");
    EXPECT_EQ(r[2].at("time"), "2023-11-14T22:13:40.000Z");
    EXPECT_TRUE(finish(p, 30'000).empty());
}

// ---- floods ----

// n spoofed sources 10.1.x.y (from index first), each sending pkts SYNs to one port on kHost.
Samples tiny_sources(unsigned n, uint32_t pkts, uint64_t at_ms, unsigned first = 0,
                     uint16_t port = 80) {
    Samples out;
    for (unsigned i = first; i < first + n; ++i) {
        std::string src = "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256);
        out.push_back(SrcSample(src)
                          .seen(ms(at_ms), ms(at_ms))
                          .pkts(PS_CLASS_TCP_SYN, pkts)
                          .tech(PS_TECH_SYN, pkts)
                          .tcp_probes(pkts)
                          .port(tcp(port), pkts)
                          .dst(kHost));
    }
    return out;
}

// repeat_count 2: each tiny source (2 SYNs to one host and port) is on its own a scanner.
ProcessorConfig flood_config() {
    ProcessorConfig cfg;
    cfg.thresholds.repeat_count = 2;
    return cfg;
}

TEST(ProcessorFlood, BelowFloodSourcesTheyAreOrdinarySources) {
    IntervalProcessor p(flood_config(), context());
    const Records r = run(p, interval(1, 10'000, tiny_sources(199, 2, 5000)));
    EXPECT_EQ(count_type(r, "flood"), 0u);
    EXPECT_EQ(count_type(r, "source"), 199u);
    EXPECT_EQ(count_type(r, "scanner"), 199u);
    EXPECT_EQ(p.sources().size(), 199u);
}

TEST(ProcessorFlood, StartOnceThenEndWithTotals) {
    IntervalProcessor p(flood_config(), context());
    // Not tiny: two ports, and three packets on the flooded port.
    SrcSample two_ports = client("192.0.2.20", 5000, 5000, 80, 1);
    two_ports.port(tcp(443), 1).pkts(PS_CLASS_TCP_SYN, 2);
    Samples iv1 = tiny_sources(200, 2, 5000);
    iv1.push_back(two_ports);
    iv1.push_back(client("192.0.2.21", 5000, 6000, 80, 3));

    const Records r1 = run(p, interval(1, 10'000, iv1));
    ASSERT_EQ(types(r1), (Strings{"stats", "flood", "source", "source"}));
    const json start = {
        {"type", "flood"},
        {"phase", "start"},
        {"time", "2023-11-14T22:13:30.000Z"},
        {"interface", "eth0"},
        {"proto", "tcp"},
        {"port", 80},
        {"packets", 400},
        {"sources", 200},
        {"rule", "sources with <= 2 packets on one port >= 200 in one interval"},
    };
    EXPECT_EQ(r1[1], start) << r1[1].dump();
    EXPECT_EQ(r1[2].at("src"), "192.0.2.20");
    EXPECT_EQ(r1[3].at("src"), "192.0.2.21");
    EXPECT_EQ(p.sources().size(), 2u);  // the spoofed sources leave no history

    // While it lasts, any tiny source on the port belongs to it, and no second start is written.
    EXPECT_EQ(types(run(p, interval(2, 20'000, tiny_sources(50, 1, 15000, 200)))),
              Strings{"stats"});
    EXPECT_EQ(types(run(p, interval(3, 30'000, tiny_sources(200, 2, 25000, 250)))),
              Strings{"stats"});
    EXPECT_EQ(p.sources().size(), 2u);

    // An interval without any: the end, with the whole flood's totals.
    const Records r4 = run(p, interval(4, 40'000));
    ASSERT_EQ(types(r4), (Strings{"stats", "flood"}));
    const json end = {
        {"type", "flood"},     {"phase", "end"}, {"time", "2023-11-14T22:14:00.000Z"},
        {"interface", "eth0"}, {"proto", "tcp"}, {"port", 80},
        {"packets", 850},      {"sources", 450}, {"started", "2023-11-14T22:13:30.000Z"},
        {"duration_s", 20.0},
    };
    EXPECT_EQ(r4[1], end) << r4[1].dump();
    EXPECT_EQ(types(run(p, interval(5, 50'000))), Strings{"stats"});
}

TEST(ProcessorFlood, ThreePacketSourcesAreNotTiny) {
    IntervalProcessor p(ProcessorConfig(), context());
    const Records r = run(p, interval(1, 10'000, tiny_sources(200, 3, 5000)));
    EXPECT_EQ(count_type(r, "flood"), 0u);
    EXPECT_EQ(count_type(r, "source"), 200u);
}

TEST(ProcessorFlood, TinySourcesSpreadOverPortsAreNoFlood) {
    IntervalProcessor p(ProcessorConfig(), context());
    Samples s = tiny_sources(100, 1, 5000, 0, 80);
    Samples more = tiny_sources(100, 1, 5000, 100, 443);
    s.insert(s.end(), more.begin(), more.end());
    const Records r = run(p, interval(1, 10'000, s));
    EXPECT_EQ(count_type(r, "flood"), 0u);
    EXPECT_EQ(count_type(r, "source"), 200u);
}

// ---- backscatter ----

TEST(ProcessorBackscatter, OneAggregatePerIntervalWithTopVictims) {
    IntervalProcessor p(ProcessorConfig(), context());
    const Records r1 = run(p, interval(1, 10'000,
                                       {victim("192.0.2.1", PS_CLASS_TCP_SYNACK, 5),
                                        victim("192.0.2.2", PS_CLASS_TCP_RST, 9, 4),
                                        victim("192.0.2.3", PS_CLASS_ICMP_ERROR, 3),
                                        victim("192.0.2.4", PS_CLASS_TCP_SYNACK, 2, 2)}));
    ASSERT_EQ(types(r1), (Strings{"stats", "source", "source", "source", "source", "backscatter"}));
    const json expected = {
        {"type", "backscatter"},
        {"time", "2023-11-14T22:13:30.000Z"},
        {"interface", "eth0"},
        {"victims", 3},  // 192.0.2.4 hit only 2 of our ports
        {"packets", 17},
        {"top_victims", json::array({{{"src", "192.0.2.2"}, {"packets", 9}},
                                     {{"src", "192.0.2.1"}, {"packets", 5}},
                                     {{"src", "192.0.2.3"}, {"packets", 3}}})},
        {"note", kBackscatterNote},
    };
    EXPECT_EQ(r1[5], expected) << r1[5].dump();

    // Counts are the interval's own.
    SrcSample again("192.0.2.1");
    again.seen(ms(12000), ms(12000)).pkts(PS_CLASS_TCP_SYNACK, 2).port(tcp(80), 2).dst(kHost);
    const Records r2 = run(p, interval(2, 20'000, {again}));
    ASSERT_EQ(types(r2), (Strings{"stats", "source", "backscatter"}));
    EXPECT_EQ(r2[2].at("victims"), 1);
    EXPECT_EQ(r2[2].at("packets"), 2);
    EXPECT_EQ(r2[2].at("top_victims"), json::array({{{"src", "192.0.2.1"}, {"packets", 2}}}));

    EXPECT_EQ(types(run(p, interval(3, 30'000))), Strings{"stats"});
    EXPECT_TRUE(finish(p, 40'000).empty());  // victims are not scanners
}

// The same drain holding one victim twice (see SourceTwiceInOneDrainIsOneRecord). BUG: it is
// counted as two victims, its first sample's packets twice (victims 2, packets 14, and the
// victim listed twice in top_victims).
TEST(ProcessorBackscatter, VictimTwiceInOneDrainCountsOnce) {
    IntervalProcessor p(ProcessorConfig(), context());
    const Records r = run(p, interval(1, 10'000,
                                      {victim("192.0.2.1", PS_CLASS_TCP_SYNACK, 5),
                                       victim("192.0.2.1", PS_CLASS_TCP_SYNACK, 4)}));
    const Records b = of_type(r, "backscatter");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].at("victims"), 1);
    EXPECT_EQ(b[0].at("packets"), 9);
    EXPECT_EQ(b[0].at("top_victims"), json::array({{{"src", "192.0.2.1"}, {"packets", 9}}}));
}

TEST(ProcessorBackscatter, TopVictimsKeepsTheTenBusiest) {
    IntervalProcessor p(ProcessorConfig(), context());
    Samples s;
    for (uint32_t i = 0; i < 12; ++i)
        s.push_back(victim(("192.0.2." + std::to_string(i + 1)).c_str(), PS_CLASS_TCP_RST, 3 + i));
    const Records r = run(p, interval(1, 10'000, s));
    const Records b = of_type(r, "backscatter");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].at("victims"), 12);
    EXPECT_EQ(b[0].at("packets"), 102);  // 3 + 4 + ... + 14
    json top = json::array();
    for (uint32_t i = 12; i > 2; --i)
        top.push_back({{"src", "192.0.2." + std::to_string(i)}, {"packets", i + 2}});
    EXPECT_EQ(b[0].at("top_victims"), top);
}

// ---- port records ----

class ProcessorPorts : public ::testing::Test {
protected:
    ProcessorPorts()
        : names_(dir_.write("services",
                            "ssh\t\t22/tcp\n"
                            "domain\t\t53/udp\n"
                            "http\t\t80/tcp\t\twww\n"
                            "scanme\t\t2000/tcp\n")) {}
    TempDir dir_;
    PortNames names_;
};

json port_json(const char* proto, int port, int packets, int total, int sources) {
    return {{"type", "port"},         {"time", "2023-11-14T22:13:30.000Z"},
            {"interface", "eth0"},    {"proto", proto},
            {"port", port},           {"packets", packets},
            {"total_packets", total}, {"distinct_sources", sources}};
}

json with_service(json j, const char* service) {
    j["service"] = service;
    return j;
}

TEST_F(ProcessorPorts, TopPortsByPacketsWithServiceNames) {
    ASSERT_TRUE(names_.loaded());
    ProcessorConfig cfg;
    cfg.top_ports = 3;
    IntervalProcessor p(cfg, context(), nullptr, nullptr, &names_);
    const Records r = run(p, interval(1, 10'000, {},
                                      {{PS_PORT_PROTO_TCP, 7777, 5, 500, 40.4},
                                       {PS_PORT_PROTO_TCP, 22, 50, 5000, 120.6},
                                       {PS_PORT_PROTO_UDP, 53, 20, 900, 2.5},
                                       {PS_PORT_PROTO_TCP, 80, 10, 100, 7.0},
                                       {PS_PORT_PROTO_UDP, 9999, 1, 1, 1.0}}));
    ASSERT_EQ(types(r), (Strings{"stats", "port", "port", "port"}));
    EXPECT_EQ(r[0].at("ports_active"), 5);  // all of them, listed or not
    EXPECT_EQ(r[1], with_service(port_json("tcp", 22, 50, 5000, 121), "ssh"));
    EXPECT_EQ(r[2], with_service(port_json("udp", 53, 20, 900, 3), "domain"));
    EXPECT_EQ(r[3], with_service(port_json("tcp", 80, 10, 100, 7), "http"));
}

TEST_F(ProcessorPorts, UnderTheLimitAllInDrainOrderUnnamedWithoutService) {
    IntervalProcessor p(ProcessorConfig(), context(), nullptr, nullptr, &names_);
    const Records r = run(p, interval(1, 10'000, {},
                                      {{PS_PORT_PROTO_TCP, 7777, 5, 500, 40.4},
                                       {PS_PORT_PROTO_TCP, 22, 50, 5000, 120.6},
                                       {PS_PORT_PROTO_UDP, 22, 4, 4, 1.0}}));
    ASSERT_EQ(types(r), (Strings{"stats", "port", "port", "port"}));
    EXPECT_EQ(r[0].at("ports_active"), 3);
    EXPECT_EQ(r[1], port_json("tcp", 7777, 5, 500, 40));
    EXPECT_EQ(r[2], with_service(port_json("tcp", 22, 50, 5000, 121), "ssh"));
    EXPECT_EQ(r[3], port_json("udp", 22, 4, 4, 1));  // ssh is named for tcp only
}

TEST_F(ProcessorPorts, ZeroTopPortsListsNoneButCountsThem) {
    ProcessorConfig cfg;
    cfg.top_ports = 0;
    IntervalProcessor p(cfg, context(), nullptr, nullptr, &names_);
    const Records r = run(p, interval(1, 10'000, {},
                                      {{PS_PORT_PROTO_TCP, 22, 50, 5000, 120.6},
                                       {PS_PORT_PROTO_UDP, 53, 20, 900, 2.5}}));
    ASSERT_EQ(types(r), Strings{"stats"});
    EXPECT_EQ(r[0].at("ports_active"), 2);
}

TEST_F(ProcessorPorts, WithoutPortNamesNoServiceField) {
    IntervalProcessor p(ProcessorConfig(), context());
    const Records r = run(p, interval(1, 10'000, {}, {{PS_PORT_PROTO_TCP, 22, 50, 5000, 120.6}}));
    ASSERT_EQ(types(r), (Strings{"stats", "port"}));
    EXPECT_EQ(r[1], port_json("tcp", 22, 50, 5000, 121));
}

TEST_F(ProcessorPorts, ScannerTopPortsCarryServiceNames) {
    IntervalProcessor p(ProcessorConfig(), context(), nullptr, nullptr, &names_);
    const Records r = run(p, interval(1, 10'000, {scanner_sample()}));
    const Records s = of_type(r, "scanner");
    ASSERT_EQ(s.size(), 1u);
    const json& top = s[0].at("top_ports");
    ASSERT_EQ(top.size(), 5u);
    EXPECT_EQ(top[0],
              (json{{"proto", "tcp"}, {"port", 2000}, {"packets", 2}, {"service", "scanme"}}));
    EXPECT_EQ(top[1], (json{{"proto", "tcp"}, {"port", 2001}, {"packets", 1}}));
}

// ---- the order of one interval's records (docs/json.md) ----

TEST(ProcessorOrder, StatsFloodSourcesBackscatterPortsScannerEnd) {
    IntervalProcessor p(ProcessorConfig(), context());
    run(p, interval(1, 10'000, {zmap_scan("192.0.2.99", 1000, 2000, 2000, 15)}));
    Samples others = {scanner_sample(), victim("192.0.2.1", PS_CLASS_TCP_RST, 4)};
    for (auto& smp : others) {  // moved from around 1 s to around 400 s
        smp.stats.first_seen_ns += ms(399'000) - kT0;
        smp.stats.last_seen_ns += ms(399'000) - kT0;
    }
    Samples s = tiny_sources(200, 1, 400'000);
    s.insert(s.end(), others.begin(), others.end());
    const Records r = run(p, interval(2, 405'000, s, {{PS_PORT_PROTO_TCP, 80, 200, 200, 200.0}}));
    EXPECT_EQ(types(r), (Strings{"stats", "flood", "source", "source", "scanner", "backscatter",
                                 "port", "scanner_end"}));
}

}  // namespace
}  // namespace probescope
