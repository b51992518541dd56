#include "ppp/hdlc.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string_view>

namespace l2tpvpn::ppp {
namespace {

Bytes encode(ByteView frame, uint32_t accm = kDefaultAccm) {
  Bytes out;
  encode_hdlc_frame(frame, accm, out);
  return out;
}

// An LCP Configure-Request as pppd sends it first: FF 03 C0 21, code 1, id 1, length 14, ACCM 0, magic.
const Bytes kLcpConfReq = {0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x0E, 0x02, 0x06,
                           0x00, 0x00, 0x00, 0x00, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78};

TEST(Fcs16, TableAndCheckValue) {
  // RFC 1662 §C.2 table, a few entries beyond the ones hdlc.cpp static_asserts.
  EXPECT_EQ(kFcs16Table[3], 0x329b);
  EXPECT_EQ(kFcs16Table[0x80], 0x8408);
  // CRC-16/X-25 (same parameters as the PPP FCS): check value over "123456789" is 0x906E after complement.
  EXPECT_EQ(static_cast<uint16_t>(~fcs16(kFcs16Init, as_bytes("123456789"))), 0x906E);
  EXPECT_EQ(fcs16(kFcs16Init, {}), kFcs16Init);
}

TEST(Fcs16, GoodResidueOverFrameAndFcs) {
  for (std::string_view s : {"123456789", "\xff\x03\xc0\x21", "x"}) {
    Bytes frame(s.begin(), s.end());
    uint16_t fcs = static_cast<uint16_t>(~fcs16(kFcs16Init, frame));
    frame.push_back(static_cast<uint8_t>(fcs & 0xff));  // least significant octet first (RFC 1662 §C.2)
    frame.push_back(static_cast<uint8_t>(fcs >> 8));
    EXPECT_EQ(fcs16(kFcs16Init, frame), kFcs16Good) << s;
    frame.back() ^= 0x01;
    EXPECT_NE(fcs16(kFcs16Init, frame), kFcs16Good) << s;
  }
}

TEST(HdlcEncode, KnownFrame) {
  // "123456789" has FCS 0x906E, sent as 6E 90; no octet needs escaping.
  Bytes expected = {0x7E, '1', '2', '3', '4', '5', '6', '7', '8', '9', 0x6E, 0x90, 0x7E};
  EXPECT_EQ(encode(as_bytes("123456789")), expected);
}

TEST(HdlcEncode, AppendsToOutput) {
  Bytes out = {0xAA};
  encode_hdlc_frame(as_bytes("123456789"), kDefaultAccm, out);
  ASSERT_EQ(out.size(), 14u);
  EXPECT_EQ(out[0], 0xAA);
  EXPECT_EQ(out[1], kHdlcFlag);
}

TEST(HdlcEncode, AccmEscaping) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  for (uint32_t accm : {0x00000000u, 0xFFFFFFFFu, 0x000A0000u, 0x80000001u}) {
    Bytes enc = encode(all, accm);
    ASSERT_EQ(enc.front(), kHdlcFlag);
    ASSERT_EQ(enc.back(), kHdlcFlag);
    // Between the flags: no bare flag, and every octet < 0x20 present is outside the ACCM.
    size_t escapes = 0;
    for (size_t i = 1; i + 1 < enc.size(); ++i) {
      uint8_t b = enc[i];
      EXPECT_NE(b, kHdlcFlag) << "accm " << accm << " at " << i;
      if (b == kHdlcEscape) {
        ++escapes;
        ++i;
        continue;
      }
      if (b < 0x20) {
        EXPECT_EQ((accm >> b) & 1u, 0u) << "accm " << accm << " octet " << int{b};
      }
    }
    // Escaped: 7E, 7D and the ACCM's control octets among the data (FCS octets may add some).
    size_t expected_min = 2 + static_cast<size_t>(__builtin_popcount(accm));
    EXPECT_GE(escapes, expected_min) << accm;
    EXPECT_LE(escapes, expected_min + 2) << accm;
    HdlcDecoder dec;
    auto frames = dec.feed(enc);
    ASSERT_EQ(frames.size(), 1u) << accm;
    EXPECT_EQ(frames[0], all);
  }
  // Exact bytes: with ACCM 0x000A0000 only 0x11 and 0x13 (XON/XOFF) are escaped, as 7D 31 / 7D 33.
  Bytes frame = {0x11, 0x12, 0x13, 0x7E, 0x7D, 0x00};
  Bytes enc = encode(frame, 0x000A0000);
  ASSERT_GE(enc.size(), 11u);
  Bytes body(enc.begin() + 1, enc.begin() + 11);  // the escaped frame, without the opening flag and the FCS
  EXPECT_EQ(body, (Bytes{0x7D, 0x31, 0x12, 0x7D, 0x33, 0x7D, 0x5E, 0x7D, 0x5D, 0x00}));
}

TEST(HdlcDecode, KnownFrameWithoutFcs) {
  HdlcDecoder dec;
  Bytes wire = {0x7E, '1', '2', '3', '4', '5', '6', '7', '8', '9', 0x6E, 0x90, 0x7E};
  auto frames = dec.feed(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], Bytes(wire.begin() + 1, wire.begin() + 10));
  EXPECT_EQ(dec.stats().frames, 1u);
  EXPECT_EQ(dec.stats().octets, 9u);
  EXPECT_EQ(dec.buffered(), 0u);
}

TEST(HdlcDecode, RoundTripRandomFramesAtEverySplitPoint) {
  std::mt19937_64 rng(0x1662);  // fixed seed: a failure replays exactly
  for (int iter = 0; iter < 60; ++iter) {
    // Two frames back to back, each 2..200 octets, biased towards the octets that need escaping.
    Bytes f1, f2;
    for (Bytes* f : {&f1, &f2}) {
      size_t n = 2 + rng() % 199;
      for (size_t i = 0; i < n; ++i) {
        uint64_t r = rng();
        f->push_back(r % 4 == 0 ? static_cast<uint8_t>(0x7D + (r >> 8) % 2) : static_cast<uint8_t>(r >> 16));
      }
    }
    const uint32_t accm = (iter % 3 == 0) ? kDefaultAccm : static_cast<uint32_t>(rng());
    Bytes wire = encode(f1, accm);
    encode_hdlc_frame(f2, accm, wire);
    for (size_t split = 0; split <= wire.size(); ++split) {
      HdlcDecoder dec;
      ByteView w(wire);
      auto a = dec.feed(w.subspan(0, split));
      auto b = dec.feed(w.subspan(split));
      a.insert(a.end(), b.begin(), b.end());
      ASSERT_EQ(a.size(), 2u) << "iter " << iter << " split " << split;
      EXPECT_EQ(a[0], f1);
      EXPECT_EQ(a[1], f2);
      EXPECT_EQ(dec.stats(), (HdlcDecoderStats{.frames = 2, .octets = f1.size() + f2.size()}));
    }
    // One byte at a time.
    HdlcDecoder dec;
    std::vector<Bytes> got;
    for (uint8_t b : wire)
      for (auto& f : dec.feed(ByteView(&b, 1))) got.push_back(std::move(f));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], f1);
    EXPECT_EQ(got[1], f2);
  }
}

TEST(HdlcDecode, BackToBackFramesShareOneFlag) {
  Bytes a = encode(kLcpConfReq);
  const Bytes ip = {0xFF, 0x03, 0x00, 0x21, 'h', 'e', 'l', 'l', 'o'};
  Bytes b = encode(ip);
  Bytes wire = a;
  wire.insert(wire.end(), b.begin() + 1, b.end());  // drop b's opening flag: a's closing flag is shared
  HdlcDecoder dec;
  auto frames = dec.feed(wire);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], kLcpConfReq);
  EXPECT_EQ(frames[1], ip);
}

TEST(HdlcDecode, RunsOfFlagsAreFill) {
  Bytes wire = {0x7E, 0x7E, 0x7E};
  Bytes f = encode(kLcpConfReq);
  wire.insert(wire.end(), f.begin(), f.end());
  wire.insert(wire.end(), {0x7E, 0x7E});
  HdlcDecoder dec;
  auto frames = dec.feed(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(dec.stats(), (HdlcDecoderStats{.frames = 1, .octets = kLcpConfReq.size()}));
}

TEST(HdlcDecode, AbortSequence) {
  HdlcDecoder dec;
  Bytes good = encode(kLcpConfReq);
  // A frame aborted half way (7D 7E), then a good one.
  Bytes wire = {0x7E, 0xFF, 0x03, 0xC0, 0x21, 0x7D, 0x7E};
  wire.insert(wire.end(), good.begin(), good.end());
  auto frames = dec.feed(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], kLcpConfReq);
  EXPECT_EQ(dec.stats().aborted, 1u);
  // An abort split across feeds, and one with nothing before it.
  EXPECT_TRUE(dec.feed(Bytes{0x01, 0x02, 0x7D}).empty());
  EXPECT_TRUE(dec.feed(Bytes{0x7E}).empty());
  EXPECT_TRUE(dec.feed(Bytes{0x7D, 0x7E}).empty());
  EXPECT_EQ(dec.stats(), (HdlcDecoderStats{.frames = 1, .octets = kLcpConfReq.size(), .aborted = 3}));
  EXPECT_EQ(dec.buffered(), 0u);
}

TEST(HdlcDecode, BadFcsCounted) {
  HdlcDecoder dec;
  Bytes wire = encode(kLcpConfReq);
  wire[5] ^= 0x40;  // a data octet (not 7D/7E after the flip), FCS no longer matches
  ASSERT_NE(wire[5], 0x7E);
  ASSERT_NE(wire[5], 0x7D);
  Bytes good = encode(kLcpConfReq);
  wire.insert(wire.end(), good.begin(), good.end());
  auto frames = dec.feed(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], kLcpConfReq);
  EXPECT_EQ(dec.stats().bad_fcs, 1u);
  // Garbage before the first flag counts as a bad frame, too.
  HdlcDecoder fresh;
  EXPECT_TRUE(fresh.feed(as_bytes("garbage~")).empty());
  EXPECT_EQ(fresh.stats().bad_fcs, 1u);
}

TEST(HdlcDecode, TooShort) {
  HdlcDecoder dec;
  // 1, 2 and 3 octets between flags; RFC 1662 §4.3 says < 4 (with FCS-16) is invalid. A 1-octet "frame"
  // encoded by us (3 octets with FCS) is too short too.
  Bytes wire = {0x7E, 0x01, 0x7E, 0x01, 0x02, 0x7E, 0x01, 0x02, 0x03, 0x7E};
  Bytes one = encode(Bytes{0x21});
  wire.insert(wire.end(), one.begin(), one.end());
  EXPECT_TRUE(dec.feed(wire).empty());
  EXPECT_EQ(dec.stats(), (HdlcDecoderStats{.too_short = 4}));
  // The shortest valid frame: 2 octets + FCS.
  auto frames = dec.feed(encode(Bytes{0xC0, 0x21}));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], (Bytes{0xC0, 0x21}));
}

TEST(HdlcDecode, TooLongIsDroppedUpToNextFlagWithBoundedMemory) {
  HdlcDecoder dec(HdlcDecoderOptions{.max_frame = 64});
  Bytes exact(62, 0x55);  // 62 + FCS = 64: accepted
  Bytes over(63, 0x55);   // 63 + FCS = 65: dropped
  Bytes wire = encode(exact);
  encode_hdlc_frame(over, kDefaultAccm, wire);
  encode_hdlc_frame(kLcpConfReq, kDefaultAccm, wire);
  auto frames = dec.feed(wire);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], exact);
  EXPECT_EQ(frames[1], kLcpConfReq);
  EXPECT_EQ(dec.stats().too_long, 1u);

  // A megabyte without a flag: counted once, nothing buffered beyond max_frame, then recovery at the flag.
  Bytes flood(1 << 20, 0x41);
  for (size_t off = 0; off < flood.size(); off += 4096) {
    EXPECT_TRUE(dec.feed(ByteView(flood).subspan(off, 4096)).empty());
    EXPECT_LE(dec.buffered(), 64u);
  }
  EXPECT_EQ(dec.stats().too_long, 2u);
  // An escape or an abort inside the dropped part changes nothing; the next flag ends it.
  EXPECT_TRUE(dec.feed(Bytes{0x7D, 0x7E}).empty());
  EXPECT_EQ(dec.stats().aborted, 0u);
  frames = dec.feed(encode(kLcpConfReq));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(dec.stats().too_long, 2u);

  // The default limit takes a full 1500-octet Information field with header.
  HdlcDecoder def;
  Bytes full(4 + 1500, 0x7E);  // every octet escaped on the wire: the limit counts unescaped octets
  ASSERT_EQ(def.feed(encode(full)).size(), 1u);
  EXPECT_EQ(def.options().max_frame, kDefaultHdlcMaxFrame);
}

TEST(HdlcDecode, TinyMaxFrameIsClamped) {
  HdlcDecoder dec(HdlcDecoderOptions{.max_frame = 0});
  EXPECT_EQ(dec.options().max_frame, kHdlcMinFrame);
  auto frames = dec.feed(encode(Bytes{0xC0, 0x21}));
  ASSERT_EQ(frames.size(), 1u);
}

TEST(HdlcDecode, UnescapedControlOctetsInReceiveAccmAreDiscarded) {
  // RFC 1662 §4.2: with a receive ACCM, unescaped flagged octets (e.g. XON 0x11 / XOFF 0x13 a modem inserted)
  // are removed before the FCS check, even between 7D and the octet it escapes.
  Bytes wire = encode(kLcpConfReq);
  Bytes noisy;
  for (size_t i = 0; i < wire.size(); ++i) {
    noisy.push_back(wire[i]);
    if (i % 3 == 0) noisy.push_back(0x11);
    if (wire[i] == 0x7D) noisy.push_back(0x13);
  }
  HdlcDecoder all(HdlcDecoderOptions{.rx_accm = kDefaultAccm});
  auto frames = all.feed(noisy);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], kLcpConfReq);
  EXPECT_GT(all.stats().accm_discarded, 5u);

  // Only octets in the map are dropped: with ACCM = {XON, XOFF} an unescaped 0x01 is data.
  Bytes frame = {0xFF, 0x03, 0x00, 0x21, 0x01, 0x02, 0x11};
  Bytes enc = encode(frame, 0x000A0000);  // 0x01, 0x02 unescaped; 0x11 escaped
  enc.insert(enc.begin() + 3, 0x13);      // an inserted XOFF
  HdlcDecoder xonxoff(HdlcDecoderOptions{.rx_accm = 0x000A0000});
  frames = xonxoff.feed(enc);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], frame);
  EXPECT_EQ(xonxoff.stats().accm_discarded, 1u);
}

TEST(HdlcDecode, DefaultReceiveAccmKeepsUnescapedControlOctets) {
  // pppd transmits with the ACCM the remote client asked for; with ACCM 0 control octets arrive unescaped and
  // are data (see hdlc.hpp). The default decoder must keep them.
  Bytes frame = {0xFF, 0x03, 0x00, 0x21, 0x00, 0x01, 0x11, 0x13, 0x1F, 0x7E, 0x7D};
  HdlcDecoder dec;
  auto frames = dec.feed(encode(frame, 0));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], frame);
  EXPECT_EQ(dec.stats().accm_discarded, 0u);
}

TEST(HdlcDecode, ResetDropsPartialFrameKeepsCounters) {
  HdlcDecoder dec;
  Bytes wire = encode(kLcpConfReq);
  (void)dec.feed(Bytes{0x7E, 0x01, 0x7E});  // too short
  EXPECT_TRUE(dec.feed(ByteView(wire).subspan(0, 8)).empty());
  EXPECT_GT(dec.buffered(), 0u);
  dec.reset();
  EXPECT_EQ(dec.buffered(), 0u);
  EXPECT_EQ(dec.stats().too_short, 1u);
  auto frames = dec.feed(wire);
  ASSERT_EQ(frames.size(), 1u);
}

TEST(AddressControl, PrependedOnlyWhenCompressed) {
  EXPECT_TRUE(has_address_control(Bytes{0xFF, 0x03, 0xC0, 0x21}));
  EXPECT_FALSE(has_address_control(Bytes{0xC0, 0x21}));
  EXPECT_FALSE(has_address_control(Bytes{0xFF}));
  EXPECT_FALSE(has_address_control(Bytes{}));

  Bytes full = {0xFF, 0x03, 0x00, 0x21, 0x45};
  ensure_address_control(full);
  EXPECT_EQ(full, (Bytes{0xFF, 0x03, 0x00, 0x21, 0x45}));

  Bytes acfc = {0x00, 0x21, 0x45};  // ACFC: no FF 03
  ensure_address_control(acfc);
  EXPECT_EQ(acfc, (Bytes{0xFF, 0x03, 0x00, 0x21, 0x45}));

  Bytes acfc_pfc = {0x21, 0x45};  // ACFC + PFC: the 1-octet protocol stays compressed
  ensure_address_control(acfc_pfc);
  EXPECT_EQ(acfc_pfc, (Bytes{0xFF, 0x03, 0x21, 0x45}));

  // PFC with an Information field starting 0x03 (RFC 1662 §3.2 reserves protocol 0x00ff for this reason): the
  // first octet is a protocol, never 0xFF, so no ambiguity.
  Bytes pfc_03 = {0x21, 0x03};
  ensure_address_control(pfc_03);
  EXPECT_EQ(pfc_03, (Bytes{0xFF, 0x03, 0x21, 0x03}));

  Bytes empty;
  ensure_address_control(empty);
  EXPECT_EQ(empty, (Bytes{0xFF, 0x03}));
}

}  // namespace
}  // namespace l2tpvpn::ppp
