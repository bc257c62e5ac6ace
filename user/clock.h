// The probescope clock: what first/last-seen times in the maps mean, and how to print them.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace probescope {

// Live: the program stamps CLOCK_MONOTONIC(_COARSE) ns; replay: capture time in Unix ns.
class Clock {
public:
    static Clock monotonic();   // offset measured now
    static Clock unix_epoch();  // stamps already are Unix ns
    int64_t to_unix_ns(uint64_t stamp_ns) const {
        return static_cast<int64_t>(stamp_ns) + offset_ns_;
    }
    uint64_t now_stamp() const;  // the current time on this clock

private:
    explicit Clock(int64_t offset, bool mono) : offset_ns_(offset), monotonic_(mono) {}
    int64_t offset_ns_;
    bool monotonic_;
};

// CLOCK_MONOTONIC in ns: for timeouts and interval timing.
int64_t mono_ns();

// RFC 3339 UTC with milliseconds, e.g. 2026-11-22T07:17:25.123Z.
std::string rfc3339(int64_t unix_ns);

}  // namespace probescope
