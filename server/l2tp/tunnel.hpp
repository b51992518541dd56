// One L2TP control connection and its calls (RFC 2661 §5, §7): the tunnel FSM and the session FSMs, sans-IO.
//
// The tunnel owns its reliable control channel. Every allowed (state, message) pair is listed once in a
// transition table in tunnel.cpp (fizz's FIZZ_DECLARE_EVENT_HANDLER idea); a message that arrives in a state that
// does not list it is an FSM error and answered with StopCCN (tunnel messages) or CDN (session messages).
// Outputs go to the Action vector of the TunnelContext. Time and randomness come from the caller.
//
// Thread-safety: none; driven by the endpoint's thread.
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/l2tp/control_channel.hpp"
#include "server/l2tp/events.hpp"
#include "server/l2tp/header.hpp"
#include "server/l2tp/message.hpp"

namespace l2tpvpn::l2tp {

enum class TunnelState : uint8_t {
  kIdle,          // responder before the SCCRQ is processed
  kWaitCtlReply,  // initiator: SCCRQ sent
  kWaitCtlConn,   // responder: SCCRP sent
  kEstablished,
  kClosing,       // StopCCN sent or received: held for stop_hold (§5.7), then dead
  kDead,          // may be destroyed; its ID may be reused
};
std::string_view to_string(TunnelState s);

enum class SessionState : uint8_t {
  kWaitTunnel,   // call requested before the tunnel is up
  kWaitReply,    // ICRQ or OCRQ sent
  kWaitConnect,  // ICRP sent (incoming, responder) or OCRP received (outgoing, initiator)
  kEstablished,
};
std::string_view to_string(SessionState s);

// The local session IDs every tunnel of an endpoint holds, one bit per ID: a new session never takes an ID
// another tunnel holds (kept apart so that kernel data paths stay apart even when two tunnels share a UDP
// 4-tuple, a LAC that opens several tunnels from one port, where the kernel may deliver one tunnel's data to the
// other's socket). Checking an ID costs the same with 10 sessions as with 10,000.
// Thread-safety: none.
class SessionIds {
 public:
  bool contains(uint16_t id) const { return bits_.test(id); }
  void insert(uint16_t id) {
    if (!bits_.test(id)) ++count_;
    bits_.set(id);
  }
  void erase(uint16_t id) {
    if (bits_.test(id)) --count_;
    bits_.reset(id);
  }
  size_t size() const { return count_; }

 private:
  std::bitset<65536> bits_;
  size_t count_ = 0;
};

struct TunnelContext {
  const L2tpConfig& config;
  const RandomFn& random;
  std::vector<Action>& actions;
  DropCounters& drops;
  // The session IDs held across the endpoint; the tunnel adds the IDs of its sessions and takes them out when
  // they end (or it is destroyed). Null: IDs are unique within this tunnel only.
  SessionIds* session_ids = nullptr;
  // When set, owns `config`: the endpoint may replace its configuration (Endpoint::set_config) while this tunnel
  // still runs on the one it was created with.
  std::shared_ptr<const L2tpConfig> config_owner = {};
};

struct SessionInfo {
  uint16_t session_id;
  uint16_t peer_session_id;
  SessionState state;
  CallDirection direction;
  bool initiator;
  uint32_t call_serial_number;
  bool sequencing_required;
};

class Tunnel {
 public:
  // `initiator`: we send the SCCRQ (LAC-style); otherwise we wait for one.
  Tunnel(TunnelContext ctx, uint16_t local_id, PeerAddress peer, bool initiator, TimePoint now);
  ~Tunnel();
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // Initiator: sends the SCCRQ. `tie_breaker` (§4.4.3) is included when set.
  void start(TimePoint now, std::optional<uint64_t> tie_breaker);

  // A control packet addressed to this tunnel (or an SCCRQ that created it). Afterwards, and after on_timer, a
  // tunnel that holds more than config.max_control_bytes of unacknowledged control messages (a peer advertising
  // a small window, acknowledging slowly and asking for replies) is dropped at once without a StopCCN, which
  // could not get through either; counted as "control_queue_limit".
  // A message that ends its exchange (no reply will ever carry the ack: SCCCN, ICCN, OCCN, StopCCN, CDN, HELLO,
  // WEN, SLI) is acknowledged at once with a ZLB instead of after the channel's ack_delay.
  void on_control(TimePoint now, const Packet& packet);
  // A data packet addressed to this tunnel (userspace data path).
  void on_data(const Packet& packet);
  void on_timer(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  // Places a call (ICRQ for kIncoming as LAC, OCRQ for kOutgoing as LNS). Returns the local session ID, or nullopt
  // when the tunnel is closing or the session limit is reached. Queued until the tunnel is established.
  std::optional<uint16_t> open_call(TimePoint now, CallDirection direction, const std::string& number);
  // Sends CDN for a session (§5.4.5) and forgets it. Reports SessionDown{by_peer = false}.
  void close_session(TimePoint now, uint16_t session_id, ResultCode result,
                     std::optional<PppDisconnectCause> cause = std::nullopt);
  // Sends StopCCN (§5.7), ends every session and holds the tunnel in kClosing.
  void close(TimePoint now, ResultCode result);
  // Drops the tunnel without telling the peer (§4.4.3: the loser of a tie discards its own SCCRQ). Dead at once.
  void abandon(TimePoint now, ResultCode result);
  // Userspace data path: a PPP frame for the peer.
  void send_data(uint16_t session_id, ByteView ppp);
  // LNS -> LAC Set-Link-Info (§6.15).
  void send_set_link_info(TimePoint now, uint16_t session_id, Accm accm);
  // LAC -> LNS WAN-Error-Notify (§6.14).
  void send_wan_error_notify(TimePoint now, uint16_t session_id, CallErrors errors);

  uint16_t id() const { return local_id_; }
  bool initiator() const { return initiator_; }
  uint16_t peer_id() const { return peer_id_; }
  const PeerAddress& peer() const { return peer_; }
  TunnelState state() const { return state_; }
  // Not closing or dead: the tunnel keeps its peer's IPsec SA in use.
  bool live() const { return state_ != TunnelState::kClosing && state_ != TunnelState::kDead; }
  // Not dead: the tunnel holds its ID and memory (a closing one for stop_hold), so it counts toward the limits.
  bool held() const { return state_ != TunnelState::kDead; }
  size_t held_control_bytes() const { return channel_.held_bytes(); }
  const std::string& peer_host_name() const { return peer_host_name_; }
  std::optional<uint64_t> tie_breaker() const { return tie_breaker_; }
  std::vector<SessionInfo> sessions() const;
  bool has_session(uint16_t id) const { return sessions_.count(id) != 0; }
  size_t session_count() const { return sessions_.size(); }
  const ControlChannelStats& channel_stats() const { return channel_.stats(); }

 private:
  struct Session {
    uint16_t id = 0;
    uint16_t peer_id = 0;
    SessionState state = SessionState::kWaitTunnel;
    CallDirection direction = CallDirection::kIncoming;
    bool initiator = false;
    uint32_t serial = 0;
    bool sequencing_required = false;
    std::string calling_number;
    std::string called_number;
  };
  using TunnelHandler = void (Tunnel::*)(TimePoint, const Message&);
  using SessionHandler = void (Tunnel::*)(TimePoint, Session&, const Message&);
  struct TunnelTransition {
    TunnelState state;
    MessageType message;
    TunnelHandler handler;
  };
  struct SessionTransition {
    SessionState state;
    MessageType message;
    bool initiator;  // which side of the call we are
    SessionHandler handler;
  };
  static const std::vector<TunnelTransition>& tunnel_table();
  static const std::vector<SessionTransition>& session_table();

  void run_channel_actions(TimePoint now);
  void enforce_control_bound(TimePoint now);
  void on_message(TimePoint now, uint16_t session_id, ByteView avps);
  void on_session_message(TimePoint now, uint16_t header_session_id, const Message& m);
  void send(TimePoint now, uint16_t header_session_id, const Message& m);
  Message base_control_message(MessageType t) const;
  Bytes random_bytes(size_t n) const;
  bool has_secret() const { return !ctx_.config.secret.empty(); }
  ByteView secret() const { return as_bytes(ctx_.config.secret); }
  // Takes the peer's tunnel ID, window and names from SCCRQ/SCCRP; false (StopCCN sent) on a bad version.
  bool adopt_peer(TimePoint now, const Message& m);
  // §5.1.1: checks the response to the challenge we sent; false (StopCCN result 4 sent) if wrong or missing.
  bool challenge_answered(TimePoint now, MessageType carrier, const Message& m);
  void established(TimePoint now);
  void enter_closing(TimePoint now, ResultCode result, bool by_peer);
  void fail(TimePoint now, ResultCode result);  // send StopCCN and close
  uint16_t allocate_session_id();
  void start_call(TimePoint now, Session& s);
  void session_up(Session& s);
  void drop_session(uint16_t id, ResultCode result, std::optional<PppDisconnectCause> cause,
                    std::optional<Q931Cause> q931, bool by_peer);
  void send_cdn(TimePoint now, const Session& s, const ResultCode& result,
                const std::optional<PppDisconnectCause>& cause);
  Session* find_session(uint16_t id);

  // Tunnel handlers (RFC 2661 §7.2).
  void on_sccrq(TimePoint now, const Message& m);
  void on_sccrp(TimePoint now, const Message& m);
  void on_scccn(TimePoint now, const Message& m);
  void on_stopccn(TimePoint now, const Message& m);
  void on_hello(TimePoint now, const Message& m);
  // Session handlers (RFC 2661 §7.4).
  void on_icrp(TimePoint now, Session& s, const Message& m);
  void on_iccn(TimePoint now, Session& s, const Message& m);
  void on_ocrp(TimePoint now, Session& s, const Message& m);
  void on_occn(TimePoint now, Session& s, const Message& m);
  void on_cdn(TimePoint now, Session& s, const Message& m);
  void on_wen(TimePoint now, Session& s, const Message& m);
  void on_sli(TimePoint now, Session& s, const Message& m);

  TunnelContext ctx_;
  uint16_t local_id_;
  uint16_t peer_id_ = 0;
  PeerAddress peer_;
  bool initiator_;
  TunnelState state_;
  ControlChannel channel_;
  std::string peer_host_name_;
  std::string peer_vendor_name_;
  std::optional<uint64_t> tie_breaker_;
  Bytes our_challenge_;  // sent in SCCRQ/SCCRP; the peer must answer it
  std::optional<TimePoint> hold_until_;
  std::map<uint16_t, Session> sessions_;
  std::set<uint16_t> used_session_ids_;  // never reused while this tunnel lives
  uint32_t next_serial_ = 1;
  bool ack_now_ = false;  // a delivered message ended its exchange: acknowledge it before on_control returns
};

}  // namespace l2tpvpn::l2tp
