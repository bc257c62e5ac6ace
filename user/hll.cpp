// HyperLogLog estimate (Flajolet et al. 2007) with the linear-counting small-range correction.
#include "hll.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace probescope {

void Hll::merge_packed(const uint8_t* packed) {
    for (unsigned i = 0; i < PS_HLL_BYTES; ++i) {
        regs_[2 * i] = std::max<uint8_t>(regs_[2 * i], packed[i] & 0xf);
        regs_[2 * i + 1] = std::max<uint8_t>(regs_[2 * i + 1], packed[i] >> 4);
    }
}

void Hll::add(uint32_t hash) {
    uint8_t& r = regs_[ps_hll_index(hash)];
    r = std::max<uint8_t>(r, static_cast<uint8_t>(ps_hll_rank(hash)));
}

void Hll::merge(const Hll& other) {
    for (unsigned i = 0; i < PS_HLL_REGS; ++i) regs_[i] = std::max(regs_[i], other.regs_[i]);
}

bool Hll::empty() const {
    return std::all_of(regs_.begin(), regs_.end(), [](uint8_t r) { return r == 0; });
}

// 2^-r for every register value: the agent estimates a few HLLs per source and interval, and
// ldexp per register showed up in its profile.
static const std::array<double, PS_HLL_MAX_RANK + 1> kInversePowers = [] {
    std::array<double, PS_HLL_MAX_RANK + 1> t{};
    for (unsigned r = 0; r <= PS_HLL_MAX_RANK; ++r) t[r] = std::ldexp(1.0, -static_cast<int>(r));
    return t;
}();

double Hll::estimate() const {
    constexpr double m = PS_HLL_REGS;
    const double alpha = 0.7213 / (1.0 + 1.079 / m);
    double sum = 0;
    unsigned zeros = 0;
    for (uint8_t r : regs_) {
        sum += kInversePowers[std::min<unsigned>(r, PS_HLL_MAX_RANK)];
        zeros += r == 0;
    }
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / zeros);
    return e;
}

double hll_estimate_packed(const uint8_t* packed) {
    Hll h;
    h.merge_packed(packed);
    return h.estimate();
}

}  // namespace probescope
