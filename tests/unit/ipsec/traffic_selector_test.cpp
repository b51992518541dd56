#include "ipsec/traffic_selector.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::ipsec {
namespace {

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

TEST(IpAddress, ParsesAndPrintsV4) {
  auto a = IpAddress::parse("192.0.2.10");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, IpAddress::Family::kV4);
  EXPECT_EQ(a->to_string(), "192.0.2.10");
  EXPECT_EQ(*a, IpAddress::v4(0xc000020a));
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.1.1.1", "1.2.3.4 ", "a.b.c.d", "1..2.3"})
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
}

TEST(IpAddress, ParsesAndPrintsV6) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"2001:db8::1", "2001:db8::1"},
      {"::", "::"},
      {"::1", "::1"},
      {"fe80::", "fe80::"},
      {"2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // RFC 5952: first of equal runs
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group is not compressed
      {"::ffff:192.0.2.1", "::ffff:c000:201"},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
  };
  for (const auto& c : cases) {
    auto a = IpAddress::parse(c.in);
    ASSERT_TRUE(a) << c.in;
    EXPECT_EQ(a->family, IpAddress::Family::kV6);
    EXPECT_EQ(a->to_string(), c.out);
    EXPECT_EQ(IpAddress::parse(a->to_string()), a);
  }
  for (const char* bad :
       {":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "1:2:3:4:5:6:7", "g::1", "::1.2.3", "1:2:3:4:5:6:7::8"})
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
}

TEST(TrafficSelector, ParsesCharonsForms) {
  auto l2tp = parse_traffic_selector("192.0.2.1/32[udp/l2f]");
  ASSERT_TRUE(l2tp);
  EXPECT_EQ(l2tp->protocol, kProtoUdp);
  EXPECT_EQ(l2tp->from_port, 1701);
  EXPECT_EQ(l2tp->to_port, 1701);
  EXPECT_TRUE(l2tp->contains(ip("192.0.2.1")));
  EXPECT_FALSE(l2tp->contains(ip("192.0.2.2")));
  EXPECT_TRUE(l2tp->covers(kProtoUdp, 1701));
  EXPECT_FALSE(l2tp->covers(kProtoUdp, 1702));
  EXPECT_FALSE(l2tp->covers(kProtoTcp, 1701));

  auto any_udp = parse_traffic_selector("10.0.0.0/8[udp]");
  ASSERT_TRUE(any_udp);
  EXPECT_TRUE(any_udp->covers(kProtoUdp, 50000));
  EXPECT_TRUE(any_udp->contains(ip("10.255.255.255")));
  EXPECT_FALSE(any_udp->contains(ip("11.0.0.0")));

  auto all = parse_traffic_selector("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->covers(kProtoTcp, 1));
  EXPECT_FALSE(all->contains(ip("::1")));  // families never mix

  EXPECT_EQ(parse_traffic_selector("192.0.2.1/32[17/1701]"), l2tp);
  EXPECT_EQ(parse_traffic_selector("192.0.2.1/32[udp/l2tp]"), l2tp);

  auto range = parse_traffic_selector("10.0.0.1..10.0.0.9[tcp/1000-2000]");
  ASSERT_TRUE(range);
  EXPECT_TRUE(range->contains(ip("10.0.0.5")));
  EXPECT_FALSE(range->contains(ip("10.0.0.10")));
  EXPECT_TRUE(range->covers(kProtoTcp, 2000));

  auto v6 = parse_traffic_selector("2001:db8::/32[udp/1701]");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->contains(ip("2001:db9::")));

  auto opaque = parse_traffic_selector("0.0.0.0/0[udp/OPAQUE]");
  ASSERT_TRUE(opaque);
  EXPECT_FALSE(opaque->covers(kProtoUdp, 1701));

  auto odd_prefix = parse_traffic_selector("192.0.2.77/27");
  ASSERT_TRUE(odd_prefix);
  EXPECT_EQ(odd_prefix->from, ip("192.0.2.64"));
  EXPECT_EQ(odd_prefix->to, ip("192.0.2.95"));
}

TEST(TrafficSelector, RejectsWhatCharonWouldNotPrint) {
  for (const char* bad :
       {"", "192.0.2.1", "192.0.2.1/33", "192.0.2.1/32[udp", "192.0.2.1/32[udp/nosuchservice]", "192.0.2.1/32[bogus]",
        "10.0.0.9..10.0.0.1", "10.0.0.1..::1", "::/129", "1.2.3.4/32[tcp/2000-1000]", "dynamic[udp/1701]"})
    EXPECT_FALSE(parse_traffic_selector(bad)) << bad;
}

}  // namespace
}  // namespace l2tpvpn::ipsec
