#include "server/l2tp/control_channel.hpp"

#include <algorithm>

namespace l2tpvpn::l2tp {

bool seq_before(uint16_t a, uint16_t b) {
  uint16_t d = static_cast<uint16_t>(b - a);
  return d != 0 && d < 0x8000;
}

ControlChannel::ControlChannel(ControlChannelConfig config, TimePoint now) : config_(config) {
  ssthresh_ = peer_rws_;
  if (config_.hello_interval.count() > 0) hello_deadline_ = now + config_.hello_interval;
}

void ControlChannel::set_peer_tunnel_id(uint16_t id) { peer_tunnel_id_ = id; }

void ControlChannel::set_peer_receive_window(uint16_t rws) {
  peer_rws_ = std::max<uint16_t>(rws, 1);
  ssthresh_ = peer_rws_;  // Appendix A: SSTHRESH starts at the peer's window
  cwnd_ = std::min<double>(cwnd_, peer_rws_);
}

void ControlChannel::transmit(const Outstanding& m) {
  // Retransmissions carry the current Nr (§5.8).
  actions_.push_back(Transmit{encode_control(peer_tunnel_id_, m.session_id, m.ns, expected_, m.avps)});
  ++stats_.transmitted;
  ack_deadline_.reset();  // Nr piggybacked
}

void ControlChannel::send_zlb() {
  actions_.push_back(Transmit{encode_control(peer_tunnel_id_, 0, next_ns_, expected_, {})});
  ++stats_.transmitted;
  ++stats_.zlb_sent;
  ack_deadline_.reset();
}

void ControlChannel::transmit_window(TimePoint now) {
  if (failed_) return;
  size_t window = std::min<size_t>(peer_rws_, static_cast<size_t>(cwnd_));
  while (!queued_.empty() && in_flight_.size() < std::max<size_t>(window, 1)) {
    Outstanding m = std::move(queued_.front());
    queued_.pop_front();
    m.ns = next_ns_++;
    transmit(m);
    in_flight_.push_back(std::move(m));
    if (!rto_deadline_) {
      rto_ = config_.initial_timeout;
      retries_ = 0;
      rto_deadline_ = now + rto_;
    }
  }
}

void ControlChannel::send(TimePoint now, uint16_t session_id, Bytes avps) {
  ++stats_.sent;
  queued_.push_back(Outstanding{0, session_id, std::move(avps)});
  transmit_window(now);
}

void ControlChannel::on_ack(TimePoint now, uint16_t nr) {
  // Nr acknowledges every message with Ns before it. Ignore an Nr that acknowledges something never sent.
  if (seq_before(next_ns_, nr)) return;
  bool progressed = false;
  while (!in_flight_.empty() && seq_before(in_flight_.front().ns, nr)) {
    in_flight_.pop_front();
    progressed = true;
    // Appendix A: slow start below ssthresh, then congestion avoidance (+1 per window of acks).
    if (cwnd_ < ssthresh_) cwnd_ += 1;
    else cwnd_ += 1.0 / cwnd_;
    cwnd_ = std::min<double>(cwnd_, peer_rws_);
  }
  if (progressed) {
    retries_ = 0;
    rto_ = config_.initial_timeout;
    rto_deadline_ = in_flight_.empty() ? std::nullopt : std::optional<TimePoint>(now + rto_);
  }
}

void ControlChannel::on_packet(TimePoint now, const Header& header, ByteView avps) {
  if (failed_) return;
  if (config_.hello_interval.count() > 0) hello_deadline_ = now + config_.hello_interval;
  on_ack(now, header.nr);
  if (!avps.empty()) {
    uint16_t ns = header.ns;
    if (ns == expected_) {
      ++expected_;
      ++stats_.received;
      actions_.push_back(Deliver{header.session_id, Bytes(avps.begin(), avps.end())});
      // Drain what was queued behind the gap.
      for (auto it = reorder_.find(expected_); it != reorder_.end(); it = reorder_.find(expected_)) {
        ++expected_;
        ++stats_.received;
        actions_.push_back(Deliver{it->second.first, std::move(it->second.second)});
        reorder_.erase(it);
      }
      if (!ack_deadline_) ack_deadline_ = now + config_.ack_delay;
    } else if (seq_before(ns, expected_)) {
      // Already delivered: the peer missed our ack. Ack at once.
      ++stats_.duplicates;
      send_zlb();
    } else if (static_cast<uint16_t>(ns - expected_) < config_.receive_window) {
      if (reorder_.emplace(ns, std::make_pair(header.session_id, Bytes(avps.begin(), avps.end()))).second)
        ++stats_.out_of_order;
      else
        ++stats_.duplicates;
      if (!ack_deadline_) ack_deadline_ = now + config_.ack_delay;
    } else {
      ++stats_.outside_window;
    }
  }
  transmit_window(now);
}

void ControlChannel::on_timer(TimePoint now) {
  if (failed_) return;
  if (rto_deadline_ && now >= *rto_deadline_ && !in_flight_.empty()) {
    if (retries_ >= config_.max_retransmissions) {
      failed_ = true;
      rto_deadline_.reset();
      ack_deadline_.reset();
      hello_deadline_.reset();
      actions_.push_back(ChannelFailed{});
      return;
    }
    ++retries_;
    ++stats_.retransmissions;
    // Appendix A: a timeout halves the threshold and restarts slow start.
    ssthresh_ = std::max(cwnd_ / 2, 1.0);
    cwnd_ = 1;
    transmit(in_flight_.front());  // go-back: only the oldest; the rest follow as acks reopen the window
    rto_ = std::min(rto_ * 2, config_.max_timeout);
    rto_deadline_ = now + rto_;
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

std::vector<ChannelAction> ControlChannel::take_actions() { return std::exchange(actions_, {}); }

bool ControlChannel::all_acknowledged() const { return in_flight_.empty() && queued_.empty(); }
bool ControlChannel::failed() const { return failed_; }
const ControlChannelStats& ControlChannel::stats() const { return stats_; }

}  // namespace l2tpvpn::l2tp
