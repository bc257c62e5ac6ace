// A BPF_F_MMAPABLE array map mapped into this process: its values read (or written) in place.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace probescope {

class MappedArray {
public:
    // Maps every value of the array map behind fd (max_entries of value_size bytes); throws a
    // clear Error naming the map when it cannot, or when the map is not a BPF_F_MMAPABLE
    // array of value_size-byte values (pins of another build).
    MappedArray(int fd, size_t value_size, bool writable, const std::string& name);
    ~MappedArray();
    MappedArray(const MappedArray&) = delete;
    MappedArray& operator=(const MappedArray&) = delete;

    template <class T>
    T* as() const {
        return static_cast<T*>(data_);
    }
    uint32_t entries() const { return entries_; }
    size_t bytes() const { return len_; }  // the mapping, whole pages

private:
    void* data_ = nullptr;
    size_t len_ = 0;
    uint32_t entries_ = 0;
};

}  // namespace probescope
