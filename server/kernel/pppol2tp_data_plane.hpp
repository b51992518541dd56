// The kernel data path through l2tp_ppp's PPPoX socket API (the one the Debian UML kernel and every
// distribution kernel with CONFIG_PPPOL2TP has; the l2tp genetlink family needs CONFIG_L2TP_V3, which not all
// kernels have, and is not used here).
//
// Per tunnel (create_tunnel):
//   1. a UDP socket, SO_REUSEPORT (the daemon's listening socket and every tunnel socket share port 1701; see
//      share_l2tp_port), bound to the local endpoint and connect()ed to the peer. Connected is required: the kernel sends data
//      messages on this socket without giving an address, and the UDP stack delivers the peer's packets to the
//      connected socket (most specific match) rather than to the listening one.
//   2. a PPPoL2TP socket connect()ed with {fd = UDP socket, s_tunnel, d_tunnel, session IDs 0}: session 0/0 is
//      the kernel's convention for "create (and manage) the tunnel"; it switches the UDP socket to L2TP
//      encapsulation. From then on the kernel consumes data messages (T=0) for known sessions and passes control
//      messages (T=1) up to the UDP socket as before, so the daemon keeps reading TunnelHandle::udp_fd.
// Per session (create_session): a PPPoL2TP socket connect()ed with {same fd, tunnel IDs, s_session, d_session};
// the kernel registers a PPP channel on it. pppd's pppol2tp.so plugin (`plugin pppol2tp.so pppol2tp <fd>`) checks
// that the fd is a connected PPPoX socket (getsockname, a getsockopt probe), optionally sets the same
// PPPOL2TP_SO_* options again, and then pppd attaches the channel to a ppp unit via /dev/ppp itself
// (PPPIOCGCHAN/PPPIOCATTCHAN/PPPIOCCONNECT): the daemon does no PPP ioctls.
//
// Tear-down is closing descriptors: a session goes when the last descriptor of its socket is closed (ours and
// pppd's); the tunnel goes when its UDP socket is released by everyone (our fd, and any dup the driver holds).
// Until then the local tunnel ID stays taken in the kernel: create_tunnel with it fails with kAlreadyExists
// (the kernel itself would silently attach the new socket to the old tunnel; create_tunnel detects that).
//
// Every descriptor is SOCK_CLOEXEC: pppd gets the session socket only through the launcher's explicit mapping.
// IPv4 only for now (sockaddr_pppol2tpin6 exists for a later IPv6 listener).
//
// Thread-safety: none; the daemon's event-loop thread.
#pragma once

#include <map>

#include "common/unique_fd.hpp"
#include "server/kernel/data_plane.hpp"

namespace l2tpvpn::kernel {

// Lets `fd` (a UDP socket, not yet bound) share the L2TP port with our other sockets, the daemon's listener and
// every tunnel's connected socket, and with no other user's: SO_REUSEPORT, never SO_REUSEADDR. Linux admits a UDP
// socket to a SO_REUSEPORT group only when its owner has the group's effective UID, whereas two SO_REUSEADDR
// sockets may share a port whoever owns them (an unprivileged process could then bind the port as well and, as
// the newest or more specific socket, receive decrypted L2TP). Within the group a connected socket still wins
// its peer's datagrams (the kernel scores connected sockets above the group's hash choice, which skips them),
// and the rest go to the one unconnected member, the listener. Errors: the errno of setsockopt.
Status<int> share_l2tp_port(int fd);

class PppoL2tpDataPlane final : public DataPlane {
 public:
  PppoL2tpDataPlane() = default;
  ~PppoL2tpDataPlane() override;  // closes everything still open (sessions first)
  PppoL2tpDataPlane(const PppoL2tpDataPlane&) = delete;
  PppoL2tpDataPlane& operator=(const PppoL2tpDataPlane&) = delete;

  Status<DataPlaneError> available() override;
  Result<TunnelHandle, DataPlaneError> create_tunnel(const TunnelSpec& spec) override;
  Result<SessionHandle, DataPlaneError> create_session(const TunnelHandle& tunnel, uint16_t local_session_id,
                                                       uint16_t peer_session_id,
                                                       const SessionOptions& options) override;
  Status<DataPlaneError> destroy_session(uint16_t tunnel_id, uint16_t session_id) override;
  Status<DataPlaneError> destroy_tunnel(uint16_t tunnel_id) override;
  size_t tunnel_count() const override { return tunnels_.size(); }
  size_t session_count() const override;

 private:
  struct Session {
    uint16_t peer_session_id = 0;
    UniqueFd fd;
  };
  struct Tunnel {
    TunnelSpec spec;
    UniqueFd udp;
    UniqueFd tunnel;
    std::map<uint16_t, Session> sessions;  // by local session ID
  };
  static void close_tunnel(Tunnel& t);

  std::map<uint16_t, Tunnel> tunnels_;  // by local tunnel ID
};

}  // namespace l2tpvpn::kernel
