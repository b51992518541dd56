#include "ppp/pppd_launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "ppp/pppd_args.hpp"

namespace l2tpvpn::ppp {
namespace {

Unexpected<LaunchError> fail(std::string op, int err, std::string detail = {}) {
  return unexpected(LaunchError{std::move(op), err, std::move(detail)});
}

// RAII for the posix_spawn attribute objects.
struct FileActions {
  posix_spawn_file_actions_t fa;
  FileActions() { posix_spawn_file_actions_init(&fa); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
};
struct Attr {
  posix_spawnattr_t attr;
  Attr() { posix_spawnattr_init(&attr); }
  ~Attr() { posix_spawnattr_destroy(&attr); }
};

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string LaunchError::to_string() const {
  std::string s = operation;
  if (error != 0) s += ": " + std::string(std::strerror(error));
  if (!detail.empty()) s += ": " + detail;
  return s;
}

Result<pid_t, LaunchError> spawn_process(const LaunchSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return fail("validate", 0, "argv[0] must be an absolute path");
  }
  // All mappings, stdio included, as (source, target); -1 source on stdio means /dev/null.
  std::vector<FdMapping> all = {{spec.stdin_fd, 0}, {spec.stdout_fd, 1}, {spec.stderr_fd, 2}};
  std::set<int> targets;
  for (const auto& m : spec.fds) {
    if (m.source < 0) return fail("validate", 0, "negative source descriptor");
    if (m.target < 3) return fail("validate", 0, "target descriptor below 3 (use the stdio fields)");
    if (!targets.insert(m.target).second) return fail("validate", 0, "target descriptor used twice");
    all.push_back(m);
  }
  for (const auto& m : all) {
    if (m.source >= 0 && fcntl(m.source, F_GETFD) < 0) return fail("validate", errno, "source descriptor");
  }
  int highest = 2;
  for (const auto& m : all) highest = std::max({highest, m.source, m.target});
  const int scratch = highest + 1;  // scratch copies live at scratch + index
  int highest_target = 2;
  for (const auto& m : all) highest_target = std::max(highest_target, m.target);

  FileActions fa;
  int rc = 0;
  for (size_t i = 0; i < all.size() && rc == 0; ++i) {
    if (all[i].source >= 0) rc = posix_spawn_file_actions_adddup2(&fa.fa, all[i].source, scratch + static_cast<int>(i));
  }
  for (size_t i = 0; i < all.size() && rc == 0; ++i) {
    if (all[i].source >= 0) {
      rc = posix_spawn_file_actions_adddup2(&fa.fa, scratch + static_cast<int>(i), all[i].target);
    } else {
      rc = posix_spawn_file_actions_addopen(&fa.fa, all[i].target, "/dev/null", O_RDWR, 0);
    }
  }
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&fa.fa, highest_target + 1);
  if (rc != 0) return fail("posix_spawn_file_actions", rc);

  Attr attr;
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  rc = posix_spawnattr_setflags(&attr.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&attr.attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attr.attr, &empty);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr.attr, &defaults);
  if (rc != 0) return fail("posix_spawnattr", rc);

  auto argv = c_strings(spec.argv);
  auto envp = c_strings(spec.env);
  pid_t pid = -1;
  rc = posix_spawn(&pid, spec.argv[0].c_str(), &fa.fa, &attr.attr, argv.data(), envp.data());
  if (rc != 0) return fail("posix_spawn", rc, spec.argv[0]);
  return pid;
}

Result<pid_t, LaunchError> spawn_pppd(const std::vector<std::string>& argv, int pppol2tp_fd, int report_fd,
                                      int stderr_fd) {
  LaunchSpec spec;
  spec.argv = argv;
  if (pppol2tp_fd >= 0) spec.fds.push_back({pppol2tp_fd, kPppol2tpChildFd});
  if (report_fd >= 0) spec.fds.push_back({report_fd, kReportChildFd});
  spec.stderr_fd = stderr_fd;
  return spawn_process(spec);
}

std::optional<Reaped> try_reap(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == 0) return std::nullopt;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Reaped{pid, PppdTermination{}};  // ECHILD: not ours / already reaped
    if (auto t = pppd_termination_from_wait_status(status)) return Reaped{pid, *t};
    return std::nullopt;  // stopped/continued (only with WUNTRACED/WCONTINUED, which we do not ask for)
  }
}

Reaped wait_for(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Reaped{pid, PppdTermination{}};
    if (auto t = pppd_termination_from_wait_status(status)) return Reaped{pid, *t};
  }
}

Status<LaunchError> signal_process_group(pid_t pid, int sig) {
  if (pid <= 1) return fail("kill", EINVAL, "refusing pid <= 1");
  if (kill(-pid, sig) != 0) return fail("kill", errno);
  return {};
}

}  // namespace l2tpvpn::ppp
