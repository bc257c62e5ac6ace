// JSON records (docs/json.md) built from drained data; pure, so tests need no kernel.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "clock.h"
#include "interval.h"
#include "source_table.h"

namespace probescope {

struct RecordContext {
    std::string iface;
    Clock clock;
};

nlohmann::json stats_record(const RecordContext& ctx, const Interval& iv);
nlohmann::json source_record(const RecordContext& ctx, const Interval& iv, const SourceState& s);
nlohmann::json port_record(const RecordContext& ctx, const Interval& iv, const PortSample& p);

// The records written per source (source, scanner, scanner_end) and the stats record's rows
// are built key by key (j["k"] = v), not from nested initializer lists: nlohmann copies every
// element of an initializer list (a 7-key object took 2.1-3.2 us that way against 0.9-1.5 key
// by key on the bench host; README, Benchmarks). Records written once per interval may use
// initializer lists.

// {"proto":"tcp","port":22,"packets":3} for one exact port slot.
nlohmann::json port_item_json(uint32_t item, uint64_t packets);

// {"value":12,"exact":true}
nlohmann::json distinct_json(const DistinctCount& d);

}  // namespace probescope
