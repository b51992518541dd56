#include "server/vpn/sessions.hpp"

#include <signal.h>

#include <algorithm>
#include <ctime>

#include "common/display.hpp"
#include "ppp/pppd_args.hpp"

namespace l2tpvpn::vpn {

namespace {

l2tp::ResultCode to_l2tp(const ppp::CdnResult& r) { return l2tp::ResultCode{r.result, r.error, r.message}; }

l2tp::PppDisconnectCause to_l2tp(const ppp::DisconnectCause& c) {
  return l2tp::PppDisconnectCause{static_cast<uint16_t>(c.code), c.protocol, static_cast<uint8_t>(c.direction),
                                  c.message};
}

bool is_going_down(ppp::PppPhase p) {
  return p == ppp::PppPhase::kTerminate || p == ppp::PppPhase::kDisconnect || p == ppp::PppPhase::kDead ||
         p == ppp::PppPhase::kHoldoff;
}

std::string label(uint16_t t, uint16_t s) { return "tunnel=" + std::to_string(t) + " session=" + std::to_string(s); }

std::string utc(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<Sessions, ppp::IpPoolError> Sessions::create(SessionsConfig config, const ppp::UserStore& users) {
  auto pool = ppp::IpPool::create(
      ppp::IpPoolConfig{config.pool.range, config.pool.server_address, config.pool.exclude, users.reservations()});
  if (!pool) return unexpected(pool.error());
  Sessions out(std::move(config), std::move(pool).value());
  out.remember_passwords(users);
  return out;
}

void Sessions::remember_passwords(const ppp::UserStore& users) {
  passwords_.clear();
  for (const auto& name : users.names()) passwords_[name] = users.find(name)->password;
}

Sessions::Sessions(SessionsConfig config, ppp::IpPool pool) : config_(std::move(config)), pool_(std::move(pool)) {}

std::vector<Action> Sessions::take_actions() {
  std::vector<Action> out;
  out.swap(actions_);
  return out;
}

Sessions::Session* Sessions::find(uint64_t serial) {
  auto it = sessions_.find(serial);
  return it == sessions_.end() ? nullptr : &it->second;
}

void Sessions::on_l2tp(TimePoint now, const l2tp::Action& action) {
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, l2tp::TunnelUp>) on_tunnel_up(now, a);
        if constexpr (std::is_same_v<T, l2tp::TunnelDown>) on_tunnel_down(now, a);
        if constexpr (std::is_same_v<T, l2tp::SessionUp>) on_session_up(now, a);
        if constexpr (std::is_same_v<T, l2tp::SessionDown>) on_session_down(now, a);
      },
      action);
}

// ---- tunnels ----

void Sessions::on_tunnel_up(TimePoint, const l2tp::TunnelUp& a) {
  if (!config_.kernel) return;
  if (a.peer.family != l2tp::PeerAddress::Family::kV4) {
    log(log::Level::kWarn, "event=kernel_tunnel_failed tunnel=" + std::to_string(a.tunnel_id) + " error=\"IPv6 peer\"");
    actions_.push_back(
        CloseTunnel{a.tunnel_id, l2tp::ResultCode{l2tp::result::kStopGeneralError, std::nullopt, "IPv6 not supported"}});
    return;
  }
  auto local_port = data_port_for(a.peer);
  if (!local_port) {
    log(log::Level::kWarn, "event=tunnel_data_path tunnel=" + std::to_string(a.tunnel_id) +
                               " data_path=pty reason=\"no data port left in " + std::to_string(config_.data_port_min) +
                               "-" + std::to_string(config_.data_port_max) + "\"");
    return;
  }
  for (const auto& [tid, k] : kernel_tunnels_) {
    if (k.local_port == *local_port && k.peer.same_host(a.peer) && k.peer.port == a.peer.port) {
      // The same 4-tuple as a kernel tunnel we have: a second connected UDP socket on it would make the kernel
      // deliver both tunnels' data to one of them. This tunnel's sessions use the userspace path; their data
      // reaches us through the other tunnel's socket (the kernel passes packets of sessions it does not know up
      // to the socket's reader), and session IDs are unique across tunnels.
      log(log::Level::kInfo, "event=tunnel_data_path tunnel=" + std::to_string(a.tunnel_id) +
                                 " data_path=pty reason=\"peer " + a.peer.to_string() + " already has kernel tunnel " +
                                 std::to_string(tid) + "\"");
      return;
    }
  }
  if (*local_port != 0) {
    auto [d, first] = data_ports_.try_emplace(a.peer.mark, DataPort{*local_port, 0});
    if (first) {
      data_ports_taken_.insert(*local_port);
      next_data_port_ = static_cast<uint16_t>(*local_port == config_.data_port_max ? config_.data_port_min
                                                                                    : *local_port + 1);
      actions_.push_back(MapDataPort{a.peer.mark, *local_port});
    }
    ++d->second.tunnels;
  }
  kernel_tunnels_[a.tunnel_id] = KernelTunnel{a.peer, *local_port};
  actions_.push_back(CreateKernelTunnel{a.tunnel_id, a.peer_tunnel_id, a.peer, *local_port});
}

std::optional<uint16_t> Sessions::data_port_for(const l2tp::PeerAddress& peer) {
  if (peer.mark == 0 || config_.data_port_min == 0 || config_.data_port_max < config_.data_port_min) return 0;
  if (auto it = data_ports_.find(peer.mark); it != data_ports_.end()) return it->second.port;
  const uint32_t span = uint32_t{config_.data_port_max} - config_.data_port_min + 1;
  if (next_data_port_ < config_.data_port_min || next_data_port_ > config_.data_port_max)
    next_data_port_ = config_.data_port_min;
  for (uint32_t i = 0; i < span; ++i) {
    const uint16_t port = static_cast<uint16_t>(config_.data_port_min + (next_data_port_ - config_.data_port_min + i) % span);
    if (!data_ports_taken_.count(port)) return port;
  }
  return std::nullopt;
}

void Sessions::release_kernel_tunnel(uint16_t tunnel_id) {
  auto it = kernel_tunnels_.find(tunnel_id);
  if (it == kernel_tunnels_.end()) return;
  const KernelTunnel k = it->second;
  kernel_tunnels_.erase(it);
  if (k.local_port == 0) return;
  auto d = data_ports_.find(k.peer.mark);
  if (d == data_ports_.end() || --d->second.tunnels > 0) return;
  data_ports_taken_.erase(d->second.port);
  data_ports_.erase(d);
  actions_.push_back(UnmapDataPort{k.peer.mark});
}

void Sessions::kernel_tunnel_failed(TimePoint, uint16_t tunnel_id, const std::string& why) {
  release_kernel_tunnel(tunnel_id);
  log(log::Level::kError, "event=kernel_tunnel_failed tunnel=" + std::to_string(tunnel_id) + " error=\"" + why + "\"");
  actions_.push_back(
      CloseTunnel{tunnel_id, l2tp::ResultCode{l2tp::result::kStopGeneralError, std::nullopt, "data path unavailable"}});
}

void Sessions::on_tunnel_down(TimePoint, const l2tp::TunnelDown& a) {
  if (!kernel_tunnels_.count(a.tunnel_id)) return;
  // Sessions whose pppd still runs keep their own copy of the session socket; the kernel tunnel goes when the
  // last of them has exited. The plane closes ours with the tunnel.
  for (auto& [serial, s] : sessions_)
    if (s.tunnel_id == a.tunnel_id) s.kernel_session = false;
  actions_.push_back(DestroyKernelTunnel{a.tunnel_id});
  release_kernel_tunnel(a.tunnel_id);  // after the tunnel's socket is gone, its data port may go
}

// ---- sessions ----

uint32_t Sessions::allocate_unit() {
  // The lowest unit not in use: a released one below the high-water mark, else the next above it. O(log n), not a
  // walk from 0 past every unit in use.
  uint32_t u = next_unit_;
  if (!free_units_.empty()) {
    u = *free_units_.begin();
    free_units_.erase(free_units_.begin());
  } else {
    ++next_unit_;
  }
  units_.insert(u);
  return u;
}

void Sessions::on_session_up(TimePoint now, const l2tp::SessionUp& a) {
  Session s;
  s.serial = next_serial_++;
  s.tunnel_id = a.tunnel_id;
  s.session_id = a.session_id;
  s.peer_tunnel_id = a.peer_tunnel_id;
  s.peer_session_id = a.peer_session_id;
  s.peer = a.peer;
  s.key = "s" + std::to_string(s.serial);
  s.since = now;
  if (auto why = over_limit(a.peer)) {
    ++counters_.sessions_refused;
    ++counters_.sessions_over_limit;
    log(log::Level::kWarn, "event=session_refused " + label(a.tunnel_id, a.session_id) + " peer=" +
                               a.peer.to_string() + " reason=\"" + *why + "\"");
    CloseSession cdn{a.tunnel_id, a.session_id,
                     l2tp::ResultCode{l2tp::result::kCdnTemporaryResources, std::nullopt, *why}, std::nullopt};
    actions_.emplace_back(std::in_place_type<CloseSession>, std::move(cdn));
    return;
  }
  auto addr = pool_.allocate(s.key);
  if (!addr) {
    ++counters_.sessions_refused;
    std::string why = "no address: " + addr.error().to_string();
    log(log::Level::kWarn, "event=session_refused " + label(a.tunnel_id, a.session_id) + " reason=\"" + why + "\"");
    actions_.push_back(CloseSession{a.tunnel_id, a.session_id,
                                    l2tp::ResultCode{l2tp::result::kCdnTemporaryResources, std::nullopt, why},
                                    std::nullopt});
    return;
  }
  s.address = *addr;
  s.unit = allocate_unit();
  s.ifname = ppp::interface_name_for_unit(s.unit);
  s.kernel = kernel_tunnels_.count(a.tunnel_id) > 0;
  uint64_t serial = s.serial;
  by_l2tp_[{a.tunnel_id, a.session_id}] = serial;
  sessions_.emplace(serial, std::move(s));
  Session& ref = sessions_.at(serial);
  account(ref, +1);
  if (ref.kernel)
    actions_.push_back(
        CreateKernelSession{serial, a.tunnel_id, a.session_id, a.peer_session_id, a.sequencing_required});
  else
    actions_.push_back(OpenPty{serial, a.tunnel_id, a.session_id});
}

void Sessions::data_path_ready(TimePoint, uint64_t serial, std::optional<std::string> pty_slave) {
  Session* s = find(serial);
  if (!s || s->pid != 0 || s->spawning || s->waiting_start) return;
  if (s->kernel) s->kernel_session = true;
  s->pty_slave = std::move(pty_slave);
  if (!s->l2tp_open) {  // the call ended while its data path was being made
    finish(serial);
    return;
  }
  spawn(*s);
}

void Sessions::data_path_failed(TimePoint, uint64_t serial, const std::string& why) {
  Session* s = find(serial);
  if (!s) return;
  refuse(*s, (s->kernel ? "kernel session: " : "pty: ") + why);
}

void Sessions::spawn(Session& s) {
  if (starting_ >= config_.max_starting) {
    s.waiting_start = true;
    start_queue_.push_back(s.serial);
    return;
  }
  send_spawn(s);
}

void Sessions::next_starts() {
  while (starting_ < config_.max_starting && !start_queue_.empty()) {
    Session* s = find(start_queue_.front());
    start_queue_.pop_front();
    if (!s || !s->waiting_start) continue;  // its call ended meanwhile: already finished
    s->waiting_start = false;
    send_spawn(*s);
  }
}

void Sessions::send_spawn(Session& s) {
  ppp::PppdOptions o;
  if (s.kernel) {
    ppp::KernelDataPath k;
    k.tunnel_id = s.tunnel_id;
    k.session_id = s.session_id;
    o.data_path = k;
  } else {
    o.data_path = ppp::PtyDataPath{s.pty_slave.value_or("")};
  }
  o.pppd_path = config_.ppp.pppd_path;
  o.unit = s.unit;
  o.server_name = config_.ppp.server_name;
  o.local_address = config_.pool.server_address;
  o.remote_address = ppp::to_string(s.address);
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
  if (!argv) return refuse(s, "pppd options: " + argv.error().to_string());
  s.spawning = true;
  ++starting_;
  actions_.push_back(SpawnPppd{s.serial, std::move(*argv)});
}

void Sessions::pppd_spawn_failed(TimePoint, uint64_t serial, const std::string& why) {
  Session* s = find(serial);
  if (!s || !s->spawning) return;
  s->spawning = false;
  --starting_;
  refuse(*s, "pppd: " + why);
  next_starts();
}

void Sessions::pppd_spawned(TimePoint now, uint64_t serial, int pid) {
  Session* s = find(serial);
  if (!s || !s->spawning) return;
  s->spawning = false;
  --starting_;
  s->pid = pid;
  by_pid_[pid] = serial;
  ++counters_.sessions_started;
  log(log::Level::kInfo, "event=pppd_started " + label(s->tunnel_id, s->session_id) + " pid=" + std::to_string(pid) +
                             " ifname=" + s->ifname + " address=" + ppp::to_string(s->address) +
                             " data_path=" + (s->kernel ? "kernel" : "pty") + " peer=" + s->peer.to_string());
  if (!s->l2tp_open) {  // the call ended while pppd was starting
    set_kill_at(*s, now + std::chrono::milliseconds(config_.ppp.stop_timeout_ms));
    actions_.push_back(SignalPppd{serial, pid, SIGHUP});
  }
  next_starts();
}

void Sessions::refuse(Session& s, const std::string& why) {
  ++counters_.sessions_refused;
  log(log::Level::kWarn, "event=session_refused " + label(s.tunnel_id, s.session_id) + " reason=\"" + why + "\"");
  if (s.l2tp_open)
    actions_.push_back(CloseSession{s.tunnel_id, s.session_id,
                                    l2tp::ResultCode{l2tp::result::kCdnTemporaryResources, std::nullopt, why},
                                    std::nullopt});
  finish(s.serial);
}

void Sessions::on_session_down(TimePoint now, const l2tp::SessionDown& a) {
  auto it = by_l2tp_.find({a.tunnel_id, a.session_id});
  if (it == by_l2tp_.end()) return;  // refused before, or not ours
  uint64_t serial = it->second;
  by_l2tp_.erase(it);
  Session& s = sessions_.at(serial);
  s.l2tp_open = false;
  if (s.kernel_session) {
    actions_.push_back(DestroyKernelSession{s.tunnel_id, s.session_id});
    s.kernel_session = false;
  }
  if (s.pid != 0) {
    log(log::Level::kInfo, "event=pppd_stop " + label(s.tunnel_id, s.session_id) + " pid=" + std::to_string(s.pid) +
                               " by_peer=" + (a.by_peer ? "yes" : "no"));
    // The L2TP session is gone: SIGHUP, which our plugin (l2tpvpn_sighup_is_hangup) turns into a hang-up; SIGKILL
    // only if pppd still runs after the stop timeout.
    actions_.push_back(SignalPppd{serial, s.pid, SIGHUP});
    set_kill_at(s, now + std::chrono::milliseconds(config_.ppp.stop_timeout_ms));
  } else if (!s.spawning) {
    finish(serial);  // its data path or pppd is still being made: finished when that step reports
  }
}

void Sessions::set_kill_at(Session& s, std::optional<TimePoint> at) {
  if (s.kill_at) kill_deadlines_.erase({*s.kill_at, s.serial});
  s.kill_at = at;
  if (at) kill_deadlines_.insert({*at, s.serial});
}

void Sessions::on_timer(TimePoint now) {
  while (!kill_deadlines_.empty() && kill_deadlines_.begin()->first <= now) {
    Session& s = sessions_.at(kill_deadlines_.begin()->second);
    set_kill_at(s, std::nullopt);
    ++counters_.pppd_killed;
    log(log::Level::kWarn, "event=pppd_kill pid=" + std::to_string(s.pid) + " reason=\"stop timeout\"");
    SignalPppd kill{s.serial, s.pid, SIGKILL};
    actions_.emplace_back(std::in_place_type<SignalPppd>, kill);
  }
}

std::optional<TimePoint> Sessions::next_deadline() const {
  if (kill_deadlines_.empty()) return std::nullopt;
  return kill_deadlines_.begin()->first;
}

// ---- plugin reports ----

void Sessions::plugin_report(TimePoint, uint64_t serial, const ppp::PluginEvent& ev) {
  Session* sp = find(serial);
  if (!sp) return;
  Session& s = *sp;
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ppp::PhaseEvent>) {
          s.phase = e.phase;
          if (!is_going_down(e.phase) && (!s.last_phase || e.phase > *s.last_phase)) s.last_phase = e.phase;
        } else if constexpr (std::is_same_v<T, ppp::AuthEvent>) {
          if (!s.user) account_authenticated(s);
          s.user = e.peer;
          auto moved = pool_.bind_user(s.key, e.peer);
          if (!moved) {
            // The user's static address is held by another of their sessions: the plugin would hand it out
            // twice. One session per static address.
            log(log::Level::kWarn,
                "event=session_refused " + label(s.tunnel_id, s.session_id) + " reason=\"static address in use\"");
            if (s.l2tp_open)
              actions_.push_back(CloseSession{
                  s.tunnel_id, s.session_id,
                  l2tp::ResultCode{l2tp::result::kCdnAdministrative, std::nullopt, "static address already in use"},
                  std::nullopt});
            return;
          }
          s.address = *moved;
          log(log::Level::kInfo, "event=ppp_auth " + label(s.tunnel_id, s.session_id) + " user=\"" +
                                     ppp::report_escape(e.peer) + "\" address=" + ppp::to_string(s.address));
        } else if constexpr (std::is_same_v<T, ppp::AuthFailEvent>) {
          // Reported by our plugin when it refuses the credentials: counted here rather than from pppd's exit
          // status, which a CDN from the client can overtake.
          ++counters_.auth_failures;
          log(log::Level::kWarn, "event=ppp_auth_failed " + label(s.tunnel_id, s.session_id) + " user=\"" +
                                     ppp::report_escape(e.peer) + "\" peer=" + s.peer.to_string());
        } else if constexpr (std::is_same_v<T, ppp::IpUpEvent>) {
          s.ip_up = true;
          s.ifname = e.ifname;
          s.local_address = ppp::to_string(e.local);
          if (e.remote != s.address)
            log(log::Level::kWarn, "event=ppp_address_mismatch " + label(s.tunnel_id, s.session_id) +
                                       " pool=" + ppp::to_string(s.address) + " pppd=" + ppp::to_string(e.remote));
          log(log::Level::kInfo, "event=ppp_up " + label(s.tunnel_id, s.session_id) + " ifname=" + e.ifname +
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

void Sessions::pppd_exited(TimePoint, int pid, const ppp::PppdTermination& t) {
  auto pit = by_pid_.find(pid);
  if (pit == by_pid_.end()) return;
  uint64_t serial = pit->second;
  by_pid_.erase(pit);
  Session* sp = find(serial);
  if (!sp) return;
  Session& s = *sp;
  ++counters_.pppd_exits;
  s.pid = 0;
  set_kill_at(s, std::nullopt);
  ppp::ExitContext ctx;
  ctx.last_phase = s.last_phase;
  ctx.auth_protocol = (config_.ppp.pap && !config_.ppp.mschap_v2 && !config_.ppp.mschap && !config_.ppp.chap)
                          ? ppp::kProtoPap
                          : ppp::kProtoChap;
  auto reason = ppp::map_pppd_termination(t, ctx);
  log(log::Level::kInfo, "event=pppd_exit " + label(s.tunnel_id, s.session_id) + " status=" +
                             std::string(ppp::to_string(t.exit)) + " code=" + std::to_string(t.raw_exit_code) +
                             " signal=" + std::to_string(t.signal) + " cdn_result=" +
                             std::to_string(reason.result.result) +
                             " cause=" + std::to_string(static_cast<int>(reason.cause.code)));
  if (s.l2tp_open) {
    // The CDN tells the peer why; the SessionDown that follows finds the session without pppd and the endpoint
    // forgets it. The session's resources go now: pppd no longer holds them.
    actions_.push_back(CloseSession{s.tunnel_id, s.session_id, to_l2tp(reason.result), to_l2tp(reason.cause)});
    by_l2tp_.erase({s.tunnel_id, s.session_id});
    s.l2tp_open = false;
    if (s.kernel_session) {
      actions_.push_back(DestroyKernelSession{s.tunnel_id, s.session_id});
      s.kernel_session = false;
    }
  }
  finish(serial);
}

void Sessions::finish(uint64_t serial) {
  Session* s = find(serial);
  if (!s) return;
  if (s->kernel_session) actions_.push_back(DestroyKernelSession{s->tunnel_id, s->session_id});
  if (s->l2tp_open) by_l2tp_.erase({s->tunnel_id, s->session_id});
  if (s->pid != 0) by_pid_.erase(s->pid);
  set_kill_at(*s, std::nullopt);
  pool_.release(s->key);
  if (units_.erase(s->unit)) free_units_.insert(s->unit);
  actions_.push_back(ReleaseSession{serial});
  log(log::Level::kDebug, "event=session_released " + label(s->tunnel_id, s->session_id));
  account(*s, -1);
  sessions_.erase(serial);
}

// ---- admin ----

size_t Sessions::disconnect_user(TimePoint, const std::string& user) {
  size_t n = 0;
  for (const auto& [serial, s] : sessions_) {
    if (!s.l2tp_open || s.user != user) continue;
    actions_.push_back(CloseSession{s.tunnel_id, s.session_id,
                                    l2tp::ResultCode{l2tp::result::kCdnAdministrative, std::nullopt,
                                                     "disconnected by admin"},
                                    std::nullopt});
    ++n;
  }
  return n;
}

Status<ppp::IpPoolError> Sessions::reload_users(const ppp::UserStore& users) {
  auto pool = ppp::IpPool::create(ppp::IpPoolConfig{config_.pool.range, config_.pool.server_address,
                                                    config_.pool.exclude, users.reservations()});
  if (!pool) return unexpected(pool.error());
  for (const auto& [serial, s] : sessions_) {
    if (auto held = pool_.address_of(s.key)) {
      if (auto r = pool->adopt(s.key, *held); !r)
        log(log::Level::kWarn, "event=pool_reload_conflict " + label(s.tunnel_id, s.session_id) + " error=\"" +
                                   r.error().to_string() + "\"");
    }
  }
  pool_ = std::move(pool).value();
  // A user removed from the file, or given a new password, no longer holds what their session was admitted with.
  if (config_.ppp.end_sessions_of_changed_users) {
    for (const auto& [serial, s] : sessions_) {
      if (!s.l2tp_open || !s.user) continue;
      const ppp::UserEntry* now_entry = users.find(*s.user);
      auto before = passwords_.find(*s.user);
      const char* why = !now_entry ? "user removed"
                        : (before != passwords_.end() && before->second != now_entry->password) ? "password changed"
                                                                                                 : nullptr;
      if (!why) continue;
      log(log::Level::kInfo, "event=session_ended_by_reload " + label(s.tunnel_id, s.session_id) + " user=\"" +
                                 display_escape(*s.user) + "\" reason=\"" + why + "\"");
      CloseSession cdn{s.tunnel_id, s.session_id,
                       l2tp::ResultCode{l2tp::result::kCdnAdministrative, std::nullopt, why}, std::nullopt};
      actions_.emplace_back(std::in_place_type<CloseSession>, std::move(cdn));
    }
  }
  remember_passwords(users);
  return {};
}

void Sessions::update_ppp(const PppSection& ppp, const std::string& users_file) {
  config_.ppp = ppp;
  config_.users_file = users_file;
}

// ---- state ----

SessionPhase Sessions::phase_of(const Session& s) {
  if (!s.l2tp_open || (s.pid == 0 && !s.spawning && !s.waiting_start) || (s.phase && is_going_down(*s.phase)))
    return SessionPhase::kClosing;
  if (s.ip_up) return SessionPhase::kUp;
  if (s.phase && *s.phase >= ppp::PppPhase::kAuthenticate) return SessionPhase::kAuthenticating;
  return SessionPhase::kStarting;
}

std::map<SessionPhase, uint64_t> Sessions::phase_counts() const {
  std::map<SessionPhase, uint64_t> out;
  for (const auto& [serial, s] : sessions_) ++out[phase_of(s)];
  return out;
}

std::vector<SessionView> Sessions::views(std::chrono::system_clock::time_point wall_now, TimePoint now) const {
  std::vector<SessionView> out;
  for (const auto& [serial, s] : sessions_) {
    SessionView v;
    v.state = phase_of(s);
    v.tunnel = s.tunnel_id;
    v.session = s.session_id;
    v.peer_tunnel = s.peer_tunnel_id;
    v.peer_session = s.peer_session_id;
    v.peer = s.peer.endpoint_string();
    v.peer_mark = s.peer.mark;
    v.user = s.user;
    v.address = ppp::to_string(s.address);
    if (s.ip_up) v.interface = s.ifname;
    v.data_path = s.kernel ? "kernel" : "pty";
    v.since = utc(wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - s.since));
    if (s.pid != 0) v.pppd_pid = s.pid;
    if (!s.ip_up && s.final_stats) {
      v.bytes_in = s.final_stats->bytes_in;
      v.bytes_out = s.final_stats->bytes_out;
      v.packets_in = s.final_stats->packets_in;
      v.packets_out = s.final_stats->packets_out;
    }
    out.push_back(std::move(v));
  }
  return out;
}

void Sessions::release_all() {
  start_queue_.clear();
  starting_ = 0;
  while (!sessions_.empty()) {
    Session& s = sessions_.begin()->second;
    s.l2tp_open = false;
    finish(s.serial);
  }
}

namespace {

PeerUsage lookup(const std::map<l2tp::PeerAddress, PeerUsage>& m, const l2tp::PeerAddress& key) {
  auto it = m.find(key);
  return it == m.end() ? PeerUsage{} : it->second;
}

// Adds `sessions` and `unauthenticated` (each +1, 0 or -1) to m[key]; drops the entry at zero.
void adjust(std::map<l2tp::PeerAddress, PeerUsage>& m, const l2tp::PeerAddress& key, int sessions,
            int unauthenticated) {
  PeerUsage& u = m[key];
  u.sessions = static_cast<size_t>(static_cast<long>(u.sessions) + sessions);
  u.unauthenticated = static_cast<size_t>(static_cast<long>(u.unauthenticated) + unauthenticated);
  if (u.sessions == 0) m.erase(key);
}

}  // namespace

PeerUsage Sessions::usage_of(const l2tp::PeerAddress& peer) const { return lookup(by_client_, peer); }

PeerUsage Sessions::usage_of_host(const l2tp::PeerAddress& peer) const { return lookup(by_host_, peer.host()); }

void Sessions::account(const Session& s, int sign) {
  int unauth = s.user ? 0 : sign;
  adjust(by_client_, s.peer, sign, unauth);
  adjust(by_host_, s.peer.host(), sign, unauth);
  unauthenticated_ = static_cast<size_t>(static_cast<long>(unauthenticated_) + unauth);
}

void Sessions::account_authenticated(const Session& s) {
  adjust(by_client_, s.peer, 0, -1);
  adjust(by_host_, s.peer.host(), 0, -1);
  --unauthenticated_;
}

std::optional<std::string> Sessions::over_limit(const l2tp::PeerAddress& peer) const {
  const PppSection& lim = config_.ppp;
  PeerUsage host = usage_of_host(peer);
  if (host.sessions >= lim.max_sessions_per_peer)
    return "peer has " + std::to_string(host.sessions) + " sessions (ppp.max_sessions_per_peer)";
  if (host.unauthenticated >= lim.max_unauthenticated_per_peer)
    return "peer has " + std::to_string(host.unauthenticated) +
           " sessions not authenticated yet (ppp.max_unauthenticated_per_peer)";
  if (unauthenticated_ >= lim.max_unauthenticated)
    return std::to_string(unauthenticated_) + " sessions not authenticated yet (ppp.max_unauthenticated)";
  return std::nullopt;
}

std::vector<int> Sessions::running_pids() const {
  std::vector<int> out;
  for (const auto& [pid, serial] : by_pid_) out.push_back(pid);
  return out;
}

}  // namespace l2tpvpn::vpn
