// Bench scaffolding shared by the XDP and agent benches: fill a source map with distinct IPv4
// sources (v4-mapped keys, as the program writes them) by bpf_map_update_batch.
#pragma once
#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "error.h"
#include "packet_builder.h"

namespace probescope::bench {

// The program's src_stats key for IPv4 address addr (host order): ::ffff:a.b.c.d.
inline void put_v4_key(uint8_t* key, uint32_t addr) {
    const test::Ipv4Addr a = {uint8_t(addr >> 24), uint8_t(addr >> 16), uint8_t(addr >> 8),
                              uint8_t(addr)};
    const auto mapped = test::v4_mapped(a);
    memcpy(key, mapped.data(), mapped.size());
}

// Writes n entries with zeroed values, keys first_addr, first_addr + 1, ...; value_buf is the
// bytes user space passes per value (per-CPU maps: one copy per CPU).
inline void prefill_v4(int fd, uint32_t key_size, size_t value_buf, uint32_t first_addr,
                       uint32_t n) {
    if (key_size < 16) throw Error("src_stats key is smaller than an address: ABI changed");
    constexpr uint32_t kBatch = 8192;
    std::vector<uint8_t> keys(size_t{kBatch} * key_size, 0);
    std::vector<uint8_t> values(size_t{kBatch} * value_buf, 0);
    for (uint32_t done = 0; done < n;) {
        uint32_t count = std::min(kBatch, n - done);
        for (uint32_t i = 0; i < count; ++i)
            put_v4_key(&keys[size_t{i} * key_size], first_addr + done + i);
        LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
        if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, &opts) != 0)
            throw Error(errno_text("bpf_map_update_batch failed", errno));
        done += count;
    }
}

}  // namespace probescope::bench
