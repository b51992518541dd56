// The VPN users: a text file owned by l2tpvpn (default /etc/l2tpvpn/users, root, mode 0600).
//
//   # comment
//   alice password=correct-horse address=10.99.0.50
//   bob password=hunter2
//
// One user per line: the user name, then `key=value` words. Keys: `password` (required), `address` (optional
// static IPv4 address, a reservation in the pool). Passwords are stored as given because MS-CHAPv2 (RFC 2759)
// needs the cleartext (or its NT hash) on the server; the file's mode is the protection.
//
// Names and passwords are printable ASCII without space, quotes or backslash, so every consumer — our pppd
// plugin's simple parser, pppd's chap-secrets reader, a shell reading $PEERNAME — reads them the same way.
// Non-ASCII is refused: pppd turns a password into MS-CHAP's UTF-16 byte by byte, so only ASCII round-trips.
//
// How pppd gets the secrets (docs/ppp.md): our plugin reads this file itself (`l2tpvpn_secrets <path>`), the
// default; or `write_chap_secrets` maintains a marked block in /etc/ppp/chap-secrets for a stock pppd.
//
// Errors name file, line and key, and never contain a password.
// Thread-safety: a value type. load and save are each atomic (save renames a complete file into place), but a
// load-change-save is not: a writer holds os::FileLock on os::lock_path_for(path) around it (l2tpvpnctl does,
// cli/command_context), or a concurrent writer's change may be lost.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "ppp/ipv4.hpp"

namespace l2tpvpn::ppp {

inline constexpr const char* kDefaultUserStorePath = "/etc/l2tpvpn/users";
inline constexpr size_t kMaxUserNameLength = 64;
inline constexpr size_t kMaxPasswordLength = 128;

struct UserEntry {
  std::string name;
  std::string password;
  std::optional<Ipv4Address> address;
  bool operator==(const UserEntry&) const = default;
};

enum class UserStoreErrorCode {
  kBadUserName,     // empty, too long, or a forbidden character
  kBadPassword,     // empty, too long, or a forbidden character
  kBadAddress,      // address= not a dotted quad (or 0.0.0.0)
  kMissingKey,      // no password=
  kUnknownKey,      // a key other than password/address
  kDuplicateKey,    // the same key twice on one line
  kSyntax,          // a word that is not key=value
  kDuplicateUser,   // in the file, or add() of an existing user
  kUnknownUser,     // remove()/set_*() of a user not in the store
  kFile,            // I/O or permission problem (detail in message)
  kManagedBlock,    // chap-secrets markers unbalanced or nested
};

struct UserStoreError {
  UserStoreErrorCode code;
  std::string file;  // empty when not about a file
  int line = 0;      // 0: not tied to a line
  std::string key;   // "password", "address", the user name for user-level errors, or empty
  std::string message;
  std::string to_string() const;  // "FILE:LINE: KEY: MESSAGE", leaving out what is empty
};

// Validity checks shared by the parser and the mutators.
Status<UserStoreError> validate_user_name(std::string_view name);
Status<UserStoreError> validate_password(std::string_view password);

class UserStore {
 public:
  UserStore() = default;

  // `file_name` is only used in error messages.
  static Result<UserStore, UserStoreError> parse(std::string_view text, const std::string& file_name);
  // Reads and parses `path`, refusing a file that group/others can access or that we do not own. A missing
  // file is an error (kFile); use load_or_empty where "no users yet" is fine.
  static Result<UserStore, UserStoreError> load(const std::string& path);
  static Result<UserStore, UserStoreError> load_or_empty(const std::string& path);

  std::string serialize() const;  // canonical text: header comment, users sorted by name
  // Atomic rewrite, mode 0600 (common/os/atomic_file.hpp).
  Status<UserStoreError> save(const std::string& path) const;

  Status<UserStoreError> add(UserEntry user);
  Status<UserStoreError> remove(const std::string& name);
  Status<UserStoreError> set_password(const std::string& name, const std::string& password);
  Status<UserStoreError> set_address(const std::string& name, std::optional<Ipv4Address> address);

  const UserEntry* find(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  size_t size() const { return users_.size(); }
  // user -> dotted quad, for IpPoolConfig::reservations.
  std::map<std::string, std::string> reservations() const;

 private:
  std::map<std::string, UserEntry> users_;
};

// chap-secrets support (for a pppd without our plugin). The block is scoped to our server name:
//   # BEGIN l2tpvpn users for server <name> (managed, do not edit)
//   "alice" <name> "correct-horse" 10.99.0.50
//   "bob" <name> "hunter2" *
//   # END l2tpvpn users for server <name>
// The address column restricts the address the peer may use (pppd auth_ip_addr); `*` allows any, and the
// address on pppd's command line decides.
std::string render_chap_secrets_block(const UserStore& users, const std::string& server_name);
// Replaces our block for `server_name` in `existing` (or appends it), keeping every other line as it was.
// Errors (kManagedBlock): a BEGIN without END, an END without BEGIN, two blocks for the server.
Result<std::string, UserStoreError> merge_chap_secrets(std::string_view existing, const UserStore& users,
                                                       const std::string& server_name);
// Reads `path` (missing: empty), merges, writes atomically with mode 0600.
Status<UserStoreError> write_chap_secrets(const std::string& path, const UserStore& users,
                                          const std::string& server_name);

}  // namespace l2tpvpn::ppp
