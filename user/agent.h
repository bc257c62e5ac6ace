// `probescope run`: attach, drain every interval, emit JSON lines, detach on exit.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "interval.h"
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
    uint32_t source_records = kDefaultSourceRecords;  // source records per interval
    Thresholds thresholds;
    std::vector<std::string> research_lists;  // MISP warninglist JSON or one CIDR per line
    bool rdns = true;
    std::string services = "/etc/services";
    // Records served to `probescope top`: empty means /run/probescope/<iface>.sock, "none" off.
    std::string socket;
    // Bytes of records held for a slow output; past it records are dropped and counted.
    size_t output_buffer = 16u << 20;
    // Once attached and pinned, run as this user (the pins and --output become theirs).
    std::string user;
};

// The option a config reload may not change while running ("--iface", ...), or nullptr.
const char* fixed_option_changed(const RunOptions& running, const RunOptions& reloaded);

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
    const std::string& pin_dir() const;

    // The totals the last drain reported up to, and undoing that drain's report (its stats
    // record could not be queued: the next one carries its counts).
    TotalsSnapshot reported_totals() const;
    void carry_over();
    // Records that a stats record reporting up to these totals was written (pinned, so that a
    // restarted agent continues from there). Called from the output's writer thread.
    void store_written(const TotalsSnapshot& totals) const;
    // Applies reloadable options (thresholds, research lists, rdns, services, top ports, source
    // records). The classification restarts only if one of them changed; emit gets the old
    // one's scanner_end records. Throws Error, changing nothing.
    void reconfigure(const RunOptions& o, const Emit& emit = nullptr);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Returns the process exit code. reload re-reads the command line and --config file (SIGHUP);
// it throws on an invalid configuration.
int run_agent(const RunOptions& o, const std::function<RunOptions()>& reload = {});
// `probescope detach`: removes a (persisted or crashed) probescope's link and pins.
int detach_iface(const std::string& iface, const std::string& pin_root);

}  // namespace probescope
