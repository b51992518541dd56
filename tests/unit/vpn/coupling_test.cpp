// server/vpn/coupling: RFC 3193's coupling of L2TP tunnels and IPsec SAs as a pure core. The tunnels and the SA
// view are plain values; each test asserts on the actions.
#include "server/vpn/coupling.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "ipsec/sa_registry.hpp"
#include "server/ipsec_supervisor.hpp"

namespace l2tpvpn::vpn {
namespace {

const l2tp::PeerAddress kWin = l2tp::PeerAddress::v4(0xc000020b, 1701);
const l2tp::PeerAddress kMac = l2tp::PeerAddress::v4(0xc000020d, 50123);
const l2tp::PeerAddress kNatA = l2tp::PeerAddress::v4(0xc0000214, 40001);  // two clients behind one NAT
const l2tp::PeerAddress kNatB = l2tp::PeerAddress::v4(0xc0000214, 40002);

struct Sas {
  std::map<std::string, uint32_t> by_peer;
  SaLookup lookup() const {
    return [this](const l2tp::PeerAddress& p) -> std::optional<uint32_t> {
      auto it = by_peer.find(p.to_string());
      if (it == by_peer.end()) return std::nullopt;
      return it->second;
    };
  }
};

template <class T>
std::vector<T> only(const std::vector<CouplingAction>& actions) {
  std::vector<T> out;
  for (const auto& a : actions)
    if (auto* p = std::get_if<T>(&a)) out.push_back(*p);
  return out;
}

TEST(Coupling, SaLossClosesOnlyThatPeersLiveTunnels) {
  Coupling c;
  Sas sas;
  sas.by_peer[kWin.to_string()] = 1;
  std::vector<TunnelRef> tunnels = {{7, kWin, true}, {8, kMac, true}, {9, kMac, false}};
  c.sas_changed(true, tunnels, sas.lookup());
  auto a = c.take_actions();
  auto closed = only<CloseTunnel>(a);
  ASSERT_EQ(closed.size(), 1u);  // 9 is already closing
  EXPECT_EQ(closed[0].tunnel_id, 8);
  EXPECT_EQ(closed[0].result.message, "IPsec SA ended");
  EXPECT_EQ(c.tunnels_closed_for_sa(), 1u);
}

TEST(Coupling, SaLossWithoutLiveTunnelsDoesNothing) {
  Coupling c;
  Sas sas;
  c.sas_changed(true, {}, sas.lookup());
  c.sas_changed(true, {{9, kMac, false}}, sas.lookup());
  EXPECT_TRUE(c.take_actions().empty());
}

TEST(Coupling, NothingIsClosedWhileTheSaViewIsNotInSync) {
  Coupling c;
  Sas sas;  // charon restarting: empty view
  c.sas_changed(false, {{7, kWin, true}}, sas.lookup());
  EXPECT_TRUE(c.take_actions().empty());
  EXPECT_EQ(c.tunnels_closed_for_sa(), 0u);
}

TEST(Coupling, AdmissionNeedsAnSaInAViewInSync) {
  Sas sas;
  sas.by_peer[kWin.to_string()] = 1;
  int lookups = 0;
  SaLookup counted = [&](const l2tp::PeerAddress& p) {
    ++lookups;
    return sas.lookup()(p);
  };
  EXPECT_EQ(admission(true, true, kWin, counted), l2tp::Admission::kAdmit);
  EXPECT_EQ(admission(true, true, kMac, counted), l2tp::Admission::kRefuse);
  EXPECT_EQ(lookups, 2);
  // Out of sync: the stale view is not consulted at all, even for a peer it lists.
  EXPECT_EQ(admission(true, false, kWin, counted), l2tp::Admission::kNotReady);
  EXPECT_EQ(admission(true, false, kMac, counted), l2tp::Admission::kNotReady);
  EXPECT_EQ(lookups, 2);
  // IPsec not required: everyone, whatever the view.
  EXPECT_EQ(admission(false, false, kMac, counted), l2tp::Admission::kAdmit);
  EXPECT_EQ(admission(false, true, kMac, counted), l2tp::Admission::kAdmit);
}

TEST(Coupling, CharonLostThenResyncedFailsClosedThenCouples) {
  // charon is killed while windows has tunnel 7: its SAs are gone from the kernel, but the registry still shows
  // the last view until the new charon's list-sas replaces it.
  Coupling c;
  Sas stale;
  stale.by_peer[kWin.to_string()] = 1;
  std::vector<TunnelRef> tunnels = {{7, kWin, true}};
  // Link down: no new tunnel, not even for the peer the stale view lists; the existing tunnel is left alone.
  EXPECT_EQ(admission(true, false, kWin, stale.lookup()), l2tp::Admission::kNotReady);
  c.sas_changed(false, tunnels, stale.lookup());
  EXPECT_TRUE(c.take_actions().empty());
  // Re-synced with the new charon's (empty) view: the tunnel goes, and an SCCRQ is refused for want of an SA.
  Sas fresh;
  c.sas_changed(true, tunnels, fresh.lookup());
  auto closed = only<CloseTunnel>(c.take_actions());
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].tunnel_id, 7);
  EXPECT_EQ(admission(true, true, kWin, fresh.lookup()), l2tp::Admission::kRefuse);
  // The client negotiates a new SA: admitted again.
  fresh.by_peer[kWin.to_string()] = 2;
  EXPECT_EQ(admission(true, true, kWin, fresh.lookup()), l2tp::Admission::kAdmit);
}

TEST(Coupling, LastTunnelOfAPeerEndsItsIkeSa) {
  Coupling c;
  Sas sas;
  sas.by_peer[kWin.to_string()] = 42;
  c.tunnel_closed(true, kWin, {{7, kWin, false}}, sas.lookup());
  auto t = only<TerminateIke>(c.take_actions());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].ike_id, 42u);
  EXPECT_EQ(c.ike_terminated(), 1u);
}

// Several tunnels of one peer: the IKE_SA stays while one of them lives, including one still being set up (a
// client reconnecting inside its SA).
TEST(Coupling, AnotherLiveTunnelOfThePeerKeepsTheIkeSa) {
  Coupling c;
  Sas sas;
  sas.by_peer[kWin.to_string()] = 42;
  c.tunnel_closed(true, kWin, {{7, kWin, false}, {8, kWin, true}}, sas.lookup());
  EXPECT_TRUE(c.take_actions().empty());
}

TEST(Coupling, PeersBehindOneNatAreKeptApartByPort) {
  Coupling c;
  Sas sas;
  sas.by_peer[kNatA.to_string()] = 1;
  sas.by_peer[kNatB.to_string()] = 2;
  c.tunnel_closed(true, kNatA, {{7, kNatA, false}, {8, kNatB, true}}, sas.lookup());
  auto t = only<TerminateIke>(c.take_actions());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].ike_id, 1u);
}

TEST(Coupling, NoTerminateWithoutSaOrWhenCharonCannotBeAsked) {
  Coupling c;
  Sas sas;
  c.tunnel_closed(true, kWin, {}, sas.lookup());  // the SA went first (client deleted it)
  sas.by_peer[kWin.to_string()] = 42;
  c.tunnel_closed(false, kWin, {}, sas.lookup());  // IPsec not required, or charon not connected
  EXPECT_TRUE(c.take_actions().empty());
  EXPECT_EQ(c.ike_terminated(), 0u);
}

// Two Windows clients behind one NAT: the same public address and L2TP port 1701, told apart only by the mark of
// the SA each one's datagrams came through. The SA view is a real ipsec::SaRegistry fed like charon feeds it, and
// looked up as the daemon does (IpsecSupervisor's find_sa / find_unique_ike with the tunnel's PeerAddress), so
// these fail if the mark is lost anywhere between the PeerAddress and the registry.
const l2tp::PeerAddress kNatMark1 = l2tp::PeerAddress::v4(0xc6336407, 1701, 1);  // 198.51.100.7:1701#1
const l2tp::PeerAddress kNatMark2 = l2tp::PeerAddress::v4(0xc6336407, 1701, 2);  // 198.51.100.7:1701#2

struct MarkedSas {
  ipsec::SaRegistry registry;

  // child-updown for one CHILD_SA of IKE_SA `ike` from the NAT, as charon reports it with mark_in = %unique.
  static vici::Message child_updown(bool up, uint32_t ike, uint32_t child, uint32_t mark) {
    vici::Message m;
    if (up) m.set("up", "yes");
    vici::Section& s = m.add_section("l2tpvpn");
    s.set("uniqueid", std::to_string(ike));
    s.set("remote-host", "198.51.100.7");
    s.set("remote-port", std::to_string(4500 + ike));
    vici::Section& c = s.add_section("child-sas").add_section("l2tp-" + std::to_string(child));
    c.set("name", "l2tp");
    c.set("uniqueid", std::to_string(child));
    c.set("state", up ? "INSTALLED" : "DELETING");
    c.set("mode", "TRANSPORT");
    c.set("protocol", "ESP");
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", mark);
    c.set("mark-in", hex);
    c.set("mark-out", hex);
    c.set_list("local-ts", {"192.0.2.1/32[udp/1701]"});
    c.set_list("remote-ts", {"198.51.100.7/32[udp/1701]"});
    return m;
  }
  void up(uint32_t ike, uint32_t child, uint32_t mark) {
    EXPECT_TRUE(registry.on_event("child-updown", child_updown(true, ike, child, mark)));
  }
  void down(uint32_t ike, uint32_t child, uint32_t mark) {
    EXPECT_TRUE(registry.on_event("child-updown", child_updown(false, ike, child, mark)));
  }
  // What the daemon passes for admission and sas_changed (IpsecSupervisor::ike_of), and for tunnel_closed
  // (IpsecSupervisor::unique_ike_of).
  SaLookup ike_of() const {
    return [this](const l2tp::PeerAddress& p) -> std::optional<uint32_t> {
      if (auto sa = find_sa(registry, p)) return sa->ike_id;
      return std::nullopt;
    };
  }
  SaLookup unique_ike_of() const {
    return [this](const l2tp::PeerAddress& p) { return find_unique_ike(registry, p); };
  }
};

TEST(Coupling, ClientsBehindOneNatAreAdmittedByTheMarkOfTheirOwnSa) {
  MarkedSas sas;
  sas.up(1, 11, 1);
  EXPECT_EQ(admission(true, true, kNatMark1, sas.ike_of()), l2tp::Admission::kAdmit);
  // Same address and port, but no SA with mark 2 yet: the second client's SCCRQ cannot ride the first's SA.
  EXPECT_EQ(admission(true, true, kNatMark2, sas.ike_of()), l2tp::Admission::kRefuse);
  sas.up(2, 12, 2);
  EXPECT_EQ(admission(true, true, kNatMark2, sas.ike_of()), l2tp::Admission::kAdmit);
  EXPECT_EQ(admission(true, true, l2tp::PeerAddress::v4(0xc6336407, 1701, 3), sas.ike_of()),
            l2tp::Admission::kRefuse);
  EXPECT_EQ(admission(true, true, l2tp::PeerAddress::v4(0xc6336407, 1701), sas.ike_of()), l2tp::Admission::kRefuse);
}

TEST(Coupling, WhenOneOfTwoClientsBehindOneNatLosesItsSaOnlyItsTunnelCloses) {
  Coupling c;
  MarkedSas sas;
  sas.up(1, 11, 1);
  sas.up(2, 12, 2);
  std::vector<TunnelRef> tunnels = {{7, kNatMark1, true}, {8, kNatMark2, true}};
  c.sas_changed(true, tunnels, sas.ike_of());
  EXPECT_TRUE(c.take_actions().empty());
  sas.down(2, 12, 2);  // the second client's SA goes (DPD, or it hung up)
  c.sas_changed(true, tunnels, sas.ike_of());
  auto closed = only<CloseTunnel>(c.take_actions());
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].tunnel_id, 8);
  EXPECT_EQ(c.tunnels_closed_for_sa(), 1u);
}

TEST(Coupling, TheLastTunnelOfOneClientBehindANatEndsOnlyItsIkeSa) {
  Coupling c;
  MarkedSas sas;
  sas.up(1, 11, 1);
  sas.up(2, 12, 2);
  // Tunnel 7 (mark 1) ended; tunnel 8 of the other client (same address and port, mark 2) lives on.
  c.tunnel_closed(true, kNatMark1, {{7, kNatMark1, false}, {8, kNatMark2, true}}, sas.unique_ike_of());
  auto t = only<TerminateIke>(c.take_actions());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].ike_id, 1u);
  EXPECT_EQ(t[0].peer, kNatMark1);
  EXPECT_EQ(c.ike_terminated(), 1u);
  // And the other client's last tunnel ends its own IKE_SA.
  c.tunnel_closed(true, kNatMark2, {{8, kNatMark2, false}}, sas.unique_ike_of());
  t = only<TerminateIke>(c.take_actions());
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].ike_id, 2u);
}

}  // namespace
}  // namespace l2tpvpn::vpn
