// Agent cost (issue 6 item 4): one interval's drain and classification of N active sources.
// The real program (LoadedProgram, the agent's own loader) is filled by running it over N
// distinct sources' probes with BPF_PROG_TEST_RUN; then the real MapDrain::read_interval and
// IntervalProcessor::process (records serialised, as `run` writes them) are timed. In the same
// run, the kernel drain floor (lookup-and-delete alone over a map of the same shape and keys)
// says how much of that time is the kernel's and how much user space adds.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "error.h"
#include "huge_alloc.h"
#include "interval_processor.h"
#include "map_drain.h"
#include "map_fill.h"
#include "packet_builder.h"
#include "probescope/track.h"
#include "process_usage.h"
#include "table_design.h"
#include "xdp_session.h"

using namespace probescope;
using probescope::test::Frame;
using probescope::test::PacketBuilder;

namespace {

// A /proc/self/status or /proc/meminfo field in kB.
uint64_t proc_kb(const char* file, const std::string& field) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
    }
    return 0;
}

double cpu_ms() { return static_cast<double>(process_cpu_ns()) / 1e6; }

double wall_ms() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Runs the program over `probes` SYNs from each of n sources (240.0.0.0/4, one per source
// index), each to its own ports: scanner-shaped sources, not flood members.
uint64_t fill(int prog_fd, uint32_t first, uint32_t n, uint32_t probes) {
    Frame f = PacketBuilder()
                  .eth()
                  .ipv4("240.0.0.1", "198.51.100.2")
                  .tcp(40000, 80, 0x02)
                  .window(1024)
                  .tcp_options(probescope::test::tcpopt::mss(1460))
                  .build();
    constexpr size_t kSrc = 14 + 12, kDport = 14 + 20 + 2;
    uint64_t failed = 0;
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t src = htonl(0xf0000000u | (first + i));
        memcpy(&f[kSrc], &src, 4);
        for (uint32_t p = 0; p < probes; ++p) {
            uint16_t port = htons(static_cast<uint16_t>(1 + (i * 7 + p * 131) % 65000));
            memcpy(&f[kDport], &port, 2);
            LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = f.data(),
                        .data_size_in = static_cast<uint32_t>(f.size()), .repeat = 1);
            if (bpf_prog_test_run_opts(prog_fd, &run) != 0) ++failed;
        }
    }
    return failed;
}

// What the process has spent in the kernel and how many pages it touched for the first time
// (minor faults): the first interval's extra cost is mostly there, zeroing new pages.
struct Usage {
    double sys_ms = 0;
    uint64_t minor_faults = 0;
};

Usage usage() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return {ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3,
            static_cast<uint64_t>(ru.ru_minflt)};
}

struct Step {
    size_t drained = 0, from_pending = 0, records = 0, bytes = 0;
    double drain_cpu = 0, drain_wall = 0, classify_cpu = 0, classify_wall = 0, dump_wall = 0;
    Usage drain_use, classify_use;  // deltas over each phase
};

// perf record --control=fifo:CTL[,ACK]: the steady, third and fourth intervals switch perf's
// sampling on and off around themselves (--perf-control), so a profile holds those intervals alone.
// With ACK, each switch waits for perf's "ack": without it, perf may switch a little late.
std::ofstream perf_ctl;
std::ifstream perf_ack;

void perf_switch(const char* what) {
    if (!perf_ctl.is_open()) return;
    perf_ctl << what << std::endl;
    std::string reply;
    if (perf_ack.is_open() && !std::getline(perf_ack, reply))
        throw Error("perf closed its --perf-control ack FIFO");
}

Step one_interval(MapDrain& drain, IntervalProcessor& proc, const Clock& clock,
                  bool profiled = false) {
    if (profiled) perf_switch("enable");
    Step s;
    Usage u0 = usage();
    double c0 = cpu_ms(), w0 = wall_ms();
    Interval iv = drain.read_interval(clock.now_stamp(), 1.0);
    double c1 = cpu_ms(), w1 = wall_ms();
    Usage u1 = usage();
    // The dump is timed by the wall clock (vDSO): two CPU-clock reads per record are two
    // syscalls, which were 7% of an interval of 110,000 records. The bench runs on one
    // pinned core, so the two clocks agree.
    proc.process(iv, [&](const nlohmann::json& j) {
        double d0 = wall_ms();
        s.bytes += j.dump().size() + 1;
        s.dump_wall += wall_ms() - d0;
        ++s.records;
    });
    s.drained = iv.sources.size();
    s.from_pending = iv.src_map.pending_drained;
    // As the agent does: the buffer goes back to MapDrain, and the next interval drains into it.
    drain.recycle(std::move(iv.sources));
    double c2 = cpu_ms(), w2 = wall_ms();
    Usage u2 = usage();
    s.drain_use = {u1.sys_ms - u0.sys_ms, u1.minor_faults - u0.minor_faults};
    s.classify_use = {u2.sys_ms - u1.sys_ms, u2.minor_faults - u1.minor_faults};
    s.drain_cpu = c1 - c0, s.drain_wall = w1 - w0;
    s.classify_cpu = c2 - c1, s.classify_wall = w2 - w1;
    if (profiled) perf_switch("disable");
    return s;
}

nlohmann::json step_json(const Step& s) {
    return {{"drained", s.drained},
            {"drained_from_src_pending", s.from_pending},
            {"records", s.records},
            {"record_bytes", s.bytes},
            {"drain_cpu_ms", s.drain_cpu},
            {"drain_wall_ms", s.drain_wall},
            {"classify_cpu_ms", s.classify_cpu},
            {"classify_wall_ms", s.classify_wall},
            {"of_which_json_dump_wall_ms", s.dump_wall},
            // The drain's system time is mostly the bpf syscall. Classify makes no bpf call:
            // its system time is mostly page faults of memory touched for the first time.
            {"drain_sys_cpu_ms", s.drain_use.sys_ms},
            {"drain_minor_faults", s.drain_use.minor_faults},
            {"classify_sys_cpu_ms", s.classify_use.sys_ms},
            {"classify_minor_faults", s.classify_use.minor_faults},
            {"total_cpu_ms", s.drain_cpu + s.classify_cpu},
            {"total_wall_ms", s.drain_wall + s.classify_wall}};
}

// The kernel drain floor: what bpf_map_lookup_and_delete_batch alone costs over n entries of
// a plain LRU_HASH shaped like src_stats (key and value size, max_entries, flags), filled with
// the same n keys by bpf_map_update_batch, drained in MapDrain's batch size into preallocated
// buffers. No per-entry work in user space: the agent's drain cannot be cheaper than this.
struct Floor {
    size_t drained = 0;
    double cpu = 0, wall = 0;
};

// Drains the whole map at fd in MapDrain's batches into keys and values; returns how many.
size_t drain_all(int fd, std::vector<ps_src_key>& keys, std::vector<uint8_t>& values) {
    size_t drained = 0;
    ps_src_key out_batch{};
    bool start = true;
    for (;;) {
        uint32_t count = MapDrain::kBatch;
        LIBBPF_OPTS(bpf_map_batch_opts, bo);
        int err = bpf_map_lookup_and_delete_batch(fd, start ? nullptr : &out_batch, &out_batch,
                                                  keys.data(), values.data(), &count, &bo);
        int e = err ? errno : 0;
        if (err && e != ENOENT) throw Error(errno_text("cannot drain the floor map", e));
        start = false;
        drained += count;
        if (e == ENOENT) return drained;
    }
}

// recycled: the map is filled, drained and filled again before the timed drain, as src_stats
// is in the agent's steady state. A fresh map's elements sit in its LRU list in the order of
// their addresses, so the list neighbours a delete touches share the element's page; after a
// drain the free list is in bucket order, and a neighbour is anywhere in the map.
Floor kernel_floor(const bpf_map_info& like, uint32_t first, uint32_t n, bool recycled) {
    LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = like.map_flags);
    int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "ps_floor", like.key_size, like.value_size,
                            like.max_entries, &mo);
    if (fd < 0) throw Error(errno_text("cannot create the floor map", errno));
    std::vector<ps_src_key> keys(MapDrain::kBatch);
    std::vector<uint8_t> values(size_t{MapDrain::kBatch} * like.value_size);
    Floor f;
    try {
        bench::prefill_v4(fd, like.key_size, like.value_size, 0xf0000000u | first, n);
        if (recycled) {
            drain_all(fd, keys, values);
            bench::prefill_v4(fd, like.key_size, like.value_size, 0xf0000000u | first, n);
        }
        double c0 = cpu_ms(), w0 = wall_ms();
        f.drained = drain_all(fd, keys, values);
        f.cpu = cpu_ms() - c0, f.wall = wall_ms() - w0;
    } catch (...) {
        close(fd);
        throw;
    }
    close(fd);
    return f;
}

// The drain of a design src_stats could move to (bench/primitives.bpf.c, table_*; not built):
// per-source entries in an mmapped ARRAY, written by the program in place, double-buffered.
// The agent would switch the program to the other half, wait for running programs to finish
// with it (an ARRAY_OF_MAPS update returns after an RCU grace period: the kernel's
// maybe_wait_bpf_programs), then read the old half in place and zero what it read. Timed here:
// that wait, and the scan of a half holding the same n sources (slot by the program's hash,
// ps_pending_slot, linear probing; 1.25 n rounded up to a power of two slots), each entry
// copied into a sample and zeroed. No syscall per entry. Entries: bench/table_design.h.
struct TableFloor {
    size_t drained = 0, slots = 0;
    double sync_cpu = 0, sync_wall = 0, scan_cpu = 0, scan_wall = 0;
};

// Slots of an open-addressed table for n keys: 1.25 n rounded up to a power of two.
size_t slots_for(size_t n) {
    size_t slots = 1;
    while (slots < n + n / 4) slots <<= 1;
    return slots;
}

// n zeroed T on huge pages (touched, as an agent's long-lived arrays are).
template <class T>
std::unique_ptr<T, FreeDeleter> huge_zeroed(size_t n) {
    std::unique_ptr<T, FreeDeleter> p(static_cast<T*>(huge_alloc(n * sizeof(T))));
    memset(p.get(), 0, n * sizeof(T));
    return p;
}

// The table of the design above, created and filled with the n sources (state FULL, key, one
// counter), mmapped; destroying it unmaps and closes it.
class FilledTable {
public:
    FilledTable(uint32_t first, uint32_t n) {
        slots_ = slots_for(n);
        LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_MMAPABLE);
        fd_ = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ps_table", 4, sizeof(ps_table_entry),
                             static_cast<uint32_t>(slots_), &mo);
        if (fd_ < 0) throw Error(errno_text("cannot create the table map", errno));
        void* mem = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
        if (mem == MAP_FAILED) {
            int e = errno;
            close(fd_);
            throw Error(errno_text("cannot map the table", e));
        }
        t_ = static_cast<ps_table_entry*>(mem);
        const uint32_t mask = static_cast<uint32_t>(slots_ - 1);
        for (uint32_t i = 0; i < n; ++i) {
            ps_src_key k{};
            bench::put_v4_key(k.addr, 0xf0000000u | (first + i));  // kernel_floor's keys
            uint32_t slot = ps_pending_slot(k.addr, mask);
            while (t_[slot].state != PS_TABLE_EMPTY) slot = (slot + 1) & mask;
            t_[slot].state = PS_TABLE_FULL;
            t_[slot].key = k;
            t_[slot].stats.technique[0] = 1;
            t_[slot].stats.last_seen_ns = i;
        }
    }
    FilledTable(const FilledTable&) = delete;
    FilledTable& operator=(const FilledTable&) = delete;
    ~FilledTable() {
        munmap(t_, bytes());
        close(fd_);
    }
    size_t slots() const { return slots_; }
    ps_table_entry* entries() { return t_; }

private:
    size_t bytes() const { return slots_ * sizeof(ps_table_entry); }
    size_t slots_ = 1;
    int fd_ = -1;
    ps_table_entry* t_ = nullptr;
};

TableFloor table_floor(uint32_t first, uint32_t n) {
    FilledTable table(first, n);
    TableFloor f;
    f.slots = table.slots();
    int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ps_inner", 4, 4, 1, nullptr);
    LIBBPF_OPTS(bpf_map_create_opts, oo, .inner_map_fd = static_cast<__u32>(inner));
    int outer =
        inner >= 0 ? bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "ps_sync", 4, 4, 1, &oo) : -1;
    if (outer < 0) {
        int e = errno;
        if (inner >= 0) close(inner);
        throw Error(errno_text("cannot create the table's sync map", e));
    }
    ps_table_entry* t = table.entries();
    // The agent reuses its sample buffer from interval to interval: touched before, as there.
    SourceSamples out;
    out.reserve(n);
    memset(out.key_tail(), 0, n * sizeof(ps_src_key));
    memset(out.stats_tail(), 0, n * sizeof(ps_src_stats));
    uint32_t zero = 0;
    const uint32_t inner_id = static_cast<uint32_t>(inner);
    double c0 = cpu_ms(), w0 = wall_ms();
    int err = bpf_map_update_elem(outer, &zero, &inner_id, BPF_ANY);
    double c1 = cpu_ms(), w1 = wall_ms();
    for (size_t i = 0; i < f.slots; ++i) {
        ps_table_entry& e = t[i];
        if (e.state != PS_TABLE_FULL) continue;
        out.push_back(e.key, e.stats);
        memset(&e, 0, sizeof(e));
    }
    double c2 = cpu_ms(), w2 = wall_ms();
    int e = errno;
    close(outer), close(inner);
    if (err) throw Error(errno_text("cannot update the sync map", e));
    f.drained = out.size();
    f.sync_cpu = c1 - c0, f.sync_wall = w1 - w0, f.scan_cpu = c2 - c1, f.scan_wall = w2 - w1;
    return f;
}

// Lower bounds under any drain, table or not: what an agent must at least do with the n
// sources' kernel entries, on this machine's memory. *Read*: every cache line of each entry
// loaded once where the kernel wrote it (the table above, in place: no syscall, no copy, no
// zeroing; one word per line summed). *History*: the same, and each source then found in a
// history of its own, as an agent that keeps windows across intervals must: a 64-byte record
// per source in an open-addressed array (huge pages) holding the n sources, the records of 16
// entries prefetched before they are read, the entry's sum added to its record. The history's
// slot is a hash other than the table's (history_slot): with the table's, both arrays being
// the same size, the table's scan would walk the history in order, which no real history
// does. The real agent's history is larger
// (SourceState) and its fold reads every counter, not a sum: these are floors, not designs.
struct InPlaceFloor {
    size_t read = 0;
    double cpu = 0;
};

struct HistoryRecord {
    ps_src_key key;
    uint64_t sum;
    uint64_t entries;
    uint8_t rest[32];
};
static_assert(sizeof(HistoryRecord) == 64);

uint32_t history_slot(const ps_src_key& k, uint32_t mask) {
    return ps_mix32(ps_fold_addr(k.addr) * 0x9e3779b1u) & mask;
}

InPlaceFloor in_place_floor(uint32_t first, uint32_t n, bool history) {
    FilledTable table(first, n);
    const ps_table_entry* t = table.entries();
    const size_t hslots = slots_for(n);
    const auto hmask = static_cast<uint32_t>(hslots - 1);
    std::unique_ptr<HistoryRecord, FreeDeleter> hist;
    HistoryRecord* h = nullptr;
    if (history) {
        hist = huge_zeroed<HistoryRecord>(hslots);
        h = hist.get();
        for (size_t i = 0; i < table.slots(); ++i) {
            if (t[i].state != PS_TABLE_FULL) continue;
            uint32_t slot = history_slot(t[i].key, hmask);
            while (h[slot].entries) slot = (slot + 1) & hmask;
            h[slot].key = t[i].key;
            h[slot].entries = 1;
        }
    }
    // One 8-byte word from every 64 bytes of the entry, and its last word: every cache line the
    // entry spans is loaded, with the fewest instructions (the real fold reads every counter).
    auto entry_sum = [](const ps_table_entry& e) {
        const auto* b = reinterpret_cast<const uint8_t*>(&e);
        uint64_t sum = 0, w;
        for (size_t off = 0; off + 8 <= sizeof(e); off += 64) {
            memcpy(&w, b + off, 8);
            sum += w;
        }
        memcpy(&w, b + sizeof(e) - 8, 8);
        return sum + w;
    };
    InPlaceFloor f;
    uint64_t total = 0;
    constexpr size_t kAhead = 16;
    std::array<uint32_t, kAhead> at{}, rec{};
    double c0 = cpu_ms();
    for (size_t i = 0; i < table.slots();) {
        size_t m = 0;
        for (; m < kAhead && i < table.slots(); ++i)
            if (t[i].state == PS_TABLE_FULL) at[m++] = static_cast<uint32_t>(i);
        if (history)
            for (size_t j = 0; j < m; ++j) {
                rec[j] = history_slot(t[at[j]].key, hmask);
                __builtin_prefetch(&h[rec[j]]);
            }
        for (size_t j = 0; j < m; ++j) {
            const ps_table_entry& e = t[at[j]];
            const uint64_t sum = entry_sum(e);
            if (history) {
                uint32_t slot = rec[j];
                while (memcmp(h[slot].key.addr, e.key.addr, sizeof(e.key.addr)) != 0)
                    slot = (slot + 1) & hmask;
                h[slot].sum += sum;
            } else {
                total += sum;
            }
        }
        f.read += m;
    }
    f.cpu = cpu_ms() - c0;
    if (total == ~0ull) std::puts("");  // keeps the sums live
    return f;
}

// The least an agent that keeps each source's counters across intervals must do with a table
// entry read in place (the *fold floor*): find the source's history, a record of the entry's
// own shape (key and ps_src_stats, 704 B, huge pages), add every 8-byte word of the entry into
// the record's, and zero the entry for the program's next turn with it. A real fold does more
// per word (HLL registers take the larger nibble, slot sets merge, windows roll), so this
// bounds it from below. Two layouts of the history:
// - hashed: records numbered in the order of an open-addressed index of record numbers, found
//   through it (another hash than the table's, as in_place_floor's history), the index slots
//   prefetched 2 D entries ahead and every line of the record D ahead;
// - aligned: each source's record at its entry's own slot, so that the fold walks records and
//   entries in the same order (the best case for memory: it needs every source to hold the
//   same slot in the table interval after interval, which claims by hash and linear probing
//   do not promise), every line of the record prefetched D ahead.
struct FoldRecord {
    ps_src_key key;
    ps_src_stats acc;
};

InPlaceFloor fold_floor(uint32_t first, uint32_t n, bool aligned) {
    FilledTable table(first, n);
    ps_table_entry* t = table.entries();
    const size_t islots = slots_for(n);
    const auto imask = static_cast<uint32_t>(islots - 1);
    const size_t nrecs = aligned ? table.slots() : n;
    auto rec_mem = huge_zeroed<FoldRecord>(nrecs);
    FoldRecord* recs = rec_mem.get();
    std::unique_ptr<uint32_t, FreeDeleter> index_mem;
    uint32_t* index = nullptr;  // hashed: record number + 1 per slot; 0: empty
    if (aligned) {
        for (size_t i = 0; i < table.slots(); ++i)
            if (t[i].state == PS_TABLE_FULL) recs[i].key = t[i].key;
    } else {
        index_mem = huge_zeroed<uint32_t>(islots);
        index = index_mem.get();
        for (size_t i = 0; i < table.slots(); ++i) {  // entry position + 1 for now
            if (t[i].state != PS_TABLE_FULL) continue;
            uint32_t slot = history_slot(t[i].key, imask);
            while (index[slot]) slot = (slot + 1) & imask;
            index[slot] = static_cast<uint32_t>(i + 1);
        }
        uint32_t used = 0;  // then records numbered in index order, not the table's
        for (size_t slot = 0; slot < islots; ++slot) {
            if (!index[slot]) continue;
            recs[used].key = t[index[slot] - 1].key;
            index[slot] = ++used;
        }
    }
    constexpr size_t kWords = sizeof(ps_src_stats) / 8;
    static_assert(sizeof(ps_src_stats) % 8 == 0);
    constexpr size_t D = 8;  // 2, 4, 8 and 16 measured alike at 100k
    std::vector<uint32_t> full;
    full.reserve(table.slots());
    std::vector<uint32_t> islot(table.slots());
    auto record = [&](size_t k) { return aligned ? &recs[full[k]] : &recs[index[islot[k]] - 1]; };
    auto index_of = [&](size_t k) {
        if (aligned) return;
        islot[k] = history_slot(t[full[k]].key, imask);
        __builtin_prefetch(&index[islot[k]]);
    };
    auto record_of = [&](size_t k) {
        const char* rec = reinterpret_cast<const char*>(record(k));
        for (size_t off = 0; off < sizeof(FoldRecord); off += 64) __builtin_prefetch(rec + off, 1);
    };
    InPlaceFloor f;
    size_t lost = 0;
    double c0 = cpu_ms();
    for (size_t i = 0; i < table.slots(); ++i)
        if (t[i].state == PS_TABLE_FULL) full.push_back(static_cast<uint32_t>(i));
    const size_t nf = full.size();
    for (size_t k = 0; k < nf && k < 2 * D; ++k) index_of(k);
    for (size_t k = 0; k < nf && k < D; ++k) record_of(k);
    for (size_t k = 0; k < nf; ++k) {
        if (k + 2 * D < nf) index_of(k + 2 * D);
        if (k + D < nf) record_of(k + D);
        ps_table_entry& e = t[full[k]];
        FoldRecord* rec = record(k);
        for (uint32_t slot = islot[k];
             memcmp(rec->key.addr, e.key.addr, sizeof(e.key.addr)) != 0;) {
            if (aligned) {  // never: recs[i] took entry i's key
                ++lost;
                break;
            }
            slot = (slot + 1) & imask;
            rec = &recs[index[slot] - 1];
        }
        uint64_t a[kWords], b[kWords];
        memcpy(a, &rec->acc, sizeof(a));
        memcpy(b, &e.stats, sizeof(b));
        for (size_t w = 0; w < kWords; ++w) a[w] += b[w];
        memcpy(&rec->acc, a, sizeof(a));
        memset(&e, 0, sizeof(e));
    }
    f.cpu = cpu_ms() - c0;
    f.read = nf - lost;
    return f;
}

nlohmann::json in_place_json(const InPlaceFloor& f, uint32_t n, const char* what) {
    return {
        {"what", what}, {"read", f.read}, {"cpu_ms", f.cpu}, {"ns_per_source", f.cpu * 1e6 / n}};
}

// The agent's interval against the floor: how many floors it costs, and what user space adds.
nlohmann::json vs_floor(const Step& s, double floor_cpu, uint32_t n) {
    double total = s.drain_cpu + s.classify_cpu, user = total - floor_cpu;
    return {{"drain_to_floor", s.drain_cpu / floor_cpu},
            {"total_to_floor", total / floor_cpu},
            {"user_side_cpu_ms", user},
            {"user_side_ns_per_source", user * 1e6 / n}};
}

nlohmann::json measure(uint32_t n, uint32_t probes, size_t source_records, uint32_t third_max,
                       const ResearchScannerLists* research) {
    uint64_t avail0 = proc_kb("/proc/meminfo", "MemAvailable");
    LoadConfig lc;
    // The LRU evicts before it is full (per-CPU free lists): room beyond n keeps every source.
    lc.max_sources = n + n / 4 + 4096;
    auto prog = LoadedProgram::load(lc);
    uint64_t avail1 = proc_kb("/proc/meminfo", "MemAvailable");
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    bpf_obj_get_info_by_fd(prog->src_stats_fd(), &info, &len);

    Clock clock = Clock::monotonic();
    MapDrain drain(prog->map_fds(), prog->src_capacity());
    ProcessorConfig pc;
    pc.max_sources = prog->src_capacity();
    pc.source_records = source_records;
    IntervalProcessor proc(pc, RecordContext{"bench", clock}, research);
    uint64_t rss0 = resident_bytes() / 1024;

    double f0 = wall_ms();
    uint64_t failed = fill(prog->prog_fd(), 1, n, probes);
    double fill_s = (wall_ms() - f0) / 1e3;
    Step first = one_interval(drain, proc, clock);
    uint64_t rss1 = resident_bytes() / 1024;
    // The same sources again: the steady state, where the agent already holds them.
    fill(prog->prog_fd(), 1, n, probes);
    Step again = one_interval(drain, proc, clock, true);
    uint64_t rss2 = resident_bytes() / 1024;
    // The floor in this run, after the agent's intervals (their RSS is taken): two rounds on
    // the same map shape, the faster one counts (the lower floor leaves user space the more).
    // A fresh map is the first interval's floor; one drained and filled before, the steady's.
    std::vector<Floor> rounds{kernel_floor(info, 1, n, false), kernel_floor(info, 1, n, false)};
    std::vector<Floor> rrounds{kernel_floor(info, 1, n, true), kernel_floor(info, 1, n, true)};
    const Floor& fl = rounds[0].cpu <= rounds[1].cpu ? rounds[0] : rounds[1];
    const Floor& rfl = rrounds[0].cpu <= rrounds[1].cpu ? rrounds[0] : rrounds[1];
    std::vector<TableFloor> trounds{table_floor(1, n), table_floor(1, n)};
    auto ttotal = [](const TableFloor& t) { return t.sync_cpu + t.scan_cpu; };
    const TableFloor& tf = ttotal(trounds[0]) <= ttotal(trounds[1]) ? trounds[0] : trounds[1];
    auto faster = [](const InPlaceFloor& a, const InPlaceFloor& b) {
        return a.cpu <= b.cpu ? a : b;
    };
    const InPlaceFloor read_fl = faster(in_place_floor(1, n, false), in_place_floor(1, n, false));
    const InPlaceFloor hist_fl = faster(in_place_floor(1, n, true), in_place_floor(1, n, true));
    const InPlaceFloor fold_fl = faster(fold_floor(1, n, false), fold_floor(1, n, false));
    const InPlaceFloor afold_fl = faster(fold_floor(1, n, true), fold_floor(1, n, true));
    // The same sources a third time, after the floors (not timed against them): their verdicts
    // change, and each change is a scanner record (the cost of a burst of them).
    nlohmann::json third_json = nullptr, fourth_json = nullptr;
    if (n <= third_max) {
        fill(prog->prog_fd(), 1, n, probes);
        third_json = step_json(one_interval(drain, proc, clock, true));
        // A fourth time: every source is a scanner now and its verdict holds, so no scanner
        // record; what classifying a steady population of scanners costs.
        fill(prog->prog_fd(), 1, n, probes);
        fourth_json = step_json(one_interval(drain, proc, clock, true));
    }
    auto rounds_json = [](const std::vector<Floor>& rs) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : rs)
            out.push_back({{"drained", r.drained}, {"cpu_ms", r.cpu}, {"wall_ms", r.wall}});
        return out;
    };

    uint64_t memlock = map_memlock_bytes(prog->src_stats_fd());
    uint64_t kernel_delta = avail0 > avail1 ? (avail0 - avail1) * 1024 : 0;
    nlohmann::json j = {
        {"sources", n},
        {"probes_per_source", probes},
        {"source_records", source_records},
        {"fill", "BPF_PROG_TEST_RUN of the real program, one call per probe"},
        {"fill_seconds", fill_s},
        {"fill_failed_runs", failed},
        {"src_stats",
         {{"type", libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type))},
          {"max_entries", info.max_entries},
          {"key_size", info.key_size},
          {"value_size", info.value_size},
          {"memlock_bytes", memlock},
          {"memlock_bytes_per_entry", double(memlock) / info.max_entries},
          {"memavailable_drop_bytes", kernel_delta},
          {"memavailable_drop_per_entry", double(kernel_delta) / info.max_entries}}},
        {"first_interval", step_json(first)},
        {"steady_interval", step_json(again)},
        {"third_interval", third_json},
        {"fourth_interval", fourth_json},
        {"kernel_floor",
         {{"what",
           "bpf_map_lookup_and_delete_batch alone, in MapDrain's batches, over a plain "
           "LRU_HASH of src_stats' shape holding the same keys (filled by "
           "bpf_map_update_batch); the faster of two rounds. Fresh: a new map, the first "
           "interval's floor. Recycled: the map filled, drained and filled again first, as "
           "src_stats is in the steady state, the steady interval's floor"},
          {"batch", MapDrain::kBatch},
          {"drained", fl.drained},
          {"rounds", rounds_json(rounds)},
          {"recycled_rounds", rounds_json(rrounds)}}},
        {"kernel_floor_cpu_ms", fl.cpu},
        {"kernel_floor_wall_ms", fl.wall},
        {"kernel_floor_ns_per_entry", fl.drained ? fl.cpu * 1e6 / fl.drained : 0.0},
        {"kernel_floor_recycled_cpu_ms", rfl.cpu},
        {"kernel_floor_recycled_wall_ms", rfl.wall},
        {"kernel_floor_recycled_ns_per_entry", rfl.drained ? rfl.cpu * 1e6 / rfl.drained : 0.0},
        {"table_floor",
         {{"what",
           "a design not built: the same n sources in an mmapped ARRAY of 712-byte entries, "
           "read in place (each entry copied into a sample, then zeroed) after an "
           "ARRAY_OF_MAPS update waits out running programs; the faster of two rounds"},
          {"slots", tf.slots},
          {"drained", tf.drained},
          {"sync_cpu_ms", tf.sync_cpu},
          {"sync_wall_ms", tf.sync_wall},
          {"scan_cpu_ms", tf.scan_cpu},
          {"scan_wall_ms", tf.scan_wall},
          {"cpu_ms", ttotal(tf)},
          {"ns_per_source", ttotal(tf) * 1e6 / n}}},
        {"read_floor",
         in_place_json(read_fl, n,
                       "every cache line of the n entries loaded once in place (that table, "
                       "mmapped: no syscall, no copy, no zeroing; one word per line); the "
                       "faster of two rounds")},
        {"history_floor",
         in_place_json(hist_fl, n,
                       "the read floor, and each source found in a history of 64-byte records "
                       "(open addressing, prefetched 16 ahead) and its sum added there; the "
                       "faster of two rounds")},
        {"fold_floor",
         in_place_json(fold_fl, n,
                       "each entry of that table folded in place: its source found through an "
                       "open-addressed index of record numbers, every 8-byte word of the entry "
                       "added into a record of the entry's shape (704 B, huge pages, records in "
                       "hash order), the entry zeroed; index slots prefetched 16 entries ahead, "
                       "every line of the record 8 ahead; the faster of two rounds")},
        {"aligned_fold_floor",
         in_place_json(afold_fl, n,
                       "the fold floor with each source's record at its entry's own slot, so "
                       "that records and entries are walked in the same order (the best case "
                       "for memory); every line of the record prefetched 8 entries ahead; the "
                       "faster of two rounds")},
        {"first_vs_floor", vs_floor(first, fl.cpu, n)},
        {"steady_vs_floor", vs_floor(again, rfl.cpu, n)},
        {"rss_kb", {{"before", rss0}, {"after_first", rss1}, {"after_steady", rss2}}},
        {"user_bytes_per_source", double(rss2 > rss0 ? (rss2 - rss0) * 1024 : 0) / n},
        {"agent_table_sources", proc.sources().size()},
        {"source_state_bytes", sizeof(SourceState)},
        {"fold_record_bytes", sizeof(FoldRecord)},
    };
    return j;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"probescope-agent-bench: drain and classify N active sources, CPU and memory"};
    std::vector<uint32_t> sizes{10000, 100000, 1000000};
    uint32_t probes = 3;
    app.add_option("--sources", sizes, "Active sources per interval (one run each)")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--probes-per-source", probes,
                   "Probes each source sends (3: above --flood-source-packets, so each source "
                   "is classified on its own)")
        ->check(CLI::Range(1u, 64u))
        ->capture_default_str();
    size_t source_records = ProcessorConfig{}.source_records;
    app.add_option("--source-records", source_records,
                   "Source records per interval, as the agent's --source-records (0: none)")
        ->capture_default_str();
    uint32_t third_max = 100000;
    app.add_option("--third-max", third_max,
                   "Runs of at most this many sources also time a third interval of the same "
                   "sources, whose verdicts change, and a fourth, whose verdicts hold (0: none)")
        ->capture_default_str();
    std::string ctl;
    app.add_option("--perf-control", ctl,
                   "CTL[,ACK]: the FIFOs of perf record --control=fifo:CTL[,ACK]; sampling is on "
                   "during the steady, third and fourth intervals only");
    std::vector<std::string> research_paths;
    app.add_option("--research-list", research_paths,
                   "FILE: a research-scanner list, as the agent's --research-list "
                   "(repeatable): the lists loaded, as a deployment's config would");
    bool no_thp = false;
    app.add_flag("--no-thp", no_thp,
                 "Run without transparent huge pages (PR_SET_THP_DISABLE), as on a host whose "
                 "THP setting is never: the agent's huge-page advice is then refused");
    CLI11_PARSE(app, argc, argv);
    try {
        if (no_thp && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
            throw Error(errno_text("cannot disable transparent huge pages", errno));
        if (!ctl.empty()) {
            const size_t comma = ctl.find(',');
            const std::string path = ctl.substr(0, comma);
            perf_ctl.open(path);
            if (!perf_ctl) throw Error("cannot open --perf-control " + path);
            if (comma != std::string::npos) {
                perf_ack.open(ctl.substr(comma + 1));
                if (!perf_ack) throw Error("cannot open --perf-control " + ctl.substr(comma + 1));
            }
        }
        ResearchScannerLists research(ResearchScannerLists::Suffixes::kNone);
        for (const auto& path : research_paths) research.load_file(path);
        nlohmann::json runs = nlohmann::json::array();
        for (uint32_t n : sizes) {
            runs.push_back(measure(n, probes, source_records, third_max,
                                   research_paths.empty() ? nullptr : &research));
            runs.back()["thp_disabled"] = no_thp;
            runs.back()["research_prefixes"] = research.range_count();
            fprintf(stderr, "agent-bench: %u sources done\n", n);
        }
        nlohmann::json out = {{"runs", runs}, {"vm_hwm_kb", proc_kb("/proc/self/status", "VmHWM")}};
        printf("%s\n", out.dump(1).c_str());
    } catch (const std::exception& e) {
        fprintf(stderr, "probescope-agent-bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
