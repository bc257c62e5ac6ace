// Asynchronous reverse DNS with a bounded LRU cache, so labelling sources never waits on DNS.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "addr.h"

namespace probescope {

// getnameinfo(NI_NAMEREQD): the PTR name, or nullopt when there is none or DNS fails. The name
// is whatever the address's owner put in its reverse zone, not verified by a forward lookup.
std::optional<std::string> system_reverse_lookup(const Addr16& addr);

class ReverseDns {
public:
    using Resolver = std::function<std::optional<std::string>(const Addr16&)>;

    struct Stats {
        uint64_t requests = 0;  // calls to request()
        uint64_t resolved = 0;  // resolver calls that returned a name
        uint64_t failed = 0;    // resolver calls that returned nothing (or threw)
        uint64_t dropped = 0;   // requests not queued because the queue was full
    };

    enum class Status { kUnknown, kPending, kResolved, kFailed };

    // cache_capacity counts names and negative entries alike (at least 1). queue_capacity bounds
    // lookups waiting for the worker; further requests are dropped, not queued, so a flood of
    // new sources costs bounded memory. The worker thread starts here and calls resolver.
    ReverseDns(size_t cache_capacity, size_t queue_capacity,
               Resolver resolver = system_reverse_lookup);
    // Stops the worker and joins it; waits for a resolver call already in progress.
    ~ReverseDns();
    ReverseDns(const ReverseDns&) = delete;
    ReverseDns& operator=(const ReverseDns&) = delete;

    // Queues addr for resolution unless it is cached, already pending, or the queue is full.
    // Never waits for DNS.
    void request(const Addr16& addr);
    // The cached name, if resolved; nullopt if unknown, pending or failed. Never waits for DNS.
    std::optional<std::string> lookup(const Addr16& addr) const;
    Status status(const Addr16& addr) const;
    Stats stats() const;
    size_t cache_size() const;

private:
    struct Entry {
        Addr16 addr;
        std::optional<std::string> name;  // nullopt: a cached failure, so it is not retried
    };
    using Lru = std::list<Entry>;  // front = most recently used

    void run_worker();
    void store(const Addr16& addr, std::optional<std::string> name);  // mu_ held

    const size_t cache_capacity_;
    const size_t queue_capacity_;
    const Resolver resolver_;

    mutable std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::deque<Addr16> queue_;
    std::unordered_set<Addr16, Addr16Hash> pending_;  // queued or being resolved
    mutable Lru lru_;  // lookup() refreshes recency, so it moves entries even when const
    std::unordered_map<Addr16, Lru::iterator, Addr16Hash> cache_;
    Stats stats_;

    std::thread worker_;  // last: starts only after every member it uses is constructed
};

}  // namespace probescope
