// The agent's JSON output: a bounded queue drained by a writer thread, so that a full pipe or a
// full, slow disk never stalls the drain loop. Past the bound, records are dropped and counted.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "interval.h"

namespace probescope {

class OutputQueue {
public:
    // Called on the writer thread once a stats record (and everything queued before it) is
    // written: the totals that record reported up to.
    using OnWritten = std::function<void(const TotalsSnapshot&)>;

    // Empty path or "-": stdout. Files are appended to and get mode 0640; owner, when not -1,
    // is given the file (the unprivileged --user must reopen it after a rotation).
    OutputQueue(const std::string& path, size_t bound_bytes, uid_t owner = -1, gid_t group = -1);
    ~OutputQueue();
    OutputQueue(const OutputQueue&) = delete;
    OutputQueue& operator=(const OutputQueue&) = delete;

    // Starts the writer thread (after a privilege drop, so it runs with the dropped credentials).
    void start(OnWritten on_written);
    // Queues one line (without its newline). False: past the bound, dropped and counted.
    // force: queued whatever the bound (the last stats record at exit: nothing follows it).
    bool offer(std::string line, const TotalsSnapshot* reported = nullptr, bool force = false);
    // Reopens the output (SIGHUP, log rotation) after the records already queued are written.
    void reopen(const std::string& path);
    void set_bound(size_t bytes);
    const std::string& path() const { return path_; }

    // Dropped records not yet reported in a stats record; settle(n) once n were reported.
    uint64_t unreported_drops() const { return unreported_.load(); }
    void settle(uint64_t n) { unreported_ -= n; }
    uint64_t dropped() const { return dropped_.load(); }
    uint64_t written() const { return written_.load(); }
    uint64_t write_errors() const { return write_errors_.load(); }
    size_t queued() const;

    // Writes what is queued and stops the thread. Gives up (and counts the rest as dropped)
    // once the output has made no progress for stall_s seconds. Returns the records given up.
    uint64_t close(double stall_s);

private:
    struct Item {
        std::string line;  // with its newline; empty for a reopen
        std::optional<TotalsSnapshot> reported;
        std::optional<std::string> reopen_path;
    };
    void writer_loop();
    bool write_all(const std::string& data);
    void open_path(const std::string& path, bool at_start);
    void drop(uint64_t n);

    std::string path_;      // the drain loop's view (reopen() sets it)
    std::string cur_path_;  // the writer thread's: what fd_ is
    int fd_ = -1;
    bool owned_ = false;
    bool chunked_ = false;  // a pipe or socket: writes of at most PIPE_BUF after poll, never block
    uid_t owner_;
    gid_t group_;
    OnWritten on_written_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> items_;
    size_t bytes_ = 0, bound_;
    bool closing_ = false;
    std::atomic<bool> abandon_{false}, done_{false};
    bool failing_ = false;      // writer thread only: in a write-error episode (said once)
    bool reader_gone_ = false;  // writer thread only: EPIPE, nothing more until a reopen
    std::atomic<int64_t> progress_ns_{0};
    bool dropping_ = false;  // in a drop episode (said once on stderr until the queue empties)
    std::atomic<uint64_t> unreported_{0}, dropped_{0}, written_{0}, write_errors_{0};
    std::thread thread_;
};

}  // namespace probescope
