#include "ipsec/vici_packet.hpp"

#include <algorithm>

namespace l2tpvpn::vici {

const char* to_string(PacketType t) {
  switch (t) {
    case PacketType::kCmdRequest: return "CMD_REQUEST";
    case PacketType::kCmdResponse: return "CMD_RESPONSE";
    case PacketType::kCmdUnknown: return "CMD_UNKNOWN";
    case PacketType::kEventRegister: return "EVENT_REGISTER";
    case PacketType::kEventUnregister: return "EVENT_UNREGISTER";
    case PacketType::kEventConfirm: return "EVENT_CONFIRM";
    case PacketType::kEventUnknown: return "EVENT_UNKNOWN";
    case PacketType::kEvent: return "EVENT";
  }
  return "UNKNOWN";
}

bool is_named(PacketType t) {
  return t == PacketType::kCmdRequest || t == PacketType::kEventRegister || t == PacketType::kEventUnregister ||
         t == PacketType::kEvent;
}

bool has_message(PacketType t) {
  return t == PacketType::kCmdRequest || t == PacketType::kCmdResponse || t == PacketType::kEvent;
}

const char* to_string(PacketError e) {
  switch (e) {
    case PacketError::kEmpty: return "empty packet";
    case PacketError::kUnknownType: return "unknown packet type";
    case PacketError::kTruncatedName: return "truncated packet name";
    case PacketError::kTrailingBytes: return "trailing bytes after packet";
    case PacketError::kBadMessage: return "bad message";
    case PacketError::kNameTooLong: return "packet name longer than 255 bytes";
    case PacketError::kUnexpectedName: return "name on an unnamed packet type";
    case PacketError::kTooLarge: return "packet larger than the 512 KiB frame limit";
  }
  return "unknown packet error";
}

std::string to_string(const PacketDecodeError& e) {
  std::string s = to_string(e.error);
  if (e.error == PacketError::kBadMessage) s += std::string(": ") + to_string(e.message_error);
  return s;
}

const char* to_string(FrameError e) {
  switch (e) {
    case FrameError::kTooLarge: return "frame larger than 512 KiB";
    case FrameError::kEmpty: return "empty frame";
  }
  return "unknown frame error";
}

Result<Packet, PacketDecodeError> decode_packet(ByteView payload) {
  ByteReader r(payload);
  auto type_byte = r.u8();
  if (!type_byte) return unexpected(PacketDecodeError{PacketError::kEmpty});
  if (*type_byte > static_cast<uint8_t>(PacketType::kEvent))
    return unexpected(PacketDecodeError{PacketError::kUnknownType});
  Packet p;
  p.type = static_cast<PacketType>(*type_byte);
  if (is_named(p.type)) {
    auto len = r.u8();
    if (!len) return unexpected(PacketDecodeError{PacketError::kTruncatedName});
    auto name = r.take(*len);
    if (!name) return unexpected(PacketDecodeError{PacketError::kTruncatedName});
    p.name.assign(name->begin(), name->end());
  }
  if (has_message(p.type)) {
    auto msg = decode_message(r.rest());
    if (!msg) return unexpected(PacketDecodeError{PacketError::kBadMessage, msg.error()});
    p.message = std::move(*msg);
  } else if (!r.empty()) {
    return unexpected(PacketDecodeError{PacketError::kTrailingBytes});
  }
  return p;
}

Result<Bytes, PacketDecodeError> encode_frame(const Packet& packet) {
  Bytes out;
  ByteWriter w(out);
  w.u32(0);  // patched below
  w.u8(static_cast<uint8_t>(packet.type));
  if (is_named(packet.type)) {
    if (packet.name.size() > kMaxNameLength) return unexpected(PacketDecodeError{PacketError::kNameTooLong});
    w.u8(static_cast<uint8_t>(packet.name.size()));
    w.str(packet.name);
  } else if (!packet.name.empty()) {
    return unexpected(PacketDecodeError{PacketError::kUnexpectedName});
  }
  if (has_message(packet.type)) {
    auto st = encode_message(packet.message, out);
    if (!st) return unexpected(PacketDecodeError{PacketError::kBadMessage, st.error()});
  }
  const size_t payload = out.size() - kFrameHeaderSize;
  if (payload > kMaxFrameSize) return unexpected(PacketDecodeError{PacketError::kTooLarge});
  out[0] = static_cast<uint8_t>(payload >> 24);
  out[1] = static_cast<uint8_t>(payload >> 16);
  out[2] = static_cast<uint8_t>(payload >> 8);
  out[3] = static_cast<uint8_t>(payload);
  return out;
}

Status<FrameError> FrameReader::feed(ByteView data) {
  if (error_) return unexpected(*error_);
  size_t pos = 0;
  while (pos < data.size()) {
    if (!body_) {
      const size_t n = std::min(kFrameHeaderSize - header_have_, data.size() - pos);
      std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(pos), n, header_ + header_have_);
      header_have_ += n;
      pos += n;
      if (header_have_ < kFrameHeaderSize) break;
      const uint32_t len = (uint32_t{header_[0]} << 24) | (uint32_t{header_[1]} << 16) | (uint32_t{header_[2]} << 8) |
                           uint32_t{header_[3]};
      // The cap is checked here, before anything is reserved for the body.
      if (len > kMaxFrameSize) {
        error_ = FrameError::kTooLarge;
        return unexpected(*error_);
      }
      if (len == 0) {
        error_ = FrameError::kEmpty;
        return unexpected(*error_);
      }
      header_have_ = 0;
      body_want_ = len;
      body_.emplace();
      body_->reserve(len);
      continue;
    }
    const size_t n = std::min(body_want_ - body_->size(), data.size() - pos);
    body_->insert(body_->end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
                  data.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
    if (body_->size() == body_want_) {
      ready_.push_back(std::move(*body_));
      body_.reset();
      body_want_ = 0;
    }
  }
  return {};
}

std::optional<Bytes> FrameReader::pop() {
  if (ready_.empty()) return std::nullopt;
  Bytes b = std::move(ready_.front());
  ready_.pop_front();
  return b;
}

void FrameReader::reset() {
  *this = FrameReader{};
}

}  // namespace l2tpvpn::vici
