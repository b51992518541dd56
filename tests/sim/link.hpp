// A seeded, deterministic lossy link for the pure L2TP core (the idea of ngtcp2's examples/sim.h, our own code).
//
// What it models
//   Two endpoints, A and B, exchange opaque datagrams (`Bytes`) in virtual time. Each datagram handed to send()
//   is independently lost, duplicated, delayed (delay + uniform jitter) and possibly held back ("reordered": an
//   extra 3 x delay, so later datagrams overtake it; jitter alone also reorders). Every copy of a duplicated
//   datagram gets its own delay. The two directions share one random stream but may be configured differently
//   (set_direction), e.g. to lose every ack while data gets through, or to partition the link and heal it later.
//
// Determinism
//   All randomness comes from one std::mt19937_64 seeded with LinkConfig::seed. The standard distributions
//   (uniform_real_distribution, ...) are implementation-defined, so values are derived from the engine's raw
//   64-bit output here: a run replays bit for bit on any standard library. Each send() draws the same number of
//   values whatever the probabilities are, so a zero probability does not shift the stream. Datagrams due at the
//   same instant are delivered in the order they were scheduled.
//
// How a test drives it (the link knows nothing about L2TP; endpoints can be ControlChannels, Endpoints, ...):
//
//     Link link(LinkConfig{.loss = 0.1, .seed = 7});
//     TimePoint now{};
//     for (;;) {
//       // 1. hand whatever A emitted to link.send(now, Side::kB, bytes), and B's to link.send(now, Side::kA, ...)
//       // 2. stop when done; otherwise advance virtual time to the earliest event:
//       auto next = earliest({link.next_delivery(), a.next_deadline(), b.next_deadline()});
//       if (!next) break;  // nothing can happen any more
//       now = std::max(now, *next);
//       // 3. feed arrivals, then run the endpoints' timers
//       for (auto& d : link.deliver_due(now)) (d.to == Side::kA ? a : b).on_datagram(now, d.bytes);
//       a.on_timer(now);
//       b.on_timer(now);
//     }
//
// Thread-safety: none; one test drives one link. Default-constructed LinkConfig: 20 ms delay, 10 ms jitter, no
// loss, no duplication, no reordering, seed 1.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "server/l2tp/time.hpp"

namespace l2tpvpn::sim {

struct LinkConfig {
  l2tp::Duration delay{20};
  l2tp::Duration jitter{10};  // uniform extra 0..jitter (inclusive), per copy
  double loss = 0;            // probability a datagram is dropped (0..1; 1 = nothing gets through)
  double duplicate = 0;       // probability a datagram that was not lost arrives twice
  double reorder = 0;         // probability a copy is held back by an extra 3 x delay (overtaken by later ones)
  uint64_t seed = 1;          // seeds the one random stream (used by the constructor only)
};

enum class Side { kA, kB };

inline Side other(Side s) {
  return s == Side::kA ? Side::kB : Side::kA;
}

// A datagram the link hands to an endpoint.
struct InFlight {
  Side to;
  Bytes bytes;
};

// Per-direction counters, indexed by the receiving side.
struct LinkStats {
  uint64_t sent = 0;  // datagrams handed to send()
  uint64_t lost = 0;
  uint64_t duplicated = 0;  // datagrams delivered twice
  uint64_t reordered = 0;   // copies held back by the reorder delay
  uint64_t delivered = 0;   // copies handed out by deliver_due()
};

// The earliest of several optional instants (nullopt when all are empty): where virtual time goes next.
inline std::optional<l2tp::TimePoint> earliest(std::initializer_list<std::optional<l2tp::TimePoint>> ts) {
  std::optional<l2tp::TimePoint> best;
  for (const auto& t : ts)
    if (t && (!best || *t < *best)) best = t;
  return best;
}

class Link {
 public:
  // Both directions behave as `c`; the random stream is seeded with c.seed.
  explicit Link(LinkConfig c) : rng_(c.seed) { config_[0] = config_[1] = c; }

  // Changes how datagrams towards `to` are treated from now on (already scheduled ones are unaffected).
  // The random stream continues; c.seed is ignored.
  void set_direction(Side to, LinkConfig c) { config_[index(to)] = c; }

  // Puts a datagram on the wire towards `to` at virtual time `now`.
  void send(l2tp::TimePoint now, Side to, const Bytes& bytes) {
    const LinkConfig& c = config_[index(to)];
    LinkStats& st = stats_[index(to)];
    ++st.sent;
    // Always draw both, so one direction's settings do not change which values the other one sees.
    const bool lose = chance(c.loss);
    const bool dup = chance(c.duplicate);
    if (lose) {
      ++st.lost;
      return;
    }
    schedule(now, to, bytes, c, st);
    if (dup) {
      ++st.duplicated;
      schedule(now, to, bytes, c, st);
    }
  }

  // When the next datagram arrives, or nullopt when nothing is on the wire.
  std::optional<l2tp::TimePoint> next_delivery() const {
    if (queue_.empty()) return std::nullopt;
    return queue_.begin()->first.first;
  }

  // Every datagram due at or before `now`, in arrival order (ties: scheduling order).
  std::vector<InFlight> deliver_due(l2tp::TimePoint now) {
    std::vector<InFlight> out;
    while (!queue_.empty() && queue_.begin()->first.first <= now) {
      ++stats_[index(queue_.begin()->second.to)].delivered;
      out.push_back(std::move(queue_.begin()->second));
      queue_.erase(queue_.begin());
    }
    return out;
  }

  bool idle() const { return queue_.empty(); }
  const LinkStats& stats(Side to) const { return stats_[index(to)]; }
  // Totals over both directions.
  uint64_t sent() const { return stats_[0].sent + stats_[1].sent; }
  uint64_t lost() const { return stats_[0].lost + stats_[1].lost; }
  uint64_t duplicated() const { return stats_[0].duplicated + stats_[1].duplicated; }
  uint64_t reordered() const { return stats_[0].reordered + stats_[1].reordered; }

 private:
  static size_t index(Side s) { return s == Side::kA ? 0 : 1; }
  // Uniform in [0, 1) from the top 53 bits of the engine's output.
  double unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }  // p <= 0: never; p >= 1: always
  void schedule(l2tp::TimePoint now, Side to, const Bytes& bytes, const LinkConfig& c, LinkStats& st) {
    const uint64_t span = static_cast<uint64_t>(std::max<int64_t>(c.jitter.count(), 0)) + 1;
    auto d = c.delay + l2tp::Duration(static_cast<int64_t>(rng_() % span));
    if (chance(c.reorder)) {
      d += c.delay * 3;
      ++st.reordered;
    }
    queue_.emplace(std::make_pair(now + d, seq_++), InFlight{to, bytes});
  }

  LinkConfig config_[2];  // indexed by the receiving side
  LinkStats stats_[2];
  std::mt19937_64 rng_;
  std::map<std::pair<l2tp::TimePoint, uint64_t>, InFlight> queue_;  // (due, scheduling order) -> datagram
  uint64_t seq_ = 0;
};

}  // namespace l2tpvpn::sim
