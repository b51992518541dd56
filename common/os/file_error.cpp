#include "common/os/file_error.hpp"

#include <cstring>

namespace l2tpvpn::os {

std::string FileError::to_string() const {
  std::string s = path + ": " + operation;
  if (error != 0) s += ": " + std::string(std::strerror(error));
  if (!detail.empty()) s += ": " + detail;
  return s;
}

}  // namespace l2tpvpn::os
