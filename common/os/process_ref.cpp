#include "common/os/process_ref.hpp"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "common/os/proc.hpp"

namespace l2tpvpn::os {

namespace {
// waitid's P_PIDFD (Linux 5.4, linux/wait.h); glibc 2.36's idtype_t does not name it.
constexpr int kIdTypePidfd = 3;

// The system calls themselves: glibc 2.36's <sys/pidfd.h> declares its wrappers without extern "C", so C++ cannot
// link them; and a kernel without them answers ENOSYS either way.
int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U)); }
int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0U));
}
}  // namespace

std::optional<ProcessRef> ProcessRef::open(pid_t pid, Pin pin) {
  if (pid <= 1) return std::nullopt;
  UniqueFd pidfd;
  if (pin == Pin::kPidfdIfAvailable) {
    pidfd = UniqueFd(pidfd_open(pid));
    if (!pidfd && errno == ESRCH) return std::nullopt;
    // ENOSYS (a kernel before 5.3) or a seccomp filter refusing it: the start time alone.
  }
  // Read after the pidfd is open: if the pidfd's process is still alive after this read, the read was about it.
  const auto start = start_time_of(pid);
  if (!start) return std::nullopt;
  ProcessRef ref(pid, *start, std::move(pidfd));
  if (ref.ended()) return std::nullopt;
  return ref;
}

bool ProcessRef::same_process() const { return start_time_of(pid_) == start_time_; }

bool ProcessRef::signal(int sig) const {
  if (pidfd_) return pidfd_send_signal(pidfd_.get(), sig) == 0;
  return same_process() && ::kill(pid_, sig) == 0;
}

bool ProcessRef::ended() const {
  if (pidfd_) {
    // Reap it if it is our child and has exited (ECHILD otherwise): waitid on the pidfd reaches no other process.
    siginfo_t info{};
    (void)::waitid(static_cast<idtype_t>(kIdTypePidfd), static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG);
    // Gone once reaped: a zombie can still be signalled (as with kill(2)), so until its parent reaps it, it has
    // not ended. Signal 0 through the pidfd never reaches a process that took over the pid.
    return pidfd_send_signal(pidfd_.get(), 0) != 0;
  }
  if (!same_process()) return true;
  // Our child that has exited: reap it (the start time still matches, so the pid is still its own).
  if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return true;
  return ::kill(pid_, 0) != 0;
}

}  // namespace l2tpvpn::os
