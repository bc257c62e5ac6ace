// Unit tests for port_names.h: the services(5) parser, on files the tests write themselves.
#include "port_names.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "case_print.h"
#include "temp_dir.h"

namespace probescope {
namespace {

using test::TempDir;

// Debian's layout (tabs, aliases, comments), plus the malformed lines a parser must survive.
constexpr std::string_view kServices =
    "# Network services, Internet style\n"
    "#\n"
    "\n"
    "tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer\n"
    "ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol\n"
    "smtp\t\t25/tcp\t\tmail\n"
    "domain\t\t53/tcp\t\t\t\t# Domain Name Server\n"
    "domain\t\t53/udp\n"
    "http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP\n"
    "http-alt\t80/tcp\t\t# a later line for the same port loses\n"
    "snmp 161/udp   # spaces instead of tabs\n"
    "sctp-only\t9/sctp\n"
    "ntp\t\t123/udp#comment glued to the entry\n"
    "# commented-out\t7000/tcp\n"
    "noslash\t\t7001\n"
    "badport\t\tabc/tcp\n"
    "toohigh\t\t70000/tcp\n"
    "negative\t-5/tcp\n"
    "noproto\t\t7002/\n"
    "justname\n"
    "   \t  \n"
    "crlf\t\t7003/tcp\r\n"
    "max\t\t65535/udp\n"
    "last-line\t7004/tcp";  // no final newline

struct PortCase {
    const char* test_name;
    std::string_view proto;
    uint16_t port;
    std::optional<std::string_view> name;
};

const PortCase kPortCases[] = {
    {"TcpSsh", "tcp", 22, "ssh"},
    {"UdpDomain", "udp", 53, "domain"},
    {"TcpDomain", "tcp", 53, "domain"},
    {"FirstLineForPortWins", "tcp", 80, "http"},
    {"AliasIsNotTheName", "tcp", 25, "smtp"},
    {"SpacesInsteadOfTabs", "udp", 161, "snmp"},
    {"CommentWithoutSpace", "udp", 123, "ntp"},
    {"CrLfLine", "tcp", 7003, "crlf"},
    {"HighestPort", "udp", 65535, "max"},
    {"LastLineWithoutNewline", "tcp", 7004, "last-line"},
    {"OtherProtocolKept", "sctp", 9, "sctp-only"},
    {"TcpOnlyServiceNotUdp", "udp", 22, std::nullopt},
    {"UdpOnlyServiceNotTcp", "tcp", 161, std::nullopt},
    {"UnknownPort", "tcp", 4444, std::nullopt},
    {"PortZero", "tcp", 0, std::nullopt},
    {"CommentedOutLine", "tcp", 7000, std::nullopt},
    {"LineWithoutSlash", "tcp", 7001, std::nullopt},
    {"LineWithoutProto", "tcp", 7002, std::nullopt},
    {"UnknownProtocol", "icmp", 22, std::nullopt},
    {"ProtocolIsCaseSensitive", "TCP", 22, std::nullopt},
    {"EmptyProtocol", "", 22, std::nullopt},
};

class PortNameTable : public ::testing::TestWithParam<PortCase> {};

TEST_P(PortNameTable, NameFromFile) {
    TempDir dir;
    PortNames names(dir.write("services", kServices));
    ASSERT_TRUE(names.loaded());
    EXPECT_EQ(names.name(GetParam().proto, GetParam().port), GetParam().name);
}

INSTANTIATE_TEST_SUITE_P(Table, PortNameTable, ::testing::ValuesIn(kPortCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(PortNames, CountsOnlyWellFormedEntries) {
    TempDir dir;
    PortNames names(dir.write("services", kServices));
    // tcpmux ssh smtp domain/tcp domain/udp http snmp sctp-only ntp crlf max last-line
    EXPECT_EQ(names.size(), 12u);
}

TEST(PortNames, MissingFileLoadsNothing) {
    TempDir dir;
    PortNames names((dir.path() / "no-such-services").string());
    EXPECT_FALSE(names.loaded());
    EXPECT_EQ(names.size(), 0u);
    EXPECT_EQ(names.name("tcp", 22), std::nullopt);
}

TEST(PortNames, EmptyFileIsLoadedButEmpty) {
    TempDir dir;
    PortNames names(dir.write("services", ""));
    EXPECT_TRUE(names.loaded());
    EXPECT_EQ(names.size(), 0u);
    EXPECT_EQ(names.name("tcp", 22), std::nullopt);
}

TEST(PortNames, SystemFileWhenPresent) {
    if (!std::filesystem::exists("/etc/services")) GTEST_SKIP() << "no /etc/services (netbase)";
    PortNames names;
    ASSERT_TRUE(names.loaded());
    EXPECT_EQ(names.name("tcp", 22), "ssh");
    EXPECT_EQ(names.name("udp", 53), "domain");
}

}  // namespace
}  // namespace probescope
