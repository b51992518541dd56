// cli/daemon_commands: status, sessions and disconnect against a fake daemon.
#include <gtest/gtest.h>

#include "unit/cli/ctl_fixture.hpp"

namespace l2tpvpn::cli {
namespace {

using nlohmann::json;
using namespace l2tpvpn::cli::testing;

TEST_F(CtlTest, DisconnectRequests) {
  ASSERT_EQ(run({"disconnect", "12"}).rc, 0);
  ASSERT_EQ(run({"disconnect", "12", "34"}).rc, 0);
  daemon_.replies["disconnect-user"] = json{{"ok", true}, {"sessions", 3}};
  CtlRun r = run({"disconnect", "--user", "alice"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "disconnected 3 session(s) of user alice\n");
  EXPECT_EQ(daemon_.sent(), (std::vector<json>{json{{"cmd", "disconnect"}, {"tunnel", 12}},
                                               json{{"cmd", "disconnect"}, {"tunnel", 12}, {"session", 34}},
                                               json{{"cmd", "disconnect-user"}, {"user", "alice"}}}));
  daemon_.replies["disconnect"] = json{{"ok", false}, {"error", "no such tunnel"}};
  r = run({"disconnect", "99"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "no such tunnel"));
}

TEST_F(CtlTest, StatusRendersTablesIncludingSessions) {
  daemon_.replies["status"] = json::parse(kSampleStatus);
  CtlRun r = run({"status"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "l2tpvpnd 0.1.0, up 1h02m, L2TP on 0.0.0.0:1701\n"
            "IPsec: charon embedded (pid 812), VICI link ready, required for L2TP, 1 SA(s)\n"
            "PPP: data path kernel, pool 10.99.0.10-10.99.0.250 (1 of 241 in use), pppd running 2, "
            "sessions_started=5, auth_failures=1\n"
            "\n"
            "IPSEC SAS (1)\n"
            "REMOTE        PORT  MARK  NAT-T  IKE SA   CHILD SA  IKE                                               "
            "ESP                       IN    OUT\n"
            "198.51.100.9  4500  3     yes    l2tpvpn  l2tp      AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048  "
            "AES_CBC-256/HMAC_SHA1_96  2.0K  4.0K\n"
            "\n"
            "TUNNELS (1)\n"
            "TUNNEL  PEER TUNNEL  PEER               MARK  HOST    STATE        SESSIONS  RETRANSMISSIONS\n"
            "17      5            198.51.100.9:1701  3     WIN-PC  established  1         4\n"
            "\n"
            "SESSIONS (2)\n"
            "TUNNEL  SESSION  USER   ADDRESS     PEER               MARK  IFACE  PATH    STATE           SINCE       "
            "          IN    OUT   IPSEC\n"
            "17      3        alice  10.99.0.10  198.51.100.9:1701  3     ppp0   kernel  up              "
            "2024-05-01T10:00:00Z  1.5K  3.0M  esp+nat-t\n"
            "17      4        -      -           -                  -     -      -       authenticating  -           "
            "          0B    0B    -\n"
            "\n"
            "dropped: no_sa=7\n");
  EXPECT_EQ(daemon_.sent(), (std::vector<json>{json{{"cmd", "status"}}}));
  r = run({"status", "--json"});
  ASSERT_EQ(r.rc, 0);
  json j = json::parse(r.out);
  EXPECT_FALSE(j.contains("ok"));
  EXPECT_EQ(j["sessions"].size(), 2u);
}

TEST_F(CtlTest, StatusSaysOnStderrWhatItCouldNotRead) {
  json st = json::parse(kSampleStatus);
  st["l2tp"]["tunnels"][0]["state"] = "some-future-state";
  st["ppp"]["pppd_running"] = "two";
  daemon_.replies["status"] = st;
  CtlRun r = run({"status"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "TUNNELS (1)"));
  EXPECT_EQ(r.err,
            "l2tpvpnctl: not shown, as the daemon sent a value this version cannot read: l2tp.tunnels[0].state, "
            "ppp.pppd_running (--json shows the whole answer)\n");
}

TEST_F(CtlTest, SessionsCommand) {
  json st = json::parse(kSampleStatus);
  daemon_.replies["sessions"] = json{{"ok", true}, {"sessions", st["sessions"]}};
  CtlRun r = run({"sessions"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "alice  10.99.0.10"));
  EXPECT_FALSE(contains(r.out, "TUNNELS"));
  EXPECT_EQ(daemon_.sent(), (std::vector<json>{json{{"cmd", "sessions"}}}));
  r = run({"sessions", "--json"});
  EXPECT_EQ(json::parse(r.out)["sessions"], st["sessions"]);
}

}  // namespace
}  // namespace l2tpvpn::cli
