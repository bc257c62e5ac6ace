// The BPF test fixture: the real XDP program (loaded once, its maps zeroed for each test),
// frames in, exact map contents out.
#pragma once
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "interval.h"
#include "map_drain.h"
#include "packet_builder.h"
#include "probescope/abi.h"
#include "xdp_session.h"

namespace probescope::test {

using SrcKey = std::array<uint8_t, 16>;

// TEST-NET addresses only: these frames never leave BPF_PROG_TEST_RUN, but if one were
// ever captured by mistake it must not name a real host.
inline constexpr const char* kScanner4 = "192.0.2.10";
inline constexpr const char* kScanner4b = "192.0.2.11";
inline constexpr const char* kScanner4c = "203.0.113.5";
inline constexpr const char* kTarget4 = "198.51.100.7";
inline constexpr const char* kTarget4b = "198.51.100.8";
inline constexpr const char* kScanner6 = "2001:db8:bad::10";
inline constexpr const char* kTarget6 = "2001:db8:1::7";
inline constexpr uint16_t kScannerPort = 40000;

// A frame already carrying Ethernet and the IP header from the scanner to the target.
PacketBuilder v4_frame();
PacketBuilder v6_frame();

SrcKey v4_key(const std::string& addr);  // ::ffff:a.b.c.d, as the program stores it
SrcKey v6_key(const std::string& addr);
// The 32-bit destination fold the program puts in dst_slots (0 is stored as 1).
uint32_t dst_slot_value(const SrcKey& dst);

// What one BPF_PROG_TEST_RUN returned.
struct RunResult {
    int err = 0;          // libbpf's return: 0 or -errno
    uint32_t retval = 0;  // the XDP verdict
};

class XdpProgramTest : public ::testing::Test {
protected:
    static constexpr uint32_t kMaxSources = 1024;

    void SetUp() override;

    // Raw test run, for the cases where the kernel is expected to refuse the frame.
    RunResult test_run(const Frame& frame);
    // The frame at capture time clock_ns, as replay runs it (run_timed_frame).
    RunResult timed_run(const Frame& frame, uint64_t clock_ns);
    // Runs the frame at probescope clock clock_ns; fails the test unless the verdict is XDP_PASS.
    void send(const Frame& frame, uint64_t clock_ns);

    TotalsSnapshot totals() const { return drain_->read_totals(); }
    // Drains src_stats (destructive): the map is empty afterwards.
    std::map<SrcKey, ps_src_stats> drain_sources();
    // Ports whose counter moved since the previous call.
    std::vector<PortSample> moved_ports();

    LoadedProgram* program_ = nullptr;  // loaded once per process, its maps reset per test
    std::unique_ptr<MapDrain> drain_;
};

// Exactly n frames of class cls and nothing else.
void expect_only_class(const TotalsSnapshot& t, ps_class cls, uint64_t n);
// tcp_flags[] holds exactly these counts and zero everywhere else.
void expect_tcp_flags(const TotalsSnapshot& t, const std::map<uint8_t, uint64_t>& expected);
// Every field of the port slot set: the given (item, packets) pairs in order, then empty.
void expect_port_slots(const ps_src_stats& s,
                       const std::vector<std::pair<uint32_t, uint32_t>>& slots);
void expect_dst_slots(const ps_src_stats& s, const std::vector<uint32_t>& slots);
// Per-source class counters: exactly these and zero elsewhere.
void expect_src_pkts(const ps_src_stats& s, const std::map<ps_class, uint32_t>& expected);

// Packed HLL registers as the ABI defines them, built in user space from the items: the
// kernel's registers must equal this byte for byte.
std::array<uint8_t, PS_HLL_BYTES> reference_hll(const std::vector<uint32_t>& items);

std::string key_text(const SrcKey& k);
// Drains src_stats and src_pending (destructive), by source; a source drained twice fails.
std::map<SrcKey, ps_src_stats> drain_by_source(MapDrain& drain);
std::string describe_flags(uint8_t flags);

}  // namespace probescope::test
