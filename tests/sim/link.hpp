// A seeded, deterministic lossy link for the pure L2TP core (after ngtcp2's examples/sim.h): datagrams between
// two endpoints A and B in virtual time, with delay, jitter, loss, duplication and reordering drawn from one
// std::mt19937_64 seeded by the test, so any failure replays exactly.
//
// The test loop: send() what an endpoint emits; next_delivery() tells when the link has something due;
// deliver_due(now) hands back what has arrived. Advance virtual time to min(link, endpoints' deadlines).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "common/bytes.hpp"
#include "server/l2tp/time.hpp"

namespace l2tpvpn::sim {

struct LinkConfig {
  l2tp::Duration delay{20};
  l2tp::Duration jitter{10};   // uniform extra 0..jitter
  double loss = 0;             // probability a datagram is dropped
  double duplicate = 0;        // probability it is delivered twice
  double reorder = 0;          // probability it is held back by 3x delay (overtaken by later ones)
  uint64_t seed = 1;
};

enum class Side { kA, kB };

struct InFlight {
  Side to;
  Bytes bytes;
};

class Link {
 public:
  explicit Link(LinkConfig c) : c_(c), rng_(c.seed) {}

  void send(l2tp::TimePoint now, Side to, const Bytes& bytes) {
    ++sent_;
    if (chance(c_.loss)) {
      ++lost_;
      return;
    }
    schedule(now, to, bytes);
    if (chance(c_.duplicate)) {
      ++duplicated_;
      schedule(now, to, bytes);
    }
  }
  std::optional<l2tp::TimePoint> next_delivery() const {
    if (queue_.empty()) return std::nullopt;
    return queue_.begin()->first.first;
  }
  std::vector<InFlight> deliver_due(l2tp::TimePoint now) {
    std::vector<InFlight> out;
    while (!queue_.empty() && queue_.begin()->first.first <= now) {
      out.push_back(std::move(queue_.begin()->second));
      queue_.erase(queue_.begin());
    }
    return out;
  }
  uint64_t sent() const { return sent_; }
  uint64_t lost() const { return lost_; }
  uint64_t duplicated() const { return duplicated_; }

 private:
  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  void schedule(l2tp::TimePoint now, Side to, const Bytes& bytes) {
    auto d = c_.delay + l2tp::Duration(std::uniform_int_distribution<int64_t>(0, c_.jitter.count())(rng_));
    if (chance(c_.reorder)) d += c_.delay * 3;
    queue_.emplace(std::make_pair(now + d, seq_++), InFlight{to, bytes});
  }
  LinkConfig c_;
  std::mt19937_64 rng_;
  std::map<std::pair<l2tp::TimePoint, uint64_t>, InFlight> queue_;  // (due, tie-break) -> datagram
  uint64_t seq_ = 0, sent_ = 0, lost_ = 0, duplicated_ = 0;
};

}  // namespace l2tpvpn::sim
