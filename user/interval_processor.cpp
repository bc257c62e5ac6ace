// IntervalProcessor: the per-interval pipeline every front end shares.
#include "interval_processor.h"

#include <tsl/robin_map.h>

#include <algorithm>
#include <cstring>

#include "addr.h"
#include "names.h"

namespace probescope {

using nlohmann::json;

IntervalProcessor::IntervalProcessor(ProcessorConfig cfg, RecordContext ctx,
                                     const ResearchScannerLists* research, ReverseDns* rdns,
                                     const PortNames* port_names)
    : cfg_(cfg),
      ctx_(std::move(ctx)),
      table_(cfg.max_sources, static_cast<uint64_t>(cfg.thresholds.idle_timeout_s * 1e9),
             SourceWindows{static_cast<uint64_t>(cfg.thresholds.window_s * 1e9),
                           static_cast<uint64_t>(cfg.thresholds.repeat_window_s * 1e9),
                           static_cast<uint64_t>(cfg.thresholds.scanlogd_window_s * 1e9)}),
      classifier_(cfg.thresholds),
      research_(research),
      rdns_(rdns),
      port_names_(port_names) {}

Verdict IntervalProcessor::label(const SourceState& s, Verdict v) const {
    std::optional<std::string> who;
    if (research_) {
        if (auto l = research_->match(s.addr)) who = std::string(*l);
        if (!who && rdns_)
            if (auto host = rdns_->lookup(s.addr)) who = research_->label_for_hostname(*host);
    }
    if (who) v.labels.push_back("research:" + *who);
    return v;
}

json IntervalProcessor::ports_json(const std::vector<PortCount>& ports) const {
    json out = json::array();
    for (const auto& p : ports) {
        json j = port_item_json(p.item, p.packets);
        unsigned proto = PS_PORT_SLOT_PROTO(p.item);
        if (port_names_ && proto != PS_PORT_SLOT_ICMP)
            if (auto n = port_names_->name(port_proto_name(proto), PS_PORT_SLOT_PORT(p.item)))
                j["service"] = std::string(*n);
        out.push_back(std::move(j));
    }
    return out;
}

json IntervalProcessor::scanner_record(const Interval& iv, const SourceState& s,
                                       const Verdict& v) const {
    json j = json::object();
    j["type"] = "scanner";
    j["time"] = rfc3339(ctx_.clock.to_unix_ns(iv.now_ns));
    j["interface"] = ctx_.iface;
    j["src"] = format_addr(s.addr.data());
    j["first_seen"] = rfc3339(ctx_.clock.to_unix_ns(s.first_seen_ns));
    j["last_seen"] = rfc3339(ctx_.clock.to_unix_ns(s.last_seen_ns));
    j["packets"] = s.total_packets();
    double span = (s.last_seen_ns - s.window_start_ns) / 1e9;
    uint64_t wpkts = 0;
    for (auto n : s.window) wpkts += n;
    j["rate_pps"] = span > 0 ? wpkts / span : static_cast<double>(wpkts);
    j["techniques"] = v.techniques;
    j["pattern"] = v.pattern;
    j["repeated"] = v.repeated;
    json& tool = j["tool"];  // null unless a tool matched
    if (v.tool) {
        tool["name"] = v.tool->name;
        tool["confidence"] = v.tool->confidence;
        tool["evidence"] = v.tool->evidence;
    }
    j["labels"] = v.labels;
    json& rdns = j["rdns"];  // null unless the source's name is known
    if (rdns_)
        if (std::optional<std::string> host = rdns_->lookup(s.addr)) rdns = std::move(*host);
    j["distinct_ports"] = distinct_json(s.distinct_ports());
    j["distinct_dsts"] = distinct_json(s.distinct_dsts());
    j["top_ports"] = ports_json(s.top_ports(5));
    j["rule"] = v.rule;
    j["numbers"] = v.numbers;
    json& fp = j["fingerprint"];
    fp["tcp_probes"] = s.tcp_probes;
    fp["udp_same_sport"] = s.udp_same_sport;
    fp["udp_empty"] = s.udp_empty;
    json& hits = fp["hits"];
    hits = json::object();
    for (unsigned f = 0; f < PS_FP_COUNT; ++f)
        hits[std::string(fingerprint_name(f))] = s.fp_hits[f];
    json& first = fp["first_probe"];
    first["ttl"] = s.first_probe.ttl;
    first["window"] = s.first_probe.window;
    first["ip_id"] = s.first_probe.ip_id;
    first["options"] = opts_shape_name(s.first_probe.opts_shape);
    first["mss"] = s.first_probe.mss;
    first["sport"] = s.first_probe.sport;
    first["seq"] = s.first_probe.seq;
    j["detect_s"] = (iv.now_ns > s.first_seen_ns ? iv.now_ns - s.first_seen_ns : 0) / 1e9;
    return j;
}

json IntervalProcessor::scanner_end_record(uint64_t now_ns, const SourceState& s) const {
    json j = json::object();
    j["type"] = "scanner_end";
    j["time"] = rfc3339(ctx_.clock.to_unix_ns(now_ns));
    j["interface"] = ctx_.iface;
    j["src"] = format_addr(s.addr.data());
    j["first_seen"] = rfc3339(ctx_.clock.to_unix_ns(s.first_seen_ns));
    j["last_seen"] = rfc3339(ctx_.clock.to_unix_ns(s.last_seen_ns));
    j["duration_s"] = (s.last_seen_ns - s.first_seen_ns) / 1e9;
    j["packets"] = s.total_packets();
    json& total = j["total"];
    total = json::object();
    for (unsigned c = 0; c < PS_SRC_CLASS_COUNT; ++c)
        total[std::string(class_name(c))] = s.total[c];
    j["peak_distinct_ports"] = s.peak_ports;
    j["peak_distinct_dsts"] = s.peak_dsts;
    j["pattern"] = s.verdict ? s.verdict->pattern : "";
    json& tool = j["tool"];  // null unless a tool matched
    if (s.verdict && s.verdict->tool) tool = s.verdict->tool->name;
    return j;
}

json IntervalProcessor::flood_end_record(uint64_t now_ns, const Flood& f) const {
    json j = port_item_json(f.port_item, f.packets);
    j.update({{"type", "flood"},
              {"phase", "end"},
              {"time", rfc3339(ctx_.clock.to_unix_ns(now_ns))},
              {"interface", ctx_.iface},
              {"sources", f.sources},
              {"started", rfc3339(ctx_.clock.to_unix_ns(f.start_ns))},
              {"duration_s", (f.last_ns - f.start_ns) / 1e9}});
    return j;
}

// Randomly spoofed sources send one or two packets each to the port under attack. Counted
// per interval, they are one flood, reported at its start and its end, never as scanners.
std::vector<json> IntervalProcessor::detect_floods(const Interval& iv, std::vector<bool>& member) {
    std::vector<json> out;
    // Port item -> (sources, packets): looked up once per sample, so a flat hash map (a tree
    // showed up at a third of an interval of 1M one-probe sources); walked in port order below.
    tsl::robin_map<uint32_t, std::pair<uint64_t, uint64_t>> tiny;
    // Each sample's tiny port (0: not tiny), worked out once.
    std::vector<uint32_t> tiny_item(iv.sources.size(), 0);
    for (size_t i = 0; i < iv.sources.size(); ++i) {
        const ps_src_stats& k = iv.sources[i].stats;
        uint64_t n = 0;
        for (unsigned c = 0; c < PS_PROBE_CLASS_COUNT; ++c) n += k.pkts[c];
        if (n == 0 || n > cfg_.thresholds.flood_source_pkts || k.port_slots[1] != 0) continue;
        if (uint32_t item = k.port_slots[0]) {
            tiny_item[i] = item;
            auto& t = tiny[item];
            t.first++;
            t.second += n;
        }
    }
    std::vector<std::pair<uint32_t, std::pair<uint64_t, uint64_t>>> ports(tiny.begin(), tiny.end());
    std::sort(ports.begin(), ports.end());
    for (auto& [item, count] : ports) {
        // clang 14 (the fuzz build) cannot capture a structured binding: capture a copy.
        auto open = std::find_if(floods_.begin(), floods_.end(),
                                 [port = item](const Flood& f) { return f.port_item == port; });
        if (count.first < cfg_.thresholds.flood_sources && open == floods_.end()) continue;
        if (open == floods_.end()) {
            floods_.push_back({item, iv.now_ns, iv.now_ns});
            open = std::prev(floods_.end());
            json j = port_item_json(item, count.second);
            j.update(
                {{"type", "flood"},
                 {"phase", "start"},
                 {"time", rfc3339(ctx_.clock.to_unix_ns(iv.now_ns))},
                 {"interface", ctx_.iface},
                 {"sources", count.first},
                 {"rule", "sources with <= " + std::to_string(cfg_.thresholds.flood_source_pkts) +
                              " packets on one port >= " +
                              std::to_string(cfg_.thresholds.flood_sources) + " in one interval"}});
            out.push_back(std::move(j));
        }
        open->last_ns = iv.now_ns;
        open->sources += count.first;
        open->packets += count.second;
    }
    member.assign(iv.sources.size(), false);
    if (!floods_.empty())
        for (size_t i = 0; i < iv.sources.size(); ++i) {
            uint32_t item = tiny_item[i];
            member[i] = item && std::any_of(floods_.begin(), floods_.end(),
                                            [&](const Flood& f) { return f.port_item == item; });
        }
    // A flood with no tiny sources this interval has ended.
    for (auto it = floods_.begin(); it != floods_.end();) {
        if (it->last_ns == iv.now_ns) {
            ++it;
            continue;
        }
        out.push_back(flood_end_record(iv.now_ns, *it));
        it = floods_.erase(it);
    }
    return out;
}

// How far ahead a pass over an interval's states prefetches them (prefetch_state).
constexpr size_t kStatesAhead = 8;

// The n sources with the most packets this interval, busiest first (which of several tied at
// the cut is kept is unspecified); all of them, in the order drained, when they are no more.
static std::vector<const SourceState*> busiest(const std::vector<SourceState*>& active, size_t n) {
    if (n == 0) return {};
    if (active.size() <= n) return {active.begin(), active.end()};
    // Ranked by a copy of each source's count: comparing through the pointers would read a
    // state (a cache miss each) at every comparison of the selection.
    struct Ranked {
        uint64_t packets;
        const SourceState* s;
    };
    std::vector<Ranked> ranked;
    ranked.reserve(active.size());
    for (size_t i = 0; i < active.size(); ++i) {
        if (i + kStatesAhead < active.size()) {
            const auto& ahead = active[i + kStatesAhead]->interval;  // all interval_packets reads
            prefetch_bytes(&ahead, sizeof(ahead));
        }
        ranked.push_back({active[i]->interval_packets(), active[i]});
    }
    auto more = [](const Ranked& a, const Ranked& b) { return a.packets > b.packets; };
    std::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n), ranked.end(),
                     more);
    ranked.resize(n);
    std::stable_sort(ranked.begin(), ranked.end(), more);
    std::vector<const SourceState*> out;
    out.reserve(n);
    for (const Ranked& r : ranked) out.push_back(r.s);
    return out;
}

void IntervalProcessor::process(Interval& iv, const Emit& emit) {
    iv.ports_active = iv.ports.size();
    if (iv.ports.size() > cfg_.top_ports) {
        std::partial_sort(
            iv.ports.begin(), iv.ports.begin() + cfg_.top_ports, iv.ports.end(),
            [](const PortSample& a, const PortSample& b) { return a.packets > b.packets; });
        iv.ports.resize(cfg_.top_ports);
    }
    // The stats record goes first, but it counts the source records, known only once the
    // samples are absorbed: the flood records wait for it.
    json stats = stats_record(ctx_, iv);
    std::vector<bool> flood_member;
    const std::vector<json> flood_records = detect_floods(iv, flood_member);

    // Absorb every sample first: a source drained twice in one interval (the key-walk
    // fallback under churn) still gets one record, with both samples' counts. A flood's
    // members are not absorbed: the flood record speaks for them.
    std::vector<SourceState*> active;
    active.reserve(iv.sources.size());
    table_.absorb_all(iv.sources, iv.seq, flood_member, active);
    const std::vector<const SourceState*> recorded = busiest(active, cfg_.source_records);
    stats["sources"] = {{"active", active.size()},
                        {"records", recorded.size()},
                        {"records_omitted", active.size() - recorded.size()}};
    stats["agent"]["sources"] = table_.size();
    emit(stats);
    for (const auto& j : flood_records) emit(j);
    for (const SourceState* s : recorded) emit(source_record(ctx_, iv, *s));

    json backscatter = {{"victims", 0}, {"packets", 0}};
    std::vector<std::pair<uint64_t, std::string>> victims;
    for (size_t i = 0; i < active.size(); ++i) {
        if (i + kStatesAhead < active.size()) prefetch_state(active[i + kStatesAhead]);
        SourceState& s = *active[i];
        // Unexplained first (no rule text, no numbers): most verdicts are the last one again.
        Verdict v = classifier_.classify(s, false);
        bool is_back = std::find(v.labels.begin(), v.labels.end(), "backscatter") != v.labels.end();
        if (is_back) {
            uint64_t n = s.interval[PS_CLASS_TCP_SYNACK] + s.interval[PS_CLASS_TCP_RST] +
                         s.interval[PS_CLASS_ICMP_ERROR];
            backscatter["victims"] = backscatter["victims"].get<uint64_t>() + 1;
            backscatter["packets"] = backscatter["packets"].get<uint64_t>() + n;
            victims.push_back({n, format_addr(s.addr.data())});
        }
        if (!v.scanner && !is_back) continue;
        // Research labels only for what a record or a kept verdict can carry: the match probes
        // one hash table per prefix length in the lists, for every active source otherwise.
        v = label(s, std::move(v));
        if (rdns_ && !s.verdict) rdns_->request(s.addr);
        if (s.verdict && s.verdict->same_verdict(v)) continue;
        // A record, or the verdict kept: explained. Labels do not depend on it; keep them.
        Verdict explained = classifier_.classify(s);
        explained.labels = std::move(v.labels);
        v = std::move(explained);
        if (v.scanner) emit(scanner_record(iv, s, v));
        s.verdict = std::make_shared<const Verdict>(std::move(v));
    }
    if (!victims.empty()) {
        std::sort(victims.rbegin(), victims.rend());
        json top = json::array();
        for (size_t i = 0; i < victims.size() && i < 10; ++i)
            top.push_back({{"src", victims[i].second}, {"packets", victims[i].first}});
        backscatter.update({{"type", "backscatter"},
                            {"time", rfc3339(ctx_.clock.to_unix_ns(iv.now_ns))},
                            {"interface", ctx_.iface},
                            {"top_victims", top},
                            {"note",
                             "SYN-ACK, RST and ICMP errors nobody here asked for: "
                             "someone spoofs our addresses at these victims"}});
        emit(backscatter);
    }
    for (const auto& p : iv.ports) {
        json j = port_record(ctx_, iv, p);
        if (port_names_)
            if (auto n = port_names_->name(port_proto_name(p.proto), p.port))
                j["service"] = std::string(*n);
        emit(j);
    }
    auto end_scanner = [&](const SourceState& s) {
        if (s.verdict && s.verdict->scanner) emit(scanner_end_record(iv.now_ns, s));
    };
    for (const auto& s : table_.take_evicted()) end_scanner(s);
    table_.expire(iv.now_ns, end_scanner);
}

void IntervalProcessor::finish(uint64_t now_ns, const Emit& emit) {
    table_.for_each([&](const SourceState& s) {
        if (s.verdict && s.verdict->scanner) emit(scanner_end_record(now_ns, s));
    });
    for (const auto& f : floods_) emit(flood_end_record(now_ns, f));
    floods_.clear();
}

}  // namespace probescope
