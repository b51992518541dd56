// l2tpvpnd configuration: an INI file (etc/l2tpvpn/l2tpvpnd.conf) tokenised by Boost.Program_options and read
// through one table of keys (config_keys()): each key's type, range or allowed words, one-line doc, and how a
// running daemon takes a change (ReloadClass). The parser, --check-config, Daemon::reload() (through
// diff_config) and the test that the shipped file lists every key all read that table.
//
// Defaults are written once, as the member initialisers of the structs below (and of l2tp::L2tpConfig, whose
// defaults the l2tp module owns): those structs are what every module and test constructs, so a default kept
// anywhere else would be invisible to `PppSection{}`. The table derives each key's default text from a
// default-constructed DaemonConfig (ConfigKey::default_text), and a unit test checks the shipped file against it.
//
// Errors name the file, the line and the key, and stop start-up: no value that fails to parse is replaced by a
// default.
//
// Thread-safety: pure functions over value types; config_keys() is built once and then only read.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "server/l2tp/events.hpp"
#include "server/log.hpp"

namespace l2tpvpn {

// How PPP data moves: in the kernel (PPPoL2TP sockets handed to pppd) or through a pty the daemon frames.
enum class DataPathMode : uint8_t { kAuto, kKernel, kPty };
const char* to_string(DataPathMode m);

struct PppSection {
  std::string pppd_path = "/usr/sbin/pppd";
  DataPathMode data_path = DataPathMode::kAuto;  // auto: kernel when l2tp_ppp works, else pty
  // Authentication the peer must use: any of mschap-v2, mschap, chap, pap (at least one).
  bool mschap_v2 = true, mschap = false, chap = false, pap = false;
  std::vector<std::string> dns;  // ms-dns, at most 2
  int mtu = 1350, mru = 1350;    // see ppp/pppd_args.hpp for the ESP + NAT-T arithmetic
  int lcp_echo_interval = 30;
  int lcp_echo_failure = 4;
  bool proxyarp = false;
  std::string plugin = "l2tpvpn.so";  // our pppd plugin: bare name (pppd's plugin dir) or absolute path
  std::string server_name = "l2tpvpn";
  int stop_timeout_ms = 5000;  // SIGTERM, then SIGKILL after this long
  bool debug = false;
  // Per-peer limits (a peer is an address: clients behind one NAT share it). A session counts from its SessionUp
  // until its pppd has gone; it is "not authenticated" until our plugin reports the user, and meanwhile holds a
  // pool address and a pppd. A session past a limit gets a CDN, result 4 (temporary lack of resources).
  size_t max_sessions_per_peer = 256;
  size_t max_unauthenticated_per_peer = 16;
  size_t max_unauthenticated = 256;  // all peers together
  // On a users-file reload, end the sessions of users removed or given a new password.
  bool end_sessions_of_changed_users = true;
};

struct PoolSection {
  std::string range = "10.99.0.10-10.99.0.250";  // "A-B" or "A/prefix"
  std::string server_address = "10.99.0.1";
  std::vector<std::string> exclude;  // "A" or "A-B"
};

enum class CharonMode : uint8_t { kAuto, kSystem, kEmbedded };
const char* to_string(CharonMode m);

struct IpsecSection {
  // RFC 3193 step 3: answer an SCCRQ only from a peer holding a transport SA. Off: plain L2TP (no IPsec at all;
  // for tests and for networks where something else encrypts).
  bool required = true;
  CharonMode charon = CharonMode::kAuto;  // auto: a charon answering on system_vici_socket, else our own
  std::string system_vici_socket = "/var/run/charon.vici";
  std::string embedded_vici_socket = "/run/l2tpvpn/charon.vici";
  std::string charon_path = "/usr/lib/ipsec/charon";
  uint16_t ike_port = 500, nat_t_port = 4500;  // embedded charon only
  std::string psk;                              // inline pre-shared key, or:
  std::string psk_file = "/etc/l2tpvpn/ipsec.secret";  // read at start (must be 0600), used when psk is empty
  bool legacy = false;  // MODP1024 and 3DES (Android <= 11, old Windows/macOS)
  std::vector<std::string> ike_proposals;  // override the sets (strongSwan syntax)
  std::vector<std::string> esp_proposals;
};

struct FirewallSection {
  bool manage = true;
  std::string backend = "auto";  // auto | iptables-legacy | iptables-nft | nft | none
  std::string wan_interface;     // empty: masquerade out of any non-ppp interface
  bool masquerade = true;
  bool clamp_mss = true;
  bool client_to_client = false;
  bool ip_forward = true;  // turn net.ipv4.ip_forward on (restored on exit)
};

struct DaemonConfig {
  std::string path;  // where it was read from, for messages
  std::string listen_address = "0.0.0.0";
  uint16_t port = 1701;
  // Local ports for the data messages of clients behind one NAT: each IPsec SA with a kernel tunnel gets one
  // (the firewall moves the SA's data there; docs/same-nat.md).
  uint16_t data_port_min = 30000;
  uint16_t data_port_max = 31999;
  log::Level log_level = log::Level::kInfo;
  l2tp::L2tpConfig l2tp;
  // Monitoring endpoint (HTTP, JSON): loopback only unless configured otherwise.
  bool status_enabled = true;
  std::string status_listen = "127.0.0.1";
  uint16_t status_port = 8171;
  std::string status_token;  // bearer token; empty = none
  uint32_t status_max_connections = 64;  // open at once; past it: 503 and closed
  uint32_t status_idle_timeout_s = 3;    // a connection that sends nothing this long is closed
  // l2tpvpnctl's control socket (root only).
  std::string control_socket = "/run/l2tpvpn/control.sock";
  uint32_t control_max_connections = 16;  // open at once; past it: closed at once
  uint32_t control_idle_timeout_s = 30;   // a connection that sends nothing this long is closed
  // [server]: the name or address clients dial (client-setup; empty: l2tpvpnctl asks the routing table).
  std::string public_address;
  std::string runtime_dir = "/run/l2tpvpn";  // embedded charon's conf and socket, pppd secrets snapshot
  std::string users_file = "/etc/l2tpvpn/users";  // [users] file
  PppSection ppp;
  PoolSection pool;
  IpsecSection ipsec;
  FirewallSection firewall;
};

// The smallest CIDR block holding the pool's range and its server address ("10.99.0.0/24" for the defaults):
// what the firewall masquerades and forwards. Assumes a validated PoolSection.
std::string pool_cidr(const PoolSection& pool);

struct ConfigError {
  std::string file;
  int line = 0;  // 0: not tied to a line (e.g. the file cannot be opened)
  std::string key;
  std::string message;
  std::string to_string() const;  // "FILE:LINE: KEY: MESSAGE"
};

// How a running daemon takes a changed key on SIGHUP (Daemon::reload()).
enum class ReloadClass : uint8_t {
  kLive,         // applied at once, without dropping a session
  kNewSessions,  // applies to tunnels and sessions started after the reload; running ones keep the old value
  kRestart,      // needs a restart: the running value is kept and the change is logged by key
};
const char* to_string(ReloadClass r);

enum class ValueType : uint8_t { kBool, kInteger, kString, kPath, kList, kEnum, kIpv4 };
const char* to_string(ValueType t);

// One key of the file. `set` and `get` bind it to its DaemonConfig field(s): `get` spells the value as the file
// would (booleans true/false, lists "a, b", enums by word), so comparing `get` of two configs tells whether the
// key differs, and `set(get(a))` copies it.
struct ConfigKey {
  std::string_view key;  // "section.name"
  ValueType type = ValueType::kString;
  ReloadClass reload = ReloadClass::kRestart;
  std::string_view doc;                   // one line
  int64_t min = 0, max = 0;               // kInteger: the inclusive range
  std::vector<std::string_view> allowed;  // kEnum: the accepted words; kList: the accepted items (empty: any)
  // Reads the value text into `out`. Errors: the message of the ConfigError (the caller adds file, line, key).
  std::function<std::optional<std::string>(std::string_view text, DaemonConfig& out)> set;
  std::function<std::string(const DaemonConfig&)> get;
  // The value is a secret (ipsec.psk, l2tp.secret, status.token): a file that sets it inline must be private
  // (server/config_file).
  bool secret = false;

  std::string default_text() const;  // get(DaemonConfig{})
};

// Every key the parser accepts, in the order of the shipped file.
const std::vector<ConfigKey>& config_keys();
const ConfigKey* find_config_key(std::string_view key);  // nullptr: no such key

// A key whose value differs between two configurations, and how a reload takes it.
struct ConfigChange {
  std::string_view key;
  ReloadClass reload;
  bool operator==(const ConfigChange&) const = default;
};
// Every key that differs, in table order. Pure: Daemon::reload() applies or reports each one.
std::vector<ConfigChange> diff_config(const DaemonConfig& running, const DaemonConfig& fresh);
// Copies one key's value from `from` to `to`. Unknown key: nothing happens.
void copy_config_key(std::string_view key, const DaemonConfig& from, DaemonConfig& to);

// What a reload does with a freshly read file, decided key by key from the table.
struct ReloadPlan {
  DaemonConfig next;                        // the running config with every applicable change copied in
  std::vector<ConfigChange> applied;        // kLive and kNewSessions keys that changed
  std::vector<ConfigChange> needs_restart;  // kRestart keys that changed: `next` keeps their running value
};
ReloadPlan plan_reload(const DaemonConfig& running, const DaemonConfig& fresh);

// Parses a configuration text. `name` is used in error messages. (Reading the file: server/config_file.)
Result<DaemonConfig, ConfigError> parse_config(std::istream& in, const std::string& name);

// The secret keys (ConfigKey::secret) `config` sets to a non-empty value, in table order.
std::vector<std::string_view> inline_secret_keys(const DaemonConfig& config);
// The line of `text` that sets `key` ("section.name") first; 0 if none does.
int config_key_line(const std::string& text, std::string_view key);

}  // namespace l2tpvpn
