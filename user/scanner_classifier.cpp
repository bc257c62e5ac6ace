// ScannerClassifier: the rules that turn a source's window into a verdict, with their numbers.
#include "scanner_classifier.h"

#include <algorithm>
#include <cstdio>

#include "names.h"

namespace probescope {

bool Verdict::same_verdict(const Verdict& o) const {
    auto tool_name = [](const Verdict& v) { return v.tool ? v.tool->name : std::string(); };
    return scanner == o.scanner && techniques == o.techniques && pattern == o.pattern &&
           repeated == o.repeated && tool_name(*this) == tool_name(o) && labels == o.labels;
}

std::vector<std::string> techniques_of(const SourceState& s) {
    std::vector<std::pair<uint64_t, unsigned>> seen;
    for (unsigned t = 0; t < PS_TECH_COUNT; ++t)
        if (s.technique[t]) seen.push_back({s.technique[t], t});
    std::stable_sort(seen.begin(), seen.end(), [](auto& a, auto& b) { return a.first > b.first; });
    std::vector<std::string> out;
    for (auto& [n, t] : seen) out.emplace_back(technique_name(t));
    return out;
}

static double share(uint64_t hits, uint64_t of) { return of ? static_cast<double>(hits) / of : 0; }

static std::string evidence(const char* what, uint64_t hits, uint64_t of) {
    char buf[160];
    snprintf(buf, sizeof(buf), "%s in %llu of %llu TCP probes", what,
             static_cast<unsigned long long>(hits), static_cast<unsigned long long>(of));
    return buf;
}

static bool only_ports(const SourceState& s, std::initializer_list<uint16_t> allowed) {
    if (!s.ports_exact) return false;
    return std::all_of(s.ports.begin(), s.ports.end(), [&](const PortCount& p) {
        return std::find(allowed.begin(), allowed.end(), PS_PORT_SLOT_PORT(p.item)) !=
               allowed.end();
    });
}

ToolFingerprints ToolFingerprints::builtin() {
    ToolFingerprints f;
    // A fingerprint whose header facts hold on (nearly) every probe of the window.
    auto by_share = [](const char* tool, unsigned fp, const char* what) {
        return [=](const SourceState& s, const Thresholds& t) -> std::optional<ToolMatch> {
            double sh = share(s.fp_hits[fp], s.tcp_probes);
            if (s.tcp_probes < t.tool_min_probes || sh < t.tool_min_share) return std::nullopt;
            return ToolMatch{tool, sh, evidence(what, s.fp_hits[fp], s.tcp_probes)};
        };
    };
    f.add(by_share("zmap", PS_FP_ZMAP, "IP ID 54321, TTL 255, window 65535"));
    f.add(by_share("masscan", PS_FP_MASSCAN, "IP ID == (dst ^ dport ^ seq) & 0xffff, window 1024"));
    // Mirai: seq == destination address, and it only knocks on telnet.
    f.add([](const SourceState& s, const Thresholds& t) -> std::optional<ToolMatch> {
        double sh = share(s.fp_hits[PS_FP_MIRAI], s.tcp_probes);
        if (s.tcp_probes < t.tool_min_probes || sh < t.tool_min_share) return std::nullopt;
        bool telnet = only_ports(s, {23, 2323});
        return ToolMatch{
            "mirai", telnet ? sh : sh * 0.7,
            evidence("seq == destination address", s.fp_hits[PS_FP_MIRAI], s.tcp_probes) +
                (telnet ? ", ports 23/2323 only" : ", other ports too")};
    });
    // Nmap's raw scans: window 1024 (MSS 1460 alone on SYN) from one source port and seq.
    f.add([](const SourceState& s, const Thresholds& t) -> std::optional<ToolMatch> {
        double sh = share(s.fp_hits[PS_FP_NMAP], s.tcp_probes);
        double port = share(s.fp_hits[PS_FP_SAME_SPORT], s.tcp_probes);
        if (s.tcp_probes < t.tool_min_probes || sh < t.tool_min_share || port < t.tool_min_share)
            return std::nullopt;
        return ToolMatch{
            "nmap", std::min(sh, port),
            evidence("window 1024 with nmap's options", s.fp_hits[PS_FP_NMAP], s.tcp_probes) +
                ", one source port"};
    });
    // nmap -sU: UDP only, one source port for the whole scan, no payload for most ports (it
    // sends payloads only to the ports it has a service probe for).
    f.add([](const SourceState& s, const Thresholds& t) -> std::optional<ToolMatch> {
        uint64_t udp = s.window[PS_CLASS_UDP];
        double port = share(s.udp_same_sport, udp), empty = share(s.udp_empty, udp);
        if (s.tcp_probes > 0 || udp < t.tool_min_probes || port < t.tool_min_share || empty < 0.5)
            return std::nullopt;
        char buf[160];
        snprintf(
            buf, sizeof(buf), "one source port in %llu of %llu UDP probes, %llu without payload",
            static_cast<unsigned long long>(s.udp_same_sport), static_cast<unsigned long long>(udp),
            static_cast<unsigned long long>(s.udp_empty));
        return ToolMatch{"nmap", std::min(port, empty + 0.3), buf};
    });
    // masscan's UDP probes: TTL 255 and its own IP IDs (not zmap's 54321), one source port, and
    // a service payload for most ports. Weaker than its TCP fingerprint, hence 0.7 at most.
    f.add([](const SourceState& s, const Thresholds& t) -> std::optional<ToolMatch> {
        uint64_t udp = s.window[PS_CLASS_UDP];
        double port = share(s.udp_same_sport, udp), payload = 1.0 - share(s.udp_empty, udp);
        const ps_probe_facts& l = s.last_packet;
        if (s.tcp_probes > 0 || udp < t.tool_min_probes || port < t.tool_min_share ||
            payload < 0.5 || l.l4proto != 17 || l.ttl != 255 || l.ip_id == 54321)
            return std::nullopt;
        return ToolMatch{"masscan", 0.7 * std::min(port, payload),
                         "UDP: TTL 255, one source port, service payloads"};
    });
    // Unicornscan: seq ^ dst ^ (dport << 16 | sport) constant while seq itself varies.
    f.add([](const SourceState& s, const Thresholds& t) -> std::optional<ToolMatch> {
        double sh = share(s.fp_hits[PS_FP_UNICORN], s.tcp_probes);
        if (s.tcp_probes < t.tool_min_probes || sh < t.tool_min_share ||
            share(s.fp_hits[PS_FP_SAME_SEQ], s.tcp_probes) >= 0.5)
            return std::nullopt;
        return ToolMatch{
            "unicornscan", sh,
            evidence("seq ^ dst ^ ports constant", s.fp_hits[PS_FP_UNICORN], s.tcp_probes)};
    });
    return f;
}

std::optional<ToolMatch> ToolFingerprints::best(const SourceState& s, const Thresholds& t) const {
    std::optional<ToolMatch> best;
    for (const auto& m : matchers_) {
        auto r = m(s, t);
        if (r && (!best || r->confidence > best->confidence)) best = r;
    }
    if (!best && s.tcp_probes > 0) {
        // Probes with an OS stack's options come from connect() or a script: no raw tool.
        bool stack = s.first_probe.opts_shape == PS_OPTS_STACK;
        best = ToolMatch{"unknown", stack ? 0.8 : 0.5,
                         stack ? "OS TCP stack options (a connect scan or a script)"
                               : "no known tool's header facts"};
    }
    return best;
}

nlohmann::json ScannerClassifier::base_numbers(const SourceState& s) {
    const auto& w = s.window;
    uint64_t probes = w[PS_CLASS_TCP_SYN] + w[PS_CLASS_TCP_ODD] + w[PS_CLASS_UDP] +
                      w[PS_CLASS_ICMP_ECHO] + w[PS_CLASS_TCP_ACK_PROBE];
    double window_s =
        s.last_seen_ns > s.window_start_ns ? (s.last_seen_ns - s.window_start_ns) / 1e9 : 0.0;
    return {{"distinct_ports", s.distinct_ports().value},
            {"distinct_dsts", s.distinct_dsts().value},
            {"probes", probes},
            {"window_s", window_s}};
}

// A rule's numbers are written only when it fires: most sources fire none, and a JSON object
// per source and interval was most of the classifier's cost.
static void add_base_numbers(Verdict& v, const SourceState& s) {
    if (!v.rule.empty()) v.numbers.update(ScannerClassifier::base_numbers(s));
}

Verdict ScannerClassifier::classify(const SourceState& s, bool explain) const {
    Verdict v;
    const auto& w = s.window;
    uint64_t probes = w[PS_CLASS_TCP_SYN] + w[PS_CLASS_TCP_ODD] + w[PS_CLASS_UDP] +
                      w[PS_CLASS_ICMP_ECHO] + w[PS_CLASS_TCP_ACK_PROBE];
    uint64_t back = w[PS_CLASS_TCP_SYNACK] + w[PS_CLASS_TCP_RST] + w[PS_CLASS_ICMP_ERROR];
    DistinctCount ports = s.distinct_ports(), dsts = s.distinct_dsts();

    for (unsigned u = PS_UDP_OTHER + 1; u < PS_UDP_PROBE_COUNT; ++u)
        if (s.udp_probe[u] && u != PS_UDP_DHT_KRPC)
            v.labels.push_back("reflector:" + std::string(udp_probe_name(u)));
    if (s.udp_probe[PS_UDP_DHT_KRPC]) {
        // BitTorrent DHT chatter, then a SYN to a port that got the DHT packet: a peer that
        // was told we are in the swarm (P2P misdirection), not a scanner.
        bool syn_same_port = false;
        for (const auto& p : s.ports) {
            if (PS_PORT_SLOT_PROTO(p.item) != PS_PORT_PROTO_UDP) continue;
            uint32_t tcp_item = PS_PORT_SLOT(PS_PORT_PROTO_TCP, PS_PORT_SLOT_PORT(p.item));
            syn_same_port |= std::any_of(s.ports.begin(), s.ports.end(),
                                         [&](const PortCount& q) { return q.item == tcp_item; });
        }
        v.labels.push_back(syn_same_port ? "p2p" : "p2p:dht");
    }

    if (probes == 0 && back > 0) {
        if (ports.value >= t_.backscatter_ports) {
            v.labels.push_back("backscatter");
            if (explain) {
                v.rule = "backscatter";
                v.numbers["backscatter_packets"] = back;
                v.numbers["threshold_ports"] = t_.backscatter_ports;
            }
        }
        add_base_numbers(v, s);  // no rule unexplained: nothing
        return v;
    }
    if (probes == 0) return v;

    bool echo_only = w[PS_CLASS_ICMP_ECHO] == probes;
    if (echo_only && dsts.value >= t_.sweep_dsts) {
        v.pattern = "sweep";
        if (explain) {
            v.rule = "ICMP echo to distinct destinations >= " + std::to_string(t_.sweep_dsts) +
                     " in " + std::to_string(static_cast<int>(t_.window_s)) + " s";
            v.numbers["threshold_dsts"] = t_.sweep_dsts;
        }
    } else if (!echo_only && dsts.value >= t_.horizontal_dsts) {
        v.pattern = ports.value >= t_.strobe_ports ? "strobe" : "horizontal";
        if (explain) {
            v.rule = "distinct destinations >= " + std::to_string(t_.horizontal_dsts) + " in " +
                     std::to_string(static_cast<int>(t_.window_s)) + " s (Zeek, CAIDA)";
            v.numbers["threshold_dsts"] = t_.horizontal_dsts;
        }
    } else if (ports.value >= t_.vertical_ports) {
        v.pattern = "vertical";
        if (explain) {
            v.rule = "distinct ports >= " + std::to_string(t_.vertical_ports) + " in " +
                     std::to_string(static_cast<int>(t_.window_s)) + " s (Zeek)";
            v.numbers["threshold_ports"] = t_.vertical_ports;
        }
    } else if (s.weight_max >= t_.scanlogd_weight) {
        v.pattern = "vertical";
        if (explain) {
            v.rule = "port weight >= " + std::to_string(t_.scanlogd_weight) + " in " +
                     std::to_string(static_cast<int>(t_.scanlogd_window_s)) + " s (scanlogd)";
            v.numbers["weight"] = s.weight_max;
            v.numbers["threshold_weight"] = t_.scanlogd_weight;
        }
    }
    v.repeated = s.repeat_max >= t_.repeat_count;
    if (v.repeated) {
        if (explain) {
            v.numbers["repeats"] = s.repeat_max;
            v.numbers["threshold_repeats"] = t_.repeat_count;
        }
        if (v.pattern.empty()) {
            v.pattern = "repeated";
            if (explain)
                v.rule = "same host and port >= " + std::to_string(t_.repeat_count) + " times in " +
                         std::to_string(static_cast<int>(t_.repeat_window_s)) + " s";
        }
    }
    v.scanner = !v.pattern.empty();
    // Named for scanners alone: most sources are none, and the names cost an allocation each.
    if (v.scanner) {
        v.techniques = techniques_of(s);
        v.tool = fps_.best(s, t_);
    }
    add_base_numbers(v, s);  // no rule unexplained: nothing
    return v;
}

}  // namespace probescope
