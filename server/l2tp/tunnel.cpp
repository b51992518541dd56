#include "server/l2tp/tunnel.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace l2tpvpn::l2tp {
namespace {

constexpr uint16_t kProtocolVersion = 0x0100;  // §4.4.3: version 1, revision 0
constexpr size_t kChallengeSize = 16;

bool equal_bytes(ByteView a, ByteView b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

// Messages that end their exchange: nothing is sent in reply (§5.1 SCCCN, §5.4.2 ICCN, §5.4.3 OCCN, §5.7 StopCCN,
// §5.4.5 CDN, §6.5 HELLO, §6.14 WEN, §6.15 SLI), so no reply can carry their ack and it goes out at once as a ZLB.
bool ends_exchange(MessageType t) {
  switch (t) {
    case MessageType::kScccn:
    case MessageType::kIccn:
    case MessageType::kOccn:
    case MessageType::kStopccn:
    case MessageType::kCdn:
    case MessageType::kHello:
    case MessageType::kWen:
    case MessageType::kSli: return true;
    default: return false;
  }
}

}  // namespace

std::string_view to_string(TunnelState s) {
  switch (s) {
    case TunnelState::kIdle: return "idle";
    case TunnelState::kWaitCtlReply: return "wait-ctl-reply";
    case TunnelState::kWaitCtlConn: return "wait-ctl-conn";
    case TunnelState::kEstablished: return "established";
    case TunnelState::kClosing: return "closing";
    case TunnelState::kDead: return "dead";
  }
  return "?";
}

std::string_view to_string(SessionState s) {
  switch (s) {
    case SessionState::kWaitTunnel: return "wait-tunnel";
    case SessionState::kWaitReply: return "wait-reply";
    case SessionState::kWaitConnect: return "wait-connect";
    case SessionState::kEstablished: return "established";
  }
  return "?";
}

// RFC 2661 §7.2: the tunnel transitions we accept. Session messages go to session_table() once established.
const std::vector<Tunnel::TunnelTransition>& Tunnel::tunnel_table() {
  using S = TunnelState;
  using M = MessageType;
  static const std::vector<TunnelTransition> table = {
      {S::kIdle, M::kSccrq, &Tunnel::on_sccrq},
      {S::kWaitCtlReply, M::kSccrp, &Tunnel::on_sccrp},
      {S::kWaitCtlConn, M::kScccn, &Tunnel::on_scccn},
      {S::kWaitCtlReply, M::kStopccn, &Tunnel::on_stopccn},
      {S::kWaitCtlConn, M::kStopccn, &Tunnel::on_stopccn},
      {S::kEstablished, M::kStopccn, &Tunnel::on_stopccn},
      {S::kEstablished, M::kHello, &Tunnel::on_hello},
      {S::kWaitCtlConn, M::kHello, &Tunnel::on_hello},
  };
  return table;
}

// RFC 2661 §7.4: (session state, message, are we the call's initiator) -> handler. ICRQ and OCRQ create sessions
// and are handled in on_session_message; CDN is accepted in every state.
const std::vector<Tunnel::SessionTransition>& Tunnel::session_table() {
  using S = SessionState;
  using M = MessageType;
  static const std::vector<SessionTransition> table = {
      // Incoming call, we sent ICRQ (LAC): ICRP -> send ICCN, established.
      {S::kWaitReply, M::kIcrp, true, &Tunnel::on_icrp},
      // Incoming call, we sent ICRP (LNS): ICCN -> established.
      {S::kWaitConnect, M::kIccn, false, &Tunnel::on_iccn},
      // Outgoing call, we sent OCRQ (LNS): OCRP -> wait for OCCN -> established.
      {S::kWaitReply, M::kOcrp, true, &Tunnel::on_ocrp},
      {S::kWaitConnect, M::kOccn, true, &Tunnel::on_occn},
      // Established sessions: error and link info reports.
      {S::kEstablished, M::kWen, false, &Tunnel::on_wen},
      {S::kEstablished, M::kWen, true, &Tunnel::on_wen},
      {S::kEstablished, M::kSli, false, &Tunnel::on_sli},
      {S::kEstablished, M::kSli, true, &Tunnel::on_sli},
  };
  return table;
}

Tunnel::Tunnel(TunnelContext ctx, uint16_t local_id, PeerAddress peer, bool initiator, TimePoint now)
    : ctx_(ctx),
      local_id_(local_id),
      peer_(peer),
      initiator_(initiator),
      state_(TunnelState::kIdle),
      channel_(ctx.config.channel, now) {}

Tunnel::~Tunnel() {
  if (ctx_.session_ids)
    for (const auto& [id, s] : sessions_) ctx_.session_ids->erase(id);
}

Bytes Tunnel::random_bytes(size_t n) const {
  Bytes b(n);
  ctx_.random(b);
  return b;
}

Message Tunnel::base_control_message(MessageType t) const {
  Message m;
  m.type = t;
  m.protocol_version = kProtocolVersion;
  m.host_name = ctx_.config.host_name;
  m.framing_capabilities = ctx_.config.framing_capabilities;
  if (ctx_.config.bearer_capabilities) m.bearer_capabilities = ctx_.config.bearer_capabilities;
  m.firmware_revision = ctx_.config.firmware_revision;
  m.vendor_name = ctx_.config.vendor_name;
  m.assigned_tunnel_id = local_id_;
  m.receive_window_size = ctx_.config.channel.receive_window;
  return m;
}

void Tunnel::send(TimePoint now, uint16_t header_session_id, const Message& m) {
  EncodeOptions eo;
  if (ctx_.config.hide_avps && has_secret()) {
    eo.secret = secret();
    eo.random_vector = random_bytes(16);
    eo.hide = ctx_.config.hidden_avps;
  }
  channel_.send(now, header_session_id, encode_message(m, eo));
  run_channel_actions(now);
}

void Tunnel::run_channel_actions(TimePoint now) {
  // Delivering a message can make the FSM send (and so produce more channel actions): loop until drained.
  for (;;) {
    auto actions = channel_.take_actions();
    if (actions.empty()) return;
    for (auto& a : actions) {
      if (auto* t = std::get_if<Transmit>(&a)) {
        ctx_.actions.push_back(SendDatagram{peer_, local_id_, std::move(t->datagram)});
      } else if (auto* d = std::get_if<Deliver>(&a)) {
        if (state_ == TunnelState::kClosing || state_ == TunnelState::kDead) continue;  // only acked now
        on_message(now, d->session_id, d->avps);
      } else if (std::holds_alternative<HelloDue>(a)) {
        if (state_ == TunnelState::kEstablished) {
          Message hello;
          hello.type = MessageType::kHello;
          send(now, 0, hello);
        }
      } else if (std::holds_alternative<ChannelFailed>(a)) {
        // §5.8: the peer stopped acknowledging. No StopCCN can get through; end everything now.
        if (state_ != TunnelState::kClosing && state_ != TunnelState::kDead)
          enter_closing(now, ResultCode{result::kStopGeneralError, error::kNoError, "peer not responding"}, false);
        state_ = TunnelState::kDead;
      }
    }
  }
}

void Tunnel::start(TimePoint now, std::optional<uint64_t> tie_breaker) {
  Message m = base_control_message(MessageType::kSccrq);
  tie_breaker_ = tie_breaker;
  m.tie_breaker = tie_breaker;
  if (has_secret() && ctx_.config.require_authentication) {
    our_challenge_ = random_bytes(kChallengeSize);
    m.challenge = our_challenge_;
  }
  state_ = TunnelState::kWaitCtlReply;
  send(now, 0, m);
}

void Tunnel::on_control(TimePoint now, const Packet& packet) {
  channel_.on_packet(now, packet.header, packet.payload);
  run_channel_actions(now);
  if (std::exchange(ack_now_, false)) {
    channel_.ack_now();
    run_channel_actions(now);
  }
  enforce_control_bound(now);
}

void Tunnel::enforce_control_bound(TimePoint now) {
  if (!live() || channel_.held_bytes() <= ctx_.config.max_control_bytes) return;
  ++ctx_.drops["control_queue_limit"];
  abandon(now, ResultCode{result::kStopGeneralError, error::kInsufficientResources, "control queue limit"});
}

void Tunnel::on_data(const Packet& packet) {
  Session* s = find_session(packet.header.session_id);
  if (!s || s->state != SessionState::kEstablished) {
    ++ctx_.drops["data_unknown_session"];
    return;
  }
  ctx_.actions.push_back(SessionData{local_id_, s->id, Bytes(packet.payload.begin(), packet.payload.end())});
}

void Tunnel::on_timer(TimePoint now) {
  if (hold_until_ && now >= *hold_until_) {
    state_ = TunnelState::kDead;
    hold_until_.reset();
    return;
  }
  if (state_ == TunnelState::kDead) return;
  channel_.on_timer(now);
  run_channel_actions(now);
  enforce_control_bound(now);
}

std::optional<TimePoint> Tunnel::next_deadline() const {
  if (state_ == TunnelState::kDead) return std::nullopt;
  auto d = channel_.failed() ? std::nullopt : channel_.next_deadline();
  if (hold_until_ && (!d || *hold_until_ < *d)) d = hold_until_;
  return d;
}

void Tunnel::on_message(TimePoint now, uint16_t session_id, ByteView avps) {
  DecodeOptions opts;
  opts.secret = secret();
  auto decoded = decode_message(avps, opts);
  if (!decoded) {
    const DecodeError& e = decoded.error();
    ++ctx_.drops[std::string("message_") + std::string(to_string(e.kind))];
    // §4.4.1: an unknown message type without the M bit is ignored.
    if (e.kind == DecodeErrorKind::kUnknownMessageType && !e.mandatory_message_type) return;
    ResultCode rc{result::kStopGeneralError, e.error_code(), std::string(to_string(e.kind))};
    // §4.1: a bad session message ends the session, a bad tunnel message ends the tunnel.
    if (e.message_type && is_session_message(*e.message_type) && session_id != 0) {
      if (Session* s = find_session(session_id)) {
        close_session(now, s->id, ResultCode{result::kCdnGeneralError, e.error_code(), rc.message});
        return;
      }
    }
    fail(now, rc);
    return;
  }
  const Message& m = *decoded;
  if (ends_exchange(m.type)) ack_now_ = true;
  if (is_session_message(m.type)) {
    if (state_ != TunnelState::kEstablished) {
      fail(now, ResultCode{result::kStopFsmError, error::kNoError,
                           std::string(to_string(m.type)) + " before the tunnel is established"});
      return;
    }
    on_session_message(now, session_id, m);
    return;
  }
  for (const auto& t : tunnel_table()) {
    if (t.state == state_ && t.message == m.type) {
      (this->*t.handler)(now, m);
      return;
    }
  }
  ++ctx_.drops["fsm_unexpected_tunnel_message"];
  fail(now, ResultCode{result::kStopFsmError, error::kNoError,
                       std::string(to_string(m.type)) + " in state " + std::string(to_string(state_))});
}

bool Tunnel::adopt_peer(TimePoint now, const Message& m) {
  peer_id_ = *m.assigned_tunnel_id;
  channel_.set_peer_tunnel_id(peer_id_);
  channel_.set_peer_receive_window(m.receive_window_size.value_or(4));
  peer_host_name_ = m.host_name.value_or("");
  peer_vendor_name_ = m.vendor_name.value_or("");
  if (*m.protocol_version != kProtocolVersion) {
    // §4.4.2 result 5: the Error Code carries the highest version we support.
    fail(now, ResultCode{result::kStopBadProtocolVersion, kProtocolVersion, "only L2TPv2 (1.0) is supported"});
    return false;
  }
  return true;
}

bool Tunnel::challenge_answered(TimePoint now, MessageType carrier, const Message& m) {
  if (our_challenge_.empty()) return true;
  Bytes expect = challenge_response(carrier, secret(), our_challenge_);
  if (m.challenge_response && equal_bytes(*m.challenge_response, expect)) return true;
  ++ctx_.drops["tunnel_auth_failed"];
  fail(now, ResultCode{result::kStopNotAuthorized, error::kNoError, "bad or missing challenge response"});
  return false;
}

void Tunnel::on_sccrq(TimePoint now, const Message& m) {
  if (!adopt_peer(now, m)) return;
  Message reply = base_control_message(MessageType::kSccrp);
  if (m.challenge) {
    if (!has_secret()) {
      fail(now, ResultCode{result::kStopNotAuthorized, error::kNoError, "challenge received but no secret set"});
      return;
    }
    reply.challenge_response = challenge_response(MessageType::kSccrp, secret(), *m.challenge);
  }
  if (has_secret() && ctx_.config.require_authentication) {
    our_challenge_ = random_bytes(kChallengeSize);
    reply.challenge = our_challenge_;
  }
  state_ = TunnelState::kWaitCtlConn;
  send(now, 0, reply);
}

void Tunnel::on_sccrp(TimePoint now, const Message& m) {
  if (!adopt_peer(now, m) || !challenge_answered(now, MessageType::kSccrp, m)) return;
  Message reply;
  reply.type = MessageType::kScccn;
  if (m.challenge) {
    if (!has_secret()) {
      fail(now, ResultCode{result::kStopNotAuthorized, error::kNoError, "challenge received but no secret set"});
      return;
    }
    reply.challenge_response = challenge_response(MessageType::kScccn, secret(), *m.challenge);
  }
  send(now, 0, reply);
  established(now);
}

void Tunnel::on_scccn(TimePoint now, const Message& m) {
  if (!challenge_answered(now, MessageType::kScccn, m)) return;
  established(now);
}

void Tunnel::on_stopccn(TimePoint now, const Message& m) {
  enter_closing(now, m.result_code.value_or(ResultCode{}), true);
}

void Tunnel::on_hello(TimePoint, const Message&) {}  // the channel has already acknowledged it

void Tunnel::established(TimePoint now) {
  state_ = TunnelState::kEstablished;
  ctx_.actions.push_back(TunnelUp{local_id_, peer_id_, peer_, peer_host_name_, peer_vendor_name_});
  for (auto& [id, s] : sessions_)
    if (s.state == SessionState::kWaitTunnel) start_call(now, s);
}

void Tunnel::fail(TimePoint now, ResultCode result) { close(now, std::move(result)); }

void Tunnel::close(TimePoint now, ResultCode result) {
  if (state_ == TunnelState::kClosing || state_ == TunnelState::kDead) return;
  Message stop;
  stop.type = MessageType::kStopccn;
  stop.assigned_tunnel_id = local_id_;
  stop.result_code = result;
  send(now, 0, stop);
  enter_closing(now, std::move(result), false);
}

void Tunnel::abandon(TimePoint now, ResultCode result) {
  if (state_ == TunnelState::kClosing || state_ == TunnelState::kDead) return;
  enter_closing(now, std::move(result), false);
  hold_until_.reset();
  state_ = TunnelState::kDead;
}

void Tunnel::enter_closing(TimePoint now, ResultCode result, bool by_peer) {
  // §5.7: every session of the tunnel ends with it; no CDN is sent for them.
  std::vector<uint16_t> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  for (uint16_t id : ids)
    drop_session(id, ResultCode{result::kCdnLostCarrier, error::kNoError, "tunnel closed"}, std::nullopt,
                 std::nullopt, by_peer);
  state_ = TunnelState::kClosing;
  hold_until_ = now + ctx_.config.stop_hold;
  ctx_.actions.push_back(TunnelDown{local_id_, std::move(result), by_peer});
}

// ---- sessions ----

Tunnel::Session* Tunnel::find_session(uint16_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

uint16_t Tunnel::allocate_session_id() {
  // Random, non-zero, never one this tunnel has used before (§5.4: IDs identify calls for the tunnel's life) nor
  // one another tunnel of the endpoint holds. Every caller creates the session at once, so the ID is marked as
  // held here and released in drop_session.
  if (used_session_ids_.size() >= 65535) return 0;
  auto free = [this](uint16_t id) {
    return id != 0 && !used_session_ids_.count(id) && !(ctx_.session_ids && ctx_.session_ids->contains(id));
  };
  auto take = [this](uint16_t id) {
    used_session_ids_.insert(id);
    if (ctx_.session_ids) ctx_.session_ids->insert(id);
    return id;
  };
  for (int tries = 0; tries < 64; ++tries) {
    uint8_t b[2];
    ctx_.random(b);
    auto id = static_cast<uint16_t>(b[0] << 8 | b[1]);
    if (free(id)) return take(id);
  }
  for (uint32_t n = 1; n <= 65535; ++n)
    if (free(static_cast<uint16_t>(n))) return take(static_cast<uint16_t>(n));
  return 0;
}

std::vector<SessionInfo> Tunnel::sessions() const {
  std::vector<SessionInfo> out;
  for (const auto& [id, s] : sessions_)
    out.push_back(SessionInfo{s.id, s.peer_id, s.state, s.direction, s.initiator, s.serial, s.sequencing_required});
  return out;
}

std::optional<uint16_t> Tunnel::open_call(TimePoint now, CallDirection direction, const std::string& number) {
  if (state_ == TunnelState::kClosing || state_ == TunnelState::kDead) return std::nullopt;
  if (sessions_.size() >= ctx_.config.max_sessions_per_tunnel) return std::nullopt;
  uint16_t id = allocate_session_id();
  if (id == 0) return std::nullopt;
  Session s;
  s.id = id;
  s.direction = direction;
  s.initiator = true;
  s.serial = next_serial_++;
  if (direction == CallDirection::kIncoming)
    s.calling_number = number;
  else
    s.called_number = number;
  auto& ref = sessions_.emplace(id, std::move(s)).first->second;
  if (state_ == TunnelState::kEstablished) start_call(now, ref);
  return id;
}

void Tunnel::start_call(TimePoint now, Session& s) {
  Message m;
  m.assigned_session_id = s.id;
  m.call_serial_number = s.serial;
  if (s.direction == CallDirection::kIncoming) {
    m.type = MessageType::kIcrq;  // §6.6
    m.bearer_type = kBearerAnalog;
    if (!s.calling_number.empty()) m.calling_number = s.calling_number;
  } else {
    m.type = MessageType::kOcrq;  // §6.7
    m.minimum_bps = 0;
    m.maximum_bps = ctx_.config.connect_speed;
    m.bearer_type = kBearerAnalog | kBearerDigital;
    m.framing_type = kFramingSync | kFramingAsync;
    m.called_number = s.called_number;
  }
  s.state = SessionState::kWaitReply;
  send(now, 0, m);
}

void Tunnel::session_up(Session& s) {
  s.state = SessionState::kEstablished;
  ctx_.actions.push_back(SessionUp{local_id_, s.id, peer_id_, s.peer_id, s.direction, peer_, s.sequencing_required,
                                   s.serial, s.calling_number, s.called_number});
}

void Tunnel::drop_session(uint16_t id, ResultCode result, std::optional<PppDisconnectCause> cause,
                          std::optional<Q931Cause> q931, bool by_peer) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  bool was_up = it->second.state == SessionState::kEstablished;
  sessions_.erase(it);
  if (ctx_.session_ids) ctx_.session_ids->erase(id);
  ctx_.actions.push_back(SessionDown{local_id_, id, std::move(result), std::move(cause), std::move(q931), by_peer,
                                     was_up});
}

void Tunnel::send_cdn(TimePoint now, const Session& s, const ResultCode& result,
                      const std::optional<PppDisconnectCause>& cause) {
  Message cdn;
  cdn.type = MessageType::kCdn;  // §6.12
  cdn.result_code = result;
  cdn.assigned_session_id = s.id;
  cdn.ppp_disconnect_cause = cause;
  send(now, s.peer_id, cdn);
}

void Tunnel::close_session(TimePoint now, uint16_t session_id, ResultCode result,
                           std::optional<PppDisconnectCause> cause) {
  Session* s = find_session(session_id);
  if (!s) return;
  if (s->state != SessionState::kWaitTunnel && state_ == TunnelState::kEstablished) send_cdn(now, *s, result, cause);
  drop_session(session_id, std::move(result), std::move(cause), std::nullopt, false);
}

void Tunnel::send_data(uint16_t session_id, ByteView ppp) {
  Session* s = find_session(session_id);
  if (!s || s->state != SessionState::kEstablished) return;
  ctx_.actions.push_back(SendDatagram{peer_, local_id_, encode_data(peer_id_, s->peer_id, ppp)});
}

void Tunnel::send_set_link_info(TimePoint now, uint16_t session_id, Accm accm) {
  Session* s = find_session(session_id);
  if (!s || s->state != SessionState::kEstablished) return;
  Message m;
  m.type = MessageType::kSli;
  m.accm = accm;
  send(now, s->peer_id, m);
}

void Tunnel::send_wan_error_notify(TimePoint now, uint16_t session_id, CallErrors errors) {
  Session* s = find_session(session_id);
  if (!s || s->state != SessionState::kEstablished) return;
  Message m;
  m.type = MessageType::kWen;
  m.call_errors = errors;
  send(now, s->peer_id, m);
}

void Tunnel::on_session_message(TimePoint now, uint16_t header_session_id, const Message& m) {
  // Call requests create a session (§5.4.2, §5.4.3): the header carries session ID 0.
  if (m.type == MessageType::kIcrq || m.type == MessageType::kOcrq) {
    bool allowed = (m.type == MessageType::kIcrq) == (ctx_.config.role == Role::kLns);
    uint16_t id = 0;
    if (allowed && sessions_.size() < ctx_.config.max_sessions_per_tunnel) id = allocate_session_id();
    if (id == 0) {
      // Refuse the call with a CDN carrying our (zero) ID; the header names the peer's session.
      Message cdn;
      cdn.type = MessageType::kCdn;
      cdn.assigned_session_id = 0;
      cdn.result_code = allowed ? ResultCode{result::kCdnTemporaryResources, error::kInsufficientResources,
                                             "session limit reached"}
                                : ResultCode{result::kCdnGeneralError, error::kNoError,
                                             std::string(to_string(m.type)) + " not accepted by this role"};
      ++ctx_.drops[allowed ? "session_limit" : "call_refused"];
      send(now, *m.assigned_session_id, cdn);
      return;
    }
    Session s;
    s.id = id;
    s.peer_id = *m.assigned_session_id;
    s.initiator = false;
    s.serial = *m.call_serial_number;
    s.calling_number = m.calling_number.value_or("");
    s.called_number = m.called_number.value_or("");
    Message reply;
    reply.assigned_session_id = id;
    if (m.type == MessageType::kIcrq) {
      s.direction = CallDirection::kIncoming;
      s.state = SessionState::kWaitConnect;
      sessions_.emplace(id, s);
      reply.type = MessageType::kIcrp;  // §6.7
      send(now, s.peer_id, reply);
    } else {
      // We are the LAC asked to place a call: there is no telephone line to dial, so the call "connects" at once:
      // OCRP then OCCN (§5.4.3).
      s.direction = CallDirection::kOutgoing;
      s.sequencing_required = ctx_.config.sequencing_required;
      auto& ref = sessions_.emplace(id, s).first->second;
      reply.type = MessageType::kOcrp;
      send(now, ref.peer_id, reply);
      Message occn;
      occn.type = MessageType::kOccn;
      occn.tx_connect_speed = ctx_.config.connect_speed;
      occn.framing_type = kFramingSync;
      occn.sequencing_required = ctx_.config.sequencing_required;
      send(now, ref.peer_id, occn);
      session_up(ref);
    }
    return;
  }
  Session* s = find_session(header_session_id);
  if (!s && m.type == MessageType::kCdn && m.assigned_session_id) {
    // A CDN may name the call by the peer's own ID when it never learned ours.
    for (auto& [id, cand] : sessions_)
      if (cand.peer_id == *m.assigned_session_id) s = &cand;
  }
  if (!s) {
    ++ctx_.drops["session_unknown"];
    return;
  }
  if (m.type == MessageType::kCdn) {
    on_cdn(now, *s, m);
    return;
  }
  for (const auto& t : session_table()) {
    if (t.state == s->state && t.message == m.type && t.initiator == s->initiator) {
      (this->*t.handler)(now, *s, m);
      return;
    }
  }
  ++ctx_.drops["fsm_unexpected_session_message"];
  close_session(now, s->id,
                ResultCode{result::kCdnGeneralError, error::kNoError,
                           std::string(to_string(m.type)) + " in session state " + std::string(to_string(s->state))});
}

void Tunnel::on_icrp(TimePoint now, Session& s, const Message& m) {
  s.peer_id = *m.assigned_session_id;
  s.sequencing_required = ctx_.config.sequencing_required;
  Message iccn;
  iccn.type = MessageType::kIccn;  // §6.8
  iccn.tx_connect_speed = ctx_.config.connect_speed;
  iccn.framing_type = kFramingSync;
  iccn.sequencing_required = ctx_.config.sequencing_required;
  send(now, s.peer_id, iccn);
  session_up(s);
}

void Tunnel::on_iccn(TimePoint, Session& s, const Message& m) {
  s.sequencing_required = m.sequencing_required;
  session_up(s);
}

void Tunnel::on_ocrp(TimePoint, Session& s, const Message& m) {
  s.peer_id = *m.assigned_session_id;
  s.state = SessionState::kWaitConnect;
}

void Tunnel::on_occn(TimePoint, Session& s, const Message& m) {
  s.sequencing_required = m.sequencing_required;
  session_up(s);
}

void Tunnel::on_cdn(TimePoint, Session& s, const Message& m) {
  drop_session(s.id, m.result_code.value_or(ResultCode{}), m.ppp_disconnect_cause, m.q931_cause, true);
}

void Tunnel::on_wen(TimePoint, Session& s, const Message& m) {
  ctx_.actions.push_back(WanErrors{local_id_, s.id, *m.call_errors});
}

void Tunnel::on_sli(TimePoint, Session& s, const Message& m) {
  ctx_.actions.push_back(LinkInfo{local_id_, s.id, *m.accm});
}

}  // namespace l2tpvpn::l2tp
