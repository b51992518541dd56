// stop_with_timeout driven by a fake clock and scripted "processes" (no sleeps), then stop_child and
// stop_processes against real children: one that exits on SIGTERM, one that ignores it and needs SIGKILL, and
// pids that are already gone.
#include "common/os/stop.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace l2tpvpn::os {
namespace {

using std::chrono::milliseconds;

// A scripted target: ends `ends_after` after it receives a signal in `dies_on` (or never).
struct FakeTarget {
  StopClock::time_point now{};  // the fake clock
  std::vector<int> dies_on;
  milliseconds ends_after{0};
  bool ended_from_start = false;

  std::vector<std::pair<int, milliseconds>> sent;  // signal and when (since start)
  std::vector<milliseconds> sleeps;
  std::optional<StopClock::time_point> ends_at;

  milliseconds elapsed() const { return std::chrono::duration_cast<milliseconds>(now - StopClock::time_point{}); }
  StopSteps steps() {
    StopSteps s;
    s.send = [this](int sig) {
      sent.emplace_back(sig, elapsed());
      if (!ends_at && std::find(dies_on.begin(), dies_on.end(), sig) != dies_on.end()) ends_at = now + ends_after;
    };
    s.ended = [this] { return ended_from_start || (ends_at && now >= *ends_at); };
    s.now = [this] { return now; };
    s.sleep = [this](milliseconds d) {
      sleeps.push_back(d);
      now += d;
    };
    return s;
  }
};

StopPolicy policy(milliseconds grace, milliseconds kill_wait, milliseconds poll) {
  StopPolicy p;
  p.grace = grace;
  p.kill_wait = kill_wait;
  p.poll_interval = poll;
  return p;
}

TEST(StopWithTimeout, AlreadyGoneSendsNothing) {
  FakeTarget t;
  t.ended_from_start = true;
  EXPECT_EQ(stop_with_timeout(policy(milliseconds(1000), milliseconds(1000), milliseconds(20)), t.steps()),
            StopOutcome::kAlreadyGone);
  EXPECT_TRUE(t.sent.empty());
  EXPECT_TRUE(t.sleeps.empty());
}

TEST(StopWithTimeout, ExitsOnTheFirstSignal) {
  FakeTarget t;
  t.dies_on = {SIGTERM};
  t.ends_after = milliseconds(45);
  EXPECT_EQ(stop_with_timeout(policy(milliseconds(1000), milliseconds(1000), milliseconds(20)), t.steps()),
            StopOutcome::kExited);
  EXPECT_EQ(t.sent, (std::vector<std::pair<int, milliseconds>>{{SIGTERM, milliseconds(0)}}));
  EXPECT_EQ(t.elapsed(), milliseconds(60));  // noticed at the third poll
}

TEST(StopWithTimeout, TheFirstSignalIsConfigurable) {
  FakeTarget t;
  t.dies_on = {SIGHUP};
  StopPolicy p = policy(milliseconds(100), milliseconds(100), milliseconds(10));
  p.signal = SIGHUP;
  EXPECT_EQ(stop_with_timeout(p, t.steps()), StopOutcome::kExited);
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0].first, SIGHUP);
}

TEST(StopWithTimeout, IgnoringTheSignalEarnsSigkillAtTheDeadline) {
  FakeTarget t;
  t.dies_on = {SIGKILL};
  t.ends_after = milliseconds(5);
  // A grace that is not a multiple of the poll interval: the last sleep is clipped to the deadline.
  EXPECT_EQ(stop_with_timeout(policy(milliseconds(250), milliseconds(1000), milliseconds(100)), t.steps()),
            StopOutcome::kKilled);
  EXPECT_EQ(t.sent, (std::vector<std::pair<int, milliseconds>>{{SIGTERM, milliseconds(0)},
                                                                {SIGKILL, milliseconds(250)}}));
  EXPECT_EQ(t.sleeps, (std::vector<milliseconds>{milliseconds(100), milliseconds(100), milliseconds(50),
                                                 milliseconds(100)}));
}

TEST(StopWithTimeout, StillAliveAfterKillWaitIsReportedNotWaitedFor) {
  FakeTarget t;  // dies on nothing (uninterruptible sleep)
  EXPECT_EQ(stop_with_timeout(policy(milliseconds(300), milliseconds(200), milliseconds(50)), t.steps()),
            StopOutcome::kStillAlive);
  EXPECT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.elapsed(), milliseconds(500));  // grace + kill_wait, not a millisecond more
  for (auto d : t.sleeps) EXPECT_LE(d, milliseconds(50));
}

TEST(StopWithTimeout, ZeroGraceKillsAtOnce) {
  FakeTarget t;
  t.dies_on = {SIGKILL};
  EXPECT_EQ(stop_with_timeout(policy(milliseconds(0), milliseconds(100), milliseconds(10)), t.steps()),
            StopOutcome::kKilled);
  EXPECT_EQ(t.sent, (std::vector<std::pair<int, milliseconds>>{{SIGTERM, milliseconds(0)},
                                                                {SIGKILL, milliseconds(0)}}));
}

TEST(StopOutcome, Names) {
  EXPECT_STREQ(to_string(StopOutcome::kAlreadyGone), "already-gone");
  EXPECT_STREQ(to_string(StopOutcome::kExited), "exited");
  EXPECT_STREQ(to_string(StopOutcome::kKilled), "killed");
  EXPECT_STREQ(to_string(StopOutcome::kStillAlive), "still-alive");
}

// ---- real processes ----

// Starts `script` under /bin/sh in its own process group and returns once it printed "ready" (so a trap it sets
// is in place before we signal it).
pid_t start_ready(const std::string& script) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.stdout_fd = out[1];
  auto pid = spawn_process(spec);
  ::close(out[1]);
  std::string got;
  char buf[64];
  while (pid && got.find("ready\n") == std::string::npos) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  return pid ? *pid : -1;
}

TEST(StopChild, ExitsOnSigterm) {
  const pid_t pid = start_ready("echo ready; exec sleep 30");
  ASSERT_GT(pid, 0);
  const auto t0 = StopClock::now();
  const auto r = stop_child(pid, policy(milliseconds(5000), milliseconds(1000), milliseconds(10)));
  EXPECT_EQ(r.outcome, StopOutcome::kExited);
  ASSERT_TRUE(r.status);
  EXPECT_EQ(r.status->signal, SIGTERM);
  EXPECT_LT(StopClock::now() - t0, milliseconds(4000));
  EXPECT_FALSE(try_reap(pid)->status.exited);  // reaped already: ECHILD, unknown status
}

TEST(StopChild, IgnoresSigtermAndNeedsSigkill) {
  // An ignored signal survives exec: the `sleep` ignores SIGTERM too.
  const pid_t pid = start_ready("trap '' TERM; echo ready; exec sleep 30");
  ASSERT_GT(pid, 0);
  const auto t0 = StopClock::now();
  const auto r = stop_child(pid, policy(milliseconds(200), milliseconds(2000), milliseconds(10)));
  const auto took = StopClock::now() - t0;
  EXPECT_EQ(r.outcome, StopOutcome::kKilled);
  ASSERT_TRUE(r.status);
  EXPECT_EQ(r.status->signal, SIGKILL);
  EXPECT_GE(took, milliseconds(200));
  EXPECT_LT(took, milliseconds(2200));
}

TEST(StopChild, AlreadyGone) {
  LaunchSpec spec;
  spec.argv = {"/bin/true"};
  auto pid = spawn_process(spec);
  ASSERT_TRUE(pid);
  // Exited but not reaped: a zombie; stop_child reaps it without signalling.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(*pid), &info, WEXITED | WNOWAIT), 0);
  auto r = stop_child(*pid, StopPolicy{});
  EXPECT_EQ(r.outcome, StopOutcome::kAlreadyGone);
  ASSERT_TRUE(r.status);
  EXPECT_EQ(*r.status, (ExitStatus{true, 0, 0, false}));
  // Now reaped: a pid that is no child of ours counts as gone with an unknown status.
  r = stop_child(*pid, StopPolicy{});
  EXPECT_EQ(r.outcome, StopOutcome::kAlreadyGone);
  EXPECT_EQ(r.status, ExitStatus{});
}

// The processes as stop_processes takes them: each pinned (ProcessRef) while it runs.
std::vector<ProcessRef> pinned(std::initializer_list<pid_t> pids) {
  std::vector<ProcessRef> out;
  for (pid_t p : pids) {
    auto ref = ProcessRef::open(p);
    EXPECT_TRUE(ref) << "pid " << p << " is not running";
    if (ref) out.push_back(std::move(*ref));
  }
  return out;
}

TEST(StopProcesses, TermThenKillThenGone) {
  const pid_t polite = start_ready("echo ready; exec sleep 30");
  const pid_t stubborn = start_ready("trap '' TERM; echo ready; exec sleep 30");
  ASSERT_GT(polite, 0);
  ASSERT_GT(stubborn, 0);
  const auto processes = pinned({polite, stubborn});
  const auto t0 = StopClock::now();
  EXPECT_EQ(stop_processes(processes, policy(milliseconds(200), milliseconds(2000), milliseconds(10))),
            StopOutcome::kKilled);
  EXPECT_GE(StopClock::now() - t0, milliseconds(200));
  EXPECT_NE(::kill(polite, 0), 0);
  EXPECT_NE(::kill(stubborn, 0), 0);
  // Both are gone (and were reaped as they ended, being ours): stopping them again sends nothing.
  EXPECT_EQ(stop_processes(processes, StopPolicy{}), StopOutcome::kAlreadyGone);
  EXPECT_EQ(stop_processes({}, StopPolicy{}), StopOutcome::kAlreadyGone);
}

TEST(StopProcesses, TheStartTimePinStopsThemToo) {
  const pid_t stubborn = start_ready("trap '' TERM; echo ready; exec sleep 30");
  ASSERT_GT(stubborn, 0);
  auto ref = ProcessRef::open(stubborn, ProcessRef::Pin::kStartTimeOnly);
  ASSERT_TRUE(ref);
  std::vector<ProcessRef> processes;
  processes.push_back(std::move(*ref));
  EXPECT_EQ(stop_processes(processes, policy(milliseconds(50), milliseconds(2000), milliseconds(10))),
            StopOutcome::kKilled);
  EXPECT_NE(::kill(stubborn, 0), 0);
}

TEST(StopProcesses, PidOneAndBelowCannotBePinned) {
  // Never signalled (kill(-1) would reach everything, kill(0) our own group, 1 is init).
  for (pid_t p : {0, 1, -1}) EXPECT_FALSE(ProcessRef::open(p)) << p;
}

}  // namespace
}  // namespace l2tpvpn::os
