// The users commands: user add, del, list, passwd on the users file (ppp::UserStore), each change followed by a
// reload request to the daemon; and the generated passwords.
#include <istream>
#include <ostream>
#include <string_view>

#include "cli/commands.hpp"
#include "cli/render.hpp"
#include "ppp/ip_pool.hpp"
#include "ppp/ipv4.hpp"

namespace l2tpvpn::cli {

using nlohmann::json;

namespace {

constexpr const char* kUserUsage = "user add|del|list|passwd ...";
constexpr const char* kUserAddUsage = "user add NAME [--address A] [--password-stdin]";
constexpr const char* kUserDelUsage = "user del NAME [--disconnect]";
constexpr const char* kUserListUsage = "user list [--json]";
constexpr const char* kUserPasswdUsage = "user passwd NAME [--password-stdin]";

const CommandSpec kUserAddSpec{
    .options = {{"address", true}, {"password-stdin"}}, .positionals = {"NAME"}, .required = 1};
const CommandSpec kUserDelSpec{.options = {{"disconnect"}}, .positionals = {"NAME"}, .required = 1};
const CommandSpec kUserListSpec{.options = {{"json"}}};
const CommandSpec kUserPasswdSpec{.options = {{"password-stdin"}}, .positionals = {"NAME"}, .required = 1};

// The new password: one line of stdin, or generated (then `generated` is set so the caller prints it).
// Errors (printed, nullopt): nothing on stdin, a password the store refuses, the random source failing.
std::optional<std::string> new_password(CommandContext& ctx, bool from_stdin, bool& generated) {
  generated = false;
  if (from_stdin) {
    std::string line;
    if (!std::getline(ctx.env().in, line)) {
      ctx.fail("--password-stdin: no password on stdin");
      return std::nullopt;
    }
    line = strip_line_end(line);
    if (auto ok = ppp::validate_password(line); !ok) {
      ctx.fail("--password-stdin: password " + ok.error().message);  // the message never contains the password
      return std::nullopt;
    }
    return line;
  }
  auto pw = generate_password(ctx.env().random);
  if (!pw) ctx.fail("the random number generator failed; no password generated");
  generated = pw.has_value();
  return pw;
}

// The password on stdout (where a script can take it), the reminder on stderr.
void print_password(CommandContext& ctx, const std::string& name, const std::string& password) {
  ctx.out() << "password: " << password << "\n";
  ctx.err() << "(shown only now: it is not printed again; `l2tpvpnctl user passwd " << name << "` sets a new one)\n";
}

int user_add(CommandContext& ctx, const std::vector<std::string>& args) {
  auto p = ctx.parse(args, 2, kUserAddSpec, kUserAddUsage);
  if (!p) return kExitUsage;
  const DaemonConfig& config = ctx.config();
  ppp::UserEntry entry;
  entry.name = p->positionals[0];
  if (auto ok = ppp::validate_user_name(entry.name); !ok)
    return ctx.usage_error(kUserAddUsage, "user add: user name " + ok.error().message);
  if (p->has("address")) {
    auto a = ppp::parse_ipv4(p->value("address"));
    if (!a || a->value == 0)
      return ctx.usage_error(kUserAddUsage, "user add: --address must be a dotted-quad IPv4 address");
    entry.address = *a;
  }
  // The password first: the lock is not held while stdin is read.
  bool generated = false;
  auto pw = new_password(ctx, p->has("password-stdin"), generated);
  if (!pw) return kExitFailed;
  entry.password = *pw;
  // Locked from reading to saving (and the reload after): another run's change is never lost.
  auto lock = ctx.lock_users();
  if (!lock) return kExitFailed;
  auto store = ctx.load_users();
  if (!store) return kExitFailed;
  if (store->find(entry.name)) return ctx.fail("user " + entry.name + " exists (in " + config.users_file + ")");
  if (auto ok = store->add(entry); !ok) return ctx.fail(ok.error().to_string());
  if (entry.address) {
    // The daemon builds its pool with these reservations; refuse here what it would refuse on reload.
    auto pool = ppp::IpPool::create(
        ppp::IpPoolConfig{config.pool.range, config.pool.server_address, config.pool.exclude, store->reservations()});
    if (!pool) return ctx.fail("--address " + ppp::to_string(*entry.address) + ": " + pool.error().to_string());
  }
  if (!ctx.save_users(*store)) return kExitFailed;
  ctx.out() << "user " << entry.name << " added"
            << (entry.address ? " with static address " + ppp::to_string(*entry.address) : std::string()) << "\n";
  if (generated) print_password(ctx, entry.name, entry.password);
  bool running = false;
  return ctx.reload_users(running) ? kExitOk : kExitFailed;
}

int user_del(CommandContext& ctx, const std::vector<std::string>& args) {
  auto p = ctx.parse(args, 2, kUserDelSpec, kUserDelUsage);
  if (!p) return kExitUsage;
  const std::string& name = p->positionals[0];
  auto lock = ctx.lock_users();
  if (!lock) return kExitFailed;
  auto store = ctx.load_users();
  if (!store) return kExitFailed;
  if (!store->find(name)) return ctx.fail("no user " + name + " in " + ctx.config().users_file);
  if (auto ok = store->remove(name); !ok) return ctx.fail(ok.error().to_string());
  if (!ctx.save_users(*store)) return kExitFailed;
  ctx.out() << "user " << name << " removed\n";
  // Reload first, so that the user cannot authenticate again before the old sessions are gone.
  bool running = false;
  if (!ctx.reload_users(running)) return kExitFailed;
  if (!running) return kExitOk;
  if (!p->has("disconnect")) {
    ctx.err() << "note: sessions of " << name << " that are up stay up until they end; `l2tpvpnctl disconnect --user "
              << name << "` ends them now\n";
    return kExitOk;
  }
  auto resp = ctx.call(json{{"cmd", "disconnect-user"}, {"user", name}});
  if (!resp) return kExitFailed;
  ctx.out() << "disconnected " << cell(*resp, "sessions") << " session(s) of user " << name << "\n";
  return kExitOk;
}

int user_list(CommandContext& ctx, const std::vector<std::string>& args) {
  auto p = ctx.parse(args, 2, kUserListSpec, kUserListUsage);
  if (!p) return kExitUsage;
  auto store = ctx.load_users();
  if (!store) return kExitFailed;
  if (p->has("json")) {
    json users = json::array();
    for (const auto& name : store->names()) {
      const ppp::UserEntry* u = store->find(name);
      users.push_back(json{{"name", name}, {"address", u->address ? json(ppp::to_string(*u->address)) : json()}});
    }
    ctx.out() << json{{"users", users}}.dump(2) << "\n";
    return kExitOk;
  }
  if (store->size() == 0) {
    ctx.out() << "no users in " << ctx.config().users_file << "\n";
    return kExitOk;
  }
  Table t({"USER", "STATIC ADDRESS"});
  for (const auto& name : store->names()) {
    const ppp::UserEntry* u = store->find(name);
    t.add({name, u->address ? ppp::to_string(*u->address) : "-"});
  }
  ctx.out() << t.render();
  return kExitOk;
}

int user_passwd(CommandContext& ctx, const std::vector<std::string>& args) {
  auto p = ctx.parse(args, 2, kUserPasswdSpec, kUserPasswdUsage);
  if (!p) return kExitUsage;
  const std::string& name = p->positionals[0];
  // The password first: the lock is not held while stdin is read.
  bool generated = false;
  auto pw = new_password(ctx, p->has("password-stdin"), generated);
  if (!pw) return kExitFailed;
  auto lock = ctx.lock_users();
  if (!lock) return kExitFailed;
  auto store = ctx.load_users();
  if (!store) return kExitFailed;
  if (!store->find(name)) return ctx.fail("no user " + name + " in " + ctx.config().users_file);
  if (auto ok = store->set_password(name, *pw); !ok) return ctx.fail(ok.error().to_string());
  if (!ctx.save_users(*store)) return kExitFailed;
  ctx.out() << "password of " << name << " changed\n";
  if (generated) print_password(ctx, name, *pw);
  bool running = false;
  if (!ctx.reload_users(running)) return kExitFailed;
  if (running)
    ctx.err() << "note: sessions of " << name << " that are up keep running; `l2tpvpnctl disconnect --user " << name
              << "` ends them\n";
  return kExitOk;
}

}  // namespace

int run_user(CommandContext& ctx, const std::vector<std::string>& args) {
  if (args.size() < 2) return ctx.usage_error(kUserUsage, "user: missing subcommand (add, del, list, passwd)");
  const std::string& sub = args[1];
  if (sub == "add") return user_add(ctx, args);
  if (sub == "del") return user_del(ctx, args);
  if (sub == "list") return user_list(ctx, args);
  if (sub == "passwd") return user_passwd(ctx, args);
  return ctx.usage_error(kUserUsage, "user: unknown subcommand \"" + sub + "\" (add, del, list, passwd)");
}

std::optional<std::string> generate_password(const std::function<bool(std::span<uint8_t>)>& random) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
  static_assert(kAlphabet.size() == 56);
  // Bytes below 224 = 4 * 56 map evenly onto the alphabet; the rest are thrown away.
  constexpr unsigned kLimit = 256 / kAlphabet.size() * kAlphabet.size();
  std::string out;
  uint8_t buf[64];
  for (int rounds = 0; out.size() < kGeneratedPasswordLength; ++rounds) {
    if (rounds > 100 || !random || !random(std::span<uint8_t>(buf))) return std::nullopt;
    for (uint8_t b : buf) {
      if (b >= kLimit) continue;
      out += kAlphabet[b % kAlphabet.size()];
      if (out.size() == kGeneratedPasswordLength) break;
    }
  }
  return out;
}

}  // namespace l2tpvpn::cli
