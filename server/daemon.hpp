// l2tpvpnd's top level: wires configuration, the L2TP endpoint and its driver, the PPP session manager (kernel or
// pty data path, pppd per session), the status endpoint, the control socket, signals and logging.
//
// Thread-safety: runs entirely on one io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>

#include "server/memory_trim.hpp"
#include "server/config.hpp"
#include "server/control_server.hpp"
#include "server/firewall_manager.hpp"
#include "server/http_server.hpp"
#include "server/ipsec_supervisor.hpp"
#include "server/l2tp/endpoint.hpp"
#include "server/l2tp_driver.hpp"
#include "server/session_manager.hpp"
#include "server/status.hpp"
#include "server/vpn/coupling.hpp"

namespace l2tpvpn {

class Daemon {
 public:
  explicit Daemon(DaemonConfig config);
  // Binds and runs until SIGTERM/SIGINT has closed every tunnel. Returns the process exit code.
  int run();

 private:
  void on_event(l2tp::Action& action);
  void shutdown();
  void wait_for_quiet(std::chrono::steady_clock::time_point deadline);
  Status<SetupError> setup_sessions();
  // Which firewall backend start-up uses (before the sessions: the data ports of clients behind one NAT need nft).
  Status<SetupError> choose_firewall();
  Status<SetupError> setup_firewall();
  // Whether this daemon can give clients behind one NAT a kernel tunnel each: SA marks read per datagram, the
  // kernel data path, and the nft firewall to move each SA's data to its port. Logs why not.
  bool data_ports_possible(bool kernel_path) const;
  void reload();
  void watch_children();
  void watch_hup();
  void register_control();
  // Everything /status, /metrics and the control socket report, gathered from each part's view.
  // What /status and the control socket show. `tallies_only` (for /metrics): the tunnels, sessions and SAs are
  // only counted (StatusSnapshot::tallies), which with thousands of them is what makes the document cost.
  StatusSnapshot snapshot(bool tallies_only = false) const;
  // RFC 3193 coupling (server/vpn/coupling): the endpoint's tunnels as the core sees them, the SA view changed,
  // and the core's actions run (StopCCN through the endpoint, IKE_SA terminate through the supervisor).
  std::vector<vpn::TunnelRef> tunnel_refs() const;
  void on_sa_view();
  void run_coupling();
  // The one place, besides the driver, that drives the endpoint for the cores: CDN and StopCCN, then a kick.
  void run_l2tp(const vpn::Action& action);

  DaemonConfig config_;
  boost::asio::io_context io_;
  l2tp::Endpoint endpoint_;
  L2tpDriver driver_;
  HttpServer http_;
  ControlServer control_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set sighup_;
  boost::asio::signal_set sigchld_;
  std::unique_ptr<kernel::DataPlane> kernel_;
  SystemPppdRunner runner_{io_};
  std::unique_ptr<SessionManager> sessions_;
  std::unique_ptr<IpsecSupervisor> ipsec_;
  FirewallManager firewall_;
  std::optional<FirewallBackend> firewall_backend_;  // chosen at start; kNone: no rules
  bool data_ports_ = false;                         // the session core got a data port range
  vpn::Coupling coupling_;
  std::map<uint16_t, l2tp::PeerAddress> tunnel_peers_;  // for TunnelDown, which carries no address
  std::chrono::system_clock::time_point started_at_;
  boost::asio::steady_timer shutdown_timer_;
  // Freed heap back to the kernel after a crowd of tunnels and sessions has gone (server/memory_trim.hpp).
  static constexpr std::chrono::seconds kTrimInterval{5};
  void arm_trim();
  boost::asio::steady_timer trim_timer_;
  TrimPolicy trim_policy_;
  bool shutting_down_ = false;
};

// Cryptographically strong random bytes (OpenSSL RAND_bytes); aborts if the RNG fails, which only happens when the
// system has no entropy source at all.
void secure_random(std::span<uint8_t> out);

}  // namespace l2tpvpn
