// l2tpvpnctl's text output: tables, byte counts, durations, word wrapping, and the status and sessions tables
// from the typed status snapshot (docs/status.md says what each field means). Pure.
#include "cli/render.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <type_traits>

#include "common/display.hpp"

namespace l2tpvpn::cli {

using nlohmann::json;

namespace {

// A string as a cell: "" is "-", anything else escaped.
std::string text(const std::string& s) { return s.empty() ? "-" : display_escape(s); }
template <class T>
std::string text(const std::optional<T>& v) {
  if (!v) return "-";
  if constexpr (std::is_same_v<T, std::string>)
    return text(*v);
  else
    return std::to_string(*v);
}
std::string yes_no(bool b) { return b ? "yes" : "no"; }
// An IPsec SA's mark (what tells clients behind one NAT apart): 0 is none.
std::string mark(uint32_t m) { return m ? std::to_string(m) : "-"; }
std::string marks(uint32_t in, uint32_t out) { return in == out ? mark(in) : mark(in) + "/" + mark(out); }

}  // namespace

void Table::add(std::vector<std::string> row) {
  row.resize(rows_.front().size(), "-");
  rows_.push_back(std::move(row));
}

std::string Table::render() const {
  std::vector<size_t> width(rows_.front().size(), 0);
  for (const auto& r : rows_)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::string out;
  for (const auto& r : rows_) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      line += r[c];
      if (c + 1 < r.size()) line += std::string(width[c] - r[c].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string cell(const json& j, const char* key) {
  if (!j.is_object()) return "-";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>().empty() ? "-" : it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
  if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return it->dump();
}

std::string human_bytes(uint64_t bytes) {
  auto v = static_cast<double>(bytes);
  static const char* const kUnits[] = {"B", "K", "M", "G", "T"};
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f%s", v, kUnits[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f%s", v, kUnits[u]);
  return buf;
}

std::string format_duration(int64_t s) {
  if (s < 0) return "-";
  char buf[48];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s / 3600 % 24));
  return buf;
}

std::string wrap(const std::string& text, const std::string& first, const std::string& rest) {
  std::string out, line = first;
  bool line_empty = true;
  std::istringstream words(text);
  for (std::string w; words >> w;) {
    if (!line_empty && line.size() + 1 + w.size() > kWrapColumn) {
      out += line + "\n";
      line = rest;
      line_empty = true;
    }
    line += (line_empty ? "" : " ") + w;
    line_empty = false;
  }
  return out + line + "\n";
}

std::string render_sessions(const std::vector<SessionView>& sessions) {
  if (sessions.empty()) return "no sessions\n";
  Table t({"TUNNEL", "SESSION", "USER", "ADDRESS", "PEER", "MARK", "IFACE", "PATH", "STATE", "SINCE", "IN", "OUT",
           "IPSEC"});
  for (const auto& s : sessions) {
    t.add({std::to_string(s.tunnel), std::to_string(s.session), text(s.user), text(s.address), text(s.peer),
           mark(s.peer_mark), text(s.interface), text(s.data_path), to_string(s.state), text(s.since), human_bytes(s.bytes_in),
           human_bytes(s.bytes_out), s.ipsec ? (s.ipsec->nat ? "esp+nat-t" : "esp") : "-"});
  }
  return t.render();
}

std::string render_status(const StatusSnapshot& status) {
  const ServerView& srv = status.server;
  std::string out = "l2tpvpnd " + text(srv.version) + ", up " + format_duration(srv.uptime_s) + ", L2TP on " +
                    text(srv.l2tp_listen) + "\n";
  // The status and control listeners: open/cap, then the counters that are not zero.
  auto listener = [](const char* name, const ListenerCounters& l) {
    std::string line = std::string(name) + ": " + std::to_string(l.open) + "/" + std::to_string(l.max) +
                       " connections, accepted=" + std::to_string(l.accepted);
    if (l.refused_over_cap) line += ", refused_over_cap=" + std::to_string(l.refused_over_cap);
    if (l.idle_closed) line += ", idle_closed=" + std::to_string(l.idle_closed);
    if (l.accept_fd_exhausted) line += ", accept_fd_exhausted=" + std::to_string(l.accept_fd_exhausted);
    return line + "\n";
  };
  if (srv.status_http) out += listener("Status endpoint", *srv.status_http);
  if (srv.control) out += listener("Control socket", *srv.control);

  // IPsec: one line, then the SAs.
  std::string sa_table;
  if (const auto& ip = status.ipsec) {
    std::string line = "IPsec: charon " + text(ip->charon);
    if (ip->charon_pid) line += " (pid " + std::to_string(*ip->charon_pid) + ")";
    line += ", VICI link " + text(ip->link);
    line += ip->required ? ", required for L2TP" : ", not required for L2TP";
    if (ip->ike_terminated) line += ", ike_terminated=" + std::to_string(ip->ike_terminated);
    if (ip->tunnels_closed_for_sa) line += ", tunnels_closed_for_sa=" + std::to_string(ip->tunnels_closed_for_sa);
    line += ", " + std::to_string(ip->sas.size()) + " SA(s)";
    out += line + "\n";
    if (!ip->sas.empty()) {
      Table t({"REMOTE", "PORT", "MARK", "NAT-T", "IKE SA", "CHILD SA", "IKE", "ESP", "IN", "OUT"});
      for (const auto& sa : ip->sas)
        t.add({text(sa.remote), std::to_string(sa.remote_port), marks(sa.mark_in, sa.mark_out), yes_no(sa.nat),
               text(sa.ike_sa), text(sa.child_sa),
               text(sa.ike_proposal), text(sa.esp_proposal), human_bytes(sa.bytes_in), human_bytes(sa.bytes_out)});
      sa_table = "\nIPSEC SAS (" + std::to_string(ip->sas.size()) + ")\n" + t.render();
    }
  }

  // PPP: data path, pool use, pppd count, the counters that are not zero.
  if (const auto& ppp = status.ppp) {
    std::string line = "PPP: data path " + text(ppp->data_path) + ", pool " + text(ppp->pool_range) + " (" +
                       std::to_string(ppp->pool_in_use) + " of " + std::to_string(ppp->pool_capacity) +
                       " in use), pppd running " + std::to_string(ppp->pppd_running);
    for (const auto& [name, n] : named_counters(ppp->counters))
      if (n != 0) line += ", " + std::string(name) + "=" + std::to_string(n);
    out += line + "\n";
  }
  out += sa_table;

  const auto& tunnels = status.l2tp.tunnels;
  out += "\nTUNNELS (" + std::to_string(tunnels.size()) + ")\n";
  if (tunnels.empty()) {
    out += "no tunnels\n";
  } else {
    Table t({"TUNNEL", "PEER TUNNEL", "PEER", "MARK", "HOST", "STATE", "SESSIONS", "RETRANSMISSIONS"});
    for (const auto& tu : tunnels)
      t.add({std::to_string(tu.id), std::to_string(tu.peer_id), text(tu.peer), mark(tu.peer_mark),
             text(tu.peer_host_name),
             std::string(l2tp::to_string(tu.state)), std::to_string(tu.sessions.size()),
             std::to_string(tu.control.retransmissions)});
    out += t.render();
  }

  out += "\nSESSIONS (" + std::to_string(status.sessions.size()) + ")\n" + render_sessions(status.sessions);

  if (!status.l2tp.drops.empty()) {
    std::string line;
    for (const auto& [reason, n] : status.l2tp.drops) line += " " + display_escape(reason) + "=" + std::to_string(n);
    out += "\ndropped:" + line + "\n";
  }
  return out;
}

std::string render_unread(const std::vector<std::string>& unread) {
  if (unread.empty()) return "";
  constexpr size_t kShown = 8;
  std::string line = "l2tpvpnctl: not shown, as the daemon sent a value this version cannot read:";
  for (size_t i = 0; i < unread.size() && i < kShown; ++i) line += (i ? ", " : " ") + display_escape(unread[i]);
  if (unread.size() > kShown) line += " and " + std::to_string(unread.size() - kShown) + " more";
  return line + " (--json shows the whole answer)\n";
}

}  // namespace l2tpvpn::cli
