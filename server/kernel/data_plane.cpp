#include "server/kernel/data_plane.hpp"

#include <cstdio>
#include <system_error>

namespace l2tpvpn::kernel {

Ipv4Endpoint Ipv4Endpoint::from_host_order(uint32_t host_order_ip, uint16_t port) {
  Ipv4Endpoint e;
  e.ip = {static_cast<uint8_t>(host_order_ip >> 24), static_cast<uint8_t>(host_order_ip >> 16),
          static_cast<uint8_t>(host_order_ip >> 8), static_cast<uint8_t>(host_order_ip)};
  e.port = port;
  return e;
}

std::string Ipv4Endpoint::to_string() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], port);
  return buf;
}

const char* to_string(DataPlaneErrorCode code) {
  switch (code) {
    case DataPlaneErrorCode::kUnavailable: return "kUnavailable";
    case DataPlaneErrorCode::kInvalidArgument: return "kInvalidArgument";
    case DataPlaneErrorCode::kAlreadyExists: return "kAlreadyExists";
    case DataPlaneErrorCode::kNoSuchTunnel: return "kNoSuchTunnel";
    case DataPlaneErrorCode::kNoSuchSession: return "kNoSuchSession";
    case DataPlaneErrorCode::kSystem: return "kSystem";
  }
  return "unknown";
}

std::string DataPlaneError::to_string() const {
  std::string out = detail;
  if (!operation.empty()) out += (out.empty() ? "" : ": ") + operation;
  if (error != 0) {
    // std::generic_category().message is strerror without its static buffer.
    out += ": " + std::generic_category().message(error) + " (errno " + std::to_string(error) + ", " +
           kernel::to_string(code) + ")";
  } else {
    out += std::string(" (") + kernel::to_string(code) + ")";
  }
  return out;
}

}  // namespace l2tpvpn::kernel
