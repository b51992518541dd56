#include "server/config_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/os/private_file.hpp"
#include "common/unique_fd.hpp"

namespace l2tpvpn {

Result<DaemonConfig, ConfigError> load_config_file(const std::string& path) {
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f) return unexpected(ConfigError{path, 0, "", std::string("cannot open file: ") + std::strerror(errno)});
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(f.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unexpected(ConfigError{path, 0, "", std::string("cannot read file: ") + std::strerror(errno)});
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > os::kMaxSecretFileSize) return unexpected(ConfigError{path, 0, "", "file too large"});
  }
  std::istringstream in(text);
  auto config = parse_config(in, path);
  if (!config) return config;
  auto secrets = inline_secret_keys(*config);
  if (secrets.empty()) return config;
  if (auto ok = os::check_private(f.get(), path); !ok) {
    const std::string key(secrets.front());
    std::string message = "holds a secret, but ";
    message += ok.error().detail.empty() ? ok.error().to_string() : ok.error().detail;
    message += ": chmod 600 " + path;
    if (key == "ipsec.psk") message += ", or move the key to ipsec.psk_file";
    return unexpected(ConfigError{path, config_key_line(text, key), key, message});
  }
  return config;
}

}  // namespace l2tpvpn
