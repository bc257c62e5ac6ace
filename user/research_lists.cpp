// Loading research-scanner lists (MISP JSON or plain text) and matching scanner rDNS names.
#include "research_lists.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "error.h"

namespace probescope {

namespace {

// Domains whose PTR names the scanners of these operators carry. Some (umich.edu, berkeley.edu,
// rapid7.com) also cover hosts that are not scanners; they are kept because unsolicited probes
// from those networks are research traffic in practice, and the label says whose it is.
//
//   suffix                  label                                  who scans from it
//   shodan.io               Shodan                                 search engine of exposed devices
//   censys-scanner.com      Censys                                 Internet-wide scan search engine
//   shadowserver.org        Shadowserver                           non-profit; reports exposures
//   rapid7.com              Rapid7 (Project Sonar)                 Rapid7's Internet-wide survey
//   umich.edu               University of Michigan (researchscan)  ZMap measurement research
//   berkeley.edu            UC Berkeley (researchscan)             academic measurement research
//   binaryedge.ninja        BinaryEdge                             commercial scanning/threat intel
//   stretchoid.com          Stretchoid                             scanning service (has opt-out)
//   internet-census.org     Internet Census                        Internet Census Group scans
//   onyphe.net, onyphe.io   ONYPHE                                 cyber-defence search engine
//   criminalip.com          Criminal IP                            AI Spera's search engine
//   alphastrike.io          AlphaStrike                            Alpha Strike Labs (AS208843)
//   ipip.net                IPIP.net                               IP geolocation measurement
//   leakix.net              LeakIX                                 exposed-service search engine
//   netsystemsresearch.com  Net Systems Research                   Internet measurement scans
constexpr RdnsSuffix kDefaultRdnsSuffixes[] = {
    {"shodan.io", "Shodan"},
    {"censys-scanner.com", "Censys"},
    {"shadowserver.org", "Shadowserver"},
    {"rapid7.com", "Rapid7 (Project Sonar)"},
    {"umich.edu", "University of Michigan (researchscan)"},
    {"berkeley.edu", "UC Berkeley (researchscan)"},
    {"binaryedge.ninja", "BinaryEdge"},
    {"stretchoid.com", "Stretchoid"},
    {"internet-census.org", "Internet Census"},
    {"onyphe.net", "ONYPHE"},
    {"onyphe.io", "ONYPHE"},
    {"criminalip.com", "Criminal IP"},
    {"alphastrike.io", "AlphaStrike"},
    {"ipip.net", "IPIP.net"},
    {"leakix.net", "LeakIX"},
    {"netsystemsresearch.com", "Net Systems Research"},
};

constexpr std::string_view kSpace = " \t\r\n\v\f";
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr const char* kFormatHint =
    "expected a MISP warninglist ({\"name\": ..., \"list\": [\"192.0.2.0/24\", ...]}) "
    "or plain text with one CIDR per line";

std::string_view trim(std::string_view s) {
    size_t begin = s.find_first_not_of(kSpace);
    if (begin == std::string_view::npos) return {};
    return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// DNS names compare case-insensitively, and a fully qualified name may end in the root dot.
std::string normalise_hostname(std::string_view name) {
    name = trim(name);
    while (!name.empty() && name.back() == '.') name.remove_suffix(1);
    while (!name.empty() && name.front() == '.') name.remove_prefix(1);
    std::string out(name);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return out;
}

std::string stem_of(std::string_view name) {
    return std::filesystem::path(std::string(name)).stem().string();
}

// nlohmann reports a byte offset; people fix files by line and column.
// byte is 1-based and may be one past the end (unexpected end of input), as nlohmann counts.
std::pair<size_t, size_t> line_and_column(std::string_view content, size_t byte) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i + 1 < byte && i < content.size(); ++i) {
        if (content[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return {line, column};
}

// nlohmann's what() is "[json.exception.parse_error.101] parse error at line L, column C: why";
// the position is already in front of our message, so keep only "why" when the shape is known.
std::string json_error_reason(const char* what) {
    std::string_view text = what;
    size_t column = text.find(", column ");
    size_t reason = column == std::string_view::npos ? column : text.find(": ", column);
    if (reason != std::string_view::npos) return std::string(text.substr(reason + 2));
    // No position (e.g. a number out of range): drop the "[json.exception.x.N] " tag.
    if (size_t tag = text.find("] "); text.starts_with("[json.exception") && tag != text.npos)
        return std::string(text.substr(tag + 2));
    return std::string(text);
}

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};

std::string read_whole_file(const std::string& path) {
    std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file)
        throw Error(errno_text("cannot open research scanner list " + path, errno),
                    "check the path and that it is readable");
    std::string content;
    char buf[65536];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof(buf), file.get())) > 0) content.append(buf, got);
    if (std::ferror(file.get()))
        throw Error(errno_text("cannot read research scanner list " + path, errno),
                    "check that the path is a regular, readable file");
    return content;
}

}  // namespace

std::span<const RdnsSuffix> default_rdns_suffixes() { return kDefaultRdnsSuffixes; }

ResearchScannerLists::ResearchScannerLists(Suffixes suffixes) {
    if (suffixes == Suffixes::kDefaults)
        for (const auto& s : kDefaultRdnsSuffixes) add_rdns_suffix(s.suffix, s.label);
}

ListLoadSummary ResearchScannerLists::load_file(const std::string& path,
                                                std::string_view label_override) {
    return load_string(read_whole_file(path), path, label_override);
}

ListLoadSummary ResearchScannerLists::load_string(std::string_view content, std::string_view name,
                                                  std::string_view label_override) {
    std::string_view body = content;
    if (body.starts_with(kUtf8Bom)) body.remove_prefix(kUtf8Bom.size());
    size_t first = body.find_first_not_of(kSpace);
    bool is_json = first != std::string_view::npos && body[first] == '{';

    ListLoadSummary summary;
    // One entry: counted as loaded or as skipped, never dropped silently.
    auto add_entry = [&](std::optional<std::pair<Addr16, int>> cidr) {
        if (!cidr) {
            ++summary.skipped;
            return;
        }
        ranges_.add(cidr->first, cidr->second, summary.label);
        ++summary.entries;
    };
    if (is_json) {
        nlohmann::json doc;
        try {
            doc = nlohmann::json::parse(body);
        } catch (const nlohmann::json::parse_error& e) {
            auto [line, column] = line_and_column(body, e.byte);
            throw Error(std::string(name) + ":" + std::to_string(line) + ":" +
                            std::to_string(column) +
                            ": invalid JSON: " + json_error_reason(e.what()),
                        kFormatHint);
        } catch (const nlohmann::json::exception& e) {
            // Well-formed but unrepresentable, e.g. a number past the range of a double.
            throw Error(std::string(name) + ": invalid JSON: " + json_error_reason(e.what()),
                        kFormatHint);
        }
        auto list = doc.find("list");
        if (list == doc.end() || !list->is_array())
            throw Error(std::string(name) + ": JSON has no \"list\" array of CIDRs", kFormatHint);
        auto json_name = doc.find("name");
        if (!label_override.empty())
            summary.label = label_override;
        else if (json_name != doc.end() && json_name->is_string() &&
                 !json_name->get_ref<const std::string&>().empty())
            summary.label = json_name->get<std::string>();
        else
            summary.label = stem_of(name);
        for (const auto& entry : *list) {
            add_entry(entry.is_string() ? parse_cidr(entry.get_ref<const std::string&>())
                                        : std::nullopt);
        }
        return summary;
    }

    summary.label = label_override.empty() ? stem_of(name) : std::string(label_override);
    while (!body.empty()) {
        size_t eol = body.find('\n');
        std::string_view line = body.substr(0, eol);
        body.remove_prefix(eol == std::string_view::npos ? body.size() : eol + 1);
        line = trim(line.substr(0, line.find('#')));
        if (line.empty()) continue;
        add_entry(parse_cidr(line));
    }
    return summary;
}

void ResearchScannerLists::add_rdns_suffix(std::string_view suffix, std::string_view label) {
    std::string key = normalise_hostname(suffix);
    if (key.empty())
        throw Error("empty reverse-DNS suffix for label \"" + std::string(label) + "\"",
                    "give a domain such as shodan.io; an empty suffix would match every host");
    rdns_labels_.insert_or_assign(std::move(key), std::string(label));
}

std::optional<std::string> ResearchScannerLists::label_for_hostname(std::string_view host) const {
    std::string name = normalise_hostname(host);
    // Longest first: the whole name, then what follows each dot, so "a.b.shodan.io" tries
    // "b.shodan.io" before "shodan.io" and never a partial label such as "hodan.io".
    std::string_view candidate = name;
    while (!candidate.empty()) {
        auto it = rdns_labels_.find(std::string(candidate));
        if (it != rdns_labels_.end()) return it->second;
        size_t dot = candidate.find('.');
        if (dot == std::string_view::npos) break;
        candidate.remove_prefix(dot + 1);
    }
    return std::nullopt;
}

}  // namespace probescope
