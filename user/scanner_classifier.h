// Turns a source's history into a verdict: technique, pattern, tool, labels, and the rule's
// numbers.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "source_table.h"
#include "thresholds.h"

namespace probescope {

struct ToolMatch {
    std::string name;      // "zmap", "masscan", "mirai", "nmap", "unicornscan", "unknown"
    double confidence;     // 0..1
    std::string evidence;  // which header facts matched, with counts
};

struct Verdict {
    bool scanner = false;
    std::vector<std::string> techniques;  // "syn", "fin", "xmas", "udp", ... (scanners only)
    std::string pattern;  // "vertical", "horizontal", "strobe", "sweep", "repeated", ""
    bool repeated = false;
    std::optional<ToolMatch> tool;
    std::vector<std::string>
        labels;              // "backscatter", "reflector:ntp_monlist", "p2p", "research:Shodan"
    std::string rule;        // the rule that fired
    nlohmann::json numbers;  // the rule's numbers: observed values and thresholds

    // What makes a new scanner record worth writing (numbers change every interval).
    bool same_verdict(const Verdict& o) const;
};

// Tool fingerprints are a registry: add one without touching the classifier's core.
class ToolFingerprints {
public:
    using Matcher = std::function<std::optional<ToolMatch>(const SourceState&, const Thresholds&)>;
    static ToolFingerprints builtin();
    void add(Matcher m) { matchers_.push_back(std::move(m)); }
    // The most confident match, if any reaches the thresholds.
    std::optional<ToolMatch> best(const SourceState& s, const Thresholds& t) const;

private:
    std::vector<Matcher> matchers_;
};

class ScannerClassifier {
public:
    explicit ScannerClassifier(Thresholds t, ToolFingerprints fps = ToolFingerprints::builtin())
        : t_(t), fps_(std::move(fps)) {}
    // explain false leaves out the rule and its numbers (the rest is the same): enough to tell
    // whether a verdict changed (same_verdict), at a fraction of the cost.
    Verdict classify(const SourceState& s, bool explain = true) const;
    // What every fired rule's numbers start with: distinct ports and destinations, probes and
    // the window's length so far. A verdict whose rule did not fire carries no numbers.
    static nlohmann::json base_numbers(const SourceState& s);
    const Thresholds& thresholds() const { return t_; }

private:
    Thresholds t_;
    ToolFingerprints fps_;
};

// Technique names from the ABI's technique counters, most packets first.
std::vector<std::string> techniques_of(const SourceState& s);

}  // namespace probescope
