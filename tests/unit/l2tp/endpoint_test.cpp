// Endpoint + tunnel/session FSM tests. Two endpoints (a LAC and an LNS) exchange datagrams in memory; each test
// asserts on the actions the pure core returns. Time is virtual.
#include "server/l2tp/endpoint.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>

namespace l2tpvpn::l2tp {
namespace {

RandomFn seeded(uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [rng](std::span<uint8_t> out) {
    for (auto& b : out) b = static_cast<uint8_t>((*rng)());
  };
}

template <class T>
std::vector<T> only(const std::vector<Action>& actions) {
  std::vector<T> out;
  for (const auto& a : actions)
    if (auto* p = std::get_if<T>(&a)) out.push_back(*p);
  return out;
}

Message decode_sent(const SendDatagram& d, ByteView secret = {}) {
  auto p = decode_packet(d.bytes);
  EXPECT_TRUE(p);
  auto m = decode_message(p->payload, DecodeOptions{secret});
  EXPECT_TRUE(m) << to_string(m.error().kind);
  return *m;
}

const PeerAddress kLacAddr = PeerAddress::v4(0xc0000202, 1701);  // 192.0.2.2
const PeerAddress kLnsAddr = PeerAddress::v4(0xc0000201, 1701);  // 192.0.2.1

// Two endpoints joined by a perfect link. run() delivers datagrams and fires timers in virtual time until nothing
// is left to do or `limit` of virtual time has passed; every non-send action is recorded per side.
struct Pair {
  L2tpConfig lac_cfg, lns_cfg;
  std::unique_ptr<Endpoint> lac, lns;
  std::vector<Action> lac_events, lns_events;
  TimePoint now{};
  bool drop_all = false;

  Pair() {
    lac_cfg.role = Role::kLac;
    lac_cfg.host_name = "lac";
    lns_cfg.role = Role::kLns;
    lns_cfg.host_name = "lns";
    lac_cfg.channel.hello_interval = lns_cfg.channel.hello_interval = Duration(0);
  }
  void build(AdmissionFn admission = {}) {
    lac = std::make_unique<Endpoint>(lac_cfg, seeded(1));
    lns = std::make_unique<Endpoint>(lns_cfg, seeded(2), std::move(admission));
  }
  // Moves datagrams between the two; returns true if anything happened.
  bool pump() {
    bool any = false;
    for (auto [from, to, from_addr, events] :
         {std::tuple{lac.get(), lns.get(), kLacAddr, &lac_events}, std::tuple{lns.get(), lac.get(), kLnsAddr, &lns_events}}) {
      for (auto& a : from->take_actions()) {
        any = true;
        if (auto* s = std::get_if<SendDatagram>(&a)) {
          if (!drop_all) to->on_datagram(now, from_addr, s->bytes);
        } else {
          events->push_back(a);
        }
      }
    }
    return any;
  }
  void run(Duration limit = Duration(60000)) {
    TimePoint end = now + limit;
    for (int guard = 0; guard < 100000; ++guard) {
      while (pump()) {
      }
      auto d1 = lac->next_deadline(), d2 = lns->next_deadline();
      std::optional<TimePoint> next;
      for (auto d : {d1, d2})
        if (d && (!next || *d < *next)) next = d;
      if (!next || *next > end) {
        now = std::max(now, end);
        return;
      }
      now = std::max(now, *next);
      lac->on_timer(now);
      lns->on_timer(now);
    }
    FAIL() << "run() did not settle";
  }
  uint16_t connect() {
    auto id = lac->open_tunnel(now, kLnsAddr);
    EXPECT_TRUE(id);
    run(Duration(5000));
    return *id;
  }
};

TEST(Endpoint, SccrqInIdleAnswersSccrp) {
  Pair p;
  p.build();
  p.lac->open_tunnel(p.now, kLnsAddr);
  auto sent = only<SendDatagram>(p.lac->take_actions());
  ASSERT_EQ(sent.size(), 1u);
  Message sccrq = decode_sent(sent[0]);
  EXPECT_EQ(sccrq.type, MessageType::kSccrq);
  EXPECT_TRUE(sccrq.tie_breaker.has_value());
  p.lns->on_datagram(p.now, kLacAddr, sent[0].bytes);
  auto replies = only<SendDatagram>(p.lns->take_actions());
  ASSERT_EQ(replies.size(), 1u);
  Message sccrp = decode_sent(replies[0]);
  EXPECT_EQ(sccrp.type, MessageType::kSccrp);
  EXPECT_EQ(sccrp.protocol_version, 0x0100);
  EXPECT_EQ(sccrp.host_name, "lns");
  auto hdr = decode_packet(replies[0].bytes);
  EXPECT_EQ(hdr->header.tunnel_id, *sccrq.assigned_tunnel_id);  // addressed to the LAC's tunnel
  EXPECT_FALSE(sccrp.challenge.has_value());
}

TEST(Endpoint, SessionIdsAreUniqueAcrossTunnels) {
  // An LNS whose random source always says 0x4242: every tunnel's first choice of session ID is the same, and only
  // the endpoint-wide check keeps the second tunnel's session off it (two tunnels from one peer port must not
  // share a session ID, or the kernel could hand one tunnel's data to the other).
  Pair p;
  p.build();
  p.lns = std::make_unique<Endpoint>(p.lns_cfg, [](std::span<uint8_t> out) {
    for (auto& b : out) b = 0x42;
  });
  uint16_t t1 = p.connect();
  uint16_t t2 = p.connect();
  ASSERT_NE(t1, t2);
  ASSERT_TRUE(p.lac->open_call(p.now, t1, CallDirection::kIncoming));
  ASSERT_TRUE(p.lac->open_call(p.now, t2, CallDirection::kIncoming));
  p.run(Duration(5000));
  auto up = only<SessionUp>(p.lns_events);
  ASSERT_EQ(up.size(), 2u);
  EXPECT_NE(up[0].tunnel_id, up[1].tunnel_id);
  EXPECT_EQ(up[0].session_id, 0x4242);
  EXPECT_NE(up[1].session_id, up[0].session_id);
}

TEST(Endpoint, TunnelAndIncomingCallEstablish) {
  Pair p;
  p.build();
  uint16_t tid = p.connect();
  ASSERT_EQ(only<TunnelUp>(p.lac_events).size(), 1u);
  ASSERT_EQ(only<TunnelUp>(p.lns_events).size(), 1u);
  EXPECT_EQ(only<TunnelUp>(p.lns_events)[0].peer_host_name, "lac");
  auto sid = p.lac->open_call(p.now, tid, CallDirection::kIncoming, "555");
  ASSERT_TRUE(sid);
  p.run(Duration(5000));
  auto lac_up = only<SessionUp>(p.lac_events);
  auto lns_up = only<SessionUp>(p.lns_events);
  ASSERT_EQ(lac_up.size(), 1u);
  ASSERT_EQ(lns_up.size(), 1u);
  EXPECT_EQ(lac_up[0].session_id, *sid);
  EXPECT_EQ(lns_up[0].peer_session_id, *sid);
  EXPECT_EQ(lac_up[0].peer_session_id, lns_up[0].session_id);
  EXPECT_EQ(lns_up[0].direction, CallDirection::kIncoming);
  EXPECT_EQ(lns_up[0].calling_number, "555");
}

TEST(Endpoint, OutgoingCallFromLns) {
  Pair p;
  p.build();
  p.connect();
  uint16_t lns_tid = only<TunnelUp>(p.lns_events)[0].tunnel_id;
  auto sid = p.lns->open_call(p.now, lns_tid, CallDirection::kOutgoing, "12345");
  ASSERT_TRUE(sid);
  p.run(Duration(5000));
  auto lac_up = only<SessionUp>(p.lac_events);
  auto lns_up = only<SessionUp>(p.lns_events);
  ASSERT_EQ(lac_up.size(), 1u);
  ASSERT_EQ(lns_up.size(), 1u);
  EXPECT_EQ(lac_up[0].direction, CallDirection::kOutgoing);
  EXPECT_EQ(lac_up[0].called_number, "12345");
}

TEST(Endpoint, CallQueuedUntilTunnelUp) {
  Pair p;
  p.build();
  auto tid = p.lac->open_tunnel(p.now, kLnsAddr);
  ASSERT_TRUE(p.lac->open_call(p.now, *tid, CallDirection::kIncoming));
  p.run(Duration(5000));
  EXPECT_EQ(only<SessionUp>(p.lns_events).size(), 1u);
}

TEST(Endpoint, TunnelAuthenticationBothWays) {
  Pair p;
  p.lac_cfg.secret = p.lns_cfg.secret = "shared";
  p.build();
  p.connect();
  EXPECT_EQ(only<TunnelUp>(p.lac_events).size(), 1u);
  EXPECT_EQ(only<TunnelUp>(p.lns_events).size(), 1u);
}

TEST(Endpoint, WrongSecretIsRefusedWithNotAuthorized) {
  Pair p;
  p.lac_cfg.secret = "one";
  p.lns_cfg.secret = "two";
  p.build();
  p.connect();
  EXPECT_TRUE(only<TunnelUp>(p.lns_events).empty());
  auto down = only<TunnelDown>(p.lac_events);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].result.result, result::kStopNotAuthorized);
  EXPECT_EQ(p.lac->drops().at("tunnel_auth_failed"), 1u);
}

TEST(Endpoint, LnsRequiresResponseFromLacWithoutSecret) {
  Pair p;
  p.lns_cfg.secret = "two";  // the LAC has none: it cannot answer our challenge
  p.build();
  p.connect();
  EXPECT_TRUE(only<TunnelUp>(p.lns_events).empty());
  EXPECT_TRUE(only<TunnelUp>(p.lac_events).empty());
}

TEST(Endpoint, HiddenAvpsEndToEnd) {
  Pair p;
  p.lac_cfg.secret = p.lns_cfg.secret = "shared";
  p.lac_cfg.hide_avps = p.lns_cfg.hide_avps = true;
  p.build();
  uint16_t tid = p.connect();
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  EXPECT_EQ(only<SessionUp>(p.lns_events).size(), 1u);
}

TEST(Endpoint, CdnEndsSessionOnBothSides) {
  Pair p;
  p.build();
  uint16_t tid = p.connect();
  uint16_t sid = *p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  uint16_t lns_tid = only<SessionUp>(p.lns_events)[0].tunnel_id;
  uint16_t lns_sid = only<SessionUp>(p.lns_events)[0].session_id;
  p.lns->close_session(p.now, lns_tid, lns_sid, ResultCode{result::kCdnAdministrative, std::nullopt, "bye"},
                       PppDisconnectCause{13, 0xc223, 2, "auth"});
  p.run(Duration(5000));
  auto lac_down = only<SessionDown>(p.lac_events);
  ASSERT_EQ(lac_down.size(), 1u);
  EXPECT_EQ(lac_down[0].session_id, sid);
  EXPECT_TRUE(lac_down[0].by_peer);
  EXPECT_EQ(lac_down[0].result.result, result::kCdnAdministrative);
  ASSERT_TRUE(lac_down[0].cause);
  EXPECT_EQ(lac_down[0].cause->protocol, 0xc223);
  auto lns_down = only<SessionDown>(p.lns_events);
  ASSERT_EQ(lns_down.size(), 1u);
  EXPECT_FALSE(lns_down[0].by_peer);
  EXPECT_EQ(p.lns->tunnel(lns_tid)->session_count(), 0u);
}

TEST(Endpoint, StopCcnEndsTunnelAndSessionsThenHoldsTheId) {
  Pair p;
  p.lns_cfg.stop_hold = Duration(31000);
  p.build();
  uint16_t tid = p.connect();
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  uint16_t lns_tid = only<TunnelUp>(p.lns_events)[0].tunnel_id;
  p.lac->close_tunnel(p.now, tid, ResultCode{result::kStopGeneralRequest, std::nullopt, ""});
  TimePoint stopped = p.now;
  p.run(Duration(1000));
  EXPECT_EQ(only<SessionDown>(p.lns_events).size(), 2u);
  auto down = only<TunnelDown>(p.lns_events);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_TRUE(down[0].by_peer);
  // Held (§5.7): still present in closing state until stop_hold has passed.
  ASSERT_NE(p.lns->tunnel(lns_tid), nullptr);
  EXPECT_EQ(p.lns->tunnel(lns_tid)->state(), TunnelState::kClosing);
  p.run(Duration(31000) - std::chrono::duration_cast<Duration>(p.now - stopped) + Duration(10));
  p.lns->take_actions();
  EXPECT_EQ(p.lns->tunnel(lns_tid), nullptr);
}

TEST(Endpoint, AdmissionRefusalIsSilentAndCounted) {
  Pair p;
  p.build([](const PeerAddress&) { return Admission::kRefuse; });
  p.lac->open_tunnel(p.now, kLnsAddr);
  for (auto& a : only<SendDatagram>(p.lac->take_actions())) p.lns->on_datagram(p.now, kLacAddr, a.bytes);
  EXPECT_TRUE(p.lns->take_actions().empty());
  EXPECT_EQ(p.lns->drops().at("not_admitted"), 1u);
  EXPECT_EQ(p.lns->drops().count("ipsec_not_ready"), 0u);
  EXPECT_TRUE(p.lns->tunnels().empty());
}

TEST(Endpoint, AdmissionNotReadyIsSilentCountedApartAndAskedAgainOnRetransmission) {
  // While the IPsec view is not in sync the daemon answers kNotReady: the SCCRQ is dropped without a reply under
  // its own reason, and the LAC's retransmission of it is admitted once the view is back.
  Pair p;
  auto verdict = std::make_shared<Admission>(Admission::kNotReady);
  p.build([verdict](const PeerAddress&) { return *verdict; });
  p.lac->open_tunnel(p.now, kLnsAddr);
  for (auto& a : only<SendDatagram>(p.lac->take_actions())) p.lns->on_datagram(p.now, kLacAddr, a.bytes);
  EXPECT_TRUE(p.lns->take_actions().empty());
  EXPECT_EQ(p.lns->drops().at("ipsec_not_ready"), 1u);
  EXPECT_EQ(p.lns->drops().count("not_admitted"), 0u);
  EXPECT_TRUE(p.lns->tunnels().empty());
  *verdict = Admission::kAdmit;
  p.run(Duration(5000));  // the LAC retransmits its SCCRQ (§5.8)
  EXPECT_EQ(only<TunnelUp>(p.lns_events).size(), 1u);
  EXPECT_EQ(p.lns->drops().at("ipsec_not_ready"), 1u);
}

TEST(Endpoint, GarbageIsDroppedAndCounted) {
  Pair p;
  p.build();
  p.lns->on_datagram(p.now, kLacAddr, Bytes{0xc8});
  p.lns->on_datagram(p.now, kLacAddr, Bytes{0xc8, 0x03, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0});
  p.lns->on_datagram(p.now, kLacAddr, encode_control(0, 0, 0, 0, Bytes{1, 2, 3}));
  Message hello;
  hello.type = MessageType::kHello;
  p.lns->on_datagram(p.now, kLacAddr, encode_control(0, 0, 0, 0, encode_message(hello)));
  p.lns->on_datagram(p.now, kLacAddr, encode_control(77, 0, 0, 0, encode_message(hello)));
  p.lns->on_datagram(p.now, kLacAddr, encode_data(77, 1, Bytes{1}));
  EXPECT_TRUE(p.lns->take_actions().empty());
  const auto& d = p.lns->drops();
  EXPECT_EQ(d.at("header_truncated"), 1u);
  EXPECT_EQ(d.at("header_bad_version"), 1u);
  EXPECT_EQ(d.at("tunnel0_truncated_avp"), 1u);
  EXPECT_EQ(d.at("tunnel0_not_sccrq"), 1u);
  EXPECT_EQ(d.at("unknown_tunnel"), 1u);
  EXPECT_EQ(d.at("data_unknown_tunnel"), 1u);
}

TEST(Endpoint, RetransmittedSccrqDoesNotCreateASecondTunnel) {
  Pair p;
  p.build();
  p.lac->open_tunnel(p.now, kLnsAddr);
  auto sent = only<SendDatagram>(p.lac->take_actions());
  p.lns->on_datagram(p.now, kLacAddr, sent[0].bytes);
  p.lns->on_datagram(p.now, kLacAddr, sent[0].bytes);
  EXPECT_EQ(p.lns->tunnels().size(), 1u);
}

// A client that reconnects from the same address and port and picks its old Assigned Tunnel ID again (Windows
// sends from 1701; a restarted LAC may draw the same ID) while the old tunnel is held closing starts a new tunnel
// at once: its SCCRQ is not a duplicate of the old tunnel's.
TEST(Endpoint, SccrqReusingAClosingTunnelsIdsStartsANewTunnel) {
  Pair p;
  p.build();
  uint16_t tid = p.lac->open_tunnel(p.now, kLnsAddr).value();
  auto first = only<SendDatagram>(p.lac->take_actions());
  ASSERT_EQ(first.size(), 1u);
  const Bytes sccrq = first[0].bytes;
  p.lns->on_datagram(p.now, kLacAddr, sccrq);
  p.run(Duration(5000));
  ASSERT_EQ(only<TunnelUp>(p.lns_events).size(), 1u);
  uint16_t old_lns_tid = only<TunnelUp>(p.lns_events)[0].tunnel_id;
  p.lac->close_tunnel(p.now, tid, ResultCode{result::kStopGeneralRequest, std::nullopt, ""});
  p.run(Duration(2000));
  ASSERT_EQ(p.lns->tunnel(old_lns_tid)->state(), TunnelState::kClosing);
  p.lns->take_actions();

  p.lns->on_datagram(p.now, kLacAddr, sccrq);  // the same bytes: same peer, port, tunnel ID and Ns
  auto sent = only<SendDatagram>(p.lns->take_actions());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(decode_sent(sent[0]).type, MessageType::kSccrp);
  EXPECT_EQ(p.lns->tunnels().size(), 2u);
  EXPECT_EQ(p.lns->tunnel(old_lns_tid)->state(), TunnelState::kClosing);
}

// The same holds while the old tunnel is still established (the client crashed and came back before HELLO found
// the old tunnel dead); the old tunnel is left to its keepalive.
TEST(Endpoint, SccrqReusingAnEstablishedTunnelsIdsStartsANewTunnel) {
  Pair p;
  p.build();
  p.lac->open_tunnel(p.now, kLnsAddr).value();
  const Bytes sccrq = only<SendDatagram>(p.lac->take_actions()).at(0).bytes;
  p.lns->on_datagram(p.now, kLacAddr, sccrq);
  p.run(Duration(5000));
  ASSERT_EQ(only<TunnelUp>(p.lns_events).size(), 1u);
  p.lns->on_datagram(p.now, kLacAddr, sccrq);
  auto sent = only<SendDatagram>(p.lns->take_actions());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(decode_sent(sent[0]).type, MessageType::kSccrp);
  EXPECT_EQ(p.lns->tunnels().size(), 2u);
}

TEST(Endpoint, UnknownMandatoryAvpInSessionMessageEndsOnlyThatSession) {
  Pair p;
  p.build();
  uint16_t tid = p.connect();
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  auto ups = only<SessionUp>(p.lns_events);
  ASSERT_EQ(ups.size(), 2u);
  // Craft an SLI with an unknown M-bit AVP, sent in sequence on the LAC's tunnel, to the LNS's first session.
  const Tunnel* lac_t = p.lac->tunnel(tid);
  Message sli;
  sli.type = MessageType::kSli;
  sli.accm = Accm{0, 0};
  Bytes avps = encode_message(sli);
  Bytes bad = {0x80, 0x08, 0x00, 0x00, 0x01, 0x00, 0xde, 0xad};  // M bit, type 256
  avps.insert(avps.end(), bad.begin(), bad.end());
  // Our LAC's channel would number it; use the channel stats to know the next Ns (all acked, none queued).
  uint16_t ns = static_cast<uint16_t>(lac_t->channel_stats().sent);
  uint16_t nr = static_cast<uint16_t>(p.lns->tunnel(ups[0].tunnel_id)->channel_stats().sent);
  p.lns->on_datagram(p.now, kLacAddr, encode_control(ups[0].tunnel_id, ups[0].session_id, ns, nr, avps));
  p.run(Duration(2000));
  auto downs = only<SessionDown>(p.lns_events);
  ASSERT_EQ(downs.size(), 1u);
  EXPECT_EQ(downs[0].session_id, ups[0].session_id);
  EXPECT_EQ(downs[0].result.error, error::kUnknownMandatoryAvp);
  EXPECT_EQ(p.lns->tunnel(ups[0].tunnel_id)->state(), TunnelState::kEstablished);
}

TEST(Endpoint, TieBreakerLeavesOneTunnel) {
  Pair p;
  p.lac_cfg.role = Role::kLns;  // both sides may initiate and answer
  p.build();
  p.lac->open_tunnel(p.now, kLnsAddr);
  p.lns->open_tunnel(p.now, kLacAddr);
  p.run(Duration(5000));
  size_t up_a = only<TunnelUp>(p.lac_events).size(), up_b = only<TunnelUp>(p.lns_events).size();
  EXPECT_EQ(up_a, 1u);
  EXPECT_EQ(up_b, 1u);
  EXPECT_EQ(p.lac->live_tunnel_count(), 1u);
  EXPECT_EQ(p.lns->live_tunnel_count(), 1u);
}

TEST(Endpoint, RoleRefusesWrongCallType) {
  Pair p;
  p.build();
  uint16_t tid = p.connect();
  // A LAC does not accept ICRQ (and the LNS does not accept OCRQ): the LNS asks the LAC for an incoming call.
  uint16_t lns_tid = only<TunnelUp>(p.lns_events)[0].tunnel_id;
  p.lns->open_call(p.now, lns_tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  EXPECT_TRUE(only<SessionUp>(p.lac_events).empty());
  auto down = only<SessionDown>(p.lns_events);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_TRUE(down[0].by_peer);
  EXPECT_EQ(p.lac->drops().at("call_refused"), 1u);
  (void)tid;
}

TEST(Endpoint, SessionLimitAnswersCdnWithResourcesResult) {
  Pair p;
  p.lns_cfg.max_sessions_per_tunnel = 2;
  p.build();
  uint16_t tid = p.connect();
  for (int i = 0; i < 3; ++i) p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  EXPECT_EQ(only<SessionUp>(p.lns_events).size(), 2u);
  auto down = only<SessionDown>(p.lac_events);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].result.result, result::kCdnTemporaryResources);
}

TEST(Endpoint, NewConfigurationAppliesToTunnelsCreatedAfterIt) {
  // What a reload does: the first tunnel keeps the configuration it was created with (its host name, its session
  // limit), which must outlive the endpoint's switch to the new one; the second tunnel runs on the new one.
  Pair p;
  p.lns_cfg.max_sessions_per_tunnel = 1;
  p.build();
  uint16_t t1 = p.connect();
  L2tpConfig next = p.lns->config();
  next.host_name = "lns2";
  next.max_sessions_per_tunnel = 3;
  p.lns->set_config(next);
  EXPECT_EQ(p.lns->config().host_name, "lns2");
  uint16_t t2 = p.connect();
  for (uint16_t t : {t1, t1, t2, t2}) p.lac->open_call(p.now, t, CallDirection::kIncoming);
  p.run(Duration(5000));
  auto lac_up = only<TunnelUp>(p.lac_events);
  ASSERT_EQ(lac_up.size(), 2u);
  EXPECT_EQ(lac_up[0].peer_host_name, "lns");
  EXPECT_EQ(lac_up[1].peer_host_name, "lns2");
  std::map<uint16_t, int> sessions_by_lac_tunnel;
  for (const auto& up : only<SessionUp>(p.lac_events)) ++sessions_by_lac_tunnel[up.tunnel_id];
  EXPECT_EQ(sessions_by_lac_tunnel[t1], 1);  // the old limit
  EXPECT_EQ(sessions_by_lac_tunnel[t2], 2);  // the new one
}

TEST(Endpoint, BadProtocolVersionGetsStopCcnResult5) {
  Pair p;
  p.build();
  Message sccrq;
  sccrq.type = MessageType::kSccrq;
  sccrq.protocol_version = 0x0300;
  sccrq.host_name = "x";
  sccrq.framing_capabilities = 3;
  sccrq.assigned_tunnel_id = 9;
  p.lns->on_datagram(p.now, kLacAddr, encode_control(0, 0, 0, 0, encode_message(sccrq)));
  auto sent = only<SendDatagram>(p.lns->take_actions());
  ASSERT_EQ(sent.size(), 1u);
  Message stop = decode_sent(sent[0]);
  EXPECT_EQ(stop.type, MessageType::kStopccn);
  EXPECT_EQ(stop.result_code->result, result::kStopBadProtocolVersion);
  EXPECT_EQ(stop.result_code->error, 0x0100);
}

TEST(Endpoint, DeadPeerTearsTunnelDownAfterRetries) {
  Pair p;
  p.build();
  uint16_t tid = p.connect();
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  p.drop_all = true;
  p.lac->close_session(p.now, tid, only<SessionUp>(p.lac_events)[0].session_id,
                       ResultCode{result::kCdnAdministrative, std::nullopt, ""});
  p.run(Duration(120000));
  auto down = only<TunnelDown>(p.lac_events);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].result.message, "peer not responding");
  // The dead tunnel is gone; its retransmissions stay counted (a counter never goes down).
  EXPECT_TRUE(p.lac->tunnels().empty());
  EXPECT_EQ(p.lac->stats().retransmissions_of_gone_tunnels, p.lac_cfg.channel.max_retransmissions);
}

// A client that vanishes without a word (its namespace killed, its Wi-Fi gone) loses its tunnel exactly
// silent_peer_timeout() after the last message the LNS heard from it: 91 s with the defaults.
TEST(Endpoint, VanishedPeerIsDeclaredDeadAfterTheSilentPeerTimeout) {
  Pair p;
  p.lns_cfg.channel = ControlChannelConfig{};  // the defaults, HELLO every 60 s
  p.build();
  uint16_t tid = p.connect();
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  ASSERT_EQ(only<SessionUp>(p.lns_events).size(), 1u);
  auto hello_at = p.lns->next_deadline();  // the HELLO timer: 60 s after the last message heard
  ASSERT_TRUE(hello_at);
  const auto timeout = silent_peer_timeout(p.lns_cfg.channel);
  ASSERT_TRUE(timeout);
  EXPECT_EQ(*timeout, Duration(91000));
  const TimePoint dead_at = *hello_at - p.lns_cfg.channel.hello_interval + *timeout;
  p.drop_all = true;
  p.run(std::chrono::duration_cast<Duration>(dead_at - p.now) - Duration(1));
  EXPECT_TRUE(only<TunnelDown>(p.lns_events).empty()) << "declared dead early";
  p.run(Duration(1));
  auto down = only<TunnelDown>(p.lns_events);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].result.message, "peer not responding");
  EXPECT_EQ(p.now, dead_at);
}

TEST(Endpoint, SilentPeerTimeoutFollowsTheSettings) {
  ControlChannelConfig c;
  c.hello_interval = Duration(10000);
  c.initial_timeout = Duration(500);
  c.max_timeout = Duration(2000);
  c.max_retransmissions = 3;
  EXPECT_EQ(silent_peer_timeout(c), Duration(10000 + 500 + 1000 + 2000 + 2000));
  c.hello_interval = Duration(0);
  EXPECT_EQ(silent_peer_timeout(c), std::nullopt);
}

TEST(Endpoint, SequencingRequiredReachesSessionUp) {
  Pair p;
  p.lac_cfg.sequencing_required = true;
  p.build();
  uint16_t tid = p.connect();
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  ASSERT_EQ(only<SessionUp>(p.lns_events).size(), 1u);
  EXPECT_TRUE(only<SessionUp>(p.lns_events)[0].sequencing_required);
}

TEST(Endpoint, WanErrorNotifyAndSetLinkInfoReachThePeer) {
  Pair p;
  p.build();
  uint16_t tid = p.connect();
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  auto lac_up = only<SessionUp>(p.lac_events)[0];
  auto lns_up = only<SessionUp>(p.lns_events)[0];
  p.lac->send_wan_error_notify(p.now, tid, lac_up.session_id, CallErrors{1, 2, 3, 4, 5, 6});
  p.lns->send_set_link_info(p.now, lns_up.tunnel_id, lns_up.session_id, Accm{0xa0000, 0});
  p.run(Duration(1000));
  auto wen = only<WanErrors>(p.lns_events);
  ASSERT_EQ(wen.size(), 1u);
  EXPECT_EQ(wen[0].session_id, lns_up.session_id);
  EXPECT_EQ(wen[0].errors.alignment, 6u);
  auto sli = only<LinkInfo>(p.lac_events);
  ASSERT_EQ(sli.size(), 1u);
  EXPECT_EQ(sli[0].accm.send, 0xa0000u);
}

TEST(Endpoint, DataPacketsReachTheSession) {
  Pair p;
  p.build();
  uint16_t tid = p.connect();
  p.lac->open_call(p.now, tid, CallDirection::kIncoming);
  p.run(Duration(5000));
  auto up = only<SessionUp>(p.lac_events)[0];
  p.lac->send_data(tid, up.session_id, Bytes{0xff, 0x03, 0xc0, 0x21});
  p.run(Duration(100));
  auto data = only<SessionData>(p.lns_events);
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].ppp, (Bytes{0xff, 0x03, 0xc0, 0x21}));
}

// ---- limits against one hostile peer (every customer holds the PSK, so "admitted" is not "trusted") ----

const PeerAddress kOtherAddr = PeerAddress::v4(0xc0000263, 1701);  // 192.0.2.99

Bytes sccrq_bytes(uint16_t assigned_tunnel_id, uint16_t version = 0x0100, std::optional<uint16_t> rws = {}) {
  Message m;
  m.type = MessageType::kSccrq;
  m.protocol_version = version;
  m.host_name = "peer";
  m.framing_capabilities = 3;
  m.assigned_tunnel_id = assigned_tunnel_id;
  m.receive_window_size = rws;
  return encode_control(0, 0, 0, 0, encode_message(m));
}

size_t tunnels_from(const Endpoint& e, const PeerAddress& peer) {
  size_t n = 0;
  for (const Tunnel* t : e.tunnels())
    if (t->peer().same_host(peer) && t->held()) ++n;
  return n;
}

// A bad-version SCCRQ gets its StopCCN and the tunnel is then held closing for stop_hold (31 s). Counting only
// live tunnels let one peer varying its Assigned Tunnel ID fill the whole ID space; held ones count now.
TEST(EndpointLimits, BadVersionSccrqFloodFromOnePeerStaysBoundedAndOthersAreAnswered) {
  Pair p;
  p.lns_cfg.max_control_rate = 0;  // this test is about the tunnel limits alone
  p.build();
  size_t most = 0;
  for (uint32_t i = 0; i < 70000; ++i) {
    p.now += Duration(1);
    p.lns->on_datagram(p.now, kLacAddr, sccrq_bytes(static_cast<uint16_t>(i % 65535 + 1), 0x0300));
    p.lns->on_timer(p.now);
    (void)p.lns->take_actions();
    most = std::max(most, p.lns->tunnels().size());
  }
  EXPECT_LE(most, p.lns_cfg.max_tunnels_per_peer);
  EXPECT_EQ(tunnels_from(*p.lns, kLacAddr), p.lns_cfg.max_tunnels_per_peer);
  EXPECT_GT(p.lns->drops().at("tunnel_limit"), 60000u);
  // Another peer is answered at once.
  p.lns->on_datagram(p.now, kOtherAddr, sccrq_bytes(7));
  auto sent = only<SendDatagram>(p.lns->take_actions());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, kOtherAddr);
  EXPECT_EQ(decode_sent(sent[0]).type, MessageType::kSccrp);
}

TEST(EndpointLimits, ClosingTunnelsCountTowardTheTotal) {
  Pair p;
  p.lns_cfg.max_control_rate = 0;
  p.lns_cfg.max_tunnels = 3;
  p.build();
  for (uint16_t i = 1; i <= 3; ++i) p.lns->on_datagram(p.now, kLacAddr, sccrq_bytes(i, 0x0300));
  (void)p.lns->take_actions();
  p.lns->on_datagram(p.now, kOtherAddr, sccrq_bytes(9));
  EXPECT_TRUE(only<SendDatagram>(p.lns->take_actions()).empty());
  EXPECT_EQ(p.lns->drops().at("tunnel_limit"), 1u);
  // Once the hold is over the closing tunnels are gone and the other peer gets in.
  p.now += p.lns_cfg.stop_hold + Duration(1);
  p.lns->on_timer(p.now);
  p.lns->on_datagram(p.now, kOtherAddr, sccrq_bytes(9));
  EXPECT_EQ(only<SendDatagram>(p.lns->take_actions()).size(), 1u);
}

TEST(EndpointLimits, ControlRateIsPerAddressAndRefills) {
  Pair p;
  p.lns_cfg.max_control_rate = 10;  // bursts of 20
  p.lns_cfg.max_tunnels_per_peer = 1000;
  p.build();
  for (uint16_t i = 1; i <= 100; ++i) p.lns->on_datagram(p.now, kLacAddr, sccrq_bytes(i));
  EXPECT_EQ(only<SendDatagram>(p.lns->take_actions()).size(), 20u);
  EXPECT_EQ(p.lns->drops().at("control_rate_limit"), 80u);
  p.lns->on_datagram(p.now, kOtherAddr, sccrq_bytes(1));  // another address has its own bucket
  EXPECT_EQ(only<SendDatagram>(p.lns->take_actions()).size(), 1u);
  p.now += Duration(1000);  // one second: ten more
  for (uint16_t i = 101; i <= 120; ++i) p.lns->on_datagram(p.now, kLacAddr, sccrq_bytes(i));
  EXPECT_EQ(only<SendDatagram>(p.lns->take_actions()).size(), 10u);
  EXPECT_EQ(p.lns->drops().at("control_rate_limit"), 90u);
}

TEST(EndpointLimits, RateBucketsOfAddressesWithoutTunnelsAreForgotten) {
  Pair p;
  p.lns_cfg.max_control_rate = 10;
  p.build([](const PeerAddress&) { return Admission::kAdmit; });
  for (uint32_t host = 1; host <= 500; ++host)  // a garbage SCCRQ each: admitted, counted, no tunnel
    p.lns->on_datagram(p.now, PeerAddress::v4(0x0a000000 + host, 1701), encode_control(0, 0, 0, 0, Bytes{1, 2, 3}));
  EXPECT_LE(p.lns->rate_buckets(), 500u);
  p.now += Duration(2000);  // every bucket full again
  p.lns->on_timer(p.now);
  EXPECT_EQ(p.lns->rate_buckets(), 0u);
}

// A peer that advertises a receive window of 1, never acknowledges past our SCCRP and sends ICRQs: every ICRQ
// asks for a reply (ICRP, or a CDN past the session limit) that can only queue. The tunnel is dropped once it
// holds more than max_control_bytes, and memory stays bounded by that plus one message.
TEST(EndpointLimits, WindowOneSlowAckFloodKeepsHeldBytesUnderTheBound) {
  Pair p;
  p.lns_cfg.max_control_rate = 0;
  p.lns_cfg.max_sessions_per_tunnel = 8;
  p.lns_cfg.max_control_bytes = 4096;
  p.build();
  p.lns->on_datagram(p.now, kLacAddr, sccrq_bytes(5, 0x0100, 1));
  auto sccrp = only<SendDatagram>(p.lns->take_actions());
  ASSERT_EQ(sccrp.size(), 1u);
  uint16_t lns_tid = decode_sent(sccrp[0]).assigned_tunnel_id.value();
  Message scccn;
  scccn.type = MessageType::kScccn;
  p.lns->on_datagram(p.now, kLacAddr, encode_control(lns_tid, 0, 1, 1, encode_message(scccn)));
  ASSERT_EQ(only<TunnelUp>(p.lns->take_actions()).size(), 1u);
  size_t most = 0;
  uint16_t ns = 2;
  for (int i = 0; i < 5000 && p.lns->tunnel(lns_tid) && p.lns->tunnel(lns_tid)->live(); ++i) {
    Message icrq;
    icrq.type = MessageType::kIcrq;
    icrq.assigned_session_id = static_cast<uint16_t>(i + 1);
    icrq.call_serial_number = static_cast<uint32_t>(i);
    p.now += Duration(1);
    p.lns->on_datagram(p.now, kLacAddr, encode_control(lns_tid, 0, ns++, 1, encode_message(icrq)));
    (void)p.lns->take_actions();
    if (const Tunnel* t = p.lns->tunnel(lns_tid)) most = std::max(most, t->held_control_bytes());
  }
  EXPECT_LE(most, p.lns_cfg.max_control_bytes + 256);  // the bound plus the one reply that crossed it
  EXPECT_EQ(p.lns->drops().at("control_queue_limit"), 1u);
  const Tunnel* t = p.lns->tunnel(lns_tid);
  EXPECT_TRUE(!t || !t->live());
}

// Tunnel 0 is decoded only for a peer that passed admission: garbage from a peer without an SA is counted as
// not admitted, never parsed.
TEST(EndpointLimits, NothingIsDecodedBeforeAdmission) {
  Pair p;
  p.build([](const PeerAddress& a) { return a == kOtherAddr ? Admission::kAdmit : Admission::kRefuse; });
  p.lns->on_datagram(p.now, kLacAddr, encode_control(0, 0, 0, 0, Bytes{1, 2, 3}));
  p.lns->on_datagram(p.now, kOtherAddr, encode_control(0, 0, 0, 0, Bytes{1, 2, 3}));
  EXPECT_EQ(p.lns->drops().at("not_admitted"), 1u);
  EXPECT_EQ(p.lns->drops().at("tunnel0_truncated_avp"), 1u);  // only the admitted peer's was parsed
}


// ---- clients behind one NAT: same public address and port, told apart by the mark of the SA they came through

TEST(EndpointSameNat, TunnelsFromOneAddressAndPortAreToldApartByTheMark) {
  L2tpConfig cfg;
  cfg.role = Role::kLns;
  cfg.channel.hello_interval = Duration(0);
  Endpoint lns(cfg, seeded(7));
  const PeerAddress a = PeerAddress::v4(0xc0000214, 1701, 1);  // 192.0.2.20:1701 through SA mark 1
  const PeerAddress b = PeerAddress::v4(0xc0000214, 1701, 2);  // the same address and port, SA mark 2
  TimePoint now{};
  // Both pick the same Assigned Tunnel ID: only the mark separates their control connections.
  lns.on_datagram(now, a, sccrq_bytes(7));
  lns.on_datagram(now, b, sccrq_bytes(7));
  auto replies = only<SendDatagram>(lns.take_actions());
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].to, a);
  EXPECT_EQ(replies[1].to, b);  // the reply goes out with b's mark, so through b's SA
  const uint16_t tunnel_a = *decode_sent(replies[0]).assigned_tunnel_id;
  const uint16_t tunnel_b = *decode_sent(replies[1]).assigned_tunnel_id;
  ASSERT_NE(tunnel_a, 0);
  ASSERT_NE(tunnel_a, tunnel_b);
  EXPECT_EQ(lns.tunnel(tunnel_a)->peer(), a);
  EXPECT_EQ(lns.tunnel(tunnel_b)->peer(), b);

  // b crafts a control message and a data message for a's tunnel, inside its own SA: both are dropped unread.
  const auto before_wrong = lns.drops().count("wrong_peer") ? lns.drops().at("wrong_peer") : 0;
  lns.on_datagram(now, b, encode_control(tunnel_a, 0, 1, 1, {}));  // a ZLB that would ack a's SCCRP
  EXPECT_EQ(lns.drops().at("wrong_peer"), before_wrong + 1);
  lns.on_datagram(now, b, encode_data(tunnel_a, 1, Bytes{0xff, 0x03, 0xc0, 0x21}));
  EXPECT_EQ(lns.drops().at("data_unknown_tunnel"), 1u);
  EXPECT_EQ(lns.tunnel(tunnel_a)->state(), TunnelState::kWaitCtlConn);  // a's tunnel never saw b's bytes
}

TEST(EndpointSameNat, PerAddressLimitsIgnoreMarkAndPort) {
  // Limits stay per address: a NAT's clients share them, whatever SA or port each uses.
  EXPECT_EQ(PeerAddress::v4(0xc0000214, 1701, 1).host(), PeerAddress::v4(0xc0000214, 4242, 9).host());
  EXPECT_TRUE(PeerAddress::v4(0xc0000214, 1701, 1).same_client(PeerAddress::v4(0xc0000214, 50000, 1)));
  EXPECT_FALSE(PeerAddress::v4(0xc0000214, 1701, 1).same_client(PeerAddress::v4(0xc0000214, 1701, 2)));
  EXPECT_EQ(PeerAddress::v4(0xc0000214, 1701, 2).to_string(), "192.0.2.20:1701#2");
  EXPECT_EQ(PeerAddress::v4(0xc0000214, 1701).to_string(), "192.0.2.20:1701");
  // What /status shows as `peer`: address and port, the mark left to a field of its own.
  EXPECT_EQ(PeerAddress::v4(0xc6336407, 1701, 7).endpoint_string(), "198.51.100.7:1701");
  EXPECT_EQ(PeerAddress::v4(0xc6336407, 4500).endpoint_string(), "198.51.100.7:4500");
}
// ---- the ack of a message that ends its exchange goes out at once ----

// Delivers datagrams both ways until nothing moves, never firing a timer: what happens here happens at once.
void pump_without_timers(Pair& p) {
  while (p.pump()) {
  }
}

// SCCCN, ICCN, CDN and StopCCN get no reply, so no reply can carry their ack: the receiver sends a ZLB at once.
// Waiting for the delayed-ack timer (100 ms) instead left the sender's retransmission timer running and bounded
// every setup by that delay.
TEST(Endpoint, MessagesThatEndAnExchangeAreAcknowledgedAtOnce) {
  Pair p;
  p.build();
  auto tid = p.lac->open_tunnel(p.now, kLnsAddr);
  ASSERT_TRUE(tid);
  pump_without_timers(p);  // SCCRQ, SCCRP, SCCCN, and the LNS's ZLB for the SCCCN
  ASSERT_EQ(only<TunnelUp>(p.lac_events).size(), 1u);
  ASSERT_EQ(only<TunnelUp>(p.lns_events).size(), 1u);
  EXPECT_EQ(p.lac->next_deadline(), std::nullopt);  // nothing unacknowledged, no ack pending (HELLO is off)
  EXPECT_EQ(p.lns->next_deadline(), std::nullopt);
  const uint16_t lns_tid = only<TunnelUp>(p.lns_events)[0].tunnel_id;
  EXPECT_EQ(p.lns->tunnel(lns_tid)->channel_stats().zlb_sent, 1u);

  auto sid = p.lac->open_call(p.now, *tid, CallDirection::kIncoming);
  ASSERT_TRUE(sid);
  pump_without_timers(p);  // ICRQ, ICRP, ICCN, ZLB
  ASSERT_EQ(only<SessionUp>(p.lns_events).size(), 1u);
  EXPECT_EQ(p.lac->next_deadline(), std::nullopt);
  EXPECT_EQ(p.lns->next_deadline(), std::nullopt);
  EXPECT_EQ(p.lns->tunnel(lns_tid)->channel_stats().zlb_sent, 2u);

  p.lac->close_session(p.now, *tid, *sid, ResultCode{result::kCdnAdministrative, std::nullopt, "bye"});
  pump_without_timers(p);  // CDN, ZLB
  ASSERT_EQ(only<SessionDown>(p.lns_events).size(), 1u);
  EXPECT_EQ(p.lac->next_deadline(), std::nullopt);
  EXPECT_EQ(p.lns->tunnel(lns_tid)->channel_stats().zlb_sent, 3u);

  p.lac->close_tunnel(p.now, *tid, ResultCode{result::kStopGeneralRequest, std::nullopt, "bye"});
  pump_without_timers(p);  // StopCCN, ZLB
  ASSERT_EQ(only<TunnelDown>(p.lns_events).size(), 1u);
  EXPECT_EQ(p.lac->tunnel(*tid)->held_control_bytes(), 0u);  // the StopCCN is acknowledged
  EXPECT_EQ(p.lns->tunnel(lns_tid)->channel_stats().zlb_sent, 4u);
}

// A message that is answered (ICRQ -> ICRP) still carries its ack in the answer: no extra ZLB.
TEST(Endpoint, AnsweredMessagesCarryTheirAckInTheAnswer) {
  Pair p;
  p.build();
  auto tid = p.lac->open_tunnel(p.now, kLnsAddr);
  pump_without_timers(p);
  const uint16_t lns_tid = only<TunnelUp>(p.lns_events)[0].tunnel_id;
  p.lac->open_call(p.now, *tid, CallDirection::kIncoming);
  pump_without_timers(p);
  // The LAC answered SCCRP with SCCCN and ICRP with ICCN: it never needed a ZLB.
  EXPECT_EQ(p.lac->tunnel(*tid)->channel_stats().zlb_sent, 0u);
  EXPECT_EQ(p.lns->tunnel(lns_tid)->channel_stats().zlb_sent, 2u);  // for the SCCCN and the ICCN only
}

// ---- indexes: the bookkeeping follows every tunnel through its life ----

// Counts, per-address limits and the endpoint-wide session IDs come back to zero once everything is torn down and
// reaped: nothing is left behind in an index.
TEST(Endpoint, IndexesReturnToEmptyAfterTeardown) {
  Pair p;
  p.lns_cfg.max_tunnels_per_peer = 3;
  p.lns_cfg.stop_hold = Duration(2000);
  p.lac_cfg.stop_hold = Duration(2000);
  p.build();
  std::vector<uint16_t> tids;
  for (int i = 0; i < 3; ++i) tids.push_back(*p.lac->open_tunnel(p.now, kLnsAddr));
  p.run(Duration(1000));
  for (uint16_t t : tids)
    for (int s = 0; s < 4; ++s) p.lac->open_call(p.now, t, CallDirection::kIncoming);
  p.run(Duration(1000));
  EXPECT_EQ(only<SessionUp>(p.lns_events).size(), 12u);
  EXPECT_EQ(p.lns->held_tunnel_count(), 3u);
  EXPECT_EQ(p.lns->live_tunnel_count(), 3u);
  EXPECT_EQ(p.lns->held_session_ids(), 12u);
  // A fourth tunnel from the same address is over the per-address limit.
  p.lac->open_tunnel(p.now, kLnsAddr);
  p.run(Duration(500));
  EXPECT_EQ(p.lns->drops().count("tunnel_limit"), 1u);

  p.lac->close_all(p.now, ResultCode{result::kStopGeneralRequest, std::nullopt, "bye"});
  p.run(Duration(1000));
  EXPECT_EQ(p.lns->live_tunnel_count(), 0u);
  EXPECT_EQ(p.lns->held_tunnel_count(), 3u);  // held closing for stop_hold
  EXPECT_EQ(p.lns->held_session_ids(), 0u);
  p.run(Duration(60000));
  EXPECT_EQ(p.lns->held_tunnel_count(), 0u);
  EXPECT_TRUE(p.lns->tunnels().empty());
  EXPECT_EQ(p.lns->next_deadline(), std::nullopt);
  EXPECT_EQ(p.lac->held_tunnel_count(), 0u);
  EXPECT_EQ(p.lac->held_session_ids(), 0u);
  // The address's count went back to zero: three new tunnels are accepted again.
  for (int i = 0; i < 3; ++i) p.lac->open_tunnel(p.now, kLnsAddr);
  p.run(Duration(1000));
  EXPECT_EQ(p.lns->live_tunnel_count(), 3u);
}

// ---- cost: per datagram and per timer tick, independent of the number of tunnels ----

// The same work on an endpoint that holds 100 established tunnels and on one that holds 10,000: per round an
// ICRQ into a tunnel (a new session ID), a fresh SCCRQ and its retransmission, next_deadline and a timer tick with
// nothing due. A walk over every tunnel on any of these paths (as next_deadline, on_timer, the session-ID check,
// the SCCRQ-retransmission search and the per-address count once did) makes the large one a hundred times
// slower or more; hashed indexes and ordered deadlines keep the two within a small factor. The bound is loose
// (10x) so that a loaded machine cannot fail it.
double seconds_for_work(size_t tunnels) {
  L2tpConfig cfg;
  cfg.max_tunnels = cfg.max_tunnels_per_peer = 20000;
  cfg.max_control_rate = 0;
  Endpoint lns(cfg, seeded(3));
  TimePoint now{};
  auto peer_of = [](size_t i) { return PeerAddress::v4(0x0a000001 + static_cast<uint32_t>(i / 50000), 1024 + i % 50000); };
  std::vector<uint16_t> ids;
  Message scccn;
  scccn.type = MessageType::kScccn;
  for (size_t i = 0; i < tunnels; ++i) {
    lns.on_datagram(now, peer_of(i), sccrq_bytes(static_cast<uint16_t>(1 + i)));
    uint16_t id = 0;
    for (auto& a : lns.take_actions())
      if (auto* s = std::get_if<SendDatagram>(&a)) id = s->tunnel_id;
    lns.on_datagram(now, peer_of(i), encode_control(id, 0, 1, 1, encode_message(scccn)));
    (void)lns.take_actions();
    ids.push_back(id);
  }
  EXPECT_EQ(lns.live_tunnel_count(), tunnels);
  std::vector<uint16_t> calls(tunnels, 0);
  const PeerAddress fresh = PeerAddress::v4(0x0b000001, 1701);
  const auto start = std::chrono::steady_clock::now();
  for (uint16_t round = 0; round < 1000; ++round) {
    const size_t t = round % tunnels;
    Message icrq;
    icrq.type = MessageType::kIcrq;
    icrq.assigned_session_id = static_cast<uint16_t>(round + 1);
    icrq.call_serial_number = round;
    const auto k = calls[t]++;
    lns.on_datagram(now, peer_of(t), encode_control(ids[t], 0, static_cast<uint16_t>(2 + k), static_cast<uint16_t>(1 + k), encode_message(icrq)));
    lns.on_datagram(now, fresh, sccrq_bytes(static_cast<uint16_t>(round + 1)));  // a new tunnel
    lns.on_datagram(now, fresh, sccrq_bytes(static_cast<uint16_t>(round + 1)));  // its retransmission
    (void)lns.next_deadline();
    now += std::chrono::microseconds(10);
    lns.on_timer(now);
    (void)lns.take_actions();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(lns.held_session_ids(), 1000u);
  return s;
}

TEST(EndpointScaling, PerDatagramAndTimerCostDoesNotGrowWithTheTunnelCount) {
  double small = 1e9, large = 1e9;
  for (int i = 0; i < 3; ++i) {
    small = std::min(small, seconds_for_work(100));
    large = std::min(large, seconds_for_work(10000));
  }
  EXPECT_LT(large, 10 * small) << "100 tunnels: " << small << " s, 10,000 tunnels: " << large << " s";
}

}  // namespace
}  // namespace l2tpvpn::l2tp
