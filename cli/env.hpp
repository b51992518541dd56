// Everything l2tpvpnctl needs from the outside world, as one value: the streams, the daemon's control socket, a
// random source and the default route's source address. The commands see only a CtlEnv, so tests give them string
// streams, a fake daemon and a seeded generator; make_default_ctl_env is the real thing.
//
// Thread-safety: a CtlEnv refers to streams it does not own; use one per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "server/control_server.hpp"

namespace l2tpvpn::cli {

struct CtlEnv {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;  // --password-stdin
  // Sends one request to the daemon's control socket.
  std::function<ControlReply(const std::string& socket, const nlohmann::json& request)> request;
  // Fills the span with cryptographically strong random bytes; false if the source failed.
  std::function<bool(std::span<uint8_t>)> random;
  // The source address of the default route (client-setup without a configured address); nullopt: no route.
  std::function<std::optional<std::string>()> default_route_address;
};

// The real environment: control_call, OpenSSL RAND_bytes, a UDP socket connected (nothing is sent) to a
// documentation address and asked for its local address.
CtlEnv make_default_ctl_env(std::ostream& out, std::ostream& err, std::istream& in);

}  // namespace l2tpvpn::cli
