// The command line (CLI11): every subcommand and option, built once for main and the fuzzers.
#include "cli_options.h"

namespace probescope {

void add_source_records_option(CLI::App* app, uint32_t& n) {
    app->add_option("--source-records", n,
                    "Source records per interval: the busiest active sources (the stats record "
                    "counts all; 0: none)")
        ->capture_default_str();
}

void add_threshold_options(CLI::App* app, Thresholds& t) {
    const char* g = "Thresholds (README.md, Thresholds)";
    app->add_option("--window", t.window_s, "Seconds of each source's scan window (Zeek: 300)")
        ->group(g)
        ->capture_default_str();
    app->add_option("--vertical-ports", t.vertical_ports,
                    "Distinct ports in a window for a vertical scan (Zeek: 15)")
        ->group(g)
        ->capture_default_str();
    app->add_option("--horizontal-dsts", t.horizontal_dsts,
                    "Distinct destinations in a window for a horizontal scan (Zeek, CAIDA: 25)")
        ->group(g)
        ->capture_default_str();
    app->add_option("--strobe-ports", t.strobe_ports, "Ports that make a horizontal scan a strobe")
        ->group(g)
        ->capture_default_str();
    app->add_option("--repeat-count", t.repeat_count,
                    "Probes of one host and port that make repeated probing")
        ->group(g)
        ->capture_default_str();
    app->add_option("--repeat-window", t.repeat_window_s, "Seconds for --repeat-count")
        ->group(g)
        ->capture_default_str();
    app->add_option("--scanlogd-weight", t.scanlogd_weight,
                    "scanlogd weight (3 per port < 1024, 1 others) for a fast scan")
        ->group(g)
        ->capture_default_str();
    app->add_option("--scanlogd-window", t.scanlogd_window_s, "Seconds for --scanlogd-weight")
        ->group(g)
        ->capture_default_str();
    app->add_option("--sweep-dsts", t.sweep_dsts,
                    "Destinations of ICMP echo requests in a window that make a sweep")
        ->group(g)
        ->capture_default_str();
    app->add_option("--tool-min-share", t.tool_min_share,
                    "Share of TCP probes a tool fingerprint must match")
        ->group(g)
        ->capture_default_str();
    app->add_option("--tool-min-probes", t.tool_min_probes, "TCP probes before naming a tool")
        ->group(g)
        ->capture_default_str();
    app->add_option("--backscatter-ports", t.backscatter_ports,
                    "Our ports a backscatter-only source must hit")
        ->group(g)
        ->capture_default_str();
    app->add_option("--flood-sources", t.flood_sources,
                    "Tiny sources on one port in one interval that make a spoofed flood")
        ->group(g)
        ->capture_default_str();
    app->add_option("--flood-source-packets", t.flood_source_pkts,
                    "Most packets a flood's spoofed source sends in an interval")
        ->group(g)
        ->capture_default_str();
    app->add_option("--idle-timeout", t.idle_timeout_s,
                    "Seconds of quiet that end a source's history (and a scanner: scanner_end)")
        ->group(g)
        ->capture_default_str();
}

CliCommands build_cli(CLI::App& app, CliOptions& o) {
    app.require_subcommand(1);
    app.set_config("--config", "", "Read options from a TOML or INI file ([run] section)");
    // A misspelt key in the file is refused like a misspelt option, not silently ignored.
    app.allow_config_extras(CLI::config_extras_mode::error);

    auto* run = app.add_subcommand("run", "Attach to an interface and emit JSON lines");
    run->add_option("-i,--iface", o.run.iface, "Interface to watch, e.g. eth0")->required();
    run->add_option("--mode", o.run.mode, "XDP mode: auto (native, else generic), native, generic")
        ->capture_default_str();
    run->add_option("--interval", o.run.interval_s, "Seconds between drains (fractions allowed)")
        ->capture_default_str();
    run->add_option("-o,--output", o.run.output, "Append JSON lines to FILE instead of stdout");
    run->add_option("--max-sources", o.run.max_sources,
                    "Sources tracked per interval in the kernel LRU map (and in the agent)")
        ->capture_default_str();
    run->add_option("--research-list", o.run.research_lists,
                    "Known research scanners: MISP warninglist JSON or one CIDR per line "
                    "(repeatable)")
        ->check(CLI::ExistingFile);
    run->add_flag("!--no-rdns", o.run.rdns, "Do not resolve scanners' reverse DNS");
    run->add_option("--services", o.run.services, "Port names file")->capture_default_str();
    add_threshold_options(run, o.run.thresholds);
    run->add_option("--top-ports", o.run.top_ports,
                    "Port records per interval: the busiest ports (the stats record counts all)")
        ->capture_default_str();
    add_source_records_option(run, o.run.source_records);
    run->add_option("--pin-root", o.run.pin_root, "bpffs directory for pins (one subdir per iface)")
        ->capture_default_str();
    run->add_flag("--force", o.run.force, "Replace an XDP program something else attached");
    run->add_flag("--persist", o.run.persist,
                  "Leave the program attached and pinned after exit (undo: probescope detach)");
    run->add_option("--socket", o.run.socket,
                    "Serve the records to 'probescope top' on this Unix socket (default "
                    "/run/probescope/IFACE.sock; 'none': off)");
    run->add_option("--output-buffer", o.run.output_buffer,
                    "Bytes of records held while the output is slow or blocked (e.g. 16MiB); "
                    "past it records are dropped and counted in the stats record")
        ->transform(CLI::AsSizeValue(false))
        ->capture_default_str();
    run->add_option("--user", o.run.user,
                    "Once attached, run as this user: pins and output become theirs, "
                    "capabilities are dropped");

    auto* top = app.add_subcommand(
        "top", "Live view of who knocks (ncurses): reads a running agent, or attaches itself");
    top->add_option("-i,--iface", o.top.run.iface, "Interface to watch, e.g. eth0")->required();
    top->add_option("--socket", o.top.run.socket,
                    "A running agent's record socket (default /run/probescope/IFACE.sock); "
                    "without one, top attaches and serves there itself")
        ->capture_default_str();
    top->add_option("--keep-sources", o.top.keep_sources,
                    "Sources the view remembers; the least recently active are dropped")
        ->capture_default_str();
    top->add_option("--mode", o.top.run.mode,
                    "Without a running agent: XDP mode (auto, native, generic)")
        ->capture_default_str();
    top->add_option("--interval", o.top.run.interval_s,
                    "Without a running agent: seconds between drains")
        ->capture_default_str();
    top->add_option("--max-sources", o.top.run.max_sources,
                    "Without a running agent: the kernel's per-source LRU map size")
        ->capture_default_str();
    top->add_option("--research-list", o.top.run.research_lists,
                    "Known research scanners (repeatable)")
        ->check(CLI::ExistingFile);
    top->add_flag("!--no-rdns", o.top.run.rdns, "Do not resolve scanners' reverse DNS");
    top->add_option("--services", o.top.run.services, "Port names file")->capture_default_str();
    add_threshold_options(top, o.top.run.thresholds);
    top->add_option("--top-ports", o.top.run.top_ports, "Port records per interval")
        ->capture_default_str();
    add_source_records_option(top, o.top.run.source_records);
    top->add_option("--pin-root", o.top.run.pin_root, "bpffs directory for pins")
        ->capture_default_str();
    top->add_flag("--force", o.top.run.force, "Replace an XDP program something else attached");

    auto* rep = app.add_subcommand(
        "replay",
        "Analyse captures (pcap, pcapng, .gz, '-' for stdin) through the same XDP program");
    rep->add_option("files", o.replay.files, "Captures, read in order")->required();
    rep->add_option("--dst", o.replay.dst,
                    "Count only packets toward this address or CIDR (repeatable); a LAN capture "
                    "also holds the target's replies");
    rep->add_option("--interval", o.replay.interval_s, "Seconds of capture time between drains")
        ->capture_default_str();
    rep->add_option("-o,--output", o.replay.output, "Write JSON lines to FILE (default stdout)");
    rep->add_flag("--summary", o.replay.summary,
                  "Print the tables at the end (top sources, ports, flags, scanners); JSON only "
                  "with --output");
    rep->add_flag("--strict", o.replay.strict, "Stop at the first bad record or file");
    rep->add_flag("--top", o.replay.top,
                  "Show the result in the live view (probescope top's screens) until q; JSON only "
                  "with --output");
    rep->add_option("--max-sources", o.replay.max_sources, "Sources tracked per interval")
        ->capture_default_str();
    rep->add_option("--jobs", o.replay.jobs,
                    "CPUs running frames through the program at once, each source's frames on "
                    "one, in capture order (0: every CPU this process may use)")
        ->capture_default_str();
    rep->add_option("--top-ports", o.replay.top_ports, "Port records per interval")
        ->capture_default_str();
    add_source_records_option(rep, o.replay.source_records);
    rep->add_option("--research-list", o.replay.research_lists,
                    "Known research scanners (repeatable)")
        ->check(CLI::ExistingFile);
    rep->add_option("--services", o.replay.services, "Port names file")->capture_default_str();
    add_threshold_options(rep, o.replay.thresholds);

    auto* det =
        app.add_subcommand("detach", "Remove a persisted or crashed probescope from an interface");
    det->add_option("-i,--iface", o.detach_iface, "Interface")->required();
    det->add_option("--pin-root", o.detach_pin_root, "bpffs directory for pins")
        ->capture_default_str();
    return {run, top, rep, det};
}

}  // namespace probescope
