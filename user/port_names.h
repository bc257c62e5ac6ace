// Service names for ports ("tcp", 22 -> "ssh"), read from an /etc/services-format file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace probescope {

class PortNames {
public:
    // Reads path once. A missing or unreadable file is not an error: minimal machines lack
    // /etc/services (Debian's netbase provides it), and port names are a nicety, so every
    // name() is then nullopt and loaded() is false.
    explicit PortNames(const std::string& path = "/etc/services");

    // The primary service name for proto ("tcp", "udp", or any protocol the file lists);
    // aliases are never returned. The view lives as long as this object.
    std::optional<std::string_view> name(std::string_view proto, uint16_t port) const;

    bool loaded() const { return loaded_; }
    size_t size() const;

private:
    // Parsed by hand: getservbyport_r reads only the system file and the NSS configuration,
    // and tests need a file of their own.
    void parse_line(std::string_view line);

    struct Protocol {
        std::string proto;
        std::unordered_map<uint16_t, std::string> names;
    };
    std::vector<Protocol> protocols_;  // a handful (tcp, udp, sctp, ddp): a scan beats a hash
    bool loaded_ = false;
};

}  // namespace probescope
