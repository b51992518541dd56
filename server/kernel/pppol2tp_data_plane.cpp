#include "server/kernel/pppol2tp_data_plane.hpp"

#include "server/kernel/marked_udp.hpp"

// glibc's socket headers first: linux/libc-compat.h then skips the kernel's duplicate struct definitions.
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
// linux-libc-dev: AF_PPPOX, PX_PROTO_OL2TP, struct sockaddr_pppol2tp, PPPOL2TP_SO_* (if_pppol2tp.h, l2tp.h).
#include <linux/if_pppox.h>

#include <cerrno>
#include <cstring>

namespace l2tpvpn::kernel {

namespace {

std::string tunnel_name(uint16_t tunnel_id) {
  return "tunnel " + std::to_string(tunnel_id);
}
std::string session_name(uint16_t tunnel_id, uint16_t session_id) {
  return "session " + std::to_string(tunnel_id) + "/" + std::to_string(session_id);
}

// An error from the system call that just failed (reads errno).
Unexpected<DataPlaneError> sys_error(std::string detail, std::string operation,
                                     DataPlaneErrorCode code = DataPlaneErrorCode::kSystem) {
  const int err = errno;
  if (code == DataPlaneErrorCode::kSystem && err == EEXIST) code = DataPlaneErrorCode::kAlreadyExists;
  return unexpected(DataPlaneError{code, std::move(operation), err, std::move(detail)});
}

Unexpected<DataPlaneError> error(DataPlaneErrorCode code, std::string detail, std::string what = "") {
  return unexpected(DataPlaneError{code, std::move(what), 0, std::move(detail)});
}

sockaddr_in to_sockaddr(const Ipv4Endpoint& e) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(e.port);
  std::memcpy(&sa.sin_addr.s_addr, e.ip.data(), 4);  // both are network order
  return sa;
}

// A PPPoX socket for L2TP. socket() is where a kernel without the drivers says so: EAFNOSUPPORT (no pppox)
// or EPROTONOSUPPORT (pppox but no l2tp_ppp; the kernel already tried to autoload "pppox-proto-1").
Result<UniqueFd, DataPlaneError> open_pppol2tp_socket(const std::string& detail) {
  UniqueFd fd(::socket(AF_PPPOX, SOCK_DGRAM | SOCK_CLOEXEC, PX_PROTO_OL2TP));
  if (!fd) {
    const bool missing = errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT;
    return sys_error(detail, "socket(AF_PPPOX, PX_PROTO_OL2TP)",
                     missing ? DataPlaneErrorCode::kUnavailable : DataPlaneErrorCode::kSystem);
  }
  return fd;
}

// connect() a PPPoL2TP socket to (tunnel, session) over the tunnel's UDP socket. Session 0/0 = tunnel management.
bool connect_pppol2tp(int fd, int udp_fd, const TunnelSpec& t, uint16_t session_id, uint16_t peer_session_id) {
  sockaddr_pppol2tp sa{};
  sa.sa_family = AF_PPPOX;
  sa.sa_protocol = PX_PROTO_OL2TP;
  sa.pppol2tp.pid = 0;  // the socket lives in our process
  sa.pppol2tp.fd = udp_fd;
  sa.pppol2tp.addr = to_sockaddr(t.peer);
  sa.pppol2tp.s_tunnel = t.local_tunnel_id;
  sa.pppol2tp.d_tunnel = t.peer_tunnel_id;
  sa.pppol2tp.s_session = session_id;
  sa.pppol2tp.d_session = peer_session_id;
  // The struct is packed (alignment 1): hand connect() an aligned copy rather than a misaligned sockaddr*.
  union {
    sockaddr generic;
    unsigned char bytes[sizeof(sockaddr_pppol2tp)];
  } aligned{};
  std::memcpy(aligned.bytes, &sa, sizeof sa);
  return ::connect(fd, &aligned.generic, sizeof sa) == 0;
}

bool set_int_option(int fd, int option, int value) {
  return ::setsockopt(fd, SOL_PPPOL2TP, option, &value, sizeof value) == 0;
}

}  // namespace

Status<int> share_l2tp_port(int fd) {
  const int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return unexpected(errno);
  return {};
}

PppoL2tpDataPlane::~PppoL2tpDataPlane() {
  for (auto& [id, t] : tunnels_) close_tunnel(t);
}

void PppoL2tpDataPlane::close_tunnel(Tunnel& t) {
  // Sessions before the tunnel socket before the UDP socket: the reverse of creation, so the kernel never sees
  // a session whose tunnel is half gone.
  t.sessions.clear();
  t.tunnel.reset();
  t.udp.reset();
}

Status<DataPlaneError> PppoL2tpDataPlane::available() {
  auto fd = open_pppol2tp_socket("kernel L2TP data path (l2tp_ppp)");
  if (!fd) return unexpected(fd.error());
  return {};
}

Result<TunnelHandle, DataPlaneError> PppoL2tpDataPlane::create_tunnel(const TunnelSpec& spec) {
  const std::string what = "create " + tunnel_name(spec.local_tunnel_id) + " (" + spec.local.to_string() + " -> " +
                           spec.peer.to_string() + ")";
  if (spec.local_tunnel_id == 0 || spec.peer_tunnel_id == 0)
    return error(DataPlaneErrorCode::kInvalidArgument, what, "tunnel ID 0 is reserved (RFC 2661 §3.1)");
  if (spec.peer.port == 0 || spec.peer.ip == std::array<uint8_t, 4>{})
    return error(DataPlaneErrorCode::kInvalidArgument, what, "peer address or port is zero");
  if (tunnels_.contains(spec.local_tunnel_id))
    return error(DataPlaneErrorCode::kAlreadyExists, what, "tunnel ID already set up here");

  // The PPPoX socket first: on a kernel without l2tp_ppp this fails before we touch the port.
  auto tunnel_fd = open_pppol2tp_socket(what);
  if (!tunnel_fd) return unexpected(tunnel_fd.error());

  UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!udp) return sys_error(what, "socket(AF_INET, SOCK_DGRAM)");
  if (!share_l2tp_port(udp.get())) return sys_error(what, "setsockopt(SO_REUSEPORT)");
  // The kernel passes up what it does not consume (control messages; data of sessions it does not know): the
  // driver reads those with the SA's mark, as from the listener. Older kernels lack it and have no marks anyway.
  (void)receive_marks(udp.get());
  if (spec.mark != 0 && !set_socket_mark(udp.get(), spec.mark)) return sys_error(what, "setsockopt(SO_MARK)");
  const sockaddr_in local = to_sockaddr(spec.local);
  if (::bind(udp.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0)
    return sys_error(what, "bind(udp)");
  const sockaddr_in peer = to_sockaddr(spec.peer);
  if (::connect(udp.get(), reinterpret_cast<const sockaddr*>(&peer), sizeof peer) != 0)
    return sys_error(what, "connect(udp)");

  if (!connect_pppol2tp(tunnel_fd->get(), udp.get(), spec, 0, 0)) return sys_error(what, "connect(PPPoL2TP tunnel)");
  // When the kernel already has a tunnel with this local ID (in this network namespace), connect() does not
  // fail: it attaches our socket to that tunnel, which keeps using its own, older UDP socket (a previous
  // daemon's, or one a driver still holds a dup of). Data would then flow through a socket we do not read.
  // Only a fresh tunnel switches *our* UDP socket to L2TP encapsulation, so that is the check. Closing our
  // tunnel socket on return undoes the attach.
  int encap = 0;
  socklen_t encap_len = sizeof encap;
  if (::getsockopt(udp.get(), SOL_UDP, UDP_ENCAP, &encap, &encap_len) != 0)
    return sys_error(what, "getsockopt(UDP_ENCAP)");
  if (encap != UDP_ENCAP_L2TPINUDP) {
    return error(DataPlaneErrorCode::kAlreadyExists, what,
                 "the kernel already has a tunnel with this ID on another UDP socket (stale, or still held)");
  }

  Tunnel& t = tunnels_[spec.local_tunnel_id];
  t.spec = spec;
  t.udp = std::move(udp);
  t.tunnel = std::move(*tunnel_fd);
  return TunnelHandle{spec.local_tunnel_id, spec.peer_tunnel_id, t.udp.get(), t.tunnel.get()};
}

Result<SessionHandle, DataPlaneError> PppoL2tpDataPlane::create_session(const TunnelHandle& tunnel,
                                                                        uint16_t local_session_id,
                                                                        uint16_t peer_session_id,
                                                                        const SessionOptions& options) {
  const std::string what = "create " + session_name(tunnel.tunnel_id, local_session_id) + " (peer session " +
                           std::to_string(peer_session_id) + ")";
  auto it = tunnels_.find(tunnel.tunnel_id);
  if (it == tunnels_.end()) return error(DataPlaneErrorCode::kNoSuchTunnel, what);
  Tunnel& t = it->second;
  // Session ID 0 on either side would make the kernel treat the socket as a second tunnel manager.
  if (local_session_id == 0 || peer_session_id == 0)
    return error(DataPlaneErrorCode::kInvalidArgument, what, "session ID 0 is reserved (RFC 2661 §3.1)");
  if (t.sessions.contains(local_session_id))
    return error(DataPlaneErrorCode::kAlreadyExists, what, "session ID already set up here");

  auto fd = open_pppol2tp_socket(what);
  if (!fd) return unexpected(fd.error());
  if (!connect_pppol2tp(fd->get(), t.udp.get(), t.spec, local_session_id, peer_session_id))
    return sys_error(what, "connect(PPPoL2TP session)");

  // Options after connect: the kernel keeps them in the session, which exists only from connect on.
  // RFC 2661 §5.4: sequencing as the LNS decided; the plugin may set the same options again, which is harmless.
  struct Opt {
    int option;
    int value;
    bool set;
    const char* name;
  };
  const Opt opts[] = {
      {PPPOL2TP_SO_SENDSEQ, options.send_seq ? 1 : 0, true, "setsockopt(PPPOL2TP_SO_SENDSEQ)"},
      {PPPOL2TP_SO_RECVSEQ, options.recv_seq ? 1 : 0, true, "setsockopt(PPPOL2TP_SO_RECVSEQ)"},
      {PPPOL2TP_SO_LNSMODE, options.lns_mode ? 1 : 0, true, "setsockopt(PPPOL2TP_SO_LNSMODE)"},
      {PPPOL2TP_SO_REORDERTO, options.reorder_timeout_ms, options.reorder_timeout_ms > 0,
       "setsockopt(PPPOL2TP_SO_REORDERTO)"},
      {PPPOL2TP_SO_DEBUG, options.debug_mask, options.debug_mask != 0, "setsockopt(PPPOL2TP_SO_DEBUG)"},
  };
  for (const Opt& o : opts) {
    if (o.set && !set_int_option(fd->get(), o.option, o.value)) return sys_error(what, o.name);
  }

  Session& s = t.sessions[local_session_id];
  s.peer_session_id = peer_session_id;
  s.fd = std::move(*fd);
  return SessionHandle{tunnel.tunnel_id, local_session_id, peer_session_id, s.fd.get()};
}

Status<DataPlaneError> PppoL2tpDataPlane::destroy_session(uint16_t tunnel_id, uint16_t session_id) {
  const std::string what = "destroy " + session_name(tunnel_id, session_id);
  auto it = tunnels_.find(tunnel_id);
  if (it == tunnels_.end()) return error(DataPlaneErrorCode::kNoSuchTunnel, what);
  if (it->second.sessions.erase(session_id) == 0) return error(DataPlaneErrorCode::kNoSuchSession, what);
  return {};
}

Status<DataPlaneError> PppoL2tpDataPlane::destroy_tunnel(uint16_t tunnel_id) {
  auto it = tunnels_.find(tunnel_id);
  if (it == tunnels_.end()) return error(DataPlaneErrorCode::kNoSuchTunnel, "destroy " + tunnel_name(tunnel_id));
  close_tunnel(it->second);
  tunnels_.erase(it);
  return {};
}

size_t PppoL2tpDataPlane::session_count() const {
  size_t n = 0;
  for (const auto& [id, t] : tunnels_) n += t.sessions.size();
  return n;
}

}  // namespace l2tpvpn::kernel
