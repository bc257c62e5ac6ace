// Names for the shared ABI's enums: one table each, indexed by the enum value.
#include "names.h"

#include <array>

namespace probescope {
namespace {

constexpr std::array<std::string_view, PS_CLASS_COUNT> kClassNames = {
    "tcp_syn",    "tcp_odd",   "udp",        "icmp_echo",    "tcp_synack",
    "tcp_rst",    "icmp_error", "tcp_other", "icmp_other",   "fragment",
    "other_ip",   "non_ip",    "malformed",
};

constexpr std::array<std::string_view, 8> kFlagBits = {"FIN", "SYN", "RST", "PSH",
                                                        "ACK", "URG", "ECE", "CWR"};

constexpr std::array<std::string_view, PS_FP_COUNT> kFingerprints = {
    "zmap", "masscan", "mirai", "nmap_syn", "same_seq", "same_sport", "unicorn"};

constexpr std::array<std::string_view, 5> kOptsShapes = {"none", "mss_only", "stack", "other",
                                                         "malformed"};
}  // namespace

std::string_view class_name(unsigned cls) {
    return cls < kClassNames.size() ? kClassNames[cls] : "unknown";
}

std::optional<unsigned> class_from_name(std::string_view name) {
    for (unsigned i = 0; i < kClassNames.size(); ++i)
        if (kClassNames[i] == name) return i;
    return std::nullopt;
}

std::string tcp_flags_name(uint8_t flags) {
    if (flags == 0) return "none";
    std::string out;
    for (unsigned bit = 0; bit < kFlagBits.size(); ++bit) {
        if (!(flags & (1u << bit))) continue;
        if (!out.empty()) out += '-';
        out += kFlagBits[bit];
    }
    return out;
}

std::string_view port_proto_name(unsigned proto) {
    switch (proto) {
        case PS_PORT_PROTO_TCP: return "tcp";
        case PS_PORT_PROTO_UDP: return "udp";
        case PS_PORT_SLOT_ICMP: return "icmp";
        default: return "unknown";
    }
}

std::string_view fingerprint_name(unsigned fp) {
    return fp < kFingerprints.size() ? kFingerprints[fp] : "unknown";
}

std::string_view opts_shape_name(unsigned shape) {
    return shape < kOptsShapes.size() ? kOptsShapes[shape] : "unknown";
}

}  // namespace probescope
