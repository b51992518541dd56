#include "server/http_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <thread>

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

}  // namespace
}  // namespace l2tpvpn
