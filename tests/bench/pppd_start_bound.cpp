// pppd_start_bound: how fast this machine can start pppd with the argv l2tpvpnd gives it, measured directly. It is
// the bound for "sessions per second with every pppd running" (docs/benchmarks/pppd_setup.md): an LNS that
// starts one pppd per session cannot beat the rate at which pppd itself gets going.
//
// Each start gets its own data path, made before its clock starts, as l2tpvpnd makes it before it spawns pppd:
//   kernel: a PPPoL2TP session in one kernel tunnel (server/kernel's PppoL2tpDataPlane, LNS mode) whose UDP
//           socket is connected to a socket of ours on 127.0.0.1, standing in for the LAC;
//   pty:    a pty pair from ppp/pty.hpp (the daemon's own helper); pppd gets the slave's path.
// The argv is ppp/pppd_args.cpp's build_pppd_args with l2tpvpnd's defaults: our plugin (l2tpvpn.so) with its
// report descriptor (a socketpair; we drain our end) and the users file as its secrets, MS-CHAPv2 required, a
// unit and a remote address of its own per start. pppd is started by ppp/pppd_launcher's spawn_pppd, as the
// daemon's SystemPppdRunner does.
//
// "Running" means: pppd has sent its first PPP frame (its first LCP Configure-Request). It is seen here as the
// first L2TP data message of that session at our LAC socket (kernel) or the first bytes on the pty master (pty),
// which is the event tests/bench/l2tp_loadgen's --ppp-wait counts at the LAC when an LNS runs the pppds.
//
// --parallel P keeps at most P pppds between "spawned" and "running" (1: one after the other); every started pppd
// keeps running until all N run (as under an LNS, which keeps them for their sessions), then all get SIGHUP (what
// l2tpvpnd sends once a session has closed; the plugin's l2tpvpn_sighup_is_hangup makes it a hang-up) and are
// reaped, and the data paths are closed. One line is printed:
//   BOUND {"mode":..,"starts":N,"parallel":P,"running":R,"wall_s":..,"starts_per_s":..,"start_ms":{p50,p90,p99,max},
//          "failed":F,"exit_codes":{..}}
// wall_s runs from the first spawn to the last pppd running; starts_per_s = running / wall_s. Exit status 0 when
// every pppd ran, 1 when one did not (exited early, or not running within --timeout-s), 2 on a usage or set-up
// error. Needs root (pppd, /dev/ppp, the PPPoL2TP socket).
#include <boost/program_options.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/os/spawn.hpp"
#include "common/unique_fd.hpp"
#include "ppp/pppd_args.hpp"
#include "ppp/pppd_launcher.hpp"
#include "ppp/pty.hpp"
#include "server/kernel/pppol2tp_data_plane.hpp"

namespace po = boost::program_options;
using namespace l2tpvpn;
using Clock = std::chrono::steady_clock;

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// One pppd start: its data path (made up front), then spawn -> running -> stopped.
struct Start {
  std::vector<std::string> argv;
  UniqueFd session_fd;   // kernel: the PPPoL2TP session socket (the plane keeps its own copy)
  UniqueFd pty_master;   // pty: read for pppd's first frame
  UniqueFd pty_slave;    // pty: held open so the master reads as "no data" rather than EIO before pppd opens it
  UniqueFd report;       // our end of the plugin's report socketpair, drained
  uint16_t session_id = 0;
  pid_t pid = 0;
  Clock::time_point spawned{}, running{};
  bool is_running = false, exited = false;
  int exit_code = -1;
};

std::string percentiles_json(std::vector<double> v) {
  if (v.empty()) return "{\"n\":0}";
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))]; };
  char b[160];
  std::snprintf(b, sizeof b, "{\"n\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}", v.size(), at(0.5),
                at(0.9), at(0.99), v.back());
  return b;
}

// A UDP socket on 127.0.0.1 with a kernel-chosen port; the port is returned through `port`.
UniqueFd loopback_udp(uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return UniqueFd();
  port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc("pppd_start_bound");
  desc.add_options()("help", "this text")("mode", po::value<std::string>()->default_value("kernel"), "kernel or pty")(
      "starts", po::value<size_t>()->default_value(200), "pppd starts")(
      "parallel", po::value<size_t>()->default_value(1), "pppds starting at once")(
      "pppd", po::value<std::string>()->default_value("/usr/sbin/pppd"), "pppd")(
      "plugin", po::value<std::string>()->required(), "our plugin (build/l2tpvpn.so)")(
      "users", po::value<std::string>()->required(), "the users file the plugin gets as its secrets")(
      "timeout-s", po::value<int>()->default_value(120), "give up after this long");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc;
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "pppd_start_bound: %s\n", e.what());
    return 2;
  }
  const std::string mode = vm["mode"].as<std::string>();
  const bool kernel = mode == "kernel";
  if (!kernel && mode != "pty") {
    std::fprintf(stderr, "pppd_start_bound: --mode kernel|pty\n");
    return 2;
  }
  const size_t n = vm["starts"].as<size_t>(), parallel = std::max<size_t>(1, vm["parallel"].as<size_t>());
  if (n == 0 || n > 60000) {
    std::fprintf(stderr, "pppd_start_bound: --starts 1..60000\n");
    return 2;
  }

  // Kernel mode: one tunnel between the plane's socket (the LNS) and ours (the LAC); session i+1 per start.
  kernel::PppoL2tpDataPlane plane;
  UniqueFd lac;
  std::optional<kernel::TunnelHandle> tunnel;
  if (kernel) {
    uint16_t lac_port = 0, lns_port = 0;
    lac = loopback_udp(lac_port);
    {
      UniqueFd probe = loopback_udp(lns_port);  // a free port for the plane's socket, released just below
    }
    if (!lac || lns_port == 0) {
      std::fprintf(stderr, "pppd_start_bound: udp socket: %s\n", std::strerror(errno));
      return 2;
    }
    const kernel::TunnelSpec spec{1, 1, kernel::Ipv4Endpoint{{127, 0, 0, 1}, lns_port},
                                  kernel::Ipv4Endpoint{{127, 0, 0, 1}, lac_port}};
    auto t = plane.create_tunnel(spec);
    if (!t) {
      std::fprintf(stderr, "pppd_start_bound: tunnel: %s\n", t.error().to_string().c_str());
      return 2;
    }
    tunnel = *t;
  }

  std::vector<Start> starts(n);
  for (size_t i = 0; i < n; ++i) {
    Start& s = starts[i];
    ppp::PppdOptions o;  // l2tpvpnd's defaults (server/config.hpp), as server/vpn/sessions.cpp fills them in
    o.pppd_path = vm["pppd"].as<std::string>();
    o.unit = static_cast<uint32_t>(i);
    o.local_address = "10.199.0.1";
    o.remote_address = "10.200." + std::to_string((i + 2) / 256) + "." + std::to_string((i + 2) % 256);
    o.plugin = ppp::PluginOptions{vm["plugin"].as<std::string>(), ppp::kReportChildFd, vm["users"].as<std::string>()};
    s.session_id = static_cast<uint16_t>(i + 1);
    if (kernel) {
      auto h = plane.create_session(*tunnel, s.session_id, s.session_id, kernel::SessionOptions{});
      if (!h) {
        std::fprintf(stderr, "pppd_start_bound: session %zu: %s\n", i, h.error().to_string().c_str());
        return 2;
      }
      s.session_fd = UniqueFd(::fcntl(h->fd, F_DUPFD_CLOEXEC, 3));
      o.data_path = ppp::KernelDataPath{ppp::kPppol2tpChildFd, 1, s.session_id};
    } else {
      auto p = ppp::open_pty_pair();
      if (!p) {
        std::fprintf(stderr, "pppd_start_bound: pty %zu: %s\n", i, p.error().to_string().c_str());
        return 2;
      }
      s.pty_master = std::move(p->master);
      s.pty_slave = UniqueFd(::open(p->slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
      o.data_path = ppp::PtyDataPath{p->slave_path};
    }
    auto a = ppp::build_pppd_args(o);
    if (!a) {
      std::fprintf(stderr, "pppd_start_bound: argv: %s\n", a.error().to_string().c_str());
      return 2;
    }
    s.argv = std::move(*a);
  }
  if (n > 0) {  // the argv, once, for the record (the first start's; the others differ in unit and address)
    std::string line;
    for (const auto& w : starts[0].argv) line += (line.empty() ? "" : " ") + w;
    std::fprintf(stderr, "pppd_start_bound: argv: %s\n", line.c_str());
  }

  const auto t0 = Clock::now();
  const auto give_up = t0 + std::chrono::seconds(vm["timeout-s"].as<int>());
  size_t next = 0, starting = 0, running = 0, failed = 0;
  Clock::time_point last_running = t0;
  std::vector<pollfd> pfds;
  std::vector<size_t> pfd_start;  // index into starts, per pollfd
  std::array<uint8_t, 4096> buf{};
  while (running + failed < n && Clock::now() < give_up) {
    while (starting < parallel && next < n) {
      Start& s = starts[next++];
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) {
        std::fprintf(stderr, "pppd_start_bound: socketpair: %s\n", std::strerror(errno));
        ++failed;
        continue;
      }
      s.report = UniqueFd(sv[0]);
      UniqueFd child(sv[1]);
      s.spawned = Clock::now();
      auto pid = ppp::spawn_pppd(s.argv, kernel ? s.session_fd.get() : -1, child.get(), STDERR_FILENO);
      s.session_fd.reset();  // pppd has its own copy now; the plane keeps one
      if (!pid) {
        std::fprintf(stderr, "pppd_start_bound: spawn: %s\n", pid.error().to_string().c_str());
        ++failed;
        continue;
      }
      s.pid = *pid;
      ++starting;
    }
    // Wait for a first frame (or a report line to drain): at most 10 ms, then look for pppds that exited early.
    pfds.clear();
    pfd_start.clear();
    if (kernel) {
      pfds.push_back({lac.get(), POLLIN, 0});
      pfd_start.push_back(n);
    }
    for (size_t i = 0; i < next; ++i) {
      if (starts[i].exited) continue;
      if (starts[i].report) {
        pfds.push_back({starts[i].report.get(), POLLIN, 0});
        pfd_start.push_back(i);
      }
      if (!kernel && !starts[i].is_running && starts[i].pid) {
        pfds.push_back({starts[i].pty_master.get(), POLLIN, 0});
        pfd_start.push_back(i);
      }
    }
    ::poll(pfds.data(), pfds.size(), 10);
    const auto now = Clock::now();
    auto mark_running = [&](Start& s) {
      if (s.is_running || s.pid == 0) return;
      s.is_running = true;
      s.running = now;
      last_running = now;
      ++running;
      --starting;
    };
    for (size_t k = 0; k < pfds.size(); ++k) {
      if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (pfd_start[k] == n) {  // the LAC socket: L2TP data messages (T=0) carry our session ID at bytes 4..5
        for (;;) {             // (no length bit) or 6..7 (with it), RFC 2661 §3.1
          ssize_t r = ::recv(lac.get(), buf.data(), buf.size(), 0);
          if (r < 0) break;
          if (r < 6 || (buf[0] & 0x80)) continue;
          const size_t at = (buf[0] & 0x40) ? 6 : 4;
          if (static_cast<size_t>(r) < at + 2) continue;
          const uint16_t sid = static_cast<uint16_t>(buf[at] << 8 | buf[at + 1]);
          if (sid >= 1 && sid <= n) mark_running(starts[sid - 1]);
        }
        continue;
      }
      Start& s = starts[pfd_start[k]];
      if (pfds[k].fd == s.report.get()) {
        ssize_t r = ::read(s.report.get(), buf.data(), buf.size());
        if (r == 0) s.report.reset();  // pppd is gone (or closed it)
      } else if (::read(s.pty_master.get(), buf.data(), buf.size()) > 0) {
        mark_running(s);
      }
    }
    for (size_t i = 0; i < next; ++i) {
      Start& s = starts[i];
      if (s.pid == 0 || s.exited) continue;
      if (auto r = ppp::try_reap_pppd(s.pid)) {
        s.exited = true;
        s.exit_code = r->termination.raw_exit_code;
        if (!s.is_running) {
          --starting;
          ++failed;
        }
      }
    }
  }
  const double wall_s = std::max(1e-9, ms_between(t0, last_running) / 1000);

  // Every pppd started gets SIGHUP (to its process group, as the daemon signals), then is reaped.
  std::map<int, size_t> exit_codes;
  for (Start& s : starts)
    if (s.pid && !s.exited) (void)os::signal_process_group(s.pid, SIGHUP);
  for (Start& s : starts) {
    if (s.pid == 0) continue;
    if (!s.exited) {
      const auto deadline = Clock::now() + std::chrono::seconds(10);
      std::optional<ppp::Reaped> r;
      while (!(r = ppp::try_reap_pppd(s.pid)) && Clock::now() < deadline) ::usleep(2000);
      if (!r) {
        (void)os::signal_process_group(s.pid, SIGKILL);
        r = ppp::wait_for_pppd(s.pid);
      }
      s.exit_code = r->termination.raw_exit_code;
    }
    ++exit_codes[s.exit_code];
  }
  if (kernel) {
    for (const Start& s : starts) (void)plane.destroy_session(1, s.session_id);
    (void)plane.destroy_tunnel(1);
  }

  std::vector<double> start_ms;
  for (const Start& s : starts)
    if (s.is_running) start_ms.push_back(ms_between(s.spawned, s.running));
  std::string codes = "{";
  for (const auto& [code, count] : exit_codes)
    codes += (codes.size() > 1 ? "," : "") + ("\"" + std::to_string(code) + "\":" + std::to_string(count));
  codes += "}";
  const size_t not_running = n - running;
  std::printf(
      "BOUND {\"mode\":\"%s\",\"starts\":%zu,\"parallel\":%zu,\"running\":%zu,\"failed\":%zu,\"wall_s\":%.4f,"
      "\"starts_per_s\":%.1f,\"start_ms\":%s,\"exit_codes\":%s}\n",
      mode.c_str(), n, parallel, running, not_running, wall_s, static_cast<double>(running) / wall_s,
      percentiles_json(start_ms).c_str(), codes.c_str());
  return not_running == 0 ? 0 : 1;
}
