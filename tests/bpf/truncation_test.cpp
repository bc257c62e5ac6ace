// Truncation sweeps: a frame cut anywhere before its last needed header byte is malformed.
#include <cerrno>
#include <ostream>

#include "names.h"
#include "xdp_fixture.h"

namespace probescope::test {
namespace {

struct TruncationCase {
    std::string name;
    Frame full;
    std::size_t needed;  // shortest length the program can classify without reading past the end
    ps_class full_class;
    bool tcp = false;  // complete frames count in tcp_flags[]
};

void PrintTo(const TruncationCase& c, std::ostream* os) {
    *os << c.name << " (" << c.full.size() << " bytes, " << c.needed << " needed)";
}

std::vector<TruncationCase> truncation_cases() {
    return {
        {"v4_tcp", v4_frame().tcp(kScannerPort, 80, PS_TCP_SYN), 14 + 20 + 20, PS_CLASS_TCP_SYN,
         true},
        {"qinq_v4_options_tcp",
         PacketBuilder()
             .eth()
             .vlan(1, 0x88a8)
             .vlan(2)
             .ipv4(kScanner4, kTarget4)
             .ip_options({1, 1, 1, 1})
             .tcp(kScannerPort, 80, PS_TCP_SYN | PS_TCP_FIN),
         14 + 8 + 24 + 20, PS_CLASS_TCP_ODD, true},
        {"v4_udp", v4_frame().udp(kScannerPort, 53), 14 + 20 + 8, PS_CLASS_UDP},
        {"v4_icmp", v4_frame().icmp(8, 0), 14 + 20 + 4, PS_CLASS_ICMP_ECHO},
        {"v6_tcp", v6_frame().tcp(kScannerPort, 80, PS_TCP_SYN), 14 + 40 + 20, PS_CLASS_TCP_SYN,
         true},
        {"v6_hop_frag_udp", v6_frame().hop_by_hop().ipv6_fragment(0, true).udp(kScannerPort, 53),
         14 + 40 + 8 + 8 + 8, PS_CLASS_UDP},
        {"v6_ah_tcp", v6_frame().auth_header().tcp(kScannerPort, 80, PS_TCP_RST), 14 + 40 + 24 + 20,
         PS_CLASS_TCP_RST, true},
        {"vlan_v6_icmp6", PacketBuilder().eth().vlan(9).ipv6(kScanner6, kTarget6).icmp6(1, 0),
         14 + 4 + 40 + 4, PS_CLASS_ICMP_ERROR},
    };
}

class TruncationTest : public XdpProgramTest,
                       public ::testing::WithParamInterface<TruncationCase> {};

// One load per shape; each cut is checked against the counters before and after it, so a
// failure names the exact length.
TEST_P(TruncationTest, EveryCutBeforeTheLastNeededByteIsMalformed) {
    const TruncationCase& c = GetParam();
    ASSERT_LE(c.needed, c.full.size());
    uint64_t clock = 1;
    TotalsSnapshot before = totals();
    for (std::size_t len = 14; len <= c.full.size(); ++len) {
        SCOPED_TRACE("cut at " + std::to_string(len) + " bytes");
        const Frame cut(c.full.begin(), c.full.begin() + static_cast<std::ptrdiff_t>(len));
        ASSERT_NO_FATAL_FAILURE(send(cut, clock++));
        const TotalsSnapshot after = totals();
        const TotalsSnapshot d = after - before;
        expect_only_class(d, len < c.needed ? PS_CLASS_MALFORMED : c.full_class, 1);
        before = after;
    }
    const TotalsSnapshot t = totals();
    EXPECT_EQ(t.classes[PS_CLASS_MALFORMED], c.needed - 14);
    EXPECT_EQ(t.classes[c.full_class], c.full.size() - c.needed + 1);
    // Malformed TCP never reaches tcp_flags; only the complete headers did.
    uint64_t flagged = 0;
    for (uint64_t n : t.tcp_flags) flagged += n;
    EXPECT_EQ(flagged, c.tcp ? c.full.size() - c.needed + 1 : 0);
    // Only complete frames may create the source.
    EXPECT_EQ(drain_sources().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Sweep, TruncationTest, ::testing::ValuesIn(truncation_cases()),
                         [](const auto& info) { return info.param.name; });

// Below an Ethernet header BPF_PROG_TEST_RUN itself refuses the frame; the program never
// runs, so nothing may be counted.
TEST_F(XdpProgramTest, TestRunRefusesFramesShorterThanEthernet) {
    const Frame full = v4_frame().tcp(kScannerPort, 80, PS_TCP_SYN);
    for (std::size_t len : {1u, 6u, 13u}) {
        SCOPED_TRACE(len);
        const RunResult r =
            test_run(Frame(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len)));
        EXPECT_EQ(r.err, -EINVAL);
    }
    const TotalsSnapshot t = totals();
    EXPECT_EQ(t.packets, 0u);  // the sum of the classes (ps_derive_totals)
}

}  // namespace
}  // namespace probescope::test
