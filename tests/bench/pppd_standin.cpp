// pppd_standin: the no-op PPP stand-in of the setup benchmark (tests/bench/setup_bench.py). l2tpvpnd runs it
// through its `ppp.pppd` key and xl2tpd through a bind mount over /usr/sbin/pppd in a private mount namespace, so
// both pay for one process start per session and nothing else. Like pppd it opens the tty it is given (an
// argument under /dev/pts/, l2tpvpnd's pty mode) and keeps it open; it speaks no PPP. It exits 0 on SIGTERM,
// SIGHUP or SIGINT, as pppd does when its session ends.
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
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "/dev/pts/", 9) == 0) (void)open(argv[i], O_RDWR | O_NOCTTY);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
