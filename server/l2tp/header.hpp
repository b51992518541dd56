// L2TPv2 header codec (RFC 2661 §3.1).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// |T|L|x|x|S|x|O|P|x|x|x|x|  Ver  |          Length (opt)         |
// |           Tunnel ID           |           Session ID          |
// |             Ns (opt)          |             Nr (opt)          |
// |      Offset Size (opt)        |    Offset pad... (opt)
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace l2tpvpn::l2tp {

inline constexpr uint16_t kVersion2 = 2;
inline constexpr size_t kControlHeaderSize = 12;  // T, L, S set; no offset (RFC 2661 §3.1: O MUST be 0)

struct Header {
  bool control = false;           // T
  bool length_present = false;    // L
  bool sequence_present = false;  // S
  bool offset_present = false;    // O
  bool priority = false;          // P (data only)
  uint16_t length = 0;            // total length, valid when length_present
  uint16_t tunnel_id = 0;
  uint16_t session_id = 0;
  uint16_t ns = 0;
  uint16_t nr = 0;
  uint16_t offset_size = 0;
};

enum class HeaderError {
  kTruncated,           // shorter than the fields its flags announce
  kBadVersion,          // Ver != 2 (L2F = 1, L2TPv3 = 3 are not ours)
  kBadLength,           // Length field smaller than the header or larger than the datagram
  kControlFlags,        // control message without L and S, or with O or P set (§3.1 MUST)
  kOffsetPastEnd,       // offset size points past the end of the packet
};

std::string_view to_string(HeaderError e);

struct Packet {
  Header header;
  ByteView payload;  // control: the AVPs; data: the PPP frame (offset padding removed)
};

// Decodes the header of one datagram. Bytes beyond a present Length field are ignored (padding, §3.1).
// Errors: HeaderError; never reads outside `datagram`.
Result<Packet, HeaderError> decode_packet(ByteView datagram);

// Encodes a control message header (T, L, S set) followed by `avps`. `avps` empty gives a ZLB ACK (§5.8).
Bytes encode_control(uint16_t tunnel_id, uint16_t session_id, uint16_t ns, uint16_t nr, ByteView avps);

// Encodes a data message header followed by `payload`. `with_sequence` adds Ns/Nr (§5.4: when the peer asked for
// sequencing); `with_length` adds the Length field.
Bytes encode_data(uint16_t tunnel_id, uint16_t session_id, ByteView payload, bool with_length = false,
                  bool with_sequence = false, uint16_t ns = 0, uint16_t nr = 0);

}  // namespace l2tpvpn::l2tp
