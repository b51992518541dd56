// Benchmark (prints numbers; not a pass/fail test): what /status pays for the sessions' traffic counters.
//   sysfs: four open/read/close of /sys/class/net/IF/statistics/{rx,tx}_{bytes,packets} per session, the way
//          session_views() read them before server/link_stats;
//   dump:  one rtnetlink RTM_GETLINK dump for all interfaces (dump_link_counters) plus a lookup per session;
//   cached: LinkStatsCache within its max age (a second /status in the same second): lookups only.
// Needs root: it makes N interfaces (veth pairs named pppN) in a private network namespace, with its own sysfs
// mount in a private mount namespace so that /sys/class/net shows them. Without root it says so and exits 0
// (1 under tests/run-all.sh, which sets L2TPVPN_REQUIRE_ALL).
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/os/spawn.hpp"
#include "server/link_stats.hpp"

using namespace l2tpvpn;
using BenchClock = std::chrono::steady_clock;

namespace {

uint64_t sysfs_counter(const std::string& ifname, const char* name) {
  std::ifstream in("/sys/class/net/" + ifname + "/statistics/" + name);
  uint64_t v = 0;
  in >> v;
  return v;
}

// Adds interfaces ppp<from>..ppp<to - 1> (veth pairs: ppp<i> and ppp<i + 1>).
bool add_interfaces(int from, int to) {
  std::string batch;
  for (int i = from; i < to; i += 2)
    batch += "link add ppp" + std::to_string(i) + " type veth peer name ppp" + std::to_string(i + 1) + "\n";
  const std::string path = "/tmp/l2tpvpn-link-bench-" + std::to_string(::getpid()) + ".batch";
  std::ofstream(path) << batch;
  const auto r = os::run_process({"ip", "-batch", path});
  ::unlink(path.c_str());
  if (r.exit_code != 0) std::fprintf(stderr, "ip -batch: %s\n", r.output.c_str());
  return r.exit_code == 0;
}

double micros(BenchClock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

int main() {
  if (::geteuid() != 0) {
    std::printf("link_stats_bench: needs root (a private network namespace with N interfaces); skipped\n");
    return std::getenv("L2TPVPN_REQUIRE_ALL") != nullptr ? 1 : 0;
  }
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    std::perror("link_stats_bench: namespaces");
    return 1;
  }
  std::printf("%8s %14s %14s %14s %10s\n", "sessions", "sysfs us", "dump us", "cached us", "sysfs/dump");
  int made = 0;
  for (int sessions : {10, 100, 500, 1000}) {
    if (!add_interfaces(made, sessions)) return 1;
    made = sessions;
    std::vector<std::string> names;
    for (int i = 0; i < sessions; ++i) names.push_back("ppp" + std::to_string(i));
    const int rounds = sessions >= 500 ? 20 : 100;
    uint64_t sink = 0;

    auto t0 = BenchClock::now();
    for (int r = 0; r < rounds; ++r)
      for (const auto& n : names)
        sink += sysfs_counter(n, "rx_bytes") + sysfs_counter(n, "tx_bytes") + sysfs_counter(n, "rx_packets") +
                sysfs_counter(n, "tx_packets");
    const double sysfs = micros(BenchClock::now() - t0) / rounds;

    t0 = BenchClock::now();
    for (int r = 0; r < rounds; ++r) {
      LinkStatsCache cache(std::chrono::seconds(1));  // a new one each round: every round dumps
      for (const auto& n : names) sink += cache.get(BenchClock::now(), n).value_or(LinkCounters{}).rx_bytes;
      if (cache.dumps() != 1 || cache.failures() != 0) {
        std::printf("unexpected: %llu dumps, %llu failures\n", static_cast<unsigned long long>(cache.dumps()),
                    static_cast<unsigned long long>(cache.failures()));
        return 1;
      }
    }
    const double dump = micros(BenchClock::now() - t0) / rounds;

    LinkStatsCache warm(std::chrono::hours(1));
    (void)warm.get(BenchClock::now(), names[0]);
    t0 = BenchClock::now();
    for (int r = 0; r < rounds; ++r)
      for (const auto& n : names) sink += warm.get(BenchClock::now(), n).value_or(LinkCounters{}).rx_bytes;
    const double cached = micros(BenchClock::now() - t0) / rounds;

    std::printf("%8d %14.1f %14.1f %14.1f %9.1fx\n", sessions, sysfs, dump, cached, sysfs / dump);
    if (sink == 1) std::printf(" ");  // keeps the reads from being optimised away
  }
  std::printf("(per /status: microseconds to read the counters of every session; %d interfaces in the namespace)\n",
              made);
  return 0;
}
