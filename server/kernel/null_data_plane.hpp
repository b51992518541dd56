// A DataPlane that moves no data: it validates and records what it is asked, with the same error rules as the
// kernel plane (zero IDs, duplicates, unknown tunnel/session), so the daemon's tunnel/session wiring can be
// unit-tested without root or l2tp_ppp. Handles carry fd -1. A test can make the next create_* fail
// (fail_next_tunnel/fail_next_session) to exercise the daemon's fallback and error paths.
//
// Thread-safety: none (like every DataPlane).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "server/kernel/data_plane.hpp"

namespace l2tpvpn::kernel {

class NullDataPlane final : public DataPlane {
 public:
  // One entry per call that changed something, in order; lets tests assert on the sequence the daemon used.
  enum class CallKind : uint8_t { kCreateTunnel, kCreateSession, kDestroySession, kDestroyTunnel };
  struct Call {
    CallKind kind;
    uint16_t tunnel_id;
    uint16_t session_id;  // 0 for tunnel calls
    bool operator==(const Call&) const = default;
  };

  // `available` is what available() reports: the default is "yes"; pass an error to simulate a host without
  // l2tp_ppp.
  explicit NullDataPlane(std::optional<DataPlaneError> unavailable = std::nullopt)
      : unavailable_(std::move(unavailable)) {}

  Status<DataPlaneError> available() override;
  Result<TunnelHandle, DataPlaneError> create_tunnel(const TunnelSpec& spec) override;
  Result<SessionHandle, DataPlaneError> create_session(const TunnelHandle& tunnel, uint16_t local_session_id,
                                                       uint16_t peer_session_id,
                                                       const SessionOptions& options) override;
  Status<DataPlaneError> destroy_session(uint16_t tunnel_id, uint16_t session_id) override;
  Status<DataPlaneError> destroy_tunnel(uint16_t tunnel_id) override;
  size_t tunnel_count() const override { return tunnels_.size(); }
  size_t session_count() const override;

  void fail_next_tunnel(DataPlaneError e) { fail_tunnel_ = std::move(e); }
  void fail_next_session(DataPlaneError e) { fail_session_ = std::move(e); }

  const std::vector<Call>& calls() const { return calls_; }
  // The spec/options a live tunnel/session was created with; nullopt when it does not exist.
  std::optional<TunnelSpec> tunnel_spec(uint16_t tunnel_id) const;
  std::optional<SessionOptions> session_options(uint16_t tunnel_id, uint16_t session_id) const;

 private:
  struct Tunnel {
    TunnelSpec spec;
    std::map<uint16_t, SessionOptions> sessions;  // by local session ID
  };
  std::optional<DataPlaneError> unavailable_;
  std::optional<DataPlaneError> fail_tunnel_;
  std::optional<DataPlaneError> fail_session_;
  std::map<uint16_t, Tunnel> tunnels_;
  std::vector<Call> calls_;
};

}  // namespace l2tpvpn::kernel
