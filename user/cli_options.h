// Command-line options shared by subcommands (run, replay, top): thresholds and labelling.
#pragma once
#include <CLI/CLI.hpp>

#include "thresholds.h"

namespace probescope {

void add_threshold_options(CLI::App* app, Thresholds& t);

}  // namespace probescope
