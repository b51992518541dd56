// Applies and removes a FirewallPlan with the system's tools, and turns on IPv4 forwarding (restoring the old
// value on removal). Backend "auto" prefers nft when it works, then iptables-nft, then iptables-legacy (the UML
// test kernel only has the latter).
//
// Thread-safety: none; used from the daemon thread at start-up, reload and exit.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "server/firewall.hpp"
#include "server/setup_error.hpp"

namespace l2tpvpn {

// Probes each backend's tool: on PATH (os::have_program), and whether it can list the rules on this kernel.
FirewallProbe probe_firewall_tools();

class FirewallManager {
 public:
  // Installs the plan (first removing any leftover of ours, e.g. after a crash). Errors: the tool's output.
  Status<SetupError> install(const FirewallPlan& plan, bool enable_forwarding);
  // Removes what install() added. Safe to call twice, and on a plan that was never installed.
  void remove();
  bool installed() const { return plan_.has_value(); }
  // Sends the L2TP data messages of IPsec SA mark `mark` to local UDP `port` (its tunnel socket's), see
  // server/firewall.hpp. Call before the tunnel's data can arrive. A mark already mapped to another port is moved
  // in the same transaction; mapping it again to the same port changes nothing. Errors: no installed plan with
  // data ports, mark or port 0, the port already mapped to another mark, or nft failing (its output).
  Status<SetupError> map_data_port(uint32_t mark, uint16_t port);
  // Stops doing so: the mark's data stays on the L2TP port again. A mark that is not mapped changes nothing.
  // Errors: no installed plan with data ports, or nft failing (its output).
  Status<SetupError> unmap_data_port(uint32_t mark);
  // Where the original net.ipv4.ip_forward is kept while we run, so that a daemon restarted after a crash
  // restores the administrator's value, not the 1 its killed predecessor wrote. Empty: memory only.
  void set_state_file(std::string path) { state_file_ = std::move(path); }

 private:
  Status<SetupError> run_tables(const FirewallPlan& plan, bool install_side);
  std::optional<FirewallPlan> plan_;
  std::optional<std::string> saved_forwarding_;
  std::map<uint32_t, uint16_t> data_ports_;  // mark -> port, as loaded into the installed plan's maps
  std::string state_file_;
};

}  // namespace l2tpvpn
