#include "common/os/spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "common/unique_fd.hpp"

extern char** environ;

namespace l2tpvpn::os {
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
  if (spec.argv.empty() || spec.argv[0].empty()) return fail("validate", 0, "empty argv");
  if (!spec.search_path && spec.argv[0][0] != '/') return fail("validate", 0, "argv[0] must be an absolute path");
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
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (spec.new_process_group) flags |= POSIX_SPAWN_SETPGROUP;
  rc = posix_spawnattr_setflags(&attr.attr, flags);
  if (rc == 0 && spec.new_process_group) rc = posix_spawnattr_setpgroup(&attr.attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attr.attr, &empty);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr.attr, &defaults);
  if (rc != 0) return fail("posix_spawnattr", rc);

  auto argv = c_strings(spec.argv);
  auto own_env = c_strings(spec.env);
  char* const* envp = spec.inherit_environment ? environ : own_env.data();
  pid_t pid = -1;
  rc = spec.search_path ? posix_spawnp(&pid, spec.argv[0].c_str(), &fa.fa, &attr.attr, argv.data(), envp)
                : posix_spawn(&pid, spec.argv[0].c_str(), &fa.fa, &attr.attr, argv.data(), envp);
  if (rc != 0) return fail("posix_spawn", rc, spec.argv[0]);
  return pid;
}

std::optional<ExitStatus> ExitStatus::from_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return ExitStatus{true, WEXITSTATUS(wait_status), 0, false};
  if (WIFSIGNALED(wait_status)) {
    return ExitStatus{false, -1, WTERMSIG(wait_status), static_cast<bool>(WCOREDUMP(wait_status))};
  }
  return std::nullopt;
}

std::string ExitStatus::to_string() const {
  if (exited) return "exit " + std::to_string(code);
  if (signal != 0) return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "unknown";
}

std::optional<Reaped> try_reap(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == 0) return std::nullopt;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Reaped{pid, ExitStatus{}};  // ECHILD: not ours / already reaped
    if (auto s = ExitStatus::from_wait_status(status)) return Reaped{pid, *s};
    return std::nullopt;  // stopped/continued (only with WUNTRACED/WCONTINUED, which we do not ask for)
  }
}

Reaped wait_for(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Reaped{pid, ExitStatus{}};
    if (auto s = ExitStatus::from_wait_status(status)) return Reaped{pid, *s};
  }
}

Status<LaunchError> signal_process_group(pid_t pid, int sig) {
  if (pid <= 1) return fail("kill", EINVAL, "refusing pid <= 1");
  if (kill(-pid, sig) != 0) return fail("kill", errno);
  return {};
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text) {
  ProcessResult r;
  if (argv.empty()) return r;
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) {
    r.output = "cannot start " + argv[0] + ": pipe: " + std::strerror(errno);
    return r;
  }
  UniqueFd in_read(in_pipe[0]), in_write(in_pipe[1]);
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.output = "cannot start " + argv[0] + ": pipe: " + std::strerror(errno);
    return r;
  }
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);

  LaunchSpec spec;
  spec.argv = argv;
  spec.search_path = true;
  spec.inherit_environment = true;
  spec.new_process_group = false;
  spec.stdin_fd = in_read.get();
  spec.stdout_fd = out_write.get();
  spec.stderr_fd = out_write.get();
  auto pid = spawn_process(spec);
  in_read.reset();
  out_write.reset();
  if (!pid) {
    const auto& e = pid.error();
    r.output = "cannot start " + argv[0] + ": " + (e.error != 0 ? std::strerror(e.error) : e.to_string());
    return r;
  }
  // Feed stdin and drain output together so neither side can block on a full pipe.
  size_t written = 0;
  if (stdin_text.empty()) {
    in_write.reset();
  } else {
    fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
  }
  signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill us through a write (the daemon ignores it too)
  for (;;) {
    pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {in_write.get(), POLLOUT, 0}};
    if (poll(fds, in_write ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (in_write && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in_write.get(), stdin_text.data() + written, stdin_text.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == stdin_text.size()) in_write.reset();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n = read(out_read.get(), buf, sizeof buf);
      if (n <= 0) break;
      if (r.output.size() < kMaxProcessOutput) r.output.append(buf, static_cast<size_t>(n));
    }
  }
  in_write.reset();
  out_read.reset();
  const ExitStatus status = wait_for(*pid).status;
  if (status.exited) r.exit_code = status.code;
  else if (status.signal != 0) r.exit_code = 128 + status.signal;
  return r;
}

bool have_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace l2tpvpn::os
