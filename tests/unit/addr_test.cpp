// Unit tests for addr.h: the 16-byte ABI address form (IPv4 v4-mapped) and its text.
#include "addr.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "case_print.h"

namespace probescope {
namespace {

struct ParseCase {
    const char* test_name;
    std::string_view text;
    Addr16 bytes;
    std::string_view formatted;  // canonical text: what format_addr gives back
    bool v4_mapped;
};

const ParseCase kParseCases[] = {
    {"Ipv4StoredV4Mapped",
     "192.0.2.1",
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1},
     "192.0.2.1",
     true},
    {"Ipv4AllZeros",
     "0.0.0.0",
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0},
     "0.0.0.0",
     true},
    {"Ipv4Broadcast",
     "255.255.255.255",
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255, 255},
     "255.255.255.255",
     true},
    // Written as IPv6, but it is the same IPv4 source, so it prints (and counts) as IPv4.
    {"V4MappedIpv6TextIsIpv4",
     "::ffff:198.51.100.7",
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7},
     "198.51.100.7",
     true},
    {"Ipv6Documentation",
     "2001:db8::1",
     {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
     "2001:db8::1",
     false},
    {"Ipv6UppercaseAndZerosCanonicalised",
     "2001:0DB8:0:0:0:0:0:00AB",
     {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab},
     "2001:db8::ab",
     false},
    {"Ipv6Loopback", "::1", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "::1", false},
    {"Ipv6Unspecified", "::", {}, "::", false},
    {"Ipv6LinkLocal",
     "fe80::1:2",
     {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2},
     "fe80::1:2",
     false},
    // Same low 32 bits as a v4-mapped address, but the ffff marker is in the wrong place.
    {"Ipv4CompatibleIsNotV4Mapped",
     "::c000:201",
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1},
     "::192.0.2.1",
     false},
};

class AddrParse : public ::testing::TestWithParam<ParseCase> {};

TEST_P(AddrParse, ParsesToAbiBytes) {
    auto got = parse_addr(GetParam().text);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, GetParam().bytes);
}

TEST_P(AddrParse, FormatsCanonicalText) {
    EXPECT_EQ(format_addr(GetParam().bytes.data()), GetParam().formatted);
}

TEST_P(AddrParse, KnowsWhetherV4Mapped) {
    EXPECT_EQ(is_v4_mapped(GetParam().bytes.data()), GetParam().v4_mapped);
}

TEST_P(AddrParse, CanonicalTextRoundTrips) {
    auto again = parse_addr(GetParam().formatted);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, GetParam().bytes);
}

INSTANTIATE_TEST_SUITE_P(Table, AddrParse, ::testing::ValuesIn(kParseCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

struct InvalidCase {
    const char* test_name;
    std::string_view text;
};

const InvalidCase kInvalidCases[] = {
    {"Empty", ""},
    {"Word", "localhost"},
    {"ThreeOctets", "192.0.2"},
    {"FiveOctets", "192.0.2.1.5"},
    {"OctetOver255", "256.0.2.1"},
    {"LeadingSpace", " 192.0.2.1"},
    {"TrailingSpace", "192.0.2.1 "},
    {"Ipv4WithPrefixLength", "192.0.2.0/24"},
    {"Ipv4WithPort", "192.0.2.1:80"},
    {"TwoDoubleColons", "2001:db8::1::2"},
    {"Ipv6GroupTooLong", "2001:db8::12345"},
    {"Ipv6NineGroups", "1:2:3:4:5:6:7:8:9"},
    {"Ipv6WithZone", "fe80::1%eth0"},
    {"Ipv6Bracketed", "[2001:db8::1]"},
    // string_view is length-delimited: text past a NUL is still text, and it is not an address.
    {"EmbeddedNulThenJunk", std::string_view("192.0.2.1\0junk", 14)},
};

class AddrParseInvalid : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(AddrParseInvalid, IsNullopt) { EXPECT_EQ(parse_addr(GetParam().text), std::nullopt); }

INSTANTIATE_TEST_SUITE_P(Table, AddrParseInvalid, ::testing::ValuesIn(kInvalidCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(Addr16Hash, EqualAddressesHashEqualAndV4DiffersFromV6) {
    Addr16Hash h;
    auto a = parse_addr("192.0.2.1").value();
    auto b = parse_addr("::ffff:192.0.2.1").value();
    auto c = parse_addr("2001:db8::1").value();
    EXPECT_EQ(h(a), h(b));
    EXPECT_NE(h(a), h(c));
}

}  // namespace
}  // namespace probescope
