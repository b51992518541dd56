// Values shared by the L2TP tunnel FSM, the endpoint and their driver: peer addresses, configuration and the
// actions the pure core returns (fizz's "return actions, don't do I/O").
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>

#include "common/bytes.hpp"
#include "server/l2tp/control_channel.hpp"
#include "server/l2tp/message.hpp"
#include "server/l2tp/time.hpp"

namespace l2tpvpn::l2tp {

// A UDP peer as the pure core sees it: no socket headers here. IPv4 addresses use the first 4 bytes.
//
// `mark` says which IPsec SA the datagram came through: charon gives every L2TP CHILD_SA a mark of its own and
// the kernel sets it on each packet that SA decrypts (SO_RCVMARK hands it to us); replies carry it back out
// (SO_MARK), which selects the same SA. Clients behind one NAT can share address *and* port (Windows always
// sends from 1701): the mark is then all that tells them apart. 0: no mark (IPsec off, or an unmarked SA).
//
// A field added here must be added to PeerAddressHash as well: the endpoint's hashed indexes key on every field
// through it and operator==.
struct PeerAddress {
  enum class Family : uint8_t { kV4, kV6 };
  Family family = Family::kV4;
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;
  uint32_t mark = 0;

  static PeerAddress v4(uint32_t host_order_ip, uint16_t port, uint32_t mark = 0);
  bool same_host(const PeerAddress& o) const { return family == o.family && ip == o.ip; }
  // The same client: its address and the SA it sends through. The port is not compared: a peer's L2TP port
  // does not identify it (a tunnel's datagrams come from the port its SCCRQ came from, which NAT may remap).
  bool same_client(const PeerAddress& o) const { return same_host(o) && mark == o.mark; }
  // The address alone (no port, no mark): the key of what is counted per host (limits: clients behind one NAT
  // share them).
  PeerAddress host() const {
    PeerAddress h = *this;
    h.port = 0;
    h.mark = 0;
    return h;
  }
  std::string to_string() const;  // endpoint_string(), and "#2" after it with a mark: "192.0.2.1:1701#2"
  // Address and port without the mark: "192.0.2.1:1701" / "[2001:db8::1]:1701" (what /status shows as `peer`;
  // the mark is a field of its own there).
  std::string endpoint_string() const;
  std::string host_string() const;
  auto operator<=>(const PeerAddress&) const = default;
};

// Hashes every field of a PeerAddress (FNV-1a over them), the key of the endpoint's hashed indexes.
struct PeerAddressHash {
  size_t operator()(const PeerAddress& p) const noexcept {
    uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&h](uint64_t byte) {
      h ^= byte;
      h *= 0x100000001b3ull;
    };
    mix(static_cast<uint8_t>(p.family));
    for (uint8_t b : p.ip) mix(b);
    mix(p.port >> 8);
    mix(p.port & 0xff);
    for (int shift = 24; shift >= 0; shift -= 8) mix((p.mark >> shift) & 0xff);
    return static_cast<size_t>(h);
  }
};

enum class Role : uint8_t { kLns, kLac };
enum class CallDirection : uint8_t { kIncoming, kOutgoing };  // ICRQ- or OCRQ-established (§5.2)

struct L2tpConfig {
  Role role = Role::kLns;
  std::string host_name = "l2tpvpn";
  std::string vendor_name = "l2tpvpn";
  uint16_t firmware_revision = 0x0100;
  std::string secret;             // tunnel secret (§5.1.1); empty: no challenge, no hidden AVPs
  bool require_authentication = true;  // with a secret: challenge every peer and require the response
  bool hide_avps = false;         // send the AVPs in `hidden_avps` hidden (§4.3); needs a secret
  std::set<AvpType> hidden_avps = {AvpType::kAssignedSessionId, AvpType::kCallSerialNumber,
                                   AvpType::kTxConnectSpeed,    AvpType::kFramingType,
                                   AvpType::kBearerType,        AvpType::kCallingNumber,
                                   AvpType::kCalledNumber,      AvpType::kResultCode};
  uint32_t framing_capabilities = kFramingSync | kFramingAsync;
  uint32_t bearer_capabilities = 0;
  bool sequencing_required = false;  // LAC: ask for data sequencing in ICCN/OCCN (§4.4.6)
  uint32_t connect_speed = 100000000;  // what a LAC reports in ICCN/OCCN
  ControlChannelConfig channel;
  Duration stop_hold{31000};  // §5.7: keep a closed tunnel's state for a full retransmission cycle
  // Limits. Tunnels count until they are dead, the closing ones held for stop_hold included; "per peer" is per
  // address (clients behind one NAT share it).
  size_t max_tunnels = 1024;
  size_t max_tunnels_per_peer = 16;
  size_t max_sessions_per_tunnel = 256;
  size_t max_control_bytes = 65536;  // unacknowledged control message bytes one tunnel may hold
  // Control messages accepted from one address per second (token bucket, bursts of twice that); 0: no limit.
  // Counted from the SCCRQ on, after admission; the excess is dropped unread ("control_rate_limit"), which the
  // peer sees as loss and retransmits.
  uint32_t max_control_rate = 200;
};

// Fills the span with random bytes. The daemon passes RAND_bytes; tests pass a seeded generator.
using RandomFn = std::function<void(std::span<uint8_t>)>;

// ---- actions returned to the driver ----
struct SendDatagram {  // send these bytes to `to` from the tunnel's socket
  PeerAddress to;
  uint16_t tunnel_id;  // local id (which tunnel's socket, in kernel mode)
  Bytes bytes;
};
struct TunnelUp {  // control connection established (§5.1)
  uint16_t tunnel_id;
  uint16_t peer_tunnel_id;
  PeerAddress peer;
  std::string peer_host_name;
  std::string peer_vendor_name;
};
struct TunnelDown {  // control connection ended: every session of it is already reported down
  uint16_t tunnel_id;
  ResultCode result;
  bool by_peer;
};
struct SessionUp {  // call established (§5.2): time to create the data path and start PPP
  uint16_t tunnel_id;
  uint16_t session_id;
  uint16_t peer_tunnel_id;
  uint16_t peer_session_id;
  CallDirection direction;
  PeerAddress peer;
  bool sequencing_required;  // the LAC asked for sequenced data (§4.4.6)
  uint32_t call_serial_number;
  std::string calling_number;
  std::string called_number;
};
struct SessionDown {
  uint16_t tunnel_id;
  uint16_t session_id;
  ResultCode result;
  std::optional<PppDisconnectCause> cause;
  std::optional<Q931Cause> q931;
  bool by_peer;
  bool was_established;  // false: the call never reached SessionUp
};
struct SessionData {  // a data message for a session (userspace data path only)
  uint16_t tunnel_id;
  uint16_t session_id;
  Bytes ppp;
};
struct LinkInfo {  // SLI received (§6.15)
  uint16_t tunnel_id;
  uint16_t session_id;
  Accm accm;
};
struct WanErrors {  // WEN received (§6.14)
  uint16_t tunnel_id;
  uint16_t session_id;
  CallErrors errors;
};
using Action = std::variant<SendDatagram, TunnelUp, TunnelDown, SessionUp, SessionDown, SessionData, LinkInfo,
                            WanErrors>;

// Datagrams and messages dropped without a reply, by reason. Appears in the status JSON.
using DropCounters = std::map<std::string, uint64_t, std::less<>>;

}  // namespace l2tpvpn::l2tp
