#include "server/status.hpp"

#include <map>
#include <sstream>

#include "common/display.hpp"

namespace l2tpvpn {

using nlohmann::json;

nlohmann::json l2tp_status(const l2tp::Endpoint& ep) {
  json tunnels = json::array();
  for (const l2tp::Tunnel* t : ep.tunnels()) {
    json sessions = json::array();
    for (const auto& s : t->sessions()) {
      sessions.push_back(json{{"id", s.session_id},
                              {"peer_id", s.peer_session_id},
                              {"state", std::string(l2tp::to_string(s.state))},
                              {"direction", s.direction == l2tp::CallDirection::kIncoming ? "incoming" : "outgoing"},
                              {"call_serial", s.call_serial_number},
                              {"sequencing", s.sequencing_required}});
    }
    const auto& cs = t->channel_stats();
    tunnels.push_back(json{{"id", t->id()},
                           {"peer_id", t->peer_id()},
                           {"peer", t->peer().to_string()},
                           {"peer_host_name", display_escape(t->peer_host_name())},
                           {"state", std::string(l2tp::to_string(t->state()))},
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
  for (const auto& [k, v] : ep.drops()) drops[k] = v;
  const auto& st = ep.stats();
  return json{{"tunnels", tunnels},
              {"drops", drops},
              {"stats", json{{"datagrams", st.datagrams},
                             {"control", st.control},
                             {"data", st.data},
                             {"tunnels_created", st.tunnels_created}}}};
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

std::string l2tp_metrics(const l2tp::Endpoint& ep) {
  std::ostringstream o;
  std::map<std::string, uint64_t> tunnels_by_state, sessions_by_state;
  uint64_t retrans = 0;
  for (const l2tp::Tunnel* t : ep.tunnels()) {
    ++tunnels_by_state[std::string(l2tp::to_string(t->state()))];
    for (const auto& s : t->sessions()) ++sessions_by_state[std::string(l2tp::to_string(s.state))];
    retrans += t->channel_stats().retransmissions;
  }
  o << "# HELP l2tpvpn_tunnels L2TP tunnels by state.\n# TYPE l2tpvpn_tunnels gauge\n";
  for (const auto& [k, v] : tunnels_by_state) o << "l2tpvpn_tunnels{state=\"" << k << "\"} " << v << "\n";
  o << "# HELP l2tpvpn_sessions L2TP sessions by state.\n# TYPE l2tpvpn_sessions gauge\n";
  for (const auto& [k, v] : sessions_by_state) o << "l2tpvpn_sessions{state=\"" << k << "\"} " << v << "\n";
  o << "# HELP l2tpvpn_l2tp_datagrams_total UDP datagrams received on the L2TP port.\n"
       "# TYPE l2tpvpn_l2tp_datagrams_total counter\n";
  o << "l2tpvpn_l2tp_datagrams_total " << ep.stats().datagrams << "\n";
  o << "# HELP l2tpvpn_l2tp_drops_total Datagrams and messages dropped without a reply, by reason.\n"
       "# TYPE l2tpvpn_l2tp_drops_total counter\n";
  for (const auto& [k, v] : ep.drops())
    o << "l2tpvpn_l2tp_drops_total{reason=\"" << prometheus_label(k) << "\"} " << v << "\n";
  o << "# HELP l2tpvpn_l2tp_retransmissions_total Control messages retransmitted (live tunnels).\n"
       "# TYPE l2tpvpn_l2tp_retransmissions_total counter\n";
  o << "l2tpvpn_l2tp_retransmissions_total " << retrans << "\n";
  return o.str();
}

}  // namespace l2tpvpn
