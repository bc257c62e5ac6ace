// Replay: each capture record is one BPF_PROG_TEST_RUN of the real program, at its capture time.
#include "replay.h"

#include <cerrno>
#include <cstdio>

#include "capture_reader.h"
#include "cidr_set.h"
#include "error.h"
#include "interval_processor.h"
#include "json_sink.h"
#include "map_drain.h"
#include "replay_runner.h"
#include "summary_tables.h"
#include "xdp_session.h"

namespace probescope {

// The --dst prefixes; a clear Error for one that is not an address or CIDR.
static std::vector<std::pair<Addr16, int>> dst_prefixes(const ReplayOptions& o) {
    std::vector<std::pair<Addr16, int>> out;
    for (const auto& d : o.dst) {
        auto c = parse_cidr(d);
        if (!c)
            throw Error("--dst '" + d + "' is not an address or CIDR", "e.g. --dst 192.0.2.0/24");
        out.push_back({c->first, c->second});
    }
    return out;
}

void validate(const ReplayOptions& o) {
    if (o.files.empty())
        throw Error("no capture given", "probescope replay FILE... ('-' for stdin)");
    if (!(o.interval_s > 0)) throw Error("--interval must be more than 0 seconds of capture time");
    (void)replay_jobs(o.jobs);
    validate(o.thresholds);
    (void)dst_prefixes(o);
}

int run_replay(const ReplayOptions& o, const std::function<void(const nlohmann::json&)>& also) {
    validate(o);
    LoadConfig lc{o.max_sources, PS_CLOCK_USER, "", {}};
    lc.dst_prefixes = dst_prefixes(o);
    lc.src_on_demand = true;  // no half-GB preallocation before the first record
    check_privileges();
    check_kernel();
    auto prog = LoadedProgram::load(lc);
    MapDrain drain(prog->map_fds(), o.max_sources);
    ReplayRunner runner(prog->prog_fd(), o.jobs);

    ResearchScannerLists research;
    for (const auto& path : o.research_lists) research.load_file(path);
    PortNames port_names(o.services);
    std::unique_ptr<JsonSink> sink;
    if ((!o.summary && !o.top) || !o.output.empty()) sink = std::make_unique<JsonSink>(o.output);
    SummaryTables tables;
    auto emit = [&](const nlohmann::json& j) {
        if (sink) sink->write(j);
        if (o.summary) tables.on_record(j);
        if (also) also(j);
    };
    ProcessorConfig pc{o.thresholds, o.max_sources, o.top_ports, o.source_records};
    IntervalProcessor labelled(pc, {"replay", Clock::unix_epoch()}, &research, nullptr,
                               &port_names);

    const int64_t step = static_cast<int64_t>(o.interval_s * 1e9);
    uint64_t records = 0, bad_files = 0, backwards = 0, unopened = 0;
    int64_t start = 0, last_ts = 0;
    bool started = false;
    auto drain_interval = [&](int64_t end_ns) {
        runner.flush();  // the program has seen every frame of the interval
        Interval iv = drain.read_interval(static_cast<uint64_t>(end_ns), o.interval_s);
        labelled.process(iv, emit);
        drain.recycle(std::move(iv.sources));
    };

    CapturePacket pkt;
    for (const auto& file : o.files) {
        std::unique_ptr<CaptureReader> reader;
        try {
            reader = CaptureReader::open(file);
        } catch (const Error& e) {
            if (o.strict) throw;
            fprintf(stderr, "probescope: error: %s\n", e.what());
            if (!e.hint().empty()) fprintf(stderr, "probescope: hint: %s\n", e.hint().c_str());
            ++unopened;
            continue;
        }
        for (;;) {
            auto r = reader->next(pkt);
            if (r == CaptureReader::Next::End) break;
            if (r == CaptureReader::Next::Error) {
                if (o.strict)
                    throw Error(reader->error(), "drop --strict to count what can be read");
                fprintf(stderr, "probescope: %s (the records before it are counted)\n",
                        reader->error().c_str());
                ++bad_files;
                break;
            }
            ++records;
            int64_t ts = pkt.ts_ns;
            if (started && ts < last_ts) {
                ++backwards;  // capture time never runs backwards for the windows
                ts = last_ts;
            }
            if (!started) {
                start = ts - ts % step;
                started = true;
            }
            if (ts >= start + step) {
                drain_interval(start + step);
                start = ts - ts % step;  // skip empty intervals in capture gaps
            }
            last_ts = ts;
            runner.add(pkt.frame, ts);
        }
    }
    if (started) drain_interval(start + step);
    const uint64_t unreadable = runner.refused();
    labelled.finish(static_cast<uint64_t>(last_ts), emit);
    if (sink) sink->flush();
    if (o.summary) tables.print(stdout);
    fprintf(stderr,
            "probescope: replayed %llu records from %zu file(s); %llu too short for Ethernet, "
            "%llu with time going backwards (held at the latest time), %llu file(s) ended early, "
            "%llu unreadable\n",
            static_cast<unsigned long long>(records), o.files.size(),
            static_cast<unsigned long long>(unreadable), static_cast<unsigned long long>(backwards),
            static_cast<unsigned long long>(bad_files), static_cast<unsigned long long>(unopened));
    // A file that could not be read at all fails the run; bad records inside one do not.
    return unopened ? 1 : 0;
}

}  // namespace probescope
