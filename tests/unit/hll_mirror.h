// Test scaffolding: packed HLL registers built the way the kernel builds them.
#pragma once
#include <cstdint>

#include "probescope/abi.h"

namespace probescope::test {

// ps_hll_add's packing (bpf/sketch.bpf.h) so tests get realistic registers without a kernel;
// the register and rank come from the ABI's ps_hll_index and ps_hll_rank, as in the kernel.
// It exists only to exercise the user-side Hll; it does not test the BPF code.
inline void mirror_hll_add(uint8_t* packed, uint32_t item) {
    const uint32_t hash = ps_mix32(item);
    const uint32_t idx = ps_hll_index(hash);
    const uint32_t rank = ps_hll_rank(hash);
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
