// Address formatting and parsing with inet_ntop/inet_pton.
#include "addr.h"

#include <arpa/inet.h>

#include <cstring>

namespace probescope {

bool is_v4_mapped(const uint8_t* a) {
    static constexpr uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(a, prefix, sizeof(prefix)) == 0;
}

std::string format_addr(const uint8_t* a) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_v4_mapped(a))
        inet_ntop(AF_INET, a + 12, buf, sizeof(buf));
    else
        inet_ntop(AF_INET6, a, buf, sizeof(buf));
    return buf;
}

std::optional<Addr16> parse_addr(std::string_view text) {
    if (text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos)
        return std::nullopt;
    std::string s(text);
    Addr16 out{};
    if (inet_pton(AF_INET, s.c_str(), out.data() + 12) == 1) {
        out[10] = out[11] = 0xff;
        return out;
    }
    if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) return out;
    return std::nullopt;
}

}  // namespace probescope
