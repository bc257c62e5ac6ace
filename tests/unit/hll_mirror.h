// Test scaffolding: packed HLL registers built the way the kernel builds them.
#pragma once
#include <bit>
#include <cstdint>

#include "probescope/abi.h"

namespace probescope::test {

// A copy of ps_hll_add (bpf/sketch.bpf.h) so tests get realistic registers without a kernel.
// It exists only to exercise the user-side Hll; it does not test the BPF code, and if the
// kernel's update rule changes this mirror must change with it.
inline void mirror_hll_add(uint8_t* packed, uint32_t item) {
    const uint32_t hash = ps_mix32(item);
    const uint32_t idx = hash >> (32 - PS_HLL_P);
    uint32_t rank = static_cast<uint32_t>(std::countl_zero(hash << PS_HLL_P)) + 1;
    if (rank > PS_HLL_MAX_RANK) rank = PS_HLL_MAX_RANK;
    const unsigned shift = (idx & 1) * 4;
    uint8_t& byte = packed[idx >> 1];
    const uint32_t cur = (byte >> shift) & 0xf;
    if (rank > cur) byte = static_cast<uint8_t>((byte & ~(0xf << shift)) | (rank << shift));
}

// Items first, first+1, ..., first+n-1: distinct, so their mixed hashes are distinct too.
inline void mirror_hll_add_range(uint8_t* packed, uint32_t first, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) mirror_hll_add(packed, first + i);
}

}  // namespace probescope::test
