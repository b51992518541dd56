// pppd_standin: the no-op PPP stand-in of the setup benchmark (tests/bench/setup_bench.py). l2tpvpnd runs it
// through its `ppp.pppd` key and xl2tpd through a bind mount over /usr/sbin/pppd in a private mount namespace, so
// both pay for one process start per session and nothing else. It ignores its arguments and descriptors and
// exits 0 on SIGTERM, SIGHUP or SIGINT, as pppd does when its session ends.
#include <signal.h>
#include <unistd.h>

int main() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}
