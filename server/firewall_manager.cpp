#include "server/firewall_manager.hpp"

#include <cstdio>
#include <fstream>

#include "common/os/spawn.hpp"
#include "server/log.hpp"

namespace l2tpvpn {
namespace {

constexpr const char* kForwardingPath = "/proc/sys/net/ipv4/ip_forward";

std::string restore_tool(FirewallBackend b) {
  return b == FirewallBackend::kIptablesLegacy ? "iptables-legacy-restore" : "iptables-nft-restore";
}
std::string iptables_tool(FirewallBackend b) {
  return b == FirewallBackend::kIptablesLegacy ? "iptables-legacy" : "iptables-nft";
}

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path);
  std::string v;
  if (!(in >> v)) return std::nullopt;
  return v;
}

}  // namespace

namespace {
ToolProbe probe_tool(const std::vector<std::string>& list_command) {
  if (!os::have_program(list_command.front())) return ToolProbe::kMissing;
  return os::run_process(list_command).exit_code == 0 ? ToolProbe::kWorks : ToolProbe::kFailed;
}
}  // namespace

FirewallProbe probe_firewall_tools() {
  FirewallProbe p;
  p.nft = probe_tool({"nft", "list", "tables"});
  if (p.nft == ToolProbe::kWorks) return p;  // auto takes the first that works: the others need no probe
  p.iptables_nft = probe_tool({"iptables-nft", "-w", "-L", "INPUT", "-n"});
  if (p.iptables_nft == ToolProbe::kWorks) return p;
  p.iptables_legacy = probe_tool({"iptables-legacy", "-w", "-L", "INPUT", "-n"});
  return p;
}

Status<SetupError> FirewallManager::run_tables(const FirewallPlan& plan, bool install_side) {
  const auto& parts = install_side ? plan.install : plan.remove;
  if (plan.backend == FirewallBackend::kNft) {
    for (const auto& [table, text] : parts) {
      auto r = os::run_process({"nft", "-f", "-"}, text);
      if (r.exit_code != 0) return unexpected(SetupError{SetupPart::kFirewall, 0, "nft -f: " + r.output});
    }
    return {};
  }
  std::string ipt = iptables_tool(plan.backend);
  if (!install_side) {
    // Unhook first (ignore "does not exist"), then delete our chains.
    for (const auto& [table, args] : plan.hooks) {
      std::vector<std::string> argv = {ipt, "-w", "-t", table, "-D"};
      argv.insert(argv.end(), args.begin(), args.end());
      while (os::run_process(argv).exit_code == 0) {
      }
    }
  }
  for (const auto& [table, text] : parts) {
    auto r = os::run_process({restore_tool(plan.backend), "-w", "--noflush"}, text);
    if (r.exit_code != 0 && install_side) return unexpected(SetupError{SetupPart::kFirewall, 0, restore_tool(plan.backend) + " (" + table + "): " + r.output});
  }
  if (install_side) {
    for (const auto& [table, args] : plan.hooks) {
      std::vector<std::string> check = {ipt, "-w", "-t", table, "-C"};
      check.insert(check.end(), args.begin(), args.end());
      if (os::run_process(check).exit_code == 0) continue;
      std::vector<std::string> argv = {ipt, "-w", "-t", table, "-I"};
      argv.push_back(args[0]);
      argv.push_back("1");
      argv.insert(argv.end(), args.begin() + 1, args.end());
      auto r = os::run_process(argv);
      if (r.exit_code != 0) return unexpected(SetupError{SetupPart::kFirewall, 0, ipt + " -I " + args[0] + ": " + r.output});
    }
  }
  return {};
}

Status<SetupError> FirewallManager::install(const FirewallPlan& plan, bool enable_forwarding) {
  if (plan.backend == FirewallBackend::kNone) return {};
  (void)run_tables(plan, false);  // leftovers from a previous run
  if (auto s = run_tables(plan, true); !s) {
    (void)run_tables(plan, false);
    return s;
  }
  plan_ = plan;
  data_ports_.clear();  // the table was replaced whole, with empty maps
  if (enable_forwarding) {
    std::optional<std::string> from_crash = state_file_.empty() ? std::nullopt : read_file(state_file_.c_str());
    saved_forwarding_ = from_crash ? from_crash : read_file(kForwardingPath);
    if (!from_crash && saved_forwarding_ && !state_file_.empty()) std::ofstream(state_file_) << *saved_forwarding_;
    std::ofstream(kForwardingPath) << "1\n";
  }
  log::info("event=firewall_installed backend=" + std::string(to_string(plan.backend)));
  return {};
}

void FirewallManager::remove() {
  if (!plan_) return;
  (void)run_tables(*plan_, false);
  if (saved_forwarding_) std::ofstream(kForwardingPath) << *saved_forwarding_ << "\n";
  saved_forwarding_.reset();
  if (!state_file_.empty()) std::remove(state_file_.c_str());
  log::info("event=firewall_removed backend=" + std::string(to_string(plan_->backend)));
  plan_.reset();
  data_ports_.clear();
}

namespace {
Status<SetupError> firewall_error(std::string message) {
  return unexpected(SetupError{SetupPart::kFirewall, 0, std::move(message)});
}
}  // namespace

Status<SetupError> FirewallManager::map_data_port(uint32_t mark, uint16_t port) {
  const std::string what = "data port " + std::to_string(port) + " for mark " + std::to_string(mark);
  if (!plan_ || !plan_->data_ports) return firewall_error(what + ": no firewall plan with data ports installed");
  if (mark == 0 || port == 0) return firewall_error(what + ": mark and port must not be 0");
  for (const auto& [m, p] : data_ports_)
    if (p == port && m != mark)
      return firewall_error(what + ": the port is already mapped to mark " + std::to_string(m));
  std::string script;
  if (auto old = data_ports_.find(mark); old != data_ports_.end()) {
    if (old->second == port) return {};
    script = nft_unmap_data_port_script(mark, old->second);
  }
  script += nft_map_data_port_script(mark, port);
  auto r = os::run_process({"nft", "-f", "-"}, script);
  if (r.exit_code != 0) return firewall_error(what + ": nft -f: " + r.output);
  data_ports_[mark] = port;
  log::debug("event=firewall_data_port mark=" + std::to_string(mark) + " port=" + std::to_string(port));
  return {};
}

Status<SetupError> FirewallManager::unmap_data_port(uint32_t mark) {
  const std::string what = "data port of mark " + std::to_string(mark);
  if (!plan_ || !plan_->data_ports) return firewall_error(what + ": no firewall plan with data ports installed");
  auto it = data_ports_.find(mark);
  if (it == data_ports_.end()) return {};
  auto r = os::run_process({"nft", "-f", "-"}, nft_unmap_data_port_script(mark, it->second));
  if (r.exit_code != 0) return firewall_error(what + ": nft -f: " + r.output);
  log::debug("event=firewall_data_port_removed mark=" + std::to_string(mark) + " port=" + std::to_string(it->second));
  data_ports_.erase(it);
  return {};
}

}  // namespace l2tpvpn
