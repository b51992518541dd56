// ProcessRef against real children, with each pin (pidfd and start time). That a pid taken over by another
// process is not signalled needs a pid reused on purpose: tests/root/process_ref_reuse_test (a PID namespace).
#include "common/os/process_ref.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/os/proc.hpp"

namespace l2tpvpn::os {
namespace {

using Clock = std::chrono::steady_clock;

// A child that waits to be killed.
pid_t start_sleeper() {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  return pid;
}

// Polls ref.ended() until true or two seconds have passed.
bool ends(const ProcessRef& ref) {
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    if (ref.ended()) return true;
    ::usleep(1000);
  }
  return ref.ended();
}

class ProcessRefTest : public ::testing::TestWithParam<ProcessRef::Pin> {};

TEST_P(ProcessRefTest, PinsALiveProcessSignalsItAndSeesItEnd) {
  const pid_t pid = start_sleeper();
  ASSERT_GT(pid, 0);
  auto ref = ProcessRef::open(pid, GetParam());
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->pid(), pid);
  EXPECT_EQ(ref->start_time(), start_time_of(pid));
  if (GetParam() == ProcessRef::Pin::kStartTimeOnly) {
    EXPECT_FALSE(ref->has_pidfd());
  }
  EXPECT_TRUE(ref->signal(0));
  EXPECT_FALSE(ref->ended());
  EXPECT_TRUE(ref->signal(SIGKILL));
  EXPECT_TRUE(ends(*ref));
  // ended() reaped our child: nothing is left to wait for, and nothing is signalled any more.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_FALSE(ref->signal(0));
  EXPECT_FALSE(ref->signal(SIGKILL));
}

TEST_P(ProcessRefTest, AProcessThatIsGoneCannotBePinned) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);
  EXPECT_FALSE(ProcessRef::open(pid, GetParam()));
}

TEST_P(ProcessRefTest, AZombieCountsAsEnded) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ASSERT_GT(pid, 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);  // a zombie now
  // A zombie cannot be pinned (it has ended); one that became a zombie after pinning is ended, and reaped.
  EXPECT_FALSE(ProcessRef::open(pid, GetParam()));
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1) << "open() left the zombie unreaped";
}

INSTANTIATE_TEST_SUITE_P(Pins, ProcessRefTest,
                         ::testing::Values(ProcessRef::Pin::kPidfdIfAvailable, ProcessRef::Pin::kStartTimeOnly),
                         [](const auto& p) {
                           return p.param == ProcessRef::Pin::kStartTimeOnly ? "StartTime" : "Pidfd";
                         });

TEST(ProcessRef, ThisKernelGivesAPidfd) {
  // Debian 12's kernel (6.1) and later have pidfd_open; where this fails the daemon still works on the start time.
  auto ref = ProcessRef::open(::getpid());
  ASSERT_TRUE(ref);
  EXPECT_TRUE(ref->has_pidfd());
}

}  // namespace
}  // namespace l2tpvpn::os
