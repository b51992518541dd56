#include "server/control_server.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace l2tpvpn {
namespace {

using nlohmann::json;

TEST(ControlServer, AnswersKnownAndUnknownCommands) {
  boost::asio::io_context io;
  ControlServer s(io, "/unused");
  s.handle("echo", [](const json& r) { return json{{"echo", r.value("x", 0)}}; });
  s.handle("boom", [](const json&) -> json { throw std::runtime_error("bad"); });
  EXPECT_EQ(json::parse(s.answer(R"({"cmd":"echo","x":5})")), (json{{"echo", 5}, {"ok", true}}));
  EXPECT_FALSE(json::parse(s.answer(R"({"cmd":"nope"})"))["ok"].get<bool>());
  EXPECT_FALSE(json::parse(s.answer("not json"))["ok"].get<bool>());
  EXPECT_FALSE(json::parse(s.answer("[1,2]"))["ok"].get<bool>());
  EXPECT_FALSE(json::parse(s.answer(R"({"x":1})"))["ok"].get<bool>());
  auto boom = json::parse(s.answer(R"({"cmd":"boom"})"));
  EXPECT_FALSE(boom["ok"].get<bool>());
  EXPECT_NE(boom["error"].get<std::string>().find("bad"), std::string::npos);
}

TEST(ControlServer, SocketIsRootOnlyAndRoundTrips) {
  std::string path = ::testing::TempDir() + "/l2tpvpn-ctl-test.sock";
  boost::asio::io_context io;
  ControlServer s(io, path);
  s.handle("ping", [](const json&) { return json{{"pong", true}}; });
  auto started = s.start();
  ASSERT_TRUE(started) << (started ? "" : started.error().message);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::thread t([&] { io.run(); });
  json r = control_request(path, json{{"cmd", "ping"}});
  EXPECT_TRUE(r["ok"].get<bool>());
  EXPECT_TRUE(r["pong"].get<bool>());
  boost::asio::post(io, [&] {
    s.stop();
    io.stop();
  });
  t.join();
  EXPECT_FALSE(control_request(path, json{{"cmd", "ping"}})["ok"].get<bool>());
}

// --- the connection cap, the idle limit and the back-off on EMFILE: the server runs on the test's thread, driven
// by run_until, so its counters are read without a race and every wait has a clock deadline.

using Clock = std::chrono::steady_clock;

template <class Pred>
bool run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds limit = std::chrono::seconds(3)) {
  const auto deadline = Clock::now() + limit;
  while (!done() && Clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return done();
}

struct LocalControl {
  std::string path;
  boost::asio::io_context io;
  ControlServer server;
  explicit LocalControl(ControlServerLimits limits, const std::string& name)
      : path(::testing::TempDir() + "/l2tpvpn-ctl-" + name + ".sock"), server(io, path, limits) {
    server.handle("ping", [](const json&) { return json{{"pong", true}}; });
    auto started = server.start();
    EXPECT_TRUE(started) << (started ? "" : started.error().message);
  }
  sockaddr_un address() const {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    return sa;
  }
  int connect_client() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa = address();
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
    return fd;
  }
  // Reads until the server closes the connection or `want` has arrived, running the server meanwhile.
  // Returns what arrived, "(open)" appended when neither happened by the deadline.
  std::string read(int fd, const std::string& want = "", std::chrono::milliseconds limit = std::chrono::seconds(3)) {
    std::string out;
    bool closed = false, found = false;
    run_until(io, [&] {
      char buf[4096];
      for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
          out.append(buf, static_cast<size_t>(n));
          continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
        found = !want.empty() && out.find(want) != std::string::npos;
        return closed || found;
      }
    }, limit);
    return closed || found ? out : out + "(open)";
  }
};

TEST(ControlServerLimits, PastTheCapANewConnectionIsClosedAtOnceAndCounted) {
  LocalControl s(ControlServerLimits{.max_connections = 2, .idle_timeout = std::chrono::seconds(30)}, "cap");
  int a = s.connect_client(), b = s.connect_client();
  ASSERT_TRUE(run_until(s.io, [&] { return s.server.counters().accepted == 2; }));
  int c = s.connect_client();
  ASSERT_TRUE(run_until(s.io, [&] { return s.server.counters().refused_over_cap == 1; }));
  EXPECT_EQ(s.read(c), "");  // closed without a word
  // The two admitted connections still work, two requests in one write included.
  const std::string two = "{\"cmd\":\"ping\"}\n{\"cmd\":\"ping\"}\n";
  ASSERT_EQ(::send(b, two.data(), two.size(), 0), static_cast<ssize_t>(two.size()));
  std::string answers = s.read(b, "}\n{\"ok\":true,\"pong\":true}\n");
  EXPECT_EQ(answers, "{\"ok\":true,\"pong\":true}\n{\"ok\":true,\"pong\":true}\n");
  ::close(a);
  ASSERT_TRUE(run_until(s.io, [&] { return s.server.counters().open == 1; }));
  int d = s.connect_client();
  ASSERT_TRUE(run_until(s.io, [&] { return s.server.counters().accepted == 3; }));
  EXPECT_EQ(s.server.counters().refused_over_cap, 1u);
  for (int fd : {b, c, d}) ::close(fd);
}

TEST(ControlServerLimits, AConnectionThatSendsNothingIsClosedAtTheIdleLimitAndCounted) {
  LocalControl s(ControlServerLimits{.max_connections = 4, .idle_timeout = std::chrono::milliseconds(300)}, "idle");
  int silent = s.connect_client();
  int busy = s.connect_client();
  // `busy` sends a request every 100 ms for a second: never idle for the limit, so never closed.
  auto next = Clock::now();
  const auto end = Clock::now() + std::chrono::seconds(1);
  while (Clock::now() < end) {
    run_until(s.io, [&] { return Clock::now() >= next; });
    const std::string ping = "{\"cmd\":\"ping\"}\n";
    ASSERT_EQ(::send(busy, ping.data(), ping.size(), MSG_NOSIGNAL), static_cast<ssize_t>(ping.size()))
        << "the server closed a connection that kept sending";
    EXPECT_EQ(s.read(busy, "\n"), "{\"ok\":true,\"pong\":true}\n");
    next += std::chrono::milliseconds(100);
  }
  EXPECT_EQ(s.read(silent), "");  // closed long ago
  EXPECT_EQ(s.server.counters().idle_closed, 1u);
  EXPECT_EQ(s.server.counters().open, 1u);
  ::close(silent);
  ::close(busy);
}

TEST(ControlServerLimits, OutOfDescriptorsTheAcceptLoopBacksOffInsteadOfSpinning) {
  LocalControl s(ControlServerLimits{.accept_backoff = std::chrono::milliseconds(50)}, "emfile");
  int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);  // made before the table is full
  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  rlimit low = old;
  low.rlim_cur = std::min<rlim_t>(old.rlim_cur, 256);
  ::setrlimit(RLIMIT_NOFILE, &low);
  std::vector<int> fill;
  for (int fd; (fd = ::dup(2)) >= 0;) fill.push_back(fd);
  sockaddr_un sa = s.address();
  EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
  run_until(s.io, [] { return false; }, std::chrono::milliseconds(500));
  const uint64_t failures = s.server.counters().accept_fd_exhausted;
  const uint64_t accepted_while_full = s.server.counters().accepted;
  for (int fd : fill) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old);
  std::printf("accept() failed %llu times in 500 ms with a 50 ms back-off\n",
              static_cast<unsigned long long>(failures));
  EXPECT_GE(failures, 1u);
  EXPECT_LE(failures, 50u);  // spinning would retry thousands of times; a 50 ms back-off makes about ten
  EXPECT_EQ(accepted_while_full, 0u);
  ASSERT_TRUE(run_until(s.io, [&] { return s.server.counters().accepted == 1; }));
  const std::string ping = "{\"cmd\":\"ping\"}\n";
  ASSERT_EQ(::send(client, ping.data(), ping.size(), 0), static_cast<ssize_t>(ping.size()));
  EXPECT_EQ(s.read(client, "\n"), "{\"ok\":true,\"pong\":true}\n");
  ::close(client);
}

}  // namespace
}  // namespace l2tpvpn
