// Which peers hold an installed IPsec SA for L2TP, as charon reports it over VICI.
//
// RFC 3193 §4: L2TP must run inside the transport-mode ESP SA. The LNS consults find(peer address, peer port)
// before answering an SCCRQ. The registry keeps only CHILD_SAs that are INSTALLED, in TRANSPORT mode, ESP, with
// a local traffic selector covering udp/1701; everything else charon reports is ignored (and counted).
//
// It is fed by (see CharonLink for the wiring):
//   - replace_all(): the list-sa events of a list-sas command (at start and after every reconnect);
//   - on_event(): child-updown, ike-updown, child-rekey, ike-rekey, ike-update events.
// All updates are idempotent (upsert / remove by CHILD_SA unique id), so events that raced a list-sas snapshot
// can be replayed on top of it safely.
//
// Byte counters are those of the last snapshot or event that carried the CHILD_SA; a periodic list-sas
// refreshes them.
//
// Behind one NAT several clients share the public address and even the L2TP source port (Windows always uses
// 1701), through transport selectors that are identical. Our profile therefore gives every L2TP CHILD_SA a
// unique mark (ProfileConfig::mark_sas), which the kernel sets on each datagram the SA decrypts and the daemon
// reads with the datagram; lookups take that mark, and a CHILD_SA matches only when its inbound mark equals it
// (mark 0: only CHILD_SAs without a mark). With marks the answer is exact, one CHILD_SA per client, and
// unique_ike_of() is unambiguous. Among the CHILD_SAs of one mark (without marks: all of them, the same rule
// applies) find() prefers a remote selector that names the port exactly, then the newest (highest CHILD_SA
// unique id); find_all() returns every candidate.
//
// Marks come from the child section's "mark-in" / "mark-out" (hex, as charon prints them; absent: 0). An
// unreadable mark is counted as malformed and taken as 0, so that CHILD_SA matches no marked datagram.
//
// Thread-safety: none; owned by the event loop.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipsec/traffic_selector.hpp"
#include "ipsec/vici_message.hpp"

namespace l2tpvpn::ipsec {

// Algorithm names as charon prints them ("AES_CBC-256", "HMAC_SHA1_96", "MODP_2048").
struct Proposal {
  std::string encr;  // with "-<keysize>" when charon gives one
  std::string integ;
  std::string prf;  // IKE only
  std::string dh;
  bool operator==(const Proposal&) const = default;
};

struct SaInfo {
  std::string ike_name;  // the connection (load-conn) name
  uint32_t ike_id = 0;   // IKE_SA unique id (terminate ike-id=...)
  std::string child_name;
  uint32_t child_id = 0;  // CHILD_SA unique id
  uint32_t reqid = 0;
  uint32_t mark_in = 0;   // set on what the CHILD_SA decrypts (set_mark_in = %same); 0: none
  uint32_t mark_out = 0;  // selects the CHILD_SA for what we send; 0: none
  IpAddress local_address;
  uint16_t local_port = 0;
  IpAddress remote_address;  // the peer's IKE address (the NAT's public address if it is behind one)
  uint16_t remote_port = 0;  // the peer's IKE port: 500, 4500 or the NAT-mapped NAT-T port
  std::string remote_id;
  bool nat = false;    // some end is behind a NAT (nat-any)
  bool encap = false;  // ESP in UDP (NAT-T)
  Proposal ike;
  Proposal esp;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;
  std::vector<std::string> local_ts;  // as printed by charon, for status output
  std::vector<std::string> remote_ts;
};

struct SaRegistryStats {
  uint64_t snapshots = 0;         // replace_all() calls
  uint64_t events = 0;            // on_event() calls with a known event name
  uint64_t ignored_children = 0;  // CHILD_SAs that are not an installed L2TP transport SA
  uint64_t malformed = 0;         // IKE/CHILD sections missing ids or addresses, or with an unreadable mark
};

class SaRegistry {
 public:
  // Replaces the whole view with the IKE_SAs of a list-sas reply (one message per list-sa event).
  void replace_all(const std::vector<vici::Message>& list_sa_events);
  // Applies an event; unknown event names are ignored. Returns false for a known event it could not use.
  bool on_event(std::string_view name, const vici::Message& message);

  // `mark`: the mark of the SA the peer's datagram came through (0: none). Only CHILD_SAs with that inbound
  // mark match.
  std::optional<SaInfo> find(const IpAddress& peer, uint16_t peer_port, uint32_t mark) const;
  // The IKE_SA behind the peer's L2TP, only when that is unambiguous: the best-matching CHILD_SAs all belong to
  // one IKE_SA. With marks each client's CHILD_SA has its own, so this names that client's IKE_SA. Without them,
  // two Windows clients behind one NAT both send from the public address and port 1701 through selectors that
  // match equally; then this is nullopt, so that ending one client's tunnel never ends the other client's IKE_SA
  // (its own DPD or rekey ends it instead).
  std::optional<uint32_t> unique_ike_of(const IpAddress& peer, uint16_t peer_port, uint32_t mark) const;
  std::vector<SaInfo> find_all(const IpAddress& peer, uint16_t peer_port, uint32_t mark) const;
  std::vector<SaInfo> all() const;  // ordered by CHILD_SA unique id
  size_t size() const { return children_.size(); }
  const SaRegistryStats& stats() const { return stats_; }

 private:
  // Adds the qualifying CHILD_SAs of one IKE_SA section; returns false if the section was unusable.
  bool ingest_ike(const std::string& name, const vici::Section& ike);
  bool child_updown(const vici::Message& m);
  bool ike_updown(const vici::Message& m);
  bool child_rekey(const vici::Message& m);
  bool ike_rekey(const vici::Message& m);
  bool ike_update(const vici::Message& m);
  void remove_ike(uint32_t ike_id);

  struct Entry {
    SaInfo info;
    std::vector<TrafficSelector> remote_selectors;  // parsed remote_ts (unparseable ones left out)
  };
  // The rank of `e` as an answer for (peer, port, mark), nullopt if it does not match at all.
  static std::optional<int> match(const Entry& e, const IpAddress& peer, uint16_t peer_port, uint32_t mark);

  std::map<uint32_t, Entry> children_;  // by CHILD_SA unique id
  SaRegistryStats stats_;
};

}  // namespace l2tpvpn::ipsec
