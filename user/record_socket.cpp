// RecordServer and RecordClient: JSON lines over a Unix stream socket, never blocking the drain.
#include "record_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <filesystem>

#include "error.h"

namespace probescope {
namespace fs = std::filesystem;

std::string record_socket_path(const std::string& path, const std::string& iface) {
    if (path == "none") return {};
    if (!path.empty()) return path;
    return "/run/probescope/" + iface + ".sock";
}

static bool make_addr(const std::string& path, sockaddr_un& sa) {
    std::memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sa.sun_path)) return false;
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    return true;
}

// True when a process accepts connections on path.
static bool someone_listens(const std::string& path) {
    sockaddr_un sa;
    if (!make_addr(path, sa)) return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
    ::close(fd);
    return ok;
}

RecordServer::RecordServer(const std::string& path, size_t max_backlog, size_t max_history)
    : max_backlog_(max_backlog), max_history_(max_history) {
    if (path.empty()) return;
    sockaddr_un sa;
    if (!make_addr(path, sa))
        throw Error("socket path too long: " + path, "pass a shorter --socket PATH");
    fs::path dir = fs::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !fs::exists(dir, ec)) {
        fs::create_directories(dir, ec);
        if (ec)
            throw Error("cannot create " + dir.string() + ": " + ec.message(),
                        "pass --socket PATH");
        chmod(dir.c_str(), 0750);
        created_dir_ = dir.string();
    }
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw Error(path + " exists and is not a socket", "remove it, or pass --socket PATH");
        if (someone_listens(path))
            throw Error("another probescope already serves its records at " + path,
                        "watch it with 'probescope top', or give this one --socket PATH");
        unlink(path.c_str());  // stale: its agent died
    }
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw Error(errno_text("cannot create a Unix socket", errno));
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd_, 16) != 0) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw Error(errno_text("cannot listen on " + path, err), "pass --socket PATH");
    }
    chmod(path.c_str(), 0660);
    if (lstat(path.c_str(), &st) == 0) ino_ = st.st_ino;
    path_ = path;
}

RecordServer::~RecordServer() {
    for (auto& c : clients_) ::close(c.fd);
    if (fd_ >= 0) {
        ::close(fd_);
        struct stat st {};
        // Only our own socket file: a later agent may have replaced a file it found stale.
        if (lstat(path_.c_str(), &st) == 0 && st.st_ino == ino_) unlink(path_.c_str());
    }
    if (!created_dir_.empty()) rmdir(created_dir_.c_str());  // only if nothing else is in it
}

void RecordServer::accept_clients() {
    if (fd_ < 0) return;
    for (;;) {
        int c = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) break;  // EAGAIN: no more; anything else: try again next interval
        std::string pending;
        for (const auto& line : history()) pending += line;
        clients_.push_back({c, std::move(pending)});
    }
}

// Records a joining `top` needs to show what happened before it came: verdicts and episodes.
static bool is_event(const std::string& type) {
    return type == "scanner" || type == "scanner_end" || type == "flood" || type == "backscatter";
}

void RecordServer::remember(const std::string& type, const nlohmann::json& record,
                            const std::string& line) {
    Kept k{seq_++, line};
    if (type == "scanner" || type == "scanner_end") {
        std::string src = record.value("src", "");
        if (type == "scanner")
            open_[src] = k;
        else
            open_.erase(src);
    }
    recent_.push_back(std::move(k));
    while (recent_.size() > max_history_) recent_.pop_front();
}

std::vector<std::string> RecordServer::history() const {
    // Open verdicts older than the recent window first, oldest first; then the window.
    uint64_t window_start = recent_.empty() ? seq_ : recent_.front().seq;
    std::vector<const Kept*> older;
    for (const auto& [src, k] : open_)
        if (k.seq < window_start) older.push_back(&k);
    std::sort(older.begin(), older.end(),
              [](const Kept* a, const Kept* b) { return a->seq < b->seq; });
    std::vector<std::string> out;
    out.reserve(older.size() + recent_.size());
    for (const Kept* k : older) out.push_back(k->line);
    for (const auto& k : recent_) out.push_back(k.line);
    return out;
}

void RecordServer::drop(size_t i, bool slow) {
    ::close(clients_[i].fd);
    clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i));
    if (slow) {
        ++dropped_slow_;
        fprintf(
            stderr,
            "probescope: dropped a record-socket client that fell %zu MiB behind (%llu so far)\n",
            max_backlog_ >> 20, static_cast<unsigned long long>(dropped_slow_));
    }
}

void RecordServer::publish(const nlohmann::json& record, std::string_view dumped) {
    if (fd_ < 0) return;
    auto t = record.find("type");
    const std::string type = t != record.end() && t->is_string() ? t->get<std::string>() : "";
    bool event = is_event(type);
    if (clients_.empty() && !event) return;
    std::string line = dumped.empty() ? record.dump(-1, ' ', false,
                                                    nlohmann::json::error_handler_t::replace)
                                      : std::string(dumped);
    line += '\n';
    if (event) remember(type, record, line);
    publish_line(line);
}

void RecordServer::publish_line(std::string_view line) {
    bool big = false;
    for (auto& c : clients_) {
        c.pending.append(line);
        big |= c.pending.size() > (256u << 10);
    }
    if (big) flush();
}

void RecordServer::flush() {
    for (size_t i = 0; i < clients_.size();) {
        Client& c = clients_[i];
        bool gone = false;
        size_t off = 0;
        while (off < c.pending.size()) {
            ssize_t n = send(c.fd, c.pending.data() + off, c.pending.size() - off,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                off += static_cast<size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            gone = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
            break;
        }
        c.pending.erase(0, off);
        if (gone) {
            drop(i, false);
        } else if (c.pending.size() > max_backlog_) {
            drop(i, true);
        } else {
            ++i;
        }
    }
}

std::unique_ptr<RecordServer> open_record_server(const std::string& path) {
    if (!path.empty()) {
        try {
            auto s = std::make_unique<RecordServer>(path);
            fprintf(stderr, "probescope: serving records to 'probescope top' on %s\n",
                    path.c_str());
            return s;
        } catch (const Error& e) {
            fprintf(stderr,
                    "probescope: warning: %s; 'probescope top' cannot watch this agent%s%s\n",
                    e.what(), e.hint().empty() ? "" : " (",
                    e.hint().empty() ? "" : (e.hint() + ")").c_str());
        }
    }
    return std::make_unique<RecordServer>(std::string());
}

bool RecordClient::connect(const std::string& path) {
    close();
    sockaddr_un sa;
    if (path.empty() || !make_addr(path, sa)) {
        errno = ENOENT;
        return false;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
        int err = errno;
        ::close(fd);
        errno = err;
        return false;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fd_ = fd;
    return true;
}

RecordClient::~RecordClient() { close(); }

void RecordClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
}

bool RecordClient::read_lines(const std::function<void(std::string_view)>& on_line,
                              size_t max_bytes) {
    if (fd_ < 0) return false;
    char chunk[65536];
    size_t got = 0;
    bool open = true;
    while (got < max_bytes) {
        ssize_t n = ::read(fd_, chunk, sizeof(chunk));
        if (n > 0) {
            got += static_cast<size_t>(n);
            buf_.append(chunk, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || !(errno == EAGAIN || errno == EWOULDBLOCK)) open = false;
        break;
    }
    size_t start = 0;
    for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1)
        on_line(std::string_view(buf_).substr(start, nl - start));
    buf_.erase(0, start);
    if (!open) close();
    return open;
}

}  // namespace probescope
