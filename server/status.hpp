// The daemon's state as one typed value (StatusSnapshot), and its renderings (pure): the JSON of /status and of
// l2tpvpnctl's `status` control request, exactly as docs/status.schema.json says (fields are only ever added),
// and the Prometheus text of /metrics. Each part of the daemon fills its own view (l2tp_view from the endpoint,
// IpsecSupervisor::view, SessionManager::session_views). The reader (status_from_json) takes a document back
// into the same types for l2tpvpnctl's tables; writer and reader share one list of each view's fields, so a key
// is spelt in one place.
//
// Peer-chosen strings (the tunnel's Host Name, the authenticated user name) are kept as the bytes the peer sent;
// the renderers escape them (common/display.hpp), so no renderer sees invalid UTF-8 raw.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ppp/hdlc.hpp"
#include "server/connection_limit.hpp"
#include "server/l2tp/control_channel.hpp"
#include "server/l2tp/endpoint.hpp"

namespace l2tpvpn {

struct L2tpSessionView {
  uint16_t id = 0, peer_id = 0;
  l2tp::SessionState state{};
  l2tp::CallDirection direction{};
  uint32_t call_serial = 0;
  bool sequencing = false;
};

struct TunnelView {
  uint16_t id = 0, peer_id = 0;
  std::string peer;            // "a.b.c.d:port" (PeerAddress::endpoint_string): clients behind one NAT may share
                               // it and differ by peer_mark only
  uint32_t peer_mark = 0;      // the mark of the IPsec SA the peer's datagrams come through; 0: none
  std::string peer_host_name;  // raw bytes from the peer
  l2tp::TunnelState state{};
  std::vector<L2tpSessionView> sessions;
  l2tp::ControlChannelStats control;
};

struct L2tpView {
  std::vector<TunnelView> tunnels;
  std::map<std::string, uint64_t> drops;  // reason -> count
  l2tp::EndpointStats stats;
  uint64_t retransmissions = 0;  // since start: the tunnels' now and those of tunnels already gone
};

// One installed transport SA for udp/1701, as charon reports it.
struct SaView {
  std::string remote;
  uint16_t remote_port = 0;
  bool nat = false, encap = false;
  std::string ike_sa, child_sa;  // "name[id]", "name{id}"
  std::string ike_proposal, esp_proposal;
  uint64_t bytes_in = 0, bytes_out = 0;
  uint32_t mark_in = 0, mark_out = 0;  // the CHILD_SA's marks (ipsec::SaInfo); 0: none
};

struct IpsecView {
  bool required = false;
  std::string charon = "none";  // system | embedded | none
  std::string vici_socket;
  std::string link = "disconnected";
  std::optional<int> charon_pid;
  uint64_t tunnels_closed_for_sa = 0, ike_terminated = 0;
  std::vector<SaView> sas;
};

// The PPP side's counters (SessionManager's statistics).
struct PppCounters {
  uint64_t sessions_started = 0;   // pppd spawned
  uint64_t sessions_refused = 0;   // SessionUp that got a CDN before pppd ran (pool, data path, spawn, limits)
  uint64_t sessions_over_limit = 0;  // of those, refused by a per-peer or total limit
  uint64_t pppd_exits = 0;         // reaped
  uint64_t pppd_killed = 0;        // needed SIGKILL after the stop timeout
  uint64_t auth_failures = 0;      // credentials refused (our plugin's auth-fail report)
  uint64_t report_errors = 0;      // unparsable plugin lines
  uint64_t pty_frames_in = 0, pty_frames_out = 0;  // userspace data path
  uint64_t pty_overflow_drops = 0;  // frames dropped because pppd did not read its pty fast enough
  uint64_t pty_oversize_drops = 0;  // frames from the peer longer than a PPP frame can be
  ppp::HdlcDecoderStats hdlc;       // decode drops, summed over sessions
};

struct PppView {
  std::string data_path;  // kernel | pty
  std::string pool_range, pool_server_address;
  uint64_t pool_capacity = 0, pool_in_use = 0;
  uint64_t pppd_running = 0;
  PppCounters counters;
};

enum class SessionPhase : uint8_t { kStarting, kAuthenticating, kUp, kClosing };
const char* to_string(SessionPhase p);

struct SessionIpsecView {
  bool nat = false;
  uint16_t remote_port = 0;
  std::string ike_proposal, esp_proposal;
};

struct SessionView {
  uint16_t tunnel = 0, session = 0, peer_tunnel = 0, peer_session = 0;
  std::string peer;        // as TunnelView::peer
  uint32_t peer_mark = 0;  // as TunnelView::peer_mark
  std::optional<std::string> user;  // raw bytes, as authenticated
  std::string address;
  std::optional<std::string> interface;
  std::string data_path;  // kernel | pty
  SessionPhase state = SessionPhase::kStarting;
  std::string since;  // UTC, ISO 8601
  std::optional<int> pppd_pid;
  uint64_t bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  std::optional<SessionIpsecView> ipsec;
};

struct ServerView {
  std::string version;
  int64_t uptime_s = 0;
  std::string l2tp_listen;
  std::optional<ListenerCounters> status_http;  // absent: the status endpoint is off
  std::optional<ListenerCounters> control;      // l2tpvpnctl's socket
};

// Counts by state: all /metrics needs of the tunnels, sessions and SAs. The daemon fills them for /metrics instead
// of the per-tunnel, per-session and per-SA views, which only /status needs; to_metrics counts the views when
// they are absent (tally()).
struct Tallies {
  std::map<l2tp::TunnelState, uint64_t> tunnels;
  std::map<l2tp::SessionState, uint64_t> l2tp_sessions;  // the L2TP side's sessions, by call state
  std::map<SessionPhase, uint64_t> ppp_sessions;         // the PPP side's, by phase
  uint64_t sas = 0;
  bool operator==(const Tallies&) const = default;
};

struct StatusSnapshot {
  ServerView server;
  L2tpView l2tp;
  std::optional<IpsecView> ipsec;  // absent: no IPsec supervisor (rendered as required = false, charon none)
  std::optional<PppView> ppp;      // absent: no PPP side (rendered as {})
  std::vector<SessionView> sessions;
  std::optional<Tallies> tallies;  // set: the views above were left empty (tunnels, sessions, SAs)
};

// The counts of a snapshot's views (to_metrics uses the snapshot's own tallies when it has them).
Tallies tally(const StatusSnapshot& s);

// The PPP counters by the names the document gives them, in its order.
std::vector<std::pair<std::string_view, uint64_t>> named_counters(const PppCounters& c);

// The endpoint's tunnels, sessions, drops and counters. With `tallies`, the tunnels and their sessions are only
// counted into it (no TunnelView is made).
L2tpView l2tp_view(const l2tp::Endpoint& endpoint, Tallies* tallies = nullptr);

// /status (and the control socket's `status`): {"server", "l2tp", "ipsec", "ppp", "sessions"}.
nlohmann::json to_json(const StatusSnapshot& s);
nlohmann::json to_json(const L2tpView& v);
nlohmann::json to_json(const SessionView& v);
// The same document as to_json(s).dump() (compact), written straight into the text without building the tree:
// several times faster and a fraction of the memory with thousands of sessions. Keys follow the field lists'
// order instead of the tree's alphabetical one.
std::string to_json_text(const StatusSnapshot& s);

// A status document read back into typed values (l2tpvpnctl's tables). Each field of the right type is taken. A
// field of the wrong type, or a state name this version does not know, keeps its default and is listed in
// `unread` by its path ("l2tp.tunnels[0].state"), so that the reader can say what it could not show. Keys it
// does not know (a newer daemon's additions) are ignored; a missing key or null keeps the default. The strings
// to_json escaped come back as the peer's bytes. Never throws.
template <class T>
struct Read {
  T value;
  std::vector<std::string> unread;
};
Read<StatusSnapshot> status_from_json(const nlohmann::json& j);
// The array the `sessions` control request answers with.
Read<std::vector<SessionView>> sessions_from_json(const nlohmann::json& j);

// /metrics: Prometheus text exposition format (version 0.0.4).
std::string to_metrics(const StatusSnapshot& s);

// Escapes a Prometheus label value.
std::string prometheus_label(const std::string& v);

}  // namespace l2tpvpn
