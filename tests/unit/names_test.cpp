// Unit tests for names.h: the spellings JSON consumers match on, so every one is pinned.
#include "names.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "case_print.h"

namespace probescope {
namespace {

struct ClassCase {
    unsigned cls;
    std::string_view name;
};

// One row per ps_class value: the JSON keys of "classes" and "packets" come from here.
constexpr ClassCase kClassCases[] = {
    {PS_CLASS_TCP_SYN, "tcp_syn"},
    {PS_CLASS_TCP_ODD, "tcp_odd"},
    {PS_CLASS_UDP, "udp"},
    {PS_CLASS_ICMP_ECHO, "icmp_echo"},
    {PS_CLASS_TCP_ACK_PROBE, "tcp_ack_probe"},
    {PS_CLASS_TCP_SYNACK, "tcp_synack"},
    {PS_CLASS_TCP_RST, "tcp_rst"},
    {PS_CLASS_ICMP_ERROR, "icmp_error"},
    {PS_CLASS_TCP_OTHER, "tcp_other"},
    {PS_CLASS_ICMP_OTHER, "icmp_other"},
    {PS_CLASS_FRAGMENT, "fragment"},
    {PS_CLASS_OTHER_IP, "other_ip"},
    {PS_CLASS_NON_IP, "non_ip"},
    {PS_CLASS_MALFORMED, "malformed"},
};

void PrintTo(const ClassCase& c, std::ostream* os) { *os << c.name; }

class ClassNames : public ::testing::TestWithParam<ClassCase> {};

TEST_P(ClassNames, NameMatchesTable) { EXPECT_EQ(class_name(GetParam().cls), GetParam().name); }

TEST_P(ClassNames, NameRoundTripsToValue) {
    EXPECT_EQ(class_from_name(class_name(GetParam().cls)), GetParam().cls);
}

INSTANTIATE_TEST_SUITE_P(EveryClass, ClassNames, ::testing::ValuesIn(kClassCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ClassNamesTable, CoversEveryClassValue) {
    EXPECT_EQ(std::size(kClassCases), static_cast<size_t>(PS_CLASS_COUNT));
}

TEST(ClassNamesTable, OutOfRangeClassIsUnknown) {
    EXPECT_EQ(class_name(PS_CLASS_COUNT), "unknown");
    EXPECT_EQ(class_name(1000), "unknown");
}

TEST(ClassNamesTable, UnknownNamesHaveNoClass) {
    EXPECT_EQ(class_from_name("unknown"), std::nullopt);
    EXPECT_EQ(class_from_name(""), std::nullopt);
    EXPECT_EQ(class_from_name("TCP_SYN"), std::nullopt);  // case matters
    EXPECT_EQ(class_from_name("tcp_syn "), std::nullopt);
}

struct FlagsCase {
    const char* test_name;
    uint8_t flags;
    const char* name;
};

// Bits are spelled FIN..CWR in bit order, whatever order a reader would say them in.
constexpr FlagsCase kFlagsCases[] = {
    {"NoFlagIsNone", 0x00, "none"},
    {"SynAlone", 0x02, "SYN"},
    {"SynAck", 0x12, "SYN-ACK"},
    {"FinPshUrgXmasTree", 0x29, "FIN-PSH-URG"},
    {"SynWithEcnSetup", 0xC2, "SYN-ECE-CWR"},
    {"EveryBitInBitOrder", 0xff, "FIN-SYN-RST-PSH-ACK-URG-ECE-CWR"},
    {"FinAlone", 0x01, "FIN"},
    {"CwrAlone", 0x80, "CWR"},
    {"RstAck", 0x14, "RST-ACK"},
};

class TcpFlagsNames : public ::testing::TestWithParam<FlagsCase> {};

TEST_P(TcpFlagsNames, SpellsBitsJoinedByDash) {
    EXPECT_EQ(tcp_flags_name(GetParam().flags), GetParam().name);
}

INSTANTIATE_TEST_SUITE_P(Table, TcpFlagsNames, ::testing::ValuesIn(kFlagsCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

struct ProtoCase {
    unsigned proto;
    std::string_view name;
};

// 2 is the ICMP pseudo-protocol of port slots, so it must name "icmp" too.
constexpr ProtoCase kProtoCases[] = {
    {PS_PORT_PROTO_TCP, "tcp"},
    {PS_PORT_PROTO_UDP, "udp"},
    {PS_PORT_SLOT_ICMP, "icmp"},
    {3, "unknown"},
    {255, "unknown"},
};

TEST(PortProtoName, TableOfProtocols) {
    for (const auto& c : kProtoCases) {
        SCOPED_TRACE(c.proto);
        EXPECT_EQ(port_proto_name(c.proto), c.name);
    }
}

TEST(FingerprintName, EveryFingerprintAndOutOfRange) {
    const std::pair<unsigned, std::string_view> cases[] = {
        {PS_FP_ZMAP, "zmap"},       {PS_FP_MASSCAN, "masscan"},   {PS_FP_MIRAI, "mirai"},
        {PS_FP_NMAP, "nmap"},       {PS_FP_SAME_SEQ, "same_seq"}, {PS_FP_SAME_SPORT, "same_sport"},
        {PS_FP_UNICORN, "unicorn"}, {PS_FP_COUNT, "unknown"},
    };
    for (const auto& [fp, name] : cases) {
        SCOPED_TRACE(fp);
        EXPECT_EQ(fingerprint_name(fp), name);
    }
}

TEST(OptsShapeName, EveryShapeAndOutOfRange) {
    const std::pair<unsigned, std::string_view> cases[] = {
        {PS_OPTS_NONE, "none"},           {PS_OPTS_MSS_ONLY, "mss_only"},
        {PS_OPTS_STACK, "stack"},         {PS_OPTS_OTHER, "other"},
        {PS_OPTS_MALFORMED, "malformed"}, {PS_OPTS_MALFORMED + 1, "unknown"},
    };
    for (const auto& [shape, name] : cases) {
        SCOPED_TRACE(shape);
        EXPECT_EQ(opts_shape_name(shape), name);
    }
}

}  // namespace
}  // namespace probescope
