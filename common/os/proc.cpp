#include "common/os/proc.hpp"

#include <dirent.h>

#include <algorithm>
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

std::optional<uint64_t> start_time_of(pid_t pid) {
  const auto stat = read_small_file(proc_file(pid, "stat"));
  if (!stat) return std::nullopt;
  return parse_stat_start_time(*stat);
}

std::optional<uint64_t> parse_stat_start_time(std::string_view stat) {
  // "pid (comm) state ppid ..." : after the last ')' come field 3 (state) onwards; start time is field 22.
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  for (int field = 3;; ++field) {
    const size_t begin = rest.find_first_not_of(' ');
    if (begin == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(begin);
    const size_t end = std::min(rest.find(' '), rest.size());
    if (field == 22) {
      uint64_t v = 0;
      const auto r = std::from_chars(rest.data(), rest.data() + end, v);
      if (r.ec != std::errc() || r.ptr != rest.data() + end) return std::nullopt;
      return v;
    }
    rest.remove_prefix(end);
  }
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
