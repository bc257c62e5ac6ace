// Labelled address prefixes with longest-prefix match, for naming sources by published ranges.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "addr.h"

namespace probescope {

// Parses "a.b.c.d", "a.b.c.d/n" (n 0..32, stored as 96+n), "x::y" and "x::/n" (n 0..128).
// Surrounding whitespace is trimmed. Host bits below the prefix are accepted and masked off,
// because published lists do contain entries like "192.0.2.1/24" and mean the network.
// Returns the masked prefix and its length in the 128-bit (v4-mapped) space.
std::optional<std::pair<Addr16, int>> parse_cidr(std::string_view text);

// Clears every bit of addr past the first prefix_len bits.
Addr16 mask_prefix(const Addr16& addr, int prefix_len);

class CidrSet {
public:
    // Adds a prefix (prefix_len 0..128 in v4-mapped space; host bits are masked off).
    // Returns false, keeping the earlier label, when the same prefix was already added:
    // the first list loaded stays authoritative for a range.
    bool add(const Addr16& prefix, int prefix_len, std::string_view label);

    // The label of the longest added prefix that contains addr. The view stays valid for the
    // lifetime of the set.
    std::optional<std::string_view> match(const Addr16& addr) const;

    size_t size() const { return prefixes_; }

private:
    // Choice: one hash table per prefix length, searched from the longest length present down.
    // add() is O(1) with no rebuild step (unlike sorted ranges), memory is one entry per prefix
    // (a binary trie over 128-bit keys spends up to ~120 nodes per v4 prefix), and match() costs
    // one hash probe per distinct length in use — a dozen or so for real scanner lists.
    std::array<std::unordered_map<Addr16, uint32_t, Addr16Hash>, 129> by_length_;
    std::vector<int> lengths_longest_first_;
    // deque: appending never moves earlier strings, so views returned by match() stay valid.
    std::deque<std::string> labels_;
    std::unordered_map<std::string_view, uint32_t> label_index_;
    size_t prefixes_ = 0;
};

}  // namespace probescope
