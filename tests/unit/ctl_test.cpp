#include "server/ctl.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "ppp/user_store.hpp"

namespace l2tpvpn {
namespace {

using nlohmann::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Records every request; answers from `replies` by command ({"ok": true} when none is set), or reports the
// daemon as not running.
struct FakeDaemon {
  bool running = true;
  std::vector<std::pair<std::string, json>> requests;  // (socket, request)
  std::map<std::string, json> replies;

  ControlReply operator()(const std::string& socket, const json& request) {
    requests.emplace_back(socket, request);
    if (!running) return ControlReply{ControlFailure::kNotRunning, json(), "cannot connect to " + socket};
    auto it = replies.find(request.value("cmd", ""));
    return ControlReply{ControlFailure::kNone, it == replies.end() ? json{{"ok", true}} : it->second, {}};
  }
  std::vector<json> sent() const {
    std::vector<json> out;
    for (const auto& [s, r] : requests) out.push_back(r);
    return out;
  }
};

struct CtlRun {
  int rc;
  std::string out, err;
};

class CtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-ctl-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    users_ = dir_ + "/users";
    socket_ = dir_ + "/control.sock";
    write_config("[ipsec]\npsk = sup3r-s3cret-psk\n[server]\npublic_address = vpn.example.com\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_config(const std::string& extra) {
    config_ = dir_ + "/l2tpvpnd.conf";
    std::ofstream f(config_);
    f << "[control]\nsocket = " << socket_ << "\n[users]\nfile = " << users_ << "\n" << extra;
  }

  CtlRun run(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"-c", config_});
    return run_raw(args, stdin_text);
  }
  CtlRun run_raw(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::ostringstream out, err;
    std::istringstream in(stdin_text);
    CtlEnv env{out,
               err,
               in,
               [this](const std::string& s, const json& r) { return daemon_(s, r); },
               [this](std::span<uint8_t> b) {
                 for (auto& x : b) x = static_cast<uint8_t>(rng_());
                 return true;
               },
               [this] { return route_; }};
    int rc = run_ctl(args, env);
    return CtlRun{rc, out.str(), err.str()};
  }

  ppp::UserStore users() {
    auto s = ppp::UserStore::load(users_);
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? *s : ppp::UserStore{};
  }

  // The password printed on the "password: " line of `out`.
  static std::string printed_password(const std::string& out) {
    auto p = out.find("password: ");
    if (p == std::string::npos) return {};
    p += 10;
    return out.substr(p, out.find('\n', p) - p);
  }

  std::string dir_, users_, socket_, config_;
  FakeDaemon daemon_;
  std::mt19937 rng_{42};
  std::optional<std::string> route_ = "203.0.113.7";
};

// ---- users ----

TEST_F(CtlTest, UserAddGeneratesAStrongPasswordSavesPrivatelyAndReloads) {
  CtlRun r = run({"user", "add", "alice"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string pw = printed_password(r.out);
  EXPECT_EQ(pw.size(), kGeneratedPasswordLength);
  EXPECT_TRUE(ppp::validate_password(pw));
  EXPECT_TRUE(contains(r.out, "user alice added"));
  EXPECT_FALSE(contains(r.err, pw)) << "the password goes to stdout only";
  struct stat st {};
  ASSERT_EQ(::stat(users_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto s = users();
  ASSERT_NE(s.find("alice"), nullptr);
  EXPECT_EQ(s.find("alice")->password, pw);
  EXPECT_EQ(daemon_.sent(), (std::vector<json>{json{{"cmd", "users-reload"}}}));
  EXPECT_EQ(daemon_.requests[0].first, socket_) << "socket from the configuration";
}

TEST_F(CtlTest, GeneratedPasswordsDifferAndUseTheAlphabet) {
  std::mt19937 rng(7);
  auto random = [&](std::span<uint8_t> b) {
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return true;
  };
  auto a = generate_password(random), b = generate_password(random);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  for (char c : *a + *b) EXPECT_EQ(std::string("0O1lIo").find(c), std::string::npos) << c;
  // All bytes above the unbiased limit are skipped; a failing source gives no password.
  auto high = [](std::span<uint8_t> s) {
    for (auto& x : s) x = 0xff;
    return true;
  };
  EXPECT_FALSE(generate_password(high));
  EXPECT_FALSE(generate_password([](std::span<uint8_t>) { return false; }));
}

TEST_F(CtlTest, UserAddTwiceIsAnErrorAndKeepsThePassword) {
  ASSERT_EQ(run({"user", "add", "alice"}).rc, 0);
  std::string before = users().find("alice")->password;
  CtlRun r = run({"user", "add", "alice"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "alice exists"));
  EXPECT_EQ(users().find("alice")->password, before);
}

TEST_F(CtlTest, UserAddPasswordFromStdinWithAddress) {
  CtlRun r = run({"user", "add", "bob", "--address", "10.99.0.50", "--password-stdin"}, "hunter2-x\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(contains(r.out, "hunter2-x"));
  EXPECT_FALSE(contains(r.out, "password:"));
  auto s = users();
  EXPECT_EQ(s.find("bob")->password, "hunter2-x");
  EXPECT_EQ(s.find("bob")->address, ppp::parse_ipv4("10.99.0.50"));
}

TEST_F(CtlTest, UserAddRefusesBadInputWithoutEchoingSecrets) {
  CtlRun r = run({"user", "add", "bob", "--password-stdin"}, "has space\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_FALSE(contains(r.err, "has space"));
  r = run({"user", "add", "bob", "--password-stdin"}, "");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "no password on stdin"));
  // Never from argv, in either spelling; the value is not echoed.
  for (auto args : {std::vector<std::string>{"user", "add", "bob", "--password", "topsecret"},
                    std::vector<std::string>{"user", "add", "bob", "--password=topsecret"}}) {
    r = run(args);
    EXPECT_EQ(r.rc, 2);
    EXPECT_TRUE(contains(r.err, "not taken on the command line"));
    EXPECT_FALSE(contains(r.err, "topsecret"));
  }
  // The pool refuses the server's own address as a reservation.
  r = run({"user", "add", "bob", "--address", "10.99.0.1"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "--address 10.99.0.1"));
  r = run({"user", "add", "bob", "--address", "10.99.0"});
  EXPECT_EQ(r.rc, 2);
  r = run({"user", "add", "b\"ob"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_FALSE(std::filesystem::exists(users_)) << "nothing saved";
  EXPECT_TRUE(daemon_.requests.empty());
}

TEST_F(CtlTest, UserListShowsNamesAndAddressesNeverPasswords) {
  ASSERT_EQ(run({"user", "add", "carol"}).rc, 0);
  ASSERT_EQ(run({"user", "add", "bob", "--address", "10.99.0.60", "--password-stdin"}, "pw-bob-123\n").rc, 0);
  std::string carol_pw = users().find("carol")->password;
  CtlRun r = run({"user", "list"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "USER   STATIC ADDRESS\n"
            "bob    10.99.0.60\n"
            "carol  -\n");
  r = run({"user", "list", "--json"});
  ASSERT_EQ(r.rc, 0);
  json j = json::parse(r.out);
  EXPECT_EQ(j, json::parse(R"({"users":[{"name":"bob","address":"10.99.0.60"},{"name":"carol","address":null}]})"));
  EXPECT_FALSE(contains(r.out, carol_pw));
  EXPECT_FALSE(contains(r.out, "pw-bob-123"));
}

TEST_F(CtlTest, UserListOfNoFile) {
  CtlRun r = run({"user", "list"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(contains(r.out, "no users in " + users_));
}

TEST_F(CtlTest, UserPasswdGeneratesOrReads) {
  ASSERT_EQ(run({"user", "add", "alice"}).rc, 0);
  std::string first = users().find("alice")->password;
  CtlRun r = run({"user", "passwd", "alice"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string second = printed_password(r.out);
  EXPECT_NE(second, first);
  EXPECT_EQ(users().find("alice")->password, second);
  r = run({"user", "passwd", "alice", "--password-stdin"}, "chosen-pw-1\r\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(users().find("alice")->password, "chosen-pw-1");
  r = run({"user", "passwd", "nobody"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "no user nobody"));
  EXPECT_EQ(daemon_.sent().size(), 3u) << "one reload per change";
}

TEST_F(CtlTest, UserDelReloadsAndWithDisconnectEndsSessions) {
  ASSERT_EQ(run({"user", "add", "alice"}).rc, 0);
  ASSERT_EQ(run({"user", "add", "bob"}).rc, 0);
  daemon_.requests.clear();
  CtlRun r = run({"user", "del", "alice"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(users().find("alice"), nullptr);
  EXPECT_NE(users().find("bob"), nullptr);
  EXPECT_EQ(daemon_.sent(), (std::vector<json>{json{{"cmd", "users-reload"}}}));
  EXPECT_TRUE(contains(r.err, "disconnect --user alice"));

  daemon_.requests.clear();
  daemon_.replies["disconnect-user"] = json{{"ok", true}, {"sessions", 2}};
  r = run({"user", "del", "bob", "--disconnect"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(daemon_.sent(),
            (std::vector<json>{json{{"cmd", "users-reload"}}, json{{"cmd", "disconnect-user"}, {"user", "bob"}}}));
  EXPECT_TRUE(contains(r.out, "disconnected 2 session(s) of user bob"));

  r = run({"user", "del", "bob"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "no user bob"));
}

TEST_F(CtlTest, DaemonNotRunningIsANoteNotAnError) {
  daemon_.running = false;
  CtlRun r = run({"user", "add", "alice"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(contains(r.err, "l2tpvpnd is not running"));
  EXPECT_TRUE(contains(r.err, "when it starts"));
  EXPECT_NE(users().find("alice"), nullptr);
  r = run({"user", "del", "alice", "--disconnect"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(daemon_.sent().back(), (json{{"cmd", "users-reload"}})) << "no disconnect without a daemon";
  // But commands that need the daemon fail.
  r = run({"status"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "not running"));
}

TEST_F(CtlTest, DaemonRefusingTheReloadIsAnError) {
  daemon_.replies["users-reload"] = json{{"ok", false}, {"error", "pool: reservation clash"}};
  CtlRun r = run({"user", "add", "alice"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "did not reload it: pool: reservation clash"));
  EXPECT_FALSE(printed_password(r.out).empty()) << "saved, so the password must still be shown";
}

TEST_F(CtlTest, UnreadableUsersFileIsAnError) {
  {
    std::ofstream f(users_);
    f << "alice password=x\n";
  }
  ::chmod(users_.c_str(), 0644);  // group/others may read: refused by the store
  CtlRun r = run({"user", "list"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, users_));
}

// ---- disconnect, status, sessions ----

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

TEST_F(CtlTest, BadArgumentsPrintUsageAndExit2) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"status", "--jsn"},
      {"status", "extra"},
      {"disconnect"},
      {"disconnect", "0"},
      {"disconnect", "65536"},
      {"disconnect", "12abc"},
      {"disconnect", "-5"},
      {"disconnect", "1", "2", "3"},
      {"disconnect", "1", "--user", "alice"},
      {"disconnect", "--user"},
      {"user"},
      {"user", "rename", "a"},
      {"user", "add"},
      {"user", "add", "a", "b"},
      {"user", "del"},
      {"user", "list", "--json=yes"},
      {"user", "passwd"},
      {"client-setup", "--os", "beos"},
      {"client-setup", "--show-password"},
      {"client-setup", "--user"},
  };
  for (const auto& args : cases) {
    CtlRun r = run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.rc, 2) << joined;
    EXPECT_TRUE(contains(r.err, "usage: l2tpvpnctl")) << joined << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << joined;
  }
  EXPECT_TRUE(daemon_.requests.empty());
  EXPECT_EQ(run_raw({"--bogus", "status"}).rc, 2);
  EXPECT_EQ(run_raw({"-c"}).rc, 2);
  CtlRun help = run_raw({"help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_TRUE(contains(help.out, "client-setup"));
  EXPECT_EQ(run_raw({"--help"}).rc, 0);
}

TEST_F(CtlTest, ConfigErrorsNameFileLineKeyAndMissingDefaultsAreFine) {
  write_config("[pool]\nrange = banana\n");
  CtlRun r = run({"user", "list"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, config_ + ":")) << r.err;
  EXPECT_TRUE(contains(r.err, "pool.range")) << r.err;
  // An explicitly named file must exist.
  r = run_raw({"-c", dir_ + "/missing.conf", "user", "list"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "missing.conf"));
}

TEST_F(CtlTest, SocketOptionOverridesTheConfiguration) {
  ASSERT_EQ(run_raw({"-c", config_, "-s", "/x/other.sock", "disconnect", "5"}).rc, 0);
  ASSERT_EQ(run_raw({"-c", config_, "--socket=/x/third.sock", "disconnect", "5"}).rc, 0);
  ASSERT_EQ(daemon_.requests.size(), 2u);
  EXPECT_EQ(daemon_.requests[0].first, "/x/other.sock");
  EXPECT_EQ(daemon_.requests[1].first, "/x/third.sock");
}

const char* kSampleStatus = R"({
  "ok": true,
  "server": {"version": "0.1.0", "uptime_s": 3725, "l2tp_listen": "0.0.0.0:1701"},
  "ipsec": {"required": true, "charon": "embedded", "vici_socket": "/run/l2tpvpn/charon.vici", "link": "ready",
            "charon_pid": 812, "future": {"x": 1},
            "sas": [{"remote": "198.51.100.9", "remote_port": 4500, "nat": true, "ike_sa": "l2tpvpn", "child_sa": "l2tp",
                     "ike_proposal": "AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048",
                     "esp_proposal": "AES_CBC-256/HMAC_SHA1_96", "bytes_in": 2048, "bytes_out": 4096}]},
  "ppp": {"data_path": "kernel", "pool": {"range": "10.99.0.10-10.99.0.250", "server_address": "10.99.0.1",
          "capacity": 241, "in_use": 1}, "pppd_running": 2,
          "counters": {"sessions_started": 5, "auth_failures": 1, "hdlc_bad_fcs": 0}},
  "l2tp": {
    "tunnels": [{"id": 17, "peer_id": 5, "peer": "198.51.100.9:1701", "peer_host_name": "WIN-PC", "state": "established",
                 "sessions": [{"id": 3, "peer_id": 1, "state": "established"}], "control": {"retransmissions": 4}}],
    "drops": {"no_sa": 7}
  },
  "sessions": [
    {"tunnel": 17, "session": 3, "peer_tunnel": 5, "peer_session": 1, "peer": "198.51.100.9:1701", "user": "alice",
     "address": "10.99.0.10", "interface": "ppp0", "data_path": "kernel", "state": "up",
     "since": "2024-05-01T10:00:00Z", "pppd_pid": 1234, "bytes_in": 1536, "bytes_out": 3145728,
     "packets_in": 10, "packets_out": 20,
     "ipsec": {"nat": true, "remote_port": 4500, "ike_proposal": "AES_CBC-256/HMAC_SHA1_96/MODP_2048",
               "esp_proposal": "AES_CBC-256/HMAC_SHA1_96"}},
    {"tunnel": 17, "session": 4, "user": null, "state": "authenticating", "ipsec": null}
  ]
})";

TEST_F(CtlTest, StatusRendersTablesIncludingSessions) {
  daemon_.replies["status"] = json::parse(kSampleStatus);
  CtlRun r = run({"status"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "l2tpvpnd 0.1.0, up 1h02m, L2TP on 0.0.0.0:1701\n"
            "IPsec: charon embedded (pid 812), VICI link ready, required for L2TP, future.x=1, 1 SA(s)\n"
            "PPP: data path kernel, pool 10.99.0.10-10.99.0.250 (1 of 241 in use), pppd running 2, "
            "auth_failures=1, sessions_started=5\n"
            "\n"
            "IPSEC SAS (1)\n"
            "REMOTE        PORT  NAT-T  IKE SA   CHILD SA  IKE                                               ESP     "
            "                  IN    OUT\n"
            "198.51.100.9  4500  yes    l2tpvpn  l2tp      AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048  "
            "AES_CBC-256/HMAC_SHA1_96  2.0K  4.0K\n"
            "\n"
            "TUNNELS (1)\n"
            "TUNNEL  PEER TUNNEL  PEER               HOST    STATE        SESSIONS  RETRANSMISSIONS\n"
            "17      5            198.51.100.9:1701  WIN-PC  established  1         4\n"
            "\n"
            "SESSIONS (2)\n"
            "TUNNEL  SESSION  USER   ADDRESS     PEER               IFACE  PATH    STATE           SINCE       "
            "          IN    OUT   IPSEC\n"
            "17      3        alice  10.99.0.10  198.51.100.9:1701  ppp0   kernel  up              "
            "2024-05-01T10:00:00Z  1.5K  3.0M  esp+nat-t\n"
            "17      4        -      -           -                  -      -       authenticating  -           "
            "          -     -     -\n"
            "\n"
            "dropped: no_sa=7\n");
  EXPECT_EQ(daemon_.sent(), (std::vector<json>{json{{"cmd", "status"}}}));
  r = run({"status", "--json"});
  ASSERT_EQ(r.rc, 0);
  json j = json::parse(r.out);
  EXPECT_FALSE(j.contains("ok"));
  EXPECT_EQ(j["sessions"].size(), 2u);
}

TEST_F(CtlTest, StatusOfAnOlderDaemonAndOfGarbage) {
  // No "sessions" and no "ipsec": the sessions come from the tunnels.
  json s = json::parse(kSampleStatus);
  s.erase("sessions");
  s.erase("ipsec");
  s.erase("ppp");
  std::string text = render_status(s);
  EXPECT_FALSE(contains(text, "IPsec"));
  EXPECT_TRUE(contains(text, "SESSIONS (1)"));
  EXPECT_TRUE(contains(text, "17      3        -"));
  // Wrong types everywhere never throw.
  for (const char* g : {R"({})", R"([])", R"({"server":5,"l2tp":{"tunnels":{"a":1}},"sessions":[1,"x",{}]})",
                        R"({"ipsec":[1],"l2tp":{"tunnels":[5,{"sessions":7}],"drops":[]}})"}) {
    EXPECT_NO_THROW(render_status(json::parse(g))) << g;
  }
  EXPECT_EQ(render_sessions(json::array()), "no sessions\n");
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

// ---- client-setup ----

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

TEST_F(CtlTest, StaleSocketMeansNotRunning) {
  // A socket file nobody listens on (the daemon was killed): ECONNREFUSED, reported as not running.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  ControlReply r = control_call(socket_, json{{"cmd", "status"}});
  EXPECT_EQ(r.failure, ControlFailure::kNotRunning) << r.error;
  EXPECT_TRUE(contains(r.error, socket_));
  EXPECT_EQ(control_call(std::string(200, 'x'), json{{"cmd", "status"}}).failure, ControlFailure::kTransport);
  std::ostringstream out, err;
  std::istringstream in;
  CtlEnv env = make_default_ctl_env(out, err, in);
  EXPECT_EQ(run_ctl({"-c", config_, "-s", std::string(200, 'x'), "status"}, env), 1);
  EXPECT_TRUE(contains(err.str(), "too long"));
}

TEST(PowershellQuote, DoublesSingleQuotes) {
  EXPECT_EQ(powershell_quote("a'b"), "'a''b'");
  EXPECT_EQ(powershell_quote("$x `y"), "'$x `y'");
}

// ---- through a real ControlServer ----

TEST_F(CtlTest, ThroughTheRealControlSocket) {
  boost::asio::io_context io;
  ControlServer server(io, socket_);
  std::vector<json> seen;
  server.handle("users-reload", [&](const json& r) {
    seen.push_back(r);
    return json{{"ok", true}};
  });
  server.handle("disconnect-user", [&](const json& r) {
    seen.push_back(r);
    return json{{"ok", true}, {"sessions", 1}};
  });
  std::string err;
  ASSERT_TRUE(server.start(err)) << err;
  std::thread t([&] { io.run(); });

  std::ostringstream out, errs;
  std::istringstream in;
  CtlEnv env = make_default_ctl_env(out, errs, in);  // the real control_call and RAND_bytes
  int rc = run_ctl({"-c", config_, "user", "add", "dave"}, env);
  EXPECT_EQ(rc, 0) << errs.str();
  rc = run_ctl({"-c", config_, "user", "del", "dave", "--disconnect"}, env);
  EXPECT_EQ(rc, 0) << errs.str();
  EXPECT_TRUE(contains(out.str(), "disconnected 1 session(s) of user dave"));

  boost::asio::post(io, [&] {
    server.stop();
    io.stop();
  });
  t.join();
  EXPECT_EQ(seen, (std::vector<json>{json{{"cmd", "users-reload"}}, json{{"cmd", "users-reload"}},
                                     json{{"cmd", "disconnect-user"}, {"user", "dave"}}}));
  // Socket gone: not running, a note.
  std::ostringstream out2, err2;
  CtlEnv env2 = make_default_ctl_env(out2, err2, in);
  EXPECT_EQ(run_ctl({"-c", config_, "user", "add", "erin"}, env2), 0);
  EXPECT_TRUE(contains(err2.str(), "not running"));
  EXPECT_EQ(control_call(socket_, json{{"cmd", "x"}}).failure, ControlFailure::kNotRunning);
}

}  // namespace
}  // namespace l2tpvpn
