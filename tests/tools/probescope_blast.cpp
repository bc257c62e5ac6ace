// Line-rate lab traffic into a lab veth: a SYN scan of the target's ports from TEST-NET scanners,
// and a spoofed SYN flood from 240.0.0.0/4 (and 2001:db8::/32). bpf/gen_frame.h defines the
// frames; two senders put them on the wire:
// - live (the first choice): BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES runs
//   bpf/gen_redirect.bpf.c, which writes each frame and redirects it out of the veth, counted by
//   the veth itself (ethtool tx_queue_*_xdp_xmit: frames put into its peer's receive ring);
// - packet: sendmmsg on an AF_PACKET socket bound to the veth (qdisc bypassed), the frames
//   written in user space and counted as the socket takes them. --sender auto takes it when
//   the kernel refuses live frames (seen: EPERM on 6.18.44-fc-v1300).
// Run it inside a lab namespace only. It prints one JSON line with the frames it offered.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gen_frame.h"
#include "gen_redirect.skel.h"
#include "packet_builder.h"

using probescope::test::Frame;
using probescope::test::PacketBuilder;
using probescope::test::parse_mac;

namespace {

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
    std::string sender = "auto";
    uint64_t count = 1000000;
    double seconds = 0;
    uint32_t scan_sources = 30, scan_port_lo = 1, scan_ports = 1024, flood_port = 80;
    double scan_share = 0.05, v6_share = 0.0;
    uint32_t chunk = 1u << 20;
    uint64_t seed = 1;
};

// What one sender did: frames written (by mode), offered to the peer, refused.
struct Offer {
    std::string generator;
    std::array<uint64_t, GEN_MODE_COUNT> frames{};
    uint64_t offered = 0, refused = 0;
    uint64_t busy = 0;  // AF_PACKET: sends the veth refused with its queue stopped, retried
    double seconds = 0;
};

// Stops a sender after --count frames or --seconds.
class Budget {
public:
    explicit Budget(const Options& o) : o_(o), start_(std::chrono::steady_clock::now()) {}
    double elapsed() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    // Frames the next step may send (0: done), at most chunk.
    uint64_t next(uint64_t done, uint64_t chunk) const {
        if (o_.seconds > 0) return elapsed() >= o_.seconds ? 0 : chunk;
        return done >= o_.count ? 0 : std::min<uint64_t>(chunk, o_.count - done);
    }

private:
    const Options& o_;
    std::chrono::steady_clock::time_point start_;
};

// The live sender. Returns 0, or -errno when the kernel refused the first test run (nothing
// sent: the caller may fall back), or 1 on a later failure.
int send_live(const Options& o, const gen_config& cfg, unsigned ifindex, const Frame& frame,
              Offer& out) {
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
    *const_cast<gen_config*>(&skel->rodata->cfg) = cfg;
    if (int err = gen_redirect_bpf__load(skel.get())) {
        fprintf(stderr, "probescope-blast: cannot load the generator's BPF program: %s\n",
                strerror(-err));
        return 1;
    }
    int prog = bpf_program__fd(skel->progs.gen_redirect);
    uint64_t done = 0;
    Budget budget(o);
    while (uint64_t n = budget.next(done, o.chunk)) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                    .data_size_in = static_cast<uint32_t>(frame.size()),
                    .repeat = static_cast<int>(n), .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
                    .batch_size = 64);
        if (int err = bpf_prog_test_run_opts(prog, &opts)) {
            if (done == 0) return err < 0 ? err : -EINVAL;
            fprintf(stderr, "probescope-blast: live-frames test run failed: %s\n", strerror(-err));
            return 1;
        }
        done += n;
    }
    out.seconds = budget.elapsed();
    XmitCounters after;
    read_xmit(o.iface, after);
    out.generator = "BPF_PROG_TEST_RUN live frames, batch 64";
    for (int m = 0; m < GEN_MODE_COUNT; ++m) out.frames[m] = skel->bss->frames[m];
    out.offered = after.xmit - before.xmit;
    out.refused = after.errors - before.errors;
    return 0;
}

// The interface's transmit drops from the kernel (netlink, this namespace).
bool read_tx_dropped(const std::string& iface, uint64_t& dropped) {
    ifaddrs* all = nullptr;
    if (getifaddrs(&all) != 0) return false;
    bool found = false;
    for (ifaddrs* a = all; a; a = a->ifa_next)
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_PACKET && a->ifa_data &&
            iface == a->ifa_name) {
            const auto* st = static_cast<const rtnl_link_stats*>(a->ifa_data);
            dropped = st->tx_dropped;
            found = true;
        }
    freeifaddrs(all);
    return found;
}

// splitmix64: the packet sender's randomness (the live sender's is bpf_get_prandom_u32).
uint64_t next_random(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// The AF_PACKET sender: batches of frames written in user space, one sendmmsg each. When the
// veth stops its queue (its peer's ring is full) it waits and sends the same frame again, so
// the offered rate follows what the target takes; the scanner beside it (stress.sh's nmap),
// whose packets a stopped queue drops, then loses few. See the end for what counts as offered.
int send_packet(const Options& o, const gen_config& cfg, unsigned ifindex, const Frame& frame,
                Offer& out) {
    uint64_t drop0 = 0;
    if (!read_tx_dropped(o.iface, drop0)) {
        fprintf(stderr, "probescope-blast: cannot read %s's counters\n", o.iface.c_str());
        return 1;
    }
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        perror("probescope-blast: AF_PACKET socket");
        return 1;
    }
    int one = 1;
    // Straight to the driver: no qdisc to queue or drop in front of the veth.
    if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0)
        perror("probescope-blast: PACKET_QDISC_BYPASS (going through the qdisc)");
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(ifindex);
    to.sll_halen = 6;
    memcpy(to.sll_addr, frame.data(), 6);

    constexpr unsigned kBatch = 256;
    std::vector<std::array<uint8_t, GEN_FRAME_LEN>> bufs(kBatch);
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    for (unsigned i = 0; i < kBatch; ++i) {
        memcpy(bufs[i].data(), frame.data(), GEN_FRAME_LEN);  // the MAC addresses stay
        iov[i] = {bufs[i].data(), GEN_FRAME_LEN};
        msgs[i].msg_hdr = {};
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = sizeof(to);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t rng = o.seed, frame_no = 0, done = 0, accepted = 0, busy = 0;
    __u64 scan_next = 0;
    Budget budget(o);
    int rc = 0;
    while (uint64_t n = budget.next(done, kBatch)) {
        for (uint64_t i = 0; i < n; ++i) {
            __u32 rnd[GEN_RANDOM_WORDS] = {}, m = gen_mode_of(&cfg, frame_no++);
            if (gen_takes_random(m))
                for (auto& w : rnd) w = static_cast<__u32>(next_random(rng));
            gen_frame(bufs[i].data(), &cfg, m, &scan_next, rnd);
            out.frames[m]++;
        }
        for (uint64_t sent = 0; sent < n;) {
            int r = sendmmsg(fd, &msgs[sent], static_cast<unsigned>(n - sent), 0);
            if (r > 0) {
                sent += static_cast<uint64_t>(r);
                accepted += static_cast<uint64_t>(r);
            } else if (r < 0 && (errno == ENOBUFS || errno == EAGAIN)) {
                // The veth stopped its queue (its peer's ring is full): let the peer's NAPI,
                // which runs on this CPU, drain it, and send the same frame again.
                ++busy;
                sched_yield();
            } else if (r < 0 && errno != EINTR) {
                perror("probescope-blast: sendmmsg");
                rc = 1;
                break;
            }
        }
        if (rc) break;
        done += n;
    }
    out.seconds = budget.elapsed();
    close(fd);
    uint64_t drop1 = drop0;
    read_tx_dropped(o.iface, drop1);
    out.generator = "AF_PACKET sendmmsg, batch 256, qdisc bypassed";
    // Offered: the frames the socket took, not the veth's tx_packets, which also count what
    // this namespace's own stack sent meanwhile (ARP replies for the scanners' addresses). A
    // veth that applies backpressure (6.18's does) stops its queue when its peer's ring is
    // full: the socket refuses the frame, which is sent again, and nothing it took is lost.
    // (Its tx_dropped counts each refusal, and sendmmsg drops the error of a refusal after a
    // partial send, so tx_dropped cannot be matched against busy.) A veth that does not drops
    // a frame it took, counted in tx_dropped alone: with no refusal seen, those are
    // subtracted, as refused (tx_dropped also counts anything else it dropped meanwhile).
    uint64_t silent = busy > 0 ? 0 : drop1 - drop0;
    out.offered = accepted - std::min(accepted, silent);
    out.refused = silent;
    out.busy = busy;
    return rc;
}

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
    gen_config cfg{};
    cfg.scan_src_base = ntohl(src.s_addr);
    cfg.scan_src_count = o.scan_sources;
    cfg.scan_dst = ntohl(dst.s_addr);
    cfg.scan_port_lo = o.scan_port_lo;
    cfg.scan_port_count = o.scan_ports;
    cfg.flood_port = o.flood_port;
    cfg.scan_permille = static_cast<uint32_t>(o.scan_share * 1000 + 0.5);
    cfg.v6_permille = static_cast<uint32_t>(o.v6_share * 1000 + 0.5);
    memcpy(cfg.scan_dst6, &dst6, 16);
    // One template, as long as the IPv6 frame: each sender writes every header per frame.
    Frame frame = template_frame(o.dst6, mac);

    Offer offer;
    std::string fallback;
    int rc = 1;
    if (o.sender != "packet") {
        rc = send_live(o, cfg, ifindex, frame, offer);
        if (rc < 0 && o.sender == "auto") {
            fallback = strerror(-rc);
            fprintf(stderr,
                    "probescope-blast: the kernel refused live frames (%s): sending through "
                    "AF_PACKET instead\n",
                    fallback.c_str());
        } else if (rc < 0) {
            fprintf(stderr, "probescope-blast: live-frames test run failed: %s\n", strerror(-rc));
            return 1;
        }
    }
    if (o.sender == "packet" || !fallback.empty()) rc = send_packet(o, cfg, ifindex, frame, offer);
    if (rc != 0) return 1;
    uint64_t written = 0;
    for (uint64_t f : offer.frames) written += f;
    if (!fallback.empty()) offer.generator += " (live frames refused: " + fallback + ")";
    printf(
        "{\"generator\":\"%s\",\"redirected\":%llu,"
        "\"offered\":%llu,\"ring_full\":%llu,\"flood_v4\":%llu,\"scan_v4\":%llu,"
        "\"flood_v6\":%llu,\"seconds\":%.3f,\"offered_pps\":%.0f,\"device_busy\":%llu}\n",
        offer.generator.c_str(), static_cast<unsigned long long>(written),
        static_cast<unsigned long long>(offer.offered),
        static_cast<unsigned long long>(offer.refused),
        static_cast<unsigned long long>(offer.frames[GEN_FLOOD_V4]),
        static_cast<unsigned long long>(offer.frames[GEN_SCAN_V4]),
        static_cast<unsigned long long>(offer.frames[GEN_FLOOD_V6]), offer.seconds,
        offer.seconds > 0 ? offer.offered / offer.seconds : 0.0,
        static_cast<unsigned long long>(offer.busy));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"probescope-blast: line-rate lab frames into a veth (SYN scan + spoofed flood)"};
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
    app.add_option("--sender", o.sender,
                   "live: XDP live frames; packet: AF_PACKET; auto: live, or packet where the "
                   "kernel refuses live frames")
        ->check(CLI::IsMember({"auto", "live", "packet"}))
        ->capture_default_str();
    app.add_option("--seed", o.seed, "The packet sender's random seed")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    return run(o);
}
