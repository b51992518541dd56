#include "server/http_server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <memory>
#include <string_view>

namespace l2tpvpn {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Dispatch = std::function<HttpResponse(const std::string&, const std::string&, const std::string&)>;
  Connection(tcp::socket socket, const HttpServerConfig& cfg, ConnectionLimit::Slot slot, Dispatch dispatch)
      : socket_(std::move(socket)),
        deadline_timer_(socket_.get_executor()),
        idle_timer_(socket_.get_executor()),
        slot_(std::move(slot)),
        dispatch_(std::move(dispatch)),
        deadline_(cfg.deadline),
        idle_timeout_(cfg.idle_timeout),
        buffer_(cfg.max_request_bytes + 1) {
    parser_.body_limit(cfg.max_request_bytes);
    parser_.header_limit(static_cast<uint32_t>(cfg.max_request_bytes));
  }

  void start() {
    auto self = shared_from_this();
    deadline_timer_.expires_after(deadline_);
    deadline_timer_.async_wait([self](beast::error_code ec) {
      if (!ec) self->close();  // deadline passed: drop the connection
    });
    arm_idle();
    read();
  }

 private:
  // Each read that brings bytes restarts the idle limit; the deadline bounds the whole request regardless.
  void arm_idle() {
    auto self = shared_from_this();
    idle_timer_.expires_after(idle_timeout_);
    idle_timer_.async_wait([self](beast::error_code ec) {
      if (ec || self->closed_) return;
      self->slot_.idle_closed();
      self->close();
    });
  }
  void read() {
    auto self = shared_from_this();
    const size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) return reply(413, "request too large");
    socket_.async_read_some(buffer_.prepare(std::min<size_t>(room, 4096)), [self](beast::error_code ec, size_t n) {
      if (ec || self->closed_) return self->close();
      self->buffer_.commit(n);
      self->arm_idle();
      self->parse();
    });
  }
  void parse() {
    beast::error_code ec;
    while (buffer_.size() > 0 && !parser_.is_done()) {
      const size_t used = parser_.put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || used == 0) break;
    }
    if (ec == http::error::body_limit || ec == http::error::header_limit) return reply(413, "request too large");
    if (ec) return close();
    if (!parser_.is_done()) return read();
    idle_timer_.cancel();
    const auto& req = parser_.get();
    std::string auth(req[http::field::authorization]);
    send(dispatch_(std::string(req.method_string()), std::string(req.target()), auth));
  }
  void reply(unsigned status, const std::string& message) {
    send(HttpResponse{status, "text/plain", message + "\n"});
  }
  void send(HttpResponse r) {
    auto self = shared_from_this();
    idle_timer_.cancel();
    response_.result(r.status);
    response_.version(11);
    response_.set(http::field::server, "l2tpvpnd");
    response_.set(http::field::content_type, r.content_type);
    response_.set(http::field::connection, "close");
    response_.keep_alive(false);
    if (r.status == 405) response_.set(http::field::allow, "GET");
    if (r.status == 401) response_.set(http::field::www_authenticate, "Bearer");
    response_.body() = std::move(r.body);
    response_.prepare_payload();
    http::async_write(socket_, response_, [self](beast::error_code, size_t) { self->close(); });
  }
  void close() {
    closed_ = true;
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
    deadline_timer_.cancel();
    idle_timer_.cancel();
  }

  tcp::socket socket_;
  asio::steady_timer deadline_timer_, idle_timer_;
  ConnectionLimit::Slot slot_;
  Dispatch dispatch_;
  std::chrono::milliseconds deadline_{}, idle_timeout_{};
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
  bool closed_ = false;
};

// Past the cap: one non-blocking write of a 503 into the fresh socket's empty send buffer, then close, so the
// connection costs a descriptor only for this moment.
void refuse(tcp::socket socket) {
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nServer: l2tpvpnd\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n"
      "Retry-After: 1\r\nConnection: close\r\n\r\ntoo many requests\n";
  beast::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(kBusy), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, HttpServerConfig config)
    : config_(std::move(config)), acceptor_(io), backoff_(io), limit_(config_.max_connections) {}

void HttpServer::route(const std::string& path, HttpHandler handler) { routes_[path] = std::move(handler); }

Status<SetupError> HttpServer::start() {
  beast::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(config_.listen_address, ec), config_.port);
  if (!ec) acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return unexpected(SetupError{SetupPart::kStatusServer, ec.value(),
                                 "cannot listen on " + config_.listen_address + ":" + std::to_string(config_.port) +
                                     ": " + ec.message()});
  accept();
  return {};
}

void HttpServer::stop() {
  beast::error_code ec;
  acceptor_.close(ec);
  backoff_.cancel();
}

uint16_t HttpServer::port() const { return acceptor_.local_endpoint().port(); }

void HttpServer::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec && is_resource_exhaustion(ec.value())) {
      limit_.fd_exhausted();
      return accept_later();
    }
    if (!ec) {
      if (auto slot = limit_.admit()) {
        std::make_shared<Connection>(std::move(socket), config_, std::move(*slot),
                                     [this](const std::string& m, const std::string& t, const std::string& a) {
                                       return dispatch(m, t, a);
                                     })
            ->start();
      } else {
        refuse(std::move(socket));
      }
    }
    accept();
  });
}

// Out of descriptors: the pending connection stays in the backlog, so accepting again at once would fail again
// at once; wait a moment (a connection closing meanwhile frees a descriptor).
void HttpServer::accept_later() {
  backoff_.expires_after(config_.accept_backoff);
  backoff_.async_wait([this](beast::error_code ec) {
    if (!ec && acceptor_.is_open()) accept();
  });
}

HttpResponse HttpServer::dispatch(const std::string& method, const std::string& target,
                                  const std::string& authorization) {
  ++requests_;
  if (method != "GET") return HttpResponse{405, "text/plain", "only GET\n"};
  if (!config_.bearer_token.empty()) {
    // Constant-time comparison: the token is a secret.
    std::string expect = "Bearer " + config_.bearer_token;
    if (authorization.size() != expect.size() ||
        CRYPTO_memcmp(authorization.data(), expect.data(), expect.size()) != 0)
      return HttpResponse{401, "text/plain", "missing or wrong bearer token\n"};
  }
  std::string path = target.substr(0, target.find('?'));
  auto it = routes_.find(path);
  if (it == routes_.end()) return HttpResponse{404, "text/plain", "not found\n"};
  return it->second();
}

}  // namespace l2tpvpn
