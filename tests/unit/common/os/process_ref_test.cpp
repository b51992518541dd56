// ProcessRef against real children, with each pin (pidfd and start time). That a pid taken over by another
// process is not signalled needs a pid reused on purpose: tests/root/process_ref_reuse_test (a PID namespace).
#include "common/os/process_ref.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>

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

TEST_P(ProcessRefTest, OurZombieIsReapedAndEnded) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ASSERT_GT(pid, 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);  // a zombie now
  // Our own zombie is reaped by the check, so it is gone and cannot be pinned.
  EXPECT_FALSE(ProcessRef::open(pid, GetParam()));
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1) << "open() left the zombie unreaped";
}

// The state letter of /proc/PID/stat ('Z' for a zombie), or 0 when the process is gone.
char state_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

template <class Pred>
bool eventually(Pred done) {
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (!done() && Clock::now() < deadline) ::usleep(1000);
  return done();
}

// Another process's child that has exited but is not reaped yet is still there for us (as kill(2) sees it), and
// gone once its parent reaps it: a stale pppd or charon is waited for until its pid is free.
TEST_P(ProcessRefTest, AnotherParentsZombieLastsUntilItIsReaped) {
  int to_child[2], to_parent[2], from_middle[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(to_parent), 0);
  ASSERT_EQ(::pipe(from_middle), 0);
  const pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    const pid_t child = ::fork();
    if (child == 0) {
      char c;
      (void)::read(to_child[0], &c, 1);  // exits when told (or when the test closes the pipe)
      ::_exit(0);
    }
    (void)::write(from_middle[1], &child, sizeof child);
    char c;
    (void)::read(to_parent[0], &c, 1);  // reaps its child only when told
    ::waitpid(child, nullptr, 0);
    ::_exit(0);
  }
  pid_t child = 0;
  ASSERT_EQ(::read(from_middle[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  auto ref = ProcessRef::open(child, GetParam());
  ASSERT_TRUE(ref);
  EXPECT_FALSE(ref->ended());
  ASSERT_EQ(::write(to_child[1], "x", 1), 1);
  ASSERT_TRUE(eventually([&] { return state_of(child) == 'Z'; }));
  EXPECT_FALSE(ref->ended()) << "a zombie its parent has not reaped is still there";
  ASSERT_EQ(::write(to_parent[1], "x", 1), 1);
  EXPECT_TRUE(eventually([&] { return ref->ended(); })) << "reaped by its parent, yet not seen as gone";
  ASSERT_EQ(::waitpid(middle, nullptr, 0), middle);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1], from_middle[0], from_middle[1]}) ::close(fd);
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
