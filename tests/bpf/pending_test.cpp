// src_pending: a source's first probe waits in an mmapped slot instead of a src_stats insert.
// Whatever path a source takes (waiting, promoted by its second probe, inserted at once because
// its slot was taken, or both at once after a race), its drained counters must be the same.
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "error.h"
#include "mapped_array.h"
#include "probescope/track.h"
#include "xdp_fixture.h"

namespace probescope::test {
namespace {

constexpr uint8_t SYN = PS_TCP_SYN, ACK = PS_TCP_ACK, RST = PS_TCP_RST,
                  XMAS = PS_TCP_FIN | PS_TCP_PSH | PS_TCP_URG;

uint32_t slot_of(const std::string& v4, uint32_t slots) {
    return ps_pending_slot(v4_key(v4).data(), slots - 1);
}

// TEST-NET addresses: the i-th of 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24.
std::string test_net(unsigned i) {
    static const char* nets[] = {"192.0.2.", "198.51.100.", "203.0.113."};
    return nets[(i / 254) % 3] + std::to_string(1 + i % 254);
}

class PendingTest : public XdpProgramTest {
protected:
    void SetUp() override {
        XdpProgramTest::SetUp();
        if (IsSkipped()) return;
        slots_ = drain_->pending_slots();
        ASSERT_EQ(slots_, pending_slots_for(kMaxSources));
        // A waits in an empty slot; B's slot is held by the blocker C, so B is inserted at once.
        a_ = test_net(0);
        for (unsigned i = 1; i < 3 * 254 && c_.empty(); ++i)
            for (unsigned j = i + 1; j < 3 * 254 && c_.empty(); ++j)
                if (slot_of(test_net(i), slots_) == slot_of(test_net(j), slots_) &&
                    slot_of(test_net(i), slots_) != slot_of(a_, slots_))
                    b_ = test_net(i), c_ = test_net(j);
        ASSERT_FALSE(c_.empty()) << "no two TEST-NET sources share a slot of " << slots_;
    }

    // The stats of A (through src_pending) and of B (straight into src_stats) after the same
    // frames, built by make(source).
    std::pair<ps_src_stats, ps_src_stats> both_paths(
        const std::vector<std::function<Frame(const std::string&)>>& frames) {
        send(PacketBuilder().eth().ipv4(c_.c_str(), kTarget4).tcp(kScannerPort, 9, SYN), 5);
        uint64_t clock = 100;
        for (const auto& make : frames) {
            send(make(a_), clock);
            send(make(b_), clock);
            clock += 100;
        }
        auto sources = drain_sources();
        EXPECT_EQ(sources.size(), 3u);
        return {sources[v4_key(a_)], sources[v4_key(b_)]};
    }

    uint32_t slots_ = 0;
    std::string a_, b_, c_;
};

void expect_same_stats(const ps_src_stats& a, const ps_src_stats& b) {
    EXPECT_EQ(memcmp(&a, &b, sizeof(a)), 0);
    EXPECT_EQ(a.first_seen_ns, b.first_seen_ns);
    EXPECT_EQ(a.last_seen_ns, b.last_seen_ns);
    for (unsigned c = 0; c < PS_SRC_CLASS_COUNT; ++c) EXPECT_EQ(a.pkts[c], b.pkts[c]) << c;
    for (unsigned t = 0; t < PS_TECH_COUNT; ++t) EXPECT_EQ(a.technique[t], b.technique[t]) << t;
    for (unsigned f = 0; f < PS_FP_COUNT; ++f) EXPECT_EQ(a.fp_hits[f], b.fp_hits[f]) << f;
    for (unsigned i = 0; i < PS_EXACT_PORTS; ++i) EXPECT_EQ(a.port_slots[i], b.port_slots[i]) << i;
    EXPECT_EQ(a.first.seq, b.first.seq);
}

// n SYNs between first and last, to these TCP ports (port, packets) in slot order.
void expect_syns(const ps_src_stats& s, uint32_t n, uint64_t first, uint64_t last,
                 const std::vector<std::pair<uint16_t, uint32_t>>& ports) {
    EXPECT_EQ(s.technique[PS_TECH_SYN], n);
    EXPECT_EQ(s.pkts[PS_CLASS_TCP_SYN], n);
    EXPECT_EQ(s.first_seen_ns, first);
    EXPECT_EQ(s.last_seen_ns, last);
    std::vector<std::pair<uint32_t, uint32_t>> slots;
    for (const auto& [port, pkts] : ports)
        slots.push_back({PS_PORT_SLOT(PS_PORT_PROTO_TCP, port), pkts});
    expect_port_slots(s, slots);
}

struct OneProbe {
    const char* name;
    std::function<Frame(const std::string&)> make;
};

// One frame of every tracked kind: the waiting first probe drains exactly as an inserted one.
TEST_F(PendingTest, AFirstProbeDrainsFromItsSlotExactlyAsAnInsertedOne) {
    const OneProbe probes[] = {
        {"nmap SYN",
         [](const std::string& s) {
             return PacketBuilder()
                 .eth()
                 .ipv4(s.c_str(), kTarget4)
                 .tcp(kScannerPort, 22, SYN)
                 .window(1024)
                 .tcp_options({2, 4, 0x05, 0xb4});
         }},
        {"zmap SYN",
         [](const std::string& s) {
             return PacketBuilder()
                 .eth()
                 .ipv4(s.c_str(), kTarget4)
                 .ttl(255)
                 .ip_id(54321)
                 .tcp(kScannerPort, 80, SYN)
                 .window(65535)
                 .seq(7);
         }},
        {"Mirai SYN",
         [](const std::string& s) {
             return PacketBuilder()
                 .eth()
                 .ipv4(s.c_str(), kTarget4)
                 .tcp(kScannerPort, 23, SYN)
                 .seq(ps_fold_addr(v4_key(kTarget4).data()));
         }},
        {"Xmas",
         [](const std::string& s) {
             return PacketBuilder().eth().ipv4(s.c_str(), kTarget4).tcp(kScannerPort, 21, XMAS);
         }},
        {"ACK probe",
         [](const std::string& s) {
             return PacketBuilder()
                 .eth()
                 .ipv4(s.c_str(), kTarget4)
                 .tcp(kScannerPort, 25, ACK)
                 .window(1024);
         }},
        {"UDP version.bind",
         [](const std::string& s) {
             return PacketBuilder()
                 .eth()
                 .ipv4(s.c_str(), kTarget4)
                 .udp(kScannerPort, 53)
                 .payload({0x12, 0x34, 0,   0,   0,   1, 0,   0,   0,   0,   0, 0, 7,  'v', 'e',
                           'r',  's',  'i', 'o', 'n', 4, 'b', 'i', 'n', 'd', 0, 0, 16, 0,   3});
         }},
        {"UDP empty",
         [](const std::string& s) {
             return PacketBuilder().eth().ipv4(s.c_str(), kTarget4).udp(kScannerPort, 161);
         }},
        {"ICMP echo",
         [](const std::string& s) {
             return PacketBuilder().eth().ipv4(s.c_str(), kTarget4).icmp(8, 0);
         }},
        {"SYN-ACK backscatter",
         [](const std::string& s) {
             return PacketBuilder()
                 .eth()
                 .ipv4(s.c_str(), kTarget4)
                 .tcp(80, kScannerPort, SYN | ACK);
         }},
        {"RST backscatter",
         [](const std::string& s) {
             return PacketBuilder().eth().ipv4(s.c_str(), kTarget4).tcp(443, kScannerPort, RST);
         }},
        {"ICMP unreachable",
         [](const std::string& s) {
             return PacketBuilder().eth().ipv4(s.c_str(), kTarget4).icmp(3, 3);
         }},
    };
    for (const auto& p : probes) {
        SCOPED_TRACE(p.name);
        SetUp();
        const auto [a, b] = both_paths({p.make});
        expect_same_stats(a, b);
        const TotalsSnapshot t = totals();
        EXPECT_EQ(t.src_pending, 2u);  // A and the blocker C wait; B was inserted
        EXPECT_EQ(t.src_inserts, 1u);
        // The drain emptied every slot: nothing is drained twice.
        EXPECT_TRUE(drain_sources().empty());
    }
}

// A second probe moves the waiting first one into src_stats: both counted there, once.
TEST_F(PendingTest, ASecondProbePromotesTheFirstIntoSrcStats) {
    auto syn_to = [](uint16_t port) {
        return [port](const std::string& s) {
            return Frame(PacketBuilder()
                             .eth()
                             .ipv4(s.c_str(), kTarget4)
                             .tcp(kScannerPort, port, SYN)
                             .window(1024)
                             .seq(1000 + port));
        };
    };
    const auto [a, b] = both_paths({syn_to(22), syn_to(80), syn_to(22), syn_to(443)});
    expect_same_stats(a, b);
    expect_syns(a, 4, 100, 400, {{22, 2}, {80, 1}, {443, 1}});
    const TotalsSnapshot t = totals();
    EXPECT_EQ(t.src_pending, 2u);  // A's first probe and C's
    EXPECT_EQ(t.src_inserts, 2u);  // A on its second probe, B on its first
    // The port table counted each source once per port, whichever path it took.
    std::map<uint16_t, PortSample> ports;
    for (const PortSample& p : moved_ports()) ports[p.port] = p;
    for (uint16_t port : {22, 80, 443}) {
        ASSERT_TRUE(ports.contains(port)) << port;
        EXPECT_EQ(ports[port].total_packets, port == 22 ? 4u : 2u) << port;
        EXPECT_NEAR(ports[port].distinct_sources, 2.0, 0.01) << port;
    }
}

// Promotion with what depends on the first probe: UDP's first source port, and a port whose
// slot backscatter claimed before the source probed it (its probed bit, the port's HLL).
TEST_F(PendingTest, APromotedFirstProbeKeepsWhatTheFirstProbeDecides) {
    auto udp = [](uint16_t sport, uint16_t dport) {
        return [=](const std::string& s) {
            return Frame(PacketBuilder().eth().ipv4(s.c_str(), kTarget4).udp(sport, dport));
        };
    };
    auto rst_to = [](uint16_t port) {  // backscatter to our port: it claims that slot
        return [=](const std::string& s) {
            return Frame(PacketBuilder().eth().ipv4(s.c_str(), kTarget4).tcp(443, port, RST));
        };
    };
    auto syn_to = [](uint16_t port) {
        return [=](const std::string& s) {
            return Frame(
                PacketBuilder().eth().ipv4(s.c_str(), kTarget4).tcp(kScannerPort, port, SYN));
        };
    };
    {
        SCOPED_TRACE("UDP, two source ports");
        const auto [a, b] = both_paths({udp(5000, 53), udp(5001, 161), udp(5000, 123)});
        expect_same_stats(a, b);
        EXPECT_EQ(a.udp_first_sport, 5000u);
        EXPECT_EQ(a.udp_same_sport, 2u);
    }
    SetUp();
    {
        SCOPED_TRACE("backscatter to port 8080, then a probe of it");
        const auto [a, b] = both_paths({rst_to(8080), syn_to(8080)});
        expect_same_stats(a, b);
        EXPECT_EQ(a.port_slot_probed, 1u);  // slot 0, claimed by the RST, probed by the SYN
        std::map<uint16_t, PortSample> ports;
        for (const PortSample& p : moved_ports()) ports[p.port] = p;
        ASSERT_TRUE(ports.contains(8080));
        EXPECT_EQ(ports[8080].total_packets, 2u);  // the two SYNs, not the RSTs
        EXPECT_NEAR(ports[8080].distinct_sources, 2.0, 0.01);
    }
}

// Two CPUs racing on a source's first probes can leave it in src_stats and in its slot at once
// (the slot was busy while the other CPU inserted). Rebuilt here by putting a claimed record
// back: the drain must count it into the entry, one source with every probe.
TEST_F(PendingTest, AFirstProbeLeftBesideItsEntryIsCountedIntoIt) {
    MappedArray map(program_->src_pending_fd(), sizeof(ps_pending), true, "src_pending");
    ps_pending* table = map.as<ps_pending>();
    const uint32_t slot = slot_of(a_, slots_);
    auto syn = [&](uint16_t port) {
        return Frame(PacketBuilder().eth().ipv4(a_.c_str(), kTarget4).tcp(kScannerPort, port, SYN));
    };

    send(syn(22), 100);
    ps_pending first = table[slot];
    ASSERT_EQ(PS_PENDING_STATE(first.state), PS_PENDING_FULL);
    ASSERT_EQ(drain_sources().size(), 1u);  // claimed
    EXPECT_EQ(PS_PENDING_STATE(table[slot].state), PS_PENDING_EMPTY);
    send(syn(80), 200);
    send(syn(443), 300);  // promotes: src_stats holds 80 and 443
    table[slot] = first;  // the racing CPU's record of port 22
    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), 1u);
    const ps_src_stats& s = sources.at(v4_key(a_));
    expect_syns(s, 3, 100, 300, {{80, 1}, {443, 1}, {22, 1}});
    EXPECT_EQ(s.last.dport, 443u);  // the entry's last packet, not the older record's
    EXPECT_EQ(s.first.dport, 22u);  // but the first probe's facts, as a promotion gives them
    EXPECT_EQ(PS_PENDING_STATE(table[slot].state), PS_PENDING_EMPTY);
}

// A slot the program is writing (busy) is neither claimed nor overwritten: the source goes
// straight to src_stats, and the drain leaves the busy slot alone.
TEST_F(PendingTest, ABusySlotSendsTheSourceToSrcStats) {
    MappedArray map(program_->src_pending_fd(), sizeof(ps_pending), true, "src_pending");
    ps_pending* table = map.as<ps_pending>();
    const uint32_t slot = slot_of(a_, slots_);
    table[slot].state = 4 | PS_PENDING_BUSY;

    send(PacketBuilder().eth().ipv4(a_.c_str(), kTarget4).tcp(kScannerPort, 22, SYN), 100);
    const TotalsSnapshot t = totals();
    EXPECT_EQ(t.src_pending, 0u);
    EXPECT_EQ(t.src_inserts, 1u);
    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), 1u);
    EXPECT_EQ(sources.at(v4_key(a_)).technique[PS_TECH_SYN], 1u);
    EXPECT_EQ(table[slot].state, 4u | PS_PENDING_BUSY);
}

}  // namespace
}  // namespace probescope::test

namespace probescope::test {
namespace {

// read_interval scans the slots only when a first probe waited since the last scan, a slot was
// busy at it, or it is the first drain. A record the program was holding at one drain (busy:
// a key compare, an insert that failed) is drained at the next, with nothing new counted.
TEST_F(PendingTest, ASlotBusyAtOneDrainIsScannedAtTheNext) {
    MappedArray map(program_->src_pending_fd(), sizeof(ps_pending), true, "src_pending");
    ps_pending* table = map.as<ps_pending>();
    const uint32_t slot = slot_of(a_, slots_);

    EXPECT_TRUE(drain_->read_interval(1, 1.0).sources.empty());  // the first drain scans
    send(PacketBuilder().eth().ipv4(a_.c_str(), kTarget4).tcp(kScannerPort, 22, SYN), 100);
    const uint32_t full = table[slot].state;
    ASSERT_EQ(PS_PENDING_STATE(full), PS_PENDING_FULL);
    table[slot].state = full - PS_PENDING_FULL + PS_PENDING_BUSY;  // the program holds it
    const Interval held = drain_->read_interval(2, 1.0);
    EXPECT_EQ(held.delta.src_pending, 1u);
    EXPECT_TRUE(held.sources.empty());
    table[slot].state = full;  // and puts it back
    const Interval back = drain_->read_interval(3, 1.0);
    EXPECT_EQ(back.delta.src_pending, 0u);
    ASSERT_EQ(back.sources.size(), 1u);
    EXPECT_EQ(back.src_map.pending_drained, 1u);
    EXPECT_EQ(back.sources[0].stats.technique[PS_TECH_SYN], 1u);

    // Nothing counted and no slot busy at the last scan: the next drain does not scan (a
    // record written here by hand, which the program never counted, stays where it is).
    table[slot] = ps_pending{};
    table[slot].key = back.sources[0].key;
    table[slot].probe.cls = PS_CLASS_TCP_SYN;
    table[slot].state = 8 | PS_PENDING_FULL;
    EXPECT_TRUE(drain_->read_interval(4, 1.0).sources.empty());
    EXPECT_EQ(PS_PENDING_STATE(table[slot].state), PS_PENDING_FULL);
}

// MappedArray refuses what it cannot read in place, naming the map.
TEST(MappedArrayTest, RefusesAMapThatIsNotAnMmapableArrayOfTheValueSize) {
    if (geteuid() != 0) GTEST_SKIP() << "creating BPF maps needs root";
    LIBBPF_OPTS(bpf_map_create_opts, mmapable, .map_flags = BPF_F_MMAPABLE);
    const int plain = bpf_map_create(BPF_MAP_TYPE_ARRAY, "plain", 4, 8, 4, nullptr);
    const int mm = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mm", 4, 8, 4, &mmapable);
    ASSERT_GE(plain, 0);
    ASSERT_GE(mm, 0);
    EXPECT_THROW(MappedArray(plain, 8, false, "plain"), Error);  // not BPF_F_MMAPABLE
    EXPECT_THROW(MappedArray(mm, 16, false, "mm"), Error);       // another value size
    {
        MappedArray ok(mm, 8, true, "mm");
        EXPECT_EQ(ok.entries(), 4u);
        ok.as<uint64_t>()[3] = 42;
        uint32_t key = 3;
        uint64_t value = 0;
        ASSERT_EQ(bpf_map_lookup_elem(mm, &key, &value), 0);
        EXPECT_EQ(value, 42u);  // the mapping is the map's own memory
    }
    close(plain);
    close(mm);
}

}  // namespace
}  // namespace probescope::test

namespace probescope::test {
namespace {

// --max-sources below 4 keeps no table (one slot, pending_mask 0): every new source is
// inserted at once, as before src_pending, and nothing is read from the slot. Its own load,
// not the shared one: the table's size is fixed at load.
TEST(PendingNoTable, BelowFourSourcesEveryNewSourceIsInsertedAtOnce) {
    if (geteuid() != 0) GTEST_SKIP() << "loading XDP programs needs root";
    auto prog = LoadedProgram::load({3, PS_CLOCK_USER, "", {}});
    MapDrain drain(prog->map_fds(), prog->src_capacity());
    EXPECT_EQ(drain.pending_slots(), 0u);
    MappedArray map(prog->src_pending_fd(), sizeof(ps_pending), false, "src_pending");
    ASSERT_EQ(map.entries(), 1u);
    auto run = [&](const std::string& src, uint16_t port, uint64_t clock) {
        Frame f = PacketBuilder().eth().ipv4(src.c_str(), kTarget4).tcp(kScannerPort, port, SYN);
        ASSERT_EQ(run_timed_frame(prog->prog_fd(), f, clock), XDP_PASS);
    };
    run(test_net(0), 22, 100);
    run(test_net(1), 22, 150);
    run(test_net(0), 80, 200);
    const TotalsSnapshot t = drain.read_totals();
    EXPECT_EQ(t.src_pending, 0u);
    EXPECT_EQ(t.src_inserts, 2u);
    EXPECT_EQ(PS_PENDING_STATE(map.as<const ps_pending>()[0].state), PS_PENDING_EMPTY);
    const auto by_key = drain_by_source(drain);
    ASSERT_EQ(by_key.size(), 2u);
    expect_syns(by_key.at(v4_key(test_net(0))), 2, 100, 200, {{22, 1}, {80, 1}});
    expect_syns(by_key.at(v4_key(test_net(1))), 1, 150, 150, {{22, 1}});
}

}  // namespace
}  // namespace probescope::test
