// The daemon's control socket for l2tpvpnctl: a unix stream socket, mode 0600 (root only), one JSON request per
// line, one JSON response per line: {"cmd": "sessions", ...} -> {"ok": true, ...} or {"ok": false, "error": "..."}.
// A request line over 64 KiB or that is not a JSON object gets an error and the connection is closed.
//
// Thread-safety: runs on the daemon's io_context thread; handlers run there too.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace l2tpvpn {

using ControlHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, std::string path);
  ~ControlServer();
  void handle(const std::string& cmd, ControlHandler h);
  // Creates the socket (replacing a stale one), mode 0600. Errors: a message naming the path.
  bool start(std::string& error);
  void stop();
  // Pure: answers one request line (used by the connections and by tests).
  std::string answer(const std::string& line);

 private:
  void accept();
  boost::asio::io_context& io_;
  std::string path_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::map<std::string, ControlHandler> handlers_;
};

// Client side (l2tpvpnctl): sends one request, returns the parsed response or an error object.
nlohmann::json control_request(const std::string& path, const nlohmann::json& request);

}  // namespace l2tpvpn
