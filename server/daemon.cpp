#include "server/daemon.hpp"

#include <openssl/rand.h>

#include <cstdlib>

#include "server/log.hpp"
#include "server/status.hpp"

#include <filesystem>

namespace l2tpvpn {

namespace asio = boost::asio;

void secure_random(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    log::error("RAND_bytes failed");
    std::abort();
  }
}

Daemon::Daemon(DaemonConfig config)
    : config_(std::move(config)),
      endpoint_(config_.l2tp, secure_random),
      driver_(io_, endpoint_, [this](l2tp::Action& a) { on_event(a); }),
      http_(io_, HttpServerConfig{config_.status_listen, config_.status_port, config_.status_token}),
      control_(io_, config_.control_socket),
      signals_(io_, SIGINT, SIGTERM),
      shutdown_timer_(io_) {}

int Daemon::run() {
  std::string err;
  auto bind = asio::ip::udp::endpoint(asio::ip::make_address(config_.listen_address), config_.port);
  if (!driver_.open(bind, err)) {
    log::error(err);
    return 1;
  }
  driver_.start();
  started_at_ = std::chrono::system_clock::now();
  if (config_.status_enabled) {
    http_.route("/status", [this] { return HttpResponse{200, "application/json", status_json().dump(2) + "\n"}; });
    http_.route("/healthz", [] { return HttpResponse{200, "text/plain", "ok\n"}; });
    http_.route("/metrics", [this] {
      return HttpResponse{200, "text/plain; version=0.0.4", l2tp_metrics(endpoint_)};
    });
    if (!http_.start(err)) {
      log::error(err);
      return 1;
    }
  }
  register_control();
  std::error_code fs_ec;
  std::filesystem::create_directories(std::filesystem::path(config_.control_socket).parent_path(), fs_ec);
  if (!control_.start(err)) {
    log::error(err);
    return 1;
  }
  signals_.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) shutdown();
  });
  log::info("event=started listen=" + config_.listen_address + ":" + std::to_string(driver_.local_endpoint().port()) +
            " auth=" + (config_.l2tp.secret.empty() ? "none" : "challenge") +
            " hidden_avps=" + (config_.l2tp.hide_avps ? "yes" : "no"));
  io_.run();
  log::info("event=stopped");
  return 0;
}

void Daemon::shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  log::info("event=shutdown tunnels=" + std::to_string(endpoint_.live_tunnel_count()));
  endpoint_.close_all(l2tp::Clock::now(), l2tp::ResultCode{l2tp::result::kStopShuttingDown, std::nullopt,
                                                          "server shutting down"});
  driver_.kick();
  // Give the StopCCNs one retransmission cycle to be acknowledged, then stop (the peers time out otherwise).
  shutdown_timer_.expires_after(std::chrono::milliseconds(config_.l2tp.channel.initial_timeout * 3));
  shutdown_timer_.async_wait([this](boost::system::error_code) {
    http_.stop();
    control_.stop();
    driver_.stop();
    io_.stop();
  });
}

nlohmann::json Daemon::status_json() const {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - started_at_);
  return nlohmann::json{{"server", {{"version", "0.1.0"},
                                    {"uptime_s", uptime.count()},
                                    {"l2tp_listen", config_.listen_address + ":" + std::to_string(config_.port)}}},
                        {"l2tp", l2tp_status(endpoint_)}};
}

void Daemon::register_control() {
  using nlohmann::json;
  control_.handle("status", [this](const json&) { return status_json(); });
  control_.handle("disconnect", [this](const json& r) {
    if (!r.contains("tunnel") || !r["tunnel"].is_number_unsigned())
      return json{{"ok", false}, {"error", "\"tunnel\" (number) required"}};
    auto tid = r["tunnel"].get<uint16_t>();
    if (!endpoint_.tunnel(tid)) return json{{"ok", false}, {"error", "no such tunnel"}};
    auto now = l2tp::Clock::now();
    if (r.contains("session") && r["session"].is_number_unsigned())
      endpoint_.close_session(now, tid, r["session"].get<uint16_t>(),
                              l2tp::ResultCode{l2tp::result::kCdnAdministrative, std::nullopt, "disconnected by admin"});
    else
      endpoint_.close_tunnel(now, tid, l2tp::ResultCode{l2tp::result::kStopGeneralRequest, std::nullopt,
                                                       "disconnected by admin"});
    driver_.kick();
    return json{{"ok", true}};
  });
}

void Daemon::on_event(l2tp::Action& action) {
  using namespace l2tp;
  std::visit(
      [&](auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, TunnelUp>) {
          log::info("event=tunnel_up tunnel=" + std::to_string(a.tunnel_id) + " peer_tunnel=" +
                    std::to_string(a.peer_tunnel_id) + " peer=" + a.peer.to_string() + " host=" + a.peer_host_name);
        } else if constexpr (std::is_same_v<T, TunnelDown>) {
          log::info("event=tunnel_down tunnel=" + std::to_string(a.tunnel_id) + " result=" +
                    std::to_string(a.result.result) + " by_peer=" + (a.by_peer ? "yes" : "no") + " message=\"" +
                    a.result.message + "\"");
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
        } else if constexpr (std::is_same_v<T, SessionData>) {
          // Userspace data path arrives with the PPP issue; until then data is counted and dropped.
          log::debug("event=session_data tunnel=" + std::to_string(a.tunnel_id) + " bytes=" +
                     std::to_string(a.ppp.size()));
        } else if constexpr (std::is_same_v<T, LinkInfo> || std::is_same_v<T, WanErrors>) {
          log::debug("event=link_report tunnel=" + std::to_string(a.tunnel_id));
        }
      },
      action);
}

}  // namespace l2tpvpn
