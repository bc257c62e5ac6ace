// PacketBuilder: layer bookkeeping and wire encoding (lengths and next-protocol fields derived).
#include "packet_builder.h"

#include <arpa/inet.h>

#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <type_traits>

namespace probescope::test {

namespace {

void put16(Frame& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

void put32(Frame& out, uint32_t v) {
    put16(out, static_cast<uint16_t>(v >> 16));
    put16(out, static_cast<uint16_t>(v));
}

void append(Frame& out, const auto& bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

// Option areas must end on a 4-byte boundary; EOL (0) is the padding both IPv4 and TCP allow.
std::vector<uint8_t> padded(std::vector<uint8_t> bytes) {
    bytes.resize((bytes.size() + 3) / 4 * 4, 0);
    return bytes;
}

uint16_t ipv4_checksum(const uint8_t* hdr, std::size_t len) {
    uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2)
        sum += static_cast<uint32_t>(hdr[i] << 8 | hdr[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

constexpr uint8_t kNoNextHeader = 59;

}  // namespace

Ipv4Addr ipv4_addr(const std::string& text) {
    Ipv4Addr a{};
    if (inet_pton(AF_INET, text.c_str(), a.data()) != 1)
        throw std::invalid_argument("not an IPv4 address: " + text);
    return a;
}

Ipv6Addr ipv6_addr(const std::string& text) {
    Ipv6Addr a{};
    if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1)
        throw std::invalid_argument("not an IPv6 address: " + text);
    return a;
}

std::array<uint8_t, 16> v4_mapped(const Ipv4Addr& a) {
    std::array<uint8_t, 16> m{};
    m[10] = m[11] = 0xff;
    std::copy(a.begin(), a.end(), m.begin() + 12);
    return m;
}

namespace tcpopt {
std::vector<uint8_t> mss(uint16_t value) {
    return {2, 4, static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
}
std::vector<uint8_t> sack_permitted() { return {4, 2}; }
std::vector<uint8_t> timestamps(uint32_t value, uint32_t echo) {
    Frame o{8, 10};
    put32(o, value);
    put32(o, echo);
    return o;
}
std::vector<uint8_t> nop() { return {1}; }
std::vector<uint8_t> window_scale(uint8_t shift) { return {3, 3, shift}; }
std::vector<uint8_t> linux_syn(uint16_t mss_value) {
    std::vector<uint8_t> o;
    for (const auto& part :
         {mss(mss_value), sack_permitted(), timestamps(0x5eed1234, 0), nop(), window_scale(7)})
        append(o, part);
    return o;
}
std::vector<uint8_t> linux_established() {
    std::vector<uint8_t> o = {1, 1};
    append(o, timestamps(0x5eed1234, 0x0ddba11));
    return o;
}
}  // namespace tcpopt

template <class T>
T& PacketBuilder::last(const char* setter) {
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
        if (auto* l = std::get_if<T>(&*it)) return *l;
    throw std::logic_error(std::string("PacketBuilder::") + setter +
                           "() needs an earlier layer it applies to");
}

PacketBuilder& PacketBuilder::eth() {
    layers_.emplace_back(Eth{});
    return *this;
}

PacketBuilder& PacketBuilder::ethertype(uint16_t type) {
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
        if (auto* eth = std::get_if<Eth>(&*it)) {
            eth->ethertype = type;
            return *this;
        }
        if (auto* tag = std::get_if<Vlan>(&*it)) {
            tag->inner_type = type;
            return *this;
        }
    }
    throw std::logic_error("PacketBuilder::ethertype() needs an earlier eth() or vlan()");
}

PacketBuilder& PacketBuilder::vlan(uint16_t tci, uint16_t tpid) {
    layers_.emplace_back(Vlan{tci, tpid, -1});
    return *this;
}

PacketBuilder& PacketBuilder::ipv4(const std::string& src, const std::string& dst) {
    Ipv4 ip;
    ip.src = ipv4_addr(src);
    ip.dst = ipv4_addr(dst);
    layers_.emplace_back(std::move(ip));
    return *this;
}

template <class OnV4, class OnV6>
PacketBuilder& PacketBuilder::on_last_ip(const char* setter, OnV4 on_v4, OnV6 on_v6) {
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
        if (auto* ip = std::get_if<Ipv4>(&*it)) {
            on_v4(*ip);
            return *this;
        }
        if (auto* ip6 = std::get_if<Ipv6>(&*it)) {
            on_v6(*ip6);
            return *this;
        }
    }
    throw std::logic_error(std::string("PacketBuilder::") + setter +
                           "() needs an earlier IP header");
}

PacketBuilder& PacketBuilder::ttl(uint8_t ttl) {
    return on_last_ip(
        "ttl", [&](Ipv4& ip) { ip.ttl = ttl; }, [&](Ipv6& ip) { ip.hop_limit = ttl; });
}

PacketBuilder& PacketBuilder::ip_version(uint8_t version) {
    return on_last_ip(
        "ip_version", [&](Ipv4& ip) { ip.version = version; },
        [&](Ipv6& ip) { ip.version = version; });
}

PacketBuilder& PacketBuilder::protocol(uint8_t proto) {
    return on_last_ip(
        "protocol", [&](Ipv4& ip) { ip.protocol = proto; }, [&](Ipv6& ip) { ip.next = proto; });
}

PacketBuilder& PacketBuilder::ip_id(uint16_t id) {
    last<Ipv4>("ip_id").id = id;
    return *this;
}

PacketBuilder& PacketBuilder::ihl(uint8_t words) {
    last<Ipv4>("ihl").ihl = words;
    return *this;
}

PacketBuilder& PacketBuilder::ip_options(std::vector<uint8_t> bytes) {
    last<Ipv4>("ip_options").options = padded(std::move(bytes));
    return *this;
}

PacketBuilder& PacketBuilder::fragment(uint16_t offset8, bool more_fragments) {
    last<Ipv4>("fragment").frag =
        static_cast<uint16_t>((more_fragments ? 0x2000 : 0) | (offset8 & 0x1fff));
    return *this;
}

PacketBuilder& PacketBuilder::dont_fragment() {
    last<Ipv4>("dont_fragment").df = true;
    return *this;
}

PacketBuilder& PacketBuilder::tot_len(uint16_t len) {
    last<Ipv4>("tot_len").tot_len = len;
    return *this;
}

PacketBuilder& PacketBuilder::ipv6(const std::string& src, const std::string& dst) {
    Ipv6 ip;
    ip.src = ipv6_addr(src);
    ip.dst = ipv6_addr(dst);
    layers_.emplace_back(std::move(ip));
    return *this;
}

PacketBuilder& PacketBuilder::payload_len(uint16_t len) {
    last<Ipv6>("payload_len").payload_len = len;
    return *this;
}

// Hop-by-hop and destination options: one PadN option fills the header (RFC 8200 4.2).
static std::vector<uint8_t> options_ext_body(uint8_t extra8) {
    std::vector<uint8_t> b(8u * (extra8 + 1u), 0);
    b[1] = extra8;
    b[2] = 1;  // PadN
    b[3] = static_cast<uint8_t>(b.size() - 4);
    return b;
}

PacketBuilder& PacketBuilder::hop_by_hop(uint8_t extra8) {
    layers_.emplace_back(Ipv6Ext{0, options_ext_body(extra8)});
    return *this;
}

PacketBuilder& PacketBuilder::dest_opts(uint8_t extra8) {
    layers_.emplace_back(Ipv6Ext{60, options_ext_body(extra8)});
    return *this;
}

PacketBuilder& PacketBuilder::routing(uint8_t extra8) {
    std::vector<uint8_t> b(8u * (extra8 + 1u), 0);
    b[1] = extra8;
    b[2] = 253;  // experimental routing type (RFC 4727); segments left 0, so it is skipped
    layers_.emplace_back(Ipv6Ext{43, std::move(b)});
    return *this;
}

PacketBuilder& PacketBuilder::ipv6_fragment(uint16_t offset8, bool more_fragments, uint32_t id) {
    Frame b{0, 0};
    put16(b, static_cast<uint16_t>((offset8 & 0x1fff) << 3 | (more_fragments ? 1 : 0)));
    put32(b, id);
    layers_.emplace_back(Ipv6Ext{44, std::move(b)});
    return *this;
}

// AH counts its length in 4-byte words minus 2 (RFC 4302), unlike every other extension.
PacketBuilder& PacketBuilder::auth_header(uint8_t icv_words) {
    Frame b(12u + 4u * icv_words, 0);
    b[1] = static_cast<uint8_t>(b.size() / 4 - 2);
    b[7] = 0x42;  // SPI
    b[11] = 1;    // sequence number
    layers_.emplace_back(Ipv6Ext{51, std::move(b)});
    return *this;
}

PacketBuilder& PacketBuilder::tcp(uint16_t sport, uint16_t dport, uint8_t flags) {
    layers_.emplace_back(Tcp{sport, dport, flags});
    return *this;
}

PacketBuilder& PacketBuilder::seq(uint32_t seq) {
    last<Tcp>("seq").seq = seq;
    return *this;
}

PacketBuilder& PacketBuilder::ack_seq(uint32_t ack) {
    last<Tcp>("ack_seq").ack = ack;
    return *this;
}

PacketBuilder& PacketBuilder::window(uint16_t window) {
    last<Tcp>("window").window = window;
    return *this;
}

PacketBuilder& PacketBuilder::data_offset(uint8_t words) {
    last<Tcp>("data_offset").doff = words;
    return *this;
}

PacketBuilder& PacketBuilder::tcp_options(std::vector<uint8_t> bytes) {
    last<Tcp>("tcp_options").options = padded(std::move(bytes));
    return *this;
}

PacketBuilder& PacketBuilder::udp(uint16_t sport, uint16_t dport) {
    layers_.emplace_back(Udp{sport, dport});
    return *this;
}

PacketBuilder& PacketBuilder::udp_len(uint16_t len) {
    last<Udp>("udp_len").len = len;
    return *this;
}

PacketBuilder& PacketBuilder::icmp(uint8_t type, uint8_t code) {
    layers_.emplace_back(Icmp{type, code, false});
    return *this;
}

PacketBuilder& PacketBuilder::icmp6(uint8_t type, uint8_t code) {
    layers_.emplace_back(Icmp{type, code, true});
    return *this;
}

PacketBuilder& PacketBuilder::payload(std::vector<uint8_t> bytes) {
    layers_.emplace_back(Payload{std::move(bytes)});
    return *this;
}

PacketBuilder& PacketBuilder::payload(std::size_t n, uint8_t fill) {
    return payload(std::vector<uint8_t>(n, fill));
}

PacketBuilder& PacketBuilder::truncate(std::size_t n) {
    truncate_to_ = n;
    return *this;
}

int PacketBuilder::ethertype_of(std::size_t i) const {
    if (i >= layers_.size()) return -1;
    return std::visit(
        [](const auto& l) -> int {
            using T = std::decay_t<decltype(l)>;
            if constexpr (std::is_same_v<T, Vlan>) return l.tpid;
            if constexpr (std::is_same_v<T, Ipv4>) return 0x0800;
            if constexpr (std::is_same_v<T, Ipv6>) return 0x86dd;
            return -1;
        },
        layers_[i]);
}

int PacketBuilder::ipproto_of(std::size_t i) const {
    if (i >= layers_.size()) return kNoNextHeader;
    return std::visit(
        [](const auto& l) -> int {
            using T = std::decay_t<decltype(l)>;
            if constexpr (std::is_same_v<T, Ipv6Ext>) return l.type;
            if constexpr (std::is_same_v<T, Tcp>) return 6;
            if constexpr (std::is_same_v<T, Udp>) return 17;
            if constexpr (std::is_same_v<T, Icmp>) return l.v6 ? 58 : 1;
            if constexpr (std::is_same_v<T, Ipv4>) return 4;
            if constexpr (std::is_same_v<T, Ipv6>) return 41;
            return -1;
        },
        layers_[i]);
}

std::size_t PacketBuilder::encoded_size(std::size_t i) const {
    return std::visit(
        [](const auto& l) -> std::size_t {
            using T = std::decay_t<decltype(l)>;
            if constexpr (std::is_same_v<T, Eth>) return 14;
            if constexpr (std::is_same_v<T, Vlan>) return 4;
            if constexpr (std::is_same_v<T, Ipv4>) return 20 + l.options.size();
            if constexpr (std::is_same_v<T, Ipv6>) return 40;
            if constexpr (std::is_same_v<T, Ipv6Ext>) return l.body.size();
            if constexpr (std::is_same_v<T, Tcp>) return 20 + l.options.size();
            if constexpr (std::is_same_v<T, Udp>) return 8;
            if constexpr (std::is_same_v<T, Icmp>) return 8;
            if constexpr (std::is_same_v<T, Payload>) return l.bytes.size();
        },
        layers_[i]);
}

void PacketBuilder::encode(std::size_t i, std::size_t following, Frame& out) const {
    auto next_type = [&](int override_value, const char* what) -> uint16_t {
        int v = override_value >= 0 ? override_value : ethertype_of(i + 1);
        if (v < 0)
            throw std::logic_error(std::string("PacketBuilder: ") + what +
                                   " needs an ethertype() for what follows it");
        return static_cast<uint16_t>(v);
    };
    auto next_proto = [&](int override_value) -> uint8_t {
        int v = override_value >= 0 ? override_value : ipproto_of(i + 1);
        if (v < 0) throw std::logic_error("PacketBuilder: set protocol() before a raw payload");
        return static_cast<uint8_t>(v);
    };
    const std::size_t self = encoded_size(i);

    std::visit(
        [&](const auto& l) {
            using T = std::decay_t<decltype(l)>;
            if constexpr (std::is_same_v<T, Eth>) {
                append(out, std::array<uint8_t, 12>{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1});
                put16(out, next_type(l.ethertype, "eth()"));
            } else if constexpr (std::is_same_v<T, Vlan>) {
                put16(out, l.tci);
                put16(out, next_type(l.inner_type, "vlan()"));
            } else if constexpr (std::is_same_v<T, Ipv4>) {
                const std::size_t start = out.size();
                const int ihl = l.ihl >= 0 ? l.ihl : static_cast<int>(self / 4);
                out.push_back(static_cast<uint8_t>(l.version << 4 | (ihl & 0xf)));
                out.push_back(0);  // DSCP/ECN
                put16(out, static_cast<uint16_t>(l.tot_len >= 0 ? l.tot_len : self + following));
                put16(out, l.id);
                put16(out, static_cast<uint16_t>(l.frag | (l.df ? 0x4000 : 0)));
                out.push_back(l.ttl);
                out.push_back(next_proto(l.protocol));
                put16(out, 0);
                append(out, l.src);
                append(out, l.dst);
                append(out, l.options);
                const uint16_t csum = ipv4_checksum(out.data() + start, self);
                out[start + 10] = static_cast<uint8_t>(csum >> 8);
                out[start + 11] = static_cast<uint8_t>(csum);
            } else if constexpr (std::is_same_v<T, Ipv6>) {
                put32(out, static_cast<uint32_t>(l.version) << 28);
                put16(out, static_cast<uint16_t>(l.payload_len >= 0 ? l.payload_len : following));
                out.push_back(next_proto(l.next));
                out.push_back(l.hop_limit);
                append(out, l.src);
                append(out, l.dst);
            } else if constexpr (std::is_same_v<T, Ipv6Ext>) {
                const std::size_t start = out.size();
                append(out, l.body);
                out[start] = next_proto(l.next);
            } else if constexpr (std::is_same_v<T, Tcp>) {
                const int doff = l.doff >= 0 ? l.doff : static_cast<int>(self / 4);
                put16(out, l.sport);
                put16(out, l.dport);
                put32(out, l.seq);
                put32(out, l.ack);
                out.push_back(static_cast<uint8_t>((doff & 0xf) << 4));
                out.push_back(l.flags);
                put16(out, l.window);
                put16(out, 0);  // checksum: XDP never checks it
                put16(out, 0);  // urgent pointer
                append(out, l.options);
            } else if constexpr (std::is_same_v<T, Udp>) {
                put16(out, l.sport);
                put16(out, l.dport);
                put16(out, static_cast<uint16_t>(l.len >= 0 ? l.len : self + following));
                put16(out, 0);
            } else if constexpr (std::is_same_v<T, Icmp>) {
                out.push_back(l.type);
                out.push_back(l.code);
                put16(out, 0);
                put16(out, 0x1234);  // identifier (or unused, for errors)
                put16(out, 1);       // sequence
            } else if constexpr (std::is_same_v<T, Payload>) {
                append(out, l.bytes);
            }
        },
        layers_[i]);
}

Frame PacketBuilder::build() const {
    std::vector<std::size_t> sizes(layers_.size());
    for (std::size_t i = 0; i < layers_.size(); ++i) sizes[i] = encoded_size(i);
    std::size_t remaining = std::accumulate(sizes.begin(), sizes.end(), std::size_t{0});

    Frame out;
    out.reserve(remaining);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        remaining -= sizes[i];
        encode(i, remaining, out);
    }
    if (truncate_to_ != SIZE_MAX) {
        if (truncate_to_ > out.size())
            throw std::logic_error("PacketBuilder::truncate() beyond the frame's " +
                                   std::to_string(out.size()) + " bytes");
        out.resize(truncate_to_);
    }
    return out;
}

bool parse_mac(const std::string& text, uint8_t out[6]) {
    unsigned m[6];
    if (sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
        return false;
    for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(m[i]);
    return true;
}

}  // namespace probescope::test
