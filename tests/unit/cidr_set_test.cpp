// Unit tests for cidr_set.h: CIDR text, and longest-prefix match over v4-mapped and IPv6 ranges.
#include "cidr_set.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "addr.h"
#include "case_print.h"

namespace probescope {
namespace {

Addr16 addr(std::string_view text) { return parse_addr(text).value(); }

struct CidrCase {
    const char* test_name;
    std::string_view text;
    std::string_view prefix;  // format_addr of the masked prefix
    int prefix_len;           // in the 128-bit v4-mapped space
};

const CidrCase kCidrCases[] = {
    {"Ipv4BareAddressIsSlash32", "192.0.2.1", "192.0.2.1", 128},
    {"Ipv4Slash24", "192.0.2.0/24", "192.0.2.0", 120},
    {"Ipv4Slash32", "192.0.2.7/32", "192.0.2.7", 128},
    {"Ipv4Slash0", "0.0.0.0/0", "0.0.0.0", 96},
    {"Ipv4Slash8", "10.0.0.0/8", "10.0.0.0", 104},
    {"Ipv4HostBitsMasked", "192.0.2.77/24", "192.0.2.0", 120},
    {"Ipv4NonOctetLengthMasked", "192.0.2.255/27", "192.0.2.224", 123},
    {"Ipv4Slash0MasksEverything", "203.0.113.9/0", "0.0.0.0", 96},
    {"Ipv4LengthWithLeadingZero", "192.0.2.0/024", "192.0.2.0", 120},
    {"Ipv6BareAddressIsSlash128", "2001:db8::1", "2001:db8::1", 128},
    {"Ipv6Slash32", "2001:db8::/32", "2001:db8::", 32},
    {"Ipv6Slash128", "2001:db8::1/128", "2001:db8::1", 128},
    {"Ipv6DefaultRoute", "::/0", "::", 0},
    {"Ipv6HostBitsMasked", "2001:db8:ffff::1/48", "2001:db8:ffff::", 48},
    {"Ipv6Slash1MasksBelowTopBit", "ffff::/1", "8000::", 1},
    {"Ipv6Slash80FromCensysList", "2602:80d:1000:b0cc:e::/80", "2602:80d:1000:b0cc:e::", 80},
    {"Ipv6Slash112FromCensysList", "2602:80d:1003::/112", "2602:80d:1003::", 112},
    // Written as IPv6, so the length counts IPv6 bits even though the bytes are v4-mapped.
    {"V4MappedTextTakesIpv6Length", "::ffff:192.0.2.0/120", "192.0.2.0", 120},
    {"SpacesAndTabsTrimmed", " \t192.0.2.0/24 \t", "192.0.2.0", 120},
    {"CrLfTrimmed", "2001:db8::/32\r\n", "2001:db8::", 32},
};

class ParseCidr : public ::testing::TestWithParam<CidrCase> {};

TEST_P(ParseCidr, GivesMaskedPrefixAndLength) {
    auto got = parse_cidr(GetParam().text);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(format_addr(got->first.data()), GetParam().prefix);
    EXPECT_EQ(got->second, GetParam().prefix_len);
}

INSTANTIATE_TEST_SUITE_P(Table, ParseCidr, ::testing::ValuesIn(kCidrCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

struct InvalidCidrCase {
    const char* test_name;
    std::string_view text;
};

const InvalidCidrCase kInvalidCidrCases[] = {
    {"Empty", ""},
    {"OnlySpaces", "   "},
    {"Word", "garbage"},
    {"Hostname", "census.shodan.io"},
    {"MissingLength", "192.0.2.0/"},
    {"MissingAddress", "/24"},
    {"Ipv4LengthOver32", "192.0.2.0/33"},
    {"Ipv4LengthIpv6Sized", "192.0.2.0/120"},
    {"Ipv6LengthOver128", "2001:db8::/129"},
    {"NegativeLength", "192.0.2.0/-1"},
    {"PlusSignLength", "192.0.2.0/+24"},
    {"LengthWithLetters", "192.0.2.0/2a"},
    {"HexLength", "192.0.2.0/0x18"},
    {"FourDigitLength", "192.0.2.0/0024"},
    {"TwoSlashes", "192.0.2.0/24/8"},
    {"SpaceBeforeSlash", "192.0.2.0 /24"},
    {"SpaceAfterSlash", "192.0.2.0/ 24"},
    {"ThreeOctets", "192.0.2/24"},
    {"OctetOver255", "192.0.256.0/24"},
    {"Ipv6Bracketed", "[2001:db8::]/32"},
    {"Ipv6WithZone", "fe80::1%eth0/64"},
    {"TrailingComment", "192.0.2.0/24 # a comment"},
    {"AddressRange", "192.0.2.0-192.0.2.255"},
    {"EmbeddedNul", std::string_view("192.0.2.0/24\0junk", 17)},
};

class ParseCidrInvalid : public ::testing::TestWithParam<InvalidCidrCase> {};

TEST_P(ParseCidrInvalid, IsNullopt) { EXPECT_EQ(parse_cidr(GetParam().text), std::nullopt); }

INSTANTIATE_TEST_SUITE_P(Table, ParseCidrInvalid, ::testing::ValuesIn(kInvalidCidrCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

// Nested ranges, as when a vendor's /16 contains a research group's /24 and one known host.
CidrSet nested_set() {
    CidrSet set;
    for (std::string_view cidr :
         {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "2001:db8::/32",
          "2001:db8:1::/48", "2001:db8:1:2::/64", "2001:db8:1:2::5/128"}) {
        auto parsed = parse_cidr(cidr).value();
        set.add(parsed.first, parsed.second, cidr);
    }
    return set;
}

struct MatchCase {
    const char* test_name;
    std::string_view addr;
    std::optional<std::string_view> label;  // the CIDR text the matching prefix was added as
};

const MatchCase kNestedCases[] = {
    {"Ipv4HostRouteWins", "10.1.2.3", "10.1.2.3/32"},
    {"Ipv4Slash24BesideHost", "10.1.2.4", "10.1.2.0/24"},
    {"Ipv4Slash24LastAddress", "10.1.2.255", "10.1.2.0/24"},
    {"Ipv4Slash16OutsideSlash24", "10.1.3.0", "10.1.0.0/16"},
    {"Ipv4Slash8OutsideSlash16", "10.2.0.1", "10.0.0.0/8"},
    {"Ipv4Slash8LastAddress", "10.255.255.255", "10.0.0.0/8"},
    {"Ipv4JustBelowSlash8", "9.255.255.255", std::nullopt},
    {"Ipv4JustAboveSlash8", "11.0.0.0", std::nullopt},
    {"Ipv6HostRouteWins", "2001:db8:1:2::5", "2001:db8:1:2::5/128"},
    {"Ipv6Slash64BesideHost", "2001:db8:1:2::6", "2001:db8:1:2::/64"},
    {"Ipv6Slash48OutsideSlash64", "2001:db8:1:3::1", "2001:db8:1::/48"},
    {"Ipv6Slash32OutsideSlash48", "2001:db8:2::1", "2001:db8::/32"},
    {"Ipv6OutsideEverything", "2001:db9::1", std::nullopt},
    // The same low 32 bits without the ::ffff marker is a different (IPv6) address.
    {"Ipv4CompatibleIsNotIpv4", "::10.1.2.3", std::nullopt},
};

class NestedMatch : public ::testing::TestWithParam<MatchCase> {};

TEST_P(NestedMatch, LongestPrefixLabel) {
    static const CidrSet set = nested_set();
    EXPECT_EQ(set.match(addr(GetParam().addr)), GetParam().label);
}

INSTANTIATE_TEST_SUITE_P(Table, NestedMatch, ::testing::ValuesIn(kNestedCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(CidrSet, EmptySetMatchesNothing) {
    CidrSet set;
    EXPECT_EQ(set.match(addr("192.0.2.1")), std::nullopt);
    EXPECT_EQ(set.size(), 0u);
}

TEST(CidrSet, Ipv6DefaultRouteMatchesEveryAddressBelowMoreSpecific) {
    CidrSet set;
    set.add(Addr16{}, 0, "default");
    set.add(addr("192.0.2.0"), 120, "doc-net");
    EXPECT_EQ(set.match(addr("192.0.2.9")), "doc-net");
    EXPECT_EQ(set.match(addr("198.51.100.1")), "default");
    EXPECT_EQ(set.match(addr("2001:db8::1")), "default");
    EXPECT_EQ(set.match(addr("::")), "default");
}

TEST(CidrSet, Ipv4DefaultRouteMatchesOnlyIpv4) {
    CidrSet set;
    auto v4_default = parse_cidr("0.0.0.0/0").value();
    set.add(v4_default.first, v4_default.second, "any-ipv4");
    EXPECT_EQ(set.match(addr("0.0.0.0")), "any-ipv4");
    EXPECT_EQ(set.match(addr("255.255.255.255")), "any-ipv4");
    EXPECT_EQ(set.match(addr("2001:db8::1")), std::nullopt);
    EXPECT_EQ(set.match(addr("::1")), std::nullopt);
}

TEST(CidrSet, DuplicatePrefixKeepsFirstLabel) {
    CidrSet set;
    EXPECT_TRUE(set.add(addr("192.0.2.0"), 120, "first"));
    // Host bits are masked, so this is the same /24.
    EXPECT_FALSE(set.add(addr("192.0.2.200"), 120, "second"));
    EXPECT_EQ(set.match(addr("192.0.2.1")), "first");
    EXPECT_EQ(set.size(), 1u);
}

TEST(CidrSet, AddMasksHostBits) {
    CidrSet set;
    set.add(addr("2001:db8:aaaa:bbbb::1"), 32, "v6");
    EXPECT_EQ(set.match(addr("2001:db8::9")), "v6");
}

TEST(CidrSet, LabelViewsSurviveLaterAdds) {
    CidrSet set;
    set.add(addr("192.0.2.0"), 120, "the-first-label-long-enough-to-live-on-the-heap");
    std::string_view first = set.match(addr("192.0.2.1")).value();
    for (uint32_t i = 0; i < 5000; ++i) {
        Addr16 a = addr("2001:db8::");
        a[8] = static_cast<uint8_t>(i >> 8);
        a[9] = static_cast<uint8_t>(i);
        set.add(a, 80, "label-" + std::to_string(i));
    }
    EXPECT_EQ(first, "the-first-label-long-enough-to-live-on-the-heap");
}

TEST(MaskPrefix, ClearsBitsPastLength) {
    Addr16 ones;
    ones.fill(0xff);
    EXPECT_EQ(format_addr(mask_prefix(ones, 0).data()), "::");
    EXPECT_EQ(format_addr(mask_prefix(ones, 1).data()), "8000::");
    EXPECT_EQ(format_addr(mask_prefix(ones, 17).data()), "ffff:8000::");
    EXPECT_EQ(format_addr(mask_prefix(ones, 127).data()),
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
    EXPECT_EQ(mask_prefix(ones, 128), ones);
}

// 100k random prefixes of every length, v4 and v6, checked against a linear scan.
TEST(CidrSet, HundredThousandPrefixesMatchLikeLinearScan) {
    struct Prefix {
        Addr16 addr;
        int len;
        std::string label;
    };
    std::mt19937_64 rng(20240601);
    auto random_addr = [&](bool v4) {
        Addr16 a{};
        for (auto& b : a) b = static_cast<uint8_t>(rng());
        if (v4) {
            for (int i = 0; i < 10; ++i) a[i] = 0;
            a[10] = a[11] = 0xff;
        }
        return a;
    };

    std::vector<Prefix> prefixes;
    CidrSet set;
    constexpr size_t kPrefixes = 100'000;
    while (prefixes.size() < kPrefixes) {
        bool v4 = rng() % 4 != 0;
        // Short v4 lengths collide often, which is what makes the nesting interesting.
        int len = v4 ? 96 + 8 + static_cast<int>(rng() % 25) : 16 + static_cast<int>(rng() % 113);
        Addr16 a = mask_prefix(random_addr(v4), len);
        std::string label = "p" + std::to_string(prefixes.size());
        if (set.add(a, len, label)) prefixes.push_back({a, len, label});
    }
    ASSERT_EQ(set.size(), kPrefixes);

    auto linear_match = [&](const Addr16& a) -> std::optional<std::string_view> {
        const Prefix* best = nullptr;
        for (const auto& p : prefixes)
            if (mask_prefix(a, p.len) == p.addr && (!best || p.len > best->len)) best = &p;
        if (!best) return std::nullopt;
        return std::string_view(best->label);
    };

    size_t matched = 0;
    for (int i = 0; i < 600; ++i) {
        Addr16 query;
        if (i % 2 == 0) {
            // Inside a known prefix: its bits, then random host bits.
            const auto& p = prefixes[rng() % prefixes.size()];
            Addr16 noise = random_addr(false);
            query = p.addr;
            Addr16 masked_noise = mask_prefix(noise, p.len);
            for (size_t b = 0; b < 16; ++b) query[b] |= noise[b] ^ masked_noise[b];
        } else {
            query = random_addr(i % 3 != 0);
        }
        auto expected = linear_match(query);
        ASSERT_EQ(set.match(query), expected) << format_addr(query.data());
        matched += expected.has_value();
    }
    // The in-prefix half always matches; random v4 often lands in a short prefix too.
    EXPECT_GE(matched, 300u);
}

}  // namespace
}  // namespace probescope
