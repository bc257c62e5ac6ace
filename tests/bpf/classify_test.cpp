// The classification table: one frame per row, its class, and its exact effect on every map.
#include <array>
#include <cmath>
#include <iomanip>
#include <optional>
#include <ostream>

#include "hll.h"
#include "names.h"
#include "xdp_fixture.h"

namespace probescope::test {
namespace {

constexpr uint8_t FIN = PS_TCP_FIN, SYN = PS_TCP_SYN, RST = PS_TCP_RST, PSH = PS_TCP_PSH,
                  ACK = PS_TCP_ACK, URG = PS_TCP_URG, ECE = PS_TCP_ECE, CWR = PS_TCP_CWR;

// Whose source entry a tracked frame creates (and whose destination it probes).
enum class Family { V4, V6, None };

struct ClassCase {
    std::string name;  // gtest identifier
    std::string what;
    Frame frame;
    ps_class cls;
    std::optional<uint8_t> tcp_flags{};  // the tcp_flags[] entry it counts in, if any
    Family family = Family::None;        // for classes < PS_SRC_CLASS_COUNT
    uint32_t port_item = 0;              // port slot it claims (class < PS_SRC_CLASS_COUNT)
};

void PrintTo(const ClassCase& c, std::ostream* os) {
    *os << c.name << " (" << c.what << ", " << c.frame.size() << " bytes:";
    for (uint8_t b : c.frame) *os << ' ' << std::hex << std::setw(2) << std::setfill('0') << +b;
    *os << std::dec << ")";
}

uint32_t tcp_port(uint16_t port) { return PS_PORT_SLOT(PS_PORT_PROTO_TCP, port); }
uint32_t udp_port(uint16_t port) { return PS_PORT_SLOT(PS_PORT_PROTO_UDP, port); }
const uint32_t kIcmpSlot = PS_PORT_SLOT(PS_PORT_SLOT_ICMP, 0);

PacketBuilder frame_of(Family f) { return f == Family::V6 ? v6_frame() : v4_frame(); }
const char* prefix_of(Family f) { return f == Family::V6 ? "v6_" : "v4_"; }

constexpr uint16_t kDport = 80;

// Every flag combination the classifier distinguishes, each sent over IPv4 and IPv6.
struct FlagRow {
    const char* name;
    const char* what;
    uint8_t flags;
    ps_class cls;
    std::size_t payload = 0;
};
const FlagRow kFlagRows[] = {
    {"tcp_syn", "SYN", SYN, PS_CLASS_TCP_SYN},
    {"tcp_syn_ece_cwr", "SYN with ECN setup bits is still a SYN", SYN | ECE | CWR,
     PS_CLASS_TCP_SYN},
    {"tcp_synack", "SYN-ACK", SYN | ACK, PS_CLASS_TCP_SYNACK},
    {"tcp_rst", "RST", RST, PS_CLASS_TCP_RST},
    {"tcp_rst_ack", "RST+ACK", RST | ACK, PS_CLASS_TCP_RST},
    {"tcp_null", "NULL scan: no flag", 0, PS_CLASS_TCP_ODD},
    {"tcp_fin", "FIN scan", FIN, PS_CLASS_TCP_ODD},
    {"tcp_xmas", "Xmas: FIN+PSH+URG", FIN | PSH | URG, PS_CLASS_TCP_ODD},
    {"tcp_syn_fin", "SYN+FIN", SYN | FIN, PS_CLASS_TCP_ODD},
    {"tcp_syn_rst", "SYN+RST", SYN | RST, PS_CLASS_TCP_ODD},
    {"tcp_all_flags", "all six classic flags (0x3f)", 0x3f, PS_CLASS_TCP_ODD},
    {"tcp_psh", "PSH alone", PSH, PS_CLASS_TCP_ODD},
    {"tcp_urg", "URG alone", URG, PS_CLASS_TCP_ODD},
    {"tcp_ack", "established ACK", ACK, PS_CLASS_TCP_OTHER},
    {"tcp_psh_ack_data", "PSH+ACK with 100 bytes of data", PSH | ACK, PS_CLASS_TCP_OTHER, 100},
    {"tcp_fin_ack", "FIN+ACK close", FIN | ACK, PS_CLASS_TCP_OTHER},
};

// A segment of an established Linux flow: DF on IPv4, NOP NOP timestamps on both.
PacketBuilder established(Family fam, uint8_t flags) {
    PacketBuilder b = frame_of(fam);
    if (fam == Family::V4) b.dont_fragment();
    b.tcp(kScannerPort, kDport, flags).ack_seq(0x10000).tcp_options(tcpopt::linux_established());
    return b;
}

std::vector<ClassCase> flag_cases() {
    std::vector<ClassCase> out;
    for (Family fam : {Family::V4, Family::V6}) {
        for (const auto& r : kFlagRows) {
            PacketBuilder b = frame_of(fam);
            if (r.cls == PS_CLASS_TCP_OTHER)
                b = established(fam, r.flags);
            else
                b.tcp(kScannerPort, kDport, r.flags);
            if (r.payload) b.payload(r.payload);
            const bool tracked = r.cls < PS_SRC_CLASS_COUNT;
            out.push_back({std::string(prefix_of(fam)) + r.name, r.what, b, r.cls, r.flags,
                           tracked ? fam : Family::None, tracked ? tcp_port(kDport) : 0});
        }
    }
    return out;
}

std::vector<ClassCase> other_cases() {
    using F = Family;
    const auto V4 = F::V4, V6 = F::V6;
    const Frame arp_body(28, 0x11);
    Frame record_route(19, 0);  // type 7, length 19, pointer 4, four empty address slots
    record_route[0] = 7, record_route[1] = 19, record_route[2] = 4;
    return {
        // --- bare ACK / FIN+ACK probes (nmap -sA, -sW, -sM) versus established segments
        {"v4_ack_probe", "bare ACK: no options, no payload, no DF",
         v4_frame().tcp(kScannerPort, 80, ACK), PS_CLASS_TCP_ACK_PROBE, ACK, V4, tcp_port(80)},
        {"v4_fin_ack_probe", "bare FIN+ACK (Maimon): no options, no payload, no DF",
         v4_frame().tcp(kScannerPort, 80, FIN | ACK), PS_CLASS_TCP_ACK_PROBE, FIN | ACK, V4,
         tcp_port(80)},
        {"v4_ack_probe_ip_options", "bare ACK behind IPv4 options",
         v4_frame().ip_options({1, 1, 1, 1}).tcp(kScannerPort, 80, ACK), PS_CLASS_TCP_ACK_PROBE,
         ACK, V4, tcp_port(80)},
        {"v6_ack_probe", "bare ACK, window 1024",
         v6_frame().tcp(kScannerPort, 80, ACK).window(1024), PS_CLASS_TCP_ACK_PROBE, ACK, V6,
         tcp_port(80)},
        {"v6_fin_ack_probe", "bare FIN+ACK, window 1024",
         v6_frame().tcp(kScannerPort, 80, FIN | ACK).window(1024), PS_CLASS_TCP_ACK_PROBE,
         FIN | ACK, V6, tcp_port(80)},
        {"v6_ack_probe_after_ext", "bare ACK, window 1024, behind a hop-by-hop header",
         v6_frame().hop_by_hop().tcp(kScannerPort, 80, ACK).window(1024), PS_CLASS_TCP_ACK_PROBE,
         ACK, V6, tcp_port(80)},
        {"v4_bare_ack_with_df", "bare ACK with DF: a stack's own segment",
         v4_frame().dont_fragment().tcp(kScannerPort, 80, ACK), PS_CLASS_TCP_OTHER, ACK},
        {"v4_ack_with_payload", "ACK, no DF, 1 byte of data",
         v4_frame().tcp(kScannerPort, 80, ACK).payload(1), PS_CLASS_TCP_OTHER, ACK},
        {"v4_ack_with_options", "ACK, no DF, timestamps",
         v4_frame().tcp(kScannerPort, 80, ACK).tcp_options(tcpopt::linux_established()),
         PS_CLASS_TCP_OTHER, ACK},
        {"v4_ack_probe_padded_frame", "bare ACK padded to 60 bytes: padding is not payload",
         v4_frame().tot_len(40).tcp(kScannerPort, 80, ACK).payload(6, 0), PS_CLASS_TCP_ACK_PROBE,
         ACK, V4, tcp_port(80)},
        {"v6_bare_ack_window_64240", "bare ACK with a stack's window",
         v6_frame().tcp(kScannerPort, 80, ACK).window(64240), PS_CLASS_TCP_OTHER, ACK},
        {"v6_ack_window_1024_with_payload", "window 1024 but 1 byte of data",
         v6_frame().tcp(kScannerPort, 80, ACK).window(1024).payload(1), PS_CLASS_TCP_OTHER, ACK},

        // --- UDP and ICMP
        {"v4_udp",
         "UDP to 53",
         v4_frame().udp(kScannerPort, 53).payload(12),
         PS_CLASS_UDP,
         {},
         V4,
         udp_port(53)},
        {"v6_udp",
         "UDP to 53",
         v6_frame().udp(kScannerPort, 53).payload(12),
         PS_CLASS_UDP,
         {},
         V6,
         udp_port(53)},
        {"v4_udp_empty",
         "UDP header only",
         v4_frame().udp(kScannerPort, 161),
         PS_CLASS_UDP,
         {},
         V4,
         udp_port(161)},
        {"v4_icmp_echo",
         "echo request, type 8",
         v4_frame().icmp(8, 0),
         PS_CLASS_ICMP_ECHO,
         {},
         V4,
         kIcmpSlot},
        {"v6_icmp_echo",
         "echo request, type 128",
         v6_frame().icmp6(128, 0),
         PS_CLASS_ICMP_ECHO,
         {},
         V6,
         kIcmpSlot},
        {"v4_icmp_unreachable",
         "type 3",
         v4_frame().icmp(3, 3).payload(28),
         PS_CLASS_ICMP_ERROR,
         {},
         V4,
         kIcmpSlot},
        {"v4_icmp_time_exceeded",
         "type 11",
         v4_frame().icmp(11, 0).payload(28),
         PS_CLASS_ICMP_ERROR,
         {},
         V4,
         kIcmpSlot},
        {"v6_icmp_unreachable",
         "type 1",
         v6_frame().icmp6(1, 4).payload(48),
         PS_CLASS_ICMP_ERROR,
         {},
         V6,
         kIcmpSlot},
        {"v6_icmp_time_exceeded",
         "type 3",
         v6_frame().icmp6(3, 0).payload(48),
         PS_CLASS_ICMP_ERROR,
         {},
         V6,
         kIcmpSlot},
        {"v4_icmp_echo_reply", "type 0", v4_frame().icmp(0, 0), PS_CLASS_ICMP_OTHER},
        {"v6_icmp_echo_reply", "type 129", v6_frame().icmp6(129, 0), PS_CLASS_ICMP_OTHER},
        {"v6_icmp_neighbor_solicit", "NDP type 135", v6_frame().icmp6(135, 0).payload(16),
         PS_CLASS_ICMP_OTHER},
        {"v4_icmp_exactly_4_bytes",
         "echo request cut to its 4 fixed bytes",
         v4_frame().icmp(8, 0).truncate(14 + 20 + 4),
         PS_CLASS_ICMP_ECHO,
         {},
         V4,
         kIcmpSlot},

        // --- other L4, non-IP, fragments
        {"v4_gre", "GRE (47)", v4_frame().protocol(47).payload({0, 0, 0x08, 0x00}),
         PS_CLASS_OTHER_IP},
        {"v6_gre", "GRE (47)", v6_frame().protocol(47).payload({0, 0, 0x08, 0x00}),
         PS_CLASS_OTHER_IP},
        {"v6_no_next_header", "next header 59", v6_frame(), PS_CLASS_OTHER_IP},
        {"arp", "ARP request", PacketBuilder().eth().ethertype(0x0806).payload(arp_body),
         PS_CLASS_NON_IP},
        {"lldp", "LLDP", PacketBuilder().eth().ethertype(0x88cc).payload(32), PS_CLASS_NON_IP},
        {"v4_fragment", "non-first fragment (offset 185*8) whose payload looks like a SYN",
         v4_frame().fragment(185, false).tcp(kScannerPort, 80, SYN), PS_CLASS_FRAGMENT},
        {"v4_middle_fragment", "MF set and offset > 0",
         v4_frame().fragment(1, true).udp(kScannerPort, 53), PS_CLASS_FRAGMENT},
        {"v6_fragment", "fragment header, offset 185*8, payload looks like a SYN",
         v6_frame().ipv6_fragment(185, false).tcp(kScannerPort, 80, SYN), PS_CLASS_FRAGMENT},
        {"v6_fragment_after_hop_by_hop", "hop-by-hop then a non-first fragment",
         v6_frame().hop_by_hop().ipv6_fragment(1, true).udp(kScannerPort, 53), PS_CLASS_FRAGMENT},
        {"v4_first_fragment_udp",
         "MF set, offset 0: L4 is there",
         v4_frame().fragment(0, true).udp(kScannerPort, 53).payload(64),
         PS_CLASS_UDP,
         {},
         V4,
         udp_port(53)},
        {"v4_first_fragment_syn", "MF set, offset 0: L4 is there",
         v4_frame().fragment(0, true).tcp(kScannerPort, 80, SYN), PS_CLASS_TCP_SYN, SYN, V4,
         tcp_port(80)},

        // --- VLAN: classified as the inner packet
        {"v4_vlan", "one 802.1Q tag",
         PacketBuilder().eth().vlan(100).ipv4(kScanner4, kTarget4).tcp(kScannerPort, 80, SYN),
         PS_CLASS_TCP_SYN, SYN, V4, tcp_port(80)},
        {"v4_qinq", "802.1ad outer, 802.1Q inner",
         PacketBuilder()
             .eth()
             .vlan(100, 0x88a8)
             .vlan(200)
             .ipv4(kScanner4, kTarget4)
             .tcp(kScannerPort, 80, SYN),
         PS_CLASS_TCP_SYN, SYN, V4, tcp_port(80)},
        {"v6_qinq",
         "802.1ad outer, 802.1Q inner",
         PacketBuilder()
             .eth()
             .vlan(100, 0x88a8)
             .vlan(200)
             .ipv6(kScanner6, kTarget6)
             .udp(kScannerPort, 53),
         PS_CLASS_UDP,
         {},
         V6,
         udp_port(53)},
        {"v4_vlan_88a8_alone",
         "a single 802.1ad tag",
         PacketBuilder().eth().vlan(7, 0x88a8).ipv4(kScanner4, kTarget4).udp(kScannerPort, 123),
         PS_CLASS_UDP,
         {},
         V4,
         udp_port(123)},
        {"vlan_arp", "ARP behind an 802.1Q tag",
         PacketBuilder().eth().vlan(100).ethertype(0x0806).payload(arp_body), PS_CLASS_NON_IP},

        // --- IPv4 options
        {"v4_ihl_6", "4 bytes of options (NOPs)",
         v4_frame().ip_options({1, 1, 1, 1}).tcp(kScannerPort, 80, SYN), PS_CLASS_TCP_SYN, SYN, V4,
         tcp_port(80)},
        {"v4_ihl_10", "20 bytes of options (record route)",
         v4_frame().ip_options(record_route).tcp(kScannerPort, 80, SYN | FIN), PS_CLASS_TCP_ODD,
         SYN | FIN, V4, tcp_port(80)},
        {"v4_ihl_15",
         "40 bytes of options, the maximum",
         v4_frame().ip_options(std::vector<uint8_t>(40, 1)).udp(kScannerPort, 53),
         PS_CLASS_UDP,
         {},
         V4,
         udp_port(53)},
        {"v4_ihl_15_icmp",
         "40 bytes of options before ICMP",
         v4_frame().ip_options(std::vector<uint8_t>(39, 1)).icmp(8, 0),
         PS_CLASS_ICMP_ECHO,
         {},
         V4,
         kIcmpSlot},

        // --- IPv6 extension chains
        {"v6_hop_dest_routing_tcp", "hop-by-hop, dest-opts, routing, then TCP",
         v6_frame().hop_by_hop().dest_opts(1).routing(2).tcp(kScannerPort, 80, SYN),
         PS_CLASS_TCP_SYN, SYN, V6, tcp_port(80)},
        {"v6_fragment_offset_0_udp",
         "fragment header, offset 0, M set, then UDP",
         v6_frame().ipv6_fragment(0, true).udp(kScannerPort, 53).payload(100),
         PS_CLASS_UDP,
         {},
         V6,
         udp_port(53)},
        {"v6_ah_tcp", "AH (length in 4-byte words) then TCP",
         v6_frame().auth_header().tcp(kScannerPort, 80, SYN), PS_CLASS_TCP_SYN, SYN, V6,
         tcp_port(80)},
        {"v6_five_ext_icmp6",
         "hop, routing, fragment 0, AH, dest-opts, then echo request",
         v6_frame().hop_by_hop().routing().ipv6_fragment(0, false).auth_header(5).dest_opts().icmp6(
             128, 0),
         PS_CLASS_ICMP_ECHO,
         {},
         V6,
         kIcmpSlot},
        {"v6_seven_ext_tcp", "7 extension headers",
         v6_frame()
             .hop_by_hop()
             .dest_opts()
             .routing()
             .dest_opts()
             .dest_opts()
             .dest_opts()
             .dest_opts()
             .tcp(kScannerPort, 80, SYN),
         PS_CLASS_TCP_SYN, SYN, V6, tcp_port(80)},
        {"v6_eight_ext_tcp", "8 extension headers (PS_MAX_IPV6_EXT): still parsed",
         v6_frame()
             .hop_by_hop()
             .dest_opts()
             .routing()
             .dest_opts()
             .dest_opts()
             .dest_opts()
             .dest_opts()
             .dest_opts()
             .tcp(kScannerPort, 80, SYN),
         PS_CLASS_TCP_SYN, SYN, V6, tcp_port(80)},
        {"v6_nine_ext_tcp", "9 extension headers: longer than any sane chain",
         v6_frame()
             .hop_by_hop()
             .dest_opts()
             .routing()
             .dest_opts()
             .dest_opts()
             .dest_opts()
             .dest_opts()
             .dest_opts()
             .dest_opts()
             .tcp(kScannerPort, 80, SYN),
         PS_CLASS_MALFORMED},

        // --- malformed: IPv4
        {"v4_eth_only", "exactly 14 bytes, ethertype IPv4", PacketBuilder().eth().ethertype(0x0800),
         PS_CLASS_MALFORMED},
        {"v4_header_cut", "IPv4 header cut at 19 bytes",
         v4_frame().tcp(kScannerPort, 80, SYN).truncate(14 + 19), PS_CLASS_MALFORMED},
        {"v4_ihl_4", "ihl 4 (< 5)", v4_frame().ihl(4).tcp(kScannerPort, 80, SYN),
         PS_CLASS_MALFORMED},
        {"v4_ihl_0", "ihl 0", v4_frame().ihl(0).tcp(kScannerPort, 80, SYN), PS_CLASS_MALFORMED},
        {"v4_version_6", "version 6 behind the IPv4 ethertype",
         v4_frame().ip_version(6).tcp(kScannerPort, 80, SYN), PS_CLASS_MALFORMED},
        {"v4_version_0", "version 0", v4_frame().ip_version(0).tcp(kScannerPort, 80, SYN),
         PS_CLASS_MALFORMED},
        {"v4_ihl_15_beyond_frame", "ihl 15 (60 bytes) in a 28-byte packet, tot_len 1500",
         v4_frame().ihl(15).tot_len(1500).udp(kScannerPort, 53), PS_CLASS_MALFORMED},
        {"v4_ihl_6_beyond_frame", "ihl 6 but the frame ends after 20 bytes",
         v4_frame().ihl(6).tot_len(24), PS_CLASS_MALFORMED},
        {"v4_tot_len_below_header", "tot_len 19 < 20",
         v4_frame().tot_len(19).tcp(kScannerPort, 80, SYN), PS_CLASS_MALFORMED},
        {"v4_tot_len_below_options", "ihl 6 and tot_len 23",
         v4_frame().ip_options({1, 1, 1, 1}).tot_len(23).tcp(kScannerPort, 80, SYN),
         PS_CLASS_MALFORMED},
        {"v4_tcp_missing", "protocol TCP, frame ends with the IP header",
         v4_frame().tcp(kScannerPort, 80, SYN).truncate(14 + 20), PS_CLASS_MALFORMED},
        {"v4_tcp_cut", "TCP header cut at 19 bytes",
         v4_frame().tcp(kScannerPort, 80, SYN).truncate(14 + 20 + 19), PS_CLASS_MALFORMED},
        {"v4_tcp_doff_4", "data offset 4 (< 5)",
         v4_frame().tcp(kScannerPort, 80, SYN).data_offset(4), PS_CLASS_MALFORMED},
        {"v4_tcp_doff_0", "data offset 0",
         v4_frame().tcp(kScannerPort, 80, SYN).data_offset(0).payload(20), PS_CLASS_MALFORMED},
        {"v4_udp_cut", "UDP header cut at 7 bytes",
         v4_frame().udp(kScannerPort, 53).truncate(14 + 20 + 7), PS_CLASS_MALFORMED},
        {"v4_icmp_cut", "ICMP cut at 3 bytes", v4_frame().icmp(8, 0).truncate(14 + 20 + 3),
         PS_CLASS_MALFORMED},
        {"v4_icmp_missing", "protocol ICMP, no ICMP byte", v4_frame().icmp(8, 0).truncate(14 + 20),
         PS_CLASS_MALFORMED},

        // --- malformed: IPv6
        {"v6_eth_only", "exactly 14 bytes, ethertype IPv6", PacketBuilder().eth().ethertype(0x86dd),
         PS_CLASS_MALFORMED},
        {"v6_header_cut", "IPv6 header cut at 39 bytes",
         v6_frame().tcp(kScannerPort, 80, SYN).truncate(14 + 39), PS_CLASS_MALFORMED},
        {"v6_version_4", "version 4 behind the IPv6 ethertype",
         v6_frame().ip_version(4).tcp(kScannerPort, 80, SYN), PS_CLASS_MALFORMED},
        {"v6_tcp_missing", "next header TCP, frame ends with the IPv6 header",
         v6_frame().tcp(kScannerPort, 80, SYN).truncate(14 + 40), PS_CLASS_MALFORMED},
        {"v6_tcp_cut", "TCP header cut at 19 bytes",
         v6_frame().tcp(kScannerPort, 80, SYN).truncate(14 + 40 + 19), PS_CLASS_MALFORMED},
        {"v6_tcp_doff_4", "data offset 4", v6_frame().tcp(kScannerPort, 80, SYN).data_offset(4),
         PS_CLASS_MALFORMED},
        {"v6_udp_cut", "UDP header cut at 7 bytes",
         v6_frame().udp(kScannerPort, 53).truncate(14 + 40 + 7), PS_CLASS_MALFORMED},
        {"v6_icmp6_cut", "ICMPv6 cut at 3 bytes", v6_frame().icmp6(128, 0).truncate(14 + 40 + 3),
         PS_CLASS_MALFORMED},
        {"v6_ext_missing", "next header hop-by-hop, frame ends with the IPv6 header",
         v6_frame().hop_by_hop().tcp(kScannerPort, 80, SYN).truncate(14 + 40), PS_CLASS_MALFORMED},
        {"v6_ext_cut", "hop-by-hop cut at 7 bytes",
         v6_frame().hop_by_hop().tcp(kScannerPort, 80, SYN).truncate(14 + 40 + 7),
         PS_CLASS_MALFORMED},
        {"v6_ext_length_beyond_frame", "16-byte dest-opts with 12 bytes present",
         v6_frame().dest_opts(1).udp(kScannerPort, 53).truncate(14 + 40 + 12), PS_CLASS_MALFORMED},
        {"v6_fragment_header_cut", "fragment header cut at 6 bytes",
         v6_frame().ipv6_fragment(0, true).udp(kScannerPort, 53).truncate(14 + 40 + 6),
         PS_CLASS_MALFORMED},
        {"v6_ah_beyond_frame", "24-byte AH with 20 bytes present",
         v6_frame().auth_header().tcp(kScannerPort, 80, SYN).truncate(14 + 40 + 20),
         PS_CLASS_MALFORMED},
        {"v6_udp_after_ext_cut", "hop-by-hop then UDP cut at 7 bytes",
         v6_frame().hop_by_hop().udp(kScannerPort, 53).truncate(14 + 40 + 8 + 7),
         PS_CLASS_MALFORMED},

        // --- malformed: VLAN
        {"vlan_tag_cut", "802.1Q tag cut at 2 bytes",
         PacketBuilder().eth().vlan(100).ipv4(kScanner4, kTarget4).udp(1, 2).truncate(14 + 2),
         PS_CLASS_MALFORMED},
        {"qinq_inner_tag_cut", "inner tag cut at 2 bytes",
         PacketBuilder()
             .eth()
             .vlan(1, 0x88a8)
             .vlan(2)
             .ipv4(kScanner4, kTarget4)
             .udp(1, 2)
             .truncate(14 + 4 + 2),
         PS_CLASS_MALFORMED},
        {"vlan_ipv4_missing", "tag says IPv4, nothing follows",
         PacketBuilder().eth().vlan(100).ipv4(kScanner4, kTarget4).udp(1, 2).truncate(14 + 4),
         PS_CLASS_MALFORMED},
    };
}

std::vector<ClassCase> all_class_cases() {
    std::vector<ClassCase> all = flag_cases();
    for (auto& c : other_cases()) all.push_back(std::move(c));
    return all;
}

class ClassifyTest : public XdpProgramTest, public ::testing::WithParamInterface<ClassCase> {};

// Three copies at three clock values: counters must move by exactly three, and the source's
// first/last seen must be the first and the last clock.
constexpr std::array<uint64_t, 3> kClocks = {1'000'000'000, 2'500'000'000, 7'000'000'123};

TEST_P(ClassifyTest, CountsExactlyOneClassAndItsSourceAndPort) {
    const ClassCase& c = GetParam();
    const uint64_t n = kClocks.size();
    for (uint64_t clock : kClocks) ASSERT_NO_FATAL_FAILURE(send(c.frame, clock));

    const bool tracked = c.cls < PS_SRC_CLASS_COUNT;
    const bool probe = c.cls < PS_PROBE_CLASS_COUNT;
    // A broken row (say, a fast-path row with a port) would test nothing; refuse it.
    ASSERT_EQ(tracked, c.family != Family::None) << "table row inconsistent";
    ASSERT_EQ(tracked, c.port_item != 0) << "table row inconsistent";

    const TotalsSnapshot t = totals();
    expect_only_class(t, c.cls, n);
    EXPECT_EQ(t.bytes, n * c.frame.size());
    if (c.tcp_flags)
        expect_tcp_flags(t, {{*c.tcp_flags, n}});
    else
        expect_tcp_flags(t, {});
    EXPECT_EQ(t.src_inserts, tracked ? 1u : 0u);
    EXPECT_EQ(t.src_insert_failed, 0u);

    const auto sources = drain_sources();
    if (!tracked) {
        EXPECT_TRUE(sources.empty()) << "fast-path class must not create a source entry";
    } else {
        const SrcKey src = c.family == Family::V6 ? v6_key(kScanner6) : v4_key(kScanner4);
        const SrcKey dst = c.family == Family::V6 ? v6_key(kTarget6) : v4_key(kTarget4);
        ASSERT_EQ(sources.size(), 1u);
        ASSERT_EQ(key_text(sources.begin()->first), key_text(src));
        const ps_src_stats& s = sources.begin()->second;
        expect_src_pkts(s, {{c.cls, static_cast<uint32_t>(n)}});
        EXPECT_EQ(s.first_seen_ns, kClocks.front());
        EXPECT_EQ(s.last_seen_ns, kClocks.back());
        const bool tcp_probe = c.cls == PS_CLASS_TCP_SYN || c.cls == PS_CLASS_TCP_ODD ||
                               c.cls == PS_CLASS_TCP_ACK_PROBE;
        EXPECT_EQ(s.tcp_probes, tcp_probe ? n : 0u);
        // Backscatter claims slots too (the port it hit, the address it hit); only the
        // global port_stats below are kept for probes.
        expect_port_slots(s, {{c.port_item, static_cast<uint32_t>(n)}});
        expect_dst_slots(s, {dst_slot_value(dst)});
        EXPECT_EQ(std::lround(hll_estimate_packed(s.port_hll)), 1);
        EXPECT_EQ(std::lround(hll_estimate_packed(s.dst_hll)), 1);
        EXPECT_EQ(s.port_overflow, 0);
        EXPECT_EQ(s.dst_overflow, 0);
    }

    const auto ports = moved_ports();
    const unsigned slot_proto = PS_PORT_SLOT_PROTO(c.port_item);
    if (probe && slot_proto < PS_PORT_PROTO_COUNT) {
        ASSERT_EQ(ports.size(), 1u);
        EXPECT_EQ(ports[0].proto, slot_proto);
        EXPECT_EQ(ports[0].port, PS_PORT_SLOT_PORT(c.port_item));
        EXPECT_EQ(ports[0].packets, n);
        EXPECT_EQ(ports[0].total_packets, n);
        EXPECT_EQ(std::lround(ports[0].distinct_sources), 1);
    } else {
        EXPECT_TRUE(ports.empty()) << "only TCP/UDP probes count in port_stats, not backscatter";
    }
}

INSTANTIATE_TEST_SUITE_P(Table, ClassifyTest, ::testing::ValuesIn(all_class_cases()),
                         [](const auto& info) { return info.param.name; });

// The whole table through one program: per-class, per-source and per-port counts must equal
// what the rows predict, and the class counters must add up to the packet total.
TEST_F(XdpProgramTest, WholeTableInOneLoadAddsUp) {
    const auto cases = all_class_cases();
    std::array<uint64_t, PS_CLASS_COUNT> per_class{};
    std::map<uint8_t, uint64_t> per_flags;
    std::map<Family, std::map<ps_class, uint32_t>> per_source;
    std::map<uint32_t, uint64_t> per_port;  // keyed by port slot item
    uint64_t bytes = 0, clock = 1;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        ASSERT_NO_FATAL_FAILURE(send(c.frame, clock++));
        ++per_class[c.cls];
        bytes += c.frame.size();
        if (c.tcp_flags) ++per_flags[*c.tcp_flags];
        if (c.family != Family::None) ++per_source[c.family][c.cls];
        if (c.cls < PS_PROBE_CLASS_COUNT && PS_PORT_SLOT_PROTO(c.port_item) < PS_PORT_PROTO_COUNT)
            ++per_port[c.port_item];
    }

    const TotalsSnapshot t = totals();
    EXPECT_EQ(t.packets, cases.size());
    EXPECT_EQ(t.bytes, bytes);
    for (unsigned cls = 0; cls < PS_CLASS_COUNT; ++cls)
        EXPECT_EQ(t.classes[cls], per_class[cls]) << class_name(cls);
    expect_tcp_flags(t, per_flags);
    EXPECT_EQ(t.src_inserts, per_source.size());

    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), 2u);
    for (const auto& [family, pkts] : per_source) {
        const SrcKey key = family == Family::V6 ? v6_key(kScanner6) : v4_key(kScanner4);
        ASSERT_TRUE(sources.contains(key)) << key_text(key);
        SCOPED_TRACE(key_text(key));
        expect_src_pkts(sources.at(key), pkts);
    }

    const auto ports = moved_ports();
    EXPECT_EQ(ports.size(), per_port.size());
    for (const auto& p : ports) {
        const uint32_t item = PS_PORT_SLOT(p.proto, p.port);
        EXPECT_EQ(p.packets, per_port[item]) << port_proto_name(p.proto) << "/" << p.port;
    }
}

}  // namespace
}  // namespace probescope::test
