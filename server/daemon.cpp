#include "server/daemon.hpp"

#include <malloc.h>
#include <openssl/rand.h>

#include <cstdlib>

#include <filesystem>
#include <sstream>

#include "common/display.hpp"
#include "server/config_file.hpp"
#include "server/kernel/pppol2tp_data_plane.hpp"
#include "server/log.hpp"
#include "server/status.hpp"

namespace l2tpvpn {

namespace asio = boost::asio;

void secure_random(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    log::error("RAND_bytes failed");
    std::abort();
  }
}

namespace {
HttpServerConfig http_config(const DaemonConfig& c) {
  HttpServerConfig h;
  h.listen_address = c.status_listen;
  h.port = c.status_port;
  h.bearer_token = c.status_token;
  h.max_connections = c.status_max_connections;
  h.idle_timeout = std::chrono::seconds(c.status_idle_timeout_s);
  return h;
}
}  // namespace

Daemon::Daemon(DaemonConfig config)
    : config_(std::move(config)),
      endpoint_(config_.l2tp, secure_random,
                [this](const l2tp::PeerAddress& peer) {
                  // ipsec_ exists from start-up on when IPsec is required; before that nobody is admitted.
                  return vpn::admission(config_.ipsec.required, ipsec_ && ipsec_->link_ready(), peer,
                                        [this](const l2tp::PeerAddress& p) { return ipsec_->ike_of(p); });
                }),
      driver_(io_, endpoint_, [this](l2tp::Action& a) { on_event(a); }),
      http_(io_, http_config(config_)),
      control_(io_, config_.control_socket,
               ControlServerLimits{config_.control_max_connections,
                                   std::chrono::seconds(config_.control_idle_timeout_s)}),
      signals_(io_, SIGINT, SIGTERM),
      sighup_(io_, SIGHUP),
      sigchld_(io_, SIGCHLD),
      shutdown_timer_(io_),
      trim_timer_(io_) {}

Status<SetupError> Daemon::setup_sessions() {
  auto users = ppp::UserStore::load_or_empty(config_.users_file);
  if (!users) {
    return unexpected(SetupError{SetupPart::kSessions, 0, "users: " + users.error().to_string()});
  }
  if (size_t n = SessionManager::kill_stale_pppd(std::chrono::seconds(3)))
    log::warn("event=stale_pppd_cleaned count=" + std::to_string(n));
  kernel::DataPlane* plane = nullptr;
  if (config_.ppp.data_path != DataPathMode::kPty) {
    auto k = std::make_unique<kernel::PppoL2tpDataPlane>();
    if (auto ok = k->available(); ok) {
      kernel_ = std::move(k);
      plane = kernel_.get();
    } else if (config_.ppp.data_path == DataPathMode::kKernel) {
      return unexpected(SetupError{SetupPart::kSessions, ok.error().error,
                                   "ppp.data_path = kernel, but the kernel data path is unavailable: " +
                                       ok.error().to_string()});
    } else {
      log::warn("event=kernel_data_path_unavailable fallback=pty error=\"" + ok.error().to_string() + "\"");
    }
  }
  SessionManagerConfig sc;
  sc.ppp = config_.ppp;
  sc.pool = config_.pool;
  sc.users_file = config_.users_file;
  data_ports_ = data_ports_possible(plane != nullptr);
  if (data_ports_) {
    sc.data_port_min = config_.data_port_min;
    sc.data_port_max = config_.data_port_max;
  }
  auto bound = driver_.local_endpoint();
  sc.local = kernel::Ipv4Endpoint::from_host_order(bound.address().to_v4().to_uint(), bound.port());
  auto m = SessionManager::create(io_, endpoint_, driver_, plane, runner_, sc, *users);
  if (!m) {
    return unexpected(m.error());
  }
  sessions_ = std::move(m).value();
  sessions_->set_l2tp_sink([this](const vpn::Action& a) { run_l2tp(a); });
  sessions_->set_data_port_sink([this](uint32_t mark, std::optional<uint16_t> port) -> std::optional<std::string> {
    auto done = port ? firewall_.map_data_port(mark, *port) : firewall_.unmap_data_port(mark);
    if (!done) return done.error().message;
    return std::nullopt;
  });
  log::info("event=sessions_ready data_path=" + std::string(sessions_->data_path_name()) +
            " users=" + std::to_string(users->size()) + " pool=" + config_.pool.range);
  return {};
}

Status<SetupError> Daemon::choose_firewall() {
  if (!config_.firewall.manage) {
    firewall_backend_ = FirewallBackend::kNone;
    return {};
  }
  // RFC 3193's promise is that L2TP never crosses the network unencrypted. Admission drops a plaintext SCCRQ,
  // but only the firewall keeps plaintext udp/1701 off the host both ways: with IPsec required, auto finding no
  // tool stops start-up (`backend = none` or `manage = false` say the administrator's own firewall does it).
  const bool automatic = config_.firewall.backend == "auto";
  auto chosen = choose_firewall_backend(config_.firewall.backend, automatic ? probe_firewall_tools() : FirewallProbe{},
                                        config_.ipsec.required);
  if (!chosen) return unexpected(SetupError{SetupPart::kFirewall, 0, config_.path + ": firewall: " + chosen.error().message});
  firewall_backend_ = *chosen;
  if (*chosen == FirewallBackend::kNone && automatic)
    log::warn("event=firewall_skipped reason=\"no working backend (nft, iptables-nft, iptables-legacy)\"");
  return {};
}

bool Daemon::data_ports_possible(bool kernel_path) const {
  std::string why;
  if (!config_.ipsec.required)
    why = "ipsec.required = no";
  else if (!driver_.marks_supported())
    why = "the kernel does not report SA marks (SO_RCVMARK, Linux 5.19)";
  else if (!kernel_path)
    why = "no kernel data path";
  else if (!firewall_backend_ || !supports_data_ports(*firewall_backend_))
    why = "the firewall backend is not nft";
  if (why.empty()) {
    log::info("event=same_nat data_ports=" + std::to_string(config_.data_port_min) + "-" +
              std::to_string(config_.data_port_max));
    return true;
  }
  if (config_.ipsec.required)
    log::warn("event=same_nat data_ports=off reason=\"" + why +
              "\" note=\"a second client behind the same NAT address and port uses the userspace data path\"");
  return false;
}

Status<SetupError> Daemon::setup_firewall() {
  if (!firewall_backend_) {
    if (auto ok = choose_firewall(); !ok) return ok;
  }
  const FirewallBackend backend = *firewall_backend_;
  if (backend == FirewallBackend::kNone) return {};
  FirewallConfig fc;
  fc.pool_cidr = pool_cidr(config_.pool);
  fc.wan_interface = config_.firewall.wan_interface;
  fc.l2tp_port = config_.port;
  fc.require_ipsec = config_.ipsec.required;
  fc.open_ike_ports = config_.ipsec.required;
  fc.masquerade = config_.firewall.masquerade;
  fc.client_to_client = config_.firewall.client_to_client;
  fc.clamp_mss = config_.firewall.clamp_mss;
  fc.data_ports = data_ports_;
  std::error_code ec;
  std::filesystem::create_directories(config_.runtime_dir, ec);
  firewall_.set_state_file(config_.runtime_dir + "/ip_forward.saved");
  auto plan = build_plan(backend, fc);
  if (!plan) {
    return unexpected(SetupError{SetupPart::kFirewall, 0, config_.path + ": firewall: " + plan.error().message});
  }
  if (auto ok = firewall_.install(*plan, config_.firewall.ip_forward); !ok) {
    return unexpected(SetupError{SetupPart::kFirewall, 0, "firewall (" + std::string(to_string(backend)) + "): " + ok.error().message});
  }
  log::debug("event=firewall_plan pool=" + fc.pool_cidr);  // FirewallManager logs the install itself
  return {};
}

void Daemon::watch_children() {
  sigchld_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    if (ipsec_) ipsec_->on_child_exit();
    if (sessions_) sessions_->reap_children();
    watch_children();
  });
}

void Daemon::watch_hup() {
  sighup_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    reload();
    watch_hup();
  });
}

void Daemon::reload() {
  // SIGHUP: the configuration file again, compared key by key with the running one through the table of keys
  // (diff_config). A key whose ReloadClass is kLive or kNewSessions is applied (see each subsystem below); a kRestart
  // key keeps its running value and is named in one event=reload_needs_restart line. No changed key goes unreported.
  // Then the users file and the IPsec profile are read again (their contents may change without a key changing).
  // Sessions stay up. A bad file changes nothing: the error names file, line and key.
  auto fresh = load_config_file(config_.path);
  if (!fresh) {
    log::error("event=reload_failed error=\"" + fresh.error().to_string() + "\"");
    return;
  }
  auto plan = plan_reload(config_, *fresh);
  for (const auto& change : plan.needs_restart)
    log::warn("event=reload_needs_restart key=" + std::string(change.key) + " note=\"kept the running value\"");
  bool l2tp_changed = false;
  for (const auto& change : plan.applied)
    if (change.key.starts_with("l2tp.")) l2tp_changed = true;
  const IpsecSection old_ipsec = config_.ipsec;
  config_ = std::move(plan.next);  // IpsecSupervisor reads config_ by reference
  log::set_level(config_.log_level);
  if (l2tp_changed) endpoint_.set_config(config_.l2tp);  // new tunnels; running ones keep theirs
  http_.set_bearer_token(config_.status_token);
  if (sessions_) sessions_->update_ppp(config_.ppp, config_.users_file);  // new pppds; stop_timeout_ms at once
  bool ipsec_kept = false;
  if (ipsec_) {
    if (auto ok = ipsec_->reload_profile(); !ok) {
      log::error("event=reload_failed error=\"" + ok.error().message + "\" note=\"kept the loaded IPsec profile\"");
      config_.ipsec = old_ipsec;
      ipsec_kept = true;
    }
  }
  auto users = ppp::UserStore::load_or_empty(config_.users_file);
  if (!users) {
    log::error("event=reload_failed error=\"" + users.error().to_string() + "\"");
    return;
  }
  if (auto r = sessions_->reload_users(*users); !r) {
    log::error("event=reload_failed error=\"address pool: " + r.error().to_string() + "\"");
    return;
  }
  std::string dns;
  for (const auto& d : config_.ppp.dns) dns += (dns.empty() ? "" : ",") + d;
  std::string applied;
  for (const auto& change : plan.applied)
    if (!(ipsec_kept && change.key.starts_with("ipsec.")))
      applied += (applied.empty() ? "" : ",") + std::string(change.key);
  log::info("event=reloaded users=" + std::to_string(users->size()) + " dns=" + (dns.empty() ? "-" : dns) +
            " legacy=" + (config_.ipsec.legacy ? "yes" : "no") + " applied=" + (applied.empty() ? "-" : applied));
}

int Daemon::run() {
  auto bind = asio::ip::udp::endpoint(asio::ip::make_address(config_.listen_address), config_.port);
  if (auto ok = driver_.open(bind); !ok) {
    log::error(ok.error().message);
    return 1;
  }
  // SIGCHLD is watched before any pppd can exist.
  watch_children();
  if (auto ok = choose_firewall(); !ok) {
    log::error(ok.error().message);
    return 1;
  }
  if (auto ok = setup_sessions(); !ok) {
    log::error(ok.error().message);
    return 1;
  }
  if (config_.ipsec.required) {
    ipsec_ = std::make_unique<IpsecSupervisor>(io_, config_, [this] { on_sa_view(); });
    // Marked SAs need each datagram's mark to be read: without SO_RCVMARK no lookup could find them.
    ipsec_->set_mark_sas(driver_.marks_supported());
    if (auto ok = ipsec_->start(); !ok) {
      log::error(ok.error().message);
      return 1;
    }
  } else {
    log::warn("event=ipsec_disabled note=\"ipsec.required = false: L2TP is accepted from any peer, unencrypted\"");
  }
  if (auto ok = setup_firewall(); !ok) {
    log::error(ok.error().message);
    if (ipsec_) ipsec_->stop();
    return 1;
  }
  driver_.start();
  arm_trim();
  started_at_ = std::chrono::system_clock::now();
  if (config_.status_enabled) {
    http_.route("/status", [this] {
      // Compact text written straight from the views (to_json_text): with 10,000 sessions the document is about
      // 7 MB, and a tree of it cost the event loop more than the text (`jq .` or l2tpvpnctl status indents it).
      std::string body = to_json_text(snapshot());
      body += '\n';
      return HttpResponse{200, "application/json", std::move(body)};
    });
    http_.route("/healthz", [] { return HttpResponse{200, "text/plain", "ok\n"}; });
    http_.route("/metrics", [this] {
      return HttpResponse{200, "text/plain; version=0.0.4", to_metrics(snapshot(true))};
    });
    if (auto ok = http_.start(); !ok) {
      log::error(ok.error().message);
      return 1;
    }
  }
  register_control();
  std::error_code fs_ec;
  std::filesystem::create_directories(std::filesystem::path(config_.control_socket).parent_path(), fs_ec);
  if (auto ok = control_.start(); !ok) {
    log::error(ok.error().message);
    return 1;
  }
  signals_.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) shutdown();
  });
  watch_hup();
  log::info("event=started listen=" + config_.listen_address + ":" + std::to_string(driver_.local_endpoint().port()) +
            " auth=" + (config_.l2tp.secret.empty() ? "none" : "challenge") +
            " hidden_avps=" + (config_.l2tp.hide_avps ? "yes" : "no") + " silent_peer_timeout_s=" +
            [this]() -> std::string {
              auto t = l2tp::silent_peer_timeout(config_.l2tp.channel);
              return t ? std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*t).count()) : "off";
            }());
  io_.run();
  if (sessions_) sessions_->kill_all();
  if (ipsec_) ipsec_->stop();
  if (firewall_.installed()) {
    firewall_.remove();  // logs event=firewall_removed
  }
  log::info("event=stopped");
  return 0;
}

void Daemon::arm_trim() {
  trim_timer_.expires_after(kTrimInterval);
  trim_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || shutting_down_) return;
    const size_t held = endpoint_.held_tunnel_count() + (sessions_ ? sessions_->session_count() : 0);
    const size_t peak = trim_policy_.peak();
    if (trim_policy_.sample(held)) {
      const auto t0 = std::chrono::steady_clock::now();
      malloc_trim(0);
      const auto us =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
      log::info("event=memory_trimmed held=" + std::to_string(held) + " peak=" + std::to_string(peak) +
                " us=" + std::to_string(us));
    }
    arm_trim();
  });
}

void Daemon::shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  trim_timer_.cancel();
  log::info("event=shutdown tunnels=" + std::to_string(endpoint_.live_tunnel_count()));
  endpoint_.close_all(l2tp::Clock::now(), l2tp::ResultCode{l2tp::result::kStopShuttingDown, std::nullopt,
                                                          "server shutting down"});
  driver_.kick();
  // Wait until the StopCCNs are acknowledged and every pppd has exited (it got SIGTERM with its SessionDown and
  // SIGKILL after ppp.stop_timeout_ms), but no longer than that plus one retransmission cycle.
  auto budget = std::chrono::milliseconds(config_.ppp.stop_timeout_ms) + config_.l2tp.channel.initial_timeout * 3;
  wait_for_quiet(std::chrono::steady_clock::now() + budget);
}

void Daemon::wait_for_quiet(std::chrono::steady_clock::time_point deadline) {
  bool quiet = endpoint_.tunnels().empty() && (!sessions_ || sessions_->session_count() == 0) &&
               (!ipsec_ || ipsec_->pending_terminates() == 0);
  if (quiet || std::chrono::steady_clock::now() >= deadline) {
    http_.stop();
    control_.stop();
    driver_.stop();
    io_.stop();
    return;
  }
  shutdown_timer_.expires_after(std::chrono::milliseconds(50));
  shutdown_timer_.async_wait([this, deadline](boost::system::error_code) { wait_for_quiet(deadline); });
}

std::vector<vpn::TunnelRef> Daemon::tunnel_refs() const {
  std::vector<vpn::TunnelRef> out;
  for (const l2tp::Tunnel* t : endpoint_.tunnels())
    out.push_back(vpn::TunnelRef{t->id(), t->peer(), t->live()});
  return out;
}

void Daemon::on_sa_view() {
  if (!ipsec_) return;
  coupling_.sas_changed(ipsec_->enforcing(), tunnel_refs(),
                        [this](const l2tp::PeerAddress& p) { return ipsec_->ike_of(p); });
  run_coupling();
}

void Daemon::run_coupling() {
  for (auto& a : coupling_.take_actions()) {
    if (auto* l = std::get_if<vpn::Log>(&a)) {
      log::write(l->level, l->text);
    } else if (auto* c = std::get_if<vpn::CloseTunnel>(&a)) {
      run_l2tp(*c);
    } else if (auto* t = std::get_if<vpn::TerminateIke>(&a)) {
      if (ipsec_) ipsec_->terminate_ike(t->ike_id);
    }
  }
}

void Daemon::run_l2tp(const vpn::Action& action) {
  const auto now = l2tp::Clock::now();
  if (auto* s = std::get_if<vpn::CloseSession>(&action))
    endpoint_.close_session(now, s->tunnel_id, s->session_id, s->result, s->cause);
  else if (auto* t = std::get_if<vpn::CloseTunnel>(&action))
    endpoint_.close_tunnel(now, t->tunnel_id, t->result);
  else
    return;
  driver_.kick();  // inside the driver's own loop this only asks it for another round
}

StatusSnapshot Daemon::snapshot(bool tallies_only) const {
  StatusSnapshot snap;
  if (tallies_only) snap.tallies.emplace();
  Tallies* tallies = snap.tallies ? &*snap.tallies : nullptr;
  snap.server.version = L2TPVPN_VERSION;
  snap.server.uptime_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - started_at_).count();
  snap.server.l2tp_listen = config_.listen_address + ":" + std::to_string(config_.port);
  if (config_.status_enabled) snap.server.status_http = http_.counters();
  snap.server.control = control_.counters();
  snap.l2tp = l2tp_view(endpoint_, tallies);
  if (ipsec_) {
    snap.ipsec = tallies ? ipsec_->view_without_sas() : ipsec_->view();
    if (tallies) tallies->sas = ipsec_->sa_count();
    snap.ipsec->tunnels_closed_for_sa = coupling_.tunnels_closed_for_sa();
    snap.ipsec->ike_terminated = coupling_.ike_terminated();
  }
  if (sessions_) {
    PppView p;
    p.data_path = sessions_->data_path_name();
    p.pool_range = config_.pool.range;
    p.pool_server_address = config_.pool.server_address;
    p.pool_capacity = sessions_->pool().dynamic_capacity();
    p.pool_in_use = sessions_->pool().sessions();
    p.pppd_running = sessions_->running_pppd();
    p.counters = sessions_->stats();
    snap.ppp = std::move(p);
    if (tallies) {
      tallies->ppp_sessions = sessions_->phase_counts();
      return snap;
    }
    snap.sessions = sessions_->session_views();
    if (ipsec_) {
      for (auto& v : snap.sessions) {
        auto t = tunnel_peers_.find(v.tunnel);
        if (t == tunnel_peers_.end()) continue;
        if (auto sa = ipsec_->sa_for(t->second)) v.ipsec = session_ipsec_view(*sa);
      }
    }
  }
  return snap;
}

void Daemon::register_control() {
  using nlohmann::json;
  control_.handle("status", [this](const json&) { return to_json(snapshot()); });
  control_.handle("sessions", [this](const json&) {
    json list = json::array();
    for (const auto& v : snapshot().sessions) list.push_back(to_json(v));
    return json{{"ok", true}, {"sessions", std::move(list)}};
  });
  control_.handle("users-reload", [this](const json&) {
    auto users = ppp::UserStore::load_or_empty(config_.users_file);
    if (!users) return json{{"ok", false}, {"error", users.error().to_string()}};
    if (auto r = sessions_->reload_users(*users); !r)
      return json{{"ok", false}, {"error", "address pool: " + r.error().to_string()}};
    log::info("event=reloaded users=" + std::to_string(users->size()) + " via=control");
    return json{{"ok", true}, {"users", users->size()}};
  });
  control_.handle("disconnect-user", [this](const json& r) {
    if (!r.contains("user") || !r["user"].is_string())
      return json{{"ok", false}, {"error", "\"user\" (string) required"}};
    size_t n = sessions_->disconnect_user(r["user"].get<std::string>());
    return json{{"ok", true}, {"sessions", n}};
  });
  control_.handle("disconnect", [this](const json& r) {
    if (!r.contains("tunnel") || !r["tunnel"].is_number_unsigned())
      return json{{"ok", false}, {"error", "\"tunnel\" (number) required"}};
    auto tid = r["tunnel"].get<uint16_t>();
    if (!endpoint_.tunnel(tid)) return json{{"ok", false}, {"error", "no such tunnel"}};
    if (r.contains("session") && r["session"].is_number_unsigned())
      run_l2tp(vpn::CloseSession{
          tid, r["session"].get<uint16_t>(),
          l2tp::ResultCode{l2tp::result::kCdnAdministrative, std::nullopt, "disconnected by admin"}, std::nullopt});
    else
      run_l2tp(vpn::CloseTunnel{
          tid, l2tp::ResultCode{l2tp::result::kStopGeneralRequest, std::nullopt, "disconnected by admin"}});
    return json{{"ok", true}};
  });
}

void Daemon::on_event(l2tp::Action& action) {
  using namespace l2tp;
  std::visit(
      [&](auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, TunnelUp>) {
          tunnel_peers_[a.tunnel_id] = a.peer;
          log::info("event=tunnel_up tunnel=" + std::to_string(a.tunnel_id) + " peer_tunnel=" +
                    std::to_string(a.peer_tunnel_id) + " peer=" + a.peer.to_string() + " host=\"" +
                    display_escape(a.peer_host_name) + "\"");
        } else if constexpr (std::is_same_v<T, TunnelDown>) {
          log::info("event=tunnel_down tunnel=" + std::to_string(a.tunnel_id) + " result=" +
                    std::to_string(a.result.result) + " by_peer=" + (a.by_peer ? "yes" : "no") + " message=\"" +
                    display_escape(a.result.message) + "\"");
        } else if constexpr (std::is_same_v<T, SessionUp>) {
          log::info("event=session_up tunnel=" + std::to_string(a.tunnel_id) + " session=" +
                    std::to_string(a.session_id) + " peer_session=" + std::to_string(a.peer_session_id) +
                    " peer=" + a.peer.to_string() + " direction=" +
                    (a.direction == CallDirection::kIncoming ? "incoming" : "outgoing") +
                    " sequencing=" + (a.sequencing_required ? "yes" : "no"));
        } else if constexpr (std::is_same_v<T, SessionDown>) {
          log::info("event=session_down tunnel=" + std::to_string(a.tunnel_id) + " session=" +
                    std::to_string(a.session_id) + " result=" + std::to_string(a.result.result) +
                    " by_peer=" + (a.by_peer ? "yes" : "no") + " established=" + (a.was_established ? "yes" : "no"));
        } else if constexpr (std::is_same_v<T, LinkInfo> || std::is_same_v<T, WanErrors>) {
          log::debug("event=link_report tunnel=" + std::to_string(a.tunnel_id));
        }
      },
      action);
  // Logged first, then the session manager acts (its messages follow).
  if (sessions_) sessions_->handle(action);
  if (auto* down = std::get_if<l2tp::TunnelDown>(&action)) {
    auto it = tunnel_peers_.find(down->tunnel_id);
    if (it != tunnel_peers_.end()) {
      l2tp::PeerAddress peer = it->second;
      tunnel_peers_.erase(it);
      if (ipsec_) {
        coupling_.tunnel_closed(ipsec_->can_terminate(), peer, tunnel_refs(),
                                [this](const l2tp::PeerAddress& p) { return ipsec_->unique_ike_of(p); });
        run_coupling();
      }
    }
  }
}


}  // namespace l2tpvpn
