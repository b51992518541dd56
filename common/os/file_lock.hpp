// An exclusive advisory lock (flock(2)) on a lock file, held for as long as the FileLock lives: the guard
// around a read-modify-write of a file that is replaced by rename (the users file, common/os/atomic_file). The
// lock cannot be taken on the file itself: rename puts a new inode in its place, and a second writer opening
// the path after the first one's rename would lock that new inode while the first still holds the old one. So
// the lock lives in a file of its own next to it (`lock_path_for`), created 0600 and never removed (removing it
// would reopen the same race between two waiters).
//
// flock locks belong to the open file description: another process blocks, as does another open() in this
// process; a fork()ed child shares the lock (the descriptor is O_CLOEXEC, so an exec'd program does not).
//
// Thread-safety: a move-only handle; acquire() blocks until the lock is free.
#pragma once

#include <string>

#include "common/os/file_error.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace l2tpvpn::os {

class FileLock {
 public:
  // Opens (creating it 0600 if needed) `lock_path` and waits for the exclusive lock. Errors: "open lock" or
  // "flock" with the errno.
  static Result<FileLock, FileError> acquire(const std::string& lock_path);
  // The same without waiting. Errors: "flock" with EWOULDBLOCK when another holder has it.
  static Result<FileLock, FileError> try_acquire(const std::string& lock_path);

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  // Closing the descriptor releases the lock.
  ~FileLock() = default;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// "DIR/NAME" -> "DIR/NAME.lock": the lock file guarding writes to `path`.
std::string lock_path_for(const std::string& path);

}  // namespace l2tpvpn::os
