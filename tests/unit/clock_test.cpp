// Unit tests for clock.h: RFC 3339 text of probescope times, which every JSON record carries.
#include "clock.h"

#include <gtest/gtest.h>

#include <string>

#include "case_print.h"

namespace probescope {
namespace {

struct Rfc3339Case {
    const char* test_name;
    int64_t unix_ns;
    const char* text;
};

// Milliseconds are floored (the instant lies inside the printed millisecond), both sides of 1970.
const Rfc3339Case kCases[] = {
    {"Epoch", 0, "1970-01-01T00:00:00.000Z"},
    {"KnownTimeWithMilliseconds", 1700000000123456789, "2023-11-14T22:13:20.123Z"},
    {"SubMillisecondIsTruncatedNotRounded", 1700000000999999999, "2023-11-14T22:13:20.999Z"},
    {"OneNanosecondAfterEpoch", 1, "1970-01-01T00:00:00.000Z"},
    {"OneAndAHalfMsAfterEpoch", 1500000, "1970-01-01T00:00:00.001Z"},
    {"LeapDay", 951782400000000000 + 7 * 1000000, "2000-02-29T00:00:00.007Z"},
    {"EndOfYear", 1704067199999000000, "2023-12-31T23:59:59.999Z"},
    {"OneMsBeforeEpoch", -1000000, "1969-12-31T23:59:59.999Z"},
    {"HalfSecondBeforeEpoch", -500000000, "1969-12-31T23:59:59.500Z"},
    {"OneSecondBeforeEpoch", -1000000000, "1969-12-31T23:59:59.000Z"},
    {"OneAndAHalfSecondsBeforeEpoch", -1500000000, "1969-12-31T23:59:58.500Z"},
    {"OneNanosecondBeforeEpoch", -1, "1969-12-31T23:59:59.999Z"},
    {"OneAndAHalfMsBeforeEpoch", -1500000, "1969-12-31T23:59:59.998Z"},
};

class Rfc3339 : public ::testing::TestWithParam<Rfc3339Case> {};

TEST_P(Rfc3339, Formats) { EXPECT_EQ(rfc3339(GetParam().unix_ns), GetParam().text); }

INSTANTIATE_TEST_SUITE_P(Table, Rfc3339, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.test_name); });

TEST(ClockUnixEpoch, StampsAreAlreadyUnixNanoseconds) {
    const Clock c = Clock::unix_epoch();
    EXPECT_EQ(c.to_unix_ns(0), 0);
    EXPECT_EQ(c.to_unix_ns(1700000000123456789ull), 1700000000123456789);
}

// Live stamps are CLOCK_MONOTONIC; converted, "now" must land near the wall clock.
TEST(ClockMonotonic, NowConvertsToWallClockTime) {
    const Clock c = Clock::monotonic();
    const int64_t wall = Clock::unix_epoch().to_unix_ns(Clock::unix_epoch().now_stamp());
    EXPECT_NEAR(static_cast<double>(c.to_unix_ns(c.now_stamp())), static_cast<double>(wall), 1e9);
}

}  // namespace
}  // namespace probescope
