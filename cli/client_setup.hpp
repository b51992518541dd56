// What `l2tpvpnctl client-setup` tells an administrator to enter on each client system: the settings, the steps
// per OS (Windows, macOS, iOS, Android), the Windows PowerShell line and NAT-T registry value, and warnings about
// the configuration. One JSON document (client_setup_json) is the data; the text (render_client_setup) and the
// --json output are both made from it, so they cannot disagree. Pure: values in, strings out.
//
// Thread-safety: pure functions; nothing shared.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace l2tpvpn::cli {

// The systems client-setup knows, in the order they are shown.
inline constexpr std::array<std::string_view, 4> kClientOses = {"windows", "macos", "ios", "android"};

struct ClientSetupInput {
  std::string server;         // the address or name clients dial
  std::string server_source;  // "argument", "config" or "route"
  bool server_is_private = false;
  std::string psk;
  std::optional<std::string> user;
  std::optional<std::string> password;  // only with --show-password
  std::string connection_name = "l2tpvpn";
  std::vector<std::string> oses;  // subset of kClientOses, in that order
  bool mschap_v2 = true;          // [ppp] auth allows MS-CHAP v2 (what every built-in client uses)
  bool legacy = false;            // [ipsec] legacy (MODP1024/3DES for Android <= 11)
  bool ipsec_required = true;
  bool tunnel_secret = false;  // [l2tp] secret set with require_tunnel_auth: built-in clients cannot connect
};

// The document: server, server_source, vpn_type, psk, user, password (null unless given), password_hint,
// authentication, connection_name, warnings[], clients{os: {title, steps[], ...}}.
nlohmann::json client_setup_json(const ClientSetupInput& in);
// The text shown without --json, from a document made by client_setup_json.
std::string render_client_setup(const nlohmann::json& setup);

// Quotes `s` as a PowerShell single-quoted string ('it''s').
std::string powershell_quote(const std::string& s);
// A dotted-quad address in a private, shared (100.64/10), loopback or link-local range; false for names.
bool is_private_ipv4(const std::string& host);

}  // namespace l2tpvpn::cli
