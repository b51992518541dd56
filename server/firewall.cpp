#include "server/firewall.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <sstream>

namespace l2tpvpn {
namespace {

constexpr const char* kInput = "L2TPVPN-INPUT";
constexpr const char* kForward = "L2TPVPN-FORWARD";
constexpr const char* kOutput = "L2TPVPN-OUTPUT";
constexpr const char* kPost = "L2TPVPN-POSTROUTING";
constexpr const char* kMangle = "L2TPVPN-MSS";

bool valid_cidr(const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  in_addr a{};
  if (inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1) return false;
  const std::string bits = cidr.substr(slash + 1);
  if (bits.empty() || bits.size() > 2 || bits.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoi(bits) <= 32;
}

bool valid_ifname(const std::string& n) {
  if (n.empty() || n.size() > 15) return false;  // IFNAMSIZ - 1
  for (char c : n)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

std::string iptables_filter(const FirewallConfig& c) {
  std::ostringstream o;
  const std::string port = std::to_string(c.l2tp_port);
  o << "*filter\n:" << kInput << " - [0:0]\n:" << kForward << " - [0:0]\n:" << kOutput << " - [0:0]\n";
  o << "-F " << kInput << "\n-F " << kForward << "\n-F " << kOutput << "\n";
  if (c.open_ike_ports) {
    o << "-A " << kInput << " -p udp --dport 500 -j ACCEPT\n";
    o << "-A " << kInput << " -p udp --dport 4500 -j ACCEPT\n";
    o << "-A " << kInput << " -p esp -j ACCEPT\n";
  }
  if (c.require_ipsec) {
    o << "-A " << kInput << " -p udp --dport " << port << " -m policy --dir in --pol ipsec --proto esp -j ACCEPT\n";
    o << "-A " << kInput << " -p udp --dport " << port << " -j DROP\n";
    // Outbound: our L2TP leaves only inside ESP. Per-peer transport policies protect it while charon's SAs
    // exist; when they vanish (charon killed, its SAs and policies purged) a live kernel tunnel would go on
    // sending PPP as plain UDP from the L2TP port. The route of a packet charon protects carries an xfrm
    // bundle (policy match "out"): without one, it is dropped.
    o << "-A " << kOutput << " -p udp --sport " << port << " -m policy --dir out --pol none -j DROP\n";
  } else {
    o << "-A " << kInput << " -p udp --dport " << port << " -j ACCEPT\n";
  }
  const std::string wan_out = c.wan_interface.empty() ? "! -o ppp+" : "-o " + c.wan_interface;
  const std::string wan_in = c.wan_interface.empty() ? "! -i ppp+" : "-i " + c.wan_interface;
  o << "-A " << kForward << " -i ppp+ " << wan_out << " -s " << c.pool_cidr << " -j ACCEPT\n";
  o << "-A " << kForward << " " << wan_in << " -o ppp+ -d " << c.pool_cidr
    << " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";
  if (c.client_to_client)
    o << "-A " << kForward << " -i ppp+ -o ppp+ -s " << c.pool_cidr << " -d " << c.pool_cidr << " -j ACCEPT\n";
  o << "COMMIT\n";
  return o.str();
}

std::string iptables_nat(const FirewallConfig& c) {
  std::ostringstream o;
  o << "*nat\n:" << kPost << " - [0:0]\n-F " << kPost << "\n";
  const std::string wan_out = c.wan_interface.empty() ? "! -o ppp+" : "-o " + c.wan_interface;
  o << "-A " << kPost << " -s " << c.pool_cidr << " " << wan_out << " -j MASQUERADE\n";
  o << "COMMIT\n";
  return o.str();
}

std::string iptables_mangle(const FirewallConfig&) {
  std::ostringstream o;
  o << "*mangle\n:" << kMangle << " - [0:0]\n-F " << kMangle << "\n";
  o << "-A " << kMangle << " -i ppp+ -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n";
  o << "-A " << kMangle << " -o ppp+ -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n";
  o << "COMMIT\n";
  return o.str();
}

std::string iptables_remove(const std::string& table, std::initializer_list<const char*> chains) {
  std::ostringstream o;
  o << "*" << table << "\n";
  for (const char* ch : chains) o << ":" << ch << " - [0:0]\n";  // declaring flushes it
  for (const char* ch : chains) o << "-X " << ch << "\n";
  o << "COMMIT\n";
  return o.str();
}

constexpr const char* kDataPortMap = "l2tp_data_port";
constexpr const char* kDataZoneMap = "l2tp_data_zone";
constexpr const char* kDataPortSet = "l2tp_data_ports";

// Marks as nft prints them back in maps: hexadecimal.
std::string hex_mark(uint32_t mark) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%x", mark);
  return b;
}

// The chains that move each marked SA's L2TP data to its own port and conntrack zone (see firewall.hpp).
// `@th,64,1 0`: the first bit of the UDP payload, L2TP's T bit, is 0 (a data message; RFC 2661 §3.1).
void nft_data_port_chains(std::ostringstream& o, const std::string& port) {
  const std::string data = "meta mark != 0 @th,64,1 0 counter ";
  // Decrypted data to the L2TP port, of any mark: a mark without an element finds no zone and no port (the map
  // lookups fail, the rules do nothing), so its data stays on the L2TP port for the daemon's listener.
  const std::string inbound = "udp dport " + port + " meta secpath exists " + data;
  o << "  chain data_zone_in {\n    type filter hook prerouting priority raw; policy accept;\n";
  o << "    " << inbound << "ct zone set meta mark map @" << kDataZoneMap << "\n  }\n";
  // Only the tunnel sockets on data ports: what the listener sends from the L2TP port stays in zone 0, as the
  // control messages it belongs with.
  o << "  chain data_zone_out {\n    type filter hook output priority raw; policy accept;\n";
  o << "    udp sport @" << kDataPortSet << " " << data << "ct zone set meta mark map @" << kDataZoneMap << "\n  }\n";
  o << "  chain data_dnat {\n    type nat hook prerouting priority dstnat; policy accept;\n";
  o << "    " << inbound << "dnat ip to ip daddr : meta mark map @" << kDataPortMap << "\n  }\n";
  // A tunnel socket sending before its client (no conntrack entry yet) would leave from its data port, which
  // charon's policy (source port = the L2TP port) does not cover, and the client's reply would clash with that
  // entry. Leaving from the L2TP port makes the entry the mirror of an inbound one. Source NAT changing the port
  // re-runs the xfrm lookup, so the datagram then leaves through the mark's SA. Disjoint from the masquerade chain
  // (client pool sources only), so the two need no order between them.
  o << "  chain data_snat {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  o << "    udp sport @" << kDataPortSet << " " << data << "snat ip to ip saddr : " << port << "\n  }\n";
  // The output chain's check runs before NAT, when a tunnel socket's datagram still has its data port; this one
  // sees the final source port, after source NAT (srcnat = 100): L2TP leaves only inside ESP.
  o << "  chain post_nat {\n    type filter hook postrouting priority 300; policy accept;\n";
  o << "    udp sport " << port << " rt ipsec missing counter drop\n";
  o << "    udp sport @" << kDataPortSet << " rt ipsec missing counter drop\n  }\n";
}

std::string nft_script(const FirewallConfig& c) {
  std::ostringstream o;
  const std::string port = std::to_string(c.l2tp_port);
  const std::string wan_out = c.wan_interface.empty() ? "oifname != \"ppp*\"" : "oifname \"" + c.wan_interface + "\"";
  const std::string wan_in = c.wan_interface.empty() ? "iifname != \"ppp*\"" : "iifname \"" + c.wan_interface + "\"";
  // "add table" + "delete table" + definition makes the script idempotent: a leftover table is replaced whole.
  o << "add table ip l2tpvpn\ndelete table ip l2tpvpn\ntable ip l2tpvpn {\n";
  if (c.data_ports) {
    o << "  map " << kDataPortMap << " { typeof meta mark : udp dport; }\n";
    o << "  map " << kDataZoneMap << " { typeof meta mark : ct zone; }\n";
    o << "  set " << kDataPortSet << " { typeof udp dport; }\n";
  }
  o << "  chain input {\n    type filter hook input priority filter; policy accept;\n";
  // A data port's tunnel socket is connected to the client's address and port: plaintext spoofed from there must
  // not reach it (the dnat below only moves what was decrypted).
  if (c.data_ports) o << "    udp dport @" << kDataPortSet << " meta secpath missing counter drop\n";
  if (c.require_ipsec) {
    // Counted like the iptables backends' rules (iptables -v): how much L2TP arrived through IPsec.
    o << "    udp dport " << port << " meta secpath exists counter accept\n";
    o << "    udp dport " << port << " counter drop\n";
  }
  o << "  }\n";
  if (c.require_ipsec) {
    // Outbound L2TP only inside ESP (see iptables_filter): `rt ipsec missing` is a route without an xfrm bundle.
    o << "  chain output {\n    type filter hook output priority filter; policy accept;\n";
    o << "    udp sport " << port << " rt ipsec missing counter drop\n  }\n";
  }
  if (c.data_ports) nft_data_port_chains(o, port);
  o << "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
  o << "    iifname \"ppp*\" " << wan_out << " ip saddr " << c.pool_cidr << " accept\n";
  o << "    " << wan_in << " oifname \"ppp*\" ip daddr " << c.pool_cidr << " ct state established,related accept\n";
  if (c.client_to_client)
    o << "    iifname \"ppp*\" oifname \"ppp*\" ip saddr " << c.pool_cidr << " ip daddr " << c.pool_cidr << " accept\n";
  o << "  }\n";
  if (c.clamp_mss) {
    o << "  chain mss {\n    type filter hook forward priority mangle; policy accept;\n";
    o << "    iifname \"ppp*\" tcp flags syn / syn,rst tcp option maxseg size set rt mtu\n";
    o << "    oifname \"ppp*\" tcp flags syn / syn,rst tcp option maxseg size set rt mtu\n  }\n";
  }
  if (c.masquerade) {
    o << "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
    o << "    ip saddr " << c.pool_cidr << " " << wan_out << " masquerade\n  }\n";
  }
  o << "}\n";
  return o.str();
}

}  // namespace

std::string_view to_string(FirewallBackend b) {
  switch (b) {
    case FirewallBackend::kNone: return "none";
    case FirewallBackend::kIptablesLegacy: return "iptables-legacy";
    case FirewallBackend::kIptablesNft: return "iptables-nft";
    case FirewallBackend::kNft: return "nft";
  }
  return "?";
}

bool parse_firewall_backend(std::string_view name, FirewallBackend& out) {
  for (auto b : {FirewallBackend::kNone, FirewallBackend::kIptablesLegacy, FirewallBackend::kIptablesNft,
                 FirewallBackend::kNft})
    if (to_string(b) == name) {
      out = b;
      return true;
    }
  return false;
}

Result<FirewallBackend, FirewallPlanError> choose_firewall_backend(std::string_view configured,
                                                                   const FirewallProbe& probe, bool ipsec_required) {
  if (configured != "auto") {
    FirewallBackend b{};
    if (!parse_firewall_backend(configured, b))
      return unexpected(FirewallPlanError{"backend", "unknown backend '" + std::string(configured) + "'"});
    return b;
  }
  const std::pair<FirewallBackend, ToolProbe> order[] = {{FirewallBackend::kNft, probe.nft},
                                                         {FirewallBackend::kIptablesNft, probe.iptables_nft},
                                                         {FirewallBackend::kIptablesLegacy, probe.iptables_legacy}};
  for (const auto& [backend, found] : order)
    if (found == ToolProbe::kWorks) return backend;
  if (!ipsec_required) return FirewallBackend::kNone;
  std::string tools;
  for (const auto& [backend, found] : order) {
    tools += tools.empty() ? "" : ", ";
    tools += std::string(to_string(backend)) + ": " +
             (found == ToolProbe::kMissing ? "not found on PATH" : "found, but listing its rules failed");
  }
  return unexpected(FirewallPlanError{
      "backend", "no working backend found (" + tools +
                     "), and [ipsec] required = yes needs one to keep plaintext L2TP out: install nftables or "
                     "iptables, or set [firewall] manage = false if a firewall of your own does it"});
}

bool supports_data_ports(FirewallBackend b) { return b == FirewallBackend::kNft; }

std::string nft_map_data_port_script(uint32_t mark, uint16_t port) {
  const std::string m = hex_mark(mark), p = std::to_string(port);
  return "add element ip l2tpvpn " + std::string(kDataPortMap) + " { " + m + " : " + p + " }\n" +
         "add element ip l2tpvpn " + kDataZoneMap + " { " + m + " : " + p + " }\n" +
         "add element ip l2tpvpn " + kDataPortSet + " { " + p + " }\n";
}

std::string nft_unmap_data_port_script(uint32_t mark, uint16_t port) {
  const std::string m = hex_mark(mark);
  return "delete element ip l2tpvpn " + std::string(kDataPortMap) + " { " + m + " }\n" +
         "delete element ip l2tpvpn " + kDataZoneMap + " { " + m + " }\n" +
         "delete element ip l2tpvpn " + kDataPortSet + " { " + std::to_string(port) + " }\n";
}

Result<FirewallPlan, FirewallPlanError> build_plan(FirewallBackend backend, const FirewallConfig& c) {
  if (!valid_cidr(c.pool_cidr))
    return unexpected(FirewallPlanError{"pool_cidr", "not an IPv4 CIDR: '" + c.pool_cidr + "'"});
  if (!c.wan_interface.empty() && !valid_ifname(c.wan_interface))
    return unexpected(FirewallPlanError{"wan_interface", "not an interface name: '" + c.wan_interface + "'"});
  if (c.l2tp_port == 0) return unexpected(FirewallPlanError{"l2tp_port", "L2TP port 0"});
  if (c.data_ports && !supports_data_ports(backend))
    return unexpected(FirewallPlanError{
        "data_ports", "per-tunnel data ports need the nft backend, not " + std::string(to_string(backend))});
  if (c.data_ports && !c.require_ipsec)
    return unexpected(FirewallPlanError{
        "data_ports", "per-tunnel data ports follow IPsec SA marks: they need require_ipsec"});
  FirewallPlan p;
  p.backend = backend;
  p.data_ports = c.data_ports;
  switch (backend) {
    case FirewallBackend::kNone: break;
    case FirewallBackend::kNft:
      p.install.emplace_back("", nft_script(c));
      p.remove.emplace_back("", "add table ip l2tpvpn\ndelete table ip l2tpvpn\n");
      break;
    case FirewallBackend::kIptablesLegacy:
    case FirewallBackend::kIptablesNft:
      p.install.emplace_back("filter", iptables_filter(c));
      p.hooks.push_back({"filter", {"INPUT", "-j", kInput}});
      p.hooks.push_back({"filter", {"FORWARD", "-j", kForward}});
      p.hooks.push_back({"filter", {"OUTPUT", "-j", kOutput}});
      if (c.masquerade) {
        p.install.emplace_back("nat", iptables_nat(c));
        p.hooks.push_back({"nat", {"POSTROUTING", "-j", kPost}});
      }
      if (c.clamp_mss) {
        p.install.emplace_back("mangle", iptables_mangle(c));
        p.hooks.push_back({"mangle", {"FORWARD", "-j", kMangle}});
      }
      p.remove.emplace_back("filter", iptables_remove("filter", {kInput, kForward, kOutput}));
      if (c.masquerade) p.remove.emplace_back("nat", iptables_remove("nat", {kPost}));
      if (c.clamp_mss) p.remove.emplace_back("mangle", iptables_remove("mangle", {kMangle}));
      break;
  }
  return p;
}

}  // namespace l2tpvpn
