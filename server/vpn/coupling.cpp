#include "server/vpn/coupling.hpp"

namespace l2tpvpn::vpn {

l2tp::Admission admission(bool ipsec_required, bool view_in_sync, const l2tp::PeerAddress& peer,
                          const SaLookup& sa_of) {
  if (!ipsec_required) return l2tp::Admission::kAdmit;
  if (!view_in_sync) return l2tp::Admission::kNotReady;
  return sa_of(peer) ? l2tp::Admission::kAdmit : l2tp::Admission::kRefuse;
}

void Coupling::sas_changed(bool enforce, const std::vector<TunnelRef>& tunnels, const SaLookup& sa_of) {
  if (!enforce) return;
  for (const auto& t : tunnels) {
    if (!t.live || sa_of(t.peer)) continue;
    actions_.push_back(Log{log::Level::kInfo, "event=tunnel_without_sa tunnel=" + std::to_string(t.id) +
                                                   " action=stopccn"});
    CloseTunnel close;
    close.tunnel_id = t.id;
    close.result = l2tp::ResultCode{l2tp::result::kStopGeneralRequest, std::nullopt, "IPsec SA ended"};
    actions_.emplace_back(std::in_place_type<CloseTunnel>, std::move(close));
    ++tunnels_closed_for_sa_;
  }
}

void Coupling::tunnel_closed(bool can_terminate, const l2tp::PeerAddress& peer,
                             const std::vector<TunnelRef>& tunnels, const SaLookup& sa_of) {
  if (!can_terminate) return;
  for (const auto& t : tunnels)
    if (t.live && t.peer == peer) return;  // the peer still has a tunnel in this SA
  auto ike = sa_of(peer);
  if (!ike) return;
  actions_.push_back(Log{log::Level::kInfo, "event=ike_terminate ike_id=" + std::to_string(*ike) + " peer=" +
                                                 peer.to_string() + " reason=\"last L2TP tunnel closed\""});
  TerminateIke terminate;
  terminate.ike_id = *ike;
  terminate.peer = peer;
  actions_.emplace_back(std::in_place_type<TerminateIke>, std::move(terminate));
  ++ike_terminated_;
}

std::vector<CouplingAction> Coupling::take_actions() {
  std::vector<CouplingAction> out;
  out.swap(actions_);
  return out;
}

}  // namespace l2tpvpn::vpn
