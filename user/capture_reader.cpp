// CaptureReader: zlib underneath (it reads plain files transparently), libpcap on top.
#include "capture_reader.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "error.h"

namespace probescope {
namespace {

constexpr int kDltLinuxSll2 = 276;  // not in every pcap.h

ssize_t gz_read(void* cookie, char* buf, size_t size) {
    int n = gzread(static_cast<gzFile>(cookie), buf, static_cast<unsigned>(size));
    return n < 0 ? -1 : n;
}
int gz_close(void* cookie) { return gzclose(static_cast<gzFile>(cookie)) == Z_OK ? 0 : EOF; }

void put_eth(std::vector<uint8_t>& f, uint16_t type) {
    static constexpr uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    f.insert(f.end(), macs, macs + 12);
    f.push_back(static_cast<uint8_t>(type >> 8));
    f.push_back(static_cast<uint8_t>(type));
}

uint16_t ip_ethertype(const uint8_t* p, size_t n) {
    if (n == 0) return 0;
    return (p[0] >> 4) == 6 ? 0x86DD : (p[0] >> 4) == 4 ? 0x0800 : 0;
}

}  // namespace

std::unique_ptr<CaptureReader> CaptureReader::from_fd(int fd, const std::string& name) {
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        throw Error("cannot read capture " + name);
    }
    FILE* fp = fopencookie(gz, "rb", cookie_io_functions_t{gz_read, nullptr, nullptr, gz_close});
    if (!fp) {
        gzclose(gz);
        throw Error(errno_text("cannot read capture " + name, errno));
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!p) {
        fclose(fp);
        throw Error(name + ": not a readable pcap or pcapng capture: " + errbuf,
                    "probescope replay reads pcap and pcapng, plain or gzip'd");
    }
    std::unique_ptr<CaptureReader> r(new CaptureReader());
    r->pcap_ = p;
    r->name_ = name;
    r->linktype_ = pcap_datalink(p);
    switch (r->linktype_) {
        case DLT_EN10MB:
        case DLT_LINUX_SLL:
        case kDltLinuxSll2:
        case DLT_RAW:
        case DLT_IPV4:
        case DLT_IPV6:
            break;
        default: {
            const char* lt = pcap_datalink_val_to_name(r->linktype_);
            throw Error(name + ": link type " + std::to_string(r->linktype_) + " (" +
                            (lt ? lt : "unknown") + ") is not supported",
                        "replay reads Ethernet, Linux cooked (SLL, SLL2) and raw IP captures");
        }
    }
    return r;
}

std::unique_ptr<CaptureReader> CaptureReader::open(const std::string& path) {
    int fd = path == "-" ? dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(errno_text("cannot open capture " + path, errno),
                    "check the path and that this user may read it");
    return from_fd(fd, path == "-" ? "<stdin>" : path);
}

std::unique_ptr<CaptureReader> CaptureReader::open_bytes(std::string_view bytes,
                                                         const std::string& name) {
    int fd = memfd_create("capture", MFD_CLOEXEC);
    if (fd < 0) throw Error(errno_text("memfd_create", errno));
    if (write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
        lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        throw Error(errno_text("cannot stage capture bytes", errno));
    }
    return from_fd(fd, name);
}

CaptureReader::~CaptureReader() {
    if (pcap_) pcap_close(pcap_);
}

CaptureReader::Next CaptureReader::next(CapturePacket& out) {
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    int rc = pcap_next_ex(pcap_, &h, &data);
    if (rc == PCAP_ERROR_BREAK) return Next::End;
    ++record_;
    if (rc != 1) {
        error_ = name_ + ": record " + std::to_string(record_) + ": " + pcap_geterr(pcap_);
        return Next::Error;
    }
    out.record = record_;
    // Nano precision; a pcapng timestamp can be any 64-bit value, so check before using it.
    int64_t ns = 0;
    if (__builtin_mul_overflow(static_cast<int64_t>(h->ts.tv_sec), int64_t{1000000000}, &ns) ||
        __builtin_add_overflow(ns, static_cast<int64_t>(h->ts.tv_usec), &ns)) {
        error_ = name_ + ": record " + std::to_string(record_) + ": timestamp out of range";
        return Next::Error;
    }
    out.ts_ns = ns;
    out.frame.clear();
    const uint8_t* p = data;
    size_t n = h->caplen;
    switch (linktype_) {
        case DLT_EN10MB:
            out.frame.assign(p, p + n);
            return Next::Packet;
        case DLT_LINUX_SLL:  // 16-byte header, protocol in its last two bytes
            if (n < 16) break;
            put_eth(out.frame, static_cast<uint16_t>(p[14] << 8 | p[15]));
            out.frame.insert(out.frame.end(), p + 16, p + n);
            return Next::Packet;
        case kDltLinuxSll2:  // 20-byte header, protocol first
            if (n < 20) break;
            put_eth(out.frame, static_cast<uint16_t>(p[0] << 8 | p[1]));
            out.frame.insert(out.frame.end(), p + 20, p + n);
            return Next::Packet;
        default:  // raw IP: the version nibble says which
            put_eth(out.frame, ip_ethertype(p, n));
            out.frame.insert(out.frame.end(), p, p + n);
            return Next::Packet;
    }
    // A cooked header cut by the snap length: frame what there is as a truncated IPv4 frame,
    // so that it is counted (malformed), not dropped.
    put_eth(out.frame, 0x0800);
    return Next::Packet;
}

}  // namespace probescope
