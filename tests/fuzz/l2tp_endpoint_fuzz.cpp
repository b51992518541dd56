// Fuzz target: a whole LNS endpoint (tunnel and session FSMs, control channel) fed a sequence of datagrams and
// timer ticks from several peers. Format: repeated [u8 op][u16 len][len bytes]: op bit 0 advances virtual time
// by (op >> 3) * 100 ms first; bits 1-2 pick the sender: two clients behind one NAT (the same address and port
// 1701, through SAs with marks 1 and 2), and one more address from two ports. The input's length picks the
// rest: odd gives a tunnel secret (hidden AVPs), and bit 1 turns admission on (only the first client, address and
// mark, holds an "SA").
//
// Small limits make them reachable, and after every datagram the resource bounds must hold: tunnels in total
// and per address, sessions per tunnel, unacknowledged control bytes per tunnel, rate buckets; with admission
// on, no other client holds a tunnel (not even the one behind the same NAT with the same port). A violation
// aborts (a crash for libFuzzer).
#include <cstdint>
#include <cstdlib>
#include <map>

#include "server/l2tp/endpoint.hpp"

using namespace l2tpvpn;
using namespace l2tpvpn::l2tp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

const PeerAddress kPeers[] = {PeerAddress::v4(0xc0000202, 1701, 1), PeerAddress::v4(0xc0000202, 1701, 2),
                              PeerAddress::v4(0xc0000203, 1701), PeerAddress::v4(0xc0000203, 50123)};
// Longer than any single control message we send: what may cross max_control_bytes before the check drops it.
constexpr size_t kOneMessage = 2048;

void check_bounds(const Endpoint& ep, const L2tpConfig& cfg, bool admission) {
  std::map<PeerAddress, size_t> per_host;
  size_t held = 0;
  for (const Tunnel* t : ep.tunnels()) {
    if (!t->held()) continue;
    ++held;
    ++per_host[t->peer().host()];
    check(t->sessions().size() <= cfg.max_sessions_per_tunnel);
    check(t->held_control_bytes() <= cfg.max_control_bytes + kOneMessage);
    if (admission) check(t->peer().same_client(kPeers[0]));
  }
  check(held <= cfg.max_tunnels);
  for (const auto& [host, n] : per_host) check(n <= cfg.max_tunnels_per_peer);
  check(ep.rate_buckets() <= 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  L2tpConfig cfg;
  if (size % 2) cfg.secret.push_back('s');
  cfg.hide_avps = !cfg.secret.empty();
  cfg.max_tunnels = 5;
  cfg.max_tunnels_per_peer = 3;
  cfg.max_sessions_per_tunnel = 4;
  cfg.max_control_bytes = 4096;
  cfg.max_control_rate = 50;
  const bool admission = size & 2;
  uint64_t counter = 0;
  AdmissionFn admit;
  if (admission)
    admit = [](const PeerAddress& p) { return p.same_client(kPeers[0]) ? Admission::kAdmit : Admission::kRefuse; };
  Endpoint ep(
      cfg,
      [&counter](std::span<uint8_t> out) {
        for (auto& b : out) b = static_cast<uint8_t>(++counter * 0x9e3779b97f4a7c15ULL >> 56);
      },
      admit);
  TimePoint now{};
  ByteReader r(ByteView(data, size));
  while (!r.empty()) {
    auto op = r.u8();
    auto len = r.u16();
    if (!op || !len) break;
    auto dg = r.take(std::min<size_t>(*len, r.remaining()));
    if (*op & 1) {
      now += Duration((*op >> 3) * 100);
      ep.on_timer(now);
    }
    ep.on_datagram(now, kPeers[(*op >> 1) & 3], *dg);
    ep.take_actions();
    check_bounds(ep, cfg, admission);
  }
  now += Duration(100000);
  ep.on_timer(now);
  ep.take_actions();
  check_bounds(ep, cfg, admission);
  return 0;
}
