// Large buffers that fault in transparent huge pages: one 2 MiB fault instead of 512 of 4 KiB,
// each slow under a hypervisor, on the first touch of a 1M-source interval.
#pragma once
#include <cstddef>
#include <cstdlib>

namespace probescope {

inline constexpr size_t kHugePage = size_t{2} << 20;

// Uninitialised memory for bytes (throws std::bad_alloc); free it with std::free. From 2 MiB up
// it is huge-page aligned, rounded up to whole huge pages and advised MADV_HUGEPAGE (advice
// only: where THP is off it stays 4 KiB pages).
void* huge_alloc(size_t bytes);

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

}  // namespace probescope
