// OutputQueue: bounded in bytes; the writer thread retries a full disk and never blocks on a pipe.
#include "output_queue.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "clock.h"
#include "error.h"

namespace probescope {

OutputQueue::OutputQueue(const std::string& path, size_t bound_bytes, uid_t owner, gid_t group)
    : path_(path), owner_(owner), group_(group), bound_(bound_bytes) {
    open_path(path, true);
    progress_ns_ = mono_ns();
}

OutputQueue::~OutputQueue() {
    if (thread_.joinable()) close(0);
    if (owned_ && fd_ >= 0) ::close(fd_);
}

void OutputQueue::open_path(const std::string& path, bool at_start) {
    int fd = STDOUT_FILENO;
    bool owned = false;
    if (!path.empty() && path != "-") {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0) {
            int e = errno;
            if (at_start)
                throw Error(errno_text("cannot open output file " + path, e),
                            "check that its directory exists and is writable");
            fprintf(stderr, "probescope: cannot reopen output %s: %s; still writing to %s\n",
                    path.c_str(), strerror(e), cur_path_.c_str());
            return;
        }
        owned = true;
        // Records name who probes this host: not for every local user (umask aside).
        fchmod(fd, 0640);
        if (owner_ != static_cast<uid_t>(-1) && fchown(fd, owner_, group_) != 0)
            fprintf(stderr, "probescope: warning: cannot give %s to uid %u: %s\n", path.c_str(),
                    static_cast<unsigned>(owner_), strerror(errno));
    }
    struct stat st {};
    if (owned_ && fd_ >= 0) ::close(fd_);
    fd_ = fd;
    owned_ = owned;
    chunked_ = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    cur_path_ = owned ? path : "stdout";
    reader_gone_ = false;  // a new file, or a pipe with a reader again (the open waited for one)
}

void OutputQueue::start(OnWritten on_written) {
    on_written_ = std::move(on_written);
    thread_ = std::thread([this] { writer_loop(); });
}

bool OutputQueue::offer(std::string line, const TotalsSnapshot* reported, bool force) {
    line += '\n';
    bool say = false;
    size_t bound;
    {
        std::lock_guard<std::mutex> l(mu_);
        bound = bound_;
        // An empty queue takes any one record, so that a record larger than the bound still goes.
        if (!force && !items_.empty() && bytes_ + line.size() > bound_) {
            say = !dropping_;
            dropping_ = true;
        } else {
            bytes_ += line.size();
            Item it{std::move(line), {}, {}};
            if (reported) it.reported = *reported;
            items_.push_back(std::move(it));
            cv_.notify_one();
            return true;
        }
    }
    drop(1);
    if (say)
        fprintf(stderr,
                "probescope: output %s is not keeping up: records past --output-buffer (%zu bytes) "
                "are dropped and counted in the next stats record (output.dropped)\n",
                path_.empty() || path_ == "-" ? "stdout" : path_.c_str(), bound);
    return false;
}

void OutputQueue::drop(uint64_t n) {
    dropped_ += n;
    unreported_ += n;
}

void OutputQueue::reopen(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    path_ = path;
    items_.push_back(Item{{}, {}, path});  // in order, and never dropped: it carries no record
    cv_.notify_one();
}

void OutputQueue::set_bound(size_t bytes) {
    std::lock_guard<std::mutex> l(mu_);
    bound_ = bytes;
}

size_t OutputQueue::queued() const {
    std::lock_guard<std::mutex> l(mu_);
    return items_.size();
}

void OutputQueue::writer_loop() {
    for (;;) {
        Item it;
        {
            std::unique_lock<std::mutex> l(mu_);
            cv_.wait(l, [&] { return !items_.empty() || closing_; });
            if (items_.empty()) break;
            it = std::move(items_.front());
            items_.pop_front();
        }
        if (it.reopen_path) {
            open_path(*it.reopen_path, false);
            continue;
        }
        bool ok = !reader_gone_ && !abandon_ && write_all(it.line);
        {
            std::lock_guard<std::mutex> l(mu_);
            bytes_ -= it.line.size();
            if (items_.empty()) dropping_ = false;
        }
        progress_ns_ = mono_ns();
        if (!ok) {
            drop(1);
            continue;
        }
        ++written_;
        if (it.reported && on_written_) on_written_(*it.reported);
    }
    done_ = true;
}

bool OutputQueue::write_all(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        if (abandon_) return false;
        if (chunked_) {
            // POLLOUT on a pipe means PIPE_BUF bytes fit: a write that size cannot block.
            pollfd p{fd_, POLLOUT, 0};
            int r = poll(&p, 1, 200);
            if (r == 0 || (r < 0 && errno == EINTR)) continue;
        }
        size_t n = data.size() - off;
        if (chunked_ && n > PIPE_BUF) n = PIPE_BUF;
        ssize_t w = ::write(fd_, data.data() + off, n);
        if (w > 0) {
            off += static_cast<size_t>(w);
            progress_ns_ = mono_ns();
            if (failing_) {
                fprintf(stderr, "probescope: output %s is writable again\n", cur_path_.c_str());
                failing_ = false;
            }
            continue;
        }
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        int e = w < 0 ? errno : EIO;
        ++write_errors_;
        if (e == EPIPE) {
            fprintf(stderr,
                    "probescope: output %s: its reader has gone; records are dropped from now on "
                    "(counted in output.dropped)\n",
                    cur_path_.c_str());
            reader_gone_ = true;
            return false;
        }
        if (!failing_)
            fprintf(stderr,
                    "probescope: output %s: %s: records are held (up to --output-buffer, then "
                    "dropped and counted) and the write retried every second\n",
                    cur_path_.c_str(), strerror(e));
        failing_ = true;
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait_for(l, std::chrono::seconds(1), [&] { return abandon_.load(); });
    }
    return true;
}

uint64_t OutputQueue::close(double stall_s) {
    {
        std::lock_guard<std::mutex> l(mu_);
        closing_ = true;
    }
    cv_.notify_all();
    if (!thread_.joinable()) return 0;
    const uint64_t before = dropped_;
    const auto stall = static_cast<int64_t>(stall_s * 1e9);
    while (!done_) {
        if (!abandon_ && mono_ns() - progress_ns_ > stall) {
            std::lock_guard<std::mutex> l(mu_);
            abandon_ = true;
            cv_.notify_all();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    thread_.join();
    return dropped_ - before;
}

}  // namespace probescope
