// Reading secret files (the users file, the IPsec PSK file) whole, with a size cap, refusing one that others
// could read or change: a secret file anyone else can read or write is a misconfiguration to fix, not to use.
//
// Both readers open with O_NOFOLLOW (a symlink is refused: ELOOP) and check the opened file with fstat, so the
// file checked is the file read.
//
// Thread-safety: functions without shared state.
#pragma once

#include <cstddef>
#include <string>

#include "common/os/file_error.hpp"
#include "common/result.hpp"

namespace l2tpvpn::os {

inline constexpr size_t kMaxSecretFileSize = 4 * 1024 * 1024;

// The whole of `path`, which must be a regular file with no permission bit for group or others (0600, 0400) and
// owned by root or by our effective uid. Errors: "open"/"stat"/"read" with errno (ENOENT as error == ENOENT, so
// callers can treat "no file yet" as empty; ELOOP for a symlink); "permissions" (error 0) for a file that is not
// regular, whose mode gives group or others any access (FileError::mode holds the bits, the detail names them, e.g.
// "mode 0644 gives group or others access (want 0600 or 0400)"), or that someone else owns; "read" (error 0)
// for a file larger than `max_size`.
Result<std::string, FileError> read_private_file(const std::string& path, size_t max_size = kMaxSecretFileSize);

// The mode and owner rule of read_private_file for a file the caller has open as `fd` (so the file checked is the
// file read), e.g. a configuration file that must be private only when it holds a secret inline. Errors: "stat"
// with errno; "permissions" as read_private_file's (not a regular file, group or others have access, owned by
// someone else).
Status<FileError> check_private(int fd, const std::string& path);

// The same read without the mode and owner checks (still regular files only, no symlinks, `max_size` capped):
// for a reader that only needs the text, such as l2tpvpnctl showing the PSK it was configured with.
Result<std::string, FileError> read_regular_file(const std::string& path, size_t max_size = kMaxSecretFileSize);

}  // namespace l2tpvpn::os
