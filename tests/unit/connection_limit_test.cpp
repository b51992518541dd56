#include "server/connection_limit.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace l2tpvpn {
namespace {

TEST(ConnectionLimit, AdmitsUpToTheCapAndCountsTheRest) {
  ConnectionLimit limit(2);
  auto a = limit.admit();
  auto b = limit.admit();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(limit.admit());
  EXPECT_FALSE(limit.admit());
  EXPECT_EQ(limit.counters(), (ListenerCounters{.open = 2, .max = 2, .accepted = 2, .refused_over_cap = 2}));
  a.reset();  // the connection ends: its place is free
  EXPECT_EQ(limit.counters().open, 1u);
  auto c = limit.admit();
  EXPECT_TRUE(c);
  EXPECT_EQ(limit.counters().accepted, 3u);
}

TEST(ConnectionLimit, ASlotOutlivingItsLimitReleasesSafely) {
  auto admit_and_forget = [] {
    ConnectionLimit limit(1);
    return limit.admit();
  };
  auto slot = admit_and_forget();  // the limit is gone, the slot lives on
  ASSERT_TRUE(slot);
  slot.reset();  // the counters are shared: no use after free (ASan would say)
}

TEST(ConnectionLimit, IdleClosesAreCountedOncePerConnection) {
  ConnectionLimit limit(4);
  auto a = limit.admit();
  a->idle_closed();
  a->idle_closed();
  auto b = limit.admit();
  b->idle_closed();
  EXPECT_EQ(limit.counters().idle_closed, 2u);
}

TEST(ConnectionLimit, ALowerCapAppliesToTheNextConnection) {
  ConnectionLimit limit(3);
  std::vector<ConnectionLimit::Slot> open;
  for (int i = 0; i < 3; ++i) open.push_back(*limit.admit());
  limit.set_max(1);
  EXPECT_EQ(limit.counters().open, 3u);  // kept
  EXPECT_FALSE(limit.admit());
  open.clear();
  EXPECT_TRUE(limit.admit());
}

TEST(ConnectionLimit, DescriptorAndMemoryExhaustionAreTheErrorsToWaitOn) {
  for (int e : {EMFILE, ENFILE, ENOBUFS, ENOMEM}) EXPECT_TRUE(is_resource_exhaustion(e)) << e;
  for (int e : {0, ECONNABORTED, EINTR, EAGAIN, EPERM}) EXPECT_FALSE(is_resource_exhaustion(e)) << e;
  ConnectionLimit limit(1);
  limit.fd_exhausted();
  EXPECT_EQ(limit.counters().accept_fd_exhausted, 1u);
}

}  // namespace
}  // namespace l2tpvpn
