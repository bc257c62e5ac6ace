// Unit tests for rdns.h: the queue, cache and worker of ReverseDns, with a fake resolver.
// The test machine has no DNS, so the resolver is the constructor's injected function.
#include "rdns.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "addr.h"

namespace probescope {
namespace {

using namespace std::chrono_literals;

Addr16 addr(std::string_view text) { return parse_addr(text).value(); }

// Polls until done() or a generous deadline; the worker is a real thread, so tests wait for
// what it did rather than for how long it might take.
template <typename Pred>
bool eventually(Pred done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// Answers from a fixed table, counting calls; while closed it holds every call at the gate, so
// a test can look at the cache while a resolution is in flight.
class FakeResolver {
public:
    explicit FakeResolver(std::map<Addr16, std::string> names, bool open = true)
        : names_(std::move(names)), open_(open) {}

    ReverseDns::Resolver function() {
        return [this](const Addr16& a) -> std::optional<std::string> {
            std::unique_lock lock(mu_);
            ++calls_[a];
            ++entered_;
            gate_.wait(lock, [this] { return open_; });
            auto it = names_.find(a);
            if (it == names_.end()) return std::nullopt;
            return it->second;
        };
    }
    void open() {
        {
            std::lock_guard lock(mu_);
            open_ = true;
        }
        gate_.notify_all();
    }
    int calls(const Addr16& a) const {
        std::lock_guard lock(mu_);
        auto it = calls_.find(a);
        return it == calls_.end() ? 0 : it->second;
    }
    int entered() const {
        std::lock_guard lock(mu_);
        return entered_;
    }

private:
    const std::map<Addr16, std::string> names_;
    mutable std::mutex mu_;
    std::condition_variable gate_;
    bool open_;
    std::map<Addr16, int> calls_;
    int entered_ = 0;
};

// Opens the gate before the ReverseDns is destroyed, since its destructor joins the worker.
struct GateOpener {
    FakeResolver& resolver;
    ~GateOpener() { resolver.open(); }
};

const Addr16 kScanner = addr("192.0.2.10");
const Addr16 kScannerV6 = addr("2001:db8::10");
const Addr16 kNoPtr = addr("198.51.100.1");

TEST(ReverseDns, LookupBeforeResolutionIsNulloptWhileResolverIsBusy) {
    FakeResolver fake({{kScanner, "census1.shodan.io"}}, /*open=*/false);
    ReverseDns rdns(16, 16, fake.function());
    GateOpener opener{fake};

    EXPECT_EQ(rdns.status(kScanner), ReverseDns::Status::kUnknown);
    rdns.request(kScanner);
    ASSERT_TRUE(eventually([&] { return fake.entered() == 1; }));
    // The resolver is stuck at the gate: answering here proves lookup() does not wait for it.
    EXPECT_EQ(rdns.lookup(kScanner), std::nullopt);
    EXPECT_EQ(rdns.status(kScanner), ReverseDns::Status::kPending);

    fake.open();
    ASSERT_TRUE(eventually([&] { return rdns.lookup(kScanner).has_value(); }));
    EXPECT_EQ(rdns.lookup(kScanner), "census1.shodan.io");
    EXPECT_EQ(rdns.status(kScanner), ReverseDns::Status::kResolved);
    auto stats = rdns.stats();
    EXPECT_EQ(stats.requests, 1u);
    EXPECT_EQ(stats.resolved, 1u);
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_EQ(stats.dropped, 0u);
}

TEST(ReverseDns, ResolvesIpv6) {
    FakeResolver fake({{kScannerV6, "scan.example.net"}});
    ReverseDns rdns(16, 16, fake.function());
    rdns.request(kScannerV6);
    ASSERT_TRUE(eventually([&] { return rdns.lookup(kScannerV6).has_value(); }));
    EXPECT_EQ(rdns.lookup(kScannerV6), "scan.example.net");
}

TEST(ReverseDns, RepeatedRequestsWhilePendingResolveOnce) {
    FakeResolver fake({{kScanner, "census1.shodan.io"}}, /*open=*/false);
    ReverseDns rdns(16, 16, fake.function());
    GateOpener opener{fake};
    for (int i = 0; i < 5; ++i) rdns.request(kScanner);
    fake.open();
    ASSERT_TRUE(eventually([&] { return rdns.lookup(kScanner).has_value(); }));
    for (int i = 0; i < 5; ++i) rdns.request(kScanner);  // now cached
    EXPECT_EQ(fake.calls(kScanner), 1);
    EXPECT_EQ(rdns.stats().requests, 10u);
    EXPECT_EQ(rdns.stats().resolved, 1u);
}

TEST(ReverseDns, NegativeResultIsCachedAndNotRetried) {
    FakeResolver fake({});
    ReverseDns rdns(16, 16, fake.function());
    rdns.request(kNoPtr);
    ASSERT_TRUE(eventually([&] { return rdns.status(kNoPtr) == ReverseDns::Status::kFailed; }));
    EXPECT_EQ(rdns.lookup(kNoPtr), std::nullopt);
    rdns.request(kNoPtr);
    rdns.request(kNoPtr);
    EXPECT_EQ(rdns.status(kNoPtr), ReverseDns::Status::kFailed);
    EXPECT_EQ(fake.calls(kNoPtr), 1);
    auto stats = rdns.stats();
    EXPECT_EQ(stats.requests, 3u);
    EXPECT_EQ(stats.resolved, 0u);
    EXPECT_EQ(stats.failed, 1u);
    EXPECT_EQ(rdns.cache_size(), 1u);
}

TEST(ReverseDns, ThrowingResolverCountsAsFailure) {
    ReverseDns rdns(16, 16, [](const Addr16&) -> std::optional<std::string> {
        throw std::runtime_error("resolver blew up");
    });
    rdns.request(kScanner);
    ASSERT_TRUE(eventually([&] { return rdns.status(kScanner) == ReverseDns::Status::kFailed; }));
    // The worker survived: a second address is still resolved (and fails the same way).
    rdns.request(kNoPtr);
    ASSERT_TRUE(eventually([&] { return rdns.stats().failed == 2; }));
}

Addr16 nth(uint8_t n) {
    Addr16 a = addr("203.0.113.0");
    a[15] = n;
    return a;
}

TEST(ReverseDns, FullQueueDropsAndCounts) {
    FakeResolver fake({{nth(0), "h0"}, {nth(1), "h1"}, {nth(2), "h2"}}, /*open=*/false);
    ReverseDns rdns(16, /*queue_capacity=*/2, fake.function());
    GateOpener opener{fake};

    rdns.request(nth(0));
    // Once the worker holds nth(0) at the gate, the queue is empty and has room for two.
    ASSERT_TRUE(eventually([&] { return fake.entered() == 1; }));
    rdns.request(nth(1));
    rdns.request(nth(2));
    rdns.request(nth(3));  // dropped
    rdns.request(nth(4));  // dropped
    rdns.request(nth(1));  // already queued: neither queued again nor dropped
    EXPECT_EQ(rdns.stats().dropped, 2u);
    EXPECT_EQ(rdns.status(nth(3)), ReverseDns::Status::kUnknown);
    EXPECT_EQ(rdns.status(nth(2)), ReverseDns::Status::kPending);

    fake.open();
    ASSERT_TRUE(eventually([&] { return rdns.stats().resolved == 3; }));
    auto stats = rdns.stats();
    EXPECT_EQ(stats.requests, 6u);
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_EQ(stats.dropped, 2u);
    EXPECT_EQ(fake.calls(nth(3)), 0);
    EXPECT_EQ(rdns.lookup(nth(2)), "h2");

    // A dropped address can be asked for again once there is room.
    rdns.request(nth(3));
    ASSERT_TRUE(eventually([&] { return rdns.stats().failed == 1; }));
    EXPECT_EQ(fake.calls(nth(3)), 1);
}

TEST(ReverseDns, ZeroQueueCapacityDropsEverything) {
    FakeResolver fake({{kScanner, "x"}});
    ReverseDns rdns(16, 0, fake.function());
    rdns.request(kScanner);
    rdns.request(kScanner);
    EXPECT_EQ(rdns.stats().dropped, 2u);
    EXPECT_EQ(rdns.status(kScanner), ReverseDns::Status::kUnknown);
}

// Resolves one address and waits until it is in the cache.
void resolve(ReverseDns& rdns, const Addr16& a) {
    uint64_t done_before = rdns.stats().resolved + rdns.stats().failed;
    rdns.request(a);
    ASSERT_TRUE(
        eventually([&] { return rdns.stats().resolved + rdns.stats().failed == done_before + 1; }));
}

TEST(ReverseDns, CacheIsBoundedAndEvictsLeastRecentlyUsed) {
    FakeResolver fake({{nth(1), "h1"}, {nth(2), "h2"}, {nth(3), "h3"}});
    ReverseDns rdns(/*cache_capacity=*/2, 16, fake.function());
    resolve(rdns, nth(1));
    resolve(rdns, nth(2));
    EXPECT_EQ(rdns.cache_size(), 2u);
    EXPECT_EQ(rdns.lookup(nth(1)), "h1");  // now nth(2) is the least recently used
    resolve(rdns, nth(3));
    EXPECT_EQ(rdns.cache_size(), 2u);
    EXPECT_EQ(rdns.status(nth(2)), ReverseDns::Status::kUnknown);
    EXPECT_EQ(rdns.lookup(nth(2)), std::nullopt);
    EXPECT_EQ(rdns.lookup(nth(1)), "h1");
    EXPECT_EQ(rdns.lookup(nth(3)), "h3");
    // Evicted means forgotten: asking again resolves again.
    resolve(rdns, nth(2));
    EXPECT_EQ(fake.calls(nth(2)), 2);
    EXPECT_EQ(rdns.cache_size(), 2u);
}

TEST(ReverseDns, NegativeEntriesCountTowardsCapacity) {
    FakeResolver fake({{nth(1), "h1"}});
    ReverseDns rdns(/*cache_capacity=*/1, 16, fake.function());
    resolve(rdns, nth(1));
    resolve(rdns, nth(9));  // fails, and evicts nth(1)
    EXPECT_EQ(rdns.cache_size(), 1u);
    EXPECT_EQ(rdns.status(nth(9)), ReverseDns::Status::kFailed);
    EXPECT_EQ(rdns.status(nth(1)), ReverseDns::Status::kUnknown);
}

TEST(ReverseDns, ManyAddressesStayWithinCapacity) {
    ReverseDns rdns(/*cache_capacity=*/10, 300, [](const Addr16& a) -> std::optional<std::string> {
        return "h" + std::to_string(a[15]);
    });
    for (int i = 0; i < 200; ++i) rdns.request(nth(static_cast<uint8_t>(i)));
    ASSERT_TRUE(eventually([&] { return rdns.stats().resolved == 200; }));
    EXPECT_EQ(rdns.cache_size(), 10u);
    EXPECT_EQ(rdns.lookup(nth(199)), "h199");
    EXPECT_EQ(rdns.lookup(nth(0)), std::nullopt);
}

TEST(ReverseDns, DestructorJoinsWithWorkStillQueued) {
    FakeResolver fake({}, /*open=*/false);
    {
        auto rdns = std::make_unique<ReverseDns>(16, 64, fake.function());
        for (int i = 0; i < 50; ++i) rdns->request(nth(static_cast<uint8_t>(i)));
        ASSERT_TRUE(eventually([&] { return fake.entered() == 1; }));
        fake.open();
        rdns.reset();  // must return: the in-flight call finishes, the rest are abandoned
    }
    EXPECT_LE(fake.entered(), 50);
}

TEST(ReverseDns, ConcurrentRequestersAndReaders) {
    // Room for every address, so each is resolved exactly once however the threads interleave.
    ReverseDns rdns(128, 1024, [](const Addr16& a) -> std::optional<std::string> {
        if (a[15] % 2) return std::nullopt;
        return "h" + std::to_string(a[15]);
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) {
                rdns.request(nth(static_cast<uint8_t>(i % 100)));
                (void)rdns.lookup(nth(static_cast<uint8_t>(i % 100)));
            }
        });
    for (auto& t : threads) t.join();
    ASSERT_TRUE(eventually([&] { return rdns.stats().resolved + rdns.stats().failed == 100; }));
    auto stats = rdns.stats();
    EXPECT_EQ(stats.requests, 4000u);
    EXPECT_EQ(stats.resolved, 50u);
    EXPECT_EQ(stats.failed, 50u);
    EXPECT_EQ(stats.dropped, 0u);
    EXPECT_EQ(rdns.lookup(nth(42)), "h42");
}

}  // namespace
}  // namespace probescope
