// RFC 3193 in the daemon: charon over VICI, the SA registry as the LNS's admission check, and coupled teardown.
//
//   start        -> which charon: `ipsec.charon = system` uses the one answering on system_vici_socket;
//                   `embedded` starts our own (ipsec/charon_process.hpp: private strongswan.conf, explicit
//                   plugins); `auto` takes a system charon when one answers, else embeds. A leftover embedded
//                   charon of an earlier l2tpvpnd (killed -9) is stopped and replaced, so no stale SA survives.
//                   The VICI client then connects (retrying with back-off until charon answers), and CharonLink
//                   loads our IKEv1 profile + PSK and mirrors charon's SAs into the SaRegistry.
//   admits(peer) -> the endpoint's AdmissionFn: an SCCRQ is answered only when the registry holds an installed
//                   transport CHILD_SA for udp/1701 with that peer (step 3). Others are dropped and counted
//                   ("not_admitted"). With ipsec.required = false every peer is admitted.
//   reconcile    -> after every VICI event, while the link is ready: a tunnel whose peer no longer has an SA
//                   (CHILD/IKE SA deleted, DPD, charon restarted and lost it) is closed (StopCCN) with its
//                   sessions.
//   tunnel_closed-> when a peer's last tunnel is gone, its IKE_SA is terminated.
//   stop         -> unloads our profile from a system charon, or stops the embedded one.
//
// The VICI client is driven by Boost.Asio: its descriptor is watched with posix::stream_descriptor (released,
// never closed, by us; the client owns it) and its deadlines with a steady_timer.
//
// Thread-safety: none; the daemon's io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "ipsec/charon_link.hpp"
#include "ipsec/charon_process.hpp"
#include "ipsec/profile.hpp"
#include "ipsec/sa_registry.hpp"
#include "ipsec/vici_client.hpp"
#include "server/config.hpp"
#include "server/l2tp/endpoint.hpp"
#include "server/l2tp_driver.hpp"
#include "server/status.hpp"

namespace l2tpvpn {

// The profile l2tpvpn loads for the built-in OS clients, from the configuration. The PSK comes from ipsec.psk,
// else from ipsec.psk_file, which must be a regular file not readable by group or others. Errors name the key
// or the file.
Result<ipsec::ProfileConfig, std::string> profile_from_config(const DaemonConfig& config);

// The "ipsec" object of one session in the status JSON (docs/status.md).
SessionIpsecView session_ipsec_view(const ipsec::SaInfo& sa);

class IpsecSupervisor {
 public:
  IpsecSupervisor(boost::asio::io_context& io, const DaemonConfig& config, l2tp::Endpoint& endpoint,
                  L2tpDriver& driver);
  ~IpsecSupervisor();

  // Decides system/embedded charon, starts the embedded one if needed, connects. Errors: a message for the log
  // (bad profile, system charon required but absent, embedded charon cannot start).
  Status<std::string> start();
  // Unload (system charon) or stop (embedded). Blocking for at most a few seconds (embedded charon's exit).
  void stop();

  // SIGHUP: rebuilds the profile from the (updated) configuration and loads it into charon (load-conn and
  // load-shared replace ours; established SAs stay). Errors: the profile's (nothing is changed then).
  Status<std::string> reload_profile();

  bool admits(const l2tp::PeerAddress& peer) const;
  // The SA a tunnel/session from `peer` runs in (best match), if any.
  std::optional<ipsec::SaInfo> sa_for(const l2tp::PeerAddress& peer) const;
  // TunnelDown: terminates the peer's IKE_SA when it was its last tunnel.
  void tunnel_closed(const l2tp::PeerAddress& peer);
  // SIGCHLD: the embedded charon may have exited (restarted with back-off).
  void on_child_exit();
  // Terminate requests still waiting for charon's answer (shutdown waits for them, bounded).
  size_t pending_terminates() const { return pending_terminates_; }

  IpsecView view() const;
  const char* mode_name() const;
  bool link_ready() const { return link_ && link_->state() == ipsec::LinkState::kReady; }

 private:
  void arm();
  // One wait for readability or writability of the VICI socket; `pending` is reading_ or writing_.
  void watch(boost::asio::posix::descriptor_base::wait_type what, bool& pending,
             void (vici::Client::*ready)(vici::TimePoint));
  void after_activity();
  void reconcile();
  void restart_charon();
  std::string config_socket() const;

  boost::asio::io_context& io_;
  const DaemonConfig& config_;
  l2tp::Endpoint& endpoint_;
  L2tpDriver& driver_;
  enum class Mode { kNone, kSystem, kEmbedded } mode_ = Mode::kNone;
  std::unique_ptr<ipsec::EmbeddedCharon> charon_;
  ipsec::RestartBackoff backoff_;
  boost::asio::steady_timer restart_timer_;
  std::unique_ptr<vici::Client> client_;
  ipsec::SaRegistry registry_;
  std::unique_ptr<ipsec::CharonLink> link_;
  ipsec::ProfileConfig profile_;
  boost::asio::posix::stream_descriptor sd_;
  boost::asio::steady_timer timer_;
  uint64_t generation_ = 0;
  bool reading_ = false, writing_ = false;
  size_t pending_terminates_ = 0;
  uint64_t tunnels_closed_for_sa_ = 0;
  uint64_t ike_terminated_ = 0;
  bool stopped_ = false;
};

}  // namespace l2tpvpn
