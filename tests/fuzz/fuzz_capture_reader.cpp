// libFuzzer target: arbitrary bytes as a capture file for CaptureReader (libpcap over zlib),
// read until End or Error, then the same bytes gzip-compressed here, so that the .gz path reads
// them too. Both paths must give the same records: gzip is transparent to the reader (unless the
// input is itself gzip: then the plain path inflates it and the other path sees gzip bytes).
#include <pcap/pcap.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "capture_reader.h"
#include "error.h"

namespace {

// A crash is the only failure libFuzzer reports, so broken invariants abort.
void require(bool ok) {
    if (!ok) std::abort();
}

std::string gzip(std::string_view in) {
    z_stream z{};
    require(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, in.size()) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    require(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

// What one read of a capture gave: every record, and how it ended.
struct Outcome {
    bool opened = false;
    std::vector<probescope::CapturePacket> packets;
    bool clean_end = false;
    std::string error;  // without the file name
};

Outcome read_all(std::string_view bytes, const std::string& name) {
    Outcome o;
    std::unique_ptr<probescope::CaptureReader> r;
    try {
        r = probescope::CaptureReader::open_bytes(bytes, name);
    } catch (const probescope::Error& e) {
        // Every refusal names the capture (a memfd or staging failure would not: a leaked fd).
        require(std::string_view(e.what()).find(name) != std::string_view::npos);
        return o;
    }
    o.opened = true;
    const int lt = r->linktype();
    for (;;) {
        probescope::CapturePacket p;
        auto n = r->next(p);
        if (n == probescope::CaptureReader::Next::End) {
            o.clean_end = true;
            break;
        }
        if (n == probescope::CaptureReader::Next::Error) {
            // "NAME: record N: ...", N the record after the last one read.
            const std::string want =
                name + ": record " + std::to_string(o.packets.size() + 1) + ": ";
            require(r->error().starts_with(want));
            o.error = r->error().substr(name.size());
            break;
        }
        require(p.record == o.packets.size() + 1);
        // Cooked and raw IP records always get a synthetic Ethernet header.
        if (lt != DLT_EN10MB) require(p.frame.size() >= 14);
        o.packets.push_back(std::move(p));
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    Outcome plain = read_all(bytes, "fuzz.pcap");
    Outcome gz = read_all(gzip(bytes), "fuzz.pcap.gz");
    if (size > 0 && data[0] == 0x1f) return 0;  // gzip magic: the two paths read different bytes
    require(plain.opened == gz.opened);
    require(plain.clean_end == gz.clean_end);
    require(plain.error == gz.error);
    require(plain.packets.size() == gz.packets.size());
    for (size_t i = 0; i < plain.packets.size(); ++i) {
        require(plain.packets[i].ts_ns == gz.packets[i].ts_ns);
        require(plain.packets[i].frame == gz.packets[i].frame);
    }
    return 0;
}
