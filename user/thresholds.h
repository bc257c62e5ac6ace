// Classifier thresholds: every default cites where it comes from (README "Thresholds").
#pragma once
#include <cstdint>

namespace probescope {

struct Thresholds;
void validate(const Thresholds& t);  // throws Error on a value that makes no sense

struct Thresholds {
    // Zeek's scan detection (policy/misc/scan.zeek) counts in 5-minute epochs.
    double window_s = 300;
    // Zeek port_scan_threshold: 15 distinct ports on one host in 5 minutes.
    uint32_t vertical_ports = 15;
    // Zeek addr_scan_threshold and CAIDA's darknet scan definition: 25 distinct
    // destinations (on one port) within 5 minutes.
    uint32_t horizontal_dsts = 25;
    // Strobe: at least this many ports, each across horizontal_dsts destinations' worth.
    uint32_t strobe_ports = 2;
    // Seed 002 ("multiple attacks"): the same source, port and host 3+ times in 15 s.
    uint32_t repeat_count = 3;
    double repeat_window_s = 15;
    // scanlogd (scanlogd.c): weight 3 per privileged port, 1 per other port; a scan at
    // weight 21 within 3 seconds.
    uint32_t scanlogd_weight = 21;
    double scanlogd_window_s = 3;
    // ICMP echo sweep: echo requests to this many destinations in the window.
    uint32_t sweep_dsts = 25;
    // Tool fingerprints: the share of TCP probes that must match, and the least probes.
    double tool_min_share = 0.9;
    uint32_t tool_min_probes = 3;
    // Backscatter: a source sending only SYN-ACK/RST/ICMP errors, to this many of our ports.
    uint32_t backscatter_ports = 3;
    // Spoofed flood: this many sources in one interval with at most flood_source_pkts each,
    // on one destination port (random spoofing makes each source tiny).
    uint32_t flood_sources = 200;
    uint32_t flood_source_pkts = 2;
    // A source quiet this long ends its scanner episode (scanner_end).
    double idle_timeout_s = 300;

    bool operator==(const Thresholds&) const = default;  // SIGHUP: did a reload change them?
};

}  // namespace probescope
