// Line-rate lab traffic: live XDP frames (BPF_F_TEST_XDP_LIVE_FRAMES) redirected out of a veth.
// bpf/gen_redirect.bpf.c rewrites a template SYN per frame: a SYN scan of the target's ports
// from TEST-NET scanners, and a spoofed SYN flood from 240.0.0.0/4 (and 2001:db8::/32).
// Run it inside a lab namespace only. It prints one JSON line with the frames it offered: the
// veth's own count of frames it placed in its peer's receive ring (ethtool tx_queue_*_xdp_xmit).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gen_redirect.skel.h"
#include "packet_builder.h"

using probescope::test::Frame;
using probescope::test::PacketBuilder;
using probescope::test::parse_mac;

namespace {

enum Mode { kFloodV4 = 0, kScanV4 = 1, kFloodV6 = 2, kModes = 3 };

// The veth's XDP transmit counters: frames put into the peer's ring, and frames refused
// because that ring was full. Read through SIOCETHTOOL, so no ethtool binary is needed.
struct XmitCounters {
    uint64_t xmit = 0, errors = 0;
};

bool read_xmit(const std::string& iface, XmitCounters& out) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return false;
    auto ioctl_eth = [&](void* cmd) {
        ifreq ifr{};
        strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
        ifr.ifr_data = static_cast<char*>(cmd);
        return ioctl(fd, SIOCETHTOOL, &ifr) == 0;
    };
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    bool ok = ioctl_eth(&info) && info.n_stats > 0;
    uint32_t n = ok ? info.n_stats : 0;
    std::vector<uint8_t> strings(sizeof(ethtool_gstrings) + n * ETH_GSTRING_LEN);
    std::vector<uint8_t> stats(sizeof(ethtool_stats) + n * sizeof(uint64_t));
    auto* gs = reinterpret_cast<ethtool_gstrings*>(strings.data());
    auto* st = reinterpret_cast<ethtool_stats*>(stats.data());
    gs->cmd = ETHTOOL_GSTRINGS;
    gs->string_set = ETH_SS_STATS;
    gs->len = n;
    st->cmd = ETHTOOL_GSTATS;
    st->n_stats = n;
    ok = ok && ioctl_eth(gs) && ioctl_eth(st);
    close(fd);
    if (!ok) return false;
    out = {};
    for (uint32_t i = 0; i < n; ++i) {
        std::string name(reinterpret_cast<char*>(gs->data) + i * ETH_GSTRING_LEN);
        bool tx = name.rfind("tx_queue_", 0) == 0;
        if (tx && name.ends_with("_xdp_xmit")) out.xmit += st->data[i];
        if (tx && name.ends_with("_xdp_xmit_errors")) out.errors += st->data[i];
    }
    return true;
}

// The frame every mode starts from: an IPv6 SYN, the longest. The BPF program rewrites
// everything after the MAC addresses, per frame.
Frame template_frame(const std::string& dst6, const uint8_t dst_mac[6]) {
    PacketBuilder b;
    b.eth()
        .ipv6("2001:db8::1", dst6)
        .tcp(40000, 80, 0x02)
        .window(1024)
        .tcp_options(probescope::test::tcpopt::mss(1460));
    Frame f = b.build();
    memcpy(f.data(), dst_mac, 6);
    return f;
}

// The only addresses this tool may send to or from (besides the spoofed reserved ranges its
// program draws): the TEST-NET blocks the lab uses.
bool in_test_net(uint32_t host_order) {
    uint32_t net = host_order & 0xffffff00u;
    return net == 0xc0000200u || net == 0xc6336400u || net == 0xcb007100u;
}

struct Options {
    std::string iface, dst_mac, dst, dst6 = "2001:db8:100::2", scan_src = "198.51.100.11";
    uint64_t count = 1000000;
    double seconds = 0;
    uint32_t scan_sources = 30, scan_port_lo = 1, scan_ports = 1024, flood_port = 80;
    double scan_share = 0.05, v6_share = 0.0;
    uint32_t chunk = 1u << 20;
};

int run(const Options& o) {
    uint8_t mac[6];
    in_addr dst{}, src{};
    in6_addr dst6{};
    if (!parse_mac(o.dst_mac, mac)) {
        fprintf(stderr, "probescope-blast: bad --dst-mac '%s'\n", o.dst_mac.c_str());
        return 2;
    }
    if (inet_pton(AF_INET, o.dst.c_str(), &dst) != 1 ||
        inet_pton(AF_INET, o.scan_src.c_str(), &src) != 1 ||
        inet_pton(AF_INET6, o.dst6.c_str(), &dst6) != 1) {
        fprintf(stderr, "probescope-blast: bad --dst, --dst6 or --scan-src address\n");
        return 2;
    }
    uint32_t first = ntohl(src.s_addr), last = first + o.scan_sources - 1;
    if (!in_test_net(ntohl(dst.s_addr)) || !in_test_net(first) || !in_test_net(last) ||
        (first & 0xffffff00u) != (last & 0xffffff00u) || memcmp(&dst6, "\x20\x01\x0d\xb8", 4)) {
        fprintf(stderr,
                "probescope-blast: --dst and the --scan-src block must be in one TEST-NET /24 "
                "(192.0.2.0, 198.51.100.0, 203.0.113.0) and --dst6 in 2001:db8::/32\n");
        return 2;
    }
    if (o.scan_share < 0 || o.v6_share < 0 || o.scan_share + o.v6_share > 1) {
        fprintf(stderr, "probescope-blast: --scan-share plus --v6-share must be within 0..1\n");
        return 2;
    }
    unsigned ifindex = if_nametoindex(o.iface.c_str());
    if (ifindex == 0) {
        fprintf(stderr, "probescope-blast: no interface '%s' in this namespace\n", o.iface.c_str());
        return 2;
    }
    XmitCounters before;
    if (!read_xmit(o.iface, before)) {
        fprintf(stderr, "probescope-blast: cannot read %s's ethtool counters (is it a veth?)\n",
                o.iface.c_str());
        return 1;
    }

    std::unique_ptr<gen_redirect_bpf, void (*)(gen_redirect_bpf*)> skel(gen_redirect_bpf__open(),
                                                                        gen_redirect_bpf__destroy);
    if (!skel) {
        perror("probescope-blast: cannot open the generator's BPF object");
        return 1;
    }
    skel->rodata->out_ifindex = ifindex;
    skel->rodata->scan_src_base = ntohl(src.s_addr);
    skel->rodata->scan_src_count = o.scan_sources;
    skel->rodata->scan_dst = ntohl(dst.s_addr);
    skel->rodata->scan_port_lo = o.scan_port_lo;
    skel->rodata->scan_port_count = o.scan_ports;
    skel->rodata->flood_port = o.flood_port;
    skel->rodata->scan_permille = static_cast<uint32_t>(o.scan_share * 1000 + 0.5);
    skel->rodata->v6_permille = static_cast<uint32_t>(o.v6_share * 1000 + 0.5);
    memcpy(const_cast<uint8_t*>(skel->rodata->scan_dst6), &dst6, 16);
    if (int err = gen_redirect_bpf__load(skel.get())) {
        fprintf(stderr, "probescope-blast: cannot load the generator's BPF program: %s\n",
                strerror(-err));
        return 1;
    }
    int prog = bpf_program__fd(skel->progs.gen_redirect);
    // One template, as long as the IPv6 frame: the program writes every header per frame.
    Frame frame = template_frame(o.dst6, mac);
    uint64_t done = 0;
    auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    for (;;) {
        bool timed = o.seconds > 0;
        if ((timed && elapsed() >= o.seconds) || (!timed && done >= o.count)) break;
        uint64_t n = timed ? o.chunk : std::min<uint64_t>(o.chunk, o.count - done);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                    .data_size_in = static_cast<uint32_t>(frame.size()),
                    .repeat = static_cast<int>(n), .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
                    .batch_size = 64);
        if (int err = bpf_prog_test_run_opts(prog, &opts)) {
            fprintf(stderr, "probescope-blast: live-frames test run failed: %s\n", strerror(-err));
            return 1;
        }
        done += n;
    }
    double secs = elapsed();
    XmitCounters after;
    read_xmit(o.iface, after);
    uint64_t redirected = 0;
    for (int m = 0; m < kModes; ++m) redirected += skel->bss->frames[m];
    uint64_t offered = after.xmit - before.xmit;
    printf(
        "{\"generator\":\"BPF_PROG_TEST_RUN live frames, batch 64\",\"redirected\":%llu,"
        "\"offered\":%llu,\"ring_full\":%llu,\"flood_v4\":%llu,\"scan_v4\":%llu,"
        "\"flood_v6\":%llu,\"seconds\":%.3f,\"offered_pps\":%.0f}\n",
        static_cast<unsigned long long>(redirected), static_cast<unsigned long long>(offered),
        static_cast<unsigned long long>(after.errors - before.errors),
        static_cast<unsigned long long>(skel->bss->frames[kFloodV4]),
        static_cast<unsigned long long>(skel->bss->frames[kScanV4]),
        static_cast<unsigned long long>(skel->bss->frames[kFloodV6]), secs,
        secs > 0 ? offered / secs : 0.0);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"probescope-blast: live XDP frames into a lab veth (SYN scan + spoofed flood)"};
    Options o;
    app.add_option("--iface", o.iface, "The sending veth (in this namespace)")->required();
    app.add_option("--dst-mac", o.dst_mac, "The target veth's MAC")->required();
    app.add_option("--dst", o.dst, "Target IPv4 address (TEST-NET)")->required();
    app.add_option("--dst6", o.dst6, "Target IPv6 address (2001:db8::/32)")->capture_default_str();
    app.add_option("--scan-src", o.scan_src, "First scanner address (TEST-NET)")
        ->capture_default_str();
    app.add_option("--scan-sources", o.scan_sources, "Scanner addresses from --scan-src")
        ->check(CLI::Range(1u, 65536u))
        ->capture_default_str();
    app.add_option("--scan-ports", o.scan_ports, "Ports each scanner walks, from --scan-port")
        ->check(CLI::Range(1u, 65535u))
        ->capture_default_str();
    app.add_option("--scan-port", o.scan_port_lo, "First scanned port")
        ->check(CLI::Range(1u, 65535u))
        ->capture_default_str();
    app.add_option("--flood-port", o.flood_port, "Port the spoofed flood hits")
        ->check(CLI::Range(1u, 65535u))
        ->capture_default_str();
    app.add_option("--scan-share", o.scan_share, "Share of frames that are the SYN scan")
        ->capture_default_str();
    app.add_option("--v6-share", o.v6_share, "Share of frames that are the IPv6 flood")
        ->capture_default_str();
    auto* count = app.add_option("--count", o.count, "Frames to send")->capture_default_str();
    app.add_option("--seconds", o.seconds, "Send for this long instead of --count")
        ->excludes(count);
    app.add_option("--chunk", o.chunk, "Frames per test run (repeat)")
        ->check(CLI::Range(64u, 1u << 30))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    return run(o);
}
