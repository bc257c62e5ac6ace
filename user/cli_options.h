// The command line: every subcommand's options, built into a CLI11 app for main and the fuzzers.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "agent.h"
#include "replay.h"
#include "thresholds.h"
#include "top.h"

namespace probescope {

// What the command line and the --config file fill in, one struct per subcommand.
struct CliOptions {
    RunOptions run;
    TopOptions top;
    ReplayOptions replay;
    std::string detach_iface;
    std::string detach_pin_root = "/sys/fs/bpf/probescope";
};

// The subcommands, to ask which one was given after parsing.
struct CliCommands {
    CLI::App* run;
    CLI::App* top;
    CLI::App* replay;
    CLI::App* detach;
};

void add_threshold_options(CLI::App* app, Thresholds& t);
// --source-records, the same for run, top and replay.
void add_source_records_option(CLI::App* app, uint32_t& n);
// Adds --config and every subcommand to app, bound to o. Parsing only fills o; nothing runs.
CliCommands build_cli(CLI::App& app, CliOptions& o);

}  // namespace probescope
