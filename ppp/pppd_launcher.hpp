// Starting pppd (or any helper) without a shell, with exactly the descriptors we mean to give it, and reaping it.
//
// Descriptor discipline: every descriptor the daemon opens is O_CLOEXEC/SOCK_CLOEXEC, so nothing leaks by
// default; the launcher then makes the child's table explicit anyway: posix_spawn file actions first copy each
// source descriptor to a scratch number above all sources and targets (so a mapping like 3->4, 4->3 cannot
// clobber itself), then dup2 each onto its target number (dup2 clears FD_CLOEXEC on the copy), open /dev/null
// for any stdio slot not given, and finally close everything above the highest target
// (posix_spawn_file_actions_addclosefrom_np, glibc >= 2.34). The child sees 0-2 plus the targets, nothing else.
//
// The child also gets: its own process group (so signal_process_group reaches pppd and the scripts it runs),
// an empty signal mask and default dispositions for every signal (the daemon may block or ignore some, and
// those would otherwise survive exec), and only the environment we pass (no secret is ever in it).
//
// No threads: posix_spawn (vfork-like in glibc) returns once the child has exec'd or failed to; reaping is
// non-blocking and driven by the daemon's SIGCHLD handling.
//
// Thread-safety: functions; call from the daemon's one event-loop thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ppp/pppd_exit.hpp"

namespace l2tpvpn::ppp {

struct FdMapping {
  int source = -1;  // a descriptor of ours
  int target = -1;  // its number in the child, >= 3
};

struct LaunchSpec {
  std::vector<std::string> argv;  // argv[0] is the absolute path executed
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  std::vector<FdMapping> fds;
  int stdin_fd = -1;  // -1: /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
};

struct LaunchError {
  std::string operation;  // "validate", "posix_spawn", ...
  int error = 0;          // errno (posix_spawn reports the child's exec failure here too)
  std::string detail;
  std::string to_string() const;
};

// Starts the child; returns its pid (also its process group id). Errors: invalid spec (empty argv, relative
// path, target < 3 or repeated, negative source), or the errno of a failed spawn/exec.
Result<pid_t, LaunchError> spawn_process(const LaunchSpec& spec);

// The usual pppd launch: argv from build_pppd_args, the PPPoL2TP socket (or -1 in pty mode) and the report
// descriptor (or -1) moved to kPppol2tpChildFd / kReportChildFd, stdio /dev/null except stderr (pppd's own
// "Plugin loaded"/fatal messages) when `stderr_fd` >= 0.
Result<pid_t, LaunchError> spawn_pppd(const std::vector<std::string>& argv, int pppol2tp_fd, int report_fd,
                                      int stderr_fd = -1);

struct Reaped {
  pid_t pid = 0;
  PppdTermination termination;
};

// Non-blocking: the child's termination if it has ended (and is now reaped), nullopt while it runs.
// A pid that is not our child (ECHILD) is reported as terminated with exit kUnknown so callers do not wait
// for it forever.
std::optional<Reaped> try_reap(pid_t pid);
// Blocking variant for shutdown and tests.
Reaped wait_for(pid_t pid);

// kill(-pgid, sig): the child and everything it started. Errors: errno of kill (ESRCH once it is gone).
Status<LaunchError> signal_process_group(pid_t pid, int sig);

}  // namespace l2tpvpn::ppp
