// l2tp_lac: a LAC that carries N PPP sessions in ONE tunnel, for the VM tests (xl2tpd opens one tunnel per
// [lac] section and cannot place a second call in a tunnel, so it cannot produce that case).
//
// Our L2TP core in the LAC role (the daemon's real driver), the kernel data path in LAC mode (server/kernel) and a
// real client pppd per session (pppol2tp.so on the session socket). Opens one tunnel to --peer, places --sessions
// calls; for call i (1-based) pppd reads its options from --options with "{i}" replaced by i as two digits. When a
// pppd exits its session is closed (CDN); when the LNS closes a session its pppd gets SIGTERM. SIGTERM/SIGINT:
// every session and the tunnel are closed (CDN, StopCCN), every pppd is stopped, and the tool exits 0 once the
// StopCCN was acknowledged (bounded). Prints "LAC ..." lines.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>

#include <fcntl.h>
#include <signal.h>

#include <iostream>
#include <map>

#include "ppp/pppd_launcher.hpp"
#include "server/daemon.hpp"
#include "server/kernel/pppol2tp_data_plane.hpp"
#include "server/l2tp_driver.hpp"
#include "server/log.hpp"

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace l2tpvpn;

int main(int argc, char** argv) {
  po::options_description desc("l2tp_lac");
  desc.add_options()("peer", po::value<std::string>()->required(), "LNS address")(
      "bind", po::value<std::string>()->required(), "our address")(
      "port", po::value<int>()->default_value(1701), "our UDP port (and the LNS's)")(
      "sessions", po::value<int>()->default_value(1), "calls to place")(
      "options", po::value<std::string>()->required(), "pppd options file, {i} = call number (01, 02, ...)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "l2tp_lac: " << e.what() << "\n" << desc;
    return 2;
  }
  log::set_level(log::Level::kInfo);
  const int want = vm["sessions"].as<int>();
  const auto port = static_cast<uint16_t>(vm["port"].as<int>());
  const auto bind_ip = asio::ip::make_address_v4(vm["bind"].as<std::string>());
  const auto peer_ip = asio::ip::make_address_v4(vm["peer"].as<std::string>());

  l2tp::L2tpConfig cfg;
  cfg.role = l2tp::Role::kLac;
  cfg.host_name = "l2tp-lac";
  asio::io_context io;
  l2tp::Endpoint endpoint(cfg, secure_random);
  kernel::PppoL2tpDataPlane plane;
  std::optional<kernel::TunnelHandle> tunnel;
  std::map<uint16_t, int> call_index;      // local session id -> i
  std::map<uint16_t, pid_t> pppd;          // local session id -> pid
  std::map<pid_t, uint16_t> by_pid;
  bool stopping = false, tunnel_down = false;
  L2tpDriver* drv = nullptr;
  int next_call = 1;

  auto options_for = [&](int i) {
    std::string p = vm["options"].as<std::string>();
    char num[8];
    std::snprintf(num, sizeof num, "%02d", i);
    for (auto pos = p.find("{i}"); pos != std::string::npos; pos = p.find("{i}")) p.replace(pos, 3, num);
    return p;
  };

  L2tpDriver driver(io, endpoint, [&](l2tp::Action& a) {
    if (auto* t = std::get_if<l2tp::TunnelUp>(&a)) {
      kernel::TunnelSpec spec{t->tunnel_id, t->peer_tunnel_id,
                              kernel::Ipv4Endpoint::from_host_order(bind_ip.to_uint(), port),
                              kernel::Ipv4Endpoint::from_host_order(peer_ip.to_uint(), t->peer.port)};
      auto h = plane.create_tunnel(spec);
      if (!h) {
        std::cout << "LAC kernel_tunnel_failed " << h.error().to_string() << std::endl;
        return;
      }
      tunnel = *h;
      (void)drv->attach_tunnel_socket(t->tunnel_id, fcntl(h->udp_fd, F_DUPFD_CLOEXEC, 3));
      std::cout << "LAC tunnel_up local=" << t->tunnel_id << " remote=" << t->peer_tunnel_id << std::endl;
      for (int i = 0; i < want; ++i) {
        auto sid = endpoint.open_call(l2tp::Clock::now(), t->tunnel_id, l2tp::CallDirection::kIncoming);
        if (sid) call_index[*sid] = next_call++;
      }
      asio::post(io, [&] { drv->kick(); });
    } else if (auto* s = std::get_if<l2tp::SessionUp>(&a)) {
      if (!tunnel) return;
      kernel::SessionOptions so;
      so.lns_mode = false;
      auto h = plane.create_session(*tunnel, s->session_id, s->peer_session_id, so);
      if (!h) {
        std::cout << "LAC kernel_session_failed " << h.error().to_string() << std::endl;
        return;
      }
      int i = call_index[s->session_id];
      std::vector<std::string> args = {"/usr/sbin/pppd", "plugin", "pppol2tp.so", "pppol2tp", "3",
                                       "pppol2tp_tunnel_id", std::to_string(s->tunnel_id), "pppol2tp_session_id",
                                       std::to_string(s->session_id), "nodetach", "file", options_for(i)};
      auto pid = ppp::spawn_pppd(args, h->fd, -1, 2);
      if (!pid) {
        std::cout << "LAC pppd_failed " << pid.error().to_string() << std::endl;
        return;
      }
      pppd[s->session_id] = *pid;
      by_pid[*pid] = s->session_id;
      std::cout << "LAC session_up call=" << i << " local=" << s->session_id << " pppd=" << *pid << std::endl;
    } else if (auto* d = std::get_if<l2tp::SessionDown>(&a)) {
      std::cout << "LAC session_down local=" << d->session_id << " by_peer=" << d->by_peer
                << " result=" << d->result.result << std::endl;
      if (auto it = pppd.find(d->session_id); it != pppd.end()) (void)os::signal_process_group(it->second, SIGTERM);
      if (tunnel) (void)plane.destroy_session(tunnel->tunnel_id, d->session_id);
    } else if (auto* td = std::get_if<l2tp::TunnelDown>(&a)) {
      std::cout << "LAC tunnel_down by_peer=" << td->by_peer << " result=" << td->result.result << std::endl;
      tunnel_down = true;
      drv->detach_tunnel_socket(td->tunnel_id);
      if (tunnel) (void)plane.destroy_tunnel(tunnel->tunnel_id);
      tunnel.reset();
      for (auto& [sid, pid] : pppd) (void)os::signal_process_group(pid, SIGTERM);
    }
  });
  drv = &driver;
  if (auto ok = driver.open(asio::ip::udp::endpoint(bind_ip, port)); !ok) {
    std::cerr << "l2tp_lac: " << ok.error().message << std::endl;
    return 1;
  }
  endpoint.open_tunnel(l2tp::Clock::now(), to_peer(asio::ip::udp::endpoint(peer_ip, port)));
  driver.start();

  asio::signal_set children(io, SIGCHLD), stop(io, SIGTERM, SIGINT);
  std::function<void()> reap = [&] {
    children.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      for (auto it = by_pid.begin(); it != by_pid.end();) {
        auto r = ppp::try_reap_pppd(it->first);
        if (!r) {
          ++it;
          continue;
        }
        uint16_t sid = it->second;
        std::cout << "LAC pppd_exit local=" << sid << " status=" << ppp::to_string(r->termination.exit) << std::endl;
        pppd.erase(sid);
        it = by_pid.erase(it);
        if (tunnel)
          endpoint.close_session(l2tp::Clock::now(), tunnel->tunnel_id, sid,
                                 l2tp::ResultCode{l2tp::result::kCdnLostCarrier, std::nullopt, "pppd exited"});
      }
      driver.kick();
      if ((stopping || tunnel_down) && by_pid.empty() && tunnel_down) io.stop();
      reap();
    });
  };
  reap();
  asio::steady_timer give_up(io);
  stop.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    stopping = true;
    std::cout << "LAC stopping" << std::endl;
    if (tunnel)
      endpoint.close_tunnel(l2tp::Clock::now(), tunnel->tunnel_id,
                            l2tp::ResultCode{l2tp::result::kStopGeneralRequest, std::nullopt, "lac stopping"});
    driver.kick();
    give_up.expires_after(std::chrono::seconds(10));
    give_up.async_wait([&](boost::system::error_code e) {
      if (!e) io.stop();
    });
  });
  io.run();
  for (auto& [pid, sid] : by_pid) {
    (void)os::signal_process_group(pid, SIGKILL);
    ppp::wait_for_pppd(pid);
  }
  std::cout << "LAC exit" << std::endl;
  return 0;
}
