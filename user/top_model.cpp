// TopModel: the agent's records folded into tables; queries sort only the rows they return.
#include "top_model.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "cidr_set.h"
#include "names.h"

namespace probescope {

using nlohmann::json;

int64_t window_seconds(RateWindow w) {
    switch (w) {
        case RateWindow::Sec10:
            return 10;
        case RateWindow::Min1:
            return 60;
        case RateWindow::Min5:
            return 300;
    }
    return 10;
}

const char* window_name(RateWindow w) {
    switch (w) {
        case RateWindow::Sec10:
            return "10 s";
        case RateWindow::Min1:
            return "1 min";
        case RateWindow::Min5:
            return "5 min";
    }
    return "10 s";
}

// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> parse_rfc3339_ms(std::string_view t) {
    // YYYY-MM-DDTHH:MM:SS[.fff...]Z
    auto num = [&](size_t pos, size_t len, int64_t& out) {
        if (pos + len > t.size()) return false;
        out = 0;
        for (size_t i = pos; i < pos + len; ++i) {
            if (t[i] < '0' || t[i] > '9') return false;
            out = out * 10 + (t[i] - '0');
        }
        return true;
    };
    int64_t y, mo, d, h, mi, s;
    if (t.size() < 20 || !num(0, 4, y) || t[4] != '-' || !num(5, 2, mo) || t[7] != '-' ||
        !num(8, 2, d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !num(11, 2, h) ||
        t[13] != ':' || !num(14, 2, mi) || t[16] != ':' || !num(17, 2, s))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
    size_t pos = 19;
    int64_t ms = 0;
    if (pos < t.size() && t[pos] == '.') {
        int digits = 0;
        for (++pos; pos < t.size() && t[pos] >= '0' && t[pos] <= '9'; ++pos, ++digits)
            if (digits < 3) ms = ms * 10 + (t[pos] - '0');
        if (digits == 0) return std::nullopt;
        for (; digits < 3; ++digits) ms *= 10;
    }
    if (pos + 1 != t.size() || (t[pos] != 'Z' && t[pos] != 'z')) return std::nullopt;
    int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return ((days * 24 + h) * 60 + mi) * 60000 + s * 1000 + ms;
}

// ---- SecondSeries ----

void SecondSeries::add(int32_t sec, uint64_t packets) {
    if (packets == 0) return;
    auto sat = [](uint64_t a, uint64_t b) {
        uint64_t s = a + b;
        return static_cast<uint32_t>(std::min<uint64_t>(s, std::numeric_limits<uint32_t>::max()));
    };
    if (v_.empty() || v_.back().sec < sec) {
        v_.push_back({sec, sat(0, packets)});
    } else {
        auto it = std::lower_bound(v_.begin(), v_.end(), sec,
                                   [](const Entry& e, int32_t s) { return e.sec < s; });
        if (it != v_.end() && it->sec == sec)
            it->packets = sat(it->packets, packets);
        else
            v_.insert(it, {sec, sat(0, packets)});
    }
    const int32_t oldest = v_.back().sec - kHorizonS;
    size_t drop = 0;
    while (drop < v_.size() && v_[drop].sec < oldest) ++drop;
    if (drop) v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(drop));
}

uint64_t SecondSeries::sum(int32_t from, int32_t to) const {
    uint64_t n = 0;
    for (auto it = v_.rbegin(); it != v_.rend() && it->sec >= from; ++it)
        if (it->sec <= to) n += it->packets;
    return n;
}

std::vector<double> SecondSeries::slices(int32_t end, int32_t span_s, size_t columns) const {
    if (span_s <= 0) span_s = 1;
    columns = std::clamp<size_t>(columns, 1, static_cast<size_t>(span_s));
    std::vector<double> out(columns, 0.0);
    const int32_t first = end - span_s + 1;
    const double width = static_cast<double>(span_s) / columns;  // seconds per column
    for (auto it = v_.rbegin(); it != v_.rend() && it->sec >= first; ++it) {
        if (it->sec > end) continue;
        size_t c = static_cast<size_t>((it->sec - first) * columns / span_s);
        out[std::min(c, columns - 1)] += it->packets / width;
    }
    return out;
}

std::string port_text(unsigned proto, uint16_t port) {
    if (proto == PS_PORT_SLOT_ICMP) return "icmp";
    return std::string(port_proto_name(proto)) + "/" + std::to_string(port);
}

static int proto_from_name(std::string_view n) {
    if (n == "tcp") return PS_PORT_PROTO_TCP;
    if (n == "udp") return PS_PORT_PROTO_UDP;
    if (n == "icmp") return PS_PORT_SLOT_ICMP;
    return -1;
}

// ---- columns ----

const std::vector<ColumnSpec>& table_columns(TopTable t) {
    static const std::vector<ColumnSpec> src = {
        {"ADDRESS", false},   {"LABEL", false}, {"PACKETS", true},
        {"RATE", true},       {"PORTS", true},  {"DSTS", true},
        {"TECHNIQUE", false}, {"TOOL", false},  {"LAST", true}};
    static const std::vector<ColumnSpec> port = {{"PORT", false},   {"SERVICE", false},
                                                 {"PACKETS", true}, {"RATE", true},
                                                 {"TOTAL", true},   {"SOURCES", true}};
    static const std::vector<ColumnSpec> flag = {
        {"FLAGS", false}, {"VALUE", true}, {"PACKETS", true}, {"SHARE", true}, {"TOTAL", true}};
    static const std::vector<ColumnSpec> event = {
        {"TIME", true}, {"EVENT", false}, {"SUBJECT", false}, {"DETAIL", false}};
    switch (t) {
        case TopTable::Sources:
            return src;
        case TopTable::Ports:
            return port;
        case TopTable::Flags:
            return flag;
        case TopTable::Events:
            return event;
    }
    return src;
}

int default_sort(TopTable t) {
    switch (t) {
        case TopTable::Sources:
            return kSrcRate;
        case TopTable::Ports:
            return kPortPackets;
        case TopTable::Flags:
            return kFlagPackets;
        case TopTable::Events:
            return kEventTime;
    }
    return 0;
}

// ---- filter ----

static std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

static std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

static std::optional<uint16_t> parse_port(std::string_view s) {
    unsigned v = 0;
    if (s.empty() || s.size() > 5) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
}

TopFilter TopFilter::parse(std::string_view raw) {
    TopFilter f;
    std::string t = lower(trim(raw));
    if (t.empty()) return f;
    f.kind = Text;
    f.text = t;
    std::string_view v = t;
    if (v.starts_with("label:")) {
        f.kind = Label;
        f.text = std::string(trim(v.substr(6)));
        return f;
    }
    if (v.starts_with("port:")) v.remove_prefix(5);
    for (const char* proto : {"tcp/", "udp/"}) {
        if (v.starts_with(proto)) {
            if (auto p = parse_port(v.substr(4))) {
                f.kind = Port;
                f.proto = proto_from_name(std::string_view(proto, 3));
                f.port = *p;
            }
            return f;
        }
    }
    if (auto p = parse_port(v)) {
        f.kind = Port;
        f.port = *p;
        return f;
    }
    if (auto c = parse_cidr(t)) {
        f.kind = Cidr;
        f.prefix = c->first;
        f.prefix_len = c->second;
    }
    return f;
}

bool TopFilter::contains(const Addr16& a) const { return mask_prefix(a, prefix_len) == prefix; }

// needle is lower case already.
static bool icontains(std::string_view hay, std::string_view needle) {
    if (needle.empty()) return true;
    if (hay.size() < needle.size()) return false;
    for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
        size_t k = 0;
        while (k < needle.size() &&
               std::tolower(static_cast<unsigned char>(hay[i + k])) == needle[k])
            ++k;
        if (k == needle.size()) return true;
    }
    return false;
}

static bool hits_port(const TopFilter& f, const PortHit& h) {
    return h.proto != PS_PORT_SLOT_ICMP && h.port == f.port && (f.proto < 0 || f.proto == h.proto);
}

static bool labels_match(const TopSource& s, std::string_view needle) {
    if (icontains(s.label(), needle)) return true;
    if (!s.verdict) return s.backscatter && icontains("backscatter", needle);
    if (icontains(s.verdict->rdns, needle)) return true;
    for (const auto& l : s.verdict->labels)
        if (icontains(l, needle)) return true;
    return false;
}

static bool source_matches(const TopFilter& f, const TopSource& s) {
    switch (f.kind) {
        case TopFilter::None:
            return true;
        case TopFilter::Cidr:
            return f.contains(s.addr);
        case TopFilter::Label:
            return labels_match(s, f.text);
        case TopFilter::Port:
            for (size_t i = 0; i < s.n_top; ++i)
                if (hits_port(f, s.top[i])) return true;
            if (s.verdict)
                for (const auto& h : s.verdict->top_ports)
                    if (hits_port(f, h)) return true;
            return false;
        case TopFilter::Text:
            return s.src.find(f.text) != std::string::npos || labels_match(s, f.text) ||
                   icontains(s.technique(), f.text) || icontains(s.tool(), f.text) ||
                   (s.verdict && icontains(s.verdict->pattern, f.text));
    }
    return true;
}

// ---- model ----

TopModel::TopModel(TopModelConfig cfg) : cfg_(cfg) {
    if (cfg_.max_sources == 0) cfg_.max_sources = 1;
    if (cfg_.max_events == 0) cfg_.max_events = 1;
}

bool TopModel::on_line(std::string_view line) {
    json j = json::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        ++bad_records_;
        return false;
    }
    on_record(j);
    return true;
}

static uint64_t u64(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return 0;
    if (it->is_number_unsigned()) return it->get<uint64_t>();
    if (it->is_number_integer())
        return static_cast<uint64_t>(std::max<int64_t>(0, it->get<int64_t>()));
    if (it->is_number()) return static_cast<uint64_t>(std::max(0.0, it->get<double>()));
    throw json::type_error::create(302, std::string(key) + " is not a number", &j);
}

static double num(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return 0;
    return it->get<double>();
}

static std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

void TopModel::on_record(const json& j) {
    try {
        if (!j.is_object()) throw json::type_error::create(302, "record is not an object", &j);
        ++records_;
        const std::string type = str(j, "type");
        std::string time = str(j, "time");
        if (time != last_time_text_) {
            auto ms = parse_rfc3339_ms(time);
            if (!ms) throw json::type_error::create(302, "bad time", &j);
            last_time_text_ = time;
            last_time_ms_ = *ms;
        }
        if (!have_origin_) {
            have_origin_ = true;
            double iv = j.contains("interval_s") ? num(j, "interval_s") : 1.0;
            origin_ms_ = last_time_ms_ - static_cast<int64_t>(iv * 1000);
            base_sec_ = origin_ms_ / 1000 - 1;
        }
        now_ms_ = std::max(now_ms_, last_time_ms_);
        if (iface_.empty()) iface_ = str(j, "interface");
        if (type == "stats")
            on_stats(j);
        else if (type == "source")
            on_source(j);
        else if (type == "scanner")
            on_scanner(j);
        else if (type == "scanner_end")
            on_scanner_end(j);
        else if (type == "port")
            on_port(j);
        else if (type == "flood")
            on_flood(j);
        else if (type == "backscatter")
            on_backscatter(j);
    } catch (const json::exception&) {
        ++bad_records_;
    } catch (const std::invalid_argument&) {
        ++bad_records_;
    }
}

int32_t TopModel::rel_sec(int64_t ms) const { return static_cast<int32_t>(ms / 1000 - base_sec_); }

double TopModel::span_s(RateWindow w) const {
    double covered = (now_ms_ - origin_ms_) / 1000.0;
    return std::min(static_cast<double>(window_seconds(w)), covered);
}

void TopModel::on_stats(const json& j) {
    StatSample smp{};
    smp.end_ms = last_time_ms_;
    smp.seconds = num(j, "interval_s");
    smp.packets = u64(j, "packets");
    if (auto c = j.find("classes"); c != j.end() && c->is_object())
        for (const auto& [name, v] : c->items())
            if (auto cls = class_from_name(name)) smp.classes[*cls] = v.get<uint64_t>();
    if (auto f = j.find("tcp_flags"); f != j.end() && f->is_array())
        for (const auto& e : *f) {
            uint64_t value = u64(e, "value"), n = u64(e, "packets");
            if (value > 255) continue;
            smp.flags.emplace_back(static_cast<uint8_t>(value), n);
            flags_total_[value] += n;
        }
    last_interval_s_ = smp.seconds;
    total_packets_ = u64(j, "total_packets");
    ports_active_ = u64(j, "ports_active");
    if (auto m = j.find("maps"); m != j.end() && m->contains("src_stats")) {
        const json& s = (*m)["src_stats"];
        map_.capacity = u64(s, "capacity");
        map_.drained = u64(s, "drained");
        map_.inserts = u64(s, "inserts");
        map_.insert_failures = u64(s, "insert_failures");
        map_.evictions = u64(s, "evictions");
        map_.fill = num(s, "fill");
    }
    if (auto a = j.find("agent"); a != j.end() && a->is_object()) {
        agent_.known = true;
        agent_.cpu_share = smp.seconds > 0 ? num(*a, "cpu_ms") / (smp.seconds * 1000) : 0;
        agent_.rss_bytes = u64(*a, "rss_bytes");
        auto m = j.find("maps");
        agent_.maps_bytes = m != j.end() && m->is_object() ? u64(*m, "memlock_bytes") : 0;
    }
    samples_.push_back(std::move(smp));
    while (!samples_.empty() &&
           samples_.front().end_ms < now_ms_ - (SecondSeries::kHorizonS + 10) * 1000)
        samples_.pop_front();
}

double TopModel::rate(RateWindow w, int cls) const {
    const int64_t from = now_ms_ - window_seconds(w) * 1000;
    double seconds = 0;
    uint64_t n = 0;
    for (auto it = samples_.rbegin(); it != samples_.rend() && it->end_ms > from; ++it) {
        seconds += it->seconds;
        n += cls < 0 ? it->packets : it->classes[static_cast<size_t>(cls)];
    }
    return seconds > 0 ? n / seconds : 0.0;
}

std::vector<double> TopModel::rate_slices(RateWindow w, size_t columns, int cls) const {
    columns = std::max<size_t>(columns, 1);
    std::vector<double> out(columns, 0.0);
    const double span = window_seconds(w) * 1000.0;
    const double start = static_cast<double>(now_ms_) - span;
    const double col = span / columns;
    for (auto it = samples_.rbegin(); it != samples_.rend(); ++it) {
        double b = static_cast<double>(it->end_ms), a = b - it->seconds * 1000.0;
        if (b <= start) break;
        if (it->seconds <= 0) continue;
        double r = (cls < 0 ? it->packets : it->classes[static_cast<size_t>(cls)]) / it->seconds;
        // Spread the interval's rate over the columns it overlaps.
        size_t c0 = static_cast<size_t>(std::max(0.0, (a - start) / col));
        for (size_t c = c0; c < columns; ++c) {
            double lo = start + c * col, hi = lo + col;
            double overlap = std::min(hi, b) - std::max(lo, a);
            if (lo >= b) break;
            if (overlap > 0) out[c] += r * overlap / col;
        }
    }
    return out;
}

TopSource* TopModel::find_or_add(const std::string& src) {
    auto addr = parse_addr(src);
    if (!addr) throw std::invalid_argument("bad address");
    auto it = source_index_.find(*addr);
    TopSource* s;
    if (it != source_index_.end()) {
        s = &sources_[it->second];
    } else {
        source_index_.emplace(*addr, static_cast<uint32_t>(sources_.size()));
        sources_.emplace_back();
        s = &sources_.back();
        s->addr = *addr;
        s->src = src;
    }
    s->touch = ++touch_;
    return s;
}

const TopSource* TopModel::source(const Addr16& a) const {
    auto it = source_index_.find(a);
    return it == source_index_.end() ? nullptr : &sources_[it->second];
}

// The least recently updated go first, in batches, so that a full table costs O(1) amortised.
void TopModel::evict_sources() {
    if (sources_.size() <= cfg_.max_sources) return;
    size_t excess = sources_.size() - cfg_.max_sources + cfg_.max_sources / 64;
    excess = std::min(excess, sources_.size() - 1);
    std::vector<std::pair<uint64_t, uint32_t>> order;
    order.reserve(sources_.size());
    for (uint32_t i = 0; i < sources_.size(); ++i) order.emplace_back(sources_[i].touch, i);
    std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(excess),
                     order.end());
    std::vector<uint32_t> victims;
    victims.reserve(excess);
    for (size_t i = 0; i < excess; ++i) victims.push_back(order[i].second);
    std::sort(victims.rbegin(), victims.rend());
    for (uint32_t idx : victims) {
        TopSource& s = sources_[idx];
        if (s.verdict && !s.ended) --scanners_;
        source_index_.erase(s.addr);
        if (idx != sources_.size() - 1) {
            s = std::move(sources_.back());
            source_index_[s.addr] = idx;
        }
        sources_.pop_back();
        ++sources_dropped_;
    }
}

void TopModel::refresh_display(TopSource& s) {
    if (!s.verdict) return;
    TopVerdict& v = *s.verdict;
    v.label.clear();
    v.technique.clear();
    for (const auto& l : v.labels)
        if (l.starts_with("research:")) {
            v.label = l.substr(9);
            break;
        }
    if (v.label.empty()) v.label = v.rdns;
    if (v.label.empty())
        for (const auto& l : v.labels) v.label += (v.label.empty() ? "" : ",") + l;
    for (const auto& t : v.techniques) v.technique += (v.technique.empty() ? "" : ",") + t;
}

static const std::string kEmpty, kBackscatterText = "backscatter";

const std::string& TopSource::label() const { return verdict ? verdict->label : kEmpty; }
const std::string& TopSource::tool() const { return verdict ? verdict->tool : kEmpty; }
const std::string& TopSource::technique() const {
    if (verdict && !verdict->technique.empty()) return verdict->technique;
    return backscatter ? kBackscatterText : kEmpty;
}

static void read_distinct(const json& j, const char* key, uint64_t& value, bool& exact) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_object()) return;
    value = u64(*it, "value");
    exact = it->value("exact", true);
}

static std::vector<PortHit> read_ports(const json& arr) {
    std::vector<PortHit> out;
    if (!arr.is_array()) return out;
    for (const auto& p : arr) {
        int proto = proto_from_name(str(p, "proto"));
        if (proto < 0) continue;
        PortHit h;
        h.proto = static_cast<uint8_t>(proto);
        h.port = static_cast<uint16_t>(u64(p, "port"));
        h.packets = static_cast<uint32_t>(std::min<uint64_t>(u64(p, "packets"), UINT32_MAX));
        out.push_back(h);
    }
    return out;
}

void TopModel::learn_services(const json& top_ports) {
    if (!top_ports.is_array()) return;
    for (const auto& p : top_ports) {
        std::string svc = str(p, "service");
        int proto = proto_from_name(str(p, "proto"));
        if (svc.empty() || proto < 0) continue;
        services_[static_cast<uint32_t>(proto) << 16 | static_cast<uint32_t>(u64(p, "port"))] = svc;
    }
}

std::string TopModel::service(unsigned proto, uint16_t port) const {
    auto it = services_.find(proto << 16 | port);
    return it == services_.end() ? std::string() : it->second;
}

void TopModel::on_source(const json& j) {
    TopSource* s = find_or_add(str(j, "src"));
    if (auto t = parse_rfc3339_ms(str(j, "first_seen"))) s->first_seen_ms = *t;
    if (auto t = parse_rfc3339_ms(str(j, "last_seen"))) s->last_seen_ms = *t;
    uint64_t interval = 0;
    if (auto p = j.find("packets"); p != j.end() && p->is_object())
        for (const auto& [name, v] : p->items()) interval += v.get<uint64_t>();
    if (auto t = j.find("total"); t != j.end() && t->is_object()) {
        s->packets = 0;
        for (const auto& [name, v] : t->items()) {
            uint64_t n = v.get<uint64_t>();
            s->packets += n;
            if (auto cls = class_from_name(name); cls && *cls < PS_SRC_CLASS_COUNT)
                s->total[*cls] = n;
        }
    }
    s->pps = num(j, "pps");
    read_distinct(j, "distinct_ports", s->ports, s->ports_exact);
    read_distinct(j, "distinct_dsts", s->dsts, s->dsts_exact);
    if (auto tp = j.find("top_ports"); tp != j.end()) {
        auto hits = read_ports(*tp);
        s->n_top = static_cast<uint8_t>(std::min(hits.size(), s->top.size()));
        std::copy_n(hits.begin(), s->n_top, s->top.begin());
    }
    s->history.add(rel_sec(last_time_ms_), interval);
    evict_sources();
}

void TopModel::add_event(TopEvent e) {
    e.seq = ++event_seq_;
    events_.push_back(std::move(e));
    while (events_.size() > cfg_.max_events) events_.pop_front();
}

static std::string fmt_num(double v) {
    char buf[32];
    if (v >= 100 || v == std::floor(v))
        snprintf(buf, sizeof(buf), "%.0f", v);
    else
        snprintf(buf, sizeof(buf), "%.1f", v);
    return buf;
}

void TopModel::on_scanner(const json& j) {
    TopSource* s = find_or_add(str(j, "src"));
    bool first = !s->verdict;
    unsigned changes = s->verdict ? s->verdict->changes + 1 : 0;
    if (first || s->ended) ++scanners_;
    s->ended = false;
    auto v = std::make_unique<TopVerdict>();
    if (auto t = j.find("techniques"); t != j.end() && t->is_array())
        for (const auto& x : *t) v->techniques.push_back(x.get<std::string>());
    v->pattern = str(j, "pattern");
    v->repeated = j.value("repeated", false);
    if (auto t = j.find("tool"); t != j.end() && t->is_object()) {
        v->tool = str(*t, "name");
        v->tool_confidence = num(*t, "confidence");
        v->tool_evidence = str(*t, "evidence");
    }
    if (auto l = j.find("labels"); l != j.end() && l->is_array())
        for (const auto& x : *l) v->labels.push_back(x.get<std::string>());
    v->rdns = str(j, "rdns");
    v->rule = str(j, "rule");
    if (auto n = j.find("numbers"); n != j.end()) v->numbers = *n;
    if (auto f = j.find("fingerprint"); f != j.end()) v->fingerprint = *f;
    if (auto tp = j.find("top_ports"); tp != j.end()) {
        v->top_ports = read_ports(*tp);
        learn_services(*tp);
    }
    v->rate_pps = num(j, "rate_pps");
    v->detect_s = num(j, "detect_s");
    v->time_ms = last_time_ms_;
    v->changes = changes;
    if (auto t = parse_rfc3339_ms(str(j, "first_seen"))) s->first_seen_ms = *t;
    if (auto t = parse_rfc3339_ms(str(j, "last_seen"))) s->last_seen_ms = *t;
    s->packets = std::max(s->packets, u64(j, "packets"));
    read_distinct(j, "distinct_ports", s->ports, s->ports_exact);
    read_distinct(j, "distinct_dsts", s->dsts, s->dsts_exact);

    TopEvent e;
    e.time_ms = last_time_ms_;
    e.type = first ? "scanner" : "verdict";
    e.subject = s->src;
    e.addr = s->addr;
    e.ports = v->top_ports;
    std::string techniques;
    for (const auto& t : v->techniques) techniques += (techniques.empty() ? "" : ",") + t;
    e.text = (v->pattern.empty() ? std::string("scan") : v->pattern) + " " + techniques;
    if (!v->tool.empty()) e.text += ", tool " + v->tool;
    e.text += ", " + std::to_string(s->ports) + " ports, " + std::to_string(s->dsts) + " dsts, " +
              fmt_num(v->rate_pps) + " pps";
    for (const auto& l : v->labels) e.text += ", " + l;
    s->verdict = std::move(v);
    refresh_display(*s);
    add_event(std::move(e));
    evict_sources();
}

void TopModel::on_scanner_end(const json& j) {
    std::string src = str(j, "src");
    auto addr = parse_addr(src);
    if (!addr) throw std::invalid_argument("bad address");
    auto it = source_index_.find(*addr);
    if (it != source_index_.end()) {
        TopSource& s = sources_[it->second];
        if (s.verdict && !s.ended) --scanners_;
        s.ended = true;
    }
    TopEvent e;
    e.time_ms = last_time_ms_;
    e.type = "scanner_end";
    e.subject = src;
    e.addr = addr;
    e.text = "quiet; " + fmt_num(num(j, "duration_s")) + " s, " +
             std::to_string(u64(j, "packets")) + " packets, peak " +
             std::to_string(u64(j, "peak_distinct_ports")) + " ports";
    std::string pattern = str(j, "pattern");
    if (!pattern.empty()) e.text += ", " + pattern;
    if (auto t = j.find("tool"); t != j.end() && t->is_string())
        e.text += ", tool " + t->get<std::string>();
    add_event(std::move(e));
}

void TopModel::on_port(const json& j) {
    int proto = proto_from_name(str(j, "proto"));
    if (proto < 0) return;
    auto port = static_cast<uint16_t>(u64(j, "port"));
    uint32_t key = static_cast<uint32_t>(proto) << 16 | port;
    auto it = port_index_.find(key);
    if (it == port_index_.end()) {
        it = port_index_.emplace(key, static_cast<uint32_t>(ports_.size())).first;
        ports_.emplace_back();
        ports_.back().proto = static_cast<uint8_t>(proto);
        ports_.back().port = port;
    }
    TopPort& p = ports_[it->second];
    p.packets = u64(j, "packets");
    p.total_packets = u64(j, "total_packets");
    p.sources = u64(j, "distinct_sources");
    std::string svc = str(j, "service");
    if (!svc.empty()) {
        p.service = svc;
        services_[key] = svc;
    }
    p.last_ms = last_time_ms_;
    p.history.add(rel_sec(last_time_ms_), p.packets);
}

void TopModel::on_flood(const json& j) {
    TopEvent e;
    e.time_ms = last_time_ms_;
    std::string phase = str(j, "phase");
    e.type = phase == "end" ? "flood_end" : "flood_start";
    int proto = proto_from_name(str(j, "proto"));
    auto port = static_cast<uint16_t>(u64(j, "port"));
    e.subject = proto >= 0 ? port_text(static_cast<unsigned>(proto), port) : str(j, "proto");
    if (proto >= 0) e.ports.push_back({static_cast<uint8_t>(proto), port, 0});
    e.text = "spoofed flood: " + std::to_string(u64(j, "sources")) + " sources, " +
             std::to_string(u64(j, "packets")) + " packets";
    if (phase == "end")
        e.text += ", " + fmt_num(num(j, "duration_s")) + " s";
    else if (auto r = str(j, "rule"); !r.empty())
        e.text += " (" + r + ")";
    add_event(std::move(e));
}

void TopModel::on_backscatter(const json& j) {
    uint64_t victims = u64(j, "victims"), packets = u64(j, "packets");
    std::string first;
    if (auto t = j.find("top_victims"); t != j.end() && t->is_array())
        for (const auto& v : *t) {
            std::string src = str(v, "src");
            if (first.empty()) first = src;
            auto addr = parse_addr(src);
            if (!addr) continue;
            auto it = source_index_.find(*addr);
            if (it == source_index_.end()) continue;
            sources_[it->second].backscatter = true;
        }
    // One event per episode: consecutive intervals of backscatter add up.
    if (!events_.empty() && events_.back().type == "backscatter" &&
        last_time_ms_ - events_.back().time_ms <= 5000) {
        TopEvent& e = events_.back();
        e.time_ms = last_time_ms_;
        backscatter_packets_ += packets;
        backscatter_victims_ = std::max(backscatter_victims_, victims);
    } else {
        TopEvent e;
        e.time_ms = last_time_ms_;
        e.type = "backscatter";
        backscatter_packets_ = packets;
        backscatter_victims_ = victims;
        add_event(std::move(e));
    }
    TopEvent& e = events_.back();
    if (!first.empty()) {
        e.subject = first;
        e.addr = parse_addr(first);
    }
    e.text = "replies nobody asked for: " + std::to_string(backscatter_victims_) + " victims, " +
             std::to_string(backscatter_packets_) + " packets (spoofed DoS against them)";
}

// ---- queries ----

// Only the rows asked for get sorted: nth_element puts the `offset` rows before the page in
// front (unsorted), then partial_sort orders just the page: O(n + page log page), never a full
// sort of a million rows, even for the last page.
template <typename Row, typename Less>
static void sort_page(std::vector<Row>& rows, size_t offset, size_t limit, Less less) {
    offset = std::min(offset, rows.size());
    const size_t k = std::min(rows.size(), offset + limit);
    auto first = rows.begin() + static_cast<std::ptrdiff_t>(offset);
    if (offset > 0 && offset < rows.size()) std::nth_element(rows.begin(), first, rows.end(), less);
    std::partial_sort(first, rows.begin() + static_cast<std::ptrdiff_t>(k), rows.end(), less);
    rows.resize(k);
    rows.erase(rows.begin(), first);
}

// -1, 0, 1; an empty string sorts after any other in both directions (handled by callers).
template <typename T>
static int cmp(const T& a, const T& b) {
    return a < b ? -1 : (b < a ? 1 : 0);
}

double TopModel::source_rate(const TopSource& s, RateWindow w) const {
    double span = span_s(w);
    if (span <= 0) return 0;
    int32_t now = rel_sec(now_ms_);
    return s.history.sum(now - static_cast<int32_t>(window_seconds(w)) + 1, now) / span;
}

std::vector<double> TopModel::source_slices(const TopSource& s, RateWindow w,
                                            size_t columns) const {
    return s.history.slices(rel_sec(now_ms_), static_cast<int32_t>(window_seconds(w)), columns);
}

TopPage<SourceRow> TopModel::sources(const TopQuery& q) const {
    TopPage<SourceRow> page;
    const TopFilter f = TopFilter::parse(q.filter);
    const int col = q.sort < 0 || q.sort >= kSrcColumns ? default_sort(TopTable::Sources) : q.sort;
    std::vector<SourceRow> rows;
    rows.reserve(f.kind == TopFilter::None ? sources_.size() : 1024);
    const bool need_rate = col == kSrcRate;
    for (const auto& s : sources_)
        if (source_matches(f, s)) rows.push_back({&s, need_rate ? source_rate(s, q.window) : 0.0});
    page.matching = rows.size();
    page.offset = std::min(q.offset, rows.size());
    const bool desc = q.descending;
    auto less = [&](const SourceRow& a, const SourceRow& b) {
        const TopSource &x = *a.s, &y = *b.s;
        int c = 0;
        const std::string *sx = nullptr, *sy = nullptr;
        switch (col) {
            case kSrcAddress:
                c = cmp(x.addr, y.addr);
                break;
            case kSrcLabel:
                sx = &x.label();
                sy = &y.label();
                break;
            case kSrcPackets:
                c = cmp(x.packets, y.packets);
                break;
            case kSrcRate:
                c = cmp(a.rate, b.rate);
                break;
            case kSrcPorts:
                c = cmp(x.ports, y.ports);
                break;
            case kSrcDsts:
                c = cmp(x.dsts, y.dsts);
                break;
            case kSrcTechnique:
                sx = &x.technique();
                sy = &y.technique();
                break;
            case kSrcTool:
                sx = &x.tool();
                sy = &y.tool();
                break;
            case kSrcLastSeen:
                c = cmp(x.last_seen_ms, y.last_seen_ms);
                break;
        }
        if (sx) {
            if (sx->empty() != sy->empty()) return sy->empty();
            c = sx->compare(*sy);
            c = c < 0 ? -1 : (c > 0 ? 1 : 0);
        }
        if (c != 0) return desc ? c > 0 : c < 0;
        if (x.last_seen_ms != y.last_seen_ms) return x.last_seen_ms > y.last_seen_ms;
        return x.addr < y.addr;
    };
    sort_page(rows, q.offset, q.limit, less);
    if (!need_rate)
        for (auto& r : rows) r.rate = source_rate(*r.s, q.window);
    page.rows = std::move(rows);
    return page;
}

TopPage<PortRow> TopModel::ports(const TopQuery& q) const {
    TopPage<PortRow> page;
    const TopFilter f = TopFilter::parse(q.filter);
    const int col = q.sort < 0 || q.sort >= kPortColumns ? default_sort(TopTable::Ports) : q.sort;
    page.filter_applies = f.kind != TopFilter::Cidr && f.kind != TopFilter::Label;
    const double span = span_s(q.window);
    const int32_t now = rel_sec(now_ms_);
    const int32_t from = now - static_cast<int32_t>(window_seconds(q.window)) + 1;
    std::vector<PortRow> rows;
    for (const auto& p : ports_) {
        bool ok = true;
        if (f.kind == TopFilter::Port)
            ok = p.port == f.port && (f.proto < 0 || f.proto == p.proto);
        else if (f.kind == TopFilter::Text)
            ok = icontains(p.service, f.text) ||
                 port_text(p.proto, p.port).find(f.text) != std::string::npos;
        if (!ok) continue;
        uint64_t n = p.history.sum(from, now);
        rows.push_back({&p, n, span > 0 ? n / span : 0.0});
    }
    page.matching = rows.size();
    page.offset = std::min(q.offset, rows.size());
    const bool desc = q.descending;
    auto less = [&](const PortRow& a, const PortRow& b) {
        const TopPort &x = *a.p, &y = *b.p;
        int c = 0;
        switch (col) {
            case kPortPort:
                c = cmp(std::pair(x.proto, x.port), std::pair(y.proto, y.port));
                break;
            case kPortService:
                if (x.service.empty() != y.service.empty()) return y.service.empty();
                c = cmp(x.service, y.service);
                break;
            case kPortPackets:
                c = cmp(a.packets, b.packets);
                break;
            case kPortRate:
                c = cmp(a.rate, b.rate);
                break;
            case kPortTotal:
                c = cmp(x.total_packets, y.total_packets);
                break;
            case kPortSources:
                c = cmp(x.sources, y.sources);
                break;
        }
        if (c != 0) return desc ? c > 0 : c < 0;
        return std::pair(x.proto, x.port) < std::pair(y.proto, y.port);
    };
    sort_page(rows, q.offset, q.limit, less);
    page.rows = std::move(rows);
    return page;
}

TopPage<FlagRow> TopModel::flags(const TopQuery& q) const {
    TopPage<FlagRow> page;
    const TopFilter f = TopFilter::parse(q.filter);
    const int col = q.sort < 0 || q.sort >= kFlagColumns ? default_sort(TopTable::Flags) : q.sort;
    page.filter_applies = f.kind == TopFilter::None || f.kind == TopFilter::Text;
    std::array<uint64_t, 256> window{};
    uint64_t sum = 0;
    const int64_t from = now_ms_ - window_seconds(q.window) * 1000;
    for (auto it = samples_.rbegin(); it != samples_.rend() && it->end_ms > from; ++it)
        for (const auto& [v, n] : it->flags) {
            window[v] += n;
            sum += n;
        }
    std::vector<FlagRow> rows;
    for (unsigned v = 0; v < 256; ++v) {
        if (flags_total_[v] == 0 && window[v] == 0) continue;
        std::string name = tcp_flags_name(static_cast<uint8_t>(v));
        if (f.kind == TopFilter::Text && !icontains(name, f.text)) continue;
        rows.push_back({static_cast<uint8_t>(v), std::move(name), window[v],
                        sum ? static_cast<double>(window[v]) / sum : 0.0, flags_total_[v]});
    }
    page.matching = rows.size();
    page.offset = std::min(q.offset, rows.size());
    const bool desc = q.descending;
    auto less = [&](const FlagRow& a, const FlagRow& b) {
        int c = 0;
        switch (col) {
            case kFlagFlags:
                c = cmp(a.name, b.name);
                break;
            case kFlagValue:
                c = cmp(a.value, b.value);
                break;
            case kFlagPackets:
                c = cmp(a.packets, b.packets);
                break;
            case kFlagShare:
                c = cmp(a.share, b.share);
                break;
            case kFlagTotal:
                c = cmp(a.total, b.total);
                break;
        }
        if (c != 0) return desc ? c > 0 : c < 0;
        return a.value < b.value;
    };
    sort_page(rows, q.offset, q.limit, less);
    page.rows = std::move(rows);
    return page;
}

TopPage<EventRow> TopModel::events(const TopQuery& q) const {
    TopPage<EventRow> page;
    const TopFilter f = TopFilter::parse(q.filter);
    const int col = q.sort < 0 || q.sort >= kEventColumns ? default_sort(TopTable::Events) : q.sort;
    std::vector<EventRow> rows;
    for (const auto& e : events_) {
        bool ok = true;
        switch (f.kind) {
            case TopFilter::None:
                break;
            case TopFilter::Cidr:
                ok = e.addr && f.contains(*e.addr);
                break;
            case TopFilter::Port:
                ok = std::any_of(e.ports.begin(), e.ports.end(),
                                 [&](const PortHit& h) { return hits_port(f, h); });
                break;
            case TopFilter::Label:
                ok = icontains(e.text, f.text);
                break;
            case TopFilter::Text:
                ok = icontains(e.subject, f.text) || icontains(e.type, f.text) ||
                     icontains(e.text, f.text);
                break;
        }
        if (ok) rows.push_back({&e});
    }
    page.matching = rows.size();
    page.offset = std::min(q.offset, rows.size());
    const bool desc = q.descending;
    auto less = [&](const EventRow& a, const EventRow& b) {
        const TopEvent &x = *a.e, &y = *b.e;
        int c = 0;
        switch (col) {
            case kEventTime:
                c = cmp(x.time_ms, y.time_ms);
                break;
            case kEventType:
                c = cmp(x.type, y.type);
                break;
            case kEventSubject:
                c = cmp(x.subject, y.subject);
                break;
            case kEventText:
                c = cmp(x.text, y.text);
                break;
        }
        if (c != 0) return desc ? c > 0 : c < 0;
        return desc ? x.seq > y.seq : x.seq < y.seq;
    };
    sort_page(rows, q.offset, q.limit, less);
    page.rows = std::move(rows);
    return page;
}

}  // namespace probescope
