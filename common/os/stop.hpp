// Stopping processes with a deadline: a polite signal (SIGTERM by default), a bounded wait for them to end, then
// SIGKILL and a second bounded wait. Used for the embedded charon at shutdown, for a stale charon of a killed
// l2tpvpnd and for stale pppds at start-up.
//
// stop_with_timeout holds the sequence; what "signal them" and "have they ended" mean is passed in (StopSteps),
// and so are the clock and the sleep, so tests drive it with a fake clock and scripted processes in microseconds.
// stop_child and stop_processes are the two real step sets: our own child in its own process group (reaped), and
// processes that are not our children (left by an earlier daemon: only kill(2) can see them).
//
// Blocking by design (at most grace + kill_wait plus one poll interval): for start-up and shutdown, never the
// event loop's normal turns.
//
// Thread-safety: functions; the steps are called on the calling thread only.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/os/process_ref.hpp"
#include "common/os/spawn.hpp"

namespace l2tpvpn::os {

using StopClock = std::chrono::steady_clock;

struct StopPolicy {
  int signal = SIGTERM;                            // the polite request
  std::chrono::milliseconds grace{10000};          // how long they get to honour it before SIGKILL
  std::chrono::milliseconds kill_wait{1000};       // how long to wait for them to vanish after SIGKILL
  std::chrono::milliseconds poll_interval{20};     // how often `ended` is asked while waiting
};

enum class StopOutcome : uint8_t {
  kAlreadyGone,  // they had ended before any signal was sent
  kExited,       // they ended within `grace` after the polite signal
  kKilled,       // they needed SIGKILL and ended within `kill_wait`
  kStillAlive,   // still there after SIGKILL and `kill_wait` (e.g. uninterruptible sleep): the caller decides
};
const char* to_string(StopOutcome o);

// The I/O stop_with_timeout performs. `send` and `ended` are required; `now` and `sleep` default to the steady
// clock and std::this_thread::sleep_for.
struct StopSteps {
  std::function<void(int sig)> send;  // deliver `sig` to everything being stopped
  std::function<bool()> ended;        // true once everything has ended (reaping what is ours)
  std::function<StopClock::time_point()> now;
  std::function<void(std::chrono::milliseconds)> sleep;
};

// ended? -> kAlreadyGone; else send(policy.signal), poll `ended` until policy.grace has passed -> kExited; else
// send(SIGKILL), poll until policy.kill_wait has passed -> kKilled, or kStillAlive. Never sleeps past a deadline.
StopOutcome stop_with_timeout(const StopPolicy& policy, const StopSteps& steps);

struct ChildStop {
  StopOutcome outcome = StopOutcome::kAlreadyGone;
  std::optional<ExitStatus> status;  // how it ended; nullopt only with kStillAlive (it is not reaped then)
};
// Our own child `pid`, spawned with its own process group: the signals go to the group (signal_process_group),
// `ended` is try_reap(pid). A pid that is not our child counts as ended with an unknown status (try_reap's
// ECHILD rule).
ChildStop stop_child(pid_t pid, const StopPolicy& policy);

// Processes that are not our children, each pinned when it was found (common/os/process_ref: a pidfd, else its
// start time), so a signal never reaches a process that took over a pid in the meantime: the signals go to each
// process still there, and they have ended when every one is gone, exited and reaped (one that is our child
// after all is reaped here as it ends; another's zombie counts until its parent reaps it, as kill(2) sees it).
// An empty list is kAlreadyGone.
StopOutcome stop_processes(const std::vector<ProcessRef>& processes, const StopPolicy& policy);

}  // namespace l2tpvpn::os
