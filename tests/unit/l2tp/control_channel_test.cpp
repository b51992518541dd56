// The reliable control channel on its own (RFC 2661 §5.8, Appendix A): every test drives it with packets and
// virtual time and asserts on the exact list of actions it returns, written as short strings:
//   "Tx ns=N nr=R"   a Transmit of a message      "ZLB ns=N nr=R"   a Transmit of a ZLB ACK
//   "Deliver s=S #K" a Deliver (K = last payload byte, a tag the test chose)
//   "HelloDue", "ChannelFailed"
#include "server/l2tp/control_channel.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace l2tpvpn::l2tp {
namespace {

using Strings = std::vector<std::string>;

const TimePoint t0{};
TimePoint at(int64_t ms) {
  return t0 + Duration(ms);
}
int64_t ms_since_t0(TimePoint t) {
  return std::chrono::duration_cast<Duration>(t - t0).count();
}

Header hdr(uint16_t ns, uint16_t nr, uint16_t session_id = 0) {
  Header h;
  h.control = h.length_present = h.sequence_present = true;
  h.ns = ns;
  h.nr = nr;
  h.session_id = session_id;
  return h;
}
// A message's AVPs (a HELLO's Message Type AVP); the last byte is a tag tests use to tell messages apart.
Bytes msg(uint8_t tag = 6) {
  return {0x80, 0x08, 0, 0, 0, 0, 0, tag};
}
const ByteView kZlb{};

std::string describe(const ChannelAction& a) {
  if (const auto* t = std::get_if<Transmit>(&a)) {
    auto p = decode_packet(t->datagram);
    if (!p) return "undecodable";
    return std::string(p->payload.empty() ? "ZLB" : "Tx") + " ns=" + std::to_string(p->header.ns) +
           " nr=" + std::to_string(p->header.nr);
  }
  if (const auto* d = std::get_if<Deliver>(&a))
    return "Deliver s=" + std::to_string(d->session_id) + " #" + std::to_string(d->avps.empty() ? -1 : d->avps.back());
  if (std::holds_alternative<HelloDue>(a)) return "HelloDue";
  return "ChannelFailed";
}
Strings take(ControlChannel& c) {
  Strings out;
  for (const auto& a : c.take_actions()) out.push_back(describe(a));
  return out;
}

ControlChannelConfig quiet() {  // no HELLO timer, so deadlines are only the ones a test is about
  ControlChannelConfig c;
  c.hello_interval = Duration(0);
  return c;
}

TEST(SeqBefore, WraparoundTable) {
  // After go-l2tp's TestSeqNumCompare: the interesting points are 0, 1, 32767, 32768 and 65535.
  struct Row {
    uint16_t a, b;
    bool before;
  } rows[] = {
      {0, 0, false},        {65535, 65535, false}, {0, 1, true},          {1, 0, false},      {0, 32767, true},
      {32767, 0, false},    {0, 32768, false},     {32768, 0, false},     {1, 32768, true},   {1, 32769, false},
      {32769, 0, true},     {32767, 32768, true},  {32768, 32767, false}, {65535, 0, true},   {0, 65535, false},
      {65535, 32766, true}, {65535, 32767, false}, {32768, 65535, true},  {65000, 100, true}, {100, 65000, false},
  };
  for (const auto& r : rows) EXPECT_EQ(seq_before(r.a, r.b), r.before) << r.a << " before " << r.b;
}

TEST(ControlChannel, FreshSendTransmitsNs0Nr0) {
  ControlChannel c(quiet(), t0);
  c.set_peer_tunnel_id(77);
  c.send(t0, 5, msg());
  auto acts = c.take_actions();
  ASSERT_EQ(acts.size(), 1u);
  EXPECT_EQ(describe(acts[0]), "Tx ns=0 nr=0");
  auto p = decode_packet(std::get<Transmit>(acts[0]).datagram);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->header.control);
  EXPECT_EQ(p->header.tunnel_id, 77);
  EXPECT_EQ(p->header.session_id, 5);
  EXPECT_EQ(Bytes(p->payload.begin(), p->payload.end()), msg());
  EXPECT_EQ(c.next_deadline(), at(1000));  // retransmission timer
  EXPECT_EQ(c.stats().sent, 1u);
  EXPECT_EQ(c.stats().transmitted, 1u);
}

TEST(ControlChannel, EmptyMessageIsNotSent) {
  ControlChannel c(quiet(), t0);
  c.send(t0, 0, {});  // would be a ZLB on the wire
  EXPECT_EQ(take(c), Strings{});
  EXPECT_EQ(c.stats().sent, 0u);
  EXPECT_TRUE(c.all_acknowledged());
}

TEST(ControlChannel, ZlbAfterAckDelay) {
  auto cfg = quiet();
  cfg.ack_delay = Duration(100);
  ControlChannel c(cfg, t0);
  c.on_packet(t0, hdr(0, 0, 3), msg(1));
  EXPECT_EQ(take(c), Strings{"Deliver s=3 #1"});  // no immediate ack
  EXPECT_EQ(c.next_deadline(), at(100));
  c.on_timer(at(99));
  EXPECT_EQ(take(c), Strings{});
  c.on_timer(at(100));
  EXPECT_EQ(take(c), Strings{"ZLB ns=0 nr=1"});  // Ns of a ZLB = next Ns, not consumed
  EXPECT_EQ(c.stats().zlb_sent, 1u);
  EXPECT_FALSE(c.next_deadline().has_value());
  // The ZLB did not use up Ns 0: the next message still gets it.
  c.send(at(150), 0, msg());
  EXPECT_EQ(take(c), Strings{"Tx ns=0 nr=1"});
}

TEST(ControlChannel, ReplyWithinAckDelayPiggybacksAndCancelsZlb) {
  auto cfg = quiet();
  cfg.ack_delay = Duration(100);
  ControlChannel c(cfg, t0);
  c.on_packet(t0, hdr(0, 0), msg(1));
  EXPECT_EQ(take(c), Strings{"Deliver s=0 #1"});
  c.send(at(40), 0, msg());
  EXPECT_EQ(take(c), Strings{"Tx ns=0 nr=1"});
  EXPECT_EQ(c.next_deadline(), at(1040));  // only the retransmission timer is left
  c.on_timer(at(100));
  EXPECT_EQ(take(c), Strings{});
  EXPECT_EQ(c.stats().zlb_sent, 0u);
}

TEST(ControlChannel, AckOfOurMessageIsNotAcked) {
  // A ZLB only acknowledges: it is never delivered and never acknowledged in turn.
  ControlChannel c(quiet(), t0);
  c.send(t0, 0, msg());
  take(c);
  c.on_packet(at(10), hdr(0, 1), kZlb);
  EXPECT_EQ(take(c), Strings{});
  EXPECT_TRUE(c.all_acknowledged());
  EXPECT_FALSE(c.next_deadline().has_value());
  EXPECT_EQ(c.stats().received, 0u);
}

TEST(ControlChannel, ZlbDoesNotAdvanceNr) {
  ControlChannel c(quiet(), t0);
  c.on_packet(t0, hdr(0, 0), kZlb);  // Ns 0 on a ZLB is "the next one will be 0"
  c.on_packet(at(1), hdr(0, 0), msg(9));
  EXPECT_EQ(take(c), Strings{"Deliver s=0 #9"});
}

TEST(ControlChannel, WindowLimitAndSlowStartWithPeerRws4) {
  ControlChannel c(quiet(), t0);
  c.set_peer_receive_window(4);
  for (int i = 0; i < 9; ++i) c.send(t0, 0, msg());
  EXPECT_EQ(take(c), Strings{"Tx ns=0 nr=0"});  // cwnd starts at 1
  c.on_packet(at(10), hdr(0, 1), kZlb);         // 1 ack -> cwnd 2
  EXPECT_EQ(take(c), (Strings{"Tx ns=1 nr=0", "Tx ns=2 nr=0"}));
  c.on_packet(at(20), hdr(0, 3), kZlb);  // 2 acks -> cwnd 4 (= ssthresh = RWS)
  EXPECT_EQ(take(c), (Strings{"Tx ns=3 nr=0", "Tx ns=4 nr=0", "Tx ns=5 nr=0", "Tx ns=6 nr=0"}));
  c.on_packet(at(30), hdr(0, 4), kZlb);  // 1 ack: cwnd stays 4 (capped by RWS), 1 slot frees
  EXPECT_EQ(take(c), Strings{"Tx ns=7 nr=0"});
  c.on_packet(at(40), hdr(0, 8), kZlb);  // the rest: only Ns 8 was still queued
  EXPECT_EQ(take(c), Strings{"Tx ns=8 nr=0"});
  EXPECT_FALSE(c.all_acknowledged());
  c.on_packet(at(50), hdr(0, 9), kZlb);
  EXPECT_TRUE(c.all_acknowledged());
  EXPECT_EQ(c.stats().retransmissions, 0u);
}

TEST(ControlChannel, HeldBytesCountQueuedAndInFlightUntilAcked) {
  ControlChannel c(quiet(), t0);
  c.set_peer_receive_window(1);
  for (int i = 0; i < 5; ++i) c.send(t0, 0, msg());
  EXPECT_EQ(c.held_bytes(), 5 * msg().size());  // one in flight, four queued
  c.on_packet(at(10), hdr(0, 1), kZlb);         // the first acked, the second goes out
  EXPECT_EQ(c.held_bytes(), 4 * msg().size());
  c.on_packet(at(20), hdr(0, 1), kZlb);  // a repeated ack frees nothing
  EXPECT_EQ(c.held_bytes(), 4 * msg().size());
  c.on_packet(at(30), hdr(0, 5), kZlb);  // an Nr past what we sent is ignored, frees nothing
  EXPECT_EQ(c.held_bytes(), 4 * msg().size());
  for (uint16_t nr = 2; nr <= 5; ++nr) c.on_packet(at(40 + nr), hdr(0, nr), kZlb);
  EXPECT_EQ(c.held_bytes(), 0u);
  EXPECT_TRUE(c.all_acknowledged());
}

TEST(ControlChannel, NeverMoreThanPeerRwsOutstanding) {
  ControlChannel c(quiet(), t0);
  c.set_peer_receive_window(2);
  for (int i = 0; i < 40; ++i) c.send(t0, 0, msg());
  int highest_sent = -1;
  uint16_t acked = 0;
  for (int step = 0; step < 100 && !c.all_acknowledged(); ++step) {
    for (const auto& a : c.take_actions()) {
      auto p = decode_packet(std::get<Transmit>(a).datagram);
      highest_sent = std::max<int>(highest_sent, p->header.ns);
    }
    EXPECT_LE(highest_sent + 1 - acked, 2) << "step " << step;
    acked = static_cast<uint16_t>(acked + 1);  // ack one at a time
    c.on_packet(at(step), hdr(0, acked), kZlb);
  }
  EXPECT_TRUE(c.all_acknowledged());
  EXPECT_EQ(highest_sent, 39);
}

TEST(ControlChannel, TimeoutCollapsesWindowGoesBackNAndAvoidsCongestion) {
  ControlChannel c(quiet(), t0);
  c.set_peer_receive_window(8);
  for (int i = 0; i < 20; ++i) c.send(t0, 0, msg());
  EXPECT_EQ(take(c).size(), 1u);         // cwnd 1
  c.on_packet(at(10), hdr(0, 1), kZlb);  // cwnd 2
  EXPECT_EQ(take(c).size(), 2u);
  c.on_packet(at(20), hdr(0, 3), kZlb);  // cwnd 4: Ns 3..6 out
  EXPECT_EQ(take(c), (Strings{"Tx ns=3 nr=0", "Tx ns=4 nr=0", "Tx ns=5 nr=0", "Tx ns=6 nr=0"}));
  // Nothing more is acked: the timer restarted by the last ack fires. ssthresh = 4 / 2 = 2, cwnd = 1: only the
  // oldest goes again.
  EXPECT_EQ(c.next_deadline(), at(1020));
  c.on_timer(at(1020));
  EXPECT_EQ(take(c), Strings{"Tx ns=3 nr=0"});
  // Ns 3 acked: slow start (1 < 2) -> cwnd 2; the two next unacknowledged ones are resent (go-back-N).
  c.on_packet(at(1030), hdr(0, 4), kZlb);
  EXPECT_EQ(take(c), (Strings{"Tx ns=4 nr=0", "Tx ns=5 nr=0"}));
  // Two acks at cwnd 2 = ssthresh: congestion avoidance, +1 after 2 acks -> cwnd 3: Ns 6 resent, 7 and 8 new.
  c.on_packet(at(1040), hdr(0, 6), kZlb);
  EXPECT_EQ(take(c), (Strings{"Tx ns=6 nr=0", "Tx ns=7 nr=0", "Tx ns=8 nr=0"}));
  // Two acks at cwnd 3: not yet a full window of acks, cwnd stays 3: exactly two new ones.
  c.on_packet(at(1050), hdr(0, 8), kZlb);
  EXPECT_EQ(take(c), (Strings{"Tx ns=9 nr=0", "Tx ns=10 nr=0"}));
  // One more ack completes 3 acks at cwnd 3 -> cwnd 4: two slots open.
  c.on_packet(at(1060), hdr(0, 9), kZlb);
  EXPECT_EQ(take(c), (Strings{"Tx ns=11 nr=0", "Tx ns=12 nr=0"}));
  EXPECT_EQ(c.stats().retransmissions, 4u);  // Ns 3, 4, 5, 6
}

TEST(ControlChannel, RetransmissionCarriesCurrentNrAndCancelsZlb) {
  auto cfg = quiet();
  cfg.ack_delay = Duration(100);
  ControlChannel c(cfg, t0);
  c.send(t0, 0, msg());
  EXPECT_EQ(take(c), Strings{"Tx ns=0 nr=0"});
  c.on_packet(at(950), hdr(0, 0), msg(1));  // the peer's message, not acking ours
  EXPECT_EQ(take(c), Strings{"Deliver s=0 #1"});
  EXPECT_EQ(c.next_deadline(), at(1000));  // retransmission before the delayed ack (1050)
  c.on_timer(at(1000));
  EXPECT_EQ(take(c), Strings{"Tx ns=0 nr=1"});  // the retransmission acknowledges the peer's message
  EXPECT_EQ(c.next_deadline(), at(3000));       // and no ZLB is pending any more
  c.on_timer(at(1050));
  EXPECT_EQ(take(c), Strings{});
}

TEST(ControlChannel, DuplicateIsReackedAtOnce) {
  ControlChannel c(quiet(), t0);
  c.on_packet(t0, hdr(0, 0), msg(1));
  EXPECT_EQ(take(c), Strings{"Deliver s=0 #1"});
  c.on_packet(at(5), hdr(0, 0), msg(1));  // our ack was lost; the peer retransmits
  EXPECT_EQ(take(c), Strings{"ZLB ns=0 nr=1"});
  EXPECT_EQ(c.stats().duplicates, 1u);
  EXPECT_EQ(c.stats().received, 1u);
}

TEST(ControlChannel, OutOfOrderQueuedThenDeliveredInOrder) {
  auto cfg = quiet();
  cfg.receive_window = 4;
  ControlChannel c(cfg, t0);
  c.on_packet(t0, hdr(2, 0), msg(2));
  c.on_packet(t0, hdr(1, 0), msg(1));
  c.on_packet(t0, hdr(3, 0), msg(3));  // Nr + 3: the last slot of a window of 4
  c.on_packet(t0, hdr(4, 0), msg(4));  // Nr + 4: outside
  c.on_packet(t0, hdr(2, 0), msg(2));  // already queued
  EXPECT_EQ(take(c), Strings{});
  EXPECT_EQ(c.stats().out_of_order, 3u);
  EXPECT_EQ(c.stats().outside_window, 1u);
  EXPECT_EQ(c.stats().duplicates, 1u);
  c.on_packet(at(1), hdr(0, 0), msg(0));
  EXPECT_EQ(take(c), (Strings{"Deliver s=0 #0", "Deliver s=0 #1", "Deliver s=0 #2", "Deliver s=0 #3"}));
  c.on_timer(at(101));
  EXPECT_EQ(take(c), Strings{"ZLB ns=0 nr=4"});
  EXPECT_EQ(c.stats().received, 4u);
}

TEST(ControlChannel, ReorderingAcrossNsWraparound) {
  ControlChannel c(quiet(), t0);
  for (uint32_t ns = 0; ns < 65534; ++ns) c.on_packet(t0, hdr(static_cast<uint16_t>(ns), 0), msg());
  take(c);
  c.on_packet(at(1), hdr(0, 0), msg(2));      // Nr 65534 + 2
  c.on_packet(at(1), hdr(65535, 0), msg(1));  // Nr 65534 + 1
  EXPECT_EQ(take(c), Strings{});
  c.on_packet(at(2), hdr(65534, 0), msg(0));
  EXPECT_EQ(take(c), (Strings{"Deliver s=0 #0", "Deliver s=0 #1", "Deliver s=0 #2"}));
  c.on_packet(at(3), hdr(65535, 0), msg(1));  // before Nr 1 across the wrap: a duplicate
  EXPECT_EQ(take(c), Strings{"ZLB ns=0 nr=1"});
  EXPECT_EQ(c.stats().duplicates, 1u);
}

TEST(ControlChannel, BackoffTimesAndFailure) {
  ControlChannel c(quiet(), t0);  // defaults: 1 s doubling, cap 8 s, 5 retransmissions
  c.send(t0, 0, msg());
  take(c);
  Strings events;
  while (auto d = c.next_deadline()) {
    c.on_timer(*d);
    for (auto& s : take(c)) events.push_back(std::to_string(ms_since_t0(*d)) + " " + s);
  }
  EXPECT_EQ(events, (Strings{"1000 Tx ns=0 nr=0", "3000 Tx ns=0 nr=0", "7000 Tx ns=0 nr=0", "15000 Tx ns=0 nr=0",
                             "23000 Tx ns=0 nr=0", "31000 ChannelFailed"}));
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.stats().retransmissions, 5u);
  // Silent from now on.
  c.send(at(32000), 0, msg());
  c.on_packet(at(32000), hdr(0, 1), msg());
  c.on_timer(at(100000));
  EXPECT_EQ(take(c), Strings{});
  EXPECT_FALSE(c.next_deadline().has_value());
}

TEST(ControlChannel, BackoffWithOtherLimits) {
  auto cfg = quiet();
  cfg.initial_timeout = Duration(500);
  cfg.max_timeout = Duration(3000);
  cfg.max_retransmissions = 6;
  ControlChannel c(cfg, t0);
  c.send(t0, 0, msg());
  take(c);
  std::vector<int64_t> tx;
  int64_t failed_at = -1;
  while (auto d = c.next_deadline()) {
    c.on_timer(*d);
    for (auto& s : take(c)) (s == "ChannelFailed" ? failed_at : tx.emplace_back()) = ms_since_t0(*d);
  }
  // 500, 1000, 2000, then capped at 3000.
  EXPECT_EQ(tx, (std::vector<int64_t>{500, 1500, 3500, 6500, 9500, 12500}));
  EXPECT_EQ(failed_at, 15500);
}

TEST(ControlChannel, AckRestartsBackoffForTheNextMessage) {
  ControlChannel c(quiet(), t0);
  c.set_peer_receive_window(4);
  c.send(t0, 0, msg());
  c.send(t0, 0, msg());
  EXPECT_EQ(take(c), Strings{"Tx ns=0 nr=0"});
  c.on_timer(at(1000));
  c.on_timer(at(3000));
  EXPECT_EQ(take(c), (Strings{"Tx ns=0 nr=0", "Tx ns=0 nr=0"}));
  EXPECT_EQ(c.next_deadline(), at(7000));
  c.on_packet(at(3500), hdr(0, 1), kZlb);  // Ns 0 acked: Ns 1 goes out with a fresh 1 s timer and retry budget
  EXPECT_EQ(take(c), Strings{"Tx ns=1 nr=0"});
  EXPECT_EQ(c.next_deadline(), at(4500));
  int retransmits = 0;
  while (auto d = c.next_deadline()) {
    c.on_timer(*d);
    for (auto& s : take(c)) retransmits += s == "Tx ns=1 nr=0";
  }
  EXPECT_EQ(retransmits, 5);  // the earlier message's retries did not count against this one
}

TEST(ControlChannel, BogusNrIsIgnored) {
  ControlChannel c(quiet(), t0);
  c.send(t0, 0, msg());
  take(c);
  c.on_packet(at(1), hdr(0, 500), kZlb);  // acknowledges something never sent
  c.on_packet(at(1), hdr(0, 2), kZlb);    // one past what we sent
  EXPECT_FALSE(c.all_acknowledged());
  EXPECT_EQ(c.stats().ignored_acks, 2u);
  // A message carrying a bogus Nr is still delivered; only its ack is ignored.
  c.on_packet(at(2), hdr(0, 300), msg(7));
  EXPECT_EQ(take(c), Strings{"Deliver s=0 #7"});
  EXPECT_EQ(c.stats().ignored_acks, 3u);
  // A stale Nr (before our oldest unacknowledged message; 40000 is serially before 1) acknowledges nothing and
  // is not an error.
  c.on_packet(at(3), hdr(1, 0), kZlb);
  c.on_packet(at(3), hdr(1, 40000), kZlb);
  EXPECT_EQ(c.stats().ignored_acks, 3u);
  EXPECT_FALSE(c.all_acknowledged());
  c.on_timer(at(102));  // the delivered message's delayed ack
  EXPECT_EQ(take(c), Strings{"ZLB ns=1 nr=1"});
  EXPECT_EQ(c.next_deadline(), at(1000));  // the retransmission timer was not disturbed
  c.on_packet(at(4), hdr(1, 1), kZlb);
  EXPECT_TRUE(c.all_acknowledged());
}

TEST(ControlChannel, KeepsWorkingAcrossNsWraparound) {
  // 70000 messages: Ns wraps past 65535 on A, Nr on B. Zero-delay link, B acks after 1 ms.
  auto fast_ack = quiet();
  fast_ack.ack_delay = Duration(1);
  ControlChannel a(quiet(), t0), b(fast_ack, t0);
  a.set_peer_receive_window(16);
  size_t got = 0;
  bool in_order = true;
  uint32_t expected_ns = 0;
  TimePoint now = t0;
  for (int i = 0; i < 70000; ++i) a.send(now, 0, msg());
  for (int round = 0; round < 200000 && (got < 70000 || !a.all_acknowledged()); ++round) {
    now += Duration(1);
    for (auto& act : a.take_actions()) {
      auto p = decode_packet(std::get<Transmit>(act).datagram);
      in_order &= p->header.ns == static_cast<uint16_t>(expected_ns++);
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
  EXPECT_TRUE(in_order);
  EXPECT_EQ(a.stats().retransmissions, 0u);
  EXPECT_EQ(b.stats().duplicates + b.stats().outside_window + a.stats().ignored_acks, 0u);
  EXPECT_TRUE(a.all_acknowledged());
}

TEST(ControlChannel, HelloDueAfterSilence) {
  ControlChannelConfig cfg;
  cfg.hello_interval = Duration(60000);
  ControlChannel c(cfg, t0);
  EXPECT_EQ(c.next_deadline(), at(60000));
  c.on_packet(at(30000), hdr(0, 0), kZlb);  // anything heard, a ZLB too, re-arms it
  EXPECT_EQ(c.next_deadline(), at(90000));
  c.on_timer(at(89999));
  EXPECT_EQ(take(c), Strings{});
  c.on_timer(at(90000));
  EXPECT_EQ(take(c), Strings{"HelloDue"});  // once ...
  c.on_timer(at(90000));
  EXPECT_EQ(take(c), Strings{});
  EXPECT_EQ(c.next_deadline(), at(150000));  // ... and re-armed
  c.on_timer(at(150000));
  EXPECT_EQ(take(c), Strings{"HelloDue"});
}

TEST(ControlChannel, HelloIntervalZeroDisables) {
  ControlChannel c(quiet(), t0);
  EXPECT_FALSE(c.next_deadline().has_value());
  c.on_packet(at(1), hdr(0, 0), kZlb);
  c.on_timer(at(10000000));
  EXPECT_EQ(take(c), Strings{});
  EXPECT_FALSE(c.next_deadline().has_value());
}

TEST(ControlChannel, NextDeadlineIsTheEarliestTimer) {
  ControlChannelConfig cfg;  // HELLO at 60 s
  cfg.ack_delay = Duration(100);
  ControlChannel c(cfg, t0);
  c.send(t0, 0, msg());                    // retransmission at 1000
  c.on_packet(at(950), hdr(0, 0), msg());  // delayed ack at 1050, HELLO re-armed to 60950
  take(c);
  EXPECT_EQ(c.next_deadline(), at(1000));
  c.on_packet(at(960), hdr(0, 1), kZlb);  // ours acked: the ack timer is next
  EXPECT_EQ(c.next_deadline(), at(1050));
  c.on_timer(at(1050));
  EXPECT_EQ(take(c), Strings{"ZLB ns=1 nr=1"});
  EXPECT_EQ(c.next_deadline(), at(60960));
}

TEST(ControlChannel, PeerRwsZeroIsTreatedAsOne) {
  ControlChannel c(quiet(), t0);
  c.set_peer_receive_window(0);
  c.send(t0, 0, msg());
  c.send(t0, 0, msg());
  EXPECT_EQ(take(c), Strings{"Tx ns=0 nr=0"});
  c.on_packet(at(1), hdr(0, 1), kZlb);
  EXPECT_EQ(take(c), Strings{"Tx ns=1 nr=0"});
}

}  // namespace
}  // namespace l2tpvpn::l2tp
