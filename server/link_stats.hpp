// Traffic counters of the ppp interfaces for /status, without touching the file system per session: one rtnetlink
// RTM_GETLINK dump gives every interface's name and 64-bit counters (IFLA_STATS64) in a few recv() calls, where
// sysfs would take four open/read/close of /sys/class/net/IF/statistics/* per session on the event loop
// (tests/bench/link_stats_bench compares the two). LinkStatsCache
// keeps the last dump for `max_age`, so a client polling /status (or /metrics) fast costs at most one dump per
// `max_age`; a session's counters are then at most that old.
//
// Errors are typed (LinkStatsError: the step and its errno); the caller shows zero counters for that round.
//
// Thread-safety: dump_link_counters is a function without shared state; a LinkStatsCache is not for sharing (the
// daemon's event-loop thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace l2tpvpn {

struct LinkCounters {
  uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0;
  bool operator==(const LinkCounters&) const = default;
};
using LinkCounterMap = std::map<std::string, LinkCounters, std::less<>>;

struct LinkStatsError {
  std::string step;  // "socket", "send", "recv", "parse", "netlink error"
  int error = 0;     // errno (for "netlink error": the kernel's), 0 for our own checks
  std::string to_string() const;
};

// Every interface of this network namespace, by name. Errors: LinkStatsError.
Result<LinkCounterMap, LinkStatsError> dump_link_counters();

// Reads the netlink messages of one recv() of a RTM_GETLINK dump into `out`. Returns true once NLMSG_DONE was
// seen. Errors: "parse" for a truncated message, "netlink error" for NLMSG_ERROR. Never reads past `bytes`.
Result<bool, LinkStatsError> parse_link_dump(ByteView bytes, LinkCounterMap& out);

class LinkStatsCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Fetch = std::function<Result<LinkCounterMap, LinkStatsError>()>;

  explicit LinkStatsCache(std::chrono::milliseconds max_age, Fetch fetch = dump_link_counters)
      : max_age_(max_age), fetch_(std::move(fetch)) {}

  // The counters of `ifname` from a dump at most max_age old at `now` (dumping again if the last is older);
  // nullopt when the interface is not in the dump or the dump failed (a failed dump also counts as taken: the
  // next try is max_age later, not once per session).
  std::optional<LinkCounters> get(Clock::time_point now, const std::string& ifname);
  uint64_t dumps() const { return dumps_; }
  uint64_t failures() const { return failures_; }

 private:
  std::chrono::milliseconds max_age_;
  Fetch fetch_;
  std::optional<Clock::time_point> taken_;
  LinkCounterMap counters_;
  uint64_t dumps_ = 0, failures_ = 0;
};

}  // namespace l2tpvpn
