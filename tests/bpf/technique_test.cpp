// Per-source technique[] and udp_probe[] counters (technique_of, ps_udp_probe_kind): one frame
// shape per row, sent a few times, and exactly one counter of each array moves by that many.
#include <array>
#include <iomanip>
#include <map>
#include <optional>
#include <ostream>
#include <string_view>

#include "names.h"
#include "xdp_fixture.h"

namespace probescope::test {
namespace {

constexpr uint8_t FIN = PS_TCP_FIN, SYN = PS_TCP_SYN, RST = PS_TCP_RST, PSH = PS_TCP_PSH,
                  ACK = PS_TCP_ACK, URG = PS_TCP_URG, ECE = PS_TCP_ECE, CWR = PS_TCP_CWR;
constexpr uint16_t kDport = 80;

// Every row is sent this many times: each counter must move by exactly this much.
constexpr uint32_t kCopies = 3;

enum class Family { V4, V6 };
PacketBuilder frame_of(Family f) { return f == Family::V6 ? v6_frame() : v4_frame(); }
const char* prefix_of(Family f) { return f == Family::V6 ? "v6_" : "v4_"; }
SrcKey scanner_of(Family f) { return f == Family::V6 ? v6_key(kScanner6) : v4_key(kScanner4); }

void print_frame(const Frame& frame, std::ostream* os) {
    *os << frame.size() << " bytes:";
    for (uint8_t b : frame) *os << ' ' << std::hex << std::setw(2) << std::setfill('0') << +b;
    *os << std::dec;
}

// Exactly one entry of technique[] holds n (none when tech is empty), zero everywhere else.
void expect_techniques(const ps_src_stats& s, std::optional<ps_technique> tech, uint32_t n) {
    for (unsigned t = 0; t < PS_TECH_COUNT; ++t)
        EXPECT_EQ(s.technique[t], tech && *tech == t ? n : 0u)
            << "technique[" << technique_name(t) << "] (expected "
            << (tech ? technique_name(*tech) : std::string_view("none")) << ")";
}

void expect_udp_probes(const ps_src_stats& s, std::optional<ps_udp_probe> kind, uint32_t n) {
    for (unsigned k = 0; k < PS_UDP_PROBE_COUNT; ++k)
        EXPECT_EQ(s.udp_probe[k], kind && *kind == k ? n : 0u)
            << "udp_probe[" << udp_probe_name(k) << "] (expected "
            << (kind ? udp_probe_name(*kind) : std::string_view("none")) << ")";
}

// ---------------------------------------------------------------- techniques

struct TechniqueCase {
    std::string name;  // gtest identifier
    std::string what;
    Frame frame;
    ps_class cls;                      // the per-source class it counts in
    std::optional<ps_technique> tech;  // none: backscatter
    Family family;
};

void PrintTo(const TechniqueCase& c, std::ostream* os) {
    *os << c.name << " (" << c.what << ", ";
    print_frame(c.frame, os);
    *os << ")";
}

struct TechRow {
    const char* name;
    const char* what;
    uint8_t flags;
    ps_class cls;
    std::optional<ps_technique> tech;
};

// Plain probes from a raw-packet tool: no options, no payload, no DF.
const TechRow kTechRows[] = {
    {"syn", "SYN", SYN, PS_CLASS_TCP_SYN, PS_TECH_SYN},
    {"syn_ece_cwr", "ECN-setup SYN: SYN+ECE+CWR", SYN | ECE | CWR, PS_CLASS_TCP_SYN,
     PS_TECH_SYN_ECN},
    {"syn_ece", "SYN+ECE without CWR is no ECN setup", SYN | ECE, PS_CLASS_TCP_SYN, PS_TECH_SYN},
    {"syn_cwr", "SYN+CWR without ECE is no ECN setup", SYN | CWR, PS_CLASS_TCP_SYN, PS_TECH_SYN},
    {"null", "NULL scan: no flag", 0, PS_CLASS_TCP_ODD, PS_TECH_NULL},
    {"fin", "FIN scan", FIN, PS_CLASS_TCP_ODD, PS_TECH_FIN},
    {"fin_ece", "FIN with ECE: ECE/CWR do not change the technique", FIN | ECE, PS_CLASS_TCP_ODD,
     PS_TECH_FIN},
    {"xmas", "Xmas: FIN+PSH+URG", FIN | PSH | URG, PS_CLASS_TCP_ODD, PS_TECH_XMAS},
    {"xmas_ece_cwr", "Xmas with ECE+CWR", FIN | PSH | URG | ECE | CWR, PS_CLASS_TCP_ODD,
     PS_TECH_XMAS},
    {"syn_fin", "SYN+FIN", SYN | FIN, PS_CLASS_TCP_ODD, PS_TECH_SYN_FIN},
    {"syn_fin_psh", "SYN+FIN+PSH", SYN | FIN | PSH, PS_CLASS_TCP_ODD, PS_TECH_SYN_FIN},
    {"syn_fin_rst", "SYN+FIN+RST: SYN+FIN wins over SYN+RST", SYN | FIN | RST, PS_CLASS_TCP_ODD,
     PS_TECH_SYN_FIN},
    {"syn_rst", "SYN+RST", SYN | RST, PS_CLASS_TCP_ODD, PS_TECH_SYN_RST},
    {"syn_rst_ack", "SYN+RST+ACK", SYN | RST | ACK, PS_CLASS_TCP_ODD, PS_TECH_SYN_RST},
    {"all_flags", "FIN+SYN+RST+PSH+ACK+URG (0x3f)", 0x3f, PS_CLASS_TCP_ODD, PS_TECH_ALL_FLAGS},
    {"all_eight_flags", "every bit (0xff)", 0xff, PS_CLASS_TCP_ODD, PS_TECH_ALL_FLAGS},
    {"psh", "PSH alone", PSH, PS_CLASS_TCP_ODD, PS_TECH_OTHER_ODD},
    {"urg", "URG alone", URG, PS_CLASS_TCP_ODD, PS_TECH_OTHER_ODD},
    {"syn_psh", "SYN+PSH", SYN | PSH, PS_CLASS_TCP_ODD, PS_TECH_OTHER_ODD},
    {"rst_fin", "RST+FIN", RST | FIN, PS_CLASS_TCP_ODD, PS_TECH_OTHER_ODD},
    // Backscatter: tracked per source, but no technique.
    {"synack_backscatter", "SYN-ACK", SYN | ACK, PS_CLASS_TCP_SYNACK, std::nullopt},
    {"rst_backscatter", "RST", RST, PS_CLASS_TCP_RST, std::nullopt},
    {"rst_ack_backscatter", "RST+ACK", RST | ACK, PS_CLASS_TCP_RST, std::nullopt},
};

std::vector<TechniqueCase> technique_cases() {
    std::vector<TechniqueCase> out;
    for (Family fam : {Family::V4, Family::V6}) {
        const std::string p = prefix_of(fam);
        for (const auto& r : kTechRows) {
            // Backscatter comes from the probed port back to the scanner's.
            const bool reply = !r.tech.has_value();
            out.push_back({p + r.name, r.what,
                           frame_of(fam).tcp(reply ? kDport : kScannerPort,
                                             reply ? kScannerPort : kDport, r.flags),
                           r.cls, r.tech, fam});
        }
        // nmap -sA / -sW / -sM: bare segments; IPv6 has no DF, so the window must be 1024.
        PacketBuilder ack = frame_of(fam).tcp(kScannerPort, kDport, ACK);
        PacketBuilder fin_ack = frame_of(fam).tcp(kScannerPort, kDport, FIN | ACK);
        if (fam == Family::V6) {
            ack.window(1024);
            fin_ack.window(1024);
        }
        out.push_back({p + "ack_probe", "bare ACK: no DF, no options, no payload", ack,
                       PS_CLASS_TCP_ACK_PROBE, PS_TECH_ACK, fam});
        out.push_back({p + "fin_ack_probe", "bare FIN+ACK (Maimon)", fin_ack,
                       PS_CLASS_TCP_ACK_PROBE, PS_TECH_MAIMON, fam});
        out.push_back({p + "udp", "UDP datagram, 16 bytes of payload",
                       frame_of(fam).udp(kScannerPort, 9999).payload(16), PS_CLASS_UDP, PS_TECH_UDP,
                       fam});
        out.push_back({p + "udp_empty", "UDP header only", frame_of(fam).udp(kScannerPort, 9999),
                       PS_CLASS_UDP, PS_TECH_UDP, fam});
    }
    out.push_back({"v4_icmp_echo", "echo request, type 8", v4_frame().icmp(8, 0).payload(8),
                   PS_CLASS_ICMP_ECHO, PS_TECH_ICMP_ECHO, Family::V4});
    out.push_back({"v6_icmp_echo", "echo request, type 128", v6_frame().icmp6(128, 0).payload(8),
                   PS_CLASS_ICMP_ECHO, PS_TECH_ICMP_ECHO, Family::V6});
    out.push_back({"v4_icmp_unreachable_backscatter", "port unreachable, type 3 code 3",
                   v4_frame().icmp(3, 3).payload(28), PS_CLASS_ICMP_ERROR, std::nullopt,
                   Family::V4});
    out.push_back({"v4_icmp_time_exceeded_backscatter", "type 11",
                   v4_frame().icmp(11, 0).payload(28), PS_CLASS_ICMP_ERROR, std::nullopt,
                   Family::V4});
    out.push_back({"v6_icmp_unreachable_backscatter", "type 1 code 4",
                   v6_frame().icmp6(1, 4).payload(48), PS_CLASS_ICMP_ERROR, std::nullopt,
                   Family::V6});
    return out;
}

class TechniqueTest : public XdpProgramTest, public ::testing::WithParamInterface<TechniqueCase> {};

TEST_P(TechniqueTest, CountsExactlyOneTechnique) {
    const TechniqueCase& c = GetParam();
    for (uint32_t i = 0; i < kCopies; ++i) ASSERT_NO_FATAL_FAILURE(send(c.frame, 1000 + i));

    expect_only_class(totals(), c.cls, kCopies);
    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), 1u);
    const SrcKey key = scanner_of(c.family);
    ASSERT_TRUE(sources.contains(key)) << key_text(sources.begin()->first);
    const ps_src_stats& s = sources.at(key);
    expect_src_pkts(s, {{c.cls, kCopies}});
    expect_techniques(s, c.tech, kCopies);
    // Only UDP looks at payload kinds.
    if (c.cls == PS_CLASS_UDP)
        expect_udp_probes(s, PS_UDP_OTHER, kCopies);
    else
        expect_udp_probes(s, std::nullopt, 0);
}

INSTANTIATE_TEST_SUITE_P(Table, TechniqueTest, ::testing::ValuesIn(technique_cases()),
                         [](const auto& info) { return info.param.name; });

// Established traffic leaves on the fast path: no source entry, so no technique either.
TEST_F(XdpProgramTest, EstablishedSegmentsHaveNoTechnique) {
    ASSERT_NO_FATAL_FAILURE(send(v4_frame()
                                     .dont_fragment()
                                     .tcp(kScannerPort, kDport, ACK)
                                     .tcp_options(tcpopt::linux_established()),
                                 1));
    ASSERT_NO_FATAL_FAILURE(
        send(v4_frame().dont_fragment().tcp(kScannerPort, kDport, FIN | ACK), 2));
    ASSERT_NO_FATAL_FAILURE(send(v6_frame().tcp(kScannerPort, kDport, ACK).window(64240), 3));
    expect_only_class(totals(), PS_CLASS_TCP_OTHER, 3);
    EXPECT_TRUE(drain_sources().empty());
}

// Every technique row from one source in one load: technique[] adds up per row, and its sum is
// the number of probes (backscatter excluded).
TEST_F(XdpProgramTest, TechniquesOfOneSourceAddUp) {
    std::array<uint32_t, PS_TECH_COUNT> expected{};
    std::map<ps_class, uint32_t> pkts;
    uint64_t clock = 1;
    uint32_t probes = 0;
    for (const auto& c : technique_cases()) {
        if (c.family != Family::V4) continue;
        SCOPED_TRACE(c.name);
        ASSERT_NO_FATAL_FAILURE(send(c.frame, clock++));
        ++pkts[c.cls];
        if (c.tech) {
            ++expected[*c.tech];
            ++probes;
        }
    }
    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    expect_src_pkts(s, pkts);
    uint32_t sum = 0;
    for (unsigned t = 0; t < PS_TECH_COUNT; ++t) {
        EXPECT_EQ(s.technique[t], expected[t]) << technique_name(t);
        sum += s.technique[t];
    }
    uint32_t probe_pkts = 0;
    for (unsigned cls = 0; cls < PS_PROBE_CLASS_COUNT; ++cls) probe_pkts += s.pkts[cls];
    EXPECT_EQ(sum, probes);
    EXPECT_EQ(sum, probe_pkts) << "every probe has exactly one technique";
}

// ---------------------------------------------------------------- UDP payload kinds

using Bytes = std::vector<uint8_t>;

Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}
Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }
Bytes cut(Bytes b, std::size_t n) {
    b.resize(n);
    return b;
}

// DNS: a 12-byte header (one question, RD set), then the question.
Bytes dns_query(const Bytes& qname, uint16_t qtype, uint16_t qclass) {
    const Bytes header = {0x1a, 0x2b, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    return header + qname +
           Bytes{uint8_t(qtype >> 8), uint8_t(qtype), uint8_t(qclass >> 8), uint8_t(qclass)};
}
const Bytes kVersionBind = Bytes{7} + text("version") + Bytes{4} + text("bind") + Bytes{0};
const Bytes kExampleCom = Bytes{7} + text("example") + Bytes{3} + text("com") + Bytes{0};
// dig @host version.bind chaos txt
Bytes dns_version_bind() { return dns_query(kVersionBind, 16, 3); }

// ntpdc -c monlist: mode 7 (version 2), implementation XNTPD (3), request MON_GETLIST_1 (42),
// then the rest of a 48-byte request of zeros.
Bytes ntp_monlist() { return Bytes{0x17, 0x00, 0x03, 0x2a} + Bytes(44, 0); }
// An NTPv4 client request: LI 0, version 4, mode 3.
Bytes ntp_client() { return Bytes{0x23, 0x00, 0x06, 0xec} + Bytes(44, 0); }

Bytes ssdp(std::string_view method) {
    return text(method) +
           text(
               " * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
               "MX: 1\r\nST: ssdp:all\r\n\r\n");
}

// LDAPMessage { messageID 1, searchRequest { "", baseObject, neverDerefAliases, 0, 0, FALSE,
// (objectClass=*), {} } }: the rootDSE query every CLDAP reflector scan sends.
Bytes cldap_search() {
    const Bytes search = Bytes{0x04, 0x00, 0x0a, 0x01, 0x00, 0x0a, 0x01, 0x00, 0x02, 0x01,
                               0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00, 0x87, 0x0b} +
                         text("objectClass") + Bytes{0x30, 0x00};
    const Bytes op = Bytes{0x63, uint8_t(search.size())} + search;
    const Bytes msg = Bytes{0x02, 0x01, 0x01} + op;
    return Bytes{0x30, uint8_t(msg.size())} + msg;
}

// The memcached UDP frame header: request id, sequence 0, one datagram, reserved.
Bytes memcached(std::string_view command) {
    return Bytes{0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00} + text(command);
}

// SNMP GetRequest for sysDescr.0. version: 0 for v1, 1 for v2c. long_length: the message
// length in the one-byte long form (0x81 LL), which BER allows.
Bytes snmp_get(uint8_t version, std::string_view community, bool long_length = false) {
    const Bytes varbind =
        Bytes{0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00};
    const Bytes varbinds =
        Bytes{0x30, uint8_t(varbind.size() + 2), 0x30, uint8_t(varbind.size())} + varbind;
    const Bytes pdu_body =
        Bytes{0x02, 0x04, 0x12, 0x34, 0x56, 0x78, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00} + varbinds;
    const Bytes pdu = Bytes{0xa0, uint8_t(pdu_body.size())} + pdu_body;
    const Bytes msg =
        Bytes{0x02, 0x01, version, 0x04, uint8_t(community.size())} + text(community) + pdu;
    if (long_length) return Bytes{0x30, 0x81, uint8_t(msg.size())} + msg;
    return Bytes{0x30, uint8_t(msg.size())} + msg;
}

// NetBIOS name query (nbtstat -A): header, the first-level encoding of a 16-byte name (each
// nibble + 'A'), then qtype and qclass IN.
Bytes netbios_query(const std::string& name16, uint16_t qtype) {
    Bytes out = {0x82, 0x28, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20};
    for (char ch : name16) {
        out.push_back(static_cast<uint8_t>('A' + ((static_cast<uint8_t>(ch) >> 4) & 0xf)));
        out.push_back(static_cast<uint8_t>('A' + (static_cast<uint8_t>(ch) & 0xf)));
    }
    return out + Bytes{0x00, uint8_t(qtype >> 8), uint8_t(qtype), 0x00, 0x01};
}
// "*" padded with NULs: 0x20 'C' 'K' then 30 'A'.
const std::string kNbWildcard("*\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
Bytes netbios_nbstat() { return netbios_query(kNbWildcard, 0x0021); }

// A BitTorrent DHT ping: d1:ad2:id20:<20-byte node id>e1:q4:ping1:t2:aa1:y1:qe
Bytes dht_ping(std::string_view dict_key = "a") {
    return text("d1:") + text(dict_key) + text("d2:id20:") + text("abcdefghij0123456789") +
           text("e1:q4:ping1:t2:aa1:y1:qe");
}

struct UdpCase {
    std::string name;
    std::string what;
    Frame frame;
    ps_udp_probe kind;
    Family family;
};

void PrintTo(const UdpCase& c, std::ostream* os) {
    *os << c.name << " (" << c.what << ", ";
    print_frame(c.frame, os);
    *os << ")";
}

struct UdpRow {
    const char* name;
    const char* what;
    uint16_t dport;
    Bytes payload;
    ps_udp_probe kind;
};

std::vector<UdpRow> udp_rows() {
    const Bytes monlist = ntp_monlist();
    return {
        // --- what each kind looks like
        {"dns_version_bind", "TXT CH query for version.bind to 53", 53, dns_version_bind(),
         PS_UDP_DNS_VERSION},
        {"ntp_monlist", "mode 7 MON_GETLIST_1 to 123", 123, monlist, PS_UDP_NTP_MONLIST},
        {"ntp_monlist_4_bytes", "just 17 00 03 2a", 123, cut(monlist, 4), PS_UDP_NTP_MONLIST},
        {"ssdp_msearch", "M-SEARCH to 1900", 1900, ssdp("M-SEARCH"), PS_UDP_SSDP},
        {"cldap_search", "rootDSE searchRequest to 389", 389, cldap_search(), PS_UDP_CLDAP},
        {"memcached_stats", "frame header + stats", 11211, memcached("stats\r\n"),
         PS_UDP_MEMCACHED},
        {"memcached_version", "frame header + version", 11211, memcached("version\r\n"),
         PS_UDP_MEMCACHED},
        {"chargen", "one byte to 19", 19, Bytes{0x01}, PS_UDP_CHARGEN},
        {"chargen_empty", "no payload to 19", 19, Bytes{}, PS_UDP_CHARGEN},
        {"chargen_dns_lookalike", "a DNS query to 19 is still chargen", 19,
         dns_query(kExampleCom, 1, 1), PS_UDP_CHARGEN},
        {"snmp_v1_public", "v1 GetRequest, community public, short length", 161,
         snmp_get(0, "public"), PS_UDP_SNMP_PUBLIC},
        {"snmp_v2c_public", "v2c GetRequest, community public, short length", 161,
         snmp_get(1, "public"), PS_UDP_SNMP_PUBLIC},
        {"snmp_v2c_public_long_length", "v2c GetRequest, community public, 30 81 LL", 161,
         snmp_get(1, "public", true), PS_UDP_SNMP_PUBLIC},
        {"netbios_nbstat", "NBSTAT query for * to 137", 137, netbios_nbstat(),
         PS_UDP_NETBIOS_NBSTAT},
        {"dht_6881", "DHT ping to 6881", 6881, dht_ping(), PS_UDP_DHT_KRPC},
        {"dht_4776", "DHT ping to an arbitrary port", 4776, dht_ping(), PS_UDP_DHT_KRPC},
        {"dht_to_53", "DHT ping to 53: the payload decides before the port", 53, dht_ping(),
         PS_UDP_DHT_KRPC},
        {"dht_12_bytes", "exactly d1:ad2:id20:", 6881, text("d1:ad2:id20:"), PS_UDP_DHT_KRPC},

        // --- the right port, the wrong payload
        {"dns_a_example_com", "A IN query for example.com to 53", 53, dns_query(kExampleCom, 1, 1),
         PS_UDP_OTHER},
        {"dns_version_bind_no_root", "version.bind without its terminating label", 53,
         cut(dns_version_bind(), 25), PS_UDP_OTHER},
        {"dns_header_only", "12-byte DNS header to 53", 53, cut(dns_version_bind(), 12),
         PS_UDP_OTHER},
        {"dns_version_server", "version.server, not version.bind", 53,
         dns_query(Bytes{7} + text("version") + Bytes{6} + text("server") + Bytes{0}, 16, 3),
         PS_UDP_OTHER},
        {"dns_version_kind",
         "\\7versionKind\\0: what \"\\x04bind\" (hex escape eating the b) matched", 53,
         dns_query(Bytes{7} + text("versionKind") + Bytes{0}, 16, 3), PS_UDP_OTHER},
        {"ntp_client", "mode 3 client request to 123", 123, ntp_client(), PS_UDP_OTHER},
        {"ntp_monlist_3_bytes", "17 00 03 without the request code", 123, cut(monlist, 3),
         PS_UDP_OTHER},
        {"ntp_mode7_peer_list", "mode 7 PEER_LIST (0x00) to 123", 123,
         Bytes{0x17, 0x00, 0x03, 0x00} + Bytes(44, 0), PS_UDP_OTHER},
        {"ssdp_notify", "NOTIFY to 1900", 1900, ssdp("NOTIFY"), PS_UDP_OTHER},
        {"ssdp_7_bytes", "M-SEARC", 1900, text("M-SEARC"), PS_UDP_OTHER},
        {"cldap_not_sequence", "first byte 0x31 to 389", 389, Bytes{0x31} + cut(cldap_search(), 20),
         PS_UDP_OTHER},
        {"cldap_empty", "no payload to 389", 389, Bytes{}, PS_UDP_OTHER},
        {"memcached_get", "frame header + get foo", 11211, memcached("get foo\r\n"), PS_UDP_OTHER},
        {"memcached_no_frame_header", "stats without the 8-byte frame header", 11211,
         text("stats\r\n"), PS_UDP_OTHER},
        {"memcached_stat", "frame header + stat (4 of 5 bytes)", 11211, memcached("stat"),
         PS_UDP_OTHER},
        {"memcached_versio", "frame header + versio (6 of 7 bytes)", 11211, memcached("versio"),
         PS_UDP_OTHER},
        {"snmp_private", "v2c GetRequest, community private", 161, snmp_get(1, "private"),
         PS_UDP_OTHER},
        {"snmp_publicx", "community publicx: length 7", 161, snmp_get(1, "publicx"), PS_UDP_OTHER},
        {"snmp_private_long_length", "community private, 30 81 LL", 161,
         snmp_get(1, "private", true), PS_UDP_OTHER},
        {"snmp_cut_in_community", "cut after 'pub'", 161, cut(snmp_get(1, "public"), 10),
         PS_UDP_OTHER},
        {"netbios_nb_query", "NB (0x20) query for * to 137", 137,
         netbios_query(kNbWildcard, 0x0020), PS_UDP_OTHER},
        {"netbios_nbstat_other_name", "NBSTAT for WORKGROUP", 137,
         netbios_query(std::string("WORKGROUP      \x00", 16), 0x0021), PS_UDP_OTHER},
        {"netbios_nbstat_cut", "NBSTAT cut before the low qtype byte", 137,
         cut(netbios_nbstat(), 47), PS_UDP_OTHER},
        {"dht_response", "d1:rd2:id20: (a reply)", 6881, dht_ping("r"), PS_UDP_OTHER},
        {"dht_11_bytes", "d1:ad2:id20 without its colon", 6881, text("d1:ad2:id20"), PS_UDP_OTHER},

        // --- the right payload, the wrong port
        {"monlist_to_53", "monlist bytes to 53", 53, monlist, PS_UDP_OTHER},
        {"version_bind_to_5353", "version.bind to mDNS", 5353, dns_version_bind(), PS_UDP_OTHER},
        {"msearch_to_80", "M-SEARCH to 80", 80, ssdp("M-SEARCH"), PS_UDP_OTHER},
        {"snmp_public_to_162", "GetRequest public to the trap port", 162, snmp_get(1, "public"),
         PS_UDP_OTHER},
        {"cldap_to_636", "searchRequest to 636", 636, cldap_search(), PS_UDP_OTHER},
        {"memcached_stats_to_11212", "stats to 11212", 11212, memcached("stats\r\n"), PS_UDP_OTHER},
        {"nbstat_to_138", "NBSTAT to the datagram port", 138, netbios_nbstat(), PS_UDP_OTHER},
    };
}

std::vector<UdpCase> udp_cases() {
    std::vector<UdpCase> out;
    for (Family fam : {Family::V4, Family::V6})
        for (const auto& r : udp_rows())
            out.push_back({prefix_of(fam) + std::string(r.name), r.what,
                           frame_of(fam).udp(kScannerPort, r.dport).payload(r.payload), r.kind,
                           fam});
    // Where the UDP header sits must not matter.
    out.push_back({"v4_ip_options_dns_version_bind", "behind 8 bytes of IPv4 options",
                   v4_frame()
                       .ip_options({1, 1, 1, 1, 1, 1, 1, 1})
                       .udp(kScannerPort, 53)
                       .payload(dns_version_bind()),
                   PS_UDP_DNS_VERSION, Family::V4});
    out.push_back({"v4_ip_options_snmp_public", "behind 8 bytes of IPv4 options",
                   v4_frame()
                       .ip_options({1, 1, 1, 1, 1, 1, 1, 1})
                       .udp(kScannerPort, 161)
                       .payload(snmp_get(1, "public")),
                   PS_UDP_SNMP_PUBLIC, Family::V4});
    out.push_back({"v6_hop_by_hop_netbios_nbstat", "behind a hop-by-hop header",
                   v6_frame().hop_by_hop().udp(kScannerPort, 137).payload(netbios_nbstat()),
                   PS_UDP_NETBIOS_NBSTAT, Family::V6});
    out.push_back({"v6_fragment_0_ntp_monlist", "behind a first fragment header",
                   v6_frame().ipv6_fragment(0, true).udp(kScannerPort, 123).payload(ntp_monlist()),
                   PS_UDP_NTP_MONLIST, Family::V6});
    out.push_back({"v4_vlan_memcached_stats", "behind an 802.1Q tag",
                   PacketBuilder()
                       .eth()
                       .vlan(100)
                       .ipv4(kScanner4, kTarget4)
                       .udp(kScannerPort, 11211)
                       .payload(memcached("stats\r\n")),
                   PS_UDP_MEMCACHED, Family::V4});
    out.push_back({"v6_qinq_ssdp", "behind 802.1ad + 802.1Q tags",
                   PacketBuilder()
                       .eth()
                       .vlan(1, 0x88a8)
                       .vlan(2)
                       .ipv6(kScanner6, kTarget6)
                       .udp(kScannerPort, 1900)
                       .payload(ssdp("M-SEARCH")),
                   PS_UDP_SSDP, Family::V6});
    // A datagram cut short in the frame: the rule must not read past the end.
    out.push_back(
        {"v4_nbstat_frame_cut", "NBSTAT frame cut before the low qtype byte (UDP length says 58)",
         v4_frame().udp(kScannerPort, 137).payload(netbios_nbstat()).truncate(14 + 20 + 8 + 47),
         PS_UDP_OTHER, Family::V4});
    out.push_back({"v6_memcached_frame_cut", "stats frame cut after stat (UDP length says 15)",
                   v6_frame()
                       .udp(kScannerPort, 11211)
                       .payload(memcached("stats\r\n"))
                       .truncate(14 + 40 + 8 + 12),
                   PS_UDP_OTHER, Family::V6});
    return out;
}

class UdpProbeTest : public XdpProgramTest, public ::testing::WithParamInterface<UdpCase> {};

TEST_P(UdpProbeTest, CountsExactlyOnePayloadKind) {
    const UdpCase& c = GetParam();
    for (uint32_t i = 0; i < kCopies; ++i) ASSERT_NO_FATAL_FAILURE(send(c.frame, 1000 + i));

    expect_only_class(totals(), PS_CLASS_UDP, kCopies);
    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), 1u);
    const SrcKey key = scanner_of(c.family);
    ASSERT_TRUE(sources.contains(key)) << key_text(sources.begin()->first);
    const ps_src_stats& s = sources.at(key);
    expect_src_pkts(s, {{PS_CLASS_UDP, kCopies}});
    expect_techniques(s, PS_TECH_UDP, kCopies);
    expect_udp_probes(s, c.kind, kCopies);
}

INSTANTIATE_TEST_SUITE_P(Table, UdpProbeTest, ::testing::ValuesIn(udp_cases()),
                         [](const auto& info) { return info.param.name; });

// One source sends every UDP row once: udp_probe[] adds up per kind and sums to pkts[UDP].
TEST_F(XdpProgramTest, UdpProbeKindsOfOneSourceAddUp) {
    std::array<uint32_t, PS_UDP_PROBE_COUNT> expected{};
    uint32_t sent = 0;
    uint64_t clock = 1;
    for (const auto& c : udp_cases()) {
        if (c.family != Family::V4) continue;
        SCOPED_TRACE(c.name);
        ASSERT_NO_FATAL_FAILURE(send(c.frame, clock++));
        ++expected[c.kind];
        ++sent;
    }
    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    expect_src_pkts(s, {{PS_CLASS_UDP, sent}});
    expect_techniques(s, PS_TECH_UDP, sent);
    uint32_t sum = 0;
    for (unsigned k = 0; k < PS_UDP_PROBE_COUNT; ++k) {
        EXPECT_EQ(s.udp_probe[k], expected[k]) << udp_probe_name(k);
        sum += s.udp_probe[k];
    }
    EXPECT_EQ(sum, sent) << "every UDP probe has exactly one payload kind";
}

// TCP to a reflector port is no UDP probe: udp_probe[] stays zero whatever the payload.
TEST_F(XdpProgramTest, TcpToReflectorPortsHasNoUdpProbeKind) {
    uint64_t clock = 1;
    for (uint16_t port : {19, 53, 123, 137, 161, 389, 1900, 11211})
        ASSERT_NO_FATAL_FAILURE(
            send(v4_frame().tcp(kScannerPort, port, SYN).payload(ntp_monlist()), clock++));
    const ps_src_stats s = drain_sources().at(v4_key(kScanner4));
    expect_techniques(s, PS_TECH_SYN, 8);
    expect_udp_probes(s, std::nullopt, 0);
}

}  // namespace
}  // namespace probescope::test
