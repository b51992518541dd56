#include "server/config.hpp"

#include <boost/program_options.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <map>
#include <sstream>
#include <type_traits>

#include "ppp/ip_pool.hpp"
#include "server/firewall.hpp"

namespace po = boost::program_options;

namespace l2tpvpn {
namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

// Program_options reports the key, not the line: index "section.key" -> the lines it is on (in file order)
// ourselves.
std::map<std::string, std::vector<int>> index_lines(const std::string& text) {
  std::map<std::string, std::vector<int>> lines;
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
    lines[section.empty() ? key : section + "." + key].push_back(n);
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

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in{std::string(v)};
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

template <class Items>
std::string join_list(const Items& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ", ";
    out += i;
  }
  return out;
}

bool is_ipv4(const std::string& s) {
  in_addr probe{};
  return inet_pton(AF_INET, s.c_str(), &probe) == 1;
}

bool is_absolute_path(const std::string& s) { return !s.empty() && s[0] == '/'; }

// Program_options' spelling of booleans (it accepted these before the table existed), minus its empty = true.
std::optional<bool> parse_bool(std::string_view v) {
  std::string s(v);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  return std::nullopt;
}

// ---- Building blocks of the table. Each binds a key to its field through an accessor written as a generic
// lambda, `[](auto& c) -> auto& { return c.ppp.mtu; }`, so one accessor serves the mutable config (set) and the
// const one (get).

using Message = std::optional<std::string>;                // a ConfigError's message, or nothing
using Check = std::function<Message(const std::string&)>;  // validates one value (or one list item)

// Marks a key whose value is a secret (ConfigKey::secret).
ConfigKey secret(ConfigKey k) {
  k.secret = true;
  return k;
}

ConfigKey make_key(std::string_view key, ValueType type, ReloadClass reload, std::string_view doc) {
  ConfigKey k;
  k.key = key;
  k.type = type;
  k.reload = reload;
  k.doc = doc;
  return k;
}

template <class F>
ConfigKey boolean(std::string_view key, ReloadClass reload, std::string_view doc, F field) {
  ConfigKey k = make_key(key, ValueType::kBool, reload, doc);
  k.set = [field](std::string_view v, DaemonConfig& c) -> Message {
    auto b = parse_bool(v);
    if (!b) return "must be true or false (yes/no, on/off, 1/0), got '" + std::string(v) + "'";
    field(c) = *b;
    return std::nullopt;
  };
  k.get = [field](const DaemonConfig& c) -> std::string { return field(c) ? "true" : "false"; };
  return k;
}

template <class T>
struct IsDuration : std::false_type {};
template <class R, class P>
struct IsDuration<std::chrono::duration<R, P>> : std::true_type {};

// Numbers are read as signed 64-bit and range-checked before they are narrowed to the field's type, so "-1" is an
// error rather than a huge unsigned value. `unit`: how many of the field's units one unit of the file is (1000 for
// a key in seconds kept as milliseconds).
template <class F>
ConfigKey integer(std::string_view key, int64_t lo, int64_t hi, ReloadClass reload, std::string_view doc, F field,
                  int64_t unit = 1) {
  ConfigKey k = make_key(key, ValueType::kInteger, reload, doc);
  k.min = lo;
  k.max = hi;
  k.set = [field, lo, hi, unit](std::string_view v, DaemonConfig& c) -> Message {
    std::string_view digits = v;
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
      return "not an integer: '" + std::string(v) + "'";
    if (n < lo || n > hi)
      return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + std::to_string(n);
    using T = std::remove_reference_t<decltype(field(c))>;
    if constexpr (IsDuration<T>::value)
      field(c) = T(n * unit);
    else
      field(c) = static_cast<T>(n * unit);
    return std::nullopt;
  };
  k.get = [field, unit](const DaemonConfig& c) -> std::string {
    using T = std::remove_cvref_t<decltype(field(c))>;
    if constexpr (IsDuration<T>::value)
      return std::to_string(static_cast<int64_t>(field(c).count()) / unit);
    else
      return std::to_string(static_cast<int64_t>(field(c)) / unit);
  };
  return k;
}

template <class F>
ConfigKey text(std::string_view key, ValueType type, ReloadClass reload, std::string_view doc, F field,
               Check check = {}) {
  ConfigKey k = make_key(key, type, reload, doc);
  k.set = [field, check](std::string_view v, DaemonConfig& c) -> Message {
    std::string s(v);
    if (check)
      if (auto m = check(s)) return m;
    field(c) = std::move(s);
    return std::nullopt;
  };
  k.get = [field](const DaemonConfig& c) -> std::string { return field(c); };
  return k;
}

// An absolute path; `max_length` > 0 bounds it (a unix socket path fits sockaddr_un's 108 bytes with its NUL).
template <class F>
ConfigKey path(std::string_view key, ReloadClass reload, std::string_view doc, F field, size_t max_length = 0,
               bool may_be_empty = false) {
  return text(key, ValueType::kPath, reload, doc, field, [max_length, may_be_empty](const std::string& s) -> Message {
    if (s.empty() && may_be_empty) return std::nullopt;
    if (max_length > 0 && (!is_absolute_path(s) || s.size() > max_length))
      return "must be an absolute path of at most " + std::to_string(max_length) + " characters";
    if (!is_absolute_path(s)) return "must be an absolute path";
    return std::nullopt;
  });
}

template <class F>
ConfigKey ipv4(std::string_view key, ReloadClass reload, std::string_view doc, F field) {
  return text(key, ValueType::kIpv4, reload, doc, field, [](const std::string& s) -> Message {
    if (!is_ipv4(s)) return "not an IPv4 address: '" + s + "'";
    return std::nullopt;
  });
}

// One of a few words, each mapped to a value of the field's type (an enum, or the word itself).
template <class T, class F>
ConfigKey choice(std::string_view key, ReloadClass reload, std::string_view doc, F field,
                 std::vector<std::pair<std::string_view, T>> words) {
  ConfigKey k = make_key(key, ValueType::kEnum, reload, doc);
  for (const auto& w : words) k.allowed.push_back(w.first);
  std::string expected = "must be one of " + join_list(k.allowed);
  k.set = [field, words, expected](std::string_view v, DaemonConfig& c) -> Message {
    for (const auto& [word, value] : words)
      if (word == v) {
        field(c) = value;
        return std::nullopt;
      }
    return expected + ", got '" + std::string(v) + "'";
  };
  k.get = [field, words](const DaemonConfig& c) -> std::string {
    for (const auto& [word, value] : words)
      if (field(c) == value) return std::string(word);
    return "?";
  };
  return k;
}

// Comma-separated; blanks around items are dropped, so is an empty item.
template <class F>
ConfigKey list(std::string_view key, ReloadClass reload, std::string_view doc, F field, size_t max_items,
               Check item_check) {
  ConfigKey k = make_key(key, ValueType::kList, reload, doc);
  k.set = [field, max_items, item_check](std::string_view v, DaemonConfig& c) -> Message {
    auto items = split_list(v);
    if (max_items > 0 && items.size() > max_items) return "at most " + std::to_string(max_items) + " entries";
    if (item_check)
      for (const auto& i : items)
        if (auto m = item_check(i)) return m;
    field(c) = std::move(items);
    return std::nullopt;
  };
  k.get = [field](const DaemonConfig& c) -> std::string { return join_list(field(c)); };
  return k;
}

// ppp.auth: a list of method names kept as four flags.
ConfigKey auth_methods(ReloadClass reload, std::string_view doc) {
  ConfigKey k = make_key("ppp.auth", ValueType::kList, reload, doc);
  k.allowed = {"mschap-v2", "mschap", "chap", "pap"};
  k.set = [](std::string_view v, DaemonConfig& c) -> Message {
    auto methods = split_list(v);
    if (methods.empty()) return "needs at least one of mschap-v2, mschap, chap, pap";
    PppSection& p = c.ppp;
    p.mschap_v2 = p.mschap = p.chap = p.pap = false;
    for (const auto& m : methods) {
      if (m == "mschap-v2")
        p.mschap_v2 = true;
      else if (m == "mschap")
        p.mschap = true;
      else if (m == "chap")
        p.chap = true;
      else if (m == "pap")
        p.pap = true;
      else
        return "unknown method '" + m + "' (mschap-v2, mschap, chap, pap)";
    }
    return std::nullopt;
  };
  k.get = [](const DaemonConfig& c) -> std::string {
    std::vector<std::string> m;
    if (c.ppp.mschap_v2) m.emplace_back("mschap-v2");
    if (c.ppp.mschap) m.emplace_back("mschap");
    if (c.ppp.chap) m.emplace_back("chap");
    if (c.ppp.pap) m.emplace_back("pap");
    return join_list(m);
  };
  return k;
}

Message length_between(const std::string& s, size_t lo, size_t hi) {
  if (s.size() < lo || s.size() > hi)
    return "must be " + std::to_string(lo) + " to " + std::to_string(hi) + " characters";
  return std::nullopt;
}

Message strongswan_proposal(const std::string& p) {
  if (p.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
    return "not a strongSwan proposal: '" + p + "'";
  return std::nullopt;
}

std::vector<ConfigKey> build_table() {
  using R = ReloadClass;
  using V = ValueType;
  // clang-format off
  return {
    choice<log::Level>("log.level", R::kLive, "debug | info | warn | error",
        [](auto& c) -> auto& { return c.log_level; },
        {{"debug", log::Level::kDebug}, {"info", log::Level::kInfo}, {"warn", log::Level::kWarn},
         {"error", log::Level::kError}}),

    // [l2tp]: the endpoint takes a new L2tpConfig for tunnels created afterwards (Endpoint::set_config); a
    // running tunnel keeps the one it started with. Its limits on tunnels are checked at each SCCRQ: live.
    ipv4("l2tp.listen", R::kRestart, "IPv4 address the LNS binds (0.0.0.0: every address)",
        [](auto& c) -> auto& { return c.listen_address; }),
    integer("l2tp.port", 1, 65535, R::kRestart, "UDP port the LNS binds (RFC 2661 §8.1: 1701)",
        [](auto& c) -> auto& { return c.port; }),
    integer("l2tp.data_port_min", 1, 65535, R::kRestart,
        "first local UDP port for the data of clients behind one NAT (one per IPsec SA with a kernel tunnel)",
        [](auto& c) -> auto& { return c.data_port_min; }),
    integer("l2tp.data_port_max", 1, 65535, R::kRestart, "last such port",
        [](auto& c) -> auto& { return c.data_port_max; }),
    text("l2tp.host_name", V::kString, R::kNewSessions, "Host Name AVP we send",
        [](auto& c) -> auto& { return c.l2tp.host_name; },
        [](const std::string& s) { return length_between(s, 1, 255); }),
    secret(text("l2tp.secret", V::kString, R::kNewSessions, "tunnel secret (RFC 2661 §5.1.1); empty: none",
        [](auto& c) -> auto& { return c.l2tp.secret; },
        [](const std::string& s) -> Message {
          if (s.size() > 255) return "longer than 255 characters";
          return std::nullopt;
        })),
    boolean("l2tp.require_tunnel_auth", R::kNewSessions, "with a secret: challenge every peer",
        [](auto& c) -> auto& { return c.l2tp.require_authentication; }),
    boolean("l2tp.hide_avps", R::kNewSessions, "send session AVPs hidden (RFC 2661 §4.3); needs l2tp.secret",
        [](auto& c) -> auto& { return c.l2tp.hide_avps; }),
    integer("l2tp.receive_window", 1, 1024, R::kNewSessions, "receive window (RWS) we advertise",
        [](auto& c) -> auto& { return c.l2tp.channel.receive_window; }),
    integer("l2tp.retransmit_initial_ms", 50, 60000, R::kNewSessions, "first retransmission timeout",
        [](auto& c) -> auto& { return c.l2tp.channel.initial_timeout; }),
    integer("l2tp.retransmit_cap_ms", 50, 600000, R::kNewSessions, "retransmission back-off cap",
        [](auto& c) -> auto& { return c.l2tp.channel.max_timeout; }),
    integer("l2tp.max_retransmissions", 1, 100, R::kNewSessions, "retransmissions before a tunnel is dead",
        [](auto& c) -> auto& { return c.l2tp.channel.max_retransmissions; }),
    integer("l2tp.hello_interval_s", 0, 86400, R::kNewSessions, "HELLO after this many idle seconds; 0 = off",
        [](auto& c) -> auto& { return c.l2tp.channel.hello_interval; }, 1000),
    integer("l2tp.max_tunnels", 1, 65535, R::kLive, "tunnels at most, closing ones included",
        [](auto& c) -> auto& { return c.l2tp.max_tunnels; }),
    integer("l2tp.max_tunnels_per_peer", 1, 65535, R::kLive, "tunnels at most from one address, closing ones included",
        [](auto& c) -> auto& { return c.l2tp.max_tunnels_per_peer; }),
    integer("l2tp.max_sessions_per_tunnel", 1, 65535, R::kNewSessions, "sessions at most in one tunnel",
        [](auto& c) -> auto& { return c.l2tp.max_sessions_per_tunnel; }),
    integer("l2tp.max_control_bytes", 4096, 16777216, R::kNewSessions,
        "unacknowledged control message bytes one tunnel may hold; past it the tunnel is dropped",
        [](auto& c) -> auto& { return c.l2tp.max_control_bytes; }),
    integer("l2tp.max_control_rate", 0, 1000000, R::kLive,
        "control messages per second accepted from one address (bursts of twice that); 0 = no limit",
        [](auto& c) -> auto& { return c.l2tp.max_control_rate; }),

    // [status]: the listener is bound once; its bearer token is swapped in place (HttpServer::set_bearer_token).
    boolean("status.enabled", R::kRestart, "serve /status, /healthz and /metrics over HTTP",
        [](auto& c) -> auto& { return c.status_enabled; }),
    ipv4("status.listen", R::kRestart, "address the status endpoint binds",
        [](auto& c) -> auto& { return c.status_listen; }),
    integer("status.port", 1, 65535, R::kRestart, "TCP port of the status endpoint",
        [](auto& c) -> auto& { return c.status_port; }),
    secret(text("status.token", V::kString, R::kLive, "bearer token every request must carry; empty: none",
        [](auto& c) -> auto& { return c.status_token; })),
    integer("status.max_connections", 1, 4096, R::kRestart,
        "connections open at once; past it a new one is answered 503 and closed",
        [](auto& c) -> auto& { return c.status_max_connections; }),
    integer("status.idle_timeout_s", 1, 3600, R::kRestart, "close a connection that sends nothing this long",
        [](auto& c) -> auto& { return c.status_idle_timeout_s; }),

    path("control.socket", R::kRestart, "l2tpvpnctl's unix socket (mode 0600)",
        [](auto& c) -> auto& { return c.control_socket; }, 107),
    integer("control.max_connections", 1, 4096, R::kRestart,
        "connections open at once; past it a new one is closed at once",
        [](auto& c) -> auto& { return c.control_max_connections; }),
    integer("control.idle_timeout_s", 1, 3600, R::kRestart, "close a connection that sends nothing this long",
        [](auto& c) -> auto& { return c.control_idle_timeout_s; }),

    // The daemon does not use the public address: l2tpvpnctl reads it from the file each time.
    text("server.public_address", V::kString, R::kLive, "name or address clients dial (client-setup)",
        [](auto& c) -> auto& { return c.public_address; }),
    path("server.runtime_dir", R::kRestart, "runtime files (embedded charon, pppd)",
        [](auto& c) -> auto& { return c.runtime_dir; }),

    // Read again on every reload (and on l2tpvpnctl users-reload), so a new path takes effect at once.
    path("users.file", R::kLive, "VPN users (l2tpvpnctl user ...), mode 0600",
        [](auto& c) -> auto& { return c.users_file; }),

    // [ppp]: every pppd is started with the options of its day (SessionManager::update_ppp); the data path is
    // chosen once at start.
    path("ppp.pppd", R::kNewSessions, "pppd to run for each session",
        [](auto& c) -> auto& { return c.ppp.pppd_path; }),
    choice<DataPathMode>("ppp.data_path", R::kRestart, "auto | kernel | pty",
        [](auto& c) -> auto& { return c.ppp.data_path; },
        {{"auto", DataPathMode::kAuto}, {"kernel", DataPathMode::kKernel}, {"pty", DataPathMode::kPty}}),
    auth_methods(R::kNewSessions, "methods the client must use: mschap-v2, mschap, chap, pap"),
    list("ppp.dns", R::kNewSessions, "DNS servers handed to clients (at most 2)",
        [](auto& c) -> auto& { return c.ppp.dns; }, 2,
        [](const std::string& d) -> Message {
          if (!is_ipv4(d) || d == "0.0.0.0") return "not an IPv4 address: '" + d + "'";
          return std::nullopt;
        }),
    integer("ppp.mtu", 576, 1500, R::kNewSessions, "MTU pppd negotiates",
        [](auto& c) -> auto& { return c.ppp.mtu; }),
    integer("ppp.mru", 576, 1500, R::kNewSessions, "MRU pppd negotiates",
        [](auto& c) -> auto& { return c.ppp.mru; }),
    integer("ppp.lcp_echo_interval", 0, 3600, R::kNewSessions, "LCP echo every N seconds; 0 = none",
        [](auto& c) -> auto& { return c.ppp.lcp_echo_interval; }),
    integer("ppp.lcp_echo_failure", 1, 100, R::kNewSessions, "unanswered LCP echoes that end a session",
        [](auto& c) -> auto& { return c.ppp.lcp_echo_failure; }),
    boolean("ppp.proxyarp", R::kNewSessions, "answer ARP for clients on the LAN",
        [](auto& c) -> auto& { return c.ppp.proxyarp; }),
    text("ppp.plugin", V::kString, R::kNewSessions, "our pppd plugin: a name in pppd's plugin dir or a path",
        [](auto& c) -> auto& { return c.ppp.plugin; },
        [](const std::string& s) -> Message {
          if (s.empty()) return "must not be empty";
          return std::nullopt;
        }),
    text("ppp.server_name", V::kString, R::kNewSessions, "our CHAP name",
        [](auto& c) -> auto& { return c.ppp.server_name; },
        [](const std::string& s) -> Message {
          if (s.empty() || s.size() > 64 ||
              s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
                  std::string::npos)
            return "1 to 64 characters of A-Z a-z 0-9 . _ -";
          return std::nullopt;
        }),
    // Read when a pppd is stopped, so it applies to running sessions too.
    integer("ppp.stop_timeout_ms", 100, 60000, R::kLive, "SIGKILL a pppd this long after its SIGHUP",
        [](auto& c) -> auto& { return c.ppp.stop_timeout_ms; }),
    boolean("ppp.debug", R::kNewSessions, "pppd debug logging",
        [](auto& c) -> auto& { return c.ppp.debug; }),
    integer("ppp.max_sessions_per_peer", 1, 65535, R::kNewSessions, "sessions at most from one address",
        [](auto& c) -> auto& { return c.ppp.max_sessions_per_peer; }),
    integer("ppp.max_unauthenticated_per_peer", 1, 65535, R::kNewSessions,
        "sessions from one address not authenticated yet (each holds a pool address and a pppd)",
        [](auto& c) -> auto& { return c.ppp.max_unauthenticated_per_peer; }),
    integer("ppp.max_unauthenticated", 1, 65535, R::kNewSessions, "sessions not authenticated yet, all peers",
        [](auto& c) -> auto& { return c.ppp.max_unauthenticated; }),
    boolean("ppp.end_sessions_of_changed_users", R::kLive,
        "on a users reload, end the sessions of users removed or given a new password",
        [](auto& c) -> auto& { return c.ppp.end_sessions_of_changed_users; }),

    // [pool]: the pool holds the running sessions' leases, and the firewall masquerades its block.
    text("pool.range", V::kString, R::kRestart, "client addresses: A-B or A/prefix",
        [](auto& c) -> auto& { return c.pool.range; }),
    ipv4("pool.server_address", R::kRestart, "the server's side of every PPP link",
        [](auto& c) -> auto& { return c.pool.server_address; }),
    list("pool.exclude", R::kRestart, "addresses never handed out (A or A-B)",
        [](auto& c) -> auto& { return c.pool.exclude; }, 0, {}),

    // [ipsec]: the profile (PSK, proposals) is loaded into charon again on every reload and applies to IKE SAs
    // negotiated afterwards; which charon runs, and where, is decided at start.
    boolean("ipsec.required", R::kRestart, "answer L2TP only from peers holding an IPsec SA (RFC 3193)",
        [](auto& c) -> auto& { return c.ipsec.required; }),
    choice<CharonMode>("ipsec.charon", R::kRestart, "auto | system | embedded",
        [](auto& c) -> auto& { return c.ipsec.charon; },
        {{"auto", CharonMode::kAuto}, {"system", CharonMode::kSystem}, {"embedded", CharonMode::kEmbedded}}),
    path("ipsec.system_vici_socket", R::kRestart, "VICI socket of a system charon",
        [](auto& c) -> auto& { return c.ipsec.system_vici_socket; }, 107),
    path("ipsec.embedded_vici_socket", R::kRestart, "VICI socket of our embedded charon",
        [](auto& c) -> auto& { return c.ipsec.embedded_vici_socket; }, 107),
    path("ipsec.charon_path", R::kRestart, "the charon binary the embedded mode starts",
        [](auto& c) -> auto& { return c.ipsec.charon_path; }),
    integer("ipsec.ike_port", 1, 65535, R::kRestart, "IKE port of the embedded charon",
        [](auto& c) -> auto& { return c.ipsec.ike_port; }),
    integer("ipsec.nat_t_port", 1, 65535, R::kRestart, "NAT-T port of the embedded charon",
        [](auto& c) -> auto& { return c.ipsec.nat_t_port; }),
    secret(text("ipsec.psk", V::kString, R::kNewSessions, "pre-shared key (8 to 255 characters); empty: psk_file",
        [](auto& c) -> auto& { return c.ipsec.psk; },
        [](const std::string& s) -> Message { return s.empty() ? std::nullopt : length_between(s, 8, 255); })),
    path("ipsec.psk_file", R::kNewSessions, "root-only file holding the pre-shared key",
        [](auto& c) -> auto& { return c.ipsec.psk_file; }, 0, true),
    boolean("ipsec.legacy", R::kNewSessions, "accept MODP1024 and 3DES (old clients)",
        [](auto& c) -> auto& { return c.ipsec.legacy; }),
    list("ipsec.ike_proposals", R::kNewSessions, "replace the IKE proposal sets (strongSwan syntax)",
        [](auto& c) -> auto& { return c.ipsec.ike_proposals; }, 0, strongswan_proposal),
    list("ipsec.esp_proposals", R::kNewSessions, "replace the ESP proposal sets (strongSwan syntax)",
        [](auto& c) -> auto& { return c.ipsec.esp_proposals; }, 0, strongswan_proposal),

    // [firewall]: the rules are installed once at start and removed at exit; changing them under running
    // sessions would open a window without them.
    boolean("firewall.manage", R::kRestart, "install (and remove on exit) our firewall rules",
        [](auto& c) -> auto& { return c.firewall.manage; }),
    choice<std::string>("firewall.backend", R::kRestart, "auto | iptables-legacy | iptables-nft | nft | none",
        [](auto& c) -> auto& { return c.firewall.backend; },
        {{"auto", "auto"}, {"iptables-legacy", "iptables-legacy"}, {"iptables-nft", "iptables-nft"},
         {"nft", "nft"}, {"none", "none"}}),
    text("firewall.wan_interface", V::kString, R::kRestart, "masquerade out of this interface; empty: any",
        [](auto& c) -> auto& { return c.firewall.wan_interface; },
        [](const std::string& s) -> Message {
          if (s.size() > 15 || s.find_first_of(" /\t\n") != std::string::npos) return "not an interface name";
          return std::nullopt;
        }),
    boolean("firewall.masquerade", R::kRestart, "masquerade the pool",
        [](auto& c) -> auto& { return c.firewall.masquerade; }),
    boolean("firewall.clamp_mss", R::kRestart, "clamp TCP MSS to the PPP MTU",
        [](auto& c) -> auto& { return c.firewall.clamp_mss; }),
    boolean("firewall.client_to_client", R::kRestart, "let clients reach each other",
        [](auto& c) -> auto& { return c.firewall.client_to_client; }),
    boolean("firewall.ip_forward", R::kRestart, "turn net.ipv4.ip_forward on (restored on exit)",
        [](auto& c) -> auto& { return c.firewall.ip_forward; }),
  };
  // clang-format on
}

struct KeyError {
  std::string_view key;
  std::string message;
};

// Rules that involve more than one key, checked once every key has been read. `given`: the keys the file sets.
std::optional<KeyError> check_across_keys(const DaemonConfig& c, const std::map<std::string, size_t>& given) {
  if (c.l2tp.channel.max_timeout < c.l2tp.channel.initial_timeout)
    return KeyError{"l2tp.retransmit_cap_ms", "smaller than retransmit_initial_ms"};
  if (c.l2tp.hide_avps && c.l2tp.secret.empty()) return KeyError{"l2tp.hide_avps", "hidden AVPs need l2tp.secret"};
  if (c.data_port_max < c.data_port_min) return KeyError{"l2tp.data_port_max", "smaller than l2tp.data_port_min"};
  if (c.port >= c.data_port_min && c.port <= c.data_port_max)
    return KeyError{given.count("l2tp.port") ? "l2tp.port" : "l2tp.data_port_min",
                    "l2tp.port lies in l2tp.data_port_min..l2tp.data_port_max"};
  // The pool validates itself and names what is wrong.
  auto pool = ppp::IpPool::create(ppp::IpPoolConfig{c.pool.range, c.pool.server_address, c.pool.exclude, {}});
  if (!pool) {
    const auto& e = pool.error();
    std::string_view key = "pool.range";
    if (e.code == ppp::IpPoolErrorCode::kBadServerAddress) key = "pool.server_address";
    if (e.code == ppp::IpPoolErrorCode::kBadExclusion) key = "pool.exclude";
    return KeyError{key, e.to_string()};
  }
  if (c.ipsec.ike_port == c.ipsec.nat_t_port)
    return KeyError{given.count("ipsec.nat_t_port") ? "ipsec.nat_t_port" : "ipsec.ike_port",
                    "ipsec.ike_port and ipsec.nat_t_port must differ"};
  return std::nullopt;
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

const char* to_string(ReloadClass r) {
  switch (r) {
    case ReloadClass::kLive:
      return "live";
    case ReloadClass::kNewSessions:
      return "new-sessions";
    case ReloadClass::kRestart:
      return "restart";
  }
  return "?";
}

const char* to_string(ValueType t) {
  switch (t) {
    case ValueType::kBool:
      return "bool";
    case ValueType::kInteger:
      return "integer";
    case ValueType::kString:
      return "string";
    case ValueType::kPath:
      return "path";
    case ValueType::kList:
      return "list";
    case ValueType::kEnum:
      return "enum";
    case ValueType::kIpv4:
      return "ipv4-address";
  }
  return "?";
}

std::string ConfigKey::default_text() const { return get(DaemonConfig{}); }

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = build_table();
  return keys;
}

const ConfigKey* find_config_key(std::string_view key) {
  for (const auto& k : config_keys())
    if (k.key == key) return &k;
  return nullptr;
}

std::vector<ConfigChange> diff_config(const DaemonConfig& running, const DaemonConfig& fresh) {
  std::vector<ConfigChange> out;
  for (const auto& k : config_keys())
    if (k.get(running) != k.get(fresh)) out.push_back(ConfigChange{k.key, k.reload});
  return out;
}

void copy_config_key(std::string_view key, const DaemonConfig& from, DaemonConfig& to) {
  // get() spells a value the way set() reads it, and a parsed configuration's values are valid: set cannot fail.
  if (const ConfigKey* k = find_config_key(key)) (void)k->set(k->get(from), to);
}

ReloadPlan plan_reload(const DaemonConfig& running, const DaemonConfig& fresh) {
  ReloadPlan plan{running, {}, {}};
  for (const auto& change : diff_config(running, fresh)) {
    if (change.reload == ReloadClass::kRestart) {
      plan.needs_restart.push_back(change);
      continue;
    }
    copy_config_key(change.key, fresh, plan.next);
    plan.applied.push_back(change);
  }
  return plan;
}

Result<DaemonConfig, ConfigError> parse_config(std::istream& in, const std::string& name) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (int bad = first_syntax_error(text)) return unexpected(ConfigError{name, bad, "", "expected 'key = value'"});
  auto lines = index_lines(text);
  auto line_of = [&lines](const std::string& key, size_t occurrence) {
    auto it = lines.find(key);
    return it == lines.end() || occurrence >= it->second.size() ? 0 : it->second[occurrence];
  };

  // Program_options is the tokenizer: sections, "key = value", comments. Every key it returns is then read
  // through the table, in file order, so the first error in the file is the one reported.
  std::vector<po::option> options;
  try {
    std::istringstream again(text);
    po::options_description none;
    options = po::parse_config_file(again, none, /*allow_unregistered=*/true).options;
  } catch (const po::error& e) {
    return unexpected(ConfigError{name, 0, "", e.what()});
  }

  DaemonConfig c;
  c.path = name;
  std::map<std::string, size_t> given;  // key -> occurrences so far
  for (const auto& opt : options) {
    const std::string& key = opt.string_key;
    size_t occurrence = given[key]++;
    int line = line_of(key, occurrence);
    if (occurrence > 0) return unexpected(ConfigError{name, line, key, "given more than once"});
    const ConfigKey* k = find_config_key(key);
    if (!k) return unexpected(ConfigError{name, line, key, "unknown key"});
    if (auto message = k->set(opt.value.empty() ? std::string() : opt.value.front(), c))
      return unexpected(ConfigError{name, line, key, *message});
  }
  if (auto e = check_across_keys(c, given)) {
    std::string key(e->key);
    return unexpected(ConfigError{name, line_of(key, 0), key, e->message});
  }
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

std::vector<std::string_view> inline_secret_keys(const DaemonConfig& config) {
  std::vector<std::string_view> out;
  for (const auto& k : config_keys())
    if (k.secret && !k.get(config).empty()) out.push_back(k.key);
  return out;
}

int config_key_line(const std::string& text, std::string_view key) {
  auto lines = index_lines(text);
  auto it = lines.find(std::string(key));
  return it == lines.end() || it->second.empty() ? 0 : it->second.front();
}

}  // namespace l2tpvpn
