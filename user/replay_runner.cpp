// ReplayRunner: batches of frames, split by source, run by pinned workers (BPF_PROG_TEST_RUN).
#include "replay_runner.h"

#include <linux/if_ether.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "error.h"
#include "probescope/abi.h"
#include "xdp_session.h"

namespace probescope {
namespace {

// Frames queued per worker before the workers run them: enough that a batch costs far more than
// the two barrier phases around it (which grow with the workers), few enough that a worker's
// share of full-size frames stays a few MB.
constexpr size_t kBatchFramesPerWorker = 4096;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

unsigned worker_of(const uint8_t* frame, size_t len, unsigned workers) {
    if (workers <= 1 || len < ETH_HLEN) return 0;
    size_t l3 = 12;  // the ethertype, then after each tag the inner one
    uint16_t type = be16(frame + l3);
    for (int tags = 0;
         tags < PS_MAX_VLAN && (type == ETH_P_8021Q || type == ETH_P_8021AD) && l3 + 6 <= len;
         ++tags) {
        l3 += 4;
        type = be16(frame + l3);
    }
    l3 += 2;
    uint8_t addr[16] = {};
    if (type == ETH_P_IP && l3 + 16 <= len) {
        addr[10] = addr[11] = 0xff;  // v4-mapped, as the program keys sources
        std::memcpy(addr + 12, frame + l3 + 12, 4);
    } else if (type == ETH_P_IPV6 && l3 + 24 <= len) {
        std::memcpy(addr, frame + l3 + 8, 16);
    } else {
        return 0;
    }
    return ps_mix32(ps_fold_addr(addr)) % workers;
}

std::vector<int> usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        throw Error(errno_text("cannot read this process's CPU affinity", errno));
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    return cpus;
}

unsigned replay_jobs(unsigned requested) {
    const size_t cpus = usable_cpus().size();
    if (requested > cpus)
        throw Error("--jobs " + std::to_string(requested) + ": this process may run on " +
                        std::to_string(cpus) + " CPU(s)",
                    "give --jobs " + std::to_string(cpus) + " or fewer, or leave it out (all)");
    return requested ? requested : static_cast<unsigned>(cpus);
}

ReplayRunner::ReplayRunner(int prog_fd, unsigned jobs)
    : prog_fd_(prog_fd), shards_(replay_jobs(jobs)) {
    jobs = this->jobs();
    if (jobs == 1) return;
    const std::vector<int> cpus = usable_cpus();
    start_ = std::make_unique<std::barrier<>>(jobs + 1);
    done_ = std::make_unique<std::barrier<>>(jobs + 1);
    for (unsigned w = 0; w < jobs; ++w) {
        try {
            threads_.emplace_back([this, w, cpu = cpus[w]] { work(w, cpu); });
        } catch (const std::system_error& e) {
            // The workers started wait at both barriers for jobs + 1 parties: the ones that
            // never started leave them, and the started ones are let go and joined.
            for (unsigned missing = w; missing < jobs; ++missing) {
                done_->arrive_and_drop();
                start_->arrive_and_drop();
            }
            done_->arrive_and_wait();
            stop();
            throw Error(errno_text("cannot start replay worker " + std::to_string(w) + " of " +
                                       std::to_string(jobs),
                                   e.code().value()),
                        "give --jobs 1 to replay on one thread, or raise the process limit "
                        "(ulimit -u)");
        }
    }
    done_->arrive_and_wait();  // every worker pinned (or not): pin_errno is set
    for (unsigned w = 0; w < jobs; ++w) {
        if (shards_[w].pin_errno == 0) continue;
        const int err = shards_[w].pin_errno;
        stop();
        throw Error(errno_text("cannot pin replay worker " + std::to_string(w) + " to CPU " +
                                   std::to_string(cpus[w]),
                               err),
                    "give --jobs 1 to replay on one thread, unpinned");
    }
}

ReplayRunner::~ReplayRunner() { stop(); }

void ReplayRunner::stop() {
    if (threads_.empty()) return;
    stopping_ = true;
    start_->arrive_and_wait();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

// Pinned: the program's per-CPU counters (totals, port_pkts) take plain adds, which is safe
// because no two workers share a CPU, and the kernel runs each test run with preemption off.
void ReplayRunner::work(unsigned w, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    shards_[w].pin_errno = sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : errno;
    done_->arrive_and_wait();
    for (;;) {
        start_->arrive_and_wait();
        if (stopping_) return;
        run(shards_[w]);
        done_->arrive_and_wait();
    }
}

void ReplayRunner::run(Shard& s) {
    for (size_t i = 0; i < s.starts.size(); ++i) {
        const size_t end = i + 1 < s.starts.size() ? s.starts[i + 1] : s.bytes.size();
        const auto frame_len = static_cast<uint32_t>(end - s.starts[i] - PS_REPLAY_META_BYTES);
        if (run_timed_frame(prog_fd_, s.bytes.data() + s.starts[i], frame_len) < 0) ++s.refused;
    }
    s.bytes.clear();
    s.starts.clear();
}

void ReplayRunner::add(const std::vector<uint8_t>& frame, int64_t ts_ns) {
    Shard& s = shards_[worker_of(frame.data(), frame.size(), jobs())];
    const uint64_t ts = static_cast<uint64_t>(ts_ns);
    s.starts.push_back(s.bytes.size());
    s.bytes.insert(s.bytes.end(), reinterpret_cast<const uint8_t*>(&ts),
                   reinterpret_cast<const uint8_t*>(&ts) + PS_REPLAY_META_BYTES);
    s.bytes.insert(s.bytes.end(), frame.begin(), frame.end());
    if (++queued_ >= kBatchFramesPerWorker * jobs()) flush();
}

void ReplayRunner::flush() {
    if (queued_ == 0) return;
    if (threads_.empty()) {
        run(shards_[0]);
    } else {
        start_->arrive_and_wait();
        done_->arrive_and_wait();
    }
    queued_ = 0;
}

uint64_t ReplayRunner::refused() const {
    uint64_t n = 0;
    for (const Shard& s : shards_) n += s.refused;
    return n;
}

}  // namespace probescope
