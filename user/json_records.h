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

// {"proto":"tcp","port":22,"packets":3} for one exact port slot.
nlohmann::json port_item_json(uint32_t item, uint64_t packets);

}  // namespace probescope
