// Human and JSON names for the shared ABI's enums and bit fields.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "probescope/abi.h"

namespace probescope {

std::string_view class_name(unsigned cls);
std::optional<unsigned> class_from_name(std::string_view name);
// Seed 004's spelling: bits FIN..CWR joined by '-', "none" for no flag.
std::string tcp_flags_name(uint8_t flags);
std::string_view port_proto_name(unsigned proto);  // "tcp", "udp", "icmp"
std::string_view fingerprint_name(unsigned fp);
std::string_view opts_shape_name(unsigned shape);
std::string_view technique_name(unsigned tech);
std::string_view udp_probe_name(unsigned kind);

}  // namespace probescope
