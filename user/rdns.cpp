// ReverseDns: one worker thread drains a bounded queue into a bounded LRU cache.
#include "rdns.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace probescope {

std::optional<std::string> system_reverse_lookup(const Addr16& addr) {
    sockaddr_storage storage{};
    socklen_t len;
    if (is_v4_mapped(addr.data())) {
        // As AF_INET the query goes to in-addr.arpa without relying on libc to unmap ::ffff:.
        auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
        sin->sin_family = AF_INET;
        std::memcpy(&sin->sin_addr, addr.data() + 12, 4);
        len = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
        sin6->sin6_family = AF_INET6;
        std::memcpy(&sin6->sin6_addr, addr.data(), 16);
        len = sizeof(sockaddr_in6);
    }
    char host[NI_MAXHOST];
    if (getnameinfo(reinterpret_cast<sockaddr*>(&storage), len, host, sizeof(host), nullptr, 0,
                    NI_NAMEREQD) != 0)
        return std::nullopt;
    return std::string(host);
}

ReverseDns::ReverseDns(size_t cache_capacity, size_t queue_capacity, Resolver resolver)
    : cache_capacity_(std::max<size_t>(cache_capacity, 1)),
      queue_capacity_(queue_capacity),
      resolver_(std::move(resolver)) {
    worker_ = std::thread([this] { run_worker(); });
}

ReverseDns::~ReverseDns() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
}

void ReverseDns::request(const Addr16& addr) {
    std::lock_guard lock(mu_);
    ++stats_.requests;
    if (cache_.contains(addr) || pending_.contains(addr)) return;
    if (queue_.size() >= queue_capacity_) {
        ++stats_.dropped;
        return;
    }
    queue_.push_back(addr);
    pending_.insert(addr);
    wake_.notify_one();
}

std::optional<std::string> ReverseDns::lookup(const Addr16& addr) const {
    std::lock_guard lock(mu_);
    auto it = cache_.find(addr);
    if (it == cache_.end()) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->name;
}

ReverseDns::Status ReverseDns::status(const Addr16& addr) const {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(addr); it != cache_.end())
        return it->second->name ? Status::kResolved : Status::kFailed;
    return pending_.contains(addr) ? Status::kPending : Status::kUnknown;
}

ReverseDns::Stats ReverseDns::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

size_t ReverseDns::cache_size() const {
    std::lock_guard lock(mu_);
    return cache_.size();
}

void ReverseDns::run_worker() {
    std::unique_lock lock(mu_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        Addr16 addr = queue_.front();
        queue_.pop_front();
        // DNS can take seconds; request() and lookup() must not wait for it.
        lock.unlock();
        std::optional<std::string> name;
        try {
            name = resolver_(addr);
        } catch (...) {
            // An escaping exception would end the process; a throwing resolver is a failure.
        }
        lock.lock();
        pending_.erase(addr);
        ++(name ? stats_.resolved : stats_.failed);
        store(addr, std::move(name));
    }
}

void ReverseDns::store(const Addr16& addr, std::optional<std::string> name) {
    if (auto it = cache_.find(addr); it != cache_.end()) {
        it->second->name = std::move(name);
        lru_.splice(lru_.begin(), lru_, it->second);
        return;
    }
    lru_.push_front(Entry{addr, std::move(name)});
    cache_.emplace(addr, lru_.begin());
    if (cache_.size() > cache_capacity_) {
        cache_.erase(lru_.back().addr);
        lru_.pop_back();
    }
}

}  // namespace probescope
