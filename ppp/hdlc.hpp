// Async-HDLC ("octet-stuffed") framing, RFC 1662 §4, for the userspace data path (pure: no I/O).
//
// In pty mode pppd talks to a pseudo-terminal as to a serial line, so what it writes on the slave and expects to
// read back is a byte stream of HDLC-like frames:
//     7E | escaped(Address FF, Control 03, Protocol, Information, FCS-16 little-endian) | 7E
// An L2TP data message carries the bare PPP frame instead: the LAC strips the flags, the transparency escapes and
// the FCS before tunnelling (RFC 2661's protocol overview; the ACCM AVP of §4.4.6 exists only so an LAC can
// apply pppd's ACCM on its own async line). This module converts between the two:
//   pty master -> HdlcDecoder::feed -> ensure_address_control -> L2TP data message payload
//   L2TP data message payload -> encode_hdlc_frame -> pty master
//
// Decisions:
// - Transmit ACCM (encode_hdlc_frame): the default kDefaultAccm escapes every control octet. Escaping more than
//   the peer asked for is always accepted (RFC 1662 §4.2: the receiver un-escapes whatever follows 0x7D), so we do
//   not need to track what LCP negotiated; it costs a few bytes on a local pty.
// - Receive ACCM (HdlcDecoderOptions::rx_accm): RFC 1662 §4.2 has the receiver drop unescaped control octets that
//   are flagged in its receiving ACCM (a DCE on a real line may insert XON/XOFF). Between pppd and us there is no
//   DCE, and the ACCM pppd transmits with is the one the *remote client* requested over LCP (pppd's lcp_up), which
//   we do not see: a client that asks for ACCM 0 (pppd's own default) makes pppd send control octets unescaped.
//   Dropping them would corrupt every such frame, so the default receive ACCM is 0 (drop nothing). A caller on a
//   real async line can pass its negotiated map; dropped octets are counted either way.
// - Address and Control (ACFC, RFC 1661 §6.6 / RFC 1662 §3.2): when the client negotiated ACFC, pppd omits FF 03.
//   ensure_address_control() puts them back, so the L2TP peer always gets the standard frame shape (the Linux
//   kernel's L2TP data path also always sends FF 03). The encode direction passes frames through unchanged: a
//   receiver that negotiated ACFC must still accept uncompressed frames, and pppd negotiated it end to end.
// - Protocol field (PFC, RFC 1661 §6.5): left exactly as received in both directions. PFC is negotiated between
//   pppd and the remote client; L2TP is transparent to it, so decompressing would only be a change we don't need.
// - FCS-16 only (RFC 1662 §C.2). FCS-32 (§C.3) is an LCP option pppd never negotiates on its own.
// - Every frame is sent with an opening and a closing flag; back-to-back frames sharing one flag are accepted.
//
// Thread-safety: functions are pure; HdlcDecoder is a value type used by one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.hpp"

namespace l2tpvpn::ppp {

inline constexpr uint8_t kHdlcFlag = 0x7E;            // RFC 1662 §4.1 Flag Sequence
inline constexpr uint8_t kHdlcEscape = 0x7D;          // RFC 1662 §4.2 Control Escape
inline constexpr uint8_t kHdlcEscapeXor = 0x20;       // the escaped octet is XORed with this
inline constexpr uint32_t kDefaultAccm = 0xFFFFFFFF;  // RFC 1662 §7.1 default: escape every octet < 0x20

inline constexpr uint16_t kFcs16Init = 0xFFFF;  // RFC 1662 §C.2 PPPINITFCS16
inline constexpr uint16_t kFcs16Good = 0xF0B8;  // RFC 1662 §C.2 PPPGOODFCS16: residue over a frame + its FCS
inline constexpr size_t kHdlcFcsSize = 2;
// RFC 1662 §4.3: shorter frames (including the FCS) are silently discarded (we count them).
inline constexpr size_t kHdlcMinFrame = 4;
// Default HdlcDecoderOptions::max_frame, counted in unescaped octets between the flags, FCS included: a full
// 1500-octet Information field (the default MRU, RFC 1661 §6.1; our pppd runs with mtu 1350) + Address, Control
// and a 2-octet Protocol (4) + FCS (2), plus 32 octets of slack for a peer that overshoots a little.
inline constexpr size_t kDefaultHdlcMaxFrame = 1500 + 4 + kHdlcFcsSize + 32;

// RFC 1662 §C.2: the FCS-16 lookup table (polynomial x^16 + x^12 + x^5 + 1, bit-reversed 0x8408), generated at
// compile time rather than pasted.
consteval std::array<uint16_t, 256> make_fcs16_table() {
  std::array<uint16_t, 256> table{};
  for (unsigned b = 0; b < 256; ++b) {
    unsigned v = b;
    for (int i = 0; i < 8; ++i) v = (v & 1) ? (v >> 1) ^ 0x8408 : v >> 1;
    table[b] = static_cast<uint16_t>(v);
  }
  return table;
}
inline constexpr std::array<uint16_t, 256> kFcs16Table = make_fcs16_table();

// Continues an FCS-16 computation (start with kFcs16Init). The transmitted FCS is the complement of the result,
// low octet first; running this over a received frame including its FCS gives kFcs16Good when it is intact.
uint16_t fcs16(uint16_t fcs, ByteView data);

// Appends one framed PPP frame to `out`: 7E, the escaped frame and its FCS-16, 7E. Escapes 7E, 7D and every
// octet < 0x20 whose bit (1 << octet) is set in `accm` (RFC 1662 §4.2; pass kDefaultAccm unless there is a reason
// not to, see the header comment). Never fails; `ppp_frame` is sent as given (see the ACFC/PFC notes above). A
// frame shorter than 2 octets is encoded too, but every receiver drops it (too short, RFC 1662 §4.3).
void encode_hdlc_frame(ByteView ppp_frame, uint32_t accm, Bytes& out);

struct HdlcDecoderOptions {
  // Longest accepted frame in unescaped octets between the flags, FCS included; longer ones are dropped up to
  // the next flag. Values below kHdlcMinFrame are treated as kHdlcMinFrame.
  size_t max_frame = kDefaultHdlcMaxFrame;
  // Octets < 0x20 whose bit is set here are discarded when they arrive unescaped (RFC 1662 §4.2). 0: none, the
  // right value on a pty (see the header comment).
  uint32_t rx_accm = 0;
};

// What the decoder dropped, by reason, and what it delivered. Counters only grow (reset() keeps them).
struct HdlcDecoderStats {
  uint64_t frames = 0;          // delivered
  uint64_t octets = 0;          // delivered, FCS excluded
  uint64_t bad_fcs = 0;         // FCS check failed
  uint64_t too_short = 0;       // 1..3 octets between flags (an empty one is inter-frame fill, not counted)
  uint64_t too_long = 0;        // more than max_frame octets; dropped up to the next flag
  uint64_t aborted = 0;         // 7D immediately followed by 7E (RFC 1662 §4.3 abort)
  uint64_t accm_discarded = 0;  // unescaped control octets removed by rx_accm (octets, not frames)
  bool operator==(const HdlcDecoderStats&) const = default;
};

// Streaming decoder: bytes from the pty in any chunking; complete frames out, FCS verified and removed.
// Bytes before the first flag are treated as a frame (pppd starts its first frame with a flag, so anything
// earlier is garbage and is counted like any other bad frame). Memory is bounded by max_frame: the frame in
// progress never grows beyond it.
class HdlcDecoder {
 public:
  HdlcDecoder() : HdlcDecoder(HdlcDecoderOptions{}) {}
  explicit HdlcDecoder(HdlcDecoderOptions options);

  // Consumes `bytes`; returns the frames completed by them, in order (Address..Information, without FCS). Bad
  // frames are dropped and counted in stats(); never fails.
  std::vector<Bytes> feed(ByteView bytes);

  const HdlcDecoderStats& stats() const { return stats_; }
  const HdlcDecoderOptions& options() const { return options_; }
  // Unescaped octets of the frame in progress (<= max_frame).
  size_t buffered() const { return frame_.size(); }
  // Forgets the frame in progress without counting it (e.g. the pty was reopened); keeps the counters.
  void reset();

 private:
  void end_frame(std::vector<Bytes>& out);

  HdlcDecoderOptions options_;
  HdlcDecoderStats stats_;
  Bytes frame_;
  bool escape_ = false;      // the previous data octet was 7D
  bool discarding_ = false;  // the frame in progress overflowed max_frame: drop up to the next flag
};

// RFC 1662 §3.2: a frame whose first two octets are FF 03 carries Address and Control; otherwise they were
// compressed away (ACFC). Only the first two octets are examined.
bool has_address_control(ByteView frame);
// Prepends FF 03 when has_address_control(frame) is false, so the frame has the shape L2TP peers expect (see the
// header comment). The Protocol field is left as it is (PFC stays). Never fails.
void ensure_address_control(Bytes& frame);

}  // namespace l2tpvpn::ppp
