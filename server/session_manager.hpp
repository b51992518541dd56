// The adapter of the PPP side (server/vpn/sessions.hpp holds the rules): it feeds the pure core the L2TP events,
// pppd's plugin reports, reaped pppds and time, and does the I/O its actions ask for:
//   CreateKernelTunnel / DestroyKernelTunnel   the PPPoL2TP tunnel on its own connected UDP socket
//                                              (server/kernel), whose control packets the driver reads from then on
//   MapDataPort / UnmapDataPort                the firewall's map of an SA's data port (set_data_port_sink)
//   CreateKernelSession / DestroyKernelSession the PPPoL2TP session socket pppd gets
//   OpenPty                                    the pty pair of the userspace data path, framed with ppp/hdlc
//   SpawnPppd / SignalPppd                     pppd through a PppdRunner, with the data path and a report socketpair;
//                                              the start runs off the event loop (SpawnThread) and its pid comes
//                                              back later (on_pppd_started), so no datagram waits for a pppd start
//   ReleaseSession                             the session's report socket and pty closed
//   CloseSession / CloseTunnel                 CDN / StopCCN: handed to the daemon's sink (set_l2tp_sink), which
//                                              drives the endpoint; here only without one (tests)
//   Log                                        one log line
// Each step's outcome goes back to the core at once (data_path_ready, ...), a pppd start's when it is known
// (pppd_spawned / pppd_spawn_failed); the core's actions are run in order by one loop, never re-entrantly.
//
// pppd is started through a PppdRunner so that tests can stand in for it (and for its plugin, by writing report
// lines into the descriptor the runner is given).
//
// Thread-safety: none; everything runs on the daemon's io_context thread.
#pragma once

#include <array>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <deque>
#include <set>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "ppp/hdlc.hpp"
#include "ppp/ip_pool.hpp"
#include "ppp/plugin_report.hpp"
#include "ppp/pppd_launcher.hpp"
#include "ppp/user_store.hpp"
#include "server/config.hpp"
#include "server/kernel/data_plane.hpp"
#include "server/l2tp/endpoint.hpp"
#include "server/l2tp_driver.hpp"
#include "server/link_stats.hpp"
#include "server/setup_error.hpp"
#include "server/spawn_thread.hpp"
#include "server/status.hpp"
#include "server/vpn/sessions.hpp"

namespace l2tpvpn {

// What a pppd start is given: its argv and the PPPoL2TP session socket (closed by the runner once pppd has its
// copy, or the start failed or was cancelled; empty in pty mode).
struct PppdStart {
  std::vector<std::string> argv;
  UniqueFd pppol2tp;
};
// A pppd that started: its pid and our end of its report socketpair (made by the runner when the start runs, so a
// queue of starts holds no descriptors for it).
struct PppdRunning {
  pid_t pid = 0;
  UniqueFd report;
};

class PppdRunner {
 public:
  using Started = std::function<void(Result<PppdRunning, os::LaunchError>)>;
  virtual ~PppdRunner() = default;
  // Starts pppd with a report socketpair (the child's end at kReportChildFd); `done` gets its pid and our end, or
  // why it did not start, on the event loop's thread, later or at once.
  virtual void spawn(PppdStart start, Started done) = 0;
  // Shutdown: starts not made yet are dropped and their `done` never runs; returns the pids of pppds started
  // whose `done` will now never run (the caller signals and reaps them).
  virtual std::vector<pid_t> cancel_spawns() = 0;
  virtual void signal(pid_t pid, int sig) = 0;
  virtual std::optional<ppp::Reaped> try_reap(pid_t pid) = 0;
  virtual ppp::Reaped wait(pid_t pid) = 0;  // blocking; shutdown only
};

// The real thing: ppp::pppd_launch_spec started on a SpawnThread, off the event loop (pppd's stderr goes to ours);
// signals to the process group.
class SystemPppdRunner final : public PppdRunner {
 public:
  explicit SystemPppdRunner(boost::asio::io_context& io) : spawner_(io) {}
  void spawn(PppdStart start, Started done) override;
  std::vector<pid_t> cancel_spawns() override { return spawner_.cancel(); }
  void signal(pid_t pid, int sig) override;
  std::optional<ppp::Reaped> try_reap(pid_t pid) override;
  ppp::Reaped wait(pid_t pid) override;

 private:
  SpawnThread spawner_;
};

struct SessionManagerConfig {
  PppSection ppp;
  PoolSection pool;
  std::string users_file;
  // Where kernel tunnel sockets bind (the LNS's listening address and port).
  kernel::Ipv4Endpoint local;
  // Data ports for the kernel tunnels of clients behind one NAT (vpn::SessionsConfig); 0/0: off.
  uint16_t data_port_min = 0, data_port_max = 0;
};

using SessionManagerStats = PppCounters;

class SessionManager {
 public:
  // `kernel`: the kernel data plane, or nullptr for the userspace (pty) data path. `users`: the user store as
  // loaded at start (reservations). Errors: the pool configuration (which config validation already checked).
  static Result<std::unique_ptr<SessionManager>, SetupError> create(boost::asio::io_context& io,
                                                                     l2tp::Endpoint& endpoint, L2tpDriver& driver,
                                                                     kernel::DataPlane* kernel, PppdRunner& runner,
                                                                     SessionManagerConfig config,
                                                                     const ppp::UserStore& users);
  ~SessionManager();

  // TunnelUp, TunnelDown, SessionUp and SessionDown go to the core; SessionData to the session's pty.
  void handle(const l2tp::Action& action);
  // SIGCHLD arrived: reap every pppd that ended.
  void reap_children();

  // New user store: rebuilds the pool's reservations (live sessions keep their addresses). pppd's plugin reads
  // the users file itself at each authentication, so passwords apply to the next login without anything here.
  // Errors: the new pool configuration.
  Status<ppp::IpPoolError> reload_users(const ppp::UserStore& users);
  // New [ppp] settings (SIGHUP): they apply to sessions started from now on; running pppds keep theirs.
  void update_ppp(const PppSection& ppp, const std::string& users_file) { core_.update_ppp(ppp, users_file); }
  // CDN to every session authenticated as `user`; returns how many.
  size_t disconnect_user(const std::string& user);

  // One view per session (pppd running or exiting), for the status snapshot. The interface counters of sessions
  // that are up come from one rtnetlink dump for all of them, reused for kLinkStatsMaxAge (server/link_stats).
  std::vector<SessionView> session_views() const;
  std::map<SessionPhase, uint64_t> phase_counts() const { return core_.phase_counts(); }
  static constexpr std::chrono::milliseconds kLinkStatsMaxAge{1000};
  // The default data path (a tunnel that shares its peer endpoint with a kernel tunnel uses the pty).
  const char* data_path_name() const { return kernel_ ? "kernel" : "pty"; }
  size_t session_count() const { return core_.session_count(); }
  size_t running_pppd() const { return core_.running_pppd(); }
  const SessionManagerStats& stats() const { return core_.counters(); }
  const ppp::IpPool& pool() const { return core_.pool(); }

  // Start-up after a crash (l2tpvpnd killed -9): pppd processes of an earlier l2tpvpnd (their argv carries our
  // plugin's l2tpvpn_report_fd) still hold kernel PPPoL2TP sessions, and with them their tunnels, UDP sockets and
  // ppp interfaces. They get SIGTERM, then SIGKILL after `grace`; the kernel then frees the rest. Returns how
  // many there were. Each is pinned when found (os::ProcessRef), so a pid reused meanwhile is never signalled.
  // Blocking (bounded by grace + 1 s): call before serving.
  static size_t kill_stale_pppd(std::chrono::milliseconds grace);
  // An argv that is one of our pppds: pppd with our plugin's l2tpvpn_report_fd option.
  static bool is_our_pppd(const std::vector<std::string>& argv);

  // Shutdown backstop: SIGKILL every pppd still running, reap it and release everything.
  void kill_all();

  // Where the core's CloseSession and CloseTunnel go: the daemon's driver, which alone drives the endpoint.
  // Without a sink (tests of this adapter alone) they are sent through the endpoint here.
  void set_l2tp_sink(std::function<void(const vpn::Action&)> sink) { l2tp_sink_ = std::move(sink); }
  // Where MapDataPort (port set) and UnmapDataPort (nullopt) go: the firewall. Returns an error text on failure;
  // a kernel tunnel of an SA whose data port could not be mapped is then refused (its data would never reach it).
  using DataPortSink = std::function<std::optional<std::string>(uint32_t mark, std::optional<uint16_t> port)>;
  void set_data_port_sink(DataPortSink sink) { data_port_sink_ = std::move(sink); }

 private:
  struct PtyLink;
  struct SessionIo;
  // What read_pty and read_reports read into: one buffer for every session (they wait for readability first).
  std::array<uint8_t, 4096> read_buffer_{};
  SessionManager(boost::asio::io_context& io, l2tp::Endpoint& endpoint, L2tpDriver& driver,
                 kernel::DataPlane* kernel, PppdRunner& runner, kernel::Ipv4Endpoint local, vpn::Sessions core);

  // Runs the core's actions until it has none left (guarded: a nested call returns at once and the outer loop
  // picks up what the nested event queued).
  void run();
  void execute(const vpn::Action& action);
  // The I/O state of a session, made when its data path is.
  SessionIo* io_for(uint64_t serial, uint16_t tunnel_id, uint16_t session_id);
  void arm_timer();
  void on_session_data(const l2tp::SessionData& a);
  // A pppd start's outcome. Its pid may have ended already (its SIGCHLD came before we knew the pid): reaped here.
  void on_pppd_started(uint64_t serial, Result<PppdRunning, os::LaunchError> started);
  void read_reports(uint64_t serial);
  void read_pty(uint64_t serial);
  void write_pty(SessionIo& s);

  boost::asio::io_context& io_;
  l2tp::Endpoint& endpoint_;
  L2tpDriver& driver_;
  kernel::DataPlane* kernel_;
  PppdRunner& runner_;
  kernel::Ipv4Endpoint local_;
  vpn::Sessions core_;
  std::map<uint16_t, kernel::TunnelHandle> tunnels_;  // kernel tunnels, by local tunnel ID
  std::map<uint64_t, std::unique_ptr<SessionIo>> io_by_serial_;
  std::map<std::pair<uint16_t, uint16_t>, uint64_t> pty_by_l2tp_;  // pty sessions' L2TP IDs -> serial (data)
  boost::asio::steady_timer timer_;
  std::function<void(const vpn::Action&)> l2tp_sink_;
  DataPortSink data_port_sink_;
  std::set<uint32_t> unmapped_marks_;  // SAs whose MapDataPort failed
  mutable LinkStatsCache link_stats_{kLinkStatsMaxAge};  // a cache: refreshing it does not change the sessions
  bool running_ = false;
  bool stopping_ = false;  // kill_all: L2TP actions are no longer sent (the daemon is going)
};

}  // namespace l2tpvpn
