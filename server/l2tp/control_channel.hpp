// The reliable control channel of one L2TP tunnel (RFC 2661 §5.8 and Appendix A), sans-IO.
//
// It owns Ns/Nr, the retransmission queue, the peer's receive window, slow start / congestion avoidance,
// exponential back-off, the delayed ZLB ACK, the out-of-order queue, duplicate discard and the HELLO keepalive
// timer. It knows nothing about message contents: the tunnel FSM hands it encoded AVP bytes and gets encoded AVP
// bytes back, in order. Time is passed in; it never reads a clock and does no I/O.
//
// Every call may queue actions; take_actions() drains them in the order they were produced.
//
// Thread-safety: none; one tunnel's channel is driven by one thread.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "server/l2tp/header.hpp"
#include "server/l2tp/time.hpp"

namespace l2tpvpn::l2tp {

// The peer's receive window when it sends no Receive Window Size AVP (RFC 2661 §4.4.3, §5.8).
inline constexpr uint16_t kDefaultPeerReceiveWindow = 4;

struct ControlChannelConfig {
  uint16_t receive_window = 16;      // what we advertise in the RWS AVP; bounds the out-of-order queue
  Duration initial_timeout{1000};    // §5.8: first retransmission after 1 s ...
  Duration max_timeout{8000};        // ... doubling, capped here (the RFC asks for a cap of at least 8 s)
  unsigned max_retransmissions = 5;  // then the channel fails and the tunnel is torn down
  Duration ack_delay{100};           // a ZLB ACK is sent if nothing piggybacks the ack within this time
  Duration hello_interval{60000};    // §6.5: HELLO after this long without a message from the peer; 0 = off
};

// How long a peer that has vanished keeps its tunnel: the HELLO goes out hello_interval after the last message
// heard from the peer (§6.5), is retransmitted max_retransmissions times with the back-off below, and the
// channel fails when the last retransmission's timer expires:
//   hello_interval + sum over k = 0..max_retransmissions of min(initial_timeout * 2^k, max_timeout)
// With the defaults: 60 s + (1 + 2 + 4 + 8 + 8 + 8) s = 91 s. nullopt when HELLO is off (a silent peer is then
// never probed by L2TP; IPsec DPD or pppd's LCP echo still are).
std::optional<Duration> silent_peer_timeout(const ControlChannelConfig& c);

// 16-bit sequence number comparison with wraparound (RFC 2661 §5.8, serial arithmetic):
// a is "before" b when b - a, taken modulo 2^16, lies in 1..32767.
bool seq_before(uint16_t a, uint16_t b);

struct ControlChannelStats {
  uint64_t sent = 0;             // messages handed to send()
  uint64_t transmitted = 0;      // datagrams produced, retransmissions and ZLBs included
  uint64_t retransmissions = 0;  // datagrams that repeated an Ns already transmitted
  uint64_t zlb_sent = 0;
  uint64_t received = 0;        // non-ZLB messages delivered in order
  uint64_t duplicates = 0;      // already delivered (or already queued); discarded (and re-acked)
  uint64_t out_of_order = 0;    // queued ahead of a gap
  uint64_t outside_window = 0;  // too far ahead to queue; discarded
  uint64_t ignored_acks = 0;    // Nr acknowledging an Ns we never sent; the ack is ignored
};

// --- actions ---
struct Transmit {  // send this datagram (header included) to the peer
  Bytes datagram;
};
struct Deliver {  // an in-order, non-ZLB message for the tunnel FSM
  uint16_t session_id;
  Bytes avps;
};
struct HelloDue {};       // nothing heard from the peer for hello_interval: the FSM should send a HELLO
struct ChannelFailed {};  // a message went unacknowledged after max_retransmissions: tear the tunnel down (§5.8)
using ChannelAction = std::variant<Transmit, Deliver, HelloDue, ChannelFailed>;

// Sending side (§5.8, Appendix A):
//  - Ns numbers non-ZLB messages from 0, wrapping at 2^16. A message gets its Ns when first transmitted; until
//    the window allows that it waits in a queue. A ZLB carries the next new Ns (not consumed) and the current Nr.
//  - At most min(peer RWS, cwnd) messages are outstanding. cwnd starts at 1 with ssthresh = peer RWS; each acked
//    message adds 1 below ssthresh (slow start) and 1 per cwnd acks at or above it (congestion avoidance); cwnd
//    never exceeds the peer's RWS.
//  - One retransmission timer runs for the oldest unacknowledged message: initial_timeout, doubling after each
//    retransmission up to max_timeout, restarted at initial_timeout whenever an ack makes progress. On expiry:
//    ssthresh = max(cwnd / 2, 1), cwnd = 1, and the channel goes back N: every unacknowledged message is due
//    again, oldest first, paced by the (now 1) window, so only the oldest goes out at once and the rest follow as
//    acks reopen the window (they are usually the ones lost with it). Every transmission carries the current Nr.
//  - When the oldest message's timer expires after max_retransmissions retransmissions, ChannelFailed is queued
//    (once) and the channel goes silent: no more datagrams, timers or deliveries.
// Receiving side:
//  - Ns == Nr: delivered, with whatever was queued behind it; Nr advances. Ns within (Nr, Nr + receive_window):
//    queued. Ns before Nr: a duplicate, discarded, and a ZLB goes out at once (the peer missed our ack). Further
//    ahead: discarded. A ZLB (no AVPs) only acknowledges.
//  - A new message starts the delayed-ack timer (ack_delay); any datagram we send before it fires carries Nr and
//    cancels it, otherwise a ZLB goes out.
//  - Anything received re-arms the HELLO timer; when it fires, HelloDue is queued and it is re-armed.
class ControlChannel {
 public:
  ControlChannel(ControlChannelConfig config, TimePoint now);

  // Tunnel ID placed in the header of every datagram we send (0 until the peer's Assigned Tunnel ID is known,
  // as for an SCCRQ).
  void set_peer_tunnel_id(uint16_t id);
  // The peer's Receive Window Size AVP (§4.4.3; 4 when absent). Bounds our unacknowledged messages and resets
  // ssthresh to it (Appendix A). 0 is treated as 1: a window of 0 would never let a message out.
  void set_peer_receive_window(uint16_t rws);

  // Queues a message for reliable, in-order delivery; it is transmitted as soon as the window allows.
  // `avps` must not be empty (an empty payload is a ZLB on the wire, §5.8, and the peer would never deliver or
  // acknowledge it): an empty message is ignored. After failure, messages are accepted but never transmitted.
  void send(TimePoint now, uint16_t session_id, Bytes avps);

  // Feeds one control packet received for this tunnel (header already decoded, payload = its AVP bytes).
  // Acknowledges what the peer's Nr covers; delivers new in-order messages; queues out-of-order ones.
  // Never fails: a bogus Nr, a duplicate or a message outside the window is discarded and counted in stats().
  // Ignored entirely once the channel has failed.
  void on_packet(TimePoint now, const Header& header, ByteView avps);

  // Sends the pending acknowledgement now as a ZLB instead of after ack_delay (nothing when none is pending, e.g.
  // because a message since carried it). For a message no reply will follow: waiting could only delay the peer.
  void ack_now();

  // Runs whatever timers are due at `now` (retransmission, delayed ACK, HELLO). Calling it early is harmless.
  void on_timer(TimePoint now);

  // The earliest time on_timer() has work to do, or nullopt when no timer is armed (always after failure).
  std::optional<TimePoint> next_deadline() const;

  std::vector<ChannelAction> take_actions();

  // True when every message handed to send() has been acknowledged (used for the StopCCN hold, §5.7).
  bool all_acknowledged() const;
  // AVP bytes of the messages handed to send() and not acknowledged yet (queued or in flight): what a peer that
  // advertises a small window and acknowledges slowly makes us hold.
  size_t held_bytes() const { return held_bytes_; }
  bool failed() const;
  const ControlChannelStats& stats() const;

 private:
  struct Pending {  // a message not yet numbered
    uint16_t session_id;
    Bytes avps;
  };
  struct Outstanding {  // numbered, transmitted at least once, not yet acknowledged
    uint16_t ns;
    uint16_t session_id;
    Bytes avps;
  };
  size_t window() const;
  void transmit_window(TimePoint now);
  void transmit(const Outstanding& m);
  void send_zlb();
  void on_ack(TimePoint now, uint16_t nr);
  void on_message(TimePoint now, uint16_t ns, uint16_t session_id, ByteView avps);
  void on_retransmit_timeout(TimePoint now);
  void arm_ack_timer(TimePoint now);

  ControlChannelConfig config_;
  ControlChannelStats stats_;
  std::vector<ChannelAction> actions_;
  uint16_t peer_tunnel_id_ = 0;
  uint16_t peer_rws_ = kDefaultPeerReceiveWindow;
  uint16_t next_ns_ = 0;             // Ns of the next new message
  uint16_t expected_ = 0;            // Nr: next Ns we expect from the peer
  // In Ns order; its Ns span never exceeds peer_rws_. Vectors and a list rather than deques: an idle tunnel's
  // empty queues then hold no memory (a deque keeps a 512-byte node from construction; with two per tunnel that
  // was a third of an idle tunnel's memory).
  std::vector<Outstanding> unacked_;
  // unacked_[0 .. resend_from_) went out since the last timeout (they are what is "in flight");
  // unacked_[resend_from_ ..) are waiting to be retransmitted (go-back-N). Equal to unacked_.size() normally.
  size_t resend_from_ = 0;
  std::list<Pending> queued_;            // waiting for window space
  std::map<uint16_t, Pending> reorder_;  // Ns -> message, ahead of a gap; at most receive_window - 1 entries
  size_t held_bytes_ = 0;                // AVP bytes in queued_ and unacked_
  uint32_t cwnd_ = 1;
  uint32_t ssthresh_ = kDefaultPeerReceiveWindow;
  uint32_t avoidance_acks_ = 0;  // acks counted towards the next +1 in congestion avoidance
  unsigned retries_ = 0;         // retransmission timeouts of the oldest message without an ack in between
  Duration rto_{0};
  std::optional<TimePoint> rto_deadline_;
  std::optional<TimePoint> ack_deadline_;
  std::optional<TimePoint> hello_deadline_;
  bool failed_ = false;
};

}  // namespace l2tpvpn::l2tp
