// L2tpDriver::open: the L2TP port must be ours alone. Our listener sets SO_REUSEPORT (the kernel tunnels' sockets
// share its port), so a port another program of the same user holds with SO_REUSEPORT would otherwise be shared
// without a word; a SO_REUSEADDR socket must not be able to join ours at all.
#include "server/l2tp_driver.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <random>

namespace l2tpvpn {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

l2tp::RandomFn seeded() {
  auto rng = std::make_shared<std::mt19937_64>(7);
  return [rng](std::span<uint8_t> out) {
    for (auto& b : out) b = static_cast<uint8_t>((*rng)());
  };
}

void set_reuse_port(udp::socket& s) {
  const int one = 1;
  ASSERT_EQ(::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
}

struct DriverFixture : ::testing::Test {
  asio::io_context io;
  l2tp::L2tpConfig cfg;
  std::unique_ptr<l2tp::Endpoint> endpoint;
  std::unique_ptr<L2tpDriver> driver;
  DriverFixture() {
    cfg.role = l2tp::Role::kLns;
    endpoint = std::make_unique<l2tp::Endpoint>(cfg, seeded());
    driver = std::make_unique<L2tpDriver>(io, *endpoint, [](l2tp::Action&) {});
  }
  // A UDP socket on 127.0.0.1 and a free port, as another program would hold it.
  udp::socket holder(bool reuse_address, bool reuse_port = false) {
    udp::socket s(io);
    s.open(udp::v4());
    if (reuse_address) s.set_option(udp::socket::reuse_address(true));
    if (reuse_port) set_reuse_port(s);
    s.bind(udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    return s;
  }
};

TEST_F(DriverFixture, RefusesAPortAnotherProgramHolds) {
  auto other = holder(false);
  auto r = driver->open(other.local_endpoint());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().part, SetupPart::kL2tpSocket);
  EXPECT_EQ(r.error().error, EADDRINUSE);
  const std::string& error = r.error().message;
  EXPECT_NE(error.find("already in use by another program"), std::string::npos) << error;
  EXPECT_NE(error.find(std::to_string(other.local_endpoint().port())), std::string::npos) << error;
}

TEST_F(DriverFixture, RefusesItEvenWhenTheOtherSetSoReuseaddrOrSoReuseport) {
  auto other = holder(true, true);  // xl2tpd's listener sets SO_REUSEADDR; the same user's could set both
  auto r = driver->open(other.local_endpoint());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("already in use"), std::string::npos) << r.error().message;
  // ... and on the wildcard address as well.
  EXPECT_FALSE(driver->open(udp::endpoint(udp::v4(), other.local_endpoint().port())));
}

TEST_F(DriverFixture, AFreePortIsTakenAndSharedOnlyByOurOwnReuseSockets) {
  udp::endpoint ep;
  {
    auto probe = holder(false);
    ep = probe.local_endpoint();
  }
  auto r = driver->open(ep);
  ASSERT_TRUE(r) << r.error().message;
  // A kernel tunnel's socket (SO_REUSEPORT, same port, same user) can still join, as the data path needs ...
  udp::socket tunnel(io);
  tunnel.open(udp::v4());
  set_reuse_port(tunnel);
  boost::system::error_code ec;
  tunnel.bind(ep, ec);
  EXPECT_FALSE(ec) << ec.message();
  // ... and a SO_REUSEADDR socket cannot, whoever owns it (tests/root/l2tp_port_takeover_test tries other users).
  udp::socket other(io);
  other.open(udp::v4());
  other.set_option(udp::socket::reuse_address(true));
  other.bind(ep, ec);
  EXPECT_EQ(ec, asio::error::address_in_use) << ec.message();
}

}  // namespace
}  // namespace l2tpvpn
