// The kernel plane where the tests run. On a host without l2tp_ppp (our build machines) it must say so clearly
// and leave nothing behind; where the kernel has it (the UML guest runs this binary too), a loopback tunnel and
// session must appear in and vanish from /proc/net/pppol2tp. Which case applies is read from the kernel, not
// assumed.
#include "server/kernel/pppol2tp_data_plane.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
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
bool kernel_has_pppol2tp() { return std::filesystem::exists(kProcFile); }

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

}  // namespace
}  // namespace l2tpvpn::kernel
