// Atomic replacement of a file (the users file, chap-secrets, charon.conf): write a temporary file in the same
// directory (mkostemp: created 0600, so a secret is never readable by others, not even briefly), fchmod to the
// wanted mode, write everything, fsync, rename over the target, fsync the directory. A crash leaves either the
// old or the new file, never a torn one.
//
// Thread-safety: functions; concurrent writers of one path race (last rename wins), as with any file.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/os/file_error.hpp"
#include "common/result.hpp"

namespace l2tpvpn::os {

// Replaces `path` atomically with `content`, with permission bits `mode`. Errors: the failing step
// ("create temporary", "fchmod", "write", "fsync", "close", "rename") with its errno; the temporary is removed.
Status<FileError> write_file_atomically(const std::string& path, std::string_view content, mode_t mode = 0600);

}  // namespace l2tpvpn::os
