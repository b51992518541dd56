// What every l2tpvpnctl command shares: the environment, the configuration, the control socket to talk to, and
// the steps several commands take (a usage error, a failure, a request to the daemon, the users file). The
// commands themselves are in commands.hpp.
//
// Output conventions: results on `out`; errors and notes on `err`, each error as "l2tpvpnctl: MESSAGE". A usage
// error adds the command's usage line. Secrets never go to `err`.
//
// Thread-safety: not for sharing; one per run_ctl call.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/env.hpp"
#include "common/os/file_lock.hpp"
#include "ppp/user_store.hpp"
#include "server/config.hpp"

namespace l2tpvpn::cli {

// Exit status of l2tpvpnctl.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation failed (message on stderr)
inline constexpr int kExitUsage = 2;   // bad arguments (message and usage on stderr)

// `s` without the line end(s) of a line read from stdin or a one-line file ("\n", "\r\n").
std::string strip_line_end(std::string s);

class CommandContext {
 public:
  CommandContext(CtlEnv& env, DaemonConfig config, std::optional<std::string> socket_override)
      : env_(env), config_(std::move(config)), socket_override_(std::move(socket_override)) {}

  CtlEnv& env() { return env_; }
  std::ostream& out() { return env_.out; }
  std::ostream& err() { return env_.err; }
  const DaemonConfig& config() const { return config_; }
  // -s, else [control] socket of the configuration.
  std::string socket() const { return socket_override_ ? *socket_override_ : config_.control_socket; }

  // Prints the message and the usage line; returns kExitUsage.
  int usage_error(const char* usage, const std::string& message);
  // Prints the message; returns kExitFailed.
  int fail(const std::string& message);

  // Parses `args` after its first `skip` words (the command: "status" is 1, "user add" 2). On an error prints
  // "<command words>: <error>" with `usage` and returns nullopt (the exit status is then kExitUsage).
  std::optional<CommandArgs> parse(const std::vector<std::string>& args, size_t skip, const CommandSpec& spec,
                                   const char* usage);

  // Sends a request the command cannot do without. Errors (printed, nullopt): daemon not running, transport,
  // an answer with "ok": false.
  std::optional<nlohmann::json> call(const nlohmann::json& request);

  // Holds the users file's lock (common/os/file_lock: "<users file>.lock") for as long as the value lives: take
  // it before load_users in a command that saves, so that two l2tpvpnctl runs changing users one after the other
  // each see the other's change. Errors printed, nullopt.
  std::optional<os::FileLock> lock_users();
  // The users file (config.users_file; a missing file is an empty store). Errors printed, nullopt / false.
  std::optional<ppp::UserStore> load_users();
  bool save_users(const ppp::UserStore& store);
  // After the users file changed: asks the daemon to reload it. A daemon that is not running reads the file when
  // it starts, so that is a note and `running` stays false. Returns false (message printed) if the daemon is
  // running and did not take the new file.
  bool reload_users(bool& running);

 private:
  CtlEnv& env_;
  DaemonConfig config_;
  std::optional<std::string> socket_override_;
};

}  // namespace l2tpvpn::cli
