#include "server/l2tp/message.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <variant>

namespace l2tpvpn::l2tp {
namespace {

constexpr uint16_t kMBit = 0x8000, kHBit = 0x4000, kReservedBits = 0x3c00, kLengthMask = 0x03ff;
constexpr size_t kAvpHeaderSize = 6;
constexpr size_t kMaxAvpLength = kLengthMask;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Where a decoded AVP lands in Message. One alternative per value shape.
using Field = std::variant<std::optional<uint16_t> Message::*, std::optional<uint32_t> Message::*,
                           std::optional<uint64_t> Message::*, std::optional<std::string> Message::*,
                           std::optional<Bytes> Message::*, bool Message::*, std::optional<ResultCode> Message::*,
                           std::optional<Q931Cause> Message::*, std::optional<PppDisconnectCause> Message::*,
                           std::optional<CallErrors> Message::*, std::optional<Accm> Message::*>;

struct AvpSpec {
  AvpType type;
  std::string_view name;
  bool mandatory;  // M bit we send (§4.4: as each AVP's definition says)
  Field field;
};

// RFC 2661 §4.4, in attribute order (also the order we encode in). Message Type is handled apart.
const std::array kAvpSpecs = {
    AvpSpec{AvpType::kResultCode, "Result Code", true, &Message::result_code},
    AvpSpec{AvpType::kProtocolVersion, "Protocol Version", true, &Message::protocol_version},
    AvpSpec{AvpType::kFramingCapabilities, "Framing Capabilities", true, &Message::framing_capabilities},
    AvpSpec{AvpType::kBearerCapabilities, "Bearer Capabilities", true, &Message::bearer_capabilities},
    AvpSpec{AvpType::kTieBreaker, "Tie Breaker", false, &Message::tie_breaker},
    AvpSpec{AvpType::kFirmwareRevision, "Firmware Revision", false, &Message::firmware_revision},
    AvpSpec{AvpType::kHostName, "Host Name", true, &Message::host_name},
    AvpSpec{AvpType::kVendorName, "Vendor Name", false, &Message::vendor_name},
    AvpSpec{AvpType::kAssignedTunnelId, "Assigned Tunnel ID", true, &Message::assigned_tunnel_id},
    AvpSpec{AvpType::kReceiveWindowSize, "Receive Window Size", true, &Message::receive_window_size},
    AvpSpec{AvpType::kChallenge, "Challenge", true, &Message::challenge},
    AvpSpec{AvpType::kQ931CauseCode, "Q.931 Cause Code", true, &Message::q931_cause},
    AvpSpec{AvpType::kChallengeResponse, "Challenge Response", true, &Message::challenge_response},
    AvpSpec{AvpType::kAssignedSessionId, "Assigned Session ID", true, &Message::assigned_session_id},
    AvpSpec{AvpType::kCallSerialNumber, "Call Serial Number", true, &Message::call_serial_number},
    AvpSpec{AvpType::kMinimumBps, "Minimum BPS", true, &Message::minimum_bps},
    AvpSpec{AvpType::kMaximumBps, "Maximum BPS", true, &Message::maximum_bps},
    AvpSpec{AvpType::kBearerType, "Bearer Type", true, &Message::bearer_type},
    AvpSpec{AvpType::kFramingType, "Framing Type", true, &Message::framing_type},
    AvpSpec{AvpType::kCalledNumber, "Called Number", true, &Message::called_number},
    AvpSpec{AvpType::kCallingNumber, "Calling Number", true, &Message::calling_number},
    AvpSpec{AvpType::kSubAddress, "Sub-Address", true, &Message::sub_address},
    AvpSpec{AvpType::kTxConnectSpeed, "Tx Connect Speed", true, &Message::tx_connect_speed},
    AvpSpec{AvpType::kPhysicalChannelId, "Physical Channel ID", false, &Message::physical_channel_id},
    AvpSpec{AvpType::kInitialReceivedLcpConfreq, "Initial Received LCP CONFREQ", false,
            &Message::initial_received_lcp_confreq},
    AvpSpec{AvpType::kLastSentLcpConfreq, "Last Sent LCP CONFREQ", false, &Message::last_sent_lcp_confreq},
    AvpSpec{AvpType::kLastReceivedLcpConfreq, "Last Received LCP CONFREQ", false,
            &Message::last_received_lcp_confreq},
    AvpSpec{AvpType::kProxyAuthenType, "Proxy Authen Type", false, &Message::proxy_authen_type},
    AvpSpec{AvpType::kProxyAuthenName, "Proxy Authen Name", false, &Message::proxy_authen_name},
    AvpSpec{AvpType::kProxyAuthenChallenge, "Proxy Authen Challenge", false, &Message::proxy_authen_challenge},
    AvpSpec{AvpType::kProxyAuthenId, "Proxy Authen ID", false, &Message::proxy_authen_id},
    AvpSpec{AvpType::kProxyAuthenResponse, "Proxy Authen Response", false, &Message::proxy_authen_response},
    AvpSpec{AvpType::kCallErrors, "Call Errors", true, &Message::call_errors},
    AvpSpec{AvpType::kAccm, "ACCM", true, &Message::accm},
    AvpSpec{AvpType::kPrivateGroupId, "Private Group ID", false, &Message::private_group_id},
    AvpSpec{AvpType::kRxConnectSpeed, "Rx Connect Speed", false, &Message::rx_connect_speed},
    AvpSpec{AvpType::kSequencingRequired, "Sequencing Required", true, &Message::sequencing_required},
    AvpSpec{AvpType::kPppDisconnectCause, "PPP Disconnect Cause Code", false, &Message::ppp_disconnect_cause},
};

const AvpSpec* find_spec(uint16_t type) {
  for (const auto& s : kAvpSpecs)
    if (static_cast<uint16_t>(s.type) == type) return &s;
  return nullptr;
}

// §6: the AVPs each message MUST carry (beyond Message Type). Others the RFC lists as MAY are accepted, and so
// is any other known AVP: peers in the field send extras (e.g. Bearer Type in ICCN), and ignoring a known,
// well-formed AVP harms nothing.
struct MessageSpec {
  MessageType type;
  std::vector<AvpType> required;
};
const std::vector<MessageSpec>& message_specs() {
  using A = AvpType;
  using M = MessageType;
  static const std::vector<MessageSpec> specs = {
      {M::kSccrq, {A::kProtocolVersion, A::kHostName, A::kFramingCapabilities, A::kAssignedTunnelId}},
      {M::kSccrp, {A::kProtocolVersion, A::kFramingCapabilities, A::kHostName, A::kAssignedTunnelId}},
      {M::kScccn, {}},
      {M::kStopccn, {A::kAssignedTunnelId, A::kResultCode}},
      {M::kHello, {}},
      {M::kOcrq,
       {A::kAssignedSessionId, A::kCallSerialNumber, A::kMinimumBps, A::kMaximumBps, A::kBearerType,
        A::kFramingType, A::kCalledNumber}},
      {M::kOcrp, {A::kAssignedSessionId}},
      {M::kOccn, {A::kTxConnectSpeed, A::kFramingType}},
      {M::kIcrq, {A::kAssignedSessionId, A::kCallSerialNumber}},
      {M::kIcrp, {A::kAssignedSessionId}},
      {M::kIccn, {A::kTxConnectSpeed, A::kFramingType}},
      {M::kCdn, {A::kResultCode, A::kAssignedSessionId}},
      {M::kWen, {A::kCallErrors}},
      {M::kSli, {A::kAccm}},
  };
  return specs;
}

bool known_message_type(uint16_t v) {
  return std::any_of(message_specs().begin(), message_specs().end(),
                     [v](const MessageSpec& s) { return static_cast<uint16_t>(s.type) == v; });
}

Bytes md5(std::initializer_list<ByteView> parts) {
  Bytes out(16);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  for (auto p : parts) EVP_DigestUpdate(ctx, p.data(), p.size());
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_MD_CTX_free(ctx);
  return out;
}

// §4.3: the hiding stream. b1 = MD5(Attribute Type || secret || RV), bi = MD5(secret || c(i-1)); c = p xor b.
// `in` is the plaintext subformat (encrypting) or the ciphertext (decrypting); the chain always feeds the
// ciphertext block.
Bytes hide_transform(uint16_t attr_type, ByteView secret, ByteView random_vector, ByteView in, bool encrypt) {
  Bytes out(in.size());
  const uint8_t type_bytes[2] = {static_cast<uint8_t>(attr_type >> 8), static_cast<uint8_t>(attr_type)};
  Bytes b = md5({ByteView(type_bytes, 2), secret, random_vector});
  for (size_t off = 0; off < in.size(); off += 16) {
    size_t n = std::min<size_t>(16, in.size() - off);
    for (size_t i = 0; i < n; ++i) out[off + i] = in[off + i] ^ b[i];
    if (off + 16 < in.size()) {
      ByteView cblock = encrypt ? ByteView(out).subspan(off, 16) : in.subspan(off, 16);
      b = md5({secret, cblock});
    }
  }
  return out;
}

DecodeError make_error(DecodeErrorKind kind, std::optional<MessageType> mt, uint16_t vendor = 0,
                       uint16_t avp = 0) {
  return DecodeError{kind, mt, vendor, avp, true};
}

std::string to_str(ByteView v) { return std::string(v.begin(), v.end()); }

// Decodes one AVP value into its field. Returns false if the value's size or content is invalid.
bool decode_value(Message& m, const Field& field, ByteView v) {
  ByteReader r(v);
  return std::visit(
      Overloaded{
          [&](std::optional<uint16_t> Message::*f) {
            if (v.size() != 2) return false;
            m.*f = r.u16();
            return true;
          },
          [&](std::optional<uint32_t> Message::*f) {
            if (v.size() != 4) return false;
            m.*f = r.u32();
            return true;
          },
          [&](std::optional<uint64_t> Message::*f) {
            if (v.size() != 8) return false;
            m.*f = r.u64();
            return true;
          },
          [&](std::optional<std::string> Message::*f) {
            m.*f = to_str(v);
            return true;
          },
          [&](std::optional<Bytes> Message::*f) {
            m.*f = Bytes(v.begin(), v.end());
            return true;
          },
          [&](bool Message::*f) {
            if (!v.empty()) return false;
            m.*f = true;
            return true;
          },
          [&](std::optional<ResultCode> Message::*f) {
            // §4.4.2: result (2), optional error (2), optional message; a lone extra byte is malformed.
            if (v.size() < 2 || v.size() == 3) return false;
            ResultCode rc;
            rc.result = *r.u16();
            if (auto e = r.u16()) rc.error = *e;
            rc.message = to_str(r.rest());
            m.*f = std::move(rc);
            return true;
          },
          [&](std::optional<Q931Cause> Message::*f) {
            if (v.size() < 3) return false;
            Q931Cause c;
            c.cause = *r.u16();
            c.message = *r.u8();
            c.advisory = to_str(r.rest());
            m.*f = std::move(c);
            return true;
          },
          [&](std::optional<PppDisconnectCause> Message::*f) {
            if (v.size() < 5) return false;
            PppDisconnectCause c;
            c.code = *r.u16();
            c.protocol = *r.u16();
            c.direction = *r.u8();
            c.message = to_str(r.rest());
            m.*f = std::move(c);
            return true;
          },
          [&](std::optional<CallErrors> Message::*f) {
            if (v.size() != 26) return false;
            r.u16();  // reserved
            CallErrors c;
            c.crc = *r.u32();
            c.framing = *r.u32();
            c.hardware_overruns = *r.u32();
            c.buffer_overruns = *r.u32();
            c.timeout = *r.u32();
            c.alignment = *r.u32();
            m.*f = c;
            return true;
          },
          [&](std::optional<Accm> Message::*f) {
            if (v.size() != 10) return false;
            r.u16();  // reserved
            Accm a;
            a.send = *r.u32();
            a.receive = *r.u32();
            m.*f = a;
            return true;
          },
      },
      field);
}

bool field_present(const Message& m, const Field& field) {
  return std::visit(Overloaded{[&](bool Message::*f) { return m.*f; },
                               [&](auto f) { return (m.*f).has_value(); }},
                    field);
}

void encode_value(const Message& m, const Field& field, ByteWriter& w) {
  std::visit(Overloaded{
                 [&](std::optional<uint16_t> Message::*f) { w.u16(*(m.*f)); },
                 [&](std::optional<uint32_t> Message::*f) { w.u32(*(m.*f)); },
                 [&](std::optional<uint64_t> Message::*f) { w.u64(*(m.*f)); },
                 [&](std::optional<std::string> Message::*f) { w.str(*(m.*f)); },
                 [&](std::optional<Bytes> Message::*f) { w.bytes(*(m.*f)); },
                 [&](bool Message::*) {},
                 [&](std::optional<ResultCode> Message::*f) {
                   const auto& rc = *(m.*f);
                   w.u16(rc.result);
                   if (rc.error || !rc.message.empty()) w.u16(rc.error.value_or(0));
                   w.str(rc.message);
                 },
                 [&](std::optional<Q931Cause> Message::*f) {
                   const auto& c = *(m.*f);
                   w.u16(c.cause);
                   w.u8(c.message);
                   w.str(c.advisory);
                 },
                 [&](std::optional<PppDisconnectCause> Message::*f) {
                   const auto& c = *(m.*f);
                   w.u16(c.code);
                   w.u16(c.protocol);
                   w.u8(c.direction);
                   w.str(c.message);
                 },
                 [&](std::optional<CallErrors> Message::*f) {
                   const auto& c = *(m.*f);
                   w.u16(0);
                   for (uint32_t x : {c.crc, c.framing, c.hardware_overruns, c.buffer_overruns, c.timeout,
                                      c.alignment})
                     w.u32(x);
                 },
                 [&](std::optional<Accm> Message::*f) {
                   const auto& a = *(m.*f);
                   w.u16(0);
                   w.u32(a.send);
                   w.u32(a.receive);
                 },
             },
             field);
}

void write_avp(ByteWriter& w, bool mandatory, bool hidden, uint16_t type, ByteView value) {
  // Values longer than the 10-bit Length allows are truncated by the caller's contract; a host name or
  // challenge that long is a configuration error caught before we get here.
  size_t len = std::min(kAvpHeaderSize + value.size(), kMaxAvpLength);
  uint16_t flags = static_cast<uint16_t>(len) | (mandatory ? kMBit : 0) | (hidden ? kHBit : 0);
  w.u16(flags);
  w.u16(0);  // IETF vendor
  w.u16(type);
  w.bytes(value.subspan(0, len - kAvpHeaderSize));
}

}  // namespace

std::string_view to_string(MessageType t) {
  switch (t) {
    case MessageType::kSccrq: return "SCCRQ";
    case MessageType::kSccrp: return "SCCRP";
    case MessageType::kScccn: return "SCCCN";
    case MessageType::kStopccn: return "StopCCN";
    case MessageType::kHello: return "HELLO";
    case MessageType::kOcrq: return "OCRQ";
    case MessageType::kOcrp: return "OCRP";
    case MessageType::kOccn: return "OCCN";
    case MessageType::kIcrq: return "ICRQ";
    case MessageType::kIcrp: return "ICRP";
    case MessageType::kIccn: return "ICCN";
    case MessageType::kCdn: return "CDN";
    case MessageType::kWen: return "WEN";
    case MessageType::kSli: return "SLI";
  }
  return "?";
}

bool is_session_message(MessageType t) {
  switch (t) {
    case MessageType::kOcrq:
    case MessageType::kOcrp:
    case MessageType::kOccn:
    case MessageType::kIcrq:
    case MessageType::kIcrp:
    case MessageType::kIccn:
    case MessageType::kCdn:
    case MessageType::kWen:
    case MessageType::kSli: return true;
    default: return false;
  }
}

std::string_view to_string(AvpType t) {
  if (t == AvpType::kMessageType) return "Message Type";
  if (t == AvpType::kRandomVector) return "Random Vector";
  if (const AvpSpec* s = find_spec(static_cast<uint16_t>(t))) return s->name;
  return "?";
}

std::string_view to_string(DecodeErrorKind k) {
  switch (k) {
    case DecodeErrorKind::kEmpty: return "empty";
    case DecodeErrorKind::kTruncatedAvp: return "truncated_avp";
    case DecodeErrorKind::kBadAvpLength: return "bad_avp_length";
    case DecodeErrorKind::kReservedBitsSet: return "reserved_bits_set";
    case DecodeErrorKind::kFirstNotMessageType: return "first_not_message_type";
    case DecodeErrorKind::kUnknownMessageType: return "unknown_message_type";
    case DecodeErrorKind::kBadAvpValue: return "bad_avp_value";
    case DecodeErrorKind::kHiddenWithoutRandomVector: return "hidden_without_random_vector";
    case DecodeErrorKind::kHiddenWithoutSecret: return "hidden_without_secret";
    case DecodeErrorKind::kBadHiddenLength: return "bad_hidden_length";
    case DecodeErrorKind::kDuplicateAvp: return "duplicate_avp";
    case DecodeErrorKind::kMissingAvp: return "missing_avp";
    case DecodeErrorKind::kUnknownMandatoryAvp: return "unknown_mandatory_avp";
  }
  return "?";
}

uint16_t DecodeError::error_code() const {
  switch (kind) {
    case DecodeErrorKind::kTruncatedAvp:
    case DecodeErrorKind::kBadAvpLength:
    case DecodeErrorKind::kBadHiddenLength: return error::kBadLength;
    case DecodeErrorKind::kUnknownMandatoryAvp: return error::kUnknownMandatoryAvp;
    default: return error::kBadValue;
  }
}

Result<Message, DecodeError> decode_message(ByteView avps, const DecodeOptions& options) {
  if (avps.empty()) return unexpected(make_error(DecodeErrorKind::kEmpty, std::nullopt));
  ByteReader r(avps);
  Message m;
  std::optional<MessageType> mt;
  Bytes random_vector;
  bool have_rv = false;
  std::set<uint16_t> seen;
  bool first = true;
  while (!r.empty()) {
    auto flags = r.u16();
    auto vendor = r.u16();
    auto type = r.u16();
    if (!flags || !vendor || !type) return unexpected(make_error(DecodeErrorKind::kTruncatedAvp, mt));
    size_t len = *flags & kLengthMask;
    bool mandatory = *flags & kMBit;
    bool hidden = *flags & kHBit;
    if (len < kAvpHeaderSize) return unexpected(make_error(DecodeErrorKind::kBadAvpLength, mt, *vendor, *type));
    auto raw = r.take(len - kAvpHeaderSize);
    if (!raw) return unexpected(make_error(DecodeErrorKind::kTruncatedAvp, mt, *vendor, *type));
    if (*flags & kReservedBits)
      return unexpected(make_error(DecodeErrorKind::kReservedBitsSet, mt, *vendor, *type));

    // §4.1: the Message Type AVP comes first and is never hidden.
    if (first) {
      first = false;
      if (*vendor != 0 || *type != static_cast<uint16_t>(AvpType::kMessageType) || hidden)
        return unexpected(make_error(DecodeErrorKind::kFirstNotMessageType, mt, *vendor, *type));
      if (raw->size() != 2) return unexpected(make_error(DecodeErrorKind::kBadAvpValue, mt, 0, *type));
      uint16_t v = static_cast<uint16_t>((*raw)[0] << 8 | (*raw)[1]);
      if (!known_message_type(v)) {
        auto e = make_error(DecodeErrorKind::kUnknownMessageType, mt, 0, v);
        e.mandatory_message_type = mandatory;
        return unexpected(e);
      }
      mt = static_cast<MessageType>(v);
      m.type = *mt;
      continue;
    }

    Bytes revealed;
    ByteView value = *raw;
    if (hidden) {
      if (!have_rv)
        return unexpected(make_error(DecodeErrorKind::kHiddenWithoutRandomVector, mt, *vendor, *type));
      if (options.secret.empty())
        return unexpected(make_error(DecodeErrorKind::kHiddenWithoutSecret, mt, *vendor, *type));
      revealed = hide_transform(*type, options.secret, random_vector, *raw, false);
      // Hidden AVP Subformat: Original Length (2) | value | padding.
      if (revealed.size() < 2)
        return unexpected(make_error(DecodeErrorKind::kBadHiddenLength, mt, *vendor, *type));
      size_t orig = static_cast<size_t>(revealed[0] << 8 | revealed[1]);
      if (orig > revealed.size() - 2)
        return unexpected(make_error(DecodeErrorKind::kBadHiddenLength, mt, *vendor, *type));
      value = ByteView(revealed).subspan(2, orig);
    }

    if (*vendor == 0 && *type == static_cast<uint16_t>(AvpType::kRandomVector)) {
      // §4.3: a Random Vector applies to the hidden AVPs after it; a later one replaces it.
      random_vector.assign(value.begin(), value.end());
      have_rv = true;
      continue;
    }
    const AvpSpec* spec = *vendor == 0 ? find_spec(*type) : nullptr;
    if (!spec) {
      if (mandatory) return unexpected(make_error(DecodeErrorKind::kUnknownMandatoryAvp, mt, *vendor, *type));
      m.ignored.push_back(RawAvp{mandatory, *vendor, *type, Bytes(value.begin(), value.end())});
      continue;
    }
    if (!seen.insert(*type).second)
      return unexpected(make_error(DecodeErrorKind::kDuplicateAvp, mt, *vendor, *type));
    if (!decode_value(m, spec->field, value))
      return unexpected(make_error(DecodeErrorKind::kBadAvpValue, mt, *vendor, *type));
  }
  if (auto err = validate(m)) return unexpected(*err);
  return m;
}

std::optional<DecodeError> validate(const Message& m) {
  for (const auto& ms : message_specs()) {
    if (ms.type != m.type) continue;
    for (AvpType req : ms.required) {
      const AvpSpec* spec = find_spec(static_cast<uint16_t>(req));
      if (!spec || !field_present(m, spec->field))
        return make_error(DecodeErrorKind::kMissingAvp, m.type, 0, static_cast<uint16_t>(req));
    }
    return std::nullopt;
  }
  return make_error(DecodeErrorKind::kUnknownMessageType, std::nullopt, 0, static_cast<uint16_t>(m.type));
}

Bytes encode_message(const Message& m, const EncodeOptions& options) {
  Bytes out;
  ByteWriter w(out);
  Bytes mt;
  ByteWriter(mt).u16(static_cast<uint16_t>(m.type));
  write_avp(w, true, false, static_cast<uint16_t>(AvpType::kMessageType), mt);
  bool rv_written = false;
  for (const auto& spec : kAvpSpecs) {
    if (!field_present(m, spec.field)) continue;
    Bytes value;
    ByteWriter vw(value);
    encode_value(m, spec.field, vw);
    bool hide = options.hide.count(spec.type) && !options.secret.empty();
    if (!hide) {
      write_avp(w, spec.mandatory, false, static_cast<uint16_t>(spec.type), value);
      continue;
    }
    if (!rv_written) {
      write_avp(w, true, false, static_cast<uint16_t>(AvpType::kRandomVector), options.random_vector);
      rv_written = true;
    }
    Bytes sub;
    ByteWriter sw(sub);
    sw.u16(static_cast<uint16_t>(value.size()));
    sw.bytes(value);
    write_avp(w, spec.mandatory, true, static_cast<uint16_t>(spec.type),
              hide_transform(static_cast<uint16_t>(spec.type), options.secret, options.random_vector, sub, true));
  }
  return out;
}

Bytes challenge_response(MessageType carrier, ByteView secret, ByteView challenge) {
  const uint8_t id = static_cast<uint8_t>(carrier);
  return md5({ByteView(&id, 1), secret, challenge});
}

}  // namespace l2tpvpn::l2tp
