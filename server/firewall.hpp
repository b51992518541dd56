// Firewall and routing rules l2tpvpnd installs, and removes on exit (issue: RFC 3193 step 3 needs a packet
// filter: per-peer transport policies do NOT stop a host with no SA from speaking plaintext L2TP to the LNS).
//
// Pure: build_plan() turns a FirewallConfig into the text a backend loads atomically — `iptables-restore
// --noflush` input (iptables-legacy and iptables-nft) or an `nft -f` script — and the text that removes it again.
// Every rule lives in chains/tables named l2tpvpn so removal never touches anyone else's rules.
//
//   input:   udp/500, udp/4500, ESP accepted; udp/1701 accepted only when it arrived through IPsec (policy
//            match / meta secpath), every other udp/1701 dropped and counted
//   output:  UDP from the L2TP port leaves only with an IPsec policy on its route (policy match / rt ipsec);
//            without one (e.g. charon died and its SAs and policies were purged while kernel tunnels still
//            send) it is dropped and counted, so plaintext L2TP/PPP never reaches the wire
//   forward: client pool <-> WAN (replies only inbound), optional client-to-client
//   nat:     client pool masqueraded out of the WAN interface
//   mangle:  TCP MSS clamped to the path MTU on forwarded SYNs (PPP over L2TP over ESP has a small MTU)
//
// Data ports (nft only, FirewallConfig::data_ports): each L2TP CHILD_SA has a mark of its own (charon's mark_in/out
// = %unique), carried by every packet it decrypted, and a packet sent with that mark leaves through it. Several
// clients behind one NAT all reach the server as the same NATpub:1701 -> server:1701, which the kernel's L2TP
// data path (one connected UDP socket per tunnel) cannot tell apart. So the data messages (T bit 0) of each mark
// that has a kernel tunnel are moved to a local port of their own, in a conntrack zone of their own:
//   maps:    l2tp_data_port (mark -> port), l2tp_data_zone (mark -> conntrack zone, = the port: unique while the
//            mark lives), set l2tp_data_ports (the ports); filled per tunnel by nft_map_data_port_script()
//   raw:     decrypted marked data to the L2TP port, and data our tunnel sockets send from a data port, get the
//            mark's zone, so the identical tuples of two clients never meet in conntrack
//   nat:     decrypted marked data to the L2TP port is sent to the mark's port (dnat); data a tunnel socket sends
//            first leaves from the L2TP port (snat), so the entry it creates is the mirror of an inbound one and
//            charon's policy (source port = the L2TP port) encrypts it
//   input:   a data port accepts only what arrived through IPsec
//   after source NAT: nothing leaves from the L2TP port or a data port without an IPsec policy on its route
// Control messages (T bit 1), and data of a mark without a map element, stay on the L2TP port, where the
// daemon's listener reads them.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace l2tpvpn {

enum class FirewallBackend { kNone, kIptablesLegacy, kIptablesNft, kNft };
std::string_view to_string(FirewallBackend b);
bool parse_firewall_backend(std::string_view name, FirewallBackend& out);  // also "auto" is handled by the caller

struct FirewallConfig {
  std::string pool_cidr = "10.99.0.0/24";  // client addresses
  std::string wan_interface;               // empty: masquerade out of any interface but ppp*
  uint16_t l2tp_port = 1701;
  bool require_ipsec = true;               // drop udp/1701 that did not come, or would not leave, through IPsec
  bool open_ike_ports = true;              // accept udp/500, udp/4500 and ESP
  bool masquerade = true;
  bool client_to_client = false;
  bool clamp_mss = true;
  // Per-mark data ports (see the top of this file). Needs the nft backend (supports_data_ports) and
  // require_ipsec; build_plan refuses it otherwise.
  bool data_ports = false;
};

// Whether a backend can install the data-port rules (only nft has maps feeding NAT and conntrack zones). A daemon
// whose backend cannot keeps every tunnel's data on the L2TP port.
bool supports_data_ports(FirewallBackend b);

struct FirewallPlan {
  FirewallBackend backend;
  // For iptables backends: one iptables-restore input per table ("filter", "nat", "mangle"), applied with
  // --noflush; for nft: a single script in `install[0]`.
  std::vector<std::pair<std::string, std::string>> install;  // (table, text)
  std::vector<std::pair<std::string, std::string>> remove;   // (table, text)
  // Hook rules that jump from the built-in chains into ours (iptables only): "-I INPUT -j L2TPVPN-INPUT" etc.,
  // in (table, args) form; removal deletes the same rules with -D.
  std::vector<std::pair<std::string, std::vector<std::string>>> hooks;
  // The plan has the data-port maps (nft only): elements may be added with nft_map_data_port_script().
  bool data_ports = false;
};

// A FirewallConfig value the plan cannot use: which field, and a message naming the bad value.
struct FirewallPlanError {
  std::string field;  // "pool_cidr", "wan_interface", "l2tp_port", "data_ports"
  std::string message;
  std::string to_string() const { return field + ": " + message; }
};

// What probing found for one backend's tool (server/firewall_manager probes; the choice below is pure).
enum class ToolProbe : uint8_t {
  kMissing,  // not on PATH
  kFailed,   // on PATH, but listing the rules failed (no kernel support, no permission)
  kWorks,
};
struct FirewallProbe {
  ToolProbe nft = ToolProbe::kMissing;
  ToolProbe iptables_nft = ToolProbe::kMissing;
  ToolProbe iptables_legacy = ToolProbe::kMissing;
};

// The backend start-up uses, from `[firewall] backend` (`configured`: "auto", "none" or a backend name), what
// probing found (read only for "auto") and `[ipsec] required`. "auto" takes the first tool that works, in the
// order nft, iptables-nft, iptables-legacy. kNone means no rules are installed: "none" (a firewall of the
// administrator's own), or "auto" finding nothing while IPsec is not required (the caller warns). Errors
// (field "backend"): "auto" finding nothing while IPsec is required — only the firewall keeps plaintext udp/1701
// off the host, so start-up must stop; the message names each tool and what is wrong with it — and an unknown
// backend name.
Result<FirewallBackend, FirewallPlanError> choose_firewall_backend(std::string_view configured,
                                                                   const FirewallProbe& probe, bool ipsec_required);

// Validates the config (CIDR, interface name, port; data_ports only with nft and require_ipsec) and builds the
// plan.
Result<FirewallPlan, FirewallPlanError> build_plan(FirewallBackend backend, const FirewallConfig& config);

// `nft -f` scripts for a plan with data_ports: send the data messages of `mark` to local UDP `port` (and conntrack
// zone `port`), and stop doing so. The delete script names the port too, because the set of data ports is keyed by
// it. Each is one transaction: all three structures change together or not at all. Loading the add script for a
// mark already mapped to another port fails ("File exists"; the caller deletes first), and the delete script for
// a mark not mapped fails ("No such file or directory").
std::string nft_map_data_port_script(uint32_t mark, uint16_t port);
std::string nft_unmap_data_port_script(uint32_t mark, uint16_t port);

}  // namespace l2tpvpn
