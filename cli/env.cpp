// l2tpvpnctl's real environment (the adapter side of CtlEnv): the control socket client, OpenSSL's random
// source, and the default route's source address from the kernel's routing decision.
#include "cli/env.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

namespace l2tpvpn::cli {

namespace {

// The local address the kernel picks for a datagram to a public address: a UDP socket connected to TEST-NET-1
// (routed like any public address; connect() on UDP sends nothing) and asked for its name.
std::optional<std::string> route_source_address() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(1701);
  ::inet_pton(AF_INET, "192.0.2.1", &dst.sin_addr);
  std::optional<std::string> out;
  sockaddr_in local{};
  socklen_t len = sizeof local;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 && local.sin_addr.s_addr != 0) {
    char buf[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, &local.sin_addr, buf, sizeof buf)) out = buf;
  }
  ::close(fd);
  return out;
}

}  // namespace

CtlEnv make_default_ctl_env(std::ostream& out, std::ostream& err, std::istream& in) {
  return CtlEnv{out,
                err,
                in,
                control_call,
                [](std::span<uint8_t> b) { return RAND_bytes(b.data(), static_cast<int>(b.size())) == 1; },
                route_source_address};
}

}  // namespace l2tpvpn::cli
