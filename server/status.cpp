#include "server/status.hpp"

#include <charconv>
#include <limits>
#include <span>
#include <sstream>
#include <type_traits>

#include "common/display.hpp"

namespace l2tpvpn {

using nlohmann::json;

const char* to_string(SessionPhase p) {
  switch (p) {
    case SessionPhase::kStarting: return "starting";
    case SessionPhase::kAuthenticating: return "authenticating";
    case SessionPhase::kUp: return "up";
    case SessionPhase::kClosing: return "closing";
  }
  return "?";
}

L2tpView l2tp_view(const l2tp::Endpoint& ep, Tallies* tallies) {
  L2tpView v;
  v.retransmissions = ep.stats().retransmissions_of_gone_tunnels;
  for (const l2tp::Tunnel* t : ep.tunnels()) {
    if (tallies) {
      ++tallies->tunnels[t->state()];
      for (const auto& s : t->sessions()) ++tallies->l2tp_sessions[s.state];
      v.retransmissions += t->channel_stats().retransmissions;
      continue;
    }
    TunnelView tv;
    tv.id = t->id();
    tv.peer_id = t->peer_id();
    tv.peer = t->peer().endpoint_string();
    tv.peer_mark = t->peer().mark;
    tv.peer_host_name = t->peer_host_name();
    tv.state = t->state();
    for (const auto& s : t->sessions())
      tv.sessions.push_back(L2tpSessionView{s.session_id, s.peer_session_id, s.state, s.direction,
                                            s.call_serial_number, s.sequencing_required});
    tv.control = t->channel_stats();
    v.tunnels.push_back(std::move(tv));
  }
  for (const auto& [k, n] : ep.drops()) v.drops[k] = n;
  v.stats = ep.stats();
  for (const auto& t : v.tunnels) v.retransmissions += t.control.retransmissions;
  return v;
}

namespace {

// --- the document's fields, written down once ---
//
// Each view's fields are listed once, as a function template over a visitor: Writer makes the JSON (to_json),
// Reader takes it back (status_from_json). A visitor offers
//   v(key, member)                      a scalar: integer, bool, string, optional, state enum, or escaped(...)
//   v.object(key, fields)               a nested object, fields(sub_visitor)
//   v.array(key, vector, fields)        an array of objects, fields(sub_visitor, element)
//   v.optional_object(key, opt, fields) an object or null
// and the field functions take `S&` with S const for the writer, so one list serves both directions.

// A peer-chosen string: written through display_escape, read back through display_unescape.
template <class T>
struct Escaped {
  T& value;
};
template <class T>
Escaped<T> escaped(T& v) {
  return {v};
}

std::string_view name_of(l2tp::TunnelState s) { return l2tp::to_string(s); }
std::string_view name_of(l2tp::SessionState s) { return l2tp::to_string(s); }
std::string_view name_of(SessionPhase p) { return to_string(p); }
std::string_view name_of(l2tp::CallDirection d) {
  return d == l2tp::CallDirection::kIncoming ? "incoming" : "outgoing";
}
// Every value of each enum the document names, for the reader.
std::span<const l2tp::TunnelState> all_values(l2tp::TunnelState) {
  static constexpr l2tp::TunnelState kAll[] = {
      l2tp::TunnelState::kIdle,        l2tp::TunnelState::kWaitCtlReply, l2tp::TunnelState::kWaitCtlConn,
      l2tp::TunnelState::kEstablished, l2tp::TunnelState::kClosing,      l2tp::TunnelState::kDead};
  return kAll;
}
std::span<const l2tp::SessionState> all_values(l2tp::SessionState) {
  static constexpr l2tp::SessionState kAll[] = {l2tp::SessionState::kWaitTunnel, l2tp::SessionState::kWaitReply,
                                                l2tp::SessionState::kWaitConnect, l2tp::SessionState::kEstablished};
  return kAll;
}
std::span<const SessionPhase> all_values(SessionPhase) {
  static constexpr SessionPhase kAll[] = {SessionPhase::kStarting, SessionPhase::kAuthenticating, SessionPhase::kUp,
                                          SessionPhase::kClosing};
  return kAll;
}
std::span<const l2tp::CallDirection> all_values(l2tp::CallDirection) {
  static constexpr l2tp::CallDirection kAll[] = {l2tp::CallDirection::kIncoming, l2tp::CallDirection::kOutgoing};
  return kAll;
}

template <class V, class S>
void l2tp_session_fields(V& v, S& s) {
  v("id", s.id);
  v("peer_id", s.peer_id);
  v("state", s.state);
  v("direction", s.direction);
  v("call_serial", s.call_serial);
  v("sequencing", s.sequencing);
}

template <class V, class S>
void control_fields(V& v, S& c) {
  v("sent", c.sent);
  v("transmitted", c.transmitted);
  v("retransmissions", c.retransmissions);
  v("received", c.received);
  v("duplicates", c.duplicates);
  v("out_of_order", c.out_of_order);
  v("ignored_acks", c.ignored_acks);
}

template <class V, class S>
void tunnel_fields(V& v, S& t) {
  v("id", t.id);
  v("peer_id", t.peer_id);
  v("peer", t.peer);
  v("peer_mark", t.peer_mark);
  v("peer_host_name", escaped(t.peer_host_name));
  v("state", t.state);
  v.array("sessions", t.sessions, [](auto& w, auto& s) { l2tp_session_fields(w, s); });
  v.object("control", [&](auto& w) { control_fields(w, t.control); });
}

template <class V, class S>
void l2tp_fields(V& v, S& l) {
  v.array("tunnels", l.tunnels, [](auto& w, auto& t) { tunnel_fields(w, t); });
  v("drops", escaped(l.drops));
  v.object("stats", [&](auto& w) {
    w("datagrams", l.stats.datagrams);
    w("control", l.stats.control);
    w("data", l.stats.data);
    w("tunnels_created", l.stats.tunnels_created);
    w("retransmissions", l.retransmissions);
  });
}

template <class V, class S>
void sa_fields(V& v, S& sa) {
  v("remote", sa.remote);
  v("remote_port", sa.remote_port);
  v("nat", sa.nat);
  v("encap", sa.encap);
  v("ike_sa", escaped(sa.ike_sa));
  v("child_sa", escaped(sa.child_sa));
  v("ike_proposal", sa.ike_proposal);
  v("esp_proposal", sa.esp_proposal);
  v("bytes_in", sa.bytes_in);
  v("bytes_out", sa.bytes_out);
  v("mark_in", sa.mark_in);
  v("mark_out", sa.mark_out);
}

template <class V, class S>
void ipsec_fields(V& v, S& i) {
  v("required", i.required);
  v("charon", i.charon);
  v("vici_socket", i.vici_socket);
  v("link", i.link);
  v("charon_pid", i.charon_pid);
  v("tunnels_closed_for_sa", i.tunnels_closed_for_sa);
  v("ike_terminated", i.ike_terminated);
  v.array("sas", i.sas, [](auto& w, auto& sa) { sa_fields(w, sa); });
}

template <class V, class S>
void ppp_counter_fields(V& v, S& c) {
  v("sessions_started", c.sessions_started);
  v("sessions_refused", c.sessions_refused);
  v("sessions_over_limit", c.sessions_over_limit);
  v("pppd_exits", c.pppd_exits);
  v("pppd_killed", c.pppd_killed);
  v("auth_failures", c.auth_failures);
  v("report_errors", c.report_errors);
  v("pty_frames_in", c.pty_frames_in);
  v("pty_frames_out", c.pty_frames_out);
  v("pty_overflow_drops", c.pty_overflow_drops);
  v("pty_oversize_drops", c.pty_oversize_drops);
  v("hdlc_bad_fcs", c.hdlc.bad_fcs);
  v("hdlc_too_short", c.hdlc.too_short);
  v("hdlc_too_long", c.hdlc.too_long);
  v("hdlc_aborted", c.hdlc.aborted);
}

template <class V, class S>
void ppp_fields(V& v, S& p) {
  v("data_path", p.data_path);
  v.object("pool", [&](auto& w) {
    w("range", p.pool_range);
    w("server_address", p.pool_server_address);
    w("capacity", p.pool_capacity);
    w("in_use", p.pool_in_use);
  });
  v("pppd_running", p.pppd_running);
  v.object("counters", [&](auto& w) { ppp_counter_fields(w, p.counters); });
}

template <class V, class S>
void session_fields(V& v, S& s) {
  v("tunnel", s.tunnel);
  v("session", s.session);
  v("peer_tunnel", s.peer_tunnel);
  v("peer_session", s.peer_session);
  v("peer", s.peer);
  v("peer_mark", s.peer_mark);
  v("user", escaped(s.user));
  v("address", s.address);
  v("interface", s.interface);
  v("data_path", s.data_path);
  v("state", s.state);
  v("since", s.since);
  v("pppd_pid", s.pppd_pid);
  v("bytes_in", s.bytes_in);
  v("bytes_out", s.bytes_out);
  v("packets_in", s.packets_in);
  v("packets_out", s.packets_out);
  v.optional_object("ipsec", s.ipsec, [](auto& w, auto& i) {
    w("nat", i.nat);
    w("remote_port", i.remote_port);
    w("ike_proposal", i.ike_proposal);
    w("esp_proposal", i.esp_proposal);
  });
}

template <class V, class S>
void listener_fields(V& v, S& l) {
  v("open", l.open);
  v("max", l.max);
  v("accepted", l.accepted);
  v("refused_over_cap", l.refused_over_cap);
  v("idle_closed", l.idle_closed);
  v("accept_fd_exhausted", l.accept_fd_exhausted);
}

template <class V, class S>
void server_fields(V& v, S& s) {
  v("version", s.version);
  v("uptime_s", s.uptime_s);
  v("l2tp_listen", s.l2tp_listen);
  v.optional_object("status_http", s.status_http, [](auto& w, auto& l) { listener_fields(w, l); });
  v.optional_object("control", s.control, [](auto& w, auto& l) { listener_fields(w, l); });
}

// --- the writer ---

class Writer {
 public:
  explicit Writer(json& j) : j_(j) {}

  template <class T>
  void operator()(const char* key, const T& value) {
    j_[key] = encode(value);
  }
  template <class F>
  void object(const char* key, F&& fields) {
    json sub = json::object();
    Writer w(sub);
    fields(w);
    j_[key] = std::move(sub);
  }
  template <class T, class F>
  void array(const char* key, const std::vector<T>& items, F&& fields) {
    json arr = json::array();
    for (const T& item : items) arr.push_back(write(item, fields));
    j_[key] = std::move(arr);
  }
  template <class T, class F>
  void optional_object(const char* key, const std::optional<T>& item, F&& fields) {
    j_[key] = item ? write(*item, fields) : json(nullptr);
  }

 private:
  template <class T, class F>
  static json write(const T& item, F& fields) {
    json o = json::object();
    Writer w(o);
    fields(w, item);
    return o;
  }
  template <class T>
  static json encode(const T& v) {
    if constexpr (std::is_enum_v<T>)
      return std::string(name_of(v));
    else
      return json(v);
  }
  template <class T>
  static json encode(const std::optional<T>& v) {
    return v ? encode(*v) : json(nullptr);
  }
  static json encode(Escaped<const std::string> v) { return display_escape(v.value); }
  static json encode(Escaped<const std::optional<std::string>> v) {
    return v.value ? json(display_escape(*v.value)) : json(nullptr);
  }
  static json encode(Escaped<const std::map<std::string, uint64_t>> v) {
    json o = json::object();
    for (const auto& [k, n] : v.value) o[display_escape(k)] = n;
    return o;
  }

  json& j_;
};

template <class S, class F>
json write_object(const S& view, F fields) {
  json j = json::object();
  Writer w(j);
  fields(w, view);
  return j;
}

// --- the text writer ---
//
// The same document as Writer's tree dumped compact, written straight into one string: /status with 10,000
// sessions is megabytes, and the tree (a std::map node and a heap string per key and value) cost more than the
// text. Keys come in the order the field lists give them (the tree sorts them; JSON readers do not care). Strings
// that need no escaping (printable ASCII without `"` and `\`: every key, and what display_escape makes) are
// copied as they are; any other goes through nlohmann's own serializer.
class TextWriter {
 public:
  explicit TextWriter(std::string& out) : out_(out) {}

  template <class T>
  void operator()(const char* key, const T& value) {
    name(key);
    put(value);
  }
  template <class F>
  void object(const char* key, F&& fields) {
    name(key);
    out_ += '{';
    TextWriter w(out_);
    fields(w);
    out_ += '}';
  }
  template <class T, class F>
  void array(const char* key, const std::vector<T>& items, F&& fields) {
    name(key);
    write_array(out_, items, fields);
  }
  template <class T, class F>
  void optional_object(const char* key, const std::optional<T>& item, F&& fields) {
    name(key);
    if (item)
      write(out_, *item, fields);
    else
      out_ += "null";
  }

  template <class T, class F>
  static void write(std::string& out, const T& item, F& fields) {
    out += '{';
    TextWriter w(out);
    fields(w, item);
    out += '}';
  }
  template <class T, class F>
  static void write_array(std::string& out, const std::vector<T>& items, F& fields) {
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += ',';
      write(out, items[i], fields);
    }
    out += ']';
  }
  static void string(std::string& out, std::string_view s) {
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
        out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
        return;
      }
    }
    out += '"';
    out += s;
    out += '"';
  }

 private:
  void name(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    string(out_, key);
    out_ += ':';
  }
  template <class T>
  void put(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      out_ += v ? "true" : "false";
    } else if constexpr (std::is_enum_v<T>) {
      string(out_, name_of(v));
    } else if constexpr (std::is_integral_v<T>) {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v);
      out_.append(buf, r.ptr);
    } else {
      string(out_, std::string_view(v));
    }
  }
  template <class T>
  void put(const std::optional<T>& v) {
    if (v)
      put(*v);
    else
      out_ += "null";
  }
  void put(Escaped<const std::string> v) { string(out_, display_escape(v.value)); }
  void put(Escaped<const std::optional<std::string>> v) {
    if (v.value)
      string(out_, display_escape(*v.value));
    else
      out_ += "null";
  }
  void put(Escaped<const std::map<std::string, uint64_t>> v) {
    out_ += '{';
    TextWriter w(out_);
    for (const auto& [k, n] : v.value) {
      w.name(display_escape(k));
      w.put(n);
    }
    out_ += '}';
  }

  std::string& out_;
  bool first_ = true;
};

// --- the reader ---

class Reader {
 public:
  Reader(const json& j, std::string path, std::vector<std::string>& unread)
      : j_(j), path_(std::move(path)), unread_(unread) {}

  // A missing key or null leaves `out` as it is; a value of the wrong type leaves it too and is noted.
  template <class T>
  void operator()(const char* key, T& out) {
    if (const json* v = find(key); v && !decode(*v, out)) unread_.push_back(at(key));
  }
  template <class T>
  void operator()(const char* key, Escaped<T> out) {
    if (const json* v = find(key); v && !decode_escaped(*v, out.value, at(key))) unread_.push_back(at(key));
  }
  template <class F>
  void object(const char* key, F&& fields) {
    const json* v = find(key);
    if (!v) return;
    if (!v->is_object()) {
      unread_.push_back(at(key));
      return;
    }
    Reader r(*v, at(key), unread_);
    fields(r);
  }
  template <class T, class F>
  void array(const char* key, std::vector<T>& items, F&& fields) {
    const json* v = find(key);
    if (!v) return;
    read_array(*v, at(key), items, fields, unread_);
  }
  template <class T, class F>
  void optional_object(const char* key, std::optional<T>& item, F&& fields) {
    const json* v = find(key);
    if (!v) return;
    if (!v->is_object()) {
      unread_.push_back(at(key));
      return;
    }
    Reader r(*v, at(key), unread_);
    fields(r, item.emplace());
  }

  template <class T, class F>
  static void read_array(const json& v, const std::string& path, std::vector<T>& items, F& fields,
                         std::vector<std::string>& unread) {
    if (!v.is_array()) {
      unread.push_back(path);
      return;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      std::string at = path + "[" + std::to_string(i) + "]";
      if (!v[i].is_object()) {
        unread.push_back(at);
        continue;
      }
      Reader r(v[i], at, unread);
      fields(r, items.emplace_back());
    }
  }

 private:
  const json* find(const char* key) const {
    if (!j_.is_object()) return nullptr;
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string at(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  template <class T>
  static bool decode(const json& v, T& out) {
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) return false;
      out = v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (v.is_number_unsigned()) {
        auto n = v.get<uint64_t>();
        if (n > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
        out = static_cast<T>(n);
      } else if (v.is_number_integer()) {
        auto n = v.get<int64_t>();
        if (n < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
            (n > 0 && static_cast<uint64_t>(n) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
          return false;
        out = static_cast<T>(n);
      } else {
        return false;
      }
    } else if constexpr (std::is_enum_v<T>) {
      if (!v.is_string()) return false;
      const auto& name = v.get_ref<const std::string&>();
      for (T e : all_values(T{}))
        if (name_of(e) == name) {
          out = e;
          return true;
        }
      return false;
    } else {
      static_assert(std::is_same_v<T, std::string>);
      if (!v.is_string()) return false;
      out = v.get<std::string>();
    }
    return true;
  }
  template <class T>
  static bool decode(const json& v, std::optional<T>& out) {
    T value{};
    if (!decode(v, value)) return false;
    out = std::move(value);
    return true;
  }
  static bool decode_escaped(const json& v, std::string& out, const std::string&) {
    if (!v.is_string()) return false;
    out = display_unescape(v.get_ref<const std::string&>());
    return true;
  }
  static bool decode_escaped(const json& v, std::optional<std::string>& out, const std::string& path) {
    std::string s;
    if (!decode_escaped(v, s, path)) return false;
    out = std::move(s);
    return true;
  }
  bool decode_escaped(const json& v, std::map<std::string, uint64_t>& out, const std::string& path) const {
    if (!v.is_object()) return false;
    for (auto it = v.begin(); it != v.end(); ++it) {
      uint64_t n = 0;
      if (decode(*it, n))
        out[display_unescape(it.key())] = n;
      else
        unread_.push_back(path + "." + it.key());
    }
    return true;
  }

  const json& j_;
  std::string path_;
  std::vector<std::string>& unread_;
};

// Collects the (name, value) pairs of a flat list of counters.
struct CounterList {
  std::vector<std::pair<std::string_view, uint64_t>> items;
  void operator()(const char* key, uint64_t v) { items.emplace_back(key, v); }
};

}  // namespace

std::vector<std::pair<std::string_view, uint64_t>> named_counters(const PppCounters& c) {
  CounterList list;
  ppp_counter_fields(list, c);
  return std::move(list.items);
}

json to_json(const L2tpView& v) {
  return write_object(v, [](auto& w, auto& l) { l2tp_fields(w, l); });
}

json to_json(const SessionView& s) {
  return write_object(s, [](auto& w, auto& v) { session_fields(w, v); });
}

json to_json(const StatusSnapshot& s) {
  json sessions = json::array();
  for (const auto& v : s.sessions) sessions.push_back(to_json(v));
  // Without an IPsec supervisor the document still says what docs/status.schema.json requires of "ipsec".
  json ipsec = s.ipsec ? write_object(*s.ipsec, [](auto& w, auto& i) { ipsec_fields(w, i); })
                       : json{{"required", false},
                              {"charon", "none"},
                              {"link", "disconnected"},
                              {"charon_pid", nullptr},
                              {"sas", json::array()}};
  return json{{"server", write_object(s.server, [](auto& w, auto& v) { server_fields(w, v); })},
              {"l2tp", to_json(s.l2tp)},
              {"ipsec", std::move(ipsec)},
              {"ppp", s.ppp ? write_object(*s.ppp, [](auto& w, auto& p) { ppp_fields(w, p); }) : json::object()},
              {"sessions", std::move(sessions)}};
}

std::string to_json_text(const StatusSnapshot& s) {
  std::string out;
  // About 700 bytes per session and its tunnel: one allocation for the common case.
  out.reserve(4096 + 720 * (s.sessions.size() + s.l2tp.tunnels.size()));
  auto server = [](auto& w, auto& v) { server_fields(w, v); };
  auto l2tp = [](auto& w, auto& l) { l2tp_fields(w, l); };
  auto ipsec = [](auto& w, auto& i) { ipsec_fields(w, i); };
  auto ppp = [](auto& w, auto& p) { ppp_fields(w, p); };
  auto session = [](auto& w, auto& v) { session_fields(w, v); };
  out += "{\"server\":";
  TextWriter::write(out, s.server, server);
  out += ",\"l2tp\":";
  TextWriter::write(out, s.l2tp, l2tp);
  out += ",\"ipsec\":";
  if (s.ipsec)
    TextWriter::write(out, *s.ipsec, ipsec);
  else  // as to_json: what docs/status.schema.json requires of "ipsec"
    out += R"({"required":false,"charon":"none","link":"disconnected","charon_pid":null,"sas":[]})";
  out += ",\"ppp\":";
  if (s.ppp)
    TextWriter::write(out, *s.ppp, ppp);
  else
    out += "{}";
  out += ",\"sessions\":";
  TextWriter::write_array(out, s.sessions, session);
  out += '}';
  return out;
}

Read<StatusSnapshot> status_from_json(const json& j) {
  Read<StatusSnapshot> out;
  if (!j.is_object()) {
    out.unread.emplace_back("(the document)");
    return out;
  }
  Reader r(j, "", out.unread);
  StatusSnapshot& s = out.value;
  r.object("server", [&](auto& w) { server_fields(w, s.server); });
  r.object("l2tp", [&](auto& w) { l2tp_fields(w, s.l2tp); });
  r.optional_object("ipsec", s.ipsec, [](auto& w, auto& i) { ipsec_fields(w, i); });
  // No PPP side is rendered as {}.
  if (auto it = j.find("ppp"); it != j.end() && it->is_object() && it->empty()) {
  } else {
    r.optional_object("ppp", s.ppp, [](auto& w, auto& p) { ppp_fields(w, p); });
  }
  r.array("sessions", s.sessions, [](auto& w, auto& v) { session_fields(w, v); });
  return out;
}

Read<std::vector<SessionView>> sessions_from_json(const json& j) {
  Read<std::vector<SessionView>> out;
  auto fields = [](auto& w, auto& v) { session_fields(w, v); };
  Reader::read_array(j, "sessions", out.value, fields, out.unread);
  return out;
}

std::string prometheus_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

Tallies tally(const StatusSnapshot& s) {
  Tallies t;
  for (const auto& tv : s.l2tp.tunnels) {
    ++t.tunnels[tv.state];
    for (const auto& se : tv.sessions) ++t.l2tp_sessions[se.state];
  }
  for (const auto& se : s.sessions) ++t.ppp_sessions[se.state];
  if (s.ipsec) t.sas = s.ipsec->sas.size();
  return t;
}

std::string to_metrics(const StatusSnapshot& s) {
  std::ostringstream o;
  const Tallies tallies = s.tallies ? *s.tallies : tally(s);
  // By state name, as the series have always been ordered.
  std::map<std::string, uint64_t> tunnels_by_state, sessions_by_state;
  for (const auto& [state, n] : tallies.tunnels) tunnels_by_state[std::string(l2tp::to_string(state))] = n;
  for (const auto& [state, n] : tallies.l2tp_sessions) sessions_by_state[std::string(l2tp::to_string(state))] = n;
  o << "# HELP l2tpvpn_tunnels L2TP tunnels by state.\n# TYPE l2tpvpn_tunnels gauge\n";
  for (const auto& [k, v] : tunnels_by_state) o << "l2tpvpn_tunnels{state=\"" << k << "\"} " << v << "\n";
  o << "# HELP l2tpvpn_sessions L2TP sessions by state.\n# TYPE l2tpvpn_sessions gauge\n";
  for (const auto& [k, v] : sessions_by_state) o << "l2tpvpn_sessions{state=\"" << k << "\"} " << v << "\n";
  o << "# HELP l2tpvpn_l2tp_datagrams_total UDP datagrams received on the L2TP port.\n"
       "# TYPE l2tpvpn_l2tp_datagrams_total counter\n";
  o << "l2tpvpn_l2tp_datagrams_total " << s.l2tp.stats.datagrams << "\n";
  o << "# HELP l2tpvpn_l2tp_drops_total Datagrams and messages dropped without a reply, by reason.\n"
       "# TYPE l2tpvpn_l2tp_drops_total counter\n";
  for (const auto& [k, v] : s.l2tp.drops)
    o << "l2tpvpn_l2tp_drops_total{reason=\"" << prometheus_label(display_escape(k)) << "\"} " << v << "\n";
  o << "# HELP l2tpvpn_l2tp_retransmissions_total Control messages retransmitted since start.\n"
       "# TYPE l2tpvpn_l2tp_retransmissions_total counter\n";
  o << "l2tpvpn_l2tp_retransmissions_total " << s.l2tp.retransmissions << "\n";
  std::vector<std::pair<const char*, const ListenerCounters*>> listeners;
  if (s.server.status_http) listeners.emplace_back("status_http", &*s.server.status_http);
  if (s.server.control) listeners.emplace_back("control", &*s.server.control);
  if (!listeners.empty()) {
    const std::pair<const char*, uint64_t ListenerCounters::*> series[] = {
        {"l2tpvpn_listener_refused_over_cap_total", &ListenerCounters::refused_over_cap},
        {"l2tpvpn_listener_idle_closed_total", &ListenerCounters::idle_closed},
        {"l2tpvpn_listener_accept_fd_exhausted_total", &ListenerCounters::accept_fd_exhausted}};
    o << "# HELP l2tpvpn_listener_connections Connections open on the status and control listeners.\n"
         "# TYPE l2tpvpn_listener_connections gauge\n";
    for (const auto& [name, l] : listeners)
      o << "l2tpvpn_listener_connections{listener=\"" << name << "\"} " << l->open << "\n";
    for (const auto& [metric, field] : series) {
      o << "# TYPE " << metric << " counter\n";
      for (const auto& [name, l] : listeners) o << metric << "{listener=\"" << name << "\"} " << l->*field << "\n";
    }
  }
  if (s.ppp) {
    std::map<SessionPhase, uint64_t> by_phase = tallies.ppp_sessions;
    o << "# HELP l2tpvpn_ppp_sessions PPP sessions by state.\n# TYPE l2tpvpn_ppp_sessions gauge\n";
    for (SessionPhase p : {SessionPhase::kStarting, SessionPhase::kAuthenticating, SessionPhase::kUp,
                           SessionPhase::kClosing})
      o << "l2tpvpn_ppp_sessions{state=\"" << to_string(p) << "\"} " << by_phase[p] << "\n";
    o << "# HELP l2tpvpn_ppp_auth_failures_total Logins refused (wrong password or unknown user).\n"
         "# TYPE l2tpvpn_ppp_auth_failures_total counter\nl2tpvpn_ppp_auth_failures_total "
      << s.ppp->counters.auth_failures << "\n";
    o << "# HELP l2tpvpn_ppp_sessions_started_total pppd processes started.\n"
         "# TYPE l2tpvpn_ppp_sessions_started_total counter\nl2tpvpn_ppp_sessions_started_total "
      << s.ppp->counters.sessions_started << "\n";
    o << "# HELP l2tpvpn_pool_addresses_in_use Client addresses held by sessions.\n"
         "# TYPE l2tpvpn_pool_addresses_in_use gauge\nl2tpvpn_pool_addresses_in_use "
      << s.ppp->pool_in_use << "\n";
  }
  if (s.ipsec) {
    o << "# HELP l2tpvpn_ipsec_sas Installed L2TP transport SAs charon reports.\n"
         "# TYPE l2tpvpn_ipsec_sas gauge\nl2tpvpn_ipsec_sas "
      << tallies.sas << "\n";
    o << "# HELP l2tpvpn_charon_link_ready 1 when charon has our profile and the SA view is in sync.\n"
         "# TYPE l2tpvpn_charon_link_ready gauge\nl2tpvpn_charon_link_ready "
      << (s.ipsec->link == "ready" ? 1 : 0) << "\n";
  }
  return o.str();
}

}  // namespace l2tpvpn
