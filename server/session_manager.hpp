// One pppd per L2TP session: the glue between the L2TP control plane's events and the PPP side (issue 4).
//
//   TunnelUp    -> kernel mode: a PPPoL2TP tunnel on the tunnel's own connected UDP socket (server/kernel), whose
//                  control packets the driver reads from then on (attach_tunnel_socket). A second tunnel from the
//                  same peer address and port (one LAC opening several tunnels from one port) cannot have its own
//                  socket with the same 4-tuple: its sessions use the pty path (session IDs are endpoint-unique)
//   SessionUp   -> an address from the pool, the data path (a PPPoL2TP session socket, or a pty framed in
//                  userspace), a report socketpair for our plugin, and pppd (posix_spawn, argv from
//                  ppp::build_pppd_args). Any failure: CDN "temporary lack of resources" and nothing left behind.
//   plugin      -> the authenticated user (moved onto the user's static address), phase, interface and
//   reports        addresses, final counters
//   pppd exits  -> (SIGCHLD, reaped) if the L2TP session is still open: CDN with the result code and RFC 3145
//                  cause mapped from the exit status (ppp::map_pppd_termination); then the session's kernel socket,
//                  pty, report socket and address are released
//   SessionDown -> pppd gets SIGHUP, which our plugin turns into a hang-up (l2tpvpn_sighup_is_hangup): pppd exits
//                  within one turn of its loop instead of waiting for an LCP Terminate-Ack over a closed session
//                  (SIGKILL after ppp.stop_timeout_ms remains the backstop); its resources are released once it
//                  has been reaped, so an address is never handed out while an old pppd may still use it
//   TunnelDown  -> the tunnel socket is detached from the driver and the kernel tunnel destroyed (its sessions
//                  were already reported down by the endpoint)
//
// Sessions are keyed internally by a serial number, not by (tunnel, session) ID: the endpoint may reuse an ID
// for a new session while the old one's pppd is still exiting.
//
// pppd is started through a PppdRunner so that tests can stand in for it (and for its plugin, by writing report
// lines into the descriptor the runner is given).
//
// Thread-safety: none; everything runs on the daemon's io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ppp/hdlc.hpp"
#include "ppp/ip_pool.hpp"
#include "ppp/plugin_report.hpp"
#include "ppp/pppd_launcher.hpp"
#include "ppp/user_store.hpp"
#include "server/config.hpp"
#include "server/kernel/data_plane.hpp"
#include "server/l2tp/endpoint.hpp"
#include "server/l2tp_driver.hpp"
#include "server/status.hpp"

namespace l2tpvpn {

class PppdRunner {
 public:
  virtual ~PppdRunner() = default;
  // pppol2tp_fd: -1 in pty mode. report_fd: the child's end of the report socketpair.
  virtual Result<pid_t, os::LaunchError> spawn(const std::vector<std::string>& argv, int pppol2tp_fd,
                                                int report_fd) = 0;
  virtual void signal(pid_t pid, int sig) = 0;
  virtual std::optional<ppp::Reaped> try_reap(pid_t pid) = 0;
  virtual ppp::Reaped wait(pid_t pid) = 0;  // blocking; shutdown only
};

// The real thing: ppp::spawn_pppd (pppd's stderr goes to ours), signals to the process group.
class SystemPppdRunner final : public PppdRunner {
 public:
  Result<pid_t, os::LaunchError> spawn(const std::vector<std::string>& argv, int pppol2tp_fd,
                                        int report_fd) override;
  void signal(pid_t pid, int sig) override;
  std::optional<ppp::Reaped> try_reap(pid_t pid) override;
  ppp::Reaped wait(pid_t pid) override;
};

struct SessionManagerConfig {
  PppSection ppp;
  PoolSection pool;
  std::string users_file;
  // Where kernel tunnel sockets bind (the LNS's listening address and port).
  kernel::Ipv4Endpoint local;
};

using SessionManagerStats = PppCounters;

class SessionManager {
 public:
  // `kernel`: the kernel data plane, or nullptr for the userspace (pty) data path. `users`: the user store as
  // loaded at start (reservations). Errors: the pool configuration (which config validation already checked).
  static Result<std::unique_ptr<SessionManager>, std::string> create(boost::asio::io_context& io,
                                                                     l2tp::Endpoint& endpoint, L2tpDriver& driver,
                                                                     kernel::DataPlane* kernel, PppdRunner& runner,
                                                                     SessionManagerConfig config,
                                                                     const ppp::UserStore& users);
  ~SessionManager();

  // TunnelUp, TunnelDown, SessionUp, SessionDown and SessionData; other actions are ignored.
  void handle(const l2tp::Action& action);
  // SIGCHLD arrived: reap every pppd that ended.
  void reap_children();

  // New user store: rebuilds the pool's reservations (live sessions keep their addresses). pppd's plugin reads
  // the users file itself at each authentication, so passwords apply to the next login without anything here.
  // Errors: the new pool configuration.
  Status<std::string> reload_users(const ppp::UserStore& users);
  // New [ppp] settings (SIGHUP): they apply to sessions started from now on; running pppds keep theirs.
  void update_ppp(const PppSection& ppp, const std::string& users_file) {
    config_.ppp = ppp;
    config_.users_file = users_file;
  }
  // CDN to every session authenticated as `user`; returns how many.
  size_t disconnect_user(const std::string& user);

  // One view per session (pppd running or exiting), for the status snapshot. Reads the interface counters of
  // sessions that are up from sysfs.
  std::vector<SessionView> session_views() const;
  // The default data path (a tunnel that shares its peer endpoint with a kernel tunnel uses the pty).
  const char* data_path_name() const { return kernel_ ? "kernel" : "pty"; }
  size_t session_count() const { return sessions_.size(); }
  size_t running_pppd() const { return by_pid_.size(); }
  const SessionManagerStats& stats() const { return stats_; }
  const ppp::IpPool& pool() const { return pool_; }

  // Start-up after a crash (l2tpvpnd killed -9): pppd processes of an earlier l2tpvpnd (their argv carries our
  // plugin's l2tpvpn_report_fd) still hold kernel PPPoL2TP sessions, and with them their tunnels, UDP sockets and
  // ppp interfaces. They get SIGTERM, then SIGKILL after `grace`; the kernel then frees the rest. Returns how
  // many there were. Blocking (bounded by grace + 1 s): call before serving.
  static size_t kill_stale_pppd(std::chrono::milliseconds grace);

  // Shutdown backstop: SIGKILL every pppd still running, reap it and release everything.
  void kill_all();

 private:
  struct PtyLink;
  struct Session;
  SessionManager(boost::asio::io_context& io, l2tp::Endpoint& endpoint, L2tpDriver& driver,
                 kernel::DataPlane* kernel, PppdRunner& runner, SessionManagerConfig config, ppp::IpPool pool);

  void on_tunnel_up(const l2tp::TunnelUp& a);
  void on_tunnel_down(const l2tp::TunnelDown& a);
  void on_session_up(const l2tp::SessionUp& a);
  void on_session_down(const l2tp::SessionDown& a);
  void on_session_data(const l2tp::SessionData& a);

  void read_reports(uint64_t serial);
  void on_report(Session& s, const ppp::PluginEvent& ev);
  void read_pty(uint64_t serial);
  void write_pty(Session& s);
  void on_pppd_exit(uint64_t serial, const ppp::PppdTermination& t);
  void stop_pppd(Session& s);
  void finish(uint64_t serial);  // pppd gone and L2TP session closed: release everything
  void refuse(const l2tp::SessionUp& a, uint16_t result, const std::string& why);
  uint32_t allocate_unit();

  boost::asio::io_context& io_;
  l2tp::Endpoint& endpoint_;
  L2tpDriver& driver_;
  kernel::DataPlane* kernel_;
  PppdRunner& runner_;
  SessionManagerConfig config_;
  ppp::IpPool pool_;

  std::map<uint16_t, kernel::TunnelHandle> tunnels_;       // kernel tunnels, by local tunnel ID
  std::map<uint16_t, kernel::Ipv4Endpoint> kernel_peers_;  // their peers (one kernel tunnel per peer endpoint)
  std::map<uint64_t, std::unique_ptr<Session>> sessions_;  // by serial
  std::map<std::pair<uint16_t, uint16_t>, uint64_t> by_l2tp_;  // open L2TP sessions -> serial
  std::map<pid_t, uint64_t> by_pid_;                           // running pppd -> serial
  std::set<uint32_t> units_;                                   // ppp-l2tp<unit> in use
  uint64_t next_serial_ = 1;
  SessionManagerStats stats_;
};

}  // namespace l2tpvpn
