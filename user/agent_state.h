// What the agent has written so far, kept in a pinned map next to the program's, so that an agent
// restarted after kill -9 emits exactly the counts its predecessor had not written yet.
#pragma once
#include <optional>
#include <string>

#include "interval.h"

namespace probescope {

// A one-entry BPF array map, created and pinned by the agent (the XDP program never touches
// it): it lives and dies with the other pins, under the same owner and mode, and needs no
// second place to configure. Written after each stats record reaches the output.
class AgentStateMap {
public:
    // Opens pin_dir/agent_state, or creates and pins it (mode 0600).
    static AgentStateMap open_or_create(const std::string& pin_dir);
    AgentStateMap(AgentStateMap&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    AgentStateMap& operator=(AgentStateMap&&) = delete;
    ~AgentStateMap();

    // The totals of the last stats record written, if an agent wrote one since the load.
    std::optional<TotalsSnapshot> last_written() const;
    // Thread-safe (one syscall).
    void store(const TotalsSnapshot& totals) const;

private:
    explicit AgentStateMap(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace probescope
