// vici::Client against a misbehaving fake charon on a real unix socket (the idea of davici's tests/badsock.c):
// garbage, a close mid-frame, an oversized frame, silence; the client must drop the connection, fail what was
// outstanding, and reconnect with back-off, never crash. Single-threaded: the test plays charon between
// poll_once() rounds, with clock deadlines rather than sleeps.
#include "ipsec/vici_client.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>

namespace l2tpvpn::vici {
namespace {

using namespace std::chrono_literals;

class FakeServer {
 public:
  explicit FakeServer(std::string path) : path_(std::move(path)) { listen_now(); }
  ~FakeServer() {
    close_conn();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
  void listen_now() {
    ::unlink(path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(listen_fd_, 4), 0);
  }
  void stop_listening() {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }
  // Accepts a pending connection if there is one.
  bool accept_pending() {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    close_conn();
    conn_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    reader_.reset();
    return conn_ >= 0;
  }
  // Reads whatever the client sent and returns the packets that are complete.
  std::vector<Packet> read_packets() {
    std::vector<Packet> out;
    pollfd p{conn_, POLLIN, 0};
    while (conn_ >= 0 && ::poll(&p, 1, 0) > 0) {
      uint8_t buf[4096];
      ssize_t n = ::recv(conn_, buf, sizeof buf, 0);
      if (n <= 0) break;
      EXPECT_TRUE(reader_.feed(ByteView(buf, static_cast<size_t>(n))));
    }
    while (auto f = reader_.pop()) out.push_back(*decode_packet(*f));
    return out;
  }
  void send(const Bytes& b) {
    ASSERT_EQ(::send(conn_, b.data(), b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(b.size()));
  }
  void send(const Packet& p) { send(*encode_frame(p)); }
  void close_conn() {
    if (conn_ >= 0) ::close(conn_);
    conn_ = -1;
  }
  bool has_conn() const { return conn_ >= 0; }

 private:
  std::string path_;
  int listen_fd_ = -1;
  int conn_ = -1;
  FrameReader reader_;
};

class ViciClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vici-client-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/charon.vici";
    options_.socket_path = path_;
    options_.initial_backoff = 10ms;
    options_.max_backoff = 40ms;
    options_.request_timeout = 2s;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Drives the client (and the fake server through `step`) until `done` or a 5 s deadline.
  bool run_until(Client& c, const std::function<bool()>& done, const std::function<void()>& step = {}) {
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      if (done()) return true;
      c.poll_once(5ms);
      if (step) step();
    }
    return done();
  }

  std::string dir_;
  std::string path_;
  ClientOptions options_;
};

TEST_F(ViciClientTest, BacksOffWhileCharonIsAbsent) {
  Client c(options_);
  const TimePoint t0{};
  c.start(t0);
  EXPECT_EQ(c.state(), ClientState::kWaiting);
  EXPECT_EQ(c.fd(), -1);
  EXPECT_EQ(c.next_deadline(), t0 + 10ms);
  c.on_timer(t0 + 10ms);
  EXPECT_EQ(c.next_deadline(), t0 + 10ms + 20ms);
  c.on_timer(t0 + 30ms);
  EXPECT_EQ(c.next_deadline(), t0 + 30ms + 40ms);
  c.on_timer(t0 + 70ms);
  EXPECT_EQ(c.next_deadline(), t0 + 70ms + 40ms);  // capped
  c.on_timer(t0 + 80ms);                           // early: nothing happens
  EXPECT_EQ(c.stats().connect_failures, 4u);
  EXPECT_NE(c.stats().last_error.find("charon.vici"), std::string::npos);
}

TEST_F(ViciClientTest, CommandRoundTripAndEvents) {
  FakeServer server(path_);
  Client c(options_);
  int connected = 0;
  c.set_on_connected([&] { ++connected; });
  std::vector<std::string> events;
  c.session().set_event_handler([&](const std::string& n, const Message&) { events.push_back(n); });
  c.start(Clock::now());
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(connected, 1);
  ASSERT_TRUE(server.accept_pending());

  std::optional<std::string> version;
  ASSERT_TRUE(c.session().command("version", {}, [&](auto r) { version = *r->response.value("version"); }));
  std::vector<Packet> got;
  ASSERT_TRUE(run_until(
      c, [&] { return !got.empty(); },
      [&] {
        auto p = server.read_packets();
        got.insert(got.end(), p.begin(), p.end());
      }));
  EXPECT_EQ(got[0].name, "version");
  EXPECT_TRUE(c.next_deadline().has_value());  // the request timeout is armed
  Message reply;
  reply.set("version", "5.9.8");
  server.send(Packet{PacketType::kEvent, "ike-updown", {}});
  server.send(Packet{PacketType::kCmdResponse, "", reply});
  ASSERT_TRUE(run_until(c, [&] { return version.has_value(); }));
  EXPECT_EQ(*version, "5.9.8");
  EXPECT_EQ(events, std::vector<std::string>{"ike-updown"});
  EXPECT_FALSE(c.next_deadline().has_value());
}

struct Misbehaviour {
  const char* what;
  std::function<void(FakeServer&)> act;
};

TEST_F(ViciClientTest, SurvivesMisbehavingServersAndReconnects) {
  const std::vector<Misbehaviour> cases = {
      {"garbage packet type",
       [](FakeServer& s) {
         s.send(Bytes{0, 0, 0, 3, 0xee, 1, 2});
       }},
      {"garbage message",
       [](FakeServer& s) {
         s.send(Bytes{0, 0, 0, 2, 1, 9});
       }},
      {"frame over 512 KiB",
       [](FakeServer& s) {
         s.send(Bytes{0x00, 0x08, 0x00, 0x01, 1});
       }},
      {"close mid-frame",
       [](FakeServer& s) {
         s.send(Bytes{0, 0, 0, 50, 1, 3});
         s.close_conn();
       }},
      {"close mid-header",
       [](FakeServer& s) {
         s.send(Bytes{0, 0});
         s.close_conn();
       }},
      {"plain close", [](FakeServer& s) { s.close_conn(); }},
      {"unsolicited response",
       [](FakeServer& s) {
         s.send(Packet{PacketType::kEventConfirm, "", {}});
       }},
  };
  FakeServer server(path_);
  Client c(options_);
  std::vector<std::string> reasons;
  c.set_on_disconnected([&](const std::string& r) { reasons.push_back(r); });
  c.start(Clock::now());
  for (const auto& m : cases) {
    SCOPED_TRACE(m.what);
    ASSERT_TRUE(run_until(
        c, [&] { return c.connected() && server.has_conn(); }, [&] { server.accept_pending(); }));
    server.accept_pending();
    std::optional<CommandError::Kind> outcome;
    ASSERT_TRUE(
        c.session().command("stats", {}, [&](auto r) { outcome = r ? CommandError::Kind::kEncode : r.error().kind; }));
    ASSERT_TRUE(run_until(c, [&] { return !server.read_packets().empty(); }));
    const auto drops = c.stats().disconnects;
    m.act(server);
    ASSERT_TRUE(run_until(c, [&] { return c.stats().disconnects > drops; }));
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, CommandError::Kind::kDisconnected);
    server.close_conn();
  }
  EXPECT_EQ(reasons.size(), cases.size());
  // And it still works afterwards.
  ASSERT_TRUE(run_until(
      c, [&] { return c.connected(); }, [&] { server.accept_pending(); }));
  server.accept_pending();
  bool ok = false;
  ASSERT_TRUE(c.session().command("version", {}, [&](auto r) { ok = r.has_value(); }));
  ASSERT_TRUE(run_until(c, [&] { return !server.read_packets().empty(); }));
  server.send(Packet{PacketType::kCmdResponse, "", {}});
  ASSERT_TRUE(run_until(c, [&] { return ok; }));
}

TEST_F(ViciClientTest, SilentServerHitsTheRequestTimeout) {
  options_.request_timeout = 100ms;
  FakeServer server(path_);
  Client c(options_);
  c.start(Clock::now());
  ASSERT_TRUE(server.accept_pending());
  bool failed = false;
  ASSERT_TRUE(c.session().command("version", {}, [&](auto r) { failed = !r; }));
  const auto start = Clock::now();
  ASSERT_TRUE(run_until(c, [&] { return failed; }));
  EXPECT_GE(Clock::now() - start, 100ms);
  EXPECT_EQ(c.stats().timeouts, 1u);
}

TEST_F(ViciClientTest, CharonRestartingIsSeenAsReconnect) {
  auto server = std::make_unique<FakeServer>(path_);
  Client c(options_);
  int connects = 0;
  c.set_on_connected([&] { ++connects; });
  c.start(Clock::now());
  ASSERT_TRUE(server->accept_pending());
  const auto gen = c.connection_generation();
  server.reset();  // charon killed: socket closed and removed
  ASSERT_TRUE(run_until(c, [&] { return !c.connected(); }));
  // Some failed attempts while it is gone.
  ASSERT_TRUE(run_until(c, [&] { return c.stats().connect_failures >= 2; }));
  server = std::make_unique<FakeServer>(path_);
  ASSERT_TRUE(run_until(c, [&] { return c.connected(); }));
  EXPECT_EQ(connects, 2);
  EXPECT_NE(c.connection_generation(), gen);
  c.stop();
  EXPECT_EQ(c.state(), ClientState::kStopped);
  EXPECT_EQ(c.fd(), -1);
}

}  // namespace
}  // namespace l2tpvpn::vici
