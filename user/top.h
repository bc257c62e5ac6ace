// `probescope top`: a live view of who knocks. It reads a running agent's records from its
// socket, or, when none runs, drains the program itself (AgentSession, the same pipeline as
// `probescope run`), and feeds them to TopModel; TopView draws them.
#pragma once
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent.h"

namespace probescope {

struct TopOptions {
    RunOptions run;  // the in-process agent's options; run.socket is where a running one serves
    size_t keep_sources = 1000000;  // sources the view remembers (least recently updated dropped)
};

int run_top(const TopOptions& o);
// replay --top: the same view over the records of a finished replay, until q.
int view_replayed(const std::vector<nlohmann::json>& records, const std::string& what);

}  // namespace probescope
