#include "server/firewall.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include "common/os/spawn.hpp"
#include "require.hpp"

namespace l2tpvpn {
namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string all_text(const FirewallPlan& p) {
  std::string s;
  for (const auto& [t, text] : p.install) s += text;
  return s;
}

TEST(Firewall, IptablesPlanHasThePolicyMatchAndDrop) {
  FirewallConfig c;
  c.wan_interface = "eth0";
  auto p = build_plan(FirewallBackend::kIptablesLegacy, c);
  ASSERT_TRUE(p);
  std::string s = all_text(*p);
  EXPECT_TRUE(contains(s, "-p udp --dport 1701 -m policy --dir in --pol ipsec --proto esp -j ACCEPT"));
  EXPECT_TRUE(contains(s, "-p udp --dport 1701 -j DROP"));
  EXPECT_TRUE(contains(s, "-p udp --dport 500 -j ACCEPT"));
  EXPECT_TRUE(contains(s, "-p udp --dport 4500 -j ACCEPT"));
  EXPECT_TRUE(contains(s, "-s 10.99.0.0/24 -o eth0 -j MASQUERADE"));
  EXPECT_TRUE(contains(s, "--clamp-mss-to-pmtu"));
  // The ACCEPT for IPsec traffic must come before the DROP.
  EXPECT_LT(s.find("--pol ipsec"), s.find("--dport 1701 -j DROP"));
  EXPECT_EQ(p->hooks.size(), 5u);
  ASSERT_EQ(p->remove.size(), 3u);
  EXPECT_TRUE(contains(p->remove[0].second, "-X L2TPVPN-INPUT"));
}

TEST(Firewall, IptablesPlanDropsL2tpLeavingWithoutIpsec) {
  FirewallConfig c;
  c.l2tp_port = 1702;
  auto p = build_plan(FirewallBackend::kIptablesNft, c);
  ASSERT_TRUE(p);
  std::string s = all_text(*p);
  EXPECT_TRUE(contains(s, ":L2TPVPN-OUTPUT - [0:0]\n"));
  EXPECT_TRUE(contains(s, "-A L2TPVPN-OUTPUT -p udp --sport 1702 -m policy --dir out --pol none -j DROP\n"));
  bool hooked = false;
  for (const auto& [table, args] : p->hooks)
    if (table == "filter" && args == std::vector<std::string>{"OUTPUT", "-j", "L2TPVPN-OUTPUT"}) hooked = true;
  EXPECT_TRUE(hooked);
  ASSERT_FALSE(p->remove.empty());
  EXPECT_TRUE(contains(p->remove[0].second, "-X L2TPVPN-OUTPUT"));
}

TEST(Firewall, NftPlanIsOneIdempotentTable) {
  FirewallConfig c;
  auto p = build_plan(FirewallBackend::kNft, c);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->install.size(), 1u);
  std::string s = p->install[0].second;
  EXPECT_EQ(s.rfind("add table ip l2tpvpn\ndelete table ip l2tpvpn\n", 0), 0u);
  EXPECT_TRUE(contains(s, "udp dport 1701 meta secpath exists counter accept"));
  EXPECT_TRUE(contains(s, "udp dport 1701 counter drop"));
  EXPECT_TRUE(contains(s, "  chain output {\n    type filter hook output priority filter; policy accept;\n"
                          "    udp sport 1701 rt ipsec missing counter drop\n  }\n"));
  EXPECT_TRUE(contains(s, "masquerade"));
  EXPECT_TRUE(p->hooks.empty());
}

TEST(Firewall, OptionsTurnRulesOff) {
  FirewallConfig c;
  c.masquerade = false;
  c.clamp_mss = false;
  c.require_ipsec = false;
  auto p = build_plan(FirewallBackend::kIptablesNft, c);
  ASSERT_TRUE(p);
  std::string s = all_text(*p);
  EXPECT_FALSE(contains(s, "MASQUERADE"));
  EXPECT_FALSE(contains(s, "TCPMSS"));
  EXPECT_FALSE(contains(s, "DROP"));
  EXPECT_FALSE(contains(s, "--sport"));
  EXPECT_EQ(p->hooks.size(), 3u);  // the chains stay hooked (and removed on stop), empty
  auto n = build_plan(FirewallBackend::kNft, c);
  ASSERT_TRUE(n);
  EXPECT_FALSE(contains(n->install[0].second, "hook output"));
  EXPECT_FALSE(contains(n->install[0].second, "drop"));
}

TEST(Firewall, RejectsBadValues) {
  FirewallConfig c;
  c.pool_cidr = "10.99.0.0/33";
  EXPECT_FALSE(build_plan(FirewallBackend::kNft, c));
  c.pool_cidr = "10.99.0/24";
  EXPECT_FALSE(build_plan(FirewallBackend::kNft, c));
  c.pool_cidr = "10.99.0.0/24";
  c.wan_interface = "eth0; rm -rf /";
  auto p = build_plan(FirewallBackend::kIptablesLegacy, c);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().field, "wan_interface");
  EXPECT_NE(p.error().message.find("eth0; rm"), std::string::npos);
}

FirewallConfig data_port_config() {
  FirewallConfig c;
  c.l2tp_port = 1702;  // not the default, so that a hard-coded 1701 shows
  c.data_ports = true;
  return c;
}

TEST(FirewallDataPorts, NftPlanHasTheMapsAndRulesOnlyWhenAskedFor) {
  auto off = build_plan(FirewallBackend::kNft, FirewallConfig{});
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->data_ports);
  const std::string& plain = off->install[0].second;
  for (const char* absent : {"l2tp_data", "meta mark", "@th", "hook prerouting", "dnat", "snat", "post_nat", "ct zone"})
    EXPECT_FALSE(contains(plain, absent)) << absent;

  auto on = build_plan(FirewallBackend::kNft, data_port_config());
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->data_ports);
  ASSERT_EQ(on->install.size(), 1u);
  const std::string& s = on->install[0].second;
  EXPECT_TRUE(contains(s, "table ip l2tpvpn {\n"
                          "  map l2tp_data_port { typeof meta mark : udp dport; }\n"
                          "  map l2tp_data_zone { typeof meta mark : ct zone; }\n"
                          "  set l2tp_data_ports { typeof udp dport; }\n"))
      << s;
  EXPECT_TRUE(contains(s, "  chain input {\n    type filter hook input priority filter; policy accept;\n"
                          "    udp dport @l2tp_data_ports meta secpath missing counter drop\n"
                          "    udp dport 1702 meta secpath exists counter accept\n"
                          "    udp dport 1702 counter drop\n  }\n"))
      << s;
  EXPECT_TRUE(contains(s, "  chain data_zone_in {\n    type filter hook prerouting priority raw; policy accept;\n"
                          "    udp dport 1702 meta secpath exists meta mark != 0 @th,64,1 0 counter "
                          "ct zone set meta mark map @l2tp_data_zone\n  }\n"))
      << s;
  EXPECT_TRUE(contains(s, "  chain data_zone_out {\n    type filter hook output priority raw; policy accept;\n"
                          "    udp sport @l2tp_data_ports meta mark != 0 @th,64,1 0 counter "
                          "ct zone set meta mark map @l2tp_data_zone\n  }\n"))
      << s;
  EXPECT_TRUE(contains(s, "  chain data_dnat {\n    type nat hook prerouting priority dstnat; policy accept;\n"
                          "    udp dport 1702 meta secpath exists meta mark != 0 @th,64,1 0 counter "
                          "dnat ip to ip daddr : meta mark map @l2tp_data_port\n  }\n"))
      << s;
  EXPECT_TRUE(contains(s, "  chain data_snat {\n    type nat hook postrouting priority srcnat; policy accept;\n"
                          "    udp sport @l2tp_data_ports meta mark != 0 @th,64,1 0 counter "
                          "snat ip to ip saddr : 1702\n  }\n"))
      << s;
  EXPECT_TRUE(contains(s, "  chain post_nat {\n    type filter hook postrouting priority 300; policy accept;\n"
                          "    udp sport 1702 rt ipsec missing counter drop\n"
                          "    udp sport @l2tp_data_ports rt ipsec missing counter drop\n  }\n"))
      << s;
  // The pre-NAT output check and the masquerade chain are still there, unchanged.
  EXPECT_TRUE(contains(s, "    udp sport 1702 rt ipsec missing counter drop\n  }\n  chain data_zone_in"));
  EXPECT_TRUE(contains(s, "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
                          "    ip saddr 10.99.0.0/24 oifname != \"ppp*\" masquerade\n  }\n"));
  EXPECT_FALSE(contains(s, "1701"));
  EXPECT_EQ(on->remove, off->remove);  // deleting the table takes the maps with it
}

TEST(FirewallDataPorts, OnlyNftSupportsThem) {
  EXPECT_TRUE(supports_data_ports(FirewallBackend::kNft));
  for (auto b : {FirewallBackend::kNone, FirewallBackend::kIptablesLegacy, FirewallBackend::kIptablesNft}) {
    EXPECT_FALSE(supports_data_ports(b)) << to_string(b);
    auto p = build_plan(b, data_port_config());
    ASSERT_FALSE(p) << to_string(b);
    EXPECT_EQ(p.error().field, "data_ports");
    EXPECT_EQ(p.error().message, "per-tunnel data ports need the nft backend, not " + std::string(to_string(b)));
  }
}

TEST(FirewallDataPorts, NeedRequiredIpsec) {
  auto c = data_port_config();
  c.require_ipsec = false;
  auto p = build_plan(FirewallBackend::kNft, c);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().field, "data_ports");
  EXPECT_EQ(p.error().message, "per-tunnel data ports follow IPsec SA marks: they need require_ipsec");
}

TEST(FirewallDataPorts, ElementScriptsAreExact) {
  EXPECT_EQ(nft_map_data_port_script(0x2a, 20001),
            "add element ip l2tpvpn l2tp_data_port { 0x2a : 20001 }\n"
            "add element ip l2tpvpn l2tp_data_zone { 0x2a : 20001 }\n"
            "add element ip l2tpvpn l2tp_data_ports { 20001 }\n");
  EXPECT_EQ(nft_unmap_data_port_script(0xffffffff, 65535),
            "delete element ip l2tpvpn l2tp_data_port { 0xffffffff }\n"
            "delete element ip l2tpvpn l2tp_data_zone { 0xffffffff }\n"
            "delete element ip l2tpvpn l2tp_data_ports { 65535 }\n");
}

// The kernel's own check: the plan and element scripts are loaded by nft into a throwaway user and network
// namespace (no root needed where unprivileged user namespaces are allowed; nothing of this host's rules is
// touched). `nft -c` alone would not do: it parses, but the kernel validates chains only on commit.
// A throwaway network namespace: root needs none but the network one; anyone else asks for a user namespace too
// (which a chroot, such as tests/clean-room.sh's, does not allow).
std::string unshare_flags() { return geteuid() == 0 ? "-n" : "-rn"; }

TEST(FirewallDataPorts, NftLoadsThePlanAndTheElementsInAThrowawayNamespace) {
  L2TPVPN_REQUIRE(os::have_program("nft") && os::have_program("unshare"), "nft and unshare (nftables, util-linux)");
  const std::string ns = unshare_flags();
  L2TPVPN_REQUIRE(os::run_process({"unshare", ns, "nft", "list", "tables"}).exit_code == 0,
                  "a network namespace with nf_tables (unshare " + ns + " nft list tables)");
  auto plan = build_plan(FirewallBackend::kNft, data_port_config());
  ASSERT_TRUE(plan);
  const std::string script = plan->install[0].second + nft_map_data_port_script(1, 20001) +
                             nft_map_data_port_script(2, 20002) + nft_unmap_data_port_script(1, 20001);
  auto r = os::run_process({"unshare", ns, "sh", "-c", "nft -f - && nft list table ip l2tpvpn"}, script);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string& listed = r.output;
  EXPECT_TRUE(contains(listed, "elements = { 0x00000002 : 20002 }")) << listed;
  EXPECT_TRUE(contains(listed, "elements = { 20002 }")) << listed;
  EXPECT_FALSE(contains(listed, "20001")) << listed;
  // nft prints the T-bit match back in its own form, and the snat as it understood it.
  EXPECT_TRUE(contains(listed, "@th,64,8 & 0x80 == 0x0")) << listed;
  EXPECT_TRUE(contains(listed, "snat to ip saddr:1702")) << listed;
  EXPECT_TRUE(contains(listed, "dnat to ip daddr:meta mark map @l2tp_data_port")) << listed;
  // Removing the last mark and the table leaves nothing.
  auto gone = os::run_process({"unshare", ns, "sh", "-c", "nft -f - && nft list ruleset"},
                              script + nft_unmap_data_port_script(2, 20002) + plan->remove[0].second);
  ASSERT_EQ(gone.exit_code, 0) << gone.output;
  EXPECT_EQ(gone.output, "");
  // A second add of a mark with another port is refused by the kernel, which is why the manager deletes first.
  auto twice = os::run_process({"unshare", ns, "nft", "-f", "-"},
                               plan->install[0].second + nft_map_data_port_script(1, 20001) +
                                   nft_map_data_port_script(1, 20003));
  EXPECT_NE(twice.exit_code, 0) << twice.output;
}

TEST(FirewallChoice, AutoTakesTheFirstWorkingToolInOrder) {
  FirewallProbe p;
  p.nft = ToolProbe::kFailed;
  p.iptables_nft = ToolProbe::kWorks;
  p.iptables_legacy = ToolProbe::kWorks;
  EXPECT_EQ(choose_firewall_backend("auto", p, true).value(), FirewallBackend::kIptablesNft);
  p.nft = ToolProbe::kWorks;
  EXPECT_EQ(choose_firewall_backend("auto", p, true).value(), FirewallBackend::kNft);
  FirewallProbe legacy_only;
  legacy_only.iptables_legacy = ToolProbe::kWorks;
  EXPECT_EQ(choose_firewall_backend("auto", legacy_only, false).value(), FirewallBackend::kIptablesLegacy);
}

TEST(FirewallChoice, AutoWithoutAnyToolStopsStartUpWhenIpsecIsRequired) {
  FirewallProbe none;  // nothing on PATH
  none.iptables_legacy = ToolProbe::kFailed;
  auto c = choose_firewall_backend("auto", none, true);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().field, "backend");
  EXPECT_EQ(c.error().message,
            "no working backend found (nft: not found on PATH, iptables-nft: not found on PATH, iptables-legacy: "
            "found, but listing its rules failed), and [ipsec] required = yes needs one to keep plaintext L2TP out: "
            "install nftables or iptables, or set [firewall] manage = false if a firewall of your own does it");
}

TEST(FirewallChoice, AutoWithoutAnyToolRunsWithoutRulesWhenIpsecIsNotRequired) {
  auto c = choose_firewall_backend("auto", FirewallProbe{}, false);
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, FirewallBackend::kNone);
}

TEST(FirewallChoice, AnExplicitBackendIsTakenAsConfigured) {
  // The probe is not consulted: a missing tool then fails at install, naming it.
  EXPECT_EQ(choose_firewall_backend("nft", FirewallProbe{}, true).value(), FirewallBackend::kNft);
  EXPECT_EQ(choose_firewall_backend("iptables-legacy", FirewallProbe{}, true).value(), FirewallBackend::kIptablesLegacy);
  // `none`: the administrator's own firewall, also with IPsec required.
  EXPECT_EQ(choose_firewall_backend("none", FirewallProbe{}, true).value(), FirewallBackend::kNone);
  auto bad = choose_firewall_backend("ipchains", FirewallProbe{}, true);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "backend");
}

TEST(Firewall, BackendNames) {
  FirewallBackend b{};
  EXPECT_TRUE(parse_firewall_backend("iptables-legacy", b));
  EXPECT_EQ(b, FirewallBackend::kIptablesLegacy);
  EXPECT_FALSE(parse_firewall_backend("ipchains", b));
}

}  // namespace
}  // namespace l2tpvpn
