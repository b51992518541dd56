// l2tpvpnctl: manage a running l2tpvpnd over its control socket.
//
//   l2tpvpnctl [-s SOCKET] status [--json]
//   l2tpvpnctl [-s SOCKET] disconnect TUNNEL [SESSION]
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "server/control_server.hpp"

using nlohmann::json;

namespace {

int usage() {
  std::cerr << "usage: l2tpvpnctl [-s SOCKET] <command>\n"
               "  status [--json]              tunnels and sessions as a table (or the raw JSON)\n"
               "  disconnect TUNNEL [SESSION]  end a tunnel (StopCCN) or one session (CDN)\n";
  return 2;
}

void print_status(const json& s) {
  const json& srv = s.value("server", json::object());
  std::printf("l2tpvpnd %s, up %llds, L2TP on %s\n", srv.value("version", "?").c_str(),
              static_cast<long long>(srv.value("uptime_s", 0)), srv.value("l2tp_listen", "?").c_str());
  const json& l2tp = s.value("l2tp", json::object());
  std::printf("%-7s %-22s %-20s %-12s %s\n", "TUNNEL", "PEER", "HOST", "STATE", "SESSIONS");
  for (const auto& t : l2tp.value("tunnels", json::array())) {
    std::printf("%-7d %-22s %-20s %-12s %zu\n", t.value("id", 0), t.value("peer", "").c_str(),
                t.value("peer_host_name", "").c_str(), t.value("state", "").c_str(),
                t.value("sessions", json::array()).size());
    for (const auto& se : t.value("sessions", json::array()))
      std::printf("  session %-6d peer %-6d %-13s %s\n", se.value("id", 0), se.value("peer_id", 0),
                  se.value("state", "").c_str(), se.value("direction", "").c_str());
  }
  const json& drops = l2tp.value("drops", json::object());
  if (!drops.empty()) {
    std::printf("dropped:");
    for (auto it = drops.begin(); it != drops.end(); ++it)
      std::printf(" %s=%llu", it.key().c_str(), static_cast<unsigned long long>(it.value().get<uint64_t>()));
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string socket = "/run/l2tpvpn/control.sock";
  if (args.size() >= 2 && (args[0] == "-s" || args[0] == "--socket")) {
    socket = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty()) return usage();
  json req;
  const std::string& cmd = args[0];
  if (cmd == "status") {
    req = json{{"cmd", "status"}};
  } else if (cmd == "disconnect" && (args.size() == 2 || args.size() == 3)) {
    try {
      req = json{{"cmd", "disconnect"}, {"tunnel", std::stoul(args[1])}};
      if (args.size() == 3) req["session"] = std::stoul(args[2]);
    } catch (const std::exception&) {
      return usage();
    }
  } else {
    return usage();
  }
  json resp = l2tpvpn::control_request(socket, req);
  if (!resp.value("ok", false)) {
    std::cerr << "l2tpvpnctl: " << resp.value("error", "failed") << "\n";
    return 1;
  }
  if (cmd == "status") {
    if (args.size() > 1 && args[1] == "--json") {
      resp.erase("ok");
      std::cout << resp.dump(2) << "\n";
    } else {
      print_status(resp);
    }
  }
  return 0;
}
