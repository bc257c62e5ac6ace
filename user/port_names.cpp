// PortNames: a small parser for the services(5) format.
#include "port_names.h"

#include <algorithm>
#include <charconv>
#include <fstream>

namespace probescope {

namespace {

constexpr std::string_view kSpace = " \t\r\n\v\f";

std::string_view next_token(std::string_view& rest) {
    size_t begin = rest.find_first_not_of(kSpace);
    if (begin == std::string_view::npos) {
        rest = {};
        return {};
    }
    rest.remove_prefix(begin);
    size_t end = rest.find_first_of(kSpace);
    std::string_view token = rest.substr(0, end);
    rest.remove_prefix(token.size());
    return token;
}

}  // namespace

PortNames::PortNames(const std::string& path) {
    std::ifstream in(path);
    if (!in) return;
    loaded_ = true;
    std::string line;
    while (std::getline(in, line)) parse_line(line);
}

// services(5): "name port/protocol [aliases ...] [# comment]".
void PortNames::parse_line(std::string_view line) {
    line = line.substr(0, line.find('#'));
    std::string_view service = next_token(line);
    std::string_view port_proto = next_token(line);
    if (service.empty() || port_proto.empty()) return;

    size_t slash = port_proto.find('/');
    if (slash == std::string_view::npos) return;
    std::string_view port_text = port_proto.substr(0, slash);
    std::string_view proto = port_proto.substr(slash + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
        port > 65535 || proto.empty())
        return;
    // The first line for a port wins, as with getservbyport.
    auto it = std::find_if(protocols_.begin(), protocols_.end(),
                           [&](const Protocol& p) { return p.proto == proto; });
    if (it == protocols_.end())
        it = protocols_.insert(protocols_.end(), Protocol{std::string(proto), {}});
    it->names.try_emplace(static_cast<uint16_t>(port), service);
}

std::optional<std::string_view> PortNames::name(std::string_view proto, uint16_t port) const {
    for (const auto& p : protocols_) {
        if (p.proto != proto) continue;
        auto it = p.names.find(port);
        if (it == p.names.end()) return std::nullopt;
        return std::string_view(it->second);
    }
    return std::nullopt;
}

size_t PortNames::size() const {
    size_t n = 0;
    for (const auto& p : protocols_) n += p.names.size();
    return n;
}

}  // namespace probescope
