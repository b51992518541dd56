#include "server/xfrm_purge.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn {
namespace {

ipsec::SaInfo sa(const char* local, const char* remote, uint32_t child) {
  ipsec::SaInfo s;
  s.local_address = *ipsec::IpAddress::parse(local);
  s.remote_address = *ipsec::IpAddress::parse(remote);
  s.child_id = child;
  return s;
}

using Argv = std::vector<std::string>;

TEST(XfrmPurge, NothingKnownNothingToRun) { EXPECT_TRUE(xfrm_purge_commands({}).empty()); }

TEST(XfrmPurge, BothDirectionsOfSasAndPoliciesPerPeer) {
  auto c = xfrm_purge_commands({sa("192.0.2.1", "192.0.2.11", 1)});
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0], (Argv{"ip", "-4", "xfrm", "state", "deleteall", "src", "192.0.2.1", "dst", "192.0.2.11", "proto",
                        "esp"}));
  EXPECT_EQ(c[1], (Argv{"ip", "-4", "xfrm", "state", "deleteall", "src", "192.0.2.11", "dst", "192.0.2.1", "proto",
                        "esp"}));
  EXPECT_EQ(c[2], (Argv{"ip", "-4", "xfrm", "policy", "deleteall", "src", "192.0.2.1/32", "dst", "192.0.2.11/32"}));
  EXPECT_EQ(c[3], (Argv{"ip", "-4", "xfrm", "policy", "deleteall", "src", "192.0.2.11/32", "dst", "192.0.2.1/32"}));
}

TEST(XfrmPurge, PeersDeduplicatedInStableOrder) {
  // Two CHILD_SAs of one peer (a rekey in flight, or two clients behind one NAT) purge that pair once.
  auto c = xfrm_purge_commands({sa("192.0.2.1", "192.0.2.20", 7), sa("192.0.2.1", "192.0.2.11", 3),
                                sa("192.0.2.1", "192.0.2.20", 9)});
  ASSERT_EQ(c.size(), 8u);
  EXPECT_EQ(c[0][8], "192.0.2.11");
  EXPECT_EQ(c[4][8], "192.0.2.20");
}

TEST(XfrmPurge, Ipv6UsesItsFamilyAndHostPrefix) {
  auto c = xfrm_purge_commands({sa("2001:db8::1", "2001:db8::b", 1)});
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0][1], "-6");
  EXPECT_EQ(c[2], (Argv{"ip", "-6", "xfrm", "policy", "deleteall", "src", "2001:db8::1/128", "dst", "2001:db8::b/128"}));
}

}  // namespace
}  // namespace l2tpvpn
