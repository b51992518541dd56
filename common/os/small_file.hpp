// Reading small kernel-made files (/proc/<pid>/cmdline, /proc/<pid>/comm) that may vanish at any moment: the
// process can exit between open(2) and read(2), and read(2) then fails with ESRCH. std::ifstream's streambuf
// throws std::ios_base::failure on such a read error when used through istreambuf_iterator, whatever the
// stream's exception mask; these helpers never throw and report any failure as nullopt. common/os/proc builds
// on them.
//
// Thread-safety: functions without shared state.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>

namespace l2tpvpn::os {

// Everything left to read on `fd` (at most `limit` bytes); nullopt on a read error. Does not close `fd`.
inline std::optional<std::string> read_all_fd(int fd, size_t limit = 1 << 20) {
  std::string out;
  char buf[4096];
  while (out.size() < limit) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

// The whole file at `path` (at most `limit` bytes); nullopt if it cannot be opened or read.
inline std::optional<std::string> read_small_file(const std::string& path, size_t limit = 1 << 20) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  auto r = read_all_fd(fd, limit);
  ::close(fd);
  return r;
}

}  // namespace l2tpvpn::os
