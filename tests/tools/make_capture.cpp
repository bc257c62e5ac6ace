// probescope-make-capture: writes the crafted captures `probescope replay` is tested with.
// A named scenario gives the packets (PacketBuilder frames, TEST-NET addresses only); options
// choose the link type, the file format (pcap through libpcap's pcap_dump, or pcapng written
// here: SHB, IDB, EPBs), the timestamp resolution, the spacing in capture time, and damage:
// a snap length, a record cut in the middle, a record header with an impossible caplen,
// timestamps that run backwards. An output name ending in .gz is gzip'd with zlib.
//
//   probescope-make-capture scan -o scan.pcap --link sll2
//   probescope-make-capture scan -o cut.pcap --truncate-after 12
//   probescope-make-capture scan -o slow.pcapng --format pcapng --spacing 30
#include <pcap/pcap.h>
#include <zlib.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "packet_builder.h"

using probescope::test::Frame;
using probescope::test::PacketBuilder;
namespace tcpopt = probescope::test::tcpopt;

namespace {

constexpr int kDltLinuxSll2 = 276;  // not in every pcap.h
constexpr char kScanner[] = "198.51.100.10", kOther[] = "198.51.100.20", kTarget[] = "203.0.113.5";
constexpr uint16_t kScanSport = 40000;
// nmap's top 20 TCP ports: the scan's 20 distinct destination ports.
constexpr uint16_t kScanPorts[20] = {21,  22,  23,  25,  53,  80,   110,  111,  135,  139,
                                     143, 443, 445, 993, 995, 1723, 3306, 3389, 5900, 8080};

struct Packet {
    double t;  // seconds after the capture's start
    Frame frame;
};

// An nmap -sS probe: window 1024, MSS 1460 alone, one source port, no DF.
Frame nmap_syn(const char* src, uint16_t dport) {
    return PacketBuilder()
        .eth()
        .ipv4(src, kTarget)
        .ttl(52)
        .ip_id(static_cast<uint16_t>(31000 + dport))
        .tcp(kScanSport, dport, 0x02)
        .seq(0x5eed0001)
        .window(1024)
        .tcp_options(tcpopt::mss(1460));
}

// A client's SYN from the OS stack: DF, Linux options, its own source port per connection.
Frame stack_syn(const char* src, uint16_t sport, uint16_t dport) {
    return PacketBuilder()
        .eth()
        .ipv4(src, kTarget)
        .dont_fragment()
        .tcp(sport, dport, 0x02)
        .seq(0x10000000u + sport)
        .window(64240)
        .tcp_options(tcpopt::linux_syn());
}

// The closed port's answer to a SYN: RST+ACK from the target back to the scanner.
Frame rst_reply(uint16_t dport) {
    return PacketBuilder()
        .eth()
        .ipv4(kTarget, kScanner)
        .tcp(dport, kScanSport, 0x14)
        .ack_seq(0x5eed0002)
        .window(0);
}

// Scenarios. `spacing` is the capture time between consecutive packets.
std::vector<Packet> scenario(const std::string& name, double spacing) {
    std::vector<Packet> v;
    // scan: 20 distinct ports, one SYN each, from one source to one host.
    auto scan = [&] {
        for (int i = 0; i < 20; ++i) v.push_back({i * spacing, nmap_syn(kScanner, kScanPorts[i])});
    };
    if (name == "scan") {
        scan();
    } else if (name == "replies") {
        // Both directions, as a capture on the target's LAN holds them: each SYN, then its RST.
        for (int i = 0; i < 20; ++i) {
            v.push_back({i * spacing, nmap_syn(kScanner, kScanPorts[i])});
            v.push_back({i * spacing + spacing / 2, rst_reply(kScanPorts[i])});
        }
    } else if (name == "summary") {
        // The scan, then a client that connects to ports 22 and 80 (two sources on those ports).
        scan();
        double t = 20 * spacing;
        v.push_back({t, stack_syn(kOther, 51000, 22)});
        v.push_back({t + spacing, stack_syn(kOther, 51001, 80)});
    } else if (name == "sources") {
        // Many sources at once, for replay's workers to split: six nmap-like scanners of the
        // 20 ports, interleaved, and between their probes 200 spoofed one-SYN sources
        // (240.0.0.0/4, reserved).
        const char* scanners[] = {"198.51.100.10", "198.51.100.11", "198.51.100.12",
                                  "198.51.100.13", "198.51.100.14", "198.51.100.15"};
        double t = 0;
        for (int i = 0; i < 20; ++i) {
            for (const char* s : scanners) v.push_back({t += spacing, nmap_syn(s, kScanPorts[i])});
            for (int k = 0; k < 10; ++k) {
                const std::string src = "240.0." + std::to_string(i) + "." + std::to_string(k + 1);
                v.push_back(
                    {t += spacing, stack_syn(src.c_str(), static_cast<uint16_t>(50000 + k), 80)});
            }
        }
    } else {
        throw std::invalid_argument("unknown scenario '" + name +
                                    "' (scan, replies, summary, sources)");
    }
    return v;
}

void put16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}

// Re-frames an Ethernet frame for the link type: a Linux cooked header or none at all.
Frame reframe(const Frame& eth, int dlt) {
    const uint16_t proto = static_cast<uint16_t>(eth[12] << 8 | eth[13]);
    const uint8_t src_mac[8] = {2, 0, 0, 0, 0, 1, 0, 0};
    Frame out;
    switch (dlt) {
        case DLT_EN10MB:
        case DLT_IEEE802_11:  // not really 802.11: only the link type matters to the reader
            return eth;
        case DLT_LINUX_SLL:  // packet type, ARPHRD, address length, address (8), protocol
            put16(out, 0);
            put16(out, 1);
            put16(out, 6);
            out.insert(out.end(), src_mac, src_mac + 8);
            put16(out, proto);
            break;
        case kDltLinuxSll2:  // protocol, reserved, ifindex (4), ARPHRD, packet type, addr len, addr
                             // (8)
            put16(out, proto);
            put16(out, 0);
            put16(out, 0);
            put16(out, 2);
            put16(out, 1);
            out.push_back(0);
            out.push_back(6);
            out.insert(out.end(), src_mac, src_mac + 8);
            break;
        default:  // raw IP
            break;
    }
    out.insert(out.end(), eth.begin() + 14, eth.end());
    return out;
}

struct Options {
    std::string scenario, out, link = "en10mb", format = "pcap";
    bool nano = false, reverse_time = false;
    int64_t start = 1704067200;  // 2024-01-01T00:00:00Z; the first packet is 250 ms later
    double spacing = 0.01;
    uint32_t snaplen = 262144;
    int first = 1, count = 0;  // records [first, first + count) of the scenario; 0: to the end
    int truncate_after = -1;   // keep this many records, then half of the next
    int corrupt_record = 0;    // 1-based record whose caplen becomes 0x7fffffff
};

struct Record {
    int64_t ts_ns;
    uint32_t caplen, len;
    const Frame* frame;
};

std::vector<uint8_t> write_pcap(const Options& o, int dlt, const std::vector<Record>& recs,
                                std::vector<size_t>& offsets) {
    pcap_t* dead = pcap_open_dead_with_tstamp_precision(
        dlt, static_cast<int>(o.snaplen),
        o.nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    if (!dead) throw std::runtime_error("pcap_open_dead failed");
    char* buf = nullptr;
    size_t size = 0;
    FILE* mem = open_memstream(&buf, &size);
    pcap_dumper_t* d = pcap_dump_fopen(dead, mem);
    if (!d) throw std::runtime_error(std::string("pcap_dump_fopen: ") + pcap_geterr(dead));
    for (const auto& r : recs) {
        pcap_dump_flush(d);
        offsets.push_back(static_cast<size_t>(pcap_dump_ftell(d)));
        pcap_pkthdr h{};
        h.ts.tv_sec = r.ts_ns / 1000000000;
        const int64_t frac = r.ts_ns % 1000000000;
        h.ts.tv_usec = o.nano ? frac : frac / 1000;  // pcap_dump writes tv_usec as it is
        h.caplen = r.caplen;
        h.len = r.len;
        pcap_dump(reinterpret_cast<u_char*>(d), &h, r.frame->data());
    }
    pcap_dump_close(d);  // closes the memstream: buf and size are final
    pcap_close(dead);
    std::vector<uint8_t> bytes(buf, buf + size);
    free(buf);
    return bytes;
}

void le16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v));
    b.push_back(static_cast<uint8_t>(v >> 8));
}
void le32(std::vector<uint8_t>& b, uint32_t v) {
    le16(b, static_cast<uint16_t>(v));
    le16(b, static_cast<uint16_t>(v >> 16));
}

// One pcapng block: type, total length, body padded to 4, total length again.
void block(std::vector<uint8_t>& out, uint32_t type, std::vector<uint8_t> body) {
    while (body.size() % 4) body.push_back(0);
    le32(out, type);
    le32(out, static_cast<uint32_t>(body.size() + 12));
    out.insert(out.end(), body.begin(), body.end());
    le32(out, static_cast<uint32_t>(body.size() + 12));
}

// The LINKTYPE_ number a file carries for a DLT_ value; pcap_dump maps it for pcap files
// (DLT_RAW, 12 on Linux, is LINKTYPE_RAW 101); the other link types used here are equal.
int linktype_of(int dlt) { return dlt == DLT_RAW ? 101 : dlt; }

std::vector<uint8_t> write_pcapng(const Options& o, int dlt, const std::vector<Record>& recs,
                                  std::vector<size_t>& offsets) {
    std::vector<uint8_t> out, b;
    le32(b, 0x1A2B3C4D);  // byte-order magic
    le16(b, 1);
    le16(b, 0);
    le32(b, 0xffffffff);  // section length unknown
    le32(b, 0xffffffff);
    block(out, 0x0A0D0D0A, b);  // SHB
    b.clear();
    le16(b, static_cast<uint16_t>(linktype_of(dlt)));
    le16(b, 0);
    le32(b, o.snaplen);
    if (o.nano) {  // if_tsresol = 9: nanoseconds (the default, absent, is microseconds)
        le16(b, 9);
        le16(b, 1);
        b.insert(b.end(), {9, 0, 0, 0});
        le32(b, 0);  // opt_endofopt
    }
    block(out, 1, b);  // IDB
    for (const auto& r : recs) {
        offsets.push_back(out.size());
        b.clear();
        const uint64_t ts =
            o.nano ? static_cast<uint64_t>(r.ts_ns) : static_cast<uint64_t>(r.ts_ns / 1000);
        le32(b, 0);  // interface 0
        le32(b, static_cast<uint32_t>(ts >> 32));
        le32(b, static_cast<uint32_t>(ts));
        le32(b, r.caplen);
        le32(b, r.len);
        b.insert(b.end(), r.frame->begin(), r.frame->begin() + r.caplen);
        block(out, 6, b);  // EPB
    }
    return out;
}

int link_dlt(const std::string& link) {
    static const std::map<std::string, int> dlts = {
        {"en10mb", DLT_EN10MB}, {"sll", DLT_LINUX_SLL}, {"sll2", kDltLinuxSll2},
        {"raw", DLT_RAW},       {"ipv4", DLT_IPV4},     {"ieee802_11", DLT_IEEE802_11}};
    auto it = dlts.find(link);
    if (it == dlts.end()) throw std::invalid_argument("unknown link type '" + link + "'");
    return it->second;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"probescope-make-capture: crafted captures for probescope replay's tests"};
    Options o;
    app.add_option("scenario", o.scenario,
                   "scan (20-port nmap SYN scan), replies (the scan and its "
                   "RSTs), summary (the scan and a client on 22 and 80), sources (six "
                   "scanners and 200 spoofed one-SYN sources, interleaved)")
        ->required();
    app.add_option("-o,--output", o.out, "File to write; a name ending in .gz is gzip'd")
        ->required();
    app.add_option("--link", o.link, "en10mb, sll, sll2, raw, ipv4, ieee802_11")
        ->capture_default_str();
    app.add_option("--format", o.format, "pcap or pcapng")
        ->check(CLI::IsMember({"pcap", "pcapng"}))
        ->capture_default_str();
    app.add_flag("--nano", o.nano, "Nanosecond timestamps");
    app.add_option("--start", o.start,
                   "Capture start, Unix seconds (the first packet is 0.25 s later)")
        ->capture_default_str();
    app.add_option("--spacing", o.spacing, "Seconds of capture time between packets")
        ->capture_default_str();
    app.add_option("--snaplen", o.snaplen, "Snap length: records keep this many bytes")
        ->capture_default_str();
    app.add_option("--first", o.first, "First record of the scenario to write (1-based)")
        ->capture_default_str();
    app.add_option("--count", o.count, "Records to write (0: to the end)")->capture_default_str();
    app.add_flag("--reverse-time", o.reverse_time, "Stamp the records in decreasing time order");
    app.add_option(
        "--truncate-after", o.truncate_after,
        "Write this many whole records, then cut the next one in the middle of its data");
    app.add_option("--corrupt-record", o.corrupt_record,
                   "Give this record (1-based) a caplen of 0x7fffffff (pcap only)");
    CLI11_PARSE(app, argc, argv);

    try {
        const int dlt = link_dlt(o.link);
        auto packets = scenario(o.scenario, o.spacing);
        const int first = std::max(1, o.first);
        const int last = o.count > 0 ? std::min<int>(packets.size(), first - 1 + o.count)
                                     : static_cast<int>(packets.size());
        std::vector<Frame> frames;
        for (int i = first - 1; i < last; ++i) frames.push_back(reframe(packets[i].frame, dlt));
        std::vector<Record> recs;
        const int n = static_cast<int>(frames.size());
        for (int i = 0; i < n; ++i) {
            const double t = packets[first - 1 + (o.reverse_time ? n - 1 - i : i)].t;
            const int64_t ts_ns = o.start * 1000000000 + 250000000 + std::llround(t * 1e9);
            const uint32_t len = static_cast<uint32_t>(frames[i].size());
            recs.push_back({ts_ns, std::min(len, o.snaplen), len, &frames[i]});
        }

        std::vector<size_t> offsets;  // where each record starts
        std::vector<uint8_t> bytes = o.format == "pcap" ? write_pcap(o, dlt, recs, offsets)
                                                        : write_pcapng(o, dlt, recs, offsets);
        if (o.truncate_after >= 0) {
            if (o.truncate_after >= n)
                throw std::invalid_argument("--truncate-after: not that many records");
            // The next record's header, and half of its data.
            const size_t hdr = o.format == "pcap" ? 16 : 28;
            bytes.resize(offsets[o.truncate_after] + hdr + recs[o.truncate_after].caplen / 2);
        }
        if (o.corrupt_record > 0) {
            if (o.format != "pcap" || o.corrupt_record > n)
                throw std::invalid_argument("--corrupt-record: a record of a pcap file");
            const size_t at = offsets[o.corrupt_record - 1] + 8;  // ts_sec, ts_usec, then caplen
            const uint32_t bad = 0x7fffffff;
            std::memcpy(bytes.data() + at, &bad, 4);  // host order, as pcap_dump wrote the rest
        }

        const bool gz = o.out.size() > 3 && o.out.compare(o.out.size() - 3, 3, ".gz") == 0;
        if (gz) {
            gzFile f = gzopen(o.out.c_str(), "wb");
            if (!f ||
                gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) !=
                    static_cast<int>(bytes.size()) ||
                gzclose(f) != Z_OK)
                throw std::runtime_error("cannot write " + o.out);
        } else {
            FILE* f = fopen(o.out.c_str(), "wb");
            if (!f || fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || fclose(f) != 0)
                throw std::runtime_error("cannot write " + o.out);
        }
    } catch (const std::exception& e) {
        fprintf(stderr, "probescope-make-capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
