// The agent's loop: one drain per interval, records out, signals handled between drains.
#include "agent.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "error.h"
#include "interval_processor.h"
#include "json_records.h"
#include "json_sink.h"
#include "map_drain.h"
#include "record_socket.h"
#include "source_table.h"
#include "xdp_session.h"

namespace probescope {

void validate(const RunOptions& o) {
    if (o.iface.empty()) throw Error("no interface given", "pass --iface IFACE");
    if (!(o.interval_s > 0) || o.interval_s > 3600)
        throw Error("--interval must be more than 0 and at most 3600 seconds",
                    "use e.g. --interval 1 or --interval 0.5");
    if (o.max_sources == 0) throw Error("--max-sources must be at least 1");
    struct sysinfo si {};
    if (sysinfo(&si) == 0) {
        uint64_t ram = static_cast<uint64_t>(si.totalram) * si.mem_unit;
        uint64_t need = static_cast<uint64_t>(o.max_sources) * src_entry_bytes();
        if (need > ram / 2)
            throw Error("--max-sources " + std::to_string(o.max_sources) + " needs " +
                            std::to_string(need >> 20) +
                            " MiB of kernel memory, more than half "
                            "of this machine's " +
                            std::to_string(ram >> 20) + " MiB",
                        "choose at most " + std::to_string(ram / 2 / src_entry_bytes()));
    }
    validate(o.thresholds);
    parse_mode(o.mode);
}

namespace {

class SignalMask {
public:
    SignalMask() {
        // A shell starts background jobs with SIGINT ignored, and an ignored signal is
        // discarded before sigtimedwait can see it: restore the defaults, then block.
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set_, &old_);
    }
    ~SignalMask() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
    // Waits up to ns; returns the signal number, or 0 on time-out.
    int wait(int64_t ns) const {
        if (ns < 0) ns = 0;
        timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        int sig = sigtimedwait(&set_, nullptr, &ts);
        return sig > 0 ? sig : 0;
    }

private:
    sigset_t set_{}, old_{};
};

int64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Feeds successive drains (MapDrain::read_interval) to the IntervalProcessor.
class IntervalEmitter {
public:
    using Emit = AgentSession::Emit;
    IntervalEmitter(MapDrain& drain, IntervalProcessor& proc, const Clock& clock,
                    TotalsSnapshot baseline, uint64_t inserts_base)
        : drain_(drain), proc_(proc), clock_(clock) {
        drain_.set_baseline(baseline, inserts_base);
    }

    void emit(double seconds, const Emit& out) {
        Interval iv = drain_.read_interval(clock_.now_stamp(), seconds);
        proc_.process(iv, out);
    }

    void finish(const Emit& out) { proc_.finish(clock_.now_stamp(), out); }

private:
    MapDrain& drain_;
    IntervalProcessor& proc_;
    const Clock& clock_;
};

// The src_stats capacity a persisted program was loaded with, so that its pins are reused.
uint32_t pinned_capacity(const std::string& pin_dir, uint32_t fallback) {
    int fd = bpf_obj_get((pin_dir + "/src_stats").c_str());
    if (fd < 0) return fallback;
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    uint32_t cap = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.max_entries : fallback;
    close(fd);
    return cap;
}

}  // namespace

void AgentSession::preflight(const RunOptions& o, bool watch_persisted) {
    validate(o);
    iface_index(o.iface);
    check_privileges();
    check_bpffs(o.pin_root);
    check_kernel();

    const std::string pin_dir = o.pin_root + "/" + o.iface;
    if (std::filesystem::exists(pin_dir + "/link")) {
        if (watch_persisted) return;  // its program stays; we read its maps
        throw Error(
            "a persistent probescope is already attached to " + o.iface + " (" + pin_dir + "/link)",
            "watch it with 'probescope top --iface " + o.iface +
                "', or remove it with 'probescope detach --iface " + o.iface + "'");
    }
    // Refuse a foreign XDP program before anything is loaded or pinned.
    if (!o.force) ensure_no_xdp_program(o.iface);
}

struct AgentSession::Impl {
    // Declaration order is destruction order reversed: the link goes before the program.
    std::unique_ptr<LoadedProgram> prog;
    std::unique_ptr<XdpAttachment> link;
    const char* mode = "generic";
    bool watching = false;
    std::unique_ptr<MapDrain> drain;
    ResearchScannerLists research;
    std::unique_ptr<ReverseDns> rdns;
    std::unique_ptr<PortNames> port_names;
    Clock clock = Clock::monotonic();
    std::unique_ptr<IntervalProcessor> proc;
    std::unique_ptr<IntervalEmitter> emitter;
};

AgentSession::AgentSession(const RunOptions& o, bool watch_persisted) : impl_(new Impl) {
    Impl& m = *impl_;
    const std::string pin_dir = o.pin_root + "/" + o.iface;
    m.watching = watch_persisted && std::filesystem::exists(pin_dir + "/link");
    uint32_t max_sources = m.watching ? pinned_capacity(pin_dir, o.max_sources) : o.max_sources;
    LoadConfig lc;
    lc.max_sources = max_sources;
    lc.pin_dir = pin_dir;
    m.prog = LoadedProgram::load(lc);
    if (m.watching) {
        // The persisted link keeps its own program attached; this one only opens the maps.
        m.prog->keep_pins();
        bpf_xdp_query_opts q{};
        q.sz = sizeof(q);
        if (bpf_xdp_query(iface_index(o.iface), 0, &q) == 0 && q.attach_mode == XDP_ATTACHED_DRV)
            m.mode = "native";
        fprintf(stderr, "probescope: reading the persistent probescope on %s (%s XDP) through %s\n",
                o.iface.c_str(), m.mode, pin_dir.c_str());
    } else {
        m.link = XdpAttachment::attach(m.prog->prog_fd(), o.iface, parse_mode(o.mode), o.force);
        m.mode = mode_name(m.link->mode());
        if (o.persist) {
            m.link->pin(pin_dir + "/link");
            m.prog->keep_pins();
        }
        fprintf(stderr, "probescope: attached to %s (%s XDP), maps pinned under %s%s\n",
                o.iface.c_str(), m.mode, pin_dir.c_str(), m.prog->reused_pins() ? " (reused)" : "");
    }

    m.drain = std::make_unique<MapDrain>(m.prog->totals_fd(), m.prog->src_stats_fd(),
                                         m.prog->port_stats_fd(), m.prog->src_capacity());
    // Reused pins: counts already emitted by an earlier agent are not emitted again,
    // but sources it had not drained yet are.
    TotalsSnapshot baseline = m.prog->reused_pins() ? m.drain->read_totals() : TotalsSnapshot{};
    uint64_t present = m.prog->reused_pins() ? m.drain->count_sources() : 0;
    for (const auto& path : o.research_lists) {
        auto sum = m.research.load_file(path);
        fprintf(stderr, "probescope: %s: %zu research-scanner ranges labelled %s (%zu skipped)\n",
                path.c_str(), sum.entries, sum.label.c_str(), sum.skipped);
    }
    if (o.rdns) m.rdns = std::make_unique<ReverseDns>(max_sources, 1024);
    m.port_names = std::make_unique<PortNames>(o.services);
    ProcessorConfig pc{o.thresholds, max_sources, o.top_ports, true};
    m.proc = std::make_unique<IntervalProcessor>(pc, RecordContext{o.iface, m.clock}, &m.research,
                                                 m.rdns.get(), m.port_names.get());
    m.emitter = std::make_unique<IntervalEmitter>(*m.drain, *m.proc, m.clock, baseline,
                                                  baseline.src_inserts - present);
}

AgentSession::~AgentSession() = default;

void AgentSession::drain(double seconds, const Emit& emit) { impl_->emitter->emit(seconds, emit); }
void AgentSession::finish(const Emit& emit) { impl_->emitter->finish(emit); }
const char* AgentSession::mode() const { return impl_->mode; }
bool AgentSession::watching_persisted() const { return impl_->watching; }

int run_agent(const RunOptions& o) {
    AgentSession::preflight(o);
    SignalMask signals;
    JsonSink sink(o.output);
    auto server = open_record_server(record_socket_path(o.socket, o.iface));
    AgentSession session(o);
    auto emit = [&](const nlohmann::json& j) {
        sink.write(j);
        server->publish(j);
    };

    const int64_t step = static_cast<int64_t>(o.interval_s * 1e9);
    int64_t last = mono_ns(), next = last + step;
    for (;;) {
        int sig = signals.wait(next - mono_ns());
        int64_t now = mono_ns();
        server->accept_clients();
        session.drain((now - last) / 1e9, emit);
        last = now;
        if (sig == SIGINT || sig == SIGTERM) session.finish(emit);
        sink.flush();
        server->flush();
        if (sig == SIGINT || sig == SIGTERM) break;
        if (sig == 0) next += step;
        if (next < now) next = now + step;  // we fell behind: do not burst
    }
    fprintf(stderr, "probescope: detached from %s%s\n", o.iface.c_str(),
            o.persist ? " (the link stays pinned: --persist)" : "");
    return 0;
}

int detach_iface(const std::string& iface, const std::string& pin_root) {
    check_privileges();
    namespace fs = std::filesystem;
    const std::string pin_dir = pin_root + "/" + iface;
    int removed = 0;
    std::error_code ec;
    for (const char* name : {"link", "totals", "src_stats", "port_stats"}) {
        if (fs::remove(pin_dir + "/" + name, ec)) ++removed;
    }
    fs::remove(pin_dir, ec);
    unsigned idx = if_nametoindex(iface.c_str());
    if (idx) {
        bpf_xdp_query_opts q{};
        q.sz = sizeof(q);
        if (bpf_xdp_query(static_cast<int>(idx), 0, &q) == 0 && q.prog_id) {
            int fd = bpf_prog_get_fd_by_id(q.prog_id);
            bpf_prog_info info{};
            uint32_t len = sizeof(info);
            if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
                std::string(info.name) == "probescope_xdp") {
                uint32_t flags =
                    q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
                if (bpf_xdp_detach(static_cast<int>(idx), flags, nullptr) == 0) ++removed;
            }
            if (fd >= 0) close(fd);
        }
    }
    fprintf(stderr, "probescope: %s on %s\n",
            removed ? "removed probescope's link and pins" : "nothing to remove", iface.c_str());
    return 0;
}

}  // namespace probescope
