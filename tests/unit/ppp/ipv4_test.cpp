#include "ppp/ipv4.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::ppp {
namespace {

TEST(Ipv4, ParsesDottedQuad) {
  auto a = parse_ipv4("10.99.0.1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 0x0a630001u);
  EXPECT_EQ(parse_ipv4("0.0.0.0")->value, 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255")->value, 0xffffffffu);
}

TEST(Ipv4, RejectsEverythingElse) {
  for (const char* bad : {"", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "01.2.3.4",
                          "1..2.3", "a.b.c.d", "1.2.3.-4", "+1.2.3.4", "1.2.3.1000", "0x1.2.3.4", "1.2.3.4/24"}) {
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  }
}

TEST(Ipv4, RoundTrips) {
  for (const char* s : {"0.0.0.0", "10.99.0.250", "192.168.1.1", "255.255.255.255"}) {
    EXPECT_EQ(to_string(*parse_ipv4(s)), s);
  }
}

}  // namespace
}  // namespace l2tpvpn::ppp
