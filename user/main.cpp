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
    app.require_subcommand(1);
    app.set_config("--config", "", "Read options from a TOML or INI file ([run] section)");

    RunOptions ro;
    auto* run = app.add_subcommand("run", "Attach to an interface and emit JSON lines");
    run->add_option("-i,--iface", ro.iface, "Interface to watch, e.g. eth0")->required();
    run->add_option("--mode", ro.mode, "XDP mode: auto (native, else generic), native, generic")
        ->capture_default_str();
    run->add_option("--interval", ro.interval_s, "Seconds between drains (fractions allowed)")
        ->capture_default_str();
    run->add_option("-o,--output", ro.output, "Append JSON lines to FILE instead of stdout");
    run->add_option("--max-sources", ro.max_sources,
                    "Sources tracked per interval in the kernel LRU map (and in the agent)")
        ->capture_default_str();
    run->add_option("--research-list", ro.research_lists,
                    "Known research scanners: MISP warninglist JSON or one CIDR per line "
                    "(repeatable)")
        ->check(CLI::ExistingFile);
    run->add_flag("!--no-rdns", ro.rdns, "Do not resolve scanners' reverse DNS");
    run->add_option("--services", ro.services, "Port names file")->capture_default_str();
    add_threshold_options(run, ro.thresholds);
    run->add_option("--top-ports", ro.top_ports,
                    "Port records per interval: the busiest ports (the stats record counts all)")
        ->capture_default_str();
    run->add_option("--pin-root", ro.pin_root, "bpffs directory for pins (one subdir per iface)")
        ->capture_default_str();
    run->add_flag("--force", ro.force, "Replace an XDP program something else attached");
    run->add_flag("--persist", ro.persist,
                  "Leave the program attached and pinned after exit (undo: probescope detach)");
    run->add_option("--socket", ro.socket,
                    "Serve the records to 'probescope top' on this Unix socket (default "
                    "/run/probescope/IFACE.sock; 'none': off)");

    TopOptions to;
    auto* top = app.add_subcommand(
        "top", "Live view of who knocks (ncurses): reads a running agent, or attaches itself");
    top->add_option("-i,--iface", to.run.iface, "Interface to watch, e.g. eth0")->required();
    top->add_option("--socket", to.run.socket,
                    "A running agent's record socket (default /run/probescope/IFACE.sock); "
                    "without one, top attaches and serves there itself")
        ->capture_default_str();
    top->add_option("--keep-sources", to.keep_sources,
                    "Sources the view remembers; the least recently active are dropped")
        ->capture_default_str();
    top->add_option("--mode", to.run.mode,
                    "Without a running agent: XDP mode (auto, native, generic)")
        ->capture_default_str();
    top->add_option("--interval", to.run.interval_s,
                    "Without a running agent: seconds between drains")
        ->capture_default_str();
    top->add_option("--max-sources", to.run.max_sources,
                    "Without a running agent: the kernel's per-source LRU map size")
        ->capture_default_str();
    top->add_option("--research-list", to.run.research_lists,
                    "Known research scanners (repeatable)")
        ->check(CLI::ExistingFile);
    top->add_flag("!--no-rdns", to.run.rdns, "Do not resolve scanners' reverse DNS");
    top->add_option("--services", to.run.services, "Port names file")->capture_default_str();
    add_threshold_options(top, to.run.thresholds);
    top->add_option("--top-ports", to.run.top_ports, "Port records per interval")
        ->capture_default_str();
    top->add_option("--pin-root", to.run.pin_root, "bpffs directory for pins")
        ->capture_default_str();
    top->add_flag("--force", to.run.force, "Replace an XDP program something else attached");

    ReplayOptions rp;
    auto* rep = app.add_subcommand(
        "replay",
        "Analyse captures (pcap, pcapng, .gz, '-' for stdin) through the same XDP program");
    rep->add_option("files", rp.files, "Captures, read in order")->required();
    rep->add_option("--dst", rp.dst,
                    "Count only packets toward this address or CIDR (repeatable); a LAN capture "
                    "also holds the target's replies");
    rep->add_option("--interval", rp.interval_s, "Seconds of capture time between drains")
        ->capture_default_str();
    rep->add_option("-o,--output", rp.output, "Write JSON lines to FILE (default stdout)");
    rep->add_flag("--summary", rp.summary,
                  "Print the tables at the end (top sources, ports, flags, scanners); JSON only "
                  "with --output");
    rep->add_flag("--strict", rp.strict, "Stop at the first bad record or file");
    rep->add_flag("--top", rp.top,
                  "Show the result in the live view (probescope top's screens) until q; JSON only "
                  "with --output");
    rep->add_option("--max-sources", rp.max_sources, "Sources tracked per interval")
        ->capture_default_str();
    rep->add_option("--top-ports", rp.top_ports, "Port records per interval")
        ->capture_default_str();
    rep->add_option("--research-list", rp.research_lists, "Known research scanners (repeatable)")
        ->check(CLI::ExistingFile);
    rep->add_option("--services", rp.services, "Port names file")->capture_default_str();
    add_threshold_options(rep, rp.thresholds);

    std::string det_iface, det_root = "/sys/fs/bpf/probescope";
    auto* det =
        app.add_subcommand("detach", "Remove a persisted or crashed probescope from an interface");
    det->add_option("-i,--iface", det_iface, "Interface")->required();
    det->add_option("--pin-root", det_root, "bpffs directory for pins")->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        if (*run) return run_agent(ro);
        if (*det) return detach_iface(det_iface, det_root);
        if (*rep && rp.top) {
            std::vector<nlohmann::json> records;
            int rc = run_replay(rp, [&](const nlohmann::json& j) { records.push_back(j); });
            return rc ? rc : view_replayed(records, "replay");
        }
        if (*rep) return run_replay(rp);
        if (*top) return run_top(to);
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
