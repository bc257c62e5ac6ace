// Unit tests for record_socket.h: the agent serves JSON lines to `probescope top` on a Unix
// socket without ever waiting for it; a viewer that falls too far behind is dropped.
#include "record_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "error.h"
#include "temp_dir.h"

namespace probescope {
namespace {

using test::TempDir;

TEST(RecordSocket, DefaultPathPerInterfaceAndNone) {
    EXPECT_EQ(record_socket_path("", "eth0"), "/run/probescope/eth0.sock");
    EXPECT_EQ(record_socket_path("/tmp/x.sock", "eth0"), "/tmp/x.sock");
    EXPECT_EQ(record_socket_path("none", "eth0"), "");
}

TEST(RecordSocket, ClientGetsWholeLinesFromItsFirstInterval) {
    TempDir dir;
    const std::string path = (dir.path() / "sub" / "agent.sock").string();
    RecordServer server(path);
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    ASSERT_EQ(stat((dir.path() / "sub").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0750u);

    server.publish({{"type", "stats"}, {"seq", 0}});  // before anyone connected: nobody gets it
    RecordClient client;
    ASSERT_TRUE(client.connect(path));
    server.accept_clients();
    EXPECT_EQ(server.clients(), 1u);
    server.publish({{"type", "stats"}, {"seq", 1}});
    server.publish({{"type", "source"}, {"src", "192.0.2.1"}});
    server.flush();
    std::vector<std::string> lines;
    for (int i = 0; i < 50 && lines.size() < 2; ++i) {
        client.read_lines([&](std::string_view l) { lines.emplace_back(l); });
        usleep(2000);
    }
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], R"({"seq":1,"type":"stats"})");
    EXPECT_EQ(lines[1], R"({"src":"192.0.2.1","type":"source"})");
}

// Reads from client until n lines arrived (or a bounded number of tries).
static std::vector<std::string> read_n(RecordServer& server, RecordClient& client, size_t n) {
    std::vector<std::string> lines;
    for (int i = 0; i < 100 && lines.size() < n; ++i) {
        server.flush();
        client.read_lines([&](std::string_view l) { lines.emplace_back(l); });
        usleep(2000);
    }
    return lines;
}

TEST(RecordSocket, JoiningClientGetsOpenVerdictsThenRecentEvents) {
    TempDir dir;
    const std::string path = (dir.path() / "agent.sock").string();
    RecordServer server(path, 16u << 20, 3);  // keeps the last 3 events
    using nlohmann::json;
    server.publish({{"type", "scanner"}, {"src", "192.0.2.1"}, {"n", 1}});  // open, updated below
    server.publish({{"type", "scanner"}, {"src", "192.0.2.2"}, {"n", 2}});  // open, never ends
    server.publish({{"type", "scanner"}, {"src", "192.0.2.3"}, {"n", 3}});  // ends below
    server.publish({{"type", "stats"}, {"n", 4}});                          // not an event
    server.publish({{"type", "scanner"}, {"src", "192.0.2.1"}, {"n", 5}});
    server.publish({{"type", "scanner_end"}, {"src", "192.0.2.3"}, {"n", 6}});
    server.publish({{"type", "flood"}, {"phase", "start"}, {"n", 7}});
    server.publish({{"type", "source"}, {"src", "192.0.2.9"}, {"n", 8}});  // not an event

    // The window holds 5, 6, 7; 192.0.2.2's verdict fell out of it but is still open, so it
    // comes first; 192.0.2.1's first verdict was superseded; 192.0.2.3's ended.
    RecordClient client;
    ASSERT_TRUE(client.connect(path));
    server.accept_clients();
    server.publish({{"type", "stats"}, {"n", 9}});
    auto lines = read_n(server, client, 5);
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(json::parse(lines[0])["n"], 2);
    EXPECT_EQ(json::parse(lines[1])["n"], 5);
    EXPECT_EQ(json::parse(lines[2])["n"], 6);
    EXPECT_EQ(json::parse(lines[3])["n"], 7);
    EXPECT_EQ(json::parse(lines[4])["n"], 9);  // then live records, as for any client
    EXPECT_EQ(server.history().size(), 4u);
}

TEST(RecordSocket, EndedVerdictsAreNotReplayedOnceOutOfTheWindow) {
    TempDir dir;
    const std::string path = (dir.path() / "agent.sock").string();
    RecordServer server(path, 16u << 20, 2);
    server.publish({{"type", "scanner"}, {"src", "2001:db8::1"}, {"n", 1}});
    server.publish({{"type", "scanner_end"}, {"src", "2001:db8::1"}, {"n", 2}});
    server.publish({{"type", "backscatter"}, {"n", 3}});
    server.publish({{"type", "backscatter"}, {"n", 4}});
    auto h = server.history();
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(nlohmann::json::parse(h[0])["n"], 3);
    EXPECT_EQ(nlohmann::json::parse(h[1])["n"], 4);
}

TEST(RecordSocket, SlowClientIsDroppedNeverWaitedFor) {
    TempDir dir;
    const std::string path = (dir.path() / "agent.sock").string();
    RecordServer server(path, 64 << 10);  // a 64 KiB backlog
    RecordClient slow;
    ASSERT_TRUE(slow.connect(path));
    server.accept_clients();
    const std::string line(1000, 'x');
    // Far more than the kernel's socket buffer plus the backlog; the client never reads.
    for (int i = 0; i < 5000 && server.clients() > 0; ++i) {
        server.publish_line(line + "\n");
        server.flush();
    }
    EXPECT_EQ(server.clients(), 0u);
    EXPECT_EQ(server.dropped_slow(), 1u);
}

TEST(RecordSocket, ClientThatLeavesIsForgotten) {
    TempDir dir;
    const std::string path = (dir.path() / "agent.sock").string();
    RecordServer server(path);
    {
        RecordClient gone;
        ASSERT_TRUE(gone.connect(path));
        server.accept_clients();
    }
    for (int i = 0; i < 3; ++i) {
        server.publish_line("{}\n");
        server.flush();
    }
    EXPECT_EQ(server.clients(), 0u);
    EXPECT_EQ(server.dropped_slow(), 0u);
}

TEST(RecordSocket, ReaderSeesTheAgentStop) {
    TempDir dir;
    const std::string path = (dir.path() / "agent.sock").string();
    RecordClient client;
    {
        RecordServer server(path);
        ASSERT_TRUE(client.connect(path));
        server.accept_clients();
        server.publish_line("{\"type\":\"stats\"}\n");
        server.flush();
    }
    EXPECT_FALSE(std::filesystem::exists(path));  // the agent removes its socket
    std::vector<std::string> lines;
    bool open = true;
    for (int i = 0; i < 50 && open; ++i)
        open = client.read_lines([&](std::string_view l) { lines.emplace_back(l); });
    EXPECT_FALSE(open);
    EXPECT_EQ(lines.size(), 1u);
    EXPECT_FALSE(client.connect(path));
}

TEST(RecordSocket, StaleSocketIsReplacedLiveOneRefused) {
    TempDir dir;
    const std::string path = (dir.path() / "agent.sock").string();
    {
        // A socket file nobody listens on: what a killed agent leaves.
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        path.copy(sa.sun_path, sizeof(sa.sun_path) - 1);
        ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
        close(fd);
    }
    RecordServer first(path);
    RecordClient c;
    EXPECT_TRUE(c.connect(path));
    EXPECT_THROW(RecordServer second(path), Error);
    TempDir other;
    const std::string file = other.write("plain", "not a socket");
    EXPECT_THROW(RecordServer third(file), Error);
}

TEST(RecordSocket, EmptyPathServesNothing) {
    RecordServer off("");
    off.accept_clients();
    off.publish_line("{}\n");
    off.flush();
    EXPECT_EQ(off.clients(), 0u);
    EXPECT_FALSE(off.has_clients());
}

}  // namespace
}  // namespace probescope
