// Two reliable control channels (RFC 2661 §5.8) over the seeded lossy link, in virtual time.
//
//  - At 0 %, 1 %, 10 % and 30 % loss, with duplication and reordering, for several fixed seeds: A sends 200
//    messages in one burst, B sends 150 spread over time; each side must receive the other's messages exactly
//    once and in order, both must end with everything acknowledged, and the receiver must never see a message
//    beyond the window it advertised (so the sender respected it).
//  - At 100 % loss the sender must report ChannelFailed after exactly max_retransmissions retransmissions, at
//    the exact back-off times (1, 2, 4, 8, 8, ... s).
//  - With only the acks lost, the receiver still delivers exactly once while the sender gives up on time.
//  - A partition that heals before the retry budget runs out loses nothing.
//  - The same seed replays the same run.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "server/l2tp/control_channel.hpp"
#include "sim/link.hpp"

namespace l2tpvpn::l2tp {
namespace {

using sim::Link;
using sim::LinkConfig;
using sim::Side;

const TimePoint t0{};
int64_t ms_since_t0(TimePoint t) {
  return std::chrono::duration_cast<Duration>(t - t0).count();
}

constexpr uint16_t kTunnelIdA = 11, kTunnelIdB = 22;

// A message: a 4-byte index, the sender's tag, and a length that varies with the index.
Bytes make_message(Side from, uint32_t index) {
  Bytes b = {static_cast<uint8_t>(index >> 24), static_cast<uint8_t>(index >> 16), static_cast<uint8_t>(index >> 8),
             static_cast<uint8_t>(index), from == Side::kA ? uint8_t{'A'} : uint8_t{'B'}};
  b.resize(b.size() + index % 37, static_cast<uint8_t>(index));
  return b;
}
uint16_t session_for(uint32_t index) {
  return static_cast<uint16_t>(index % 7);
}

struct Node {
  Node(Side s, ControlChannel c) : side(s), channel(std::move(c)) {}
  Side side;
  ControlChannel channel;
  std::vector<uint32_t> delivered;                       // indices of the peer's messages, in delivery order
  std::vector<TimePoint> transmit_at;                    // every datagram this side put on the link
  std::vector<TimePoint> failed_at;                      // ChannelFailed reports
  bool corrupt = false;                                  // a delivery that was not one of the peer's messages
  std::vector<std::pair<TimePoint, uint32_t>> schedule;  // (when, index) of messages still to send
};

class World {
 public:
  World(LinkConfig link, ControlChannelConfig a_cfg, ControlChannelConfig b_cfg)
      : link_(link), a_(Side::kA, ControlChannel(a_cfg, t0)), b_(Side::kB, ControlChannel(b_cfg, t0)) {
    a_.channel.set_peer_tunnel_id(kTunnelIdB);
    b_.channel.set_peer_tunnel_id(kTunnelIdA);
    // Each side learns the other's Receive Window Size AVP, as from SCCRQ/SCCRP (§4.4.3).
    a_.channel.set_peer_receive_window(b_cfg.receive_window);
    b_.channel.set_peer_receive_window(a_cfg.receive_window);
  }

  Link& link() { return link_; }
  Node& node(Side s) { return s == Side::kA ? a_ : b_; }
  TimePoint now() const { return now_; }

  // Messages 0..count - 1 from `from`, the first at `start`, then one every `every`.
  void schedule(Side from, uint32_t count, TimePoint start, Duration every) {
    for (uint32_t i = 0; i < count; ++i) node(from).schedule.emplace_back(start + every * i, i);
  }

  // Runs until `done()` holds or nothing can happen any more or virtual time passes `limit`.
  template <class Done>
  bool run(Duration limit, Done done) {
    const TimePoint end = now_ + limit;
    for (;;) {
      send_scheduled();
      collect(a_);
      collect(b_);
      if (done()) return true;
      auto next = sim::earliest({link_.next_delivery(), a_.channel.next_deadline(), b_.channel.next_deadline(),
                                 next_scheduled(a_), next_scheduled(b_)});
      if (!next || *next > end) return false;
      now_ = std::max(now_, *next);
      for (auto& d : link_.deliver_due(now_)) {
        auto p = decode_packet(d.bytes);
        if (!p || p->header.tunnel_id != (d.to == Side::kA ? kTunnelIdA : kTunnelIdB)) {
          ADD_FAILURE() << "bad datagram on the link";
          return false;
        }
        node(d.to).channel.on_packet(now_, p->header, p->payload);
        collect(node(d.to));  // in arrival order, as a driver would
      }
      a_.channel.on_timer(now_);
      b_.channel.on_timer(now_);
    }
  }

 private:
  static std::optional<TimePoint> next_scheduled(const Node& n) {
    if (n.schedule.empty()) return std::nullopt;
    return n.schedule.front().first;
  }
  void send_scheduled() {
    for (Node* n : {&a_, &b_}) {
      size_t i = 0;
      for (; i < n->schedule.size() && n->schedule[i].first <= now_; ++i) {
        uint32_t index = n->schedule[i].second;
        n->channel.send(now_, session_for(index), make_message(n->side, index));
      }
      n->schedule.erase(n->schedule.begin(), n->schedule.begin() + static_cast<ptrdiff_t>(i));
    }
  }
  void collect(Node& n) {
    for (auto& a : n.channel.take_actions()) {
      if (auto* t = std::get_if<Transmit>(&a)) {
        n.transmit_at.push_back(now_);
        link_.send(now_, sim::other(n.side), t->datagram);
      } else if (auto* d = std::get_if<Deliver>(&a)) {
        if (d->avps.size() < 5 || d->avps[4] != (n.side == Side::kA ? 'B' : 'A')) {
          n.corrupt = true;
          continue;
        }
        uint32_t index =
            uint32_t{d->avps[0]} << 24 | uint32_t{d->avps[1]} << 16 | uint32_t{d->avps[2]} << 8 | d->avps[3];
        if (d->avps != make_message(sim::other(n.side), index) || d->session_id != session_for(index)) n.corrupt = true;
        n.delivered.push_back(index);
      } else if (std::holds_alternative<ChannelFailed>(a)) {
        n.failed_at.push_back(now_);
      }
      // HelloDue: the tests below disable HELLO or do not care.
    }
  }

  Link link_;
  Node a_, b_;
  TimePoint now_ = t0;
};

std::vector<uint32_t> iota(uint32_t n) {
  std::vector<uint32_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

ControlChannelConfig channel_config(uint16_t receive_window) {
  ControlChannelConfig c;
  c.receive_window = receive_window;
  c.hello_interval = Duration(0);
  // At 30 % loss a round trip fails about half the time; 20 timeouts in a row without progress then has a
  // probability of about 1e-6 per message. These tests are about eventual exactly-once delivery; the default
  // budget of 5 is what the 100 % loss test checks.
  c.max_retransmissions = 20;
  return c;
}

struct LossCase {
  double loss;
  uint64_t seed;
};

class LossyChannel : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossyChannel, EveryMessageDeliveredOnceInOrderBothWays) {
  constexpr uint32_t kFromA = 200, kFromB = 150;
  LinkConfig lc;
  lc.delay = Duration(20);
  lc.jitter = Duration(15);
  lc.loss = GetParam().loss;
  lc.duplicate = 0.05;
  lc.reorder = 0.10;
  lc.seed = GetParam().seed;
  // Different windows each way: A may have 4 outstanding towards B, B 16 towards A.
  World w(lc, channel_config(16), channel_config(4));
  w.schedule(Side::kA, kFromA, t0, Duration(0));                 // one burst
  w.schedule(Side::kB, kFromB, t0 + Duration(5), Duration(37));  // a steady trickle
  auto& a = w.node(Side::kA);
  auto& b = w.node(Side::kB);
  bool done = w.run(Duration(24 * 3600 * 1000), [&] {
    return a.delivered.size() >= kFromB && b.delivered.size() >= kFromA && a.channel.all_acknowledged() &&
           b.channel.all_acknowledged() && a.schedule.empty() && b.schedule.empty();
  });
  const auto& link = w.link();
  SCOPED_TRACE("link: sent " + std::to_string(link.sent()) + " lost " + std::to_string(link.lost()) + " duplicated " +
               std::to_string(link.duplicated()) + " reordered " + std::to_string(link.reordered()) + "; virtual ms " +
               std::to_string(ms_since_t0(w.now())));
  ASSERT_TRUE(done);
  if (std::getenv("SIM_VERBOSE")) {
    std::printf(
        "loss %.2f seed %llu: link sent %llu lost %llu dup %llu reord %llu; A retx %llu B retx %llu; "
        "A zlb %llu B zlb %llu; dups %llu/%llu ooo %llu/%llu; done at %lld ms\n",
        lc.loss, static_cast<unsigned long long>(lc.seed), static_cast<unsigned long long>(link.sent()),
        static_cast<unsigned long long>(link.lost()), static_cast<unsigned long long>(link.duplicated()),
        static_cast<unsigned long long>(link.reordered()),
        static_cast<unsigned long long>(a.channel.stats().retransmissions),
        static_cast<unsigned long long>(b.channel.stats().retransmissions),
        static_cast<unsigned long long>(a.channel.stats().zlb_sent),
        static_cast<unsigned long long>(b.channel.stats().zlb_sent),
        static_cast<unsigned long long>(a.channel.stats().duplicates),
        static_cast<unsigned long long>(b.channel.stats().duplicates),
        static_cast<unsigned long long>(a.channel.stats().out_of_order),
        static_cast<unsigned long long>(b.channel.stats().out_of_order), static_cast<long long>(ms_since_t0(w.now())));
  }
  EXPECT_EQ(b.delivered, iota(kFromA));  // exactly once, in order
  EXPECT_EQ(a.delivered, iota(kFromB));
  EXPECT_FALSE(a.corrupt || b.corrupt);
  EXPECT_TRUE(a.failed_at.empty() && b.failed_at.empty());
  EXPECT_EQ(b.channel.stats().received, kFromA);
  EXPECT_EQ(a.channel.stats().received, kFromB);
  // The senders kept within the windows the receivers advertised: nothing arrived too far ahead.
  EXPECT_EQ(a.channel.stats().outside_window + b.channel.stats().outside_window, 0u);
  EXPECT_EQ(a.channel.stats().ignored_acks + b.channel.stats().ignored_acks, 0u);
  // The link really did what it was asked to.
  EXPECT_GT(link.duplicated(), 0u);
  EXPECT_GT(link.reordered(), 0u);
  if (lc.loss > 0) {
    EXPECT_GT(link.lost(), 0u);
    EXPECT_GT(a.channel.stats().retransmissions + b.channel.stats().retransmissions, 0u);
  } else {
    EXPECT_EQ(a.channel.stats().retransmissions + b.channel.stats().retransmissions, 0u);
  }
  // Some duplicate or reordered datagrams must have reached the receivers and been handled.
  EXPECT_GT(a.channel.stats().duplicates + b.channel.stats().duplicates + a.channel.stats().out_of_order +
                b.channel.stats().out_of_order,
            0u);
}

std::vector<LossCase> loss_cases() {
  std::vector<LossCase> v;
  for (double loss : {0.0, 0.01, 0.10, 0.30})
    for (uint64_t seed : {1, 2, 3, 42, 1234}) v.push_back({loss, seed});
  return v;
}

INSTANTIATE_TEST_SUITE_P(LossRates, LossyChannel, ::testing::ValuesIn(loss_cases()), [](const auto& p) {
  return "loss" + std::to_string(static_cast<int>(p.param.loss * 100 + 0.5)) + "pct_seed" +
         std::to_string(p.param.seed);
});

// Transmit times relative to t0, in ms.
std::vector<int64_t> times_ms(const std::vector<TimePoint>& ts) {
  std::vector<int64_t> v;
  for (auto t : ts) v.push_back(ms_since_t0(t));
  return v;
}

TEST(TotalLoss, FailsAfterExactRetransmissionsAtBackoffTimes) {
  LinkConfig lc;
  lc.loss = 1.0;
  auto cfg = channel_config(4);
  cfg.max_retransmissions = 5;  // the defaults: 1 s doubling, capped at 8 s
  cfg.initial_timeout = Duration(1000);
  cfg.max_timeout = Duration(8000);
  World w(lc, cfg, cfg);
  w.schedule(Side::kA, 3, t0, Duration(0));  // three queued: with cwnd 1 only Ns 0 is ever on the wire
  auto& a = w.node(Side::kA);
  w.run(Duration(3600 * 1000), [&] { return !a.failed_at.empty(); });
  // The first transmission at 0, then retransmissions after 1, 2, 4, 8, 8 s.
  EXPECT_EQ(times_ms(a.transmit_at), (std::vector<int64_t>{0, 1000, 3000, 7000, 15000, 23000}));
  ASSERT_EQ(a.failed_at.size(), 1u);
  EXPECT_EQ(ms_since_t0(a.failed_at[0]), 31000);  // the last retransmission's 8 s ran out too
  EXPECT_EQ(a.channel.stats().retransmissions, 5u);
  EXPECT_EQ(a.channel.stats().transmitted, 6u);
  EXPECT_TRUE(a.channel.failed());
  // Nothing further happens, however long we wait.
  EXPECT_FALSE(w.run(Duration(3600 * 1000), [] { return false; }));
  EXPECT_EQ(a.transmit_at.size(), 6u);
  EXPECT_EQ(a.failed_at.size(), 1u);
  EXPECT_TRUE(w.node(Side::kB).delivered.empty());
}

TEST(TotalLoss, LongerBudgetKeepsTheCap) {
  LinkConfig lc;
  lc.loss = 1.0;
  lc.seed = 9;
  auto cfg = channel_config(4);
  cfg.max_retransmissions = 8;
  World w(lc, cfg, cfg);
  w.schedule(Side::kA, 1, t0 + Duration(250), Duration(0));
  auto& a = w.node(Side::kA);
  w.run(Duration(3600 * 1000), [&] { return !a.failed_at.empty(); });
  EXPECT_EQ(times_ms(a.transmit_at), (std::vector<int64_t>{250, 1250, 3250, 7250, 15250, 23250, 31250, 39250, 47250}));
  ASSERT_EQ(a.failed_at.size(), 1u);
  EXPECT_EQ(ms_since_t0(a.failed_at[0]), 55250);
  EXPECT_EQ(a.channel.stats().retransmissions, 8u);
}

TEST(OneWayLoss, LostAcksStillDeliverExactlyOnce) {
  LinkConfig lc;
  lc.seed = 5;
  World w(lc, channel_config(4), channel_config(4));
  LinkConfig dead = lc;
  dead.loss = 1.0;
  w.link().set_direction(Side::kA, dead);  // everything B says is lost; A's messages get through
  w.schedule(Side::kA, 1, t0, Duration(0));
  auto& a = w.node(Side::kA);
  auto& b = w.node(Side::kB);
  // A's channel uses the 20-retransmission budget of channel_config(); run to its failure.
  w.run(Duration(3600 * 1000), [&] { return !a.failed_at.empty(); });
  EXPECT_EQ(b.delivered, iota(1));               // delivered once ...
  EXPECT_EQ(b.channel.stats().duplicates, 20u);  // ... every retransmission discarded ...
  EXPECT_EQ(b.channel.stats().zlb_sent, 21u);    // ... and re-acked at once (plus the first ZLB)
  EXPECT_EQ(a.channel.stats().retransmissions, 20u);
  ASSERT_EQ(a.failed_at.size(), 1u);
  // 1 + 2 + 4 + 8 * 18 s of retransmission timers.
  EXPECT_EQ(ms_since_t0(a.failed_at[0]), (1 + 2 + 4 + 8 * 18) * 1000);
}

TEST(Partition, HealedBeforeTheBudgetRunsOutLosesNothing) {
  LinkConfig lc;
  lc.seed = 77;
  lc.duplicate = 0.02;
  lc.reorder = 0.05;
  auto cfg = channel_config(8);
  cfg.max_retransmissions = 5;  // 31 s to failure; the partition lasts 20 s
  World w(lc, cfg, cfg);
  w.schedule(Side::kA, 100, t0, Duration(100));
  w.schedule(Side::kB, 100, t0, Duration(100));
  auto& a = w.node(Side::kA);
  auto& b = w.node(Side::kB);
  w.run(Duration(3000), [] { return false; });
  LinkConfig cut = lc;
  cut.loss = 1.0;
  w.link().set_direction(Side::kA, cut);
  w.link().set_direction(Side::kB, cut);
  w.run(Duration(20000), [] { return false; });
  w.link().set_direction(Side::kA, lc);
  w.link().set_direction(Side::kB, lc);
  bool done = w.run(Duration(3600 * 1000), [&] {
    return a.delivered.size() >= 100 && b.delivered.size() >= 100 && a.channel.all_acknowledged() &&
           b.channel.all_acknowledged();
  });
  ASSERT_TRUE(done);
  EXPECT_EQ(a.delivered, iota(100));
  EXPECT_EQ(b.delivered, iota(100));
  EXPECT_TRUE(a.failed_at.empty() && b.failed_at.empty());
  EXPECT_GT(a.channel.stats().retransmissions, 0u);
}

TEST(Determinism, SameSeedSameRun) {
  auto run_once = [](uint64_t seed) {
    LinkConfig lc;
    lc.loss = 0.2;
    lc.duplicate = 0.05;
    lc.reorder = 0.1;
    lc.seed = seed;
    World w(lc, channel_config(8), channel_config(8));
    w.schedule(Side::kA, 60, t0, Duration(10));
    w.schedule(Side::kB, 60, t0, Duration(13));
    auto& a = w.node(Side::kA);
    auto& b = w.node(Side::kB);
    w.run(Duration(3600 * 1000), [&] {
      return a.delivered.size() >= 60 && b.delivered.size() >= 60 && a.channel.all_acknowledged() &&
             b.channel.all_acknowledged();
    });
    auto trace = times_ms(a.transmit_at);
    auto tb = times_ms(b.transmit_at);
    trace.push_back(-1);
    trace.insert(trace.end(), tb.begin(), tb.end());
    return trace;
  };
  auto first = run_once(3);
  EXPECT_EQ(first, run_once(3));
  EXPECT_NE(first, run_once(4));
}

}  // namespace
}  // namespace l2tpvpn::l2tp
