// The PPP side of the lifecycle as a pure core: one pppd per L2TP session, fed events and time, returning typed
// actions. It owns the session table, the address pool, the ppp unit numbers and the kernel-tunnel choice; the
// adapter (server/session_manager) only does what the actions say (kernel sockets, pty, report socket, spawning
// and signalling pppd) and reports back how it went.
//
// The rules it holds:
//   TunnelUp     kernel data path: one kernel tunnel per peer address and port (a second tunnel from the same
//                4-tuple cannot have its own connected socket: its sessions use the pty) -> CreateKernelTunnel;
//                kernel_tunnel_failed -> CloseTunnel "data path unavailable"
//   SessionUp    the per-peer limits (sessions, and those not authenticated yet, per address and in total: past
//                one, CDN "temporary lack of resources"), an address from the pool, then the data path
//                (CreateKernelSession or OpenPty), then pppd (SpawnPppd with its argv). A step that fails undoes
//                the earlier ones and refuses the call: CDN "temporary lack of resources", nothing left behind
//   reports      phase, the authenticated user (moved onto their static address; a static address already held
//                by another session of theirs ends this one: CDN "static address already in use"), ip-up/down,
//                the final counters
//   pppd exits   while the L2TP session is open: CDN with the result and RFC 3145 cause mapped from the exit
//                status (ppp::map_pppd_termination); then everything of the session is released
//   SessionDown  the kernel session goes at once; pppd gets SIGHUP (our plugin makes that a hang-up) and SIGKILL
//                if it still runs stop_timeout later; the address returns to the pool only once pppd is reaped
//   TunnelDown   the kernel tunnel goes (its sessions were reported down before)
//   admin        disconnect a user's sessions; users file reloaded (reservations rebuilt, leases kept; sessions of
//                users removed or given a new password end, unless ppp.end_sessions_of_changed_users is off)
//
// Sessions are keyed by a serial number, not by (tunnel, session) ID: the endpoint may reuse an ID while the old
// session's pppd is still exiting.
//
// Time comes in as arguments; log lines are actions too. Thread-safety: none (one event-loop thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "ppp/ip_pool.hpp"
#include "ppp/plugin_report.hpp"
#include "ppp/pppd_exit.hpp"
#include "ppp/user_store.hpp"
#include "server/config.hpp"
#include "server/l2tp/events.hpp"
#include "server/log.hpp"
#include "server/status.hpp"

namespace l2tpvpn::vpn {

using TimePoint = l2tp::TimePoint;

struct SessionsConfig {
  PppSection ppp;
  PoolSection pool;
  std::string users_file;
  bool kernel = true;  // the kernel data path works (else every session uses the pty)
  // Kernel tunnels for clients behind one NAT. A kernel tunnel needs a connected UDP socket of its own, and two
  // clients behind one NAT can share the public address and port: their sockets would have the same 4-tuple.
  // With a port range here, each marked SA (PeerAddress::mark) gets a local port of its own from it: the firewall
  // moves that SA's data messages to the port (MapDataPort) and the tunnel's socket is bound there, so every
  // client gets a kernel tunnel. 0/0: off; a tunnel sharing a kernel tunnel's peer address and port then uses the
  // pty path, whatever its mark.
  uint16_t data_port_min = 0, data_port_max = 0;
  // pppd starts asked for at once (SpawnPppd without its answer yet). Sessions whose data path is ready beyond
  // that wait their turn in order, holding no argv: a burst of thousands of calls then costs neither memory nor
  // descriptors for a queue of starts, and the adapter's start thread is kept busy all the same.
  size_t max_starting = 4;
};

// ---- actions ----
struct CreateKernelTunnel {
  uint16_t tunnel_id = 0, peer_tunnel_id = 0;
  l2tp::PeerAddress peer;  // its mark goes on the socket (SO_MARK), so data leaves through the peer's SA
  uint16_t local_port = 0;  // 0: the L2TP port; else the peer SA's data port (MapDataPort came first)
};
// The firewall is to move the data messages that arrive through the SA with `mark` to local `port` (and back).
// Emitted before the first kernel tunnel of that SA; UnmapDataPort after its last one is gone.
struct MapDataPort {
  uint32_t mark = 0;
  uint16_t port = 0;
};
struct UnmapDataPort {
  uint32_t mark = 0;
};
struct DestroyKernelTunnel {
  uint16_t tunnel_id = 0;
};
struct CreateKernelSession {
  uint64_t serial = 0;
  uint16_t tunnel_id = 0, session_id = 0, peer_session_id = 0;
  bool sequencing = false;
};
struct DestroyKernelSession {
  uint16_t tunnel_id = 0, session_id = 0;
};
struct OpenPty {
  uint64_t serial = 0;
  uint16_t tunnel_id = 0, session_id = 0;  // where the frames pppd writes go
};
// Start pppd with this argv. The adapter gives it the session's data path (the kernel session socket at
// ppp::kPppol2tpChildFd, or the pty named in argv) and the child's end of a new report socketpair at
// ppp::kReportChildFd.
struct SpawnPppd {
  uint64_t serial = 0;
  std::vector<std::string> argv;
};
struct SignalPppd {
  uint64_t serial = 0;
  int pid = 0;
  int signal = 0;
};
// The session is gone from the table: close its report socket and pty.
struct ReleaseSession {
  uint64_t serial = 0;
};
struct CloseSession {
  uint16_t tunnel_id = 0, session_id = 0;
  l2tp::ResultCode result;
  std::optional<l2tp::PppDisconnectCause> cause;
};
struct CloseTunnel {
  uint16_t tunnel_id = 0;
  l2tp::ResultCode result;
};
struct Log {
  log::Level level = log::Level::kInfo;
  std::string text;
};
using Action = std::variant<CreateKernelTunnel, DestroyKernelTunnel, MapDataPort, UnmapDataPort,
                            CreateKernelSession, DestroyKernelSession, OpenPty, SpawnPppd, SignalPppd, ReleaseSession, CloseSession, CloseTunnel, Log>;

// What one peer holds, for per-peer limits: its sessions, and those not authenticated yet (pppd starting or
// still negotiating: each holds a pool address and a pppd).
struct PeerUsage {
  size_t sessions = 0;
  size_t unauthenticated = 0;
  bool operator==(const PeerUsage&) const = default;
};

class Sessions {
 public:
  // Errors: the pool configuration (config validation already checked it).
  static Result<Sessions, ppp::IpPoolError> create(SessionsConfig config, const ppp::UserStore& users);

  // ---- events ----
  // TunnelUp, TunnelDown, SessionUp and SessionDown; other L2TP actions are ignored.
  void on_l2tp(TimePoint now, const l2tp::Action& action);
  void kernel_tunnel_failed(TimePoint now, uint16_t tunnel_id, const std::string& why);
  // The data path asked for is ready; `pty_slave` names the pty pppd opens (pty path only).
  void data_path_ready(TimePoint now, uint64_t serial, std::optional<std::string> pty_slave);
  void data_path_failed(TimePoint now, uint64_t serial, const std::string& why);
  void pppd_spawned(TimePoint now, uint64_t serial, int pid);
  void pppd_spawn_failed(TimePoint now, uint64_t serial, const std::string& why);
  void plugin_report(TimePoint now, uint64_t serial, const ppp::PluginEvent& event);
  void report_error() { ++counters_.report_errors; }
  void pppd_exited(TimePoint now, int pid, const ppp::PppdTermination& termination);
  void on_timer(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  // ---- admin ----
  // CDN to every open session authenticated as `user`; returns how many.
  size_t disconnect_user(TimePoint now, const std::string& user);
  // New user store: the pool's reservations are rebuilt, live sessions keep their addresses. With
  // ppp.end_sessions_of_changed_users, a session whose user is gone from the store or has a new password gets a
  // CDN (result 3, administrative).
  Status<ppp::IpPoolError> reload_users(const ppp::UserStore& users);
  // New [ppp] settings: they apply to sessions started from now on.
  void update_ppp(const PppSection& ppp, const std::string& users_file);

  // Shutdown, after every pppd has been reaped: releases every session left (no CDN: the daemon is going).
  void release_all();

  std::vector<Action> take_actions();

  // ---- state ----
  // One view per session; interface counters of sessions that are up are left to the adapter (sysfs).
  std::vector<SessionView> views(std::chrono::system_clock::time_point wall_now, TimePoint now) const;
  // How many sessions are in each phase (the views' `state`), without making the views.
  std::map<SessionPhase, uint64_t> phase_counts() const;
  std::vector<int> running_pids() const;
  // The [ppp] settings new sessions start with.
  const PppSection& ppp_settings() const { return config_.ppp; }
  size_t session_count() const { return sessions_.size(); }
  size_t running_pppd() const { return by_pid_.size(); }
  const PppCounters& counters() const { return counters_; }
  PppCounters& counters() { return counters_; }  // the adapter adds its pty counters
  const ppp::IpPool& pool() const { return pool_; }
  bool has_kernel_tunnel(uint16_t tunnel_id) const { return kernel_tunnels_.count(tunnel_id) > 0; }
  // Sessions of one peer: its address and port (one client, also behind a NAT), or every port of its address.
  // Kept up to date as sessions come, authenticate and go (constant time: the admission path asks).
  PeerUsage usage_of(const l2tp::PeerAddress& peer) const;
  PeerUsage usage_of_host(const l2tp::PeerAddress& peer) const;
  // Sessions not authenticated yet, all peers together.
  size_t unauthenticated() const { return unauthenticated_; }

 private:
  struct Session {
    uint64_t serial = 0;
    uint16_t tunnel_id = 0, session_id = 0, peer_tunnel_id = 0, peer_session_id = 0;
    l2tp::PeerAddress peer;
    std::string key;  // pool key
    uint32_t unit = 0;
    std::string ifname;
    bool kernel = false;          // kernel data path (else pty)
    bool kernel_session = false;  // a kernel session exists
    std::optional<std::string> pty_slave;
    int pid = 0;  // 0 before spawn and once reaped
    bool spawning = false;        // SpawnPppd sent, no answer yet
    bool waiting_start = false;   // data path ready, waiting for a start slot (max_starting)
    bool l2tp_open = true;
    std::optional<ppp::PppPhase> phase, last_phase;
    std::optional<std::string> user;
    ppp::Ipv4Address address;
    std::string local_address;
    bool ip_up = false;
    std::optional<ppp::StatsEvent> final_stats;
    TimePoint since{};
    std::optional<TimePoint> kill_at;  // SIGKILL then, if pppd still runs (set only while it runs)
  };
  // pppd start slots: SpawnPppd for `s` now, or a place in start_queue_.
  void send_spawn(Session& s);
  void next_starts();
  std::deque<uint64_t> start_queue_;  // serials waiting for a start slot, in order (finished ones are skipped)
  size_t starting_ = 0;               // SpawnPppd sent without an answer
  // What the session's view shows as its state.
  static SessionPhase phase_of(const Session& s);
  Sessions(SessionsConfig config, ppp::IpPool pool);

  void on_tunnel_up(TimePoint now, const l2tp::TunnelUp& a);
  void on_tunnel_down(TimePoint now, const l2tp::TunnelDown& a);
  void on_session_up(TimePoint now, const l2tp::SessionUp& a);
  void on_session_down(TimePoint now, const l2tp::SessionDown& a);
  void spawn(Session& s);
  void refuse(Session& s, const std::string& why);  // undo what the session holds, CDN, forget it
  void finish(uint64_t serial);                    // pppd gone and L2TP session closed: release everything
  // The per-peer limits a new session from `peer` would break, as the CDN's message; nullopt when none.
  std::optional<std::string> over_limit(const l2tp::PeerAddress& peer) const;
  // Adds (+1) or removes (-1) a session in the per-peer accounting.
  void account(const Session& s, int sign);
  void account_authenticated(const Session& s);
  void remember_passwords(const ppp::UserStore& users);
  // Sets or clears a session's SIGKILL deadline, kept in kill_deadlines_ as well.
  void set_kill_at(Session& s, std::optional<TimePoint> at);
  Session* find(uint64_t serial);
  uint32_t allocate_unit();
  void log(log::Level level, std::string text) { actions_.push_back(Log{level, std::move(text)}); }

  SessionsConfig config_;
  ppp::IpPool pool_;
  struct KernelTunnel {
    l2tp::PeerAddress peer;
    uint16_t local_port = 0;  // 0: the L2TP port
  };
  // One per (local port, peer address and port): the 4-tuple of its connected socket.
  std::map<uint16_t, KernelTunnel> kernel_tunnels_;  // by local tunnel ID
  struct DataPort {
    uint16_t port = 0;
    size_t tunnels = 0;  // kernel tunnels of the SA using it
  };
  std::map<uint32_t, DataPort> data_ports_;  // by SA mark
  std::set<uint16_t> data_ports_taken_;
  uint16_t next_data_port_ = 0;  // where the search for a free port starts (round robin: a port just given
                                 // back is reused last, after its conntrack entries have timed out)
  // The local port for a kernel tunnel of `peer`: 0 (the L2TP port) without a mark or without a range, else the
  // SA's data port, or a free one for the SA's first kernel tunnel (taken when the tunnel is recorded);
  // nullopt: the range is exhausted.
  std::optional<uint16_t> data_port_for(const l2tp::PeerAddress& peer);
  void release_kernel_tunnel(uint16_t tunnel_id);
  std::map<uint64_t, Session> sessions_;                        // by serial
  std::map<std::pair<uint16_t, uint16_t>, uint64_t> by_l2tp_;  // open L2TP sessions -> serial
  std::map<int, uint64_t> by_pid_;                              // running pppd -> serial
  std::set<uint32_t> units_;                                    // ppp-l2tp<unit> in use
  std::set<uint32_t> free_units_;  // released units below next_unit_ (the lowest is given first)
  uint32_t next_unit_ = 0;         // every unit from here up is free
  // Every session's SIGKILL deadline, earliest first: the timer and next_deadline() never scan the table, which the
  // adapter consults after every event.
  std::set<std::pair<TimePoint, uint64_t>> kill_deadlines_;
  // Per-peer accounting: by address and port (a client), by address (port 0: a host), and the total not yet
  // authenticated. An entry goes when its count reaches zero.
  std::map<l2tp::PeerAddress, PeerUsage> by_client_, by_host_;
  size_t unauthenticated_ = 0;
  std::map<std::string, std::string> passwords_;  // user -> password, as of the last store, to see changes
  uint64_t next_serial_ = 1;
  PppCounters counters_;
  std::vector<Action> actions_;
};

}  // namespace l2tpvpn::vpn
