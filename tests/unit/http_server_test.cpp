#include "server/http_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace l2tpvpn {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Runs the server on its own io_context thread; the test speaks raw HTTP over a blocking socket.
struct Fixture {
  asio::io_context io;
  HttpServer server;
  std::thread thread;
  explicit Fixture(HttpServerConfig cfg) : server(io, [&] {
    cfg.port = 0;
    return cfg;
  }()) {
    server.route("/healthz", [] { return HttpResponse{200, "text/plain", "ok\n"}; });
    server.route("/status", [] { return HttpResponse{200, "application/json", "{\"a\":1}"}; });
    auto started = server.start();
    EXPECT_TRUE(started) << (started ? "" : started.error().message);
    thread = std::thread([this] { io.run(); });
  }
  ~Fixture() {
    asio::post(io, [this] { io.stop(); });
    thread.join();
  }
  std::string request(const std::string& raw) {
    asio::io_context cio;
    tcp::socket s(cio);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
    asio::write(s, asio::buffer(raw));
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
      size_t n = s.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }
};

TEST(HttpServer, GetKnownPath) {
  Fixture f({});
  std::string r = f.request("GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(r.find("application/json"), std::string::npos);
  EXPECT_NE(r.find("{\"a\":1}"), std::string::npos);
}

TEST(HttpServer, QueryStringIgnoredForRouting) {
  Fixture f({});
  EXPECT_NE(f.request("GET /healthz?x=1 HTTP/1.1\r\nHost: x\r\n\r\n").find("200"), std::string::npos);
}

TEST(HttpServer, UnknownPathAndMethod) {
  Fixture f({});
  EXPECT_NE(f.request("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 404"), std::string::npos);
  std::string r = f.request("POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 405"), std::string::npos);
  EXPECT_NE(r.find("Allow: GET"), std::string::npos);
}

TEST(HttpServer, BearerToken) {
  HttpServerConfig cfg;
  cfg.bearer_token = "t0ken";
  Fixture f(cfg);
  EXPECT_NE(f.request("GET /status HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 401"), std::string::npos);
  EXPECT_NE(f.request("GET /status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n").find("401"),
            std::string::npos);
  EXPECT_NE(f.request("GET /status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\n\r\n").find("HTTP/1.1 200"),
            std::string::npos);
}

TEST(HttpServer, OversizedRequestRefused) {
  HttpServerConfig cfg;
  cfg.max_request_bytes = 256;
  Fixture f(cfg);
  std::string big = "GET /status HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(1000, 'a') + "\r\n\r\n";
  std::string r = f.request(big);
  EXPECT_EQ(r.find("HTTP/1.1 200"), std::string::npos);
}

TEST(HttpServer, SilentClientIsCutAtTheDeadline) {
  HttpServerConfig cfg;
  cfg.deadline = std::chrono::milliseconds(200);
  Fixture f(cfg);
  auto t0 = std::chrono::steady_clock::now();
  std::string r = f.request("GET /status HTTP/1.1\r\n");  // never finishes the headers
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(r.empty());
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

// --- the connection cap, the idle limit and the back-off on EMFILE: the server runs on the test's thread, driven
// by run_until, so its counters are read without a race and every wait has a clock deadline.

using Clock = std::chrono::steady_clock;

// Runs the io_context until `done()` holds or `limit` has passed; returns done().
template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::milliseconds limit = std::chrono::seconds(3)) {
  const auto deadline = Clock::now() + limit;
  while (!done() && Clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return done();
}

struct LocalServer {
  asio::io_context io;
  HttpServer server;
  explicit LocalServer(HttpServerConfig cfg) : server(io, [&] {
    cfg.port = 0;
    return cfg;
  }()) {
    server.route("/status", [] { return HttpResponse{200, "application/json", "{\"a\":1}"}; });
    auto started = server.start();
    EXPECT_TRUE(started) << (started ? "" : started.error().message);
  }
  // A client socket connected to the server (the kernel completes the handshake from the backlog).
  int connect_client() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(server.port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
    return fd;
  }
  // Reads what the server sends on `fd` until it closes the connection, running the server meanwhile.
  // Returns the text, or "(open)" when the connection is still open at the deadline.
  std::string read_to_close(int fd, std::chrono::milliseconds limit = std::chrono::seconds(3)) {
    std::string out;
    bool closed = false;
    run_until(io, [&] {
      char buf[4096];
      for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
          out.append(buf, static_cast<size_t>(n));
          continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
        return closed;
      }
    }, limit);
    return closed ? out : "(open)";
  }
};

TEST(HttpServerLimits, PastTheCapANewConnectionIsAnswered503AndCounted) {
  HttpServerConfig cfg;
  cfg.max_connections = 2;
  cfg.idle_timeout = std::chrono::seconds(30);
  cfg.deadline = std::chrono::seconds(30);
  LocalServer s(cfg);
  int a = s.connect_client(), b = s.connect_client();
  ASSERT_TRUE(run_until(s.io, [&] { return s.server.counters().accepted == 2; }));
  EXPECT_EQ(s.server.counters().open, 2u);
  int c = s.connect_client();
  ASSERT_TRUE(run_until(s.io, [&] { return s.server.counters().refused_over_cap == 1; }));
  std::string refused = s.read_to_close(c);
  EXPECT_NE(refused.find("HTTP/1.1 503"), std::string::npos) << refused;
  EXPECT_EQ(s.server.counters().open, 2u);
  // A place freed is a place for the next one.
  ::close(a);
  ASSERT_TRUE(run_until(s.io, [&] { return s.server.counters().open == 1; }));
  int d = s.connect_client();
  const std::string get = "GET /status HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(d, get.data(), get.size(), 0), static_cast<ssize_t>(get.size()));
  std::string ok = s.read_to_close(d);
  EXPECT_NE(ok.find("HTTP/1.1 200"), std::string::npos) << ok;
  const ListenerCounters& n = s.server.counters();
  EXPECT_EQ(n.accepted, 3u);
  EXPECT_EQ(n.refused_over_cap, 1u);
  EXPECT_EQ(n.max, 2u);
  for (int fd : {b, c, d}) ::close(fd);
}

TEST(HttpServerLimits, AConnectionThatSendsNothingIsClosedAtTheIdleLimitAndCounted) {
  HttpServerConfig cfg;
  cfg.idle_timeout = std::chrono::milliseconds(300);
  cfg.deadline = std::chrono::seconds(30);
  LocalServer s(cfg);
  int silent = s.connect_client();
  const auto t0 = Clock::now();
  EXPECT_EQ(s.read_to_close(silent), "");
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(250));
  EXPECT_EQ(s.server.counters().idle_closed, 1u);
  // The slot goes when the connection's last handler has run (its cancelled read and deadline).
  EXPECT_TRUE(run_until(s.io, [&] { return s.server.counters().open == 0; }));
  ::close(silent);
}

TEST(HttpServerLimits, EveryByteRestartsTheIdleLimit) {
  HttpServerConfig cfg;
  cfg.idle_timeout = std::chrono::milliseconds(300);
  cfg.deadline = std::chrono::seconds(30);
  LocalServer s(cfg);
  int slow = s.connect_client();
  // One byte every 100 ms: the request takes several idle limits in all, but no gap is one.
  const std::string get = "GET /status HTTP/1.1\r\nHost: x\r\n\r\n";
  auto next = Clock::now();
  for (char ch : get) {
    run_until(s.io, [&] { return Clock::now() >= next; });
    ASSERT_EQ(::send(slow, &ch, 1, 0), 1) << "the server closed a connection that kept sending";
    next += std::chrono::milliseconds(100);
  }
  std::string r = s.read_to_close(slow);
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_EQ(s.server.counters().idle_closed, 0u);
  ::close(slow);
}

// Fills the descriptor table (under a lowered soft limit) and gives it back on destruction.
struct DescriptorsExhausted {
  rlimit old{};
  std::vector<int> fds;
  DescriptorsExhausted() {
    ::getrlimit(RLIMIT_NOFILE, &old);
    rlimit low = old;
    low.rlim_cur = std::min<rlim_t>(old.rlim_cur, 256);
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (;;) {
      int fd = ::dup(2);
      if (fd < 0) break;
      fds.push_back(fd);
    }
  }
  void release() {
    for (int fd : fds) ::close(fd);
    fds.clear();
  }
  ~DescriptorsExhausted() {
    release();
    ::setrlimit(RLIMIT_NOFILE, &old);
  }
};

TEST(HttpServerLimits, OutOfDescriptorsTheAcceptLoopBacksOffInsteadOfSpinning) {
  HttpServerConfig cfg;
  cfg.accept_backoff = std::chrono::milliseconds(50);
  LocalServer s(cfg);
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // made before the table is full
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(s.server.port());
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  {
    DescriptorsExhausted full;
    ASSERT_FALSE(full.fds.empty());
    ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
    // For 500 ms the connection waits in the backlog and every accept fails with EMFILE.
    run_until(s.io, [] { return false; }, std::chrono::milliseconds(500));
    const uint64_t failures = s.server.counters().accept_fd_exhausted;
    std::printf("accept() failed %llu times in 500 ms with a 50 ms back-off\n",
                static_cast<unsigned long long>(failures));
    EXPECT_GE(failures, 1u);
    // Spinning would retry thousands of times in 500 ms; waiting 50 ms between tries makes about ten.
    EXPECT_LE(failures, 50u);
    EXPECT_EQ(s.server.counters().accepted, 0u);
    full.release();
    // A descriptor is free again: the next try accepts the waiting connection and serves it.
    ASSERT_TRUE(run_until(s.io, [&] { return s.server.counters().accepted == 1; }));
  }
  const std::string get = "GET /status HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(client, get.data(), get.size(), 0), static_cast<ssize_t>(get.size()));
  EXPECT_NE(s.read_to_close(client).find("HTTP/1.1 200"), std::string::npos);
  ::close(client);
}

}  // namespace
}  // namespace l2tpvpn
