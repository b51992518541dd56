// The steps l2tpvpnctl's commands share: error reporting, argument parsing with the command's usage line,
// requests to the daemon, and the users file with the reload that follows a change.
#include "cli/command_context.hpp"

#include <ostream>

namespace l2tpvpn::cli {

using nlohmann::json;

std::string strip_line_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

int CommandContext::usage_error(const char* usage, const std::string& message) {
  env_.err << "l2tpvpnctl: " << message << "\nusage: l2tpvpnctl " << usage
           << "\n(l2tpvpnctl help lists every command)\n";
  return kExitUsage;
}

int CommandContext::fail(const std::string& message) {
  env_.err << "l2tpvpnctl: " << message << "\n";
  return kExitFailed;
}

std::optional<CommandArgs> CommandContext::parse(const std::vector<std::string>& args, size_t skip,
                                                 const CommandSpec& spec, const char* usage) {
  std::string command = args[0];
  for (size_t i = 1; i < skip; ++i) command += " " + args[i];
  auto parsed = parse_command_args(spec, std::span<const std::string>(args).subspan(skip));
  if (!parsed) {
    usage_error(usage, command + ": " + parsed.error().to_string());
    return std::nullopt;
  }
  return std::move(*parsed);
}

std::optional<json> CommandContext::call(const json& request) {
  ControlReply r = env_.request(socket(), request);
  if (r.failure == ControlFailure::kNotRunning) {
    fail("l2tpvpnd is not running (" + r.error + ")");
    return std::nullopt;
  }
  if (r.failure != ControlFailure::kNone) {
    fail(r.error);
    return std::nullopt;
  }
  if (!r.response.is_object() || !r.response.value("ok", false)) {
    std::string e = r.response.is_object() ? r.response.value("error", "request failed") : "request failed";
    fail("l2tpvpnd: " + e);
    return std::nullopt;
  }
  return std::move(r.response);
}

std::optional<os::FileLock> CommandContext::lock_users() {
  auto lock = os::FileLock::acquire(os::lock_path_for(config_.users_file));
  if (!lock) {
    fail("cannot lock the users file: " + lock.error().to_string());
    return std::nullopt;
  }
  return std::move(*lock);
}

std::optional<ppp::UserStore> CommandContext::load_users() {
  auto store = ppp::UserStore::load_or_empty(config_.users_file);
  if (!store) {
    fail(store.error().to_string());
    return std::nullopt;
  }
  return std::move(*store);
}

bool CommandContext::save_users(const ppp::UserStore& store) {
  if (auto ok = store.save(config_.users_file); !ok) {
    fail(ok.error().to_string());
    return false;
  }
  return true;
}

bool CommandContext::reload_users(bool& running) {
  running = false;
  ControlReply r = env_.request(socket(), json{{"cmd", "users-reload"}});
  if (r.failure == ControlFailure::kNotRunning) {
    env_.err << "note: l2tpvpnd is not running (no control socket at " << socket() << "); it reads "
             << config_.users_file << " when it starts\n";
    return true;
  }
  if (r.failure != ControlFailure::kNone) {
    fail("saved " + config_.users_file + ", but could not ask l2tpvpnd to reload it: " + r.error);
    return false;
  }
  if (!r.response.is_object() || !r.response.value("ok", false)) {
    std::string e = r.response.is_object() ? r.response.value("error", "no reason given") : "no reason given";
    fail("saved " + config_.users_file + ", but l2tpvpnd did not reload it: " + e);
    return false;
  }
  running = true;
  return true;
}

}  // namespace l2tpvpn::cli
