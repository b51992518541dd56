// l2tpvpnctl, the admin tool, as a library: l2tpvpnctl_main.cpp only builds a CtlEnv and calls run_ctl, so every
// command is tested with string streams, a temporary users file and a fake daemon.
//
//   l2tpvpnctl [-c CONFIG] [-s SOCKET] <command> ...
//     status [--json]                          server, IPsec, tunnels and sessions as tables (or the raw JSON)
//     sessions [--json]                        the sessions table
//     disconnect TUNNEL [SESSION]              end a tunnel (StopCCN) or one session (CDN)
//     disconnect --user NAME                   end every session of a user
//     user add NAME [--address A] [--password-stdin]
//     user del NAME [--disconnect]
//     user list [--json]
//     user passwd NAME [--password-stdin]
//     client-setup [--user NAME] [--os windows|macos|ios|android|all] [--server HOST] [--name NAME]
//                  [--show-password] [--json]
//
// Secrets: a password is never taken from argv (ps and shell history would show it): it is generated (printed
// once, on stdout) or read as one line from stdin. Passwords and the PSK are printed only by the commands whose
// job that is (user add/passwd, client-setup) and never to stderr.
//
// Users: the file is config.users_file (ppp::UserStore, mode 0600). After a change the daemon is asked to reload
// ({"cmd":"users-reload"}); a daemon that is not running picks the file up when it starts, so that is a note on
// stderr, not an error. Before saving, static addresses are checked against the configured pool (ppp::IpPool),
// so a reservation the daemon would refuse is refused here.
//
// Exit status: 0 done, 1 the operation failed (message on stderr), 2 usage error (usage on stderr).
//
// Thread-safety: run_ctl is re-entrant; everything it touches comes through CtlEnv.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "server/config.hpp"
#include "server/control_server.hpp"

namespace l2tpvpn {

inline constexpr const char* kDefaultConfigPath = "/etc/l2tpvpn/l2tpvpnd.conf";
// 20 characters from a 56-letter alphabet: log2(56) * 20 = 116 bits.
inline constexpr size_t kGeneratedPasswordLength = 20;

// Everything run_ctl needs from the outside world. The defaults (make_default_ctl_env) are the real ones.
struct CtlEnv {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;  // --password-stdin
  // Sends one request to the daemon's control socket.
  std::function<ControlReply(const std::string& socket, const nlohmann::json& request)> request;
  // Fills the span with cryptographically strong random bytes; false if the source failed.
  std::function<bool(std::span<uint8_t>)> random;
  // The source address of the default route (client-setup without a configured address); nullopt: no route.
  std::function<std::optional<std::string>()> default_route_address;
};

// The real environment: control_call, OpenSSL RAND_bytes, a UDP socket connected (nothing is sent) to a
// documentation address and asked for its local address.
CtlEnv make_default_ctl_env(std::ostream& out, std::ostream& err, std::istream& in);

// Runs one l2tpvpnctl command line (without the program name). Returns the exit status.
int run_ctl(const std::vector<std::string>& args, CtlEnv& env);

// Pure helpers, exposed for tests.

// A password of kGeneratedPasswordLength characters from letters and digits without the look-alikes
// (0 O o 1 l I), drawn without modulo bias; nullopt if `random` fails. validate_password accepts every result.
std::optional<std::string> generate_password(const std::function<bool(std::span<uint8_t>)>& random);

// The tables of `status` / `sessions` from the daemon's JSON (missing keys print as "-").
std::string render_status(const nlohmann::json& status);
std::string render_sessions(const nlohmann::json& sessions);

// What client-setup prints, as data: both the text and the --json output are made from it.
struct ClientSetupInput {
  std::string server;         // the address or name clients dial
  std::string server_source;  // "argument", "config" or "route"
  bool server_is_private = false;
  std::string psk;
  std::optional<std::string> user;
  std::optional<std::string> password;  // only with --show-password
  std::string connection_name = "l2tpvpn";
  std::vector<std::string> oses;  // subset of windows, macos, ios, android, in that order
  bool mschap_v2 = true;          // [ppp] auth allows MS-CHAP v2 (what every built-in client uses)
  bool legacy = false;            // [ipsec] legacy (MODP1024/3DES for Android <= 11)
  bool ipsec_required = true;
  bool tunnel_secret = false;  // [l2tp] secret set with require_tunnel_auth: built-in clients cannot connect
};
nlohmann::json client_setup_json(const ClientSetupInput& in);
std::string render_client_setup(const nlohmann::json& setup);

// Quotes `s` as a PowerShell single-quoted string ('it''s').
std::string powershell_quote(const std::string& s);

}  // namespace l2tpvpn
