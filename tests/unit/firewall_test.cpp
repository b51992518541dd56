#include "server/firewall.hpp"

#include <gtest/gtest.h>

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
