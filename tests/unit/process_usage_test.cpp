// Unit tests for process_usage.h: the agent's own CPU time and memory in its stats records.
#include "process_usage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <memory>

namespace probescope {
namespace {

int64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Spins until this thread has used ms of CPU; returns what it used.
double burn_ms(double ms) {
    const int64_t start = thread_cpu_ns();
    volatile uint64_t x = 0;
    while (thread_cpu_ns() - start < static_cast<int64_t>(ms * 1e6)) x = x + 1;
    return static_cast<double>(thread_cpu_ns() - start) / 1e6;
}

// The process's CPU time covers this thread's, so a sample is at least what was burnt since the
// one before (a lower bound: other threads and the clock reads add to it, never subtract).
TEST(UsageMeter, SampleCoversTheCpuSinceThePreviousSample) {
    UsageMeter m;
    const double first = burn_ms(30);
    EXPECT_GE(m.sample().cpu_ms, first);
    const double second = burn_ms(20);
    const AgentUsage u = m.sample();
    EXPECT_GE(u.cpu_ms, second);
    EXPECT_LT(u.cpu_ms, first + second);  // the first sample's 30 ms are not counted again
}

TEST(UsageMeter, CarryOverCountsTheDroppedSampleAgain) {
    UsageMeter m;
    m.sample();
    const double dropped = burn_ms(30);
    m.sample();
    m.carry_over();  // that record was not written
    const double next = burn_ms(20);
    EXPECT_GE(m.sample().cpu_ms, dropped + next);
}

TEST(UsageMeter, ResidentMemoryGrowsWithTouchedPages) {
    UsageMeter m;
    const uint64_t before = m.sample().rss_bytes;
    ASSERT_GT(before, 0u);
    constexpr size_t kBytes = 64 << 20;
    std::unique_ptr<char[]> block(new char[kBytes]);
    memset(block.get(), 1, kBytes);  // every page touched, so resident
    const uint64_t after = m.sample().rss_bytes;
    EXPECT_GE(after, before + kBytes - (4 << 20));  // the allocator may reuse freed pages
    EXPECT_EQ(block[kBytes - 1], 1);
}

TEST(MapMemlock, NoMapGivesZero) {
    EXPECT_EQ(map_memlock_bytes(-1), 0u);
    EXPECT_EQ(map_memlock_bytes(STDIN_FILENO), 0u);  // an fd that is not a BPF map
}

}  // namespace
}  // namespace probescope
