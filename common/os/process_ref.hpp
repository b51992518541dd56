// One particular process, not whatever holds its pid later. Stopping processes we did not start (the pppds and
// the charon a killed l2tpvpnd left) goes by pid, and a pid is reused once its process is gone: between finding a
// process and its SIGKILL seconds later, the pid may have passed to an unrelated process. A ProcessRef pins the
// process when it is found:
//   - a pidfd (pidfd_open, Linux 5.3; Debian 12's kernel has it): signals go through pidfd_send_signal and reach
//     this process or none;
//   - its start time (/proc/PID/stat field 22, in clock ticks of 10 ms), which the pid's next owner does not share
//     unless it started within the same tick (the whole pid space would have to wrap in 10 ms): without a pidfd
//     (an older kernel), each kill(2) is sent only while the pid still has that start time (a window of one
//     system call remains there, against seconds without the check).
//
// Thread-safety: a move-only value; no shared state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "common/unique_fd.hpp"

namespace l2tpvpn::os {

class ProcessRef {
 public:
  enum class Pin : uint8_t {
    kPidfdIfAvailable,  // a pidfd where the kernel has pidfd_open, else the start time
    kStartTimeOnly,     // the fallback alone (older kernels; tests)
  };

  // Pins the process that has `pid` now. nullopt: no such process, or pid <= 1 (never ours to signal).
  static std::optional<ProcessRef> open(pid_t pid, Pin pin = Pin::kPidfdIfAvailable);

  pid_t pid() const { return pid_; }
  uint64_t start_time() const { return start_time_; }
  bool has_pidfd() const { return static_cast<bool>(pidfd_); }

  // Sends `sig` to this process (0: only checks it could be). False when it has ended (ESRCH), its pid now
  // belongs to another process, or the signal was refused (EPERM).
  bool signal(int sig) const;
  // True once the process is gone: it has exited and been reaped (here, if it is our child; by its parent
  // otherwise: a zombie still counts as there, as kill(2) sees it), or its pid belongs to another process.
  bool ended() const;

 private:
  ProcessRef(pid_t pid, uint64_t start_time, UniqueFd pidfd)
      : pid_(pid), start_time_(start_time), pidfd_(std::move(pidfd)) {}
  bool same_process() const;  // the pid still has our start time

  pid_t pid_ = 0;
  uint64_t start_time_ = 0;
  UniqueFd pidfd_;
};

}  // namespace l2tpvpn::os
