#include "server/l2tp/header.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::l2tp {
namespace {

TEST(Header, ControlRoundTrip) {
  Bytes avps = {0x80, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
  Bytes pkt = encode_control(0x1234, 0x5678, 7, 9, avps);
  ASSERT_EQ(pkt.size(), kControlHeaderSize + avps.size());
  EXPECT_EQ(pkt[0], 0xc8);  // T L S
  EXPECT_EQ(pkt[1], 0x02);
  auto p = decode_packet(pkt);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->header.control);
  EXPECT_EQ(p->header.length, pkt.size());
  EXPECT_EQ(p->header.tunnel_id, 0x1234);
  EXPECT_EQ(p->header.session_id, 0x5678);
  EXPECT_EQ(p->header.ns, 7);
  EXPECT_EQ(p->header.nr, 9);
  EXPECT_EQ(Bytes(p->payload.begin(), p->payload.end()), avps);
}

TEST(Header, ZlbHasNoPayload) {
  Bytes pkt = encode_control(1, 0, 3, 4, {});
  auto p = decode_packet(pkt);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->payload.empty());
}

TEST(Header, DataVariants) {
  Bytes ppp = {0xff, 0x03, 0xc0, 0x21};
  for (bool len : {false, true})
    for (bool seq : {false, true}) {
      Bytes pkt = encode_data(5, 6, ppp, len, seq, 11, 12);
      auto p = decode_packet(pkt);
      ASSERT_TRUE(p);
      EXPECT_FALSE(p->header.control);
      EXPECT_EQ(p->header.tunnel_id, 5);
      EXPECT_EQ(p->header.session_id, 6);
      EXPECT_EQ(p->header.sequence_present, seq);
      if (seq) {
        EXPECT_EQ(p->header.ns, 11);
      }
      EXPECT_EQ(Bytes(p->payload.begin(), p->payload.end()), ppp);
    }
}

TEST(Header, DataWithOffsetSkipsPadding) {
  // T=0 L=0 O=1, ver 2; tid 1, sid 2, offset 3, pad(3), payload
  Bytes pkt = {0x02, 0x02, 0, 1, 0, 2, 0, 3, 0xaa, 0xbb, 0xcc, 0x11, 0x22};
  auto p = decode_packet(pkt);
  ASSERT_TRUE(p);
  EXPECT_EQ(Bytes(p->payload.begin(), p->payload.end()), (Bytes{0x11, 0x22}));
}

TEST(Header, Rejects) {
  EXPECT_EQ(decode_packet(Bytes{}).error(), HeaderError::kTruncated);
  EXPECT_EQ(decode_packet(Bytes{0xc8}).error(), HeaderError::kTruncated);
  EXPECT_EQ(decode_packet(Bytes{0xc8, 0x03, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0}).error(), HeaderError::kBadVersion);
  // control without S
  EXPECT_EQ(decode_packet(Bytes{0xc0, 0x02, 0, 8, 0, 0, 0, 0}).error(), HeaderError::kControlFlags);
  // length larger than datagram
  EXPECT_EQ(decode_packet(Bytes{0xc8, 0x02, 0, 40, 0, 0, 0, 0, 0, 0, 0, 0}).error(), HeaderError::kBadLength);
  // length smaller than header
  EXPECT_EQ(decode_packet(Bytes{0xc8, 0x02, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0}).error(), HeaderError::kBadLength);
  // offset beyond end
  EXPECT_EQ(decode_packet(Bytes{0x02, 0x02, 0, 1, 0, 2, 0, 9, 1}).error(), HeaderError::kOffsetPastEnd);
  // truncated Ns/Nr
  EXPECT_EQ(decode_packet(Bytes{0xc8, 0x02, 0, 8, 0, 0, 0, 0}).error(), HeaderError::kTruncated);
}

TEST(Header, TrailingBytesBeyondLengthIgnored) {
  Bytes pkt = encode_control(1, 0, 0, 0, {});
  pkt.push_back(0xee);
  auto p = decode_packet(pkt);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->payload.empty());
}

}  // namespace
}  // namespace l2tpvpn::l2tp
