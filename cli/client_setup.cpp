// client-setup's content: the per-OS steps and notes for the built-in L2TP/IPsec clients of Windows, macOS, iOS
// and Android, the configuration warnings, and the text form of it all. Pure.
#include "cli/client_setup.hpp"

#include "cli/render.hpp"
#include "ppp/ipv4.hpp"

namespace l2tpvpn::cli {

using nlohmann::json;

namespace {

constexpr const char* kVpnType = "L2TP over IPsec with pre-shared key";
constexpr const char* kNatTKey = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent";
constexpr const char* kNatTValue = "AssumeUDPEncapsulationContextOnSendRule";

}  // namespace

bool is_private_ipv4(const std::string& host) {
  auto a = ppp::parse_ipv4(host);
  if (!a) return false;
  uint32_t v = a->value;
  auto in = [v](uint32_t net, int prefix) { return (v >> (32 - prefix)) == (net >> (32 - prefix)); };
  return in(0x0a000000, 8) || in(0xac100000, 12) || in(0xc0a80000, 16) || in(0x64400000, 10) || in(0x7f000000, 8) ||
         in(0xa9fe0000, 16);
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
  for (std::string_view os_name : kClientOses) {
    const std::string os(os_name);
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

}  // namespace l2tpvpn::cli
