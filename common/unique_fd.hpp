// An owned file descriptor: closed exactly once, movable, not copyable. -1 means "none".
// Shared by the kernel data plane (server/kernel) and the pty adapter (ppp/pty), hence in common/.
//
// Thread-safety: a value type; no shared state.
#pragma once

#include <unistd.h>

#include <utility>

namespace l2tpvpn {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  // close() errors are ignored on purpose: Linux frees the descriptor even when close reports EINTR/EIO, and
  // sockets and pty masters have no unflushed data to lose; retrying could close a descriptor someone else just got.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace l2tpvpn
