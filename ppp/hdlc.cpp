#include "ppp/hdlc.hpp"

#include <algorithm>
#include <utility>

namespace l2tpvpn::ppp {

// The first and last entries of the table printed in RFC 1662 §C.2: the generator matches the RFC's.
static_assert(kFcs16Table[0] == 0x0000 && kFcs16Table[1] == 0x1189 && kFcs16Table[2] == 0x2312);
static_assert(kFcs16Table[254] == 0x1ef1 && kFcs16Table[255] == 0x0f78);

uint16_t fcs16(uint16_t fcs, ByteView data) {
  for (uint8_t b : data) fcs = static_cast<uint16_t>((fcs >> 8) ^ kFcs16Table[(fcs ^ b) & 0xff]);
  return fcs;
}

namespace {

bool needs_escape(uint8_t b, uint32_t accm) {
  return b == kHdlcFlag || b == kHdlcEscape || (b < 0x20 && ((accm >> b) & 1u) != 0);
}

void put_escaped(uint8_t b, uint32_t accm, Bytes& out) {
  if (needs_escape(b, accm)) {
    out.push_back(kHdlcEscape);
    out.push_back(static_cast<uint8_t>(b ^ kHdlcEscapeXor));
  } else {
    out.push_back(b);
  }
}

}  // namespace

void encode_hdlc_frame(ByteView ppp_frame, uint32_t accm, Bytes& out) {
  // Worst case: every octet escaped, plus the FCS (escaped) and two flags.
  out.reserve(out.size() + 2 * (ppp_frame.size() + kHdlcFcsSize) + 2);
  out.push_back(kHdlcFlag);
  for (uint8_t b : ppp_frame) put_escaped(b, accm, out);
  // RFC 1662 §C.2: the complement of the FCS, least significant octet first.
  const uint16_t fcs = static_cast<uint16_t>(~fcs16(kFcs16Init, ppp_frame));
  put_escaped(static_cast<uint8_t>(fcs & 0xff), accm, out);
  put_escaped(static_cast<uint8_t>(fcs >> 8), accm, out);
  out.push_back(kHdlcFlag);
}

HdlcDecoder::HdlcDecoder(HdlcDecoderOptions options) : options_(options) {
  options_.max_frame = std::max(options_.max_frame, kHdlcMinFrame);
}

std::vector<Bytes> HdlcDecoder::feed(ByteView bytes) {
  std::vector<Bytes> out;
  for (uint8_t b : bytes) {
    if (b == kHdlcFlag) {
      end_frame(out);
      continue;
    }
    // RFC 1662 §4.2: flagged control octets are removed before anything else looks at them, so one that a DCE
    // inserts between 7D and the octet it escapes does not cancel the escape.
    if (b < 0x20 && ((options_.rx_accm >> b) & 1u) != 0) {
      ++stats_.accm_discarded;
      continue;
    }
    if (discarding_) continue;
    if (escape_) {
      b = static_cast<uint8_t>(b ^ kHdlcEscapeXor);
      escape_ = false;
    } else if (b == kHdlcEscape) {
      escape_ = true;
      continue;
    }
    if (frame_.size() >= options_.max_frame) {
      ++stats_.too_long;
      discarding_ = true;
      frame_.clear();
      frame_.shrink_to_fit();
      continue;
    }
    frame_.push_back(b);
  }
  return out;
}

void HdlcDecoder::end_frame(std::vector<Bytes>& out) {
  const bool was_escape = std::exchange(escape_, false);
  if (std::exchange(discarding_, false)) return;  // counted as too_long when it overflowed
  if (was_escape) {
    // RFC 1662 §4.3: a frame ending in 7D 7E is aborted; an abort with nothing before it still counts.
    ++stats_.aborted;
    frame_.clear();
    return;
  }
  if (frame_.empty()) return;  // back-to-back flags: inter-frame fill, or the shared flag between two frames
  if (frame_.size() < kHdlcMinFrame) {
    ++stats_.too_short;
    frame_.clear();
    return;
  }
  if (fcs16(kFcs16Init, frame_) != kFcs16Good) {
    ++stats_.bad_fcs;
    frame_.clear();
    return;
  }
  frame_.resize(frame_.size() - kHdlcFcsSize);
  ++stats_.frames;
  stats_.octets += frame_.size();
  out.push_back(std::move(frame_));
  frame_ = Bytes();
}

void HdlcDecoder::reset() {
  frame_.clear();
  escape_ = false;
  discarding_ = false;
}

bool has_address_control(ByteView frame) {
  return frame.size() >= 2 && frame[0] == 0xFF && frame[1] == 0x03;
}

void ensure_address_control(Bytes& frame) {
  if (has_address_control(frame)) return;
  static constexpr uint8_t kAddressControl[] = {0xFF, 0x03};
  frame.insert(frame.begin(), std::begin(kAddressControl), std::end(kAddressControl));
}

}  // namespace l2tpvpn::ppp
