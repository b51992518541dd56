// server/kernel/marked_udp on loopback: the mark a datagram was sent with comes back with it.
#include "server/kernel/marked_udp.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "require.hpp"

namespace l2tpvpn::kernel {
namespace {

struct Loopback {
  UniqueFd rx, tx;
  sockaddr_in to{};
  Loopback() {
    rx = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    tx = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(rx.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    socklen_t len = sizeof to;
    EXPECT_EQ(::getsockname(rx.get(), reinterpret_cast<sockaddr*>(&to), &len), 0);
  }
  Result<MarkedDatagram, int> receive(std::vector<uint8_t>& buffer) {
    // Loopback delivers before sendmsg returns; a short retry only covers a preempted softirq.
    for (int i = 0; i < 100; ++i) {
      auto d = receive_marked(rx.get(), buffer);
      if (d || d.error() != EAGAIN) return d;
      ::usleep(1000);
    }
    return receive_marked(rx.get(), buffer);
  }
};

bool marks_work() {
  Loopback l;
  return geteuid() == 0 && receive_marks(l.rx.get());
}

TEST(MarkedUdp, ADatagramSentWithAMarkArrivesWithIt) {
  L2TPVPN_REQUIRE(marks_work(), "root (SO_MARK needs CAP_NET_ADMIN) and SO_RCVMARK (Linux 5.19)");
  Loopback l;
  ASSERT_TRUE(receive_marks(l.rx.get()));
  const std::vector<uint8_t> payload{0xc8, 0x02, 0x00, 0x0c};
  ASSERT_TRUE(send_marked(l.tx.get(), payload, reinterpret_cast<const sockaddr*>(&l.to), sizeof l.to, 0x2a));
  ASSERT_TRUE(send_marked(l.tx.get(), payload, reinterpret_cast<const sockaddr*>(&l.to), sizeof l.to, 0));
  std::vector<uint8_t> buffer(2048);
  auto first = l.receive(buffer);
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->mark, 0x2au);
  EXPECT_EQ(first->size, payload.size());
  EXPECT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + static_cast<long>(first->size)), payload);
  EXPECT_EQ(first->from.ss_family, AF_INET);
  auto second = l.receive(buffer);
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(second->mark, 0u);  // sent without one
}

TEST(MarkedUdp, ASocketMarkMarksEverythingTheSocketSends) {
  L2TPVPN_REQUIRE(marks_work(), "root (SO_MARK needs CAP_NET_ADMIN) and SO_RCVMARK (Linux 5.19)");
  Loopback l;
  ASSERT_TRUE(receive_marks(l.rx.get()));
  ASSERT_TRUE(set_socket_mark(l.tx.get(), 7));
  const std::vector<uint8_t> payload{1, 2, 3};
  ASSERT_TRUE(send_marked(l.tx.get(), payload, reinterpret_cast<const sockaddr*>(&l.to), sizeof l.to, 0));
  std::vector<uint8_t> buffer(2048);
  auto d = l.receive(buffer);
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->mark, 7u);
}

TEST(MarkedUdp, WithoutReceiveMarksTheMarkIsZeroAndAnEmptySocketSaysEagain) {
  L2TPVPN_REQUIRE(geteuid() == 0, "root (SO_MARK needs CAP_NET_ADMIN)");
  Loopback l;
  std::vector<uint8_t> buffer(2048);
  auto none = receive_marked(l.rx.get(), buffer);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error() == EAGAIN || none.error() == EWOULDBLOCK);
  const std::vector<uint8_t> payload{9};
  ASSERT_TRUE(send_marked(l.tx.get(), payload, reinterpret_cast<const sockaddr*>(&l.to), sizeof l.to, 5));
  auto d = l.receive(buffer);
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->mark, 0u);  // not asked for
}

}  // namespace
}  // namespace l2tpvpn::kernel
