// The address pool pppd's peers get their IPv4 address from (pure: no I/O, no clock, no randomness).
//
// Configured from a range ("10.99.0.10-10.99.0.250") or a CIDR block ("10.99.0.0/24": network and broadcast
// are left out for prefixes up to /30), the server's own address (never handed out), exclusions (addresses or
// ranges) and static reservations (user -> address). A reserved address is never given dynamically; it may lie
// outside the range.
//
// Allocation order is round-robin: the lowest free address after the one handed out last, wrapping around. So
// a released address is not reused at once (a reconnecting client's old routes, conntrack entries and ARP/
// neighbour caches on the LAN then age out first), and the order is fully deterministic for tests.
//
// When the user is known only after pppd authenticated it (the usual case: the address goes on pppd's command
// line before authentication), the daemon allocates dynamically and then calls `bind_user`, which moves the
// session onto the user's reservation if there is one (our pppd plugin makes pppd offer that address).
//
// Size: at most kMaxPoolSize addresses in the range (a /16), so that scans stay cheap.
//
// Thread-safety: none; one owner (the daemon's event loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "ppp/ipv4.hpp"

namespace l2tpvpn::ppp {

inline constexpr size_t kMaxPoolSize = 65536;

struct IpPoolConfig {
  std::string range;           // "A-B" (inclusive) or "A/prefix"
  std::string server_address;  // our side of every PPP link
  std::vector<std::string> exclusions;             // "A" or "A-B"
  std::map<std::string, std::string> reservations;  // user -> address
};

enum class IpPoolErrorCode {
  // configuration
  kBadRange,              // not "A-B" / "A/n", A > B, or more than kMaxPoolSize addresses
  kBadServerAddress,      // not a dotted quad, or 0.0.0.0
  kBadExclusion,          // not "A" or "A-B"
  kBadReservation,        // bad address, empty user, the server address, or an excluded address
  kDuplicateReservation,  // two users reserve the same address
  kEmptyPool,             // no address left to hand out dynamically
  // operation
  kExhausted,       // no free dynamic address
  kSessionExists,   // allocate() for a session key that already holds an address
  kReservedInUse,   // the user's reserved address is held by another session (same user twice)
  kUnknownSession,  // bind_user() for a session without an address
};

struct IpPoolError {
  IpPoolErrorCode code;
  std::string detail;  // the offending configuration text or session key
  std::string to_string() const;
};

class IpPool {
 public:
  static Result<IpPool, IpPoolError> create(const IpPoolConfig& config);

  // An address for `session_key`: the user's reservation if `user` has one (error kReservedInUse if another
  // session holds it), else the next free dynamic address (error kExhausted). kSessionExists if the key
  // already holds one. Never hands one address to two sessions.
  Result<Ipv4Address, IpPoolError> allocate(const std::string& session_key,
                                            const std::optional<std::string>& user = std::nullopt);
  // After authentication: if `user` has a reservation, move the session there (its dynamic address returns to
  // the pool) and return it; otherwise keep and return the current address. Errors: kUnknownSession,
  // kReservedInUse (the session keeps its current address).
  Result<Ipv4Address, IpPoolError> bind_user(const std::string& session_key, const std::string& user);
  // Records that `session_key` holds exactly `address`, whatever the configuration says of it (in range or not,
  // reserved or not): used when the pool is rebuilt from a new configuration (users reloaded) while sessions
  // keep their addresses. Errors: kSessionExists (the key holds an address), kReservedInUse (another key holds
  // `address`).
  Status<IpPoolError> adopt(const std::string& session_key, Ipv4Address address);
  // Returns the session's address to the pool; false if the key held none.
  bool release(const std::string& session_key);

  std::optional<Ipv4Address> address_of(const std::string& session_key) const;
  std::optional<Ipv4Address> reservation_of(const std::string& user) const;
  bool in_use(Ipv4Address a) const { return holder_.count(a.value) != 0; }
  Ipv4Address server_address() const { return server_; }
  size_t dynamic_capacity() const { return capacity_; }  // addresses allocate() can hand out without a user
  size_t dynamic_in_use() const { return dynamic_used_; }
  size_t sessions() const { return by_session_.size(); }

 private:
  IpPool() = default;
  bool is_dynamic(uint32_t a) const;  // in range, not server, not excluded, not reserved
  void assign(const std::string& session_key, uint32_t a);
  void unassign(const std::string& session_key);

  uint32_t first_ = 0, last_ = 0;  // inclusive range
  Ipv4Address server_;
  std::vector<std::pair<uint32_t, uint32_t>> exclusions_;  // inclusive intervals
  std::map<std::string, uint32_t> reservations_;           // user -> address
  std::map<uint32_t, std::string> reserved_by_;            // address -> user
  std::map<uint32_t, std::string> holder_;                 // address -> session key
  std::map<std::string, uint32_t> by_session_;             // session key -> address
  uint32_t cursor_ = 0;  // the address handed out last (round-robin starts after it)
  size_t capacity_ = 0;
  size_t dynamic_used_ = 0;
};

}  // namespace l2tpvpn::ppp
