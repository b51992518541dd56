#include "server/l2tp/endpoint.hpp"

#include <algorithm>
#include <chrono>

#include <cstdio>

namespace l2tpvpn::l2tp {

PeerAddress PeerAddress::v4(uint32_t ip, uint16_t port, uint32_t mark) {
  PeerAddress p;
  p.mark = mark;
  p.family = Family::kV4;
  p.ip[0] = static_cast<uint8_t>(ip >> 24);
  p.ip[1] = static_cast<uint8_t>(ip >> 16);
  p.ip[2] = static_cast<uint8_t>(ip >> 8);
  p.ip[3] = static_cast<uint8_t>(ip);
  p.port = port;
  return p;
}

std::string PeerAddress::host_string() const {
  char buf[64];
  if (family == Family::kV4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
    return buf;
  }
  std::string out;
  for (int i = 0; i < 16; i += 2) {
    std::snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", (ip[i] << 8) | ip[i + 1]);
    out += buf;
  }
  return out;
}

std::string PeerAddress::endpoint_string() const {
  std::string h = host_string();
  if (family == Family::kV6) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

std::string PeerAddress::to_string() const {
  return mark == 0 ? endpoint_string() : endpoint_string() + "#" + std::to_string(mark);
}

Endpoint::Endpoint(L2tpConfig config, RandomFn random, AdmissionFn admission)
    : config_(std::make_shared<const L2tpConfig>(std::move(config))),
      random_(std::move(random)),
      admission_(std::move(admission)) {}

std::vector<Action> Endpoint::take_actions() {
  reap();
  return std::exchange(actions_, {});
}

Tunnel* Endpoint::find(uint16_t id) {
  auto it = tunnels_.find(id);
  return it == tunnels_.end() ? nullptr : it->second.tunnel.get();
}

const Tunnel* Endpoint::tunnel(uint16_t id) const {
  auto it = tunnels_.find(id);
  return it == tunnels_.end() ? nullptr : it->second.tunnel.get();
}

std::vector<const Tunnel*> Endpoint::tunnels() const {
  std::vector<const Tunnel*> out;
  out.reserve(tunnels_.size());
  for (const auto& [id, e] : tunnels_) out.push_back(e.tunnel.get());
  std::sort(out.begin(), out.end(), [](const Tunnel* a, const Tunnel* b) { return a->id() < b->id(); });
  return out;
}

size_t Endpoint::tunnels_to(const PeerAddress& peer) const {
  auto it = held_per_host_.find(peer.host());
  return it == held_per_host_.end() ? 0 : it->second;
}

namespace {
bool is_live(TunnelState s) { return s != TunnelState::kClosing && s != TunnelState::kDead; }
bool is_held(TunnelState s) { return s != TunnelState::kDead; }
bool is_tie_breaking(const Tunnel& t, TunnelState s) {
  return t.initiator() && s == TunnelState::kWaitCtlReply && t.tie_breaker();
}
// A responder that a retransmission of the SCCRQ that created it still belongs to (see on_sccrq).
bool is_answering(const Tunnel& t, TunnelState s) {
  return !t.initiator() && (s == TunnelState::kIdle || s == TunnelState::kWaitCtlConn);
}
}  // namespace

void Endpoint::refile(uint16_t id) {
  auto it = tunnels_.find(id);
  if (it != tunnels_.end()) refile(it->second);
}

void Endpoint::refile(Entry& e) {
  const Tunnel& t = *e.tunnel;
  const uint16_t id = t.id();
  const TunnelState was = e.filed_state, is = t.state();
  if (was != is) {
    live_ -= is_live(was);
    live_ += is_live(is);
    tie_breaking_ -= is_tie_breaking(t, was);
    tie_breaking_ += is_tie_breaking(t, is);
    if (is_held(was) && !is_held(is)) {  // dead is final
      --held_;
      auto h = held_per_host_.find(t.peer().host());
      if (h != held_per_host_.end() && --h->second == 0) held_per_host_.erase(h);
      dead_.push_back(id);
    }
    e.filed_state = is;
  }
  const bool answering = is_answering(t, is);
  if (e.filed_peer_id && (!answering || *e.filed_peer_id != t.peer_id())) {
    auto a = answering_.find(SccrqKey{t.peer(), *e.filed_peer_id});
    if (a != answering_.end() && a->second == id) answering_.erase(a);
    e.filed_peer_id.reset();
  }
  if (answering && !e.filed_peer_id && answering_.try_emplace(SccrqKey{t.peer(), t.peer_id()}, id).second)
    e.filed_peer_id = t.peer_id();
  const auto deadline = t.next_deadline();
  if (deadline != e.filed_deadline) {
    if (e.filed_deadline) deadlines_.erase({*e.filed_deadline, id});
    if (deadline) deadlines_.emplace(*deadline, id);
    e.filed_deadline = deadline;
  }
}

double Endpoint::refilled(const RateBucket& b, TimePoint now) const {
  const double rate = config_->max_control_rate;
  if (now <= b.last) return b.tokens;
  return std::min(2.0 * rate, b.tokens + std::chrono::duration<double>(now - b.last).count() * rate);
}

bool Endpoint::take_control_token(TimePoint now, const PeerAddress& from) {
  const uint32_t rate = config_->max_control_rate;
  if (rate == 0) return true;
  if (buckets_.size() >= bucket_gc_at_) forget_idle_buckets(now);
  RateBucket& b = buckets_.try_emplace(from.host(), RateBucket{2.0 * rate, now}).first->second;
  b.tokens = refilled(b, now);
  b.last = std::max(b.last, now);
  if (b.tokens < 1.0) {
    ++drops_["control_rate_limit"];
    return false;
  }
  b.tokens -= 1.0;
  return true;
}

std::optional<uint16_t> Endpoint::allocate_tunnel_id() {
  // Random and non-zero; a held (closing) tunnel keeps its ID until it is reaped, so IDs are never reused while
  // the peer may still send to the old tunnel.
  if (tunnels_.size() >= 65535) return std::nullopt;
  for (int tries = 0; tries < 64; ++tries) {
    uint8_t b[2];
    random_(b);
    uint16_t id = static_cast<uint16_t>(b[0] << 8 | b[1]);
    if (id != 0 && !tunnels_.count(id)) return id;
  }
  for (uint32_t id = 1; id <= 65535; ++id)
    if (!tunnels_.count(static_cast<uint16_t>(id))) return static_cast<uint16_t>(id);
  return std::nullopt;
}

void Endpoint::set_config(L2tpConfig config) {
  config_ = std::make_shared<const L2tpConfig>(std::move(config));
}

Tunnel& Endpoint::create(TimePoint now, uint16_t id, const PeerAddress& peer, bool initiator) {
  Entry& e = tunnels_[id];
  e.tunnel = std::make_unique<Tunnel>(TunnelContext{*config_, random_, actions_, drops_, &session_ids_, config_}, id,
                                      peer, initiator, now);
  e.filed_state = TunnelState::kIdle;
  ++held_;
  ++live_;
  ++held_per_host_[peer.host()];
  ++stats_.tunnels_created;
  return *e.tunnel;
}

std::optional<uint16_t> Endpoint::open_tunnel(TimePoint now, const PeerAddress& peer) {
  if (held_tunnel_count() >= config_->max_tunnels) return std::nullopt;
  auto id = allocate_tunnel_id();
  if (!id) return std::nullopt;
  uint64_t tie = 0;
  random_(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&tie), sizeof tie));
  create(now, *id, peer, true).start(now, tie);
  refile(*id);
  return id;
}

std::optional<uint16_t> Endpoint::open_call(TimePoint now, uint16_t tunnel_id, CallDirection direction,
                                            const std::string& number) {
  Tunnel* t = find(tunnel_id);
  if (!t) return std::nullopt;
  auto sid = t->open_call(now, direction, number);
  refile(tunnel_id);
  return sid;
}

void Endpoint::close_session(TimePoint now, uint16_t tunnel_id, uint16_t session_id, ResultCode result,
                             std::optional<PppDisconnectCause> cause) {
  if (Tunnel* t = find(tunnel_id)) {
    t->close_session(now, session_id, std::move(result), std::move(cause));
    refile(tunnel_id);
  }
}

void Endpoint::close_tunnel(TimePoint now, uint16_t tunnel_id, ResultCode result) {
  if (Tunnel* t = find(tunnel_id)) {
    t->close(now, std::move(result));
    refile(tunnel_id);
  }
}

void Endpoint::close_all(TimePoint now, ResultCode result) {
  for (auto& [id, e] : tunnels_) {
    e.tunnel->close(now, result);
    refile(e);
  }
}

void Endpoint::send_data(uint16_t tunnel_id, uint16_t session_id, ByteView ppp) {
  if (Tunnel* t = find(tunnel_id)) t->send_data(session_id, ppp);
}

void Endpoint::send_set_link_info(TimePoint now, uint16_t tunnel_id, uint16_t session_id, Accm accm) {
  if (Tunnel* t = find(tunnel_id)) {
    t->send_set_link_info(now, session_id, accm);
    refile(tunnel_id);
  }
}

void Endpoint::send_wan_error_notify(TimePoint now, uint16_t tunnel_id, uint16_t session_id, CallErrors errors) {
  if (Tunnel* t = find(tunnel_id)) {
    t->send_wan_error_notify(now, session_id, errors);
    refile(tunnel_id);
  }
}

void Endpoint::on_datagram(TimePoint now, const PeerAddress& from, ByteView datagram) {
  ++stats_.datagrams;
  auto packet = decode_packet(datagram);
  if (!packet) {
    ++drops_[std::string("header_") + std::string(to_string(packet.error()))];
    return;
  }
  const Header& h = packet->header;
  if (!h.control) {
    ++stats_.data;
    Tunnel* t = find(h.tunnel_id);
    if (!t || !t->peer().same_client(from)) {
      ++drops_["data_unknown_tunnel"];
      return;
    }
    t->on_data(*packet);
    return;
  }
  ++stats_.control;
  if (h.tunnel_id == 0) {
    on_sccrq(now, from, *packet);
    return;
  }
  Tunnel* t = find(h.tunnel_id);
  if (!t) {
    ++drops_["unknown_tunnel"];
    return;
  }
  if (!t->peer().same_client(from)) {
    ++drops_["wrong_peer"];
    return;
  }
  if (!take_control_token(now, from)) return;
  t->on_control(now, *packet);
  refile(h.tunnel_id);
}

void Endpoint::on_sccrq(TimePoint now, const PeerAddress& from, const Packet& packet) {
  // Admission first: a peer without an SA gets nothing decoded (no AVP parsing, no hidden-AVP MD5), only a count.
  if (admission_) {
    switch (admission_(from)) {
      case Admission::kAdmit: break;
      case Admission::kRefuse: ++drops_["not_admitted"]; return;
      case Admission::kNotReady: ++drops_["ipsec_not_ready"]; return;
    }
  }
  if (!take_control_token(now, from)) return;
  // Only an SCCRQ may be sent to tunnel 0 (§3.1: the peer does not know our ID yet). Decoding here costs one
  // parse of a short message; the new tunnel decodes it again when its channel delivers it.
  DecodeOptions opts;
  opts.secret = as_bytes(config_->secret);
  auto m = decode_message(packet.payload, opts);
  if (!m) {
    ++drops_[std::string("tunnel0_") + std::string(to_string(m.error().kind))];
    return;
  }
  if (m->type != MessageType::kSccrq) {
    ++drops_["tunnel0_not_sccrq"];
    return;
  }
  // A retransmitted SCCRQ belongs to the tunnel it already created: same peer, same Assigned Tunnel ID, and that
  // tunnel still waiting for the SCCCN (our SCCRP may have been lost). Past that point the same triple is a new
  // control connection: a client that reconnects from the same address and port (Windows always sends from
  // 1701) and happens to pick its old tunnel ID again while the old tunnel is held closing (§5.7) or, after a
  // crash of the client, still established. Handing that SCCRQ to the old tunnel would have it acknowledged as a
  // duplicate and never answered.
  if (auto a = answering_.find(SccrqKey{from, *m->assigned_tunnel_id}); a != answering_.end()) {
    const uint16_t id = a->second;
    find(id)->on_control(now, packet);
    refile(id);
    return;
  }
  // §4.4.3 tie breaker: we have our own SCCRQ outstanding to this peer, and both carry a tie breaker. Only a LAC
  // ever has one outstanding; an LNS skips the search.
  if (m->tie_breaker && tie_breaking_ > 0) {
    std::vector<uint16_t> ours;
    for (auto& [id, e] : tunnels_)
      if (e.tunnel->peer().same_client(from) && is_tie_breaking(*e.tunnel, e.tunnel->state())) ours.push_back(id);
    std::sort(ours.begin(), ours.end());
    for (uint16_t id : ours) {
      Tunnel& t = *find(id);
      if (*t.tie_breaker() < *m->tie_breaker) {  // ours wins: ignore theirs
        ++drops_["tie_breaker_lost_by_peer"];
        return;
      }
      // Theirs wins (or a tie: both are discarded). Our attempt is dropped without a StopCCN.
      t.abandon(now, ResultCode{result::kStopChannelExists, error::kNoError, "tie breaker"});
      refile(id);
      if (*t.tie_breaker() == *m->tie_breaker) {
        ++drops_["tie_breaker_equal"];
        return;
      }
    }
  }
  if (held_tunnel_count() >= config_->max_tunnels || tunnels_to(from) >= config_->max_tunnels_per_peer) {
    ++drops_["tunnel_limit"];
    return;
  }
  auto id = allocate_tunnel_id();
  if (!id) {
    ++drops_["tunnel_ids_exhausted"];
    return;
  }
  create(now, *id, from, false).on_control(now, packet);
  refile(*id);
}

void Endpoint::on_timer(TimePoint now) {
  std::vector<uint16_t> due;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now; ++it) due.push_back(it->second);
  for (uint16_t id : due) {
    auto it = tunnels_.find(id);
    if (it == tunnels_.end()) continue;
    it->second.tunnel->on_timer(now);
    refile(it->second);
  }
  reap();
  if (now >= bucket_gc_due_) {
    forget_idle_buckets(now);
    bucket_gc_due_ = now + Duration(1000);
  }
}

std::optional<TimePoint> Endpoint::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void Endpoint::forget_idle_buckets(TimePoint now) {
  // A rate bucket is kept while its address holds a tunnel; without one it goes once it has filled up again
  // (forgetting it then loses nothing), so the table stays as small as the set of recent peers.
  // It runs at most once a second from the timer, and when the table has doubled; held_per_host_ answers "does
  // this address hold a tunnel" without a walk over the tunnels.
  if (buckets_.empty()) return;
  const double burst = 2.0 * config_->max_control_rate;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (refilled(it->second, now) >= burst && !held_per_host_.count(it->first))
      it = buckets_.erase(it);
    else
      ++it;
  }
  bucket_gc_at_ = 2 * buckets_.size() + 64;
}

void Endpoint::reap() {
  for (uint16_t id : std::exchange(dead_, {})) {
    auto it = tunnels_.find(id);
    if (it == tunnels_.end()) continue;
    stats_.retransmissions_of_gone_tunnels += it->second.tunnel->channel_stats().retransmissions;
    tunnels_.erase(it);
  }
}

}  // namespace l2tpvpn::l2tp
