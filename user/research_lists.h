// Known research scanners: published address lists (MISP or plain text) and rDNS suffixes.
#pragma once
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "addr.h"
#include "cidr_set.h"

namespace probescope {

struct ListLoadSummary {
    size_t entries = 0;  // entries that parsed as an address or CIDR
    size_t skipped = 0;  // entries that did not (hostnames, garbage, non-strings in JSON)
    std::string label;   // the label the entries were added under
};

struct RdnsSuffix {
    std::string_view suffix;
    std::string_view label;
};

// The built-in reverse-DNS suffixes of well-known research scanners (table in research_lists.cpp).
std::span<const RdnsSuffix> default_rdns_suffixes();

class ResearchScannerLists {
public:
    enum class Suffixes { kDefaults, kNone };

    explicit ResearchScannerLists(Suffixes suffixes = Suffixes::kDefaults);

    // Loads a list whose format is told by its content: a first non-space '{' means a MISP
    // warninglist ({"name": ..., "list": [CIDR, ...]}, labelled by "name"), anything else is
    // plain text (one CIDR or address per line, '#' comments, labelled by the file stem).
    // A non-empty label_override replaces either label. Throws Error for an unreadable file,
    // invalid JSON (with line and column) or JSON without a "list" array; entries that do not
    // parse are skipped and counted instead, since published lists mix in hostnames.
    ListLoadSummary load_file(const std::string& path, std::string_view label_override = "");
    // The same, for content already in memory; name stands in for the path in errors and labels.
    ListLoadSummary load_string(std::string_view content, std::string_view name,
                                std::string_view label_override = "");

    // The label of the most specific loaded range containing addr.
    std::optional<std::string_view> match(const Addr16& addr) const { return ranges_.match(addr); }
    size_t range_count() const { return ranges_.size(); }

    // suffix matches a hostname equal to it or ending in "." + suffix, case-insensitively; a
    // longer suffix wins over a shorter one. Throws Error for an empty suffix (it would match
    // every host).
    void add_rdns_suffix(std::string_view suffix, std::string_view label);
    std::optional<std::string> label_for_hostname(std::string_view host) const;

private:
    CidrSet ranges_;
    std::unordered_map<std::string, std::string> rdns_labels_;  // lower-case suffix -> label
};

}  // namespace probescope
