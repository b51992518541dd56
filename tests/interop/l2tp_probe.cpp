// l2tp_probe: our L2TP core in the LAC role, driven by the daemon's real driver, for interop tests against a
// real LNS (xl2tpd). Opens one tunnel, places N incoming calls (ICRQ), waits until all are established, holds,
// then closes them (CDN) and the tunnel (StopCCN) and waits until the StopCCN is acknowledged.
// Exit status: 0 all sessions established and the tunnel closed cleanly; 1 otherwise (with the reason).
#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>

#include <iostream>
#include <memory>
#include <random>

#include "common/display.hpp"
#include "server/daemon.hpp"
#include "server/l2tp_driver.hpp"
#include "server/log.hpp"

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace l2tpvpn;

int main(int argc, char** argv) {
  po::options_description desc("l2tp_probe");
  desc.add_options()("peer", po::value<std::string>()->default_value("127.0.0.1"), "LNS address")(
      "peer-port", po::value<int>()->default_value(1701), "LNS port")(
      "bind", po::value<std::string>()->default_value("127.0.0.3"), "our address")(
      "bind-port", po::value<int>()->default_value(1701), "our port")(
      "secret", po::value<std::string>()->default_value(""), "tunnel secret")("hide", "send hidden AVPs")(
      "sessions", po::value<int>()->default_value(1), "calls to place")(
      "outgoing", "place outgoing calls (OCRQ, LNS role) instead of incoming (ICRQ)")(
      "timeout", po::value<int>()->default_value(20), "seconds")("hold-ms", po::value<int>()->default_value(300),
                                                                 "hold established sessions before closing")(
      "host-name-hex", po::value<std::string>(), "our Host Name AVP as hex bytes (any bytes: hostile-input tests)")(
      "seed", po::value<uint64_t>(), "draw IDs from a generator seeded with this (the same IDs on every run: a "
                                     "client that reconnects with its old tunnel ID)");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  log::set_level(log::Level::kDebug);

  l2tp::L2tpConfig cfg;
  cfg.role = vm.count("outgoing") ? l2tp::Role::kLns : l2tp::Role::kLac;
  cfg.host_name = "l2tp-probe";
  if (vm.count("host-name-hex")) {
    const std::string hex = vm["host-name-hex"].as<std::string>();
    if (hex.empty() || hex.size() % 2 != 0 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      std::cerr << "--host-name-hex: an even number of hex digits, at least two\n";
      return 2;
    }
    cfg.host_name.clear();
    for (size_t i = 0; i < hex.size(); i += 2)
      cfg.host_name += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  cfg.secret = vm["secret"].as<std::string>();
  cfg.hide_avps = vm.count("hide") > 0;
  cfg.channel.hello_interval = l2tp::Duration(0);
  int want = vm["sessions"].as<int>();

  asio::io_context io;
  l2tp::RandomFn random = secure_random;
  if (vm.count("seed")) {
    auto rng = std::make_shared<std::mt19937_64>(vm["seed"].as<uint64_t>());
    random = [rng](std::span<uint8_t> out) {
      for (auto& b : out) b = static_cast<uint8_t>((*rng)());
    };
  }
  l2tp::Endpoint endpoint(cfg, random);
  int up = 0;
  bool failed = false, tunnel_down = false;
  std::string reason;
  uint16_t tunnel_id = 0;
  asio::steady_timer hold(io), deadline(io);
  L2tpDriver* driver_ptr = nullptr;
  L2tpDriver driver(io, endpoint, [&](l2tp::Action& a) {
    if (auto* t = std::get_if<l2tp::TunnelUp>(&a)) {
      std::cout << "PROBE tunnel_up local=" << t->tunnel_id << " remote=" << t->peer_tunnel_id
                << " host=" << display_escape(t->peer_host_name) << std::endl;
      for (int i = 0; i < want; ++i)
        endpoint.open_call(l2tp::Clock::now(), t->tunnel_id,
                           vm.count("outgoing") ? l2tp::CallDirection::kOutgoing : l2tp::CallDirection::kIncoming,
                           "probe-" + std::to_string(i));
      asio::post(io, [&] { driver_ptr->kick(); });
    } else if (auto* s = std::get_if<l2tp::SessionUp>(&a)) {
      std::cout << "PROBE session_up local=" << s->session_id << " remote=" << s->peer_session_id << std::endl;
      if (++up == want) {
        hold.expires_after(std::chrono::milliseconds(vm["hold-ms"].as<int>()));
        hold.async_wait([&](boost::system::error_code) {
          auto now = l2tp::Clock::now();
          for (const auto& si : endpoint.tunnel(tunnel_id)->sessions())
            endpoint.close_session(now, tunnel_id, si.session_id,
                                   l2tp::ResultCode{l2tp::result::kCdnAdministrative, std::nullopt, "probe done"});
          endpoint.close_tunnel(now, tunnel_id, {l2tp::result::kStopGeneralRequest, std::nullopt, "probe done"});
          driver_ptr->kick();
        });
      }
    } else if (auto* d = std::get_if<l2tp::SessionDown>(&a)) {
      std::cout << "PROBE session_down local=" << d->session_id << " by_peer=" << d->by_peer
                << " result=" << d->result.result << std::endl;
      if (d->by_peer && up < want) {
        failed = true;
        reason = "session refused by peer: " + d->result.message;
      }
    } else if (auto* td = std::get_if<l2tp::TunnelDown>(&a)) {
      std::cout << "PROBE tunnel_down by_peer=" << td->by_peer << " result=" << td->result.result << " "
                << td->result.message << std::endl;
      tunnel_down = true;
      if (td->by_peer || up < want) {
        failed = true;
        reason = "tunnel ended early: " + td->result.message;
      }
    }
  });
  driver_ptr = &driver;
  if (auto ok = driver.open(asio::ip::udp::endpoint(asio::ip::make_address(vm["bind"].as<std::string>()),
                                                     static_cast<uint16_t>(vm["bind-port"].as<int>())));
      !ok) {
    std::cerr << ok.error().message << std::endl;
    return 1;
  }
  asio::ip::udp::endpoint peer(asio::ip::make_address(vm["peer"].as<std::string>()),
                               static_cast<uint16_t>(vm["peer-port"].as<int>()));
  tunnel_id = *endpoint.open_tunnel(l2tp::Clock::now(), to_peer(peer));
  driver.start();
  // Poll for completion (or failure, or the deadline).
  auto start = std::chrono::steady_clock::now();
  auto timeout = std::chrono::seconds(vm["timeout"].as<int>());
  std::function<void()> check = [&] {
    if (failed || std::chrono::steady_clock::now() - start > timeout) {
      io.stop();
      return;
    }
    if (tunnel_down && up == want) {
      io.stop();
      return;
    }
    deadline.expires_after(std::chrono::milliseconds(50));
    deadline.async_wait([&](boost::system::error_code) { check(); });
  };
  check();
  io.run();
  // Let the final StopCCN be acknowledged: run the loop a little longer for its ACK, bounded.
  if (tunnel_down && !failed) {
    io.restart();
    asio::steady_timer linger(io);
    linger.expires_after(std::chrono::milliseconds(500));
    linger.async_wait([&](boost::system::error_code) { io.stop(); });
    io.run();
  }
  const auto& drops = endpoint.drops();
  for (const auto& [k, v] : drops) std::cout << "PROBE drop " << k << "=" << v << std::endl;
  if (failed || up != want || !tunnel_down) {
    std::cout << "PROBE FAILED up=" << up << "/" << want << " " << reason << std::endl;
    return 1;
  }
  std::cout << "PROBE OK sessions=" << up << std::endl;
  return 0;
}
