// An L2TP node (LNS or LAC): demultiplexes datagrams to tunnels, creates tunnels for SCCRQs that pass admission,
// allocates tunnel IDs, applies the tie breaker (§4.4.3) and the limits, and counts what it drops. Sans-IO: the
// driver feeds datagrams and time and executes the returned actions.
//
// Cost: a datagram, a timer tick and next_deadline() cost the same with 10 tunnels as with 10,000: tunnels are
// found through hashed indexes (by ID; responders waiting for their SCCCN by peer and the peer's tunnel ID; held
// tunnels counted per address), their deadlines are kept in order, and only the tunnels that are due or dead are
// visited. After every call into a tunnel the endpoint re-files it (refile) from its state and next deadline.
//
// Thread-safety: none; one thread drives an Endpoint.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/l2tp/events.hpp"
#include "server/l2tp/tunnel.hpp"

namespace l2tpvpn::l2tp {

// RFC 3193 step 3: whether a peer may open a tunnel now (the daemon answers from the IPsec SA view). Anything but
// kAdmit drops the SCCRQ without a reply and counts it under its reason; the peer's retransmission asks again.
enum class Admission : uint8_t {
  kAdmit,
  kRefuse,    // the peer may not open a tunnel (no transport SA covers it): "not_admitted"
  kNotReady,  // no answer can be trusted yet (the SA view is not in sync with charon): "ipsec_not_ready"
};
using AdmissionFn = std::function<Admission(const PeerAddress&)>;

struct EndpointStats {
  uint64_t datagrams = 0;
  uint64_t control = 0;
  uint64_t data = 0;
  uint64_t tunnels_created = 0;
  uint64_t sessions_established = 0;
  uint64_t retransmissions_of_gone_tunnels = 0;  // what reaped tunnels' channels had retransmitted
};

class Endpoint {
 public:
  Endpoint(L2tpConfig config, RandomFn random, AdmissionFn admission = {});

  // One UDP datagram from `from`. Never throws; garbage is dropped and counted.
  void on_datagram(TimePoint now, const PeerAddress& from, ByteView datagram);
  void on_timer(TimePoint now);
  std::optional<TimePoint> next_deadline() const;  // the earliest tunnel deadline, O(1)
  std::vector<Action> take_actions();

  // LAC side: opens a tunnel to `peer` (SCCRQ). Returns the local tunnel ID, nullopt at the tunnel limit.
  std::optional<uint16_t> open_tunnel(TimePoint now, const PeerAddress& peer);
  // Places a call on a tunnel (queued until the tunnel is up). Returns the local session ID.
  std::optional<uint16_t> open_call(TimePoint now, uint16_t tunnel_id, CallDirection direction,
                                    const std::string& number = {});
  void close_session(TimePoint now, uint16_t tunnel_id, uint16_t session_id, ResultCode result,
                     std::optional<PppDisconnectCause> cause = std::nullopt);
  void close_tunnel(TimePoint now, uint16_t tunnel_id, ResultCode result);
  // Closes every tunnel (StopCCN result 6, "shutting down"), e.g. on SIGTERM.
  void close_all(TimePoint now, ResultCode result);
  void send_data(uint16_t tunnel_id, uint16_t session_id, ByteView ppp);
  void send_set_link_info(TimePoint now, uint16_t tunnel_id, uint16_t session_id, Accm accm);
  void send_wan_error_notify(TimePoint now, uint16_t tunnel_id, uint16_t session_id, CallErrors errors);

  const Tunnel* tunnel(uint16_t id) const;
  std::vector<const Tunnel*> tunnels() const;  // ordered by ID; a walk over every tunnel (status, shutdown)
  size_t live_tunnel_count() const { return live_; }  // established or connecting, not closing/dead
  size_t held_tunnel_count() const { return held_; }  // not dead: what the limits count
  size_t held_session_ids() const { return session_ids_.size(); }  // sessions of every tunnel
  size_t rate_buckets() const { return buckets_.size(); }
  const DropCounters& drops() const { return drops_; }
  const EndpointStats& stats() const { return stats_; }
  const L2tpConfig& config() const { return *config_; }
  // Replaces the configuration for what starts afterwards: tunnels created from now on, and the limits checked
  // at each SCCRQ. A running tunnel keeps the configuration it was created with (it holds a reference to it), so
  // a changed secret or timer never reaches a tunnel mid-handshake.
  void set_config(L2tpConfig config);

 private:
  // A tunnel and what the indexes below hold for it, so that refile() can take it out of them again.
  struct Entry {
    std::unique_ptr<Tunnel> tunnel;
    TunnelState filed_state = TunnelState::kIdle;
    std::optional<TimePoint> filed_deadline;
    std::optional<uint16_t> filed_peer_id;  // set while in answering_, under this peer tunnel ID
  };
  // A responder tunnel waiting for its SCCCN, as a retransmitted SCCRQ names it.
  struct SccrqKey {
    PeerAddress peer;
    uint16_t peer_tunnel_id;
    bool operator==(const SccrqKey&) const = default;
  };
  struct SccrqKeyHash {
    size_t operator()(const SccrqKey& k) const noexcept { return PeerAddressHash{}(k.peer) * 31 + k.peer_tunnel_id; }
  };

  Tunnel* find(uint16_t id);
  std::optional<uint16_t> allocate_tunnel_id();
  size_t tunnels_to(const PeerAddress& peer) const;  // held tunnels from the peer's address
  // Takes one control message from the peer's address out of its token bucket; false (counted) when empty.
  bool take_control_token(TimePoint now, const PeerAddress& from);
  void forget_idle_buckets(TimePoint now);
  Tunnel& create(TimePoint now, uint16_t id, const PeerAddress& peer, bool initiator);
  void on_sccrq(TimePoint now, const PeerAddress& from, const Packet& packet);
  // Brings the indexes up to date with the tunnel's state and deadline; call after anything that drove it.
  void refile(Entry& e);
  void refile(uint16_t id);
  void reap();

  std::shared_ptr<const L2tpConfig> config_;  // shared with the tunnels created under it
  RandomFn random_;
  AdmissionFn admission_;
  std::vector<Action> actions_;
  DropCounters drops_;
  EndpointStats stats_;
  std::unordered_map<uint16_t, Entry> tunnels_;
  std::set<std::pair<TimePoint, uint16_t>> deadlines_;  // every tunnel's next deadline, earliest first
  std::unordered_map<PeerAddress, size_t, PeerAddressHash> held_per_host_;  // by PeerAddress::host()
  std::unordered_map<SccrqKey, uint16_t, SccrqKeyHash> answering_;
  std::vector<uint16_t> dead_;  // tunnels that died since the last reap
  size_t held_ = 0, live_ = 0;
  size_t tie_breaking_ = 0;  // our own SCCRQs outstanding with a tie breaker (LAC); 0 skips the §4.4.3 search
  SessionIds session_ids_;
  struct RateBucket {
    double tokens;
    TimePoint last;
  };
  // A bucket's tokens at `now`: refilled at max_control_rate per second, up to bursts of twice that.
  double refilled(const RateBucket& b, TimePoint now) const;
  std::unordered_map<PeerAddress, RateBucket, PeerAddressHash> buckets_;  // by PeerAddress::host()
  size_t bucket_gc_at_ = 64;                   // table size that triggers forget_idle_buckets
  TimePoint bucket_gc_due_{};                  // the timer forgets idle buckets at most once a second
};

}  // namespace l2tpvpn::l2tp
