// Unit tests for research_lists.h: MISP and plain-text list loading, and scanner rDNS suffixes.
#include "research_lists.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "addr.h"
#include "case_print.h"
#include "error.h"
#include "temp_dir.h"

namespace probescope {
namespace {

using test::TempDir;

Addr16 addr(std::string_view text) { return parse_addr(text).value(); }

// Shaped exactly like /work/shared/data/misp-warninglists/censys-scanning.json, with a few
// entries of each kind those files hold (v4 /24, v6 /80 and /112), plus a bare address and a
// hostname, which MISP lists of type "cidr" occasionally carry and the loader must skip.
constexpr std::string_view kMispList = R"({
  "description": "List containing IP's associated with Censys scanning [https://example.org/]",
  "list": [
    "162.142.125.0/24",
    "167.94.138.0/24",
    "2602:80d:1000:b0cc:e::/80",
    "2602:80d:1003::/112",
    "198.51.100.17",
    "scanner.example.org"
  ],
  "matching_attributes": [
    "ip-src",
    "ip-dst",
    "domain|ip",
    "ip-dst|port",
    "ip-src|port"
  ],
  "name": "Censys IP Ranges Used for Scanning",
  "type": "cidr",
  "version": 3
}
)";

TEST(LoadMisp, SharedFileShapeLoadsUnderItsName) {
    TempDir dir;
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    auto summary = lists.load_file(dir.write("censys-scanning.json", kMispList));
    EXPECT_EQ(summary.entries, 5u);
    EXPECT_EQ(summary.skipped, 1u);
    EXPECT_EQ(summary.label, "Censys IP Ranges Used for Scanning");
    EXPECT_EQ(lists.range_count(), 5u);
}

struct ListMatchCase {
    const char* test_name;
    std::string_view addr;
    std::optional<std::string_view> label;
};

const ListMatchCase kMispMatchCases[] = {
    {"V4Slash24First", "162.142.125.0", "Censys IP Ranges Used for Scanning"},
    {"V4Slash24Last", "167.94.138.255", "Censys IP Ranges Used for Scanning"},
    {"V4OutsideSlash24", "167.94.139.0", std::nullopt},
    {"BareAddressIsHostRoute", "198.51.100.17", "Censys IP Ranges Used for Scanning"},
    {"BareAddressNeighbour", "198.51.100.18", std::nullopt},
    {"V6Slash80", "2602:80d:1000:b0cc:e::abcd", "Censys IP Ranges Used for Scanning"},
    {"V6OutsideSlash80", "2602:80d:1000:b0cc:f::1", std::nullopt},
    {"V6Slash112Last", "2602:80d:1003::ffff", "Censys IP Ranges Used for Scanning"},
    {"V6OutsideSlash112", "2602:80d:1003::1:0", std::nullopt},
};

class MispMatch : public ::testing::TestWithParam<ListMatchCase> {};

TEST_P(MispMatch, LabelIsListName) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    lists.load_string(kMispList, "censys-scanning.json");
    EXPECT_EQ(lists.match(addr(GetParam().addr)), GetParam().label);
}

INSTANTIATE_TEST_SUITE_P(Table, MispMatch, ::testing::ValuesIn(kMispMatchCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(LoadMisp, OverrideReplacesJsonName) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    auto summary = lists.load_string(kMispList, "censys-scanning.json", "Censys");
    EXPECT_EQ(summary.label, "Censys");
    EXPECT_EQ(lists.match(addr("162.142.125.9")), "Censys");
}

struct JsonLabelCase {
    const char* test_name;
    std::string_view json;
    std::string_view label;
    size_t entries;
    size_t skipped;
};

const JsonLabelCase kJsonLabelCases[] = {
    {"MissingNameFallsBackToStem", R"({"list": ["192.0.2.0/24"]})", "my-list", 1, 0},
    {"EmptyNameFallsBackToStem", R"({"name": "", "list": ["192.0.2.0/24"]})", "my-list", 1, 0},
    {"NonStringNameFallsBackToStem", R"({"name": 7, "list": ["192.0.2.0/24"]})", "my-list", 1, 0},
    {"EmptyListLoadsNothing", R"({"name": "Empty", "list": []})", "Empty", 0, 0},
    {"NonStringEntriesSkipped",
     R"({"name": "Mixed", "list": [1, null, true, {"a": 1}, ["192.0.2.0/24"], "192.0.2.0/24"]})",
     "Mixed", 1, 5},
    {"UnparseableStringsSkipped",
     R"({"name": "Bad", "list": ["192.0.2.0/33", "", "host.example", " 192.0.2.0/24 "]})", "Bad", 1,
     3},
    {"LeadingWhitespaceStillJson", "\n\t  {\"name\": \"Spaced\", \"list\": [\"::/0\"]}", "Spaced",
     1, 0},
    {"Utf8BomStillJson", "\xEF\xBB\xBF{\"name\": \"Bom\", \"list\": [\"2001:db8::/32\"]}", "Bom", 1,
     0},
};

class JsonLabels : public ::testing::TestWithParam<JsonLabelCase> {};

TEST_P(JsonLabels, SummaryCountsAndLabel) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    auto summary = lists.load_string(GetParam().json, "/some/dir/my-list.json");
    EXPECT_EQ(summary.label, GetParam().label);
    EXPECT_EQ(summary.entries, GetParam().entries);
    EXPECT_EQ(summary.skipped, GetParam().skipped);
}

INSTANTIATE_TEST_SUITE_P(Table, JsonLabels, ::testing::ValuesIn(kJsonLabelCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

constexpr std::string_view kPlainList =
    "# research scanners seen at the edge\n"
    "\n"
    "192.0.2.0/24\n"
    "   198.51.100.7   # one host, indented, with a comment\n"
    "2001:db8:5::/48\r\n"
    "\t\n"
    "not-a-cidr\n"
    "203.0.113.0/33\n"
    "#203.0.113.0/24 commented out\n"
    "203.0.113.128/25";  // no final newline

TEST(LoadPlain, CommentsBlanksAndBadLines) {
    TempDir dir;
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    auto summary = lists.load_file(dir.write("edge-scanners.txt", kPlainList));
    EXPECT_EQ(summary.entries, 4u);
    EXPECT_EQ(summary.skipped, 2u);
    EXPECT_EQ(summary.label, "edge-scanners");
}

const ListMatchCase kPlainMatchCases[] = {
    {"Slash24", "192.0.2.200", "edge-scanners"},
    {"IndentedHostWithComment", "198.51.100.7", "edge-scanners"},
    {"HostNeighbour", "198.51.100.8", std::nullopt},
    {"CrLfLine", "2001:db8:5:ffff::1", "edge-scanners"},
    {"CommentedOutRangeLower", "203.0.113.1", std::nullopt},
    {"LastLineWithoutNewline", "203.0.113.129", "edge-scanners"},
};

class PlainMatch : public ::testing::TestWithParam<ListMatchCase> {};

TEST_P(PlainMatch, LabelIsFileStem) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    lists.load_string(kPlainList, "/etc/probescope/edge-scanners.txt");
    EXPECT_EQ(lists.match(addr(GetParam().addr)), GetParam().label);
}

INSTANTIATE_TEST_SUITE_P(Table, PlainMatch, ::testing::ValuesIn(kPlainMatchCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(LoadPlain, OverrideReplacesStem) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    auto summary = lists.load_string("192.0.2.0/24\n", "x.txt", "Edge");
    EXPECT_EQ(summary.label, "Edge");
    EXPECT_EQ(lists.match(addr("192.0.2.1")), "Edge");
}

TEST(LoadPlain, EmptyAndCommentOnlyFilesLoadNothing) {
    TempDir dir;
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    auto empty = lists.load_file(dir.write("empty.txt", ""));
    EXPECT_EQ(empty.entries, 0u);
    EXPECT_EQ(empty.skipped, 0u);
    EXPECT_EQ(empty.label, "empty");
    auto comments = lists.load_file(dir.write("comments.txt", "# nothing\n\n   # here\n"));
    EXPECT_EQ(comments.entries, 0u);
    EXPECT_EQ(comments.skipped, 0u);
}

TEST(LoadLists, MoreSpecificRangeWinsAcrossLists) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    lists.load_string("192.0.2.0/24\n", "broad.txt");
    lists.load_string(R"({"name": "Narrow", "list": ["192.0.2.128/25"]})", "narrow.json");
    EXPECT_EQ(lists.match(addr("192.0.2.1")), "broad");
    EXPECT_EQ(lists.match(addr("192.0.2.129")), "Narrow");
}

TEST(LoadLists, SameRangeKeepsFirstListsLabel) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    lists.load_string("192.0.2.0/24\n", "first.txt");
    auto second = lists.load_string("192.0.2.0/24\n", "second.txt");
    EXPECT_EQ(second.entries, 1u);
    EXPECT_EQ(lists.range_count(), 1u);
    EXPECT_EQ(lists.match(addr("192.0.2.1")), "first");
}

struct LoadErrorCase {
    const char* test_name;
    std::string_view content;
    // what() is "<path>" then exactly this; for JSON syntax errors nlohmann's own description
    // follows, which is its wording to change, so only the position in front is pinned.
    std::string_view message_after_path;
    bool library_detail_follows;
};

// Positions agree with nlohmann's own "line L, column C", which counts end of input as the
// column after the last character.

const LoadErrorCase kLoadErrorCases[] = {
    {"TruncatedJson", "{\n  \"name\": \"x\",\n  \"list\": [\"192.0.2.0/24\"",
     ":3:26: invalid JSON: ", true},
    {"BadTokenOnLineTwo", "{\"name\": \"x\",\n \"list\": [192.0.2.0/24]}",
     ":2:16: invalid JSON: ", true},
    {"TrailingGarbage", "{\"list\": []} extra", ":1:14: invalid JSON: ", true},
    // Well-formed, but no double holds it (found by fuzz_research_lists).
    {"NumberOutOfRange", "{\"name\": 1e999999, \"list\": []}", ": invalid JSON: ", true},
    {"NoListKey", R"({"name": "x", "entries": ["192.0.2.0/24"]})",
     ": JSON has no \"list\" array of CIDRs", false},
    {"ListIsString", R"({"name": "x", "list": "192.0.2.0/24"})",
     ": JSON has no \"list\" array of CIDRs", false},
    {"ListIsObject", R"({"name": "x", "list": {"a": "192.0.2.0/24"}})",
     ": JSON has no \"list\" array of CIDRs", false},
};

class LoadErrors : public ::testing::TestWithParam<LoadErrorCase> {};

TEST_P(LoadErrors, ThrowNamingFileAndPosition) {
    TempDir dir;
    std::string path = dir.write("broken.json", GetParam().content);
    std::string expected = path + std::string(GetParam().message_after_path);
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    try {
        lists.load_file(path);
        FAIL() << "expected probescope::Error";
    } catch (const Error& e) {
        std::string what = e.what();
        if (GetParam().library_detail_follows) {
            EXPECT_EQ(what.substr(0, expected.size()), expected);
            EXPECT_GT(what.size(), expected.size());
            // The library's "[json.exception...] parse error at line..." prefix is not repeated.
            EXPECT_EQ(what.find("json.exception"), std::string::npos) << what;
            EXPECT_EQ(what.find("parse error at"), std::string::npos) << what;
        } else {
            EXPECT_EQ(what, expected);
        }
        EXPECT_EQ(e.hint(),
                  "expected a MISP warninglist ({\"name\": ..., \"list\": [\"192.0.2.0/24\", "
                  "...]}) or plain text with one CIDR per line");
    }
    EXPECT_EQ(lists.range_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Table, LoadErrors, ::testing::ValuesIn(kLoadErrorCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(LoadErrors, MissingFileNamesPathAndCause) {
    TempDir dir;
    std::string path = (dir.path() / "absent.json").string();
    ResearchScannerLists lists;
    try {
        lists.load_file(path);
        FAIL() << "expected probescope::Error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot open research scanner list " + path + ": No such file or directory");
        EXPECT_EQ(e.hint(), "check the path and that it is readable");
    }
}

TEST(LoadErrors, DirectoryNamesPathAndCause) {
    TempDir dir;
    std::string path = dir.path().string();
    ResearchScannerLists lists;
    try {
        lists.load_file(path);
        FAIL() << "expected probescope::Error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot read research scanner list " + path + ": Is a directory");
        EXPECT_EQ(e.hint(), "check that the path is a regular, readable file");
    }
}

struct HostnameCase {
    const char* test_name;
    std::string_view host;
    std::optional<std::string_view> label;
};

const HostnameCase kHostnameCases[] = {
    {"SubdomainOfSuffix", "census1.shodan.io", "Shodan"},
    {"DeepSubdomain", "a.b.c.census.shodan.io", "Shodan"},
    {"ExactSuffix", "shodan.io", "Shodan"},
    {"UpperCaseHost", "CENSUS.SHODAN.IO", "Shodan"},
    {"MixedCaseWithRootDot", "Census.Shodan.Io.", "Shodan"},
    {"SurroundingSpaces", "  census.shodan.io \n", "Shodan"},
    {"SuffixGluedToLabel", "evilshodan.io", std::nullopt},
    {"SuffixThenMore", "shodan.io.attacker.example", std::nullopt},
    {"LongerTld", "census.shodan.iot", std::nullopt},
    {"TldAlone", "io", std::nullopt},
    {"PartialLastLabels", "hodan.io", std::nullopt},
    {"Empty", "", std::nullopt},
    {"RootOnly", ".", std::nullopt},
    {"Censys", "scanner-20.ch1.censys-scanner.com", "Censys"},
    {"Shadowserver", "scan-35b.shadowserver.org", "Shadowserver"},
    {"Rapid7Sonar", "worker-1.sonar.rapid7.com", "Rapid7 (Project Sonar)"},
    {"Umich", "researchscan541.eecs.umich.edu", "University of Michigan (researchscan)"},
    {"Berkeley", "researchscan0.eecs.berkeley.edu", "UC Berkeley (researchscan)"},
    {"NotBerkeley", "notberkeley.edu", std::nullopt},
    {"BinaryEdge", "m1.binaryedge.ninja", "BinaryEdge"},
    {"Stretchoid", "zg-0915a-1.stretchoid.com", "Stretchoid"},
    {"InternetCensus", "scan1.internet-census.org", "Internet Census"},
    {"OnypheNet", "probe-1.probe.onyphe.net", "ONYPHE"},
    {"OnypheIo", "scan.onyphe.io", "ONYPHE"},
    {"CriminalIp", "scan-1.criminalip.com", "Criminal IP"},
    {"AlphaStrike", "scanner.alphastrike.io", "AlphaStrike"},
    {"Ipip", "a.ipip.net", "IPIP.net"},
    {"LeakIx", "scan.leakix.net", "LeakIX"},
    {"NetSystemsResearch", "x.netsystemsresearch.com", "Net Systems Research"},
    {"UnrelatedHost", "mail.example.com", std::nullopt},
};

class HostnameLabels : public ::testing::TestWithParam<HostnameCase> {};

TEST_P(HostnameLabels, DefaultSuffixes) {
    static const ResearchScannerLists lists;
    EXPECT_EQ(lists.label_for_hostname(GetParam().host), GetParam().label);
}

INSTANTIATE_TEST_SUITE_P(Table, HostnameLabels, ::testing::ValuesIn(kHostnameCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(RdnsSuffixes, EveryDefaultMatchesItselfAndASubdomain) {
    ResearchScannerLists lists;
    ASSERT_EQ(default_rdns_suffixes().size(), 16u);
    for (const auto& s : default_rdns_suffixes()) {
        EXPECT_EQ(lists.label_for_hostname(s.suffix), s.label) << s.suffix;
        EXPECT_EQ(lists.label_for_hostname("x." + std::string(s.suffix)), s.label) << s.suffix;
        EXPECT_EQ(lists.label_for_hostname("x" + std::string(s.suffix)), std::nullopt) << s.suffix;
    }
}

TEST(RdnsSuffixes, NoneMeansNoDefaults) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    EXPECT_EQ(lists.label_for_hostname("census1.shodan.io"), std::nullopt);
}

TEST(RdnsSuffixes, LongerSuffixWins) {
    ResearchScannerLists lists;
    lists.add_rdns_suffix("sonar.rapid7.com", "Sonar");
    EXPECT_EQ(lists.label_for_hostname("w1.sonar.rapid7.com"), "Sonar");
    EXPECT_EQ(lists.label_for_hostname("www.rapid7.com"), "Rapid7 (Project Sonar)");
}

TEST(RdnsSuffixes, AddedSuffixIsNormalised) {
    ResearchScannerLists lists(ResearchScannerLists::Suffixes::kNone);
    lists.add_rdns_suffix("  .Scan.Example.COM. ", "Example");
    EXPECT_EQ(lists.label_for_hostname("host1.scan.example.com"), "Example");
    EXPECT_EQ(lists.label_for_hostname("scan.example.com"), "Example");
    EXPECT_EQ(lists.label_for_hostname("example.com"), std::nullopt);
}

TEST(RdnsSuffixes, ReAddingSuffixReplacesLabel) {
    ResearchScannerLists lists;
    lists.add_rdns_suffix("shodan.io", "Shodan (local name)");
    EXPECT_EQ(lists.label_for_hostname("census1.shodan.io"), "Shodan (local name)");
}

TEST(RdnsSuffixes, EmptySuffixThrows) {
    ResearchScannerLists lists;
    for (std::string_view empty : {"", " ", ".", ".."}) {
        try {
            lists.add_rdns_suffix(empty, "Everything");
            FAIL() << "expected probescope::Error for \"" << empty << "\"";
        } catch (const Error& e) {
            EXPECT_EQ(std::string(e.what()), "empty reverse-DNS suffix for label \"Everything\"");
            EXPECT_EQ(e.hint(),
                      "give a domain such as shodan.io; an empty suffix would match every host");
        }
    }
    EXPECT_EQ(lists.label_for_hostname("mail.example.com"), std::nullopt);
}

}  // namespace
}  // namespace probescope
