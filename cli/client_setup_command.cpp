// The client-setup command: gathers what the clients need (the address they dial, the PSK, the user, what the
// configuration allows) from the arguments, the configuration, the PSK file, the users file and the routing
// table, then prints the document of client_setup.hpp as text or JSON.
#include <algorithm>
#include <cerrno>
#include <ostream>
#include <set>
#include <sstream>

#include "cli/client_setup.hpp"
#include "cli/commands.hpp"
#include "common/os/private_file.hpp"

namespace l2tpvpn::cli {

using nlohmann::json;

namespace {

constexpr const char* kClientSetupUsage =
    "client-setup [--user NAME] [--os windows|macos|ios|android|all] [--server HOST] [--name NAME] "
    "[--show-password] [--json]";

const CommandSpec kClientSetupSpec{
    .options = {{"user", true}, {"os", true}, {"server", true}, {"name", true}, {"show-password"}, {"json"}}};

}  // namespace

int run_client_setup(CommandContext& ctx, const std::vector<std::string>& args) {
  auto p = ctx.parse(args, 1, kClientSetupSpec, kClientSetupUsage);
  if (!p) return kExitUsage;
  const DaemonConfig& config = ctx.config();
  ClientSetupInput in;
  // Which systems, in a fixed order.
  std::set<std::string> wanted;
  std::string os_arg = p->has("os") ? p->value("os") : "all";
  std::stringstream list(os_arg);
  for (std::string os; std::getline(list, os, ',');) {
    if (os == "all") {
      for (std::string_view all : kClientOses) wanted.emplace(all);
    } else if (std::find(kClientOses.begin(), kClientOses.end(), os) != kClientOses.end()) {
      wanted.insert(os);
    } else {
      return ctx.usage_error(kClientSetupUsage, "client-setup: --os: unknown system \"" + os +
                                                    "\" (windows, macos, ios, android, all; comma-separated)");
    }
  }
  if (wanted.empty()) return ctx.usage_error(kClientSetupUsage, "client-setup: --os is empty");
  for (std::string_view os : kClientOses)
    if (wanted.count(std::string(os))) in.oses.emplace_back(os);
  if (p->has("show-password") && !p->has("user"))
    return ctx.usage_error(kClientSetupUsage, "client-setup: --show-password needs --user NAME");
  if (p->has("name")) {
    in.connection_name = p->value("name");
    if (in.connection_name.empty() || std::any_of(in.connection_name.begin(), in.connection_name.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        }))
      return ctx.usage_error(kClientSetupUsage, "client-setup: --name must be non-empty, without control characters");
  }

  // The address clients dial: what the admin says now, else the configuration, else the default route.
  const CtlEnv& env = ctx.env();
  if (p->has("server") && !p->value("server").empty()) {
    in.server = p->value("server");
    in.server_source = "argument";
  } else if (!config.public_address.empty()) {
    in.server = config.public_address;
    in.server_source = "config";
  } else if (auto a = env.default_route_address ? env.default_route_address() : std::nullopt) {
    in.server = *a;
    in.server_source = "route";
  } else {
    return ctx.fail(
        "cannot tell which address clients dial (no default route): pass --server HOST or set "
        "[server] public_address in " +
        config.path);
  }
  in.server_is_private = is_private_ipv4(in.server);

  // The pre-shared key: inline, or from the root-only file.
  if (!config.ipsec.psk.empty()) {
    in.psk = config.ipsec.psk;
  } else if (!config.ipsec.psk_file.empty()) {
    auto text = os::read_regular_file(config.ipsec.psk_file, 4096);
    if (!text) {
      std::string hint = text.error().error == EACCES ? " (it is root-only: run as root)" : "";
      return ctx.fail("cannot read the IPsec pre-shared key: " + text.error().to_string() + hint);
    }
    in.psk = strip_line_end(*text);
    if (in.psk.empty()) return ctx.fail("the IPsec pre-shared key file " + config.ipsec.psk_file + " is empty");
  } else {
    return ctx.fail("no IPsec pre-shared key configured ([ipsec] psk or psk_file in " + config.path + ")");
  }

  if (p->has("user")) {
    const std::string& name = p->value("user");
    auto store = ctx.load_users();
    if (!store) return kExitFailed;
    const ppp::UserEntry* u = store->find(name);
    if (!u) return ctx.fail("no user " + name + " in " + config.users_file + " (add it with `l2tpvpnctl user add`)");
    in.user = name;
    if (p->has("show-password")) in.password = u->password;
  }
  in.mschap_v2 = config.ppp.mschap_v2;
  in.legacy = config.ipsec.legacy;
  in.ipsec_required = config.ipsec.required;
  in.tunnel_secret = !config.l2tp.secret.empty() && config.l2tp.require_authentication;

  json setup = client_setup_json(in);
  ctx.out() << (p->has("json") ? setup.dump(2) + "\n" : render_client_setup(setup));
  return kExitOk;
}

}  // namespace l2tpvpn::cli
