// pppd_standin: the no-op PPP stand-in of the setup benchmark (tests/bench/setup_bench.py). l2tpvpnd runs it
// through its `ppp.pppd` key and xl2tpd through a bind mount over /usr/sbin/pppd in a private mount namespace, so
// both pay for one process start per session and nothing else. Like pppd it opens the tty it is given (an
// argument under /dev/pts/, l2tpvpnd's pty mode) and keeps it open; it speaks no PPP. It exits 0 on SIGTERM,
// SIGHUP or SIGINT, as pppd does when its session ends. Built a second time as pppd_standin_notty
// (PPPD_STANDIN_NO_TTY), which leaves the tty alone: an LNS whose pty reads then fail (as with a kernel data path,
// where no pty is read at all) rather than one that watches thousands of open ptys.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

int main(int argc, char** argv) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
#ifndef PPPD_STANDIN_NO_TTY
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "/dev/pts/", 9) == 0) (void)open(argv[i], O_RDWR | O_NOCTTY);
#else
  (void)argc;
  (void)argv;
#endif
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
