// RAII over the XDP program's lifecycle: checks, load (skeleton), pins, attach, detach.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "probescope/abi.h"

struct probescope_bpf;  // the generated skeleton

namespace probescope {

enum class XdpMode { Auto, Native, Generic };

// src_pending slots for a src_stats of max_sources entries: the smallest power of two not
// below it, at most kMaxPendingSlots (1, no table, below 4). A slot is 64 bytes against about
// 750 for an entry, and the more slots, the fewer new sources collide and are inserted at once.
inline constexpr uint32_t kMaxPendingSlots = 1u << 24;
uint32_t pending_slots_for(uint32_t max_sources);

// The program's maps, as MapDrain reads them (a loaded program's or a persisted one's pins).
struct MapFds {
    int totals = -1, src_stats = -1, src_pending = -1, port_stats = -1, port_pkts = -1;
};

struct LoadConfig {
    uint32_t max_sources = 65536;  // src_stats entries; src_pending gets pending_slots_for(it)
    ps_clock_source clock = PS_CLOCK_JIFFIES;
    std::string pin_dir;  // empty: do not pin
    // Count only frames toward these prefixes (v4-mapped address, prefix length 0..128).
    std::vector<std::pair<std::array<uint8_t, 16>, int>> dst_prefixes;
    // Replay: src_stats a hash map whose entries the kernel allocates as sources arrive, not an
    // LRU map preallocated for max_sources (most of a replay's startup). The program is the
    // same; past max_sources in one interval a new source is not inserted and is counted
    // (src_insert_failed) instead of evicting another. Never for a live interface, where
    // memory must be bounded up front and a flood must evict, not allocate.
    bool src_on_demand = false;
};

// Fails with a clear Error unless this process may load BPF and attach XDP.
void check_privileges();
// Fails unless dir (or its nearest existing ancestor) is on a bpffs.
void check_bpffs(const std::string& dir);
// Fails on kernels without what the program needs (its clocks, BPF atomics).
void check_kernel();
// The kernel's tick in ns (TICK_NSEC) from ticks counted over elapsed_ns: the nearest of
// x86-64's CONFIG_HZ choices (100, 250, 300, 1000), as the kernel rounds it; 0 when the count
// is more than 8% from every choice.
uint64_t tick_nsec_from(uint64_t elapsed_ns, uint64_t ticks);
// Parses "native", "generic" or "auto".
XdpMode parse_mode(const std::string& text);
const char* mode_name(XdpMode m);
// Bytes of kernel memory a src_stats entry takes (key, value and hash-table overhead).
uint64_t src_entry_bytes();

// The loaded program and its maps. Destroying it unpins what it pinned (unless kept).
class LoadedProgram {
public:
    static std::unique_ptr<LoadedProgram> load(const LoadConfig& cfg);
    ~LoadedProgram();
    LoadedProgram(const LoadedProgram&) = delete;
    LoadedProgram& operator=(const LoadedProgram&) = delete;

    int prog_fd() const;
    int totals_fd() const;
    int src_stats_fd() const;
    int src_pending_fd() const;
    int port_stats_fd() const;
    int port_pkts_fd() const;
    MapFds map_fds() const;
    uint32_t src_capacity() const { return src_capacity_; }
    struct probescope_bpf* skel() {
        return skel_;
    }
    const std::string& pin_dir() const { return pin_dir_; }
    bool reused_pins() const { return reused_pins_; }
    // Leave the pins in place at destruction (--persist).
    void keep_pins() { keep_pins_ = true; }
    // The live clock's tick (ns) and base, as calibrate_clock measured them (0 under replay).
    uint64_t tick_ns() const;
    uint64_t jiffies_base_ns() const;

private:
    LoadedProgram() = default;
    void unpin();
    // Relates jiffies to CLOCK_MONOTONIC for PS_CLOCK_JIFFIES (before anything attaches).
    void calibrate_clock();
    struct probescope_bpf* skel_ = nullptr;
    uint32_t src_capacity_ = 0;
    std::string pin_dir_;
    bool reused_pins_ = false;
    bool keep_pins_ = false;
};

static_assert(PS_REPLAY_META_BYTES == sizeof(uint64_t));

// One BPF_PROG_TEST_RUN of a program loaded with PS_CLOCK_USER on a frame at its capture time:
// meta_then_frame holds the time (ns, host order) in its first PS_REPLAY_META_BYTES, which the
// kernel passes as XDP metadata, then frame_len bytes of frame. Returns the program's verdict,
// or -errno (-EINVAL for a frame shorter than ETH_HLEN, which no link delivers).
int run_timed_frame(int prog_fd, uint8_t* meta_then_frame, uint32_t frame_len);
// The same on a copy of frame (tests, one frame at a time).
int run_timed_frame(int prog_fd, const std::vector<uint8_t>& frame, uint64_t ts_ns);

// The maps of a program left attached by `run --persist` (or by an agent killed while it was
// persisted), opened through their pins: no program is loaded, so a user who owns the pins
// needs no privilege (Linux 6.5+). Destroying it removes the pins if asked (unpin_at_exit).
class PinnedMaps {
public:
    // Throws a clear Error when the pins are missing or not this user's to open.
    static std::unique_ptr<PinnedMaps> open(const std::string& pin_dir);
    ~PinnedMaps();
    PinnedMaps(const PinnedMaps&) = delete;
    PinnedMaps& operator=(const PinnedMaps&) = delete;

    int totals_fd() const { return fds_[0]; }
    int src_stats_fd() const { return fds_[1]; }
    MapFds map_fds() const { return {fds_[0], fds_[1], fds_[3], fds_[2], fds_[4]}; }
    uint32_t src_capacity() const { return src_capacity_; }
    void unpin_at_exit() { unpin_ = true; }

private:
    PinnedMaps() = default;
    std::string pin_dir_;
    int fds_[5] = {-1, -1, -1, -1, -1};  // in kMapNames' order
    uint32_t src_capacity_ = 0;
    bool unpin_ = false;
};

// Removes the pins probescope makes under pin_dir (maps, agent state, link) and the directory.
// The mode of the XDP program attached to ifindex (Generic: SKB mode), and the flags
// bpf_xdp_detach needs for it.
XdpMode attached_xdp_mode(int ifindex);
uint32_t xdp_detach_flags(int ifindex);
int remove_pins(const std::string& pin_dir);  // returns the pins it removed
// "owner uid N, mode 0700" of a pin directory, for the messages that refuse it; "" if absent.
std::string pin_dir_owner(const std::string& pin_dir);

// An XDP attachment held by a bpf_link. Destroying it detaches, unless it was pinned.
class XdpAttachment {
public:
    // Refuses to replace a program someone else attached unless force is set.
    static std::unique_ptr<XdpAttachment> attach(int prog_fd, const std::string& iface,
                                                 XdpMode mode, bool force);
    ~XdpAttachment();
    XdpAttachment(const XdpAttachment&) = delete;
    XdpAttachment& operator=(const XdpAttachment&) = delete;

    XdpMode mode() const { return mode_; }  // Native or Generic, as the kernel reports it
    int ifindex() const { return ifindex_; }
    // Takes over the link a `run --persist` agent pinned (its program keeps running).
    static std::unique_ptr<XdpAttachment> open_pinned(const std::string& path,
                                                      const std::string& iface);
    // Pin the link so that the program stays attached after this process exits.
    void pin(const std::string& path);
    // Remove the pin: the program detaches when this object closes the link.
    void unpin();

private:
    XdpAttachment() = default;
    int link_fd_ = -1;
    int ifindex_ = 0;
    XdpMode mode_ = XdpMode::Auto;
    std::string pinned_path_;
};

// The interface's index; a clear Error if there is no such interface.
int iface_index(const std::string& iface);
// Throws unless no XDP program is attached to iface.
void ensure_no_xdp_program(const std::string& iface);

}  // namespace probescope
