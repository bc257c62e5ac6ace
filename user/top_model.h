// The live view's model (`probescope top`): the agent's JSON records in (docs/json.md), sorted,
// filtered, paged rows out. Pure: no terminal, no kernel, so every view is unit-tested.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "addr.h"
#include "probescope/abi.h"

namespace probescope {

// The rate windows keys 1, 2 and 3 choose.
enum class RateWindow : uint8_t { Sec10, Min1, Min5 };
int64_t window_seconds(RateWindow w);   // 10, 60, 300
const char* window_name(RateWindow w);  // "10 s", "1 min", "5 min"

// "2026-11-22T07:35:34.929Z" -> Unix milliseconds.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

// Packets per second for the last 5 minutes, one entry per second that had any: a source seen
// once costs one entry, so a million of them fit.
class SecondSeries {
public:
    static constexpr int32_t kHorizonS = 300;
    void add(int32_t sec, uint64_t packets);
    // Packets in seconds from..to, inclusive.
    uint64_t sum(int32_t from, int32_t to) const;
    // Packets per second in `columns` equal slices of the span_s seconds ending with end.
    std::vector<double> slices(int32_t end, int32_t span_s, size_t columns) const;
    size_t entries() const { return v_.size(); }

private:
    struct Entry {
        int32_t sec;
        uint32_t packets;
    };
    std::vector<Entry> v_;  // ascending seconds
};

// One destination port a source hit: proto is enum ps_port_proto, or PS_PORT_SLOT_ICMP.
struct PortHit {
    uint8_t proto = 0;
    uint16_t port = 0;
    uint32_t packets = 0;
};
std::string port_text(unsigned proto, uint16_t port);  // "tcp/22", "udp/53", "icmp"

// A scanner record's verdict, kept for the detail view.
struct TopVerdict {
    std::vector<std::string> techniques;
    std::string pattern;
    bool repeated = false;
    std::string tool;  // empty: no TCP probe
    double tool_confidence = 0;
    std::string tool_evidence;
    std::vector<std::string> labels;
    std::string rdns;
    std::string rule;
    nlohmann::json numbers;
    nlohmann::json fingerprint;
    std::vector<PortHit> top_ports;
    double rate_pps = 0;
    double detect_s = 0;
    int64_t time_ms = 0;   // when this verdict was written
    unsigned changes = 0;  // scanner records after the first
    // What the table shows, kept so that filtering a million rows formats nothing.
    std::string label;      // research label, else reverse DNS, else other labels
    std::string technique;  // techniques joined by ','
};

struct TopSource {
    Addr16 addr{};
    std::string src;  // as the agent wrote it
    int64_t first_seen_ms = 0, last_seen_ms = 0;
    uint64_t packets = 0;  // since first_seen (source.total, or scanner.packets)
    std::array<uint64_t, PS_SRC_CLASS_COUNT> total{};
    double pps = 0;                // in its last interval
    uint64_t ports = 0, dsts = 0;  // distinct, in its current window
    bool ports_exact = true, dsts_exact = true;
    std::array<PortHit, 5> top{};
    uint8_t n_top = 0;
    SecondSeries history;
    std::unique_ptr<TopVerdict> verdict;
    bool ended = false;        // scanner_end seen
    bool backscatter = false;  // named in a backscatter record's top_victims
    uint64_t touch = 0;        // LRU stamp

    // Table cells; empty for sources without a verdict (most of them), which hold no strings.
    const std::string& label() const;
    const std::string& technique() const;  // "backscatter" for a victim without a verdict
    const std::string& tool() const;
};

struct TopPort {
    uint8_t proto = 0;
    uint16_t port = 0;
    uint64_t packets = 0;        // its last interval
    uint64_t total_packets = 0;  // since the program was loaded
    uint64_t sources = 0;        // distinct sources since the program was loaded
    std::string service;
    int64_t last_ms = 0;
    SecondSeries history;
};

struct TopEvent {
    uint64_t seq = 0;
    int64_t time_ms = 0;
    std::string type;     // scanner, verdict, scanner_end, flood_start, flood_end, backscatter
    std::string subject;  // an address or "tcp/80"
    std::optional<Addr16> addr;
    std::vector<PortHit> ports;
    std::string text;
};

// Columns of each table; a query's sort is one of them.
enum class TopTable : uint8_t { Sources, Ports, Flags, Events };
enum SourceCol : int {
    kSrcAddress,
    kSrcLabel,
    kSrcPackets,
    kSrcRate,
    kSrcPorts,
    kSrcDsts,
    kSrcTechnique,
    kSrcTool,
    kSrcLastSeen,
    kSrcColumns
};
enum PortCol : int {
    kPortPort,
    kPortService,
    kPortPackets,
    kPortRate,
    kPortTotal,
    kPortSources,
    kPortColumns
};
enum FlagCol : int { kFlagFlags, kFlagValue, kFlagPackets, kFlagShare, kFlagTotal, kFlagColumns };
enum EventCol : int { kEventTime, kEventType, kEventSubject, kEventText, kEventColumns };

struct ColumnSpec {
    const char* title;
    bool numeric;  // right-aligned; sorted largest first by default
};
const std::vector<ColumnSpec>& table_columns(TopTable t);
int default_sort(TopTable t);

// The filter the '/' key takes. "198.51" (address or label substring), "198.51.100.0/24" or a
// full address (CIDR), "22", "tcp/22" or "port:22" (a port), "label:shodan" (labels and
// reverse DNS only). Case-insensitive.
struct TopFilter {
    enum Kind { None, Text, Label, Cidr, Port } kind = None;
    std::string text;  // lower case
    Addr16 prefix{};
    int prefix_len = 0;
    int proto = -1;  // -1: any
    uint16_t port = 0;
    static TopFilter parse(std::string_view text);
    bool contains(const Addr16& a) const;
};

struct TopQuery {
    std::string filter;
    int sort = -1;  // a column of the table; -1: its default
    bool descending = true;
    RateWindow window = RateWindow::Sec10;
    size_t offset = 0;  // first row wanted, in sorted order
    size_t limit = 50;  // rows wanted
};

struct SourceRow {
    const TopSource* s;
    double rate;  // packets per second over the query's window
};
struct PortRow {
    const TopPort* p;
    uint64_t packets;  // in the window
    double rate;
};
struct FlagRow {
    uint8_t value;
    std::string name;
    uint64_t packets;  // in the window
    double share;      // of the window's TCP packets, 0..1
    uint64_t total;    // since the view started
};
struct EventRow {
    const TopEvent* e;
};

template <typename Row>
struct TopPage {
    size_t matching = 0;         // rows passing the filter
    size_t offset = 0;           // of rows[0]
    bool filter_applies = true;  // false: this table has nothing the filter can match
    std::vector<Row> rows;       // pointers stay valid until the next on_record
};

struct TopModelConfig {
    size_t max_sources = 1000000;  // beyond it the least recently updated are dropped
    size_t max_events = 2000;
};

class TopModel {
public:
    explicit TopModel(TopModelConfig cfg = {});

    // One record, exactly as docs/json.md describes it; unknown types are ignored, and a
    // record with a wrong field is counted in bad_records(), never thrown.
    void on_record(const nlohmann::json& j);
    // A JSON line (what `probescope run` writes); false when it does not parse.
    bool on_line(std::string_view line);

    // Header.
    int64_t now_ms() const { return now_ms_; }
    const std::string& iface() const { return iface_; }
    double interval_s() const { return last_interval_s_; }
    uint64_t total_packets() const { return total_packets_; }
    uint64_t ports_active() const { return ports_active_; }
    struct MapState {
        uint64_t capacity = 0, drained = 0, inserts = 0, insert_failures = 0, evictions = 0;
        double fill = 0;
    };
    const MapState& map() const { return map_; }
    // The agent's own cost in its last stats record (docs/json.md: agent.*, maps.memlock_bytes).
    struct AgentCost {
        bool known = false;       // the record had an agent object (older agents: none)
        double cpu_share = 0;     // agent.cpu_ms over the interval: 1.0 is one CPU kept busy
        uint64_t rss_bytes = 0;   // the agent's resident memory
        uint64_t maps_bytes = 0;  // the kernel's charge for the program's counting maps
    };
    const AgentCost& agent_cost() const { return agent_; }
    // Packets per second over the window: every class (cls < 0), or one class.
    double rate(RateWindow w, int cls = -1) const;
    // Packets per second in `columns` equal slices of the window (oldest first).
    std::vector<double> rate_slices(RateWindow w, size_t columns, int cls = -1) const;
    size_t source_count() const { return sources_.size(); }
    size_t scanner_count() const { return scanners_; }
    size_t port_count() const { return ports_.size(); }
    uint64_t records() const { return records_; }
    uint64_t bad_records() const { return bad_records_; }
    uint64_t sources_dropped() const { return sources_dropped_; }

    // Tables: filter, then sort only the rows up to offset + limit (partial sort), then page.
    TopPage<SourceRow> sources(const TopQuery& q) const;
    TopPage<PortRow> ports(const TopQuery& q) const;
    TopPage<FlagRow> flags(const TopQuery& q) const;
    TopPage<EventRow> events(const TopQuery& q) const;

    const TopSource* source(const Addr16& a) const;
    double source_rate(const TopSource& s, RateWindow w) const;
    // Packets per second of one source in `columns` slices of the window.
    std::vector<double> source_slices(const TopSource& s, RateWindow w, size_t columns) const;
    // Service name from the port and scanner records seen ("ssh"), or empty.
    std::string service(unsigned proto, uint16_t port) const;

private:
    void on_stats(const nlohmann::json& j);
    void on_source(const nlohmann::json& j);
    void on_scanner(const nlohmann::json& j);
    void on_scanner_end(const nlohmann::json& j);
    void on_port(const nlohmann::json& j);
    void on_flood(const nlohmann::json& j);
    void on_backscatter(const nlohmann::json& j);
    TopSource* find_or_add(const std::string& src);
    void refresh_display(TopSource& s);
    void evict_sources();
    void add_event(TopEvent e);
    int32_t rel_sec(int64_t ms) const;
    double span_s(RateWindow w) const;  // seconds the window really covers so far
    void learn_services(const nlohmann::json& top_ports);

    TopModelConfig cfg_;
    int64_t now_ms_ = 0;
    int64_t origin_ms_ = 0;  // start of the first interval seen
    int64_t base_sec_ = 0;   // second 0 of every SecondSeries
    bool have_origin_ = false;
    std::string iface_;
    double last_interval_s_ = 0;
    uint64_t total_packets_ = 0;
    uint64_t ports_active_ = 0;
    MapState map_;
    AgentCost agent_;

    struct StatSample {
        int64_t end_ms;
        double seconds;
        uint64_t packets;
        std::array<uint64_t, PS_CLASS_COUNT> classes;
        std::vector<std::pair<uint8_t, uint64_t>> flags;
    };
    std::deque<StatSample> samples_;  // the last 5 minutes
    std::array<uint64_t, 256> flags_total_{};

    std::vector<TopSource> sources_;
    std::unordered_map<Addr16, uint32_t, Addr16Hash> source_index_;
    uint64_t touch_ = 0;
    size_t scanners_ = 0;  // with a verdict, not ended
    uint64_t sources_dropped_ = 0;

    std::vector<TopPort> ports_;
    std::unordered_map<uint32_t, uint32_t> port_index_;  // proto << 16 | port
    std::unordered_map<uint32_t, std::string> services_;

    std::deque<TopEvent> events_;
    uint64_t event_seq_ = 0;
    uint64_t backscatter_packets_ = 0, backscatter_victims_ = 0;  // the open episode

    uint64_t records_ = 0, bad_records_ = 0;
    std::string last_time_text_;
    int64_t last_time_ms_ = 0;
};

}  // namespace probescope
