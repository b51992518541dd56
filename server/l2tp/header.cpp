#include "server/l2tp/header.hpp"

namespace l2tpvpn::l2tp {
namespace {
constexpr uint16_t kT = 0x8000, kL = 0x4000, kS = 0x0800, kO = 0x0200, kP = 0x0100, kVerMask = 0x000f;
}

std::string_view to_string(HeaderError e) {
  switch (e) {
    case HeaderError::kTruncated: return "truncated";
    case HeaderError::kBadVersion: return "bad_version";
    case HeaderError::kBadLength: return "bad_length";
    case HeaderError::kControlFlags: return "control_flags";
    case HeaderError::kOffsetPastEnd: return "offset_past_end";
  }
  return "unknown";
}

Result<Packet, HeaderError> decode_packet(ByteView datagram) {
  ByteReader r(datagram);
  auto flags = r.u16();
  if (!flags) return unexpected(HeaderError::kTruncated);
  Header h;
  h.control = *flags & kT;
  h.length_present = *flags & kL;
  h.sequence_present = *flags & kS;
  h.offset_present = *flags & kO;
  h.priority = *flags & kP;
  if ((*flags & kVerMask) != kVersion2) return unexpected(HeaderError::kBadVersion);
  // RFC 2661 §3.1: control messages MUST have L and S set and O, P clear.
  if (h.control && (!h.length_present || !h.sequence_present || h.offset_present || h.priority))
    return unexpected(HeaderError::kControlFlags);
  if (h.length_present) {
    auto len = r.u16();
    if (!len) return unexpected(HeaderError::kTruncated);
    h.length = *len;
  }
  auto tid = r.u16();
  auto sid = r.u16();
  if (!tid || !sid) return unexpected(HeaderError::kTruncated);
  h.tunnel_id = *tid;
  h.session_id = *sid;
  if (h.sequence_present) {
    auto ns = r.u16();
    auto nr = r.u16();
    if (!ns || !nr) return unexpected(HeaderError::kTruncated);
    h.ns = *ns;
    h.nr = *nr;
  }
  if (h.offset_present) {
    auto off = r.u16();
    if (!off) return unexpected(HeaderError::kTruncated);
    h.offset_size = *off;
  }
  size_t end = datagram.size();
  if (h.length_present) {
    if (h.length < r.position() || h.length > datagram.size()) return unexpected(HeaderError::kBadLength);
    end = h.length;
  }
  size_t start = r.position();
  if (h.offset_present) {
    if (start + h.offset_size > end) return unexpected(HeaderError::kOffsetPastEnd);
    start += h.offset_size;
  }
  return Packet{h, datagram.subspan(start, end - start)};
}

Bytes encode_control(uint16_t tunnel_id, uint16_t session_id, uint16_t ns, uint16_t nr, ByteView avps) {
  Bytes out;
  out.reserve(kControlHeaderSize + avps.size());
  ByteWriter w(out);
  w.u16(kT | kL | kS | kVersion2);
  w.u16(static_cast<uint16_t>(kControlHeaderSize + avps.size()));
  w.u16(tunnel_id);
  w.u16(session_id);
  w.u16(ns);
  w.u16(nr);
  w.bytes(avps);
  return out;
}

Bytes encode_data(uint16_t tunnel_id, uint16_t session_id, ByteView payload, bool with_length, bool with_sequence,
                  uint16_t ns, uint16_t nr) {
  Bytes out;
  ByteWriter w(out);
  uint16_t flags = kVersion2;
  if (with_length) flags |= kL;
  if (with_sequence) flags |= kS;
  w.u16(flags);
  size_t len_at = out.size();
  if (with_length) w.u16(0);
  w.u16(tunnel_id);
  w.u16(session_id);
  if (with_sequence) {
    w.u16(ns);
    w.u16(nr);
  }
  w.bytes(payload);
  if (with_length) w.patch_u16(len_at, static_cast<uint16_t>(out.size()));
  return out;
}

}  // namespace l2tpvpn::l2tp
