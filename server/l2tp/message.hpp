// L2TPv2 control message codec (RFC 2661 §4, §6; RFC 3145 AVP 46), sans-IO.
//
// A Message is the decoded AVP list of one control message: one typed field per AVP the RFCs define, so the FSMs
// never deal with raw bytes. Unknown AVPs without the M bit (and vendor AVPs we don't know) are kept in
// `ignored` for logging; an unknown AVP *with* the M bit is a decode error that tells the caller to tear down the
// session or tunnel (§4.1). Hidden AVPs (§4.3) are revealed during decode when a secret is given.
//
// Thread-safety: pure functions over value types.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace l2tpvpn::l2tp {

// RFC 2661 §3.2 control message types.
enum class MessageType : uint16_t {
  kSccrq = 1,
  kSccrp = 2,
  kScccn = 3,
  kStopccn = 4,
  kHello = 6,
  kOcrq = 7,
  kOcrp = 8,
  kOccn = 9,
  kIcrq = 10,
  kIcrp = 11,
  kIccn = 12,
  kCdn = 14,
  kWen = 15,
  kSli = 16,
};
std::string_view to_string(MessageType t);
bool is_session_message(MessageType t);  // ICxx, OCxx, CDN, WEN, SLI

// RFC 2661 §4.4 attribute types (vendor 0), plus RFC 3145's PPP Disconnect Cause Code.
enum class AvpType : uint16_t {
  kMessageType = 0,
  kResultCode = 1,
  kProtocolVersion = 2,
  kFramingCapabilities = 3,
  kBearerCapabilities = 4,
  kTieBreaker = 5,
  kFirmwareRevision = 6,
  kHostName = 7,
  kVendorName = 8,
  kAssignedTunnelId = 9,
  kReceiveWindowSize = 10,
  kChallenge = 11,
  kQ931CauseCode = 12,
  kChallengeResponse = 13,
  kAssignedSessionId = 14,
  kCallSerialNumber = 15,
  kMinimumBps = 16,
  kMaximumBps = 17,
  kBearerType = 18,
  kFramingType = 19,
  kCalledNumber = 21,
  kCallingNumber = 22,
  kSubAddress = 23,
  kTxConnectSpeed = 24,
  kPhysicalChannelId = 25,
  kInitialReceivedLcpConfreq = 26,
  kLastSentLcpConfreq = 27,
  kLastReceivedLcpConfreq = 28,
  kProxyAuthenType = 29,
  kProxyAuthenName = 30,
  kProxyAuthenChallenge = 31,
  kProxyAuthenId = 32,
  kProxyAuthenResponse = 33,
  kCallErrors = 34,
  kAccm = 35,
  kRandomVector = 36,
  kPrivateGroupId = 37,
  kRxConnectSpeed = 38,
  kSequencingRequired = 39,
  kPppDisconnectCause = 46,  // RFC 3145
};
std::string_view to_string(AvpType t);

// §4.4.2 Result Code values.
namespace result {
// StopCCN
inline constexpr uint16_t kStopGeneralRequest = 1;
inline constexpr uint16_t kStopGeneralError = 2;
inline constexpr uint16_t kStopChannelExists = 3;
inline constexpr uint16_t kStopNotAuthorized = 4;
inline constexpr uint16_t kStopBadProtocolVersion = 5;
inline constexpr uint16_t kStopShuttingDown = 6;
inline constexpr uint16_t kStopFsmError = 7;
// CDN
inline constexpr uint16_t kCdnLostCarrier = 1;
inline constexpr uint16_t kCdnGeneralError = 2;
inline constexpr uint16_t kCdnAdministrative = 3;
inline constexpr uint16_t kCdnTemporaryResources = 4;
inline constexpr uint16_t kCdnPermanentResources = 5;
inline constexpr uint16_t kCdnInvalidDestination = 6;
inline constexpr uint16_t kCdnNoCarrier = 7;
inline constexpr uint16_t kCdnBusy = 8;
inline constexpr uint16_t kCdnNoDialTone = 9;
inline constexpr uint16_t kCdnTimeout = 10;
inline constexpr uint16_t kCdnNoFraming = 11;
}  // namespace result

// §4.4.2 General Error Codes.
namespace error {
inline constexpr uint16_t kNoError = 0;
inline constexpr uint16_t kNoControlConnection = 1;
inline constexpr uint16_t kBadLength = 2;
inline constexpr uint16_t kBadValue = 3;
inline constexpr uint16_t kInsufficientResources = 4;
inline constexpr uint16_t kInvalidSessionId = 5;
inline constexpr uint16_t kVendorSpecific = 6;
inline constexpr uint16_t kTryAnother = 7;
inline constexpr uint16_t kUnknownMandatoryAvp = 8;
}  // namespace error

struct ResultCode {
  uint16_t result = 0;
  std::optional<uint16_t> error;
  std::string message;
  bool operator==(const ResultCode&) const = default;
};
struct Q931Cause {  // §4.4.5
  uint16_t cause = 0;
  uint8_t message = 0;
  std::string advisory;
  bool operator==(const Q931Cause&) const = default;
};
struct PppDisconnectCause {  // RFC 3145 §3.1
  uint16_t code = 0;
  uint16_t protocol = 0;
  uint8_t direction = 0;  // 0 global, 1 at peer, 2 at local
  std::string message;
  bool operator==(const PppDisconnectCause&) const = default;
};
struct CallErrors {  // §4.4.6
  uint32_t crc = 0, framing = 0, hardware_overruns = 0, buffer_overruns = 0, timeout = 0, alignment = 0;
  bool operator==(const CallErrors&) const = default;
};
struct Accm {  // §4.4.6
  uint32_t send = 0, receive = 0;
  bool operator==(const Accm&) const = default;
};
struct RawAvp {
  bool mandatory = false;
  uint16_t vendor = 0;
  uint16_t type = 0;
  Bytes value;
  bool operator==(const RawAvp&) const = default;
};

// Framing / bearer bits (§4.4.3).
inline constexpr uint32_t kFramingSync = 0x1, kFramingAsync = 0x2;
inline constexpr uint32_t kBearerDigital = 0x1, kBearerAnalog = 0x2;

struct Message {
  MessageType type = MessageType::kHello;
  std::optional<ResultCode> result_code;
  std::optional<uint16_t> protocol_version;  // (version << 8) | revision; 0x0100 for RFC 2661
  std::optional<uint32_t> framing_capabilities;
  std::optional<uint32_t> bearer_capabilities;
  std::optional<uint64_t> tie_breaker;
  std::optional<uint16_t> firmware_revision;
  std::optional<std::string> host_name;
  std::optional<std::string> vendor_name;
  std::optional<uint16_t> assigned_tunnel_id;
  std::optional<uint16_t> receive_window_size;
  std::optional<Bytes> challenge;
  std::optional<Q931Cause> q931_cause;
  std::optional<Bytes> challenge_response;
  std::optional<uint16_t> assigned_session_id;
  std::optional<uint32_t> call_serial_number;
  std::optional<uint32_t> minimum_bps;
  std::optional<uint32_t> maximum_bps;
  std::optional<uint32_t> bearer_type;
  std::optional<uint32_t> framing_type;
  std::optional<std::string> called_number;
  std::optional<std::string> calling_number;
  std::optional<std::string> sub_address;
  std::optional<uint32_t> tx_connect_speed;
  std::optional<uint32_t> physical_channel_id;
  std::optional<Bytes> initial_received_lcp_confreq;
  std::optional<Bytes> last_sent_lcp_confreq;
  std::optional<Bytes> last_received_lcp_confreq;
  std::optional<uint16_t> proxy_authen_type;
  std::optional<std::string> proxy_authen_name;
  std::optional<Bytes> proxy_authen_challenge;
  std::optional<uint16_t> proxy_authen_id;
  std::optional<Bytes> proxy_authen_response;
  std::optional<CallErrors> call_errors;
  std::optional<Accm> accm;
  std::optional<Bytes> private_group_id;
  std::optional<uint32_t> rx_connect_speed;
  bool sequencing_required = false;
  std::optional<PppDisconnectCause> ppp_disconnect_cause;
  std::vector<RawAvp> ignored;  // unknown AVPs without the M bit; never encoded

  bool operator==(const Message&) const = default;
};

enum class DecodeErrorKind {
  kEmpty,                 // no AVP at all (a ZLB is not a message; the control channel handles those)
  kTruncatedAvp,          // fewer bytes than an AVP header or its Length announce
  kBadAvpLength,          // Length < 6
  kReservedBitsSet,       // §4.1: the 4 reserved bits MUST be 0
  kFirstNotMessageType,   // §4.1: Message Type MUST be the first AVP
  kUnknownMessageType,    // Message Type value we don't know (M bit set: tear down the tunnel, §4.4.1)
  kBadAvpValue,           // value of the wrong size or out of range for its type
  kHiddenWithoutRandomVector,  // §4.3: H set but no Random Vector AVP preceded it
  kHiddenWithoutSecret,   // H set and we have no shared secret
  kBadHiddenLength,       // the revealed Original Length does not fit
  kDuplicateAvp,          // the same AVP twice in one message
  kMissingAvp,            // an AVP the message spec requires is absent (§6)
  kUnknownMandatoryAvp,   // unknown AVP with the M bit (§4.1: tear down session or tunnel)
};
std::string_view to_string(DecodeErrorKind k);

struct DecodeError {
  DecodeErrorKind kind;
  std::optional<MessageType> message_type;  // when known: decides session vs. tunnel scope
  uint16_t vendor = 0;
  uint16_t avp_type = 0;
  bool mandatory_message_type = true;  // the M bit of the Message Type AVP (unknown type without M: ignore)
  // The (result, error) pair to tell the peer, per RFC 2661 §4.4.2.
  uint16_t error_code() const;
};

struct DecodeOptions {
  ByteView secret;  // the tunnel secret; empty = hidden AVPs cannot be revealed
};

// Decodes the AVPs of a control message (the header's payload). Errors: DecodeError; never over-reads.
Result<Message, DecodeError> decode_message(ByteView avps, const DecodeOptions& options = {});

struct EncodeOptions {
  ByteView secret;                 // needed when `hide` is not empty
  Bytes random_vector;             // §4.3: placed before the first hidden AVP; caller supplies randomness
  std::set<AvpType> hide;          // AVPs to send hidden; Message Type and Random Vector never are
};

// Encodes a message: Message Type first, then every present field in attribute-type order. Does not validate
// against the message spec (tests need to build invalid messages); use validate() for that.
Bytes encode_message(const Message& m, const EncodeOptions& options = {});

// Checks `m` against the per-message AVP spec of RFC 2661 §6 (required AVPs present).
std::optional<DecodeError> validate(const Message& m);

// §4.2 / §5.1.1 tunnel authentication: MD5(ID || secret || challenge) with ID = the Message Type of the
// message carrying the response (2 for SCCRP, 3 for SCCCN).
Bytes challenge_response(MessageType carrier, ByteView secret, ByteView challenge);

}  // namespace l2tpvpn::l2tp
