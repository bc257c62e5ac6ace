// The BPF test fixture: loading, BPF_PROG_TEST_RUN and the exact-counter expectations tests share.
#include "xdp_fixture.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <vector>

#include "addr.h"
#include "mapped_array.h"
#include "names.h"

namespace probescope::test {

PacketBuilder v4_frame() { return std::move(PacketBuilder().eth().ipv4(kScanner4, kTarget4)); }
PacketBuilder v6_frame() { return std::move(PacketBuilder().eth().ipv6(kScanner6, kTarget6)); }

SrcKey v4_key(const std::string& addr) { return v4_mapped(ipv4_addr(addr)); }
SrcKey v6_key(const std::string& addr) { return ipv6_addr(addr); }

uint32_t dst_slot_value(const SrcKey& dst) {
    const uint32_t folded = ps_fold_addr(dst.data());
    return folded ? folded : 1;
}

// Zeroes every counter, removes every source and clears every port: a loaded program as if
// just loaded, for the next test.
static void reset_maps(const LoadedProgram& prog) {
    const uint32_t zero = 0;
    const int cpus = libbpf_num_possible_cpus();
    ASSERT_GT(cpus, 0);
    const size_t per_cpu = (sizeof(ps_totals) + 7) / 8 * 8;
    std::vector<uint8_t> totals(per_cpu * static_cast<size_t>(cpus), 0);
    ASSERT_EQ(bpf_map_update_elem(prog.totals_fd(), &zero, totals.data(), BPF_ANY), 0);

    std::vector<ps_src_key> keys;
    ps_src_key key{}, next{};
    for (const void* prev = nullptr; bpf_map_get_next_key(prog.src_stats_fd(), prev, &next) == 0;
         prev = &key) {
        keys.push_back(next);
        key = next;
    }
    for (const auto& k : keys) ASSERT_EQ(bpf_map_delete_elem(prog.src_stats_fd(), &k), 0);

    MappedArray ports(prog.port_stats_fd(), sizeof(ps_port_stats), true, "port_stats");
    std::memset(ports.as<void>(), 0, ports.bytes());
    MappedArray port_pkts(prog.port_pkts_fd(), sizeof(uint64_t), true, "port_pkts");
    std::memset(port_pkts.as<void>(), 0, port_pkts.bytes());
    MappedArray pending(prog.src_pending_fd(), sizeof(ps_pending), true, "src_pending");
    std::memset(pending.as<void>(), 0, pending.bytes());
}

void XdpProgramTest::SetUp() {
    if (geteuid() != 0) GTEST_SKIP() << "loading XDP programs needs root";
    // One load per test process: the verifier takes seconds over this program here, and
    // minutes under emulation (vmtest). Every test starts from zeroed maps all the same.
    static std::unique_ptr<LoadedProgram> shared;
    if (!shared) shared = LoadedProgram::load({kMaxSources, PS_CLOCK_USER, "", {}});
    ASSERT_NO_FATAL_FAILURE(reset_maps(*shared));
    program_ = shared.get();
    drain_ = std::make_unique<MapDrain>(program_->map_fds(), program_->src_capacity());
}

RunResult XdpProgramTest::test_run(const Frame& frame) {
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.repeat = 1;
    RunResult r;
    r.err = bpf_prog_test_run_opts(program_->prog_fd(), &opts);
    r.retval = opts.retval;
    return r;
}

RunResult XdpProgramTest::timed_run(const Frame& frame, uint64_t clock_ns) {
    const int ret = run_timed_frame(program_->prog_fd(), frame, clock_ns);
    RunResult r;
    if (ret < 0)
        r.err = ret;
    else
        r.retval = static_cast<uint32_t>(ret);
    return r;
}

void XdpProgramTest::send(const Frame& frame, uint64_t clock_ns) {
    const RunResult r = timed_run(frame, clock_ns);
    ASSERT_EQ(r.err, 0) << "BPF_PROG_TEST_RUN failed on a " << frame.size() << "-byte frame";
    ASSERT_EQ(r.retval, static_cast<uint32_t>(XDP_PASS)) << "probescope must never drop a frame";
}

std::map<SrcKey, ps_src_stats> XdpProgramTest::drain_sources() { return drain_by_source(*drain_); }

std::map<SrcKey, ps_src_stats> drain_by_source(MapDrain& drain) {
    SourceSamples samples;
    drain.drain_sources(samples);
    std::map<SrcKey, ps_src_stats> by_key;
    for (size_t i = 0; i < samples.size(); ++i) {
        SrcKey k;
        std::copy(std::begin(samples.key(i).addr), std::end(samples.key(i).addr), k.begin());
        EXPECT_TRUE(by_key.emplace(k, samples.stats(i)).second)
            << "source drained twice: " << key_text(k);
    }
    return by_key;
}

std::vector<PortSample> XdpProgramTest::moved_ports() {
    std::vector<PortSample> out;
    drain_->read_ports(out);
    return out;
}

void expect_only_class(const TotalsSnapshot& t, ps_class cls, uint64_t n) {
    EXPECT_EQ(t.packets, n);
    for (unsigned c = 0; c < PS_CLASS_COUNT; ++c)
        EXPECT_EQ(t.classes[c], c == static_cast<unsigned>(cls) ? n : 0)
            << "class " << class_name(c) << " (expected only " << class_name(cls) << ")";
}

void expect_tcp_flags(const TotalsSnapshot& t, const std::map<uint8_t, uint64_t>& expected) {
    for (unsigned f = 0; f < 256; ++f) {
        const auto it = expected.find(static_cast<uint8_t>(f));
        EXPECT_EQ(t.tcp_flags[f], it == expected.end() ? 0 : it->second)
            << "tcp_flags[" << describe_flags(static_cast<uint8_t>(f)) << "]";
    }
}

void expect_port_slots(const ps_src_stats& s,
                       const std::vector<std::pair<uint32_t, uint32_t>>& slots) {
    for (unsigned i = 0; i < PS_EXACT_PORTS; ++i) {
        const auto [item, pkts] = i < slots.size() ? slots[i] : std::pair<uint32_t, uint32_t>{};
        EXPECT_EQ(s.port_slots[i], item) << "port_slots[" << i << "]";
        EXPECT_EQ(s.port_slot_pkts[i], pkts) << "port_slot_pkts[" << i << "]";
    }
}

void expect_dst_slots(const ps_src_stats& s, const std::vector<uint32_t>& slots) {
    for (unsigned i = 0; i < PS_EXACT_DSTS; ++i)
        EXPECT_EQ(s.dst_slots[i], i < slots.size() ? slots[i] : 0u) << "dst_slots[" << i << "]";
}

void expect_src_pkts(const ps_src_stats& s, const std::map<ps_class, uint32_t>& expected) {
    for (unsigned c = 0; c < PS_SRC_CLASS_COUNT; ++c) {
        const auto it = expected.find(static_cast<ps_class>(c));
        EXPECT_EQ(s.pkts[c], it == expected.end() ? 0u : it->second)
            << "pkts[" << class_name(c) << "]";
    }
}

std::array<uint8_t, PS_HLL_BYTES> reference_hll(const std::vector<uint32_t>& items) {
    std::array<uint8_t, PS_HLL_REGS> regs{};
    for (uint32_t item : items) {
        const uint32_t hash = ps_mix32(item);
        const uint32_t rest = hash << PS_HLL_P;
        const unsigned rank =
            std::min<unsigned>(rest ? std::countl_zero(rest) + 1 : 33, PS_HLL_MAX_RANK);
        uint8_t& reg = regs[hash >> (32 - PS_HLL_P)];
        reg = std::max<uint8_t>(reg, static_cast<uint8_t>(rank));
    }
    std::array<uint8_t, PS_HLL_BYTES> packed{};
    for (unsigned i = 0; i < PS_HLL_BYTES; ++i)
        packed[i] =
            static_cast<uint8_t>(regs[2 * i] | regs[2 * i + 1] << 4);  // even index: low nibble
    return packed;
}

std::string key_text(const SrcKey& k) { return format_addr(k.data()); }

std::string describe_flags(uint8_t flags) {
    char hex[8];
    snprintf(hex, sizeof hex, "0x%02x", flags);
    return std::string(hex) + " " + tcp_flags_name(flags);
}

}  // namespace probescope::test
