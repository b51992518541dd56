// Keeps charon in the state l2tpvpn wants across charon restarts, and keeps the SaRegistry in sync. Pure: it only
// talks to a vici::Session; the vici::Client around that session calls on_connected()/on_disconnected().
//
// On every (re)connect it runs, in order:
//   1. EVENT_REGISTER for ike-updown, child-updown, ike-rekey, child-rekey, ike-update;
//   2. the load requests of every profile (load-shared / load-key, then load-conn);
//   3. list-sas, whose list-sa stream replaces the registry's view.
// Events that arrive before the list-sas answer are buffered and replayed on top of the snapshot (registry
// updates are idempotent), so an SA that came or went while the snapshot was taken is not lost. refresh() runs
// step 3 again (byte counters), with the same buffering.
//
// A failing load or registration does not stop the sequence: it is counted and kept in last_error(), and the
// link still reaches kReady (the other profiles work). Profiles removed from the configuration while l2tpvpn was
// not running stay loaded in a charon that kept running; remove_profile() unloads explicitly.
//
// Thread-safety: none; the event loop owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "ipsec/profile.hpp"
#include "ipsec/sa_registry.hpp"
#include "ipsec/vici_session.hpp"

namespace l2tpvpn::ipsec {

enum class LinkState : uint8_t {
  kDisconnected,  // no connection to charon
  kSyncing,       // connected; registrations, loads or the first snapshot still running
  kReady,         // charon has our profiles and the registry mirrors charon's SAs
};
const char* to_string(LinkState s);

struct LinkStats {
  uint64_t syncs = 0;          // completed connect sequences
  uint64_t load_failures = 0;  // load/unload requests charon refused
  uint64_t registration_failures = 0;
  uint64_t snapshots = 0;           // list-sas answers applied
  uint64_t events = 0;              // SA events handled
  uint64_t buffered_overflows = 0;  // snapshots re-run because too many events raced one
};

class CharonLink {
 public:
  // Installs itself as `session`'s event handler. Both references must outlive the link.
  CharonLink(vici::Session& session, SaRegistry& registry);

  // Adds or replaces a profile; loaded at once if connected, and after every reconnect.
  // Errors: the profile's validation error (nothing is changed then).
  Status<ProfileError> add_profile(const ProfileConfig& config);
  // Unloads (if connected) and forgets a profile. Unknown names are ignored.
  void remove_profile(const std::string& name);

  void on_connected();
  void on_disconnected();
  // Takes a new list-sas snapshot (no-op unless kReady or a snapshot is already running).
  void refresh();
  // Asks charon to delete an IKE_SA (and its CHILD_SAs) by unique id; `done` gets the outcome.
  void terminate_ike(uint32_t ike_id, std::function<void(Status<vici::CommandError>)> done = {});

  LinkState state() const { return state_; }
  const LinkStats& stats() const { return stats_; }
  const std::string& last_error() const { return last_error_; }
  // Called whenever state() changes.
  void set_on_state(std::function<void(LinkState)> cb) { on_state_ = std::move(cb); }

  static constexpr size_t kMaxBufferedEvents = 4096;

 private:
  void set_state(LinkState s);
  void send_loads(const std::vector<ViciRequest>& requests);
  void start_snapshot();
  void on_event(const std::string& name, const vici::Message& message);
  void note_error(const std::string& what);

  vici::Session& session_;
  SaRegistry& registry_;
  std::map<std::string, std::vector<ViciRequest>> profiles_;  // name -> load requests
  std::map<std::string, std::vector<ViciRequest>> unloads_;   // name -> unload requests
  LinkState state_ = LinkState::kDisconnected;
  bool snapshot_running_ = false;
  bool buffer_overflowed_ = false;
  std::vector<std::pair<std::string, vici::Message>> buffered_;
  uint64_t connection_ = 0;  // bumps per connection, so late callbacks of an old one are ignored
  LinkStats stats_;
  std::string last_error_;
  std::function<void(LinkState)> on_state_;
};

}  // namespace l2tpvpn::ipsec
