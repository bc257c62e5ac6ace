// Reads pcap/pcapng captures (optionally gzip'd, or stdin) with libpcap and zlib, and frames
// every record as Ethernet, so the XDP program sees what it would see on the wire.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

typedef struct pcap pcap_t;

namespace probescope {

struct CapturePacket {
    int64_t ts_ns = 0;           // capture time, Unix ns
    std::vector<uint8_t> frame;  // Ethernet framed (synthetic header for SLL, SLL2, raw IP)
    uint64_t record = 0;         // 1-based record number in its file
};

class CaptureReader {
public:
    enum class Next { Packet, End, Error };

    // "-" reads standard input. Throws Error naming the file on open failure or an
    // unsupported link type.
    static std::unique_ptr<CaptureReader> open(const std::string& path);
    // The same from bytes in memory (fuzzing, tests); name is used in messages.
    static std::unique_ptr<CaptureReader> open_bytes(std::string_view bytes,
                                                     const std::string& name);
    ~CaptureReader();
    CaptureReader(const CaptureReader&) = delete;
    CaptureReader& operator=(const CaptureReader&) = delete;

    // Packet: out is filled. End: clean end of file. Error: error() says what and where;
    // libpcap cannot resynchronise after a bad record, so the file ends there.
    Next next(CapturePacket& out);
    const std::string& error() const { return error_; }
    int linktype() const { return linktype_; }
    const std::string& name() const { return name_; }

private:
    CaptureReader() = default;
    static std::unique_ptr<CaptureReader> from_fd(int fd, const std::string& name);
    pcap_t* pcap_ = nullptr;
    std::string name_;
    std::string error_;
    int linktype_ = 0;
    uint64_t record_ = 0;
};

}  // namespace probescope
