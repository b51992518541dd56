// TrimPolicy: a trim after a large fall from the peak, once, and not for small or partial falls.
#include "server/memory_trim.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn {
namespace {

TEST(TrimPolicy, TrimsOnceAfterTheCrowdLeaves) {
  TrimPolicy p(1000);
  EXPECT_FALSE(p.sample(0));
  EXPECT_FALSE(p.sample(20000));
  EXPECT_FALSE(p.sample(19000)) << "a twentieth gone: not a quarter";
  EXPECT_TRUE(p.sample(100)) << "almost all gone";
  EXPECT_EQ(p.peak(), 100u);
  EXPECT_FALSE(p.sample(100)) << "once";
  EXPECT_FALSE(p.sample(0)) << "100 more gone: below the minimum drop";
}

TEST(TrimPolicy, AQuarterOfThePeakAndTheMinimumDropAreBothNeeded) {
  TrimPolicy small(1000);
  small.sample(2000);
  EXPECT_FALSE(small.sample(1400)) << "30 % gone, but only 600";
  EXPECT_TRUE(small.sample(1000)) << "half gone, 1,000";

  TrimPolicy big(500);
  big.sample(3000);
  EXPECT_FALSE(big.sample(2300)) << "700 gone, less than a quarter";
  EXPECT_TRUE(big.sample(2250)) << "exactly a quarter";
}

TEST(TrimPolicy, ThePeakIsRememberedAcrossSamples) {
  TrimPolicy p(1000);
  p.sample(8000);
  p.sample(12000);
  EXPECT_FALSE(p.sample(10000)) << "a sixth of 12,000";
  EXPECT_TRUE(p.sample(8000)) << "a third of 12,000 (not of 10,000)";
}

}  // namespace
}  // namespace l2tpvpn
