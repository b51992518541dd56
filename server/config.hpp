// l2tpvpnd configuration: an INI file (etc/l2tpvpn/l2tpvpnd.conf) parsed with Boost.Program_options, every key
// validated. Errors name the file, the line and the key, and stop start-up: no value that fails to parse is
// replaced by a default.
//
// Thread-safety: pure functions over value types.
#pragma once

#include <cstdint>
#include <istream>
#include <string>

#include "common/result.hpp"
#include "server/l2tp/events.hpp"
#include "server/log.hpp"

namespace l2tpvpn {

struct DaemonConfig {
  std::string path;  // where it was read from, for messages
  std::string listen_address = "0.0.0.0";
  uint16_t port = 1701;
  log::Level log_level = log::Level::kInfo;
  l2tp::L2tpConfig l2tp;
  // Monitoring endpoint (HTTP, JSON): loopback only unless configured otherwise.
  bool status_enabled = true;
  std::string status_listen = "127.0.0.1";
  uint16_t status_port = 8171;
  std::string status_token;  // bearer token; empty = none
  // l2tpvpnctl's control socket (root only).
  std::string control_socket = "/run/l2tpvpn/control.sock";
};

struct ConfigError {
  std::string file;
  int line = 0;  // 0: not tied to a line (e.g. the file cannot be opened)
  std::string key;
  std::string message;
  std::string to_string() const;  // "FILE:LINE: KEY: MESSAGE"
};

// Parses a configuration text. `name` is used in error messages.
Result<DaemonConfig, ConfigError> parse_config(std::istream& in, const std::string& name);
Result<DaemonConfig, ConfigError> load_config_file(const std::string& path);

}  // namespace l2tpvpn
