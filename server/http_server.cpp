#include "server/http_server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/crypto.h>

#include <memory>

namespace l2tpvpn {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Dispatch = std::function<HttpResponse(const std::string&, const std::string&, const std::string&)>;
  Connection(tcp::socket socket, const HttpServerConfig& cfg, Dispatch dispatch)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), dispatch_(std::move(dispatch)) {
    parser_.body_limit(cfg.max_request_bytes);
    parser_.header_limit(static_cast<uint32_t>(cfg.max_request_bytes));
    deadline_ = cfg.deadline;
  }

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(deadline_);
    timer_.async_wait([self](beast::error_code ec) {
      if (!ec) self->socket_.close(ec);  // deadline passed: drop the connection
    });
    http::async_read(socket_, buffer_, parser_, [self](beast::error_code ec, size_t) {
      if (ec) {
        if (ec == http::error::body_limit || ec == http::error::header_limit) self->reply(413, "request too large");
        else self->close();
        return;
      }
      const auto& req = self->parser_.get();
      std::string auth(req[http::field::authorization]);
      HttpResponse r = self->dispatch_(std::string(req.method_string()), std::string(req.target()), auth);
      self->send(std::move(r));
    });
  }

 private:
  void reply(unsigned status, const std::string& message) {
    send(HttpResponse{status, "text/plain", message + "\n"});
  }
  void send(HttpResponse r) {
    auto self = shared_from_this();
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
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
    timer_.cancel();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  Dispatch dispatch_;
  std::chrono::milliseconds deadline_{};
  beast::flat_buffer buffer_{8192};
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

HttpServer::HttpServer(asio::io_context& io, HttpServerConfig config)
    : config_(std::move(config)), acceptor_(io) {}

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
}

uint16_t HttpServer::port() const { return acceptor_.local_endpoint().port(); }

void HttpServer::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      std::make_shared<Connection>(std::move(socket), config_, [this](const std::string& m, const std::string& t,
                                                                      const std::string& a) {
        return dispatch(m, t, a);
      })->start();
    }
    accept();
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
