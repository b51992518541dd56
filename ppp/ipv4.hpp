// IPv4 addresses as the ppp module handles them: a host-order uint32_t with a strict dotted-quad parser.
// Strict means exactly four decimal octets 0..255, no leading '+', no leading zeros (so "010.1.1.1" is not an
// octal trap as with inet_aton), no surrounding whitespace. Everything pppd, the pool and the user store accept
// goes through this one parser, so "what is an address" has one answer.
//
// Thread-safety: value type and pure functions.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace l2tpvpn::ppp {

struct Ipv4Address {
  uint32_t value = 0;  // host byte order: 10.0.0.1 is 0x0a000001
  auto operator<=>(const Ipv4Address&) const = default;
};

// nullopt unless `text` is a strict dotted quad.
std::optional<Ipv4Address> parse_ipv4(std::string_view text);
std::string to_string(Ipv4Address a);

}  // namespace l2tpvpn::ppp
