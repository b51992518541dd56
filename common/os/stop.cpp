#include "common/os/stop.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <thread>

namespace l2tpvpn::os {
namespace {

// Polls `ended` until it answers true or `until` has passed; never sleeps past `until`.
bool wait_until(const StopSteps& steps, StopClock::time_point until, std::chrono::milliseconds interval) {
  for (;;) {
    if (steps.ended()) return true;
    const auto now = steps.now();
    if (now >= until) return false;
    steps.sleep(std::min(interval, std::chrono::ceil<std::chrono::milliseconds>(until - now)));
  }
}

}  // namespace

const char* to_string(StopOutcome o) {
  switch (o) {
    case StopOutcome::kAlreadyGone: return "already-gone";
    case StopOutcome::kExited: return "exited";
    case StopOutcome::kKilled: return "killed";
    case StopOutcome::kStillAlive: return "still-alive";
  }
  return "unknown";
}

StopOutcome stop_with_timeout(const StopPolicy& policy, const StopSteps& given) {
  StopSteps steps = given;
  if (!steps.now) steps.now = [] { return StopClock::now(); };
  if (!steps.sleep) steps.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  const auto interval = std::max(policy.poll_interval, std::chrono::milliseconds(1));

  if (steps.ended()) return StopOutcome::kAlreadyGone;
  steps.send(policy.signal);
  if (wait_until(steps, steps.now() + policy.grace, interval)) return StopOutcome::kExited;
  steps.send(SIGKILL);
  if (wait_until(steps, steps.now() + policy.kill_wait, interval)) return StopOutcome::kKilled;
  return StopOutcome::kStillAlive;
}

ChildStop stop_child(pid_t pid, const StopPolicy& policy) {
  ChildStop result;
  StopSteps steps;
  // ESRCH only once the group is gone; its leader is then reaped by `ended`.
  steps.send = [pid](int sig) { (void)signal_process_group(pid, sig); };
  steps.ended = [pid, &result] {
    if (result.status) return true;
    if (auto r = try_reap(pid)) result.status = r->status;
    return result.status.has_value();
  };
  result.outcome = stop_with_timeout(policy, steps);
  return result;
}

StopOutcome stop_processes(const std::vector<ProcessRef>& processes, const StopPolicy& policy) {
  StopSteps steps;
  steps.send = [&processes](int sig) {
    for (const ProcessRef& p : processes) (void)p.signal(sig);
  };
  steps.ended = [&processes] {
    return std::all_of(processes.begin(), processes.end(), [](const ProcessRef& p) { return p.ended(); });
  };
  return stop_with_timeout(policy, steps);
}

}  // namespace l2tpvpn::os
