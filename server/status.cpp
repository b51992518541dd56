#include "server/status.hpp"

#include <sstream>

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

L2tpView l2tp_view(const l2tp::Endpoint& ep) {
  L2tpView v;
  for (const l2tp::Tunnel* t : ep.tunnels()) {
    TunnelView tv;
    tv.id = t->id();
    tv.peer_id = t->peer_id();
    tv.peer = t->peer().to_string();
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
  return v;
}

json to_json(const L2tpView& v) {
  json tunnels = json::array();
  for (const auto& t : v.tunnels) {
    json sessions = json::array();
    for (const auto& s : t.sessions) {
      sessions.push_back(json{{"id", s.id},
                              {"peer_id", s.peer_id},
                              {"state", std::string(l2tp::to_string(s.state))},
                              {"direction", s.direction == l2tp::CallDirection::kIncoming ? "incoming" : "outgoing"},
                              {"call_serial", s.call_serial},
                              {"sequencing", s.sequencing}});
    }
    const auto& cs = t.control;
    tunnels.push_back(json{{"id", t.id},
                           {"peer_id", t.peer_id},
                           {"peer", t.peer},
                           {"peer_host_name", display_escape(t.peer_host_name)},
                           {"state", std::string(l2tp::to_string(t.state))},
                           {"sessions", sessions},
                           {"control", json{{"sent", cs.sent},
                                            {"transmitted", cs.transmitted},
                                            {"retransmissions", cs.retransmissions},
                                            {"received", cs.received},
                                            {"duplicates", cs.duplicates},
                                            {"out_of_order", cs.out_of_order},
                                            {"ignored_acks", cs.ignored_acks}}}});
  }
  json drops = json::object();
  for (const auto& [k, n] : v.drops) drops[display_escape(k)] = n;
  return json{{"tunnels", tunnels},
              {"drops", drops},
              {"stats", json{{"datagrams", v.stats.datagrams},
                             {"control", v.stats.control},
                             {"data", v.stats.data},
                             {"tunnels_created", v.stats.tunnels_created}}}};
}

namespace {

json to_json(const IpsecView& v) {
  json sas = json::array();
  for (const auto& sa : v.sas) {
    sas.push_back(json{{"remote", sa.remote},
                       {"remote_port", sa.remote_port},
                       {"nat", sa.nat},
                       {"encap", sa.encap},
                       {"ike_sa", display_escape(sa.ike_sa)},
                       {"child_sa", display_escape(sa.child_sa)},
                       {"ike_proposal", sa.ike_proposal},
                       {"esp_proposal", sa.esp_proposal},
                       {"bytes_in", sa.bytes_in},
                       {"bytes_out", sa.bytes_out}});
  }
  return json{{"required", v.required},
              {"charon", v.charon},
              {"vici_socket", v.vici_socket},
              {"link", v.link},
              {"charon_pid", v.charon_pid ? json(*v.charon_pid) : json(nullptr)},
              {"tunnels_closed_for_sa", v.tunnels_closed_for_sa},
              {"ike_terminated", v.ike_terminated},
              {"sas", sas}};
}

json to_json(const PppView& v) {
  const auto& c = v.counters;
  return json{{"data_path", v.data_path},
              {"pool", {{"range", v.pool_range},
                        {"server_address", v.pool_server_address},
                        {"capacity", v.pool_capacity},
                        {"in_use", v.pool_in_use}}},
              {"pppd_running", v.pppd_running},
              {"counters", {{"sessions_started", c.sessions_started},
                            {"sessions_refused", c.sessions_refused},
                            {"pppd_exits", c.pppd_exits},
                            {"pppd_killed", c.pppd_killed},
                            {"auth_failures", c.auth_failures},
                            {"report_errors", c.report_errors},
                            {"pty_frames_in", c.pty_frames_in},
                            {"pty_frames_out", c.pty_frames_out},
                            {"pty_overflow_drops", c.pty_overflow_drops},
                            {"hdlc_bad_fcs", c.hdlc.bad_fcs},
                            {"hdlc_too_short", c.hdlc.too_short},
                            {"hdlc_too_long", c.hdlc.too_long},
                            {"hdlc_aborted", c.hdlc.aborted}}}};
}

}  // namespace

json to_json(const SessionView& s) {
  json j{{"tunnel", s.tunnel},
         {"session", s.session},
         {"peer_tunnel", s.peer_tunnel},
         {"peer_session", s.peer_session},
         {"peer", s.peer},
         {"user", s.user ? json(display_escape(*s.user)) : json(nullptr)},
         {"address", s.address},
         {"interface", s.interface ? json(*s.interface) : json(nullptr)},
         {"data_path", s.data_path},
         {"state", to_string(s.state)},
         {"since", s.since},
         {"pppd_pid", s.pppd_pid ? json(*s.pppd_pid) : json(nullptr)},
         {"bytes_in", s.bytes_in},
         {"bytes_out", s.bytes_out},
         {"packets_in", s.packets_in},
         {"packets_out", s.packets_out},
         {"ipsec", nullptr}};
  if (s.ipsec)
    j["ipsec"] = json{{"nat", s.ipsec->nat},
                      {"remote_port", s.ipsec->remote_port},
                      {"ike_proposal", s.ipsec->ike_proposal},
                      {"esp_proposal", s.ipsec->esp_proposal}};
  return j;
}

json to_json(const StatusSnapshot& s) {
  json sessions = json::array();
  for (const auto& v : s.sessions) sessions.push_back(to_json(v));
  json ipsec = s.ipsec ? to_json(*s.ipsec)
                       : json{{"required", false},
                              {"charon", "none"},
                              {"link", "disconnected"},
                              {"charon_pid", nullptr},
                              {"sas", json::array()}};
  return json{{"server", {{"version", s.server.version},
                          {"uptime_s", s.server.uptime_s},
                          {"l2tp_listen", s.server.l2tp_listen}}},
              {"l2tp", to_json(s.l2tp)},
              {"ipsec", std::move(ipsec)},
              {"ppp", s.ppp ? to_json(*s.ppp) : json::object()},
              {"sessions", std::move(sessions)}};
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

std::string to_metrics(const StatusSnapshot& s) {
  std::ostringstream o;
  std::map<std::string, uint64_t> tunnels_by_state, sessions_by_state;
  uint64_t retrans = 0;
  for (const auto& t : s.l2tp.tunnels) {
    ++tunnels_by_state[std::string(l2tp::to_string(t.state))];
    for (const auto& se : t.sessions) ++sessions_by_state[std::string(l2tp::to_string(se.state))];
    retrans += t.control.retransmissions;
  }
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
  o << "# HELP l2tpvpn_l2tp_retransmissions_total Control messages retransmitted (live tunnels).\n"
       "# TYPE l2tpvpn_l2tp_retransmissions_total counter\n";
  o << "l2tpvpn_l2tp_retransmissions_total " << retrans << "\n";
  if (s.ppp) {
    std::map<SessionPhase, uint64_t> by_phase;
    for (const auto& se : s.sessions) ++by_phase[se.state];
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
      << s.ipsec->sas.size() << "\n";
    o << "# HELP l2tpvpn_charon_link_ready 1 when charon has our profile and the SA view is in sync.\n"
         "# TYPE l2tpvpn_charon_link_ready gauge\nl2tpvpn_charon_link_ready "
      << (s.ipsec->link == "ready" ? 1 : 0) << "\n";
  }
  return o.str();
}

}  // namespace l2tpvpn
