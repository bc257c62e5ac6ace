// HyperLogLog over the ABI's packed 4-bit registers: merge and estimate (user side only).
#pragma once
#include <array>
#include <cstdint>
#include <memory>

#include "probescope/abi.h"

namespace probescope {

// Unpacked registers, one byte each, so that merging is a plain max. The registers are
// allocated by the first add or merge: a source keeps two of these, and most never use them
// (SourceState builds its sketches only when an exact set overflows), so an unused one costs a
// pointer, not PS_HLL_REGS bytes.
class Hll {
public:
    using Registers = std::array<uint8_t, PS_HLL_REGS>;

    Hll() = default;
    Hll(const Hll& o) : regs_(o.regs_ ? std::make_unique<Registers>(*o.regs_) : nullptr) {}
    Hll& operator=(const Hll& o) {
        if (this != &o) regs_ = o.regs_ ? std::make_unique<Registers>(*o.regs_) : nullptr;
        return *this;
    }
    Hll(Hll&&) noexcept = default;
    Hll& operator=(Hll&&) noexcept = default;

    void merge_packed(const uint8_t* packed);  // PS_HLL_BYTES bytes from the kernel
    void add(uint32_t hash);                   // as the kernel's ps_hll_add does
    void merge(const Hll& other);
    double estimate() const;
    bool empty() const;
    const Registers& registers() const;  // all zero before the first add or merge

private:
    Registers& regs();
    std::unique_ptr<Registers> regs_;
};

// Estimate straight from packed kernel registers.
double hll_estimate_packed(const uint8_t* packed);

}  // namespace probescope
