// A small HTTP/1.1 server for monitoring (Boost.Beast, after its example/http/server/small): GET only, one
// request per connection, a deadline per connection, an idle limit (no byte from the client for that long closes
// the connection), a bounded request size, optional bearer token, and a cap on open connections: past it a new
// connection is answered 503 and closed at once (server/connection_limit.hpp). When accept() fails for want of
// descriptors the server waits `accept_backoff` before accepting again, rather than spinning on the error.
// Handlers return the body and content type; anything but GET is answered 405, unknown paths 404, a missing or
// wrong token 401.
//
// Thread-safety: runs on the daemon's io_context thread; handlers run there too.
#pragma once


#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "common/result.hpp"
#include "server/connection_limit.hpp"
#include "server/setup_error.hpp"

namespace l2tpvpn {

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};
using HttpHandler = std::function<HttpResponse()>;

struct HttpServerConfig {
  std::string listen_address = "127.0.0.1";  // loopback by default: status is not for the internet
  uint16_t port = 8171;
  std::string bearer_token;                  // empty: no authentication
  std::chrono::milliseconds deadline{5000};  // per connection, read + write
  std::chrono::milliseconds idle_timeout{3000};  // no byte received for this long: closed
  size_t max_connections = 64;
  std::chrono::milliseconds accept_backoff{100};  // after EMFILE/ENFILE on accept
  size_t max_request_bytes = 8192;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpServerConfig config);
  void route(const std::string& path, HttpHandler handler);
  // Binds and starts accepting. Errors: a message naming the address.
  Status<SetupError> start();
  void stop();
  uint16_t port() const;
  uint64_t requests() const { return requests_; }
  const ListenerCounters& counters() const { return limit_.counters(); }
  // Checked on every request, so a new token applies to the next one (empty: no authentication).
  void set_bearer_token(std::string token) { config_.bearer_token = std::move(token); }

 private:
  void accept();
  void accept_later();
  HttpResponse dispatch(const std::string& method, const std::string& target, const std::string& authorization);

  HttpServerConfig config_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  ConnectionLimit limit_;
  std::map<std::string, HttpHandler> routes_;
  uint64_t requests_ = 0;
};

}  // namespace l2tpvpn
