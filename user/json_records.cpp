// Builds the stats, source and port records; field meanings are in docs/json.md.
#include "json_records.h"

#include "addr.h"
#include "names.h"

namespace probescope {

using nlohmann::json;

static json header(const RecordContext& ctx, const Interval& iv, const char* type) {
    json j = json::object();
    j["type"] = type;
    j["time"] = rfc3339(ctx.clock.to_unix_ns(iv.now_ns));
    j["interface"] = ctx.iface;
    return j;
}

static double rate(uint64_t n, double seconds) { return seconds > 0 ? n / seconds : 0.0; }

json stats_record(const RecordContext& ctx, const Interval& iv) {
    json j = header(ctx, iv, "stats");
    j["interval_s"] = iv.seconds;
    j["packets"] = iv.delta.packets;
    j["bytes"] = iv.delta.bytes;
    j["pps"] = rate(iv.delta.packets, iv.seconds);
    json classes = json::object();
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c)
        classes[std::string(class_name(c))] = iv.delta.classes[c];
    j["classes"] = std::move(classes);
    json flags = json::array();
    for (unsigned f = 0; f < 256; ++f) {
        if (iv.delta.tcp_flags[f] == 0) continue;
        json& row = flags.emplace_back(json::object());
        row["flags"] = tcp_flags_name(static_cast<uint8_t>(f));
        row["value"] = f;
        row["packets"] = iv.delta.tcp_flags[f];
    }
    j["tcp_flags"] = std::move(flags);
    j["total_packets"] = iv.cumulative.packets;
    j["ports_active"] = iv.ports_active;
    j["maps"] = {{"src_stats",
                  {{"capacity", iv.src_map.capacity},
                   {"drained", iv.src_map.drained},
                   {"fill", iv.src_map.capacity
                                ? static_cast<double>(iv.src_map.drained) / iv.src_map.capacity
                                : 0.0},
                   {"inserts", iv.delta.src_inserts},
                   {"insert_failures", iv.delta.src_insert_failed},
                   {"evictions", iv.src_map.evictions}}},
                 {"src_pending",
                  {{"slots", iv.src_map.pending_slots},
                   {"first_probes", iv.delta.src_pending},
                   {"drained", iv.src_map.pending_drained}}},
                 {"memlock_bytes", iv.maps_memlock_bytes}};
    // IntervalProcessor adds agent.sources once the samples are absorbed.
    json& agent = j["agent"];
    agent["cpu_ms"] = iv.agent.cpu_ms;
    agent["rss_bytes"] = iv.agent.rss_bytes;
    return j;
}

json port_item_json(uint32_t item, uint64_t packets) {
    json j = json::object();
    j["proto"] = port_proto_name(PS_PORT_SLOT_PROTO(item));
    j["packets"] = packets;
    if (PS_PORT_SLOT_PROTO(item) != PS_PORT_SLOT_ICMP) j["port"] = PS_PORT_SLOT_PORT(item);
    return j;
}

json distinct_json(const DistinctCount& d) {
    json j = json::object();
    j["value"] = d.value;
    j["exact"] = d.exact;
    return j;
}

json source_record(const RecordContext& ctx, const Interval& iv, const SourceState& s) {
    json j = header(ctx, iv, "source");
    j["src"] = format_addr(s.addr.data());
    j["family"] = is_v4_mapped(s.addr.data()) ? 4 : 6;
    j["first_seen"] = rfc3339(ctx.clock.to_unix_ns(s.first_seen_ns));
    j["last_seen"] = rfc3339(ctx.clock.to_unix_ns(s.last_seen_ns));
    json pkts = json::object(), total = json::object();
    for (unsigned c = 0; c < PS_SRC_CLASS_COUNT; ++c) {
        pkts[std::string(class_name(c))] = s.interval[c];
        total[std::string(class_name(c))] = s.total[c];
    }
    j["packets"] = std::move(pkts);
    j["total"] = std::move(total);
    j["pps"] = rate(s.interval_packets(), iv.seconds);
    j["distinct_ports"] = distinct_json(s.distinct_ports());
    j["distinct_dsts"] = distinct_json(s.distinct_dsts());
    json top = json::array();
    for (const auto& p : s.top_ports(5)) top.push_back(port_item_json(p.item, p.packets));
    j["top_ports"] = std::move(top);
    return j;
}

json port_record(const RecordContext& ctx, const Interval& iv, const PortSample& p) {
    json j = header(ctx, iv, "port");
    j["proto"] = port_proto_name(p.proto);
    j["port"] = p.port;
    j["packets"] = p.packets;
    j["total_packets"] = p.total_packets;
    j["distinct_sources"] = static_cast<uint64_t>(p.distinct_sources + 0.5);
    return j;
}

}  // namespace probescope
