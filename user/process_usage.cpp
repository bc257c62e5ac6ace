// UsageMeter and the /proc readings behind it.
#include "process_usage.h"

#include <unistd.h>

#include <ctime>
#include <fstream>
#include <string>

namespace probescope {

int64_t process_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint64_t resident_bytes() {
    std::ifstream in("/proc/self/statm");
    uint64_t size = 0, resident = 0;
    if (!(in >> size >> resident)) return 0;
    return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t map_memlock_bytes(int fd) {
    if (fd < 0) return 0;
    std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("memlock:", 0) == 0) return std::stoull(line.substr(8));
    return 0;
}

AgentUsage UsageMeter::sample() {
    const int64_t now = process_cpu_ns();
    AgentUsage u;
    u.cpu_ms = static_cast<double>(now - prev_ns_) / 1e6;
    u.rss_bytes = resident_bytes();
    before_ns_ = prev_ns_;
    prev_ns_ = now;
    return u;
}

}  // namespace probescope
