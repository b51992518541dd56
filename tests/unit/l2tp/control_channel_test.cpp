// The reliable control channel on its own: every test drives it with packets and virtual time and asserts on the
// actions it returns.
#include "server/l2tp/control_channel.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::l2tp {
namespace {

TimePoint t0{};
TimePoint at(int ms) { return t0 + Duration(ms); }

Header hdr(uint16_t ns, uint16_t nr) {
  Header h;
  h.control = h.length_present = h.sequence_present = true;
  h.ns = ns;
  h.nr = nr;
  return h;
}
const Bytes kMsg = {0x80, 0x08, 0, 0, 0, 0, 0, 6};  // a HELLO's AVPs

std::vector<Header> transmitted(const std::vector<ChannelAction>& acts) {
  std::vector<Header> out;
  for (const auto& a : acts)
    if (auto* t = std::get_if<Transmit>(&a)) out.push_back(decode_packet(t->datagram)->header);
  return out;
}
size_t delivered(const std::vector<ChannelAction>& acts) {
  size_t n = 0;
  for (const auto& a : acts) n += std::holds_alternative<Deliver>(a);
  return n;
}
ControlChannelConfig quiet() {
  ControlChannelConfig c;
  c.hello_interval = Duration(0);
  return c;
}

TEST(SeqBefore, WraparoundTable) {
  struct Row {
    uint16_t a, b;
    bool before;
  } rows[] = {{0, 1, true},       {1, 0, false},     {0, 0, false},         {0, 32767, true}, {0, 32768, false},
              {32768, 0, false}, {32769, 0, true},   {65535, 0, true},  {0, 65535, false},     {65535, 32766, true},
              {32767, 32768, true}, {65000, 100, true}, {100, 65000, false}};
  for (const auto& r : rows) EXPECT_EQ(seq_before(r.a, r.b), r.before) << r.a << " before " << r.b;
}

TEST(ControlChannel, FreshSendTransmitsNs0Nr0) {
  ControlChannel c(quiet(), t0);
  c.set_peer_tunnel_id(77);
  c.send(t0, 0, kMsg);
  auto tx = transmitted(c.take_actions());
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].ns, 0);
  EXPECT_EQ(tx[0].nr, 0);
  EXPECT_EQ(tx[0].tunnel_id, 77);
}

TEST(ControlChannel, DelayedZlbAndPiggyback) {
  auto cfg = quiet();
  cfg.ack_delay = Duration(100);
  ControlChannel c(cfg, t0);
  c.on_packet(t0, hdr(0, 0), kMsg);
  auto acts = c.take_actions();
  EXPECT_EQ(delivered(acts), 1u);
  EXPECT_TRUE(transmitted(acts).empty());  // no immediate ack
  EXPECT_EQ(c.next_deadline(), at(100));
  c.on_timer(at(100));
  auto tx = transmitted(c.take_actions());
  ASSERT_EQ(tx.size(), 1u);  // the ZLB
  EXPECT_EQ(tx[0].nr, 1);
  EXPECT_EQ(tx[0].ns, 0);
  EXPECT_EQ(c.stats().zlb_sent, 1u);
  // A reply within the delay carries the ack instead.
  c.on_packet(at(200), hdr(1, 0), kMsg);
  c.send(at(210), 0, kMsg);
  tx = transmitted(c.take_actions());
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].nr, 2);
  c.on_timer(at(400));
  EXPECT_TRUE(transmitted(c.take_actions()).empty());
}

TEST(ControlChannel, WindowAndSlowStart) {
  ControlChannel c(quiet(), t0);
  c.set_peer_receive_window(4);
  for (int i = 0; i < 8; ++i) c.send(t0, 0, kMsg);
  EXPECT_EQ(transmitted(c.take_actions()).size(), 1u);  // cwnd starts at 1
  c.on_packet(at(10), hdr(0, 1), {});                   // ack Ns 0 -> cwnd 2
  EXPECT_EQ(transmitted(c.take_actions()).size(), 2u);
  c.on_packet(at(20), hdr(0, 3), {});  // ack 1, 2 -> cwnd 4 (capped by RWS 4)
  EXPECT_EQ(transmitted(c.take_actions()).size(), 4u);
  c.on_packet(at(30), hdr(0, 7), {});
  auto tx = transmitted(c.take_actions());
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].ns, 7);
  EXPECT_FALSE(c.all_acknowledged());
  c.on_packet(at(40), hdr(0, 8), {});
  EXPECT_TRUE(c.all_acknowledged());
}

TEST(ControlChannel, DuplicateIsReackedAtOnce) {
  ControlChannel c(quiet(), t0);
  c.on_packet(t0, hdr(0, 0), kMsg);
  c.take_actions();
  c.on_packet(at(5), hdr(0, 0), kMsg);
  auto acts = c.take_actions();
  EXPECT_EQ(delivered(acts), 0u);
  ASSERT_EQ(transmitted(acts).size(), 1u);
  EXPECT_EQ(transmitted(acts)[0].nr, 1);
  EXPECT_EQ(c.stats().duplicates, 1u);
}

TEST(ControlChannel, OutOfOrderQueuedThenDeliveredInOrder) {
  ControlChannel c(quiet(), t0);
  c.on_packet(t0, hdr(2, 0), Bytes{0x80, 0x08, 0, 0, 0, 0, 0, 2});
  c.on_packet(t0, hdr(1, 0), Bytes{0x80, 0x08, 0, 0, 0, 0, 0, 1});
  EXPECT_EQ(delivered(c.take_actions()), 0u);
  EXPECT_EQ(c.stats().out_of_order, 2u);
  c.on_packet(t0, hdr(0, 0), Bytes{0x80, 0x08, 0, 0, 0, 0, 0, 0});
  std::vector<uint8_t> order;
  for (const auto& a : c.take_actions())
    if (auto* d = std::get_if<Deliver>(&a)) order.push_back(d->avps.back());
  EXPECT_EQ(order, (std::vector<uint8_t>{0, 1, 2}));
  c.on_packet(t0, hdr(3 + 16, 0), kMsg);  // beyond our receive window (16)
  EXPECT_EQ(c.stats().outside_window, 1u);
}

TEST(ControlChannel, BackoffAndFailure) {
  auto cfg = quiet();
  cfg.max_retransmissions = 5;
  ControlChannel c(cfg, t0);
  c.send(t0, 0, kMsg);
  c.take_actions();
  std::vector<int64_t> times;
  for (int guard = 0; guard < 20 && !c.failed(); ++guard) {
    auto d = c.next_deadline();
    ASSERT_TRUE(d);
    c.on_timer(*d);
    for (const auto& a : c.take_actions()) {
      if (std::holds_alternative<Transmit>(a)) times.push_back(std::chrono::duration_cast<Duration>(*d - t0).count());
      if (std::holds_alternative<ChannelFailed>(a)) times.push_back(-std::chrono::duration_cast<Duration>(*d - t0).count());
    }
  }
  EXPECT_EQ(times, (std::vector<int64_t>{1000, 3000, 7000, 15000, 23000, -31000}));
  EXPECT_FALSE(c.next_deadline().has_value());
}

TEST(ControlChannel, BogusNrIsIgnored) {
  ControlChannel c(quiet(), t0);
  c.send(t0, 0, kMsg);
  c.take_actions();
  c.on_packet(at(1), hdr(0, 500), {});  // acknowledges something never sent
  EXPECT_FALSE(c.all_acknowledged());
  c.on_packet(at(2), hdr(0, 1), {});
  EXPECT_TRUE(c.all_acknowledged());
}

TEST(ControlChannel, KeepsWorkingAcrossNsWraparound) {
  auto fast_ack = quiet();
  fast_ack.ack_delay = Duration(1);
  ControlChannel a(quiet(), t0), b(fast_ack, t0);
  a.set_peer_receive_window(16);
  size_t got = 0;
  TimePoint now = t0;
  for (int i = 0; i < 70000; ++i) a.send(now, 0, kMsg);
  for (int round = 0; round < 200000 && got < 70000; ++round) {
    now += Duration(1);
    for (auto& act : a.take_actions())
      if (auto* t = std::get_if<Transmit>(&act)) {
        auto p = decode_packet(t->datagram);
        b.on_packet(now, p->header, p->payload);
      }
    b.on_timer(now);
    for (auto& act : b.take_actions()) {
      if (std::holds_alternative<Deliver>(act)) ++got;
      if (auto* t = std::get_if<Transmit>(&act)) {
        auto p = decode_packet(t->datagram);
        a.on_packet(now, p->header, p->payload);
      }
    }
    a.on_timer(now);
  }
  EXPECT_EQ(got, 70000u);
  EXPECT_EQ(a.stats().retransmissions, 0u);
}

TEST(ControlChannel, HelloDueAfterSilence) {
  ControlChannelConfig cfg;
  cfg.hello_interval = Duration(60000);
  ControlChannel c(cfg, t0);
  EXPECT_EQ(c.next_deadline(), at(60000));
  c.on_packet(at(30000), hdr(0, 0), {});  // anything heard re-arms it
  EXPECT_EQ(c.next_deadline(), at(90000));
  c.on_timer(at(90000));
  auto acts = c.take_actions();
  ASSERT_EQ(acts.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<HelloDue>(acts[0]));
}

}  // namespace
}  // namespace l2tpvpn::l2tp
