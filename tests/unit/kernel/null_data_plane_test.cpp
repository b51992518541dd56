#include "server/kernel/null_data_plane.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::kernel {
namespace {

using Call = NullDataPlane::Call;
using Kind = NullDataPlane::CallKind;

TunnelSpec spec(uint16_t local, uint16_t peer) {
  return TunnelSpec{local, peer, Ipv4Endpoint::from_host_order(0xC0000201, 1701),
                    Ipv4Endpoint::from_host_order(0xC0000202, 1701)};
}

TEST(NullDataPlaneTest, AvailableByDefaultAndUnavailableWhenConfigured) {
  NullDataPlane yes;
  EXPECT_TRUE(yes.available());
  NullDataPlane no(DataPlaneError{DataPlaneErrorCode::kUnavailable, "socket(AF_PPPOX)", 97, "test"});
  auto st = no.available();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, DataPlaneErrorCode::kUnavailable);
  auto t = no.create_tunnel(spec(1, 2));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, DataPlaneErrorCode::kUnavailable);
}

TEST(NullDataPlaneTest, TunnelAndSessionLifecycleIsRecordedInOrder) {
  NullDataPlane plane;
  auto t = plane.create_tunnel(spec(5, 9));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->tunnel_id, 5);
  EXPECT_EQ(t->peer_tunnel_id, 9);
  EXPECT_EQ(t->udp_fd, -1);
  SessionOptions opts;
  opts.send_seq = opts.recv_seq = true;
  auto s = plane.create_session(*t, 100, 200, opts);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->session_id, 100);
  EXPECT_EQ(s->peer_session_id, 200);
  EXPECT_EQ(s->fd, -1);
  ASSERT_TRUE(plane.session_options(5, 100));
  EXPECT_TRUE(plane.session_options(5, 100)->send_seq);
  EXPECT_EQ(plane.tunnel_spec(5)->peer.to_string(), "192.0.2.2:1701");
  EXPECT_EQ(plane.tunnel_count(), 1u);
  EXPECT_EQ(plane.session_count(), 1u);

  EXPECT_TRUE(plane.destroy_session(5, 100));
  EXPECT_TRUE(plane.destroy_tunnel(5));
  EXPECT_EQ(plane.tunnel_count(), 0u);
  EXPECT_EQ(plane.calls(), (std::vector<Call>{{Kind::kCreateTunnel, 5, 0},
                                              {Kind::kCreateSession, 5, 100},
                                              {Kind::kDestroySession, 5, 100},
                                              {Kind::kDestroyTunnel, 5, 0}}));
}

TEST(NullDataPlaneTest, DestroyTunnelTakesItsSessionsWithIt) {
  NullDataPlane plane;
  auto t = plane.create_tunnel(spec(5, 9));
  ASSERT_TRUE(t);
  ASSERT_TRUE(plane.create_session(*t, 1, 11, {}));
  ASSERT_TRUE(plane.create_session(*t, 2, 12, {}));
  EXPECT_TRUE(plane.destroy_tunnel(5));
  EXPECT_EQ(plane.session_count(), 0u);
  EXPECT_EQ(plane.calls().back(), (Call{Kind::kDestroyTunnel, 5, 0}));
  EXPECT_EQ(plane.calls().size(), 6u);  // tunnel, 2 sessions, 2 session destroys, tunnel destroy
}

TEST(NullDataPlaneTest, RejectsReservedIdsDuplicatesAndUnknowns) {
  NullDataPlane plane;
  EXPECT_EQ(plane.create_tunnel(spec(0, 9)).error().code, DataPlaneErrorCode::kInvalidArgument);
  EXPECT_EQ(plane.create_tunnel(spec(5, 0)).error().code, DataPlaneErrorCode::kInvalidArgument);
  auto t = plane.create_tunnel(spec(5, 9));
  ASSERT_TRUE(t);
  EXPECT_EQ(plane.create_tunnel(spec(5, 10)).error().code, DataPlaneErrorCode::kAlreadyExists);
  EXPECT_EQ(plane.create_session(*t, 0, 1, {}).error().code, DataPlaneErrorCode::kInvalidArgument);
  EXPECT_EQ(plane.create_session(*t, 1, 0, {}).error().code, DataPlaneErrorCode::kInvalidArgument);
  ASSERT_TRUE(plane.create_session(*t, 1, 2, {}));
  EXPECT_EQ(plane.create_session(*t, 1, 3, {}).error().code, DataPlaneErrorCode::kAlreadyExists);
  TunnelHandle unknown{77, 1, -1, -1};
  EXPECT_EQ(plane.create_session(unknown, 1, 2, {}).error().code, DataPlaneErrorCode::kNoSuchTunnel);
  EXPECT_EQ(plane.destroy_session(77, 1).error().code, DataPlaneErrorCode::kNoSuchTunnel);
  EXPECT_EQ(plane.destroy_session(5, 99).error().code, DataPlaneErrorCode::kNoSuchSession);
  EXPECT_EQ(plane.destroy_tunnel(77).error().code, DataPlaneErrorCode::kNoSuchTunnel);
  // Failed calls are not recorded.
  EXPECT_EQ(plane.calls().size(), 2u);
}

TEST(NullDataPlaneTest, InjectedFailuresHitTheNextCallOnly) {
  NullDataPlane plane;
  plane.fail_next_tunnel(DataPlaneError{DataPlaneErrorCode::kSystem, "bind(udp)", 98, "injected"});
  auto t1 = plane.create_tunnel(spec(5, 9));
  ASSERT_FALSE(t1);
  EXPECT_EQ(t1.error().error, 98);
  auto t = plane.create_tunnel(spec(5, 9));
  ASSERT_TRUE(t);
  plane.fail_next_session(DataPlaneError{DataPlaneErrorCode::kSystem, "connect", 1, "injected"});
  EXPECT_FALSE(plane.create_session(*t, 1, 2, {}));
  EXPECT_TRUE(plane.create_session(*t, 1, 2, {}));
}

TEST(DataPlaneErrorTest, ToStringNamesOperationErrnoAndCode) {
  DataPlaneError e{DataPlaneErrorCode::kUnavailable, "socket(AF_PPPOX, PX_PROTO_OL2TP)", EAFNOSUPPORT,
                   "create tunnel 5"};
  EXPECT_EQ(e.to_string(),
            "create tunnel 5: socket(AF_PPPOX, PX_PROTO_OL2TP): Address family not supported by protocol "
            "(errno 97, kUnavailable)");
  DataPlaneError n{DataPlaneErrorCode::kNoSuchTunnel, "", 0, "destroy tunnel 7"};
  EXPECT_EQ(n.to_string(), "destroy tunnel 7 (kNoSuchTunnel)");
}

TEST(Ipv4EndpointTest, HostOrderConversionAndFormatting) {
  auto e = Ipv4Endpoint::from_host_order(0x0A630001, 1701);
  EXPECT_EQ(e.ip, (std::array<uint8_t, 4>{10, 99, 0, 1}));
  EXPECT_EQ(e.to_string(), "10.99.0.1:1701");
}

}  // namespace
}  // namespace l2tpvpn::kernel
