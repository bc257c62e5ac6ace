// MapDrain: batch lookup-and-delete of src_stats (key-walk fallback) and in-place port reads.
#include "map_drain.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "error.h"
#include "hll.h"

namespace probescope {

MapDrain::MapDrain(int totals_fd, int src_stats_fd, int port_stats_fd, uint32_t src_capacity)
    : totals_fd_(totals_fd), src_fd_(src_stats_fd), src_capacity_(src_capacity) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    ports_len_ = (sizeof(ps_port_stats) * PS_PORT_TABLE_SIZE + page - 1) / page * page;
    void* p = mmap(nullptr, ports_len_, PROT_READ, MAP_SHARED, port_stats_fd, 0);
    if (p == MAP_FAILED) throw Error(errno_text("cannot mmap port_stats", errno));
    ports_ = static_cast<const ps_port_stats*>(p);
    port_prev_.assign(PS_PORT_TABLE_SIZE, 0);
    keys_.resize(kBatch);
    values_.resize(kBatch);
}

MapDrain::~MapDrain() {
    if (ports_) munmap(const_cast<ps_port_stats*>(ports_), ports_len_);
}

TotalsSnapshot MapDrain::read_totals() const { return read_totals_map(totals_fd_); }

TotalsSnapshot read_totals_map(int totals_fd) {
    int ncpu = libbpf_num_possible_cpus();
    std::vector<ps_totals> per_cpu(static_cast<size_t>(ncpu));
    uint32_t key = 0;
    if (bpf_map_lookup_elem(totals_fd, &key, per_cpu.data()) != 0)
        throw Error(errno_text("cannot read the totals map", errno));
    TotalsSnapshot sum;
    for (const auto& t : per_cpu) sum += TotalsSnapshot::from_kernel(t);
    return sum;
}

// The program counts each probe once, by technique (one atomic fewer per packet); the probe
// classes' packet counts follow from those. Written in place: no sample is copied twice.
static void append_sample(std::vector<SourceSample>& out, const ps_src_key& key,
                          const ps_src_stats& stats) {
    SourceSample& s = out.emplace_back();
    s.key = key;
    s.stats = stats;
    for (unsigned c = 0; c < PS_PROBE_CLASS_COUNT; ++c) s.stats.pkts[c] = 0;
    for (unsigned t = 0; t < PS_TECH_COUNT; ++t)
        s.stats.pkts[ps_technique_class(t)] += stats.technique[t];
}

size_t MapDrain::drain_sources(std::vector<SourceSample>& out) {
    if (!batch_ok_) return drain_by_key(out);
    size_t total = 0;
    ps_src_key out_batch{};
    bool first = true;
    for (;;) {
        uint32_t count = kBatch;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int err = bpf_map_lookup_and_delete_batch(src_fd_, first ? nullptr : &out_batch, &out_batch,
                                                  keys_.data(), values_.data(), &count, &opts);
        int e = err ? errno : 0;
        if (err && e != ENOENT) {
            if (first && (e == EINVAL || e == 524 /* ENOTSUPP */ || e == EOPNOTSUPP)) {
                batch_ok_ = false;  // kernels without batch ops on LRU maps
                return drain_by_key(out);
            }
            throw Error(errno_text("cannot drain src_stats", e));
        }
        first = false;
        for (uint32_t i = 0; i < count; ++i) append_sample(out, keys_[i], values_[i]);
        total += count;
        if (e == ENOENT) break;
    }
    return total;
}

size_t MapDrain::drain_by_key(std::vector<SourceSample>& out) {
    size_t n = 0;
    ps_src_key key{}, next{};
    const void* prev = nullptr;
    std::vector<ps_src_key> keys;
    while (bpf_map_get_next_key(src_fd_, prev, &next) == 0) {
        keys.push_back(next);
        key = next;
        prev = &key;
        if (keys.size() > static_cast<size_t>(src_capacity_) * 2) break;
    }
    for (const auto& k : keys) {
        ps_src_stats v{};
        if (bpf_map_lookup_and_delete_elem(src_fd_, &k, &v) == 0 ||
            (bpf_map_lookup_elem(src_fd_, &k, &v) == 0 && bpf_map_delete_elem(src_fd_, &k) == 0)) {
            append_sample(out, k, v);
            ++n;
        }
    }
    return n;
}

uint64_t MapDrain::count_sources() const {
    uint64_t n = 0;
    ps_src_key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(src_fd_, prev, &next) == 0 && n <= src_capacity_ * 2ull) {
        key = next;
        prev = &key;
        ++n;
    }
    return n;
}

void MapDrain::set_baseline(const TotalsSnapshot& totals, uint64_t inserts_base) {
    prev_ = totals;
    inserts_base_ = inserts_base;
}

Interval MapDrain::read_interval(uint64_t now_ns, double seconds) {
    Interval iv;
    iv.seq = ++seq_;
    iv.now_ns = now_ns;
    iv.seconds = seconds;
    iv.cumulative = read_totals();
    before_ = prev_;
    iv.delta = iv.cumulative - prev_;
    prev_ = iv.cumulative;
    iv.sources.swap(spare_);
    iv.sources.clear();
    drain_sources(iv.sources);
    read_ports(iv.ports);
    drained_total_ += iv.sources.size();
    // Inserts that were neither drained nor still present were evicted by the LRU.
    int64_t ev = static_cast<int64_t>(iv.cumulative.src_inserts - inserts_base_) -
                 static_cast<int64_t>(drained_total_);
    evictions_ = std::max<int64_t>(evictions_, ev);
    iv.src_map = {src_capacity_, iv.sources.size(), static_cast<uint64_t>(evictions_)};
    return iv;
}

void MapDrain::recycle(std::vector<SourceSample>&& sources) {
    if (sources.capacity() > spare_.capacity()) spare_.swap(sources);
}

void MapDrain::read_ports(std::vector<PortSample>& out) {
    for (uint32_t idx = 0; idx < PS_PORT_TABLE_SIZE; ++idx) {
        uint64_t now = __atomic_load_n(&ports_[idx].pkts, __ATOMIC_RELAXED);
        if (now == port_prev_[idx]) continue;
        out.push_back({idx >> 16, static_cast<uint16_t>(idx & 0xffff), now - port_prev_[idx], now,
                       hll_estimate_packed(ports_[idx].src_hll)});
        port_prev_[idx] = now;
    }
}

}  // namespace probescope
