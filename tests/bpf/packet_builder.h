// PacketBuilder: a fluent builder of raw Ethernet frames for feeding the XDP program in tests.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace probescope::test {

using Frame = std::vector<uint8_t>;
using Ipv4Addr = std::array<uint8_t, 4>;
using Ipv6Addr = std::array<uint8_t, 16>;

// Dotted-quad or colon text to bytes; throws std::invalid_argument on a typo so a bad
// table row fails loudly instead of silently testing 0.0.0.0.
Ipv4Addr ipv4_addr(const std::string& text);
Ipv6Addr ipv6_addr(const std::string& text);

// The 16-byte form the program keys sources by: IPv4 as ::ffff:a.b.c.d.
std::array<uint8_t, 16> v4_mapped(const Ipv4Addr& a);

// TCP option encodings, for .tcp_options().
namespace tcpopt {
std::vector<uint8_t> mss(uint16_t value);
std::vector<uint8_t> sack_permitted();
std::vector<uint8_t> timestamps(uint32_t value, uint32_t echo);
std::vector<uint8_t> nop();
std::vector<uint8_t> window_scale(uint8_t shift);
// The options a Linux SYN carries, in Linux's order: MSS, SACK-permitted, TS, NOP, WS.
std::vector<uint8_t> linux_syn(uint16_t mss_value = 1460);
// What Linux puts on an established segment: NOP, NOP, timestamps.
std::vector<uint8_t> linux_established();
}  // namespace tcpopt

// Headers are emitted in call order. Every length field (IPv4 tot_len and ihl, IPv6
// payload_len, UDP length, TCP data offset) and every "next protocol" field (ethertype,
// VLAN inner type, IPv4 protocol, IPv6/extension next header) is derived from the layers
// that follow, unless a setter overrides it. Setters act on the most recent layer of
// their kind and throw std::logic_error when there is none. Checksums are left zero
// except the IPv4 header's, which is cheap and keeps the frames honest for tcpdump.
class PacketBuilder {
public:
    PacketBuilder& eth();
    // Override the type field of the last Ethernet header or VLAN tag, e.g. 0x0806 for ARP.
    PacketBuilder& ethertype(uint16_t type);
    PacketBuilder& vlan(uint16_t tci, uint16_t tpid = 0x8100);

    PacketBuilder& ipv4(const std::string& src, const std::string& dst);
    PacketBuilder& ttl(uint8_t ttl);  // IPv4 TTL or IPv6 hop limit
    PacketBuilder& ip_id(uint16_t id);
    PacketBuilder& ihl(uint8_t words);                      // override; default 5 + options / 4
    PacketBuilder& ip_version(uint8_t version);             // override the version nibble (4 or 6)
    PacketBuilder& ip_options(std::vector<uint8_t> bytes);  // padded to 4 with EOL
    // offset8 is the fragment offset field itself: the offset in 8-byte units.
    PacketBuilder& fragment(uint16_t offset8, bool more_fragments);
    PacketBuilder& dont_fragment();  // the DF bit every common stack sets on its TCP segments
    PacketBuilder& protocol(uint8_t proto);  // IPv4 protocol / IPv6 next header
    PacketBuilder& tot_len(uint16_t len);

    PacketBuilder& ipv6(const std::string& src, const std::string& dst);
    PacketBuilder& payload_len(uint16_t len);
    // Extension headers; extra8/extra4 grow a header beyond its minimal size.
    PacketBuilder& hop_by_hop(uint8_t extra8 = 0);
    PacketBuilder& routing(uint8_t extra8 = 0);
    PacketBuilder& dest_opts(uint8_t extra8 = 0);
    PacketBuilder& ipv6_fragment(uint16_t offset8, bool more_fragments, uint32_t id = 0x1234);
    PacketBuilder& auth_header(uint8_t icv_words = 3);

    PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags);
    PacketBuilder& seq(uint32_t seq);
    PacketBuilder& ack_seq(uint32_t ack);
    PacketBuilder& window(uint16_t window);
    PacketBuilder& data_offset(uint8_t words);               // override; default 5 + options / 4
    PacketBuilder& tcp_options(std::vector<uint8_t> bytes);  // padded to 4 with EOL

    PacketBuilder& udp(uint16_t sport, uint16_t dport);
    PacketBuilder& udp_len(uint16_t len);

    PacketBuilder& icmp(uint8_t type, uint8_t code);
    PacketBuilder& icmp6(uint8_t type, uint8_t code);

    PacketBuilder& payload(std::vector<uint8_t> bytes);
    PacketBuilder& payload(std::size_t n, uint8_t fill = 0xab);
    // Cut the finished frame to n bytes, after every length field has been computed.
    PacketBuilder& truncate(std::size_t n);

    Frame build() const;
    operator Frame() const { return build(); }  // so a builder can sit in a Frame table cell

private:
    struct Eth {
        int ethertype = -1;  // -1: derived
    };
    struct Vlan {
        uint16_t tci, tpid;
        int inner_type = -1;  // -1: derived
    };
    struct Ipv4 {
        Ipv4Addr src, dst;
        uint8_t ttl = 64, version = 4;
        uint16_t id = 0x4d2, frag = 0;  // frag: MF and offset; DF is kept apart
        bool df = false;
        int ihl = -1, protocol = -1, tot_len = -1;
        std::vector<uint8_t> options{};
    };
    struct Ipv6 {
        Ipv6Addr src, dst;
        uint8_t hop_limit = 64, version = 6;
        int next = -1, payload_len = -1;
    };
    struct Ipv6Ext {
        uint8_t type;               // 0, 43, 60, 44 or 51
        std::vector<uint8_t> body;  // the whole header; bytes 0 (next) and 1 (len) set here
        int next = -1;
    };
    struct Tcp {
        uint16_t sport, dport;
        uint8_t flags;
        uint32_t seq = 0x01020304, ack = 0;
        uint16_t window = 64240;
        int doff = -1;
        std::vector<uint8_t> options{};
    };
    struct Udp {
        uint16_t sport, dport;
        int len = -1;
    };
    struct Icmp {
        uint8_t type, code;
        bool v6;
    };
    struct Payload {
        std::vector<uint8_t> bytes;
    };
    using Layer = std::variant<Eth, Vlan, Ipv4, Ipv6, Ipv6Ext, Tcp, Udp, Icmp, Payload>;

    template <class T>
    T& last(const char* setter);
    // Setters shared by IPv4 and IPv6 act on whichever IP header came last.
    template <class OnV4, class OnV6>
    PacketBuilder& on_last_ip(const char* setter, OnV4 on_v4, OnV6 on_v6);
    // Ethertype / IP protocol number the layer at index i announces itself with.
    int ethertype_of(std::size_t i) const;
    int ipproto_of(std::size_t i) const;
    std::size_t encoded_size(std::size_t i) const;
    void encode(std::size_t i, std::size_t following, Frame& out) const;

    std::vector<Layer> layers_;
    std::size_t truncate_to_ = SIZE_MAX;
};

// "02:00:00:00:00:02" into 6 bytes; false unless the text is six hex octets.
bool parse_mac(const std::string& text, uint8_t out[6]);

}  // namespace probescope::test
