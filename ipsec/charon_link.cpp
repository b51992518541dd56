#include "ipsec/charon_link.hpp"

namespace l2tpvpn::ipsec {

const char* to_string(LinkState s) {
  switch (s) {
    case LinkState::kDisconnected: return "disconnected";
    case LinkState::kSyncing: return "syncing";
    case LinkState::kReady: return "ready";
  }
  return "unknown";
}

CharonLink::CharonLink(vici::Session& session, SaRegistry& registry) : session_(session), registry_(registry) {
  session_.set_event_handler([this](const std::string& name, const vici::Message& m) { on_event(name, m); });
}

void CharonLink::set_state(LinkState s) {
  if (s == state_) return;
  state_ = s;
  if (on_state_) on_state_(s);
}

void CharonLink::note_error(const std::string& what) {
  last_error_ = what;
}

Status<ProfileError> CharonLink::add_profile(const ProfileConfig& config) {
  auto loads = build_load_requests(config);
  if (!loads) return unexpected(loads.error());
  profiles_[config.name] = *loads;
  unloads_[config.name] = build_unload_requests(config);
  if (session_.connected()) send_loads(*loads);
  return {};
}

void CharonLink::remove_profile(const std::string& name) {
  auto it = unloads_.find(name);
  if (it == unloads_.end()) return;
  if (session_.connected()) send_loads(it->second);
  unloads_.erase(it);
  profiles_.erase(name);
}

void CharonLink::send_loads(const std::vector<ViciRequest>& requests) {
  const uint64_t conn = connection_;
  for (const auto& r : requests) {
    auto st = session_.command(r.command, r.message, [this, conn, cmd = r.command](auto result) {
      if (conn != connection_ || result) return;
      if (result.error().kind == vici::CommandError::Kind::kDisconnected) return;
      ++stats_.load_failures;
      note_error(cmd + ": " + result.error().message);
    });
    if (!st) {
      ++stats_.load_failures;
      note_error(r.command + ": " + st.error().message);
    }
  }
}

void CharonLink::on_connected() {
  ++connection_;
  snapshot_running_ = false;
  buffered_.clear();
  buffer_overflowed_ = false;
  set_state(LinkState::kSyncing);
  const uint64_t conn = connection_;
  for (const char* ev : {vici::event::kIkeUpdown, vici::event::kChildUpdown, vici::event::kIkeRekey,
                         vici::event::kChildRekey, vici::event::kIkeUpdate}) {
    auto st = session_.register_event(ev, [this, conn, name = std::string(ev)](Status<vici::CommandError> r) {
      if (conn != connection_ || r) return;
      if (r.error().kind == vici::CommandError::Kind::kDisconnected) return;
      ++stats_.registration_failures;
      note_error("register " + name + ": " + r.error().message);
    });
    if (!st) return;  // disconnected again already; on_disconnected() has run or will run
  }
  for (const auto& [name, loads] : profiles_) send_loads(loads);
  start_snapshot();
}

void CharonLink::on_disconnected() {
  ++connection_;
  snapshot_running_ = false;
  buffered_.clear();
  // The registry keeps its last view: charon restarting does not by itself remove kernel SAs, and the view is
  // replaced by the first snapshot after the reconnect. The state tells consumers it may be stale.
  set_state(LinkState::kDisconnected);
}

void CharonLink::refresh() {
  if (state_ == LinkState::kReady && !snapshot_running_) start_snapshot();
}

void CharonLink::start_snapshot() {
  const uint64_t conn = connection_;
  snapshot_running_ = true;
  vici::Message args;
  args.set("noblock", "yes");  // do not wait for IKE_SAs busy with an exchange
  auto st = session_.submit(vici::Command::kListSas, args, [this, conn](auto result) {
    if (conn != connection_) return;
    snapshot_running_ = false;
    if (!result) {
      if (result.error().kind != vici::CommandError::Kind::kDisconnected)
        note_error("list-sas: " + result.error().message);
      buffered_.clear();
      return;
    }
    registry_.replace_all(result->stream);
    ++stats_.snapshots;
    auto replay = std::move(buffered_);
    buffered_.clear();
    for (const auto& [name, msg] : replay) registry_.on_event(name, msg);
    if (buffer_overflowed_) {
      // Events were lost while buffering: the snapshot plus a partial replay may be wrong, so take another.
      buffer_overflowed_ = false;
      ++stats_.buffered_overflows;
      start_snapshot();
      return;
    }
    if (state_ == LinkState::kSyncing) {
      ++stats_.syncs;
      set_state(LinkState::kReady);
    }
  });
  if (!st) snapshot_running_ = false;
}

void CharonLink::on_event(const std::string& name, const vici::Message& message) {
  ++stats_.events;
  if (snapshot_running_) {
    if (buffered_.size() >= kMaxBufferedEvents) {
      buffer_overflowed_ = true;
      return;
    }
    buffered_.emplace_back(name, message);
    return;
  }
  registry_.on_event(name, message);
}

void CharonLink::terminate_ike(uint32_t ike_id, std::function<void(Status<vici::CommandError>)> done) {
  vici::Message args;
  args.set("ike-id", std::to_string(ike_id));
  args.set("timeout", "-1");  // answer at once; the ike-updown event reports the deletion
  auto st = session_.submit(vici::Command::kTerminate, args, [done](auto result) {
    if (!done) return;
    if (result) {
      done({});
    } else {
      done(unexpected(result.error()));
    }
  });
  if (!st && done) done(unexpected(st.error()));
}

}  // namespace l2tpvpn::ipsec
