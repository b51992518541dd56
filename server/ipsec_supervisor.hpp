// RFC 3193 in the daemon: charon over VICI, the SA registry as the LNS's admission check, and coupled teardown.
//
//   start        -> which charon: `ipsec.charon = system` uses the one answering on system_vici_socket;
//                   `embedded` starts our own (ipsec/charon_process.hpp: private strongswan.conf, explicit
//                   plugins); `auto` takes a system charon when one answers, else embeds. A leftover embedded
//                   charon of an earlier l2tpvpnd (killed -9) is stopped and replaced, so no stale SA survives.
//                   The VICI client then connects (retrying with back-off until charon answers), and CharonLink
//                   loads our IKEv1 profile + PSK and mirrors charon's SAs into the SaRegistry.
//   admission    -> the endpoint's AdmissionFn (vpn::admission): an SCCRQ is answered only when the link is
//                   ready (link_ready(): the registry mirrors charon's SAs) and the registry holds an installed
//                   transport CHILD_SA for udp/1701 with that peer (step 3, ike_of). Others are dropped and
//                   counted ("not_admitted"; "ipsec_not_ready" while the link is down or syncing). With
//                   ipsec.required = false every peer is admitted.
//   on_sa_view   -> after every VICI event the daemon is told, and the lifecycle core (server/vpn/coupling)
//                   decides from the SA view which tunnels lost their SA (closed with StopCCN) and, when a peer's
//                   last tunnel is gone, which IKE_SA to end (terminate_ike).
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

#include <functional>
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
#include "server/setup_error.hpp"
#include "server/status.hpp"

namespace l2tpvpn {

// The profile l2tpvpn loads for the built-in OS clients, from the configuration. The PSK comes from ipsec.psk,
// else from ipsec.psk_file, which must be a regular file not readable by group or others. `mark_sas`: give each
// L2TP CHILD_SA its own mark (ipsec::ProfileConfig::mark_sas). Errors name the key or the file.
Result<ipsec::ProfileConfig, SetupError> profile_from_config(const DaemonConfig& config, bool mark_sas = true);

// The registry's answers for an L2TP peer: its address, its port and the mark of the SA its datagrams came
// through (PeerAddress::mark; only a CHILD_SA with that inbound mark matches, ipsec::SaRegistry).
std::optional<ipsec::SaInfo> find_sa(const ipsec::SaRegistry& registry, const l2tp::PeerAddress& peer);
std::optional<uint32_t> find_unique_ike(const ipsec::SaRegistry& registry, const l2tp::PeerAddress& peer);

// The "ipsec" object of one session in the status JSON (docs/status.md).
SessionIpsecView session_ipsec_view(const ipsec::SaInfo& sa);

class IpsecSupervisor {
 public:
  // `on_sa_view`: called after every VICI event (the SA view may have changed).
  IpsecSupervisor(boost::asio::io_context& io, const DaemonConfig& config, std::function<void()> on_sa_view);
  ~IpsecSupervisor();

  // Decides system/embedded charon, starts the embedded one if needed, connects. Errors: a message for the log
  // (bad profile, system charon required but absent, embedded charon cannot start).
  Status<SetupError> start();
  // Unload (system charon) or stop (embedded). Blocking for at most a few seconds (embedded charon's exit).
  void stop();

  // SIGHUP: rebuilds the profile from the (updated) configuration and loads it into charon (load-conn and
  // load-shared replace ours; established SAs stay). Errors: the profile's (nothing is changed then).
  Status<SetupError> reload_profile();

  // Whether the L2TP CHILD_SAs get a mark each (on by default). Off when the kernel cannot report a received
  // datagram's mark (no SO_RCVMARK): every PeerAddress then has mark 0, which matches only unmarked SAs. Takes
  // effect with the next start() or reload_profile().
  void set_mark_sas(bool on) { mark_sas_ = on; }
  bool mark_sas() const { return mark_sas_; }

  // The SA a tunnel/session from `peer` runs in (best match among the CHILD_SAs with peer.mark), if any.
  std::optional<ipsec::SaInfo> sa_for(const l2tp::PeerAddress& peer) const;
  // The IKE_SA of the SA that covers `peer`'s L2TP, if any.
  std::optional<uint32_t> ike_of(const l2tp::PeerAddress& peer) const;
  // The IKE_SA to end with `peer`'s last tunnel: only when no other client's SA matches it as well. With marks
  // the peer's mark names its own SA; without, clients behind one NAT may match alike
  // (ipsec::SaRegistry::unique_ike_of).
  std::optional<uint32_t> unique_ike_of(const l2tp::PeerAddress& peer) const;
  // Tunnels lose their SA only when IPsec is required and the SA view mirrors charon's.
  bool enforcing() const { return config_.ipsec.required && link_ready(); }
  // An IKE_SA can be terminated: IPsec required and charon connected.
  bool can_terminate() const;
  // Asks charon to end an IKE_SA (counted in pending_terminates until it answers).
  void terminate_ike(uint32_t ike_id);
  // SIGCHLD: the embedded charon may have exited (restarted with back-off).
  void on_child_exit();
  // Terminate requests still waiting for charon's answer (shutdown waits for them, bounded).
  size_t pending_terminates() const { return pending_terminates_; }

  IpsecView view() const;
  // The view without its SA list (for /metrics, which only counts them: sa_count).
  IpsecView view_without_sas() const;
  size_t sa_count() const;
  const char* mode_name() const;
  bool link_ready() const { return link_ && link_->state() == ipsec::LinkState::kReady; }

 private:
  void arm();
  // One wait for readability or writability of the VICI socket; `pending` is reading_ or writing_.
  void watch(boost::asio::posix::descriptor_base::wait_type what, bool& pending,
             void (vici::Client::*ready)(vici::TimePoint));
  void after_activity();
  void restart_charon();
  std::string config_socket() const;

  boost::asio::io_context& io_;
  const DaemonConfig& config_;
  std::function<void()> on_sa_view_;
  enum class Mode { kNone, kSystem, kEmbedded } mode_ = Mode::kNone;
  std::unique_ptr<ipsec::EmbeddedCharon> charon_;
  ipsec::RestartBackoff backoff_;
  boost::asio::steady_timer restart_timer_;
  std::unique_ptr<vici::Client> client_;
  ipsec::SaRegistry registry_;
  std::unique_ptr<ipsec::CharonLink> link_;
  ipsec::ProfileConfig profile_;
  bool mark_sas_ = true;
  boost::asio::posix::stream_descriptor sd_;
  boost::asio::steady_timer timer_;
  uint64_t generation_ = 0;
  bool reading_ = false, writing_ = false;
  size_t pending_terminates_ = 0;
  bool stopped_ = false;
};

}  // namespace l2tpvpn
