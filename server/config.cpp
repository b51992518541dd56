#include "server/config.hpp"

#include <boost/program_options.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "ppp/ip_pool.hpp"
#include "server/firewall.hpp"

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

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(v);
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool is_ipv4(const std::string& s) {
  in_addr probe{};
  return inet_pton(AF_INET, s.c_str(), &probe) == 1;
}

bool is_absolute_path(const std::string& s) { return !s.empty() && s[0] == '/'; }

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
      ("control.socket", po::value<std::string>()->default_value("/run/l2tpvpn/control.sock"), "")
      ("server.public_address", po::value<std::string>()->default_value(""), "what clients dial")
      ("server.runtime_dir", po::value<std::string>()->default_value("/run/l2tpvpn"), "")
      ("users.file", po::value<std::string>()->default_value("/etc/l2tpvpn/users"), "")
      ("ppp.pppd", po::value<std::string>()->default_value("/usr/sbin/pppd"), "")
      ("ppp.data_path", po::value<std::string>()->default_value("auto"), "auto|kernel|pty")
      ("ppp.auth", po::value<std::string>()->default_value("mschap-v2"), "mschap-v2, mschap, chap, pap")
      ("ppp.dns", po::value<std::string>()->default_value(""), "up to 2 addresses")
      ("ppp.mtu", po::value<int64_t>()->default_value(1350), "")
      ("ppp.mru", po::value<int64_t>()->default_value(1350), "")
      ("ppp.lcp_echo_interval", po::value<int64_t>()->default_value(30), "")
      ("ppp.lcp_echo_failure", po::value<int64_t>()->default_value(4), "")
      ("ppp.proxyarp", po::value<bool>()->default_value(false), "")
      ("ppp.plugin", po::value<std::string>()->default_value("l2tpvpn.so"), "")
      ("ppp.server_name", po::value<std::string>()->default_value("l2tpvpn"), "")
      ("ppp.stop_timeout_ms", po::value<int64_t>()->default_value(5000), "")
      ("ppp.debug", po::value<bool>()->default_value(false), "")
      ("pool.range", po::value<std::string>()->default_value("10.99.0.10-10.99.0.250"), "")
      ("pool.server_address", po::value<std::string>()->default_value("10.99.0.1"), "")
      ("pool.exclude", po::value<std::string>()->default_value(""), "")
      ("ipsec.required", po::value<bool>()->default_value(true), "")
      ("ipsec.charon", po::value<std::string>()->default_value("auto"), "auto|system|embedded")
      ("ipsec.system_vici_socket", po::value<std::string>()->default_value("/var/run/charon.vici"), "")
      ("ipsec.embedded_vici_socket", po::value<std::string>()->default_value("/run/l2tpvpn/charon.vici"), "")
      ("ipsec.charon_path", po::value<std::string>()->default_value("/usr/lib/ipsec/charon"), "")
      ("ipsec.ike_port", po::value<int64_t>()->default_value(500), "")
      ("ipsec.nat_t_port", po::value<int64_t>()->default_value(4500), "")
      ("ipsec.psk", po::value<std::string>()->default_value(""), "")
      ("ipsec.psk_file", po::value<std::string>()->default_value("/etc/l2tpvpn/ipsec.secret"), "")
      ("ipsec.legacy", po::value<bool>()->default_value(false), "")
      ("ipsec.ike_proposals", po::value<std::string>()->default_value(""), "")
      ("ipsec.esp_proposals", po::value<std::string>()->default_value(""), "")
      ("firewall.manage", po::value<bool>()->default_value(true), "")
      ("firewall.backend", po::value<std::string>()->default_value("auto"), "")
      ("firewall.wan_interface", po::value<std::string>()->default_value(""), "")
      ("firewall.masquerade", po::value<bool>()->default_value(true), "")
      ("firewall.clamp_mss", po::value<bool>()->default_value(true), "")
      ("firewall.client_to_client", po::value<bool>()->default_value(false), "")
      ("firewall.ip_forward", po::value<bool>()->default_value(true), "");

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
  L2TPVPN_RANGE(mtu, "ppp.mtu", 576, 1500);
  L2TPVPN_RANGE(mru, "ppp.mru", 576, 1500);
  L2TPVPN_RANGE(echo_interval, "ppp.lcp_echo_interval", 0, 3600);
  L2TPVPN_RANGE(echo_failure, "ppp.lcp_echo_failure", 1, 100);
  L2TPVPN_RANGE(stop_timeout, "ppp.stop_timeout_ms", 100, 60000);
  L2TPVPN_RANGE(ike_port, "ipsec.ike_port", 1, 65535);
  L2TPVPN_RANGE(nat_t_port, "ipsec.nat_t_port", 1, 65535);
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

  auto str = [&](const char* key) { return vm[key].as<std::string>(); };
  auto flag = [&](const char* key) { return vm[key].as<bool>(); };

  c.public_address = str("server.public_address");
  c.runtime_dir = str("server.runtime_dir");
  if (!is_absolute_path(c.runtime_dir)) return unexpected(check.error("server.runtime_dir", "must be an absolute path"));
  c.users_file = str("users.file");
  if (!is_absolute_path(c.users_file)) return unexpected(check.error("users.file", "must be an absolute path"));

  // [ppp]
  c.ppp.pppd_path = str("ppp.pppd");
  if (!is_absolute_path(c.ppp.pppd_path)) return unexpected(check.error("ppp.pppd", "must be an absolute path"));
  std::string dp = str("ppp.data_path");
  if (dp == "auto")
    c.ppp.data_path = DataPathMode::kAuto;
  else if (dp == "kernel")
    c.ppp.data_path = DataPathMode::kKernel;
  else if (dp == "pty")
    c.ppp.data_path = DataPathMode::kPty;
  else
    return unexpected(check.error("ppp.data_path", "must be auto, kernel or pty, got '" + dp + "'"));
  c.ppp.mschap_v2 = false;
  auto methods = split_list(str("ppp.auth"));
  if (methods.empty()) return unexpected(check.error("ppp.auth", "needs at least one of mschap-v2, mschap, chap, pap"));
  for (const auto& m : methods) {
    if (m == "mschap-v2")
      c.ppp.mschap_v2 = true;
    else if (m == "mschap")
      c.ppp.mschap = true;
    else if (m == "chap")
      c.ppp.chap = true;
    else if (m == "pap")
      c.ppp.pap = true;
    else
      return unexpected(check.error("ppp.auth", "unknown method '" + m + "' (mschap-v2, mschap, chap, pap)"));
  }
  c.ppp.dns = split_list(str("ppp.dns"));
  if (c.ppp.dns.size() > 2) return unexpected(check.error("ppp.dns", "at most 2 addresses"));
  for (const auto& d : c.ppp.dns)
    if (!is_ipv4(d) || d == "0.0.0.0") return unexpected(check.error("ppp.dns", "not an IPv4 address: '" + d + "'"));
  c.ppp.mtu = static_cast<int>(*mtu);
  c.ppp.mru = static_cast<int>(*mru);
  c.ppp.lcp_echo_interval = static_cast<int>(*echo_interval);
  c.ppp.lcp_echo_failure = static_cast<int>(*echo_failure);
  c.ppp.proxyarp = flag("ppp.proxyarp");
  c.ppp.plugin = str("ppp.plugin");
  if (c.ppp.plugin.empty()) return unexpected(check.error("ppp.plugin", "must not be empty"));
  c.ppp.server_name = str("ppp.server_name");
  if (c.ppp.server_name.empty() || c.ppp.server_name.size() > 64 ||
      c.ppp.server_name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos)
    return unexpected(check.error("ppp.server_name", "1 to 64 characters of A-Z a-z 0-9 . _ -"));
  c.ppp.stop_timeout_ms = static_cast<int>(*stop_timeout);
  c.ppp.debug = flag("ppp.debug");

  // [pool]: the pool itself validates (and names what is wrong).
  c.pool.range = str("pool.range");
  c.pool.server_address = str("pool.server_address");
  c.pool.exclude = split_list(str("pool.exclude"));
  {
    auto pool = ppp::IpPool::create(ppp::IpPoolConfig{c.pool.range, c.pool.server_address, c.pool.exclude, {}});
    if (!pool) {
      const auto& e = pool.error();
      const char* key = "pool.range";
      if (e.code == ppp::IpPoolErrorCode::kBadServerAddress) key = "pool.server_address";
      if (e.code == ppp::IpPoolErrorCode::kBadExclusion) key = "pool.exclude";
      return unexpected(check.error(key, e.to_string()));
    }
  }

  // [ipsec]
  c.ipsec.required = flag("ipsec.required");
  std::string cm = str("ipsec.charon");
  if (cm == "auto")
    c.ipsec.charon = CharonMode::kAuto;
  else if (cm == "system")
    c.ipsec.charon = CharonMode::kSystem;
  else if (cm == "embedded")
    c.ipsec.charon = CharonMode::kEmbedded;
  else
    return unexpected(check.error("ipsec.charon", "must be auto, system or embedded, got '" + cm + "'"));
  for (const char* key : {"ipsec.system_vici_socket", "ipsec.embedded_vici_socket"}) {
    std::string v = str(key);
    if (!is_absolute_path(v) || v.size() > 107)
      return unexpected(check.error(key, "must be an absolute path of at most 107 characters"));
  }
  c.ipsec.system_vici_socket = str("ipsec.system_vici_socket");
  c.ipsec.embedded_vici_socket = str("ipsec.embedded_vici_socket");
  c.ipsec.charon_path = str("ipsec.charon_path");
  if (!is_absolute_path(c.ipsec.charon_path))
    return unexpected(check.error("ipsec.charon_path", "must be an absolute path"));
  c.ipsec.ike_port = static_cast<uint16_t>(*ike_port);
  c.ipsec.nat_t_port = static_cast<uint16_t>(*nat_t_port);
  if (c.ipsec.ike_port == c.ipsec.nat_t_port) {
    bool nat_t_given = lines.count("ipsec.nat_t_port") != 0;
    return unexpected(check.error(nat_t_given ? "ipsec.nat_t_port" : "ipsec.ike_port",
                                  "ipsec.ike_port and ipsec.nat_t_port must differ"));
  }
  c.ipsec.psk = str("ipsec.psk");
  if (!c.ipsec.psk.empty() && (c.ipsec.psk.size() < 8 || c.ipsec.psk.size() > 255))
    return unexpected(check.error("ipsec.psk", "must be 8 to 255 characters"));
  c.ipsec.psk_file = str("ipsec.psk_file");
  if (!c.ipsec.psk_file.empty() && !is_absolute_path(c.ipsec.psk_file))
    return unexpected(check.error("ipsec.psk_file", "must be an absolute path"));
  c.ipsec.legacy = flag("ipsec.legacy");
  c.ipsec.ike_proposals = split_list(str("ipsec.ike_proposals"));
  c.ipsec.esp_proposals = split_list(str("ipsec.esp_proposals"));
  for (const char* key : {"ipsec.ike_proposals", "ipsec.esp_proposals"})
    for (const auto& p : split_list(str(key)))
      if (p.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
        return unexpected(check.error(key, "not a strongSwan proposal: '" + p + "'"));

  // [firewall]
  c.firewall.manage = flag("firewall.manage");
  c.firewall.backend = str("firewall.backend");
  FirewallBackend fb{};
  if (c.firewall.backend != "auto" && !parse_firewall_backend(c.firewall.backend, fb))
    return unexpected(check.error("firewall.backend", "must be auto, iptables-legacy, iptables-nft, nft or none"));
  c.firewall.wan_interface = str("firewall.wan_interface");
  if (c.firewall.wan_interface.size() > 15 ||
      c.firewall.wan_interface.find_first_of(" /\t\n") != std::string::npos)
    return unexpected(check.error("firewall.wan_interface", "not an interface name"));
  c.firewall.masquerade = flag("firewall.masquerade");
  c.firewall.clamp_mss = flag("firewall.clamp_mss");
  c.firewall.client_to_client = flag("firewall.client_to_client");
  c.firewall.ip_forward = flag("firewall.ip_forward");
  return c;
}

std::string pool_cidr(const PoolSection& pool) {
  uint32_t lo = 0, hi = 0;
  auto slash = pool.range.find('/');
  auto dash = pool.range.find('-');
  if (slash != std::string::npos) {
    auto a = ppp::parse_ipv4(trim(pool.range.substr(0, slash)));
    int prefix = std::stoi(pool.range.substr(slash + 1));
    uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    lo = a ? a->value & mask : 0;
    hi = lo | ~mask;
  } else if (dash != std::string::npos) {
    auto a = ppp::parse_ipv4(trim(pool.range.substr(0, dash)));
    auto b = ppp::parse_ipv4(trim(pool.range.substr(dash + 1)));
    lo = a ? a->value : 0;
    hi = b ? b->value : 0;
  }
  if (auto srv = ppp::parse_ipv4(pool.server_address)) {
    lo = std::min(lo, srv->value);
    hi = std::max(hi, srv->value);
  }
  int prefix = 32;
  while (prefix > 0 && (lo >> (32 - prefix)) != (hi >> (32 - prefix))) --prefix;
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return ppp::to_string(ppp::Ipv4Address{lo & mask}) + "/" + std::to_string(prefix);
}

const char* to_string(DataPathMode m) {
  switch (m) {
    case DataPathMode::kAuto:
      return "auto";
    case DataPathMode::kKernel:
      return "kernel";
    case DataPathMode::kPty:
      return "pty";
  }
  return "?";
}

const char* to_string(CharonMode m) {
  switch (m) {
    case CharonMode::kAuto:
      return "auto";
    case CharonMode::kSystem:
      return "system";
    case CharonMode::kEmbedded:
      return "embedded";
  }
  return "?";
}

Result<DaemonConfig, ConfigError> load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return unexpected(ConfigError{path, 0, "", "cannot open file"});
  return parse_config(in, path);
}

}  // namespace l2tpvpn
