#include "ppp/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace l2tpvpn::ppp {
namespace {

Unexpected<FileError> fail(const std::string& path, std::string op, int err, std::string detail = {}) {
  return unexpected(FileError{path, std::move(op), err, std::move(detail)});
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Closes on scope exit; errors of close() on a read-only or already-fsynced fd carry no information we use.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string FileError::to_string() const {
  std::string s = path + ": " + operation;
  if (error != 0) s += ": " + std::string(std::strerror(error));
  if (!detail.empty()) s += ": " + detail;
  return s;
}

Status<FileError> write_file_atomically(const std::string& path, std::string_view content, mode_t mode) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  Fd f{::mkostemp(name.data(), O_CLOEXEC)};
  if (f.fd < 0) return fail(path, "create temporary", errno);
  std::string tmp(name.data());
  auto abandon = [&](std::string op, int err) {
    ::unlink(tmp.c_str());
    return fail(path, std::move(op), err);
  };
  if (::fchmod(f.fd, mode) != 0) return abandon("fchmod", errno);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(f.fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return abandon("write", errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(f.fd) != 0) return abandon("fsync", errno);
  int fd = f.fd;
  f.fd = -1;
  if (::close(fd) != 0) return abandon("close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return abandon("rename", errno);
  // Make the rename itself durable.
  Fd dir{::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd >= 0) ::fsync(dir.fd);
  return {};
}

Result<std::string, FileError> read_file(const std::string& path, bool require_private, size_t max_size) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (f.fd < 0) return fail(path, "open", errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return fail(path, "stat", errno);
  if (!S_ISREG(st.st_mode)) return fail(path, "permissions", 0, "not a regular file");
  if (require_private) {
    if ((st.st_mode & 077) != 0) return fail(path, "permissions", 0, "accessible by group or others (want 0600)");
    if (st.st_uid != ::geteuid()) return fail(path, "permissions", 0, "not owned by us");
  }
  if (static_cast<uint64_t>(st.st_size) > max_size) return fail(path, "read", 0, "file too large");
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(path, "read", errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_size) return fail(path, "read", 0, "file too large");
  }
  return out;
}

}  // namespace l2tpvpn::ppp
