// server/vpn/sessions: the PPP side's rules as a pure core. No sockets, processes or clock: events go in with a
// virtual time, and each test asserts on the actions that come out.
#include "server/vpn/sessions.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>

namespace l2tpvpn::vpn {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

const l2tp::PeerAddress kWin = l2tp::PeerAddress::v4(0xc000020b, 1701);  // 192.0.2.11:1701
const l2tp::PeerAddress kMac = l2tp::PeerAddress::v4(0xc000020d, 50123);

template <class T>
std::vector<T> only(const std::vector<Action>& actions) {
  std::vector<T> out;
  for (const auto& a : actions)
    if (auto* p = std::get_if<T>(&a)) out.push_back(*p);
  return out;
}

// Action kinds in order, logs left out: "CreateKernelSession SpawnPppd ...".
std::string kinds(const std::vector<Action>& actions) {
  static const char* kNames[] = {"CreateKernelTunnel", "DestroyKernelTunnel", "MapDataPort", "UnmapDataPort",
                                 "CreateKernelSession", "DestroyKernelSession", "OpenPty", "SpawnPppd", "SignalPppd", "ReleaseSession",
                                 "CloseSession", "CloseTunnel", "Log"};
  std::string out;
  for (const auto& a : actions) {
    if (std::holds_alternative<Log>(a)) continue;
    if (!out.empty()) out += ' ';
    out += kNames[a.index()];
  }
  return out;
}

bool logged(const std::vector<Action>& actions, const std::string& what) {
  for (const auto& l : only<Log>(actions))
    if (l.text.find(what) != std::string::npos) return true;
  return false;
}

struct Fixture {
  SessionsConfig config;
  ppp::UserStore users;
  std::optional<Sessions> core;
  TimePoint now{};
  int next_pid = 1000;

  Fixture() {
    config.pool.range = "10.99.0.10-10.99.0.12";
    config.pool.server_address = "10.99.0.1";
    config.ppp.stop_timeout_ms = 5000;
    config.users_file = "/etc/l2tpvpn/users";
  }
  Sessions& build() {
    auto c = Sessions::create(config, users);
    EXPECT_TRUE(c) << c.error().to_string();
    core.emplace(std::move(c).value());
    return *core;
  }
  std::vector<Action> take() { return core->take_actions(); }

  std::vector<Action> tunnel_up(uint16_t tid, l2tp::PeerAddress peer = kWin) {
    core->on_l2tp(now, l2tp::TunnelUp{tid, static_cast<uint16_t>(tid + 1000), peer, "client", ""});
    return take();
  }
  std::vector<Action> session_up(uint16_t tid, uint16_t sid, l2tp::PeerAddress peer = kWin) {
    l2tp::SessionUp up{};
    up.tunnel_id = tid;
    up.session_id = sid;
    up.peer_tunnel_id = static_cast<uint16_t>(tid + 1000);
    up.peer_session_id = static_cast<uint16_t>(sid + 1000);
    up.peer = peer;
    core->on_l2tp(now, up);
    return take();
  }
  std::vector<Action> session_down(uint16_t tid, uint16_t sid, bool by_peer = true) {
    l2tp::SessionDown down{};
    down.tunnel_id = tid;
    down.session_id = sid;
    down.by_peer = by_peer;
    core->on_l2tp(now, down);
    return take();
  }
  std::vector<Action> tunnel_down(uint16_t tid) {
    core->on_l2tp(now, l2tp::TunnelDown{tid, l2tp::ResultCode{}, true});
    return take();
  }
  // SessionUp through to a running pppd; returns its serial and pid.
  std::pair<uint64_t, int> start(uint16_t tid, uint16_t sid, l2tp::PeerAddress peer = kWin) {
    auto a = session_up(tid, sid, peer);
    uint64_t serial = 0;
    std::optional<std::string> pty;
    if (auto k = only<CreateKernelSession>(a); !k.empty()) serial = k[0].serial;
    if (auto p = only<OpenPty>(a); !p.empty()) {
      serial = p[0].serial;
      pty = "/dev/pts/" + std::to_string(serial);
    }
    EXPECT_NE(serial, 0u) << kinds(a);
    core->data_path_ready(now, serial, pty);
    auto spawn = only<SpawnPppd>(take());
    EXPECT_EQ(spawn.size(), 1u);
    int pid = next_pid++;
    core->pppd_spawned(now, serial, pid);
    take();
    return {serial, pid};
  }
  void report(uint64_t serial, ppp::PluginEventBody body) { core->plugin_report(now, serial, ppp::PluginEvent{body, 0}); }
  ppp::PppdTermination exit_code(int code) { return *ppp::pppd_termination_from_wait_status(code << 8); }
};

TEST(Sessions, KernelTunnelThenSessionThenPppd) {
  Fixture f;
  f.build();
  auto a = f.tunnel_up(7);
  ASSERT_EQ(kinds(a), "CreateKernelTunnel");
  EXPECT_EQ(only<CreateKernelTunnel>(a)[0].peer_tunnel_id, 1007);
  a = f.session_up(7, 70);
  ASSERT_EQ(kinds(a), "CreateKernelSession");
  auto k = only<CreateKernelSession>(a)[0];
  EXPECT_EQ(k.session_id, 70);
  EXPECT_EQ(k.peer_session_id, 1070);
  f.core->data_path_ready(f.now, k.serial, std::nullopt);
  a = f.take();
  ASSERT_EQ(kinds(a), "SpawnPppd");
  const auto spawned = only<SpawnPppd>(a);
  const auto& argv = spawned.at(0).argv;
  EXPECT_THAT(argv, Contains("pppol2tp"));
  EXPECT_THAT(argv, Contains("10.99.0.1:10.99.0.10"));
  EXPECT_THAT(argv, Contains("ppp-l2tp0"));
  f.core->pppd_spawned(f.now, k.serial, 4242);
  a = f.take();
  EXPECT_EQ(kinds(a), "");
  EXPECT_TRUE(logged(a, "event=pppd_started tunnel=7 session=70 pid=4242"));
  EXPECT_EQ(f.core->counters().sessions_started, 1u);
  EXPECT_EQ(f.core->pool().sessions(), 1u);
}

TEST(Sessions, SecondTunnelFromTheSamePeerPortUsesThePty) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto a = f.tunnel_up(8);
  EXPECT_EQ(kinds(a), "");
  EXPECT_TRUE(logged(a, "data_path=pty"));
  a = f.session_up(8, 80);
  ASSERT_EQ(kinds(a), "OpenPty");
  f.core->data_path_ready(f.now, only<OpenPty>(a)[0].serial, "/dev/pts/9");
  auto spawn = only<SpawnPppd>(f.take());
  ASSERT_EQ(spawn.size(), 1u);
  EXPECT_THAT(spawn[0].argv, Contains("/dev/pts/9"));
  // Another port of the same host gets a kernel tunnel of its own.
  EXPECT_EQ(kinds(f.tunnel_up(9, kMac)), "CreateKernelTunnel");
}

// Clients behind one NAT: the same address and port, told apart by their SAs' marks.
const l2tp::PeerAddress kNat1 = l2tp::PeerAddress::v4(0xc0000214, 1701, 1);
const l2tp::PeerAddress kNat2 = l2tp::PeerAddress::v4(0xc0000214, 1701, 2);

TEST(Sessions, WithDataPortsEachSaBehindOneNatGetsAKernelTunnelOnAPortOfItsOwn) {
  Fixture f;
  f.config.data_port_min = 30000;
  f.config.data_port_max = 30001;
  f.build();
  auto a = f.tunnel_up(7, kNat1);
  ASSERT_EQ(kinds(a), "MapDataPort CreateKernelTunnel");
  EXPECT_EQ(only<MapDataPort>(a)[0].mark, 1u);
  EXPECT_EQ(only<MapDataPort>(a)[0].port, 30000);
  EXPECT_EQ(only<CreateKernelTunnel>(a)[0].local_port, 30000);
  EXPECT_EQ(only<CreateKernelTunnel>(a)[0].peer.mark, 1u);
  a = f.tunnel_up(8, kNat2);
  ASSERT_EQ(kinds(a), "MapDataPort CreateKernelTunnel");
  EXPECT_EQ(only<CreateKernelTunnel>(a)[0].local_port, 30001);
  // A second tunnel through the first SA: the same 4-tuple as tunnel 7 (the SA's port), so the pty path.
  a = f.tunnel_up(9, kNat1);
  EXPECT_EQ(kinds(a), "");
  EXPECT_TRUE(logged(a, "data_path=pty"));
  // The range is used up: a third SA's tunnel uses the pty path too, and says why.
  a = f.tunnel_up(10, l2tp::PeerAddress::v4(0xc0000214, 1701, 3));
  EXPECT_EQ(kinds(a), "");
  EXPECT_TRUE(logged(a, "no data port left in 30000-30001"));
  // An unmarked peer keeps the L2TP port.
  a = f.tunnel_up(11, kMac);
  ASSERT_EQ(kinds(a), "CreateKernelTunnel");
  EXPECT_EQ(only<CreateKernelTunnel>(a)[0].local_port, 0);
  // The SA's port is unmapped once its last kernel tunnel is gone, not before; then it can be given again.
  EXPECT_EQ(kinds(f.tunnel_down(9)), "");
  a = f.tunnel_down(7);
  ASSERT_EQ(kinds(a), "DestroyKernelTunnel UnmapDataPort");
  EXPECT_EQ(only<UnmapDataPort>(a)[0].mark, 1u);
  a = f.tunnel_up(12, l2tp::PeerAddress::v4(0xc0000214, 1701, 4));
  ASSERT_EQ(kinds(a), "MapDataPort CreateKernelTunnel");
  EXPECT_EQ(only<MapDataPort>(a)[0].port, 30000);
}

TEST(Sessions, WithoutDataPortsClientsBehindOneNatShareTheFirstOnesKernelTunnel) {
  Fixture f;
  f.build();
  EXPECT_EQ(kinds(f.tunnel_up(7, kNat1)), "CreateKernelTunnel");
  auto a = f.tunnel_up(8, kNat2);  // the same 4-tuple on the L2TP port: its data comes up through tunnel 7's socket
  EXPECT_EQ(kinds(a), "");
  EXPECT_TRUE(logged(a, "data_path=pty"));
}

TEST(Sessions, AFailedKernelTunnelGivesItsDataPortBack) {
  Fixture f;
  f.config.data_port_min = f.config.data_port_max = 30000;
  f.build();
  ASSERT_EQ(kinds(f.tunnel_up(7, kNat1)), "MapDataPort CreateKernelTunnel");
  f.core->kernel_tunnel_failed(f.now, 7, "EADDRINUSE");
  EXPECT_EQ(kinds(f.take()), "UnmapDataPort CloseTunnel");
  EXPECT_EQ(kinds(f.tunnel_up(8, kNat2)), "MapDataPort CreateKernelTunnel");
}

TEST(Sessions, WithoutTheKernelPathEverySessionUsesThePty) {
  Fixture f;
  f.config.kernel = false;
  f.build();
  EXPECT_EQ(kinds(f.tunnel_up(7)), "");
  EXPECT_EQ(kinds(f.session_up(7, 70)), "OpenPty");
}

TEST(Sessions, KernelTunnelFailureClosesTheTunnel) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  f.core->kernel_tunnel_failed(f.now, 7, "EADDRINUSE");
  auto a = f.take();
  ASSERT_EQ(kinds(a), "CloseTunnel");
  EXPECT_EQ(only<CloseTunnel>(a)[0].result.message, "data path unavailable");
  // Its sessions (if the peer still sends ICRQs) take the pty.
  EXPECT_FALSE(f.core->has_kernel_tunnel(7));
}

TEST(Sessions, IPv6PeerIsRefused) {
  Fixture f;
  f.build();
  l2tp::PeerAddress v6;
  v6.family = l2tp::PeerAddress::Family::kV6;
  v6.port = 1701;
  EXPECT_EQ(kinds(f.tunnel_up(7, v6)), "CloseTunnel");
}

TEST(Sessions, ExhaustedPoolRefusesTheCallWithoutStartingPppd) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  for (uint16_t s = 1; s <= 3; ++s) f.start(7, s);
  auto a = f.session_up(7, 4);
  ASSERT_EQ(kinds(a), "CloseSession");
  auto cdn = only<CloseSession>(a)[0];
  EXPECT_EQ(cdn.result.result, l2tp::result::kCdnTemporaryResources);
  EXPECT_THAT(cdn.result.message, HasSubstr("no address"));
  EXPECT_EQ(f.core->counters().sessions_refused, 1u);
  EXPECT_EQ(f.core->session_count(), 3u);
}

TEST(Sessions, DataPathFailureUndoesAndRefuses) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto serial = only<CreateKernelSession>(f.session_up(7, 70))[0].serial;
  EXPECT_EQ(f.core->pool().sessions(), 1u);
  f.core->data_path_failed(f.now, serial, "EEXIST");
  auto a = f.take();
  EXPECT_EQ(kinds(a), "CloseSession ReleaseSession");
  EXPECT_EQ(only<CloseSession>(a)[0].result.result, l2tp::result::kCdnTemporaryResources);
  EXPECT_EQ(f.core->pool().sessions(), 0u);
  EXPECT_EQ(f.core->session_count(), 0u);
  // The SessionDown the CDN produces finds nothing to do.
  EXPECT_EQ(kinds(f.session_down(7, 70, false)), "");
}

TEST(Sessions, SpawnFailureUndoesEverythingAndFreesTheUnit) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto serial = only<CreateKernelSession>(f.session_up(7, 70))[0].serial;
  f.core->data_path_ready(f.now, serial, std::nullopt);
  f.take();
  f.core->pppd_spawn_failed(f.now, serial, "ENOENT");
  auto a = f.take();
  EXPECT_EQ(kinds(a), "CloseSession DestroyKernelSession ReleaseSession");
  EXPECT_EQ(f.core->pool().sessions(), 0u);
  // The next session gets the same unit (ppp-l2tp0) again.
  auto s2 = only<CreateKernelSession>(f.session_up(7, 71))[0].serial;
  f.core->data_path_ready(f.now, s2, std::nullopt);
  const auto spawned = only<SpawnPppd>(f.take());
  ASSERT_EQ(spawned.size(), 1u);
  EXPECT_THAT(spawned[0].argv, Contains("ppp-l2tp0"));
}

TEST(Sessions, PppdExitWhileOpenSendsCdnWithCauseAndReleasesAtOnce) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto [serial, pid] = f.start(7, 70);
  f.report(serial, ppp::PhaseEvent{ppp::PppPhase::kAuthenticate});
  f.core->pppd_exited(f.now, pid, f.exit_code(19));  // EXIT_AUTH_TOPEER_FAILED
  auto a = f.take();
  ASSERT_EQ(kinds(a), "CloseSession DestroyKernelSession ReleaseSession");
  auto cdn = only<CloseSession>(a)[0];
  EXPECT_EQ(cdn.tunnel_id, 7);
  EXPECT_EQ(cdn.session_id, 70);
  EXPECT_NE(cdn.result.result, 0);
  ASSERT_TRUE(cdn.cause);
  EXPECT_TRUE(logged(a, "event=pppd_exit tunnel=7 session=70"));
  EXPECT_EQ(f.core->pool().sessions(), 0u);
  EXPECT_EQ(f.core->counters().pppd_exits, 1u);
  EXPECT_EQ(kinds(f.session_down(7, 70, false)), "");  // the CDN's own SessionDown
}

TEST(Sessions, PeerCdnHangsUpPppdAndReleasesTheAddressOnlyAfterItExits) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto [serial, pid] = f.start(7, 70);
  auto a = f.session_down(7, 70);
  ASSERT_EQ(kinds(a), "DestroyKernelSession SignalPppd");
  EXPECT_EQ(only<SignalPppd>(a)[0].signal, SIGHUP);
  EXPECT_EQ(only<SignalPppd>(a)[0].pid, pid);
  EXPECT_EQ(f.core->pool().sessions(), 1u);  // pppd may still use it
  EXPECT_EQ(f.core->next_deadline(), f.now + std::chrono::milliseconds(5000));
  f.now += std::chrono::milliseconds(80);
  f.core->pppd_exited(f.now, pid, f.exit_code(5));
  a = f.take();
  EXPECT_EQ(kinds(a), "ReleaseSession");  // no CDN: the session is closed already
  EXPECT_EQ(f.core->pool().sessions(), 0u);
  EXPECT_EQ(f.core->next_deadline(), std::nullopt);
  EXPECT_EQ(f.core->counters().pppd_killed, 0u);
}

TEST(Sessions, PppdThatNeverExitsIsKilledAtTheStopTimeoutAndStillHoldsItsAddress) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto [serial, pid] = f.start(7, 70);
  f.session_down(7, 70);
  f.now += std::chrono::milliseconds(4999);
  f.core->on_timer(f.now);
  EXPECT_EQ(kinds(f.take()), "");
  f.now += std::chrono::milliseconds(1);
  f.core->on_timer(f.now);
  auto a = f.take();
  ASSERT_EQ(kinds(a), "SignalPppd");
  EXPECT_EQ(only<SignalPppd>(a)[0].signal, SIGKILL);
  EXPECT_EQ(f.core->counters().pppd_killed, 1u);
  EXPECT_EQ(f.core->pool().sessions(), 1u);  // until it is reaped
  EXPECT_EQ(f.core->next_deadline(), std::nullopt);
  f.core->pppd_exited(f.now, pid, ppp::PppdTermination{ppp::PppdExit::kKilledBySignal, -1, SIGKILL});
  EXPECT_EQ(kinds(f.take()), "ReleaseSession");
  EXPECT_EQ(f.core->pool().sessions(), 0u);
}

TEST(Sessions, CallEndedWhilePppdWasStartingGetsHungUpOnceItRuns) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto serial = only<CreateKernelSession>(f.session_up(7, 70))[0].serial;
  f.core->data_path_ready(f.now, serial, std::nullopt);
  f.take();
  EXPECT_EQ(kinds(f.session_down(7, 70)), "DestroyKernelSession");
  f.core->pppd_spawned(f.now, serial, 99);
  auto a = f.take();
  ASSERT_EQ(kinds(a), "SignalPppd");
  EXPECT_EQ(only<SignalPppd>(a)[0].signal, SIGHUP);
}

TEST(Sessions, CallEndedWhileItsDataPathWasMadeIsReleased) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto serial = only<CreateKernelSession>(f.session_up(7, 70))[0].serial;
  EXPECT_EQ(kinds(f.session_down(7, 70)), "ReleaseSession");
  f.core->data_path_ready(f.now, serial, std::nullopt);  // answered late: nothing to start
  EXPECT_EQ(kinds(f.take()), "");
  EXPECT_EQ(f.core->pool().sessions(), 0u);
}

TEST(Sessions, StaticAddressHeldByTheUsersOtherSessionEndsTheSecond) {
  Fixture f;
  ASSERT_TRUE(f.users.add(ppp::UserEntry{"alice", "password-1", ppp::parse_ipv4("10.99.0.20")}));
  f.config.pool.range = "10.99.0.10-10.99.0.30";
  f.build();
  f.tunnel_up(7);
  auto [s1, p1] = f.start(7, 70);
  auto [s2, p2] = f.start(7, 71);
  f.report(s1, ppp::AuthEvent{"alice"});
  auto a = f.take();
  EXPECT_EQ(kinds(a), "");
  EXPECT_TRUE(logged(a, "user=\"alice\" address=10.99.0.20"));
  f.report(s2, ppp::AuthEvent{"alice"});
  a = f.take();
  ASSERT_EQ(kinds(a), "CloseSession");
  EXPECT_EQ(only<CloseSession>(a)[0].session_id, 71);
  EXPECT_EQ(only<CloseSession>(a)[0].result.message, "static address already in use");
}

TEST(Sessions, AuthFailureReportIsCounted) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto [serial, pid] = f.start(7, 70);
  f.report(serial, ppp::AuthFailEvent{"mallory"});
  EXPECT_TRUE(logged(f.take(), "event=ppp_auth_failed"));
  EXPECT_EQ(f.core->counters().auth_failures, 1u);
}

TEST(Sessions, SeveralTunnelsOfOnePeerEndApart) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  f.tunnel_up(8, kMac);
  f.start(7, 70);
  f.start(8, 80, kMac);
  f.session_down(7, 70);
  auto a = f.tunnel_down(7);
  EXPECT_EQ(kinds(a), "DestroyKernelTunnel");
  EXPECT_EQ(only<DestroyKernelTunnel>(a)[0].tunnel_id, 7);
  EXPECT_TRUE(f.core->has_kernel_tunnel(8));
  auto views = f.core->views(std::chrono::system_clock::now(), f.now);
  ASSERT_EQ(views.size(), 2u);
  EXPECT_EQ(views[0].state, SessionPhase::kClosing);
  EXPECT_EQ(views[1].tunnel, 8);
  EXPECT_NE(views[1].state, SessionPhase::kClosing);
}

// A client that reconnects from the same address and port while its old session is still closing: the old
// tunnel's kernel tunnel is gone with its TunnelDown, so the new tunnel gets the kernel path; the old pppd keeps
// its address and unit until it exits, the new session gets others.
TEST(Sessions, ReconnectFromTheSameAddressAndPortWhileTheOldSessionIsClosing) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto [old_serial, old_pid] = f.start(7, 70);
  f.session_down(7, 70);
  f.tunnel_down(7);
  EXPECT_EQ(kinds(f.tunnel_up(9)), "CreateKernelTunnel");
  auto a = f.session_up(9, 90);
  ASSERT_EQ(kinds(a), "CreateKernelSession");
  f.core->data_path_ready(f.now, only<CreateKernelSession>(a)[0].serial, std::nullopt);
  auto spawn = only<SpawnPppd>(f.take());
  ASSERT_EQ(spawn.size(), 1u);
  EXPECT_THAT(spawn[0].argv, Contains("10.99.0.1:10.99.0.11"));  // .10 is still the old pppd's
  EXPECT_THAT(spawn[0].argv, Contains("ppp-l2tp1"));
  f.core->pppd_exited(f.now, old_pid, f.exit_code(16));
  EXPECT_EQ(kinds(f.take()), "ReleaseSession");
  EXPECT_EQ(f.core->pool().sessions(), 1u);
}

TEST(Sessions, DisconnectUserClosesOnlyTheirOpenSessions) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto [s1, p1] = f.start(7, 70);
  auto [s2, p2] = f.start(7, 71);
  f.report(s1, ppp::AuthEvent{"bob"});
  f.report(s2, ppp::AuthEvent{"carol"});
  f.take();
  EXPECT_EQ(f.core->disconnect_user(f.now, "bob"), 1u);
  auto a = f.take();
  ASSERT_EQ(kinds(a), "CloseSession");
  EXPECT_EQ(only<CloseSession>(a)[0].session_id, 70);
  EXPECT_EQ(only<CloseSession>(a)[0].result.result, l2tp::result::kCdnAdministrative);
  EXPECT_EQ(f.core->disconnect_user(f.now, "nobody"), 0u);
}

TEST(Sessions, ReloadKeepsLiveAddresses) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  f.start(7, 70);
  ppp::UserStore fresh;
  ASSERT_TRUE(fresh.add(ppp::UserEntry{"dave", "password-2", ppp::parse_ipv4("10.99.0.12")}));
  ASSERT_TRUE(f.core->reload_users(fresh));
  EXPECT_EQ(f.core->pool().sessions(), 1u);
  EXPECT_EQ(f.core->pool().address_of("s1"), ppp::parse_ipv4("10.99.0.10"));
}

TEST(Sessions, ViewsFollowTheSessionsPhase) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto wall = std::chrono::system_clock::now();
  auto [serial, pid] = f.start(7, 70);
  auto state = [&] { return f.core->views(wall, f.now).at(0).state; };
  EXPECT_EQ(state(), SessionPhase::kStarting);
  f.report(serial, ppp::PhaseEvent{ppp::PppPhase::kAuthenticate});
  EXPECT_EQ(state(), SessionPhase::kAuthenticating);
  f.report(serial, ppp::AuthEvent{"erin\xff"});
  f.report(serial, ppp::IpUpEvent{"ppp-l2tp0", *ppp::parse_ipv4("10.99.0.1"), *ppp::parse_ipv4("10.99.0.10")});
  EXPECT_EQ(state(), SessionPhase::kUp);
  auto v = f.core->views(wall, f.now).at(0);
  EXPECT_EQ(v.user, std::string("erin\xff"));  // raw: the renderers escape
  EXPECT_EQ(v.interface, std::string("ppp-l2tp0"));
  EXPECT_EQ(v.pppd_pid, pid);
  EXPECT_EQ(v.data_path, "kernel");
  f.report(serial, ppp::StatsEvent{100, 200, 3, 4, 5});
  f.report(serial, ppp::IpDownEvent{"ppp-l2tp0"});
  f.session_down(7, 70);
  v = f.core->views(wall, f.now).at(0);
  EXPECT_EQ(v.state, SessionPhase::kClosing);
  EXPECT_EQ(v.bytes_in, 100u);
}

// pppd starts off the event loop: between SpawnPppd and its pid the session is starting, not closing.
TEST(Sessions, ASessionWhosePppdIsStillStartingIsStarting) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  auto k = only<CreateKernelSession>(f.session_up(7, 70)).at(0);
  f.core->data_path_ready(f.now, k.serial, std::nullopt);
  ASSERT_EQ(kinds(f.take()), "SpawnPppd");
  auto wall = std::chrono::system_clock::now();
  EXPECT_EQ(f.core->views(wall, f.now).at(0).state, SessionPhase::kStarting);
  EXPECT_FALSE(f.core->views(wall, f.now).at(0).pppd_pid);
  f.session_down(7, 70);
  EXPECT_EQ(f.core->views(wall, f.now).at(0).state, SessionPhase::kClosing);
}

// /metrics counts sessions by phase without views: the counts are the views' states counted.
TEST(Sessions, PhaseCountsAreTheViewsStatesCounted) {
  Fixture f;
  f.config.pool.range = "10.99.0.10-10.99.0.20";
  f.build();
  f.tunnel_up(7);
  auto [up, pid_up] = f.start(7, 70);
  (void)pid_up;
  f.report(up, ppp::IpUpEvent{"ppp-l2tp0", *ppp::parse_ipv4("10.99.0.1"), *ppp::parse_ipv4("10.99.0.10")});
  f.start(7, 71);
  auto [auth, pid_auth] = f.start(7, 72);
  (void)pid_auth;
  f.report(auth, ppp::PhaseEvent{ppp::PppPhase::kAuthenticate});
  f.start(7, 73);
  f.session_down(7, 73);
  std::map<SessionPhase, uint64_t> counted;
  for (const auto& v : f.core->views(std::chrono::system_clock::now(), f.now)) ++counted[v.state];
  EXPECT_EQ(f.core->phase_counts(), counted);
  EXPECT_EQ(counted, (std::map<SessionPhase, uint64_t>{{SessionPhase::kStarting, 1},
                                                       {SessionPhase::kAuthenticating, 1},
                                                       {SessionPhase::kUp, 1},
                                                       {SessionPhase::kClosing, 1}}));
}

// At most max_starting pppd starts are asked for at once; the other sessions wait their turn in order (starting,
// no argv held) and get theirs as answers come, a failed start included.
TEST(Sessions, PppdStartsWaitTheirTurn) {
  Fixture f;
  f.config.pool.range = "10.99.0.10-10.99.0.20";
  f.config.max_starting = 2;
  f.build();
  f.tunnel_up(7);
  std::vector<uint64_t> serials;
  std::vector<std::string> spawned;
  for (uint16_t sid = 70; sid < 74; ++sid) {
    auto k = only<CreateKernelSession>(f.session_up(7, sid)).at(0);
    serials.push_back(k.serial);
    f.core->data_path_ready(f.now, k.serial, std::nullopt);
    for (const auto& sp : only<SpawnPppd>(f.take())) spawned.push_back(std::to_string(sp.serial));
  }
  EXPECT_EQ(spawned, (std::vector<std::string>{std::to_string(serials[0]), std::to_string(serials[1])}));
  auto wall = std::chrono::system_clock::now();
  for (const auto& v : f.core->views(wall, f.now)) EXPECT_EQ(v.state, SessionPhase::kStarting);
  f.core->pppd_spawned(f.now, serials[0], 500);
  auto a = only<SpawnPppd>(f.take());
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].serial, serials[2]) << "in order";
  f.core->pppd_spawn_failed(f.now, serials[1], "test");
  a = only<SpawnPppd>(f.take());
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].serial, serials[3]);
  f.core->pppd_spawned(f.now, serials[2], 501);
  f.core->pppd_spawned(f.now, serials[3], 502);
  EXPECT_TRUE(only<SpawnPppd>(f.take()).empty());
  EXPECT_EQ(f.core->running_pppd(), 3u);
}

// A call that ends while its session waits for a start slot is finished at once (there is no process) and never
// gets a start.
TEST(Sessions, ACallEndedWhileWaitingForAStartNeverGetsOne) {
  Fixture f;
  f.config.max_starting = 1;
  f.build();
  f.tunnel_up(7);
  auto first = only<CreateKernelSession>(f.session_up(7, 70)).at(0);
  f.core->data_path_ready(f.now, first.serial, std::nullopt);
  ASSERT_EQ(only<SpawnPppd>(f.take()).size(), 1u);
  auto second = only<CreateKernelSession>(f.session_up(7, 71)).at(0);
  f.core->data_path_ready(f.now, second.serial, std::nullopt);
  EXPECT_TRUE(only<SpawnPppd>(f.take()).empty()) << "waits";
  auto a = f.session_down(7, 71);
  EXPECT_EQ(only<ReleaseSession>(a).size(), 1u) << kinds(a);
  EXPECT_EQ(f.core->session_count(), 1u);
  EXPECT_EQ(f.core->pool().sessions(), 1u) << "its address is back";
  f.core->pppd_spawned(f.now, first.serial, 500);
  EXPECT_TRUE(only<SpawnPppd>(f.take()).empty());
}

TEST(Sessions, ReleaseAllAtShutdownLeavesNothing) {
  Fixture f;
  f.build();
  f.tunnel_up(7);
  f.start(7, 70);
  f.session_up(7, 71);  // data path not answered yet
  f.core->release_all();
  auto a = f.take();
  EXPECT_EQ(only<ReleaseSession>(a).size(), 2u);
  EXPECT_TRUE(only<CloseSession>(a).empty());
  EXPECT_EQ(f.core->session_count(), 0u);
  EXPECT_EQ(f.core->pool().sessions(), 0u);
}

// The accounting per-peer limits need: sessions of a client (address and port), of a host (every port: clients
// behind one NAT), and those not authenticated yet, each and in total.
TEST(Sessions, PerPeerAccounting) {
  const l2tp::PeerAddress nat_a = l2tp::PeerAddress::v4(0xc0000214, 40001);
  const l2tp::PeerAddress nat_b = l2tp::PeerAddress::v4(0xc0000214, 40002);
  Fixture f;
  f.config.pool.range = "10.99.0.10-10.99.0.30";
  f.build();
  f.tunnel_up(7, nat_a);
  f.tunnel_up(8, nat_b);
  auto [a1, pa1] = f.start(7, 70, nat_a);
  f.start(7, 71, nat_a);
  f.start(8, 80, nat_b);
  f.report(a1, ppp::AuthEvent{"alice"});
  EXPECT_EQ(f.core->usage_of(nat_a), (PeerUsage{2, 1}));
  EXPECT_EQ(f.core->usage_of(nat_b), (PeerUsage{1, 1}));
  EXPECT_EQ(f.core->usage_of_host(nat_a), (PeerUsage{3, 2}));
  EXPECT_EQ(f.core->usage_of(kWin), (PeerUsage{0, 0}));
  EXPECT_EQ(f.core->unauthenticated(), 2u);
  // A session counts until its pppd has gone.
  f.session_down(7, 70);
  EXPECT_EQ(f.core->usage_of(nat_a).sessions, 2u);
  f.core->pppd_exited(f.now, pa1, f.exit_code(5));
  EXPECT_EQ(f.core->usage_of(nat_a), (PeerUsage{1, 1}));
}

// ---- per-peer limits ----

// The CDN a refused SessionUp got, or nullopt.
std::optional<l2tp::ResultCode> cdn_of(const std::vector<Action>& a) {
  auto c = only<CloseSession>(a);
  if (c.empty()) return std::nullopt;
  return c[0].result;
}

// Before authenticating, a session already holds a pool address and a pppd: one address opening sessions without
// ever authenticating is refused past its cap while the pool still has free addresses, and other peers are not
// affected.
TEST(Sessions, UnauthenticatedSessionsOfOnePeerAreCappedWhileThePoolHasRoom) {
  const l2tp::PeerAddress other = l2tp::PeerAddress::v4(0xc0000263, 1701);
  Fixture f;
  f.config.pool.range = "10.99.0.10-10.99.0.60";
  f.config.ppp.max_unauthenticated_per_peer = 3;
  f.build();
  f.tunnel_up(7);
  f.tunnel_up(9, other);
  for (uint16_t sid = 1; sid <= 3; ++sid) f.start(7, sid);
  auto refused = f.session_up(7, 4);
  auto cdn = cdn_of(refused);
  ASSERT_TRUE(cdn) << kinds(refused);
  EXPECT_EQ(cdn->result, l2tp::result::kCdnTemporaryResources);
  EXPECT_NE(cdn->message.find("ppp.max_unauthenticated_per_peer"), std::string::npos) << cdn->message;
  EXPECT_TRUE(only<SpawnPppd>(refused).empty());
  EXPECT_EQ(f.core->pool().sessions(), 3u);  // nothing taken for the refused one
  EXPECT_GT(f.core->pool().dynamic_capacity() - f.core->pool().dynamic_in_use(), 40u);
  EXPECT_EQ(f.core->counters().sessions_over_limit, 1u);
  EXPECT_EQ(f.core->counters().sessions_refused, 1u);
  // Another address still gets in.
  f.start(9, 1, other);
  EXPECT_EQ(f.core->usage_of_host(other), (PeerUsage{1, 1}));
}

TEST(Sessions, AuthenticatingFreesTheUnauthenticatedSlot) {
  Fixture f;
  f.config.pool.range = "10.99.0.10-10.99.0.60";
  f.config.ppp.max_unauthenticated_per_peer = 1;
  f.build();
  f.tunnel_up(7);
  auto [serial, pid] = f.start(7, 1);
  EXPECT_TRUE(cdn_of(f.session_up(7, 2)));
  f.report(serial, ppp::AuthEvent{"alice"});
  f.report(serial, ppp::AuthEvent{"alice"});  // a repeated report counts once
  EXPECT_EQ(f.core->usage_of_host(kWin), (PeerUsage{1, 0}));
  f.start(7, 3);
  EXPECT_EQ(f.core->usage_of_host(kWin), (PeerUsage{2, 1}));
  EXPECT_EQ(f.core->unauthenticated(), 1u);
}

TEST(Sessions, TotalUnauthenticatedAndSessionsPerPeerAreCapped) {
  const l2tp::PeerAddress b = l2tp::PeerAddress::v4(0xc0000263, 1701), c = l2tp::PeerAddress::v4(0xc0000264, 1701);
  Fixture f;
  f.config.pool.range = "10.99.0.10-10.99.0.60";
  f.config.ppp.max_unauthenticated = 2;
  f.config.ppp.max_sessions_per_peer = 2;
  f.build();
  f.tunnel_up(7);
  f.tunnel_up(8, b);
  f.tunnel_up(9, c);
  auto [s1, p1] = f.start(7, 1);
  auto [s2, p2] = f.start(8, 1, b);
  auto cdn = cdn_of(f.session_up(9, 1, c));  // a third peer: the total is reached
  ASSERT_TRUE(cdn);
  EXPECT_NE(cdn->message.find("ppp.max_unauthenticated)"), std::string::npos) << cdn->message;
  f.report(s1, ppp::AuthEvent{"alice"});
  f.report(s2, ppp::AuthEvent{"bob"});
  auto [s3, p3] = f.start(7, 2);
  f.report(s3, ppp::AuthEvent{"alice"});
  cdn = cdn_of(f.session_up(7, 3));  // kWin has 2 sessions now
  ASSERT_TRUE(cdn);
  EXPECT_NE(cdn->message.find("ppp.max_sessions_per_peer"), std::string::npos) << cdn->message;
  EXPECT_EQ(f.core->counters().sessions_over_limit, 2u);
}

// The accounting follows sessions to their end, whichever way they end (refused data path, pppd exit, shutdown).
TEST(Sessions, AccountingReturnsToZero) {
  Fixture f;
  f.config.pool.range = "10.99.0.10-10.99.0.60";
  f.build();
  f.tunnel_up(7);
  auto [s1, p1] = f.start(7, 1);
  f.report(s1, ppp::AuthEvent{"alice"});
  f.start(7, 2);
  auto up = f.session_up(7, 3);
  uint64_t s3 = only<CreateKernelSession>(up).at(0).serial;
  f.core->data_path_failed(f.now, s3, "no");
  f.take();
  f.session_down(7, 1);
  f.core->pppd_exited(f.now, p1, f.exit_code(5));
  EXPECT_EQ(f.core->usage_of_host(kWin), (PeerUsage{1, 1}));
  f.core->release_all();
  EXPECT_EQ(f.core->usage_of_host(kWin), (PeerUsage{0, 0}));
  EXPECT_EQ(f.core->usage_of(kWin), (PeerUsage{0, 0}));
  EXPECT_EQ(f.core->unauthenticated(), 0u);
}

// A users reload ends the sessions of users removed or given a new password (the default), and only those.
TEST(Sessions, ReloadEndsSessionsOfRemovedUsersAndChangedPasswords) {
  for (bool end_them : {true, false}) {
    Fixture f;
    f.config.pool.range = "10.99.0.10-10.99.0.60";
    f.config.ppp.end_sessions_of_changed_users = end_them;
    for (const char* u : {"alice", "bob", "carol"}) ASSERT_TRUE(f.users.add(ppp::UserEntry{u, "password-1", {}}));
    f.build();
    f.tunnel_up(7);
    uint16_t sid = 1;
    for (const char* u : {"alice", "bob", "carol"}) {
      auto [serial, pid] = f.start(7, sid++);
      f.report(serial, ppp::AuthEvent{u});
    }
    ppp::UserStore next;
    ASSERT_TRUE(next.add(ppp::UserEntry{"alice", "password-1", {}}));  // unchanged
    ASSERT_TRUE(next.add(ppp::UserEntry{"bob", "password-2", {}}));    // new password; carol removed
    ASSERT_TRUE(f.core->reload_users(next));
    auto cdns = only<CloseSession>(f.take());
    if (!end_them) {
      EXPECT_TRUE(cdns.empty());
      continue;
    }
    ASSERT_EQ(cdns.size(), 2u);
    EXPECT_EQ(cdns[0].session_id, 2);
    EXPECT_EQ(cdns[0].result.message, "password changed");
    EXPECT_EQ(cdns[1].session_id, 3);
    EXPECT_EQ(cdns[1].result.message, "user removed");
    for (const auto& c : cdns) EXPECT_EQ(c.result.result, l2tp::result::kCdnAdministrative);
    // Once the endpoint has closed them, a second reload of the same store changes nothing.
    f.session_down(7, 2, false);
    f.session_down(7, 3, false);
    ASSERT_TRUE(f.core->reload_users(next));
    EXPECT_TRUE(only<CloseSession>(f.take()).empty());
  }
}

}  // namespace
}  // namespace l2tpvpn::vpn
