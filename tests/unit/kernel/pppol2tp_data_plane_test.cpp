// The kernel plane where the tests run. On a host without l2tp_ppp (our build machines) it must say so clearly
// and leave nothing behind; where the kernel has it (the UML guest runs this binary too), a loopback tunnel and
// session must appear in and vanish from /proc/net/pppol2tp. Which case applies is read from the kernel, not
// assumed.
#include "server/kernel/pppol2tp_data_plane.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace l2tpvpn::kernel {
namespace {

using ::testing::HasSubstr;

constexpr const char* kProcFile = "/proc/net/pppol2tp";

// Checked after a probe: socket(AF_PPPOX) may have autoloaded l2tp_ppp, which creates the file.
bool kernel_has_pppol2tp() {
  return std::filesystem::exists(kProcFile);
}

std::string read_proc() {
  std::ifstream in(kProcFile);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A free loopback UDP port (bound, read back, closed).
uint16_t free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    ADD_FAILURE() << "cannot get a free UDP port";
  }
  ::close(fd);
  return ntohs(sa.sin_port);
}

TunnelSpec loopback_spec(uint16_t local_id, uint16_t peer_id, uint16_t local_port, uint16_t peer_port) {
  return TunnelSpec{local_id, peer_id, Ipv4Endpoint::from_host_order(INADDR_LOOPBACK, local_port),
                    Ipv4Endpoint::from_host_order(INADDR_LOOPBACK, peer_port)};
}

TEST(PppoL2tpDataPlaneTest, AvailableMatchesTheKernel) {
  PppoL2tpDataPlane plane;
  auto st = plane.available();
  if (kernel_has_pppol2tp()) {
    EXPECT_TRUE(st) << st.error().to_string();
    return;
  }
  ASSERT_FALSE(st) << kProcFile << " is missing, yet a PPPoL2TP socket could be created";
  EXPECT_EQ(st.error().code, DataPlaneErrorCode::kUnavailable) << st.error().to_string();
  EXPECT_TRUE(st.error().error == EAFNOSUPPORT || st.error().error == EPROTONOSUPPORT) << st.error().to_string();
  EXPECT_THAT(st.error().to_string(), HasSubstr("socket(AF_PPPOX, PX_PROTO_OL2TP)"));
  EXPECT_THAT(st.error().to_string(), HasSubstr("kUnavailable"));
}

TEST(PppoL2tpDataPlaneTest, WithoutL2tpCreateTunnelFailsBeforeTakingThePort) {
  PppoL2tpDataPlane plane;
  if (plane.available()) GTEST_SKIP() << "this kernel has l2tp_ppp; covered by LoopbackTunnelAndSession";
  const uint16_t port = free_udp_port();
  auto t = plane.create_tunnel(loopback_spec(5, 9, port, 1701));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, DataPlaneErrorCode::kUnavailable) << t.error().to_string();
  EXPECT_THAT(t.error().to_string(), HasSubstr("create tunnel 5"));
  EXPECT_EQ(plane.tunnel_count(), 0u);
  // Nothing holds the port: a plain bind (no SO_REUSEADDR) succeeds.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
  ::close(fd);
}

TEST(PppoL2tpDataPlaneTest, ArgumentsAreCheckedBeforeTheKernelIsAsked) {
  PppoL2tpDataPlane plane;
  EXPECT_EQ(plane.create_tunnel(loopback_spec(0, 9, 0, 1701)).error().code, DataPlaneErrorCode::kInvalidArgument);
  EXPECT_EQ(plane.create_tunnel(loopback_spec(5, 0, 0, 1701)).error().code, DataPlaneErrorCode::kInvalidArgument);
  EXPECT_EQ(plane.create_tunnel(loopback_spec(5, 9, 0, 0)).error().code, DataPlaneErrorCode::kInvalidArgument);
  TunnelHandle unknown{5, 9, -1, -1};
  EXPECT_EQ(plane.create_session(unknown, 1, 2, {}).error().code, DataPlaneErrorCode::kNoSuchTunnel);
  EXPECT_EQ(plane.destroy_session(5, 1).error().code, DataPlaneErrorCode::kNoSuchTunnel);
  EXPECT_EQ(plane.destroy_tunnel(5).error().code, DataPlaneErrorCode::kNoSuchTunnel);
}

// Where the kernel has l2tp_ppp (the UML guest): the whole lifecycle on loopback, checked in /proc.
TEST(PppoL2tpDataPlaneTest, LoopbackTunnelAndSession) {
  PppoL2tpDataPlane plane;
  if (!plane.available()) GTEST_SKIP() << "no l2tp_ppp in this kernel (expected on the build host)";
  const uint16_t a = free_udp_port(), b = free_udp_port();
  auto t = plane.create_tunnel(loopback_spec(4101, 4102, a, b));
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_GE(t->udp_fd, 0);
  EXPECT_GE(t->tunnel_fd, 0);
  EXPECT_EQ(plane.create_tunnel(loopback_spec(4101, 4103, a, b)).error().code, DataPlaneErrorCode::kAlreadyExists);

  SessionOptions opts;
  opts.send_seq = opts.recv_seq = true;
  auto s = plane.create_session(*t, 301, 302, opts);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(plane.create_session(*t, 301, 303, {}).error().code, DataPlaneErrorCode::kAlreadyExists);
  EXPECT_EQ(plane.session_count(), 1u);
  // /proc/net/pppol2tp: "TUNNEL name, ..." lines with local/peer ids, "SESSION ..." with tunnel/session ids.
  const std::string proc = read_proc();
  EXPECT_THAT(proc, HasSubstr("TUNNEL 'tunl 4101'"));
  EXPECT_THAT(proc, HasSubstr("'sess 4101/301'"));

  EXPECT_TRUE(plane.destroy_session(4101, 301));
  EXPECT_THAT(read_proc(), ::testing::Not(HasSubstr("'sess 4101/301'")));
  EXPECT_TRUE(plane.destroy_tunnel(4101));
  EXPECT_EQ(plane.tunnel_count(), 0u);
}

// A UDP socket bound to 127.0.0.1:port (or any address), optionally sharing the port as the daemon's listener
// does (share_l2tp_port).
UniqueFd udp_socket(uint16_t port, bool any_address, bool reuse) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (reuse) {
    EXPECT_TRUE(share_l2tp_port(fd.get()));
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(any_address ? INADDR_ANY : INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
  return fd;
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

bool proc_has(const std::string& needle) {
  return read_proc().find(needle) != std::string::npos;
}

// Kernel tear-down is deferred (a work queue): poll /proc for up to two seconds.
bool eventually_gone(const std::string& needle) {
  for (int i = 0; i < 200; ++i) {
    if (!proc_has(needle)) return true;
    ::usleep(10'000);
  }
  return false;
}

// What the daemon relies on: with its listening socket on the port (SO_REUSEPORT, on *:port or on 127.0.0.1:port)
// and the tunnel's socket on 127.0.0.1:port connected to the peer, the peer's control messages (T=1) arrive on the
// tunnel's UDP socket, unchanged, and not on the listener; a datagram from any other peer (a new SCCRQ) arrives on
// the listener and not on the tunnel's socket.
void control_messages_reach_the_tunnel_socket(bool listener_on_any_address) {
  PppoL2tpDataPlane plane;
  if (!plane.available()) GTEST_SKIP() << "no l2tp_ppp in this kernel (expected on the build host)";
  const uint16_t a = free_udp_port(), b = free_udp_port(), c = free_udp_port();
  UniqueFd listener = udp_socket(a, listener_on_any_address, /*reuse=*/true);
  UniqueFd peer = udp_socket(b, false, false);
  UniqueFd stranger = udp_socket(c, false, false);
  auto t = plane.create_tunnel(loopback_spec(4201, 4202, a, b));
  ASSERT_TRUE(t) << t.error().to_string();

  // A ZLB acknowledgement (RFC 2661 §3.1, §5.8): T, L, S set, version 2, length 12, tunnel 4201, session 0.
  const uint8_t zlb[12] = {0xC8, 0x02, 0x00, 0x0C, 0x10, 0x69, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(a);
  // Several datagrams: a hash choice inside the SO_REUSEPORT group would send some of them astray.
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(::sendto(peer.get(), zlb, sizeof zlb, 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(sizeof zlb));
    ASSERT_TRUE(readable(t->udp_fd, 2000)) << "control message " << i << " did not reach the tunnel socket";
    uint8_t buf[64];
    ASSERT_EQ(::recv(t->udp_fd, buf, sizeof buf, 0), static_cast<ssize_t>(sizeof zlb));
    EXPECT_EQ(std::memcmp(buf, zlb, sizeof zlb), 0);
    EXPECT_FALSE(readable(listener.get(), 0)) << "the listener got the tunnel's packet";
  }
  // Another peer's datagram (it is not for this tunnel) goes to the listener.
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(::sendto(stranger.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 1);
    ASSERT_TRUE(readable(listener.get(), 2000)) << "datagram " << i << " of another peer did not reach the listener";
    char byte = 0;
    ASSERT_EQ(::recv(listener.get(), &byte, 1, 0), 1);
    EXPECT_FALSE(readable(t->udp_fd, 0)) << "the tunnel socket got another peer's datagram";
  }
  EXPECT_TRUE(plane.destroy_tunnel(4201));
}

TEST(PppoL2tpDataPlaneTest, ControlMessagesStillArriveOnTheTunnelUdpSocket) {
  control_messages_reach_the_tunnel_socket(/*listener_on_any_address=*/true);
}

TEST(PppoL2tpDataPlaneTest, ControlMessagesArriveOnTheTunnelUdpSocketBesideAListenerOnTheSameAddress) {
  control_messages_reach_the_tunnel_socket(/*listener_on_any_address=*/false);
}

// The kernel tunnel belongs to the UDP socket: while anyone still holds a descriptor of it (the driver's dup),
// destroy_tunnel alone does not free the tunnel ID; closing the last one does.
TEST(PppoL2tpDataPlaneTest, TheTunnelLastsUntilTheLastUdpDescriptorCloses) {
  PppoL2tpDataPlane plane;
  if (!plane.available()) GTEST_SKIP() << "no l2tp_ppp in this kernel (expected on the build host)";
  const uint16_t a = free_udp_port(), b = free_udp_port();
  auto t = plane.create_tunnel(loopback_spec(4301, 4302, a, b));
  ASSERT_TRUE(t) << t.error().to_string();
  ASSERT_TRUE(plane.create_session(*t, 7, 8, {}));
  UniqueFd dup(::fcntl(t->udp_fd, F_DUPFD_CLOEXEC, 3));
  ASSERT_TRUE(dup);
  ASSERT_TRUE(proc_has("'tunl 4301'"));

  EXPECT_TRUE(plane.destroy_tunnel(4301));
  EXPECT_TRUE(eventually_gone("'sess 4301/7'")) << "the session outlived its socket";
  ::usleep(200'000);
  EXPECT_TRUE(proc_has("'tunl 4301'")) << "tunnel gone although a UDP descriptor is still open";
  auto again = plane.create_tunnel(loopback_spec(4301, 4303, a, b));
  EXPECT_FALSE(again) << "tunnel ID reusable while the old tunnel still exists";
  if (!again) {
    EXPECT_EQ(again.error().code, DataPlaneErrorCode::kAlreadyExists) << again.error().to_string();
  }

  dup.reset();
  EXPECT_TRUE(eventually_gone("'tunl 4301'")) << "tunnel still there after the last UDP descriptor closed";
  auto reuse = plane.create_tunnel(loopback_spec(4301, 4303, a, b));
  EXPECT_TRUE(reuse) << reuse.error().to_string();
}

}  // namespace
}  // namespace l2tpvpn::kernel
