// Validation of classifier thresholds, shared by the command line and config reloads.
#include "thresholds.h"

#include <string>

#include "error.h"

namespace probescope {

void validate(const Thresholds& t) {
    auto positive = [](double v, const char* name) {
        if (!(v > 0))
            throw Error(std::string("--") + name + " must be more than 0",
                        "see README.md, Thresholds, for the defaults and where they come from");
    };
    positive(t.window_s, "window");
    positive(t.repeat_window_s, "repeat-window");
    positive(t.scanlogd_window_s, "scanlogd-window");
    positive(t.idle_timeout_s, "idle-timeout");
    positive(t.vertical_ports, "vertical-ports");
    positive(t.horizontal_dsts, "horizontal-dsts");
    positive(t.repeat_count, "repeat-count");
    positive(t.flood_sources, "flood-sources");
    if (!(t.tool_min_share > 0 && t.tool_min_share <= 1))
        throw Error("--tool-min-share must be in (0, 1]", "the default is 0.9");
}

}  // namespace probescope
