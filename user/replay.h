// `probescope replay FILE...`: captures through the very same XDP program (BPF_PROG_TEST_RUN),
// with capture time as the program's clock, then the same drain, classifier and records.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "interval.h"
#include "thresholds.h"

namespace probescope {

struct ReplayOptions {
    std::vector<std::string> files;  // "-" is standard input
    std::vector<std::string> dst;    // keep only packets toward these addresses or CIDRs
    double interval_s = 1.0;         // of capture time
    std::string output;              // JSON lines; empty: stdout (unless --summary)
    bool summary = false;            // print the seeds' tables at the end
    bool strict = false;             // stop at the first bad record
    bool top = false;                // show the records in the top view at the end
    uint32_t max_sources = 65536;
    unsigned jobs = 0;  // workers running frames through the program; 0: every usable CPU
    uint32_t top_ports = 1000;
    uint32_t source_records = kDefaultSourceRecords;  // source records per interval
    Thresholds thresholds;
    std::vector<std::string> research_lists;
    std::string services = "/etc/services";
};

// also, if set, receives every record (replay --top collects them for the view).
// The checks replay makes before it loads anything: a clear Error for a bad option.
void validate(const ReplayOptions& o);
int run_replay(const ReplayOptions& o,
               const std::function<void(const nlohmann::json&)>& also = nullptr);

}  // namespace probescope
