// RFC 3193 in the lifecycle (pure): L2TP lives inside the peer's IPsec SA, so the two start and end together.
//   - An SCCRQ arrives (admission(), step 3): a tunnel is opened only for a peer whose transport SA is in the SA
//     view, and only while that view mirrors charon's. While the link to charon is down or still syncing, the view
//     is the last one seen and may list SAs charon has lost (charon killed: its SAs were purged from the kernel):
//     nobody is admitted then (fail closed), and existing tunnels wait for the re-synced view below.
//   - The SA view changed (or charon's link came up): every live tunnel whose peer (address and port, as the
//     transport SA's selector names it, and the mark of the SA its datagrams come through: clients behind one NAT
//     share address and port) has no SA any more is closed with StopCCN "IPsec SA ended". A tunnel must not
//     outlive the SA its packets are protected by.
//   - A tunnel ended: if its peer has no other live tunnel (one being set up counts: a client reconnecting inside
//     its SA), that peer's IKE_SA is terminated, as a client that hangs up expects.
// Both are decided from the endpoint's tunnels and an SA lookup passed in; the driver runs the actions
// (CloseTunnel through the endpoint, TerminateIke through the IPsec supervisor).
//
// Thread-safety: none (one event-loop thread).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <variant>
#include <vector>

#include "server/l2tp/events.hpp"
#include "server/vpn/sessions.hpp"

namespace l2tpvpn::vpn {

struct TunnelRef {
  uint16_t id = 0;
  l2tp::PeerAddress peer;
  bool live = false;  // not closing or dead
};

struct TerminateIke {
  uint32_t ike_id = 0;
  l2tp::PeerAddress peer;
};

using CouplingAction = std::variant<CloseTunnel, TerminateIke, Log>;

// The IKE_SA whose transport SA covers this peer's L2TP (its address, port and mark), if any.
using SaLookup = std::function<std::optional<uint32_t>(const l2tp::PeerAddress&)>;

// Whether `peer` may open a tunnel. `ipsec_required`: otherwise every peer is admitted. `view_in_sync`: the SA
// view mirrors charon's (link ready); otherwise kNotReady without consulting `sa_of`. Then kAdmit when `sa_of`
// finds an SA for the peer (address and port), else kRefuse.
l2tp::Admission admission(bool ipsec_required, bool view_in_sync, const l2tp::PeerAddress& peer,
                          const SaLookup& sa_of);

class Coupling {
 public:
  // `enforce`: IPsec is required and the SA view is in sync with charon (otherwise nothing is closed).
  void sas_changed(bool enforce, const std::vector<TunnelRef>& tunnels, const SaLookup& sa_of);
  // `can_terminate`: IPsec is required and charon can be asked.
  void tunnel_closed(bool can_terminate, const l2tp::PeerAddress& peer, const std::vector<TunnelRef>& tunnels,
                     const SaLookup& sa_of);

  std::vector<CouplingAction> take_actions();
  uint64_t tunnels_closed_for_sa() const { return tunnels_closed_for_sa_; }
  uint64_t ike_terminated() const { return ike_terminated_; }

 private:
  std::vector<CouplingAction> actions_;
  uint64_t tunnels_closed_for_sa_ = 0, ike_terminated_ = 0;
};

}  // namespace l2tpvpn::vpn
