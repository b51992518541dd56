#include "server/xfrm_purge.hpp"

#include <set>
#include <utility>

#include "common/os/spawn.hpp"

namespace l2tpvpn {

std::vector<std::vector<std::string>> xfrm_purge_commands(const std::vector<ipsec::SaInfo>& sas) {
  std::set<std::pair<ipsec::IpAddress, ipsec::IpAddress>> pairs;
  for (const auto& sa : sas) pairs.emplace(sa.local_address, sa.remote_address);
  std::vector<std::vector<std::string>> out;
  for (const auto& [local, remote] : pairs) {
    const bool v4 = local.family == ipsec::IpAddress::Family::kV4;
    const std::string family = v4 ? "-4" : "-6";
    const std::string host = v4 ? "/32" : "/128";
    const std::string l = local.to_string(), r = remote.to_string();
    // SAs: identified by their outer addresses (transport mode; the NATed peer's public address).
    out.push_back({"ip", family, "xfrm", "state", "deleteall", "src", l, "dst", r, "proto", "esp"});
    out.push_back({"ip", family, "xfrm", "state", "deleteall", "src", r, "dst", l, "proto", "esp"});
    // Policies: host-to-host selectors (out: local -> remote; in and fwd: remote -> local).
    out.push_back({"ip", family, "xfrm", "policy", "deleteall", "src", l + host, "dst", r + host});
    out.push_back({"ip", family, "xfrm", "policy", "deleteall", "src", r + host, "dst", l + host});
  }
  return out;
}

XfrmPurgeResult purge_xfrm(const std::vector<ipsec::SaInfo>& sas) {
  XfrmPurgeResult result;
  std::set<std::pair<ipsec::IpAddress, ipsec::IpAddress>> pairs;
  for (const auto& sa : sas) pairs.emplace(sa.local_address, sa.remote_address);
  result.peers = pairs.size();
  for (const auto& argv : xfrm_purge_commands(sas)) {
    ++result.commands;
    auto r = os::run_process(argv);
    if (r.exit_code != 0) {
      ++result.failures;
      std::string why = r.output;
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      result.last_error = "ip xfrm " + argv[3] + " " + argv[4] + ": exit " + std::to_string(r.exit_code) + ": " + why;
    }
  }
  return result;
}

}  // namespace l2tpvpn
