// CIDR text parsing and the per-length hash tables behind CidrSet's longest-prefix match.
#include "cidr_set.h"

#include <algorithm>
#include <charconv>

namespace probescope {

namespace {

constexpr int kV4MappedBits = 96;

std::string_view trim(std::string_view s) {
    constexpr std::string_view kSpace = " \t\r\n\v\f";
    size_t begin = s.find_first_not_of(kSpace);
    if (begin == std::string_view::npos) return {};
    size_t end = s.find_last_not_of(kSpace);
    return s.substr(begin, end - begin + 1);
}

// Digits only: from_chars would accept "-1", and a sign or space has no business in a length.
std::optional<int> parse_length(std::string_view digits) {
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    int value = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return value;
}

}  // namespace

Addr16 mask_prefix(const Addr16& addr, int prefix_len) {
    Addr16 out = addr;
    prefix_len = std::clamp(prefix_len, 0, 128);
    size_t full_bytes = static_cast<size_t>(prefix_len) / 8;
    int rest_bits = prefix_len % 8;
    if (full_bytes < out.size()) {
        out[full_bytes] &= static_cast<uint8_t>(0xff00u >> rest_bits);
        for (size_t i = full_bytes + 1; i < out.size(); ++i) out[i] = 0;
    }
    return out;
}

std::optional<std::pair<Addr16, int>> parse_cidr(std::string_view text) {
    text = trim(text);
    size_t slash = text.find('/');
    std::string_view addr_text = text.substr(0, slash);
    // The text decides the length's space: "::ffff:192.0.2.0/120" is an IPv6 length even though
    // the address parses to the same v4-mapped bytes as "192.0.2.0".
    bool written_as_v6 = addr_text.find(':') != std::string_view::npos;
    auto addr = parse_addr(addr_text);
    if (!addr) return std::nullopt;

    int max_len = written_as_v6 ? 128 : 32;
    int len = max_len;
    if (slash != std::string_view::npos) {
        auto parsed = parse_length(text.substr(slash + 1));
        if (!parsed || *parsed > max_len) return std::nullopt;
        len = *parsed;
    }
    if (!written_as_v6) len += kV4MappedBits;
    return std::pair{mask_prefix(*addr, len), len};
}

bool CidrSet::add(const Addr16& prefix, int prefix_len, std::string_view label) {
    prefix_len = std::clamp(prefix_len, 0, 128);
    auto found = label_index_.find(label);
    uint32_t index;
    if (found != label_index_.end()) {
        index = found->second;
    } else {
        index = static_cast<uint32_t>(labels_.size());
        labels_.emplace_back(label);
        label_index_.emplace(labels_.back(), index);
    }
    auto& table = by_length_[static_cast<size_t>(prefix_len)];
    if (!table.emplace(mask_prefix(prefix, prefix_len), index).second) return false;
    if (table.size() == 1) {
        lengths_longest_first_.push_back(prefix_len);
        std::sort(lengths_longest_first_.begin(), lengths_longest_first_.end(), std::greater<>());
    }
    ++prefixes_;
    return true;
}

std::optional<std::string_view> CidrSet::match(const Addr16& addr) const {
    for (int len : lengths_longest_first_) {
        const auto& table = by_length_[static_cast<size_t>(len)];
        auto it = table.find(mask_prefix(addr, len));
        if (it != table.end()) return std::string_view(labels_[it->second]);
    }
    return std::nullopt;
}

}  // namespace probescope
