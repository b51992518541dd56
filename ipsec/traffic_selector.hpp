// IP addresses and traffic selectors as charon prints them in vici list-sa / child-updown messages
// ("192.0.2.10/32[udp/l2f]", "10.0.0.1..10.0.0.9[tcp/1000-2000]", "2001:db8::/64", "0.0.0.0/0[udp]").
//
// charon names protocols with getprotobynumber() and single ports with getservbyport(), so the port part may be
// a service name. A pure module cannot consult /etc/services; the few names that matter for L2TP/IPsec are
// built in (l2f and l2tp = 1701, isakmp = 500, ipsec-nat-t = 4500) and any other name makes the selector
// unparseable, which callers treat as "does not cover udp/1701".
//
// IpAddress uses the same layout as l2tp::PeerAddress (family + 16 bytes, IPv4 in the first 4), so the daemon
// converts between them without text.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace l2tpvpn::ipsec {

struct IpAddress {
  enum class Family : uint8_t { kV4, kV6 };
  Family family = Family::kV4;
  std::array<uint8_t, 16> bytes{};

  // Strict dotted quad, or RFC 4291 text form (with "::" and a trailing dotted quad). No zone ids, no brackets.
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint32_t host_order);
  std::string to_string() const;  // dotted quad / RFC 5952 (lower case, longest zero run compressed)
  auto operator<=>(const IpAddress&) const = default;
};

inline constexpr uint8_t kProtoAny = 0;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint16_t kL2tpPort = 1701;

struct TrafficSelector {
  IpAddress from;  // inclusive address range; a subnet is turned into its first..last address
  IpAddress to;
  uint8_t protocol = kProtoAny;
  uint16_t from_port = 0;
  uint16_t to_port = 65535;

  bool contains(const IpAddress& a) const;
  // True if traffic of `proto` on `port` is inside (protocol any matches every protocol).
  bool covers(uint8_t proto, uint16_t port) const;
  bool operator==(const TrafficSelector&) const = default;
};

// nullopt for anything charon would not print (bad prefix, mixed families, unknown service names).
std::optional<TrafficSelector> parse_traffic_selector(std::string_view text);

}  // namespace l2tpvpn::ipsec
