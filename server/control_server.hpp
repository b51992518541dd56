// The daemon's control socket for l2tpvpnctl: a unix stream socket, mode 0600 (root only), one JSON request per
// line, one JSON response per line: {"cmd": "sessions", ...} -> {"ok": true, ...} or {"ok": false, "error": "..."}.
// A request line over 64 KiB or that is not a JSON object gets an error and the connection is closed.
// At most `max_connections` are open at once: past that a new connection is accepted and closed at once
// (server/connection_limit.hpp). A connection that sends nothing for `idle_timeout` is closed. When accept()
// fails for want of descriptors the server waits `accept_backoff` before accepting again instead of spinning.
//
// Thread-safety: runs on the daemon's io_context thread; handlers run there too.
#pragma once


#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.hpp"
#include "server/connection_limit.hpp"
#include "server/setup_error.hpp"

namespace l2tpvpn {

using ControlHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

struct ControlServerLimits {
  size_t max_connections = 16;
  std::chrono::milliseconds idle_timeout{30000};  // no byte received for this long: closed
  std::chrono::milliseconds accept_backoff{100};  // after EMFILE/ENFILE on accept
};

class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, std::string path, ControlServerLimits limits = {});
  ~ControlServer();
  void handle(const std::string& cmd, ControlHandler h);
  // Creates the socket (replacing a stale one), mode 0600. Errors: a message naming the path.
  Status<SetupError> start();
  void stop();
  // Pure: answers one request line (used by the connections and by tests).
  std::string answer(const std::string& line);
  const ListenerCounters& counters() const { return limit_.counters(); }

 private:
  void accept();
  void accept_later();
  boost::asio::io_context& io_;
  std::string path_;
  ControlServerLimits limits_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  ConnectionLimit limit_;
  std::map<std::string, ControlHandler> handlers_;
};

// Client side (l2tpvpnctl). Why a call failed, typed, so callers never match error strings.
enum class ControlFailure : uint8_t {
  kNone,         // the daemon answered (`response` holds it, "ok" may still be false)
  kNotRunning,   // nothing listens at the path: no socket file (ENOENT) or a stale one (ECONNREFUSED)
  kTransport,    // any other connect/write/read error (EACCES when not root, ...)
  kBadResponse,  // the answer was not a JSON object
};
struct ControlReply {
  ControlFailure failure = ControlFailure::kNone;
  nlohmann::json response;  // the daemon's answer when failure == kNone
  std::string error;        // what went wrong otherwise, naming the path
};
// Sends one request and reads one response line (blocking). Errors: as ControlFailure says.
ControlReply control_call(const std::string& path, const nlohmann::json& request);
// The same as one JSON value: the response, or {"ok": false, "error": "..."} when the call failed.
nlohmann::json control_request(const std::string& path, const nlohmann::json& request);

}  // namespace l2tpvpn
