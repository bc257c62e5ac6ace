// `probescope run`: attach, drain every interval, emit JSON lines, detach on exit.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
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
    // Records served to `probescope top`: empty means /run/probescope/<iface>.sock, "none" off.
    std::string socket;
};

// Validates options before anything touches the kernel; throws Error on a bad value.
void validate(const RunOptions& o);

// One probescope on an interface: the program loaded and attached, and the drain pipeline
// (MapDrain, IntervalProcessor) that `run` and `top` share. With watch_persisted, a program
// that `run --persist` left attached is read through its pinned maps instead (and left so).
class AgentSession {
public:
    using Emit = std::function<void(const nlohmann::json&)>;
    // What can be checked before loading anything: options, interface, privilege, bpffs,
    // kernel, no foreign XDP program. Throws Error.
    static void preflight(const RunOptions& o, bool watch_persisted = false);
    explicit AgentSession(const RunOptions& o, bool watch_persisted = false);
    ~AgentSession();
    AgentSession(const AgentSession&) = delete;
    AgentSession& operator=(const AgentSession&) = delete;

    // Drains one interval of `seconds` and emits its records.
    void drain(double seconds, const Emit& emit);
    // End of the run: scanner_end for every scanner still open.
    void finish(const Emit& emit);
    const char* mode() const;  // "native" or "generic", as the kernel reports it
    bool watching_persisted() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Returns the process exit code.
int run_agent(const RunOptions& o);
// `probescope detach`: removes a (persisted or crashed) probescope's link and pins.
int detach_iface(const std::string& iface, const std::string& pin_root);

}  // namespace probescope
