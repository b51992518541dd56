// FirewallManager against the real tools and this host's netfilter, inside a private network namespace per
// test (root). Checks the rules are installed once, block plaintext udp/1701 both ways, and are removed without
// trace. This host has no IPsec policy, so every datagram is "without IPsec" here.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/os/spawn.hpp"
#include "server/firewall_manager.hpp"
#include "require.hpp"

namespace l2tpvpn {
namespace {

class FirewallNetns : public ::testing::TestWithParam<FirewallBackend> {
 protected:
  void SetUp() override {
    L2TPVPN_REQUIRE(geteuid() == 0, "root (private network namespace)");
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << strerror(errno);
    ASSERT_EQ(os::run_process({"ip", "link", "set", "lo", "up"}).exit_code, 0);
  }
  std::string dump() {
    switch (GetParam()) {
      case FirewallBackend::kNft: return os::run_process({"nft", "list", "ruleset"}).output;
      case FirewallBackend::kIptablesLegacy: return os::run_process({"iptables-legacy-save"}).output;
      default: return os::run_process({"iptables-nft-save"}).output;
    }
  }
  // Sends one UDP datagram to 127.0.0.1:1701 and reports whether it arrived within 300 ms.
  bool udp_1701_arrives() {
    int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(1701);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{0, 300000};
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sendto(tx, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    char b;
    bool got = recv(rx, &b, 1, 0) == 1;
    close(rx);
    close(tx);
    return got;
  }
  // Sends one UDP datagram from 127.0.0.1:1701 to 127.0.0.1:1702 (what an LNS's tunnel sends) and reports whether
  // it arrived within 300 ms.
  bool from_1701_arrives() {
    int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{}, to{};
    from.sin_family = to.sin_family = AF_INET;
    from.sin_addr.s_addr = to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    from.sin_port = htons(1701);
    to.sin_port = htons(1702);
    EXPECT_EQ(bind(rx, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    EXPECT_EQ(bind(tx, reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
    timeval tv{0, 300000};
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sendto(tx, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);  // EPERM when OUTPUT drops it
    char b;
    bool got = recv(rx, &b, 1, 0) == 1;
    close(rx);
    close(tx);
    return got;
  }
};

TEST_P(FirewallNetns, InstallBlocksPlaintextL2tpAndRemoveLeavesNothing) {
  FirewallConfig cfg;
  auto plan = build_plan(GetParam(), cfg);
  ASSERT_TRUE(plan);
  EXPECT_TRUE(udp_1701_arrives());
  FirewallManager fw;
  auto s = fw.install(*plan, false);
  ASSERT_TRUE(s) << s.error();
  // Installing again (a restart after a crash) must not duplicate anything.
  FirewallManager again;
  ASSERT_TRUE(again.install(*plan, false));
  std::string d = dump();
  if (GetParam() == FirewallBackend::kNft) {
    EXPECT_NE(d.find("table ip l2tpvpn"), std::string::npos) << d;
  } else {
    EXPECT_NE(d.find("-A INPUT -j L2TPVPN-INPUT"), std::string::npos) << d;
    EXPECT_EQ(d.find("-A INPUT -j L2TPVPN-INPUT"), d.rfind("-A INPUT -j L2TPVPN-INPUT")) << "hook duplicated\n" << d;
  }
  EXPECT_FALSE(udp_1701_arrives()) << "plaintext udp/1701 got through\n" << d;
  EXPECT_FALSE(from_1701_arrives()) << "plaintext L2TP left without IPsec\n" << d;
  again.remove();
  fw.remove();
  d = dump();
  EXPECT_EQ(d.find("l2tpvpn"), std::string::npos) << d;
  EXPECT_EQ(d.find("L2TPVPN"), std::string::npos) << d;
  EXPECT_TRUE(udp_1701_arrives());
  EXPECT_TRUE(from_1701_arrives());
}

TEST_P(FirewallNetns, WithoutRequiredIpsecL2tpLeavesFreely) {
  FirewallConfig cfg;
  cfg.require_ipsec = false;
  auto plan = build_plan(GetParam(), cfg);
  ASSERT_TRUE(plan);
  FirewallManager fw;
  auto s = fw.install(*plan, false);
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(from_1701_arrives()) << dump();
  fw.remove();
}

// FirewallManager's data-port elements, in a private network namespace: mapped, moved, refused when the port is
// taken or no plan with data ports is installed, unmapped.
TEST(FirewallNetnsDataPorts, MapAndUnmapChangeTheElements) {
  L2TPVPN_REQUIRE(geteuid() == 0, "root (private network namespace)");
  L2TPVPN_REQUIRE(os::have_program("nft"), "nft (nftables)");
  ASSERT_EQ(unshare(CLONE_NEWNET), 0) << strerror(errno);
  auto list = [] { return os::run_process({"nft", "list", "set", "ip", "l2tpvpn", "l2tp_data_ports"}).output; };
  FirewallManager fw;
  EXPECT_FALSE(fw.map_data_port(1, 20001));  // nothing installed
  auto plain = build_plan(FirewallBackend::kNft, FirewallConfig{});
  ASSERT_TRUE(plain);
  ASSERT_TRUE(fw.install(*plain, false));
  EXPECT_FALSE(fw.map_data_port(1, 20001));  // installed, but without data ports
  EXPECT_FALSE(fw.unmap_data_port(1));
  fw.remove();

  FirewallConfig cfg;
  cfg.data_ports = true;
  auto plan = build_plan(FirewallBackend::kNft, cfg);
  ASSERT_TRUE(plan);
  ASSERT_TRUE(fw.install(*plan, false));
  auto s = fw.map_data_port(1, 20001);
  ASSERT_TRUE(s) << s.error();
  ASSERT_TRUE(fw.map_data_port(2, 20002));
  ASSERT_TRUE(fw.map_data_port(2, 20002));  // again: no change
  auto taken = fw.map_data_port(3, 20001);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().message, "data port 20001 for mark 3: the port is already mapped to mark 1");
  EXPECT_FALSE(fw.map_data_port(0, 20009));
  ASSERT_TRUE(fw.map_data_port(1, 20003));  // moved
  std::string ports = list();
  EXPECT_NE(ports.find("elements = { 20002, 20003 }"), std::string::npos) << ports;
  ASSERT_TRUE(fw.unmap_data_port(2));
  ASSERT_TRUE(fw.unmap_data_port(2));  // not mapped: nothing to do
  ports = list();
  EXPECT_NE(ports.find("elements = { 20003 }"), std::string::npos) << ports;
  std::string marks = os::run_process({"nft", "list", "map", "ip", "l2tpvpn", "l2tp_data_zone"}).output;
  EXPECT_NE(marks.find("elements = { 0x00000001 : 20003 }"), std::string::npos) << marks;
  fw.remove();
  EXPECT_FALSE(fw.unmap_data_port(1));
  EXPECT_EQ(os::run_process({"nft", "list", "ruleset"}).output, "");
}

INSTANTIATE_TEST_SUITE_P(Backends, FirewallNetns,
                         ::testing::Values(FirewallBackend::kIptablesLegacy, FirewallBackend::kIptablesNft,
                                           FirewallBackend::kNft),
                         [](const auto& p) {
                           std::string n(to_string(p.param));
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace l2tpvpn
