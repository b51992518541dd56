// server/status: the /status and /metrics views of the L2TP endpoint, and the reader l2tpvpnctl uses. A LAC and an LNS endpoint exchange
// datagrams in memory (virtual time) so the LNS holds a real tunnel to render.
#include "server/status.hpp"

#include <gtest/gtest.h>

#include <random>

namespace l2tpvpn {
namespace {

using namespace l2tp;
using nlohmann::json;

RandomFn seeded(uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [rng](std::span<uint8_t> out) {
    for (auto& b : out) b = static_cast<uint8_t>((*rng)());
  };
}

const PeerAddress kLacAddr = PeerAddress::v4(0xc0000202, 1701);  // 192.0.2.2
const PeerAddress kLnsAddr = PeerAddress::v4(0xc0000201, 1701);  // 192.0.2.1

// An LNS with one established tunnel from a LAC that calls itself `host_name`, seen by the LNS as `lac_addr`.
std::unique_ptr<Endpoint> lns_with_tunnel_from(const std::string& host_name, const PeerAddress& lac_addr = kLacAddr) {
  L2tpConfig lac_cfg, lns_cfg;
  lac_cfg.role = Role::kLac;
  lac_cfg.host_name = host_name;
  lns_cfg.role = Role::kLns;
  lns_cfg.host_name = "lns";
  lac_cfg.channel.hello_interval = lns_cfg.channel.hello_interval = Duration(0);
  Endpoint lac(lac_cfg, seeded(1));
  auto lns = std::make_unique<Endpoint>(lns_cfg, seeded(2));
  TimePoint now{};
  EXPECT_TRUE(lac.open_tunnel(now, kLnsAddr));
  for (int round = 0; round < 20; ++round) {
    for (auto& a : lac.take_actions())
      if (auto* s = std::get_if<SendDatagram>(&a)) lns->on_datagram(now, lac_addr, s->bytes);
    for (auto& a : lns->take_actions())
      if (auto* s = std::get_if<SendDatagram>(&a)) lac.on_datagram(now, kLnsAddr, s->bytes);
    now += Duration(200);  // past the delayed-ack timer, so the last ZLB goes out
    lac.on_timer(now);
    lns->on_timer(now);
  }
  return lns;
}

TEST(Status, HostileHostNameIsEscapedAndTheJsonDumps) {
  // Invalid UTF-8 and a newline: nlohmann's dump() throws on the former, the latter would forge a log line.
  auto lns = lns_with_tunnel_from(std::string("\xff\nevil\"", 7));
  auto j = to_json(l2tp_view(*lns));
  ASSERT_EQ(j["tunnels"].size(), 1u);
  EXPECT_EQ(j["tunnels"][0]["state"], "established");
  EXPECT_EQ(j["tunnels"][0]["peer_host_name"], "\\xFF\\x0Aevil\\\"");
  std::string text;
  EXPECT_NO_THROW(text = j.dump(2));
  EXPECT_NE(text.find(R"("peer_host_name": "\\xFF\\x0Aevil\\\"")"), std::string::npos) << text;
}

TEST(Status, OrdinaryHostNameUnchanged) {
  auto lns = lns_with_tunnel_from("WIN-CLIENT01");
  EXPECT_EQ(to_json(l2tp_view(*lns))["tunnels"][0]["peer_host_name"], "WIN-CLIENT01");
}

// Clients behind one NAT share address and port: the tunnel shows the mark of the peer's SA as a number of its
// own, next to "address:port".
TEST(Status, ATunnelShowsItsPeersMarkApartFromAddressAndPort) {
  auto lns = lns_with_tunnel_from("WIN-CLIENT01", PeerAddress::v4(0xc0000202, 1701, 2));
  L2tpView v = l2tp_view(*lns);
  ASSERT_EQ(v.tunnels.size(), 1u);
  EXPECT_EQ(v.tunnels[0].peer, "192.0.2.2:1701");
  EXPECT_EQ(v.tunnels[0].peer_mark, 2u);
  auto j = to_json(v);
  EXPECT_EQ(j["tunnels"][0]["peer"], "192.0.2.2:1701");
  EXPECT_EQ(j["tunnels"][0]["peer_mark"], 2);
  // Without a mark: 0.
  EXPECT_EQ(to_json(l2tp_view(*lns_with_tunnel_from("WIN-CLIENT01")))["tunnels"][0]["peer_mark"], 0);
}


// A whole snapshot: one session with a hostile user name, PPP and IPsec views. Every rendering works from the
// typed values: the JSON has each part docs/status.schema.json requires, /metrics counts sessions by the typed
// state, and nothing throws on the peer's bytes.
StatusSnapshot full_snapshot() {
  StatusSnapshot s;
  s.server = ServerView{"0.2.0", 42, "192.0.2.1:1701",
                        ListenerCounters{.open = 1, .max = 64, .accepted = 9, .refused_over_cap = 2, .idle_closed = 3,
                                         .accept_fd_exhausted = 4},
                        ListenerCounters{.open = 0, .max = 16, .accepted = 5}};
  s.l2tp = l2tp_view(*lns_with_tunnel_from("WIN\xff\n", PeerAddress::v4(0xc0000202, 1701, 5)));
  IpsecView ip;
  ip.required = true;
  ip.charon = "embedded";
  ip.link = "ready";
  ip.charon_pid = 99;
  ip.sas.push_back(SaView{"192.0.2.2", 4500, true, true, "l2tpvpn[1]", "l2tp{1}", "AES_CBC-256/HMAC_SHA1_96",
                          "AES_CBC-256/HMAC_SHA1_96", 10, 20, 3, 4});
  s.ipsec = ip;
  PppView p;
  p.data_path = "kernel";
  p.pool_range = "10.99.0.10-10.99.0.250";
  p.pool_server_address = "10.99.0.1";
  p.pool_capacity = 241;
  p.pool_in_use = 2;
  p.pppd_running = 2;
  p.counters.pppd_killed = 3;
  s.ppp = p;
  SessionView up;
  up.tunnel = s.l2tp.tunnels.at(0).id;
  up.session = 7;
  up.user = std::string("eve\xff\n\"}");
  up.address = "10.99.0.10";
  up.interface = "ppp-l2tp0";
  up.state = SessionPhase::kUp;
  up.pppd_pid = 1234;
  up.peer = "192.0.2.2:1701";
  up.peer_mark = 5;
  up.ipsec = SessionIpsecView{true, 4500, "ike", "esp"};
  SessionView closing = up;
  closing.session = 8;
  closing.state = SessionPhase::kClosing;
  closing.user.reset();
  closing.interface.reset();
  closing.pppd_pid.reset();
  closing.ipsec.reset();
  s.sessions = {up, closing};
  return s;
}

TEST(Status, SnapshotRendersEveryPartFromTypedValues) {
  auto j = to_json(full_snapshot());
  for (const char* k : {"server", "l2tp", "ipsec", "ppp", "sessions"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_NO_THROW((void)j.dump());
  EXPECT_EQ(j["ipsec"]["link"], "ready");
  EXPECT_EQ(j["ipsec"]["charon_pid"], 99);
  EXPECT_EQ(j["ipsec"]["sas"][0]["remote_port"], 4500);
  EXPECT_EQ(j["ipsec"]["sas"][0]["mark_in"], 3);
  EXPECT_EQ(j["ipsec"]["sas"][0]["mark_out"], 4);
  EXPECT_EQ(j["sessions"][0]["peer"], "192.0.2.2:1701");
  EXPECT_EQ(j["sessions"][0]["peer_mark"], 5);
  EXPECT_EQ(j["ppp"]["counters"]["pppd_killed"], 3);
  EXPECT_EQ(j["ppp"]["pool"]["in_use"], 2);
  ASSERT_EQ(j["sessions"].size(), 2u);
  EXPECT_EQ(j["sessions"][0]["state"], "up");
  EXPECT_EQ(j["sessions"][0]["user"], "eve\\xFF\\x0A\\\"}");
  EXPECT_EQ(j["sessions"][0]["ipsec"]["nat"], true);
  EXPECT_TRUE(j["sessions"][1]["user"].is_null());
  EXPECT_TRUE(j["sessions"][1]["ipsec"].is_null());
  EXPECT_TRUE(j["sessions"][1]["pppd_pid"].is_null());
  EXPECT_EQ(j["l2tp"]["tunnels"][0]["peer_host_name"], "WIN\\xFF\\x0A");
  EXPECT_EQ(j["server"]["status_http"]["refused_over_cap"], 2);
  EXPECT_EQ(j["server"]["status_http"]["accept_fd_exhausted"], 4);
  EXPECT_EQ(j["server"]["control"]["max"], 16);
}

// /status is written as text straight from the views (to_json_text); it must be the tree's document exactly, for
// every part: escaped peer strings and drop reasons, nulls, absent and present optional objects, a string that
// needs JSON escaping without being a peer's (quotes, a control byte, invalid UTF-8 replaced as dump() does).
TEST(Status, TheTextWriterWritesTheTreesDocument) {
  auto dumped = [](const StatusSnapshot& s) {
    return json::parse(to_json(s).dump(-1, ' ', false, json::error_handler_t::replace));
  };
  auto s = full_snapshot();
  s.l2tp.drops["bad \"reason\"\xfe"] = 3;
  s.l2tp.drops["malformed"] = 12;
  s.ipsec->sas.at(0).esp_proposal = "quote\" back\\slash tab\t \xc3\xa9 bad\xff";
  s.ipsec->sas.push_back(s.ipsec->sas.at(0));
  s.sessions.push_back(s.sessions.at(0));
  s.sessions.back().data_path = "pty";
  const std::string text = to_json_text(s);
  ASSERT_TRUE(json::accept(text)) << text;
  EXPECT_EQ(json::parse(text), dumped(s)) << text;
  EXPECT_EQ(json::parse(text)["l2tp"]["drops"]["bad \\\"reason\\\"\\xFE"], 3) << text;
  EXPECT_EQ(text.find('\n'), std::string::npos) << "compact: one line";

  StatusSnapshot empty;  // no IPsec supervisor, no PPP side, no tunnels
  EXPECT_EQ(json::parse(to_json_text(empty)), dumped(empty));
}

// /metrics is made from counts (StatusSnapshot::tallies) without the views: the same text as from the views, and
// the endpoint counted directly agrees with its views counted.
TEST(Status, MetricsFromTalliesAreTheMetricsFromTheViews) {
  auto lns = lns_with_tunnel_from("WIN", kLacAddr);
  auto full = full_snapshot();
  full.l2tp = l2tp_view(*lns);
  Tallies counted;
  L2tpView bare = l2tp_view(*lns, &counted);
  EXPECT_TRUE(bare.tunnels.empty()) << "only counted";
  EXPECT_EQ(bare.retransmissions, full.l2tp.retransmissions);
  ASSERT_EQ(counted.tunnels.size(), 1u);
  EXPECT_EQ(counted.tunnels.begin()->second, 1u);

  StatusSnapshot lean = full;
  lean.l2tp = bare;
  lean.tallies = counted;
  lean.tallies->ppp_sessions = tally(full).ppp_sessions;
  lean.tallies->sas = full.ipsec->sas.size();
  lean.sessions.clear();
  lean.ipsec->sas.clear();
  EXPECT_EQ(*lean.tallies, tally(full));
  EXPECT_EQ(to_metrics(lean), to_metrics(full));
  EXPECT_NE(to_metrics(lean).find("l2tpvpn_ipsec_sas 1\n"), std::string::npos);
}

TEST(Status, WithoutIpsecOrPppTheDefaultsAreRendered) {
  StatusSnapshot s;
  auto j = to_json(s);
  EXPECT_EQ(j["ipsec"]["required"], false);
  EXPECT_EQ(j["ipsec"]["charon"], "none");
  EXPECT_TRUE(j["ipsec"]["sas"].empty());
  EXPECT_TRUE(j["ppp"].empty());
  EXPECT_TRUE(j["server"]["status_http"].is_null());  // the status endpoint off
  EXPECT_EQ(to_metrics(s).find("l2tpvpn_ppp_sessions"), std::string::npos);
  EXPECT_EQ(to_metrics(s).find("l2tpvpn_listener"), std::string::npos);
}

TEST(Status, MetricsComeFromTheSameSnapshot) {
  auto m = to_metrics(full_snapshot());
  EXPECT_NE(m.find("l2tpvpn_ppp_sessions{state=\"up\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("l2tpvpn_ppp_sessions{state=\"closing\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("l2tpvpn_ppp_sessions{state=\"starting\"} 0\n"), std::string::npos);
  EXPECT_NE(m.find("l2tpvpn_pool_addresses_in_use 2\n"), std::string::npos);
  EXPECT_NE(m.find("l2tpvpn_ipsec_sas 1\n"), std::string::npos);
  EXPECT_NE(m.find("l2tpvpn_charon_link_ready 1\n"), std::string::npos);
  EXPECT_NE(m.find("l2tpvpn_tunnels{state=\"established\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("l2tpvpn_listener_connections{listener=\"status_http\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("l2tpvpn_listener_refused_over_cap_total{listener=\"status_http\"} 2\n"), std::string::npos);
  EXPECT_NE(m.find("l2tpvpn_listener_accept_fd_exhausted_total{listener=\"status_http\"} 4\n"), std::string::npos);
  EXPECT_NE(m.find("l2tpvpn_listener_idle_closed_total{listener=\"control\"} 0\n"), std::string::npos);
}

// The reader: what to_json wrote comes back as the same typed values (the peer's bytes included), so rendering
// it again gives the same document.
TEST(StatusRead, TheWritersDocumentReadsBackWhole) {
  StatusSnapshot s = full_snapshot();
  s.l2tp.drops["odd\x01reason"] = 5;
  s.ipsec->tunnels_closed_for_sa = 6;
  s.ipsec->ike_terminated = 7;
  s.ppp->counters.hdlc.aborted = 8;
  const auto j = to_json(s);
  auto read = status_from_json(j);
  EXPECT_TRUE(read.unread.empty()) << read.unread.front();
  EXPECT_EQ(to_json(read.value), j);
  EXPECT_EQ(read.value.l2tp.tunnels.at(0).peer_host_name, "WIN\xff\n");
  EXPECT_EQ(read.value.sessions.at(0).user, std::string("eve\xff\n\"}"));
  EXPECT_EQ(read.value.l2tp.drops.count("odd\x01reason"), 1u);
  EXPECT_EQ(read.value.sessions.at(1).state, SessionPhase::kClosing);
  EXPECT_EQ(read.value.l2tp.tunnels.at(0).state, l2tp::TunnelState::kEstablished);
  EXPECT_EQ(read.value.ipsec->sas.at(0).mark_in, 3u);
  EXPECT_EQ(read.value.ipsec->sas.at(0).mark_out, 4u);
  EXPECT_EQ(read.value.sessions.at(0).peer_mark, 5u);
  EXPECT_EQ(read.value.l2tp.tunnels.at(0).peer_mark, 5u);

  auto sessions = sessions_from_json(j["sessions"]);
  EXPECT_TRUE(sessions.unread.empty());
  ASSERT_EQ(sessions.value.size(), 2u);
  EXPECT_EQ(to_json(sessions.value[1]), j["sessions"][1]);
}

TEST(StatusRead, WithoutIpsecOrPppReadsBackWithoutPpp) {
  auto read = status_from_json(to_json(StatusSnapshot{}));
  EXPECT_TRUE(read.unread.empty());
  EXPECT_FALSE(read.value.ppp);
  ASSERT_TRUE(read.value.ipsec);
  EXPECT_EQ(read.value.ipsec->charon, "none");
  EXPECT_FALSE(read.value.ipsec->required);
}

TEST(StatusRead, UnknownKeysAreIgnoredAndMissingOnesKeepDefaults) {
  auto j = to_json(full_snapshot());
  j["future_part"] = {{"x", 1}};
  j["sessions"][0]["future_field"] = "y";
  j["sessions"][0].erase("address");
  auto read = status_from_json(j);
  EXPECT_TRUE(read.unread.empty());
  EXPECT_EQ(read.value.sessions.at(0).address, "");
  EXPECT_EQ(read.value.sessions.at(0).pppd_pid, 1234);
}

TEST(StatusRead, WrongTypesAndUnknownStatesAreNamedByPath) {
  auto j = nlohmann::json::parse(R"({
    "server": 5,
    "l2tp": {"tunnels": [5, {"id": 70000, "peer_mark": -1, "state": "dancing", "sessions": 7,
                             "peer_host_name": "ok"}],
             "drops": {"no_sa": "many", "bad_header": 2}},
    "ipsec": {"required": "yes", "charon_pid": -1, "sas": [{"remote_port": -4, "mark_in": 4294967296}]},
    "ppp": {"pool": [], "counters": {"pppd_exits": 1.5}},
    "sessions": [1, {"tunnel": 3, "state": "up", "user": 9}]
  })");
  auto read = status_from_json(j);
  const std::vector<std::string> want = {
      "server",
      "l2tp.tunnels[0]",
      "l2tp.tunnels[1].id",
      "l2tp.tunnels[1].peer_mark",
      "l2tp.tunnels[1].state",
      "l2tp.tunnels[1].sessions",
      "l2tp.drops.no_sa",
      "ipsec.required",
      "ipsec.sas[0].remote_port",
      "ipsec.sas[0].mark_in",
      "ppp.pool",
      "ppp.counters.pppd_exits",
      "sessions[0]",
      "sessions[1].user",
  };
  EXPECT_EQ(read.unread, want);
  // What could be read, was.
  EXPECT_EQ(read.value.l2tp.tunnels.at(0).peer_host_name, "ok");
  EXPECT_EQ(read.value.l2tp.drops.at("bad_header"), 2u);
  EXPECT_EQ(read.value.ipsec->charon_pid, -1);
  EXPECT_EQ(read.value.sessions.at(0).tunnel, 3);
  EXPECT_EQ(read.value.sessions.at(0).state, SessionPhase::kUp);
}

TEST(StatusRead, AnythingAtAllNeverThrows) {
  for (const char* g : {R"([])", R"(null)", R"("x")", R"({"l2tp": []})", R"({"sessions": {}})",
                        R"({"l2tp": {"tunnels": [{"control": 1, "sessions": [[]]}]}})",
                        R"({"ipsec": {"sas": {}}, "ppp": 3})"}) {
    auto doc = nlohmann::json::parse(g);
    EXPECT_NO_THROW((void)status_from_json(doc)) << g;
    EXPECT_FALSE(status_from_json(doc).unread.empty()) << g;
    EXPECT_NO_THROW((void)sessions_from_json(doc)) << g;
  }
  EXPECT_EQ(sessions_from_json(nlohmann::json::object()).unread, std::vector<std::string>{"sessions"});
}

}  // namespace
}  // namespace l2tpvpn
