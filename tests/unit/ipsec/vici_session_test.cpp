#include "ipsec/vici_session.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::vici {
namespace {

// Splits the session's output into packets, as charon would read them.
std::vector<Packet> sent(Session& s) {
  Bytes out = s.take_output();
  FrameReader r;
  EXPECT_TRUE(r.feed(out));
  std::vector<Packet> packets;
  while (auto p = r.pop()) packets.push_back(*decode_packet(*p));
  return packets;
}

Bytes frame(PacketType t, std::string name = {}, Message m = {}) {
  return *encode_frame(Packet{t, std::move(name), std::move(m)});
}

Message kv(std::string k, std::string v) {
  Message m;
  m.set(std::move(k), std::move(v));
  return m;
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { s.on_connect(); }
  Session s;
};

TEST_F(SessionTest, SubmittingWhileDisconnectedFailsAtOnce) {
  Session off;
  auto st = off.command("version", {}, [](auto) { FAIL(); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, CommandError::Kind::kDisconnected);
  EXPECT_FALSE(off.register_event("log"));
  EXPECT_FALSE(off.streamed_command("list-sas", {}, "list-sa", [](auto) {}));
}

TEST_F(SessionTest, OneCommandOnTheWireAtATime) {
  std::vector<std::string> answers;
  ASSERT_TRUE(s.command("version", {}, [&](auto r) { answers.push_back(*r->response.value("version")); }));
  ASSERT_TRUE(s.command("stats", {}, [&](auto r) { answers.push_back(*r->response.value("uptime")); }));
  auto first = sent(s);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].type, PacketType::kCmdRequest);
  EXPECT_EQ(first[0].name, "version");
  EXPECT_EQ(s.queued(), 2u);
  EXPECT_TRUE(s.outstanding().has_value());

  ASSERT_TRUE(s.on_bytes(frame(PacketType::kCmdResponse, "", kv("version", "5.9.8"))));
  auto second = sent(s);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].name, "stats");
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kCmdResponse, "", kv("uptime", "1s"))));
  EXPECT_EQ(answers, (std::vector<std::string>{"5.9.8", "1s"}));
  EXPECT_FALSE(s.outstanding());
  EXPECT_EQ(s.stats().commands_sent, 2u);
}

TEST_F(SessionTest, SuccessNoAndCmdUnknownAreErrors) {
  std::vector<CommandError> errors;
  auto collect = [&](Result<CommandReply, CommandError> r) {
    ASSERT_FALSE(r);
    errors.push_back(r.error());
  };
  ASSERT_TRUE(s.command("load-conn", {}, collect));
  ASSERT_TRUE(s.command("no-such", {}, collect));
  Message no = kv("success", "no");
  no.set("errmsg", "bad proposal");
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kCmdResponse, "", no)));
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kCmdUnknown)));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].kind, CommandError::Kind::kFailed);
  EXPECT_EQ(errors[0].message, "bad proposal");
  EXPECT_EQ(errors[1].kind, CommandError::Kind::kUnknownCommand);
  EXPECT_EQ(s.stats().commands_failed, 2u);
}

TEST_F(SessionTest, StreamedCommandRegistersCollectsAndUnregisters) {
  std::optional<CommandReply> reply;
  std::vector<std::string> other_events;
  s.set_event_handler([&](const std::string& name, const Message&) { other_events.push_back(name); });
  ASSERT_TRUE(s.streamed_command("list-sas", kv("noblock", "yes"), "list-sa", [&](auto r) { reply = *r; }));

  auto p = sent(s);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].type, PacketType::kEventRegister);
  EXPECT_EQ(p[0].name, "list-sa");
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kEventConfirm)));
  p = sent(s);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].type, PacketType::kCmdRequest);
  EXPECT_EQ(*p[0].message.value("noblock"), "yes");

  // Stream events interleaved with an unrelated event, all in one read.
  Bytes in;
  for (auto f : {frame(PacketType::kEvent, "list-sa", kv("a", "1")), frame(PacketType::kEvent, "child-updown"),
                 frame(PacketType::kEvent, "list-sa", kv("b", "2")), frame(PacketType::kCmdResponse)})
    in.insert(in.end(), f.begin(), f.end());
  ASSERT_TRUE(s.on_bytes(in));
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->stream.size(), 2u);
  EXPECT_EQ(*reply->stream[1].value("b"), "2");
  EXPECT_EQ(other_events, (std::vector<std::string>{"child-updown"}));

  p = sent(s);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].type, PacketType::kEventUnregister);
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kEventConfirm)));
  EXPECT_EQ(s.queued(), 0u);
  // After the command, a late list-sa goes to the handler instead of a finished reply.
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kEvent, "list-sa")));
  EXPECT_EQ(other_events.back(), "list-sa");
}

TEST_F(SessionTest, StreamedCommandWithUnknownEventFailsWithoutSending) {
  std::optional<CommandError> err;
  ASSERT_TRUE(s.streamed_command("list-foo", {}, "foo", [&](auto r) { err = r.error(); }));
  ASSERT_TRUE(s.command("version", {}, [](auto) {}));
  sent(s);
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kEventUnknown)));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->kind, CommandError::Kind::kUnknownEvent);
  auto p = sent(s);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].name, "version");  // the streamed command and its unregister were skipped
}

TEST_F(SessionTest, RegistrationConfirmAndUnknown) {
  std::vector<bool> results;
  ASSERT_TRUE(s.register_event("ike-updown", [&](auto st) { results.push_back(st.has_value()); }));
  ASSERT_TRUE(s.register_event("bogus", [&](auto st) { results.push_back(st.has_value()); }));
  ASSERT_TRUE(s.unregister_event("ike-updown", [&](auto st) { results.push_back(st.has_value()); }));
  auto p = sent(s);
  EXPECT_EQ(p[0].type, PacketType::kEventRegister);
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kEventConfirm)));
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kEventUnknown)));
  p = sent(s);
  ASSERT_EQ(p.size(), 2u);  // "bogus" register then unregister, one after the other
  EXPECT_EQ(p[1].type, PacketType::kEventUnregister);
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kEventConfirm)));
  EXPECT_EQ(results, (std::vector<bool>{true, false, true}));
}

TEST_F(SessionTest, EventsArriveAnytime) {
  std::vector<std::string> names;
  s.set_event_handler([&](const std::string& n, const Message& m) { names.push_back(n + ":" + m.value_or("up", "")); });
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kEvent, "ike-updown", kv("up", "yes"))));
  ASSERT_TRUE(s.command("version", {}, [](auto) {}));
  ASSERT_TRUE(s.on_bytes(frame(PacketType::kEvent, "child-updown")));
  EXPECT_EQ(names, (std::vector<std::string>{"ike-updown:yes", "child-updown:"}));
  EXPECT_EQ(s.stats().events_received, 2u);
}

TEST_F(SessionTest, UnexpectedPacketsAreProtocolErrors) {
  auto expect_fail = [&](Bytes b, SessionFailure::Kind kind) {
    Session t;
    t.on_connect();
    auto st = t.on_bytes(b);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, kind) << st.error().detail;
  };
  expect_fail(frame(PacketType::kCmdResponse), SessionFailure::Kind::kUnexpectedPacket);
  expect_fail(frame(PacketType::kEventConfirm), SessionFailure::Kind::kUnexpectedPacket);
  expect_fail(frame(PacketType::kCmdRequest, "x"), SessionFailure::Kind::kUnexpectedPacket);
  expect_fail(frame(PacketType::kEventRegister, "x"), SessionFailure::Kind::kUnexpectedPacket);
  expect_fail(Bytes{0, 0, 0, 1, 9}, SessionFailure::Kind::kPacket);
  expect_fail(Bytes{0, 0x10, 0, 0}, SessionFailure::Kind::kFrame);
  // A confirm while a command is outstanding is the wrong kind of answer.
  ASSERT_TRUE(s.command("version", {}, [](auto) {}));
  sent(s);
  EXPECT_FALSE(s.on_bytes(frame(PacketType::kEventConfirm)));
}

TEST_F(SessionTest, DisconnectFailsEverythingAndReconnectStartsClean) {
  int disconnected = 0;
  ASSERT_TRUE(s.command("version", {}, [&](auto r) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, CommandError::Kind::kDisconnected);
    ++disconnected;
    // Submitting from the callback is allowed and fails at once: we are disconnected.
    EXPECT_FALSE(s.command("stats", {}, [](auto) {}));
  }));
  ASSERT_TRUE(s.register_event("log", [&](auto st) {
    EXPECT_FALSE(st);
    ++disconnected;
  }));
  ASSERT_TRUE(s.on_bytes(Bytes{0, 0, 0}));  // half a frame header
  s.on_disconnect();
  EXPECT_EQ(disconnected, 2);
  EXPECT_EQ(s.queued(), 0u);
  EXPECT_FALSE(s.wants_write());
  s.on_connect();
  // The leftover partial header is gone: a fresh frame decodes.
  ASSERT_TRUE(s.command("version", {}, [](auto r) { EXPECT_TRUE(r); }));
  sent(s);
  EXPECT_TRUE(s.on_bytes(frame(PacketType::kCmdResponse)));
}

TEST_F(SessionTest, OversizedRequestIsRejectedAtSubmit) {
  Message big;
  for (int i = 0; i < 9; ++i) big.set("k" + std::to_string(i), std::string(65535, 'v'));
  auto st = s.command("load-conn", big, [](auto) {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, CommandError::Kind::kEncode);
  EXPECT_EQ(s.queued(), 0u);
}

}  // namespace
}  // namespace l2tpvpn::vici
