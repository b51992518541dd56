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
#include <deque>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "server/l2tp/header.hpp"
#include "server/l2tp/time.hpp"

namespace l2tpvpn::l2tp {

struct ControlChannelConfig {
  uint16_t receive_window = 16;          // what we advertise in the RWS AVP; bounds the out-of-order queue
  Duration initial_timeout{1000};        // §5.8: first retransmission after 1 s ...
  Duration max_timeout{8000};            // ... doubling, capped here (the RFC asks for a cap of at least 8 s)
  unsigned max_retransmissions = 5;      // then the channel fails and the tunnel is torn down
  Duration ack_delay{100};               // a ZLB ACK is sent if nothing piggybacks the ack within this time
  Duration hello_interval{60000};        // §6.5: HELLO after this long without a message from the peer; 0 = off
};

// 16-bit sequence number comparison with wraparound (RFC 2661 §5.8, serial arithmetic):
// a is "before" b when b - a, taken modulo 2^16, lies in 1..32767.
bool seq_before(uint16_t a, uint16_t b);

struct ControlChannelStats {
  uint64_t sent = 0;               // messages handed to send()
  uint64_t transmitted = 0;        // datagrams produced, retransmissions and ZLBs included
  uint64_t retransmissions = 0;
  uint64_t zlb_sent = 0;
  uint64_t received = 0;           // non-ZLB messages delivered in order
  uint64_t duplicates = 0;         // already delivered; discarded (and re-acked)
  uint64_t out_of_order = 0;       // queued ahead of a gap
  uint64_t outside_window = 0;     // too far ahead to queue; discarded
};

// --- actions ---
struct Transmit {  // send this datagram (header included) to the peer
  Bytes datagram;
};
struct Deliver {  // an in-order, non-ZLB message for the tunnel FSM
  uint16_t session_id;
  Bytes avps;
};
struct HelloDue {};  // nothing heard from the peer for hello_interval: the FSM should send a HELLO
struct ChannelFailed {};  // a message went unacknowledged after max_retransmissions: tear the tunnel down (§5.8)
using ChannelAction = std::variant<Transmit, Deliver, HelloDue, ChannelFailed>;

class ControlChannel {
 public:
  ControlChannel(ControlChannelConfig config, TimePoint now);

  // Tunnel ID placed in the header of every datagram we send (0 until the peer's Assigned Tunnel ID is known,
  // as for an SCCRQ).
  void set_peer_tunnel_id(uint16_t id);
  // The peer's Receive Window Size AVP (§4.4.3; 4 when absent). Bounds our unacknowledged messages.
  void set_peer_receive_window(uint16_t rws);

  // Queues a message for reliable, in-order delivery; it is transmitted as soon as the window allows.
  void send(TimePoint now, uint16_t session_id, Bytes avps);

  // Feeds one control packet received for this tunnel (header already decoded, payload = its AVP bytes).
  // Acknowledges what the peer's Nr covers; delivers new in-order messages; queues out-of-order ones.
  void on_packet(TimePoint now, const Header& header, ByteView avps);

  // Runs whatever timers are due at `now` (retransmission, delayed ACK, HELLO).
  void on_timer(TimePoint now);

  // The earliest time on_timer() has work to do, or nullopt when no timer is armed.
  std::optional<TimePoint> next_deadline() const;

  std::vector<ChannelAction> take_actions();

  // True when every message handed to send() has been acknowledged (used for the StopCCN hold, §5.7).
  bool all_acknowledged() const;
  bool failed() const;
  const ControlChannelStats& stats() const;

 private:
  struct Outstanding {
    uint16_t ns;
    uint16_t session_id;
    Bytes avps;
  };
  void transmit_window(TimePoint now);
  void transmit(const Outstanding& m);
  void send_zlb();
  void on_ack(TimePoint now, uint16_t nr);

  ControlChannelConfig config_;
  ControlChannelStats stats_;
  std::vector<ChannelAction> actions_;
  uint16_t peer_tunnel_id_ = 0;
  uint16_t peer_rws_ = 4;
  uint16_t next_ns_ = 0;    // Ns of the next new message
  uint16_t expected_ = 0;   // Nr: next Ns we expect from the peer
  std::deque<Outstanding> in_flight_;  // sent, unacknowledged, in Ns order
  std::deque<Outstanding> queued_;     // waiting for window space (ns assigned at transmit)
  std::map<uint16_t, std::pair<uint16_t, Bytes>> reorder_;  // Ns -> (session, avps), ahead of a gap
  double cwnd_ = 1;
  double ssthresh_ = 4;
  unsigned retries_ = 0;
  std::optional<TimePoint> rto_deadline_;
  Duration rto_{0};
  std::optional<TimePoint> ack_deadline_;
  std::optional<TimePoint> hello_deadline_;
  bool failed_ = false;
};

}  // namespace l2tpvpn::l2tp
