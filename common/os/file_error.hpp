// The error of the file helpers (atomic_file, private_file): which file, which step, the errno and, for a
// refused secret file, its permission bits.
//
// Thread-safety: a value type.
#pragma once

#include <sys/types.h>

#include <string>

namespace l2tpvpn::os {

struct FileError {
  std::string path;
  std::string operation;  // "open", "write", "rename", "permissions", ...
  int error = 0;          // errno, 0 for our own checks
  std::string detail;
  int mode = -1;  // the file's permission bits when operation == "permissions" refused them, else -1
  std::string to_string() const;  // "PATH: OPERATION: strerror: detail"
};

}  // namespace l2tpvpn::os
