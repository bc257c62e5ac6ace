// IPv4/IPv6 addresses as the ABI stores them (16 bytes, IPv4 v4-mapped) and as text.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "probescope/abi.h"

namespace probescope {

using Addr16 = std::array<uint8_t, 16>;

bool is_v4_mapped(const uint8_t* a);
std::string format_addr(const uint8_t* a);
// Accepts dotted IPv4 (stored v4-mapped) or IPv6 text.
std::optional<Addr16> parse_addr(std::string_view text);

// Inline, as are the compares below: a batch of table lookups (SourceTable::absorb_all) then
// runs as straight-line code whose bucket loads the CPU can start together.
struct Addr16Hash {
    size_t operator()(const Addr16& a) const noexcept {
        uint64_t lo, hi;
        std::memcpy(&lo, a.data(), 8);
        std::memcpy(&hi, a.data() + 8, 8);
        return static_cast<size_t>(
            ps_mix32(static_cast<uint32_t>(lo ^ (lo >> 32))) ^
            (static_cast<uint64_t>(ps_mix32(static_cast<uint32_t>(hi ^ (hi >> 32)))) << 1));
    }
};

// Two 8-byte compares, where std::array's == calls memcmp.
struct Addr16Equal {
    bool operator()(const Addr16& a, const Addr16& b) const noexcept {
        uint64_t a0, a1, b0, b1;
        std::memcpy(&a0, a.data(), 8);
        std::memcpy(&a1, a.data() + 8, 8);
        std::memcpy(&b0, b.data(), 8);
        std::memcpy(&b1, b.data() + 8, 8);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
};

}  // namespace probescope
