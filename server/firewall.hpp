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
};

struct FirewallPlan {
  FirewallBackend backend;
  // For iptables backends: one iptables-restore input per table ("filter", "nat", "mangle"), applied with
  // --noflush; for nft: a single script in `install[0]`.
  std::vector<std::pair<std::string, std::string>> install;  // (table, text)
  std::vector<std::pair<std::string, std::string>> remove;   // (table, text)
  // Hook rules that jump from the built-in chains into ours (iptables only): "-I INPUT -j L2TPVPN-INPUT" etc.,
  // in (table, args) form; removal deletes the same rules with -D.
  std::vector<std::pair<std::string, std::vector<std::string>>> hooks;
};

// A FirewallConfig value the plan cannot use: which field, and a message naming the bad value.
struct FirewallPlanError {
  std::string field;  // "pool_cidr", "wan_interface", "l2tp_port"
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

// Validates the config (CIDR, interface name) and builds the plan.
Result<FirewallPlan, FirewallPlanError> build_plan(FirewallBackend backend, const FirewallConfig& config);

}  // namespace l2tpvpn
