// The seeds' tables, built from the JSON records of a run: top sources, ports with unique
// sources, TCP flag combinations, scanners by technique, pattern and tool (pure).
#pragma once
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace probescope {

class SummaryTables {
public:
    void on_record(const nlohmann::json& r);
    void print(FILE* out, size_t rows = 20) const;

private:
    struct Source {
        uint64_t packets = 0, ports = 0;
        std::string verdict;
    };
    struct Port {
        uint64_t packets = 0, sources = 0;
        std::string service;
    };
    uint64_t packets_ = 0;
    std::map<std::string, Source> sources_;
    std::map<std::pair<std::string, int>, Port> ports_;
    std::map<std::string, uint64_t> flags_;
    std::map<std::string, uint64_t> techniques_, patterns_, tools_;
    std::map<std::string, std::string> scanner_verdicts_;  // src -> "technique pattern tool"
    uint64_t floods_ = 0, backscatter_ = 0;
};

}  // namespace probescope
