// ppp/pty_backlog: frames for pppd's pty, bounded by frame length and by bytes, written in one piece.
#include "ppp/pty_backlog.hpp"

#include <gtest/gtest.h>

#include "ppp/hdlc.hpp"

namespace l2tpvpn::ppp {
namespace {

Bytes frame(size_t n, uint8_t fill = 0x41) { return Bytes(n, fill); }

size_t encoded_size(const Bytes& f) {
  Bytes out;
  encode_hdlc_frame(f, kDefaultAccm, out);
  return out.size();
}

TEST(PtyBacklog, FramesLongerThanAPppFrameAreRefused) {
  PtyBacklog b(PtyBacklogLimits{.mru = 1350, .max_bytes = 1 << 20});
  EXPECT_EQ(b.push(frame(1504)), PtyBacklog::Verdict::kQueued);  // LCP's default MRU 1500 + 4
  EXPECT_EQ(b.push(frame(1505)), PtyBacklog::Verdict::kTooLong);
  EXPECT_EQ(b.push(frame(65000)), PtyBacklog::Verdict::kTooLong);
  PtyBacklog big(PtyBacklogLimits{.mru = 2000, .max_bytes = 1 << 20});
  EXPECT_EQ(big.push(frame(2004)), PtyBacklog::Verdict::kQueued);
  EXPECT_EQ(big.push(frame(2005)), PtyBacklog::Verdict::kTooLong);
}

// Escaping can double a frame (every octet a control character): the bound is on what is queued, encoded.
TEST(PtyBacklog, BoundedInEncodedBytesNotFrames) {
  const Bytes escaped = frame(1000, 0x7e);
  const size_t one = encoded_size(escaped);
  ASSERT_GT(one, 2000u);
  PtyBacklog b(PtyBacklogLimits{.mru = 1500, .max_bytes = 3 * one});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.push(escaped), PtyBacklog::Verdict::kQueued);
  EXPECT_EQ(b.push(escaped), PtyBacklog::Verdict::kFull);
  EXPECT_EQ(b.bytes(), 3 * one);
  // The bound is reached exactly: not even a 1-octet frame fits now.
  EXPECT_EQ(b.push(frame(1)), PtyBacklog::Verdict::kFull);
}

TEST(PtyBacklog, OneWriteForEverythingQueuedAndBytesCountedUntilWritten) {
  PtyBacklog b(PtyBacklogLimits{.mru = 1500, .max_bytes = 100000});
  const Bytes f1 = frame(10, 1), f2 = frame(20, 2);
  b.push(f1);
  b.push(f2);
  const Bytes* w = b.begin_write();
  ASSERT_NE(w, nullptr);
  Bytes expect;
  encode_hdlc_frame(f1, kDefaultAccm, expect);
  encode_hdlc_frame(f2, kDefaultAccm, expect);
  EXPECT_EQ(*w, expect);
  EXPECT_EQ(b.begin_write(), nullptr);  // one write at a time
  b.push(f1);                           // arrives while writing: next write
  EXPECT_EQ(b.bytes(), expect.size() + encoded_size(f1));
  b.done_writing();
  EXPECT_EQ(b.bytes(), encoded_size(f1));
  w = b.begin_write();
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->size(), encoded_size(f1));
  b.done_writing();
  EXPECT_EQ(b.bytes(), 0u);
  EXPECT_EQ(b.begin_write(), nullptr);
}

}  // namespace
}  // namespace l2tpvpn::ppp
