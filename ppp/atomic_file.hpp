// Small file helpers for secret-bearing files (the user store, chap-secrets): whole-file reads with a size cap
// and a permission check, and atomic replacement.
//
// Atomic replacement: write a temporary file in the same directory (mkstemp: created 0600, so the secret is
// never readable by others, not even briefly), fchmod to the wanted mode, write everything, fsync, rename over
// the target, fsync the directory. A crash leaves either the old or the new file, never a torn one.
//
// Thread-safety: functions; concurrent writers of one path race (last rename wins), as with any file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace l2tpvpn::ppp {

struct FileError {
  std::string path;
  std::string operation;  // "open", "write", "rename", "permissions", ...
  int error = 0;          // errno, 0 for our own checks
  std::string detail;
  std::string to_string() const;  // "PATH: OPERATION: strerror / detail"
};

inline constexpr size_t kMaxSecretFileSize = 4 * 1024 * 1024;

// Replaces `path` atomically with `content`, with permission bits `mode`.
Status<FileError> write_file_atomically(const std::string& path, std::string_view content, mode_t mode = 0600);

// Reads a whole file of at most `max_size` bytes. With `require_private`, refuses (operation "permissions") a
// file that is not a regular file, is readable or writable by group/others, or is not owned by our effective
// uid: a secret file anyone else can read or write is a misconfiguration to fix, not to use. ENOENT is reported
// as error == ENOENT so callers can treat "no file yet" as empty.
Result<std::string, FileError> read_file(const std::string& path, bool require_private,
                                         size_t max_size = kMaxSecretFileSize);

}  // namespace l2tpvpn::ppp
