#include "ipsec/sa_registry.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace l2tpvpn::ipsec {
namespace {

using vici::Message;
using vici::Section;

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

// An IKE_SA section shaped like charon 5.9's list-sa output for a Windows client behind a NAT.
Section ike_section(uint32_t id, const char* remote, uint16_t remote_port, bool nat = true) {
  Section s;
  s.set("uniqueid", std::to_string(id));
  s.set("version", "1");
  s.set("state", "ESTABLISHED");
  s.set("local-host", "192.0.2.1");
  s.set("local-port", nat ? "4500" : "500");
  s.set("local-id", "192.0.2.1");
  s.set("remote-host", remote);
  s.set("remote-port", std::to_string(remote_port));
  s.set("remote-id", "10.0.2.15");
  s.set("initiator-spi", "8d5c9e2b0f1a3c4d");
  s.set("responder-spi", "1a2b3c4d5e6f7081");
  if (nat) {
    s.set("nat-remote", "yes");
    s.set("nat-any", "yes");
  }
  s.set("encr-alg", "AES_CBC");
  s.set("encr-keysize", "256");
  s.set("integ-alg", "HMAC_SHA1_96");
  s.set("prf-alg", "PRF_HMAC_SHA1");
  s.set("dh-group", "MODP_2048");
  s.set("established", "12");
  s.set_list("local-vips", {});
  s.set_list("remote-vips", {});
  s.set_list("tasks-queued", {});
  s.set_list("tasks-active", {});
  s.set_list("tasks-passive", {});
  return s;
}

Section child_section(uint32_t id, const char* remote_ts, const char* state = "INSTALLED",
                      const char* mode = "TRANSPORT", const char* local_ts = "192.0.2.1/32[udp/l2f]") {
  Section c;
  c.set("name", "l2tp");
  c.set("uniqueid", std::to_string(id));
  c.set("reqid", std::to_string(id));
  c.set("state", state);
  c.set("mode", mode);
  c.set("protocol", "ESP");
  c.set("encap", "yes");
  c.set("spi-in", "c3d1a2b4");
  c.set("spi-out", "0a1b2c3d");
  c.set("encr-alg", "AES_CBC");
  c.set("encr-keysize", "128");
  c.set("integ-alg", "HMAC_SHA1_96");
  c.set("bytes-in", "1234");
  c.set("packets-in", "10");
  c.set("use-in", "1");
  c.set("bytes-out", "5678");
  c.set("packets-out", "12");
  c.set("rekey-time", "0");
  c.set("life-time", "86388");
  c.set("install-time", "12");
  c.set_list("local-ts", {local_ts});
  c.set_list("remote-ts", {remote_ts});
  return c;
}

// The child section as charon reports it for a CHILD_SA with mark_in = mark_out = %unique: 8 hex digits.
Section marked(Section c, uint32_t mark) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", mark);
  c.set("mark-in", hex);
  c.set("mark-out", hex);
  return c;
}

Message list_sa(const char* conn, Section ike, std::vector<Section> children) {
  Section& kids = ike.add_section("child-sas");
  for (auto& c : children) kids.add_section("l2tp-" + *c.value("uniqueid")) = c;
  Message m;
  m.add_section(conn) = ike;
  return m;
}

Message updown(bool up, const char* conn, Section ike, std::vector<Section> children) {
  Message m;
  if (up) m.set("up", "yes");
  Message inner = list_sa(conn, std::move(ike), std::move(children));
  m.add_section(conn) = *inner.section(conn);
  return m;
}

TEST(SaRegistry, SnapshotKeepsOnlyInstalledL2tpTransportSas) {
  SaRegistry r;
  r.replace_all({
      list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 61234),
              {child_section(1, "10.0.2.15/32[udp/l2f]"),           // Windows: port 1701
               child_section(2, "10.0.2.15/32[udp]", "REKEYED")}),  // rekeyed away: ignored
      list_sa("l2tpvpn", ike_section(2, "203.0.113.9", 500, false),
              {child_section(3, "203.0.113.9/32[udp/51000]"),                // macOS: ephemeral port
               child_section(4, "203.0.113.9/32", "INSTALLED", "TUNNEL")}),  // tunnel mode: ignored
      list_sa("other", ike_section(3, "203.0.113.50", 500, false),
              {child_section(5, "0.0.0.0/0", "INSTALLED", "TRANSPORT", "192.0.2.1/32[tcp/22]")}),  // not L2TP
  });
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.stats().ignored_children, 3u);

  auto win = r.find(ip("198.51.100.7"), 1701, 0);
  ASSERT_TRUE(win);
  EXPECT_EQ(win->ike_name, "l2tpvpn");
  EXPECT_EQ(win->ike_id, 1u);
  EXPECT_EQ(win->child_id, 1u);
  EXPECT_EQ(win->remote_port, 61234);
  EXPECT_TRUE(win->nat);
  EXPECT_TRUE(win->encap);
  EXPECT_EQ(win->ike.encr, "AES_CBC-256");
  EXPECT_EQ(win->ike.integ, "HMAC_SHA1_96");
  EXPECT_EQ(win->ike.dh, "MODP_2048");
  EXPECT_EQ(win->esp.encr, "AES_CBC-128");
  EXPECT_EQ(win->bytes_in, 1234u);
  EXPECT_EQ(win->bytes_out, 5678u);
  EXPECT_EQ(win->remote_id, "10.0.2.15");
  EXPECT_FALSE(r.find(ip("198.51.100.7"), 1702, 0));  // the selector names port 1701 only

  auto mac = r.find(ip("203.0.113.9"), 51000, 0);
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->child_id, 3u);
  EXPECT_FALSE(mac->nat);
  EXPECT_FALSE(r.find(ip("203.0.113.9"), 1701, 0));
  EXPECT_FALSE(r.find(ip("203.0.113.50"), 1701, 0));
  EXPECT_FALSE(r.find(ip("192.0.2.99"), 1701, 0));

  // A new snapshot replaces everything.
  r.replace_all({});
  EXPECT_EQ(r.size(), 0u);
}

TEST(SaRegistry, ChildUpdownAddsAndRemoves) {
  SaRegistry r;
  EXPECT_TRUE(r.on_event("child-updown", updown(true, "l2tpvpn", ike_section(7, "198.51.100.7", 4500),
                                                {child_section(11, "198.51.100.7/32[udp]")})));
  ASSERT_TRUE(r.find(ip("198.51.100.7"), 1701, 0));
  EXPECT_TRUE(r.find(ip("198.51.100.7"), 40000, 0));  // [udp]: any source port
  EXPECT_TRUE(r.on_event("child-updown", updown(false, "l2tpvpn", ike_section(7, "198.51.100.7", 4500),
                                                {child_section(11, "198.51.100.7/32[udp]", "DELETING")})));
  EXPECT_FALSE(r.find(ip("198.51.100.7"), 1701, 0));
  EXPECT_EQ(r.stats().events, 2u);
  // Idempotent: the same down again is harmless.
  EXPECT_TRUE(r.on_event("child-updown", updown(false, "l2tpvpn", ike_section(7, "198.51.100.7", 4500),
                                                {child_section(11, "198.51.100.7/32[udp]")})));
}

TEST(SaRegistry, IkeDownRemovesItsChildren) {
  SaRegistry r;
  r.replace_all(
      {list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {child_section(1, "198.51.100.7/32[udp/l2f]")}),
       list_sa("l2tpvpn", ike_section(2, "198.51.100.8", 4500), {child_section(2, "198.51.100.8/32[udp/l2f]")})});
  Message down;
  down.add_section("l2tpvpn") = ike_section(1, "198.51.100.7", 4500);
  EXPECT_TRUE(r.on_event("ike-updown", down));
  EXPECT_EQ(r.size(), 1u);
  EXPECT_FALSE(r.find(ip("198.51.100.7"), 1701, 0));
  EXPECT_TRUE(r.find(ip("198.51.100.8"), 1701, 0));
  Message up = down;
  up.set("up", "yes");
  EXPECT_TRUE(r.on_event("ike-updown", up));  // an IKE_SA up alone adds nothing
  EXPECT_EQ(r.size(), 1u);
}

TEST(SaRegistry, ChildRekeyReplacesOldByNew) {
  SaRegistry r;
  r.replace_all(
      {list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {child_section(1, "198.51.100.7/32[udp/l2f]")})});
  Message m;
  Section& ike = m.add_section("l2tpvpn");
  ike = ike_section(1, "198.51.100.7", 4500);
  Section& pair = ike.add_section("child-sas").add_section("l2tp");
  pair.add_section("old") = child_section(1, "198.51.100.7/32[udp/l2f]", "REKEYED");
  pair.add_section("new") = child_section(9, "198.51.100.7/32[udp/l2f]");
  EXPECT_TRUE(r.on_event("child-rekey", m));
  auto sa = r.find(ip("198.51.100.7"), 1701, 0);
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->child_id, 9u);
  EXPECT_EQ(r.size(), 1u);
}

TEST(SaRegistry, IkeRekeyMovesChildrenToTheNewIkeSa) {
  SaRegistry r;
  r.replace_all(
      {list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {child_section(1, "198.51.100.7/32[udp/l2f]")})});
  Message m;
  Section& pair = m.add_section("l2tpvpn");
  pair.add_section("old") = ike_section(1, "198.51.100.7", 4500);
  Section fresh = ike_section(5, "198.51.100.7", 4500);
  fresh.set("dh-group", "ECP_384");
  pair.add_section("new") = fresh;
  EXPECT_TRUE(r.on_event("ike-rekey", m));
  auto sa = r.find(ip("198.51.100.7"), 1701, 0);
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->ike_id, 5u);
  EXPECT_EQ(sa->ike.dh, "ECP_384");
  // ike-updown down for the OLD id no longer removes the child.
  Message down;
  down.add_section("l2tpvpn") = ike_section(1, "198.51.100.7", 4500);
  r.on_event("ike-updown", down);
  EXPECT_EQ(r.size(), 1u);
}

TEST(SaRegistry, IkeUpdateFollowsANatMappingChange) {
  SaRegistry r;
  r.replace_all(
      {list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {child_section(1, "10.0.2.15/32[udp/l2f]")})});
  Message m;
  m.set("local-host", "192.0.2.1");
  m.set("local-port", "4500");
  m.set("remote-host", "198.51.100.99");
  m.set("remote-port", "62000");
  m.add_section("l2tpvpn") = ike_section(1, "198.51.100.7", 4500);
  EXPECT_TRUE(r.on_event("ike-update", m));
  EXPECT_FALSE(r.find(ip("198.51.100.7"), 1701, 0));
  auto sa = r.find(ip("198.51.100.99"), 1701, 0);
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->remote_port, 62000);
}

TEST(SaRegistry, TwoClientsBehindOneNat) {
  SaRegistry r;
  r.replace_all({list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {child_section(1, "10.0.0.2/32[udp]")}),
                 list_sa("l2tpvpn", ike_section(2, "198.51.100.7", 4501), {child_section(2, "10.0.0.3/32[udp/l2f]")})});
  EXPECT_EQ(r.find_all(ip("198.51.100.7"), 1701, 0).size(), 2u);
  // The exact-port selector wins over [udp] for 1701; other ports go to the [udp] one.
  EXPECT_EQ(r.find(ip("198.51.100.7"), 1701, 0)->child_id, 2u);
  EXPECT_EQ(r.find(ip("198.51.100.7"), 50000, 0)->child_id, 1u);
  EXPECT_EQ(r.all().size(), 2u);
  EXPECT_EQ(r.all().front().child_id, 1u);
}

// Two Windows clients behind one NAT: both send L2TP from the public address and port 1701, each inside its own
// SA with the same kind of selector. Which IKE_SA a tunnel belongs to cannot be told from the address, so none is
// named (ending one client's tunnel must not end the other's IKE_SA); a selector naming the port exactly, or a
// single client, is unambiguous.
TEST(SaRegistry, UniqueIkeOfIsNulloptWhenClientsBehindOneNatMatchEqually) {
  SaRegistry r;
  r.replace_all({list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {child_section(1, "10.0.0.2/32[udp/1701]")}),
                 list_sa("l2tpvpn", ike_section(2, "198.51.100.7", 4501), {child_section(2, "10.0.0.3/32[udp/1701]")})});
  EXPECT_EQ(r.find_all(ip("198.51.100.7"), 1701, 0).size(), 2u);
  EXPECT_FALSE(r.unique_ike_of(ip("198.51.100.7"), 1701, 0));
  EXPECT_TRUE(r.find(ip("198.51.100.7"), 1701, 0));  // admission still finds an SA

  SaRegistry one;
  one.replace_all({list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {child_section(1, "10.0.0.2/32[udp]")}),
                   list_sa("l2tpvpn", ike_section(2, "198.51.100.7", 4501), {child_section(2, "10.0.0.3/32[udp/l2f]")})});
  EXPECT_EQ(one.unique_ike_of(ip("198.51.100.7"), 1701, 0), 2u);   // the exact port ranks first
  EXPECT_EQ(one.unique_ike_of(ip("198.51.100.7"), 50000, 0), 1u);  // only [udp] matches
  EXPECT_FALSE(one.unique_ike_of(ip("198.51.100.8"), 1701, 0));
}

// Two Windows clients behind one NAT, each CHILD_SA with its own mark (the profile's mark_in = %unique): same
// public address, same L2TP port 1701, same selector. The mark of the datagram names the client's SA exactly.
SaRegistry two_marked_clients_behind_one_nat() {
  SaRegistry r;
  r.replace_all({list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500),
                         {marked(child_section(1, "198.51.100.7/32[udp/l2f]"), 1)}),
                 list_sa("l2tpvpn", ike_section(2, "198.51.100.7", 4501),
                         {marked(child_section(2, "198.51.100.7/32[udp/l2f]"), 2)})});
  return r;
}

TEST(SaRegistry, TheMarkTellsClientsBehindOneNatApart) {
  SaRegistry r = two_marked_clients_behind_one_nat();
  ASSERT_EQ(r.size(), 2u);
  auto first = r.find(ip("198.51.100.7"), 1701, 1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->child_id, 1u);
  EXPECT_EQ(first->ike_id, 1u);
  EXPECT_EQ(first->mark_in, 1u);
  EXPECT_EQ(first->mark_out, 1u);
  auto second = r.find(ip("198.51.100.7"), 1701, 2);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->child_id, 2u);
  EXPECT_EQ(second->ike_id, 2u);
  EXPECT_EQ(second->mark_in, 2u);
  // A mark no SA has, or none at all: nothing (every L2TP SA of ours is marked).
  EXPECT_FALSE(r.find(ip("198.51.100.7"), 1701, 3));
  EXPECT_FALSE(r.find(ip("198.51.100.7"), 1701, 0));
  EXPECT_EQ(r.find_all(ip("198.51.100.7"), 1701, 1).size(), 1u);
  EXPECT_EQ(r.find_all(ip("198.51.100.7"), 1701, 2).size(), 1u);
  EXPECT_TRUE(r.find_all(ip("198.51.100.7"), 1701, 0).empty());
  // The address must still match: a mark alone admits nobody else.
  EXPECT_FALSE(r.find(ip("198.51.100.8"), 1701, 1));
}

TEST(SaRegistry, WithMarksUniqueIkeOfNamesEachClientsOwnIkeSa) {
  SaRegistry r = two_marked_clients_behind_one_nat();
  EXPECT_EQ(r.unique_ike_of(ip("198.51.100.7"), 1701, 1), 1u);
  EXPECT_EQ(r.unique_ike_of(ip("198.51.100.7"), 1701, 2), 2u);
  EXPECT_FALSE(r.unique_ike_of(ip("198.51.100.7"), 1701, 3));
  EXPECT_FALSE(r.unique_ike_of(ip("198.51.100.7"), 1701, 0));
}

// An IKEv1 client rekeys its CHILD_SA: the new one keeps the mark (and reqid), and the registry keeps answering
// for that mark with the new CHILD_SA, and only for that client.
TEST(SaRegistry, AChildRekeyKeepsAnsweringForTheMark) {
  SaRegistry r = two_marked_clients_behind_one_nat();
  Message m;
  Section& ike = m.add_section("l2tpvpn");
  ike = ike_section(1, "198.51.100.7", 4500);
  Section& pair = ike.add_section("child-sas").add_section("l2tp");
  pair.add_section("old") = marked(child_section(1, "198.51.100.7/32[udp/l2f]", "REKEYED"), 1);
  Section fresh = marked(child_section(9, "198.51.100.7/32[udp/l2f]"), 1);
  fresh.set("reqid", "1");
  pair.add_section("new") = fresh;
  EXPECT_TRUE(r.on_event("child-rekey", m));
  EXPECT_EQ(r.size(), 2u);
  auto first = r.find(ip("198.51.100.7"), 1701, 1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->child_id, 9u);
  EXPECT_EQ(first->mark_in, 1u);
  EXPECT_EQ(first->reqid, 1u);
  EXPECT_EQ(r.unique_ike_of(ip("198.51.100.7"), 1701, 1), 1u);
  // The newer CHILD_SA does not capture the other client's mark.
  auto second = r.find(ip("198.51.100.7"), 1701, 2);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->child_id, 2u);
  EXPECT_EQ(r.unique_ike_of(ip("198.51.100.7"), 1701, 2), 2u);
}

TEST(SaRegistry, AMarkArrivesWithChildUpdownToo) {
  SaRegistry r;
  EXPECT_TRUE(r.on_event("child-updown", updown(true, "l2tpvpn", ike_section(7, "198.51.100.7", 4500),
                                                {marked(child_section(11, "198.51.100.7/32[udp]"), 0x2a)})));
  auto sa = r.find(ip("198.51.100.7"), 1701, 42);
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->mark_in, 42u);
  EXPECT_EQ(sa->mark_out, 42u);
  EXPECT_FALSE(r.find(ip("198.51.100.7"), 1701, 0));
}

// Marks off (or an SA charon set up before they were): no "mark-in" key. Such a CHILD_SA answers only for
// datagrams without a mark.
TEST(SaRegistry, AChildWithoutAMarkIsFoundOnlyWithMarkZero) {
  SaRegistry r;
  r.replace_all(
      {list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {child_section(1, "198.51.100.7/32[udp/l2f]")})});
  auto sa = r.find(ip("198.51.100.7"), 1701, 0);
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->mark_in, 0u);
  EXPECT_EQ(sa->mark_out, 0u);
  EXPECT_FALSE(r.find(ip("198.51.100.7"), 1701, 1));
  EXPECT_TRUE(r.find_all(ip("198.51.100.7"), 1701, 1).empty());
  EXPECT_FALSE(r.unique_ike_of(ip("198.51.100.7"), 1701, 1));
  EXPECT_EQ(r.unique_ike_of(ip("198.51.100.7"), 1701, 0), 1u);
}

TEST(SaRegistry, AnUnreadableMarkIsCountedAndTakenAsNone) {
  SaRegistry r;
  Section c = child_section(1, "198.51.100.7/32[udp/l2f]");
  c.set("mark-in", "0000000g");
  c.set("mark-out", "00000001");
  r.replace_all({list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {c})});
  EXPECT_EQ(r.stats().malformed, 1u);
  EXPECT_FALSE(r.find(ip("198.51.100.7"), 1701, 1));
  auto sa = r.find(ip("198.51.100.7"), 1701, 0);
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->mark_in, 0u);
  EXPECT_EQ(sa->mark_out, 1u);
  for (const char* bad : {"", "100000000", "-1", "0x2", " 2"}) {
    SaRegistry one;
    Section b = child_section(1, "198.51.100.7/32[udp/l2f]");
    b.set("mark-in", bad);
    one.replace_all({list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500), {b})});
    EXPECT_EQ(one.stats().malformed, 1u) << '"' << bad << '"';
    EXPECT_EQ(one.all().at(0).mark_in, 0u) << '"' << bad << '"';
  }
}

TEST(SaRegistry, MalformedAndUnknownInputIsCountedNotFatal) {
  SaRegistry r;
  Message bad;
  bad.add_section("l2tpvpn").set("uniqueid", "x");  // no usable id or address
  EXPECT_FALSE(r.on_event("child-updown", bad));
  Message no_child_id = updown(true, "l2tpvpn", ike_section(1, "198.51.100.7", 4500), {});
  no_child_id.add_section("l2tpvpn").add_section("child-sas").add_section("c").set("state", "INSTALLED");
  EXPECT_FALSE(r.on_event("child-updown", no_child_id));
  EXPECT_TRUE(r.on_event("log", bad));  // not an SA event: ignored
  EXPECT_FALSE(r.on_event("ike-update", Message{}));
  EXPECT_GE(r.stats().malformed, 3u);
  EXPECT_EQ(r.size(), 0u);
}

TEST(SaRegistry, SelectorsWithUnknownServiceNamesDoNotMatch) {
  SaRegistry r;
  r.replace_all(
      {list_sa("l2tpvpn", ike_section(1, "198.51.100.7", 4500),
               {child_section(1, "198.51.100.7/32[udp/l2f]", "INSTALLED", "TRANSPORT", "192.0.2.1/32[udp/mystery]")})});
  EXPECT_EQ(r.size(), 0u);
}

}  // namespace
}  // namespace l2tpvpn::ipsec
