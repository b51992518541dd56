// The commands that only ask the running daemon: status, sessions, disconnect.
#include <ostream>

#include "cli/commands.hpp"
#include "cli/render.hpp"

namespace l2tpvpn::cli {

using nlohmann::json;

namespace {

constexpr const char* kStatusUsage = "status [--json]";
constexpr const char* kSessionsUsage = "sessions [--json]";
constexpr const char* kDisconnectUsage = "disconnect TUNNEL [SESSION] | disconnect --user NAME";

const CommandSpec kJsonOnly{.options = {{"json"}}};
const CommandSpec kDisconnectSpec{.options = {{"user", true}}, .positionals = {"TUNNEL", "SESSION"}};

}  // namespace

int run_status(CommandContext& ctx, const std::vector<std::string>& args) {
  auto p = ctx.parse(args, 1, kJsonOnly, kStatusUsage);
  if (!p) return kExitUsage;
  auto resp = ctx.call(json{{"cmd", "status"}});
  if (!resp) return kExitFailed;
  resp->erase("ok");
  if (p->has("json")) {
    ctx.out() << resp->dump(2) << "\n";
    return kExitOk;
  }
  auto status = status_from_json(*resp);
  ctx.out() << render_status(status.value);
  ctx.err() << render_unread(status.unread);
  return kExitOk;
}

int run_sessions(CommandContext& ctx, const std::vector<std::string>& args) {
  auto p = ctx.parse(args, 1, kJsonOnly, kSessionsUsage);
  if (!p) return kExitUsage;
  auto resp = ctx.call(json{{"cmd", "sessions"}});
  if (!resp) return kExitFailed;
  json list = resp->value("sessions", json::array());
  if (p->has("json")) {
    ctx.out() << json{{"sessions", list}}.dump(2) << "\n";
    return kExitOk;
  }
  auto sessions = sessions_from_json(list);
  ctx.out() << render_sessions(sessions.value);
  ctx.err() << render_unread(sessions.unread);
  return kExitOk;
}

int run_disconnect(CommandContext& ctx, const std::vector<std::string>& args) {
  auto p = ctx.parse(args, 1, kDisconnectSpec, kDisconnectUsage);
  if (!p) return kExitUsage;
  if (p->has("user")) {
    if (!p->positionals.empty()) return ctx.usage_error(kDisconnectUsage, "disconnect: --user takes no TUNNEL/SESSION");
    const std::string& name = p->value("user");
    if (auto ok = ppp::validate_user_name(name); !ok)
      return ctx.usage_error(kDisconnectUsage, "disconnect: user name: " + ok.error().message);
    auto resp = ctx.call(json{{"cmd", "disconnect-user"}, {"user", name}});
    if (!resp) return kExitFailed;
    ctx.out() << "disconnected " << cell(*resp, "sessions") << " session(s) of user " << name << "\n";
    return kExitOk;
  }
  if (p->positionals.empty()) return ctx.usage_error(kDisconnectUsage, "disconnect: missing TUNNEL (or --user NAME)");
  auto tunnel = parse_id(p->positionals[0]);
  if (!tunnel) return ctx.usage_error(kDisconnectUsage, "disconnect: TUNNEL must be a number 1..65535");
  json req{{"cmd", "disconnect"}, {"tunnel", *tunnel}};
  if (p->positionals.size() == 2) {
    auto session = parse_id(p->positionals[1]);
    if (!session) return ctx.usage_error(kDisconnectUsage, "disconnect: SESSION must be a number 1..65535");
    req["session"] = *session;
  }
  if (!ctx.call(req)) return kExitFailed;
  ctx.out() << (req.contains("session") ? "session " + std::to_string(req["session"].get<int>()) + " of tunnel "
                                        : std::string("tunnel "))
            << *tunnel << " disconnected\n";
  return kExitOk;
}

}  // namespace l2tpvpn::cli
