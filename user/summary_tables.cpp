// SummaryTables: accumulate records, print aligned text tables like the seeds' write-ups.
#include "summary_tables.h"

#include <algorithm>
#include <vector>

namespace probescope {

using nlohmann::json;

void SummaryTables::on_record(const json& r) {
    const std::string type = r.value("type", "");
    if (type == "stats") {
        packets_ += r.value("packets", 0ull);
        for (const auto& f : r.at("tcp_flags"))
            flags_[f.at("flags")] += f.at("packets").get<uint64_t>();
    } else if (type == "source") {
        Source& s = sources_[r.at("src")];
        for (const auto& [k, v] : r.at("packets").items()) s.packets += v.get<uint64_t>();
        s.ports = std::max<uint64_t>(s.ports, r.at("distinct_ports").at("value").get<uint64_t>());
    } else if (type == "port") {
        Port& p = ports_[{r.at("proto"), r.at("port").get<int>()}];
        p.packets += r.at("packets").get<uint64_t>();
        p.sources = std::max<uint64_t>(p.sources, r.at("distinct_sources").get<uint64_t>());
        if (r.contains("service")) p.service = r.at("service");
    } else if (type == "scanner") {
        std::string tech =
            r.at("techniques").empty() ? "-" : r.at("techniques")[0].get<std::string>();
        std::string tool =
            r.at("tool").is_null() ? "-" : r.at("tool").at("name").get<std::string>();
        std::string verdict = tech + " " + r.at("pattern").get<std::string>() + " " + tool;
        scanner_verdicts_[r.at("src")] = verdict;
        sources_[r.at("src")].verdict = verdict;
    } else if (type == "flood" && r.value("phase", "") == "start") {
        ++floods_;
    } else if (type == "backscatter") {
        backscatter_ += r.value("packets", 0ull);
    }
}

template <typename Map, typename Key>
static std::vector<std::pair<Key, typename Map::mapped_type>> top(const Map& m, size_t n, auto by) {
    std::vector<std::pair<Key, typename Map::mapped_type>> v(m.begin(), m.end());
    std::stable_sort(v.begin(), v.end(),
                     [&](auto& a, auto& b) { return by(a.second) > by(b.second); });
    if (v.size() > n) v.resize(n);
    return v;
}

void SummaryTables::print(FILE* out, size_t rows) const {
    fprintf(out, "Packets: %llu\n\n", static_cast<unsigned long long>(packets_));
    fprintf(out, "Top sources\n%-40s %10s %8s  %s\n", "source", "packets", "ports", "verdict");
    for (auto& [src, s] : top<decltype(sources_), std::string>(
             sources_, rows, [](const Source& s) { return s.packets; }))
        fprintf(out, "%-40s %10llu %8llu  %s\n", src.c_str(),
                static_cast<unsigned long long>(s.packets),
                static_cast<unsigned long long>(s.ports), s.verdict.c_str());

    fprintf(out, "\nPorts : unique sources\n%-12s %-14s %10s %8s\n", "port", "service", "packets",
            "sources");
    for (auto& [key, p] : top<decltype(ports_), std::pair<std::string, int>>(
             ports_, rows, [](const Port& p) { return p.sources * 1000000000ull + p.packets; }))
        fprintf(out, "%-12s %-14s %10llu %8llu\n",
                (key.first + "/" + std::to_string(key.second)).c_str(), p.service.c_str(),
                static_cast<unsigned long long>(p.packets),
                static_cast<unsigned long long>(p.sources));

    uint64_t tcp = 0;
    for (auto& [f, n] : flags_) tcp += n;
    fprintf(out, "\nTCP flag combinations\n%-36s %10s %7s\n", "flags", "packets", "share");
    for (auto& [f, n] :
         top<decltype(flags_), std::string>(flags_, 64, [](uint64_t n) { return n; }))
        fprintf(out, "%-36s %10llu %6.2f%%\n", f.c_str(), static_cast<unsigned long long>(n),
                tcp ? 100.0 * n / tcp : 0.0);

    std::map<std::string, uint64_t> tech, pattern, tool;
    for (auto& [src, v] : scanner_verdicts_) {
        auto a = v.find(' '), b = v.rfind(' ');
        tech[v.substr(0, a)]++;
        pattern[v.substr(a + 1, b - a - 1)]++;
        tool[v.substr(b + 1)]++;
    }
    fprintf(out, "\nScanners: %zu", scanner_verdicts_.size());
    auto line = [&](const char* what, const std::map<std::string, uint64_t>& m) {
        fprintf(out, "\n  by %-9s", what);
        for (auto& [k, n] : m)
            fprintf(out, " %s=%llu", k.c_str(), static_cast<unsigned long long>(n));
    };
    line("technique", tech);
    line("pattern", pattern);
    line("tool", tool);
    fprintf(out, "\nFloods: %llu   Backscatter packets: %llu\n",
            static_cast<unsigned long long>(floods_),
            static_cast<unsigned long long>(backscatter_));
}

}  // namespace probescope
