// What the agent itself costs, for its stats records: its CPU time between records, its resident
// memory, and what the kernel charges for a map (pure: /proc and clocks, no BPF call).
#pragma once
#include <cstdint>

namespace probescope {

struct AgentUsage {
    double cpu_ms = 0;       // CPU time of the whole process (every thread, user + system)
    uint64_t rss_bytes = 0;  // resident memory now
};

// CPU time of this process (CLOCK_PROCESS_CPUTIME_ID), in ns.
int64_t process_cpu_ns();
// Resident memory of this process now (/proc/self/statm), in bytes; 0 if unreadable.
uint64_t resident_bytes();
// What the kernel charges for the map behind fd (its fdinfo "memlock"), in bytes; 0 if unknown.
uint64_t map_memlock_bytes(int fd);

// Samples the process between stats records: each sample's CPU time is what the process used
// since the previous sample (the first: since the meter was made).
class UsageMeter {
public:
    UsageMeter() : prev_ns_(process_cpu_ns()), before_ns_(prev_ns_) {}
    AgentUsage sample();
    // The last sample's record was not written: the next sample counts its CPU time again, as
    // the next stats record carries the dropped one's counts.
    void carry_over() { prev_ns_ = before_ns_; }

private:
    int64_t prev_ns_, before_ns_;
};

}  // namespace probescope
