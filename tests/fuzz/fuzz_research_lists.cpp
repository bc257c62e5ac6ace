// libFuzzer target: arbitrary bytes as a research-scanner list file, a CIDR and a hostname.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "addr.h"
#include "cidr_set.h"
#include "error.h"
#include "research_lists.h"

namespace {

using probescope::Addr16;

// A crash is the only failure libFuzzer reports, so broken invariants abort.
void require(bool ok) {
    if (!ok) std::abort();
}

// A parsed prefix is masked, in range, and prints to text that parses back to itself.
void check_cidr(std::string_view text) {
    auto cidr = probescope::parse_cidr(text);
    if (!cidr) return;
    auto [prefix, len] = *cidr;
    require(len >= 0 && len <= 128);
    require(probescope::mask_prefix(prefix, len) == prefix);
    bool v4 = probescope::is_v4_mapped(prefix.data());
    std::string again =
        probescope::format_addr(prefix.data()) + "/" + std::to_string(v4 ? len - 96 : len);
    require(probescope::parse_cidr(again) == cidr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);

    probescope::ResearchScannerLists lists;
    try {
        auto summary = lists.load_string(bytes, "fuzz-input.list");
        require(lists.range_count() <= summary.entries);
        require(!summary.label.empty());
        static const Addr16 probes[] = {
            probescope::parse_addr("0.0.0.0").value(),
            probescope::parse_addr("192.0.2.1").value(),
            probescope::parse_addr("255.255.255.255").value(),
            probescope::parse_addr("::").value(),
            probescope::parse_addr("2001:db8::1").value(),
        };
        for (const auto& a : probes)
            if (auto label = lists.match(a)) require(*label == summary.label);
    } catch (const probescope::Error& e) {
        require(std::string_view(e.what()).starts_with("fuzz-input.list"));
    }

    (void)lists.label_for_hostname(bytes);
    check_cidr(bytes);
    return 0;
}
