// Scanner fingerprints and TCP option shapes recorded for TCP probes (count_fingerprints).
#include <cstring>
#include <ostream>
#include <set>

#include "names.h"
#include "xdp_fixture.h"

namespace probescope::test {
namespace {

constexpr uint8_t SYN = PS_TCP_SYN, ACK = PS_TCP_ACK, XMAS = PS_TCP_FIN | PS_TCP_PSH | PS_TCP_URG;
constexpr uint16_t kDport = 80;

// The destination as the program folds it: the IPv4 address as a host-order integer,
// a hash for IPv6.
const uint32_t kDst4 = ps_fold_addr(v4_key(kTarget4).data());
const uint32_t kDst6 = ps_fold_addr(v6_key(kTarget6).data());

// masscan derives its IP ID from the SYN cookie: dst ^ dport ^ seq, low 16 bits.
uint16_t masscan_ip_id(uint32_t dst, uint16_t dport, uint32_t seq) {
    return static_cast<uint16_t>((dst ^ dport ^ seq) & 0xffff);
}

uint32_t byteswap32(uint32_t v) {
    return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

// The four tool fingerprints a single probe can match; the "same as first" ones are
// checked separately because a first probe always matches them.
const ps_fingerprint kToolFingerprints[] = {PS_FP_ZMAP, PS_FP_MASSCAN, PS_FP_MIRAI, PS_FP_NMAP};

struct FingerprintCase {
    std::string name;
    std::string what;
    Frame frame;
    std::set<ps_fingerprint> hits;  // among kToolFingerprints
    ps_tcp_opts_shape shape;
    uint16_t mss = 0;
    bool v6 = false;
};

void PrintTo(const FingerprintCase& c, std::ostream* os) { *os << c.name << " (" << c.what << ")"; }

std::vector<FingerprintCase> fingerprint_cases() {
    const uint32_t masscan_seq = 0x12345678;
    // The nmap SYN: window 1024, one option, MSS 1460.
    auto nmap_syn = [](PacketBuilder b, uint16_t window, uint16_t mss) {
        return Frame(b.tcp(kScannerPort, kDport, SYN).window(window).tcp_options(tcpopt::mss(mss)));
    };
    auto syn_with_options = [](std::vector<uint8_t> opts) {
        return Frame(v4_frame().tcp(kScannerPort, kDport, SYN).tcp_options(std::move(opts)));
    };
    std::vector<uint8_t> mss_ws = tcpopt::mss(1460);
    for (uint8_t b : tcpopt::window_scale(10)) mss_ws.push_back(b);

    return {
        // zmap
        {"zmap",
         "IP ID 54321, TTL 255, window 65535, no options",
         v4_frame()
             .ip_id(54321)
             .ttl(255)
             .tcp(kScannerPort, kDport, SYN)
             .window(65535)
             .seq(0x0badf00d),
         {PS_FP_ZMAP},
         PS_OPTS_NONE},
        {"zmap_xmas",
         "zmap-shaped odd probe: fingerprinted like a SYN",
         v4_frame().ip_id(54321).ttl(255).tcp(kScannerPort, kDport, XMAS).window(65535),
         {PS_FP_ZMAP},
         PS_OPTS_NONE},
        {"not_zmap_ttl_254",
         "one hop travelled",
         v4_frame().ip_id(54321).ttl(254).tcp(kScannerPort, kDport, SYN).window(65535),
         {},
         PS_OPTS_NONE},
        {"not_zmap_id_54320",
         "IP ID off by one",
         v4_frame().ip_id(54320).ttl(255).tcp(kScannerPort, kDport, SYN).window(65535),
         {},
         PS_OPTS_NONE},
        {"not_zmap_window_65534",
         "window off by one",
         v4_frame().ip_id(54321).ttl(255).tcp(kScannerPort, kDport, SYN).window(65534),
         {},
         PS_OPTS_NONE},

        // masscan
        {"masscan",
         "window 1024, IP ID = (dst ^ dport ^ seq) & 0xffff",
         v4_frame()
             .ip_id(masscan_ip_id(kDst4, kDport, masscan_seq))
             .tcp(kScannerPort, kDport, SYN)
             .window(1024)
             .seq(masscan_seq),
         {PS_FP_MASSCAN},
         PS_OPTS_NONE},
        {"not_masscan_window_1025",
         "the masscan IP ID with window 1025",
         v4_frame()
             .ip_id(masscan_ip_id(kDst4, kDport, masscan_seq))
             .tcp(kScannerPort, kDport, SYN)
             .window(1025)
             .seq(masscan_seq),
         {},
         PS_OPTS_NONE},
        {"not_masscan_ip_id_off_by_one",
         "window 1024, IP ID + 1",
         v4_frame()
             .ip_id(masscan_ip_id(kDst4, kDport, masscan_seq) + 1)
             .tcp(kScannerPort, kDport, SYN)
             .window(1024)
             .seq(masscan_seq),
         {},
         PS_OPTS_NONE},
        {"not_masscan_ipv6",
         "IPv6 (ID 0) with a seq that makes the formula 0: IPv4 only",
         v6_frame().tcp(kScannerPort, kDport, SYN).window(1024).seq((kDst6 ^ kDport) & 0xffff),
         {},
         PS_OPTS_NONE,
         0,
         true},

        // Mirai
        {"mirai",
         "seq equals the destination address (wire order)",
         v4_frame().tcp(kScannerPort, 23, SYN).seq(kDst4),
         {PS_FP_MIRAI},
         PS_OPTS_NONE},
        {"not_mirai_byteswapped",
         "seq is the address byte-swapped",
         v4_frame().tcp(kScannerPort, 23, SYN).seq(byteswap32(kDst4)),
         {},
         PS_OPTS_NONE},
        {"not_mirai_plus_one",
         "seq is the address + 1",
         v4_frame().tcp(kScannerPort, 23, SYN).seq(kDst4 + 1),
         {},
         PS_OPTS_NONE},
        {"not_mirai_ipv6",
         "IPv6 with seq equal to the folded destination: IPv4 only",
         v6_frame().tcp(kScannerPort, 23, SYN).seq(kDst6),
         {},
         PS_OPTS_NONE,
         0,
         true},

        // nmap
        {"nmap_syn",
         "window 1024, MSS 1460 only",
         nmap_syn(v4_frame(), 1024, 1460),
         {PS_FP_NMAP},
         PS_OPTS_MSS_ONLY,
         1460},
        {"nmap_syn_ipv6",
         "window 1024, MSS 1460 only, over IPv6",
         nmap_syn(v6_frame(), 1024, 1460),
         {PS_FP_NMAP},
         PS_OPTS_MSS_ONLY,
         1460,
         true},
        {"not_nmap_mss_1400",
         "window 1024, MSS 1400",
         nmap_syn(v4_frame(), 1024, 1400),
         {},
         PS_OPTS_MSS_ONLY,
         1400},
        {"not_nmap_window_2048",
         "window 2048, MSS 1460",
         nmap_syn(v4_frame(), 2048, 1460),
         {},
         PS_OPTS_MSS_ONLY,
         1460},
        {"nmap_ack",
         "bare ACK probe, window 1024, no options",
         v4_frame().tcp(kScannerPort, kDport, ACK).window(1024),
         {PS_FP_NMAP},
         PS_OPTS_NONE},
        {"nmap_xmas",
         "Xmas probe, window 1024, no options",
         v6_frame().tcp(kScannerPort, kDport, XMAS).window(1024),
         {PS_FP_NMAP},
         PS_OPTS_NONE,
         0,
         true},
        {"not_nmap_xmas_with_option",
         "Xmas probe, window 1024, window scale option",
         v4_frame()
             .tcp(kScannerPort, kDport, XMAS)
             .window(1024)
             .tcp_options(tcpopt::window_scale(2)),
         {},
         PS_OPTS_OTHER},
        {"not_nmap_syn_without_mss",
         "SYN, window 1024, no options",
         v4_frame().tcp(kScannerPort, kDport, SYN).window(1024),
         {},
         PS_OPTS_NONE},
        {"not_nmap_second_option",
         "window 1024, MSS 1460 and window scale",
         v4_frame().tcp(kScannerPort, kDport, SYN).window(1024).tcp_options(mss_ws),
         {},
         PS_OPTS_STACK,
         1460},

        // An operating system's own connect(): a stack, and no tool.
        {"linux_stack",
         "MSS, SACK-permitted, timestamps, NOP, window scale",
         v4_frame().tcp(kScannerPort, kDport, SYN).window(64240).tcp_options(tcpopt::linux_syn()),
         {},
         PS_OPTS_STACK,
         1460},
        {"linux_stack_ipv6",
         "the same over IPv6, MSS 1440",
         v6_frame()
             .tcp(kScannerPort, kDport, SYN)
             .window(64800)
             .tcp_options(tcpopt::linux_syn(1440)),
         {},
         PS_OPTS_STACK,
         1440,
         true},
        {"linux_stack_window_1024",
         "stack options with window 1024: still not nmap",
         v4_frame().tcp(kScannerPort, kDport, SYN).window(1024).tcp_options(tcpopt::linux_syn()),
         {},
         PS_OPTS_STACK,
         1460},

        // Option shapes without a tool.
        {"opts_eol_first", "EOL ends the list at once", syn_with_options({0}), {}, PS_OPTS_NONE},
        {"opts_nops_only", "four NOPs", syn_with_options({1, 1, 1, 1}), {}, PS_OPTS_OTHER},
        {"opts_wscale_only",
         "window scale alone",
         syn_with_options(tcpopt::window_scale(7)),
         {},
         PS_OPTS_OTHER},
        {"opts_mss_then_eol",
         "MSS, then EOL padding",
         syn_with_options({2, 4, 0x05, 0xb4, 0}),
         {},
         PS_OPTS_MSS_ONLY,
         1460},
        {"opts_length_below_2",
         "an option claiming length 1",
         syn_with_options({2, 1, 0, 0}),
         {},
         PS_OPTS_MALFORMED},
        {"opts_length_past_data_offset",
         "MSS claiming 8 bytes in a 4-byte option area",
         syn_with_options({2, 8, 0x05, 0xb4}),
         {},
         PS_OPTS_MALFORMED},
    };
}

class FingerprintTest : public XdpProgramTest,
                        public ::testing::WithParamInterface<FingerprintCase> {};

TEST_P(FingerprintTest, SingleProbeMatchesExactlyTheExpectedTools) {
    const FingerprintCase& c = GetParam();
    ASSERT_NO_FATAL_FAILURE(send(c.frame, 42));

    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), 1u);
    const SrcKey key = c.v6 ? v6_key(kScanner6) : v4_key(kScanner4);
    ASSERT_TRUE(sources.contains(key)) << key_text(sources.begin()->first);
    const ps_src_stats& s = sources.at(key);

    EXPECT_EQ(s.tcp_probes, 1u);
    for (ps_fingerprint fp : kToolFingerprints)
        EXPECT_EQ(s.fp_hits[fp], c.hits.contains(fp) ? 1u : 0u) << fingerprint_name(fp);
    // A source's first probe is by definition "the same as the first".
    for (ps_fingerprint fp : {PS_FP_SAME_SEQ, PS_FP_SAME_SPORT, PS_FP_UNICORN})
        EXPECT_EQ(s.fp_hits[fp], 1u) << fingerprint_name(fp);

    EXPECT_EQ(s.first.opts_shape, c.shape) << "got " << opts_shape_name(s.first.opts_shape);
    EXPECT_EQ(s.first.mss, c.mss);
    EXPECT_EQ(std::memcmp(&s.first, &s.last, sizeof s.first), 0) << "one probe: first == last";
}

INSTANTIATE_TEST_SUITE_P(Table, FingerprintTest, ::testing::ValuesIn(fingerprint_cases()),
                         [](const auto& info) { return info.param.name; });

TEST_F(XdpProgramTest, ProbeFactsRecordTheFirstAndLastProbe) {
    const Frame first = v4_frame()
                            .ip_id(54321)
                            .ttl(255)
                            .tcp(61000, 8080, SYN | PS_TCP_ECE | PS_TCP_CWR)
                            .seq(0xa1b2c3d4)
                            .window(65535)
                            .tcp_options(tcpopt::mss(1380));
    const Frame last = v4_frame().ip_id(7).ttl(50).tcp(61001, 22, XMAS).seq(5).window(512);
    ASSERT_NO_FATAL_FAILURE(send(first, 1));
    ASSERT_NO_FATAL_FAILURE(send(last, 2));

    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    const ps_probe_facts& f = s.first;
    EXPECT_EQ(f.seq, 0xa1b2c3d4u);
    EXPECT_EQ(f.sport, 61000);
    EXPECT_EQ(f.dport, 8080);
    EXPECT_EQ(f.window, 65535);
    EXPECT_EQ(f.ip_id, 54321);
    EXPECT_EQ(f.ttl, 255);
    EXPECT_EQ(f.mss, 1380);
    EXPECT_EQ(f.opts_shape, PS_OPTS_MSS_ONLY);
    EXPECT_EQ(f.tcp_flags, SYN | PS_TCP_ECE | PS_TCP_CWR);
    EXPECT_EQ(f.l4proto, 6);
    EXPECT_EQ(f.unicorn_key, 0xa1b2c3d4u ^ kDst4 ^ (8080u << 16 | 61000u));

    const ps_probe_facts& l = s.last;
    EXPECT_EQ(l.seq, 5u);
    EXPECT_EQ(l.sport, 61001);
    EXPECT_EQ(l.dport, 22);
    EXPECT_EQ(l.window, 512);
    EXPECT_EQ(l.ip_id, 7);
    EXPECT_EQ(l.ttl, 50);
    EXPECT_EQ(l.opts_shape, PS_OPTS_NONE);
    EXPECT_EQ(l.tcp_flags, XMAS);

    EXPECT_EQ(s.tcp_probes, 2u);
    EXPECT_EQ(s.fp_hits[PS_FP_ZMAP], 1u);  // the first only
}

TEST_F(XdpProgramTest, SameSeqAndSameSportCountAgainstTheFirstProbe) {
    for (uint16_t dport : {80, 443, 8080})
        ASSERT_NO_FATAL_FAILURE(
            send(v4_frame().tcp(kScannerPort, dport, SYN).seq(0x11111111), dport));
    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    EXPECT_EQ(s.tcp_probes, 3u);
    EXPECT_EQ(s.fp_hits[PS_FP_SAME_SEQ], 3u);
    EXPECT_EQ(s.fp_hits[PS_FP_SAME_SPORT], 3u);
    EXPECT_EQ(s.fp_hits[PS_FP_UNICORN], 1u);  // the key mixes in dport, which changed
    EXPECT_EQ(s.first.dport, 80);
    EXPECT_EQ(s.last.dport, 8080);
}

TEST_F(XdpProgramTest, OnlyTheFirstSampleOfProbesIsFingerprinted) {
    // Fingerprint shares are settled by PS_FP_SAMPLE probes; every probe still counts as a
    // packet, a technique and a port, but later ones skip the header reads.
    constexpr uint16_t kProbes = PS_FP_SAMPLE + 36;
    for (uint16_t i = 0; i < kProbes; ++i)
        ASSERT_NO_FATAL_FAILURE(
            send(v4_frame()
                     .tcp(kScannerPort, 1 + i, SYN)
                     .seq(0x22222222)
                     .window(1024)
                     .tcp_options(tcpopt::mss(1460)),
                 1 + i));
    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    EXPECT_EQ(s.pkts[PS_CLASS_TCP_SYN], kProbes);
    EXPECT_EQ(s.technique[PS_TECH_SYN], kProbes);
    EXPECT_EQ(s.tcp_probes, uint32_t{PS_FP_SAMPLE});
    EXPECT_EQ(s.fp_hits[PS_FP_NMAP], uint32_t{PS_FP_SAMPLE});
    EXPECT_EQ(s.fp_hits[PS_FP_SAME_SEQ], uint32_t{PS_FP_SAMPLE});
    EXPECT_EQ(s.first.dport, 1);
    EXPECT_EQ(s.last.dport, PS_FP_SAMPLE);  // the last probe fingerprinted
    EXPECT_EQ(s.last_seen_ns, kProbes);     // while the source stays fresh to the end
    EXPECT_EQ(moved_ports().size(), kProbes);
}

TEST_F(XdpProgramTest, UnicornKeyStaysConstantAcrossProbes) {
    // unicornscan encodes a session key: seq ^ dst ^ (dport << 16 | sport) never changes.
    constexpr uint32_t kKey = 0x5ca11ab1;
    uint64_t clock = 1;
    const std::pair<uint16_t, uint16_t> probes[] = {{1111, 21}, {2222, 25}, {3333, 110}};
    for (auto [sport, dport] : probes) {
        const uint32_t seq = kKey ^ kDst4 ^ (uint32_t{dport} << 16 | sport);
        ASSERT_NO_FATAL_FAILURE(send(v4_frame().tcp(sport, dport, SYN).seq(seq), clock++));
    }
    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    EXPECT_EQ(s.fp_hits[PS_FP_UNICORN], 3u);
    EXPECT_EQ(s.fp_hits[PS_FP_SAME_SEQ], 1u);
    EXPECT_EQ(s.fp_hits[PS_FP_SAME_SPORT], 1u);
    EXPECT_EQ(s.first.unicorn_key, kKey);
}

TEST_F(XdpProgramTest, BackscatterIsNeverFingerprinted) {
    // zmap-shaped headers on a SYN-ACK and a RST: replies, not probes.
    ASSERT_NO_FATAL_FAILURE(
        send(v4_frame().ip_id(54321).ttl(255).tcp(80, kScannerPort, SYN | ACK).window(65535), 1));
    ASSERT_NO_FATAL_FAILURE(
        send(v4_frame().ip_id(54321).ttl(255).tcp(80, kScannerPort, PS_TCP_RST).window(65535), 2));
    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    EXPECT_EQ(s.tcp_probes, 0u);
    for (unsigned fp = 0; fp < PS_FP_COUNT; ++fp)
        EXPECT_EQ(s.fp_hits[fp], 0u) << fingerprint_name(fp);
    const ps_probe_facts none{};
    EXPECT_EQ(std::memcmp(&s.first, &none, sizeof none), 0);
}

}  // namespace
}  // namespace probescope::test
