// Reading the configuration file: the one I/O step in front of the pure parser (server/config).
//
// The file may set secrets inline (ipsec.psk, l2tp.secret, status.token: ConfigKey::secret). A file that does
// must be as private as the PSK file (common/os/private_file's rule: no access for group or others, owned by root
// or us); the check is made on the descriptor the text was read from, so the file checked is the file read. A
// file without an inline secret may be world-readable, like the shipped one.
//
// Thread-safety: a function without shared state.
#pragma once

#include <string>

#include "common/result.hpp"
#include "server/config.hpp"

namespace l2tpvpn {

// Reads and parses `path`. Errors (ConfigError, naming the file): "cannot open file: <strerror>", a read
// error, every parse_config error, and for a file that sets a secret inline but group or others may read it (or
// another user owns it) the first such key with its line: "holds a secret, but mode 0644 gives group or others
// access (want 0600 or 0400): chmod 600 <path>" (for ipsec.psk also: "or move the key to ipsec.psk_file").
Result<DaemonConfig, ConfigError> load_config_file(const std::string& path);

}  // namespace l2tpvpn
