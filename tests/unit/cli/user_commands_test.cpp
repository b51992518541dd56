// cli/user_commands: user add/del/list/passwd against a temporary users file and a fake daemon; generated
// passwords.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "unit/cli/ctl_fixture.hpp"

namespace l2tpvpn::cli {
namespace {

using nlohmann::json;
using namespace l2tpvpn::cli::testing;

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

// Concurrent `user add` runs (separate processes, as two admins or scripts would run l2tpvpnctl) each read, change
// and rewrite the users file; the lock makes every one of them see the others' users, so none is lost.
TEST_F(CtlTest, ConcurrentUserAddsLoseNoUser) {
  constexpr int kProcesses = 6, kAddsEach = 8;
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      (void)::read(go[0], &c, 1);  // every process starts at once: returns when the parent closes the pipe
      int failed = 0;
      for (int i = 0; i < kAddsEach; ++i) {
        const std::string name = "u" + std::to_string(p) + "x" + std::to_string(i);
        if (run({"user", "add", name}).rc != 0) ++failed;
      }
      ::_exit(failed);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a user add failed (status " << status << ")";
  }
  auto s = users();
  EXPECT_EQ(s.size(), static_cast<size_t>(kProcesses * kAddsEach)) << "users lost to a concurrent rewrite";
  for (int p = 0; p < kProcesses; ++p)
    for (int i = 0; i < kAddsEach; ++i) {
      const std::string name = "u" + std::to_string(p) + "x" + std::to_string(i);
      EXPECT_NE(s.find(name), nullptr) << name << " was lost";
    }
}

}  // namespace
}  // namespace l2tpvpn::cli
