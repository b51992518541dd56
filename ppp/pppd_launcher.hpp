// Starting pppd and reading how it ended: common/os/spawn's spawn_process with pppd's descriptor layout, and its
// reaping with the exit status mapped to PppdTermination (ppp/pppd_exit).
//
// What the child gets (exact descriptor table, own process group, empty signal mask, default dispositions, PATH
// as its only environment) is spawn_process's contract; see common/os/spawn.hpp.
//
// Thread-safety: functions without shared state (spawn_process's rules).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/os/spawn.hpp"
#include "common/result.hpp"
#include "ppp/pppd_exit.hpp"

namespace l2tpvpn::ppp {

// The usual pppd launch as a LaunchSpec (for a caller that starts it elsewhere, e.g. server/spawn_thread): argv from
// build_pppd_args, the PPPoL2TP socket (or -1 in pty mode) and the report descriptor (or -1) moved to
// kPppol2tpChildFd / kReportChildFd, stdio /dev/null except stderr when `stderr_fd` >= 0.
os::LaunchSpec pppd_launch_spec(const std::vector<std::string>& argv, int pppol2tp_fd, int report_fd,
                                int stderr_fd = -1);

// The same, started here: argv from build_pppd_args, the PPPoL2TP socket (or -1 in pty mode) and the report
// descriptor (or -1) moved to kPppol2tpChildFd / kReportChildFd, stdio /dev/null except stderr (pppd's own
// "Plugin loaded"/fatal messages) when `stderr_fd` >= 0. Errors: spawn_process's.
Result<pid_t, os::LaunchError> spawn_pppd(const std::vector<std::string>& argv, int pppol2tp_fd, int report_fd,
                                          int stderr_fd = -1);

// A generic exit status read as pppd's: an exit code through pppd_exit_from_code, a signal as kKilledBySignal,
// an unknown status (not our child) as kUnknown.
PppdTermination pppd_termination_from_exit_status(const os::ExitStatus& status);

struct Reaped {
  pid_t pid = 0;
  PppdTermination termination;
};

// os::try_reap / os::wait_for with the status mapped to PppdTermination (a pid that is not our child ends with
// exit kUnknown, so callers do not wait for it forever).
std::optional<Reaped> try_reap_pppd(pid_t pid);
Reaped wait_for_pppd(pid_t pid);

}  // namespace l2tpvpn::ppp
