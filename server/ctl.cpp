#include "server/ctl.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <istream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "common/os/private_file.hpp"
#include "ppp/ip_pool.hpp"
#include "ppp/ipv4.hpp"
#include "ppp/user_store.hpp"

namespace l2tpvpn {

using nlohmann::json;

namespace {

constexpr const char* kUsage =
    "usage: l2tpvpnctl [-c CONFIG] [-s SOCKET] COMMAND [ARGS]\n"
    "\n"
    "  status [--json]                      server, IPsec, tunnels and sessions as tables (or the raw JSON)\n"
    "  sessions [--json]                    the sessions\n"
    "  disconnect TUNNEL [SESSION]          end a tunnel (StopCCN) or one session (CDN)\n"
    "  disconnect --user NAME               end every session of a user\n"
    "  user add NAME [--address A] [--password-stdin]\n"
    "                                       add a user; a generated password is printed once\n"
    "  user del NAME [--disconnect]         remove a user (--disconnect: and end their sessions now)\n"
    "  user list [--json]                   user names and static addresses (never passwords)\n"
    "  user passwd NAME [--password-stdin]  set a new password (generated and printed once, or from stdin)\n"
    "  client-setup [--user NAME] [--os windows|macos|ios|android|all] [--server HOST] [--name NAME]\n"
    "               [--show-password] [--json]\n"
    "                                       what to enter on Windows, macOS, iOS and Android\n"
    "  help                                 this text\n"
    "\n"
    "  -c, --config FILE  daemon configuration (default /etc/l2tpvpn/l2tpvpnd.conf; built-in defaults if it is\n"
    "                     missing)\n"
    "  -s, --socket PATH  control socket (default: [control] socket of the configuration)\n"
    "\n"
    "Passwords are never taken from the command line (ps and shell history would show them): they are\n"
    "generated, or read as one line from stdin with --password-stdin.\n";

constexpr const char* kStatusUsage = "status [--json]";
constexpr const char* kSessionsUsage = "sessions [--json]";
constexpr const char* kDisconnectUsage = "disconnect TUNNEL [SESSION] | disconnect --user NAME";
constexpr const char* kUserUsage = "user add|del|list|passwd ...";
constexpr const char* kUserAddUsage = "user add NAME [--address A] [--password-stdin]";
constexpr const char* kUserDelUsage = "user del NAME [--disconnect]";
constexpr const char* kUserListUsage = "user list [--json]";
constexpr const char* kUserPasswdUsage = "user passwd NAME [--password-stdin]";
constexpr const char* kClientSetupUsage =
    "client-setup [--user NAME] [--os windows|macos|ios|android|all] [--server HOST] [--name NAME] "
    "[--show-password] [--json]";

const std::vector<std::string> kAllOses = {"windows", "macos", "ios", "android"};

constexpr const char* kVpnType = "L2TP over IPsec with pre-shared key";
constexpr const char* kNatTKey = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent";
constexpr const char* kNatTValue = "AssumeUDPEncapsulationContextOnSendRule";

// ---- command-line parsing --------------------------------------------------------------------------------------
// A small hand parser rather than Boost.Program_options: every subcommand has its own few options and
// positionals, and what matters is a precise message ("user add: --address needs a value") plus the one usage
// line of that subcommand, which is simpler to produce here than through po's subcommand workarounds.

struct OptionSpec {
  std::string name;  // "--json"
  bool takes_value = false;
};

struct ParsedArgs {
  std::map<std::string, std::string> options;  // name -> value ("" for flags)
  std::vector<std::string> positional;
  bool has(const std::string& name) const { return options.count(name) != 0; }
};

// Errors: an unknown option, a flag given a value, an option missing its value. Messages never echo what
// follows '=' (it might be a secret typed in the wrong place).
Result<ParsedArgs, std::string> parse_args(const std::vector<std::string>& args, size_t first,
                                           const std::vector<OptionSpec>& spec) {
  ParsedArgs out;
  bool options_done = false;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a.substr(0, a.find('='));
    std::optional<std::string> inline_value;
    if (name.size() < a.size()) inline_value = a.substr(name.size() + 1);
    if (name == "--password" || name == "-p") {
      return unexpected(std::string(
          "passwords are not taken on the command line (ps and shell history would show them): leave it out to "
          "get a generated one, or use --password-stdin"));
    }
    auto it = std::find_if(spec.begin(), spec.end(), [&](const OptionSpec& o) { return o.name == name; });
    if (it == spec.end()) return unexpected("unknown option " + name);
    if (!it->takes_value) {
      if (inline_value) return unexpected(name + " takes no value");
      out.options[name] = "";
      continue;
    }
    if (inline_value) {
      out.options[name] = *inline_value;
    } else if (i + 1 < args.size()) {
      out.options[name] = args[++i];
    } else {
      return unexpected(name + " needs a value");
    }
  }
  return out;
}

// A tunnel or session ID: 1..65535, decimal, nothing else.
std::optional<uint16_t> parse_id(const std::string& s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// ---- rendering helpers -----------------------------------------------------------------------------------------

// A JSON value as a table cell: missing, null and "" are "-".
std::string cell(const json& j, const char* key) {
  if (!j.is_object()) return "-";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>().empty() ? "-" : it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return it->dump();
}

std::string human_bytes(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return "-";
  double v = j[key].get<double>();
  static const char* const kUnits[] = {"B", "K", "M", "G", "T"};
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f%s", v, kUnits[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f%s", v, kUnits[u]);
  return buf;
}

std::string format_duration(int64_t s) {
  if (s < 0) return "-";
  char buf[48];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s / 3600 % 24));
  return buf;
}

// Left-aligned columns, two spaces apart, no trailing blanks.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }
  void add(std::vector<std::string> row) {
    row.resize(rows_.front().size(), "-");
    rows_.push_back(std::move(row));
  }
  std::string render() const {
    std::vector<size_t> width(rows_.front().size(), 0);
    for (const auto& r : rows_)
      for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
    std::string out;
    for (const auto& r : rows_) {
      std::string line;
      for (size_t c = 0; c < r.size(); ++c) {
        line += r[c];
        if (c + 1 < r.size()) line += std::string(width[c] - r[c].size() + 2, ' ');
      }
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// One line of `key=value` for the scalars of an object (nested objects as key.sub=value, arrays as a count).
void flatten(const json& j, const std::string& prefix, std::vector<std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string k = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      flatten(*it, k, out);
    } else if (it->is_array()) {
      out.push_back(k + "=" + std::to_string(it->size()));
    } else if (it->is_string()) {
      out.push_back(k + "=" + it->get<std::string>());
    } else {
      out.push_back(k + "=" + it->dump());
    }
  }
}

std::string ipsec_cell(const json& s) {
  if (!s.is_object() || !s.contains("ipsec") || !s["ipsec"].is_object()) return "-";
  const json& i = s["ipsec"];
  // docs/status.md calls it "nat"; "nat_t" is accepted too.
  auto flag = [&](const char* k) { return i.contains(k) && i[k].is_boolean() && i[k].get<bool>(); };
  bool nat = flag("nat") || flag("nat_t");
  return nat ? "esp+nat-t" : "esp";
}

// The sessions of an older status document (no top-level "sessions"): from the tunnels, in the new shape.
json sessions_from_tunnels(const json& status) {
  json out = json::array();
  if (!status.contains("l2tp") || !status["l2tp"].is_object()) return out;
  const json& tunnels = status["l2tp"].value("tunnels", json::array());
  if (!tunnels.is_array()) return out;
  for (const auto& t : tunnels) {
    if (!t.is_object() || !t.contains("sessions") || !t["sessions"].is_array()) continue;
    for (const auto& s : t["sessions"]) {
      if (!s.is_object()) continue;
      json row = json::object();
      if (t.contains("id")) row["tunnel"] = t["id"];
      if (s.contains("id")) row["session"] = s["id"];
      if (s.contains("peer_id")) row["peer_session"] = s["peer_id"];
      if (t.contains("peer")) row["peer"] = t["peer"];
      if (s.contains("state")) row["state"] = s["state"];
      out.push_back(row);
    }
  }
  return out;
}

bool is_private_ipv4(const std::string& host) {
  auto a = ppp::parse_ipv4(host);
  if (!a) return false;
  uint32_t v = a->value;
  auto in = [v](uint32_t net, int prefix) { return (v >> (32 - prefix)) == (net >> (32 - prefix)); };
  return in(0x0a000000, 8) || in(0xac100000, 12) || in(0xc0a80000, 16) || in(0x64400000, 10) || in(0x7f000000, 8) ||
         in(0xa9fe0000, 16);
}

std::string strip_line_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Word-wraps `text` at kWrapColumn: the first line after `first`, the others after `rest`. Words longer than a
// line (a command) stay whole.
constexpr size_t kWrapColumn = 110;
std::string wrap(const std::string& text, const std::string& first, const std::string& rest) {
  std::string out, line = first;
  bool line_empty = true;
  std::istringstream words(text);
  for (std::string w; words >> w;) {
    if (!line_empty && line.size() + 1 + w.size() > kWrapColumn) {
      out += line + "\n";
      line = rest;
      line_empty = true;
    }
    line += (line_empty ? "" : " ") + w;
    line_empty = false;
  }
  return out + line + "\n";
}

// ---- the commands ----------------------------------------------------------------------------------------------

class Ctl {
 public:
  Ctl(CtlEnv& env, DaemonConfig config, std::optional<std::string> socket_override)
      : env_(env), config_(std::move(config)), socket_override_(std::move(socket_override)) {}

  int dispatch(const std::vector<std::string>& args) {
    const std::string& cmd = args[0];
    if (cmd == "status") return status(args);
    if (cmd == "sessions") return sessions(args);
    if (cmd == "disconnect") return disconnect(args);
    if (cmd == "user") return user(args);
    if (cmd == "client-setup") return client_setup(args);
    env_.err << "l2tpvpnctl: unknown command \"" << cmd << "\"\n\n" << kUsage;
    return 2;
  }

 private:
  std::string socket() const { return socket_override_ ? *socket_override_ : config_.control_socket; }

  int usage_error(const char* usage, const std::string& message) {
    env_.err << "l2tpvpnctl: " << message << "\nusage: l2tpvpnctl " << usage
             << "\n(l2tpvpnctl help lists every command)\n";
    return 2;
  }
  int fail(const std::string& message) {
    env_.err << "l2tpvpnctl: " << message << "\n";
    return 1;
  }

  // Parses the arguments after the first `skip` words; on error prints the usage and returns nullopt.
  std::optional<ParsedArgs> parse(const std::vector<std::string>& args, size_t skip,
                                  const std::vector<OptionSpec>& spec, const char* usage, size_t min_pos,
                                  size_t max_pos, int& exit_code, const char* missing = "argument") {
    auto p = parse_args(args, skip, spec);
    std::string prefix = args[0] + (skip > 1 ? " " + args[1] : "") + ": ";
    if (!p) {
      exit_code = usage_error(usage, prefix + p.error());
      return std::nullopt;
    }
    if (p->positional.size() < min_pos) {
      exit_code = usage_error(usage, prefix + "missing " + missing);
      return std::nullopt;
    }
    if (p->positional.size() > max_pos) {
      exit_code = usage_error(usage, prefix + "unexpected argument \"" + p->positional[max_pos] + "\"");
      return std::nullopt;
    }
    return std::move(*p);
  }

  // Sends a request the command cannot do without. Errors (printed): daemon not running, transport, "ok": false.
  std::optional<json> call(const json& request) {
    ControlReply r = env_.request(socket(), request);
    if (r.failure == ControlFailure::kNotRunning) {
      fail("l2tpvpnd is not running (" + r.error + ")");
      return std::nullopt;
    }
    if (r.failure != ControlFailure::kNone) {
      fail(r.error);
      return std::nullopt;
    }
    if (!r.response.is_object() || !r.response.value("ok", false)) {
      std::string e = r.response.is_object() ? r.response.value("error", "request failed") : "request failed";
      fail("l2tpvpnd: " + e);
      return std::nullopt;
    }
    return std::move(r.response);
  }

  int status(const std::vector<std::string>& args) {
    int rc = 0;
    auto p = parse(args, 1, {{"--json"}}, kStatusUsage, 0, 0, rc);
    if (!p) return rc;
    auto resp = call(json{{"cmd", "status"}});
    if (!resp) return 1;
    resp->erase("ok");
    env_.out << (p->has("--json") ? resp->dump(2) + "\n" : render_status(*resp));
    return 0;
  }

  int sessions(const std::vector<std::string>& args) {
    int rc = 0;
    auto p = parse(args, 1, {{"--json"}}, kSessionsUsage, 0, 0, rc);
    if (!p) return rc;
    auto resp = call(json{{"cmd", "sessions"}});
    if (!resp) return 1;
    json list = resp->value("sessions", json::array());
    env_.out << (p->has("--json") ? json{{"sessions", list}}.dump(2) + "\n" : render_sessions(list));
    return 0;
  }

  int disconnect(const std::vector<std::string>& args) {
    int rc = 0;
    auto p = parse(args, 1, {{"--user", true}}, kDisconnectUsage, 0, 2, rc);
    if (!p) return rc;
    if (p->has("--user")) {
      if (!p->positional.empty()) return usage_error(kDisconnectUsage, "disconnect: --user takes no TUNNEL/SESSION");
      const std::string& name = p->options["--user"];
      if (auto ok = ppp::validate_user_name(name); !ok)
        return usage_error(kDisconnectUsage, "disconnect: user name: " + ok.error().message);
      auto resp = call(json{{"cmd", "disconnect-user"}, {"user", name}});
      if (!resp) return 1;
      env_.out << "disconnected " << cell(*resp, "sessions") << " session(s) of user " << name << "\n";
      return 0;
    }
    if (p->positional.empty()) return usage_error(kDisconnectUsage, "disconnect: missing TUNNEL (or --user NAME)");
    auto tunnel = parse_id(p->positional[0]);
    if (!tunnel) return usage_error(kDisconnectUsage, "disconnect: TUNNEL must be a number 1..65535");
    json req{{"cmd", "disconnect"}, {"tunnel", *tunnel}};
    if (p->positional.size() == 2) {
      auto session = parse_id(p->positional[1]);
      if (!session) return usage_error(kDisconnectUsage, "disconnect: SESSION must be a number 1..65535");
      req["session"] = *session;
    }
    if (!call(req)) return 1;
    env_.out << (req.contains("session") ? "session " + std::to_string(req["session"].get<int>()) + " of tunnel "
                                         : std::string("tunnel "))
             << *tunnel << " disconnected\n";
    return 0;
  }

  // ---- users ----

  int user(const std::vector<std::string>& args) {
    if (args.size() < 2) return usage_error(kUserUsage, "user: missing subcommand (add, del, list, passwd)");
    const std::string& sub = args[1];
    if (sub == "add") return user_add(args);
    if (sub == "del") return user_del(args);
    if (sub == "list") return user_list(args);
    if (sub == "passwd") return user_passwd(args);
    return usage_error(kUserUsage, "user: unknown subcommand \"" + sub + "\" (add, del, list, passwd)");
  }

  std::optional<ppp::UserStore> load_users() {
    auto store = ppp::UserStore::load_or_empty(config_.users_file);
    if (!store) {
      fail(store.error().to_string());
      return std::nullopt;
    }
    return std::move(*store);
  }

  bool save_users(const ppp::UserStore& store) {
    if (auto ok = store.save(config_.users_file); !ok) {
      fail(ok.error().to_string());
      return false;
    }
    return true;
  }

  // The new password: one line of stdin, or generated (then `generated` is set so the caller prints it).
  std::optional<std::string> new_password(bool from_stdin, bool& generated) {
    generated = false;
    if (from_stdin) {
      std::string line;
      if (!std::getline(env_.in, line)) {
        fail("--password-stdin: no password on stdin");
        return std::nullopt;
      }
      line = strip_line_end(line);
      if (auto ok = ppp::validate_password(line); !ok) {
        fail("--password-stdin: password " + ok.error().message);  // the message never contains the password
        return std::nullopt;
      }
      return line;
    }
    auto pw = generate_password(env_.random);
    if (!pw) fail("the random number generator failed; no password generated");
    generated = pw.has_value();
    return pw;
  }

  // After the users file changed: ask the daemon to reload it. Not running is fine (read at start).
  // Returns false (message printed) if the daemon is running and did not take the new file.
  bool reload_users(bool& running) {
    running = false;
    ControlReply r = env_.request(socket(), json{{"cmd", "users-reload"}});
    if (r.failure == ControlFailure::kNotRunning) {
      env_.err << "note: l2tpvpnd is not running (no control socket at " << socket() << "); it reads "
               << config_.users_file << " when it starts\n";
      return true;
    }
    if (r.failure != ControlFailure::kNone) {
      fail("saved " + config_.users_file + ", but could not ask l2tpvpnd to reload it: " + r.error);
      return false;
    }
    if (!r.response.is_object() || !r.response.value("ok", false)) {
      std::string e = r.response.is_object() ? r.response.value("error", "no reason given") : "no reason given";
      fail("saved " + config_.users_file + ", but l2tpvpnd did not reload it: " + e);
      return false;
    }
    running = true;
    return true;
  }

  void print_password(const std::string& name, const std::string& password) {
    env_.out << "password: " << password << "\n";
    env_.err << "(shown only now: it is not printed again; `l2tpvpnctl user passwd " << name << "` sets a new one)\n";
  }

  int user_add(const std::vector<std::string>& args) {
    int rc = 0;
    auto p = parse(args, 2, {{"--address", true}, {"--password-stdin"}}, kUserAddUsage, 1, 1, rc, "NAME");
    if (!p) return rc;
    ppp::UserEntry entry;
    entry.name = p->positional[0];
    if (auto ok = ppp::validate_user_name(entry.name); !ok)
      return usage_error(kUserAddUsage, "user add: user name " + ok.error().message);
    if (p->has("--address")) {
      auto a = ppp::parse_ipv4(p->options["--address"]);
      if (!a || a->value == 0)
        return usage_error(kUserAddUsage, "user add: --address must be a dotted-quad IPv4 address");
      entry.address = *a;
    }
    auto store = load_users();
    if (!store) return 1;
    if (store->find(entry.name)) return fail("user " + entry.name + " exists (in " + config_.users_file + ")");
    bool generated = false;
    auto pw = new_password(p->has("--password-stdin"), generated);
    if (!pw) return 1;
    entry.password = *pw;
    if (auto ok = store->add(entry); !ok) return fail(ok.error().to_string());
    if (entry.address) {
      // The daemon builds its pool with these reservations; refuse here what it would refuse on reload.
      auto pool = ppp::IpPool::create(ppp::IpPoolConfig{config_.pool.range, config_.pool.server_address,
                                                        config_.pool.exclude, store->reservations()});
      if (!pool) return fail("--address " + ppp::to_string(*entry.address) + ": " + pool.error().to_string());
    }
    if (!save_users(*store)) return 1;
    env_.out << "user " << entry.name << " added"
             << (entry.address ? " with static address " + ppp::to_string(*entry.address) : std::string()) << "\n";
    if (generated) print_password(entry.name, entry.password);
    bool running = false;
    return reload_users(running) ? 0 : 1;
  }

  int user_del(const std::vector<std::string>& args) {
    int rc = 0;
    auto p = parse(args, 2, {{"--disconnect"}}, kUserDelUsage, 1, 1, rc, "NAME");
    if (!p) return rc;
    const std::string& name = p->positional[0];
    auto store = load_users();
    if (!store) return 1;
    if (!store->find(name)) return fail("no user " + name + " in " + config_.users_file);
    if (auto ok = store->remove(name); !ok) return fail(ok.error().to_string());
    if (!save_users(*store)) return 1;
    env_.out << "user " << name << " removed\n";
    // Reload first, so that the user cannot authenticate again before the old sessions are gone.
    bool running = false;
    if (!reload_users(running)) return 1;
    if (!running) return 0;
    if (!p->has("--disconnect")) {
      env_.err << "note: sessions of " << name << " that are up stay up until they end; `l2tpvpnctl disconnect --user "
               << name << "` ends them now\n";
      return 0;
    }
    auto resp = call(json{{"cmd", "disconnect-user"}, {"user", name}});
    if (!resp) return 1;
    env_.out << "disconnected " << cell(*resp, "sessions") << " session(s) of user " << name << "\n";
    return 0;
  }

  int user_list(const std::vector<std::string>& args) {
    int rc = 0;
    auto p = parse(args, 2, {{"--json"}}, kUserListUsage, 0, 0, rc);
    if (!p) return rc;
    auto store = load_users();
    if (!store) return 1;
    if (p->has("--json")) {
      json users = json::array();
      for (const auto& name : store->names()) {
        const ppp::UserEntry* u = store->find(name);
        users.push_back(json{{"name", name}, {"address", u->address ? json(ppp::to_string(*u->address)) : json()}});
      }
      env_.out << json{{"users", users}}.dump(2) << "\n";
      return 0;
    }
    if (store->size() == 0) {
      env_.out << "no users in " << config_.users_file << "\n";
      return 0;
    }
    Table t({"USER", "STATIC ADDRESS"});
    for (const auto& name : store->names()) {
      const ppp::UserEntry* u = store->find(name);
      t.add({name, u->address ? ppp::to_string(*u->address) : "-"});
    }
    env_.out << t.render();
    return 0;
  }

  int user_passwd(const std::vector<std::string>& args) {
    int rc = 0;
    auto p = parse(args, 2, {{"--password-stdin"}}, kUserPasswdUsage, 1, 1, rc, "NAME");
    if (!p) return rc;
    const std::string& name = p->positional[0];
    auto store = load_users();
    if (!store) return 1;
    if (!store->find(name)) return fail("no user " + name + " in " + config_.users_file);
    bool generated = false;
    auto pw = new_password(p->has("--password-stdin"), generated);
    if (!pw) return 1;
    if (auto ok = store->set_password(name, *pw); !ok) return fail(ok.error().to_string());
    if (!save_users(*store)) return 1;
    env_.out << "password of " << name << " changed\n";
    if (generated) print_password(name, *pw);
    bool running = false;
    if (!reload_users(running)) return 1;
    if (running)
      env_.err << "note: sessions of " << name << " that are up keep running; `l2tpvpnctl disconnect --user " << name
               << "` ends them\n";
    return 0;
  }

  // ---- client-setup ----

  int client_setup(const std::vector<std::string>& args) {
    int rc = 0;
    auto p =
        parse(args, 1,
              {{"--user", true}, {"--os", true}, {"--server", true}, {"--name", true}, {"--show-password"}, {"--json"}},
              kClientSetupUsage, 0, 0, rc);
    if (!p) return rc;
    ClientSetupInput in;
    // Which systems, in a fixed order.
    std::set<std::string> wanted;
    std::string os_arg = p->has("--os") ? p->options["--os"] : "all";
    std::stringstream list(os_arg);
    for (std::string os; std::getline(list, os, ',');) {
      if (os == "all") {
        wanted.insert(kAllOses.begin(), kAllOses.end());
      } else if (std::find(kAllOses.begin(), kAllOses.end(), os) != kAllOses.end()) {
        wanted.insert(os);
      } else {
        return usage_error(kClientSetupUsage, "client-setup: --os: unknown system \"" + os +
                                                  "\" (windows, macos, ios, android, all; comma-separated)");
      }
    }
    if (wanted.empty()) return usage_error(kClientSetupUsage, "client-setup: --os is empty");
    for (const auto& os : kAllOses)
      if (wanted.count(os)) in.oses.push_back(os);
    if (p->has("--show-password") && !p->has("--user"))
      return usage_error(kClientSetupUsage, "client-setup: --show-password needs --user NAME");
    if (p->has("--name")) {
      in.connection_name = p->options["--name"];
      if (in.connection_name.empty() || std::any_of(in.connection_name.begin(), in.connection_name.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
          }))
        return usage_error(kClientSetupUsage, "client-setup: --name must be non-empty, without control characters");
    }

    // The address clients dial: what the admin says now, else the configuration, else the default route.
    if (p->has("--server") && !p->options["--server"].empty()) {
      in.server = p->options["--server"];
      in.server_source = "argument";
    } else if (!config_.public_address.empty()) {
      in.server = config_.public_address;
      in.server_source = "config";
    } else if (auto a = env_.default_route_address ? env_.default_route_address() : std::nullopt) {
      in.server = *a;
      in.server_source = "route";
    } else {
      return fail(
          "cannot tell which address clients dial (no default route): pass --server HOST or set "
          "[server] public_address in " +
          config_.path);
    }
    in.server_is_private = is_private_ipv4(in.server);

    // The pre-shared key: inline, or from the root-only file.
    if (!config_.ipsec.psk.empty()) {
      in.psk = config_.ipsec.psk;
    } else if (!config_.ipsec.psk_file.empty()) {
      auto text = os::read_regular_file(config_.ipsec.psk_file, 4096);
      if (!text) {
        std::string hint = text.error().error == EACCES ? " (it is root-only: run as root)" : "";
        return fail("cannot read the IPsec pre-shared key: " + text.error().to_string() + hint);
      }
      in.psk = strip_line_end(*text);
      if (in.psk.empty()) return fail("the IPsec pre-shared key file " + config_.ipsec.psk_file + " is empty");
    } else {
      return fail("no IPsec pre-shared key configured ([ipsec] psk or psk_file in " + config_.path + ")");
    }

    if (p->has("--user")) {
      const std::string& name = p->options["--user"];
      auto store = load_users();
      if (!store) return 1;
      const ppp::UserEntry* u = store->find(name);
      if (!u) return fail("no user " + name + " in " + config_.users_file + " (add it with `l2tpvpnctl user add`)");
      in.user = name;
      if (p->has("--show-password")) in.password = u->password;
    }
    in.mschap_v2 = config_.ppp.mschap_v2;
    in.legacy = config_.ipsec.legacy;
    in.ipsec_required = config_.ipsec.required;
    in.tunnel_secret = !config_.l2tp.secret.empty() && config_.l2tp.require_authentication;

    json setup = client_setup_json(in);
    env_.out << (p->has("--json") ? setup.dump(2) + "\n" : render_client_setup(setup));
    return 0;
  }

  CtlEnv& env_;
  DaemonConfig config_;
  std::optional<std::string> socket_override_;
};

std::optional<std::string> route_source_address() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(1701);
  ::inet_pton(AF_INET, "192.0.2.1", &dst.sin_addr);  // TEST-NET-1: routed like any public address; nothing is sent
  std::optional<std::string> out;
  sockaddr_in local{};
  socklen_t len = sizeof local;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 && local.sin_addr.s_addr != 0) {
    char buf[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, &local.sin_addr, buf, sizeof buf)) out = buf;
  }
  ::close(fd);
  return out;
}

}  // namespace

CtlEnv make_default_ctl_env(std::ostream& out, std::ostream& err, std::istream& in) {
  return CtlEnv{out,
                err,
                in,
                control_call,
                [](std::span<uint8_t> b) { return RAND_bytes(b.data(), static_cast<int>(b.size())) == 1; },
                route_source_address};
}

std::optional<std::string> generate_password(const std::function<bool(std::span<uint8_t>)>& random) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
  static_assert(kAlphabet.size() == 56);
  // Bytes below 224 = 4 * 56 map evenly onto the alphabet; the rest are thrown away.
  constexpr unsigned kLimit = 256 / kAlphabet.size() * kAlphabet.size();
  std::string out;
  uint8_t buf[64];
  for (int rounds = 0; out.size() < kGeneratedPasswordLength; ++rounds) {
    if (rounds > 100 || !random || !random(std::span<uint8_t>(buf))) return std::nullopt;
    for (uint8_t b : buf) {
      if (b >= kLimit) continue;
      out += kAlphabet[b % kAlphabet.size()];
      if (out.size() == kGeneratedPasswordLength) break;
    }
  }
  return out;
}

std::string render_sessions(const json& sessions) {
  if (!sessions.is_array() || sessions.empty()) return "no sessions\n";
  Table t({"TUNNEL", "SESSION", "USER", "ADDRESS", "PEER", "IFACE", "PATH", "STATE", "SINCE", "IN", "OUT", "IPSEC"});
  for (const auto& s : sessions) {
    t.add({cell(s, "tunnel"), cell(s, "session"), cell(s, "user"), cell(s, "address"), cell(s, "peer"),
           cell(s, "interface"), cell(s, "data_path"), cell(s, "state"), cell(s, "since"), human_bytes(s, "bytes_in"),
           human_bytes(s, "bytes_out"), ipsec_cell(s)});
  }
  return t.render();
}

std::string render_status(const json& status) {
  std::string out;
  const json srv = status.is_object() ? status.value("server", json::object()) : json::object();
  std::string uptime = "-";
  if (srv.is_object() && srv.contains("uptime_s") && srv["uptime_s"].is_number_integer())
    uptime = format_duration(srv["uptime_s"].get<int64_t>());
  out += "l2tpvpnd " + cell(srv, "version") + ", up " + uptime + ", L2TP on " + cell(srv, "l2tp_listen") + "\n";

  // IPsec (docs/status.md "ipsec"): one line, then the SAs; fields this version does not know as key=value.
  std::string sa_table;
  if (status.is_object() && status.contains("ipsec") && !status["ipsec"].is_null()) {
    const json& ip = status["ipsec"];
    std::string line = "IPsec: ";
    if (ip.is_object()) {
      line += "charon " + cell(ip, "charon");
      if (ip.contains("charon_pid") && ip["charon_pid"].is_number()) line += " (pid " + cell(ip, "charon_pid") + ")";
      line += ", VICI link " + cell(ip, "link");
      if (ip.contains("required") && ip["required"].is_boolean())
        line += ip["required"].get<bool>() ? ", required for L2TP" : ", not required for L2TP";
      std::vector<std::string> extra;
      json rest = ip;
      for (const char* k : {"charon", "charon_pid", "link", "required", "sas", "vici_socket"}) rest.erase(k);
      flatten(rest, "", extra);
      for (const auto& w : extra) line += ", " + w;
      const json sas = ip.value("sas", json::array());
      if (sas.is_array()) {
        line += ", " + std::to_string(sas.size()) + " SA(s)";
        if (!sas.empty()) {
          Table t({"REMOTE", "PORT", "NAT-T", "IKE SA", "CHILD SA", "IKE", "ESP", "IN", "OUT"});
          for (const auto& sa : sas)
            t.add({cell(sa, "remote"), cell(sa, "remote_port"), cell(sa, "nat"), cell(sa, "ike_sa"),
                   cell(sa, "child_sa"), cell(sa, "ike_proposal"), cell(sa, "esp_proposal"),
                   human_bytes(sa, "bytes_in"), human_bytes(sa, "bytes_out")});
          sa_table = "\nIPSEC SAS (" + std::to_string(sas.size()) + ")\n" + t.render();
        }
      }
    } else {
      line += ip.dump();
    }
    out += line + "\n";
  }

  // PPP (docs/status.md "ppp"): data path, pool use, pppd count, the counters that are not zero.
  if (status.is_object() && status.contains("ppp") && status["ppp"].is_object()) {
    const json& ppp = status["ppp"];
    const json pool = ppp.value("pool", json::object());
    std::string line = "PPP: data path " + cell(ppp, "data_path") + ", pool " + cell(pool, "range") + " (" +
                       cell(pool, "in_use") + " of " + cell(pool, "capacity") + " in use), pppd running " +
                       cell(ppp, "pppd_running");
    const json counters = ppp.value("counters", json::object());
    if (counters.is_object())
      for (auto it = counters.begin(); it != counters.end(); ++it)
        if (!(it->is_number() && it->get<double>() == 0))
          line += ", " + it.key() + "=" + cell(counters, it.key().c_str());
    out += line + "\n";
  }
  out += sa_table;

  const json l2tp = status.is_object() ? status.value("l2tp", json::object()) : json::object();
  const json tunnels = l2tp.is_object() ? l2tp.value("tunnels", json::array()) : json::array();
  out += "\nTUNNELS (" + std::to_string(tunnels.is_array() ? tunnels.size() : 0) + ")\n";
  if (!tunnels.is_array() || tunnels.empty()) {
    out += "no tunnels\n";
  } else {
    Table t({"TUNNEL", "PEER TUNNEL", "PEER", "HOST", "STATE", "SESSIONS", "RETRANSMISSIONS"});
    for (const auto& tu : tunnels) {
      std::string n = tu.is_object() && tu.contains("sessions") && tu["sessions"].is_array()
                          ? std::to_string(tu["sessions"].size())
                          : "-";
      t.add({cell(tu, "id"), cell(tu, "peer_id"), cell(tu, "peer"), cell(tu, "peer_host_name"), cell(tu, "state"), n,
             tu.is_object() ? cell(tu.value("control", json::object()), "retransmissions") : "-"});
    }
    out += t.render();
  }

  json sessions = status.is_object() && status.contains("sessions") && status["sessions"].is_array()
                      ? status["sessions"]
                      : sessions_from_tunnels(status);
  out += "\nSESSIONS (" + std::to_string(sessions.size()) + ")\n" + render_sessions(sessions);

  const json drops = l2tp.is_object() ? l2tp.value("drops", json::object()) : json::object();
  if (drops.is_object() && !drops.empty()) {
    std::string line;
    for (auto it = drops.begin(); it != drops.end(); ++it) line += " " + it.key() + "=" + cell(drops, it.key().c_str());
    out += "\ndropped:" + line + "\n";
  }
  return out;
}

std::string powershell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

json client_setup_json(const ClientSetupInput& in) {
  const std::string user = in.user ? *in.user : "<user name>";
  // In the steps: the password itself only with --show-password; the header line says where it comes from.
  const std::string password = in.password ? *in.password : "<the user's password>";
  const std::string password_hint =
      in.user ? "the one shown by `l2tpvpnctl user add` (`l2tpvpnctl user passwd " + *in.user + "` sets a new one)"
              : "the user's password (shown once by `l2tpvpnctl user add`)";
  json setup{{"server", in.server},
             {"server_source", in.server_source},
             {"vpn_type", kVpnType},
             {"psk", in.psk},
             {"user", in.user ? json(*in.user) : json()},
             {"password", in.password ? json(*in.password) : json()},
             {"password_hint", in.password ? json() : json(password_hint)},
             {"authentication", "MS-CHAP v2"},
             {"connection_name", in.connection_name}};
  json warnings = json::array();
  if (in.server_source == "route")
    warnings.push_back(in.server +
                       " is the address of this host's default route: if clients dial a name or a NAT's public "
                       "address, pass --server or set [server] public_address");
  if (in.server_is_private)
    warnings.push_back(
        in.server + " is a private address: only clients that reach it directly can use it" +
        (in.server_source == "argument" ? std::string() : " (others need the public address: --server)") +
        "; a NAT in front of this host must forward UDP 500 and 4500 to it");
  if (!in.mschap_v2)
    warnings.push_back("[ppp] auth does not allow mschap-v2, the only method the built-in clients use: add it");
  if (in.tunnel_secret)
    warnings.push_back(
        "[l2tp] secret is set with require_tunnel_auth: the built-in clients send no L2TP tunnel authentication "
        "and will be refused");
  if (!in.ipsec_required)
    warnings.push_back("ipsec.required = no: the server also answers L2TP without IPsec; the clients below use IPsec");
  setup["warnings"] = warnings;

  json clients = json::object();
  for (const auto& os : in.oses) {
    json c;
    if (os == "windows") {
      std::string ps = "Add-VpnConnection -Name " + powershell_quote(in.connection_name) + " -ServerAddress " +
                       powershell_quote(in.server) + " -TunnelType L2tp -L2tpPsk " + powershell_quote(in.psk) +
                       " -AuthenticationMethod MSChapv2 -EncryptionLevel Required -Force";
      c = json{{"title", "Windows 10 / 11"},
               {"steps",
                json::array(
                    {"Settings > Network & internet > VPN > Add VPN (Windows 10: Settings > Network & Internet > VPN > "
                     "Add a VPN connection)",
                     "VPN provider: Windows (built-in); Connection name: " + in.connection_name,
                     "Server name or address: " + in.server,
                     "VPN type: L2TP/IPsec with pre-shared key; Pre-shared key: " + in.psk,
                     "Type of sign-in info: User name and password; User name: " + user + "; Password: " + password,
                     "Or, instead of the dialog, in PowerShell (add -AllUserConnection in an elevated shell to make it "
                     "available to every account on the PC); Windows asks for the user name and password on the first "
                     "connect:"})},
               {"powershell", ps},
               {"nat_t_registry",
                {{"key", kNatTKey},
                 {"value", kNatTValue},
                 {"type", "REG_DWORD"},
                 {"data", 2},
                 {"command", std::string("reg add ") + kNatTKey + " /v " + kNatTValue + " /t REG_DWORD /d 2 /f"},
                 {"note",
                  "Windows refuses to set up IPsec with an L2TP/IPsec server that sits behind a NAT (a private "
                  "address reached through port forwarding or a cloud provider's 1:1 NAT): the connection fails "
                  "with error 809. Setting this value to 2 lifts that, also when the Windows PC is itself behind "
                  "a NAT, which is the usual case. Run the command once per PC in an elevated prompt, then reboot: "
                  "the IPsec policy agent reads the value only at start. With the server on a public address and "
                  "no NAT in front of it, the value is not needed."}}}};
      if (in.server_is_private) c["nat_t_registry"]["needed"] = true;  // we know this server is behind NAT
    } else if (os == "macos") {
      c = json{
          {"title", "macOS"},
          {"steps",
           json::array(
               {"System Settings > VPN > Add VPN Configuration > L2TP over IPSec",
                "Display name: " + in.connection_name + "; Server address: " + in.server + "; Account name: " + user,
                "User authentication: Password: " + password, "Machine authentication: Shared secret: " + in.psk,
                "Options: turn on \"Send all traffic over VPN connection\"",
                "macOS 12 and older: System Preferences > Network > + > Interface: VPN, VPN Type: L2TP over IPSec; "
                "the password and the shared secret are under Authentication Settings; Advanced > Options > "
                "\"Send all traffic over VPN connection\""})}};
    } else if (os == "ios") {
      c = json{{"title", "iOS / iPadOS"},
               {"steps",
                json::array(
                    {"Settings > General > VPN & Device Management > VPN > Add VPN Configuration",
                     "Type: L2TP; Description: " + in.connection_name + "; Server: " + in.server + "; Account: " + user,
                     "Password: " + password, "Secret: " + in.psk + " (the pre-shared key)", "Send All Traffic: on"})}};
    } else if (os == "android") {
      c = json{
          {"title", "Android 11 and older"},
          {"steps",
           json::array(
               {"Settings > Network & internet > VPN > + (the menu path varies by vendor)",
                "Name: " + in.connection_name + "; Type: L2TP/IPSec PSK; Server address: " + in.server,
                "L2TP secret: (not used, leave empty); IPSec identifier: (not used, leave empty); IPSec pre-shared "
                "key: " +
                    in.psk,
                "Save, tap the profile, enter Username: " + user + " and Password: " + password})},
          {"notes",
           json::array(
               {"Android 12 and later removed L2TP/IPsec (like every IKEv1 type) from the built-in VPN client; only "
                "IKEv2 remains there, which this server does not offer, so those devices cannot use the built-in "
                "client.",
                std::string("Android 11 and older propose only MODP1024 (a 1024-bit Diffie-Hellman group) in IKE: "
                            "the server accepts them only with ipsec.legacy = yes ([ipsec] legacy = yes in "
                            "l2tpvpnd.conf), which is currently ") +
                    (in.legacy ? "on." : "off. MODP1024 is weak; turn it on only for these devices.")})},
          {"legacy_required", true},
          {"legacy_enabled", in.legacy}};
    }
    clients[os] = c;
  }
  setup["clients"] = clients;
  return setup;
}

std::string render_client_setup(const json& setup) {
  std::string out = "L2TP/IPsec client settings\n\n";
  Table t({"Server address", cell(setup, "server")});
  t.add({"VPN type", cell(setup, "vpn_type")});
  t.add({"Pre-shared key", cell(setup, "psk")});
  t.add({"User name", setup.contains("user") && setup["user"].is_string() ? setup["user"].get<std::string>()
                                                                          : "the user's name (l2tpvpnctl user list)"});
  t.add({"Password", setup.contains("password") && setup["password"].is_string() ? setup["password"].get<std::string>()
                                                                                 : cell(setup, "password_hint")});
  t.add({"Authentication", cell(setup, "authentication")});
  std::string block = t.render();
  for (size_t pos = 0; pos < block.size();) {  // indent the key/value block
    size_t nl = block.find('\n', pos);
    out += "  " + block.substr(pos, nl - pos + 1);
    pos = nl + 1;
  }
  for (const auto& w : setup.value("warnings", json::array()))
    out += "\n" + wrap("warning: " + w.get<std::string>(), "", "         ");

  const json clients = setup.value("clients", json::object());
  for (const auto& os : kAllOses) {
    if (!clients.contains(os)) continue;
    const json& c = clients[os];
    out += "\n" + c.value("title", os) + "\n";
    int n = 0;
    for (const auto& s : c.value("steps", json::array()))
      out += wrap(std::to_string(++n) + ". " + s.get<std::string>(), "  ", "     ");
    if (c.contains("powershell")) out += "       " + c["powershell"].get<std::string>() + "\n";
    if (c.contains("nat_t_registry")) {
      const json& r = c["nat_t_registry"];
      std::string head = r.value("needed", false)
                             ? "NAT-T registry setting (likely needed: this server's address is private): "
                             : "NAT-T registry setting (for a server behind NAT): ";
      out += wrap(head + r.value("note", ""), "  ", "  ") + "       " + r.value("command", "") + "\n";
    }
    for (const auto& note : c.value("notes", json::array()))
      out += wrap("note: " + note.get<std::string>(), "  ", "        ");
  }
  return out;
}

int run_ctl(const std::vector<std::string>& args, CtlEnv& env) {
  std::string config_path = kDefaultConfigPath;
  bool config_given = false;
  std::optional<std::string> socket;
  size_t i = 0;
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      env.out << kUsage;
      return 0;
    }
    std::string name = a.substr(0, a.find('='));
    bool inline_value = name.size() < a.size();
    if (name != "-c" && name != "--config" && name != "-s" && name != "--socket") {
      env.err << "l2tpvpnctl: unknown option " << name << "\n\n" << kUsage;
      return 2;
    }
    std::string value;
    if (inline_value) {
      value = a.substr(name.size() + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      env.err << "l2tpvpnctl: " << name << " needs a value\n\n" << kUsage;
      return 2;
    }
    if (value.empty()) {
      env.err << "l2tpvpnctl: " << name << " needs a value\n\n" << kUsage;
      return 2;
    }
    if (name == "-c" || name == "--config") {
      config_path = value;
      config_given = true;
    } else {
      socket = value;
    }
  }
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (rest.empty()) {
    env.err << "l2tpvpnctl: missing command\n\n" << kUsage;
    return 2;
  }
  if (rest[0] == "help") {
    env.out << kUsage;
    return 0;
  }

  // The configuration says where the users file, the PSK and the socket are. The default file may be missing
  // (built-in defaults then); a file named with -c must exist.
  struct stat st {};
  Result<DaemonConfig, ConfigError> config = [&]() -> Result<DaemonConfig, ConfigError> {
    if (!config_given && ::stat(config_path.c_str(), &st) != 0 && errno == ENOENT) {
      std::istringstream empty;
      return parse_config(empty, config_path);
    }
    return load_config_file(config_path);
  }();
  if (!config) {
    env.err << "l2tpvpnctl: " << config.error().to_string() << "\n";
    return 1;
  }
  Ctl ctl(env, std::move(*config), std::move(socket));
  return ctl.dispatch(rest);
}

}  // namespace l2tpvpn
