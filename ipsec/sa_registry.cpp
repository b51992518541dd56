#include "ipsec/sa_registry.hpp"

#include <strings.h>
#include <algorithm>
#include <charconv>

namespace l2tpvpn::ipsec {

namespace {

using vici::Message;
using vici::Section;

template <class T>
std::optional<T> number(const Section& s, std::string_view key) {
  const std::string* v = s.value(key);
  if (!v || v->empty()) return std::nullopt;
  T out{};
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc{} || p != v->data() + v->size()) return std::nullopt;
  return out;
}

// A mark as charon prints it: hex digits ("00000002"). Absent: 0. nullopt: present but not a 32-bit hex number.
std::optional<uint32_t> hex_mark(const Section& s, std::string_view key) {
  const std::string* v = s.value(key);
  if (!v) return 0;
  uint32_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out, 16);
  if (v->empty() || ec != std::errc{} || p != v->data() + v->size()) return std::nullopt;
  return out;
}

bool is(const Section& s, std::string_view key, const char* expected) {
  const std::string* v = s.value(key);
  return v && ::strcasecmp(v->c_str(), expected) == 0;
}

std::string alg(const Section& s, std::string_view alg_key, std::string_view size_key) {
  std::string a = s.value_or(alg_key, "");
  if (const std::string* ks = s.value(size_key); ks && !a.empty()) a += "-" + *ks;
  return a;
}

// The IKE_SA half of an SaInfo; nullopt without a unique id or a parseable remote address.
std::optional<SaInfo> ike_fields(const std::string& name, const Section& ike) {
  SaInfo info;
  info.ike_name = name;
  auto id = number<uint32_t>(ike, "uniqueid");
  auto remote = IpAddress::parse(ike.value_or("remote-host", ""));
  if (!id || !remote) return std::nullopt;
  info.ike_id = *id;
  info.remote_address = *remote;
  if (auto local = IpAddress::parse(ike.value_or("local-host", ""))) info.local_address = *local;
  info.local_port = number<uint16_t>(ike, "local-port").value_or(0);
  info.remote_port = number<uint16_t>(ike, "remote-port").value_or(0);
  info.remote_id = ike.value_or("remote-id", "");
  info.nat = is(ike, "nat-any", "yes") || is(ike, "nat-remote", "yes") || is(ike, "nat-local", "yes");
  info.ike.encr = alg(ike, "encr-alg", "encr-keysize");
  info.ike.integ = alg(ike, "integ-alg", "integ-keysize");
  info.ike.prf = ike.value_or("prf-alg", "");
  info.ike.dh = ike.value_or("dh-group", "");
  return info;
}

void copy_ike(const SaInfo& from, SaInfo& to) {
  to.ike_name = from.ike_name;
  to.ike_id = from.ike_id;
  to.local_address = from.local_address;
  to.local_port = from.local_port;
  to.remote_address = from.remote_address;
  to.remote_port = from.remote_port;
  to.remote_id = from.remote_id;
  to.nat = from.nat;
  to.ike = from.ike;
}

struct ChildParse {
  SaInfo info;
  bool qualifies = false;
  bool bad_mark = false;  // "mark-in" or "mark-out" unreadable (taken as 0)
};

std::optional<ChildParse> child_fields(const SaInfo& ike, const std::string& section_name, const Section& c) {
  auto id = number<uint32_t>(c, "uniqueid");
  if (!id) return std::nullopt;
  ChildParse out;
  out.info = ike;
  out.info.child_id = *id;
  out.info.child_name = c.value_or("name", section_name);
  out.info.reqid = number<uint32_t>(c, "reqid").value_or(0);
  auto mark_in = hex_mark(c, "mark-in");
  auto mark_out = hex_mark(c, "mark-out");
  out.bad_mark = !mark_in || !mark_out;
  out.info.mark_in = mark_in.value_or(0);
  out.info.mark_out = mark_out.value_or(0);
  out.info.encap = is(c, "encap", "yes");
  out.info.esp.encr = alg(c, "encr-alg", "encr-keysize");
  out.info.esp.integ = alg(c, "integ-alg", "integ-keysize");
  out.info.esp.dh = c.value_or("dh-group", "");
  out.info.bytes_in = number<uint64_t>(c, "bytes-in").value_or(0);
  out.info.bytes_out = number<uint64_t>(c, "bytes-out").value_or(0);
  out.info.packets_in = number<uint64_t>(c, "packets-in").value_or(0);
  out.info.packets_out = number<uint64_t>(c, "packets-out").value_or(0);
  if (const auto* l = c.list("local-ts")) out.info.local_ts = *l;
  if (const auto* l = c.list("remote-ts")) out.info.remote_ts = *l;
  bool l2tp_local = false;
  for (const auto& text : out.info.local_ts) {
    auto ts = parse_traffic_selector(text);
    if (ts && ts->covers(kProtoUdp, kL2tpPort)) l2tp_local = true;
  }
  out.qualifies = l2tp_local && is(c, "state", "INSTALLED") && is(c, "mode", "TRANSPORT") && is(c, "protocol", "ESP");
  return out;
}

template <class F>
void for_each_section(const Section& s, F&& f) {
  for (const auto& e : s.entries())
    if (const auto* sub = std::get_if<Section>(&e.content)) f(e.name, *sub);
}

}  // namespace

bool SaRegistry::ingest_ike(const std::string& name, const Section& ike) {
  auto fields = ike_fields(name, ike);
  if (!fields) {
    ++stats_.malformed;
    return false;
  }
  bool ok = true;
  if (const Section* children = ike.section("child-sas")) {
    for_each_section(*children, [&](const std::string& child_name, const Section& c) {
      auto child = child_fields(*fields, child_name, c);
      if (!child) {
        ++stats_.malformed;
        ok = false;
        return;
      }
      if (child->bad_mark) {
        ++stats_.malformed;
        ok = false;
      }
      if (!child->qualifies) {
        ++stats_.ignored_children;
        children_.erase(child->info.child_id);  // e.g. a CHILD_SA that left INSTALLED
        return;
      }
      Entry entry;
      for (const auto& text : child->info.remote_ts)
        if (auto ts = parse_traffic_selector(text)) entry.remote_selectors.push_back(*ts);
      entry.info = std::move(child->info);
      children_[entry.info.child_id] = std::move(entry);
    });
  }
  return ok;
}

void SaRegistry::replace_all(const std::vector<Message>& list_sa_events) {
  ++stats_.snapshots;
  children_.clear();
  for (const auto& m : list_sa_events)
    for_each_section(m, [&](const std::string& name, const Section& ike) { ingest_ike(name, ike); });
}

bool SaRegistry::on_event(std::string_view name, const Message& m) {
  bool ok;
  if (name == "child-updown") {
    ok = child_updown(m);
  } else if (name == "ike-updown") {
    ok = ike_updown(m);
  } else if (name == "child-rekey") {
    ok = child_rekey(m);
  } else if (name == "ike-rekey") {
    ok = ike_rekey(m);
  } else if (name == "ike-update") {
    ok = ike_update(m);
  } else {
    return true;
  }
  ++stats_.events;
  return ok;
}

bool SaRegistry::child_updown(const Message& m) {
  const bool up = is(m, "up", "yes");
  bool ok = true;
  for_each_section(m, [&](const std::string& name, const Section& ike) {
    if (up) {
      ok = ingest_ike(name, ike) && ok;
      return;
    }
    const Section* children = ike.section("child-sas");
    if (!children || !ike_fields(name, ike)) {
      ++stats_.malformed;
      ok = false;
      return;
    }
    for_each_section(*children, [&](const std::string&, const Section& c) {
      if (auto id = number<uint32_t>(c, "uniqueid")) {
        children_.erase(*id);
      } else {
        ++stats_.malformed;
        ok = false;
      }
    });
  });
  return ok;
}

void SaRegistry::remove_ike(uint32_t ike_id) {
  std::erase_if(children_, [&](const auto& kv) { return kv.second.info.ike_id == ike_id; });
}

bool SaRegistry::ike_updown(const Message& m) {
  const bool up = is(m, "up", "yes");
  bool ok = true;
  for_each_section(m, [&](const std::string& name, const Section& ike) {
    auto fields = ike_fields(name, ike);
    if (!fields) {
      ++stats_.malformed;
      ok = false;
      return;
    }
    if (!up) remove_ike(fields->ike_id);
  });
  return ok;
}

bool SaRegistry::child_rekey(const Message& m) {
  bool ok = true;
  for_each_section(m, [&](const std::string& name, const Section& ike) {
    auto fields = ike_fields(name, ike);
    const Section* children = ike.section("child-sas");
    if (!fields || !children) {
      ++stats_.malformed;
      ok = false;
      return;
    }
    for_each_section(*children, [&](const std::string& child_name, const Section& pair) {
      const Section* old_sa = pair.section("old");
      const Section* new_sa = pair.section("new");
      if (old_sa) {
        if (auto id = number<uint32_t>(*old_sa, "uniqueid")) children_.erase(*id);
      }
      if (!new_sa) return;
      // Re-use ingest_ike's rules for the new CHILD_SA by wrapping it as a one-child IKE section.
      Section wrapped = ike;
      Section only;
      only.add_section(child_name) = *new_sa;
      wrapped.add_section("child-sas") = only;
      ok = ingest_ike(name, wrapped) && ok;
    });
  });
  return ok;
}

bool SaRegistry::ike_rekey(const Message& m) {
  bool ok = true;
  for_each_section(m, [&](const std::string& name, const Section& pair) {
    const Section* old_sa = pair.section("old");
    const Section* new_sa = pair.section("new");
    auto old_fields = old_sa ? ike_fields(name, *old_sa) : std::nullopt;
    auto new_fields = new_sa ? ike_fields(name, *new_sa) : std::nullopt;
    if (!old_fields || !new_fields) {
      ++stats_.malformed;
      ok = false;
      return;
    }
    // The CHILD_SAs move to the new IKE_SA (IKEv1: the new ISAKMP SA adopts them).
    for (auto& [id, entry] : children_)
      if (entry.info.ike_id == old_fields->ike_id) copy_ike(*new_fields, entry.info);
  });
  return ok;
}

bool SaRegistry::ike_update(const Message& m) {
  auto remote = IpAddress::parse(m.value_or("remote-host", ""));
  auto local = IpAddress::parse(m.value_or("local-host", ""));
  auto remote_port = number<uint16_t>(m, "remote-port");
  auto local_port = number<uint16_t>(m, "local-port");
  bool ok = remote.has_value();
  for_each_section(m, [&](const std::string&, const Section& ike) {
    auto id = number<uint32_t>(ike, "uniqueid");
    if (!id || !remote) {
      ok = false;
      return;
    }
    for (auto& [cid, entry] : children_) {
      if (entry.info.ike_id != *id) continue;
      entry.info.remote_address = *remote;
      if (remote_port) entry.info.remote_port = *remote_port;
      if (local) entry.info.local_address = *local;
      if (local_port) entry.info.local_port = *local_port;
    }
  });
  if (!ok) ++stats_.malformed;
  return ok;
}

std::optional<int> SaRegistry::match(const Entry& e, const IpAddress& peer, uint16_t peer_port, uint32_t mark) {
  // The mark names the client's own SA exactly; 0 (marks off) matches only CHILD_SAs without one.
  if (e.info.mark_in != mark) return std::nullopt;
  bool address = e.info.remote_address == peer;
  bool port = e.remote_selectors.empty();
  bool exact_port = false;
  for (const auto& ts : e.remote_selectors) {
    // In transport mode behind a NAT the remote selector may carry the client's private address (NAT-OA), so
    // the IKE address alone is enough; the selector's port must still admit the L2TP source port.
    if (ts.contains(peer)) address = true;
    if (ts.covers(kProtoUdp, peer_port)) {
      port = true;
      if (ts.from_port == ts.to_port) exact_port = true;
    }
  }
  if (!address || !port) return std::nullopt;
  // An exact port beats a port range; the IKE address beats a selector-only match.
  return (exact_port ? 2 : 0) + (e.info.remote_address == peer ? 1 : 0);
}

std::vector<SaInfo> SaRegistry::find_all(const IpAddress& peer, uint16_t peer_port, uint32_t mark) const {
  std::vector<SaInfo> out;
  for (const auto& [id, e] : children_)
    if (match(e, peer, peer_port, mark)) out.push_back(e.info);
  return out;
}

std::optional<SaInfo> SaRegistry::find(const IpAddress& peer, uint16_t peer_port, uint32_t mark) const {
  const Entry* best = nullptr;
  int best_rank = -1;
  for (const auto& [id, e] : children_) {
    auto rank = match(e, peer, peer_port, mark);
    // ">=": among equals the map order (by unique id) makes the newest CHILD_SA win.
    if (rank && *rank >= best_rank) {
      best_rank = *rank;
      best = &e;
    }
  }
  if (!best) return std::nullopt;
  return best->info;
}

std::optional<uint32_t> SaRegistry::unique_ike_of(const IpAddress& peer, uint16_t peer_port, uint32_t mark) const {
  int best_rank = -1;
  std::optional<uint32_t> ike;
  bool ambiguous = false;
  for (const auto& [id, e] : children_) {
    auto rank = match(e, peer, peer_port, mark);
    if (!rank || *rank < best_rank) continue;
    if (*rank > best_rank) {
      best_rank = *rank;
      ike = e.info.ike_id;
      ambiguous = false;
    } else if (e.info.ike_id != *ike) {
      ambiguous = true;
    }
  }
  if (ambiguous) return std::nullopt;
  return ike;
}

std::vector<SaInfo> SaRegistry::all() const {
  std::vector<SaInfo> out;
  out.reserve(children_.size());
  for (const auto& [id, e] : children_) out.push_back(e.info);
  return out;
}

}  // namespace l2tpvpn::ipsec
