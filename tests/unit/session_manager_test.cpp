// SessionManager against a real L2TP peer (a second Endpoint as the LAC, over loopback UDP), the NullDataPlane
// (kernel mode) or a real pty (userspace mode), and a fake pppd: the runner records what would be executed and
// hands the test the report descriptor, so the test speaks our plugin's protocol the way pppd would.
#include "server/session_manager.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>

#include <boost/asio/signal_set.hpp>

#include "server/kernel/null_data_plane.hpp"

namespace l2tpvpn {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct FakePppd {
  std::vector<std::string> argv;
  int pppol2tp_fd = -1;
  int report_fd = -1;  // our dup of the child's end
  std::vector<int> signals;
  std::optional<ppp::PppdTermination> exited;
};

class FakeRunner : public PppdRunner {
 public:
  // A start answers at once, or with `defer` only when the test calls finish_starts() (a start still running on
  // the spawn thread while the event loop goes on).
  void spawn(PppdStart start, Started done) override {
    if (fail_spawn) return done(unexpected(os::LaunchError{"posix_spawn", ENOENT, "test"}));
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return done(unexpected(os::LaunchError{"socketpair", errno, {}}));
    pid_t pid = next_pid++;
    auto& p = procs[pid];
    p.argv = start.argv;
    p.pppol2tp_fd = start.pppol2tp.get();
    p.report_fd = sv[1];  // the child's end: the test writes the plugin's lines into it
    order.push_back(pid);
    deferred.emplace_back(PppdRunning{pid, UniqueFd(sv[0])}, std::move(done));
    if (!defer) finish_starts();
  }
  void finish_starts() {
    auto d = std::move(deferred);
    deferred.clear();
    for (auto& [running, done] : d) done(std::move(running));
  }
  std::vector<pid_t> cancel_spawns() override {
    std::vector<pid_t> pids;
    for (auto& [running, done] : deferred) pids.push_back(running.pid);
    deferred.clear();
    cancelled.insert(cancelled.end(), pids.begin(), pids.end());
    return pids;
  }
  void signal(pid_t pid, int sig) override {
    auto& p = procs.at(pid);
    p.signals.push_back(sig);
    if (sig == SIGKILL || (sig == SIGHUP && obey_sighup)) exit_with(pid, sig == SIGKILL ? 128 + SIGKILL : 16);
  }
  std::optional<ppp::Reaped> try_reap(pid_t pid) override {
    auto& p = procs.at(pid);
    if (!p.exited) return std::nullopt;
    return ppp::Reaped{pid, *p.exited};
  }
  ppp::Reaped wait(pid_t pid) override {
    auto& p = procs.at(pid);
    if (!p.exited) exit_with(pid, 128 + SIGKILL);
    return ppp::Reaped{pid, *p.exited};
  }
  // The process ends: exit code (<128) or 128+signal. Closes its report descriptor like a dying pppd.
  void exit_with(pid_t pid, int code) {
    auto& p = procs.at(pid);
    if (p.exited) return;
    ppp::PppdTermination t;
    if (code >= 128) {
      t.exit = ppp::PppdExit::kKilledBySignal;
      t.signal = code - 128;
    } else {
      t = *ppp::pppd_termination_from_wait_status(code << 8);
    }
    p.exited = t;
    if (p.report_fd >= 0) close(p.report_fd);
    p.report_fd = -1;
    ::kill(getpid(), SIGCHLD);  // what the kernel would do
  }
  void report(pid_t pid, const std::string& lines) {
    auto& p = procs.at(pid);
    ASSERT_GE(p.report_fd, 0);
    ASSERT_EQ(write(p.report_fd, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  }
  ~FakeRunner() override {
    for (auto& [pid, p] : procs)
      if (p.report_fd >= 0) close(p.report_fd);
  }

  std::map<pid_t, FakePppd> procs;
  std::vector<pid_t> order;
  pid_t next_pid = 40000;
  bool obey_sighup = true;
  bool fail_spawn = false;
  bool defer = false;
  std::vector<std::pair<PppdRunning, Started>> deferred;
  std::vector<pid_t> cancelled;  // handed to the manager by cancel_spawns
};

bool has_arg_pair(const std::vector<std::string>& argv, const std::string& a, const std::string& b) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == a && argv[i + 1] == b) return true;
  return false;
}

class SessionManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    l2tp::L2tpConfig lns_cfg;
    lns_cfg.channel.initial_timeout = l2tp::Duration(200);
    lns_ = std::make_unique<l2tp::Endpoint>(lns_cfg, rnd_);
    lns_driver_ = std::make_unique<L2tpDriver>(io_, *lns_, [this](l2tp::Action& a) {
      lns_actions_.push_back(a);
      if (manager_) manager_->handle(a);
    });
    l2tp::L2tpConfig lac_cfg;
    lac_cfg.role = l2tp::Role::kLac;
    lac_cfg.host_name = "lac";
    lac_cfg.channel.initial_timeout = l2tp::Duration(200);
    lac_ = std::make_unique<l2tp::Endpoint>(lac_cfg, rnd_);
    lac_driver_ = std::make_unique<L2tpDriver>(io_, *lac_, [this](l2tp::Action& a) { lac_actions_.push_back(a); });
    auto lo = asio::ip::make_address("127.0.0.1");
    ASSERT_TRUE(lns_driver_->open(asio::ip::udp::endpoint(lo, 0)));
    ASSERT_TRUE(lac_driver_->open(asio::ip::udp::endpoint(lo, 0)));
    lns_driver_->start();
    lac_driver_->start();
    sigchld_.async_wait([this](auto ec, int) { on_sigchld(ec); });
  }
  void on_sigchld(boost::system::error_code ec) {
    if (ec) return;
    if (manager_) manager_->reap_children();
    sigchld_.async_wait([this](auto e, int) { on_sigchld(e); });
  }

  void make_manager(bool kernel_mode, const std::string& users_text = "", std::string range = "10.99.0.10-10.99.0.20",
                    int stop_timeout_ms = 5000) {
    SessionManagerConfig c;
    c.ppp.stop_timeout_ms = stop_timeout_ms;
    c.pool.range = std::move(range);
    c.pool.server_address = "10.99.0.1";
    c.users_file = "/etc/l2tpvpn/users";
    c.local = kernel::Ipv4Endpoint::from_host_order(0x7f000001, lns_driver_->local_endpoint().port());
    auto users = ppp::UserStore::parse(users_text, "users");
    ASSERT_TRUE(users) << users.error().to_string();
    users_ = *users;
    auto m = SessionManager::create(io_, *lns_, *lns_driver_, kernel_mode ? &plane_ : nullptr, runner_, c, users_);
    ASSERT_TRUE(m) << m.error().message;
    manager_ = std::move(m).value();
  }

  // Runs the loop until `done` or 5 s of wall clock.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.restart();
      io_.run_for(10ms);
    }
    return true;
  }

  uint16_t open_tunnel() {
    auto tid = lac_->open_tunnel(l2tp::Clock::now(), to_peer(lns_driver_->local_endpoint()));
    EXPECT_TRUE(tid);
    lac_driver_->kick();
    return *tid;
  }
  // Places a call and waits until the fake pppd for it runs. Returns the LAC session ID.
  uint16_t call(uint16_t lac_tunnel) {
    size_t before = runner_.order.size();
    auto sid = lac_->open_call(l2tp::Clock::now(), lac_tunnel, l2tp::CallDirection::kIncoming);
    EXPECT_TRUE(sid);
    lac_driver_->kick();
    EXPECT_TRUE(run_until([&] { return runner_.order.size() > before; }));
    return *sid;
  }
  template <typename T>
  std::vector<T> lac(const std::function<bool(const T&)>& pred = {}) {
    std::vector<T> out;
    for (auto& a : lac_actions_)
      if (auto* t = std::get_if<T>(&a); t && (!pred || pred(*t))) out.push_back(*t);
    return out;
  }
  nlohmann::json session_json(size_t i = 0) { return to_json(manager_->session_views().at(i)); }

  std::mt19937_64 gen_{7};
  l2tp::RandomFn rnd_ = [this](std::span<uint8_t> out) {
    for (auto& b : out) b = static_cast<uint8_t>(gen_());
  };
  asio::io_context io_;
  asio::signal_set sigchld_{io_, SIGCHLD};
  std::unique_ptr<l2tp::Endpoint> lns_, lac_;
  std::unique_ptr<L2tpDriver> lns_driver_, lac_driver_;
  std::vector<l2tp::Action> lns_actions_, lac_actions_;
  kernel::NullDataPlane plane_;
  FakeRunner runner_;
  ppp::UserStore users_;
  std::unique_ptr<SessionManager> manager_;
};

// Stale-pppd clean-up picks our pppds by argv (then pins each, os::ProcessRef): pppd with our plugin's report fd.
TEST(SessionManagerStale, OurPppdIsPppdWithTheReportFdOption) {
  using Argv = std::vector<std::string>;
  EXPECT_TRUE(SessionManager::is_our_pppd(Argv{"/usr/sbin/pppd", "plugin", "l2tpvpn.so", "l2tpvpn_report_fd", "3"}));
  EXPECT_TRUE(SessionManager::is_our_pppd(Argv{"pppd", "l2tpvpn_report_fd", "4"}));
  EXPECT_FALSE(SessionManager::is_our_pppd(Argv{"/usr/sbin/pppd", "call", "isp"}));  // someone else's pppd
  EXPECT_FALSE(SessionManager::is_our_pppd(Argv{"/usr/bin/vim", "l2tpvpn_report_fd"}));
  EXPECT_FALSE(SessionManager::is_our_pppd(Argv{"pppd", "l2tpvpn_report_fd=3"}));
  EXPECT_FALSE(SessionManager::is_our_pppd(Argv{}));  // gone while we looked
}

TEST_F(SessionManagerTest, SessionUpStartsPppdWithPoolAddressAndKernelSocket) {
  make_manager(true);
  uint16_t t = open_tunnel();
  call(t);
  ASSERT_EQ(runner_.order.size(), 1u);
  const auto& p = runner_.procs.at(runner_.order[0]);
  EXPECT_EQ(p.argv.at(0), "/usr/sbin/pppd");
  EXPECT_TRUE(has_arg_pair(p.argv, "ifname", "ppp-l2tp0"));
  EXPECT_TRUE(std::find(p.argv.begin(), p.argv.end(), "10.99.0.1:10.99.0.10") != p.argv.end())
      << "pppd gets local:remote from the pool";
  EXPECT_TRUE(has_arg_pair(p.argv, "plugin", "pppol2tp.so"));
  EXPECT_TRUE(has_arg_pair(p.argv, "l2tpvpn_secrets", "/etc/l2tpvpn/users"));
  EXPECT_TRUE(std::find(p.argv.begin(), p.argv.end(), "require-mschap-v2") != p.argv.end());
  EXPECT_EQ(plane_.tunnel_count(), 1u);
  EXPECT_EQ(plane_.session_count(), 1u);
  EXPECT_EQ(manager_->pool().sessions(), 1u);
  auto j = session_json();
  EXPECT_EQ(j["state"], "starting");
  EXPECT_EQ(j["address"], "10.99.0.10");
  EXPECT_EQ(j["data_path"], "kernel");
  EXPECT_TRUE(j["user"].is_null());
}

TEST_F(SessionManagerTest, PluginReportsMakeTheSessionUp) {
  make_manager(true, "alice password=secret123\n");
  call(open_tunnel());
  pid_t pid = runner_.order[0];
  runner_.report(pid, "hello version=1 pppd=2.4.9 pid=1\nphase value=5 name=authenticate\n");
  ASSERT_TRUE(run_until([&] { return session_json()["state"] == "authenticating"; }));
  runner_.report(pid, "auth peer=alice\nphase value=8 name=running\n");
  runner_.report(pid, "ip-up ifname=ppp-l2tp0 local=10.99.0.1 remote=10.99.0.10\n");
  ASSERT_TRUE(run_until([&] { return session_json()["state"] == "up"; }));
  auto j = session_json();
  EXPECT_EQ(j["user"], "alice");
  EXPECT_EQ(j["interface"], "ppp-l2tp0");
  EXPECT_EQ(manager_->stats().report_errors, 0u);
  runner_.report(pid, "future-event x=1\nip-up ifname=ppp-l2tp0 local=10.99.0.1\n");  // unknown: ignored; missing key: counted
  ASSERT_TRUE(run_until([&] { return manager_->stats().report_errors == 1; }));
}

TEST_F(SessionManagerTest, AuthFailureExitSendsCdnWithCauseAndReleasesEverything) {
  make_manager(true);
  uint16_t t = open_tunnel();
  call(t);
  pid_t pid = runner_.order[0];
  runner_.report(pid, "phase value=5 name=authenticate\n");
  ASSERT_TRUE(run_until([&] { return session_json()["state"] == "authenticating"; }));
  runner_.report(pid, "auth-fail peer=mallory\n");
  ASSERT_TRUE(run_until([&] { return manager_->stats().auth_failures == 1; }));
  runner_.exit_with(pid, 11);  // EXIT_PEER_AUTH_FAILED
  ASSERT_TRUE(run_until([&] { return !lac<l2tp::SessionDown>().empty(); }));
  auto down = lac<l2tp::SessionDown>()[0];
  EXPECT_TRUE(down.by_peer);
  auto expected = ppp::map_pppd_termination(*runner_.procs.at(pid).exited,
                                            ppp::ExitContext{ppp::PppPhase::kAuthenticate, ppp::kProtoChap});
  EXPECT_EQ(down.result.result, expected.result.result);
  ASSERT_TRUE(down.cause);
  EXPECT_EQ(down.cause->code, static_cast<uint16_t>(ppp::DisconnectCode::kAuthFailed));
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 0; }));
  EXPECT_EQ(manager_->pool().sessions(), 0u);
  EXPECT_EQ(plane_.session_count(), 0u);
  EXPECT_EQ(manager_->stats().auth_failures, 1u);
  // The tunnel stays; the next call gets a fresh pppd and the next address (round robin).
  call(t);
  EXPECT_EQ(session_json()["address"], "10.99.0.11");
}

TEST_F(SessionManagerTest, PeerCdnStopsPppdAndReleasesTheAddressOnlyAfterItExits) {
  runner_.obey_sighup = false;
  make_manager(true);
  uint16_t t = open_tunnel();
  uint16_t s = call(t);
  pid_t pid = runner_.order[0];
  lac_->close_session(l2tp::Clock::now(), t, s, l2tp::ResultCode{3, std::nullopt, "bye"});
  lac_driver_->kick();
  ASSERT_TRUE(run_until([&] { return !runner_.procs.at(pid).signals.empty(); }));
  EXPECT_EQ(runner_.procs.at(pid).signals, std::vector<int>{SIGHUP});
  EXPECT_EQ(plane_.session_count(), 0u) << "our session socket is closed at once";
  EXPECT_EQ(manager_->pool().sessions(), 1u) << "the address waits for pppd to exit";
  EXPECT_EQ(session_json()["state"], "closing");
  runner_.exit_with(pid, 5);
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 0; }));
  EXPECT_EQ(manager_->pool().sessions(), 0u);
  EXPECT_EQ(runner_.procs.at(pid).signals, std::vector<int>{SIGHUP}) << "no SIGKILL";
}

TEST_F(SessionManagerTest, PppdIgnoringSighupIsKilledAfterTheStopTimeout) {
  runner_.obey_sighup = false;
  make_manager(true, "", "10.99.0.10-10.99.0.20", 150);
  uint16_t t = open_tunnel();
  uint16_t s = call(t);
  pid_t pid = runner_.order[0];
  lac_->close_session(l2tp::Clock::now(), t, s, l2tp::ResultCode{3, std::nullopt, "bye"});
  lac_driver_->kick();
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 0; }));
  EXPECT_EQ(runner_.procs.at(pid).signals, (std::vector<int>{SIGHUP, SIGKILL}));
  EXPECT_EQ(manager_->stats().pppd_killed, 1u);
}

TEST_F(SessionManagerTest, TunnelStopEndsEveryPppdAndTheKernelTunnel) {
  make_manager(true);
  uint16_t t = open_tunnel();
  for (int i = 0; i < 5; ++i) call(t);
  EXPECT_EQ(manager_->session_count(), 5u);
  EXPECT_EQ(manager_->pool().sessions(), 5u);
  lac_->close_tunnel(l2tp::Clock::now(), t, l2tp::ResultCode{1, std::nullopt, "done"});
  lac_driver_->kick();
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 0 && plane_.tunnel_count() == 0; }));
  for (pid_t pid : runner_.order) EXPECT_EQ(runner_.procs.at(pid).signals, std::vector<int>{SIGHUP});
  EXPECT_EQ(manager_->pool().sessions(), 0u);
  EXPECT_EQ(manager_->running_pppd(), 0u);
}

TEST_F(SessionManagerTest, ExhaustedPoolRefusesTheCallWithoutStartingPppd) {
  make_manager(true, "", "10.99.0.10-10.99.0.11");
  uint16_t t = open_tunnel();
  call(t);
  call(t);
  auto sid = lac_->open_call(l2tp::Clock::now(), t, l2tp::CallDirection::kIncoming);
  lac_driver_->kick();
  ASSERT_TRUE(run_until([&] { return !lac<l2tp::SessionDown>().empty(); }));
  auto down = lac<l2tp::SessionDown>()[0];
  EXPECT_EQ(down.session_id, *sid);
  EXPECT_EQ(down.result.result, l2tp::result::kCdnTemporaryResources);
  EXPECT_EQ(runner_.order.size(), 2u);
  EXPECT_EQ(manager_->stats().sessions_refused, 1u);
  EXPECT_EQ(plane_.session_count(), 2u);
}

TEST_F(SessionManagerTest, SpawnFailureRefusesAndLeavesNothing) {
  make_manager(true);
  runner_.fail_spawn = true;
  uint16_t t = open_tunnel();
  lac_->open_call(l2tp::Clock::now(), t, l2tp::CallDirection::kIncoming);
  lac_driver_->kick();
  ASSERT_TRUE(run_until([&] { return !lac<l2tp::SessionDown>().empty(); }));
  EXPECT_EQ(manager_->session_count(), 0u);
  EXPECT_EQ(manager_->pool().sessions(), 0u);
  EXPECT_EQ(plane_.session_count(), 0u);
}

TEST_F(SessionManagerTest, StaticAddressAndSecondLoginOfTheSameUser) {
  make_manager(true, "alice password=secret123 address=10.99.0.50\nbob password=hunter22\n");
  uint16_t t = open_tunnel();
  call(t);
  runner_.report(runner_.order[0], "auth peer=alice\n");
  ASSERT_TRUE(run_until([&] { return session_json()["user"] == "alice"; }));
  EXPECT_EQ(session_json()["address"], "10.99.0.50");
  EXPECT_FALSE(manager_->pool().in_use(*ppp::parse_ipv4("10.99.0.10"))) << "dynamic address returned";
  // alice again, while her static address is held: refused (the plugin would otherwise hand it out twice).
  call(t);
  runner_.report(runner_.order[1], "auth peer=alice\n");
  ASSERT_TRUE(run_until([&] { return lac<l2tp::SessionDown>().size() == 1; }));
  EXPECT_EQ(lac<l2tp::SessionDown>()[0].result.result, l2tp::result::kCdnAdministrative);
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 1; }));
}

TEST_F(SessionManagerTest, DisconnectUserAndReloadKeepOthers) {
  make_manager(true, "alice password=secret123\nbob password=hunter22\n");
  uint16_t t = open_tunnel();
  call(t);
  call(t);
  runner_.report(runner_.order[0], "auth peer=alice\n");
  runner_.report(runner_.order[1], "auth peer=bob\n");
  ASSERT_TRUE(run_until([&] { return session_json(1)["user"] == "bob" && session_json(0)["user"] == "alice"; }));
  // Reload: bob gets a static address; live sessions keep theirs.
  auto users = ppp::UserStore::parse("alice password=secret123\nbob password=hunter22 address=10.99.0.60\n", "u");
  ASSERT_TRUE(users);
  ASSERT_TRUE(manager_->reload_users(*users));
  EXPECT_EQ(session_json(0)["address"], "10.99.0.10");
  EXPECT_EQ(session_json(1)["address"], "10.99.0.11");
  EXPECT_EQ(manager_->pool().sessions(), 2u);
  EXPECT_EQ(manager_->disconnect_user("alice"), 1u);
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 1; }));
  EXPECT_EQ(session_json(0)["user"], "bob");
  EXPECT_EQ(manager_->disconnect_user("nobody"), 0u);
}

TEST_F(SessionManagerTest, KillAllReapsAndReleases) {
  runner_.obey_sighup = false;
  make_manager(true);
  uint16_t t = open_tunnel();
  call(t);
  call(t);
  manager_->kill_all();
  EXPECT_EQ(manager_->session_count(), 0u);
  EXPECT_EQ(manager_->running_pppd(), 0u);
  EXPECT_EQ(manager_->pool().sessions(), 0u);
  for (pid_t pid : runner_.order) EXPECT_EQ(runner_.procs.at(pid).signals, std::vector<int>{SIGKILL});
}

TEST_F(SessionManagerTest, SecondTunnelFromTheSamePeerPortUsesThePty) {
  make_manager(true);
  uint16_t t1 = open_tunnel();
  call(t1);
  uint16_t t2 = open_tunnel();  // the same LAC socket: same peer address and port
  call(t2);
  EXPECT_EQ(plane_.tunnel_count(), 1u) << "no second kernel tunnel with the same 4-tuple";
  EXPECT_EQ(plane_.session_count(), 1u);
  EXPECT_EQ(session_json(0)["data_path"], "kernel");
  EXPECT_EQ(session_json(1)["data_path"], "pty");
  EXPECT_NE(session_json(0)["session"], session_json(1)["session"]);
  // The first tunnel goes: the second keeps working on the pty; a third tunnel may then take the kernel again.
  lac_->close_tunnel(l2tp::Clock::now(), t1, l2tp::ResultCode{1, std::nullopt, "done"});
  lac_driver_->kick();
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 1 && plane_.tunnel_count() == 0; }));
  uint16_t t3 = open_tunnel();
  call(t3);
  EXPECT_EQ(plane_.tunnel_count(), 1u);
}

// Userspace data path: pppd's tty is a real pty; frames cross between it (HDLC) and L2TP data messages.
TEST_F(SessionManagerTest, PtyModeFramesBothWays) {
  make_manager(false);
  uint16_t t = open_tunnel();
  uint16_t s = call(t);
  const auto& p = runner_.procs.at(runner_.order[0]);
  EXPECT_EQ(p.pppol2tp_fd, -1);
  auto tty = std::find_if(p.argv.begin(), p.argv.end(), [](const std::string& a) { return a.rfind("/dev/", 0) == 0; });
  ASSERT_NE(tty, p.argv.end());
  EXPECT_EQ(session_json()["data_path"], "pty");
  int fd = open(tty->c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  termios tio{};
  ASSERT_EQ(tcgetattr(fd, &tio), 0);
  cfmakeraw(&tio);
  ASSERT_EQ(tcsetattr(fd, TCSANOW, &tio), 0);

  // pppd -> peer: an LCP frame with ACFC (no FF 03): the peer gets it with FF 03 restored.
  Bytes lcp = {0xc0, 0x21, 0x01, 0x01, 0x00, 0x04};
  Bytes wire;
  ppp::encode_hdlc_frame(lcp, ppp::kDefaultAccm, wire);
  ASSERT_EQ(write(fd, wire.data(), wire.size()), static_cast<ssize_t>(wire.size()));
  ASSERT_TRUE(run_until([&] { return !lac<l2tp::SessionData>().empty(); }));
  Bytes expected = {0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04};
  EXPECT_EQ(lac<l2tp::SessionData>()[0].ppp, expected);

  // peer -> pppd: a frame full of bytes that need escaping arrives HDLC-framed on the tty.
  Bytes ip = {0xff, 0x03, 0x00, 0x21, 0x7e, 0x7d, 0x00, 0x11, 0x13, 0x45};
  lac_->send_data(t, s, ip);
  lac_driver_->kick();
  ppp::HdlcDecoder dec;
  std::vector<Bytes> got;
  ASSERT_TRUE(run_until([&] {
    uint8_t buf[256];
    ssize_t n = read(fd, buf, sizeof buf);  // non-blocking: -1/EAGAIN until the loop has written
    if (n > 0)
      for (auto& f : dec.feed(ByteView(buf, static_cast<size_t>(n)))) got.push_back(f);
    return !got.empty();
  }));
  EXPECT_EQ(got[0], ip);
  close(fd);
  EXPECT_EQ(manager_->stats().pty_frames_in, 1u);
  EXPECT_EQ(manager_->stats().pty_frames_out, 1u);
}

// pppd starts off the event loop: while one is still running, the call is answered (ICCN acknowledged) and the
// session waits in "starting" without a pid; the pid arrives later.
TEST_F(SessionManagerTest, TheCallIsAnsweredWhilePppdIsStillStarting) {
  runner_.defer = true;
  make_manager(true);
  uint16_t t = open_tunnel();
  call(t);
  ASSERT_TRUE(run_until([&] { return !lac<l2tp::SessionUp>().empty(); })) << "the LAC's call is up (ICCN sent)";
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 1; }));
  EXPECT_EQ(manager_->running_pppd(), 0u);
  EXPECT_EQ(session_json()["state"], "starting");
  runner_.finish_starts();
  EXPECT_EQ(manager_->running_pppd(), 1u);
  EXPECT_EQ(session_json()["pppd_pid"], runner_.order[0]);
}

// The call ends while its pppd starts: once the pid is known pppd gets SIGHUP, and everything goes when it exits.
TEST_F(SessionManagerTest, ACallEndedWhilePppdStartsStopsItOnceStarted) {
  runner_.defer = true;
  make_manager(true);
  uint16_t t = open_tunnel();
  uint16_t s = call(t);
  pid_t pid = runner_.order[0];
  lac_->close_session(l2tp::Clock::now(), t, s, l2tp::ResultCode{3, std::nullopt, "bye"});
  lac_driver_->kick();
  ASSERT_TRUE(run_until([&] { return !lns_actions_.empty() && plane_.session_count() == 0; }));
  EXPECT_EQ(manager_->session_count(), 1u) << "held until its pppd start reports";
  EXPECT_TRUE(runner_.procs.at(pid).signals.empty());
  runner_.finish_starts();  // pppd_spawned: SIGHUP at once, and it obeys
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 0; }));
  EXPECT_EQ(runner_.procs.at(pid).signals, std::vector<int>{SIGHUP});
  EXPECT_EQ(manager_->pool().sessions(), 0u);
}

// pppd may exit before its pid reaches the event loop (its SIGCHLD came and went): it is reaped when the pid does.
TEST_F(SessionManagerTest, APppdThatEndedBeforeItsPidArrivedIsReaped) {
  runner_.defer = true;
  make_manager(true);
  uint16_t t = open_tunnel();
  call(t);
  pid_t pid = runner_.order[0];
  runner_.exit_with(pid, 1);
  ASSERT_TRUE(run_until([&] { return runner_.procs.at(pid).exited.has_value(); }));
  io_.restart();
  io_.run_for(50ms);  // the SIGCHLD is handled: nothing the manager knows has ended
  EXPECT_EQ(manager_->session_count(), 1u);
  runner_.finish_starts();
  ASSERT_TRUE(run_until([&] { return manager_->session_count() == 0 && !lac<l2tp::SessionDown>().empty(); }))
      << "reaped as soon as its pid was known, and the call closed";
  EXPECT_EQ(manager_->running_pppd(), 0u);
}

// Shutdown while starts are in flight: the pppds already started (pid not delivered) are killed and reaped too.
TEST_F(SessionManagerTest, KillAllKillsPppdsWhosePidHadNotArrived) {
  runner_.defer = true;
  make_manager(true);
  uint16_t t = open_tunnel();
  call(t);
  call(t);
  manager_->kill_all();
  EXPECT_EQ(runner_.cancelled, runner_.order);
  for (pid_t pid : runner_.order) {
    EXPECT_EQ(runner_.procs.at(pid).signals, std::vector<int>{SIGKILL});
    EXPECT_TRUE(runner_.procs.at(pid).exited);
  }
  EXPECT_EQ(manager_->session_count(), 0u);
  EXPECT_EQ(manager_->pool().sessions(), 0u);
}

}  // namespace
}  // namespace l2tpvpn
