// l2tpvpnctl's text output: tables, byte counts, durations, word wrapping, and the status and sessions tables
// (docs/status.md says what the daemon sends). Pure.
#include "cli/render.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace l2tpvpn::cli {

using nlohmann::json;

namespace {

// One `key=value` per scalar of an object (nested objects as key.sub=value, arrays as their size).
void flatten(const json& j, const std::string& prefix, std::vector<std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string k = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      flatten(*it, k, out);
    } else if (it->is_array()) {
      out.push_back(k + "=" + std::to_string(it->size()));
    } else if (it->is_string()) {
      out.push_back(k + "=" + it->get<std::string>());
    } else {
      out.push_back(k + "=" + it->dump());
    }
  }
}

std::string ipsec_cell(const json& s) {
  if (!s.is_object() || !s.contains("ipsec") || !s["ipsec"].is_object()) return "-";
  const json& i = s["ipsec"];
  // docs/status.md calls it "nat"; "nat_t" is accepted too.
  auto flag = [&](const char* k) { return i.contains(k) && i[k].is_boolean() && i[k].get<bool>(); };
  bool nat = flag("nat") || flag("nat_t");
  return nat ? "esp+nat-t" : "esp";
}

// The sessions of an older status document (no top-level "sessions"): from the tunnels, in the new shape.
json sessions_from_tunnels(const json& status) {
  json out = json::array();
  if (!status.contains("l2tp") || !status["l2tp"].is_object()) return out;
  const json& tunnels = status["l2tp"].value("tunnels", json::array());
  if (!tunnels.is_array()) return out;
  for (const auto& t : tunnels) {
    if (!t.is_object() || !t.contains("sessions") || !t["sessions"].is_array()) continue;
    for (const auto& s : t["sessions"]) {
      if (!s.is_object()) continue;
      json row = json::object();
      if (t.contains("id")) row["tunnel"] = t["id"];
      if (s.contains("id")) row["session"] = s["id"];
      if (s.contains("peer_id")) row["peer_session"] = s["peer_id"];
      if (t.contains("peer")) row["peer"] = t["peer"];
      if (s.contains("state")) row["state"] = s["state"];
      out.push_back(row);
    }
  }
  return out;
}

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

std::string human_bytes(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return "-";
  double v = j[key].get<double>();
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

std::string render_sessions(const json& sessions) {
  if (!sessions.is_array() || sessions.empty()) return "no sessions\n";
  Table t({"TUNNEL", "SESSION", "USER", "ADDRESS", "PEER", "IFACE", "PATH", "STATE", "SINCE", "IN", "OUT", "IPSEC"});
  for (const auto& s : sessions) {
    t.add({cell(s, "tunnel"), cell(s, "session"), cell(s, "user"), cell(s, "address"), cell(s, "peer"),
           cell(s, "interface"), cell(s, "data_path"), cell(s, "state"), cell(s, "since"), human_bytes(s, "bytes_in"),
           human_bytes(s, "bytes_out"), ipsec_cell(s)});
  }
  return t.render();
}

std::string render_status(const json& status) {
  std::string out;
  const json srv = status.is_object() ? status.value("server", json::object()) : json::object();
  std::string uptime = "-";
  if (srv.is_object() && srv.contains("uptime_s") && srv["uptime_s"].is_number_integer())
    uptime = format_duration(srv["uptime_s"].get<int64_t>());
  out += "l2tpvpnd " + cell(srv, "version") + ", up " + uptime + ", L2TP on " + cell(srv, "l2tp_listen") + "\n";

  // IPsec (docs/status.md "ipsec"): one line, then the SAs; fields this version does not know as key=value.
  std::string sa_table;
  if (status.is_object() && status.contains("ipsec") && !status["ipsec"].is_null()) {
    const json& ip = status["ipsec"];
    std::string line = "IPsec: ";
    if (ip.is_object()) {
      line += "charon " + cell(ip, "charon");
      if (ip.contains("charon_pid") && ip["charon_pid"].is_number()) line += " (pid " + cell(ip, "charon_pid") + ")";
      line += ", VICI link " + cell(ip, "link");
      if (ip.contains("required") && ip["required"].is_boolean())
        line += ip["required"].get<bool>() ? ", required for L2TP" : ", not required for L2TP";
      std::vector<std::string> extra;
      json rest = ip;
      for (const char* k : {"charon", "charon_pid", "link", "required", "sas", "vici_socket"}) rest.erase(k);
      flatten(rest, "", extra);
      for (const auto& w : extra) line += ", " + w;
      const json sas = ip.value("sas", json::array());
      if (sas.is_array()) {
        line += ", " + std::to_string(sas.size()) + " SA(s)";
        if (!sas.empty()) {
          Table t({"REMOTE", "PORT", "NAT-T", "IKE SA", "CHILD SA", "IKE", "ESP", "IN", "OUT"});
          for (const auto& sa : sas)
            t.add({cell(sa, "remote"), cell(sa, "remote_port"), cell(sa, "nat"), cell(sa, "ike_sa"),
                   cell(sa, "child_sa"), cell(sa, "ike_proposal"), cell(sa, "esp_proposal"),
                   human_bytes(sa, "bytes_in"), human_bytes(sa, "bytes_out")});
          sa_table = "\nIPSEC SAS (" + std::to_string(sas.size()) + ")\n" + t.render();
        }
      }
    } else {
      line += ip.dump();
    }
    out += line + "\n";
  }

  // PPP (docs/status.md "ppp"): data path, pool use, pppd count, the counters that are not zero.
  if (status.is_object() && status.contains("ppp") && status["ppp"].is_object()) {
    const json& ppp = status["ppp"];
    const json pool = ppp.value("pool", json::object());
    std::string line = "PPP: data path " + cell(ppp, "data_path") + ", pool " + cell(pool, "range") + " (" +
                       cell(pool, "in_use") + " of " + cell(pool, "capacity") + " in use), pppd running " +
                       cell(ppp, "pppd_running");
    const json counters = ppp.value("counters", json::object());
    if (counters.is_object())
      for (auto it = counters.begin(); it != counters.end(); ++it)
        if (!(it->is_number() && it->get<double>() == 0))
          line += ", " + it.key() + "=" + cell(counters, it.key().c_str());
    out += line + "\n";
  }
  out += sa_table;

  const json l2tp = status.is_object() ? status.value("l2tp", json::object()) : json::object();
  const json tunnels = l2tp.is_object() ? l2tp.value("tunnels", json::array()) : json::array();
  out += "\nTUNNELS (" + std::to_string(tunnels.is_array() ? tunnels.size() : 0) + ")\n";
  if (!tunnels.is_array() || tunnels.empty()) {
    out += "no tunnels\n";
  } else {
    Table t({"TUNNEL", "PEER TUNNEL", "PEER", "HOST", "STATE", "SESSIONS", "RETRANSMISSIONS"});
    for (const auto& tu : tunnels) {
      std::string n = tu.is_object() && tu.contains("sessions") && tu["sessions"].is_array()
                          ? std::to_string(tu["sessions"].size())
                          : "-";
      t.add({cell(tu, "id"), cell(tu, "peer_id"), cell(tu, "peer"), cell(tu, "peer_host_name"), cell(tu, "state"), n,
             tu.is_object() ? cell(tu.value("control", json::object()), "retransmissions") : "-"});
    }
    out += t.render();
  }

  json sessions = status.is_object() && status.contains("sessions") && status["sessions"].is_array()
                      ? status["sessions"]
                      : sessions_from_tunnels(status);
  out += "\nSESSIONS (" + std::to_string(sessions.size()) + ")\n" + render_sessions(sessions);

  const json drops = l2tp.is_object() ? l2tp.value("drops", json::object()) : json::object();
  if (drops.is_object() && !drops.empty()) {
    std::string line;
    for (auto it = drops.begin(); it != drops.end(); ++it) line += " " + it.key() + "=" + cell(drops, it.key().c_str());
    out += "\ndropped:" + line + "\n";
  }
  return out;
}

}  // namespace l2tpvpn::cli
