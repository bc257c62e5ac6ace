// IPv4/IPv6 addresses as the ABI stores them (16 bytes, IPv4 v4-mapped) and as text.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace probescope {

using Addr16 = std::array<uint8_t, 16>;

bool is_v4_mapped(const uint8_t* a);
std::string format_addr(const uint8_t* a);
// Accepts dotted IPv4 (stored v4-mapped) or IPv6 text.
std::optional<Addr16> parse_addr(std::string_view text);

struct Addr16Hash {
    size_t operator()(const Addr16& a) const noexcept;
};

}  // namespace probescope
