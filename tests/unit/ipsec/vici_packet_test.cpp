#include "ipsec/vici_packet.hpp"

#include <gtest/gtest.h>

namespace l2tpvpn::vici {
namespace {

Packet make(PacketType t, std::string name = {}, Message m = {}) {
  return Packet{t, std::move(name), std::move(m)};
}

ByteView payload_of(const Bytes& frame) {
  return ByteView(frame).subspan(kFrameHeaderSize);
}

TEST(ViciPacket, RoundTripsEveryPacketType) {
  Message args;
  args.set("ike", "l2tp-psk");
  const std::vector<Packet> packets = {
      make(PacketType::kCmdRequest, "list-sas", args),
      make(PacketType::kCmdRequest, "version"),
      make(PacketType::kCmdResponse, "", args),
      make(PacketType::kCmdResponse),
      make(PacketType::kCmdUnknown),
      make(PacketType::kEventRegister, "child-updown"),
      make(PacketType::kEventUnregister, "list-sa"),
      make(PacketType::kEventConfirm),
      make(PacketType::kEventUnknown),
      make(PacketType::kEvent, "ike-updown", args),
      make(PacketType::kEvent, std::string(255, 'e')),
  };
  for (const auto& p : packets) {
    auto frame = encode_frame(p);
    ASSERT_TRUE(frame) << to_string(p.type);
    const uint32_t len =
        (uint32_t{(*frame)[0]} << 24) | (uint32_t{(*frame)[1]} << 16) | (uint32_t{(*frame)[2]} << 8) | (*frame)[3];
    EXPECT_EQ(len, frame->size() - 4);
    EXPECT_EQ((*frame)[4], static_cast<uint8_t>(p.type));
    auto back = decode_packet(payload_of(*frame));
    ASSERT_TRUE(back) << to_string(back.error());
    EXPECT_EQ(*back, p) << to_string(p.type);
  }
}

TEST(ViciPacket, ExactBytesOfARegistration) {
  auto frame = encode_frame(make(PacketType::kEventRegister, "log"));
  ASSERT_TRUE(frame);
  EXPECT_EQ(*frame, (Bytes{0, 0, 0, 5, 3, 3, 'l', 'o', 'g'}));
  auto confirm = encode_frame(make(PacketType::kEventConfirm));
  EXPECT_EQ(*confirm, (Bytes{0, 0, 0, 1, 5}));
}

TEST(ViciPacket, DecodeErrors) {
  EXPECT_EQ(decode_packet(Bytes{}).error().error, PacketError::kEmpty);
  EXPECT_EQ(decode_packet(Bytes{8}).error().error, PacketError::kUnknownType);
  EXPECT_EQ(decode_packet(Bytes{255}).error().error, PacketError::kUnknownType);
  EXPECT_EQ(decode_packet(Bytes{0}).error().error, PacketError::kTruncatedName);
  EXPECT_EQ(decode_packet(Bytes{7, 3, 'a'}).error().error, PacketError::kTruncatedName);
  EXPECT_EQ(decode_packet(Bytes{5, 0}).error().error, PacketError::kTrailingBytes);
  EXPECT_EQ(decode_packet(Bytes{3, 1, 'a', 3}).error().error, PacketError::kTrailingBytes);
  auto bad = decode_packet(Bytes{1, 2});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().error, PacketError::kBadMessage);
  EXPECT_EQ(bad.error().message_error, MessageError::kUnbalancedSection);
  EXPECT_EQ(to_string(bad.error()), "bad message: unbalanced section");
}

TEST(ViciPacket, EncodeErrors) {
  EXPECT_EQ(encode_frame(make(PacketType::kCmdRequest, std::string(256, 'x'))).error().error,
            PacketError::kNameTooLong);
  EXPECT_EQ(encode_frame(make(PacketType::kCmdResponse, "x")).error().error, PacketError::kUnexpectedName);
  Message big;
  for (int i = 0; i < 9; ++i) big.set("k" + std::to_string(i), std::string(65535, 'v'));
  EXPECT_EQ(encode_frame(make(PacketType::kCmdRequest, "load-conn", big)).error().error, PacketError::kTooLarge);
  Message bad;
  bad.set("k", std::string(70000, 'v'));
  auto e = encode_frame(make(PacketType::kCmdRequest, "x", bad));
  EXPECT_EQ(e.error().error, PacketError::kBadMessage);
  EXPECT_EQ(e.error().message_error, MessageError::kValueTooLong);
}

TEST(FrameReader, ReassemblesFramesFedOneByteAtATime) {
  Bytes stream;
  for (const char* name : {"a", "bb", "ccc"}) {
    auto f = encode_frame(make(PacketType::kEvent, name));
    stream.insert(stream.end(), f->begin(), f->end());
  }
  FrameReader r;
  std::vector<std::string> names;
  for (uint8_t b : stream) {
    EXPECT_TRUE(r.feed(ByteView(&b, 1)));
    while (auto payload = r.pop()) names.push_back(decode_packet(*payload)->name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "bb", "ccc"}));
  EXPECT_FALSE(r.mid_frame());
}

TEST(FrameReader, SeveralFramesInOneRead) {
  Bytes stream;
  for (int i = 0; i < 5; ++i) {
    auto f = encode_frame(make(PacketType::kEventConfirm));
    stream.insert(stream.end(), f->begin(), f->end());
  }
  FrameReader r;
  ASSERT_TRUE(r.feed(stream));
  int n = 0;
  while (r.pop()) ++n;
  EXPECT_EQ(n, 5);
}

TEST(FrameReader, AcceptsExactlyTheCap) {
  FrameReader r;
  Bytes header{0x00, 0x08, 0x00, 0x00};  // 512 KiB
  ASSERT_TRUE(r.feed(header));
  EXPECT_TRUE(r.mid_frame());
  Bytes body(kMaxFrameSize, 5);
  ASSERT_TRUE(r.feed(body));
  auto p = r.pop();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->size(), kMaxFrameSize);
}

TEST(FrameReader, RejectsOneByteOverTheCapFromTheHeaderAlone) {
  FrameReader r;
  // Only the 4 header bytes are fed: the reader must refuse before any body arrives (no allocation of it).
  auto st = r.feed(Bytes{0x00, 0x08, 0x00, 0x01});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), FrameError::kTooLarge);
  EXPECT_TRUE(r.failed());
  // Sticky: further input is refused too.
  EXPECT_FALSE(r.feed(Bytes{0, 0, 0, 1, 5}));
  FrameReader huge;
  EXPECT_EQ(huge.feed(Bytes{0xff, 0xff, 0xff, 0xff}).error(), FrameError::kTooLarge);
}

TEST(FrameReader, RejectsEmptyFrameAndResets) {
  FrameReader r;
  EXPECT_EQ(r.feed(Bytes{0, 0, 0, 0}).error(), FrameError::kEmpty);
  r.reset();
  EXPECT_FALSE(r.failed());
  EXPECT_TRUE(r.feed(Bytes{0, 0, 0, 1, 5}));
  EXPECT_TRUE(r.pop());
}

TEST(FrameReader, ReportsMidFrame) {
  FrameReader r;
  ASSERT_TRUE(r.feed(Bytes{0, 0}));
  EXPECT_TRUE(r.mid_frame());
  ASSERT_TRUE(r.feed(Bytes{0, 3, 7}));
  EXPECT_TRUE(r.mid_frame());
  EXPECT_FALSE(r.pop());
}

}  // namespace
}  // namespace l2tpvpn::vici
