// Privilege drop: setgroups/setresgid/setresuid with keep-caps, then capset to the minimum.
#include "privilege.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "error.h"

namespace probescope {

bool effective_caps(uint64_t& eff) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &hdr, data) != 0) return false;
    eff = data[0].effective | (static_cast<uint64_t>(data[1].effective) << 32);
    return true;
}

namespace {

void capset_only(uint64_t caps) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    for (int i = 0; i < 2; ++i) {
        data[i].effective = data[i].permitted = static_cast<uint32_t>(caps >> (32 * i));
        data[i].inheritable = 0;
    }
    if (syscall(SYS_capset, &hdr, data) != 0)
        throw Error(errno_text("cannot set the capabilities after switching user", errno));
}

}  // namespace

ServiceUser lookup_service_user(const std::string& name) {
    passwd* pw = getpwnam(name.c_str());
    if (!pw)
        throw Error(
            "no such user '" + name + "' for --user",
            "create it (useradd --system --no-create-home " + name + ") or name an existing one");
    if (geteuid() != 0)
        throw Error("--user " + name + " needs the agent to start as root",
                    "start it as root; it switches to " + name + " once attached");
    return {name, pw->pw_uid, pw->pw_gid};
}

void give_pins(const std::string& pin_dir, const ServiceUser& u) {
    namespace fs = std::filesystem;
    // The mode first, while the file may still be ours: changing the mode of someone else's
    // file takes CAP_FOWNER, which the service unit does not grant. A restart finds the pins
    // already the user's, with their modes: then only the (idempotent) chown runs.
    auto give = [&](const std::string& path, mode_t mode) {
        struct stat st {};
        if (stat(path.c_str(), &st) != 0 ||
            ((st.st_mode & 07777) != mode && chmod(path.c_str(), mode) != 0) ||
            chown(path.c_str(), u.uid, u.gid) != 0)
            throw Error(errno_text("cannot give " + path + " to user " + u.name, errno),
                        "check that the bpffs allows chown (it does on Linux 4.4+)");
    };
    give(pin_dir, 0700);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(pin_dir, ec)) give(e.path(), 0600);
}

bool map_ops_need_cap_bpf() {
    utsname u{};
    int major = 0, minor = 0;
    if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2) return true;
    return major < 6 || (major == 6 && minor < 5);
}

void drop_privileges(const ServiceUser& u) {
    const bool keep_bpf = map_ops_need_cap_bpf();
    if (keep_bpf && prctl(PR_SET_KEEPCAPS, 1) != 0)
        throw Error(errno_text("cannot keep CAP_BPF across the user switch", errno));
    if (initgroups(u.name.c_str(), u.gid) != 0 || setresgid(u.gid, u.gid, u.gid) != 0 ||
        setresuid(u.uid, u.uid, u.uid) != 0)
        throw Error(errno_text("cannot switch to user " + u.name, errno));
    // From root to another uid the kernel clears every capability, unless keep-caps is set.
    capset_only(keep_bpf ? (1ull << kCapBpf) : 0);
    if (keep_bpf) prctl(PR_SET_KEEPCAPS, 0);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw Error(errno_text("cannot set no_new_privs", errno));
    if (setuid(0) == 0) throw Error("the user switch did not hold: still able to become root");
}

std::string effective_caps_text() {
    uint64_t eff = 0;
    if (!effective_caps(eff)) return "unknown";
    if (eff == 0) return "none";
    if (eff == (1ull << kCapBpf)) return "cap_bpf";
    char buf[32];
    snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(eff));
    return buf;
}

}  // namespace probescope
