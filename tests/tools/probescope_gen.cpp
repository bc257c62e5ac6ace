// A small packet generator for the lab: spoofed SYN floods and Mirai-shaped SYNs on one veth.
// Frames come from the tests' PacketBuilder and leave through an AF_PACKET socket bound to
// --iface; run it inside a lab namespace only (TEST-NET destinations, 240.0.0.0/4 sources).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "packet_builder.h"

using probescope::test::Frame;
using probescope::test::PacketBuilder;
using probescope::test::parse_mac;

namespace {

std::string v4_text(uint32_t host_order) {
    in_addr a{htonl(host_order)};
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof(buf));
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"probescope-gen: lab traffic for probescope's tests and benchmarks"};
    std::string iface, dst_mac_text, mode = "syn-flood", src_cidr = "240.0.0.0/4", dst_first;
    uint32_t count = 1000, dst_count = 1, seed = 1;
    uint16_t dport = 80;
    double rate = 0;
    app.add_option("--iface", iface, "Interface to send on (a lab veth)")->required();
    app.add_option("--dst-mac", dst_mac_text, "Destination MAC (the target veth's)")->required();
    app.add_option("--mode", mode, "syn-flood: random sources in --src; mirai: seq = destination")
        ->check(CLI::IsMember({"syn-flood", "mirai"}))
        ->capture_default_str();
    app.add_option("--src", src_cidr, "Source: a CIDR for syn-flood, one address for mirai")
        ->capture_default_str();
    app.add_option("--dst", dst_first, "First destination address")->required();
    app.add_option("--dst-count", dst_count, "Consecutive destinations from --dst")
        ->capture_default_str();
    app.add_option("--dport", dport, "Destination port")->capture_default_str();
    app.add_option("--count", count, "Frames to send")->capture_default_str();
    app.add_option("--rate", rate, "Frames per second (0: as fast as possible)");
    app.add_option("--seed", seed, "Random seed, for repeatable runs")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    uint8_t dst_mac[6];
    if (!parse_mac(dst_mac_text, dst_mac)) {
        fprintf(stderr, "probescope-gen: bad --dst-mac '%s'\n", dst_mac_text.c_str());
        return 2;
    }
    in_addr dst_base{}, src_base{};
    std::string src_addr = src_cidr.substr(0, src_cidr.find('/'));
    int src_len = src_cidr.find('/') == std::string::npos
                      ? 32
                      : std::stoi(src_cidr.substr(src_cidr.find('/') + 1));
    if (inet_pton(AF_INET, dst_first.c_str(), &dst_base) != 1 ||
        inet_pton(AF_INET, src_addr.c_str(), &src_base) != 1 || src_len < 0 || src_len > 32) {
        fprintf(stderr, "probescope-gen: bad --dst or --src\n");
        return 2;
    }
    int ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (ifindex == 0 || fd < 0) {
        perror("probescope-gen: interface or AF_PACKET socket");
        return 1;
    }
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    memcpy(to.sll_addr, dst_mac, 6);

    std::mt19937 rng(seed);
    uint32_t src_host = ntohl(src_base.s_addr);
    uint32_t src_mask = src_len == 0 ? 0 : ~0u << (32 - src_len);
    auto start = std::chrono::steady_clock::now();
    uint32_t sent = 0;
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t dst = ntohl(dst_base.s_addr) + (i % dst_count);
        uint32_t src = mode == "syn-flood" ? (src_host & src_mask) | (rng() & ~src_mask) : src_host;
        PacketBuilder b;
        b.eth().ipv4(v4_text(src), v4_text(dst)).ttl(mode == "mirai" ? 64 : 250);
        // Mirai writes the destination address into the sequence number.
        uint32_t seq = mode == "mirai" ? dst : rng();
        b.tcp(static_cast<uint16_t>(1024 + rng() % 60000), dport, 0x02)
            .seq(seq)
            .window(static_cast<uint16_t>(rng()));
        Frame f = b.build();
        memcpy(f.data(), dst_mac, 6);
        if (sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) > 0)
            ++sent;
        if (rate > 0) {
            auto due = start + std::chrono::duration<double>((i + 1) / rate);
            std::this_thread::sleep_until(due);
        }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    printf("{\"sent\":%u,\"seconds\":%.3f,\"pps\":%.0f}\n", sent, secs,
           secs > 0 ? sent / secs : 0.0);
    close(fd);
    return sent == count ? 0 : 1;
}
