// The records a running agent serves to `probescope top`: JSON lines on a Unix stream socket.
// bpffs holds no sockets, so the default is /run/probescope/<iface>.sock (directory 0750,
// socket 0660). The drain loop never waits for a client: writes are non-blocking, each client
// has a bounded backlog, and a client that falls further behind is dropped and counted.
// A client that joins a running agent first gets its history: the latest verdict of every
// scanner still open, then the most recent events (scanner, scanner_end, flood, backscatter).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace probescope {

// "/run/probescope/<iface>.sock", or `path` when one was given; "none" turns the socket off.
std::string record_socket_path(const std::string& path, const std::string& iface);

class RecordServer {
public:
    // Empty path: a server that serves nothing. Refuses (Error) when another process serves
    // the path; a stale socket file (nobody listening) is replaced.
    explicit RecordServer(const std::string& path, size_t max_backlog = 16u << 20,
                          size_t max_history = 2048);
    ~RecordServer();
    RecordServer(const RecordServer&) = delete;
    RecordServer& operator=(const RecordServer&) = delete;

    // Takes new clients; call once per interval before its records, so each gets whole ones.
    void accept_clients();
    bool has_clients() const { return !clients_.empty(); }
    // Queues one record line for every client, and keeps events for clients yet to come.
    // dumped, if given, is the record already serialised (without '\n'): it is not dumped again.
    void publish(const nlohmann::json& record, std::string_view dumped = {});
    void publish_line(std::string_view line);  // with its '\n'; not kept in the history
    // Writes what each client can take now; drops clients that are gone or too slow.
    void flush();

    // What a client joining now is sent first, in the order it was published.
    std::vector<std::string> history() const;

    const std::string& path() const { return path_; }
    size_t clients() const { return clients_.size(); }
    uint64_t dropped_slow() const { return dropped_slow_; }

private:
    struct Client {
        int fd;
        std::string pending;
    };
    struct Kept {
        uint64_t seq;
        std::string line;
    };
    void drop(size_t i, bool slow);
    // Keeps an event line (type is scanner, scanner_end, flood or backscatter).
    void remember(const std::string& type, const nlohmann::json& record, const std::string& line);
    std::string path_;
    std::string created_dir_;  // removed at exit when empty
    int fd_ = -1;
    unsigned long ino_ = 0;
    size_t max_backlog_;
    std::vector<Client> clients_;
    uint64_t dropped_slow_ = 0;
    size_t max_history_;
    uint64_t seq_ = 0;
    std::deque<Kept> recent_;                           // the last max_history_ events
    std::unordered_map<std::string, Kept> open_;        // src -> its latest scanner record
};

// A server on path, or, with a warning on stderr, one that serves nothing when it cannot listen
// there (the JSON output does not depend on it). Empty path: serves nothing, silently.
std::unique_ptr<RecordServer> open_record_server(const std::string& path);

// top's end: connects to a running agent's socket and hands over whole lines.
class RecordClient {
public:
    // Returns false (errno set) when nothing listens on path.
    bool connect(const std::string& path);
    ~RecordClient();
    int fd() const { return fd_; }
    bool connected() const { return fd_ >= 0; }
    // Reads what is there now (up to max_bytes) and calls on_line for each whole line.
    // Returns false once the agent closed the connection.
    bool read_lines(const std::function<void(std::string_view)>& on_line,
                    size_t max_bytes = 4u << 20);
    void close();

private:
    int fd_ = -1;
    std::string buf_;
};

}  // namespace probescope
