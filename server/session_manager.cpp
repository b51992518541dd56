#include "server/session_manager.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "common/os/proc.hpp"
#include "common/os/stop.hpp"
#include "common/unique_fd.hpp"
#include "ppp/pppd_args.hpp"
#include "ppp/pty.hpp"
#include "ppp/pty_backlog.hpp"
#include "server/log.hpp"

namespace l2tpvpn {

namespace asio = boost::asio;

// ---- SystemPppdRunner ----

void SystemPppdRunner::spawn(PppdStart start, Started done) {
  // The job runs on the spawn thread: it makes the report socketpair there and closes the child's end and the
  // session socket once pppd has its copies. Our end reaches `done` through `report`.
  auto session = std::make_shared<UniqueFd>(std::move(start.pppol2tp));
  auto report = std::make_shared<UniqueFd>();
  spawner_.start(
      [argv = std::move(start.argv), session, report]() -> Result<pid_t, os::LaunchError> {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
          return unexpected(os::LaunchError{"socketpair", errno, {}});
        UniqueFd child(sv[1]);
        *report = UniqueFd(sv[0]);
        auto pid = os::spawn_process(ppp::pppd_launch_spec(argv, session->get(), child.get(), STDERR_FILENO));
        session->reset();
        if (!pid) report->reset();
        return pid;
      },
      [report, done = std::move(done)](Result<pid_t, os::LaunchError> pid) {
        if (!pid) return done(unexpected(pid.error()));
        done(PppdRunning{*pid, std::move(*report)});
      });
}
void SystemPppdRunner::signal(pid_t pid, int sig) { (void)os::signal_process_group(pid, sig); }
std::optional<ppp::Reaped> SystemPppdRunner::try_reap(pid_t pid) { return ppp::try_reap_pppd(pid); }
ppp::Reaped SystemPppdRunner::wait(pid_t pid) { return ppp::wait_for_pppd(pid); }

// ---- per-session I/O ----

// Userspace data path: pppd speaks async HDLC on a pty; we (de)frame between its master and L2TP data messages.
struct SessionManager::PtyLink {
  PtyLink(asio::io_context& io, ppp::PtyBacklogLimits limits) : master(io), backlog(limits) {}
  asio::posix::stream_descriptor master;
  ppp::HdlcDecoder decoder;
  ppp::PtyBacklog backlog;  // frames from the peer waiting for the pty
};

struct SessionManager::SessionIo {
  explicit SessionIo(asio::io_context& io) : report(io) {}
  uint64_t serial = 0;
  uint16_t tunnel_id = 0, session_id = 0;
  bool l2tp_open = true;  // data from pppd still goes out (until the session's SessionDown)
  bool pppd_started = false;  // (pty) frames from the peer go to the pty only once pppd runs
  UniqueFd session_fd;    // (kernel) our copy of the session socket until pppd has its own
  asio::local::stream_protocol::socket report;
  ppp::ReportLineSplitter splitter;
  std::unique_ptr<PtyLink> pty;
};

// ---- construction ----

Result<std::unique_ptr<SessionManager>, SetupError> SessionManager::create(
    asio::io_context& io, l2tp::Endpoint& endpoint, L2tpDriver& driver, kernel::DataPlane* kernel,
    PppdRunner& runner, SessionManagerConfig config, const ppp::UserStore& users) {
  auto core = vpn::Sessions::create(
      vpn::SessionsConfig{config.ppp, config.pool, config.users_file, kernel != nullptr, config.data_port_min,
                          config.data_port_max},
      users);
  if (!core) return unexpected(SetupError{SetupPart::kSessions, 0, "address pool: " + core.error().to_string()});
  return std::unique_ptr<SessionManager>(
      new SessionManager(io, endpoint, driver, kernel, runner, config.local, std::move(core).value()));
}

SessionManager::SessionManager(asio::io_context& io, l2tp::Endpoint& endpoint, L2tpDriver& driver,
                               kernel::DataPlane* kernel, PppdRunner& runner, kernel::Ipv4Endpoint local,
                               vpn::Sessions core)
    : io_(io),
      endpoint_(endpoint),
      driver_(driver),
      kernel_(kernel),
      runner_(runner),
      local_(local),
      core_(std::move(core)),
      timer_(io) {}

SessionManager::~SessionManager() { kill_all(); }

void SessionManager::handle(const l2tp::Action& action) {
  if (auto* d = std::get_if<l2tp::SessionData>(&action)) return on_session_data(*d);
  if (auto* down = std::get_if<l2tp::SessionDown>(&action)) {
    auto it = pty_by_l2tp_.find({down->tunnel_id, down->session_id});
    if (it != pty_by_l2tp_.end()) {
      if (auto io = io_by_serial_.find(it->second); io != io_by_serial_.end()) io->second->l2tp_open = false;
      pty_by_l2tp_.erase(it);
    }
  }
  core_.on_l2tp(l2tp::Clock::now(), action);
  run();
}

// ---- the action loop ----

void SessionManager::run() {
  if (running_) return;
  running_ = true;
  bool endpoint_touched = false;
  for (;;) {
    auto actions = core_.take_actions();
    if (actions.empty()) {
      if (!endpoint_touched) break;
      // CDN/StopCCN were queued in the endpoint: let the driver send them. Their SessionDown/TunnelDown come
      // back through handle(), whose run() returns at once; this loop takes the core's new actions.
      endpoint_touched = false;
      if (!l2tp_sink_) driver_.kick();  // (with a sink its owner has run the driver)
      continue;
    }
    for (const auto& a : actions) {
      if (std::holds_alternative<vpn::CloseSession>(a) || std::holds_alternative<vpn::CloseTunnel>(a))
        endpoint_touched = true;
      execute(a);
    }
  }
  running_ = false;
  arm_timer();
}

void SessionManager::arm_timer() {
  auto d = core_.next_deadline();
  if (!d) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*d);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    core_.on_timer(l2tp::Clock::now());
    run();
  });
}

void SessionManager::execute(const vpn::Action& action) {
  const auto now = l2tp::Clock::now();
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, vpn::Log>) {
          log::write(a.level, a.text);
        } else if constexpr (std::is_same_v<T, vpn::CloseSession> || std::is_same_v<T, vpn::CloseTunnel>) {
          if (stopping_) return;
          if (l2tp_sink_) {
            l2tp_sink_(action);
          } else if constexpr (std::is_same_v<T, vpn::CloseSession>) {
            endpoint_.close_session(now, a.tunnel_id, a.session_id, a.result, a.cause);
          } else {
            endpoint_.close_tunnel(now, a.tunnel_id, a.result);
          }
        } else if constexpr (std::is_same_v<T, vpn::MapDataPort> || std::is_same_v<T, vpn::UnmapDataPort>) {
          std::optional<uint16_t> port;
          if constexpr (std::is_same_v<T, vpn::MapDataPort>) port = a.port;
          unmapped_marks_.erase(a.mark);
          auto err = data_port_sink_ ? data_port_sink_(a.mark, port) : std::optional<std::string>("no firewall");
          if (err) {
            log::error("event=data_port_failed mark=" + std::to_string(a.mark) + " error=\"" + *err + "\"");
            if (port) unmapped_marks_.insert(a.mark);
          }
        } else if constexpr (std::is_same_v<T, vpn::CreateKernelTunnel>) {
          if (a.local_port != 0 && unmapped_marks_.count(a.peer.mark))
            return core_.kernel_tunnel_failed(now, a.tunnel_id, "the firewall did not map the SA's data port");
          kernel::TunnelSpec spec;
          std::copy_n(a.peer.ip.begin(), 4, spec.peer.ip.begin());
          spec.peer.port = a.peer.port;
          spec.local_tunnel_id = a.tunnel_id;
          spec.peer_tunnel_id = a.peer_tunnel_id;
          spec.local = local_;
          if (a.local_port != 0) spec.local.port = a.local_port;
          spec.mark = a.peer.mark;
          auto h = kernel_ ? kernel_->create_tunnel(spec)
                           : Result<kernel::TunnelHandle, kernel::DataPlaneError>(unexpected(kernel::DataPlaneError{
                                 kernel::DataPlaneErrorCode::kUnavailable, "data plane", 0, "none"}));
          std::string err;
          if (h && h->udp_fd >= 0) {
            int dup = fcntl(h->udp_fd, F_DUPFD_CLOEXEC, 3);
            if (dup < 0)
              err = std::string("dup: ") + std::strerror(errno);
            else if (auto ok = driver_.attach_tunnel_socket(a.tunnel_id, dup); !ok)
              err = ok.error().message;
            if (!err.empty()) (void)kernel_->destroy_tunnel(a.tunnel_id);
          } else if (!h) {
            err = h.error().to_string();
          }
          if (!err.empty()) return core_.kernel_tunnel_failed(now, a.tunnel_id, err);
          tunnels_[a.tunnel_id] = *h;
          log::debug("event=kernel_tunnel tunnel=" + std::to_string(a.tunnel_id) + " peer=" + a.peer.to_string());
        } else if constexpr (std::is_same_v<T, vpn::DestroyKernelTunnel>) {
          driver_.detach_tunnel_socket(a.tunnel_id);
          if (tunnels_.erase(a.tunnel_id) && kernel_) (void)kernel_->destroy_tunnel(a.tunnel_id);
        } else if constexpr (std::is_same_v<T, vpn::CreateKernelSession>) {
          SessionIo* io = io_for(a.serial, a.tunnel_id, a.session_id);
          auto t = tunnels_.find(a.tunnel_id);
          if (t == tunnels_.end() || !kernel_) return core_.data_path_failed(now, a.serial, "no kernel tunnel");
          kernel::SessionOptions so;
          so.send_seq = so.recv_seq = a.sequencing;
          so.lns_mode = true;
          auto h = kernel_->create_session(t->second, a.session_id, a.peer_session_id, so);
          if (!h) return core_.data_path_failed(now, a.serial, h.error().to_string());
          io->session_fd = UniqueFd(h->fd >= 0 ? fcntl(h->fd, F_DUPFD_CLOEXEC, 3) : -1);
          core_.data_path_ready(now, a.serial, std::nullopt);
        } else if constexpr (std::is_same_v<T, vpn::DestroyKernelSession>) {
          if (kernel_) (void)kernel_->destroy_session(a.tunnel_id, a.session_id);
        } else if constexpr (std::is_same_v<T, vpn::OpenPty>) {
          auto pty = ppp::open_pty_pair();
          if (!pty) return core_.data_path_failed(now, a.serial, pty.error().to_string());
          SessionIo* io = io_for(a.serial, a.tunnel_id, a.session_id);
          ppp::PtyBacklogLimits limits;
          limits.mru = static_cast<size_t>(core_.ppp_settings().mru);
          io->pty = std::make_unique<PtyLink>(io_, limits);
          io->pty->master.assign(pty->master.release());
          boost::system::error_code nb;
          io->pty->master.non_blocking(true, nb);  // read_pty reads only when told it is readable
          pty_by_l2tp_[{a.tunnel_id, a.session_id}] = a.serial;  // until the session's SessionDown
          core_.data_path_ready(now, a.serial, pty->slave_path);
        } else if constexpr (std::is_same_v<T, vpn::SpawnPppd>) {
          SessionIo* io = io_by_serial_.at(a.serial).get();  // made with its data path
          // pppd gets our copy of the session socket; the plane keeps one.
          runner_.spawn(PppdStart{a.argv, std::move(io->session_fd)},
                        [this, serial = a.serial](Result<PppdRunning, os::LaunchError> started) {
                          on_pppd_started(serial, std::move(started));
                        });
        } else if constexpr (std::is_same_v<T, vpn::SignalPppd>) {
          runner_.signal(a.pid, a.signal);
        } else if constexpr (std::is_same_v<T, vpn::ReleaseSession>) {
          auto it = io_by_serial_.find(a.serial);
          if (it == io_by_serial_.end()) return;
          boost::system::error_code ec;
          it->second->report.close(ec);
          if (it->second->pty) it->second->pty->master.close(ec);
          // Its L2TP IDs may already belong to a newer session (SessionDown came first and the IDs were reused).
          if (auto p = pty_by_l2tp_.find({it->second->tunnel_id, it->second->session_id});
              p != pty_by_l2tp_.end() && p->second == a.serial)
            pty_by_l2tp_.erase(p);
          io_by_serial_.erase(it);
        }
      },
      action);
}

SessionManager::SessionIo* SessionManager::io_for(uint64_t serial, uint16_t tunnel_id, uint16_t session_id) {
  auto& io = io_by_serial_[serial];
  if (!io) io = std::make_unique<SessionIo>(io_);
  io->serial = serial;
  io->tunnel_id = tunnel_id;
  io->session_id = session_id;
  return io.get();
}

// ---- userspace data path ----

void SessionManager::on_session_data(const l2tp::SessionData& a) {
  auto it = pty_by_l2tp_.find({a.tunnel_id, a.session_id});
  if (it == pty_by_l2tp_.end()) return;
  auto io = io_by_serial_.find(it->second);
  if (io == io_by_serial_.end() || !io->second->pty || !io->second->pppd_started) return;
  SessionIo& s = *io->second;
  switch (s.pty->backlog.push(a.ppp)) {
    case ppp::PtyBacklog::Verdict::kTooLong: ++core_.counters().pty_oversize_drops; return;
    case ppp::PtyBacklog::Verdict::kFull: ++core_.counters().pty_overflow_drops; return;
    case ppp::PtyBacklog::Verdict::kQueued: break;
  }
  ++core_.counters().pty_frames_out;
  write_pty(s);
}

void SessionManager::write_pty(SessionIo& s) {
  if (!s.pty) return;
  const Bytes* data = s.pty->backlog.begin_write();
  if (!data) return;
  uint64_t serial = s.serial;
  asio::async_write(s.pty->master, asio::buffer(*data), [this, serial](boost::system::error_code ec, size_t) {
    auto it = io_by_serial_.find(serial);
    if (it == io_by_serial_.end() || !it->second->pty) return;
    SessionIo& se = *it->second;
    se.pty->backlog.done_writing();
    if (ec) return;  // pppd closed the tty; its exit ends the session
    write_pty(se);
  });
}

void SessionManager::read_pty(uint64_t serial) {
  auto it = io_by_serial_.find(serial);
  if (it == io_by_serial_.end() || !it->second->pty) return;
  PtyLink& p = *it->second->pty;
  // Waits for readability, then reads into the one buffer all sessions share: a pending read with a buffer of
  // its own would hold 4 KiB per session for as long as the session lives.
  p.master.async_wait(asio::posix::descriptor_base::wait_read, [this, serial](boost::system::error_code ec) {
    auto it2 = io_by_serial_.find(serial);
    if (ec || it2 == io_by_serial_.end() || !it2->second->pty) return;
    SessionIo& se = *it2->second;
    const size_t n = se.pty->master.read_some(asio::buffer(read_buffer_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      read_pty(serial);
      return;
    }
    // EIO: no process has the slave open (pppd not there yet, or gone). pppd opens it shortly after exec;
    // poll again a little later rather than spin.
    if (ec == asio::error::eof || ec.value() == EIO) {
      auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
      t->async_wait([this, serial, t](boost::system::error_code) { read_pty(serial); });
      return;
    }
    if (ec) return;
    auto& c = core_.counters();
    auto before = se.pty->decoder.stats();
    for (auto& frame : se.pty->decoder.feed(ByteView(read_buffer_.data(), n))) {
      ppp::ensure_address_control(frame);
      if (se.l2tp_open) {
        endpoint_.send_data(se.tunnel_id, se.session_id, frame);
        ++c.pty_frames_in;
      }
    }
    const auto& after = se.pty->decoder.stats();
    c.hdlc.bad_fcs += after.bad_fcs - before.bad_fcs;
    c.hdlc.too_short += after.too_short - before.too_short;
    c.hdlc.too_long += after.too_long - before.too_long;
    c.hdlc.aborted += after.aborted - before.aborted;
    driver_.kick();
    read_pty(serial);
  });
}

// ---- plugin reports ----

void SessionManager::read_reports(uint64_t serial) {
  auto it = io_by_serial_.find(serial);
  if (it == io_by_serial_.end()) return;
  SessionIo& s = *it->second;
  // As read_pty: wait, then read into the shared buffer (no buffer held per session while idle).
  s.report.async_wait(asio::socket_base::wait_read, [this, serial](boost::system::error_code ec) {
    auto it2 = io_by_serial_.find(serial);
    if (ec || it2 == io_by_serial_.end()) return;
    SessionIo& se = *it2->second;
    const size_t n = se.report.read_some(asio::buffer(read_buffer_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      read_reports(serial);
      return;
    }
    if (ec) return;  // EOF: pppd exited (SIGCHLD does the rest)
    for (auto& line : se.splitter.feed(std::string_view(reinterpret_cast<const char*>(read_buffer_.data()), n))) {
      if (!line) {
        core_.report_error();
        continue;
      }
      auto ev = ppp::parse_report_line(*line);
      if (!ev) {
        if (ev.error().code != ppp::ReportErrorCode::kUnknownEvent) core_.report_error();
        continue;
      }
      core_.plugin_report(l2tp::Clock::now(), serial, *ev);
    }
    run();
    read_reports(serial);
  });
}

// ---- pppd exit ----

void SessionManager::on_pppd_started(uint64_t serial, Result<PppdRunning, os::LaunchError> started) {
  const auto now = l2tp::Clock::now();
  if (!started) {
    core_.pppd_spawn_failed(now, serial, started.error().to_string());
    return run();
  }
  const pid_t pid = started->pid;
  core_.pppd_spawned(now, serial, pid);
  if (auto it = io_by_serial_.find(serial); it != io_by_serial_.end()) {
    SessionIo& io = *it->second;
    boost::system::error_code ec;
    io.report.assign(asio::local::stream_protocol(), started->report.release(), ec);
    if (!ec) io.report.non_blocking(true, ec);  // read_reports reads only when told it is readable
    read_reports(serial);
    io.pppd_started = true;  // (pty) frames from the peer now have a pppd to go to
    if (io.pty) read_pty(serial);  // (what pppd writes after the call ended is read and dropped)
  }
  if (auto r = runner_.try_reap(pid)) core_.pppd_exited(now, pid, r->termination);
  run();
}

void SessionManager::reap_children() {
  for (int pid : core_.running_pids()) {
    auto r = runner_.try_reap(pid);
    if (!r) continue;
    core_.pppd_exited(l2tp::Clock::now(), pid, r->termination);
  }
  run();
}

void SessionManager::kill_all() {
  stopping_ = true;
  // pppds started whose pid we have not learnt yet: the core does not know them, so they are killed here.
  for (pid_t pid : runner_.cancel_spawns()) {
    runner_.signal(pid, SIGKILL);
    (void)runner_.wait(pid);
  }
  for (int pid : core_.running_pids()) {
    runner_.signal(pid, SIGKILL);
    auto r = runner_.wait(pid);
    core_.pppd_exited(l2tp::Clock::now(), pid, r.termination);
  }
  core_.release_all();
  run();
  stopping_ = false;
}

// ---- start-up clean-up ----

bool SessionManager::is_our_pppd(const std::vector<std::string>& argv) {
  return !argv.empty() && argv[0].find("pppd") != std::string::npos &&
         std::find(argv.begin(), argv.end(), "l2tpvpn_report_fd") != argv.end();
}

size_t SessionManager::kill_stale_pppd(std::chrono::milliseconds grace) {
  std::vector<os::ProcessRef> stale;
  for (pid_t pid : os::list_pids()) {
    // Pinned before its argv is read, and still there after: the argv read was this process's, and the signals
    // below reach it or nothing, however long it takes to end (its pid may be reused meanwhile).
    auto process = os::ProcessRef::open(pid);
    if (!process) continue;
    // The process may exit while we look: its argv then reads as empty.
    if (is_our_pppd(os::cmdline_of(pid)) && !process->ended()) stale.push_back(std::move(*process));
  }
  for (const auto& p : stale) log::warn("event=stale_pppd pid=" + std::to_string(p.pid()) + " action=terminate");
  os::StopPolicy policy;
  policy.grace = grace;
  policy.poll_interval = std::chrono::milliseconds(50);
  (void)os::stop_processes(stale, policy);
  return stale.size();
}

// ---- users and status ----

Status<ppp::IpPoolError> SessionManager::reload_users(const ppp::UserStore& users) {
  auto r = core_.reload_users(users);
  run();  // its log lines
  return r;
}

size_t SessionManager::disconnect_user(const std::string& user) {
  size_t n = core_.disconnect_user(l2tp::Clock::now(), user);
  run();
  return n;
}

std::vector<SessionView> SessionManager::session_views() const {
  auto views = core_.views(std::chrono::system_clock::now(), l2tp::Clock::now());
  // Interface counters of the sessions that are up, from one netlink dump (at most kLinkStatsMaxAge old) for all
  // of them: rx is what the client sent us.
  const auto now = LinkStatsCache::Clock::now();
  for (auto& v : views) {
    if (!v.interface) continue;
    const LinkCounters c = link_stats_.get(now, *v.interface).value_or(LinkCounters{});
    v.bytes_in = c.rx_bytes;
    v.bytes_out = c.tx_bytes;
    v.packets_in = c.rx_packets;
    v.packets_out = c.tx_packets;
  }
  return views;
}

}  // namespace l2tpvpn
