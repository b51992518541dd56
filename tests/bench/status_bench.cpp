// Benchmark (prints numbers; not a pass/fail test): what /status and /metrics cost to render with 10,000
// sessions, each on a tunnel of its own, and an IPsec SA per client. The views are made up (the renderers are
// pure); building them from a live daemon is measured end to end by setup_bench.py's status_ms.
//   to_json(s).dump()   the tree, then its text (what /status did before to_json_text)
//   to_json_text(s)     the text written straight from the views (/status)
//   to_metrics(s)       from the views, and from tallies (/metrics)
#include <chrono>
#include <cstdio>
#include <string>

#include "server/status.hpp"

using namespace l2tpvpn;
using BenchClock = std::chrono::steady_clock;

namespace {

StatusSnapshot make_snapshot(size_t n) {
  StatusSnapshot s;
  s.server = ServerView{"0.2.0", 3600, "203.0.113.1:1701", ListenerCounters{}, ListenerCounters{}};
  s.ipsec.emplace();
  s.ipsec->required = true;
  s.ipsec->charon = "embedded";
  s.ipsec->link = "ready";
  s.ppp.emplace();
  s.ppp->data_path = "kernel";
  for (size_t i = 0; i < n; ++i) {
    const std::string addr = "198.51." + std::to_string(100 + i / 250) + "." + std::to_string(1 + i % 250);
    TunnelView t;
    t.id = static_cast<uint16_t>(1000 + i);
    t.peer_id = static_cast<uint16_t>(1 + i);
    t.peer = addr + ":1701";
    t.peer_host_name = i % 2 ? "DESKTOP-4F2K9QX" : "iPhone";
    t.state = l2tp::TunnelState::kEstablished;
    t.sessions.push_back(L2tpSessionView{static_cast<uint16_t>(2000 + i), 1, l2tp::SessionState::kEstablished,
                                         l2tp::CallDirection::kIncoming, static_cast<uint32_t>(i), false});
    t.control.sent = t.control.transmitted = t.control.received = 40 + i % 7;
    s.l2tp.tunnels.push_back(std::move(t));
    s.ipsec->sas.push_back(SaView{addr, 4500, true, true, "l2tpvpn[" + std::to_string(i) + "]",
                                  "l2tp{" + std::to_string(i) + "}", "AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048",
                                  "AES_CBC-128/HMAC_SHA1_96", 1000000 + i, 2000000 + i, 0, 0});
    SessionView v;
    v.tunnel = static_cast<uint16_t>(1000 + i);
    v.session = static_cast<uint16_t>(2000 + i);
    v.peer_tunnel = static_cast<uint16_t>(1 + i);
    v.peer_session = 1;
    v.peer = addr + ":1701";
    v.user = "user" + std::to_string(i);
    v.address = "10.99." + std::to_string(i / 250) + "." + std::to_string(2 + i % 250);
    v.interface = "ppp" + std::to_string(i);
    v.data_path = "kernel";
    v.state = SessionPhase::kUp;
    v.since = "2026-12-02T04:00:00Z";
    v.pppd_pid = static_cast<int>(10000 + i);
    v.bytes_in = v.bytes_out = 123456789 + i;
    v.packets_in = v.packets_out = 98765 + i;
    v.ipsec = SessionIpsecView{true, 4500, "AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048", "AES_CBC-128/HMAC_SHA1_96"};
    s.sessions.push_back(std::move(v));
  }
  s.l2tp.drops["malformed"] = 3;
  return s;
}

// The best of `rounds` runs of f, in ms (the least disturbed by whatever else runs on the machine).
template <class F>
double best_ms(int rounds, F&& f) {
  double best = 1e18;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = BenchClock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(BenchClock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main() {
  for (size_t n : {1000, 10000}) {
    const StatusSnapshot s = make_snapshot(n);
    size_t tree_bytes = 0, text_bytes = 0, metrics_bytes = 0;
    const double tree = best_ms(5, [&] {
      tree_bytes = to_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
    });
    const double text = best_ms(5, [&] { text_bytes = to_json_text(s).size(); });
    const double metrics_views = best_ms(5, [&] { metrics_bytes = to_metrics(s).size(); });
    StatusSnapshot lean = s;
    lean.tallies = tally(s);
    lean.l2tp.tunnels.clear();
    lean.sessions.clear();
    lean.ipsec->sas.clear();
    const double metrics_tallies = best_ms(5, [&] { (void)to_metrics(lean); });
    std::printf("status render, %zu sessions (each its tunnel and SA): tree+dump %.1f ms (%zu B), text %.1f ms "
                "(%zu B), %.1fx; metrics from views %.2f ms, from tallies %.3f ms (%zu B)\n",
                n, tree, tree_bytes, text, text_bytes, tree / text, metrics_views, metrics_tallies, metrics_bytes);
  }
  return 0;
}
