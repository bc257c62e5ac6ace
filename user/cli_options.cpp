// Threshold options: one per Thresholds field, grouped so --help reads as a table.
#include "cli_options.h"

namespace probescope {

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

}  // namespace probescope
