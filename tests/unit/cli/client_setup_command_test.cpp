// cli/client_setup_command: where client-setup takes the server address, the PSK and the user from.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "unit/cli/ctl_fixture.hpp"

namespace l2tpvpn::cli {
namespace {

using nlohmann::json;
using namespace l2tpvpn::cli::testing;

TEST_F(CtlTest, ClientSetupForEverySystem) {
  ASSERT_EQ(run({"user", "add", "alice"}).rc, 0);
  std::string pw = users().find("alice")->password;
  CtlRun r = run({"client-setup", "--user", "alice"});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* s : {"vpn.example.com", "sup3r-s3cret-psk", "alice", "MS-CHAP v2",
                        "L2TP over IPsec with pre-shared key", "Windows 10 / 11", "macOS", "iOS", "Android"})
    EXPECT_TRUE(contains(r.out, s)) << s;
  EXPECT_TRUE(contains(r.out,
                       "Add-VpnConnection -Name 'l2tpvpn' -ServerAddress 'vpn.example.com' -TunnelType L2tp -L2tpPsk "
                       "'sup3r-s3cret-psk' -AuthenticationMethod MSChapv2 -EncryptionLevel Required -Force"));
  EXPECT_TRUE(contains(r.out,
                       "reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent /v "
                       "AssumeUDPEncapsulationContextOnSendRule /t REG_DWORD /d 2 /f"));
  EXPECT_TRUE(contains(r.out, "reboot"));
  EXPECT_TRUE(contains(r.out, "Send all traffic"));
  EXPECT_TRUE(contains(r.out, "Secret: sup3r-s3cret-psk"));
  EXPECT_TRUE(contains(r.out, "L2TP/IPSec PSK"));
  EXPECT_TRUE(contains(r.out, "Android 12 and later removed L2TP/IPsec"));
  EXPECT_TRUE(contains(r.out, "legacy = yes"));
  EXPECT_TRUE(contains(r.out, "user passwd alice"));
  EXPECT_FALSE(contains(r.out, pw)) << "stored password only with --show-password";
  EXPECT_TRUE(daemon_.sent().size() == 1) << "client-setup does not talk to the daemon";

  r = run({"client-setup", "--user", "alice", "--show-password", "--os", "ios"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Password: " + pw));
  EXPECT_FALSE(contains(r.out, "Windows"));
  EXPECT_FALSE(contains(r.out, "Android"));
}

TEST_F(CtlTest, ClientSetupPerSystemSelection) {
  for (const char* os : {"windows", "macos", "ios", "android"}) {
    CtlRun r = run({"client-setup", "--os", os, "--json"});
    ASSERT_EQ(r.rc, 0) << os << r.err;
    json j = json::parse(r.out);
    ASSERT_EQ(j["clients"].size(), 1u) << os;
    ASSERT_TRUE(j["clients"].contains(os));
    std::string steps = j["clients"][os]["steps"].dump();
    EXPECT_TRUE(contains(steps, "vpn.example.com")) << os;
    EXPECT_TRUE(contains(steps, "sup3r-s3cret-psk")) << os;
    EXPECT_EQ(j["clients"][os].contains("nat_t_registry"), std::string(os) == "windows");
  }
  CtlRun r = run({"client-setup", "--os", "windows,android", "--json"});
  ASSERT_EQ(r.rc, 0);
  EXPECT_EQ(json::parse(r.out)["clients"].size(), 2u);
}

TEST_F(CtlTest, ClientSetupJson) {
  ASSERT_EQ(run({"user", "add", "alice"}).rc, 0);
  CtlRun r = run({"client-setup", "--user", "alice", "--json", "--name", "Bob's VPN"});
  ASSERT_EQ(r.rc, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["server"], "vpn.example.com");
  EXPECT_EQ(j["server_source"], "config");
  EXPECT_EQ(j["psk"], "sup3r-s3cret-psk");
  EXPECT_EQ(j["user"], "alice");
  EXPECT_TRUE(j["password"].is_null());
  EXPECT_EQ(j["authentication"], "MS-CHAP v2");
  EXPECT_EQ(j["vpn_type"], "L2TP over IPsec with pre-shared key");
  EXPECT_EQ(j["clients"].size(), 4u);
  const json& reg = j["clients"]["windows"]["nat_t_registry"];
  EXPECT_EQ(reg["key"], "HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent");
  EXPECT_EQ(reg["value"], "AssumeUDPEncapsulationContextOnSendRule");
  EXPECT_EQ(reg["data"], 2);
  EXPECT_TRUE(contains(j["clients"]["windows"]["powershell"].get<std::string>(), "-Name 'Bob''s VPN'"));
  EXPECT_EQ(j["clients"]["android"]["legacy_enabled"], false);
}

TEST_F(CtlTest, ClientSetupServerAddressSources) {
  write_config("[ipsec]\npsk = sup3r-s3cret-psk\nlegacy = yes\n");
  CtlRun r = run({"client-setup", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["server"], "203.0.113.7");
  EXPECT_EQ(j["server_source"], "route");
  EXPECT_TRUE(contains(j["warnings"].dump(), "default route"));
  EXPECT_EQ(j["clients"]["android"]["legacy_enabled"], true);
  EXPECT_TRUE(j["user"].is_null());

  route_ = "192.168.1.20";  // behind NAT
  j = json::parse(run({"client-setup", "--json"}).out);
  EXPECT_TRUE(contains(j["warnings"].dump(), "private address"));
  EXPECT_EQ(j["clients"]["windows"]["nat_t_registry"]["needed"], true);

  j = json::parse(run({"client-setup", "--json", "--server", "vpn.example.org"}).out);
  EXPECT_EQ(j["server"], "vpn.example.org");
  EXPECT_EQ(j["server_source"], "argument");

  route_ = std::nullopt;
  r = run({"client-setup"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "--server"));
}

TEST_F(CtlTest, ClientSetupReadsThePskFile) {
  std::string psk_file = dir_ + "/ipsec.secret";
  {
    std::ofstream f(psk_file);
    f << "from-the-file-psk\n";
  }
  ::chmod(psk_file.c_str(), 0600);
  write_config("[ipsec]\npsk_file = " + psk_file + "\n[server]\npublic_address = 198.51.100.1\n");
  CtlRun r = run({"client-setup", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["psk"], "from-the-file-psk");

  write_config("[ipsec]\npsk_file = " + dir_ + "/nope.secret\n");
  r = run({"client-setup"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "nope.secret"));
  EXPECT_TRUE(r.out.empty());
}

TEST_F(CtlTest, ClientSetupUnknownUser) {
  CtlRun r = run({"client-setup", "--user", "ghost"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "no user ghost"));
}

}  // namespace
}  // namespace l2tpvpn::cli
