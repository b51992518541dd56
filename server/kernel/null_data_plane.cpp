#include "server/kernel/null_data_plane.hpp"

namespace l2tpvpn::kernel {

namespace {

Unexpected<DataPlaneError> fail(DataPlaneErrorCode code, std::string detail) {
  return unexpected(DataPlaneError{code, "", 0, std::move(detail)});
}

}  // namespace

Status<DataPlaneError> NullDataPlane::available() {
  if (unavailable_) return unexpected(*unavailable_);
  return {};
}

Result<TunnelHandle, DataPlaneError> NullDataPlane::create_tunnel(const TunnelSpec& spec) {
  const std::string what = "create tunnel " + std::to_string(spec.local_tunnel_id);
  if (unavailable_) return unexpected(*unavailable_);
  if (fail_tunnel_) {
    auto e = std::move(*fail_tunnel_);
    fail_tunnel_.reset();
    return unexpected(std::move(e));
  }
  if (spec.local_tunnel_id == 0 || spec.peer_tunnel_id == 0 || spec.peer.port == 0)
    return fail(DataPlaneErrorCode::kInvalidArgument, what + ": zero tunnel ID or peer port");
  if (tunnels_.contains(spec.local_tunnel_id)) return fail(DataPlaneErrorCode::kAlreadyExists, what);
  tunnels_[spec.local_tunnel_id] = Tunnel{spec, {}};
  calls_.push_back({CallKind::kCreateTunnel, spec.local_tunnel_id, 0});
  return TunnelHandle{spec.local_tunnel_id, spec.peer_tunnel_id, -1, -1};
}

Result<SessionHandle, DataPlaneError> NullDataPlane::create_session(const TunnelHandle& tunnel,
                                                                    uint16_t local_session_id, uint16_t peer_session_id,
                                                                    const SessionOptions& options) {
  const std::string what =
      "create session " + std::to_string(tunnel.tunnel_id) + "/" + std::to_string(local_session_id);
  auto it = tunnels_.find(tunnel.tunnel_id);
  if (it == tunnels_.end()) return fail(DataPlaneErrorCode::kNoSuchTunnel, what);
  if (fail_session_) {
    auto e = std::move(*fail_session_);
    fail_session_.reset();
    return unexpected(std::move(e));
  }
  if (local_session_id == 0 || peer_session_id == 0)
    return fail(DataPlaneErrorCode::kInvalidArgument, what + ": zero session ID");
  if (it->second.sessions.contains(local_session_id)) return fail(DataPlaneErrorCode::kAlreadyExists, what);
  it->second.sessions[local_session_id] = options;
  calls_.push_back({CallKind::kCreateSession, tunnel.tunnel_id, local_session_id});
  return SessionHandle{tunnel.tunnel_id, local_session_id, peer_session_id, -1};
}

Status<DataPlaneError> NullDataPlane::destroy_session(uint16_t tunnel_id, uint16_t session_id) {
  const std::string what = "destroy session " + std::to_string(tunnel_id) + "/" + std::to_string(session_id);
  auto it = tunnels_.find(tunnel_id);
  if (it == tunnels_.end()) return fail(DataPlaneErrorCode::kNoSuchTunnel, what);
  if (it->second.sessions.erase(session_id) == 0) return fail(DataPlaneErrorCode::kNoSuchSession, what);
  calls_.push_back({CallKind::kDestroySession, tunnel_id, session_id});
  return {};
}

Status<DataPlaneError> NullDataPlane::destroy_tunnel(uint16_t tunnel_id) {
  auto it = tunnels_.find(tunnel_id);
  if (it == tunnels_.end())
    return fail(DataPlaneErrorCode::kNoSuchTunnel, "destroy tunnel " + std::to_string(tunnel_id));
  // Same order as the kernel plane: the sessions first, each recorded.
  for (const auto& [session_id, options] : it->second.sessions)
    calls_.push_back({CallKind::kDestroySession, tunnel_id, session_id});
  tunnels_.erase(it);
  calls_.push_back({CallKind::kDestroyTunnel, tunnel_id, 0});
  return {};
}

size_t NullDataPlane::session_count() const {
  size_t n = 0;
  for (const auto& [id, t] : tunnels_) n += t.sessions.size();
  return n;
}

std::optional<TunnelSpec> NullDataPlane::tunnel_spec(uint16_t tunnel_id) const {
  auto it = tunnels_.find(tunnel_id);
  if (it == tunnels_.end()) return std::nullopt;
  return it->second.spec;
}

std::optional<SessionOptions> NullDataPlane::session_options(uint16_t tunnel_id, uint16_t session_id) const {
  auto it = tunnels_.find(tunnel_id);
  if (it == tunnels_.end()) return std::nullopt;
  auto s = it->second.sessions.find(session_id);
  if (s == it->second.sessions.end()) return std::nullopt;
  return s->second;
}

}  // namespace l2tpvpn::kernel
