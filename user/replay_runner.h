// Replay's frames through the XDP program on several CPUs at once: each worker pinned to a CPU
// of its own, every frame of one source on the same worker, in capture order.
#pragma once
#include <barrier>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace probescope {

// Which of `workers` runs a frame: a hash of its IP source address (after up to two VLAN tags),
// so that one source's frames keep their capture order; a frame without one goes to worker 0.
// A placement only: the program parses and classifies every frame itself.
unsigned worker_of(const uint8_t* frame, size_t len, unsigned workers);

// The CPUs this thread may run on (sched_getaffinity), lowest first.
std::vector<int> usable_cpus();
// Workers for --jobs N: N, or every usable CPU for 0; a clear Error for more than there are.
unsigned replay_jobs(unsigned requested);

class ReplayRunner {
public:
    // `jobs` workers (replay_jobs), pinned to the first `jobs` of usable_cpus(); a clear Error
    // when a worker cannot be pinned. With one job every frame runs on the calling thread,
    // unpinned.
    ReplayRunner(int prog_fd, unsigned jobs);
    ~ReplayRunner();
    ReplayRunner(const ReplayRunner&) = delete;
    ReplayRunner& operator=(const ReplayRunner&) = delete;

    // Queues a frame at capture time ts_ns; runs the queue once it is full.
    void add(const std::vector<uint8_t>& frame, int64_t ts_ns);
    // Runs every queued frame; on return the program has seen each one added so far.
    void flush();
    // Frames the program did not run on (shorter than an Ethernet header, or a failed test run).
    uint64_t refused() const;
    unsigned jobs() const { return static_cast<unsigned>(shards_.size()); }

private:
    // One worker's frames, back to back in `bytes`: each its capture time
    // (PS_REPLAY_META_BYTES) then its bytes, from starts[i] up to the next start.
    struct Shard {
        std::vector<uint8_t> bytes;
        std::vector<size_t> starts;
        uint64_t refused = 0;
        int pin_errno = 0;
    };
    void run(Shard& s);
    void work(unsigned w, int cpu);
    void stop();

    int prog_fd_;
    std::vector<Shard> shards_;
    size_t queued_ = 0;
    bool stopping_ = false;  // written before a start phase, read after it
    std::unique_ptr<std::barrier<>> start_, done_;
    std::vector<std::thread> threads_;
};

}  // namespace probescope
