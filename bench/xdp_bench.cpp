// probescope-xdp-bench: XDP cost per packet under BPF_PROG_TEST_RUN, against an empty XDP_PASS.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "error.h"
#include "map_drain.h"
#include "map_fill.h"
#include "mapped_array.h"
#include "packet_builder.h"
#include "probescope/track.h"
#include "xdp_pass.skel.h"
#include "xdp_session.h"

namespace probescope::bench {
namespace {

using json = nlohmann::json;
using test::Frame;
using test::PacketBuilder;
namespace tcpopt = test::tcpopt;

constexpr double kLineRateBudgetNs = 1e9 / 14.88e6;  // 10GbE, 64-byte frames, one core
constexpr double kFastPathTarget = 1.15;
constexpr double kProbePathTarget = 2.0;

struct Options {
    uint32_t repeat = 2000000;
    int rounds = 3;
    uint32_t sources = 1u << 20;
    uint32_t new_sources = 20000;
    uint32_t mix = 100000;
    std::string json_out, md_out;
    std::string jit_dir;         // set: only dump the JITed functions there
    double profile_seconds = 0;  // > 0: only spin on one packet for bpftool prog profile
};

// --- Frames. Addresses: scanners in 240.0.0.0/4 and 2001:db8::/32, targets in TEST-NET. ---

std::string v4_text(uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
           std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

constexpr uint32_t kPrefillBase = 0xf0000000u;  // 240.0.0.0: the 1M prefilled sources
constexpr uint32_t kNewBase = 0xf4000000u;      // 244.0.0.0: never prefilled
const char* const kKnownSource = "240.0.0.1";   // inside the prefilled block
const char* const kTarget = "198.51.100.7";

// The SYN nmap -sS sends: window 1024, MSS 1460 as the only option.
Frame nmap_syn(const std::string& src, uint16_t sport = 40000, uint16_t dport = 22) {
    return PacketBuilder()
        .eth()
        .ipv4(src, kTarget)
        .ttl(44)
        .tcp(sport, dport, PS_TCP_SYN)
        .window(1024)
        .tcp_options(tcpopt::mss(1460));
}

Frame established(const std::string& src, uint16_t sport, uint16_t dport, size_t payload) {
    PacketBuilder b;
    b.eth()
        .ipv4(src, kTarget)
        .dont_fragment()
        .tcp(sport, dport, payload ? PS_TCP_ACK | PS_TCP_PSH : PS_TCP_ACK);
    b.ack_seq(0x5000).tcp_options(tcpopt::linux_established());
    if (payload) b.payload(payload);
    return b;
}

Frame xmas(const std::string& src, uint16_t dport) {
    return PacketBuilder()
        .eth()
        .ipv4(src, kTarget)
        .tcp(40000, dport, PS_TCP_FIN | PS_TCP_PSH | PS_TCP_URG)
        .window(1024);
}

// dig @target version.bind chaos txt: the UDP path that also reads the payload.
Frame dns_version_bind(const std::string& src) {
    std::vector<uint8_t> q = {0x1a, 0x2b, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 7};
    for (char c : std::string("version")) q.push_back(static_cast<uint8_t>(c));
    q.push_back(4);
    for (char c : std::string("bind")) q.push_back(static_cast<uint8_t>(c));
    q.insert(q.end(), {0, 0x00, 0x10, 0x00, 0x03});
    return PacketBuilder().eth().ipv4(src, kTarget).udp(40000, 53).payload(q);
}

struct PacketCase {
    std::string id, name;
    Frame frame;
    double target;  // ratio target; 0: none stated by the issue
    ps_class cls;   // the class the program must count it in, or the figure measures another path
};

std::vector<PacketCase> packet_cases() {
    const std::string src = kKnownSource;
    Frame v6 = PacketBuilder()
                   .eth()
                   .ipv6("2001:db8:bad::10", "2001:db8:1::7")
                   .tcp(40000, 22, PS_TCP_SYN)
                   .window(1024)
                   .tcp_options(tcpopt::mss(1460));
    Frame vlan = PacketBuilder()
                     .eth()
                     .vlan(100)
                     .ipv4(src, kTarget)
                     .tcp(40000, 22, PS_TCP_SYN)
                     .window(1024)
                     .tcp_options(tcpopt::mss(1460));
    // IPv4 says TCP but the frame ends 10 bytes into the TCP header.
    Frame malformed =
        PacketBuilder().eth().ipv4(src, kTarget).tcp(40000, 22, PS_TCP_SYN).truncate(44);
    return {
        {"tcp_ack_established", "established TCP ACK", established(src, 22, 40000, 0),
         kFastPathTarget, PS_CLASS_TCP_OTHER},
        {"tcp_data", "TCP data (1448 B)", established(src, 22, 40000, 1448), kFastPathTarget,
         PS_CLASS_TCP_OTHER},
        {"tcp_syn_known", "TCP SYN, known source", nmap_syn(src), kProbePathTarget,
         PS_CLASS_TCP_SYN},
        {"tcp_odd_xmas", "odd flags (Xmas)", xmas(src, 22), kProbePathTarget, PS_CLASS_TCP_ODD},
        {"udp_dns_probe", "UDP probe (DNS version.bind)", dns_version_bind(src), kProbePathTarget,
         PS_CLASS_UDP},
        {"ipv6_syn", "IPv6 SYN", v6, kProbePathTarget, PS_CLASS_TCP_SYN},
        {"vlan_syn", "VLAN SYN", vlan, kProbePathTarget, PS_CLASS_TCP_SYN},
        {"malformed", "malformed (truncated TCP)", malformed, 0, PS_CLASS_MALFORMED},
    };
}

// --- BPF_PROG_TEST_RUN ---

// Kernel-measured ns per run of the frame, averaged over repeat runs.
uint32_t run_ns(int prog_fd, const Frame& f, uint32_t repeat) {
    bpf_test_run_opts o{};
    o.sz = sizeof(o);
    o.data_in = f.data();
    o.data_size_in = static_cast<uint32_t>(f.size());
    o.repeat = repeat;
    if (int err = bpf_prog_test_run_opts(prog_fd, &o))
        throw Error(errno_text("BPF_PROG_TEST_RUN failed", err), "run as root on Linux 5.15+");
    if (o.retval != XDP_PASS)
        throw Error("a program returned verdict " + std::to_string(o.retval) + ", not XDP_PASS");
    return o.duration;
}

struct Programs {
    std::unique_ptr<LoadedProgram> probescope;
    xdp_pass_bpf* pass = nullptr;
    ~Programs() { xdp_pass_bpf__destroy(pass); }
    int ps_fd() const { return probescope->prog_fd(); }
    int pass_fd() const { return bpf_program__fd(pass->progs.xdp_pass); }
};

std::unique_ptr<Programs> load_programs(uint32_t max_sources) {
    auto p = std::make_unique<Programs>();
    // The agent's own load path (live clock, no --dst filter), sized for the prefill.
    LoadConfig cfg;
    cfg.max_sources = max_sources;
    cfg.clock = PS_CLOCK_JIFFIES;
    p->probescope = LoadedProgram::load(cfg);
    p->pass = xdp_pass_bpf__open_and_load();
    if (!p->pass) throw Error(errno_text("cannot load xdp_pass.bpf.o", -errno));
    return p;
}

// --- Prefill: distinct sources written with bpf_map_update_batch, zeroed values. ---

struct MapShape {
    uint32_t type, key_size, value_size, max_entries;
    size_t value_buf;  // bytes user space passes per value (per-CPU maps: one per CPU)
};

MapShape map_shape(int fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (int err = bpf_obj_get_info_by_fd(fd, &info, &len))
        throw Error(errno_text("cannot read src_stats info", err));
    const bool percpu = info.type == BPF_MAP_TYPE_PERCPU_HASH ||
                        info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
                        info.type == BPF_MAP_TYPE_PERCPU_ARRAY;
    size_t vbuf = info.value_size;
    if (percpu) vbuf = ((vbuf + 7) & ~size_t{7}) * static_cast<size_t>(libbpf_num_possible_cpus());
    return {info.type, info.key_size, info.value_size, info.max_entries, vbuf};
}

uint64_t count_entries(int fd, const MapShape& m) {
    std::vector<uint8_t> a(m.key_size), b(m.key_size);
    uint64_t n = 0;
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, b.data()) == 0) {
        ++n;
        a.swap(b);
        prev = a.data();
    }
    return n;
}

// --- Measurements ---

uint64_t class_count(int totals_fd, ps_class cls) {
    return read_totals_map(totals_fd).classes[cls];
}

json measure_case(const Programs& p, const PacketCase& c, const Options& o, const char* fill) {
    uint32_t best_pass = UINT32_MAX, best_ps = UINT32_MAX;
    const int totals_fd = p.probescope->totals_fd();
    const uint64_t before = class_count(totals_fd, c.cls);
    for (int r = 0; r < o.rounds; ++r) {  // floor interleaved with the program, same frame
        best_pass = std::min(best_pass, run_ns(p.pass_fd(), c.frame, o.repeat));
        best_ps = std::min(best_ps, run_ns(p.ps_fd(), c.frame, o.repeat));
    }
    if (class_count(totals_fd, c.cls) - before != uint64_t(o.rounds) * o.repeat)
        throw Error("the '" + c.name + "' frame was not counted in class " + std::to_string(c.cls) +
                    " every run: the figure would measure another path");
    const double ratio = double(best_ps) / best_pass;
    json j = {{"id", c.id},
              {"packet", c.name},
              {"fill", fill},
              {"pass_ns", best_pass},
              {"probescope_ns", best_ps},
              {"ratio", ratio},
              {"frame_bytes", c.frame.size()},
              {"method", "test_run repeat"}};
    j["target_ratio"] = c.target > 0 ? json(c.target) : json(nullptr);
    j["met"] = c.target > 0 ? json(ratio <= c.target) : json(nullptr);
    return j;
}

struct Stats {
    double mean, median;
};

Stats stats_of(std::vector<uint32_t> v) {
    std::sort(v.begin(), v.end());
    const double sum = std::accumulate(v.begin(), v.end(), 0.0);
    return {sum / v.size(), double(v[v.size() / 2])};
}

// The three paths of a source the program has not seen (track.h): its first probe waits in
// src_pending; its second probe moves it into src_stats (the insert); with its src_pending slot
// taken, its first probe is inserted at once.
enum class NewPath { First, Second, TableFull };

// Every src_pending slot marked busy (a full table: nothing waits, every source is inserted at
// once) for the life of this object; the table as it was afterwards.
class BusyPendingTable {
public:
    explicit BusyPendingTable(int fd)
        : map_(fd, sizeof(ps_pending), true, "src_pending"), table_(map_.as<ps_pending>()) {
        saved_.assign(table_, table_ + map_.entries());
        for (uint32_t i = 0; i < map_.entries(); ++i) table_[i].state = PS_PENDING_BUSY;
    }
    ~BusyPendingTable() { std::copy(saved_.begin(), saved_.end(), table_); }

private:
    MappedArray map_;
    ps_pending* table_;
    std::vector<ps_pending> saved_;
};

// A SYN from a new source cannot repeat: each distinct frame runs once (repeat 1) and the
// kernel's duration is kept. The floor and a known-source SYN are measured the same way, so
// the per-run timer overhead cancels in the difference. NewPath::Second reruns the sources of
// NewPath::First (same round_base) after it.
json measure_new_source(const Programs& p, const Options& o, const char* fill,
                        uint32_t known_repeat_ns, uint32_t pass_repeat_ns, int round_base,
                        NewPath path) {
    const Frame known = nmap_syn(kKnownSource);
    const int totals_fd = p.probescope->totals_fd();
    const TotalsSnapshot before = read_totals_map(totals_fd);
    std::unique_ptr<BusyPendingTable> busy;
    if (path == NewPath::TableFull)
        busy = std::make_unique<BusyPendingTable>(p.probescope->src_pending_fd());
    const uint32_t base = kNewBase + (path == NewPath::TableFull ? 0x800000u : 0u);
    double best_new = 1e18, best_known = 1e18, best_pass = 1e18;
    Stats s_new{}, s_known{}, s_pass{};
    for (int r = 0; r < o.rounds; ++r) {
        std::vector<uint32_t> t_new, t_known, t_pass;
        for (uint32_t i = 0; i < o.new_sources; ++i) {
            const uint32_t src = base + (uint32_t(round_base + r) * o.new_sources) + i;
            const Frame f = nmap_syn(v4_text(src));
            t_pass.push_back(run_ns(p.pass_fd(), f, 1));
            t_new.push_back(run_ns(p.ps_fd(), f, 1));
            t_known.push_back(run_ns(p.ps_fd(), known, 1));
        }
        const Stats a = stats_of(t_new), b = stats_of(t_known), c = stats_of(t_pass);
        if (a.median < best_new) best_new = a.median, s_new = a;
        if (b.median < best_known) best_known = b.median, s_known = b;
        if (c.median < best_pass) best_pass = c.median, s_pass = c;
    }
    busy.reset();
    const TotalsSnapshot d = read_totals_map(totals_fd) - before;
    const uint64_t runs = uint64_t(o.rounds) * o.new_sources;
    // The runs that took the path measured; the rest (a first probe whose slot another new
    // source already held) were inserted at once.
    const uint64_t on_path = path == NewPath::First ? d.src_pending : d.src_inserts;
    // A second probe finds its source waiting (promoted: an insert) or, where its first probe
    // was inserted at once, already in src_stats (neither counter moves).
    const uint64_t moved = d.src_pending + d.src_inserts;
    if ((path == NewPath::Second ? d.src_pending != 0 : moved != runs) || on_path < runs * 9 / 10)
        throw Error(std::to_string(d.src_pending) + " waiting, " + std::to_string(d.src_inserts) +
                    " inserted and " + std::to_string(d.src_insert_failed) + " not inserted of " +
                    std::to_string(runs) + " new-source SYNs: too few took the path measured");
    const double added = s_new.median - s_known.median;
    const double estimate = known_repeat_ns + added;
    const double ratio = estimate / pass_repeat_ns;
    const char* id = path == NewPath::First    ? "tcp_syn_new"
                     : path == NewPath::Second ? "tcp_syn_new_second"
                                               : "tcp_syn_new_full";
    const char* name = path == NewPath::First    ? "TCP SYN, new source (waits in src_pending)"
                       : path == NewPath::Second ? "TCP SYN, new source's 2nd probe (insert)"
                                                 : "TCP SYN, new source, src_pending full (insert)";
    return {{"id", id},
            {"packet", name},
            {"fill", fill},
            {"method",
             "one test_run (repeat 1) per distinct new source; ns = known-source SYN at repeat N "
             "+ (median new-source run - median known-source run, both repeat 1)"},
            {"runs_per_round", o.new_sources},
            {"runs_waiting", d.src_pending},
            {"runs_inserting", d.src_inserts},
            {"repeat1_new_median_ns", s_new.median},
            {"repeat1_new_mean_ns", s_new.mean},
            {"repeat1_known_median_ns", s_known.median},
            {"repeat1_pass_median_ns", s_pass.median},
            {"repeat1_pass_mean_ns", s_pass.mean},
            {"added_over_known_ns", added},
            {"pass_ns", pass_repeat_ns},
            {"probescope_ns", estimate},
            {"ratio", ratio},
            {"target_ratio", kProbePathTarget},
            {"met", ratio <= kProbePathTarget}};
}

// Cache-cold mix: distinct frames (sources random over the prefilled 1M, random ports, mixed
// types), one test_run each with repeat 1, the floor run on the same frame just before.
json measure_cold_mix(const Programs& p, const Options& o, uint32_t source_span) {
    // Kinds, with their share of the mix in tenths: SYN 4, established ACK 3, Xmas 2, UDP 1.
    static const char* const kKinds[] = {"tcp_syn", "tcp_ack", "tcp_odd", "udp"};
    constexpr unsigned kKindCount = 4;
    std::mt19937_64 rng(12345);
    std::vector<Frame> frames;
    std::vector<unsigned> kind_of;
    frames.reserve(o.mix);
    for (uint32_t i = 0; i < o.mix; ++i) {
        const std::string src = v4_text(kPrefillBase + uint32_t(rng() % source_span));
        const uint16_t sport = 1024 + rng() % 64000, dport = 1 + rng() % 65535;
        const unsigned tenth = rng() % 10;
        const unsigned kind = tenth < 4 ? 0 : tenth < 7 ? 1 : tenth < 9 ? 2 : 3;
        if (kind == 0) frames.push_back(nmap_syn(src, sport, dport));
        if (kind == 1) frames.push_back(established(src, sport, dport, 0));
        if (kind == 2) frames.push_back(xmas(src, dport));
        if (kind == 3) frames.push_back(PacketBuilder().eth().ipv4(src, kTarget).udp(sport, dport));
        kind_of.push_back(kind);
    }
    Stats best_ps{1e18, 1e18}, best_pass{1e18, 1e18};
    json by_kind;
    for (int r = 0; r < o.rounds; ++r) {
        std::vector<uint32_t> t_ps, t_pass;
        double sum_ps[kKindCount] = {}, sum_pass[kKindCount] = {};
        uint32_t n[kKindCount] = {};
        for (size_t i = 0; i < frames.size(); ++i) {
            t_pass.push_back(run_ns(p.pass_fd(), frames[i], 1));
            t_ps.push_back(run_ns(p.ps_fd(), frames[i], 1));
            sum_pass[kind_of[i]] += t_pass.back();
            sum_ps[kind_of[i]] += t_ps.back();
            ++n[kind_of[i]];
        }
        const Stats a = stats_of(t_ps), b = stats_of(t_pass);
        if (a.mean >= best_ps.mean) continue;
        best_ps = a, best_pass = b;  // the best round by probescope's mean, with its floor
        by_kind = json::object();
        for (unsigned k = 0; k < kKindCount; ++k)
            by_kind[kKinds[k]] = {{"frames", n[k]},
                                  {"pass_mean_ns", n[k] ? sum_pass[k] / n[k] : 0},
                                  {"probescope_mean_ns", n[k] ? sum_ps[k] / n[k] : 0}};
    }
    return {{"method",
             "test_run loop: one bpf_prog_test_run_opts per distinct frame, repeat 1, "
             "kernel-reported duration; XDP_PASS on the same frame just before"},
            {"frames", o.mix},
            {"source_span", source_span},
            {"by_kind", by_kind},
            {"pass_mean_ns", best_pass.mean},
            {"pass_median_ns", best_pass.median},
            {"probescope_mean_ns", best_ps.mean},
            {"probescope_median_ns", best_ps.median},
            {"added_mean_ns", best_ps.mean - best_pass.mean},
            {"ratio_mean", best_ps.mean / best_pass.mean}};
}

// --- Report ---

std::string fmt(const char* f, double v) {
    char buf[64];
    snprintf(buf, sizeof(buf), f, v);
    return buf;
}

std::string markdown(const json& j) {
    std::string md = "## XDP cost per packet (BPF_PROG_TEST_RUN)\n\n";
    md +=
        "Each probescope figure is compared with an empty XDP_PASS program (bpf/xdp_pass.bpf.c) "
        "in the same run, on the same frame: best of " +
        std::to_string(j["rounds"].get<int>()) +
        " rounds of `bpf_prog_test_run_opts` with repeat " +
        std::to_string(j["repeat"].get<uint32_t>()) +
        ", floor and program interleaved. The 1M fill holds " +
        std::to_string(j["prefill"]["present"].get<uint64_t>()) + " sources in src_stats (" +
        j["prefill"]["method"].get<std::string>() + "; map type " +
        j["prefill"]["map_type"].get<std::string>() + ", max_entries " +
        std::to_string(j["prefill"]["max_entries"].get<uint32_t>()) + ").\n\n";
    md +=
        "| packet | fill | XDP_PASS ns | probescope ns | ratio | target | met? |\n"
        "|---|---|---|---|---|---|---|\n";
    for (const auto& r : j["packets"]) {
        const bool has_target = !r["target_ratio"].is_null();
        md += "| " + r["packet"].get<std::string>() + " | " + r["fill"].get<std::string>() + " | " +
              fmt("%.0f", r["pass_ns"].get<double>()) + " | " +
              fmt("%.0f", r["probescope_ns"].get<double>()) + " | " +
              fmt("%.2f", r["ratio"].get<double>()) + " | " +
              (has_target ? fmt("<= %.2fx", r["target_ratio"].get<double>()) : "none") + " | " +
              (has_target ? (r["met"].get<bool>() ? "yes" : "**no**") : "-") + " |\n";
    }
    double floor_ns = 1e18;
    for (const auto& r : j["packets"]) floor_ns = std::min(floor_ns, r["pass_ns"].get<double>());
    md += "\nThe targets are ratios to the test_run floor, which is small here: on a " +
          fmt("%.0f", floor_ns) + " ns floor, <= 1.15x leaves " + fmt("%.1f", 0.15 * floor_ns) +
          " ns for the program's own work on the fast path, and <= 2.0x leaves " +
          fmt("%.0f", floor_ns) +
          " ns on a probe path. \"malformed\" has no target in the issue.\n";
    md +=
        "\nA SYN from a new source cannot repeat one frame (the source is known after the "
        "first run). Each of " +
        std::to_string(j["packets_new_source_runs"].get<uint32_t>()) +
        " distinct new sources runs once (repeat 1), the floor and a known-source SYN likewise; "
        "a row's figure is the known-source SYN at repeat N plus the median extra cost over it "
        "at repeat 1. Three paths: the first probe waits in src_pending (no insert); the same "
        "sources' second probe moves them into src_stats (the insert); and, with every "
        "src_pending slot marked busy (a full table), a first probe inserted at once. \"waiting "
        "/ inserted\" counts what the runs did (a first probe whose slot another new source "
        "held is inserted):\n\n";
    md +=
        "| path | fill | XDP_PASS repeat-1 median ns | known SYN repeat-1 median ns | new SYN "
        "repeat-1 median ns | new SYN mean ns | added over known ns | waiting / inserted "
        "|\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : j["packets"]) {
        const std::string id = r["id"];
        if (id.rfind("tcp_syn_new", 0) != 0) continue;
        md += "| " + r["packet"].get<std::string>() + " | " + r["fill"].get<std::string>() + " | " +
              fmt("%.0f", r["repeat1_pass_median_ns"].get<double>()) + " | " +
              fmt("%.0f", r["repeat1_known_median_ns"].get<double>()) + " | " +
              fmt("%.0f", r["repeat1_new_median_ns"].get<double>()) + " | " +
              fmt("%.0f", r["repeat1_new_mean_ns"].get<double>()) + " | " +
              fmt("%.0f", r["added_over_known_ns"].get<double>()) + " | " +
              std::to_string(r["runs_waiting"].get<uint64_t>()) + " / " +
              std::to_string(r["runs_inserting"].get<uint64_t>()) + " |\n";
    }
    md += "\n### Line rate: 1e9 / 14.88e6 = " + fmt("%.1f", kLineRateBudgetNs) +
          " ns per packet per core (10GbE, 64-byte frames)\n\n"
          "The test_run floor (~the XDP_PASS column) is harness cost (loop, bh disable/enable, "
          "context setup), not NIC driver cost; the program's own cost is the added ns. "
          "A driver in native mode spends its own share of the budget, so the added ns is what "
          "must fit beside it.\n\n"
          "| packet | fill | probescope ns | added over floor ns | Mpps/core at probescope ns | "
          "probescope ns <= 67.2? |\n|---|---|---|---|---|---|\n";
    for (const auto& r : j["packets"]) {
        const double ps = r["probescope_ns"].get<double>(), pass = r["pass_ns"].get<double>();
        md += "| " + r["packet"].get<std::string>() + " | " + r["fill"].get<std::string>() + " | " +
              fmt("%.0f", ps) + " | " + fmt("%.0f", ps - pass) + " | " + fmt("%.1f", 1e3 / ps) +
              " | " + (ps <= kLineRateBudgetNs ? "yes" : "no") + " |\n";
    }
    const auto& m = j["cold_mix"];
    md += "\n### Cache-cold mix (a test_run loop, not live frames)\n\n" +
          m["method"].get<std::string>() + ". " + std::to_string(m["frames"].get<uint32_t>()) +
          " distinct frames, sources random over " +
          std::to_string(m["source_span"].get<uint32_t>()) +
          " prefilled addresses (1M fill), random source and destination ports; about 40% "
          "nmap SYN, 30% established ACK, 20% Xmas, 10% empty UDP. Best round by probescope's "
          "mean.\n\n"
          "| | XDP_PASS ns | probescope ns | added ns | ratio |\n|---|---|---|---|---|\n";
    md += "| mean | " + fmt("%.0f", m["pass_mean_ns"].get<double>()) + " | " +
          fmt("%.0f", m["probescope_mean_ns"].get<double>()) + " | " +
          fmt("%.0f", m["added_mean_ns"].get<double>()) + " | " +
          fmt("%.2f", m["ratio_mean"].get<double>()) + " |\n";
    md += "| median | " + fmt("%.0f", m["pass_median_ns"].get<double>()) + " | " +
          fmt("%.0f", m["probescope_median_ns"].get<double>()) + " | " +
          fmt("%.0f", m["probescope_median_ns"].get<double>() - m["pass_median_ns"].get<double>()) +
          " | " +
          fmt("%.2f", m["probescope_median_ns"].get<double>() / m["pass_median_ns"].get<double>()) +
          " |\n";
    for (const auto& [kind, k] : m["by_kind"].items()) {
        const double ps = k["probescope_mean_ns"].get<double>(),
                     pass = k["pass_mean_ns"].get<double>();
        md += "| mean, " + kind + " (" + std::to_string(k["frames"].get<uint32_t>()) + ") | " +
              fmt("%.0f", pass) + " | " + fmt("%.0f", ps) + " | " + fmt("%.0f", ps - pass) + " | " +
              fmt("%.2f", ps / pass) + " |\n";
    }
    return md;
}

const char* map_type_name(uint32_t t) {
    const char* n = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(t));
    return n ? n : "unknown";
}

// One fill: fresh programs, optional prefill, every packet case, the new-source SYN.
// Progress on stderr, with seconds since start, so a slow phase shows where it is.
void progress(const std::string& what) {
    static const auto start = std::chrono::steady_clock::now();
    const std::chrono::duration<double> t = std::chrono::steady_clock::now() - start;
    std::cerr << "xdp-bench [" << fmt("%.1f", t.count()) << " s] " << what << "\n";
}

void run_fill(const Options& o, bool full, json& out, json& prefill_info, json* cold_mix) {
    progress(std::string("loading for fill ") + (full ? "1M" : "empty"));
    const uint32_t max_entries = o.sources + o.sources / 4;  // LRU evicts before it is full
    auto p = load_programs(max_entries);
    const char* fill = full ? "1M" : "empty";
    if (full) {
        const int fd = p->probescope->src_stats_fd();
        const MapShape m = map_shape(fd);
        bench::prefill_v4(fd, m.key_size, m.value_buf, kPrefillBase, o.sources);
        progress("prefilled " + std::to_string(o.sources) + " sources");
        prefill_info = {{"method",
                         "bpf_map_update_batch of zeroed values, distinct v4 sources "
                         "from 240.0.0.0"},
                        {"requested", o.sources},
                        {"present", count_entries(fd, m)},
                        {"map_type", map_type_name(m.type)},
                        {"key_size", m.key_size},
                        {"value_size", m.value_size},
                        {"max_entries", m.max_entries}};
    }
    uint32_t known_ns = 0, known_pass_ns = 0;
    progress("packet types");
    for (const auto& c : packet_cases()) {
        json r = measure_case(*p, c, o, fill);
        if (c.id == "tcp_syn_known") {
            known_ns = r["probescope_ns"];
            known_pass_ns = r["pass_ns"];
        }
        out.push_back(r);
    }
    progress("new-source SYNs");
    const int base = full ? o.rounds : 0;
    for (NewPath path : {NewPath::First, NewPath::Second, NewPath::TableFull})
        out.push_back(measure_new_source(*p, o, fill, known_ns, known_pass_ns, base, path));
    if (!cold_mix) return;
    progress("cache-cold mix");
    *cold_mix = measure_cold_mix(*p, o, o.sources);
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    if (!(f << text)) throw Error("cannot write " + path);
}

// Debian's bpftool has no disassembler (no libbfd): write each function's JITed image to
// DIR/<index>_<name>.bin for objdump, and print per-function sizes as JSON.
void dump_jit(const std::string& dir) {
    auto p = load_programs(65536);
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (int err = bpf_obj_get_info_by_fd(p->ps_fd(), &info, &len))
        throw Error(errno_text("cannot read program info", err));
    const uint32_t nfuncs = info.nr_jited_func_lens, nfi = info.nr_func_info;
    const uint32_t rec = info.func_info_rec_size, xlated_len = info.xlated_prog_len;
    std::vector<uint8_t> image(info.jited_prog_len), fi(size_t{nfi} * rec);
    std::vector<uint32_t> lens(nfuncs);
    info = bpf_prog_info{};
    info.jited_prog_len = image.size();
    info.jited_prog_insns = reinterpret_cast<uint64_t>(image.data());
    info.nr_jited_func_lens = nfuncs;
    info.jited_func_lens = reinterpret_cast<uint64_t>(lens.data());
    info.nr_func_info = nfi;
    info.func_info_rec_size = rec;
    info.func_info = reinterpret_cast<uint64_t>(fi.data());
    len = sizeof(info);
    if (int err = bpf_obj_get_info_by_fd(p->ps_fd(), &info, &len))
        throw Error(errno_text("cannot read the JITed image", err));
    if (nfi != nfuncs) throw Error("func_info and JITed function counts differ");
    btf* kbtf = btf__load_from_kernel_by_id(info.btf_id);
    json out = json::array();
    size_t off = 0;
    for (uint32_t i = 0; i < nfuncs; ++i) {
        const auto* f = reinterpret_cast<const bpf_func_info*>(&fi[size_t{i} * rec]);
        const uint32_t next =
            i + 1 < nfi ? reinterpret_cast<const bpf_func_info*>(&fi[size_t{i + 1} * rec])->insn_off
                        : xlated_len / 8;
        const btf_type* t = kbtf ? btf__type_by_id(kbtf, f->type_id) : nullptr;
        const std::string name =
            t ? btf__name_by_offset(kbtf, t->name_off) : "func" + std::to_string(i);
        const std::string file = dir + "/" + std::to_string(i) + "_" + name + ".bin";
        write_file(file, std::string(reinterpret_cast<const char*>(&image[off]), lens[i]));
        out.push_back({{"name", name},
                       {"xlated_insn_slots", next - f->insn_off},
                       {"jited_bytes", lens[i]},
                       {"image", file}});
        off += lens[i];
    }
    btf__free(kbtf);
    // What the verifier walked to accept the program (of its 1,000,000-instruction limit).
    write_file(dir + "/verified_insns", std::to_string(info.verified_insns) + "\n");
    std::cout << out.dump() << "\n";
}

// For bpftool prog profile: print the program id, then run the known SYN for a while.
void spin_for_profile(const Options& o) {
    auto p = load_programs(65536);
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (int err = bpf_obj_get_info_by_fd(p->ps_fd(), &info, &len))
        throw Error(errno_text("cannot read program info", err));
    std::cout << info.id << std::endl;
    const Frame f = nmap_syn(kKnownSource);
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(o.profile_seconds);
    uint64_t runs = 0;
    while (std::chrono::steady_clock::now() < end) run_ns(p->ps_fd(), f, 100000), runs += 100000;
    std::cerr << "spun " << runs << " runs\n";
}

int run(const Options& o) {
    if (!o.jit_dir.empty()) {
        dump_jit(o.jit_dir);
        return 0;
    }
    if (o.profile_seconds > 0) {
        spin_for_profile(o);
        return 0;
    }
    json j = {{"repeat", o.repeat},
              {"rounds", o.rounds},
              {"packets_new_source_runs", o.new_sources},
              {"line_rate_budget_ns", kLineRateBudgetNs},
              {"packets", json::array()}};
    json prefill_info, cold;
    run_fill(o, false, j["packets"], prefill_info, nullptr);
    run_fill(o, true, j["packets"], prefill_info, &cold);
    for (auto& r : j["packets"]) {  // what the program itself adds, and the 14.88 Mpps check
        const double ps = r["probescope_ns"].get<double>(), pass = r["pass_ns"].get<double>();
        r["added_ns"] = ps - pass;
        r["within_line_rate_budget"] = ps <= kLineRateBudgetNs;
    }
    j["prefill"] = prefill_info;
    j["cold_mix"] = cold;
    if (!o.json_out.empty()) write_file(o.json_out, j.dump(2) + "\n");
    const std::string md = markdown(j);
    if (!o.md_out.empty()) write_file(o.md_out, md);
    std::cout << md;
    return 0;
}

}  // namespace
}  // namespace probescope::bench

int main(int argc, char** argv) {
    probescope::bench::Options o;
    CLI::App app{"probescope XDP cost per packet against an empty XDP_PASS (BPF_PROG_TEST_RUN)"};
    app.add_option("--repeat", o.repeat, "test_run repeat per measurement")
        ->check(CLI::Range(1u, 100000000u));
    app.add_option("--rounds", o.rounds, "rounds; the best is kept")->check(CLI::Range(1, 100));
    app.add_option("--sources", o.sources, "sources prefilled into src_stats")
        ->check(CLI::Range(1u, 16u << 20));
    app.add_option("--new-sources", o.new_sources, "distinct new-source SYNs per round")
        ->check(CLI::Range(1u, 1u << 20));
    app.add_option("--mix", o.mix, "distinct frames in the cache-cold mix")
        ->check(CLI::Range(1u, 10u << 20));
    app.add_option("--json", o.json_out, "write the JSON fragment here");
    app.add_option("--md", o.md_out, "write the Markdown fragment here");
    app.add_option("--profile-spin", o.profile_seconds,
                   "only load, print the program id, and run test_run for this many seconds");
    app.add_option("--jit-dump", o.jit_dir,
                   "only load, write each JITed function's image to this directory, print sizes");
    CLI11_PARSE(app, argc, argv);
    try {
        return probescope::bench::run(o);
    } catch (const probescope::Error& e) {
        std::cerr << "probescope-xdp-bench: " << e.what()
                  << (e.hint().empty() ? "" : " (" + e.hint() + ")") << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "probescope-xdp-bench: " << e.what() << "\n";
        return 1;
    }
}
