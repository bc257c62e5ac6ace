// Running as an unprivileged service user once the program is loaded, attached and pinned.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace probescope {

struct ServiceUser {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Looks up --user NAME; a clear Error if there is no such user or this process cannot switch.
ServiceUser lookup_service_user(const std::string& name);
// Gives the pin directory and every pin in it to the user (dir 0700, pins 0600).
void give_pins(const std::string& pin_dir, const ServiceUser& u);
// True where map operations on an fd already open still need CAP_BPF: kernels before 6.5
// check it for every bpf() command when unprivileged BPF is disabled.
bool map_ops_need_cap_bpf();
// Switches to the user (and its groups) for good, keeping only what the drain still needs
// (CAP_BPF where map_ops_need_cap_bpf(), nothing otherwise), with no_new_privs set. Call it
// before starting threads that must run dropped. Throws Error.
void drop_privileges(const ServiceUser& u);
// Capability numbers the kernel headers here may lack (Linux 5.8).
inline constexpr int kCapPerfmon = 38, kCapBpf = 39;
// This thread's effective capabilities as a bit mask; false if capget fails.
bool effective_caps(uint64_t& eff);
// The effective capability mask of this thread, for the log line.
std::string effective_caps_text();

}  // namespace probescope
