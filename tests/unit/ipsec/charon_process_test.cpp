// The embedded charon: the strongswan.conf renderer, option validation, the restart back-off (pure), and
// EmbeddedCharon's process handling against fake charons (shell scripts named "charon" in a temporary
// directory; the real one is exercised by tests/charon and tests/uml).
#include "ipsec/charon_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace l2tpvpn::ipsec {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string render(const EmbeddedCharonOptions& o) {
  auto r = render_strongswan_conf(o);
  EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
  return r ? *r : std::string();
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    const auto b = l.find_first_not_of(' ');
    if (b != std::string::npos && l.substr(b) == line) return true;
  }
  return false;
}

TEST(CharonConf, DefaultsRenderTheDesignedFile) {
  const std::string conf = render({});
  EXPECT_TRUE(has_line(conf, "load_modular = no"));
  EXPECT_TRUE(has_line(conf, "load = nonce pem x509 constraints openssl kernel-netlink socket-default vici"));
  EXPECT_TRUE(has_line(conf, "port = 500"));
  EXPECT_TRUE(has_line(conf, "port_nat_t = 4500"));
  EXPECT_TRUE(has_line(conf, "install_routes = no"));
  EXPECT_TRUE(has_line(conf, "install_virtual_ip = no"));
  EXPECT_TRUE(has_line(conf, "routing_table = 0"));
  EXPECT_TRUE(has_line(conf, "retransmit_tries = 4"));
  EXPECT_TRUE(has_line(conf, "retransmit_timeout = 4"));
  EXPECT_TRUE(has_line(conf, "retransmit_base = 1.8"));
  EXPECT_TRUE(has_line(conf, "retransmit_limit = 60"));
  EXPECT_TRUE(has_line(conf, "keep_alive = 20s"));
  EXPECT_TRUE(has_line(conf, "half_open_timeout = 30"));
  EXPECT_TRUE(has_line(conf, "socket = unix:///run/l2tpvpn/charon.vici"));
  EXPECT_TRUE(has_line(conf, "default = 1"));
  EXPECT_EQ(conf.find("syslog"), std::string::npos);  // the log goes to stderr only
  EXPECT_TRUE(has_line(conf, "flush_line = yes"));
  EXPECT_EQ(conf.find("time_format"), std::string::npos);  // the journal has the time
  // Nothing that would pull in the host's configuration or plugins.
  EXPECT_EQ(conf.find("include"), std::string::npos);
  EXPECT_EQ(conf.find("updown"), std::string::npos);
  EXPECT_EQ(conf.find("${"), std::string::npos);
}

TEST(CharonConf, BracesBalanceAndSectionsNest) {
  const std::string conf = render({});
  int depth = 0, max_depth = 0;
  for (char c : conf) {
    if (c == '{') max_depth = std::max(max_depth, ++depth);
    if (c == '}') {
      ASSERT_GE(--depth, 0);
    }
  }
  EXPECT_EQ(depth, 0);
  EXPECT_EQ(max_depth, 3);  // charon { plugins { vici { } } }, charon { filelog { stderr { } } }
  // After the comment lines, one top-level section: charon.
  std::istringstream in(conf);
  std::string first;
  while (std::getline(in, first) && first.rfind("#", 0) == 0) {
  }
  EXPECT_EQ(first, "charon {");
  // The vici socket sits in charon.plugins.vici, the log in charon.filelog.stderr.
  const auto plugins = conf.find("  plugins {\n    vici {\n      socket = unix://");
  const auto filelog = conf.find("  filelog {\n    stderr {\n      default = ");
  EXPECT_NE(plugins, std::string::npos) << conf;
  EXPECT_NE(filelog, std::string::npos) << conf;
}

TEST(CharonConf, OptionsReachTheFile) {
  EmbeddedCharonOptions o;
  o.vici_socket = "/tmp/x/test.vici";
  o.port = 0;
  o.port_nat_t = 0;
  o.log_level = 2;
  o.log_subsystems = {{"ike", 3}, {"knl", -1}};
  o.log_timestamps = true;
  o.extra_plugins = {"revocation", "vici", "curl"};  // vici is already there: not twice
  o.retransmit_tries = 2;
  o.retransmit_timeout = 2500ms;
  o.retransmit_base = 1.5;
  o.retransmit_limit = 10s;
  o.keep_alive = 5s;
  o.half_open_timeout = 12s;
  const std::string conf = render(o);
  EXPECT_TRUE(has_line(conf, "port = 0"));
  EXPECT_TRUE(has_line(conf, "port_nat_t = 0"));
  EXPECT_TRUE(has_line(conf, "socket = unix:///tmp/x/test.vici"));
  EXPECT_TRUE(has_line(conf, "default = 2"));
  EXPECT_TRUE(has_line(conf, "ike = 3"));
  EXPECT_TRUE(has_line(conf, "knl = -1"));
  EXPECT_TRUE(has_line(conf, "time_format = %T"));
  EXPECT_TRUE(has_line(conf, "time_add_ms = yes"));
  EXPECT_TRUE(
      has_line(conf, "load = nonce pem x509 constraints openssl kernel-netlink socket-default vici revocation curl"));
  EXPECT_TRUE(has_line(conf, "retransmit_tries = 2"));
  EXPECT_TRUE(has_line(conf, "retransmit_timeout = 2.5"));
  EXPECT_TRUE(has_line(conf, "retransmit_base = 1.5"));
  EXPECT_TRUE(has_line(conf, "retransmit_limit = 10"));
  EXPECT_TRUE(has_line(conf, "keep_alive = 5s"));
  EXPECT_TRUE(has_line(conf, "half_open_timeout = 12"));
  o.retransmit_timeout = 125ms;
  EXPECT_TRUE(has_line(render(o), "retransmit_timeout = 0.125"));
}

TEST(CharonConf, PluginListIsTheDocumentedMinimum) {
  EXPECT_EQ(charon_plugins({}), (std::vector<std::string>{"nonce", "pem", "x509", "constraints", "openssl",
                                                          "kernel-netlink", "socket-default", "vici"}));
}

struct BadOption {
  const char* name;
  void (*mutate)(EmbeddedCharonOptions&);
  const char* field;
};

TEST(CharonConf, InvalidOptionsNameTheField) {
  const BadOption cases[] = {
      {"relative charon", [](auto& o) { o.charon_path = "charon"; }, "charon_path"},
      {"empty runtime dir", [](auto& o) { o.runtime_dir = ""; }, "runtime_dir"},
      {"space in socket", [](auto& o) { o.vici_socket = "/run/my socket"; }, "vici_socket"},
      {"brace in socket", [](auto& o) { o.vici_socket = "/run/x}"; }, "vici_socket"},
      {"comment in socket", [](auto& o) { o.vici_socket = "/run/x#y"; }, "vici_socket"},
      {"reference in socket", [](auto& o) { o.vici_socket = "/run/${x}"; }, "vici_socket"},
      {"newline in runtime dir", [](auto& o) { o.runtime_dir = "/run/a\nb"; }, "runtime_dir"},
      {"socket too long", [](auto& o) { o.vici_socket = "/" + std::string(107, 'a'); }, "vici_socket"},
      {"same ports", [](auto& o) { o.port_nat_t = o.port; }, "port_nat_t"},
      {"log level", [](auto& o) { o.log_level = 5; }, "log_level"},
      {"unknown subsystem",
       [](auto& o) {
         o.log_subsystems = {{"xyz", 1}};
       },
       "log_subsystems"},
      {"subsystem level",
       [](auto& o) {
         o.log_subsystems = {{"ike", -2}};
       },
       "log_subsystems"},
      {"plugin name", [](auto& o) { o.extra_plugins = {"curl vici"}; }, "extra_plugins"},
      {"no retransmissions", [](auto& o) { o.retransmit_tries = 0; }, "retransmit_tries"},
      {"tiny timeout", [](auto& o) { o.retransmit_timeout = 10ms; }, "retransmit_timeout"},
      {"base", [](auto& o) { o.retransmit_base = 0.5; }, "retransmit_base"},
      {"keep alive", [](auto& o) { o.keep_alive = 0s; }, "keep_alive"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EmbeddedCharonOptions o;
    c.mutate(o);
    auto r = render_strongswan_conf(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, CharonError::Kind::kInvalidOptions);
    EXPECT_EQ(r.error().field, c.field);
  }
  EmbeddedCharonOptions ok;
  ok.vici_socket = "/" + std::string(106, 'a');  // 107 bytes: the longest sun_path holds
  ok.port = 0;
  ok.port_nat_t = 0;  // both "any free port" is fine
  EXPECT_TRUE(validate(ok));
}

TEST(CharonPidFile, ParsesOnlyAPid) {
  EXPECT_EQ(parse_pid_file("1234\n"), 1234);
  EXPECT_EQ(parse_pid_file("7"), 7);
  EXPECT_EQ(parse_pid_file(""), std::nullopt);
  EXPECT_EQ(parse_pid_file("\n"), std::nullopt);
  EXPECT_EQ(parse_pid_file("0\n"), std::nullopt);
  EXPECT_EQ(parse_pid_file("-5\n"), std::nullopt);
  EXPECT_EQ(parse_pid_file("12ab\n"), std::nullopt);
  EXPECT_EQ(parse_pid_file("99999999999999\n"), std::nullopt);
}

TEST(CharonExitText, SaysHowItEnded) {
  EXPECT_EQ((CharonExit{0, 0}).to_string(), "exit 0");
  EXPECT_EQ((CharonExit{-1, SIGKILL}).to_string().rfind("signal 9 (", 0), 0u);
}

TEST(RestartBackoff, DoublesForQuickExitsAndResetsAfterAStableRun) {
  using C = RestartBackoff::Clock;
  RestartBackoff b(RestartPolicy{1000ms, 8000ms, 60000ms});
  C::time_point t{};
  b.on_started(t);
  EXPECT_EQ(b.on_exited(t + 2s), t + 3s);  // first restart after `initial`
  b.on_started(t + 3s);
  EXPECT_EQ(b.on_exited(t + 4s), t + 6s);  // then 2 s, 4 s, 8 s, 8 s
  b.on_started(t + 6s);
  EXPECT_EQ(b.on_exited(t + 6s), t + 10s);
  b.on_started(t + 10s);
  EXPECT_EQ(b.on_exited(t + 10s), t + 18s);
  b.on_started(t + 18s);
  EXPECT_EQ(b.on_exited(t + 18s), t + 26s);
  EXPECT_EQ(b.quick_exits(), 5u);
  // A run of `stable` or more: back to `initial`.
  b.on_started(t + 26s);
  EXPECT_EQ(b.on_exited(t + 86s), t + 87s);
  EXPECT_EQ(b.quick_exits(), 0u);
  EXPECT_EQ(b.next_delay(), 2000ms);
  // An exit without a recorded start (the spawn itself failed) counts as quick.
  EXPECT_EQ(b.on_exited(t + 100s), t + 102s);
  EXPECT_EQ(b.quick_exits(), 1u);
}

// ---- EmbeddedCharon with fake charons

class FakeCharonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/l2tpvpn-fakecharon-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    opts_.charon_path = dir_ + "/bin/charon";
    opts_.runtime_dir = dir_ + "/run/l2tpvpn";
    opts_.vici_socket = dir_ + "/run/l2tpvpn/charon.vici";
    opts_.pid_file = dir_ + "/charon.pid";
    opts_.stderr_fd = -1;
    fs::create_directories(dir_ + "/bin");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A "charon" that records its environment, writes the pid file like charon does, and runs `body`.
  void write_fake(const std::string& body) {
    std::ofstream f(opts_.charon_path);
    f << "#!/bin/sh\nenv > " << dir_ << "/env\necho $$ > " << opts_.pid_file << "\n" << body << "\n";
    f.close();
    fs::permissions(opts_.charon_path, fs::perms::owner_all);
  }
  std::string file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool wait_file(const std::string& path) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!fs::exists(path) || fs::file_size(path) == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  std::string dir_;
  EmbeddedCharonOptions opts_;
};

TEST_F(FakeCharonTest, StartWritesAPrivateConfAndPassesOnlyItsPath) {
  write_fake("exec sleep 30");
  EmbeddedCharon c(opts_);
  ASSERT_TRUE(c.start());
  EXPECT_TRUE(c.running());
  EXPECT_GT(c.pid(), 0);
  EXPECT_EQ(c.config_path(), opts_.runtime_dir + "/charon.conf");
  struct stat st {};
  ASSERT_EQ(::stat(c.config_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(opts_.runtime_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(file(c.config_path()), *render_strongswan_conf(opts_));
  ASSERT_TRUE(wait_file(dir_ + "/env"));
  const std::string env = file(dir_ + "/env");
  EXPECT_NE(env.find("STRONGSWAN_CONF=" + c.config_path() + "\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("HOME="), std::string::npos) << "the environment is explicit";
  // Its own process group, so stop() reaches everything it starts.
  EXPECT_EQ(::getpgid(c.pid()), c.pid());
  EXPECT_FALSE(c.poll());

  auto again = c.start();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, CharonError::Kind::kRunning);

  const pid_t pid = c.pid();
  auto exit = c.stop(5s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->signal, SIGTERM);
  EXPECT_FALSE(c.running());
  EXPECT_NE(::kill(pid, 0), 0) << "reaped";
  EXPECT_FALSE(c.stop());  // nothing to stop
}

TEST_F(FakeCharonTest, StopKillsACharonThatIgnoresSigterm) {
  write_fake("trap '' TERM\necho ready > " + dir_ + "/trapped\nwhile :; do sleep 1; done");
  EmbeddedCharon c(opts_);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(wait_file(dir_ + "/trapped"));  // SIGTERM is ignored from here on
  const auto t0 = std::chrono::steady_clock::now();
  auto exit = c.stop(300ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(fs::exists(opts_.pid_file)) << "a killed charon's pid file is removed";
  EXPECT_FALSE(fs::exists(opts_.vici_socket));
}

TEST_F(FakeCharonTest, PollReportsTheExitOnceAndItCanBeRestarted) {
  write_fake("exit 3");
  EmbeddedCharon c(opts_);
  ASSERT_TRUE(c.start());
  std::optional<CharonExit> exit;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!exit && std::chrono::steady_clock::now() < deadline) {
    exit = c.poll();
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(exit);
  EXPECT_EQ(*exit, (CharonExit{3, 0}));
  EXPECT_FALSE(c.running());
  EXPECT_FALSE(c.poll());
  write_fake("exec sleep 30");
  ASSERT_TRUE(c.start());
  EXPECT_EQ(c.starts(), 2u);
  EXPECT_TRUE(c.stop(5s));
}

TEST_F(FakeCharonTest, ALiveCharonNamedInThePidFileIsReportedNotFoughtWith) {
  // A script stays a shell whose comm is its file name, "charon": to start() it is another live charon.
  write_fake("while :; do sleep 1; done");
  EmbeddedCharonOptions other = opts_;
  other.runtime_dir = dir_ + "/run/other";
  EmbeddedCharon running(other);
  ASSERT_TRUE(running.start());
  ASSERT_TRUE(wait_file(opts_.pid_file));
  ASSERT_EQ(parse_pid_file(file(opts_.pid_file)), running.pid());

  EmbeddedCharon second(opts_);
  auto st = second.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, CharonError::Kind::kAlreadyRunning);
  EXPECT_EQ(st.error().pid, running.pid());
  EXPECT_NE(st.error().to_string().find("does not answer on " + opts_.vici_socket), std::string::npos);
  EXPECT_FALSE(second.running());
  EXPECT_TRUE(fs::exists(opts_.pid_file)) << "another charon's pid file is left alone";
  EXPECT_TRUE(running.stop(5s));
}

TEST_F(FakeCharonTest, AStalePidFileNamingAnotherProgramIsRemoved) {
  write_fake("exec sleep 30");
  {
    std::ofstream pid(opts_.pid_file);
    pid << ::getpid() << "\n";  // alive, but the test binary, not a charon
  }
  EmbeddedCharon c(opts_);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(wait_file(opts_.pid_file));
  EXPECT_TRUE(c.stop(5s));
}

TEST_F(FakeCharonTest, SpawnFailuresAreTyped) {
  EmbeddedCharon missing(opts_);  // no fake written
  auto st = missing.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, CharonError::Kind::kSpawn);
  EXPECT_FALSE(missing.running());

  std::ofstream(dir_ + "/notadir") << "x";
  EmbeddedCharonOptions o = opts_;
  o.runtime_dir = dir_ + "/notadir";
  write_fake("exit 0");
  EmbeddedCharon bad_dir(o);
  st = bad_dir.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, CharonError::Kind::kRuntimeDir);

  o = opts_;
  o.port_nat_t = o.port;
  EmbeddedCharon bad_opts(o);
  st = bad_opts.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, CharonError::Kind::kInvalidOptions);
}

TEST(UnixSocketAnswers, OnlyWhenSomethingListens) {
  char tmpl[] = "/tmp/l2tpvpn-sock-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string path = dir + "/s";
  EXPECT_FALSE(unix_socket_answers(path));  // no file
  EXPECT_FALSE(unix_socket_answers(""));
  // A listener: answers. A socket file nobody listens on (what a killed charon leaves): does not.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  EXPECT_TRUE(unix_socket_answers(path));
  ::close(fd);
  EXPECT_FALSE(unix_socket_answers(path));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace l2tpvpn::ipsec
