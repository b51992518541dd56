#include "common/os/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "common/unique_fd.hpp"

namespace l2tpvpn::os {
namespace {

Unexpected<FileError> fail(const std::string& path, std::string op, int err, std::string detail = {},
                           int mode = -1) {
  return unexpected(FileError{path, std::move(op), err, std::move(detail), mode});
}

std::string octal(unsigned mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

Status<FileError> check_private_stat(const struct stat& st, const std::string& path) {
  const unsigned bits = st.st_mode & 07777;
  if (!S_ISREG(st.st_mode)) return fail(path, "permissions", 0, "not a regular file", static_cast<int>(bits));
  if ((bits & 077) != 0) {
    return fail(path, "permissions", 0, "mode " + octal(bits) + " gives group or others access (want 0600 or 0400)",
                static_cast<int>(bits));
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return fail(path, "permissions", 0, "owned by uid " + std::to_string(st.st_uid) + ", not by root or us",
                static_cast<int>(bits));
  }
  return {};
}

Result<std::string, FileError> read_checked(const std::string& path, bool require_private, size_t max_size) {
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!f) return fail(path, "open", errno);
  struct stat st {};
  if (::fstat(f.get(), &st) != 0) return fail(path, "stat", errno);
  if (!S_ISREG(st.st_mode)) return fail(path, "permissions", 0, "not a regular file");
  if (require_private)
    if (auto ok = check_private_stat(st, path); !ok) return unexpected(ok.error());
  if (static_cast<uint64_t>(st.st_size) > max_size) return fail(path, "read", 0, "file too large");
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(f.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(path, "read", errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_size) return fail(path, "read", 0, "file too large");
  }
  return out;
}

}  // namespace

Result<std::string, FileError> read_private_file(const std::string& path, size_t max_size) {
  return read_checked(path, true, max_size);
}

Status<FileError> check_private(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(path, "stat", errno);
  return check_private_stat(st, path);
}

Result<std::string, FileError> read_regular_file(const std::string& path, size_t max_size) {
  return read_checked(path, false, max_size);
}

}  // namespace l2tpvpn::os
