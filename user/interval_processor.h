// One interval's drained data in, JSON records out: history, classification, floods, backscatter.
// Pure (no kernel), and shared by every front end: run, top and replay.
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "json_records.h"
#include "port_names.h"
#include "rdns.h"
#include "research_lists.h"
#include "scanner_classifier.h"
#include "source_table.h"

namespace probescope {

struct ProcessorConfig {
    Thresholds thresholds;
    size_t max_sources = 65536;
    size_t top_ports = 50;       // port records per interval
    // Source records per interval: the busiest active sources by the interval's packets (the
    // stats record counts the others). 0: none.
    size_t source_records = kDefaultSourceRecords;
};

class IntervalProcessor {
public:
    using Emit = std::function<void(const nlohmann::json&)>;

    IntervalProcessor(ProcessorConfig cfg, RecordContext ctx,
                      const ResearchScannerLists* research = nullptr, ReverseDns* rdns = nullptr,
                      const PortNames* port_names = nullptr);

    // Absorbs one drain and emits its records: stats, then per source, ports, verdicts.
    void process(Interval& iv, const Emit& emit);
    // End of the run: scanner_end for every scanner still open.
    void finish(uint64_t now_ns, const Emit& emit);

    const SourceTable& sources() const { return table_; }
    const ScannerClassifier& classifier() const { return classifier_; }

private:
    Verdict label(const SourceState& s, Verdict v) const;
    // Flood start and end records of the interval; marks the samples a flood speaks for.
    std::vector<nlohmann::json> detect_floods(const Interval& iv, std::vector<bool>& flood_member);
    nlohmann::json scanner_record(const Interval& iv, const SourceState& s, const Verdict& v) const;
    nlohmann::json scanner_end_record(uint64_t now_ns, const SourceState& s) const;
    nlohmann::json ports_json(const std::vector<PortCount>& ports) const;

    ProcessorConfig cfg_;
    RecordContext ctx_;
    SourceTable table_;
    ScannerClassifier classifier_;
    const ResearchScannerLists* research_;
    ReverseDns* rdns_;
    const PortNames* port_names_;

    struct Flood {
        uint32_t port_item;
        uint64_t start_ns, last_ns;
        uint64_t sources = 0, packets = 0;
    };
    nlohmann::json flood_end_record(uint64_t now_ns, const Flood& f) const;
    std::vector<Flood> floods_;  // open floods
};

}  // namespace probescope
