#include "server/config.hpp"

#include <boost/program_options.hpp>

#include <arpa/inet.h>

#include <fstream>
#include <map>
#include <sstream>

namespace po = boost::program_options;

namespace l2tpvpn {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Program_options reports the key, not the line: index "section.key" -> line number ourselves.
std::map<std::string, int> index_lines(const std::string& text) {
  std::map<std::string, int> lines;
  std::istringstream in(text);
  std::string line, section;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = trim(t.substr(1, t.size() - 2));
      continue;
    }
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(t.substr(0, eq));
    lines.emplace(section.empty() ? key : section + "." + key, n);
  }
  return lines;
}

// The first line that is neither blank, comment, section nor key=value (Program_options would say "syntax error"
// without a line).
int first_syntax_error(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') continue;
    if (t.find('=') == std::string::npos) return n;
  }
  return 0;
}

struct Checker {
  const std::string& name;
  const std::map<std::string, int>& lines;
  ConfigError error(const std::string& key, const std::string& msg) const {
    auto it = lines.find(key);
    return ConfigError{name, it == lines.end() ? 0 : it->second, key, msg};
  }
};

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

Result<DaemonConfig, ConfigError> parse_config(std::istream& in, const std::string& name) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto lines = index_lines(text);
  Checker check{name, lines};
  if (int bad = first_syntax_error(text)) return unexpected(ConfigError{name, bad, "", "expected 'key = value'"});

  // Numbers are read as signed 64-bit and range-checked here: Program_options would wrap "-1" into a huge
  // unsigned value.
  po::options_description desc;
  desc.add_options()
      ("log.level", po::value<std::string>()->default_value("info"), "debug|info|warn|error")
      ("l2tp.listen", po::value<std::string>()->default_value("0.0.0.0"), "IPv4 address to bind")
      ("l2tp.port", po::value<int64_t>()->default_value(1701), "UDP port")
      ("l2tp.host_name", po::value<std::string>()->default_value("l2tpvpn"), "Host Name AVP")
      ("l2tp.secret", po::value<std::string>()->default_value(""), "tunnel secret")
      ("l2tp.require_tunnel_auth", po::value<bool>()->default_value(true), "challenge peers when a secret is set")
      ("l2tp.hide_avps", po::value<bool>()->default_value(false), "send session AVPs hidden (needs secret)")
      ("l2tp.receive_window", po::value<int64_t>()->default_value(16), "RWS we advertise")
      ("l2tp.retransmit_initial_ms", po::value<int64_t>()->default_value(1000), "first retransmission")
      ("l2tp.retransmit_cap_ms", po::value<int64_t>()->default_value(8000), "back-off cap")
      ("l2tp.max_retransmissions", po::value<int64_t>()->default_value(5), "then the tunnel is dead")
      ("l2tp.hello_interval_s", po::value<int64_t>()->default_value(60), "HELLO keepalive, 0 = off")
      ("l2tp.max_tunnels", po::value<int64_t>()->default_value(1024), "")
      ("l2tp.max_tunnels_per_peer", po::value<int64_t>()->default_value(16), "")
      ("l2tp.max_sessions_per_tunnel", po::value<int64_t>()->default_value(256), "")
      ("status.enabled", po::value<bool>()->default_value(true), "serve /status, /healthz, /metrics")
      ("status.listen", po::value<std::string>()->default_value("127.0.0.1"), "")
      ("status.port", po::value<int64_t>()->default_value(8171), "")
      ("status.token", po::value<std::string>()->default_value(""), "bearer token")
      ("control.socket", po::value<std::string>()->default_value("/run/l2tpvpn/control.sock"), "");

  po::variables_map vm;
  try {
    std::istringstream again(text);
    po::store(po::parse_config_file(again, desc, false), vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    return unexpected(check.error(e.get_option_name(), "unknown key"));
  } catch (const po::invalid_option_value& e) {
    return unexpected(check.error(e.get_option_name(), std::string("invalid value: ") + e.what()));
  } catch (const po::multiple_occurrences& e) {
    return unexpected(check.error(e.get_option_name(), "given more than once"));
  } catch (const po::error_with_option_name& e) {
    return unexpected(check.error(e.get_option_name(), e.what()));
  } catch (const po::error& e) {
    return unexpected(ConfigError{name, 0, "", e.what()});
  }

  DaemonConfig c;
  c.path = name;
  auto range = [&](const char* key, int64_t lo, int64_t hi) -> Result<int64_t, ConfigError> {
    int64_t v = vm[key].as<int64_t>();
    if (v < lo || v > hi)
      return unexpected(check.error(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                                             ", got " + std::to_string(v)));
    return v;
  };
#define L2TPVPN_RANGE(var, key, lo, hi)   \
  auto var = range(key, lo, hi);          \
  if (!var) return unexpected(var.error())

  if (!log::parse_level(vm["log.level"].as<std::string>(), c.log_level))
    return unexpected(check.error("log.level", "must be one of debug, info, warn, error"));
  c.listen_address = vm["l2tp.listen"].as<std::string>();
  in_addr probe{};
  if (inet_pton(AF_INET, c.listen_address.c_str(), &probe) != 1)
    return unexpected(check.error("l2tp.listen", "not an IPv4 address: '" + c.listen_address + "'"));
  L2TPVPN_RANGE(port, "l2tp.port", 1, 65535);
  L2TPVPN_RANGE(rws, "l2tp.receive_window", 1, 1024);
  L2TPVPN_RANGE(rto, "l2tp.retransmit_initial_ms", 50, 60000);
  L2TPVPN_RANGE(cap, "l2tp.retransmit_cap_ms", 50, 600000);
  L2TPVPN_RANGE(retries, "l2tp.max_retransmissions", 1, 100);
  L2TPVPN_RANGE(hello, "l2tp.hello_interval_s", 0, 86400);
  L2TPVPN_RANGE(max_t, "l2tp.max_tunnels", 1, 65535);
  L2TPVPN_RANGE(max_tp, "l2tp.max_tunnels_per_peer", 1, 65535);
  L2TPVPN_RANGE(max_s, "l2tp.max_sessions_per_tunnel", 1, 65535);
  L2TPVPN_RANGE(status_port, "status.port", 1, 65535);
#undef L2TPVPN_RANGE
  if (*cap < *rto) return unexpected(check.error("l2tp.retransmit_cap_ms", "smaller than retransmit_initial_ms"));
  c.port = static_cast<uint16_t>(*port);
  c.l2tp.host_name = vm["l2tp.host_name"].as<std::string>();
  if (c.l2tp.host_name.empty() || c.l2tp.host_name.size() > 255)
    return unexpected(check.error("l2tp.host_name", "must be 1 to 255 characters"));
  c.l2tp.secret = vm["l2tp.secret"].as<std::string>();
  if (c.l2tp.secret.size() > 255) return unexpected(check.error("l2tp.secret", "longer than 255 characters"));
  c.l2tp.require_authentication = vm["l2tp.require_tunnel_auth"].as<bool>();
  c.l2tp.hide_avps = vm["l2tp.hide_avps"].as<bool>();
  if (c.l2tp.hide_avps && c.l2tp.secret.empty())
    return unexpected(check.error("l2tp.hide_avps", "hidden AVPs need l2tp.secret"));
  c.l2tp.channel.receive_window = static_cast<uint16_t>(*rws);
  c.l2tp.channel.initial_timeout = l2tp::Duration(*rto);
  c.l2tp.channel.max_timeout = l2tp::Duration(*cap);
  c.l2tp.channel.max_retransmissions = static_cast<unsigned>(*retries);
  c.l2tp.channel.hello_interval = l2tp::Duration(*hello * 1000);
  c.l2tp.max_tunnels = static_cast<size_t>(*max_t);
  c.l2tp.max_tunnels_per_peer = static_cast<size_t>(*max_tp);
  c.l2tp.max_sessions_per_tunnel = static_cast<size_t>(*max_s);
  c.status_enabled = vm["status.enabled"].as<bool>();
  c.status_listen = vm["status.listen"].as<std::string>();
  if (inet_pton(AF_INET, c.status_listen.c_str(), &probe) != 1)
    return unexpected(check.error("status.listen", "not an IPv4 address: '" + c.status_listen + "'"));
  c.status_port = static_cast<uint16_t>(*status_port);
  c.status_token = vm["status.token"].as<std::string>();
  c.control_socket = vm["control.socket"].as<std::string>();
  if (c.control_socket.empty() || c.control_socket[0] != '/' || c.control_socket.size() > 107)
    return unexpected(check.error("control.socket", "must be an absolute path of at most 107 characters"));
  return c;
}

Result<DaemonConfig, ConfigError> load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return unexpected(ConfigError{path, 0, "", "cannot open file"});
  return parse_config(in, path);
}

}  // namespace l2tpvpn
