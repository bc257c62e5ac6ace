// Names for the shared ABI's enums: one table each, indexed by the enum value.
#include "names.h"

#include <array>

namespace probescope {
namespace {

constexpr std::array<std::string_view, PS_CLASS_COUNT> kClassNames = {
    "tcp_syn",    "tcp_odd",  "udp",        "icmp_echo", "tcp_ack_probe",
    "tcp_synack", "tcp_rst",  "icmp_error", "tcp_other", "icmp_other",
    "fragment",   "other_ip", "non_ip",     "malformed",
};

constexpr std::array<std::string_view, 8> kFlagBits = {"FIN", "SYN", "RST", "PSH",
                                                       "ACK", "URG", "ECE", "CWR"};

constexpr std::array<std::string_view, PS_FP_COUNT> kFingerprints = {
    "zmap", "masscan", "mirai", "nmap", "same_seq", "same_sport", "unicorn"};

constexpr std::array<std::string_view, PS_TECH_COUNT> kTechniques = {
    "syn",     "syn_ecn", "null",      "fin",           "xmas", "maimon",   "ack",
    "syn_fin", "syn_rst", "all_flags", "other_illegal", "udp",  "icmp_echo"};

constexpr std::array<std::string_view, PS_UDP_PROBE_COUNT> kUdpProbes = {
    "other",     "dns_version_bind", "ntp_monlist", "ssdp_msearch",   "cldap",
    "memcached", "chargen",          "snmp_public", "netbios_nbstat", "dht_krpc"};

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
        case PS_PORT_PROTO_TCP:
            return "tcp";
        case PS_PORT_PROTO_UDP:
            return "udp";
        case PS_PORT_SLOT_ICMP:
            return "icmp";
        default:
            return "unknown";
    }
}

std::string_view fingerprint_name(unsigned fp) {
    return fp < kFingerprints.size() ? kFingerprints[fp] : "unknown";
}

std::string_view technique_name(unsigned tech) {
    return tech < kTechniques.size() ? kTechniques[tech] : "unknown";
}

std::string_view udp_probe_name(unsigned kind) {
    return kind < kUdpProbes.size() ? kUdpProbes[kind] : "unknown";
}

std::string_view opts_shape_name(unsigned shape) {
    return shape < kOptsShapes.size() ? kOptsShapes[shape] : "unknown";
}

}  // namespace probescope
