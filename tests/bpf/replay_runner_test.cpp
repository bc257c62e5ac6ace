// Replay's workers (user/replay_runner.h): a frame's worker follows the source the program
// keys it by, and frames run on several pinned CPUs at once count as they do on one.
#include "replay_runner.h"

#include <bpf/bpf.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "error.h"
#include "xdp_fixture.h"

namespace probescope::test {
namespace {

constexpr uint8_t SYN = PS_TCP_SYN;

// The worker the program's own source key picks, with worker_of's hash.
unsigned worker_of_key(const ps_src_key& key, unsigned workers) {
    return ps_mix32(ps_fold_addr(key.addr)) % workers;
}

struct PlacementCase {
    const char* name;
    SrcKey src;  // the source the program keys the frame by
    Frame frame;
};

// Frames of every shape the program keys by source: one source per row.
std::vector<PlacementCase> placement_cases() {
    auto syn4 = [](const char* src) {
        return PacketBuilder().eth().ipv4(src, kTarget4).tcp(kScannerPort, 22, SYN);
    };
    return {
        {"v4", v4_key("192.0.2.21"), syn4("192.0.2.21")},
        {"v4_vlan", v4_key("192.0.2.22"),
         PacketBuilder().eth().vlan(7).ipv4("192.0.2.22", kTarget4).tcp(kScannerPort, 22, SYN)},
        {"v4_qinq", v4_key("192.0.2.23"),
         PacketBuilder()
             .eth()
             .vlan(7, 0x88A8)
             .vlan(8)
             .ipv4("192.0.2.23", kTarget4)
             .tcp(kScannerPort, 22, SYN)},
        {"v4_udp", v4_key("192.0.2.24"),
         PacketBuilder().eth().ipv4("192.0.2.24", kTarget4).udp(5353, 53)},
        {"v4_icmp", v4_key("192.0.2.25"),
         PacketBuilder().eth().ipv4("192.0.2.25", kTarget4).icmp(8, 0)},
        {"v6", v6_key("2001:db8:bad::21"),
         PacketBuilder().eth().ipv6("2001:db8:bad::21", kTarget6).tcp(kScannerPort, 22, SYN)},
        {"v6_vlan", v6_key("2001:db8:bad::22"),
         PacketBuilder()
             .eth()
             .vlan(9)
             .ipv6("2001:db8:bad::22", kTarget6)
             .tcp(kScannerPort, 22, SYN)},
    };
}

class ReplayRunnerTest : public XdpProgramTest {};

// The program keys every row under the row's source; for 2, 3 and 5 workers, worker_of puts
// the row's frame on the worker that key picks, whatever the framing or protocol.
TEST_F(ReplayRunnerTest, AFramesWorkerIsTheOneItsSourceKeyPicks) {
    const auto cases = placement_cases();
    for (const auto& c : cases) send(c.frame, 1000);
    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), cases.size());
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        ASSERT_EQ(sources.count(c.src), 1u) << "the program keyed it under another source";
        ps_src_key k{};
        std::copy(c.src.begin(), c.src.end(), k.addr);
        for (unsigned workers : {2u, 3u, 5u})
            EXPECT_EQ(worker_of(c.frame.data(), c.frame.size(), workers), worker_of_key(k, workers))
                << workers << " workers";
    }
}

// A source's frames with other ports, flags and protocols stay on its worker; frames with no
// IP source go to worker 0.
TEST_F(ReplayRunnerTest, OneSourceOneWorkerAndNoSourceWorkerZero) {
    const Frame syn = PacketBuilder().eth().ipv4("192.0.2.30", kTarget4).tcp(kScannerPort, 22, SYN);
    const Frame xmas = PacketBuilder().eth().ipv4("192.0.2.30", kTarget4b).tcp(1, 8080, 0x29);
    const Frame udp = PacketBuilder().eth().vlan(3).ipv4("192.0.2.30", kTarget4).udp(1, 161);
    for (unsigned workers : {2u, 3u, 5u}) {
        const unsigned w = worker_of(syn.data(), syn.size(), workers);
        EXPECT_EQ(worker_of(xmas.data(), xmas.size(), workers), w);
        EXPECT_EQ(worker_of(udp.data(), udp.size(), workers), w);
    }
    const Frame arp = PacketBuilder().eth().ethertype(0x0806).payload(std::vector<uint8_t>(28));
    const Frame three_tags =
        PacketBuilder().eth().vlan(1).vlan(2).vlan(3).ipv4("192.0.2.30", kTarget4).tcp(1, 22, SYN);
    const Frame cut_v4(syn.begin(), syn.begin() + 14 + 15);  // the source address cut short
    const Frame runt(syn.begin(), syn.begin() + 10);
    for (const Frame* f : {&arp, &three_tags, &cut_v4, &runt})
        EXPECT_EQ(worker_of(f->data(), f->size(), 5), 0u) << f->size() << " bytes";
}

// 64 sources over two workers: neither is left idle.
TEST_F(ReplayRunnerTest, SourcesSpreadOverTheWorkers) {
    unsigned on[2] = {0, 0};
    for (int i = 1; i <= 64; ++i) {
        const Frame f = PacketBuilder()
                            .eth()
                            .ipv4("192.0.2." + std::to_string(i), kTarget4)
                            .tcp(kScannerPort, 22, SYN);
        ++on[worker_of(f.data(), f.size(), 2)];
    }
    EXPECT_EQ(on[0] + on[1], 64u);
    EXPECT_GE(on[0], 16u);
    EXPECT_GE(on[1], 16u);
}

// Two pinned workers: 40 sources, each probing 1 to 8 ports at its own times, a runt between
// them. Every probe is counted, each source's first and last times are its first and last
// frames', and the runt is refused, not counted.
TEST_F(ReplayRunnerTest, TwoWorkersCountEveryFrameWithItsOwnTime) {
    const unsigned jobs = std::min<size_t>(2, usable_cpus().size());
    ASSERT_EQ(jobs, 2u) << "this test needs two usable CPUs";
    ReplayRunner runner(program_->prog_fd(), jobs);
    ASSERT_EQ(runner.jobs(), 2u);
    std::map<SrcKey, std::pair<uint64_t, uint64_t>> seen;  // first, last
    std::map<SrcKey, uint32_t> syns;
    uint64_t sent = 0;
    for (int round = 0; round < 8; ++round) {
        for (int i = 1; i <= 40; ++i) {
            if (round >= 1 + i % 8) continue;  // source i probes 1 + i % 8 ports
            const std::string src = "192.0.2." + std::to_string(100 + i);
            const uint64_t t = 1'000'000'000ull * (round + 1) + 1000ull * i;
            runner.add(PacketBuilder()
                           .eth()
                           .ipv4(src, kTarget4)
                           .tcp(kScannerPort, static_cast<uint16_t>(1000 + round), SYN),
                       static_cast<int64_t>(t));
            auto [it, fresh] = seen.try_emplace(v4_key(src), t, t);
            if (!fresh) it->second.second = t;
            ++syns[v4_key(src)];
            ++sent;
        }
        if (round == 3) runner.add(Frame(10, 0), 5);  // a runt: refused
    }
    runner.flush();
    EXPECT_EQ(runner.refused(), 1u);
    const TotalsSnapshot t = totals();
    EXPECT_EQ(t.packets, sent);
    EXPECT_EQ(t.classes[PS_CLASS_TCP_SYN], sent);
    const auto sources = drain_sources();
    ASSERT_EQ(sources.size(), 40u);
    for (const auto& [key, s] : sources) {
        SCOPED_TRACE(key_text(key));
        ASSERT_TRUE(seen.count(key));
        EXPECT_EQ(s.pkts[PS_CLASS_TCP_SYN], syns[key]);
        EXPECT_EQ(s.first_seen_ns, seen[key].first);
        EXPECT_EQ(s.last_seen_ns, seen[key].second);
    }
    uint64_t port_pkts = 0;
    for (const PortSample& p : moved_ports()) port_pkts += p.packets;
    EXPECT_EQ(port_pkts, sent);
}

// The tasks of this process, from /proc/self/status.
int thread_count() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    return -1;
}

// A worker the system will not start (the process limit reached after the first one) is an
// Error naming it, not std::terminate on a joinable thread: the worker already started is
// let go through the barriers and joined. A forked child takes a user ID of its own, whose
// RLIMIT_NPROC of 2 leaves room for itself and one worker.
TEST(ReplayRunnerStart, AWorkerThatCannotStartIsAnErrorAndTheOthersAreJoined) {
    if (geteuid() != 0) GTEST_SKIP() << "taking another user ID needs root";
    if (usable_cpus().size() < 2) GTEST_SKIP() << "two workers need two usable CPUs";
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        std::string said;
        const rlimit lim{2, 2};
        if (setrlimit(RLIMIT_NPROC, &lim) != 0 || setresuid(54321, 54321, 54321) != 0) {
            said = "setup failed";
        } else {
            try {
                ReplayRunner runner(-1, 2);
                said = "two workers started";
            } catch (const Error& e) {
                said = std::string(e.what()) + "|" + e.hint() + "|threads " +
                       std::to_string(thread_count());
            }
        }
        ssize_t n = write(fds[1], said.data(), said.size());
        _exit(n == static_cast<ssize_t>(said.size()) ? 0 : 1);
    }
    close(fds[1]);
    std::string said;
    char buf[512];
    for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) said.append(buf, n);
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(said,
              "cannot start replay worker 1 of 2: Resource temporarily unavailable|"
              "give --jobs 1 to replay on one thread, or raise the process limit (ulimit -u)|"
              "threads 1");
}

// Replay's src_stats (LoadConfig::src_on_demand): a hash map allocated as sources arrive. Three
// entries, no src_pending table (below four sources), so every new source inserts at once: of
// five sources in one interval the first three are tracked, the other two counted as failed
// inserts, not evicting anyone; once drained, the map takes new sources again.
TEST(ReplaySourceMap, OnDemandEntriesAndWhatDoesNotFitIsCounted) {
    if (geteuid() != 0) GTEST_SKIP() << "loading XDP programs needs root";
    LoadConfig cfg{3, PS_CLOCK_USER, "", {}};
    cfg.src_on_demand = true;
    auto prog = LoadedProgram::load(cfg);
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(prog->src_stats_fd(), &info, &len), 0);
    EXPECT_EQ(info.type, static_cast<uint32_t>(BPF_MAP_TYPE_HASH));
    EXPECT_TRUE(info.map_flags & BPF_F_NO_PREALLOC);
    EXPECT_EQ(info.max_entries, 3u);
    MapDrain drain(prog->map_fds(), prog->src_capacity());
    ASSERT_EQ(drain.pending_slots(), 0u);

    auto syn_from = [&](int host, uint64_t t) {
        const Frame f = PacketBuilder()
                            .eth()
                            .ipv4("192.0.2." + std::to_string(host), kTarget4)
                            .tcp(kScannerPort, 22, SYN);
        ASSERT_EQ(run_timed_frame(prog->prog_fd(), f, t), XDP_PASS);
    };
    for (int h = 1; h <= 5; ++h) syn_from(h, 1000 + h);
    TotalsSnapshot t = drain.read_totals();
    EXPECT_EQ(t.classes[PS_CLASS_TCP_SYN], 5u);
    EXPECT_EQ(t.src_inserts, 3u);
    EXPECT_EQ(t.src_insert_failed, 2u);
    auto sources = drain_by_source(drain);
    ASSERT_EQ(sources.size(), 3u);
    for (int h = 1; h <= 3; ++h) {
        const SrcKey k = v4_key("192.0.2." + std::to_string(h));
        ASSERT_EQ(sources.count(k), 1u) << h;
        EXPECT_EQ(sources[k].first_seen_ns, 1000u + h);
    }

    for (int h = 4; h <= 5; ++h) syn_from(h, 2000 + h);  // the map is empty again
    t = drain.read_totals();
    EXPECT_EQ(t.src_inserts, 5u);
    EXPECT_EQ(t.src_insert_failed, 2u);
    sources = drain_by_source(drain);
    EXPECT_EQ(sources.size(), 2u);
    EXPECT_EQ(sources.count(v4_key("192.0.2.4")), 1u);
    EXPECT_EQ(sources.count(v4_key("192.0.2.5")), 1u);
}

}  // namespace
}  // namespace probescope::test
