// Benchmark (prints numbers; not a pass/fail test): the pure L2TP core's speed, for later issues to compare with.
//   1. control messages decoded per second (a mix of SCCRQ, ICRQ, ICCN, CDN, HELLO; plain and hidden AVPs)
//   2. tunnels + sessions established per second through two endpoints joined in memory (no sockets)
#include <chrono>
#include <algorithm>
#include <cstdio>
#include <random>

#include "server/l2tp/endpoint.hpp"

using namespace l2tpvpn;
using namespace l2tpvpn::l2tp;
using BenchClock = std::chrono::steady_clock;

namespace {

std::vector<Bytes> sample_messages(bool hidden) {
  std::vector<Message> ms;
  Message sccrq;
  sccrq.type = MessageType::kSccrq;
  sccrq.protocol_version = 0x0100;
  sccrq.host_name = "client.example.net";
  sccrq.vendor_name = "Microsoft";
  sccrq.framing_capabilities = 3;
  sccrq.bearer_capabilities = 0;
  sccrq.assigned_tunnel_id = 4711;
  sccrq.receive_window_size = 8;
  sccrq.firmware_revision = 0x0600;
  ms.push_back(sccrq);
  Message icrq;
  icrq.type = MessageType::kIcrq;
  icrq.assigned_session_id = 1;
  icrq.call_serial_number = 42;
  icrq.bearer_type = 2;
  ms.push_back(icrq);
  Message iccn;
  iccn.type = MessageType::kIccn;
  iccn.tx_connect_speed = 100000000;
  iccn.framing_type = 1;
  ms.push_back(iccn);
  Message cdn;
  cdn.type = MessageType::kCdn;
  cdn.assigned_session_id = 1;
  cdn.result_code = ResultCode{3, 0, "admin"};
  ms.push_back(cdn);
  Message hello;
  hello.type = MessageType::kHello;
  ms.push_back(hello);
  static const std::string secret = "bench-secret";
  EncodeOptions eo;
  if (hidden) {
    eo.secret = as_bytes(secret);
    eo.random_vector = Bytes(16, 7);
    eo.hide = {AvpType::kAssignedSessionId, AvpType::kCallSerialNumber, AvpType::kTxConnectSpeed,
               AvpType::kResultCode, AvpType::kAssignedTunnelId};
  }
  std::vector<Bytes> out;
  for (const auto& m : ms) out.push_back(encode_message(m, eo));
  return out;
}

void bench_decode(bool hidden) {
  auto msgs = sample_messages(hidden);
  static const std::string secret = "bench-secret";
  DecodeOptions opts{as_bytes(secret)};
  const size_t iterations = 400000;
  size_t ok = 0;
  auto t0 = BenchClock::now();
  for (size_t i = 0; i < iterations; ++i) ok += decode_message(msgs[i % msgs.size()], opts).has_value();
  double s = std::chrono::duration<double>(BenchClock::now() - t0).count();
  std::printf("decode %-7s %8.0f messages/s  (%zu/%zu decoded)\n", hidden ? "hidden" : "plain", iterations / s, ok,
              iterations);
}

void bench_establish(int tunnels, int sessions_per_tunnel) {
  auto rng = std::make_shared<std::mt19937_64>(1);
  RandomFn rnd = [rng](std::span<uint8_t> o) {
    for (auto& b : o) b = static_cast<uint8_t>((*rng)());
  };
  L2tpConfig lac_cfg, lns_cfg;
  lac_cfg.role = Role::kLac;
  lac_cfg.max_tunnels_per_peer = lns_cfg.max_tunnels_per_peer = 100000;
  lac_cfg.max_tunnels = lns_cfg.max_tunnels = 100000;
  lac_cfg.max_control_rate = lns_cfg.max_control_rate = 0;  // the core's cost, not the per-address limiter's
  Endpoint lac(lac_cfg, rnd), lns(lns_cfg, rnd);
  PeerAddress a = PeerAddress::v4(0x0a000001, 1701), b = PeerAddress::v4(0x0a000002, 1701);
  TimePoint now{};
  size_t up_sessions = 0, up_tunnels = 0, datagrams = 0;
  auto pump = [&] {
    bool any = true;
    while (any) {
      any = false;
      for (auto& act : lac.take_actions()) {
        any = true;
        if (auto* s = std::get_if<SendDatagram>(&act)) {
          lns.on_datagram(now, a, s->bytes);
          ++datagrams;
        }
        if (auto* t = std::get_if<TunnelUp>(&act))
          for (int i = 0; i < sessions_per_tunnel; ++i) lac.open_call(now, t->tunnel_id, CallDirection::kIncoming);
      }
      for (auto& act : lns.take_actions()) {
        any = true;
        if (auto* s = std::get_if<SendDatagram>(&act)) {
          lac.on_datagram(now, b, s->bytes);
          ++datagrams;
        }
        if (std::holds_alternative<TunnelUp>(act)) ++up_tunnels;
        if (std::holds_alternative<SessionUp>(act)) ++up_sessions;
      }
      // Let delayed ACKs fire so windows open (virtual time).
      if (!any) {
        auto d1 = lac.next_deadline(), d2 = lns.next_deadline();
        auto d = d1 && (!d2 || *d1 < *d2) ? d1 : d2;
        if (d && *d - now < Duration(500)) {
          now = *d;
          lac.on_timer(now);
          lns.on_timer(now);
          any = true;
        }
      }
    }
  };
  auto t0 = BenchClock::now();
  for (int t = 0; t < tunnels; ++t) lac.open_tunnel(now, b);
  pump();
  double s = std::chrono::duration<double>(BenchClock::now() - t0).count();
  std::printf("establish %d tunnels x %d sessions: %zu tunnels + %zu sessions up in %.3f s -> %.0f tunnels/s, %.0f "
              "sessions/s, %.0f ns per datagram (both ends, %zu datagrams)\n",
              tunnels, sessions_per_tunnel, up_tunnels, up_sessions, s, up_tunnels / s, up_sessions / s,
              s * 1e9 / static_cast<double>(std::max<size_t>(1, datagrams)), datagrams);
}

}  // namespace

int main() {
  bench_decode(false);
  bench_decode(true);
  // The per-datagram cost must not grow with the number of tunnels held (docs/benchmarks.md).
  bench_establish(1000, 0);
  bench_establish(10000, 0);
  bench_establish(1000, 1);
  bench_establish(10000, 1);
  bench_establish(100, 100);
  return 0;
}
