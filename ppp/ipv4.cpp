#include "ppp/ipv4.hpp"

namespace l2tpvpn::ppp {

std::optional<Ipv4Address> parse_ipv4(std::string_view text) {
  uint32_t value = 0;
  size_t pos = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    size_t start = pos;
    uint32_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
      n = n * 10 + static_cast<uint32_t>(text[pos] - '0');
      ++pos;
    }
    size_t digits = pos - start;
    if (digits == 0 || n > 255) return std::nullopt;
    if (digits > 1 && text[start] == '0') return std::nullopt;  // no leading zeros
    value = (value << 8) | n;
  }
  if (pos != text.size()) return std::nullopt;
  return Ipv4Address{value};
}

std::string to_string(Ipv4Address a) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    if (shift != 24) out += '.';
    out += std::to_string((a.value >> shift) & 0xff);
  }
  return out;
}

}  // namespace l2tpvpn::ppp
