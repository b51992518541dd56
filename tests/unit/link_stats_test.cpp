// server/link_stats: the rtnetlink dump against this host's kernel (loopback is always there), the parser on
// crafted and broken messages, and the cache's refresh rate with a fake dump.
#include "server/link_stats.hpp"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace l2tpvpn {
namespace {

uint64_t sysfs_counter(const std::string& ifname, const char* name) {
  std::ifstream in("/sys/class/net/" + ifname + "/statistics/" + name);
  uint64_t v = 0;
  in >> v;
  return v;
}

TEST(LinkStats, TheDumpHasLoopbackWithItsCounters) {
  const uint64_t before = sysfs_counter("lo", "rx_packets");
  auto dump = dump_link_counters();
  ASSERT_TRUE(dump) << dump.error().to_string();
  const uint64_t after = sysfs_counter("lo", "rx_packets");
  auto lo = dump->find("lo");
  ASSERT_NE(lo, dump->end());
  EXPECT_GE(lo->second.rx_packets, before);
  EXPECT_LE(lo->second.rx_packets, after);
  // Loopback counts each packet once each way.
  EXPECT_EQ(lo->second.rx_packets, lo->second.tx_packets);
}

// Netlink messages built by hand.
class Messages {
 public:
  void link(const std::string& name, std::optional<rtnl_link_stats64> stats, uint16_t type = RTM_NEWLINK) {
    std::vector<uint8_t> attrs;
    add_attr(attrs, IFLA_IFNAME, name.c_str(), name.size() + 1);
    if (stats) add_attr(attrs, IFLA_STATS64, &*stats, sizeof *stats);
    ifinfomsg info{};
    std::vector<uint8_t> body(NLMSG_ALIGN(sizeof info));
    std::memcpy(body.data(), &info, sizeof info);
    body.insert(body.end(), attrs.begin(), attrs.end());
    message(type, body);
  }
  void done() { message(NLMSG_DONE, std::vector<uint8_t>(4)); }
  void error(int err) {
    nlmsgerr e{};
    e.error = -err;
    std::vector<uint8_t> body(sizeof e);
    std::memcpy(body.data(), &e, sizeof e);
    message(NLMSG_ERROR, body);
  }
  std::vector<uint8_t> bytes;

 private:
  static void add_attr(std::vector<uint8_t>& out, uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    const size_t at = out.size();
    out.resize(at + RTA_SPACE(len));
    std::memcpy(out.data() + at, &a, sizeof a);
    std::memcpy(out.data() + at + RTA_LENGTH(0), data, len);
  }
  void message(uint16_t type, const std::vector<uint8_t>& body) {
    nlmsghdr h{};
    h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(body.size()));
    h.nlmsg_type = type;
    const size_t at = bytes.size();
    bytes.resize(at + NLMSG_SPACE(body.size()));
    std::memcpy(bytes.data() + at, &h, sizeof h);
    std::memcpy(bytes.data() + at + NLMSG_HDRLEN, body.data(), body.size());
  }
};

rtnl_link_stats64 stats(uint64_t rx_bytes, uint64_t tx_bytes, uint64_t rx_packets, uint64_t tx_packets) {
  rtnl_link_stats64 s{};
  s.rx_bytes = rx_bytes;
  s.tx_bytes = tx_bytes;
  s.rx_packets = rx_packets;
  s.tx_packets = tx_packets;
  return s;
}

TEST(LinkStats, ParsesNamesAndCountersUntilDone) {
  Messages m;
  m.link("ppp0", stats(1, 2, 3, 4));
  m.link("ppp-with-a-long", stats(1ull << 40, 6, 7, 8));
  m.link("nostats", std::nullopt);        // no IFLA_STATS64: not listed
  m.link("other", stats(9, 9, 9, 9), 0);  // not RTM_NEWLINK: ignored
  LinkCounterMap out;
  auto r = parse_link_dump(m.bytes, out);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r) << "no NLMSG_DONE yet";
  m.done();
  out.clear();
  r = parse_link_dump(m.bytes, out);
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(out["ppp0"], (LinkCounters{1, 2, 3, 4}));
  EXPECT_EQ(out["ppp-with-a-long"], (LinkCounters{1ull << 40, 6, 7, 8}));
}

TEST(LinkStats, TruncatedMessagesAndKernelErrorsAreTyped) {
  Messages m;
  m.link("ppp0", stats(1, 2, 3, 4));
  LinkCounterMap out;
  for (size_t cut = 1; cut < m.bytes.size(); cut += 7) {
    auto r = parse_link_dump(ByteView(m.bytes.data(), cut), out);  // never reads past the cut (ASan would say)
    if (!r) {
      EXPECT_EQ(r.error().step, "parse");
    }
  }
  Messages e;
  e.error(EPERM);
  auto r = parse_link_dump(e.bytes, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().step, "netlink error");
  EXPECT_EQ(r.error().error, EPERM);
}

TEST(LinkStatsCache, OneDumpPerMaxAgeHoweverManyLookups) {
  int fetches = 0;
  LinkStatsCache cache(std::chrono::milliseconds(1000), [&]() -> Result<LinkCounterMap, LinkStatsError> {
    ++fetches;
    return LinkCounterMap{{"ppp0", LinkCounters{static_cast<uint64_t>(fetches), 0, 0, 0}}};
  });
  const auto t0 = LinkStatsCache::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(cache.get(t0, "ppp0")->rx_bytes, 1u);
  EXPECT_FALSE(cache.get(t0 + std::chrono::milliseconds(999), "ppp9"));
  EXPECT_EQ(fetches, 1);
  EXPECT_EQ(cache.get(t0 + std::chrono::milliseconds(1000), "ppp0")->rx_bytes, 2u);
  EXPECT_EQ(cache.dumps(), 2u);
}

TEST(LinkStatsCache, AFailedDumpIsRetriedAfterMaxAgeNotPerLookup) {
  int fetches = 0;
  bool fail = true;
  LinkStatsCache cache(std::chrono::milliseconds(1000), [&]() -> Result<LinkCounterMap, LinkStatsError> {
    ++fetches;
    if (fail) return unexpected(LinkStatsError{"recv", ENOBUFS});
    return LinkCounterMap{{"ppp0", LinkCounters{5, 0, 0, 0}}};
  });
  const auto t0 = LinkStatsCache::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(cache.get(t0, "ppp0"));
  EXPECT_EQ(fetches, 1);
  EXPECT_EQ(cache.failures(), 1u);
  fail = false;
  EXPECT_EQ(cache.get(t0 + std::chrono::seconds(1), "ppp0")->rx_bytes, 5u);
  EXPECT_EQ(fetches, 2);
}

}  // namespace
}  // namespace l2tpvpn
