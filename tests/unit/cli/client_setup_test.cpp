// cli/client_setup: the client-setup document and its text, without any file or daemon.
#include "cli/client_setup.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::cli {
namespace {

using nlohmann::json;

TEST(PowershellQuote, DoublesSingleQuotes) {
  EXPECT_EQ(powershell_quote("a'b"), "'a''b'");
  EXPECT_EQ(powershell_quote("$x `y"), "'$x `y'");
}

ClientSetupInput sample_input() {
  ClientSetupInput in;
  in.server = "vpn.example.com";
  in.server_source = "config";
  in.psk = "the-psk";
  in.oses = {"windows", "macos", "ios", "android"};
  return in;
}

TEST(ClientSetupJson, SettingsAndOneEntryPerSystem) {
  json j = client_setup_json(sample_input());
  EXPECT_EQ(j["server"], "vpn.example.com");
  EXPECT_EQ(j["psk"], "the-psk");
  EXPECT_TRUE(j["user"].is_null());
  EXPECT_TRUE(j["password"].is_null());
  EXPECT_EQ(j["password_hint"], "the user's password (shown once by `l2tpvpnctl user add`)");
  EXPECT_EQ(j["connection_name"], "l2tpvpn");
  EXPECT_TRUE(j["warnings"].empty());
  EXPECT_EQ(j["clients"].size(), 4u);
  EXPECT_FALSE(j["clients"]["windows"]["nat_t_registry"].contains("needed"));
  EXPECT_EQ(j["clients"]["android"]["legacy_enabled"], false);
}

TEST(ClientSetupJson, WarningsFollowTheConfiguration) {
  ClientSetupInput in = sample_input();
  in.server = "10.0.0.5";
  in.server_source = "route";
  in.server_is_private = true;
  in.mschap_v2 = false;
  in.tunnel_secret = true;
  in.ipsec_required = false;
  in.oses = {"windows"};
  json j = client_setup_json(in);
  std::string w = j["warnings"].dump();
  EXPECT_EQ(j["warnings"].size(), 5u) << w;
  EXPECT_NE(w.find("default route"), std::string::npos);
  EXPECT_NE(w.find("private address"), std::string::npos);
  EXPECT_NE(w.find("mschap-v2"), std::string::npos);
  EXPECT_NE(w.find("require_tunnel_auth"), std::string::npos);
  EXPECT_NE(w.find("ipsec.required = no"), std::string::npos);
  EXPECT_EQ(j["clients"]["windows"]["nat_t_registry"]["needed"], true);
  EXPECT_EQ(j["clients"].size(), 1u);
}

TEST(ClientSetupJson, UserAndPassword) {
  ClientSetupInput in = sample_input();
  in.user = "alice";
  in.password = "pw-1";
  in.oses = {"ios"};
  json j = client_setup_json(in);
  EXPECT_EQ(j["user"], "alice");
  EXPECT_EQ(j["password"], "pw-1");
  EXPECT_TRUE(j["password_hint"].is_null());
  EXPECT_NE(j["clients"]["ios"]["steps"].dump().find("Password: pw-1"), std::string::npos);
}

TEST(RenderClientSetup, TextFromTheDocument) {
  ClientSetupInput in = sample_input();
  in.legacy = true;
  std::string text = render_client_setup(client_setup_json(in));
  EXPECT_EQ(text.rfind("L2TP/IPsec client settings\n\n  Server address  vpn.example.com\n", 0), 0u) << text;
  EXPECT_NE(text.find("  Pre-shared key  the-psk\n"), std::string::npos);
  EXPECT_NE(text.find("  User name       the user's name (l2tpvpnctl user list)\n"), std::string::npos);
  // The systems in a fixed order, steps numbered.
  size_t windows = text.find("\nWindows 10 / 11\n"), macos = text.find("\nmacOS\n"),
         ios = text.find("\niOS / iPadOS\n"), android = text.find("\nAndroid 11 and older\n");
  ASSERT_NE(windows, std::string::npos);
  EXPECT_LT(windows, macos);
  EXPECT_LT(macos, ios);
  EXPECT_LT(ios, android);
  EXPECT_NE(text.find("\n  1. Settings > Network & internet > VPN"), std::string::npos);
  EXPECT_NE(text.find("\n       Add-VpnConnection -Name 'l2tpvpn'"), std::string::npos);
  // With legacy on, the Android note does not warn about turning it on.
  EXPECT_NE(text.find("legacy = yes"), std::string::npos);
  EXPECT_EQ(text.find("turn it on only"), std::string::npos);
}

TEST(IsPrivateIpv4, PrivateSharedLoopbackLinkLocal) {
  for (const char* a :
       {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "127.0.0.1", "169.254.1.1"})
    EXPECT_TRUE(is_private_ipv4(a)) << a;
  for (const char* a : {"172.32.0.1", "203.0.113.7", "100.128.0.1", "vpn.example.com", "8.8.8.8"})
    EXPECT_FALSE(is_private_ipv4(a)) << a;
}

}  // namespace
}  // namespace l2tpvpn::cli
