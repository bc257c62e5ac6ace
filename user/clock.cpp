// Clock conversion and RFC 3339 formatting.
#include "clock.h"

#include <ctime>

namespace probescope {

static int64_t read_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t mono_ns() { return read_ns(CLOCK_MONOTONIC); }

Clock Clock::monotonic() { return Clock(read_ns(CLOCK_REALTIME) - read_ns(CLOCK_MONOTONIC), true); }

Clock Clock::unix_epoch() { return Clock(0, false); }

uint64_t Clock::now_stamp() const {
    return static_cast<uint64_t>(monotonic_ ? read_ns(CLOCK_MONOTONIC) : read_ns(CLOCK_REALTIME));
}

std::string rfc3339(int64_t unix_ns) {
    // Floor division, so that times before the epoch print the millisecond they fall in.
    int64_t secs = unix_ns / 1000000000;
    int64_t rem = unix_ns % 1000000000;
    if (rem < 0) {
        rem += 1000000000;
        --secs;
    }
    int64_t ms = rem / 1000000;
    time_t t = static_cast<time_t>(secs);
    tm utc{};
    gmtime_r(&t, &utc);
    char buf[64];
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms));
    return buf;
}

}  // namespace probescope
