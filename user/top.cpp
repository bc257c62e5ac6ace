// `probescope top`'s loop: one thread polls the keyboard, the signal pipe and the agent's socket
// (or drains the program itself every interval), feeds TopModel and redraws at most once a
// second for data, at once for keys.
#include "top.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <curses.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>

#include "clock.h"
#include "error.h"
#include "record_socket.h"
#include "top_model.h"
#include "top_view.h"
#include "xdp_session.h"

// Last: its capability macros (lines, columns, ...) would clash with the headers above.
#include <term.h>

namespace probescope {
namespace {

// BPF run-time statistics, on while the view is open (the kernel keeps them on while the fd
// from bpf_enable_stats is open): the attached XDP program's own nanoseconds per packet.
class XdpCost {
public:
    explicit XdpCost(int ifindex) : ifindex_(ifindex) {
        int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
        if (fd >= 0)
            stats_fd_ = fd;
        else if (fd == -EPERM)  // BPF run-time statistics need CAP_SYS_ADMIN
            note_ = "n/a (needs CAP_SYS_ADMIN)";
        else
            note_ = "off (" + std::string(strerror(-fd)) + ")";
    }
    ~XdpCost() {
        if (prog_fd_ >= 0) close(prog_fd_);
        if (stats_fd_ >= 0)
            close(stats_fd_);  // statistics off again (unless someone else wants them)
    }
    XdpCost(const XdpCost&) = delete;
    XdpCost& operator=(const XdpCost&) = delete;

    void sample() {
        bpf_xdp_query_opts q{};
        q.sz = sizeof(q);
        if (bpf_xdp_query(ifindex_, 0, &q) != 0 || q.prog_id == 0) {
            mode_ = "no";
            forget();
            return;
        }
        mode_ = q.attach_mode == XDP_ATTACHED_SKB  ? "generic"
                : q.attach_mode == XDP_ATTACHED_HW ? "offloaded"
                                                   : "native";
        if (stats_fd_ < 0) return;
        if (q.prog_id != prog_id_) {
            forget();
            prog_fd_ = bpf_prog_get_fd_by_id(q.prog_id);
            if (prog_fd_ < 0) {
                note_ = "unavailable (" + std::string(strerror(errno)) + ")";
                return;
            }
            prog_id_ = q.prog_id;
        }
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(prog_fd_, &info, &len) != 0) return;
        if (have_prev_ && info.run_cnt > prev_cnt_)
            ns_ = static_cast<double>(info.run_time_ns - prev_ns_) /
                  static_cast<double>(info.run_cnt - prev_cnt_);
        else if (!ns_)
            note_ = "idle";
        prev_ns_ = info.run_time_ns;
        prev_cnt_ = info.run_cnt;
        have_prev_ = true;
    }
    const std::string& mode() const { return mode_; }
    std::optional<double> ns_per_packet() const { return ns_; }
    const std::string& note() const { return note_; }

private:
    void forget() {
        if (prog_fd_ >= 0) close(prog_fd_);
        prog_fd_ = -1;
        prog_id_ = 0;
        have_prev_ = false;
        ns_.reset();
    }
    int ifindex_;
    int stats_fd_ = -1, prog_fd_ = -1;
    uint32_t prog_id_ = 0;
    bool have_prev_ = false;
    uint64_t prev_ns_ = 0, prev_cnt_ = 0;
    std::optional<double> ns_;
    std::string mode_ = "no";
    std::string note_;
};

// SIGINT, SIGTERM, SIGHUP end the view through a pipe that poll() watches.
int g_sig_pipe[2] = {-1, -1};
volatile sig_atomic_t g_signal = 0;

void on_signal(int sig) {
    g_signal = sig;
    char c = 1;
    ssize_t ignored = write(g_sig_pipe[1], &c, 1);
    (void)ignored;
}

class SignalPipe {
public:
    SignalPipe() {
        if (pipe2(g_sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
            throw Error(errno_text("cannot create a pipe", errno));
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigset_t unblock;
        sigemptyset(&unblock);
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
            sigaction(sig, &sa, nullptr);
            sigaddset(&unblock, sig);
        }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
        signal(SIGPIPE, SIG_IGN);
    }
    ~SignalPipe() {
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);
        close(g_sig_pipe[0]);
        close(g_sig_pipe[1]);
    }
    int fd() const { return g_sig_pipe[0]; }
    int fired() const { return g_signal; }
};

// Whatever libbpf or the agent writes to stderr while curses owns the terminal goes to a
// temporary file, and is shown once the terminal is back.
class StderrCapture {
public:
    StderrCapture() {
        file_ = tmpfile();
        saved_ = dup(STDERR_FILENO);
        if (file_ && saved_ >= 0) dup2(fileno(file_), STDERR_FILENO);
    }
    ~StderrCapture() {
        if (saved_ >= 0) {
            fflush(stderr);
            dup2(saved_, STDERR_FILENO);
            close(saved_);
        }
        if (!file_) return;
        rewind(file_);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), file_)) > 0) fwrite(buf, 1, n, stderr);
        fclose(file_);
    }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;

private:
    FILE* file_ = nullptr;
    int saved_ = -1;
};

constexpr size_t kMaxHeld = 200000;  // records held while paused

// A clear error when $TERM names no terminal this system describes, before anything attaches.
void check_terminal() {
    int err = 0;
    if (setupterm(nullptr, STDOUT_FILENO, &err) != OK) {
        const char* term = getenv("TERM");
        throw Error(std::string("cannot drive the terminal type '") + (term ? term : "") + "'",
                    "set TERM to a terminal type this system knows, e.g. TERM=xterm");
    }
    del_curterm(cur_term);
}

}  // namespace

int run_top(const TopOptions& o) {
    const RunOptions& ro = o.run;
    validate(ro);
    const int ifindex = iface_index(ro.iface);
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        throw Error("probescope top needs a terminal",
                    "run it in a terminal; for JSON lines use 'probescope run'");
    check_terminal();

    TopModel model({o.keep_sources, 2000});
    TopStatus status;
    status.iface = ro.iface;
    const std::string sock = record_socket_path(ro.socket, ro.iface);
    RecordClient client;
    std::unique_ptr<AgentSession> session;
    std::unique_ptr<RecordServer> server;
    if (!sock.empty() && client.connect(sock)) {
        status.source = "agent " + sock;
        status.source_short = "agent";
    } else {
        if (!sock.empty() && errno == EACCES)
            throw Error(
                "cannot read the running agent's records at " + sock + ": permission denied",
                "run top as root, or as a member of the socket's group");
        // Nobody drains this interface: do it here, with the very pipeline `run` uses.
        AgentSession::preflight(ro, true);
        server = open_record_server(sock);  // a second top can watch this one
        session = std::make_unique<AgentSession>(ro, true);
        status.source = session->watching_persisted() ? "persistent link's maps" : "in-process";
        status.source_short = session->watching_persisted() ? "persistent" : "in-process";
    }

    XdpCost cost(ifindex);
    int64_t last_drain = mono_ns();
    {
        SignalPipe sigs;
        StderrCapture capture;
        TopScreen screen;
        TopView view(model, screen.colour(), screen.utf8());
        std::deque<nlohmann::json> held;
        uint64_t skipped = 0;
        bool dirty = true, urgent = true;
        auto feed = [&](const nlohmann::json& j) {
            if (view.paused()) {
                if (held.size() >= kMaxHeld) {
                    held.pop_front();
                    ++skipped;
                }
                held.push_back(j);
            } else {
                model.on_record(j);
            }
            dirty = true;
        };
        auto feed_line = [&](std::string_view line) {
            if (!view.paused()) {
                model.on_line(line);
                dirty = true;
                return;
            }
            auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
            if (!j.is_discarded()) feed(j);
        };

        const int64_t step = static_cast<int64_t>(ro.interval_s * 1e9);
        int64_t next_drain = last_drain + step, last_draw = 0, last_cost = 0, next_reconnect = 0;
        cost.sample();
        for (;;) {
            int64_t now = mono_ns();
            int64_t wake = last_draw + (dirty ? 1000000000 : 2000000000);
            if (session) wake = std::min(wake, next_drain);
            if (!session && !client.connected()) wake = std::min(wake, next_reconnect);
            if (urgent) wake = now;
            int timeout =
                static_cast<int>(std::clamp<int64_t>((wake - now + 999999) / 1000000, 0, 2000));
            pollfd fds[3] = {
                {STDIN_FILENO, POLLIN, 0}, {sigs.fd(), POLLIN, 0}, {client.fd(), POLLIN, 0}};
            poll(fds, client.connected() ? 3 : 2, timeout);  // EINTR (SIGWINCH) is fine
            if (sigs.fired()) break;

            bool quit = false;
            for (int ch; (ch = getch()) != ERR;) {
                if (!view.on_key(ch)) {
                    quit = true;
                    break;
                }
                urgent = true;
            }
            if (quit) break;
            if (!view.paused() && !held.empty()) {
                for (const auto& j : held) model.on_record(j);
                held.clear();
                dirty = true;
            }

            now = mono_ns();
            if (client.connected() && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
                if (!client.read_lines(feed_line)) {
                    status.note = "the agent stopped; waiting for it";
                    next_reconnect = now + 2000000000;
                    urgent = true;
                }
            } else if (!session && !client.connected() && now >= next_reconnect) {
                if (client.connect(sock)) status.note.clear();
                next_reconnect = now + 2000000000;
            }

            if (session && now >= next_drain) {
                server->accept_clients();
                session->drain((now - last_drain) / 1e9, [&](const nlohmann::json& j) {
                    feed(j);
                    server->publish(j);
                });
                server->flush();
                last_drain = now;
                next_drain += step;
                if (next_drain < now) next_drain = now + step;  // fell behind: do not burst
            }

            now = mono_ns();
            if (urgent || (dirty && now - last_draw >= 1000000000) ||
                now - last_draw >= 2000000000) {
                if (now - last_cost >= 1000000000) {
                    cost.sample();
                    last_cost = now;
                }
                status.xdp_mode = cost.mode();
                status.xdp_ns_per_packet = cost.ns_per_packet();
                status.cost_note = cost.note();
                status.held = held.size();
                status.skipped = skipped;
                view.draw(status);
                last_draw = now;
                urgent = dirty = false;
            }
        }
    }  // the terminal is restored here, then captured stderr is shown
    if (session) {
        bool watching = session->watching_persisted();
        session.reset();
        fprintf(stderr, "probescope: %s %s\n",
                watching ? "stopped reading the persistent probescope on" : "detached from",
                ro.iface.c_str());
    }
    return 0;
}

int view_replayed(const std::vector<nlohmann::json>& records, const std::string& what) {
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        throw Error("replay --top needs a terminal", "drop --top, or use --summary");
    check_terminal();
    TopModel model({1000000, 2000});
    for (const auto& r : records) model.on_record(r);
    TopStatus status;
    status.iface = what;
    status.source = "replay (capture time; q quits)";
    status.source_short = "replay";
    status.xdp_mode = "test run";
    status.cost_note = "replay";
    SignalPipe sigs;
    StderrCapture capture;
    TopScreen screen;
    TopView view(model, screen.colour(), screen.utf8());
    view.draw(status);
    for (;;) {
        pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sigs.fd(), POLLIN, 0}};
        poll(fds, 2, 2000);
        if (sigs.fired()) break;
        bool quit = false;
        for (int ch; (ch = getch()) != ERR;)
            if (!view.on_key(ch)) {
                quit = true;
                break;
            }
        if (quit) break;
        view.draw(status);
    }
    return 0;
}

}  // namespace probescope
