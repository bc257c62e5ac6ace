// HyperLogLog over the ABI's packed 4-bit registers: merge and estimate (user side only).
#pragma once
#include <array>
#include <cstdint>

#include "probescope/abi.h"

namespace probescope {

// Unpacked registers, one byte each, so that merging is a plain max.
class Hll {
public:
    void merge_packed(const uint8_t* packed);  // PS_HLL_BYTES bytes from the kernel
    void add(uint32_t hash);                    // as the kernel's ps_hll_add does
    void merge(const Hll& other);
    double estimate() const;
    bool empty() const;
    const std::array<uint8_t, PS_HLL_REGS>& registers() const { return regs_; }

private:
    std::array<uint8_t, PS_HLL_REGS> regs_{};
};

// Estimate straight from packed kernel registers.
double hll_estimate_packed(const uint8_t* packed);

}  // namespace probescope
