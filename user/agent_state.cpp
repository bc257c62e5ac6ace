// AgentStateMap: the pinned "totals as of the last written stats record".
#include "agent_state.h"

#include <bpf/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>

#include "error.h"

namespace probescope {

namespace {

constexpr uint64_t kMagic = 0x70736167656e7432ull;  // "psagent2": bumped when the layout changes

struct StateValue {
    uint64_t magic;  // kMagic once a stats record was written (a new array holds zeros)
    TotalsSnapshot totals;
};
static_assert(std::is_trivially_copyable_v<StateValue>);

int create_pinned(const std::string& path) {
    LIBBPF_OPTS(bpf_map_create_opts, opts);
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ps_agent_state", sizeof(uint32_t),
                            sizeof(StateValue), 1, &opts);
    if (fd < 0) throw Error(errno_text("cannot create the agent_state map", errno));
    if (bpf_obj_pin(fd, path.c_str()) != 0) {
        int e = errno;
        close(fd);
        throw Error(errno_text("cannot pin the agent_state map at " + path, e));
    }
    chmod(path.c_str(), 0600);
    return fd;
}

}  // namespace

AgentStateMap AgentStateMap::open_or_create(const std::string& pin_dir) {
    const std::string path = pin_dir + "/agent_state";
    int fd = bpf_obj_get(path.c_str());
    if (fd >= 0) {
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.value_size == sizeof(StateValue))
            return AgentStateMap(fd);
        close(fd);  // another build's layout: start over
        unlink(path.c_str());
    }
    return AgentStateMap(create_pinned(path));
}

AgentStateMap::~AgentStateMap() {
    if (fd_ >= 0) close(fd_);
}

std::optional<TotalsSnapshot> AgentStateMap::last_written() const {
    uint32_t key = 0;
    StateValue v{};
    if (bpf_map_lookup_elem(fd_, &key, &v) != 0 || v.magic != kMagic)
        return std::nullopt;
    return v.totals;
}

void AgentStateMap::store(const TotalsSnapshot& totals) const {
    uint32_t key = 0;
    StateValue v{kMagic, totals};
    bpf_map_update_elem(fd_, &key, &v, BPF_ANY);
}

}  // namespace probescope
