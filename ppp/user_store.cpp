#include "ppp/user_store.hpp"

#include <cerrno>

#include "common/os/atomic_file.hpp"
#include "common/os/private_file.hpp"

namespace l2tpvpn::ppp {
namespace {

Unexpected<UserStoreError> fail(UserStoreErrorCode code, std::string key, std::string message) {
  return unexpected(UserStoreError{code, {}, 0, std::move(key), std::move(message)});
}

// Printable ASCII except space, the quotes and backslash (they would need escaping in chap-secrets and
// confuse simple parsers). '=' and '#' are also refused in names: '=' separates keys, '#' starts a comment.
bool is_plain_char(char c) {
  return c > 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '\\';
}

std::string begin_marker(const std::string& server) {
  return "# BEGIN l2tpvpn users for server " + server + " (managed, do not edit)";
}
std::string end_marker(const std::string& server) { return "# END l2tpvpn users for server " + server; }

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace

std::string UserStoreError::to_string() const {
  std::string s;
  if (!file.empty()) s += file + (line > 0 ? ":" + std::to_string(line) : "") + ": ";
  if (!key.empty()) s += key + ": ";
  return s + message;
}

Status<UserStoreError> validate_user_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxUserNameLength) {
    return fail(UserStoreErrorCode::kBadUserName, "user", "must be 1..64 characters");
  }
  for (char c : name) {
    if (!is_plain_char(c) || c == '=' || c == '#') {
      return fail(UserStoreErrorCode::kBadUserName, "user",
                  "printable ASCII only, without space, quotes, backslash, '=' or '#'");
    }
  }
  return {};
}

Status<UserStoreError> validate_password(std::string_view password) {
  if (password.empty() || password.size() > kMaxPasswordLength) {
    return fail(UserStoreErrorCode::kBadPassword, "password", "must be 1..128 characters");
  }
  for (char c : password) {
    if (!is_plain_char(c)) {
      return fail(UserStoreErrorCode::kBadPassword, "password",
                  "printable ASCII only, without space, quotes or backslash");
    }
  }
  return {};
}

Result<UserStore, UserStoreError> UserStore::parse(std::string_view text, const std::string& file_name) {
  UserStore store;
  int line_no = 0;
  for (std::string_view line : split_lines(text)) {
    ++line_no;
    auto at = [&](UserStoreError e) {
      e.file = file_name;
      e.line = line_no;
      return unexpected(std::move(e));
    };
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Words separated by spaces/tabs.
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) words.push_back(line.substr(start, i - start));
    }
    if (words.empty() || words[0][0] == '#') continue;

    UserEntry user;
    user.name = std::string(words[0]);
    if (auto ok = validate_user_name(user.name); !ok) return at(ok.error());
    bool have_password = false, have_address = false;
    for (size_t w = 1; w < words.size(); ++w) {
      auto eq = words[w].find('=');
      if (eq == std::string_view::npos || eq == 0) {
        // Do not echo the word: it may be a password with a typo'd key.
        return at({UserStoreErrorCode::kSyntax, {}, 0, user.name, "expected key=value after the user name"});
      }
      std::string key(words[w].substr(0, eq));
      std::string_view value = words[w].substr(eq + 1);
      if (key == "password") {
        if (have_password) return at({UserStoreErrorCode::kDuplicateKey, {}, 0, key, "given twice"});
        if (auto ok = validate_password(value); !ok) return at(ok.error());
        user.password = std::string(value);
        have_password = true;
      } else if (key == "address") {
        if (have_address) return at({UserStoreErrorCode::kDuplicateKey, {}, 0, key, "given twice"});
        auto a = parse_ipv4(value);
        if (!a || a->value == 0) {
          return at({UserStoreErrorCode::kBadAddress, {}, 0, key, "not a dotted-quad IPv4 address"});
        }
        user.address = *a;
        have_address = true;
      } else {
        return at({UserStoreErrorCode::kUnknownKey, {}, 0, key, "unknown key (known: password, address)"});
      }
    }
    if (!have_password) return at({UserStoreErrorCode::kMissingKey, {}, 0, "password", "missing"});
    if (store.users_.count(user.name)) {
      return at({UserStoreErrorCode::kDuplicateUser, {}, 0, user.name, "user listed twice"});
    }
    store.users_.emplace(user.name, std::move(user));
  }
  return store;
}

Result<UserStore, UserStoreError> UserStore::load(const std::string& path) {
  auto text = os::read_private_file(path);
  if (!text) return unexpected(UserStoreError{UserStoreErrorCode::kFile, path, 0, {}, text.error().to_string()});
  return parse(*text, path);
}

Result<UserStore, UserStoreError> UserStore::load_or_empty(const std::string& path) {
  auto text = os::read_private_file(path);
  if (!text && text.error().error == ENOENT) return UserStore{};
  if (!text) return unexpected(UserStoreError{UserStoreErrorCode::kFile, path, 0, {}, text.error().to_string()});
  return parse(*text, path);
}

std::string UserStore::serialize() const {
  std::string out =
      "# l2tpvpn users (mode 0600, root). One user per line:\n"
      "#   <user> password=<password> [address=<static IPv4 address>]\n";
  for (const auto& [name, u] : users_) {
    out += name + " password=" + u.password;
    if (u.address) out += " address=" + to_string(*u.address);
    out += '\n';
  }
  return out;
}

Status<UserStoreError> UserStore::save(const std::string& path) const {
  if (auto ok = os::write_file_atomically(path, serialize(), 0600); !ok) {
    return unexpected(UserStoreError{UserStoreErrorCode::kFile, path, 0, {}, ok.error().to_string()});
  }
  return {};
}

Status<UserStoreError> UserStore::add(UserEntry user) {
  if (auto ok = validate_user_name(user.name); !ok) return ok;
  if (auto ok = validate_password(user.password); !ok) return ok;
  if (user.address && user.address->value == 0) {
    return fail(UserStoreErrorCode::kBadAddress, "address", "0.0.0.0 is not an address");
  }
  if (users_.count(user.name)) return fail(UserStoreErrorCode::kDuplicateUser, user.name, "user exists");
  users_.emplace(user.name, std::move(user));
  return {};
}

Status<UserStoreError> UserStore::remove(const std::string& name) {
  if (users_.erase(name) == 0) return fail(UserStoreErrorCode::kUnknownUser, name, "no such user");
  return {};
}

Status<UserStoreError> UserStore::set_password(const std::string& name, const std::string& password) {
  auto it = users_.find(name);
  if (it == users_.end()) return fail(UserStoreErrorCode::kUnknownUser, name, "no such user");
  if (auto ok = validate_password(password); !ok) return ok;
  it->second.password = password;
  return {};
}

Status<UserStoreError> UserStore::set_address(const std::string& name, std::optional<Ipv4Address> address) {
  auto it = users_.find(name);
  if (it == users_.end()) return fail(UserStoreErrorCode::kUnknownUser, name, "no such user");
  if (address && address->value == 0) {
    return fail(UserStoreErrorCode::kBadAddress, "address", "0.0.0.0 is not an address");
  }
  it->second.address = address;
  return {};
}

const UserEntry* UserStore::find(const std::string& name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

std::vector<std::string> UserStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, u] : users_) out.push_back(name);
  return out;
}

std::map<std::string, std::string> UserStore::reservations() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, u] : users_) {
    if (u.address) out.emplace(name, to_string(*u.address));
  }
  return out;
}

std::string render_chap_secrets_block(const UserStore& users, const std::string& server_name) {
  // pppd's chap-secrets columns: client server secret [addresses...]. Quoting is safe: validation keeps
  // quotes and backslashes out of names and passwords.
  std::string out = begin_marker(server_name) + "\n";
  for (const auto& name : users.names()) {
    const UserEntry* u = users.find(name);
    out += "\"" + u->name + "\" " + server_name + " \"" + u->password + "\" " +
           (u->address ? to_string(*u->address) : std::string("*")) + "\n";
  }
  out += end_marker(server_name) + "\n";
  return out;
}

Result<std::string, UserStoreError> merge_chap_secrets(std::string_view existing, const UserStore& users,
                                                       const std::string& server_name) {
  if (auto ok = validate_user_name(server_name); !ok) {
    return fail(UserStoreErrorCode::kManagedBlock, "server", "server name unusable in chap-secrets");
  }
  const std::string begin = begin_marker(server_name), end = end_marker(server_name);
  std::string out;
  bool inside = false, replaced = false;
  int line_no = 0;
  for (std::string_view line : split_lines(existing)) {
    ++line_no;
    auto err = [&](std::string message) {
      return unexpected(UserStoreError{UserStoreErrorCode::kManagedBlock, {}, line_no, {}, std::move(message)});
    };
    if (line == begin) {
      if (inside) return err("BEGIN marker inside our block");
      if (replaced) return err("two l2tpvpn blocks for this server");
      inside = true;
      continue;
    }
    if (line == end) {
      if (!inside) return err("END marker without BEGIN");
      inside = false;
      replaced = true;
      out += render_chap_secrets_block(users, server_name);
      continue;
    }
    if (!inside) {
      out += line;
      out += '\n';
    }
  }
  if (inside) return fail(UserStoreErrorCode::kManagedBlock, {}, "BEGIN marker without END");
  if (!replaced) {
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += render_chap_secrets_block(users, server_name);
  }
  return out;
}

Status<UserStoreError> write_chap_secrets(const std::string& path, const UserStore& users,
                                          const std::string& server_name) {
  // chap-secrets is root's and 0600 on Debian; not requiring privacy here lets us repair a wrong mode, since
  // the rewrite below is 0600 whatever it was.
  auto text = os::read_regular_file(path);
  std::string existing;
  if (text) {
    existing = std::move(*text);
  } else if (text.error().error != ENOENT) {
    return unexpected(UserStoreError{UserStoreErrorCode::kFile, path, 0, {}, text.error().to_string()});
  }
  auto merged = merge_chap_secrets(existing, users, server_name);
  if (!merged) {
    auto e = merged.error();
    e.file = path;
    return unexpected(std::move(e));
  }
  if (auto ok = os::write_file_atomically(path, *merged, 0600); !ok) {
    return unexpected(UserStoreError{UserStoreErrorCode::kFile, path, 0, {}, ok.error().to_string()});
  }
  return {};
}

}  // namespace l2tpvpn::ppp
