// Shared by fuzz_cli and fuzz_config: parse arguments exactly as main does, then run every
// check main runs before it touches the kernel. Nothing is executed.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli_options.h"
#include "error.h"

namespace probescope::fuzz {

// A refusal must be one non-empty line: that is what the user sees before the exit. Messages
// quote the offending value, so a value with a newline in it may add lines of its own.
inline void require_one_line(const std::string& message, bool input_has_newline) {
    if (message.empty() || (!input_has_newline && message.find('\n') != std::string::npos))
        std::abort();
}

// The checks main's subcommands run first (agent.cpp's and replay.cpp's validate).
inline void validate_parsed(const CliCommands& cmd, const CliOptions& o) {
    if (*cmd.run) validate(o.run);
    if (*cmd.top) validate(o.top.run);
    if (*cmd.replay) validate(o.replay);
}

// args excludes the program name. Accepted or refused with a one-line message: returns.
// Any other exception escapes, and libFuzzer reports it as a crash.
inline void parse_and_validate(const std::vector<std::string>& args) {
    CLI::App app{"probescope"};
    CliOptions o;
    const CliCommands cmd = build_cli(app, o);
    std::vector<const char*> argv{"probescope"};
    bool newline = false;
    for (const auto& a : args) {
        argv.push_back(a.c_str());
        newline = newline || a.find('\n') != std::string::npos;
    }
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::CallForHelp&) {
        return;
    } catch (const CLI::CallForAllHelp&) {
        return;
    } catch (const CLI::CallForVersion&) {
        return;
    } catch (const CLI::ParseError& e) {
        require_one_line(e.what(), newline);
        return;
    }
    try {
        validate_parsed(cmd, o);
    } catch (const Error& e) {
        require_one_line(e.what(), newline);
    }
}

}  // namespace probescope::fuzz
