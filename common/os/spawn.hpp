// Starting helper programs (pppd, charon, iptables-restore, nft, ip) without a shell, with exactly the
// descriptors we mean to give them, and reaping them.
//
// Descriptor discipline: every descriptor the daemon opens should be O_CLOEXEC/SOCK_CLOEXEC, but Boost.Asio opens
// sockets without SOCK_CLOEXEC, so spawn_process makes the child's table explicit: posix_spawn file actions first
// copy each source descriptor to a scratch number above all sources and targets (so a mapping like 3->4, 4->3
// cannot clobber itself), then dup2 each onto its target number (dup2 clears FD_CLOEXEC on the copy), open
// /dev/null for any stdio slot not given, and finally close everything above the highest target
// (posix_spawn_file_actions_addclosefrom_np, glibc >= 2.34). The child sees 0-2 plus the targets, nothing else.
//
// The child also gets an empty signal mask and default dispositions for every signal (the daemon ignores SIGPIPE
// and may block others, and those would otherwise survive exec), by default its own process group (so
// signal_process_group reaches it and whatever it starts), and only the environment we pass (no secret is ever in
// it) unless the spec asks for ours.
//
// No threads: posix_spawn (vfork-like in glibc) returns once the child has exec'd or failed to. try_reap is
// non-blocking (the daemon calls it on SIGCHLD); wait_for and run_process block and are for start-up, shutdown,
// the firewall and tests.
//
// Thread-safety: functions without shared state; waitpid on one pid from two threads races as it always does.
// run_process sets SIGPIPE to SIG_IGN process-wide (the daemon ignores it anyway).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace l2tpvpn::os {

struct FdMapping {
  int source = -1;  // a descriptor of ours
  int target = -1;  // its number in the child, >= 3
};

struct LaunchSpec {
  std::vector<std::string> argv;  // argv[0] is the program: an absolute path unless search_path
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  bool inherit_environment = false;  // true: the daemon's own environment instead of `env`
  bool search_path = false;          // true: posix_spawnp (an argv[0] without '/' is looked up in PATH)
  bool new_process_group = true;     // false: the child stays in our process group
  std::vector<FdMapping> fds;
  int stdin_fd = -1;  // -1: /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;  // may equal stdout_fd
};

struct LaunchError {
  std::string operation;  // "validate", "posix_spawn", "pipe", ...
  int error = 0;          // errno (posix_spawn reports the child's exec failure here too); 0 for our own checks
  std::string detail;
  std::string to_string() const;  // "OPERATION: strerror: detail"
};

// Starts the child; returns its pid (with new_process_group also its process group id). Errors ("validate"):
// empty argv, a relative argv[0] without search_path, a target < 3 or repeated, a negative or closed source;
// otherwise the errno of a failed posix_spawn or exec ("posix_spawn", detail = argv[0]).
Result<pid_t, LaunchError> spawn_process(const LaunchSpec& spec);

// How a child ended, decoded from its wait status. Neither exited nor signal set means the status is unknown
// (the pid was not our child, or was reaped by someone else).
struct ExitStatus {
  bool exited = false;  // it called exit(); `code` holds the code
  int code = -1;        // the exit code when exited, else -1
  int signal = 0;       // the terminating signal when a signal ended it, else 0
  bool core_dumped = false;
  bool operator==(const ExitStatus&) const = default;
  // A status from waitpid(2); nullopt for a stopped/continued status (not a termination).
  static std::optional<ExitStatus> from_wait_status(int wait_status);
  std::string to_string() const;  // "exit 3", "signal 9 (Killed)", "unknown"
};

struct Reaped {
  pid_t pid = 0;
  ExitStatus status;
};

// Non-blocking: the child's exit status if it has ended (and is now reaped), nullopt while it runs. A pid that is
// not our child (ECHILD) is reported as ended with an unknown status so callers do not wait for it forever.
std::optional<Reaped> try_reap(pid_t pid);
// Blocking variant for shutdown and tests (same ECHILD rule).
Reaped wait_for(pid_t pid);

// kill(-pgid, sig): the child and everything it started (the child must have its own process group). Errors
// ("kill"): EINVAL for pid <= 1 (which would signal everything), else the errno of kill (ESRCH once it is gone).
Status<LaunchError> signal_process_group(pid_t pid, int sig);

struct ProcessResult {
  int exit_code = -1;  // -1: could not start; 128+N: killed by signal N
  std::string output;  // stdout and stderr interleaved, at most kMaxProcessOutput bytes; why it did not start
};
inline constexpr size_t kMaxProcessOutput = 64 * 1024;

// Runs a program to completion through spawn_process: argv[0] looked up in PATH, our environment, our process
// group, stdin fed from `stdin_text`, stdout+stderr captured (the rest is read and dropped), nothing else of ours
// open in the child. Blocking: for start-up, reload and exit, never the packet path. A child that exits without
// reading its input does not kill us (SIGPIPE is ignored). Never fails: a program that cannot be started gives
// exit_code -1 and the reason in output ("cannot start NAME: strerror").
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text = {});

// True if `name` is an executable found in PATH (or an absolute path to one).
bool have_program(const std::string& name);

}  // namespace l2tpvpn::os
