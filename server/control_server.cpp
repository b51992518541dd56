#include "server/control_server.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <istream>
#include <memory>

namespace l2tpvpn {

namespace asio = boost::asio;
using asio::local::stream_protocol;
using nlohmann::json;

namespace {
constexpr size_t kMaxLine = 64 * 1024;

class ControlConnection : public std::enable_shared_from_this<ControlConnection> {
 public:
  ControlConnection(stream_protocol::socket s, ControlServer& server, ConnectionLimit::Slot slot,
                    std::chrono::milliseconds idle_timeout)
      : socket_(std::move(s)),
        server_(server),
        slot_(std::move(slot)),
        idle_timer_(socket_.get_executor()),
        idle_timeout_(idle_timeout) {}
  void start() {
    arm_idle();
    read();
  }

 private:
  // Restarted by every read that brings bytes; a connection waiting for our answer is not idle.
  void arm_idle() {
    auto self = shared_from_this();
    idle_timer_.expires_after(idle_timeout_);
    idle_timer_.async_wait([self](boost::system::error_code ec) {
      if (ec || !self->socket_.is_open()) return;
      self->slot_.idle_closed();
      self->close();
    });
  }
  void read() {
    // A complete line already buffered (a client may send several at once) is answered without reading.
    const auto data = buffer_.data();
    const char* begin = static_cast<const char*>(data.data());
    const char* nl = static_cast<const char*>(std::memchr(begin, '\n', data.size()));
    if (nl != nullptr) {
      std::string line(begin, nl);
      buffer_.consume(line.size() + 1);
      idle_timer_.cancel();
      return reply(server_.answer(line), false);
    }
    if (buffer_.size() >= kMaxLine) return reply(json{{"ok", false}, {"error", "request too long"}}.dump(), true);
    auto self = shared_from_this();
    socket_.async_read_some(buffer_.prepare(std::min<size_t>(4096, kMaxLine - buffer_.size())),
                            [self](boost::system::error_code ec, size_t n) {
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->arm_idle();
                              self->read();
                            });
  }
  void reply(std::string text, bool close_after) {
    auto self = shared_from_this();
    out_ = std::move(text) + "\n";
    asio::async_write(socket_, asio::buffer(out_), [self, close_after](boost::system::error_code ec, size_t) {
      if (ec || close_after) return self->close();
      self->arm_idle();
      self->read();
    });
  }
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
    idle_timer_.cancel();
  }
  stream_protocol::socket socket_;
  ControlServer& server_;
  ConnectionLimit::Slot slot_;
  asio::steady_timer idle_timer_;
  std::chrono::milliseconds idle_timeout_;
  asio::streambuf buffer_{kMaxLine};
  std::string out_;
};
}  // namespace

ControlServer::ControlServer(asio::io_context& io, std::string path, ControlServerLimits limits)
    : io_(io),
      path_(std::move(path)),
      limits_(limits),
      acceptor_(io),
      backoff_(io),
      limit_(limits.max_connections) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::handle(const std::string& cmd, ControlHandler h) { handlers_[cmd] = std::move(h); }

Status<SetupError> ControlServer::start() {
  ::unlink(path_.c_str());
  boost::system::error_code ec;
  // Create it with no permissions for anyone else from the first moment.
  mode_t old = ::umask(0177);
  acceptor_.open(stream_protocol(), ec);
  if (!ec) acceptor_.bind(stream_protocol::endpoint(path_), ec);
  ::umask(old);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return unexpected(
        SetupError{SetupPart::kControlServer, ec.value(), "cannot create control socket " + path_ + ": " + ec.message()});
  ::chmod(path_.c_str(), 0600);
  accept();
  return {};
}

void ControlServer::stop() {
  if (!acceptor_.is_open()) return;
  boost::system::error_code ec;
  acceptor_.close(ec);
  backoff_.cancel();
  ::unlink(path_.c_str());
}

void ControlServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream_protocol::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec && is_resource_exhaustion(ec.value())) {
      limit_.fd_exhausted();
      return accept_later();
    }
    if (!ec) {
      if (auto slot = limit_.admit())
        std::make_shared<ControlConnection>(std::move(s), *this, std::move(*slot), limits_.idle_timeout)->start();
      else
        s.close(ec);  // past the cap: closed at once, counted by admit()
    }
    accept();
  });
}

// Out of descriptors: the pending connection stays in the backlog, so accepting again at once would fail again
// at once; wait a moment (a connection closing meanwhile frees a descriptor).
void ControlServer::accept_later() {
  backoff_.expires_after(limits_.accept_backoff);
  backoff_.async_wait([this](boost::system::error_code ec) {
    if (!ec && acceptor_.is_open()) accept();
  });
}

std::string ControlServer::answer(const std::string& line) {
  json req = json::parse(line, nullptr, false);
  if (req.is_discarded() || !req.is_object()) return json{{"ok", false}, {"error", "request is not a JSON object"}}.dump();
  if (!req.contains("cmd") || !req["cmd"].is_string())
    return json{{"ok", false}, {"error", "missing \"cmd\""}}.dump();
  auto it = handlers_.find(req["cmd"].get<std::string>());
  if (it == handlers_.end())
    return json{{"ok", false}, {"error", "unknown command: " + req["cmd"].get<std::string>()}}.dump();
  json resp;
  try {
    resp = it->second(req);
  } catch (const std::exception& e) {  // a handler bug must not take the daemon down
    return json{{"ok", false}, {"error", std::string("internal error: ") + e.what()}}.dump();
  }
  if (!resp.contains("ok")) resp["ok"] = true;
  // Peer-chosen strings reach handlers' answers escaped (common/display.hpp); `replace` keeps one that slipped
  // through from throwing here, outside the handler's try, which would end the daemon.
  return resp.dump(-1, ' ', false, json::error_handler_t::replace);
}

ControlReply control_call(const std::string& path, const json& request) {
  auto failed = [](ControlFailure f, std::string error) { return ControlReply{f, json(), std::move(error)}; };
  asio::io_context io;
  stream_protocol::socket s(io);
  boost::system::error_code ec;
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))  // asio's endpoint would throw
    return failed(ControlFailure::kTransport, "control socket path \"" + path + "\" is empty or too long");
  s.connect(stream_protocol::endpoint(path), ec);
  if (ec) {
    bool absent = ec == boost::system::errc::no_such_file_or_directory || ec == asio::error::connection_refused;
    return failed(absent ? ControlFailure::kNotRunning : ControlFailure::kTransport,
                  "cannot connect to " + path + ": " + ec.message());
  }
  std::string line = request.dump() + "\n";
  asio::write(s, asio::buffer(line), ec);
  if (ec) return failed(ControlFailure::kTransport, "write to " + path + ": " + ec.message());
  asio::streambuf buf(4 * 1024 * 1024);
  asio::read_until(s, buf, '\n', ec);
  if (ec) return failed(ControlFailure::kTransport, "read from " + path + ": " + ec.message());
  std::istream in(&buf);
  std::string resp;
  std::getline(in, resp);
  json j = json::parse(resp, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return failed(ControlFailure::kBadResponse, "daemon answered something that is not a JSON object");
  return ControlReply{ControlFailure::kNone, std::move(j), {}};
}

json control_request(const std::string& path, const json& request) {
  ControlReply r = control_call(path, request);
  if (r.failure != ControlFailure::kNone) return json{{"ok", false}, {"error", r.error}};
  return std::move(r.response);
}

}  // namespace l2tpvpn
