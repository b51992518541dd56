#include "common/os/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

namespace l2tpvpn::os {

namespace {

Unexpected<FileError> fail(const std::string& path, std::string operation, int err) {
  return unexpected(FileError{path, std::move(operation), err, "", -1});
}

// Opens the lock file and flocks it (LOCK_EX, plus LOCK_NB when not waiting); a signal interrupting the wait
// retries it.
Result<UniqueFd, FileError> open_locked(const std::string& lock_path, bool wait) {
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return fail(lock_path, "open lock", errno);
  int rc;
  do {
    rc = ::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return fail(lock_path, "flock", errno);
  return fd;
}

}  // namespace

Result<FileLock, FileError> FileLock::acquire(const std::string& lock_path) {
  auto fd = open_locked(lock_path, true);
  if (!fd) return unexpected(fd.error());
  return FileLock(std::move(*fd));
}

Result<FileLock, FileError> FileLock::try_acquire(const std::string& lock_path) {
  auto fd = open_locked(lock_path, false);
  if (!fd) return unexpected(fd.error());
  return FileLock(std::move(*fd));
}

std::string lock_path_for(const std::string& path) { return path + ".lock"; }

}  // namespace l2tpvpn::os
