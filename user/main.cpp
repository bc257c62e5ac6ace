// probescope's command line (CLI11): subcommands and the one place errors become exit codes.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "agent.h"
#include "cli_options.h"
#include "error.h"
#include "replay.h"
#include "top.h"

#ifndef PROBESCOPE_VERSION
#define PROBESCOPE_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
    using namespace probescope;
    CLI::App app{
        "probescope: see who knocks on this host. An XDP program counts SYN scans, UDP probes,\n"
        "odd TCP flag combinations and backscatter per source and port, at line rate; the\n"
        "agent drains it and writes JSON lines."};
    app.set_version_flag("--version", std::string("probescope ") + PROBESCOPE_VERSION);
    CliOptions o;
    const CliCommands cmd = build_cli(app, o);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        if (*cmd.run) {
            // SIGHUP: the same parse as at start, so the --config file is read again.
            auto reload = [argc, argv] {
                CLI::App again;
                CliOptions fresh;
                build_cli(again, fresh);
                try {
                    again.parse(argc, argv);
                } catch (const CLI::ParseError& e) {
                    throw Error(e.what());
                }
                return fresh.run;
            };
            return run_agent(o.run, reload);
        }
        if (*cmd.detach) return detach_iface(o.detach_iface, o.detach_pin_root);
        if (*cmd.replay && o.replay.top) {
            std::vector<nlohmann::json> records;
            int rc = run_replay(o.replay, [&](const nlohmann::json& j) { records.push_back(j); });
            return rc ? rc : view_replayed(records, "replay");
        }
        if (*cmd.replay) return run_replay(o.replay);
        if (*cmd.top) return run_top(o.top);
    } catch (const Error& e) {
        fprintf(stderr, "probescope: error: %s\n", e.what());
        if (!e.hint().empty()) fprintf(stderr, "probescope: hint: %s\n", e.hint().c_str());
        return 1;
    } catch (const std::exception& e) {
        fprintf(stderr, "probescope: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
