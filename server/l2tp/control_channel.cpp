// Reliable control channel, RFC 2661 §5.8 and Appendix A. The behaviour is summarised above the class in
// control_channel.hpp; comments here say why each rule is the way it is.
#include "server/l2tp/control_channel.hpp"

#include <algorithm>
#include <utility>

namespace l2tpvpn::l2tp {

namespace {
// Serial arithmetic leaves half the sequence space as "ahead"; a receive window larger than that would make
// "ahead" and "behind" overlap.
constexpr uint32_t kMaxReceiveWindow = 0x8000;
}  // namespace

std::optional<Duration> silent_peer_timeout(const ControlChannelConfig& c) {
  if (c.hello_interval.count() == 0) return std::nullopt;
  Duration total = c.hello_interval, rto = c.initial_timeout;
  for (unsigned k = 0; k <= c.max_retransmissions; ++k) {
    total += std::min(rto, c.max_timeout);
    if (rto < c.max_timeout) rto *= 2;
  }
  return total;
}

bool seq_before(uint16_t a, uint16_t b) {
  uint16_t d = static_cast<uint16_t>(b - a);
  return d != 0 && d < 0x8000;
}

ControlChannel::ControlChannel(ControlChannelConfig config, TimePoint now) : config_(config) {
  if (config_.hello_interval.count() > 0) hello_deadline_ = now + config_.hello_interval;
}

void ControlChannel::set_peer_tunnel_id(uint16_t id) {
  peer_tunnel_id_ = id;
}

void ControlChannel::set_peer_receive_window(uint16_t rws) {
  peer_rws_ = std::max<uint16_t>(rws, 1);
  // Appendix A: SSTHRESH starts at the peer's window, and CWND may never exceed it.
  ssthresh_ = peer_rws_;
  cwnd_ = std::min<uint32_t>(cwnd_, peer_rws_);
}

size_t ControlChannel::window() const {
  return std::min<size_t>(peer_rws_, cwnd_);
}

void ControlChannel::transmit(const Outstanding& m) {
  // §5.8: a retransmission is the same message with the same Ns, but Nr is always the current one.
  actions_.push_back(Transmit{encode_control(peer_tunnel_id_, m.session_id, m.ns, expected_, m.avps)});
  ++stats_.transmitted;
  ack_deadline_.reset();  // Nr piggybacked: no ZLB needed
}

void ControlChannel::send_zlb() {
  // §5.8: a ZLB carries the Ns the next new message will have (it does not consume it) and the current Nr.
  actions_.push_back(Transmit{encode_control(peer_tunnel_id_, 0, next_ns_, expected_, {})});
  ++stats_.transmitted;
  ++stats_.zlb_sent;
  ack_deadline_.reset();
}

void ControlChannel::transmit_window(TimePoint now) {
  if (failed_) return;
  const size_t w = window();
  while (resend_from_ < w) {
    if (resend_from_ < unacked_.size()) {
      // Go-back-N after a timeout: the next message sent before the timeout goes out again.
      transmit(unacked_[resend_from_]);
      ++stats_.retransmissions;
      ++resend_from_;
      continue;
    }
    if (queued_.empty()) break;
    // New message. resend_from_ == unacked_.size() < w <= peer RWS here, so the Ns span of unacked_ stays within
    // the peer's window and the peer never has to discard what we send as too far ahead.
    Pending p = std::move(queued_.front());
    queued_.pop_front();
    unacked_.push_back(Outstanding{next_ns_++, p.session_id, std::move(p.avps)});
    transmit(unacked_.back());
    ++resend_from_;
    if (!rto_deadline_) {
      rto_ = config_.initial_timeout;
      retries_ = 0;
      rto_deadline_ = now + rto_;
    }
  }
}

void ControlChannel::send(TimePoint now, uint16_t session_id, Bytes avps) {
  if (avps.empty()) return;  // would be a ZLB on the wire; see the header
  ++stats_.sent;
  held_bytes_ += avps.size();
  queued_.push_back(Pending{session_id, std::move(avps)});
  transmit_window(now);
}

void ControlChannel::on_ack(TimePoint now, uint16_t nr) {
  // §5.8: Nr acknowledges every message with Ns before it. An Nr after next_ns_ would acknowledge messages we
  // never sent: a confused or hostile peer. Ignore it rather than drop unacknowledged messages. (An Nr older
  // than our oldest unacknowledged message is merely stale, e.g. reordered, and acknowledges nothing new.)
  if (seq_before(next_ns_, nr)) {
    ++stats_.ignored_acks;
    return;
  }
  size_t acked = 0;
  while (acked < unacked_.size() && seq_before(unacked_[acked].ns, nr)) {
    held_bytes_ -= unacked_[acked].avps.size();
    ++acked;
    // Appendix A: slow start below SSTHRESH (+1 per ack), congestion avoidance at or above it (+1 per CWND acks).
    if (cwnd_ < ssthresh_) {
      ++cwnd_;
    } else if (++avoidance_acks_ >= cwnd_) {
      ++cwnd_;
      avoidance_acks_ = 0;
    }
    cwnd_ = std::min<uint32_t>(cwnd_, peer_rws_);
  }
  if (acked == 0) return;
  unacked_.erase(unacked_.begin(), unacked_.begin() + static_cast<std::ptrdiff_t>(acked));
  resend_from_ -= std::min(resend_from_, acked);
  // The oldest message changed: its timer starts afresh (§5.8's back-off is per message).
  retries_ = 0;
  rto_ = config_.initial_timeout;
  rto_deadline_ = unacked_.empty() ? std::nullopt : std::optional<TimePoint>(now + rto_);
}

void ControlChannel::arm_ack_timer(TimePoint now) {
  if (!ack_deadline_) ack_deadline_ = now + config_.ack_delay;
}

void ControlChannel::on_message(TimePoint now, uint16_t ns, uint16_t session_id, ByteView avps) {
  const uint16_t ahead = static_cast<uint16_t>(ns - expected_);
  if (ahead == 0) {
    ++expected_;
    ++stats_.received;
    actions_.push_back(Deliver{session_id, Bytes(avps.begin(), avps.end())});
    // Drain what was queued behind the gap.
    for (auto it = reorder_.find(expected_); it != reorder_.end(); it = reorder_.find(expected_)) {
      ++expected_;
      ++stats_.received;
      actions_.push_back(Deliver{it->second.session_id, std::move(it->second.avps)});
      reorder_.erase(it);
    }
    arm_ack_timer(now);
  } else if (seq_before(ns, expected_)) {
    // Already delivered: the peer retransmitted because our ack did not reach it. Ack now, not after a delay.
    ++stats_.duplicates;
    send_zlb();
  } else if (ahead < std::min<uint32_t>(config_.receive_window, kMaxReceiveWindow)) {
    // Ahead of a gap but inside the window we advertised (§5.8: the peer may send Nr .. Nr + RWS - 1).
    if (reorder_.try_emplace(ns, Pending{session_id, Bytes(avps.begin(), avps.end())}).second) {
      ++stats_.out_of_order;
    } else {
      ++stats_.duplicates;
    }
    arm_ack_timer(now);
  } else {
    ++stats_.outside_window;
  }
}

void ControlChannel::on_packet(TimePoint now, const Header& header, ByteView avps) {
  if (failed_) return;
  // §6.5: the keepalive measures silence from the peer; anything at all, a ZLB included, ends it.
  if (config_.hello_interval.count() > 0) hello_deadline_ = now + config_.hello_interval;
  on_ack(now, header.nr);
  if (!avps.empty()) on_message(now, header.ns, header.session_id, avps);
  transmit_window(now);  // acks may have opened the window; what goes out now piggybacks the new Nr
}

void ControlChannel::ack_now() {
  if (!failed_ && ack_deadline_) send_zlb();
}

void ControlChannel::on_retransmit_timeout(TimePoint now) {
  if (retries_ >= config_.max_retransmissions) {
    // §5.8: the peer is unreachable. Report once and go silent.
    failed_ = true;
    rto_deadline_.reset();
    ack_deadline_.reset();
    hello_deadline_.reset();
    actions_.push_back(ChannelFailed{});
    return;
  }
  ++retries_;
  // Appendix A: a retransmission halves the threshold and restarts slow start.
  ssthresh_ = std::max<uint32_t>(cwnd_ / 2, 1);
  cwnd_ = 1;
  avoidance_acks_ = 0;
  resend_from_ = 0;  // everything unacknowledged is due again, oldest first, paced by the window
  transmit_window(now);
  rto_ = std::min(rto_ * 2, config_.max_timeout);
  rto_deadline_ = now + rto_;
}

void ControlChannel::on_timer(TimePoint now) {
  if (failed_) return;
  if (rto_deadline_ && now >= *rto_deadline_) {
    on_retransmit_timeout(now);
    if (failed_) return;
  }
  if (ack_deadline_ && now >= *ack_deadline_) send_zlb();
  if (hello_deadline_ && now >= *hello_deadline_) {
    hello_deadline_ = now + config_.hello_interval;
    actions_.push_back(HelloDue{});
  }
}

std::optional<TimePoint> ControlChannel::next_deadline() const {
  if (failed_) return std::nullopt;
  std::optional<TimePoint> d;
  for (const auto& c : {rto_deadline_, ack_deadline_, hello_deadline_})
    if (c && (!d || *c < *d)) d = c;
  return d;
}

std::vector<ChannelAction> ControlChannel::take_actions() {
  return std::exchange(actions_, {});
}

bool ControlChannel::all_acknowledged() const {
  return unacked_.empty() && queued_.empty();
}
bool ControlChannel::failed() const {
  return failed_;
}
const ControlChannelStats& ControlChannel::stats() const {
  return stats_;
}

}  // namespace l2tpvpn::l2tp
