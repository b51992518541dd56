#include "server/session_manager.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/display.hpp"
#include "common/os/proc.hpp"
#include "common/os/stop.hpp"
#include "common/unique_fd.hpp"
#include "ppp/pppd_args.hpp"
#include "ppp/pty.hpp"
#include "server/log.hpp"

namespace l2tpvpn {

namespace asio = boost::asio;

// ---- SystemPppdRunner ----

Result<pid_t, os::LaunchError> SystemPppdRunner::spawn(const std::vector<std::string>& argv, int pppol2tp_fd,
                                                       int report_fd) {
  return ppp::spawn_pppd(argv, pppol2tp_fd, report_fd, STDERR_FILENO);
}
void SystemPppdRunner::signal(pid_t pid, int sig) { (void)os::signal_process_group(pid, sig); }
std::optional<ppp::Reaped> SystemPppdRunner::try_reap(pid_t pid) { return ppp::try_reap_pppd(pid); }
ppp::Reaped SystemPppdRunner::wait(pid_t pid) { return ppp::wait_for_pppd(pid); }

// ---- per-session state ----

// Userspace data path: pppd speaks async HDLC on a pty; we (de)frame between its master and L2TP data messages.
struct SessionManager::PtyLink {
  explicit PtyLink(asio::io_context& io) : master(io) {}
  asio::posix::stream_descriptor master;
  ppp::HdlcDecoder decoder;
  std::array<uint8_t, 4096> rbuf{};
  std::deque<Bytes> queue;  // HDLC-encoded frames waiting for the pty
  bool writing = false;
  std::string slave_path;
};

struct SessionManager::Session {
  explicit Session(asio::io_context& io) : report(io), kill_timer(io) {}
  uint64_t serial = 0;
  uint16_t tunnel_id = 0, session_id = 0, peer_tunnel_id = 0, peer_session_id = 0;
  l2tp::PeerAddress peer;
  std::string key;  // pool key
  uint32_t unit = 0;
  std::string ifname;
  pid_t pid = 0;  // 0 once reaped (or never started)
  bool l2tp_open = true;
  bool kernel_session = false;  // a kernel session socket exists in the data plane
  asio::local::stream_protocol::socket report;
  ppp::ReportLineSplitter splitter;
  std::array<char, 1024> report_buf{};
  std::optional<ppp::PppPhase> phase;       // the latest
  std::optional<ppp::PppPhase> last_phase;  // the furthest before going down (ExitContext)
  std::optional<std::string> user;
  ppp::Ipv4Address address;
  std::string local_address;
  bool ip_up = false;
  std::optional<ppp::StatsEvent> final_stats;
  std::optional<ppp::PppdTermination> termination;
  std::chrono::system_clock::time_point since;
  asio::steady_timer kill_timer;
  std::unique_ptr<PtyLink> pty;
};

namespace {

l2tp::ResultCode to_l2tp(const ppp::CdnResult& r) { return l2tp::ResultCode{r.result, r.error, r.message}; }

l2tp::PppDisconnectCause to_l2tp(const ppp::DisconnectCause& c) {
  return l2tp::PppDisconnectCause{static_cast<uint16_t>(c.code), c.protocol, static_cast<uint8_t>(c.direction),
                                  c.message};
}

std::string utc(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<uint64_t> read_counter(const std::string& ifname, const char* name) {
  std::ifstream in("/sys/class/net/" + ifname + "/statistics/" + name);
  uint64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

bool is_going_down(ppp::PppPhase p) {
  return p == ppp::PppPhase::kTerminate || p == ppp::PppPhase::kDisconnect || p == ppp::PppPhase::kDead ||
         p == ppp::PppPhase::kHoldoff;
}

std::string session_label(uint16_t t, uint16_t s) { return "tunnel=" + std::to_string(t) + " session=" + std::to_string(s); }

}  // namespace

// ---- construction ----

Result<std::unique_ptr<SessionManager>, std::string> SessionManager::create(
    asio::io_context& io, l2tp::Endpoint& endpoint, L2tpDriver& driver, kernel::DataPlane* kernel,
    PppdRunner& runner, SessionManagerConfig config, const ppp::UserStore& users) {
  auto pool = ppp::IpPool::create(
      ppp::IpPoolConfig{config.pool.range, config.pool.server_address, config.pool.exclude, users.reservations()});
  if (!pool) return unexpected("address pool: " + pool.error().to_string());
  return std::unique_ptr<SessionManager>(
      new SessionManager(io, endpoint, driver, kernel, runner, std::move(config), std::move(pool).value()));
}

SessionManager::SessionManager(asio::io_context& io, l2tp::Endpoint& endpoint, L2tpDriver& driver,
                               kernel::DataPlane* kernel, PppdRunner& runner, SessionManagerConfig config,
                               ppp::IpPool pool)
    : io_(io),
      endpoint_(endpoint),
      driver_(driver),
      kernel_(kernel),
      runner_(runner),
      config_(std::move(config)),
      pool_(std::move(pool)) {}

SessionManager::~SessionManager() { kill_all(); }

void SessionManager::handle(const l2tp::Action& action) {
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, l2tp::TunnelUp>) on_tunnel_up(a);
        if constexpr (std::is_same_v<T, l2tp::TunnelDown>) on_tunnel_down(a);
        if constexpr (std::is_same_v<T, l2tp::SessionUp>) on_session_up(a);
        if constexpr (std::is_same_v<T, l2tp::SessionDown>) on_session_down(a);
        if constexpr (std::is_same_v<T, l2tp::SessionData>) on_session_data(a);
      },
      action);
}

// ---- tunnels ----

void SessionManager::on_tunnel_up(const l2tp::TunnelUp& a) {
  if (!kernel_) return;
  if (a.peer.family != l2tp::PeerAddress::Family::kV4) {
    log::warn("event=kernel_tunnel_failed tunnel=" + std::to_string(a.tunnel_id) + " error=\"IPv6 peer\"");
    endpoint_.close_tunnel(l2tp::Clock::now(), a.tunnel_id,
                           l2tp::ResultCode{l2tp::result::kStopGeneralError, std::nullopt, "IPv6 not supported"});
    driver_.kick();
    return;
  }
  kernel::TunnelSpec spec;
  std::copy_n(a.peer.ip.begin(), 4, spec.peer.ip.begin());
  spec.peer.port = a.peer.port;
  for (const auto& [tid, peer] : kernel_peers_) {
    if (peer == spec.peer) {
      // Same peer address and port as a kernel tunnel we have: a second connected UDP socket with the same
      // 4-tuple would make the kernel deliver both tunnels' data to one of them. This tunnel's sessions use the
      // userspace path; their data reaches us through the other tunnel's socket (the kernel passes packets of
      // sessions it does not know up to the socket's reader), and session IDs are unique across tunnels.
      log::info("event=tunnel_data_path tunnel=" + std::to_string(a.tunnel_id) + " data_path=pty reason=\"peer " +
                a.peer.to_string() + " already has kernel tunnel " + std::to_string(tid) + "\"");
      return;
    }
  }
  spec.local_tunnel_id = a.tunnel_id;
  spec.peer_tunnel_id = a.peer_tunnel_id;
  spec.local = config_.local;
  auto h = kernel_->create_tunnel(spec);
  std::string err;
  if (h && h->udp_fd >= 0) {
    int dup = fcntl(h->udp_fd, F_DUPFD_CLOEXEC, 3);
    if (dup < 0) {
      err = std::string("dup: ") + std::strerror(errno);
    } else if (!driver_.attach_tunnel_socket(a.tunnel_id, dup, err)) {
      // attach_tunnel_socket owns `dup` and closed it.
    }
    if (!err.empty()) (void)kernel_->destroy_tunnel(a.tunnel_id);
  } else if (!h) {
    err = h.error().to_string();
  }
  if (!err.empty()) {
    log::error("event=kernel_tunnel_failed tunnel=" + std::to_string(a.tunnel_id) + " error=\"" + err + "\"");
    endpoint_.close_tunnel(l2tp::Clock::now(), a.tunnel_id,
                           l2tp::ResultCode{l2tp::result::kStopGeneralError, std::nullopt, "data path unavailable"});
    driver_.kick();
    return;
  }
  tunnels_[a.tunnel_id] = *h;
  kernel_peers_[a.tunnel_id] = spec.peer;
  log::debug("event=kernel_tunnel tunnel=" + std::to_string(a.tunnel_id) + " peer=" + a.peer.to_string());
}

void SessionManager::on_tunnel_down(const l2tp::TunnelDown& a) {
  auto it = tunnels_.find(a.tunnel_id);
  if (it == tunnels_.end()) return;
  driver_.detach_tunnel_socket(a.tunnel_id);
  // Sessions whose pppd still runs keep their own copy of the session socket; the kernel tunnel goes when the
  // last of them has exited. Ours are closed here.
  for (auto& [serial, s] : sessions_)
    if (s->tunnel_id == a.tunnel_id) s->kernel_session = false;
  (void)kernel_->destroy_tunnel(a.tunnel_id);
  tunnels_.erase(it);
  kernel_peers_.erase(a.tunnel_id);
}

// ---- sessions ----

uint32_t SessionManager::allocate_unit() {
  uint32_t u = 0;
  while (units_.count(u)) ++u;
  units_.insert(u);
  return u;
}

void SessionManager::refuse(const l2tp::SessionUp& a, uint16_t result, const std::string& why) {
  ++stats_.sessions_refused;
  log::warn("event=session_refused " + session_label(a.tunnel_id, a.session_id) + " reason=\"" + why + "\"");
  endpoint_.close_session(l2tp::Clock::now(), a.tunnel_id, a.session_id, l2tp::ResultCode{result, std::nullopt, why});
  driver_.kick();
}

void SessionManager::on_session_up(const l2tp::SessionUp& a) {
  auto s = std::make_unique<Session>(io_);
  s->serial = next_serial_++;
  s->tunnel_id = a.tunnel_id;
  s->session_id = a.session_id;
  s->peer_tunnel_id = a.peer_tunnel_id;
  s->peer_session_id = a.peer_session_id;
  s->peer = a.peer;
  s->key = "s" + std::to_string(s->serial);
  s->since = std::chrono::system_clock::now();

  auto addr = pool_.allocate(s->key);
  if (!addr) return refuse(a, l2tp::result::kCdnTemporaryResources, "no address: " + addr.error().to_string());
  s->address = *addr;

  // Everything acquired below is released by `undo` if a later step fails.
  auto undo = [&](const std::string& why) {
    pool_.release(s->key);
    if (s->kernel_session) (void)kernel_->destroy_session(a.tunnel_id, a.session_id);
    refuse(a, l2tp::result::kCdnTemporaryResources, why);
  };

  ppp::PppdOptions o;
  UniqueFd session_fd_copy;  // (kernel) the descriptor pppd gets; the plane keeps its own
  auto t = kernel_ ? tunnels_.find(a.tunnel_id) : tunnels_.end();
  if (t != tunnels_.end()) {
    kernel::SessionOptions so;
    so.send_seq = so.recv_seq = a.sequencing_required;
    so.lns_mode = true;
    auto h = kernel_->create_session(t->second, a.session_id, a.peer_session_id, so);
    if (!h) return undo("kernel session: " + h.error().to_string());
    s->kernel_session = true;
    ppp::KernelDataPath k;
    k.tunnel_id = a.tunnel_id;
    k.session_id = a.session_id;
    k.recv_seq = k.send_seq = a.sequencing_required;
    o.data_path = k;
    session_fd_copy = UniqueFd(h->fd >= 0 ? fcntl(h->fd, F_DUPFD_CLOEXEC, 3) : -1);
  } else {
    auto pty = ppp::open_pty_pair();
    if (!pty) return undo("pty: " + pty.error().to_string());
    s->pty = std::make_unique<PtyLink>(io_);
    s->pty->slave_path = pty->slave_path;
    s->pty->master.assign(pty->master.release());
    o.data_path = ppp::PtyDataPath{s->pty->slave_path};
  }

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return undo(std::string("socketpair: ") + std::strerror(errno));
  UniqueFd ours(sv[0]), child(sv[1]);

  s->unit = allocate_unit();
  s->ifname = ppp::interface_name_for_unit(s->unit);
  o.pppd_path = config_.ppp.pppd_path;
  o.unit = s->unit;
  o.server_name = config_.ppp.server_name;
  o.local_address = config_.pool.server_address;
  o.remote_address = ppp::to_string(s->address);
  o.dns = config_.ppp.dns;
  o.auth = ppp::AuthPolicy{config_.ppp.mschap_v2, config_.ppp.mschap, config_.ppp.chap, config_.ppp.pap};
  o.mtu = config_.ppp.mtu;
  o.mru = config_.ppp.mru;
  o.lcp_echo_interval = config_.ppp.lcp_echo_interval;
  o.lcp_echo_failure = config_.ppp.lcp_echo_failure;
  o.proxyarp = config_.ppp.proxyarp;
  o.debug = config_.ppp.debug;
  o.plugin = ppp::PluginOptions{config_.ppp.plugin, ppp::kReportChildFd, config_.users_file};
  auto argv = ppp::build_pppd_args(o);
  if (!argv) {
    units_.erase(s->unit);
    return undo("pppd options: " + argv.error().to_string());
  }
  auto pid = runner_.spawn(*argv, session_fd_copy.get(), child.get());
  if (!pid) {
    units_.erase(s->unit);
    return undo("pppd: " + pid.error().to_string());
  }
  child.reset();
  session_fd_copy.reset();
  s->pid = *pid;
  boost::system::error_code ec;
  s->report.assign(asio::local::stream_protocol(), ours.release(), ec);
  ++stats_.sessions_started;
  log::info("event=pppd_started " + session_label(a.tunnel_id, a.session_id) + " pid=" + std::to_string(s->pid) +
            " ifname=" + s->ifname + " address=" + o.remote_address + " data_path=" + (s->pty ? "pty" : "kernel") +
            " peer=" + a.peer.to_string());

  uint64_t serial = s->serial;
  by_l2tp_[{a.tunnel_id, a.session_id}] = serial;
  by_pid_[s->pid] = serial;
  sessions_[serial] = std::move(s);
  read_reports(serial);
  if (sessions_.at(serial)->pty) read_pty(serial);
}

void SessionManager::on_session_down(const l2tp::SessionDown& a) {
  auto it = by_l2tp_.find({a.tunnel_id, a.session_id});
  if (it == by_l2tp_.end()) return;  // never got as far as pppd (refused), or not ours
  uint64_t serial = it->second;
  by_l2tp_.erase(it);
  Session& s = *sessions_.at(serial);
  s.l2tp_open = false;
  if (s.kernel_session) {
    (void)kernel_->destroy_session(s.tunnel_id, s.session_id);
    s.kernel_session = false;
  }
  if (s.pid != 0) {
    log::info("event=pppd_stop " + session_label(s.tunnel_id, s.session_id) + " pid=" + std::to_string(s.pid) +
              " by_peer=" + (a.by_peer ? "yes" : "no"));
    stop_pppd(s);
  } else {
    finish(serial);
  }
}

void SessionManager::stop_pppd(Session& s) {
  // The L2TP session is already gone (CDN or StopCCN sent or received): SIGHUP. Alone it would make pppd send an
  // LCP Terminate-Request and wait 2 x 3 s for an ack nobody can send; pppd never sees a hang-up from the kernel
  // either, since its own descriptor keeps the PPPoL2TP channel registered. Our plugin (loaded with
  // l2tpvpn_sighup_is_hangup) makes the SIGHUP a hang-up: pppd runs ip-down, reports its counters and exits at
  // once (measured in the VM tier: 73-243 ms). The stop timeout's SIGKILL is only the backstop; nothing is left
  // behind either way (the kernel drops the ppp unit and session with pppd's descriptors).
  runner_.signal(s.pid, SIGHUP);
  s.kill_timer.expires_after(std::chrono::milliseconds(config_.ppp.stop_timeout_ms));
  uint64_t serial = s.serial;
  s.kill_timer.async_wait([this, serial](boost::system::error_code ec) {
    if (ec) return;
    auto it = sessions_.find(serial);
    if (it == sessions_.end() || it->second->pid == 0) return;
    ++stats_.pppd_killed;
    log::warn("event=pppd_kill pid=" + std::to_string(it->second->pid) + " reason=\"stop timeout\"");
    runner_.signal(it->second->pid, SIGKILL);
  });
}

void SessionManager::on_session_data(const l2tp::SessionData& a) {
  auto it = by_l2tp_.find({a.tunnel_id, a.session_id});
  if (it == by_l2tp_.end()) return;
  Session& s = *sessions_.at(it->second);
  if (!s.pty) return;
  // pppd reads its tty at its own pace; a backlog beyond this is a sender outrunning it: drop like a full link.
  constexpr size_t kMaxQueuedFrames = 256;
  if (s.pty->queue.size() >= kMaxQueuedFrames) {
    ++stats_.pty_overflow_drops;
    return;
  }
  Bytes framed;
  ppp::encode_hdlc_frame(a.ppp, ppp::kDefaultAccm, framed);
  s.pty->queue.push_back(std::move(framed));
  ++stats_.pty_frames_out;
  if (!s.pty->writing) write_pty(s);
}

void SessionManager::write_pty(Session& s) {
  if (!s.pty || s.pty->queue.empty()) return;
  s.pty->writing = true;
  // One write for everything queued: pppd's tty reads whatever is there, so fewer, larger writes cost less.
  while (s.pty->queue.size() > 1) {
    auto second = std::next(s.pty->queue.begin());
    s.pty->queue.front().insert(s.pty->queue.front().end(), second->begin(), second->end());
    s.pty->queue.erase(second);
  }
  uint64_t serial = s.serial;
  asio::async_write(s.pty->master, asio::buffer(s.pty->queue.front()),
                    [this, serial](boost::system::error_code ec, size_t) {
                      auto it = sessions_.find(serial);
                      if (it == sessions_.end() || !it->second->pty) return;
                      Session& se = *it->second;
                      se.pty->writing = false;
                      if (ec) return;  // pppd closed the tty; its exit ends the session
                      se.pty->queue.pop_front();
                      write_pty(se);
                    });
}

void SessionManager::read_pty(uint64_t serial) {
  auto it = sessions_.find(serial);
  if (it == sessions_.end() || !it->second->pty) return;
  PtyLink& p = *it->second->pty;
  p.master.async_read_some(asio::buffer(p.rbuf), [this, serial](boost::system::error_code ec, size_t n) {
    auto it2 = sessions_.find(serial);
    if (it2 == sessions_.end() || !it2->second->pty) return;
    Session& s = *it2->second;
    // EIO: no process has the slave open (pppd not there yet, or gone). pppd opens it shortly after exec;
    // poll again a little later rather than spin.
    if (ec == asio::error::eof || ec.value() == EIO) {
      auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
      t->async_wait([this, serial, t](boost::system::error_code) { read_pty(serial); });
      return;
    }
    if (ec) return;
    auto before = s.pty->decoder.stats();
    for (auto& frame : s.pty->decoder.feed(ByteView(s.pty->rbuf.data(), n))) {
      ppp::ensure_address_control(frame);
      if (s.l2tp_open) {
        endpoint_.send_data(s.tunnel_id, s.session_id, frame);
        ++stats_.pty_frames_in;
      }
    }
    const auto& after = s.pty->decoder.stats();
    stats_.hdlc.bad_fcs += after.bad_fcs - before.bad_fcs;
    stats_.hdlc.too_short += after.too_short - before.too_short;
    stats_.hdlc.too_long += after.too_long - before.too_long;
    stats_.hdlc.aborted += after.aborted - before.aborted;
    driver_.kick();
    read_pty(serial);
  });
}

// ---- plugin reports ----

void SessionManager::read_reports(uint64_t serial) {
  auto it = sessions_.find(serial);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  s.report.async_read_some(asio::buffer(s.report_buf), [this, serial](boost::system::error_code ec, size_t n) {
    auto it2 = sessions_.find(serial);
    if (it2 == sessions_.end()) return;
    Session& se = *it2->second;
    if (ec) return;  // EOF: pppd exited (SIGCHLD does the rest)
    for (auto& line : se.splitter.feed(std::string_view(se.report_buf.data(), n))) {
      if (!line) {
        ++stats_.report_errors;
        continue;
      }
      auto ev = ppp::parse_report_line(*line);
      if (!ev) {
        if (ev.error().code != ppp::ReportErrorCode::kUnknownEvent) ++stats_.report_errors;
        continue;
      }
      on_report(se, *ev);
      if (!sessions_.count(serial)) return;
    }
    read_reports(serial);
  });
}

void SessionManager::on_report(Session& s, const ppp::PluginEvent& ev) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ppp::PhaseEvent>) {
          s.phase = e.phase;
          if (!is_going_down(e.phase) && (!s.last_phase || e.phase > *s.last_phase)) s.last_phase = e.phase;
        } else if constexpr (std::is_same_v<T, ppp::AuthEvent>) {
          s.user = e.peer;
          auto moved = pool_.bind_user(s.key, e.peer);
          if (!moved) {
            // The user's static address is held by another of their sessions: the plugin would hand it out
            // twice. One session per static address.
            log::warn("event=session_refused " + session_label(s.tunnel_id, s.session_id) +
                      " reason=\"static address in use\"");
            if (s.l2tp_open)
              endpoint_.close_session(
                  l2tp::Clock::now(), s.tunnel_id, s.session_id,
                  l2tp::ResultCode{l2tp::result::kCdnAdministrative, std::nullopt, "static address already in use"});
            driver_.kick();
            return;
          }
          s.address = *moved;
          log::info("event=ppp_auth " + session_label(s.tunnel_id, s.session_id) + " user=\"" +
                    ppp::report_escape(e.peer) + "\" address=" + ppp::to_string(s.address));
        } else if constexpr (std::is_same_v<T, ppp::AuthFailEvent>) {
          // Reported by our plugin when it refuses the credentials: counted here rather than from pppd's exit
          // status, which a CDN from the client can overtake (pppd then exits "hangup" on our SIGHUP).
          ++stats_.auth_failures;
          log::warn("event=ppp_auth_failed " + session_label(s.tunnel_id, s.session_id) + " user=\"" +
                    ppp::report_escape(e.peer) + "\" peer=" + s.peer.to_string());
        } else if constexpr (std::is_same_v<T, ppp::IpUpEvent>) {
          s.ip_up = true;
          s.ifname = e.ifname;
          s.local_address = ppp::to_string(e.local);
          if (e.remote != s.address)
            log::warn("event=ppp_address_mismatch " + session_label(s.tunnel_id, s.session_id) +
                      " pool=" + ppp::to_string(s.address) + " pppd=" + ppp::to_string(e.remote));
          log::info("event=ppp_up " + session_label(s.tunnel_id, s.session_id) + " ifname=" + e.ifname +
                    " local=" + s.local_address + " remote=" + ppp::to_string(e.remote));
        } else if constexpr (std::is_same_v<T, ppp::IpDownEvent>) {
          s.ip_up = false;
        } else if constexpr (std::is_same_v<T, ppp::StatsEvent>) {
          s.final_stats = e;
        }
      },
      ev.body);
}

// ---- pppd exit ----

void SessionManager::reap_children() {
  std::vector<std::pair<pid_t, uint64_t>> running(by_pid_.begin(), by_pid_.end());
  for (auto [pid, serial] : running) {
    auto r = runner_.try_reap(pid);
    if (!r) continue;
    by_pid_.erase(pid);
    on_pppd_exit(serial, r->termination);
  }
}

void SessionManager::on_pppd_exit(uint64_t serial, const ppp::PppdTermination& t) {
  auto it = sessions_.find(serial);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  ++stats_.pppd_exits;
  s.pid = 0;
  s.termination = t;
  s.kill_timer.cancel();
  ppp::ExitContext ctx;
  ctx.last_phase = s.last_phase;
  ctx.auth_protocol = (config_.ppp.pap && !config_.ppp.mschap_v2 && !config_.ppp.mschap && !config_.ppp.chap)
                          ? ppp::kProtoPap
                          : ppp::kProtoChap;
  auto reason = ppp::map_pppd_termination(t, ctx);
  log::info("event=pppd_exit " + session_label(s.tunnel_id, s.session_id) + " status=" +
            std::string(ppp::to_string(t.exit)) + " code=" + std::to_string(t.raw_exit_code) +
            " signal=" + std::to_string(t.signal) + " cdn_result=" + std::to_string(reason.result.result) +
            " cause=" + std::to_string(static_cast<int>(reason.cause.code)));
  if (s.l2tp_open) {
    // The CDN produces a SessionDown, which finds the session with no pppd and finishes it.
    endpoint_.close_session(l2tp::Clock::now(), s.tunnel_id, s.session_id, to_l2tp(reason.result),
                            to_l2tp(reason.cause));
    driver_.kick();
    if (sessions_.count(serial) && sessions_.at(serial)->l2tp_open) {
      // The endpoint had already forgotten the session (e.g. the tunnel went down in the same turn).
      by_l2tp_.erase({s.tunnel_id, s.session_id});
      finish(serial);
    }
  } else {
    finish(serial);
  }
}

void SessionManager::finish(uint64_t serial) {
  auto it = sessions_.find(serial);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  if (s.kernel_session && kernel_) (void)kernel_->destroy_session(s.tunnel_id, s.session_id);
  pool_.release(s.key);
  units_.erase(s.unit);
  boost::system::error_code ec;
  s.report.close(ec);
  if (s.pty) s.pty->master.close(ec);
  s.kill_timer.cancel();
  log::debug("event=session_released " + session_label(s.tunnel_id, s.session_id));
  sessions_.erase(it);
}

void SessionManager::kill_all() {
  std::vector<std::pair<pid_t, uint64_t>> running(by_pid_.begin(), by_pid_.end());
  for (auto [pid, serial] : running) {
    runner_.signal(pid, SIGKILL);
    auto r = runner_.wait(pid);
    by_pid_.erase(pid);
    auto it = sessions_.find(serial);
    if (it != sessions_.end()) {
      it->second->pid = 0;
      it->second->termination = r.termination;
    }
  }
  while (!sessions_.empty()) {
    auto serial = sessions_.begin()->first;
    by_l2tp_.erase({sessions_.begin()->second->tunnel_id, sessions_.begin()->second->session_id});
    finish(serial);
  }
}

// ---- start-up clean-up ----

size_t SessionManager::kill_stale_pppd(std::chrono::milliseconds grace) {
  std::vector<pid_t> stale;
  for (pid_t pid : os::list_pids()) {
    // The process may exit while we look: its argv then reads as empty.
    const std::vector<std::string> argv = os::cmdline_of(pid);
    bool ours = !argv.empty() && argv[0].find("pppd") != std::string::npos &&
                std::find(argv.begin(), argv.end(), "l2tpvpn_report_fd") != argv.end();
    if (ours) stale.push_back(pid);
  }
  for (pid_t p : stale) log::warn("event=stale_pppd pid=" + std::to_string(p) + " action=terminate");
  os::StopPolicy policy;
  policy.grace = grace;
  policy.poll_interval = std::chrono::milliseconds(50);
  (void)os::stop_processes(stale, policy);
  return stale.size();
}

// ---- users ----

Status<std::string> SessionManager::reload_users(const ppp::UserStore& users) {
  auto pool = ppp::IpPool::create(ppp::IpPoolConfig{config_.pool.range, config_.pool.server_address,
                                                    config_.pool.exclude, users.reservations()});
  if (!pool) return unexpected("address pool: " + pool.error().to_string());
  for (const auto& [serial, s] : sessions_) {
    if (auto held = pool_.address_of(s->key)) {
      if (auto r = pool->adopt(s->key, *held); !r)
        log::warn("event=pool_reload_conflict " + session_label(s->tunnel_id, s->session_id) + " error=\"" +
                  r.error().to_string() + "\"");
    }
  }
  pool_ = std::move(pool).value();
  return {};
}

size_t SessionManager::disconnect_user(const std::string& user) {
  std::vector<std::pair<uint16_t, uint16_t>> ids;
  for (const auto& [serial, s] : sessions_)
    if (s->l2tp_open && s->user == user) ids.emplace_back(s->tunnel_id, s->session_id);
  for (auto [t, sid] : ids)
    endpoint_.close_session(l2tp::Clock::now(), t, sid,
                            l2tp::ResultCode{l2tp::result::kCdnAdministrative, std::nullopt, "disconnected by admin"});
  if (!ids.empty()) driver_.kick();
  return ids.size();
}

// ---- status ----

std::vector<SessionView> SessionManager::session_views() const {
  std::vector<SessionView> out;
  for (const auto& [serial, sp] : sessions_) {
    const Session& s = *sp;
    SessionView v;
    if (!s.l2tp_open || s.pid == 0 || (s.phase && is_going_down(*s.phase)))
      v.state = SessionPhase::kClosing;
    else if (s.ip_up)
      v.state = SessionPhase::kUp;
    else if (s.phase && *s.phase >= ppp::PppPhase::kAuthenticate)
      v.state = SessionPhase::kAuthenticating;
    v.tunnel = s.tunnel_id;
    v.session = s.session_id;
    v.peer_tunnel = s.peer_tunnel_id;
    v.peer_session = s.peer_session_id;
    v.peer = s.peer.to_string();
    v.user = s.user;
    v.address = ppp::to_string(s.address);
    if (s.ip_up) v.interface = s.ifname;
    v.data_path = s.pty ? "pty" : "kernel";
    v.since = utc(s.since);
    if (s.pid != 0) v.pppd_pid = s.pid;
    if (s.ip_up) {
      // Interface counters: rx is what the client sent us.
      v.bytes_in = read_counter(s.ifname, "rx_bytes").value_or(0);
      v.bytes_out = read_counter(s.ifname, "tx_bytes").value_or(0);
      v.packets_in = read_counter(s.ifname, "rx_packets").value_or(0);
      v.packets_out = read_counter(s.ifname, "tx_packets").value_or(0);
    } else if (s.final_stats) {
      v.bytes_in = s.final_stats->bytes_in;
      v.bytes_out = s.final_stats->bytes_out;
      v.packets_in = s.final_stats->packets_in;
      v.packets_out = s.final_stats->packets_out;
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace l2tpvpn
