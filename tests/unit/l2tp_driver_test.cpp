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

// The ack of an ICCN must be on the wire before the SessionUp it causes is handled (the daemon spawns pppd
// there, about a millisecond each): the peer's retransmission timer never waits for pppd.
TEST(DriverOrder, TheAckOfAnIccnIsSentBeforeItsSessionUpIsHandled) {
  asio::io_context io;
  l2tp::L2tpConfig lns_cfg;
  l2tp::Endpoint lns(lns_cfg, seeded());
  udp::socket lac_socket(io, udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
  lac_socket.non_blocking(true);
  int session_ups = 0;
  size_t waiting_at_session_up = 0;
  L2tpDriver driver(io, lns, [&](l2tp::Action& a) {
    if (std::holds_alternative<l2tp::SessionUp>(a)) {
      ++session_ups;
      waiting_at_session_up = lac_socket.available();  // the ZLB for the ICCN, if it was sent first
    }
  });
  udp::endpoint lns_address;
  {
    udp::socket probe(io, udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    lns_address = probe.local_endpoint();
  }
  ASSERT_TRUE(driver.open(lns_address));
  driver.start();

  l2tp::L2tpConfig lac_cfg;
  lac_cfg.role = l2tp::Role::kLac;
  l2tp::Endpoint lac(lac_cfg, seeded());
  std::optional<uint16_t> tunnel;
  // Moves datagrams between the LAC endpoint (here) and the driver (run by io.poll) until `done` or 2 s.
  auto pump = [&](auto done) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done() && std::chrono::steady_clock::now() < end) {
      for (auto& a : lac.take_actions()) {
        if (auto* s = std::get_if<l2tp::SendDatagram>(&a)) lac_socket.send_to(asio::buffer(s->bytes), lns_address);
        if (auto* up = std::get_if<l2tp::TunnelUp>(&a)) tunnel = up->tunnel_id;
      }
      io.poll();
      if (session_ups > 0) return;  // look at the socket only after the handler has looked
      std::array<uint8_t, 2048> buf;
      udp::endpoint from;
      boost::system::error_code ec;
      const size_t n = lac_socket.receive_from(asio::buffer(buf), from, 0, ec);
      if (!ec) lac.on_datagram(l2tp::Clock::now(), to_peer(from), ByteView(buf.data(), n));
    }
  };
  lac.open_tunnel(l2tp::Clock::now(), to_peer(lns_address));
  pump([&] { return tunnel.has_value() && lns.live_tunnel_count() == 1 && lac_socket.available() == 0; });
  ASSERT_TRUE(tunnel);
  lac.open_call(l2tp::Clock::now(), *tunnel, l2tp::CallDirection::kIncoming);
  pump([&] { return session_ups > 0; });
  ASSERT_EQ(session_ups, 1);
  EXPECT_GT(waiting_at_session_up, 0u) << "the ZLB acknowledging the ICCN was not sent before SessionUp ran";
}

}  // namespace
}  // namespace l2tpvpn
