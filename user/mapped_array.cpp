// MappedArray: mmap of a BPF_F_MMAPABLE array map, sized from the map's own max_entries.
#include "mapped_array.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "error.h"

namespace probescope {

MappedArray::MappedArray(int fd, size_t value_size, bool writable, const std::string& name) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
        throw Error(errno_text("cannot read " + name + "'s size", errno));
    if (info.type != BPF_MAP_TYPE_ARRAY || !(info.map_flags & BPF_F_MMAPABLE) ||
        info.value_size != value_size || info.max_entries == 0)
        throw Error(name + " is not an mmapable array of " + std::to_string(value_size) +
                        "-byte values (type " + std::to_string(info.type) + ", flags " +
                        std::to_string(info.map_flags) + ", value " +
                        std::to_string(info.value_size) + " bytes, " +
                        std::to_string(info.max_entries) + " entries)",
                    "the pinned maps come from another probescope build: remove them with "
                    "'probescope detach --iface IFACE'");
    entries_ = info.max_entries;
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    len_ = (value_size * entries_ + page - 1) / page * page;
    void* m = mmap(nullptr, len_, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) throw Error(errno_text("cannot mmap " + name, errno));
    data_ = m;
}

MappedArray::~MappedArray() { munmap(data_, len_); }

}  // namespace probescope
