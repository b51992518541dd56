// VICI transport framing and packet layer (strongSwan vici/README.md, "Transport protocol", "Packet layer").
//
//   frame  = u32 length (network order, excludes itself) | payload       length <= kMaxFrameSize (512 KiB)
//   packet = u8 type | [u8 name length | name]   (named types only)   | [message]  (types that carry one)
//
// FrameReader reassembles frames from a byte stream. It checks a frame's declared length against the cap as
// soon as the 4 length bytes are in, before reserving anything, so a peer cannot make us allocate more than
// kMaxFrameSize per frame. After an error the reader stays failed: the stream has lost sync and the connection
// must be dropped.
//
// Thread-safety: value types, pure functions; a FrameReader is used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "ipsec/vici_message.hpp"

namespace l2tpvpn::vici {

inline constexpr size_t kMaxFrameSize = 512 * 1024;  // charon's limit on a segment's data
inline constexpr size_t kFrameHeaderSize = 4;

enum class PacketType : uint8_t {
  kCmdRequest = 0,       // named, message
  kCmdResponse = 1,      // message
  kCmdUnknown = 2,       // nothing
  kEventRegister = 3,    // named
  kEventUnregister = 4,  // named
  kEventConfirm = 5,     // nothing
  kEventUnknown = 6,     // nothing
  kEvent = 7,            // named, message
};
const char* to_string(PacketType t);
bool is_named(PacketType t);
bool has_message(PacketType t);

struct Packet {
  PacketType type = PacketType::kCmdRequest;
  std::string name;  // empty for unnamed types
  Message message;   // empty for types without one
  bool operator==(const Packet&) const = default;
};

enum class PacketError : uint8_t {
  kEmpty,           // zero-length payload: no type byte
  kUnknownType,     // type byte > 7
  kTruncatedName,   // name length runs past the payload
  kTrailingBytes,   // bytes after a packet type that carries no message
  kBadMessage,      // the message part does not decode (see message_error)
  kNameTooLong,     // encoding: name over 255 bytes
  kUnexpectedName,  // encoding: a name on an unnamed type
  kTooLarge,        // encoding: the frame would exceed kMaxFrameSize
};
struct PacketDecodeError {
  PacketError error = PacketError::kEmpty;
  MessageError message_error = MessageError::kTruncated;  // meaningful for kBadMessage only
};
const char* to_string(PacketError e);
std::string to_string(const PacketDecodeError& e);

// Decodes one frame payload (without the 4 length bytes).
Result<Packet, PacketDecodeError> decode_packet(ByteView payload);

// Encodes a whole frame: length header + packet. Errors: kNameTooLong, kUnexpectedName, kTooLarge, kBadMessage
// (message element too long).
Result<Bytes, PacketDecodeError> encode_frame(const Packet& packet);

enum class FrameError : uint8_t {
  kTooLarge,  // declared length > kMaxFrameSize
  kEmpty,     // declared length 0
};
const char* to_string(FrameError e);

class FrameReader {
 public:
  // Consumes all of `data`. Completed payloads are queued for pop(). Errors are sticky.
  Status<FrameError> feed(ByteView data);
  // The next complete frame payload, oldest first.
  std::optional<Bytes> pop();
  // True while a frame has been started but not completed (a close now is a close mid-frame).
  bool mid_frame() const { return header_have_ > 0 || body_.has_value(); }
  bool failed() const { return error_.has_value(); }
  void reset();

 private:
  uint8_t header_[kFrameHeaderSize] = {};
  size_t header_have_ = 0;
  std::optional<Bytes> body_;  // set once the header is complete and accepted
  size_t body_want_ = 0;
  std::deque<Bytes> ready_;
  std::optional<FrameError> error_;
};

}  // namespace l2tpvpn::vici
