// The live clock: the program stamps probes with jiffies * tick + base, which the loader
// measures against CLOCK_MONOTONIC (LoadedProgram::calibrate_clock). The stamps must read as
// CLOCK_MONOTONIC ns, to within a tick, whether a probe is inserted or waits in src_pending.
#include "clock.h"

#include <bpf/bpf.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <regex>
#include <string>

#include "map_drain.h"
#include "xdp_fixture.h"

namespace probescope::test {
namespace {

TEST(TickNsec, RoundsToTheKernelsTickForTheNearestHz) {
    EXPECT_EQ(tick_nsec_from(40000000, 10), 4000000u);  // HZ 250
    EXPECT_EQ(tick_nsec_from(50003000, 15), 3333333u);  // HZ 300: (1e9 + 150) / 300
    EXPECT_EQ(tick_nsec_from(49990000, 5), 10000000u);  // HZ 100, a late tick
    EXPECT_EQ(tick_nsec_from(50000000, 50), 1000000u);  // HZ 1000
    EXPECT_EQ(tick_nsec_from(50200000, 12), 4000000u);  // 239 Hz: HZ 250, two ticks 200 µs apart
    EXPECT_EQ(tick_nsec_from(50000000, 14), 3333333u);  // 280 Hz: HZ 300 (7%), not 250 (12%)
    EXPECT_EQ(tick_nsec_from(50000000, 9), 0u);         // 180 Hz: 28% from HZ 250
    EXPECT_EQ(tick_nsec_from(3000000000ull, 3), 0u);    // HZ 1: no kernel's tick
    EXPECT_EQ(tick_nsec_from(1000000, 1000000), 0u);    // HZ 1e9: no kernel's tick
    EXPECT_EQ(tick_nsec_from(50000000, 0), 0u);         // jiffies did not move
    EXPECT_EQ(tick_nsec_from(0, 5), 0u);
}

int64_t clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// When a test run happened: CLOCK_MONOTONIC before and after it, and CLOCK_MONOTONIC_COARSE
// before it. The coarse clock moves at the tick, as jiffies do: a tick the hypervisor delivers
// late (a TCG guest under load: 9 ms on a 4 ms tick was seen) holds both back alike.
struct RunWindow {
    int64_t first;
    int64_t second;
    int64_t coarse_first;
};

// CONFIG_HZ of the running kernel, from /proc/config.gz or /boot/config-RELEASE (zlib reads
// either); 0 when neither is there.
uint64_t config_hz() {
    utsname u{};
    uname(&u);
    static const std::regex hz("^CONFIG_HZ=([0-9]+)\\s*$");
    for (const std::string& path :
         {std::string("/proc/config.gz"), std::string("/boot/config-") + u.release}) {
        gzFile f = gzopen(path.c_str(), "rb");
        if (!f) continue;
        char line[512];
        std::smatch m;
        uint64_t found = 0;
        while (!found && gzgets(f, line, sizeof(line))) {
            const std::string text(line);
            if (std::regex_match(text, m, hz)) found = std::stoull(m[1]);
        }
        gzclose(f);
        if (found) return found;
    }
    return 0;
}

class LiveClockTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "loading XDP programs needs root";
        prog_ = LoadedProgram::load({1024, PS_CLOCK_JIFFIES, "", {}});
        tick_ = prog_->tick_ns();
    }
    // One SYN; returns the window it ran in.
    RunWindow syn(const char* src, uint16_t port) {
        Frame f = PacketBuilder().eth().ipv4(src, kTarget4).tcp(kScannerPort, port, PS_TCP_SYN);
        bpf_test_run_opts opts{};
        opts.sz = sizeof(opts);
        opts.data_in = f.data();
        opts.data_size_in = static_cast<uint32_t>(f.size());
        opts.repeat = 1;
        const int64_t coarse = clock_ns(CLOCK_MONOTONIC_COARSE);
        const int64_t before = clock_ns(CLOCK_MONOTONIC);
        EXPECT_EQ(bpf_prog_test_run_opts(prog_->prog_fd(), &opts), 0);
        return {before, clock_ns(CLOCK_MONOTONIC), coarse};
    }
    // The earliest a stamp of a run in w may read, but for the slack of the base: the last
    // tick before w.first is no more than a tick before it, unless the ticks ran late; then it
    // is no earlier than the coarse clock read just before (a late tick holds both back). On
    // time, the coarse clock is within a tick of w.first and the tick bound is the one used.
    int64_t earliest(const RunWindow& w) const {
        return std::min(w.first - static_cast<int64_t>(tick_), w.coarse_first);
    }
    // A stamp taken in [from, to] is the time of the last tick before it: no earlier than
    // earliest(), less a tick of slack for the base. Not after `to`, but for the latency of
    // the ticks the base was measured at (under a hypervisor, up to a tick): one of slack.
    void expect_within(uint64_t stamp, const RunWindow& w, const char* what) {
        const int64_t tick = static_cast<int64_t>(tick_);
        EXPECT_LE(static_cast<int64_t>(stamp), w.second + tick) << what;
        EXPECT_GE(static_cast<int64_t>(stamp), earliest(w) - tick)
            << what << " (ran in [" << w.first << ", " << w.second << "], coarse clock "
            << w.coarse_first << ", tick " << tick << ")";
    }
    std::unique_ptr<LoadedProgram> prog_;
    uint64_t tick_ = 0;
};

// The tick the loader chose must be the kernel's: two probes 400 ms apart are stamped as far
// apart as CLOCK_MONOTONIC says, to within two ticks (a wrong HZ, 250 for 300, is 20% off).
TEST_F(LiveClockTest, TheTickIsTheKernels) {
    if (uint64_t hz = config_hz()) {
        EXPECT_EQ(tick_, (1000000000ull + hz / 2) / hz);
    }
    const auto first = syn("203.0.113.9", 22);
    usleep(400000);
    const auto second = syn("203.0.113.9", 23);
    MapDrain drain(prog_->map_fds(), prog_->src_capacity());
    const auto by_key = drain_by_source(drain);
    ASSERT_TRUE(by_key.contains(v4_key("203.0.113.9")));
    const ps_src_stats& s = by_key.at(v4_key("203.0.113.9"));
    const int64_t stamped = static_cast<int64_t>(s.last_seen_ns - s.first_seen_ns);
    const int64_t tick = static_cast<int64_t>(tick_);
    EXPECT_GE(stamped, earliest(second) - first.second - tick) << "tick " << tick_;
    EXPECT_LE(stamped, second.second - first.first + 2 * tick) << "tick " << tick_;
}

TEST_F(LiveClockTest, StampsReadAsClockMonotonicInsertedOrWaiting) {
    // A: a first probe (waits in src_pending), then 60 ms later a second one (the insert).
    // B: one probe, still waiting when the map is drained.
    const auto a1 = syn("192.0.2.10", 22);
    usleep(60000);
    const auto a2 = syn("192.0.2.10", 80);
    const auto b1 = syn("198.51.100.7", 443);

    MapDrain drain(prog_->map_fds(), prog_->src_capacity());
    const auto by_key = drain_by_source(drain);
    ASSERT_EQ(by_key.size(), 2u);
    ASSERT_TRUE(by_key.contains(v4_key("192.0.2.10")));
    ASSERT_TRUE(by_key.contains(v4_key("198.51.100.7")));
    const ps_src_stats& a = by_key.at(v4_key("192.0.2.10"));
    const ps_src_stats& b = by_key.at(v4_key("198.51.100.7"));
    EXPECT_EQ(a.technique[PS_TECH_SYN], 2u);
    expect_within(a.first_seen_ns, a1, "A's first probe (promoted from src_pending)");
    expect_within(a.last_seen_ns, a2, "A's second probe (inserted)");
    // At least the 60 ms slept, less two ticks (or the lateness of the second run's tick).
    EXPECT_GE(static_cast<int64_t>(a.last_seen_ns - a.first_seen_ns),
              earliest(a2) - a1.second - static_cast<int64_t>(tick_));
    EXPECT_LE(static_cast<int64_t>(a.last_seen_ns - a.first_seen_ns),
              a2.second - a1.first + 2 * static_cast<int64_t>(tick_));
    expect_within(b.first_seen_ns, b1, "B's probe (drained from src_pending)");
    EXPECT_EQ(b.last_seen_ns, b.first_seen_ns);
}

}  // namespace
}  // namespace probescope::test
