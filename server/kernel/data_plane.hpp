// The data path of L2TP sessions, behind an interface (go-l2tp's DataPlane idea).
//
// The control plane (server/l2tp) decides *when* a tunnel or session exists; a DataPlane makes the data of that
// tunnel/session flow. PppoL2tpDataPlane (pppol2tp_data_plane.hpp) asks the kernel's l2tp_ppp driver to carry
// data messages (T=0) between the UDP socket and a PPP channel that pppd drives; NullDataPlane
// (null_data_plane.hpp) only records what was asked, so the daemon's wiring is testable without root or a kernel
// with L2TP.
//
// Lifetime, as the daemon uses it:
//   TunnelUp   -> create_tunnel(spec)            (before any session of that tunnel)
//   SessionUp  -> create_session(tunnel, ...)    -> hand SessionHandle::fd to pppd
//   SessionDown-> destroy_session(tunnel_id, session_id)   (after, or while, pppd is told to stop)
//   TunnelDown -> destroy_tunnel(tunnel_id)      (also destroys sessions still open in it)
// Tunnels are keyed by our local tunnel ID and sessions by (local tunnel ID, local session ID), the IDs the
// control plane allocated; RFC 2661 §3.1: the IDs in a received header are the receiver's own.
//
// This header has no socket includes: addresses are plain values, so pure code and tests can use it.
//
// Thread-safety: implementations are not thread-safe; call from the daemon's one event-loop thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace l2tpvpn::kernel {

// An IPv4 UDP endpoint. ip is in network order (ip[0] is the first octet), port in host order. The all-zero
// address as a *local* endpoint means "bind to any": connect() then picks the source address by route.
struct Ipv4Endpoint {
  std::array<uint8_t, 4> ip{};
  uint16_t port = 0;

  static Ipv4Endpoint from_host_order(uint32_t host_order_ip, uint16_t port);
  std::string to_string() const;  // "192.0.2.1:1701"
  auto operator<=>(const Ipv4Endpoint&) const = default;
};

struct TunnelSpec {
  uint16_t local_tunnel_id = 0;  // ours: the ID the peer puts in packets it sends us; must be non-zero
  uint16_t peer_tunnel_id = 0;   // theirs (Assigned Tunnel ID AVP of SCCRQ/SCCRP); must be non-zero
  Ipv4Endpoint local;            // usually our address and port 1701
  Ipv4Endpoint peer;             // where the SCCRQ came from (after NAT: the translated address and port)
  uint32_t mark = 0;             // the peer's IPsec SA (SO_MARK on the socket, so data leaves through it); 0: none
};

// Per-session data path options. RFC 2661 §5.4: the LNS decides whether data messages carry sequence numbers
// (on when the LAC's ICRQ/ICCN asked for them with Sequencing Required, else our choice).
struct SessionOptions {
  bool send_seq = false;  // PPPOL2TP_SO_SENDSEQ: put Ns/Nr into the data messages we send
  bool recv_seq = false;  // PPPOL2TP_SO_RECVSEQ: expect Ns in received data messages; without it they are dropped
  // PPPOL2TP_SO_LNSMODE: we are the LNS, so our send_seq/recv_seq stand. Off (LAC), the kernel switches send_seq
  // on and off to follow the S bit of what the LNS sends, which is the LAC's duty under §5.4.
  bool lns_mode = true;
  int reorder_timeout_ms = 0;  // PPPOL2TP_SO_REORDERTO: how long to hold out-of-order packets; 0: drop them
  int debug_mask = 0;          // PPPOL2TP_SO_DEBUG: L2TP_MSG_* bits; 0 = none (modern kernels log via tracepoints)
};

// What the daemon needs of a tunnel. The DataPlane owns the descriptors; they stay valid until destroy_tunnel.
struct TunnelHandle {
  uint16_t tunnel_id = 0;  // local
  uint16_t peer_tunnel_id = 0;
  int udp_fd = -1;     // the tunnel's own UDP socket, connected to the peer. Control messages (T=1) still arrive
                       // here (the kernel only consumes data messages): the daemon must read it. Pass the driver
                       // a dup (F_DUPFD_CLOEXEC), not this number. -1 in NullDataPlane.
  int tunnel_fd = -1;  // the PPPoL2TP tunnel management socket; nothing to do with it but keep it open
};

struct SessionHandle {
  uint16_t tunnel_id = 0;   // local
  uint16_t session_id = 0;  // local
  uint16_t peer_session_id = 0;
  int fd = -1;  // the PPPoL2TP session socket for pppd (`plugin pppol2tp.so pppol2tp <fd>`); owned by the plane.
                // The launcher gives pppd its own copy, so the session lives until both are closed.
};

enum class DataPlaneErrorCode : uint8_t {
  kUnavailable,      // the kernel lacks AF_PPPOX / l2tp_ppp (EAFNOSUPPORT, EPROTONOSUPPORT): use userspace
  kInvalidArgument,  // zero IDs, port 0 for the peer, ...
  kAlreadyExists,    // that tunnel/session ID is already set up (by us, or in the kernel: EEXIST)
  kNoSuchTunnel,
  kNoSuchSession,
  kSystem,  // any other failing system call; see error/operation
};

struct DataPlaneError {
  DataPlaneErrorCode code = DataPlaneErrorCode::kSystem;
  std::string operation;  // "socket(AF_PPPOX)", "connect(udp)", "setsockopt(PPPOL2TP_SO_SENDSEQ)", ...
  int error = 0;          // errno, 0 when not from a system call
  std::string detail;     // which tunnel/session/address
  // "create tunnel 5: connect(PPPoL2TP tunnel): Address family not supported by protocol (errno 97, kUnavailable)"
  std::string to_string() const;
};

const char* to_string(DataPlaneErrorCode code);

class DataPlane {
 public:
  virtual ~DataPlane() = default;

  // Can this plane carry data at all? PppoL2tpDataPlane opens (and closes) an AF_PPPOX/PX_PROTO_OL2TP socket.
  // Errors: kUnavailable with the errno when the kernel lacks l2tp_ppp (and module autoload did not help).
  virtual Status<DataPlaneError> available() = 0;

  // Errors: kInvalidArgument (zero IDs, peer port 0), kAlreadyExists (local tunnel ID in use, here or still in the
  // kernel), kUnavailable (no l2tp_ppp), kSystem (bind: EADDRINUSE when a socket not in our SO_REUSEPORT group
  // holds the port, ...). On error nothing is left behind.
  virtual Result<TunnelHandle, DataPlaneError> create_tunnel(const TunnelSpec& spec) = 0;

  // Errors: kNoSuchTunnel (tunnel.tunnel_id not created here), kInvalidArgument (zero IDs), kAlreadyExists,
  // kSystem (connect/setsockopt). On error nothing is left behind.
  virtual Result<SessionHandle, DataPlaneError> create_session(const TunnelHandle& tunnel, uint16_t local_session_id,
                                                               uint16_t peer_session_id,
                                                               const SessionOptions& options) = 0;

  // Closes the session socket. Errors: kNoSuchTunnel, kNoSuchSession (nothing was done).
  virtual Status<DataPlaneError> destroy_session(uint16_t tunnel_id, uint16_t session_id) = 0;

  // Closes every session socket of the tunnel, then its tunnel and UDP sockets. Errors: kNoSuchTunnel.
  virtual Status<DataPlaneError> destroy_tunnel(uint16_t tunnel_id) = 0;

  // Counts of what is currently set up (status endpoint, tests).
  virtual size_t tunnel_count() const = 0;
  virtual size_t session_count() const = 0;
};

}  // namespace l2tpvpn::kernel
