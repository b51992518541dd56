#include "ppp/pppd_launcher.hpp"

#include "ppp/pppd_args.hpp"

namespace l2tpvpn::ppp {

os::LaunchSpec pppd_launch_spec(const std::vector<std::string>& argv, int pppol2tp_fd, int report_fd,
                                int stderr_fd) {
  os::LaunchSpec spec;
  spec.argv = argv;
  if (pppol2tp_fd >= 0) spec.fds.push_back({pppol2tp_fd, kPppol2tpChildFd});
  if (report_fd >= 0) spec.fds.push_back({report_fd, kReportChildFd});
  spec.stderr_fd = stderr_fd;
  return spec;
}

Result<pid_t, os::LaunchError> spawn_pppd(const std::vector<std::string>& argv, int pppol2tp_fd, int report_fd,
                                          int stderr_fd) {
  return os::spawn_process(pppd_launch_spec(argv, pppol2tp_fd, report_fd, stderr_fd));
}

PppdTermination pppd_termination_from_exit_status(const os::ExitStatus& s) {
  if (s.exited) return PppdTermination{pppd_exit_from_code(s.code), s.code, 0, false};
  if (s.signal != 0) return PppdTermination{PppdExit::kKilledBySignal, -1, s.signal, s.core_dumped};
  return PppdTermination{};
}

std::optional<Reaped> try_reap_pppd(pid_t pid) {
  auto r = os::try_reap(pid);
  if (!r) return std::nullopt;
  return Reaped{r->pid, pppd_termination_from_exit_status(r->status)};
}

Reaped wait_for_pppd(pid_t pid) {
  const auto r = os::wait_for(pid);
  return Reaped{r.pid, pppd_termination_from_exit_status(r.status)};
}

}  // namespace l2tpvpn::ppp
