#include "common/os/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/unique_fd.hpp"

namespace l2tpvpn::os {
namespace {

Unexpected<FileError> fail(const std::string& path, std::string op, int err) {
  return unexpected(FileError{path, std::move(op), err, {}, -1});
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status<FileError> write_file_atomically(const std::string& path, std::string_view content, mode_t mode) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  UniqueFd f(::mkostemp(name.data(), O_CLOEXEC));
  if (!f) return fail(path, "create temporary", errno);
  std::string tmp(name.data());
  auto abandon = [&](std::string op, int err) {
    ::unlink(tmp.c_str());
    return fail(path, std::move(op), err);
  };
  if (::fchmod(f.get(), mode) != 0) return abandon("fchmod", errno);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(f.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return abandon("write", errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(f.get()) != 0) return abandon("fsync", errno);
  // close() is checked here (unlike UniqueFd's): on some file systems it reports the write that failed.
  if (::close(f.release()) != 0) return abandon("close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return abandon("rename", errno);
  // Make the rename itself durable.
  UniqueFd dir(::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) ::fsync(dir.get());
  return {};
}

}  // namespace l2tpvpn::os
