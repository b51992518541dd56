#include "ppp/pty_backlog.hpp"

#include "ppp/hdlc.hpp"

namespace l2tpvpn::ppp {

PtyBacklog::Verdict PtyBacklog::push(ByteView ppp_frame) {
  if (ppp_frame.size() > limits_.max_frame()) return Verdict::kTooLong;
  Bytes framed;
  encode_hdlc_frame(ppp_frame, kDefaultAccm, framed);
  if (bytes_ + framed.size() > limits_.max_bytes) return Verdict::kFull;
  bytes_ += framed.size();
  queue_.push_back(std::move(framed));
  return Verdict::kQueued;
}

const Bytes* PtyBacklog::begin_write() {
  if (writing_ || queue_.empty()) return nullptr;
  while (queue_.size() > 1) {
    auto second = std::next(queue_.begin());
    queue_.front().insert(queue_.front().end(), second->begin(), second->end());
    queue_.erase(second);
  }
  writing_ = true;
  return &queue_.front();
}

void PtyBacklog::done_writing() {
  if (!writing_) return;
  writing_ = false;
  bytes_ -= queue_.front().size();
  queue_.pop_front();
}

}  // namespace l2tpvpn::ppp
