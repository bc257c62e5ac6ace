// Checks the PacketBuilder's bytes, so that a wrong frame is never mistaken for an XDP bug.
#include "packet_builder.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace probescope::test {
namespace {

uint16_t be16(const Frame& f, std::size_t off) {
    return static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
}
uint32_t be32(const Frame& f, std::size_t off) {
    return static_cast<uint32_t>(be16(f, off)) << 16 | be16(f, off + 2);
}

// RFC 1071: a correct header sums to 0xffff including its checksum field.
uint16_t ones_complement_sum(const Frame& f, std::size_t off, std::size_t len) {
    uint32_t sum = 0;
    for (std::size_t i = 0; i < len; i += 2) sum += be16(f, off + i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

TEST(PacketBuilder, Ipv4TcpSynLayout) {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.10", "198.51.100.7")
                        .ttl(255)
                        .ip_id(54321)
                        .tcp(40000, 80, 0x02)
                        .seq(0xdeadbeef)
                        .window(65535)
                        .build();
    ASSERT_EQ(f.size(), 14u + 20 + 20);
    EXPECT_EQ(be16(f, 12), 0x0800);
    EXPECT_EQ(f[14], 0x45);         // version 4, ihl 5
    EXPECT_EQ(be16(f, 16), 40);     // tot_len
    EXPECT_EQ(be16(f, 18), 54321);  // id
    EXPECT_EQ(be16(f, 20), 0);      // no fragment bits
    EXPECT_EQ(f[22], 255);          // ttl
    EXPECT_EQ(f[23], 6);            // protocol
    EXPECT_EQ(ones_complement_sum(f, 14, 20), 0xffff);
    EXPECT_EQ(be32(f, 26), 0xc000020au);  // 192.0.2.10
    EXPECT_EQ(be32(f, 30), 0xc6336407u);  // 198.51.100.7
    EXPECT_EQ(be16(f, 34), 40000);
    EXPECT_EQ(be16(f, 36), 80);
    EXPECT_EQ(be32(f, 38), 0xdeadbeefu);
    EXPECT_EQ(f[46], 0x50);  // data offset 5
    EXPECT_EQ(f[47], 0x02);
    EXPECT_EQ(be16(f, 48), 65535);
}

TEST(PacketBuilder, Ipv4OptionsFragmentAndOverrides) {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.1", "198.51.100.1")
                        .ip_options({1, 1, 1})  // padded to 4 with EOL
                        .fragment(185, true)
                        .udp(1, 2)
                        .payload(10)
                        .build();
    EXPECT_EQ(f[14], 0x46);
    EXPECT_EQ(f[14 + 23], 0);  // the EOL pad
    EXPECT_EQ(be16(f, 16), 24 + 8 + 10);
    EXPECT_EQ(be16(f, 20), 0x2000 | 185);
    EXPECT_EQ(f[23], 17);
    EXPECT_EQ(be16(f, 14 + 24 + 4), 18);  // UDP length

    const Frame o = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.1", "198.51.100.1")
                        .ihl(15)
                        .ip_version(6)
                        .tot_len(19)
                        .protocol(47)
                        .payload(4)
                        .build();
    EXPECT_EQ(o[14], 0x6f);
    EXPECT_EQ(be16(o, 16), 19);
    EXPECT_EQ(o[23], 47);
    EXPECT_EQ(o.size(), 14u + 20 + 4);

    const Frame df = PacketBuilder()
                         .eth()
                         .ipv4("192.0.2.1", "198.51.100.1")
                         .dont_fragment()
                         .fragment(0, true)
                         .build();
    EXPECT_EQ(be16(df, 20), 0x4000 | 0x2000);
}

TEST(PacketBuilder, VlanTagsChainTheirTypes) {
    const Frame f = PacketBuilder()
                        .eth()
                        .vlan(100, 0x88a8)
                        .vlan(200)
                        .ipv6("2001:db8::1", "2001:db8::2")
                        .icmp6(128, 0)
                        .build();
    EXPECT_EQ(be16(f, 12), 0x88a8);
    EXPECT_EQ(be16(f, 14), 100);
    EXPECT_EQ(be16(f, 16), 0x8100);
    EXPECT_EQ(be16(f, 18), 200);
    EXPECT_EQ(be16(f, 20), 0x86dd);
    EXPECT_EQ(f[22] >> 4, 6);
    EXPECT_EQ(f[22 + 6], 58);

    const Frame arp = PacketBuilder().eth().vlan(5).ethertype(0x0806).payload(28).build();
    EXPECT_EQ(be16(arp, 12), 0x8100);
    EXPECT_EQ(be16(arp, 16), 0x0806);
}

TEST(PacketBuilder, Ipv6ExtensionChainNextHeadersAndLengths) {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv6("2001:db8::1", "2001:db8::2")
                        .hop_by_hop()
                        .routing(1)
                        .ipv6_fragment(3, true, 0xabcd)
                        .auth_header()
                        .dest_opts()
                        .tcp(1, 2, 0x02)
                        .build();
    constexpr std::size_t ip6 = 14, hop = ip6 + 40, rt = hop + 8, frag = rt + 16, ah = frag + 8,
                          dst = ah + 24, tcp = dst + 8;
    ASSERT_EQ(f.size(), tcp + 20);
    EXPECT_EQ(be16(f, ip6 + 4), f.size() - hop);  // payload_len
    EXPECT_EQ(f[ip6 + 6], 0);                     // -> hop-by-hop
    EXPECT_EQ(f[hop], 43);
    EXPECT_EQ(f[hop + 1], 0);
    EXPECT_EQ(f[rt], 44);
    EXPECT_EQ(f[rt + 1], 1);  // 16 bytes = (1 + 1) * 8
    EXPECT_EQ(f[frag], 51);
    EXPECT_EQ(be16(f, frag + 2), 3 << 3 | 1);  // offset 3, M
    EXPECT_EQ(be32(f, frag + 4), 0xabcdu);
    EXPECT_EQ(f[ah], 60);
    EXPECT_EQ(f[ah + 1], 4);  // 24 bytes = (4 + 2) * 4
    EXPECT_EQ(f[dst], 6);
    EXPECT_EQ(be16(f, tcp + 2), 2);
}

TEST(PacketBuilder, TcpOptionsAndDataOffset) {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.1", "198.51.100.1")
                        .tcp(1, 2, 0x02)
                        .tcp_options(tcpopt::linux_syn(1460))
                        .build();
    constexpr std::size_t tcp = 34;
    ASSERT_EQ(f.size(), tcp + 40);
    EXPECT_EQ(f[tcp + 12], 10 << 4);
    const Frame opts(f.begin() + tcp + 20, f.end());
    const Frame want = {2,    4,    0x05, 0xb4, 4, 2, 8, 10, 0x5e, 0xed,
                        0x12, 0x34, 0,    0,    0, 0, 1, 3,  3,    7};
    EXPECT_EQ(opts, want);
    EXPECT_EQ(be16(f, 16), 20 + 40);

    const Frame doff =
        PacketBuilder().eth().ipv4("192.0.2.1", "198.51.100.1").tcp(1, 2, 0).data_offset(4).build();
    EXPECT_EQ(doff[tcp + 12], 4 << 4);
}

TEST(PacketBuilder, TruncateKeepsTheUntruncatedLengths) {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.1", "198.51.100.1")
                        .udp(1, 2)
                        .payload(100)
                        .truncate(40)
                        .build();
    ASSERT_EQ(f.size(), 40u);
    EXPECT_EQ(be16(f, 16), 20 + 8 + 100);
}

TEST(PacketBuilder, RefusesWhatItCannotBuild) {
    EXPECT_THROW(PacketBuilder().seq(1), std::logic_error);
    EXPECT_THROW(PacketBuilder().eth().payload(4).build(), std::logic_error);
    EXPECT_THROW(PacketBuilder().eth().ipv4("192.0.2.1", "198.51.100.1").truncate(99).build(),
                 std::logic_error);
    EXPECT_THROW(ipv4_addr("192.0.2.300"), std::invalid_argument);
}

}  // namespace
}  // namespace probescope::test
