// vici::Client + ipsec::CharonLink against the real /usr/lib/ipsec/charon: every command we use, the event
// registrations, and recovery from `kill -9 charon` without restarting the client.
//
// charon runs as `unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run && exec charon'`: the private
// /run takes its pid file (charon refuses to start next to a live /run/charon.pid), STRONGSWAN_CONF points at a
// strongswan.conf in a temporary directory that also holds the vici socket and the log. `port = 0` and
// `port_nat_t = 0` let charon pick free IKE ports. All waiting is bounded by clock deadlines.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "ipsec/charon_link.hpp"
#include "ipsec/vici_client.hpp"
#include "require.hpp"

extern char** environ;

namespace l2tpvpn::ipsec {
namespace {

using namespace std::chrono_literals;
using vici::Clock;

constexpr const char* kCharon = "/usr/lib/ipsec/charon";

class CharonProcess {
 public:
  explicit CharonProcess(std::string dir) : dir_(std::move(dir)) {
    std::ofstream conf(dir_ + "/strongswan.conf");
    conf << "charon {\n"
            "  load_modular = no\n"
            "  load = random nonce openssl pem pkcs1 x509 pubkey kdf kernel-netlink socket-default vici\n"
            "  install_routes = no\n"
            "  port = 0\n"
            "  port_nat_t = 0\n"
            "  plugins { vici { socket = unix://"
         << socket_path()
         << " } }\n"
            "  filelog { log { path = "
         << dir_
         << "/charon.log\n default = 1\n flush_line = yes } }\n"
            "  syslog { daemon { default = -1 } }\n"
            "}\n";
  }
  ~CharonProcess() { kill_hard(); }

  std::string socket_path() const { return dir_ + "/charon.vici"; }

  void start() {
    ASSERT_LT(pid_, 0);
    std::filesystem::remove(socket_path());
    std::string env_conf = "STRONGSWAN_CONF=" + dir_ + "/strongswan.conf";
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e)
      if (std::string_view(*e).rfind("STRONGSWAN_CONF=", 0) != 0) envp.push_back(*e);
    envp.push_back(env_conf.data());
    envp.push_back(nullptr);
    std::string script = std::string("mount -t tmpfs tmpfs /run && exec ") + kCharon;
    const char* argv[] = {"unshare", "-m", "--propagation", "private", "sh", "-c", script.c_str(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, (dir_ + "/charon.stdout").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = posix_spawnp(&pid_, "unshare", &fa, nullptr, const_cast<char* const*>(argv), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << "posix_spawn unshare";
  }

  // SIGKILL, as a crash would: charon gets no chance to clean up its socket.
  void kill_hard() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string log() const {
    std::ifstream in(dir_ + "/charon.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

class CharonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    L2TPVPN_REQUIRE(::geteuid() == 0, "root (private mount namespace for charon's /run)");
    L2TPVPN_REQUIRE(std::filesystem::exists(kCharon), kCharon << " (package strongswan-charon)");
    char tmpl[] = "/tmp/l2tpvpn-charon-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    charon_ = std::make_unique<CharonProcess>(dir_);
    vici::ClientOptions o;
    o.socket_path = charon_->socket_path();
    o.initial_backoff = 50ms;
    o.max_backoff = 500ms;
    o.request_timeout = 10s;
    client_ = std::make_unique<vici::Client>(o);
    link_ = std::make_unique<CharonLink>(client_->session(), registry_);
    client_->set_on_connected([this] { link_->on_connected(); });
    client_->set_on_disconnected([this](const std::string&) { link_->on_disconnected(); });
  }
  void TearDown() override {
    link_.reset();
    client_.reset();
    if (HasFailure() && charon_) std::cerr << "---- charon.log ----\n" << charon_->log();
    charon_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 15s) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (done()) return true;
      client_->poll_once(20ms);
    }
    return done();
  }

  // Runs a command to completion through the client.
  Result<vici::CommandReply, vici::CommandError> call(vici::Command c, vici::Message args = {}) {
    std::optional<Result<vici::CommandReply, vici::CommandError>> out;
    auto st = client_->session().submit(c, std::move(args), [&](auto r) { out.emplace(std::move(r)); });
    if (!st) return unexpected(st.error());
    if (!run_until([&] { return out.has_value(); }))
      return unexpected(vici::CommandError{vici::CommandError::Kind::kDisconnected, "test timeout"});
    return std::move(*out);
  }

  // Names of the connections list-conns streams.
  std::vector<std::string> listed_conns() {
    auto r = call(vici::Command::kListConns);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    std::vector<std::string> names;
    if (r)
      for (const auto& m : r->stream)
        for (const auto& e : m.entries()) names.push_back(e.name);
    return names;
  }

  static ProfileConfig profile(const char* name) {
    ProfileConfig c;
    c.name = name;
    c.psk = "test-psk-123";
    c.crypto = CryptoSet::kLegacy;  // the longest proposal lists: charon must accept every one of them
    return c;
  }

  std::string dir_;
  std::unique_ptr<CharonProcess> charon_;
  SaRegistry registry_;
  std::unique_ptr<vici::Client> client_;
  std::unique_ptr<CharonLink> link_;
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(CharonTest, LoadsListsUnloadsAndAnswersEveryCommand) {
  ASSERT_TRUE(link_->add_profile(profile("l2tpvpn-test")));
  charon_->start();
  client_->start(Clock::now());
  ASSERT_TRUE(run_until([&] { return link_->state() == LinkState::kReady; })) << client_->stats().last_error;
  EXPECT_EQ(link_->stats().registration_failures, 0u) << link_->last_error();
  EXPECT_EQ(link_->stats().load_failures, 0u) << link_->last_error();

  auto version = call(vici::Command::kVersion);
  ASSERT_TRUE(version);
  EXPECT_EQ(version->response.value_or("daemon", ""), "charon");
  EXPECT_FALSE(version->response.value_or("version", "").empty());
  auto stats = call(vici::Command::kStats);
  ASSERT_TRUE(stats);
  EXPECT_NE(stats->response.section("ikesas"), nullptr);
  EXPECT_TRUE(call(vici::Command::kReloadSettings));

  // The profile as charon understood it.
  auto conns = call(vici::Command::kListConns);
  ASSERT_TRUE(conns);
  const vici::Section* conn = nullptr;
  for (const auto& m : conns->stream)
    if (m.section("l2tpvpn-test")) conn = m.section("l2tpvpn-test");
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(conn->value_or("version", ""), "IKEv1");
  const vici::Section* child = conn->section("children") ? conn->section("children")->section("l2tp") : nullptr;
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->value_or("mode", ""), "TRANSPORT");
  ASSERT_NE(child->list("local-ts"), nullptr);
  EXPECT_EQ(child->list("local-ts")->front(), "dynamic[udp/l2f]");

  auto get = call(vici::Command::kGetConns);
  ASSERT_TRUE(get);
  ASSERT_NE(get->response.list("conns"), nullptr);
  EXPECT_TRUE(contains(*get->response.list("conns"), "l2tpvpn-test"));
  auto shared = call(vici::Command::kGetShared);
  ASSERT_TRUE(shared);
  ASSERT_NE(shared->response.list("keys"), nullptr);
  EXPECT_TRUE(contains(*shared->response.list("keys"), "l2tpvpn-test-psk"));

  // A second profile, added and removed while connected.
  ASSERT_TRUE(link_->add_profile(profile("second")));
  ASSERT_TRUE(run_until([&] { return contains(listed_conns(), "second"); }));
  link_->remove_profile("second");
  ASSERT_TRUE(run_until([&] { return !contains(listed_conns(), "second"); }));
  shared = call(vici::Command::kGetShared);
  ASSERT_TRUE(shared);
  EXPECT_FALSE(contains(*shared->response.list("keys"), "second-psk"));
  EXPECT_EQ(link_->stats().load_failures, 0u) << link_->last_error();

  // Explicit unload/load through the raw commands, and charon's errors come back typed.
  vici::Message bad_unload;
  bad_unload.set("name", "no-such-conn");
  auto err = call(vici::Command::kUnloadConn, bad_unload);
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().kind, vici::CommandError::Kind::kFailed);
  EXPECT_FALSE(err.error().message.empty());

  // No SAs on this host (no peer): list-sas streams nothing, terminate reports failure.
  auto sas = call(vici::Command::kListSas);
  ASSERT_TRUE(sas);
  EXPECT_TRUE(sas->stream.empty());
  EXPECT_EQ(registry_.size(), 0u);
  std::optional<Status<vici::CommandError>> term;
  link_->terminate_ike(4242, [&](auto st) { term.emplace(st); });
  ASSERT_TRUE(run_until([&] { return term.has_value(); }));
  ASSERT_FALSE(*term);
  EXPECT_EQ(term->error().kind, vici::CommandError::Kind::kFailed);

  // An unknown command is CMD_UNKNOWN, and the connection survives it.
  std::optional<vici::CommandError::Kind> unknown;
  ASSERT_TRUE(client_->session().command(
      "no-such-command", {}, [&](auto r) { unknown = r ? vici::CommandError::Kind::kEncode : r.error().kind; }));
  ASSERT_TRUE(run_until([&] { return unknown.has_value(); }));
  EXPECT_EQ(*unknown, vici::CommandError::Kind::kUnknownCommand);
  EXPECT_TRUE(call(vici::Command::kVersion));
  EXPECT_EQ(client_->stats().disconnects, 0u);
}

TEST_F(CharonTest, RecoversFromKillMinus9WithoutRestartingTheClient) {
  ASSERT_TRUE(link_->add_profile(profile("l2tpvpn-test")));
  // The client starts first: charon is not there yet, so it must keep retrying.
  client_->start(Clock::now());
  ASSERT_TRUE(run_until([&] { return client_->stats().connect_failures >= 1; }));
  charon_->start();
  ASSERT_TRUE(run_until([&] { return link_->state() == LinkState::kReady; })) << client_->stats().last_error;
  ASSERT_TRUE(contains(listed_conns(), "l2tpvpn-test"));

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("restart " + std::to_string(round + 1));
    const auto syncs = link_->stats().syncs;
    const auto gen = client_->connection_generation();
    charon_->kill_hard();
    ASSERT_TRUE(run_until([&] { return link_->state() == LinkState::kDisconnected; }));
    // A command while charon is down fails at once instead of hanging.
    auto down = call(vici::Command::kVersion);
    ASSERT_FALSE(down);
    EXPECT_EQ(down.error().kind, vici::CommandError::Kind::kDisconnected);

    charon_->start();
    ASSERT_TRUE(run_until([&] { return link_->state() == LinkState::kReady && link_->stats().syncs > syncs; }))
        << client_->stats().last_error;
    EXPECT_NE(client_->connection_generation(), gen);
    // The fresh charon knows our connection and secret again, and the events are registered again.
    EXPECT_TRUE(contains(listed_conns(), "l2tpvpn-test"));
    auto shared = call(vici::Command::kGetShared);
    ASSERT_TRUE(shared);
    EXPECT_TRUE(contains(*shared->response.list("keys"), "l2tpvpn-test-psk"));
    EXPECT_EQ(link_->stats().registration_failures, 0u) << link_->last_error();
    EXPECT_EQ(link_->stats().load_failures, 0u) << link_->last_error();
  }
  EXPECT_EQ(client_->stats().disconnects, 2u);
  EXPECT_EQ(link_->stats().syncs, 3u);
}

}  // namespace
}  // namespace l2tpvpn::ipsec
