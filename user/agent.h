// `probescope run`: attach, drain every interval, emit JSON lines, detach on exit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "thresholds.h"

namespace probescope {

struct RunOptions {
    std::string iface;
    std::string mode = "auto";
    bool force = false;
    bool persist = false;
    double interval_s = 1.0;
    std::string output;  // empty: stdout
    uint32_t max_sources = 65536;
    std::string pin_root = "/sys/fs/bpf/probescope";
    uint32_t top_ports = 50;  // port records per interval
    Thresholds thresholds;
    std::vector<std::string> research_lists;  // MISP warninglist JSON or one CIDR per line
    bool rdns = true;
    std::string services = "/etc/services";
};

// Validates options before anything touches the kernel; throws Error on a bad value.
void validate(const RunOptions& o);

// Returns the process exit code.
int run_agent(const RunOptions& o);
// `probescope detach`: removes a (persisted or crashed) probescope's link and pins.
int detach_iface(const std::string& iface, const std::string& pin_root);

}  // namespace probescope
