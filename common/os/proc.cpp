#include "common/os/proc.hpp"

#include <dirent.h>

#include <charconv>

#include "common/os/small_file.hpp"

namespace l2tpvpn::os {
namespace {

std::string proc_file(pid_t pid, const char* name) {
  return "/proc/" + std::to_string(pid) + "/" + name;
}

}  // namespace

std::vector<pid_t> list_pids(const std::string& proc_root) {
  std::vector<pid_t> out;
  DIR* dir = ::opendir(proc_root.c_str());
  if (dir == nullptr) return out;
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view name = e->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string_view::npos) continue;
    pid_t pid = 0;
    const auto r = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (r.ec == std::errc() && r.ptr == name.data() + name.size() && pid > 0) out.push_back(pid);
  }
  ::closedir(dir);
  return out;
}

std::string comm_of(pid_t pid) {
  std::string comm = read_small_file(proc_file(pid, "comm")).value_or("");
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

std::vector<std::string> cmdline_of(pid_t pid) {
  return split_nul(read_small_file(proc_file(pid, "cmdline")).value_or(""));
}

std::vector<std::string> environ_of(pid_t pid) {
  return split_nul(read_small_file(proc_file(pid, "environ")).value_or(""));
}

std::vector<std::string> split_nul(std::string_view text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\0', pos);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace l2tpvpn::os
