#include "ipsec/traffic_selector.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <vector>

namespace l2tpvpn::ipsec {

namespace {

template <class T>
std::optional<T> parse_uint(std::string_view s, int base = 10) {
  if (s.empty()) return std::nullopt;
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::array<uint8_t, 4>> parse_v4(std::string_view s) {
  std::array<uint8_t, 4> out{};
  for (size_t i = 0; i < 4; ++i) {
    const size_t dot = s.find('.');
    std::string_view part = (i < 3) ? s.substr(0, dot) : s;
    if (i < 3 && dot == std::string_view::npos) return std::nullopt;
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return std::nullopt;
    auto v = parse_uint<unsigned>(part);
    if (!v || *v > 255) return std::nullopt;
    out[i] = static_cast<uint8_t>(*v);
    if (i < 3) s.remove_prefix(dot + 1);
  }
  return out;
}

// Parses colon-separated hex groups (no "::"), appending 16-bit values; a trailing dotted quad counts as two.
bool parse_groups(std::string_view s, std::vector<uint16_t>& out, bool allow_v4_tail) {
  if (s.empty()) return true;
  while (true) {
    const size_t colon = s.find(':');
    std::string_view g = s.substr(0, colon);
    if (colon == std::string_view::npos && allow_v4_tail && g.find('.') != std::string_view::npos) {
      auto v4 = parse_v4(g);
      if (!v4) return false;
      out.push_back(static_cast<uint16_t>(((*v4)[0] << 8) | (*v4)[1]));
      out.push_back(static_cast<uint16_t>(((*v4)[2] << 8) | (*v4)[3]));
      return true;
    }
    if (g.empty() || g.size() > 4) return false;
    auto v = parse_uint<uint16_t>(g, 16);
    if (!v) return false;
    out.push_back(*v);
    if (colon == std::string_view::npos) return true;
    s.remove_prefix(colon + 1);
  }
}

std::optional<std::array<uint8_t, 16>> parse_v6(std::string_view s) {
  const size_t dc = s.find("::");
  std::vector<uint16_t> head, tail;
  if (dc == std::string_view::npos) {
    if (!parse_groups(s, head, true) || head.size() != 8) return std::nullopt;
  } else {
    if (s.find("::", dc + 1) != std::string_view::npos) return std::nullopt;
    if (!parse_groups(s.substr(0, dc), head, false) || !parse_groups(s.substr(dc + 2), tail, true)) return std::nullopt;
    if (head.size() + tail.size() > 7) return std::nullopt;
    head.resize(8 - tail.size(), 0);
    head.insert(head.end(), tail.begin(), tail.end());
  }
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(head[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(head[i]);
  }
  return out;
}

size_t addr_len(IpAddress::Family f) {
  return f == IpAddress::Family::kV4 ? 4 : 16;
}

// Less-or-equal over the significant bytes of two addresses of the same family.
bool addr_le(const IpAddress& a, const IpAddress& b) {
  for (size_t i = 0; i < addr_len(a.family); ++i) {
    if (a.bytes[i] != b.bytes[i]) return a.bytes[i] < b.bytes[i];
  }
  return true;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  if (auto v = parse_uint<uint16_t>(s)) return v;
  // The services charon may print for the selectors we care about (see header).
  if (s == "l2f" || s == "l2tp") return kL2tpPort;
  if (s == "isakmp") return 500;
  if (s == "ipsec-nat-t") return 4500;
  return std::nullopt;
}

std::optional<uint8_t> parse_protocol(std::string_view s) {
  if (auto v = parse_uint<uint8_t>(s)) return v;
  if (s == "udp") return kProtoUdp;
  if (s == "tcp") return kProtoTcp;
  if (s == "icmp") return 1;
  if (s == "ipv6-icmp") return 58;
  if (s == "sctp") return 132;
  return std::nullopt;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  IpAddress a;
  if (text.find(':') != std::string_view::npos) {
    auto b = parse_v6(text);
    if (!b) return std::nullopt;
    a.family = Family::kV6;
    a.bytes = *b;
    return a;
  }
  auto b = parse_v4(text);
  if (!b) return std::nullopt;
  a.family = Family::kV4;
  std::copy(b->begin(), b->end(), a.bytes.begin());
  return a;
}

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress a;
  a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<uint8_t>(host_order);
  return a;
}

std::string IpAddress::to_string() const {
  char buf[64];
  if (family == Family::kV4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bytes[0], bytes[1], bytes[2], bytes[3]);
    return buf;
  }
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  // RFC 5952 §4.2: compress the longest run (>= 2) of zero groups, the first one on a tie.
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (!s.empty() && s.back() != ':') s += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    s += buf;
  }
  return s;
}

bool TrafficSelector::contains(const IpAddress& a) const {
  return a.family == from.family && addr_le(from, a) && addr_le(a, to);
}

bool TrafficSelector::covers(uint8_t proto, uint16_t port) const {
  if (protocol != kProtoAny && protocol != proto) return false;
  return from_port <= port && port <= to_port;
}

std::optional<TrafficSelector> parse_traffic_selector(std::string_view text) {
  TrafficSelector ts;
  std::string_view addr = text;
  std::string_view ports;
  if (const size_t br = text.find('['); br != std::string_view::npos) {
    if (text.back() != ']') return std::nullopt;
    addr = text.substr(0, br);
    ports = text.substr(br + 1, text.size() - br - 2);
  }
  if (const size_t dots = addr.find(".."); dots != std::string_view::npos) {
    auto a = IpAddress::parse(addr.substr(0, dots));
    auto b = IpAddress::parse(addr.substr(dots + 2));
    if (!a || !b || a->family != b->family || !addr_le(*a, *b)) return std::nullopt;
    ts.from = *a;
    ts.to = *b;
  } else {
    const size_t slash = addr.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto a = IpAddress::parse(addr.substr(0, slash));
    auto prefix = parse_uint<unsigned>(addr.substr(slash + 1));
    if (!a || !prefix || *prefix > addr_len(a->family) * 8) return std::nullopt;
    ts.from = *a;
    ts.to = *a;
    for (size_t bit = *prefix; bit < addr_len(a->family) * 8; ++bit) {
      const auto mask = static_cast<uint8_t>(0x80 >> (bit % 8));
      ts.from.bytes[bit / 8] = static_cast<uint8_t>(ts.from.bytes[bit / 8] & ~mask);
      ts.to.bytes[bit / 8] = static_cast<uint8_t>(ts.to.bytes[bit / 8] | mask);
    }
  }
  if (!ports.empty()) {
    const size_t slash = ports.find('/');
    auto proto = parse_protocol(ports.substr(0, slash));
    if (!proto) return std::nullopt;
    ts.protocol = *proto;
    if (slash != std::string_view::npos) {
      std::string_view p = ports.substr(slash + 1);
      if (p == "OPAQUE") {
        // charon's notation for "ports not visible" (fragments): nothing in it matches a real port.
        ts.from_port = 65535;
        ts.to_port = 0;
      } else if (const size_t dash = p.find('-'); dash != std::string_view::npos) {
        auto lo = parse_port(p.substr(0, dash));
        auto hi = parse_port(p.substr(dash + 1));
        if (!lo || !hi || *lo > *hi) return std::nullopt;
        ts.from_port = *lo;
        ts.to_port = *hi;
      } else {
        auto port = parse_port(p);
        if (!port) return std::nullopt;
        ts.from_port = ts.to_port = *port;
      }
    }
  }
  return ts;
}

}  // namespace l2tpvpn::ipsec
