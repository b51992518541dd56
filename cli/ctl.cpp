// l2tpvpnctl's entry: the global options, the help text, the configuration (which says where the users file,
// the PSK and the control socket are), then the command.
#include "cli/ctl.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <ostream>
#include <sstream>
#include <string_view>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "server/config_file.hpp"

namespace l2tpvpn::cli {

namespace {

constexpr const char* kUsage =
    "usage: l2tpvpnctl [-c CONFIG] [-s SOCKET] COMMAND [ARGS]\n"
    "\n"
    "  status [--json]                      server, IPsec, tunnels and sessions as tables (or the raw JSON)\n"
    "  sessions [--json]                    the sessions\n"
    "  disconnect TUNNEL [SESSION]          end a tunnel (StopCCN) or one session (CDN)\n"
    "  disconnect --user NAME               end every session of a user\n"
    "  user add NAME [--address A] [--password-stdin]\n"
    "                                       add a user; a generated password is printed once\n"
    "  user del NAME [--disconnect]         remove a user (--disconnect: and end their sessions now)\n"
    "  user list [--json]                   user names and static addresses (never passwords)\n"
    "  user passwd NAME [--password-stdin]  set a new password (generated and printed once, or from stdin)\n"
    "  client-setup [--user NAME] [--os windows|macos|ios|android|all] [--server HOST] [--name NAME]\n"
    "               [--show-password] [--json]\n"
    "                                       what to enter on Windows, macOS, iOS and Android\n"
    "  help                                 this text\n"
    "\n"
    "  -c, --config FILE  daemon configuration (default /etc/l2tpvpn/l2tpvpnd.conf; built-in defaults if it is\n"
    "                     missing)\n"
    "  -s, --socket PATH  control socket (default: [control] socket of the configuration)\n"
    "\n"
    "Passwords are never taken from the command line (ps and shell history would show them): they are\n"
    "generated, or read as one line from stdin with --password-stdin.\n";

using Command = int (*)(CommandContext&, const std::vector<std::string>&);

struct CommandEntry {
  std::string_view name;
  Command run;
};

// The commands; "help" is answered before the configuration is read.
constexpr CommandEntry kCommands[] = {
    {"status", run_status}, {"sessions", run_sessions},         {"disconnect", run_disconnect},
    {"user", run_user},     {"client-setup", run_client_setup},
};

// The configuration. The default file may be missing (built-in defaults then); a file named with -c must exist.
Result<DaemonConfig, ConfigError> load_config(const GlobalArgs& global) {
  struct stat st {};
  if (!global.config_given && ::stat(global.config_path.c_str(), &st) != 0 && errno == ENOENT) {
    std::istringstream empty;
    return parse_config(empty, global.config_path);
  }
  return load_config_file(global.config_path);
}

}  // namespace

int run_ctl(const std::vector<std::string>& args, CtlEnv& env) {
  auto global = parse_global_args(args);
  if (!global) {
    env.err << "l2tpvpnctl: " << global.error().to_string() << "\n\n" << kUsage;
    return kExitUsage;
  }
  if (global->help) {
    env.out << kUsage;
    return kExitOk;
  }
  const std::vector<std::string>& command = global->command;
  if (command.empty()) {
    env.err << "l2tpvpnctl: missing command\n\n" << kUsage;
    return kExitUsage;
  }
  if (command[0] == "help") {
    env.out << kUsage;
    return kExitOk;
  }

  auto config = load_config(*global);
  if (!config) {
    env.err << "l2tpvpnctl: " << config.error().to_string() << "\n";
    return kExitFailed;
  }
  CommandContext ctx(env, std::move(*config), global->socket);
  for (const auto& c : kCommands)
    if (c.name == command[0]) return c.run(ctx, command);
  env.err << "l2tpvpnctl: unknown command \"" << command[0] << "\"\n\n" << kUsage;
  return kExitUsage;
}

}  // namespace l2tpvpn::cli
