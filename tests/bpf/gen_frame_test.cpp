// The benchmark generator's frames (bpf/gen_frame.h): what its two senders put on the wire.
// The AF_PACKET sender writes them in user space, the live sender in bpf/gen_redirect.bpf.c;
// both must be the SYNs the mix promises, byte for byte, with checksums a receiver accepts.
#include "gen_frame.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "gen_redirect.skel.h"
#include "packet_builder.h"

namespace probescope::test {
namespace {

constexpr uint32_t kScanBase = 0xc633640b;  // 198.51.100.11
constexpr uint32_t kTarget = 0xc6336402;    // 198.51.100.2
constexpr uint8_t kTarget6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

gen_config config(uint32_t scan_permille, uint32_t v6_permille) {
    gen_config c{};
    c.scan_src_base = kScanBase;
    c.scan_src_count = 30;
    c.scan_dst = kTarget;
    c.scan_port_lo = 1;
    c.scan_port_count = 1024;
    c.flood_port = 80;
    c.scan_permille = scan_permille;
    c.v6_permille = v6_permille;
    memcpy(c.scan_dst6, kTarget6, 16);
    return c;
}

std::string v4_text(uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string(a >> 16 & 0xff) + "." +
           std::to_string(a >> 8 & 0xff) + "." + std::to_string(a & 0xff);
}

std::string v6_text(const uint8_t* a) {
    char buf[64];
    snprintf(buf, sizeof(buf), "%x:%x:%x:%x:%x:%x:%x:%x", a[0] << 8 | a[1], a[2] << 8 | a[3],
             a[4] << 8 | a[5], a[6] << 8 | a[7], a[8] << 8 | a[9], a[10] << 8 | a[11],
             a[12] << 8 | a[13], a[14] << 8 | a[15]);
    return buf;
}

std::string hex(const std::vector<uint8_t>& f, size_t from, size_t to) {
    std::string out;
    char b[3];
    for (size_t i = from; i < to && i < f.size(); ++i) {
        snprintf(b, sizeof(b), "%02x", f[i]);
        out += b;
    }
    return out;
}

uint32_t get32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// RFC 1071, on its own: the ones' complement sum over the pseudo header and the segment,
// checksum included, folds to 0xffff when the checksum is right.
uint32_t sum16(const uint8_t* p, size_t n) {
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2) s += get16(p + i);
    return s;
}
bool tcp_checksum_ok(const std::vector<uint8_t>& f) {
    uint32_t s;
    const uint8_t* tcp;
    if (get16(&f[12]) == 0x0800) {
        s = sum16(&f[26], 8) + 6 + GEN_TCP_LEN;
        tcp = &f[14 + GEN_IP4_LEN];
    } else {
        s = sum16(&f[22], 32) + 6 + GEN_TCP_LEN;
        tcp = &f[14 + GEN_IP6_LEN];
    }
    s += sum16(tcp, GEN_TCP_LEN);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return s == 0xffff;
}

// The frame a generated one must equal (TCP checksum aside: PacketBuilder leaves it zero),
// built by the tests' own builder from the fields read back out of it.
Frame expected_from_fields(const std::vector<uint8_t>& f) {
    PacketBuilder b;
    b.eth();
    size_t tcp;
    if (get16(&f[12]) == 0x0800) {
        b.ipv4(v4_text(get32(&f[26])), v4_text(get32(&f[30]))).ttl(48).ip_id(get16(&f[18]));
        tcp = 14 + GEN_IP4_LEN;
    } else {
        b.ipv6(v6_text(&f[22]), v6_text(&f[38])).ttl(48);
        tcp = 14 + GEN_IP6_LEN;
    }
    b.tcp(get16(&f[tcp]), get16(&f[tcp + 2]), 0x02)
        .seq(get32(&f[tcp + 4]))
        .window(1024)
        .tcp_options(tcpopt::mss(1460));
    return b.build();
}

// The bytes from the EtherType to the end of the L4 header, TCP checksum zeroed.
std::vector<uint8_t> headers(const std::vector<uint8_t>& f) {
    size_t end = 14 + (get16(&f[12]) == 0x0800 ? GEN_IP4_LEN : GEN_IP6_LEN) + GEN_TCP_LEN;
    std::vector<uint8_t> h(f.begin() + 12, f.begin() + static_cast<long>(end));
    h[end - 12 - GEN_TCP_LEN + 16] = h[end - 12 - GEN_TCP_LEN + 17] = 0;
    return h;
}

std::vector<uint8_t> user_frame(const gen_config& c, uint64_t n, __u64& scan_next,
                                const std::array<__u32, GEN_RANDOM_WORDS>& rnd, uint32_t* mode) {
    std::vector<uint8_t> f(GEN_FRAME_LEN, 0);
    *mode = gen_mode_of(&c, n);
    gen_frame(f.data(), &c, *mode, &scan_next, rnd.data());
    return f;
}

TEST(GenFrame, ScanFramesWalkTheScannersAndTheirPorts) {
    gen_config c = config(1000, 0);
    __u64 scan_next = 0;
    const std::array<__u32, GEN_RANDOM_WORDS> rnd{1, 2, 3, 4, 5};
    for (uint64_t n = 0; n < 65; ++n) {
        uint32_t mode;
        std::vector<uint8_t> f = user_frame(c, n, scan_next, rnd, &mode);
        ASSERT_EQ(mode, GEN_SCAN_V4);
        uint32_t who = static_cast<uint32_t>(n % 30);
        // The scanner, its one source port and seq, the port it has reached.
        EXPECT_EQ(get32(&f[26]), kScanBase + who) << n;
        EXPECT_EQ(get32(&f[30]), kTarget);
        EXPECT_EQ(get16(&f[34]), 40000 + who);
        EXPECT_EQ(get16(&f[36]), 1 + n / 30);
        EXPECT_EQ(get32(&f[38]), 0x5c0ffee0 + who);
        EXPECT_EQ(headers(f), headers(expected_from_fields(f))) << n;
        EXPECT_TRUE(tcp_checksum_ok(f)) << n;
    }
    EXPECT_EQ(scan_next, 65u);
}

TEST(GenFrame, FloodFramesTakeTheirRandomness) {
    gen_config c = config(0, 500);
    __u64 scan_next = 0;
    const std::array<__u32, GEN_RANDOM_WORDS> rnd{0x12345678, 0x9abcdef0, 0xdeadbeef, 59999,
                                                  0xfeedface};
    uint32_t mode;
    std::vector<uint8_t> v6 = user_frame(c, 1000 * 7 + 499, scan_next, rnd, &mode);
    ASSERT_EQ(mode, GEN_FLOOD_V6);
    EXPECT_EQ(v6_text(&v6[22]), "2001:db8:1234:5678:9abc:def0:dead:beef");
    EXPECT_EQ(get16(&v6[54]), 1024 + 59999 % 60000);
    EXPECT_EQ(get16(&v6[56]), 80);
    EXPECT_EQ(get32(&v6[58]), 0xfeedfaceu);
    EXPECT_EQ(headers(v6), headers(expected_from_fields(v6)));
    EXPECT_TRUE(tcp_checksum_ok(v6));

    std::vector<uint8_t> v4 = user_frame(c, 1000 * 7 + 500, scan_next, rnd, &mode);
    ASSERT_EQ(mode, GEN_FLOOD_V4);
    EXPECT_EQ(get32(&v4[26]), 0xf2345678u);  // 240.0.0.0/4
    EXPECT_EQ(get16(&v4[34]), 1024 + 0x9abcdef0u % 60000);
    EXPECT_EQ(get16(&v4[36]), 80);
    EXPECT_EQ(get32(&v4[38]), 0xdeadbeefu);
    EXPECT_EQ(get16(&v4[18]), 0xbeef);  // IP ID: the seq's low half
    EXPECT_EQ(headers(v4), headers(expected_from_fields(v4)));
    EXPECT_TRUE(tcp_checksum_ok(v4));
    EXPECT_EQ(scan_next, 0u);
}

TEST(GenFrame, TheMixIsLaidOutPerThousand) {
    gen_config c = config(50, 100);
    uint64_t modes[GEN_MODE_COUNT] = {};
    for (uint64_t n = 0; n < 3000; ++n) modes[gen_mode_of(&c, n)]++;
    EXPECT_EQ(modes[GEN_SCAN_V4], 150u);
    EXPECT_EQ(modes[GEN_FLOOD_V6], 300u);
    EXPECT_EQ(modes[GEN_FLOOD_V4], 2550u);
    EXPECT_EQ(gen_mode_of(&c, 1049), GEN_SCAN_V4);
    EXPECT_EQ(gen_mode_of(&c, 1050), GEN_FLOOD_V6);
    EXPECT_EQ(gen_mode_of(&c, 1150), GEN_FLOOD_V4);
}

// The live sender's program writes the same frames: run it in the kernel, one frame per test
// run (without live frames: the frame comes back instead of leaving).
class GenRedirectTest : public ::testing::Test {
protected:
    void load(const gen_config& c) {
        skel_.reset(gen_redirect_bpf__open());
        ASSERT_TRUE(skel_);
        skel_->rodata->out_ifindex = 1;
        *const_cast<gen_config*>(&skel_->rodata->cfg) = c;
        ASSERT_EQ(gen_redirect_bpf__load(skel_.get()), 0);
    }
    std::vector<uint8_t> run_one() {
        std::vector<uint8_t> in(GEN_FRAME_LEN, 0xee), out(GEN_FRAME_LEN + 64, 0);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
                    .data_size_in = static_cast<uint32_t>(in.size()),
                    .data_size_out = static_cast<uint32_t>(out.size()), .repeat = 1);
        EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.gen_redirect), &opts), 0);
        EXPECT_EQ(opts.retval, static_cast<uint32_t>(XDP_REDIRECT));
        out.resize(opts.data_size_out);
        return out;
    }
    std::unique_ptr<gen_redirect_bpf, void (*)(gen_redirect_bpf*)> skel_{nullptr,
                                                                         gen_redirect_bpf__destroy};
};

TEST_F(GenRedirectTest, ScanFramesEqualTheUserSpaceOnes) {
    gen_config c = config(1000, 0);
    load(c);
    __u64 scan_next = 0;
    const std::array<__u32, GEN_RANDOM_WORDS> rnd{};
    for (uint64_t n = 0; n < 40; ++n) {
        std::vector<uint8_t> kernel = run_one();
        ASSERT_EQ(kernel.size(), size_t{GEN_FRAME_LEN});
        uint32_t mode;
        std::vector<uint8_t> user = user_frame(c, n, scan_next, rnd, &mode);
        // From the EtherType to the end of the TCP header: the rest is padding.
        EXPECT_EQ(hex(user, 12, 58), hex(kernel, 12, 58)) << n;
    }
    EXPECT_EQ(skel_->bss->frames[GEN_SCAN_V4], 40u);
    EXPECT_EQ(skel_->bss->scan_next, 40u);
}

TEST_F(GenRedirectTest, FloodFramesAreValidSyns) {
    load(config(0, 500));
    std::vector<uint8_t> v6 = run_one();
    for (int n = 1; n < 500; ++n) run_one();
    std::vector<uint8_t> v4 = run_one();
    ASSERT_EQ(get16(&v6[12]), 0x86dd);
    ASSERT_EQ(get16(&v4[12]), 0x0800);
    EXPECT_EQ(get32(&v6[22]), 0x20010db8u);
    EXPECT_EQ(get32(&v4[26]) >> 28, 0xfu);
    EXPECT_EQ(headers(v6), headers(expected_from_fields(v6)));
    EXPECT_EQ(headers(v4), headers(expected_from_fields(v4)));
    EXPECT_TRUE(tcp_checksum_ok(v6));
    EXPECT_TRUE(tcp_checksum_ok(v4));
    EXPECT_EQ(skel_->bss->frames[GEN_FLOOD_V6], 500u);
    EXPECT_EQ(skel_->bss->frames[GEN_FLOOD_V4], 1u);
}

}  // namespace
}  // namespace probescope::test
