// The agent's loop: one drain per interval, records out, signals handled between drains.
#include "agent.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>

#include "agent_state.h"
#include "clock.h"
#include "error.h"
#include "interval_processor.h"
#include "json_records.h"
#include "map_drain.h"
#include "output_queue.h"
#include "privilege.h"
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
        const uint64_t per_source = src_entry_bytes() + 2 * sizeof(ps_pending);
        uint64_t need = static_cast<uint64_t>(o.max_sources) * src_entry_bytes() +
                        uint64_t{pending_slots_for(o.max_sources)} * sizeof(ps_pending);
        if (need > ram / 2)
            throw Error("--max-sources " + std::to_string(o.max_sources) + " needs " +
                            std::to_string(need >> 20) +
                            " MiB of kernel memory, more than half "
                            "of this machine's " +
                            std::to_string(ram >> 20) + " MiB",
                        "choose at most " + std::to_string(ram / 2 / per_source));
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

// Whether a `run --persist` link is pinned in pin_dir; a clear Error when the directory is
// not this user's to look into.
bool pinned_link_at(const std::string& pin_dir) {
    struct stat st {};
    if (stat((pin_dir + "/link").c_str(), &st) == 0) return true;
    if (errno != EACCES) return false;
    throw Error("no access to the pins under " + pin_dir + " (" + pin_dir_owner(pin_dir) + ")",
                "run as the agent's --user, who owns the pins, or as root");
}

// One agent per interface: an exclusive flock on its pin directory, released when the process
// ends however it ends (kill -9 included). Returns the held fd, or -1 if someone holds it.
int lock_pin_dir(const std::string& pin_dir) {
    int fd = open(pin_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -2;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

Error agent_running(const RunOptions& o, const std::string& pin_dir) {
    return Error("another probescope is draining " + o.iface + " (it holds " + pin_dir + ")",
                 "watch it with 'probescope top --iface " + o.iface + "', or stop it first");
}

}  // namespace

const char* fixed_option_changed(const RunOptions& a, const RunOptions& b) {
    if (a.iface != b.iface) return "--iface";
    if (a.mode != b.mode) return "--mode";
    if (a.max_sources != b.max_sources) return "--max-sources";
    if (a.pin_root != b.pin_root) return "--pin-root";
    if (a.force != b.force) return "--force";
    if (a.persist != b.persist) return "--persist";
    if (a.socket != b.socket) return "--socket";
    if (a.user != b.user) return "--user";
    return nullptr;
}

void AgentSession::preflight(const RunOptions& o, bool watch_persisted) {
    validate(o);
    iface_index(o.iface);
    // A list that cannot be read is refused now, before anything is loaded or attached.
    for (const auto& path : o.research_lists) ResearchScannerLists().load_file(path);
    const std::string pin_dir = o.pin_root + "/" + o.iface;
    // Reading a persisted program's pins needs no privilege, only access to them.
    if (watch_persisted && pinned_link_at(pin_dir)) return;
    check_privileges();
    check_bpffs(o.pin_root);
    check_kernel();
    if (int fd = lock_pin_dir(pin_dir); fd == -1)
        throw agent_running(o, pin_dir);
    else if (fd >= 0)
        close(fd);
    // A pinned link is ours: it is taken over. Refuse a foreign XDP program before loading.
    if (!o.force && !pinned_link_at(pin_dir)) ensure_no_xdp_program(o.iface);
}

struct AgentSession::Impl {
    int lock_fd = -1;  // first in, last out: held until the pins are gone
    // Declaration order is destruction order reversed: the link goes before the program.
    std::unique_ptr<LoadedProgram> prog;  // a fresh load
    std::unique_ptr<PinnedMaps> pinned;   // or the maps of a pinned link's program
    std::unique_ptr<XdpAttachment> link;
    std::optional<AgentStateMap> state;
    std::string pin_dir;
    const char* mode = "generic";
    bool watching = false, adopted = false, persist = false;
    std::unique_ptr<MapDrain> drain;
    RunOptions opts;  // what the classification was built from
    std::unique_ptr<ResearchScannerLists> research;
    std::unique_ptr<ReverseDns> rdns;
    std::unique_ptr<PortNames> port_names;
    Clock clock = Clock::monotonic();
    std::unique_ptr<IntervalProcessor> proc;

    ~Impl() {
        if (adopted && !persist && link) link->unpin();  // the program detaches with the link
        proc.reset();
        drain.reset();
        state.reset();
        link.reset();
        pinned.reset();
        prog.reset();
        if (lock_fd >= 0) close(lock_fd);
    }
    void attach_fresh(const RunOptions& o, bool watch);
    void take_over(const RunOptions& o);
    TotalsSnapshot resume_baseline(uint64_t& inserts_base) const;
};

void AgentSession::Impl::attach_fresh(const RunOptions& o, bool watch) {
    LoadConfig lc;
    lc.max_sources = o.max_sources;
    lc.pin_dir = pin_dir;
    prog = LoadedProgram::load(lc);
    link = XdpAttachment::attach(prog->prog_fd(), o.iface, parse_mode(o.mode), o.force);
    mode = mode_name(link->mode());
    if (o.persist) {
        link->pin(pin_dir + "/link");
        prog->keep_pins();
    }
    fprintf(stderr, "probescope: attached to %s (%s XDP), maps pinned under %s%s\n",
            o.iface.c_str(), mode, pin_dir.c_str(), prog->reused_pins() ? " (reused)" : "");
    if (watch) return;
    // Fresh maps make any agent state left beside them meaningless.
    if (!prog->reused_pins()) unlink((pin_dir + "/agent_state").c_str());
    state.emplace(AgentStateMap::open_or_create(pin_dir));
}

void AgentSession::Impl::take_over(const RunOptions& o) {
    link = XdpAttachment::open_pinned(pin_dir + "/link", o.iface);
    mode = mode_name(link->mode());
    // Without --persist this time, the program lives as long as this agent (undone at exit).
    if (!o.persist) pinned->unpin_at_exit();
    state.emplace(AgentStateMap::open_or_create(pin_dir));
    fprintf(stderr, "probescope: attached to %s (%s XDP): took over the pinned link %s/link%s\n",
            o.iface.c_str(), mode, pin_dir.c_str(),
            o.persist ? "" : " (not --persist: it is removed at exit)");
}

// Reused pins: counts an earlier agent wrote are not written again, and everything after them
// is, including what was counted while no agent ran.
TotalsSnapshot AgentSession::Impl::resume_baseline(uint64_t& inserts_base) const {
    std::optional<TotalsSnapshot> last = state ? state->last_written() : std::nullopt;
    if (last) {
        inserts_base = last->src_inserts;
        return *last;
    }
    TotalsSnapshot now = drain->read_totals();
    inserts_base = now.src_inserts - drain->count_sources();
    return now;
}

AgentSession::AgentSession(const RunOptions& o, bool watch_persisted) : impl_(new Impl) {
    Impl& m = *impl_;
    m.pin_dir = o.pin_root + "/" + o.iface;
    m.persist = o.persist;
    const bool has_link = pinned_link_at(m.pin_dir);
    m.watching = watch_persisted && has_link;
    m.adopted = !watch_persisted && has_link;
    if (!m.watching) {
        std::error_code ec;
        std::filesystem::create_directories(m.pin_dir, ec);
        chmod(m.pin_dir.c_str(), 0700);
    }
    m.lock_fd = lock_pin_dir(m.pin_dir);
    if (m.lock_fd == -1) throw agent_running(o, m.pin_dir);

    if (has_link) {
        m.pinned = PinnedMaps::open(m.pin_dir);
        if (m.adopted) m.take_over(o);
    } else {
        m.attach_fresh(o, watch_persisted);
    }
    if (m.watching) {
        if (attached_xdp_mode(iface_index(o.iface)) == XdpMode::Native) m.mode = "native";
        fprintf(stderr, "probescope: reading the persistent probescope on %s (%s XDP) through %s\n",
                o.iface.c_str(), m.mode, m.pin_dir.c_str());
    }
    if (m.pinned)
        m.drain = std::make_unique<MapDrain>(m.pinned->map_fds(), m.pinned->src_capacity());
    else
        m.drain = std::make_unique<MapDrain>(m.prog->map_fds(), m.prog->src_capacity());

    const bool resumed = m.pinned || m.prog->reused_pins();
    uint64_t inserts_base = 0;
    TotalsSnapshot baseline = resumed ? m.resume_baseline(inserts_base) : TotalsSnapshot{};
    if (resumed && m.state && m.state->last_written())
        fprintf(stderr,
                "probescope: resuming on %s: %llu packets counted since the last written stats "
                "record go into the first interval\n",
                o.iface.c_str(),
                static_cast<unsigned long long>(m.drain->read_totals().packets - baseline.packets));
    m.drain->set_baseline(baseline, inserts_base);
    reconfigure(o);
}

void AgentSession::reconfigure(const RunOptions& o, const Emit& emit) {
    Impl& m = *impl_;
    const RunOptions& p = m.opts;
    if (m.proc && p.thresholds == o.thresholds && p.research_lists == o.research_lists &&
        p.rdns == o.rdns && p.services == o.services && p.top_ports == o.top_ports &&
        p.source_records == o.source_records)
        return;
    // Build everything first: a list that fails to load changes nothing.
    const uint32_t cap = m.drain->src_map_capacity();
    auto research = std::make_unique<ResearchScannerLists>();
    for (const auto& path : o.research_lists) {
        auto sum = research->load_file(path);
        fprintf(stderr, "probescope: %s: %zu research-scanner ranges labelled %s (%zu skipped)\n",
                path.c_str(), sum.entries, sum.label.c_str(), sum.skipped);
    }
    auto rdns = o.rdns ? std::make_unique<ReverseDns>(cap, 1024) : nullptr;
    auto names = std::make_unique<PortNames>(o.services);
    ProcessorConfig pc{o.thresholds, cap, o.top_ports, o.source_records};
    auto proc = std::make_unique<IntervalProcessor>(pc, RecordContext{o.iface, m.clock},
                                                    research.get(), rdns.get(), names.get());
    // The old classification ends here: its open scanners get their scanner_end records.
    if (m.proc && emit) m.proc->finish(m.clock.now_stamp(), emit);
    m.proc = std::move(proc);
    m.research = std::move(research);
    m.rdns = std::move(rdns);
    m.port_names = std::move(names);
    m.opts = o;
}

AgentSession::~AgentSession() = default;

void AgentSession::drain(double seconds, const Emit& emit) {
    Interval iv = impl_->drain->read_interval(impl_->clock.now_stamp(), seconds);
    impl_->proc->process(iv, emit);
    impl_->drain->recycle(std::move(iv.sources));
}
void AgentSession::finish(const Emit& emit) { impl_->proc->finish(impl_->clock.now_stamp(), emit); }
const char* AgentSession::mode() const { return impl_->mode; }
bool AgentSession::watching_persisted() const { return impl_->watching; }
const std::string& AgentSession::pin_dir() const { return impl_->pin_dir; }
TotalsSnapshot AgentSession::reported_totals() const { return impl_->drain->reported(); }
void AgentSession::carry_over() { impl_->drain->carry_over(); }
void AgentSession::store_written(const TotalsSnapshot& totals) const {
    if (impl_->state) impl_->state->store(totals);
}

namespace {

std::string to_line(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// SIGHUP: re-read the command line and config file. A bad one changes nothing.
void reload_config(RunOptions& o, const std::function<RunOptions()>& reload, AgentSession& session,
                   OutputQueue& out, const AgentSession::Emit& emit) {
    if (!reload) return;
    try {
        RunOptions n = reload();
        validate(n);
        if (const char* opt = fixed_option_changed(o, n))
            throw Error(std::string(opt) + " cannot change while running (restart the agent)");
        session.reconfigure(n, emit);
        out.set_bound(n.output_buffer);
        o = n;
        fprintf(stderr, "probescope: configuration reloaded\n");
    } catch (const std::exception& e) {
        fprintf(stderr, "probescope: configuration reload refused: %s; the running one stays\n",
                e.what());
    }
}

}  // namespace

int run_agent(const RunOptions& given, const std::function<RunOptions()>& reload) {
    RunOptions o = given;
    AgentSession::preflight(o);
    std::optional<ServiceUser> user;
    if (!o.user.empty()) user = lookup_service_user(o.user);
    signal(SIGPIPE, SIG_IGN);  // a reader gone is an EPIPE for the writer, not our death
    SignalMask signals;
    auto server = open_record_server(record_socket_path(o.socket, o.iface));
    AgentSession session(o);
    // Declared after the session: its writer thread stops before the session goes.
    OutputQueue out(o.output, o.output_buffer, user ? user->uid : static_cast<uid_t>(-1),
                    user ? user->gid : static_cast<gid_t>(-1));
    if (user) {
        give_pins(session.pin_dir(), *user);
        drop_privileges(*user);
        fprintf(stderr, "probescope: running as %s (uid %u), capabilities kept: %s\n",
                user->name.c_str(), static_cast<unsigned>(user->uid),
                effective_caps_text().c_str());
    }
    out.start([&session](const TotalsSnapshot& t) { session.store_written(t); });

    bool stats_dropped = false, last_interval = false;
    auto emit = [&](const nlohmann::json& j) {
        if (j.value("type", "") != "stats") {
            std::string line = to_line(j);  // serialised once, for the output and for top
            server->publish(j, line);
            out.offer(std::move(line));
            return;
        }
        nlohmann::json s = j;
        const uint64_t drops = out.unreported_drops();
        s["output"] = {{"dropped", drops},
                       {"dropped_total", out.dropped()},
                       {"queued", out.queued()},
                       {"write_errors", out.write_errors()}};
        const TotalsSnapshot reported = session.reported_totals();
        std::string line = to_line(s);
        if (out.offer(line, &reported, last_interval)) {
            out.settle(drops);
            server->publish(s, line);
        } else {
            stats_dropped = true;
        }
    };

    int64_t step = static_cast<int64_t>(o.interval_s * 1e9);
    int64_t last = mono_ns(), next = last + step;
    for (;;) {
        int sig = signals.wait(next - mono_ns());
        int64_t now = mono_ns();
        last_interval = sig == SIGINT || sig == SIGTERM;
        server->accept_clients();
        stats_dropped = false;
        session.drain((now - last) / 1e9, emit);
        if (stats_dropped)
            session.carry_over();  // its interval goes on into the next
        else
            last = now;
        if (last_interval) session.finish(emit);
        server->flush();
        if (last_interval) break;
        if (sig == SIGHUP) {
            reload_config(o, reload, session, out, emit);
            out.reopen(o.output);
            step = static_cast<int64_t>(o.interval_s * 1e9);
        }
        if (sig == 0) next += step;
        if (next < now) next = now + step;  // we fell behind: do not burst
    }
    // A blocked reader must not keep the agent from detaching: give up after 5 s without progress.
    uint64_t lost = out.close(5.0);
    fprintf(stderr, "probescope: output: %llu records written, %llu dropped%s\n",
            static_cast<unsigned long long>(out.written()),
            static_cast<unsigned long long>(out.dropped()),
            lost ? " (the output stopped taking records at exit)" : "");
    fprintf(stderr, "probescope: detached from %s%s\n", o.iface.c_str(),
            o.persist ? " (the link stays pinned: --persist)" : "");
    return 0;
}

int detach_iface(const std::string& iface, const std::string& pin_root) {
    check_privileges();
    const std::string pin_dir = pin_root + "/" + iface;
    int removed = remove_pins(pin_dir);
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
                if (bpf_xdp_detach(static_cast<int>(idx), xdp_detach_flags(static_cast<int>(idx)),
                                   nullptr) == 0)
                    ++removed;
            }
            if (fd >= 0) close(fd);
        }
    }
    fprintf(stderr, "probescope: %s on %s\n",
            removed ? "removed probescope's link and pins" : "nothing to remove", iface.c_str());
    return 0;
}

}  // namespace probescope
