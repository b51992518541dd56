#include "ppp/ip_pool.hpp"

namespace l2tpvpn::ppp {
namespace {

Unexpected<IpPoolError> fail(IpPoolErrorCode code, std::string detail) {
  return unexpected(IpPoolError{code, std::move(detail)});
}

// "A-B" or "A" -> inclusive interval.
std::optional<std::pair<uint32_t, uint32_t>> parse_interval(const std::string& text) {
  auto dash = text.find('-');
  if (dash == std::string::npos) {
    auto a = parse_ipv4(text);
    if (!a) return std::nullopt;
    return std::pair{a->value, a->value};
  }
  auto a = parse_ipv4(std::string_view(text).substr(0, dash));
  auto b = parse_ipv4(std::string_view(text).substr(dash + 1));
  if (!a || !b || a->value > b->value) return std::nullopt;
  return std::pair{a->value, b->value};
}

// "A/n" -> inclusive interval of usable host addresses. RFC 3021: a /31 has no network/broadcast address.
std::optional<std::pair<uint32_t, uint32_t>> parse_cidr(const std::string& text) {
  auto slash = text.find('/');
  auto a = parse_ipv4(std::string_view(text).substr(0, slash));
  auto len_text = text.substr(slash + 1);
  if (!a || len_text.empty() || len_text.size() > 2) return std::nullopt;
  for (char c : len_text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int len = std::stoi(len_text);
  if (len > 32) return std::nullopt;
  uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  if ((a->value & ~mask) != 0) return std::nullopt;  // host bits set: probably a typo, say so
  uint32_t first = a->value, last = a->value | ~mask;
  if (len <= 30) {
    ++first;
    --last;
  }
  return std::pair{first, last};
}

}  // namespace

std::string IpPoolError::to_string() const {
  const char* what = "";
  switch (code) {
    case IpPoolErrorCode::kBadRange: what = "bad pool range"; break;
    case IpPoolErrorCode::kBadServerAddress: what = "bad server address"; break;
    case IpPoolErrorCode::kBadExclusion: what = "bad exclusion"; break;
    case IpPoolErrorCode::kBadReservation: what = "bad reservation"; break;
    case IpPoolErrorCode::kDuplicateReservation: what = "address reserved twice"; break;
    case IpPoolErrorCode::kEmptyPool: what = "pool has no dynamic address"; break;
    case IpPoolErrorCode::kExhausted: what = "address pool exhausted"; break;
    case IpPoolErrorCode::kSessionExists: what = "session already holds an address"; break;
    case IpPoolErrorCode::kReservedInUse: what = "reserved address in use by another session"; break;
    case IpPoolErrorCode::kUnknownSession: what = "unknown session"; break;
  }
  return detail.empty() ? std::string(what) : std::string(what) + ": " + detail;
}

Result<IpPool, IpPoolError> IpPool::create(const IpPoolConfig& config) {
  IpPool p;
  auto range = config.range.find('/') != std::string::npos ? parse_cidr(config.range) : parse_interval(config.range);
  if (!range || range->first > range->second) return fail(IpPoolErrorCode::kBadRange, config.range);
  if (uint64_t{range->second} - range->first + 1 > kMaxPoolSize) {
    return fail(IpPoolErrorCode::kBadRange, config.range + " (more than 65536 addresses)");
  }
  p.first_ = range->first;
  p.last_ = range->second;

  auto server = parse_ipv4(config.server_address);
  if (!server || server->value == 0) return fail(IpPoolErrorCode::kBadServerAddress, config.server_address);
  p.server_ = *server;

  for (const auto& e : config.exclusions) {
    auto iv = parse_interval(e);
    if (!iv) return fail(IpPoolErrorCode::kBadExclusion, e);
    p.exclusions_.push_back(*iv);
  }
  for (const auto& [user, text] : config.reservations) {
    auto a = parse_ipv4(text);
    if (user.empty() || !a || a->value == 0 || *a == p.server_) {
      return fail(IpPoolErrorCode::kBadReservation, user + " -> " + text);
    }
    for (const auto& [lo, hi] : p.exclusions_) {
      if (a->value >= lo && a->value <= hi) return fail(IpPoolErrorCode::kBadReservation, user + " -> " + text);
    }
    if (auto [it, fresh] = p.reserved_by_.emplace(a->value, user); !fresh) {
      return fail(IpPoolErrorCode::kDuplicateReservation, text + " (" + it->second + ", " + user + ")");
    }
    p.reservations_.emplace(user, a->value);
  }
  for (uint64_t a = p.first_; a <= p.last_; ++a) {
    if (p.is_dynamic(static_cast<uint32_t>(a))) ++p.capacity_;
  }
  if (p.capacity_ == 0) return fail(IpPoolErrorCode::kEmptyPool, config.range);
  p.cursor_ = p.last_;  // so that the first allocation is the lowest address
  return p;
}

bool IpPool::is_dynamic(uint32_t a) const {
  if (a < first_ || a > last_ || a == server_.value || reserved_by_.count(a)) return false;
  for (const auto& [lo, hi] : exclusions_) {
    if (a >= lo && a <= hi) return false;
  }
  return true;
}

void IpPool::assign(const std::string& session_key, uint32_t a) {
  holder_.emplace(a, session_key);
  by_session_.emplace(session_key, a);
  if (is_dynamic(a)) ++dynamic_used_;
}

void IpPool::unassign(const std::string& session_key) {
  auto it = by_session_.find(session_key);
  if (is_dynamic(it->second)) --dynamic_used_;
  holder_.erase(it->second);
  by_session_.erase(it);
}

Result<Ipv4Address, IpPoolError> IpPool::allocate(const std::string& session_key,
                                                  const std::optional<std::string>& user) {
  if (by_session_.count(session_key)) return fail(IpPoolErrorCode::kSessionExists, session_key);
  if (user) {
    if (auto r = reservations_.find(*user); r != reservations_.end()) {
      if (auto h = holder_.find(r->second); h != holder_.end()) {
        return fail(IpPoolErrorCode::kReservedInUse, *user + " (held by " + h->second + ")");
      }
      assign(session_key, r->second);
      return Ipv4Address{r->second};
    }
  }
  if (dynamic_used_ >= capacity_) return fail(IpPoolErrorCode::kExhausted, session_key);
  // Round-robin: scan from just after the cursor, wrapping inside [first_, last_]. A free dynamic address
  // exists (checked above), so the scan ends within one lap.
  uint64_t span = uint64_t{last_} - first_ + 1;
  for (uint64_t i = 1; i <= span; ++i) {
    uint32_t a = static_cast<uint32_t>(first_ + (uint64_t{cursor_} - first_ + i) % span);
    if (is_dynamic(a) && !holder_.count(a)) {
      cursor_ = a;
      assign(session_key, a);
      return Ipv4Address{a};
    }
  }
  return fail(IpPoolErrorCode::kExhausted, session_key);  // unreachable while the counters are right
}

Result<Ipv4Address, IpPoolError> IpPool::bind_user(const std::string& session_key, const std::string& user) {
  auto cur = by_session_.find(session_key);
  if (cur == by_session_.end()) return fail(IpPoolErrorCode::kUnknownSession, session_key);
  auto r = reservations_.find(user);
  if (r == reservations_.end() || r->second == cur->second) return Ipv4Address{cur->second};
  if (auto h = holder_.find(r->second); h != holder_.end()) {
    return fail(IpPoolErrorCode::kReservedInUse, user + " (held by " + h->second + ")");
  }
  unassign(session_key);
  assign(session_key, r->second);
  return Ipv4Address{r->second};
}

Status<IpPoolError> IpPool::adopt(const std::string& session_key, Ipv4Address address) {
  if (by_session_.count(session_key)) return fail(IpPoolErrorCode::kSessionExists, session_key);
  if (auto h = holder_.find(address.value); h != holder_.end())
    return fail(IpPoolErrorCode::kReservedInUse, session_key + " (held by " + h->second + ")");
  assign(session_key, address.value);
  return {};
}

bool IpPool::release(const std::string& session_key) {
  if (!by_session_.count(session_key)) return false;
  unassign(session_key);
  return true;
}

std::optional<Ipv4Address> IpPool::address_of(const std::string& session_key) const {
  auto it = by_session_.find(session_key);
  if (it == by_session_.end()) return std::nullopt;
  return Ipv4Address{it->second};
}

std::optional<Ipv4Address> IpPool::reservation_of(const std::string& user) const {
  auto it = reservations_.find(user);
  if (it == reservations_.end()) return std::nullopt;
  return Ipv4Address{it->second};
}

}  // namespace l2tpvpn::ppp
