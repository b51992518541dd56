// Fuzz target: a whole LNS endpoint (tunnel and session FSMs, control channel) fed a sequence of datagrams and
// timer ticks from the input. Format: repeated [u8 op][u16 len][len bytes]; op & 1 advances virtual time by
// (op >> 1) * 100 ms before the datagram. Asserts nothing but the absence of crashes, leaks and UB.
#include <cstdint>

#include "server/l2tp/endpoint.hpp"

using namespace l2tpvpn;
using namespace l2tpvpn::l2tp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  L2tpConfig cfg;
  if (size % 2) cfg.secret.push_back('s');
  cfg.hide_avps = !cfg.secret.empty();
  uint64_t counter = 0;
  Endpoint ep(cfg, [&counter](std::span<uint8_t> out) {
    for (auto& b : out) b = static_cast<uint8_t>(++counter * 0x9e3779b97f4a7c15ULL >> 56);
  });
  TimePoint now{};
  PeerAddress peer = PeerAddress::v4(0x7f000001, 1701);
  ByteReader r(ByteView(data, size));
  while (!r.empty()) {
    auto op = r.u8();
    auto len = r.u16();
    if (!op || !len) break;
    auto dg = r.take(std::min<size_t>(*len, r.remaining()));
    if (*op & 1) {
      now += Duration((*op >> 1) * 100);
      ep.on_timer(now);
    }
    ep.on_datagram(now, peer, *dg);
    ep.take_actions();
  }
  now += Duration(100000);
  ep.on_timer(now);
  ep.take_actions();
  return 0;
}
