// huge_alloc: aligned_alloc and madvise(MADV_HUGEPAGE) for buffers of a huge page or more.
#include "huge_alloc.h"

#include <sys/mman.h>

#include <new>

namespace probescope {

void* huge_alloc(size_t bytes) {
    if (bytes == 0) bytes = 1;
    void* p;
    if (bytes < kHugePage) {
        p = std::malloc(bytes);
    } else {
        bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
        p = std::aligned_alloc(kHugePage, bytes);
        if (p) madvise(p, bytes, MADV_HUGEPAGE);
    }
    if (!p) throw std::bad_alloc();
    return p;
}

}  // namespace probescope
