// cli/ctl: run_ctl as a whole: global options, usage errors, help, the configuration, and one run over a real
// ControlServer.
#include "cli/ctl.hpp"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <thread>

#include "unit/cli/ctl_fixture.hpp"

namespace l2tpvpn::cli {
namespace {

using nlohmann::json;
using namespace l2tpvpn::cli::testing;

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
  auto started = server.start();
  ASSERT_TRUE(started) << (started ? "" : started.error().message);
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

TEST_F(CtlTest, UsageErrorsAreExact) {
  // A command's error: the message, that command's usage line, the pointer to help; nothing on stdout.
  CtlRun r = run({"user", "add", "bob", "--password=topsecret"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err,
            "l2tpvpnctl: user add: passwords are not taken on the command line (ps and shell history would show "
            "them): leave it out to get a generated one, or use --password-stdin\n"
            "usage: l2tpvpnctl user add NAME [--address A] [--password-stdin]\n"
            "(l2tpvpnctl help lists every command)\n");
  EXPECT_TRUE(r.out.empty());
  r = run({"status", "--jsn=secret"});
  EXPECT_EQ(r.err,
            "l2tpvpnctl: status: unknown option --jsn\n"
            "usage: l2tpvpnctl status [--json]\n"
            "(l2tpvpnctl help lists every command)\n");
  r = run({"user", "del"});
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')), "l2tpvpnctl: user del: missing NAME");
  r = run({"disconnect", "1", "2", "3"});
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')), "l2tpvpnctl: disconnect: unexpected argument \"3\"");
  r = run({"user", "list", "--json=yes"});
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')), "l2tpvpnctl: user list: --json takes no value");
  r = run({"client-setup", "--user"});
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')), "l2tpvpnctl: client-setup: --user needs a value");

  // A global error: the message, then the whole usage text.
  r = run_raw({"-c"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(
      r.err.rfind("l2tpvpnctl: -c needs a value\n\nusage: l2tpvpnctl [-c CONFIG] [-s SOCKET] COMMAND [ARGS]\n", 0), 0u)
      << r.err;
  r = run_raw({"--bogus=secret", "status"});
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')), "l2tpvpnctl: unknown option --bogus");
  r = run_raw({});
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')), "l2tpvpnctl: missing command");
  r = run({"frobnicate"});
  EXPECT_EQ(r.err.substr(0, r.err.find('\n')), "l2tpvpnctl: unknown command \"frobnicate\"");
  EXPECT_TRUE(daemon_.requests.empty());
}

TEST_F(CtlTest, EmptyValuesAfterEquals) {
  // --server= is no server (the configuration's public_address then), as --server '' is.
  CtlRun r = run({"client-setup", "--server=", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["server"], "vpn.example.com");
  r = run({"client-setup", "--os="});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(contains(r.err, "client-setup: --os is empty")) << r.err;
  r = run_raw({"--socket=", "status"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(contains(r.err, "--socket needs a value")) << r.err;
}

}  // namespace
}  // namespace l2tpvpn::cli
