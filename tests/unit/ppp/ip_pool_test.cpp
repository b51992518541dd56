#include "ppp/ip_pool.hpp"

#include <gtest/gtest.h>

#include <set>

namespace l2tpvpn::ppp {
namespace {

Ipv4Address ip(const char* s) { return *parse_ipv4(s); }

IpPool make(IpPoolConfig c) {
  auto p = IpPool::create(c);
  EXPECT_TRUE(p) << (p ? "" : p.error().to_string());
  return std::move(p).value();
}

TEST(IpPool, RangeRoundRobin) {
  auto p = make({"10.99.0.10-10.99.0.12", "10.99.0.1", {}, {}});
  EXPECT_EQ(p.dynamic_capacity(), 3u);
  EXPECT_EQ(*p.allocate("s1"), ip("10.99.0.10"));
  EXPECT_EQ(*p.allocate("s2"), ip("10.99.0.11"));
  EXPECT_TRUE(p.release("s1"));
  // Not the just-released .10: round-robin continues after the last one handed out.
  EXPECT_EQ(*p.allocate("s3"), ip("10.99.0.12"));
  EXPECT_EQ(*p.allocate("s4"), ip("10.99.0.10"));  // wraps
  auto full = p.allocate("s5");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, IpPoolErrorCode::kExhausted);
  EXPECT_TRUE(p.release("s2"));
  EXPECT_EQ(*p.allocate("s5"), ip("10.99.0.11"));
}

TEST(IpPool, CidrSkipsNetworkBroadcastAndServer) {
  auto p = make({"10.99.0.0/29", "10.99.0.1", {}, {}});
  // .1-.6 are hosts, .1 is the server.
  EXPECT_EQ(p.dynamic_capacity(), 5u);
  std::set<Ipv4Address> got;
  for (int i = 0; i < 5; ++i) got.insert(*p.allocate("s" + std::to_string(i)));
  EXPECT_EQ(got.size(), 5u);
  EXPECT_FALSE(got.count(ip("10.99.0.0")));
  EXPECT_FALSE(got.count(ip("10.99.0.1")));
  EXPECT_FALSE(got.count(ip("10.99.0.7")));
  EXPECT_FALSE(p.allocate("x"));
}

TEST(IpPool, Slash31And32) {
  EXPECT_EQ(make({"10.0.0.0/31", "10.1.1.1", {}, {}}).dynamic_capacity(), 2u);
  EXPECT_EQ(make({"10.0.0.5/32", "10.1.1.1", {}, {}}).dynamic_capacity(), 1u);
}

TEST(IpPool, Exclusions) {
  auto p = make({"10.99.0.10-10.99.0.20", "10.99.0.1", {"10.99.0.10", "10.99.0.12-10.99.0.19"}, {}});
  EXPECT_EQ(p.dynamic_capacity(), 2u);
  EXPECT_EQ(*p.allocate("a"), ip("10.99.0.11"));
  EXPECT_EQ(*p.allocate("b"), ip("10.99.0.20"));
  EXPECT_FALSE(p.allocate("c"));
}

TEST(IpPool, ReservationGoesOnlyToItsUser) {
  auto p = make({"10.99.0.10-10.99.0.11", "10.99.0.1", {}, {{"alice", "10.99.0.10"}, {"bob", "10.99.1.5"}}});
  EXPECT_EQ(p.dynamic_capacity(), 1u);  // .10 is alice's
  EXPECT_EQ(*p.allocate("s1"), ip("10.99.0.11"));
  auto none = p.allocate("s2");  // no user: .10 is not for anyone else
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, IpPoolErrorCode::kExhausted);
  EXPECT_EQ(*p.allocate("s2", "alice"), ip("10.99.0.10"));
  EXPECT_EQ(*p.allocate("s3", "bob"), ip("10.99.1.5"));  // outside the range is fine
  auto twice = p.allocate("s4", "alice");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, IpPoolErrorCode::kReservedInUse);
  // A user without a reservation gets a dynamic one.
  p.release("s1");
  EXPECT_EQ(*p.allocate("s5", "carol"), ip("10.99.0.11"));
}

TEST(IpPool, BindUserMovesOntoReservation) {
  auto p = make({"10.99.0.10-10.99.0.12", "10.99.0.1", {}, {{"alice", "10.99.0.50"}}});
  EXPECT_EQ(*p.allocate("s1"), ip("10.99.0.10"));
  EXPECT_EQ(p.dynamic_in_use(), 1u);
  EXPECT_EQ(*p.bind_user("s1", "alice"), ip("10.99.0.50"));
  EXPECT_EQ(p.dynamic_in_use(), 0u);
  EXPECT_FALSE(p.in_use(ip("10.99.0.10")));
  EXPECT_EQ(*p.address_of("s1"), ip("10.99.0.50"));
  // Second session of alice: keeps its dynamic address, told why.
  EXPECT_EQ(*p.allocate("s2"), ip("10.99.0.11"));
  auto r = p.bind_user("s2", "alice");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, IpPoolErrorCode::kReservedInUse);
  EXPECT_EQ(*p.address_of("s2"), ip("10.99.0.11"));
  // No reservation: unchanged. Unknown session: error.
  EXPECT_EQ(*p.bind_user("s2", "bob"), ip("10.99.0.11"));
  EXPECT_EQ(p.bind_user("nope", "bob").error().code, IpPoolErrorCode::kUnknownSession);
  // Idempotent when already on the reservation.
  EXPECT_EQ(*p.bind_user("s1", "alice"), ip("10.99.0.50"));
}

TEST(IpPool, AdoptKeepsLiveSessionsAcrossARebuild) {
  // Users reloaded: alice's reservation moved to .11 while a session still holds her old .10.
  auto p = make({"10.99.0.10-10.99.0.12", "10.99.0.1", {}, {{"alice", "10.99.0.11"}}});
  ASSERT_TRUE(p.adopt("s1", ip("10.99.0.10")));
  ASSERT_TRUE(p.adopt("s2", ip("10.99.5.5")));  // outside the range: still recorded
  EXPECT_EQ(p.dynamic_in_use(), 1u);
  auto again = p.adopt("s3", ip("10.99.0.10"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, IpPoolErrorCode::kReservedInUse);
  auto key = p.adopt("s1", ip("10.99.0.12"));
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, IpPoolErrorCode::kSessionExists);
  EXPECT_EQ(*p.allocate("s4"), ip("10.99.0.12"));  // .10 held, .11 reserved
  EXPECT_FALSE(p.allocate("s5"));
  EXPECT_TRUE(p.release("s1"));
  EXPECT_TRUE(p.release("s2"));
  EXPECT_EQ(p.dynamic_in_use(), 1u);
  EXPECT_EQ(*p.allocate("s5"), ip("10.99.0.10"));
}

TEST(IpPool, SessionKeysAreUnique) {
  auto p = make({"10.99.0.10-10.99.0.20", "10.99.0.1", {}, {}});
  ASSERT_TRUE(p.allocate("s1"));
  auto r = p.allocate("s1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, IpPoolErrorCode::kSessionExists);
  EXPECT_FALSE(p.release("unknown"));
  EXPECT_TRUE(p.release("s1"));
  EXPECT_FALSE(p.release("s1"));
}

TEST(IpPool, NeverHandsOutTwiceUnderChurn) {
  auto p = make({"10.99.0.0/26", "10.99.0.1", {"10.99.0.30"}, {{"u", "10.99.0.40"}}});
  std::map<std::string, Ipv4Address> live;
  uint32_t seed = 12345;
  for (int step = 0; step < 5000; ++step) {
    seed = seed * 1103515245 + 12345;
    std::string key = "s" + std::to_string((seed >> 8) % 80);
    if (live.count(key)) {
      ASSERT_TRUE(p.release(key));
      live.erase(key);
    } else if (auto a = p.allocate(key, (seed >> 20) % 10 == 0 ? std::optional<std::string>("u") : std::nullopt)) {
      for (const auto& [k, v] : live) ASSERT_NE(v, *a) << "step " << step;
      ASSERT_NE(*a, p.server_address());
      ASSERT_NE(*a, ip("10.99.0.30"));
      live[key] = *a;
    }
    ASSERT_EQ(p.sessions(), live.size());
  }
}

TEST(IpPool, ConfigErrors) {
  struct Case {
    IpPoolConfig c;
    IpPoolErrorCode code;
  };
  const Case cases[] = {
      {{"10.99.0.20-10.99.0.10", "10.99.0.1", {}, {}}, IpPoolErrorCode::kBadRange},
      {{"10.99.0.0/33", "10.99.0.1", {}, {}}, IpPoolErrorCode::kBadRange},
      {{"10.99.0.5/24", "10.99.0.1", {}, {}}, IpPoolErrorCode::kBadRange},  // host bits set
      {{"10.0.0.0/15", "10.99.0.1", {}, {}}, IpPoolErrorCode::kBadRange},   // too large
      {{"10.99.0.0/24x", "10.99.0.1", {}, {}}, IpPoolErrorCode::kBadRange},
      {{"garbage", "10.99.0.1", {}, {}}, IpPoolErrorCode::kBadRange},
      {{"10.99.0.0/24", "10.99.0", {}, {}}, IpPoolErrorCode::kBadServerAddress},
      {{"10.99.0.0/24", "10.99.0.1", {"10.99.0.9-10.99.0.8"}, {}}, IpPoolErrorCode::kBadExclusion},
      {{"10.99.0.0/24", "10.99.0.1", {}, {{"a", "10.99.0.1"}}}, IpPoolErrorCode::kBadReservation},
      {{"10.99.0.0/24", "10.99.0.1", {}, {{"", "10.99.0.9"}}}, IpPoolErrorCode::kBadReservation},
      {{"10.99.0.0/24", "10.99.0.1", {"10.99.0.9"}, {{"a", "10.99.0.9"}}}, IpPoolErrorCode::kBadReservation},
      {{"10.99.0.0/24", "10.99.0.1", {}, {{"a", "10.99.0.9"}, {"b", "10.99.0.9"}}},
       IpPoolErrorCode::kDuplicateReservation},
      {{"10.99.0.1-10.99.0.2", "10.99.0.1", {"10.99.0.2"}, {}}, IpPoolErrorCode::kEmptyPool},
  };
  // A one-address pool is valid when the server is elsewhere; with the server on it, it is empty.
  {
    auto one = IpPool::create({"10.99.0.10", "10.99.0.10", {}, {}});
    ASSERT_FALSE(one);
    EXPECT_EQ(one.error().code, IpPoolErrorCode::kEmptyPool);
    EXPECT_TRUE(IpPool::create({"10.99.0.10", "10.99.0.1", {}, {}}));
  }
  for (size_t i = 0; i < std::size(cases); ++i) {
    auto r = IpPool::create(cases[i].c);
    ASSERT_FALSE(r) << i;
    EXPECT_EQ(r.error().code, cases[i].code) << i << " " << r.error().to_string();
  }
}

TEST(IpPool, LargestPool) {
  auto p = make({"10.0.0.0/16", "10.0.0.1", {}, {}});
  EXPECT_EQ(p.dynamic_capacity(), 65533u);
}

}  // namespace
}  // namespace l2tpvpn::ppp
