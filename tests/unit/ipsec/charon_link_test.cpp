#include "ipsec/charon_link.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>

namespace l2tpvpn::ipsec {
namespace {

using vici::Message;
using vici::Packet;
using vici::PacketType;
using vici::Section;

Bytes frame(PacketType t, std::string name = {}, Message m = {}) {
  return *vici::encode_frame(Packet{t, std::move(name), std::move(m)});
}

// A scripted charon on the other end of a Session: it answers every request the way charon does and records
// what it was asked. `sas` is what list-sas streams; `before_list_reply` lets a test inject events mid-stream.
struct FakeCharon {
  explicit FakeCharon(vici::Session& session) : s(session) {}
  vici::Session& s;
  std::vector<Packet> received;
  std::vector<Message> sas;
  std::set<std::string> unknown_events;
  std::set<std::string> failing_commands;
  std::function<void()> before_list_reply;

  // Answers everything the session has sent, until it is quiet.
  void run() {
    for (int guard = 0; guard < 1000; ++guard) {
      Bytes out = s.take_output();
      if (out.empty()) return;
      vici::FrameReader r;
      ASSERT_TRUE(r.feed(out));
      while (auto payload = r.pop()) answer(*vici::decode_packet(*payload));
    }
    FAIL() << "session did not go quiet";
  }

  void answer(const Packet& p) {
    received.push_back(p);
    switch (p.type) {
      case PacketType::kEventRegister:
      case PacketType::kEventUnregister:
        ASSERT_TRUE(
            s.on_bytes(frame(unknown_events.count(p.name) ? PacketType::kEventUnknown : PacketType::kEventConfirm)));
        break;
      case PacketType::kCmdRequest: {
        if (p.name == "list-sas") {
          for (const auto& m : sas) ASSERT_TRUE(s.on_bytes(frame(PacketType::kEvent, "list-sa", m)));
          if (before_list_reply) before_list_reply();
          ASSERT_TRUE(s.on_bytes(frame(PacketType::kCmdResponse)));
          break;
        }
        Message reply;
        if (failing_commands.count(p.name)) {
          reply.set("success", "no");
          reply.set("errmsg", "refused " + p.name);
        } else {
          reply.set("success", "yes");
        }
        ASSERT_TRUE(s.on_bytes(frame(PacketType::kCmdResponse, "", reply)));
        break;
      }
      default: FAIL() << "client sent " << vici::to_string(p.type);
    }
  }

  std::vector<std::string> names(PacketType t) const {
    std::vector<std::string> out;
    for (const auto& p : received)
      if (p.type == t) out.push_back(p.name);
    return out;
  }
};

Message sa_message(uint32_t ike_id, uint32_t child_id, const char* remote) {
  Message m;
  Section& ike = m.add_section("l2tpvpn");
  ike.set("uniqueid", std::to_string(ike_id));
  ike.set("remote-host", remote);
  ike.set("remote-port", "4500");
  Section& c = ike.add_section("child-sas").add_section("l2tp-" + std::to_string(child_id));
  c.set("uniqueid", std::to_string(child_id));
  c.set("state", "INSTALLED");
  c.set("mode", "TRANSPORT");
  c.set("protocol", "ESP");
  c.set_list("local-ts", {"192.0.2.1/32[udp/l2f]"});
  c.set_list("remote-ts", {std::string(remote) + "/32[udp/l2f]"});
  return m;
}

Message child_updown(bool up, uint32_t ike_id, uint32_t child_id, const char* remote) {
  Message m = sa_message(ike_id, child_id, remote);
  if (up) m.set("up", "yes");
  return m;
}

ProfileConfig profile(const char* name) {
  ProfileConfig c;
  c.name = name;
  c.psk = "test-psk-123";
  return c;
}

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

class CharonLinkTest : public ::testing::Test {
 protected:
  vici::Session session;
  SaRegistry registry;
  CharonLink link{session, registry};
  FakeCharon charon{session};
};

TEST_F(CharonLinkTest, ConnectRegistersLoadsThenSnapshots) {
  ASSERT_TRUE(link.add_profile(profile("l2tpvpn")));
  charon.sas = {sa_message(1, 1, "198.51.100.7")};
  std::vector<LinkState> states;
  link.set_on_state([&](LinkState s) { states.push_back(s); });
  session.on_connect();
  link.on_connected();
  EXPECT_EQ(link.state(), LinkState::kSyncing);
  charon.run();
  EXPECT_EQ(link.state(), LinkState::kReady);
  EXPECT_EQ(states, (std::vector<LinkState>{LinkState::kSyncing, LinkState::kReady}));

  std::vector<std::string> order;
  for (const auto& p : charon.received) order.push_back(std::string(vici::to_string(p.type)) + " " + p.name);
  const std::vector<std::string> expected = {
      "EVENT_REGISTER ike-updown",  "EVENT_REGISTER child-updown", "EVENT_REGISTER ike-rekey",
      "EVENT_REGISTER child-rekey", "EVENT_REGISTER ike-update",   "CMD_REQUEST load-shared",
      "CMD_REQUEST load-conn",      "EVENT_REGISTER list-sa",      "CMD_REQUEST list-sas",
      "EVENT_UNREGISTER list-sa",
  };
  EXPECT_EQ(order, expected);
  EXPECT_TRUE(registry.find(ip("198.51.100.7"), 1701, 0));
  EXPECT_EQ(link.stats().syncs, 1u);
}

TEST_F(CharonLinkTest, ReconnectRedoesEverythingAndReplacesTheView) {
  ASSERT_TRUE(link.add_profile(profile("a")));
  ASSERT_TRUE(link.add_profile(profile("b")));
  charon.sas = {sa_message(1, 1, "198.51.100.7")};
  session.on_connect();
  link.on_connected();
  charon.run();
  ASSERT_TRUE(registry.find(ip("198.51.100.7"), 1701, 0));

  // charon dies and comes back with different SAs.
  session.on_disconnect();
  link.on_disconnected();
  EXPECT_EQ(link.state(), LinkState::kDisconnected);
  charon.received.clear();
  charon.sas = {sa_message(1, 2, "198.51.100.8")};
  session.on_connect();
  link.on_connected();
  charon.run();
  EXPECT_EQ(link.state(), LinkState::kReady);
  EXPECT_EQ(charon.names(PacketType::kEventRegister).size(), 6u);  // 5 events + list-sa
  auto cmds = charon.names(PacketType::kCmdRequest);
  EXPECT_EQ(std::count(cmds.begin(), cmds.end(), "load-conn"), 2);
  EXPECT_EQ(std::count(cmds.begin(), cmds.end(), "load-shared"), 2);
  EXPECT_FALSE(registry.find(ip("198.51.100.7"), 1701, 0));
  EXPECT_TRUE(registry.find(ip("198.51.100.8"), 1701, 0));
  EXPECT_EQ(link.stats().syncs, 2u);
}

TEST_F(CharonLinkTest, EventsRacingTheSnapshotAreReplayedOnTopOfIt) {
  charon.sas = {sa_message(1, 1, "198.51.100.7")};
  // While list-sa events stream, SA 1 goes down and SA 2 comes up: the snapshot (taken before) still shows 1.
  charon.before_list_reply = [&] {
    ASSERT_TRUE(session.on_bytes(frame(PacketType::kEvent, "child-updown", child_updown(false, 1, 1, "198.51.100.7"))));
    ASSERT_TRUE(session.on_bytes(frame(PacketType::kEvent, "child-updown", child_updown(true, 2, 2, "198.51.100.8"))));
  };
  session.on_connect();
  link.on_connected();
  charon.run();
  EXPECT_FALSE(registry.find(ip("198.51.100.7"), 1701, 0));
  EXPECT_TRUE(registry.find(ip("198.51.100.8"), 1701, 0));

  // Once ready, events apply directly.
  ASSERT_TRUE(session.on_bytes(frame(PacketType::kEvent, "child-updown", child_updown(false, 2, 2, "198.51.100.8"))));
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_EQ(link.stats().events, 3u);
}

TEST_F(CharonLinkTest, FailuresAreCountedAndDoNotBlockReady) {
  charon.unknown_events = {"ike-update"};  // an older charon
  charon.failing_commands = {"load-conn"};
  ASSERT_TRUE(link.add_profile(profile("l2tpvpn")));
  session.on_connect();
  link.on_connected();
  charon.run();
  EXPECT_EQ(link.state(), LinkState::kReady);
  EXPECT_EQ(link.stats().registration_failures, 1u);
  EXPECT_EQ(link.stats().load_failures, 1u);
  EXPECT_EQ(link.last_error(), "load-conn: refused load-conn");
}

TEST_F(CharonLinkTest, ProfilesAddedAndRemovedWhileConnected) {
  session.on_connect();
  link.on_connected();
  charon.run();
  charon.received.clear();
  ASSERT_TRUE(link.add_profile(profile("late")));
  charon.run();
  EXPECT_EQ(charon.names(PacketType::kCmdRequest), (std::vector<std::string>{"load-shared", "load-conn"}));
  charon.received.clear();
  link.remove_profile("late");
  link.remove_profile("never-added");
  charon.run();
  EXPECT_EQ(charon.names(PacketType::kCmdRequest), (std::vector<std::string>{"unload-conn", "unload-shared"}));
  EXPECT_EQ(*charon.received[0].message.value("name"), "late");

  ProfileConfig bad = profile("bad");
  bad.psk = "short";
  auto st = link.add_profile(bad);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().field, "psk");
}

TEST_F(CharonLinkTest, RefreshTakesANewSnapshotAndTerminateSendsTheId) {
  session.on_connect();
  link.on_connected();
  charon.run();
  EXPECT_EQ(registry.size(), 0u);
  charon.sas = {sa_message(4, 4, "198.51.100.9")};
  link.refresh();
  charon.run();
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_EQ(link.stats().snapshots, 2u);

  charon.received.clear();
  std::optional<bool> ok;
  link.terminate_ike(4, [&](auto st) { ok = st.has_value(); });
  charon.run();
  ASSERT_TRUE(ok);
  EXPECT_TRUE(*ok);
  ASSERT_EQ(charon.received.size(), 1u);
  EXPECT_EQ(charon.received[0].name, "terminate");
  EXPECT_EQ(*charon.received[0].message.value("ike-id"), "4");
}

TEST_F(CharonLinkTest, DisconnectDuringSyncLeavesNoStaleCallbacks) {
  ASSERT_TRUE(link.add_profile(profile("l2tpvpn")));
  session.on_connect();
  link.on_connected();
  // Nothing answered: the connection drops with everything outstanding.
  session.on_disconnect();
  link.on_disconnected();
  EXPECT_EQ(link.state(), LinkState::kDisconnected);
  EXPECT_EQ(link.stats().load_failures, 0u);  // "disconnected" is not a load failure
  std::optional<bool> ok;
  link.terminate_ike(1, [&](auto st) { ok = st.has_value(); });
  ASSERT_TRUE(ok);
  EXPECT_FALSE(*ok);
}

}  // namespace
}  // namespace l2tpvpn::ipsec
