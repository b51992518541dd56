// A pid reused on purpose: in a private PID and mount namespace (root), a process is pinned (os::ProcessRef),
// killed and reaped, and /proc/sys/kernel/ns_last_pid makes the next fork take its pid. kill(2) by pid would now
// reach the newcomer (what stopping stale pppds by pid did); the ProcessRef, with either pin, must see its process
// as ended and never signal the newcomer, and stop_processes must leave it running.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <ctime>
#include <vector>
#include <string>

#include "common/os/process_ref.hpp"
#include "common/os/stop.hpp"
#include "require.hpp"

namespace l2tpvpn::os {
namespace {

// Results of the check inside the namespace, as the bits of the init process's exit code.
enum Failure : int {
  kSetup = 1,          // namespace, /proc or ns_last_pid
  kNotReused = 2,      // the newcomer did not get the old pid
  kRefAlive = 4,       // the ref did not see its process as ended
  kSignalled = 8,      // the ref's signal() reported success on the newcomer's pid
  kNewcomerHit = 16,   // the newcomer did not survive signal() and stop_processes
  kNotPinned = 32,     // ProcessRef::open failed on a live process
};

pid_t fork_sleeper() {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  return pid;
}

bool set_last_pid(pid_t last) {
  int fd = ::open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const std::string text = std::to_string(last);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// Runs as pid 1 of the new PID namespace, with its own /proc.
int check_in_namespace(ProcessRef::Pin pin) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return kSetup;
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return kSetup;
  const pid_t old = fork_sleeper();
  if (old <= 0) return kSetup;
  auto ref = ProcessRef::open(old, pin);
  if (!ref) return kNotPinned;
  ::kill(old, SIGKILL);
  ::waitpid(old, nullptr, 0);
  // The start time counts clock ticks (10 ms): a pid reused within the tick its process started in is beyond
  // that pin (ProcessRef says so), and no real reuse is that fast (it needs the whole pid space to wrap). For
  // that pin, the newcomer starts in a later tick; the pidfd needs no such wait.
  if (pin == ProcessRef::Pin::kStartTimeOnly) {
    const long hz = ::sysconf(_SC_CLK_TCK);
    for (;;) {
      timespec now{};
      ::clock_gettime(CLOCK_BOOTTIME, &now);
      const auto ticks = static_cast<uint64_t>(now.tv_sec) * static_cast<uint64_t>(hz) +
                         static_cast<uint64_t>(now.tv_nsec) / static_cast<uint64_t>(1000000000 / hz);
      if (ticks > ref->start_time()) break;
      ::usleep(1000);
    }
  }
  if (!set_last_pid(old - 1)) return kSetup;
  const pid_t newcomer = fork_sleeper();
  int failures = 0;
  if (newcomer != old) failures |= kNotReused;
  if (!ref->ended()) failures |= kRefAlive;
  if (ref->signal(SIGKILL)) failures |= kSignalled;
  std::vector<ProcessRef> processes;
  processes.push_back(std::move(*ref));
  StopPolicy policy;
  policy.grace = std::chrono::milliseconds(50);
  policy.kill_wait = std::chrono::milliseconds(50);
  policy.poll_interval = std::chrono::milliseconds(10);
  (void)stop_processes(processes, policy);
  // The newcomer must still be running: not a zombie, not gone.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(newcomer), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0)
    failures |= kNewcomerHit;
  ::kill(newcomer, SIGKILL);
  ::waitpid(newcomer, nullptr, 0);
  return failures;
}

class ProcessRefReuse : public ::testing::TestWithParam<ProcessRef::Pin> {};

TEST_P(ProcessRefReuse, AReusedPidIsNeverSignalled) {
  L2TPVPN_REQUIRE(geteuid() == 0, "root (PID and mount namespaces, ns_last_pid)");
  const pid_t outer = ::fork();
  ASSERT_GE(outer, 0);
  if (outer == 0) {
    if (::unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) ::_exit(100);
    const pid_t init = ::fork();  // pid 1 of the new namespace
    if (init < 0) ::_exit(101);
    if (init == 0) ::_exit(check_in_namespace(GetParam()));
    int status = 0;
    ::waitpid(init, &status, 0);
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 102);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(outer, &status, 0), outer);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  const int failures = WEXITSTATUS(status);
  ASSERT_LT(failures, 100) << "could not make the namespaces (" << failures << ")";
  EXPECT_EQ(failures & kSetup, 0) << "setup inside the namespace failed";
  EXPECT_EQ(failures & kNotPinned, 0);
  EXPECT_EQ(failures & kNotReused, 0) << "the pid was not reused: the test proves nothing";
  EXPECT_EQ(failures & kRefAlive, 0) << "the ref took the newcomer for its process";
  EXPECT_EQ(failures & kSignalled, 0) << "the ref signalled the newcomer";
  EXPECT_EQ(failures & kNewcomerHit, 0) << "stop_processes hit the process that took over the pid";
}

INSTANTIATE_TEST_SUITE_P(Pins, ProcessRefReuse,
                         ::testing::Values(ProcessRef::Pin::kPidfdIfAvailable, ProcessRef::Pin::kStartTimeOnly),
                         [](const auto& p) {
                           return p.param == ProcessRef::Pin::kStartTimeOnly ? "StartTime" : "Pidfd";
                         });

}  // namespace
}  // namespace l2tpvpn::os
