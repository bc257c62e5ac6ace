// XDP fuzzing through BPF_PROG_TEST_RUN: seeded random and mutated frames of every shape the
// parser walks; every frame must pass and move the counters exactly as one frame of one class.
#include <arpa/inet.h>
#include <linux/bpf.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "names.h"
#include "xdp_fixture.h"

namespace probescope::test {
namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

std::string hex(const Frame& f) {
    std::string out;
    char b[4];
    for (std::size_t i = 0; i < f.size(); ++i) {
        snprintf(b, sizeof b, "%02x", f[i]);
        out += b;
        if (i % 32 == 31) out += '\n';
    }
    return out;
}

bool is_tcp_class(unsigned c) {
    return c == PS_CLASS_TCP_SYN || c == PS_CLASS_TCP_ODD || c == PS_CLASS_TCP_ACK_PROBE ||
           c == PS_CLASS_TCP_SYNACK || c == PS_CLASS_TCP_RST || c == PS_CLASS_TCP_OTHER;
}

// The ABI's definition of each TCP class (abi.h comments) against the flags byte counted for
// it; ECE and CWR never change the class. Says nothing on how the rest of the frame parsed.
bool class_fits_flags(unsigned c, uint8_t flags) {
    const uint8_t f = flags & 0x3f;
    const bool syn = f & PS_TCP_SYN, rst = f & PS_TCP_RST, ack = f & PS_TCP_ACK;
    switch (c) {
        case PS_CLASS_TCP_SYN:
            return f == PS_TCP_SYN;
        case PS_CLASS_TCP_SYNACK:
            return f == (PS_TCP_SYN | PS_TCP_ACK);
        case PS_CLASS_TCP_RST:
            return f == PS_TCP_RST || f == (PS_TCP_RST | PS_TCP_ACK);
        case PS_CLASS_TCP_ACK_PROBE:
            return f == PS_TCP_ACK || f == (PS_TCP_ACK | PS_TCP_FIN);
        case PS_CLASS_TCP_OTHER:
            return ack && !syn && !rst;
        case PS_CLASS_TCP_ODD:
            return !class_fits_flags(PS_CLASS_TCP_SYN, flags) &&
                   !class_fits_flags(PS_CLASS_TCP_SYNACK, flags) &&
                   !class_fits_flags(PS_CLASS_TCP_RST, flags) &&
                   !class_fits_flags(PS_CLASS_TCP_OTHER, flags);
        default:
            return false;
    }
}

// One frame to send, and what the generator knows about it. An intact generated frame has a
// known family of classes it may land in (what it was built as: TCP lands in a TCP class,
// never MALFORMED); a mutated one may land anywhere but must still count as exactly one.
struct FuzzFrame {
    Frame bytes;
    std::string how;                   // shape and mutations, for the failure report
    std::set<unsigned> family;         // empty: any class
    std::optional<uint8_t> tcp_flags;  // intact TCP: the flags byte tcp_flags[] must move at
    std::optional<SrcKey> src;         // intact frame: the key of any src_stats entry it makes
};

std::set<unsigned> tcp_family() {
    return {PS_CLASS_TCP_SYN,    PS_CLASS_TCP_ODD, PS_CLASS_TCP_ACK_PROBE,
            PS_CLASS_TCP_SYNACK, PS_CLASS_TCP_RST, PS_CLASS_TCP_OTHER};
}

// Frames from a seeded PRNG. Sources are in 240.0.0.0/4 and 2001:db8::/32, destinations in
// TEST-NET: these frames never leave BPF_PROG_TEST_RUN, but must not name a real host.
class FrameGenerator {
public:
    explicit FrameGenerator(uint64_t seed) : rng_(seed) {}

    FuzzFrame valid();
    void mutate(FuzzFrame& f);
    uint32_t below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
    bool chance(unsigned percent) { return below(100) < percent; }

private:
    uint8_t byte() { return static_cast<uint8_t>(below(256)); }
    std::vector<uint8_t> bytes(std::size_t n);
    std::string src4();
    std::string src6();
    void l2(PacketBuilder& b, FuzzFrame& f);
    void ipv4(PacketBuilder& b, FuzzFrame& f);
    void ipv6(PacketBuilder& b, FuzzFrame& f);
    // raw_ok: the builder can name a raw payload's protocol (not after IPv6 extensions).
    void l4(PacketBuilder& b, FuzzFrame& f, bool v6, bool raw_ok = true);
    std::vector<uint8_t> tcp_options(std::string& how);
    std::vector<uint8_t> udp_payload();

    std::mt19937_64 rng_;
    unsigned vlan_tags_ = 0;
};

std::vector<uint8_t> FrameGenerator::bytes(std::size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& x : v) x = byte();
    return v;
}

std::string FrameGenerator::src4() {
    return std::to_string(240 + below(16)) + "." + std::to_string(below(256)) + "." +
           std::to_string(below(256)) + "." + std::to_string(1 + below(254));
}

std::string FrameGenerator::src6() {
    char s[64];
    snprintf(s, sizeof s, "2001:db8:%x:%x::%x", below(0x10000), below(0x10000), 1 + below(0xfffe));
    return s;
}

// 0 to 3 VLAN tags of either TPID; the program reads two, a third hides the payload.
void FrameGenerator::l2(PacketBuilder& b, FuzzFrame& f) {
    b.eth();
    vlan_tags_ = below(10) < 6 ? 0 : 1 + below(3);
    for (unsigned i = 0; i < vlan_tags_; ++i) {
        const uint16_t tpid = chance(50) ? 0x8100 : 0x88a8;
        b.vlan(static_cast<uint16_t>(below(0x10000)), tpid);
        f.how += tpid == 0x8100 ? "vlan " : "qinq ";
    }
}

void FrameGenerator::ipv4(PacketBuilder& b, FuzzFrame& f) {
    const std::string src = src4();
    b.ipv4(src, chance(50) ? kTarget4 : kTarget4b)
        .ttl(byte())
        .ip_id(static_cast<uint16_t>(below(0x10000)));
    const unsigned opt_words = chance(60) ? 0 : below(11);  // IHL 5..15
    if (opt_words) {
        std::vector<uint8_t> opts = bytes(opt_words * 4);
        if (chance(50)) std::fill(opts.begin(), opts.end(), 1);  // NOPs, as stacks pad
        b.ip_options(std::move(opts));
    }
    if (chance(50)) b.dont_fragment();
    f.how += "ipv4 ihl=" + std::to_string(5 + opt_words) + " ";
    f.src = v4_key(src);
    if (chance(10)) {  // a non-first fragment: no L4 header to read
        b.fragment(static_cast<uint16_t>(1 + below(0x1fff)), chance(50));
        b.protocol(chance(50) ? 6 : static_cast<uint8_t>(below(256)));
        b.payload(bytes(below(64)));
        f.how += "fragment";
        f.family = {PS_CLASS_FRAGMENT};
        return;
    }
    if (chance(10)) b.fragment(0, true);  // first fragment: parsed like a whole datagram
    l4(b, f, false);
}

void FrameGenerator::ipv6(PacketBuilder& b, FuzzFrame& f) {
    const std::string src = src6();
    b.ipv6(src, kTarget6).ttl(byte());
    f.how += "ipv6 ";
    f.src = v6_key(src);
    // An extension chain of every kind the parser walks; up to 10, past the program's limit.
    const unsigned n = chance(50) ? 0 : 1 + below(chance(90) ? 4 : 10);
    bool nonfirst_fragment = false;
    for (unsigned i = 0; i < n; ++i) {
        switch (below(5)) {
            case 0:
                b.hop_by_hop(static_cast<uint8_t>(below(4))), f.how += "hop ";
                break;
            case 1:
                b.routing(static_cast<uint8_t>(below(4))), f.how += "rt ";
                break;
            case 2:
                b.dest_opts(static_cast<uint8_t>(below(4))), f.how += "dst ";
                break;
            case 3:
                b.auth_header(static_cast<uint8_t>(below(6))), f.how += "ah ";
                break;
            default: {
                const uint16_t off = chance(70) ? 0 : static_cast<uint16_t>(1 + below(0x1fff));
                b.ipv6_fragment(off, chance(50), static_cast<uint32_t>(rng_()));
                f.how += off ? "frag+ " : "frag0 ";
                nonfirst_fragment = nonfirst_fragment || off;
            }
        }
    }
    l4(b, f, true, n == 0);
    if (nonfirst_fragment) f.family = {PS_CLASS_FRAGMENT}, f.tcp_flags.reset();
    // Past 4 headers the class depends on the program's chain limit: leave it open.
    if (n > 4) f.family.clear(), f.tcp_flags.reset();
}

std::vector<uint8_t> FrameGenerator::tcp_options(std::string& how) {
    switch (below(6)) {
        case 0:
            how += "opts=none ";
            return {};
        case 1:
            how += "opts=mss ";
            return tcpopt::mss(static_cast<uint16_t>(below(0x10000)));
        case 2:
            how += "opts=linux-syn ";
            return tcpopt::linux_syn();
        case 3:
            how += "opts=established ";
            return tcpopt::linux_established();
        case 4: {  // well-formed TLVs of random kinds
            how += "opts=tlv ";
            std::vector<uint8_t> o;
            while (o.size() < 32 && chance(70)) {
                const uint8_t len = static_cast<uint8_t>(2 + below(8));
                o.push_back(static_cast<uint8_t>(2 + below(254)));
                o.push_back(len);
                for (int i = 2; i < len; ++i) o.push_back(byte());
            }
            return o;
        }
        default:
            how += "opts=garbage ";
            return bytes(1 + below(40));
    }
}

// Payloads the UDP probe matcher peeks at, whole or cut short, or random bytes.
std::vector<uint8_t> FrameGenerator::udp_payload() {
    static const std::vector<std::string> signatures = {
        "d1:ad2:id20:abcdefghij0123456789",
        std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00"
                    "\x10\x00\x03",
                    30),
        std::string("\x17\x00\x03\x2a\x00\x00\x00\x00", 8),
        "M-SEARCH * HTTP/1.1\r\n",
        std::string("\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n", 15),
        std::string("\x00\x01\x00\x00\x00\x01\x00\x00version\r\n", 17),
        std::string("\x30\x26\x02\x01\x01\x04\x06public\xa0\x19", 16),
        std::string("\x30\x84\x00\x00\x00\x2d\x02\x01", 8),
        std::string("\x80\xf0\x00\x10\x00\x01\x00\x00\x00\x00\x00\x00\x20\x43\x4b", 15) +
            std::string(31, 'A') + std::string("\x00\x21\x00\x01", 4),
    };
    if (chance(50)) return bytes(below(64));
    const std::string& s = signatures[below(static_cast<uint32_t>(signatures.size()))];
    const std::size_t len = chance(70) ? s.size() : below(static_cast<uint32_t>(s.size()) + 1);
    return std::vector<uint8_t>(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(len));
}

void FrameGenerator::l4(PacketBuilder& b, FuzzFrame& f, bool v6, bool raw_ok) {
    const uint32_t pick = below(raw_ok ? 100 : 90);
    if (pick < 45) {  // TCP, every flags byte
        static const uint8_t common[] = {PS_TCP_SYN,
                                         PS_TCP_SYN | PS_TCP_ACK,
                                         PS_TCP_RST,
                                         PS_TCP_RST | PS_TCP_ACK,
                                         PS_TCP_ACK,
                                         PS_TCP_ACK | PS_TCP_FIN,
                                         PS_TCP_FIN,
                                         0,
                                         PS_TCP_FIN | PS_TCP_PSH | PS_TCP_URG,
                                         PS_TCP_SYN | PS_TCP_ECE | PS_TCP_CWR,
                                         PS_TCP_ACK | PS_TCP_PSH};
        const uint8_t flags = chance(50) ? common[below(sizeof common)] : byte();
        b.tcp(static_cast<uint16_t>(below(0x10000)), static_cast<uint16_t>(below(0x10000)), flags)
            .seq(static_cast<uint32_t>(rng_()))
            .ack_seq(static_cast<uint32_t>(rng_()))
            .window(chance(30) ? 1024 : static_cast<uint16_t>(below(0x10000)));
        f.how += "tcp flags=" + describe_flags(flags) + " ";
        std::vector<uint8_t> opts = tcp_options(f.how);
        if (!opts.empty()) b.tcp_options(std::move(opts));
        if (chance(30)) b.payload(bytes(below(64)));
        f.family = tcp_family();
        f.tcp_flags = flags;
    } else if (pick < 70) {
        static const uint16_t ports[] = {19, 53, 123, 137, 161, 389, 1900, 11211};
        const uint16_t dport = chance(60) ? ports[below(8)] : static_cast<uint16_t>(below(0x10000));
        b.udp(static_cast<uint16_t>(below(0x10000)), dport);
        std::vector<uint8_t> pl = udp_payload();
        if (!pl.empty()) b.payload(std::move(pl));
        f.how += "udp dport=" + std::to_string(dport);
        f.family = {PS_CLASS_UDP};
    } else if (pick < 90) {
        const uint8_t type = chance(30) ? (v6 ? 128 : 8) : byte();
        v6 ? b.icmp6(type, byte()) : b.icmp(type, byte());
        if (chance(50)) b.payload(bytes(below(48)));
        f.how += (v6 ? "icmp6 type=" : "icmp type=") + std::to_string(type);
        f.family = {PS_CLASS_ICMP_ECHO, PS_CLASS_ICMP_ERROR, PS_CLASS_ICMP_OTHER};
    } else {  // GRE, ESP, SCTP, or any protocol number the program has no parser for
        static const uint8_t protos[] = {47, 50, 132, 2, 41, 103};
        const uint8_t proto = chance(50) ? protos[below(6)] : byte();
        if (proto == 6 || proto == 17 || proto == 1 || proto == 58 || proto == 0 || proto == 43 ||
            proto == 44 || proto == 51 || proto == 60) {
            b.protocol(47);
            f.how += "proto=47";
        } else {
            b.protocol(proto);
            f.how += "proto=" + std::to_string(proto);
        }
        b.payload(bytes(below(48)));
        f.family = {PS_CLASS_OTHER_IP};
    }
}

FuzzFrame FrameGenerator::valid() {
    FuzzFrame f;
    PacketBuilder b;
    l2(b, f);
    const uint32_t pick = below(100);
    if (pick < 45) {
        ipv4(b, f);
    } else if (pick < 90) {
        ipv6(b, f);
    } else {  // ARP, LLDP, or any ethertype that is not IP or a VLAN tag
        static const uint16_t types[] = {0x0806, 0x88cc, 0x8035, 0x88e5, 0x8847, 0x0600};
        b.ethertype(types[below(6)]).payload(bytes(28 + below(36)));
        f.how += "non-ip";
        f.family = {PS_CLASS_NON_IP};
    }
    // A third tag hides the frame behind the program's two-tag limit: family left open.
    if (vlan_tags_ > 2) f.family.clear(), f.tcp_flags.reset();
    f.bytes = b.build();
    return f;
}

// One to three mutations; afterwards the generator knows nothing about the frame's class.
void FrameGenerator::mutate(FuzzFrame& f) {
    Frame& d = f.bytes;
    const unsigned rounds = 1 + below(3);
    for (unsigned r = 0; r < rounds; ++r) {
        switch (below(6)) {
            case 0: {  // truncation, down to below an Ethernet header
                const std::size_t n = 1 + below(static_cast<uint32_t>(d.size()));
                d.resize(n);
                f.how += " | cut@" + std::to_string(n);
                break;
            }
            case 1:    // bit flips anywhere, or
            case 2: {  // in the first 96 bytes, where they change the parse
                const std::size_t limit = below(2) ? d.size() : 96;
                const uint32_t span = static_cast<uint32_t>(std::min(d.size(), limit));
                for (unsigned i = 0, n = 1 + below(8); i < n; ++i) {
                    const uint32_t pos = below(span);
                    d[pos] ^= static_cast<uint8_t>(1u << below(8));
                    f.how += " | flip@" + std::to_string(pos);
                }
                break;
            }
            case 3: {  // random bytes over the headers
                for (unsigned i = 0, n = 1 + below(4); i < n; ++i) {
                    const uint32_t pos =
                        below(static_cast<uint32_t>(std::min<std::size_t>(d.size(), 96)));
                    d[pos] = byte();
                    f.how += " | byte@" + std::to_string(pos);
                }
                break;
            }
            case 4: {  // trailing garbage: padding, or more than the length fields announce
                const std::vector<uint8_t> tail = bytes(1 + below(64));
                d.insert(d.end(), tail.begin(), tail.end());
                f.how += " | tail+" + std::to_string(tail.size());
                break;
            }
            default: {  // nothing but random bytes behind an IP, IPv6 or VLAN ethertype
                static const uint16_t types[] = {0x0800, 0x86dd, 0x8100, 0x88a8};
                d = bytes(14 + below(200));
                const uint16_t t = types[below(4)];
                d[12] = static_cast<uint8_t>(t >> 8);
                d[13] = static_cast<uint8_t>(t);
                f.how = "random after ethertype " + std::to_string(t);
            }
        }
    }
    f.family.clear();
    f.tcp_flags.reset();
    f.src.reset();
}

class XdpFuzzTest : public XdpProgramTest {
protected:
    // Runs one frame; returns an explanation of the first broken invariant, or "".
    std::string run_and_check(const FuzzFrame& f, uint64_t clock);

    TotalsSnapshot last_{};
    uint64_t counted_ = 0;      // frames the program ran on
    uint64_t port_probes_ = 0;  // TCP/UDP probe frames since the last port check
};

std::string XdpFuzzTest::run_and_check(const FuzzFrame& f, uint64_t clock) {
    std::ostringstream why;
    const RunResult r = timed_run(f.bytes, clock);
    const TotalsSnapshot now = totals();
    const TotalsSnapshot d = now - last_;
    last_ = now;
    if (f.bytes.size() < 14) {  // refused before the program runs (run_timed_frame, as the kernel)
        if (r.err != -EINVAL) why << "test run of a runt frame returned " << r.err;
        if (d.packets) why << "a refused frame was counted";
        return why.str();
    }
    ++counted_;
    if (r.err != 0) return "BPF_PROG_TEST_RUN failed: " + std::to_string(r.err);
    if (r.retval != XDP_PASS) return "verdict " + std::to_string(r.retval) + ", not XDP_PASS";
    if (d.packets != 1) why << "packets moved by " << d.packets << "; ";
    if (d.bytes != f.bytes.size()) why << "bytes moved by " << d.bytes << "; ";
    std::vector<unsigned> moved;
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c)
        if (d.classes[c]) moved.push_back(c);
    if (moved.size() != 1 || d.classes[moved[0]] != 1) {
        why << "class counters moved:";
        for (unsigned c : moved) why << " " << class_name(c) << "+" << d.classes[c];
        return why.str();
    }
    const unsigned cls = moved[0];
    if (!f.family.empty() && !f.family.count(cls))
        why << "an intact frame landed in " << class_name(cls) << "; ";

    // tcp_flags[]: one step for TCP classes, at a flags byte that fits the class; none else.
    uint64_t flag_steps = 0;
    int flag_at = -1;
    for (unsigned i = 0; i < 256; ++i)
        if (d.tcp_flags[i]) flag_steps += d.tcp_flags[i], flag_at = static_cast<int>(i);
    if (flag_steps != (is_tcp_class(cls) ? 1u : 0u))
        why << "tcp_flags moved by " << flag_steps << " for " << class_name(cls) << "; ";
    else if (flag_steps && !class_fits_flags(cls, static_cast<uint8_t>(flag_at)))
        why << "class " << class_name(cls) << " counted at flags "
            << describe_flags(static_cast<uint8_t>(flag_at)) << "; ";
    if (flag_steps == 1 && f.tcp_flags && flag_at != *f.tcp_flags)
        why << "tcp_flags moved at " << flag_at << ", the frame's flags are " << int(*f.tcp_flags)
            << "; ";

    // src_stats: drained after every frame, so whatever is there now is this frame's doing.
    const auto sources = drain_sources();
    const bool tracked = cls < PS_SRC_CLASS_COUNT;
    if (d.src_insert_failed) why << "src_stats insert failed in a near-empty map; ";
    if (sources.size() != (tracked ? 1u : 0u) ||
        d.src_inserts + d.src_pending != (tracked ? 1u : 0u))
        why << class_name(cls) << " left " << sources.size() << " source entries (" << d.src_inserts
            << " inserts, " << d.src_pending << " waiting in src_pending); ";
    for (const auto& [key, s] : sources) {
        for (unsigned c = 0; c < PS_SRC_CLASS_COUNT; ++c)
            if (s.pkts[c] != (c == cls ? 1u : 0u))
                why << "source pkts[" << class_name(c) << "] = " << s.pkts[c] << " for a "
                    << class_name(cls) << " frame; ";
        if (f.src && key != *f.src)
            why << "source entry " << key_text(key) << ", the frame's source is "
                << key_text(*f.src) << "; ";
    }
    if (cls == PS_CLASS_TCP_SYN || cls == PS_CLASS_TCP_ODD || cls == PS_CLASS_TCP_ACK_PROBE ||
        cls == PS_CLASS_UDP)
        ++port_probes_;
    return why.str();
}

// Every frame: verdict XDP_PASS, one class counter up by one and no other, tcp_flags only for
// TCP classes, a source entry only for tracked classes and only at the frame's class. Every
// batch: port_stats moved once per TCP/UDP probe. At the end: the classes add up to the frames.
TEST_F(XdpFuzzTest, RandomAndMutatedFramesKeepEveryCounterInvariant) {
    const uint64_t frames = env_u64("FUZZ_FRAMES", 200000);
    const uint64_t seed = env_u64("FUZZ_SEED", 0x70726f6265);
    std::cout << "xdp fuzz: seed " << seed << ", " << frames
              << " frames (FUZZ_SEED and FUZZ_FRAMES override)\n";
    FrameGenerator gen(seed);
    moved_ports();  // baseline: nothing yet
    uint64_t sent = 0, mutated = 0, sweeps = 0, next_port_check = 4096;
    const auto start = std::chrono::steady_clock::now();

    // Runs one frame; on the first broken invariant, reports what reproduces it and stops.
    auto one = [&](const FuzzFrame& f) {
        const std::string why = run_and_check(f, ++sent);
        if (why.empty()) return true;
        ADD_FAILURE() << "frame " << sent << " (seed " << seed << "): " << why
                      << "\n  built as: " << f.how << "\n  " << f.bytes.size() << " bytes:\n"
                      << hex(f.bytes);
        return false;
    };
    auto check_batch = [&]() {
        uint64_t port_steps = 0;
        for (const PortSample& p : moved_ports()) port_steps += p.packets;
        EXPECT_EQ(port_steps, port_probes_)
            << "port_stats must move once per TCP/UDP probe (frames up to " << sent << ")";
        // And per batch, the per-CPU totals summed: every run frame counted once, in one class.
        EXPECT_EQ(last_.packets, counted_) << "frames up to " << sent;
        const bool ok = port_steps == port_probes_ && last_.packets == counted_;
        port_probes_ = 0;
        return ok;
    };

    while (sent < frames) {
        FuzzFrame f = gen.valid();
        if (gen.below(256) == 0) {  // a truncation sweep: every length of this frame
            ++sweeps;
            for (std::size_t len = 1; len < f.bytes.size() && sent < frames; ++len) {
                FuzzFrame cut{Frame(f.bytes.begin(), f.bytes.begin() + static_cast<long>(len)),
                              f.how + " | cut@" + std::to_string(len),
                              {},
                              {},
                              {}};
                if (!one(cut)) return;
            }
        }
        if (sent == frames) break;
        if (gen.chance(60)) gen.mutate(f), ++mutated;
        if (!one(f)) return;
        if (sent >= next_port_check) {
            if (!check_batch()) return;
            next_port_check = sent + 4096;
        }
    }
    if (!check_batch()) return;

    const TotalsSnapshot t = totals();
    EXPECT_EQ(t.packets, counted_) << "every frame of 14 bytes or more is counted once";
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "xdp fuzz: " << sent << " frames (" << mutated << " mutated, " << sweeps
              << " truncation sweeps, " << sent - counted_ << " runts refused) in " << secs
              << " s: " << static_cast<uint64_t>(sent / secs) << " frames/s\n";
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c)
        std::cout << "  " << class_name(c) << ": " << t.classes[c] << "\n";
}

}  // namespace
}  // namespace probescope::test
