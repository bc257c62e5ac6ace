// Load, pin and attach probescope's XDP program, with an actionable error at each step.
#include "xdp_session.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "clock.h"
#include "error.h"
#include "privilege.h"
#include "probescope.skel.h"

namespace probescope {
namespace fs = std::filesystem;

static constexpr const char* kMapNames[] = {"totals", "src_stats", "port_stats", "src_pending",
                                            "port_pkts"};

void check_privileges() {
    uint64_t eff = 0;
    if (geteuid() == 0 || !effective_caps(eff)) return;  // capget failing: let the load report it
    auto has = [&](int cap) { return (eff >> cap) & 1; };
    if ((has(kCapBpf) && has(kCapPerfmon) && has(CAP_NET_ADMIN)) || has(CAP_SYS_ADMIN)) return;
    throw Error("not enough privilege to load and attach an XDP program",
                "run it as root (sudo probescope ...) or grant CAP_BPF, CAP_PERFMON and "
                "CAP_NET_ADMIN");
}

void check_bpffs(const std::string& dir) {
    fs::path p = dir;
    std::error_code ec;
    while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
    struct statfs st {};
    if (p.empty() || statfs(p.c_str(), &st) != 0 || st.f_type != BPF_FS_MAGIC)
        throw Error("bpffs is not mounted at " + (p.empty() ? dir : p.string()) +
                        " (needed to pin the maps under " + dir + ")",
                    "mount it with 'mount -t bpf bpf /sys/fs/bpf', or pass --pin-root DIR on a "
                    "mounted bpffs");
}

void check_kernel() {
    if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_coarse_ns, nullptr) == 1 &&
        libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_jiffies64, nullptr) == 1)
        return;
    utsname u{};
    uname(&u);
    throw Error(std::string("kernel ") + u.release +
                    " is too old: probescope needs Linux 5.15 or newer (BPF atomics, "
                    "bpf_ktime_get_coarse_ns, bpf_link XDP attachment)",
                "run it on a 5.15+ kernel; the tested range is listed in README.md");
}

uint64_t tick_nsec_from(uint64_t elapsed_ns, uint64_t ticks) {
    if (ticks == 0 || elapsed_ns == 0) return 0;
    // The CONFIG_HZ choices of kernel/Kconfig.hz, the only ones x86-64 (the program's target)
    // offers. Two ticks' latencies skew a measurement by a few percent under a hypervisor: it
    // snaps to the nearest choice, 250 and 300 being the closest pair (20% apart).
    static constexpr uint64_t kHz[] = {100, 250, 300, 1000};
    const double hz = static_cast<double>(ticks) * 1e9 / static_cast<double>(elapsed_ns);
    uint64_t best = 0;
    double best_err = 0.08;  // further than 8% from every choice: no kernel's tick
    for (uint64_t h : kHz) {
        const double err = std::abs(hz - static_cast<double>(h)) / static_cast<double>(h);
        if (err < best_err) best_err = err, best = h;
    }
    return best ? (1000000000ull + best / 2) / best : 0;  // TICK_NSEC
}

XdpMode parse_mode(const std::string& text) {
    if (text == "auto") return XdpMode::Auto;
    if (text == "native") return XdpMode::Native;
    if (text == "generic") return XdpMode::Generic;
    throw Error("unknown XDP mode '" + text + "'", "use --mode auto, native or generic");
}

const char* mode_name(XdpMode m) {
    switch (m) {
        case XdpMode::Native:
            return "native";
        case XdpMode::Generic:
            return "generic";
        default:
            return "auto";
    }
}

uint32_t pending_slots_for(uint32_t max_sources) {
    if (max_sources < 4) return 1;
    uint32_t slots = 4;
    while (slots < max_sources && slots < kMaxPendingSlots) slots *= 2;
    return slots;
}

uint64_t src_entry_bytes() {
    // htab_elem header (~48 bytes) plus key and value, each rounded to 8.
    return 48 + ((sizeof(ps_src_key) + 7) & ~7ul) + ((sizeof(ps_src_stats) + 7) & ~7ul);
}

int iface_index(const std::string& iface) {
    unsigned idx = if_nametoindex(iface.c_str());
    if (idx == 0)
        throw Error("no such network interface '" + iface + "'",
                    "list interfaces with 'ip -br link' and pass one with --iface");
    return static_cast<int>(idx);
}

static int print_libbpf(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (level == LIBBPF_DEBUG) return 0;
    return vfprintf(stderr, fmt, args);
}

std::unique_ptr<LoadedProgram> LoadedProgram::load(const LoadConfig& cfg) {
    libbpf_set_print(print_libbpf);
    std::unique_ptr<LoadedProgram> lp(new LoadedProgram());
    lp->skel_ = probescope_bpf__open();
    if (!lp->skel_) throw Error(errno_text("cannot open the BPF object", errno));
    lp->skel_->rodata->clock_source = cfg.clock;
    lp->skel_->rodata->filter_dst = !cfg.dst_prefixes.empty();
    if (int err = bpf_map__set_max_entries(lp->skel_->maps.src_stats, cfg.max_sources))
        throw Error(errno_text("cannot size src_stats", err));
    if (cfg.src_on_demand) {
        if (int err = bpf_map__set_type(lp->skel_->maps.src_stats, BPF_MAP_TYPE_HASH))
            throw Error(errno_text("cannot make src_stats a hash map", err));
        if (int err = bpf_map__set_map_flags(lp->skel_->maps.src_stats, BPF_F_NO_PREALLOC))
            throw Error(errno_text("cannot make src_stats allocate on demand", err));
    }
    const uint32_t slots = pending_slots_for(cfg.max_sources);  // a power of two
    lp->skel_->rodata->pending_mask = slots - 1;
    if (int err = bpf_map__set_max_entries(lp->skel_->maps.src_pending, slots))
        throw Error(errno_text("cannot size src_pending", err));
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) throw Error(errno_text("cannot count the possible CPUs", cpus));
    if (int err = bpf_map__set_max_entries(lp->skel_->maps.port_pkts,
                                           static_cast<uint32_t>(cpus) * PS_PORT_TABLE_SIZE))
        throw Error(errno_text("cannot size port_pkts", err));
    lp->src_capacity_ = cfg.max_sources;

    if (!cfg.pin_dir.empty()) {
        std::error_code ec;
        lp->reused_pins_ = fs::exists(cfg.pin_dir + "/src_stats", ec);
        fs::create_directories(cfg.pin_dir, ec);
        if (ec)
            throw Error("cannot create pin directory " + cfg.pin_dir + ": " + ec.message(),
                        "check that the bpffs is mounted and writable by this user");
        chmod(cfg.pin_dir.c_str(), 0700);
        lp->pin_dir_ = cfg.pin_dir;
        for (const char* name : kMapNames) {
            bpf_map* m = bpf_object__find_map_by_name(lp->skel_->obj, name);
            bpf_map__set_pin_path(m, (cfg.pin_dir + "/" + name).c_str());
        }
    }
    if (int err = probescope_bpf__load(lp->skel_)) {
        if (err == -EPERM || err == -EACCES)
            throw Error(errno_text("the kernel refused to load the XDP program", err),
                        "run as root or grant CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN");
        if (lp->reused_pins_)
            throw Error(errno_text("cannot reuse the maps pinned under " + cfg.pin_dir, err),
                        "they come from another probescope build or --max-sources; remove "
                        "them with 'probescope detach --iface IFACE'");
        throw Error(errno_text("the kernel rejected the XDP program", err),
                    "the verifier log is above; check the kernel version (5.15+ needed)");
    }
    for (const auto& [addr, len] : cfg.dst_prefixes) {
        ps_prefix_key k{static_cast<__u32>(len), {}};
        memcpy(k.addr, addr.data(), 16);
        uint8_t one = 1;
        if (int err = bpf_map__update_elem(lp->skel_->maps.dst_prefixes, &k, sizeof(k), &one,
                                           sizeof(one), BPF_ANY))
            throw Error(errno_text("cannot load the --dst prefixes", err),
                        "at most 256 prefixes are supported");
    }
    for (const char* name : kMapNames) {
        if (lp->pin_dir_.empty()) break;
        std::string path = lp->pin_dir_ + "/" + name;
        chmod(path.c_str(), 0600);
    }
    if (cfg.clock == PS_CLOCK_JIFFIES) lp->calibrate_clock();
    return lp;
}

// One read of the coarse clock and jiffies with no timekeeping update between the two
// coarse reads (ps_clock_sample); false if the test run failed.
struct ClockSample {
    uint64_t coarse_ns, jiffies;
};

static bool sample_clock(probescope_bpf* skel, ClockSample& out) {
    unsigned char frame[64] = {};
    for (int tries = 0; tries < 100; ++tries) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame));
        if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.ps_clock_sample), &opts) != 0)
            return false;
        if (skel->bss->sample_coarse0_ns != skel->bss->sample_coarse1_ns) continue;
        out = {skel->bss->sample_coarse1_ns, skel->bss->sample_jiffies};
        return true;
    }
    return false;
}

// The first sample after the next tick: jiffies and the coarse clock both moved past `from`,
// so the sample holds the coarse time that tick set beside the jiffies it counted.
static bool sample_after_tick(probescope_bpf* skel, const ClockSample& from, ClockSample& out) {
    const int64_t give_up = mono_ns() + 1000000000;  // a tick is at most 1/24 s
    while (mono_ns() < give_up) {
        if (!sample_clock(skel, out)) return false;
        if (out.jiffies != from.jiffies && out.coarse_ns != from.coarse_ns) return true;
    }
    return false;
}

void LoadedProgram::calibrate_clock() {
    ClockSample first{}, last{};
    uint64_t tick = 0;
    for (int attempt = 0; attempt < 3 && tick == 0; ++attempt) {  // a stalled VM may skew one
        ClockSample start{}, mid{};
        if (!sample_clock(skel_, start) || !sample_after_tick(skel_, start, first)) continue;
        usleep(50000);  // 5 to 50 ticks between the two samples, each taken at a tick
        if (!sample_clock(skel_, mid) || !sample_after_tick(skel_, mid, last)) continue;
        if (last.coarse_ns > first.coarse_ns && last.jiffies > first.jiffies)
            tick = tick_nsec_from(last.coarse_ns - first.coarse_ns, last.jiffies - first.jiffies);
    }
    if (tick == 0)
        throw Error("cannot relate the kernel's jiffies to CLOCK_MONOTONIC (the live clock)",
                    "the kernel's tick did not advance as expected; report this with 'uname -a'");
    // A tick's update runs late by its interrupt's latency (more under a hypervisor), never
    // early: of several ticks, the one that puts jiffies furthest back is the closest to it.
    uint64_t base = last.coarse_ns - last.jiffies * tick;  // modulo 2^64
    auto earliest = [&](const ClockSample& s) {
        const uint64_t b = s.coarse_ns - s.jiffies * tick;
        if (static_cast<int64_t>(b - base) < 0) base = b;
    };
    earliest(first);
    for (int i = 0; i < 4; ++i) {
        ClockSample next{};
        if (!sample_after_tick(skel_, last, next)) break;
        earliest(next);
        last = next;
    }
    skel_->bss->tick_ns = tick;
    skel_->bss->jiffies_base_ns = base;
}

uint64_t LoadedProgram::tick_ns() const { return skel_->bss->tick_ns; }
uint64_t LoadedProgram::jiffies_base_ns() const { return skel_->bss->jiffies_base_ns; }

std::string pin_dir_owner(const std::string& pin_dir) {
    struct stat st {};
    if (stat(pin_dir.c_str(), &st) != 0) return "";
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    return "owner uid " + std::to_string(st.st_uid) + ", mode " + mode;
}

int remove_pins(const std::string& pin_dir) {
    int removed = 0;
    for (const char* name : kMapNames) removed += unlink((pin_dir + "/" + name).c_str()) == 0;
    removed += unlink((pin_dir + "/agent_state").c_str()) == 0;
    removed += unlink((pin_dir + "/link").c_str()) == 0;
    rmdir(pin_dir.c_str());
    rmdir(fs::path(pin_dir).parent_path().c_str());  // the pin root, if now empty
    return removed;
}

void LoadedProgram::unpin() {
    if (!pin_dir_.empty()) remove_pins(pin_dir_);
}

std::unique_ptr<PinnedMaps> PinnedMaps::open(const std::string& pin_dir) {
    std::unique_ptr<PinnedMaps> pm(new PinnedMaps());
    pm->pin_dir_ = pin_dir;
    for (size_t i = 0; i < std::size(kMapNames); ++i) {
        std::string path = pin_dir + "/" + kMapNames[i];
        pm->fds_[i] = bpf_obj_get(path.c_str());
        if (pm->fds_[i] >= 0) continue;
        int e = errno;
        const std::string owner = pin_dir_owner(pin_dir);
        if (e == EACCES || e == EPERM)
            throw Error(errno_text("cannot open the pinned maps under " + pin_dir +
                                       (owner.empty() ? "" : " (" + owner + ")"),
                                   e),
                        "run as the agent's --user, who owns the pins, or as root");
        throw Error(errno_text("cannot open the pinned map " + path, e),
                    "is a probescope persisted on this interface, by this build? ('probescope "
                    "detach' cleans up)");
    }
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(pm->fds_[1], &info, &len) != 0)
        throw Error(errno_text("cannot read src_stats' size", errno));
    pm->src_capacity_ = info.max_entries;
    return pm;
}

PinnedMaps::~PinnedMaps() {
    for (int fd : fds_)
        if (fd >= 0) close(fd);
    if (unpin_) remove_pins(pin_dir_);
}

LoadedProgram::~LoadedProgram() {
    if (!keep_pins_) unpin();
    probescope_bpf__destroy(skel_);
}

int LoadedProgram::prog_fd() const { return bpf_program__fd(skel_->progs.probescope_xdp); }
int LoadedProgram::totals_fd() const { return bpf_map__fd(skel_->maps.totals); }
int LoadedProgram::src_stats_fd() const { return bpf_map__fd(skel_->maps.src_stats); }
int LoadedProgram::src_pending_fd() const { return bpf_map__fd(skel_->maps.src_pending); }
int LoadedProgram::port_stats_fd() const { return bpf_map__fd(skel_->maps.port_stats); }
int LoadedProgram::port_pkts_fd() const { return bpf_map__fd(skel_->maps.port_pkts); }
MapFds LoadedProgram::map_fds() const {
    return {totals_fd(), src_stats_fd(), src_pending_fd(), port_stats_fd(), port_pkts_fd()};
}

int run_timed_frame(int prog_fd, uint8_t* meta_then_frame, uint32_t frame_len) {
    // Refused as the kernel refuses such a frame without metadata: PS_REPLAY_META_BYTES more
    // would pass its own size check, and the program would run on a frame no link delivers.
    if (frame_len < ETH_HLEN) return -EINVAL;
    xdp_md ctx{};
    ctx.data = PS_REPLAY_META_BYTES;  // metadata length: the time in front of the frame
    ctx.data_end = PS_REPLAY_META_BYTES + frame_len;
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = meta_then_frame, .data_size_in = ctx.data_end,
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
    if (bpf_prog_test_run_opts(prog_fd, &run) != 0) return -errno;
    return static_cast<int>(run.retval);
}

int run_timed_frame(int prog_fd, const std::vector<uint8_t>& frame, uint64_t ts_ns) {
    std::vector<uint8_t> buf(PS_REPLAY_META_BYTES + frame.size());
    std::memcpy(buf.data(), &ts_ns, sizeof(ts_ns));
    std::copy(frame.begin(), frame.end(), buf.begin() + PS_REPLAY_META_BYTES);
    return run_timed_frame(prog_fd, buf.data(), static_cast<uint32_t>(frame.size()));
}

static std::string prog_desc(uint32_t id) {
    std::string desc = "id " + std::to_string(id);
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd >= 0) {
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.name[0])
            desc += ", name " + std::string(info.name);
        close(fd);
    }
    return desc;
}

static bpf_xdp_query_opts query_xdp(int ifindex) {
    bpf_xdp_query_opts q{};
    q.sz = sizeof(q);
    if (bpf_xdp_query(ifindex, 0, &q) != 0) q.prog_id = 0;
    return q;
}

// Generic when the kernel runs it in SKB mode; native (driver, offloaded or several) otherwise.
static XdpMode mode_of(const bpf_xdp_query_opts& q) {
    return q.attach_mode == XDP_ATTACHED_SKB ? XdpMode::Generic : XdpMode::Native;
}

static uint32_t detach_flags_of(const bpf_xdp_query_opts& q) {
    return mode_of(q) == XdpMode::Generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

XdpMode attached_xdp_mode(int ifindex) { return mode_of(query_xdp(ifindex)); }

uint32_t xdp_detach_flags(int ifindex) { return detach_flags_of(query_xdp(ifindex)); }

static Error foreign_program(const std::string& iface, uint32_t prog_id) {
    return Error(iface + " already has an XDP program attached (" + prog_desc(prog_id) + ")",
                 "probescope never replaces another program; pass --force to replace it, or "
                 "'probescope detach --iface " +
                     iface + "' if it is a stale probescope");
}

void ensure_no_xdp_program(const std::string& iface) {
    auto q = query_xdp(iface_index(iface));
    if (q.prog_id != 0) throw foreign_program(iface, q.prog_id);
}

std::unique_ptr<XdpAttachment> XdpAttachment::attach(int prog_fd, const std::string& iface,
                                                     XdpMode mode, bool force) {
    std::unique_ptr<XdpAttachment> a(new XdpAttachment());
    a->ifindex_ = iface_index(iface);

    auto q = query_xdp(a->ifindex_);
    if (q.prog_id != 0) {
        if (!force) throw foreign_program(iface, q.prog_id);
        if (int err = bpf_xdp_detach(a->ifindex_, detach_flags_of(q), nullptr))
            throw Error(errno_text("cannot replace the XDP program on " + iface, err),
                        "it is held by a bpf_link; stop its owner or run 'probescope detach'");
        fprintf(stderr, "probescope: warning: replaced the XDP program on %s (%s)\n", iface.c_str(),
                prog_desc(q.prog_id).c_str());
    }

    auto try_attach = [&](uint32_t flags) {
        bpf_link_create_opts opts{};
        opts.sz = sizeof(opts);
        opts.flags = flags;
        return bpf_link_create(prog_fd, a->ifindex_, BPF_XDP, &opts);
    };
    int fd = -1;
    if (mode != XdpMode::Generic) {
        fd = try_attach(XDP_FLAGS_DRV_MODE);
        if (fd < 0 && mode == XdpMode::Native)
            throw Error(errno_text("cannot attach natively to " + iface, -fd),
                        "the driver may lack XDP support; use --mode generic");
        if (fd < 0)
            fprintf(stderr,
                    "probescope: warning: native XDP unavailable on %s (%s); falling back to "
                    "generic XDP, which is slower\n",
                    iface.c_str(), strerror(-fd));
    }
    if (fd < 0) {
        fd = try_attach(XDP_FLAGS_SKB_MODE);
        if (fd < 0)
            throw Error(errno_text("cannot attach XDP to " + iface, -fd),
                        "check that the interface is up and not enslaved to an XDP-incapable "
                        "device");
    }
    a->link_fd_ = fd;
    auto after = query_xdp(a->ifindex_);
    a->mode_ = mode_of(after);
    return a;
}

void XdpAttachment::pin(const std::string& path) {
    if (int err = bpf_obj_pin(link_fd_, path.c_str()))
        throw Error(errno_text("cannot pin the XDP link at " + path, err));
    chmod(path.c_str(), 0600);
    pinned_path_ = path;
}

std::unique_ptr<XdpAttachment> XdpAttachment::open_pinned(const std::string& path,
                                                          const std::string& iface) {
    std::unique_ptr<XdpAttachment> a(new XdpAttachment());
    a->ifindex_ = iface_index(iface);
    a->link_fd_ = bpf_obj_get(path.c_str());
    if (a->link_fd_ < 0)
        throw Error(errno_text("cannot open the pinned XDP link " + path, errno),
                    "remove the stale pins with 'probescope detach --iface " + iface + "'");
    a->pinned_path_ = path;
    a->mode_ = attached_xdp_mode(a->ifindex_);
    return a;
}

void XdpAttachment::unpin() {
    if (!pinned_path_.empty()) unlink(pinned_path_.c_str());
    pinned_path_.clear();
}

XdpAttachment::~XdpAttachment() {
    if (link_fd_ >= 0) close(link_fd_);  // detaches unless pinned
}

}  // namespace probescope
