// The PPP frames from the peer that wait for pppd's pty (the userspace data path), HDLC-encoded. Bounded twice:
// a frame longer than a PPP frame can be (the larger of our MRU and LCP's default 1500, plus address, control and
// protocol) is refused, and so is one that would take the backlog past `max_bytes`; the caller counts both. pppd
// reads its tty at its own pace: a backlog beyond the bound is a sender outrunning it, dropped like a full link.
// Everything queued goes to the pty in one write: fewer, larger writes cost less.
//
// Pure: the adapter writes what begin_write() gives and calls done_writing(). Thread-safety: none.
#pragma once

#include <cstddef>
#include <list>

#include "common/bytes.hpp"

namespace l2tpvpn::ppp {

struct PtyBacklogLimits {
  size_t mru = 1500;            // what pppd negotiates (ppp.mru)
  size_t max_bytes = 64 * 1024;  // encoded bytes waiting or being written
  // The longest PPP frame accepted: address, control and protocol (4 octets) around max(mru, 1500).
  size_t max_frame() const { return (mru > 1500 ? mru : 1500) + 4; }
};

class PtyBacklog {
 public:
  enum class Verdict { kQueued, kTooLong, kFull };

  explicit PtyBacklog(PtyBacklogLimits limits = {}) : limits_(limits) {}

  // Encodes one PPP frame (default ACCM) and queues it, unless it is too long or the backlog is full.
  Verdict push(ByteView ppp_frame);
  // Everything queued, as one buffer that stays valid (and counted) until done_writing(); nullptr when nothing
  // waits or a write is already under way.
  const Bytes* begin_write();
  void done_writing();

  size_t bytes() const { return bytes_; }
  bool writing() const { return writing_; }

 private:
  PtyBacklogLimits limits_;
  // front: the buffer being written while writing_. A list: an empty one allocates nothing (a deque holds a
  // 512-byte node from construction, for every idle session), and the front stays put while others are added.
  std::list<Bytes> queue_;
  bool writing_ = false;
  size_t bytes_ = 0;
};

}  // namespace l2tpvpn::ppp
