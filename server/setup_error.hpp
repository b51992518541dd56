// Why a part of the daemon could not be set up (a socket bound, a server started, the firewall installed), typed as
// the cores' errors are: which part, the system error when there is one, and the message for the log, which names
// the address, path or tool concerned. One style for the server layer: functions return Status<SetupError>.
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace l2tpvpn {

enum class SetupPart : uint8_t {
  kL2tpSocket,    // udp/1701: held by another program, or bind failed
  kTunnelSocket,  // a kernel tunnel's UDP socket could not be adopted
  kStatusServer,  // the HTTP status endpoint
  kControlServer, // l2tpvpnctl's unix socket
  kSessions,      // the PPP side: data path, users file, address pool
  kFirewall,      // the firewall rules
  kIpsec,         // charon (system or embedded) and our IKE profile
};

struct SetupError {
  SetupPart part = SetupPart::kSessions;
  int error = 0;        // errno (or the system error's value); 0 when not from a system call
  std::string message;  // for the log
  const std::string& to_string() const { return message; }
};

inline std::ostream& operator<<(std::ostream& out, const SetupError& e) { return out << e.message; }

}  // namespace l2tpvpn
