// HyperLogLog estimate (Flajolet et al. 2007) with the linear-counting small-range correction.
#include "hll.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace probescope {

static const Hll::Registers kNoRegisters{};

Hll::Registers& Hll::regs() {
    if (!regs_) regs_ = std::make_unique<Registers>();
    return *regs_;
}

const Hll::Registers& Hll::registers() const { return regs_ ? *regs_ : kNoRegisters; }

static void merge_packed_into(Hll::Registers& regs, const uint8_t* packed) {
    for (unsigned i = 0; i < PS_HLL_BYTES; ++i) {
        regs[2 * i] = std::max<uint8_t>(regs[2 * i], packed[i] & 0xf);
        regs[2 * i + 1] = std::max<uint8_t>(regs[2 * i + 1], packed[i] >> 4);
    }
}

void Hll::merge_packed(const uint8_t* packed) { merge_packed_into(regs(), packed); }

void Hll::add(uint32_t hash) {
    uint8_t& r = regs()[ps_hll_index(hash)];
    r = std::max<uint8_t>(r, static_cast<uint8_t>(ps_hll_rank(hash)));
}

void Hll::merge(const Hll& other) {
    if (!other.regs_) return;
    Registers& mine = regs();
    for (unsigned i = 0; i < PS_HLL_REGS; ++i) mine[i] = std::max(mine[i], (*other.regs_)[i]);
}

bool Hll::empty() const {
    const Registers& r = registers();
    return std::all_of(r.begin(), r.end(), [](uint8_t v) { return v == 0; });
}

// 2^-r for every register value: the agent estimates a few HLLs per source and interval, and
// ldexp per register showed up in its profile.
static const std::array<double, PS_HLL_MAX_RANK + 1> kInversePowers = [] {
    std::array<double, PS_HLL_MAX_RANK + 1> t{};
    for (unsigned r = 0; r <= PS_HLL_MAX_RANK; ++r) t[r] = std::ldexp(1.0, -static_cast<int>(r));
    return t;
}();

static double estimate_of(const Hll::Registers& regs) {
    constexpr double m = PS_HLL_REGS;
    const double alpha = 0.7213 / (1.0 + 1.079 / m);
    double sum = 0;
    unsigned zeros = 0;
    for (uint8_t r : regs) {
        sum += kInversePowers[std::min<unsigned>(r, PS_HLL_MAX_RANK)];
        zeros += r == 0;
    }
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / zeros);
    return e;
}

double Hll::estimate() const { return estimate_of(registers()); }

double hll_estimate_packed(const uint8_t* packed) {
    Hll::Registers regs{};
    merge_packed_into(regs, packed);
    return estimate_of(regs);
}

}  // namespace probescope
